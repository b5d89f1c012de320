/*
 * conv_depthwise.c: depthwise 2-D convolution, computed directly plane by plane.
 *
 * Output channel m reads input channel m / (M / group). With a column stride of 1 or 2
 * (every depthwise layer of MobileNet, ShuffleNet, EfficientNet), the input plane is first
 * copied into a zero-padded plane, so that every tap of every output column is inside it,
 * with stride 2 split into its even and odd columns; each output row is then one pass of
 * the SIMD path's tap kernel (lg_conv_dw_taps_*): y[i] = bias + sum over taps of
 * w[t] * src[t][i], the taps' source rows contiguous, the sums in registers, the row
 * written once. Other strides take the older path: per tap an axpy over the output
 * columns whose input column is inside the image. The fused activation runs on the
 * finished row. Planes are spread over threads.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "backends/cpu/ops/conv_depthwise.h"
#include "base/cpu.h"
#include "base/error.h"
#include "base/tensor_impl.h"

bool lg_conv_depthwise_applies(const lg_conv_geom *g)
{
    return g->nd == 2 && g->group > 1 && g->in_c == g->group;
}

static void axpy_ref(float *y, const float *x, float w, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] += w * x[i];
}

/* Output columns [lo, hi) whose input column ox*s + off lies in [0, in). */
static void columns_inside(int64_t off, int64_t s, int64_t in, int64_t out, int64_t *lo, int64_t *hi)
{
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = in - off <= 0 ? 0 : (in - 1 - off) / s + 1;
    *lo = a < out ? a : out;
    *hi = b < *lo ? *lo : (b < out ? b : out);
}

typedef void (*taps_fn)(float *y, const float *const *src, const float *w, int taps, float bias, int64_t n);

typedef struct dw_job {
    const lg_conv_dw_args *a;
    void (*axpy)(float *y, const float *x, float w, int64_t n);
    taps_fn taps;
    bool failed;                 /* a thread could not allocate its scratch */
} dw_job;

static void taps_ref(float *y, const float *const *src, const float *w, int taps, float bias, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        float s = bias;
        for (int t = 0; t < taps; t++) s += w[t] * src[t][i];
        y[i] = s;
    }
}

/* even[i] = row[2i], odd[i] = row[2i + 1] (ceil(n/2) and floor(n/2) of them); SSE2 (the
 * x86-64 baseline) takes 8 columns per step. */
static void split_even_odd(const float *row, int64_t n, float *even, float *odd)
{
    int64_t i = 0;
#ifdef __SSE2__
    for (; 2 * i + 8 <= n; i += 4) {
        __m128 a = _mm_loadu_ps(row + 2 * i), b = _mm_loadu_ps(row + 2 * i + 4);
        _mm_storeu_ps(even + i, _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)));
        _mm_storeu_ps(odd + i, _mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
    }
#endif
    for (; 2 * i + 1 < n; i++) {
        even[i] = row[2 * i];
        odd[i] = row[2 * i + 1];
    }
    if (2 * i < n) even[i] = row[2 * i];
}

/* ---- padded planes (column stride 1 or 2) ------------------------------------------ */

/* The zero-padded copy of an input plane: ph rows of pw columns, stored as rows of
 * `row` floats (stride 2: the even columns, then the odd ones). */
typedef struct padded_geom {
    int64_t ph, pw, row, even_w;
} padded_geom;

static padded_geom padded_for(const lg_conv_geom *g)
{
    padded_geom p;
    int64_t need_h = (g->out[0] - 1) * g->stride[0] + (g->kernel[0] - 1) * g->dil[0] + 1;
    int64_t need_w = (g->out[1] - 1) * g->stride[1] + (g->kernel[1] - 1) * g->dil[1] + 1;
    p.ph = need_h > g->in[0] + g->pad[0] ? need_h : g->in[0] + g->pad[0];
    p.pw = need_w > g->in[1] + g->pad[1] ? need_w : g->in[1] + g->pad[1];
    p.even_w = (p.pw + 1) / 2;
    p.row = g->stride[1] == 2 ? p.even_w + p.pw / 2 : p.pw;
    return p;
}

