/*
 * legacygpu/engine.h: loading ONNX models and running them.
 *
 * A model (lg_model) is the parsed, checked graph with its weights, held once.
 * A session (lg_session) binds a model to backends and threads and runs it; a session
 * is used by one thread at a time, several sessions may share one model (unless one of
 * them was created with release_weights).
 *
 *   lg_model *model;
 *   lg_session *sess;
 *   if (lg_model_load("model.onnx", &model) != LG_OK) { puts(lg_last_error()); return 1; }
 *   if (lg_session_create(model, NULL, &sess) != LG_OK) { puts(lg_last_error()); return 1; }
 *
 *   const char *in_names[] = { "input" };
 *   lg_tensor *inputs[] = { image_tensor };
 *   lg_tensor *outputs[1] = { NULL };            // filled by the session, caller frees
 *   int rc = lg_session_run(sess, 1, in_names, inputs, 1, NULL, outputs);
 *   ...
 *   lg_tensor_free(outputs[0]);
 *   lg_session_free(sess);
 *   lg_model_free(model);
 */
#ifndef LEGACYGPU_ENGINE_H
#define LEGACYGPU_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LG_VERSION_MAJOR 0
#define LG_VERSION_MINOR 1
#define LG_VERSION_PATCH 0
#define LG_VERSION_STRING "0.1.0"

typedef struct lg_model lg_model;
typedef struct lg_session lg_session;

/* Description of one graph input or output. dims[i] < 0 is a symbolic or unknown
 * dimension whose name (if any) is dim_names[i]. ndim < 0: rank unknown. */
typedef struct lg_value_info {
    const char *name;
    lg_dtype dtype;
    int ndim;
    int64_t dims[LG_MAX_DIMS];
    const char *dim_names[LG_MAX_DIMS];
} lg_value_info;

int lg_model_load(const char *path, lg_model **out);
/* Loads from memory; external data is resolved relative to base_dir (NULL: none allowed). */
int lg_model_load_memory(const void *data, size_t len, const char *base_dir, lg_model **out);
void lg_model_free(lg_model *m);

int lg_model_num_inputs(const lg_model *m);
int lg_model_num_outputs(const lg_model *m);
int lg_model_input_info(const lg_model *m, int i, lg_value_info *info);
int lg_model_output_info(const lg_model *m, int i, lg_value_info *info);
/* Producer name/version, IR version, default-domain opset, node count, weight bytes. */
typedef struct lg_model_meta {
    const char *producer_name;
    const char *producer_version;
    int64_t ir_version;
    int64_t opset;
    int num_nodes;
    size_t weight_bytes;
} lg_model_meta;
int lg_model_meta_get(const lg_model *m, lg_model_meta *meta);

typedef struct lg_session_options {
    int num_threads;       /* 0: one per core */
    const char *backend;   /* "cpu" (default), "auto" (the first usable GPU, else the CPU),
                              "vulkan" or "vulkan:N" (device N); NULL = "cpu" */
    int no_optimize;       /* 1: skip graph optimisation passes (fusions) */
    int release_weights;   /* 1: this session is the model's only user: weights it packs
                              into its own layout are freed from the model (lower peak
                              memory); other sessions on the model then fail to create.
                              0 (default): the model stays intact for any number of sessions */
    int precision;         /* 0: fp32 (default); 1: fp16 storage on GPUs with 16-bit storage
                              (fp16 arithmetic where the GPU has it) */
} lg_session_options;

int lg_session_create(lg_model *m, const lg_session_options *opts, lg_session **out);
void lg_session_free(lg_session *s);

/* Runs the graph. Inputs are named (in_names) or, with in_names NULL, positional over
 * the graph's non-initializer inputs. Outputs: out_names selects outputs by name, or NULL
 * for the graph outputs in order; outputs[i] receives a new tensor the caller frees. */
int lg_session_run(lg_session *s, int n_in, const char *const *in_names, lg_tensor *const *inputs,
                   int n_out, const char *const *out_names, lg_tensor **outputs);

/* Per-node timing (profile.c). With profiling on, each run of the session's main graph
 * adds every node's wall time to that node's entry; lg_session_profile copies the entries
 * (one per node of the main graph that runs, in graph order) into out[0..max) and sets *n
 * to how many there are (which may exceed max). Turning profiling on clears the totals.
 *
 *   lg_session_set_profiling(sess, 1);
 *   lg_session_run(...);
 *   lg_profile_entry e[512]; int n;
 *   lg_session_profile(sess, e, 512, &n);      // e[i].total_ms / e[i].count per node */
typedef struct lg_profile_entry {
    const char *node;      /* node name ("" when the model gives none) */
    const char *op_type;
    int index;             /* node index in the main graph */
    int64_t count;         /* runs timed */
    double total_ms;       /* wall time over those runs */
} lg_profile_entry;

int lg_session_set_profiling(lg_session *s, int on);
int lg_session_profile(lg_session *s, lg_profile_entry *out, int max, int *n);

/* Static shape and type inference with concrete input shapes (no data): fills
 * outputs' info. Dimensions that depend on data come back as -1. */
int lg_session_infer_shapes(lg_session *s, int n_in, const char *const *in_names,
                            lg_tensor *const *inputs, int n_out, lg_value_info *outputs);

/* Where each node of the main graph runs (for the shapes of the last run, or the
 * model's declared input shapes with symbolic dimensions 1 before any run). */
typedef struct lg_placement {
    const char *node;      /* node name (owned by the model) */
    const char *op_type;
    const char *backend;   /* "vulkan", "cpu", or "-" when folded or fused into another node */
    int fused;             /* 1: computed at creation or inside another node's kernel */
    double flops;          /* floating-point operations (2 per multiply-add), estimated */
} lg_placement;
/* Fills out[0..max) (out may be NULL to count) and *count with the number of nodes. */
int lg_session_placement(lg_session *s, lg_placement *out, int max, int *count);
/* The session's device ("vulkan:0 (AMD Radeon RX 580 ...)") or the CPU, into buf. */
int lg_session_device(lg_session *s, char *buf, int len);

/* Version string of this build ("0.1.0"). */
const char *lg_version(void);

#ifdef __cplusplus
}
#endif
#endif
