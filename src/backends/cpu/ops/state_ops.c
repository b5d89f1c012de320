/*
 * state_ops.c: opset 27's operators that carry a recurrent state from one call to the
 * next (decoding token by token): LinearAttention (update rules linear, gated, delta,
 * gated_delta; grouped heads) and CausalConvWithState (a depthwise causal 1-D
 * convolution whose left padding is the previous call's tail, optional SiLU).
 * Values are computed in double and stored in the inputs' type.
 */
#include <math.h>
#include <string.h>

#include "runtime/kernel.h"

/* ---- LinearAttention ---- */

typedef struct la_args {
    int64_t b, t, hq, hkv, dk, dv;
    bool gating, delta;
    int64_t decay_last, beta_last;
    double scale;
} la_args;

static int la_args_get(const lg_kctx *c, la_args *a)
{
    static const struct {
        const char *name;
        bool gating, delta;
    } rules[] = { { "linear", false, false }, { "gated", true, false }, { "delta", false, true }, { "gated_delta", true, true } };
    const char *rule = lg_attr_string(c->node, "update_rule", "gated_delta");
    size_t r = 0;
    while (r < sizeof(rules) / sizeof(rules[0]) && strcmp(rules[r].name, rule) != 0) r++;
    if (r == sizeof(rules) / sizeof(rules[0])) return lg_error(LG_E_INVALID_MODEL, "update_rule '%s' is not linear, gated, delta or gated_delta", rule);
    a->gating = rules[r].gating;
    a->delta = rules[r].delta;
    for (int i = 0; i < 3; i++) {
        const lg_tensor *t = lg_kin(c, i);
        if (!t || t->ndim != 3 || !lg_dtype_is_float(t->dtype))
            return lg_error(LG_E_SHAPE, "query, key and value must be float tensors of rank 3 (batch, seq, heads * size)");
    }
    const lg_tensor *q = c->inputs[0], *k = c->inputs[1], *v = c->inputs[2], *decay = lg_kin(c, 4), *beta = lg_kin(c, 5);
    a->hq = lg_attr_int(c->node, "q_num_heads", 0);
    a->hkv = lg_attr_int(c->node, "kv_num_heads", 0);
    if (a->hq <= 0 || a->hkv <= 0 || a->hq % a->hkv != 0 || q->dims[2] % a->hq != 0 || v->dims[2] % a->hkv != 0)
        return lg_error(LG_E_INVALID_MODEL, "q_num_heads (%lld) must be a positive multiple of kv_num_heads (%lld) and divide the hidden sizes",
                        (long long)a->hq, (long long)a->hkv);
    a->b = q->dims[0];
    a->t = q->dims[1];
    a->dk = q->dims[2] / a->hq;
    a->dv = v->dims[2] / a->hkv;
    if (k->dims[0] != a->b || v->dims[0] != a->b || k->dims[1] != a->t || v->dims[1] != a->t || k->dims[2] != a->hkv * a->dk)
        return lg_error(LG_E_SHAPE, "query, key and value disagree on batch, sequence or key size");
    if (a->gating != (decay != NULL)) return lg_error(LG_E_INVALID_MODEL, "update_rule '%s' %s the decay input", rule, a->gating ? "needs" : "forbids");
    if (a->delta != (beta != NULL)) return lg_error(LG_E_INVALID_MODEL, "update_rule '%s' %s the beta input", rule, a->delta ? "needs" : "forbids");
    if (decay) {
        a->decay_last = decay->ndim == 3 ? decay->dims[2] : -1;
        if (decay->ndim != 3 || decay->dims[0] != a->b || decay->dims[1] != a->t ||
            (a->decay_last != a->hkv && a->decay_last != a->hkv * a->dk))
            return lg_error(LG_E_SHAPE, "decay must be (batch, seq, kv_heads) or (batch, seq, kv_heads * key_size)");
    }
    if (beta) {
        a->beta_last = beta->ndim == 3 ? beta->dims[2] : -1;
        if (beta->ndim != 3 || beta->dims[0] != a->b || beta->dims[1] != a->t || (a->beta_last != a->hkv && a->beta_last != 1))
            return lg_error(LG_E_SHAPE, "beta must be (batch, seq, kv_heads) or (batch, seq, 1)");
    }
    const lg_tensor *past = lg_kin(c, 3);
    if (past && (past->ndim != 4 || past->dims[0] != a->b || past->dims[1] != a->hkv || past->dims[2] != a->dk || past->dims[3] != a->dv))
        return lg_error(LG_E_SHAPE, "past_state must be (batch, kv_heads, key_size, value_size)");
    float s = lg_attr_float(c->node, "scale", 0.0f);
    a->scale = s != 0.0f ? (double)s : 1.0 / sqrt((double)a->dk);
    return LG_OK;
}

