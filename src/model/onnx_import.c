/*
 * onnx_import.c: ONNX ModelProto (protobuf-c, generated from Debian's onnx.proto) to the
 * graph IR: opset imports, graphs and subgraphs, every attribute type, initializers
 * (adopted, never copied twice), sparse initializers, graph input/output types, and
 * model-local functions inlined where they are called (functions.c).
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/file.h"
#include "model/functions.h"
#include "model/graph.h"
#include "model/tensor_proto.h"

#define LG_MODEL_MAX_BYTES ((size_t)4 << 30) /* protobuf's own limit is 2 GiB */

static int convert_graph(Onnx__GraphProto *gp, lg_model *m, lg_graph *parent, lg_graph **out);

static char *dup_bytes(const ProtobufCBinaryData *b)
{
    char *s = malloc(b->len + 1);
    if (s) {
        if (b->len) memcpy(s, b->data, b->len);
        s[b->len] = 0;
    }
    return s;
}

/* Dense tensor from a SparseTensorProto (values + linear or coordinate indices). */
static int sparse_to_dense(Onnx__SparseTensorProto *sp, lg_model *m, lg_tensor **out)
{
    if (!sp->values || !sp->indices) return lg_error(LG_E_INVALID_MODEL, "sparse tensor without values or indices");
    lg_tensor *vals = NULL, *idx = NULL, *t = NULL;
    int rc = lg_tensor_from_proto(sp->values, m, false, &vals);
    if (rc == LG_OK) rc = lg_tensor_from_proto(sp->indices, m, false, &idx);
    if (rc != LG_OK) goto done;
    if (sp->n_dims > LG_MAX_DIMS || vals->ndim != 1 || idx->dtype != LG_INT64) {
        rc = lg_error(LG_E_INVALID_MODEL, "sparse tensor '%s': bad dims, values or indices", sp->values->name);
        goto done;
    }
    int64_t dims[LG_MAX_DIMS];
    for (size_t i = 0; i < sp->n_dims; i++) dims[i] = sp->dims[i];
    rc = lg_tensor_create(vals->dtype, (int)sp->n_dims, dims, &t);
    if (rc != LG_OK) goto done;
    int64_t nnz = vals->dims[0], total = lg_tensor_numel_(t), strides[LG_MAX_DIMS];
    lg_strides((int)sp->n_dims, dims, strides);
    size_t es = lg_dtype_size(vals->dtype);
    bool coords = idx->ndim == 2;
    if (!((idx->ndim == 1 && idx->dims[0] == nnz) || (coords && idx->dims[0] == nnz && idx->dims[1] == (int64_t)sp->n_dims))) {
        rc = lg_error(LG_E_INVALID_MODEL, "sparse tensor: indices shape does not match values");
        goto done;
    }
    for (int64_t k = 0; k < nnz; k++) {
        int64_t lin = 0;
        if (coords) {
            for (size_t d = 0; d < sp->n_dims; d++) {
                int64_t c = ((int64_t *)idx->data)[k * (int64_t)sp->n_dims + (int64_t)d];
                if (c < 0 || c >= dims[d]) { lin = -1; break; }
                lin += c * strides[d];
            }
        } else {
            lin = ((int64_t *)idx->data)[k];
        }
        if (lin < 0 || lin >= total) {
            rc = lg_error(LG_E_INVALID_MODEL, "sparse tensor: index out of range");
            goto done;
        }
        if (vals->dtype == LG_STRING) ((char **)t->data)[lin] = strdup(((char **)vals->data)[k]);
        else memcpy((char *)t->data + lin * (int64_t)es, (char *)vals->data + k * (int64_t)es, es);
    }
    *out = t;
    t = NULL;
done:
    lg_tensor_free(vals);
    lg_tensor_free(idx);
    lg_tensor_free(t);
    return rc;
}

