/*
 * vk_ops_norm.c: normalisations on float tensors.
 *   BatchNormalization (inference)  batchnorm.comp: the constant scale, bias, mean and
 *       var become one per-channel scale and shift at prepare (uploaded as the node's
 *       own weights), with the fused epilogue (activation, residual).
 *   Softmax, LogSoftmax            softmax.comp, one workgroup per row; opset < 13 flattens
 *       the input to 2-D at axis, 13+ normalises along axis alone.
 *   LayerNormalization             layernorm.comp over the trailing axes from axis.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/vk_kern.h"

/* ---- BatchNormalization ---- */

#define BN_WEIGHT_VARIANT 0x424e0001u /* (key = the node, this) names its folded params */

typedef struct bn_push {
    uint32_t n, C, S;
    uint32_t flags;
    uint32_t act;
    float act_alpha, act_beta;
} bn_push;

static bool bn_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in, int n_out,
                        const lg_tensor *const *out, uint32_t *host_inputs)
{
    const lg_tensor *x = lg_vkk_arg(n_in, in, 0), *y = n_out > 0 ? out[0] : NULL;
    if (n_in < 5 || !lg_vkk_float_fits(d, x) || !y || x->ndim < 2) return false;
    for (int i = 1; i < n_out; i++)
        if (out[i]) return false; /* training outputs */
    if (lg_attr_int(n, "training_mode", 0) != 0) return false;
    for (int i = 1; i < 5; i++) {
        const lg_tensor *p = in[i];
        if (!p || !p->data || p->dtype != LG_FLOAT || lg_tensor_numel_(p) != x->dims[1]) return false;
    }
    return true;
}

static int bn_prepare(lg_device *d, const lg_dev_node *dn, void **state)
{
    const lg_tensor *x = dn->inputs[0];
    int64_t C = x->dims[1];
    const float *sc = dn->inputs[1]->data, *bi = dn->inputs[2]->data, *mean = dn->inputs[3]->data,
                *var = dn->inputs[4]->data;
    float eps = lg_attr_float(dn->node, "epsilon", 1e-5f);
    float *p = malloc(sizeof(float) * (size_t)(2 * C + 1));
    if (!p) return lg_error(LG_E_NOMEM, "BatchNormalization: %lld channels", (long long)C);
    for (int64_t c = 0; c < C; c++) {
        float s = sc[c] / sqrtf(var[c] + eps);
        p[c] = s;
        p[C + c] = bi[c] - mean[c] * s;
    }
    lg_vk_weight *w = NULL;
    int rc = lg_vk_weights_upload_f32(d, dn->node, BN_WEIGHT_VARIANT, p, 2 * C, &w);
    free(p);
    LG_CHECK(rc);
    if (dn->consumed) *dn->consumed |= 0x1eu;
    *state = w;
    return LG_OK;
}

static void bn_release(lg_device *d, void *state)
{
    if (state) lg_vk_weights_release(d, state);
}

static int bn_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_vk_tune *t = lg_vk_tune_get(d);
    const lg_tensor *x = dn->inputs[0], *y = dn->outputs[0];
    lg_vkk_epi e = lg_vkk_epilogue(dn);
    int64_t S = 1;
    for (int k = 2; k < x->ndim; k++) S *= x->dims[k];
    bn_push p = { (uint32_t)lg_tensor_numel_(x), (uint32_t)x->dims[1], (uint32_t)S, dn->residual ? 2u : 0u,
                  e.act, e.alpha, e.beta };
    lg_vk_binding yb = lg_vk_bind_tensor(d, y);
    lg_vk_binding b[4] = { lg_vk_bind_tensor(d, x), lg_vk_weight_binding(dn->state),
                           dn->residual ? lg_vk_bind_tensor(d, dn->residual) : yb, yb };
    lg_vk_pipeline *pipe;
    LG_CHECK(lg_vk_pipeline_get(d, "batchnorm", 4, sizeof(p), 1, &t->wg_elem, &pipe));
    return lg_vkk_dispatch_1d(r, pipe, 4, b, &p, sizeof(p), p.n, t->wg_elem);
}

static bool bn_epilogue(const lg_node *n, const lg_act *act, bool residual)
{
    return lg_vkk_epilogue_ok(n, act, residual);
}

/* ---- Softmax, LogSoftmax ---- */

typedef struct softmax_push {
    uint32_t rows, R, inner;
    uint32_t log_softmax;
} softmax_push;

