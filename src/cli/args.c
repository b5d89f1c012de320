/*
 * args.c: parsing numeric command-line values, one clear message per bad value.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

int lg_cli_int(const char *flag, const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "legacygpu: %s expects an integer in %d..%d, got '%s'\n", flag, lo, hi, s);
        return LG_EXIT_USAGE;
    }
    *out = (int)v;
    return LG_EXIT_OK;
}

int lg_cli_number(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "legacygpu: %s expects a number in %g..%g, got '%s'\n", flag, lo, hi, s);
        return LG_EXIT_USAGE;
    }
    *out = v;
    return LG_EXIT_OK;
}
