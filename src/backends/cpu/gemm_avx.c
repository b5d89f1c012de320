/*
 * gemm_avx.c: the AVX (no FMA) micro-kernel of the single-precision GEMM (see gemm.h),
 * for Sandy Bridge and Ivy Bridge CPUs, over the same packed 6 x 16 layout.
 *
 * As the AVX2 kernel: 12 ymm accumulators, 2 registers of B, one broadcast of A per row,
 * but each step is a multiply then an add (these CPUs have no FMA), so results may differ
 * from the FMA paths in the last bits.
 */
#include <immintrin.h>

#include "backends/cpu/gemm.h"

static inline __m256 finish(float *c, __m256 r, const float *bias, const lg_sgemm_tile *t)
{
    if (t->alpha != 1.0f) r = _mm256_mul_ps(r, _mm256_set1_ps(t->alpha));
    if (t->accumulate) r = _mm256_add_ps(r, _mm256_loadu_ps(c));
    if (bias) r = _mm256_add_ps(r, _mm256_set1_ps(*bias));
    if (t->clamp) /* max(lo, r): a NaN in r is kept, as in the other kernels */
        r = _mm256_min_ps(_mm256_set1_ps(t->hi), _mm256_max_ps(_mm256_set1_ps(t->lo), r));
    return r;
}

#define ROW(i) \
    do { \
        __m256 av = _mm256_broadcast_ss(a + (i)); \
        c##i##0 = _mm256_add_ps(c##i##0, _mm256_mul_ps(av, b0)); \
        c##i##1 = _mm256_add_ps(c##i##1, _mm256_mul_ps(av, b1)); \
    } while (0)

#define STORE_ROW(i) \
    do { \
        const float *bi = t->bias ? t->bias + (i) : NULL; \
        float *ci = c + (i) * ldc; \
        _mm256_storeu_ps(ci, finish(ci, c##i##0, bi, t)); \
        _mm256_storeu_ps(ci + 8, finish(ci + 8, c##i##1, bi, t)); \
    } while (0)

void lg_sgemm_kernel_avx(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, const lg_sgemm_tile *t)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t k = 0; k < kc; k++, a += 6, b += 16) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        ROW(0);
        ROW(1);
        ROW(2);
        ROW(3);
        ROW(4);
        ROW(5);
    }
    STORE_ROW(0);
    STORE_ROW(1);
    STORE_ROW(2);
    STORE_ROW(3);
    STORE_ROW(4);
    STORE_ROW(5);
}

/* The left 6 x 8 of a tile, for the last panel of a C whose width leaves at most 8 columns. */
void lg_sgemm_kernel_avx_half(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, const lg_sgemm_tile *t)
{
    __m256 r[6] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                    _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    for (int64_t k = 0; k < kc; k++, a += 6, b += 16) {
        __m256 bv = _mm256_loadu_ps(b);
        for (int i = 0; i < 6; i++) r[i] = _mm256_add_ps(r[i], _mm256_mul_ps(_mm256_broadcast_ss(a + i), bv));
    }
    for (int i = 0; i < 6; i++)
        _mm256_storeu_ps(c + i * ldc, finish(c + i * ldc, r[i], t->bias ? t->bias + i : NULL, t));
}
