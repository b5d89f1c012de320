/*
 * profile.c: per-node timing of sessions (lg_session_set_profiling, lg_session_profile)
 * and the executor's hooks (profile.h).
 *
 * A profiled session owns a slot here: its main graph and, per node, the number of timed
 * runs and their total wall time. Slots live in a small table keyed by the session, so
 * the session structure needs no field for them; a lock guards the table, and a count of
 * profiled sessions lets lg_profile_start answer without the lock when none is.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "runtime/profile.h"
#include "runtime/session_impl.h"

/* Sessions profiled at once. */
#define MAX_PROFILED 64

typedef struct prof_slot {
    const lg_session *sess;     /* NULL: free */
    const lg_graph *graph;      /* the session's main graph */
    int n_nodes;
    int64_t *count;             /* [n_nodes] */
    double *ms;                 /* [n_nodes] */
} prof_slot;

static prof_slot slots[MAX_PROFILED];
static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int n_profiled;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* The slot of s, or NULL; called with slots_mu held. */
static prof_slot *find_slot(const lg_session *s)
{
    for (int i = 0; i < MAX_PROFILED; i++)
        if (slots[i].sess == s) return &slots[i];
    return NULL;
}

static void slot_clear(prof_slot *p)
{
    free(p->count);
    free(p->ms);
    memset(p, 0, sizeof(*p));
    atomic_fetch_sub(&n_profiled, 1);
}

int lg_session_set_profiling(lg_session *s, int on)
{
    if (!s || !s->model || !s->model->graph) return lg_error(LG_E_INVALID_ARG, "lg_session_set_profiling: NULL session");
    const lg_graph *g = s->model->graph;
    int rc = LG_OK;
    pthread_mutex_lock(&slots_mu);
    prof_slot *p = find_slot(s);
    if (p) slot_clear(p); /* off, or on again: the totals start from zero */
    if (on) {
        p = find_slot(NULL);
        if (!p) {
            rc = lg_error(LG_E_LIMIT, "at most %d sessions can be profiled at once", MAX_PROFILED);
        } else {
            p->count = calloc((size_t)g->n_nodes + 1, sizeof(*p->count));
            p->ms = calloc((size_t)g->n_nodes + 1, sizeof(*p->ms));
            if (!p->count || !p->ms) {
                free(p->count);
                free(p->ms);
                p->count = NULL;
                p->ms = NULL;
                rc = lg_error(LG_E_NOMEM, "out of memory for the profile of %d nodes", g->n_nodes);
            } else {
                p->sess = s;
                p->graph = g;
                p->n_nodes = g->n_nodes;
                atomic_fetch_add(&n_profiled, 1);
            }
        }
    }
    pthread_mutex_unlock(&slots_mu);
    return rc;
}

int lg_session_profile(lg_session *s, lg_profile_entry *out, int max, int *n)
{
    if (!s || !n || (max > 0 && !out)) return lg_error(LG_E_INVALID_ARG, "lg_session_profile: NULL argument");
    pthread_mutex_lock(&slots_mu);
    const prof_slot *p = find_slot(s);
    if (!p) {
        pthread_mutex_unlock(&slots_mu);
        return lg_error(LG_E_INVALID_ARG, "profiling is off for this session (lg_session_set_profiling)");
    }
    for (int i = 0; i < p->n_nodes && i < max; i++) {
        const lg_node *nd = &p->graph->nodes[i];
        out[i] = (lg_profile_entry){ .node = nd->name ? nd->name : "", .op_type = nd->op_type, .index = i,
                                     .count = p->count[i], .total_ms = p->ms[i] };
    }
    *n = p->n_nodes;
    pthread_mutex_unlock(&slots_mu);
    return LG_OK;
}

uint64_t lg_profile_start(const lg_session *s)
{
    if (atomic_load_explicit(&n_profiled, memory_order_relaxed) == 0) return 0;
    pthread_mutex_lock(&slots_mu);
    bool on = find_slot(s) != NULL;
    pthread_mutex_unlock(&slots_mu);
    return on ? now_ns() : 0;
}

void lg_profile_node_done(const lg_session *s, const lg_graph *g, int node, uint64_t t0)
{
    if (!t0) return;
    uint64_t t1 = now_ns();
    pthread_mutex_lock(&slots_mu);
    prof_slot *p = find_slot(s);
    if (p && p->graph == g && node >= 0 && node < p->n_nodes) {
        p->count[node]++;
        p->ms[node] += (double)(t1 - t0) / 1e6;
    }
    pthread_mutex_unlock(&slots_mu);
}

void lg_profile_forget(const lg_session *s)
{
    if (!s || atomic_load(&n_profiled) == 0) return;
    pthread_mutex_lock(&slots_mu);
    prof_slot *p = find_slot(s);
    if (p) slot_clear(p);
    pthread_mutex_unlock(&slots_mu);
}
