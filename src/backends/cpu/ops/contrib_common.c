/*
 * contrib_common.c: helpers shared by the com.microsoft operators (see contrib_common.h).
 */
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
