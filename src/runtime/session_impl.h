/*
 * session_impl.h: the runtime's internal structures: per-graph execution plans and the
 * frames that hold a graph's live tensors while it runs.
 *
 * A plan is made once per graph (the main graph and every subgraph) when a session is
 * created: the op of each node, prepared per-node state, constants folded at creation,
 * and for every value the index of the node that reads it last, so its tensor is freed
 * right after. A frame is one execution of a plan: vals[v] points at value v's tensor.
 */
#ifndef LG_SESSION_IMPL_H
#define LG_SESSION_IMPL_H

#include "runtime/backend.h"
#include "runtime/kernel.h"

typedef struct lg_plan {
    const lg_graph *graph;
    const lg_op_def **ops;   /* [n_nodes] */
    void **states;           /* [n_nodes] from prepare */
    bool *skip;              /* [n_nodes] folded at creation or fused into another node */
    int *redirect;           /* [n_nodes] value that output 0 is stored in (fusion), or -1 */
    lg_tensor **consts;      /* [n_values] folded constants owned by the plan, or NULL */
    int *last_use;           /* [n_values] last node index reading it; n_nodes for outputs */
} lg_plan;

struct lg_frame {
    const lg_plan *plan;
    lg_tensor **vals;        /* [n_values] */
    bool *owned;             /* [n_values] vals[v] belongs to this frame */
    lg_frame *parent;
    lg_session *sess;
};

#define LG_SESSION_MAX_BACKENDS 4

struct lg_session {
    lg_model *model;
    const lg_backend_i *backends[LG_SESSION_MAX_BACKENDS]; /* placement order; the CPU last */
    int n_backends;
    lg_threadpool *pool;
    lg_session_options opts;
    lg_plan **plans;         /* main graph first, then every subgraph */
    int n_plans, cap_plans;
};

const lg_plan *lg_session_plan_for(const lg_session *s, const lg_graph *g);

/* Fuses activations into the prepared nodes that feed them (fuse.c). */
void lg_plan_fuse(lg_plan *p);

#endif
