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

#include "runtime/kernel.h"

typedef enum lg_act_kind {
    LG_ACT_NONE = 0,
    LG_ACT_RELU,        /* max(x, 0) */
    LG_ACT_CLIP,        /* min(max(x, alpha), beta) */
    LG_ACT_SIGMOID,     /* 1 / (1 + exp(-x)) */
    LG_ACT_SILU,        /* x * sigmoid(x) */
    LG_ACT_LEAKYRELU,   /* x >= 0 ? x : alpha * x */
    LG_ACT_HARDSIGMOID, /* max(0, min(1, alpha * x + beta)) */
    LG_ACT_HARDSWISH,   /* x * max(0, min(1, x / 6 + 1 / 2)) */
    LG_ACT_TANH,
} lg_act_kind;

typedef struct lg_act {
    lg_act_kind kind;
    float alpha, beta; /* clip: min, max; leakyrelu: alpha; hardsigmoid: alpha, beta */
} lg_act;

/* Applies act to x[0..n) in place / from x into y (y == x allowed). Serial. */
void lg_act_apply(const lg_act *act, float *x, int64_t n);
void lg_act_apply_to(const lg_act *act, float *y, const float *x, int64_t n);
/* Fills act for a Relu, Clip, Sigmoid, LeakyRelu, HardSigmoid, HardSwish or Tanh node
 * (attributes and their defaults); LG_E_UNSUPPORTED for any other op. */
int lg_act_from_node(const lg_node *n, lg_act *act);

#endif
