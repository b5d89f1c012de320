/*
 * vk_ops_copy.c: the ops that only move bytes.
 *   Identity, Dropout (inference), Reshape, Flatten, Squeeze, Unsqueeze: one buffer copy
 *       (lg_vk_copy; any dtype, any size: no binding limit applies).
 *   Transpose, Slice-1..9, Concat, Split, Expand: strided copies through
 *       shaders/copy_nd.comp (float tensors, fp16 storage included) or copy_nd_u32.comp
 *       (int32 as one word, int64 as two words per element), up to 6 dims once
 *       contiguous dims are merged.
 * Slice-10+ reads starts, axes and steps on the device (shaders/slice.comp); the shape,
 * axes, ends and split inputs of the others are not read at all (the output shapes carry
 * them): shapes and offsets computed at run time keep these nodes on the GPU.
 */
#include <string.h>

#include "backends/vulkan/vk_kern.h"

#define COPY_MAX_DIMS 6

typedef struct copy_push {
    uint32_t n, ndim;
    uint32_t soff, doff;
    uint32_t dims[COPY_MAX_DIMS];
    int32_t ss[COPY_MAX_DIMS];
    int32_t ds[COPY_MAX_DIMS];
} copy_push;

/* A strided copy before dim merging: element strides of source and destination. */
typedef struct copy_view {
    int ndim;
    int64_t dims[LG_MAX_DIMS + 1];
    int64_t ss[LG_MAX_DIMS + 1], ds[LG_MAX_DIMS + 1];
    int64_t soff, doff;
} copy_view;

/* Words of 32 bits per element for copy_nd_u32, or 0 when the dtype has no copy path
 * (floats go through copy_nd). */
static int dtype_words(lg_dtype dt)
{
    switch (dt) {
    case LG_INT32: case LG_UINT32: return 1;
    case LG_INT64: case LG_UINT64: case LG_DOUBLE: return 2;
    default: return 0;
    }
}

static bool copy_dtype_ok(lg_dtype dt) { return dt == LG_FLOAT || dtype_words(dt) > 0; }

/* Drops size-1 dims, merges dims contiguous in both tensors and adds the word dim;
 * false when more than COPY_MAX_DIMS remain or a value overflows 32 bits. */
static bool view_compact(const copy_view *v, int words, copy_push *p)
{
    int64_t dims[LG_MAX_DIMS + 2], ss[LG_MAX_DIMS + 2], ds[LG_MAX_DIMS + 2];
    int m = 0;
    int64_t n = 1;
    for (int k = 0; k < v->ndim; k++) {
        n *= v->dims[k];
        if (v->dims[k] == 1) continue;
        if (m > 0 && ss[m - 1] == v->ss[k] * v->dims[k] && ds[m - 1] == v->ds[k] * v->dims[k]) {
            dims[m - 1] *= v->dims[k];
            ss[m - 1] = v->ss[k];
            ds[m - 1] = v->ds[k];
            continue;
        }
        dims[m] = v->dims[k];
        ss[m] = v->ss[k];
        ds[m] = v->ds[k];
        m++;
    }
    if (m == 0) {
        dims[0] = 1;
        ss[0] = ds[0] = 1;
        m = 1;
    }
    if (words == 2) {
        for (int k = 0; k < m; k++) {
            ss[k] *= 2;
            ds[k] *= 2;
        }
        dims[m] = 2;
        ss[m] = ds[m] = 1;
        m++;
    }
    int64_t w = words ? words : 1;
    if (m > COPY_MAX_DIMS || n * w >= ((int64_t)1 << 31)) return false;
    memset(p, 0, sizeof(*p));
    p->n = (uint32_t)(n * w);
    p->ndim = (uint32_t)m;
    p->soff = (uint32_t)(v->soff * w);
    p->doff = (uint32_t)(v->doff * w);
    for (int k = 0; k < m; k++) {
        if (ss[k] > INT32_MAX || ss[k] < INT32_MIN || ds[k] > INT32_MAX) return false;
        p->dims[k] = (uint32_t)dims[k];
        p->ss[k] = (int32_t)ss[k];
        p->ds[k] = (int32_t)ds[k];
    }
    return true;
}

