/*
 * gather_u32.comp: Gather of int32 / int64 tensors as 32-bit words (see gather.glsl).
 */
#version 450
#include "common.glsl"
#include "kernel.glsl"
#define ELEM_T uint
#include "gather.glsl"
