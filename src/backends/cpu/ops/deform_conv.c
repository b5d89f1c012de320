/*
 * deform_conv.c: DeformConv (opset 19-22), 2-D: each kernel tap samples the input at its
 * regular position plus a learned offset (bilinear, zero outside the image), optionally
 * scaled by a mask, then the taps are weighted and summed like Conv (groups, offset
 * groups, strides, dilations, pads, bias). Computed in double.
 */
#include <math.h>

#include "runtime/kernel.h"

typedef struct deform_geom {
    int64_t n, ic, ih, iw, oc, kh, kw, oh, ow;
    int64_t group, offset_group, sh, sw, dh, dw, ph, pw;
} deform_geom;

static int ints2(const lg_kctx *c, const char *name, int64_t def, int64_t *a, int64_t *b)
{
    int k = 0;
    const int64_t *v = lg_attr_ints(c->node, name, &k);
    if (v && k < 2) return lg_error(LG_E_INVALID_MODEL, "%s needs 2 values for 2-D data", name);
    *a = v ? v[0] : def;
    *b = v ? v[1] : def;
    return LG_OK;
}

static int deform_geom_of(const lg_kctx *c, deform_geom *g)
{
    const lg_tensor *x = lg_kin(c, 0), *w = lg_kin(c, 1), *off = lg_kin(c, 2), *mask = lg_kin(c, 4), *b = lg_kin(c, 3);
    if (!x || !w || !off) return lg_error(LG_E_INVALID_MODEL, "DeformConv needs X, W and offset");
    if (x->ndim != 4 || w->ndim != 4 || off->ndim != 4)
        return lg_error(LG_E_UNSUPPORTED, "DeformConv is implemented for 2-D data (rank-4 X, W and offset)");
    if (!lg_dtype_is_float(x->dtype)) return lg_error(LG_E_UNSUPPORTED, "DeformConv of %s", lg_dtype_name(x->dtype));
    g->n = x->dims[0];
    g->ic = x->dims[1];
    g->ih = x->dims[2];
    g->iw = x->dims[3];
    g->oc = w->dims[0];
    g->kh = w->dims[2];
    g->kw = w->dims[3];
    g->oh = off->dims[2];
    g->ow = off->dims[3];
    g->group = lg_attr_int(c->node, "group", 1);
    g->offset_group = lg_attr_int(c->node, "offset_group", 1);
    int64_t p[4] = { 0, 0, 0, 0 };
    int k = 0;
    const int64_t *pads = lg_attr_ints(c->node, "pads", &k);
    if (pads && k == 4)
        for (int i = 0; i < 4; i++) p[i] = pads[i];
    g->ph = p[0];
    g->pw = p[1];
    LG_CHECK(ints2(c, "strides", 1, &g->sh, &g->sw));
    LG_CHECK(ints2(c, "dilations", 1, &g->dh, &g->dw));
    if (g->group <= 0 || g->offset_group <= 0 || g->ic != w->dims[1] * g->group || g->oc % g->group || g->ic % g->offset_group)
        return lg_error(LG_E_SHAPE, "channels, group and offset_group do not fit (X has %lld channels, W %lld x %lld)",
                        (long long)g->ic, (long long)g->oc, (long long)w->dims[1]);
    if (off->dims[0] != g->n || off->dims[1] != g->offset_group * g->kh * g->kw * 2)
        return lg_error(LG_E_SHAPE, "offset must be (N, offset_group * kh * kw * 2, oh, ow)");
    if (mask && (mask->ndim != 4 || mask->dims[1] != g->offset_group * g->kh * g->kw || mask->dims[2] != g->oh || mask->dims[3] != g->ow))
        return lg_error(LG_E_SHAPE, "mask must be (N, offset_group * kh * kw, oh, ow)");
    if (b && lg_tensor_numel_(b) != g->oc) return lg_error(LG_E_SHAPE, "B must hold one value per output channel");
    return LG_OK;
}

static int deform_infer(lg_kctx *c)
{
    deform_geom g;
    LG_CHECK(deform_geom_of(c, &g));
    int64_t dims[4] = { g.n, g.oc, g.oh, g.ow };
    return lg_kout_shape(c, 0, c->inputs[0]->dtype, 4, dims);
}

/* Bilinear sample of plane (ih x iw) at (y, x), zero outside. */
static double sample(const lg_tensor *x, int64_t base, const deform_geom *g, double y, double xx)
{
    double y0 = floor(y), x0 = floor(xx), v = 0.0;
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            int64_t yi = (int64_t)y0 + dy, xi = (int64_t)x0 + dx;
            if (yi < 0 || yi >= g->ih || xi < 0 || xi >= g->iw) continue;
            double wy = dy ? y - y0 : 1.0 - (y - y0), wx = dx ? xx - x0 : 1.0 - (xx - x0);
            v += wy * wx * lg_tensor_get_f64(x, base + yi * g->iw + xi);
        }
    return v;
}

static int deform_exec(lg_kctx *c)
{
    deform_geom g;
    LG_CHECK(deform_geom_of(c, &g));
    const lg_tensor *x = c->inputs[0], *w = c->inputs[1], *off = c->inputs[2], *b = lg_kin(c, 3), *mask = lg_kin(c, 4);
    lg_tensor *y = c->outputs[0];
    if (!y) return LG_OK;
    int64_t icg = g.ic / g.group, ocg = g.oc / g.group, ico = g.ic / g.offset_group, taps = g.kh * g.kw;
    for (int64_t n = 0; n < g.n; n++)
        for (int64_t o = 0; o < g.oc; o++)
            for (int64_t i = 0; i < g.oh; i++)
                for (int64_t j = 0; j < g.ow; j++) {
                    double acc = b ? lg_tensor_get_f64(b, o) : 0.0;
                    for (int64_t cg = 0; cg < icg; cg++) {
                        int64_t ch = (o / ocg) * icg + cg, og = ch / ico;
                        for (int64_t t = 0; t < taps; t++) {
                            int64_t ki = t / g.kw, kj = t % g.kw;
                            int64_t oi = (((n * g.offset_group + og) * taps + t) * 2) * g.oh * g.ow + i * g.ow + j;
                            double py = (double)(i * g.sh - g.ph + ki * g.dh) + lg_tensor_get_f64(off, oi);
                            double px = (double)(j * g.sw - g.pw + kj * g.dw) + lg_tensor_get_f64(off, oi + g.oh * g.ow);
                            double m = mask ? lg_tensor_get_f64(mask, ((n * g.offset_group + og) * taps + t) * g.oh * g.ow + i * g.ow + j) : 1.0;
                            double v = sample(x, (n * g.ic + ch) * g.ih * g.iw, &g, py, px);
                            acc += v * m * lg_tensor_get_f64(w, (o * icg + cg) * taps + t);
                        }
                    }
                    lg_tensor_set_f64(y, ((n * g.oc + o) * g.oh + i) * g.ow + j, acc);
                }
    return LG_OK;
}

const lg_op_def lg_ops_deform_conv[] = {
    { "DeformConv", "", 19, 27, deform_infer, deform_exec, NULL, NULL },
    { NULL }
};
