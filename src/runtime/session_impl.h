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
    lg_act *acts;            /* [n_nodes] activation fused into node i's output pass */
    int *residual;           /* [n_nodes] value added in node i's output pass (fused Add), or -1 */
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

typedef struct lg_sched lg_sched;
typedef struct lg_profile lg_profile;

struct lg_session {
    lg_model *model;
    const lg_backend_i *backends[LG_SESSION_MAX_BACKENDS]; /* placement order; the CPU last */
    int n_backends;
    lg_threadpool *pool;
    lg_session_options opts;
    lg_plan **plans;         /* main graph first, then every subgraph */
    int n_plans, cap_plans;
    const lg_backend_i *host_backend; /* runs every node the device does not */
    /* The device backend this session may place nodes on (NULL: host only). */
    const lg_backend_i *dev_backend;
    lg_device *dev;
    int dev_index;
    bool dev_auto;           /* chosen by "auto": out of device memory falls back to the CPU */
    lg_sched *sched;         /* placement, partitions and device memory (sched.c) */
    lg_profile *profile;     /* per-node timing when profiling is on (profile.c), or NULL */
};

/* Frames (session.c), for the scheduler. */
int lg_frame_init(lg_frame *f, lg_session *s, const lg_plan *p, lg_frame *parent);
void lg_frame_free(lg_frame *f);
lg_tensor *lg_frame_lookup(lg_frame *f, int v);
int lg_frame_run_node(lg_frame *f, int i, bool infer_only);
void lg_frame_release_after(lg_frame *f, int i);
/* The constant value v of plan p (folded or initializer, not an overridable input), or NULL. */
const lg_tensor *lg_plan_constant(const lg_plan *p, int v);

/* The scheduler (sched.c): places the main graph's nodes on the session's device,
 * splits them into partitions, plans device memory, runs them. */
int lg_sched_create(lg_session *s);
void lg_sched_free(lg_session *s);
/* Runs the main graph in frame f (inputs bound); LG_E_UNSUPPORTED if the scheduler
 * cannot take this run (the caller then runs everything on the host). */
int lg_sched_run(lg_session *s, lg_frame *f);
/* The device copy of constant value v of the main graph, or NULL (tests). */
const lg_tensor *lg_sched_device_constant(const lg_session *s, int v);

const lg_plan *lg_session_plan_for(const lg_session *s, const lg_graph *g);

/* Fuses activations into the prepared nodes that feed them (fuse.c). */
void lg_plan_fuse(lg_plan *p);

#endif
