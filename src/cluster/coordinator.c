/*
 * coordinator.c: the coordinator core: submit, dispatch, worker reports, faults,
 * timeouts, waits and stats over the store, the queue, the registry and the strategy,
 * behind one mutex.
 *
 * Tasks that are not final live in memory as entries (a hash by id) as well as in the
 * store; every state change is written through at once. Commits are grouped: writes go
 * into an open transaction, and a submit (or a read that could show a final state)
 * makes them durable before it returns, sharing one commit with the threads queued on
 * the mutex at that moment (group commit); lg_coord_tick commits whatever is left. So
 * an accepted task is durable before submit returns, and a result is durable before
 * anyone can see it. A new task joins the queue only when its insert has committed; a
 * failed commit refuses the tasks inserted in it, and every other write it held stays
 * on tx_list to be redone with the next transaction (memory leads meanwhile; the
 * degraded state says why until a write succeeds). A final task leaves memory once its
 * final state is durable (the store keeps it until its TTL or the store budget), except
 * while someone waits on it: then the last waiter frees the entry. Queued inputs past
 * the resident budget live only in the store and are read back at dispatch. The wakeup
 * callback is always called with the mutex released; strategy code runs under it (it
 * never calls back into the coordinator).
 */
#include "cluster/coordinator.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "cluster/queue.h"
#include "cluster/registry.h"
#include "cluster/store.h"
#include "cluster/strategy.h"

#define MAX_MODEL_NAME 255
#define MAX_GROUP 256       /* writes in one transaction before a commit is forced */
#define MAX_SYNC_WAITERS 16 /* threads waiting for one commit before it is forced */
#define PURGE_BATCH 5000    /* at most this many finished tasks deleted per step */
#define STORE_RETRY_S 0.2   /* a failing store is retried this often outside the tick */

/* Histogram bucket upper bounds (seconds). */
static const double bucket_le[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                    0.25,   0.5,   1,      2.5,   5,    10,    30,    60 };
#define N_BUCKETS ((int)(sizeof bucket_le / sizeof bucket_le[0]))

typedef struct entry {
    lg_task t;                   /* t.input NULL when the input lives only in the store */
    int64_t seq;
    lg_qitem q;                  /* q.pos >= 0 while queued */
    lg_reg_worker *holder;       /* while DISPATCHED or RUNNING */
    struct entry *wprev, *wnext; /* in the holder's list */
    struct entry *hnext;         /* hash chain */
    struct entry *txnext;        /* in the list of writes not yet durable */
    int waiters;
    bool cond_ready, detached;
    bool reloaded;               /* requeued at open, to be written after the scan */
    bool in_tx;                  /* written since the last successful commit */
    bool fresh;                  /* inserted, not yet committed: not queued yet */
    bool rejected;               /* its insert was rolled back: the submitter frees it */
    bool resident;               /* t.input counts in resident_bytes */
    pthread_cond_t cond;
} entry;

typedef struct histogram {
    int64_t count[N_BUCKETS + 1]; /* per bucket, the last one above every bound */
    double sum;
} histogram;

