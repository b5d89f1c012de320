/*
 * cpu_backend.c: the CPU backend's entry in the backend table: one device (this CPU),
 * every op through the registry of the ops/ tables.
 */
#include <stdio.h>

#include "backends/cpu/registry.h"
#include "legacygpu/system.h"
#include "runtime/backend.h"

static int cpu_device_count(void) { return 1; }

static int cpu_device_name(int dev, char *buf, int len)
{
    (void)dev;
    lg_system_info si;
    lg_system_info_get(&si);
    snprintf(buf, (size_t)len, "%s (%d threads)", si.cpu_model, si.num_cores);
    return LG_OK;
}

const lg_backend_i lg_backend_cpu = {
    .name = "cpu",
    .is_host = true,
    .device_count = cpu_device_count,
    .device_name = cpu_device_name,
    .find_op = lg_registry_find,
};
