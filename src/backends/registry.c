/*
 * registry.c: the backends compiled into this library, most capable first, the CPU
 * last. A new backend adds its folder under backends/ and one line here; the runtime
 * knows only the interface (runtime/backend.h) and takes its backends from this list.
 */
#include <string.h>

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
