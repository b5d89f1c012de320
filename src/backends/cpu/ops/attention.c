/*
 * attention.c: the transformer operators of the default domain: Attention (opset 23-24:
 * multi-head, grouped-query and multi-query, 3-D or 4-D inputs, boolean or additive mask,
 * causal masking, past/present key-value cache, nonpad_kv_seqlen, softcap, every
 * qk_matmul_output mode), RotaryEmbedding (opset 23) and ai.onnx.preview's FlexAttention
 * (score_mod and prob_mod subgraphs run on the score and probability tensors).
 *
 * Attention works on [batch, heads, seq, head_size] views of Q, K and V in double: 3-D
 * inputs [batch, seq, heads * head_size] are read through strides, never transposed.
 * Each (batch, query head) pair is one unit of work run in parallel. Causal masking
 * follows the ONNX 1.22 reference: query i sees key j when j <= i + past_sequence_length.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernel.h"

/* A [batch, heads, seq, dim] view of a 3-D or 4-D tensor. */
typedef struct bhsd {
    int64_t b, h, s, d;
    int64_t st[4]; /* element strides of the four axes */
} bhsd;

static int view_of(const lg_tensor *t, int64_t heads, const char *what, bhsd *v)
{
    if (t->ndim == 4) {
        *v = (bhsd){ t->dims[0], t->dims[1], t->dims[2], t->dims[3], { 0 } };
        lg_strides(4, t->dims, v->st);
        return LG_OK;
    }
    if (t->ndim != 3) return lg_error(LG_E_SHAPE, "%s has rank %d, expected 3 or 4", what, t->ndim);
    if (heads <= 0 || t->dims[2] % heads != 0)
        return lg_error(LG_E_SHAPE, "%s: hidden size %lld is not a multiple of %lld heads (q_num_heads and kv_num_heads are "
                                    "required for 3-D inputs)", what, (long long)t->dims[2], (long long)heads);
    int64_t d = t->dims[2] / heads;
    *v = (bhsd){ t->dims[0], heads, t->dims[1], d, { t->dims[1] * t->dims[2], d, t->dims[2], 1 } };
    return LG_OK;
}

typedef struct attn_geom {
    bhsd q, k, v;
    int64_t past, total;    /* past_sequence_length, past + kv_sequence_length */
    bool three_d;
} attn_geom;

static int attn_geom_get(const lg_kctx *c, attn_geom *g)
{
    for (int i = 0; i < 3; i++)
        if (!lg_kin(c, i)) return lg_error(LG_E_INVALID_MODEL, "Attention needs Q, K and V; input %d is missing", i);
    const lg_tensor *q = c->inputs[0], *k = c->inputs[1], *v = c->inputs[2], *pk = lg_kin(c, 4), *pv = lg_kin(c, 5);
    for (int i = 0; i < 3; i++)
        if (!lg_dtype_is_float(c->inputs[i]->dtype) || lg_dtype_is_minifloat(c->inputs[i]->dtype))
            return lg_error(LG_E_UNSUPPORTED, "Attention of %s", lg_dtype_name(c->inputs[i]->dtype));
    if (q->ndim != k->ndim || q->ndim != v->ndim)
        return lg_error(LG_E_SHAPE, "Q, K and V have ranks %d, %d and %d", q->ndim, k->ndim, v->ndim);
    g->three_d = q->ndim == 3;
    LG_CHECK(view_of(q, lg_attr_int(c->node, "q_num_heads", 0), "Q", &g->q));
    LG_CHECK(view_of(k, lg_attr_int(c->node, "kv_num_heads", 0), "K", &g->k));
    LG_CHECK(view_of(v, lg_attr_int(c->node, "kv_num_heads", 0), "V", &g->v));
    if (g->k.b != g->q.b || g->v.b != g->q.b || g->k.h != g->v.h || g->k.s != g->v.s || g->k.d != g->q.d)
        return lg_error(LG_E_SHAPE, "Q, K and V disagree on batch, heads, sequence or head size");
    if (g->k.h <= 0 || g->q.h % g->k.h != 0)
        return lg_error(LG_E_SHAPE, "%lld query heads are not a multiple of %lld key/value heads", (long long)g->q.h,
                        (long long)g->k.h);
    if ((pk == NULL) != (pv == NULL)) return lg_error(LG_E_INVALID_MODEL, "past_key and past_value go together");
    g->past = 0;
    if (pk) {
        if (pk->ndim != 4 || pv->ndim != 4 || pk->dims[0] != g->q.b || pk->dims[1] != g->k.h || pk->dims[3] != g->k.d ||
            pv->dims[0] != g->q.b || pv->dims[1] != g->k.h || pv->dims[2] != pk->dims[2] || pv->dims[3] != g->v.d)
            return lg_error(LG_E_SHAPE, "past_key/past_value must be [batch, kv_heads, past, head_size]");
        g->past = pk->dims[2];
    }
    g->total = g->past + g->k.s;
    return LG_OK;
}