static int copy_view_record(lg_vk_rec *r, const lg_tensor *src, const lg_tensor *dst, const copy_view *v)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_vk_tune *t = lg_vk_tune_get(d);
    int words = src->dtype == LG_FLOAT ? 0 : dtype_words(src->dtype);
    copy_push p;
    lg_vk_pipeline *pipe;
    if (!view_compact(v, words, &p)) return lg_error(LG_E_RUNTIME, "strided copy: shape too large for the shader");
    if (p.n == 0) return LG_OK;
    LG_CHECK(lg_vk_pipeline_get(d, words ? "copy_nd_u32" : "copy_nd", 2, sizeof(p), 1, &t->wg_elem, &pipe));
    lg_vk_binding b[2] = { lg_vk_bind_tensor(d, src), lg_vk_bind_tensor(d, dst) };
    return lg_vkk_dispatch_1d(r, pipe, 2, b, &p, sizeof(p), p.n, t->wg_elem);
}

static bool copy_tensors_ok(lg_device *d, const lg_tensor *a, const lg_tensor *b)
{
    return a && b && copy_dtype_ok(a->dtype) && a->dtype == b->dtype && lg_vkk_fits(d, a) && lg_vkk_fits(d, b) &&
           a->ndim <= LG_MAX_DIMS && b->ndim <= LG_MAX_DIMS;
}

/* ---- byte copies: Identity, Dropout, Reshape, Flatten, Squeeze, Unsqueeze ---- */

static bool bytes_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                           int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    const lg_tensor *x = lg_vkk_arg(n_in, in, 0), *y = n_out > 0 ? out[0] : NULL;
    if (!x || !y || x->dtype != y->dtype || lg_vkk_esize(d, x->dtype) == 0 || !lg_vkk_small(x)) return false;
    if (lg_tensor_numel_(x) != lg_tensor_numel_(y)) return false;
    if (strcmp(n->op_type, "Dropout") == 0) {
        const lg_tensor *tm = lg_vkk_arg(n_in, in, 2);
        if (n_out > 1 && out[1]) return false; /* mask */
        if (lg_attr_int(n, "training_mode", 0) != 0) return false;
        if (tm && (!tm->data || tm->dtype != LG_BOOL || *(const uint8_t *)tm->data != 0)) return false;
    }
    /* The shape / axes inputs are not read: the output's shape says it all, so a shape
     * computed at run time does not pull the node off the device. */
    return true;
}

static int bytes_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_tensor *x = dn->inputs[0], *y = dn->outputs[0];
    lg_vk_binding s = lg_vk_bind_tensor(d, x), t = lg_vk_bind_tensor(d, y);
    if (s.buf == t.buf && s.offset == t.offset) return LG_OK; /* the runtime aliased them */
    if (s.range == 0) return LG_OK;
    return lg_vk_copy(r, s, t, s.range);
}

/* ---- Transpose ---- */

static bool transpose_view(const lg_node *n, const lg_tensor *x, const lg_tensor *y, copy_view *v)
{
    int np = 0;
    const int64_t *perm = lg_attr_ints(n, "perm", &np);
    int64_t xs[LG_MAX_DIMS], ys[LG_MAX_DIMS];
    if (perm && np != x->ndim) return false;
    lg_strides(x->ndim, x->dims, xs);
    lg_strides(y->ndim, y->dims, ys);
    memset(v, 0, sizeof(*v));
    v->ndim = y->ndim;
    for (int k = 0; k < y->ndim; k++) {
        int64_t a = perm ? perm[k] : x->ndim - 1 - k;
        if (a < 0 || a >= x->ndim) return false;
        v->dims[k] = y->dims[k];
        v->ss[k] = xs[a];
        v->ds[k] = ys[k];
    }
    return true;
}

/* ---- Slice-1..9: starts and axes as attributes ---- */

static bool slice_view(const lg_node *n, const lg_tensor *x, const lg_tensor *y, copy_view *v)
{
    int64_t start[LG_MAX_DIMS] = { 0 }, xs[LG_MAX_DIMS], ys[LG_MAX_DIMS];
    int ns = 0, na = 0;
    const int64_t *st = lg_attr_ints(n, "starts", &ns), *ax = lg_attr_ints(n, "axes", &na);
    if (!st || (ax && na != ns)) return false;
    for (int i = 0; i < ns; i++) {
        int a;
        if (lg_norm_axis(ax ? ax[i] : i, x->ndim, &a) != LG_OK) return false;
        start[a] = st[i];
    }
    lg_strides(x->ndim, x->dims, xs);
    lg_strides(y->ndim, y->dims, ys);
    memset(v, 0, sizeof(*v));
    v->ndim = x->ndim;
    for (int k = 0; k < x->ndim; k++) {
        int64_t dim = x->dims[k], s = start[k] < 0 ? start[k] + dim : start[k];
        s = s < 0 ? 0 : s > dim ? dim : s;
        v->dims[k] = y->dims[k];
        v->ss[k] = xs[k];
        v->ds[k] = ys[k];
        if (y->dims[k] > 0) v->soff += s * xs[k];
    }
    return true;
}

