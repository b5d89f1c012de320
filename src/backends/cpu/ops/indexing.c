/*
 * indexing.c: CPU operators that select or place elements by index: Slice, Gather,
 * GatherElements, GatherND, Scatter, ScatterElements, ScatterND, OneHot, Compress,
 * NonZero, ReverseSequence, TensorScatter.
 *
 * Indices are read once into int64 offsets and checked (negative ones count from the
 * end; out of range is an LG_E_RUNTIME error); the elements then move as raw bytes of
 * their size, strings duplicated (tensor_copy.h). Scatter reductions go through typed
 * loops that keep integers exact.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/tensor_copy.h"

/* ---- shared helpers ---- */

static int check_index_type(const lg_tensor *t, const char *what)
{
    if (t->dtype != LG_INT32 && t->dtype != LG_INT64)
        return lg_error(LG_E_SHAPE, "%s must be int32 or int64, got %s", what, lg_dtype_name(t->dtype));
    return LG_OK;
}

/* Normalized axis attribute (default def) of a tensor that must have rank >= 1. */
static int axis_attr(lg_kctx *c, const lg_tensor *x, int64_t def, int *axis)
{
    if (x->ndim < 1) return lg_error(LG_E_SHAPE, "input must have rank >= 1, got a scalar");
    return lg_norm_axis(lg_attr_int(c->node, "axis", def), x->ndim, axis);
}

/* Index value v along an axis of size d, negatives from the end; checked. */
static int norm_index(int64_t v, int64_t d, const char *what, int64_t *out)
{
    if (v < -d || v >= d)
        return lg_error(LG_E_RUNTIME, "%s %lld out of range for an axis of size %lld", what, (long long)v, (long long)d);
    *out = v < 0 ? v + d : v;
    return LG_OK;
}

static int64_t *alloc_i64(int64_t n)
{
    if (n < 0 || (uint64_t)n > SIZE_MAX / sizeof(int64_t) / 2) return NULL;
    return malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
}

/* One element of es bytes (or a duplicated string) from src to dst. */
static int put_elem(lg_dtype dt, size_t es, char *dst, const char *src)
{
    switch (es) {
    case 1: *(uint8_t *)dst = *(const uint8_t *)src; return LG_OK;
    case 2: memcpy(dst, src, 2); return LG_OK;
    case 4: memcpy(dst, src, 4); return LG_OK;
    default:
        if (dt == LG_STRING) return lg_copy_elems(dt, dst, src, 1);
        memcpy(dst, src, es);
        return LG_OK;
    }
}

/* ---- Slice ---- */

typedef struct slice_plan {
    int64_t start[LG_MAX_DIMS], step[LG_MAX_DIMS], len[LG_MAX_DIMS];
} slice_plan;

static int slice_list(lg_kctx *c, int input, const char *name, int64_t *buf, int *n, bool *given)
{
    *given = false;
    *n = 0;
    if (c->opset >= 10) {
        const lg_tensor *t = lg_kin(c, input);
        if (!t) return LG_OK;
        *given = true;
        return lg_read_ints(t, name, buf, LG_MAX_DIMS, n);
    }
    const int64_t *a = lg_attr_ints(c->node, name, n);
    if (!a) return LG_OK;
    if (*n > LG_MAX_DIMS) return lg_error(LG_E_INVALID_MODEL, "%s has %d values", name, *n);
    memcpy(buf, a, sizeof(int64_t) * (size_t)*n);
    *given = true;
    return LG_OK;
}

/* Start and length along an axis of size d, clamped as the ONNX spec says. */
static void slice_axis(int64_t d, int64_t s, int64_t e, int64_t step, int64_t *start, int64_t *len)
{
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (step > 0) {
        s = s < 0 ? 0 : s > d ? d : s;
        e = e < 0 ? 0 : e > d ? d : e;
        *len = e > s ? (e - s - 1) / step + 1 : 0;
    } else {
        s = s < 0 ? 0 : s > d - 1 ? d - 1 : s;
        e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
        int64_t stride = step == INT64_MIN ? INT64_MAX : -step; /* same quotients, no overflow */
        *len = s > e && d > 0 ? (s - e - 1) / stride + 1 : 0;
    }
    *start = s;
}

