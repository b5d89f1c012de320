/*
 * conv_depthwise_avx2.c: the AVX2 inner loop of the depthwise convolution (a row of
 * y += w * x), see conv_depthwise.c.
 */
#include <immintrin.h>
#include <math.h>

#include "backends/cpu/ops/conv_depthwise.h"

void lg_conv_dw_axpy_avx2(float *y, const float *x, float w, int64_t n)
{
    __m256 wv = _mm256_set1_ps(w);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 y0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i));
        __m256 y1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8));
        _mm256_storeu_ps(y + i, y0);
        _mm256_storeu_ps(y + i + 8, y1);
    }
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] = fmaf(w, x[i], y[i]);
}