/* The attribute's type: declared, or (old models) implied by the field that is set. */
static lg_attr_type attr_type_of(const Onnx__AttributeProto *a)
{
    if (a->has_type && a->type != 0) return (lg_attr_type)a->type;
    if (a->has_f) return LG_ATTR_FLOAT;
    if (a->has_i) return LG_ATTR_INT;
    if (a->has_s) return LG_ATTR_STRING;
    if (a->t) return LG_ATTR_TENSOR;
    if (a->g) return LG_ATTR_GRAPH;
    if (a->n_floats) return LG_ATTR_FLOATS;
    if (a->n_ints) return LG_ATTR_INTS;
    if (a->n_strings) return LG_ATTR_STRINGS;
    if (a->n_tensors) return LG_ATTR_TENSORS;
    if (a->n_graphs) return LG_ATTR_GRAPHS;
    return LG_ATTR_UNDEFINED;
}

/* adopt: tensors may take over protobuf-c's buffers (false for nodes inlined from a
 * function body, whose attributes every call shares). */
static int convert_attr(Onnx__AttributeProto *ap, lg_model *m, lg_graph *g, bool adopt, lg_attr *a)
{
    a->name = strdup(ap->name ? ap->name : "");
    if (!a->name) return lg_error(LG_E_NOMEM, "out of memory");
    a->type = attr_type_of(ap);
    switch (a->type) {
    case LG_ATTR_FLOAT: a->f = ap->f; return LG_OK;
    case LG_ATTR_INT: a->i = ap->i; return LG_OK;
    case LG_ATTR_STRING:
        a->s = dup_bytes(&ap->s);
        a->slen = ap->s.len;
        return a->s ? LG_OK : lg_error(LG_E_NOMEM, "out of memory");
    case LG_ATTR_TENSOR:
        if (!ap->t) return lg_error(LG_E_INVALID_MODEL, "attribute '%s' has no tensor", a->name);
        return lg_tensor_from_proto(ap->t, m, adopt, &a->t);
    case LG_ATTR_SPARSE_TENSOR:
        if (!ap->sparse_tensor) return lg_error(LG_E_INVALID_MODEL, "attribute '%s' has no sparse tensor", a->name);
        a->type = LG_ATTR_TENSOR; /* densified */
        return sparse_to_dense(ap->sparse_tensor, m, &a->t);
    case LG_ATTR_GRAPH:
        if (!ap->g) return lg_error(LG_E_INVALID_MODEL, "attribute '%s' has no graph", a->name);
        return convert_graph(ap->g, m, g, &a->g);
    case LG_ATTR_FLOATS:
        a->n = (int)ap->n_floats;
        a->floats = malloc(sizeof(float) * (ap->n_floats + 1));
        if (!a->floats) return lg_error(LG_E_NOMEM, "out of memory");
        if (ap->n_floats) memcpy(a->floats, ap->floats, sizeof(float) * ap->n_floats);
        return LG_OK;
    case LG_ATTR_INTS:
        a->n = (int)ap->n_ints;
        a->ints = malloc(sizeof(int64_t) * (ap->n_ints + 1));
        if (!a->ints) return lg_error(LG_E_NOMEM, "out of memory");
        if (ap->n_ints) memcpy(a->ints, ap->ints, sizeof(int64_t) * ap->n_ints);
        return LG_OK;
    case LG_ATTR_STRINGS:
        a->n = (int)ap->n_strings;
        a->strings = calloc(ap->n_strings + 1, sizeof(char *));
        if (!a->strings) return lg_error(LG_E_NOMEM, "out of memory");
        for (size_t i = 0; i < ap->n_strings; i++)
            if (!(a->strings[i] = dup_bytes(&ap->strings[i]))) return lg_error(LG_E_NOMEM, "out of memory");
        return LG_OK;
    case LG_ATTR_TENSORS:
        a->n = (int)ap->n_tensors;
        a->tensors = calloc(ap->n_tensors + 1, sizeof(lg_tensor *));
        if (!a->tensors) return lg_error(LG_E_NOMEM, "out of memory");
        for (size_t i = 0; i < ap->n_tensors; i++) LG_CHECK(lg_tensor_from_proto(ap->tensors[i], m, adopt, &a->tensors[i]));
        return LG_OK;
    case LG_ATTR_GRAPHS:
        a->n = (int)ap->n_graphs;
        a->graphs = calloc(ap->n_graphs + 1, sizeof(lg_graph *));
        if (!a->graphs) return lg_error(LG_E_NOMEM, "out of memory");
        for (size_t i = 0; i < ap->n_graphs; i++) LG_CHECK(convert_graph(ap->graphs[i], m, g, &a->graphs[i]));
        return LG_OK;
    case LG_ATTR_SPARSE_TENSORS:
    case LG_ATTR_TYPE_PROTO:
    case LG_ATTR_TYPE_PROTOS:
        return LG_OK; /* kept as typed but empty: no op in this build reads them */
    default:
        return lg_error(LG_E_INVALID_MODEL, "attribute '%s' has unknown type %d", a->name, (int)a->type);
    }
}

