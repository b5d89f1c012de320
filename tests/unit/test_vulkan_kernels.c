/*
 * test_vulkan_kernels.c: every Vulkan kernel against the CPU reference. Each case is one
 * node (op, attributes, input shapes, which inputs are constants, a fused epilogue);
 * the harness runs the CPU kernel (lg_registry_find: infer, prepare, exec) and the
 * Vulkan backend through its lg_backend_i table (device_open, supports_node,
 * node_prepare, buffer_alloc, graph_compute with uploads / node / downloads,
 * buffer_free, device_close), in fp32 and in fp16 precision, with the Khronos
 * validation layer on (LEGACYGPU_VK_VALIDATE=1): a validation message fails the test.
 *
 * Tolerance: |vk - cpu| <= rtol * |cpu| + atol * max|cpu| over the output; fp32:
 * rtol 1e-4, atol 1e-5; fp16 (inputs drawn as values half represents, weights and
 * outputs stored in half, fp32 accumulation): rtol 1e-2, atol 5e-3 (docs/gpu.md,
 * "Kernels"; every case passes at a fifth of both), the same on the fp16-arithmetic
 * variant (products and elementwise ops in half: every case within 0.12 of it).
 * LG_TEST_ERRORS=1 prints the share of the tolerance each case uses.
 *
 * Skips (exit 77, CTest SKIP_RETURN_CODE) only when the build has no Vulkan backend or
 * the machine no Vulkan device.
 */
#include <math.h>

#include "lg_test.h"

#ifdef LG_HAVE_VULKAN

#include "backends/cpu/ops/elementwise.h"
#include "backends/cpu/registry.h"
#include "backends/vulkan/vk.h"
#include "base/threadpool.h"
#include "runtime/backend.h"

#define MAX_IO 8
#define MAX_ATTRS 8

/* ---- case description ---- */

enum { IN_RANDOM = 0, IN_CONST, IN_CONST_VALUES, IN_ABSENT, IN_VALUES /* given values, not a constant */ };

typedef struct in_spec {
    int kind;
    lg_dtype dt;         /* LG_FLOAT unless given */
    int ndim;
    int64_t dims[6];
    float lo, hi;        /* random range (default -1 .. 1) */
    int n_vals;          /* IN_CONST_VALUES: values (as doubles, converted to dt) */
    double vals[8];
} in_spec;

typedef struct attr_spec {
    const char *name;
    lg_attr_type type;
    int64_t i;
    float f;
    const char *s;
    int n;
    int64_t ints[8];
} attr_spec;

typedef struct kcase {
    const char *op;
    int opset;
    int n_in;
    in_spec in[MAX_IO];
    int n_out;           /* follows in[] so that cases read { op, opset, IN(...), n_out, ... } */
    attr_spec attrs[MAX_ATTRS];
    lg_act act;
    bool residual;
    bool fp32_only;      /* integer data: one precision is enough */
} kcase;

#define SHAPE(...) .ndim = sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t), .dims = { __VA_ARGS__ }
#define X(...) { .kind = IN_RANDOM, SHAPE(__VA_ARGS__) }
#define XR(lo_, hi_, ...) { .kind = IN_RANDOM, .lo = lo_, .hi = hi_, SHAPE(__VA_ARGS__) }
#define W(...) { .kind = IN_CONST, SHAPE(__VA_ARGS__) }
#define WR(lo_, hi_, ...) { .kind = IN_CONST, .lo = lo_, .hi = hi_, SHAPE(__VA_ARGS__) }
#define ABSENT { .kind = IN_ABSENT }
/* A constant 1-D int64 tensor of the given values. */
#define I64(...) { .kind = IN_CONST_VALUES, .dt = LG_INT64, .ndim = 1, \
                   .dims = { sizeof((double[]){ __VA_ARGS__ }) / sizeof(double) }, \
                   .n_vals = sizeof((double[]){ __VA_ARGS__ }) / sizeof(double), .vals = { __VA_ARGS__ } }
#define F32V(...) { .kind = IN_CONST_VALUES, .dt = LG_FLOAT, .ndim = 1, \
                    .dims = { sizeof((double[]){ __VA_ARGS__ }) / sizeof(double) }, \
                    .n_vals = sizeof((double[]){ __VA_ARGS__ }) / sizeof(double), .vals = { __VA_ARGS__ } }
#define F32S(v) { .kind = IN_CONST_VALUES, .dt = LG_FLOAT, .ndim = 0, .n_vals = 1, .vals = { v } }
#define AI(nm, v) { .name = nm, .type = LG_ATTR_INT, .i = v }
#define AF(nm, v) { .name = nm, .type = LG_ATTR_FLOAT, .f = v }
#define AS(nm, v) { .name = nm, .type = LG_ATTR_STRING, .s = v }
#define AIS(nm, ...) { .name = nm, .type = LG_ATTR_INTS, .n = sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t), \
                       .ints = { __VA_ARGS__ } }

#define IN(...) .n_in = sizeof((in_spec[]){ __VA_ARGS__ }) / sizeof(in_spec), .in = { __VA_ARGS__ }
#define ATTRS(...) .attrs = { __VA_ARGS__ }

