/*
 * norm.c: normalization operators: BatchNormalization (inference and training mode),
 * InstanceNormalization, GroupNormalization, LayerNormalization, RMSNormalization (23),
 * MeanVarianceNormalization, LRN, and the early model zoo's ImageScaler (opset 1-9).
 *
 * Every op reduces to per-plane statistics and a per-plane affine map y = x * a + b, run
 * in parallel over planes. The kernels exist for float and double (NORM_KERNELS below):
 * float32 tensors are used in place, other dtypes go through a double copy (norm_work).
 * Sums run in 8 lanes over blocks, blocks adding up in double, so long rows stay
 * accurate without a serial double chain.
 */
#include <math.h>
#include <string.h>

#include "runtime/kernel.h"

#define SUM_BLOCK 256

/* y = x * a[p % ncoef] + b[p % ncoef] over planes of inner elements. */
typedef struct affine_job {
    const void *x;
    void *y;
    const double *a, *b;
    int64_t ncoef, inner;
} affine_job;

/* LayerNormalization over rows of d elements. */
typedef struct rows_job {
    const void *x;
    void *y;
    const double *scale, *bias;   /* d values each; bias may be NULL */
    double eps;
    int64_t d;
    double *mean, *inv_std;       /* per row */
    bool rms;                     /* RMSNormalization: no centring, mean of squares */
} rows_job;

/* LRN over planes (n, c) of inner elements. */
typedef struct lrn_job {
    const void *x;
    void *y;
    int64_t channels, inner, before, after;
    double alpha_n, beta, bias;
} lrn_job;

#define NORM_KERNELS(T, SFX)                                                                \
    static double sum_##SFX(const T *x, int64_t n)                                          \
    {                                                                                       \
        double total = 0.0;                                                                 \
        for (int64_t b = 0; b < n; b += SUM_BLOCK) {                                        \
            int64_t e = b + SUM_BLOCK < n ? b + SUM_BLOCK : n, i = b;                       \
            T acc[8] = { 0 };                                                               \
            for (; i + 8 <= e; i += 8)                                                      \
                for (int l = 0; l < 8; l++) acc[l] += x[i + l];                             \
            for (; i < e; i++) acc[0] += x[i];                                              \
            for (int l = 0; l < 8; l++) total += acc[l];                                    \
        }                                                                                   \
        return total;                                                                       \
    }                                                                                       \
    static double sqdev_##SFX(const T *x, int64_t n, T m)                                   \
    {                                                                                       \
        double total = 0.0;                                                                 \
        for (int64_t b = 0; b < n; b += SUM_BLOCK) {                                        \
            int64_t e = b + SUM_BLOCK < n ? b + SUM_BLOCK : n, i = b;                       \
            T acc[8] = { 0 };                                                               \
            for (; i + 8 <= e; i += 8)                                                      \
                for (int l = 0; l < 8; l++) acc[l] += (x[i + l] - m) * (x[i + l] - m);      \
            for (; i < e; i++) acc[0] += (x[i] - m) * (x[i] - m);                           \
            for (int l = 0; l < 8; l++) total += acc[l];                                    \
        }                                                                                   \
        return total;                                                                       \
    }                                                                                       \
    /* Mean and (biased) variance over planes planes of inner elements, stride apart. */    \
    static void moments_##SFX(const T *x, int64_t planes, int64_t stride, int64_t inner,    \
                              double *mean, double *var)                                    \
    {                                                                                       \
        double n = (double)(planes * inner), s = 0.0, q = 0.0;                              \
        for (int64_t p = 0; p < planes; p++) s += sum_##SFX(x + p * stride, inner);         \
        double m = n > 0 ? s / n : 0.0;                                                     \
        for (int64_t p = 0; p < planes; p++) q += sqdev_##SFX(x + p * stride, inner, (T)m); \
        *mean = m;                                                                          \
        *var = n > 0 ? q / n : 0.0;                                                         \
    }                                                                                       \
    static void affine_##SFX(void *arg, int64_t begin, int64_t end)                         \
    {                                                                                       \
        const affine_job *j = arg;                                                          \
        for (int64_t p = begin; p < end; p++) {                                             \
            const T *x = (const T *)j->x + p * j->inner;                                    \
            T *y = (T *)j->y + p * j->inner;                                                \
            T a = (T)j->a[p % j->ncoef], b = (T)j->b[p % j->ncoef];                         \
            for (int64_t i = 0; i < j->inner; i++) y[i] = x[i] * a + b;                     \
        }                                                                                   \
    }                                                                                       \
    static void layernorm_rows_##SFX(void *arg, int64_t begin, int64_t end)                 \
    {                                                                                       \
        const rows_job *j = arg;                                                            \
        for (int64_t r = begin; r < end; r++) {                                             \
            const T *x = (const T *)j->x + r * j->d;                                        \
            T *y = (T *)j->y + r * j->d;                                                    \
            double mean = 0.0, var;                                                         \
            if (j->rms) var = sqdev_##SFX(x, j->d, 0) / (double)j->d;                       \
            else moments_##SFX(x, 1, 0, j->d, &mean, &var);                                 \
            double inv = 1.0 / sqrt(var + j->eps);                                          \
            T m = (T)mean, s = (T)inv;                                                      \
            for (int64_t i = 0; i < j->d; i++) y[i] = (x[i] - m) * s * (T)j->scale[i];      \
            if (j->bias)                                                                    \
                for (int64_t i = 0; i < j->d; i++) y[i] += (T)j->bias[i];                   \
            j->mean[r] = mean;                                                              \
            j->inv_std[r] = inv;                                                            \
        }                                                                                   \
    }                                                                                       \
    /* Sums the squares of the window's channel planes into y, then scales x by it. */      \
    static void lrn_planes_##SFX(void *arg, int64_t begin, int64_t end)                     \
    {                                                                                       \
        const lrn_job *j = arg;                                                             \
        for (int64_t p = begin; p < end; p++) {                                             \
            int64_t ch = p % j->channels, lo = ch - j->before, hi = ch + j->after;          \
            lo = lo < 0 ? 0 : lo;                                                           \
            hi = hi >= j->channels ? j->channels - 1 : hi;                                  \
            const T *x = (const T *)j->x + p * j->inner;                                    \
            T *y = (T *)j->y + p * j->inner;                                                \
            memset(y, 0, (size_t)j->inner * sizeof(T));                                     \
            for (int64_t k = lo - ch; k <= hi - ch; k++) {                                  \
                const T *xk = x + k * j->inner;                                             \
                for (int64_t i = 0; i < j->inner; i++) y[i] += xk[i] * xk[i];               \
            }                                                                               \
            for (int64_t i = 0; i < j->inner; i++)                                          \
                y[i] = x[i] / (T)pow(j->bias + j->alpha_n * (double)y[i], j->beta);         \
        }                                                                                   \
    }

