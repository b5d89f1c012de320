/*
 * copy_nd_u32.comp: strided N-D copy of 32-bit words (int32; int64 as two words), the
 * same in every variant (see copy_nd.glsl).
 */
#version 450
#include "common.glsl"
#include "kernel.glsl"
#define ELEM_T uint
#include "copy_nd.glsl"
