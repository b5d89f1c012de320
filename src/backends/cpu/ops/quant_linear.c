/*
 * quant_linear.c: QuantizeLinear and DequantizeLinear from opset 19 (quant.c keeps the
 * float/uint8/int8 versions 10-18): every quantized type (int8/uint8, int16/uint16,
 * int4/uint4, int2/uint2, the float8 family, float4e2m1, int32 for dequantization),
 * float/float16/bfloat16 (and float8e8m0) scales, per-tensor, per-axis and blocked
 * (block_size) parameters, output_dtype, saturate and precision.
 *
 * y = saturate(round_half_even(x / scale) + zero_point) into integers; into float8/4 the
 * value x / scale + zero_point is converted (rounding and saturation as Cast does).
 * Dequantization: y = (x - zero_point) * scale, in float, stored as the output type.
 */
#include <math.h>

#include "runtime/kernel.h"

/* Where element i of x finds its scale and zero point. */
typedef struct qparams {
    int64_t axis_len, inner, block; /* block 0: per tensor (axis_len 1) or per axis */
    int64_t scale_axis;             /* the scale's length along axis when blocked */
} qparams;

static int qparams_of(const lg_kctx *c, const lg_tensor *x, const lg_tensor *s, const lg_tensor *zp, qparams *q)
{
    char a[256], b[256];
    *q = (qparams){ 1, 1, 0, 1 };
    bool both_scalar = zp && lg_tensor_numel_(zp) == 1 && lg_tensor_numel_(s) == 1 && zp->ndim <= 1 && s->ndim <= 1;
    if (zp && !both_scalar && !lg_dims_equal(zp->ndim, zp->dims, s->ndim, s->dims))
        return lg_error(LG_E_SHAPE, "zero point %s and scale %s differ in shape", lg_dims_str(zp->ndim, zp->dims, a, sizeof(a)),
                        lg_dims_str(s->ndim, s->dims, b, sizeof(b)));
    int64_t block = lg_attr_int(c->node, "block_size", 0);
    if (lg_tensor_numel_(s) == 1 && s->ndim <= 1 && block == 0) return LG_OK;
    int axis;
    LG_CHECK(lg_norm_axis(lg_attr_int(c->node, "axis", 1), x->ndim, &axis));
    q->axis_len = x->dims[axis];
    for (int i = axis + 1; i < x->ndim; i++) q->inner *= x->dims[i];
    if (block == 0) {
        if (s->ndim != 1 || s->dims[0] != q->axis_len)
            return lg_error(LG_E_SHAPE, "scale %s is neither a scalar nor 1-D of the axis length %lld (block_size is 0)",
                            lg_dims_str(s->ndim, s->dims, a, sizeof(a)), (long long)q->axis_len);
        return LG_OK;
    }
    if (block < 0) return lg_error(LG_E_INVALID_MODEL, "block_size %lld is negative", (long long)block);
    bool ok = s->ndim == x->ndim;
    for (int i = 0; ok && i < x->ndim; i++)
        ok = i == axis ? s->dims[i] == (x->dims[i] + block - 1) / block : s->dims[i] == x->dims[i];
    if (!ok)
        return lg_error(LG_E_SHAPE, "blocked scale %s does not match x %s with block_size %lld on axis %d",
                        lg_dims_str(s->ndim, s->dims, a, sizeof(a)), lg_dims_str(x->ndim, x->dims, b, sizeof(b)),
                        (long long)block, axis);
    q->block = block;
    q->scale_axis = s->dims[axis];
    return LG_OK;
}

static int64_t param_at(const qparams *q, int64_t i)
{
    if (q->axis_len == 1 && q->block == 0) return 0;
    int64_t a = (i / q->inner) % q->axis_len;
    if (q->block == 0) return a;
    int64_t outer = i / (q->inner * q->axis_len);
    return (outer * q->scale_axis + a / q->block) * q->inner + i % q->inner;
}

/* Integer range of a quantized type; false for float types. */
static bool int_range(lg_dtype dt, double *lo, double *hi)
{
    static const struct {
        lg_dtype dt;
        double lo, hi;
    } ranges[] = {
        { LG_UINT8, 0, 255 },         { LG_INT8, -128, 127 }, { LG_UINT16, 0, 65535 }, { LG_INT16, -32768, 32767 },
        { LG_UINT4, 0, 15 },          { LG_INT4, -8, 7 },     { LG_UINT2, 0, 3 },      { LG_INT2, -2, 1 },
        { LG_INT32, -2147483648.0, 2147483647.0 },
    };
    for (size_t k = 0; k < sizeof(ranges) / sizeof(ranges[0]); k++)
        if (ranges[k].dt == dt) {
            *lo = ranges[k].lo;
            *hi = ranges[k].hi;
            return true;
        }
    return false;
}

/* v rounded to the precision of dt (float16/bfloat16 divisions round there). */
static double in_precision(lg_dtype dt, double v)
{
    switch (dt) {
    case LG_FLOAT16: return lg_half_to_float(lg_float_to_half((float)v));
    case LG_BFLOAT16: return lg_bf16_to_float(lg_float_to_bf16((float)v));
    case LG_DOUBLE: return v;
    default: return (float)v;
    }
}

static bool scale_type_ok(lg_dtype dt) { return dt == LG_FLOAT || dt == LG_FLOAT16 || dt == LG_BFLOAT16 || dt == LG_FLOAT8E8M0 || dt == LG_INT32; }

