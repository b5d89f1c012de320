/*
 * vk_cmd.c: recording and running a partition (graph_compute): one command buffer with
 * the uploads through staging first (fp32 -> fp16 on the host when the session stores
 * fp16), then every node's dispatches (kernels call lg_vk_dispatch / lg_vk_copy) with a
 * memory barrier between consecutive operations, then the downloads through staging;
 * one submit with a fence, waited for. Devices with the SMALL_SUBMITS quirk submit every
 * few dispatches instead. Descriptor sets come from per-session pools reset per run.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/vk_internal.h"
#include "base/error.h"
#include "base/tensor_impl.h"

#define SETS_PER_POOL 256
#define SMALL_SUBMIT_DISPATCHES 32 /* dispatches per submission under SMALL_SUBMITS */

struct lg_vk_rec {
    lg_device *d;
    bool pending;   /* an operation was recorded: the next one waits for it */
    int in_cb;      /* dispatches in the current command buffer */
    char what[320];   /* "running node 'x' (Conv)" for errors */
};

lg_device *lg_vk_rec_device(lg_vk_rec *r) { return r->d; }

int lg_vk_cmd_init(lg_device *d)
{
    lg_vk_ctx *c = d->ctx;
    VkCommandPoolCreateInfo pci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT, /* reset whole (vkResetCommandPool) */
        .queueFamilyIndex = c->qfam,
    };
    VkResult r = vkCreateCommandPool(c->dev, &pci, NULL, &d->pool);
    if (r != VK_SUCCESS) {
        d->pool = VK_NULL_HANDLE;
        return lg_vk_fail(c, r, "creating a command pool");
    }
    VkCommandBufferAllocateInfo cai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = d->pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    if ((r = vkAllocateCommandBuffers(c->dev, &cai, &d->cb)) != VK_SUCCESS) return lg_vk_fail(c, r, "allocating a command buffer");
    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    if ((r = vkCreateFence(c->dev, &fci, NULL, &d->fence)) != VK_SUCCESS) {
        d->fence = VK_NULL_HANDLE;
        return lg_vk_fail(c, r, "creating a fence");
    }
    return LG_OK;
}

void lg_vk_cmd_fini(lg_device *d)
{
    lg_vk_ctx *c = d->ctx;
    for (int i = 0; i < d->n_dpools; i++) vkDestroyDescriptorPool(c->dev, d->dpools[i], NULL);
    free(d->dpools);
    if (d->fence) vkDestroyFence(c->dev, d->fence, NULL);
    if (d->pool) vkDestroyCommandPool(c->dev, d->pool, NULL); /* frees d->cb */
    lg_vk_free(c, d->staging);
}

/* ---- descriptor sets ---------------------------------------------------------------- */

static int pool_add(lg_device *d)
{
    VkDescriptorPool *np = realloc(d->dpools, (size_t)(d->n_dpools + 1) * sizeof(*np));
    if (!np) return lg_error(LG_E_NOMEM, "vulkan: out of host memory");
    d->dpools = np;
    VkDescriptorPoolSize size = { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * 8 };
    VkDescriptorPoolCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = SETS_PER_POOL,
        .poolSizeCount = 1,
        .pPoolSizes = &size,
    };
    VkResult r = vkCreateDescriptorPool(d->ctx->dev, &ci, NULL, &d->dpools[d->n_dpools]);
    if (r != VK_SUCCESS) return lg_vk_fail(d->ctx, r, "creating a descriptor pool");
    d->n_dpools++;
    return LG_OK;
}

static int set_alloc(lg_device *d, VkDescriptorSetLayout dsl, VkDescriptorSet *set)
{
    for (;;) {
        if (d->cur_dpool == d->n_dpools) LG_CHECK(pool_add(d));
        VkDescriptorSetAllocateInfo ai = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
            .descriptorPool = d->dpools[d->cur_dpool],
            .descriptorSetCount = 1,
            .pSetLayouts = &dsl,
        };
        VkResult r = vkAllocateDescriptorSets(d->ctx->dev, &ai, set);
        if (r == VK_SUCCESS) return LG_OK;
        if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL)
            return lg_vk_fail(d->ctx, r, "allocating a descriptor set");
        d->cur_dpool++;
    }
}

/* ---- recording ------------------------------------------------------------------------ */

/* Everything recorded before is finished and visible before what follows. */
static void barrier(lg_vk_rec *r)
{
    if (!r->pending) return;
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                         VK_ACCESS_TRANSFER_WRITE_BIT,
    };
    VkPipelineStageFlags st = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    vkCmdPipelineBarrier(r->d->cb, st, st, 0, 1, &mb, 0, NULL, 0, NULL);
    r->pending = false;
}