NORM_KERNELS(float, f32)
NORM_KERNELS(double, f64)

/* ---- float32 in place, other dtypes through doubles ---- */

typedef struct norm_work {
    bool f32;
    const void *x;
    void *y;
    double *xd, *yd;
} norm_work;

static int work_begin(const lg_tensor *x, lg_tensor *y, norm_work *w)
{
    memset(w, 0, sizeof(*w));
    w->f32 = x->dtype == LG_FLOAT;
    if (w->f32) {
        w->x = x->data;
        w->y = y->data;
        return LG_OK;
    }
    int64_t n = lg_tensor_numel_(x);
    size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(double);
    w->xd = lg_alloc(bytes);
    w->yd = lg_alloc(bytes);
    if (!w->xd || !w->yd) {
        lg_free(w->xd);
        lg_free(w->yd);
        return lg_error(LG_E_NOMEM, "out of memory for %lld elements", (long long)n);
    }
    for (int64_t i = 0; i < n; i++) w->xd[i] = lg_tensor_get_f64(x, i);
    w->x = w->xd;
    w->y = w->yd;
    return LG_OK;
}

/* Writes the double results back into y (non-float32) and frees the copies. */
static void work_end(norm_work *w, lg_tensor *y)
{
    if (!w->f32) {
        int64_t n = lg_tensor_numel_(y);
        for (int64_t i = 0; i < n; i++) lg_tensor_set_f64(y, i, w->yd[i]);
    }
    lg_free(w->xd);
    lg_free(w->yd);
}

static void moments(const norm_work *w, int64_t offset, int64_t planes, int64_t stride, int64_t inner,
                    double *mean, double *var)
{
    if (w->f32) moments_f32((const float *)w->x + offset, planes, stride, inner, mean, var);
    else moments_f64((const double *)w->x + offset, planes, stride, inner, mean, var);
}

