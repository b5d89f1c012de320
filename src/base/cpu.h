/*
 * cpu.h: CPU features detected at run time, and the SIMD path the kernels take.
 *
 * One binary runs everywhere: the library itself is compiled for baseline x86-64, and
 * the kernels in files ending _sse41.c, _avx.c, _avx2.c and _avx512.c are compiled for
 * their instruction set and called only when lg_simd() is at least that level:
 *
 *   static const kernel_fn by_level[LG_SIMD_COUNT] = {
 *       [LG_SIMD_NONE] = k_ref, [LG_SIMD_SSE41] = k_sse41, [LG_SIMD_AVX] = k_avx,
 *       [LG_SIMD_AVX2] = k_avx2, [LG_SIMD_AVX512] = k_avx512 };
 *   by_level[lg_simd()](...);
 *
 * The level is the best the CPU (and the OS's saved register state) offers, capped by
 * LEGACYGPU_SIMD=avx512|avx2|avx|sse41|none; features above the level read as absent
 * in lg_cpu(), so older checks such as lg_cpu()->avx2 agree with it.
 */
#ifndef LG_CPU_H
#define LG_CPU_H

#include <stdbool.h>

typedef struct lg_cpu_features {
    bool sse41, avx, avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx_vnni, neon;
    char model[128];
    int num_cores;
} lg_cpu_features;

/* Kernel paths, each a superset of the one before. */
typedef enum lg_simd_level {
    LG_SIMD_NONE = 0, /* portable C */
    LG_SIMD_SSE41,    /* SSE4.1: Nehalem, Westmere (2008-2010) */
    LG_SIMD_AVX,      /* AVX without FMA: Sandy Bridge, Ivy Bridge (Xeon E5 v1/v2) */
    LG_SIMD_AVX2,     /* AVX2 + FMA + F16C: Haswell and later, Zen */
    LG_SIMD_AVX512,   /* AVX-512F on top: Skylake-SP and later, Zen 4 */
    LG_SIMD_COUNT
} lg_simd_level;

/* Detected once, then cached; never NULL. */
const lg_cpu_features *lg_cpu(void);
/* The kernel path in use. */
lg_simd_level lg_simd(void);
/* "none", "sse41", "avx", "avx2", "avx512". */
const char *lg_simd_name(lg_simd_level level);
/* Why lg_simd() is what it is: "best this CPU offers (...)" or the LEGACYGPU_SIMD cap. */
const char *lg_simd_reason(void);
/* Tests: sets the path to min(level, what the CPU offers) for the whole process and
 * returns the level now in use. Not thread-safe against running kernels. */
lg_simd_level lg_simd_force(lg_simd_level level);
/* The best level this CPU offers, ignoring LEGACYGPU_SIMD. */
lg_simd_level lg_simd_best(void);
/* "sse4.1 avx avx2 fma f16c" (features in use, after the cap) */
void lg_cpu_simd_string(char *buf, int len);
/* The same for every feature the CPU reports, before the cap. */
void lg_cpu_flags_string(char *buf, int len);

#endif
