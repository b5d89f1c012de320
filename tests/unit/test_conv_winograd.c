/*
 * test_conv_winograd.c: the Winograd F(4x4, 3x3) path against a direct convolution in
 * double precision, on random shapes (edges that cut tiles, padding 0..2, a batch of
 * two, bias and a fused activation), and its error bound: |winograd - exact| stays
 * within 1e-5 of the sum of |w x| over the window (the measured worst case is printed).
 */
#include <math.h>

#include "lg_test.h"
#include "backends/cpu/ops/conv_winograd.h"
#include "base/cpu.h"

static uint64_t rng = 0x2545F4914F6CDD1Du;

static float rand_f(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)(rng >> 40) / (float)(1 << 23) - 1.0f;
}

static int64_t rand_in(int64_t lo, int64_t hi) { return lo + (int64_t)((uint64_t)((rand_f() + 1) * 1e6) % (uint64_t)(hi - lo + 1)); }

static double worst_seen;

static void wino_case(lg_threadpool *pool, int64_t in_c, int64_t out_c, int64_t h, int64_t w_, int64_t pad, bool relu)
{
    lg_conv_geom g = { .nd = 2, .batch = 2, .in_c = in_c, .out_c = out_c, .group = 1 };
    int64_t in[2] = { h, w_ };
    for (int d = 0; d < 2; d++) {
        g.in[d] = in[d];
        g.kernel[d] = 3;
        g.stride[d] = g.dil[d] = 1;
        g.pad[d] = pad;
        g.out[d] = in[d] + 2 * pad - 2;
    }
    g.in_size = g.in[0] * g.in[1];
    g.out_size = g.out[0] * g.out[1];
    g.kernel_size = 9;
    size_t nx = (size_t)(2 * in_c * g.in_size), nw = (size_t)(out_c * in_c * 9), ny = (size_t)(2 * out_c * g.out_size);
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)out_c * 4), *y = malloc(ny * 4);
    for (size_t i = 0; i < nx; i++) x[i] = rand_f();
    for (size_t i = 0; i < nw; i++) w[i] = rand_f();
    for (int64_t i = 0; i < out_c; i++) b[i] = rand_f();
    lg_conv_wino *cw = lg_conv_wino_prepare(w, out_c, in_c);
    assert_non_null(cw);
    assert_true(lg_conv_wino_worth(cw, &g));
    lg_act act = { .kind = LG_ACT_RELU };
    assert_int_equal(lg_conv_wino_f32(pool, cw, &g, x, b, NULL, relu ? &act : NULL, y), LG_OK);
    for (int64_t n = 0; n < 2; n++)
        for (int64_t o = 0; o < out_c; o++)
            for (int64_t oy = 0; oy < g.out[0]; oy++)
                for (int64_t ox = 0; ox < g.out[1]; ox++) {
                    double s = b[o], mag = fabs(b[o]);
                    for (int64_t c = 0; c < in_c; c++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int64_t iy = oy - pad + ky, ix = ox - pad + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w_) continue;
                                double p = (double)w[(o * in_c + c) * 9 + ky * 3 + kx] * x[((n * in_c + c) * h + iy) * w_ + ix];
                                s += p;
                                mag += fabs(p);
                            }
                    if (relu && s < 0) s = 0;
                    double got = y[((n * out_c + o) * g.out[0] + oy) * g.out[1] + ox], err = fabs(got - s) / (mag + 1e-30);
                    if (err > worst_seen) worst_seen = err;
                    if (fabs(got - s) > 1e-5 * mag + 1e-6)
                        fail_msg("winograd %lld->%lld %lldx%lld pad %lld: y[%lld,%lld,%lld,%lld] = %.7g, want %.7g",
                                 (long long)in_c, (long long)out_c, (long long)h, (long long)w_, (long long)pad,
                                 (long long)n, (long long)o, (long long)oy, (long long)ox, got, s);
                }
    lg_conv_wino_free(cw);
    free(x);
    free(w);
    free(b);
    free(y);
}

static void test_winograd_matches_direct(void **state)
{
    (void)state;
    lg_threadpool *pool = lg_threadpool_create(2);
    wino_case(pool, 4, 8, 16, 16, 1, false);    /* exact tiles */
    wino_case(pool, 96, 64, 17, 19, 1, true);   /* the smallest channels taken by default */
    for (int r = 0; r < 12; r++)
        wino_case((r & 1) ? pool : NULL, rand_in(1, 40), rand_in(1, 40), rand_in(14, 31), rand_in(14, 31),
                  rand_in(0, 2), r % 3 == 0);
    printf("winograd F(4x4,3x3): worst |error| / sum |w x| = %.2e\n", worst_seen);
    lg_threadpool_free(pool);
}

static void test_winograd_is_chosen_only_where_it_pays(void **state)
{
    (void)state;
    float w[9 * 128] = { 0 };
    lg_conv_wino *cw = lg_conv_wino_prepare(w, 8, 16);
    assert_non_null(cw);
    lg_conv_geom g = { .nd = 2, .batch = 1, .in_c = 16, .out_c = 8, .group = 1, .in = { 8, 8 }, .out = { 8, 8 },
                       .kernel = { 3, 3 }, .stride = { 1, 1 }, .dil = { 1, 1 }, .pad = { 1, 1 } };
    assert_false(lg_conv_wino_worth(cw, &g)); /* 2x2 tiles: too few */
    g.in[0] = g.in[1] = g.out[0] = g.out[1] = 16;
    assert_true(lg_conv_wino_worth(cw, &g));
    g.stride[1] = 2;
    assert_false(lg_conv_wino_worth(cw, &g));
    g.stride[1] = 1;
    g.in_c = 32;
    assert_false(lg_conv_wino_worth(cw, &g)); /* not the prepared weights */
    lg_conv_wino_free(cw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_winograd_matches_direct),
        cmocka_unit_test(test_winograd_is_chosen_only_where_it_pays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
