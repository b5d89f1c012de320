/*
 * contrib_matmul.c: the matrix products of com.microsoft: FusedMatMul (alpha * op(A) op(B)
 * with transA/transB, numpy batch broadcasting, through the CPU's SGEMM), MatMulNBits
 * (float A times 2/4/8-bit block-quantized B^T: B is dequantized once in prepare when it
 * is a weight), MatMulInteger16 (int16 x int16 -> int32) and DynamicQuantizeMatMul (A
 * quantized to uint8 on the fly as DynamicQuantizeLinear does, times int8/uint8 B).
 */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/gemm.h"
#include "backends/cpu/ops/contrib_common.h"

/* A batched product [..., M, K] x [..., K, N]: shapes, broadcast batch and offsets. */
typedef struct mm {
    int64_t M, N, K, batch;
    int nd;
    int64_t dims[LG_MAX_DIMS];
    int bnd;                       /* batch rank */
    int64_t bdims[LG_MAX_DIMS], sa[LG_MAX_DIMS], sb[LG_MAX_DIMS];
} mm;

static int mm_shape(const lg_tensor *a, const lg_tensor *b, bool ta, bool tb, mm *m)
{
    if (a->ndim < 1 || b->ndim < 1) return lg_error(LG_E_SHAPE, "MatMul operands must have at least one dimension");
    int64_t ad[LG_MAX_DIMS + 1], bd[LG_MAX_DIMS + 1];
    int an = a->ndim, bn = b->ndim;
    memcpy(ad, a->dims, sizeof(int64_t) * (size_t)an);
    memcpy(bd, b->dims, sizeof(int64_t) * (size_t)bn);
    if (an == 1) {
        ad[1] = ad[0];
        ad[0] = 1;
        an = 2;
        ta = false;
    }
    if (bn == 1) {
        bd[1] = 1;
        bn = 2;
        tb = false;
    }
    m->M = ta ? ad[an - 1] : ad[an - 2];
    m->K = ta ? ad[an - 2] : ad[an - 1];
    int64_t kb = tb ? bd[bn - 1] : bd[bn - 2];
    m->N = tb ? bd[bn - 2] : bd[bn - 1];
    if (kb != m->K) return lg_error(LG_E_SHAPE, "inner dimensions differ: A has K = %lld, B has %lld", (long long)m->K, (long long)kb);
    LG_CHECK(lg_broadcast_shape(an - 2, ad, bn - 2, bd, &m->bnd, m->bdims));
    lg_broadcast_strides(an - 2, ad, m->bnd, m->sa);
    lg_broadcast_strides(bn - 2, bd, m->bnd, m->sb);
    m->batch = lg_dims_numel(m->bnd, m->bdims);
    m->nd = m->bnd;
    memcpy(m->dims, m->bdims, sizeof(int64_t) * (size_t)m->bnd);
    if (a->ndim > 1) m->dims[m->nd++] = m->M;
    if (b->ndim > 1) m->dims[m->nd++] = m->N;
    return LG_OK;
}

/* Offsets (in matrices) of A and B for flat batch index i. */
static void mm_batch(const mm *m, int64_t i, int64_t *oa, int64_t *ob)
{
    *oa = *ob = 0;
    for (int d = m->bnd - 1; d >= 0; d--) {
        int64_t k = i % m->bdims[d];
        i /= m->bdims[d];
        *oa += k * m->sa[d];
        *ob += k * m->sb[d];
    }
}

/* ---- FusedMatMul ---- */

static int fused_flags(const lg_kctx *c, bool *ta, bool *tb)
{
    if (lg_attr_int(c->node, "transBatchA", 0) || lg_attr_int(c->node, "transBatchB", 0))
        return lg_error(LG_E_UNSUPPORTED, "transBatchA/transBatchB are not supported");
    *ta = lg_attr_int(c->node, "transA", 0) != 0;
    *tb = lg_attr_int(c->node, "transB", 0) != 0;
    return LG_OK;
}

static int fmm_infer(lg_kctx *c)
{
    bool ta, tb;
    mm m;
    LG_CHECK(lg_contrib_need_f32(c->inputs[0], "A"));
    LG_CHECK(lg_contrib_need_f32(c->inputs[1], "B"));
    LG_CHECK(fused_flags(c, &ta, &tb));
    LG_CHECK(mm_shape(c->inputs[0], c->inputs[1], ta, tb, &m));
    return lg_kout_shape(c, 0, LG_FLOAT, m.nd, m.dims);
}

