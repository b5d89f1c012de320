/*
 * grid_ops.c: operators between images and patches or sampling grids: AffineGrid (20:
 * the sampling grid of 2-D or 3-D affine matrices, for GridSample) and Col2Im (18: sums
 * sliding blocks back into an N-d image; the inverse of im2col). Computed in double.
 */
#include <string.h>

#include "backends/cpu/ops/tensor_copy.h"
#include "runtime/kernel.h"

/* ---- AffineGrid ---- */

static int affine_size(const lg_kctx *c, int64_t *size, int *nsp)
{
    const lg_tensor *theta = lg_kin(c, 0), *sz = lg_kin(c, 1);
    int n;
    if (!theta || !sz) return lg_error(LG_E_INVALID_MODEL, "AffineGrid needs theta and size");
    LG_CHECK(lg_read_ints(sz, "size", size, 5, &n));
    if (n != 4 && n != 5) return lg_error(LG_E_SHAPE, "size must be (N, C, H, W) or (N, C, D, H, W)");
    *nsp = n - 2;
    if (!lg_dtype_is_float(theta->dtype) || theta->ndim != 3 || theta->dims[0] != size[0] || theta->dims[1] != *nsp ||
        theta->dims[2] != *nsp + 1)
        return lg_error(LG_E_SHAPE, "theta must be (N, %d, %d) floats", *nsp, *nsp + 1);
    for (int i = 0; i < n; i++)
        if (size[i] < 0) return lg_error(LG_E_SHAPE, "size[%d] is negative", i);
    return LG_OK;
}

static int affine_infer(lg_kctx *c)
{
    int64_t size[5], dims[5];
    int nsp;
    LG_CHECK(affine_size(c, size, &nsp));
    dims[0] = size[0];
    for (int i = 0; i < nsp; i++) dims[1 + i] = size[2 + i];
    dims[1 + nsp] = nsp;
    return lg_kout_shape(c, 0, c->inputs[0]->dtype, nsp + 2, dims);
}

/* Normalised coordinate of index i of an axis of length len. */
static double base_coord(int64_t i, int64_t len, bool align)
{
    if (align) return len > 1 ? -1.0 + 2.0 * (double)i / (double)(len - 1) : 0.0;
    return (2.0 * (double)i + 1.0) / (double)len - 1.0;
}

static int affine_exec(lg_kctx *c)
{
    int64_t size[5];
    int nsp;
    LG_CHECK(affine_size(c, size, &nsp));
    const lg_tensor *theta = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    if (!y) return LG_OK;
    bool align = lg_attr_int(c->node, "align_corners", 0) != 0;
    int64_t points = lg_dims_numel(nsp, size + 2), idx[3] = { 0, 0, 0 };
    for (int64_t b = 0; b < size[0]; b++)
        for (int64_t p = 0; p < points; p++) {
            double v[4]; /* x (last axis), y, z, 1 */
            for (int k = 0; k < nsp; k++) v[k] = base_coord(idx[nsp - 1 - k], size[2 + nsp - 1 - k], align);
            v[nsp] = 1.0;
            for (int r = 0; r < nsp; r++) {
                double acc = 0.0;
                for (int k = 0; k <= nsp; k++) acc += lg_tensor_get_f64(theta, (b * nsp + r) * (nsp + 1) + k) * v[k];
                lg_tensor_set_f64(y, (b * points + p) * nsp + r, acc);
            }
            for (int a = nsp - 1; a >= 0 && ++idx[a] == size[2 + a]; a--) idx[a] = 0;
        }
    return LG_OK;
}

/* ---- Col2Im ---- */

typedef struct col2im_geom {
    int n;                                   /* spatial dims */
    int64_t image[LG_MAX_DIMS], block[LG_MAX_DIMS], dil[LG_MAX_DIMS], pads[2 * LG_MAX_DIMS], strides[LG_MAX_DIMS];
    int64_t blocks[LG_MAX_DIMS];             /* sliding positions per axis */
    int64_t channels, kernel, positions;
} col2im_geom;

static int ints_attr(const lg_kctx *c, const char *name, int n, int64_t def, int64_t *out)
{
    int k = 0;
    const int64_t *a = lg_attr_ints(c->node, name, &k);
    if (a && k != n) return lg_error(LG_E_INVALID_MODEL, "%s has %d values for %d spatial axes", name, k, n);
    for (int i = 0; i < n; i++) out[i] = a ? a[i] : def;
    return LG_OK;
}

