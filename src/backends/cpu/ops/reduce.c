/*
 * reduce.c: reductions and the ops that work along one axis: ReduceSum, ReduceMean,
 * ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp,
 * ReduceSumSquare, ArgMax, ArgMin, Softmax, LogSoftmax, Hardmax, CumSum, CumProd,
 * LpNormalization.
 *
 * Every op sees its input as [outer, n, inner] around the axis it works along; reduced
 * axes that are not adjacent are first gathered to the end ([kept, reduced]). Values are
 * computed in a work type so one kernel serves many dtypes and integers stay exact:
 * float for float/float16/bfloat16, double, int64 for signed and uint64 for unsigned
 * integers. Work is split into units of (outer index, block of inner) run in parallel.
 * Float32 reductions and softmax use the AVX2 kernels of reduce_avx2.c (along rows when
 * inner == 1, down columns otherwise) when the CPU has them.
 */
#include <math.h>
#include <stdlib.h>

#include "backends/cpu/ops/reduce_avx2.h"
#include "base/cpu.h"
#include "runtime/kernel.h"

/* ---- work types ---------------------------------------------------------------- */

typedef enum work_t { W_F32, W_F64, W_I64, W_U64 } work_t;

static const lg_dtype work_native[] = { LG_FLOAT, LG_DOUBLE, LG_INT64, LG_UINT64 };
static const size_t work_size[] = { 4, 8, 8, 8 };

static bool work_of(lg_dtype dt, work_t *w)
{
    switch (dt) {
    case LG_FLOAT: case LG_FLOAT16: case LG_BFLOAT16: *w = W_F32; return true;
    case LG_DOUBLE: *w = W_F64; return true;
    case LG_INT8: case LG_INT16: case LG_INT32: case LG_INT64: *w = W_I64; return true;
    case LG_UINT8: case LG_UINT16: case LG_UINT32: case LG_UINT64: *w = W_U64; return true;
    default: return false;
    }
}

static inline uint16_t to_half(double v) { return lg_float_to_half((float)v); }
static inline uint16_t to_bf16(double v) { return lg_float_to_bf16((float)v); }

#define CONVERT(D, S, FN) \
    for (int64_t i = 0; i < n; i++) ((D *)dst)[i] = (D)FN(((const S *)src)[i])

#define CONVERT_FROM_ANY(D) \
    switch (dt) { \
    case LG_FLOAT: CONVERT(D, float, ); break; \
    case LG_DOUBLE: CONVERT(D, double, ); break; \
    case LG_INT8: CONVERT(D, int8_t, ); break; \
    case LG_INT16: CONVERT(D, int16_t, ); break; \
    case LG_INT32: CONVERT(D, int32_t, ); break; \
    case LG_INT64: CONVERT(D, int64_t, ); break; \
    case LG_UINT8: case LG_BOOL: CONVERT(D, uint8_t, ); break; \
    case LG_UINT16: CONVERT(D, uint16_t, ); break; \
    case LG_UINT32: CONVERT(D, uint32_t, ); break; \
    case LG_UINT64: CONVERT(D, uint64_t, ); break; \
    case LG_FLOAT16: CONVERT(D, uint16_t, lg_half_to_float); break; \
    case LG_BFLOAT16: CONVERT(D, uint16_t, lg_bf16_to_float); break; \
    default: break; \
    }

#define CONVERT_TO_ANY(S) \
    switch (dt) { \
    case LG_FLOAT: CONVERT(float, S, ); break; \
    case LG_DOUBLE: CONVERT(double, S, ); break; \
    case LG_INT8: CONVERT(int8_t, S, ); break; \
    case LG_INT16: CONVERT(int16_t, S, ); break; \
    case LG_INT32: CONVERT(int32_t, S, ); break; \
    case LG_INT64: CONVERT(int64_t, S, ); break; \
    case LG_UINT8: case LG_BOOL: CONVERT(uint8_t, S, ); break; \
    case LG_UINT16: CONVERT(uint16_t, S, ); break; \
    case LG_UINT32: CONVERT(uint32_t, S, ); break; \
    case LG_UINT64: CONVERT(uint64_t, S, ); break; \
    case LG_FLOAT16: CONVERT(uint16_t, S, to_half); break; \
    case LG_BFLOAT16: CONVERT(uint16_t, S, to_bf16); break; \
    default: break; \
    }

/* n elements of dtype dt at src into the work type w at dst. */
static void load_work(work_t w, void *dst, const void *src, lg_dtype dt, int64_t n)
{
    switch (w) {
    case W_F32: CONVERT_FROM_ANY(float) break;
    case W_F64: CONVERT_FROM_ANY(double) break;
    case W_I64: CONVERT_FROM_ANY(int64_t) break;
    case W_U64: CONVERT_FROM_ANY(uint64_t) break;
    }
}

/* n work values at src into dtype dt at dst. */
static void store_work(work_t w, void *dst, const void *src, lg_dtype dt, int64_t n)
{
    switch (w) {
    case W_F32: CONVERT_TO_ANY(float) break;
    case W_F64: CONVERT_TO_ANY(double) break;
    case W_I64: CONVERT_TO_ANY(int64_t) break;
    case W_U64: CONVERT_TO_ANY(uint64_t) break;
    }
}

/* t's data in work type w: t's own data when it already is, else a new copy in *owned. */
static int work_in(const lg_tensor *t, work_t w, const void **data, void **owned)
{
    *owned = NULL;
    if (t->dtype == work_native[w]) {
        *data = t->data;
        return LG_OK;
    }
    int64_t n = lg_tensor_numel_(t);
    void *buf = lg_alloc((size_t)(n > 0 ? n : 1) * work_size[w]);
    if (!buf) return lg_error(LG_E_NOMEM, "no memory for %lld work values", (long long)n);
    load_work(w, buf, t->data, t->dtype, n);
    *data = *owned = buf;
    return LG_OK;
}

/* Where results for output t go: its data when it has the work type, else a buffer
 * that work_out_done converts into t and frees. */
