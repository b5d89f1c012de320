/*
 * gather.comp: Gather of float tensors (see gather.glsl).
 */
#version 450
#include "common.glsl"
#include "kernel.glsl"
#define ELEM_T STORE_T
#include "gather.glsl"
