/*
 * fma_peak.comp: the device's fp32 peak. Every invocation runs 8 independent chains of
 * x = fma(x, a, b), 8 steps of each chain per loop iteration (64 FMAs, 128 flops), for
 * `iters` iterations, and writes the sum of its chains to y[i] so nothing is dead code.
 * Arithmetic is fp32 in every variant (only the store follows the variant). Op "FmaPeak"
 * of domain "ai.legacygpu.test" (vk_ops_test.c), run by bench/gpu_bench.c.
 */
#version 450
#include "common.glsl"

layout(local_size_x = 256) in;
layout(local_size_x_id = 0) in;

layout(binding = 0) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform Push {
    uint n;     /* outputs (invocations that store) */
    uint iters; /* loop iterations: 128 flops each */
    float a;    /* |a| < 1 keeps the chains bounded */
    float b;
} pc;

#define STEP8()                                                                     \
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b); \
    x4 = fma(x4, a, b); x5 = fma(x5, a, b); x6 = fma(x6, a, b); x7 = fma(x7, a, b)

void main()
{
    uint i = gl_GlobalInvocationID.x;
    float a = pc.a, b = pc.b;
    float x0 = float(i & 1023u) * 1e-3, x1 = x0 + 0.125, x2 = x0 + 0.25, x3 = x0 + 0.375;
    float x4 = x0 + 0.5, x5 = x0 + 0.625, x6 = x0 + 0.75, x7 = x0 + 0.875;
    for (uint k = 0u; k < pc.iters; k++) {
        STEP8(); STEP8(); STEP8(); STEP8();
        STEP8(); STEP8(); STEP8(); STEP8();
    }
    if (i < pc.n) y[i] = STOREF(((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7)));
}
