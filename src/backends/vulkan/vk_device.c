/*
 * vk_device.c: the Vulkan instance (one per process, created lazily), enumeration of
 * physical devices (LEGACYGPU_VK_DEVICES filters them), their caps, the shared
 * reference-counted per-GPU context (VkDevice, compute queue) and the per-session
 * lg_device. With LEGACYGPU_VK_VALIDATE=1 the Khronos validation layer runs with a
 * debug messenger: every warning and error is printed and counted, and the next device
 * call of a session fails with LG_E_DEVICE naming it.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/vk_internal.h"
#include "base/error.h"

#define LG_VK_MAX_DEVICES 16

static struct {
    pthread_once_t once;
    pthread_mutex_t lock; /* contexts */
    VkInstance inst;
    VkDebugUtilsMessengerEXT messenger;
    bool validate;
    bool validate_missing;     /* LEGACYGPU_VK_VALIDATE=require and the layer is absent */
    int n;
    lg_vk_phys devs[LG_VK_MAX_DEVICES];
    atomic_uint n_messages;
    pthread_mutex_t msg_lock;
    char last_message[512];
} g = { .once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER, .msg_lock = PTHREAD_MUTEX_INITIALIZER };

/* ---- results --------------------------------------------------------------------- */

static const struct {
    VkResult r;
    const char *name;
} results[] = {
    { VK_SUCCESS, "VK_SUCCESS" },
    { VK_NOT_READY, "VK_NOT_READY" },
    { VK_TIMEOUT, "VK_TIMEOUT" },
    { VK_INCOMPLETE, "VK_INCOMPLETE" },
    { VK_ERROR_OUT_OF_HOST_MEMORY, "VK_ERROR_OUT_OF_HOST_MEMORY" },
    { VK_ERROR_OUT_OF_DEVICE_MEMORY, "VK_ERROR_OUT_OF_DEVICE_MEMORY" },
    { VK_ERROR_INITIALIZATION_FAILED, "VK_ERROR_INITIALIZATION_FAILED" },
    { VK_ERROR_DEVICE_LOST, "VK_ERROR_DEVICE_LOST" },
    { VK_ERROR_MEMORY_MAP_FAILED, "VK_ERROR_MEMORY_MAP_FAILED" },
    { VK_ERROR_LAYER_NOT_PRESENT, "VK_ERROR_LAYER_NOT_PRESENT" },
    { VK_ERROR_EXTENSION_NOT_PRESENT, "VK_ERROR_EXTENSION_NOT_PRESENT" },
    { VK_ERROR_FEATURE_NOT_PRESENT, "VK_ERROR_FEATURE_NOT_PRESENT" },
    { VK_ERROR_INCOMPATIBLE_DRIVER, "VK_ERROR_INCOMPATIBLE_DRIVER" },
    { VK_ERROR_TOO_MANY_OBJECTS, "VK_ERROR_TOO_MANY_OBJECTS" },
    { VK_ERROR_FRAGMENTED_POOL, "VK_ERROR_FRAGMENTED_POOL" },
    { VK_ERROR_OUT_OF_POOL_MEMORY, "VK_ERROR_OUT_OF_POOL_MEMORY" },
    { VK_ERROR_UNKNOWN, "VK_ERROR_UNKNOWN" },
};

const char *lg_vk_result_name(VkResult r)
{
    for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++)
        if (results[i].r == r) return results[i].name;
    return "VkResult (unknown)";
}

int lg_vk_fail(lg_vk_ctx *c, VkResult r, const char *what)
{
    if (r == VK_ERROR_DEVICE_LOST) {
        c->lost = true;
        return lg_error(LG_E_DEVICE, "vulkan: device lost on '%s' while %s", c->caps.name, what);
    }
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
        return lg_error(LG_E_NOMEM, "vulkan: %s on '%s' while %s", lg_vk_result_name(r), c->caps.name, what);
    return lg_error(LG_E_DEVICE, "vulkan: %s on '%s' while %s", lg_vk_result_name(r), c->caps.name, what);
}

