/*
 * unary.comp: y = f(x) over n floats (one chunk of a tensor: vk_ops_unary.c binds each
 * chunk's range). op 0..8 are the activations of lg_act_kind (kernel.glsl), the others
 * the table in vk_ops_unary.c (LG_VKU_*); alpha, beta are the op's attributes.
 * The fp16-arithmetic variant computes most of them in fp16 (unary16, below).
 */
#version 450
#include "common.glsl"
#include "kernel.glsl"

layout(local_size_x = 256) in;
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(binding = 0) readonly buffer X { STORE_T x[]; };
layout(binding = 1) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform Push {
    uint n;
    uint op;
    float alpha;
    float beta;
    float gamma;
} pc;

float unary(float v)
{
    switch (pc.op) {
    case 9u: return lg_erf(v);
    case 10u: return exp(v);
    case 11u: return log(v);
    case 12u: return sqrt(v);
    case 13u: return 1.0 / v;
    case 14u: return -v;
    case 15u: return abs(v);
    case 16u: return floor(v);
    case 17u: return ceil(v);
    case 18u: return 0.5 * v * (1.0 + lg_erf(v * 0.70710678118)); /* Gelu */
    case 19u: return 0.5 * v * (1.0 + lg_tanh(0.7978845608 * (v + 0.044715 * v * v * v))); /* Gelu tanh */
    case 20u: return v > 20.0 ? v : log(1.0 + exp(v)); /* Softplus */
    case 21u: return v >= 0.0 ? v : pc.alpha * (exp(v) - 1.0); /* Elu */
    case 22u: return pc.gamma * (v > 0.0 ? v : pc.alpha * (exp(v) - 1.0)); /* Selu */
    case 23u: return sign(v);
    case 24u: return roundEven(v);
    case 25u: return v / (1.0 + abs(v)); /* Softsign */
    case 26u: return sin(v);
    case 27u: return cos(v);
    case 28u: return v * lg_tanh(v > 20.0 ? v : log(1.0 + exp(v))); /* Mish */
    case 29u: return v > pc.alpha ? v : 0.0; /* ThresholdedRelu */
    case 30u: return max(0.0, v) + min(0.0, pc.alpha * (exp(v / pc.alpha) - 1.0)); /* Celu */
    }
    return lg_act(v, pc.op, pc.alpha, pc.beta);
}

#ifdef LG_FP16_MATH
/* The ops in fp16 arithmetic; fp32_op() names those that stay in fp32: Erf and Gelu
 * (erf's polynomial cancels terms near 1.4 in size: several half ulps of 1 lost),
 * Sin and Cos (their range reduction of a large argument in half loses the phase). */
bool fp32_op(uint op)
{
    return op == 9u || op == 18u || op == 26u || op == 27u;
}

float16_t softplus16(float16_t v)
{
    /* log(1 + e^v) rounds to v in half above 10 (and e^v overflows above 11.1). */
    return v > float16_t(10.0) ? v : log(float16_t(1.0) + exp(v));
}

float16_t unary16(float16_t v)
{
    const float16_t zero = float16_t(0.0), one = float16_t(1.0);
    float16_t alpha = float16_t(pc.alpha);
    switch (pc.op) {
    case 10u: return exp(v);
    case 11u: return log(v);
    case 12u: return sqrt(v);
    case 13u: return one / v;
    case 14u: return -v;
    case 15u: return abs(v);
    case 16u: return floor(v);
    case 17u: return ceil(v);
    case 19u: return float16_t(0.5) * v * (one + lg_tanh(float16_t(0.7978845608) * (v + float16_t(0.044715) * v * v * v))); /* Gelu tanh */
    case 20u: return softplus16(v);
    case 21u: return v >= zero ? v : alpha * (exp(v) - one); /* Elu */
    case 22u: return float16_t(pc.gamma) * (v > zero ? v : alpha * (exp(v) - one)); /* Selu */
    case 23u: return sign(v);
    case 24u: return roundEven(v);
    case 25u: return v / (one + abs(v)); /* Softsign */
    case 28u: return v * lg_tanh(softplus16(v)); /* Mish */
    case 29u: return v > alpha ? v : zero; /* ThresholdedRelu */
    case 30u: return max(zero, v) + min(zero, alpha * (exp(v / alpha) - one)); /* Celu */
    }
    return lg_act(v, pc.op, alpha, float16_t(pc.beta));
}
#endif

void main()
{
    uint i = LG_FLAT_INDEX(WG);
    if (i >= pc.n) return;
#ifdef LG_FP16_MATH
    if (!fp32_op(pc.op)) {
        y[i] = STOREA(unary16(LOADA(x[i])));
        return;
    }
#endif
    y[i] = STOREF(unary(LOADF(x[i])));
}
