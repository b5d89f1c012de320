/*
 * vk_kern.c: the kernels' shared host helpers (vk_kern.h): storage sizes, binding
 * limits, split dispatches, chunked bindings, broadcast strides, the fused epilogue.
 */
#include <assert.h>

#include "backends/vulkan/vk_kern.h"

#define LG_VKK_MAX_GROUPS 65535u /* maxComputeWorkGroupCount[0..1] every device has */

uint32_t lg_vkk_esize(lg_device *d, lg_dtype dt)
{
    if (dt == LG_FLOAT) return lg_vk_fp16_storage(d) ? 2 : 4;
    if (dt == LG_STRING || dt == LG_UNDEFINED) return 0;
    return (uint32_t)lg_dtype_size(dt);
}

bool lg_vkk_small(const lg_tensor *t)
{
    if (!t || t->ndim < 0) return false;
    int64_t n = lg_dims_numel_checked(t->ndim, t->dims);
    return n >= 0 && n < ((int64_t)1 << 31);
}

bool lg_vkk_fits(lg_device *d, const lg_tensor *t)
{
    if (!lg_vkk_small(t)) return false;
    uint64_t bytes = (uint64_t)lg_tensor_numel_(t) * lg_vkk_esize(d, t->dtype);
    /* empty tensors too: a binding needs a range of at least one byte (the CPU runs them) */
    return bytes > 0 && bytes <= lg_vk_device_caps(d)->max_storage_range;
}

bool lg_vkk_float_fits(lg_device *d, const lg_tensor *t)
{
    return t && t->dtype == LG_FLOAT && lg_vkk_fits(d, t);
}

static void split_groups(uint64_t groups, uint32_t *gx, uint32_t *gy)
{
    *gx = groups < LG_VKK_MAX_GROUPS ? (uint32_t)(groups ? groups : 1) : LG_VKK_MAX_GROUPS;
    *gy = lg_vk_groups(groups ? groups : 1, *gx);
}

int lg_vkk_dispatch_1d(lg_vk_rec *r, lg_vk_pipeline *p, int n_bind, const lg_vk_binding *b, const void *push,
                       uint32_t push_bytes, uint64_t n, uint32_t wg)
{
    uint32_t gx, gy;
    if (n == 0) return LG_OK;
    split_groups(lg_vk_groups(n, wg), &gx, &gy);
    return lg_vk_dispatch(r, p, n_bind, b, push, push_bytes, gx, gy, 1);
}

int lg_vkk_dispatch_rows(lg_vk_rec *r, lg_vk_pipeline *p, int n_bind, const lg_vk_binding *b, const void *push,
                         uint32_t push_bytes, uint64_t rows)
{
    uint32_t gx, gy;
    if (rows == 0) return LG_OK;
    split_groups(rows, &gx, &gy);
    return lg_vk_dispatch(r, p, n_bind, b, push, push_bytes, gx, gy, 1);
}

uint64_t lg_vkk_chunk_elems(lg_device *d, uint32_t esize)
{
    const lg_vk_caps *c = lg_vk_device_caps(d);
    uint64_t align = c->min_storage_align > esize ? c->min_storage_align : esize;
    uint64_t bytes = c->max_storage_range / align * align;
    /* Keep one chunk's invocations within what split_groups can address. */
    uint64_t max_elems = (uint64_t)LG_VKK_MAX_GROUPS * LG_VKK_MAX_GROUPS;
    uint64_t n = bytes / esize;
    assert(n > 0);
    return n < max_elems ? n : max_elems / (align / esize) * (align / esize);
}

lg_vk_binding lg_vkk_bind_range(lg_device *d, const lg_tensor *t, uint64_t first, uint64_t count)
{
    uint32_t es = lg_vkk_esize(d, t->dtype);
    lg_vk_binding b = lg_vk_bind_tensor(d, t);
    b.offset += first * es;
    b.range = count * es;
    return b;
}

void lg_vkk_bcast_strides(int n, const int64_t *dims, int nout, const int64_t *out_dims, uint32_t *strides)
{
    int64_t s = 1;
    for (int k = nout - 1; k >= 0; k--) {
        int j = k - (nout - n);
        if (j < 0 || dims[j] == 1) {
            strides[k] = 0;
        } else {
            assert(dims[j] == out_dims[k]);
            strides[k] = (uint32_t)s;
        }
        if (j >= 0) s *= dims[j];
    }
}

lg_vkk_epi lg_vkk_epilogue(const lg_dev_node *dn)
{
    lg_vkk_epi e = { (uint32_t)dn->act.kind, dn->act.alpha, dn->act.beta };
    return e;
}

bool lg_vkk_epilogue_ok(const lg_node *n, const lg_act *act, bool residual)
{
    return act->kind >= LG_ACT_NONE && act->kind <= LG_ACT_TANH;
}