static int fmm_exec(lg_kctx *c)
{
    const lg_tensor *a = c->inputs[0], *b = c->inputs[1];
    bool ta, tb;
    mm m;
    LG_CHECK(fused_flags(c, &ta, &tb));
    LG_CHECK(mm_shape(a, b, ta, tb, &m));
    if (!c->outputs[0]) return LG_OK;
    ta = ta && a->ndim > 1;
    tb = tb && b->ndim > 1;
    float *y = c->outputs[0]->data;
    for (int64_t i = 0; i < m.batch; i++) {
        int64_t oa, ob;
        mm_batch(&m, i, &oa, &ob);
        const float *pa = (const float *)a->data + oa * m.M * m.K, *pb = (const float *)b->data + ob * m.K * m.N;
        lg_sgemm_args g = { .M = m.M, .N = m.N, .K = m.K, .alpha = lg_attr_float(c->node, "alpha", 1.0f),
                            .a = { pa, ta ? 1 : m.K, ta ? m.M : 1 }, .b = { pb, tb ? 1 : m.N, tb ? m.K : 1 },
                            .c = y + i * m.M * m.N, .ldc = m.N };
        LG_CHECK(lg_sgemm(c->pool, &g));
    }
    return LG_OK;
}

/* ---- MatMulNBits: Y[..., N] = A[..., K] x dequant(B)[N, K]^T (+ bias) ---- */

typedef struct nbits {
    float *w; /* [N, K] dequantized */
} nbits;

static void nbits_release(void *p)
{
    nbits *s = p;
    if (s) lg_free(s->w);
    free(s);
}

typedef struct nbits_attr {
    int64_t K, N, bits, block, kblocks, blob;
} nbits_attr;

static int nbits_attrs(const lg_kctx *c, nbits_attr *a)
{
    a->K = lg_attr_int(c->node, "K", 0);
    a->N = lg_attr_int(c->node, "N", 0);
    a->bits = lg_attr_int(c->node, "bits", 4);
    a->block = lg_attr_int(c->node, "block_size", 0);
    if (a->K < 1 || a->N < 1) return lg_error(LG_E_INVALID_MODEL, "K = %lld and N = %lld must be positive", (long long)a->K, (long long)a->N);
    if (a->bits != 2 && a->bits != 4 && a->bits != 8) return lg_error(LG_E_UNSUPPORTED, "bits = %lld; supported: 2, 4, 8", (long long)a->bits);
    if (a->block < 16 || (a->block & (a->block - 1)))
        return lg_error(LG_E_INVALID_MODEL, "block_size = %lld; expected a power of two >= 16", (long long)a->block);
    a->kblocks = (a->K + a->block - 1) / a->block;
    a->blob = a->block * a->bits / 8;
    if (lg_kin(c, 4)) return lg_error(LG_E_UNSUPPORTED, "g_idx (act-order) is not supported");
    return LG_OK;
}

static int nbits_check(const lg_kctx *c, const nbits_attr *a)
{
    const lg_tensor *b = lg_kin(c, 1), *sc = lg_kin(c, 2), *zp = lg_kin(c, 3), *bias = lg_kin(c, 5);
    if (!b || b->dtype != LG_UINT8 || lg_tensor_numel_(b) != a->N * a->kblocks * a->blob)
        return lg_error(LG_E_SHAPE, "B must be uint8 [N=%lld, %lld blocks, %lld bytes]", (long long)a->N, (long long)a->kblocks,
                        (long long)a->blob);
    if (!sc || sc->dtype != LG_FLOAT || lg_tensor_numel_(sc) != a->N * a->kblocks)
        return lg_error(LG_E_SHAPE, "scales must be float32 with N x blocks = %lld values", (long long)(a->N * a->kblocks));
    int64_t zrow = (a->kblocks * a->bits + 7) / 8;
    if (zp && !((zp->dtype == LG_UINT8 && lg_tensor_numel_(zp) == a->N * zrow) ||
                (zp->dtype == LG_FLOAT && lg_tensor_numel_(zp) == a->N * a->kblocks)))
        return lg_error(LG_E_SHAPE, "zero_points must be packed uint8 [N x %lld] or float32 [N x blocks]", (long long)zrow);
    if (bias && (bias->dtype != LG_FLOAT || lg_tensor_numel_(bias) != a->N))
        return lg_error(LG_E_SHAPE, "bias must be float32 [N = %lld]", (long long)a->N);
    return LG_OK;
}