struct lg_coord {
    lg_coord_config cfg;
    char *data_dir, *models_dir;
    pthread_mutex_t mu;
    atomic_int n_waiting;        /* threads blocked in lock() */
    bool tx_open;
    int pending;                 /* writes in the open transaction */
    uint64_t gen, durable_gen, failed_gen; /* transaction generations */
    int sync_waiters;            /* threads waiting for durable_gen to reach theirs */
    pthread_cond_t durable_cv;
    lg_store *store;
    lg_queue *queue;
    lg_wreg *reg;
    entry **buckets;
    size_t n_buckets, n_active;
    lg_strategy_kind strategy;
    bool strategy_made[LG_STRATEGY_COUNT];
    void *strategy_state[LG_STRATEGY_COUNT];
    void (*wake)(void *arg);
    void *wake_arg;
    bool draining;
    /* Writes since the last successful commit (entries), redone after a failure. */
    entry *tx_list;
    bool degraded;               /* the last store write failed */
    bool probed;                 /* the open transaction holds the degraded state's probe */
    bool in_tick;                /* lg_coord_tick runs: it retries the store at once */
    double failed_mono;          /* when the store last failed */
    char store_reason[384];      /* the message of the last store failure */
    int64_t queued_bytes;        /* input bytes of QUEUED tasks */
    int64_t resident_bytes;      /* input bytes held in memory by entries */
    int64_t store_max;           /* the budget in bytes, 0: none */
    int64_t store_used, store_file;
    int64_t rejected[LG_REJECT_COUNT];
    int64_t purged;
    double opened_mono;
    int64_t by_state[LG_TASK_STATE_COUNT];
    int64_t submitted, dispatched, completed, failed, requeued;
    histogram task_hist, queue_hist;
    const lg_worker_view **cand; /* scratch for dispatch */
    lg_reg_worker **elig;
    int cand_cap;
    lg_coord_observer observer;  /* events, called under mu */
    void *observer_arg;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void hist_add(histogram *h, double v)
{
    int i = 0;
    while (i < N_BUCKETS && v > bucket_le[i]) i++;
    h->count[i]++;
    h->sum += v;
}

/* ---- events (mutex held) ------------------------------------------------------------- */

static void emit(lg_coord *c, lg_coord_event ev)
{
    if (c->observer) c->observer(c->observer_arg, &ev);
}

static void emit_task(lg_coord *c, const lg_task *t, const char *action)
{
    emit(c, (lg_coord_event){ .kind = LG_EV_TASK, .action = action, .task = t });
}

static void emit_worker(lg_coord *c, const lg_reg_worker *w, const char *action)
{
    emit(c, (lg_coord_event){ .kind = LG_EV_WORKER, .action = action, .worker = &w->v });
}

/* lg_wreg_refresh, telling observers when the status changed. */
static void refresh(lg_coord *c, lg_reg_worker *w)
{
    lg_worker_status before = w->v.status;
    lg_wreg_refresh(w);
    if (w->v.status != before) emit_worker(c, w, w->v.status == LG_WORKER_DEAD ? "dead" : "status");
}

/* ---- the table of live entries ------------------------------------------------------ */

static size_t id_hash(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (; *id; id++) h = (h ^ (uint8_t)*id) * 1099511628211ull;
    return (size_t)h;
}

static entry *find(lg_coord *c, const char *id)
{
    for (entry *e = c->buckets[id_hash(id) & (c->n_buckets - 1)]; e; e = e->hnext)
        if (strcmp(e->t.id, id) == 0) return e;
    return NULL;
}

static int table_add(lg_coord *c, entry *e)
{
    if (c->n_active >= c->n_buckets) {
        size_t n = c->n_buckets * 2;
        entry **b = calloc(n, sizeof *b);
        if (!b) return lg_error(LG_E_NOMEM, "coordinator: no memory for %zu task slots", n);
        for (size_t i = 0; i < c->n_buckets; i++)
            for (entry *x = c->buckets[i], *next; x; x = next) {
                next = x->hnext;
                x->hnext = b[id_hash(x->t.id) & (n - 1)];
                b[id_hash(x->t.id) & (n - 1)] = x;
            }
        free(c->buckets);
        c->buckets = b;
        c->n_buckets = n;
    }
    entry **slot = &c->buckets[id_hash(e->t.id) & (c->n_buckets - 1)];
    e->hnext = *slot;
    *slot = e;
    c->n_active++;
    return LG_OK;
}

static void table_remove(lg_coord *c, entry *e)
{
    entry **p = &c->buckets[id_hash(e->t.id) & (c->n_buckets - 1)];
    while (*p != e) p = &(*p)->hnext;
    *p = e->hnext;
    c->n_active--;
}

/* Lets go of e's input in memory (it stays in the store). */
static void drop_input(lg_coord *c, entry *e)
{
    if (e->resident) c->resident_bytes -= (int64_t)e->t.input_len;
    e->resident = false;
    free(e->t.input);
    e->t.input = NULL;
}

static void entry_free(entry *e)
{
    if (e->cond_ready) pthread_cond_destroy(&e->cond);
    lg_task_clear(&e->t);
    free(e);
}

/* ---- copies -------------------------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int task_copy(lg_task *dst, const lg_task *src, bool with_input)
{
    *dst = *src;
    dst->model = dup_or_null(src->model);
    dst->idempotency_key = dup_or_null(src->idempotency_key);
    dst->result = dup_or_null(src->result);
    dst->error = dup_or_null(src->error);
    dst->input = NULL;
    if (with_input && src->input) {
        dst->input = malloc(src->input_len + 1);
        if (dst->input) memcpy(dst->input, src->input ? src->input : (const uint8_t *)"", src->input_len);
    }
    if (!dst->model || (src->idempotency_key && !dst->idempotency_key) || (src->result && !dst->result) ||
        (src->error && !dst->error) || (with_input && src->input && !dst->input)) {
        lg_task_clear(dst);
        return lg_error(LG_E_NOMEM, "coordinator: no memory to copy task %s", src->id);
    }
    return LG_OK;
}

/* Appends a line to the task's error text. */
static void add_reason(lg_task *t, const char *reason)
{
    size_t old = t->error ? strlen(t->error) : 0, add = strlen(reason);
    char *s = realloc(t->error, old + add + 2);
    if (!s) return; /* the reason is lost, the task is not */
    if (old) s[old++] = '\n';
    memcpy(s + old, reason, add + 1);
    t->error = s;
}

/* ---- locking and group commit ---------------------------------------------------------- */

static void lock(lg_coord *c)
{
    atomic_fetch_add(&c->n_waiting, 1);
    pthread_mutex_lock(&c->mu);
    atomic_fetch_sub(&c->n_waiting, 1);
}

static void tx_done(lg_coord *c);
static int tx_fail(lg_coord *c);

/* Mutex held: opens the transaction if needed, and first writes again what a failed
 * one lost (the entries still on tx_list). */
static int tx_begin(lg_coord *c)
{
    if (c->tx_open) return LG_OK;
    /* A failing store is tried again at most every STORE_RETRY_S outside the tick, so a
     * long outage does not redo the whole tx_list at every request. */
    if (c->degraded && !c->in_tick && mono_now() - c->failed_mono < STORE_RETRY_S)
        return lg_error(LG_E_IO, "%s", c->store_reason);
    if (lg_store_begin(c->store) != LG_OK) return tx_fail(c);
    c->tx_open = true;
    for (entry *e = c->tx_list; e; e = e->txnext) {
        LG_ASSERT(!e->fresh);
        if (lg_store_update(c->store, &e->t) != LG_OK) return tx_fail(c);
    }
    return LG_OK;
}

/* Mutex held: commits the open transaction (or redoes and commits what a failed one
 * lost) and wakes those waiting for it. */
static int tx_commit(lg_coord *c)
{
    if (!c->tx_open && !c->tx_list) return LG_OK;
    LG_CHECK(tx_begin(c));
    if (lg_store_commit(c->store) != LG_OK) return tx_fail(c);
    c->tx_open = false;
    c->pending = 0;
    c->durable_gen = c->gen++;
    if (c->sync_waiters > 0) pthread_cond_broadcast(&c->durable_cv);
    tx_done(c);
    return LG_OK;
}

/* Mutex held, about to be released: if threads wait for a commit and nobody queued on
 * the mutex will make it, commit now. */
static void flush_for_waiters(lg_coord *c)
{
    if (c->sync_waiters > 0 && atomic_load(&c->n_waiting) == 0) tx_commit(c);
}

static void unlock(lg_coord *c)
{
    flush_for_waiters(c);
    pthread_mutex_unlock(&c->mu);
}

/* Mutex held, before a write: opens the transaction if needed. */
static int tx_write(lg_coord *c)
{
    LG_CHECK(tx_begin(c));
    c->pending++;
    return LG_OK;
}

/* Mutex held: everything written so far is durable when this returns. With threads
 * queued on the mutex, the last of them commits for all (one commit for the group). */
static int make_durable(lg_coord *c)
{
    if (!c->tx_open && !c->tx_list) return LG_OK;
    uint64_t mine = c->gen;
    if (!c->tx_open || atomic_load(&c->n_waiting) == 0 || c->pending >= MAX_GROUP ||
        c->sync_waiters >= MAX_SYNC_WAITERS)
        return tx_commit(c);
    c->sync_waiters++;
    while (c->durable_gen < mine) pthread_cond_wait(&c->durable_cv, &c->mu);
    c->sync_waiters--;
    return c->failed_gen == mine ? lg_error(LG_E_IO, "%s", c->store_reason) : LG_OK;
}

/* ---- state changes (mutex held) ------------------------------------------------------ */

static void set_state(lg_coord *c, entry *e, lg_task_state s, double now)
{
    if (e->t.state == LG_TASK_QUEUED) c->queued_bytes -= (int64_t)e->t.input_len;
    if (s == LG_TASK_QUEUED) c->queued_bytes += (int64_t)e->t.input_len;
    c->by_state[e->t.state]--;
    c->by_state[s]++;
    e->t.state = s;
    e->t.updated_at = now;
}

static void tx_add(lg_coord *c, entry *e)
{
    if (e->in_tx) return;
    e->in_tx = true;
    e->txnext = c->tx_list;
    c->tx_list = e;
}

/* Writes e through to the store. A failure is recorded (lg_last_error, the degraded
 * state) and returned; memory stays authoritative and e is written again with the
 * next transaction, until a commit succeeds. */
static int persist(lg_coord *c, entry *e)
{
    int rc = tx_write(c);
    tx_add(c, e);
    if (rc != LG_OK) return rc;
    return lg_store_update(c->store, &e->t) == LG_OK ? LG_OK : tx_fail(c);
}

static void unhold(lg_coord *c, entry *e)
{
    lg_reg_worker *w = e->holder;
    if (!w) return;
    if (e->wprev) e->wprev->wnext = e->wnext;
    else w->held = e->wnext;
    if (e->wnext) e->wnext->wprev = e->wprev;
    e->wprev = e->wnext = NULL;
    e->holder = NULL;
    w->v.in_flight--;
    refresh(c, w);
}

static void hold(lg_coord *c, entry *e, lg_reg_worker *w)
{
    e->holder = w;
    e->wprev = NULL;
    e->wnext = w->held;
    if (w->held) ((entry *)w->held)->wprev = e;
    w->held = e;
    w->v.in_flight++;
    refresh(c, w);
}

static int enqueue(lg_coord *c, entry *e)
{
    e->q.seq = (uint64_t)e->seq;
    e->q.since = e->t.created_at;
    e->q.prio = e->t.priority;
    return lg_queue_push(c->queue, &e->q, &e->t.req);
}

/* Moves e to a final state, writes it and wakes its waiters. It stays in the table
 * until that write is durable (tx_done lets go of it), so reads see it meanwhile. */
static int finish(lg_coord *c, entry *e, lg_task_state s, double now)
{
    if (e->q.pos >= 0) lg_queue_remove(c->queue, &e->q);
    unhold(c, e);
    set_state(c, e, s, now);
    e->t.finished_at = now;
    drop_input(c, e);
    int rc = persist(c, e);
    emit_task(c, &e->t, lg_task_state_name(s));
    hist_add(&c->task_hist, now - e->t.created_at);
    if (e->waiters > 0 && e->cond_ready) pthread_cond_broadcast(&e->cond);
    return rc;
}

/* Mutex held: the bytes free on the data folder's file system (-1: unknown). */
static long long free_bytes(const lg_coord *c)
{
    struct statvfs fs;
    if (!c->data_dir || statvfs(c->data_dir, &fs) != 0) return -1;
    return (long long)fs.f_bavail * (long long)fs.f_frsize;
}

/* Mutex held: the store failed (lg_last_error says how): the degraded state with a
 * message for people. */
static void degrade(lg_coord *c, const char *why, bool full)
{
    const char *where = c->data_dir ? c->data_dir : "(in memory)";
    long long avail = free_bytes(c);
    char freed[48] = "";
    if (avail >= 0) snprintf(freed, sizeof freed, ", %lld bytes free", avail);
    if (full)
        snprintf(c->store_reason, sizeof c->store_reason, "%s: %s%s; tasks are refused until space is freed",
                 LG_COORD_STORE_FULL, where, freed);
    else
        snprintf(c->store_reason, sizeof c->store_reason, "the task store cannot write: %s%s: %.200s", where, freed,
                 why);
    if (!c->degraded) fprintf(stderr, "legacygpu coordinator: %s\n", c->store_reason);
    c->degraded = true;
}

/* Mutex held: a store read's status, with an I/O failure worded for people (HTTP 503). */
static int read_failed(lg_coord *c, int rc)
{
    if (rc != LG_E_IO) return rc;
    return lg_error(LG_E_IO, "the task store cannot read: %s: %.300s", c->data_dir ? c->data_dir : "(in memory)",
                    lg_last_error());
}

/* Mutex held: a task that was inserted in a transaction that failed: it never was. */
static void unaccept(lg_coord *c, entry *e)
{
    table_remove(c, e);
    c->by_state[LG_TASK_QUEUED]--;
    c->queued_bytes -= (int64_t)e->t.input_len;
    c->submitted--;
    e->fresh = false;
    e->rejected = true;
}

/* Mutex held: the open transaction (or its BEGIN) failed: it is rolled back, tasks
 * inserted in it are refused (their submitters get the error), every other write stays
 * on tx_list to be done again. Returns LG_E_IO with the message. */
static int tx_fail(lg_coord *c)
{
    char why[256];
    snprintf(why, sizeof why, "%s", lg_last_error());
    bool full = lg_store_full(c->store) || (free_bytes(c) >= 0 && free_bytes(c) < 65536);
    if (lg_store_in_transaction(c->store)) lg_store_rollback(c->store);
    c->tx_open = false;
    c->pending = 0;
    c->probed = false;
    c->failed_mono = mono_now();
    c->failed_gen = c->durable_gen = c->gen++;
    if (c->sync_waiters > 0) pthread_cond_broadcast(&c->durable_cv);
    for (entry **p = &c->tx_list; *p;) {
        entry *e = *p;
        if (e->fresh) {
            *p = e->txnext;
            e->in_tx = false;
            unaccept(c, e);
        } else {
            p = &e->txnext;
        }
    }
    degrade(c, why, full);
    return lg_error(LG_E_IO, "%s", c->store_reason);
}

/* Mutex held, after a successful commit: new tasks join the queue (their input leaves
 * memory unless it fits the resident budget), final ones leave the table. */
static void tx_done(lg_coord *c)
{
    entry *e = c->tx_list;
    bool wrote = e != NULL || c->probed; /* an empty commit proves nothing about writes */
    c->tx_list = NULL;
    c->probed = false;
    while (e) {
        entry *next = e->txnext;
        e->in_tx = false;
        e->txnext = NULL;
        if (e->fresh) {
            e->fresh = false;
            if (!e->resident) drop_input(c, e);
            if (e->t.state == LG_TASK_QUEUED) {
                enqueue(c, e);
                emit_task(c, &e->t, "submitted"); /* accepted: durable and queued */
            }
        }
        if (lg_task_state_final(e->t.state)) {
            table_remove(c, e);
            if (e->waiters > 0) e->detached = true;
            else entry_free(e);
        }
        e = next;
    }
    if (!wrote || !c->degraded) return;
    fprintf(stderr, "legacygpu coordinator: the task store writes again\n");
    c->degraded = false;
}

/* Back to the queue (a failed or lost attempt with attempts left, or a handback). */
static int requeue(lg_coord *c, entry *e, double now)
{
    unhold(c, e);
    set_state(c, e, LG_TASK_QUEUED, now);
    c->requeued++;
    emit_task(c, &e->t, "requeued");
    int rc = persist(c, e);
    int qrc = enqueue(c, e);
    return rc != LG_OK ? rc : qrc;
}

static void observe(lg_coord *c, const char *worker_id, const char *model, double service_s, bool ok)
{
    for (int k = 0; k < LG_STRATEGY_COUNT; k++) {
        const lg_strategy_def *def = lg_strategy_get((lg_strategy_kind)k);
        if (c->strategy_made[k] && def && def->observe) def->observe(c->strategy_state[k], worker_id, model, service_s, ok);
    }
}

/* A failed attempt (reason given): requeue, or FAILED once attempts are spent. */
static int attempt_failed(lg_coord *c, entry *e, const char *reason, double now)
{
    add_reason(&e->t, reason);
    if (e->t.attempts >= e->t.max_attempts) {
        c->failed++;
        return finish(c, e, LG_TASK_FAILED, now);
    }
    return requeue(c, e, now);
}

/* Everything worker w holds goes back: as failed attempts with the reason "worker <id>
 * <why>", or, with why NULL, as a plain handback. Returns how many tasks moved. */
static int release_all(lg_coord *c, lg_reg_worker *w, const char *why, double now)
{
    int n = 0;
    char reason[160];
    if (why) snprintf(reason, sizeof reason, "worker %s %s", w->v.info.id, why);
    while (w->held) {
        entry *e = w->held;
        if (why) {
            w->v.failed++;
            observe(c, w->v.info.id, e->t.model, 0, false);
            attempt_failed(c, e, reason, now);
        } else {
            requeue(c, e, now);
        }
        n++;
    }
    return n;
}

/* ---- strategy state ------------------------------------------------------------------ */

static int strategy_make(lg_coord *c, lg_strategy_kind k)
{
    const lg_strategy_def *def = lg_strategy_get(k);
    if (!def) return lg_error(LG_E_INVALID_ARG, "unknown strategy %d", (int)k);
    if (c->strategy_made[k]) return LG_OK;
    c->strategy_state[k] = def->create ? def->create() : NULL;
    if (def->create && !c->strategy_state[k])
        return lg_error(LG_E_NOMEM, "coordinator: cannot create the %s strategy", def->name);
    c->strategy_made[k] = true;
    return LG_OK;
}

/* ---- open and close ------------------------------------------------------------------ */

void lg_coord_config_defaults(lg_coord_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->strategy = LG_STRATEGY_LEAST_LOADED;
    cfg->max_attempts = 3;
    cfg->heartbeat_interval_s = 1.0;
    cfg->heartbeat_misses = 3;
    cfg->result_ttl_s = 86400;
    cfg->ageing_s = 10;
    cfg->max_body_bytes = (int64_t)64 << 20;
    /* A queued task costs about 1 KiB of memory (its record) and its input on disk:
     * bound the count to 1/64 of RAM in records and the bytes to a quarter of RAM. */
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    int64_t ram = pages > 0 && page > 0 ? (int64_t)pages * page : (int64_t)4 << 30;
    cfg->max_queued_tasks = ram / 64 / 1024;
    if (cfg->max_queued_tasks < 1000) cfg->max_queued_tasks = 1000;
    if (cfg->max_queued_tasks > 1000000) cfg->max_queued_tasks = 1000000;
    cfg->max_queued_bytes = ram / 4;
    cfg->resident_input_bytes = (int64_t)64 << 20;
}

/* Loads an unfinished task of the store back into memory and the queue (QUEUED; it is
 * written back by write_reloaded once the scan is over). */
static int reload(void *arg, lg_task *t, int64_t seq)
{
    lg_coord *c = arg;
    entry *e = calloc(1, sizeof *e);
    if (!e) return lg_error(LG_E_NOMEM, "coordinator: no memory to reload tasks");
    e->t = *t;
    memset(t, 0, sizeof *t);
    e->seq = seq;
    e->q.pos = -1;
    c->queued_bytes += (int64_t)e->t.input_len; /* the input stays in the store */
    if (e->t.state != LG_TASK_QUEUED) {
        e->t.state = LG_TASK_QUEUED;
        e->t.updated_at = lg_now();
        e->reloaded = true;
        c->requeued++;
    }
    int rc = table_add(c, e);
    if (rc == LG_OK) rc = enqueue(c, e);
    if (rc != LG_OK) {
        if (find(c, e->t.id) == e) table_remove(c, e);
        entry_free(e);
    }
    return rc;
}

static int write_reloaded(lg_coord *c)
{
    for (size_t i = 0; i < c->n_buckets; i++)
        for (entry *e = c->buckets[i]; e; e = e->hnext)
            if (e->reloaded) {
                LG_CHECK(persist(c, e));
                e->reloaded = false;
            }
    return LG_OK;
}

static int validate_config(const lg_coord_config *cfg)
{
    if (cfg->max_attempts < 1) return lg_error(LG_E_INVALID_ARG, "max_attempts %d must be >= 1", cfg->max_attempts);
    if (!(cfg->heartbeat_interval_s > 0) || cfg->heartbeat_misses < 1)
        return lg_error(LG_E_INVALID_ARG, "heartbeat interval %g s and misses %d must be positive",
                        cfg->heartbeat_interval_s, cfg->heartbeat_misses);
    if ((unsigned)cfg->strategy >= LG_STRATEGY_COUNT)
        return lg_error(LG_E_INVALID_ARG, "unknown strategy %d", (int)cfg->strategy);
    return LG_OK;
}

int lg_coord_open(const lg_coord_config *cfg, lg_coord **out)
{
    *out = NULL;
    LG_CHECK(validate_config(cfg));
    lg_coord *c = calloc(1, sizeof *c);
    if (!c) return lg_error(LG_E_NOMEM, "coordinator: no memory");
    c->cfg = *cfg;
    c->data_dir = dup_or_null(cfg->data_dir);
    c->models_dir = dup_or_null(cfg->models_dir);
    c->cfg.data_dir = c->data_dir;
    c->cfg.models_dir = c->models_dir;
    c->strategy = cfg->strategy;
    c->opened_mono = mono_now();
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->durable_cv, NULL);
    c->gen = 1;
    c->n_buckets = 1024;
    c->buckets = calloc(c->n_buckets, sizeof *c->buckets);
    c->queue = lg_queue_create(cfg->ageing_s);
    c->reg = lg_wreg_create();
    int rc = c->buckets && c->queue && c->reg ? LG_OK : lg_error(LG_E_NOMEM, "coordinator: no memory");
    if (rc == LG_OK) rc = strategy_make(c, c->strategy);
    if (rc == LG_OK) rc = lg_store_open(cfg->data_dir, &c->store);
    if (rc == LG_OK) {
        rc = lg_store_unfinished(c->store, reload, c);
        if (rc == LG_OK) rc = write_reloaded(c);
        int crc = tx_commit(c);
        if (rc == LG_OK) rc = crc;
    }
    if (rc == LG_OK) rc = lg_store_count(c->store, c->by_state);
    if (rc == LG_OK && cfg->store_max_bytes == 0 && c->data_dir) c->store_max = free_bytes(c) / 2;
    else if (cfg->store_max_bytes > 0) c->store_max = cfg->store_max_bytes;
    if (c->store_max < 0) c->store_max = 0;
    if (rc != LG_OK) {
        lg_coord_close(c);
        return rc;
    }
    *out = c;
    return LG_OK;
}

