/*
 * cpu.h: CPU features detected at run time, so kernels pick their SIMD path once.
 *
 *   if (lg_cpu()->avx2 && lg_cpu()->fma) sgemm = sgemm_avx2; else sgemm = sgemm_ref;
 */
#ifndef LG_CPU_H
#define LG_CPU_H

#include <stdbool.h>

typedef struct lg_cpu_features {
    bool sse41, avx, avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx_vnni, neon;
    char model[128];
    int num_cores;
} lg_cpu_features;

/* Detected once, then cached; never NULL. LEGACYGPU_SIMD=none forces the reference paths,
 * LEGACYGPU_SIMD=avx2 caps them at AVX2. */
const lg_cpu_features *lg_cpu(void);
/* "sse4.1 avx avx2 fma f16c" */
void lg_cpu_simd_string(char *buf, int len);

#endif
