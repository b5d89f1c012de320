/*
 * coordinator.h: the coordinator core: the durable task table (SQLite store), the
 * priority queue with ageing, the worker registry and the balancing strategy, behind
 * one thread-safe handle. It holds no sockets: the REST API calls it to submit and
 * query tasks, and the transport (coord_net.c, ZeroMQ) feeds it worker events and asks
 * it what to send where. Every accepted task is committed to the store before
 * lg_coord_submit returns, and only then can it run: a submit that gets an error leaves
 * nothing behind. After a crash lg_coord_open requeues what was not finished.
 *
 *   lg_coord_config cfg;
 *   lg_coord_config_defaults(&cfg);
 *   cfg.data_dir = "data";
 *   lg_coord *c;
 *   if (lg_coord_open(&cfg, &c) != LG_OK) { fprintf(stderr, "%s\n", lg_last_error()); return 1; }
 *
 *   lg_submit_request req = { .model = "digits", .priority = LG_PRIO_HIGH,
 *                             .input_kind = LG_INPUT_JSON, .input = body, .input_len = len };
 *   lg_submit_result res;
 *   lg_coord_submit(c, &req, &res);                    // res.task_id, res.created
 *   lg_task t;
 *   lg_coord_task_wait(c, res.task_id, 5.0, &t);       // until final or 5 s
 *   lg_task_clear(&t);
 *   lg_coord_close(c);
 */
#ifndef LG_CLUSTER_COORDINATOR_H
#define LG_CLUSTER_COORDINATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster/task.h"

typedef struct lg_coord lg_coord;

/* ---- strategies ------------------------------------------------------------------ */

typedef enum lg_strategy_kind {
    LG_STRATEGY_ROUND_ROBIN = 0,
    LG_STRATEGY_LEAST_LOADED,
    LG_STRATEGY_GPU_MATCH,
    LG_STRATEGY_LATENCY_BASED,
    LG_STRATEGY_ADAPTIVE,
    LG_STRATEGY_COUNT
} lg_strategy_kind;

const char *lg_strategy_name(lg_strategy_kind k);          /* "ROUND_ROBIN", ... */
int lg_strategy_parse(const char *s, lg_strategy_kind *out); /* case-insensitive */

/* ---- workers --------------------------------------------------------------------- */

typedef enum lg_worker_status {
    LG_WORKER_IDLE = 0,
    LG_WORKER_BUSY,
    LG_WORKER_DRAINING,
    LG_WORKER_DEAD,
    LG_WORKER_STATUS_COUNT
} lg_worker_status;

const char *lg_worker_status_name(lg_worker_status s);     /* "idle", "busy", ... */
int lg_worker_status_parse(const char *s, lg_worker_status *out);

#define LG_MAX_DEVICES 8
#define LG_MAX_WORKER_MODELS 64

typedef struct lg_device_info {
    char name[96];
    char vendor[32];         /* "amd", "nvidia", "intel", "cpu" */
    char backend[16];        /* "cpu", "vulkan" */
    int64_t memory_mb;
    bool fp16;
    bool unhealthy;          /* lost (VK_ERROR_DEVICE_LOST) or failing: given no device tasks */
} lg_device_info;

/* What a worker says about itself when it registers (and again in heartbeats). */
typedef struct lg_worker_info {
    char id[64];
    char host[128];
    int n_backends;
    char backends[4][16];
    int n_devices;
    lg_device_info devices[LG_MAX_DEVICES];
    int cpu_threads;
    int capacity;            /* max concurrent tasks */
    int n_models;
    char models[LG_MAX_WORKER_MODELS][64]; /* cached models */
    int n_tags;
    char tags[8][64];        /* "key=value" */
} lg_worker_info;

/* A worker as the registry sees it. */
typedef struct lg_worker_view {
    lg_worker_info info;
    lg_worker_status status;
    int in_flight;
    double registered_at, last_seen;
    int64_t completed, failed;
    /* EWMA of service time (seconds) per model, for the models it has run. */
    int n_ewma;
    char ewma_model[LG_MAX_WORKER_MODELS][64];
    double ewma_s[LG_MAX_WORKER_MODELS];
} lg_worker_view;

/* ---- configuration ----------------------------------------------------------------- */

typedef struct lg_coord_config {
    const char *data_dir;        /* SQLite store folder (created); NULL: in memory (tests) */
    const char *models_dir;      /* model repository served to workers, or NULL */
    lg_strategy_kind strategy;
    int max_attempts;            /* default 3 */
    double heartbeat_interval_s; /* default 1.0 */
    int heartbeat_misses;        /* dead after this many missed beats; default 3 */
    double result_ttl_s;         /* default 86400 */
    double ageing_s;             /* a queued task gains one priority level per this; default 10 */
    int64_t max_body_bytes;      /* default 64 MiB */
    /* Admission bounds: submits past them answer LG_E_LIMIT (HTTP 503). Defaults are
     * sized from the machine's RAM; <= 0: no bound. */
    int64_t max_queued_tasks;    /* tasks waiting in the queue */
    int64_t max_queued_bytes;    /* their input bytes (kept in the store, not in memory) */
    /* Inputs of queued tasks kept in memory as well, up to this many bytes in all (the
     * rest is read back from the store at dispatch); default 64 MiB. */
    int64_t resident_input_bytes;
    /* Store budget: past it, finished tasks are purged oldest first (before their TTL).
     * 0: half the free space of the data folder's file system at open; < 0: none. */
    int64_t store_max_bytes;
} lg_coord_config;

