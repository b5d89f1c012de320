/*
 * session.c: sessions: planning a model's graphs (op lookup, constant folding, prepare,
 * last-use analysis), executing them node by node with tensors freed after their last
 * reader, subgraph calls for control flow, and static shape inference.
 */
#include <stdio.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "runtime/profile.h"
#include "runtime/session_impl.h"

/* Ops whose result differs between runs: never folded. */
static const char *const nondeterministic_ops[] = {
    "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Bernoulli", "Multinomial", NULL,
};

static bool is_nondeterministic(const lg_node *n)
{
    for (int i = 0; nondeterministic_ops[i]; i++)
        if (!strcmp(n->op_type, nondeterministic_ops[i])) return true;
    return false;
}

/* Ops that read only their input's shape, never its values. */
static const char *const shape_only_ops[] = { "Shape", "Size", NULL };

static bool reads_shape_only(const lg_node *n)
{
    for (int i = 0; shape_only_ops[i]; i++)
        if (!strcmp(n->op_type, shape_only_ops[i]) && !n->domain[0]) return true;
    return false;
}

static bool has_subgraph(const lg_node *n)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (n->attrs[i].type == LG_ATTR_GRAPH || n->attrs[i].type == LG_ATTR_GRAPHS) return true;
    return false;
}

static int node_error(int rc, const lg_node *n)
{
    return lg_error_prefix(rc, "node '%s' (%s%s%s, opset %d)", n->name, n->domain[0] ? n->domain : "",
                           n->domain[0] ? "." : "", n->op_type, n->opset);
}

/* ---- frames ---------------------------------------------------------------------- */

void lg_frame_free(lg_frame *f)
{
    if (!f->vals) return;
    int nv = f->plan->graph->n_values;
    for (int v = 0; v < nv; v++)
        if (f->owned[v]) lg_tensor_free(f->vals[v]);
    free(f->vals);
    free(f->owned);
    f->vals = NULL;
}

int lg_frame_init(lg_frame *f, lg_session *s, const lg_plan *p, lg_frame *parent)
{
    memset(f, 0, sizeof(*f));
    f->plan = p;
    f->parent = parent;
    f->sess = s;
    int nv = p->graph->n_values;
    f->vals = calloc((size_t)nv + 1, sizeof(lg_tensor *));
    f->owned = calloc((size_t)nv + 1, sizeof(bool));
    if (!f->vals || !f->owned) {
        free(f->vals);
        free(f->owned);
        f->vals = NULL;
        return lg_error(LG_E_NOMEM, "out of memory");
    }
    for (int v = 0; v < nv; v++) {
        if (p->consts[v]) f->vals[v] = p->consts[v];
        else if (p->graph->values[v].constant) f->vals[v] = p->graph->values[v].constant;
    }
    return LG_OK;
}

/* Resolves value v of f's graph, looking through enclosing frames for outer values. */
lg_tensor *lg_frame_lookup(lg_frame *f, int v)
{
    if (f->vals[v]) return f->vals[v];
    const lg_value *val = &f->plan->graph->values[v];
    if (!val->is_outer) return NULL;
    for (lg_frame *up = f->parent; up; up = up->parent) {
        int k = lg_graph_find_value(up->plan->graph, val->name);
        if (k >= 0 && up->vals[k]) return up->vals[k];
        if (k >= 0 && !up->plan->graph->values[k].is_outer) return NULL;
    }
    return NULL;
}

/* ---- running one node ------------------------------------------------------------ */

#define MAX_IO 4096

typedef struct node_io {
    const lg_tensor **in;
    lg_tensor **out;
} node_io;

