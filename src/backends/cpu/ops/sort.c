/*
 * sort.c: ordering operators: TopK and Unique.
 *
 * TopK turns each element into an unsigned 64-bit key whose order is the value order
 * (floats through their bit patterns, signed integers with the sign bit flipped; keys
 * are inverted for largest = 1), so one selection on (key, index) pairs serves every
 * dtype and ties fall to the lower index. Unique sorts item indices with a stable merge
 * sort whose comparison reads the items in place (elements, or slices along an axis).
 */
#include <math.h>
#include <stdlib.h>

#include "runtime/kernel.h"

/* ---- TopK ------------------------------------------------------------------------ */

typedef struct key_pair {
    uint64_t key;
    int64_t idx;
} key_pair;

static inline uint64_t float_key(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return (u >> 63) ? ~u : u | ((uint64_t)1 << 63);
}

static inline uint64_t signed_key(int64_t v) { return (uint64_t)v ^ ((uint64_t)1 << 63); }

static bool key_dtype(lg_dtype dt)
{
    switch (dt) {
    case LG_FLOAT: case LG_DOUBLE: case LG_FLOAT16: case LG_BFLOAT16:
    case LG_INT8: case LG_INT16: case LG_INT32: case LG_INT64:
    case LG_UINT8: case LG_UINT16: case LG_UINT32: case LG_UINT64: return true;
    default: return false;
    }
}

#define KEYS(T, KEY) \
    for (int64_t k = 0; k < n; k++) { \
        p[k].key = KEY(((const T *)data)[start + k * stride]) ^ flip; \
        p[k].idx = k; \
    }
#define HALF_KEY(h) float_key(lg_half_to_float(h))
#define BF16_KEY(h) float_key(lg_bf16_to_float(h))
#define PLAIN_KEY(v) ((uint64_t)(v))

/* Keys of the n elements start, start + stride, ...; inverted when largest first. */
static void slice_keys(const void *data, lg_dtype dt, int64_t start, int64_t stride, int64_t n,
                       bool largest, key_pair *p)
{
    uint64_t flip = largest ? ~(uint64_t)0 : 0;
    switch (dt) {
    case LG_FLOAT: KEYS(float, float_key) break;
    case LG_DOUBLE: KEYS(double, float_key) break;
    case LG_FLOAT16: KEYS(uint16_t, HALF_KEY) break;
    case LG_BFLOAT16: KEYS(uint16_t, BF16_KEY) break;
    case LG_INT8: KEYS(int8_t, signed_key) break;
    case LG_INT16: KEYS(int16_t, signed_key) break;
    case LG_INT32: KEYS(int32_t, signed_key) break;
    case LG_INT64: KEYS(int64_t, signed_key) break;
    case LG_UINT8: KEYS(uint8_t, PLAIN_KEY) break;
    case LG_UINT16: KEYS(uint16_t, PLAIN_KEY) break;
    case LG_UINT32: KEYS(uint32_t, PLAIN_KEY) break;
    case LG_UINT64: KEYS(uint64_t, PLAIN_KEY) break;
    default: break;
    }
}

static inline bool pair_less(const key_pair *a, const key_pair *b)
{
    return a->key < b->key || (a->key == b->key && a->idx < b->idx);
}

static int pair_cmp(const void *a, const void *b)
{
    return pair_less(a, b) ? -1 : pair_less(b, a) ? 1 : 0;
}

/* Max-heap on pair order: the worst of the kept pairs on top. */
static void heap_sift_down(key_pair *h, int64_t n, int64_t i)
{
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && pair_less(&h[m], &h[l])) m = l;
        if (r < n && pair_less(&h[m], &h[r])) m = r;
        if (m == i) return;
        key_pair t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Leaves the k smallest pairs of p[0..n) in p[0..k), in order. */
static void select_smallest(key_pair *p, int64_t n, int64_t k)
{
    if (k < n && k < n / 8) {
        for (int64_t i = k / 2 - 1; i >= 0; i--) heap_sift_down(p, k, i);
        for (int64_t i = k; i < n; i++) {
            if (k > 0 && pair_less(&p[i], &p[0])) {
                p[0] = p[i];
                heap_sift_down(p, k, 0);
            }
        }
        qsort(p, (size_t)k, sizeof(*p), pair_cmp);
    } else {
        qsort(p, (size_t)n, sizeof(*p), pair_cmp);
    }
}

