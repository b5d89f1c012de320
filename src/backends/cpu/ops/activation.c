/*
 * activation.c: activation operators (Relu .. Shrink, Mish, Swish, Gelu, PRelu, Clip) and the float32
 * activation functions that other operators fuse (lg_act_apply, elementwise.h).
 *
 * Each op is a row of acts[]: its attributes with defaults and its kernels per dtype.
 * The fusable ones run float32 through lg_act_apply_to (AVX2 when the CPU has it);
 * float16/bfloat16 are computed in float32 (elementwise_kernels.h).
 */
#include <float.h>
#include <string.h>
#include <tgmath.h>

#include "backends/cpu/ops/elementwise_kernels.h"

/* ---- Fusable float32 activations ---- */

static float sigmoidf(float v) { return v >= 0 ? 1 / (1 + exp(-v)) : exp(v) / (1 + exp(v)); }

static void act_ref(const lg_act *act, float *y, const float *x, int64_t n)
{
    float lo = act->alpha, hi = act->beta;
    switch (act->kind) {
    case LG_ACT_NONE:
        if (y != x) memmove(y, x, (size_t)n * sizeof(float));
        break;
    case LG_ACT_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0 ? 0 : x[i];
        break;
    case LG_ACT_CLIP:
        for (int64_t i = 0; i < n; i++) {
            float v = x[i] < lo ? lo : x[i];
            y[i] = v > hi ? hi : v;
        }
        break;
    case LG_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++) y[i] = sigmoidf(x[i]);
        break;
    case LG_ACT_SILU:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * sigmoidf(x[i]);
        break;
    case LG_ACT_LEAKYRELU:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] >= 0 ? x[i] : act->alpha * x[i];
        break;
    case LG_ACT_HARDSIGMOID:
        for (int64_t i = 0; i < n; i++) y[i] = fmax(0, fmin(1, act->alpha * x[i] + act->beta));
        break;
    case LG_ACT_HARDSWISH:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * fmax(0, fmin(1, x[i] / 6 + 0.5f));
        break;
    case LG_ACT_TANH:
        for (int64_t i = 0; i < n; i++) y[i] = tanh(x[i]);
        break;
    }
}

void lg_act_apply_to(const lg_act *act, float *y, const float *x, int64_t n)
{
    const lg_ew_simd_kernels *k = lg_ew_simd();
    if (k->act) k->act(act, y, x, n);
    else act_ref(act, y, x, n);
}

void lg_act_apply(const lg_act *act, float *x, int64_t n) { lg_act_apply_to(act, x, x, n); }

/* lg_act_from_node (which nodes are fusable activations) is the runtime's: runtime/act.c. */

/* ---- Kernels of the activation ops ---- */

/* Parameters of one node; act first, so a fusable kernel can read prm as an lg_act. */
typedef struct act_prm {
    lg_act act;
    double p[3]; /* the op's attributes, in the order of act_op.attrs */
} act_prm;

static void fused_f32(const void *prm, int64_t n, void *y, const void *const *x, const int64_t *s)
{
    lg_act_apply_to(prm, y, x[0], n);
}

#define P0 (((const act_prm *)prm)->p[0])
#define P1 (((const act_prm *)prm)->p[1])

