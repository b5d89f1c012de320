/*
 * elementwise_dispatch.c: which float32 element-wise kernels each SIMD path uses (the
 * activations and binary arithmetic of elementwise_<path>.c); AVX-512 uses the AVX2 ones.
 * Also lg_ew_add_f32, the row add other operators fuse (elementwise.h).
 */
#include "backends/cpu/ops/elementwise_kernels.h"

static const lg_ew_simd_kernels by_level[LG_SIMD_COUNT] = {
    [LG_SIMD_NONE] = { NULL, NULL },
    [LG_SIMD_SSE41] = { lg_act_sse41, lg_ew_arith_sse41 },
    [LG_SIMD_AVX] = { lg_act_avx, lg_ew_arith_avx },
    [LG_SIMD_AVX2] = { lg_act_avx2, lg_ew_arith_avx2 },
    [LG_SIMD_AVX512] = { lg_act_avx2, lg_ew_arith_avx2 },
};

const lg_ew_simd_kernels *lg_ew_simd_for(lg_simd_level level)
{
    return &by_level[(int)level >= 0 && level < LG_SIMD_COUNT ? level : LG_SIMD_NONE];
}

void lg_ew_add_f32(float *y, const float *a, const float *b, int64_t n)
{
    const lg_ew_simd_kernels *k = lg_ew_simd();
    if (k->arith) {
        k->arith(LG_EW_ADD, n, y, a, 1, b, 1);
        return;
    }
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}