void lg_coord_close(lg_coord *c)
{
    if (!c) return;
    if (c->store) tx_commit(c);
    for (size_t i = 0; c->buckets && i < c->n_buckets; i++)
        for (entry *e = c->buckets[i], *next; e; e = next) {
            next = e->hnext;
            LG_ASSERT(e->waiters == 0); /* close only after every waiter has returned */
            entry_free(e);
        }
    for (int k = 0; k < LG_STRATEGY_COUNT; k++) {
        const lg_strategy_def *def = lg_strategy_get((lg_strategy_kind)k);
        if (c->strategy_made[k] && def->destroy) def->destroy(c->strategy_state[k]);
    }
    lg_store_close(c->store);
    lg_queue_destroy(c->queue);
    lg_wreg_destroy(c->reg);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->durable_cv);
    free(c->buckets);
    free(c->cand);
    free(c->elig);
    free(c->data_dir);
    free(c->models_dir);
    free(c);
}

static void wake(lg_coord *c)
{
    lock(c);
    void (*fn)(void *) = c->wake;
    void *arg = c->wake_arg;
    unlock(c);
    if (fn) fn(arg);
}

void lg_coord_set_wakeup(lg_coord *c, void (*fn)(void *arg), void *arg)
{
    lock(c);
    c->wake = fn;
    c->wake_arg = arg;
    unlock(c);
}

