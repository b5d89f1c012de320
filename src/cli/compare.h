/*
 * compare.h: comparing a computed tensor with a reference, as `test-onnx` judges it:
 * floats pass when |got - ref| <= atol + rtol * |ref| (NaN matches NaN, inf matches the
 * same inf); integers, bools and strings must be equal; dtype and shape must match.
 *
 *   lg_compare_result r;
 *   if (!lg_tensor_compare(got, ref, 1e-4, 1e-3, &r)) printf("%s\n", r.message);
 */
#ifndef LG_COMPARE_H
#define LG_COMPARE_H

#include <stdbool.h>

#include "legacygpu/tensor.h"

typedef struct lg_compare_result {
    double max_abs_err;
    long long worst_index;
    long long mismatches;
    char message[512];
} lg_compare_result;

bool lg_tensor_compare(const lg_tensor *got, const lg_tensor *ref, double atol, double rtol, lg_compare_result *r);

#endif
