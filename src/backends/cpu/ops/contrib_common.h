/*
 * contrib_common.h: what the com.microsoft (ONNX Runtime contrib) operators share:
 * running a default-domain operator of the registry on the same node (the contrib ops that
 * only restate one: Range, Trilu, LayerNormalization, QuantizeLinear, ...), float32 checks,
 * and the uint8/int8 quantization arithmetic of the QLinear* ops.
 *
 *   const lg_op_def *d = lg_contrib_default_op("Trilu", 14);
 *   lg_kctx sub = lg_contrib_sub(c, d, 14);     // same node, inputs and outputs
 *   return d->exec(&sub);
 */
#ifndef LG_CONTRIB_COMMON_H
#define LG_CONTRIB_COMMON_H

#include <math.h>

#include "runtime/kernel.h"

/* The default-domain implementation of op at opset (NULL with an error when absent). */
const lg_op_def *lg_contrib_default_op(const char *op, int opset);
/* A context for d on c's node, inputs and outputs, at opset. */
lg_kctx lg_contrib_sub(const lg_kctx *c, int opset);

/* float16 through a float32 kernel: float16 inputs are converted to float32, the kernel
 * runs (infer, or infer then exec when run), and its float32 outputs come back as float16.
 * Without float16 inputs it calls the kernel directly. LG_CONTRIB_HALF(name, infer, exec)
 * defines name_hinfer/name_hexec for an op table. */
typedef int (*lg_contrib_fn)(lg_kctx *c);
int lg_contrib_half(lg_kctx *c, lg_contrib_fn infer, lg_contrib_fn exec, bool run);
#define LG_CONTRIB_HALF(name, infer, exec) \
    static int name##_hinfer(lg_kctx *c) { return lg_contrib_half(c, infer, exec, false); } \
    static int name##_hexec(lg_kctx *c) { return lg_contrib_half(c, infer, exec, true); }

/* LG_E_UNSUPPORTED unless t is float32 (what names it). */
int lg_contrib_need_f32(const lg_tensor *t, const char *what);

/* Quantization parameters of one tensor: a scalar scale and zero point (uint8 or int8). */
typedef struct lg_qparam {
    float scale;
    int zp;
    lg_dtype dt; /* LG_UINT8 or LG_INT8 */
} lg_qparam;
/* From inputs (scale, zero point); zero point NULL: 0 of dtype dt. Per-tensor only. */
int lg_qparam_get(const lg_tensor *scale, const lg_tensor *zp, lg_dtype dt, const char *what, lg_qparam *out);
static inline float lg_dequant(const lg_qparam *q, int v) { return (float)(v - q->zp) * q->scale; }
/* Round half to even, add the zero point, saturate to the type. */
static inline int lg_quant(const lg_qparam *q, float v)
{
    float r = nearbyintf(v / q->scale) + (float)q->zp;
    float lo = q->dt == LG_UINT8 ? 0.f : -128.f, hi = q->dt == LG_UINT8 ? 255.f : 127.f;
    return (int)(r < lo ? lo : r > hi ? hi : r);
}
/* Element i of a uint8/int8 tensor. */
static inline int lg_q_at(const lg_tensor *t, int64_t i)
{
    return t->dtype == LG_UINT8 ? ((const uint8_t *)t->data)[i] : ((const int8_t *)t->data)[i];
}
static inline void lg_q_set(lg_tensor *t, int64_t i, int v)
{
    if (t->dtype == LG_UINT8) ((uint8_t *)t->data)[i] = (uint8_t)v;
    else ((int8_t *)t->data)[i] = (int8_t)v;
}

#endif
