/*
 * tensor_shape.c: CPU operators that make tensors or change their shape or layout
 * without arithmetic: Constant, Identity, Reshape, Flatten, Squeeze, Unsqueeze,
 * Transpose, Expand, Tile, Shape, Size, Concat, Split, ConstantOfShape, Range, Dropout
 * (inference), Pad, CenterCropPad, BitCast, DepthToSpace, SpaceToDepth, EyeLike, Trilu.
 *
 * Every op works on any element type by copying raw elements (strings are duplicated);
 * the layout changes are expressed as strided n-d copies (tensor_copy.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/tensor_copy.h"

/* ---- shared helpers ---- */

static int same_as_input(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    return lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims);
}

static int copy_input(lg_kctx *c)
{
    return lg_copy_tensor(c->outputs[0], c->inputs[0]);
}

/* Axes from input i (opset >= input_since) or attribute attr; *given = false if absent. */
static int axes_arg(lg_kctx *c, int input, int input_since, const char *attr, int64_t *axes, int *n, bool *given)
{
    *n = 0;
    *given = false;
    if (c->opset >= input_since) {
        const lg_tensor *t = lg_kin(c, input);
        if (!t) return LG_OK;
        *given = true;
        return lg_read_ints(t, attr, axes, LG_MAX_DIMS, n);
    }
    int count;
    const int64_t *a = lg_attr_ints(c->node, attr, &count);
    if (!a) return LG_OK;
    if (count > LG_MAX_DIMS) return lg_error(LG_E_INVALID_MODEL, "%s has %d values, at most %d", attr, count, LG_MAX_DIMS);
    memcpy(axes, a, (size_t)count * sizeof(int64_t));
    *n = count;
    *given = true;
    return LG_OK;
}

/* Normalizes axes against rank into a bitmask; duplicates are an error. */
static int axes_mask(const int64_t *axes, int n, int rank, uint32_t *mask)
{
    *mask = 0;
    for (int i = 0; i < n; i++) {
        int a;
        LG_CHECK(lg_norm_axis(axes[i], rank, &a));
        if (*mask & (1u << a)) return lg_error(LG_E_INVALID_MODEL, "axis %lld repeated", (long long)axes[i]);
        *mask |= 1u << a;
    }
    return LG_OK;
}

/* ---- Constant ---- */

typedef struct constant_form {
    const char *attr;
    lg_attr_type type;
    lg_dtype dtype;
    bool is_list;
} constant_form;

static const constant_form constant_forms[] = {
    { "value", LG_ATTR_TENSOR, LG_UNDEFINED, false },
    { "sparse_value", LG_ATTR_TENSOR, LG_UNDEFINED, false },
    { "value_float", LG_ATTR_FLOAT, LG_FLOAT, false },
    { "value_floats", LG_ATTR_FLOATS, LG_FLOAT, true },
    { "value_int", LG_ATTR_INT, LG_INT64, false },
    { "value_ints", LG_ATTR_INTS, LG_INT64, true },
    { "value_string", LG_ATTR_STRING, LG_STRING, false },
    { "value_strings", LG_ATTR_STRINGS, LG_STRING, true },
};

static int constant_attr(const lg_node *n, const constant_form **form, const lg_attr **attr)
{
    for (size_t i = 0; i < sizeof(constant_forms) / sizeof(constant_forms[0]); i++) {
        const lg_attr *a = lg_node_attr(n, constant_forms[i].attr);
        if (!a) continue;
        bool tensor_form = constant_forms[i].dtype == LG_UNDEFINED; /* sparse ones arrive densified */
        if (tensor_form ? !a->t : a->type != constant_forms[i].type)
            return lg_error(LG_E_INVALID_MODEL, "attribute '%s' has type %d", a->name, (int)a->type);
        *form = &constant_forms[i];
        *attr = a;
        return LG_OK;
    }
    return lg_error(LG_E_INVALID_MODEL, "Constant without a value attribute");
}

static int constant_infer(lg_kctx *c)
{
    const constant_form *f;
    const lg_attr *a;
    LG_CHECK(constant_attr(c->node, &f, &a));
    if (f->dtype == LG_UNDEFINED) return lg_kout_shape(c, 0, a->t->dtype, a->t->ndim, a->t->dims);
    int64_t len = a->n;
    return lg_kout_shape(c, 0, f->dtype, f->is_list ? 1 : 0, &len);
}

static int constant_exec(lg_kctx *c)
{
    const constant_form *f;
    const lg_attr *a;
    void *y = c->outputs[0]->data;
    LG_CHECK(constant_attr(c->node, &f, &a));
    switch (f->type) {
    case LG_ATTR_FLOAT: *(float *)y = a->f; return LG_OK;
    case LG_ATTR_INT: *(int64_t *)y = a->i; return LG_OK;
    case LG_ATTR_STRING: return lg_copy_elems(LG_STRING, y, &a->s, 1);
    case LG_ATTR_FLOATS: return lg_copy_elems(LG_FLOAT, y, a->floats, a->n);
    case LG_ATTR_INTS: return lg_copy_elems(LG_INT64, y, a->ints, a->n);
    case LG_ATTR_STRINGS: return lg_copy_elems(LG_STRING, y, a->strings, a->n);
    default: return lg_copy_tensor(c->outputs[0], a->t);
    }
}

/* ---- Reshape, Flatten, Squeeze, Unsqueeze ---- */

