/*
 * vk.h: the Vulkan backend's internal interface, between its device layer (devices,
 * memory, pipelines, command recording: vk_device.c, vk_memory.c, vk_pipeline.c,
 * vk_cmd.c) and its kernels (vk_ops_*.c with shaders/NAME.comp).
 *
 * A kernel is an lg_vk_op in a table (vk_ops.c lists the tables). For a node the backend
 * asks supports(); once per session prepare() uploads weights (lg_vk_weights_upload,
 * shared between sessions of one model on one device) and fetches pipelines
 * (lg_vk_pipeline_get); at run time record() adds its dispatches to the partition's
 * command buffer (lg_vk_dispatch). Tensors are device tensors (runtime/backend.h):
 * lg_vk_bind_tensor() gives their binding. Shapes and parameters travel as push
 * constants; tile and workgroup sizes as specialisation constants chosen from the
 * device's architecture class (lg_vk_caps.arch).
 *
 * Shaders: every shaders/NAME.comp is compiled at build time by glslc three times
 * (cmake/vulkan.cmake), to the variants of lg_vk_variant: fp32; -DLG_FP16=1 (fp16
 * storage of float tensors, fp32 arithmetic); -DLG_FP16=1 -DLG_FP16_MATH=1 (fp16
 * storage and arithmetic), and embedded in the binary; lg_vk_pipeline_get picks the
 * variant the session's precision needs. shaders/common.glsl holds the storage type
 * macros every shader includes and the binding / push-constant / specialisation
 * conventions.
 *
 * Threads: a session's lg_device is used by one thread at a time (graph_compute holds
 * its lock); the shared per-GPU context (queue, memory, weights and pipeline caches)
 * locks itself. The device layer's own test kernel is op "Scale" of domain
 * "ai.legacygpu.test" (vk_ops_test.c, shaders/test_scale.comp).
 *
 *   static int relu_record(lg_vk_rec *r, const lg_dev_node *dn) {
 *       lg_device *d = lg_vk_rec_device(r);
 *       lg_vk_pipeline *p;
 *       LG_CHECK(lg_vk_pipeline_get(d, "unary", 2, sizeof(push), 0, NULL, &p));
 *       lg_vk_binding b[2] = { lg_vk_bind_tensor(d, dn->inputs[0]), lg_vk_bind_tensor(d, dn->outputs[0]) };
 *       struct { uint32_t n, op; } push = { (uint32_t)lg_tensor_numel_(dn->inputs[0]), 1 };
 *       return lg_vk_dispatch(r, p, 2, b, &push, sizeof(push), lg_vk_groups(push.n, 256), 1, 1);
 *   }
 */
#ifndef LG_VK_H
#define LG_VK_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/backend.h"

/* ---- devices ----------------------------------------------------------------------- */

typedef enum lg_vk_arch {
    LG_VK_ARCH_OTHER = 0,
    LG_VK_ARCH_AMD_GCN,        /* Polaris, Vega and earlier GCN: subgroup fixed at 64 */
    LG_VK_ARCH_AMD_RDNA,       /* subgroup 32 or 64 */
    LG_VK_ARCH_NVIDIA_PRE_TURING, /* Maxwell, Pascal, Volta */
    LG_VK_ARCH_NVIDIA_TURING,  /* Turing and newer */
    LG_VK_ARCH_INTEL,
    LG_VK_ARCH_LLVMPIPE,       /* Mesa's lavapipe: software, the CI device */
} lg_vk_arch;

/* Quirk bits (vk_quirks.c holds the table: which devices, why, where observed). */
enum {
    LG_VK_QUIRK_SMALL_SUBMITS = 1u << 0, /* split long partitions into several submits */
    LG_VK_QUIRK_NO_FP16 = 1u << 1,       /* never use fp16 arithmetic */
    LG_VK_QUIRK_NO_FP16_STORAGE = 1u << 2,
    LG_VK_QUIRK_BINDING_MARGIN = 1u << 3, /* maxStorageBufferRange is optimistic: keep below it */
};

