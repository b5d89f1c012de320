/*
 * vk_memory.c: device memory of a GPU context. Device-local memory (tensors, weights) is
 * sub-allocated first-fit from blocks of at most min(maxMemoryAllocationSize, 1 GiB),
 * each one VkDeviceMemory with one VkBuffer over it; offsets are multiples of
 * minStorageBufferOffsetAlignment (at least 16). Host-visible coherent staging memory
 * gets a block of its own, mapped for its life; device memory the host sees coherently
 * (lavapipe, integrated GPUs) is mapped too, and copies skip staging (ctx->direct).
 * Usable device memory is the heap, or less with LEGACYGPU_VK_MEM_LIMIT_MB; what does not fit fails with LG_E_NOMEM naming
 * what it was for, its size and the heap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/vk_internal.h"
#include "base/error.h"

#define BLOCK_LIMIT (1ull << 30)   /* never a block above 1 GiB */
#define BLOCK_DEFAULT (64ull << 20) /* shared blocks for small allocations */

uint64_t lg_vk_align(const lg_vk_ctx *c) { return c->caps.min_storage_align; }

static uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

static int pick_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits, VkMemoryPropertyFlags need,
                     VkMemoryPropertyFlags prefer, VkMemoryPropertyFlags avoid)
{
    int best = -1, best_score = -1;
    for (uint32_t i = 0; i < mp->memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = mp->memoryTypes[i].propertyFlags;
        if (!(bits & (1u << i)) || (f & need) != need) continue;
        int score = ((f & prefer) == prefer ? 2 : 0) + ((f & avoid) ? 0 : 1);
        if (score > best_score) {
            best = (int)i;
            best_score = score;
        }
    }
    return best;
}