static int slice_plan_get(lg_kctx *c, slice_plan *p)
{
    const lg_tensor *x = c->inputs[0];
    int64_t starts[LG_MAX_DIMS], ends[LG_MAX_DIMS], axes[LG_MAX_DIMS], steps[LG_MAX_DIMS];
    int ns, ne, na, nst;
    bool gs, ge, ga, gst;
    uint32_t seen = 0;
    LG_CHECK(slice_list(c, 1, "starts", starts, &ns, &gs));
    LG_CHECK(slice_list(c, 2, "ends", ends, &ne, &ge));
    LG_CHECK(slice_list(c, 3, "axes", axes, &na, &ga));
    LG_CHECK(c->opset >= 10 ? slice_list(c, 4, "steps", steps, &nst, &gst) : (gst = false, LG_OK));
    if (!gs || !ge || ns != ne) return lg_error(LG_E_INVALID_MODEL, "starts (%d) and ends (%d) must be given with equal lengths", ns, ne);
    if (ns > x->ndim) return lg_error(LG_E_SHAPE, "%d axes sliced in a tensor of rank %d", ns, x->ndim);
    if ((ga && na != ns) || (gst && nst != ns))
        return lg_error(LG_E_INVALID_MODEL, "axes / steps lengths differ from starts (%d)", ns);
    for (int i = 0; i < x->ndim; i++) {
        p->start[i] = 0;
        p->step[i] = 1;
        p->len[i] = x->dims[i];
    }
    for (int i = 0; i < ns; i++) {
        int axis;
        int64_t step = gst ? steps[i] : 1;
        LG_CHECK(lg_norm_axis(ga ? axes[i] : i, x->ndim, &axis));
        if ((seen >> axis) & 1) return lg_error(LG_E_INVALID_MODEL, "axis %d sliced twice", axis);
        seen |= 1u << axis;
        if (step == 0) return lg_error(LG_E_INVALID_MODEL, "step for axis %d is 0", axis);
        p->step[axis] = step;
        slice_axis(x->dims[axis], starts[i], ends[i], step, &p->start[axis], &p->len[axis]);
    }
    return LG_OK;
}

static int slice_infer(lg_kctx *c)
{
    slice_plan p;
    LG_CHECK(slice_plan_get(c, &p));
    return lg_kout_shape(c, 0, c->inputs[0]->dtype, c->inputs[0]->ndim, p.len);
}

static int slice_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    slice_plan p;
    int64_t xs[LG_MAX_DIMS], ss[LG_MAX_DIMS], ds[LG_MAX_DIMS], off = 0;
    LG_CHECK(slice_plan_get(c, &p));
    if (lg_tensor_numel_(y) == 0) return LG_OK;
    lg_strides(x->ndim, x->dims, xs);
    lg_strides(y->ndim, y->dims, ds);
    for (int i = 0; i < x->ndim; i++) {
        off += p.start[i] * xs[i];
        ss[i] = p.len[i] > 1 ? p.step[i] * xs[i] : 0; /* |step| < extent here: no overflow */
    }
    const char *src = (const char *)x->data + (size_t)off * lg_dtype_size(x->dtype);
    return lg_copy_nd(c->pool, x->dtype, y->ndim, y->dims, y->data, ds, src, ss);
}

/* ---- Gather ---- */

static int gather_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *ind = c->inputs[1];
    int axis, nd = 0;
    int64_t dims[LG_MAX_DIMS];
    LG_CHECK(check_index_type(ind, "indices"));
    LG_CHECK(axis_attr(c, x, 0, &axis));
    if (x->ndim + ind->ndim - 1 > LG_MAX_DIMS) return lg_error(LG_E_LIMIT, "Gather output rank exceeds %d", LG_MAX_DIMS);
    for (int i = 0; i < axis; i++) dims[nd++] = x->dims[i];
    for (int i = 0; i < ind->ndim; i++) dims[nd++] = ind->dims[i];
    for (int i = axis + 1; i < x->ndim; i++) dims[nd++] = x->dims[i];
    return lg_kout_shape(c, 0, x->dtype, nd, dims);
}

static int gather_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *ind = c->inputs[1];
    lg_tensor *y = c->outputs[0];
    int axis;
    LG_CHECK(axis_attr(c, x, 0, &axis));
    int64_t outer = lg_dims_numel(axis, x->dims), d = x->dims[axis];
    int64_t inner = lg_dims_numel(x->ndim - axis - 1, x->dims + axis + 1);
    int64_t n_ind = lg_tensor_numel_(ind), rows_n = outer * n_ind;
    if (lg_tensor_numel_(y) == 0) return LG_OK;
    int64_t *rows = alloc_i64(rows_n);
    if (!rows) return lg_error(LG_E_NOMEM, "out of memory for %lld gather rows", (long long)rows_n);
    int rc = LG_OK;
    for (int64_t j = 0; j < n_ind && rc == LG_OK; j++) rc = norm_index(lg_tensor_get_i64(ind, j), d, "index", &rows[j]);
    for (int64_t o = outer - 1; o >= 0 && rc == LG_OK; o--) /* o = 0 last: reads rows[j] */
        for (int64_t j = n_ind - 1; j >= 0; j--) rows[o * n_ind + j] = (o * d + rows[j]) * inner;
    if (rc == LG_OK) rc = lg_copy_rows(c->pool, x->dtype, y->data, x->data, rows, rows_n, inner);
    free(rows);
    return rc;
}

/* ---- GatherElements, ScatterElements, Scatter ---- */

