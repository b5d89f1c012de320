/*
 * vk_ops.c: the Vulkan kernels' tables. Each vk_ops_<family>.c defines one
 * NULL-terminated `const lg_vk_op lg_vk_ops_<family>[]`; a new family adds one extern
 * and one line in `tables` below. lg_vk_op_find looks an op up by domain, name, opset.
 */
#include <string.h>

#include "backends/vulkan/vk.h"

extern const lg_vk_op lg_vk_ops_test[];
extern const lg_vk_op lg_vk_ops_unary[];
extern const lg_vk_op lg_vk_ops_binary[];
extern const lg_vk_op lg_vk_ops_gemm[];
extern const lg_vk_op lg_vk_ops_conv[];
extern const lg_vk_op lg_vk_ops_norm[];
extern const lg_vk_op lg_vk_ops_pool[];
extern const lg_vk_op lg_vk_ops_reduce[];
extern const lg_vk_op lg_vk_ops_copy[];
extern const lg_vk_op lg_vk_ops_resize[];

static const lg_vk_op *const tables[] = {
    lg_vk_ops_test,
    lg_vk_ops_unary,
    lg_vk_ops_binary,
    lg_vk_ops_gemm,
    lg_vk_ops_conv,
    lg_vk_ops_norm,
    lg_vk_ops_pool,
    lg_vk_ops_reduce,
    lg_vk_ops_copy,
    lg_vk_ops_resize,
};

const lg_vk_op *lg_vk_op_find(const char *domain, const char *op_type, int opset)
{
    if (!op_type) return NULL;
    if (!domain || !strcmp(domain, "ai.onnx")) domain = "";
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (const lg_vk_op *op = tables[t]; op->name; op++)
            if (!strcmp(op->name, op_type) && !strcmp(op->domain, domain) && opset >= op->since && opset <= op->until)
                return op;
    return NULL;
}
