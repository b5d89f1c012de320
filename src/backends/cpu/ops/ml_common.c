/*
 * ml_common.c: helpers shared by the ai.onnx.ml operators (see ml_common.h).
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/ml_common.h"

static const char *const post_names[] = { "NONE", "SOFTMAX", "LOGISTIC", "SOFTMAX_ZERO", "PROBIT" };

int lg_ml_post_parse(const char *s, lg_ml_post *out)
{
    for (int i = 0; i < (int)(sizeof(post_names) / sizeof(post_names[0])); i++)
        if (strcmp(s, post_names[i]) == 0) {
            *out = (lg_ml_post)i;
            return LG_OK;
        }
    return lg_error(LG_E_INVALID_MODEL, "post_transform '%s' is not one of NONE, SOFTMAX, LOGISTIC, SOFTMAX_ZERO, PROBIT", s);
}

int lg_ml_post_from_int(int64_t v, lg_ml_post *out)
{
    if (v < 0 || v > LG_ML_POST_PROBIT)
        return lg_error(LG_E_INVALID_MODEL, "post_transform %lld is outside 0..4 (NONE..PROBIT)", (long long)v);
    *out = (lg_ml_post)v;
    return LG_OK;
}

/* Inverse of erf: a first guess refined by Newton steps on erf itself. */
static double erfinv(double y)
{
    if (y <= -1) return -INFINITY;
    if (y >= 1) return INFINITY;
    double w = -log((1 - y) * (1 + y)), x;
    if (w < 5) {
        w -= 2.5;
        x = 2.81022636e-08;
        x = 3.43273939e-07 + x * w;
        x = -3.5233877e-06 + x * w;
        x = -4.39150654e-06 + x * w;
        x = 0.00021858087 + x * w;
        x = -0.00125372503 + x * w;
        x = -0.00417768164 + x * w;
        x = 0.246640727 + x * w;
        x = 1.50140941 + x * w;
    } else {
        w = sqrt(w) - 3;
        x = -0.000200214257;
        x = 0.000100950558 + x * w;
        x = 0.00134934322 + x * w;
        x = -0.00367342844 + x * w;
        x = 0.00573950773 + x * w;
        x = -0.0076224613 + x * w;
        x = 0.00943887047 + x * w;
        x = 1.00167406 + x * w;
        x = 2.83297682 + x * w;
    }
    x *= y;
    for (int i = 0; i < 2; i++) x -= (erf(x) - y) / (2 / sqrt(M_PI) * exp(-x * x));
    return x;
}

void lg_ml_post_apply(lg_ml_post p, double *v, int64_t n)
{
    if (n <= 0) return;
    double mx = v[0], sum = 0;
    for (int64_t i = 1; i < n; i++) mx = v[i] > mx ? v[i] : mx;
    switch (p) {
    case LG_ML_POST_NONE:
        return;
    case LG_ML_POST_LOGISTIC:
        for (int64_t i = 0; i < n; i++) v[i] = v[i] >= 0 ? 1 / (1 + exp(-v[i])) : exp(v[i]) / (1 + exp(v[i]));
        return;
    case LG_ML_POST_SOFTMAX:
        for (int64_t i = 0; i < n; i++) sum += (v[i] = exp(v[i] - mx));
        for (int64_t i = 0; i < n; i++) v[i] /= sum;
        return;
    case LG_ML_POST_SOFTMAX_ZERO: /* zeros stay zero: they are "no score" */
        for (int64_t i = 0; i < n; i++) sum += (v[i] = fabs(v[i]) > 1e-7 ? exp(v[i] - mx) : 0);
        for (int64_t i = 0; i < n; i++) v[i] = sum == 0 ? 0.5 : v[i] / sum;
        return;
    case LG_ML_POST_PROBIT:
        for (int64_t i = 0; i < n; i++) v[i] = sqrt(2.0) * erfinv(2 * v[i] - 1);
        return;
    }
}