static int reshape_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int64_t shape[LG_MAX_DIMS], dims[LG_MAX_DIMS];
    int n;
    if (c->opset < 5) {
        const int64_t *a = lg_attr_ints(c->node, "shape", &n);
        if (!a || n > LG_MAX_DIMS) return lg_error(LG_E_INVALID_MODEL, "Reshape needs a shape attribute of at most %d values", LG_MAX_DIMS);
        memcpy(shape, a, (size_t)n * sizeof(int64_t));
    } else {
        if (!lg_kin(c, 1)) return lg_error(LG_E_INVALID_MODEL, "Reshape without a shape input");
        LG_CHECK(lg_read_ints(c->inputs[1], "shape", shape, LG_MAX_DIMS, &n));
    }
    bool allowzero = c->opset >= 14 && lg_attr_int(c->node, "allowzero", 0) != 0;
    int infer_at = -1;
    int64_t known = 1;
    for (int i = 0; i < n; i++) {
        dims[i] = shape[i];
        if (shape[i] == 0 && !allowzero) {
            if (i >= x->ndim) return lg_error(LG_E_SHAPE, "shape[%d] = 0 copies a dimension the rank-%d input lacks", i, x->ndim);
            dims[i] = x->dims[i];
        } else if (shape[i] == -1) {
            if (infer_at >= 0) return lg_error(LG_E_SHAPE, "shape has more than one -1");
            infer_at = i;
            continue;
        } else if (shape[i] < -1) {
            return lg_error(LG_E_SHAPE, "shape[%d] = %lld is negative", i, (long long)shape[i]);
        }
        if (dims[i] > 0 && known > INT64_MAX / dims[i]) return lg_error(LG_E_SHAPE, "shape overflows");
        known *= dims[i];
    }
    int64_t numel = lg_tensor_numel_(x);
    char a[256], b[256];
    if (infer_at >= 0) {
        if (known == 0 || numel % known != 0)
            return lg_error(LG_E_SHAPE, "cannot reshape %s into %s", lg_dims_str(x->ndim, x->dims, a, sizeof(a)),
                            lg_dims_str(n, shape, b, sizeof(b)));
        dims[infer_at] = numel / known;
    } else if (known != numel) {
        return lg_error(LG_E_SHAPE, "cannot reshape %s into %s", lg_dims_str(x->ndim, x->dims, a, sizeof(a)),
                        lg_dims_str(n, shape, b, sizeof(b)));
    }
    return lg_kout_shape(c, 0, x->dtype, n, dims);
}

static int flatten_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int64_t axis = lg_attr_int(c->node, "axis", 1);
    if (axis < -x->ndim || axis > x->ndim)
        return lg_error(LG_E_INVALID_MODEL, "axis %lld out of range for rank %d", (long long)axis, x->ndim);
    if (axis < 0) axis += x->ndim;
    int64_t dims[2] = { lg_dims_numel((int)axis, x->dims), lg_dims_numel(x->ndim - (int)axis, x->dims + axis) };
    return lg_kout_shape(c, 0, x->dtype, 2, dims);
}

static int squeeze_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int64_t axes[LG_MAX_DIMS], dims[LG_MAX_DIMS];
    int n, nd = 0;
    bool given;
    uint32_t mask = 0;
    LG_CHECK(axes_arg(c, 1, 13, "axes", axes, &n, &given));
    given = given && n > 0; /* empty axes: squeeze every size-1 axis */
    LG_CHECK(axes_mask(axes, n, x->ndim, &mask));
    for (int i = 0; i < x->ndim; i++) {
        bool drop = given ? (mask >> i) & 1 : x->dims[i] == 1;
        if (drop && x->dims[i] != 1)
            return lg_error(LG_E_SHAPE, "cannot squeeze axis %d of size %lld", i, (long long)x->dims[i]);
        if (!drop) dims[nd++] = x->dims[i];
    }
    return lg_kout_shape(c, 0, x->dtype, nd, dims);
}

static int unsqueeze_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int64_t axes[LG_MAX_DIMS], dims[LG_MAX_DIMS];
    int n;
    bool given;
    uint32_t mask;
    LG_CHECK(axes_arg(c, 1, 13, "axes", axes, &n, &given));
    if (!given) return lg_error(LG_E_INVALID_MODEL, "Unsqueeze without axes");
    int rank = x->ndim + n;
    if (rank > LG_MAX_DIMS) return lg_error(LG_E_LIMIT, "Unsqueeze to rank %d exceeds %d", rank, LG_MAX_DIMS);
    LG_CHECK(axes_mask(axes, n, rank, &mask));
    for (int i = 0, k = 0; i < rank; i++) dims[i] = (mask >> i) & 1 ? 1 : x->dims[k++];
    return lg_kout_shape(c, 0, x->dtype, rank, dims);
}

/* ---- Transpose ---- */

static int transpose_perm(lg_kctx *c, int *perm)
{
    int rank = c->inputs[0]->ndim, n;
    const int64_t *p = lg_attr_ints(c->node, "perm", &n);
    uint32_t seen = 0;
    if (!p) {
        for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
        return LG_OK;
    }
    if (n != rank) return lg_error(LG_E_INVALID_MODEL, "perm has %d values for rank %d", n, rank);
    for (int i = 0; i < n; i++) {
        if (p[i] < 0 || p[i] >= rank || (seen >> p[i]) & 1)
            return lg_error(LG_E_INVALID_MODEL, "perm is not a permutation of 0..%d", rank - 1);
        seen |= 1u << p[i];
        perm[i] = (int)p[i];
    }
    return LG_OK;
}

static int transpose_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int perm[LG_MAX_DIMS];
    int64_t dims[LG_MAX_DIMS];
    LG_CHECK(transpose_perm(c, perm));
    for (int i = 0; i < x->ndim; i++) dims[i] = x->dims[perm[i]];
    return lg_kout_shape(c, 0, x->dtype, x->ndim, dims);
}

static int transpose_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    int perm[LG_MAX_DIMS];
    int64_t xs[LG_MAX_DIMS], ss[LG_MAX_DIMS], ds[LG_MAX_DIMS];
    LG_CHECK(transpose_perm(c, perm));
    lg_strides(x->ndim, x->dims, xs);
    lg_strides(y->ndim, y->dims, ds);
    for (int i = 0; i < x->ndim; i++) ss[i] = xs[perm[i]];
    return lg_copy_nd(c->pool, x->dtype, y->ndim, y->dims, y->data, ds, x->data, ss);
}

/* ---- Expand, Tile ---- */

static int expand_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int64_t shape[LG_MAX_DIMS], dims[LG_MAX_DIMS];
    int n, nd;
    LG_CHECK(lg_read_ints(c->inputs[1], "shape", shape, LG_MAX_DIMS, &n));
    LG_CHECK(lg_broadcast_shape(x->ndim, x->dims, n, shape, &nd, dims));
    return lg_kout_shape(c, 0, x->dtype, nd, dims);
}

static int expand_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    int64_t ss[LG_MAX_DIMS], ds[LG_MAX_DIMS];
    lg_broadcast_strides(x->ndim, x->dims, y->ndim, ss);
    lg_strides(y->ndim, y->dims, ds);
    return lg_copy_nd(c->pool, x->dtype, y->ndim, y->dims, y->data, ds, x->data, ss);
}

