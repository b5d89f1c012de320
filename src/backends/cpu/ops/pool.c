/*
 * pool.c: pooling operators: MaxPool, AveragePool and LpPool (windowed, any number of
 * spatial axes), GlobalMaxPool, GlobalAveragePool and GlobalLpPool, MaxUnpool and
 * MaxRoiPool.
 *
 * The windowed ops share one geometry (pool_geom: kernel_shape, strides, dilations,
 * pads / auto_pad and ceil_mode). float32 Max/Average run a whole output row at a time:
 * for every kernel tap the inner loop walks the output width, contiguous for stride 1,
 * so the common 2x2 and 3x3 kernels vectorize; larger stride-1 windows first combine
 * their rows at input width (box windows are separable). Work is split over N*C*rows. Other
 * dtypes, LpPool and MaxPool's Indices output use a per-element path in double (exact
 * for int8/uint8, whose values doubles hold exactly).
 */
#include <math.h>
#include <string.h>

#include "runtime/kernel.h"

#define POOL_MAX_SP (LG_MAX_DIMS - 2)
#define POOL_ATTR_LIMIT ((int64_t)1 << 31) /* bound on kernel/stride/pad/dilation values */

typedef enum pool_kind { POOL_MAX, POOL_AVG, POOL_LP } pool_kind;

typedef struct pool_geom {
    int nsp;                      /* spatial axes */
    int64_t planes;               /* N * C */
    int64_t in[POOL_MAX_SP], out[POOL_MAX_SP];
    int64_t k[POOL_MAX_SP], s[POOL_MAX_SP], d[POOL_MAX_SP];
    int64_t pb[POOL_MAX_SP], pe[POOL_MAX_SP]; /* pads at the beginning / end */
    int64_t in_size, out_size;    /* elements per plane */
    int64_t in_stride[POOL_MAX_SP];
} pool_geom;

/* ---- geometry ---- */

/* Reads an optional ints attribute of n values (all in [lo, POOL_ATTR_LIMIT]) into out,
 * or fills out with def when it is absent. */
static int read_axis_ints(const lg_node *node, const char *name, int n, int64_t lo, int64_t def,
                          int64_t *out)
{
    int cnt = 0;
    const int64_t *v = lg_attr_ints(node, name, &cnt);
    if (!v) {
        for (int i = 0; i < n; i++) out[i] = def;
        return LG_OK;
    }
    if (cnt != n)
        return lg_error(LG_E_INVALID_MODEL, "%s has %d values, expected %d", name, cnt, n);
    for (int i = 0; i < n; i++) {
        if (v[i] < lo || v[i] > POOL_ATTR_LIMIT)
            return lg_error(LG_E_INVALID_MODEL, "%s[%d] = %lld is out of range", name, i, (long long)v[i]);
        out[i] = v[i];
    }
    return LG_OK;
}

/* Output length of one axis with explicit pads. */
static int explicit_out_len(const pool_geom *g, int a, bool ceil_mode, int64_t *out)
{
    int64_t k_eff = (g->k[a] - 1) * g->d[a] + 1;
    int64_t span = g->in[a] + g->pb[a] + g->pe[a] - k_eff;
    if (span < 0)
        return lg_error(LG_E_SHAPE, "spatial axis %d: window of %lld does not fit input %lld with pads %lld+%lld",
                        a, (long long)k_eff, (long long)g->in[a], (long long)g->pb[a], (long long)g->pe[a]);
    int64_t n = (ceil_mode ? (span + g->s[a] - 1) / g->s[a] : span / g->s[a]) + 1;
    /* ceil_mode never starts a window inside the end padding. */
    if (ceil_mode && (n - 1) * g->s[a] >= g->in[a] + g->pb[a]) n--;
    *out = n;
    return LG_OK;
}

/* SAME_UPPER / SAME_LOWER: output ceil(in / stride), pads split around the input. */
static void same_out_len(pool_geom *g, int a, bool lower)
{
    int64_t k_eff = (g->k[a] - 1) * g->d[a] + 1;
    int64_t n = (g->in[a] + g->s[a] - 1) / g->s[a];
    int64_t total = (n - 1) * g->s[a] + k_eff - g->in[a];
    if (total < 0) total = 0;
    g->pb[a] = lower ? total - total / 2 : total / 2;
    g->pe[a] = total - g->pb[a];
    g->out[a] = n;
}

/* Reads the pooling attributes for input x. ceil_mode / dilations are only read where the
 * op has them (has_ceil, has_dilations). */
