/*
 * kernel.h: the contract between the runtime and an operator implementation.
 *
 * An operator is an lg_op_def in a table (see backends/cpu/registry.c). For each node the
 * runtime builds an lg_kctx and calls:
 *   infer(ctx)  -> sets dtype and shape of every output with lg_kout_shape(); no data.
 *                  Called for static shape inference too, where an input that is not a
 *                  constant has data == NULL: an infer that needs input values must then
 *                  return LG_E_DYNAMIC (use LG_KNEED_DATA). May be NULL: then exec sets
 *                  shapes itself with lg_kout_alloc() (data-dependent outputs: NonZero).
 *   exec(ctx)   -> at run time, after infer; the outputs already have zeroed data of
 *                  the inferred shape. Writes the results.
 *   prepare(ctx, &state) / release(state) -> optional, once per session; inputs that are
 *                  constants (weights) have data, the others are NULL. For pre-packed
 *                  weights: keep them in *state (ctx->state in exec) and set bit i of
 *                  ctx->consumed so the original weights can be freed (memory is budgeted).
 *
 * Errors: call lg_error(code, "...") with what is wrong; the runtime adds the node name,
 * op and opset in front. Inputs omitted in the model (optional) are NULL; so are outputs
 * the model does not use.
 *
 *   static int relu_infer(lg_kctx *c) {
 *       const lg_tensor *x = c->inputs[0];
 *       return lg_kout_shape(c, 0, x->dtype, x->ndim, x->dims);
 *   }
 *   static int relu_exec(lg_kctx *c) {
 *       const float *x = c->inputs[0]->data; float *y = c->outputs[0]->data;
 *       for (int64_t i = 0, n = lg_tensor_numel_(c->inputs[0]); i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
 *       return LG_OK;
 *   }
 *   const lg_op_def lg_ops_example[] = {
 *       { "Relu", "", 1, 17, relu_infer, relu_exec, NULL, NULL },
 *       { NULL }
 *   };
 */
#ifndef LG_KERNEL_H
#define LG_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/tensor_impl.h"
#include "base/threadpool.h"
#include "model/graph.h"

typedef struct lg_kctx lg_kctx;
typedef struct lg_frame lg_frame;

/* An activation or epilogue fused into the node that produces its input. */
typedef enum lg_act_kind {
    LG_ACT_NONE = 0,
    LG_ACT_RELU,        /* max(x, 0) */
    LG_ACT_CLIP,        /* min(max(x, alpha), beta) */
    LG_ACT_SIGMOID,     /* 1 / (1 + exp(-x)) */
    LG_ACT_SILU,        /* x * sigmoid(x) */
    LG_ACT_LEAKYRELU,   /* x >= 0 ? x : alpha * x */
    LG_ACT_HARDSIGMOID, /* max(0, min(1, alpha * x + beta)) */
    LG_ACT_HARDSWISH,   /* x * max(0, min(1, x / 6 + 1 / 2)) */
    LG_ACT_TANH,
} lg_act_kind;

typedef struct lg_act {
    lg_act_kind kind;
    float alpha, beta; /* clip: min, max; leakyrelu: alpha; hardsigmoid: alpha, beta */
} lg_act;

/* Fills act for a Relu, Clip, Sigmoid, LeakyRelu, HardSigmoid, HardSwish or Tanh node
 * (attributes and their defaults); LG_E_UNSUPPORTED for any other op (runtime/act.c).
 * Clip from opset 11 takes min/max as inputs: the caller sets alpha/beta from them. */
int lg_act_from_node(const lg_node *n, lg_act *act);


struct lg_kctx {
    const lg_node *node;
    int opset;                     /* opset of the node's domain */
    int n_inputs;
    const lg_tensor *const *inputs; /* [n_inputs], NULL = omitted */
    int n_outputs;
    lg_tensor **outputs;           /* [n_outputs], NULL = not used by the model */
    lg_threadpool *pool;           /* never NULL; lg_parallel_for on it */
    void *state;                   /* from prepare, or NULL */
    bool infer_only;               /* static shape inference: no exec follows */
    lg_frame *frame;               /* executor frame, for subgraphs (If/Loop/Scan) */
    uint32_t consumed;             /* prepare: bit i set = exec no longer reads constant input
                                      i (it lives in state); the runtime may free its data */
};

struct lg_op_def {
    const char *name;
    const char *domain;            /* "" = default ONNX domain (also matches "ai.onnx") */
    int since, until;              /* opset versions this entry implements completely */
    int (*infer)(lg_kctx *ctx);
    int (*exec)(lg_kctx *ctx);
    int (*prepare)(lg_kctx *ctx, void **state);
    void (*release)(void *state);
    /* Optional: applies act in the output pass of the node prepared into state (the
     * runtime's fusion then skips the activation node); LG_OK or the reason it cannot. */
    int (*fuse_act)(void *state, const lg_act *act);
    /* Optional: makes the node prepared into state add a residual: the runtime then passes
     * the other operand of the Add it removed as input 3 (after X, W, B; B may be NULL). */
    int (*fuse_residual)(void *state);
    /* exec writes every element of its outputs: the runtime skips zero-filling them. */
    bool overwrites_outputs;
};

/* Sets output i's dtype and shape (no-op for an unused output). */
int lg_kout_shape(lg_kctx *c, int i, lg_dtype dt, int ndim, const int64_t *dims);
/* Sets dtype and shape and allocates zeroed data (from exec, when infer is NULL or
 * the shape is only known now). Returns the tensor, or NULL with an error set. */
lg_tensor *lg_kout_alloc(lg_kctx *c, int i, lg_dtype dt, int ndim, const int64_t *dims);

/* Input i, or NULL if omitted / out of range. */
static inline const lg_tensor *lg_kin(const lg_kctx *c, int i)
{
    return (i < c->n_inputs) ? c->inputs[i] : NULL;
}

/* In infer: input i's values are needed but not known yet (static inference). */
#define LG_KNEED_DATA(c, i) \
    do { \
        const lg_tensor *lg_t_ = lg_kin((c), (i)); \
        if (lg_t_ && lg_t_->data == NULL && lg_tensor_numel_(lg_t_) > 0) return LG_E_DYNAMIC; \
    } while (0)

/* Runs a subgraph (If/Loop/Scan bodies) in the context of the current frame: values of
 * enclosing graphs are visible by name. inputs bind to g->inputs in order; outputs[i]
 * receive new tensors the caller owns (lg_tensor_free). */
int lg_kctx_run_graph(lg_kctx *c, const lg_graph *g, int n_in, const lg_tensor *const *inputs,
                      int n_out, lg_tensor **outputs);

/* Broadcasting (numpy rules): output shape of a and b; LG_E_SHAPE if incompatible. */
int lg_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b, int *nout, int64_t *out);
/* Strides of an input of shape (n, dims) viewed at the output rank nout with broadcast
 * dimensions given stride 0. */
void lg_broadcast_strides(int n, const int64_t *dims, int nout, int64_t *strides);

/* Normalizes an axis in [-rank, rank-1] to [0, rank-1]; LG_E_INVALID_MODEL if outside. */
int lg_norm_axis(int64_t axis, int rank, int *out);

#endif
