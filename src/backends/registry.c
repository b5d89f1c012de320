/*
 * registry.c: the backends compiled into this library, most capable first, the CPU
 * last. A new backend adds its folder under backends/ and one line here; the runtime
 * knows only the interface (runtime/backend.h): select.c takes a session's backends from
 * this list. The public lg_backend_* queries of legacygpu/system.h are answered here.
 */
#include <string.h>

#include "base/error.h"
#include "legacygpu/system.h"

#include "runtime/backend.h"

extern const lg_backend_i lg_backend_cpu;
#ifdef LG_HAVE_VULKAN
extern const lg_backend_i lg_backend_vulkan;
#endif

static const lg_backend_i *const backends[] = {
#ifdef LG_HAVE_VULKAN
    &lg_backend_vulkan,
#endif
    &lg_backend_cpu, /* always last: it implements every op */
};

const lg_backend_i *const *lg_backend_registry(int *count)
{
    *count = (int)(sizeof(backends) / sizeof(backends[0]));
    return backends;
}

const lg_backend_i *lg_backend_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof(backends) / sizeof(backends[0]); i++)
        if (!strcmp(backends[i]->name, name)) return backends[i];
    return NULL;
}

const lg_backend_i *lg_backend_host(void) { return &lg_backend_cpu; }

/* The backends built into this library (above). */
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

static const lg_backend_i *backend_at(int i)
{
    int n;
    const lg_backend_i *const *all = lg_backend_registry(&n);
    return (i >= 0 && i < n) ? all[i] : NULL;
}

char *lg_backend_device_json(int i, int dev)
{
    const lg_backend_i *b = backend_at(i);
    if (!b || !b->device_describe || dev < 0 || dev >= b->device_count()) return NULL;
    json_t *j = b->device_describe(dev);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return text;
}

int lg_backend_device_auto(int i, int dev)
{
    const lg_backend_i *b = backend_at(i);
    if (!b || dev < 0 || dev >= b->device_count()) return 0;
    return b->is_host || !b->device_auto || b->device_auto(dev);
}

int lg_backend_is_host(int i)
{
    const lg_backend_i *b = backend_at(i);
    return b && b->is_host;
}