static int tile_repeats(lg_kctx *c, int64_t *reps)
{
    int n, rank = c->inputs[0]->ndim;
    LG_CHECK(lg_read_ints(c->inputs[1], "repeats", reps, LG_MAX_DIMS, &n));
    if (n != rank) return lg_error(LG_E_SHAPE, "repeats has %d values for rank %d", n, rank);
    for (int i = 0; i < n; i++)
        if (reps[i] < 0) return lg_error(LG_E_SHAPE, "repeats[%d] = %lld is negative", i, (long long)reps[i]);
    return LG_OK;
}

static int tile_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int64_t reps[LG_MAX_DIMS], dims[LG_MAX_DIMS];
    LG_CHECK(tile_repeats(c, reps));
    for (int i = 0; i < x->ndim; i++) {
        if (reps[i] > 0 && x->dims[i] > INT64_MAX / reps[i]) return lg_error(LG_E_SHAPE, "tiled shape overflows");
        dims[i] = x->dims[i] * reps[i];
    }
    return lg_kout_shape(c, 0, x->dtype, x->ndim, dims);
}

/* The output seen as [r0, d0, r1, d1, ...]: repeat dims read the input with stride 0. */
static int tile_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    int64_t reps[LG_MAX_DIMS], xs[LG_MAX_DIMS];
    int64_t dims[LG_COPY_MAX_DIMS], ss[LG_COPY_MAX_DIMS], ds[LG_COPY_MAX_DIMS];
    LG_CHECK(tile_repeats(c, reps));
    lg_strides(x->ndim, x->dims, xs);
    for (int i = 0; i < x->ndim; i++) {
        dims[2 * i] = reps[i];
        dims[2 * i + 1] = x->dims[i];
        ss[2 * i] = 0;
        ss[2 * i + 1] = xs[i];
    }
    lg_strides(2 * x->ndim, dims, ds);
    return lg_copy_nd(c->pool, x->dtype, 2 * x->ndim, dims, y->data, ds, x->data, ss);
}

/* ---- Shape, Size ---- */

static void shape_range(lg_kctx *c, int64_t *start, int64_t *end)
{
    int64_t rank = c->inputs[0]->ndim;
    int64_t s = c->opset >= 15 ? lg_attr_int(c->node, "start", 0) : 0;
    int64_t e = c->opset >= 15 ? lg_attr_int(c->node, "end", rank) : rank;
    if (s < 0) s += rank;
    if (e < 0) e += rank;
    *start = s < 0 ? 0 : s > rank ? rank : s;
    *end = e < *start ? *start : e > rank ? rank : e;
}

static int shape_infer(lg_kctx *c)
{
    int64_t s, e, len;
    shape_range(c, &s, &e);
    len = e - s;
    return lg_kout_shape(c, 0, LG_INT64, 1, &len);
}

static int shape_exec(lg_kctx *c)
{
    int64_t s, e;
    shape_range(c, &s, &e);
    if (e > s) memcpy(c->outputs[0]->data, c->inputs[0]->dims + s, (size_t)(e - s) * sizeof(int64_t));
    return LG_OK;
}

static int size_infer(lg_kctx *c) { return lg_kout_shape(c, 0, LG_INT64, 0, NULL); }

static int size_exec(lg_kctx *c)
{
    *(int64_t *)c->outputs[0]->data = lg_tensor_numel_(c->inputs[0]);
    return LG_OK;
}

/* ---- Concat, Split ---- */

static int concat_axis(lg_kctx *c, int *axis)
{
    if (c->n_inputs < 1 || !c->inputs[0]) return lg_error(LG_E_INVALID_MODEL, "Concat without inputs");
    const lg_attr *a = lg_node_attr(c->node, "axis");
    if (!a && c->opset >= 4) return lg_error(LG_E_INVALID_MODEL, "Concat without an axis attribute");
    if (c->inputs[0]->ndim < 1) return lg_error(LG_E_SHAPE, "Concat of scalars");
    return lg_norm_axis(a ? a->i : 1, c->inputs[0]->ndim, axis);
}

static int concat_infer(lg_kctx *c)
{
    const lg_tensor *x0 = c->inputs[0];
    int axis;
    int64_t dims[LG_MAX_DIMS];
    char a[256], b[256];
    LG_CHECK(concat_axis(c, &axis));
    memcpy(dims, x0->dims, sizeof(int64_t) * (size_t)x0->ndim);
    dims[axis] = 0;
    for (int i = 0; i < c->n_inputs; i++) {
        const lg_tensor *x = c->inputs[i];
        if (!x) return lg_error(LG_E_INVALID_MODEL, "Concat input %d is missing", i);
        bool fits = x->dtype == x0->dtype && x->ndim == x0->ndim;
        for (int k = 0; fits && k < x->ndim; k++) fits = k == axis || x->dims[k] == x0->dims[k];
        if (!fits)
            return lg_error(LG_E_SHAPE, "cannot concatenate %s %s and %s %s on axis %d", lg_dtype_name(x0->dtype),
                            lg_dims_str(x0->ndim, x0->dims, a, sizeof(a)), lg_dtype_name(x->dtype),
                            lg_dims_str(x->ndim, x->dims, b, sizeof(b)), axis);
        dims[axis] += x->dims[axis];
    }
    return lg_kout_shape(c, 0, x0->dtype, x0->ndim, dims);
}

static int concat_exec(lg_kctx *c)
{
    lg_tensor *y = c->outputs[0];
    int axis;
    LG_CHECK(concat_axis(c, &axis));
    size_t es = lg_dtype_size(y->dtype);
    int64_t outer = lg_dims_numel(axis, y->dims);
    int64_t inner = lg_dims_numel(y->ndim - axis - 1, y->dims + axis + 1);
    int64_t done = 0;
    for (int i = 0; i < c->n_inputs; i++) {
        const lg_tensor *x = c->inputs[i];
        int64_t block = x->dims[axis] * inner;
        int64_t dims[2] = { outer, block }, ds[2] = { y->dims[axis] * inner, 1 }, ss[2] = { block, 1 };
        LG_CHECK(lg_copy_nd(c->pool, y->dtype, 2, dims, (char *)y->data + (size_t)done * es, ds, x->data, ss));
        done += block;
    }
    return LG_OK;
}

/* Sizes of the parts: the split input (opset 13+, or opset 1), else the split attribute,
 * else equal parts (the last one smaller when the size does not divide). */