/* Offsets into data (shape data) of every element of indices along axis. */
static int element_offsets(const lg_tensor *data, const lg_tensor *ind, int axis, int64_t **out)
{
    int r = data->ndim;
    int64_t ds[LG_MAX_DIMS], idx[LG_MAX_DIMS] = { 0 }, n = lg_tensor_numel_(ind), base = 0;
    int64_t *offs = alloc_i64(n);
    if (!offs) return lg_error(LG_E_NOMEM, "out of memory for %lld indices", (long long)n);
    lg_strides(r, data->dims, ds);
    for (int64_t i = 0; i < n; i++) {
        int64_t v = 0;
        int rc = norm_index(lg_tensor_get_i64(ind, i), data->dims[axis], "index", &v);
        if (rc != LG_OK) {
            free(offs);
            return rc;
        }
        offs[i] = base + v * ds[axis];
        for (int k = r - 1; k >= 0; k--) { /* next position; the axis coordinate adds nothing */
            if (k != axis) base += ds[k];
            if (++idx[k] < ind->dims[k]) break;
            if (k != axis) base -= ds[k] * ind->dims[k];
            idx[k] = 0;
        }
    }
    *out = offs;
    return LG_OK;
}

/* indices (and updates, when given) must have data's rank and fit inside it off axis. */
static int check_element_shapes(const lg_tensor *data, const lg_tensor *ind, const lg_tensor *upd, int axis)
{
    char a[256], b[256];
    LG_CHECK(check_index_type(ind, "indices"));
    bool ok = ind->ndim == data->ndim;
    for (int k = 0; ok && k < ind->ndim; k++) ok = k == axis || ind->dims[k] <= data->dims[k];
    if (upd) ok = ok && lg_dims_equal(upd->ndim, upd->dims, ind->ndim, ind->dims) && upd->dtype == data->dtype;
    if (!ok)
        return lg_error(LG_E_SHAPE, "indices %s do not fit data %s on axis %d%s",
                        lg_dims_str(ind->ndim, ind->dims, a, sizeof(a)), lg_dims_str(data->ndim, data->dims, b, sizeof(b)),
                        axis, upd ? " (or updates differ from indices)" : "");
    return LG_OK;
}

static int gather_elements_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *ind = c->inputs[1];
    int axis;
    LG_CHECK(axis_attr(c, x, 0, &axis));
    LG_CHECK(check_element_shapes(x, ind, NULL, axis));
    return lg_kout_shape(c, 0, x->dtype, ind->ndim, ind->dims);
}

static int gather_elements_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *ind = c->inputs[1];
    lg_tensor *y = c->outputs[0];
    int axis, rc = LG_OK;
    int64_t *offs, n = lg_tensor_numel_(ind);
    size_t es = lg_dtype_size(x->dtype);
    if (n == 0) return LG_OK;
    LG_CHECK(axis_attr(c, x, 0, &axis));
    LG_CHECK(element_offsets(x, ind, axis, &offs));
    for (int64_t i = 0; i < n && rc == LG_OK; i++)
        rc = put_elem(x->dtype, es, (char *)y->data + (size_t)i * es, (const char *)x->data + (size_t)offs[i] * es);
    free(offs);
    return rc;
}

enum reduction { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

static int reduction_get(lg_kctx *c, enum reduction *red)
{
    static const char *const names[] = { "none", "add", "mul", "max", "min" };
    const char *s = c->opset >= 16 ? lg_attr_string(c->node, "reduction", "none") : "none";
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *red = (enum reduction)i;
            if (*red != RED_NONE && c->inputs[0]->dtype == LG_STRING)
                return lg_error(LG_E_UNSUPPORTED, "reduction '%s' on strings", s);
            return LG_OK;
        }
    return lg_error(LG_E_INVALID_MODEL, "unknown reduction '%s'", s);
}

/* dst[i] = dst[i] (red) src[i]; integer arithmetic wraps (done unsigned). */
#define REDUCE_LOOP(T, U) \
    do { \
        T *d_ = (T *)dst; \
        const T *s_ = (const T *)src; \
        for (int64_t i_ = 0; i_ < n; i_++) { \
            T a_ = d_[i_], b_ = s_[i_]; \
            switch (red) { \
            case RED_ADD: d_[i_] = (T)((U)a_ + (U)b_); break; \
            case RED_MUL: d_[i_] = (T)((U)a_ * (U)b_); break; \
            case RED_MAX: d_[i_] = b_ > a_ ? b_ : a_; break; \
            default: d_[i_] = b_ < a_ ? b_ : a_; break; \
            } \
        } \
    } while (0)

static void reduce_half(lg_dtype dt, enum reduction red, uint16_t *dst, const uint16_t *src, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        float a = dt == LG_FLOAT16 ? lg_half_to_float(dst[i]) : lg_bf16_to_float(dst[i]);
        float b = dt == LG_FLOAT16 ? lg_half_to_float(src[i]) : lg_bf16_to_float(src[i]);
        float r = red == RED_ADD ? a + b : red == RED_MUL ? a * b : red == RED_MAX ? (b > a ? b : a) : (b < a ? b : a);
        dst[i] = dt == LG_FLOAT16 ? lg_float_to_half(r) : lg_float_to_bf16(r);
    }
}