static const kcase cases[] = {
    /* ---- unary and activations ---- */
    { "Relu", 14, IN(X(3, 5, 7)), 1 },
    { "LeakyRelu", 16, IN(X(2, 33)), 1, ATTRS(AF("alpha", 0.2f)) },
    { "Clip", 13, IN(X(5, 9), F32S(-0.3), F32S(0.6)), 1 },
    { "Clip", 6, IN(X(17)), 1, ATTRS(AF("min", -0.5f), AF("max", 0.25f)) },
    { "Sigmoid", 13, IN(XR(-6, 6, 4, 37)), 1 },
    { "Tanh", 13, IN(XR(-20, 20, 301)), 1 },
    { "HardSigmoid", 6, IN(XR(-4, 4, 3, 11)), 1, ATTRS(AF("alpha", 0.3f), AF("beta", 0.4f)) },
    { "HardSwish", 14, IN(XR(-5, 5, 2, 3, 19)), 1 },
    { "Erf", 13, IN(XR(-3, 3, 1001)), 1 },
    { "Exp", 13, IN(XR(-5, 5, 77)), 1 },
    { "Log", 13, IN(XR(0.01f, 10, 77)), 1 },
    { "Sqrt", 13, IN(XR(0, 10, 65)), 1 },
    { "Reciprocal", 13, IN(XR(0.5f, 4, 65)), 1 },
    { "Neg", 13, IN(X(13)), 1 },
    { "Abs", 13, IN(X(13)), 1 },
    { "Floor", 13, IN(XR(-9, 9, 129)), 1 },
    { "Ceil", 13, IN(XR(-9, 9, 129)), 1 },
    { "Softplus", 1, IN(XR(-30, 30, 99)), 1 },
    { "Elu", 6, IN(XR(-3, 3, 99)), 1, ATTRS(AF("alpha", 0.7f)) },
    { "Selu", 6, IN(XR(-3, 3, 99)), 1 },
    { "Softsign", 1, IN(XR(-3, 3, 31)), 1 },
    { "Sign", 13, IN(XR(-2, 2, 41)), 1 },
    { "Round", 11, IN(XR(-5, 5, 67)), 1 },
    { "Sin", 7, IN(XR(-10, 10, 53)), 1 },
    { "Cos", 7, IN(XR(-10, 10, 53)), 1 },
    { "ThresholdedRelu", 10, IN(XR(-3, 3, 45)), 1, ATTRS(AF("alpha", 0.5f)) },
    { "Celu", 12, IN(XR(-3, 3, 45)), 1, ATTRS(AF("alpha", 0.8f)) },
    { "Identity", 16, IN(X(3, 4, 5)), 1 },
    { "Dropout", 13, IN(X(7, 3)), 1 },
    /* ---- binary with broadcasting ---- */
    { "Add", 14, IN(X(2, 3, 5, 7), X(2, 3, 5, 7)), 1 },
    { "Add", 14, IN(X(2, 3, 5, 7), W(3, 1, 1)), 1 },
    { "Sub", 14, IN(X(1, 5, 1), X(4, 1, 6)), 1 },
    { "Mul", 14, IN(X(3, 1, 9), X(9)), 1 },
    { "Div", 14, IN(X(6, 7), XR(0.5f, 2, 6, 1)), 1 },
    { "Pow", 15, IN(XR(0.1f, 3, 5, 8), XR(-2, 2, 8)), 1 },
    { "Pow", 15, IN(X(5, 8), F32S(2.0)), 1 },
    { "Max", 13, IN(X(4, 9), X(1, 9)), 1 },
    { "Min", 13, IN(X(4, 9), X(4, 1)), 1 },
    { "PRelu", 16, IN(X(2, 5, 3, 3), W(5, 1, 1)), 1 },
    /* ---- Gemm, MatMul ---- */
    { "Gemm", 13, IN(X(7, 19), W(19, 13), W(13)), 1 },
    { "Gemm", 13, IN(X(19, 7), W(13, 19), W(7, 13)), 1,
      ATTRS(AI("transA", 1), AI("transB", 1), AF("alpha", 0.5f), AF("beta", 2.0f)) },
    { "Gemm", 13, IN(X(33, 70), W(70, 41)), 1, .act = { LG_ACT_RELU } },
    { "Gemm", 13, IN(X(2, 300), W(10, 300), W(1, 10)), 1, ATTRS(AI("transB", 1)), .residual = true },
    { "MatMul", 13, IN(X(37, 29), X(29, 45)), 1 },
    { "MatMul", 13, IN(X(2, 3, 17, 9), X(9, 11)), 1 },
    { "MatMul", 13, IN(X(2, 1, 5, 9), X(1, 3, 9, 6)), 1 },
    { "MatMul", 13, IN(X(3, 2, 4, 5, 6), X(6, 7)), 1 },
    { "MatMul", 13, IN(X(9), X(2, 9, 4)), 1 },
    { "MatMul", 13, IN(X(3, 5, 9), X(9)), 1, .act = { LG_ACT_SIGMOID } },
    /* ---- Conv ---- */
    { "Conv", 11, IN(X(2, 5, 9, 11), W(7, 5, 3, 3), W(7)), 1, ATTRS(AIS("pads", 1, 1, 1, 1)) },
    { "Conv", 11, IN(X(1, 1, 4, 4), W(1, 1, 3, 3)), 1 },
    { "Conv", 11, IN(X(1, 2, 4, 4), W(1, 2, 1, 1)), 1, ATTRS(AIS("strides", 2, 2)) },
    { "Conv", 11, IN(X(1, 1, 4, 4), W(1, 1, 1, 1)), 1, ATTRS(AIS("strides", 2, 2)) },
    { "Conv", 11, IN(X(1, 2, 4, 4), W(1, 2, 1, 1)), 1, ATTRS(AIS("strides", 1, 1)) },
    { "Conv", 11, IN(X(1, 1, 4, 4), W(1, 1, 1, 1)), 1, ATTRS(AIS("strides", 1, 2)) },
    { "Conv", 11, IN(X(1, 6, 13, 10), W(8, 3, 3, 2)), 1,
      ATTRS(AI("group", 2), AIS("strides", 2, 1), AIS("dilations", 1, 2), AIS("pads", 1, 0, 2, 1)) },
    { "Conv", 11, IN(X(1, 8, 7, 7), W(24, 8, 1, 1), W(24)), 1, .act = { LG_ACT_CLIP, 0.0f, 6.0f }, .residual = true },
    { "Conv", 11, IN(X(2, 6, 5, 5), W(6, 2, 1, 1), W(6)), 1, ATTRS(AI("group", 3)) },
    { "Conv", 11, IN(X(1, 7, 12, 9), W(7, 1, 3, 3), W(7)), 1,
      ATTRS(AI("group", 7), AIS("strides", 2, 2), AIS("pads", 1, 1, 1, 1)), .act = { LG_ACT_SILU } },
    { "Conv", 11, IN(X(1, 3, 17, 17), W(16, 3, 5, 5)), 1, ATTRS(AS("auto_pad", "SAME_UPPER"), AIS("strides", 2, 2)),
      .act = { LG_ACT_LEAKYRELU, 0.1f } },
    { "Conv", 11, IN(X(2, 4, 23), W(6, 4, 3), W(6)), 1, ATTRS(AIS("pads", 2, 1), AIS("dilations", 2)),
      .act = { LG_ACT_HARDSWISH } },
    { "Conv", 11, IN(X(1, 32, 6, 6), W(40, 32, 3, 3), W(40)), 1, ATTRS(AIS("pads", 1, 1, 1, 1)), .residual = true },
    { "BatchNormalization", 15, IN(X(2, 5, 4, 3), W(5), W(5), W(5), WR(0.5f, 2, 5)), 1,
      ATTRS(AF("epsilon", 1e-3f)), .act = { LG_ACT_RELU } },
    /* ---- pools ---- */
    { "MaxPool", 12, IN(X(2, 3, 11, 9)), 1, ATTRS(AIS("kernel_shape", 3, 3), AIS("strides", 2, 2), AIS("pads", 1, 1, 1, 1)) },
    { "MaxPool", 12, IN(X(1, 2, 10, 10)), 1,
      ATTRS(AIS("kernel_shape", 2, 3), AIS("strides", 3, 2), AI("ceil_mode", 1), AIS("dilations", 2, 1)) },
    { "AveragePool", 11, IN(X(1, 3, 9, 8)), 1, ATTRS(AIS("kernel_shape", 3, 3), AIS("strides", 2, 2), AIS("pads", 1, 1, 1, 1)) },
    { "AveragePool", 11, IN(X(1, 3, 9, 8)), 1,
      ATTRS(AIS("kernel_shape", 3, 2), AIS("strides", 2, 2), AIS("pads", 1, 0, 1, 1), AI("count_include_pad", 1),
            AI("ceil_mode", 1)) },
    { "AveragePool", 11, IN(X(2, 3, 14)), 1, ATTRS(AIS("kernel_shape", 4), AS("auto_pad", "SAME_LOWER"), AIS("strides", 3)) },
    { "GlobalAveragePool", 1, IN(X(2, 7, 5, 3)), 1 },
    { "GlobalMaxPool", 1, IN(X(2, 7, 5, 3)), 1 },
    /* ---- reductions, softmax, layernorm ---- */
    { "ReduceMean", 13, IN(X(3, 4, 5)), 1, ATTRS(AIS("axes", -1)) },
    { "ReduceSum", 13, IN(X(3, 4, 5, 2), I64(1, 2)), 1, ATTRS(AI("keepdims", 0)) },
    { "ReduceMax", 13, IN(X(3, 130)), 1, ATTRS(AIS("axes", 0)) },
    { "ReduceMin", 13, IN(X(6, 5, 4)), 1 },
    { "ReduceProd", 13, IN(XR(0.5f, 1.5f, 4, 6)), 1, ATTRS(AIS("axes", 1)) },
    { "ReduceL2", 13, IN(X(2, 3, 4)), 1, ATTRS(AIS("axes", 1, 2)) },
    { "ReduceLogSumExp", 13, IN(X(5, 7)), 1, ATTRS(AIS("axes", 1)) },
    { "ReduceMean", 13, IN(X(2, 3, 4, 5)), 1, ATTRS(AIS("axes", 2, 3), AI("keepdims", 1)) },
    { "Softmax", 13, IN(XR(-5, 5, 3, 4, 9)), 1 },
    { "Softmax", 13, IN(XR(-5, 5, 3, 4, 9)), 1, ATTRS(AI("axis", 1)) },
    { "Softmax", 11, IN(XR(-5, 5, 3, 4, 9)), 1, ATTRS(AI("axis", 1)) },
    { "LogSoftmax", 13, IN(XR(-5, 5, 2, 300)), 1 },
    { "LayerNormalization", 17, IN(X(3, 5, 24), W(24), W(24)), 1 },
    { "LayerNormalization", 17, IN(X(2, 3, 4, 5), W(4, 5)), 1, ATTRS(AI("axis", 2), AF("epsilon", 1e-3f)) },
    /* ---- copies and views ---- */
    { "Reshape", 14, IN(X(2, 3, 4), I64(4, -1)), 1 },
    { "Flatten", 13, IN(X(2, 3, 4, 5)), 1, ATTRS(AI("axis", 2)) },
    { "Squeeze", 13, IN(X(2, 1, 4), I64(1)), 1 },
    { "Unsqueeze", 13, IN(X(2, 4), I64(0, 3)), 1 },
    { "Transpose", 13, IN(X(2, 3, 4, 5)), 1, ATTRS(AIS("perm", 0, 2, 3, 1)) },
    { "Transpose", 13, IN(X(3, 7)), 1 },
    { "Slice", 13, IN(X(5, 9, 6), I64(1, -1), I64(4, -8), I64(0, 1), I64(2, -2)), 1 },
    { "Slice", 13, IN(X(5, 9, 6), I64(0, 2), I64(100, 5)), 1 },
    { "Slice", 13, IN(X(4, 10, 3), { .kind = IN_VALUES, .dt = LG_INT64, .ndim = 1, .dims = { 2 }, .n_vals = 2,
                                      .vals = { 5, 4611686018427387904.0 } },
                      I64(10, -4611686018427387904.0), I64(1, 2), I64(1, -1)), 1 },
    { "Slice", 13, IN({ .kind = IN_VALUES, .dt = LG_INT64, .ndim = 1, .dims = { 4 }, .n_vals = 4,
                        .vals = { 1, 3, 224, 224 } },
                      { .kind = IN_CONST_VALUES, .dt = LG_INT32, .ndim = 1, .dims = { 1 }, .n_vals = 1, .vals = { -2 } },
                      { .kind = IN_CONST_VALUES, .dt = LG_INT32, .ndim = 1, .dims = { 1 }, .n_vals = 1, .vals = { 4 } }),
      1, .fp32_only = true },
    { "Concat", 13, IN(X(2, 3, 4), X(2, 5, 4), X(2, 1, 4)), 1, ATTRS(AI("axis", 1)) },
    { "Concat", 13, IN(X(2, 3), X(2, 2)), 1, ATTRS(AI("axis", -1)) },
    { "Split", 13, IN(X(4, 9, 2), I64(2, 3, 4)), 3, ATTRS(AI("axis", 1)) },
    { "Split", 13, IN(X(6, 5)), 2 },
    { "Expand", 13, IN(X(3, 1, 5), I64(2, 3, 4, 5)), 1 },
    { "Gather", 13, IN(X(5, 4, 3), I64(4, 0, -1, 2)), 1, ATTRS(AI("axis", 0)) },
    { "Gather", 13, IN(X(5, 4, 3), I64(3, 1)), 1, ATTRS(AI("axis", 1)) },
    { "Gather", 13, IN({ .kind = IN_CONST_VALUES, .dt = LG_INT64, .ndim = 1, .dims = { 5 }, .n_vals = 5,
                         .vals = { 10, -20, 30, 40000000000.0, 50 } },
                       I64(3, 0)), 1, .fp32_only = true },
    { "Gather", 13, IN(X(6, 5), { .kind = IN_VALUES, .dt = LG_INT64, .ndim = 2, .dims = { 2, 2 }, .n_vals = 4,
                                   .vals = { 5, -6, 0, 3 } }), 1, ATTRS(AI("axis", 0)) },
    { "Gather", 13, IN(X(6, 5), { .kind = IN_VALUES, .dt = LG_INT32, .ndim = 1, .dims = { 3 }, .n_vals = 3,
                                   .vals = { 4, -1, 2 } }), 1, ATTRS(AI("axis", 1)) },
    { "Concat", 13, IN(I64(1, 2, 3), { .kind = IN_VALUES, .dt = LG_INT64, .ndim = 1, .dims = { 2 }, .n_vals = 2,
                                        .vals = { -4, 5000000000.0 } }), 1, ATTRS(AI("axis", 0)), .fp32_only = true },
    { "Transpose", 13, IN({ .kind = IN_VALUES, .dt = LG_INT32, .ndim = 2, .dims = { 2, 3 }, .n_vals = 6,
                            .vals = { 1, 2, 3, 4, 5, 6 } }), 1, .fp32_only = true },
    { "Slice", 9, IN(X(4, 7, 5)), 1, ATTRS(AIS("starts", 1, -4), AIS("ends", 3, 1000), AIS("axes", 0, 1)) },
    { "Split", 11, IN(X(3, 10)), 2, ATTRS(AI("axis", 1), AIS("split", 7, 3)) },
    { "Upsample", 9, IN(X(1, 2, 3, 4), F32V(1, 1, 2, 2)), 1 },
    { "Resize", 10, IN(X(1, 2, 5, 4), F32V(1, 1, 0.6, 1.5)), 1 },
    { "Resize", 13, IN(X(1, 3, 5, 7), ABSENT, F32V(1, 1, 2, 3)), 1, ATTRS(AS("mode", "nearest")) },
    { "Resize", 13, IN(X(1, 2, 6, 8), ABSENT, F32V(1, 1, 0.5, 0.75)), 1,
      ATTRS(AS("mode", "nearest"), AS("nearest_mode", "ceil"), AS("coordinate_transformation_mode", "asymmetric")) },
    { "Resize", 13, IN(X(2, 2, 4, 5), ABSENT, F32V(1, 1, 2, 1.5)), 1, ATTRS(AS("mode", "linear")) },
    { "Resize", 13, IN(X(1, 3, 4, 4), ABSENT, ABSENT, I64(1, 3, 7, 9)), 1,
      ATTRS(AS("mode", "linear"), AS("coordinate_transformation_mode", "align_corners")) },
    { "Resize", 13, IN(X(1, 3, 6, 4), ABSENT, F32V(1, 1, 1.5, 2)), 1,
      ATTRS(AS("mode", "linear"), AS("coordinate_transformation_mode", "pytorch_half_pixel")) },
};

