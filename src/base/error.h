/*
 * error.h: recording the detailed message of a failure for lg_last_error().
 *
 * The detector of an error calls lg_error(code, fmt, ...) once, with all the context it
 * has ("node 'conv_12' (Conv, opset 13): weight has 3 dims, expected 4"), and returns the
 * code; callers pass the code up unchanged. lg_error_prefix() lets an outer layer add the
 * context it alone knows (the file name) in front of the message.
 */
#ifndef LG_ERROR_H
#define LG_ERROR_H

#include "legacygpu/status.h"

#if defined(__GNUC__)
#define LG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LG_PRINTF(a, b)
#endif

/* Stores the message for this thread and returns code. */
int lg_error(int code, const char *fmt, ...) LG_PRINTF(2, 3);
/* The same, with the returned code visible to the compiler: after LG_CHECK(f(&out)) the
 * optimiser then knows every failing path of f returned a non-zero code, so it sees that
 * out is set on success (no "maybe uninitialized" at -O3). code is evaluated once. */
#define lg_error(code, ...)                        \
    __extension__({                                \
        int lg_error_code_ = (code);               \
        (lg_error)(lg_error_code_, __VA_ARGS__);   \
        lg_error_code_;                            \
    })
/* Prepends "prefix: " to the current message; returns code. */
int lg_error_prefix(int code, const char *fmt, ...) LG_PRINTF(2, 3);
void lg_error_clear(void);

/* Asserts that stay on in every build (tests rely on them). */
#define LG_ASSERT(cond) \
    ((cond) ? (void)0 : lg_assert_fail(#cond, __FILE__, __LINE__))
void lg_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

#define LG_CHECK(expr) \
    do { \
        int lg_rc_ = (expr); \
        if (lg_rc_ != LG_OK) return lg_rc_; \
    } while (0)

#endif
