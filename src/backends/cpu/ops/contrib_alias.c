/*
 * contrib_alias.c: com.microsoft operators that restate a default-domain operator and run
 * its implementation on the same node: Range (as opset 11), Trilu (14), LayerNormalization
 * (17, with its Mean and InvStdDev outputs), QuantizeLinear/DequantizeLinear (13: uint8,
 * int8, per tensor or per `axis`). ONNX Runtime also takes LayerNormalization in the default
 * domain below opset 17: those run the same way.
 */
#include <string.h>

#include "backends/cpu/ops/contrib_common.h"

typedef struct alias {
    const char *name;
    int opset;
} alias;

static const alias aliases[] = {
    { "Range", 11 }, { "Trilu", 14 }, { "LayerNormalization", 17 }, { "QuantizeLinear", 13 }, { "DequantizeLinear", 13 },
};

static const alias *alias_of(const lg_kctx *c)
{
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (!strcmp(aliases[i].name, c->node->op_type)) return &aliases[i];
    return NULL;
}

static int alias_infer(lg_kctx *c)
{
    const alias *a = alias_of(c);
    const lg_op_def *d = a ? lg_contrib_default_op(a->name, a->opset) : NULL;
    if (!d) return lg_error(LG_E_UNSUPPORTED, "no default-domain twin for %s", c->node->op_type);
    lg_kctx s = lg_contrib_sub(c, a->opset);
    return d->infer(&s);
}

static int alias_exec(lg_kctx *c)
{
    const alias *a = alias_of(c);
    const lg_op_def *d = a ? lg_contrib_default_op(a->name, a->opset) : NULL;
    if (!d) return lg_error(LG_E_UNSUPPORTED, "no default-domain twin for %s", c->node->op_type);
    lg_kctx s = lg_contrib_sub(c, a->opset);
    return d->exec(&s);
}

const lg_op_def lg_ops_contrib_alias[] = {
    { "Range", "com.microsoft", 1, 1, alias_infer, alias_exec, NULL, NULL },
    { "Trilu", "com.microsoft", 1, 1, alias_infer, alias_exec, NULL, NULL },
    { "LayerNormalization", "com.microsoft", 1, 1, alias_infer, alias_exec, NULL, NULL },
    /* ONNX Runtime's LayerNormalization in the default domain before ONNX added it (17). */
    { "LayerNormalization", "", 1, 16, alias_infer, alias_exec, NULL, NULL },
    { "QuantizeLinear", "com.microsoft", 1, 1, alias_infer, alias_exec, NULL, NULL },
    { "DequantizeLinear", "com.microsoft", 1, 1, alias_infer, alias_exec, NULL, NULL },
    { NULL },
};