static int pool_geom_init(const lg_kctx *c, const lg_tensor *x, bool has_ceil, bool has_dilations,
                          pool_geom *g)
{
    const lg_node *node = c->node;
    if (x->ndim < 3)
        return lg_error(LG_E_SHAPE, "input has rank %d, pooling needs N, C and at least one spatial axis", x->ndim);
    memset(g, 0, sizeof(*g));
    g->nsp = x->ndim - 2;
    g->planes = x->dims[0] * x->dims[1];
    for (int a = 0; a < g->nsp; a++) g->in[a] = x->dims[a + 2];

    int kcnt = 0;
    if (!lg_attr_ints(node, "kernel_shape", &kcnt))
        return lg_error(LG_E_INVALID_MODEL, "kernel_shape attribute is required");
    LG_CHECK(read_axis_ints(node, "kernel_shape", g->nsp, 1, 1, g->k));
    LG_CHECK(read_axis_ints(node, "strides", g->nsp, 1, 1, g->s));
    if (has_dilations) LG_CHECK(read_axis_ints(node, "dilations", g->nsp, 1, 1, g->d));
    else for (int a = 0; a < g->nsp; a++) g->d[a] = 1;
    int64_t pads[2 * POOL_MAX_SP];
    LG_CHECK(read_axis_ints(node, "pads", 2 * g->nsp, 0, 0, pads));
    for (int a = 0; a < g->nsp; a++) {
        g->pb[a] = pads[a];
        g->pe[a] = pads[a + g->nsp];
    }

    const char *auto_pad = lg_attr_string(node, "auto_pad", "NOTSET");
    bool ceil_mode = has_ceil && lg_attr_int(node, "ceil_mode", 0) != 0;
    for (int a = 0; a < g->nsp; a++) {
        if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) {
            same_out_len(g, a, auto_pad[5] == 'L');
            continue;
        }
        if (strcmp(auto_pad, "VALID") == 0) g->pb[a] = g->pe[a] = 0;
        else if (strcmp(auto_pad, "NOTSET") != 0 && auto_pad[0] != '\0')
            return lg_error(LG_E_INVALID_MODEL, "unknown auto_pad '%s'", auto_pad);
        LG_CHECK(explicit_out_len(g, a, ceil_mode, &g->out[a]));
    }
    g->in_size = lg_dims_numel(g->nsp, g->in);
    g->out_size = lg_dims_numel(g->nsp, g->out);
    lg_strides(g->nsp, g->in, g->in_stride);
    return LG_OK;
}

static void pool_out_dims(const lg_tensor *x, const pool_geom *g, int64_t *dims)
{
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int a = 0; a < g->nsp; a++) dims[a + 2] = g->out[a];
}

/* Taps t in [*lo, *hi) of a k-tap window (dilation d) starting at start that fall in
 * [0, len). */
