/*
 * activation.c: CPU operators (stub: filled in by its owner).
 */
#include "runtime/kernel.h"

const lg_op_def lg_ops_activation[] = {
    { NULL }
};
