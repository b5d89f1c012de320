/*
 * conv_depthwise.h: the direct kernel for depthwise 2-D convolutions (one input channel
 * per group, as in MobileNet and ShuffleNet), where a GEMM per group would be 1 row tall.
 */
#ifndef LG_OPS_CONV_DEPTHWISE_H
#define LG_OPS_CONV_DEPTHWISE_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/cpu/ops/conv.h"

typedef struct lg_conv_dw_args {
    const lg_conv_geom *g;
    const float *x, *w, *bias;  /* bias may be NULL */
    float *y;
    const lg_act *act;          /* fused activation, or NULL */
    const float *res;           /* residual added before the activation (shaped as y), or NULL */
} lg_conv_dw_args;

/* Whether g is a 2-D convolution with one input channel per group (and several groups). */
bool lg_conv_depthwise_applies(const lg_conv_geom *g);
/* LG_OK, or LG_E_NOMEM when a thread's row scratch could not be allocated. */
int lg_conv_depthwise_f32(lg_threadpool *pool, const lg_conv_dw_args *a);

/* y[i] += w * x[i] for i < n, per SIMD path (conv_depthwise_<path>.c). */
void lg_conv_dw_axpy_avx2(float *y, const float *x, float w, int64_t n);
void lg_conv_dw_axpy_avx(float *y, const float *x, float w, int64_t n);
void lg_conv_dw_axpy_sse41(float *y, const float *x, float w, int64_t n);
/* y[i] = bias + sum over t < taps of w[t] * src[t][i] for i < n, per SIMD path. */
void lg_conv_dw_taps_avx512(float *y, const float *const *src, const float *w, int taps, float bias, int64_t n);
void lg_conv_dw_taps_avx2(float *y, const float *const *src, const float *w, int taps, float bias, int64_t n);
void lg_conv_dw_taps_avx(float *y, const float *const *src, const float *w, int taps, float bias, int64_t n);
void lg_conv_dw_taps_sse41(float *y, const float *const *src, const float *w, int taps, float bias, int64_t n);

#endif
