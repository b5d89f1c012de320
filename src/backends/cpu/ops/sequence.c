/*
 * sequence.c: the sequence and optional operators: SequenceEmpty, SequenceConstruct,
 * SequenceAt, SequenceInsert, SequenceErase, SequenceLength, SplitToSequence,
 * ConcatFromSequence, SequenceMap (a subgraph per element) and Optional. Sequences and
 * optionals are LG_SEQUENCE / LG_OPTIONAL tensors whose elements are tensors they own
 * (base/tensor_impl.h); every op builds new containers from deep copies, so no element is
 * ever shared between two values.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/tensor_copy.h"
#include "runtime/kernel.h"

static int64_t seq_len(const lg_tensor *s) { return lg_tensor_numel_(s); }

static const lg_tensor *seq_at(const lg_tensor *s, int64_t i) { return ((lg_tensor *const *)s->data)[i]; }

static int need_seq(const lg_kctx *c, int i)
{
    const lg_tensor *s = lg_kin(c, i);
    if (!s || s->dtype != LG_SEQUENCE)
        return lg_error(LG_E_INVALID_MODEL, "%s: input %d must be a sequence", c->node->op_type, i);
    if (!s->data && lg_tensor_numel_(s) > 0) return LG_E_DYNAMIC;
    return LG_OK;
}

/* Output 0 as a sequence of n elements (NULL slots to fill). */
static lg_tensor *seq_out(lg_kctx *c, int64_t n)
{
    if (n > LG_SEQUENCE_MAX) {
        lg_error(LG_E_LIMIT, "a sequence of %lld elements exceeds the limit of %d", (long long)n, LG_SEQUENCE_MAX);
        return NULL;
    }
    return lg_kout_alloc(c, 0, LG_SEQUENCE, 1, (int64_t[]){ n });
}

static int put(lg_tensor *s, int64_t i, const lg_tensor *t) { return lg_tensor_clone(t, &((lg_tensor **)s->data)[i]); }

/* Sequence position from a scalar int tensor: negative counts from the end; insert
 * positions may equal the length. */
static int position(const lg_tensor *t, int64_t n, bool insert, int64_t *pos)
{
    if (!t || lg_tensor_numel_(t) != 1 || !lg_dtype_is_int(t->dtype))
        return lg_error(LG_E_INVALID_MODEL, "position must be one integer");
    int64_t p = lg_tensor_get_i64(t, 0);
    if (p < 0) p += n;
    if (p < 0 || p > n || (!insert && p == n))
        return lg_error(LG_E_RUNTIME, "position %lld is outside a sequence of %lld", (long long)lg_tensor_get_i64(t, 0), (long long)n);
    *pos = p;
    return LG_OK;
}

static int empty_exec(lg_kctx *c) { return seq_out(c, 0) ? LG_OK : LG_E_NOMEM; }

static int construct_exec(lg_kctx *c)
{
    lg_tensor *s = seq_out(c, c->n_inputs);
    if (!s) return LG_E_NOMEM;
    for (int i = 0; i < c->n_inputs; i++) {
        if (!c->inputs[i] || lg_dtype_is_container(c->inputs[i]->dtype))
            return lg_error(LG_E_INVALID_MODEL, "SequenceConstruct: input %d must be a tensor", i);
        if (c->inputs[i]->dtype != c->inputs[0]->dtype)
            return lg_error(LG_E_INVALID_MODEL, "SequenceConstruct: inputs have different types");
        LG_CHECK(put(s, i, c->inputs[i]));
    }
    return LG_OK;
}

static int at_exec(lg_kctx *c)
{
    LG_CHECK(need_seq(c, 0));
    int64_t pos;
    LG_CHECK(position(lg_kin(c, 1), seq_len(c->inputs[0]), false, &pos));
    const lg_tensor *e = seq_at(c->inputs[0], pos);
    lg_tensor *y = lg_kout_alloc(c, 0, e->dtype, e->ndim, e->dims);
    if (!y) return LG_E_NOMEM;
    lg_tensor *copy;
    LG_CHECK(lg_tensor_clone(e, &copy));
    lg_tensor_clear(y); /* take the copy's data */
    *y = *copy;
    free(copy);
    return LG_OK;
}