typedef struct lg_vk_caps {
    char name[256];
    uint32_t vendor_id, device_id;
    char vendor[32];              /* "amd", "nvidia", "intel", "mesa", ... */
    char driver_name[64], driver_info[128];
    uint32_t driver_version, api_version;
    char type[24];                /* "discrete", "integrated", "virtual", "cpu", "other" */
    int n_heaps;
    uint64_t heap_bytes[16];
    bool heap_device_local[16];
    uint64_t device_local_bytes;  /* largest device-local heap */
    uint64_t max_alloc_bytes;     /* maxMemoryAllocationSize */
    uint64_t max_storage_range;   /* maxStorageBufferRange, after quirks and test caps */
    uint64_t min_storage_align;   /* minStorageBufferOffsetAlignment */
    uint32_t subgroup_min, subgroup_max;
    uint32_t max_workgroup_invocations;
    uint32_t max_shared_bytes;
    bool storage16;               /* 16-bit storage buffer access */
    bool fp16_math;               /* shaderFloat16 */
    bool int8_math;               /* shaderInt8 */
    bool int64_math;              /* shaderInt64 */
    lg_vk_arch arch;
    uint32_t quirks;
    double fp32_gflops_est;       /* rough peak estimate, or 0 */
    /* Added by the device layer: */
    uint32_t driver_id;           /* VkDriverId (0 when the driver does not say) */
    uint32_t compute_units;       /* AMD (VK_AMD_shader_core_properties), else 0 */
    bool subgroup_size_control;   /* requiredSubgroupSize usable in compute */
    uint64_t mem_limit_bytes;     /* device-local bytes usable: heap, or LEGACYGPU_VK_MEM_LIMIT_MB */
    int heap_index;               /* the heap tensors and weights come from */
} lg_vk_caps;

const char *lg_vk_arch_name(lg_vk_arch a);
/* "small_submits", ... for quirk bit q (one bit), or NULL. */
const char *lg_vk_quirk_name(uint32_t q);

/* The shader variant a session uses (index into the embedded SPIR-V). */
typedef enum lg_vk_variant {
    LG_VK_VARIANT_FP32 = 0,      /* fp32 storage, fp32 arithmetic */
    LG_VK_VARIANT_FP16 = 1,      /* fp16 storage of float tensors, fp32 arithmetic */
    LG_VK_VARIANT_FP16_MATH = 2, /* fp16 storage and fp16 arithmetic */
} lg_vk_variant;

/* What this session's device is and how it stores floats. */
const lg_vk_caps *lg_vk_device_caps(const lg_device *d);
bool lg_vk_fp16_storage(const lg_device *d); /* float tensors stored as fp16 */
bool lg_vk_fp16_math(const lg_device *d);    /* shaders compute in fp16 */
lg_vk_variant lg_vk_device_variant(const lg_device *d);
/* The device's name ("llvmpipe (LLVM 15.0.6, 256 bits)"), for error messages. */
const char *lg_vk_device_name(const lg_device *d);
/* Validation (LEGACYGPU_VK_VALIDATE=1): whether the Khronos layer is on, and how many
 * warnings and errors it has reported in this process. */
bool lg_vk_validation_enabled(void);
unsigned lg_vk_validation_messages(void);

/* ---- memory -------------------------------------------------------------------------- */

/* A binding: a range of a device buffer. */
typedef struct lg_vk_binding {
    const lg_buffer *buf;
    uint64_t offset, range;
} lg_vk_binding;

/* The binding of a device tensor (its buf, offset and storage bytes). */
lg_vk_binding lg_vk_bind_tensor(lg_device *d, const lg_tensor *t);

/* Weights: device-local copies of constant tensors, cached per device by (key, variant)
 * so sessions of one model share them; reference-counted. */
typedef struct lg_vk_weight lg_vk_weight;
/* The cache key is (key, variant, whether the session stores fp16): sessions of other
 * precisions never share bytes. key must stay valid and unique while the weight lives:
 * the model's constant tensor (lg_dev_node inputs with data), which every session of the
 * model shares; variant tells apart layouts a kernel makes of the same constant. The
 * upload is synchronous (through staging, or a memcpy where the host sees device
 * memory). Out of device memory: LG_E_NOMEM naming the node being prepared, the size
 * and the heap; the session (with --backend auto) then falls back to the CPU. */
