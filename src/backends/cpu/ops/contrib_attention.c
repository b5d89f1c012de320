/*
 * contrib_attention.c: Attention and MultiHeadAttention of com.microsoft (float32).
 *
 * Attention: input [B, S, D_in] x weights [D_in, Dq + Dk + Dv] (+ bias) gives Q, K, V;
 * past [2, B, N, P, H] is prepended to K and V and present returns them [2, B, N, P + S, H];
 * mask_index is key lengths [B], end and start positions [2B], or a 0/1 mask [B, T] or
 * [B, S, T]; attention_bias [B|1, N|1, S, T]; unidirectional makes it causal.
 * MultiHeadAttention: query [B, S, D], key and value [B, L, D] or [B, N, L, H], optional
 * bias [Dq + Dk + Dv], key_padding_mask ([B] lengths or [B, T] 0/1), attention_bias,
 * past_key/past_value [B, N, P, H] and present_key/present_value [B, N, P + L, H].
 * Masked scores get mask_filter_value (-10000) added, as ONNX Runtime does.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/gemm.h"
#include "backends/cpu/ops/contrib_attn.h"
#include "backends/cpu/ops/contrib_common.h"

/* What both operators share once Q, K, V are laid out. */
typedef struct attn_geom {
    int64_t B, S, N, P, L, T, H, Hv;
} attn_geom;

typedef struct attn_masks {
    const lg_tensor *mask, *bias;
    bool causal;
    float filter, scale;
} attn_masks;

static int check_masks(const attn_geom *g, const lg_tensor *mask, const lg_tensor *bias, bool attention_op)
{
    if (mask) {
        int64_t n = lg_tensor_numel_(mask);
        if (mask->dtype != LG_INT32) return lg_error(LG_E_SHAPE, "the mask must be int32");
        bool ok = n == g->B || (attention_op && n == 2 * g->B) || (mask->ndim == 2 && n == g->B * g->T) ||
                  (attention_op && mask->ndim == 3 && n == g->B * g->S * g->T);
        if (!ok) return lg_error(LG_E_UNSUPPORTED, "mask of %lld values: supported are [B], %s[B, T] and %s", (long long)n,
                                 attention_op ? "[2B], " : "", attention_op ? "[B, S, T]" : "nothing else");
    }
    if (bias) {
        LG_CHECK(lg_contrib_need_f32(bias, "attention_bias"));
        if (bias->ndim != 4 || (bias->dims[0] != 1 && bias->dims[0] != g->B) || (bias->dims[1] != 1 && bias->dims[1] != g->N) ||
            bias->dims[2] != g->S || bias->dims[3] != g->T)
            return lg_error(LG_E_SHAPE, "attention_bias must be [B or 1, N or 1, S, T]");
    }
    return LG_OK;
}

/* Heads for batch b, head n: masks and bias from m; q/k/v/out pointers set by the caller. */
static void head_masks(lg_attn_head *h, const attn_geom *g, const attn_masks *m, int64_t b, int64_t n)
{
    h->S = g->S;
    h->T = g->T;
    h->H = g->H;
    h->Hv = g->Hv;
    h->scale = m->scale;
    h->filter = m->filter;
    h->key_end = g->T;
    h->causal = m->causal;
    h->q_offset = g->P;
    if (m->mask) {
        const int32_t *mk = m->mask->data;
        int64_t cnt = lg_tensor_numel_(m->mask);
        if (cnt == g->B) h->key_end = mk[b];
        else if (cnt == 2 * g->B && m->mask->ndim == 1) {
            h->key_end = mk[b];
            h->key_begin = mk[g->B + b];
        } else if (m->mask->ndim == 2) {
            h->keep = mk + b * g->T;
        } else {
            h->keep = mk + b * g->S * g->T;
            h->keep_rs = g->T;
        }
    }
    if (m->bias) {
        const lg_tensor *t = m->bias;
        h->bias = (const float *)t->data + ((t->dims[0] == 1 ? 0 : b) * t->dims[1] + (t->dims[1] == 1 ? 0 : n)) * g->S * g->T;
        h->bias_rs = g->T;
    }
}