/* ---- the API side -------------------------------------------------------------------- */

static int validate_submit(const lg_coord *c, const lg_submit_request *req)
{
    if (!req->model || !req->model[0]) return lg_error(LG_E_INVALID_ARG, "model name is missing");
    if (strlen(req->model) > MAX_MODEL_NAME)
        return lg_error(LG_E_INVALID_ARG, "model name longer than %d bytes", MAX_MODEL_NAME);
    if ((unsigned)req->priority >= LG_PRIO_COUNT)
        return lg_error(LG_E_INVALID_ARG, "priority %d out of range (LOW..CRITICAL)", (int)req->priority);
    if ((unsigned)req->input_kind > LG_INPUT_PB)
        return lg_error(LG_E_INVALID_ARG, "input kind %d out of range", (int)req->input_kind);
    if (!req->input && req->input_len) return lg_error(LG_E_INVALID_ARG, "input of %zu bytes is NULL", req->input_len);
    if (c->cfg.max_body_bytes > 0 && (int64_t)req->input_len > c->cfg.max_body_bytes)
        return lg_error(LG_E_INVALID_ARG, "input of %zu bytes is over the limit of %" PRId64 " bytes",
                        req->input_len, c->cfg.max_body_bytes);
    if (!(req->timeout_s >= 0)) return lg_error(LG_E_INVALID_ARG, "timeout %g s must be >= 0", req->timeout_s);
    if (req->body_hash && strlen(req->body_hash) > 64)
        return lg_error(LG_E_INVALID_ARG, "body hash longer than 64 hex digits");
    return LG_OK;
}

/* Mutex held: an earlier task with the same idempotency key, if any. */
static int idempotent_match(lg_coord *c, const lg_submit_request *req, lg_submit_result *res, bool *found)
{
    lg_task old;
    *found = false;
    int rc = read_failed(c, lg_store_find_key(c->store, req->idempotency_key, &old));
    if (rc == LG_E_NOT_FOUND) {
        lg_error_clear();
        return LG_OK;
    }
    LG_CHECK(rc);
    const char *hash = req->body_hash ? req->body_hash : "";
    if (strcmp(old.body_hash, hash) != 0) {
        rc = lg_error(LG_E_RUNTIME, "idempotency key '%s' was used for task %s with a different body",
                      req->idempotency_key, old.id);
    } else {
        *found = true;
        memcpy(res->task_id, old.id, sizeof res->task_id);
        entry *e = find(c, old.id);
        res->state = e ? e->t.state : old.state;
        res->created = false;
    }
    lg_task_clear(&old);
    return rc;
}

