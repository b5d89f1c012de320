/*
 * contrib_qlinear.c: the quantized (uint8/int8, per-tensor) operators ONNX Runtime's
 * quantization tool writes into com.microsoft: QLinearAdd, QLinearMul (numpy broadcasting),
 * QLinearSigmoid, QLinearLeakyRelu (through a 256-entry table), QLinearConcat,
 * QLinearGlobalAveragePool and QLinearAveragePool (NCHW or channels_last). Each value is
 * dequantized, computed in float and requantized (round half to even, saturated).
 */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/contrib_common.h"

static int need_q(const lg_tensor *t, const char *what)
{
    if (!t) return lg_error(LG_E_SHAPE, "input %s is missing", what);
    if (t->dtype != LG_UINT8 && t->dtype != LG_INT8)
        return lg_error(LG_E_UNSUPPORTED, "%s has dtype %s; expected uint8 or int8", what, lg_dtype_name(t->dtype));
    return LG_OK;
}

/* ---- QLinearAdd / QLinearMul: A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp ---- */

static int binary_infer(lg_kctx *c)
{
    const lg_tensor *a = c->inputs[0], *b = lg_kin(c, 3);
    LG_CHECK(need_q(a, "A"));
    LG_CHECK(need_q(b, "B"));
    if (a->dtype != b->dtype) return lg_error(LG_E_SHAPE, "A is %s but B is %s", lg_dtype_name(a->dtype), lg_dtype_name(b->dtype));
    int nd;
    int64_t dims[LG_MAX_DIMS];
    LG_CHECK(lg_broadcast_shape(a->ndim, a->dims, b->ndim, b->dims, &nd, dims));
    return lg_kout_shape(c, 0, a->dtype, nd, dims);
}

static int binary_exec(lg_kctx *c)
{
    const lg_tensor *a = c->inputs[0], *b = c->inputs[3];
    lg_tensor *y = c->outputs[0];
    lg_qparam qa, qb, qc;
    LG_CHECK(lg_qparam_get(lg_kin(c, 1), lg_kin(c, 2), a->dtype, "A", &qa));
    LG_CHECK(lg_qparam_get(lg_kin(c, 4), lg_kin(c, 5), b->dtype, "B", &qb));
    LG_CHECK(lg_qparam_get(lg_kin(c, 6), lg_kin(c, 7), a->dtype, "C", &qc));
    if (!y) return LG_OK;
    bool mul = !strcmp(c->node->op_type, "QLinearMul");
    int64_t sa[LG_MAX_DIMS], sb[LG_MAX_DIMS], idx[LG_MAX_DIMS] = { 0 };
    lg_broadcast_strides(a->ndim, a->dims, y->ndim, sa);
    lg_broadcast_strides(b->ndim, b->dims, y->ndim, sb);
    int64_t ia = 0, ib = 0;
    for (int64_t i = 0, n = lg_tensor_numel_(y); i < n; i++) {
        float va = lg_dequant(&qa, lg_q_at(a, ia)), vb = lg_dequant(&qb, lg_q_at(b, ib));
        lg_q_set(y, i, lg_quant(&qc, mul ? va * vb : va + vb));
        for (int d = y->ndim - 1; d >= 0; d--) { /* odometer over the output index */
            ia += sa[d];
            ib += sb[d];
            if (++idx[d] < y->dims[d]) break;
            ia -= sa[d] * idx[d];
            ib -= sb[d] * idx[d];
            idx[d] = 0;
        }
    }
    return LG_OK;
}

/* ---- QLinearSigmoid / QLinearLeakyRelu: X, X_scale, X_zp, Y_scale, Y_zp ---- */

static int unary_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    LG_CHECK(need_q(x, "X"));
    return lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims);
}

static int unary_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_qparam qx, qy;
    LG_CHECK(lg_qparam_get(lg_kin(c, 1), lg_kin(c, 2), x->dtype, "X", &qx));
    LG_CHECK(lg_qparam_get(lg_kin(c, 3), lg_kin(c, 4), x->dtype, "Y", &qy));
    if (!c->outputs[0]) return LG_OK;
    bool sigmoid = !strcmp(c->node->op_type, "QLinearSigmoid");
    float alpha = lg_attr_float(c->node, "alpha", 0.01f);
    int table[256];
    for (int v = 0; v < 256; v++) {
        int q = x->dtype == LG_UINT8 ? v : v - 128;
        float f = lg_dequant(&qx, q);
        f = sigmoid ? 1.f / (1.f + expf(-f)) : (f >= 0 ? f : alpha * f);
        table[v] = lg_quant(&qy, f);
    }
    for (int64_t i = 0, n = lg_tensor_numel_(x); i < n; i++) {
        int q = lg_q_at(x, i);
        lg_q_set(c->outputs[0], i, table[x->dtype == LG_UINT8 ? q : q + 128]);
    }
    return LG_OK;
}

