/*
 * registry.c: the CPU backend's operator registry: every op table, searched by
 * (domain, op_type, opset). Each ops/ file exports one table lg_ops_<file>.
 */
#include <string.h>

#include "backends/cpu/registry.h"

extern const lg_op_def lg_ops_elementwise[];
extern const lg_op_def lg_ops_activation[];
extern const lg_op_def lg_ops_tensor_shape[];
extern const lg_op_def lg_ops_indexing[];
extern const lg_op_def lg_ops_reduce[];
extern const lg_op_def lg_ops_sort[];
extern const lg_op_def lg_ops_linalg[];
extern const lg_op_def lg_ops_conv[];
extern const lg_op_def lg_ops_matmul[];
extern const lg_op_def lg_ops_quant[];
extern const lg_op_def lg_ops_norm[];
extern const lg_op_def lg_ops_pool[];
extern const lg_op_def lg_ops_image[];
extern const lg_op_def lg_ops_detection[];
extern const lg_op_def lg_ops_rnn[];
extern const lg_op_def lg_ops_signal[];
extern const lg_op_def lg_ops_loss[];
extern const lg_op_def lg_ops_misc[];
extern const lg_op_def lg_ops_control[];
extern const lg_op_def lg_ops_attention[];
extern const lg_op_def lg_ops_quant_linear[];
extern const lg_op_def lg_ops_strings[];
extern const lg_op_def lg_ops_state[];
extern const lg_op_def lg_ops_image_decoder[];
extern const lg_op_def lg_ops_grid[];
extern const lg_op_def lg_ops_sequence[];
extern const lg_op_def lg_ops_deform_conv[];
extern const lg_op_def lg_ops_ml_tree[];      /* ai.onnx.ml */
extern const lg_op_def lg_ops_ml_linear[];
extern const lg_op_def lg_ops_ml_svm[];
extern const lg_op_def lg_ops_ml_encode[];
extern const lg_op_def lg_ops_ml_transform[];
extern const lg_op_def lg_ops_contrib_alias[]; /* com.microsoft */
extern const lg_op_def lg_ops_contrib_act[];
extern const lg_op_def lg_ops_contrib_norm[];
extern const lg_op_def lg_ops_contrib_qlinear[];
extern const lg_op_def lg_ops_contrib_matmul[];
extern const lg_op_def lg_ops_contrib_conv[];
extern const lg_op_def lg_ops_contrib_rotary[];
extern const lg_op_def lg_ops_contrib_attention[];
extern const lg_op_def lg_ops_contrib_gqa[];

static const lg_op_def *const tables[] = {
    lg_ops_elementwise, lg_ops_activation, lg_ops_tensor_shape, lg_ops_indexing,
    lg_ops_reduce,      lg_ops_sort,       lg_ops_linalg,       lg_ops_conv,
    lg_ops_matmul,      lg_ops_quant,      lg_ops_norm,         lg_ops_pool,
    lg_ops_image,       lg_ops_detection,  lg_ops_rnn,          lg_ops_signal,
    lg_ops_loss,        lg_ops_misc,       lg_ops_control,      lg_ops_attention,
    lg_ops_quant_linear, lg_ops_strings, lg_ops_state, lg_ops_image_decoder,
    lg_ops_grid,        lg_ops_sequence,   lg_ops_deform_conv,
    lg_ops_ml_tree,     lg_ops_ml_linear,  lg_ops_ml_svm,       lg_ops_ml_encode,
    lg_ops_ml_transform, lg_ops_contrib_alias, lg_ops_contrib_act, lg_ops_contrib_norm,
    lg_ops_contrib_qlinear, lg_ops_contrib_matmul, lg_ops_contrib_conv, lg_ops_contrib_rotary,
    lg_ops_contrib_attention, lg_ops_contrib_gqa,
};

static bool domain_matches(const char *want, const char *have)
{
    if (!want) want = "";
    if (!have) have = "";
    if (strcmp(want, "ai.onnx") == 0) want = "";
    if (strcmp(have, "ai.onnx") == 0) have = "";
    return strcmp(want, have) == 0;
}

const lg_op_def *lg_registry_find(const char *domain, const char *op_type, int opset, int *found_other)
{
    if (found_other) *found_other = 0;
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        for (const lg_op_def *d = tables[t]; d->name; d++) {
            if (strcmp(d->name, op_type) != 0 || !domain_matches(domain, d->domain)) continue;
            if (opset >= d->since && opset <= d->until) return d;
            if (found_other) *found_other = 1;
        }
    }
    return NULL;
}

void lg_registry_each(void (*fn)(const lg_op_def *d, void *arg), void *arg)
{
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (const lg_op_def *d = tables[t]; d->name; d++) fn(d, arg);
}