typedef struct topk_job {
    const lg_tensor *x;
    lg_tensor *values, *indices;
    int64_t outer, n, inner, k;
    bool largest;
    int rc;
} topk_job;

static void topk_slices(void *arg, int64_t begin, int64_t end)
{
    topk_job *j = arg;
    size_t es = lg_dtype_size(j->x->dtype);
    key_pair *p = malloc((size_t)j->n * sizeof(*p));
    if (!p) {
        j->rc = LG_E_NOMEM;
        return;
    }
    for (int64_t s = begin; s < end; s++) {
        int64_t o = s / j->inner, i = s % j->inner;
        slice_keys(j->x->data, j->x->dtype, o * j->n * j->inner + i, j->inner, j->n, j->largest, p);
        select_smallest(p, j->n, j->k);
        for (int64_t r = 0; r < j->k; r++) {
            int64_t src = (o * j->n + p[r].idx) * j->inner + i, dst = (o * j->k + r) * j->inner + i;
            memcpy((char *)j->values->data + dst * es, (const char *)j->x->data + src * es, es);
            if (j->indices) ((int64_t *)j->indices->data)[dst] = p[r].idx;
        }
    }
    free(p);
}

static int topk_params(lg_kctx *c, int *axis, int64_t *k)
{
    const lg_tensor *x = c->inputs[0];
    if (!key_dtype(x->dtype)) return lg_error(LG_E_UNSUPPORTED, "TopK of %s", lg_dtype_name(x->dtype));
    if (x->ndim == 0) return lg_error(LG_E_INVALID_MODEL, "TopK of a scalar");
    LG_CHECK(lg_norm_axis(lg_attr_int(c->node, "axis", -1), x->ndim, axis));
    if (c->opset < 10) {
        *k = lg_attr_int(c->node, "k", -1);
    } else {
        const lg_tensor *kt = lg_kin(c, 1);
        if (!kt || lg_tensor_numel_(kt) != 1 || (kt->dtype != LG_INT64 && kt->dtype != LG_INT32))
            return lg_error(LG_E_INVALID_MODEL, "TopK K must be a single int64 value");
        LG_KNEED_DATA(c, 1);
        *k = lg_tensor_get_i64(kt, 0);
    }
    if (*k < 0 || *k > x->dims[*axis])
        return lg_error(LG_E_SHAPE, "TopK k=%lld outside 0..%lld (axis %d)", (long long)*k,
                        (long long)x->dims[*axis], *axis);
    return LG_OK;
}

static int topk_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int axis;
    int64_t k, dims[LG_MAX_DIMS];
    LG_CHECK(topk_params(c, &axis, &k));
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    dims[axis] = k;
    LG_CHECK(lg_kout_shape(c, 0, x->dtype, x->ndim, dims));
    return lg_kout_shape(c, 1, LG_INT64, x->ndim, dims);
}

static int topk_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int axis;
    int64_t k;
    LG_CHECK(topk_params(c, &axis, &k));
    topk_job j = { .x = x, .values = c->outputs[0], .indices = c->n_outputs > 1 ? c->outputs[1] : NULL, .k = k };
    j.n = x->dims[axis];
    j.outer = j.inner = 1;
    for (int d = 0; d < axis; d++) j.outer *= x->dims[d];
    for (int d = axis + 1; d < x->ndim; d++) j.inner *= x->dims[d];
    j.largest = c->opset < 11 || lg_attr_int(c->node, "largest", 1) != 0;
    if (k == 0 || j.outer * j.inner == 0) return LG_OK;
    if (!j.values) return lg_error(LG_E_UNSUPPORTED, "TopK without its Values output");
    int64_t slices = j.outer * j.inner;
    lg_parallel_for(c->pool, slices, j.n >= 4096 ? 1 : 4096 / j.n, topk_slices, &j);
    if (j.rc) return lg_error(j.rc, "no memory for TopK over %lld elements", (long long)j.n);
    return LG_OK;
}

/* ---- Unique ------------------------------------------------------------------------ */

typedef struct unique_ctx {
    const lg_tensor *x;
    int64_t outer, n, inner; /* items are x[o, k, i] over (o, i) for k < n */
} unique_ctx;

