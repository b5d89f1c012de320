/*
 * vk_ops_reduce.c: ReduceSum/Mean/Max/Min/Prod/L1/L2/SumSquare/LogSum/LogSumExp on float
 * tensors (shaders/reduce.comp, fp32 accumulation), axes from the attribute or from a
 * constant input read on the host (ReduceSum 13+, all of them 18+), keepdims (the
 * bytes are the same either way), noop_with_empty_axes. The reduced axes must form one
 * run once dims of size 1 are ignored (the usual cases: trailing axes, H and W); any
 * other set stays on the CPU.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/vk_ops_reduce.h"

typedef struct reduce_push {
    uint32_t n_out, R, inner;
    uint32_t op;
} reduce_push;

static const struct { const char *op; uint32_t code; } reduce_codes[] = {
    { "ReduceSum", LG_VKR_SUM }, { "ReduceMean", LG_VKR_MEAN }, { "ReduceMax", LG_VKR_MAX },
    { "ReduceMin", LG_VKR_MIN }, { "ReduceProd", LG_VKR_PROD }, { "ReduceL2", LG_VKR_L2 },
    { "ReduceL1", LG_VKR_L1 }, { "ReduceSumSquare", LG_VKR_SUMSQ }, { "ReduceLogSum", LG_VKR_LOGSUM },
    { "ReduceLogSumExp", LG_VKR_LOGSUMEXP },
};

int lg_vk_reduce_record(lg_vk_rec *r, const lg_tensor *x, const lg_tensor *y, uint64_t outer, uint64_t R,
                        uint64_t inner, uint32_t op)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_vk_tune *t = lg_vk_tune_get(d);
    reduce_push p = { (uint32_t)(outer * inner), (uint32_t)R, (uint32_t)inner, op };
    lg_vk_pipeline *pipe;
    lg_vk_binding b[2] = { lg_vk_bind_tensor(d, x), lg_vk_bind_tensor(d, y) };
    LG_CHECK(lg_vk_pipeline_get(d, "reduce", 2, sizeof(p), 1, &t->wg_row, &pipe));
    return lg_vkk_dispatch_rows(r, pipe, 2, b, &p, sizeof(p), p.n_out);
}

/* The op's view [outer][R][inner]; false when the axes do not form one run. */
static bool reduce_view(const lg_node *n, int opset, int n_in, const lg_tensor *const *in, uint64_t *outer,
                        uint64_t *R, uint64_t *inner)
{
    const lg_tensor *x = in[0], *at = lg_vkk_arg(n_in, in, 1);
    bool axes_input = opset >= 18 || (opset >= 13 && strcmp(n->op_type, "ReduceSum") == 0);
    bool red[LG_MAX_DIMS] = { false };
    int na = 0;
    const int64_t *axes = NULL;
    if (axes_input) {
        if (at) {
            if (!at->data || at->dtype != LG_INT64) return false;
            axes = at->data;
            na = (int)lg_tensor_numel_(at);
        }
    } else {
        axes = lg_attr_ints(n, "axes", &na);
    }
    if (na == 0 && axes_input && lg_attr_int(n, "noop_with_empty_axes", 0) != 0) {
        *outer = (uint64_t)lg_tensor_numel_(x);
        *R = *inner = 1;
        return true;
    }
    for (int k = 0; k < x->ndim; k++) red[k] = na == 0;
    for (int i = 0; i < na; i++) {
        int a;
        if (lg_norm_axis(axes[i], x->ndim, &a) != LG_OK) return false;
        red[a] = true;
    }
    /* phases: 0 before the run, 1 in it, 2 after it */
    int phase = 0;
    *outer = *R = *inner = 1;
    for (int k = 0; k < x->ndim; k++) {
        uint64_t dim = (uint64_t)x->dims[k];
        if (dim == 1) continue;
        if (red[k]) {
            if (phase == 2) return false;
            phase = 1;
            *R *= dim;
        } else {
            if (phase == 1) phase = 2;
            *(phase == 0 ? outer : inner) *= dim;
        }
    }
    return *R > 0;
}

static uint32_t reduce_code(const lg_node *n)
{
    for (size_t i = 0; i < sizeof(reduce_codes) / sizeof(reduce_codes[0]); i++)
        if (strcmp(reduce_codes[i].op, n->op_type) == 0) return reduce_codes[i].code;
    return 0;
}

static bool reduce_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                            int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    uint64_t o, R, i;
    if (!lg_vkk_float_fits(d, lg_vkk_arg(n_in, in, 0)) || n_out < 1 || !out[0]) return false;
    if (n_in > 1 && in[1]) *host_inputs |= 0x2u; /* axes */
    return reduce_view(n, opset, n_in, in, &o, &R, &i);
}

static int reduce_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    uint64_t o, R, i;
    if (!reduce_view(dn->node, dn->opset, dn->n_inputs, dn->inputs, &o, &R, &i))
        return lg_error(LG_E_RUNTIME, "%s: axes changed after supports()", dn->node->op_type);
    return lg_vk_reduce_record(r, dn->inputs[0], dn->outputs[0], o, R, i, reduce_code(dn->node));
}

#define REDUCE(name) { name, "", 1, LG_VK_OPSET_MAX, reduce_supports, NULL, NULL, reduce_record, NULL }

const lg_vk_op lg_vk_ops_reduce[] = {
    REDUCE("ReduceSum"), REDUCE("ReduceMean"), REDUCE("ReduceMax"), REDUCE("ReduceMin"), REDUCE("ReduceProd"),
    REDUCE("ReduceL2"), REDUCE("ReduceL1"), REDUCE("ReduceSumSquare"), REDUCE("ReduceLogSum"),
    REDUCE("ReduceLogSumExp"),
    { NULL }
};