static int reduce_elems(lg_dtype dt, enum reduction red, void *dst, const void *src, int64_t n)
{
    if (red == RED_NONE) return lg_copy_elems(dt, dst, src, n);
    switch (dt) {
    case LG_FLOAT: REDUCE_LOOP(float, float); break;
    case LG_DOUBLE: REDUCE_LOOP(double, double); break;
    case LG_INT8: REDUCE_LOOP(int8_t, uint8_t); break;
    case LG_UINT8: REDUCE_LOOP(uint8_t, uint32_t); break;
    case LG_INT16: REDUCE_LOOP(int16_t, uint16_t); break;
    case LG_UINT16: REDUCE_LOOP(uint16_t, uint32_t); break;
    case LG_INT32: REDUCE_LOOP(int32_t, uint32_t); break;
    case LG_UINT32: REDUCE_LOOP(uint32_t, uint32_t); break;
    case LG_INT64: REDUCE_LOOP(int64_t, uint64_t); break;
    case LG_UINT64: REDUCE_LOOP(uint64_t, uint64_t); break;
    case LG_BOOL: { /* add/max = or, mul/min = and */
        uint8_t *d = dst;
        const uint8_t *s = src;
        for (int64_t i = 0; i < n; i++) d[i] = (red == RED_ADD || red == RED_MAX) ? (d[i] || s[i]) : (d[i] && s[i]);
        break;
    }
    case LG_FLOAT16: case LG_BFLOAT16: reduce_half(dt, red, dst, src, n); break;
    default: return lg_error(LG_E_UNSUPPORTED, "scatter reduction on %s", lg_dtype_name(dt));
    }
    return LG_OK;
}

static int scatter_elements_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int axis;
    enum reduction red;
    LG_CHECK(reduction_get(c, &red));
    LG_CHECK(axis_attr(c, x, 0, &axis));
    LG_CHECK(check_element_shapes(x, c->inputs[1], c->inputs[2], axis));
    return lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims);
}

static int scatter_elements_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *ind = c->inputs[1], *upd = c->inputs[2];
    lg_tensor *y = c->outputs[0];
    int axis, rc;
    enum reduction red;
    int64_t *offs, n = lg_tensor_numel_(ind);
    size_t es = lg_dtype_size(x->dtype);
    LG_CHECK(reduction_get(c, &red));
    LG_CHECK(axis_attr(c, x, 0, &axis));
    LG_CHECK(lg_copy_tensor(y, x));
    if (n == 0) return LG_OK;
    LG_CHECK(element_offsets(x, ind, axis, &offs));
    rc = LG_OK;
    for (int64_t i = 0; i < n && rc == LG_OK; i++)
        rc = reduce_elems(x->dtype, red, (char *)y->data + (size_t)offs[i] * es, (const char *)upd->data + (size_t)i * es, 1);
    free(offs);
    return rc;
}

/* ---- GatherND, ScatterND ---- */

/* Offsets in data of the slices that the index tuples (last dim of indices, k values)
 * select, after batch_dims leading dims shared by data and indices. */
static int nd_offsets(const lg_tensor *data, const lg_tensor *ind, int batch_dims, int64_t **out, int64_t *n_out)
{
    int r = data->ndim, q = ind->ndim, k = (int)ind->dims[q - 1];
    int64_t ds[LG_MAX_DIMS];
    int64_t n_tuples = lg_dims_numel(q - 1, ind->dims);
    int64_t per_batch = lg_dims_numel(q - 1 - batch_dims, ind->dims + batch_dims);
    int64_t batch_size = lg_dims_numel(r - batch_dims, data->dims + batch_dims);
    int64_t *offs = alloc_i64(n_tuples);
    if (!offs) return lg_error(LG_E_NOMEM, "out of memory for %lld index tuples", (long long)n_tuples);
    lg_strides(r, data->dims, ds);
    for (int64_t t = 0; t < n_tuples; t++) {
        int64_t off = (per_batch ? t / per_batch : 0) * batch_size;
        for (int j = 0; j < k; j++) {
            int64_t v = 0;
            int rc = norm_index(lg_tensor_get_i64(ind, t * k + j), data->dims[batch_dims + j], "index", &v);
            if (rc != LG_OK) {
                free(offs);
                return rc;
            }
            off += v * ds[batch_dims + j];
        }
        offs[t] = off;
    }
    *out = offs;
    *n_out = n_tuples;
    return LG_OK;
}

