/*
 * info_devices.c: the devices block of `legacygpu info` (text and --json): for every
 * device backend (Vulkan) every device's description (backend.h device_describe), and
 * which device `--backend auto` would choose.
 */
#include <stdio.h>
#include <string.h>

#include "cli/info_devices.h"
#include "runtime/backend.h"

json_t *lg_info_devices_json(void)
{
    json_t *devs = json_array();
    int n;
    const lg_backend_i *const *all = lg_backend_registry(&n);
    for (int b = 0; b < n; b++) {
        if (all[b]->is_host || !all[b]->device_describe) continue;
        for (int d = 0; d < all[b]->device_count(); d++) {
            json_t *j = all[b]->device_describe(d);
            if (!j) continue;
            json_object_set_new(j, "backend", json_string(all[b]->name));
            json_object_set_new(j, "auto", json_boolean(!all[b]->device_auto || all[b]->device_auto(d)));
            json_array_append_new(devs, j);
        }
    }
    return devs;
}

json_t *lg_info_auto_json(json_t *devices)
{
    size_t i;
    json_t *d;
    json_array_foreach(devices, i, d) {
        if (!json_is_true(json_object_get(d, "auto"))) continue;
        char name[64];
        snprintf(name, sizeof(name), "%s:%lld", json_string_value(json_object_get(d, "backend")),
                 (long long)json_integer_value(json_object_get(d, "index")));
        return json_string(name);
    }
    return json_string("cpu");
}

static const char *human(json_int_t bytes, char *buf, size_t len)
{
    if (bytes >= (1ll << 30)) snprintf(buf, len, "%.1f GiB", (double)bytes / (1ll << 30));
    else snprintf(buf, len, "%.1f MiB", (double)bytes / (1ll << 20));
    return buf;
}

static const char *str(json_t *d, const char *key)
{
    const char *s = json_string_value(json_object_get(d, key));
    return s ? s : "";
}

static json_int_t num(json_t *d, const char *key) { return json_integer_value(json_object_get(d, key)); }

static const char *yes(json_t *d, const char *key) { return json_is_true(json_object_get(d, key)) ? "yes" : "no"; }

void lg_info_devices_print(json_t *devices, json_t *auto_choice)
{
    size_t i, k;
    json_t *d, *x;
    char a[32], b[32];
    json_array_foreach(devices, i, d) {
        printf("device:   %s:%lld %s\n", str(d, "backend"), (long long)num(d, "index"), str(d, "name"));
        printf("  vendor:   %s (0x%04llx), device 0x%04llx, %s\n", str(d, "vendor"), (long long)num(d, "vendor_id"),
               (long long)num(d, "device_id"), str(d, "type"));
        printf("  driver:   %s %s (%s), Vulkan %s\n", str(d, "driver_name"), str(d, "driver_version"), str(d, "driver_info"),
               str(d, "api_version"));
        printf("  memory:   ");
        json_array_foreach(json_object_get(d, "heaps"), k, x)
            printf("heap %zu: %s%s; ", k, human(num(x, "bytes"), a, sizeof(a)),
                   json_is_true(json_object_get(x, "device_local")) ? " device-local" : "");
        printf("largest allocation %s, largest binding %s\n", human(num(d, "max_allocation_bytes"), a, sizeof(a)),
               human(num(d, "max_storage_buffer_range"), b, sizeof(b)));
        if (json_object_get(d, "memory_limit_bytes"))
            printf("  limit:    %s (LEGACYGPU_VK_MEM_LIMIT_MB)\n", human(num(d, "memory_limit_bytes"), a, sizeof(a)));
        json_t *sg = json_object_get(d, "subgroup_size");
        printf("  compute:  subgroup %lld..%lld, 16-bit storage %s, fp16 %s, int8 %s\n", (long long)num(sg, "min"),
               (long long)num(sg, "max"), yes(d, "storage16"), yes(d, "fp16"), yes(d, "int8"));
        printf("  arch:     %s, quirks:", str(d, "arch"));
        json_t *q = json_object_get(d, "quirks");
        json_array_foreach(q, k, x) printf("%s %s", k ? "," : "", json_string_value(x));
        printf("%s\n", json_array_size(q) ? "" : " none");
        if (!json_is_true(json_object_get(d, "auto")))
            printf("  auto:     not chosen by --backend auto (software device); ask for it: --backend %s:%lld\n",
                   str(d, "backend"), (long long)num(d, "index"));
    }
    printf("auto:     --backend auto runs on %s\n", json_string_value(auto_choice));
}
