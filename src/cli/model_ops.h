/*
 * model_ops.h: the operators a model uses, for `legacygpu info MODEL`: each distinct
 * (domain, op_type, opset) with its node count, and whether this build can run it, with the
 * reason when not (unknown operator, opset not implemented, dtype or attributes refused).
 *
 *   json_t *ops = lg_cli_model_ops(model, &n_bad);   // JSON array, one object per operator
 */
#ifndef LG_CLI_MODEL_OPS_H
#define LG_CLI_MODEL_OPS_H

#include <jansson.h>

#include "legacygpu/engine.h"

/* [{domain, op_type, opset, count, status, reason}], status "ok", "unknown_op",
 * "opset_not_implemented", "unsupported" (a dtype or feature the kernel refuses) or
 * "invalid" (attributes the kernel rejects); *n_bad counts the operators that are not ok. */
json_t *lg_cli_model_ops(lg_model *m, int *n_bad);

#endif
