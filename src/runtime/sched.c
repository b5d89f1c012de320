/*
 * sched.c: the scheduler. It places the main graph's nodes on the session's device or
 * the host, cuts the node order into partitions (maximal runs of device nodes), plans
 * device memory by liveness, and runs each partition as one graph_compute with copies
 * only at its edges.
 *
 *   node order:   n0    n1    n2    n3    n4    n5    n6
 *   placement:   [dev   dev   dev] [cpu] [dev   dev] [cpu]
 *                 ^ upload inputs  ^ download n2's output, upload n3's for n4
 *
 * A placement belongs to an input-shape signature (the shapes of the graph's inputs):
 * static shape inference gives every value's shape, the device says which nodes it can
 * run with them, a residual Add (and the activation after it) is fused into the node
 * that produces one of its operands, partitions are cut and device activation memory
 * planned into a few arenas (no arena larger than the device's largest buffer). The
 * last few signatures are kept. Device nodes are prepared once per session (weights
 * uploaded there, shared by the backend between sessions of one model); constants a
 * kernel does not keep itself are uploaded once per session here.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "legacygpu/engine.h"
#include "runtime/profile.h"
#include "runtime/session_impl.h"

#define SIG_CACHE 4

typedef struct part {
    int first, last;   /* node index range, in node order */
    int n_nodes, *nodes;
    int n_up, *up;     /* values uploaded at its start */
    int n_down, *down; /* values downloaded at its end */
} part;

typedef struct sig {
    int n_in;
    lg_tensor **in_shape; /* [n_in] graph inputs' shapes (no data) */
    lg_tensor **shape;    /* [nv] every value's shape from static inference, or NULL */
    bool *on_dev;         /* [nn] */
    bool *skip;           /* [nn] the plan's, plus residual Adds fused here */
    int *redirect;        /* [nn] */
    int *residual;        /* [nn] value added in node i's output pass, or -1 */
    lg_act *act;          /* [nn] */
    uint32_t *host_in;    /* [nn] inputs node i reads on the host */
    int *writer;          /* [nv] node that writes value v in this placement, or -1 */
    lg_tensor **dev;      /* [nv] device tensors */
    int n_parts;
    part *parts;
    int n_arenas;
    lg_buffer **arenas;
    uint64_t arena_bytes;
    uint64_t stamp;
} sig;

struct lg_sched {
    pthread_mutex_t mu;
    void **states;      /* [nn] device state of node i */
    bool *prepared;     /* [nn] */
    uint32_t *consumed; /* [nn] constants node i's kernel keeps */
    lg_tensor **cdev;   /* [nv] device copies of constants, uploaded once */
    sig *sigs[SIG_CACHE];
    int n_sigs;
    uint64_t clock;
    bool disabled;      /* out of device memory under "auto": the host runs everything */
};

static const lg_plan *main_plan(const lg_session *s) { return s->plans[0]; }

static bool is_op(const lg_node *n, const char *op) { return !n->domain[0] && !strcmp(n->op_type, op); }

static bool node_has_subgraph(const lg_node *n)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (n->attrs[i].type == LG_ATTR_GRAPH || n->attrs[i].type == LG_ATTR_GRAPHS) return true;
    return false;
}

static lg_tensor *shape_copy(const lg_tensor *t)
{
    lg_tensor *c = lg_tensor_new_empty();
    if (!c) return NULL;
    c->dtype = t->dtype;
    c->ndim = t->ndim;
    memcpy(c->dims, t->dims, sizeof(c->dims));
    c->nbytes = (size_t)lg_tensor_numel_(t) * lg_dtype_size(t->dtype);
    return c;
}

/* ---- signatures ------------------------------------------------------------------ */

static void sig_free(lg_session *s, sig *g)
{
    if (!g) return;
    const lg_graph *gr = main_plan(s)->graph;
    for (int i = 0; g->in_shape && i < g->n_in; i++) lg_tensor_free(g->in_shape[i]);
    for (int v = 0; g->shape && v < gr->n_values; v++) lg_tensor_free(g->shape[v]);
    for (int v = 0; g->dev && v < gr->n_values; v++) lg_tensor_free(g->dev[v]);
    for (int a = 0; a < g->n_arenas; a++)
        if (g->arenas[a]) s->dev_backend->buffer_free(s->dev, g->arenas[a]);
    for (int k = 0; k < g->n_parts; k++) {
        free(g->parts[k].nodes);
        free(g->parts[k].up);
        free(g->parts[k].down);
    }
    free(g->parts);
    free(g->arenas);
    free(g->in_shape);
    free(g->shape);
    free(g->on_dev);
    free(g->skip);
    free(g->redirect);
    free(g->residual);
    free(g->act);
    free(g->host_in);
    free(g->writer);
    free(g->dev);
    free(g);
}

static bool sig_matches(const sig *g, int n_in, lg_tensor *const *in)
{
    if (g->n_in != n_in) return false;
    for (int i = 0; i < n_in; i++) {
        const lg_tensor *a = g->in_shape[i], *b = in[i];
        if (!a || !b) {
            if (a != b) return false;
            continue;
        }
        if (a->dtype != b->dtype || !lg_dims_equal(a->ndim, a->dims, b->ndim, b->dims)) return false;
    }
    return true;
}

