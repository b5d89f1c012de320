/*
 * softmax.comp: Softmax / LogSoftmax along one axis (vk_ops_norm.c): x viewed as
 * [outer][R][inner], one workgroup per (outer, inner) row; max, then the sum of
 * exp(x - max) in fp32, then the outputs.
 */
#version 450
#include "common.glsl"
#include "kernel.glsl"

layout(local_size_x = 64) in;
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
#include "wgreduce.glsl"

layout(binding = 0) readonly buffer X { STORE_T x[]; };
layout(binding = 1) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform Push {
    uint rows, R, inner;
    uint log_softmax;
} pc;

void main()
{
    uint o = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (o >= pc.rows) return;
    uint base = (o / pc.inner) * pc.R * pc.inner + o % pc.inner;
    float m = -uintBitsToFloat(0x7f800000u);
    for (uint k = gl_LocalInvocationID.x; k < pc.R; k += WG)
        m = max(m, LOADF(x[base + k * pc.inner]));
    m = lg_wg_reduce(m, 1u);
    float s = 0.0;
    for (uint k = gl_LocalInvocationID.x; k < pc.R; k += WG)
        s += exp(LOADF(x[base + k * pc.inner]) - m);
    s = lg_wg_reduce(s, 0u);
    float ls = log(s);
    for (uint k = gl_LocalInvocationID.x; k < pc.R; k += WG) {
        float v = LOADF(x[base + k * pc.inner]) - m;
        y[base + k * pc.inner] = STOREF(pc.log_softmax != 0u ? v - ls : exp(v) / s);
    }
}
