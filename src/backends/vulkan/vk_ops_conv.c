/*
 * vk_ops_conv.c: Conv (1-D and 2-D, any stride, dilation, pads / auto_pad, groups) with
 * bias and the fused epilogue y = act(conv + bias + residual) in its output pass. Three
 * paths, chosen per node at record time:
 *   depthwise (group = input channels = output channels)  conv_dw.comp
 *   1x1, stride 1, no padding                             gemm.comp (W [M][C] x X [C][HW])
 *   everything else                                       conv.comp, implicit GEMM
 * Geometry (pads from auto_pad included) comes from the CPU kernel's lg_conv_geometry,
 * so both backends read the attributes the same way. Weights and bias are constants the
 * runtime uploads as device tensors, in ONNX layout; a constant weight larger than one
 * binding (group 1, not depthwise) is uploaded at prepare as blocks of output channels
 * that each fit one (lg_vk_blocks), each block one conv.comp dispatch.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/conv.h"
#include "backends/vulkan/vk_ops_gemm.h"

typedef struct conv_push {
    uint32_t M, Cg, G;
    uint32_t H, W, OH, OW;
    uint32_t KH, KW, SH, SW, DH, DW;
    int32_t PH, PW;
    uint32_t flags;
    uint32_t act;
    float act_alpha, act_beta;
    uint32_t oc0, OC;
} conv_push;

typedef struct conv_dw_push {
    uint32_t n, C;
    uint32_t H, W, OH, OW;
    uint32_t KH, KW, SH, SW, DH, DW;
    int32_t PH, PW;
    uint32_t flags;
    uint32_t act;
    float act_alpha, act_beta;
} conv_dw_push;

/* The geometry as 2-D (1-D convolutions get H = 1). */
typedef struct conv2d {
    lg_conv_geom g;
    uint32_t H, W, OH, OW, KH, KW, SH, SW, DH, DW;
    int32_t PH, PW;
} conv2d;

static bool conv2d_make(const lg_node *n, const lg_tensor *x, const lg_tensor *w, conv2d *c)
{
    if (!x || !w || x->ndim < 3 || x->ndim > 4 || w->ndim != x->ndim) return false;
    if (lg_conv_geometry(n, x, w, &c->g) != LG_OK) return false;
    int o = c->g.nd == 2 ? 1 : 0; /* index of the W axis in the geometry arrays */
    c->H = c->g.nd == 2 ? (uint32_t)c->g.in[0] : 1;
    c->OH = c->g.nd == 2 ? (uint32_t)c->g.out[0] : 1;
    c->KH = c->g.nd == 2 ? (uint32_t)c->g.kernel[0] : 1;
    c->SH = c->g.nd == 2 ? (uint32_t)c->g.stride[0] : 1;
    c->DH = c->g.nd == 2 ? (uint32_t)c->g.dil[0] : 1;
    c->PH = c->g.nd == 2 ? (int32_t)c->g.pad[0] : 0;
    c->W = (uint32_t)c->g.in[o];
    c->OW = (uint32_t)c->g.out[o];
    c->KW = (uint32_t)c->g.kernel[o];
    c->SW = (uint32_t)c->g.stride[o];
    c->DW = (uint32_t)c->g.dil[o];
    c->PW = (int32_t)c->g.pad[o];
    return true;
}

static bool is_depthwise(const conv2d *c) { return c->g.group == c->g.in_c && c->g.out_c == c->g.group && c->g.group > 1; }

static bool is_pointwise(const conv2d *c)
{
    return c->KH == 1 && c->KW == 1 && c->SH == 1 && c->SW == 1 && c->PH == 0 && c->PW == 0;
}

/* A constant weight larger than one binding: row blocks (group 1, not depthwise). */
static bool w_in_blocks(lg_device *d, const lg_tensor *w)
{
    return w && w->data && w->dtype == LG_FLOAT && lg_vkk_small(w) && !lg_vkk_fits(d, w);
}

