/*
 * conv.comp: 2-D convolution (1-D as H = 1) as an implicit GEMM, tiled in shared memory
 * like gemm.comp (same BM/BN/BK/TM/TN constants, vk_tune.c). For image n and group g
 * (workgroup z = n * G + g): Y[m][j] = act(sum_k W[m][k] X(k, j) + bias[m] + R[m][j]),
 * m over the group's output channels, j over output pixels, k over (channel, kh, kw) of
 * the group; X(k, j) is the input element under tap k of pixel j, 0 in the padding.
 * W is the ONNX weight [M][C/G][KH][KW] as uploaded, or (G = 1, weights larger than one
 * binding) a block of its rows: output channels oc0 .. oc0+M-1 of OC. The fp16-arithmetic
 * variant keeps the tiles in fp16, multiplies in fp16 and sums in fp32 (LG_PROD); its
 * epilogue (bias, R, activation) is in fp16.
 */
#version 450
#include "common.glsl"
#include "kernel.glsl"

layout(local_size_x = 64) in;
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint BM = 32;
layout(constant_id = 2) const uint BN = 32;
layout(constant_id = 3) const uint BK = 8;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;

layout(binding = 0) readonly buffer X { STORE_T x[]; };
layout(binding = 1) readonly buffer W { STORE_T w[]; };
layout(binding = 2) readonly buffer Bias { STORE_T bias[]; };
layout(binding = 3) readonly buffer R { STORE_T r[]; };
layout(binding = 4) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform Push {
    uint M;              /* output channels per group */
    uint Cg;             /* input channels per group */
    uint G;
    uint H, W, OH, OW;
    uint KH, KW, SH, SW, DH, DW;
    int PH, PW;
    uint flags;          /* 1: bias, 2: R */
    uint act;
    float act_alpha, act_beta;
    uint oc0, OC;        /* this dispatch's first output channel, all output channels */
} pc;

/* A's tile is stored k-major with rows padded by one: its loads walk k across
 * neighbouring invocations, which would otherwise hit one shared-memory bank. */
const uint BMP = BM + 1;
shared ACC_T As[BK * BMP];
shared ACC_T Bs[BK * BN];
/* The im2col index arithmetic, divided out once: per column (output pixel) of the group's
 * block its window origin, per row k of the current K step its channel offset and tap
 * offsets (no integer division in the load loop: llvmpipe scalarises it, GPUs spend
 * ~20 instructions on each). */
shared int col_h[BN], col_w[BN];
shared int row_c[BK], row_h[BK], row_w[BK];

void main()
{
    const uint WG = (BM / TM) * (BN / TN);
    uint lid = gl_LocalInvocationID.x;
    uint z = gl_WorkGroupID.z, nimg = z / pc.G, g = z % pc.G;
    uint N = pc.OH * pc.OW, K = pc.Cg * pc.KH * pc.KW, KK = pc.KH * pc.KW;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    uint xbase = (nimg * pc.G + g) * pc.Cg * pc.H * pc.W;
    uint wbase = g * pc.M * K;
    uint tm = lid / (BN / TN), tn = lid % (BN / TN);
    float acc[TM * TN];
    for (uint i = 0; i < TM * TN; i++) acc[i] = 0.0;
    for (uint i = lid; i < BN; i += WG) {
        uint j = n0 + i;
        col_h[i] = j < N ? int((j / pc.OW) * pc.SH) - pc.PH : -0x40000000; /* far outside: padding */
        col_w[i] = int((j % pc.OW) * pc.SW) - pc.PW;
    }

    for (uint k0 = 0; k0 < K; k0 += BK) {
        if (lid < BK) {
            uint k = k0 + lid, t = k % KK;
            row_c[lid] = k < K ? int((k / KK) * pc.H * pc.W) : -1;
            row_h[lid] = int((t / pc.KW) * pc.DH);
            row_w[lid] = int((t % pc.KW) * pc.DW);
        }
        barrier();
        for (uint i = lid; i < BM * BK; i += WG) {
            uint mm = i / BK, kk = i % BK, m = m0 + mm, k = k0 + kk;
            As[kk * BMP + mm] = (m < pc.M && k < K) ? LOADA(w[wbase + m * K + k]) : ACC(0.0);
        }
        for (uint i = lid; i < BN * BK; i += WG) {
            uint kk = i / BN, nn = i % BN;
            int ih = col_h[nn] + row_h[kk], iw = col_w[nn] + row_w[kk];
            ACC_T v = ACC(0.0);
            if (row_c[kk] >= 0 && ih >= 0 && ih < int(pc.H) && iw >= 0 && iw < int(pc.W))
                v = LOADA(x[xbase + uint(row_c[kk] + ih * int(pc.W) + iw)]);
            Bs[kk * BN + nn] = v;
        }
        barrier();
        for (uint kk = 0; kk < BK; kk++) {
            ACC_T bv[TN];
            for (uint j = 0; j < TN; j++) bv[j] = Bs[kk * BN + tn + j * (BN / TN)];
            for (uint i = 0; i < TM; i++) {
                ACC_T av = As[kk * BMP + tm + i * (BM / TM)];
                for (uint j = 0; j < TN; j++) acc[i * TN + j] += LG_PROD(av, bv[j]);
            }
        }
        barrier();
    }

    for (uint i = 0; i < TM; i++) {
        uint m = m0 + tm + i * (BM / TM);
        if (m >= pc.M) continue;
        uint oc = pc.oc0 + g * pc.M + m;
        ACC_T bv = (pc.flags & 1u) != 0u ? LOADA(bias[oc]) : ACC(0.0);
        for (uint j = 0; j < TN; j++) {
            uint n = n0 + tn + j * (BN / TN);
            if (n >= N) continue;
            uint yi = (nimg * pc.OC + oc) * N + n;
            ACC_T v = ACC(acc[i * TN + j]) + bv;
            if ((pc.flags & 2u) != 0u) v += LOADA(r[yi]);
            y[yi] = STOREA(lg_act(v, pc.act, ACC(pc.act_alpha), ACC(pc.act_beta)));
        }
    }
}