static int insert_exec(lg_kctx *c)
{
    LG_CHECK(need_seq(c, 0));
    const lg_tensor *s = c->inputs[0], *t = lg_kin(c, 1);
    int64_t n = seq_len(s), pos = n;
    if (!t) return lg_error(LG_E_INVALID_MODEL, "SequenceInsert needs a tensor");
    if (lg_kin(c, 2)) LG_CHECK(position(lg_kin(c, 2), n, true, &pos));
    lg_tensor *y = seq_out(c, n + 1);
    if (!y) return LG_E_NOMEM;
    for (int64_t i = 0, k = 0; i <= n; i++) LG_CHECK(put(y, i, i == pos ? t : seq_at(s, k++)));
    return LG_OK;
}

static int erase_exec(lg_kctx *c)
{
    LG_CHECK(need_seq(c, 0));
    const lg_tensor *s = c->inputs[0];
    int64_t n = seq_len(s), pos = n - 1;
    if (n == 0) return lg_error(LG_E_RUNTIME, "SequenceErase of an empty sequence");
    if (lg_kin(c, 1)) LG_CHECK(position(lg_kin(c, 1), n, false, &pos));
    lg_tensor *y = seq_out(c, n - 1);
    if (!y) return LG_E_NOMEM;
    for (int64_t i = 0, k = 0; i < n; i++)
        if (i != pos) LG_CHECK(put(y, k++, seq_at(s, i)));
    return LG_OK;
}

static int length_exec(lg_kctx *c)
{
    LG_CHECK(need_seq(c, 0));
    lg_tensor *y = lg_kout_alloc(c, 0, LG_INT64, 0, NULL);
    if (!y) return LG_E_NOMEM;
    *(int64_t *)y->data = seq_len(c->inputs[0]);
    return LG_OK;
}

/* SplitToSequence: equal parts of `split` (scalar), the sizes in `split` (1-D), or
 * single slices (keepdims decides whether the axis stays). */
static int split_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *sp = lg_kin(c, 1);
    if (!x || x->ndim < 1 || lg_dtype_is_container(x->dtype)) return lg_error(LG_E_INVALID_MODEL, "SplitToSequence needs a tensor of rank >= 1");
    int axis;
    LG_CHECK(lg_norm_axis(lg_attr_int(c->node, "axis", 0), x->ndim, &axis));
    int64_t d = x->dims[axis], n, *sizes = NULL;
    bool keep = sp || lg_attr_int(c->node, "keepdims", 1) != 0;
    if (!sp) {
        n = d;
    } else if (sp->ndim == 0) {
        int64_t chunk = lg_tensor_get_i64(sp, 0);
        if (chunk <= 0) return lg_error(LG_E_INVALID_MODEL, "split %lld is not positive", (long long)chunk);
        n = (d + chunk - 1) / chunk;
    } else {
        n = lg_tensor_numel_(sp);
    }
    if (n > LG_SEQUENCE_MAX)
        return lg_error(LG_E_LIMIT, "SplitToSequence would make %lld tensors (at most %d)", (long long)n, LG_SEQUENCE_MAX);
    sizes = malloc(sizeof(int64_t) * (size_t)(n + 1));
    if (!sizes) return lg_error(LG_E_NOMEM, "out of memory");
    int64_t sum = 0;
    for (int64_t i = 0; i < n; i++) {
        sizes[i] = !sp ? 1 : sp->ndim == 0 ? (i < n - 1 ? lg_tensor_get_i64(sp, 0) : d - sum) : lg_tensor_get_i64(sp, i);
        if (sizes[i] < 0) break;
        sum += sizes[i];
    }
    int rc = sum == d ? LG_OK : lg_error(LG_E_SHAPE, "split sizes sum to %lld, axis %d has %lld", (long long)sum, axis, (long long)d);
    lg_tensor *y = rc == LG_OK ? seq_out(c, n) : NULL;
    if (rc == LG_OK && !y) rc = LG_E_NOMEM;
    size_t es = lg_dtype_size(x->dtype);
    int64_t outer = lg_dims_numel(axis, x->dims), inner = lg_dims_numel(x->ndim - axis - 1, x->dims + axis + 1);
    for (int64_t i = 0, start = 0; rc == LG_OK && i < n; start += sizes[i], i++) {
        int64_t dims[LG_MAX_DIMS];
        int nd = 0;
        for (int a = 0; a < x->ndim; a++)
            if (a != axis) dims[nd++] = x->dims[a];
            else if (keep) dims[nd++] = sizes[i];
        lg_tensor *e;
        rc = lg_tensor_create(x->dtype, nd, dims, &e);
        if (rc != LG_OK) break;
        ((lg_tensor **)y->data)[i] = e;
        for (int64_t o = 0; o < outer; o++) {
            const char *src = (const char *)x->data + (size_t)((o * d + start) * inner) * es;
            char *dst = (char *)e->data + (size_t)(o * sizes[i] * inner) * es;
            if (x->dtype == LG_STRING)
                for (int64_t k = 0; k < sizes[i] * inner && rc == LG_OK; k++) {
                    const char *str = ((char *const *)src)[k];
                    if (!(((char **)dst)[k] = strdup(str ? str : ""))) rc = lg_error(LG_E_NOMEM, "out of memory");
                }
            else
                memcpy(dst, src, (size_t)(sizes[i] * inner) * es);
        }
    }
    free(sizes);
    return rc;
}