/* Tensors and weights larger than one binding when the binding is capped at 1 MiB
 * (LEGACYGPU_VK_MAX_BINDING_MB=1, test unit.vulkan_kernels_split): elementwise kernels
 * in chunks, constant GEMM / conv weights in blocks; in fp16 too (half the bytes). */
static const kcase big_cases[] = {
    { "Sigmoid", 13, IN(X(3, 200003)), 1 },
    { "Add", 14, IN(X(2, 300001), X(2, 300001)), 1 },
    { "Mul", 14, IN(X(600001), X(1)), 1 },
    { "Gemm", 13, IN(X(3, 1025), W(1025, 601), W(601)), 1, .act = { LG_ACT_RELU } },
    { "Gemm", 13, IN(X(5, 700), W(900, 700)), 1, ATTRS(AI("transB", 1)), .residual = true },
    { "MatMul", 13, IN(X(2, 3, 1100), W(1100, 560)), 1 },
    { "Conv", 11, IN(X(1, 130, 5, 4), W(520, 130, 3, 3), W(520)), 1, ATTRS(AIS("pads", 1, 1, 1, 1)),
      .act = { LG_ACT_SILU } },
    { "Reshape", 14, IN(X(2, 300000), I64(-1)), 1 },
};

/* ---- helpers ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static float frand(float lo, float hi)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((rng >> 40) & 0xffffff) / (float)0x1000000;
}

/* fp16 runs draw inputs that half represents exactly, so that discontinuous ops (Floor,
 * Ceil, Round, max pooling ties) see the same values on both sides. */
