/*
 * graph.c: building the graph IR (values, nodes, attributes), attribute lookup, and
 * topological ordering.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/graph.h"

lg_graph *lg_graph_new(lg_graph *parent)
{
    lg_graph *g = calloc(1, sizeof(*g));
    if (g) {
        g->parent = parent;
        if (parent) g->model = parent->model;
    }
    return g;
}

void lg_attr_clear(lg_attr *a)
{
    free(a->name);
    free(a->s);
    lg_tensor_free(a->t);
    lg_graph_free(a->g);
    free(a->floats);
    free(a->ints);
    if (a->strings)
        for (int i = 0; i < a->n; i++) free(a->strings[i]);
    free(a->strings);
    if (a->tensors)
        for (int i = 0; i < a->n; i++) lg_tensor_free(a->tensors[i]);
    free(a->tensors);
    if (a->graphs)
        for (int i = 0; i < a->n; i++) lg_graph_free(a->graphs[i]);
    free(a->graphs);
    memset(a, 0, sizeof(*a));
}

void lg_graph_free(lg_graph *g)
{
    if (!g) return;
    for (int i = 0; i < g->n_nodes; i++) {
        lg_node *n = &g->nodes[i];
        free(n->name);
        free(n->op_type);
        free(n->domain);
        free(n->inputs);
        free(n->outputs);
        for (int k = 0; k < n->n_attrs; k++) lg_attr_clear(&n->attrs[k]);
        free(n->attrs);
    }
    for (int i = 0; i < g->n_values; i++) {
        lg_value *v = &g->values[i];
        free(v->name);
        for (int k = 0; k < LG_MAX_DIMS; k++) free(v->dim_params[k]);
        lg_tensor_free(v->constant);
    }
    free(g->nodes);
    free(g->values);
    free(g->inputs);
    free(g->outputs);
    free(g->name);
    free(g);
}

int lg_graph_find_value(const lg_graph *g, const char *name)
{
    /* Linear search is fine for lookups at import; the importer keeps its own hash. */
    for (int i = 0; i < g->n_values; i++)
        if (strcmp(g->values[i].name, name) == 0) return i;
    return -1;
}

int lg_graph_value(lg_graph *g, const char *name)
{
    int i = lg_graph_find_value(g, name);
    if (i >= 0) return i;
    if (g->n_values == g->cap_values) {
        int cap = g->cap_values ? g->cap_values * 2 : 64;
        lg_value *nv = realloc(g->values, (size_t)cap * sizeof(*nv));
        if (!nv) return lg_error(LG_E_NOMEM, "out of memory");
        g->values = nv;
        g->cap_values = cap;
    }
    lg_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof(*v));
    v->name = strdup(name);
    if (!v->name) return lg_error(LG_E_NOMEM, "out of memory");
    v->ndim = -1;
    v->producer = -1;
    return g->n_values++;
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

lg_node *lg_graph_add_node(lg_graph *g, const char *name, const char *op_type, const char *domain,
                           int n_inputs, int n_outputs, int n_attrs)
{
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        lg_node *nn = realloc(g->nodes, (size_t)cap * sizeof(*nn));
        if (!nn) return NULL;
        g->nodes = nn;
        g->cap_nodes = cap;
    }
    lg_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof(*n));
    n->name = dup_or_empty(name);
    n->op_type = dup_or_empty(op_type);
    n->domain = dup_or_empty(domain);
    n->inputs = calloc((size_t)n_inputs + 1, sizeof(int));
    n->outputs = calloc((size_t)n_outputs + 1, sizeof(int));
    n->attrs = calloc((size_t)n_attrs + 1, sizeof(lg_attr));
    if (!n->name || !n->op_type || !n->domain || !n->inputs || !n->outputs || !n->attrs) {
        free(n->name); free(n->op_type); free(n->domain);
        free(n->inputs); free(n->outputs); free(n->attrs);
        return NULL;
    }
    n->n_inputs = n_inputs;
    n->n_outputs = n_outputs;
    n->n_attrs = n_attrs;
    g->n_nodes++;
    return n;
}

void lg_graph_link(lg_graph *g)
{
    for (int i = 0; i < g->n_values; i++) g->values[i].producer = -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_outputs; k++)
            if (g->nodes[i].outputs[k] >= 0) g->values[g->nodes[i].outputs[k]].producer = i;
}

/* Kahn's algorithm keeping the original order among ready nodes. A value is available
 * when it is a constant, a graph input, an outer value, or produced by a placed node. */
