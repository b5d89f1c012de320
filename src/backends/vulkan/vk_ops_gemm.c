/*
 * vk_ops_gemm.c: Gemm (transA/transB, alpha/beta, C broadcast to M x N) and MatMul
 * (batched with numpy broadcasting of the batch dims, 1-D operands) on gemm.comp, with
 * the fused epilogue (activation, residual). Transposes are strides; batch dims are
 * merged into at most two levels of batch strides (more: the node stays on the CPU).
 * Constant operands are uploaded by the runtime as device tensors, as they are, except a
 * constant 2-D B larger than one binding: prepare uploads it as column blocks that each
 * fit one, and record runs one dispatch per block (lg_vk_blocks, shared with Conv).
 */
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/vk_ops_gemm.h"

#define GEMM_MAX_Z 65535u /* batches are workgroup z */

bool lg_vk_gemm_grid_ok(int64_t M, int64_t N)
{
    /* 32: the narrowest BN and the smallest BM for M >= 16; M < 16 is one group row */
    return (N + 31) / 32 <= 65535 && (M + 31) / 32 <= 65535;
}

int lg_vk_gemm_record(lg_vk_rec *r, lg_vk_gemm_args *g, uint32_t nz, lg_vk_binding a, lg_vk_binding b,
                      const lg_vk_binding *c, const lg_vk_binding *res, lg_vk_binding y)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_vk_tune *t = lg_vk_tune_get(d);
    const lg_vk_tile *tile = g->M < 16 ? &t->skinny : &t->gemm;
    uint32_t spec[6];
    lg_vk_pipeline *p;
    lg_vk_tile_spec(tile, spec);
    LG_CHECK(lg_vk_pipeline_get(d, "gemm", 5, sizeof(*g), 6, spec, &p));
    g->flags = (c ? 1u : 0u) | (res ? 2u : 0u);
    if (g->nb2 == 0) g->nb2 = 1;
    if (g->ldy == 0) g->ldy = g->N;
    lg_vk_binding bind[5] = { a, b, c ? *c : y, res ? *res : y, y };
    if (nz == 0 || g->M == 0 || g->N == 0) return LG_OK;
    return lg_vk_dispatch(r, p, 5, bind, g, sizeof(*g), lg_vk_groups(g->N, tile->bn), lg_vk_groups(g->M, tile->bm), nz);
}

/* ---- constants larger than one binding ---- */

#define BLOCK_VARIANT 0x424c0000u /* (key, this + block index) names a block */

bool lg_vk_blocks_possible(lg_device *d, int64_t k)
{
    return (uint64_t)k * lg_vkk_esize(d, LG_FLOAT) <= lg_vk_device_caps(d)->max_storage_range;
}

bool lg_vk_blocks_needed(lg_device *d, int64_t k, int64_t cols)
{
    return (uint64_t)(k * cols) * lg_vkk_esize(d, LG_FLOAT) > lg_vk_device_caps(d)->max_storage_range;
}

int lg_vk_blocks_upload(lg_device *d, const void *key, const float *src, int64_t k, int64_t cols, int64_t sk,
                        int64_t sj, bool col_major, lg_vk_blocks *out)
{
    int64_t per = (int64_t)(lg_vk_device_caps(d)->max_storage_range / lg_vkk_esize(d, LG_FLOAT)) / k;
    if (per > cols) per = cols;
    memset(out, 0, sizeof(*out));
    out->per = (uint32_t)per;
    out->n = (int)((cols + per - 1) / per);
    out->w = calloc((size_t)out->n, sizeof(*out->w));
    float *tmp = malloc(sizeof(float) * (size_t)(k * per));
    if (!out->w || !tmp) {
        free(tmp);
        free(out->w);
        return lg_error(LG_E_NOMEM, "vulkan: host memory for a %lld x %lld weight block", (long long)k, (long long)per);
    }
    int rc = LG_OK;
    for (int b = 0; b < out->n && rc == LG_OK; b++) {
        int64_t j0 = b * per, nj = cols - j0 < per ? cols - j0 : per;
        for (int64_t kk = 0; kk < k; kk++)
            for (int64_t j = 0; j < nj; j++)
                tmp[col_major ? j * k + kk : kk * nj + j] = src[kk * sk + (j0 + j) * sj];
        rc = lg_vk_weights_upload_f32(d, key, BLOCK_VARIANT + (uint32_t)b, tmp, k * nj, &out->w[b]);
    }
    free(tmp);
    if (rc != LG_OK) lg_vk_blocks_release(d, out);
    return rc;
}

