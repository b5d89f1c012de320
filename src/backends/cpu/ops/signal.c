/*
 * signal.c: signal processing operators of opset 17: DFT, STFT, the window generators
 * HannWindow, HammingWindow, BlackmanWindow, and MelWeightMatrix.
 *
 * Transforms run in double on one line at a time: an iterative radix-2 FFT when the
 * length is a power of two, otherwise Bluestein's method on top of it (O(n log n) for
 * every length).
 * Complex tensors keep (real, imaginary) pairs in a trailing dimension of size 2; real
 * inputs have a trailing dimension of 1.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "runtime/kernel.h"

#define TWO_PI 6.283185307179586476925286766559

/* ---- 1-D complex transforms ----------------------------------------------------- */

/*
 * A plan transforms lines of length n with sign -1 (forward) or +1 (inverse, scaled by
 * 1/n). Power-of-two lengths use the radix-2 FFT directly (m = n). Other lengths use
 * Bluestein's method: with the chirp c[j] = exp(sign i pi j^2 / n), jk = (j^2 + k^2 -
 * (k-j)^2) / 2 turns the transform into X[k] = c[k] sum_j (x[j] c[j]) conj(c[k-j]), a
 * convolution done by FFTs of a power-of-two length m >= 2n - 1.
 */
typedef struct dft_plan {
    int64_t n, m;
    int sign;
    double *cos_t, *sin_t;     /* cos/sin(2 pi k / m), k < m */
    double *chirp_re, *chirp_im; /* Bluestein: c[j], j < n */
    double *kern_re, *kern_im; /* Bluestein: FFT of conj(c) wrapped around to length m */
    int64_t scratch;           /* doubles of scratch a transform needs */
} dft_plan;

/* In place radix-2 transform of length p->m; sign -1 forward, +1 inverse (unscaled). */
static void fft_pow2(const dft_plan *p, double *re, double *im, int sign)
{
    int64_t n = p->m;
    for (int64_t i = 1, j = 0; i < n; i++) {
        int64_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j |= bit;
        if (i < j) {
            double t = re[i]; re[i] = re[j]; re[j] = t;
            t = im[i]; im[i] = im[j]; im[j] = t;
        }
    }
    for (int64_t len = 2; len <= n; len <<= 1) {
        int64_t half = len / 2, step = n / len;
        for (int64_t start = 0; start < n; start += len)
            for (int64_t k = 0; k < half; k++) {
                double wr = p->cos_t[k * step], wi = sign * p->sin_t[k * step];
                int64_t a = start + k, b = a + half;
                double xr = re[b] * wr - im[b] * wi, xi = re[b] * wi + im[b] * wr;
                re[b] = re[a] - xr;
                im[b] = im[a] - xi;
                re[a] += xr;
                im[a] += xi;
            }
    }
}

static void plan_free(dft_plan *p)
{
    double *all[] = { p->cos_t, p->sin_t, p->chirp_re, p->chirp_im, p->kern_re, p->kern_im };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) lg_free(all[i]);
}

static double *doubles(int64_t n) { return lg_calloc((size_t)(n ? n : 1) * sizeof(double)); }

static int plan_init(dft_plan *p, int64_t n, bool inverse)
{
    memset(p, 0, sizeof(*p));
    p->n = n;
    p->sign = inverse ? 1 : -1;
    bool pow2 = (n & (n - 1)) == 0;
    for (p->m = 1; p->m < (pow2 ? n : 2 * n - 1); p->m <<= 1) continue;
    p->scratch = pow2 ? 0 : 2 * p->m;
    bool ok = (p->cos_t = doubles(p->m)) && (p->sin_t = doubles(p->m));
    if (!pow2)
        ok = ok && (p->chirp_re = doubles(n)) && (p->chirp_im = doubles(n)) && (p->kern_re = doubles(p->m)) &&
             (p->kern_im = doubles(p->m));
    if (!ok) {
        plan_free(p);
        return lg_error(LG_E_NOMEM, "out of memory for a DFT of length %lld", (long long)n);
    }
    for (int64_t k = 0; k < p->m; k++) {
        p->cos_t[k] = cos(TWO_PI * (double)k / (double)p->m);
        p->sin_t[k] = sin(TWO_PI * (double)k / (double)p->m);
    }
    if (pow2) return LG_OK;
    for (int64_t j = 0; j < n; j++) {
        double angle = TWO_PI / 2 * (double)((j * j) % (2 * n)) / (double)n; /* j^2 mod 2n keeps it exact */
        p->chirp_re[j] = cos(angle);
        p->chirp_im[j] = p->sign * sin(angle);
    }
    for (int64_t j = 0; j < n; j++) {
        p->kern_re[j] = p->chirp_re[j];
        p->kern_im[j] = -p->chirp_im[j];
        if (j) p->kern_re[p->m - j] = p->kern_re[j], p->kern_im[p->m - j] = p->kern_im[j];
    }
    fft_pow2(p, p->kern_re, p->kern_im, -1);
    return LG_OK;
}

