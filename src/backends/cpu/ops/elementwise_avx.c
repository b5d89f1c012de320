/*
 * elementwise_avx.c: the AVX (no FMA, no AVX2) float32 element-wise kernels (binary
 * arithmetic, fusable activations): elementwise_simd.h over 8-lane ymm vectors; the
 * integer steps of exp run on the two 128-bit halves (AVX has no 256-bit integer ops).
 */
#include <immintrin.h>

#define V __m256
#define VN 8
#define EW_NAME(x) x##_avx

static inline V vload(const float *p) { return _mm256_loadu_ps(p); }
static inline void vstore(float *p, V v) { _mm256_storeu_ps(p, v); }
static inline V vset1(float f) { return _mm256_set1_ps(f); }
static inline V vzero(void) { return _mm256_setzero_ps(); }
static inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
static inline V vsub(V a, V b) { return _mm256_sub_ps(a, b); }
static inline V vmul(V a, V b) { return _mm256_mul_ps(a, b); }
static inline V vdiv(V a, V b) { return _mm256_div_ps(a, b); }
static inline V vmax(V a, V b) { return _mm256_max_ps(a, b); }
static inline V vmin(V a, V b) { return _mm256_min_ps(a, b); }
static inline V vand(V a, V b) { return _mm256_and_ps(a, b); }
static inline V vandnot(V a, V b) { return _mm256_andnot_ps(a, b); }
static inline V vor(V a, V b) { return _mm256_or_ps(a, b); }
static inline V vblend(V a, V b, V m) { return _mm256_blendv_ps(a, b, m); }
static inline V vlt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
static inline V vge(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
static inline V vunord(V a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
static inline V vround(V x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline V vpow2i(V k)
{
    __m256i ki = _mm256_cvtps_epi32(k);
    __m128i bias = _mm_set1_epi32(127);
    __m128i lo = _mm_slli_epi32(_mm_add_epi32(_mm256_castsi256_si128(ki), bias), 23);
    __m128i hi = _mm_slli_epi32(_mm_add_epi32(_mm256_extractf128_si256(ki, 1), bias), 23);
    return _mm256_castsi256_ps(_mm256_insertf128_si256(_mm256_castsi128_si256(lo), hi, 1));
}

#include "backends/cpu/ops/elementwise_simd.h"
