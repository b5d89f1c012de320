/*
 * vk_ops_unary.c: elementwise unary ops and activations on float tensors
 * (shaders/unary.comp): y = f(x), tensors larger than one binding in chunks of several
 * dispatches. Each op is a row of the table below: its shader op code and where its
 * parameters come from (attributes and their defaults; Clip-11+ takes min/max from
 * constant inputs read on the host). The shader also has Gelu (erf and tanh forms) and
 * Mish for when the CPU backend implements opset 18+/20.
 */
#include <math.h>
#include <string.h>

#include "backends/vulkan/vk_kern.h"

/* Shader op codes beyond lg_act_kind (0..8), as in unary.comp. */
enum {
    LG_VKU_ERF = 9, LG_VKU_EXP, LG_VKU_LOG, LG_VKU_SQRT, LG_VKU_RECIPROCAL, LG_VKU_NEG, LG_VKU_ABS,
    LG_VKU_FLOOR, LG_VKU_CEIL, LG_VKU_GELU, LG_VKU_GELU_TANH, LG_VKU_SOFTPLUS, LG_VKU_ELU, LG_VKU_SELU,
    LG_VKU_SIGN, LG_VKU_ROUND, LG_VKU_SOFTSIGN, LG_VKU_SIN, LG_VKU_COS, LG_VKU_MISH, LG_VKU_THRESHOLDED_RELU,
    LG_VKU_CELU,
};

typedef struct unary_def {
    const char *op;
    uint32_t code;
    const char *a_name, *b_name, *c_name; /* attributes for alpha, beta, gamma, or NULL */
    float a_def, b_def, c_def;
} unary_def;

static const unary_def unary_defs[] = {
    { "Relu", LG_ACT_RELU, NULL, NULL, NULL, 0, 0, 0 },
    { "Clip", LG_ACT_CLIP, "min", "max", NULL, -INFINITY, INFINITY, 0 },
    { "Sigmoid", LG_ACT_SIGMOID, NULL, NULL, NULL, 0, 0, 0 },
    { "LeakyRelu", LG_ACT_LEAKYRELU, "alpha", NULL, NULL, 0.01f, 0, 0 },
    { "HardSigmoid", LG_ACT_HARDSIGMOID, "alpha", "beta", NULL, 0.2f, 0.5f, 0 },
    { "HardSwish", LG_ACT_HARDSWISH, NULL, NULL, NULL, 0, 0, 0 },
    { "Tanh", LG_ACT_TANH, NULL, NULL, NULL, 0, 0, 0 },
    { "Erf", LG_VKU_ERF, NULL, NULL, NULL, 0, 0, 0 },
    { "Exp", LG_VKU_EXP, NULL, NULL, NULL, 0, 0, 0 },
    { "Log", LG_VKU_LOG, NULL, NULL, NULL, 0, 0, 0 },
    { "Sqrt", LG_VKU_SQRT, NULL, NULL, NULL, 0, 0, 0 },
    { "Reciprocal", LG_VKU_RECIPROCAL, NULL, NULL, NULL, 0, 0, 0 },
    { "Neg", LG_VKU_NEG, NULL, NULL, NULL, 0, 0, 0 },
    { "Abs", LG_VKU_ABS, NULL, NULL, NULL, 0, 0, 0 },
    { "Floor", LG_VKU_FLOOR, NULL, NULL, NULL, 0, 0, 0 },
    { "Ceil", LG_VKU_CEIL, NULL, NULL, NULL, 0, 0, 0 },
    { "Softplus", LG_VKU_SOFTPLUS, NULL, NULL, NULL, 0, 0, 0 },
    { "Elu", LG_VKU_ELU, "alpha", NULL, NULL, 1.0f, 0, 0 },
    { "Selu", LG_VKU_SELU, "alpha", NULL, "gamma", 1.67326319217681884765625f, 0, 1.05070102214813232421875f },
    { "Sign", LG_VKU_SIGN, NULL, NULL, NULL, 0, 0, 0 },
    { "Round", LG_VKU_ROUND, NULL, NULL, NULL, 0, 0, 0 },
    { "Softsign", LG_VKU_SOFTSIGN, NULL, NULL, NULL, 0, 0, 0 },
    { "Sin", LG_VKU_SIN, NULL, NULL, NULL, 0, 0, 0 },
    { "Cos", LG_VKU_COS, NULL, NULL, NULL, 0, 0, 0 },
    { "ThresholdedRelu", LG_VKU_THRESHOLDED_RELU, "alpha", NULL, NULL, 1.0f, 0, 0 },
    { "Celu", LG_VKU_CELU, "alpha", NULL, NULL, 1.0f, 0, 0 },
};

