/*
 * vk_ops_resize.c: Resize (10+) and Upsample (9) of the trailing one or two axes of
 * float tensors (shaders/resize.comp): nearest with round_prefer_floor,
 * round_prefer_ceil, floor, ceil (and the legacy rule of opset 10 and Upsample), linear
 * (bilinear) with half_pixel, asymmetric, pytorch_half_pixel, align_corners and
 * tf_half_pixel_for_nn. scales / sizes are read on the host. Cubic, tf_crop_and_resize,
 * antialias, the axes attribute and resizing N or C stay on the CPU.
 */
#include <string.h>

#include "backends/vulkan/vk_kern.h"

typedef struct resize_push {
    uint32_t n, H, W, OH, OW;
    float sh, sw;
    uint32_t linear;
    uint32_t coord;
    uint32_t rule;
} resize_push;

static const char *const coord_names[] = { "half_pixel", "asymmetric", "pytorch_half_pixel", "align_corners",
                                           "tf_half_pixel_for_nn", NULL };
static const char *const rule_names[] = { "round_prefer_floor", "round_prefer_ceil", "floor", "ceil", NULL };

static int name_index(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0) return i;
    return -1;
}

static bool resize_params(const lg_node *n, int opset, int n_in, const lg_tensor *const *in, const lg_tensor *y,
                          resize_push *p)
{
    const lg_tensor *x = in[0];
    bool legacy = opset < 11 || strcmp(n->op_type, "Upsample") == 0;
    const lg_tensor *scales = legacy ? lg_vkk_arg(n_in, in, 1) : lg_vkk_arg(n_in, in, 2);
    int r = x->ndim;
    if (r < 3 || r > 4 || y->ndim != r || x->dims[0] != y->dims[0] || x->dims[1] != y->dims[1]) return false;
    if (lg_attr_int(n, "antialias", 0) != 0 || lg_node_attr(n, "axes")) return false;
    const char *mode = lg_attr_string(n, "mode", "nearest");
    if (strcmp(mode, "nearest") && strcmp(mode, "linear") && strcmp(mode, "bilinear")) return false;
    memset(p, 0, sizeof(*p));
    p->linear = strcmp(mode, "nearest") != 0;
    if (legacy) {
        p->coord = 1;
        p->rule = 4;
    } else {
        int c = name_index(coord_names, lg_attr_string(n, "coordinate_transformation_mode", "half_pixel"));
        int ru = name_index(rule_names, lg_attr_string(n, "nearest_mode", "round_prefer_floor"));
        if (c < 0 || ru < 0) return false;
        p->coord = (uint32_t)c;
        p->rule = (uint32_t)ru;
    }
    float s[4];
    for (int a = 0; a < r; a++) {
        if (scales && lg_tensor_numel_(scales) == r) {
            if (!scales->data || scales->dtype != LG_FLOAT) return false;
            s[a] = ((const float *)scales->data)[a];
        } else {
            s[a] = x->dims[a] > 0 ? (float)((double)y->dims[a] / (double)x->dims[a]) : 1.0f;
        }
        if (!(s[a] > 0.0f)) return false;
    }
    p->n = (uint32_t)lg_tensor_numel_(y);
    p->H = r == 4 ? (uint32_t)x->dims[2] : 1;
    p->OH = r == 4 ? (uint32_t)y->dims[2] : 1;
    p->sh = r == 4 ? s[2] : 1.0f;
    p->W = (uint32_t)x->dims[r - 1];
    p->OW = (uint32_t)y->dims[r - 1];
    p->sw = s[r - 1];
    return p->H > 0 && p->W > 0;
}

static bool resize_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                            int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    const lg_tensor *x = lg_vkk_arg(n_in, in, 0), *y = n_out > 0 ? out[0] : NULL;
    resize_push p;
    if (!lg_vkk_float_fits(d, x) || !lg_vkk_float_fits(d, y)) return false;
    for (int i = 1; i < n_in; i++)
        if (in[i]) *host_inputs |= 1u << i; /* roi, scales, sizes */
    return resize_params(n, opset, n_in, in, y, &p);
}

static int resize_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_vk_tune *t = lg_vk_tune_get(d);
    resize_push p;
    lg_vk_pipeline *pipe;
    if (!resize_params(dn->node, dn->opset, dn->n_inputs, dn->inputs, dn->outputs[0], &p))
        return lg_error(LG_E_RUNTIME, "Resize: parameters changed after supports()");
    lg_vk_binding b[2] = { lg_vk_bind_tensor(d, dn->inputs[0]), lg_vk_bind_tensor(d, dn->outputs[0]) };
    LG_CHECK(lg_vk_pipeline_get(d, "resize", 2, sizeof(p), 1, &t->wg_elem, &pipe));
    return lg_vkk_dispatch_1d(r, pipe, 2, b, &p, sizeof(p), p.n, t->wg_elem);
}

const lg_vk_op lg_vk_ops_resize[] = {
    { "Resize", "", 10, LG_VK_OPSET_CHECKED, resize_supports, NULL, NULL, resize_record, NULL },
    { "Upsample", "", 9, 9, resize_supports, NULL, NULL, resize_record, NULL },
    { NULL }
};
