/*
 * reduce_avx2.h: the AVX2+FMA row and column kernels of reduce_avx2.c, which reduce.c
 * calls when lg_cpu() has AVX2 and FMA.
 *
 *   float s = lg_cpu()->avx2 && lg_cpu()->fma ? lg_reduce_sum_f32_avx2(x, n) : plain_sum(x, n);
 */
#ifndef LG_REDUCE_AVX2_H
#define LG_REDUCE_AVX2_H

#include <stdint.h>

float lg_reduce_sum_f32_avx2(const float *x, int64_t n);
float lg_reduce_sumsq_f32_avx2(const float *x, int64_t n);
float lg_reduce_sumabs_f32_avx2(const float *x, int64_t n);
float lg_reduce_max_f32_avx2(const float *x, int64_t n);
float lg_reduce_min_f32_avx2(const float *x, int64_t n);
/* y = exp(x - m), returns the sum of y. */
float lg_reduce_expsum_f32_avx2(const float *x, float *y, int64_t n, float m);
/* Column reduction of a strided block into acc (op: reduce.c's core op). */
void lg_reduce_cols_f32_avx2(const float *x, int64_t n, int64_t stride, float *acc, int64_t bi, int op);
void lg_reduce_expacc_f32_avx2(const float *x, const float *m, float *y, float *sum, int64_t n);

#endif