/* K or V of all heads with the past in front: dst [B, N, T, Hd] from past [B, N, P, Hd] and
 * the new rows src (row r of batch b, head n at src + ((b * rows_b + r) * rs + n * hs)). */
static void concat_past(float *dst, const float *past, const float *src, const attn_geom *g, int64_t Hd, int64_t rs, int64_t hs,
                        int64_t head_stride_new, int64_t rows_b)
{
    for (int64_t b = 0; b < g->B; b++)
        for (int64_t n = 0; n < g->N; n++) {
            float *d = dst + (b * g->N + n) * g->T * Hd;
            if (g->P) memcpy(d, past + (b * g->N + n) * g->P * Hd, (size_t)(g->P * Hd) * sizeof(float));
            for (int64_t r = 0; r < g->L; r++) {
                const float *s = head_stride_new ? src + ((b * g->N + n) * g->L + r) * Hd : src + (b * rows_b + r) * rs + n * hs;
                memcpy(d + (g->P + r) * Hd, s, (size_t)Hd * sizeof(float));
            }
        }
}

static float scale_of(const lg_kctx *c, int64_t H)
{
    float s = lg_attr_float(c->node, "scale", 0.0f);
    return s != 0.0f ? s : 1.0f / sqrtf((float)H);
}

/* ---- Attention ---- */

typedef struct attention_geom {
    attn_geom g;
    int64_t din, dq, dk, dv;
} attention_geom;

static int attention_geometry(const lg_kctx *c, attention_geom *a)
{
    const lg_tensor *x = c->inputs[0], *w = lg_kin(c, 1), *bias = lg_kin(c, 2), *past = lg_kin(c, 4);
    int64_t n = lg_attr_int(c->node, "num_heads", 0);
    LG_CHECK(lg_contrib_need_f32(x, "input"));
    LG_CHECK(lg_contrib_need_f32(w, "weights"));
    LG_CHECK(lg_contrib_need_f32(bias, "bias"));
    if (lg_attr_int(c->node, "do_rotary", 0) || lg_attr_int(c->node, "past_present_share_buffer", 0))
        return lg_error(LG_E_UNSUPPORTED, "do_rotary and past_present_share_buffer are not supported");
    if (x->ndim != 3 || !w || w->ndim != 2 || w->dims[0] != x->dims[2])
        return lg_error(LG_E_SHAPE, "input must be [B, S, D_in] and weights [D_in, Dq + Dk + Dv]");
    int cnt = 0;
    const int64_t *qkv = lg_attr_ints(c->node, "qkv_hidden_sizes", &cnt);
    a->din = x->dims[2];
    a->dq = cnt == 3 ? qkv[0] : w->dims[1] / 3;
    a->dk = cnt == 3 ? qkv[1] : w->dims[1] / 3;
    a->dv = cnt == 3 ? qkv[2] : w->dims[1] / 3;
    if (n < 1 || a->dq + a->dk + a->dv != w->dims[1] || a->dq % n || a->dv % n || a->dq != a->dk)
        return lg_error(LG_E_SHAPE, "weights' %lld columns do not split into Q, K, V of num_heads = %lld heads", (long long)w->dims[1],
                        (long long)n);
    if (bias && lg_tensor_numel_(bias) != w->dims[1]) return lg_error(LG_E_SHAPE, "bias must have %lld values", (long long)w->dims[1]);
    attn_geom *g = &a->g;
    g->B = x->dims[0];
    g->S = g->L = x->dims[1];
    g->N = n;
    g->H = a->dq / n;
    g->Hv = a->dv / n;
    g->P = 0;
    if (past) {
        LG_CHECK(lg_contrib_need_f32(past, "past"));
        if (past->ndim != 5 || past->dims[0] != 2 || past->dims[1] != g->B || past->dims[2] != n || past->dims[4] != g->H || g->H != g->Hv)
            return lg_error(LG_E_SHAPE, "past must be [2, B, num_heads, P, head_size]");
        g->P = past->dims[3];
    }
    g->T = g->P + g->S;
    return check_masks(g, lg_kin(c, 3), lg_kin(c, 5), true);
}

