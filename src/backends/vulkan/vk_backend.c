/*
 * vk_backend.c: the Vulkan backend's entry in the backend table (lg_backend_vulkan, see
 * runtime/backend.h): devices and their description, which nodes it runs (a kernel in
 * vk_ops.c that says yes, every tensor within one buffer), per-node preparation,
 * activation buffers, storage sizes and graph_compute (vk_cmd.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/vk_internal.h"
#include "base/error.h"
#include "base/tensor_impl.h"
#include "model/graph.h"

/* What node_prepare keeps: the kernel and its own state. */
typedef struct node_state {
    const lg_vk_op *op;
    void *state;
} node_state;

static int vk_device_name(int dev, char *buf, int len)
{
    const lg_vk_caps *c = lg_vk_caps_of(dev);
    if (!c) return lg_error(LG_E_NOT_FOUND, "vulkan: no device %d", dev);
    snprintf(buf, (size_t)len, "%s", c->name);
    return LG_OK;
}

static json_t *vk_device_describe(int dev)
{
    const lg_vk_caps *c = lg_vk_caps_of(dev);
    if (!c) return NULL;
    json_t *heaps = json_array(), *quirks = json_array();
    for (int h = 0; h < c->n_heaps; h++)
        json_array_append_new(heaps, json_pack("{s:I, s:b}", "bytes", (json_int_t)c->heap_bytes[h], "device_local",
                                               c->heap_device_local[h]));
    for (uint32_t bit = 1; bit; bit <<= 1)
        if ((c->quirks & bit) && lg_vk_quirk_name(bit)) json_array_append_new(quirks, json_string(lg_vk_quirk_name(bit)));
    char drv[32], api[32];
    /* NVIDIA packs its version 10.8.8.6 bits; everyone else uses Vulkan's packing. */
    if (c->vendor_id == 0x10de)
        snprintf(drv, sizeof(drv), "%u.%u.%u", c->driver_version >> 22, (c->driver_version >> 14) & 0xff,
                 (c->driver_version >> 6) & 0xff);
    else
        snprintf(drv, sizeof(drv), "%u.%u.%u", VK_API_VERSION_MAJOR(c->driver_version),
                 VK_API_VERSION_MINOR(c->driver_version), VK_API_VERSION_PATCH(c->driver_version));
    snprintf(api, sizeof(api), "%u.%u.%u", VK_API_VERSION_MAJOR(c->api_version), VK_API_VERSION_MINOR(c->api_version),
             VK_API_VERSION_PATCH(c->api_version));
    json_t *j = json_pack("{s:i, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:o}", "index", dev, "name", c->name, "vendor",
                          c->vendor, "vendor_id", (json_int_t)c->vendor_id, "device_id", (json_int_t)c->device_id,
                          "driver_name", c->driver_name, "driver_info", c->driver_info, "driver_version", drv, "type",
                          c->type, "api_version", api, "heaps", heaps);
    json_object_set_new(j, "max_allocation_bytes", json_integer((json_int_t)c->max_alloc_bytes));
    json_object_set_new(j, "max_storage_buffer_range", json_integer((json_int_t)c->max_storage_range));
    json_object_set_new(j, "subgroup_size", json_pack("{s:i, s:i}", "min", (int)c->subgroup_min, "max", (int)c->subgroup_max));
    json_object_set_new(j, "storage16", json_boolean(c->storage16));
    json_object_set_new(j, "fp16", json_boolean(c->fp16_math));
    json_object_set_new(j, "int8", json_boolean(c->int8_math));
    json_object_set_new(j, "arch", json_string(lg_vk_arch_name(c->arch)));
    json_object_set_new(j, "quirks", quirks);
    if (c->compute_units) json_object_set_new(j, "compute_units", json_integer(c->compute_units));
    if (c->mem_limit_bytes < c->device_local_bytes)
        json_object_set_new(j, "memory_limit_bytes", json_integer((json_int_t)c->mem_limit_bytes));
    return j;
}

static bool vk_device_auto(int dev)
{
    const lg_vk_caps *c = lg_vk_caps_of(dev);
    /* LEGACYGPU_VK_AUTO_SOFTWARE=1 lets auto take a software device (tests of auto on lavapipe). */
    const char *sw = getenv("LEGACYGPU_VK_AUTO_SOFTWARE");
    if (c && sw && !strcmp(sw, "1")) return true;
    return c && c->arch != LG_VK_ARCH_LLVMPIPE && strcmp(c->type, "cpu") != 0;
}

/* Shared constants: the weights cache under the variant LG_VK_CONST_VARIANT, keyed by the
 * model's host tensor; the device tensor remembers its weight in release_ctx. */
#define LG_VK_CONST_VARIANT 0x636f6e73u /* "cons" */

static int vk_weights_get(lg_device *d, const lg_tensor *host, lg_tensor **out)
{
    int64_t n = lg_tensor_numel_(host);
    lg_vk_weight *w;
    if (host->dtype == LG_STRING || !host->data) return lg_error(LG_E_UNSUPPORTED, "vulkan: constant has no bytes");
    if (host->dtype == LG_FLOAT)
        LG_CHECK(lg_vk_weights_upload_f32(d, host, LG_VK_CONST_VARIANT, host->data, n, &w));
    else
        LG_CHECK(lg_vk_weights_upload(d, host, LG_VK_CONST_VARIANT, host->data, host->nbytes ? host->nbytes : 1, &w));
    lg_tensor *t = lg_tensor_new_empty();
    if (!t) {
        lg_vk_weights_release(d, w);
        return lg_error(LG_E_NOMEM, "out of memory");
    }
    lg_vk_binding b = lg_vk_weight_binding(w);
    t->dtype = host->dtype;
    t->ndim = host->ndim;
    memcpy(t->dims, host->dims, sizeof(t->dims));
    t->nbytes = host->nbytes;
    t->buf = (lg_buffer *)b.buf;
    t->offset = b.offset;
    t->release_ctx = w; /* no release callback: weights_put releases it */
    *out = t;
    return LG_OK;
}