static void window_taps(int64_t start, int64_t k, int64_t d, int64_t len, int64_t *lo, int64_t *hi)
{
    int64_t a = start < 0 ? (-start + d - 1) / d : 0;
    int64_t b = len - start <= 0 ? 0 : (len - start + d - 1) / d;
    if (b > k) b = k;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

/* Taps of the window on axis a at output index o: inside the input, and (for
 * count_include_pad) inside the padded input. */
static int64_t axis_taps(const pool_geom *g, int a, int64_t o, int64_t *lo, int64_t *hi, int64_t *padded)
{
    int64_t start = o * g->s[a] - g->pb[a];
    window_taps(start, g->k[a], g->d[a], g->in[a], lo, hi);
    if (padded) {
        int64_t plo, phi;
        window_taps(start + g->pb[a], g->k[a], g->d[a], g->in[a] + g->pb[a] + g->pe[a], &plo, &phi);
        *padded = phi - plo;
    }
    return start;
}

static bool dtype_in(lg_dtype dt, const lg_dtype *list)
{
    for (; *list != LG_UNDEFINED; list++)
        if (*list == dt) return true;
    return false;
}

static const lg_dtype float_types[] = { LG_FLOAT, LG_DOUBLE, LG_FLOAT16, LG_BFLOAT16, LG_UNDEFINED };
static const lg_dtype maxpool_types[] = { LG_FLOAT, LG_DOUBLE, LG_FLOAT16, LG_BFLOAT16,
                                          LG_INT8, LG_UINT8, LG_UNDEFINED };

static int check_dtype(const lg_tensor *x, const lg_dtype *allowed)
{
    if (!dtype_in(x->dtype, allowed))
        return lg_error(LG_E_UNSUPPORTED, "input type %s is not supported", lg_dtype_name(x->dtype));
    return LG_OK;
}

/* Converts a tensor to doubles (generic paths); NULL with an error set on failure. */
static double *to_doubles(const lg_tensor *t)
{
    int64_t n = lg_tensor_numel_(t);
    double *v = lg_alloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    if (!v) {
        lg_error(LG_E_NOMEM, "out of memory for %lld elements", (long long)n);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) v[i] = lg_tensor_get_f64(t, i);
    return v;
}

/* ---- windowed pooling: float32 rows ---- */

typedef struct row_job {
    const pool_geom *g;
    pool_kind kind;
    bool count_pad;
    const float *x;
    float *y;
    int64_t rows;                 /* output rows per plane */
    const int64_t *tap_lo, *tap_hi; /* last axis: output columns each kernel column covers */
    const int64_t *col_count;     /* last axis: taps per output column (counted as avg divisor) */
    bool empty_cols;              /* some column has no input tap */
} row_job;

/* 4-float vectors (GCC/Clang vector extensions: SSE on x86, NEON on ARM). */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4f v4f_load(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline void v4f_store(float *p, v4f v) { memcpy(p, &v, sizeof(v)); }

/* p[0], p[2], p[4], p[6] (reads p[0..7]). */
static inline v4f v4f_even(const float *p) { return __builtin_shufflevector(v4f_load(p), v4f_load(p + 4), 0, 2, 4, 6); }

static inline v4f v4f_max(v4f a, v4f b)
{
    v4i m = a > b;
    return (v4f)(((v4i)a & m) | ((v4i)b & ~m));
}

/* y[i] = max(y[i], x[i*s]) for i in [0, n); stride 1 and 2 in vectors. */
static void row_max(float *y, const float *x, int64_t n, int64_t s)
{
    int64_t i = 0;
    if (s == 1)
        for (; i + 4 <= n; i += 4) v4f_store(y + i, v4f_max(v4f_load(x + i), v4f_load(y + i)));
    else if (s == 2) /* the last vector would read one past x[2 * (n - 1)] */
        for (; i + 5 <= n; i += 4) v4f_store(y + i, v4f_max(v4f_even(x + 2 * i), v4f_load(y + i)));
    for (; i < n; i++) y[i] = x[i * s] > y[i] ? x[i * s] : y[i];
}

/* y[i] += x[i*s] for i in [0, n). */
static void row_sum(float *y, const float *x, int64_t n, int64_t s)
{
    int64_t i = 0;
    if (s == 1)
        for (; i + 4 <= n; i += 4) v4f_store(y + i, v4f_load(x + i) + v4f_load(y + i));
    else if (s == 2)
        for (; i + 5 <= n; i += 4) v4f_store(y + i, v4f_even(x + 2 * i) + v4f_load(y + i));
    for (; i < n; i++) y[i] += x[i * s];
}

/* Accumulates one input row into the output row over every kernel column. */
static void row_accumulate(const row_job *j, float *yr, const float *xr)
{
    int m = j->g->nsp - 1;
    int64_t s = j->g->s[m], d = j->g->d[m], pb = j->g->pb[m];
    for (int64_t kw = 0; kw < j->g->k[m]; kw++) {
        int64_t lo = j->tap_lo[kw], n = j->tap_hi[kw] - lo;
        if (n <= 0) continue;
        const float *x = xr + lo * s + kw * d - pb; /* input of output column lo */
        if (j->kind == POOL_MAX) row_max(yr + lo, x, n, s);
        else row_sum(yr + lo, x, n, s);
    }
}

/* Divides (avg) or clears windows without input taps (max); outer_count is the tap count
 * over the axes before the last. */
static void row_finish(const row_job *j, float *yr, int64_t outer_count)
{
    int64_t ow = j->g->out[j->g->nsp - 1];
    if (j->kind == POOL_AVG) {
        for (int64_t i = 0; i < ow; i++) {
            int64_t n = outer_count * j->col_count[i];
            yr[i] = n > 0 ? yr[i] / (float)n : 0.0f;
        }
    } else if (j->empty_cols) {
        for (int64_t i = 0; i < ow; i++)
            if (j->col_count[i] == 0) yr[i] = 0.0f;
    }
}

/* Folds one input row into an input-width row (separable windows). */
static void row_merge(const row_job *j, float *acc, const float *xr)
{
    int64_t w = j->g->in[j->g->nsp - 1];
    if (j->kind == POOL_MAX) row_max(acc, xr, w, 1);
    else row_sum(acc, xr, w, 1);
}

/* Calls fn(j, dst, row) for the input row of every window tap on the axes before the
 * last (tap t of axis a in [lo[a], hi[a])). */
static void window_rows(const row_job *j, const float *xp, const int64_t *start, const int64_t *lo,
                        const int64_t *hi, void (*fn)(const row_job *, float *, const float *), float *dst)
{
    const pool_geom *g = j->g;
    int m = g->nsp - 1;
    int64_t t[POOL_MAX_SP];
    for (int a = 0; a < m; a++) t[a] = lo[a];
    for (;;) {
        int64_t off = 0;
        for (int a = 0; a < m; a++) off += (start[a] + t[a] * g->d[a]) * g->in_stride[a];
        fn(j, dst, xp + off);
        int a = m - 1;
        for (; a >= 0; a--) {
            if (++t[a] < hi[a]) break;
            t[a] = lo[a];
        }
        if (a < 0) break;
    }
}

#define SEPARABLE_MAX_W 2048

/* Output rows [begin, end) over all planes. A box window is separable: when it saves
 * work, the rows of the window are first combined at input width (sep), then the
 * kernel columns run once on that row. */
static void pool_rows_f32(void *arg, int64_t begin, int64_t end)
{
    const row_job *j = arg;
    const pool_geom *g = j->g;
    int m = g->nsp - 1;
    int64_t ow = g->out[m], w = g->in[m];
    float sep[SEPARABLE_MAX_W];
    float init = j->kind == POOL_MAX ? -INFINITY : 0.0f;
    for (int64_t item = begin; item < end; item++) {
        int64_t plane = item / j->rows, r = item % j->rows;
        const float *xp = j->x + plane * g->in_size;
        float *yr = j->y + plane * g->out_size + r * ow;
        int64_t start[POOL_MAX_SP], lo[POOL_MAX_SP], hi[POOL_MAX_SP];
        int64_t outer_count = 1, rows = 1;
        for (int a = m - 1; a >= 0; a--) {
            int64_t o = r % g->out[a], padded;
            r /= g->out[a];
            start[a] = axis_taps(g, a, o, &lo[a], &hi[a], &padded);
            outer_count *= j->count_pad ? padded : hi[a] - lo[a];
            rows *= hi[a] - lo[a];
        }
        if (rows == 0) { /* every window of the row lies in the padding */
            memset(yr, 0, (size_t)ow * sizeof(float));
            continue;
        }
        for (int64_t i = 0; i < ow; i++) yr[i] = init;
        if (rows > 1 && w <= SEPARABLE_MAX_W && rows * w + g->k[m] * ow < rows * g->k[m] * ow) {
            for (int64_t i = 0; i < w; i++) sep[i] = init;
            window_rows(j, xp, start, lo, hi, row_merge, sep);
            row_accumulate(j, yr, sep);
        } else {
            window_rows(j, xp, start, lo, hi, row_accumulate, yr);
        }
        row_finish(j, yr, outer_count);
    }
}

static int pool_f32(const lg_kctx *c, const pool_geom *g, pool_kind kind, bool count_pad)
{
    int m = g->nsp - 1;
    int64_t kw = g->k[m], ow = g->out[m];
    int64_t *buf = lg_alloc((size_t)(2 * kw + ow + 1) * sizeof(int64_t));
    if (!buf) return lg_error(LG_E_NOMEM, "out of memory for pooling tables");
    int64_t *tap_lo = buf, *tap_hi = buf + kw, *col_count = buf + 2 * kw;
    row_job j = { .g = g, .kind = kind, .count_pad = count_pad, .x = c->inputs[0]->data,
                  .y = c->outputs[0]->data, .tap_lo = tap_lo, .tap_hi = tap_hi, .col_count = col_count };
    /* Kernel column k covers the output columns i with 0 <= i*s + k*d - pb < in. */
    for (int64_t k = 0; k < kw; k++) {
        int64_t off = k * g->d[m] - g->pb[m];
        int64_t lo = off >= 0 ? 0 : (-off + g->s[m] - 1) / g->s[m];
        int64_t hi = g->in[m] - off <= 0 ? 0 : (g->in[m] - off - 1) / g->s[m] + 1;
        tap_lo[k] = lo < ow ? lo : ow;
        tap_hi[k] = hi < tap_lo[k] ? tap_lo[k] : (hi < ow ? hi : ow);
    }
    for (int64_t i = 0; i < ow; i++) {
        int64_t lo, hi, padded;
        axis_taps(g, m, i, &lo, &hi, &padded);
        col_count[i] = count_pad ? padded : hi - lo;
        j.empty_cols |= hi == lo;
    }
    j.rows = g->out_size / (ow > 0 ? ow : 1);
    int64_t items = ow > 0 ? g->planes * j.rows : 0;
    int64_t work = 1;
    for (int a = 0; a < g->nsp; a++) work *= g->k[a];
    int64_t per_item = ow * work;
    lg_parallel_for(c->pool, items, 1 + 16384 / (per_item > 0 ? per_item : 1), pool_rows_f32, &j);
    lg_free(buf);
    return LG_OK;
}

/* ---- windowed pooling: generic per-element path ---- */

typedef struct elem_job {
    const pool_geom *g;
    pool_kind kind;
    bool count_pad;
    double p;                     /* LpPool exponent */
    bool col_major;               /* Indices in column-major (storage_order 1) */
    const double *x;
    double *y;
    int64_t *indices;             /* MaxPool Indices, or NULL */
} elem_job;

/* Window value at output element e of plane. */
static void pool_one(const elem_job *j, int64_t plane, int64_t e)
{
    const pool_geom *g = j->g;
    int n = g->nsp;
    int64_t start[POOL_MAX_SP], lo[POOL_MAX_SP], hi[POOL_MAX_SP], t[POOL_MAX_SP], col_stride[POOL_MAX_SP];
    int64_t count = 1, r = e;
    bool empty = false;
    for (int a = n - 1; a >= 0; a--) {
        int64_t padded;
        start[a] = axis_taps(g, a, r % g->out[a], &lo[a], &hi[a], &padded);
        r /= g->out[a];
        count *= j->count_pad ? padded : hi[a] - lo[a];
        empty |= lo[a] == hi[a];
        t[a] = lo[a];
    }
    for (int a = 0; a < n; a++) col_stride[a] = a == 0 ? 1 : col_stride[a - 1] * g->in[a - 1];
    const double *xp = j->x + plane * g->in_size;
    double acc = 0.0;
    int64_t best = 0;
    bool seen = false;
    while (!empty) {
        int64_t off = 0;
        for (int a = 0; a < n; a++) off += (start[a] + t[a] * g->d[a]) * g->in_stride[a];
        double v = xp[off];
        if (j->kind == POOL_MAX) {
            if (!seen || v > acc) {
                acc = v;
                best = off;
                seen = true;
            }
        } else if (j->kind == POOL_AVG) {
            acc += v;
        } else {
            acc += pow(fabs(v), j->p);
        }
        int a = n - 1;
        for (; a >= 0; a--) {
            if (++t[a] < hi[a]) break;
            t[a] = lo[a];
        }
        if (a < 0) break;
    }
    int64_t out = plane * g->out_size + e;
    if (empty) acc = 0.0;
    else if (j->kind == POOL_AVG) acc = count > 0 ? acc / (double)count : 0.0;
    else if (j->kind == POOL_LP) acc = pow(acc, 1.0 / j->p);
    j->y[out] = acc;
    if (j->indices) {
        int64_t off = best, idx = 0;
        if (j->col_major) {
            for (int a = n - 1; a >= 0; a--) {
                idx += (off % g->in[a]) * col_stride[a];
                off /= g->in[a];
            }
        } else {
            idx = off;
        }
        j->indices[out] = plane * g->in_size + idx;
    }
}

static void pool_elems(void *arg, int64_t begin, int64_t end)
{
    const elem_job *j = arg;
    for (int64_t i = begin; i < end; i++) pool_one(j, i / j->g->out_size, i % j->g->out_size);
}

static int pool_generic(const lg_kctx *c, const pool_geom *g, elem_job *j)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    int64_t n = g->planes * g->out_size;
    j->g = g;
    j->x = to_doubles(x);
    if (!j->x) return LG_E_NOMEM;
    j->y = lg_alloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    if (!j->y) {
        lg_free((void *)j->x);
        return lg_error(LG_E_NOMEM, "out of memory for pooling output");
    }
    int64_t work = 1;
    for (int a = 0; a < g->nsp; a++) work *= g->k[a];
    lg_parallel_for(c->pool, n, 1 + 4096 / work, pool_elems, j);
    if (y) for (int64_t i = 0; i < n; i++) lg_tensor_set_f64(y, i, j->y[i]);
    lg_free((void *)j->x);
    lg_free(j->y);
    return LG_OK;
}

/* ---- MaxPool, AveragePool, LpPool ---- */

static int maxpool_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    pool_geom g;
    LG_CHECK(check_dtype(x, maxpool_types));
    LG_CHECK(pool_geom_init(c, x, c->opset >= 10, c->opset >= 10, &g));
    int64_t dims[LG_MAX_DIMS];
    pool_out_dims(x, &g, dims);
    LG_CHECK(lg_kout_shape(c, 0, x->dtype, x->ndim, dims));
    return lg_kout_shape(c, 1, LG_INT64, x->ndim, dims);
}

