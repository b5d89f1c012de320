/*
 * profile.c: per-node timing of sessions (lg_session_set_profiling, lg_session_profile)
 * and the executor's hooks (profile.h).
 *
 * A profiled session holds an lg_profile: per node of its main graph, the number of
 * timed runs and their total wall time. A session is run by one thread at a time, so
 * the counters need no lock; a session that is not profiled costs one pointer test per
 * node.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "runtime/profile.h"
#include "runtime/session_impl.h"

struct lg_profile {
    const lg_graph *graph; /* the session's main graph */
    int n_nodes;
    int64_t *count;        /* [n_nodes] */
    double *ms;            /* [n_nodes] */
};

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void lg_profile_forget(lg_session *s)
{
    if (!s || !s->profile) return;
    free(s->profile->count);
    free(s->profile->ms);
    free(s->profile);
    s->profile = NULL;
}

int lg_session_set_profiling(lg_session *s, int on)
{
    if (!s || !s->model || !s->model->graph) return lg_error(LG_E_INVALID_ARG, "lg_session_set_profiling: NULL session");
    lg_profile_forget(s); /* off, or on again: the totals start from zero */
    if (!on) return LG_OK;
    const lg_graph *g = s->model->graph;
    lg_profile *p = calloc(1, sizeof(*p));
    if (p) {
        p->count = calloc((size_t)g->n_nodes + 1, sizeof(*p->count));
        p->ms = calloc((size_t)g->n_nodes + 1, sizeof(*p->ms));
    }
    if (!p || !p->count || !p->ms) {
        if (p) {
            free(p->count);
            free(p->ms);
        }
        free(p);
        return lg_error(LG_E_NOMEM, "out of memory for the profile of %d nodes", g->n_nodes);
    }
    p->graph = g;
    p->n_nodes = g->n_nodes;
    s->profile = p;
    return LG_OK;
}

int lg_session_profile(lg_session *s, lg_profile_entry *out, int max, int *n)
{
    if (!s || !n || (max > 0 && !out)) return lg_error(LG_E_INVALID_ARG, "lg_session_profile: NULL argument");
    const lg_profile *p = s->profile;
    if (!p) return lg_error(LG_E_INVALID_ARG, "profiling is off for this session (lg_session_set_profiling)");
    for (int i = 0; i < p->n_nodes && i < max; i++) {
        const lg_node *nd = &p->graph->nodes[i];
        out[i] = (lg_profile_entry){ .node = nd->name ? nd->name : "", .op_type = nd->op_type, .index = i,
                                     .count = p->count[i], .total_ms = p->ms[i] };
    }
    *n = p->n_nodes;
    return LG_OK;
}

uint64_t lg_profile_start(const lg_session *s) { return s->profile ? now_ns() : 0; }

void lg_profile_node_done(const lg_session *s, const lg_graph *g, int node, uint64_t t0)
{
    lg_profile *p = s->profile;
    if (!t0 || !p || p->graph != g || node < 0 || node >= p->n_nodes) return;
    p->count[node]++;
    p->ms[node] += (double)(now_ns() - t0) / 1e6;
}
