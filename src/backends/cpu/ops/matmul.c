/*
 * matmul.c: Gemm and MatMul on the CPU.
 *
 * Float32 runs on the packed GEMM (gemm.h); a constant B (the weights of a fully
 * connected layer) is packed once in prepare(). MatMul with a 2-D B folds A's batch
 * dims into M (one big product); otherwise each output matrix is one GEMM. Float16 and
 * bfloat16 go through float32 copies; double and the integer types use exact typed loops
 * (integers wrap like two's complement, never through double).
 */
#include <stdatomic.h>
#include <string.h>

#include "backends/cpu/gemm.h"
#include "runtime/kernel.h"

/* ---- typed reference products ------------------------------------------------------- */

/* y[M,N] = a[M,K] * b[K,N] with strides (in elements) for a and b; y is dense. */
typedef void (*typed_mm_fn)(const void *a, int64_t rsa, int64_t csa, const void *b, int64_t rsb, int64_t csb,
                            void *y, int64_t M, int64_t N, int64_t K);

#define DEFINE_TYPED_MM(name, T, ACC) \
    static void name(const void *a_, int64_t rsa, int64_t csa, const void *b_, int64_t rsb, int64_t csb, void *y_, \
                     int64_t M, int64_t N, int64_t K) \
    { \
        const T *a = a_, *b = b_; \
        T *y = y_; \
        for (int64_t i = 0; i < M; i++) \
            for (int64_t j = 0; j < N; j++) { \
                ACC s = 0; \
                for (int64_t k = 0; k < K; k++) s += (ACC)a[i * rsa + k * csa] * (ACC)b[k * rsb + j * csb]; \
                y[i * N + j] = (T)s; \
            } \
    }

DEFINE_TYPED_MM(mm_f64, double, double)
DEFINE_TYPED_MM(mm_i32, int32_t, uint32_t)
DEFINE_TYPED_MM(mm_i64, int64_t, uint64_t)
DEFINE_TYPED_MM(mm_u32, uint32_t, uint32_t)
DEFINE_TYPED_MM(mm_u64, uint64_t, uint64_t)

static const struct {
    lg_dtype dtype;
    typed_mm_fn fn;
} typed_mms[] = {
    { LG_DOUBLE, mm_f64 }, { LG_INT32, mm_i32 }, { LG_INT64, mm_i64 }, { LG_UINT32, mm_u32 }, { LG_UINT64, mm_u64 },
};

static typed_mm_fn typed_mm(lg_dtype dt)
{
    for (size_t i = 0; i < sizeof(typed_mms) / sizeof(typed_mms[0]); i++)
        if (typed_mms[i].dtype == dt) return typed_mms[i].fn;
    return NULL;
}

static bool is_half(lg_dtype dt) { return dt == LG_FLOAT16 || dt == LG_BFLOAT16; }

/* Float32 copy of a half tensor; *out is lg_free'd by the caller. */
static int half_to_f32(const lg_tensor *t, float **out)
{
    int64_t n = lg_tensor_numel_(t);
    *out = lg_alloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!*out) return lg_error(LG_E_NOMEM, "out of memory converting %lld elements to float", (long long)n);
    const uint16_t *s = t->data;
    for (int64_t i = 0; i < n; i++) (*out)[i] = t->dtype == LG_FLOAT16 ? lg_half_to_float(s[i]) : lg_bf16_to_float(s[i]);
    return LG_OK;
}

static void f32_to_half(const float *src, lg_tensor *t)
{
    uint16_t *d = t->data;
    for (int64_t i = 0, n = lg_tensor_numel_(t); i < n; i++)
        d[i] = t->dtype == LG_FLOAT16 ? lg_float_to_half(src[i]) : lg_float_to_bf16(src[i]);
}

/* Float32 views of a, b (and c) and of the output; converted copies for half types. */
typedef struct f32_views {
    const float *a, *b, *c;
    float *y;
    float *owned[4];
} f32_views;