static bool half_inputs;

static lg_tensor *make_input(const in_spec *s)
{
    lg_tensor *t = NULL;
    lg_dtype dt = s->dt ? s->dt : LG_FLOAT;
    assert_int_equal(lg_tensor_create(dt, s->ndim, s->dims, &t), LG_OK);
    int64_t n = lg_tensor_numel_(t);
    float lo = s->lo, hi = s->hi;
    if (lo == 0 && hi == 0) {
        lo = -1;
        hi = 1;
    }
    for (int64_t i = 0; i < n; i++) {
        double v = s->kind == IN_CONST_VALUES || s->kind == IN_VALUES ? s->vals[i] : frand(lo, hi);
        if (half_inputs && dt == LG_FLOAT) v = lg_half_to_float(lg_float_to_half((float)v));
        lg_tensor_set_f64(t, i, v);
    }
    return t;
}

/* A tensor with t's dtype and shape and no data (what supports/prepare see). */
static lg_tensor shape_of(const lg_tensor *t)
{
    lg_tensor s;
    memset(&s, 0, sizeof(s));
    s.dtype = t->dtype;
    s.ndim = t->ndim;
    memcpy(s.dims, t->dims, sizeof(s.dims));
    return s;
}

static void build_node(const kcase *c, lg_node *n, lg_attr *attrs)
{
    memset(n, 0, sizeof(*n));
    n->name = (char *)"node";
    n->op_type = (char *)c->op;
    n->domain = (char *)"";
    n->opset = c->opset;
    n->n_inputs = c->n_in;
    n->n_outputs = c->n_out;
    n->attrs = attrs;
    for (int i = 0; i < MAX_ATTRS && c->attrs[i].name; i++) {
        const attr_spec *a = &c->attrs[i];
        lg_attr *t = &attrs[n->n_attrs++];
        memset(t, 0, sizeof(*t));
        t->name = (char *)a->name;
        t->type = a->type;
        t->i = a->i;
        t->f = a->f;
        t->s = (char *)a->s;
        t->slen = a->s ? strlen(a->s) : 0;
        t->n = a->n;
        t->ints = (int64_t *)a->ints;
    }
}