/* Static shape inference with the signature's input shapes: every value's shape. */
static int infer_shapes(lg_session *s, sig *g)
{
    const lg_plan *p = main_plan(s);
    const lg_graph *gr = p->graph;
    lg_frame f;
    LG_CHECK(lg_frame_init(&f, s, p, NULL));
    for (int i = 0; i < gr->n_inputs; i++)
        if (g->in_shape[i]) f.vals[gr->inputs[i]] = g->in_shape[i];
    for (int i = 0; i < gr->n_nodes; i++) {
        if (p->skip[i]) continue;
        if (lg_frame_run_node(&f, i, true) != LG_OK) lg_error_clear(); /* unknown: stays on the host */
    }
    int rc = LG_OK;
    for (int v = 0; v < gr->n_values && rc == LG_OK; v++) {
        lg_tensor *t = f.vals[v];
        if (!t || t->ndim < 0 || lg_dtype_size(t->dtype) == 0) continue;
        if (!(g->shape[v] = shape_copy(t))) rc = lg_error(LG_E_NOMEM, "out of memory");
    }
    for (int v = 0; v < gr->n_values; v++)
        if (!f.owned[v]) f.vals[v] = NULL;
    lg_frame_free(&f);
    return rc;
}

/* Input k of node i for the device: a constant (host data), or the value's shape. */
static const lg_tensor *input_for_placement(const lg_plan *p, const sig *g, int v)
{
    if (v < 0) return NULL;
    const lg_tensor *c = lg_plan_constant(p, v);
    return c ? c : g->shape[v];
}

static int out_value(const sig *g, const lg_node *n, int i, int k)
{
    return (k == 0 && g->redirect[i] >= 0) ? g->redirect[i] : n->outputs[k];
}

/* Debugging knobs (docs/gpu.md, troubleshooting): LEGACYGPU_SCHED_OPS=Conv,Relu allows
 * only those op types on the device; LEGACYGPU_SCHED_NODES=A-B only node indices A..B.
 * Bisecting a wrong result with them finds the kernel at fault. */
static bool allowed_by_env(const lg_node *n, int i)
{
    const char *ops = getenv("LEGACYGPU_SCHED_OPS"), *range = getenv("LEGACYGPU_SCHED_NODES");
    if (ops && *ops) {
        size_t len = strlen(n->op_type);
        bool found = false;
        for (const char *q = ops; *q && !found;) {
            const char *e = strchr(q, ',');
            size_t l = e ? (size_t)(e - q) : strlen(q);
            if (l == len && !strncmp(q, n->op_type, len)) found = true;
            q = e ? e + 1 : q + l;
        }
        if (!found) return false;
    }
    if (range && *range) {
        long a = 0, b = -1;
        if (sscanf(range, "%ld-%ld", &a, &b) != 2 || i < a || i > b) return false;
    }
    return true;
}

/* Only plain numeric and bool tensors live on a device: strings, sequences and
 * optionals (tensors of tensors) stay on the host. */
static bool device_dtype(lg_dtype dt)
{
    return dt != LG_UNDEFINED && dt != LG_STRING && dt != LG_SEQUENCE && dt != LG_OPTIONAL && lg_dtype_size(dt) > 0;
}

/* Whether node i can run on the device with this signature's shapes. */
static bool place_node(lg_session *s, sig *g, int i)
{
    const lg_plan *p = main_plan(s);
    const lg_node *n = &p->graph->nodes[i];
    if (node_has_subgraph(n) || n->n_inputs > 32 || n->n_outputs > 16 || !allowed_by_env(n, i)) return false;
    const lg_tensor *in[32] = { 0 }, *out[16] = { 0 };
    for (int k = 0; k < n->n_inputs; k++) {
        int v = n->inputs[k];
        if (v < 0) continue;
        if (!(in[k] = input_for_placement(p, g, v)) || !device_dtype(in[k]->dtype)) return false;
        const lg_tensor *c = lg_plan_constant(p, v);
        if (c && !c->data && lg_tensor_numel_(c) > 0) return false; /* released by release_weights */
        if (lg_tensor_numel_(in[k]) == 0) return false;
    }
    for (int k = 0; k < n->n_outputs; k++) {
        int v = out_value(g, n, i, k);
        if (n->outputs[k] < 0) continue;
        if (!(out[k] = g->shape[v]) || lg_tensor_numel_(out[k]) == 0 || !device_dtype(out[k]->dtype)) return false;
    }
    uint32_t host = 0;
    if (!s->dev_backend->supports_node(s->dev, n, n->opset, n->n_inputs, in, n->n_outputs, out, &host)) return false;
    /* Host inputs must be on the host: constants, graph inputs, or host nodes' outputs. */
    for (int k = 0; k < n->n_inputs; k++) {
        int v = n->inputs[k];
        if (v < 0 || !((host >> k) & 1) || lg_plan_constant(p, v)) continue;
        if (g->writer[v] >= 0 && g->on_dev[g->writer[v]]) return false;
    }
    bool residual = g->residual[i] >= 0;
    if ((g->act[i].kind != LG_ACT_NONE || residual) &&
        (!s->dev_backend->supports_epilogue || !s->dev_backend->supports_epilogue(s->dev, n, &g->act[i], residual)))
        return false;
    if (residual && (!g->shape[g->residual[i]] || !device_dtype(g->shape[g->residual[i]]->dtype))) return false;
    g->host_in[i] = host;
    return true;
}

/* The nodes that read value v (not skipped), up to max; returns how many. */
static int readers(const lg_plan *p, const sig *g, int v, int *out, int max)
{
    const lg_graph *gr = p->graph;
    int c = 0;
    for (int i = 0; i < gr->n_nodes; i++) {
        if (g->skip[i]) continue;
        for (int k = 0; k < gr->nodes[i].n_inputs; k++)
            if (gr->nodes[i].inputs[k] == v) {
                if (c < max) out[c] = i;
                c++;
                break;
            }
    }
    return c;
}