static int begin(lg_device *d)
{
    VkCommandBufferBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    VkResult r = vkBeginCommandBuffer(d->cb, &bi);
    return r == VK_SUCCESS ? LG_OK : lg_vk_fail(d->ctx, r, "beginning a command buffer");
}

static atomic_int lost_injections;

void lg_vk_inject_device_lost(int n) { atomic_store(&lost_injections, n); }

/* LEGACYGPU_VK_INJECT_DEVICE_LOST=N: the next N submits of this process report
 * VK_ERROR_DEVICE_LOST (cluster tests of a lost GPU; docs/gpu.md). */
static void injections_from_env(void)
{
    const char *v = getenv("LEGACYGPU_VK_INJECT_DEVICE_LOST");
    if (v && atoi(v) > 0) atomic_store(&lost_injections, atoi(v));
}

/* Ends, submits and waits for the command buffer; it is reset for reuse. */
static int submit(lg_device *d, const char *what)
{
    lg_vk_ctx *c = d->ctx;
    static pthread_once_t env_once = PTHREAD_ONCE_INIT;
    pthread_once(&env_once, injections_from_env);
    VkResult r = vkEndCommandBuffer(d->cb);
    if (r == VK_SUCCESS && atomic_load(&lost_injections) > 0) {
        atomic_fetch_sub(&lost_injections, 1);
        r = VK_ERROR_DEVICE_LOST;
    } else if (r == VK_SUCCESS) {
        VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &d->cb };
        pthread_mutex_lock(&c->queue_lock);
        r = vkQueueSubmit(c->queue, 1, &si, d->fence);
        pthread_mutex_unlock(&c->queue_lock);
        d->n_submits++;
        if (r == VK_SUCCESS) {
            r = vkWaitForFences(c->dev, 1, &d->fence, VK_TRUE, UINT64_MAX);
            VkResult r2 = vkResetFences(c->dev, 1, &d->fence);
            if (r == VK_SUCCESS) r = r2;
        }
    }
    vkResetCommandPool(d->ctx->dev, d->pool, 0);
    return r == VK_SUCCESS ? LG_OK : lg_vk_fail(c, r, what);
}

int lg_vk_dispatch(lg_vk_rec *r, lg_vk_pipeline *p, int n_bind, const lg_vk_binding *b, const void *push,
                   uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz)
{
    lg_device *d = r->d;
    lg_vk_ctx *c = d->ctx;
    LG_ASSERT(p && n_bind == p->n_bindings && push_bytes == p->push_bytes && n_bind <= 16);
    if (gx == 0 || gy == 0 || gz == 0) return LG_OK;
    if (gx > c->max_groups[0] || gy > c->max_groups[1] || gz > c->max_groups[2])
        return lg_error(LG_E_LIMIT, "vulkan: shader '%s' %s: %ux%ux%u workgroups, '%s' allows %ux%ux%u", p->name, r->what,
                        gx, gy, gz, c->caps.name, c->max_groups[0], c->max_groups[1], c->max_groups[2]);
    VkDescriptorBufferInfo info[16];
    for (int i = 0; i < n_bind; i++) {
        const lg_buffer *buf = b[i].buf;
        LG_ASSERT(buf && b[i].offset % lg_vk_align(c) == 0 && b[i].offset + b[i].range <= buf->size);
        if (b[i].range > c->caps.max_storage_range)
            return lg_error(LG_E_LIMIT, "vulkan: shader '%s' %s: binding %d is %llu bytes, '%s' binds at most %llu", p->name,
                            r->what, i, (unsigned long long)b[i].range, c->caps.name,
                            (unsigned long long)c->caps.max_storage_range);
        uint64_t off = buf->offset + b[i].offset, range = b[i].range;
        if (range == 0) { /* an empty tensor: any valid range, never read */
            off = buf->offset;
            range = buf->size < 16 ? buf->size : 16;
        }
        info[i] = (VkDescriptorBufferInfo){ buf->block->buf, off, range };
    }
    VkDescriptorSet set;
    LG_CHECK(set_alloc(d, p->dsl, &set));
    VkWriteDescriptorSet w[16];
    for (int i = 0; i < n_bind; i++)
        w[i] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = set,
            .dstBinding = (uint32_t)i,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .pBufferInfo = &info[i],
        };
    vkUpdateDescriptorSets(c->dev, (uint32_t)n_bind, w, 0, NULL);
    barrier(r);
    vkCmdBindPipeline(d->cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipe);
    vkCmdBindDescriptorSets(d->cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, NULL);
    if (push_bytes) vkCmdPushConstants(d->cb, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
    vkCmdDispatch(d->cb, gx, gy, gz);
    r->pending = true;
    if ((c->caps.quirks & LG_VK_QUIRK_SMALL_SUBMITS) && ++r->in_cb >= SMALL_SUBMIT_DISPATCHES) {
        r->in_cb = 0;
        LG_CHECK(submit(d, r->what));
        LG_CHECK(begin(d));
    }
    return LG_OK;
}