static int work_out(lg_tensor *t, work_t w, void **data, void **owned)
{
    *owned = NULL;
    if (t->dtype == work_native[w]) {
        *data = t->data;
        return LG_OK;
    }
    int64_t n = lg_tensor_numel_(t);
    void *buf = lg_calloc((size_t)(n > 0 ? n : 1) * work_size[w]);
    if (!buf) return lg_error(LG_E_NOMEM, "no memory for %lld work values", (long long)n);
    *data = *owned = buf;
    return LG_OK;
}

static void work_out_done(lg_tensor *t, work_t w, void *owned)
{
    if (!owned) return;
    store_work(w, t->data, owned, t->dtype, lg_tensor_numel_(t));
    lg_free(owned);
}

/* ---- [outer, n, inner] views and units ------------------------------------------ */

typedef struct axis_view {
    int64_t outer, n, inner;
} axis_view;

#define BLOCK 128

static axis_view view_around(const lg_tensor *x, int axis)
{
    axis_view v = { 1, x->ndim ? x->dims[axis] : 1, 1 };
    for (int k = 0; k < axis; k++) v.outer *= x->dims[k];
    for (int k = axis + 1; k < x->ndim; k++) v.inner *= x->dims[k];
    return v;
}

static inline int64_t inner_blocks(const axis_view *v) { return (v->inner + BLOCK - 1) / BLOCK; }

/* Unit u covers outer index *o and inner elements [*i0, *i0 + *bi). */
static inline void unit_span(const axis_view *v, int64_t u, int64_t *o, int64_t *i0, int64_t *bi)
{
    int64_t nb = inner_blocks(v);
    *o = u / nb;
    *i0 = (u % nb) * BLOCK;
    *bi = v->inner - *i0 < BLOCK ? v->inner - *i0 : BLOCK;
}

/* Runs fn over every unit of v, in parallel when there is enough work. */
static void run_units(lg_kctx *c, const axis_view *v, lg_range_fn fn, void *job)
{
    int64_t units = v->outer * inner_blocks(v);
    int64_t per_unit = (v->n > 0 ? v->n : 1) * (v->inner < BLOCK ? v->inner : BLOCK);
    int64_t grain = per_unit >= 16384 ? 1 : 16384 / per_unit;
    lg_parallel_for(c->pool, units, grain, fn, job);
}

/* ---- Reduce* ----------------------------------------------------------------------- */

typedef enum { CORE_SUM, CORE_PROD, CORE_MAX, CORE_MIN } core_op;
typedef enum { PRE_NONE, PRE_ABS, PRE_SQUARE, PRE_EXP } pre_op;
typedef enum { POST_NONE, POST_MEAN, POST_SQRT, POST_LOG } post_op;

typedef struct reduce_kind {
    const char *name;
    core_op core;
    pre_op pre;
    post_op post;
} reduce_kind;

static const reduce_kind reduce_kinds[] = {
    { "ReduceSum", CORE_SUM, PRE_NONE, POST_NONE },
    { "ReduceMean", CORE_SUM, PRE_NONE, POST_MEAN },
    { "ReduceMax", CORE_MAX, PRE_NONE, POST_NONE },
    { "ReduceMin", CORE_MIN, PRE_NONE, POST_NONE },
    { "ReduceProd", CORE_PROD, PRE_NONE, POST_NONE },
    { "ReduceL1", CORE_SUM, PRE_ABS, POST_NONE },
    { "ReduceL2", CORE_SUM, PRE_SQUARE, POST_SQRT },
    { "ReduceLogSum", CORE_SUM, PRE_NONE, POST_LOG },
    { "ReduceLogSumExp", CORE_SUM, PRE_EXP, POST_LOG },
    { "ReduceSumSquare", CORE_SUM, PRE_SQUARE, POST_NONE },
};

static const reduce_kind *reduce_kind_of(const lg_node *node)
{
    for (size_t i = 0; i < sizeof(reduce_kinds) / sizeof(reduce_kinds[0]); i++)
        if (strcmp(reduce_kinds[i].name, node->op_type) == 0) return &reduce_kinds[i];
    return NULL;
}

/* The work type of a reduction: integers stay integers unless the op takes a root,
 * a log or an exp (then double, cast back at the end). */
static bool reduce_work(const reduce_kind *k, lg_dtype dt, work_t *w)
{
    if (dt == LG_BOOL && (!strcmp(k->name, "ReduceMax") || !strcmp(k->name, "ReduceMin"))) { /* opset 20 */
        *w = W_U64;
        return true;
    }
    if (!work_of(dt, w)) return false;
    if ((*w == W_I64 || *w == W_U64) && (k->pre == PRE_EXP || k->post == POST_SQRT || k->post == POST_LOG))
        *w = W_F64;
    return true;
}

/* Marks the reduced axes in mask; *noop when the op must copy its input (ReduceSum 13
 * or any reduction from opset 18, with empty axes and noop_with_empty_axes). */
static int reduce_axes(lg_kctx *c, int rank, bool *mask, bool *noop)
{
    int64_t list[LG_MAX_DIMS];
    int count = 0;
    *noop = false;
    /* axes became an input in ReduceSum 13 and in the other reductions at opset 18 */
    bool from_input = c->opset >= (strcmp(c->node->op_type, "ReduceSum") == 0 ? 13 : 18);
    if (from_input) {
        const lg_tensor *axes = lg_kin(c, 1);
        if (axes) {
            LG_KNEED_DATA(c, 1);
            int64_t n = lg_tensor_numel_(axes);
            if (n > rank)
                return lg_error(LG_E_INVALID_MODEL, "%lld axes for an input of rank %d", (long long)n, rank);
            if (axes->dtype != LG_INT64 && axes->dtype != LG_INT32)
                return lg_error(LG_E_INVALID_MODEL, "axes must be int64, not %s", lg_dtype_name(axes->dtype));
            for (int64_t i = 0; i < n; i++) list[count++] = lg_tensor_get_i64(axes, i);
        }
        if (count == 0 && lg_attr_int(c->node, "noop_with_empty_axes", 0)) *noop = true;
    } else {
        int n = 0;
        const int64_t *a = lg_attr_ints(c->node, "axes", &n);
        if (n > rank)
            return lg_error(LG_E_INVALID_MODEL, "%d axes for an input of rank %d", n, rank);
        for (int i = 0; i < n; i++) list[count++] = a[i];
    }
    for (int k = 0; k < rank; k++) mask[k] = count == 0;
    for (int i = 0; i < count; i++) {
        int ax;
        LG_CHECK(lg_norm_axis(list[i], rank, &ax));
        if (mask[ax]) return lg_error(LG_E_INVALID_MODEL, "axis %lld appears twice in axes", (long long)list[i]);
        mask[ax] = true;
    }
    return LG_OK;
}