/* Uploads bytes (already in device layout) under (key, variant). */
int lg_vk_weights_upload(lg_device *d, const void *key, uint32_t variant, const void *data, uint64_t bytes,
                         lg_vk_weight **out);
/* Uploads n floats, stored as fp16 when the session stores fp16. */
int lg_vk_weights_upload_f32(lg_device *d, const void *key, uint32_t variant, const float *data, int64_t n,
                             lg_vk_weight **out);
void lg_vk_weights_release(lg_device *d, lg_vk_weight *w);
lg_vk_binding lg_vk_weight_binding(const lg_vk_weight *w);
/* Device-local bytes this device's context has allocated (blocks), for tests. */
uint64_t lg_vk_memory_in_use(const lg_device *d);

/* ---- pipelines ----------------------------------------------------------------------- */

typedef struct lg_vk_pipeline lg_vk_pipeline;

/* The compute pipeline of shader `name` (shaders/NAME.comp) with n_bindings storage
 * buffers at bindings 0..n-1, push_bytes of push constants and n_spec specialisation
 * constants (constant_id 0..n_spec-1). Built once per device and spec values, cached for
 * the device's life and on disk (VkPipelineCache). Owned by the device. */
int lg_vk_pipeline_get(lg_device *d, const char *name, int n_bindings, uint32_t push_bytes, int n_spec,
                       const uint32_t *spec, lg_vk_pipeline **out);
/* The on-disk pipeline cache: its path, and how many bytes were loaded from it when the
 * device context opened (0: none or ignored as corrupt / from another driver). */
const char *lg_vk_pipeline_cache_path(const lg_device *d);
uint64_t lg_vk_pipeline_cache_loaded(const lg_device *d);

/* ---- recording ----------------------------------------------------------------------- */

typedef struct lg_vk_rec lg_vk_rec; /* the command buffer of one graph_compute */

lg_device *lg_vk_rec_device(lg_vk_rec *r);
/* Adds a dispatch; a memory barrier separates it from the previous operation. Bindings
 * must start at multiples of caps.min_storage_align (asserted) and be at most
 * caps.max_storage_range bytes (LG_E_LIMIT naming the shader, node and binding); group
 * counts at most maxComputeWorkGroupCount (LG_E_LIMIT); a zero count records nothing.
 * Under the SMALL_SUBMITS quirk the command buffer is submitted every 32 dispatches. */
int lg_vk_dispatch(lg_vk_rec *r, lg_vk_pipeline *p, int n_bind, const lg_vk_binding *b, const void *push,
                   uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz);
/* Copies bytes between device buffers (views, Reshape); any size, barrier before it. */
int lg_vk_copy(lg_vk_rec *r, lg_vk_binding src, lg_vk_binding dst, uint64_t bytes);
/* ceil(n / per): workgroup counts. */
static inline uint32_t lg_vk_groups(uint64_t n, uint32_t per) { return (uint32_t)((n + per - 1) / per); }

/* ---- kernels ------------------------------------------------------------------------- */

typedef struct lg_vk_op {
    const char *name;
    const char *domain;   /* "" = default ONNX domain */
    int since, until;     /* opsets */
    /* Shapes/dtypes this kernel handles; *host_inputs as in lg_backend_i.supports_node. */
    bool (*supports)(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in, int n_out,
                     const lg_tensor *const *out, uint32_t *host_inputs);
    /* Optional: once per session (weights, pipelines). */
    int (*prepare)(lg_device *d, const lg_dev_node *dn, void **state);
    void (*release)(lg_device *d, void *state);
    int (*record)(lg_vk_rec *r, const lg_dev_node *dn);
    /* Optional: whether output 0 can take a fused activation / residual Add. */
    bool (*epilogue)(const lg_node *n, const lg_act *act, bool residual);
} lg_vk_op;

/* The kernel for op_type in domain at opset, or NULL. */
const lg_vk_op *lg_vk_op_find(const char *domain, const char *op_type, int opset);

#endif