static bool conv_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                          int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    const lg_tensor *x = lg_vkk_arg(n_in, in, 0), *w = lg_vkk_arg(n_in, in, 1), *b = lg_vkk_arg(n_in, in, 2);
    const lg_tensor *y = n_out > 0 ? out[0] : NULL;
    conv2d c;
    if (!lg_vkk_float_fits(d, x) || !lg_vkk_float_fits(d, y) || !w) return false;
    if (b && !lg_vkk_float_fits(d, b)) return false;
    if (!conv2d_make(n, x, w, &c)) return false;
    if (!lg_vkk_float_fits(d, w) &&
        !(w_in_blocks(d, w) && c.g.group == 1 && lg_vk_blocks_possible(d, lg_tensor_numel_(w) / w->dims[0])))
        return false;
    /* workgroup z is image * group; x and y cover pixels and channels */
    return c.g.batch * c.g.group <= 65535 && lg_vk_gemm_grid_ok(c.g.out_c / c.g.group, (int64_t)c.OH * c.OW);
}

static int record_depthwise(lg_vk_rec *r, const lg_dev_node *dn, const conv2d *c, const lg_vk_binding *bind)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_vk_tune *t = lg_vk_tune_get(d);
    lg_vkk_epi e = lg_vkk_epilogue(dn);
    conv_dw_push p = {
        (uint32_t)lg_tensor_numel_(dn->outputs[0]), (uint32_t)c->g.in_c, c->H, c->W, c->OH, c->OW, c->KH, c->KW,
        c->SH, c->SW, c->DH, c->DW, c->PH, c->PW,
        (lg_vkk_in(dn, 2) ? 1u : 0u) | (dn->residual ? 2u : 0u), e.act, e.alpha, e.beta,
    };
    lg_vk_pipeline *pipe;
    LG_CHECK(lg_vk_pipeline_get(d, "conv_dw", 5, sizeof(p), 1, &t->wg_elem, &pipe));
    return lg_vkk_dispatch_1d(r, pipe, 5, bind, &p, sizeof(p), p.n, t->wg_elem);
}

static int record_pointwise(lg_vk_rec *r, const lg_dev_node *dn, const conv2d *c, const lg_vk_binding *bind)
{
    uint32_t G = (uint32_t)c->g.group, Cg = (uint32_t)(c->g.in_c / G), M = (uint32_t)(c->g.out_c / G);
    uint32_t HW = c->H * c->W;
    lg_vkk_epi e = lg_vkk_epilogue(dn);
    lg_vk_gemm_args g = {
        .M = M, .N = HW, .K = Cg,
        .sam = Cg, .sak = 1, .sbk = HW, .sbn = 1, .scm = 1, .scn = 0,
        .nb2 = G, .sa1 = 0, .sa2 = M * Cg, .sb1 = (uint32_t)c->g.in_c * HW, .sb2 = Cg * HW, .sc1 = 0, .sc2 = M,
        .alpha = 1.0f, .beta = 1.0f, .act = e.act, .act_alpha = e.alpha, .act_beta = e.beta,
    };
    /* A is the weight [M][C/G], B the image [C/G][HW] */
    return lg_vk_gemm_record(r, &g, (uint32_t)(c->g.batch * G), bind[1], bind[0], lg_vkk_in(dn, 2) ? &bind[2] : NULL,
                             dn->residual ? &bind[3] : NULL, bind[4]);
}