/* Records a graph input/output's declared type. Sequences and optionals become LG_SEQUENCE
 * and LG_OPTIONAL values; maps and sparse tensors are refused. */
static int convert_value_info(const Onnx__ValueInfoProto *vi, lg_graph *g, int idx, const char *what)
{
    lg_value *v = &g->values[idx];
    const Onnx__TypeProto *tp = vi->type;
    if (!tp) return LG_OK; /* untyped (allowed in subgraphs) */
    /* ZipMap's sequence of maps (scikit-learn classifiers): the runtime has no map values
     * and returns it as the dense [N, C] tensor (backends/cpu/ops/ml_transform.c). */
    bool map_seq = tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE && tp->sequence_type &&
                   tp->sequence_type->elem_type &&
                   tp->sequence_type->elem_type->value_case == ONNX__TYPE_PROTO__VALUE_MAP_TYPE;
    if (map_seq && strcmp(what, "output") == 0) return LG_OK;
    if (tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE || tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE) {
        /* sequences and optionals: containers of tensors, their length known only at run time */
        v->dtype = tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ? LG_SEQUENCE : LG_OPTIONAL;
        v->ndim = -1;
        return LG_OK;
    }
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
        static const char *names[] = { [ONNX__TYPE_PROTO__VALUE_MAP_TYPE] = "a map",
                                       [ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE] = "a sparse tensor" };
        const char *kind = (tp->value_case > 0 && tp->value_case < 10 && names[tp->value_case]) ? names[tp->value_case] : "not a tensor";
        return lg_error(LG_E_UNSUPPORTED, "graph %s '%s' is %s; only tensors are supported", what, v->name, kind);
    }
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (!tt) return LG_OK;
    if (tt->has_elem_type) v->dtype = (lg_dtype)tt->elem_type;
    if (tt->shape) {
        if (tt->shape->n_dim > LG_MAX_DIMS)
            return lg_error(LG_E_LIMIT, "graph %s '%s' has rank %zu (at most %d)", what, v->name, tt->shape->n_dim, LG_MAX_DIMS);
        v->ndim = (int)tt->shape->n_dim;
        for (size_t i = 0; i < tt->shape->n_dim; i++) {
            const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
            v->dims[i] = -1;
            if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value >= 0)
                v->dims[i] = d->dim_value;
            else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param) {
                free(v->dim_params[i]); /* a value declared twice (input and output) */
                v->dim_params[i] = strdup(d->dim_param);
            }
        }
    }
    return LG_OK;
}

