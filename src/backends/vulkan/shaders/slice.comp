/*
 * slice.comp: Slice of float tensors with device-side starts (see slice.glsl).
 */
#version 450
#include "common.glsl"
#include "kernel.glsl"
#define ELEM_T STORE_T
#include "slice.glsl"
