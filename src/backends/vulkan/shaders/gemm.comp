/*
 * gemm.comp: batched, strided Y[z] = act(alpha * A[z] B[z] + beta * C + R[z]) in fp32
 * accumulators, tiled in shared memory (vk_ops_gemm.c: Gemm, MatMul; vk_ops_conv.c:
 * 1x1 convolutions). A (M x K) and B (K x N) are read through element strides, so
 * transposes cost nothing; batch z = z1 * nb2 + z2 selects A, B and C through two
 * levels of batch strides (0 = broadcast). Y and R are [z][M][ldy]; a dispatch writes
 * the N columns from ycol (B split into column blocks when larger than one binding).
 * The fp16-arithmetic variant keeps the tiles in fp16 and multiplies in fp16 (LG_PROD),
 * adding the products to the fp32 accumulators; its epilogue (alpha, C, R, activation)
 * is in fp16.
 *
 * Tiles (specialisation constants, vk_tune.c per architecture): a workgroup computes a
 * BM x BN block of Y, walking K in steps of BK through shared memory; each of its
 * (BM/TM) * (BN/TN) invocations (= local_size_x, constant 0) holds TM x TN results.
 * Groups: x over N / BN, y over M / BM, z over batches.
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

layout(binding = 0) readonly buffer A { STORE_T a[]; };
layout(binding = 1) readonly buffer B { STORE_T b[]; };
layout(binding = 2) readonly buffer C { STORE_T cc[]; };
layout(binding = 3) readonly buffer R { STORE_T r[]; };
layout(binding = 4) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform Push {
    uint M, N, K;
    uint sam, sak, sbk, sbn, scm, scn;
    uint nb2;
    uint sa1, sa2, sb1, sb2, sc1, sc2;
    uint flags;          /* 1: C, 2: R */
    float alpha, beta;
    uint act;
    float act_alpha, act_beta;
    uint ldy, ycol;      /* Y and R rows are ldy long; this dispatch writes columns ycol .. ycol+N-1 */
} pc;

/* A's tile is stored k-major with rows padded by one: its loads walk k across
 * neighbouring invocations, which would otherwise hit one shared-memory bank. */
const uint BMP = BM + 1;
shared ACC_T As[BK * BMP];
shared ACC_T Bs[BK * BN];

void main()
{
    const uint WG = (BM / TM) * (BN / TN);
    uint lid = gl_LocalInvocationID.x;
    uint z = gl_WorkGroupID.z, z1 = z / pc.nb2, z2 = z % pc.nb2;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    uint abase = z1 * pc.sa1 + z2 * pc.sa2, bbase = z1 * pc.sb1 + z2 * pc.sb2;
    uint tm = lid / (BN / TN), tn = lid % (BN / TN);
    float acc[TM * TN];
    for (uint i = 0; i < TM * TN; i++) acc[i] = 0.0;

    for (uint k0 = 0; k0 < pc.K; k0 += BK) {
        for (uint i = lid; i < BM * BK; i += WG) {
            uint mm = i / BK, kk = i % BK, m = m0 + mm, k = k0 + kk;
            As[kk * BMP + mm] = (m < pc.M && k < pc.K) ? LOADA(a[abase + m * pc.sam + k * pc.sak]) : ACC(0.0);
        }
        for (uint i = lid; i < BN * BK; i += WG) {
            uint kk = i / BN, nn = i % BN, n = n0 + nn, k = k0 + kk;
            Bs[kk * BN + nn] = (n < pc.N && k < pc.K) ? LOADA(b[bbase + k * pc.sbk + n * pc.sbn]) : ACC(0.0);
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

    uint ybase = z * pc.M * pc.ldy + pc.ycol, cbase = z1 * pc.sc1 + z2 * pc.sc2;
    for (uint i = 0; i < TM; i++) {
        uint m = m0 + tm + i * (BM / TM);
        if (m >= pc.M) continue;
        for (uint j = 0; j < TN; j++) {
            uint n = n0 + tn + j * (BN / TN);
            if (n >= pc.N) continue;
            ACC_T v = ACC(pc.alpha * acc[i * TN + j]);
            if ((pc.flags & 1u) != 0u) v += ACC(pc.beta) * LOADA(cc[cbase + m * pc.scm + (pc.ycol + n) * pc.scn]);
            uint yi = ybase + m * pc.ldy + n;
            if ((pc.flags & 2u) != 0u) v += LOADA(r[yi]);
            y[yi] = STOREA(lg_act(v, pc.act, ACC(pc.act_alpha), ACC(pc.act_beta)));
        }
    }
}