/* ConcatFromSequence: along axis, or stacked on a new axis (new_axis = 1). */
static int concat_exec(lg_kctx *c)
{
    LG_CHECK(need_seq(c, 0));
    const lg_tensor *s = c->inputs[0];
    int64_t n = seq_len(s);
    if (n == 0) return lg_error(LG_E_RUNTIME, "ConcatFromSequence of an empty sequence");
    const lg_tensor *e0 = seq_at(s, 0);
    bool stack = lg_attr_int(c->node, "new_axis", 0) != 0;
    int rank = e0->ndim + (stack ? 1 : 0), axis;
    LG_CHECK(lg_norm_axis(lg_attr_int(c->node, "axis", 0), rank, &axis));
    if (!stack && e0->ndim == 0) return lg_error(LG_E_SHAPE, "cannot concatenate scalars without new_axis");
    int64_t dims[LG_MAX_DIMS], total = 0;
    for (int64_t i = 0; i < n; i++) {
        const lg_tensor *e = seq_at(s, i);
        if (e->dtype != e0->dtype || e->ndim != e0->ndim) return lg_error(LG_E_SHAPE, "sequence elements differ in type or rank");
        for (int a = 0; a < e0->ndim; a++)
            if ((stack || a != axis) && e->dims[a] != e0->dims[a])
                return lg_error(LG_E_SHAPE, "sequence elements differ in dimension %d", a);
        total += stack ? 1 : e->dims[axis];
    }
    if (stack) { /* element dims with the new axis inserted */
        for (int a = 0, k = 0; a < rank; a++) dims[a] = a == axis ? n : e0->dims[k++];
    } else {
        for (int a = 0; a < rank; a++) dims[a] = a == axis ? total : e0->dims[a];
    }
    lg_tensor *y = lg_kout_alloc(c, 0, e0->dtype, rank, dims);
    if (!y) return LG_E_NOMEM;
    if (e0->dtype == LG_STRING) return lg_error(LG_E_UNSUPPORTED, "ConcatFromSequence of strings");
    size_t es = lg_dtype_size(e0->dtype);
    int64_t outer = lg_dims_numel(axis, dims), inner = lg_dims_numel(rank - axis - 1, dims + axis + 1), off = 0;
    for (int64_t i = 0; i < n; i++) {
        const lg_tensor *e = seq_at(s, i);
        int64_t len = stack ? 1 : e->dims[axis];
        for (int64_t o = 0; o < outer; o++)
            memcpy((char *)y->data + (size_t)((o * total + off) * inner) * es, (const char *)e->data + (size_t)(o * len * inner) * es,
                   (size_t)(len * inner) * es);
        off += len;
    }
    return LG_OK;
}