static void bluestein(const dft_plan *p, double *re, double *im, double *scratch)
{
    int64_t n = p->n, m = p->m;
    double *ar = scratch, *ai = scratch + m;
    for (int64_t j = 0; j < n; j++) {
        ar[j] = re[j] * p->chirp_re[j] - im[j] * p->chirp_im[j];
        ai[j] = re[j] * p->chirp_im[j] + im[j] * p->chirp_re[j];
    }
    memset(ar + n, 0, (size_t)(m - n) * sizeof(double));
    memset(ai + n, 0, (size_t)(m - n) * sizeof(double));
    fft_pow2(p, ar, ai, -1);
    for (int64_t k = 0; k < m; k++) {
        double r = ar[k] * p->kern_re[k] - ai[k] * p->kern_im[k];
        ai[k] = ar[k] * p->kern_im[k] + ai[k] * p->kern_re[k];
        ar[k] = r;
    }
    fft_pow2(p, ar, ai, 1);
    for (int64_t k = 0; k < n; k++) {
        double yr = ar[k] / (double)m, yi = ai[k] / (double)m;
        re[k] = yr * p->chirp_re[k] - yi * p->chirp_im[k];
        im[k] = yr * p->chirp_im[k] + yi * p->chirp_re[k];
    }
}

/* Transforms re/im (length n) in place; scratch holds p->scratch doubles. */
static void transform(const dft_plan *p, double *re, double *im, double *scratch)
{
    if (p->m == p->n) fft_pow2(p, re, im, p->sign);
    else bluestein(p, re, im, scratch);
    if (p->sign > 0)
        for (int64_t k = 0; k < p->n; k++) re[k] /= (double)p->n, im[k] /= (double)p->n;
}

/* ---- element access ------------------------------------------------------------- */

static inline double read_at(const lg_tensor *t, int64_t i)
{
    return t->dtype == LG_FLOAT ? ((const float *)t->data)[i] : lg_tensor_get_f64(t, i);
}

static inline void write_at(lg_tensor *t, int64_t i, double v)
{
    if (t->dtype == LG_FLOAT) ((float *)t->data)[i] = (float)v;
    else lg_tensor_set_f64(t, i, v);
}

/* A scalar (or 1-element) integer input's value. */
static int scalar_int(const lg_kctx *c, int i, const char *what, int64_t *out)
{
    const lg_tensor *t = lg_kin(c, i);
    if (!t || !lg_dtype_is_int(t->dtype) || lg_tensor_numel_(t) != 1)
        return lg_error(LG_E_INVALID_MODEL, "%s must be an integer scalar", what);
    *out = lg_tensor_get_i64(t, 0);
    return LG_OK;
}

/* ---- DFT ------------------------------------------------------------------------ */

typedef struct dft_problem {
    int axis;
    int64_t outer, len, inner, comps; /* input viewed as [outer, len, inner, comps] */
    int64_t n, out_len;               /* transform length, kept bins */
    bool inverse;
    bool irfft; /* inverse and onesided: half a Hermitian spectrum in, a real signal out */
} dft_problem;

