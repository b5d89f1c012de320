/*
 * contrib_gqa.c: GroupQueryAttention of com.microsoft (float32): num_heads query heads share
 * kv_num_heads key/value heads. query [B, S, N*H] (or packed Q|K|V when key is absent),
 * key/value [B, S, Nkv*H], past_key/past_value [B, Nkv, P, H], seqlens_k [B] (total
 * length - 1 per batch row), total_sequence_length; optional rotary embedding (do_rotary,
 * cos_cache/sin_cache, rotary_interleaved), softcap, local_window_size, attention_bias.
 * The new keys and values land at each row's past length in present_key/present_value
 * [B, Nkv, max(P, total), H]; attention is causal, keys past the row's length are masked.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/contrib_attn.h"
#include "backends/cpu/ops/contrib_common.h"
#include "backends/cpu/ops/contrib_rotary.h"

typedef struct gqa_geom {
    int64_t B, S, N, Nkv, H, P, T, present, qw; /* qw: width of a query row (packed: all three) */
    bool packed;
} gqa_geom;

static int gqa_geometry(const lg_kctx *c, gqa_geom *g)
{
    const lg_tensor *q = c->inputs[0], *k = lg_kin(c, 1), *v = lg_kin(c, 2), *pk = lg_kin(c, 3), *pv = lg_kin(c, 4),
                    *sl = lg_kin(c, 5), *tot = lg_kin(c, 6);
    g->N = lg_attr_int(c->node, "num_heads", 0);
    g->Nkv = lg_attr_int(c->node, "kv_num_heads", 0);
    LG_CHECK(lg_contrib_need_f32(q, "query"));
    if (lg_attr_int(c->node, "smooth_softmax", 0) || lg_kin(c, 11) || lg_kin(c, 12))
        return lg_error(LG_E_UNSUPPORTED, "smooth_softmax, head_sink and the extra inputs past attention_bias are not supported");
    if (g->N < 1 || g->Nkv < 1 || g->N % g->Nkv) return lg_error(LG_E_INVALID_MODEL, "num_heads must be a multiple of kv_num_heads");
    if (q->ndim != 3 || !sl || !tot || sl->dtype != LG_INT32 || tot->dtype != LG_INT32)
        return lg_error(LG_E_SHAPE, "query must be [B, S, D]; seqlens_k and total_sequence_length (int32) are required");
    g->B = q->dims[0];
    g->S = q->dims[1];
    g->packed = !k;
    g->qw = q->dims[2];
    int64_t div = g->packed ? g->N + 2 * g->Nkv : g->N;
    if (g->qw % div) return lg_error(LG_E_SHAPE, "query width %lld does not split into the heads", (long long)g->qw);
    g->H = g->qw / div;
    if (!g->packed) {
        LG_CHECK(lg_contrib_need_f32(k, "key"));
        LG_CHECK(lg_contrib_need_f32(v, "value"));
        if (!v || k->ndim != 3 || v->ndim != 3 || k->dims[2] != g->Nkv * g->H || v->dims[2] != g->Nkv * g->H || k->dims[1] != g->S)
            return lg_error(LG_E_SHAPE, "key and value must be [B, S, kv_num_heads x head_size]");
    }
    if (lg_tensor_numel_(sl) != g->B) return lg_error(LG_E_SHAPE, "seqlens_k must have B values");
    g->P = 0;
    if (pk) {
        if (!pv || pk->ndim != 4 || pk->dims[0] != g->B || pk->dims[1] != g->Nkv || pk->dims[3] != g->H ||
            !lg_dims_equal(pk->ndim, pk->dims, pv->ndim, pv->dims))
            return lg_error(LG_E_SHAPE, "past_key/past_value must be [B, kv_num_heads, P, head_size]");
        g->P = pk->dims[2];
    }
    int64_t total = tot->data ? ((const int32_t *)tot->data)[0] : g->P + g->S;
    g->T = total;
    g->present = g->P > total ? g->P : total;
    if (g->present < g->S) g->present = g->S;
    return LG_OK;
}

