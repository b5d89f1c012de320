/*
 * gpu_bench.h: what the parts of the GPU benchmark (bench/gpu.sh) share: the fp32 peak
 * measured with the FmaPeak test kernel (gpu_bench_peak.c), the one-node ONNX models it
 * builds and the Conv shapes it finds in a model (gpu_bench_onnx.c).
 */
#ifndef LG_GPU_BENCH_H
#define LG_GPU_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "legacygpu/engine.h"

/* Seconds on the monotonic clock. */
double gb_now(void);

/* The fp32 peak of Vulkan device dev: FmaPeak (vk_ops_test.c) with `iters` chosen by a
 * calibration so one dispatch takes about target_s; the fixed cost of a submission
 * (the same dispatch with iters 0) is subtracted. */
typedef struct gb_peak {
    double gflops;       /* best of 3 */
    int64_t invocations;
    uint32_t iters;
    double seconds;      /* one timed dispatch, fixed cost included */
    double overhead_s;   /* the same with iters 0 */
} gb_peak;
int gb_measure_peak(int dev, bool software, double target_s, gb_peak *out);

/* A 2-D Conv at batch 1: input [1, c, h, w], weight [m, c / group, kh, kw]. */
typedef struct gb_conv {
    int64_t c, h, w, m, kh, kw;
    int64_t stride[2], pad[4], dil[2], group;
    int has_bias;
    int count;     /* how many nodes of the model have this shape */
    char first[64]; /* the first such node's name */
} gb_conv;

/* ONNX bytes (malloc'd, *len bytes) of Y = X @ B @ B ... (k MatMuls, one shared constant
 * B [n, n] of values about 1/sqrt(n)), X input [n, n]. */
uint8_t *gb_model_matmul_chain(int64_t n, int k, size_t *len);
/* ONNX bytes of one Conv node Y = Conv(X, W[, B]) with constant random W and B. */
uint8_t *gb_model_conv(const gb_conv *cv, size_t *len);
/* The distinct 2-D Conv shapes of model m at batch 1 (static shape inference on the
 * CPU), in order of first appearance, into out[0..max); returns the count or < 0. */
int gb_conv_shapes(lg_model *m, gb_conv *out, int max);

#endif
