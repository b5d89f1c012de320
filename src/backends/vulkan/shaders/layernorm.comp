/*
 * layernorm.comp: LayerNormalization over the trailing R elements of each row
 * (vk_ops_norm.c): y = (x - mean) / sqrt(var + eps) * scale[k] + bias[k], one workgroup
 * per row, mean and variance in fp32 (two passes over the row).
 */
#version 450
#include "common.glsl"
#include "kernel.glsl"

layout(local_size_x = 64) in;
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
#include "wgreduce.glsl"

layout(binding = 0) readonly buffer X { STORE_T x[]; };
layout(binding = 1) readonly buffer S { STORE_T scale[]; };
layout(binding = 2) readonly buffer B { STORE_T bias[]; };
layout(binding = 3) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform Push {
    uint rows, R;
    float eps;
    uint has_bias;
} pc;

void main()
{
    uint o = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (o >= pc.rows) return;
    uint base = o * pc.R;
    float s = 0.0;
    for (uint k = gl_LocalInvocationID.x; k < pc.R; k += WG) s += LOADF(x[base + k]);
    float mean = lg_wg_reduce(s, 0u) / float(pc.R);
    float q = 0.0;
    for (uint k = gl_LocalInvocationID.x; k < pc.R; k += WG) {
        float d = LOADF(x[base + k]) - mean;
        q += d * d;
    }
    float rstd = inversesqrt(lg_wg_reduce(q, 0u) / float(pc.R) + pc.eps);
    for (uint k = gl_LocalInvocationID.x; k < pc.R; k += WG) {
        float v = (LOADF(x[base + k]) - mean) * rstd * LOADF(scale[k]);
        if (pc.has_bias != 0u) v += LOADF(bias[k]);
        y[base + k] = STOREF(v);
    }
}