void lg_coord_config_defaults(lg_coord_config *cfg);

/* Opens the store, requeues tasks that were accepted but not finished (a crash or
 * kill -9), and starts with no workers. */
int lg_coord_open(const lg_coord_config *cfg, lg_coord **out);
void lg_coord_close(lg_coord *c);

/* ---- the API side ------------------------------------------------------------------ */

typedef struct lg_submit_request {
    const char *model;
    lg_priority priority;
    const char *requirements_json;   /* NULL: none */
    lg_input_kind input_kind;
    const uint8_t *input;
    size_t input_len;
    double timeout_s;                /* 0: none */
    const char *idempotency_key;     /* NULL: none */
    const char *body_hash;           /* sha-256 hex of the request body, with a key */
} lg_submit_request;

typedef struct lg_submit_result {
    char task_id[LG_TASK_ID_LEN + 1];
    bool created;                    /* false: an earlier task with the same key */
    lg_task_state state;
} lg_submit_result;

/* Validates and stores the task (committed before it returns), then queues it.
 * LG_E_INVALID_ARG: bad field; LG_E_RUNTIME with "idempotency" in the message: the key
 * was used with another body (HTTP 409); LG_E_LIMIT: draining (HTTP 503). */
int lg_coord_submit(lg_coord *c, const lg_submit_request *req, lg_submit_result *res);

/* Store failures: lg_coord_submit (and reads that must show durable state) return
 * LG_E_IO with a message for people; it starts with this when the disk is full (HTTP
 * 507), otherwise the store failed in another way (HTTP 503). */
#define LG_COORD_STORE_FULL "the task store is full"

/* Why a submission was refused, counted in the stats (and /metrics). */
typedef enum lg_reject_reason {
    LG_REJECT_QUEUE_TASKS = 0, /* max_queued_tasks reached */
    LG_REJECT_QUEUE_BYTES,     /* max_queued_bytes reached */
    LG_REJECT_STORE_FULL,      /* the disk is full */
    LG_REJECT_STORE_ERROR,     /* another store failure */
    LG_REJECT_DRAINING,
    LG_REJECT_UNKNOWN_MODEL,   /* counted by the API */
    LG_REJECT_BAD_INPUT,       /* counted by the API: does not match the model */
    LG_REJECT_COUNT
} lg_reject_reason;

const char *lg_reject_reason_name(lg_reject_reason r); /* "queue_tasks", ... */
/* Counts a refusal decided outside the core (the API's checks at the door). */
void lg_coord_count_rejection(lg_coord *c, lg_reject_reason r);
/* Copy of the task (LG_E_NOT_FOUND if unknown or purged). Caller: lg_task_clear. */
int lg_coord_task_get(lg_coord *c, const char *id, lg_task *out);
/* Like get, but waits up to timeout_s for a final state; *final tells if it is. */
int lg_coord_task_wait(lg_coord *c, const char *id, double timeout_s, lg_task *out, bool *final);
/* Cancels a task that is not final (LG_E_INVALID_ARG if it already is). */
int lg_coord_task_cancel(lg_coord *c, const char *id);

/* Tasks newest first, optionally of one state; cursor is opaque ("" first page),
 * next_cursor receives the next page's cursor ("" when done). */
typedef void (*lg_task_visit)(void *arg, const lg_task *t);
int lg_coord_task_list(lg_coord *c, int state_filter /* -1: all */, int limit, const char *cursor,
                       lg_task_visit visit, void *arg, char *next_cursor, int next_len);

typedef void (*lg_worker_visit)(void *arg, const lg_worker_view *w);
int lg_coord_workers(lg_coord *c, int status_filter /* -1: all */, lg_worker_visit visit, void *arg);
int lg_coord_worker_get(lg_coord *c, const char *id, lg_worker_view *out);

int lg_coord_set_strategy(lg_coord *c, lg_strategy_kind k);
lg_strategy_kind lg_coord_strategy(lg_coord *c);
const lg_coord_config *lg_coord_get_config(lg_coord *c);