static int views_open(lg_kctx *c, const lg_tensor *a, const lg_tensor *b, const lg_tensor *cc, f32_views *v)
{
    memset(v, 0, sizeof(*v));
    lg_tensor *y = c->outputs[0];
    if (!is_half(a->dtype)) {
        *v = (f32_views){ .a = a->data, .b = b->data, .c = cc ? cc->data : NULL, .y = y->data };
        return LG_OK;
    }
    LG_CHECK(half_to_f32(a, &v->owned[0]));
    LG_CHECK(half_to_f32(b, &v->owned[1]));
    if (cc) LG_CHECK(half_to_f32(cc, &v->owned[2]));
    int64_t n = lg_tensor_numel_(y);
    v->owned[3] = lg_calloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!v->owned[3]) return lg_error(LG_E_NOMEM, "out of memory for a float32 output");
    v->a = v->owned[0];
    v->b = v->owned[1];
    v->c = v->owned[2];
    v->y = v->owned[3];
    return LG_OK;
}

static void views_close(lg_kctx *c, f32_views *v, int rc)
{
    if (rc == LG_OK && v->owned[3]) f32_to_half(v->y, c->outputs[0]);
    for (int i = 0; i < 4; i++) lg_free(v->owned[i]);
}

/* ---- packed constant B -------------------------------------------------------------- */

typedef struct packed_b_state {
    int64_t K, N;
    lg_sgemm_packed *pb;
} packed_b_state;

static void packed_b_release(void *state)
{
    packed_b_state *st = state;
    if (!st) return;
    lg_sgemm_packed_free(st->pb);
    lg_free(st);
}

static int packed_b_make(void **state, int64_t K, int64_t N, lg_smat b)
{
    packed_b_state *st = lg_calloc(sizeof(*st));
    if (!st) return lg_error(LG_E_NOMEM, "out of memory for packed weights");
    st->K = K;
    st->N = N;
    st->pb = lg_sgemm_pack_b(K, N, b);
    if (!st->pb) {
        lg_free(st);
        return LG_E_NOMEM;
    }
    *state = st;
    return LG_OK;
}

static const lg_sgemm_packed *packed_b_for(const lg_kctx *c, int64_t K, int64_t N)
{
    const packed_b_state *st = c->state;
    return (st && st->K == K && st->N == N) ? st->pb : NULL;
}

/* ---- Gemm --------------------------------------------------------------------------- */

typedef struct gemm_shape {
    int64_t M, N, K;
    bool ta, tb;
} gemm_shape;

static bool gemm_dtype_ok(lg_dtype dt) { return dt == LG_FLOAT || is_half(dt) || typed_mm(dt); }

static int gemm_shape_of(const lg_kctx *c, gemm_shape *s)
{
    const lg_tensor *a = lg_kin(c, 0), *b = lg_kin(c, 1), *cc = lg_kin(c, 2);
    if (!a || !b) return lg_error(LG_E_INVALID_MODEL, "Gemm needs A and B");
    if (a->ndim != 2 || b->ndim != 2)
        return lg_error(LG_E_SHAPE, "Gemm needs 2-D A and B (got rank %d and %d)", a->ndim, b->ndim);
    if (!gemm_dtype_ok(a->dtype)) return lg_error(LG_E_UNSUPPORTED, "Gemm on %s", lg_dtype_name(a->dtype));
    if (b->dtype != a->dtype || (cc && cc->dtype != a->dtype))
        return lg_error(LG_E_SHAPE, "Gemm inputs have different types");
    s->ta = lg_attr_int(c->node, "transA", 0) != 0;
    s->tb = lg_attr_int(c->node, "transB", 0) != 0;
    s->M = a->dims[s->ta ? 1 : 0];
    s->K = a->dims[s->ta ? 0 : 1];
    s->N = b->dims[s->tb ? 0 : 1];
    int64_t kb = b->dims[s->tb ? 1 : 0];
    if (kb != s->K)
        return lg_error(LG_E_SHAPE, "Gemm: A gives K = %lld, B gives K = %lld", (long long)s->K, (long long)kb);
    if (cc) {
        int64_t out[2] = { s->M, s->N }, bc[LG_MAX_DIMS];
        int nb;
        if (cc->ndim > 2 || lg_broadcast_shape(2, out, cc->ndim, cc->dims, &nb, bc) != LG_OK || bc[0] != s->M ||
            bc[1] != s->N)
            return lg_error(LG_E_SHAPE, "Gemm: C of rank %d does not broadcast to [%lld, %lld]", cc->ndim,
                            (long long)s->M, (long long)s->N);
        /* Before opset 7, C broadcasts only with broadcast=1; otherwise it is exactly [M, N]. */
        if (c->opset < 7 && !lg_attr_int(c->node, "broadcast", 0) && !(cc->ndim == 2 && cc->dims[0] == s->M && cc->dims[1] == s->N))
            return lg_error(LG_E_SHAPE, "Gemm-%d: C must be [%lld, %lld] when broadcast is 0", c->opset, (long long)s->M,
                            (long long)s->N);
    } else if (c->opset < 11) {
        return lg_error(LG_E_INVALID_MODEL, "Gemm-%d needs C", c->opset);
    }
    return LG_OK;
}

