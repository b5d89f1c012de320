/*
 * system.c: machine facts for `legacygpu info`: CPU, SIMD, threads, memory, backends.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/cpu.h"
#include "base/error.h"
#include "legacygpu/system.h"

static uint64_t meminfo(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    size_t kl = strlen(key);
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            sscanf(line + kl + 1, "%llu", &kb);
            break;
        }
    fclose(f);
    return (uint64_t)kb * 1024;
}

int lg_system_info_get(lg_system_info *info)
{
    memset(info, 0, sizeof(*info));
    const lg_cpu_features *f = lg_cpu();
    snprintf(info->cpu_model, sizeof(info->cpu_model), "%s", f->model);
    lg_cpu_simd_string(info->simd, sizeof(info->simd));
    lg_cpu_flags_string(info->cpu_flags, sizeof(info->cpu_flags));
    snprintf(info->simd_path, sizeof(info->simd_path), "%s", lg_simd_name(lg_simd()));
    snprintf(info->simd_reason, sizeof(info->simd_reason), "%s", lg_simd_reason());
    info->num_cores = f->num_cores;
    info->num_threads = f->num_cores;
    info->mem_total = meminfo("MemTotal");
    info->mem_available = meminfo("MemAvailable");
    return LG_OK;
}