static int attention_infer(lg_kctx *c)
{
    attn_geom g;
    LG_CHECK(attn_geom_get(c, &g));
    const lg_tensor *q = c->inputs[0];
    int64_t y3[3] = { g.q.b, g.q.s, g.q.h * g.v.d }, y4[4] = { g.q.b, g.q.h, g.q.s, g.v.d };
    LG_CHECK(g.three_d ? lg_kout_shape(c, 0, q->dtype, 3, y3) : lg_kout_shape(c, 0, q->dtype, 4, y4));
    int64_t pk[4] = { g.q.b, g.k.h, g.total, g.k.d }, pv[4] = { g.q.b, g.k.h, g.total, g.v.d };
    int64_t qk[4] = { g.q.b, g.q.h, g.q.s, g.total };
    LG_CHECK(lg_kout_shape(c, 1, c->inputs[1]->dtype, 4, pk));
    LG_CHECK(lg_kout_shape(c, 2, c->inputs[2]->dtype, 4, pv));
    return lg_kout_shape(c, 3, q->dtype, 4, qk);
}

typedef struct attn_job {
    const attn_geom *g;
    const double *q, *k, *v;      /* Q [b,hq,sq,d]; present K [b,hkv,T,d], V [b,hkv,T,dv] */
    const double *bias;           /* [b, hq, sq, T] additive (-inf masked), or NULL */
    double scale, softcap;
    int mode;                     /* qk_matmul_output_mode */
    double *y;                    /* [b, hq, sq, dv] */
    double *qk;                   /* [b, hq, sq, T] or NULL */
    double *scratch;              /* T values per unit */
} attn_job;

static void attention_units(void *arg, int64_t begin, int64_t end)
{
    const attn_job *j = arg;
    const attn_geom *g = j->g;
    int64_t sq = g->q.s, T = g->total, d = g->q.d, dv = g->v.d, group = g->q.h / g->k.h;
    for (int64_t u = begin; u < end; u++) {
        double *s = j->scratch + u * T;
        int64_t b = u / g->q.h, h = u % g->q.h, kvh = h / group;
        const double *K = j->k + (b * g->k.h + kvh) * T * d, *V = j->v + (b * g->k.h + kvh) * T * dv;
        for (int64_t i = 0; i < sq; i++) {
            const double *Q = j->q + ((b * g->q.h + h) * sq + i) * d;
            const double *B = j->bias ? j->bias + ((b * g->q.h + h) * sq + i) * T : NULL;
            double *qk = j->qk ? j->qk + ((b * g->q.h + h) * sq + i) * T : NULL;
            double mx = -INFINITY;
            for (int64_t t = 0; t < T; t++) {
                double acc = 0.0;
                for (int64_t e = 0; e < d; e++) acc += Q[e] * K[t * d + e];
                acc *= j->scale;
                if (j->softcap > 0) acc = j->softcap * tanh(acc / j->softcap);
                if (qk && j->mode <= 1) qk[t] = acc;
                if (B) acc += B[t];
                if (qk && j->mode == 2) qk[t] = acc;
                s[t] = acc;
                mx = acc > mx ? acc : mx;
            }
            double sum = 0.0;
            for (int64_t t = 0; t < T; t++) sum += (s[t] = exp(s[t] - mx));
            for (int64_t t = 0; t < T; t++) s[t] /= sum;
            if (qk && j->mode == 3) memcpy(qk, s, sizeof(double) * (size_t)T);
            double *Y = j->y + ((b * g->q.h + h) * sq + i) * dv;
            for (int64_t e = 0; e < dv; e++) Y[e] = 0.0;
            for (int64_t t = 0; t < T; t++)
                for (int64_t e = 0; e < dv; e++) Y[e] += s[t] * V[t * dv + e];
        }
    }
}