/* ---- QLinearConcat: Y_scale, Y_zp, then (X, X_scale, X_zp) per input; axis ---- */

static int concat_infer(lg_kctx *c)
{
    if (c->n_inputs < 5 || (c->n_inputs - 2) % 3)
        return lg_error(LG_E_INVALID_MODEL, "%d inputs; expected Y_scale, Y_zero_point and triples (X, scale, zero point)", c->n_inputs);
    const lg_tensor *x0 = c->inputs[2];
    LG_CHECK(need_q(x0, "X0"));
    int axis;
    LG_CHECK(lg_norm_axis(lg_attr_int(c->node, "axis", 0), x0->ndim, &axis));
    int64_t dims[LG_MAX_DIMS];
    memcpy(dims, x0->dims, sizeof(int64_t) * (size_t)x0->ndim);
    dims[axis] = 0;
    for (int i = 2; i < c->n_inputs; i += 3) {
        const lg_tensor *x = c->inputs[i];
        LG_CHECK(need_q(x, "X"));
        if (x->ndim != x0->ndim || x->dtype != x0->dtype) return lg_error(LG_E_SHAPE, "input %d differs from input 2 in rank or dtype", i);
        for (int d = 0; d < x->ndim; d++)
            if (d != axis && x->dims[d] != x0->dims[d]) return lg_error(LG_E_SHAPE, "input %d differs in dimension %d", i, d);
        dims[axis] += x->dims[axis];
    }
    return lg_kout_shape(c, 0, x0->dtype, x0->ndim, dims);
}

static int concat_exec(lg_kctx *c)
{
    lg_tensor *y = c->outputs[0];
    lg_qparam qy;
    LG_CHECK(lg_qparam_get(c->inputs[0], c->inputs[1], c->inputs[2]->dtype, "Y", &qy));
    if (!y) return LG_OK;
    int axis;
    LG_CHECK(lg_norm_axis(lg_attr_int(c->node, "axis", 0), y->ndim, &axis));
    int64_t outer = lg_dims_numel(axis, y->dims), inner = lg_dims_numel(y->ndim - axis - 1, y->dims + axis + 1);
    int64_t ystep = y->dims[axis] * inner, at = 0;
    for (int i = 2; i < c->n_inputs; i += 3) {
        const lg_tensor *x = c->inputs[i];
        lg_qparam qx;
        LG_CHECK(lg_qparam_get(c->inputs[i + 1], c->inputs[i + 2], x->dtype, "X", &qx));
        int64_t step = x->dims[axis] * inner;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = 0; j < step; j++) lg_q_set(y, o * ystep + at + j, lg_quant(&qy, lg_dequant(&qx, lg_q_at(x, o * step + j))));
        at += step;
    }
    return LG_OK;
}

/* ---- QLinearGlobalAveragePool / QLinearAveragePool: X, x_scale, x_zp, y_scale, y_zp ---- */

static bool channels_last(const lg_kctx *c) { return lg_attr_int(c->node, "channels_last", 0) != 0; }

static int gap_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    LG_CHECK(need_q(x, "X"));
    if (x->ndim < 3) return lg_error(LG_E_SHAPE, "X has rank %d; expected at least 3", x->ndim);
    int64_t dims[LG_MAX_DIMS];
    bool last = channels_last(c);
    for (int d = 0; d < x->ndim; d++) dims[d] = (d == 0 || d == (last ? x->ndim - 1 : 1)) ? x->dims[d] : 1;
    return lg_kout_shape(c, 0, x->dtype, x->ndim, dims);
}