static int reduce_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    const reduce_kind *k = reduce_kind_of(c->node);
    work_t w;
    if (!k) return lg_error(LG_E_UNSUPPORTED, "unknown reduction %s", c->node->op_type);
    if (!reduce_work(k, x->dtype, &w))
        return lg_error(LG_E_UNSUPPORTED, "%s of %s", k->name, lg_dtype_name(x->dtype));
    bool mask[LG_MAX_DIMS], noop;
    LG_CHECK(reduce_axes(c, x->ndim, mask, &noop));
    if (noop) return lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims);
    bool keep = lg_attr_int(c->node, "keepdims", 1) != 0;
    int64_t dims[LG_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (!mask[i]) dims[nd++] = x->dims[i];
        else if (keep) dims[nd++] = 1;
    }
    return lg_kout_shape(c, 0, x->dtype, nd, dims);
}

/* Dims merged into runs of reduced / kept axes (size-1 axes dropped). */
typedef struct axis_runs {
    int n;
    int64_t size[LG_MAX_DIMS];
    bool reduced[LG_MAX_DIMS];
} axis_runs;

static axis_runs merge_runs(const lg_tensor *x, const bool *mask)
{
    axis_runs r = { 0 };
    for (int i = 0; i < x->ndim; i++) {
        if (x->dims[i] == 1) continue;
        if (r.n > 0 && r.reduced[r.n - 1] == mask[i]) {
            r.size[r.n - 1] *= x->dims[i];
        } else {
            r.size[r.n] = x->dims[i];
            r.reduced[r.n++] = mask[i];
        }
    }
    return r;
}

/* Copies src (runs r, elements of es bytes) into dst with the kept runs first, then the
 * reduced ones, each group in its original order. */
static void gather_reduced_last(const void *src, void *dst, size_t es, const axis_runs *r)
{
    int order[LG_MAX_DIMS], n = 0;
    int64_t stride[LG_MAX_DIMS], dims[LG_MAX_DIMS], src_stride[LG_MAX_DIMS], idx[LG_MAX_DIMS] = { 0 };
    lg_strides(r->n, r->size, src_stride);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < r->n; i++)
            if (r->reduced[i] == (pass == 1)) order[n++] = i;
    for (int i = 0; i < n; i++) {
        dims[i] = r->size[order[i]];
        stride[i] = src_stride[order[i]];
    }
    int64_t total = lg_dims_numel(n, dims), off = 0;
    const char *s = src;
    char *d = dst;
    for (int64_t j = 0; j < total; j++) {
        memcpy(d + (size_t)j * es, s + (size_t)off * es, es);
        for (int k = n - 1; k >= 0; k--) {
            off += stride[k];
            if (++idx[k] < dims[k]) break;
            off -= stride[k] * dims[k];
            idx[k] = 0;
        }
    }
}

typedef struct reduce_job {
    const reduce_kind *k;
    axis_view v;
    const void *x;
    void *y;
    double ident_f;     /* start value of the accumulator, float work types */
    int64_t ident_i;    /* int64 */
    uint64_t ident_u;   /* uint64 */
} reduce_job;

/* Integer arithmetic that wraps (numpy's behaviour) without signed overflow. */
#define WRAP_ADD(a, b) ((__typeof__(a))((uint64_t)(a) + (uint64_t)(b)))
#define WRAP_MUL(a, b) ((__typeof__(a))((uint64_t)(a) * (uint64_t)(b)))
#define FLT_ADD(a, b) ((a) + (b))
#define FLT_MUL(a, b) ((a) * (b))
#define ABS_F32(v) fabsf(v)
#define ABS_F64(v) fabs(v)
#define ABS_I64(v) ((v) < 0 ? WRAP_MUL((v), -1) : (v))
#define ABS_U64(v) (v)

/* Accumulates all n rows of a unit: STMT updates acc[q] from the value val. */
#define ACC_LOOP(T, STMT) \
    for (int64_t k = 0; k < v->n; k++) { \
        const T *row = xo + k * v->inner; \
        for (int64_t q = 0; q < bi; q++) { \
            T val = row[q]; \
            STMT; \
        } \
    }

