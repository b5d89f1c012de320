/*
 * conv_depthwise_avx512.c: the AVX-512 tap kernel of the depthwise convolution (a row of
 * outputs from all taps), see conv_depthwise.c.
 */
#include <immintrin.h>

#include "backends/cpu/ops/conv_depthwise.h"

/* y[i] = bias + sum of w[t] * src[t][i]: 4 vectors of outputs per step, so 4 independent
 * chains of fused multiply-adds are in flight, then single vectors, then the tail under a mask. */
void lg_conv_dw_taps_avx512(float *y, const float *const *src, const float *w, int taps, float bias, int64_t n)
{
    int64_t i = 0;
    for (; i + 4 * 16 <= n; i += 4 * 16) {
        __m512 a0 = _mm512_set1_ps(bias), a1 = a0, a2 = a0, a3 = a0;
        for (int t = 0; t < taps; t++) {
            const float *s = src[t] + i;
            __m512 wv = _mm512_set1_ps(w[t]);
            a0 = _mm512_fmadd_ps(wv, _mm512_loadu_ps(s), a0);
            a1 = _mm512_fmadd_ps(wv, _mm512_loadu_ps(s + 16), a1);
            a2 = _mm512_fmadd_ps(wv, _mm512_loadu_ps(s + 2 * 16), a2);
            a3 = _mm512_fmadd_ps(wv, _mm512_loadu_ps(s + 3 * 16), a3);
        }
        _mm512_storeu_ps(y + i, a0);
        _mm512_storeu_ps(y + i + 16, a1);
        _mm512_storeu_ps(y + i + 2 * 16, a2);
        _mm512_storeu_ps(y + i + 3 * 16, a3);
    }
    for (; i + 16 <= n; i += 16) {
        __m512 a0 = _mm512_set1_ps(bias);
        for (int t = 0; t < taps; t++) a0 = _mm512_fmadd_ps(_mm512_set1_ps(w[t]), _mm512_loadu_ps(src[t] + i), a0);
        _mm512_storeu_ps(y + i, a0);
    }
    if (i < n) { /* the last 1..15 columns under a mask */
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 a0 = _mm512_set1_ps(bias);
        for (int t = 0; t < taps; t++) a0 = _mm512_fmadd_ps(_mm512_set1_ps(w[t]), _mm512_maskz_loadu_ps(m, src[t] + i), a0);
        _mm512_mask_storeu_ps(y + i, m, a0);
    }
}