void lg_vk_blocks_release(lg_device *d, lg_vk_blocks *b)
{
    for (int i = 0; b->w && i < b->n; i++)
        if (b->w[i]) lg_vk_weights_release(d, b->w[i]);
    free(b->w);
    memset(b, 0, sizeof(*b));
}

/* B of a Gemm / MatMul node: constant, 2-D and larger than one binding. */
static bool b_in_blocks(lg_device *d, const lg_tensor *b)
{
    return b && b->data && b->ndim == 2 && b->dtype == LG_FLOAT && !lg_vkk_fits(d, b);
}

static int gemm_prepare(lg_device *d, const lg_dev_node *dn, void **state)
{
    const lg_tensor *b = dn->inputs[1];
    *state = NULL;
    if (!b_in_blocks(d, b)) return LG_OK;
    bool tb = strcmp(dn->node->op_type, "Gemm") == 0 && lg_attr_int(dn->node, "transB", 0) != 0;
    int64_t K = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
    lg_vk_blocks *bl = calloc(1, sizeof(*bl));
    if (!bl) return lg_error(LG_E_NOMEM, "vulkan: out of host memory");
    int rc = lg_vk_blocks_upload(d, dn->node, b->data, K, N, tb ? 1 : N, tb ? K : 1, false, bl);
    if (rc != LG_OK) {
        free(bl);
        return rc;
    }
    if (dn->consumed) *dn->consumed |= 0x2u;
    *state = bl;
    return LG_OK;
}

static void gemm_release(lg_device *d, void *state)
{
    lg_vk_blocks_release(d, state);
    free(state);
}

/* One dispatch per column block of B (state), or one with B bound whole. */
static int record_blocks(lg_vk_rec *r, const lg_dev_node *dn, lg_vk_gemm_args *g, lg_vk_binding a, lg_vk_binding b,
                         const lg_vk_binding *c, const lg_vk_binding *res, lg_vk_binding y, uint32_t nz)
{
    const lg_vk_blocks *bl = dn->state;
    if (!bl) return lg_vk_gemm_record(r, g, nz, a, b, c, res, y);
    uint32_t N = g->N;
    for (int i = 0; i < bl->n; i++) {
        lg_vk_gemm_args gb = *g;
        gb.ycol = (uint32_t)i * bl->per;
        gb.N = N - gb.ycol < bl->per ? N - gb.ycol : bl->per;
        gb.ldy = N;
        gb.sbk = gb.N;
        gb.sbn = 1;
        gb.sb1 = gb.sb2 = 0;
        LG_CHECK(lg_vk_gemm_record(r, &gb, nz, a, lg_vk_weight_binding(bl->w[i]), c, res, y));
    }
    return LG_OK;
}

static void set_epilogue(lg_vk_gemm_args *g, const lg_dev_node *dn)
{
    lg_vkk_epi e = lg_vkk_epilogue(dn);
    g->act = e.act;
    g->act_alpha = e.alpha;
    g->act_beta = e.beta;
}

/* ---- Gemm ---- */

