/*
 * binary.comp: y = a op b with numpy broadcasting over up to 6 dims (vk_ops_binary.c).
 * The dispatch covers one chunk of y: elements base .. base+n-1 of the whole output,
 * y bound at the chunk. An input flagged "flat" (its shape equals y's) is bound at the
 * same chunk and read at the local index; the others are bound whole and read through
 * their broadcast strides (0 on broadcast dims) at the global index.
 */
#version 450
#include "common.glsl"
#include "kernel.glsl"

layout(local_size_x = 256) in;
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(binding = 0) readonly buffer A { STORE_T a[]; };
layout(binding = 1) readonly buffer B { STORE_T b[]; };
layout(binding = 2) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform Push {
    uint n, base, op, flags;  /* flags: 1 a is flat, 2 b is flat */
    uint ndim;
    uint dims[6];
    uint sa[6];
    uint sb[6];
} pc;

float ipow(float x, float e)
{
    /* pow() is undefined for x < 0: integer exponents keep the sign rule. */
    if (x >= 0.0) return (x == 0.0 && e == 0.0) ? 1.0 : pow(x, e);
    if (e != floor(e)) return pow(x, e); /* NaN, as in C */
    float r = pow(-x, e);
    return mod(e, 2.0) == 1.0 ? -r : r;
}

float binop(float x, float z)
{
    switch (pc.op) {
    case 0u: return x + z;
    case 1u: return x - z;
    case 2u: return x * z;
    case 3u: return x / z;
    case 4u: return ipow(x, z);
    case 5u: return max(x, z);
    case 6u: return min(x, z);
    case 7u: return x < 0.0 ? x * z : x; /* PRelu: z is the slope */
    }
    return x;
}

#ifdef LG_FP16_MATH
/* The ops in fp16 arithmetic; Pow stays fp32 (pow is exp2(e * log2(x)): log2's error
 * grows with the exponent). */
float16_t binop16(float16_t x, float16_t z)
{
    switch (pc.op) {
    case 0u: return x + z;
    case 1u: return x - z;
    case 2u: return x * z;
    case 3u: return x / z;
    case 5u: return max(x, z);
    case 6u: return min(x, z);
    case 7u: return x < float16_t(0.0) ? x * z : x;
    }
    return x;
}
#endif

void main()
{
    uint i = LG_FLAT_INDEX(WG);
    if (i >= pc.n) return;
    uint g = pc.base + i;
    uint ia = 0u, ib = 0u, rest = g;
    for (int k = int(pc.ndim) - 1; k >= 0; k--) {
        uint c = rest % pc.dims[k];
        rest /= pc.dims[k];
        ia += c * pc.sa[k];
        ib += c * pc.sb[k];
    }
    if ((pc.flags & 1u) != 0u) ia = i;
    if ((pc.flags & 2u) != 0u) ib = i;
#ifdef LG_FP16_MATH
    if (pc.op != 4u) {
        y[i] = STOREA(binop16(LOADA(a[ia]), LOADA(b[ib])));
        return;
    }
#endif
    y[i] = STOREF(binop(LOADF(a[ia]), LOADF(b[ib])));
}
