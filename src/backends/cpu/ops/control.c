/*
 * control.c: control-flow operators that run subgraphs: If, Loop and Scan (opset 8 with
 * its batch axis, and 9+). Subgraphs see the enclosing graphs' values by name through
 * lg_kctx_run_graph. Output shapes depend on the data, so these ops have no infer. Also
 * OptionalHasElement/OptionalGetElement for plain tensors.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/kernel.h"

/* Moves src's contents into output i (or drops them if the output is unused). */
static int give_output(lg_kctx *c, int i, lg_tensor *src)
{
    if (i >= c->n_outputs || !c->outputs[i]) {
        lg_tensor_free(src);
        return LG_OK;
    }
    lg_tensor *dst = c->outputs[i];
    lg_tensor_clear(dst);
    *dst = *src;
    free(src); /* the struct only: its data now belongs to dst */
    return LG_OK;
}

static int cond_value(const lg_tensor *t, bool *out)
{
    if (!t || lg_tensor_numel_(t) != 1 || !t->data)
        return lg_error(LG_E_RUNTIME, "condition must be a tensor with one element");
    *out = lg_tensor_get_f64(t, 0) != 0;
    return LG_OK;
}

/* ---- If ---------------------------------------------------------------------------- */

static int if_exec(lg_kctx *c)
{
    bool cond = false; /* set by cond_value; initialised for gcc -O3, which cannot see that */
    LG_CHECK(cond_value(lg_kin(c, 0), &cond));
    const lg_graph *g = lg_attr_graph(c->node, cond ? "then_branch" : "else_branch");
    if (!g) return lg_error(LG_E_INVALID_MODEL, "missing %s attribute", cond ? "then_branch" : "else_branch");
    if (g->n_outputs != c->n_outputs)
        return lg_error(LG_E_INVALID_MODEL, "branch has %d outputs, node has %d", g->n_outputs, c->n_outputs);
    lg_tensor **res = calloc((size_t)c->n_outputs + 1, sizeof(lg_tensor *));
    if (!res) return lg_error(LG_E_NOMEM, "out of memory");
    int rc = lg_kctx_run_graph(c, g, 0, NULL, c->n_outputs, res);
    for (int i = 0; i < c->n_outputs; i++) {
        if (rc == LG_OK) give_output(c, i, res[i]);
        else lg_tensor_free(res[i]);
    }
    free(res);
    return rc;
}

/* ---- stacking helpers --------------------------------------------------------------- */

/* Copies index k along axis of src (rank r) into dst (rank r-1). */
static void take_slice(const lg_tensor *src, int axis, int64_t k, lg_tensor *dst)
{
    size_t es = lg_dtype_size(src->dtype);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= src->dims[d];
    for (int d = axis + 1; d < src->ndim; d++) inner *= src->dims[d];
    int64_t len = src->dims[axis];
    for (int64_t o = 0; o < outer; o++) {
        const char *from = (const char *)src->data + ((o * len + k) * inner) * (int64_t)es;
        char *to = (char *)dst->data + o * inner * (int64_t)es;
        if (src->dtype == LG_STRING)
            for (int64_t i = 0; i < inner; i++) ((char **)to)[i] = strdup(((char *const *)from)[i]);
        else
            memcpy(to, from, (size_t)(inner * (int64_t)es));
    }
}

static int slice_of(const lg_tensor *src, int axis, int64_t k, lg_tensor **out)
{
    int64_t dims[LG_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < src->ndim; d++)
        if (d != axis) dims[nd++] = src->dims[d];
    LG_CHECK(lg_tensor_create(src->dtype, nd, dims, out));
    take_slice(src, axis, k, *out);
    return LG_OK;
}