/* Add(x, r) on the device where x comes from a device node c that reads nothing else
 * after it: c adds r (and the activation after the Add) in its output pass. */
static void fuse_residuals(lg_session *s, sig *g)
{
    const lg_plan *p = main_plan(s);
    const lg_graph *gr = p->graph;
    if (s->opts.no_optimize || !s->dev_backend->supports_epilogue) return;
    for (int a = 0; a < gr->n_nodes; a++) {
        const lg_node *add = &gr->nodes[a];
        if (g->skip[a] || !g->on_dev[a] || !is_op(add, "Add") || add->n_inputs != 2 || add->outputs[0] < 0) continue;
        int out = add->outputs[0];
        for (int side = 0; side < 2; side++) {
            int x = add->inputs[side], r = add->inputs[1 - side];
            if (x < 0 || r < 0 || x == r) continue;
            int c = g->writer[x];
            if (c < 0 || !g->on_dev[c] || g->redirect[c] >= 0 || g->residual[c] >= 0 || gr->nodes[c].outputs[0] != x)
                continue;
            int rd[2];
            if (gr->values[x].is_output || readers(p, g, x, rd, 2) != 1) continue;
            const lg_tensor *xs = g->shape[x], *rs = g->shape[r], *os = g->shape[out];
            if (!xs || !rs || !os || rs->dtype != os->dtype || !lg_dims_equal(rs->ndim, rs->dims, os->ndim, os->dims) ||
                !lg_dims_equal(xs->ndim, xs->dims, os->ndim, os->dims))
                continue;
            int rw = g->writer[r];
            if (rw >= c) continue; /* r must exist when c runs */
            /* An activation reading only the Add's output goes along. */
            lg_act act = { .kind = LG_ACT_NONE };
            int j = -1, jr[2];
            if (!gr->values[out].is_output && readers(p, g, out, jr, 2) == 1) {
                const lg_node *jn = &gr->nodes[jr[0]];
                lg_act ja;
                if (g->on_dev[jr[0]] && jn->n_inputs >= 1 && jn->inputs[0] == out && jn->outputs[0] >= 0 &&
                    !is_op(jn, "Clip") && lg_act_from_node(jn, &ja) == LG_OK &&
                    s->dev_backend->supports_epilogue(s->dev, &gr->nodes[c], &ja, true)) {
                    j = jr[0];
                    act = ja;
                }
                lg_error_clear();
            }
            if (!s->dev_backend->supports_epilogue(s->dev, &gr->nodes[c], &act, true)) continue;
            g->skip[a] = true;
            g->residual[c] = r;
            g->act[c] = act;
            g->redirect[c] = out;
            g->writer[out] = c;
            if (j >= 0) {
                g->skip[j] = true;
                g->redirect[c] = gr->nodes[j].outputs[0];
                g->writer[gr->nodes[j].outputs[0]] = c;
            }
            break;
        }
    }
}

/* ---- device memory ------------------------------------------------------------- */

typedef struct slot {
    int v;
    int64_t def, last; /* liveness in half-steps: node i at 2i, uploads before, downloads after */
    uint64_t bytes;
    int arena;
    uint64_t offset;
} slot;

static int slot_by_size(const void *a, const void *b)
{
    const slot *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    return x->v - y->v;
}

/* First-fit by decreasing size into arenas of at most cap bytes: a slot takes the
 * lowest offset that no slot alive at the same time overlaps. */
static int plan_slots(slot *sl, int n, uint64_t cap, uint64_t align, uint64_t **arena_end, int *n_arenas)
{
    qsort(sl, (size_t)n, sizeof(*sl), slot_by_size);
    uint64_t *ends = NULL;
    int na = 0;
    for (int i = 0; i < n; i++) {
        slot *a = &sl[i];
        a->arena = -1;
        for (int ar = 0; ar <= na && a->arena < 0; ar++) {
            uint64_t off = 0;
            bool moved = true;
            while (moved) {
                moved = false;
                for (int j = 0; j < i; j++) {
                    const slot *b = &sl[j];
                    if (b->arena != ar || b->last < a->def || a->last < b->def) continue;
                    if (off < b->offset + b->bytes && b->offset < off + a->bytes) {
                        off = (b->offset + b->bytes + align - 1) / align * align;
                        moved = true;
                    }
                }
            }
            if (off + a->bytes > cap) continue;
            if (ar == na) {
                uint64_t *ne = realloc(ends, sizeof(*ends) * (size_t)(na + 1));
                if (!ne) {
                    free(ends);
                    return lg_error(LG_E_NOMEM, "out of memory");
                }
                ends = ne;
                ends[na++] = 0;
            }
            a->arena = ar;
            a->offset = off;
            if (off + a->bytes > ends[ar]) ends[ar] = off + a->bytes;
        }
        if (a->arena < 0) {
            free(ends);
            return lg_error(LG_E_LIMIT, "a tensor of %llu bytes is larger than the device's largest buffer (%llu bytes)",
                            (unsigned long long)a->bytes, (unsigned long long)cap);
        }
    }
    *arena_end = ends;
    *n_arenas = na;
    return LG_OK;
}

static int push_int(int **arr, int *n, int v)
{
    int *na = realloc(*arr, sizeof(int) * (size_t)(*n + 1));
    if (!na) return lg_error(LG_E_NOMEM, "out of memory");
    na[(*n)++] = v;
    *arr = na;
    return LG_OK;
}

/* Constant v on the device once per session, through the backend's weights cache
 * (shared with the other sessions of this model on this device). */
