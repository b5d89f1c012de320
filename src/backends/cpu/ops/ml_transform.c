/*
 * ml_transform.c: the element-wise and column transforms of ai.onnx.ml: Normalizer,
 * Scaler, Binarizer, Imputer, ArrayFeatureExtractor, FeatureVectorizer and ZipMap.
 *
 * ZipMap turns [N, C] probabilities into a sequence of N maps {label: probability}. The
 * runtime has no map values, so ZipMap returns the same numbers as the dense [N, C] float
 * tensor whose column k is the map entry of label k (classlabels_* in order); `run` writes
 * it like any tensor and `info MODEL` shows the labels (docs/models.md).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/ml_common.h"

static int same_shape_float(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    LG_CHECK(lg_ml_check_numeric(x, "X"));
    return lg_kout_shape(c, 0, LG_FLOAT, x->ndim, x->dims);
}

/* ---- Normalizer: rows scaled by their MAX, L1 or L2 norm ---- */

static int normalizer_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    const char *norm = lg_attr_string(c->node, "norm", "MAX");
    int kind = !strcmp(norm, "MAX") ? 0 : !strcmp(norm, "L1") ? 1 : !strcmp(norm, "L2") ? 2 : -1;
    if (kind < 0) return lg_error(LG_E_INVALID_MODEL, "norm '%s' is not one of MAX, L1, L2", norm);
    int64_t rows, cols;
    LG_CHECK(lg_ml_shape(x, &rows, &cols));
    float *y = c->outputs[0] ? c->outputs[0]->data : NULL;
    double *row = lg_ml_doubles(cols);
    if (!row) return LG_E_NOMEM;
    for (int64_t i = 0; i < rows && y; i++) {
        lg_ml_row(x, i, cols, row);
        double s = kind == 0 ? -INFINITY : 0;
        for (int64_t j = 0; j < cols; j++)
            s = kind == 0 ? fmax(s, row[j]) : kind == 1 ? s + fabs(row[j]) : s + row[j] * row[j];
        if (kind == 2) s = sqrt(s);
        for (int64_t j = 0; j < cols; j++) y[i * cols + j] = (float)(s != 0 && cols > 0 ? row[j] / s : row[j]);
    }
    free(row);
    return LG_OK;
}

/* ---- Scaler: (X - offset) * scale per column ---- */

static int per_column(const char *name, int n, int64_t cols)
{
    if (n == 0 || n == 1 || n == cols) return LG_OK;
    return lg_error(LG_E_SHAPE, "attribute %s has %d values; X has %lld columns (expected 1 or %lld)", name, n, (long long)cols,
                    (long long)cols);
}

static int scaler_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int no = 0, ns = 0;
    const float *off = lg_attr_floats(c->node, "offset", &no), *sc = lg_attr_floats(c->node, "scale", &ns);
    int64_t n = lg_tensor_numel_(x), cols = x->ndim ? x->dims[x->ndim - 1] : 1;
    LG_CHECK(per_column("offset", no, cols));
    LG_CHECK(per_column("scale", ns, cols));
    float *y = c->outputs[0] ? c->outputs[0]->data : NULL;
    for (int64_t i = 0; i < n && y; i++) {
        int64_t j = cols ? i % cols : 0;
        double o = no ? off[no == 1 ? 0 : j] : 0, s = ns ? sc[ns == 1 ? 0 : j] : 1;
        y[i] = (float)((lg_tensor_get_f64(x, i) - o) * s);
    }
    return LG_OK;
}

/* ---- Binarizer: X > threshold ? 1 : 0, in X's type ---- */

static int binarizer_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    LG_CHECK(lg_ml_check_numeric(x, "X"));
    return lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims);
}

static int binarizer_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    double t = lg_attr_float(c->node, "threshold", 0);
    lg_tensor *y = c->outputs[0];
    for (int64_t i = 0, n = lg_tensor_numel_(x); i < n && y; i++) lg_tensor_set_f64(y, i, lg_tensor_get_f64(x, i) > t ? 1 : 0);
    return LG_OK;
}

/* ---- Imputer: replaced_value -> imputed value of the column ---- */