static int check_nd_shapes(const lg_tensor *data, const lg_tensor *ind, int batch_dims)
{
    int r = data->ndim, q = ind->ndim;
    LG_CHECK(check_index_type(ind, "indices"));
    if (q < 1 || r < 1) return lg_error(LG_E_SHAPE, "data and indices must have rank >= 1");
    if (batch_dims < 0 || batch_dims >= q || batch_dims >= r)
        return lg_error(LG_E_INVALID_MODEL, "batch_dims %d must be below the ranks %d and %d", batch_dims, r, q);
    for (int i = 0; i < batch_dims; i++)
        if (data->dims[i] != ind->dims[i]) return lg_error(LG_E_SHAPE, "batch dim %d differs: %lld vs %lld", i,
                                                           (long long)data->dims[i], (long long)ind->dims[i]);
    if (ind->dims[q - 1] < 1 || ind->dims[q - 1] > r - batch_dims)
        return lg_error(LG_E_SHAPE, "index tuples of %lld values for data of rank %d with %d batch dims",
                        (long long)ind->dims[q - 1], r, batch_dims);
    return LG_OK;
}

/* indices.dims[:-1] + data.dims[batch_dims + k:] */
static int nd_slices_shape(const lg_tensor *data, const lg_tensor *ind, int batch_dims, int *nd, int64_t *dims)
{
    int q = ind->ndim, k = (int)ind->dims[q - 1];
    *nd = 0;
    if (q - 1 + data->ndim - batch_dims - k > LG_MAX_DIMS) return lg_error(LG_E_LIMIT, "output rank exceeds %d", LG_MAX_DIMS);
    for (int i = 0; i < q - 1; i++) dims[(*nd)++] = ind->dims[i];
    for (int i = batch_dims + k; i < data->ndim; i++) dims[(*nd)++] = data->dims[i];
    return LG_OK;
}

static int gather_nd_batch_dims(lg_kctx *c) { return c->opset >= 12 ? (int)lg_attr_int(c->node, "batch_dims", 0) : 0; }

static int gather_nd_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *ind = c->inputs[1];
    int b = gather_nd_batch_dims(c), nd;
    int64_t dims[LG_MAX_DIMS];
    LG_CHECK(check_nd_shapes(x, ind, b));
    LG_CHECK(nd_slices_shape(x, ind, b, &nd, dims));
    return lg_kout_shape(c, 0, x->dtype, nd, dims);
}

static int gather_nd_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *ind = c->inputs[1];
    lg_tensor *y = c->outputs[0];
    int b = gather_nd_batch_dims(c), k = (int)ind->dims[ind->ndim - 1];
    int64_t *offs, n;
    if (lg_tensor_numel_(y) == 0) return LG_OK;
    LG_CHECK(nd_offsets(x, ind, b, &offs, &n));
    int rc = lg_copy_rows(c->pool, x->dtype, y->data, x->data, offs, n, lg_dims_numel(x->ndim - b - k, x->dims + b + k));
    free(offs);
    return rc;
}

static int scatter_nd_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *ind = c->inputs[1], *upd = c->inputs[2];
    int nd;
    int64_t dims[LG_MAX_DIMS];
    char a[256], bb[256];
    enum reduction red;
    LG_CHECK(reduction_get(c, &red));
    LG_CHECK(check_nd_shapes(x, ind, 0));
    LG_CHECK(nd_slices_shape(x, ind, 0, &nd, dims));
    if (!lg_dims_equal(upd->ndim, upd->dims, nd, dims) || upd->dtype != x->dtype)
        return lg_error(LG_E_SHAPE, "updates %s must have shape %s and the data type",
                        lg_dims_str(upd->ndim, upd->dims, a, sizeof(a)), lg_dims_str(nd, dims, bb, sizeof(bb)));
    return lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims);
}

static int scatter_nd_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *ind = c->inputs[1], *upd = c->inputs[2];
    lg_tensor *y = c->outputs[0];
    int k = (int)ind->dims[ind->ndim - 1], rc = LG_OK;
    int64_t *offs, n, slice = lg_dims_numel(x->ndim - k, x->dims + k);
    size_t es = lg_dtype_size(x->dtype);
    enum reduction red;
    LG_CHECK(reduction_get(c, &red));
    LG_CHECK(lg_copy_tensor(y, x));
    if (lg_tensor_numel_(upd) == 0) return LG_OK;
    LG_CHECK(nd_offsets(x, ind, 0, &offs, &n));
    for (int64_t t = 0; t < n && rc == LG_OK; t++)
        rc = reduce_elems(x->dtype, red, (char *)y->data + (size_t)offs[t] * es,
                          (const char *)upd->data + (size_t)(t * slice) * es, slice);
    free(offs);
    return rc;
}

/* ---- OneHot ---- */

