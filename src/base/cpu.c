/*
 * cpu.c: run-time detection of the CPU model and its SIMD features (cpuid on x86).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
static uint64_t xgetbv0(void)
{
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}
#endif

static lg_cpu_features features;
static int detected;

static void detect(void)
{
    memset(&features, 0, sizeof(features));
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    features.num_cores = n > 0 ? (int)n : 1;
    snprintf(features.model, sizeof(features.model), "unknown");
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        features.sse41 = (c >> 19) & 1;
        bool osxsave = (c >> 27) & 1;
        bool ymm = osxsave && (xgetbv0() & 6) == 6;
        bool zmm = osxsave && (xgetbv0() & 0xe6) == 0xe6;
        features.avx = ymm && ((c >> 28) & 1);
        features.fma = ymm && ((c >> 12) & 1);
        features.f16c = ymm && ((c >> 29) & 1);
        if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
            features.avx2 = ymm && ((b >> 5) & 1);
            features.avx512f = zmm && ((b >> 16) & 1);
            features.avx512bw = zmm && ((b >> 30) & 1);
            features.avx512vl = zmm && ((b >> 31) & 1);
        }
        if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) features.avx_vnni = ymm && ((a >> 4) & 1);
    }
    unsigned brand[12];
    if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
        for (unsigned i = 0; i < 3; i++)
            __get_cpuid(0x80000002 + i, &brand[i * 4], &brand[i * 4 + 1], &brand[i * 4 + 2], &brand[i * 4 + 3]);
        char s[49];
        memcpy(s, brand, 48);
        s[48] = 0;
        char *p = s;
        while (*p == ' ') p++;
        size_t len = strlen(p);
        while (len > 0 && p[len - 1] == ' ') p[--len] = 0;
        snprintf(features.model, sizeof(features.model), "%s", p);
    }
#elif defined(__aarch64__)
    features.neon = true;
#endif
    const char *force = getenv("LEGACYGPU_SIMD");
    if (force && strcmp(force, "avx2") == 0) /* cap at AVX2: tests both kernel paths */
        features.avx512f = features.avx512bw = features.avx512vl = false;
    if (force && strcmp(force, "none") == 0) {
        char model[128];
        int cores = features.num_cores;
        memcpy(model, features.model, sizeof(model));
        memset(&features, 0, sizeof(features));
        memcpy(features.model, model, sizeof(model));
        features.num_cores = cores;
    }
}

const lg_cpu_features *lg_cpu(void)
{
    if (!__atomic_load_n(&detected, __ATOMIC_ACQUIRE)) {
        detect();
        __atomic_store_n(&detected, 1, __ATOMIC_RELEASE);
    }
    return &features;
}

void lg_cpu_simd_string(char *buf, int len)
{
    const lg_cpu_features *f = lg_cpu();
    static const struct {
        size_t off;
        const char *name;
    } names[] = {
        { offsetof(lg_cpu_features, sse41), "sse4.1" },   { offsetof(lg_cpu_features, avx), "avx" },
        { offsetof(lg_cpu_features, avx2), "avx2" },       { offsetof(lg_cpu_features, fma), "fma" },
        { offsetof(lg_cpu_features, f16c), "f16c" },       { offsetof(lg_cpu_features, avx512f), "avx512f" },
        { offsetof(lg_cpu_features, avx512bw), "avx512bw" }, { offsetof(lg_cpu_features, avx_vnni), "avx-vnni" },
        { offsetof(lg_cpu_features, neon), "neon" },
    };
    int o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (*(const bool *)((const char *)f + names[i].off) && o < len)
            o += snprintf(buf + o, (size_t)(len - o), o ? " %s" : "%s", names[i].name);
    }
    if (!buf[0]) snprintf(buf, (size_t)len, "none");
}
