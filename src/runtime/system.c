/*
 * system.c: machine facts for `legacygpu info`: CPU, SIMD, threads, memory, backends.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/cpu.h"
#include "base/error.h"
#include "legacygpu/system.h"
#include "runtime/backend.h"

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

/* The backends built into this library (runtime/backend.c). */
int lg_backend_count(void)
{
    int n;
    lg_backend_registry(&n);
    return n;
}

const char *lg_backend_name(int i)
{
    int n;
    const lg_backend_i *const *all = lg_backend_registry(&n);
    return (i >= 0 && i < n) ? all[i]->name : NULL;
}

int lg_backend_device_count(int i)
{
    int n;
    const lg_backend_i *const *all = lg_backend_registry(&n);
    return (i >= 0 && i < n) ? all[i]->device_count() : 0;
}

int lg_backend_device_name(int i, int dev, char *buf, int len)
{
    int n;
    const lg_backend_i *const *all = lg_backend_registry(&n);
    if (i < 0 || i >= n) return lg_error(LG_E_INVALID_ARG, "no backend %d", i);
    if (dev < 0 || dev >= all[i]->device_count())
        return lg_error(LG_E_INVALID_ARG, "backend %s has no device %d", all[i]->name, dev);
    return all[i]->device_name(dev, buf, len);
}
