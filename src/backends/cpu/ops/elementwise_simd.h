/*
 * elementwise_simd.h: the float32 element-wise kernels of the SSE4.1 and AVX paths,
 * written once over a small vector vocabulary and compiled into each of
 * elementwise_sse41.c and elementwise_avx.c (with their instruction set). Those files
 * define, before including this one:
 *
 *   V, VN                  the vector type and its lanes
 *   EW_NAME(x)             the name of kernel x in that file (x##_sse41)
 *   vload vstore vset1 vzero vadd vsub vmul vdiv vmax vmin vand vandnot vor
 *   vblend(a, b, m)        m ? b : a per lane
 *   vlt vge vunord         lane masks: a < b, a >= b, a is NaN
 *   vround(x)              to the nearest integer, as floats
 *   vpow2i(k)              2^k for integer-valued k in [-126, 127]
 *
 * Neither path has FMA: a * b + c is a multiply then an add. The kernels match the AVX2
 * ones (elementwise_avx2.c) within a few float ulps.
 */
#include <string.h>

#include "backends/cpu/ops/elementwise_kernels.h"

static inline V vmuladd(V a, V b, V c) { return vadd(vmul(a, b), c); }
static inline V vnmuladd(V a, V b, V c) { return vsub(c, vmul(a, b)); }

/* ---- Binary arithmetic ---- */

static inline V keep_nan(V r, V a) { return vblend(r, a, vunord(a)); }

#define ARITH_LOOPS(fname, VEXPR, SEXPR) \
    static void fname(int64_t n, float *y, const float *a, int64_t sa, const float *b, int64_t sb) \
    { \
        int64_t i = 0; \
        if (sa && sb) { \
            for (; i + VN <= n; i += VN) { \
                V va = vload(a + i), vb = vload(b + i); \
                vstore(y + i, VEXPR); \
            } \
        } else if (sa) { \
            V vb = vset1(b[0]); \
            for (; i + VN <= n; i += VN) { \
                V va = vload(a + i); \
                vstore(y + i, VEXPR); \
            } \
        } else if (sb) { \
            V va = vset1(a[0]); \
            for (; i + VN <= n; i += VN) { \
                V vb = vload(b + i); \
                vstore(y + i, VEXPR); \
            } \
        } \
        for (; i < n; i++) { \
            float fa = a[i * sa], fb = b[i * sb]; \
            y[i] = SEXPR; \
        } \
    }

ARITH_LOOPS(add_loops, vadd(va, vb), fa + fb)
ARITH_LOOPS(sub_loops, vsub(va, vb), fa - fb)
ARITH_LOOPS(mul_loops, vmul(va, vb), fa * fb)
ARITH_LOOPS(div_loops, vdiv(va, vb), fa / fb)
ARITH_LOOPS(max_loops, keep_nan(vmax(va, vb), va), (fa > fb || fa != fa) ? fa : fb)
ARITH_LOOPS(min_loops, keep_nan(vmin(va, vb), va), (fa < fb || fa != fa) ? fa : fb)
ARITH_LOOPS(prelu_loops, vblend(va, vmul(va, vb), vlt(va, vzero())), fa < 0 ? fa * fb : fa)

void EW_NAME(lg_ew_arith)(lg_ew_arith op, int64_t n, float *y, const float *a, int64_t sa, const float *b, int64_t sb)
{
    static void (*const loops[])(int64_t, float *, const float *, int64_t, const float *, int64_t) = {
        [LG_EW_ADD] = add_loops, [LG_EW_SUB] = sub_loops, [LG_EW_MUL] = mul_loops,
        [LG_EW_DIV] = div_loops, [LG_EW_MAX] = max_loops, [LG_EW_MIN] = min_loops,
        [LG_EW_PRELU] = prelu_loops,
    };
    loops[op](n, y, a, sa, b, sb);
}

/* ---- Vector exp, sigmoid, tanh (the same series as elementwise_avx2.c) ---- */

