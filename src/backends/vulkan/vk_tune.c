/*
 * vk_tune.c: tile and workgroup sizes per architecture class (lg_vk_caps.arch), the
 * specialisation constants of the kernels. Why each row is what it is:
 *   AMD GCN    wave64: groups of 256 (4 waves) keep a CU's SIMDs busy; 64x64 GEMM tiles
 *              with 4x4 per invocation (16 KiB of LDS of the 64 KiB, 2-4 groups per CU).
 *   AMD RDNA   wave32/64: the same tiles, row kernels at 128.
 *   NVIDIA     warp 32: 64x64 tiles, 4x4 per thread, groups of 256; Turing and newer
 *              the same (larger register files let 8x4 pay off, not measured here).
 *   Intel      SIMD8-32 with small shared memory per subslice: 32x32 tiles, groups of 64.
 *   llvmpipe   a CPU: groups map to threads and invocations to SIMD lanes (8 wide):
 *              small groups (64) and 32x32 tiles keep the per-group loop short.
 *   other      conservative: 32x32 tiles, groups of 64 (any Vulkan 1.1 device runs them).
 * "skinny" tiles serve M < 16 (batch-1 fully connected layers): few rows, wide columns.
 * LEGACYGPU_VK_TUNE=<arch name> picks another row (tests run all of them on lavapipe).
 */
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/vk_kern.h"

static const lg_vk_tune tunes[] = {
    /* arch                        elem  row  gemm {bm,bn,bk,tm,tn}   skinny */
    { LG_VK_ARCH_AMD_GCN,           256, 64,  { 64, 64, 16, 4, 4 },  { 4, 256, 16, 1, 4 } },
    { LG_VK_ARCH_AMD_RDNA,          256, 128, { 64, 64, 16, 4, 4 },  { 4, 256, 16, 1, 4 } },
    { LG_VK_ARCH_NVIDIA_PRE_TURING, 256, 128, { 64, 64, 16, 4, 4 },  { 4, 256, 16, 1, 4 } },
    { LG_VK_ARCH_NVIDIA_TURING,     256, 128, { 64, 64, 16, 4, 4 },  { 4, 256, 16, 1, 4 } },
    { LG_VK_ARCH_INTEL,             128, 64,  { 32, 32, 16, 4, 4 },  { 4, 128, 16, 1, 4 } },
    { LG_VK_ARCH_LLVMPIPE,          64,  64,  { 32, 32, 8, 4, 4 },   { 4, 64, 16, 1, 4 } },
    { LG_VK_ARCH_OTHER,             128, 64,  { 32, 32, 8, 4, 4 },   { 4, 64, 16, 1, 4 } },
};

const lg_vk_tune *lg_vk_tune_get(lg_device *d)
{
    lg_vk_arch a = lg_vk_device_caps(d)->arch;
    size_t n = sizeof(tunes) / sizeof(tunes[0]);
    /* LEGACYGPU_VK_TUNE=<arch name> (lg_vk_arch_name): another class's sizes, so that
     * tests on lavapipe run every row of the table. */
    const char *force = getenv("LEGACYGPU_VK_TUNE");
    for (size_t i = 0; force && *force && i < n; i++)
        if (strcmp(lg_vk_arch_name(tunes[i].arch), force) == 0) return &tunes[i];
    for (size_t i = 0; i < n; i++)
        if (tunes[i].arch == a) return &tunes[i];
    return &tunes[n - 1];
}

void lg_vk_tile_spec(const lg_vk_tile *t, uint32_t spec[6])
{
    spec[0] = (t->bm / t->tm) * (t->bn / t->tn);
    spec[1] = t->bm;
    spec[2] = t->bn;
    spec[3] = t->bk;
    spec[4] = t->tm;
    spec[5] = t->tn;
}