int lg_vk_mem_init(lg_vk_ctx *c)
{
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = 4096,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
    };
    VkBuffer probe;
    VkResult r = vkCreateBuffer(c->dev, &bci, NULL, &probe);
    if (r != VK_SUCCESS) return lg_vk_fail(c, r, "creating a buffer");
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(c->dev, probe, &req);
    vkDestroyBuffer(c->dev, probe, NULL);
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(c->phys, &mp);
    int dl = pick_type(&mp, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
    if (dl < 0) dl = pick_type(&mp, req.memoryTypeBits, 0, 0, 0);
    int host = pick_type(&mp, req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                         VK_MEMORY_PROPERTY_HOST_CACHED_BIT, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (dl < 0 || host < 0)
        return lg_error(LG_E_DEVICE, "vulkan: '%s' has no %s memory type for storage buffers", c->caps.name,
                        dl < 0 ? "device" : "host-visible coherent");
    VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    const char *staging = getenv("LEGACYGPU_VK_STAGING"); /* =1: always copy through staging */
    c->direct = (mp.memoryTypes[dl].propertyFlags & hv) == hv && !(staging && *staging && strcmp(staging, "0"));
    c->mt_device = (uint32_t)dl;
    c->mt_host = (uint32_t)host;
    c->caps.heap_index = (int)mp.memoryTypes[dl].heapIndex;
    c->block_max = c->caps.max_alloc_bytes && c->caps.max_alloc_bytes < BLOCK_LIMIT ? c->caps.max_alloc_bytes : BLOCK_LIMIT;
    c->block_default = c->block_max < BLOCK_DEFAULT ? c->block_max : BLOCK_DEFAULT;
    return LG_OK;
}

static void block_destroy(lg_vk_ctx *c, lg_vk_block *b)
{
    if (b->buf) vkDestroyBuffer(c->dev, b->buf, NULL);
    if (b->mem) vkFreeMemory(c->dev, b->mem, NULL);
    if (!b->host && b->mem) c->device_in_use -= b->size;
    free(b->free);
    free(b);
}

void lg_vk_mem_fini(lg_vk_ctx *c)
{
    while (c->blocks) {
        lg_vk_block *b = c->blocks;
        c->blocks = b->next;
        block_destroy(c, b);
    }
}

static const char *human(uint64_t bytes, char *buf, size_t len)
{
    if (bytes >= (1ull << 30)) snprintf(buf, len, "%.1f GiB", (double)bytes / (1ull << 30));
    else if (bytes >= (1ull << 20)) snprintf(buf, len, "%.1f MiB", (double)bytes / (1ull << 20));
    else snprintf(buf, len, "%.1f KiB", (double)bytes / 1024);
    return buf;
}

static int no_room(lg_vk_ctx *c, uint64_t bytes, const char *what, const char *why)
{
    char a[32], h[32], u[32], l[32];
    const lg_vk_caps *cp = &c->caps;
    uint64_t heap = cp->heap_index < cp->n_heaps ? cp->heap_bytes[cp->heap_index] : cp->device_local_bytes;
    char limit[96] = "";
    if (cp->mem_limit_bytes < heap)
        snprintf(limit, sizeof(limit), " (limited to %s by LEGACYGPU_VK_MEM_LIMIT_MB)", human(cp->mem_limit_bytes, l, sizeof(l)));
    return lg_error(LG_E_NOMEM, "vulkan: cannot allocate %s for %s on '%s': heap %d has %s%s, %s in use%s%s",
                    human(bytes, a, sizeof(a)), what, cp->name, cp->heap_index, human(heap, h, sizeof(h)), limit,
                    human(c->device_in_use, u, sizeof(u)), why ? "; " : "", why ? why : "");
}

static int block_new(lg_vk_ctx *c, uint64_t size, bool host, const char *what, lg_vk_block **out)
{
    if (!host && c->device_in_use + size > c->caps.mem_limit_bytes) return no_room(c, size, what, NULL);
    lg_vk_block *b = calloc(1, sizeof(*b));
    if (!b) return lg_error(LG_E_NOMEM, "vulkan: out of host memory for a block");
    b->size = size;
    b->host = host;
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult r = vkCreateBuffer(c->dev, &bci, NULL, &b->buf);
    if (r != VK_SUCCESS) {
        b->buf = VK_NULL_HANDLE;
        block_destroy(c, b);
        return r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? no_room(c, size, what, "the driver refused the buffer")
                                                  : lg_vk_fail(c, r, "creating a buffer");
    }
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(c->dev, b->buf, &req);
    VkMemoryAllocateInfo mai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = host ? c->mt_host : c->mt_device,
    };
    r = vkAllocateMemory(c->dev, &mai, NULL, &b->mem);
    if (r != VK_SUCCESS) {
        b->mem = VK_NULL_HANDLE;
        block_destroy(c, b);
        if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
            return no_room(c, size, what, "the driver is out of memory");
        return lg_vk_fail(c, r, "allocating memory");
    }
    if (!host) c->device_in_use += size;
    if ((r = vkBindBufferMemory(c->dev, b->buf, b->mem, 0)) != VK_SUCCESS ||
        ((host || c->direct) && (r = vkMapMemory(c->dev, b->mem, 0, VK_WHOLE_SIZE, 0, &b->map)) != VK_SUCCESS)) {
        block_destroy(c, b);
        return lg_vk_fail(c, r, "binding memory");
    }
    b->free = malloc(4 * sizeof(*b->free));
    if (!b->free) {
        block_destroy(c, b);
        return lg_error(LG_E_NOMEM, "vulkan: out of host memory for a block");
    }
    b->cap_free = 4;
    b->n_free = 1;
    b->free[0] = (lg_vk_range){ 0, size };
    b->next = c->blocks;
    c->blocks = b;
    *out = b;
    return LG_OK;
}

/* First fit in b; offset or UINT64_MAX. */
static uint64_t block_take(lg_vk_block *b, uint64_t size, uint64_t align)
{
    for (int i = 0; i < b->n_free; i++) {
        lg_vk_range *f = &b->free[i];
        uint64_t off = round_up(f->off, align);
        if (off + size > f->off + f->size) continue;
        uint64_t head = off - f->off, tail = f->off + f->size - (off + size);
        if (head && tail) {
            if (b->n_free == b->cap_free) {
                lg_vk_range *nf = realloc(b->free, (size_t)b->cap_free * 2 * sizeof(*nf));
                if (!nf) return UINT64_MAX;
                b->free = nf;
                b->cap_free *= 2;
                f = &b->free[i];
            }
            memmove(&b->free[i + 2], &b->free[i + 1], (size_t)(b->n_free - i - 1) * sizeof(*f));
            b->free[i + 1] = (lg_vk_range){ off + size, tail };
            f->size = head;
            b->n_free++;
        } else if (head) {
            f->size = head;
        } else if (tail) {
            *f = (lg_vk_range){ off + size, tail };
        } else {
            memmove(f, f + 1, (size_t)(b->n_free - i - 1) * sizeof(*f));
            b->n_free--;
        }
        return off;
    }
    return UINT64_MAX;
}

