/*
 * gemm.h: the CPU backend's single-precision matrix product, the engine of Conv, Gemm
 * and MatMul.
 *
 *   C[M,N] = alpha * A[M,K] * B[K,N]  (+ C when accumulate)  (+ row bias, then clamp)
 *
 * Both operands are copied into "packed" panels before the product: A into panels of
 * LG_SGEMM_MR rows, B into panels of LG_SGEMM_NR columns, K split into blocks. A constant
 * operand (weights) can be packed once with lg_sgemm_pack_a/_b and reused on every run.
 * B may also come from a callback that writes the packed panels itself: Conv packs its
 * im2col matrix straight from the image that way, without a full im2col buffer.
 *
 *   lg_sgemm_packed *w = lg_sgemm_pack_a(M, K, (lg_smat){ weights, K, 1 });
 *   lg_sgemm_args g = { .M = M, .N = N, .K = K, .alpha = 1, .pa = w,
 *                       .b = { x, N, 1 }, .c = y, .ldc = N, .row_bias = bias };
 *   lg_sgemm(pool, &g);
 *   lg_sgemm_packed_free(w);
 *
 * Work is split over the pool's threads. The micro-kernel is the one of the SIMD path in
 * use (base/cpu.h: AVX-512, AVX2+FMA, AVX, SSE4.1 or portable C); all read the same
 * packed layout.
 */
#ifndef LG_GEMM_H
#define LG_GEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/tensor_impl.h"
#include "base/threadpool.h"

/* Micro-tile: each kernel call computes an MR x NR block of C. */
#define LG_SGEMM_MR 6
#define LG_SGEMM_NR 16
/* Most columns a B packer (lg_sgemm_pack_fn) is asked for at once. */
#define LG_SGEMM_NC 1024

/* A strided matrix view: element (i, j) is p[i * rs + j * cs] (transposes are views). */
typedef struct lg_smat {
    const float *p;
    int64_t rs, cs;
} lg_smat;

/* An operand packed once (lg_sgemm_pack_a / _b) for a fixed (rows, K). */
typedef struct lg_sgemm_packed lg_sgemm_packed;

/* Packs rows [k0, k0+kc) and columns [n0, n0+nc) of B into dst: panel p (columns
 * n0 + p*NR ..) holds kc rows of NR floats, row k of panel p at dst[(p*kc + k)*NR];
 * columns past nc in the last panel must be written as 0. */
typedef void (*lg_sgemm_pack_fn)(const void *arg, int64_t k0, int64_t kc, int64_t n0, int64_t nc,
                                 float *dst);

/* Output pass: what happens to C after the product (the fused activation). */
typedef enum lg_sgemm_act {
    LG_SGEMM_ACT_NONE = 0,
    LG_SGEMM_ACT_CLAMP, /* y = min(max(y, lo), hi): Relu is [0, inf), Clip is [min, max] */
} lg_sgemm_act;

typedef struct lg_sgemm_args {
    int64_t M, N, K;
    float alpha;
    bool accumulate;            /* C += product, else C = product */
    /* A: pa if set, else the view a. */
    const lg_sgemm_packed *pa;
    lg_smat a;
    /* B: pb if set, else pack_b if set, else the view b. */
    const lg_sgemm_packed *pb;
    lg_sgemm_pack_fn pack_b;
    const void *pack_b_arg;
    lg_smat b;
    float *c;
    int64_t ldc;                /* C row stride; columns are contiguous */
    const float *row_bias;      /* [M] added to row i at the end, or NULL */
    lg_sgemm_act act;
    float act_lo, act_hi;
    /* Called on each finished block of C (m rows, n columns at c) after bias and clamp,
     * while it is in cache: a fused activation other than a clamp. May be NULL. */
    void (*post)(const void *arg, float *c, int64_t ldc, int64_t m, int64_t n);
    const void *post_arg;
} lg_sgemm_args;

/* Packs A[M,K] (an MR-panel operand) or B[K,N] (an NR-panel operand) once; NULL when out
 * of memory (the error is set). Free with lg_sgemm_packed_free. */
lg_sgemm_packed *lg_sgemm_pack_a(int64_t M, int64_t K, lg_smat a);
lg_sgemm_packed *lg_sgemm_pack_b(int64_t K, int64_t N, lg_smat b);
void lg_sgemm_packed_free(lg_sgemm_packed *p);
/* Bytes held by a packed operand. */
size_t lg_sgemm_packed_bytes(const lg_sgemm_packed *p);

/* Runs the product; pool may be NULL (single thread). A packed operand must have been
 * packed for the same M (or N) and K. LG_OK, or LG_E_NOMEM when scratch is missing. */
int lg_sgemm(lg_threadpool *pool, const lg_sgemm_args *g);

/* Batched products (MatMul, MatMulInteger, QLinearMatMul) with numpy matmul rules: a is
 * [..., M, K] or [K], b is [..., K, N] or [K]; batch dims broadcast; a 1-D operand's
 * matrix dim is dropped from the output. */
typedef struct lg_matmul_plan {
    int64_t M, N, K, batch;     /* batch: number of output matrices */
    int out_ndim;
    int64_t out_dims[LG_MAX_DIMS];
    int batch_ndim;
    int64_t batch_dims[LG_MAX_DIMS];
    int64_t a_stride[LG_MAX_DIMS], b_stride[LG_MAX_DIMS]; /* per batch dim, in matrices (0: broadcast) */
    bool b_shared;              /* every batch uses the one matrix of b */
} lg_matmul_plan;

/* LG_E_SHAPE (with the shapes) when they do not fit. */
int lg_matmul_plan_make(int na, const int64_t *a, int nb, const int64_t *b, lg_matmul_plan *p);
/* Index of the a and b matrices for output matrix i. */
void lg_matmul_plan_operands(const lg_matmul_plan *p, int64_t i, int64_t *ia, int64_t *ib);

/* Internal: the micro-kernel contract shared by gemm.c and gemm_avx2.c. Computes a full
 * MR x NR tile from kc packed steps of a (MR floats each) and b (NR floats each), then
 * c = alpha*acc (+ c if accumulate) (+ bias[i] if bias) (clamped if clamp). */
typedef struct lg_sgemm_tile {
    float alpha;
    bool accumulate;
    const float *bias;          /* MR row biases, or NULL */
    bool clamp;
    float lo, hi;
} lg_sgemm_tile;

void lg_sgemm_kernel_avx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                          const lg_sgemm_tile *t);
/* The same tile with AVX-512F (gemm_avx512.c), when the CPU has it. */
void lg_sgemm_kernel_avx512(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                            const lg_sgemm_tile *t);
/* A tile cut by the edge of C, only its first mr rows and nr columns stored (AVX2+FMA,
 * AVX-512). */
void lg_sgemm_kernel_avx2_edge(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                               const lg_sgemm_tile *t, int64_t mr, int64_t nr);
void lg_sgemm_kernel_avx512_edge(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                 const lg_sgemm_tile *t, int64_t mr, int64_t nr);
/* The same for the left MR x NR/2 of the tile (c needs only NR/2 columns). */
void lg_sgemm_kernel_avx2_half(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                               const lg_sgemm_tile *t);
/* AVX without FMA (gemm_avx.c) and SSE4.1 (gemm_sse41.c), full tile and left half. */
void lg_sgemm_kernel_avx(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, const lg_sgemm_tile *t);
void lg_sgemm_kernel_avx_half(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                              const lg_sgemm_tile *t);
void lg_sgemm_kernel_sse41(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, const lg_sgemm_tile *t);
void lg_sgemm_kernel_sse41_half(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                const lg_sgemm_tile *t);

#endif