/* Copies view v of t (past rows first when past is given) into dense [b, h, rows, d]
 * doubles at dst, the view's rows after past's. */
static void gather(double *dst, const lg_tensor *past, const lg_tensor *t, const bhsd *v, int64_t total)
{
    int64_t p = past ? past->dims[2] : 0;
    for (int64_t b = 0; b < v->b; b++)
        for (int64_t h = 0; h < v->h; h++) {
            double *o = dst + (b * v->h + h) * total * v->d;
            for (int64_t r = 0; r < p; r++)
                for (int64_t e = 0; e < v->d; e++)
                    o[r * v->d + e] = lg_tensor_get_f64(past, ((b * v->h + h) * p + r) * v->d + e);
            for (int64_t r = 0; r < v->s; r++)
                for (int64_t e = 0; e < v->d; e++)
                    o[(p + r) * v->d + e] = lg_tensor_get_f64(t, b * v->st[0] + h * v->st[1] + r * v->st[2] + e * v->st[3]);
        }
}

/* The additive bias [b, hq, sq, T]: attn_mask (broadcast; boolean false or a missing
 * tail column is -inf), is_causal, nonpad_kv_seqlen. NULL in *out when nothing masks. */
static int build_bias(const lg_kctx *c, const attn_geom *g, double **out)
{
    const lg_tensor *mask = lg_kin(c, 3), *nonpad = lg_kin(c, 6);
    bool causal = lg_attr_int(c->node, "is_causal", 0) != 0;
    *out = NULL;
    if (!mask && !nonpad && !causal) return LG_OK;
    int64_t T = g->total, full[4] = { g->q.b, g->q.h, g->q.s, T }, mst[4] = { 0 }, mdims[4] = { 1, 1, 1, 1 };
    if (mask) {
        if (mask->ndim > 4 || mask->ndim < 1) return lg_error(LG_E_SHAPE, "attn_mask has rank %d", mask->ndim);
        int off = 4 - mask->ndim;
        for (int a = 0; a < mask->ndim; a++) mdims[off + a] = mask->dims[a];
        for (int a = 0; a < 3; a++)
            if (mdims[a] != 1 && mdims[a] != full[a])
                return lg_error(LG_E_SHAPE, "attn_mask does not broadcast to [batch, q_heads, q_seq, total_seq]");
        if (mdims[3] > T) return lg_error(LG_E_SHAPE, "attn_mask's last dimension %lld exceeds the %lld keys", (long long)mdims[3], (long long)T);
        lg_strides(4, mdims, mst);
        for (int a = 0; a < 3; a++)
            if (mdims[a] == 1) mst[a] = 0;
    }
    if (nonpad && (lg_tensor_numel_(nonpad) != g->q.b || !lg_dtype_is_int(nonpad->dtype)))
        return lg_error(LG_E_SHAPE, "nonpad_kv_seqlen must hold one integer per batch");
    int64_t n = lg_dims_numel(4, full);
    double *bias = lg_alloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    if (!bias) return lg_error(LG_E_NOMEM, "no memory for the attention mask");
    for (int64_t b = 0; b < full[0]; b++)
        for (int64_t h = 0; h < full[1]; h++)
            for (int64_t i = 0; i < full[2]; i++)
                for (int64_t t = 0; t < T; t++) {
                    double v = 0.0;
                    if (mask) {
                        if (t >= mdims[3]) {
                            v = -INFINITY;
                        } else {
                            int64_t at = b * mst[0] + h * mst[1] + i * mst[2] + t;
                            double m = lg_tensor_get_f64(mask, at);
                            v = mask->dtype == LG_BOOL ? (m != 0 ? 0.0 : -INFINITY) : m;
                        }
                    }
                    if (causal && t > i + g->past) v = -INFINITY;
                    if (nonpad && t >= lg_tensor_get_i64(nonpad, b)) v = -INFINITY;
                    bias[((b * full[1] + h) * full[2] + i) * T + t] = v;
                }
    *out = bias;
    return LG_OK;
}

