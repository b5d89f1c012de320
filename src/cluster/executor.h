/*
 * executor.h: running tasks on this machine: a cache of engine sessions per model from a
 * model repository, decoding task inputs (KServe v2 JSON tensors, an encoded image,
 * .npy or .pb bytes) into tensors, and encoding outputs into the result body the REST
 * API returns. Workers use it; the API uses the validation and encoding helpers.
 *
 * Result body (JSON), the seed's and KServe v2's fields together:
 *   {"model_name": "digits", "outputs": [{"name": "logits", "shape": [1, 10],
 *     "datatype": "FP32", "data": [...]}], "postprocessed": {"type": "classify",
 *     "top_k": [[{"index": 3, "label": "3", "probability": 0.99}, ...]]}}
 *
 *   lg_executor *ex;
 *   lg_executor_open("models", "cpu", 0, &ex);
 *   char *result = NULL, *error = NULL;
 *   if (lg_executor_run(ex, "digits", LG_INPUT_IMAGE, png, png_len, &result, &error) != LG_OK)
 *       fprintf(stderr, "%s\n", error);
 *   free(result); free(error);
 *   lg_executor_close(ex);
 */
#ifndef LG_CLUSTER_EXECUTOR_H
#define LG_CLUSTER_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/task.h"

typedef struct lg_executor lg_executor;

/* models_dir: repository folder (may be empty or missing: models arrive by fetch into
 * cache_dir); backend as lg_session_options.backend ("cpu", "auto", "vulkan:1"); threads per session (0: all cores). */
int lg_executor_open(const char *models_dir, const char *cache_dir, const char *backend, int threads,
                     lg_executor **out);
void lg_executor_close(lg_executor *e);

/* Runs one task. On success *result is the JSON result body (malloc'd). On failure
 * returns the status and *error says why (malloc'd), e.g. "model 'x' not found". Safe
 * to call from several threads: each model's session is used by one thread at a time. */
int lg_executor_run(lg_executor *e, const char *model, lg_input_kind kind, const uint8_t *input, size_t len,
                    char **result, char **error);

/* True when model can run here without a fetch (the repository is rescanned only when
 * the name is not known yet): the per-task check. */
bool lg_executor_has_model(lg_executor *e, const char *model);
/* Models this executor can run now (repository and cache), as names. */
int lg_executor_models(lg_executor *e, char names[][64], int max);
/* sha-256 (hex) of a model's model.onnx, for fetching it from the coordinator by hash. */
int lg_executor_model_hash(lg_executor *e, const char *model, char hex[65]);
/* Adds a model received from the coordinator (verified against hash) to the cache. */
int lg_executor_add_model(lg_executor *e, const char *model, const char *hash, const uint8_t *onnx, size_t len,
                          const char *config_json);

/* Coordinator side of a fetch: model.onnx of repository models_dir (malloc'd), its
 * sha-256, and its config.json text with the labels inlined as an array (malloc'd; NULL
 * for a model without a config): what lg_executor_add_model takes on the worker. */
int lg_model_package(const char *models_dir, const char *model, uint8_t **onnx, size_t *len, char **config_json,
                     char hex[65]);

/* API-side checks without running anything: LG_E_INVALID_ARG naming the field. */
int lg_payload_validate(lg_input_kind kind, const uint8_t *input, size_t len);

/* sha-256 of data as 64 hex digits + NUL. */
void lg_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