static int convert_graph(Onnx__GraphProto *gp, lg_model *m, lg_graph *parent, lg_graph **out)
{
    lg_node_list nl = { 0 };
    lg_graph *g = lg_graph_new(parent);
    if (!g) return lg_error(LG_E_NOMEM, "out of memory");
    g->model = m;
    g->name = strdup(gp->name ? gp->name : "");
    int rc = LG_OK;
    int idx;
#define TRY(expr) do { if ((rc = (expr)) < 0) goto fail; } while (0)

    for (size_t i = 0; i < gp->n_initializer; i++) {
        Onnx__TensorProto *tp = gp->initializer[i];
        const char *name = tp->name ? tp->name : "";
        TRY(idx = lg_graph_value(g, name));
        if (g->values[idx].constant) {
            rc = lg_error(LG_E_INVALID_MODEL, "initializer '%s' appears twice", name);
            goto fail;
        }
        rc = lg_tensor_from_proto(tp, m, true, &g->values[idx].constant);
        if (rc != LG_OK) {
            lg_error_prefix(rc, "initializer '%s'", name);
            goto fail;
        }
        m->weight_bytes += g->values[idx].constant->nbytes;
    }
    for (size_t i = 0; i < gp->n_sparse_initializer; i++) {
        Onnx__SparseTensorProto *sp = gp->sparse_initializer[i];
        const char *name = (sp->values && sp->values->name) ? sp->values->name : "";
        TRY(idx = lg_graph_value(g, name));
        TRY(sparse_to_dense(sp, m, &g->values[idx].constant));
    }
    g->inputs = calloc(gp->n_input + 1, sizeof(int));
    g->outputs = calloc(gp->n_output + 1, sizeof(int));
    if (!g->inputs || !g->outputs) {
        rc = lg_error(LG_E_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < gp->n_input; i++) {
        const char *name = gp->input[i]->name ? gp->input[i]->name : "";
        TRY(idx = lg_graph_value(g, name));
        g->values[idx].is_input = true;
        g->inputs[g->n_inputs++] = idx;
        TRY(convert_value_info(gp->input[i], g, idx, "input"));
    }
    /* calls of model-local functions are replaced by the functions' bodies */
    TRY(lg_functions_expand(m->load_proto, gp->node, gp->n_node, &nl));
    for (size_t i = 0, orig = 0; i < nl.n; i++) {
        Onnx__NodeProto *np = nl.nodes[i];
        bool inlined = !(orig < gp->n_node && gp->node[orig] == np);
        if (!inlined) orig++;
        lg_node *n = lg_graph_add_node(g, np->name, np->op_type, np->domain, (int)np->n_input,
                                       (int)np->n_output, (int)np->n_attribute);
        if (!n) {
            rc = lg_error(LG_E_NOMEM, "out of memory");
            goto fail;
        }
        int node_index = g->n_nodes - 1;
        if (!np->op_type || !*np->op_type) {
            rc = lg_error(LG_E_INVALID_MODEL, "node %zu ('%s') has no op_type", i, np->name ? np->name : "");
            goto fail;
        }
        n->opset = (int)lg_model_opset_of(m, n->domain);
        for (size_t k = 0; k < np->n_input; k++) {
            int vi = -1;
            if (np->input[k] && *np->input[k]) TRY(vi = lg_graph_value(g, np->input[k]));
            g->nodes[node_index].inputs[k] = vi;
        }
        for (size_t k = 0; k < np->n_output; k++) {
            int vi = -1;
            if (np->output[k] && *np->output[k]) {
                TRY(vi = lg_graph_value(g, np->output[k]));
                if (g->values[vi].producer >= 0 || g->values[vi].constant || g->values[vi].is_input) {
                    rc = lg_error(LG_E_INVALID_MODEL, "value '%s' is produced twice (again by node '%s')",
                                  np->output[k], np->name ? np->name : "");
                    goto fail;
                }
                g->values[vi].producer = node_index;
            }
            g->nodes[node_index].outputs[k] = vi;
        }
        for (size_t k = 0; k < np->n_attribute; k++) {
            rc = convert_attr(np->attribute[k], m, g, !inlined, &g->nodes[node_index].attrs[k]);
            if (rc != LG_OK) {
                lg_error_prefix(rc, "node '%s' (%s)", np->name ? np->name : "", np->op_type);
                goto fail;
            }
        }
    }
    lg_node_list_free(&nl);
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = gp->output[i]->name ? gp->output[i]->name : "";
        TRY(idx = lg_graph_value(g, name));
        g->values[idx].is_output = true;
        g->outputs[g->n_outputs++] = idx;
        rc = convert_value_info(gp->output[i], g, idx, "output");
        if (rc != LG_OK) goto fail;
    }
    /* Values nobody defines: in a subgraph they come from an enclosing graph. */
    for (int v = 0; v < g->n_values; v++) {
        lg_value *val = &g->values[v];
        if (val->producer >= 0 || val->constant || val->is_input) continue;
        if (parent) {
            val->is_outer = true;
        } else {
            rc = lg_error(LG_E_INVALID_MODEL, "value '%s' is used but never defined (not an input, initializer or node output)", val->name);
            goto fail;
        }
    }
    TRY(lg_graph_sort(g));
    *out = g;
    return LG_OK;
fail:
    lg_node_list_free(&nl);
    lg_graph_free(g);
    return rc;
#undef TRY
}

