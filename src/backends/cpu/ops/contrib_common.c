/*
 * contrib_common.c: helpers shared by the com.microsoft operators (see contrib_common.h).
 */
#include <string.h>

#include "backends/cpu/ops/contrib_common.h"
#include "backends/cpu/registry.h"

const lg_op_def *lg_contrib_default_op(const char *op, int opset)
{
    const lg_op_def *d = lg_registry_find("", op, opset, NULL);
    if (!d) lg_error(LG_E_UNSUPPORTED, "this build has no %s at opset %d to run it with", op, opset);
    return d;
}

lg_kctx lg_contrib_sub(const lg_kctx *c, int opset)
{
    lg_kctx s = *c;
    s.opset = opset;
    return s;
}

int lg_contrib_need_f32(const lg_tensor *t, const char *what)
{
    if (t && t->dtype != LG_FLOAT)
        return lg_error(LG_E_UNSUPPORTED, "%s has dtype %s; this build runs it in float32 only", what, lg_dtype_name(t->dtype));
    return LG_OK;
}

int lg_qparam_get(const lg_tensor *scale, const lg_tensor *zp, lg_dtype dt, const char *what, lg_qparam *out)
{
    if (!scale || scale->dtype != LG_FLOAT || lg_tensor_numel_(scale) != 1)
        return lg_error(LG_E_UNSUPPORTED, "%s scale must be one float32 value (per-tensor quantization)", what);
    if (zp && (lg_tensor_numel_(zp) != 1 || zp->dtype != dt))
        return lg_error(LG_E_UNSUPPORTED, "%s zero point must be one %s value", what, lg_dtype_name(dt));
    if (dt != LG_UINT8 && dt != LG_INT8)
        return lg_error(LG_E_UNSUPPORTED, "%s has dtype %s; expected uint8 or int8", what, lg_dtype_name(dt));
    out->scale = ((const float *)scale->data)[0];
    out->zp = zp ? lg_q_at(zp, 0) : 0;
    out->dt = dt;
    if (!(out->scale > 0) || !isfinite(out->scale)) return lg_error(LG_E_INVALID_MODEL, "%s scale %g is not a positive number", what, out->scale);
    return LG_OK;
}

#define HALF_MAX_IO 16

int lg_contrib_half(lg_kctx *c, lg_contrib_fn infer, lg_contrib_fn exec, bool run)
{
    bool half = false;
    for (int i = 0; i < c->n_inputs; i++) half |= c->inputs[i] && c->inputs[i]->dtype == LG_FLOAT16;
    if (!half) return run ? exec(c) : infer(c);
    if (c->n_inputs > HALF_MAX_IO || c->n_outputs > HALF_MAX_IO)
        return lg_error(LG_E_UNSUPPORTED, "float16 with more than %d inputs or outputs", HALF_MAX_IO);
    lg_tensor in32[HALF_MAX_IO], out32[HALF_MAX_IO];
    const lg_tensor *ins[HALF_MAX_IO];
    lg_tensor *outs[HALF_MAX_IO];
    memset(in32, 0, sizeof(in32));
    memset(out32, 0, sizeof(out32));
    int rc = LG_OK;
    for (int i = 0; i < c->n_inputs && rc == LG_OK; i++) {
        const lg_tensor *t = c->inputs[i];
        ins[i] = t;
        if (!t || t->dtype != LG_FLOAT16) continue;
        ins[i] = &in32[i];
        if (!t->data) { /* shape inference: the shape alone */
            in32[i].dtype = LG_FLOAT;
            in32[i].ndim = t->ndim;
            memcpy(in32[i].dims, t->dims, sizeof(t->dims));
            continue;
        }
        rc = lg_tensor_reset(&in32[i], LG_FLOAT, t->ndim, t->dims);
        for (int64_t k = 0, n = lg_tensor_numel_(t); rc == LG_OK && k < n; k++)
            ((float *)in32[i].data)[k] = lg_half_to_float(((const uint16_t *)t->data)[k]);
    }
    for (int i = 0; i < c->n_outputs; i++) outs[i] = c->outputs[i] ? &out32[i] : NULL;
    lg_kctx s = *c;
    s.inputs = ins;
    s.outputs = outs;
    if (rc == LG_OK) rc = infer(&s);
    for (int i = 0; i < c->n_outputs && rc == LG_OK && !run; i++)
        if (outs[i]) rc = lg_kout_shape(c, i, out32[i].dtype == LG_FLOAT ? LG_FLOAT16 : out32[i].dtype, out32[i].ndim, out32[i].dims);
    if (run) { /* the runtime allocated the outputs from the shapes infer gave */
        for (int i = 0; i < c->n_outputs && rc == LG_OK; i++)
            if (outs[i]) rc = lg_tensor_reset(&out32[i], out32[i].dtype, out32[i].ndim, out32[i].dims);
        if (rc == LG_OK) rc = exec(&s);
        for (int i = 0; i < c->n_outputs && rc == LG_OK; i++) {
            lg_tensor *y = c->outputs[i];
            if (!y || lg_tensor_numel_(&out32[i]) == 0) continue;
            if (!y->data || !lg_dims_equal(y->ndim, y->dims, out32[i].ndim, out32[i].dims))
                y = lg_kout_alloc(c, i, out32[i].dtype == LG_FLOAT ? LG_FLOAT16 : out32[i].dtype, out32[i].ndim, out32[i].dims);
            if (!y) {
                rc = LG_E_NOMEM;
                break;
            }
            if (out32[i].dtype != LG_FLOAT) {
                memcpy(y->data, out32[i].data, out32[i].nbytes);
                continue;
            }
            for (int64_t k = 0, n = lg_tensor_numel_(y); k < n; k++)
                ((uint16_t *)y->data)[k] = lg_float_to_half(((const float *)out32[i].data)[k]);
        }
    }
    for (int i = 0; i < HALF_MAX_IO; i++) {
        lg_tensor_clear(&in32[i]);
        lg_tensor_clear(&out32[i]);
    }
    return rc;
}