/* The CPU reference: infer, prepare, exec, then the epilogue act(y + residual). */
static void run_cpu(const kcase *c, const lg_node *n, lg_tensor **in, lg_tensor **out, const lg_tensor *res,
                    lg_threadpool *pool)
{
    int other = 0;
    const lg_op_def *def = lg_registry_find("", c->op, c->opset, &other);
    if (!def) fail_msg("CPU has no %s-%d", c->op, c->opset);
    lg_kctx k;
    memset(&k, 0, sizeof(k));
    k.node = n;
    k.opset = c->opset;
    k.n_inputs = c->n_in;
    k.inputs = (const lg_tensor *const *)in;
    k.n_outputs = c->n_out;
    k.outputs = out;
    k.pool = pool;
    if (def->infer(&k) != LG_OK) fail_msg("%s: CPU infer: %s", c->op, lg_last_error());
    for (int i = 0; i < c->n_out; i++) {
        lg_tensor sh = shape_of(out[i]);
        assert_int_equal(lg_tensor_reset(out[i], sh.dtype, sh.ndim, sh.dims), LG_OK);
    }
    void *state = NULL;
    if (def->prepare) assert_int_equal(def->prepare(&k, &state), LG_OK);
    k.state = state;
    if (def->exec(&k) != LG_OK) fail_msg("%s: CPU exec: %s", c->op, lg_last_error());
    if (def->release && state) def->release(state);
    if (res || c->act.kind != LG_ACT_NONE) {
        float *y = out[0]->data;
        int64_t m = lg_tensor_numel_(out[0]);
        if (res)
            for (int64_t i = 0; i < m; i++) y[i] += ((const float *)res->data)[i];
        lg_act_apply(&c->act, y, m);
    }
}

