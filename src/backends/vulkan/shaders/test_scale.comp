/*
 * test_scale.comp: y = x * alpha + beta over n floats. The device layer's own test
 * kernel (op "Scale" in domain "ai.legacygpu.test", vk_ops_test.c): it proves the build
 * path, the three variants, push constants, specialisation and recording end to end.
 */
#version 450
#include "common.glsl"

layout(local_size_x = 64) in;
layout(local_size_x_id = 0) in;

layout(binding = 0) readonly buffer X { STORE_T x[]; };
layout(binding = 1) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform Push {
    uint n;
    float alpha;
    float beta;
} pc;

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n) return;
    y[i] = STOREA(LOADA(x[i]) * ACC_T(pc.alpha) + ACC_T(pc.beta));
}