static int maxpool_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    pool_geom g;
    LG_CHECK(pool_geom_init(c, x, c->opset >= 10, c->opset >= 10, &g));
    lg_tensor *ind = c->n_outputs > 1 ? c->outputs[1] : NULL;
    if (x->dtype == LG_FLOAT && !ind) return pool_f32(c, &g, POOL_MAX, false);
    int64_t order = lg_attr_int(c->node, "storage_order", 0);
    if (order != 0 && order != 1)
        return lg_error(LG_E_INVALID_MODEL, "storage_order must be 0 or 1, got %lld", (long long)order);
    elem_job j = { .kind = POOL_MAX, .col_major = order == 1, .indices = ind ? ind->data : NULL };
    return pool_generic(c, &g, &j);
}

static int avgpool_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    pool_geom g;
    LG_CHECK(check_dtype(x, float_types));
    LG_CHECK(pool_geom_init(c, x, c->opset >= 10, c->opset >= 19, &g));
    int64_t dims[LG_MAX_DIMS];
    pool_out_dims(x, &g, dims);
    return lg_kout_shape(c, 0, x->dtype, x->ndim, dims);
}

static int avgpool_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    pool_geom g;
    LG_CHECK(pool_geom_init(c, x, c->opset >= 10, c->opset >= 19, &g));
    bool count_pad = c->opset >= 7 && lg_attr_int(c->node, "count_include_pad", 0) != 0;
    if (x->dtype == LG_FLOAT) return pool_f32(c, &g, POOL_AVG, count_pad);
    elem_job j = { .kind = POOL_AVG, .count_pad = count_pad };
    return pool_generic(c, &g, &j);
}

