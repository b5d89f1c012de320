/*
 * elementwise_avx2.c: AVX2+FMA float32 kernels for the hot element-wise paths: binary
 * arithmetic on contiguous or scalar-broadcast operands, and the fusable activations
 * (with vector exp, sigmoid and tanh accurate to a few float ulps; NaN inputs give NaN),
 * and float32 <-> float16 conversion. Compiled with -mavx2 -mfma -mf16c; called only
 * when the CPU has all three.
 */
#include <immintrin.h>
#include <string.h>

#include "backends/cpu/ops/elementwise_kernels.h"

/* ---- Binary arithmetic ---- */

/* Lanes of a that are NaN replace the result (max/min propagate NaN like numpy). */
static inline __m256 keep_nan(__m256 r, __m256 a) { return _mm256_blendv_ps(r, a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q)); }

#define ARITH_LOOPS(fname, VEXPR, SEXPR) \
    static void fname(int64_t n, float *y, const float *a, int64_t sa, const float *b, int64_t sb) \
    { \
        int64_t i = 0; \
        if (sa && sb) { \
            for (; i + 8 <= n; i += 8) { \
                __m256 va = _mm256_loadu_ps(a + i), vb = _mm256_loadu_ps(b + i); \
                _mm256_storeu_ps(y + i, VEXPR); \
            } \
        } else if (sa) { \
            __m256 vb = _mm256_set1_ps(b[0]); \
            for (; i + 8 <= n; i += 8) { \
                __m256 va = _mm256_loadu_ps(a + i); \
                _mm256_storeu_ps(y + i, VEXPR); \
            } \
        } else if (sb) { \
            __m256 va = _mm256_set1_ps(a[0]); \
            for (; i + 8 <= n; i += 8) { \
                __m256 vb = _mm256_loadu_ps(b + i); \
                _mm256_storeu_ps(y + i, VEXPR); \
            } \
        } \
        for (; i < n; i++) { \
            float fa = a[i * sa], fb = b[i * sb]; \
            y[i] = SEXPR; \
        } \
    }

ARITH_LOOPS(add_loops, _mm256_add_ps(va, vb), fa + fb)
ARITH_LOOPS(sub_loops, _mm256_sub_ps(va, vb), fa - fb)
ARITH_LOOPS(mul_loops, _mm256_mul_ps(va, vb), fa * fb)
ARITH_LOOPS(div_loops, _mm256_div_ps(va, vb), fa / fb)
ARITH_LOOPS(max_loops, keep_nan(_mm256_max_ps(va, vb), va), (fa > fb || fa != fa) ? fa : fb)
ARITH_LOOPS(min_loops, keep_nan(_mm256_min_ps(va, vb), va), (fa < fb || fa != fa) ? fa : fb)
ARITH_LOOPS(prelu_loops, _mm256_blendv_ps(va, _mm256_mul_ps(va, vb), _mm256_cmp_ps(va, _mm256_setzero_ps(), _CMP_LT_OQ)),
            fa < 0 ? fa * fb : fa)

void lg_ew_arith_avx2(lg_ew_arith op, int64_t n, float *y, const float *a, int64_t sa, const float *b, int64_t sb)
{
    static void (*const loops[])(int64_t, float *, const float *, int64_t, const float *, int64_t) = {
        [LG_EW_ADD] = add_loops, [LG_EW_SUB] = sub_loops, [LG_EW_MUL] = mul_loops,
        [LG_EW_DIV] = div_loops, [LG_EW_MAX] = max_loops, [LG_EW_MIN] = min_loops,
        [LG_EW_PRELU] = prelu_loops,
    };
    loops[op](n, y, a, sa, b, sb);
}

/* ---- float32 <-> float16 (F16C), rounding to nearest even ---- */

void lg_ew_f32_to_f16_avx2(uint16_t *y, const float *x, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = lg_float_to_half(x[i]);
}