int lg_frame_run_node(lg_frame *f, int i, bool infer_only)
{
    const lg_plan *p = f->plan;
    const lg_graph *g = p->graph;
    const lg_node *n = &g->nodes[i];
    const lg_op_def *op = p->ops[i];
    int rc = LG_OK;
    const lg_tensor *in_stack[16];
    lg_tensor *out_stack[16];
    /* A fused residual travels as input 3, after X, W and B (lg_op_def.fuse_residual). */
    int residual = infer_only ? -1 : p->residual[i];
    int n_in = residual >= 0 ? (n->n_inputs > 3 ? n->n_inputs : 3) + 1 : n->n_inputs;
    const lg_tensor **in = n_in <= 16 ? in_stack : calloc((size_t)n_in, sizeof(*in));
    lg_tensor **out = n->n_outputs <= 16 ? out_stack : calloc((size_t)n->n_outputs, sizeof(*out));
    if (!in || !out) {
        rc = lg_error(LG_E_NOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < n->n_inputs; k++) {
        int v = n->inputs[k];
        in[k] = NULL;
        if (v < 0) continue;
        in[k] = lg_frame_lookup(f, v);
        if (!in[k]) {
            if (infer_only) {
                rc = LG_E_DYNAMIC;
                goto done;
            }
            rc = lg_error(LG_E_RUNTIME, "input '%s' has no value", g->values[v].name);
            goto done;
        }
    }
    for (int k = n->n_inputs; k < n_in; k++) in[k] = NULL;
    if (residual >= 0 && !(in[n_in - 1] = lg_frame_lookup(f, residual))) {
        rc = lg_error(LG_E_RUNTIME, "fused residual '%s' has no value", g->values[residual].name);
        goto done;
    }
    for (int k = 0; k < n->n_outputs; k++) {
        out[k] = NULL;
        if (n->outputs[k] < 0) continue;
        out[k] = lg_tensor_new_empty();
        if (!out[k]) {
            rc = lg_error(LG_E_NOMEM, "out of memory");
            goto fail_outputs;
        }
        out[k]->ndim = -1;
    }
    lg_kctx c = { .node = n, .opset = n->opset, .n_inputs = n_in, .inputs = in,
                  .n_outputs = n->n_outputs, .outputs = out, .pool = f->sess->pool,
                  .state = p->states[i], .infer_only = infer_only, .frame = f };
    if (op->infer) {
        rc = op->infer(&c);
        if (rc == LG_OK && !infer_only) {
            for (int k = 0; k < n->n_outputs && rc == LG_OK; k++) {
                if (!out[k]) continue;
                if (out[k]->ndim < 0) rc = lg_error(LG_E_RUNTIME, "infer left output %d without a shape", k);
                else if (op->overwrites_outputs) rc = lg_tensor_reset_uninit(out[k], out[k]->dtype, out[k]->ndim, out[k]->dims);
                else rc = lg_tensor_reset(out[k], out[k]->dtype, out[k]->ndim, out[k]->dims);
            }
        }
        if (rc == LG_OK && infer_only) {
            /* Small results whose inputs are all known are computed now, so shape
             * computations (Shape -> Gather -> Concat -> Reshape) stay known. */
            bool all_data = true, shape_only = reads_shape_only(n);
            int64_t total = 0;
            for (int k = 0; k < n->n_inputs; k++)
                if (in[k] && !in[k]->data && lg_tensor_numel_(in[k]) > 0 && !shape_only) all_data = false;
            for (int k = 0; k < n->n_outputs; k++)
                if (out[k]) total += lg_tensor_numel_(out[k]);
            if (all_data && total <= 4096 && !has_subgraph(n) && !is_nondeterministic(n)) {
                for (int k = 0; k < n->n_outputs && rc == LG_OK; k++)
                    if (out[k]) rc = lg_tensor_reset(out[k], out[k]->dtype, out[k]->ndim, out[k]->dims);
                if (rc == LG_OK) rc = op->exec(&c);
                if (rc != LG_OK) { /* fall back to shapes only */
                    for (int k = 0; k < n->n_outputs; k++)
                        if (out[k]) lg_tensor_clear(out[k]);
                    rc = LG_OK;
                }
            }
        }
        if (rc == LG_OK && !infer_only) rc = op->exec(&c);
    } else {
        if (infer_only) {
            rc = LG_E_DYNAMIC;
            goto fail_outputs;
        }
        rc = op->exec(&c);
    }
    if (rc == LG_E_DYNAMIC && infer_only) goto fail_outputs;
    if (rc != LG_OK) {
        node_error(rc, n);
        goto fail_outputs;
    }
    for (int k = 0; k < n->n_outputs; k++) {
        if (!out[k]) continue;
        if (out[k]->ndim < 0 || lg_dtype_size(out[k]->dtype) == 0) {
            rc = node_error(lg_error(LG_E_RUNTIME, "output %d was not produced", k), n);
            goto fail_outputs;
        }
        int v = (k == 0 && p->redirect[i] >= 0) ? p->redirect[i] : n->outputs[k];
        if (f->owned[v]) lg_tensor_free(f->vals[v]);
        f->vals[v] = out[k];
        f->owned[v] = true;
    }
    goto done;
fail_outputs:
    for (int k = 0; k < n->n_outputs; k++) lg_tensor_free(out ? out[k] : NULL);
done:
    if (in != in_stack) free(in);
    if (out != out_stack) free(out);
    return rc;
}

/* Frees tensors whose last reader was node i. */
void lg_frame_release_after(lg_frame *f, int i)
{
    const lg_plan *p = f->plan;
    const lg_node *n = &p->graph->nodes[i];
    for (int k = 0; k <= n->n_inputs; k++) {
        int v = k < n->n_inputs ? n->inputs[k] : p->residual[i];
        if (v < 0 || !f->owned[v] || p->last_use[v] != i) continue;
        lg_tensor_free(f->vals[v]);
        f->vals[v] = NULL;
        f->owned[v] = false;
    }
    for (int k = 0; k < n->n_outputs; k++) { /* outputs nobody reads */
        int v = n->outputs[k];
        if (v >= 0 && f->owned[v] && p->last_use[v] < 0) {
            lg_tensor_free(f->vals[v]);
            f->vals[v] = NULL;
            f->owned[v] = false;
        }
    }
}

static int frame_run(lg_frame *f)
{
    const lg_plan *p = f->plan;
    for (int i = 0; i < p->graph->n_nodes; i++) {
        if (p->skip[i]) continue;
        uint64_t t0 = lg_profile_start(f->sess);
        LG_CHECK(lg_frame_run_node(f, i, false));
        lg_profile_node_done(f->sess, p->graph, i, t0);
        lg_frame_release_after(f, i);
    }
    return LG_OK;
}

/* Hands value v's tensor to the caller: moved if the frame owns it, else copied. */
static int frame_take(lg_frame *f, int v, lg_tensor **out)
{
    lg_tensor *t = lg_frame_lookup(f, v);
    if (!t) return lg_error(LG_E_RUNTIME, "output '%s' was not computed", f->plan->graph->values[v].name);
    if (f->owned[v]) {
        *out = t;
        f->vals[v] = NULL;
        f->owned[v] = false;
        /* The same value may be listed twice as an output: keep a copy for the next. */
        for (int k = 0; k < f->plan->graph->n_outputs; k++)
            if (f->plan->graph->outputs[k] == v) {
                lg_tensor *copy;
                if (lg_tensor_clone(t, &copy) == LG_OK) {
                    f->vals[v] = copy;
                    f->owned[v] = true;
                }
                break;
            }
        return LG_OK;
    }
    return lg_tensor_clone(t, out);
}

int lg_kctx_run_graph(lg_kctx *c, const lg_graph *g, int n_in, const lg_tensor *const *inputs, int n_out,
                      lg_tensor **outputs)
{
    lg_session *s = c->frame->sess;
    const lg_plan *p = lg_session_plan_for(s, g);
    if (!p) return lg_error(LG_E_RUNTIME, "subgraph '%s' has no plan", g->name);
    if (n_in > g->n_inputs)
        return lg_error(LG_E_INVALID_MODEL, "subgraph '%s' takes %d inputs, got %d", g->name, g->n_inputs, n_in);
    lg_frame f;
    LG_CHECK(lg_frame_init(&f, s, p, c->frame));
    for (int i = 0; i < n_in; i++) f.vals[g->inputs[i]] = (lg_tensor *)inputs[i];
    int rc = frame_run(&f);
    for (int i = 0; i < n_out && rc == LG_OK; i++) {
        if (i >= g->n_outputs) {
            rc = lg_error(LG_E_INVALID_MODEL, "subgraph '%s' has %d outputs, %d wanted", g->name, g->n_outputs, n_out);
            break;
        }
        rc = frame_take(&f, g->outputs[i], &outputs[i]);
    }
    if (rc != LG_OK)
        for (int i = 0; i < n_out; i++) {
            lg_tensor_free(outputs[i]);
            outputs[i] = NULL;
        }
    lg_frame_free(&f);
    return rc;
}

/* ---- planning -------------------------------------------------------------------- */

static void plan_free(lg_plan *p)
{
    if (!p) return;
    const lg_graph *g = p->graph;
    for (int i = 0; i < g->n_nodes; i++)
        if (p->states && p->states[i] && p->ops[i] && p->ops[i]->release) p->ops[i]->release(p->states[i]);
    for (int v = 0; p->consts && v < g->n_values; v++) lg_tensor_free(p->consts[v]);
    free(p->ops);
    free(p->states);
    free(p->skip);
    free(p->redirect);
    free(p->acts);
    free(p->residual);
    free(p->consts);
    free(p->last_use);
    free(p);
}

const lg_plan *lg_session_plan_for(const lg_session *s, const lg_graph *g)
{
    for (int i = 0; i < s->n_plans; i++)
        if (s->plans[i]->graph == g) return s->plans[i];
    return NULL;
}

/* Places node n on the first of the session's backends that implements it (the CPU,
 * last in every list, implements every op the build has). */
static int resolve_op(const lg_session *s, const lg_node *n, const lg_op_def **out)
{
    int other = 0;
    for (int b = 0; b < s->n_backends; b++) {
        int other_here = 0;
        if (!s->backends[b]->find_op) continue; /* device backends: placed by the scheduler */
        const lg_op_def *d = s->backends[b]->find_op(n->domain, n->op_type, n->opset, &other_here);
        other |= other_here;
        if (d) {
            *out = d;
            return LG_OK;
        }
    }
    const char *dom = n->domain[0] ? n->domain : "ai.onnx";
    if (other)
        return lg_error(LG_E_UNSUPPORTED, "operator %s (domain '%s') is not supported at opset %d, used by node '%s'",
                        n->op_type, dom, n->opset, n->name);
    return lg_error(LG_E_UNSUPPORTED, "unknown operator %s (domain '%s', opset %d) at node '%s'", n->op_type, dom,
                    n->opset, n->name);
}

/* The last node that reads each value (skipped nodes read nothing; a node reads its
 * fused residual); the graph's outputs live to the end. */
static void compute_last_use(lg_plan *p)
{
    const lg_graph *g = p->graph;
    int nn = g->n_nodes, nv = g->n_values;
    for (int v = 0; v < nv; v++) p->last_use[v] = -1;
    for (int i = 0; i < nn; i++) {
        const lg_node *n = &g->nodes[i];
        if (p->skip[i]) continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) p->last_use[n->inputs[k]] = i;
        if (p->residual[i] >= 0) p->last_use[p->residual[i]] = i;
        /* Values a subgraph reads from this graph live until the node holding it ends. */
        if (has_subgraph(n))
            for (int v = 0; v < nv; v++)
                if (p->last_use[v] < i && (g->values[v].producer >= 0 || g->values[v].is_input)) p->last_use[v] = i;
    }
    for (int k = 0; k < g->n_outputs; k++) p->last_use[g->outputs[k]] = nn;
}

