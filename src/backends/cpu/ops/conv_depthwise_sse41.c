/*
 * conv_depthwise_sse41.c: the SSE4.1 inner loop of the depthwise convolution (a row of
 * y += w * x), see conv_depthwise.c.
 */
#include <smmintrin.h>

#include "backends/cpu/ops/conv_depthwise.h"

void lg_conv_dw_axpy_sse41(float *y, const float *x, float w, int64_t n)
{
    __m128 wv = _mm_set1_ps(w);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128 y0 = _mm_add_ps(_mm_loadu_ps(y + i), _mm_mul_ps(wv, _mm_loadu_ps(x + i)));
        __m128 y1 = _mm_add_ps(_mm_loadu_ps(y + i + 4), _mm_mul_ps(wv, _mm_loadu_ps(x + i + 4)));
        _mm_storeu_ps(y + i, y0);
        _mm_storeu_ps(y + i + 4, y1);
    }
    for (; i + 4 <= n; i += 4)
        _mm_storeu_ps(y + i, _mm_add_ps(_mm_loadu_ps(y + i), _mm_mul_ps(wv, _mm_loadu_ps(x + i))));
    for (; i < n; i++) y[i] += w * x[i];
}