int lg_vk_copy(lg_vk_rec *r, lg_vk_binding src, lg_vk_binding dst, uint64_t bytes)
{
    LG_ASSERT(src.buf && dst.buf && src.offset + bytes <= src.buf->size && dst.offset + bytes <= dst.buf->size);
    if (bytes == 0) return LG_OK;
    barrier(r);
    VkBufferCopy region = { src.buf->offset + src.offset, dst.buf->offset + dst.offset, bytes };
    vkCmdCopyBuffer(r->d->cb, src.buf->block->buf, dst.buf->block->buf, 1, &region);
    r->pending = true;
    return LG_OK;
}

/* ---- graph_compute ------------------------------------------------------------------- */

static uint64_t round16(uint64_t v) { return (v + 15) & ~15ull; }

static bool half_stored(const lg_device *d, const lg_tensor *t) { return d->fp16_storage && t->dtype == LG_FLOAT; }

/* Where the host reads and writes device tensor t directly (device memory the host
 * sees, coherent: lavapipe, integrated GPUs), or NULL: through staging. */
static uint8_t *direct(lg_device *d, const lg_tensor *t)
{
    lg_vk_binding b = lg_vk_bind_tensor(d, t);
    return d->ctx->direct && b.buf->block->map ? (uint8_t *)b.buf->block->map + b.buf->offset + b.offset : NULL;
}

/* Staging big enough for every upload and download of g not done directly, at 16-byte
 * offsets. */
static int staging_for(lg_device *d, const lg_dev_graph *g, uint64_t *total)
{
    uint64_t n = 0;
    for (int i = 0; i < g->n_uploads; i++)
        if (!direct(d, g->uploads[i].dev)) n += round16(lg_vk_bind_tensor(d, g->uploads[i].dev).range);
    for (int i = 0; i < g->n_downloads; i++)
        if (!direct(d, g->downloads[i].dev)) n += round16(lg_vk_bind_tensor(d, g->downloads[i].dev).range);
    *total = n;
    if (n == 0 || (d->staging && d->staging->size >= n)) return LG_OK;
    lg_vk_free(d->ctx, d->staging);
    d->staging = NULL;
    return lg_vk_alloc(d->ctx, n, true, "staging of a partition's copies", &d->staging);
}

static int check_copy(const lg_dev_copy *cp, const char *dir)
{
    const lg_tensor *h = cp->host, *v = cp->dev;
    if (!h || !v || !v->buf || h->dtype != v->dtype || !lg_dims_equal(h->ndim, h->dims, v->ndim, v->dims) ||
        (lg_tensor_numel_(h) > 0 && !h->data)) {
        char a[96], b[96];
        return lg_error(LG_E_INVALID_ARG, "vulkan: %s of a %s %s tensor to a %s %s device tensor: they must match", dir,
                        h ? lg_dtype_name(h->dtype) : "missing", h ? lg_dims_str(h->ndim, h->dims, a, sizeof(a)) : "",
                        v ? lg_dtype_name(v->dtype) : "missing", v ? lg_dims_str(v->ndim, v->dims, b, sizeof(b)) : "");
    }
    return LG_OK;
}

/* Host tensor -> device bytes at dst (fp16 conversion when stored so). */
static void to_staging(lg_device *d, const lg_dev_copy *cp, uint8_t *dst)
{
    int64_t n = lg_tensor_numel_(cp->host);
    if (half_stored(d, cp->dev)) {
        const float *s = cp->host->data;
        uint16_t *h = (uint16_t *)dst;
        for (int64_t i = 0; i < n; i++) h[i] = lg_float_to_half(s[i]);
    } else if (n > 0) {
        memcpy(dst, cp->host->data, (size_t)n * lg_dtype_size(cp->host->dtype));
    }
}

/* Device bytes at src -> host tensor. */
static void from_staging(lg_device *d, const lg_dev_copy *cp, const uint8_t *src)
{
    int64_t n = lg_tensor_numel_(cp->host);
    if (half_stored(d, cp->dev)) {
        const uint16_t *h = (const uint16_t *)src;
        float *o = cp->host->data;
        for (int64_t i = 0; i < n; i++) o[i] = lg_half_to_float(h[i]);
    } else if (n > 0) {
        memcpy(cp->host->data, src, (size_t)n * lg_dtype_size(cp->host->dtype));
    }
}