static float *nbits_dequant(const lg_kctx *c, const nbits_attr *a)
{
    const lg_tensor *b = lg_kin(c, 1), *sc = lg_kin(c, 2), *zp = lg_kin(c, 3);
    float *w = lg_alloc((size_t)(a->N * a->K) * sizeof(float));
    if (!w) {
        lg_error(LG_E_NOMEM, "out of memory for the dequantized B");
        return NULL;
    }
    const uint8_t *q = b->data;
    const float *s = sc->data;
    int64_t zrow = (a->kblocks * a->bits + 7) / 8, mask = (1 << a->bits) - 1;
    for (int64_t n = 0; n < a->N; n++)
        for (int64_t blk = 0; blk < a->kblocks; blk++) {
            float z = (float)(1 << (a->bits - 1));
            if (zp && zp->dtype == LG_FLOAT) z = ((const float *)zp->data)[n * a->kblocks + blk];
            else if (zp) {
                int64_t bit = blk * a->bits;
                z = (float)((((const uint8_t *)zp->data)[n * zrow + bit / 8] >> (bit % 8)) & mask);
            }
            float scale = s[n * a->kblocks + blk];
            const uint8_t *blob = q + (n * a->kblocks + blk) * a->blob;
            for (int64_t e = 0; e < a->block && blk * a->block + e < a->K; e++) {
                int64_t bit = e * a->bits;
                int v = (blob[bit / 8] >> (bit % 8)) & (int)mask;
                w[n * a->K + blk * a->block + e] = ((float)v - z) * scale;
            }
        }
    return w;
}

static int nbits_prepare(lg_kctx *c, void **state)
{
    nbits_attr a;
    LG_CHECK(nbits_attrs(c, &a));
    const lg_tensor *b = lg_kin(c, 1), *sc = lg_kin(c, 2), *zp = lg_kin(c, 3);
    if (!b || !b->data || !sc || !sc->data || (zp && !zp->data)) return LG_OK; /* not weights: dequantized per run */
    LG_CHECK(nbits_check(c, &a));
    nbits *s = calloc(1, sizeof(*s));
    if (!s) return lg_error(LG_E_NOMEM, "out of memory");
    if (!(s->w = nbits_dequant(c, &a))) {
        free(s);
        return LG_E_NOMEM;
    }
    *state = s;
    c->consumed |= 1u << 1; /* exec reads the float copy */
    return LG_OK;
}

static int nbits_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    nbits_attr a;
    LG_CHECK(lg_contrib_need_f32(x, "A"));
    LG_CHECK(nbits_attrs(c, &a));
    if (x->ndim < 1 || x->dims[x->ndim - 1] != a.K)
        return lg_error(LG_E_SHAPE, "A's last dimension must be K = %lld", (long long)a.K);
    int64_t dims[LG_MAX_DIMS];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    dims[x->ndim - 1] = a.N;
    return lg_kout_shape(c, 0, LG_FLOAT, x->ndim, dims);
}

static int nbits_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *bias = lg_kin(c, 5);
    nbits_attr a;
    LG_CHECK(nbits_attrs(c, &a));
    nbits *s = c->state;
    float *w = s ? s->w : NULL;
    if (!w) {
        LG_CHECK(nbits_check(c, &a));
        if (!(w = nbits_dequant(c, &a))) return LG_E_NOMEM;
    }
    int64_t rows = lg_tensor_numel_(x) / a.K;
    float *y = c->outputs[0] ? c->outputs[0]->data : NULL;
    int rc = LG_OK;
    if (y && rows > 0) {
        lg_sgemm_args g = { .M = rows, .N = a.N, .K = a.K, .alpha = 1, .a = { x->data, a.K, 1 }, .b = { w, 1, a.K }, .c = y, .ldc = a.N };
        rc = lg_sgemm(c->pool, &g);
        for (int64_t r = 0; rc == LG_OK && bias && r < rows; r++)
            for (int64_t n = 0; n < a.N; n++) y[r * a.N + n] += ((const float *)bias->data)[n];
    }
    if (!s || w != s->w) lg_free(w);
    return rc;
}

/* ---- MatMulInteger16 and DynamicQuantizeMatMul: exact integer sums ---- */

static int mmi16_infer(lg_kctx *c)
{
    const lg_tensor *a = c->inputs[0], *b = c->inputs[1];
    if ((a->dtype != LG_INT16 && a->dtype != LG_UINT16) || (b->dtype != LG_INT16 && b->dtype != LG_UINT16))
        return lg_error(LG_E_UNSUPPORTED, "A and B must be int16 or uint16 (got %s, %s)", lg_dtype_name(a->dtype), lg_dtype_name(b->dtype));
    mm m;
    LG_CHECK(mm_shape(a, b, false, false, &m));
    return lg_kout_shape(c, 0, (a->dtype == LG_UINT16 && b->dtype == LG_UINT16) ? LG_UINT32 : LG_INT32, m.nd, m.dims);
}

static int mmi16_exec(lg_kctx *c)
{
    const lg_tensor *a = c->inputs[0], *b = c->inputs[1];
    mm m;
    LG_CHECK(mm_shape(a, b, false, false, &m));
    lg_tensor *y = c->outputs[0];
    for (int64_t i = 0; y && i < m.batch; i++) {
        int64_t oa, ob;
        mm_batch(&m, i, &oa, &ob);
        for (int64_t r = 0; r < m.M; r++)
            for (int64_t n = 0; n < m.N; n++) {
                int64_t sum = 0;
                for (int64_t k = 0; k < m.K; k++)
                    sum += lg_tensor_get_i64(a, oa * m.M * m.K + r * m.K + k) * lg_tensor_get_i64(b, ob * m.K * m.N + k * m.N + n);
                int64_t at = (i * m.M + r) * m.N + n;
                if (y->dtype == LG_UINT32) ((uint32_t *)y->data)[at] = (uint32_t)sum;
                else ((int32_t *)y->data)[at] = (int32_t)sum;
            }
    }
    return LG_OK;
}