static void run_affine(const lg_kctx *c, const norm_work *w, const double *a, const double *b, int64_t ncoef,
                       int64_t planes, int64_t inner)
{
    affine_job j = { .x = w->x, .y = w->y, .a = a, .b = b, .ncoef = ncoef, .inner = inner };
    lg_parallel_for(c->pool, planes, 1 + 16384 / (inner > 0 ? inner : 1), w->f32 ? affine_f32 : affine_f64, &j);
}

static bool is_float_type(lg_dtype dt)
{
    return dt == LG_FLOAT || dt == LG_DOUBLE || dt == LG_FLOAT16 || dt == LG_BFLOAT16;
}

static int check_float(const lg_tensor *t, const char *what)
{
    if (!is_float_type(t->dtype))
        return lg_error(LG_E_UNSUPPORTED, "%s has type %s, expected a float type", what, lg_dtype_name(t->dtype));
    return LG_OK;
}

/* Reads a parameter tensor of exactly n values as doubles into out. */
static int read_params(const lg_tensor *t, int64_t n, const char *what, double *out)
{
    if (!t) return lg_error(LG_E_INVALID_MODEL, "%s input is missing", what);
    LG_CHECK(check_float(t, what));
    if (lg_tensor_numel_(t) != n)
        return lg_error(LG_E_SHAPE, "%s has %lld values, expected %lld", what, (long long)lg_tensor_numel_(t),
                        (long long)n);
    for (int64_t i = 0; i < n; i++) out[i] = lg_tensor_get_f64(t, i);
    return LG_OK;
}

static double *alloc_doubles(int64_t n)
{
    double *p = lg_alloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    if (!p) lg_error(LG_E_NOMEM, "out of memory for %lld values", (long long)n);
    return p;
}

/* ---- BatchNormalization ---- */

/* Channel layout: ch parameter sets, each applied to planes of inner elements. Before
 * opset 9, spatial = 0 gives every activation (C x D1 x ...) its own parameters. */
static int bn_layout(const lg_kctx *c, const lg_tensor *x, int64_t *ch, int64_t *inner)
{
    if (x->ndim < 2) return lg_error(LG_E_SHAPE, "input has rank %d, expected at least 2 (N, C, ...)", x->ndim);
    int64_t spatial = 1;
    for (int a = 2; a < x->ndim; a++) spatial *= x->dims[a];
    bool per_activation = c->opset < 9 && lg_attr_int(c->node, "spatial", 1) == 0;
    *ch = per_activation ? x->dims[1] * spatial : x->dims[1];
    *inner = per_activation ? 1 : spatial;
    return LG_OK;
}

/* Training mode: the training_mode attribute from opset 14, the extra outputs before. */
static bool bn_training(const lg_kctx *c)
{
    if (c->opset >= 14) return lg_attr_int(c->node, "training_mode", 0) != 0;
    for (int i = 1; i < c->n_outputs; i++)
        if (c->outputs[i]) return true;
    return false;
}

static int bn_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int64_t ch, inner;
    LG_CHECK(check_float(x, "X"));
    LG_CHECK(bn_layout(c, x, &ch, &inner));
    for (int i = 1; i < 5; i++)
        if (!lg_kin(c, i)) return lg_error(LG_E_INVALID_MODEL, "BatchNormalization needs 5 inputs");
    LG_CHECK(lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims));
    const lg_tensor *mean = c->inputs[3];
    for (int i = 1; i < c->n_outputs && i < 5; i++) {
        lg_dtype dt = i <= 2 ? mean->dtype : x->dtype;
        LG_CHECK(lg_kout_shape(c, i, dt, 1, &ch));
    }
    return LG_OK;
}

/* Training outputs: running mean/var (1, 2) and, before opset 14, the batch mean/var
 * (3, 4). */
static void bn_write_stats(lg_kctx *c, const double *run_mean, const double *run_var, const double *bmean,
                           const double *bvar, int64_t ch)
{
    const double *src[5] = { NULL, run_mean, run_var, bmean, bvar };
    for (int i = 1; i < c->n_outputs && i < 5; i++) {
        if (!c->outputs[i]) continue;
        for (int64_t k = 0; k < ch; k++) lg_tensor_set_f64(c->outputs[i], k, src[i][k]);
    }
}