static void vk_weights_put(lg_device *d, lg_tensor *t)
{
    if (!t) return;
    if (t->release_ctx) lg_vk_weights_release(d, t->release_ctx);
    t->release_ctx = NULL;
    lg_tensor_free(t);
}

static uint64_t vk_storage_bytes(lg_device *d, lg_dtype dt, int64_t numel)
{
    return (uint64_t)numel * ((d->fp16_storage && dt == LG_FLOAT) ? 2 : lg_dtype_size(dt));
}

/* Within one buffer (a tensor is never split across buffers). Bindings above
 * max_storage_range are the kernels' to split (vk_kern.h: chunked bindings); their
 * supports() says no when they cannot. */
static bool fits(lg_device *d, const lg_tensor *t)
{
    return !t || t->dtype == LG_UNDEFINED || vk_storage_bytes(d, t->dtype, lg_tensor_numel_(t)) <= d->ctx->block_max;
}

static const lg_vk_op *op_of(const lg_node *n, int opset)
{
    return lg_vk_op_find(n->domain ? n->domain : "", n->op_type, opset);
}

static bool vk_supports_node(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in, int n_out,
                             const lg_tensor *const *out, uint32_t *host_inputs)
{
    *host_inputs = 0;
    const lg_vk_op *op = op_of(n, opset);
    if (!op) return false;
    for (int i = 0; i < n_in; i++)
        if (!fits(d, in[i])) return false;
    for (int i = 0; i < n_out; i++)
        if (!fits(d, out[i])) return false;
    return op->supports(d, n, opset, n_in, in, n_out, out, host_inputs);
}

static bool vk_supports_epilogue(lg_device *d, const lg_node *n, const lg_act *act, bool residual)
{
    const lg_vk_op *op = op_of(n, n->opset);
    if (!op) return false;
    if (act->kind == LG_ACT_NONE && !residual) return true;
    return op->epilogue && op->epilogue(n, act, residual);
}

/* ---- per-node state, buffers, compute --------------------------------------------- */

static int vk_node_prepare(lg_device *d, const lg_dev_node *dn, void **state)
{
    *state = NULL;
    const lg_vk_op *op = op_of(dn->node, dn->opset);
    if (!op)
        return lg_error(LG_E_UNSUPPORTED, "vulkan: no kernel for node '%s' (%s, opset %d)", dn->node->name,
                        dn->node->op_type, dn->opset);
    node_state *ns = calloc(1, sizeof(*ns));
    if (!ns) return lg_error(LG_E_NOMEM, "vulkan: out of host memory");
    ns->op = op;
    int rc = LG_OK;
    if (op->prepare) {
        d->preparing = dn->node->name;
        rc = op->prepare(d, dn, &ns->state);
        d->preparing = NULL;
    }
    if (rc == LG_OK) rc = lg_vk_check_validation(d);
    if (rc != LG_OK) {
        if (op->release && ns->state) op->release(d, ns->state);
        free(ns);
        return rc;
    }
    *state = ns;
    return LG_OK;
}

static void vk_node_release(lg_device *d, void *state)
{
    node_state *ns = state;
    if (!ns) return;
    if (ns->op->release && ns->state) ns->op->release(d, ns->state);
    free(ns);
}

static int vk_buffer_alloc(lg_device *d, uint64_t bytes, lg_buffer **out)
{
    LG_CHECK(lg_vk_check_validation(d));
    return lg_vk_alloc(d->ctx, bytes, false, "activations", out);
}

static void vk_buffer_free(lg_device *d, lg_buffer *b) { lg_vk_free(d->ctx, b); }

static uint64_t vk_alignment(lg_device *d) { return lg_vk_align(d->ctx); }

static uint64_t vk_max_buffer_bytes(lg_device *d) { return d->ctx->block_max; }

/* The kernels get their own state in dn->state, and the kernel found at prepare. */
static int vk_graph_compute(lg_device *d, const lg_dev_graph *g)
{
    lg_dev_node small[32], *nodes = g->n_nodes <= 32 ? small : malloc((size_t)g->n_nodes * sizeof(*nodes));
    if (!nodes) return lg_error(LG_E_NOMEM, "vulkan: out of host memory");
    for (int i = 0; i < g->n_nodes; i++) {
        nodes[i] = g->nodes[i];
        node_state *ns = g->nodes[i].state;
        nodes[i].state = ns ? ns->state : NULL;
    }
    lg_dev_graph inner = *g;
    inner.nodes = nodes;
    int rc = lg_vk_graph_compute(d, &inner);
    if (nodes != small) free(nodes);
    return rc;
}

const lg_backend_i lg_backend_vulkan = {
    .name = "vulkan",
    .is_host = false,
    .device_count = lg_vk_count,
    .device_name = vk_device_name,
    .device_describe = vk_device_describe,
    .device_auto = vk_device_auto,
    .device_open = lg_vk_open,
    .device_close = lg_vk_close,
    .supports_node = vk_supports_node,
    .supports_epilogue = vk_supports_epilogue,
    .node_prepare = vk_node_prepare,
    .node_release = vk_node_release,
    .weights_get = vk_weights_get,
    .weights_put = vk_weights_put,
    .buffer_alloc = vk_buffer_alloc,
    .buffer_free = vk_buffer_free,
    .storage_bytes = vk_storage_bytes,
    .alignment = vk_alignment,
    .max_buffer_bytes = vk_max_buffer_bytes,
    .graph_compute = vk_graph_compute,
};