static int plan_graph(lg_session *s, const lg_graph *g, bool fold);

static int plan_subgraphs(lg_session *s, const lg_node *n)
{
    for (int a = 0; a < n->n_attrs; a++) {
        if (n->attrs[a].type == LG_ATTR_GRAPH) LG_CHECK(plan_graph(s, n->attrs[a].g, false));
        if (n->attrs[a].type == LG_ATTR_GRAPHS)
            for (int k = 0; k < n->attrs[a].n; k++) LG_CHECK(plan_graph(s, n->attrs[a].graphs[k], false));
    }
    return LG_OK;
}

const lg_tensor *lg_plan_constant(const lg_plan *p, int v)
{
    if (v < 0) return NULL;
    if (p->consts[v]) return p->consts[v];
    const lg_value *val = &p->graph->values[v];
    return (val->constant && !val->is_input) ? val->constant : NULL;
}

static bool node_inputs_constant(const lg_plan *p, const lg_node *n)
{
    for (int k = 0; k < n->n_inputs; k++) {
        int v = n->inputs[k];
        if (v < 0) continue;
        const lg_value *val = &p->graph->values[v];
        if (p->consts[v]) continue;
        if (val->constant && !val->is_input) continue; /* an input with an initializer can be overridden */
        return false;
    }
    return true;
}

