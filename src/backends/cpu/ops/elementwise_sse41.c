/*
 * elementwise_sse41.c: the SSE4.1 float32 element-wise kernels (binary arithmetic,
 * fusable activations): elementwise_simd.h over 4-lane xmm vectors.
 */
#include <smmintrin.h>

#define V __m128
#define VN 4
#define EW_NAME(x) x##_sse41

static inline V vload(const float *p) { return _mm_loadu_ps(p); }
static inline void vstore(float *p, V v) { _mm_storeu_ps(p, v); }
static inline V vset1(float f) { return _mm_set1_ps(f); }
static inline V vzero(void) { return _mm_setzero_ps(); }
static inline V vadd(V a, V b) { return _mm_add_ps(a, b); }
static inline V vsub(V a, V b) { return _mm_sub_ps(a, b); }
static inline V vmul(V a, V b) { return _mm_mul_ps(a, b); }
static inline V vdiv(V a, V b) { return _mm_div_ps(a, b); }
static inline V vmax(V a, V b) { return _mm_max_ps(a, b); }
static inline V vmin(V a, V b) { return _mm_min_ps(a, b); }
static inline V vand(V a, V b) { return _mm_and_ps(a, b); }
static inline V vandnot(V a, V b) { return _mm_andnot_ps(a, b); }
static inline V vor(V a, V b) { return _mm_or_ps(a, b); }
static inline V vblend(V a, V b, V m) { return _mm_blendv_ps(a, b, m); }
static inline V vlt(V a, V b) { return _mm_cmplt_ps(a, b); }
static inline V vge(V a, V b) { return _mm_cmpge_ps(a, b); }
static inline V vunord(V a) { return _mm_cmpunord_ps(a, a); }
static inline V vround(V x) { return _mm_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline V vpow2i(V k)
{
    return _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(_mm_cvtps_epi32(k), _mm_set1_epi32(127)), 23));
}

#include "backends/cpu/ops/elementwise_simd.h"
