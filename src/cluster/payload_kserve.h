/*
 * payload_kserve.h: KServe v2 JSON tensors <-> engine tensors. A request body
 * {"inputs": [{"name", "shape", "datatype", "data"}], "outputs": [{"name"}]} becomes
 * named tensors (data flat or nested, row-major); an output tensor becomes
 * {"name", "shape", "datatype", "data": flat array}.
 *
 *   lg_kserve_request req;
 *   if (lg_kserve_parse(body, len, &req) != LG_OK) puts(lg_last_error()); // "inputs[0].shape: ..."
 *   ... req.names[i] (NULL: bind by position), req.tensors[i] ...
 *   lg_kserve_request_free(&req);
 */
#ifndef LG_CLUSTER_PAYLOAD_KSERVE_H
#define LG_CLUSTER_PAYLOAD_KSERVE_H

#include <jansson.h>
#include <stddef.h>

#include "legacygpu/tensor.h"

typedef struct lg_kserve_request {
    int n_inputs;
    char **names;         /* per input; NULL entries bind by position */
    lg_tensor **tensors;  /* per input */
    int n_outputs;        /* 0: all the model's outputs */
    char **outputs;       /* requested output names */
} lg_kserve_request;

/* Parses and builds the tensors; LG_E_INVALID_ARG names the field ("inputs[1].data[7]"). */
int lg_kserve_parse(const char *text, size_t len, lg_kserve_request *out);
/* The same checks without building tensors. */
int lg_kserve_check(const char *text, size_t len);
void lg_kserve_request_free(lg_kserve_request *r);

/* KServe datatype of an element type ("FP32", "BYTES"), or NULL when there is none. */
const char *lg_kserve_datatype(lg_dtype dt);
/* {"name", "shape", "datatype", "data"} of t; non-finite floats become null. NULL on
 * an element type KServe cannot express, or out of memory. */
json_t *lg_kserve_tensor_json(const char *name, const lg_tensor *t);

#endif