static int gemm_infer(lg_kctx *c)
{
    gemm_shape s;
    LG_CHECK(gemm_shape_of(c, &s));
    int64_t dims[2] = { s.M, s.N };
    return lg_kout_shape(c, 0, c->inputs[0]->dtype, 2, dims);
}

static int gemm_prepare(lg_kctx *c, void **state)
{
    const lg_tensor *b = lg_kin(c, 1);
    if (!b || !b->data || b->dtype != LG_FLOAT || b->ndim != 2) return LG_OK;
    bool tb = lg_attr_int(c->node, "transB", 0) != 0;
    int64_t K = b->dims[tb ? 1 : 0], N = b->dims[tb ? 0 : 1];
    lg_smat view = tb ? (lg_smat){ b->data, 1, K } : (lg_smat){ b->data, N, 1 };
    LG_CHECK(packed_b_make(state, K, N, view));
    c->consumed |= 1u << 1; /* exec reads the packed copy */
    return LG_OK;
}

/* Element (i, j) of C broadcast to [M, N], through its broadcast strides. */
static int64_t c_index(const int64_t *st, int64_t i, int64_t j) { return i * st[0] + j * st[1]; }

static int gemm_exec_f32(lg_kctx *c, const gemm_shape *s, float alpha, float beta)
{
    const lg_tensor *a = c->inputs[0], *b = c->inputs[1], *cc = lg_kin(c, 2);
    f32_views v;
    int rc = views_open(c, a, b, cc, &v);
    if (rc == LG_OK) {
        bool add_c = cc && beta != 0.0f;
        if (add_c) {
            int64_t st[2];
            lg_broadcast_strides(cc->ndim, cc->dims, 2, st);
            for (int64_t i = 0; i < s->M; i++)
                for (int64_t j = 0; j < s->N; j++) v.y[i * s->N + j] = beta * v.c[c_index(st, i, j)];
        }
        lg_sgemm_args g = {
            .M = s->M, .N = s->N, .K = s->K, .alpha = alpha, .accumulate = add_c,
            .a = s->ta ? (lg_smat){ v.a, 1, s->M } : (lg_smat){ v.a, s->K, 1 },
            .pb = a->dtype == LG_FLOAT ? packed_b_for(c, s->K, s->N) : NULL,
            .b = s->tb ? (lg_smat){ v.b, 1, s->K } : (lg_smat){ v.b, s->N, 1 },
            .c = v.y, .ldc = s->N,
        };
        rc = (g.pb || v.b) ? lg_sgemm(c->pool, &g) : lg_error(LG_E_RUNTIME, "Gemm weights were released unpacked");
    }
    views_close(c, &v, rc);
    return rc;
}

/* Stores the low bits of v into integer element i (two's complement wrap). */
static void put_int(lg_tensor *t, int64_t i, uint64_t v)
{
    switch (t->dtype) {
    case LG_INT32: ((int32_t *)t->data)[i] = (int32_t)(uint32_t)v; break;
    case LG_UINT32: ((uint32_t *)t->data)[i] = (uint32_t)v; break;
    case LG_INT64: ((int64_t *)t->data)[i] = (int64_t)v; break;
    default: ((uint64_t *)t->data)[i] = v; break;
    }
}

