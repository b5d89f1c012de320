/*
 * gemm_sse41.c: the SSE4.1 micro-kernel of the single-precision GEMM (see gemm.h), for
 * x86-64 CPUs without AVX (Nehalem, Westmere), over the same packed 6 x 16 layout.
 *
 * Sixteen xmm registers cannot hold a 6 x 16 tile (24 registers of 4 floats), so the tile
 * is computed as two 6 x 8 halves, each in 12 accumulators with 2 registers of B and one
 * broadcast of A; the A panel is read twice, from L1. Multiply and add are separate (no
 * FMA), so results may differ from the FMA paths in the last bits.
 */
#include <smmintrin.h>

#include "backends/cpu/gemm.h"

static inline void finish_row(float *c, __m128 r0, __m128 r1, const float *bias, const lg_sgemm_tile *t)
{
    if (t->alpha != 1.0f) {
        __m128 al = _mm_set1_ps(t->alpha);
        r0 = _mm_mul_ps(r0, al);
        r1 = _mm_mul_ps(r1, al);
    }
    if (t->accumulate) {
        r0 = _mm_add_ps(r0, _mm_loadu_ps(c));
        r1 = _mm_add_ps(r1, _mm_loadu_ps(c + 4));
    }
    if (bias) {
        __m128 bv = _mm_set1_ps(*bias);
        r0 = _mm_add_ps(r0, bv);
        r1 = _mm_add_ps(r1, bv);
    }
    if (t->clamp) { /* max(lo, r): a NaN in r is kept, as in the other kernels */
        __m128 lo = _mm_set1_ps(t->lo), hi = _mm_set1_ps(t->hi);
        r0 = _mm_min_ps(hi, _mm_max_ps(lo, r0));
        r1 = _mm_min_ps(hi, _mm_max_ps(lo, r1));
    }
    _mm_storeu_ps(c, r0);
    _mm_storeu_ps(c + 4, r1);
}

#define ROW(i) \
    do { \
        __m128 av = _mm_set1_ps(a[i]); \
        c##i##0 = _mm_add_ps(c##i##0, _mm_mul_ps(av, b0)); \
        c##i##1 = _mm_add_ps(c##i##1, _mm_mul_ps(av, b1)); \
    } while (0)

/* Columns [0, 8) of the tile from B panel rows of 16 floats starting at b. */
static void half_tile(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, const lg_sgemm_tile *t)
{
    __m128 c00 = _mm_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m128 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t k = 0; k < kc; k++, a += 6, b += 16) {
        __m128 b0 = _mm_loadu_ps(b), b1 = _mm_loadu_ps(b + 4);
        ROW(0);
        ROW(1);
        ROW(2);
        ROW(3);
        ROW(4);
        ROW(5);
    }
    const float *bias = t->bias;
    finish_row(c + 0 * ldc, c00, c01, bias ? bias + 0 : NULL, t);
    finish_row(c + 1 * ldc, c10, c11, bias ? bias + 1 : NULL, t);
    finish_row(c + 2 * ldc, c20, c21, bias ? bias + 2 : NULL, t);
    finish_row(c + 3 * ldc, c30, c31, bias ? bias + 3 : NULL, t);
    finish_row(c + 4 * ldc, c40, c41, bias ? bias + 4 : NULL, t);
    finish_row(c + 5 * ldc, c50, c51, bias ? bias + 5 : NULL, t);
}

void lg_sgemm_kernel_sse41(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, const lg_sgemm_tile *t)
{
    half_tile(kc, a, b, c, ldc, t);
    half_tile(kc, a, b + 8, c + 8, ldc, t);
}

void lg_sgemm_kernel_sse41_half(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                const lg_sgemm_tile *t)
{
    half_tile(kc, a, b, c, ldc, t);
}