/* ---- Expand ---- */

static void expand_view(const lg_tensor *x, const lg_tensor *y, copy_view *v)
{
    uint32_t s[LG_MAX_DIMS];
    int64_t ys[LG_MAX_DIMS];
    lg_vkk_bcast_strides(x->ndim, x->dims, y->ndim, y->dims, s);
    lg_strides(y->ndim, y->dims, ys);
    memset(v, 0, sizeof(*v));
    v->ndim = y->ndim;
    for (int k = 0; k < y->ndim; k++) {
        v->dims[k] = y->dims[k];
        v->ss[k] = s[k];
        v->ds[k] = ys[k];
    }
}

/* One view per node for Transpose, Slice, Expand. */
static bool single_view(const lg_node *n, int opset, int n_in, const lg_tensor *const *in, const lg_tensor *y,
                        copy_view *v)
{
    if (strcmp(n->op_type, "Transpose") == 0) return transpose_view(n, in[0], y, v);
    if (strcmp(n->op_type, "Slice") == 0) return slice_view(n, in[0], y, v);
    if (in[0]->ndim > y->ndim) return false;
    expand_view(in[0], y, v);
    return true;
}

static bool single_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                            int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    const lg_tensor *x = lg_vkk_arg(n_in, in, 0), *y = n_out > 0 ? out[0] : NULL;
    copy_view v;
    copy_push p;
    if (!copy_tensors_ok(d, x, y)) return false;
    /* Transpose and Slice-1..9 have attributes only; Expand's shape input is y's shape */
    return single_view(n, opset, n_in, in, y, &v) && view_compact(&v, x->dtype == LG_FLOAT ? 0 : dtype_words(x->dtype), &p);
}

static int single_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    copy_view v;
    if (!single_view(dn->node, dn->opset, dn->n_inputs, dn->inputs, dn->outputs[0], &v))
        return lg_error(LG_E_RUNTIME, "%s: parameters changed after supports()", dn->node->op_type);
    return copy_view_record(r, dn->inputs[0], dn->outputs[0], &v);
}

/* ---- Slice-10+: starts, axes, steps read on the device (slice.comp) ---- */

typedef struct slice_push {
    uint32_t n, ndim, nsl, flags, words;
    uint32_t in_dims[COPY_MAX_DIMS];
    uint32_t out_dims[COPY_MAX_DIMS];
} slice_push;

static bool index_tensor(const lg_tensor *t, lg_dtype dt, int64_t n)
{
    return t && t->dtype == dt && t->ndim == 1 && t->dims[0] == n;
}

static bool slice_dev_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                               int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    const lg_tensor *x = lg_vkk_arg(n_in, in, 0), *st = lg_vkk_arg(n_in, in, 1), *ax = lg_vkk_arg(n_in, in, 3),
                    *sp = lg_vkk_arg(n_in, in, 4), *y = n_out > 0 ? out[0] : NULL;
    if (!copy_tensors_ok(d, x, y) || x->ndim < 1 || x->ndim > COPY_MAX_DIMS || y->ndim != x->ndim || !st) return false;
    if ((st->dtype != LG_INT32 && st->dtype != LG_INT64) || st->ndim != 1 || st->dims[0] < 1) return false;
    if ((ax && !index_tensor(ax, st->dtype, st->dims[0])) || (sp && !index_tensor(sp, st->dtype, st->dims[0])))
        return false;
    if (sp && sp->data) /* a zero step is the CPU's error to report */
        for (int64_t i = 0; i < sp->dims[0]; i++)
            if (lg_tensor_get_i64(sp, i) == 0) return false;
    return (uint64_t)lg_tensor_numel_(y) * (x->dtype == LG_FLOAT ? 1 : (uint64_t)dtype_words(x->dtype)) < (1u << 31);
}