static int split_sizes(lg_kctx *c, int *axis, int64_t *sizes)
{
    const lg_tensor *x = c->inputs[0];
    int parts = c->n_outputs, n = 0;
    bool given = false;
    if (x->ndim < 1) return lg_error(LG_E_SHAPE, "Split of a scalar");
    LG_CHECK(lg_norm_axis(lg_attr_int(c->node, "axis", 0), x->ndim, axis));
    int64_t d = x->dims[*axis];
    const lg_tensor *st = lg_kin(c, 1);
    if (st && (c->opset >= 13 || c->opset == 1)) {
        LG_CHECK(lg_read_ints(st, "split", sizes, parts, &n));
        given = n > 0; /* an empty split input means equal parts */
    } else if (c->opset < 13) {
        const int64_t *a = lg_attr_ints(c->node, "split", &n);
        if (a && n != parts) return lg_error(LG_E_INVALID_MODEL, "split has %d values for %d outputs", n, parts);
        if (a) memcpy(sizes, a, sizeof(int64_t) * (size_t)n);
        given = a != NULL;
    }
    if (given) {
        int64_t sum = 0;
        if (n != parts) return lg_error(LG_E_SHAPE, "split has %d values for %d outputs", n, parts);
        for (int i = 0; i < n; i++) {
            if (sizes[i] < 0 || sizes[i] > d) return lg_error(LG_E_SHAPE, "split[%d] = %lld is out of range", i, (long long)sizes[i]);
            sum += sizes[i];
        }
        if (sum != d) return lg_error(LG_E_SHAPE, "split sums to %lld, axis %d has size %lld", (long long)sum, *axis, (long long)d);
        return LG_OK;
    }
    int64_t num_outputs = lg_attr_int(c->node, "num_outputs", parts); /* opset 18 */
    if (c->opset >= 18 && num_outputs != parts)
        return lg_error(LG_E_INVALID_MODEL, "num_outputs is %lld but the node has %d outputs", (long long)num_outputs, parts);
    int64_t chunk = parts > 0 ? (d + parts - 1) / parts : 0;
    if (parts > 0 && chunk * (parts - 1) > d)
        return lg_error(LG_E_SHAPE, "cannot split size %lld into %d parts", (long long)d, parts);
    for (int i = 0; i < parts; i++) sizes[i] = i < parts - 1 ? chunk : d - chunk * (parts - 1);
    return LG_OK;
}

static int split_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int axis;
    int64_t dims[LG_MAX_DIMS];
    int64_t *sizes = malloc(sizeof(int64_t) * (size_t)(c->n_outputs + 1));
    if (!sizes) return lg_error(LG_E_NOMEM, "out of memory");
    int rc = split_sizes(c, &axis, sizes);
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    for (int i = 0; rc == LG_OK && i < c->n_outputs; i++) {
        dims[axis] = sizes[i];
        rc = lg_kout_shape(c, i, x->dtype, x->ndim, dims);
    }
    free(sizes);
    return rc;
}

static int split_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int axis;
    int64_t *sizes = malloc(sizeof(int64_t) * (size_t)(c->n_outputs + 1));
    if (!sizes) return lg_error(LG_E_NOMEM, "out of memory");
    int rc = split_sizes(c, &axis, sizes);
    size_t es = lg_dtype_size(x->dtype);
    int64_t outer = lg_dims_numel(axis, x->dims);
    int64_t inner = lg_dims_numel(x->ndim - axis - 1, x->dims + axis + 1);
    int64_t done = 0;
    for (int i = 0; rc == LG_OK && i < c->n_outputs; i++) {
        int64_t block = sizes[i] * inner;
        int64_t dims[2] = { outer, block }, ds[2] = { block, 1 }, ss[2] = { x->dims[axis] * inner, 1 };
        if (c->outputs[i])
            rc = lg_copy_nd(c->pool, x->dtype, 2, dims, c->outputs[i]->data, ds,
                            (const char *)x->data + (size_t)done * es, ss);
        done += block;
    }
    free(sizes);
    return rc;
}

/* ---- ConstantOfShape, Range, EyeLike ---- */

static int constant_of_shape_value(lg_kctx *c, const lg_tensor **v)
{
    *v = lg_attr_tensor(c->node, "value");
    if (*v && lg_tensor_numel_(*v) != 1)
        return lg_error(LG_E_INVALID_MODEL, "value must hold one element, has %lld", (long long)lg_tensor_numel_(*v));
    return LG_OK;
}

static int constant_of_shape_infer(lg_kctx *c)
{
    const lg_tensor *v;
    int64_t dims[LG_MAX_DIMS];
    int n;
    LG_CHECK(constant_of_shape_value(c, &v));
    LG_CHECK(lg_read_ints(c->inputs[0], "shape", dims, LG_MAX_DIMS, &n));
    return lg_kout_shape(c, 0, v ? v->dtype : LG_FLOAT, n, dims);
}

static int constant_of_shape_exec(lg_kctx *c)
{
    const lg_tensor *v;
    lg_tensor *y = c->outputs[0];
    LG_CHECK(constant_of_shape_value(c, &v));
    if (!v) return LG_OK; /* float zeros */
    return lg_fill_elems(y->dtype, y->data, v->data, lg_tensor_numel_(y));
}

static int range_args(lg_kctx *c, int64_t *count)
{
    for (int i = 0; i < 3; i++) {
        const lg_tensor *t = lg_kin(c, i);
        if (!t || lg_tensor_numel_(t) != 1 || t->dtype != c->inputs[0]->dtype)
            return lg_error(LG_E_SHAPE, "Range input %d must be a scalar of the type of start", i);
        LG_KNEED_DATA(c, i);
    }
    const lg_tensor *const *in = c->inputs;
    if (lg_dtype_is_int(in[0]->dtype)) {
        int64_t s = lg_tensor_get_i64(in[0], 0), l = lg_tensor_get_i64(in[1], 0), d = lg_tensor_get_i64(in[2], 0);
        if (d == 0) return lg_error(LG_E_RUNTIME, "Range delta is 0");
        int64_t diff;
        if (__builtin_sub_overflow(l, s, &diff) || diff == INT64_MIN)
            return lg_error(LG_E_LIMIT, "Range(%lld, %lld, %lld) is too long", (long long)s, (long long)l, (long long)d);
        int64_t n = diff / d + (diff % d != 0 && (diff < 0) == (d < 0));
        *count = n > 0 ? n : 0;
        return LG_OK;
    }
    double s = lg_tensor_get_f64(in[0], 0), l = lg_tensor_get_f64(in[1], 0), d = lg_tensor_get_f64(in[2], 0);
    double n = ceil((l - s) / d);
    if (d == 0 || isnan(n) || n > 1e15) return lg_error(LG_E_RUNTIME, "Range(%g, %g, %g) has no finite length", s, l, d);
    *count = n > 0 ? (int64_t)n : 0;
    return LG_OK;
}