static int bn_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int64_t ch, inner;
    LG_CHECK(bn_layout(c, x, &ch, &inner));
    double *p = alloc_doubles(8 * ch);
    if (!p) return LG_E_NOMEM;
    double *scale = p, *bias = p + ch, *mean = p + 2 * ch, *var = p + 3 * ch;
    double *a = p + 4 * ch, *b = p + 5 * ch, *bmean = p + 6 * ch, *bvar = p + 7 * ch;
    int rc = read_params(c->inputs[1], ch, "scale", scale);
    if (rc == LG_OK) rc = read_params(c->inputs[2], ch, "B", bias);
    if (rc == LG_OK) rc = read_params(c->inputs[3], ch, "mean", mean);
    if (rc == LG_OK) rc = read_params(c->inputs[4], ch, "var", var);
    norm_work w;
    if (rc == LG_OK) rc = work_begin(x, c->outputs[0], &w);
    if (rc != LG_OK) {
        lg_free(p);
        return rc;
    }
    double eps = lg_attr_float(c->node, "epsilon", 1e-5f);
    bool training = bn_training(c);
    int64_t n = x->dims[0], planes = n * ch;
    for (int64_t k = 0; k < ch; k++) {
        if (training) {
            moments(&w, k * inner, n, ch * inner, inner, &bmean[k], &bvar[k]);
        } else {
            bmean[k] = mean[k];
            bvar[k] = var[k];
        }
        a[k] = scale[k] / sqrt(bvar[k] + eps);
        b[k] = bias[k] - bmean[k] * a[k];
    }
    run_affine(c, &w, a, b, ch, planes, inner);
    work_end(&w, c->outputs[0]);
    if (training) {
        double momentum = lg_attr_float(c->node, "momentum", 0.9f);
        for (int64_t k = 0; k < ch; k++) {
            mean[k] = mean[k] * momentum + bmean[k] * (1.0 - momentum);
            var[k] = var[k] * momentum + bvar[k] * (1.0 - momentum);
        }
    }
    bn_write_stats(c, mean, var, bmean, bvar, ch);
    lg_free(p);
    return LG_OK;
}

/* ---- InstanceNormalization ---- */

static int same_shape_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    LG_CHECK(check_float(x, "input"));
    return lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims);
}

static int instancenorm_infer(lg_kctx *c)
{
    if (c->inputs[0]->ndim < 3)
        return lg_error(LG_E_SHAPE, "input has rank %d, expected at least 3 (N, C, D...)", c->inputs[0]->ndim);
    return same_shape_infer(c);
}

static int groups_norm(lg_kctx *c, int64_t groups, int64_t nparam, const char *bias_name);

/* InstanceNormalization: GroupNormalization with one group per channel. */
static int instancenorm_exec(lg_kctx *c)
{
    int64_t ch = c->inputs[0]->dims[1];
    return groups_norm(c, ch, ch, "B");
}

/* ---- ImageScaler (opset 1-9, experimental, early model zoo): y = scale * x + bias[c] ---- */

static int imagescaler_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    if (x->ndim != 4) return lg_error(LG_E_SHAPE, "ImageScaler input has rank %d, expected 4 (N, C, H, W)", x->ndim);
    int64_t ch = x->dims[1], planes = x->dims[0] * ch, inner = planes ? lg_tensor_numel_(x) / planes : 0;
    int nb = 0;
    const float *bias = lg_attr_floats(c->node, "bias", &nb);
    if (bias && nb != ch) return lg_error(LG_E_SHAPE, "bias has %lld values for %lld channels", (long long)nb, (long long)ch);
    double *p = alloc_doubles(2 * ch);
    if (!p) return LG_E_NOMEM;
    double scale = lg_attr_float(c->node, "scale", 1.0f);
    for (int64_t k = 0; k < ch; k++) {
        p[k] = scale;
        p[ch + k] = bias ? bias[k] : 0.0;
    }
    norm_work w;
    int rc = work_begin(x, c->outputs[0], &w);
    if (rc == LG_OK) {
        run_affine(c, &w, p, p + ch, ch, planes, inner);
        work_end(&w, c->outputs[0]);
    }
    lg_free(p);
    return rc;
}

/* Normalizes each of the groups of channels of every image over its channels and
 * positions, then applies scale and bias (nparam of each: per group or per channel). */