static void pad_plane(const lg_conv_geom *g, const padded_geom *pg, const float *x, float *dst)
{
    int64_t IH = g->in[0], IW = g->in[1], pt = g->pad[0], pl = g->pad[1];
    for (int64_t r = 0; r < pg->ph; r++) {
        float *d = dst + r * pg->row;
        int64_t iy = r - pt;
        if (iy < 0 || iy >= IH) {
            memset(d, 0, (size_t)pg->row * sizeof(float));
            continue;
        }
        const float *xr = x + iy * IW;
        if (g->stride[1] == 1) {
            memset(d, 0, (size_t)pl * sizeof(float));
            memcpy(d + pl, xr, (size_t)IW * sizeof(float));
            memset(d + pl + IW, 0, (size_t)(pg->pw - pl - IW) * sizeof(float));
        } else { /* padded column c = ix + pl goes to even[c / 2] or odd[c / 2] */
            float *even = d, *odd = d + pg->even_w;
            memset(d, 0, (size_t)pg->row * sizeof(float));
            if (pl % 2 == 0) split_even_odd(xr, IW, even + pl / 2, odd + pl / 2);
            else split_even_odd(xr, IW, odd + (pl - 1) / 2, even + (pl + 1) / 2);
        }
    }
}

static void dw_plane_padded(const dw_job *job, const padded_geom *pg, const float *xp, const float *w, float bias,
                            float *y, const float **src)
{
    const lg_conv_geom *g = job->a->g;
    int64_t OH = g->out[0], OW = g->out[1], KH = g->kernel[0], KW = g->kernel[1];
    for (int64_t oy = 0; oy < OH; oy++) {
        for (int64_t ky = 0; ky < KH; ky++) {
            const float *row = xp + (oy * g->stride[0] + ky * g->dil[0]) * pg->row;
            for (int64_t kx = 0; kx < KW; kx++) {
                int64_t c0 = kx * g->dil[1]; /* padded column of output column 0 */
                src[ky * KW + kx] = g->stride[1] == 1 ? row + c0 : (c0 & 1) ? row + pg->even_w + c0 / 2 : row + c0 / 2;
            }
        }
        float *yr = y + oy * OW;
        job->taps(yr, src, w, (int)(KH * KW), bias, OW);
        if (job->a->res) lg_conv_add_rows(yr, job->a->res + (yr - job->a->y), OW);
        if (job->a->act) lg_act_apply(job->a->act, yr, OW);
    }
}

static void dw_row(const dw_job *job, const float *x, const float *w, float *yr, int64_t oy, float *even,
                   float *odd)
{
    const lg_conv_geom *g = job->a->g;
    int64_t IH = g->in[0], IW = g->in[1], OW = g->out[1], KH = g->kernel[0], KW = g->kernel[1];
    int64_t sx = g->stride[1];
    for (int64_t ky = 0; ky < KH; ky++) {
        int64_t iy = oy * g->stride[0] - g->pad[0] + ky * g->dil[0];
        if (iy < 0 || iy >= IH) continue;
        const float *xr = x + iy * IW;
        if (sx == 2) split_even_odd(xr, IW, even, odd);
        for (int64_t kx = 0; kx < KW; kx++) {
            float wv = w[ky * KW + kx];
            int64_t off = kx * g->dil[1] - g->pad[1], lo, hi;
            columns_inside(off, sx, IW, OW, &lo, &hi);
            if (hi <= lo) continue;
            if (sx == 1) {
                job->axpy(yr + lo, xr + lo + off, wv, hi - lo);
            } else if (sx == 2) {
                int64_t first = 2 * lo + off; /* input column of output column lo */
                const float *src = (first & 1) ? odd + (first - 1) / 2 : even + first / 2;
                job->axpy(yr + lo, src, wv, hi - lo);
            } else {
                for (int64_t ox = lo; ox < hi; ox++) yr[ox] += wv * xr[ox * sx + off];
            }
        }
    }
}

