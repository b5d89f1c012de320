/*
 * gemm.c: the blocked single-precision GEMM driver (see gemm.h): operand packing, the
 * loops over cache blocks, the split of C across threads, the portable C micro-kernel,
 * and the table of micro-kernels per SIMD path.
 *
 * Loop order inside one thread's share of C (Goto/BLIS): for each NC-column block of B,
 * for each KC block of K, pack B's KC x NC block (L2/L3 resident); for each MC-row block
 * of A (L2 resident), for each NR panel of B (L1 resident), for each MR panel of A, run
 * the micro-kernel on one MR x NR tile of C. A packed operand stores K-block after
 * K-block, each as MR (or NR) panels, so a pre-packed weight is used in place.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "backends/cpu/gemm.h"
#include "base/cpu.h"
#include "base/error.h"
#include "base/tensor_impl.h"
#include "runtime/kernel.h"

enum {
    MR = LG_SGEMM_MR,
    NR = LG_SGEMM_NR,
    KC = 256,           /* K block: one B panel (KC x NR) stays in L1 */
    MC = 120,           /* rows of A per block (multiple of MR) */
    NC = LG_SGEMM_NC,   /* columns of B per packed block (multiple of NR) */
};

struct lg_sgemm_packed {
    int64_t rows;       /* M for an A operand, N for a B operand */
    int64_t K;
    int64_t padded;     /* rows rounded up to the panel width */
    float *data;
};

typedef void (*kernel_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                          const lg_sgemm_tile *t);
/* A kernel for a tile cut by the edge of C (mr rows, nr columns stored). */
typedef void (*edge_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, const lg_sgemm_tile *t,
                        int64_t mr, int64_t nr);

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Size of K blocks: K split evenly into ceil(K / KC) blocks, so no block is tiny. */
static int64_t k_block(int64_t K)
{
    if (K <= 0) return 1;
    return ceil_div(K, ceil_div(K, KC));
}

/* ---- packing ---------------------------------------------------------------------- */

/* A rows [i0, i0+mc), K range [k0, k0+kc) into MR panels: panel p row k at (p*kc + k)*MR. */
static void pack_a_block(lg_smat a, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float *dst)
{
    for (int64_t p = 0; p < mc; p += MR) {
        int64_t rows = min64(MR, mc - p);
        const float *src = a.p + (i0 + p) * a.rs + k0 * a.cs;
        if (rows == MR && a.cs == 1) {
            /* One pointer per row: six sequential streams, no index arithmetic per element. */
            const float *r0 = src, *r1 = r0 + a.rs, *r2 = r1 + a.rs, *r3 = r2 + a.rs, *r4 = r3 + a.rs, *r5 = r4 + a.rs;
            _Static_assert(MR == 6, "pack_a_block's fast path is written for 6-row panels");
            for (int64_t k = 0; k < kc; k++) {
                float *d = dst + k * MR;
                d[0] = r0[k];
                d[1] = r1[k];
                d[2] = r2[k];
                d[3] = r3[k];
                d[4] = r4[k];
                d[5] = r5[k];
            }
        } else {
            for (int64_t k = 0; k < kc; k++) {
                for (int64_t i = 0; i < rows; i++) dst[k * MR + i] = src[i * a.rs + k * a.cs];
                for (int64_t i = rows; i < MR; i++) dst[k * MR + i] = 0;
            }
        }
        dst += kc * MR;
    }
}

/* B K range [k0, k0+kc), columns [j0, j0+nc) into NR panels: panel p row k at (p*kc + k)*NR. */
static void pack_b_block(lg_smat b, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float *dst)
{
    for (int64_t p = 0; p < nc; p += NR) {
        int64_t cols = min64(NR, nc - p);
        const float *src = b.p + k0 * b.rs + (j0 + p) * b.cs;
        if (cols == NR && b.cs == 1) {
            for (int64_t k = 0; k < kc; k++) memcpy(dst + k * NR, src + k * b.rs, NR * sizeof(float));
        } else {
            for (int64_t k = 0; k < kc; k++) {
                for (int64_t j = 0; j < cols; j++) dst[k * NR + j] = src[k * b.rs + j * b.cs];
                for (int64_t j = cols; j < NR; j++) dst[k * NR + j] = 0;
            }
        }
        dst += kc * NR;
    }
}

