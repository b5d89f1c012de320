/*
 * ml_encode.c: the ai.onnx.ml encoders that map values to values: LabelEncoder (opset 1's
 * classes_strings; opset 2's keys_<type> and values_<type> lists; opset 4's keys/values/default tensors),
 * CategoryMapper (strings <-> int64 both ways) and OneHotEncoder (a category per column).
 * The key tables are sorted once in prepare; each element is a binary search.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/ml_common.h"

typedef enum { KEY_STRING, KEY_INT, KEY_FLOAT } key_kind;

typedef struct entry {
    const char *s;
    int64_t i;
    double d;
    int idx; /* position in values */
} entry;

/* One direction of a mapping: sorted keys -> values[idx], else def. */
typedef struct lookup {
    key_kind kind;
    int n;
    entry *keys;
    lg_tensor *values, *def;
    lg_tensor *key_data; /* owns the key strings the entries point at */
} lookup;

typedef struct enc {
    lookup dir[2]; /* LabelEncoder v1 / CategoryMapper: [0] from strings, [1] from integers */
    int n_dir;
    bool zeros;    /* OneHotEncoder: unknown categories give zeros (else an error) */
} enc;

static void lookup_free(lookup *l)
{
    free(l->keys);
    lg_tensor_free(l->values);
    lg_tensor_free(l->def);
    lg_tensor_free(l->key_data);
}

static void enc_release(void *p)
{
    enc *e = p;
    if (!e) return;
    for (int i = 0; i < e->n_dir; i++) lookup_free(&e->dir[i]);
    free(e);
}

static key_kind key_kind_of(lg_dtype dt)
{
    if (dt == LG_STRING) return KEY_STRING;
    return lg_dtype_is_float(dt) ? KEY_FLOAT : KEY_INT;
}

static int cmp_entry_kind(const entry *a, const entry *b, key_kind k)
{
    if (k == KEY_STRING) return strcmp(a->s, b->s);
    if (k == KEY_INT) return a->i < b->i ? -1 : a->i > b->i;
    if (isnan(a->d) || isnan(b->d)) return isnan(a->d) - isnan(b->d); /* NaN sorts last and matches NaN */
    return a->d < b->d ? -1 : a->d > b->d;
}
static int cmp_s(const void *a, const void *b) { return cmp_entry_kind(a, b, KEY_STRING); }
static int cmp_i(const void *a, const void *b) { return cmp_entry_kind(a, b, KEY_INT); }
static int cmp_f(const void *a, const void *b) { return cmp_entry_kind(a, b, KEY_FLOAT); }
static int (*const cmp_for[])(const void *, const void *) = { cmp_s, cmp_i, cmp_f };

/* A 1-D tensor of n values from an attribute list (strings, ints or floats). */
static int list_tensor(lg_dtype dt, int n, char *const *s, const int64_t *i, const float *f, lg_tensor **out)
{
    int64_t dims[1] = { n };
    LG_CHECK(lg_tensor_create(dt, 1, dims, out));
    for (int k = 0; k < n; k++) {
        if (dt == LG_STRING) {
            char *c = strdup(s ? s[k] : "");
            if (!c) return lg_error(LG_E_NOMEM, "out of memory");
            ((char **)lg_tensor_data(*out))[k] = c;
        } else if (dt == LG_INT64) {
            ((int64_t *)lg_tensor_data(*out))[k] = i ? i[k] : k;
        } else {
            ((float *)lg_tensor_data(*out))[k] = f[k];
        }
    }
    return LG_OK;
}

/* Keys from a tensor; their count must equal values'. */
static int lookup_keys(lookup *l, const lg_tensor *key_src, const char *what)
{
    LG_CHECK(lg_tensor_clone(key_src, &l->key_data));
    const lg_tensor *keys = l->key_data;
    l->n = (int)lg_tensor_numel_(keys);
    l->kind = key_kind_of(keys->dtype);
    if (l->values && lg_tensor_numel_(l->values) != l->n)
        return lg_error(LG_E_INVALID_MODEL, "%s has %d keys but %lld values; they must match", what, l->n,
                        (long long)lg_tensor_numel_(l->values));
    l->keys = calloc((size_t)l->n + 1, sizeof(entry));
    if (!l->keys) return lg_error(LG_E_NOMEM, "out of memory");
    for (int k = 0; k < l->n; k++) {
        entry *e = &l->keys[k];
        e->idx = k;
        if (l->kind == KEY_STRING) e->s = ((char *const *)keys->data)[k];
        else if (l->kind == KEY_INT) e->i = lg_tensor_get_i64(keys, k);
        else e->d = lg_tensor_get_f64(keys, k);
    }
    qsort(l->keys, (size_t)l->n, sizeof(entry), cmp_for[l->kind]);
    for (int k = 1; k < l->n; k++)
        if (cmp_for[l->kind](&l->keys[k - 1], &l->keys[k]) == 0)
            return lg_error(LG_E_INVALID_MODEL, "%s has the same key twice (keys %d and %d)", what, l->keys[k - 1].idx, l->keys[k].idx);
    return LG_OK;
}