static int slice_dev_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_vk_tune *t = lg_vk_tune_get(d);
    const lg_tensor *x = dn->inputs[0], *st = dn->inputs[1], *ax = lg_vkk_in(dn, 3), *sp = lg_vkk_in(dn, 4);
    const lg_tensor *y = dn->outputs[0];
    int words = x->dtype == LG_FLOAT ? 1 : dtype_words(x->dtype);
    slice_push p;
    lg_vk_pipeline *pipe;
    memset(&p, 0, sizeof(p));
    p.n = (uint32_t)(lg_tensor_numel_(y) * words);
    p.ndim = (uint32_t)x->ndim;
    p.nsl = (uint32_t)st->dims[0];
    p.flags = (ax ? 1u : 0u) | (sp ? 2u : 0u) | (st->dtype == LG_INT64 ? 4u : 0u);
    p.words = (uint32_t)words;
    for (int k = 0; k < x->ndim; k++) {
        p.in_dims[k] = (uint32_t)x->dims[k];
        p.out_dims[k] = (uint32_t)y->dims[k];
    }
    if (p.n == 0) return LG_OK;
    lg_vk_binding sb = lg_vk_bind_tensor(d, st);
    lg_vk_binding b[5] = { lg_vk_bind_tensor(d, x), sb, ax ? lg_vk_bind_tensor(d, ax) : sb,
                           sp ? lg_vk_bind_tensor(d, sp) : sb, lg_vk_bind_tensor(d, y) };
    LG_CHECK(lg_vk_pipeline_get(d, x->dtype == LG_FLOAT ? "slice" : "slice_u32", 5, sizeof(p), 1, &t->wg_elem, &pipe));
    return lg_vkk_dispatch_1d(r, pipe, 5, b, &p, sizeof(p), p.n, t->wg_elem);
}

/* ---- Concat, Split: regions of the larger tensor along axis ---- */

static void region_view(const lg_tensor *part, const lg_tensor *whole, int axis, int64_t at, bool into_whole,
                        copy_view *v)
{
    int64_t ps[LG_MAX_DIMS], ws[LG_MAX_DIMS];
    lg_strides(part->ndim, part->dims, ps);
    lg_strides(whole->ndim, whole->dims, ws);
    memset(v, 0, sizeof(*v));
    v->ndim = part->ndim;
    for (int k = 0; k < part->ndim; k++) {
        v->dims[k] = part->dims[k];
        v->ss[k] = into_whole ? ps[k] : ws[k];
        v->ds[k] = into_whole ? ws[k] : ps[k];
    }
    *(into_whole ? &v->doff : &v->soff) = at * ws[axis];
}

static bool parts_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                           int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    bool concat = strcmp(n->op_type, "Concat") == 0;
    const lg_tensor *whole = concat ? (n_out > 0 ? out[0] : NULL) : lg_vkk_arg(n_in, in, 0);
    int axis, np = concat ? n_in : n_out;
    if (!whole || whole->ndim < 1 || lg_norm_axis(lg_attr_int(n, "axis", concat ? 1 : 0), whole->ndim, &axis) != LG_OK)
        return false;
    /* Split's sizes are its outputs' shapes: its input 1 is never read */
    for (int i = 0; i < np; i++) {
        const lg_tensor *part = concat ? in[i] : out[i];
        copy_view v;
        copy_push p;
        if (!part) {
            /* an unused Split output before a used one: its size, hence their offsets, unknown */
            for (int j = i + 1; j < np; j++)
                if (concat || out[j]) return false;
            continue;
        }
        if (!copy_tensors_ok(d, part, whole) || part->ndim != whole->ndim) return false;
        region_view(part, whole, axis, 0, concat, &v);
        if (!view_compact(&v, part->dtype == LG_FLOAT ? 0 : dtype_words(part->dtype), &p)) return false;
    }
    return true;
}

static int parts_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    bool concat = strcmp(dn->node->op_type, "Concat") == 0;
    const lg_tensor *whole = concat ? dn->outputs[0] : dn->inputs[0];
    int axis, np = concat ? dn->n_inputs : dn->n_outputs;
    LG_CHECK(lg_norm_axis(lg_attr_int(dn->node, "axis", concat ? 1 : 0), whole->ndim, &axis));
    int64_t at = 0;
    for (int i = 0; i < np; i++) {
        const lg_tensor *part = concat ? dn->inputs[i] : dn->outputs[i];
        copy_view v;
        if (!part) continue; /* trailing unused Split outputs (supports) */
        region_view(part, whole, axis, at, concat, &v);
        LG_CHECK(concat ? copy_view_record(r, part, whole, &v) : copy_view_record(r, whole, part, &v));
        at += part->dims[axis];
    }
    return LG_OK;
}