/* ---- validation ------------------------------------------------------------------ */

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT sev,
                                                 VkDebugUtilsMessageTypeFlagsEXT type,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)user;
    const char *msg = data && data->pMessage ? data->pMessage : "(no text)";
    bool error = sev & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    fprintf(stderr, "legacygpu: vulkan validation %s: %s\n", error ? "error" : "warning", msg);
    /* Every validation warning or error counts; general (loader) messages only as errors. */
    if (error || (type & (VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT))) {
        pthread_mutex_lock(&g.msg_lock);
        snprintf(g.last_message, sizeof(g.last_message), "%s", msg);
        pthread_mutex_unlock(&g.msg_lock);
        atomic_fetch_add(&g.n_messages, 1);
    }
    return VK_FALSE;
}

bool lg_vk_validation_enabled(void)
{
    lg_vk_count();
    return g.validate;
}

unsigned lg_vk_validation_messages(void) { return atomic_load(&g.n_messages); }

int lg_vk_check_validation(lg_device *d)
{
    unsigned n = atomic_load(&g.n_messages);
    if (n == d->validation_seen) return LG_OK;
    unsigned first = d->validation_seen;
    d->validation_seen = n;
    pthread_mutex_lock(&g.msg_lock);
    int rc = lg_error(LG_E_DEVICE, "vulkan: %u validation message(s) on '%s', the last: %s", n - first,
                      d->ctx->caps.name, g.last_message);
    pthread_mutex_unlock(&g.msg_lock);
    return rc;
}

/* ---- instance and enumeration ------------------------------------------------------ */