static void dw_planes_padded(void *arg, int64_t begin, int64_t end)
{
    dw_job *job = arg;
    const lg_conv_dw_args *a = job->a;
    const lg_conv_geom *g = a->g;
    padded_geom pg = padded_for(g);
    int64_t mult = g->out_c / g->group, taps = g->kernel_size;
    float *xp = lg_alloc((size_t)(pg.ph * pg.row) * sizeof(float) + 64);
    const float **src = lg_alloc((size_t)taps * sizeof(*src) + 64);
    if (!xp || !src) {
        job->failed = true;
    } else {
        int64_t last = -1; /* the input plane now in xp */
        for (int64_t p = begin; p < end; p++) {
            int64_t n = p / g->out_c, m = p % g->out_c, xi = n * g->in_c + m / mult;
            if (xi != last) pad_plane(g, &pg, a->x + xi * g->in_size, xp);
            last = xi;
            dw_plane_padded(job, &pg, xp, a->w + m * taps, a->bias ? a->bias[m] : 0.0f, a->y + p * g->out_size, src);
        }
    }
    lg_free(xp);
    lg_free(src);
}

static void dw_planes(void *arg, int64_t begin, int64_t end)
{
    dw_job *job = arg;
    const lg_conv_dw_args *a = job->a;
    const lg_conv_geom *g = a->g;
    int64_t mult = g->out_c / g->group, OH = g->out[0], OW = g->out[1], half = g->in[1] / 2 + 1;
    float *even = NULL, *odd = NULL;
    if (g->stride[1] == 2) { /* scratch for one input row split in two */
        even = lg_alloc((size_t)(2 * half) * sizeof(float));
        if (!even) {
            job->failed = true;
            return;
        }
        odd = even + half;
    }
    for (int64_t p = begin; p < end; p++) {
        int64_t n = p / g->out_c, m = p % g->out_c;
        const float *x = a->x + (n * g->in_c + m / mult) * g->in_size;
        const float *w = a->w + m * g->kernel_size;
        float *y = a->y + p * g->out_size;
        float bias = a->bias ? a->bias[m] : 0.0f;
        for (int64_t oy = 0; oy < OH; oy++) {
            float *yr = y + oy * OW;
            for (int64_t ox = 0; ox < OW; ox++) yr[ox] = bias;
            dw_row(job, x, w, yr, oy, even, odd);
            if (a->res) lg_conv_add_rows(yr, a->res + (yr - a->y), OW);
            if (a->act) lg_act_apply(a->act, yr, OW);
        }
    }
    lg_free(even);
}

/* The row kernel per SIMD path (AVX-512 uses the AVX2 one: rows are short). */
static void (*const axpy_for[LG_SIMD_COUNT])(float *y, const float *x, float w, int64_t n) = {
    [LG_SIMD_NONE] = axpy_ref, [LG_SIMD_SSE41] = lg_conv_dw_axpy_sse41, [LG_SIMD_AVX] = lg_conv_dw_axpy_avx,
    [LG_SIMD_AVX2] = lg_conv_dw_axpy_avx2, [LG_SIMD_AVX512] = lg_conv_dw_axpy_avx2,
};

static const taps_fn taps_for[LG_SIMD_COUNT] = {
    [LG_SIMD_NONE] = taps_ref, [LG_SIMD_SSE41] = lg_conv_dw_taps_sse41, [LG_SIMD_AVX] = lg_conv_dw_taps_avx,
    [LG_SIMD_AVX2] = lg_conv_dw_taps_avx2, [LG_SIMD_AVX512] = lg_conv_dw_taps_avx512,
};

int lg_conv_depthwise_f32(lg_threadpool *pool, const lg_conv_dw_args *a)
{
    lg_simd_level lvl = lg_simd();
    dw_job job = { a, axpy_for[lvl], taps_for[lvl], false };
    int64_t plane_work = a->g->out_size * a->g->kernel_size;
    int64_t min_planes = plane_work > 0 ? 1 + 16384 / plane_work : 1;
    bool padded = a->g->stride[1] <= 2 && a->g->kernel_size <= 1024;
    lg_parallel_for(pool, a->g->batch * a->g->out_c, min_planes, padded ? dw_planes_padded : dw_planes, &job);
    return job.failed ? lg_error(LG_E_NOMEM, "out of memory for the depthwise convolution's row scratch") : LG_OK;
}
