/*
 * tensor_impl.h: the layout of lg_tensor inside the library, and helpers kernels use
 * (element counts, strides, float16/bfloat16 conversion).
 *
 * A tensor is dense and row-major (C order): element (i0, .., in-1) sits at
 * sum(ik * stride_k) with stride_{n-1} = 1 and stride_k = stride_{k+1} * dims[k+1].
 * data is 64-byte aligned when the tensor owns it. A tensor with a zero dimension has
 * numel 0 and may have data == NULL. Strings: data is an array of numel char *, each
 * NUL-terminated and owned by the tensor (owns == 1) or by whoever made it. Sequences and
 * optionals (LG_SEQUENCE, LG_OPTIONAL) are tensors of shape [n] whose data is n lg_tensor *
 * they own the same way (a deep copy with lg_tensor_clone, freed with the container).
 */
#ifndef LG_TENSOR_IMPL_H
#define LG_TENSOR_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "legacygpu/status.h"
#include "legacygpu/tensor.h"

struct lg_tensor {
    lg_dtype dtype;
    int ndim;
    int64_t dims[LG_MAX_DIMS];
    void *data;
    size_t nbytes;     /* numel * element size */
    bool owns;         /* data (and strings) freed with the tensor */
    void *release_ctx; /* when not owned: optional release callback for mapped data */
    void (*release)(void *release_ctx);
    struct lg_buffer *buf; /* device tensor (runtime/backend.h): data == NULL, its bytes */
    uint64_t offset;       /* at offset in a device backend's buffer */
};

/* Most elements a sequence (or optional) may hold; guards against hostile counts. */
#define LG_SEQUENCE_MAX (1 << 20)
/* LG_SEQUENCE and LG_OPTIONAL: tensors of owned tensors (data: lg_tensor *[numel]). */
bool lg_dtype_is_container(lg_dtype dt);

/* Largest tensor the library will allocate (bytes); guards against hostile shapes. */
#define LG_TENSOR_MAX_BYTES ((size_t)1 << 36)

int64_t lg_dims_numel(int ndim, const int64_t *dims);
/* Checks dims (all >= 0, product fits) and returns numel, or -1 on overflow/negative. */
int64_t lg_dims_numel_checked(int ndim, const int64_t *dims);
bool lg_dims_equal(int na, const int64_t *a, int nb, const int64_t *b);
/* "[1,3,224,224]" into buf. */
const char *lg_dims_str(int ndim, const int64_t *dims, char *buf, size_t len);

/* Allocates (64-byte aligned) / frees raw buffers; lg_alloc returns NULL on failure. */
void *lg_alloc(size_t bytes);
void *lg_calloc(size_t bytes);
void lg_free(void *p);

/* Internal constructors: tensor struct with no data yet / reusing a caller struct. */
lg_tensor *lg_tensor_new_empty(void);
/* Sets dtype/shape and allocates data without zeroing it, for kernels that write every
 * element (strings and containers are still zeroed). */
int lg_tensor_reset_uninit(lg_tensor *t, lg_dtype dt, int ndim, const int64_t *dims);
/* Sets dtype/shape and allocates zeroed data (freeing old owned data). */
int lg_tensor_reset(lg_tensor *t, lg_dtype dt, int ndim, const int64_t *dims);
/* Releases data, leaves an empty (undefined) tensor. */
void lg_tensor_clear(lg_tensor *t);
/* Deep copy. */
int lg_tensor_clone(const lg_tensor *src, lg_tensor **out);
/* Shallow view: shares data (not owned) of src. Caller ensures src outlives it. */
lg_tensor *lg_tensor_view(const lg_tensor *src);
/* Reads element i as double / int64 whatever the dtype (numeric, bool). */
double lg_tensor_get_f64(const lg_tensor *t, int64_t i);
int64_t lg_tensor_get_i64(const lg_tensor *t, int64_t i);
void lg_tensor_set_f64(lg_tensor *t, int64_t i, double v);
bool lg_dtype_is_float(lg_dtype dt);   /* float16, bfloat16, float, double */
bool lg_dtype_is_int(lg_dtype dt);     /* signed and unsigned integers */
bool lg_dtype_is_signed(lg_dtype dt);

/* Row-major strides in elements. */
static inline void lg_strides(int ndim, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

static inline int64_t lg_tensor_numel_(const lg_tensor *t) { return lg_dims_numel(t->ndim, t->dims); }

/* IEEE half and bfloat16 <-> float. */
float lg_half_to_float(uint16_t h);
uint16_t lg_float_to_half(float f);
static inline float lg_bf16_to_float(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
uint16_t lg_float_to_bf16(float f);

/* The float8 family and float4e2m1 (tensor_minifloat.c). lg_float_to_minifloat rounds to
 * nearest even; out of range gives the largest value when saturate, else NaN (e5m2: inf). */
typedef enum lg_round_mode { LG_ROUND_UP, LG_ROUND_DOWN, LG_ROUND_NEAREST } lg_round_mode;
bool lg_dtype_is_minifloat(lg_dtype dt); /* float8 types and float4e2m1 */
float lg_minifloat_to_float(lg_dtype dt, uint8_t code);
uint8_t lg_float_to_minifloat(lg_dtype dt, float x, bool saturate);
/* float8e8m0 (a power of two, 0xff NaN) with Cast-24's round_mode. */
uint8_t lg_float_to_e8m0(float x, bool saturate, lg_round_mode mode);
/* v wrapped into int4/uint4/int2/uint2 (two's complement); other dtypes: v. */
int64_t lg_wrap_subbyte(lg_dtype dt, int64_t v);
/* Bits per element in files: 4 for int4/uint4/float4e2m1, 2 for int2/uint2, else 8 x size. */
int lg_dtype_bits(lg_dtype dt);

#endif