typedef struct devt {
    lg_tensor t;     /* device tensor: buf, offset 0 */
} devt;

static void dev_alloc(const lg_backend_i *be, lg_device *d, const lg_tensor *like, devt *out)
{
    out->t = shape_of(like);
    uint64_t bytes = be->storage_bytes(d, like->dtype, lg_tensor_numel_(like));
    if (bytes == 0) bytes = 4;
    if (be->buffer_alloc(d, bytes, &out->t.buf) != LG_OK) fail_msg("buffer_alloc: %s", lg_last_error());
}

static void compare(const kcase *c, int ci, int o, const lg_tensor *ref, const lg_tensor *got, bool fp16)
{
    int64_t n = lg_tensor_numel_(ref);
    assert_int_equal(lg_tensor_numel_(got), n);
    if (ref->dtype != LG_FLOAT) {
        if (memcmp(ref->data, got->data, ref->nbytes) != 0) fail_msg("case %d %s: output %d differs", ci, c->op, o);
        return;
    }
    const float *r = ref->data, *g = got->data;
    double scale = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(r[i]));
    double rtol = fp16 ? 1e-2 : 1e-4, atol = (fp16 ? 5e-3 : 1e-5) * scale;
    double used = 0; /* the largest share of the tolerance an element takes */
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)g[i] - (double)r[i]);
        if (isfinite(r[i])) used = fmax(used, d / (rtol * fabs(r[i]) + atol));
        if (!(d <= rtol * fabs(r[i]) + atol) && !(isinf(r[i]) && g[i] == r[i]))
            fail_msg("case %d %s-%d (%s, tunings %s): output %d element %lld: vulkan %.7g, cpu %.7g (scale %.4g)", ci,
                     c->op, c->opset, fp16 ? "fp16" : "fp32", getenv("LEGACYGPU_VK_TUNE") ? getenv("LEGACYGPU_VK_TUNE") : "own",
                     o, (long long)i, g[i], r[i], scale);
    }
    if (getenv("LG_TEST_ERRORS")) /* how much of the tolerance each case uses */
        printf("case %d %s-%d output %d: %.3f of the tolerance\n", ci, c->op, c->opset, o, used);
}