static int col2im_geom_of(const lg_kctx *c, col2im_geom *g)
{
    const lg_tensor *x = lg_kin(c, 0), *img = lg_kin(c, 1), *blk = lg_kin(c, 2);
    int ni, nb;
    if (!x || !img || !blk) return lg_error(LG_E_INVALID_MODEL, "Col2Im needs input, image_shape and block_shape");
    LG_CHECK(lg_read_ints(img, "image_shape", g->image, LG_MAX_DIMS - 2, &ni));
    LG_CHECK(lg_read_ints(blk, "block_shape", g->block, LG_MAX_DIMS - 2, &nb));
    if (ni != nb || ni < 1) return lg_error(LG_E_SHAPE, "image_shape and block_shape must have the same length");
    g->n = ni;
    LG_CHECK(ints_attr(c, "dilations", ni, 1, g->dil));
    LG_CHECK(ints_attr(c, "strides", ni, 1, g->strides));
    LG_CHECK(ints_attr(c, "pads", 2 * ni, 0, g->pads));
    if (x->ndim != 3) return lg_error(LG_E_SHAPE, "input must be (N, C * prod(block_shape), L)");
    g->kernel = 1;
    g->positions = 1;
    for (int i = 0; i < ni; i++) {
        if (g->block[i] <= 0 || g->dil[i] <= 0 || g->strides[i] <= 0 || g->image[i] < 0)
            return lg_error(LG_E_SHAPE, "block, dilation and stride must be positive");
        int64_t span = g->dil[i] * (g->block[i] - 1) + 1, padded = g->image[i] + g->pads[i] + g->pads[i + ni];
        g->blocks[i] = padded >= span ? (padded - span) / g->strides[i] + 1 : 0;
        g->kernel *= g->block[i];
        g->positions *= g->blocks[i];
    }
    if (x->dims[1] % g->kernel != 0 || x->dims[2] != g->positions)
        return lg_error(LG_E_SHAPE, "input (N, %lld, %lld) does not match %lld kernel elements at %lld positions",
                        (long long)x->dims[1], (long long)x->dims[2], (long long)g->kernel, (long long)g->positions);
    g->channels = x->dims[1] / g->kernel;
    return LG_OK;
}

static int col2im_infer(lg_kctx *c)
{
    col2im_geom g;
    LG_CHECK(col2im_geom_of(c, &g));
    int64_t dims[LG_MAX_DIMS] = { c->inputs[0]->dims[0], g.channels };
    memcpy(dims + 2, g.image, sizeof(int64_t) * (size_t)g.n);
    return lg_kout_shape(c, 0, c->inputs[0]->dtype, g.n + 2, dims);
}

static int col2im_exec(lg_kctx *c)
{
    col2im_geom g;
    LG_CHECK(col2im_geom_of(c, &g));
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    if (!y) return LG_OK;
    int64_t pixels = lg_dims_numel(g.n, g.image), total = lg_tensor_numel_(y);
    double *acc = lg_calloc(sizeof(double) * (size_t)(total > 0 ? total : 1));
    if (!acc) return lg_error(LG_E_NOMEM, "out of memory");
    for (int64_t b = 0; b < x->dims[0]; b++)
        for (int64_t ch = 0; ch < g.channels; ch++)
            for (int64_t k = 0; k < g.kernel; k++)
                for (int64_t p = 0; p < g.positions; p++) {
                    int64_t kr = k, pr = p, pix = 0;
                    bool inside = true;
                    for (int a = g.n - 1; a >= 0; a--) { /* kernel offset and block position per axis */
                        int64_t ki = kr % g.block[a], bi = pr % g.blocks[a];
                        kr /= g.block[a];
                        pr /= g.blocks[a];
                        int64_t at = bi * g.strides[a] + ki * g.dil[a] - g.pads[a];
                        inside &= at >= 0 && at < g.image[a];
                        int64_t stride = lg_dims_numel(g.n - a - 1, g.image + a + 1);
                        pix += at * stride;
                    }
                    if (!inside) continue;
                    acc[(b * g.channels + ch) * pixels + pix] += lg_tensor_get_f64(x, ((b * g.channels + ch) * g.kernel + k) * g.positions + p);
                }
    for (int64_t i = 0; i < total; i++) lg_tensor_set_f64(y, i, acc[i]);
    lg_free(acc);
    return LG_OK;
}

const lg_op_def lg_ops_grid[] = {
    { "AffineGrid", "", 20, 27, affine_infer, affine_exec, NULL, NULL },
    { "Col2Im", "", 18, 27, col2im_infer, col2im_exec, NULL, NULL },
    { NULL }
};
