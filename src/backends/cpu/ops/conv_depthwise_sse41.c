/*
 * conv_depthwise_sse41.c: the SSE4.1 inner loop of the depthwise convolution (a row of
 * y += w * x) and its tap kernel (a row of outputs from all taps), see
 * conv_depthwise.c.
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

/* y[i] = bias + sum of w[t] * src[t][i]: 4 vectors of outputs per step, so 4 independent
 * chains of multiply-adds are in flight, then single vectors, then the scalar tail. */
void lg_conv_dw_taps_sse41(float *y, const float *const *src, const float *w, int taps, float bias, int64_t n)
{
    int64_t i = 0;
    for (; i + 4 * 4 <= n; i += 4 * 4) {
        __m128 a0 = _mm_set1_ps(bias), a1 = a0, a2 = a0, a3 = a0;
        for (int t = 0; t < taps; t++) {
            const float *s = src[t] + i;
            __m128 wv = _mm_set1_ps(w[t]);
            a0 = _mm_add_ps(a0, _mm_mul_ps(wv, _mm_loadu_ps(s)));
            a1 = _mm_add_ps(a1, _mm_mul_ps(wv, _mm_loadu_ps(s + 4)));
            a2 = _mm_add_ps(a2, _mm_mul_ps(wv, _mm_loadu_ps(s + 2 * 4)));
            a3 = _mm_add_ps(a3, _mm_mul_ps(wv, _mm_loadu_ps(s + 3 * 4)));
        }
        _mm_storeu_ps(y + i, a0);
        _mm_storeu_ps(y + i + 4, a1);
        _mm_storeu_ps(y + i + 2 * 4, a2);
        _mm_storeu_ps(y + i + 3 * 4, a3);
    }
    for (; i + 4 <= n; i += 4) {
        __m128 a0 = _mm_set1_ps(bias);
        for (int t = 0; t < taps; t++) a0 = _mm_add_ps(a0, _mm_mul_ps(_mm_set1_ps(w[t]), _mm_loadu_ps(src[t] + i)));
        _mm_storeu_ps(y + i, a0);
    }
    for (; i < n; i++) {
        float s = bias;
        for (int t = 0; t < taps; t++) s += w[t] * src[t][i];
        y[i] = s;
    }
}