static lg_sgemm_packed *packed_new(int64_t rows, int64_t K, int64_t width)
{
    int64_t padded = ceil_div(rows, width) * width;
    if (rows < 0 || K < 0 || (padded > 0 && K > (int64_t)(LG_TENSOR_MAX_BYTES / 4) / padded)) {
        lg_error(LG_E_NOMEM, "packed GEMM operand %lld x %lld is too large", (long long)rows, (long long)K);
        return NULL;
    }
    lg_sgemm_packed *p = lg_calloc(sizeof(*p));
    size_t bytes = (size_t)(padded * K) * sizeof(float);
    if (p) p->data = lg_alloc(bytes ? bytes : 64);
    if (!p || !p->data) {
        if (p) lg_free(p);
        lg_error(LG_E_NOMEM, "out of memory packing a %lld x %lld GEMM operand", (long long)rows, (long long)K);
        return NULL;
    }
    p->rows = rows;
    p->K = K;
    p->padded = padded;
    return p;
}

lg_sgemm_packed *lg_sgemm_pack_a(int64_t M, int64_t K, lg_smat a)
{
    lg_sgemm_packed *p = packed_new(M, K, MR);
    if (!p) return NULL;
    int64_t kcb = k_block(K);
    for (int64_t pc = 0; pc < K; pc += kcb)
        pack_a_block(a, 0, M, pc, min64(kcb, K - pc), p->data + pc * p->padded);
    return p;
}

lg_sgemm_packed *lg_sgemm_pack_b(int64_t K, int64_t N, lg_smat b)
{
    lg_sgemm_packed *p = packed_new(N, K, NR);
    if (!p) return NULL;
    int64_t kcb = k_block(K);
    for (int64_t pc = 0; pc < K; pc += kcb)
        pack_b_block(b, pc, min64(kcb, K - pc), 0, N, p->data + pc * p->padded);
    return p;
}

void lg_sgemm_packed_free(lg_sgemm_packed *p)
{
    if (!p) return;
    lg_free(p->data);
    lg_free(p);
}

size_t lg_sgemm_packed_bytes(const lg_sgemm_packed *p)
{
    return p ? (size_t)(p->padded * p->K) * sizeof(float) + sizeof(*p) : 0;
}

/* ---- micro-kernels ---------------------------------------------------------------- */

static float tile_finish(float acc, const float *c, int64_t i, const lg_sgemm_tile *t)
{
    float v = t->alpha * acc;
    if (t->accumulate) v += *c;
    if (t->bias) v += t->bias[i];
    if (t->clamp) {
        if (v < t->lo) v = t->lo;
        if (v > t->hi) v = t->hi;
    }
    return v;
}

static void kernel_ref(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                       const lg_sgemm_tile *t)
{
    float acc[MR][NR] = { { 0 } };
    for (int64_t k = 0; k < kc; k++, a += MR, b += NR)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) acc[i][j] += a[i] * b[j];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) c[i * ldc + j] = tile_finish(acc[i][j], &c[i * ldc + j], i, t);
}

/* A tile cut by the edge of C: the kernel writes a full tile (or its left half when
 * that covers the live columns) to tmp, the live part is finished here. */
static void edge_tile(kernel_fn kern, int64_t kc, const float *a, const float *b, float *c,
                      int64_t ldc, int64_t mr, int64_t nr, const lg_sgemm_tile *t)
{
    float tmp[MR * NR];
    const lg_sgemm_tile raw = { .alpha = 1 };
    kern(kc, a, b, tmp, NR, &raw);
    for (int64_t i = 0; i < mr; i++)
        for (int64_t j = 0; j < nr; j++) c[i * ldc + j] = tile_finish(tmp[i * NR + j], &c[i * ldc + j], i, t);
}

/* Micro-kernels per SIMD path: the full tile, the left half for narrow edges (NULL: the
 * full kernel into a scratch tile), and a masked edge kernel (NULL: through scratch). */
static const struct {
    kernel_fn full, half;
    edge_fn edge;
} kernels[LG_SIMD_COUNT] = {
    [LG_SIMD_NONE] = { kernel_ref, NULL, NULL },
    [LG_SIMD_SSE41] = { lg_sgemm_kernel_sse41, lg_sgemm_kernel_sse41_half, NULL },
    [LG_SIMD_AVX] = { lg_sgemm_kernel_avx, lg_sgemm_kernel_avx_half, NULL },
    [LG_SIMD_AVX2] = { lg_sgemm_kernel_avx2, lg_sgemm_kernel_avx2_half, lg_sgemm_kernel_avx2_edge },
    [LG_SIMD_AVX512] = { lg_sgemm_kernel_avx512, lg_sgemm_kernel_avx2_half, lg_sgemm_kernel_avx512_edge },
};

/* ---- per-thread scratch ----------------------------------------------------------- */

#define SCRATCH_FLOATS ((size_t)MC * KC + (size_t)KC * NC)

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_key_make(void) { pthread_key_create(&scratch_key, lg_free); }

/* Pack buffers of the calling thread (MC*KC floats for A, then KC*NC for B), kept for
 * the thread's lifetime. */