#define DEF_REDUCE_UNITS(SFX, T, IDENT, ADD, MUL, ABS, EMPTY_MEAN) \
    static void reduce_units_##SFX(void *arg, int64_t begin, int64_t end) \
    { \
        const reduce_job *j = arg; \
        const axis_view *v = &j->v; \
        const reduce_kind *rk = j->k; \
        T acc[BLOCK]; \
        double shift[BLOCK]; \
        for (int64_t u = begin; u < end; u++) { \
            int64_t o, i0, bi; \
            unit_span(v, u, &o, &i0, &bi); \
            const T *xo = (const T *)j->x + o * v->n * v->inner + i0; \
            T *yo = (T *)j->y + o * v->inner + i0; \
            for (int64_t b = 0; b < bi; b++) acc[b] = (T)j->IDENT; \
            if (rk->pre == PRE_EXP) { \
                for (int64_t b = 0; b < bi; b++) shift[b] = -INFINITY; \
                ACC_LOOP(T, shift[q] = (double)val > shift[q] ? (double)val : shift[q]); \
                for (int64_t b = 0; b < bi; b++) shift[b] = isfinite(shift[b]) ? shift[b] : 0; \
            } \
            switch (rk->core) { \
            case CORE_SUM: \
                if (rk->pre == PRE_NONE) ACC_LOOP(T, acc[q] = ADD(acc[q], val)); \
                if (rk->pre == PRE_ABS) ACC_LOOP(T, acc[q] = ADD(acc[q], ABS(val))); \
                if (rk->pre == PRE_SQUARE) ACC_LOOP(T, acc[q] = ADD(acc[q], MUL(val, val))); \
                if (rk->pre == PRE_EXP) ACC_LOOP(T, acc[q] = (T)((double)acc[q] + exp((double)val - shift[q]))); \
                break; \
            case CORE_PROD: ACC_LOOP(T, acc[q] = MUL(acc[q], val)); break; \
            case CORE_MAX: ACC_LOOP(T, acc[q] = val > acc[q] ? val : acc[q]); break; \
            case CORE_MIN: ACC_LOOP(T, acc[q] = val < acc[q] ? val : acc[q]); break; \
            } \
            for (int64_t b = 0; b < bi; b++) { \
                switch (rk->post) { \
                case POST_NONE: yo[b] = acc[b]; break; \
                case POST_MEAN: yo[b] = v->n ? (T)(acc[b] / (T)v->n) : (T)EMPTY_MEAN; break; \
                case POST_SQRT: yo[b] = (T)sqrt((double)acc[b]); break; \
                case POST_LOG: yo[b] = (T)(log((double)acc[b]) + (rk->pre == PRE_EXP ? shift[b] : 0)); break; \
                } \
            } \
        } \
    }

DEF_REDUCE_UNITS(f32, float, ident_f, FLT_ADD, FLT_MUL, ABS_F32, NAN)
DEF_REDUCE_UNITS(f64, double, ident_f, FLT_ADD, FLT_MUL, ABS_F64, NAN)
DEF_REDUCE_UNITS(i64, int64_t, ident_i, WRAP_ADD, WRAP_MUL, ABS_I64, 0)
DEF_REDUCE_UNITS(u64, uint64_t, ident_u, WRAP_ADD, WRAP_MUL, ABS_U64, 0)

/* Portable float32 row kernels, used without AVX2. */
static float row_sum_ref(const float *x, int64_t n)
{
    float a[8] = { 0 }, s = 0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) a[l] += x[i + l];
    for (; i < n; i++) s += x[i];
    return s + ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

static float row_sumsq_ref(const float *x, int64_t n)
{
    float a[8] = { 0 }, s = 0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) a[l] += x[i + l] * x[i + l];
    for (; i < n; i++) s += x[i] * x[i];
    return s + ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

static float row_sumabs_ref(const float *x, int64_t n)
{
    float a[8] = { 0 }, s = 0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) a[l] += fabsf(x[i + l]);
    for (; i < n; i++) s += fabsf(x[i]);
    return s + ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