typedef struct unary_push {
    uint32_t n, op;
    float alpha, beta, gamma;
} unary_push;

static const unary_def *find_def(const lg_node *n)
{
    for (size_t i = 0; i < sizeof(unary_defs) / sizeof(unary_defs[0]); i++)
        if (strcmp(unary_defs[i].op, n->op_type) == 0) return &unary_defs[i];
    return NULL;
}

/* Clip-11+: min and max are optional constant scalar inputs. */
static bool clip_bound(int n_in, const lg_tensor *const *in, int i, float *v)
{
    const lg_tensor *t = lg_vkk_arg(n_in, in, i);
    if (!t) return true;
    if (!t->data || t->dtype != LG_FLOAT || lg_tensor_numel_(t) != 1) return false;
    *v = *(const float *)t->data;
    return true;
}

static bool params(const lg_node *n, int n_in, const lg_tensor *const *in, unary_push *p)
{
    const unary_def *u = find_def(n);
    if (!u) return false;
    p->op = u->code;
    p->alpha = u->a_name ? lg_attr_float(n, u->a_name, u->a_def) : u->a_def;
    p->beta = u->b_name ? lg_attr_float(n, u->b_name, u->b_def) : u->b_def;
    p->gamma = u->c_name ? lg_attr_float(n, u->c_name, u->c_def) : u->c_def;
    if (u->code == LG_ACT_CLIP && n_in > 1)
        return clip_bound(n_in, in, 1, &p->alpha) && clip_bound(n_in, in, 2, &p->beta);
    return true;
}

static bool unary_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                           int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    unary_push p;
    const lg_tensor *x = lg_vkk_arg(n_in, in, 0);
    if (!x || x->dtype != LG_FLOAT || !lg_vkk_small(x) || !params(n, n_in, in, &p)) return false;
    for (int i = 1; i < n_in && i < 3; i++)
        if (in[i]) *host_inputs |= 1u << i; /* Clip's min / max */
    return true;
}

static int unary_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_vk_tune *t = lg_vk_tune_get(d);
    const lg_tensor *x = dn->inputs[0];
    unary_push p;
    lg_vk_pipeline *pipe;
    if (!params(dn->node, dn->n_inputs, dn->inputs, &p))
        return lg_error(LG_E_RUNTIME, "%s: parameters changed after supports()", dn->node->op_type);
    LG_CHECK(lg_vk_pipeline_get(d, "unary", 2, sizeof(p), 1, &t->wg_elem, &pipe));
    uint64_t n = (uint64_t)lg_tensor_numel_(x), chunk = lg_vkk_chunk_elems(d, lg_vkk_esize(d, LG_FLOAT));
    for (uint64_t first = 0; first < n; first += chunk) {
        uint64_t cnt = n - first < chunk ? n - first : chunk;
        lg_vk_binding b[2] = { lg_vkk_bind_range(d, x, first, cnt), lg_vkk_bind_range(d, dn->outputs[0], first, cnt) };
        p.n = (uint32_t)cnt;
        LG_CHECK(lg_vkk_dispatch_1d(r, pipe, 2, b, &p, sizeof(p), cnt, t->wg_elem));
    }
    return LG_OK;
}

#define UNARY(name, since) { name, "", since, LG_VK_OPSET_MAX, unary_supports, NULL, NULL, unary_record, NULL }

const lg_vk_op lg_vk_ops_unary[] = {
    UNARY("Relu", 6), UNARY("Clip", 6), UNARY("Sigmoid", 6), UNARY("LeakyRelu", 6), UNARY("HardSigmoid", 6),
    UNARY("HardSwish", 14), UNARY("Tanh", 6), UNARY("Erf", 9), UNARY("Exp", 6), UNARY("Log", 6), UNARY("Sqrt", 6),
    UNARY("Reciprocal", 6), UNARY("Neg", 6), UNARY("Abs", 6), UNARY("Floor", 6), UNARY("Ceil", 6),
    UNARY("Softplus", 1), UNARY("Elu", 6), UNARY("Selu", 6), UNARY("Sign", 9), UNARY("Round", 11),
    UNARY("Softsign", 1), UNARY("Sin", 7), UNARY("Cos", 7), UNARY("ThresholdedRelu", 10),
    UNARY("Celu", 12),
    { NULL }
};
