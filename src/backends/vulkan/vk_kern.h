/*
 * vk_kern.h: what the Vulkan kernels (vk_ops_*.c) share on the host side: per-arch tile
 * and workgroup sizes (vk_tune.c), storage sizes, fits-in-one-binding checks, 1-D
 * dispatches split into x * y groups (kernel.glsl's lg_flat_index), chunked bindings
 * for tensors larger than one binding, broadcast strides and the fused epilogue.
 *
 *   const lg_vk_tune *t = lg_vk_tune_get(d);
 *   uint32_t spec[1] = { t->wg_elem };
 *   LG_CHECK(lg_vk_pipeline_get(d, "unary", 2, sizeof(push), 1, spec, &p));
 *   LG_CHECK(lg_vkk_dispatch_1d(r, p, 2, b, &push, sizeof(push), n, t->wg_elem));
 */
#ifndef LG_VK_KERN_H
#define LG_VK_KERN_H

#include "backends/vulkan/vk.h"

/* The newest opset the kernels implement (ONNX 1.22's): output shapes come from the CPU
 * backend's infer, so a node the GPU takes always has a CPU twin. Versions after 17 of
 * the ops here changed only their types (bfloat16, float8, int4: supports() takes float
 * and the integer types it knows) or moved attributes to inputs the CPU's infer reads,
 * except Split 18 (num_outputs), AveragePool 19 (dilations) and Resize 18/19 (antialias,
 * axes, keep_aspect_ratio_policy), whose entries stop at LG_VK_OPSET_CHECKED. */
#define LG_VK_OPSET_MAX 27
#define LG_VK_OPSET_CHECKED 17

/* A GEMM tile (gemm.comp, conv.comp): BM x BN outputs per workgroup, K in steps of BK,
 * TM x TN outputs per invocation; the workgroup has (BM / TM) * (BN / TN) invocations. */
typedef struct lg_vk_tile {
    uint32_t bm, bn, bk, tm, tn;
} lg_vk_tile;

/* Tunings of one architecture class (vk_tune.c holds the table and its reasons). */
typedef struct lg_vk_tune {
    lg_vk_arch arch;
    uint32_t wg_elem;      /* invocations per group of the elementwise / copy kernels */
    uint32_t wg_row;       /* per group of the row kernels (reduce, softmax, layernorm): a power of 2 */
    lg_vk_tile gemm;       /* M of at least 16 */
    lg_vk_tile skinny;     /* M below 16 (a batch-1 fully connected layer) */
} lg_vk_tune;

const lg_vk_tune *lg_vk_tune_get(lg_device *d);
/* spec[0..5] for gemm.comp / conv.comp from a tile: workgroup size then the tile. */
void lg_vk_tile_spec(const lg_vk_tile *t, uint32_t spec[6]);

/* Bytes per element of dtype dt on d (float: 2 when fp16 storage); 0 for dtypes the
 * kernels never bind (strings). */
uint32_t lg_vkk_esize(lg_device *d, lg_dtype dt);
/* Whether a tensor's storage fits one binding (caps.max_storage_range) and is not empty. */
bool lg_vkk_fits(lg_device *d, const lg_tensor *t);
/* Whether the tensor is float32 (the dtype float kernels take) and fits one binding. */
bool lg_vkk_float_fits(lg_device *d, const lg_tensor *t);
/* Whether every shape is known and fits 32-bit indices in the shaders. */
bool lg_vkk_small(const lg_tensor *t);

/* A 1-D dispatch of n invocations in groups of wg (split into x * y groups). */
int lg_vkk_dispatch_1d(lg_vk_rec *r, lg_vk_pipeline *p, int n_bind, const lg_vk_binding *b, const void *push,
                       uint32_t push_bytes, uint64_t n, uint32_t wg);
/* A dispatch of n workgroups (one per row), split into x * y groups. */
int lg_vkk_dispatch_rows(lg_vk_rec *r, lg_vk_pipeline *p, int n_bind, const lg_vk_binding *b, const void *push,
                         uint32_t push_bytes, uint64_t rows);

/* Elements per chunk when a tensor of elements of esize bytes is bound in pieces:
 * the largest multiple of the offset alignment within one binding. */
uint64_t lg_vkk_chunk_elems(lg_device *d, uint32_t esize);
/* The binding of elements [first, first + count) of device tensor t. */
lg_vk_binding lg_vkk_bind_range(lg_device *d, const lg_tensor *t, uint64_t first, uint64_t count);

/* Strides (elements) of a tensor of shape (n, dims) broadcast to rank nout (0 on
 * broadcast dims). */
void lg_vkk_bcast_strides(int n, const int64_t *dims, int nout, const int64_t *out_dims, uint32_t *strides);

/* Fused epilogue fields shared by conv/gemm/batchnorm push constants. */
typedef struct lg_vkk_epi {
    uint32_t act;
    float alpha, beta;
} lg_vkk_epi;
lg_vkk_epi lg_vkk_epilogue(const lg_dev_node *dn);
/* The activations every epilogue-capable kernel applies (kernel.glsl's lg_act). */
bool lg_vkk_epilogue_ok(const lg_node *n, const lg_act *act, bool residual);

/* Input i of a device node, or NULL when omitted. */
static inline const lg_tensor *lg_vkk_in(const lg_dev_node *dn, int i)
{
    return i < dn->n_inputs ? dn->inputs[i] : NULL;
}
/* Same, for supports(): (n_in, in). */
static inline const lg_tensor *lg_vkk_arg(int n_in, const lg_tensor *const *in, int i)
{
    return i < n_in ? in[i] : NULL;
}

#endif