/* SequenceMap: the body runs once per position; sequence inputs give their element,
 * tensor inputs are passed whole; each body output is collected into a sequence. */
static int map_exec(lg_kctx *c)
{
    const lg_graph *body = lg_attr_graph(c->node, "body");
    LG_CHECK(need_seq(c, 0));
    if (!body) return lg_error(LG_E_INVALID_MODEL, "SequenceMap needs a body");
    int64_t n = seq_len(c->inputs[0]);
    for (int i = 1; i < c->n_inputs; i++)
        if (c->inputs[i] && c->inputs[i]->dtype == LG_SEQUENCE && seq_len(c->inputs[i]) != n)
            return lg_error(LG_E_SHAPE, "SequenceMap: sequences of different lengths");
    lg_tensor *outs[16] = { NULL };
    if (c->n_outputs > 16 || c->n_inputs > 16) return lg_error(LG_E_LIMIT, "SequenceMap with more than 16 inputs or outputs");
    for (int k = 0; k < c->n_outputs; k++) {
        if (n > LG_SEQUENCE_MAX) return lg_error(LG_E_LIMIT, "a sequence of %lld elements", (long long)n);
        outs[k] = lg_kout_alloc(c, k, LG_SEQUENCE, 1, (int64_t[]){ n });
        if (!outs[k] && c->outputs[k]) return LG_E_NOMEM;
    }
    for (int64_t p = 0; p < n; p++) {
        const lg_tensor *in[16];
        lg_tensor *res[16] = { NULL };
        for (int i = 0; i < c->n_inputs; i++)
            in[i] = c->inputs[i] && c->inputs[i]->dtype == LG_SEQUENCE ? seq_at(c->inputs[i], p) : c->inputs[i];
        LG_CHECK(lg_kctx_run_graph(c, body, c->n_inputs, in, c->n_outputs, res));
        for (int k = 0; k < c->n_outputs; k++) {
            if (outs[k]) ((lg_tensor **)outs[k]->data)[p] = res[k];
            else lg_tensor_free(res[k]);
        }
    }
    return LG_OK;
}

/* Optional: wraps its input (tensor or sequence), or is empty without one. */
static int optional_exec(lg_kctx *c)
{
    const lg_tensor *x = lg_kin(c, 0);
    lg_tensor *y = lg_kout_alloc(c, 0, LG_OPTIONAL, 1, (int64_t[]){ x ? 1 : 0 });
    if (!y) return LG_E_NOMEM;
    return x ? put(y, 0, x) : LG_OK;
}

const lg_op_def lg_ops_sequence[] = {
    { "SequenceEmpty", "", 11, 27, NULL, empty_exec, NULL, NULL },
    { "SequenceConstruct", "", 11, 27, NULL, construct_exec, NULL, NULL },
    { "SequenceAt", "", 11, 27, NULL, at_exec, NULL, NULL },
    { "SequenceInsert", "", 11, 27, NULL, insert_exec, NULL, NULL },
    { "SequenceErase", "", 11, 27, NULL, erase_exec, NULL, NULL },
    { "SequenceLength", "", 11, 27, NULL, length_exec, NULL, NULL },
    { "SplitToSequence", "", 11, 27, NULL, split_exec, NULL, NULL },
    { "ConcatFromSequence", "", 11, 27, NULL, concat_exec, NULL, NULL },
    { "SequenceMap", "", 17, 27, NULL, map_exec, NULL, NULL },
    { "Optional", "", 15, 27, NULL, optional_exec, NULL, NULL },
    { NULL }
};
