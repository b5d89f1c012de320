/*
 * vk_internal.h: the device layer's private structures, shared by vk_device.c,
 * vk_quirks.c, vk_memory.c, vk_pipeline.c, vk_cmd.c and vk_backend.c (kernels use vk.h).
 *
 *   lg_vk_ctx   one per physical device, reference-counted by the sessions' lg_device:
 *               VkDevice, the compute queue and its mutex, memory blocks, the weights
 *               cache, pipelines and the VkPipelineCache.
 *   lg_device   one per session (device_open): its precision, command pool and buffer,
 *               fence, descriptor pools and staging memory.
 */
#ifndef LG_VK_INTERNAL_H
#define LG_VK_INTERNAL_H

#include <pthread.h>
#include <vulkan/vulkan.h>

#include "backends/vulkan/vk.h"

typedef struct lg_vk_range {
    uint64_t off, size;
} lg_vk_range;

/* One VkDeviceMemory with one VkBuffer over all of it, sub-allocated by a free list. */
typedef struct lg_vk_block {
    VkDeviceMemory mem;
    VkBuffer buf;
    uint64_t size;
    bool host;        /* host-visible staging (mapped at map) */
    void *map;
    lg_vk_range *free;
    int n_free, cap_free;
    struct lg_vk_block *next;
} lg_vk_block;

struct lg_buffer {
    lg_vk_block *block;
    uint64_t offset, size; /* inside block */
};

struct lg_vk_weight {
    const void *key;
    uint32_t variant;
    bool fp16;
    int refs;
    lg_buffer *buf;
    uint64_t bytes;
    struct lg_vk_weight *next;
};

struct lg_vk_pipeline {
    char name[64];
    lg_vk_variant variant;
    int n_spec;
    uint32_t spec[16];
    int n_bindings;
    uint32_t push_bytes;
    VkShaderModule module;
    VkDescriptorSetLayout dsl;
    VkPipelineLayout layout;
    VkPipeline pipe;
    struct lg_vk_pipeline *next;
};

/* What enumeration learnt about a physical device (vk_device.c). */
typedef struct lg_vk_phys {
    VkPhysicalDevice phys;
    lg_vk_caps caps;
    uint8_t cache_uuid[VK_UUID_SIZE];
    bool ext_f16i8;   /* VK_KHR_shader_float16_int8 needed to enable shaderFloat16/Int8 */
    bool ext_ssc;     /* VK_EXT_subgroup_size_control needed to enable it */
    bool f_ssc, f_full_subgroups;
    struct lg_vk_ctx *ctx; /* open context, or NULL */
} lg_vk_phys;

typedef struct lg_vk_ctx {
    int index, refs;
    lg_vk_phys *pd;
    VkPhysicalDevice phys;
    lg_vk_caps caps;
    VkDevice dev;
    VkQueue queue;
    uint32_t qfam;
    pthread_mutex_t queue_lock; /* vkQueueSubmit / one-shot uploads */
    pthread_mutex_t lock;       /* blocks, weights, pipelines */
    bool lost;                  /* VK_ERROR_DEVICE_LOST seen */
    uint32_t max_groups[3];     /* maxComputeWorkGroupCount */
    /* memory */
    uint32_t mt_device, mt_host; /* memory type indices */
    uint64_t block_max;          /* min(maxMemoryAllocationSize, 1 GiB) */
    uint64_t block_default;      /* size of a new shared block */
    uint64_t device_in_use;      /* device-local bytes in blocks */
    bool direct;                 /* device memory is host-visible and coherent: blocks are
                                    mapped and the host copies in and out directly */
    lg_vk_block *blocks;
    lg_vk_weight *weights;
    /* one-shot uploads (weights) */
    VkCommandPool upload_pool;
    /* pipelines */
    lg_vk_pipeline *pipelines;
    VkPipelineCache pcache;
    char pcache_path[512];
    uint64_t pcache_loaded;
} lg_vk_ctx;

struct lg_device {
    lg_vk_ctx *ctx;
    lg_device_config cfg;
    bool fp16_storage, fp16_math;
    lg_vk_variant variant;
    unsigned validation_seen;
    pthread_mutex_t lock;
    const char *preparing; /* name of the node in node_prepare, for messages */
    VkCommandPool pool;
    VkCommandBuffer cb;
    VkFence fence;
    VkDescriptorPool *dpools;
    int n_dpools, cur_dpool;
    lg_buffer *staging;
    uint64_t n_submits;    /* submissions of graph_compute (tests of SMALL_SUBMITS) */
};

/* ---- vk_device.c ---- */
/* The physical devices after LEGACYGPU_VK_DEVICES (lazy, thread-safe); 0 without Vulkan. */
int lg_vk_count(void);
const lg_vk_caps *lg_vk_caps_of(int dev);
int lg_vk_open(int dev, const lg_device_config *cfg, lg_device **out);
void lg_vk_close(lg_device *d);
/* LG_E_DEVICE naming the newest validation message when one came since the last call. */
int lg_vk_check_validation(lg_device *d);
/* LG_E_DEVICE for a failed Vulkan call (device lost says so) naming what was running. */
int lg_vk_fail(lg_vk_ctx *c, VkResult r, const char *what);
const char *lg_vk_result_name(VkResult r);

/* ---- vk_quirks.c ---- */
/* Architecture class and quirk bits for the caps (vendor, driver, name, subgroups). */
void lg_vk_classify(lg_vk_caps *caps, bool has_coopmat);
/* Applies quirk effects and the test caps (LEGACYGPU_VK_MAX_BINDING_MB) to caps. */
void lg_vk_apply_limits(lg_vk_caps *caps);

/* ---- vk_memory.c ---- */
int lg_vk_mem_init(lg_vk_ctx *c);
void lg_vk_mem_fini(lg_vk_ctx *c);
/* what: "activations", "weights of node 'conv1'", "staging" (for the error message). */
int lg_vk_alloc(lg_vk_ctx *c, uint64_t bytes, bool host, const char *what, lg_buffer **out);
void lg_vk_free(lg_vk_ctx *c, lg_buffer *b);
/* Host pointer of a host buffer. */
void *lg_vk_map(const lg_buffer *b);
/* Copies bytes from host memory into device buffer dst at off, synchronously. */
int lg_vk_upload_sync(lg_vk_ctx *c, const lg_buffer *dst, uint64_t off, const void *src, uint64_t bytes);
void lg_vk_weights_fini(lg_vk_ctx *c);
uint64_t lg_vk_align(const lg_vk_ctx *c);

/* ---- vk_pipeline.c ---- */
void lg_vk_pcache_open(lg_vk_ctx *c);
void lg_vk_pcache_close(lg_vk_ctx *c); /* saves the cache file, destroys pipelines */

/* ---- vk_cmd.c ---- */
int lg_vk_cmd_init(lg_device *d);
void lg_vk_cmd_fini(lg_device *d);
int lg_vk_graph_compute(lg_device *d, const lg_dev_graph *g);
/* Fault injection for tests: the next n submissions of graph_compute fail as if the
 * device had been lost (VK_ERROR_DEVICE_LOST), without submitting. */
void lg_vk_inject_device_lost(int n);

#endif