static int new_entry(const lg_coord *c, const lg_submit_request *req, entry **out)
{
    entry *e = calloc(1, sizeof *e);
    if (!e) return lg_error(LG_E_NOMEM, "coordinator: no memory for a task");
    e->q.pos = -1;
    lg_task *t = &e->t;
    int rc = lg_requirements_parse_json(req->requirements_json, &t->req);
    lg_uuid4(t->id);
    t->model = strdup(req->model);
    t->priority = req->priority;
    t->state = LG_TASK_QUEUED;
    t->input_kind = req->input_kind;
    t->input = malloc(req->input_len + 1);
    if (t->input && req->input_len) memcpy(t->input, req->input, req->input_len);
    t->input_len = req->input_len;
    t->timeout_s = req->timeout_s;
    t->max_attempts = c->cfg.max_attempts;
    t->idempotency_key = dup_or_null(req->idempotency_key);
    snprintf(t->body_hash, sizeof t->body_hash, "%s", req->body_hash ? req->body_hash : "");
    t->created_at = t->updated_at = lg_now();
    if (rc == LG_OK && (!t->model || !t->input || (req->idempotency_key && !t->idempotency_key)))
        rc = lg_error(LG_E_NOMEM, "coordinator: no memory for a task of %zu bytes", req->input_len);
    if (rc != LG_OK) {
        entry_free(e);
        return rc;
    }
    *out = e;
    return LG_OK;
}

static const char *const reject_names[LG_REJECT_COUNT] = {
    [LG_REJECT_QUEUE_TASKS] = "queue_tasks",     [LG_REJECT_QUEUE_BYTES] = "queue_bytes",
    [LG_REJECT_STORE_FULL] = "store_full",       [LG_REJECT_STORE_ERROR] = "store_error",
    [LG_REJECT_DRAINING] = "draining",           [LG_REJECT_UNKNOWN_MODEL] = "unknown_model",
    [LG_REJECT_BAD_INPUT] = "bad_input",
};

const char *lg_reject_reason_name(lg_reject_reason r)
{
    return (unsigned)r < LG_REJECT_COUNT ? reject_names[r] : NULL;
}

void lg_coord_count_rejection(lg_coord *c, lg_reject_reason r)
{
    LG_ASSERT((unsigned)r < LG_REJECT_COUNT);
    lock(c);
    c->rejected[r]++;
    unlock(c);
}

/* Mutex held: LG_E_LIMIT when the backlog is at one of its bounds (or draining). */
static int admit(lg_coord *c, size_t input_len)
{
    const lg_coord_config *cfg = &c->cfg;
    if (c->draining) {
        c->rejected[LG_REJECT_DRAINING]++;
        return lg_error(LG_E_LIMIT, "the coordinator is draining: no new tasks");
    }
    int64_t queued = c->by_state[LG_TASK_QUEUED];
    if (cfg->max_queued_tasks > 0 && queued >= cfg->max_queued_tasks) {
        c->rejected[LG_REJECT_QUEUE_TASKS]++;
        return lg_error(LG_E_LIMIT, "the queue is full: %" PRId64 " tasks wait (the limit, --max-queued-tasks); retry later",
                        queued);
    }
    if (cfg->max_queued_bytes > 0 && c->queued_bytes + (int64_t)input_len > cfg->max_queued_bytes) {
        c->rejected[LG_REJECT_QUEUE_BYTES]++;
        return lg_error(LG_E_LIMIT,
                        "the queue is full: its tasks' inputs take %" PRId64 " bytes and this one %zu more (limit %" PRId64
                        " bytes, --max-queued-mb); retry later",
                        c->queued_bytes, input_len, cfg->max_queued_bytes);
    }
    return LG_OK;
}

/* Mutex held: writes the new task e into the open transaction. It joins the queue
 * when that transaction commits (tx_done), never before. */
static int insert(lg_coord *c, entry *e)
{
    LG_CHECK(table_add(c, e));
    int rc = tx_write(c);
    if (rc == LG_OK && lg_store_insert(c->store, &e->t, &e->seq) != LG_OK) rc = tx_fail(c);
    if (rc != LG_OK) {
        table_remove(c, e);
        return rc;
    }
    e->fresh = true;
    tx_add(c, e);
    c->by_state[LG_TASK_QUEUED]++;
    c->queued_bytes += (int64_t)e->t.input_len;
    c->submitted++;
    e->resident = c->resident_bytes + (int64_t)e->t.input_len <= c->cfg.resident_input_bytes;
    if (e->resident) c->resident_bytes += (int64_t)e->t.input_len;
    return LG_OK;
}

int lg_coord_submit(lg_coord *c, const lg_submit_request *req, lg_submit_result *res)
{
    memset(res, 0, sizeof *res);
    LG_CHECK(validate_submit(c, req));
    entry *e = NULL;
    LG_CHECK(new_entry(c, req, &e));
    lock(c);
    int rc = LG_OK;
    bool found = false, inserted = false;
    if (req->idempotency_key) rc = idempotent_match(c, req, res, &found);
    if (rc == LG_OK && !found) rc = admit(c, req->input_len);
    if (rc == LG_OK && !found) {
        rc = insert(c, e);
        inserted = rc == LG_OK;
        if (inserted) {
            memcpy(res->task_id, e->t.id, sizeof res->task_id);
            res->created = true;
            res->state = LG_TASK_QUEUED;
        }
    }
    if (rc == LG_OK) rc = make_durable(c);
    /* After a successful commit e belongs to the core (it may even be done by now);
     * after a failure it was never accepted and is the submitter's to free. */
    bool mine = !inserted || rc != LG_OK;
    if (rc != LG_OK && c->degraded && rc == LG_E_IO)
        c->rejected[strncmp(c->store_reason, LG_COORD_STORE_FULL, strlen(LG_COORD_STORE_FULL)) == 0
                        ? LG_REJECT_STORE_FULL
                        : LG_REJECT_STORE_ERROR]++;
    if (mine && inserted) {
        LG_ASSERT(e->rejected);
        memset(res, 0, sizeof *res);
    }
    if (mine) drop_input(c, e);
    unlock(c);
    if (mine) entry_free(e);
    else wake(c);
    return rc;
}

int lg_coord_task_get(lg_coord *c, const char *id, lg_task *out)
{
    memset(out, 0, sizeof *out);
    lock(c);
    entry *e = find(c, id);
    int rc;
    if (e && lg_task_state_final(e->t.state)) {
        e->waiters++; /* a final state is shown once durable; e stays alive meanwhile */
        rc = make_durable(c);
        if (rc == LG_OK) rc = task_copy(out, &e->t, true);
        e->waiters--;
        if (e->detached && e->waiters == 0) entry_free(e);
    } else if (e) {
        rc = task_copy(out, &e->t, true);
    } else {
        rc = make_durable(c);
        if (rc == LG_OK) rc = read_failed(c, lg_store_get(c->store, id, out));
    }
    unlock(c);
    return rc;
}

