/*
 * gemm_avx2.c: the AVX2+FMA micro-kernel of the single-precision GEMM (see gemm.h).
 *
 * One call computes a 6 x 16 tile of C in 12 ymm accumulators: per step of K it loads 16
 * floats of the packed B panel (2 registers), broadcasts the 6 floats of the packed A
 * panel one by one and issues 12 FMAs. The output pass (alpha, accumulate, row bias,
 * clamp) runs on the registers before the single store of the tile. Tiles cut by the
 * edge of C (lg_sgemm_kernel_avx2_edge) are stored under lane masks.
 */
#include <immintrin.h>

#include "backends/cpu/gemm.h"

#define STEP(k) \
    do { \
        __m256 b0 = _mm256_loadu_ps(b + (k) * 16), b1 = _mm256_loadu_ps(b + (k) * 16 + 8); \
        __m256 av = _mm256_broadcast_ss(a + (k) * 6 + 0); \
        c00 = _mm256_fmadd_ps(av, b0, c00); \
        c01 = _mm256_fmadd_ps(av, b1, c01); \
        av = _mm256_broadcast_ss(a + (k) * 6 + 1); \
        c10 = _mm256_fmadd_ps(av, b0, c10); \
        c11 = _mm256_fmadd_ps(av, b1, c11); \
        av = _mm256_broadcast_ss(a + (k) * 6 + 2); \
        c20 = _mm256_fmadd_ps(av, b0, c20); \
        c21 = _mm256_fmadd_ps(av, b1, c21); \
        av = _mm256_broadcast_ss(a + (k) * 6 + 3); \
        c30 = _mm256_fmadd_ps(av, b0, c30); \
        c31 = _mm256_fmadd_ps(av, b1, c31); \
        av = _mm256_broadcast_ss(a + (k) * 6 + 4); \
        c40 = _mm256_fmadd_ps(av, b0, c40); \
        c41 = _mm256_fmadd_ps(av, b1, c41); \
        av = _mm256_broadcast_ss(a + (k) * 6 + 5); \
        c50 = _mm256_fmadd_ps(av, b0, c50); \
        c51 = _mm256_fmadd_ps(av, b1, c51); \
    } while (0)

/* Output pass for one row of the tile (two registers), then the store. */
static inline void finish_row(float *c, __m256 r0, __m256 r1, const float *bias, const lg_sgemm_tile *t,
                              __m256 alpha, __m256 lo, __m256 hi)
{
    if (t->alpha != 1.0f) {
        r0 = _mm256_mul_ps(r0, alpha);
        r1 = _mm256_mul_ps(r1, alpha);
    }
    if (t->accumulate) {
        r0 = _mm256_add_ps(r0, _mm256_loadu_ps(c));
        r1 = _mm256_add_ps(r1, _mm256_loadu_ps(c + 8));
    }
    if (bias) {
        __m256 bv = _mm256_broadcast_ss(bias);
        r0 = _mm256_add_ps(r0, bv);
        r1 = _mm256_add_ps(r1, bv);
    }
    if (t->clamp) {
        /* max(lo, r): a NaN in r is kept (the second operand wins on NaN). */
        r0 = _mm256_min_ps(hi, _mm256_max_ps(lo, r0));
        r1 = _mm256_min_ps(hi, _mm256_max_ps(lo, r1));
    }
    _mm256_storeu_ps(c, r0);
    _mm256_storeu_ps(c + 8, r1);
}

void lg_sgemm_kernel_avx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                          const lg_sgemm_tile *t)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4, a += 24, b += 64) {
        STEP(0);
        STEP(1);
        STEP(2);
        STEP(3);
    }
    for (; k < kc; k++, a += 6, b += 16) STEP(0);

    __m256 alpha = _mm256_set1_ps(t->alpha), lo = _mm256_set1_ps(t->lo), hi = _mm256_set1_ps(t->hi);
    const float *bias = t->bias;
    finish_row(c + 0 * ldc, c00, c01, bias ? bias + 0 : NULL, t, alpha, lo, hi);
    finish_row(c + 1 * ldc, c10, c11, bias ? bias + 1 : NULL, t, alpha, lo, hi);
    finish_row(c + 2 * ldc, c20, c21, bias ? bias + 2 : NULL, t, alpha, lo, hi);
    finish_row(c + 3 * ldc, c30, c31, bias ? bias + 3 : NULL, t, alpha, lo, hi);
    finish_row(c + 4 * ldc, c40, c41, bias ? bias + 4 : NULL, t, alpha, lo, hi);
    finish_row(c + 5 * ldc, c50, c51, bias ? bias + 5 : NULL, t, alpha, lo, hi);
}

