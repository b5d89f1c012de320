/*
 * common.glsl: what every compute shader of the Vulkan backend includes, right after
 * its #version line:
 *
 *     #version 450
 *     #include "common.glsl"
 *
 * glslc compiles every shaders/NAME.comp three times (CMakeLists.txt, --target-env=vulkan1.1 -O):
 *   variant 0  "NAME"                           fp32 storage, fp32 arithmetic
 *   variant 1  -DLG_FP16=1                      fp16 storage of float tensors, fp32 arithmetic
 *                                               (needs only storageBuffer16BitAccess)
 *   variant 2  -DLG_FP16=1 -DLG_FP16_MATH=1     fp16 storage and fp16 arithmetic (shaderFloat16)
 * lg_vk_pipeline_get picks the variant the session needs (vk.h, lg_vk_variant).
 *
 * Conventions between a shader and its record() in vk_ops_*.c:
 *   - binding i of set 0 is the i-th lg_vk_binding passed to lg_vk_dispatch, always a
 *     storage buffer (`layout(binding = i) buffer ... { STORE_T x[]; }`); nothing else
 *     is bound (no uniform buffers, no images).
 *   - one push-constant block, `layout(push_constant) uniform Push { ... } pc;`, the
 *     same layout as the C struct passed to lg_vk_dispatch (uint/int/float members only,
 *     std430 rules: keep members 4 bytes and in the same order; at most 128 bytes).
 *   - specialisation constants use constant_id 0, 1, 2, ... in the order of the spec[]
 *     array given to lg_vk_pipeline_get; ids not given keep the shader's default.
 *   - a shader whose workgroup size is tunable declares
 *         layout(local_size_x = 64) in;            (the default)
 *         layout(local_size_x_id = 0) in;          (spec[0] sets it)
 *         layout(constant_id = 0) const uint WG = 64;
 *     and uses WG (never gl_WorkGroupSize.x, which glslang folds to the default) or
 *     gl_GlobalInvocationID; record() computes its group counts with the same value.
 *     Fixed sizes are fine too.
 *   - float tensors are declared with STORE_T (float or float16_t) and read through
 *     LOADF (to fp32) or LOADA (to the arithmetic type ACC_T); results are written with
 *     STOREF / STOREA. Non-float tensors (int32, int64 indices) keep their own types.
 *   - the variant 1 must not do arithmetic on float16_t: only conversions are legal
 *     with 16-bit storage alone (no Float16 capability in its SPIR-V).
 *   - what the variant 2 computes in fp16 (docs/gpu.md, "Precision"): elementwise
 *     unary ops and activations (not Erf, Gelu, Sin, Cos: fp32), binary ops (not Pow),
 *     BatchNormalization, MaxPool, Resize's interpolation, the products of the GEMM and
 *     convolution inner loops (summed in fp32) and their fused epilogue (bias, residual,
 *     activation). Sums stay fp32: reductions, Softmax, LayerNormalization, AveragePool.
 *     Code written with ACC_T, LOADA / STOREA, ACC() and LG_PROD() is the same fp32
 *     code in variants 0 and 1; code that differs is under #ifdef LG_FP16_MATH.
 */
#ifndef LG_COMMON_GLSL
#define LG_COMMON_GLSL

#if defined(LG_FP16_MATH) && !defined(LG_FP16)
#error "LG_FP16_MATH needs LG_FP16"
#endif

#ifdef LG_FP16
#extension GL_EXT_shader_16bit_storage : require
#endif
#ifdef LG_FP16_MATH
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif

#ifdef LG_FP16
#define STORE_T float16_t
#define STORE4_T f16vec4
#else
#define STORE_T float
#define STORE4_T vec4
#endif

#ifdef LG_FP16_MATH
#define ACC_T float16_t
#define ACC4_T f16vec4
#else
#define ACC_T float
#define ACC4_T vec4
#endif

/* Stored value -> fp32 / fp32 -> stored value. */
#define LOADF(x) float(x)
#define LOADF4(x) vec4(x)
#define STOREF(x) STORE_T(x)
#define STOREF4(x) STORE4_T(x)
/* Stored value -> arithmetic type / arithmetic type -> stored value. */
#define LOADA(x) ACC_T(x)
#define LOADA4(x) ACC4_T(x)
#define STOREA(x) STORE_T(x)
#define STOREA4(x) STORE4_T(x)
/* A literal, push constant or fp32 value in the arithmetic type: float16_t(x) in the
 * fp16-arithmetic variant, x untouched in the others (their SPIR-V stays as it was). */
#ifdef LG_FP16_MATH
#define ACC(x) float16_t(x)
#else
#define ACC(x) (x)
#endif
/* One product of a GEMM / convolution inner loop, added to an fp32 running sum:
 * acc += LG_PROD(a, b) with a, b of ACC_T. The fp16-arithmetic variant multiplies in
 * fp16 and adds in fp32, so the error of a long K does not grow with K. */
#ifdef LG_FP16_MATH
#define LG_PROD(a, b) float((a) * (b))
#else
#define LG_PROD(a, b) ((a) * (b))
#endif

#endif