/* Evaluates node i at creation time and keeps its outputs as the plan's constants. */
static int fold_node(lg_session *s, lg_plan *p, int i)
{
    lg_frame f;
    LG_CHECK(lg_frame_init(&f, s, p, NULL));
    int rc = lg_frame_run_node(&f, i, false);
    if (rc == LG_OK) {
        const lg_node *n = &p->graph->nodes[i];
        for (int k = 0; k < n->n_outputs; k++) {
            int v = n->outputs[k];
            if (v < 0 || !f.owned[v]) continue;
            p->consts[v] = f.vals[v];
            f.owned[v] = false;
        }
        p->skip[i] = true;
    }
    for (int v = 0; v < p->graph->n_values; v++)
        if (!f.owned[v]) f.vals[v] = NULL;
    lg_frame_free(&f);
    return rc;
}

static int prepare_node(lg_session *s, lg_plan *p, int i, int *consumed)
{
    const lg_graph *g = p->graph;
    const lg_node *n = &g->nodes[i];
    const lg_tensor *in[64] = { 0 };
    if (n->n_inputs > 64) return LG_OK;
    for (int k = 0; k < n->n_inputs; k++) {
        int v = n->inputs[k];
        if (v < 0) continue;
        if (p->consts[v]) in[k] = p->consts[v];
        else if (g->values[v].constant && !g->values[v].is_input) in[k] = g->values[v].constant;
    }
    for (int k = 0; k < n->n_inputs; k++)
        if (in[k] && !in[k]->data && lg_tensor_numel_(in[k]) > 0)
            return node_error(lg_error(LG_E_INVALID_ARG, "weights '%s' were released by another session of this model "
                                       "(release_weights); load the model again for a second session",
                                       g->values[n->inputs[k]].name), n);
    lg_kctx c = { .node = n, .opset = n->opset, .n_inputs = n->n_inputs, .inputs = in, .n_outputs = 0,
                  .outputs = NULL, .pool = s->pool };
    int rc = p->ops[i]->prepare(&c, &p->states[i]);
    if (rc != LG_OK) return node_error(rc, n);
    for (int k = 0; k < n->n_inputs && k < 32; k++)
        if ((c.consumed >> k) & 1 && n->inputs[k] >= 0) consumed[n->inputs[k]]++;
    return LG_OK;
}