/* Returns false when the backend does not take the node (supports_node said no). */
static bool run_case(const lg_backend_i *be, lg_device *d, bool fp16, const kcase *c, int ci, lg_threadpool *pool,
                     bool must_support)
{
    lg_node n;
    lg_attr attrs[MAX_ATTRS];
    build_node(c, &n, attrs);
    lg_tensor *in[MAX_IO] = { 0 }, *out[MAX_IO] = { 0 }, *res = NULL;
    for (int i = 0; i < c->n_in; i++)
        if (c->in[i].kind != IN_ABSENT) in[i] = make_input(&c->in[i]);
    for (int i = 0; i < c->n_out; i++) out[i] = lg_tensor_new_empty();
    /* the reference (the residual's shape is the output's: known after infer) */
    lg_tensor *ref_in[MAX_IO];
    memcpy(ref_in, in, sizeof(in));
    {
        int other = 0;
        const lg_op_def *def = lg_registry_find("", c->op, c->opset, &other);
        assert_non_null(def);
        lg_kctx k = { .node = &n, .opset = c->opset, .n_inputs = c->n_in, .inputs = (const lg_tensor *const *)in,
                      .n_outputs = c->n_out, .outputs = out, .pool = pool };
        if (def->infer(&k) != LG_OK) fail_msg("%s: CPU infer: %s", c->op, lg_last_error());
    }
    if (c->residual) {
        in_spec rs = { .kind = IN_RANDOM, .ndim = out[0]->ndim };
        memcpy(rs.dims, out[0]->dims, sizeof(rs.dims));
        res = make_input(&rs);
    }
    run_cpu(c, &n, ref_in, out, res, pool);

    /* what supports / prepare see: constants with data, the rest shapes only */
    lg_tensor shapes[MAX_IO], oshapes[MAX_IO], rshape;
    const lg_tensor *sin[MAX_IO] = { 0 }, *sout[MAX_IO] = { 0 };
    for (int i = 0; i < c->n_in; i++) {
        if (!in[i]) continue;
        shapes[i] = shape_of(in[i]);
        sin[i] = c->in[i].kind == IN_RANDOM || c->in[i].kind == IN_VALUES ? &shapes[i] : in[i];
    }
    for (int i = 0; i < c->n_out; i++) {
        oshapes[i] = shape_of(out[i]);
        sout[i] = &oshapes[i];
    }
    uint32_t host_inputs = 0, consumed = 0;
    if (!be->supports_node(d, &n, c->opset, c->n_in, sin, c->n_out, sout, &host_inputs)) {
        if (must_support) fail_msg("case %d: vulkan does not support %s-%d", ci, c->op, c->opset);
        for (int i = 0; i < c->n_out; i++) lg_tensor_free(out[i]);
        for (int i = 0; i < c->n_in; i++) lg_tensor_free(in[i]);
        lg_tensor_free(res);
        return false;
    }
    if (c->act.kind != LG_ACT_NONE || c->residual)
        assert_true(be->supports_epilogue(d, &n, &c->act, c->residual));
    if (res) rshape = shape_of(res);
    lg_dev_node dn = { .node = &n, .opset = c->opset, .n_inputs = c->n_in, .inputs = sin, .n_outputs = c->n_out,
                       .outputs = (lg_tensor *const *)sout, .residual = res ? &rshape : NULL, .act = c->act,
                       .consumed = &consumed };
    void *state = NULL;
    if (be->node_prepare(d, &dn, &state) != LG_OK) fail_msg("case %d %s: prepare: %s", ci, c->op, lg_last_error());
    dn.consumed = NULL;

    /* device tensors for what the runtime would keep on the device */
    devt dev_in[MAX_IO], dev_out[MAX_IO], dev_res;
    const lg_tensor *rin[MAX_IO] = { 0 };
    lg_dev_copy ups[MAX_IO + 1], downs[MAX_IO];
    int n_up = 0;
    lg_tensor *got[MAX_IO] = { 0 };
    for (int i = 0; i < c->n_in; i++) {
        if (!in[i]) continue;
        bool on_host = (host_inputs >> i) & 1u, kept = (consumed >> i) & 1u;
        bool constant = c->in[i].kind == IN_CONST || c->in[i].kind == IN_CONST_VALUES;
        if (on_host || (kept && constant)) {
            assert_true(constant); /* host inputs must be constants here */
            rin[i] = in[i];
            continue;
        }
        dev_alloc(be, d, in[i], &dev_in[i]);
        ups[n_up++] = (lg_dev_copy){ in[i], &dev_in[i].t };
        rin[i] = &dev_in[i].t;
    }
    if (res) {
        dev_alloc(be, d, res, &dev_res);
        ups[n_up++] = (lg_dev_copy){ res, &dev_res.t };
    }
    lg_tensor *rout[MAX_IO] = { 0 };
    for (int i = 0; i < c->n_out; i++) {
        dev_alloc(be, d, out[i], &dev_out[i]);
        rout[i] = &dev_out[i].t;
        assert_int_equal(lg_tensor_create(out[i]->dtype, out[i]->ndim, out[i]->dims, &got[i]), LG_OK);
        downs[i] = (lg_dev_copy){ got[i], &dev_out[i].t };
    }
    dn.inputs = rin;
    dn.outputs = rout;
    dn.residual = res ? &dev_res.t : NULL;
    dn.state = state;
    lg_dev_graph g = { n_up, ups, 1, &dn, c->n_out, downs };
    if (be->graph_compute(d, &g) != LG_OK) fail_msg("case %d %s: graph_compute: %s", ci, c->op, lg_last_error());
    if (lg_vk_validation_messages() != 0) fail_msg("case %d %s: the validation layer reported a message", ci, c->op);

    if (getenv("LG_TEST_DUMP")) {
        for (int i = 0; i < c->n_in; i++)
            if (in[i] && in[i]->dtype == LG_FLOAT)
                for (int64_t e = 0; e < lg_tensor_numel_(in[i]); e++) printf("in%d[%lld] = %g\n", i, (long long)e, ((float *)in[i]->data)[e]);
        for (int64_t e = 0; e < lg_tensor_numel_(out[0]) && out[0]->dtype == LG_FLOAT; e++)
            printf("y[%lld] cpu %g vk %g\n", (long long)e, ((float *)out[0]->data)[e], ((float *)got[0]->data)[e]);
    }
    for (int i = 0; i < c->n_out; i++) compare(c, ci, i, out[i], got[i], fp16);

    be->node_release(d, state);
    for (int i = 0; i < c->n_in; i++)
        if (rin[i] == &dev_in[i].t) be->buffer_free(d, dev_in[i].t.buf);
    if (res) be->buffer_free(d, dev_res.t.buf);
    for (int i = 0; i < c->n_out; i++) {
        be->buffer_free(d, dev_out[i].t.buf);
        lg_tensor_free(got[i]);
        lg_tensor_free(out[i]);
    }
    for (int i = 0; i < c->n_in; i++) lg_tensor_free(in[i]);
    lg_tensor_free(res);
    return true;
}

/* The ops whose kernels take sizes from the tuning table (vk_tune.c). */
static bool tuned_op(const char *op)
{
    static const char *const ops[] = { "Gemm", "MatMul", "Conv", "Softmax", "LogSoftmax", "LayerNormalization",
                                       "ReduceMean", "ReduceSum", "GlobalAveragePool", "Add", "Relu", "Transpose" };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(ops[i], op) == 0) return true;
    return false;
}