static int onehot_args(lg_kctx *c, int *axis, int64_t *depth)
{
    const lg_tensor *ind = c->inputs[0], *dt = c->inputs[1], *vals = c->inputs[2];
    int64_t a = lg_attr_int(c->node, "axis", -1);
    if (a < -(ind->ndim + 1) || a > ind->ndim)
        return lg_error(LG_E_INVALID_MODEL, "axis %lld out of range for output rank %d", (long long)a, ind->ndim + 1);
    *axis = (int)(a < 0 ? a + ind->ndim + 1 : a);
    if (ind->ndim + 1 > LG_MAX_DIMS) return lg_error(LG_E_LIMIT, "OneHot output rank exceeds %d", LG_MAX_DIMS);
    if (lg_tensor_numel_(vals) != 2) return lg_error(LG_E_SHAPE, "values must hold 2 elements (off, on)");
    if (lg_tensor_numel_(dt) != 1) return lg_error(LG_E_SHAPE, "depth must hold one value");
    if (ind->dtype == LG_STRING || dt->dtype == LG_STRING) return lg_error(LG_E_SHAPE, "indices and depth must be numeric");
    LG_KNEED_DATA(c, 1);
    *depth = lg_tensor_get_i64(dt, 0);
    if (*depth < 1) return lg_error(LG_E_RUNTIME, "depth %lld must be positive", (long long)*depth);
    return LG_OK;
}

static int onehot_infer(lg_kctx *c)
{
    const lg_tensor *ind = c->inputs[0];
    int axis, nd = 0;
    int64_t depth, dims[LG_MAX_DIMS];
    LG_CHECK(onehot_args(c, &axis, &depth));
    for (int i = 0; i <= ind->ndim; i++) dims[nd++] = i == axis ? depth : ind->dims[i - (i > axis)];
    return lg_kout_shape(c, 0, c->inputs[2]->dtype, nd, dims);
}

static int onehot_exec(lg_kctx *c)
{
    const lg_tensor *ind = c->inputs[0], *vals = c->inputs[2];
    lg_tensor *y = c->outputs[0];
    int axis;
    int64_t depth;
    size_t es = lg_dtype_size(y->dtype);
    LG_CHECK(onehot_args(c, &axis, &depth));
    LG_CHECK(lg_fill_elems(y->dtype, y->data, vals->data, lg_tensor_numel_(y)));
    int64_t outer = lg_dims_numel(axis, ind->dims), inner = lg_dims_numel(ind->ndim - axis, ind->dims + axis);
    const char *on = (const char *)vals->data + es;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t v = lg_tensor_get_i64(ind, o * inner + i);
            if (v < 0) v += depth;
            if (v < 0 || v >= depth) continue; /* out of range: all off */
            LG_CHECK(put_elem(y->dtype, es, (char *)y->data + (size_t)((o * depth + v) * inner + i) * es, on));
        }
    return LG_OK;
}

/* ---- Compress ---- */

/* Axis (-1: flattened), the size along it, and the selected positions (if wanted). */
static int compress_select(lg_kctx *c, int *axis, int64_t *d, int64_t **sel, int64_t *count)
{
    const lg_tensor *x = c->inputs[0], *cond = c->inputs[1];
    const lg_attr *a = lg_node_attr(c->node, "axis");
    *axis = -1;
    *d = lg_tensor_numel_(x);
    if (a) {
        LG_CHECK(axis_attr(c, x, 0, axis));
        *d = x->dims[*axis];
    }
    if (cond->ndim != 1) return lg_error(LG_E_SHAPE, "condition must be 1-D, got rank %d", cond->ndim);
    LG_KNEED_DATA(c, 1);
    int64_t n = cond->dims[0] < *d ? cond->dims[0] : *d; /* extra condition values are ignored */
    *count = 0;
    if (sel && !(*sel = alloc_i64(n))) return lg_error(LG_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++)
        if (lg_tensor_get_i64(cond, i)) {
            if (sel) (*sel)[*count] = i;
            (*count)++;
        }
    return LG_OK;
}

static int compress_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int axis;
    int64_t d, count, dims[LG_MAX_DIMS];
    LG_CHECK(compress_select(c, &axis, &d, NULL, &count));
    if (axis < 0) return lg_kout_shape(c, 0, x->dtype, 1, &count);
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    dims[axis] = count;
    return lg_kout_shape(c, 0, x->dtype, x->ndim, dims);
}

static int compress_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    int axis;
    int64_t d, count, *sel;
    LG_CHECK(compress_select(c, &axis, &d, &sel, &count));
    int64_t outer = axis < 0 ? 1 : lg_dims_numel(axis, x->dims);
    int64_t inner = axis < 0 ? 1 : lg_dims_numel(x->ndim - axis - 1, x->dims + axis + 1);
    int64_t *rows = alloc_i64(outer * count);
    int rc = LG_OK;
    if (!rows) rc = lg_error(LG_E_NOMEM, "out of memory");
    for (int64_t o = 0; rc == LG_OK && o < outer; o++)
        for (int64_t j = 0; j < count; j++) rows[o * count + j] = (o * d + sel[j]) * inner;
    if (rc == LG_OK) rc = lg_copy_rows(c->pool, x->dtype, y->data, x->data, rows, outer * count, inner);
    free(rows);
    free(sel);
    return rc;
}