static int imputer_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    if (x->dtype != LG_FLOAT && x->dtype != LG_DOUBLE && x->dtype != LG_INT64 && x->dtype != LG_INT32)
        return lg_error(LG_E_UNSUPPORTED, "X has dtype %s; expected float32, float64, int32 or int64", lg_dtype_name(x->dtype));
    return lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims);
}

static int imputer_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    bool is_f = lg_dtype_is_float(x->dtype);
    int nf = 0, ni = 0;
    const float *fv = lg_attr_floats(c->node, "imputed_value_floats", &nf);
    const int64_t *iv = lg_attr_ints(c->node, "imputed_value_int64s", &ni);
    int nv = is_f ? nf : ni;
    int64_t n = lg_tensor_numel_(x), cols = x->ndim ? x->dims[x->ndim - 1] : 1;
    if (nv == 0)
        return lg_error(LG_E_INVALID_MODEL, "%s is empty for an X of dtype %s", is_f ? "imputed_value_floats" : "imputed_value_int64s",
                        lg_dtype_name(x->dtype));
    LG_CHECK(per_column(is_f ? "imputed_value_floats" : "imputed_value_int64s", nv, cols));
    double rf = lg_attr_float(c->node, "replaced_value_float", 0);
    int64_t ri = lg_attr_int(c->node, "replaced_value_int64", 0);
    lg_tensor *y = c->outputs[0];
    for (int64_t i = 0; i < n && y; i++) {
        int64_t j = nv == 1 ? 0 : i % cols;
        if (is_f) {
            double v = lg_tensor_get_f64(x, i);
            bool hit = isnan(rf) ? isnan(v) : v == rf;
            lg_tensor_set_f64(y, i, hit ? fv[j] : v);
        } else {
            int64_t v = lg_tensor_get_i64(x, i);
            if (x->dtype == LG_INT64) ((int64_t *)y->data)[i] = v == ri ? iv[j] : v;
            else ((int32_t *)y->data)[i] = (int32_t)(v == ri ? iv[j] : v);
        }
    }
    return LG_OK;
}

/* ---- ArrayFeatureExtractor: X[..., indices] ---- */

static int afe_dims(const lg_tensor *x, const lg_tensor *idx, int *nd, int64_t *dims)
{
    if (idx->dtype != LG_INT64 && idx->dtype != LG_INT32)
        return lg_error(LG_E_SHAPE, "Y (indices) has dtype %s; expected int64", lg_dtype_name(idx->dtype));
    if (x->ndim < 1) return lg_error(LG_E_SHAPE, "X is a scalar; expected at least one dimension");
    int64_t k = lg_tensor_numel_(idx);
    if (x->ndim == 1) {
        *nd = 2;
        dims[0] = 1;
        dims[1] = k;
        return LG_OK;
    }
    *nd = x->ndim;
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    dims[x->ndim - 1] = k;
    return LG_OK;
}

static int afe_infer(lg_kctx *c)
{
    int nd = 0;
    int64_t dims[LG_MAX_DIMS];
    LG_CHECK(afe_dims(c->inputs[0], c->inputs[1], &nd, dims));
    return lg_kout_shape(c, 0, c->inputs[0]->dtype, nd, dims);
}

static int afe_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *idx = c->inputs[1];
    lg_tensor *y = c->outputs[0];
    if (!y) return LG_OK;
    int64_t cols = x->dims[x->ndim - 1], k = lg_tensor_numel_(idx), rows = cols ? lg_tensor_numel_(x) / cols : 0;
    for (int64_t j = 0; j < k; j++) {
        int64_t v = lg_tensor_get_i64(idx, j);
        if (v < 0 || v >= cols)
            return lg_error(LG_E_RUNTIME, "index %lld (Y[%lld]) is outside 0..%lld of X's last dimension", (long long)v,
                            (long long)j, (long long)cols - 1);
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < k; j++) {
            int64_t from = r * cols + lg_tensor_get_i64(idx, j), to = r * k + j;
            if (x->dtype == LG_STRING) {
                ((char **)y->data)[to] = strdup(((char *const *)x->data)[from] ? ((char *const *)x->data)[from] : "");
                if (!((char **)y->data)[to]) return lg_error(LG_E_NOMEM, "out of memory");
            } else {
                size_t sz = lg_dtype_size(x->dtype);
                memcpy((char *)y->data + (size_t)to * sz, (const char *)x->data + (size_t)from * sz, sz);
            }
        }
    return LG_OK;
}