static int gap_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_qparam qx, qy;
    LG_CHECK(lg_qparam_get(lg_kin(c, 1), lg_kin(c, 2), x->dtype, "X", &qx));
    LG_CHECK(lg_qparam_get(lg_kin(c, 3), lg_kin(c, 4), x->dtype, "Y", &qy));
    lg_tensor *y = c->outputs[0];
    if (!y) return LG_OK;
    bool last = channels_last(c);
    int64_t n = x->dims[0], ch = x->dims[last ? x->ndim - 1 : 1], sp = (n && ch) ? lg_tensor_numel_(x) / (n * ch) : 1;
    for (int64_t b = 0; b < n; b++)
        for (int64_t k = 0; k < ch; k++) {
            int64_t sum = 0;
            for (int64_t s = 0; s < sp; s++) sum += lg_q_at(x, last ? (b * sp + s) * ch + k : (b * ch + k) * sp + s) - qx.zp;
            lg_q_set(y, b * ch + k, lg_quant(&qy, (float)sum / (float)sp * qx.scale));
        }
    return LG_OK;
}

/* AveragePool in float: the default domain's kernel on the dequantized NCHW tensor. */
static int avgpool_float(lg_kctx *c, const lg_tensor *xf, lg_tensor *yf, bool exec)
{
    const lg_op_def *d = lg_contrib_default_op("AveragePool", 19);
    if (!d) return LG_E_UNSUPPORTED;
    const lg_tensor *in[1] = { xf };
    lg_tensor *out[1] = { yf };
    lg_kctx s = lg_contrib_sub(c, 19);
    s.n_inputs = 1;
    s.inputs = in;
    s.n_outputs = 1;
    s.outputs = out;
    s.state = NULL;
    LG_CHECK(d->infer(&s));
    if (!exec) return LG_OK;
    LG_CHECK(lg_tensor_reset(yf, yf->dtype, yf->ndim, yf->dims));
    return d->exec(&s);
}

static int ap_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    LG_CHECK(need_q(x, "X"));
    if (channels_last(c)) return lg_error(LG_E_UNSUPPORTED, "channels_last=1 is not supported; only NCHW");
    lg_tensor xf = { .dtype = LG_FLOAT, .ndim = x->ndim }, yf = { 0 };
    memcpy(xf.dims, x->dims, sizeof(x->dims));
    LG_CHECK(avgpool_float(c, &xf, &yf, false));
    return lg_kout_shape(c, 0, x->dtype, yf.ndim, yf.dims);
}

static int ap_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_qparam qx, qy;
    LG_CHECK(lg_qparam_get(lg_kin(c, 1), lg_kin(c, 2), x->dtype, "X", &qx));
    LG_CHECK(lg_qparam_get(lg_kin(c, 3), lg_kin(c, 4), x->dtype, "Y", &qy));
    lg_tensor *xf = NULL, *yf = lg_tensor_new_empty();
    int rc = lg_tensor_create(LG_FLOAT, x->ndim, x->dims, &xf);
    if (rc == LG_OK && !yf) rc = lg_error(LG_E_NOMEM, "out of memory");
    if (rc == LG_OK) {
        for (int64_t i = 0, n = lg_tensor_numel_(x); i < n; i++) ((float *)xf->data)[i] = lg_dequant(&qx, lg_q_at(x, i));
        rc = avgpool_float(c, xf, yf, true);
    }
    if (rc == LG_OK && c->outputs[0])
        for (int64_t i = 0, n = lg_tensor_numel_(yf); i < n; i++) lg_q_set(c->outputs[0], i, lg_quant(&qy, ((float *)yf->data)[i]));
    lg_tensor_free(xf);
    lg_tensor_free(yf);
    return rc;
}

const lg_op_def lg_ops_contrib_qlinear[] = {
    { "QLinearAdd", "com.microsoft", 1, 1, binary_infer, binary_exec, NULL, NULL },
    { "QLinearMul", "com.microsoft", 1, 1, binary_infer, binary_exec, NULL, NULL },
    { "QLinearSigmoid", "com.microsoft", 1, 1, unary_infer, unary_exec, NULL, NULL },
    { "QLinearLeakyRelu", "com.microsoft", 1, 1, unary_infer, unary_exec, NULL, NULL },
    { "QLinearConcat", "com.microsoft", 1, 1, concat_infer, concat_exec, NULL, NULL },
    { "QLinearGlobalAveragePool", "com.microsoft", 1, 1, gap_infer, gap_exec, NULL, NULL },
    { "QLinearAveragePool", "com.microsoft", 1, 1, ap_infer, ap_exec, NULL, NULL },
    { NULL },
};
