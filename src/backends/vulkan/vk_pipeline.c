/*
 * vk_pipeline.c: compute pipelines from the embedded SPIR-V. A pipeline (descriptor set
 * layout of n storage buffers, one push-constant range, specialisation constants 0..n-1)
 * is built once per GPU context and (shader, variant, spec values), through a
 * VkPipelineCache kept on disk at
 *   $XDG_CACHE_HOME/legacygpu/vk-<vendor>-<device>-<driverversion>-<pipelineCacheUUID>.bin
 * (else ~/.cache/legacygpu/...), loaded when the context opens (a corrupt file or one
 * from another driver is ignored) and written atomically (tmp + rename) when it closes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/vulkan/vk_internal.h"
#include "backends/vulkan/vk_spirv.h"
#include "base/error.h"

static int by_name(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const lg_vk_spirv *)elem)->name);
}

const lg_vk_spirv *lg_vk_spirv_find(const char *name)
{
    return bsearch(name, lg_vk_spirv_table, (size_t)lg_vk_spirv_count, sizeof(lg_vk_spirv), by_name);
}

/* ---- the cache file ------------------------------------------------------------------ */

static int mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        int rc = mkdir(path, 0755);
        *p = '/';
        if (rc != 0 && errno != EEXIST) return -1;
    }
    return 0;
}

static void cache_path(lg_vk_ctx *c)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char dir[384];
    if (xdg && xdg[0] == '/') snprintf(dir, sizeof(dir), "%s/legacygpu", xdg);
    else if (home && *home) snprintf(dir, sizeof(dir), "%s/.cache/legacygpu", home);
    else {
        c->pcache_path[0] = 0;
        return;
    }
    char uuid[2 * VK_UUID_SIZE + 1];
    for (unsigned i = 0; i < VK_UUID_SIZE; i++) snprintf(uuid + 2 * i, 3, "%02x", c->pd->cache_uuid[i]);
    snprintf(c->pcache_path, sizeof(c->pcache_path), "%s/vk-%04x-%04x-%u-%s.bin", dir, c->caps.vendor_id,
             c->caps.device_id, c->caps.driver_version, uuid);
}

/* Whether data starts with a VkPipelineCacheHeaderVersionOne for this device. */
static bool header_ok(const lg_vk_ctx *c, const uint8_t *data, size_t n)
{
    if (n < 32) return false;
    uint32_t len, version, vendor, device;
    memcpy(&len, data, 4);
    memcpy(&version, data + 4, 4);
    memcpy(&vendor, data + 8, 4);
    memcpy(&device, data + 12, 4);
    return len >= 32 && version == VK_PIPELINE_CACHE_HEADER_VERSION_ONE && vendor == c->caps.vendor_id &&
           device == c->caps.device_id && !memcmp(data + 16, c->pd->cache_uuid, VK_UUID_SIZE);
}

static void *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    void *data = NULL;
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (len > 0 && len < (256l << 20) && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)len)) &&
        fread(data, 1, (size_t)len, f) != (size_t)len) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *n = data ? (size_t)len : 0;
    return data;
}

void lg_vk_pcache_open(lg_vk_ctx *c)
{
    cache_path(c);
    size_t n = 0;
    void *data = c->pcache_path[0] ? read_file(c->pcache_path, &n) : NULL;
    if (data && !header_ok(c, data, n)) {
        free(data);
        data = NULL;
        n = 0;
    }
    VkPipelineCacheCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
        .initialDataSize = n,
        .pInitialData = data,
    };
    if (vkCreatePipelineCache(c->dev, &ci, NULL, &c->pcache) != VK_SUCCESS) {
        /* The driver refused the data: start empty. */
        ci.initialDataSize = 0;
        ci.pInitialData = NULL;
        n = 0;
        if (vkCreatePipelineCache(c->dev, &ci, NULL, &c->pcache) != VK_SUCCESS) c->pcache = VK_NULL_HANDLE;
    }
    c->pcache_loaded = n;
    free(data);
}

static void pcache_save(lg_vk_ctx *c)
{
    size_t n = 0;
    if (!c->pcache || !c->pcache_path[0] || vkGetPipelineCacheData(c->dev, c->pcache, &n, NULL) != VK_SUCCESS || !n)
        return;
    void *data = malloc(n);
    if (!data) return;
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.%d.tmp", c->pcache_path, (int)getpid());
    FILE *f = NULL;
    bool ok = vkGetPipelineCacheData(c->dev, c->pcache, &n, data) == VK_SUCCESS && mkdirs(c->pcache_path) == 0 &&
              (f = fopen(tmp, "wb")) != NULL;
    if (f) {
        ok = fwrite(data, 1, n, f) == n;
        ok = (fclose(f) == 0) && ok;
        ok = ok && rename(tmp, c->pcache_path) == 0;
        if (!ok) unlink(tmp);
    }
    /* A cache that cannot be written only costs time at the next start. */
    free(data);
}

static void pipeline_free(VkDevice dev, lg_vk_pipeline *p)
{
    if (p->pipe) vkDestroyPipeline(dev, p->pipe, NULL);
    if (p->layout) vkDestroyPipelineLayout(dev, p->layout, NULL);
    if (p->dsl) vkDestroyDescriptorSetLayout(dev, p->dsl, NULL);
    if (p->module) vkDestroyShaderModule(dev, p->module, NULL);
    free(p);
}

void lg_vk_pcache_close(lg_vk_ctx *c)
{
    while (c->pipelines) {
        lg_vk_pipeline *p = c->pipelines;
        c->pipelines = p->next;
        pipeline_free(c->dev, p);
    }
    if (c->pcache) {
        pcache_save(c);
        vkDestroyPipelineCache(c->dev, c->pcache, NULL);
        c->pcache = VK_NULL_HANDLE;
    }
}