static bool has_layer(const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return false;
    VkLayerProperties *p = calloc(n, sizeof(*p));
    bool found = false;
    if (p && vkEnumerateInstanceLayerProperties(&n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(p[i].layerName, name);
    free(p);
    return found;
}

static bool has_device_ext(VkPhysicalDevice pd, const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || n == 0) return false;
    VkExtensionProperties *p = calloc(n, sizeof(*p));
    bool found = false;
    if (p && vkEnumerateDeviceExtensionProperties(pd, NULL, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(p[i].extensionName, name);
    free(p);
    return found;
}

static const struct {
    uint32_t id;
    const char *name;
} vendors[] = {
    { 0x1002, "amd" }, { 0x10de, "nvidia" }, { 0x8086, "intel" }, { 0x10005, "mesa" },
    { 0x13b5, "arm" }, { 0x5143, "qualcomm" }, { 0x1010, "imgtec" }, { 0x106b, "apple" },
};

static const struct {
    VkPhysicalDeviceType t;
    const char *name;
} types[] = {
    { VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, "discrete" }, { VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU, "integrated" },
    { VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU, "virtual" },   { VK_PHYSICAL_DEVICE_TYPE_CPU, "cpu" },
};

static uint64_t env_mb(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    char *end;
    unsigned long long mb = strtoull(v, &end, 10);
    if (*end || mb == 0) {
        fprintf(stderr, "legacygpu: %s='%s' is not a positive number of MiB; ignored\n", name, v);
        return 0;
    }
    return (uint64_t)mb << 20;
}

static void fill_caps(lg_vk_phys *p)
{
    lg_vk_caps *c = &p->caps;
    VkPhysicalDevice pd = p->phys;
    VkPhysicalDeviceProperties props0;
    vkGetPhysicalDeviceProperties(pd, &props0);
    uint32_t api = props0.apiVersion;
    bool v12 = api >= VK_API_VERSION_1_2, v13 = api >= VK_API_VERSION_1_3;
    bool ext_driver = v12 || has_device_ext(pd, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
    p->ext_f16i8 = !v12 && has_device_ext(pd, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
    p->ext_ssc = !v13 && has_device_ext(pd, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    bool amd_cores = has_device_ext(pd, VK_AMD_SHADER_CORE_PROPERTIES_EXTENSION_NAME);
    bool coopmat = has_device_ext(pd, "VK_NV_cooperative_matrix") || has_device_ext(pd, "VK_KHR_cooperative_matrix");

    VkPhysicalDeviceProperties2 props = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2 };
    VkPhysicalDeviceMaintenance3Properties m3 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES };
    VkPhysicalDeviceSubgroupProperties sg = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES };
    VkPhysicalDeviceSubgroupSizeControlProperties ssc = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES
    };
    VkPhysicalDeviceDriverProperties drv = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES };
    VkPhysicalDeviceShaderCorePropertiesAMD cores = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_CORE_PROPERTIES_AMD };
    props.pNext = &m3;
    m3.pNext = &sg;
    void **tail = &sg.pNext;
    if (v13 || p->ext_ssc) {
        *tail = &ssc;
        tail = &ssc.pNext;
    }
    if (ext_driver) {
        *tail = &drv;
        tail = &drv.pNext;
    }
    if (amd_cores) *tail = &cores;
    vkGetPhysicalDeviceProperties2(pd, &props);

    VkPhysicalDeviceFeatures2 feats = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2 };
    VkPhysicalDevice16BitStorageFeatures s16 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES };
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES
    };
    VkPhysicalDeviceSubgroupSizeControlFeatures sscf = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES
    };
    feats.pNext = &s16;
    tail = &s16.pNext;
    if (v12 || p->ext_f16i8) {
        *tail = &f16;
        tail = &f16.pNext;
    }
    if (v13 || p->ext_ssc) *tail = &sscf;
    vkGetPhysicalDeviceFeatures2(pd, &feats);

    const VkPhysicalDeviceProperties *pp = &props.properties;
    snprintf(c->name, sizeof(c->name), "%s", pp->deviceName);
    c->vendor_id = pp->vendorID;
    c->device_id = pp->deviceID;
    snprintf(c->vendor, sizeof(c->vendor), "0x%x", pp->vendorID);
    for (size_t i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++)
        if (vendors[i].id == pp->vendorID) snprintf(c->vendor, sizeof(c->vendor), "%s", vendors[i].name);
    if (ext_driver) {
        snprintf(c->driver_name, sizeof(c->driver_name), "%s", drv.driverName);
        snprintf(c->driver_info, sizeof(c->driver_info), "%s", drv.driverInfo);
        c->driver_id = (uint32_t)drv.driverID;
    }
    c->driver_version = pp->driverVersion;
    c->api_version = pp->apiVersion;
    snprintf(c->type, sizeof(c->type), "other");
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (types[i].t == pp->deviceType) snprintf(c->type, sizeof(c->type), "%s", types[i].name);
    memcpy(p->cache_uuid, pp->pipelineCacheUUID, VK_UUID_SIZE);

    VkPhysicalDeviceMemoryProperties mem;
    vkGetPhysicalDeviceMemoryProperties(pd, &mem);
    c->n_heaps = (int)(mem.memoryHeapCount < 16 ? mem.memoryHeapCount : 16);
    c->heap_index = 0;
    for (int h = 0; h < c->n_heaps; h++) {
        c->heap_bytes[h] = mem.memoryHeaps[h].size;
        c->heap_device_local[h] = mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT;
        if (c->heap_device_local[h] && c->heap_bytes[h] > c->device_local_bytes) {
            c->device_local_bytes = c->heap_bytes[h];
            c->heap_index = h;
        }
    }
    if (c->device_local_bytes == 0 && c->n_heaps > 0) c->device_local_bytes = c->heap_bytes[0];
    c->max_alloc_bytes = m3.maxMemoryAllocationSize;
    c->max_storage_range = pp->limits.maxStorageBufferRange;
    c->min_storage_align = pp->limits.minStorageBufferOffsetAlignment;
    if (c->min_storage_align < 16) c->min_storage_align = 16;
    c->subgroup_min = c->subgroup_max = sg.subgroupSize;
    p->f_ssc = sscf.subgroupSizeControl;
    p->f_full_subgroups = sscf.computeFullSubgroups;
    if ((v13 || p->ext_ssc) && ssc.minSubgroupSize) {
        c->subgroup_min = ssc.minSubgroupSize;
        c->subgroup_max = ssc.maxSubgroupSize;
        c->subgroup_size_control = sscf.subgroupSizeControl && (ssc.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT);
    }
    c->max_workgroup_invocations = pp->limits.maxComputeWorkGroupInvocations;
    c->max_shared_bytes = pp->limits.maxComputeSharedMemorySize;
    c->storage16 = s16.storageBuffer16BitAccess;
    c->fp16_math = f16.shaderFloat16;
    c->int8_math = f16.shaderInt8;
    c->int64_math = feats.features.shaderInt64;
    if (amd_cores)
        c->compute_units = cores.shaderEngineCount * cores.shaderArraysPerEngineCount * cores.computeUnitsPerShaderArray;
    lg_vk_classify(c, coopmat);
    lg_vk_apply_limits(c);
    c->mem_limit_bytes = c->device_local_bytes;
    uint64_t cap = env_mb("LEGACYGPU_VK_MEM_LIMIT_MB");
    if (cap && cap < c->mem_limit_bytes) c->mem_limit_bytes = cap;
}