static float row_max_ref(const float *x, int64_t n)
{
    float m = -INFINITY;
    for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

static float row_min_ref(const float *x, int64_t n)
{
    float m = INFINITY;
    for (int64_t i = 0; i < n; i++) m = x[i] < m ? x[i] : m;
    return m;
}

static float row_expsum_ref(const float *x, float *y, int64_t n, float m)
{
    float s = 0;
    for (int64_t i = 0; i < n; i++) {
        y[i] = expf(x[i] - m);
        s += y[i];
    }
    return s;
}

typedef float (*row_fn)(const float *x, int64_t n);

static bool use_avx2(void) { return lg_cpu()->avx2 && lg_cpu()->fma; }

static float row_max(const float *x, int64_t n)
{
    return use_avx2() ? lg_reduce_max_f32_avx2(x, n) : row_max_ref(x, n);
}

static float row_expsum(const float *x, float *y, int64_t n, float m)
{
    return use_avx2() ? lg_reduce_expsum_f32_avx2(x, y, n, m) : row_expsum_ref(x, y, n, m);
}

/* The float32 row kernel for a reduction, or NULL when it has none. */
static row_fn row_kernel(const reduce_kind *k)
{
    bool simd = use_avx2();
    if (k->core == CORE_MAX) return simd ? lg_reduce_max_f32_avx2 : row_max_ref;
    if (k->core == CORE_MIN) return simd ? lg_reduce_min_f32_avx2 : row_min_ref;
    if (k->core != CORE_SUM) return NULL;
    switch (k->pre) {
    case PRE_NONE: return simd ? lg_reduce_sum_f32_avx2 : row_sum_ref;
    case PRE_SQUARE: return simd ? lg_reduce_sumsq_f32_avx2 : row_sumsq_ref;
    case PRE_ABS: return simd ? lg_reduce_sumabs_f32_avx2 : row_sumabs_ref;
    default: return NULL;
    }
}

typedef struct row_job {
    const reduce_job *j;
    row_fn fn;
} row_job;

static float post_f32(const reduce_kind *k, float a, int64_t n)
{
    switch (k->post) {
    case POST_NONE: return a;
    case POST_MEAN: return n ? a / (float)n : NAN;
    case POST_SQRT: return sqrtf(a);
    case POST_LOG: return logf(a);
    }
    return a;
}

static void reduce_rows_f32(void *arg, int64_t begin, int64_t end)
{
    const row_job *r = arg;
    const reduce_job *j = r->j;
    int64_t n = j->v.n;
    const float *x = j->x;
    float *y = j->y;
    for (int64_t o = begin; o < end; o++) y[o] = post_f32(j->k, r->fn(x + o * n, n), n);
}

/* The op code of lg_reduce_cols_f32_avx2 for a reduction, or -1. */
static int cols_op(const reduce_kind *k)
{
    switch (k->core) {
    case CORE_SUM: return k->pre == PRE_NONE ? 0 : k->pre == PRE_SQUARE ? 1 : k->pre == PRE_ABS ? 2 : -1;
    case CORE_MAX: return 3;
    case CORE_MIN: return 4;
    case CORE_PROD: return 5;
    }
    return -1;
}

/* Float32 units with inner > 1 on AVX2: whole rows of a block at a time. */
static void reduce_cols_f32(void *arg, int64_t begin, int64_t end)
{
    const reduce_job *j = arg;
    const axis_view *v = &j->v;
    int op = cols_op(j->k);
    float acc[BLOCK];
    for (int64_t u = begin; u < end; u++) {
        int64_t o, i0, bi;
        unit_span(v, u, &o, &i0, &bi);
        const float *xo = (const float *)j->x + o * v->n * v->inner + i0;
        float *yo = (float *)j->y + o * v->inner + i0;
        for (int64_t b = 0; b < bi; b++) acc[b] = (float)j->ident_f;
        lg_reduce_cols_f32_avx2(xo, v->n, v->inner, acc, bi, op);
        for (int64_t b = 0; b < bi; b++) yo[b] = post_f32(j->k, acc[b], v->n);
    }
}

/* Smallest and largest value of an integer dtype. */
static void int_range(lg_dtype dt, int64_t *lo, uint64_t *hi)
{
    switch (dt) {
    case LG_INT8: *lo = INT8_MIN; *hi = INT8_MAX; break;
    case LG_INT16: *lo = INT16_MIN; *hi = INT16_MAX; break;
    case LG_INT32: *lo = INT32_MIN; *hi = INT32_MAX; break;
    case LG_UINT8: *lo = 0; *hi = UINT8_MAX; break;
    case LG_BOOL: *lo = 0; *hi = 1; break;
    case LG_UINT16: *lo = 0; *hi = UINT16_MAX; break;
    case LG_UINT32: *lo = 0; *hi = UINT32_MAX; break;
    case LG_UINT64: *lo = 0; *hi = UINT64_MAX; break;
    default: *lo = INT64_MIN; *hi = INT64_MAX; break;
    }
}

static void set_identity(reduce_job *j, lg_dtype dt)
{
    int64_t lo;
    uint64_t hi;
    int_range(dt, &lo, &hi);
    switch (j->k->core) {
    case CORE_SUM: j->ident_f = 0; j->ident_i = 0; j->ident_u = 0; break;
    case CORE_PROD: j->ident_f = 1; j->ident_i = 1; j->ident_u = 1; break;
    case CORE_MAX: j->ident_f = -INFINITY; j->ident_i = lo; j->ident_u = 0; break;
    case CORE_MIN: j->ident_f = INFINITY; j->ident_i = (int64_t)hi; j->ident_u = hi; break;
    }
}

static void reduce_run(lg_kctx *c, reduce_job *j, work_t w)
{
    static const lg_range_fn units[] = { reduce_units_f32, reduce_units_f64, reduce_units_i64, reduce_units_u64 };
    row_fn fn = w == W_F32 && j->v.inner == 1 ? row_kernel(j->k) : NULL;
    if (fn) {
        row_job r = { j, fn };
        run_units(c, &j->v, reduce_rows_f32, &r);
    } else if (w == W_F32 && use_avx2() && cols_op(j->k) >= 0) {
        run_units(c, &j->v, reduce_cols_f32, j);
    } else {
        run_units(c, &j->v, units[w], j);
    }
}

static int reduce_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    const reduce_kind *k = reduce_kind_of(c->node);
    bool mask[LG_MAX_DIMS], noop;
    work_t w;
    LG_CHECK(reduce_axes(c, x->ndim, mask, &noop));
    if (noop) {
        if (x->nbytes) memcpy(y->data, x->data, x->nbytes);
        return LG_OK;
    }
    if (lg_tensor_numel_(y) == 0) return LG_OK;
    if (!reduce_work(k, x->dtype, &w))
        return lg_error(LG_E_UNSUPPORTED, "%s of %s", k->name, lg_dtype_name(x->dtype));

    reduce_job j = { .k = k };
    set_identity(&j, x->dtype);
    axis_runs r = merge_runs(x, mask);
    int n_reduced = 0;
    for (int i = 0; i < r.n; i++) n_reduced += r.reduced[i];
    void *in_owned, *gathered = NULL, *out_owned;
    LG_CHECK(work_in(x, w, &j.x, &in_owned));
    if (lg_tensor_numel_(x) == 0) {
        j.v = (axis_view){ lg_tensor_numel_(y), 0, 1 };
    } else if (n_reduced <= 1) {
        int i = 0;
        j.v = (axis_view){ 1, 1, 1 };
        for (; i < r.n && !r.reduced[i]; i++) j.v.outer *= r.size[i];
        for (; i < r.n && r.reduced[i]; i++) j.v.n *= r.size[i];
        for (; i < r.n; i++) j.v.inner *= r.size[i];
    } else {
        gathered = lg_alloc((size_t)lg_tensor_numel_(x) * work_size[w]);
        if (!gathered) {
            lg_free(in_owned);
            return lg_error(LG_E_NOMEM, "no memory to gather reduced axes");
        }
        gather_reduced_last(j.x, gathered, work_size[w], &r);
        j.x = gathered;
        j.v = (axis_view){ 1, 1, 1 };
        for (int i = 0; i < r.n; i++) {
            if (r.reduced[i]) j.v.n *= r.size[i];
            else j.v.outer *= r.size[i];
        }
    }
    int rc = work_out(y, w, &j.y, &out_owned);
    if (rc == LG_OK) {
        reduce_run(c, &j, w);
        work_out_done(y, w, out_owned);
    }
    lg_free(gathered);
    lg_free(in_owned);
    return rc;
}

/* ---- ArgMax, ArgMin ---------------------------------------------------------------- */

typedef struct arg_job {
    axis_view v;
    const void *x;
    int64_t *y;
    bool want_max, last;
} arg_job;

