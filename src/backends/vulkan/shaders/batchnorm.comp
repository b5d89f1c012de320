/*
 * batchnorm.comp: inference BatchNormalization as y = act(x * scale[c] + shift[c] + r),
 * scale and shift precomputed per channel at prepare (vk_ops_norm.c) and stored one
 * after the other in p (scale: p[c], shift: p[C + c]). x is [N][C][S]. In ACC_T: fp16
 * in the fp16-arithmetic variant.
 */
#version 450
#include "common.glsl"
#include "kernel.glsl"

layout(local_size_x = 256) in;
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(binding = 0) readonly buffer X { STORE_T x[]; };
layout(binding = 1) readonly buffer P { STORE_T p[]; };
layout(binding = 2) readonly buffer R { STORE_T r[]; };
layout(binding = 3) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform Push {
    uint n, C, S;
    uint flags;          /* 2: R */
    uint act;
    float act_alpha, act_beta;
} pc;

void main()
{
    uint i = LG_FLAT_INDEX(WG);
    if (i >= pc.n) return;
    uint c = (i / pc.S) % pc.C;
    ACC_T v = LOADA(x[i]) * LOADA(p[c]) + LOADA(p[pc.C + c]);
    if ((pc.flags & 2u) != 0u) v += LOADA(r[i]);
    y[i] = STOREA(lg_act(v, pc.act, ACC(pc.act_alpha), ACC(pc.act_beta)));
}
