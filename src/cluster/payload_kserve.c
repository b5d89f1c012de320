/*
 * payload_kserve.c: KServe v2 JSON tensors. Parses request bodies into named tensors
 * (checking every field: shape, datatype, element types and ranges, element count) and
 * writes output tensors back as JSON with flat data.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/tensor_impl.h"
#include "cluster/payload_kserve.h"

#define MAX_INPUTS 256

typedef enum elem_kind { K_BOOL, K_INT, K_UINT, K_FLOAT, K_BYTES } elem_kind;

typedef struct datatype_def {
    const char *name;
    lg_dtype dt;
    elem_kind kind;
    int64_t lo;   /* K_INT: smallest value */
    uint64_t hi;  /* K_INT, K_UINT: largest value */
} datatype_def;

static const datatype_def datatypes[] = {
    { "BOOL", LG_BOOL, K_BOOL, 0, 1 },
    { "UINT8", LG_UINT8, K_UINT, 0, UINT8_MAX },
    { "UINT16", LG_UINT16, K_UINT, 0, UINT16_MAX },
    { "UINT32", LG_UINT32, K_UINT, 0, UINT32_MAX },
    { "UINT64", LG_UINT64, K_UINT, 0, UINT64_MAX },
    { "INT8", LG_INT8, K_INT, INT8_MIN, INT8_MAX },
    { "INT16", LG_INT16, K_INT, INT16_MIN, INT16_MAX },
    { "INT32", LG_INT32, K_INT, INT32_MIN, INT32_MAX },
    { "INT64", LG_INT64, K_INT, INT64_MIN, INT64_MAX },
    { "FP16", LG_FLOAT16, K_FLOAT, 0, 0 },
    { "BF16", LG_BFLOAT16, K_FLOAT, 0, 0 },
    { "FP32", LG_FLOAT, K_FLOAT, 0, 0 },
    { "FP64", LG_DOUBLE, K_FLOAT, 0, 0 },
    { "BYTES", LG_STRING, K_BYTES, 0, 0 },
};
#define N_DATATYPES (int)(sizeof(datatypes) / sizeof(datatypes[0]))

static const datatype_def *datatype_by_name(const char *name)
{
    for (int i = 0; i < N_DATATYPES; i++)
        if (!strcmp(datatypes[i].name, name)) return &datatypes[i];
    return NULL;
}

static const datatype_def *datatype_by_dtype(lg_dtype dt)
{
    for (int i = 0; i < N_DATATYPES; i++)
        if (datatypes[i].dt == dt) return &datatypes[i];
    return NULL;
}

const char *lg_kserve_datatype(lg_dtype dt)
{
    const datatype_def *d = datatype_by_dtype(dt);
    return d ? d->name : NULL;
}

/* ---- parsing --------------------------------------------------------------------- */

/* Walks one input's (possibly nested) data, checking and storing each element. */
typedef struct data_walk {
    const datatype_def *d;
    lg_tensor *t;   /* NULL: check only */
    int input;
    int64_t count, expect;
} data_walk;

static int leaf_error(const data_walk *w, const char *what)
{
    return lg_error(LG_E_INVALID_ARG, "inputs[%d].data[%lld]: %s for datatype %s", w->input, (long long)w->count,
                    what, w->d->name);
}

/* An integral JSON number (an integer, or a real without fraction) into *iv. */
static bool integral_value(json_t *v, int64_t *iv)
{
    if (json_is_integer(v)) {
        *iv = (int64_t)json_integer_value(v);
        return true;
    }
    if (!json_is_real(v)) return false;
    double x = json_real_value(v);
    if (x != floor(x) || !(x >= -9223372036854775808.0 && x < 9223372036854775808.0)) return false;
    *iv = (int64_t)x;
    return true;
}

static int store_leaf(data_walk *w, json_t *v)
{
    const datatype_def *d = w->d;
    int64_t i = w->count, iv = 0;
    switch (d->kind) {
    case K_BOOL:
        if (json_is_boolean(v)) iv = json_is_true(v);
        else if (!json_is_integer(v) || (json_integer_value(v) != 0 && json_integer_value(v) != 1))
            return leaf_error(w, "expected true, false, 0 or 1");
        else iv = json_integer_value(v);
        if (w->t) ((uint8_t *)w->t->data)[i] = (uint8_t)iv;
        return LG_OK;
    case K_INT:
    case K_UINT:
        if (!integral_value(v, &iv)) return leaf_error(w, "expected an integer");
        if (d->kind == K_INT ? (iv < d->lo || (iv > 0 && (uint64_t)iv > d->hi)) : (iv < 0 || (uint64_t)iv > d->hi)) {
            char what[96];
            snprintf(what, sizeof(what), "%lld is out of range", (long long)iv);
            return leaf_error(w, what);
        }
        if (!w->t) return LG_OK;
        if (d->dt == LG_INT64) ((int64_t *)w->t->data)[i] = iv;
        else if (d->dt == LG_UINT64) ((uint64_t *)w->t->data)[i] = (uint64_t)iv;
        else lg_tensor_set_f64(w->t, i, (double)iv);
        return LG_OK;
    case K_FLOAT:
        if (!json_is_number(v)) return leaf_error(w, "expected a number");
        if (w->t) lg_tensor_set_f64(w->t, i, json_number_value(v));
        return LG_OK;
    case K_BYTES:
        if (!json_is_string(v)) return leaf_error(w, "expected a string");
        if (w->t && !(((char **)w->t->data)[i] = strdup(json_string_value(v))))
            return lg_error(LG_E_NOMEM, "out of memory");
        return LG_OK;
    }
    return leaf_error(w, "unsupported");
}