#define CMP_AS(T, CONV) \
    do { \
        double va_ = CONV(((const T *)x->data)[a]), vb_ = CONV(((const T *)x->data)[b]); \
        return float_cmp(va_, vb_); \
    } while (0)
#define CMP_INT(T) \
    do { \
        T va_ = ((const T *)x->data)[a], vb_ = ((const T *)x->data)[b]; \
        return (va_ > vb_) - (va_ < vb_); \
    } while (0)
#define NO_CONV(v) (v)

/* Orders floats with NaN after everything and equal to NaN. */
static inline int float_cmp(double a, double b)
{
    if (isnan(a) || isnan(b)) return isnan(a) - isnan(b);
    return (a > b) - (a < b);
}

static int elem_cmp(const lg_tensor *x, int64_t a, int64_t b)
{
    switch (x->dtype) {
    case LG_FLOAT: CMP_AS(float, NO_CONV);
    case LG_DOUBLE: CMP_AS(double, NO_CONV);
    case LG_FLOAT16: CMP_AS(uint16_t, lg_half_to_float);
    case LG_BFLOAT16: CMP_AS(uint16_t, lg_bf16_to_float);
    case LG_INT8: CMP_INT(int8_t);
    case LG_INT16: CMP_INT(int16_t);
    case LG_INT32: CMP_INT(int32_t);
    case LG_INT64: CMP_INT(int64_t);
    case LG_UINT8: case LG_BOOL: CMP_INT(uint8_t);
    case LG_UINT16: CMP_INT(uint16_t);
    case LG_UINT32: CMP_INT(uint32_t);
    case LG_UINT64: CMP_INT(uint64_t);
    case LG_STRING: {
        const char *sa = ((char *const *)x->data)[a], *sb = ((char *const *)x->data)[b];
        return strcmp(sa ? sa : "", sb ? sb : "");
    }
    default: return 0;
    }
}

static int item_cmp(const unique_ctx *u, int64_t a, int64_t b)
{
    for (int64_t o = 0; o < u->outer; o++)
        for (int64_t i = 0; i < u->inner; i++) {
            int r = elem_cmp(u->x, (o * u->n + a) * u->inner + i, (o * u->n + b) * u->inner + i);
            if (r) return r;
        }
    return 0;
}

/* Stable bottom-up merge sort of idx[0..n) by item_cmp; tmp has room for n. */
static void merge_sort_items(const unique_ctx *u, int64_t *idx, int64_t *tmp, int64_t n)
{
    int64_t *src = idx, *dst = tmp;
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t a = lo, b = mid, d = lo;
            while (a < mid && b < hi) dst[d++] = item_cmp(u, src[b], src[a]) < 0 ? src[b++] : src[a++];
            while (a < mid) dst[d++] = src[a++];
            while (b < hi) dst[d++] = src[b++];
        }
        int64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != idx) memcpy(idx, src, (size_t)n * sizeof(*idx));
}

static int first_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Writes Y: the items first[0..count) of x, along the axis (or flattened). */
static int unique_values(lg_kctx *c, const unique_ctx *u, const int64_t *first, int64_t count, int axis)
{
    const lg_tensor *x = u->x;
    int64_t dims[LG_MAX_DIMS];
    int nd = 1;
    dims[0] = count;
    if (axis >= 0) {
        nd = x->ndim;
        memcpy(dims, x->dims, sizeof(int64_t) * (size_t)nd);
        dims[axis] = count;
    }
    lg_tensor *y = lg_kout_alloc(c, 0, x->dtype, nd, dims);
    if (!y) return LG_E_NOMEM;
    size_t es = lg_dtype_size(x->dtype);
    for (int64_t o = 0; o < u->outer; o++)
        for (int64_t r = 0; r < count; r++) {
            int64_t src = (o * u->n + first[r]) * u->inner, dst = (o * count + r) * u->inner;
            if (x->dtype != LG_STRING) {
                memcpy((char *)y->data + dst * es, (const char *)x->data + src * es, (size_t)u->inner * es);
                continue;
            }
            for (int64_t i = 0; i < u->inner; i++) {
                const char *s = ((char *const *)x->data)[src + i];
                char *d = strdup(s ? s : "");
                if (!d) return lg_error(LG_E_NOMEM, "no memory for a Unique string");
                ((char **)y->data)[dst + i] = d;
            }
        }
    return LG_OK;
}