/* The left half of a tile (6 x 8, b still in 16-float panel rows): for the last panel of
 * a C whose width leaves at most 8 columns there. */
void lg_sgemm_kernel_avx2_half(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                               const lg_sgemm_tile *t)
{
    __m256 r0 = _mm256_setzero_ps(), r1 = r0, r2 = r0, r3 = r0, r4 = r0, r5 = r0;
    for (int64_t k = 0; k < kc; k++, a += 6, b += 16) {
        __m256 bv = _mm256_loadu_ps(b);
        r0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 0), bv, r0);
        r1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 1), bv, r1);
        r2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 2), bv, r2);
        r3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 3), bv, r3);
        r4 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 4), bv, r4);
        r5 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 5), bv, r5);
    }
    __m256 rows[6] = { r0, r1, r2, r3, r4, r5 };
    for (int i = 0; i < 6; i++) {
        __m256 r = rows[i];
        if (t->alpha != 1.0f) r = _mm256_mul_ps(r, _mm256_set1_ps(t->alpha));
        if (t->accumulate) r = _mm256_add_ps(r, _mm256_loadu_ps(c + i * ldc));
        if (t->bias) r = _mm256_add_ps(r, _mm256_broadcast_ss(t->bias + i));
        if (t->clamp) r = _mm256_min_ps(_mm256_set1_ps(t->hi), _mm256_max_ps(_mm256_set1_ps(t->lo), r));
        _mm256_storeu_ps(c + i * ldc, r);
    }
}

/* The mask of the first n (0..8) lanes. */
static inline __m256i first_lanes(int64_t n)
{
    static const int32_t lanes[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };
    return _mm256_loadu_si256((const __m256i *)(lanes + 8 - (n < 0 ? 0 : n > 8 ? 8 : n)));
}

static inline __m256 finish_masked(float *c, __m256 r, __m256i m, const float *bias, const lg_sgemm_tile *t)
{
    if (t->alpha != 1.0f) r = _mm256_mul_ps(r, _mm256_set1_ps(t->alpha));
    if (t->accumulate) r = _mm256_add_ps(r, _mm256_maskload_ps(c, m));
    if (bias) r = _mm256_add_ps(r, _mm256_broadcast_ss(bias));
    if (t->clamp) r = _mm256_min_ps(_mm256_set1_ps(t->hi), _mm256_max_ps(_mm256_set1_ps(t->lo), r));
    return r;
}

/* A tile cut by the edge of C: the full product, then only rows < mr and columns < nr
 * finished and stored under lane masks (no scratch tile, no scalar pass). */
void lg_sgemm_kernel_avx2_edge(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                               const lg_sgemm_tile *t, int64_t mr, int64_t nr)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    if (nr <= 8) { /* the left half of B's panel is enough */
        for (int64_t k = 0; k < kc; k++, a += 6, b += 16) {
            __m256 bv = _mm256_loadu_ps(b);
            c00 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 0), bv, c00);
            c10 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 1), bv, c10);
            c20 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 2), bv, c20);
            c30 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 3), bv, c30);
            c40 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 4), bv, c40);
            c50 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 5), bv, c50);
        }
    } else {
        for (int64_t k = 0; k < kc; k++, a += 6, b += 16) STEP(0);
    }
    __m256 lo[6] = { c00, c10, c20, c30, c40, c50 }, hi[6] = { c01, c11, c21, c31, c41, c51 };
    __m256i m0 = first_lanes(nr), m1 = first_lanes(nr - 8);
    for (int64_t i = 0; i < mr && i < 6; i++) {
        float *ci = c + i * ldc;
        const float *bi = t->bias ? t->bias + i : NULL;
        _mm256_maskstore_ps(ci, m0, finish_masked(ci, lo[i], m0, bi, t));
        if (nr > 8) _mm256_maskstore_ps(ci + 8, m1, finish_masked(ci + 8, hi[i], m1, bi, t));
    }
}