static int walk_data(data_walk *w, json_t *v)
{
    if (json_is_array(v)) {
        size_t k;
        json_t *item;
        json_array_foreach(v, k, item) LG_CHECK(walk_data(w, item));
        return LG_OK;
    }
    if (w->count >= w->expect)
        return lg_error(LG_E_INVALID_ARG, "inputs[%d].data: more elements than the %lld its shape holds", w->input,
                        (long long)w->expect);
    LG_CHECK(store_leaf(w, v));
    w->count++;
    return LG_OK;
}

static int parse_shape(json_t *shape, int input, int *ndim, int64_t *dims)
{
    if (!shape) return lg_error(LG_E_INVALID_ARG, "inputs[%d].shape: missing", input);
    if (!json_is_array(shape)) return lg_error(LG_E_INVALID_ARG, "inputs[%d].shape: expected an array of integers", input);
    if (json_array_size(shape) > LG_MAX_DIMS)
        return lg_error(LG_E_INVALID_ARG, "inputs[%d].shape: %zu dimensions, at most %d", input, json_array_size(shape),
                        LG_MAX_DIMS);
    size_t k;
    json_t *d;
    json_array_foreach(shape, k, d) {
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return lg_error(LG_E_INVALID_ARG, "inputs[%d].shape[%zu]: expected a non-negative integer", input, k);
        dims[k] = (int64_t)json_integer_value(d);
    }
    *ndim = (int)json_array_size(shape);
    return LG_OK;
}

/* Checks input `index` (an object) and, when t is not NULL, builds its tensor. */
static int parse_input(json_t *in, int index, lg_tensor **t, char **name)
{
    if (!json_is_object(in)) return lg_error(LG_E_INVALID_ARG, "inputs[%d]: expected an object", index);
    json_t *jname = json_object_get(in, "name"), *jtype = json_object_get(in, "datatype");
    json_t *data = json_object_get(in, "data");
    if (jname && !json_is_null(jname) && !json_is_string(jname))
        return lg_error(LG_E_INVALID_ARG, "inputs[%d].name: expected a string", index);
    int ndim = 0;
    int64_t dims[LG_MAX_DIMS];
    LG_CHECK(parse_shape(json_object_get(in, "shape"), index, &ndim, dims));
    if (!jtype) return lg_error(LG_E_INVALID_ARG, "inputs[%d].datatype: missing", index);
    const datatype_def *d = json_is_string(jtype) ? datatype_by_name(json_string_value(jtype)) : NULL;
    if (!d)
        return lg_error(LG_E_INVALID_ARG, "inputs[%d].datatype: unknown datatype %s%s%s (expected BOOL, UINT8, "
                        "UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, BF16, FP32, FP64 or BYTES)", index,
                        json_is_string(jtype) ? "'" : "", json_is_string(jtype) ? json_string_value(jtype) : "(not a string)",
                        json_is_string(jtype) ? "'" : "");
    if (!data) return lg_error(LG_E_INVALID_ARG, "inputs[%d].data: missing", index);
    int64_t numel = lg_dims_numel_checked(ndim, dims);
    if (numel < 0 || (uint64_t)numel > LG_TENSOR_MAX_BYTES / lg_dtype_size(d->dt)) {
        char buf[256];
        return lg_error(LG_E_INVALID_ARG, "inputs[%d].shape: %s is too large", index, lg_dims_str(ndim, dims, buf, sizeof(buf)));
    }
    data_walk w = { d, NULL, index, 0, numel };
    if (t) LG_CHECK(lg_tensor_create(d->dt, ndim, dims, &w.t));
    int rc = walk_data(&w, data);
    if (rc == LG_OK && w.count != numel) {
        char buf[256];
        rc = lg_error(LG_E_INVALID_ARG, "inputs[%d].data: %lld elements, but shape %s holds %lld", index,
                      (long long)w.count, lg_dims_str(ndim, dims, buf, sizeof(buf)), (long long)numel);
    }
    if (rc == LG_OK && t && json_is_string(jname) && !(*name = strdup(json_string_value(jname))))
        rc = lg_error(LG_E_NOMEM, "out of memory");
    if (rc != LG_OK) {
        lg_tensor_free(w.t);
        return rc;
    }
    if (t) *t = w.t;
    return LG_OK;
}