/* EXPR of a in type t, with t's math functions through tgmath.h. */
UNARY_SAME(relu_f64, double, double, a < 0 ? 0 : a)
FOR_SINTS(UNARY_SAME, relu, a < 0 ? 0 : a)
UNARY_SAME(leakyrelu_f64, double, double, a >= 0 ? a : (t)P0 * a)
FOR_FLOATS(UNARY_SAME, elu, a >= 0 ? a : (t)P0 * expm1(a))
FOR_FLOATS(UNARY_SAME, selu, a > 0 ? (t)P1 * a : (t)P1 * ((t)P0 * exp(a) - (t)P0))
FOR_FLOATS(UNARY_SAME, celu, fmax((t)0, a) + fmin((t)0, (t)P0 * expm1(a / (t)P0)))
UNARY_SAME(sigmoid_f64, double, double, a >= 0 ? 1 / (1 + exp(-a)) : exp(a) / (1 + exp(a)))
UNARY_SAME(hardsigmoid_f64, double, double, fmax((t)0, fmin((t)1, (t)P0 * a + (t)P1)))
UNARY_SAME(hardswish_f64, double, double, a * fmax((t)0, fmin((t)1, a / 6 + (t)0.5)))
UNARY_SAME(tanh_f64, double, double, tanh(a))
FOR_FLOATS(UNARY_SAME, softplus, a > 0 ? a + log1p(exp(-a)) : log1p(exp(a)))
FOR_FLOATS(UNARY_SAME, softsign, a / (1 + fabs(a)))
FOR_FLOATS(UNARY_SAME, thresholdedrelu, a > (t)P0 ? a : 0)
FOR_FLOATS(UNARY_SAME, shrink, a < -(t)P0 ? a + (t)P1 : a > (t)P0 ? a - (t)P1 : 0)
FOR_SINTS(UNARY_SAME, shrink, a < -P0 ? a + P1 : a > P0 ? a - P1 : 0)
FOR_UINTS(UNARY_SAME, shrink, a > P0 ? a - P1 : 0)
FOR_FLOATS(UNARY_SAME, mish, a * tanh(a > 0 ? a + log1p(exp(-a)) : log1p(exp(a))))
FOR_FLOATS(UNARY_SAME, swish, a / (1 + exp(-(t)P0 * a)))
/* Gelu: P0 = 1 for approximate = "tanh" */
FOR_FLOATS(UNARY_SAME, gelu,
           P0 != 0 ? (t)0.5 * a * (1 + tanh((t)0.7978845608028654 * (a + (t)0.044715 * a * a * a)))
                   : (t)0.5 * a * (1 + erf(a * (t)0.7071067811865476)))

typedef struct act_op {
    const char *name;
    lg_act_kind fused;        /* float32 through lg_act_apply_to, or LG_ACT_NONE */
    const char *attrs[3];     /* attribute names (NULL-padded) and their defaults */
    double defs[3];
    lg_ew_table k;
} act_op;

/* Float32 (and float16/bfloat16 through it) run fused; double has its own kernel. */
#define WITH_FUSED(name) [LG_FLOAT] = fused_f32, [LG_FLOAT16] = fused_f32, [LG_BFLOAT16] = fused_f32, [LG_DOUBLE] = name##_f64

static const act_op acts[] = {
    { "Relu", LG_ACT_RELU, { NULL }, { 0 }, { WITH_FUSED(relu), SINT_KERNELS(relu) } },
    { "LeakyRelu", LG_ACT_LEAKYRELU, { "alpha" }, { 0.01 }, { WITH_FUSED(leakyrelu) } },
    { "Elu", LG_ACT_NONE, { "alpha" }, { 1.0 }, { FLOAT_KERNELS(elu) } },
    { "Selu", LG_ACT_NONE, { "alpha", "gamma" }, { 1.67326319217681884765625, 1.05070102214813232421875 },
      { FLOAT_KERNELS(selu) } },
    { "Celu", LG_ACT_NONE, { "alpha" }, { 1.0 }, { FLOAT_KERNELS(celu) } },
    { "Sigmoid", LG_ACT_SIGMOID, { NULL }, { 0 }, { WITH_FUSED(sigmoid) } },
    { "HardSigmoid", LG_ACT_HARDSIGMOID, { "alpha", "beta" }, { 0.2, 0.5 }, { WITH_FUSED(hardsigmoid) } },
    { "HardSwish", LG_ACT_HARDSWISH, { NULL }, { 0 }, { WITH_FUSED(hardswish) } },
    { "Tanh", LG_ACT_TANH, { NULL }, { 0 }, { WITH_FUSED(tanh) } },
    { "Softplus", LG_ACT_NONE, { NULL }, { 0 }, { FLOAT_KERNELS(softplus) } },
    { "Softsign", LG_ACT_NONE, { NULL }, { 0 }, { FLOAT_KERNELS(softsign) } },
    { "ThresholdedRelu", LG_ACT_NONE, { "alpha" }, { 1.0 }, { FLOAT_KERNELS(thresholdedrelu) } },
    { "Shrink", LG_ACT_NONE, { "lambd", "bias" }, { 0.5, 0.0 }, { NUM_KERNELS(shrink) } },
    { "Mish", LG_ACT_NONE, { NULL }, { 0 }, { FLOAT_KERNELS(mish) } },
    { "Swish", LG_ACT_NONE, { "alpha" }, { 1.0 }, { FLOAT_KERNELS(swish) } },
    { "Gelu", LG_ACT_NONE, { NULL }, { 0 }, { FLOAT_KERNELS(gelu) } },
};