static bool gemm_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                          int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    const lg_tensor *a = lg_vkk_arg(n_in, in, 0), *b = lg_vkk_arg(n_in, in, 1), *c = lg_vkk_arg(n_in, in, 2);
    const lg_tensor *y = n_out > 0 ? out[0] : NULL;
    if (!lg_vkk_float_fits(d, a) || !lg_vkk_float_fits(d, y) || !b || a->ndim != 2 || b->ndim != 2 || y->ndim != 2)
        return false;
    if (!lg_vkk_float_fits(d, b) && !(b_in_blocks(d, b) && lg_vk_blocks_possible(d, a->dims[lg_attr_int(n, "transA", 0) ? 0 : 1])))
        return false;
    if (c && (!lg_vkk_float_fits(d, c) || c->ndim > 2)) return false;
    return lg_vk_gemm_grid_ok(y->dims[0], y->dims[1]);
}

static int gemm_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_node *n = dn->node;
    const lg_tensor *a = dn->inputs[0], *b = dn->inputs[1], *c = lg_vkk_in(dn, 2), *y = dn->outputs[0];
    bool ta = lg_attr_int(n, "transA", 0) != 0, tb = lg_attr_int(n, "transB", 0) != 0;
    lg_vk_gemm_args g;
    memset(&g, 0, sizeof(g));
    g.M = (uint32_t)y->dims[0];
    g.N = (uint32_t)y->dims[1];
    g.K = (uint32_t)(ta ? a->dims[0] : a->dims[1]);
    g.sam = ta ? 1 : g.K;
    g.sak = ta ? g.M : 1;
    g.sbk = tb ? 1 : g.N;
    g.sbn = tb ? g.K : 1;
    g.alpha = lg_attr_float(n, "alpha", 1.0f);
    g.beta = lg_attr_float(n, "beta", 1.0f);
    g.nb2 = 1;
    set_epilogue(&g, dn);
    lg_vk_binding cb, rb;
    if (c) {
        uint32_t s[2];
        lg_vkk_bcast_strides(c->ndim, c->dims, 2, y->dims, s);
        g.scm = s[0];
        g.scn = s[1];
        cb = lg_vk_bind_tensor(d, c);
    }
    if (dn->residual) rb = lg_vk_bind_tensor(d, dn->residual);
    return record_blocks(r, dn, &g, lg_vk_bind_tensor(d, a), dn->state ? lg_vk_bind_tensor(d, a) : lg_vk_bind_tensor(d, b),
                         c ? &cb : NULL, dn->residual ? &rb : NULL, lg_vk_bind_tensor(d, y), 1);
}

/* ---- MatMul ---- */

typedef struct matmul_plan {
    uint32_t M, N, K, nz, nb2;
    uint32_t sa1, sa2, sb1, sb2;
} matmul_plan;

/* Batch dims of a and b against the output's, merged into at most two levels. */
static bool matmul_plan_make(const lg_tensor *a, const lg_tensor *b, const lg_tensor *y, matmul_plan *p)
{
    int ra = a->ndim, rb = b->ndim;
    if (ra < 1 || rb < 1 || ra > LG_MAX_DIMS || rb > LG_MAX_DIMS) return false;
    int64_t M = ra >= 2 ? a->dims[ra - 2] : 1, K = a->dims[ra - 1];
    int64_t N = rb >= 2 ? b->dims[rb - 1] : 1, Kb = rb >= 2 ? b->dims[rb - 2] : b->dims[0];
    if (K != Kb) return false;
    int nba = ra > 2 ? ra - 2 : 0, nbb = rb > 2 ? rb - 2 : 0, nb = nba > nbb ? nba : nbb;
    int64_t size[LG_MAX_DIMS], sa[LG_MAX_DIMS], sbs[LG_MAX_DIMS];
    int64_t za = M * K, zb = K * N, nz = 1;
    int m = 0;
    /* innermost batch dim first */
    for (int k = nb - 1; k >= 0; k--) {
        int ja = k - (nb - nba), jb = k - (nb - nbb);
        int64_t da = ja >= 0 ? a->dims[ja] : 1, db = jb >= 0 ? b->dims[jb] : 1;
        int64_t dz = da > db ? da : db;
        if ((da != dz && da != 1) || (db != dz && db != 1)) return false;
        int64_t s_a = da == 1 ? 0 : za, s_b = db == 1 ? 0 : zb;
        za *= da;
        zb *= db;
        nz *= dz;
        if (dz == 1) continue;
        /* merges into the inner level found before when contiguous with it (0 strides too) */
        if (m > 0 && sa[m - 1] * size[m - 1] == s_a && sbs[m - 1] * size[m - 1] == s_b) {
            size[m - 1] *= dz;
            continue;
        }
        if (m == 2) return false;
        size[m] = dz;
        sa[m] = s_a;
        sbs[m] = s_b;
        m++;
    }
    if (nz != lg_tensor_numel_(y) / (M * N > 0 ? M * N : 1) && M * N > 0) return false;
    if (nz > GEMM_MAX_Z || za >= ((int64_t)1 << 31) || zb >= ((int64_t)1 << 31)) return false;
    memset(p, 0, sizeof(*p));
    p->M = (uint32_t)M;
    p->N = (uint32_t)N;
    p->K = (uint32_t)K;
    p->nz = (uint32_t)nz;
    /* level 2 (inner, z2) is the first found; level 1 (outer, z1) the second */
    p->nb2 = m >= 1 ? (uint32_t)size[0] : 1;
    p->sa2 = m >= 1 ? (uint32_t)sa[0] : 0;
    p->sb2 = m >= 1 ? (uint32_t)sbs[0] : 0;
    p->sa1 = m >= 2 ? (uint32_t)sa[1] : 0;
    p->sb1 = m >= 2 ? (uint32_t)sbs[1] : 0;
    return true;
}