static int range_infer(lg_kctx *c)
{
    int64_t n;
    LG_CHECK(range_args(c, &n));
    return lg_kout_shape(c, 0, c->inputs[0]->dtype, 1, &n);
}

static int range_exec(lg_kctx *c)
{
    const lg_tensor *const *in = c->inputs;
    lg_tensor *y = c->outputs[0];
    int64_t n = lg_tensor_numel_(y);
    switch (y->dtype) {
    case LG_INT64: case LG_INT32: case LG_INT16: case LG_INT8:
    case LG_UINT64: case LG_UINT32: case LG_UINT16: case LG_UINT8: {
        int64_t s = lg_tensor_get_i64(in[0], 0), d = lg_tensor_get_i64(in[2], 0);
        size_t es = lg_dtype_size(y->dtype);
        for (int64_t i = 0; i < n; i++) {
            int64_t v = s + i * d;
            memcpy((char *)y->data + (size_t)i * es, &v, es); /* little-endian truncation */
        }
        return LG_OK;
    }
    case LG_FLOAT: {
        float s = (float)lg_tensor_get_f64(in[0], 0), d = (float)lg_tensor_get_f64(in[2], 0);
        float *yd = y->data;
        for (int64_t i = 0; i < n; i++) yd[i] = s + (float)i * d;
        return LG_OK;
    }
    default: {
        double s = lg_tensor_get_f64(in[0], 0), d = lg_tensor_get_f64(in[2], 0);
        for (int64_t i = 0; i < n; i++) lg_tensor_set_f64(y, i, s + (double)i * d);
        return LG_OK;
    }
    }
}

static int eyelike_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_dtype dt = (lg_dtype)lg_attr_int(c->node, "dtype", x->dtype);
    if (x->ndim != 2) return lg_error(LG_E_SHAPE, "EyeLike needs a 2-D input, got rank %d", x->ndim);
    if (dt == LG_STRING || lg_dtype_size(dt) == 0)
        return lg_error(LG_E_UNSUPPORTED, "EyeLike of type %s", lg_dtype_name(dt));
    return lg_kout_shape(c, 0, dt, 2, x->dims);
}

static int eyelike_exec(lg_kctx *c)
{
    lg_tensor *y = c->outputs[0];
    int64_t k = lg_attr_int(c->node, "k", 0), rows = y->dims[0], cols = y->dims[1];
    k = k < -rows ? -rows : k > cols ? cols : k; /* keeps i + k from overflowing */
    for (int64_t i = 0; i < rows; i++)
        if (i + k >= 0 && i + k < cols) lg_tensor_set_f64(y, i * cols + i + k, 1.0);
    return LG_OK;
}

/* ---- Dropout (inference only) ---- */

/* Training mode drops at random (unsupported) unless the ratio is 0: then, as at
 * inference, the output is the input and the mask all true. */
static int dropout_training(lg_kctx *c, bool *training)
{
    const lg_tensor *t = c->opset >= 12 ? lg_kin(c, 2) : NULL, *ratio = c->opset >= 12 ? lg_kin(c, 1) : NULL;
    *training = false;
    if (!t || !t->data) return LG_OK;
    if (lg_tensor_numel_(t) != 1) return lg_error(LG_E_SHAPE, "training_mode must be a scalar");
    *training = lg_tensor_get_i64(t, 0) != 0;
    if (*training && ratio && ratio->data && lg_tensor_numel_(ratio) == 1 && lg_tensor_get_f64(ratio, 0) == 0.0)
        *training = false;
    return LG_OK;
}

static int dropout_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    bool training;
    LG_CHECK(dropout_training(c, &training));
    if (training) return lg_error(LG_E_UNSUPPORTED, "Dropout in training mode");
    LG_CHECK(same_as_input(c));
    return lg_kout_shape(c, 1, c->opset >= 10 ? LG_BOOL : x->dtype, x->ndim, x->dims);
}

static int dropout_exec(lg_kctx *c)
{
    bool training;
    LG_CHECK(dropout_training(c, &training));
    if (training) return lg_error(LG_E_UNSUPPORTED, "Dropout in training mode");
    LG_CHECK(copy_input(c));
    lg_tensor *mask = c->n_outputs > 1 ? c->outputs[1] : NULL;
    if (!mask) return LG_OK;
    for (int64_t i = 0, n = lg_tensor_numel_(mask); i < n; i++) lg_tensor_set_f64(mask, i, 1.0);
    return LG_OK;
}

/* ---- BitCast (opset 26): the same bits read as another type of the same width ---- */

static int bitcast_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_dtype to = (lg_dtype)lg_attr_int(c->node, "to", 0);
    if (lg_dtype_size(to) == 0 || to == LG_STRING || x->dtype == LG_STRING)
        return lg_error(LG_E_UNSUPPORTED, "BitCast from %s to type %d", lg_dtype_name(x->dtype), (int)to);
    if (lg_dtype_bits(to) != lg_dtype_bits(x->dtype))
        return lg_error(LG_E_INVALID_MODEL, "BitCast from %s (%d bits) to %s (%d bits): widths differ", lg_dtype_name(x->dtype),
                        lg_dtype_bits(x->dtype), lg_dtype_name(to), lg_dtype_bits(to));
    return lg_kout_shape(c, 0, to, x->ndim, x->dims);
}

static int bitcast_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    if (!y || !x->nbytes) return LG_OK;
    memcpy(y->data, x->data, x->nbytes);
    int bits = lg_dtype_bits(y->dtype);
    if (bits < 8) /* one element per byte in memory: keep the low bits, sign-extend int4/int2 */
        for (int64_t i = 0, n = lg_tensor_numel_(y); i < n; i++) {
            uint8_t *b = (uint8_t *)y->data + i;
            *b = (uint8_t)lg_wrap_subbyte(y->dtype, *b & ((1 << bits) - 1));
        }
    return LG_OK;
}

/* ---- CenterCropPad (opset 18): each named axis cropped or zero-padded to its new size
 * around the centre (the extra element of an odd difference goes to the end) ---- */

