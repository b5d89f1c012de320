/*
 * conv.h: what the convolution operators share with the rest of the engine: the
 * geometry of a convolution (spatial sizes, pads from auto_pad), the im2col packer for
 * the GEMM, and the fused-activation hook for graph passes.
 *
 * Fusing an activation into a Conv (float32): after the session has run Conv's prepare,
 * a pass that removed the following activation node calls, on the Conv node's state
 * (ctx->state; prepare always makes one),
 *
 *   lg_act act;
 *   if (lg_act_from_node(relu_node, &act) == LG_OK)     // elementwise.h
 *       lg_conv_set_activation(conv_state, &act);
 *
 * The Conv then writes act(conv(x) + bias) in its output pass while the tile is in
 * cache: Relu and Clip inside the GEMM micro-kernel, any other lg_act (SiLU, ...) on
 * each finished GEMM block.
 */
#ifndef LG_OPS_CONV_H
#define LG_OPS_CONV_H

#include <stdint.h>

#include "backends/cpu/ops/elementwise.h"
#include "runtime/kernel.h"

/* Spatial dimensions handled by the convolution kernels (1-D, 2-D, 3-D). */
#define LG_CONV_MAX_SPATIAL 3

typedef struct lg_conv_geom {
    int nd;                     /* spatial dims, 1..LG_CONV_MAX_SPATIAL */
    int64_t batch;
    int64_t in_c, out_c, group;
    int64_t in[LG_CONV_MAX_SPATIAL], out[LG_CONV_MAX_SPATIAL];
    int64_t kernel[LG_CONV_MAX_SPATIAL], stride[LG_CONV_MAX_SPATIAL], dil[LG_CONV_MAX_SPATIAL];
    int64_t pad[LG_CONV_MAX_SPATIAL];   /* padding before each spatial dim */
    int64_t in_size, out_size, kernel_size; /* products of in, out, kernel */
} lg_conv_geom;

/* Geometry of a Conv-like node (Conv, ConvInteger, QLinearConv) from its attributes and
 * the shapes of x [N, C, D...] and w [M, C/group, k...]. Checks every size. */
int lg_conv_geometry(const lg_node *n, const lg_tensor *x, const lg_tensor *w, lg_conv_geom *g);

/* Output dims [N, M, out...] of g. */
void lg_conv_out_dims(const lg_conv_geom *g, int64_t *dims);

/* im2col as indices: for row k of a group's im2col matrix (k over channel, then kernel
 * offsets) and its columns j0 .. j0+nj-1 (output pixels), writes the offset of the input
 * element in the group's image [C/group, in...] into idx, or -1 where it falls in the
 * padding. ConvTranspose uses it the other way round (its output is the image). */
void lg_conv_im2col_index(const lg_conv_geom *g, int64_t k, int64_t j0, int64_t nj, int64_t *idx);

/* Requests the fused activation on a prepared Conv node (see above); state is the
 * node's ctx->state. LG_E_INVALID_ARG for a NULL state or an unknown kind. */
int lg_conv_set_activation(void *state, const lg_act *act);

/* Fusing the residual Add that follows a float32 Conv (ResNet's y = relu(conv(x) + b + r)):
 * after prepare, a pass that removed the Add (and the activation after it) calls
 *
 *   lg_conv_set_residual(conv_state);                    // the Add
 *   lg_conv_set_activation(conv_state, &relu);          // if an activation followed it
 *
 * and at run time passes the Add's other operand (same shape as the Conv's output,
 * float32) as input 3 of the Conv's kctx, after X, W and B (B may be NULL: n_inputs 4).
 * The Conv then writes act(conv(x) + b + r) in its output pass; without input 3 it fails
 * with LG_E_RUNTIME. LG_E_INVALID_ARG for a NULL state. */
int lg_conv_set_residual(void *state);

/* c[i] += r[i] for i < n with the SIMD path's kernel (the residual pass). */
void lg_conv_add_rows(float *c, const float *r, int64_t n);

#endif