static int groups_norm(lg_kctx *c, int64_t groups, int64_t nparam, const char *bias_name)
{
    const lg_tensor *x = c->inputs[0];
    int64_t n = x->dims[0], ch = x->dims[1], planes = n * ch, inner = planes ? lg_tensor_numel_(x) / planes : 0;
    int64_t per = ch / groups;
    double *p = alloc_doubles(2 * nparam + 2 * planes);
    if (!p) return LG_E_NOMEM;
    double *scale = p, *bias = p + nparam, *a = p + 2 * nparam, *b = p + 2 * nparam + planes;
    int rc = read_params(lg_kin(c, 1), nparam, "scale", scale);
    if (rc == LG_OK) rc = read_params(lg_kin(c, 2), nparam, bias_name, bias);
    norm_work w;
    if (rc == LG_OK) rc = work_begin(x, c->outputs[0], &w);
    if (rc != LG_OK) {
        lg_free(p);
        return rc;
    }
    double eps = lg_attr_float(c->node, "epsilon", 1e-5f);
    for (int64_t g = 0; g < n * groups; g++) {
        double mean, var;
        moments(&w, g * per * inner, 1, 0, per * inner, &mean, &var);
        for (int64_t q = g * per; q < (g + 1) * per; q++) {
            int64_t k = nparam == ch ? q % ch : g % groups;
            a[q] = scale[k] / sqrt(var + eps);
            b[q] = bias[k] - mean * a[q];
        }
    }
    run_affine(c, &w, a, b, planes, planes, inner);
    work_end(&w, c->outputs[0]);
    lg_free(p);
    return LG_OK;
}

/* ---- GroupNormalization: channels in num_groups groups; scale and bias per group at
 * opset 18, per channel from opset 21 ---- */

static int groupnorm_exec(lg_kctx *c)
{
    int64_t ch = c->inputs[0]->dims[1], groups = lg_attr_int(c->node, "num_groups", 0);
    if (groups <= 0 || ch % groups != 0)
        return lg_error(LG_E_INVALID_MODEL, "num_groups %lld does not divide the %lld channels", (long long)groups,
                        (long long)ch);
    return groups_norm(c, groups, c->opset >= 21 ? ch : groups, "bias");
}

/* ---- LayerNormalization ---- */

static int layernorm_axis(const lg_kctx *c, const lg_tensor *x, int *axis)
{
    return lg_norm_axis(lg_attr_int(c->node, "axis", -1), x->ndim, axis);
}

/* Mean and InvStdDev type: stash_type (a float type; default float). */
static int layernorm_stash_type(const lg_kctx *c, lg_dtype *dt)
{
    int64_t st = lg_attr_int(c->node, "stash_type", LG_FLOAT);
    if (!is_float_type((lg_dtype)st))
        return lg_error(LG_E_UNSUPPORTED, "stash_type %lld is not a float type", (long long)st);
    *dt = (lg_dtype)st;
    return LG_OK;
}

static int layernorm_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int axis;
    lg_dtype stash = LG_FLOAT;
    LG_CHECK(check_float(x, "X"));
    if (!lg_kin(c, 1)) return lg_error(LG_E_INVALID_MODEL, "Scale input is missing");
    LG_CHECK(layernorm_axis(c, x, &axis));
    LG_CHECK(layernorm_stash_type(c, &stash));
    LG_CHECK(lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims));
    int64_t dims[LG_MAX_DIMS];
    for (int a = 0; a < x->ndim; a++) dims[a] = a < axis ? x->dims[a] : 1;
    LG_CHECK(lg_kout_shape(c, 1, stash, x->ndim, dims));
    return lg_kout_shape(c, 2, stash, x->ndim, dims);
}