/* Frees constants that every reader copied into its prepared state (pre-packed weights):
 * the weights then exist once, in the packed form. */
static void release_consumed(lg_plan *p, const int *consumed)
{
    const lg_graph *g = p->graph;
    int *readers = calloc((size_t)g->n_values + 1, sizeof(int));
    if (!readers) return;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] >= 0 && !p->skip[i]) readers[g->nodes[i].inputs[k]]++;
    for (int v = 0; v < g->n_values; v++) {
        if (!consumed[v] || consumed[v] != readers[v] || g->values[v].is_output || g->values[v].is_input) continue;
        lg_tensor *t = p->consts[v] ? p->consts[v] : g->values[v].constant;
        if (t && t->data) lg_tensor_clear(t); /* keeps dtype and shape */
    }
    free(readers);
}

static int plan_graph(lg_session *s, const lg_graph *g, bool fold)
{
    lg_plan *p = calloc(1, sizeof(*p));
    if (!p) return lg_error(LG_E_NOMEM, "out of memory");
    int nn = g->n_nodes, nv = g->n_values;
    p->graph = g;
    p->ops = calloc((size_t)nn + 1, sizeof(*p->ops));
    p->states = calloc((size_t)nn + 1, sizeof(void *));
    p->skip = calloc((size_t)nn + 1, sizeof(bool));
    p->redirect = malloc(((size_t)nn + 1) * sizeof(int));
    p->acts = calloc((size_t)nn + 1, sizeof(lg_act));
    p->residual = malloc(((size_t)nn + 1) * sizeof(int));
    p->consts = calloc((size_t)nv + 1, sizeof(lg_tensor *));
    p->last_use = malloc(((size_t)nv + 1) * sizeof(int));
    if (s->n_plans == s->cap_plans) {
        int cap = s->cap_plans ? s->cap_plans * 2 : 8;
        lg_plan **np = realloc(s->plans, (size_t)cap * sizeof(*np));
        if (!np) {
            plan_free(p);
            return lg_error(LG_E_NOMEM, "out of memory");
        }
        s->plans = np;
        s->cap_plans = cap;
    }
    s->plans[s->n_plans++] = p;
    if (!p->ops || !p->states || !p->skip || !p->redirect || !p->acts || !p->residual || !p->consts || !p->last_use)
        return lg_error(LG_E_NOMEM, "out of memory");
    for (int i = 0; i < nn; i++) p->redirect[i] = p->residual[i] = -1;
    for (int i = 0; i < nn; i++) {
        LG_CHECK(resolve_op(s, &g->nodes[i], &p->ops[i]));
        LG_CHECK(plan_subgraphs(s, &g->nodes[i]));
    }
    compute_last_use(p);
    if (fold && !s->opts.no_optimize) {
        for (int i = 0; i < nn; i++) {
            const lg_node *n = &g->nodes[i];
            if (n->n_inputs == 0 && strcmp(n->op_type, "Constant") != 0) continue;
            if (is_nondeterministic(n) || has_subgraph(n) || !node_inputs_constant(p, n)) continue;
            if (fold_node(s, p, i) != LG_OK) lg_error_clear(); /* leave it to run time */
        }
    }
    int *consumed = calloc((size_t)nv + 1, sizeof(int));
    if (!consumed) return lg_error(LG_E_NOMEM, "out of memory");
    int rc = LG_OK;
    for (int i = 0; i < nn && rc == LG_OK; i++)
        if (!p->skip[i] && p->ops[i]->prepare) rc = prepare_node(s, p, i, consumed);
    if (rc == LG_OK && fold && !s->opts.no_optimize) {
        lg_plan_fuse(p);
        compute_last_use(p); /* the skipped nodes read nothing now; fused residuals do */
    }
    /* The main graph's device placement reads the weights before they may be released. */
    if (rc == LG_OK && g == s->model->graph && s->dev) rc = lg_sched_create(s);
    if (rc == LG_OK && s->opts.release_weights) release_consumed(p, consumed);
    free(consumed);
    return rc;
}