static int upload_constant(lg_session *s, int v)
{
    lg_sched *sc = s->sched;
    if (sc->cdev[v]) return LG_OK;
    return s->dev_backend->weights_get(s->dev, lg_plan_constant(main_plan(s), v), &sc->cdev[v]);
}

/* Prepares device node i once per session. */
static int prepare_node(lg_session *s, sig *g, int i)
{
    lg_sched *sc = s->sched;
    if (sc->prepared[i]) return LG_OK;
    const lg_plan *p = main_plan(s);
    const lg_node *n = &p->graph->nodes[i];
    const lg_tensor *in[32] = { 0 };
    lg_tensor *out[16] = { 0 };
    for (int k = 0; k < n->n_inputs; k++) in[k] = input_for_placement(p, g, n->inputs[k]);
    for (int k = 0; k < n->n_outputs; k++)
        if (n->outputs[k] >= 0) out[k] = g->shape[out_value(g, n, i, k)];
    uint32_t consumed = 0;
    lg_dev_node dn = { .node = n, .opset = n->opset, .n_inputs = n->n_inputs, .inputs = in, .n_outputs = n->n_outputs,
                       .outputs = out, .residual = g->residual[i] >= 0 ? g->shape[g->residual[i]] : NULL,
                       .act = g->act[i], .consumed = &consumed };
    int rc = s->dev_backend->node_prepare(s->dev, &dn, &sc->states[i]);
    if (rc != LG_OK)
        return lg_error_prefix(rc, "node '%s' (%s, opset %d) on %s", n->name, n->op_type, n->opset, s->dev_backend->name);
    sc->consumed[i] = consumed;
    sc->prepared[i] = true;
    return LG_OK;
}

/* Partitions, copies at their edges, liveness and arenas of a placed signature. */
static int plan_partitions(lg_session *s, sig *g)
{
    lg_sched *sc = s->sched;
    const lg_plan *p = main_plan(s);
    const lg_graph *gr = p->graph;
    int nn = gr->n_nodes, nv = gr->n_values;
    int rc = LG_OK;
    /* Cut. */
    for (int i = 0; i < nn && rc == LG_OK; i++) {
        if (g->skip[i] || !g->on_dev[i]) continue;
        part *last = g->n_parts ? &g->parts[g->n_parts - 1] : NULL;
        bool extend = last != NULL;
        for (int j = last ? last->last + 1 : 0; extend && j < i; j++)
            if (!g->skip[j]) extend = false; /* a host node in between */
        if (!extend) {
            part *np = realloc(g->parts, sizeof(part) * (size_t)(g->n_parts + 1));
            if (!np) return lg_error(LG_E_NOMEM, "out of memory");
            g->parts = np;
            last = &g->parts[g->n_parts++];
            memset(last, 0, sizeof(*last));
            last->first = i;
        }
        last->last = i;
        rc = push_int(&last->nodes, &last->n_nodes, i);
    }
    if (rc != LG_OK) return rc;
    int *part_of = malloc(sizeof(int) * ((size_t)nn + 1));
    slot *sl = calloc((size_t)nv + 1, sizeof(slot));
    int *slot_of = malloc(sizeof(int) * ((size_t)nv + 1));
    bool *need_host = calloc((size_t)nv + 1, sizeof(bool));
    if (!part_of || !sl || !slot_of || !need_host) {
        rc = lg_error(LG_E_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < nn; i++) part_of[i] = -1;
    for (int k = 0; k < g->n_parts; k++)
        for (int j = 0; j < g->parts[k].n_nodes; j++) part_of[g->parts[k].nodes[j]] = k;
    for (int v = 0; v < nv; v++) slot_of[v] = -1;
    /* Values the host needs: read by host nodes (a subgraph may read any earlier value),
     * and the graph's outputs. */
    for (int i = 0; i < nn; i++) {
        if (g->skip[i] || g->on_dev[i]) continue;
        const lg_node *n = &gr->nodes[i];
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) need_host[n->inputs[k]] = true;
        if (g->residual[i] >= 0) need_host[g->residual[i]] = true;
        if (node_has_subgraph(n))
            for (int v = 0; v < nv; v++)
                if (g->writer[v] >= 0 && g->writer[v] < i) need_host[v] = true;
    }
    for (int k = 0; k < gr->n_outputs; k++) need_host[gr->outputs[k]] = true;
    int n_sl = 0;
#define SLOT(v_, def_)                                                                                     \
    do {                                                                                                   \
        if (slot_of[v_] < 0) {                                                                             \
            slot_of[v_] = n_sl;                                                                            \
            sl[n_sl] = (slot){ .v = (v_), .def = (def_), .last = (def_),                                   \
                               .bytes = s->dev_backend->storage_bytes(s->dev, g->shape[v_]->dtype,         \
                                                                      lg_tensor_numel_(g->shape[v_])) };   \
            n_sl++;                                                                                        \
        }                                                                                                  \
    } while (0)
    for (int k = 0; k < g->n_parts && rc == LG_OK; k++) {
        part *pt = &g->parts[k];
        for (int j = 0; j < pt->n_nodes && rc == LG_OK; j++) {
            int i = pt->nodes[j];
            const lg_node *n = &gr->nodes[i];
            rc = prepare_node(s, g, i);
            for (int q = 0; q <= n->n_inputs && rc == LG_OK; q++) {
                int v = q < n->n_inputs ? n->inputs[q] : g->residual[i];
                if (v < 0) continue;
                if (q < n->n_inputs && ((g->host_in[i] >> q) & 1)) continue;
                if (lg_plan_constant(p, v)) {
                    if (q < n->n_inputs && ((sc->consumed[i] >> q) & 1)) continue;
                    rc = upload_constant(s, v);
                    continue;
                }
                int w = g->writer[v];
                if (w < 0 || !g->on_dev[w]) { /* made on the host: uploaded where first needed */
                    if (slot_of[v] < 0) {
                        SLOT(v, 2 * (int64_t)pt->first - 1);
                        rc = push_int(&pt->up, &pt->n_up, v);
                    }
                }
                if (slot_of[v] >= 0 && sl[slot_of[v]].last < 2 * (int64_t)i) sl[slot_of[v]].last = 2 * (int64_t)i;
            }
            for (int q = 0; q < n->n_outputs && rc == LG_OK; q++) {
                if (n->outputs[q] < 0) continue;
                int v = out_value(g, n, i, q);
                SLOT(v, 2 * (int64_t)i);
                if (need_host[v]) {
                    sl[slot_of[v]].last = 2 * (int64_t)pt->last + 1;
                    rc = push_int(&pt->down, &pt->n_down, v);
                }
            }
        }
    }
#undef SLOT
    if (rc != LG_OK) goto done;
    uint64_t *ends = NULL;
    uint64_t cap = s->dev_backend->max_buffer_bytes(s->dev), align = s->dev_backend->alignment(s->dev);
    if (align == 0) align = 16;
    rc = plan_slots(sl, n_sl, cap, align, &ends, &g->n_arenas);
    if (rc != LG_OK) goto done;
    g->arenas = calloc((size_t)g->n_arenas + 1, sizeof(lg_buffer *));
    if (!g->arenas) rc = lg_error(LG_E_NOMEM, "out of memory");
    for (int a = 0; a < g->n_arenas && rc == LG_OK; a++) {
        rc = s->dev_backend->buffer_alloc(s->dev, ends[a] ? ends[a] : align, &g->arenas[a]);
        if (rc != LG_OK) lg_error_prefix(rc, "activations arena %d of %d (%.1f MiB)", a + 1, g->n_arenas, ends[a] / 1048576.0);
        g->arena_bytes += ends[a];
    }
    free(ends);
    for (int k = 0; k < n_sl && rc == LG_OK; k++) {
        lg_tensor *d = shape_copy(g->shape[sl[k].v]);
        if (!d) {
            rc = lg_error(LG_E_NOMEM, "out of memory");
            break;
        }
        d->buf = g->arenas[sl[k].arena];
        d->offset = sl[k].offset;
        g->dev[sl[k].v] = d;
    }
done:
    free(part_of);
    free(sl);
    free(slot_of);
    free(need_host);
    return rc;
}