/* Returns [off, off + size) to b's free list, merging neighbours. */
static int block_give(lg_vk_block *b, uint64_t off, uint64_t size)
{
    int i = 0;
    while (i < b->n_free && b->free[i].off < off) i++;
    bool merge_prev = i > 0 && b->free[i - 1].off + b->free[i - 1].size == off;
    bool merge_next = i < b->n_free && off + size == b->free[i].off;
    if (merge_prev && merge_next) {
        b->free[i - 1].size += size + b->free[i].size;
        memmove(&b->free[i], &b->free[i + 1], (size_t)(b->n_free - i - 1) * sizeof(*b->free));
        b->n_free--;
    } else if (merge_prev) {
        b->free[i - 1].size += size;
    } else if (merge_next) {
        b->free[i].off = off;
        b->free[i].size += size;
    } else {
        if (b->n_free == b->cap_free) {
            lg_vk_range *nf = realloc(b->free, (size_t)b->cap_free * 2 * sizeof(*nf));
            if (!nf) return LG_E_NOMEM;
            b->free = nf;
            b->cap_free *= 2;
        }
        memmove(&b->free[i + 1], &b->free[i], (size_t)(b->n_free - i) * sizeof(*b->free));
        b->free[i] = (lg_vk_range){ off, size };
        b->n_free++;
    }
    return LG_OK;
}

int lg_vk_alloc(lg_vk_ctx *c, uint64_t bytes, bool host, const char *what, lg_buffer **out)
{
    *out = NULL;
    uint64_t align = lg_vk_align(c);
    uint64_t size = round_up(bytes ? bytes : 1, align);
    if (size > c->block_max) {
        char a[32], m[32];
        return lg_error(LG_E_NOMEM, "vulkan: cannot allocate %s for %s on '%s': larger than one allocation may be (%s)",
                        human(bytes, a, sizeof(a)), what, c->caps.name, human(c->block_max, m, sizeof(m)));
    }
    lg_buffer *buf = calloc(1, sizeof(*buf));
    if (!buf) return lg_error(LG_E_NOMEM, "vulkan: out of host memory");
    pthread_mutex_lock(&c->lock);
    int rc = LG_OK;
    lg_vk_block *b = NULL;
    uint64_t off = UINT64_MAX;
    if (!host) {
        for (b = c->blocks; b; b = b->next) {
            if (b->host) continue;
            if ((off = block_take(b, size, align)) != UINT64_MAX) break;
        }
    }
    if (!b) {
        /* Staging and large tensors get a block of their own; small ones share. */
        uint64_t bsize = size;
        if (!host && size < c->block_default) {
            bsize = c->block_default;
            uint64_t room = c->caps.mem_limit_bytes > c->device_in_use ? c->caps.mem_limit_bytes - c->device_in_use : 0;
            if (bsize > room) bsize = round_up(size > room / 2 ? size : room / 2, align);
            if (bsize > c->block_default) bsize = c->block_default;
            if (bsize < size) bsize = size;
        }
        if ((rc = block_new(c, bsize, host, what, &b)) == LG_OK) off = block_take(b, size, align);
        if (rc == LG_OK && off == UINT64_MAX) rc = lg_error(LG_E_NOMEM, "vulkan: out of host memory");
    }
    pthread_mutex_unlock(&c->lock);
    if (rc != LG_OK) {
        free(buf);
        return rc;
    }
    LG_ASSERT(off % align == 0 && off + size <= b->size);
    buf->block = b;
    buf->offset = off;
    buf->size = size;
    *out = buf;
    return LG_OK;
}

void lg_vk_free(lg_vk_ctx *c, lg_buffer *buf)
{
    if (!buf) return;
    pthread_mutex_lock(&c->lock);
    lg_vk_block *b = buf->block;
    block_give(b, buf->offset, buf->size);
    if (b->n_free == 1 && b->free[0].size == b->size) {
        /* Empty: give the memory back, so the next model gets it. */
        for (lg_vk_block **p = &c->blocks; *p; p = &(*p)->next)
            if (*p == b) {
                *p = b->next;
                break;
            }
        block_destroy(c, b);
    }
    pthread_mutex_unlock(&c->lock);
    free(buf);
}