#define DEF_ARG_UNITS(SFX, T) \
    static void arg_units_##SFX(void *arg, int64_t begin, int64_t end) \
    { \
        const arg_job *j = arg; \
        const axis_view *v = &j->v; \
        T best[BLOCK]; \
        for (int64_t u = begin; u < end; u++) { \
            int64_t o, i0, bi; \
            unit_span(v, u, &o, &i0, &bi); \
            const T *xo = (const T *)j->x + o * v->n * v->inner + i0; \
            int64_t *yo = j->y + o * v->inner + i0; \
            for (int64_t b = 0; b < bi; b++) { \
                best[b] = xo[b]; \
                yo[b] = 0; \
            } \
            for (int64_t k = 1; k < v->n; k++) { \
                const T *row = xo + k * v->inner; \
                for (int64_t b = 0; b < bi; b++) { \
                    T val = row[b]; \
                    bool better = j->want_max ? val > best[b] : val < best[b]; \
                    if (better || (j->last && val == best[b])) { \
                        best[b] = val; \
                        yo[b] = k; \
                    } \
                } \
            } \
        } \
    }

DEF_ARG_UNITS(f32, float)
DEF_ARG_UNITS(f64, double)
DEF_ARG_UNITS(i64, int64_t)
DEF_ARG_UNITS(u64, uint64_t)

static int arg_axis(lg_kctx *c, const lg_tensor *x, int *axis)
{
    work_t w;
    if (!work_of(x->dtype, &w))
        return lg_error(LG_E_UNSUPPORTED, "%s of %s", c->node->op_type, lg_dtype_name(x->dtype));
    if (x->ndim == 0) return lg_error(LG_E_INVALID_MODEL, "%s of a scalar", c->node->op_type);
    return lg_norm_axis(lg_attr_int(c->node, "axis", 0), x->ndim, axis);
}

static int arg_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int axis;
    LG_CHECK(arg_axis(c, x, &axis));
    bool keep = lg_attr_int(c->node, "keepdims", 1) != 0;
    int64_t dims[LG_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (i != axis) dims[nd++] = x->dims[i];
        else if (keep) dims[nd++] = 1;
    }
    return lg_kout_shape(c, 0, LG_INT64, nd, dims);
}

static int arg_exec(lg_kctx *c)
{
    static const lg_range_fn units[] = { arg_units_f32, arg_units_f64, arg_units_i64, arg_units_u64 };
    const lg_tensor *x = c->inputs[0];
    int axis;
    work_t w;
    LG_CHECK(arg_axis(c, x, &axis));
    bool known = work_of(x->dtype, &w);
    LG_ASSERT(known); /* arg_axis just refused the dtypes without a work type */
    arg_job j = { .v = view_around(x, axis), .y = c->outputs[0]->data };
    if (j.v.outer * j.v.inner == 0) return LG_OK;
    if (j.v.n == 0)
        return lg_error(LG_E_RUNTIME, "%s over axis %d of size 0", c->node->op_type, axis);
    j.want_max = strcmp(c->node->op_type, "ArgMax") == 0;
    j.last = c->opset >= 12 && lg_attr_int(c->node, "select_last_index", 0) != 0;
    void *owned;
    LG_CHECK(work_in(x, w, &j.x, &owned));
    run_units(c, &j.v, units[w], &j);
    lg_free(owned);
    return LG_OK;
}

/* ---- Softmax, LogSoftmax, Hardmax ---------------------------------------------------- */

typedef enum { SM_SOFTMAX, SM_LOGSOFTMAX, SM_HARDMAX } softmax_kind;

typedef struct softmax_job {
    softmax_kind kind;
    axis_view v;
    const void *x;
    void *y;
} softmax_job;

#define DEF_SOFTMAX_UNITS(SFX, T, EXP_ROW, LOG) \
    static void softmax_units_##SFX(void *arg, int64_t begin, int64_t end) \
    { \
        const softmax_job *j = arg; \
        const axis_view *v = &j->v; \
        T mx[BLOCK], sum[BLOCK]; \
        int64_t at[BLOCK]; \
        for (int64_t u = begin; u < end; u++) { \
            int64_t o, i0, bi, in = v->inner; \
            unit_span(v, u, &o, &i0, &bi); \
            const T *xo = (const T *)j->x + o * v->n * in + i0; \
            T *yo = (T *)j->y + o * v->n * in + i0; \
            for (int64_t b = 0; b < bi; b++) { \
                mx[b] = xo[b]; \
                sum[b] = 0; \
                at[b] = 0; \
            } \
            for (int64_t k = 1; k < v->n; k++) \
                for (int64_t b = 0; b < bi; b++) \
                    if (xo[k * in + b] > mx[b]) { \
                        mx[b] = xo[k * in + b]; \
                        at[b] = k; \
                    } \
            if (j->kind == SM_HARDMAX) { \
                for (int64_t k = 0; k < v->n; k++) \
                    for (int64_t b = 0; b < bi; b++) yo[k * in + b] = at[b] == k ? 1 : 0; \
                continue; \
            } \
            for (int64_t k = 0; k < v->n; k++) EXP_ROW(xo + k * in, mx, yo + k * in, sum, bi); \
            for (int64_t b = 0; b < bi; b++) sum[b] = j->kind == SM_SOFTMAX ? 1 / sum[b] : mx[b] + LOG(sum[b]); \
            for (int64_t k = 0; k < v->n; k++) \
                for (int64_t b = 0; b < bi; b++) { \
                    if (j->kind == SM_SOFTMAX) yo[k * in + b] *= sum[b]; \
                    else yo[k * in + b] = xo[k * in + b] - sum[b]; \
                } \
        } \
    }

/* y[b] = exp(x[b] - m[b]) and sum[b] += y[b] for b < n. */
static void exp_row_f32(const float *x, const float *m, float *y, float *sum, int64_t n)
{
    if (use_avx2()) {
        lg_reduce_expacc_f32_avx2(x, m, y, sum, n);
        return;
    }
    for (int64_t b = 0; b < n; b++) {
        y[b] = expf(x[b] - m[b]);
        sum[b] += y[b];
    }
}

static void exp_row_f64(const double *x, const double *m, double *y, double *sum, int64_t n)
{
    for (int64_t b = 0; b < n; b++) {
        y[b] = exp(x[b] - m[b]);
        sum[b] += y[b];
    }
}

DEF_SOFTMAX_UNITS(f32, float, exp_row_f32, logf)
DEF_SOFTMAX_UNITS(f64, double, exp_row_f64, log)

