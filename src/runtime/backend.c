/*
 * backend.c: the table of backends compiled into this library, most capable first.
 */
#include <string.h>

#include "runtime/backend.h"

static const lg_backend_i *const backends[] = {
    &lg_backend_cpu, /* always last: it implements every op */
};

const lg_backend_i *const *lg_backends(int *count)
{
    *count = (int)(sizeof(backends) / sizeof(backends[0]));
    return backends;
}

const lg_backend_i *lg_backend_by_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof(backends) / sizeof(backends[0]); i++)
        if (!strcmp(backends[i]->name, name)) return backends[i];
    return NULL;
}