static struct timespec deadline_in(double s)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double whole = (double)(time_t)s;
    ts.tv_sec += (time_t)whole;
    ts.tv_nsec += (long)((s - whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

int lg_coord_task_wait(lg_coord *c, const char *id, double timeout_s, lg_task *out, bool *final)
{
    memset(out, 0, sizeof *out);
    *final = false;
    lock(c);
    entry *e = find(c, id);
    if (!e) {
        int rc = make_durable(c);
        if (rc == LG_OK) rc = read_failed(c, lg_store_get(c->store, id, out));
        unlock(c);
        if (rc == LG_OK) *final = lg_task_state_final(out->state);
        return rc;
    }
    e->waiters++; /* keeps e alive while the mutex is released below */
    if (timeout_s > 0) {
        if (!e->cond_ready) {
            pthread_condattr_t attr;
            pthread_condattr_init(&attr);
            pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
            pthread_cond_init(&e->cond, &attr);
            pthread_condattr_destroy(&attr);
            e->cond_ready = true;
        }
        struct timespec until = deadline_in(timeout_s > 1e6 ? 1e6 : timeout_s);
        flush_for_waiters(c);
        while (!lg_task_state_final(e->t.state))
            if (pthread_cond_timedwait(&e->cond, &c->mu, &until) != 0 && !lg_task_state_final(e->t.state)) break;
    }
    *final = lg_task_state_final(e->t.state);
    int rc = *final ? make_durable(c) : LG_OK;
    if (rc == LG_OK) rc = task_copy(out, &e->t, true);
    e->waiters--;
    if (e->detached && e->waiters == 0) entry_free(e);
    unlock(c);
    return rc;
}

int lg_coord_task_cancel(lg_coord *c, const char *id)
{
    lock(c);
    entry *e = find(c, id);
    int rc;
    bool freed = false;
    if (e && lg_task_state_final(e->t.state)) {
        rc = lg_error(LG_E_INVALID_ARG, "task %s is already %s", id, lg_task_state_name(e->t.state));
    } else if (e) {
        freed = e->holder != NULL;
        add_reason(&e->t, "cancelled");
        rc = finish(c, e, LG_TASK_CANCELLED, lg_now());
        if (rc == LG_OK) rc = make_durable(c);
    } else {
        lg_task t;
        rc = read_failed(c, lg_store_get(c->store, id, &t));
        if (rc == LG_OK)
            rc = lg_error(LG_E_INVALID_ARG, "task %s is already %s", id, lg_task_state_name(t.state));
        lg_task_clear(&t);
    }
    unlock(c);
    if (freed) wake(c);
    return rc;
}

typedef struct list_acc {
    lg_task *v;
    int n;
    int64_t last_seq;
} list_acc;

static int list_take(void *arg, lg_task *t, int64_t seq)
{
    list_acc *a = arg;
    a->v[a->n++] = *t;
    memset(t, 0, sizeof *t);
    a->last_seq = seq;
    return LG_OK;
}

int lg_coord_task_list(lg_coord *c, int state_filter, int limit, const char *cursor, lg_task_visit visit, void *arg,
                       char *next_cursor, int next_len)
{
    if (next_cursor && next_len > 0) next_cursor[0] = '\0';
    if (state_filter >= LG_TASK_STATE_COUNT) return lg_error(LG_E_INVALID_ARG, "unknown task state %d", state_filter);
    if (limit <= 0) limit = 100;
    if (limit > 1000) limit = 1000;
    int64_t before = 0;
    if (cursor && *cursor) {
        char *end;
        long long v = strtoll(cursor, &end, 10);
        if (*end || v <= 0) return lg_error(LG_E_INVALID_ARG, "invalid cursor '%s'", cursor);
        before = v;
    }
    list_acc acc = { calloc((size_t)limit, sizeof(lg_task)), 0, 0 };
    if (!acc.v) return lg_error(LG_E_NOMEM, "coordinator: no memory to list %d tasks", limit);
    lock(c);
    int rc = make_durable(c);
    if (rc == LG_OK)
        rc = read_failed(c, lg_store_list(c->store, state_filter < 0 ? -1 : state_filter, before, limit, list_take, &acc,
                                          NULL));
    unlock(c);
    for (int i = 0; i < acc.n; i++) {
        if (rc == LG_OK) visit(arg, &acc.v[i]);
        lg_task_clear(&acc.v[i]);
    }
    free(acc.v);
    if (rc == LG_OK && acc.n == limit && next_cursor && next_len > 0)
        snprintf(next_cursor, (size_t)next_len, "%" PRId64, acc.last_seq);
    return rc;
}

int lg_coord_workers(lg_coord *c, int status_filter, lg_worker_visit visit, void *arg)
{
    lock(c);
    int n = lg_wreg_count(c->reg), k = 0;
    lg_worker_view *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    for (int i = 0; v && i < n; i++) {
        const lg_reg_worker *w = lg_wreg_at(c->reg, i);
        if (status_filter < 0 || (int)w->v.status == status_filter) v[k++] = w->v;
    }
    unlock(c);
    if (!v) return lg_error(LG_E_NOMEM, "coordinator: no memory to list %d workers", n);
    for (int i = 0; i < k; i++) visit(arg, &v[i]);
    free(v);
    return LG_OK;
}

int lg_coord_worker_get(lg_coord *c, const char *id, lg_worker_view *out)
{
    lock(c);
    lg_reg_worker *w = lg_wreg_find(c->reg, id);
    if (w) *out = w->v;
    unlock(c);
    return w ? LG_OK : lg_error(LG_E_NOT_FOUND, "no worker '%s'", id);
}

int lg_coord_set_strategy(lg_coord *c, lg_strategy_kind k)
{
    if ((unsigned)k >= LG_STRATEGY_COUNT) return lg_error(LG_E_INVALID_ARG, "unknown strategy %d", (int)k);
    lock(c);
    int rc = strategy_make(c, k);
    lg_strategy_kind prev = c->strategy;
    if (rc == LG_OK) c->strategy = c->cfg.strategy = k;
    if (rc == LG_OK) emit(c, (lg_coord_event){ .kind = LG_EV_STRATEGY, .action = "changed", .strategy = k, .previous = prev });
    unlock(c);
    return rc;
}

lg_strategy_kind lg_coord_strategy(lg_coord *c)
{
    lock(c);
    lg_strategy_kind k = c->strategy;
    unlock(c);
    return k;
}

const lg_coord_config *lg_coord_get_config(lg_coord *c)
{
    return &c->cfg;
}

static void hist_out(const histogram *h, int64_t *count, double *sum)
{
    int64_t acc = 0;
    for (int i = 0; i <= N_BUCKETS; i++) {
        acc += h->count[i];
        count[i] = acc;
    }
    *sum = h->sum;
}

int lg_coord_stats_get(lg_coord *c, lg_coord_stats *out)
{
    memset(out, 0, sizeof *out);
    out->n_buckets = N_BUCKETS;
    memcpy(out->bucket_le, bucket_le, sizeof bucket_le);
    lock(c);
    memcpy(out->tasks_by_state, c->by_state, sizeof c->by_state);
    for (int p = 0; p < LG_PRIO_COUNT; p++) out->queued_by_priority[p] = (int64_t)lg_queue_depth(c->queue, p);
    for (int i = 0; i < lg_wreg_count(c->reg); i++) out->workers_by_status[lg_wreg_at(c->reg, i)->v.status]++;
    out->submitted_total = c->submitted;
    out->dispatched_total = c->dispatched;
    out->completed_total = c->completed;
    out->failed_total = c->failed;
    out->requeued_total = c->requeued;
    hist_out(&c->task_hist, out->task_duration_count, &out->task_duration_sum);
    hist_out(&c->queue_hist, out->queue_duration_count, &out->queue_duration_sum);
    out->draining = c->draining;
    memcpy(out->rejected_total, c->rejected, sizeof c->rejected);
    out->queued_bytes = c->queued_bytes;
    out->max_queued_tasks = c->cfg.max_queued_tasks;
    out->max_queued_bytes = c->cfg.max_queued_bytes;
    out->purged_total = c->purged;
    out->store_bytes = c->store_used;
    out->store_file_bytes = c->store_file;
    out->store_max_bytes = c->store_max;
    out->store_degraded = c->degraded;
    if (c->degraded) snprintf(out->store_reason, sizeof out->store_reason, "%s", c->store_reason);
    unlock(c);
    out->uptime_s = mono_now() - c->opened_mono;
    return LG_OK;
}

void lg_coord_drain(lg_coord *c)
{
    lock(c);
    if (!c->draining) emit(c, (lg_coord_event){ .kind = LG_EV_DRAIN, .action = "started" });
    c->draining = true;
    unlock(c);
}

bool lg_coord_draining(lg_coord *c)
{
    lock(c);
    bool d = c->draining;
    unlock(c);
    return d;
}

/* ---- the transport side -------------------------------------------------------------- */

int lg_coord_worker_hello(lg_coord *c, const lg_worker_info *info)
{
    lock(c);
    lg_reg_worker *w;
    bool known;
    int rc = lg_wreg_hello(c->reg, info, lg_now(), mono_now(), &w, &known);
    if (rc == LG_OK) emit_worker(c, w, known ? "rejoined" : "joined");
    unlock(c);
    if (rc == LG_OK) wake(c);
    return rc;
}

int lg_coord_worker_heartbeat(lg_coord *c, const char *worker_id, int in_flight)
{
    (void)in_flight; /* the coordinator's own count is the one dispatch trusts */
    lock(c);
    lg_reg_worker *w = lg_wreg_find(c->reg, worker_id);
    bool alive = w && !w->dead;
    if (alive) {
        w->v.last_seen = lg_now();
        w->last_mono = mono_now();
    }
    unlock(c);
    if (!alive)
        return lg_error(LG_E_NOT_FOUND, "heartbeat from worker '%s', unknown or declared dead: it must register again",
                        worker_id);
    return LG_OK;
}

int lg_coord_worker_reconcile(lg_coord *c, const char *worker_id, const char *const *held, int n_held)
{
    lock(c);
    lg_reg_worker *w = lg_wreg_find(c->reg, worker_id);
    int moved = 0;
    double now = lg_now();
    for (entry *e = w ? w->held : NULL, *next; e; e = next) {
        next = e->wnext;
        bool listed = false;
        for (int i = 0; i < n_held && !listed; i++) listed = strcmp(held[i], e->t.id) == 0;
        if (listed) continue;
        requeue(c, e, now); /* a handback: the worker never got it */
        moved++;
    }
    unlock(c);
    if (moved) wake(c);
    return w ? LG_OK : lg_error(LG_E_NOT_FOUND, "reconcile for unknown worker '%s'", worker_id);
}

int lg_coord_worker_bye(lg_coord *c, const char *worker_id)
{
    lock(c);
    lg_reg_worker *w = lg_wreg_find(c->reg, worker_id);
    int moved = 0;
    if (w) {
        moved = release_all(c, w, NULL, lg_now());
        w->dead = true;
        lg_wreg_refresh(w);
        emit_worker(c, w, "left");
    }
    unlock(c);
    if (moved) wake(c);
    return w ? LG_OK : lg_error(LG_E_NOT_FOUND, "goodbye from unknown worker '%s'", worker_id);
}

int lg_coord_worker_drain(lg_coord *c, const char *worker_id)
{
    lock(c);
    lg_reg_worker *w = lg_wreg_find(c->reg, worker_id);
    bool alive = w && !w->dead;
    if (alive && !w->draining) {
        w->draining = true;
        lg_wreg_refresh(w);
        emit_worker(c, w, "draining");
    }
    unlock(c);
    if (!w) return lg_error(LG_E_NOT_FOUND, "no worker '%s'", worker_id);
    return alive ? LG_OK : lg_error(LG_E_INVALID_ARG, "worker '%s' is dead: nothing to drain", worker_id);
}

void lg_coord_set_observer(lg_coord *c, lg_coord_observer fn, void *arg)
{
    lock(c);
    c->observer = fn;
    c->observer_arg = arg;
    unlock(c);
}

/* Mutex held: final-state timeouts of every live task. Returns how many expired. */
static int expire_timeouts(lg_coord *c, double now)
{
    int n = 0;
    for (size_t i = 0; i < c->n_buckets; i++)
        for (entry *e = c->buckets[i], *next; e; e = next) {
            next = e->hnext;
            if (e->t.timeout_s <= 0 || now - e->t.created_at < e->t.timeout_s || lg_task_state_final(e->t.state) ||
                e->fresh) /* not accepted yet: its submitter's commit decides first */
                continue;
            char reason[96];
            snprintf(reason, sizeof reason, "timed out after %g s", e->t.timeout_s);
            add_reason(&e->t, reason);
            finish(c, e, LG_TASK_TIMED_OUT, now);
            n++;
        }
    return n;
}

/* Mutex held: results past their TTL go, then, while the store is over its budget,
 * the oldest finished tasks (never queued or running ones); freed pages go back to the
 * file system. Each step is its own transaction, counted only once committed. */
static void purge(lg_coord *c, double now)
{
    int64_t removed[LG_TASK_STATE_COUNT] = { 0 }, purged = 0;
    if (tx_write(c) == LG_OK && lg_store_purge(c->store, now - c->cfg.result_ttl_s, removed) != LG_OK) tx_fail(c);
    if (c->store_max > 0) {
        c->store_used = lg_store_used_bytes(c->store);
        for (int round = 0; round < 64 && c->tx_open && c->store_used > c->store_max; round++) {
            /* As many tasks as bring the store to 90% of its budget, at its mean size. */
            int64_t tasks = 0;
            for (int s = 0; s < LG_TASK_STATE_COUNT; s++) tasks += c->by_state[s] - removed[s];
            int64_t mean = tasks > 0 ? c->store_used / tasks : c->store_used;
            int64_t want = mean > 0 ? (c->store_used - c->store_max / 10 * 9) / mean + 1 : 1;
            int batch = want > PURGE_BATCH ? PURGE_BATCH : (int)want, n = 0;
            if (lg_store_purge_oldest(c->store, batch, removed, &n) != LG_OK) {
                tx_fail(c);
                break;
            }
            purged += n;
            c->store_used = lg_store_used_bytes(c->store);
            if (n < batch) break; /* nothing more may go: the rest is unfinished */
        }
    }
    if (!c->tx_open || tx_commit(c) != LG_OK) return;
    int64_t total = 0;
    for (int s = 0; s < LG_TASK_STATE_COUNT; s++) {
        c->by_state[s] -= removed[s];
        total += removed[s];
    }
    c->purged += purged;
    if (total > 0) lg_store_vacuum(c->store, 1 << 20); /* autocommit: returns the free pages */
    c->store_used = lg_store_used_bytes(c->store);
    c->store_file = lg_store_file_bytes(c->store);
}

int lg_coord_tick(lg_coord *c)
{
    lock(c);
    c->in_tick = true;
    double now = lg_now(), mono = mono_now();
    double silence = c->cfg.heartbeat_interval_s * c->cfg.heartbeat_misses;
    int dead = 0, moved = 0;
    for (int i = 0; i < lg_wreg_count(c->reg); i++) {
        lg_reg_worker *w = lg_wreg_at(c->reg, i);
        if (w->dead || mono - w->last_mono <= silence) continue;
        w->dead = true;
        refresh(c, w);
        moved += release_all(c, w, "lost", now);
        dead++;
    }
    moved += expire_timeouts(c, now);
    tx_commit(c); /* what no submit or read has made durable yet */
    if (c->cfg.result_ttl_s > 0) purge(c, now);
    if (c->degraded && !c->tx_open && !c->tx_list && tx_write(c) == LG_OK) {
        /* A probe: health says degraded until a write succeeds. */
        if (lg_store_touch(c->store) == LG_OK) c->probed = true;
        else tx_fail(c);
        tx_commit(c);
    }
    c->in_tick = false;
    unlock(c);
    if (moved) wake(c);
    return dead;
}

typedef struct runnable_ctx {
    lg_reg_worker **elig;
    int n;
} runnable_ctx;

static bool runnable(void *arg, const lg_requirements *req)
{
    const runnable_ctx *r = arg;
    for (int i = 0; i < r->n; i++)
        if (lg_requirements_met(req, &r->elig[i]->v.info)) return true;
    return false;
}

/* Mutex held: the eligible workers into c->elig; their count. */
static int gather_eligible(lg_coord *c)
{
    int n = lg_wreg_count(c->reg);
    if (n > c->cand_cap) {
        int cap = n * 2;
        const lg_worker_view **cand = realloc(c->cand, (size_t)cap * sizeof *cand);
        if (cand) c->cand = cand;
        lg_reg_worker **elig = realloc(c->elig, (size_t)cap * sizeof *elig);
        if (elig) c->elig = elig;
        if (!cand || !elig) return lg_error(LG_E_NOMEM, "coordinator: no memory for %d workers", n);
        c->cand_cap = cap;
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        lg_reg_worker *w = lg_wreg_at(c->reg, i);
        if (lg_wreg_eligible(w)) c->elig[k++] = w;
    }
    return k;
}

/* Mutex held: hands e to the worker the strategy picks among the eligible ones. */
static int assign(lg_coord *c, entry *e, runnable_ctx *rc_ctx, double now)
{
    int n = 0;
    lg_reg_worker *fit[rc_ctx->n];
    for (int i = 0; i < rc_ctx->n; i++)
        if (lg_requirements_met(&e->t.req, &rc_ctx->elig[i]->v.info)) {
            fit[n] = rc_ctx->elig[i];
            c->cand[n++] = &rc_ctx->elig[i]->v;
        }
    LG_ASSERT(n > 0);
    const lg_strategy_def *def = lg_strategy_get(c->strategy);
    int pick = n == 1 ? 0 : def->pick(c->strategy_state[c->strategy], &e->t, c->cand, n, now);
    LG_ASSERT(pick >= 0 && pick < n);
    lg_reg_worker *w = fit[pick];
    set_state(c, e, LG_TASK_DISPATCHED, now);
    e->t.attempts++;
    snprintf(e->t.worker_id, sizeof e->t.worker_id, "%s", w->v.info.id);
    if (e->t.started_at == 0) {
        e->t.started_at = now;
        hist_add(&c->queue_hist, now - e->t.created_at);
    }
    hold(c, e, w);
    c->dispatched++;
    emit_task(c, &e->t, "dispatched");
    return persist(c, e);
}

int lg_coord_next_dispatch(lg_coord *c, lg_task *task, char *worker_id, int worker_id_len)
{
    memset(task, 0, sizeof *task);
    lock(c);
    double now = lg_now();
    int rc = gather_eligible(c);
    runnable_ctx ctx = { c->elig, rc };
    lg_qitem *it = rc > 0 ? lg_queue_pop(c->queue, now, runnable, &ctx) : NULL;
    if (rc >= 0 && !it) rc = LG_E_NOT_FOUND;
    if (it) {
        entry *e = (entry *)((char *)it - offsetof(entry, q));
        /* A backlog task's input is read back now; a failed read leaves it queued (the
         * store is degraded; the next tick or submit tries again). */
        uint8_t *input = NULL;
        size_t len = 0;
        rc = e->t.input || !e->t.input_len ? LG_OK : lg_store_input(c->store, e->seq, &input, &len);
        if (rc != LG_OK) {
            char why[256];
            snprintf(why, sizeof why, "reading the input of task %s: %s", e->t.id, lg_last_error());
            degrade(c, why, false);
            enqueue(c, e);
            unlock(c);
            return lg_error(LG_E_IO, "%s", c->store_reason);
        }
        rc = assign(c, e, &ctx, now);
        if (rc == LG_E_IO) rc = LG_OK; /* memory leads; the write is redone with the next commit */
        if (rc == LG_OK) rc = task_copy(task, &e->t, true);
        if (rc == LG_OK && input) {
            task->input = input;
            task->input_len = len;
            input = NULL;
        }
        free(input);
        if (rc == LG_OK) snprintf(worker_id, (size_t)worker_id_len, "%s", e->t.worker_id);
        else requeue(c, e, now);
    }
    unlock(c);
    return rc;
}

/* Mutex held: the live task id held by worker_id, or NULL (with the error recorded). */
static entry *held_by(lg_coord *c, const char *worker_id, const char *task_id)
{
    entry *e = find(c, task_id);
    if (e && e->holder && strcmp(e->holder->v.info.id, worker_id) == 0) return e;
    lg_error(LG_E_NOT_FOUND, "task %s is not held by worker '%s' (finished, requeued or cancelled): report ignored",
             task_id, worker_id);
    return NULL;
}

int lg_coord_task_started(lg_coord *c, const char *worker_id, const char *task_id)
{
    lock(c);
    entry *e = held_by(c, worker_id, task_id);
    int rc = e ? LG_OK : LG_E_NOT_FOUND;
    if (e && e->t.state == LG_TASK_DISPATCHED) {
        set_state(c, e, LG_TASK_RUNNING, lg_now());
        rc = persist(c, e);
        emit_task(c, &e->t, "started");
    }
    unlock(c);
    return rc;
}

int lg_coord_task_completed(lg_coord *c, const char *worker_id, const char *task_id, const char *result_json,
                            double service_s)
{
    char *result = dup_or_null(result_json);
    if (result_json && !result) return lg_error(LG_E_NOMEM, "coordinator: no memory for a result");
    lock(c);
    entry *e = held_by(c, worker_id, task_id);
    int rc = LG_E_NOT_FOUND;
    if (e) {
        lg_reg_worker *w = e->holder;
        w->v.completed++;
        lg_wreg_observe(w, e->t.model, service_s);
        observe(c, worker_id, e->t.model, service_s, true);
        free(e->t.result);
        e->t.result = result;
        result = NULL;
        c->completed++;
        rc = finish(c, e, LG_TASK_COMPLETED, lg_now());
    }
    unlock(c);
    free(result);
    if (e) wake(c);
    return rc;
}

int lg_coord_task_failed(lg_coord *c, const char *worker_id, const char *task_id, const char *reason)
{
    lock(c);
    entry *e = held_by(c, worker_id, task_id);
    int rc = LG_E_NOT_FOUND;
    if (e) {
        e->holder->v.failed++;
        observe(c, worker_id, e->t.model, 0, false);
        char line[1024];
        snprintf(line, sizeof line, "attempt %d on worker %s: %s", e->t.attempts, worker_id,
                 reason && *reason ? reason : "failed");
        rc = attempt_failed(c, e, line, lg_now());
    }
    unlock(c);
    if (e) wake(c);
    return rc;
}

int lg_coord_task_rejected(lg_coord *c, const char *worker_id, const char *task_id, const char *reason,
                           bool model_missing)
{
    lock(c);
    entry *e = held_by(c, worker_id, task_id);
    int rc = LG_E_NOT_FOUND;
    if (e) {
        e->holder->v.failed++;
        /* Another live worker that advertises the model can still run it. */
        bool elsewhere = false;
        for (int i = 0; model_missing && !elsewhere && i < lg_wreg_count(c->reg); i++) {
            const lg_reg_worker *w = lg_wreg_at(c->reg, i);
            if (w->dead || strcmp(w->v.info.id, worker_id) == 0) continue;
            for (int m = 0; m < w->v.info.n_models && !elsewhere; m++)
                elsewhere = strcmp(w->v.info.models[m], e->t.model) == 0;
        }
        char line[1024];
        snprintf(line, sizeof line, "attempt %d on worker %s: %s%s", e->t.attempts, worker_id,
                 reason && *reason ? reason : "failed", elsewhere ? "" : " (not retried: a retry cannot fix this)");
        if (elsewhere) {
            rc = attempt_failed(c, e, line, lg_now());
        } else {
            add_reason(&e->t, line);
            c->failed++;
            rc = finish(c, e, LG_TASK_FAILED, lg_now());
        }
    }
    unlock(c);
    if (e) wake(c);
    return rc;
}
