/*
 * error.c: status code texts and the per-thread detailed error message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

static _Thread_local char last_msg[2048];

static const struct {
    int code;
    const char *name;
    const char *text;
} codes[] = {
    { LG_OK, "LG_OK", "success" },
    { LG_E_NOMEM, "LG_E_NOMEM", "out of memory" },
    { LG_E_INVALID_ARG, "LG_E_INVALID_ARG", "invalid argument" },
    { LG_E_IO, "LG_E_IO", "input/output error" },
    { LG_E_PARSE, "LG_E_PARSE", "malformed file" },
    { LG_E_INVALID_MODEL, "LG_E_INVALID_MODEL", "invalid model" },
    { LG_E_UNSUPPORTED, "LG_E_UNSUPPORTED", "unsupported" },
    { LG_E_SHAPE, "LG_E_SHAPE", "shape or type mismatch" },
    { LG_E_NOT_FOUND, "LG_E_NOT_FOUND", "not found" },
    { LG_E_RUNTIME, "LG_E_RUNTIME", "runtime error" },
    { LG_E_DYNAMIC, "LG_E_DYNAMIC", "shape depends on data" },
    { LG_E_IMAGE, "LG_E_IMAGE", "bad image" },
    { LG_E_LIMIT, "LG_E_LIMIT", "size limit exceeded" },
    { LG_E_DEVICE, "LG_E_DEVICE", "device error" },
};

const char *lg_strerror(int status)
{
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (codes[i].code == status) return codes[i].text;
    return "unknown error";
}

const char *lg_err_name(int status)
{
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (codes[i].code == status) return codes[i].name;
    return "LG_E_UNKNOWN";
}

const char *lg_last_error(void) { return last_msg; }

void lg_error_clear(void) { last_msg[0] = 0; }

int (lg_error)(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
    va_end(ap);
    return code;
}

int lg_error_prefix(int code, const char *fmt, ...)
{
    char prefix[1024], old[sizeof(last_msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, last_msg, sizeof(old));
    if (old[0])
        snprintf(last_msg, sizeof(last_msg), "%s: %s", prefix, old);
    else
        snprintf(last_msg, sizeof(last_msg), "%s: %s", prefix, lg_strerror(code));
    return code;
}

void lg_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "legacygpu: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
