/*
 * tensor_copy.h: dtype-generic element copies shared by the data-movement operators
 * (tensor_shape.c, indexing.c): contiguous and strided n-d copies that treat every
 * non-string type as raw bytes of its element size and duplicate strings, plus reading
 * small integer lists (shapes, axes, pads) from input tensors.
 *
 *   // out = transpose of a [R, C] float matrix x
 *   int64_t dims[2] = {C, R}, dst_st[2] = {R, 1}, src_st[2] = {1, C};
 *   LG_CHECK(lg_copy_nd(c->pool, LG_FLOAT, 2, dims, out->data, dst_st, x->data, src_st));
 */
#ifndef LG_TENSOR_COPY_H
#define LG_TENSOR_COPY_H

#include "runtime/kernel.h"

/* Most dimensions lg_copy_nd takes (Tile views a rank-r tensor as 2r dimensions). */
#define LG_COPY_MAX_DIMS (2 * LG_MAX_DIMS)

/* Copies n contiguous elements; strings are duplicated (the old dst strings are freed). */
int lg_copy_elems(lg_dtype dt, void *dst, const void *src, int64_t n);
/* Sets n contiguous elements to *value (one element of type dt). */
int lg_fill_elems(lg_dtype dt, void *dst, const void *value, int64_t n);
/* Copies the whole of src into dst (same numel, e.g. a reshape). */
int lg_copy_tensor(lg_tensor *dst, const lg_tensor *src);

/* dst[i . dst_strides] = src[i . src_strides] for every index i < dims (strides in
 * elements, any sign; src strides may be 0 to broadcast). dst and src point at element 0.
 * Parallel on pool for big copies; cache-blocked when the innermost dims are transposed. */
int lg_copy_nd(lg_threadpool *pool, lg_dtype dt, int nd, const int64_t *dims, void *dst,
               const int64_t *dst_strides, const void *src, const int64_t *src_strides);

/* Copies n_rows rows of row_len elements: dst row r (contiguous) from src + src_rows[r]
 * (element offsets). */
int lg_copy_rows(lg_threadpool *pool, lg_dtype dt, void *dst, const void *src, const int64_t *src_rows,
                 int64_t n_rows, int64_t row_len);

/* Reads an integer tensor of rank <= 1 with at most max elements into buf. Returns
 * LG_E_DYNAMIC when the values are not known yet (static inference). */
int lg_read_ints(const lg_tensor *t, const char *what, int64_t *buf, int max, int *n);
/* Reads a one-element integer tensor (scalar or [1]). */
int lg_read_int(const lg_tensor *t, const char *what, int64_t *v);

#endif