static int dqmm_infer(lg_kctx *c)
{
    const lg_tensor *a = c->inputs[0], *b = c->inputs[1];
    LG_CHECK(lg_contrib_need_f32(a, "A"));
    if (b->dtype != LG_INT8 && b->dtype != LG_UINT8)
        return lg_error(LG_E_UNSUPPORTED, "B has dtype %s; expected int8 or uint8", lg_dtype_name(b->dtype));
    if (b->ndim != 2) return lg_error(LG_E_UNSUPPORTED, "B must be a [K, N] matrix");
    mm m;
    LG_CHECK(mm_shape(a, b, false, false, &m));
    return lg_kout_shape(c, 0, LG_FLOAT, m.nd, m.dims);
}

static int dqmm_exec(lg_kctx *c)
{
    const lg_tensor *a = c->inputs[0], *b = c->inputs[1], *bs = lg_kin(c, 2), *bz = lg_kin(c, 3), *bias = lg_kin(c, 4);
    mm m;
    LG_CHECK(mm_shape(a, b, false, false, &m));
    int64_t nbs = bs ? lg_tensor_numel_(bs) : 0, nbz = bz ? lg_tensor_numel_(bz) : 0;
    if (!bs || bs->dtype != LG_FLOAT || (nbs != 1 && nbs != m.N))
        return lg_error(LG_E_SHAPE, "b_scale must be float32 with 1 or N = %lld values", (long long)m.N);
    if (bz && (bz->dtype != b->dtype || (nbz != 1 && nbz != m.N)))
        return lg_error(LG_E_SHAPE, "b_zero_point must be %s with 1 or N values", lg_dtype_name(b->dtype));
    if (bias && (bias->dtype != LG_FLOAT || lg_tensor_numel_(bias) != m.N))
        return lg_error(LG_E_SHAPE, "bias must be float32 [N = %lld]", (long long)m.N);
    /* A -> uint8 as DynamicQuantizeLinear: the range always holds 0. */
    const float *x = a->data;
    int64_t na = lg_tensor_numel_(a);
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < na; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    lg_qparam qa = { hi == lo ? 1.0f : (hi - lo) / 255.0f, 0, LG_UINT8 };
    float z = nearbyintf(0.f - lo / qa.scale);
    qa.zp = (int)(z < 0 ? 0 : z > 255 ? 255 : z);
    uint8_t *aq = malloc((size_t)(na > 0 ? na : 1));
    if (!aq) return lg_error(LG_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < na; i++) aq[i] = (uint8_t)lg_quant(&qa, x[i]);
    float *y = c->outputs[0] ? c->outputs[0]->data : NULL;
    for (int64_t i = 0; y && i < m.batch; i++) {
        int64_t oa, ob;
        mm_batch(&m, i, &oa, &ob);
        for (int64_t r = 0; r < m.M; r++)
            for (int64_t n = 0; n < m.N; n++) {
                int64_t sum = 0;
                int zb = bz ? lg_q_at(bz, nbz == 1 ? 0 : n) : 0;
                for (int64_t k = 0; k < m.K; k++)
                    sum += (int64_t)(aq[oa * m.M * m.K + r * m.K + k] - qa.zp) * (lg_q_at(b, k * m.N + n) - zb);
                float v = (float)sum * qa.scale * ((const float *)bs->data)[nbs == 1 ? 0 : n];
                y[(i * m.M + r) * m.N + n] = v + (bias ? ((const float *)bias->data)[n] : 0.f);
            }
    }
    free(aq);
    return LG_OK;
}

/* float16 runs through the float32 kernel (contrib_common.h). */
LG_CONTRIB_HALF(fmm, fmm_infer, fmm_exec)

const lg_op_def lg_ops_contrib_matmul[] = {
    { "FusedMatMul", "com.microsoft", 1, 1, fmm_hinfer, fmm_hexec, NULL, NULL },
    { "MatMulNBits", "com.microsoft", 1, 1, nbits_infer, nbits_exec, nbits_prepare, nbits_release },
    { "MatMulInteger16", "com.microsoft", 1, 1, mmi16_infer, mmi16_exec, NULL, NULL },
    { "DynamicQuantizeMatMul", "com.microsoft", 1, 1, dqmm_infer, dqmm_exec, NULL, NULL },
    { NULL },
};
