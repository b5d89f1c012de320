/*
 * vk_ops_gemm.h: the batched strided GEMM of shaders/gemm.comp as a call, shared by
 * Gemm / MatMul (vk_ops_gemm.c) and 1x1 convolutions (vk_ops_conv.c).
 */
#ifndef LG_VK_OPS_GEMM_H
#define LG_VK_OPS_GEMM_H

#include "backends/vulkan/vk_kern.h"

/* Y[z] = act(alpha * A[z] B[z] + beta * C + R[z]), z = z1 * nb2 + z2 over nz batches;
 * element strides as in gemm.comp. c and res may have buf NULL bindings (absent). */
typedef struct lg_vk_gemm_args {
    uint32_t M, N, K;
    uint32_t sam, sak, sbk, sbn, scm, scn;
    uint32_t nb2;
    uint32_t sa1, sa2, sb1, sb2, sc1, sc2;
    uint32_t flags; /* 1: C, 2: R (set by lg_vk_gemm_record from the bindings) */
    float alpha, beta;
    uint32_t act;
    float act_alpha, act_beta;
} lg_vk_gemm_args;

int lg_vk_gemm_record(lg_vk_rec *r, lg_vk_gemm_args *g, uint32_t nz, lg_vk_binding a, lg_vk_binding b,
                      const lg_vk_binding *c, const lg_vk_binding *res, lg_vk_binding y);

#endif
