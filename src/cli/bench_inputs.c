/*
 * bench_inputs.c: the inputs `legacygpu bench` feeds a model (see bench_inputs.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "cli/bench_inputs.h"

/* Default size of a symbolic dimension that is not the batch (a sequence length). */
#define DEFAULT_DIM 32

/* The value of symbolic dimension `name` from "NAME=N" specs, or -1. */
static int64_t dim_value(const char *name, int n_dims, char *const *dims)
{
    size_t len = name ? strlen(name) : 0;
    for (int i = 0; len && i < n_dims; i++)
        if (!strncmp(dims[i], name, len) && dims[i][len] == '=') return strtoll(dims[i] + len + 1, NULL, 10);
    return -1;
}

/* xorshift64: reproducible values, the same for every run and every build. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int fill(lg_tensor *t, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15u + 1;
    int64_t n = lg_tensor_numel(t);
    void *d = lg_tensor_data(t);
    switch (lg_tensor_dtype(t)) {
    case LG_FLOAT:
        for (int64_t i = 0; i < n; i++) ((float *)d)[i] = (float)(next_random(&s) >> 40) / (float)(1 << 23) - 1.0f;
        return LG_OK;
    case LG_DOUBLE:
        for (int64_t i = 0; i < n; i++) ((double *)d)[i] = (double)(next_random(&s) >> 40) / (double)(1 << 23) - 1.0;
        return LG_OK;
    case LG_INT64:
        for (int64_t i = 0; i < n; i++) ((int64_t *)d)[i] = (int64_t)(next_random(&s) % 16);
        return LG_OK;
    case LG_INT32:
        for (int64_t i = 0; i < n; i++) ((int32_t *)d)[i] = (int32_t)(next_random(&s) % 16);
        return LG_OK;
    case LG_UINT8:
    case LG_INT8:
        for (int64_t i = 0; i < n; i++) ((uint8_t *)d)[i] = (uint8_t)(next_random(&s) % 16);
        return LG_OK;
    case LG_BOOL:
        for (int64_t i = 0; i < n; i++) ((uint8_t *)d)[i] = (uint8_t)(next_random(&s) & 1);
        return LG_OK;
    default:
        return lg_error(LG_E_UNSUPPORTED, "cannot generate %s data; give the input with --input NAME=FILE",
                        lg_dtype_name(lg_tensor_dtype(t)));
    }
}

/* The file given for input `name`, or NULL. */
static const char *file_for(const char *name, int n_files, char *const *files)
{
    size_t len = strlen(name);
    for (int i = 0; i < n_files; i++)
        if (!strncmp(files[i], name, len) && files[i][len] == '=') return files[i] + len + 1;
    return NULL;
}

static void describe(lg_bench_inputs *in, const char *name, const lg_tensor *t, const char *how)
{
    size_t o = strlen(in->shapes);
    o += (size_t)snprintf(in->shapes + o, sizeof(in->shapes) - o, "%s%s [", o ? ", " : "", name);
    for (int d = 0; d < lg_tensor_ndim(t) && o < sizeof(in->shapes); d++)
        o += (size_t)snprintf(in->shapes + o, sizeof(in->shapes) - o, d ? ",%lld" : "%lld",
                              (long long)lg_tensor_dims(t)[d]);
    if (o < sizeof(in->shapes))
        snprintf(in->shapes + o, sizeof(in->shapes) - o, "] %s (%s)", lg_dtype_name(lg_tensor_dtype(t)), how);
}

static int make_one(const lg_value_info *vi, int index, int batch, int n_dims, char *const *dims, lg_tensor **out)
{
    if (vi->ndim < 0)
        return lg_error(LG_E_INVALID_ARG, "input '%s' has no declared rank; give it with --input %s=FILE", vi->name,
                        vi->name);
    int64_t shape[LG_MAX_DIMS];
    bool batch_used = false; /* the first symbolic dim without a --dim value is the batch */
    for (int d = 0; d < vi->ndim; d++) {
        shape[d] = vi->dims[d];
        if (shape[d] >= 0) continue;
        int64_t v = dim_value(vi->dim_names[d], n_dims, dims);
        if (v < 0) {
            v = batch_used ? DEFAULT_DIM : batch;
            batch_used = true;
        }
        shape[d] = v;
    }
    LG_CHECK(lg_tensor_create(vi->dtype, vi->ndim, shape, out));
    int rc = fill(*out, (uint64_t)index + 1);
    if (rc != LG_OK) {
        lg_tensor_free(*out);
        *out = NULL;
    }
    return rc;
}

int lg_bench_inputs_make(const lg_model *m, int batch, int n_dims, char *const *dims, int n_files,
                         char *const *files, lg_bench_inputs *out)
{
    memset(out, 0, sizeof(*out));
    int n = lg_model_num_inputs(m), rc = LG_OK;
    if (n > LG_BENCH_MAX_INPUTS) return lg_error(LG_E_LIMIT, "the model has %d inputs (at most %d)", n, LG_BENCH_MAX_INPUTS);
    for (int i = 0; i < n_files; i++) {
        const char *eq = strchr(files[i], '=');
        bool known = false;
        lg_value_info vi;
        for (int k = 0; eq && k < n; k++)
            if (lg_model_input_info(m, k, &vi) == LG_OK && strlen(vi.name) == (size_t)(eq - files[i]) &&
                !strncmp(vi.name, files[i], (size_t)(eq - files[i])))
                known = true;
        if (!known)
            return lg_error(LG_E_INVALID_ARG, "--input '%s': expected NAME=FILE with NAME an input of the model", files[i]);
    }
    for (int i = 0; i < n && rc == LG_OK; i++) {
        lg_value_info vi;
        if ((rc = lg_model_input_info(m, i, &vi)) != LG_OK) break;
        out->names[i] = strdup(vi.name);
        if (!out->names[i]) {
            rc = lg_error(LG_E_NOMEM, "out of memory");
            break;
        }
        out->n = i + 1;
        const char *file = file_for(vi.name, n_files, files);
        if (file) {
            rc = lg_tensor_read_file(file, &out->tensors[i], NULL);
            if (rc == LG_OK) describe(out, vi.name, out->tensors[i], file);
        } else {
            rc = make_one(&vi, i, batch, n_dims, dims, &out->tensors[i]);
            if (rc == LG_OK) describe(out, vi.name, out->tensors[i], "generated");
        }
    }
    if (rc != LG_OK) lg_bench_inputs_free(out);
    return rc;
}

void lg_bench_inputs_free(lg_bench_inputs *in)
{
    for (int i = 0; i < in->n; i++) {
        free(in->names[i]);
        lg_tensor_free(in->tensors[i]);
    }
    memset(in, 0, sizeof(*in));
}
