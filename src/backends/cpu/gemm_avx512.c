/*
 * gemm_avx512.c: the AVX-512 micro-kernel of the single-precision GEMM (see gemm.h),
 * over the same packed layout as the AVX2 one (6 x 16 tiles).
 *
 * A 16-float row of the tile fits one zmm register. Two sets of 6 accumulators take the
 * even and odd steps of K, so 12 independent FMA chains keep both FMA pipes busy; the
 * sets are added before the output pass (alpha, accumulate, row bias, clamp). Tiles cut
 * by the edge of C (lg_sgemm_kernel_avx512_edge) are stored under a lane mask.
 */
#include <immintrin.h>

#include "backends/cpu/gemm.h"

#define ROWS(s, k, acc) \
    do { \
        __m512 bv = _mm512_loadu_ps(b + (k) * 16); \
        acc##0 = _mm512_fmadd_ps(_mm512_set1_ps(a[(k) * 6 + 0]), bv, acc##0); \
        acc##1 = _mm512_fmadd_ps(_mm512_set1_ps(a[(k) * 6 + 1]), bv, acc##1); \
        acc##2 = _mm512_fmadd_ps(_mm512_set1_ps(a[(k) * 6 + 2]), bv, acc##2); \
        acc##3 = _mm512_fmadd_ps(_mm512_set1_ps(a[(k) * 6 + 3]), bv, acc##3); \
        acc##4 = _mm512_fmadd_ps(_mm512_set1_ps(a[(k) * 6 + 4]), bv, acc##4); \
        acc##5 = _mm512_fmadd_ps(_mm512_set1_ps(a[(k) * 6 + 5]), bv, acc##5); \
    } while (0)

static inline void finish_row(float *c, __m512 r, const float *bias, const lg_sgemm_tile *t)
{
    if (t->alpha != 1.0f) r = _mm512_mul_ps(r, _mm512_set1_ps(t->alpha));
    if (t->accumulate) r = _mm512_add_ps(r, _mm512_loadu_ps(c));
    if (bias) r = _mm512_add_ps(r, _mm512_set1_ps(*bias));
    if (t->clamp) /* max(lo, r): a NaN in r is kept, as in the AVX2 kernel */
        r = _mm512_min_ps(_mm512_set1_ps(t->hi), _mm512_max_ps(_mm512_set1_ps(t->lo), r));
    _mm512_storeu_ps(c, r);
}

void lg_sgemm_kernel_avx512(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                            const lg_sgemm_tile *t)
{
    __m512 e0 = _mm512_setzero_ps(), e1 = e0, e2 = e0, e3 = e0, e4 = e0, e5 = e0;
    __m512 o0 = e0, o1 = e0, o2 = e0, o3 = e0, o4 = e0, o5 = e0;
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4, a += 24, b += 64) {
        ROWS(e, 0, e);
        ROWS(o, 1, o);
        ROWS(e, 2, e);
        ROWS(o, 3, o);
    }
    for (; k < kc; k++, a += 6, b += 16) ROWS(e, 0, e);
    const float *bias = t->bias;
    finish_row(c + 0 * ldc, _mm512_add_ps(e0, o0), bias ? bias + 0 : NULL, t);
    finish_row(c + 1 * ldc, _mm512_add_ps(e1, o1), bias ? bias + 1 : NULL, t);
    finish_row(c + 2 * ldc, _mm512_add_ps(e2, o2), bias ? bias + 2 : NULL, t);
    finish_row(c + 3 * ldc, _mm512_add_ps(e3, o3), bias ? bias + 3 : NULL, t);
    finish_row(c + 4 * ldc, _mm512_add_ps(e4, o4), bias ? bias + 4 : NULL, t);
    finish_row(c + 5 * ldc, _mm512_add_ps(e5, o5), bias ? bias + 5 : NULL, t);
}

/* A tile cut by the edge of C: the same product, then only rows < mr and columns < nr are
 * finished and stored, under a lane mask (no scratch tile, no scalar pass). */
static inline void finish_row_masked(float *c, __m512 r, __mmask16 m, const float *bias, const lg_sgemm_tile *t)
{
    if (t->alpha != 1.0f) r = _mm512_mul_ps(r, _mm512_set1_ps(t->alpha));
    if (t->accumulate) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, c));
    if (bias) r = _mm512_add_ps(r, _mm512_set1_ps(*bias));
    if (t->clamp) r = _mm512_min_ps(_mm512_set1_ps(t->hi), _mm512_max_ps(_mm512_set1_ps(t->lo), r));
    _mm512_mask_storeu_ps(c, m, r);
}

void lg_sgemm_kernel_avx512_edge(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                 const lg_sgemm_tile *t, int64_t mr, int64_t nr)
{
    __m512 e0 = _mm512_setzero_ps(), e1 = e0, e2 = e0, e3 = e0, e4 = e0, e5 = e0;
    __m512 o0 = e0, o1 = e0, o2 = e0, o3 = e0, o4 = e0, o5 = e0;
    int64_t k = 0;
    for (; k + 2 <= kc; k += 2, a += 12, b += 32) {
        ROWS(e, 0, e);
        ROWS(o, 1, o);
    }
    for (; k < kc; k++, a += 6, b += 16) ROWS(e, 0, e);
    __mmask16 m = (__mmask16)(nr >= 16 ? 0xffff : (1u << nr) - 1);
    __m512 rows[6] = { _mm512_add_ps(e0, o0), _mm512_add_ps(e1, o1), _mm512_add_ps(e2, o2),
                       _mm512_add_ps(e3, o3), _mm512_add_ps(e4, o4), _mm512_add_ps(e5, o5) };
    for (int64_t i = 0; i < mr && i < 6; i++)
        finish_row_masked(c + i * ldc, rows[i], m, t->bias ? t->bias + i : NULL, t);
}