/* Runs a table of cases; returns how many the backend refused (only when !must_support). */
static int run_table(const kcase *table, size_t n_cases, lg_precision prec, bool tuned_only, bool must_support)
{
    const lg_backend_i *be = lg_backend_find("vulkan");
    assert_non_null(be);
    lg_device_config cfg = { .precision = prec };
    lg_device *d = NULL;
    if (be->device_open(0, &cfg, &d) != LG_OK) fail_msg("device_open: %s", lg_last_error());
    bool fp16 = prec == LG_PRECISION_FP16 && lg_vk_fp16_storage(d);
    if (prec == LG_PRECISION_FP16 && !fp16) printf("note: the device has no 16-bit storage: fp16 runs as fp32\n");
    half_inputs = fp16;
    /* unit.vulkan_kernels_fp16math: the fp16 cases must run on the fp16-arithmetic variant */
    if (fp16 && getenv("LG_TEST_EXPECT_FP16_MATH") && !lg_vk_fp16_math(d))
        fail_msg("fp16 arithmetic expected (LG_TEST_EXPECT_FP16_MATH) but the session computes in fp32");
    if (getenv("LEGACYGPU_VK_MAX_BINDING_MB")) /* the split tests need the cap to hold */
        assert_true(lg_vk_device_caps(d)->max_storage_range <= ((uint64_t)atoi(getenv("LEGACYGPU_VK_MAX_BINDING_MB")) << 20));
    lg_threadpool *pool = lg_threadpool_create(1);
    const char *only = getenv("LG_TEST_CASE"); /* one case index, when debugging */
    int refused = 0;
    for (size_t i = 0; i < n_cases; i++) {
        if ((fp16 && table[i].fp32_only) || (only && atoi(only) != (int)i)) continue;
        if (tuned_only && !tuned_op(table[i].op)) continue;
        if (!run_case(be, d, fp16, &table[i], (int)i, pool, must_support)) {
            printf("note: the backend does not take %s-%d at this binding size\n", table[i].op, table[i].opset);
            refused++;
        }
    }
    lg_threadpool_free(pool);
    be->device_close(d);
    return refused;
}

static void run_all_tuned(lg_precision prec, bool tuned_only)
{
    run_table(cases, sizeof(cases) / sizeof(cases[0]), prec, tuned_only, true);
}

/* With LEGACYGPU_VK_MAX_BINDING_MB=1: the split paths. */
static void test_split_fp32(void **st)
{
    int refused = run_table(big_cases, sizeof(big_cases) / sizeof(big_cases[0]), LG_PRECISION_FP32, false, false);
    if (refused) skip(); /* reported above: the backend's own size check came first */
}
static void test_split_fp16(void **st)
{
    int refused = run_table(big_cases, sizeof(big_cases) / sizeof(big_cases[0]), LG_PRECISION_FP16, false, false);
    if (refused) skip();
}

static void test_kernels_fp32(void **st) { run_all_tuned(LG_PRECISION_FP32, false); }
static void test_kernels_fp16(void **st) { run_all_tuned(LG_PRECISION_FP16, false); }

/* The tile and workgroup sizes of the other architecture classes (LEGACYGPU_VK_TUNE),
 * on the kernels that use them: lavapipe runs any size a real GPU would get. */
static void test_kernels_other_tunings(void **st)
{
    /* nvidia_* and other repeat rows of these */
    static const char *const arches[] = { "amd_gcn", "amd_rdna", "intel" };
    for (size_t a = 0; a < sizeof(arches) / sizeof(arches[0]); a++) {
        setenv("LEGACYGPU_VK_TUNE", arches[a], 1);
        run_all_tuned(a % 2 ? LG_PRECISION_FP16 : LG_PRECISION_FP32, true);
    }
    unsetenv("LEGACYGPU_VK_TUNE");
}

int main(void)
{
    setenv("LEGACYGPU_VK_VALIDATE", "require", 0); /* a missing layer fails, never skips validation */
    const lg_backend_i *be = lg_backend_find("vulkan");
    if (!be || be->device_count() == 0) {
        printf("SKIP: no Vulkan device on this machine (install mesa-vulkan-drivers for lavapipe)\n");
        return 77;
    }
    if (!lg_vk_validation_enabled() && strcmp(getenv("LEGACYGPU_VK_VALIDATE"), "0") != 0) {
        printf("FAIL: the Khronos validation layer is not on (install vulkan-validationlayers)\n");
        return 1;
    }
    if (getenv("LG_TEST_FILTER")) cmocka_set_test_filter(getenv("LG_TEST_FILTER")); /* e.g. test_kernels_fp16 */
    if (getenv("LEGACYGPU_VK_MAX_BINDING_MB")) {
        const struct CMUnitTest split[] = {
            cmocka_unit_test(test_split_fp32),
            cmocka_unit_test(test_split_fp16),
        };
        return cmocka_run_group_tests(split, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels_fp32),
        cmocka_unit_test(test_kernels_fp16),
        cmocka_unit_test(test_kernels_other_tunings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

int main(void)
{
    printf("SKIP: this build has no Vulkan backend (LG_VULKAN=OFF)\n");
    return 77;
}

#endif
