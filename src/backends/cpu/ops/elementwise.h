/*
 * elementwise.h: float32 activations applied to arrays, for operators that fuse an
 * activation into their output loop (Conv, Gemm, MatMul), and for activation.c.
 *
 *   lg_act act;
 *   if (lg_act_from_node(relu_node, &act) == LG_OK)
 *       lg_act_apply(&act, out_tile, tile_len);      // serial: call it per tile
 *
 * Clip from opset 11 takes min/max as inputs: lg_act_from_node leaves them at
 * -inf/+inf and the caller sets act.alpha/act.beta from the constant inputs.
 */
#ifndef LG_OPS_ELEMENTWISE_H
#define LG_OPS_ELEMENTWISE_H

#include <stdint.h>

#include "runtime/backend.h"

/* lg_act and lg_act_kind are the runtime's (runtime/backend.h): fusion is planned there. */

/* Applies act to x[0..n) in place / from x into y (y == x allowed). Serial. */
void lg_act_apply(const lg_act *act, float *x, int64_t n);
void lg_act_apply_to(const lg_act *act, float *y, const float *x, int64_t n);
/* y[i] = a[i] + b[i] for i < n (y may be a or b), with the SIMD path's kernel. Serial. */
void lg_ew_add_f32(float *y, const float *a, const float *b, int64_t n);

#endif