/* LpPool's p: a float attribute in opset 1, an int from opset 2. */
static int lp_exponent(const lg_kctx *c, double *p)
{
    const lg_attr *a = lg_node_attr(c->node, "p");
    *p = !a ? 2.0 : a->type == LG_ATTR_FLOAT ? (double)a->f : (double)a->i;
    if (!(*p > 0.0) || !isfinite(*p)) return lg_error(LG_E_INVALID_MODEL, "p must be positive, got %g", *p);
    return LG_OK;
}

static int lppool_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    pool_geom g;
    LG_CHECK(check_dtype(x, float_types));
    LG_CHECK(pool_geom_init(c, x, c->opset >= 18, c->opset >= 18, &g));
    int64_t dims[LG_MAX_DIMS];
    pool_out_dims(x, &g, dims);
    return lg_kout_shape(c, 0, x->dtype, x->ndim, dims);
}

static int lppool_exec(lg_kctx *c)
{
    pool_geom g;
    elem_job j = { .kind = POOL_LP };
    LG_CHECK(lp_exponent(c, &j.p));
    LG_CHECK(pool_geom_init(c, c->inputs[0], c->opset >= 18, c->opset >= 18, &g));
    return pool_generic(c, &g, &j);
}

/* ---- global pooling ---- */

typedef struct global_job {
    pool_kind kind;
    double p;
    int64_t size;                 /* elements per plane */
    const void *x;
    void *y;
} global_job;

