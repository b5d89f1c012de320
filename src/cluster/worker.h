/*
 * worker.h: a worker: a DEALER connection to the coordinator (reconnect with backoff,
 * heartbeats both ways), up to max_tasks tasks at once on an lg_executor, models fetched
 * from the coordinator by content hash when missing. `legacygpu worker start` runs one
 * in the foreground; `legacygpu serve` runs N in its process.
 *
 *   lg_worker_config wc;
 *   lg_worker_config_defaults(&wc);
 *   wc.coordinator = "tcp://127.0.0.1:5555";
 *   wc.models_dir = "models";
 *   lg_worker *w;
 *   lg_worker_start(&wc, &w);      // runs on its own threads
 *   ...
 *   lg_worker_stop(w);             // finishes or hands back its tasks, says goodbye
 */
#ifndef LG_CLUSTER_WORKER_H
#define LG_CLUSTER_WORKER_H

#include <stdbool.h>

typedef struct lg_worker lg_worker;

typedef struct lg_worker_config {
    const char *coordinator;     /* "tcp://HOST:PORT" */
    const char *worker_id;       /* NULL: hostname-pid-random */
    const char *models_dir;      /* local repository, may be NULL */
    const char *cache_dir;       /* where fetched models go; NULL: a temp folder */
    const char *backend;         /* "cpu", "auto" (every usable GPU, then the CPU), "vulkan", "vulkan:N" */
    int max_tasks;               /* concurrent tasks; default 1 */
    int threads;                 /* engine threads per task; 0: cores / max_tasks */
    double heartbeat_interval_s; /* default 1.0 */
    int heartbeat_misses;        /* coordinator presumed gone after this many; default 3 */
    const char *const *tags;     /* "key=value" NULL-terminated, or NULL */
    const char *curve_secret;    /* this worker's CURVE key pair file (curve.h), or NULL */
    const char *coordinator_key; /* the coordinator's CURVE public key file (with curve_secret) */
} lg_worker_config;

void lg_worker_config_defaults(lg_worker_config *cfg);
int lg_worker_start(const lg_worker_config *cfg, lg_worker **out);
const char *lg_worker_id(const lg_worker *w);
/* Asks it to stop; waits until it has. */
void lg_worker_stop(lg_worker *w);
/* Blocks until the worker stops (after lg_worker_stop from another thread or a signal
 * handler's lg_worker_request_stop). */
void lg_worker_wait(lg_worker *w);
void lg_worker_request_stop(lg_worker *w);

#endif
