/*
 * engine_opts.c: the options every command that runs a model shares: --backend,
 * --device and --precision, parsed and checked in one place.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int lg_cli_engine_opt(lg_cli_engine *e, int opt, const char *arg)
{
    switch (opt) {
    case LG_OPT_BACKEND:
        if (!lg_backend_spec_valid(arg)) {
            char names[256] = "auto";
            size_t o = strlen(names);
            for (int i = 0; i < lg_backend_count(); i++)
                o += (size_t)snprintf(names + o, sizeof(names) - o, ", %s", lg_backend_name(i));
            fprintf(stderr, "legacygpu: --backend expects one of %s (a GPU backend may add :N for device N), got '%s'\n",
                    names, arg);
            return LG_EXIT_USAGE;
        }
        e->backend = arg;
        return LG_EXIT_OK;
    case LG_OPT_DEVICE: return lg_cli_int("--device", arg, 0, 255, &e->device);
    case LG_OPT_PRECISION:
        if (!strcmp(arg, "fp32")) e->precision = 0;
        else if (!strcmp(arg, "fp16")) e->precision = 1;
        else {
            fprintf(stderr, "legacygpu: --precision expects fp32 or fp16, got '%s'\n", arg);
            return LG_EXIT_USAGE;
        }
        return LG_EXIT_OK;
    default: return LG_EXIT_USAGE;
    }
}

const char *lg_cli_engine_backend(lg_cli_engine *e, const char *dflt)
{
    const char *b = e->backend ? e->backend : dflt;
    if (e->device < 0) return b;
    /* --device N picks device N of the chosen GPU backend (of the first one for auto). */
    if (!strcmp(b, "auto")) {
        for (int i = 0; i < lg_backend_count(); i++)
            if (strcmp(lg_backend_name(i), "cpu")) {
                b = lg_backend_name(i);
                break;
            }
    }
    const char *colon = strchr(b, ':');
    size_t len = colon ? (size_t)(colon - b) : strlen(b);
    snprintf(e->buf, sizeof(e->buf), "%.*s:%d", (int)len, b, e->device);
    return e->buf;
}

void lg_cli_engine_apply(lg_cli_engine *e, const char *dflt, lg_session_options *so)
{
    so->backend = lg_cli_engine_backend(e, dflt);
    so->precision = e->precision;
}