/* LEGACYGPU_VK_DEVICES="1,0": which of the driver's devices to use, in that order. */
static int visible(int n_all, int *order)
{
    const char *v = getenv("LEGACYGPU_VK_DEVICES");
    if (!v || !*v) {
        for (int i = 0; i < n_all; i++) order[i] = i;
        return n_all;
    }
    int n = 0;
    const char *p = v;
    while (*p && n < LG_VK_MAX_DEVICES) {
        char *end;
        long i = strtol(p, &end, 10);
        if (end == p || i < 0 || i >= n_all || (*end && *end != ',')) {
            fprintf(stderr, "legacygpu: LEGACYGPU_VK_DEVICES='%s': expected a comma list of device indices 0..%d; "
                            "entry '%.*s' ignored\n", v, n_all - 1, (int)strcspn(p, ","), p);
        } else {
            bool dup = false;
            for (int k = 0; k < n; k++) dup |= order[k] == i;
            if (!dup) order[n++] = (int)i;
        }
        p += strcspn(p, ",");
        if (*p == ',') p++;
    }
    return n;
}

static void init_instance(void)
{
    const char *val = getenv("LEGACYGPU_VK_VALIDATE");
    bool want_validate = val && *val && strcmp(val, "0");
    uint32_t loader = VK_API_VERSION_1_0;
    if (vkEnumerateInstanceVersion(&loader) != VK_SUCCESS || loader < VK_API_VERSION_1_1) return;
    const char *layers[1], *exts[2];
    uint32_t n_layers = 0, n_exts = 0;
    if (want_validate) {
        if (has_layer("VK_LAYER_KHRONOS_validation")) {
            layers[n_layers++] = "VK_LAYER_KHRONOS_validation";
            exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
        } else if (!strcmp(val, "require")) {
            g.validate_missing = true; /* every device open fails, saying why */
        } else {
            fprintf(stderr, "legacygpu: LEGACYGPU_VK_VALIDATE: the layer VK_LAYER_KHRONOS_validation is not installed "
                            "(Debian: vulkan-validationlayers); running without validation\n");
        }
    }
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "legacygpu",
        .pEngineName = "legacygpu",
        .apiVersion = loader >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : loader,
    };
    VkDebugUtilsMessengerCreateInfoEXT mci = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_message,
    };
    VkInstanceCreateInfo ici = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = n_layers ? &mci : NULL, /* also reports instance creation itself */
        .pApplicationInfo = &app,
        .enabledLayerCount = n_layers,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = n_exts,
        .ppEnabledExtensionNames = exts,
    };
    if (vkCreateInstance(&ici, NULL, &g.inst) != VK_SUCCESS) {
        g.inst = VK_NULL_HANDLE;
        return;
    }
    if (n_layers) {
        PFN_vkCreateDebugUtilsMessengerEXT create =
            (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(g.inst, "vkCreateDebugUtilsMessengerEXT");
        g.validate = create && create(g.inst, &mci, NULL, &g.messenger) == VK_SUCCESS;
    }
    uint32_t n_all = 0;
    if (vkEnumeratePhysicalDevices(g.inst, &n_all, NULL) != VK_SUCCESS || n_all == 0) return;
    if (n_all > LG_VK_MAX_DEVICES) n_all = LG_VK_MAX_DEVICES;
    VkPhysicalDevice all[LG_VK_MAX_DEVICES];
    if (vkEnumeratePhysicalDevices(g.inst, &n_all, all) < 0) return;
    int order[LG_VK_MAX_DEVICES];
    int n = visible((int)n_all, order);
    for (int k = 0; k < n; k++) {
        VkPhysicalDeviceProperties pp;
        vkGetPhysicalDeviceProperties(all[order[k]], &pp);
        if (pp.apiVersion < VK_API_VERSION_1_1) {
            fprintf(stderr, "legacygpu: vulkan device '%s' has Vulkan %u.%u only (1.1 needed); skipped\n",
                    pp.deviceName, VK_API_VERSION_MAJOR(pp.apiVersion), VK_API_VERSION_MINOR(pp.apiVersion));
            continue;
        }
        lg_vk_phys *p = &g.devs[g.n++];
        p->phys = all[order[k]];
        fill_caps(p);
    }
}