typedef struct lg_coord_stats {
    int64_t tasks_by_state[LG_TASK_STATE_COUNT];
    int64_t queued_by_priority[LG_PRIO_COUNT];
    int workers_by_status[LG_WORKER_STATUS_COUNT];
    int64_t submitted_total, dispatched_total, completed_total, failed_total, requeued_total;
    /* Histograms (seconds): bucket upper bounds and cumulative-style counts. */
    int n_buckets;
    double bucket_le[16];
    int64_t task_duration_count[17], queue_duration_count[17];
    double task_duration_sum, queue_duration_sum;
    bool draining;
    double uptime_s;
    /* Admission and the store. */
    int64_t rejected_total[LG_REJECT_COUNT];
    int64_t queued_bytes, max_queued_tasks, max_queued_bytes;
    int64_t purged_total;        /* finished tasks purged for the store budget */
    int64_t store_bytes, store_file_bytes, store_max_bytes;
    bool store_degraded;         /* the last store write failed */
    char store_reason[384];      /* why, for /cluster/health */
} lg_coord_stats;

int lg_coord_stats_get(lg_coord *c, lg_coord_stats *out);

/* Stops accepting tasks (submit answers LG_E_LIMIT); running tasks may finish. */
void lg_coord_drain(lg_coord *c);
bool lg_coord_draining(lg_coord *c);

/* ---- the transport side --------------------------------------------------------- */

/* A worker (re)registers or sends a heartbeat with its current info. */
int lg_coord_worker_hello(lg_coord *c, const lg_worker_info *info);
int lg_coord_worker_heartbeat(lg_coord *c, const char *worker_id, int in_flight);
/* After a (re)registration: held lists the ids of every task the worker still has
 * (queued, running, or with a report not yet sent). Tasks the coordinator gave it that it
 * does not list were lost with an earlier connection: they go back to the queue. */
int lg_coord_worker_reconcile(lg_coord *c, const char *worker_id, const char *const *held, int n_held);
/* The worker says goodbye (graceful): its tasks are requeued. */
int lg_coord_worker_bye(lg_coord *c, const char *worker_id);
/* Marks workers whose last beat is older than misses * interval dead and requeues their
 * tasks; returns how many were declared dead. Call it about every interval. Also
 * expires task timeouts and purges results past their TTL. */
int lg_coord_tick(lg_coord *c);

/* The next (task, worker) pair to send, or LG_E_NOT_FOUND when nothing can be sent
 * now. The task moves to DISPATCHED on that worker. *task receives a copy (with input)
 * for the transport to send; lg_task_clear it. */
int lg_coord_next_dispatch(lg_coord *c, lg_task *task, char *worker_id, int worker_id_len);

/* Worker reports. A report from a worker that no longer holds the task (declared dead,
 * task requeued or cancelled) is ignored and returns LG_E_NOT_FOUND: one task, one result. */
int lg_coord_task_started(lg_coord *c, const char *worker_id, const char *task_id);
int lg_coord_task_completed(lg_coord *c, const char *worker_id, const char *task_id, const char *result_json,
                            double service_s);
/* A failed attempt: requeued until max_attempts, then FAILED with every reason. */
int lg_coord_task_failed(lg_coord *c, const char *worker_id, const char *task_id, const char *reason);
/* A failure a retry cannot fix (the input does not match the model, an unsupported
 * operator): FAILED at once. With model_missing, the worker lacks the model: the task
 * is retried while another live worker advertises it, and fails at once otherwise. */
int lg_coord_task_rejected(lg_coord *c, const char *worker_id, const char *task_id, const char *reason,
                           bool model_missing);

/* ---- events --------------------------------------------------------------------- */

typedef enum lg_coord_event_kind { LG_EV_TASK = 0, LG_EV_WORKER, LG_EV_STRATEGY, LG_EV_DRAIN } lg_coord_event_kind;

/* One thing that happened. action: task: submitted, dispatched, started, completed,
 * failed, cancelled, timed_out, requeued; worker: joined, rejoined, left, dead, status,
 * draining; strategy: changed; drain: started. Pointers are valid during the call only. */
typedef struct lg_coord_event {
    lg_coord_event_kind kind;
    const char *action;
    const lg_task *task;             /* LG_EV_TASK */
    const lg_worker_view *worker;    /* LG_EV_WORKER */
    lg_strategy_kind strategy, previous; /* LG_EV_STRATEGY */
} lg_coord_event;

/* Called for every event with the coordinator's mutex held: it must be quick, do no
 * I/O and never call back into the coordinator. NULL fn: none. */
typedef void (*lg_coord_observer)(void *arg, const lg_coord_event *ev);
void lg_coord_set_observer(lg_coord *c, lg_coord_observer fn, void *arg);

/* Stops giving the worker tasks (status draining); what it holds may finish. */
int lg_coord_worker_drain(lg_coord *c, const char *worker_id);

/* The transport sets this to be woken when there may be work to dispatch (a task was
 * submitted or requeued, a worker gained capacity). Called with no lock held. */
void lg_coord_set_wakeup(lg_coord *c, void (*fn)(void *arg), void *arg);

#endif