static float *thread_scratch(void)
{
    pthread_once(&scratch_once, scratch_key_make);
    float *p = pthread_getspecific(scratch_key);
    if (!p) {
        p = lg_alloc(SCRATCH_FLOATS * sizeof(float));
        if (p && pthread_setspecific(scratch_key, p) != 0) {
            lg_free(p);
            p = NULL;
        }
    }
    return p;
}

/* ---- driver ----------------------------------------------------------------------- */

typedef struct sgemm_job {
    const lg_sgemm_args *g;
    kernel_fn kern;
    kernel_fn half;          /* MR x NR/2 variant, or NULL */
    edge_fn edge;            /* masked edge tiles, or NULL */
    int64_t kcb;             /* K block size */
    int64_t m_step, n_step;  /* rows / columns per task (multiples of MR / NR) */
    int64_t tasks_n;         /* tasks along N */
    atomic_int failed;
} sgemm_job;

/* All MR x NR tiles of rows [ic, ic+mc) x columns [jc, jc+nc) for K block [pc, pc+kc). */
static void macro_tile(const sgemm_job *job, const float *ap, const float *bp, int64_t ic, int64_t mc,
                       int64_t jc, int64_t nc, int64_t pc, int64_t kc)
{
    const lg_sgemm_args *g = job->g;
    bool last = pc + kc >= g->K;
    lg_sgemm_tile t = {
        .alpha = g->alpha,
        .accumulate = g->accumulate || pc > 0,
        .clamp = last && g->act == LG_SGEMM_ACT_CLAMP,
        .lo = g->act_lo,
        .hi = g->act_hi,
    };
    for (int64_t jr = 0; jr < nc; jr += NR) {
        int64_t nr = min64(NR, nc - jr);
        for (int64_t ir = 0; ir < mc; ir += MR) {
            int64_t mr = min64(MR, mc - ir);
            float *c = g->c + (ic + ir) * g->ldc + jc + jr;
            t.bias = last && g->row_bias ? g->row_bias + ic + ir : NULL;
            if (mr == MR && nr == NR) job->kern(kc, ap + ir * kc, bp + jr * kc, c, g->ldc, &t);
            else if (job->edge) job->edge(kc, ap + ir * kc, bp + jr * kc, c, g->ldc, &t, mr, nr);
            else edge_tile(nr <= NR / 2 && job->half ? job->half : job->kern, kc, ap + ir * kc, bp + jr * kc, c,
                           g->ldc, mr, nr, &t);
        }
    }
}

static void run_block(const sgemm_job *job, float *scratch, int64_t m0, int64_t m1, int64_t n0, int64_t n1)
{
    const lg_sgemm_args *g = job->g;
    float *abuf = scratch, *bbuf = scratch + (size_t)MC * KC;
    for (int64_t jc = n0; jc < n1; jc += NC) {
        int64_t nc = min64(NC, n1 - jc);
        for (int64_t pc = 0; pc < g->K; pc += job->kcb) {
            int64_t kc = min64(job->kcb, g->K - pc);
            const float *bp = bbuf;
            if (g->pb) bp = g->pb->data + pc * g->pb->padded + (jc / NR) * kc * NR;
            else if (g->pack_b) g->pack_b(g->pack_b_arg, pc, kc, jc, nc, bbuf);
            else pack_b_block(g->b, pc, kc, jc, nc, bbuf);
            for (int64_t ic = m0; ic < m1; ic += MC) {
                int64_t mc = min64(MC, m1 - ic);
                const float *ap = abuf;
                if (g->pa) ap = g->pa->data + pc * g->pa->padded + (ic / MR) * kc * MR;
                else pack_a_block(g->a, ic, mc, pc, kc, abuf);
                macro_tile(job, ap, bp, ic, mc, jc, nc, pc, kc);
                if (g->post && pc + kc >= g->K) g->post(g->post_arg, g->c + ic * g->ldc + jc, g->ldc, mc, nc);
            }
        }
    }
}

static void run_tasks(void *arg, int64_t begin, int64_t end)
{
    sgemm_job *job = arg;
    const lg_sgemm_args *g = job->g;
    float *scratch = thread_scratch();
    if (!scratch) {
        atomic_store(&job->failed, 1);
        return;
    }
    for (int64_t t = begin; t < end; t++) {
        int64_t m0 = (t / job->tasks_n) * job->m_step, n0 = (t % job->tasks_n) * job->n_step;
        run_block(job, scratch, m0, min64(g->M, m0 + job->m_step), n0, min64(g->N, n0 + job->n_step));
    }
}