static int parse_outputs(json_t *outs, lg_kserve_request *r)
{
    if (!outs || json_is_null(outs)) return LG_OK;
    if (!json_is_array(outs)) return lg_error(LG_E_INVALID_ARG, "outputs: expected an array of {\"name\": ...}");
    size_t k;
    json_t *o;
    json_array_foreach(outs, k, o) {
        json_t *name = json_object_get(o, "name");
        if (!json_is_string(name)) return lg_error(LG_E_INVALID_ARG, "outputs[%zu].name: expected a string", k);
    }
    if (!r || !json_array_size(outs)) return LG_OK;
    if (!(r->outputs = calloc(json_array_size(outs), sizeof(char *)))) return lg_error(LG_E_NOMEM, "out of memory");
    json_array_foreach(outs, k, o) {
        if (!(r->outputs[k] = strdup(json_string_value(json_object_get(o, "name")))))
            return lg_error(LG_E_NOMEM, "out of memory");
        r->n_outputs++;
    }
    return LG_OK;
}

/* Parses text; with r NULL only checks. */
static int parse_request(const char *text, size_t len, lg_kserve_request *r)
{
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return lg_error(LG_E_INVALID_ARG, "request body is not valid JSON: %s (line %d, column %d)", err.text,
                        err.line, err.column);
    json_t *inputs = json_object_get(root, "inputs");
    int rc = LG_OK;
    if (!json_is_object(root)) rc = lg_error(LG_E_INVALID_ARG, "request body: expected a JSON object with \"inputs\"");
    else if (!inputs) rc = lg_error(LG_E_INVALID_ARG, "inputs: missing (expected {\"inputs\": [{\"name\", \"shape\", "
                                    "\"datatype\", \"data\"}]})");
    else if (!json_is_array(inputs) || !json_array_size(inputs))
        rc = lg_error(LG_E_INVALID_ARG, "inputs: expected a non-empty array");
    else if (json_array_size(inputs) > MAX_INPUTS)
        rc = lg_error(LG_E_INVALID_ARG, "inputs: %zu inputs, at most %d", json_array_size(inputs), MAX_INPUTS);
    int n = rc == LG_OK ? (int)json_array_size(inputs) : 0;
    if (rc == LG_OK && r && (!(r->names = calloc((size_t)n, sizeof(char *))) ||
                             !(r->tensors = calloc((size_t)n, sizeof(lg_tensor *)))))
        rc = lg_error(LG_E_NOMEM, "out of memory");
    for (int i = 0; rc == LG_OK && i < n; i++) {
        rc = parse_input(json_array_get(inputs, (size_t)i), i, r ? &r->tensors[i] : NULL, r ? &r->names[i] : NULL);
        if (rc == LG_OK && r) r->n_inputs++;
    }
    if (rc == LG_OK) rc = parse_outputs(json_object_get(root, "outputs"), r);
    json_decref(root);
    return rc;
}

int lg_kserve_parse(const char *text, size_t len, lg_kserve_request *out)
{
    memset(out, 0, sizeof(*out));
    int rc = parse_request(text, len, out);
    if (rc != LG_OK) lg_kserve_request_free(out);
    return rc;
}

int lg_kserve_check(const char *text, size_t len) { return parse_request(text, len, NULL); }

void lg_kserve_request_free(lg_kserve_request *r)
{
    for (int i = 0; i < r->n_inputs; i++) {
        free(r->names[i]);
        lg_tensor_free(r->tensors[i]);
    }
    for (int i = 0; i < r->n_outputs; i++) free(r->outputs[i]);
    free(r->names);
    free(r->tensors);
    free(r->outputs);
    memset(r, 0, sizeof(*r));
}

/* ---- writing --------------------------------------------------------------------- */

static json_t *element_json(const datatype_def *d, const lg_tensor *t, int64_t i)
{
    const void *p = t->data;
    switch (d->kind) {
    case K_BOOL: return json_boolean(((const uint8_t *)p)[i]);
    case K_INT: return json_integer(lg_tensor_get_i64(t, i));
    case K_UINT:
        if (d->dt == LG_UINT64 && ((const uint64_t *)p)[i] > INT64_MAX) return json_real((double)((const uint64_t *)p)[i]);
        return json_integer(lg_tensor_get_i64(t, i));
    case K_FLOAT: {
        double v = lg_tensor_get_f64(t, i);
        return isfinite(v) ? json_real(v) : json_null();
    }
    case K_BYTES: return json_string(((char *const *)p)[i] ? ((char *const *)p)[i] : "");
    }
    return NULL;
}

json_t *lg_kserve_tensor_json(const char *name, const lg_tensor *t)
{
    const datatype_def *d = datatype_by_dtype(t->dtype);
    if (!d) return NULL;
    json_t *shape = json_array(), *data = json_array();
    json_t *o = json_pack("{s:s, s:o, s:s, s:o}", "name", name ? name : "", "shape", shape, "datatype", d->name,
                          "data", data);
    if (!o) return NULL;
    for (int k = 0; k < t->ndim; k++)
        if (json_array_append_new(shape, json_integer(t->dims[k]))) goto fail;
    int64_t n = lg_tensor_numel_(t);
    for (int64_t i = 0; i < n; i++)
        if (json_array_append_new(data, element_json(d, t, i))) goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}
