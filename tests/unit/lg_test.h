/*
 * lg_test.h: shared helpers for the cmocka unit tests: temporary files, and checks
 * that a status code and its message are what a test expects.
 */
#ifndef LG_TEST_H
#define LG_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "legacygpu/legacygpu.h"

/* Writes len bytes to a new temporary file; returns its path (free it). */
static inline char *lg_test_tmpfile(const void *data, size_t len, const char *suffix)
{
    char *path = malloc(256);
    snprintf(path, 256, "/tmp/lg_test_XXXXXX%s", suffix ? suffix : "");
    int fd = mkstemps(path, suffix ? (int)strlen(suffix) : 0);
    assert_true(fd >= 0);
    if (len) assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

/* Asserts rc == want and that the last error message contains needle. */
#define assert_error(rc, want, needle) \
    do { \
        int rc_ = (rc); \
        if (rc_ != (want) || !strstr(lg_last_error(), (needle))) \
            fail_msg("status %s (want %s), message \"%s\" (want \"%s\")", lg_err_name(rc_), lg_err_name(want), \
                     lg_last_error(), (needle)); \
    } while (0)

#endif
