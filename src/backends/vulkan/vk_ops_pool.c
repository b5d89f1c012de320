/*
 * vk_ops_pool.c: MaxPool and AveragePool over 1-D and 2-D windows (shaders/pool.comp:
 * kernel_shape, strides, pads or auto_pad, dilations, ceil_mode through the output
 * shape, count_include_pad), GlobalAveragePool and GlobalMaxPool as row reductions
 * (reduce.comp). MaxPool's Indices output stays on the CPU.
 */
#include <string.h>

#include "backends/vulkan/vk_ops_reduce.h"

typedef struct pool_push {
    uint32_t n;
    uint32_t H, W, OH, OW;
    uint32_t KH, KW, SH, SW, DH, DW;
    int32_t PH, PW, PEH, PEW;
    uint32_t avg;
    uint32_t count_pad;
} pool_push;

/* Attribute list of nsp values (or def), false when malformed. */
static bool axis_ints(const lg_node *n, const char *name, int count, int64_t def, int64_t *v)
{
    int c = 0;
    const int64_t *a = lg_attr_ints(n, name, &c);
    for (int i = 0; i < count; i++) v[i] = def;
    if (!a) return true;
    if (c != count) return false;
    memcpy(v, a, sizeof(int64_t) * (size_t)count);
    return true;
}

static bool pool_params(const lg_node *n, const lg_tensor *x, const lg_tensor *y, pool_push *p)
{
    int nsp = x->ndim - 2;
    if (nsp < 1 || nsp > 2 || y->ndim != x->ndim) return false;
    int64_t k[2], s[2], dl[2], pads[4], pb[2], pe[2];
    if (!lg_attr_ints(n, "kernel_shape", &(int){ 0 })) return false;
    if (!axis_ints(n, "kernel_shape", nsp, 1, k) || !axis_ints(n, "strides", nsp, 1, s) ||
        !axis_ints(n, "dilations", nsp, 1, dl) || !axis_ints(n, "pads", 2 * nsp, 0, pads))
        return false;
    const char *ap = lg_attr_string(n, "auto_pad", "NOTSET");
    for (int a = 0; a < nsp; a++) {
        int64_t in = x->dims[2 + a], out = y->dims[2 + a], span = (k[a] - 1) * dl[a] + 1;
        if (k[a] < 1 || s[a] < 1 || dl[a] < 1) return false;
        pb[a] = pads[a];
        pe[a] = pads[a + nsp];
        if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
            int64_t total = (out - 1) * s[a] + span - in;
            if (total < 0) total = 0;
            pb[a] = ap[5] == 'L' ? total - total / 2 : total / 2;
            pe[a] = total - pb[a];
        } else if (!strcmp(ap, "VALID")) {
            pb[a] = pe[a] = 0;
        } else if (strcmp(ap, "NOTSET") != 0 && ap[0] != '\0') {
            return false;
        }
    }
    int h = nsp == 2 ? 0 : -1, w = nsp - 1;
    p->n = (uint32_t)lg_tensor_numel_(y);
    p->H = h >= 0 ? (uint32_t)x->dims[2] : 1;
    p->OH = h >= 0 ? (uint32_t)y->dims[2] : 1;
    p->KH = h >= 0 ? (uint32_t)k[0] : 1;
    p->SH = h >= 0 ? (uint32_t)s[0] : 1;
    p->DH = h >= 0 ? (uint32_t)dl[0] : 1;
    p->PH = h >= 0 ? (int32_t)pb[0] : 0;
    p->PEH = h >= 0 ? (int32_t)pe[0] : 0;
    p->W = (uint32_t)x->dims[2 + w];
    p->OW = (uint32_t)y->dims[2 + w];
    p->KW = (uint32_t)k[w];
    p->SW = (uint32_t)s[w];
    p->DW = (uint32_t)dl[w];
    p->PW = (int32_t)pb[w];
    p->PEW = (int32_t)pe[w];
    p->avg = strcmp(n->op_type, "AveragePool") == 0;
    p->count_pad = lg_attr_int(n, "count_include_pad", 0) != 0;
    return true;
}

static bool pool_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                          int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    const lg_tensor *x = lg_vkk_arg(n_in, in, 0), *y = n_out > 0 ? out[0] : NULL;
    pool_push p;
    if (n_out > 1 && out[1]) return false; /* MaxPool's Indices */
    if (!lg_vkk_float_fits(d, x) || !lg_vkk_float_fits(d, y)) return false;
    return pool_params(n, x, y, &p);
}

static int pool_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_vk_tune *t = lg_vk_tune_get(d);
    pool_push p;
    lg_vk_pipeline *pipe;
    if (!pool_params(dn->node, dn->inputs[0], dn->outputs[0], &p))
        return lg_error(LG_E_RUNTIME, "%s: attributes changed after supports()", dn->node->op_type);
    lg_vk_binding b[2] = { lg_vk_bind_tensor(d, dn->inputs[0]), lg_vk_bind_tensor(d, dn->outputs[0]) };
    LG_CHECK(lg_vk_pipeline_get(d, "pool", 2, sizeof(p), 1, &t->wg_elem, &pipe));
    return lg_vkk_dispatch_1d(r, pipe, 2, b, &p, sizeof(p), p.n, t->wg_elem);
}

static bool global_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                            int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    const lg_tensor *x = lg_vkk_arg(n_in, in, 0);
    return lg_vkk_float_fits(d, x) && x->ndim >= 3 && n_out > 0 && out[0];
}

static int global_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    const lg_tensor *x = dn->inputs[0];
    uint64_t planes = (uint64_t)(x->dims[0] * x->dims[1]), S = (uint64_t)lg_tensor_numel_(x) / (planes ? planes : 1);
    bool avg = strcmp(dn->node->op_type, "GlobalAveragePool") == 0;
    return lg_vk_reduce_record(r, x, dn->outputs[0], planes, S, 1, avg ? LG_VKR_MEAN : LG_VKR_MAX);
}

const lg_vk_op lg_vk_ops_pool[] = {
    { "MaxPool", "", 1, LG_VK_OPSET_MAX, pool_supports, NULL, NULL, pool_record, NULL },
    { "AveragePool", "", 1, LG_VK_OPSET_CHECKED, pool_supports, NULL, NULL, pool_record, NULL },
    { "GlobalAveragePool", "", 1, LG_VK_OPSET_MAX, global_supports, NULL, NULL, global_record, NULL },
    { "GlobalMaxPool", "", 1, LG_VK_OPSET_MAX, global_supports, NULL, NULL, global_record, NULL },
    { NULL }
};