static const act_op *find_act(const char *name)
{
    for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
        if (strcmp(acts[i].name, name) == 0) return &acts[i];
    return NULL;
}

static int act_infer(lg_kctx *c)
{
    LG_CHECK(lg_ew_need_inputs(c, 1));
    const act_op *op = find_act(c->node->op_type);
    const lg_tensor *x = c->inputs[0];
    if (!op || !lg_ew_kernel_for(op->k, x->dtype))
        return lg_error(LG_E_UNSUPPORTED, "%s: input type %s is not supported", c->node->op_type,
                        lg_dtype_name(x->dtype));
    return lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims);
}

static int act_exec(lg_kctx *c)
{
    const act_op *op = find_act(c->node->op_type);
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    if (!y) return LG_OK;
    act_prm prm = { { op->fused, 0, 0 }, { 0, 0, 0 } };
    for (int i = 0; i < 3 && op->attrs[i]; i++) prm.p[i] = lg_attr_float(c->node, op->attrs[i], (float)op->defs[i]);
    if (strcmp(op->name, "Gelu") == 0) {
        const char *approx = lg_attr_string(c->node, "approximate", "none");
        if (strcmp(approx, "none") != 0 && strcmp(approx, "tanh") != 0)
            return lg_error(LG_E_INVALID_MODEL, "approximate must be none or tanh, got '%s'", approx);
        prm.p[0] = strcmp(approx, "tanh") == 0;
    }
    prm.act.alpha = (float)prm.p[0];
    prm.act.beta = (float)prm.p[1];
    lg_dtype dt = lg_ew_compute_dtype(x->dtype);
    int64_t chunk = op->fused == LG_ACT_RELU || op->fused == LG_ACT_LEAKYRELU ? CHUNK_CHEAP : CHUNK_COSTLY;
    return lg_ew_run(c, lg_ew_kernel_for(op->k, x->dtype), &prm, dt, dt, 1, &x, y, chunk);
}

/* ---- PRelu: slope broadcasts to X ---- */

BINARY_SAME(prelu_f32_ref, float, float, a < 0 ? a * b : a)
BINARY_SAME(prelu_f64, double, double, a < 0 ? a * b : a)
FOR_SINTS(BINARY_SAME, prelu, a < 0 ? (ut)a * (ut)b : (ut)a)
FOR_UINTS(BINARY_SAME, prelu, ((void)b, a))

static void prelu_f32(const void *prm, int64_t n, void *y, const void *const *x, const int64_t *s)
{
    const lg_ew_simd_kernels *k = lg_ew_simd();
    if (k->arith) k->arith(LG_EW_PRELU, n, y, x[0], s[0], x[1], s[1]);
    else prelu_f32_ref(prm, n, y, x, s);
}

static const lg_ew_table prelu_k = { NUM_KERNELS(prelu) };

/* Before opset 7 a 1-D slope of C values applies along the channel axis (1): it is read
 * as [C, 1, .., 1]. *view receives that shape over the same data. */
static const lg_tensor *prelu_slope(const lg_kctx *c, lg_tensor *view)
{
    const lg_tensor *x = c->inputs[0], *slope = c->inputs[1];
    if (c->opset >= 7 || slope->ndim != 1 || x->ndim < 3 || slope->dims[0] != x->dims[1] || slope->dims[0] == 1) return slope;
    *view = *slope;
    view->ndim = x->ndim - 1;
    for (int a = 1; a < view->ndim; a++) view->dims[a] = 1;
    return view;
}