static int dft_read(const lg_kctx *c, dft_problem *p)
{
    const lg_tensor *x = lg_kin(c, 0);
    char s[256];
    if (!x || x->ndim < 2 || (x->dims[x->ndim - 1] != 1 && x->dims[x->ndim - 1] != 2))
        return lg_error(LG_E_SHAPE, "input must be [batch, n1.., 1 or 2], got %s",
                        x ? lg_dims_str(x->ndim, x->dims, s, sizeof(s)) : "nothing");
    if (!lg_dtype_is_float(x->dtype)) return lg_error(LG_E_INVALID_MODEL, "input must be float, got %s", lg_dtype_name(x->dtype));
    int64_t axis = lg_attr_int(c->node, "axis", 1);
    if (c->opset >= 20) { /* axis became an input (default -2) */
        axis = -2;
        if (lg_kin(c, 2) && lg_tensor_numel_(lg_kin(c, 2)) > 0) {
            LG_KNEED_DATA(c, 2);
            LG_CHECK(scalar_int(c, 2, "axis", &axis));
        }
    }
    LG_CHECK(lg_norm_axis(axis, x->ndim, &p->axis));
    if (p->axis == x->ndim - 1)
        return lg_error(LG_E_INVALID_MODEL, "axis %d is the complex dimension", p->axis);
    p->outer = lg_dims_numel(p->axis, x->dims);
    p->len = x->dims[p->axis];
    p->inner = lg_dims_numel(x->ndim - 2 - p->axis, x->dims + p->axis + 1);
    p->comps = x->dims[x->ndim - 1];
    p->n = p->len;
    if (lg_kin(c, 1) && lg_tensor_numel_(lg_kin(c, 1)) > 0) {
        LG_KNEED_DATA(c, 1);
        LG_CHECK(scalar_int(c, 1, "dft_length", &p->n));
        if (p->n <= 0 || p->n > ((int64_t)1 << 30))
            return lg_error(LG_E_INVALID_MODEL, "dft_length %lld out of range", (long long)p->n);
    }
    p->inverse = lg_attr_int(c->node, "inverse", 0) != 0;
    p->irfft = p->inverse && lg_attr_int(c->node, "onesided", 0);
    if (p->irfft && !(lg_kin(c, 1) && lg_tensor_numel_(lg_kin(c, 1)) > 0)) p->n = 2 * (p->len - 1);
    if (p->n <= 0) return lg_error(LG_E_INVALID_MODEL, "the transform length %lld is not positive", (long long)p->n);
    p->out_len = p->irfft ? p->n : lg_attr_int(c->node, "onesided", 0) ? p->n / 2 + 1 : p->n;
    return LG_OK;
}

static int dft_infer(lg_kctx *c)
{
    dft_problem p;
    LG_CHECK(dft_read(c, &p));
    const lg_tensor *x = c->inputs[0];
    int64_t dims[LG_MAX_DIMS];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    dims[p.axis] = p.out_len;
    dims[x->ndim - 1] = p.irfft ? 1 : 2;
    return lg_kout_shape(c, 0, x->dtype, x->ndim, dims);
}

typedef struct dft_job {
    const dft_problem *p;
    const dft_plan *plan;
    const lg_tensor *x;
    lg_tensor *y;
    atomic_bool failed;
} dft_job;

static void dft_lines(void *arg, int64_t begin, int64_t end)
{
    dft_job *j = arg;
    const dft_problem *p = j->p;
    int64_t n = p->n;
    double *buf = lg_alloc((size_t)(2 * n + j->plan->scratch) * sizeof(double));
    if (!buf) {
        atomic_store(&j->failed, true);
        return;
    }
    double *re = buf, *im = buf + n, *scratch = buf + 2 * n;
    for (int64_t line = begin; line < end; line++) {
        int64_t o = line / p->inner, i = line % p->inner;
        for (int64_t k = 0; k < n; k++) {
            int64_t kk = p->irfft && k > n / 2 ? n - k : k; /* the upper half mirrors the lower */
            int64_t src = ((o * p->len + kk) * p->inner + i) * p->comps;
            re[k] = kk < p->len ? read_at(j->x, src) : 0;
            im[k] = kk < p->len && p->comps == 2 ? read_at(j->x, src + 1) : 0;
            if (p->irfft && (k > n / 2 || k == 0 || 2 * k == n)) im[k] = k > n / 2 ? -im[k] : 0;
        }
        transform(j->plan, re, im, scratch);
        for (int64_t k = 0; k < p->out_len; k++) {
            int64_t outc = p->irfft ? 1 : 2, dst = ((o * p->out_len + k) * p->inner + i) * outc;
            write_at(j->y, dst, re[k]);
            if (!p->irfft) write_at(j->y, dst + 1, im[k]);
        }
    }
    lg_free(buf);
}