/* Writes dense [b, h, s, d] doubles into t, 3-D outputs through the bhsd view. */
static void scatter(lg_tensor *t, const double *src, const bhsd *v, bool three_d)
{
    if (!t) return;
    for (int64_t b = 0; b < v->b; b++)
        for (int64_t h = 0; h < v->h; h++)
            for (int64_t r = 0; r < v->s; r++)
                for (int64_t e = 0; e < v->d; e++) {
                    int64_t at = three_d ? (b * v->s + r) * v->h * v->d + h * v->d + e : ((b * v->h + h) * v->s + r) * v->d + e;
                    lg_tensor_set_f64(t, at, src[((b * v->h + h) * v->s + r) * v->d + e]);
                }
}

static int attention_exec(lg_kctx *c)
{
    attn_geom g;
    LG_CHECK(attn_geom_get(c, &g));
    int mode = (int)lg_attr_int(c->node, "qk_matmul_output_mode", 0);
    if (mode < 0 || mode > 3) return lg_error(LG_E_INVALID_MODEL, "qk_matmul_output_mode %d is not 0..3", mode);
    int64_t T = g.total, nq = g.q.b * g.q.h * g.q.s, nk = g.q.b * g.k.h * T;
    lg_tensor *qk_t = c->n_outputs > 3 ? c->outputs[3] : NULL;
    int64_t units = g.q.b * g.q.h;
    size_t count = (size_t)(nq * g.q.d + nk * g.k.d + nk * g.v.d + nq * g.v.d + (qk_t ? nq * T : 0) + units * T + 1);
    double *mem = lg_alloc(sizeof(double) * count), *bias = NULL;
    if (!mem) return lg_error(LG_E_NOMEM, "no memory for attention (%zu values)", count);
    attn_job j = { .g = &g, .mode = mode };
    double *q = mem, *k = q + nq * g.q.d, *v = k + nk * g.k.d;
    j.y = v + nk * g.v.d;
    j.qk = qk_t ? j.y + nq * g.v.d : NULL;
    j.scratch = j.y + nq * g.v.d + (qk_t ? nq * T : 0);
    gather(q, NULL, c->inputs[0], &g.q, g.q.s);
    gather(k, lg_kin(c, 4), c->inputs[1], &g.k, T);
    gather(v, lg_kin(c, 5), c->inputs[2], &g.v, T);
    int rc = build_bias(c, &g, &bias);
    if (rc != LG_OK) {
        lg_free(mem);
        return rc;
    }
    j.q = q;
    j.k = k;
    j.v = v;
    j.bias = bias;
    const lg_attr *sa = lg_node_attr(c->node, "scale");
    j.scale = sa ? (double)sa->f : 1.0 / sqrt((double)g.q.d);
    j.softcap = lg_attr_float(c->node, "softcap", 0.0f);
    int64_t work = g.q.s * T * (g.q.d + g.v.d);
    lg_parallel_for(c->pool, units, 1 + 65536 / (work > 0 ? work : 1), attention_units, &j);
    bhsd yv = { g.q.b, g.q.h, g.q.s, g.v.d, { 0 } }, pk = { g.q.b, g.k.h, T, g.k.d, { 0 } },
         pv = { g.q.b, g.k.h, T, g.v.d, { 0 } }, qv = { g.q.b, g.q.h, g.q.s, T, { 0 } };
    scatter(c->outputs[0], j.y, &yv, g.three_d);
    scatter(c->n_outputs > 1 ? c->outputs[1] : NULL, k, &pk, false);
    scatter(c->n_outputs > 2 ? c->outputs[2] : NULL, v, &pv, false);
    scatter(qk_t, j.qk, &qv, false);
    lg_free(bias);
    lg_free(mem);
    return LG_OK;
}

/* ---- FlexAttention (ai.onnx.preview 1): attention on 4-D inputs whose scores and
 * probabilities pass through optional subgraphs (score_mod, prob_mod) ---- */

