/*
 * conv_depthwise_avx.c: the AVX (no FMA) inner loop of the depthwise convolution (a row
 * of y += w * x) and its tap kernel (a row of outputs from all taps), see
 * conv_depthwise.c.
 */
#include <immintrin.h>

#include "backends/cpu/ops/conv_depthwise.h"

void lg_conv_dw_axpy_avx(float *y, const float *x, float w, int64_t n)
{
    __m256 wv = _mm256_set1_ps(w);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 y0 = _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(wv, _mm256_loadu_ps(x + i)));
        __m256 y1 = _mm256_add_ps(_mm256_loadu_ps(y + i + 8), _mm256_mul_ps(wv, _mm256_loadu_ps(x + i + 8)));
        _mm256_storeu_ps(y + i, y0);
        _mm256_storeu_ps(y + i + 8, y1);
    }
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(wv, _mm256_loadu_ps(x + i))));
    for (; i < n; i++) y[i] += w * x[i];
}

/* y[i] = bias + sum of w[t] * src[t][i]: 4 vectors of outputs per step, so 4 independent
 * chains of multiply-adds are in flight, then single vectors, then the scalar tail. */
void lg_conv_dw_taps_avx(float *y, const float *const *src, const float *w, int taps, float bias, int64_t n)
{
    int64_t i = 0;
    for (; i + 4 * 8 <= n; i += 4 * 8) {
        __m256 a0 = _mm256_set1_ps(bias), a1 = a0, a2 = a0, a3 = a0;
        for (int t = 0; t < taps; t++) {
            const float *s = src[t] + i;
            __m256 wv = _mm256_set1_ps(w[t]);
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(wv, _mm256_loadu_ps(s)));
            a1 = _mm256_add_ps(a1, _mm256_mul_ps(wv, _mm256_loadu_ps(s + 8)));
            a2 = _mm256_add_ps(a2, _mm256_mul_ps(wv, _mm256_loadu_ps(s + 2 * 8)));
            a3 = _mm256_add_ps(a3, _mm256_mul_ps(wv, _mm256_loadu_ps(s + 3 * 8)));
        }
        _mm256_storeu_ps(y + i, a0);
        _mm256_storeu_ps(y + i + 8, a1);
        _mm256_storeu_ps(y + i + 2 * 8, a2);
        _mm256_storeu_ps(y + i + 3 * 8, a3);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 a0 = _mm256_set1_ps(bias);
        for (int t = 0; t < taps; t++) a0 = _mm256_add_ps(a0, _mm256_mul_ps(_mm256_set1_ps(w[t]), _mm256_loadu_ps(src[t] + i)));
        _mm256_storeu_ps(y + i, a0);
    }
    for (; i < n; i++) {
        float s = bias;
        for (int t = 0; t < taps; t++) s += w[t] * src[t][i];
        y[i] = s;
    }
}