/* Writes part (rank r-1) as index k along axis of dst (rank r). */
static void put_slice(lg_tensor *dst, int axis, int64_t k, const lg_tensor *part)
{
    size_t es = lg_dtype_size(dst->dtype);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= dst->dims[d];
    for (int d = axis + 1; d < dst->ndim; d++) inner *= dst->dims[d];
    int64_t len = dst->dims[axis];
    for (int64_t o = 0; o < outer; o++) {
        char *to = (char *)dst->data + ((o * len + k) * inner) * (int64_t)es;
        const char *from = (const char *)part->data + o * inner * (int64_t)es;
        if (dst->dtype == LG_STRING)
            for (int64_t i = 0; i < inner; i++) ((char **)to)[i] = strdup(((char *const *)from)[i]);
        else
            memcpy(to, from, (size_t)(inner * (int64_t)es));
    }
}

/* Stacks n equally shaped parts along a new axis. */
static int stack(lg_tensor *const *parts, int64_t n, int axis, lg_dtype dt_if_empty, lg_tensor **out)
{
    int64_t dims[LG_MAX_DIMS];
    if (n == 0) {
        int64_t zero = 0;
        return lg_tensor_create(dt_if_empty, 1, &zero, out);
    }
    const lg_tensor *p0 = parts[0];
    if (p0->ndim + 1 > LG_MAX_DIMS) return lg_error(LG_E_LIMIT, "stacked rank too large");
    for (int64_t i = 1; i < n; i++)
        if (!lg_dims_equal(parts[i]->ndim, parts[i]->dims, p0->ndim, p0->dims) || parts[i]->dtype != p0->dtype)
            return lg_error(LG_E_RUNTIME, "scan output changes shape or type between iterations");
    if (axis < 0) axis += p0->ndim + 1;
    if (axis < 0 || axis > p0->ndim) return lg_error(LG_E_INVALID_MODEL, "scan output axis out of range");
    for (int d = 0, k = 0; d <= p0->ndim; d++) dims[d] = (d == axis) ? n : p0->dims[k++];
    LG_CHECK(lg_tensor_create(p0->dtype, p0->ndim + 1, dims, out));
    for (int64_t i = 0; i < n; i++) put_slice(*out, axis, i, parts[i]);
    return LG_OK;
}

/* A growable list of tensors (scan outputs per iteration). */
typedef struct tlist {
    lg_tensor **items;
    int64_t n, cap;
} tlist;

static int tlist_push(tlist *l, lg_tensor *t)
{
    if (l->n == l->cap) {
        int64_t cap = l->cap ? l->cap * 2 : 16;
        lg_tensor **p = realloc(l->items, sizeof(*p) * (size_t)cap);
        if (!p) {
            lg_tensor_free(t);
            return lg_error(LG_E_NOMEM, "out of memory");
        }
        l->items = p;
        l->cap = cap;
    }
    l->items[l->n++] = t;
    return LG_OK;
}

