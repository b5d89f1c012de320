/*
 * vk_quirks.c: the architecture class of a device and the table of driver and vendor
 * quirks applied when it is enumerated, each row with why and where it was seen;
 * docs/gpu.md renders the same table. LEGACYGPU_VK_QUIRKS="+small_submits,-no_fp16"
 * adds or removes quirks by name (for tests and for users working around a driver).
 * LEGACYGPU_VK_MAX_BINDING_MB caps the largest binding (tests of tensor splitting).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/vk_internal.h"

#define ANY_ARCH (-1)

typedef struct quirk_row {
    uint32_t vendor_id;  /* 0 = any */
    uint32_t driver_id;  /* VkDriverId, 0 = any */
    int arch;            /* lg_vk_arch, ANY_ARCH = any */
    const char *name;    /* substring of the device name, NULL = any */
    uint32_t max_cus;    /* only parts with at most this many compute units (0 = any; AMD reports them) */
    uint32_t quirks;
} quirk_row;

/* The quirks of all matching rows are OR-ed together. Keep a reason and a source per row. */
static const quirk_row quirk_table[] = {
    /* lavapipe (Mesa llvmpipe) reports shaderFloat16 (Mesa 22.3.6, Debian 12), but LLVM
     * promotes half arithmetic to float on x86 CPUs without AVX512-FP16: conversions for
     * nothing. Its 16-bit storage is real and stays on, so CI tests fp16 storage (the
     * fp16-arithmetic variant is tested with this quirk turned off). */
    { 0x10005, VK_DRIVER_ID_MESA_LLVMPIPE, ANY_ARCH, NULL, 0, LG_VK_QUIRK_NO_FP16 },
    /* Small GCN parts (Polaris 11/12: RX 460/550/560, Radeon Pro 555X; Vega 8 iGPUs)
     * reach the amdgpu kernel driver's job timeout (amdgpu.lockup_timeout: 10 s
     * on older kernels; newer ones give compute queues 60 s) on long
     * submissions of big models, and the GPU is reset; several short submits avoid it.
     * Not yet observed by this project (no such part in CI): applied from the amdgpu
     * timeout's design; LEGACYGPU_VK_QUIRKS=-small_submits turns it off. */
    { 0x1002, 0, LG_VK_ARCH_AMD_GCN, NULL, 16, LG_VK_QUIRK_SMALL_SUBMITS },
    /* RADV on GCN reports maxStorageBufferRange = 4 GiB - 1 but bindings close to it
     * fail (offsets are computed in 32 bits); keep bindings at 2 GiB or less. */
    { 0x1002, VK_DRIVER_ID_MESA_RADV, LG_VK_ARCH_AMD_GCN, NULL, 0, LG_VK_QUIRK_BINDING_MARGIN },
    /* AMD's own drivers (AMDVLK open source and the proprietary Windows/PRO driver)
     * stop at 2 GiB per binding whatever they report. */
    { 0x1002, VK_DRIVER_ID_AMD_OPEN_SOURCE, ANY_ARCH, NULL, 0, LG_VK_QUIRK_BINDING_MARGIN },
    { 0x1002, VK_DRIVER_ID_AMD_PROPRIETARY, ANY_ARCH, NULL, 0, LG_VK_QUIRK_BINDING_MARGIN },
    /* GCN before Vega (GFX6-8: Tahiti to Polaris) has no packed fp16 math: fp16
     * arithmetic runs at the fp32 rate with extra conversions; store fp16, compute fp32.
     * RADV names these parts in the device name (e.g. "(RADV POLARIS10)"). Vega's packed
     * math only pays when shaders compute on f16vec2/f16vec4 (ACC4_T): ggml-vulkan users
     * report scalar fp16 accumulation slower than fp32 on gfx906. */
    { 0x1002, 0, LG_VK_ARCH_AMD_GCN, "POLARIS", 0, LG_VK_QUIRK_NO_FP16 },
    { 0x1002, 0, LG_VK_ARCH_AMD_GCN, "TONGA", 0, LG_VK_QUIRK_NO_FP16 },
    { 0x1002, 0, LG_VK_ARCH_AMD_GCN, "FIJI", 0, LG_VK_QUIRK_NO_FP16 },
    { 0x1002, 0, LG_VK_ARCH_AMD_GCN, "HAWAII", 0, LG_VK_QUIRK_NO_FP16 },
    { 0x1002, 0, LG_VK_ARCH_AMD_GCN, "BONAIRE", 0, LG_VK_QUIRK_NO_FP16 },
    { 0x1002, 0, LG_VK_ARCH_AMD_GCN, "TAHITI", 0, LG_VK_QUIRK_NO_FP16 },
    { 0x1002, 0, LG_VK_ARCH_AMD_GCN, "PITCAIRN", 0, LG_VK_QUIRK_NO_FP16 },
    { 0x1002, 0, LG_VK_ARCH_AMD_GCN, "RX 4", 0, LG_VK_QUIRK_NO_FP16 },   /* AMD drivers: "Radeon RX 480" */
    { 0x1002, 0, LG_VK_ARCH_AMD_GCN, "RX 5", 0, LG_VK_QUIRK_NO_FP16 },   /* "Radeon RX 580"; RX 5700 is RDNA */
    /* Consumer Pascal (GP102-GP108) runs fp16 arithmetic at 1/64 of the fp32 rate
     * (NVIDIA Pascal tuning guide); Maxwell has none. Store fp16, compute fp32. */
    { 0x10de, 0, LG_VK_ARCH_NVIDIA_PRE_TURING, NULL, 0, LG_VK_QUIRK_NO_FP16 },
};