/* ---- Gather ---- */

typedef struct gather_push {
    uint32_t n, A, inner, nidx;
    uint32_t is64;
    uint32_t words;
} gather_push;

static bool gather_params(const lg_node *n, const lg_tensor *x, const lg_tensor *idx, const lg_tensor *y,
                          gather_push *p)
{
    int axis;
    if (x->ndim < 1 || lg_norm_axis(lg_attr_int(n, "axis", 0), x->ndim, &axis) != LG_OK) return false;
    if (idx->dtype != LG_INT64 && idx->dtype != LG_INT32) return false;
    int64_t inner = 1;
    for (int k = axis + 1; k < x->ndim; k++) inner *= x->dims[k];
    int words = x->dtype == LG_FLOAT ? 1 : dtype_words(x->dtype);
    p->n = (uint32_t)(lg_tensor_numel_(y) * words);
    p->A = (uint32_t)x->dims[axis];
    p->inner = (uint32_t)inner;
    p->nidx = (uint32_t)lg_tensor_numel_(idx);
    p->is64 = idx->dtype == LG_INT64;
    p->words = (uint32_t)words;
    return p->A > 0 || p->n == 0;
}

static bool gather_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                            int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    const lg_tensor *x = lg_vkk_arg(n_in, in, 0), *idx = lg_vkk_arg(n_in, in, 1), *y = n_out > 0 ? out[0] : NULL;
    gather_push p;
    if (!copy_tensors_ok(d, x, y) || !idx || !lg_vkk_fits(d, idx) || !gather_params(n, x, idx, y, &p)) return false;
    if ((uint64_t)lg_tensor_numel_(y) * p.words >= (1u << 31)) return false;
    if (idx->data) /* constant indices: out-of-range ones are the CPU's error to report */
        for (int64_t i = 0; i < lg_tensor_numel_(idx); i++) {
            int64_t k = idx->dtype == LG_INT64 ? ((const int64_t *)idx->data)[i] : ((const int32_t *)idx->data)[i];
            if (k < -(int64_t)p.A || k >= (int64_t)p.A) return false;
        }
    return true;
}

static int gather_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_vk_tune *t = lg_vk_tune_get(d);
    const lg_tensor *x = dn->inputs[0], *idx = dn->inputs[1], *y = dn->outputs[0];
    gather_push p;
    lg_vk_pipeline *pipe;
    if (!gather_params(dn->node, x, idx, y, &p)) return lg_error(LG_E_RUNTIME, "Gather: bad axis or indices");
    if (p.n == 0) return LG_OK;
    lg_vk_binding b[3] = { lg_vk_bind_tensor(d, x), lg_vk_bind_tensor(d, idx), lg_vk_bind_tensor(d, y) };
    LG_CHECK(lg_vk_pipeline_get(d, x->dtype == LG_FLOAT ? "gather" : "gather_u32", 3, sizeof(p), 1, &t->wg_elem,
                                &pipe));
    return lg_vkk_dispatch_1d(r, pipe, 3, b, &p, sizeof(p), p.n, t->wg_elem);
}

#define BYTES(name, since) { name, "", since, LG_VK_OPSET_MAX, bytes_supports, NULL, NULL, bytes_record, NULL }

const lg_vk_op lg_vk_ops_copy[] = {
    BYTES("Identity", 1), BYTES("Dropout", 1), BYTES("Reshape", 5), BYTES("Flatten", 1), BYTES("Squeeze", 1),
    BYTES("Unsqueeze", 1),
    { "Transpose", "", 1, LG_VK_OPSET_MAX, single_supports, NULL, NULL, single_record, NULL },
    { "Slice", "", 1, 9, single_supports, NULL, NULL, single_record, NULL },
    { "Slice", "", 10, LG_VK_OPSET_MAX, slice_dev_supports, NULL, NULL, slice_dev_record, NULL },
    { "Expand", "", 8, LG_VK_OPSET_MAX, single_supports, NULL, NULL, single_record, NULL },
    { "Concat", "", 4, LG_VK_OPSET_MAX, parts_supports, NULL, NULL, parts_record, NULL },
    { "Split", "", 2, LG_VK_OPSET_CHECKED, parts_supports, NULL, NULL, parts_record, NULL },
    { "Gather", "", 1, LG_VK_OPSET_MAX, gather_supports, NULL, NULL, gather_record, NULL },
    { NULL }
};