static float plane_sum_f32(const float *x, int64_t n)
{
    float acc[8] = { 0 };
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += x[i + l];
    float s = 0.0f;
    for (; i < n; i++) s += x[i];
    for (int l = 0; l < 8; l++) s += acc[l];
    return s;
}

static float plane_max_f32(const float *x, int64_t n)
{
    float acc[8] = { -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY };
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] = x[i + l] > acc[l] ? x[i + l] : acc[l];
    float m = -INFINITY;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    for (int l = 0; l < 8; l++) m = acc[l] > m ? acc[l] : m;
    return m;
}

static void global_planes_f32(void *arg, int64_t begin, int64_t end)
{
    const global_job *j = arg;
    const float *x = j->x;
    float *y = j->y;
    for (int64_t p = begin; p < end; p++) {
        const float *xp = x + p * j->size;
        y[p] = j->kind == POOL_MAX ? plane_max_f32(xp, j->size) : plane_sum_f32(xp, j->size) / (float)j->size;
    }
}

static void global_planes_f64(void *arg, int64_t begin, int64_t end)
{
    const global_job *j = arg;
    const double *x = j->x;
    double *y = j->y;
    for (int64_t p = begin; p < end; p++) {
        const double *xp = x + p * j->size;
        double acc = j->kind == POOL_MAX ? -INFINITY : 0.0;
        for (int64_t i = 0; i < j->size; i++) {
            if (j->kind == POOL_MAX) acc = xp[i] > acc ? xp[i] : acc;
            else if (j->kind == POOL_AVG) acc += xp[i];
            else acc += pow(fabs(xp[i]), j->p);
        }
        if (j->kind == POOL_AVG) acc /= (double)j->size;
        else if (j->kind == POOL_LP) acc = pow(acc, 1.0 / j->p);
        y[p] = acc;
    }
}

static int global_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    const lg_dtype *allowed = strcmp(c->node->op_type, "GlobalMaxPool") == 0 ? maxpool_types : float_types;
    LG_CHECK(check_dtype(x, allowed));
    if (x->ndim < 2) return lg_error(LG_E_SHAPE, "input has rank %d, global pooling needs N and C", x->ndim);
    int64_t dims[LG_MAX_DIMS];
    for (int a = 0; a < x->ndim; a++) dims[a] = a < 2 ? x->dims[a] : 1;
    return lg_kout_shape(c, 0, x->dtype, x->ndim, dims);
}

static int global_exec(lg_kctx *c, pool_kind kind)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    int64_t planes = x->dims[0] * x->dims[1];
    global_job j = { .kind = kind, .size = planes > 0 ? lg_tensor_numel_(x) / planes : 0 };
    if (planes == 0) return LG_OK;
    if (j.size == 0 && kind == POOL_MAX) return lg_error(LG_E_SHAPE, "GlobalMaxPool over an empty spatial extent");
    if (kind == POOL_LP) LG_CHECK(lp_exponent(c, &j.p));
    int64_t chunk = 1 + 32768 / (j.size + 1);
    if (x->dtype == LG_FLOAT && kind != POOL_LP) {
        j.x = x->data;
        j.y = y->data;
        lg_parallel_for(c->pool, planes, chunk, global_planes_f32, &j);
        return LG_OK;
    }
    double *xd = to_doubles(x), *yd = lg_alloc((size_t)planes * sizeof(double));
    if (!xd || !yd) {
        lg_free(xd);
        lg_free(yd);
        return lg_error(LG_E_NOMEM, "out of memory for global pooling");
    }
    j.x = xd;
    j.y = yd;
    lg_parallel_for(c->pool, planes, chunk, global_planes_f64, &j);
    for (int64_t p = 0; p < planes; p++) lg_tensor_set_f64(y, p, yd[p]);
    lg_free(xd);
    lg_free(yd);
    return LG_OK;
}