static inline V exp_v(V x)
{
    x = vmin(vset1(88.0f), vmax(vset1(-87.0f), x));
    V k = vround(vmul(x, vset1(1.44269504088896341f)));
    V r = vnmuladd(k, vset1(0.693145751953125f), x);
    r = vnmuladd(k, vset1(1.428606820309417e-06f), r);
    V p = vset1(1.0f / 720);
    p = vmuladd(p, r, vset1(1.0f / 120));
    p = vmuladd(p, r, vset1(1.0f / 24));
    p = vmuladd(p, r, vset1(1.0f / 6));
    p = vmuladd(p, r, vset1(0.5f));
    p = vmuladd(p, r, vset1(1.0f));
    p = vmuladd(p, r, vset1(1.0f));
    return vmul(p, vpow2i(k));
}

static inline V sigmoid_v(V x)
{
    V one = vset1(1.0f);
    return vdiv(one, vadd(one, exp_v(vsub(vzero(), x))));
}

static inline V tanh_v(V x)
{
    V sign = vand(x, vset1(-0.0f));
    V ax = vandnot(vset1(-0.0f), x);
    V x2 = vmul(x, x);
    V p = vset1(21844.0f / 6081075);
    p = vmuladd(p, x2, vset1(-1382.0f / 155925));
    p = vmuladd(p, x2, vset1(62.0f / 2835));
    p = vmuladd(p, x2, vset1(-17.0f / 315));
    p = vmuladd(p, x2, vset1(2.0f / 15));
    p = vmuladd(p, x2, vset1(-1.0f / 3));
    V small = vmuladd(vmul(p, x2), x, x);
    V e = exp_v(vadd(ax, ax));
    V big = vsub(vset1(1.0f), vdiv(vset1(2.0f), vadd(e, vset1(1.0f))));
    big = vor(big, sign);
    return vblend(big, small, vlt(ax, vset1(0.5f)));
}

/* ---- Activations ---- */

#define ACT_LOOP(VEXPR) \
    do { \
        int64_t i = 0; \
        for (; i + VN <= n; i += VN) { \
            V v = vload(x + i); \
            vstore(y + i, VEXPR); \
        } \
        if (i < n) { \
            float buf[VN] = { 0 }; \
            memcpy(buf, x + i, (size_t)(n - i) * sizeof(float)); \
            V v = vload(buf); \
            vstore(buf, VEXPR); \
            memcpy(y + i, buf, (size_t)(n - i) * sizeof(float)); \
        } \
    } while (0)

void EW_NAME(lg_act)(const lg_act *act, float *y, const float *x, int64_t n)
{
    const V zero = vzero(), one = vset1(1.0f);
    const V alpha = vset1(act->alpha), beta = vset1(act->beta);
    switch (act->kind) {
    case LG_ACT_NONE:
        if (y != x) memmove(y, x, (size_t)n * sizeof(float));
        break;
    case LG_ACT_RELU: ACT_LOOP(vmax(zero, v)); break;
    case LG_ACT_CLIP: ACT_LOOP(vmin(beta, vmax(alpha, v))); break;
    case LG_ACT_SIGMOID: ACT_LOOP(sigmoid_v(v)); break;
    case LG_ACT_SILU: ACT_LOOP(vmul(v, sigmoid_v(v))); break;
    case LG_ACT_LEAKYRELU: ACT_LOOP(vblend(vmul(alpha, v), v, vge(v, zero))); break;
    case LG_ACT_HARDSIGMOID: ACT_LOOP(vmin(one, vmax(zero, vmuladd(alpha, v, beta)))); break;
    case LG_ACT_HARDSWISH:
        ACT_LOOP(vmul(v, vmin(one, vmax(zero, vmuladd(vset1(1.0f / 6), v, vset1(0.5f))))));
        break;
    case LG_ACT_TANH: ACT_LOOP(tanh_v(v)); break;
    }
}
