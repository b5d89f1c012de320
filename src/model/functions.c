/*
 * functions.c: inlining model-local functions (FunctionProto) into the graphs that call
 * them, at load time (see functions.h). The expansion builds new NodeProtos that share
 * the body's attribute values; what it allocates is owned by the lg_node_list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/functions.h"
#include "model/tensor_proto.h"

static void *own(lg_node_list *l, void *p)
{
    if (!p) return NULL;
    if (l->n_owned == l->cap_owned) {
        size_t cap = l->cap_owned ? 2 * l->cap_owned : 64;
        void **o = realloc(l->owned, cap * sizeof(void *));
        if (!o) {
            free(p);
            return NULL;
        }
        l->owned = o;
        l->cap_owned = cap;
    }
    l->owned[l->n_owned++] = p;
    return p;
}

static int push(lg_node_list *l, Onnx__NodeProto *n)
{
    if (l->n >= LG_FUNCTION_MAX_NODES)
        return lg_error(LG_E_LIMIT, "inlining model-local functions gives more than %zu nodes", LG_FUNCTION_MAX_NODES);
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        Onnx__NodeProto **a = realloc(l->nodes, cap * sizeof(*a));
        if (!a) return lg_error(LG_E_NOMEM, "out of memory inlining functions");
        l->nodes = a;
        l->cap = cap;
    }
    l->nodes[l->n++] = n;
    return LG_OK;
}

static const Onnx__FunctionProto *find_function(const Onnx__ModelProto *mp, const char *domain, const char *name)
{
    for (size_t i = 0; mp && i < mp->n_functions; i++) {
        const Onnx__FunctionProto *f = mp->functions[i];
        if (f->name && !strcmp(f->name, name) && !strcmp(f->domain ? f->domain : "", domain ? domain : "")) return f;
    }
    return NULL;
}

/* The default of attribute name: FunctionProto.attribute_proto (field 11, newer than
 * Debian's onnx.proto, so read from the unknown fields). */
static const Onnx__AttributeProto *default_attr(lg_node_list *l, const Onnx__FunctionProto *f, const char *name)
{
    for (unsigned i = 0; i < f->base.n_unknown_fields; i++) {
        const ProtobufCMessageUnknownField *u = &f->base.unknown_fields[i];
        if (u->tag != 11 || u->wire_type != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED) continue;
        Onnx__AttributeProto *a = onnx__attribute_proto__unpack(lg_pb_allocator(), u->len, u->data);
        if (!a) continue;
        if (a->name && !strcmp(a->name, name)) {
            if (l->n_defaults == l->cap_defaults) {
                size_t cap = l->cap_defaults ? 2 * l->cap_defaults : 8;
                Onnx__AttributeProto **d = realloc(l->defaults, cap * sizeof(*d));
                if (!d) {
                    onnx__attribute_proto__free_unpacked(a, lg_pb_allocator());
                    return NULL;
                }
                l->defaults = d;
                l->cap_defaults = cap;
            }
            l->defaults[l->n_defaults++] = a;
            return a;
        }
        onnx__attribute_proto__free_unpacked(a, lg_pb_allocator());
    }
    return NULL;
}

/* The caller's value for a body name: a formal input or output maps to the call's
 * actual value, any other (non-empty) name gets the call's prefix. */
static char *rename_value(lg_node_list *l, const Onnx__FunctionProto *f, const Onnx__NodeProto *call, const char *prefix,
                          const char *name)
{
    if (!name || !*name) return (char *)"";
    for (size_t i = 0; i < f->n_input; i++)
        if (!strcmp(f->input[i], name)) return i < call->n_input ? call->input[i] : (char *)"";
    for (size_t i = 0; i < f->n_output; i++)
        if (!strcmp(f->output[i], name) && i < call->n_output && call->output[i] && *call->output[i]) return call->output[i];
    size_t len = strlen(prefix) + strlen(name) + 1;
    char *s = own(l, malloc(len));
    if (s) snprintf(s, len, "%s%s", prefix, name);
    return s;
}

static int expand_node(lg_node_list *l, const Onnx__ModelProto *mp, Onnx__NodeProto *node,
                       const Onnx__FunctionProto **stack, int depth, size_t *calls);