static int attention_infer(lg_kctx *c)
{
    attention_geom a;
    LG_CHECK(attention_geometry(c, &a));
    const attn_geom *g = &a.g;
    if (c->n_outputs > 1 && c->outputs[1] && g->H != g->Hv)
        return lg_error(LG_E_UNSUPPORTED, "present needs equal K and V head sizes (%lld, %lld)", (long long)g->H, (long long)g->Hv);
    LG_CHECK(lg_kout_shape(c, 0, LG_FLOAT, 3, (int64_t[]){ g->B, g->S, a.dv }));
    return lg_kout_shape(c, 1, LG_FLOAT, 5, (int64_t[]){ 2, g->B, g->N, g->T, g->H });
}

static int attention_exec(lg_kctx *c)
{
    attention_geom a;
    LG_CHECK(attention_geometry(c, &a));
    const attn_geom *g = &a.g;
    const lg_tensor *x = c->inputs[0], *w = c->inputs[1], *bias = lg_kin(c, 2), *past = lg_kin(c, 4);
    int64_t rows = g->B * g->S, cols = w->dims[1];
    float *qkv = lg_alloc((size_t)(rows * cols) * sizeof(float));
    float *kv = lg_alloc((size_t)(2 * g->B * g->N * g->T * (g->H > g->Hv ? g->H : g->Hv) + 1) * sizeof(float));
    lg_attn_head *heads = calloc((size_t)(g->B * g->N) + 1, sizeof(*heads));
    int rc = (!qkv || !kv || !heads) ? lg_error(LG_E_NOMEM, "out of memory") : LG_OK;
    if (rc == LG_OK) {
        lg_sgemm_args ga = { .M = rows, .N = cols, .K = a.din, .alpha = 1, .a = { x->data, a.din, 1 }, .b = { w->data, cols, 1 },
                             .c = qkv, .ldc = cols };
        rc = lg_sgemm(c->pool, &ga);
    }
    if (rc == LG_OK && bias)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t j = 0; j < cols; j++) qkv[r * cols + j] += ((const float *)bias->data)[j];
    if (rc == LG_OK) {
        float *k_all = kv, *v_all = kv + g->B * g->N * g->T * g->H;
        const float *pk = past ? past->data : NULL;
        const float *pv = past ? (const float *)past->data + g->B * g->N * g->P * g->H : NULL;
        concat_past(k_all, pk, qkv + a.dq, g, g->H, cols, g->H, 0, g->S);
        concat_past(v_all, pv, qkv + a.dq + a.dk, g, g->Hv, cols, g->Hv, 0, g->S);
        attn_masks m = { lg_kin(c, 3), lg_kin(c, 5), lg_attr_int(c->node, "unidirectional", 0) != 0,
                         lg_attr_float(c->node, "mask_filter_value", -10000.0f), scale_of(c, g->H) };
        float *out = c->outputs[0] ? c->outputs[0]->data : NULL;
        for (int64_t b = 0; out && b < g->B; b++)
            for (int64_t n = 0; n < g->N; n++) {
                lg_attn_head *h = &heads[b * g->N + n];
                head_masks(h, g, &m, b, n);
                h->q = qkv + b * g->S * cols + n * g->H;
                h->qs = cols;
                h->k = k_all + (b * g->N + n) * g->T * g->H;
                h->ks = g->H;
                h->v = v_all + (b * g->N + n) * g->T * g->Hv;
                h->vs = g->Hv;
                h->out = out + b * g->S * a.dv + n * g->Hv;
                h->os = a.dv;
            }
        if (out) rc = lg_attn_heads(c->pool, heads, g->B * g->N);
        if (rc == LG_OK && c->n_outputs > 1 && c->outputs[1])
            memcpy(c->outputs[1]->data, kv, (size_t)(2 * g->B * g->N * g->T * g->H) * sizeof(float));
    }
    lg_free(qkv);
    lg_free(kv);
    free(heads);
    return rc;
}