static int dft_exec(lg_kctx *c)
{
    dft_problem p;
    LG_CHECK(dft_read(c, &p));
    if (!c->outputs[0] || lg_tensor_numel_(c->outputs[0]) == 0) return LG_OK;
    dft_plan plan;
    LG_CHECK(plan_init(&plan, p.n, p.inverse));
    dft_job job = { &p, &plan, c->inputs[0], c->outputs[0], false };
    lg_parallel_for(c->pool, p.outer * p.inner, 1 + 4096 / (plan.m + 1), dft_lines, &job);
    plan_free(&plan);
    return atomic_load(&job.failed) ? lg_error(LG_E_NOMEM, "out of memory for DFT buffers") : LG_OK;
}

/* ---- STFT ----------------------------------------------------------------------- */

typedef struct stft_problem {
    int64_t batch, len, comps, step, frame_len, frames, bins;
} stft_problem;

static int stft_read(const lg_kctx *c, stft_problem *p)
{
    const lg_tensor *x = lg_kin(c, 0), *window = lg_kin(c, 2);
    char s[256];
    if (!x || x->ndim != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
        return lg_error(LG_E_SHAPE, "signal must be [batch, length, 1 or 2], got %s",
                        x ? lg_dims_str(x->ndim, x->dims, s, sizeof(s)) : "nothing");
    if (!lg_dtype_is_float(x->dtype)) return lg_error(LG_E_INVALID_MODEL, "signal must be float, got %s", lg_dtype_name(x->dtype));
    p->batch = x->dims[0];
    p->len = x->dims[1];
    p->comps = x->dims[2];
    LG_KNEED_DATA(c, 1);
    LG_CHECK(scalar_int(c, 1, "frame_step", &p->step));
    p->frame_len = -1;
    if (window) {
        if (window->ndim != 1) return lg_error(LG_E_SHAPE, "window must be 1-D, has rank %d", window->ndim);
        p->frame_len = window->dims[0];
    }
    if (lg_kin(c, 3)) {
        int64_t fl;
        LG_KNEED_DATA(c, 3);
        LG_CHECK(scalar_int(c, 3, "frame_length", &fl));
        if (p->frame_len >= 0 && fl != p->frame_len)
            return lg_error(LG_E_SHAPE, "frame_length %lld differs from the window length %lld", (long long)fl,
                            (long long)p->frame_len);
        p->frame_len = fl;
    }
    if (p->frame_len < 0) return lg_error(LG_E_INVALID_MODEL, "STFT needs a window or a frame_length");
    if (p->step <= 0 || p->frame_len == 0 || p->frame_len > p->len || p->frame_len > ((int64_t)1 << 30))
        return lg_error(LG_E_INVALID_MODEL, "frame_step %lld and frame_length %lld do not fit a signal of %lld",
                        (long long)p->step, (long long)p->frame_len, (long long)p->len);
    p->frames = (p->len - p->frame_len) / p->step + 1;
    p->bins = lg_attr_int(c->node, "onesided", 1) ? p->frame_len / 2 + 1 : p->frame_len;
    return LG_OK;
}

static int stft_infer(lg_kctx *c)
{
    stft_problem p;
    LG_CHECK(stft_read(c, &p));
    int64_t dims[4] = { p.batch, p.frames, p.bins, 2 };
    return lg_kout_shape(c, 0, c->inputs[0]->dtype, 4, dims);
}

static int stft_exec(lg_kctx *c)
{
    stft_problem p;
    LG_CHECK(stft_read(c, &p));
    const lg_tensor *x = c->inputs[0], *window = lg_kin(c, 2);
    lg_tensor *y = c->outputs[0];
    if (!y || lg_tensor_numel_(y) == 0) return LG_OK;
    dft_plan plan;
    LG_CHECK(plan_init(&plan, p.frame_len, false));
    int64_t n = p.frame_len;
    double *buf = lg_alloc((size_t)(2 * n + plan.scratch) * sizeof(double));
    if (!buf) {
        plan_free(&plan);
        return lg_error(LG_E_NOMEM, "out of memory for STFT buffers");
    }
    double *re = buf, *im = buf + n, *scratch = buf + 2 * n;
    for (int64_t b = 0; b < p.batch; b++)
        for (int64_t f = 0; f < p.frames; f++) {
            for (int64_t k = 0; k < n; k++) {
                int64_t src = (b * p.len + f * p.step + k) * p.comps;
                double w = window ? read_at(window, k) : 1.0;
                re[k] = read_at(x, src) * w;
                im[k] = p.comps == 2 ? read_at(x, src + 1) * w : 0;
            }
            transform(&plan, re, im, scratch);
            for (int64_t k = 0; k < p.bins; k++) {
                int64_t dst = ((b * p.frames + f) * p.bins + k) * 2;
                write_at(y, dst, re[k]);
                write_at(y, dst + 1, im[k]);
            }
        }
    lg_free(buf);
    plan_free(&plan);
    return LG_OK;
}

/* ---- windows -------------------------------------------------------------------- */

/* Generalised cosine windows: a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N). */
static const struct {
    const char *op;
    double a0, a1, a2;
} windows[] = {
    { "HannWindow", 0.5, 0.5, 0.0 },
    { "HammingWindow", 25.0 / 46.0, 21.0 / 46.0, 0.0 },
    { "BlackmanWindow", 0.42, 0.5, 0.08 },
};

static int output_dtype(const lg_kctx *c, lg_dtype *dt)
{
    int64_t v = lg_attr_int(c->node, "output_datatype", LG_FLOAT);
    *dt = (lg_dtype)v;
    if (v == LG_STRING || v == LG_BOOL || lg_dtype_size(*dt) == 0)
        return lg_error(LG_E_INVALID_MODEL, "output_datatype %lld is not a numeric type", (long long)v);
    return LG_OK;
}

static int window_size(const lg_kctx *c, int64_t *size)
{
    LG_KNEED_DATA(c, 0);
    LG_CHECK(scalar_int(c, 0, "size", size));
    if (*size < 0) return lg_error(LG_E_INVALID_MODEL, "window size %lld is negative", (long long)*size);
    return LG_OK;
}

static int window_infer(lg_kctx *c)
{
    int64_t size;
    lg_dtype dt;
    LG_CHECK(window_size(c, &size));
    LG_CHECK(output_dtype(c, &dt));
    return lg_kout_shape(c, 0, dt, 1, &size);
}

static int window_exec(lg_kctx *c)
{
    int64_t size;
    LG_CHECK(window_size(c, &size));
    size_t w = 0;
    while (strcmp(windows[w].op, c->node->op_type) != 0) w++;
    lg_tensor *y = c->outputs[0];
    if (!y) return LG_OK;
    /* periodic: denominator N (a period of an N+1 window); symmetric: N - 1. */
    double den = lg_attr_int(c->node, "periodic", 1) ? (double)size : (double)(size - 1);
    for (int64_t i = 0; i < size; i++) {
        double x = den > 0 ? TWO_PI * (double)i / den : 0;
        write_at(y, i, windows[w].a0 - windows[w].a1 * cos(x) + windows[w].a2 * cos(2 * x));
    }
    return LG_OK;
}

/* ---- MelWeightMatrix ------------------------------------------------------------ */

typedef struct mel_problem {
    int64_t mel_bins, dft_len, sample_rate;
    double lower_hz, upper_hz;
} mel_problem;

static int mel_read(const lg_kctx *c, mel_problem *p)
{
    for (int i = 0; i < 5; i++) LG_KNEED_DATA(c, i);
    LG_CHECK(scalar_int(c, 0, "num_mel_bins", &p->mel_bins));
    LG_CHECK(scalar_int(c, 1, "dft_length", &p->dft_len));
    LG_CHECK(scalar_int(c, 2, "sample_rate", &p->sample_rate));
    const lg_tensor *lo = lg_kin(c, 3), *hi = lg_kin(c, 4);
    if (!lo || !hi || !lg_dtype_is_float(lo->dtype) || !lg_dtype_is_float(hi->dtype) || lg_tensor_numel_(lo) != 1 ||
        lg_tensor_numel_(hi) != 1)
        return lg_error(LG_E_INVALID_MODEL, "lower_edge_hertz and upper_edge_hertz must be float scalars");
    p->lower_hz = lg_tensor_get_f64(lo, 0);
    p->upper_hz = lg_tensor_get_f64(hi, 0);
    if (p->mel_bins <= 0 || p->dft_len <= 0 || p->sample_rate <= 0 || p->mel_bins > ((int64_t)1 << 24) ||
        p->dft_len > ((int64_t)1 << 30))
        return lg_error(LG_E_INVALID_MODEL, "num_mel_bins %lld, dft_length %lld, sample_rate %lld must be positive",
                        (long long)p->mel_bins, (long long)p->dft_len, (long long)p->sample_rate);
    if (!(p->lower_hz >= 0 && p->lower_hz <= p->upper_hz))
        return lg_error(LG_E_INVALID_MODEL, "edges %g..%g Hz are not an interval of non-negative frequencies",
                        p->lower_hz, p->upper_hz);
    return LG_OK;
}

static int mel_infer(lg_kctx *c)
{
    mel_problem p;
    lg_dtype dt;
    LG_CHECK(mel_read(c, &p));
    LG_CHECK(output_dtype(c, &dt));
    int64_t dims[2] = { p.dft_len / 2 + 1, p.mel_bins };
    return lg_kout_shape(c, 0, dt, 2, dims);
}

static double hz_to_mel(double hz) { return 2595.0 * log10(1.0 + hz / 700.0); }
static double mel_to_hz(double mel) { return 700.0 * (pow(10.0, mel / 2595.0) - 1.0); }

/* Triangular filters between mel-spaced spectrogram bins: filter i rises from bin
 * edge[i] to edge[i+1] and falls to edge[i+2]; edges are num_mel_bins + 2 points
 * spaced (high - low) / (num_mel_bins + 2) apart in mel. */
static int mel_exec(lg_kctx *c)
{
    mel_problem p;
    LG_CHECK(mel_read(c, &p));
    lg_tensor *y = c->outputs[0];
    if (!y) return LG_OK;
    int64_t spec_bins = p.dft_len / 2 + 1, points = p.mel_bins + 2;
    int64_t *edge = lg_alloc((size_t)points * sizeof(int64_t));
    if (!edge) return lg_error(LG_E_NOMEM, "out of memory for %lld mel bins", (long long)p.mel_bins);
    double low = hz_to_mel(p.lower_hz), step = (hz_to_mel(p.upper_hz) - low) / (double)points;
    for (int64_t i = 0; i < points; i++) {
        double hz = mel_to_hz(low + step * (double)i);
        edge[i] = (int64_t)floor((double)(p.dft_len + 1) * hz / (double)p.sample_rate);
    }
    if (edge[points - 1] >= spec_bins) {
        int64_t last = edge[points - 1];
        lg_free(edge);
        return lg_error(LG_E_RUNTIME, "upper_edge_hertz %g falls in bin %lld beyond the %lld spectrogram bins",
                        p.upper_hz, (long long)last, (long long)spec_bins);
    }
    for (int64_t i = 0; i < p.mel_bins; i++) {
        int64_t left = edge[i], center = edge[i + 1], right = edge[i + 2];
        if (center == left) write_at(y, center * p.mel_bins + i, 1.0);
        for (int64_t j = left; center > left && j <= center; j++)
            write_at(y, j * p.mel_bins + i, (double)(j - left) / (double)(center - left));
        for (int64_t j = center; j < right; j++)
            write_at(y, j * p.mel_bins + i, (double)(right - j) / (double)(right - center));
    }
    lg_free(edge);
    return LG_OK;
}

const lg_op_def lg_ops_signal[] = {
    { "DFT", "", 17, 27, dft_infer, dft_exec, NULL, NULL },
    { "STFT", "", 17, 27, stft_infer, stft_exec, NULL, NULL },
    { "HannWindow", "", 17, 27, window_infer, window_exec, NULL, NULL },
    { "HammingWindow", "", 17, 27, window_infer, window_exec, NULL, NULL },
    { "BlackmanWindow", "", 17, 27, window_infer, window_exec, NULL, NULL },
    { "MelWeightMatrix", "", 17, 27, mel_infer, mel_exec, NULL, NULL },
    { NULL }
};