static int ccp_shape(lg_kctx *c, int64_t *dims)
{
    const lg_tensor *x = c->inputs[0], *shape = lg_kin(c, 1);
    int64_t sizes[LG_MAX_DIMS];
    int n, na = 0;
    if (!shape) return lg_error(LG_E_INVALID_MODEL, "CenterCropPad needs shape");
    LG_CHECK(lg_read_ints(shape, "shape", sizes, LG_MAX_DIMS, &n));
    const int64_t *axes = lg_attr_ints(c->node, "axes", &na);
    if (axes ? na != n : n != x->ndim)
        return lg_error(LG_E_SHAPE, "shape has %d values for %d axes", n, axes ? na : x->ndim);
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    for (int i = 0; i < n; i++) {
        int a = i;
        if (axes) LG_CHECK(lg_norm_axis(axes[i], x->ndim, &a));
        if (sizes[i] < 0) return lg_error(LG_E_SHAPE, "shape[%d] = %lld is negative", i, (long long)sizes[i]);
        dims[a] = sizes[i];
    }
    return LG_OK;
}

static int ccp_infer(lg_kctx *c)
{
    int64_t dims[LG_MAX_DIMS];
    if (c->inputs[0]->dtype == LG_STRING) return lg_error(LG_E_UNSUPPORTED, "CenterCropPad of strings");
    LG_CHECK(ccp_shape(c, dims));
    return lg_kout_shape(c, 0, c->inputs[0]->dtype, c->inputs[0]->ndim, dims);
}

static int ccp_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    if (!y) return LG_OK;
    int nd = x->ndim;
    int64_t off[LG_MAX_DIMS], xs[LG_MAX_DIMS], idx[LG_MAX_DIMS] = { 0 };
    size_t es = lg_dtype_size(x->dtype);
    lg_strides(nd, x->dims, xs);
    for (int a = 0; a < nd; a++) /* source index = output index + off */
        off[a] = x->dims[a] >= y->dims[a] ? (x->dims[a] - y->dims[a]) / 2 : -((y->dims[a] - x->dims[a]) / 2);
    for (int64_t i = 0, n = lg_tensor_numel_(y); i < n; i++) {
        int64_t src = 0;
        bool in = true;
        for (int a = 0; a < nd && in; a++) {
            int64_t k = idx[a] + off[a];
            in = k >= 0 && k < x->dims[a];
            src += k * xs[a];
        }
        if (in) memcpy((char *)y->data + (size_t)i * es, (const char *)x->data + (size_t)src * es, es);
        for (int a = nd - 1; a >= 0 && ++idx[a] == y->dims[a]; a--) idx[a] = 0;
    }
    return LG_OK;
}

/* ---- Pad ---- */

enum pad_mode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

typedef struct pad_args {
    enum pad_mode mode;
    int64_t pads[2 * LG_MAX_DIMS]; /* begins then ends */
    union {
        uint64_t u64;
        char *str;
        unsigned char bytes[8];
    } value;                     /* one element of the tensor's type */
} pad_args;

static int pad_value(lg_kctx *c, pad_args *p)
{
    const lg_tensor *x = c->inputs[0];
    const lg_tensor *v = c->opset >= 11 ? lg_kin(c, 2) : NULL;
    memset(&p->value, 0, sizeof(p->value));
    if (x->dtype == LG_STRING) p->value.str = "";
    if (v && lg_tensor_numel_(v) > 0) {
        if (v->dtype != x->dtype) return lg_error(LG_E_SHAPE, "constant_value type %s differs from data type %s",
                                                  lg_dtype_name(v->dtype), lg_dtype_name(x->dtype));
        if (!v->data) return LG_E_DYNAMIC;
        memcpy(&p->value, v->data, lg_dtype_size(v->dtype));
    } else if (c->opset < 11 && x->dtype != LG_STRING) {
        lg_tensor tmp = *x;
        tmp.data = p->value.bytes;
        lg_tensor_set_f64(&tmp, 0, lg_attr_float(c->node, "value", 0.0f));
    }
    return LG_OK;
}

static int pad_args_get(lg_kctx *c, pad_args *p)
{
    static const char *const modes[] = { "constant", "reflect", "edge", "wrap" };
    const lg_tensor *x = c->inputs[0];
    const char *mode = lg_attr_string(c->node, "mode", "constant");
    int n, n_modes = c->opset >= 19 ? 4 : 3;
    p->mode = (enum pad_mode)-1;
    for (int i = 0; i < n_modes; i++)
        if (strcmp(mode, modes[i]) == 0) p->mode = (enum pad_mode)i;
    if ((int)p->mode < 0) return lg_error(LG_E_UNSUPPORTED, "Pad mode '%s'", mode);
    const lg_tensor *axes = c->opset >= 18 ? lg_kin(c, 3) : NULL;
    if (axes) { /* opset 18: pads name only these axes, begins then ends */
        int64_t list[LG_MAX_DIMS], given[2 * LG_MAX_DIMS];
        int na, np;
        if (!lg_kin(c, 1)) return lg_error(LG_E_INVALID_MODEL, "Pad without pads");
        LG_CHECK(lg_read_ints(axes, "axes", list, LG_MAX_DIMS, &na));
        LG_CHECK(lg_read_ints(c->inputs[1], "pads", given, 2 * LG_MAX_DIMS, &np));
        if (np != 2 * na) return lg_error(LG_E_SHAPE, "pads has %d values for %d axes", np, na);
        memset(p->pads, 0, sizeof(p->pads));
        for (int i = 0; i < na; i++) {
            int ax;
            LG_CHECK(lg_norm_axis(list[i], x->ndim, &ax));
            p->pads[ax] = given[i];
            p->pads[ax + x->ndim] = given[i + na];
        }
        n = 2 * x->ndim;
    } else if (c->opset >= 11) {
        if (!lg_kin(c, 1)) return lg_error(LG_E_INVALID_MODEL, "Pad without pads");
        LG_CHECK(lg_read_ints(c->inputs[1], "pads", p->pads, 2 * LG_MAX_DIMS, &n));
    } else {
        const int64_t *a = lg_attr_ints(c->node, c->opset < 2 ? "paddings" : "pads", &n);
        if (!a || n > 2 * LG_MAX_DIMS) return lg_error(LG_E_INVALID_MODEL, "Pad without a valid pads attribute");
        memcpy(p->pads, a, sizeof(int64_t) * (size_t)n);
    }
    if (n != 2 * x->ndim) return lg_error(LG_E_SHAPE, "pads has %d values for rank %d", n, x->ndim);
    return pad_value(c, p);
}

