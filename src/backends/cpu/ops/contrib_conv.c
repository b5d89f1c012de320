/*
 * contrib_conv.c: FusedConv of com.microsoft: Conv (the CPU's own kernel, weights packed
 * once) + an optional Z added to its output + an activation (Relu, Tanh, Sigmoid,
 * LeakyRelu, Clip, HardSigmoid with activation_params). Without Z the activation runs in
 * Conv's GEMM output pass; with Z it runs after the sum.
 */
#include <string.h>

#include "backends/cpu/ops/contrib_common.h"
#include "backends/cpu/ops/conv.h"

static const struct {
    const char *name;
    lg_act_kind kind;
    float alpha, beta; /* defaults when activation_params is absent */
} acts[] = {
    { "Relu", LG_ACT_RELU, 0, 0 },           { "Tanh", LG_ACT_TANH, 0, 0 },
    { "Sigmoid", LG_ACT_SIGMOID, 0, 0 },     { "LeakyRelu", LG_ACT_LEAKYRELU, 0.01f, 0 },
    { "Clip", LG_ACT_CLIP, -INFINITY, INFINITY }, { "HardSigmoid", LG_ACT_HARDSIGMOID, 0.2f, 0.5f },
};

static int fused_act(const lg_node *n, lg_act *act)
{
    const char *name = lg_attr_string(n, "activation", "");
    act->kind = LG_ACT_NONE;
    if (!name[0]) return LG_OK;
    int np = 0;
    const float *p = lg_attr_floats(n, "activation_params", &np);
    for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
        if (!strcmp(name, acts[i].name)) {
            act->kind = acts[i].kind;
            act->alpha = np > 0 ? p[0] : acts[i].alpha;
            act->beta = np > 1 ? p[1] : acts[i].beta;
            return LG_OK;
        }
    return lg_error(LG_E_UNSUPPORTED, "activation '%s' is not one of Relu, Tanh, Sigmoid, LeakyRelu, Clip, HardSigmoid", name);
}

/* Whether the node has a Z input (in prepare, inputs that are not weights are NULL). */
static bool has_z(const lg_node *n) { return n->n_inputs > 3 && n->inputs[3] >= 0; }

static lg_kctx conv_ctx(const lg_kctx *c)
{
    lg_kctx s = lg_contrib_sub(c, 11);
    if (s.n_inputs > 3) s.n_inputs = 3; /* X, W, B: Z is ours */
    return s;
}

static int fconv_prepare(lg_kctx *c, void **state)
{
    const lg_op_def *d = lg_contrib_default_op("Conv", 11);
    if (!d) return LG_E_UNSUPPORTED;
    lg_act act;
    LG_CHECK(fused_act(c->node, &act));
    lg_kctx s = conv_ctx(c);
    LG_CHECK(d->prepare(&s, state));
    c->consumed |= s.consumed;
    if (!has_z(c->node) && act.kind != LG_ACT_NONE) LG_CHECK(lg_conv_set_activation(*state, &act));
    return LG_OK;
}

static void fconv_release(void *state)
{
    const lg_op_def *d = lg_contrib_default_op("Conv", 11);
    if (d && d->release) d->release(state);
}

static int fconv_infer(lg_kctx *c)
{
    const lg_op_def *d = lg_contrib_default_op("Conv", 11);
    if (!d) return LG_E_UNSUPPORTED;
    LG_CHECK(lg_contrib_need_f32(c->inputs[0], "X"));
    lg_kctx s = conv_ctx(c);
    LG_CHECK(d->infer(&s));
    const lg_tensor *z = lg_kin(c, 3);
    if (z && c->outputs[0] && !lg_dims_equal(z->ndim, z->dims, c->outputs[0]->ndim, c->outputs[0]->dims))
        return lg_error(LG_E_SHAPE, "Z must have the output's shape");
    return LG_OK;
}

static int fconv_exec(lg_kctx *c)
{
    const lg_op_def *d = lg_contrib_default_op("Conv", 11);
    if (!d) return LG_E_UNSUPPORTED;
    lg_act act;
    LG_CHECK(fused_act(c->node, &act));
    lg_kctx s = conv_ctx(c);
    LG_CHECK(d->exec(&s));
    lg_tensor *y = c->outputs[0];
    const lg_tensor *z = lg_kin(c, 3);
    if (!y) return LG_OK;
    int64_t n = lg_tensor_numel_(y);
    float *yd = y->data;
    if (z) {
        LG_CHECK(lg_contrib_need_f32(z, "Z"));
        for (int64_t i = 0; i < n; i++) yd[i] += ((const float *)z->data)[i];
    }
    /* Applied here unless Conv's output pass already did (a prepared state without Z). */
    if (act.kind != LG_ACT_NONE && (has_z(c->node) || !c->state)) lg_act_apply(&act, yd, n);
    return LG_OK;
}

const lg_op_def lg_ops_contrib_conv[] = {
    { "FusedConv", "com.microsoft", 1, 1, fconv_infer, fconv_exec, fconv_prepare, fconv_release },
    { NULL },
};