/* A signature's shapes: the plan's fusions, who writes each value, and every value's
 * shape by static inference with these input shapes (nothing placed yet). */
static int sig_new(lg_session *s, int n_in, lg_tensor *const *in, sig **out)
{
    const lg_plan *p = main_plan(s);
    const lg_graph *gr = p->graph;
    int nn = gr->n_nodes, nv = gr->n_values;
    sig *g = calloc(1, sizeof(*g));
    if (!g) return lg_error(LG_E_NOMEM, "out of memory");
    g->n_in = n_in;
    g->in_shape = calloc((size_t)n_in + 1, sizeof(lg_tensor *));
    g->shape = calloc((size_t)nv + 1, sizeof(lg_tensor *));
    g->on_dev = calloc((size_t)nn + 1, sizeof(bool));
    g->skip = calloc((size_t)nn + 1, sizeof(bool));
    g->redirect = malloc(sizeof(int) * ((size_t)nn + 1));
    g->residual = malloc(sizeof(int) * ((size_t)nn + 1));
    g->act = calloc((size_t)nn + 1, sizeof(lg_act));
    g->host_in = calloc((size_t)nn + 1, sizeof(uint32_t));
    g->writer = malloc(sizeof(int) * ((size_t)nv + 1));
    g->dev = calloc((size_t)nv + 1, sizeof(lg_tensor *));
    int rc = LG_OK;
    if (!g->in_shape || !g->shape || !g->on_dev || !g->skip || !g->redirect || !g->residual || !g->act || !g->host_in ||
        !g->writer || !g->dev)
        rc = lg_error(LG_E_NOMEM, "out of memory");
    for (int i = 0; i < n_in && rc == LG_OK; i++)
        if (in[i] && !(g->in_shape[i] = shape_copy(in[i]))) rc = lg_error(LG_E_NOMEM, "out of memory");
    if (rc == LG_OK) {
        memcpy(g->skip, p->skip, sizeof(bool) * (size_t)nn);
        memcpy(g->redirect, p->redirect, sizeof(int) * (size_t)nn);
        memcpy(g->act, p->acts, sizeof(lg_act) * (size_t)nn);
        memcpy(g->residual, p->residual, sizeof(int) * (size_t)nn); /* fused by the plan (fuse.c) */
        for (int v = 0; v < nv; v++) g->writer[v] = -1;
        for (int i = 0; i < nn; i++) {
            if (g->skip[i]) continue;
            for (int k = 0; k < gr->nodes[i].n_outputs; k++)
                if (gr->nodes[i].outputs[k] >= 0) g->writer[out_value(g, &gr->nodes[i], i, k)] = i;
        }
        rc = infer_shapes(s, g);
    }
    if (rc != LG_OK) {
        sig_free(s, g);
        return rc;
    }
    *out = g;
    return LG_OK;
}

