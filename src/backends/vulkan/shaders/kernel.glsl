/*
 * kernel.glsl: helpers the op kernels (vk_ops_*.c) share: the flat invocation index of a
 * 2-D dispatch (lg_vkk_dispatch_1d splits large element counts into x and y groups),
 * the fused epilogue (activation kinds as lg_act_kind in runtime/backend.h), erf, and
 * a safe tanh.
 */
#ifndef LG_KERNEL_GLSL
#define LG_KERNEL_GLSL

/* Flat index of this invocation in a 1-D problem dispatched as gx * gy groups of wg
 * invocations. Shaders pass their WG constant: glslang folds gl_WorkGroupSize.x to the
 * default local_size_x even when local_size_x_id specialises it, so it must not be
 * used (each shader declares `layout(constant_id = 0) const uint WG` beside
 * `local_size_x_id = 0`, as ggml's shaders do). */
#define LG_FLAT_INDEX(wg) ((gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * (wg) + gl_LocalInvocationID.x)

float lg_tanh(float x)
{
    /* tanh(15) rounds to 1 in fp32; beyond that exp overflows into inf / inf. */
    return tanh(clamp(x, -15.0, 15.0));
}

float lg_sigmoid(float x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* erf: its Taylor series near 0 (relative error below 1e-6 for |x| < 0.5), Abramowitz
 * and Stegun 7.1.26 elsewhere (absolute error below 1.5e-7). */
float lg_erf(float x)
{
    float a = abs(x);
    if (a < 0.5) {
        float x2 = x * x;
        return 1.1283791671 * x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (0.1 + x2 * (-1.0 / 42.0 + x2 * (1.0 / 216.0)))));
    }
    float t = 1.0 / (1.0 + 0.3275911 * a);
    float p = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    float r = 1.0 - p * exp(-a * a);
    return x < 0.0 ? -r : r;
}

/* The fused activation: kind is an lg_act_kind. */
float lg_act(float x, uint kind, float alpha, float beta)
{
    switch (kind) {
    case 1u: return max(x, 0.0);
    case 2u: return min(max(x, alpha), beta);
    case 3u: return lg_sigmoid(x);
    case 4u: return x * lg_sigmoid(x);
    case 5u: return x >= 0.0 ? x : alpha * x;
    case 6u: return max(0.0, min(1.0, alpha * x + beta));
    case 7u: return x * max(0.0, min(1.0, x / 6.0 + 0.5));
    case 8u: return lg_tanh(x);
    }
    return x;
}

#ifdef LG_FP16_MATH
/* The same in fp16 arithmetic (overloads picked by the argument type). */
float16_t lg_tanh(float16_t x)
{
    /* tanh(5) rounds to 1 in fp16; exp(2x) overflows half above x = 5.5. */
    return tanh(clamp(x, float16_t(-5.0), float16_t(5.0)));
}

float16_t lg_sigmoid(float16_t x)
{
    /* exp(-x) is inf below x = -11.1: 1 / inf = 0, sigmoid's value in half. */
    return float16_t(1.0) / (float16_t(1.0) + exp(-x));
}

float16_t lg_act(float16_t x, uint kind, float16_t alpha, float16_t beta)
{
    const float16_t zero = float16_t(0.0), one = float16_t(1.0);
    switch (kind) {
    case 1u: return max(x, zero);
    case 2u: return min(max(x, alpha), beta);
    case 3u: return lg_sigmoid(x);
    case 4u: return x * lg_sigmoid(x);
    case 5u: return x >= zero ? x : alpha * x;
    case 6u: return max(zero, min(one, alpha * x + beta));
    case 7u: return x * max(zero, min(one, x / float16_t(6.0) + float16_t(0.5)));
    case 8u: return lg_tanh(x);
    }
    return x;
}
#endif

#endif
