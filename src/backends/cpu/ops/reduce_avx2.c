/*
 * reduce_avx2.c: AVX2+FMA kernels for the float32 reductions and softmax of reduce.c:
 * sum, sum of squares, sum of absolute values, max and min along a contiguous row or
 * down the columns of a strided block, and exp(x - m) with its sum. reduce.c picks
 * them at run time when lg_cpu() has AVX2 and FMA (reduce_avx2.h).
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "backends/cpu/ops/reduce_avx2.h"

static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float hmax(__m256 v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float hmin(__m256 v)
{
    __m128 s = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_min_ps(s, _mm_movehl_ps(s, s));
    s = _mm_min_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Four independent accumulators hide the add latency; MAP transforms each vector. */
#define ROW_SUM(NAME, MAP, SCALAR_MAP) \
    float NAME(const float *x, int64_t n) \
    { \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0; \
        const __m256 sign = _mm256_set1_ps(-0.0f); \
        (void)sign; \
        int64_t i = 0; \
        for (; i + 32 <= n; i += 32) { \
            __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8); \
            __m256 v2 = _mm256_loadu_ps(x + i + 16), v3 = _mm256_loadu_ps(x + i + 24); \
            a0 = MAP(v0, a0); \
            a1 = MAP(v1, a1); \
            a2 = MAP(v2, a2); \
            a3 = MAP(v3, a3); \
        } \
        for (; i + 8 <= n; i += 8) a0 = MAP(_mm256_loadu_ps(x + i), a0); \
        float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))); \
        for (; i < n; i++) s += SCALAR_MAP(x[i]); \
        return s; \
    }

#define ADD(v, a) _mm256_add_ps(a, v)
#define ADD_SQ(v, a) _mm256_fmadd_ps(v, v, a)
#define ADD_ABS(v, a) _mm256_add_ps(a, _mm256_andnot_ps(sign, v))
#define SC_ID(v) (v)
#define SC_SQ(v) ((v) * (v))
#define SC_ABS(v) fabsf(v)

ROW_SUM(lg_reduce_sum_f32_avx2, ADD, SC_ID)
ROW_SUM(lg_reduce_sumsq_f32_avx2, ADD_SQ, SC_SQ)
ROW_SUM(lg_reduce_sumabs_f32_avx2, ADD_ABS, SC_ABS)

float lg_reduce_max_f32_avx2(const float *x, int64_t n)
{
    if (n < 8) {
        float m = -INFINITY;
        for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
        return m;
    }
    __m256 a0 = _mm256_loadu_ps(x), a1 = a0;
    int64_t i = 8;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_max_ps(a0, _mm256_loadu_ps(x + i));
        a1 = _mm256_max_ps(a1, _mm256_loadu_ps(x + i + 8));
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_max_ps(a0, _mm256_loadu_ps(x + i));
    float m = hmax(_mm256_max_ps(a0, a1));
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

float lg_reduce_min_f32_avx2(const float *x, int64_t n)
{
    if (n < 8) {
        float m = INFINITY;
        for (int64_t i = 0; i < n; i++) m = x[i] < m ? x[i] : m;
        return m;
    }
    __m256 a0 = _mm256_loadu_ps(x), a1 = a0;
    int64_t i = 8;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_min_ps(a0, _mm256_loadu_ps(x + i));
        a1 = _mm256_min_ps(a1, _mm256_loadu_ps(x + i + 8));
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_min_ps(a0, _mm256_loadu_ps(x + i));
    float m = hmin(_mm256_min_ps(a0, a1));
    for (; i < n; i++) m = x[i] < m ? x[i] : m;
    return m;
}

/* exp(v) for v <= 88: 2^k * p(r) with k = round(v / ln 2), r = v - k ln 2 split in two
 * parts for accuracy, p a degree-7 polynomial (relative error about 2e-7). Inputs
 * below -87.3 give 0. */
static inline __m256 exp256(__m256 v)
{
    const __m256 lo = _mm256_set1_ps(-87.3f), hi = _mm256_set1_ps(88.3f);
    __m256 under = _mm256_cmp_ps(v, lo, _CMP_GE_OQ);
    v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
    __m256 k = _mm256_round_ps(_mm256_mul_ps(v, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), v);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), under);
}