static int la_infer(lg_kctx *c)
{
    la_args a;
    LG_CHECK(la_args_get(c, &a));
    const lg_tensor *past = lg_kin(c, 3);
    int64_t y[3] = { a.b, a.t, a.hq * a.dv }, st[4] = { a.b, a.hkv, a.dk, a.dv };
    LG_CHECK(lg_kout_shape(c, 0, c->inputs[0]->dtype, 3, y));
    return lg_kout_shape(c, 1, past ? past->dtype : c->inputs[0]->dtype, 4, st);
}

static int la_exec(lg_kctx *c)
{
    la_args a;
    LG_CHECK(la_args_get(c, &a));
    const lg_tensor *q = c->inputs[0], *k = c->inputs[1], *v = c->inputs[2], *past = lg_kin(c, 3);
    const lg_tensor *decay = lg_kin(c, 4), *beta = lg_kin(c, 5);
    lg_tensor *y = c->outputs[0], *present = c->n_outputs > 1 ? c->outputs[1] : NULL;
    int64_t hs = a.dk * a.dv, n = a.b * a.hkv * hs, group = a.hq / a.hkv;
    double *state = lg_alloc(sizeof(double) * (size_t)(n + a.dv + 1)), *vt = state + n;
    if (!state) return lg_error(LG_E_NOMEM, "no memory for the linear attention state");
    for (int64_t i = 0; i < n; i++) state[i] = past ? lg_tensor_get_f64(past, i) : 0.0;
    for (int64_t b = 0; b < a.b; b++)
        for (int64_t t = 0; t < a.t; t++) {
            for (int64_t h = 0; h < a.hkv; h++) {
                double *S = state + (b * a.hkv + h) * hs;
                int64_t kbase = (b * a.t + t) * a.hkv * a.dk + h * a.dk, vbase = (b * a.t + t) * a.hkv * a.dv + h * a.dv;
                if (a.gating)
                    for (int64_t d = 0; d < a.dk; d++) {
                        int64_t at = (b * a.t + t) * a.decay_last + (a.decay_last == a.hkv ? h : h * a.dk + d);
                        double g = exp(lg_tensor_get_f64(decay, at));
                        for (int64_t m = 0; m < a.dv; m++) S[d * a.dv + m] *= g;
                    }
                for (int64_t m = 0; m < a.dv; m++) vt[m] = lg_tensor_get_f64(v, vbase + m);
                if (a.delta) {
                    double bt = lg_tensor_get_f64(beta, (b * a.t + t) * a.beta_last + (a.beta_last == 1 ? 0 : h));
                    for (int64_t m = 0; m < a.dv; m++) {
                        double r = 0.0;
                        for (int64_t d = 0; d < a.dk; d++) r += S[d * a.dv + m] * lg_tensor_get_f64(k, kbase + d);
                        vt[m] = bt * (vt[m] - r);
                    }
                }
                for (int64_t d = 0; d < a.dk; d++) {
                    double kd = lg_tensor_get_f64(k, kbase + d);
                    for (int64_t m = 0; m < a.dv; m++) S[d * a.dv + m] += kd * vt[m];
                }
            }
            for (int64_t h = 0; h < a.hq && y; h++) {
                const double *S = state + (b * a.hkv + h / group) * hs;
                int64_t qbase = (b * a.t + t) * a.hq * a.dk + h * a.dk, ybase = (b * a.t + t) * a.hq * a.dv + h * a.dv;
                for (int64_t m = 0; m < a.dv; m++) {
                    double acc = 0.0;
                    for (int64_t d = 0; d < a.dk; d++) acc += lg_tensor_get_f64(q, qbase + d) * S[d * a.dv + m];
                    lg_tensor_set_f64(y, ybase + m, a.scale * acc);
                }
            }
        }
    for (int64_t i = 0; present && i < n; i++) lg_tensor_set_f64(present, i, state[i]);
    lg_free(state);
    return LG_OK;
}