static int flex_infer(lg_kctx *c)
{
    attn_geom g;
    LG_CHECK(attn_geom_get(c, &g));
    if (g.three_d) return lg_error(LG_E_SHAPE, "FlexAttention needs 4-D Q, K and V");
    int64_t y[4] = { g.q.b, g.q.h, g.q.s, g.v.d };
    return lg_kout_shape(c, 0, c->inputs[0]->dtype, 4, y);
}

/* Runs modifier subgraph name (if the node has it) on t in place of t. */
static int flex_modify(lg_kctx *c, const char *name, lg_tensor **t)
{
    const lg_graph *sub = lg_attr_graph(c->node, name);
    if (!sub) return LG_OK;
    lg_tensor *out = NULL;
    const lg_tensor *in[1] = { *t };
    LG_CHECK(lg_kctx_run_graph(c, sub, 1, in, 1, &out));
    if (!lg_dims_equal(out->ndim, out->dims, (*t)->ndim, (*t)->dims) || !lg_dtype_is_float(out->dtype)) {
        lg_tensor_free(out);
        return lg_error(LG_E_SHAPE, "%s must return a float tensor of its input's shape", name);
    }
    lg_tensor_free(*t);
    *t = out;
    return LG_OK;
}

static int flex_exec(lg_kctx *c)
{
    attn_geom g;
    LG_CHECK(attn_geom_get(c, &g));
    const lg_tensor *q = c->inputs[0], *k = c->inputs[1], *v = c->inputs[2];
    lg_dtype prec = (lg_dtype)lg_attr_int(c->node, "softmax_precision", q->dtype == LG_DOUBLE ? LG_DOUBLE : LG_FLOAT);
    int64_t T = g.k.s, dims[4] = { g.q.b, g.q.h, g.q.s, T }, group = g.q.h / g.k.h;
    const lg_attr *sa = lg_node_attr(c->node, "scale");
    double scale = sa ? (double)sa->f : 1.0 / sqrt((double)g.q.d);
    lg_tensor *sc;
    LG_CHECK(lg_tensor_create(prec == LG_DOUBLE ? LG_DOUBLE : LG_FLOAT, 4, dims, &sc));
    for (int64_t b = 0; b < g.q.b; b++)
        for (int64_t h = 0; h < g.q.h; h++)
            for (int64_t i = 0; i < g.q.s; i++)
                for (int64_t t = 0; t < T; t++) {
                    double acc = 0.0;
                    for (int64_t e = 0; e < g.q.d; e++)
                        acc += lg_tensor_get_f64(q, ((b * g.q.h + h) * g.q.s + i) * g.q.d + e) *
                               lg_tensor_get_f64(k, ((b * g.k.h + h / group) * T + t) * g.q.d + e);
                    lg_tensor_set_f64(sc, ((b * g.q.h + h) * g.q.s + i) * T + t, acc * scale);
                }
    int rc = flex_modify(c, "score_mod", &sc);
    for (int64_t r = 0; rc == LG_OK && r < g.q.b * g.q.h * g.q.s; r++) { /* softmax along the last axis */
        double mx = -INFINITY, sum = 0.0;
        for (int64_t t = 0; t < T; t++) mx = fmax(mx, lg_tensor_get_f64(sc, r * T + t));
        for (int64_t t = 0; t < T; t++) sum += exp(lg_tensor_get_f64(sc, r * T + t) - mx);
        for (int64_t t = 0; t < T; t++) lg_tensor_set_f64(sc, r * T + t, exp(lg_tensor_get_f64(sc, r * T + t) - mx) / sum);
    }
    if (rc == LG_OK) rc = flex_modify(c, "prob_mod", &sc);
    lg_tensor *y = c->outputs[0];
    for (int64_t b = 0; rc == LG_OK && y && b < g.q.b; b++)
        for (int64_t h = 0; h < g.q.h; h++)
            for (int64_t i = 0; i < g.q.s; i++)
                for (int64_t e = 0; e < g.v.d; e++) {
                    double acc = 0.0;
                    for (int64_t t = 0; t < T; t++)
                        acc += lg_tensor_get_f64(sc, ((b * g.q.h + h) * g.q.s + i) * T + t) *
                               lg_tensor_get_f64(v, ((b * g.k.h + h / group) * T + t) * g.v.d + e);
                    lg_tensor_set_f64(y, ((b * g.q.h + h) * g.q.s + i) * g.v.d + e, acc);
                }
    lg_tensor_free(sc);
    return rc;
}

