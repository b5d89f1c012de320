/*
 * conv_dw.comp: depthwise 2-D convolution (group = input channels = output channels),
 * one invocation per output element: y = act(sum over the KH x KW window of x * w
 * + bias[c] + r). W is [C][1][KH][KW]. vk_ops_conv.c. The fp16-arithmetic variant
 * multiplies in fp16, sums the window in fp32 and computes the epilogue in fp16.
 */
#version 450
#include "common.glsl"
#include "kernel.glsl"

layout(local_size_x = 256) in;
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(binding = 0) readonly buffer X { STORE_T x[]; };
layout(binding = 1) readonly buffer W { STORE_T w[]; };
layout(binding = 2) readonly buffer Bias { STORE_T bias[]; };
layout(binding = 3) readonly buffer R { STORE_T r[]; };
layout(binding = 4) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform Push {
    uint n;              /* N * C * OH * OW */
    uint C;
    uint H, W, OH, OW;
    uint KH, KW, SH, SW, DH, DW;
    int PH, PW;
    uint flags;          /* 1: bias, 2: R */
    uint act;
    float act_alpha, act_beta;
} pc;

void main()
{
    uint i = LG_FLAT_INDEX(WG);
    if (i >= pc.n) return;
    uint ow = i % pc.OW, t = i / pc.OW, oh = t % pc.OH, plane = t / pc.OH, c = plane % pc.C;
    uint xbase = plane * pc.H * pc.W, wbase = c * pc.KH * pc.KW;
    int ih0 = int(oh * pc.SH) - pc.PH, iw0 = int(ow * pc.SW) - pc.PW;
    float acc = 0.0;
    for (uint kh = 0; kh < pc.KH; kh++) {
        int ih = ih0 + int(kh * pc.DH);
        if (ih < 0 || ih >= int(pc.H)) continue;
        for (uint kw = 0; kw < pc.KW; kw++) {
            int iw = iw0 + int(kw * pc.DW);
            if (iw < 0 || iw >= int(pc.W)) continue;
            acc += LG_PROD(LOADA(x[xbase + uint(ih) * pc.W + uint(iw)]), LOADA(w[wbase + kh * pc.KW + kw]));
        }
    }
#ifdef LG_FP16_MATH
    ACC_T v = ACC(acc);
    if ((pc.flags & 1u) != 0u) v += LOADA(bias[c]);
    if ((pc.flags & 2u) != 0u) v += LOADA(r[i]);
    y[i] = STOREA(lg_act(v, pc.act, ACC(pc.act_alpha), ACC(pc.act_beta)));
#else
    if ((pc.flags & 1u) != 0u) acc += LOADF(bias[c]);
    if ((pc.flags & 2u) != 0u) acc += LOADF(r[i]);
    y[i] = STOREF(lg_act(acc, pc.act, pc.act_alpha, pc.act_beta));
#endif
}