/* Places a new signature and plans its partitions and memory. */
static int sig_build(lg_session *s, int n_in, lg_tensor *const *in, sig **out)
{
    sig *g;
    LG_CHECK(sig_new(s, n_in, in, &g));
    const lg_graph *gr = main_plan(s)->graph;
    for (int i = 0; i < gr->n_nodes; i++)
        if (!g->skip[i]) g->on_dev[i] = place_node(s, g, i);
    lg_error_clear();
    fuse_residuals(s, g);
    int rc = plan_partitions(s, g);
    if (rc != LG_OK) {
        sig_free(s, g);
        return rc;
    }
    *out = g;
    return LG_OK;
}

/* The signature for these input tensors: cached, or built (evicting the oldest). */
static int sig_get(lg_session *s, int n_in, lg_tensor *const *in, sig **out)
{
    lg_sched *sc = s->sched;
    for (int k = 0; k < sc->n_sigs; k++)
        if (sig_matches(sc->sigs[k], n_in, in)) {
            sc->sigs[k]->stamp = ++sc->clock;
            *out = sc->sigs[k];
            return LG_OK;
        }
    sig *g = NULL;
    LG_CHECK(sig_build(s, n_in, in, &g));
    g->stamp = ++sc->clock;
    if (sc->n_sigs == SIG_CACHE) {
        int old = 0;
        for (int k = 1; k < sc->n_sigs; k++)
            if (sc->sigs[k]->stamp < sc->sigs[old]->stamp) old = k;
        sig_free(s, sc->sigs[old]);
        sc->sigs[old] = sc->sigs[--sc->n_sigs];
    }
    sc->sigs[sc->n_sigs++] = g;
    *out = g;
    return LG_OK;
}

/* ---- life cycle --------------------------------------------------------------------- */

/* The graph inputs' declared shapes with symbolic dimensions set to 1 (the default
 * signature, placed at session creation so weights go to the device then). */
static int declared_inputs(const lg_graph *gr, lg_tensor **in)
{
    for (int i = 0; i < gr->n_inputs; i++) {
        const lg_value *val = &gr->values[gr->inputs[i]];
        in[i] = NULL;
        if (val->constant) {
            in[i] = shape_copy(val->constant);
            continue;
        }
        if (val->ndim < 0 || val->dtype == LG_UNDEFINED) return LG_E_DYNAMIC;
        lg_tensor *t = lg_tensor_new_empty();
        if (!t) return lg_error(LG_E_NOMEM, "out of memory");
        t->dtype = val->dtype;
        t->ndim = val->ndim;
        for (int d = 0; d < val->ndim; d++) t->dims[d] = val->dims[d] >= 0 ? val->dims[d] : 1;
        in[i] = t;
    }
    return LG_OK;
}

static void sched_release(lg_session *s)
{
    lg_sched *sc = s->sched;
    const lg_plan *p = main_plan(s);
    for (int k = 0; k < sc->n_sigs; k++) sig_free(s, sc->sigs[k]);
    sc->n_sigs = 0;
    for (int i = 0; i < p->graph->n_nodes; i++)
        if (sc->prepared[i] && s->dev_backend->node_release) s->dev_backend->node_release(s->dev, sc->states[i]);
    for (int v = 0; v < p->graph->n_values; v++) {
        if (sc->cdev[v]) s->dev_backend->weights_put(s->dev, sc->cdev[v]);
        sc->cdev[v] = NULL;
    }
    memset(sc->prepared, 0, sizeof(bool) * (size_t)p->graph->n_nodes);
}

void lg_sched_free(lg_session *s)
{
    lg_sched *sc = s->sched;
    if (!sc) return;
    sched_release(s);
    pthread_mutex_destroy(&sc->mu);
    free(sc->states);
    free(sc->prepared);
    free(sc->consumed);
    free(sc->cdev);
    free(sc);
    s->sched = NULL;
}

/* Out of device memory under "auto": the session goes on with the host alone. */
static int fall_back(lg_session *s, int rc)
{
    if (!s->dev_auto || (rc != LG_E_NOMEM && rc != LG_E_LIMIT && rc != LG_E_DEVICE)) return rc;
    fprintf(stderr, "legacygpu: warning: %s; running on the CPU instead\n", lg_last_error());
    lg_error_clear();
    sched_release(s);
    s->sched->disabled = true;
    return LG_E_UNSUPPORTED;
}

int lg_sched_create(lg_session *s)
{
    const lg_graph *gr = main_plan(s)->graph;
    lg_sched *sc = calloc(1, sizeof(*sc));
    if (!sc) return lg_error(LG_E_NOMEM, "out of memory");
    s->sched = sc;
    pthread_mutex_init(&sc->mu, NULL);
    sc->states = calloc((size_t)gr->n_nodes + 1, sizeof(void *));
    sc->prepared = calloc((size_t)gr->n_nodes + 1, sizeof(bool));
    sc->consumed = calloc((size_t)gr->n_nodes + 1, sizeof(uint32_t));
    sc->cdev = calloc((size_t)gr->n_values + 1, sizeof(lg_tensor *));
    if (!sc->states || !sc->prepared || !sc->consumed || !sc->cdev) return lg_error(LG_E_NOMEM, "out of memory");
    lg_tensor **in = calloc((size_t)gr->n_inputs + 1, sizeof(lg_tensor *));
    if (!in) return lg_error(LG_E_NOMEM, "out of memory");
    int rc = declared_inputs(gr, in);
    if (rc == LG_OK) {
        sig *g;
        rc = sig_get(s, gr->n_inputs, in, &g);
        if (rc != LG_OK && fall_back(s, rc) == LG_E_UNSUPPORTED) rc = LG_OK;
    } else if (rc == LG_E_DYNAMIC) {
        rc = LG_OK; /* placed at the first run */
    }
    for (int i = 0; i < gr->n_inputs; i++) lg_tensor_free(in[i]);
    free(in);
    return rc;
}