/* ---- RotaryEmbedding ---- */

static int rotary_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    if (!lg_kin(c, 1) || !lg_kin(c, 2)) return lg_error(LG_E_INVALID_MODEL, "RotaryEmbedding needs cos_cache and sin_cache");
    if (x->ndim != 3 && x->ndim != 4) return lg_error(LG_E_SHAPE, "X has rank %d, expected 3 or 4", x->ndim);
    if (!lg_dtype_is_float(x->dtype) || lg_dtype_is_minifloat(x->dtype))
        return lg_error(LG_E_UNSUPPORTED, "RotaryEmbedding of %s", lg_dtype_name(x->dtype));
    return lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims);
}

static int rotary_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *cosc = c->inputs[1], *sinc = c->inputs[2], *pos = lg_kin(c, 3);
    lg_tensor *y = c->outputs[0];
    if (!y) return LG_OK;
    bhsd v;
    if (x->ndim == 4) { /* [b, heads, seq, d] */
        LG_CHECK(view_of(x, 0, "X", &v));
    } else {
        LG_CHECK(view_of(x, lg_attr_int(c->node, "num_heads", 0), "X", &v));
    }
    int64_t rot = lg_attr_int(c->node, "rotary_embedding_dim", 0);
    if (rot == 0) rot = v.d;
    if (rot < 0 || rot > v.d || rot % 2) return lg_error(LG_E_SHAPE, "rotary_embedding_dim %lld does not fit head size %lld", (long long)rot, (long long)v.d);
    int64_t half = rot / 2;
    bool inter = lg_attr_int(c->node, "interleaved", 0) != 0;
    if (cosc->dims[cosc->ndim - 1] != half || sinc->dims[sinc->ndim - 1] != half || !lg_dims_equal(cosc->ndim, cosc->dims, sinc->ndim, sinc->dims))
        return lg_error(LG_E_SHAPE, "cos_cache and sin_cache must end in rotary_embedding_dim / 2 = %lld", (long long)half);
    if (pos ? (cosc->ndim != 2 || lg_tensor_numel_(pos) != v.b * v.s)
            : (cosc->ndim != 3 || cosc->dims[0] != v.b || cosc->dims[1] != v.s))
        return lg_error(LG_E_SHAPE, "cos_cache must be [positions, dim/2] with position_ids, else [batch, seq, dim/2]");
    if (x->nbytes) memcpy(y->data, x->data, x->nbytes);
    for (int64_t b = 0; b < v.b; b++)
        for (int64_t s = 0; s < v.s; s++) {
            int64_t row = b * v.s + s;
            if (pos) {
                row = lg_tensor_get_i64(pos, b * v.s + s);
                if (row < 0 || row >= cosc->dims[0]) return lg_error(LG_E_RUNTIME, "position id %lld is outside the cache", (long long)row);
            }
            for (int64_t h = 0; h < v.h; h++) {
                int64_t base = b * v.st[0] + h * v.st[1] + s * v.st[2];
                for (int64_t i = 0; i < half; i++) {
                    int64_t i1 = inter ? 2 * i : i, i2 = inter ? 2 * i + 1 : i + half;
                    double co = lg_tensor_get_f64(cosc, row * half + i), si = lg_tensor_get_f64(sinc, row * half + i);
                    double x1 = lg_tensor_get_f64(x, base + i1), x2 = lg_tensor_get_f64(x, base + i2);
                    lg_tensor_set_f64(y, base + i1, co * x1 - si * x2);
                    lg_tensor_set_f64(y, base + i2, si * x1 + co * x2);
                }
            }
        }
    return LG_OK;
}

const lg_op_def lg_ops_attention[] = {
    { "Attention", "", 23, 27, attention_infer, attention_exec, NULL, NULL },
    { "RotaryEmbedding", "", 23, 27, rotary_infer, rotary_exec, NULL, NULL },
    { "FlexAttention", "ai.onnx.preview", 1, 1, flex_infer, flex_exec, NULL, NULL },
    { NULL }
};
