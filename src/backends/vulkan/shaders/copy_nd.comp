/*
 * copy_nd.comp: strided N-D copy of float tensors (see copy_nd.glsl).
 */
#version 450
#include "common.glsl"
#include "kernel.glsl"
#define ELEM_T STORE_T
#include "copy_nd.glsl"
