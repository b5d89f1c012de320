/*
 * resize.comp: Resize of the two trailing axes of NCHW tensors (1-D as H = 1),
 * nearest (4 rounding rules) or linear, with the coordinate transformation modes of
 * vk_ops_resize.c: 0 half_pixel, 1 asymmetric, 2 pytorch_half_pixel, 3 align_corners,
 * 4 tf_half_pixel_for_nn. One invocation per output element.
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
    uint n, H, W, OH, OW;
    float sh, sw;        /* scales (output / input) */
    uint linear;
    uint coord;
    uint rule;           /* nearest: 0 round_prefer_floor, 1 round_prefer_ceil, 2 floor, 3 ceil, 4 legacy */
} pc;

float source(float o, float s, uint n_in)
{
    float n_out = float(n_in) * s;
    switch (pc.coord) {
    case 0u: return (o + 0.5) / s - 0.5;
    case 2u: return n_out > 1.0 ? (o + 0.5) / s - 0.5 : 0.0;
    case 3u: return n_out > 1.0 ? o * float(n_in - 1u) / (n_out - 1.0) : 0.0;
    case 4u: return (o + 0.5) / s;
    }
    return o / s;
}

int nearest(float v, float s)
{
    float f = floor(v);
    switch (pc.rule) {
    case 0u: return int(v == f + 0.5 ? f : round(v));
    case 1u: return int(v == f + 0.5 ? f + 1.0 : round(v));
    case 2u: return int(f);
    case 3u: return int(ceil(v));
    }
    return int(s < 1.0 ? ceil(v) : f);
}

void main()
{
    uint i = LG_FLAT_INDEX(WG);
    if (i >= pc.n) return;
    uint ow = i % pc.OW, t = i / pc.OW, oh = t % pc.OH, plane = t / pc.OH;
    uint base = plane * pc.H * pc.W;
    float sy = source(float(oh), pc.sh, pc.H), sx = source(float(ow), pc.sw, pc.W);
    int mh = int(pc.H) - 1, mw = int(pc.W) - 1;
    if (pc.linear == 0u) {
        int iy = clamp(nearest(sy, pc.sh), 0, mh), ix = clamp(nearest(sx, pc.sw), 0, mw);
        y[i] = x[base + uint(iy) * pc.W + uint(ix)];
        return;
    }
    float fy = floor(sy), fx = floor(sx), ty = sy - fy, tx = sx - fx;
    int y0 = clamp(int(fy), 0, mh), y1 = clamp(int(fy) + 1, 0, mh);
    int x0 = clamp(int(fx), 0, mw), x1 = clamp(int(fx) + 1, 0, mw);
#ifdef LG_FP16_MATH
    /* Coordinates and weights computed in fp32 above (indices beyond 2048 and their
     * fractions need it); the interpolation in fp16. */
    ACC_T wx = ACC(tx), wy = ACC(ty), one = ACC(1.0);
    ACC_T a = LOADA(x[base + uint(y0) * pc.W + uint(x0)]), b = LOADA(x[base + uint(y0) * pc.W + uint(x1)]);
    ACC_T c = LOADA(x[base + uint(y1) * pc.W + uint(x0)]), d = LOADA(x[base + uint(y1) * pc.W + uint(x1)]);
    y[i] = STOREA((a * (one - wx) + b * wx) * (one - wy) + (c * (one - wx) + d * wx) * wy);
#else
    float a = LOADF(x[base + uint(y0) * pc.W + uint(x0)]), b = LOADF(x[base + uint(y0) * pc.W + uint(x1)]);
    float c = LOADF(x[base + uint(y1) * pc.W + uint(x0)]), d = LOADF(x[base + uint(y1) * pc.W + uint(x1)]);
    y[i] = STOREF((a * (1.0 - tx) + b * tx) * (1.0 - ty) + (c * (1.0 - tx) + d * tx) * ty);
#endif
}
