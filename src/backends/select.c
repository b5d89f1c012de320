/*
 * select.c: lg_session_create, the public entry: chooses the backends a session runs on
 * from its options ("cpu", "auto", "vulkan", "vulkan:N") among those compiled in
 * (registry.c), opens the device, and hands the set to the runtime
 * (lg_session_create_on). The runtime itself never looks at the registry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "legacygpu/engine.h"
#include "legacygpu/system.h"
#include "runtime/backend.h"

/* Parses "name" or "name:N". */
static const lg_backend_i *parse_backend(const char *want, int *dev, bool *explicit_dev)
{
    char name[32];
    const char *colon = strchr(want, ':');
    size_t len = colon ? (size_t)(colon - want) : strlen(want);
    *dev = 0;
    *explicit_dev = false;
    if (len >= sizeof(name)) return NULL;
    memcpy(name, want, len);
    name[len] = 0;
    if (colon) {
        char *end;
        long v = strtol(colon + 1, &end, 10);
        if (!colon[1] || *end || v < 0 || v > 255) return NULL;
        *dev = (int)v;
        *explicit_dev = true;
    }
    return lg_backend_find(name);
}

static int open_device(lg_backend_set *set, const lg_session_options *o, const lg_backend_i *b, int dev)
{
    lg_device_config cfg = { .precision = o->precision ? LG_PRECISION_FP16 : LG_PRECISION_FP32 };
    LG_CHECK(b->device_open(dev, &cfg, &set->device));
    set->dev_backend = b;
    set->dev_index = dev;
    return LG_OK;
}

/* "auto": the first device a device backend offers for automatic use (software
 * rasterisers only by name), else the host alone. */
static void choose_auto(lg_backend_set *set, const lg_session_options *o)
{
    int n;
    const lg_backend_i *const *all = lg_backend_registry(&n);
    for (int i = 0; i < n && !set->device; i++) {
        const lg_backend_i *b = all[i];
        if (b->is_host || !b->device_open) continue;
        int nd = b->device_count();
        for (int d = 0; d < nd && !set->device; d++) {
            if (b->device_auto && !b->device_auto(d)) continue;
            if (open_device(set, o, b, d) != LG_OK) {
                fprintf(stderr, "legacygpu: warning: %s device %d unusable (%s); trying the next\n", b->name, d,
                        lg_last_error());
                lg_error_clear();
            }
        }
    }
    set->dev_auto = true;
}

/* "cpu": the host alone; "vulkan" / "vulkan:N": that backend's device (0 by default),
 * with the host behind it for the nodes it lacks. */
static int choose(lg_backend_set *set, const lg_session_options *o)
{
    const char *want = o->backend && o->backend[0] ? o->backend : "cpu";
    memset(set, 0, sizeof(*set));
    set->host = lg_backend_host();
    if (!strcmp(want, "auto")) {
        choose_auto(set, o);
        return LG_OK;
    }
    int dev, n;
    bool explicit_dev;
    const lg_backend_i *b = parse_backend(want, &dev, &explicit_dev);
    if (!b) {
        const lg_backend_i *const *all = lg_backend_registry(&n);
        char names[256] = "auto";
        size_t k = strlen(names);
        for (int i = 0; i < n; i++) k += (size_t)snprintf(names + k, sizeof(names) - k, ", %s", all[i]->name);
        return lg_error(LG_E_UNSUPPORTED, "backend '%s' is not available in this build (available: %s)", want, names);
    }
    if (b->is_host) {
        if (explicit_dev && dev != 0) return lg_error(LG_E_NOT_FOUND, "backend '%s' has one device (0), not %d", b->name, dev);
        set->host = b;
        return LG_OK;
    }
    int nd = b->device_count();
    if (nd <= 0) return lg_error(LG_E_NOT_FOUND, "backend '%s': no device found on this machine", b->name);
    if (dev >= nd)
        return lg_error(LG_E_NOT_FOUND, "backend '%s': no device %d (this machine has %d: 0..%d)", b->name, dev, nd, nd - 1);
    return open_device(set, o, b, dev);
}

int lg_session_create(lg_model *m, const lg_session_options *opts, lg_session **out)
{
    if (!m || !out) return lg_error(LG_E_INVALID_ARG, "lg_session_create: NULL argument");
    lg_session_options o = { 0 };
    if (opts) o = *opts;
    lg_backend_set set;
    LG_CHECK(choose(&set, &o));
    return lg_session_create_on(m, &o, &set, out); /* owns set.device from here */
}

int lg_backend_spec_valid(const char *spec)
{
    int dev;
    bool explicit_dev;
    return spec && (!strcmp(spec, "auto") || parse_backend(spec, &dev, &explicit_dev) != NULL);
}