/* Index into values of element i of x, or -1. */
static int lookup_find(const lookup *l, const lg_tensor *x, int64_t i)
{
    entry e = { 0 };
    if (l->kind == KEY_STRING) e.s = ((char *const *)x->data)[i] ? ((char *const *)x->data)[i] : "";
    else if (l->kind == KEY_INT) e.i = lg_tensor_get_i64(x, i);
    else e.d = lg_tensor_get_f64(x, i);
    const entry *r = bsearch(&e, l->keys, (size_t)l->n, sizeof(entry), cmp_for[l->kind]);
    return r ? r->idx : -1;
}

static int copy_elem(lg_tensor *y, int64_t i, const lg_tensor *src, int64_t k)
{
    if (y->dtype == LG_STRING) {
        char **d = y->data;
        free(d[i]);
        d[i] = strdup(((char *const *)src->data)[k]);
        return d[i] ? LG_OK : lg_error(LG_E_NOMEM, "out of memory");
    }
    size_t sz = lg_dtype_size(y->dtype);
    memcpy((char *)y->data + (size_t)i * sz, (const char *)src->data + (size_t)k * sz, sz);
    return LG_OK;
}

/* ---- LabelEncoder ---- */

typedef struct typed_list {
    const char *suffix;
    lg_dtype dt;
} typed_list;
static const typed_list lists[] = { { "strings", LG_STRING }, { "int64s", LG_INT64 }, { "floats", LG_FLOAT } };

/* keys_<t> / values_<t> attribute (or the _tensor form) as a tensor. */
static int attr_list(const lg_node *n, const char *prefix, lg_tensor **out)
{
    char name[64];
    snprintf(name, sizeof(name), "%s_tensor", prefix);
    const lg_tensor *t = lg_attr_tensor(n, name);
    if (t) return lg_tensor_clone(t, out);
    for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
        snprintf(name, sizeof(name), "%s_%s", prefix, lists[k].suffix);
        const lg_attr *a = lg_node_attr(n, name);
        if (a) return list_tensor(lists[k].dt, a->n, a->strings, a->ints, a->floats, out);
    }
    return lg_error(LG_E_INVALID_MODEL, "none of %s_strings, %s_int64s, %s_floats, %s_tensor is set", prefix, prefix, prefix, prefix);
}

static int default_for(const lg_node *n, lg_dtype dt, lg_tensor **out)
{
    const lg_tensor *t = lg_attr_tensor(n, "default_tensor");
    if (t) {
        if (t->dtype != dt || lg_tensor_numel_(t) != 1)
            return lg_error(LG_E_INVALID_MODEL, "default_tensor must be one %s value", lg_dtype_name(dt));
        return lg_tensor_clone(t, out);
    }
    const char *s = lg_attr_string(n, "default_string", "_Unused");
    int64_t i = lg_attr_int(n, "default_int64", -1);
    float f = lg_attr_float(n, "default_float", -0.0f);
    if (dt != LG_STRING && dt != LG_INT64 && dt != LG_FLOAT)
        return lg_error(LG_E_INVALID_MODEL, "values of dtype %s need a default_tensor", lg_dtype_name(dt));
    return list_tensor(dt, 1, (char *const[]){ (char *)s }, &i, &f, out);
}