static int gqa_infer(lg_kctx *c)
{
    gqa_geom g;
    LG_CHECK(gqa_geometry(c, &g));
    LG_KNEED_DATA(c, 6);
    LG_CHECK(lg_kout_shape(c, 0, LG_FLOAT, 3, (int64_t[]){ g.B, g.S, g.N * g.H }));
    LG_CHECK(lg_kout_shape(c, 1, LG_FLOAT, 4, (int64_t[]){ g.B, g.Nkv, g.present, g.H }));
    return lg_kout_shape(c, 2, LG_FLOAT, 4, (int64_t[]){ g.B, g.Nkv, g.present, g.H });
}

static int gqa_exec(lg_kctx *c)
{
    gqa_geom g;
    LG_CHECK(gqa_geometry(c, &g));
    const lg_tensor *pk = lg_kin(c, 3), *pv = lg_kin(c, 4), *cs = lg_kin(c, 7), *sn = lg_kin(c, 8), *pid = lg_kin(c, 9),
                    *ab = lg_kin(c, 10);
    const int32_t *seqlens = c->inputs[5]->data;
    bool rotary = lg_attr_int(c->node, "do_rotary", 0) != 0, inter = lg_attr_int(c->node, "rotary_interleaved", 0) != 0;
    if (rotary && (!cs || !sn || cs->dtype != LG_FLOAT || sn->dtype != LG_FLOAT || cs->ndim != 2 || cs->dims[1] * 2 > g.H))
        return lg_error(LG_E_SHAPE, "do_rotary needs float32 cos_cache and sin_cache [max_position, rotary_dim / 2]");
    if (ab && (ab->dtype != LG_FLOAT || ab->ndim != 4 || ab->dims[2] != g.S || ab->dims[3] != g.T))
        return lg_error(LG_E_SHAPE, "attention_bias must be float32 [B or 1, N or 1, S, total_sequence_length]");
    int64_t kvw = g.Nkv * g.H, qrow = g.qw, krow = g.packed ? g.qw : kvw;
    const float *qd = c->inputs[0]->data;
    const float *kd = g.packed ? qd + g.N * g.H : c->inputs[1]->data, *vd = g.packed ? qd + g.N * g.H + kvw : c->inputs[2]->data;
    lg_tensor *prk = c->n_outputs > 1 ? c->outputs[1] : NULL, *prv = c->n_outputs > 2 ? c->outputs[2] : NULL;
    size_t kvn = (size_t)(g.B * g.Nkv * g.present * g.H);
    float *kall = prk ? prk->data : lg_calloc(kvn * sizeof(float) + 1), *vall = prv ? prv->data : lg_calloc(kvn * sizeof(float) + 1);
    float *qr = lg_alloc((size_t)(g.B * g.S * g.N * g.H + 1) * sizeof(float));
    lg_attn_head *heads = calloc((size_t)(g.B * g.N) + 1, sizeof(*heads));
    int rc = (!kall || !vall || !qr || !heads) ? lg_error(LG_E_NOMEM, "out of memory") : LG_OK;
    bool first_prompt = !pk && g.S == g.T;
    int64_t half = rotary ? cs->dims[1] : 0;
    for (int64_t b = 0; rc == LG_OK && b < g.B; b++) {
        int64_t total_b = (int64_t)seqlens[b] + 1, past_b = first_prompt ? 0 : total_b - g.S;
        if (total_b < 1 || total_b > g.present || past_b < 0 || past_b > g.P)
            rc = lg_error(LG_E_RUNTIME, "seqlens_k[%lld] = %d does not fit S = %lld and the past (%lld)", (long long)b, seqlens[b],
                          (long long)g.S, (long long)g.P);
        for (int64_t s = 0; rc == LG_OK && s < g.S; s++) {
            int64_t pos = pid ? ((const int64_t *)pid->data)[b * g.S + s] : past_b + s;
            if (rotary && (pos < 0 || pos >= cs->dims[0])) {
                rc = lg_error(LG_E_RUNTIME, "position %lld is outside the cos/sin cache", (long long)pos);
                break;
            }
            const float *cr = rotary ? (const float *)cs->data + pos * half : NULL, *sr = rotary ? (const float *)sn->data + pos * half : NULL;
            for (int64_t n = 0; n < g.N; n++) {
                const float *x = qd + (b * g.S + s) * qrow + n * g.H;
                float *y = qr + ((b * g.S + s) * g.N + n) * g.H;
                if (rotary) lg_rotary_apply(x, y, g.H, 2 * half, cr, sr, inter);
                else memcpy(y, x, (size_t)g.H * sizeof(float));
            }
            for (int64_t n = 0; n < g.Nkv; n++) {
                float *kt = kall + ((b * g.Nkv + n) * g.present + past_b + s) * g.H;
                float *vt = vall + ((b * g.Nkv + n) * g.present + past_b + s) * g.H;
                const float *kx = kd + (b * g.S + s) * krow + n * g.H;
                if (rotary) lg_rotary_apply(kx, kt, g.H, 2 * half, cr, sr, inter);
                else memcpy(kt, kx, (size_t)g.H * sizeof(float));
                memcpy(vt, vd + (b * g.S + s) * krow + n * g.H, (size_t)g.H * sizeof(float));
            }
        }
        for (int64_t n = 0; rc == LG_OK && pk && n < g.Nkv; n++) {
            size_t rows = (size_t)(past_b * g.H) * sizeof(float);
            memcpy(kall + (b * g.Nkv + n) * g.present * g.H, (const float *)pk->data + (b * g.Nkv + n) * g.P * g.H, rows);
            memcpy(vall + (b * g.Nkv + n) * g.present * g.H, (const float *)pv->data + (b * g.Nkv + n) * g.P * g.H, rows);
        }
        float *out = c->outputs[0] ? c->outputs[0]->data : NULL;
        for (int64_t n = 0; rc == LG_OK && out && n < g.N; n++) {
            lg_attn_head *h = &heads[b * g.N + n];
            int64_t kvh = n / (g.N / g.Nkv);
            *h = (lg_attn_head){ .q = qr + (b * g.S * g.N + n) * g.H, .qs = g.N * g.H, .k = kall + (b * g.Nkv + kvh) * g.present * g.H,
                                 .ks = g.H, .v = vall + (b * g.Nkv + kvh) * g.present * g.H, .vs = g.H,
                                 .out = out + b * g.S * g.N * g.H + n * g.H, .os = g.N * g.H, .S = g.S, .T = total_b, .H = g.H,
                                 .Hv = g.H, .scale = lg_attr_float(c->node, "scale", 0.0f), .softcap = lg_attr_float(c->node, "softcap", 0.0f),
                                 .key_end = total_b, .causal = true, .q_offset = past_b,
                                 .window = lg_attr_int(c->node, "local_window_size", -1), .mask_min = true };
            if (h->scale == 0.0f) h->scale = 1.0f / sqrtf((float)g.H);
            if (ab) {
                h->bias = (const float *)ab->data + ((ab->dims[0] == 1 ? 0 : b) * ab->dims[1] + (ab->dims[1] == 1 ? 0 : n)) * g.S * g.T;
                h->bias_rs = g.T;
            }
        }
    }
    if (rc == LG_OK && c->outputs[0]) rc = lg_attn_heads(c->pool, heads, g.B * g.N);
    if (!prk) lg_free(kall);
    if (!prv) lg_free(vall);
    lg_free(qr);
    free(heads);
    return rc;
}

/* float16 runs through the float32 kernel (contrib_common.h). */
LG_CONTRIB_HALF(gqa, gqa_infer, gqa_exec)

const lg_op_def lg_ops_contrib_gqa[] = {
    { "GroupQueryAttention", "com.microsoft", 1, 1, gqa_hinfer, gqa_hexec, NULL, NULL },
    { NULL },
};