static bool softmax_shape(const lg_node *n, int opset, const lg_tensor *x, softmax_push *p)
{
    int axis;
    int r = x->ndim > 0 ? x->ndim : 1;
    if (lg_norm_axis(lg_attr_int(n, "axis", opset < 13 ? 1 : -1), r, &axis) != LG_OK) return false;
    int64_t outer = 1, R = 1, inner = 1;
    for (int k = 0; k < x->ndim; k++) {
        if (k < axis) outer *= x->dims[k];
        else if (k == axis || opset < 13) R *= x->dims[k];
        else inner *= x->dims[k];
    }
    p->rows = (uint32_t)(outer * inner);
    p->R = (uint32_t)R;
    p->inner = (uint32_t)inner;
    p->log_softmax = strcmp(n->op_type, "LogSoftmax") == 0;
    return true;
}

static bool softmax_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                             int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    softmax_push p;
    const lg_tensor *x = lg_vkk_arg(n_in, in, 0);
    return lg_vkk_float_fits(d, x) && softmax_shape(n, opset, x, &p);
}

static int softmax_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_vk_tune *t = lg_vk_tune_get(d);
    softmax_push p;
    lg_vk_pipeline *pipe;
    if (!softmax_shape(dn->node, dn->opset, dn->inputs[0], &p)) return lg_error(LG_E_RUNTIME, "Softmax: bad axis");
    lg_vk_binding b[2] = { lg_vk_bind_tensor(d, dn->inputs[0]), lg_vk_bind_tensor(d, dn->outputs[0]) };
    LG_CHECK(lg_vk_pipeline_get(d, "softmax", 2, sizeof(p), 1, &t->wg_row, &pipe));
    return lg_vkk_dispatch_rows(r, pipe, 2, b, &p, sizeof(p), p.rows);
}

/* ---- LayerNormalization ---- */

typedef struct layernorm_push {
    uint32_t rows, R;
    float eps;
    uint32_t has_bias;
} layernorm_push;

static bool layernorm_shape(const lg_node *n, int n_in, const lg_tensor *const *in, layernorm_push *p)
{
    const lg_tensor *x = in[0], *s = lg_vkk_arg(n_in, in, 1), *b = lg_vkk_arg(n_in, in, 2);
    int axis;
    if (x->ndim < 1 || lg_norm_axis(lg_attr_int(n, "axis", -1), x->ndim, &axis) != LG_OK) return false;
    int64_t rows = 1, R = 1;
    for (int k = 0; k < x->ndim; k++) *(k < axis ? &rows : &R) *= x->dims[k];
    if (!s || lg_tensor_numel_(s) != R || (b && lg_tensor_numel_(b) != R)) return false;
    p->rows = (uint32_t)rows;
    p->R = (uint32_t)R;
    p->eps = lg_attr_float(n, "epsilon", 1e-5f);
    p->has_bias = b != NULL;
    return R > 0;
}

static bool layernorm_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                               int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    layernorm_push p;
    const lg_tensor *s = lg_vkk_arg(n_in, in, 1), *b = lg_vkk_arg(n_in, in, 2);
    for (int i = 1; i < n_out; i++)
        if (out[i]) return false; /* Mean, InvStdDev */
    if (!lg_vkk_float_fits(d, lg_vkk_arg(n_in, in, 0)) || !lg_vkk_float_fits(d, s)) return false;
    if (b && !lg_vkk_float_fits(d, b)) return false;
    return layernorm_shape(n, n_in, in, &p);
}

static int layernorm_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_vk_tune *t = lg_vk_tune_get(d);
    layernorm_push p;
    lg_vk_pipeline *pipe;
    if (!layernorm_shape(dn->node, dn->n_inputs, dn->inputs, &p))
        return lg_error(LG_E_RUNTIME, "LayerNormalization: shapes changed after supports()");
    lg_vk_binding s = lg_vk_bind_tensor(d, dn->inputs[1]);
    lg_vk_binding b[4] = { lg_vk_bind_tensor(d, dn->inputs[0]), s,
                           p.has_bias ? lg_vk_bind_tensor(d, dn->inputs[2]) : s,
                           lg_vk_bind_tensor(d, dn->outputs[0]) };
    LG_CHECK(lg_vk_pipeline_get(d, "layernorm", 4, sizeof(p), 1, &t->wg_row, &pipe));
    return lg_vkk_dispatch_rows(r, pipe, 4, b, &p, sizeof(p), p.rows);
}

const lg_vk_op lg_vk_ops_norm[] = {
    { "BatchNormalization", "", 9, LG_VK_OPSET_MAX, bn_supports, bn_prepare, bn_release, bn_record, bn_epilogue },
    { "Softmax", "", 1, LG_VK_OPSET_MAX, softmax_supports, NULL, NULL, softmax_record, NULL },
    { "LogSoftmax", "", 1, LG_VK_OPSET_MAX, softmax_supports, NULL, NULL, softmax_record, NULL },
    { "LayerNormalization", "", 17, LG_VK_OPSET_MAX, layernorm_supports, NULL, NULL, layernorm_record, NULL },
    { NULL }
};
