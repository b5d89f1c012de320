/*
 * functions.h: model-local functions (ModelProto.functions, IR 8 and later) inlined into
 * the graphs that call them while the model loads.
 *
 *   lg_node_list l;
 *   if (lg_functions_expand(model_proto, graph_proto->node, graph_proto->n_node, &l) != LG_OK) ...
 *   for (size_t i = 0; i < l.n; i++) convert(l.nodes[i]);
 *   lg_node_list_free(&l);
 *
 * A call node is replaced by the function's body: its formal inputs and outputs become the
 * caller's values, the body's own values get a prefix unique to the call ("<fn>#<k>/"),
 * attributes that refer to the caller's (ref_attr_name) take the caller's value or the
 * function's default. Functions calling functions are expanded in turn; a function that
 * calls itself, directly or through others, is an error, as is an expansion of more than
 * LG_FUNCTION_MAX_NODES nodes.
 */
#ifndef LG_FUNCTIONS_H
#define LG_FUNCTIONS_H

#include <stddef.h>

#include "onnx.pb-c.h"

#define LG_FUNCTION_MAX_NODES ((size_t)1 << 20)
#define LG_FUNCTION_MAX_DEPTH 64

typedef struct lg_node_list {
    Onnx__NodeProto **nodes; /* the graph's nodes with every call expanded */
    size_t n, cap;
    void **owned;            /* what the expansion allocated */
    size_t n_owned, cap_owned;
    Onnx__AttributeProto **defaults; /* unpacked attribute_proto defaults */
    size_t n_defaults, cap_defaults;
} lg_node_list;

/* Expands the calls of mp's functions among nodes[0..n) into out (nodes that call no
 * function are the caller's NodeProtos themselves). mp may be NULL (no functions). */
int lg_functions_expand(const Onnx__ModelProto *mp, Onnx__NodeProto *const *nodes, size_t n, lg_node_list *out);
void lg_node_list_free(lg_node_list *l);

#endif
