/*
 * registry.h: looking up operator implementations of the CPU backend.
 *
 *   int other;
 *   const lg_op_def *d = lg_registry_find("", "Conv", 13, &other);
 *   if (!d) ... other ? "opset not supported" : "op not supported" ...
 */
#ifndef LG_REGISTRY_H
#define LG_REGISTRY_H

#include "runtime/kernel.h"

/* The entry implementing op_type of domain at opset, or NULL. *found_other is set when the
 * op exists for other opsets only. */
const lg_op_def *lg_registry_find(const char *domain, const char *op_type, int opset, int *found_other);
void lg_registry_each(void (*fn)(const lg_op_def *d, void *arg), void *arg);

#endif