/* ---- NonZero ---- */

static bool elem_nonzero(const lg_tensor *t, int64_t i)
{
    const void *d = t->data;
    switch (t->dtype) {
    case LG_FLOAT: return (((const uint32_t *)d)[i] & 0x7fffffffu) != 0; /* -0.0 is zero */
    case LG_DOUBLE: return (((const uint64_t *)d)[i] & 0x7fffffffffffffffull) != 0;
    case LG_FLOAT16: case LG_BFLOAT16: return (((const uint16_t *)d)[i] & 0x7fff) != 0;
    default:
        switch (lg_dtype_size(t->dtype)) {
        case 1: return ((const uint8_t *)d)[i] != 0;
        case 2: return ((const uint16_t *)d)[i] != 0;
        case 4: return ((const uint32_t *)d)[i] != 0;
        default: return ((const uint64_t *)d)[i] != 0;
        }
    }
}

static int nonzero_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int64_t n = lg_tensor_numel_(x), count = 0, xs[LG_MAX_DIMS];
    if (x->dtype == LG_STRING) return lg_error(LG_E_UNSUPPORTED, "NonZero on strings");
    for (int64_t i = 0; i < n; i++) count += elem_nonzero(x, i);
    int rank = x->ndim > 0 ? x->ndim : 1; /* a scalar reads as [1] */
    int64_t dims[2] = { rank, count };
    lg_tensor *y = lg_kout_alloc(c, 0, LG_INT64, 2, dims);
    if (!y) return LG_E_NOMEM;
    int64_t *out = y->data;
    lg_strides(x->ndim, x->dims, xs);
    for (int64_t i = 0, j = 0; i < n; i++) {
        if (!elem_nonzero(x, i)) continue;
        for (int k = 0; k < x->ndim; k++) out[k * count + j] = (i / xs[k]) % x->dims[k];
        j++;
    }
    return LG_OK;
}

/* ---- ReverseSequence ---- */

static int reverse_sequence_axes(lg_kctx *c, int *batch_axis, int *time_axis)
{
    const lg_tensor *x = c->inputs[0], *lens = c->inputs[1];
    *batch_axis = (int)lg_attr_int(c->node, "batch_axis", 1);
    *time_axis = (int)lg_attr_int(c->node, "time_axis", 0);
    if (x->ndim < 2) return lg_error(LG_E_SHAPE, "input must have rank >= 2, got %d", x->ndim);
    if (*batch_axis + *time_axis != 1 || *batch_axis * *time_axis != 0)
        return lg_error(LG_E_INVALID_MODEL, "batch_axis %d and time_axis %d must be 0 and 1", *batch_axis, *time_axis);
    if (lens->ndim != 1 || lens->dims[0] != x->dims[*batch_axis])
        return lg_error(LG_E_SHAPE, "sequence_lens must be 1-D of the batch size %lld", (long long)x->dims[*batch_axis]);
    return check_index_type(lens, "sequence_lens");
}

static int reverse_sequence_infer(lg_kctx *c)
{
    int ba, ta;
    LG_CHECK(reverse_sequence_axes(c, &ba, &ta));
    return lg_kout_shape(c, 0, c->inputs[0]->dtype, c->inputs[0]->ndim, c->inputs[0]->dims);
}

static int reverse_sequence_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *lens = c->inputs[1];
    lg_tensor *y = c->outputs[0];
    int ba, ta;
    LG_CHECK(reverse_sequence_axes(c, &ba, &ta));
    int64_t nb = x->dims[ba], nt = x->dims[ta], inner = lg_dims_numel(x->ndim - 2, x->dims + 2);
    int64_t *rows = alloc_i64(nb * nt);
    if (!rows) return lg_error(LG_E_NOMEM, "out of memory");
    int rc = LG_OK;
    for (int64_t b = 0; b < nb && rc == LG_OK; b++) {
        int64_t len = lg_tensor_get_i64(lens, b);
        if (len < 0 || len > nt) {
            rc = lg_error(LG_E_RUNTIME, "sequence_lens[%lld] = %lld outside 0..%lld", (long long)b, (long long)len, (long long)nt);
            break;
        }
        for (int64_t t = 0; t < nt; t++) {
            int64_t src_t = t < len ? len - 1 - t : t;
            int64_t row = ba == 0 ? b * nt + t : t * nb + b, src_row = ba == 0 ? b * nt + src_t : src_t * nb + b;
            rows[row] = src_row * inner;
        }
    }
    if (rc == LG_OK) rc = lg_copy_rows(c->pool, x->dtype, y->data, x->data, rows, nb * nt, inner);
    free(rows);
    return rc;
}

/* ---- TensorScatter (24): update written into a copy of the cache along axis, at each
 * batch's write index (modulo the axis length in circular mode) ---- */