/* Double and integers: the exact product, then alpha and beta * C (integers use them
 * only when they are not 1, through double). */
static int gemm_exec_typed(lg_kctx *c, const gemm_shape *s, float alpha, float beta)
{
    const lg_tensor *a = c->inputs[0], *b = c->inputs[1], *cc = lg_kin(c, 2);
    lg_tensor *y = c->outputs[0];
    typed_mm(a->dtype)(a->data, s->ta ? 1 : s->K, s->ta ? s->M : 1, b->data, s->tb ? 1 : s->N, s->tb ? s->K : 1,
                       y->data, s->M, s->N, s->K);
    bool add_c = cc && beta != 0.0f;
    if (alpha == 1.0f && !add_c) return LG_OK;
    int64_t st[2] = { 0, 0 };
    if (add_c) lg_broadcast_strides(cc->ndim, cc->dims, 2, st);
    bool exact = lg_dtype_is_int(a->dtype) && alpha == 1.0f && beta == 1.0f;
    for (int64_t i = 0; i < s->M; i++)
        for (int64_t j = 0; j < s->N; j++) {
            int64_t o = i * s->N + j;
            if (exact) {
                uint64_t sum = (uint64_t)lg_tensor_get_i64(y, o) + (uint64_t)lg_tensor_get_i64(cc, c_index(st, i, j));
                put_int(y, o, sum);
                continue;
            }
            double v = alpha * lg_tensor_get_f64(y, o);
            if (add_c) v += beta * lg_tensor_get_f64(cc, c_index(st, i, j));
            lg_tensor_set_f64(y, o, v);
        }
    return LG_OK;
}

static int gemm_exec(lg_kctx *c)
{
    gemm_shape s;
    LG_CHECK(gemm_shape_of(c, &s));
    if (!c->outputs[0] || s.M * s.N == 0) return LG_OK;
    float alpha = lg_attr_float(c->node, "alpha", 1.0f), beta = lg_attr_float(c->node, "beta", 1.0f);
    if (c->inputs[0]->dtype == LG_FLOAT || is_half(c->inputs[0]->dtype)) return gemm_exec_f32(c, &s, alpha, beta);
    return gemm_exec_typed(c, &s, alpha, beta);
}

/* ---- MatMul ------------------------------------------------------------------------- */

static bool matmul_dtype_ok(lg_dtype dt, int opset)
{
    if (dt == LG_FLOAT || dt == LG_FLOAT16 || dt == LG_DOUBLE) return true;
    if (dt == LG_BFLOAT16) return opset >= 13;
    return opset >= 9 && typed_mm(dt) != NULL;
}

static int matmul_plan(const lg_kctx *c, lg_matmul_plan *p)
{
    const lg_tensor *a = lg_kin(c, 0), *b = lg_kin(c, 1);
    if (!a || !b) return lg_error(LG_E_INVALID_MODEL, "MatMul needs A and B");
    if (!matmul_dtype_ok(a->dtype, c->opset))
        return lg_error(LG_E_UNSUPPORTED, "MatMul on %s (opset %d)", lg_dtype_name(a->dtype), c->opset);
    if (b->dtype != a->dtype)
        return lg_error(LG_E_SHAPE, "MatMul of %s and %s", lg_dtype_name(a->dtype), lg_dtype_name(b->dtype));
    return lg_matmul_plan_make(a->ndim, a->dims, b->ndim, b->dims, p);
}

static int matmul_infer(lg_kctx *c)
{
    lg_matmul_plan p;
    LG_CHECK(matmul_plan(c, &p));
    return lg_kout_shape(c, 0, c->inputs[0]->dtype, p.out_ndim, p.out_dims);
}

static int matmul_prepare(lg_kctx *c, void **state)
{
    const lg_tensor *b = lg_kin(c, 1);
    if (!b || !b->data || b->dtype != LG_FLOAT || b->ndim != 2) return LG_OK;
    LG_CHECK(packed_b_make(state, b->dims[0], b->dims[1], (lg_smat){ b->data, b->dims[1], 1 }));
    c->consumed |= 1u << 1; /* exec reads the packed copy */
    return LG_OK;
}