static int unique_int64_out(lg_kctx *c, int i, const int64_t *v, int64_t n)
{
    lg_tensor *t = lg_kout_alloc(c, i, LG_INT64, 1, &n);
    if (!t) return LG_E_NOMEM;
    if (n) memcpy(t->data, v, (size_t)n * sizeof(int64_t));
    return LG_OK;
}

static int unique_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    unique_ctx u = { .x = x, .outer = 1, .n = lg_tensor_numel_(x), .inner = 1 };
    int axis = -1;
    if (lg_node_attr(c->node, "axis")) {
        if (x->ndim == 0) return lg_error(LG_E_INVALID_MODEL, "Unique with an axis on a scalar");
        LG_CHECK(lg_norm_axis(lg_attr_int(c->node, "axis", 0), x->ndim, &axis));
        u.n = x->dims[axis];
        for (int d = 0; d < axis; d++) u.outer *= x->dims[d];
        for (int d = axis + 1; d < x->ndim; d++) u.inner *= x->dims[d];
    }
    if (x->dtype != LG_STRING && x->dtype != LG_BOOL && !key_dtype(x->dtype))
        return lg_error(LG_E_UNSUPPORTED, "Unique of %s", lg_dtype_name(x->dtype));
    bool sorted = lg_attr_int(c->node, "sorted", 1) != 0;
    size_t n = (size_t)u.n;
    int64_t *idx = malloc((n ? n : 1) * sizeof(int64_t) * 5);
    if (!idx) return lg_error(LG_E_NOMEM, "no memory for Unique over %lld items", (long long)u.n);
    int64_t *tmp = idx + n, *first = tmp + n, *counts = first + n, *inverse = counts + n;
    for (int64_t k = 0; k < u.n; k++) idx[k] = k;
    merge_sort_items(&u, idx, tmp, u.n);
    /* Groups of equal items: the stable sort puts each group's first occurrence first. */
    int64_t groups = 0;
    for (int64_t k = 0; k < u.n; k++) {
        if (k == 0 || item_cmp(&u, idx[k - 1], idx[k]) != 0) {
            first[groups] = idx[k];
            counts[groups++] = 0;
        }
        counts[groups - 1]++;
        inverse[idx[k]] = groups - 1;
    }
    if (!sorted) {
        /* Order groups by first occurrence: tmp maps the old group number to the new. */
        int64_t *order = idx;
        memcpy(order, first, (size_t)groups * sizeof(int64_t));
        qsort(order, (size_t)groups, sizeof(int64_t), first_cmp);
        int64_t *old_counts = malloc(((size_t)groups + 1) * sizeof(int64_t));
        if (!old_counts) {
            free(idx);
            return lg_error(LG_E_NOMEM, "no memory for Unique");
        }
        memcpy(old_counts, counts, (size_t)groups * sizeof(int64_t));
        for (int64_t g = 0; g < groups; g++) tmp[g] = g;
        for (int64_t g = 0; g < groups; g++) inverse[first[g]] = -1 - g; /* mark old group at its first item */
        for (int64_t r = 0; r < groups; r++) {
            int64_t old = -1 - inverse[order[r]];
            tmp[old] = r;
            counts[r] = old_counts[old];
        }
        for (int64_t g = 0; g < groups; g++) inverse[first[g]] = g;
        for (int64_t k = 0; k < u.n; k++) inverse[k] = tmp[inverse[k]];
        memcpy(first, order, (size_t)groups * sizeof(int64_t));
        free(old_counts);
    }
    int rc = unique_values(c, &u, first, groups, axis);
    if (rc == LG_OK) rc = unique_int64_out(c, 1, first, groups);
    if (rc == LG_OK) rc = unique_int64_out(c, 2, inverse, u.n);
    if (rc == LG_OK) rc = unique_int64_out(c, 3, counts, groups);
    free(idx);
    return rc;
}

const lg_op_def lg_ops_sort[] = {
    { "TopK", "", 1, 27, topk_infer, topk_exec, NULL, NULL },
    { "Unique", "", 11, 27, NULL, unique_exec, NULL, NULL },
    { NULL }
};
