/*
 * elementwise_kernels.h: what elementwise.c, activation.c and elementwise_avx2.c share:
 * the broadcast walker, dtype conversion, per-dtype kernel tables and the macros that
 * generate their kernels, and the AVX2 entry points. Not for other operator files.
 */
#ifndef LG_OPS_ELEMENTWISE_KERNELS_H
#define LG_OPS_ELEMENTWISE_KERNELS_H

#include <stdint.h>

#include "backends/cpu/ops/elementwise.h"
#include "base/cpu.h"
#include "runtime/kernel.h"

#define CHUNK_CHEAP 32768 /* elements per parallel task: add, compare, copy */
#define CHUNK_COSTLY 4096 /* exp, sin, pow, ... */

/* A kernel over one run of n output elements: input k starts at x[k] and advances by
 * s[k] elements (0 or 1) per output element; prm is the operator's parameter block. */
typedef void (*lg_ew_kernel)(const void *prm, int64_t n, void *y, const void *const *x, const int64_t *s);

/* Kernels indexed by dtype; NULL where a dtype is not supported. */
typedef lg_ew_kernel lg_ew_table[LG_BFLOAT16 + 1];

static inline lg_ew_kernel lg_ew_kernel_for(const lg_ew_kernel *k, lg_dtype dt)
{
    return ((int)dt >= 0 && (int)dt <= LG_BFLOAT16) ? k[dt] : NULL;
}

static inline bool lg_ew_is_half(lg_dtype dt) { return dt == LG_FLOAT16 || dt == LG_BFLOAT16; }

/* float16 and bfloat16 are computed in float32. */
static inline lg_dtype lg_ew_compute_dtype(lg_dtype dt) { return lg_ew_is_half(dt) ? LG_FLOAT : dt; }

static inline bool lg_ew_use_avx2(void) { return lg_cpu()->avx2 && lg_cpu()->fma && lg_cpu()->f16c; }

/* In infer: inputs 0..n-1 must be present. */
static inline int lg_ew_need_inputs(const lg_kctx *c, int n)
{
    for (int i = 0; i < n; i++)
        if (!lg_kin(c, i))
            return lg_error(LG_E_INVALID_MODEL, "%s needs %d inputs, input %d is missing", c->node->op_type, n, i);
    return LG_OK;
}

/* y = fn(x[0], .., x[nin-1]) with numpy broadcasting of every x to y's shape (already
 * set); nin <= 3. Runs in parallel on c->pool in chunks of at least min_chunk. */
void lg_ew_broadcast(lg_kctx *c, lg_ew_kernel fn, const void *prm, int nin, const lg_tensor *const *x,
                     lg_tensor *y, int64_t min_chunk);
/* Converts src into dst (same numel, dst's dtype and data set) like Cast (saturating
 * into float8, rounding up into float8e8m0). */
int lg_ew_convert(lg_kctx *c, const lg_tensor *src, lg_tensor *dst);
/* The same with Cast-25's saturate and round_mode. */
typedef struct lg_cast_opts {
    bool saturate;
    lg_round_mode round;
} lg_cast_opts;
int lg_ew_cast(lg_kctx *c, const lg_tensor *src, lg_tensor *dst, const lg_cast_opts *opts);
/* lg_ew_broadcast with the inputs converted to in_dt and the result computed as out_dt,
 * then converted to y's dtype. */
int lg_ew_run(lg_kctx *c, lg_ew_kernel fn, const void *prm, lg_dtype in_dt, lg_dtype out_dt, int nin,
              const lg_tensor *const *x, lg_tensor *y, int64_t chunk);

/* AVX2+FMA+F16C kernels (elementwise_avx2.c); call only when lg_ew_use_avx2(). */
void lg_act_avx2(const lg_act *act, float *y, const float *x, int64_t n);
typedef enum lg_ew_arith {
    LG_EW_ADD, LG_EW_SUB, LG_EW_MUL, LG_EW_DIV, LG_EW_MAX, LG_EW_MIN,
    LG_EW_PRELU, /* a < 0 ? a * b : a */
} lg_ew_arith;
/* y[i] = a[i*sa] op b[i*sb] with sa, sb in {0, 1}. */
void lg_ew_arith_avx2(lg_ew_arith op, int64_t n, float *y, const float *a, int64_t sa, const float *b, int64_t sb);
void lg_ew_f32_to_f16_avx2(uint16_t *y, const float *x, int64_t n);
/* The same activation and arithmetic kernels for AVX without FMA and for SSE4.1
 * (elementwise_avx.c, elementwise_sse41.c, both from elementwise_simd.h). */
void lg_act_avx(const lg_act *act, float *y, const float *x, int64_t n);
void lg_ew_arith_avx(lg_ew_arith op, int64_t n, float *y, const float *a, int64_t sa, const float *b, int64_t sb);
void lg_act_sse41(const lg_act *act, float *y, const float *x, int64_t n);
void lg_ew_arith_sse41(lg_ew_arith op, int64_t n, float *y, const float *a, int64_t sa, const float *b, int64_t sb);

