/*
 * contrib_rotary.c: RotaryEmbedding of com.microsoft: input [B, S, N*H] or [B, N, S, H],
 * position_ids [B, S] (or one offset: position = offset + s), cos_cache and sin_cache
 * [max_position, rot/2]; attributes interleaved, num_heads, rotary_embedding_dim. float32.
 */
#include "backends/cpu/ops/contrib_common.h"
#include "backends/cpu/ops/contrib_rotary.h"

typedef struct rot_geom {
    int64_t B, S, N, H, rot, max_pos;
    bool bnsh;
} rot_geom;

static int rot_geometry(const lg_kctx *c, rot_geom *g)
{
    const lg_tensor *x = c->inputs[0], *pid = lg_kin(c, 1), *cs = lg_kin(c, 2), *sn = lg_kin(c, 3);
    LG_CHECK(lg_contrib_need_f32(x, "input"));
    if (!pid || !cs || !sn) return lg_error(LG_E_SHAPE, "position_ids, cos_cache and sin_cache are required");
    LG_CHECK(lg_contrib_need_f32(cs, "cos_cache"));
    LG_CHECK(lg_contrib_need_f32(sn, "sin_cache"));
    if (pid->dtype != LG_INT64) return lg_error(LG_E_SHAPE, "position_ids must be int64");
    if (cs->ndim != 2 || !lg_dims_equal(cs->ndim, cs->dims, sn->ndim, sn->dims))
        return lg_error(LG_E_SHAPE, "cos_cache and sin_cache must both be [max_position, rotary_dim / 2]");
    if (x->ndim != 3 && x->ndim != 4) return lg_error(LG_E_SHAPE, "input has rank %d; expected 3 or 4", x->ndim);
    g->bnsh = x->ndim == 4;
    g->B = x->dims[0];
    g->S = x->dims[g->bnsh ? 2 : 1];
    g->max_pos = cs->dims[0];
    int64_t nh = lg_attr_int(c->node, "num_heads", 0), rd = lg_attr_int(c->node, "rotary_embedding_dim", 0);
    if (g->bnsh) {
        g->N = x->dims[1];
        g->H = x->dims[3];
    } else {
        int64_t hidden = x->dims[2], h = nh > 0 ? 0 : 2 * cs->dims[1];
        g->N = nh > 0 ? nh : (h ? hidden / h : 0);
        if (g->N <= 0 || hidden % g->N) return lg_error(LG_E_SHAPE, "hidden size %lld does not split into num_heads", (long long)hidden);
        g->H = hidden / g->N;
    }
    g->rot = rd > 0 ? rd : g->H;
    if (g->rot % 2 || g->rot > g->H || cs->dims[1] * 2 < g->rot)
        return lg_error(LG_E_SHAPE, "rotary dimension %lld does not fit head size %lld and cos_cache width %lld", (long long)g->rot,
                        (long long)g->H, (long long)cs->dims[1]);
    int64_t np = lg_tensor_numel_(pid);
    if (np != 1 && np != g->B * g->S) return lg_error(LG_E_SHAPE, "position_ids must be [B, S] or one offset");
    return LG_OK;
}

static int rot_infer(lg_kctx *c)
{
    rot_geom g;
    LG_CHECK(rot_geometry(c, &g));
    return lg_kout_shape(c, 0, LG_FLOAT, c->inputs[0]->ndim, c->inputs[0]->dims);
}

static int rot_exec(lg_kctx *c)
{
    rot_geom g;
    LG_CHECK(rot_geometry(c, &g));
    const lg_tensor *pid = c->inputs[1];
    const float *x = c->inputs[0]->data, *cs = c->inputs[2]->data, *sn = c->inputs[3]->data;
    float *y = c->outputs[0] ? c->outputs[0]->data : NULL;
    bool inter = lg_attr_int(c->node, "interleaved", 0) != 0;
    int64_t half = c->inputs[2]->dims[1];
    for (int64_t b = 0; y && b < g.B; b++)
        for (int64_t s = 0; s < g.S; s++) {
            const int64_t *p = pid->data;
            int64_t pos = lg_tensor_numel_(pid) == 1 ? p[0] + s : p[b * g.S + s];
            if (pos < 0 || pos >= g.max_pos)
                return lg_error(LG_E_RUNTIME, "position %lld is outside the cos/sin cache (0..%lld)", (long long)pos, (long long)g.max_pos - 1);
            for (int64_t n = 0; n < g.N; n++) {
                int64_t off = g.bnsh ? ((b * g.N + n) * g.S + s) * g.H : (b * g.S + s) * g.N * g.H + n * g.H;
                lg_rotary_apply(x + off, y + off, g.H, g.rot, cs + pos * half, sn + pos * half, inter);
            }
        }
    return LG_OK;
}

/* float16 runs through the float32 kernel (contrib_common.h). */
LG_CONTRIB_HALF(rot, rot_infer, rot_exec)

const lg_op_def lg_ops_contrib_rotary[] = {
    { "RotaryEmbedding", "com.microsoft", 1, 1, rot_hinfer, rot_hexec, NULL, NULL },
    { NULL },
};
