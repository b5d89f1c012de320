/*
 * compare.c: tensor comparison with tolerances for conformance tests.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/tensor_impl.h"
#include "cli/compare.h"

bool lg_tensor_compare(const lg_tensor *got, const lg_tensor *ref, double atol, double rtol, lg_compare_result *r)
{
    char a[256], b[256];
    memset(r, 0, sizeof(*r));
    r->worst_index = -1;
    if (got->dtype != ref->dtype) {
        snprintf(r->message, sizeof(r->message), "dtype %s, expected %s", lg_dtype_name(got->dtype), lg_dtype_name(ref->dtype));
        return false;
    }
    if (!lg_dims_equal(got->ndim, got->dims, ref->ndim, ref->dims)) {
        snprintf(r->message, sizeof(r->message), "shape %s, expected %s", lg_dims_str(got->ndim, got->dims, a, sizeof(a)),
                 lg_dims_str(ref->ndim, ref->dims, b, sizeof(b)));
        return false;
    }
    int64_t n = lg_tensor_numel_(ref);
    if (lg_dtype_is_container(ref->dtype)) { /* sequences, optionals: element by element */
        for (int64_t i = 0; i < n; i++) {
            const lg_tensor *x = ((lg_tensor *const *)got->data)[i], *y = ((lg_tensor *const *)ref->data)[i];
            if (!x || !y || !lg_tensor_compare(x, y, atol, rtol, r)) {
                char inner[sizeof(r->message)];
                snprintf(inner, sizeof(inner), "%s", x && y ? r->message : "missing element");
                snprintf(r->message, sizeof(r->message), "element %lld: %s", (long long)i, inner);
                if (!r->mismatches) r->mismatches = 1;
                return false;
            }
        }
        memset(r, 0, sizeof(*r));
        r->worst_index = -1;
        return true;
    }
    if (ref->dtype == LG_STRING) {
        for (int64_t i = 0; i < n; i++) {
            const char *x = ((char **)got->data)[i], *y = ((char **)ref->data)[i];
            if (strcmp(x ? x : "", y ? y : "") != 0) {
                if (!r->mismatches++) {
                    r->worst_index = i;
                    snprintf(r->message, sizeof(r->message), "string [%lld] is \"%.60s\", expected \"%.60s\"", (long long)i, x ? x : "", y ? y : "");
                }
            }
        }
        return r->mismatches == 0;
    }
    bool is_float = lg_dtype_is_float(ref->dtype);
    double worst_got = 0, worst_ref = 0;
    for (int64_t i = 0; i < n; i++) {
        if (is_float) {
            double x = lg_tensor_get_f64(got, i), y = lg_tensor_get_f64(ref, i);
            if (isnan(y) && isnan(x)) continue;
            if (isinf(y) && x == y) continue;
            double err = fabs(x - y);
            if (isnan(err)) err = INFINITY;
            if (err > atol + rtol * fabs(y)) {
                r->mismatches++;
                if (err > r->max_abs_err || r->worst_index < 0) {
                    r->max_abs_err = err;
                    r->worst_index = i;
                    worst_got = x;
                    worst_ref = y;
                }
            }
        } else {
            int64_t x = lg_tensor_get_i64(got, i), y = lg_tensor_get_i64(ref, i);
            if (x != y) {
                if (!r->mismatches++) {
                    r->worst_index = i;
                    snprintf(r->message, sizeof(r->message), "element %lld is %lld, expected %lld", (long long)i, (long long)x, (long long)y);
                }
            }
        }
    }
    if (r->mismatches && is_float) {
        snprintf(r->message, sizeof(r->message), "max abs error %.3g at flat index %lld (got %.9g, expected %.9g); %lld of %lld elements off",
                 r->max_abs_err, r->worst_index, worst_got, worst_ref, r->mismatches, (long long)n);
    } else if (r->mismatches) {
        size_t l = strlen(r->message);
        snprintf(r->message + l, sizeof(r->message) - l, " (%lld of %lld elements differ)", r->mismatches, (long long)n);
    }
    return r->mismatches == 0;
}