/* Expands t (broadcastable to the normalized shape dims[0..n)) into d doubles. */
static int expand_to(const lg_tensor *t, int n, const int64_t *dims, const char *what, double *out)
{
    int nout;
    int64_t bdims[LG_MAX_DIMS], strides[LG_MAX_DIMS], idx[LG_MAX_DIMS] = { 0 };
    LG_CHECK(check_float(t, what));
    if (t->ndim > n || lg_broadcast_shape(n, dims, t->ndim, t->dims, &nout, bdims) != LG_OK ||
        !lg_dims_equal(nout, bdims, n, dims))
        return lg_error(LG_E_SHAPE, "%s does not broadcast to the normalized shape", what);
    lg_broadcast_strides(t->ndim, t->dims, n, strides);
    int64_t total = lg_dims_numel(n, dims);
    for (int64_t i = 0; i < total; i++) {
        int64_t src = 0;
        for (int a = 0; a < n; a++) src += idx[a] * strides[a];
        out[i] = lg_tensor_get_f64(t, src);
        for (int a = n - 1; a >= 0 && ++idx[a] == dims[a]; a--) idx[a] = 0;
    }
    return LG_OK;
}

static void write_row_stats(lg_tensor *t, const double *v, int64_t n)
{
    if (!t) return;
    for (int64_t i = 0; i < n; i++) lg_tensor_set_f64(t, i, v[i]);
}

static int layernorm_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *bias_t = lg_kin(c, 2);
    int axis;
    LG_CHECK(layernorm_axis(c, x, &axis));
    int64_t rows = lg_dims_numel(axis, x->dims), d = lg_dims_numel(x->ndim - axis, x->dims + axis);
    double *p = alloc_doubles(2 * d + 2 * rows);
    if (!p) return LG_E_NOMEM;
    bool rms = strcmp(c->node->op_type, "RMSNormalization") == 0;
    if (rms) bias_t = NULL;
    rows_job j = { .scale = p, .bias = bias_t ? p + d : NULL, .d = d, .mean = p + 2 * d, .inv_std = p + 2 * d + rows,
                   .eps = lg_attr_float(c->node, "epsilon", 1e-5f), .rms = rms };
    int rc = expand_to(c->inputs[1], x->ndim - axis, x->dims + axis, "Scale", p);
    if (rc == LG_OK && bias_t) rc = expand_to(bias_t, x->ndim - axis, x->dims + axis, "B", p + d);
    norm_work w;
    if (rc == LG_OK) rc = work_begin(x, c->outputs[0], &w);
    if (rc != LG_OK) {
        lg_free(p);
        return rc;
    }
    j.x = w.x;
    j.y = w.y;
    lg_parallel_for(c->pool, d > 0 ? rows : 0, 1 + 16384 / (d > 0 ? d : 1),
                    w.f32 ? layernorm_rows_f32 : layernorm_rows_f64, &j);
    work_end(&w, c->outputs[0]);
    if (d > 0 && !rms) {
        write_row_stats(c->n_outputs > 1 ? c->outputs[1] : NULL, j.mean, rows);
        write_row_stats(c->n_outputs > 2 ? c->outputs[2] : NULL, j.inv_std, rows);
    }
    lg_free(p);
    return LG_OK;
}

/* ---- MeanVarianceNormalization ---- */

/* Marks the reduced axes (default 0, 2, 3). */
static int mvn_axes(const lg_kctx *c, int rank, bool *reduced)
{
    static const int64_t default_axes[] = { 0, 2, 3 };
    int n = 0;
    const int64_t *axes = lg_attr_ints(c->node, "axes", &n);
    if (!axes) {
        axes = default_axes;
        n = 3;
    }
    for (int a = 0; a < rank; a++) reduced[a] = false;
    for (int i = 0; i < n; i++) {
        int a;
        LG_CHECK(lg_norm_axis(axes[i], rank, &a));
        reduced[a] = true;
    }
    return LG_OK;
}

/* Group (kept-axes index) of every element. */
static void mvn_groups(const lg_tensor *x, const bool *reduced, int64_t *group, int64_t *ngroups)
{
    int64_t gstride[LG_MAX_DIMS], idx[LG_MAX_DIMS] = { 0 }, s = 1, n = lg_tensor_numel_(x);
    for (int a = x->ndim - 1; a >= 0; a--) {
        gstride[a] = reduced[a] ? 0 : s;
        if (!reduced[a]) s *= x->dims[a];
    }
    *ngroups = s;
    for (int64_t i = 0; i < n; i++) {
        int64_t g = 0;
        for (int a = 0; a < x->ndim; a++) g += idx[a] * gstride[a];
        group[i] = g;
        for (int a = x->ndim - 1; a >= 0 && ++idx[a] == x->dims[a]; a--) idx[a] = 0;
    }
}

static double mvn_value(const norm_work *w, int64_t i)
{
    return w->f32 ? ((const float *)w->x)[i] : w->xd[i];
}

