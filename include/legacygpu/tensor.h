/*
 * legacygpu/tensor.h: dense tensors, their element types, and reading/writing them as
 * ONNX TensorProto (.pb) and NumPy (.npy) files.
 *
 *   int64_t dims[2] = {2, 3};
 *   lg_tensor *t;
 *   if (lg_tensor_create(LG_FLOAT, 2, dims, &t) != LG_OK) ...;
 *   float *x = lg_tensor_data(t);
 *   for (int i = 0; i < 6; i++) x[i] = (float)i;
 *   lg_tensor_write_npy(t, "x.npy");
 *   lg_tensor_free(t);
 *
 *   lg_tensor *in; char *name;
 *   lg_tensor_read_file("input_0.pb", &in, &name);   // .pb or .npy, by content
 */
#ifndef LEGACYGPU_TENSOR_H
#define LEGACYGPU_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Element types; the values are ONNX's TensorProto.DataType numbers. */
typedef enum lg_dtype {
    LG_UNDEFINED = 0,
    LG_FLOAT = 1,
    LG_UINT8 = 2,
    LG_INT8 = 3,
    LG_UINT16 = 4,
    LG_INT16 = 5,
    LG_INT32 = 6,
    LG_INT64 = 7,
    LG_STRING = 8,
    LG_BOOL = 9,
    LG_FLOAT16 = 10,
    LG_DOUBLE = 11,
    LG_UINT32 = 12,
    LG_UINT64 = 13,
    LG_BFLOAT16 = 16,
    LG_FLOAT8E4M3FN = 17,   /* the float8 family: one byte per element */
    LG_FLOAT8E4M3FNUZ = 18,
    LG_FLOAT8E5M2 = 19,
    LG_FLOAT8E5M2FNUZ = 20,
    LG_UINT4 = 21,          /* 4- and 2-bit types: one byte per element in memory (the value,   */
    LG_INT4 = 22,           /* sign-extended for int4/int2, the 4-bit code for float4e2m1);     */
    LG_FLOAT4E2M1 = 23,     /* packed two (four) to a byte only in .pb files                   */
    LG_FLOAT8E8M0 = 24,
    LG_UINT2 = 25,
    LG_INT2 = 26,
    /* Not ONNX tensor types: values of ONNX's sequence and optional types, held as tensors
     * whose elements are tensors the container owns (data: lg_tensor *[numel]). */
    LG_SEQUENCE = 1001,     /* shape [n]: n tensors */
    LG_OPTIONAL = 1002,     /* shape [0] (no value) or [1] (one tensor or sequence) */
} lg_dtype;

#define LG_MAX_DIMS 16

typedef struct lg_tensor lg_tensor;

/* Size of one element in bytes (strings: sizeof(char *)); 0 for unknown types. */
size_t lg_dtype_size(lg_dtype dt);
/* "float32", "int64", ...; "undefined" for unknown values. */
const char *lg_dtype_name(lg_dtype dt);

/* New zero-filled tensor that owns its (64-byte aligned) data. ndim may be 0 (a scalar). */
int lg_tensor_create(lg_dtype dt, int ndim, const int64_t *dims, lg_tensor **out);
/* Tensor over caller memory that stays owned by the caller and must outlive the tensor. */
int lg_tensor_wrap(lg_dtype dt, int ndim, const int64_t *dims, void *data, lg_tensor **out);
void lg_tensor_free(lg_tensor *t);

lg_dtype lg_tensor_dtype(const lg_tensor *t);
int lg_tensor_ndim(const lg_tensor *t);
const int64_t *lg_tensor_dims(const lg_tensor *t);
int64_t lg_tensor_numel(const lg_tensor *t);
size_t lg_tensor_nbytes(const lg_tensor *t);
/* Element data; for LG_STRING an array of NUL-terminated char * owned by the tensor. */
void *lg_tensor_data(const lg_tensor *t);

/* Reads a .pb (ONNX TensorProto) or .npy file, chosen by content. *name (may be NULL)
 * receives the TensorProto name, or NULL; free it with free(). */
int lg_tensor_read_file(const char *path, lg_tensor **out, char **name);
int lg_tensor_read_pb(const void *buf, size_t len, lg_tensor **out, char **name);
int lg_tensor_read_npy(const void *buf, size_t len, lg_tensor **out);
/* Reads a .pb file holding a value of kind: LG_SEQUENCE (ONNX SequenceProto), LG_OPTIONAL
 * (OptionalProto), anything else a tensor (as lg_tensor_read_file). */
int lg_value_read_file(const char *path, lg_dtype kind, lg_tensor **out, char **name);
int lg_value_read_pb(const void *buf, size_t len, lg_dtype kind, lg_tensor **out, char **name);
int lg_tensor_write_pb(const lg_tensor *t, const char *name, const char *path);
int lg_tensor_write_npy(const lg_tensor *t, const char *path);

#ifdef __cplusplus
}
#endif
#endif
