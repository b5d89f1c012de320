/*
 * model_ops.c: lists the operators a model uses and checks, before running anything,
 * whether this build can run each: the op registry answers for unknown operators and
 * opsets outside the implemented range; a session is then created (kernels check their
 * attributes in prepare) and shapes are inferred from the declared inputs (kernels refuse
 * dtypes in infer), and the node named in a refusal marks its operator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/registry.h"
#include "cli/model_ops.h"
#include "model/graph.h"
#include "runtime/backend.h"

typedef struct op_row {
    const char *domain, *op_type;
    int opset, count;
    const char *status;
    char reason[512];
    const lg_node *first; /* a node of this operator (for the message) */
} op_row;

typedef struct op_list {
    op_row *rows;
    int n, cap;
    bool oom;
} op_list;

static const char *dom_name(const char *d) { return d && d[0] ? d : "ai.onnx"; }

static op_row *find_row(op_list *l, const lg_node *n)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->rows[i].op_type, n->op_type) && !strcmp(dom_name(l->rows[i].domain), dom_name(n->domain)) &&
            l->rows[i].opset == n->opset)
            return &l->rows[i];
    return NULL;
}

static void collect(op_list *l, const lg_graph *g)
{
    for (int i = 0; i < g->n_nodes && !l->oom; i++) {
        const lg_node *n = &g->nodes[i];
        op_row *r = find_row(l, n);
        if (!r) {
            if (l->n == l->cap) {
                int cap = l->cap ? l->cap * 2 : 32;
                op_row *nr = realloc(l->rows, (size_t)cap * sizeof(op_row));
                if (!nr) {
                    l->oom = true;
                    return;
                }
                l->rows = nr;
                l->cap = cap;
            }
            r = &l->rows[l->n++];
            *r = (op_row){ .domain = n->domain, .op_type = n->op_type, .opset = n->opset, .status = "ok", .first = n };
        }
        r->count++;
        for (int a = 0; a < n->n_attrs; a++) {
            if (n->attrs[a].type == LG_ATTR_GRAPH && n->attrs[a].g) collect(l, n->attrs[a].g);
            if (n->attrs[a].type == LG_ATTR_GRAPHS)
                for (int k = 0; k < n->attrs[a].n; k++) collect(l, n->attrs[a].graphs[k]);
        }
    }
}

typedef struct range_q {
    const char *domain, *op_type;
    char text[128];
} range_q;

/* "13-17, 18-21": the opsets the CPU registry implements for an operator. */
static void add_range(const lg_op_def *d, void *arg)
{
    range_q *q = arg;
    if (strcmp(d->name, q->op_type) || strcmp(dom_name(d->domain), dom_name(q->domain))) return;
    size_t len = strlen(q->text);
    snprintf(q->text + len, sizeof(q->text) - len, "%s%d-%d", len ? ", " : "", d->since, d->until);
}

static void check_registry(op_list *l)
{
    int nb = 0;
    const lg_backend_i *const *bs = lg_backend_registry(&nb);
    for (int i = 0; i < l->n; i++) {
        op_row *r = &l->rows[i];
        int other = 0, found = 0;
        for (int b = 0; b < nb && !found; b++) {
            int o = 0;
            found = bs[b]->find_op && bs[b]->find_op(r->domain, r->op_type, r->opset, &o) != NULL;
            other |= o;
        }
        if (found) continue;
        if (other) {
            range_q q = { r->domain, r->op_type, "" };
            lg_registry_each(add_range, &q);
            r->status = "opset_not_implemented";
            snprintf(r->reason, sizeof(r->reason), "opset %d of %s is not implemented (this build has opsets %s)", r->opset,
                     dom_name(r->domain), q.text);
        } else {
            r->status = "unknown_op";
            snprintf(r->reason, sizeof(r->reason), "unknown operator: no kernel for %s in domain %s", r->op_type,
                     dom_name(r->domain));
        }
    }
}

/* Marks the operator of the node that the last error names ("node 'NAME' ..."). */
static void mark_from_error(op_list *l, const lg_graph *g, int rc)
{
    const char *msg = lg_last_error();
    const char *status = rc == LG_E_UNSUPPORTED ? "unsupported" : "invalid";
    const lg_node *hit = NULL;
    for (int i = 0; i < g->n_nodes && !hit; i++) {
        char needle[300];
        snprintf(needle, sizeof(needle), "node '%s'", g->nodes[i].name);
        if (g->nodes[i].name[0] && strstr(msg, needle)) hit = &g->nodes[i];
    }
    op_row *r = hit ? find_row(l, hit) : NULL;
    if (!r || strcmp(r->status, "ok")) return;
    r->status = status;
    const char *at = strstr(msg, "node '");
    snprintf(r->reason, sizeof(r->reason), "%s", at ? at : msg);
}

/* Creates a session and infers shapes from the declared inputs (unknown dims as 1). */
static void check_session(op_list *l, lg_model *m)
{
    lg_session *s = NULL;
    int rc = lg_session_create(m, NULL, &s);
    if (rc != LG_OK) {
        mark_from_error(l, m->graph, rc);
        return;
    }
    int n_in = lg_model_num_inputs(m), n_out = lg_model_num_outputs(m), k = 0;
    const char **names = calloc((size_t)n_in + 1, sizeof(char *));
    lg_tensor **views = calloc((size_t)n_in + 1, sizeof(lg_tensor *));
    lg_value_info *outs = calloc((size_t)n_out + 1, sizeof(lg_value_info));
    bool ok = names && views && outs;
    for (int i = 0; i < n_in && ok; i++) {
        lg_value_info vi;
        if (lg_model_input_info(m, i, &vi) != LG_OK || vi.dtype == LG_UNDEFINED || vi.ndim < 0) {
            ok = false;
            break;
        }
        int64_t dims[LG_MAX_DIMS];
        for (int d = 0; d < vi.ndim; d++) dims[d] = vi.dims[d] >= 0 ? vi.dims[d] : 1;
        names[k] = vi.name;
        ok = lg_tensor_wrap(vi.dtype, vi.ndim, dims, NULL, &views[k++]) == LG_OK;
    }
    if (ok) {
        rc = lg_session_infer_shapes(s, k, names, views, n_out, outs);
        if (rc == LG_E_UNSUPPORTED || rc == LG_E_INVALID_MODEL) mark_from_error(l, m->graph, rc);
    }
    lg_error_clear();
    for (int i = 0; i < k; i++) lg_tensor_free(views[i]);
    free(names);
    free(views);
    free(outs);
    lg_session_free(s);
}

json_t *lg_cli_model_ops(lg_model *m, int *n_bad)
{
    op_list l = { 0 };
    collect(&l, m->graph);
    check_registry(&l);
    *n_bad = 0;
    for (int i = 0; i < l.n; i++) *n_bad += strcmp(l.rows[i].status, "ok") != 0;
    if (*n_bad == 0) check_session(&l, m);
    json_t *a = json_array();
    *n_bad = 0;
    for (int i = 0; i < l.n; i++) {
        const op_row *r = &l.rows[i];
        bool ok = !strcmp(r->status, "ok");
        *n_bad += !ok;
        json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:i, s:s, s:s?}", "domain", dom_name(r->domain), "op_type",
                                           r->op_type, "opset", r->opset, "count", r->count, "status", r->status, "reason",
                                           ok ? NULL : r->reason));
    }
    free(l.rows);
    return a;
}