static int pad_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    pad_args p;
    int64_t dims[LG_MAX_DIMS];
    LG_CHECK(pad_args_get(c, &p));
    for (int i = 0; i < x->ndim; i++) {
        if (__builtin_add_overflow(x->dims[i], p.pads[i], &dims[i]) ||
            __builtin_add_overflow(dims[i], p.pads[i + x->ndim], &dims[i]) || dims[i] < 0)
            return lg_error(LG_E_SHAPE, "pads %lld, %lld do not fit axis %d of size %lld", (long long)p.pads[i],
                            (long long)p.pads[i + x->ndim], i, (long long)x->dims[i]);
        if (dims[i] > 0 && x->dims[i] == 0 && p.mode != PAD_CONSTANT)
            return lg_error(LG_E_SHAPE, "mode '%s' cannot pad the empty axis %d", lg_attr_string(c->node, "mode", ""), i);
    }
    return lg_kout_shape(c, 0, x->dtype, x->ndim, dims);
}

/* Source index of output index i along an axis of size d with pad begin b; -1 = value. */
static int64_t pad_source(enum pad_mode mode, int64_t i, int64_t b, int64_t d)
{
    int64_t s = i - b;
    if (s >= 0 && s < d) return s;
    if (mode == PAD_CONSTANT) return -1;
    if (mode == PAD_WRAP) return ((s % d) + d) % d;
    if (mode == PAD_EDGE || d == 1) return s < 0 ? 0 : d - 1;
    int64_t period = 2 * (d - 1), m = s % period;
    if (m < 0) m += period;
    return m < d ? m : period - m;
}

typedef struct pad_job {
    const lg_tensor *x;
    lg_tensor *y;
    const pad_args *p;
    int64_t *maps[LG_MAX_DIMS]; /* per axis: source index of each output index */
    int64_t xs[LG_MAX_DIMS];
    int failed;
} pad_job;

static void pad_element(pad_job *j, char *dst, int64_t src_index)
{
    size_t es = lg_dtype_size(j->x->dtype);
    if (j->x->dtype == LG_STRING) {
        const char *s = src_index >= 0 ? ((char *const *)j->x->data)[src_index] : j->p->value.str;
        if (lg_copy_elems(LG_STRING, dst, &s, 1) != LG_OK) j->failed = 1;
    } else {
        memcpy(dst, src_index >= 0 ? (const char *)j->x->data + (size_t)src_index * es : (const char *)j->p->value.bytes, es);
    }
}

/* Output rows (all axes but the last) [begin, end). */
static void pad_rows(void *arg, int64_t begin, int64_t end)
{
    pad_job *j = arg;
    int nd = j->y->ndim, last = nd - 1;
    size_t es = lg_dtype_size(j->y->dtype);
    int64_t w = j->y->dims[last], xw = j->x->dims[last], b = j->p->pads[last];
    int64_t lo = b > 0 ? b : 0, hi = b + xw < w ? b + xw : w; /* output columns copied as a block */
    for (int64_t r = begin; r < end; r++) {
        int64_t q = r, src_row = 0;
        for (int k = last - 1; k >= 0; k--) {
            int64_t s = j->maps[k][q % j->y->dims[k]];
            q /= j->y->dims[k];
            if (s < 0 || src_row < 0) src_row = -1;
            else src_row += s * j->xs[k];
        }
        char *dst = (char *)j->y->data + (size_t)(r * w) * es;
        for (int64_t i = 0; i < w; i++) {
            if (src_row >= 0 && i == lo && hi > lo && j->y->dtype != LG_STRING) {
                memcpy(dst + (size_t)i * es, (const char *)j->x->data + (size_t)(src_row + i - b) * es, (size_t)(hi - lo) * es);
                i = hi - 1;
                continue;
            }
            int64_t s = j->maps[last][i];
            pad_element(j, dst + (size_t)i * es, src_row >= 0 && s >= 0 ? src_row + s : -1);
        }
    }
}

static int pad_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    pad_args p;
    pad_job j = { 0 };
    int rc = LG_OK;
    LG_CHECK(pad_args_get(c, &p));
    if (lg_tensor_numel_(y) == 0) return LG_OK;
    if (y->ndim == 0) return lg_copy_tensor(y, x);
    j.x = x;
    j.y = y;
    j.p = &p;
    lg_strides(x->ndim, x->dims, j.xs);
    for (int k = 0; k < y->ndim && rc == LG_OK; k++) {
        j.maps[k] = malloc(sizeof(int64_t) * (size_t)y->dims[k]);
        if (!j.maps[k]) rc = lg_error(LG_E_NOMEM, "out of memory");
        for (int64_t i = 0; rc == LG_OK && i < y->dims[k]; i++) j.maps[k][i] = pad_source(p.mode, i, p.pads[k], x->dims[k]);
    }
    if (rc == LG_OK) {
        int64_t rows = lg_tensor_numel_(y) / y->dims[y->ndim - 1];
        int64_t min_rows = 1 + 16384 / y->dims[y->ndim - 1];
        if (y->dtype == LG_STRING || rows <= min_rows) pad_rows(&j, 0, rows);
        else lg_parallel_for(c->pool, rows, min_rows, pad_rows, &j);
        if (j.failed) rc = lg_error(LG_E_NOMEM, "out of memory duplicating strings");
    }
    for (int k = 0; k < y->ndim; k++) free(j.maps[k]);
    return rc;
}

/* ---- DepthToSpace, SpaceToDepth ---- */

static int block_size(lg_kctx *c, int64_t *b)
{
    const lg_tensor *x = c->inputs[0];
    *b = lg_attr_int(c->node, "blocksize", 0);
    if (*b <= 0 || *b > 65536) return lg_error(LG_E_INVALID_MODEL, "blocksize %lld is not positive", (long long)*b);
    if (x->ndim != 4) return lg_error(LG_E_SHAPE, "input must be 4-D (NCHW), got rank %d", x->ndim);
    return LG_OK;
}

static int depth_to_space_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int64_t b;
    LG_CHECK(block_size(c, &b));
    if (x->dims[1] % (b * b) != 0)
        return lg_error(LG_E_SHAPE, "channels %lld not divisible by blocksize^2 = %lld", (long long)x->dims[1], (long long)(b * b));
    int64_t dims[4] = { x->dims[0], x->dims[1] / (b * b), x->dims[2] * b, x->dims[3] * b };
    return lg_kout_shape(c, 0, x->dtype, 4, dims);
}

