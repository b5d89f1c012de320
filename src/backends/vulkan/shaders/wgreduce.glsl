/*
 * wgreduce.glsl: a workgroup-wide reduction through shared memory, for shaders that give
 * one workgroup a row (reduce, softmax, layernorm). Needs the group size WG (constant 0,
 * declared by the shader before including this) to be a power of two, and every
 * invocation of the group to call it.
 */
#ifndef LG_WGREDUCE_GLSL
#define LG_WGREDUCE_GLSL

shared float lg_red[WG];

/* op 0: sum, 1: max, 2: min, 3: product. */
float lg_combine(float a, float b, uint op)
{
    switch (op) {
    case 1u: return max(a, b);
    case 2u: return min(a, b);
    case 3u: return a * b;
    }
    return a + b;
}

float lg_wg_reduce(float v, uint op)
{
    uint lid = gl_LocalInvocationID.x;
    lg_red[lid] = v;
    barrier();
    for (uint s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) lg_red[lid] = lg_combine(lg_red[lid], lg_red[lid + s], op);
        barrier();
    }
    float r = lg_red[0];
    barrier();
    return r;
}

#endif