int lg_vk_count(void)
{
    pthread_once(&g.once, init_instance);
    return g.n;
}

const lg_vk_caps *lg_vk_caps_of(int dev)
{
    if (dev < 0 || dev >= lg_vk_count()) return NULL;
    return &g.devs[dev].caps;
}

/* ---- the shared per-GPU context ---------------------------------------------------- */

static void ctx_destroy(lg_vk_ctx *c)
{
    if (c->dev) {
        vkDeviceWaitIdle(c->dev);
        lg_vk_pcache_close(c);
        lg_vk_weights_fini(c);
        lg_vk_mem_fini(c);
        if (c->upload_pool) vkDestroyCommandPool(c->dev, c->upload_pool, NULL);
        vkDestroyDevice(c->dev, NULL);
    }
    pthread_mutex_destroy(&c->queue_lock);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static int ctx_create(int dev, lg_vk_ctx **out)
{
    lg_vk_phys *p = &g.devs[dev];
    lg_vk_ctx *c = calloc(1, sizeof(*c));
    if (!c) return lg_error(LG_E_NOMEM, "vulkan: out of memory opening device %d", dev);
    c->index = dev;
    c->pd = p;
    c->phys = p->phys;
    c->caps = p->caps;
    pthread_mutex_init(&c->queue_lock, NULL);
    pthread_mutex_init(&c->lock, NULL);

    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(c->phys, &nq, NULL);
    VkQueueFamilyProperties qf[32];
    if (nq > 32) nq = 32;
    vkGetPhysicalDeviceQueueFamilyProperties(c->phys, &nq, qf);
    /* A compute-only family first (AMD's async compute queues, as ncnn and ggml pick),
     * else any family with compute. */
    c->qfam = UINT32_MAX;
    for (int pass = 0; pass < 2 && c->qfam == UINT32_MAX; pass++)
        for (uint32_t i = 0; i < nq && c->qfam == UINT32_MAX; i++)
            if ((qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && (pass == 1 || !(qf[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)))
                c->qfam = i;
    if (c->qfam == UINT32_MAX) {
        ctx_destroy(c);
        return lg_error(LG_E_DEVICE, "vulkan: device '%s' has no compute queue", p->caps.name);
    }

    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = c->qfam,
        .queueCount = 1,
        .pQueuePriorities = &prio,
    };
    VkPhysicalDeviceFeatures2 feats = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2 };
    feats.features.shaderInt64 = c->caps.int64_math;
    VkPhysicalDevice16BitStorageFeatures s16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .storageBuffer16BitAccess = c->caps.storage16,
    };
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
        .shaderFloat16 = c->caps.fp16_math,
        .shaderInt8 = c->caps.int8_math,
    };
    VkPhysicalDeviceSubgroupSizeControlFeatures ssc = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES,
        .subgroupSizeControl = p->f_ssc,
        .computeFullSubgroups = p->f_full_subgroups,
    };
    const char *exts[4];
    uint32_t n_exts = 0;
    feats.pNext = &s16;
    void **tail = &s16.pNext;
    bool v12 = c->caps.api_version >= VK_API_VERSION_1_2, v13 = c->caps.api_version >= VK_API_VERSION_1_3;
    if ((v12 || p->ext_f16i8) && (f16.shaderFloat16 || f16.shaderInt8)) {
        *tail = &f16;
        tail = &f16.pNext;
        if (!v12) exts[n_exts++] = VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME;
    }
    if ((v13 || p->ext_ssc) && p->f_ssc) {
        *tail = &ssc;
        if (!v13) exts[n_exts++] = VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME;
    }
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = &feats,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
        .enabledExtensionCount = n_exts,
        .ppEnabledExtensionNames = exts,
    };
    VkResult r = vkCreateDevice(c->phys, &dci, NULL, &c->dev);
    if (r != VK_SUCCESS) {
        c->dev = VK_NULL_HANDLE;
        int rc = lg_error(LG_E_DEVICE, "vulkan: cannot create a device on '%s': %s", p->caps.name, lg_vk_result_name(r));
        ctx_destroy(c);
        return rc;
    }
    vkGetDeviceQueue(c->dev, c->qfam, 0, &c->queue);
    VkPhysicalDeviceProperties pp;
    vkGetPhysicalDeviceProperties(c->phys, &pp);
    memcpy(c->max_groups, pp.limits.maxComputeWorkGroupCount, sizeof(c->max_groups));
    VkCommandPoolCreateInfo pci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT,
        .queueFamilyIndex = c->qfam,
    };
    int rc;
    if ((r = vkCreateCommandPool(c->dev, &pci, NULL, &c->upload_pool)) != VK_SUCCESS) {
        rc = lg_vk_fail(c, r, "creating a command pool");
        ctx_destroy(c);
        return rc;
    }
    if ((rc = lg_vk_mem_init(c)) != LG_OK) {
        ctx_destroy(c);
        return rc;
    }
    lg_vk_pcache_open(c);
    *out = c;
    return LG_OK;
}