int lg_graph_sort(lg_graph *g)
{
    int n = g->n_nodes;
    if (n == 0) return LG_OK;
    lg_graph_link(g);
    int *pending = calloc((size_t)n, sizeof(int));
    char *placed = calloc((size_t)n, 1);
    lg_node *sorted = malloc((size_t)n * sizeof(lg_node));
    char *avail = calloc((size_t)g->n_values, 1);
    if (!pending || !placed || !sorted || !avail) {
        free(pending); free(placed); free(sorted); free(avail);
        return lg_error(LG_E_NOMEM, "out of memory");
    }
    for (int v = 0; v < g->n_values; v++) {
        const lg_value *val = &g->values[v];
        avail[v] = val->constant || val->is_input || val->is_outer || val->producer < 0;
    }
    int count = 0, rc = LG_OK;
    while (count < n) {
        int progress = 0;
        for (int i = 0; i < n; i++) {
            if (placed[i]) continue;
            const lg_node *nd = &g->nodes[i];
            int ready = 1;
            for (int k = 0; k < nd->n_inputs && ready; k++)
                if (nd->inputs[k] >= 0 && !avail[nd->inputs[k]]) ready = 0;
            if (!ready) continue;
            placed[i] = 1;
            sorted[count++] = *nd;
            for (int k = 0; k < nd->n_outputs; k++)
                if (nd->outputs[k] >= 0) avail[nd->outputs[k]] = 1;
            progress = 1;
        }
        if (!progress) {
            for (int i = 0; i < n; i++)
                if (!placed[i]) {
                    rc = lg_error(LG_E_INVALID_MODEL, "graph has a cycle through node '%s' (%s)",
                                  g->nodes[i].name, g->nodes[i].op_type);
                    break;
                }
            break;
        }
    }
    if (rc == LG_OK) {
        memcpy(g->nodes, sorted, (size_t)n * sizeof(lg_node));
        lg_graph_link(g);
    }
    free(pending); free(placed); free(sorted); free(avail);
    return rc;
}

const lg_attr *lg_node_attr(const lg_node *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (n->attrs[i].name && strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t lg_attr_int(const lg_node *n, const char *name, int64_t def)
{
    const lg_attr *a = lg_node_attr(n, name);
    if (!a) return def;
    if (a->type == LG_ATTR_INT) return a->i;
    if (a->type == LG_ATTR_FLOAT) return (int64_t)a->f;
    return def;
}

float lg_attr_float(const lg_node *n, const char *name, float def)
{
    const lg_attr *a = lg_node_attr(n, name);
    if (!a) return def;
    if (a->type == LG_ATTR_FLOAT) return a->f;
    if (a->type == LG_ATTR_INT) return (float)a->i;
    return def;
}

const char *lg_attr_string(const lg_node *n, const char *name, const char *def)
{
    const lg_attr *a = lg_node_attr(n, name);
    return (a && a->type == LG_ATTR_STRING && a->s) ? a->s : def;
}

const int64_t *lg_attr_ints(const lg_node *n, const char *name, int *count)
{
    const lg_attr *a = lg_node_attr(n, name);
    if (!a || a->type != LG_ATTR_INTS) {
        if (count) *count = 0;
        return NULL;
    }
    if (count) *count = a->n;
    return a->ints ? a->ints : (const int64_t *)"";
}

const float *lg_attr_floats(const lg_node *n, const char *name, int *count)
{
    const lg_attr *a = lg_node_attr(n, name);
    if (!a || a->type != LG_ATTR_FLOATS) {
        if (count) *count = 0;
        return NULL;
    }
    if (count) *count = a->n;
    return a->floats ? a->floats : (const float *)"";
}

char *const *lg_attr_strings(const lg_node *n, const char *name, int *count)
{
    const lg_attr *a = lg_node_attr(n, name);
    if (!a || a->type != LG_ATTR_STRINGS) {
        if (count) *count = 0;
        return NULL;
    }
    if (count) *count = a->n;
    return a->strings;
}

const lg_tensor *lg_attr_tensor(const lg_node *n, const char *name)
{
    const lg_attr *a = lg_node_attr(n, name);
    return (a && a->type == LG_ATTR_TENSOR) ? a->t : NULL;
}

lg_graph *lg_attr_graph(const lg_node *n, const char *name)
{
    const lg_attr *a = lg_node_attr(n, name);
    return (a && a->type == LG_ATTR_GRAPH) ? a->g : NULL;
}

int64_t lg_model_opset_of(const struct lg_model *m, const char *domain)
{
    if (!domain || strcmp(domain, "ai.onnx") == 0) domain = "";
    for (int i = 0; i < m->n_opsets; i++) {
        const char *d = m->opset_domains[i];
        if (strcmp(d, "ai.onnx") == 0) d = "";
        if (strcmp(d, domain) == 0) return m->opset_versions[i];
    }
    return 0;
}