/* y = (x - mean) / (sqrt(var) + 1e-9), statistics over the reduced axes. */
static int mvn_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    bool reduced[LG_MAX_DIMS];
    LG_CHECK(mvn_axes(c, x->ndim, reduced));
    int64_t n = lg_tensor_numel_(x), ngroups;
    int64_t *group = lg_alloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    if (!group) return lg_error(LG_E_NOMEM, "out of memory for %lld elements", (long long)n);
    mvn_groups(x, reduced, group, &ngroups);
    double *st = lg_calloc((size_t)(3 * ngroups + 1) * sizeof(double));
    norm_work w;
    int rc = st ? work_begin(x, c->outputs[0], &w) : lg_error(LG_E_NOMEM, "out of memory for statistics");
    if (rc != LG_OK) {
        lg_free(group);
        lg_free(st);
        return rc;
    }
    double *mean = st, *den = st + ngroups, *cnt = st + 2 * ngroups;
    for (int64_t i = 0; i < n; i++) {
        mean[group[i]] += mvn_value(&w, i);
        cnt[group[i]] += 1.0;
    }
    for (int64_t g = 0; g < ngroups; g++) mean[g] = cnt[g] > 0 ? mean[g] / cnt[g] : 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = mvn_value(&w, i) - mean[group[i]];
        den[group[i]] += d * d;
    }
    for (int64_t g = 0; g < ngroups; g++) den[g] = sqrt(cnt[g] > 0 ? den[g] / cnt[g] : 0.0) + 1e-9;
    for (int64_t i = 0; i < n; i++) {
        double r = (mvn_value(&w, i) - mean[group[i]]) / den[group[i]];
        if (w.f32) ((float *)w.y)[i] = (float)r;
        else w.yd[i] = r;
    }
    work_end(&w, c->outputs[0]);
    lg_free(group);
    lg_free(st);
    return LG_OK;
}

/* ---- LRN ---- */

static int lrn_infer(lg_kctx *c)
{
    if (c->inputs[0]->ndim < 2)
        return lg_error(LG_E_SHAPE, "input has rank %d, expected at least 2 (N, C, ...)", c->inputs[0]->ndim);
    return same_shape_infer(c);
}

static int lrn_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int64_t size = lg_attr_int(c->node, "size", 0);
    if (size < 1 || size > ((int64_t)1 << 31)) return lg_error(LG_E_INVALID_MODEL, "size must be positive, got %lld", (long long)size);
    int64_t planes = x->dims[0] * x->dims[1];
    lrn_job j = { .channels = x->dims[1], .inner = planes ? lg_tensor_numel_(x) / planes : 0,
                  .before = (size - 1) / 2, .after = size / 2,
                  .alpha_n = lg_attr_float(c->node, "alpha", 1e-4f) / (double)size,
                  .beta = lg_attr_float(c->node, "beta", 0.75f), .bias = lg_attr_float(c->node, "bias", 1.0f) };
    norm_work w;
    LG_CHECK(work_begin(x, c->outputs[0], &w));
    j.x = w.x;
    j.y = w.y;
    lg_parallel_for(c->pool, planes, 1 + 8192 / (j.inner * size + 1), w.f32 ? lrn_planes_f32 : lrn_planes_f64, &j);
    work_end(&w, c->outputs[0]);
    return LG_OK;
}

const lg_op_def lg_ops_norm[] = {
    { "BatchNormalization", "", 1, 27, bn_infer, bn_exec, NULL, NULL },
    { "InstanceNormalization", "", 1, 27, instancenorm_infer, instancenorm_exec, NULL, NULL },
    { "LayerNormalization", "", 17, 27, layernorm_infer, layernorm_exec, NULL, NULL },
    { "RMSNormalization", "", 23, 27, layernorm_infer, layernorm_exec, NULL, NULL },
    { "GroupNormalization", "", 18, 27, instancenorm_infer, groupnorm_exec, NULL, NULL },
    { "ImageScaler", "", 1, 9, same_shape_infer, imagescaler_exec, NULL, NULL },
    { "MeanVarianceNormalization", "", 9, 27, same_shape_infer, mvn_exec, NULL, NULL },
    { "LRN", "", 1, 27, lrn_infer, lrn_exec, NULL, NULL },
    { NULL }
};