static int global_max_exec(lg_kctx *c) { return global_exec(c, POOL_MAX); }
static int global_avg_exec(lg_kctx *c) { return global_exec(c, POOL_AVG); }
static int global_lp_exec(lg_kctx *c) { return global_exec(c, POOL_LP); }

/* ---- MaxUnpool ---- */

/* Default output shape: (in - 1) * stride + kernel - pads, per spatial axis. */
static int unpool_default_dims(const lg_kctx *c, const lg_tensor *x, int64_t *dims)
{
    int nsp = x->ndim - 2;
    int64_t k[POOL_MAX_SP], s[POOL_MAX_SP], pads[2 * POOL_MAX_SP];
    if (nsp < 1) return lg_error(LG_E_SHAPE, "input has rank %d, MaxUnpool needs N, C and spatial axes", x->ndim);
    int kcnt = 0;
    if (!lg_attr_ints(c->node, "kernel_shape", &kcnt))
        return lg_error(LG_E_INVALID_MODEL, "kernel_shape attribute is required");
    LG_CHECK(read_axis_ints(c->node, "kernel_shape", nsp, 1, 1, k));
    LG_CHECK(read_axis_ints(c->node, "strides", nsp, 1, 1, s));
    LG_CHECK(read_axis_ints(c->node, "pads", 2 * nsp, 0, 0, pads));
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int a = 0; a < nsp; a++) {
        int64_t n = (x->dims[a + 2] - 1) * s[a] + k[a] - pads[a] - pads[a + nsp];
        if (x->dims[a + 2] == 0) n = 0;
        if (n < 0) return lg_error(LG_E_SHAPE, "MaxUnpool: negative output size on spatial axis %d", a);
        dims[a + 2] = n;
    }
    return LG_OK;
}

/* Output shape: the output_shape input when given, else the default one. */
static int unpool_dims(const lg_kctx *c, int64_t *deflt, int64_t *dims)
{
    const lg_tensor *x = c->inputs[0], *shape = lg_kin(c, 2);
    LG_CHECK(unpool_default_dims(c, x, deflt));
    if (!shape) {
        memcpy(dims, deflt, (size_t)x->ndim * sizeof(int64_t));
        return LG_OK;
    }
    if (shape->dtype != LG_INT64 || lg_tensor_numel_(shape) != x->ndim)
        return lg_error(LG_E_SHAPE, "output_shape must be int64 with %d values", x->ndim);
    for (int a = 0; a < x->ndim; a++) {
        dims[a] = ((const int64_t *)shape->data)[a];
        if (dims[a] < deflt[a])
            return lg_error(LG_E_SHAPE, "output_shape[%d] = %lld is smaller than the unpooled size %lld", a,
                            (long long)dims[a], (long long)deflt[a]);
    }
    return LG_OK;
}

static int maxunpool_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *ind = c->inputs[1];
    if (!lg_dims_equal(x->ndim, x->dims, ind->ndim, ind->dims))
        return lg_error(LG_E_SHAPE, "indices shape differs from the input shape");
    LG_KNEED_DATA(c, 2);
    int64_t deflt[LG_MAX_DIMS], dims[LG_MAX_DIMS];
    LG_CHECK(unpool_dims(c, deflt, dims));
    return lg_kout_shape(c, 0, x->dtype, x->ndim, dims);
}

/* Indices address the default-shaped output; a larger output_shape holds it in its
 * leading corner. */
static int maxunpool_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *ind = c->inputs[1];
    lg_tensor *y = c->outputs[0];
    int64_t deflt[LG_MAX_DIMS], dims[LG_MAX_DIMS], ystride[LG_MAX_DIMS];
    LG_CHECK(unpool_dims(c, deflt, dims));
    lg_strides(x->ndim, dims, ystride);
    int64_t total = lg_dims_numel(x->ndim, deflt), n = lg_tensor_numel_(x);
    size_t es = lg_dtype_size(x->dtype);
    for (int64_t i = 0; i < n; i++) {
        int64_t idx = lg_tensor_get_i64(ind, i);
        if (idx < 0 || idx >= total)
            return lg_error(LG_E_RUNTIME, "index %lld out of range [0, %lld)", (long long)idx, (long long)total);
        int64_t off = 0;
        for (int a = x->ndim - 1; a >= 0; a--) {
            off += (idx % deflt[a]) * ystride[a];
            idx /= deflt[a];
        }
        memcpy((char *)y->data + off * es, (const char *)x->data + i * es, es);
    }
    return LG_OK;
}

/* ---- MaxRoiPool ---- */

