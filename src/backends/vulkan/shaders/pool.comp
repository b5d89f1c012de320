/*
 * pool.comp: MaxPool / AveragePool over 2-D windows (1-D as H = 1), one invocation per
 * output element (vk_ops_pool.c). Pads before each axis are PH, PW; the padded input
 * spans [-PH, H + PEH) x [-PW, W + PEW). Average divides by the taps inside the input,
 * or (count_include_pad) inside the padded input, as the CPU kernel does. The
 * fp16-arithmetic variant takes the max in fp16; average sums stay fp32.
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
    uint n;              /* planes * OH * OW */
    uint H, W, OH, OW;
    uint KH, KW, SH, SW, DH, DW;
    int PH, PW, PEH, PEW;
    uint avg;            /* 0 max, 1 average */
    uint count_pad;
} pc;

void main()
{
    uint i = LG_FLAT_INDEX(WG);
    if (i >= pc.n) return;
    uint ow = i % pc.OW, t = i / pc.OW, oh = t % pc.OH, plane = t / pc.OH;
    uint xbase = plane * pc.H * pc.W;
    int ih0 = int(oh * pc.SH) - pc.PH, iw0 = int(ow * pc.SW) - pc.PW;
    float acc = pc.avg != 0u ? 0.0 : -uintBitsToFloat(0x7f800000u);
#ifdef LG_FP16_MATH
    float16_t mx = float16_t(-uintBitsToFloat(0x7f800000u)); /* max in fp16, sums in fp32 */
#endif
    uint cnt = 0u, padded = 0u;
    for (uint kh = 0; kh < pc.KH; kh++) {
        int ih = ih0 + int(kh * pc.DH);
        bool hin = ih >= 0 && ih < int(pc.H), hpad = ih >= -pc.PH && ih < int(pc.H) + pc.PEH;
        for (uint kw = 0; kw < pc.KW; kw++) {
            int iw = iw0 + int(kw * pc.DW);
            if (hpad && iw >= -pc.PW && iw < int(pc.W) + pc.PEW) padded++;
            if (!hin || iw < 0 || iw >= int(pc.W)) continue;
#ifdef LG_FP16_MATH
            STORE_T s = x[xbase + uint(ih) * pc.W + uint(iw)];
            if (pc.avg != 0u) acc += float(s);
            else mx = max(mx, s);
#else
            float v = LOADF(x[xbase + uint(ih) * pc.W + uint(iw)]);
            acc = pc.avg != 0u ? acc + v : max(acc, v);
#endif
            cnt++;
        }
    }
#ifdef LG_FP16_MATH
    if (pc.avg == 0u) {
        y[i] = STOREA(mx);
        return;
    }
#endif
    if (pc.avg != 0u) {
        uint d = pc.count_pad != 0u ? padded : cnt;
        acc = d > 0u ? acc / float(d) : 0.0;
    }
    y[i] = STOREF(acc);
}