static const struct {
    uint32_t bit;
    const char *name;
} quirk_names[] = {
    { LG_VK_QUIRK_SMALL_SUBMITS, "small_submits" },
    { LG_VK_QUIRK_NO_FP16, "no_fp16" },
    { LG_VK_QUIRK_NO_FP16_STORAGE, "no_fp16_storage" },
    { LG_VK_QUIRK_BINDING_MARGIN, "binding_margin" },
};

static const char *const arch_names[] = {
    [LG_VK_ARCH_OTHER] = "other",
    [LG_VK_ARCH_AMD_GCN] = "amd_gcn",
    [LG_VK_ARCH_AMD_RDNA] = "amd_rdna",
    [LG_VK_ARCH_NVIDIA_PRE_TURING] = "nvidia_pre_turing",
    [LG_VK_ARCH_NVIDIA_TURING] = "nvidia_turing",
    [LG_VK_ARCH_INTEL] = "intel",
    [LG_VK_ARCH_LLVMPIPE] = "llvmpipe",
};

const char *lg_vk_arch_name(lg_vk_arch a)
{
    return (unsigned)a < sizeof(arch_names) / sizeof(arch_names[0]) ? arch_names[a] : "other";
}

const char *lg_vk_quirk_name(uint32_t q)
{
    for (size_t i = 0; i < sizeof(quirk_names) / sizeof(quirk_names[0]); i++)
        if (quirk_names[i].bit == q) return quirk_names[i].name;
    return NULL;
}

/* NVIDIA names that mark Turing or newer (the cooperative-matrix extension says it too). */
static const char *const nvidia_turing_names[] = { "RTX", "GTX 16", "TITAN V", "Quadro T", " T4", " A10", " A100",
                                                   " H100", " H200", " L4", " L40" };

static lg_vk_arch arch_of(const lg_vk_caps *c, bool has_coopmat)
{
    if (c->driver_id == VK_DRIVER_ID_MESA_LLVMPIPE || strstr(c->name, "llvmpipe")) return LG_VK_ARCH_LLVMPIPE;
    switch (c->vendor_id) {
    case 0x1002:
        /* GCN runs wave64 only; RDNA offers wave32 and wave64. */
        return c->subgroup_min == 64 && c->subgroup_max == 64 ? LG_VK_ARCH_AMD_GCN : LG_VK_ARCH_AMD_RDNA;
    case 0x10de:
        if (has_coopmat) return LG_VK_ARCH_NVIDIA_TURING;
        for (size_t i = 0; i < sizeof(nvidia_turing_names) / sizeof(nvidia_turing_names[0]); i++)
            if (strstr(c->name, nvidia_turing_names[i])) return LG_VK_ARCH_NVIDIA_TURING;
        return LG_VK_ARCH_NVIDIA_PRE_TURING;
    case 0x8086:
        return LG_VK_ARCH_INTEL;
    default:
        return LG_VK_ARCH_OTHER;
    }
}

static bool row_matches(const quirk_row *r, const lg_vk_caps *c)
{
    return (!r->vendor_id || r->vendor_id == c->vendor_id) && (!r->driver_id || r->driver_id == c->driver_id) &&
           (r->arch == ANY_ARCH || r->arch == (int)c->arch) && (!r->name || strstr(c->name, r->name)) &&
           (!r->max_cus || (c->compute_units && c->compute_units <= r->max_cus));
}

/* LEGACYGPU_VK_QUIRKS="+name,-name": forced on / off. */
static uint32_t env_quirks(uint32_t q)
{
    const char *v = getenv("LEGACYGPU_VK_QUIRKS");
    if (!v) return q;
    const char *p = v;
    while (*p) {
        size_t len = strcspn(p, ",");
        bool off = *p == '-';
        const char *nm = (*p == '+' || *p == '-') ? p + 1 : p;
        size_t nlen = len - (size_t)(nm - p);
        uint32_t bit = 0;
        for (size_t i = 0; i < sizeof(quirk_names) / sizeof(quirk_names[0]); i++)
            if (strlen(quirk_names[i].name) == nlen && !strncmp(quirk_names[i].name, nm, nlen)) bit = quirk_names[i].bit;
        if (!bit && len)
            fprintf(stderr, "legacygpu: LEGACYGPU_VK_QUIRKS: unknown quirk '%.*s' (small_submits, no_fp16, "
                            "no_fp16_storage, binding_margin); ignored\n", (int)nlen, nm);
        q = off ? q & ~bit : q | bit;
        p += len;
        if (*p == ',') p++;
    }
    return q;
}

void lg_vk_classify(lg_vk_caps *c, bool has_coopmat)
{
    c->arch = arch_of(c, has_coopmat);
    uint32_t q = 0;
    for (size_t i = 0; i < sizeof(quirk_table) / sizeof(quirk_table[0]); i++)
        if (row_matches(&quirk_table[i], c)) q |= quirk_table[i].quirks;
    c->quirks = env_quirks(q);
}

void lg_vk_apply_limits(lg_vk_caps *c)
{
    if ((c->quirks & LG_VK_QUIRK_BINDING_MARGIN) && c->max_storage_range > (1ull << 31))
        c->max_storage_range = 1ull << 31;
    const char *v = getenv("LEGACYGPU_VK_MAX_BINDING_MB");
    if (v && *v) {
        char *end;
        unsigned long long mb = strtoull(v, &end, 10);
        if (*end || mb == 0)
            fprintf(stderr, "legacygpu: LEGACYGPU_VK_MAX_BINDING_MB='%s' is not a positive number of MiB; ignored\n", v);
        else if ((mb << 20) < c->max_storage_range)
            c->max_storage_range = mb << 20;
    }
}