/* ---- MultiHeadAttention ---- */

static int mha_geometry(const lg_kctx *c, attn_geom *g, int64_t *dq, int64_t *dv)
{
    const lg_tensor *q = c->inputs[0], *k = lg_kin(c, 1), *v = lg_kin(c, 2), *bias = lg_kin(c, 3), *pk = lg_kin(c, 6),
                    *pv = lg_kin(c, 7);
    int64_t n = lg_attr_int(c->node, "num_heads", 0);
    LG_CHECK(lg_contrib_need_f32(q, "query"));
    if (!k || !v || q->ndim != 3) return lg_error(LG_E_UNSUPPORTED, "packed QKV/KV layouts are not supported; give query [B, S, D], key and value");
    if (lg_kin(c, 9)) return lg_error(LG_E_UNSUPPORTED, "cache_indirection (beam search) is not supported");
    LG_CHECK(lg_contrib_need_f32(k, "key"));
    LG_CHECK(lg_contrib_need_f32(v, "value"));
    LG_CHECK(lg_contrib_need_f32(bias, "bias"));
    if (n < 1 || q->dims[2] % n) return lg_error(LG_E_SHAPE, "query width %lld does not split into num_heads = %lld", (long long)q->dims[2], (long long)n);
    g->B = q->dims[0];
    g->S = q->dims[1];
    g->N = n;
    g->H = q->dims[2] / n;
    *dq = q->dims[2];
    bool bnsh = k->ndim == 4;
    if (k->ndim != v->ndim || (k->ndim != 3 && k->ndim != 4)) return lg_error(LG_E_SHAPE, "key and value must both be 3-D or 4-D");
    if (bnsh && (k->dims[0] != g->B || k->dims[1] != n || k->dims[3] != g->H || v->dims[1] != n || v->dims[2] != k->dims[2]))
        return lg_error(LG_E_SHAPE, "4-D key/value must be [B, num_heads, L, head_size]");
    if (!bnsh && (k->dims[0] != g->B || k->dims[2] != *dq || v->dims[1] != k->dims[1] || v->dims[2] % n))
        return lg_error(LG_E_SHAPE, "key must be [B, L, %lld] and value [B, L, num_heads x head_size_v]", (long long)*dq);
    g->L = k->dims[bnsh ? 2 : 1];
    g->Hv = bnsh ? v->dims[3] : v->dims[2] / n;
    *dv = g->Hv * n;
    if (bias && (bnsh || lg_tensor_numel_(bias) != 2 * *dq + *dv)) return lg_error(LG_E_SHAPE, "bias must be [Dq + Dk + Dv] with 3-D key/value");
    g->P = 0;
    if ((pk != NULL) != (pv != NULL)) return lg_error(LG_E_SHAPE, "past_key and past_value go together");
    if (pk) {
        LG_CHECK(lg_contrib_need_f32(pk, "past_key"));
        LG_CHECK(lg_contrib_need_f32(pv, "past_value"));
        if (pk->ndim != 4 || pk->dims[0] != g->B || pk->dims[1] != n || pk->dims[3] != g->H || pv->ndim != 4 || pv->dims[2] != pk->dims[2] ||
            pv->dims[3] != g->Hv)
            return lg_error(LG_E_SHAPE, "past_key/past_value must be [B, num_heads, P, head_size]");
        g->P = pk->dims[2];
    }
    g->T = g->P + g->L;
    return check_masks(g, lg_kin(c, 4), lg_kin(c, 5), false);
}

static int mha_infer(lg_kctx *c)
{
    attn_geom g;
    int64_t dq, dv;
    LG_CHECK(mha_geometry(c, &g, &dq, &dv));
    LG_CHECK(lg_kout_shape(c, 0, LG_FLOAT, 3, (int64_t[]){ g.B, g.S, dv }));
    LG_CHECK(lg_kout_shape(c, 1, LG_FLOAT, 4, (int64_t[]){ g.B, g.N, g.T, g.H }));
    return lg_kout_shape(c, 2, LG_FLOAT, 4, (int64_t[]){ g.B, g.N, g.T, g.Hv });
}

