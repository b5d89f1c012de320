/*
 * strategy.h: load-balancing strategies as a table. The coordinator core filters the
 * workers that can run a task (alive, not draining, with free capacity, meeting its
 * requirements) and asks the current strategy to rank them; strategies that learn are
 * told how every attempt went.
 *
 *   const lg_strategy_def *s = lg_strategy_get(LG_STRATEGY_LEAST_LOADED);
 *   void *st = s->create();
 *   int i = s->pick(st, &task, candidates, n, lg_now());   // index into candidates
 *   s->observe(st, candidates[i]->info.id, task.model, 0.012, true);
 *   s->destroy(st);
 */
#ifndef LG_CLUSTER_STRATEGY_H
#define LG_CLUSTER_STRATEGY_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster/coordinator.h"

typedef struct lg_strategy_def {
    lg_strategy_kind kind;
    const char *name;            /* "ROUND_ROBIN", ... */
    const char *summary;         /* one line: what it picks (docs and GET /cluster/config) */
    void *(*create)(void);       /* per-coordinator state, or NULL when none is needed */
    void (*destroy)(void *state);
    /* Index in [0, n) of the worker to run task on; n >= 1, all candidates eligible.
     * cand[i]->in_flight is how many tasks candidate i is running now. */
    int (*pick)(void *state, const lg_task *task, const lg_worker_view *const *cand, int n, double now);
    /* How an attempt went (service time in seconds; ok false for a failure or a worker
     * lost while running it). May be NULL. */
    void (*observe)(void *state, const char *worker_id, const char *model, double service_s, bool ok);
} lg_strategy_def;

const lg_strategy_def *lg_strategy_get(lg_strategy_kind k);

/* True when worker w meets task requirements r (memory, backend, vendor, fp16, tags). */
bool lg_requirements_met(const lg_requirements *r, const lg_worker_info *w);

/* Expected service time of model on w: its EWMA, else the mean over workers that ran
 * it, else a default. Used by LATENCY_BASED and ADAPTIVE. */
double lg_worker_expected_service(const lg_worker_view *w, const char *model, double fallback);

/* Seeds the random choices of an ADAPTIVE state (from its create()), so that a run is
 * reproducible; a fresh state has a fixed default seed. */
void lg_strategy_adaptive_seed(void *state, uint64_t seed);

#endif
