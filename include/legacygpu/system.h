/*
 * legacygpu/system.h: what the machine offers: CPU model, SIMD features the kernels use,
 * threads, memory, and the backends built into this library with their devices.
 *
 *   lg_system_info si;
 *   lg_system_info_get(&si);
 *   printf("%s, %d threads, simd: %s\n", si.cpu_model, si.num_threads, si.simd);
 *   for (int i = 0; i < lg_backend_count(); i++) printf("backend %s\n", lg_backend_name(i));
 */
#ifndef LEGACYGPU_SYSTEM_H
#define LEGACYGPU_SYSTEM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lg_system_info {
    char cpu_model[128];
    char simd[128];        /* features the kernels use, space-separated: "sse4.1 avx2 fma" */
    char cpu_flags[128];   /* SIMD features the CPU reports (before LEGACYGPU_SIMD) */
    char simd_path[16];    /* kernel path in use: "avx512", "avx2", "avx", "sse41" or "none" */
    char simd_reason[256]; /* why: the best the CPU offers, or the LEGACYGPU_SIMD cap */
    int num_cores;         /* online logical CPUs */
    int num_threads;       /* threads a session uses by default */
    uint64_t mem_total;    /* bytes */
    uint64_t mem_available;
} lg_system_info;

int lg_system_info_get(lg_system_info *info);

/* Backends compiled in ("cpu", "vulkan"), and their devices. */
int lg_backend_count(void);
const char *lg_backend_name(int i);
/* Number of devices the backend found (cpu: 1); device_name writes a description. */
int lg_backend_device_count(int i);
int lg_backend_device_name(int i, int dev, char *buf, int buflen);
/* Everything known about the device as JSON text (malloc'd; the caller frees), or NULL
 * for a backend without details (the CPU). Fields: docs/gpu.md. */
char *lg_backend_device_json(int i, int dev);
/* 1 when --backend auto may choose the device (software rasterisers only by name). */
int lg_backend_device_auto(int i, int dev);
/* 1 when spec names a backend this build has, as lg_session_options.backend takes it:
 * "auto", or a backend's name with an optional ":N" device index ("vulkan:1"). */
int lg_backend_spec_valid(const char *spec);
/* 1 for the host backend (the CPU), 0 for GPU backends. */
int lg_backend_is_host(int i);

#ifdef __cplusplus
}
#endif
#endif
