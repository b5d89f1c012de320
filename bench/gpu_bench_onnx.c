/*
 * gpu_bench_onnx.c: the GPU benchmark's models: one-node ONNX models built with the
 * generated protobuf-c types (a MatMul chain for GEMM, one Conv per resnet50 shape),
 * and the Conv shapes and FLOPs of a model found by the runtime's static shape inference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/gpu_bench.h"
#include "model/graph.h"
#include "onnx.pb-c.h"
#include "runtime/backend.h"
#include "runtime/session_impl.h"

/* ---- a small ONNX builder ------------------------------------------------------------ */

typedef struct gb_onnx {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset, *opsets[1];
    Onnx__ValueInfoProto in, out, *pin[1], *pout[1];
    Onnx__TypeProto tin, tout;
    Onnx__TypeProto__Tensor ttin, ttout;
    Onnx__TensorShapeProto shape;
    Onnx__TensorShapeProto__Dimension dims[4], *pdims[4];
    Onnx__NodeProto nodes[16], *pnodes[16];
    Onnx__TensorProto inits[2], *pinits[2];
    Onnx__AttributeProto attrs[6], *pattrs[6];
    char names[16][2][16];
    const char *ins[16][3], *outs[16][1];
} gb_onnx;

static void onnx_init(gb_onnx *o, int ndim, const int64_t *dims)
{
    memset(o, 0, sizeof(*o));
    onnx__model_proto__init(&o->model);
    onnx__graph_proto__init(&o->graph);
    onnx__operator_set_id_proto__init(&o->opset);
    o->opset.domain = "";
    o->opset.has_version = 1;
    o->opset.version = 13;
    o->opsets[0] = &o->opset;
    o->model.has_ir_version = 1;
    o->model.ir_version = 8;
    o->model.n_opset_import = 1;
    o->model.opset_import = o->opsets;
    o->model.producer_name = "legacygpu-gpu-bench";
    o->model.graph = &o->graph;
    o->graph.name = "bench";
    onnx__value_info_proto__init(&o->in);
    onnx__value_info_proto__init(&o->out);
    onnx__type_proto__init(&o->tin);
    onnx__type_proto__init(&o->tout);
    onnx__type_proto__tensor__init(&o->ttin);
    onnx__type_proto__tensor__init(&o->ttout);
    onnx__tensor_shape_proto__init(&o->shape);
    o->ttin.has_elem_type = o->ttout.has_elem_type = 1;
    o->ttin.elem_type = o->ttout.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    for (int d = 0; d < ndim; d++) {
        onnx__tensor_shape_proto__dimension__init(&o->dims[d]);
        o->dims[d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        o->dims[d].dim_value = dims[d];
        o->pdims[d] = &o->dims[d];
    }
    o->shape.n_dim = (size_t)ndim;
    o->shape.dim = o->pdims;
    o->ttin.shape = &o->shape;
    o->tin.value_case = o->tout.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    o->tin.tensor_type = &o->ttin;
    o->tout.tensor_type = &o->ttout;
    o->in.name = "X";
    o->in.type = &o->tin;
    o->out.name = "Y";
    o->out.type = &o->tout;
    o->pin[0] = &o->in;
    o->pout[0] = &o->out;
    o->graph.n_input = o->graph.n_output = 1;
    o->graph.input = o->pin;
    o->graph.output = o->pout;
    o->graph.node = o->pnodes;
    o->graph.initializer = o->pinits;
}

static Onnx__NodeProto *onnx_node(gb_onnx *o, const char *op, int n_in)
{
    size_t i = o->graph.n_node++;
    Onnx__NodeProto *n = &o->nodes[i];
    onnx__node_proto__init(n);
    snprintf(o->names[i][0], sizeof(o->names[i][0]), "%s%zu", op, i);
    n->op_type = (char *)op;
    n->name = o->names[i][0];
    n->n_input = (size_t)n_in;
    n->input = (char **)o->ins[i];
    n->n_output = 1;
    n->output = (char **)o->outs[i];
    o->pnodes[i] = n;
    return n;
}

/* A float initializer of numel values uniform in [-scale, scale] (fixed seed). */
static float *onnx_init_random(gb_onnx *o, const char *name, int ndim, int64_t *dims, float scale)
{
    int64_t numel = 1;
    for (int d = 0; d < ndim; d++) numel *= dims[d];
    float *v = malloc((size_t)numel * sizeof(float));
    if (!v) return NULL;
    uint32_t s = 12345;
    for (int64_t i = 0; i < numel; i++) {
        s = s * 1664525u + 1013904223u;
        v[i] = scale * ((float)(s >> 8) / (float)(1u << 24) * 2.0f - 1.0f);
    }
    size_t i = o->graph.n_initializer++;
    Onnx__TensorProto *t = &o->inits[i];
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->n_dims = (size_t)ndim;
    t->dims = dims;
    t->has_raw_data = 1;
    t->raw_data.data = (uint8_t *)v;
    t->raw_data.len = (size_t)numel * sizeof(float);
    o->pinits[i] = t;
    return v;
}

static void onnx_attr_ints(gb_onnx *o, Onnx__NodeProto *n, const char *name, int count, int64_t *v)
{
    Onnx__AttributeProto *a = &o->attrs[n->n_attribute];
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    a->n_ints = (size_t)count;
    a->ints = v;
    o->pattrs[n->n_attribute++] = a;
    n->attribute = o->pattrs;
}

static void onnx_attr_int(gb_onnx *o, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = &o->attrs[n->n_attribute];
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = v;
    o->pattrs[n->n_attribute++] = a;
    n->attribute = o->pattrs;
}

static uint8_t *onnx_pack(gb_onnx *o, size_t *len)
{
    *len = onnx__model_proto__get_packed_size(&o->model);
    uint8_t *buf = malloc(*len + 1);
    if (buf) onnx__model_proto__pack(&o->model, buf);
    for (size_t i = 0; i < o->graph.n_initializer; i++) free(o->inits[i].raw_data.data);
    return buf;
}

/* ---- the benchmark's models ----------------------------------------------------------- */

uint8_t *gb_model_matmul_chain(int64_t n, int k, size_t *len)
{
    if (k < 1 || k > 16) return NULL;
    gb_onnx *o = malloc(sizeof(*o));
    if (!o) return NULL;
    int64_t dims[2] = { n, n }, bdims[2] = { n, n };
    onnx_init(o, 2, dims);
    /* Uniform in [-s, s] has variance s^2 / 3: s = sqrt(3 / n) keeps |Y| near |X|. */
    float s = 1.0f;
    while (s * s * (float)n > 3.0f) s *= 0.5f;
    if (!onnx_init_random(o, "B", 2, bdims, s)) {
        free(o);
        return NULL;
    }
    for (int i = 0; i < k; i++) {
        Onnx__NodeProto *nd = onnx_node(o, "MatMul", 2);
        snprintf(o->names[i][1], sizeof(o->names[i][1]), "t%d", i);
        o->ins[i][0] = i == 0 ? "X" : o->names[i - 1][1];
        o->ins[i][1] = "B";
        o->outs[i][0] = i == k - 1 ? "Y" : o->names[i][1];
        (void)nd;
    }
    uint8_t *bytes = onnx_pack(o, len);
    free(o);
    return bytes;
}

uint8_t *gb_model_conv(const gb_conv *cv, size_t *len)
{
    gb_onnx *o = malloc(sizeof(*o));
    if (!o) return NULL;
    int64_t xd[4] = { 1, cv->c, cv->h, cv->w };
    int64_t wd[4] = { cv->m, cv->c / cv->group, cv->kh, cv->kw }, bd[1] = { cv->m };
    int64_t ks[2] = { cv->kh, cv->kw }, st[2] = { cv->stride[0], cv->stride[1] };
    int64_t pads[4] = { cv->pad[0], cv->pad[1], cv->pad[2], cv->pad[3] }, dil[2] = { cv->dil[0], cv->dil[1] };
    onnx_init(o, 4, xd);
    if (!onnx_init_random(o, "W", 4, wd, 0.05f) || (cv->has_bias && !onnx_init_random(o, "Bias", 1, bd, 0.1f))) {
        for (size_t i = 0; i < o->graph.n_initializer; i++) free(o->inits[i].raw_data.data);
        free(o);
        return NULL;
    }
    Onnx__NodeProto *nd = onnx_node(o, "Conv", cv->has_bias ? 3 : 2);
    o->ins[0][0] = "X";
    o->ins[0][1] = "W";
    o->ins[0][2] = "Bias";
    o->outs[0][0] = "Y";
    onnx_attr_ints(o, nd, "kernel_shape", 2, ks);
    onnx_attr_ints(o, nd, "strides", 2, st);
    onnx_attr_ints(o, nd, "pads", 4, pads);
    onnx_attr_ints(o, nd, "dilations", 2, dil);
    onnx_attr_int(o, nd, "group", cv->group);
    uint8_t *bytes = onnx_pack(o, len);
    free(o);
    return bytes;
}

/* ---- Conv shapes of a model ------------------------------------------------------------ */

/* Fills cv from Conv node n whose input has shape x; false when it is not a 2-D Conv
 * with explicit (or no) padding and a constant weight. */
static bool conv_of(const lg_graph *g, const lg_node *n, const lg_tensor *x, gb_conv *cv)
{
    if (!x || x->ndim != 4 || n->n_inputs < 2 || n->inputs[1] < 0) return false;
    const lg_value *wv = &g->values[n->inputs[1]];
    const lg_tensor *w = wv->constant;
    if (!w || w->ndim != 4) return false;
    const char *ap = lg_attr_string(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET")) return false;
    memset(cv, 0, sizeof(*cv));
    cv->c = x->dims[1];
    cv->h = x->dims[2];
    cv->w = x->dims[3];
    cv->m = w->dims[0];
    cv->kh = w->dims[2];
    cv->kw = w->dims[3];
    cv->group = lg_attr_int(n, "group", 1);
    int cnt;
    const int64_t *v = lg_attr_ints(n, "strides", &cnt);
    cv->stride[0] = cnt == 2 ? v[0] : 1;
    cv->stride[1] = cnt == 2 ? v[1] : 1;
    v = lg_attr_ints(n, "dilations", &cnt);
    cv->dil[0] = cnt == 2 ? v[0] : 1;
    cv->dil[1] = cnt == 2 ? v[1] : 1;
    v = lg_attr_ints(n, "pads", &cnt);
    for (int i = 0; i < 4; i++) cv->pad[i] = cnt == 4 ? v[i] : 0;
    cv->has_bias = n->n_inputs > 2 && n->inputs[2] >= 0;
    return true;
}

static bool conv_same(const gb_conv *a, const gb_conv *b)
{
    return a->c == b->c && a->h == b->h && a->w == b->w && a->m == b->m && a->kh == b->kh && a->kw == b->kw &&
           !memcmp(a->stride, b->stride, sizeof(a->stride)) && !memcmp(a->pad, b->pad, sizeof(a->pad)) &&
           !memcmp(a->dil, b->dil, sizeof(a->dil)) && a->group == b->group && a->has_bias == b->has_bias;
}

/* Runs the main graph of m shape-only on the CPU (batch for symbolic dims) and calls
 * visit after each node that runs, with the frame holding every shape so far. */
typedef void (*visit_fn)(void *ctx, const lg_graph *g, const lg_node *n, lg_frame *f);

static int walk_shapes(lg_model *m, int64_t batch, visit_fn visit, void *ctx)
{
    lg_session_options so = { .num_threads = 1, .backend = "cpu", .no_optimize = 1 };
    lg_session *s;
    LG_CHECK(lg_session_create(m, &so, &s));
    const lg_plan *p = s->plans[0];
    const lg_graph *g = p->graph;
    lg_frame f;
    int rc = lg_frame_init(&f, s, p, NULL);
    if (rc != LG_OK) {
        lg_session_free(s);
        return rc;
    }
    /* Inputs as shapes without data. */
    lg_tensor *views[8] = { 0 };
    int nv = 0;
    for (int k = 0; k < g->n_inputs && nv < 8; k++) {
        const lg_value *v = &g->values[g->inputs[k]];
        if (v->constant) continue;
        lg_tensor *t = lg_tensor_new_empty();
        if (!t) break;
        t->dtype = v->dtype;
        t->ndim = v->ndim;
        for (int d = 0; d < v->ndim; d++) t->dims[d] = v->dims[d] < 0 ? batch : v->dims[d];
        views[nv++] = t;
        f.vals[g->inputs[k]] = t;
    }
    for (int i = 0; rc == LG_OK && i < g->n_nodes; i++) {
        if (p->skip[i]) continue;
        int r = lg_frame_run_node(&f, i, true);
        if (r != LG_OK && r != LG_E_DYNAMIC) rc = r;
        if (rc == LG_OK) visit(ctx, g, &g->nodes[i], &f);
    }
    for (int v = 0; v < g->n_values; v++)
        if (!f.owned[v]) f.vals[v] = NULL;
    lg_frame_free(&f);
    for (int i = 0; i < nv; i++) lg_tensor_free(views[i]);
    lg_session_free(s);
    return rc;
}

typedef struct conv_ctx {
    gb_conv *out;
    int max, n;
} conv_ctx;

static void visit_conv(void *ctx, const lg_graph *g, const lg_node *nd, lg_frame *f)
{
    conv_ctx *c = ctx;
    gb_conv cv;
    if (strcmp(nd->op_type, "Conv") || (nd->domain && nd->domain[0])) return;
    if (!conv_of(g, nd, lg_frame_lookup(f, nd->inputs[0]), &cv)) return;
    int k = 0;
    while (k < c->n && !conv_same(&c->out[k], &cv)) k++;
    if (k < c->n) c->out[k].count++;
    else if (c->n < c->max) {
        cv.count = 1;
        snprintf(cv.first, sizeof(cv.first), "%s", nd->name ? nd->name : "?");
        c->out[c->n++] = cv;
    }
}

int gb_conv_shapes(lg_model *m, gb_conv *out, int max)
{
    conv_ctx c = { out, max, 0 };
    LG_CHECK(walk_shapes(m, 1, visit_conv, &c));
    return c.n;
}
