/*
 * backend.h: what a backend is, as in ggml's backend interface: a table of function
 * pointers. The session places each node on the first backend of its list that
 * implements it; nodes a backend lacks fall back to the CPU, which implements every op.
 * Today the CPU backend answers with the op registry; the Vulkan backend will add its
 * buffers, copies and graph compute entries here.
 *
 *   int n;
 *   const lg_backend_i *const *all = lg_backends(&n);
 *   for (int i = 0; i < n; i++) printf("%s: %d device(s)\n", all[i]->name, all[i]->device_count());
 *   const lg_op_def *conv = lg_backend_by_name("cpu")->find_op("", "Conv", 13, NULL);
 */
#ifndef LG_BACKEND_H
#define LG_BACKEND_H

#include "runtime/kernel.h"

typedef struct lg_backend_i {
    const char *name;                              /* "cpu", "vulkan" */
    int (*device_count)(void);                     /* devices found on this machine */
    int (*device_name)(int dev, char *buf, int len);
    /* The implementation of op_type in domain at opset, or NULL when this backend lacks
     * it (*found_other set when it has the op for other opsets only). */
    const lg_op_def *(*find_op)(const char *domain, const char *op_type, int opset, int *found_other);
} lg_backend_i;

extern const lg_backend_i lg_backend_cpu;

/* The backends compiled in, most capable first; the CPU is always last. */
const lg_backend_i *const *lg_backends(int *count);
/* By name, or NULL. */
const lg_backend_i *lg_backend_by_name(const char *name);

#endif