/* Appends the body of f for one call. */
static int inline_call(lg_node_list *l, const Onnx__ModelProto *mp, const Onnx__FunctionProto *f, Onnx__NodeProto *call,
                       const Onnx__FunctionProto **stack, int depth, size_t *calls)
{
    for (int i = 0; i < depth; i++)
        if (stack[i] == f)
            return lg_error(LG_E_INVALID_MODEL, "model-local function '%s%s%s' calls itself (recursion is not allowed)",
                            f->domain ? f->domain : "", f->domain && *f->domain ? "." : "", f->name);
    if (depth >= LG_FUNCTION_MAX_DEPTH)
        return lg_error(LG_E_LIMIT, "model-local functions nest more than %d deep", LG_FUNCTION_MAX_DEPTH);
    stack[depth] = f;
    char prefix[256];
    snprintf(prefix, sizeof(prefix), "%s#%zu/", f->name, (*calls)++);
    for (size_t k = 0; k < f->n_node; k++) {
        const Onnx__NodeProto *b = f->node[k];
        Onnx__NodeProto *n = own(l, malloc(sizeof(*n)));
        char **in = own(l, calloc(b->n_input + 1, sizeof(char *)));
        char **out = own(l, calloc(b->n_output + 1, sizeof(char *)));
        Onnx__AttributeProto **attrs = own(l, calloc(b->n_attribute + 1, sizeof(*attrs)));
        if (!n || !in || !out || !attrs) return lg_error(LG_E_NOMEM, "out of memory inlining '%s'", f->name);
        *n = *b;
        n->name = rename_value(l, f, call, prefix, b->name && *b->name ? b->name : "node");
        for (size_t i = 0; i < b->n_input; i++)
            if (!(in[i] = rename_value(l, f, call, prefix, b->input[i]))) return lg_error(LG_E_NOMEM, "out of memory");
        for (size_t i = 0; i < b->n_output; i++)
            if (!(out[i] = rename_value(l, f, call, prefix, b->output[i]))) return lg_error(LG_E_NOMEM, "out of memory");
        n->input = in;
        n->output = out;
        n->attribute = attrs;
        n->n_attribute = 0;
        for (size_t i = 0; i < b->n_attribute; i++) {
            const Onnx__AttributeProto *a = b->attribute[i];
            if (!a->ref_attr_name || !*a->ref_attr_name) {
                attrs[n->n_attribute++] = (Onnx__AttributeProto *)a;
                continue;
            }
            const Onnx__AttributeProto *v = NULL;
            for (size_t j = 0; j < call->n_attribute && !v; j++)
                if (call->attribute[j]->name && !strcmp(call->attribute[j]->name, a->ref_attr_name)) v = call->attribute[j];
            if (!v) v = default_attr(l, f, a->ref_attr_name);
            if (!v) continue; /* not given and no default: the attribute is absent */
            Onnx__AttributeProto *copy = own(l, malloc(sizeof(*copy)));
            if (!copy) return lg_error(LG_E_NOMEM, "out of memory");
            *copy = *v;
            copy->name = a->name;
            copy->ref_attr_name = NULL;
            attrs[n->n_attribute++] = copy;
        }
        LG_CHECK(expand_node(l, mp, n, stack, depth + 1, calls));
    }
    return LG_OK;
}

static int expand_node(lg_node_list *l, const Onnx__ModelProto *mp, Onnx__NodeProto *node,
                       const Onnx__FunctionProto **stack, int depth, size_t *calls)
{
    const Onnx__FunctionProto *f = node->op_type ? find_function(mp, node->domain, node->op_type) : NULL;
    if (!f) return push(l, node);
    return inline_call(l, mp, f, node, stack, depth, calls);
}

int lg_functions_expand(const Onnx__ModelProto *mp, Onnx__NodeProto *const *nodes, size_t n, lg_node_list *out)
{
    memset(out, 0, sizeof(*out));
    const Onnx__FunctionProto *stack[LG_FUNCTION_MAX_DEPTH + 1];
    size_t calls = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = expand_node(out, mp, nodes[i], stack, 0, &calls);
        if (rc != LG_OK) {
            lg_node_list_free(out);
            return rc;
        }
    }
    return LG_OK;
}

void lg_node_list_free(lg_node_list *l)
{
    for (size_t i = 0; i < l->n_owned; i++) free(l->owned[i]);
    for (size_t i = 0; i < l->n_defaults; i++) onnx__attribute_proto__free_unpacked(l->defaults[i], lg_pb_allocator());
    free(l->owned);
    free(l->defaults);
    free(l->nodes);
    memset(l, 0, sizeof(*l));
}