/* x + bias (per column) as a new buffer, or x itself without bias. */
static float *with_bias(const lg_tensor *x, const float *bias, int64_t width, float **owned)
{
    *owned = NULL;
    if (!bias) return x->data;
    int64_t n = lg_tensor_numel_(x);
    float *y = lg_alloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!y) return NULL;
    for (int64_t i = 0; i < n; i++) y[i] = ((const float *)x->data)[i] + bias[i % width];
    *owned = y;
    return y;
}

static int mha_exec(lg_kctx *c)
{
    attn_geom g;
    int64_t dq, dv;
    LG_CHECK(mha_geometry(c, &g, &dq, &dv));
    const lg_tensor *k = c->inputs[1], *v = c->inputs[2], *bias = lg_kin(c, 3), *pk = lg_kin(c, 6), *pv = lg_kin(c, 7);
    const float *bd = bias ? bias->data : NULL;
    float *oq, *ok, *ov;
    const float *q = with_bias(c->inputs[0], bd, dq, &oq);
    const float *kd = with_bias(k, bd ? bd + dq : NULL, dq, &ok);
    const float *vd = with_bias(v, bd ? bd + 2 * dq : NULL, dv, &ov);
    bool bnsh = k->ndim == 4;
    lg_tensor *prk = c->n_outputs > 1 ? c->outputs[1] : NULL, *prv = c->n_outputs > 2 ? c->outputs[2] : NULL;
    float *kall = prk ? prk->data : lg_alloc((size_t)(g.B * g.N * g.T * g.H + 1) * sizeof(float));
    float *vall = prv ? prv->data : lg_alloc((size_t)(g.B * g.N * g.T * g.Hv + 1) * sizeof(float));
    lg_attn_head *heads = calloc((size_t)(g.B * g.N) + 1, sizeof(*heads));
    int rc = (!q || !kd || !vd || !kall || !vall || !heads) ? lg_error(LG_E_NOMEM, "out of memory") : LG_OK;
    if (rc == LG_OK) {
        concat_past(kall, pk ? pk->data : NULL, kd, &g, g.H, dq, g.H, bnsh, g.L);
        concat_past(vall, pv ? pv->data : NULL, vd, &g, g.Hv, dv, g.Hv, bnsh, g.L);
        attn_masks m = { lg_kin(c, 4), lg_kin(c, 5), lg_attr_int(c->node, "unidirectional", 0) != 0,
                         lg_attr_float(c->node, "mask_filter_value", -10000.0f), scale_of(c, g.H) };
        float *out = c->outputs[0] ? c->outputs[0]->data : NULL;
        for (int64_t b = 0; out && b < g.B; b++)
            for (int64_t n = 0; n < g.N; n++) {
                lg_attn_head *h = &heads[b * g.N + n];
                head_masks(h, &g, &m, b, n);
                h->q = q + b * g.S * dq + n * g.H;
                h->qs = dq;
                h->k = kall + (b * g.N + n) * g.T * g.H;
                h->ks = g.H;
                h->v = vall + (b * g.N + n) * g.T * g.Hv;
                h->vs = g.Hv;
                h->out = out + b * g.S * dv + n * g.Hv;
                h->os = dv;
            }
        if (out) rc = lg_attn_heads(c->pool, heads, g.B * g.N);
    }
    lg_free(oq);
    lg_free(ok);
    lg_free(ov);
    if (!prk) lg_free(kall);
    if (!prv) lg_free(vall);
    free(heads);
    return rc;
}

/* float16 runs through the float32 kernel (contrib_common.h). */
LG_CONTRIB_HALF(attention, attention_infer, attention_exec)
LG_CONTRIB_HALF(mha, mha_infer, mha_exec)

const lg_op_def lg_ops_contrib_attention[] = {
    { "Attention", "com.microsoft", 1, 1, attention_hinfer, attention_hexec, NULL, NULL },
    { "MultiHeadAttention", "com.microsoft", 1, 1, mha_hinfer, mha_hexec, NULL, NULL },
    { NULL },
};
