/*
 * payload_result.h: the result body of a task: the output tensors (KServe v2 form) and
 * the postprocessed view the model's config asks for (top-K classes per batch item).
 *
 *   {"model_name": "digits", "outputs": [{"name": "logits", "shape": [1, 10],
 *    "datatype": "FP32", "data": [...]}], "postprocessed": {"type": "classify",
 *    "top_k": [[{"index": 3, "label": "3", "probability": 0.99}, ...]]}}
 *
 * "postprocessed" is null for a model without a config or with "type": "raw", and when
 * the first output is not a numeric tensor with the batch first.
 */
#ifndef LG_CLUSTER_PAYLOAD_RESULT_H
#define LG_CLUSTER_PAYLOAD_RESULT_H

#include "legacygpu/repository.h"
#include "legacygpu/tensor.h"

/* JSON text of the result body (malloc'd) into *out. config NULL: no postprocessing.
 * Floats round-trip: 9 significant digits (float32 and narrower), 17 with an FP64 output. */
int lg_result_encode(const char *model, int n, const char *const *names, lg_tensor *const *outputs,
                     const lg_model_config *config, char **out);

#endif