const char *lg_vk_pipeline_cache_path(const lg_device *d) { return d->ctx->pcache_path; }
uint64_t lg_vk_pipeline_cache_loaded(const lg_device *d) { return d->ctx->pcache_loaded; }

/* ---- pipelines ------------------------------------------------------------------------ */

static int build(lg_vk_ctx *c, const lg_vk_spirv *sp, lg_vk_pipeline *p)
{
    VkResult r;
    VkShaderModuleCreateInfo smi = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = sp->words[p->variant] * 4,
        .pCode = sp->code[p->variant],
    };
    if ((r = vkCreateShaderModule(c->dev, &smi, NULL, &p->module)) != VK_SUCCESS)
        return lg_vk_fail(c, r, "creating a shader module");
    VkDescriptorSetLayoutBinding binds[16];
    for (int i = 0; i < p->n_bindings; i++)
        binds[i] = (VkDescriptorSetLayoutBinding){
            .binding = (uint32_t)i,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .descriptorCount = 1,
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        };
    VkDescriptorSetLayoutCreateInfo dli = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = (uint32_t)p->n_bindings,
        .pBindings = binds,
    };
    if ((r = vkCreateDescriptorSetLayout(c->dev, &dli, NULL, &p->dsl)) != VK_SUCCESS)
        return lg_vk_fail(c, r, "creating a descriptor set layout");
    VkPushConstantRange pcr = { .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = p->push_bytes };
    VkPipelineLayoutCreateInfo pli = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &p->dsl,
        .pushConstantRangeCount = p->push_bytes ? 1 : 0,
        .pPushConstantRanges = &pcr,
    };
    if ((r = vkCreatePipelineLayout(c->dev, &pli, NULL, &p->layout)) != VK_SUCCESS)
        return lg_vk_fail(c, r, "creating a pipeline layout");
    VkSpecializationMapEntry entries[16];
    for (int i = 0; i < p->n_spec; i++)
        entries[i] = (VkSpecializationMapEntry){ (uint32_t)i, (uint32_t)(4 * i), 4 };
    VkSpecializationInfo si = {
        .mapEntryCount = (uint32_t)p->n_spec,
        .pMapEntries = entries,
        .dataSize = (size_t)p->n_spec * 4,
        .pData = p->spec,
    };
    VkComputePipelineCreateInfo cpi = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
            .stage = VK_SHADER_STAGE_COMPUTE_BIT,
            .module = p->module,
            .pName = "main",
            .pSpecializationInfo = p->n_spec ? &si : NULL,
        },
        .layout = p->layout,
    };
    char what[128];
    snprintf(what, sizeof(what), "building the pipeline of shader '%s' (variant %d)", p->name, (int)p->variant);
    if ((r = vkCreateComputePipelines(c->dev, c->pcache, 1, &cpi, NULL, &p->pipe)) != VK_SUCCESS)
        return lg_vk_fail(c, r, what);
    return LG_OK;
}

static bool same(const lg_vk_pipeline *p, const char *name, lg_vk_variant v, int n_spec, const uint32_t *spec)
{
    return p->variant == v && p->n_spec == n_spec && !strcmp(p->name, name) &&
           (n_spec == 0 || !memcmp(p->spec, spec, (size_t)n_spec * 4));
}

int lg_vk_pipeline_get(lg_device *d, const char *name, int n_bindings, uint32_t push_bytes, int n_spec,
                       const uint32_t *spec, lg_vk_pipeline **out)
{
    *out = NULL;
    lg_vk_ctx *c = d->ctx;
    const lg_vk_spirv *sp = lg_vk_spirv_find(name);
    if (!sp) return lg_error(LG_E_UNSUPPORTED, "vulkan: no shader '%s' in this build (src/backends/vulkan/shaders)", name);
    if (n_bindings < 0 || n_bindings > 16 || n_spec < 0 || n_spec > 16 || push_bytes > 128 || push_bytes % 4 ||
        strlen(name) >= sizeof(((lg_vk_pipeline *)0)->name))
        return lg_error(LG_E_INVALID_ARG,
                        "vulkan: pipeline '%s': %d bindings (at most 16), %d spec constants (at most 16), "
                        "%u push bytes (a multiple of 4, at most 128)", name, n_bindings, n_spec, push_bytes);
    pthread_mutex_lock(&c->lock);
    lg_vk_pipeline *p;
    for (p = c->pipelines; p; p = p->next)
        if (same(p, name, d->variant, n_spec, spec)) break;
    int rc = LG_OK;
    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p) rc = lg_error(LG_E_NOMEM, "vulkan: out of host memory");
        else {
            snprintf(p->name, sizeof(p->name), "%s", name);
            p->variant = d->variant;
            p->n_spec = n_spec;
            if (n_spec) memcpy(p->spec, spec, (size_t)n_spec * 4);
            p->n_bindings = n_bindings;
            p->push_bytes = push_bytes;
            if ((rc = build(c, sp, p)) == LG_OK) {
                p->next = c->pipelines;
                c->pipelines = p;
            } else {
                pipeline_free(c->dev, p);
                p = NULL;
            }
        }
    } else if (p->n_bindings != n_bindings || p->push_bytes != push_bytes) {
        rc = lg_error(LG_E_INVALID_ARG, "vulkan: pipeline '%s' asked with %d bindings and %u push bytes, built with %d and %u",
                      name, n_bindings, push_bytes, p->n_bindings, p->push_bytes);
        p = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    if (rc == LG_OK) rc = lg_vk_check_validation(d);
    *out = rc == LG_OK ? p : NULL;
    return rc;
}