static int quantize_out_type(const lg_kctx *c, lg_dtype *dt)
{
    const lg_tensor *zp = lg_kin(c, 2);
    int64_t od = lg_attr_int(c->node, "output_dtype", 0);
    *dt = od ? (lg_dtype)od : zp ? zp->dtype : LG_UINT8;
    double lo, hi;
    if (zp && od && zp->dtype != (lg_dtype)od)
        return lg_error(LG_E_INVALID_MODEL, "output_dtype %s differs from y_zero_point's %s", lg_dtype_name((lg_dtype)od),
                        lg_dtype_name(zp->dtype));
    if ((!int_range(*dt, &lo, &hi) || *dt == LG_INT32) && !lg_dtype_is_minifloat(*dt))
        return lg_error(LG_E_UNSUPPORTED, "QuantizeLinear to %s", lg_dtype_name(*dt));
    return LG_OK;
}

static int quantize19_infer(lg_kctx *c)
{
    const lg_tensor *x = lg_kin(c, 0), *s = lg_kin(c, 1);
    if (!x || !s) return lg_error(LG_E_INVALID_MODEL, "QuantizeLinear needs x and y_scale");
    if (!(lg_dtype_is_float(x->dtype) && !lg_dtype_is_minifloat(x->dtype)) && x->dtype != LG_INT32)
        return lg_error(LG_E_UNSUPPORTED, "QuantizeLinear of %s", lg_dtype_name(x->dtype));
    if (!scale_type_ok(s->dtype)) return lg_error(LG_E_UNSUPPORTED, "y_scale of %s", lg_dtype_name(s->dtype));
    lg_dtype dt;
    qparams q;
    LG_CHECK(quantize_out_type(c, &dt));
    LG_CHECK(qparams_of(c, x, s, lg_kin(c, 2), &q));
    return lg_kout_shape(c, 0, dt, x->ndim, x->dims);
}

static int quantize19_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *s = c->inputs[1], *zp = lg_kin(c, 2);
    lg_tensor *y = c->outputs[0];
    if (!y) return LG_OK;
    qparams q;
    LG_CHECK(qparams_of(c, x, s, zp, &q));
    int64_t prec = lg_attr_int(c->node, "precision", 0);
    lg_dtype pdt = prec ? (lg_dtype)prec : s->dtype;
    bool saturate = lg_attr_int(c->node, "saturate", 1) != 0;
    double lo = 0, hi = 0;
    bool is_int = int_range(y->dtype, &lo, &hi);
    for (int64_t i = 0, n = lg_tensor_numel_(x); i < n; i++) {
        int64_t p = param_at(&q, i);
        double v = in_precision(pdt, lg_tensor_get_f64(x, i) / lg_tensor_get_f64(s, p));
        double z = zp ? lg_tensor_get_f64(zp, p) : 0.0;
        if (is_int) {
            v = nearbyint(v) + z;
            if (!(v >= lo)) v = lo; /* NaN saturates low */
            if (v > hi) v = hi;
            lg_tensor_set_f64(y, i, v);
        } else {
            ((uint8_t *)y->data)[i] = lg_float_to_minifloat(y->dtype, (float)(v + z), saturate);
        }
    }
    return LG_OK;
}

static int dequantize19_infer(lg_kctx *c)
{
    const lg_tensor *x = lg_kin(c, 0), *s = lg_kin(c, 1), *zp = lg_kin(c, 2);
    if (!x || !s) return lg_error(LG_E_INVALID_MODEL, "DequantizeLinear needs x and x_scale");
    double lo, hi;
    if (!int_range(x->dtype, &lo, &hi) && !lg_dtype_is_minifloat(x->dtype))
        return lg_error(LG_E_UNSUPPORTED, "DequantizeLinear of %s", lg_dtype_name(x->dtype));
    if (!scale_type_ok(s->dtype) || s->dtype == LG_INT32) return lg_error(LG_E_UNSUPPORTED, "x_scale of %s", lg_dtype_name(s->dtype));
    if (zp && zp->dtype != x->dtype)
        return lg_error(LG_E_SHAPE, "x_zero_point is %s, x is %s", lg_dtype_name(zp->dtype), lg_dtype_name(x->dtype));
    qparams q;
    LG_CHECK(qparams_of(c, x, s, zp, &q));
    int64_t od = lg_attr_int(c->node, "output_dtype", 0);
    lg_dtype dt = od ? (lg_dtype)od : s->dtype == LG_FLOAT8E8M0 ? LG_FLOAT : s->dtype;
    if (dt != LG_FLOAT && dt != LG_FLOAT16 && dt != LG_BFLOAT16)
        return lg_error(LG_E_UNSUPPORTED, "DequantizeLinear to %s", lg_dtype_name(dt));
    return lg_kout_shape(c, 0, dt, x->ndim, x->dims);
}

static int dequantize19_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *s = c->inputs[1], *zp = lg_kin(c, 2);
    lg_tensor *y = c->outputs[0];
    if (!y) return LG_OK;
    qparams q;
    LG_CHECK(qparams_of(c, x, s, zp, &q));
    for (int64_t i = 0, n = lg_tensor_numel_(x); i < n; i++) {
        int64_t p = param_at(&q, i);
        double z = zp ? lg_tensor_get_f64(zp, p) : 0.0;
        lg_tensor_set_f64(y, i, in_precision(y->dtype, (lg_tensor_get_f64(x, i) - z) * lg_tensor_get_f64(s, p)));
    }
    return LG_OK;
}

const lg_op_def lg_ops_quant_linear[] = {
    { "QuantizeLinear", "", 19, 27, quantize19_infer, quantize19_exec, NULL, NULL },
    { "DequantizeLinear", "", 19, 27, dequantize19_infer, dequantize19_exec, NULL, NULL },
    { NULL }
};