static void tlist_free(tlist *l)
{
    for (int64_t i = 0; i < l->n; i++) lg_tensor_free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* ---- Loop --------------------------------------------------------------------------- */

static int loop_exec(lg_kctx *c)
{
    const lg_graph *body = lg_attr_graph(c->node, "body");
    if (!body) return lg_error(LG_E_INVALID_MODEL, "missing body attribute");
    const lg_tensor *m = lg_kin(c, 0), *cond0 = lg_kin(c, 1);
    int n_carried = c->n_inputs - 2;
    if (n_carried < 0) n_carried = 0;
    int n_scan = body->n_outputs - 1 - n_carried;
    if (body->n_inputs != 2 + n_carried || n_scan < 0 || c->n_outputs != n_carried + n_scan)
        return lg_error(LG_E_INVALID_MODEL, "body has %d inputs and %d outputs for %d loop-carried values and %d outputs",
                        body->n_inputs, body->n_outputs, n_carried, c->n_outputs);
    int64_t max_trips = INT64_MAX;
    if (m && lg_tensor_numel_(m) > 0) max_trips = lg_tensor_get_i64(m, 0);
    bool cond = true;
    if (cond0) LG_CHECK(cond_value(cond0, &cond));

    int rc = LG_OK;
    lg_tensor **carried = calloc((size_t)n_carried + 1, sizeof(lg_tensor *));
    lg_tensor **res = calloc((size_t)body->n_outputs + 1, sizeof(lg_tensor *));
    const lg_tensor **args = calloc((size_t)body->n_inputs + 1, sizeof(lg_tensor *));
    tlist *scans = calloc((size_t)n_scan + 1, sizeof(tlist));
    lg_tensor *iter_t = NULL, *cond_t = NULL;
    if (!carried || !res || !args || !scans) {
        rc = lg_error(LG_E_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n_carried && rc == LG_OK; i++) rc = lg_tensor_clone(lg_kin(c, 2 + i), &carried[i]);
    if (rc == LG_OK) rc = lg_tensor_create(LG_INT64, 0, NULL, &iter_t);
    if (rc == LG_OK) rc = lg_tensor_create(LG_BOOL, 0, NULL, &cond_t);
    for (int64_t it = 0; rc == LG_OK && it < max_trips && cond; it++) {
        *(int64_t *)iter_t->data = it;
        *(uint8_t *)cond_t->data = cond;
        args[0] = iter_t;
        args[1] = cond_t;
        for (int i = 0; i < n_carried; i++) args[2 + i] = carried[i];
        rc = lg_kctx_run_graph(c, body, body->n_inputs, args, body->n_outputs, res);
        if (rc != LG_OK) break;
        rc = cond_value(res[0], &cond);
        lg_tensor_free(res[0]);
        for (int i = 0; i < n_carried; i++) {
            lg_tensor_free(carried[i]);
            carried[i] = res[1 + i];
        }
        for (int k = 0; k < n_scan; k++) {
            if (rc == LG_OK) rc = tlist_push(&scans[k], res[1 + n_carried + k]);
            else lg_tensor_free(res[1 + n_carried + k]);
        }
        if (it > (int64_t)1 << 30) rc = lg_error(LG_E_LIMIT, "loop ran more than 2^30 iterations");
    }
    for (int i = 0; rc == LG_OK && i < n_carried; i++) {
        rc = give_output(c, i, carried[i]);
        carried[i] = NULL;
    }
    for (int k = 0; rc == LG_OK && k < n_scan; k++) {
        lg_tensor *st;
        lg_dtype dt = body->values[body->outputs[1 + n_carried + k]].dtype;
        rc = stack(scans[k].items, scans[k].n, 0, dt ? dt : LG_FLOAT, &st);
        if (rc == LG_OK) give_output(c, n_carried + k, st);
    }
done:
    for (int i = 0; carried && i < n_carried; i++) lg_tensor_free(carried[i]);
    for (int k = 0; scans && k < n_scan; k++) tlist_free(&scans[k]);
    free(carried);
    free(res);
    free(args);
    free(scans);
    lg_tensor_free(iter_t);
    lg_tensor_free(cond_t);
    return rc;
}

/* ---- Scan --------------------------------------------------------------------------- */

typedef struct scan_spec {
    int n_state, n_scan_in, n_scan_out;
    int64_t in_axes[64], in_dirs[64], out_axes[64], out_dirs[64];
} scan_spec;

static int read_list(const lg_node *n, const char *name, int count, int64_t *dst)
{
    int len = 0;
    const int64_t *v = lg_attr_ints(n, name, &len);
    for (int i = 0; i < count; i++) dst[i] = 0;
    if (!v) return LG_OK;
    if (len != count) return lg_error(LG_E_INVALID_MODEL, "attribute %s has %d values, expected %d", name, len, count);
    for (int i = 0; i < count; i++) dst[i] = v[i];
    return LG_OK;
}

/* One scan over inputs (state then scan inputs, without batch), leaving the final states
 * and the stacked scan outputs in outs[0 .. n_state + n_scan_out). */
static int scan_once(lg_kctx *c, const lg_graph *body, const scan_spec *sp, const lg_tensor *const *state0,
                     const lg_tensor *const *scan_in, int64_t seq_len, lg_tensor **outs)
{
    int rc = LG_OK;
    int ns = sp->n_state, ni = sp->n_scan_in, no = sp->n_scan_out;
    lg_tensor **state = calloc((size_t)ns + 1, sizeof(lg_tensor *));
    lg_tensor **slices = calloc((size_t)ni + 1, sizeof(lg_tensor *));
    lg_tensor **res = calloc((size_t)(ns + no) + 1, sizeof(lg_tensor *));
    const lg_tensor **args = calloc((size_t)(ns + ni) + 1, sizeof(lg_tensor *));
    tlist *acc = calloc((size_t)no + 1, sizeof(tlist));
    if (!state || !slices || !res || !args || !acc) {
        rc = lg_error(LG_E_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < ns && rc == LG_OK; i++) rc = lg_tensor_clone(state0[i], &state[i]);
    for (int64_t t = 0; rc == LG_OK && t < seq_len; t++) {
        for (int j = 0; j < ni && rc == LG_OK; j++) {
            int64_t k = sp->in_dirs[j] ? seq_len - 1 - t : t;
            lg_tensor_free(slices[j]);
            slices[j] = NULL;
            rc = slice_of(scan_in[j], (int)sp->in_axes[j], k, &slices[j]);
        }
        if (rc != LG_OK) break;
        for (int i = 0; i < ns; i++) args[i] = state[i];
        for (int j = 0; j < ni; j++) args[ns + j] = slices[j];
        rc = lg_kctx_run_graph(c, body, ns + ni, args, ns + no, res);
        if (rc != LG_OK) break;
        for (int i = 0; i < ns; i++) {
            lg_tensor_free(state[i]);
            state[i] = res[i];
        }
        for (int k = 0; k < no; k++) {
            if (rc == LG_OK) rc = tlist_push(&acc[k], res[ns + k]);
            else lg_tensor_free(res[ns + k]);
        }
    }
    for (int i = 0; rc == LG_OK && i < ns; i++) {
        outs[i] = state[i];
        state[i] = NULL;
    }
    for (int k = 0; rc == LG_OK && k < no; k++) {
        if (sp->out_dirs[k]) /* reverse: last iteration first */
            for (int64_t a = 0, b = acc[k].n - 1; a < b; a++, b--) {
                lg_tensor *tmp = acc[k].items[a];
                acc[k].items[a] = acc[k].items[b];
                acc[k].items[b] = tmp;
            }
        lg_dtype dt = body->values[body->outputs[ns + k]].dtype;
        rc = stack(acc[k].items, acc[k].n, (int)sp->out_axes[k], dt ? dt : LG_FLOAT, &outs[ns + k]);
    }
done:
    for (int i = 0; state && i < ns; i++) lg_tensor_free(state[i]);
    for (int j = 0; slices && j < ni; j++) lg_tensor_free(slices[j]);
    for (int k = 0; acc && k < no; k++) tlist_free(&acc[k]);
    free(state);
    free(slices);
    free(res);
    free(args);
    free(acc);
    return rc;
}

static int scan_exec(lg_kctx *c)
{
    const lg_graph *body = lg_attr_graph(c->node, "body");
    if (!body) return lg_error(LG_E_INVALID_MODEL, "missing body attribute");
    bool v8 = c->opset < 9;
    int first = v8 ? 1 : 0; /* opset 8: input 0 is the optional sequence_lens */
    scan_spec sp;
    memset(&sp, 0, sizeof(sp));
    sp.n_scan_in = (int)lg_attr_int(c->node, "num_scan_inputs", -1);
    sp.n_state = c->n_inputs - first - sp.n_scan_in;
    sp.n_scan_out = c->n_outputs - sp.n_state;
    if (sp.n_scan_in < 1 || sp.n_state < 0 || sp.n_scan_out < 0 || sp.n_scan_in > 64 || sp.n_scan_out > 64 ||
        body->n_inputs != sp.n_state + sp.n_scan_in || body->n_outputs != sp.n_state + sp.n_scan_out)
        return lg_error(LG_E_INVALID_MODEL, "inconsistent input/output counts for num_scan_inputs=%d", sp.n_scan_in);
    LG_CHECK(read_list(c->node, v8 ? "directions" : "scan_input_directions", sp.n_scan_in, sp.in_dirs));
    if (!v8) {
        LG_CHECK(read_list(c->node, "scan_input_axes", sp.n_scan_in, sp.in_axes));
        LG_CHECK(read_list(c->node, "scan_output_axes", sp.n_scan_out, sp.out_axes));
        LG_CHECK(read_list(c->node, "scan_output_directions", sp.n_scan_out, sp.out_dirs));
    }
    const lg_tensor *const *state0 = c->inputs + first;
    const lg_tensor *const *scan_in = c->inputs + first + sp.n_state;
    int n_out = sp.n_state + sp.n_scan_out;
    lg_tensor **outs = calloc((size_t)n_out + 1, sizeof(lg_tensor *));
    if (!outs) return lg_error(LG_E_NOMEM, "out of memory");
    int rc = LG_OK;
    if (!v8) {
        int64_t seq = -1;
        for (int j = 0; j < sp.n_scan_in && rc == LG_OK; j++) {
            const lg_tensor *x = scan_in[j];
            int ax;
            rc = lg_norm_axis(sp.in_axes[j], x->ndim, &ax);
            sp.in_axes[j] = ax;
            if (rc == LG_OK && seq >= 0 && x->dims[ax] != seq) rc = lg_error(LG_E_SHAPE, "scan inputs differ in sequence length");
            if (rc == LG_OK) seq = x->dims[ax];
        }
        if (rc == LG_OK) rc = scan_once(c, body, &sp, state0, scan_in, seq, outs);
        for (int i = 0; i < n_out; i++) {
            if (rc == LG_OK) give_output(c, i, outs[i]);
            else lg_tensor_free(outs[i]);
        }
        free(outs);
        return rc;
    }
    /* Opset 8: axis 0 of every input is the batch; scan along axis 1. */
    const lg_tensor *lens = lg_kin(c, 0);
    int64_t batch = scan_in[0]->ndim > 0 ? scan_in[0]->dims[0] : 0;
    tlist *per = calloc((size_t)n_out + 1, sizeof(tlist));
    lg_tensor **bstate = calloc((size_t)sp.n_state + 1, sizeof(lg_tensor *));
    lg_tensor **bscan = calloc((size_t)sp.n_scan_in + 1, sizeof(lg_tensor *));
    if (!per || !bstate || !bscan) rc = lg_error(LG_E_NOMEM, "out of memory");
    for (int j = 0; j < sp.n_scan_in; j++) sp.in_axes[j] = 0;
    for (int64_t b = 0; rc == LG_OK && b < batch; b++) {
        for (int i = 0; i < sp.n_state && rc == LG_OK; i++) rc = slice_of(state0[i], 0, b, &bstate[i]);
        for (int j = 0; j < sp.n_scan_in && rc == LG_OK; j++) rc = slice_of(scan_in[j], 0, b, &bscan[j]);
        int64_t seq = (rc == LG_OK && bscan[0]->ndim > 0) ? bscan[0]->dims[0] : 0;
        if (lens && lens->data && b < lg_tensor_numel_(lens)) seq = lg_tensor_get_i64(lens, b);
        if (rc == LG_OK) rc = scan_once(c, body, &sp, (const lg_tensor *const *)bstate, (const lg_tensor *const *)bscan, seq, outs);
        for (int i = 0; i < n_out; i++) {
            if (rc == LG_OK) rc = tlist_push(&per[i], outs[i]);
            else lg_tensor_free(outs[i]);
            outs[i] = NULL;
        }
        for (int i = 0; i < sp.n_state; i++) { lg_tensor_free(bstate[i]); bstate[i] = NULL; }
        for (int j = 0; j < sp.n_scan_in; j++) { lg_tensor_free(bscan[j]); bscan[j] = NULL; }
    }
    for (int i = 0; rc == LG_OK && i < n_out; i++) {
        lg_tensor *st;
        rc = stack(per[i].items, per[i].n, 0, LG_FLOAT, &st);
        if (rc == LG_OK) give_output(c, i, st);
    }
    for (int i = 0; per && i < n_out; i++) tlist_free(&per[i]);
    free(per);
    free(bstate);
    free(bscan);
    free(outs);
    return rc;
}

/* ---- OptionalHasElement / OptionalGetElement on plain tensors (opset 18 accepts them):
 * a present input has an element, an omitted one has none. Optional and sequence values
 * themselves are not supported by this build. ---- */

static int has_element_infer(lg_kctx *c) { return lg_kout_shape(c, 0, LG_BOOL, 0, NULL); }

static int has_element_exec(lg_kctx *c)
{
    const lg_tensor *x = lg_kin(c, 0);
    if (c->outputs[0]) ((uint8_t *)c->outputs[0]->data)[0] = x && (x->dtype != LG_OPTIONAL || lg_tensor_numel_(x) > 0);
    return LG_OK;
}

/* The optional's element (or the plain tensor or sequence given). */
static const lg_tensor *element_of(const lg_kctx *c)
{
    const lg_tensor *x = lg_kin(c, 0);
    if (x && x->dtype == LG_OPTIONAL) return lg_tensor_numel_(x) > 0 && x->data ? ((lg_tensor *const *)x->data)[0] : NULL;
    return x;
}

static int get_element_infer(lg_kctx *c)
{
    const lg_tensor *x = lg_kin(c, 0);
    if (x && x->dtype == LG_OPTIONAL && !x->data) return LG_E_DYNAMIC;
    x = element_of(c);
    if (!x) return lg_error(LG_E_RUNTIME, "OptionalGetElement of an empty optional");
    return lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims);
}

static int get_element_exec(lg_kctx *c)
{
    const lg_tensor *x = element_of(c);
    lg_tensor *y = c->outputs[0];
    if (!x) return lg_error(LG_E_RUNTIME, "OptionalGetElement of an empty optional");
    if (!y || !x->nbytes) return LG_OK;
    if (lg_dtype_is_container(x->dtype)) {
        for (int64_t i = 0, n = lg_tensor_numel_(x); i < n; i++)
            LG_CHECK(lg_tensor_clone(((lg_tensor *const *)x->data)[i], &((lg_tensor **)y->data)[i]));
        return LG_OK;
    }
    if (x->dtype != LG_STRING) {
        memcpy(y->data, x->data, x->nbytes);
        return LG_OK;
    }
    for (int64_t i = 0, n = lg_tensor_numel_(x); i < n; i++) {
        const char *s = ((char *const *)x->data)[i];
        if (!(((char **)y->data)[i] = strdup(s ? s : ""))) return lg_error(LG_E_NOMEM, "out of memory");
    }
    return LG_OK;
}

const lg_op_def lg_ops_control[] = {
    { "If", "", 1, 27, NULL, if_exec, NULL, NULL },
    { "Loop", "", 1, 27, NULL, loop_exec, NULL, NULL },
    { "Scan", "", 8, 27, NULL, scan_exec, NULL, NULL },
    { "OptionalHasElement", "", 15, 27, has_element_infer, has_element_exec, NULL, NULL },
    { "OptionalGetElement", "", 15, 27, get_element_infer, get_element_exec, NULL, NULL },
    { NULL },
};