static int le_build(const lg_node *n, int opset, enc **out)
{
    enc *e = calloc(1, sizeof(*e));
    if (!e) return lg_error(LG_E_NOMEM, "out of memory");
    int rc = LG_OK;
    lg_tensor *keys = NULL;
    if (opset == 1) { /* classes_strings: string -> its index, index -> string */
        int nc = 0;
        char *const *cls = lg_attr_strings(n, "classes_strings", &nc);
        e->n_dir = 2;
        rc = list_tensor(LG_STRING, nc, cls, NULL, NULL, &keys);
        if (rc == LG_OK) rc = list_tensor(LG_INT64, nc, NULL, NULL, NULL, &e->dir[0].values);
        if (rc == LG_OK) rc = lookup_keys(&e->dir[0], keys, "classes_strings");
        if (rc == LG_OK) rc = default_for(n, LG_INT64, &e->dir[0].def);
        lg_tensor *idx = NULL;
        if (rc == LG_OK) rc = list_tensor(LG_INT64, nc, NULL, NULL, NULL, &idx);
        if (rc == LG_OK) rc = lg_tensor_clone(keys, &e->dir[1].values);
        if (rc == LG_OK) rc = lookup_keys(&e->dir[1], idx, "classes_strings");
        if (rc == LG_OK) rc = default_for(n, LG_STRING, &e->dir[1].def);
        lg_tensor_free(idx);
    } else {
        e->n_dir = 1;
        rc = attr_list(n, "values", &e->dir[0].values);
        if (rc == LG_OK) rc = attr_list(n, "keys", &keys);
        if (rc == LG_OK) rc = lookup_keys(&e->dir[0], keys, "keys");
        if (rc == LG_OK) rc = default_for(n, e->dir[0].values->dtype, &e->dir[0].def);
    }
    lg_tensor_free(keys);
    if (rc != LG_OK) {
        enc_release(e);
        return rc;
    }
    *out = e;
    return LG_OK;
}

static int cm_build(const lg_node *n, int opset, enc **out)
{
    (void)opset;
    enc *e = calloc(1, sizeof(*e));
    if (!e) return lg_error(LG_E_NOMEM, "out of memory");
    int ns = 0, ni = 0;
    char *const *s = lg_attr_strings(n, "cats_strings", &ns);
    const int64_t *iv = lg_attr_ints(n, "cats_int64s", &ni);
    lg_tensor *ks = NULL, *ki = NULL;
    e->n_dir = 2;
    int rc = lg_ml_check_len("cats_strings", ns, "cats_int64s", ni);
    if (rc == LG_OK) rc = list_tensor(LG_STRING, ns, s, NULL, NULL, &ks);
    if (rc == LG_OK) rc = list_tensor(LG_INT64, ni, NULL, iv, NULL, &ki);
    if (rc == LG_OK) rc = lg_tensor_clone(ki, &e->dir[0].values);
    if (rc == LG_OK) rc = lookup_keys(&e->dir[0], ks, "cats_strings");
    if (rc == LG_OK) rc = lg_tensor_clone(ks, &e->dir[1].values);
    if (rc == LG_OK) rc = lookup_keys(&e->dir[1], ki, "cats_int64s");
    if (rc == LG_OK) rc = default_for(n, LG_INT64, &e->dir[0].def);
    if (rc == LG_OK) rc = default_for(n, LG_STRING, &e->dir[1].def);
    lg_tensor_free(ks);
    lg_tensor_free(ki);
    if (rc != LG_OK) {
        enc_release(e);
        return rc;
    }
    *out = e;
    return LG_OK;
}

static int le_prepare(lg_kctx *c, void **st) { return le_build(c->node, c->opset, (enc **)st); }
static int cm_prepare(lg_kctx *c, void **st) { return cm_build(c->node, c->opset, (enc **)st); }

/* The direction whose keys match X's type. */
static int pick(const enc *e, const lg_tensor *x, const lookup **out)
{
    key_kind k = key_kind_of(x->dtype);
    for (int i = 0; i < e->n_dir; i++)
        if (e->dir[i].kind == k || (e->dir[i].kind == KEY_FLOAT && k == KEY_INT && e->n_dir == 1)) {
            *out = &e->dir[i];
            return LG_OK;
        }
    return lg_error(LG_E_SHAPE, "X has dtype %s, which does not match the type of the keys", lg_dtype_name(x->dtype));
}

typedef int (*build_fn)(const lg_node *n, int opset, enc **out);

static int map_run(lg_kctx *c, build_fn build, bool exec)
{
    const lg_tensor *x = c->inputs[0];
    enc *e = c->state;
    if (!e) LG_CHECK(build(c->node, c->opset, &e));
    const lookup *l = NULL;
    int rc = pick(e, x, &l);
    if (rc == LG_OK && !exec) rc = lg_kout_shape(c, 0, l->values->dtype, x->ndim, x->dims);
    if (rc == LG_OK && exec) {
        lg_tensor *y = lg_kout_alloc(c, 0, l->values->dtype, x->ndim, x->dims);
        if (!y) rc = LG_E_NOMEM;
        for (int64_t i = 0, n = lg_tensor_numel_(x); i < n && rc == LG_OK; i++) {
            int k = lookup_find(l, x, i);
            rc = k >= 0 ? copy_elem(y, i, l->values, k) : copy_elem(y, i, l->def, 0);
        }
    }
    if (e != c->state) enc_release(e);
    return rc;
}