/* ---- running ------------------------------------------------------------------------ */

static int run_partition(lg_session *s, sig *g, const part *pt, lg_frame *f)
{
    lg_sched *sc = s->sched;
    const lg_plan *p = main_plan(s);
    const lg_graph *gr = p->graph;
    int n_ptrs = 0;
    for (int j = 0; j < pt->n_nodes; j++) n_ptrs += gr->nodes[pt->nodes[j]].n_inputs + gr->nodes[pt->nodes[j]].n_outputs;
    lg_dev_copy *ups = calloc((size_t)pt->n_up + 1, sizeof(*ups));
    lg_dev_copy *downs = calloc((size_t)pt->n_down + 1, sizeof(*downs));
    lg_dev_node *dn = calloc((size_t)pt->n_nodes + 1, sizeof(*dn));
    const lg_tensor **ptrs = calloc((size_t)n_ptrs + 1, sizeof(*ptrs));
    int rc = LG_OK;
    if (!ups || !downs || !dn || !ptrs) {
        rc = lg_error(LG_E_NOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < pt->n_up && rc == LG_OK; k++) {
        int v = pt->up[k];
        lg_tensor *h = lg_frame_lookup(f, v);
        const lg_tensor *d = g->dev[v];
        if (!h) rc = lg_error(LG_E_RUNTIME, "value '%s' has no value to upload", gr->values[v].name);
        else if (h->dtype != d->dtype || !lg_dims_equal(h->ndim, h->dims, d->ndim, d->dims))
            rc = lg_error(LG_E_RUNTIME, "value '%s' changed shape or type after placement", gr->values[v].name);
        ups[k] = (lg_dev_copy){ .host = h, .dev = g->dev[v] };
    }
    int o = 0;
    for (int j = 0; j < pt->n_nodes && rc == LG_OK; j++) {
        int i = pt->nodes[j];
        const lg_node *n = &gr->nodes[i];
        const lg_tensor **in = &ptrs[o];
        o += n->n_inputs;
        lg_tensor **out = (lg_tensor **)&ptrs[o];
        o += n->n_outputs;
        for (int k = 0; k < n->n_inputs; k++) {
            int v = n->inputs[k];
            in[k] = NULL;
            if (v < 0) continue;
            const lg_tensor *c = lg_plan_constant(p, v);
            if ((g->host_in[i] >> k) & 1) in[k] = c ? c : lg_frame_lookup(f, v);
            else if (c) in[k] = ((sc->consumed[i] >> k) & 1) ? c : sc->cdev[v];
            else in[k] = g->dev[v];
            if (!in[k]) rc = lg_error(LG_E_RUNTIME, "input '%s' of node '%s' has no value", gr->values[v].name, n->name);
        }
        for (int k = 0; k < n->n_outputs; k++) out[k] = n->outputs[k] >= 0 ? g->dev[out_value(g, n, i, k)] : NULL;
        int r = g->residual[i];
        dn[j] = (lg_dev_node){ .node = n, .opset = n->opset, .state = sc->states[i], .n_inputs = n->n_inputs,
                               .inputs = in, .n_outputs = n->n_outputs, .outputs = out,
                               .residual = r < 0 ? NULL : lg_plan_constant(p, r) ? sc->cdev[r] : g->dev[r],
                               .act = g->act[i] };
    }
    for (int k = 0; k < pt->n_down && rc == LG_OK; k++) {
        const lg_tensor *d = g->dev[pt->down[k]];
        lg_tensor *h = lg_tensor_new_empty();
        if (!h) rc = lg_error(LG_E_NOMEM, "out of memory");
        else rc = lg_tensor_reset(h, d->dtype, d->ndim, d->dims);
        downs[k] = (lg_dev_copy){ .host = h, .dev = g->dev[pt->down[k]] };
    }
    if (rc == LG_OK) {
        lg_dev_graph dg = { .n_uploads = pt->n_up, .uploads = ups, .n_nodes = pt->n_nodes, .nodes = dn,
                            .n_downloads = pt->n_down, .downloads = downs };
        rc = s->dev_backend->graph_compute(s->dev, &dg);
        if (rc != LG_OK)
            lg_error_prefix(rc, "%s partition of nodes '%s' .. '%s'", s->dev_backend->name, gr->nodes[pt->first].name,
                            gr->nodes[pt->last].name);
    }
    for (int k = 0; k < pt->n_down; k++) {
        int v = pt->down[k];
        if (rc != LG_OK) {
            lg_tensor_free(downs[k].host);
            continue;
        }
        if (f->owned[v]) lg_tensor_free(f->vals[v]);
        f->vals[v] = downs[k].host;
        f->owned[v] = true;
    }
done:
    free(ups);
    free(downs);
    free(dn);
    free(ptrs);
    return rc;
}

int lg_sched_run(lg_session *s, lg_frame *f)
{
    lg_sched *sc = s->sched;
    const lg_plan *p = main_plan(s);
    const lg_graph *gr = p->graph;
    if (sc->disabled) return LG_E_UNSUPPORTED;
    lg_tensor *in_stack[16] = { 0 }, **in = gr->n_inputs <= 16 ? in_stack : calloc((size_t)gr->n_inputs, sizeof(lg_tensor *));
    if (!in) return lg_error(LG_E_NOMEM, "out of memory");
    for (int i = 0; i < gr->n_inputs; i++) in[i] = lg_frame_lookup(f, gr->inputs[i]);
    pthread_mutex_lock(&sc->mu);
    sig *g = NULL;
    int rc = sig_get(s, gr->n_inputs, in, &g);
    if (in != in_stack) free(in);
    if (rc != LG_OK) {
        rc = fall_back(s, rc);
        pthread_mutex_unlock(&sc->mu);
        return rc;
    }
    int k = 0;
    for (int i = 0; i < gr->n_nodes && rc == LG_OK; i++) {
        if (g->skip[i]) continue;
        if (!g->on_dev[i]) {
            uint64_t t0 = lg_profile_start(s);
            rc = lg_frame_run_node(f, i, false);
            lg_profile_node_done(s, gr, i, t0);
            if (rc == LG_OK) lg_frame_release_after(f, i);
            continue;
        }
        while (k < g->n_parts && g->parts[k].last < i) k++;
        const part *pt = &g->parts[k];
        rc = run_partition(s, g, pt, f);
        for (int j = 0; j < pt->n_nodes && rc == LG_OK; j++) lg_frame_release_after(f, pt->nodes[j]);
        i = pt->last;
    }
    pthread_mutex_unlock(&sc->mu);
    return rc;
}

/* ---- placement summary ------------------------------------------------------------ */

/* Floating-point operations of node i with these shapes: 2 per multiply-add for Conv,
 * ConvTranspose, Gemm and MatMul, one per output element otherwise. */
static double node_flops(const lg_node *n, const sig *g, const lg_plan *p, int i)
{
    const lg_tensor *y = n->n_outputs > 0 && n->outputs[0] >= 0 ? g->shape[out_value(g, n, i, 0)] : NULL;
    if (!y) return 0;
    double out = (double)lg_tensor_numel_(y);
    const lg_tensor *w = n->n_inputs > 1 ? input_for_placement(p, g, n->inputs[1]) : NULL;
    const lg_tensor *a = n->n_inputs > 0 ? input_for_placement(p, g, n->inputs[0]) : NULL;
    if ((is_op(n, "Conv") || is_op(n, "ConvTranspose")) && w && w->ndim >= 3) {
        double k = 1;
        for (int d = 1; d < w->ndim; d++) k *= (double)w->dims[d];
        if (is_op(n, "ConvTranspose") && a) return 2.0 * (double)lg_tensor_numel_(a) * k; /* k = C_out/g * kernel */
        return 2.0 * out * k;
    }
    if ((is_op(n, "Gemm") || is_op(n, "MatMul")) && a && a->ndim >= 1) {
        int64_t kdim = a->dims[a->ndim - 1];
        if (is_op(n, "Gemm")) {
            const lg_attr *ta = lg_node_attr(n, "transA");
            if (ta && ta->i && a->ndim == 2) kdim = a->dims[0];
        }
        return 2.0 * out * (double)kdim;
    }
    return out;
}

int lg_session_placement(lg_session *s, lg_placement *out, int max, int *count)
{
    if (!s || !count) return lg_error(LG_E_INVALID_ARG, "lg_session_placement: NULL argument");
    const lg_plan *p = main_plan(s);
    const lg_graph *gr = p->graph;
    *count = gr->n_nodes;
    sig *g = NULL;
    bool own = false;
    if (s->sched && !s->sched->disabled && s->sched->n_sigs) {
        g = s->sched->sigs[0];
        for (int k = 1; k < s->sched->n_sigs; k++)
            if (s->sched->sigs[k]->stamp > g->stamp) g = s->sched->sigs[k]; /* the last run's */
    }
    if (!g) { /* host only: shapes for the FLOP counts from the declared inputs */
        lg_tensor **in = calloc((size_t)gr->n_inputs + 1, sizeof(lg_tensor *));
        if (!in) return lg_error(LG_E_NOMEM, "out of memory");
        int rc = declared_inputs(gr, in);
        if (rc == LG_OK) rc = sig_new(s, gr->n_inputs, in, &g);
        for (int i = 0; i < gr->n_inputs; i++) lg_tensor_free(in[i]);
        free(in);
        if (rc != LG_OK && rc != LG_E_DYNAMIC) return rc;
        lg_error_clear(); /* inputs of unknown rank: no FLOP counts */
        own = true;
    }
    for (int i = 0; i < gr->n_nodes && i < max && out; i++) {
        const lg_node *n = &gr->nodes[i];
        bool skipped = g ? g->skip[i] : p->skip[i];
        out[i].node = n->name;
        out[i].op_type = n->op_type;
        out[i].backend = skipped ? "-" : (g && g->on_dev[i]) ? s->dev_backend->name : s->host_backend->name;
        out[i].fused = skipped;
        out[i].flops = (!skipped && g) ? node_flops(n, g, p, i) : 0;
    }
    if (own) sig_free(s, g);
    return LG_OK;
}

const lg_tensor *lg_sched_device_constant(const lg_session *s, int v)
{
    if (!s->sched || v < 0 || v >= main_plan(s)->graph->n_values) return NULL;
    return s->sched->cdev[v];
}

int lg_session_device(lg_session *s, char *buf, int len)
{
    if (!s || !buf || len <= 0) return lg_error(LG_E_INVALID_ARG, "lg_session_device: bad argument");
    char name[256] = "";
    if (s->dev && s->sched && !s->sched->disabled) {
        s->dev_backend->device_name(s->dev_index, name, sizeof(name));
        snprintf(buf, (size_t)len, "%s:%d (%s)", s->dev_backend->name, s->dev_index, name);
    } else {
        s->host_backend->device_name(0, name, sizeof(name));
        snprintf(buf, (size_t)len, "%s (%s)", s->host_backend->name, name);
    }
    return LG_OK;
}