static int prelu_infer(lg_kctx *c)
{
    LG_CHECK(lg_ew_need_inputs(c, 2));
    lg_tensor view;
    const lg_tensor *x = c->inputs[0], *slope = prelu_slope(c, &view);
    char sx[256], ss[256];
    int nd;
    int64_t dims[LG_MAX_DIMS];
    if (x->dtype != slope->dtype || !lg_ew_kernel_for(prelu_k, x->dtype))
        return lg_error(LG_E_UNSUPPORTED, "PRelu: types %s (X) and %s (slope) are not supported",
                        lg_dtype_name(x->dtype), lg_dtype_name(slope->dtype));
    LG_CHECK(lg_broadcast_shape(x->ndim, x->dims, slope->ndim, slope->dims, &nd, dims));
    if (!lg_dims_equal(nd, dims, x->ndim, x->dims))
        return lg_error(LG_E_SHAPE, "PRelu: slope of shape %s does not broadcast to X of shape %s",
                        lg_dims_str(slope->ndim, slope->dims, ss, sizeof(ss)),
                        lg_dims_str(x->ndim, x->dims, sx, sizeof(sx)));
    return lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims);
}

static int prelu_exec(lg_kctx *c)
{
    lg_tensor *y = c->outputs[0], view;
    if (!y) return LG_OK;
    const lg_tensor *in[2] = { c->inputs[0], prelu_slope(c, &view) };
    lg_dtype dt = lg_ew_compute_dtype(y->dtype);
    return lg_ew_run(c, lg_ew_kernel_for(prelu_k, y->dtype), NULL, dt, dt, 2, in, y, CHUNK_CHEAP);
}

/* ---- Clip: bounds are attributes before opset 11, optional scalar inputs after ---- */

/* act first (float32 runs fused); then the bounds in the compute dtype's bytes. */
typedef struct clip_prm {
    lg_act act;
    bool has_lo, has_hi;
    _Alignas(8) unsigned char lo[8], hi[8];
} clip_prm;

#define CLIP_KERNEL(fname, T, U, EXPR) \
    static void fname(const void *prm, int64_t n, void *yv, const void *const *x, const int64_t *s) \
    { \
        const clip_prm *p = prm; \
        const T *a = x[0]; \
        T *y = yv, lo, hi; \
        memcpy(&lo, p->lo, sizeof(T)); \
        memcpy(&hi, p->hi, sizeof(T)); \
        for (int64_t i = 0; i < n; i++) { \
            T v = a[i]; \
            if (p->has_lo && v < lo) v = lo; \
            if (p->has_hi && v > hi) v = hi; \
            y[i] = v; \
        } \
    }
FOR_INTS(CLIP_KERNEL, clip, 0)
CLIP_KERNEL(clip_f64, double, double, 0)

static const lg_ew_table clip_k = { [LG_FLOAT] = fused_f32, [LG_FLOAT16] = fused_f32, [LG_BFLOAT16] = fused_f32,
                                    [LG_DOUBLE] = clip_f64, INT_KERNELS(clip) };

static int clip_infer(lg_kctx *c)
{
    LG_CHECK(lg_ew_need_inputs(c, 1));
    const lg_tensor *x = c->inputs[0];
    if (!lg_ew_kernel_for(clip_k, x->dtype) || (c->opset < 11 && !lg_dtype_is_float(x->dtype)))
        return lg_error(LG_E_UNSUPPORTED, "Clip: input type %s is not supported", lg_dtype_name(x->dtype));
    for (int i = 1; i <= 2; i++) {
        const lg_tensor *b = lg_kin(c, i);
        if (b && b->dtype != x->dtype)
            return lg_error(LG_E_INVALID_MODEL, "Clip: input %d is %s, X is %s", i, lg_dtype_name(b->dtype),
                            lg_dtype_name(x->dtype));
    }
    return lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims);
}

