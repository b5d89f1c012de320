/*
 * strategy_impl.h: what the strategy files share inside the cluster library: the
 * ADAPTIVE definition (strategy_adaptive.c) for the table in strategy.c, and the small
 * rankings several strategies fall back on.
 */
#ifndef LG_CLUSTER_STRATEGY_IMPL_H
#define LG_CLUSTER_STRATEGY_IMPL_H

#include "cluster/strategy.h"

/* Service time assumed for a model no worker has run yet (seconds). */
#define LG_DEFAULT_SERVICE_S 0.1

extern const lg_strategy_def lg_strategy_adaptive_def;

/* A worker's capacity, at least 1. */
int lg_worker_capacity(const lg_worker_view *w);
/* <0 when a is less loaded than b: in_flight / capacity, then fewer in flight, then id. */
int lg_load_cmp(const lg_worker_view *a, const lg_worker_view *b);
/* Mean EWMA service time of model over the candidates that ran it, or 0 if none did. */
double lg_mean_service(const lg_worker_view *const *cand, int n, const char *model);

#endif
