/*
 * act.c: which nodes are activations a producing kernel can apply in its output pass
 * (lg_act, runtime/backend.h), with their attributes and defaults. Fusion is planned by
 * the runtime (fuse.c, sched.c); backends say which activations they take.
 */
#include <math.h>
#include <string.h>

#include "base/error.h"
#include "runtime/backend.h"

static const struct {
    const char *op;
    lg_act_kind kind;
    float alpha, beta; /* defaults of the attributes "alpha", "beta" */
} fusable[] = {
    { "Relu", LG_ACT_RELU, 0, 0 },
    { "Clip", LG_ACT_CLIP, -INFINITY, INFINITY },
    { "Sigmoid", LG_ACT_SIGMOID, 0, 0 },
    { "LeakyRelu", LG_ACT_LEAKYRELU, 0.01f, 0 },
    { "HardSigmoid", LG_ACT_HARDSIGMOID, 0.2f, 0.5f },
    { "HardSwish", LG_ACT_HARDSWISH, 0, 0 },
    { "Tanh", LG_ACT_TANH, 0, 0 },
};

int lg_act_from_node(const lg_node *n, lg_act *act)
{
    for (size_t i = 0; i < sizeof(fusable) / sizeof(fusable[0]); i++) {
        if (strcmp(fusable[i].op, n->op_type) != 0) continue;
        act->kind = fusable[i].kind;
        if (act->kind == LG_ACT_CLIP) {
            act->alpha = lg_attr_float(n, "min", fusable[i].alpha);
            act->beta = lg_attr_float(n, "max", fusable[i].beta);
        } else {
            act->alpha = lg_attr_float(n, "alpha", fusable[i].alpha);
            act->beta = lg_attr_float(n, "beta", fusable[i].beta);
        }
        return LG_OK;
    }
    return lg_error(LG_E_UNSUPPORTED, "%s is not a fusable activation", n->op_type);
}