void *lg_vk_map(const lg_buffer *b)
{
    LG_ASSERT(b->block->map);
    return (char *)b->block->map + b->offset;
}

uint64_t lg_vk_memory_in_use(const lg_device *d)
{
    lg_vk_ctx *c = d->ctx;
    pthread_mutex_lock(&c->lock);
    uint64_t n = c->device_in_use;
    pthread_mutex_unlock(&c->lock);
    return n;
}

/* Staging chunk for synchronous uploads: bounds the host-visible memory they take. */
#define UPLOAD_CHUNK (16ull << 20)

int lg_vk_upload_sync(lg_vk_ctx *c, const lg_buffer *dst, uint64_t off, const void *src, uint64_t bytes)
{
    if (bytes == 0) return LG_OK;
    LG_ASSERT(off + bytes <= dst->size);
    if (c->lost) return lg_error(LG_E_DEVICE, "vulkan: device '%s' was lost earlier", c->caps.name);
    if (c->direct && dst->block->map) { /* fresh memory: nothing on the device uses it yet */
        memcpy((char *)lg_vk_map(dst) + off, src, bytes);
        return LG_OK;
    }
    lg_buffer *st;
    uint64_t chunk = bytes < UPLOAD_CHUNK ? bytes : UPLOAD_CHUNK;
    LG_CHECK(lg_vk_alloc(c, chunk, true, "staging", &st));
    int rc = LG_OK;
    VkCommandBuffer cb = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    pthread_mutex_lock(&c->queue_lock);
    VkCommandBufferAllocateInfo cai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = c->upload_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    VkResult r = vkAllocateCommandBuffers(c->dev, &cai, &cb);
    if (r == VK_SUCCESS) r = vkCreateFence(c->dev, &fci, NULL, &fence);
    for (uint64_t done = 0; r == VK_SUCCESS && done < bytes; done += chunk) {
        uint64_t n = bytes - done < chunk ? bytes - done : chunk;
        memcpy(lg_vk_map(st), (const char *)src + done, n);
        VkCommandBufferBeginInfo bi = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
            .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
        };
        if ((r = vkBeginCommandBuffer(cb, &bi)) != VK_SUCCESS) break;
        VkBufferCopy region = { st->offset, dst->offset + off + done, n };
        vkCmdCopyBuffer(cb, st->block->buf, dst->block->buf, 1, &region);
        /* Later submissions read it in shaders or copies. */
        VkMemoryBarrier mb = {
            .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
            .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
            .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT,
        };
        vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
                             VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL,
                             0, NULL);
        if ((r = vkEndCommandBuffer(cb)) != VK_SUCCESS) break;
        VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb };
        if ((r = vkQueueSubmit(c->queue, 1, &si, fence)) != VK_SUCCESS) break;
        if ((r = vkWaitForFences(c->dev, 1, &fence, VK_TRUE, UINT64_MAX)) != VK_SUCCESS) break;
        if ((r = vkResetFences(c->dev, 1, &fence)) != VK_SUCCESS) break;
        if ((r = vkResetCommandPool(c->dev, c->upload_pool, 0)) != VK_SUCCESS) break;
    }
    if (r != VK_SUCCESS) rc = lg_vk_fail(c, r, "uploading weights");
    if (fence) vkDestroyFence(c->dev, fence, NULL);
    if (cb) vkFreeCommandBuffers(c->dev, c->upload_pool, 1, &cb);
    pthread_mutex_unlock(&c->queue_lock);
    lg_vk_free(c, st);
    return rc;
}

lg_vk_binding lg_vk_bind_tensor(lg_device *d, const lg_tensor *t)
{
    LG_ASSERT(t && t->buf && !t->data);
    int64_t n = lg_tensor_numel_(t);
    uint64_t bytes = (uint64_t)n * ((d->fp16_storage && t->dtype == LG_FLOAT) ? 2 : lg_dtype_size(t->dtype));
    LG_ASSERT(t->offset % lg_vk_align(d->ctx) == 0 && t->offset + bytes <= t->buf->size);
    return (lg_vk_binding){ t->buf, t->offset, bytes };
}
