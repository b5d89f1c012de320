/*
 * registry.h: the workers the coordinator knows: what each offers (lg_worker_info),
 * how busy it is, when it was last heard from, and its EWMA service time per model.
 * Not thread-safe: the coordinator serialises calls. Workers are never removed (a dead
 * one stays listed, and comes back alive when it registers again), so pointers stay
 * valid until lg_wreg_destroy.
 *
 *   lg_reg_worker *w;
 *   lg_wreg_hello(r, &info, lg_now(), mono, &w);
 *   if (lg_wreg_eligible(w)) ...
 *   lg_wreg_observe(w, "digits", 0.004);
 */
#ifndef LG_CLUSTER_REGISTRY_H
#define LG_CLUSTER_REGISTRY_H

#include <stdbool.h>

#include "cluster/coordinator.h"

#define LG_EWMA_ALPHA 0.3

typedef struct lg_reg_worker {
    lg_worker_view v;
    bool dead, draining;
    double last_mono;   /* monotonic time of the last hello or heartbeat */
    void *held;         /* the coordinator's list of tasks this worker holds */
} lg_reg_worker;

typedef struct lg_wreg lg_wreg;

lg_wreg *lg_wreg_create(void);
void lg_wreg_destroy(lg_wreg *r);

/* Adds the worker, or updates a known one (alive again if it was dead). *known tells
 * whether the id was registered before. */
int lg_wreg_hello(lg_wreg *r, const lg_worker_info *info, double now, double mono, lg_reg_worker **out,
                      bool *known);
lg_reg_worker *lg_wreg_find(lg_wreg *r, const char *id);
int lg_wreg_count(const lg_wreg *r);
lg_reg_worker *lg_wreg_at(lg_wreg *r, int i);

/* Recomputes v.status from dead, draining, in_flight and capacity. */
void lg_wreg_refresh(lg_reg_worker *w);
/* Alive, not draining, with a free slot. */
bool lg_wreg_eligible(const lg_reg_worker *w);
/* Folds a service time into the worker's EWMA for model (alpha LG_EWMA_ALPHA). */
void lg_wreg_observe(lg_reg_worker *w, const char *model, double service_s);

#endif