/* ---- CausalConvWithState ---- */

static int ccs_check(const lg_kctx *c, int64_t *k)
{
    const lg_tensor *x = lg_kin(c, 0), *w = lg_kin(c, 1), *bias = lg_kin(c, 2), *past = lg_kin(c, 3);
    if (!x || !w || x->ndim != 3 || w->ndim != 3 || !lg_dtype_is_float(x->dtype))
        return lg_error(LG_E_SHAPE, "input must be (batch, channels, length) and weight (channels, 1, kernel)");
    if (w->dims[0] != x->dims[1] || w->dims[1] != 1 || w->dims[2] < 1)
        return lg_error(LG_E_SHAPE, "weight must be (%lld, 1, kernel)", (long long)x->dims[1]);
    *k = w->dims[2];
    if (bias && lg_tensor_numel_(bias) != x->dims[1]) return lg_error(LG_E_SHAPE, "bias must hold one value per channel");
    if (past && (past->ndim != 3 || past->dims[0] != x->dims[0] || past->dims[1] != x->dims[1] || past->dims[2] != *k - 1))
        return lg_error(LG_E_SHAPE, "past_state must be (batch, channels, kernel - 1)");
    const char *act = lg_attr_string(c->node, "activation", "none");
    if (strcmp(act, "none") != 0 && strcmp(act, "silu") != 0 && strcmp(act, "swish") != 0)
        return lg_error(LG_E_INVALID_MODEL, "activation '%s' is not none, silu or swish", act);
    return LG_OK;
}

static int ccs_infer(lg_kctx *c)
{
    int64_t k;
    LG_CHECK(ccs_check(c, &k));
    const lg_tensor *x = c->inputs[0];
    int64_t st[3] = { x->dims[0], x->dims[1], k - 1 };
    LG_CHECK(lg_kout_shape(c, 0, x->dtype, 3, x->dims));
    return lg_kout_shape(c, 1, x->dtype, 3, st);
}

static int ccs_exec(lg_kctx *c)
{
    int64_t k;
    LG_CHECK(ccs_check(c, &k));
    const lg_tensor *x = c->inputs[0], *w = c->inputs[1], *bias = lg_kin(c, 2), *past = lg_kin(c, 3);
    lg_tensor *y = c->outputs[0], *present = c->n_outputs > 1 ? c->outputs[1] : NULL;
    bool silu = strcmp(lg_attr_string(c->node, "activation", "none"), "none") != 0;
    int64_t nb = x->dims[0], ch = x->dims[1], len = x->dims[2], plen = k - 1 + len;
    double *row = lg_alloc(sizeof(double) * (size_t)(plen + 1));
    if (!row) return lg_error(LG_E_NOMEM, "out of memory");
    for (int64_t b = 0; b < nb; b++)
        for (int64_t cc = 0; cc < ch; cc++) {
            for (int64_t i = 0; i < k - 1; i++) row[i] = past ? lg_tensor_get_f64(past, (b * ch + cc) * (k - 1) + i) : 0.0;
            for (int64_t i = 0; i < len; i++) row[k - 1 + i] = lg_tensor_get_f64(x, (b * ch + cc) * len + i);
            for (int64_t t = 0; y && t < len; t++) {
                double acc = bias ? lg_tensor_get_f64(bias, cc) : 0.0;
                for (int64_t j = 0; j < k; j++) acc += lg_tensor_get_f64(w, cc * k + j) * row[t + j];
                if (silu) acc = acc / (1.0 + exp(-acc));
                lg_tensor_set_f64(y, (b * ch + cc) * len + t, acc);
            }
            for (int64_t i = 0; present && i < k - 1; i++)
                lg_tensor_set_f64(present, (b * ch + cc) * (k - 1) + i, row[plen - (k - 1) + i]);
        }
    lg_free(row);
    return LG_OK;
}

const lg_op_def lg_ops_state[] = {
    { "LinearAttention", "", 27, 27, la_infer, la_exec, NULL, NULL },
    { "CausalConvWithState", "", 27, 27, ccs_infer, ccs_exec, NULL, NULL },
    { NULL }
};
