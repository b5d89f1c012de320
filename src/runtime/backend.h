/*
 * backend.h: what a backend is, as in ggml's backend interface: a table of function
 * pointers (lg_backend_i). The runtime depends only on this header; the backends
 * compiled into the library are listed in backends/registry.c, and a session's scheduler
 * gets the ones it may use as an argument (runtime/sched.h).
 *
 * Two kinds of backend implement the table:
 *   - the host backend (the CPU): find_op gives an lg_op_def per node; its tensors live
 *     in host memory (lg_tensor.data). It implements every op the build has.
 *   - device backends (Vulkan): a device is opened per session (device_open, shared
 *     and reference-counted inside the backend), owns buffers (buffer_alloc), reports
 *     which nodes it can run (supports_node), prepares per-node state once per session
 *     (node_prepare: weights uploaded, pipelines built), and runs a whole partition of
 *     consecutive nodes as one submission (graph_compute), with the copies at the
 *     partition's edges recorded in the same submission.
 *
 * A device tensor is an lg_tensor with data == NULL, buf != NULL and offset: its
 * logical dtype and shape as on the host, its bytes (storage_bytes of it) at offset
 * in buf. The runtime plans device activation memory by liveness and sets buf/offset
 * before graph_compute; kernels never allocate.
 *
 *   int n;
 *   const lg_backend_i *const *all = lg_backend_registry(&n);
 *   for (int i = 0; i < n; i++) printf("%s: %d device(s)\n", all[i]->name, all[i]->device_count());
 *   const lg_op_def *conv = lg_backend_find("cpu")->find_op("", "Conv", 13, NULL);
 */
#ifndef LG_BACKEND_H
#define LG_BACKEND_H

#include <jansson.h>

#include "runtime/kernel.h"

typedef struct lg_device lg_device; /* an opened device of a device backend */
typedef struct lg_buffer lg_buffer; /* memory owned by a device */

typedef enum lg_precision {
    LG_PRECISION_FP32 = 0, /* weights and activations stored and computed in fp32 */
    LG_PRECISION_FP16 = 1, /* stored in fp16 where the device has 16-bit storage;
                              computed in fp16 where it has fp16 arithmetic, else fp32 */
} lg_precision;

typedef struct lg_device_config {
    lg_precision precision;
} lg_device_config;

/* lg_act (an activation fused into its producer) is in runtime/kernel.h. */

/* One node of a device partition, as graph_compute sees it. */
typedef struct lg_dev_node {
    const lg_node *node;
    int opset;
    void *state;                       /* from node_prepare */
    int n_inputs;
    const lg_tensor *const *inputs;    /* device tensors; inputs the backend asked to read
                                          on the host (shapes, axes) are host tensors with
                                          data; NULL = omitted */
    int n_outputs;
    lg_tensor *const *outputs;         /* device tensors; NULL = unused */
    /* Epilogue fused by the runtime into output 0, applied in this order:
     * y = act(y + residual). residual is a device tensor of output 0's shape, or NULL. */
    const lg_tensor *residual;
    lg_act act;
    /* Only during node_prepare (else NULL): set bit k when the kernel keeps constant
     * input k in its own state (weights it uploaded); the runtime then does not upload
     * that constant itself. Constant inputs whose bit stays clear (and that are not
     * host inputs) are uploaded once per session by the runtime and bound as device
     * tensors at run time. */
    uint32_t *consumed;
} lg_dev_node;

/* A copy at a partition edge: host tensor <-> device tensor of the same dtype/shape. */
typedef struct lg_dev_copy {
    lg_tensor *host;
    lg_tensor *dev;
} lg_dev_copy;

/* A partition run as one submission: uploads, then nodes in order, then downloads. */
typedef struct lg_dev_graph {
    int n_uploads;
    const lg_dev_copy *uploads;
    int n_nodes;
    const lg_dev_node *nodes;
    int n_downloads;
    const lg_dev_copy *downloads;   /* host tensors already have data of the right size */
} lg_dev_graph;