static int record_nodes(lg_vk_rec *rec, const lg_dev_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const lg_dev_node *dn = &g->nodes[i];
        const lg_node *n = dn->node;
        snprintf(rec->what, sizeof(rec->what), "running node '%s' (%s)", n->name ? n->name : "", n->op_type);
        const lg_vk_op *op = lg_vk_op_find(n->domain ? n->domain : "", n->op_type, dn->opset);
        if (!op) return lg_error(LG_E_UNSUPPORTED, "vulkan: no kernel for node '%s' (%s, opset %d)", n->name, n->op_type, dn->opset);
        LG_CHECK(op->record(rec, dn));
    }
    snprintf(rec->what, sizeof(rec->what), "running a partition of %d node(s)%s%s%s", g->n_nodes, g->n_nodes ? " ending with '" : "",
             g->n_nodes ? g->nodes[g->n_nodes - 1].node->name : "", g->n_nodes ? "'" : "");
    return LG_OK;
}

static int compute(lg_device *d, const lg_dev_graph *g)
{
    lg_vk_ctx *c = d->ctx;
    if (c->lost)
        return lg_error(LG_E_DEVICE, "vulkan: device '%s' was lost earlier; new sessions get a new device", c->caps.name);
    LG_CHECK(lg_vk_check_validation(d));
    for (int i = 0; i < g->n_uploads; i++) LG_CHECK(check_copy(&g->uploads[i], "upload"));
    for (int i = 0; i < g->n_downloads; i++) LG_CHECK(check_copy(&g->downloads[i], "download"));
    for (int i = 0; i < d->n_dpools; i++) vkResetDescriptorPool(c->dev, d->dpools[i], 0);
    d->cur_dpool = 0;
    uint64_t total;
    LG_CHECK(staging_for(d, g, &total));
    uint8_t *st = total ? lg_vk_map(d->staging) : NULL;

    lg_vk_rec rec = { .d = d, .what = "uploading a partition's inputs" };
    LG_CHECK(begin(d));
    uint64_t off = 0;
    for (int i = 0; i < g->n_uploads; i++) {
        const lg_dev_copy *cp = &g->uploads[i];
        lg_vk_binding b = lg_vk_bind_tensor(d, cp->dev);
        uint8_t *mem = direct(d, cp->dev);
        if (mem) { /* the previous run has finished: nothing on the device reads it */
            to_staging(d, cp, mem);
            continue;
        }
        to_staging(d, cp, st + off);
        if (b.range) {
            VkBufferCopy region = { d->staging->offset + off, b.buf->offset + b.offset, b.range };
            vkCmdCopyBuffer(d->cb, d->staging->block->buf, b.buf->block->buf, 1, &region);
            rec.pending = true;
        }
        off += round16(b.range);
    }
    int rc = record_nodes(&rec, g);
    if (rc != LG_OK) {
        vkEndCommandBuffer(d->cb);
        vkResetCommandPool(d->ctx->dev, d->pool, 0);
        return rc;
    }
    uint64_t down = off;
    for (int i = 0; i < g->n_downloads; i++) {
        lg_vk_binding b = lg_vk_bind_tensor(d, g->downloads[i].dev);
        if (direct(d, g->downloads[i].dev)) continue;
        if (b.range) {
            barrier(&rec);
            VkBufferCopy region = { b.buf->offset + b.offset, d->staging->offset + off, b.range };
            vkCmdCopyBuffer(d->cb, b.buf->block->buf, d->staging->block->buf, 1, &region);
        }
        off += round16(b.range);
    }
    if (g->n_downloads) {
        /* Staging copies and direct reads both happen on the host after the fence. */
        VkMemoryBarrier mb = {
            .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
            .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_WRITE_BIT,
            .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
        };
        vkCmdPipelineBarrier(d->cb, VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                             VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    }
    LG_CHECK(submit(d, rec.what));
    off = down;
    for (int i = 0; i < g->n_downloads; i++) {
        lg_vk_binding b = lg_vk_bind_tensor(d, g->downloads[i].dev);
        uint8_t *mem = direct(d, g->downloads[i].dev);
        if (mem) {
            from_staging(d, &g->downloads[i], mem);
            continue;
        }
        from_staging(d, &g->downloads[i], st + off);
        off += round16(b.range);
    }
    return lg_vk_check_validation(d);
}

int lg_vk_graph_compute(lg_device *d, const lg_dev_graph *g)
{
    pthread_mutex_lock(&d->lock);
    int rc = compute(d, g);
    pthread_mutex_unlock(&d->lock);
    return rc;
}