/* K == 0: the product is zero; only the output pass remains. */
static void empty_product(const lg_sgemm_args *g)
{
    lg_sgemm_tile t = { .alpha = 1, .accumulate = g->accumulate, .clamp = g->act == LG_SGEMM_ACT_CLAMP,
                        .lo = g->act_lo, .hi = g->act_hi, .bias = g->row_bias };
    for (int64_t i = 0; i < g->M; i++)
        for (int64_t j = 0; j < g->N; j++) {
            float *c = g->c + i * g->ldc + j;
            *c = tile_finish(0, c, g->row_bias ? i : 0, &t);
        }
    if (g->post) g->post(g->post_arg, g->c, g->ldc, g->M, g->N);
}

/* Splits C into tasks: columns first (at least 4 NR panels each, so B is packed once
 * and A is shared), then rows, aiming at 4 tasks per thread when the work is large. */
static void plan_tasks(sgemm_job *job, int threads)
{
    const lg_sgemm_args *g = job->g;
    int64_t tm = ceil_div(g->M, MR), tn = ceil_div(g->N, NR);
    double work = (double)g->M * (double)g->N * (double)g->K;
    int64_t want = (threads <= 1 || work < 65536.0) ? 1 : 4 * (int64_t)threads;
    int64_t sn = min64(want, max64(1, tn / 4));
    int64_t sm = min64(max64(1, tm / 2), ceil_div(want, sn));
    job->n_step = ceil_div(tn, sn) * NR;
    job->m_step = ceil_div(tm, sm) * MR;
    job->tasks_n = ceil_div(g->N, job->n_step);
}

int lg_sgemm(lg_threadpool *pool, const lg_sgemm_args *g)
{
    if (g->M <= 0 || g->N <= 0) return LG_OK;
    if (g->K <= 0) {
        empty_product(g);
        return LG_OK;
    }
    sgemm_job job = { .g = g, .kcb = k_block(g->K) };
    lg_simd_level lvl = lg_simd();
    job.kern = kernels[lvl].full;
    job.half = kernels[lvl].half;
    job.edge = kernels[lvl].edge;
    plan_tasks(&job, lg_threadpool_size(pool));
    atomic_init(&job.failed, 0);
    int64_t tasks = ceil_div(g->M, job.m_step) * job.tasks_n;
    lg_parallel_for(pool, tasks, 1, run_tasks, &job);
    if (atomic_load(&job.failed))
        return lg_error(LG_E_NOMEM, "out of memory for GEMM pack buffers (%zu bytes per thread)",
                        SCRATCH_FLOATS * sizeof(float));
    return LG_OK;
}

/* ---- batched products ------------------------------------------------------------- */

int lg_matmul_plan_make(int na, const int64_t *a, int nb, const int64_t *b, lg_matmul_plan *p)
{
    char sa[256], sb[256];
    memset(p, 0, sizeof(*p));
    if (na < 1 || nb < 1) return lg_error(LG_E_SHAPE, "matmul operands must have rank >= 1 (got %d and %d)", na, nb);
    p->M = na == 1 ? 1 : a[na - 2];
    p->K = a[na - 1];
    p->N = nb == 1 ? 1 : b[nb - 1];
    if ((nb == 1 ? b[0] : b[nb - 2]) != p->K)
        return lg_error(LG_E_SHAPE, "matmul of %s and %s: inner dimensions differ", lg_dims_str(na, a, sa, sizeof(sa)),
                        lg_dims_str(nb, b, sb, sizeof(sb)));
    int nba = na > 2 ? na - 2 : 0, nbb = nb > 2 ? nb - 2 : 0;
    LG_CHECK(lg_broadcast_shape(nba, a, nbb, b, &p->batch_ndim, p->batch_dims));
    lg_broadcast_strides(nba, a, p->batch_ndim, p->a_stride);
    lg_broadcast_strides(nbb, b, p->batch_ndim, p->b_stride);
    p->batch = lg_dims_numel_checked(p->batch_ndim, p->batch_dims);
    if (p->batch < 0) return lg_error(LG_E_LIMIT, "matmul batch size overflows");
    p->out_ndim = p->batch_ndim;
    memcpy(p->out_dims, p->batch_dims, (size_t)p->batch_ndim * sizeof(int64_t));
    if (na > 1) p->out_dims[p->out_ndim++] = p->M;
    if (nb > 1) p->out_dims[p->out_ndim++] = p->N;
    p->b_shared = true;
    for (int i = 0; i < p->batch_ndim; i++)
        if (p->b_stride[i] != 0) p->b_shared = false;
    return LG_OK;
}

void lg_matmul_plan_operands(const lg_matmul_plan *p, int64_t i, int64_t *ia, int64_t *ib)
{
    int64_t oa = 0, ob = 0;
    for (int d = p->batch_ndim - 1; d >= 0; d--) {
        int64_t idx = i % p->batch_dims[d];
        i /= p->batch_dims[d];
        oa += idx * p->a_stride[d];
        ob += idx * p->b_stride[d];
    }
    *ia = oa;
    *ib = ob;
}