static bool matmul_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                            int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    const lg_tensor *a = lg_vkk_arg(n_in, in, 0), *b = lg_vkk_arg(n_in, in, 1), *y = n_out > 0 ? out[0] : NULL;
    matmul_plan p;
    if (!lg_vkk_float_fits(d, a) || !lg_vkk_float_fits(d, y) || !b) return false;
    if (!lg_vkk_float_fits(d, b) && !(b_in_blocks(d, b) && lg_vk_blocks_possible(d, b->dims[0]))) return false;
    return matmul_plan_make(a, b, y, &p) && lg_vk_gemm_grid_ok(p.M, p.N);
}

static int matmul_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_tensor *a = dn->inputs[0], *b = dn->inputs[1], *y = dn->outputs[0];
    matmul_plan p;
    if (!matmul_plan_make(a, b, y, &p)) return lg_error(LG_E_RUNTIME, "MatMul: shapes changed after supports()");
    lg_vk_gemm_args g;
    memset(&g, 0, sizeof(g));
    g.M = p.M;
    g.N = p.N;
    g.K = p.K;
    g.sam = p.K;
    g.sak = 1;
    g.sbk = p.N;
    g.sbn = 1;
    g.nb2 = p.nb2;
    g.sa1 = p.sa1;
    g.sa2 = p.sa2;
    g.sb1 = p.sb1;
    g.sb2 = p.sb2;
    g.alpha = 1.0f;
    set_epilogue(&g, dn);
    lg_vk_binding rb;
    if (dn->residual) rb = lg_vk_bind_tensor(d, dn->residual);
    return record_blocks(r, dn, &g, lg_vk_bind_tensor(d, a), dn->state ? lg_vk_bind_tensor(d, a) : lg_vk_bind_tensor(d, b),
                         NULL, dn->residual ? &rb : NULL, lg_vk_bind_tensor(d, y), p.nz);
}

static bool gemm_epilogue(const lg_node *n, const lg_act *act, bool residual)
{
    return lg_vkk_epilogue_ok(n, act, residual);
}

const lg_vk_op lg_vk_ops_gemm[] = {
    { "Gemm", "", 7, LG_VK_OPSET_MAX, gemm_supports, gemm_prepare, gemm_release, gemm_record, gemm_epilogue },
    { "MatMul", "", 1, LG_VK_OPSET_MAX, matmul_supports, gemm_prepare, gemm_release, matmul_record, gemm_epilogue },
    { NULL }
};