int lg_ml_check_numeric(const lg_tensor *x, const char *what)
{
    static const lg_dtype ok[] = { LG_FLOAT, LG_DOUBLE, LG_INT32, LG_INT64 };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (x->dtype == ok[i]) return LG_OK;
    return lg_error(LG_E_UNSUPPORTED, "%s has dtype %s; expected float32, float64, int32 or int64", what,
                    lg_dtype_name(x->dtype));
}

int lg_ml_shape(const lg_tensor *x, int64_t *rows, int64_t *cols)
{
    if (x->ndim == 1) {
        *rows = 1;
        *cols = x->dims[0];
    } else if (x->ndim == 2) {
        *rows = x->dims[0];
        *cols = x->dims[1];
    } else {
        return lg_error(LG_E_SHAPE, "X has rank %d; expected [C] or [N, C]", x->ndim);
    }
    return LG_OK;
}

void lg_ml_row(const lg_tensor *x, int64_t r, int64_t cols, double *out)
{
    int64_t base = r * cols;
    switch (x->dtype) {
    case LG_FLOAT:
        for (int64_t j = 0; j < cols; j++) out[j] = ((const float *)x->data)[base + j];
        break;
    case LG_DOUBLE:
        memcpy(out, (const double *)x->data + base, (size_t)cols * sizeof(double));
        break;
    default:
        for (int64_t j = 0; j < cols; j++) out[j] = lg_tensor_get_f64(x, base + j);
    }
}

int lg_ml_labels_get(const lg_node *n, const char *ints_name, const char *strings_name, lg_ml_labels *out)
{
    int ni = 0, ns = 0;
    memset(out, 0, sizeof(*out));
    out->ints = lg_attr_ints(n, ints_name, &ni);
    out->strings = lg_attr_strings(n, strings_name, &ns);
    if (ni > 0 && ns > 0) return lg_error(LG_E_INVALID_MODEL, "both %s and %s are set; expected one", ints_name, strings_name);
    if (ni == 0 && ns == 0) return lg_error(LG_E_INVALID_MODEL, "neither %s nor %s is set", ints_name, strings_name);
    if (ni == 0) out->ints = NULL;
    if (ns == 0) out->strings = NULL;
    out->n = ni ? ni : ns;
    return LG_OK;
}

int lg_ml_labels_set(lg_tensor *y, int64_t i, const lg_ml_labels *l, int k)
{
    assert(k >= 0 && k < l->n);
    if (!l->strings) {
        ((int64_t *)y->data)[i] = l->ints[k];
        return LG_OK;
    }
    char **s = y->data;
    free(s[i]);
    s[i] = strdup(l->strings[k]);
    return s[i] ? LG_OK : lg_error(LG_E_NOMEM, "out of memory");
}

int lg_ml_attr_doubles(const lg_node *n, const char *name, double **vals, int *count)
{
    *vals = NULL;
    *count = 0;
    char tname[128];
    snprintf(tname, sizeof(tname), "%s_as_tensor", name);
    const lg_tensor *t = lg_attr_tensor(n, tname);
    int nf = 0;
    const float *f = lg_attr_floats(n, name, &nf);
    int64_t cnt = t ? lg_tensor_numel_(t) : nf;
    if (t && !lg_dtype_is_float(t->dtype))
        return lg_error(LG_E_INVALID_MODEL, "attribute %s has dtype %s; expected a float type", tname, lg_dtype_name(t->dtype));
    if (cnt > (1 << 30)) return lg_error(LG_E_LIMIT, "attribute %s has %lld values", name, (long long)cnt);
    if (cnt == 0) return LG_OK;
    *vals = malloc((size_t)cnt * sizeof(double));
    if (!*vals) return lg_error(LG_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < cnt; i++) (*vals)[i] = t ? lg_tensor_get_f64(t, i) : f[i];
    *count = (int)cnt;
    return LG_OK;
}

int lg_ml_check_len(const char *name, int count, const char *ref, int want)
{
    if (want < 0 || count == want) return LG_OK;
    return lg_error(LG_E_INVALID_MODEL, "attribute %s has %d values, %s has %d; they must match", name, count, ref, want);
}

double *lg_ml_doubles(int64_t n)
{
    double *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    if (!p) lg_error(LG_E_NOMEM, "out of memory");
    return p;
}