static int maxroipool_shape(const lg_kctx *c, int64_t *dims)
{
    const lg_tensor *x = c->inputs[0], *rois = c->inputs[1];
    int cnt = 0;
    const int64_t *ps = lg_attr_ints(c->node, "pooled_shape", &cnt);
    if (!ps || cnt != 2 || ps[0] < 1 || ps[1] < 1 || ps[0] > POOL_ATTR_LIMIT || ps[1] > POOL_ATTR_LIMIT)
        return lg_error(LG_E_INVALID_MODEL, "pooled_shape must hold two positive values");
    if (x->ndim != 4) return lg_error(LG_E_SHAPE, "input must be 4-D (N, C, H, W), got rank %d", x->ndim);
    if (rois->ndim != 2 || rois->dims[1] != 5)
        return lg_error(LG_E_SHAPE, "rois must have shape (num_rois, 5)");
    dims[0] = rois->dims[0];
    dims[1] = x->dims[1];
    dims[2] = ps[0];
    dims[3] = ps[1];
    return LG_OK;
}

static int maxroipool_infer(lg_kctx *c)
{
    int64_t dims[4];
    LG_CHECK(check_dtype(c->inputs[0], float_types));
    LG_CHECK(maxroipool_shape(c, dims));
    return lg_kout_shape(c, 0, c->inputs[0]->dtype, 4, dims);
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Max of plane over rows [h0, h1) and columns [w0, w1); 0 when empty. */
static double region_max(const double *plane, int64_t w, int64_t h0, int64_t h1, int64_t w0, int64_t w1)
{
    if (h1 <= h0 || w1 <= w0) return 0.0;
    double m = -INFINITY;
    for (int64_t i = h0; i < h1; i++)
        for (int64_t k = w0; k < w1; k++) m = plane[i * w + k] > m ? plane[i * w + k] : m;
    return m;
}

static int maxroipool_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *rois = c->inputs[1];
    lg_tensor *y = c->outputs[0];
    int64_t dims[4];
    LG_CHECK(maxroipool_shape(c, dims));
    double scale = lg_attr_float(c->node, "spatial_scale", 1.0f);
    int64_t n = x->dims[0], ch = x->dims[1], h = x->dims[2], w = x->dims[3], ph = dims[2], pw = dims[3];
    double *xd = to_doubles(x);
    if (!xd) return LG_E_NOMEM;
    int64_t o = 0;
    for (int64_t r = 0; r < dims[0]; r++) {
        double v[5];
        for (int i = 0; i < 5; i++) v[i] = lg_tensor_get_f64(rois, r * 5 + i);
        if (!(v[0] >= 0 && v[0] < (double)n)) {
            lg_free(xd);
            return lg_error(LG_E_RUNTIME, "roi %lld: batch index %g out of range [0, %lld)", (long long)r, v[0], (long long)n);
        }
        int64_t b = (int64_t)v[0];
        int64_t x0 = (int64_t)round(v[1] * scale), y0 = (int64_t)round(v[2] * scale);
        int64_t x1 = (int64_t)round(v[3] * scale), y1 = (int64_t)round(v[4] * scale);
        double bin_h = (double)(y1 - y0 + 1 > 1 ? y1 - y0 + 1 : 1) / (double)ph;
        double bin_w = (double)(x1 - x0 + 1 > 1 ? x1 - x0 + 1 : 1) / (double)pw;
        for (int64_t k = 0; k < ch; k++) {
            const double *plane = xd + (b * ch + k) * h * w;
            for (int64_t i = 0; i < ph; i++) {
                int64_t h0 = clamp64((int64_t)floor((double)i * bin_h) + y0, 0, h);
                int64_t h1 = clamp64((int64_t)ceil((double)(i + 1) * bin_h) + y0, 0, h);
                for (int64_t jw = 0; jw < pw; jw++) {
                    int64_t w0 = clamp64((int64_t)floor((double)jw * bin_w) + x0, 0, w);
                    int64_t w1 = clamp64((int64_t)ceil((double)(jw + 1) * bin_w) + x0, 0, w);
                    lg_tensor_set_f64(y, o++, region_max(plane, w, h0, h1, w0, w1));
                }
            }
        }
    }
    lg_free(xd);
    return LG_OK;
}

const lg_op_def lg_ops_pool[] = {
    { "MaxPool", "", 1, 27, maxpool_infer, maxpool_exec, NULL, NULL },
    { "AveragePool", "", 1, 27, avgpool_infer, avgpool_exec, NULL, NULL },
    { "LpPool", "", 1, 27, lppool_infer, lppool_exec, NULL, NULL },
    { "GlobalMaxPool", "", 1, 27, global_infer, global_max_exec, NULL, NULL },
    { "GlobalAveragePool", "", 1, 27, global_infer, global_avg_exec, NULL, NULL },
    { "GlobalLpPool", "", 1, 27, global_infer, global_lp_exec, NULL, NULL },
    { "MaxUnpool", "", 9, 27, maxunpool_infer, maxunpool_exec, NULL, NULL },
    { "MaxRoiPool", "", 1, 27, maxroipool_infer, maxroipool_exec, NULL, NULL },
    { NULL }
};