void lg_ew_f16_to_f32_avx2(float *y, const uint16_t *x, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < n; i++) y[i] = lg_half_to_float(x[i]);
}

/* ---- Vector exp, sigmoid, tanh ---- */

/* exp(x) = 2^k * e^r with k = round(x / ln2), |r| <= ln2 / 2, e^r by its Taylor series
 * to r^6 (error < 2e-7 relative). x is clamped so that 2^k stays a normal float. */
static inline __m256 exp_ps(__m256 x)
{
    x = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-87.0f), x));
    __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145751953125f), x); /* ln2, high bits */
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.428606820309417e-06f), r);    /* ln2, low bits */
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static inline __m256 sigmoid_ps(__m256 x)
{
    __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

/* |x| < 0.5: odd Taylor series to x^13; else sign(x) * (1 - 2 / (exp(2|x|) + 1)). */
static inline __m256 tanh_ps(__m256 x)
{
    __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
    __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(21844.0f / 6081075);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1382.0f / 155925));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(62.0f / 2835));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-17.0f / 315));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.0f / 15));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.0f / 3));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, x2), x, x);
    __m256 e = exp_ps(_mm256_add_ps(ax, ax));
    __m256 big = _mm256_sub_ps(_mm256_set1_ps(1.0f),
                               _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
    big = _mm256_or_ps(big, sign);
    return _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.5f), _CMP_LT_OQ));
}

/* ---- Activations ---- */

/* Runs VEXPR (of v) over x into y; the tail goes through a padded vector. */
#define ACT_LOOP(VEXPR) \
    do { \
        int64_t i = 0; \
        for (; i + 8 <= n; i += 8) { \
            __m256 v = _mm256_loadu_ps(x + i); \
            _mm256_storeu_ps(y + i, VEXPR); \
        } \
        if (i < n) { \
            float buf[8] = { 0 }; \
            memcpy(buf, x + i, (size_t)(n - i) * sizeof(float)); \
            __m256 v = _mm256_loadu_ps(buf); \
            _mm256_storeu_ps(buf, VEXPR); \
            memcpy(y + i, buf, (size_t)(n - i) * sizeof(float)); \
        } \
    } while (0)

void lg_act_avx2(const lg_act *act, float *y, const float *x, int64_t n)
{
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    const __m256 alpha = _mm256_set1_ps(act->alpha), beta = _mm256_set1_ps(act->beta);
    switch (act->kind) {
    case LG_ACT_NONE:
        if (y != x) memmove(y, x, (size_t)n * sizeof(float));
        break;
    case LG_ACT_RELU:
        ACT_LOOP(_mm256_max_ps(zero, v));
        break;
    case LG_ACT_CLIP:
        ACT_LOOP(_mm256_min_ps(beta, _mm256_max_ps(alpha, v)));
        break;
    case LG_ACT_SIGMOID:
        ACT_LOOP(sigmoid_ps(v));
        break;
    case LG_ACT_SILU:
        ACT_LOOP(_mm256_mul_ps(v, sigmoid_ps(v)));
        break;
    case LG_ACT_LEAKYRELU:
        ACT_LOOP(_mm256_blendv_ps(_mm256_mul_ps(alpha, v), v, _mm256_cmp_ps(v, zero, _CMP_GE_OQ)));
        break;
    case LG_ACT_HARDSIGMOID:
        ACT_LOOP(_mm256_min_ps(one, _mm256_max_ps(zero, _mm256_fmadd_ps(alpha, v, beta))));
        break;
    case LG_ACT_HARDSWISH:
        ACT_LOOP(_mm256_mul_ps(v, _mm256_min_ps(one, _mm256_max_ps(zero, _mm256_fmadd_ps(_mm256_set1_ps(1.0f / 6), v,
                                                                                       _mm256_set1_ps(0.5f))))));
        break;
    case LG_ACT_TANH:
        ACT_LOOP(tanh_ps(v));
        break;
    }
}