typedef struct lg_backend_i {
    const char *name;                              /* "cpu", "vulkan" */
    bool is_host;                                  /* runs nodes through find_op on host tensors */

    /* ---- devices (both kinds) ---- */
    int (*device_count)(void);                     /* devices found on this machine */
    int (*device_name)(int dev, char *buf, int len);
    /* Everything known about device dev as a JSON object (legacygpu info --json). */
    json_t *(*device_describe)(int dev);
    /* Whether --backend auto may pick device dev (software rasterisers only by name). */
    bool (*device_auto)(int dev);

    /* ---- host backend ---- */
    /* The implementation of op_type in domain at opset, or NULL when this backend lacks
     * it (*found_other set when it has the op for other opsets only). */
    const lg_op_def *(*find_op)(const char *domain, const char *op_type, int opset, int *found_other);

    /* ---- device backends ---- */
    int (*device_open)(int dev, const lg_device_config *cfg, lg_device **out);
    void (*device_close)(lg_device *d);
    /* Whether d can run node n with these inputs/outputs (dtypes and shapes known;
     * constant inputs have host data). *host_inputs gets bit k set for inputs the kernel
     * reads on the host (they must be constants, or values the runtime keeps on the host). */
    bool (*supports_node)(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                          int n_out, const lg_tensor *const *out, uint32_t *host_inputs);
    /* Whether node n accepts the epilogue act (and a residual Add when residual is set). */
    bool (*supports_epilogue)(lg_device *d, const lg_node *n, const lg_act *act, bool residual);
    /* Once per session and node: constant inputs have host data, the others only shapes.
     * Weights go to the device here (shared between sessions of one model on one device). */
    int (*node_prepare)(lg_device *d, const lg_dev_node *dn, void **state);
    void (*node_release)(lg_device *d, void *state);
    /* Constants on the device, shared by the sessions of one model on one device: a device
     * tensor with host's values (keyed by the host tensor), uploaded on first use and
     * reference-counted; weights_put drops the reference and frees the tensor struct. */
    int (*weights_get)(lg_device *d, const lg_tensor *host, lg_tensor **dev);
    void (*weights_put)(lg_device *d, lg_tensor *dev);
    /* Device memory for activations: one buffer of bytes, at most max_buffer_bytes. */
    int (*buffer_alloc)(lg_device *d, uint64_t bytes, lg_buffer **out);
    void (*buffer_free)(lg_device *d, lg_buffer *b);
    /* Bytes a tensor of dtype and numel takes on d (fp16 storage halves float). */
    uint64_t (*storage_bytes)(lg_device *d, lg_dtype dt, int64_t numel);
    uint64_t (*alignment)(lg_device *d);          /* offsets inside a buffer are multiples */
    uint64_t (*max_buffer_bytes)(lg_device *d);   /* largest single buffer / binding */
    /* Runs g: one command buffer; returns when the downloads are on the host.
     * LG_E_DEVICE when the device was lost (the message says so). */
    int (*graph_compute)(lg_device *d, const lg_dev_graph *g);
} lg_backend_i;

/* What a session runs on: the host backend, and optionally one opened device of a
 * device backend (the session takes ownership of device and closes it). */
typedef struct lg_backend_set {
    const lg_backend_i *host;
    const lg_backend_i *dev_backend;
    lg_device *device;       /* NULL: the host alone */
    int dev_index;
    bool dev_auto;           /* chosen by "auto": out of device memory falls back to the host */
} lg_backend_set;

/* Creates a session on the backends of set (runtime/session.c): the runtime's entry;
 * lg_session_create (backends/select.c) chooses the set from the options' backend. */
struct lg_model;
struct lg_session_options;
int lg_session_create_on(struct lg_model *m, const struct lg_session_options *opts, const lg_backend_set *set,
                         struct lg_session **out);

/* The backends compiled in (backends/registry.c), most capable first; the CPU last. */
const lg_backend_i *const *lg_backend_registry(int *count);
/* By name, or NULL. */
const lg_backend_i *lg_backend_find(const char *name);
/* The host backend (the CPU). */
const lg_backend_i *lg_backend_host(void);

#endif
