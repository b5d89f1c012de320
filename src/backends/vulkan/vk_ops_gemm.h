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
    uint32_t ldy, ycol; /* row length of Y / R (0: N) and the first column written */
} lg_vk_gemm_args;

/* A constant operand larger than one binding, uploaded as blocks that each fit one:
 * column blocks of a GEMM's B ([K][cols] each), row blocks of a convolution's weight
 * ([rows][K] each). */
typedef struct lg_vk_blocks {
    int n;
    uint32_t per;            /* columns (rows) per block; the last may have fewer */
    lg_vk_weight **w;
} lg_vk_blocks;

/* Whether a constant of rows x cols floats needs blocks on d, and whether it can have
 * them (one row / column of K fits a binding). */
bool lg_vk_blocks_needed(lg_device *d, int64_t k, int64_t cols);
bool lg_vk_blocks_possible(lg_device *d, int64_t k);
/* Uploads src (element (k, j) at src[k * sk + j * sj], j < cols) as blocks of columns,
 * each stored [k][cols of the block] (col_major = 0) or [cols of the block][k] (1). */
int lg_vk_blocks_upload(lg_device *d, const void *key, const float *src, int64_t k, int64_t cols, int64_t sk,
                        int64_t sj, bool col_major, lg_vk_blocks *out);
void lg_vk_blocks_release(lg_device *d, lg_vk_blocks *b);

/* Whether an M x N output fits the workgroup grid (x over N, y over M; at most 65535 groups
 * each with the smallest tiles of vk_tune.c). */
bool lg_vk_gemm_grid_ok(int64_t M, int64_t N);

int lg_vk_gemm_record(lg_vk_rec *r, lg_vk_gemm_args *g, uint32_t nz, lg_vk_binding a, lg_vk_binding b,
                      const lg_vk_binding *c, const lg_vk_binding *res, lg_vk_binding y);

#endif
