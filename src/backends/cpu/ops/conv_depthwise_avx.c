/*
 * conv_depthwise_avx.c: the AVX (no FMA) inner loop of the depthwise convolution (a row
 * of y += w * x), see conv_depthwise.c.
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