int lg_session_create_on(lg_model *m, const lg_session_options *opts, const lg_backend_set *set, lg_session **out)
{
    if (!m || !out || !set || !set->host) return lg_error(LG_E_INVALID_ARG, "lg_session_create: NULL argument");
    lg_session *s = calloc(1, sizeof(*s));
    if (!s) {
        if (set->device) set->dev_backend->device_close(set->device);
        return lg_error(LG_E_NOMEM, "out of memory");
    }
    if (opts) s->opts = *opts;
    s->host_backend = set->host;
    s->backends[s->n_backends++] = set->host;
    if (set->device) {
        s->dev_backend = set->dev_backend;
        s->dev = set->device;
        s->dev_index = set->dev_index;
        s->dev_auto = set->dev_auto;
    }
    s->model = m;
    int rc;
#ifdef __GLIBC__
    /* Activation buffers come and go every run: serve them from the heap instead of fresh
     * mmaps, so freed buffers are reused rather than faulted in again each time. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
#endif
    s->pool = lg_threadpool_create(s->opts.num_threads);
    if (!s->pool) {
        if (s->dev) s->dev_backend->device_close(s->dev);
        free(s);
        return lg_error(LG_E_NOMEM, "cannot start threads");
    }
    rc = plan_graph(s, m->graph, true);
    if (rc != LG_OK) {
        lg_session_free(s);
        return rc;
    }
    *out = s;
    return LG_OK;
}

void lg_session_free(lg_session *s)
{
    if (!s) return;
    lg_profile_forget(s);
    lg_sched_free(s);
    for (int i = 0; i < s->n_plans; i++) plan_free(s->plans[i]);
    if (s->dev) s->dev_backend->device_close(s->dev);
    free(s->plans);
    lg_threadpool_free(s->pool);
    free(s);
}

/* ---- binding inputs -------------------------------------------------------------- */

/* Graph inputs the caller must or may feed: those without an initializer, in order,
 * then those with one (overridable defaults). */
static int feedable_input(const lg_graph *g, int pos)
{
    int k = 0;
    for (int i = 0; i < g->n_inputs; i++)
        if (!g->values[g->inputs[i]].constant && k++ == pos) return g->inputs[i];
    return -1;
}

static int check_input(const lg_value *val, const lg_tensor *t)
{
    char a[256], b[256];
    if (val->dtype != LG_UNDEFINED && t->dtype != val->dtype)
        return lg_error(LG_E_SHAPE, "input '%s' must be %s, got %s", val->name, lg_dtype_name(val->dtype),
                        lg_dtype_name(t->dtype));
    if (val->ndim >= 0) {
        bool ok = t->ndim == val->ndim;
        for (int d = 0; ok && d < val->ndim; d++)
            if (val->dims[d] >= 0 && val->dims[d] != t->dims[d]) ok = false;
        if (!ok) {
            int64_t want[LG_MAX_DIMS];
            for (int d = 0; d < val->ndim; d++) want[d] = val->dims[d];
            return lg_error(LG_E_SHAPE, "input '%s' must have shape %s (-1 = any), got %s", val->name,
                            lg_dims_str(val->ndim, want, a, sizeof(a)), lg_dims_str(t->ndim, t->dims, b, sizeof(b)));
        }
    }
    return LG_OK;
}

static int bind_inputs(lg_frame *f, int n_in, const char *const *names, lg_tensor *const *inputs)
{
    const lg_graph *g = f->plan->graph;
    for (int i = 0; i < n_in; i++) {
        int v;
        if (!inputs[i]) return lg_error(LG_E_INVALID_ARG, "input %d is NULL", i);
        if (names) {
            v = lg_graph_find_value(g, names[i]);
            if (v < 0 || !g->values[v].is_input) {
                char list[1024] = "";
                size_t o = 0;
                for (int k = 0; k < g->n_inputs && o < sizeof(list); k++)
                    if (!g->values[g->inputs[k]].constant)
                        o += (size_t)snprintf(list + o, sizeof(list) - o, "%s'%s'", o ? ", " : "", g->values[g->inputs[k]].name);
                return lg_error(LG_E_NOT_FOUND, "the model has no input named '%s' (inputs: %s)", names[i], list);
            }
        } else {
            v = feedable_input(g, i);
            if (v < 0) return lg_error(LG_E_INVALID_ARG, "too many inputs: %d given", n_in);
        }
        LG_CHECK(check_input(&g->values[v], inputs[i]));
        f->vals[v] = inputs[i];
    }
    for (int k = 0; k < g->n_inputs; k++) {
        int v = g->inputs[k];
        if (!f->vals[v]) return lg_error(LG_E_INVALID_ARG, "input '%s' is missing", g->values[v].name);
    }
    return LG_OK;
}

static int find_output(const lg_graph *g, const char *name)
{
    for (int k = 0; k < g->n_outputs; k++)
        if (!strcmp(g->values[g->outputs[k]].name, name)) return g->outputs[k];
    int v = lg_graph_find_value(g, name);
    return v;
}

int lg_session_run(lg_session *s, int n_in, const char *const *in_names, lg_tensor *const *inputs, int n_out,
                   const char *const *out_names, lg_tensor **outputs)
{
    if (!s || (n_in && !inputs) || (n_out && !outputs)) return lg_error(LG_E_INVALID_ARG, "lg_session_run: NULL argument");
    const lg_plan *p = s->plans[0];
    const lg_graph *g = p->graph;
    for (int i = 0; i < n_out; i++) outputs[i] = NULL;
    lg_frame f;
    LG_CHECK(lg_frame_init(&f, s, p, NULL));
    int rc = bind_inputs(&f, n_in, in_names, inputs);
    int *want = calloc((size_t)n_out + 1, sizeof(int));
    if (!want) rc = lg_error(LG_E_NOMEM, "out of memory");
    for (int i = 0; rc == LG_OK && i < n_out; i++) {
        if (out_names) {
            want[i] = find_output(g, out_names[i]);
            if (want[i] < 0) rc = lg_error(LG_E_NOT_FOUND, "the model has no output named '%s'", out_names[i]);
        } else if (i < g->n_outputs) {
            want[i] = g->outputs[i];
        } else {
            rc = lg_error(LG_E_INVALID_ARG, "%d outputs wanted, the model has %d", n_out, g->n_outputs);
        }
    }
    /* Intermediate values asked for by name must survive until the end. */
    int *saved_last = NULL;
    if (rc == LG_OK && out_names) {
        saved_last = malloc(sizeof(int) * (size_t)(n_out + 1));
        for (int i = 0; saved_last && i < n_out; i++) {
            saved_last[i] = p->last_use[want[i]];
            p->last_use[want[i]] = g->n_nodes;
        }
    }
    if (rc == LG_OK) {
        /* The scheduler downloads the graph's outputs; other values asked for by name
         * may live only on the device, so such runs stay on the host. */
        bool graph_outputs_only = true;
        for (int i = 0; i < n_out; i++)
            if (!g->values[want[i]].is_output) graph_outputs_only = false;
        rc = s->sched && graph_outputs_only ? lg_sched_run(s, &f) : LG_E_UNSUPPORTED;
        if (rc == LG_E_UNSUPPORTED) rc = frame_run(&f);
    }
    for (int i = 0; rc == LG_OK && i < n_out; i++) rc = frame_take(&f, want[i], &outputs[i]);
    if (saved_last) {
        for (int i = n_out - 1; i >= 0; i--) p->last_use[want[i]] = saved_last[i];
        free(saved_last);
    }
    if (rc != LG_OK)
        for (int i = 0; i < n_out; i++) {
            lg_tensor_free(outputs[i]);
            outputs[i] = NULL;
        }
    for (int v = 0; v < g->n_values; v++)
        if (!f.owned[v]) f.vals[v] = NULL;
    lg_frame_free(&f);
    free(want);
    return rc;
}

/* ---- static shape inference ------------------------------------------------------ */

static void fill_info(const lg_value *val, const lg_tensor *t, lg_value_info *info)
{
    memset(info, 0, sizeof(*info));
    info->name = val->name;
    info->dtype = t ? t->dtype : val->dtype;
    info->ndim = t ? t->ndim : -1;
    for (int d = 0; t && d < t->ndim; d++) info->dims[d] = t->dims[d];
}

int lg_session_infer_shapes(lg_session *s, int n_in, const char *const *in_names, lg_tensor *const *inputs,
                            int n_out, lg_value_info *outputs)
{
    const lg_plan *p = s->plans[0];
    const lg_graph *g = p->graph;
    lg_frame f;
    LG_CHECK(lg_frame_init(&f, s, p, NULL));
    /* Inputs carry shapes only: views without data. */
    lg_tensor **views = calloc((size_t)n_in + 1, sizeof(lg_tensor *));
    int rc = views ? LG_OK : lg_error(LG_E_NOMEM, "out of memory");
    for (int i = 0; rc == LG_OK && i < n_in; i++) {
        views[i] = lg_tensor_view(inputs[i]);
        if (!views[i]) rc = lg_error(LG_E_NOMEM, "out of memory");
        else views[i]->data = NULL;
    }
    if (rc == LG_OK) rc = bind_inputs(&f, n_in, in_names, views);
    for (int i = 0; rc == LG_OK && i < g->n_nodes; i++) {
        if (p->skip[i]) continue;
        int r = lg_frame_run_node(&f, i, true);
        if (r != LG_OK && r != LG_E_DYNAMIC) rc = r;
    }
    for (int i = 0; rc == LG_OK && i < n_out && i < g->n_outputs; i++) {
        int v = g->outputs[i];
        fill_info(&g->values[v], lg_frame_lookup(&f, v), &outputs[i]);
    }
    for (int v = 0; v < g->n_values; v++)
        if (!f.owned[v]) f.vals[v] = NULL;
    lg_frame_free(&f);
    for (int i = 0; views && i < n_in; i++) lg_tensor_free(views[i]);
    free(views);
    return rc;
}
