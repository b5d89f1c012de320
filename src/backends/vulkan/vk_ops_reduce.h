/*
 * vk_ops_reduce.h: the row reduction of shaders/reduce.comp as a call, shared by the
 * Reduce ops (vk_ops_reduce.c) and the global pools (vk_ops_pool.c).
 */
#ifndef LG_VK_OPS_REDUCE_H
#define LG_VK_OPS_REDUCE_H

#include "backends/vulkan/vk_kern.h"

/* reduce.comp's op codes. */
enum {
    LG_VKR_SUM = 0, LG_VKR_MEAN, LG_VKR_MAX, LG_VKR_MIN, LG_VKR_PROD, LG_VKR_L2, LG_VKR_L1, LG_VKR_SUMSQ,
    LG_VKR_LOGSUM, LG_VKR_LOGSUMEXP,
};

/* y[o][i] = reduce over r of x[o][r][i]; x viewed as [outer][R][inner]. */
int lg_vk_reduce_record(lg_vk_rec *r, const lg_tensor *x, const lg_tensor *y, uint64_t outer, uint64_t R,
                        uint64_t inner, uint32_t op);

#endif