static int tscatter_check(const lg_kctx *c, int *axis, bool *circular)
{
    const lg_tensor *past = lg_kin(c, 0), *upd = lg_kin(c, 1), *wi = lg_kin(c, 2);
    if (!past || !upd) return lg_error(LG_E_INVALID_MODEL, "TensorScatter needs past_cache and update");
    if (past->dtype != upd->dtype || past->ndim != upd->ndim || past->ndim < 2)
        return lg_error(LG_E_SHAPE, "past_cache and update must have the same type and rank (at least 2)");
    LG_CHECK(lg_norm_axis(lg_attr_int(c->node, "axis", -2), past->ndim, axis));
    if (*axis == 0) return lg_error(LG_E_INVALID_MODEL, "axis cannot be the batch axis 0");
    for (int a = 0; a < past->ndim; a++)
        if (a != *axis ? upd->dims[a] != past->dims[a] : upd->dims[a] > past->dims[a])
            return lg_error(LG_E_SHAPE, "update does not fit past_cache along axis %d", a);
    if (wi && (lg_tensor_numel_(wi) != past->dims[0] || wi->dtype != LG_INT64))
        return lg_error(LG_E_SHAPE, "write_indices must be int64 of the batch size %lld", (long long)past->dims[0]);
    const char *mode = lg_attr_string(c->node, "mode", "linear");
    *circular = strcmp(mode, "circular") == 0;
    if (!*circular && strcmp(mode, "linear") != 0) return lg_error(LG_E_INVALID_MODEL, "mode '%s' is not linear or circular", mode);
    return LG_OK;
}

static int tscatter_infer(lg_kctx *c)
{
    int axis;
    bool circular;
    LG_CHECK(tscatter_check(c, &axis, &circular));
    return lg_kout_shape(c, 0, c->inputs[0]->dtype, c->inputs[0]->ndim, c->inputs[0]->dims);
}

static int tscatter_exec(lg_kctx *c)
{
    int axis;
    bool circular;
    LG_CHECK(tscatter_check(c, &axis, &circular));
    const lg_tensor *past = c->inputs[0], *upd = c->inputs[1], *wi = lg_kin(c, 2);
    lg_tensor *y = c->outputs[0];
    if (!y) return LG_OK;
    if (past->dtype == LG_STRING) return lg_error(LG_E_UNSUPPORTED, "TensorScatter of strings");
    if (past->nbytes) memcpy(y->data, past->data, past->nbytes);
    size_t es = lg_dtype_size(past->dtype);
    int64_t max_len = past->dims[axis], len = upd->dims[axis];
    int64_t inner = lg_dims_numel(past->ndim - axis - 1, past->dims + axis + 1);
    int64_t outer = lg_dims_numel(axis, past->dims), per_batch = outer / (past->dims[0] ? past->dims[0] : 1);
    for (int64_t o = 0; o < outer; o++) {
        int64_t b = o / (per_batch ? per_batch : 1), w = wi ? ((const int64_t *)wi->data)[b] : 0;
        for (int64_t s = 0; s < len; s++) {
            int64_t at = w + s;
            if (circular) at = ((at % max_len) + max_len) % max_len;
            if (at < 0 || at >= max_len)
                return lg_error(LG_E_RUNTIME, "write index %lld + %lld is outside the cache length %lld", (long long)w,
                                (long long)s, (long long)max_len);
            memcpy((char *)y->data + (size_t)((o * max_len + at) * inner) * es,
                   (const char *)upd->data + (size_t)((o * len + s) * inner) * es, (size_t)inner * es);
        }
    }
    return LG_OK;
}

const lg_op_def lg_ops_indexing[] = {
    { "Slice", "", 1, 27, slice_infer, slice_exec, NULL, NULL },
    { "Gather", "", 1, 27, gather_infer, gather_exec, NULL, NULL },
    { "GatherElements", "", 11, 27, gather_elements_infer, gather_elements_exec, NULL, NULL },
    { "GatherND", "", 11, 27, gather_nd_infer, gather_nd_exec, NULL, NULL },
    { "Scatter", "", 9, 27, scatter_elements_infer, scatter_elements_exec, NULL, NULL },
    { "ScatterElements", "", 11, 27, scatter_elements_infer, scatter_elements_exec, NULL, NULL },
    { "ScatterND", "", 11, 27, scatter_nd_infer, scatter_nd_exec, NULL, NULL },
    { "OneHot", "", 9, 27, onehot_infer, onehot_exec, NULL, NULL },
    { "Compress", "", 9, 27, compress_infer, compress_exec, NULL, NULL },
    { "NonZero", "", 9, 27, NULL, nonzero_exec, NULL, NULL },
    { "TensorScatter", "", 24, 27, tscatter_infer, tscatter_exec, NULL, NULL },
    { "ReverseSequence", "", 10, 27, reverse_sequence_infer, reverse_sequence_exec, NULL, NULL },
    { NULL }
};