/* Output seen as [N, C', H, b, W, b] read from the input viewed as 6-D. */
static int depth_to_space_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    int64_t b;
    LG_CHECK(block_size(c, &b));
    const char *mode = c->opset >= 11 ? lg_attr_string(c->node, "mode", "DCR") : "DCR";
    int64_t n = x->dims[0], cc = x->dims[1] / (b * b), h = x->dims[2], w = x->dims[3], hw = h * w;
    int64_t dims[6] = { n, cc, h, b, w, b }, ss[6], ds[6];
    if (strcmp(mode, "DCR") == 0) {
        int64_t s[6] = { x->dims[1] * hw, hw, w, b * cc * hw, 1, cc * hw };
        memcpy(ss, s, sizeof(s));
    } else if (strcmp(mode, "CRD") == 0) {
        int64_t s[6] = { x->dims[1] * hw, b * b * hw, w, b * hw, 1, hw };
        memcpy(ss, s, sizeof(s));
    } else {
        return lg_error(LG_E_INVALID_MODEL, "DepthToSpace mode '%s' (expected DCR or CRD)", mode);
    }
    lg_strides(6, dims, ds);
    return lg_copy_nd(c->pool, x->dtype, 6, dims, y->data, ds, x->data, ss);
}

static int space_to_depth_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int64_t b;
    LG_CHECK(block_size(c, &b));
    if (x->dims[2] % b != 0 || x->dims[3] % b != 0)
        return lg_error(LG_E_SHAPE, "spatial size %lldx%lld not divisible by blocksize %lld", (long long)x->dims[2],
                        (long long)x->dims[3], (long long)b);
    int64_t dims[4] = { x->dims[0], x->dims[1] * b * b, x->dims[2] / b, x->dims[3] / b };
    return lg_kout_shape(c, 0, x->dtype, 4, dims);
}

/* Output seen as [N, b, b, C, H/b, W/b]. */
static int space_to_depth_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    int64_t b;
    LG_CHECK(block_size(c, &b));
    int64_t cc = x->dims[1], h = x->dims[2], w = x->dims[3];
    int64_t dims[6] = { x->dims[0], b, b, cc, h / b, w / b }, ds[6];
    int64_t ss[6] = { cc * h * w, w, 1, h * w, b * w, b };
    lg_strides(6, dims, ds);
    return lg_copy_nd(c->pool, x->dtype, 6, dims, y->data, ds, x->data, ss);
}

/* ---- Trilu ---- */

static int trilu_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    if (x->ndim < 2) return lg_error(LG_E_SHAPE, "Trilu needs rank >= 2, got %d", x->ndim);
    return same_as_input(c);
}

static int trilu_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    int64_t k = 0;
    if (lg_kin(c, 1)) LG_CHECK(lg_read_int(c->inputs[1], "k", &k));
    bool upper = lg_attr_int(c->node, "upper", 1) != 0;
    int64_t rows = x->dims[x->ndim - 2], cols = x->dims[x->ndim - 1];
    int64_t mats = rows > 0 && cols > 0 ? lg_tensor_numel_(x) / (rows * cols) : 0;
    size_t es = lg_dtype_size(x->dtype);
    const char *empty = "";
    k = k < -rows ? -rows : k > cols ? cols : k; /* keeps i + k from overflowing */
    for (int64_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < rows; i++) {
            /* kept columns: j >= i + k (upper) or j <= i + k (lower) */
            int64_t lo = upper ? i + k : 0, hi = upper ? cols : i + k + 1;
            lo = lo < 0 ? 0 : lo > cols ? cols : lo;
            hi = hi < lo ? lo : hi > cols ? cols : hi;
            size_t row = (size_t)((m * rows + i) * cols);
            char *dst = (char *)y->data + row * es;
            LG_CHECK(lg_copy_elems(x->dtype, dst + (size_t)lo * es, (const char *)x->data + (row + (size_t)lo) * es, hi - lo));
            if (x->dtype == LG_STRING) {
                LG_CHECK(lg_fill_elems(LG_STRING, dst, &empty, lo));
                LG_CHECK(lg_fill_elems(LG_STRING, dst + (size_t)hi * es, &empty, cols - hi));
            }
        }
    return LG_OK;
}

const lg_op_def lg_ops_tensor_shape[] = {
    { "Constant", "", 1, 27, constant_infer, constant_exec, NULL, NULL },
    { "Identity", "", 1, 27, same_as_input, copy_input, NULL, NULL },
    { "Reshape", "", 1, 27, reshape_infer, copy_input, NULL, NULL },
    { "Flatten", "", 1, 27, flatten_infer, copy_input, NULL, NULL },
    { "Squeeze", "", 1, 27, squeeze_infer, copy_input, NULL, NULL },
    { "Unsqueeze", "", 1, 27, unsqueeze_infer, copy_input, NULL, NULL },
    { "Transpose", "", 1, 27, transpose_infer, transpose_exec, NULL, NULL },
    { "Expand", "", 8, 27, expand_infer, expand_exec, NULL, NULL },
    { "Tile", "", 6, 27, tile_infer, tile_exec, NULL, NULL },
    { "Shape", "", 1, 27, shape_infer, shape_exec, NULL, NULL },
    { "Size", "", 1, 27, size_infer, size_exec, NULL, NULL },
    { "Concat", "", 1, 27, concat_infer, concat_exec, NULL, NULL },
    { "Split", "", 1, 27, split_infer, split_exec, NULL, NULL },
    { "ConstantOfShape", "", 9, 27, constant_of_shape_infer, constant_of_shape_exec, NULL, NULL },
    { "Range", "", 11, 27, range_infer, range_exec, NULL, NULL },
    { "EyeLike", "", 9, 27, eyelike_infer, eyelike_exec, NULL, NULL },
    { "Dropout", "", 7, 27, dropout_infer, dropout_exec, NULL, NULL },
    { "Pad", "", 1, 27, pad_infer, pad_exec, NULL, NULL },
    { "BitCast", "", 26, 27, bitcast_infer, bitcast_exec, NULL, NULL },
    { "CenterCropPad", "", 18, 27, ccp_infer, ccp_exec, NULL, NULL },
    { "DepthToSpace", "", 1, 27, depth_to_space_infer, depth_to_space_exec, NULL, NULL },
    { "SpaceToDepth", "", 1, 27, space_to_depth_infer, space_to_depth_exec, NULL, NULL },
    { "Trilu", "", 14, 27, trilu_infer, trilu_exec, NULL, NULL },
    { NULL }
};
