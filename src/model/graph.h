/*
 * graph.h: the graph IR that the ONNX importer builds and the runtime executes.
 *
 * A graph is a list of values (every named tensor: inputs, initializers, node outputs)
 * and a list of nodes in topological order that read and write values by index.
 * Initializers and folded constants carry their tensor in value->constant; the weights
 * are held once, owned by the graph. A subgraph (If/Loop/Scan bodies) is a graph whose
 * parent is set; values it reads from enclosing graphs are marked is_outer and resolved
 * by name at run time.
 *
 *   const lg_graph *g = model->graph;
 *   for (int i = 0; i < g->n_nodes; i++) {
 *       const lg_node *n = &g->nodes[i];
 *       printf("%s %s -> %s\n", n->op_type, g->values[n->inputs[0]].name,
 *              g->values[n->outputs[0]].name);
 *   }
 */
#ifndef LG_GRAPH_H
#define LG_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/tensor_impl.h"
#include "legacygpu/engine.h"

typedef struct lg_graph lg_graph;
typedef struct lg_op_def lg_op_def;

/* Attribute types; the values are ONNX's AttributeProto.AttributeType numbers. */
typedef enum lg_attr_type {
    LG_ATTR_UNDEFINED = 0,
    LG_ATTR_FLOAT = 1,
    LG_ATTR_INT = 2,
    LG_ATTR_STRING = 3,
    LG_ATTR_TENSOR = 4,
    LG_ATTR_GRAPH = 5,
    LG_ATTR_FLOATS = 6,
    LG_ATTR_INTS = 7,
    LG_ATTR_STRINGS = 8,
    LG_ATTR_TENSORS = 9,
    LG_ATTR_GRAPHS = 10,
    LG_ATTR_SPARSE_TENSOR = 11,
    LG_ATTR_SPARSE_TENSORS = 12,
    LG_ATTR_TYPE_PROTO = 13,
    LG_ATTR_TYPE_PROTOS = 14,
} lg_attr_type;

typedef struct lg_attr {
    char *name;
    lg_attr_type type;
    float f;
    int64_t i;
    char *s;            /* NUL-terminated (bytes may hold NULs: slen is the length) */
    size_t slen;
    lg_tensor *t;
    lg_graph *g;
    int n;              /* element count of the list forms */
    float *floats;
    int64_t *ints;
    char **strings;
    lg_tensor **tensors;
    lg_graph **graphs;
} lg_attr;

typedef struct lg_node {
    char *name;
    char *op_type;
    char *domain;       /* "" for the default ONNX domain */
    int opset;          /* opset version of the node's domain in the model */
    int n_inputs;
    int *inputs;        /* value indices; -1 for an omitted optional input */
    int n_outputs;
    int *outputs;       /* value indices; -1 for an omitted optional output */
    int n_attrs;
    lg_attr *attrs;
    const lg_op_def *op; /* resolved at session creation */
} lg_node;

typedef struct lg_value {
    char *name;
    lg_dtype dtype;         /* LG_UNDEFINED when not known yet */
    int ndim;               /* -1: rank unknown */
    int64_t dims[LG_MAX_DIMS]; /* -1: unknown or symbolic */
    char *dim_params[LG_MAX_DIMS]; /* symbolic names (graph inputs), or NULL */
    lg_tensor *constant;    /* initializer or folded constant, owned by the graph */
    bool is_input;          /* a graph input (without a constant: must be fed) */
    bool is_output;
    bool is_outer;          /* subgraph only: comes from an enclosing graph */
    int producer;           /* node index, or -1 */
} lg_value;

struct lg_graph {
    char *name;
    lg_value *values;
    int n_values, cap_values;
    lg_node *nodes;
    int n_nodes, cap_nodes;
    int *inputs;            /* graph inputs in declared order (including those with initializers) */
    int n_inputs;
    int *outputs;
    int n_outputs;
    lg_graph *parent;
    const struct lg_model *model;
    int *index;             /* open-addressing hash of value names: value index + 1, 0 empty */
    int index_cap;          /* a power of two, at least twice n_values */
};

struct lg_model {
    lg_graph *graph;
    char *producer_name;
    char *producer_version;
    char *path;             /* file the model came from, or NULL */
    char *base_dir;         /* folder for external data */
    int64_t ir_version;
    int64_t opset;          /* default domain */
    int n_opsets;
    char **opset_domains;
    int64_t *opset_versions;
    size_t weight_bytes;
    void **mappings;        /* external data mmaps to release */
    size_t *mapping_sizes;
    int n_mappings;
    const void *load_proto; /* the Onnx__ModelProto while loading (its functions), else NULL */
};

/* Graph building (used by the importer and by optimisation passes). */
lg_graph *lg_graph_new(lg_graph *parent);
void lg_graph_free(lg_graph *g);
/* Index of the value named name in this graph (not parents), or -1. O(1) on average. */
int lg_graph_find_value(const lg_graph *g, const char *name);
/* Finds or creates a value; returns its index or a negative status. */
int lg_graph_value(lg_graph *g, const char *name);
/* Appends a node with room for the given inputs/outputs/attrs; returns a pointer
 * (valid until the next lg_graph_add_node) or NULL on allocation failure. */
lg_node *lg_graph_add_node(lg_graph *g, const char *name, const char *op_type, const char *domain,
                           int n_inputs, int n_outputs, int n_attrs);
/* Orders nodes topologically (stable); fails on cycles or undefined inputs. */
int lg_graph_sort(lg_graph *g);
/* Marks producers. */
void lg_graph_link(lg_graph *g);

void lg_attr_clear(lg_attr *a);

/* Attribute lookup by name; NULL if absent. */
const lg_attr *lg_node_attr(const lg_node *n, const char *name);
int64_t lg_attr_int(const lg_node *n, const char *name, int64_t def);
float lg_attr_float(const lg_node *n, const char *name, float def);
/* The string, or def if absent. */
const char *lg_attr_string(const lg_node *n, const char *name, const char *def);
/* The list, and its length in *count; NULL (count 0) if absent. */
const int64_t *lg_attr_ints(const lg_node *n, const char *name, int *count);
const float *lg_attr_floats(const lg_node *n, const char *name, int *count);
char *const *lg_attr_strings(const lg_node *n, const char *name, int *count);
const lg_tensor *lg_attr_tensor(const lg_node *n, const char *name);
lg_graph *lg_attr_graph(const lg_node *n, const char *name);

/* Opset of domain in the model (0 if not imported). */
int64_t lg_model_opset_of(const struct lg_model *m, const char *domain);

#endif
