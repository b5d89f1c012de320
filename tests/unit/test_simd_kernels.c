/*
 * test_simd_kernels.c: every SIMD path this CPU can run (base/cpu.h: none, sse41, avx,
 * avx2, avx512) against a plain reference, on random shapes with odd sizes: the GEMM
 * (through lg_sgemm: packed and strided operands, bias, clamp, accumulate, K across
 * blocks, 1 and 3 threads), the depthwise convolution (strides 1, 2, 3, padding,
 * dilation, fused Relu) and the element-wise kernels (binary arithmetic with scalar
 * broadcasts and NaN, every fusable activation, tails of every length).
 */
#include <math.h>

#include "lg_test.h"
#include "backends/cpu/gemm.h"
#include "backends/cpu/ops/conv_depthwise.h"
#include "backends/cpu/ops/elementwise_kernels.h"
#include "base/cpu.h"

static uint64_t rng = 88172645463325252u;

static uint32_t next_u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

static int64_t rand_in(int64_t lo, int64_t hi) { return lo + (int64_t)(next_u32() % (uint32_t)(hi - lo + 1)); }
static float rand_f(void) { return (float)next_u32() / 4294967296.0f * 2.0f - 1.0f; }

static float *rand_array(int64_t n)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    assert_non_null(p);
    for (int64_t i = 0; i < n; i++) p[i] = rand_f();
    return p;
}

/* Runs fn once per SIMD path this CPU offers, the path forced process-wide. */
static void for_each_path(void (*fn)(lg_simd_level lvl))
{
    lg_simd_level saved = lg_simd(), best = lg_simd_best();
    for (int l = LG_SIMD_NONE; l <= (int)best; l++) {
        assert_int_equal(lg_simd_force((lg_simd_level)l), l);
        fn((lg_simd_level)l);
    }
    lg_simd_force(saved);
}

/* ---- GEMM ---------------------------------------------------------------------------- */

static void gemm_case(lg_simd_level lvl, lg_threadpool *pool, int64_t M, int64_t N, int64_t K, int variant)
{
    float *a = rand_array(M * K), *b = rand_array(K * N), *bias = rand_array(M);
    float *c = rand_array(M * N), *c0 = malloc((size_t)(M * N) * sizeof(float));
    memcpy(c0, c, (size_t)(M * N) * sizeof(float));
    bool transpose_b = variant & 1, accumulate = variant & 2, clamp = variant & 4, use_bias = variant & 8;
    bool packed_a = variant & 16;
    float alpha = (variant & 32) ? 0.5f : 1.0f;
    lg_sgemm_packed *pa = packed_a ? lg_sgemm_pack_a(M, K, (lg_smat){ a, K, 1 }) : NULL;
    /* b holds B [K, N] row-major, or B^T [N, K] when transpose_b (a strided view). */
    lg_sgemm_args g = { .M = M, .N = N, .K = K, .alpha = alpha, .accumulate = accumulate, .pa = pa,
                        .a = { a, K, 1 }, .b = transpose_b ? (lg_smat){ b, 1, K } : (lg_smat){ b, N, 1 },
                        .c = c, .ldc = N, .row_bias = use_bias ? bias : NULL,
                        .act = clamp ? LG_SGEMM_ACT_CLAMP : LG_SGEMM_ACT_NONE, .act_lo = -0.25f, .act_hi = 0.5f };
    assert_int_equal(lg_sgemm(pool, &g), LG_OK);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0, mag = 0;
            for (int64_t k = 0; k < K; k++) {
                double bv = transpose_b ? b[j * K + k] : b[k * N + j];
                s += (double)a[i * K + k] * bv;
                mag += fabs((double)a[i * K + k] * bv);
            }
            s *= alpha;
            if (accumulate) s += c0[i * N + j];
            if (use_bias) s += bias[i];
            if (clamp) s = s < -0.25 ? -0.25 : s > 0.5 ? 0.5 : s;
            double got = c[i * N + j], tol = 1e-5 * (mag + 1);
            if (fabs(got - s) > tol)
                fail_msg("path %s: M %lld N %lld K %lld variant %d: C[%lld,%lld] = %.7g, want %.7g", lg_simd_name(lvl),
                         (long long)M, (long long)N, (long long)K, variant, (long long)i, (long long)j, got, s);
        }
    lg_sgemm_packed_free(pa);
    free(a);
    free(b);
    free(bias);
    free(c);
    free(c0);
}

