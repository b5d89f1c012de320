/*
 * vk_spirv.h: the SPIR-V of every shaders/NAME.comp, embedded at build time
 * (scripts/vk_embed.py writes the table into build/gen/vk_shaders.c), three variants
 * per shader: [LG_VK_VARIANT_FP32], [LG_VK_VARIANT_FP16], [LG_VK_VARIANT_FP16_MATH].
 */
#ifndef LG_VK_SPIRV_H
#define LG_VK_SPIRV_H

#include <stddef.h>
#include <stdint.h>

typedef struct lg_vk_spirv {
    const char *name;
    const uint32_t *code[3];
    size_t words[3];
} lg_vk_spirv;

extern const lg_vk_spirv lg_vk_spirv_table[]; /* sorted by name, ends with { 0 } */
extern const int lg_vk_spirv_count;

/* The shader called name, or NULL. */
const lg_vk_spirv *lg_vk_spirv_find(const char *name);

#endif
