/*
 * model_builder.h: building small ONNX models in tests with the generated protobuf-c
 * types, so loader and runtime behaviour is checked on exact, known bytes.
 *
 *   mb_model mb; mb_init(&mb, 13);
 *   mb_input(&mb, "X", LG_FLOAT, 2, (int64_t[]){-1, 3});     // -1: symbolic "N"
 *   mb_node(&mb, "Relu", "relu0", 1, (const char *[]){"X"}, 1, (const char *[]){"Y"});
 *   mb_output(&mb, "Y", LG_FLOAT);
 *   size_t len; uint8_t *bytes = mb_pack(&mb, &len);
 */
#ifndef LG_MODEL_BUILDER_H
#define LG_MODEL_BUILDER_H

#include <stdlib.h>
#include <string.h>

#include "legacygpu/tensor.h"
#include "onnx.pb-c.h"

#define MB_MAX 32

typedef struct mb_model {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__ValueInfoProto vi_in[MB_MAX], vi_out[MB_MAX], *p_in[MB_MAX], *p_out[MB_MAX];
    Onnx__TypeProto types[2 * MB_MAX];
    Onnx__TypeProto__Tensor ttypes[2 * MB_MAX];
    Onnx__TensorShapeProto shapes[2 * MB_MAX];
    Onnx__TensorShapeProto__Dimension dims[2 * MB_MAX][8], *pdims[2 * MB_MAX][8];
    Onnx__NodeProto nodes[MB_MAX], *p_nodes[MB_MAX];
    Onnx__TensorProto inits[MB_MAX], *p_inits[MB_MAX];
    int n_types;
} mb_model;

static inline void mb_init(mb_model *m, int64_t opset)
{
    memset(m, 0, sizeof(*m));
    onnx__model_proto__init(&m->model);
    onnx__graph_proto__init(&m->graph);
    onnx__operator_set_id_proto__init(&m->opset);
    m->opset.domain = "";
    m->opset.has_version = 1;
    m->opset.version = opset;
    m->opsets[0] = &m->opset;
    m->model.has_ir_version = 1;
    m->model.ir_version = 8;
    m->model.n_opset_import = 1;
    m->model.opset_import = m->opsets;
    m->model.producer_name = "legacygpu-tests";
    m->model.graph = &m->graph;
    m->graph.name = "test";
    m->graph.input = m->p_in;
    m->graph.output = m->p_out;
    m->graph.node = m->p_nodes;
    m->graph.initializer = m->p_inits;
}

static inline Onnx__TypeProto *mb_type(mb_model *m, lg_dtype dt, int ndim, const int64_t *dims)
{
    int k = m->n_types++;
    Onnx__TypeProto *t = &m->types[k];
    onnx__type_proto__init(t);
    onnx__type_proto__tensor__init(&m->ttypes[k]);
    m->ttypes[k].has_elem_type = 1;
    m->ttypes[k].elem_type = (int32_t)dt;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = &m->ttypes[k];
    if (ndim >= 0) {
        onnx__tensor_shape_proto__init(&m->shapes[k]);
        m->shapes[k].n_dim = (size_t)ndim;
        m->shapes[k].dim = m->pdims[k];
        for (int d = 0; d < ndim; d++) {
            Onnx__TensorShapeProto__Dimension *dm = &m->dims[k][d];
            onnx__tensor_shape_proto__dimension__init(dm);
            if (dims[d] >= 0) {
                dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                dm->dim_value = dims[d];
            } else {
                dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                dm->dim_param = "N";
            }
            m->pdims[k][d] = dm;
        }
        m->ttypes[k].shape = &m->shapes[k];
    }
    return t;
}

static inline void mb_input(mb_model *m, const char *name, lg_dtype dt, int ndim, const int64_t *dims)
{
    size_t i = m->graph.n_input++;
    onnx__value_info_proto__init(&m->vi_in[i]);
    m->vi_in[i].name = (char *)name;
    m->vi_in[i].type = mb_type(m, dt, ndim, dims);
    m->p_in[i] = &m->vi_in[i];
}

static inline void mb_output(mb_model *m, const char *name, lg_dtype dt)
{
    size_t i = m->graph.n_output++;
    onnx__value_info_proto__init(&m->vi_out[i]);
    m->vi_out[i].name = (char *)name;
    m->vi_out[i].type = mb_type(m, dt, -1, NULL);
    m->p_out[i] = &m->vi_out[i];
}

static inline Onnx__NodeProto *mb_node(mb_model *m, const char *op, const char *name, int n_in, const char **in,
                                       int n_out, const char **out)
{
    size_t i = m->graph.n_node++;
    Onnx__NodeProto *n = &m->nodes[i];
    onnx__node_proto__init(n);
    n->op_type = (char *)op;
    n->name = (char *)name;
    n->n_input = (size_t)n_in;
    n->input = (char **)in;
    n->n_output = (size_t)n_out;
    n->output = (char **)out;
    m->p_nodes[i] = n;
    return n;
}

/* Initializer with float data given in raw_data (nbytes may be shorter than the shape). */
static inline Onnx__TensorProto *mb_init_raw(mb_model *m, const char *name, lg_dtype dt, int ndim, int64_t *dims,
                                             const void *data, size_t nbytes)
{
    size_t i = m->graph.n_initializer++;
    Onnx__TensorProto *t = &m->inits[i];
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = (int32_t)dt;
    t->n_dims = (size_t)ndim;
    t->dims = dims;
    t->has_raw_data = 1;
    t->raw_data.data = (uint8_t *)data;
    t->raw_data.len = nbytes;
    m->p_inits[i] = t;
    return t;
}

static inline uint8_t *mb_pack(mb_model *m, size_t *len)
{
    *len = onnx__model_proto__get_packed_size(&m->model);
    uint8_t *buf = malloc(*len + 1);
    onnx__model_proto__pack(&m->model, buf);
    return buf;
}

#endif