static void gemm_path(lg_simd_level lvl)
{
    lg_threadpool *pool = lg_threadpool_create(3);
    assert_non_null(pool);
    /* Exact tile multiples, edges of every width, K across the 256 block. */
    static const int64_t fixed[][3] = { { 6, 16, 8 }, { 12, 32, 256 }, { 1, 1, 1 }, { 7, 17, 3 }, { 5, 9, 300 },
                                        { 13, 8, 1 }, { 6, 24, 513 }, { 64, 200, 72 } };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        for (int v = 0; v < 64; v += 7) gemm_case(lvl, (v & 1) ? pool : NULL, fixed[i][0], fixed[i][1], fixed[i][2], v);
    for (int r = 0; r < 40; r++)
        gemm_case(lvl, (r & 1) ? pool : NULL, rand_in(1, 70), rand_in(1, 90), rand_in(1, 280), (int)rand_in(0, 63));
    lg_threadpool_free(pool);
}

static void test_gemm_every_path(void **state)
{
    (void)state;
    for_each_path(gemm_path);
}

/* ---- depthwise convolution ------------------------------------------------------------ */

static void dw_case(lg_simd_level lvl, lg_threadpool *pool, bool relu)
{
    lg_conv_geom g = { .nd = 2, .batch = rand_in(1, 2) };
    g.in_c = g.out_c = g.group = rand_in(2, 9);
    int64_t k = rand_in(1, 2) * 2 + 1;
    for (int d = 0; d < 2; d++) {
        g.kernel[d] = k;
        g.stride[d] = rand_in(1, 3);
        g.dil[d] = rand_in(1, 4) == 4 ? 2 : 1;
        g.pad[d] = rand_in(0, 2);
        int64_t span = (k - 1) * g.dil[d] + 1;
        g.in[d] = rand_in(span > 2 * g.pad[d] ? span - 2 * g.pad[d] : 1, 37);
        g.out[d] = (g.in[d] + 2 * g.pad[d] - span) / g.stride[d] + 1;
    }
    g.in_size = g.in[0] * g.in[1];
    g.out_size = g.out[0] * g.out[1];
    g.kernel_size = k * k;
    float *x = rand_array(g.batch * g.in_c * g.in_size), *w = rand_array(g.out_c * g.kernel_size);
    float *bias = rand_array(g.out_c), *y = rand_array(g.batch * g.out_c * g.out_size);
    lg_act act = { .kind = LG_ACT_RELU };
    lg_conv_dw_args a = { &g, x, w, bias, y, relu ? &act : NULL };
    assert_int_equal(lg_conv_depthwise_f32(pool, &a), LG_OK);
    for (int64_t n = 0; n < g.batch; n++)
        for (int64_t c = 0; c < g.out_c; c++)
            for (int64_t oy = 0; oy < g.out[0]; oy++)
                for (int64_t ox = 0; ox < g.out[1]; ox++) {
                    double s = bias[c];
                    for (int64_t ky = 0; ky < k; ky++)
                        for (int64_t kx = 0; kx < k; kx++) {
                            int64_t iy = oy * g.stride[0] - g.pad[0] + ky * g.dil[0];
                            int64_t ix = ox * g.stride[1] - g.pad[1] + kx * g.dil[1];
                            if (iy < 0 || iy >= g.in[0] || ix < 0 || ix >= g.in[1]) continue;
                            s += (double)w[c * k * k + ky * k + kx] * x[((n * g.in_c + c) * g.in[0] + iy) * g.in[1] + ix];
                        }
                    if (relu && s < 0) s = 0;
                    double got = y[((n * g.out_c + c) * g.out[0] + oy) * g.out[1] + ox];
                    if (fabs(got - s) > 1e-5 * (1 + fabs(s)))
                        fail_msg("path %s: depthwise %lldx%lld k %lld s %lld p %lld d %lld: y = %.7g, want %.7g",
                                 lg_simd_name(lvl), (long long)g.in[0], (long long)g.in[1], (long long)k,
                                 (long long)g.stride[0], (long long)g.pad[0], (long long)g.dil[0], got, s);
                }
    free(x);
    free(w);
    free(bias);
    free(y);
}

static void dw_path(lg_simd_level lvl)
{
    lg_threadpool *pool = lg_threadpool_create(2);
    for (int r = 0; r < 40; r++) dw_case(lvl, (r & 1) ? pool : NULL, r % 3 == 0);
    lg_threadpool_free(pool);
}

static void test_depthwise_every_path(void **state)
{
    (void)state;
    for_each_path(dw_path);
}

/* ---- element-wise ------------------------------------------------------------------- */