/* Float32 rows (inner == 1): the common transformer case. */
static void softmax_rows_f32(void *arg, int64_t begin, int64_t end)
{
    const softmax_job *j = arg;
    int64_t n = j->v.n;
    for (int64_t o = begin; o < end; o++) {
        const float *x = (const float *)j->x + o * n;
        float *y = (float *)j->y + o * n;
        float m = row_max(x, n);
        if (j->kind == SM_HARDMAX) {
            int64_t at = 0;
            while (at < n - 1 && !(x[at] == m)) at++;
            for (int64_t k = 0; k < n; k++) y[k] = k == at ? 1.0f : 0.0f;
            continue;
        }
        float s = row_expsum(x, y, n, m);
        if (j->kind == SM_SOFTMAX) {
            float r = 1.0f / s;
            for (int64_t k = 0; k < n; k++) y[k] *= r;
        } else {
            float shift = m + logf(s);
            for (int64_t k = 0; k < n; k++) y[k] = x[k] - shift;
        }
    }
}

static int float_only(lg_kctx *c, lg_dtype dt, work_t *w)
{
    if (!work_of(dt, w) || (*w != W_F32 && *w != W_F64))
        return lg_error(LG_E_UNSUPPORTED, "%s of %s", c->node->op_type, lg_dtype_name(dt));
    return LG_OK;
}

static int same_shape_float_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    work_t w;
    LG_CHECK(float_only(c, x->dtype, &w));
    return lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims);
}

/* Before opset 13 the input is seen as 2-D [prod(dims[:axis]), prod(dims[axis:])]; from
 * 13 on the op works along the single axis. */
static int softmax_view(lg_kctx *c, const lg_tensor *x, axis_view *v)
{
    int axis;
    if (c->opset < 13) {
        LG_CHECK(lg_norm_axis(lg_attr_int(c->node, "axis", 1), x->ndim, &axis));
        *v = (axis_view){ 1, 1, 1 };
        for (int k = 0; k < x->ndim; k++) {
            if (k < axis) v->outer *= x->dims[k];
            else v->n *= x->dims[k];
        }
        return LG_OK;
    }
    LG_CHECK(lg_norm_axis(lg_attr_int(c->node, "axis", -1), x->ndim, &axis));
    *v = view_around(x, axis);
    return LG_OK;
}

static int softmax_exec(lg_kctx *c)
{
    static const struct { const char *name; softmax_kind kind; } kinds[] = {
        { "Softmax", SM_SOFTMAX }, { "LogSoftmax", SM_LOGSOFTMAX }, { "Hardmax", SM_HARDMAX },
    };
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    softmax_job j = { 0 };
    work_t w;
    LG_CHECK(float_only(c, x->dtype, &w));
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kinds[i].name, c->node->op_type) == 0) j.kind = kinds[i].kind;
    LG_CHECK(softmax_view(c, x, &j.v));
    if (lg_tensor_numel_(x) == 0) return LG_OK;
    void *in_owned, *out_owned;
    LG_CHECK(work_in(x, w, &j.x, &in_owned));
    int rc = work_out(y, w, &j.y, &out_owned);
    if (rc == LG_OK) {
        if (w == W_F32 && j.v.inner == 1) run_units(c, &j.v, softmax_rows_f32, &j);
        else run_units(c, &j.v, w == W_F32 ? softmax_units_f32 : softmax_units_f64, &j);
        work_out_done(y, w, out_owned);
    }
    lg_free(in_owned);
    return rc;
}

/* ---- CumSum, CumProd (opset 26) ----------------------------------------------------------- */

typedef struct cumsum_job {
    axis_view v;
    const void *x;
    void *y;
    bool exclusive, reverse, prod;
} cumsum_job;

#define DEF_CUMSUM_UNITS(SFX, T, ADD) \
    static void cumsum_units_##SFX(void *arg, int64_t begin, int64_t end) \
    { \
        const cumsum_job *j = arg; \
        const axis_view *v = &j->v; \
        T acc[BLOCK]; \
        for (int64_t u = begin; u < end; u++) { \
            int64_t o, i0, bi, in = v->inner; \
            unit_span(v, u, &o, &i0, &bi); \
            const T *xo = (const T *)j->x + o * v->n * in + i0; \
            T *yo = (T *)j->y + o * v->n * in + i0; \
            for (int64_t b = 0; b < bi; b++) acc[b] = j->prod ? 1 : 0; \
            for (int64_t s = 0; s < v->n; s++) { \
                int64_t k = j->reverse ? v->n - 1 - s : s; \
                for (int64_t b = 0; b < bi; b++) { \
                    T val = xo[k * in + b]; \
                    if (j->exclusive) yo[k * in + b] = acc[b]; \
                    acc[b] = j->prod ? (T)(acc[b] * val) : ADD(acc[b], val); \
                    if (!j->exclusive) yo[k * in + b] = acc[b]; \
                } \
            } \
        } \
    }

DEF_CUMSUM_UNITS(f32, float, FLT_ADD)
DEF_CUMSUM_UNITS(f64, double, FLT_ADD)
DEF_CUMSUM_UNITS(u64, uint64_t, WRAP_ADD)

static int cumsum_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    work_t w;
    if (!work_of(x->dtype, &w))
        return lg_error(LG_E_UNSUPPORTED, "%s of %s", c->node->op_type, lg_dtype_name(x->dtype));
    return lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims);
}