/* ---- FeatureVectorizer: inputs concatenated column-wise, each cut or padded to its
 * inputdimensions entry ---- */

static int fv_infer(lg_kctx *c)
{
    int nd = 0;
    const int64_t *dims = lg_attr_ints(c->node, "inputdimensions", &nd);
    LG_CHECK(lg_ml_check_len("inputdimensions", nd, "the inputs", c->n_inputs));
    int64_t rows = -1, total = 0;
    for (int i = 0; i < c->n_inputs; i++) {
        const lg_tensor *x = c->inputs[i];
        int64_t r, cols;
        if (!x) return lg_error(LG_E_SHAPE, "input %d is missing", i);
        LG_CHECK(lg_ml_check_numeric(x, "an input"));
        LG_CHECK(lg_ml_shape(x, &r, &cols));
        if (rows >= 0 && r != rows) return lg_error(LG_E_SHAPE, "input %d has %lld rows, input 0 has %lld", i, (long long)r, (long long)rows);
        if (dims[i] < 0) return lg_error(LG_E_INVALID_MODEL, "inputdimensions[%d] is %lld", i, (long long)dims[i]);
        rows = r;
        total += dims[i];
    }
    return lg_kout_shape(c, 0, LG_FLOAT, 2, (int64_t[]){ rows < 0 ? 0 : rows, total });
}

static int fv_exec(lg_kctx *c)
{
    int nd = 0;
    const int64_t *dims = lg_attr_ints(c->node, "inputdimensions", &nd);
    lg_tensor *y = c->outputs[0];
    if (!y) return LG_OK;
    int64_t total = y->dims[1], rows = y->dims[0], at = 0;
    for (int i = 0; i < c->n_inputs; i++) {
        const lg_tensor *x = c->inputs[i];
        int64_t r, cols;
        LG_CHECK(lg_ml_shape(x, &r, &cols));
        int64_t take = cols < dims[i] ? cols : dims[i];
        for (int64_t row = 0; row < rows; row++)
            for (int64_t j = 0; j < take; j++) ((float *)y->data)[row * total + at + j] = (float)lg_tensor_get_f64(x, row * cols + j);
        at += dims[i];
    }
    return LG_OK;
}

/* ---- ZipMap: [N, C] -> N maps, kept dense (see the file comment) ---- */

static int zipmap_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_ml_labels l;
    LG_CHECK(lg_ml_labels_get(c->node, "classlabels_int64s", "classlabels_strings", &l));
    int64_t rows, cols;
    if (x->dtype != LG_FLOAT) return lg_error(LG_E_SHAPE, "X has dtype %s; expected float32", lg_dtype_name(x->dtype));
    LG_CHECK(lg_ml_shape(x, &rows, &cols));
    if (cols != l.n) return lg_error(LG_E_SHAPE, "X has %lld columns for %d class labels", (long long)cols, l.n);
    return lg_kout_shape(c, 0, LG_FLOAT, 2, (int64_t[]){ rows, cols });
}

static int zipmap_exec(lg_kctx *c)
{
    if (c->outputs[0]) memcpy(c->outputs[0]->data, c->inputs[0]->data, c->inputs[0]->nbytes);
    return LG_OK;
}

const lg_op_def lg_ops_ml_transform[] = {
    { "Normalizer", "ai.onnx.ml", 1, 5, same_shape_float, normalizer_exec, NULL, NULL },
    { "Scaler", "ai.onnx.ml", 1, 5, same_shape_float, scaler_exec, NULL, NULL },
    { "Binarizer", "ai.onnx.ml", 1, 5, binarizer_infer, binarizer_exec, NULL, NULL },
    { "Imputer", "ai.onnx.ml", 1, 5, imputer_infer, imputer_exec, NULL, NULL },
    { "ArrayFeatureExtractor", "ai.onnx.ml", 1, 5, afe_infer, afe_exec, NULL, NULL },
    { "FeatureVectorizer", "ai.onnx.ml", 1, 5, fv_infer, fv_exec, NULL, NULL },
    { "ZipMap", "ai.onnx.ml", 1, 5, zipmap_infer, zipmap_exec, NULL, NULL },
    { NULL },
};
