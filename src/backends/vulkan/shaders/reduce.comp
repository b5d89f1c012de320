/*
 * reduce.comp: the Reduce ops and global pools over one run of axes (vk_ops_reduce.c):
 * the input is viewed as [outer][R][inner], the output as [outer][inner], one workgroup
 * per output element, accumulated in fp32. op: 0 sum, 1 mean, 2 max, 3 min, 4 prod,
 * 5 l2, 6 l1, 7 sum of squares, 8 log of sum, 9 log of sum of exp.
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
    uint n_out, R, inner;
    uint op;
} pc;

#define INF uintBitsToFloat(0x7f800000u)

void main()
{
    uint o = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (o >= pc.n_out) return; /* uniform across the group */
    uint base = (o / pc.inner) * pc.R * pc.inner + o % pc.inner;
    uint op = pc.op;
    uint comb = op == 2u ? 1u : op == 3u ? 2u : op == 4u ? 3u : 0u;
    float ident = op == 2u ? -INF : op == 3u ? INF : op == 4u ? 1.0 : 0.0;
    float mx = 0.0;
    if (op == 9u) {
        float m = -INF;
        for (uint k = gl_LocalInvocationID.x; k < pc.R; k += WG)
            m = max(m, LOADF(x[base + k * pc.inner]));
        mx = lg_wg_reduce(m, 1u);
    }
    float acc = ident;
    for (uint k = gl_LocalInvocationID.x; k < pc.R; k += WG) {
        float v = LOADF(x[base + k * pc.inner]);
        if (op == 5u || op == 7u) v = v * v;
        else if (op == 6u) v = abs(v);
        else if (op == 9u) v = exp(v - mx);
        acc = lg_combine(acc, v, comb);
    }
    acc = lg_wg_reduce(acc, comb);
    if (gl_LocalInvocationID.x != 0u) return;
    if (op == 1u) acc /= float(pc.R);
    else if (op == 5u) acc = sqrt(acc);
    else if (op == 8u) acc = log(acc);
    else if (op == 9u) acc = log(acc) + mx;
    y[o] = STOREF(acc);
}
