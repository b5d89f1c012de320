/*
 * cpu.c: run-time detection of the CPU model and its SIMD features (cpuid on x86), and
 * the choice of the kernels' SIMD path (cpu.h).
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

static lg_cpu_features features;  /* after the cap */
static lg_cpu_features detected_features; /* as the CPU reports them */
static lg_simd_level level, best;
static char reason[256];
static int detected;

static const char *const level_names[LG_SIMD_COUNT] = {
    [LG_SIMD_NONE] = "none", [LG_SIMD_SSE41] = "sse41", [LG_SIMD_AVX] = "avx",
    [LG_SIMD_AVX2] = "avx2", [LG_SIMD_AVX512] = "avx512",
};

static void detect_x86(lg_cpu_features *f)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        f->sse41 = (c >> 19) & 1;
        bool osxsave = (c >> 27) & 1;
        bool ymm = osxsave && (xgetbv0() & 6) == 6;
        bool zmm = osxsave && (xgetbv0() & 0xe6) == 0xe6;
        f->avx = ymm && ((c >> 28) & 1);
        f->fma = ymm && ((c >> 12) & 1);
        f->f16c = ymm && ((c >> 29) & 1);
        if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
            f->avx2 = ymm && ((b >> 5) & 1);
            f->avx512f = zmm && ((b >> 16) & 1);
            f->avx512bw = zmm && ((b >> 30) & 1);
            f->avx512vl = zmm && ((b >> 31) & 1);
        }
        if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) f->avx_vnni = ymm && ((a >> 4) & 1);
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
        snprintf(f->model, sizeof(f->model), "%s", p);
    }
#elif defined(__aarch64__)
    f->neon = true;
#endif
}

/* The best path the features allow (each level needs every one below it). */
static lg_simd_level best_level(const lg_cpu_features *f)
{
    if (!f->sse41) return LG_SIMD_NONE;
    if (!f->avx) return LG_SIMD_SSE41;
    if (!(f->avx2 && f->fma && f->f16c)) return LG_SIMD_AVX;
    if (!f->avx512f) return LG_SIMD_AVX2;
    return LG_SIMD_AVX512;
}

/* Clears the features above lvl, so checks of single features agree with the path. */
static void cap_features(lg_cpu_features *f, lg_simd_level lvl)
{
    if (lvl < LG_SIMD_AVX512) f->avx512f = f->avx512bw = f->avx512vl = false;
    if (lvl < LG_SIMD_AVX2) f->avx2 = f->fma = f->f16c = f->avx_vnni = false;
    if (lvl < LG_SIMD_AVX) f->avx = false;
    if (lvl < LG_SIMD_SSE41) f->sse41 = false;
}

static void apply_level(lg_simd_level lvl)
{
    level = lvl;
    features = detected_features;
    cap_features(&features, lvl);
}

static void detect(void)
{
    lg_cpu_features *f = &detected_features;
    memset(f, 0, sizeof(*f));
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    f->num_cores = n > 0 ? (int)n : 1;
    snprintf(f->model, sizeof(f->model), "unknown");
    detect_x86(f);
    best = best_level(f);
    lg_simd_level lvl = best;
    snprintf(reason, sizeof(reason), "the best this CPU offers");
    const char *force = getenv("LEGACYGPU_SIMD");
    if (force && *force) {
        int want = -1;
        for (int i = 0; i < LG_SIMD_COUNT; i++)
            if (!strcmp(force, level_names[i])) want = i;
        if (want < 0)
            snprintf(reason, sizeof(reason), "LEGACYGPU_SIMD=%.40s is not a path (avx512, avx2, avx, sse41, none): ignored",
                     force);
        else if (want > (int)best)
            snprintf(reason, sizeof(reason), "LEGACYGPU_SIMD=%s asked, but this CPU offers at most %s", level_names[want],
                     level_names[best]);
        else {
            lvl = (lg_simd_level)want;
            snprintf(reason, sizeof(reason), "LEGACYGPU_SIMD=%s (this CPU offers %s)", level_names[want],
                     level_names[best]);
        }
    }
    apply_level(lvl);
}

static void ensure_detected(void)
{
    if (!__atomic_load_n(&detected, __ATOMIC_ACQUIRE)) {
        detect();
        __atomic_store_n(&detected, 1, __ATOMIC_RELEASE);
    }
}

const lg_cpu_features *lg_cpu(void)
{
    ensure_detected();
    return &features;
}

lg_simd_level lg_simd(void)
{
    ensure_detected();
    return level;
}

lg_simd_level lg_simd_best(void)
{
    ensure_detected();
    return best;
}

const char *lg_simd_name(lg_simd_level lvl)
{
    return (int)lvl >= 0 && lvl < LG_SIMD_COUNT ? level_names[lvl] : "unknown";
}

const char *lg_simd_reason(void)
{
    ensure_detected();
    return reason;
}

lg_simd_level lg_simd_force(lg_simd_level lvl)
{
    ensure_detected();
    if ((int)lvl < 0) lvl = LG_SIMD_NONE;
    apply_level(lvl < best ? lvl : best);
    snprintf(reason, sizeof(reason), "set by the program to %s", level_names[level]);
    return level;
}

static void flags_string(const lg_cpu_features *f, char *buf, int len)
{
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

void lg_cpu_simd_string(char *buf, int len) { flags_string(lg_cpu(), buf, len); }

void lg_cpu_flags_string(char *buf, int len)
{
    ensure_detected();
    flags_string(&detected_features, buf, len);
}
