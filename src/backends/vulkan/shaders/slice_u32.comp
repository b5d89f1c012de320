/*
 * slice_u32.comp: Slice of int32 / int64 tensors as 32-bit words (see slice.glsl).
 */
#version 450
#include "common.glsl"
#include "kernel.glsl"
#define ELEM_T uint
#include "slice.glsl"