/* Reads bound i (1 = min, 2 = max) into dst as dtype dt; false when there is none. */
static int clip_bound(const lg_kctx *c, int i, lg_dtype dt, unsigned char *dst, bool *has)
{
    *has = false;
    if (c->opset < 11) {
        const char *name = i == 1 ? "min" : "max";
        float f = lg_attr_float(c->node, name, i == 1 ? -FLT_MAX : FLT_MAX);
        double d = f;
        *has = true;
        if (dt == LG_DOUBLE) memcpy(dst, &d, sizeof(d));
        else memcpy(dst, &f, sizeof(f));
        return LG_OK;
    }
    const lg_tensor *b = lg_kin(c, i);
    if (!b) return LG_OK;
    if (lg_tensor_numel_(b) != 1)
        return lg_error(LG_E_SHAPE, "Clip: input %d must hold one value, has %lld", i,
                        (long long)lg_tensor_numel_(b));
    *has = true;
    if (b->dtype == dt) {
        memcpy(dst, b->data, lg_dtype_size(dt));
    } else { /* float16/bfloat16 bound for a float32 computation */
        float f = (float)lg_tensor_get_f64(b, 0);
        memcpy(dst, &f, sizeof(f));
    }
    return LG_OK;
}

static int clip_exec(lg_kctx *c)
{
    lg_tensor *y = c->outputs[0];
    if (!y) return LG_OK;
    lg_dtype dt = lg_ew_compute_dtype(y->dtype);
    clip_prm prm = { { LG_ACT_CLIP, -INFINITY, INFINITY }, false, false, { 0 }, { 0 } };
    LG_CHECK(clip_bound(c, 1, dt, prm.lo, &prm.has_lo));
    LG_CHECK(clip_bound(c, 2, dt, prm.hi, &prm.has_hi));
    if (dt == LG_FLOAT) {
        if (prm.has_lo) memcpy(&prm.act.alpha, prm.lo, sizeof(float));
        if (prm.has_hi) memcpy(&prm.act.beta, prm.hi, sizeof(float));
    }
    return lg_ew_run(c, lg_ew_kernel_for(clip_k, y->dtype), &prm, dt, dt, 1, c->inputs, y, CHUNK_CHEAP);
}

const lg_op_def lg_ops_activation[] = {
    { "Relu", "", 1, 27, act_infer, act_exec, NULL, NULL },
    { "LeakyRelu", "", 1, 27, act_infer, act_exec, NULL, NULL },
    { "Elu", "", 1, 27, act_infer, act_exec, NULL, NULL },
    { "Selu", "", 1, 27, act_infer, act_exec, NULL, NULL },
    { "Celu", "", 12, 27, act_infer, act_exec, NULL, NULL },
    { "Sigmoid", "", 1, 27, act_infer, act_exec, NULL, NULL },
    { "HardSigmoid", "", 1, 27, act_infer, act_exec, NULL, NULL },
    { "HardSwish", "", 14, 27, act_infer, act_exec, NULL, NULL },
    { "Tanh", "", 1, 27, act_infer, act_exec, NULL, NULL },
    { "Softplus", "", 1, 27, act_infer, act_exec, NULL, NULL },
    { "Softsign", "", 1, 27, act_infer, act_exec, NULL, NULL },
    { "ThresholdedRelu", "", 10, 27, act_infer, act_exec, NULL, NULL },
    { "Shrink", "", 9, 27, act_infer, act_exec, NULL, NULL },
    { "PRelu", "", 1, 27, prelu_infer, prelu_exec, NULL, NULL },
    { "Clip", "", 1, 27, clip_infer, clip_exec, NULL, NULL },
    { "Mish", "", 18, 27, act_infer, act_exec, NULL, NULL },
    { "Swish", "", 24, 27, act_infer, act_exec, NULL, NULL },
    { "Gelu", "", 20, 27, act_infer, act_exec, NULL, NULL },
    { NULL }
};