/* Output channels oc0 .. oc0+M-1 (M = 0: all of them, per group) with the weights in bind[1]. */
static int record_general(lg_vk_rec *r, const lg_dev_node *dn, const conv2d *c, const lg_vk_binding *bind,
                          uint32_t oc0, uint32_t M)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_vk_tune *t = lg_vk_tune_get(d);
    uint32_t G = (uint32_t)c->g.group;
    if (M == 0) M = (uint32_t)(c->g.out_c / G);
    const lg_vk_tile *tile = M < 16 ? &t->skinny : &t->gemm;
    lg_vkk_epi e = lg_vkk_epilogue(dn);
    conv_push p = {
        M, (uint32_t)(c->g.in_c / G), G, c->H, c->W, c->OH, c->OW, c->KH, c->KW, c->SH, c->SW, c->DH, c->DW,
        c->PH, c->PW, (lg_vkk_in(dn, 2) ? 1u : 0u) | (dn->residual ? 2u : 0u), e.act, e.alpha, e.beta,
        oc0, (uint32_t)c->g.out_c,
    };
    uint32_t spec[6];
    lg_vk_pipeline *pipe;
    lg_vk_tile_spec(tile, spec);
    LG_CHECK(lg_vk_pipeline_get(d, "conv", 5, sizeof(p), 6, spec, &pipe));
    uint32_t nz = (uint32_t)(c->g.batch * G);
    if (nz == 0 || M == 0 || c->OH * c->OW == 0) return LG_OK;
    return lg_vk_dispatch(r, pipe, 5, bind, &p, sizeof(p), lg_vk_groups(c->OH * c->OW, tile->bn),
                          lg_vk_groups(M, tile->bm), nz);
}

static int conv_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_tensor *x = dn->inputs[0], *w = dn->inputs[1], *b = lg_vkk_in(dn, 2), *y = dn->outputs[0];
    conv2d c;
    if (!conv2d_make(dn->node, x, w, &c)) return lg_error(LG_E_RUNTIME, "Conv: geometry changed after supports()");
    const lg_vk_blocks *bl = dn->state;
    lg_vk_binding yb = lg_vk_bind_tensor(d, y);
    lg_vk_binding bind[5] = {
        lg_vk_bind_tensor(d, x), bl ? yb : lg_vk_bind_tensor(d, w), b ? lg_vk_bind_tensor(d, b) : yb,
        dn->residual ? lg_vk_bind_tensor(d, dn->residual) : yb, yb,
    };
    if (bl) {
        for (int i = 0; i < bl->n; i++) {
            uint32_t oc0 = (uint32_t)i * bl->per, rows = (uint32_t)c.g.out_c - oc0;
            bind[1] = lg_vk_weight_binding(bl->w[i]);
            LG_CHECK(record_general(r, dn, &c, bind, oc0, rows < bl->per ? rows : bl->per));
        }
        return LG_OK;
    }
    if (is_depthwise(&c)) return record_depthwise(r, dn, &c, bind);
    if (is_pointwise(&c)) return record_pointwise(r, dn, &c, bind);
    return record_general(r, dn, &c, bind, 0, 0);
}

static int conv_prepare(lg_device *d, const lg_dev_node *dn, void **state)
{
    const lg_tensor *w = dn->inputs[1];
    *state = NULL;
    if (!w_in_blocks(d, w)) return LG_OK;
    int64_t rows = w->dims[0], k = lg_tensor_numel_(w) / rows;
    lg_vk_blocks *bl = calloc(1, sizeof(*bl));
    if (!bl) return lg_error(LG_E_NOMEM, "vulkan: out of host memory");
    /* the weight's rows are the blocks' "columns": element (kk, j) = W[j][kk] */
    int rc = lg_vk_blocks_upload(d, dn->node, w->data, k, rows, 1, k, true, bl);
    if (rc != LG_OK) {
        free(bl);
        return rc;
    }
    if (dn->consumed) *dn->consumed |= 0x2u;
    *state = bl;
    return LG_OK;
}

static void conv_release(lg_device *d, void *state)
{
    lg_vk_blocks_release(d, state);
    free(state);
}

static bool conv_epilogue(const lg_node *n, const lg_act *act, bool residual)
{
    return lg_vkk_epilogue_ok(n, act, residual);
}

const lg_vk_op lg_vk_ops_conv[] = {
    { "Conv", "", 1, LG_VK_OPSET_MAX, conv_supports, conv_prepare, conv_release, conv_record, conv_epilogue },
    { NULL }
};