void lg_model_free(lg_model *m)
{
    if (!m) return;
    lg_graph_free(m->graph);
    free(m->producer_name);
    free(m->producer_version);
    free(m->path);
    free(m->base_dir);
    for (int i = 0; i < m->n_opsets; i++) free(m->opset_domains[i]);
    free(m->opset_domains);
    free(m->opset_versions);
    free(m);
}

static int convert_model(Onnx__ModelProto *mp, const char *base_dir, lg_model **out)
{
    lg_model *m = calloc(1, sizeof(*m));
    if (!m) return lg_error(LG_E_NOMEM, "out of memory");
    int rc = LG_OK;
    m->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    m->producer_name = strdup(mp->producer_name ? mp->producer_name : "");
    m->producer_version = strdup(mp->producer_version ? mp->producer_version : "");
    m->base_dir = base_dir ? strdup(base_dir) : NULL;
    m->opset_domains = calloc(mp->n_opset_import + 1, sizeof(char *));
    m->opset_versions = calloc(mp->n_opset_import + 1, sizeof(int64_t));
    if (!m->producer_name || !m->producer_version || !m->opset_domains || !m->opset_versions) {
        rc = lg_error(LG_E_NOMEM, "out of memory");
        goto fail;
    }
    bool has_default = false;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *os = mp->opset_import[i];
        const char *d = os->domain ? os->domain : "";
        m->opset_domains[m->n_opsets] = strdup(d);
        m->opset_versions[m->n_opsets] = os->version;
        m->n_opsets++;
        if (!*d || !strcmp(d, "ai.onnx")) {
            has_default = true;
            m->opset = os->version;
        }
    }
    if (!has_default) { /* IR version < 3 models carry no opset import: opset 1 */
        m->opset_domains[m->n_opsets] = strdup("");
        m->opset_versions[m->n_opsets] = 1;
        m->n_opsets++;
        m->opset = 1;
    }
    if (!mp->graph) {
        rc = lg_error(LG_E_INVALID_MODEL, "model has no graph");
        goto fail;
    }
    m->load_proto = mp;
    rc = convert_graph(mp->graph, m, NULL, &m->graph);
    m->load_proto = NULL;
    if (rc != LG_OK) goto fail;
    *out = m;
    return LG_OK;
fail:
    lg_model_free(m);
    return rc;
}

int lg_model_load_memory(const void *data, size_t len, const char *base_dir, lg_model **out)
{
    if (!out || (!data && len)) return lg_error(LG_E_INVALID_ARG, "lg_model_load_memory: NULL argument");
    if (len == 0) return lg_error(LG_E_PARSE, "empty file: not an ONNX model");
    Onnx__ModelProto *mp = onnx__model_proto__unpack(lg_pb_allocator(), len, data);
    if (!mp) return lg_error(LG_E_PARSE, "not a valid ONNX model (protobuf parse failed: truncated or garbage, %zu bytes)", len);
    int rc = convert_model(mp, base_dir, out);
    onnx__model_proto__free_unpacked(mp, lg_pb_allocator());
    return rc;
}

int lg_model_load(const char *path, lg_model **out)
{
    if (!path || !out) return lg_error(LG_E_INVALID_ARG, "lg_model_load: NULL argument");
    lg_file f;
    int rc = lg_file_read(path, LG_MODEL_MAX_BYTES, &f);
    if (rc != LG_OK) return rc;
    char dirbuf[PATH_MAX];
    snprintf(dirbuf, sizeof(dirbuf), "%s", path);
    rc = lg_model_load_memory(f.data, f.len, dirname(dirbuf), out);
    lg_file_close(&f);
    if (rc != LG_OK) return lg_error_prefix(rc, "%s", path);
    (*out)->path = strdup(path);
    return LG_OK;
}