/* ---- sessions -------------------------------------------------------------------- */

int lg_vk_open(int dev, const lg_device_config *cfg, lg_device **out)
{
    *out = NULL;
    int n = lg_vk_count();
    if (dev < 0 || dev >= n)
        return lg_error(LG_E_NOT_FOUND, "vulkan: no device %d (%d device(s) found%s)", dev, n,
                        getenv("LEGACYGPU_VK_DEVICES") ? " after LEGACYGPU_VK_DEVICES" : "");
    if (g.validate_missing)
        return lg_error(LG_E_DEVICE, "vulkan: LEGACYGPU_VK_VALIDATE=require, but the layer VK_LAYER_KHRONOS_validation "
                                     "is not installed (Debian: vulkan-validationlayers)");
    unsigned seen = lg_vk_validation_messages();
    lg_device *d = calloc(1, sizeof(*d));
    if (!d) return lg_error(LG_E_NOMEM, "vulkan: out of memory opening device %d", dev);
    pthread_mutex_lock(&g.lock);
    lg_vk_phys *p = &g.devs[dev];
    int rc = LG_OK;
    /* A lost context stays with the sessions that hold it; new sessions get a new one. */
    if (p->ctx && p->ctx->lost) p->ctx = NULL;
    if (!p->ctx) rc = ctx_create(dev, &p->ctx);
    if (rc == LG_OK) p->ctx->refs++;
    pthread_mutex_unlock(&g.lock);
    if (rc != LG_OK) {
        free(d);
        return rc;
    }
    d->ctx = p->ctx;
    d->validation_seen = seen;
    pthread_mutex_init(&d->lock, NULL);
    if (cfg) d->cfg = *cfg;
    const lg_vk_caps *c = &d->ctx->caps;
    d->fp16_storage = d->cfg.precision == LG_PRECISION_FP16 && c->storage16 && !(c->quirks & LG_VK_QUIRK_NO_FP16_STORAGE);
    d->fp16_math = d->fp16_storage && c->fp16_math && !(c->quirks & LG_VK_QUIRK_NO_FP16);
    d->variant = d->fp16_math ? LG_VK_VARIANT_FP16_MATH : d->fp16_storage ? LG_VK_VARIANT_FP16 : LG_VK_VARIANT_FP32;
    if ((rc = lg_vk_cmd_init(d)) != LG_OK || (rc = lg_vk_check_validation(d)) != LG_OK) {
        lg_vk_close(d);
        return rc;
    }
    *out = d;
    return LG_OK;
}

void lg_vk_close(lg_device *d)
{
    if (!d) return;
    lg_vk_cmd_fini(d);
    pthread_mutex_destroy(&d->lock);
    pthread_mutex_lock(&g.lock);
    lg_vk_ctx *c = d->ctx;
    if (--c->refs == 0) {
        if (g.devs[c->index].ctx == c) g.devs[c->index].ctx = NULL;
        ctx_destroy(c);
    }
    pthread_mutex_unlock(&g.lock);
    free(d);
}

/* ---- what kernels ask ------------------------------------------------------------- */

const lg_vk_caps *lg_vk_device_caps(const lg_device *d) { return &d->ctx->caps; }
bool lg_vk_fp16_storage(const lg_device *d) { return d->fp16_storage; }
bool lg_vk_fp16_math(const lg_device *d) { return d->fp16_math; }
lg_vk_variant lg_vk_device_variant(const lg_device *d) { return d->variant; }
const char *lg_vk_device_name(const lg_device *d) { return d->ctx->caps.name; }