float lg_reduce_expsum_f32_avx2(const float *x, float *y, int64_t n, float m)
{
    __m256 vm = _mm256_set1_ps(m), a0 = _mm256_setzero_ps(), a1 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 e0 = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        __m256 e1 = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm));
        _mm256_storeu_ps(y + i, e0);
        _mm256_storeu_ps(y + i + 8, e1);
        a0 = _mm256_add_ps(a0, e0);
        a1 = _mm256_add_ps(a1, e1);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        _mm256_storeu_ps(y + i, e);
        a0 = _mm256_add_ps(a0, e);
    }
    float s = hsum(_mm256_add_ps(a0, a1));
    for (; i < n; i++) {
        y[i] = expf(x[i] - m);
        s += y[i];
    }
    return s;
}

/* acc[b..] = OP(acc[b..], x[k * stride + b..]) over k < n, 32 then 8 columns at a time,
 * then one by one. */
#define COLS(VOP, SOP) \
    do { \
        int64_t b = 0; \
        for (; b + 32 <= bi; b += 32) { \
            __m256 a0 = _mm256_loadu_ps(acc + b), a1 = _mm256_loadu_ps(acc + b + 8); \
            __m256 a2 = _mm256_loadu_ps(acc + b + 16), a3 = _mm256_loadu_ps(acc + b + 24); \
            const float *p = x + b; \
            for (int64_t k = 0; k < n; k++, p += stride) { \
                a0 = VOP(a0, _mm256_loadu_ps(p)); \
                a1 = VOP(a1, _mm256_loadu_ps(p + 8)); \
                a2 = VOP(a2, _mm256_loadu_ps(p + 16)); \
                a3 = VOP(a3, _mm256_loadu_ps(p + 24)); \
            } \
            _mm256_storeu_ps(acc + b, a0); \
            _mm256_storeu_ps(acc + b + 8, a1); \
            _mm256_storeu_ps(acc + b + 16, a2); \
            _mm256_storeu_ps(acc + b + 24, a3); \
        } \
        for (; b + 8 <= bi; b += 8) { \
            __m256 a0 = _mm256_loadu_ps(acc + b); \
            const float *p = x + b; \
            for (int64_t k = 0; k < n; k++, p += stride) a0 = VOP(a0, _mm256_loadu_ps(p)); \
            _mm256_storeu_ps(acc + b, a0); \
        } \
        for (; b < bi; b++) { \
            float a = acc[b]; \
            const float *p = x + b; \
            for (int64_t k = 0; k < n; k++, p += stride) a = SOP(a, *p); \
            acc[b] = a; \
        } \
    } while (0)

#define V_ADD(a, v) _mm256_add_ps(a, v)
#define V_ADD_SQ(a, v) _mm256_fmadd_ps(v, v, a)
#define V_ADD_ABS(a, v) _mm256_add_ps(a, _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v))
#define V_MAX(a, v) _mm256_max_ps(v, a)
#define V_MIN(a, v) _mm256_min_ps(v, a)
#define V_MUL(a, v) _mm256_mul_ps(a, v)
#define S_ADD(a, v) ((a) + (v))
#define S_ADD_SQ(a, v) ((a) + (v) * (v))
#define S_ADD_ABS(a, v) ((a) + fabsf(v))
#define S_MAX(a, v) ((v) > (a) ? (v) : (a))
#define S_MIN(a, v) ((v) < (a) ? (v) : (a))
#define S_MUL(a, v) ((a) * (v))

/* op: 0 sum, 1 sum of squares, 2 sum of absolute values, 3 max, 4 min, 5 product. */
void lg_reduce_cols_f32_avx2(const float *x, int64_t n, int64_t stride, float *acc, int64_t bi, int op)
{
    switch (op) {
    case 0: COLS(V_ADD, S_ADD); break;
    case 1: COLS(V_ADD_SQ, S_ADD_SQ); break;
    case 2: COLS(V_ADD_ABS, S_ADD_ABS); break;
    case 3: COLS(V_MAX, S_MAX); break;
    case 4: COLS(V_MIN, S_MIN); break;
    default: COLS(V_MUL, S_MUL); break;
    }
}

/* y[b] = exp(x[b] - m[b]) and sum[b] += y[b] for b < n. */
void lg_reduce_expacc_f32_avx2(const float *x, const float *m, float *y, float *sum, int64_t n)
{
    int64_t b = 0;
    for (; b + 8 <= n; b += 8) {
        __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + b), _mm256_loadu_ps(m + b)));
        _mm256_storeu_ps(y + b, e);
        _mm256_storeu_ps(sum + b, _mm256_add_ps(_mm256_loadu_ps(sum + b), e));
    }
    for (; b < n; b++) {
        y[b] = expf(x[b] - m[b]);
        sum[b] += y[b];
    }
}