static int cumsum_exec(lg_kctx *c)
{
    /* Signed integers add as uint64: the same bits, without signed overflow. */
    static const lg_range_fn units[] = { cumsum_units_f32, cumsum_units_f64, cumsum_units_u64, cumsum_units_u64 };
    const lg_tensor *x = c->inputs[0], *axis_t = lg_kin(c, 1);
    lg_tensor *y = c->outputs[0];
    work_t w;
    int axis;
    if (!work_of(x->dtype, &w))
        return lg_error(LG_E_UNSUPPORTED, "%s of %s", c->node->op_type, lg_dtype_name(x->dtype));
    if (!axis_t || lg_tensor_numel_(axis_t) != 1 || (axis_t->dtype != LG_INT32 && axis_t->dtype != LG_INT64))
        return lg_error(LG_E_INVALID_MODEL, "%s axis must be one int32 or int64 value", c->node->op_type);
    if (x->ndim == 0) return lg_error(LG_E_INVALID_MODEL, "%s of a scalar", c->node->op_type);
    LG_CHECK(lg_norm_axis(lg_tensor_get_i64(axis_t, 0), x->ndim, &axis));
    cumsum_job j = { .v = view_around(x, axis) };
    j.exclusive = lg_attr_int(c->node, "exclusive", 0) != 0;
    j.reverse = lg_attr_int(c->node, "reverse", 0) != 0;
    j.prod = strcmp(c->node->op_type, "CumProd") == 0;
    if (lg_tensor_numel_(x) == 0) return LG_OK;
    void *in_owned, *out_owned;
    LG_CHECK(work_in(x, w, &j.x, &in_owned));
    int rc = work_out(y, w, &j.y, &out_owned);
    if (rc == LG_OK) {
        run_units(c, &j.v, units[w], &j);
        work_out_done(y, w, out_owned);
    }
    lg_free(in_owned);
    return rc;
}

/* ---- LpNormalization ----------------------------------------------------------------- */

typedef struct lpnorm_job {
    axis_view v;
    const void *x;
    void *y;
    int p;
} lpnorm_job;

/* y = x / ||x||_p along the axis; a zero norm gives zeros. */
#define DEF_LPNORM_UNITS(SFX, T, ABS, SQRT) \
    static void lpnorm_units_##SFX(void *arg, int64_t begin, int64_t end) \
    { \
        const lpnorm_job *j = arg; \
        const axis_view *v = &j->v; \
        T norm[BLOCK]; \
        for (int64_t u = begin; u < end; u++) { \
            int64_t o, i0, bi, in = v->inner; \
            unit_span(v, u, &o, &i0, &bi); \
            const T *xo = (const T *)j->x + o * v->n * in + i0; \
            T *yo = (T *)j->y + o * v->n * in + i0; \
            for (int64_t b = 0; b < bi; b++) norm[b] = 0; \
            for (int64_t k = 0; k < v->n; k++) \
                for (int64_t b = 0; b < bi; b++) { \
                    T val = xo[k * in + b]; \
                    norm[b] += j->p == 1 ? ABS(val) : val * val; \
                } \
            for (int64_t b = 0; b < bi; b++) { \
                T nb = j->p == 1 ? norm[b] : SQRT(norm[b]); \
                norm[b] = nb != 0 ? 1 / nb : 0; \
            } \
            for (int64_t k = 0; k < v->n; k++) \
                for (int64_t b = 0; b < bi; b++) yo[k * in + b] = xo[k * in + b] * norm[b]; \
        } \
    }

DEF_LPNORM_UNITS(f32, float, fabsf, sqrtf)
DEF_LPNORM_UNITS(f64, double, fabs, sqrt)

static int lpnorm_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    work_t w;
    int axis;
    LG_CHECK(float_only(c, x->dtype, &w));
    if (x->ndim == 0) return lg_error(LG_E_INVALID_MODEL, "LpNormalization of a scalar");
    LG_CHECK(lg_norm_axis(lg_attr_int(c->node, "axis", -1), x->ndim, &axis));
    lpnorm_job j = { .v = view_around(x, axis), .p = (int)lg_attr_int(c->node, "p", 2) };
    if (j.p != 1 && j.p != 2) return lg_error(LG_E_INVALID_MODEL, "LpNormalization p=%d, must be 1 or 2", j.p);
    if (lg_tensor_numel_(x) == 0) return LG_OK;
    void *in_owned, *out_owned;
    LG_CHECK(work_in(x, w, &j.x, &in_owned));
    int rc = work_out(y, w, &j.y, &out_owned);
    if (rc == LG_OK) {
        run_units(c, &j.v, w == W_F32 ? lpnorm_units_f32 : lpnorm_units_f64, &j);
        work_out_done(y, w, out_owned);
    }
    lg_free(in_owned);
    return rc;
}

const lg_op_def lg_ops_reduce[] = {
    { "ReduceSum", "", 1, 27, reduce_infer, reduce_exec, NULL, NULL },
    { "ReduceMean", "", 1, 27, reduce_infer, reduce_exec, NULL, NULL },
    { "ReduceMax", "", 1, 27, reduce_infer, reduce_exec, NULL, NULL },
    { "ReduceMin", "", 1, 27, reduce_infer, reduce_exec, NULL, NULL },
    { "ReduceProd", "", 1, 27, reduce_infer, reduce_exec, NULL, NULL },
    { "ReduceL1", "", 1, 27, reduce_infer, reduce_exec, NULL, NULL },
    { "ReduceL2", "", 1, 27, reduce_infer, reduce_exec, NULL, NULL },
    { "ReduceLogSum", "", 1, 27, reduce_infer, reduce_exec, NULL, NULL },
    { "ReduceLogSumExp", "", 1, 27, reduce_infer, reduce_exec, NULL, NULL },
    { "ReduceSumSquare", "", 1, 27, reduce_infer, reduce_exec, NULL, NULL },
    { "ArgMax", "", 1, 27, arg_infer, arg_exec, NULL, NULL },
    { "ArgMin", "", 1, 27, arg_infer, arg_exec, NULL, NULL },
    { "Softmax", "", 1, 27, same_shape_float_infer, softmax_exec, NULL, NULL },
    { "LogSoftmax", "", 1, 27, same_shape_float_infer, softmax_exec, NULL, NULL },
    { "Hardmax", "", 1, 27, same_shape_float_infer, softmax_exec, NULL, NULL },
    { "CumSum", "", 11, 27, cumsum_infer, cumsum_exec, NULL, NULL },
    { "CumProd", "", 26, 27, cumsum_infer, cumsum_exec, NULL, NULL },
    { "LpNormalization", "", 1, 27, same_shape_float_infer, lpnorm_exec, NULL, NULL },
    { NULL }
};