static int le_infer(lg_kctx *c) { return map_run(c, le_build, false); }
static int le_exec(lg_kctx *c) { return map_run(c, le_build, true); }
static int cm_infer(lg_kctx *c) { return map_run(c, cm_build, false); }
static int cm_exec(lg_kctx *c) { return map_run(c, cm_build, true); }

/* ---- OneHotEncoder: X[...] -> Y[..., categories] ---- */

static int ohe_build(const lg_node *n, int opset, enc **out)
{
    (void)opset;
    enc *e = calloc(1, sizeof(*e));
    if (!e) return lg_error(LG_E_NOMEM, "out of memory");
    int ns = 0, ni = 0, rc;
    char *const *s = lg_attr_strings(n, "cats_strings", &ns);
    const int64_t *iv = lg_attr_ints(n, "cats_int64s", &ni);
    lg_tensor *keys = NULL;
    e->n_dir = 1;
    e->zeros = lg_attr_int(n, "zeros", 1) != 0;
    if ((ns > 0) == (ni > 0)) rc = lg_error(LG_E_INVALID_MODEL, "exactly one of cats_strings and cats_int64s must be set");
    else rc = list_tensor(ns ? LG_STRING : LG_INT64, ns ? ns : ni, s, iv, NULL, &keys);
    if (rc == LG_OK) rc = lookup_keys(&e->dir[0], keys, ns ? "cats_strings" : "cats_int64s");
    lg_tensor_free(keys);
    if (rc != LG_OK) {
        enc_release(e);
        return rc;
    }
    *out = e;
    return LG_OK;
}

static int ohe_prepare(lg_kctx *c, void **st) { return ohe_build(c->node, c->opset, (enc **)st); }

static int ohe_run(lg_kctx *c, bool exec)
{
    const lg_tensor *x = c->inputs[0];
    enc *e = c->state;
    if (!e) LG_CHECK(ohe_build(c->node, c->opset, &e));
    const lookup *l = &e->dir[0];
    int rc = LG_OK;
    if (x->ndim >= LG_MAX_DIMS) rc = lg_error(LG_E_LIMIT, "X has rank %d", x->ndim);
    else if ((l->kind == KEY_STRING) != (x->dtype == LG_STRING))
        rc = lg_error(LG_E_SHAPE, "X has dtype %s but the categories are %s", lg_dtype_name(x->dtype),
                      l->kind == KEY_STRING ? "strings" : "int64");
    int64_t dims[LG_MAX_DIMS];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    dims[x->ndim] = l->n;
    if (rc == LG_OK && !exec) rc = lg_kout_shape(c, 0, LG_FLOAT, x->ndim + 1, dims);
    if (rc == LG_OK && exec) {
        lg_tensor *y = lg_kout_alloc(c, 0, LG_FLOAT, x->ndim + 1, dims);
        if (!y) rc = LG_E_NOMEM;
        for (int64_t i = 0, n = lg_tensor_numel_(x); i < n && rc == LG_OK; i++) {
            int k = lookup_find(l, x, i);
            if (k >= 0) ((float *)y->data)[i * l->n + k] = 1;
            else if (!e->zeros) rc = lg_error(LG_E_RUNTIME, "element %lld of X is not a known category (zeros=0)", (long long)i);
        }
    }
    if (e != c->state) enc_release(e);
    return rc;
}

static int ohe_infer(lg_kctx *c) { return ohe_run(c, false); }
static int ohe_exec(lg_kctx *c) { return ohe_run(c, true); }

const lg_op_def lg_ops_ml_encode[] = {
    { "LabelEncoder", "ai.onnx.ml", 1, 5, le_infer, le_exec, le_prepare, enc_release },
    { "CategoryMapper", "ai.onnx.ml", 1, 5, cm_infer, cm_exec, cm_prepare, enc_release },
    { "OneHotEncoder", "ai.onnx.ml", 1, 5, ohe_infer, ohe_exec, ohe_prepare, enc_release },
    { NULL },
};