/* The float32 hot-path kernels of one SIMD path (elementwise_dispatch.c); NULL members:
 * the plain C loops. lg_ew_simd() is the path in use (base/cpu.h). */
typedef struct lg_ew_simd_kernels {
    void (*act)(const lg_act *act, float *y, const float *x, int64_t n);
    void (*arith)(lg_ew_arith op, int64_t n, float *y, const float *a, int64_t sa, const float *b, int64_t sb);
} lg_ew_simd_kernels;
const lg_ew_simd_kernels *lg_ew_simd_for(lg_simd_level level);
static inline const lg_ew_simd_kernels *lg_ew_simd(void) { return lg_ew_simd_for(lg_simd()); }
void lg_ew_f16_to_f32_avx2(float *y, const uint16_t *x, int64_t n);

/* ---- Kernel generators ---- */

/* One type: fname(T inputs) -> R. EXPR reads the inputs a (and b) and may name the
 * types t (T) and ut (U: T's unsigned counterpart, for wrapping integer math). */
#define UNARY_KERNEL(fname, T, U, R, EXPR) \
    static void fname(const void *prm, int64_t n, void *yv, const void *const *x, const int64_t *s) \
    { \
        typedef T t; \
        typedef U ut; \
        (void)(t)0; \
        (void)(ut)0; \
        (void)s; \
        const T *px = x[0]; \
        R *y = yv; \
        for (int64_t i = 0; i < n; i++) { \
            T a = px[i]; \
            y[i] = (R)(EXPR); \
        } \
    }

#define BINARY_KERNEL(fname, T, U, R, EXPR) \
    static void fname(const void *prm, int64_t n, void *yv, const void *const *x, const int64_t *s) \
    { \
        typedef T t; \
        typedef U ut; \
        (void)(t)0; \
        (void)(ut)0; \
        (void)prm; \
        const T *pa = x[0], *pb = x[1]; \
        R *y = yv; \
        if (s[0] && s[1]) { \
            for (int64_t i = 0; i < n; i++) { \
                T a = pa[i], b = pb[i]; \
                y[i] = (R)(EXPR); \
            } \
        } else if (s[0]) { \
            T b = pb[0]; \
            for (int64_t i = 0; i < n; i++) { \
                T a = pa[i]; \
                y[i] = (R)(EXPR); \
            } \
        } else if (s[1]) { \
            T a = pa[0]; \
            for (int64_t i = 0; i < n; i++) { \
                T b = pb[i]; \
                y[i] = (R)(EXPR); \
            } \
        } else { \
            T a = pa[0], b = pb[0]; \
            R r = (R)(EXPR); \
            for (int64_t i = 0; i < n; i++) y[i] = r; \
        } \
    }

/* Same-type result (SAME) or bool result (BOOL) for each type group. */
#define UNARY_SAME(fname, T, U, EXPR) UNARY_KERNEL(fname, T, U, T, EXPR)
#define UNARY_BOOL(fname, T, U, EXPR) UNARY_KERNEL(fname, T, U, uint8_t, EXPR)
#define BINARY_SAME(fname, T, U, EXPR) BINARY_KERNEL(fname, T, U, T, EXPR)
#define BINARY_BOOL(fname, T, U, EXPR) BINARY_KERNEL(fname, T, U, uint8_t, EXPR)

#define FOR_SINTS(M, name, EXPR) \
    M(name##_i8, int8_t, uint32_t, EXPR) \
    M(name##_i16, int16_t, uint32_t, EXPR) \
    M(name##_i32, int32_t, uint32_t, EXPR) \
    M(name##_i64, int64_t, uint64_t, EXPR)
#define FOR_UINTS(M, name, EXPR) \
    M(name##_u8, uint8_t, uint32_t, EXPR) \
    M(name##_u16, uint16_t, uint32_t, EXPR) \
    M(name##_u32, uint32_t, uint32_t, EXPR) \
    M(name##_u64, uint64_t, uint64_t, EXPR)
#define FOR_FLOATS(M, name, EXPR) \
    M(name##_f32, float, float, EXPR) \
    M(name##_f64, double, double, EXPR)
#define FOR_INTS(M, name, EXPR) FOR_SINTS(M, name, EXPR) FOR_UINTS(M, name, EXPR)

/* Table entries; float16/bfloat16 use the float32 kernel on converted data. */
#define SINT_KERNELS(name) \
    [LG_INT8] = name##_i8, [LG_INT16] = name##_i16, [LG_INT32] = name##_i32, [LG_INT64] = name##_i64
#define UINT_KERNELS(name) \
    [LG_UINT8] = name##_u8, [LG_UINT16] = name##_u16, [LG_UINT32] = name##_u32, [LG_UINT64] = name##_u64
#define FLOAT_KERNELS(name) \
    [LG_FLOAT] = name##_f32, [LG_DOUBLE] = name##_f64, [LG_FLOAT16] = name##_f32, [LG_BFLOAT16] = name##_f32
#define INT_KERNELS(name) SINT_KERNELS(name), UINT_KERNELS(name)
#define NUM_KERNELS(name) FLOAT_KERNELS(name), INT_KERNELS(name)

#endif