static float arith_ref(lg_ew_arith op, float a, float b)
{
    switch (op) {
    case LG_EW_ADD: return a + b;
    case LG_EW_SUB: return a - b;
    case LG_EW_MUL: return a * b;
    case LG_EW_DIV: return a / b;
    case LG_EW_MAX: return (a > b || a != a) ? a : b;
    case LG_EW_MIN: return (a < b || a != a) ? a : b;
    case LG_EW_PRELU: return a < 0 ? a * b : a;
    }
    return 0;
}

/* Within rel of want, relative above 1 and absolute below (x * (x / 6 + 0.5) near
 * x = -3 cancels); rel 0: exactly, NaN for NaN. */
static bool same_float(float got, float want, float rel)
{
    if (isnan(want)) return isnan(got);
    return fabsf(got - want) <= rel * (fabsf(want) + 1.0f);
}

static void elementwise_path(lg_simd_level lvl)
{
    const lg_ew_simd_kernels *k = lg_ew_simd_for(lvl);
    if (lvl == LG_SIMD_NONE) {
        assert_null(k->act);
        return;
    }
    assert_non_null(k->act);
    assert_non_null(k->arith);
    float a[67], b[67], y[67], want[67];
    for (int64_t n = 0; n <= 67; n += (n < 20 ? 1 : 23)) {
        for (int i = 0; i < 67; i++) {
            a[i] = rand_f() * 4;
            b[i] = rand_f() * 4 + (i % 5 == 0 ? 0 : 0.01f);
        }
        if (n > 3) a[3] = NAN; /* max/min keep a NaN of a */
        for (int op = LG_EW_ADD; op <= LG_EW_PRELU; op++)
            for (int sa = 0; sa <= 1; sa++)
                for (int sb = 0; sb <= 1; sb++) {
                    if (!sa && !sb) continue;
                    k->arith((lg_ew_arith)op, n, y, a, sa, b, sb);
                    for (int64_t i = 0; i < n; i++) {
                        float w = arith_ref((lg_ew_arith)op, a[i * sa], b[i * sb]);
                        if (!same_float(y[i], w, 0))
                            fail_msg("path %s: arith op %d n %lld sa %d sb %d: y[%lld] = %g, want %g", lg_simd_name(lvl),
                                     op, (long long)n, sa, sb, (long long)i, y[i], w);
                    }
                }
        a[3] = 1.5f;
        for (int kind = LG_ACT_NONE; kind <= LG_ACT_TANH; kind++) {
            lg_act act = { .kind = (lg_act_kind)kind, .alpha = kind == LG_ACT_CLIP ? -0.5f : 0.2f,
                           .beta = kind == LG_ACT_CLIP ? 0.75f : 0.5f };
            for (int i = 0; i < 67; i++) a[i] = rand_f() * (i % 3 ? 6 : 0.4f); /* |x| < 0.5 and beyond */
            lg_simd_level saved = lg_simd_force(LG_SIMD_NONE);
            lg_act_apply_to(&act, want, a, n); /* the plain C loops */
            lg_simd_force(saved);
            k->act(&act, y, a, n);
            for (int64_t i = 0; i < n; i++)
                if (!same_float(y[i], want[i], 2e-6f))
                    fail_msg("path %s: activation %d n %lld: y[%lld] = %.8g, want %.8g (x %g)", lg_simd_name(lvl), kind,
                             (long long)n, (long long)i, y[i], want[i], a[i]);
        }
    }
}

static void test_elementwise_every_path(void **state)
{
    (void)state;
    for_each_path(elementwise_path);
}

/* ---- the dispatch itself ------------------------------------------------------------ */

static void test_dispatch_follows_cpu(void **state)
{
    (void)state;
    lg_simd_level best = lg_simd_best(), saved = lg_simd();
    assert_true(lg_simd() <= best);
    assert_int_equal(lg_simd_force(LG_SIMD_COUNT), best); /* never above the CPU */
    assert_int_equal(lg_simd_force(LG_SIMD_SSE41), best >= LG_SIMD_SSE41 ? LG_SIMD_SSE41 : LG_SIMD_NONE);
    assert_false(lg_cpu()->avx); /* features above the path read as absent */
    assert_false(lg_cpu()->avx2);
    lg_simd_force(LG_SIMD_NONE);
    assert_false(lg_cpu()->sse41);
    assert_string_equal(lg_simd_name(LG_SIMD_AVX), "avx");
    lg_simd_force(saved);
    printf("SIMD paths tested: none .. %s (%s)\n", lg_simd_name(best), lg_simd_reason());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch_follows_cpu),
        cmocka_unit_test(test_gemm_every_path),
        cmocka_unit_test(test_depthwise_every_path),
        cmocka_unit_test(test_elementwise_every_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
