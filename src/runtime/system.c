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
    info->num_cores = f->num_cores;
    info->num_threads = f->num_cores;
    info->mem_total = meminfo("MemTotal");
    info->mem_available = meminfo("MemAvailable");
    return LG_OK;
}

/* Backends built into this library. The Vulkan backend joins this table when built. */
static const struct {
    const char *name;
    int (*device_count)(void);
    int (*device_name)(int dev, char *buf, int len);
} backends[] = {
    { "cpu", NULL, NULL },
};

int lg_backend_count(void) { return (int)(sizeof(backends) / sizeof(backends[0])); }

const char *lg_backend_name(int i) { return (i >= 0 && i < lg_backend_count()) ? backends[i].name : NULL; }

int lg_backend_device_count(int i)
{
    if (i < 0 || i >= lg_backend_count()) return 0;
    return backends[i].device_count ? backends[i].device_count() : 1;
}

int lg_backend_device_name(int i, int dev, char *buf, int len)
{
    if (i < 0 || i >= lg_backend_count()) return lg_error(LG_E_INVALID_ARG, "no backend %d", i);
    if (backends[i].device_name) return backends[i].device_name(dev, buf, len);
    lg_system_info si;
    lg_system_info_get(&si);
    snprintf(buf, (size_t)len, "%s (%d threads)", si.cpu_model, si.num_cores);
    return LG_OK;
}
