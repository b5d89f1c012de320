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
    free(g->index);
    free(g->name);
    free(g);
}

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

int lg_graph_find_value(const lg_graph *g, const char *name)
{
    if (!g->index) return -1;
    uint32_t mask = (uint32_t)g->index_cap - 1;
    for (uint32_t i = name_hash(name) & mask;; i = (i + 1) & mask) {
        int v = g->index[i] - 1;
        if (v < 0) return -1;
        if (strcmp(g->values[v].name, name) == 0) return v;
    }
}

static void index_put(lg_graph *g, int v)
{
    uint32_t mask = (uint32_t)g->index_cap - 1;
    uint32_t i = name_hash(g->values[v].name) & mask;
    while (g->index[i]) i = (i + 1) & mask;
    g->index[i] = v + 1;
}

/* Keeps the hash at most half full. */
static int index_grow(lg_graph *g)
{
    if (g->index && 2 * (g->n_values + 1) <= g->index_cap) return LG_OK;
    int cap = g->index_cap ? g->index_cap * 2 : 128;
    int *idx = calloc((size_t)cap, sizeof(int));
    if (!idx) return lg_error(LG_E_NOMEM, "out of memory");
    free(g->index);
    g->index = idx;
    g->index_cap = cap;
    for (int v = 0; v < g->n_values; v++) index_put(g, v);
    return LG_OK;
}

int lg_graph_value(lg_graph *g, const char *name)
{
    int i = lg_graph_find_value(g, name);
    if (i >= 0) return i;
    LG_CHECK(index_grow(g));
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
    index_put(g, g->n_values);
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

/* Min-heap of node indices: among the ready nodes, the earliest in the model goes first. */
static void heap_push(int *h, int *n, int v)
{
    int i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static int heap_pop(int *h, int *n)
{
    int top = h[0], v = h[--*n], i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (h[c] >= v) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
    return top;
}

/* Kahn's algorithm, O(nodes + edges), keeping the original order among ready nodes. A
 * value is available when it is a constant, a graph input, an outer value, or produced by
 * a placed node. */
int lg_graph_sort(lg_graph *g)
{
    int n = g->n_nodes, nv = g->n_values;
    if (n == 0) return LG_OK;
    lg_graph_link(g);
    int edges = 0;
    for (int i = 0; i < n; i++) edges += g->nodes[i].n_inputs;
    int *waiting = calloc((size_t)n, sizeof(int));       /* inputs not yet available */
    int *first = malloc(((size_t)nv + 1) * sizeof(int));  /* consumers of value v: a list */
    int *next = malloc(((size_t)edges + 1) * sizeof(int));
    int *who = malloc(((size_t)edges + 1) * sizeof(int));
    int *heap = malloc((size_t)n * sizeof(int));
    lg_node *sorted = malloc((size_t)n * sizeof(lg_node));
    int rc = LG_OK;
    if (!waiting || !first || !next || !who || !heap || !sorted) {
        rc = lg_error(LG_E_NOMEM, "out of memory");
        goto done;
    }
    for (int v = 0; v < nv; v++) first[v] = -1;
    int e = 0;
    for (int i = 0; i < n; i++) {
        const lg_node *nd = &g->nodes[i];
        for (int k = 0; k < nd->n_inputs; k++) {
            int v = nd->inputs[k];
            if (v < 0 || g->values[v].producer < 0) continue; /* available from the start */
            waiting[i]++;
            who[e] = i;
            next[e] = first[v];
            first[v] = e++;
        }
    }
    int n_heap = 0, count = 0;
    for (int i = 0; i < n; i++)
        if (!waiting[i]) heap_push(heap, &n_heap, i);
    while (n_heap > 0) {
        int i = heap_pop(heap, &n_heap);
        sorted[count++] = g->nodes[i];
        for (int k = 0; k < g->nodes[i].n_outputs; k++) {
            int v = g->nodes[i].outputs[k];
            for (int x = v >= 0 ? first[v] : -1; x >= 0; x = next[x])
                if (--waiting[who[x]] == 0) heap_push(heap, &n_heap, who[x]);
        }
    }
    if (count < n) {
        for (int i = 0; i < n; i++)
            if (waiting[i]) {
                rc = lg_error(LG_E_INVALID_MODEL, "graph has a cycle through node '%s' (%s)", g->nodes[i].name,
                              g->nodes[i].op_type);
                break;
            }
    } else {
        memcpy(g->nodes, sorted, (size_t)n * sizeof(lg_node));
        lg_graph_link(g);
    }
done:
    free(waiting);
    free(first);
    free(next);
    free(who);
    free(heap);
    free(sorted);
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