typedef struct matmul_job {
    const lg_matmul_plan *p;
    const float *a, *b;
    float *y;
    const lg_sgemm_packed *pb;
    lg_threadpool *pool;        /* NULL when the batch loop itself is parallel */
    atomic_int rc;
} matmul_job;

static void matmul_batches(void *arg, int64_t begin, int64_t end)
{
    matmul_job *job = arg;
    const lg_matmul_plan *p = job->p;
    for (int64_t i = begin; i < end; i++) {
        int64_t ia, ib;
        lg_matmul_plan_operands(p, i, &ia, &ib);
        lg_sgemm_args g = {
            .M = p->M, .N = p->N, .K = p->K, .alpha = 1, .pb = job->pb,
            .a = { job->a + ia * p->M * p->K, p->K, 1 },
            .b = { job->b + ib * p->K * p->N, p->N, 1 },
            .c = job->y + i * p->M * p->N, .ldc = p->N,
        };
        int rc = lg_sgemm(job->pool, &g);
        if (rc != LG_OK) atomic_store(&job->rc, rc);
    }
}

static int matmul_exec_f32(lg_kctx *c, const lg_matmul_plan *p)
{
    f32_views v;
    int rc = views_open(c, c->inputs[0], c->inputs[1], NULL, &v);
    if (rc == LG_OK) {
        matmul_job job = { .p = p, .a = v.a, .b = v.b, .y = v.y, .pool = c->pool };
        atomic_init(&job.rc, LG_OK);
        lg_matmul_plan flat = *p;
        if (p->b_shared && c->inputs[1]->ndim >= 2) {
            /* One B for all: A's matrices stack into one [batch*M, K] product. */
            flat.M = p->M * p->batch;
            flat.batch = 1;
            flat.batch_ndim = 0;
            job.p = &flat;
            if (c->inputs[0]->dtype == LG_FLOAT) job.pb = packed_b_for(c, p->K, p->N);
        }
        if (!job.pb && !job.b) {
            views_close(c, &v, LG_E_RUNTIME);
            return lg_error(LG_E_RUNTIME, "MatMul weights were released unpacked");
        }
        double work = (double)job.p->M * (double)job.p->N * (double)job.p->K;
        if (job.p->batch > 1 && work < 1e6) {
            job.pool = NULL;
            lg_parallel_for(c->pool, job.p->batch, 1, matmul_batches, &job);
        } else {
            matmul_batches(&job, 0, job.p->batch);
        }
        rc = atomic_load(&job.rc);
    }
    views_close(c, &v, rc);
    return rc;
}

static int matmul_exec_typed(lg_kctx *c, const lg_matmul_plan *p)
{
    const lg_tensor *a = c->inputs[0], *b = c->inputs[1];
    size_t es = lg_dtype_size(a->dtype);
    typed_mm_fn fn = typed_mm(a->dtype);
    for (int64_t i = 0; i < p->batch; i++) {
        int64_t ia, ib;
        lg_matmul_plan_operands(p, i, &ia, &ib);
        fn((const char *)a->data + (size_t)(ia * p->M * p->K) * es, p->K, 1,
           (const char *)b->data + (size_t)(ib * p->K * p->N) * es, p->N, 1,
           (char *)c->outputs[0]->data + (size_t)(i * p->M * p->N) * es, p->M, p->N, p->K);
    }
    return LG_OK;
}

static int matmul_exec(lg_kctx *c)
{
    lg_matmul_plan p;
    LG_CHECK(matmul_plan(c, &p));
    if (!c->outputs[0] || lg_tensor_numel_(c->outputs[0]) == 0) return LG_OK;
    lg_dtype dt = c->inputs[0]->dtype;
    if (dt == LG_FLOAT || is_half(dt)) return matmul_exec_f32(c, &p);
    return matmul_exec_typed(c, &p);
}

const lg_op_def lg_ops_matmul[] = {
    { "Gemm", "", 1, 27, gemm_infer, gemm_exec, gemm_prepare, packed_b_release },
    { "MatMul", "", 1, 27, matmul_infer, matmul_exec, matmul_prepare, packed_b_release },
    { NULL }
};
