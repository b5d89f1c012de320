/*
 * vk_ops_gemm.c: Gemm (transA/transB, alpha/beta, C broadcast to M x N) and MatMul
 * (batched with numpy broadcasting of the batch dims, 1-D operands) on gemm.comp, with
 * the fused epilogue (activation, residual). Transposes are strides; batch dims are
 * merged into at most two levels of batch strides (more: the node stays on the CPU).
 * Constant operands are uploaded by the runtime as device tensors, as they are.
 */
#include <string.h>

#include "backends/vulkan/vk_ops_gemm.h"

#define GEMM_MAX_Z 65535u /* batches are workgroup z */

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
    lg_vk_binding bind[5] = { a, b, c ? *c : y, res ? *res : y, y };
    if (nz == 0 || g->M == 0 || g->N == 0) return LG_OK;
    return lg_vk_dispatch(r, p, 5, bind, g, sizeof(*g), lg_vk_groups(g->N, tile->bn), lg_vk_groups(g->M, tile->bm), nz);
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
    if (!lg_vkk_float_fits(d, a) || !lg_vkk_float_fits(d, b) || !lg_vkk_float_fits(d, y)) return false;
    if (a->ndim != 2 || b->ndim != 2 || y->ndim != 2) return false;
    if (c && (!lg_vkk_float_fits(d, c) || c->ndim > 2)) return false;
    return true;
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
    return lg_vk_gemm_record(r, &g, 1, lg_vk_bind_tensor(d, a), lg_vk_bind_tensor(d, b), c ? &cb : NULL,
                             dn->residual ? &rb : NULL, lg_vk_bind_tensor(d, y));
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
    if (!lg_vkk_float_fits(d, a) || !lg_vkk_float_fits(d, b) || !lg_vkk_float_fits(d, y)) return false;
    return matmul_plan_make(a, b, y, &p);
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
    return lg_vk_gemm_record(r, &g, p.nz, lg_vk_bind_tensor(d, a), lg_vk_bind_tensor(d, b), NULL,
                             dn->residual ? &rb : NULL, lg_vk_bind_tensor(d, y));
}

static bool gemm_epilogue(const lg_node *n, const lg_act *act, bool residual)
{
    return lg_vkk_epilogue_ok(n, act, residual);
}

const lg_vk_op lg_vk_ops_gemm[] = {
    { "Gemm", "", 7, LG_VK_OPSET_MAX, gemm_supports, NULL, NULL, gemm_record, gemm_epilogue },
    { "MatMul", "", 1, LG_VK_OPSET_MAX, matmul_supports, NULL, NULL, matmul_record, gemm_epilogue },
    { NULL }
};
