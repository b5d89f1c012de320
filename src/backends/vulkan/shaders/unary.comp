/*
 * unary.comp: y = f(x) over n floats (one chunk of a tensor: vk_ops_unary.c binds each
 * chunk's range). op 0..8 are the activations of lg_act_kind (kernel.glsl), the others
 * the table in vk_ops_unary.c (LG_VKU_*); alpha, beta are the op's attributes.
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

void main()
{
    uint i = LG_FLAT_INDEX(WG);
    if (i >= pc.n) return;
    y[i] = STOREF(unary(LOADF(x[i])));
}
