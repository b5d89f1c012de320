/*
 * worker.c: a worker: one I/O thread owns the DEALER (stable routing id = worker id):
 * it registers (HELLO), beats, notices a silent coordinator and reconnects with
 * exponential backoff, queues received tasks and sends what the task threads report.
 * max_tasks task threads run tasks on an lg_executor; a model missing here is fetched
 * from the coordinator (MODEL_REQUEST) once, whichever thread needed it first. Task
 * threads talk to the I/O thread through a locked outbox and an eventfd. With CURVE keys
 * (curve.c) every DEALER is a CURVE client; a refused TCP handshake is logged.
 */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/error.h"
#include "cluster/curve.h"
#include "cluster/executor.h"
#include "cluster/protocol.h"
#include "cluster/worker.h"
#include "legacygpu/system.h"

#define BACKOFF_FIRST_S 1.0
#define BACKOFF_CAP_S 5.0
#define FETCH_WAIT_S 120.0
/* STARTED waits this long for its RESULT, so a quick task sends one message, not two. */
#define STARTED_DELAY_S 0.002
#define REFUSED_LOG_S 10.0 /* a refused handshake is logged at most this often */

typedef struct job {
    struct job *next;
    char id[LG_TASK_ID_LEN + 1];
    char model[64];
    lg_input_kind kind;
    uint8_t *input;
    size_t len;
    lg_requirements req;     /* what the task asks of a device (backend, vendor, memory, fp16) */
} job;

/* A device this worker serves, with its own executor (sessions on that device). */
typedef struct wdev {
    char backend[32];        /* the sessions' backend: "cpu", "vulkan:1" */
    lg_executor *ex;
    lg_device_info info;     /* as advertised; info.unhealthy after a device loss */
    int running;             /* tasks on it now (under the worker's mutex) */
} wdev;

/* A report from a task thread for the I/O thread to send. */
typedef struct report {
    struct report *next;
    lg_msg_type type;        /* STARTED, RESULT, FAILURE, MODEL_REQUEST */
    char id[64];             /* task id, or model name for MODEL_REQUEST */
    char *text;              /* result body or failure reason (malloc'd), or NULL */
    const char *cause;       /* FAILURE a retry cannot fix: "model_missing", "input", ...; NULL: retry */
    double service_s;
    bool started;            /* RESULT/FAILURE that stands for its STARTED too */
} report;

enum { FETCH_PENDING, FETCH_DONE, FETCH_FAILED, FETCH_MISSING /* the coordinator has no such model */ };

typedef struct fetch {
    struct fetch *next;
    char model[64];
    int state;
    int waiters;
    char error[512];
} fetch;

struct lg_worker {
    char id[64];
    char coordinator[256];
    char cache_dir[512];
    bool own_cache;              /* a temp folder this worker made and removes */
    lg_worker_config cfg;
    char **tags;
    lg_executor *ex;             /* the first device's executor: model cache and fetches */
    wdev devs[LG_MAX_DEVICES];
    int n_devs;
    atomic_bool hello_again;     /* a device's health changed: register again */

    pthread_mutex_t mu;
    pthread_cond_t job_cv, fetch_cv, done_cv;
    job *jobs, *jobs_tail;
    job *active;                 /* jobs on a task thread now */
    report *out, *out_tail;
    fetch *fetches;
    int in_flight;               /* received and not yet reported */
    int running;                 /* on a task thread now */
    bool quitting;               /* task threads leave; waits end */
    bool finished;               /* the I/O thread is done */

    int wake_fd;
    atomic_int wake_pending;
    atomic_bool stop;
    pthread_t io;
    pthread_t *threads;
    int n_threads;

    lg_curve_client *curve;      /* CURVE keys, or NULL */

    /* I/O thread state */
    zsock_t *dealer;
    lg_curve_monitor *monitor;   /* the DEALER's failed handshakes (CURVE only) */
    double refused_logged_at;
    bool welcomed;
    double backoff, hello_due, next_beat, last_heard, hello_sent, silence_s;
    double started_due;          /* when held-back STARTED reports go out; 0: none */
};

static void wake(lg_worker *w)
{
    if (!atomic_exchange(&w->wake_pending, 1)) {
        uint64_t one = 1;
        ssize_t r = write(w->wake_fd, &one, sizeof(one));
        (void)r; /* a saturated counter still wakes */
    }
}

/* ---- task threads -------------------------------------------------------------------- */

/* Queues a report; STARTED does not wake the I/O thread (it goes out with the RESULT, or
 * at started_due). */
static void post_cause(lg_worker *w, lg_msg_type type, const char *id, char *text, double service_s,
                       const char *cause)
{
    report *r = calloc(1, sizeof(*r));
    if (!r) {
        free(text);
        return; /* the coordinator's timeout or requeue covers a lost report */
    }
    r->type = type;
    snprintf(r->id, sizeof(r->id), "%s", id);
    r->text = text;
    r->service_s = service_s;
    r->cause = cause;
    pthread_mutex_lock(&w->mu);
    if (w->out_tail) w->out_tail->next = r;
    else w->out = r;
    w->out_tail = r;
    pthread_mutex_unlock(&w->mu);
    if (type != LG_MSG_STARTED) wake(w);
}

static void post(lg_worker *w, lg_msg_type type, const char *id, char *text, double service_s)
{
    post_cause(w, type, id, text, service_s, NULL);
}

static fetch *fetch_find(lg_worker *w, const char *model)
{
    for (fetch *f = w->fetches; f; f = f->next)
        if (strcmp(f->model, model) == 0) return f;
    return NULL;
}

static void fetch_unlink(lg_worker *w, fetch *f)
{
    for (fetch **pp = &w->fetches; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            return;
        }
}

static struct timespec abs_time(double s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double t = (double)ts.tv_sec + ts.tv_nsec * 1e-9 + s;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    return ts;
}

/* Makes sure the executor has model, fetching it from the coordinator when missing.
 * NULL when it is there; else why not (malloc'd). */
static char *ensure_model(lg_worker *w, const char *model, bool *missing)
{
    if (lg_executor_has_model(w->ex, model)) return NULL;
    pthread_mutex_lock(&w->mu);
    fetch *f = fetch_find(w, model);
    if (!f) {
        f = calloc(1, sizeof(*f));
        if (!f) {
            pthread_mutex_unlock(&w->mu);
            return strdup("worker out of memory for a model fetch");
        }
        snprintf(f->model, sizeof(f->model), "%s", model);
        f->next = w->fetches;
        w->fetches = f;
        pthread_mutex_unlock(&w->mu);
        post(w, LG_MSG_MODEL_REQUEST, model, NULL, 0);
        pthread_mutex_lock(&w->mu);
    }
    f->waiters++;
    struct timespec until = abs_time(FETCH_WAIT_S);
    int rc = 0;
    while (f->state == FETCH_PENDING && !w->quitting && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->fetch_cv, &w->mu, &until);
    char *why = NULL;
    *missing = f->state == FETCH_MISSING;
    if (f->state == FETCH_FAILED || f->state == FETCH_MISSING) why = strdup(f->error);
    else if (f->state == FETCH_PENDING)
        why = strdup(w->quitting ? "worker stopping while fetching the model" : "model fetch timed out");
    if (--f->waiters == 0 && f->state != FETCH_PENDING) {
        fetch_unlink(w, f);
        free(f);
    }
    pthread_mutex_unlock(&w->mu);
    return why;
}

static bool wants_gpu(const lg_requirements *r)
{
    return (r->backend[0] && strcasecmp(r->backend, "cpu")) || r->device_vendor[0] || r->min_memory_mb > 0 ||
           r->fp16 == 1;
}

static bool dev_fits(const wdev *d, const lg_requirements *r)
{
    const lg_device_info *i = &d->info;
    return !i->unhealthy && (!r->backend[0] || !strcasecmp(i->backend, r->backend)) &&
           (!r->device_vendor[0] || !strcasecmp(i->vendor, r->device_vendor)) && i->memory_mb >= r->min_memory_mb &&
           (r->fp16 != 1 || i->fp16);
}

/* The device for job j: among healthy ones that fit its requirements, a GPU before the
 * CPU unless it asks for the CPU, the least busy first. -1 when none fits (*why set). */
static int pick_device(lg_worker *w, const job *j, char *why, size_t len)
{
    int best = -1;
    bool gpu_first = !(j->req.backend[0] && !strcasecmp(j->req.backend, "cpu"));
    pthread_mutex_lock(&w->mu);
    for (int k = 0; k < w->n_devs; k++) {
        const wdev *d = &w->devs[k];
        if (!dev_fits(d, &j->req)) continue;
        bool is_gpu = strcmp(d->info.backend, "cpu") != 0;
        if (best < 0) {
            best = k;
            continue;
        }
        bool best_gpu = strcmp(w->devs[best].info.backend, "cpu") != 0;
        if (gpu_first && is_gpu != best_gpu) {
            if (is_gpu) best = k;
        } else if (d->running < w->devs[best].running) {
            best = k;
        }
    }
    if (best >= 0) w->devs[best].running++;
    pthread_mutex_unlock(&w->mu);
    if (best < 0)
        snprintf(why, len, "no healthy device on this worker fits the task's requirements%s",
                 wants_gpu(&j->req) ? " (GPU lost or never present)" : "");
    return best;
}

/* A device failed under a task: no more tasks for it, and the coordinator hears so. */
static void device_lost(lg_worker *w, int k, const char *error)
{
    pthread_mutex_lock(&w->mu);
    bool was = w->devs[k].info.unhealthy;
    w->devs[k].info.unhealthy = true;
    pthread_mutex_unlock(&w->mu);
    if (was) return;
    fprintf(stderr, "legacygpu worker %s: device %s (%s) marked unhealthy: %s\n", w->id, w->devs[k].backend,
            w->devs[k].info.name, error);
    atomic_store(&w->hello_again, true);
    wake(w);
}

/* Failures a retry cannot fix, by status: the task fails at once (docs/protocol.md). */
static const struct {
    int rc;
    const char *cause;
} final_causes[] = {
    { LG_E_INVALID_ARG, "input" }, { LG_E_SHAPE, "input" },           { LG_E_PARSE, "input" },
    { LG_E_IMAGE, "input" },       { LG_E_NOT_FOUND, "input" },       { LG_E_UNSUPPORTED, "unsupported" },
    { LG_E_INVALID_MODEL, "unsupported" },
};

static const char *final_cause(int rc)
{
    for (size_t i = 0; i < sizeof final_causes / sizeof final_causes[0]; i++)
        if (final_causes[i].rc == rc) return final_causes[i].cause;
    return NULL;
}

static void run_job(lg_worker *w, job *j)
{
    post(w, LG_MSG_STARTED, j->id, NULL, 0);
    double t0 = lg_now();
    bool missing = false;
    const char *cause = NULL;
    char *result = NULL, *error = ensure_model(w, j->model, &missing), why[256];
    if (missing) cause = "model_missing";
    int k = error ? -1 : pick_device(w, j, why, sizeof(why));
    if (!error && k < 0) error = strdup(why); /* retried: another worker may have the device */
    if (!error) {
        int rc = lg_executor_run(w->devs[k].ex, j->model, j->kind, j->input, j->len, &result, &error);
        if (rc != LG_OK) {
            cause = final_cause(rc); /* a device fault (LG_E_DEVICE) is not final: retried */
            if (!error) error = strdup(lg_last_error());
        }
        if (rc == LG_E_DEVICE) device_lost(w, k, error ? error : "device error");
        pthread_mutex_lock(&w->mu);
        w->devs[k].running--;
        pthread_mutex_unlock(&w->mu);
    }
    if (error) {
        free(result);
        char *reason = NULL;
        /* FAILURE reasons are capped by the protocol (64 KiB); keep well under it. */
        if (asprintf(&reason, "worker '%s': %.4000s", w->id, error) < 0) reason = NULL;
        free(error);
        post_cause(w, LG_MSG_FAILURE, j->id, reason, 0, cause);
    } else {
        post(w, LG_MSG_RESULT, j->id, result, lg_now() - t0);
    }
}

static void *task_thread(void *arg)
{
    lg_worker *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->jobs && !w->quitting) pthread_cond_wait(&w->job_cv, &w->mu);
        if (w->quitting) break;
        job *j = w->jobs;
        w->jobs = j->next;
        if (!w->jobs) w->jobs_tail = NULL;
        j->next = w->active;
        w->active = j;
        w->running++;
        pthread_mutex_unlock(&w->mu);
        run_job(w, j);
        pthread_mutex_lock(&w->mu);
        for (job **p = &w->active; *p; p = &(*p)->next)
            if (*p == j) {
                *p = j->next;
                break;
            }
        free(j->input);
        free(j);
        w->running--;
        w->in_flight--;
        pthread_cond_broadcast(&w->done_cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- registration ---------------------------------------------------------------------- */

static const char *vendor_of(const char *backend, const char *device)
{
    static const struct {
        const char *needle, *vendor;
    } vendors[] = { { "nvidia", "nvidia" }, { "geforce", "nvidia" }, { "amd", "amd" }, { "radeon", "amd" },
                    { "intel", "intel" } };
    if (strcmp(backend, "cpu") == 0) return "cpu";
    for (size_t i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++)
        if (strcasestr(device, vendors[i].needle)) return vendors[i].vendor;
    return "";
}

static void fill_info(lg_worker *w, lg_worker_info *info)
{
    memset(info, 0, sizeof(*info));
    snprintf(info->id, sizeof(info->id), "%s", w->id);
    if (gethostname(info->host, sizeof(info->host)) != 0) snprintf(info->host, sizeof(info->host), "unknown");
    info->host[sizeof(info->host) - 1] = 0;
    lg_system_info si;
    if (lg_system_info_get(&si) != LG_OK) memset(&si, 0, sizeof(si));
    info->cpu_threads = si.num_cores;
    info->capacity = w->cfg.max_tasks;
    pthread_mutex_lock(&w->mu);
    for (int k = 0; k < w->n_devs; k++) {
        const lg_device_info *d = &w->devs[k].info;
        info->devices[info->n_devices++] = *d;
        bool listed = d->unhealthy;
        for (int b = 0; b < info->n_backends; b++)
            if (!strcmp(info->backends[b], d->backend)) listed = true;
        if (!listed && info->n_backends < 4)
            snprintf(info->backends[info->n_backends++], sizeof(info->backends[0]), "%s", d->backend);
    }
    pthread_mutex_unlock(&w->mu);
    info->n_models = lg_executor_models(w->ex, info->models, LG_MAX_WORKER_MODELS);
    for (int i = 0; w->tags && w->tags[i] && info->n_tags < 8; i++)
        snprintf(info->tags[info->n_tags++], sizeof(info->tags[0]), "%s", w->tags[i]);
}

/* Ids of every task this worker still holds: queued, running, or with a result or failure
 * report not yet sent. The coordinator requeues whatever else it gave this worker. */
static json_t *held_tasks(lg_worker *w)
{
    json_t *ids = json_array();
    pthread_mutex_lock(&w->mu);
    for (job *j = w->jobs; j; j = j->next) json_array_append_new(ids, json_string(j->id));
    for (job *j = w->active; j; j = j->next) json_array_append_new(ids, json_string(j->id));
    for (report *r = w->out; r; r = r->next)
        if (r->type == LG_MSG_RESULT || r->type == LG_MSG_FAILURE) json_array_append_new(ids, json_string(r->id));
    pthread_mutex_unlock(&w->mu);
    return ids;
}

static void send_hello(lg_worker *w, double now)
{
    lg_worker_info info;
    fill_info(w, &info);
    json_t *meta = lg_proto_worker_info_to_json(&info);
    json_object_set_new(meta, "tasks", held_tasks(w));
    lg_proto_send(zsock_resolve(w->dealer), NULL, 0, LG_MSG_HELLO, meta, 0, NULL);
    w->welcomed = false;
    w->hello_sent = now;
    w->hello_due = now + w->backoff;
}

/* A fresh DEALER (dropping whatever the old one had queued), then HELLO. */
static int reconnect(lg_worker *w, double now)
{
    lg_curve_monitor_close(&w->monitor);
    zsock_destroy(&w->dealer);
    w->dealer = lg_proto_socket_new(ZMQ_DEALER);
    if (!w->dealer) return lg_error(LG_E_IO, "worker: cannot create the DEALER socket");
    zsock_set_identity(w->dealer, w->id);
    zsock_set_reconnect_ivl(w->dealer, 100);
    if (w->curve) lg_curve_client_apply(w->curve, w->dealer);
    if (strncmp(w->coordinator, "tcp://", 6) == 0) /* a plain worker may meet a CURVE coordinator */
        LG_CHECK(lg_curve_monitor_open(zsock_resolve(w->dealer), &w->monitor));
    if (zsock_connect(w->dealer, "%s", w->coordinator) != 0)
        return lg_error(LG_E_INVALID_ARG, "worker: cannot connect to '%s': %s", w->coordinator,
                        zmq_strerror(zmq_errno()));
    w->last_heard = now;
    send_hello(w, now);
    return LG_OK;
}

/* ---- coordinator messages --------------------------------------------------------------- */

typedef void (*handler_fn)(lg_worker *w, const lg_msg *m, double now);

static void on_welcome(lg_worker *w, const lg_msg *m, double now)
{
    w->welcomed = true;
    w->backoff = BACKOFF_FIRST_S;
    double beat = lg_proto_num(m, "heartbeat_interval_s", w->cfg.heartbeat_interval_s);
    double slowest = beat > w->cfg.heartbeat_interval_s ? beat : w->cfg.heartbeat_interval_s;
    w->silence_s = slowest * w->cfg.heartbeat_misses;
    w->next_beat = now;
    /* Fetches asked on an earlier connection may have been lost with it. */
    pthread_mutex_lock(&w->mu);
    for (fetch *f = w->fetches; f; f = f->next)
        if (f->state == FETCH_PENDING)
            lg_proto_send(zsock_resolve(w->dealer), NULL, 0, LG_MSG_MODEL_REQUEST, json_pack("{s:s}", "name", f->model),
                          0, NULL);
    pthread_mutex_unlock(&w->mu);
}

static void on_task(lg_worker *w, const lg_msg *m, double now)
{
    job *j = calloc(1, sizeof(*j));
    uint8_t *input = malloc(m->blob_len[0] ? m->blob_len[0] : 1);
    int64_t kind = lg_proto_int(m, "input_kind", -1);
    const char *id = lg_proto_str(m, "id");
    if (!j || !input || kind < LG_INPUT_JSON || kind > LG_INPUT_PB) {
        free(j);
        free(input);
        lg_proto_send(zsock_resolve(w->dealer), NULL, 0, LG_MSG_FAILURE,
                      json_pack("{s:s, s:s}", "id", id, "reason",
                                kind < LG_INPUT_JSON || kind > LG_INPUT_PB ? "unknown input kind" : "worker out of memory"),
                      0, NULL);
        return;
    }
    snprintf(j->id, sizeof(j->id), "%s", id);
    snprintf(j->model, sizeof(j->model), "%s", lg_proto_str(m, "model"));
    j->kind = (lg_input_kind)kind;
    j->req.fp16 = -1;
    const json_t *f;
    if ((f = json_object_get(m->meta, "backend")) && json_is_string(f))
        snprintf(j->req.backend, sizeof(j->req.backend), "%s", json_string_value(f));
    if ((f = json_object_get(m->meta, "device_vendor")) && json_is_string(f))
        snprintf(j->req.device_vendor, sizeof(j->req.device_vendor), "%s", json_string_value(f));
    if ((f = json_object_get(m->meta, "min_memory_mb")) && json_is_integer(f)) j->req.min_memory_mb = json_integer_value(f);
    if (json_is_true(json_object_get(m->meta, "fp16"))) j->req.fp16 = 1;
    memcpy(input, m->blob[0], m->blob_len[0]);
    j->input = input;
    j->len = m->blob_len[0];
    pthread_mutex_lock(&w->mu);
    if (w->jobs_tail) w->jobs_tail->next = j;
    else w->jobs = j;
    w->jobs_tail = j;
    w->in_flight++;
    if (w->started_due == 0) w->started_due = now + STARTED_DELAY_S;
    pthread_cond_signal(&w->job_cv);
    pthread_mutex_unlock(&w->mu);
}

/* Ends the fetch of `model` in state st (the waiting task threads go on). */
static void fetch_end(lg_worker *w, const char *model, int st, const char *error)
{
    pthread_mutex_lock(&w->mu);
    fetch *f = fetch_find(w, model);
    if (f && f->state == FETCH_PENDING) {
        f->state = st;
        snprintf(f->error, sizeof(f->error), "%s", error ? error : "");
        pthread_cond_broadcast(&w->fetch_cv);
    }
    pthread_mutex_unlock(&w->mu);
}

static void on_model(lg_worker *w, const lg_msg *m, double now)
{
    const char *name = lg_proto_str(m, "name");
    char *config = strndup((const char *)m->blob[1], m->blob_len[1]);
    int rc = config ? LG_OK : lg_error(LG_E_NOMEM, "no memory for the config of model '%s'", name);
    for (int k = 0; k < w->n_devs && rc == LG_OK; k++) /* every device's executor knows it */
        rc = lg_executor_add_model(w->devs[k].ex, name, lg_proto_str(m, "sha256"), m->blob[0], m->blob_len[0],
                                   m->blob_len[1] ? config : NULL);
    free(config);
    char why[600];
    snprintf(why, sizeof(why), "fetched model '%s' not usable: %s", name, lg_last_error());
    fetch_end(w, name, rc == LG_OK ? FETCH_DONE : FETCH_FAILED, why);
}

static void on_model_error(lg_worker *w, const lg_msg *m, double now)
{
    char why[600];
    snprintf(why, sizeof(why), "model '%s' is not here and the coordinator cannot send it: %s",
             lg_proto_str(m, "name"), lg_proto_str(m, "message"));
    fetch_end(w, lg_proto_str(m, "name"), FETCH_MISSING, why);
}

static void on_error(lg_worker *w, const lg_msg *m, double now)
{
    const char *code = lg_proto_str(m, "code");
    if (strcmp(code, LG_PROTO_ERR_UNKNOWN) == 0) {
        /* The coordinator restarted or gave up on us: register again (once per beat). */
        if (w->welcomed || now - w->hello_sent > 0.5 * w->cfg.heartbeat_interval_s) send_hello(w, now);
        return;
    }
    fprintf(stderr, "legacygpu worker %s: coordinator refused a message: %s: %s\n", w->id, code,
            lg_proto_str(m, "message"));
    if (strcmp(code, LG_PROTO_ERR_VERSION) == 0 || strcmp(code, LG_PROTO_ERR_REFUSED) == 0) w->welcomed = false;
}

static void on_heartbeat(lg_worker *w, const lg_msg *m, double now)
{
    /* receive_all already noted that the coordinator is alive */
}

/* What the coordinator may send; NULL: not a coordinator's message. */
static const handler_fn handlers[LG_MSG_COUNT] = {
    [LG_MSG_WELCOME] = on_welcome, [LG_MSG_HEARTBEAT] = on_heartbeat,     [LG_MSG_TASK] = on_task,
    [LG_MSG_MODEL] = on_model,     [LG_MSG_MODEL_ERROR] = on_model_error, [LG_MSG_ERROR] = on_error,
};

static void receive_all(lg_worker *w, double now)
{
    void *sock = zsock_resolve(w->dealer);
    lg_rx rx;
    for (int i = 0; i < 1024 && lg_proto_recv(sock, &rx) == LG_OK; i++) {
        lg_msg m;
        w->last_heard = now;
        int rc = lg_rx_decode(&rx, 0, &m);
        if (rc != LG_OK) {
            fprintf(stderr, "legacygpu worker %s: refused a message: %s\n", w->id, lg_last_error());
            lg_proto_send_error(sock, NULL, 0, rc == LG_E_UNSUPPORTED ? LG_PROTO_ERR_VERSION : LG_PROTO_ERR_MALFORMED,
                                lg_last_error());
        } else if (!handlers[m.type]) {
            lg_proto_send_error(sock, NULL, 0, LG_PROTO_ERR_MALFORMED, "not a message a coordinator sends");
        } else {
            handlers[m.type](w, &m, now);
        }
        lg_msg_clear(&m);
        lg_rx_close(&rx);
    }
}

/* The RESULT or FAILURE of task id later in the list from r, or NULL. */
static report *outcome_of(report *r, const char *id)
{
    for (; r; r = r->next)
        if ((r->type == LG_MSG_RESULT || r->type == LG_MSG_FAILURE) && strcmp(r->id, id) == 0) return r;
    return NULL;
}

/* Sends the task threads' reports; a STARTED whose outcome is in the same batch is
 * folded into it ("started": true). */
static void send_reports(lg_worker *w)
{
    pthread_mutex_lock(&w->mu);
    report *r = w->out;
    w->out = w->out_tail = NULL;
    pthread_mutex_unlock(&w->mu);
    void *sock = zsock_resolve(w->dealer);
    while (r) {
        report *next = r->next, *outcome = r->type == LG_MSG_STARTED ? outcome_of(next, r->id) : NULL;
        if (outcome) {
            outcome->started = true;
        } else {
            json_t *meta = r->type == LG_MSG_MODEL_REQUEST ? json_pack("{s:s}", "name", r->id)
                           : r->type == LG_MSG_FAILURE
                               ? json_pack("{s:s, s:s, s:b, s:s?}", "id", r->id, "reason",
                                           r->text ? r->text : "worker out of memory", "started", r->started,
                                           "cause", r->cause)
                           : r->type == LG_MSG_RESULT
                               ? json_pack("{s:s, s:f, s:b}", "id", r->id, "service_s", r->service_s, "started", r->started)
                               : json_pack("{s:s}", "id", r->id);
            lg_frame body = { r->text, r->text ? strlen(r->text) : 0 };
            lg_proto_send(sock, NULL, 0, r->type, meta, r->type == LG_MSG_RESULT, &body);
        }
        free(r->text);
        free(r);
        r = next;
    }
}

/* ---- the I/O thread ----------------------------------------------------------------------- */

static void timers(lg_worker *w, double now)
{
    if (w->welcomed && now - w->last_heard > w->silence_s) {
        fprintf(stderr, "legacygpu worker %s: coordinator silent for %.1f s, reconnecting\n", w->id,
                now - w->last_heard);
        w->backoff = BACKOFF_FIRST_S;
        reconnect(w, now);
    } else if (!w->welcomed && now >= w->hello_due) {
        w->backoff = fmin(w->backoff * 2, BACKOFF_CAP_S);
        reconnect(w, now);
    }
    if (w->welcomed && now >= w->next_beat) {
        pthread_mutex_lock(&w->mu);
        int in_flight = w->in_flight;
        pthread_mutex_unlock(&w->mu);
        lg_proto_send(zsock_resolve(w->dealer), NULL, 0, LG_MSG_HEARTBEAT, json_pack("{s:i}", "in_flight", in_flight),
                      0, NULL);
        w->next_beat = now + w->cfg.heartbeat_interval_s;
    }
}

/* The coordinator refused this worker's handshake: say so (now and then, not at every
 * retry), with what to check. */
static void log_refusal(lg_worker *w, double now)
{
    int status = 0;
    char addr[256] = "";
    if (lg_curve_monitor_read(w->monitor, &status, addr, sizeof(addr)) == 0 || now - w->refused_logged_at < REFUSED_LOG_S)
        return;
    w->refused_logged_at = now;
    if (!w->curve)
        fprintf(stderr,
                "legacygpu worker %s: handshake with %s failed: the coordinator requires CURVE (--curve-secret "
                "and --coordinator-key)\n",
                w->id, w->coordinator);
    else if (status == 400)
        fprintf(stderr,
                "legacygpu worker %s: the coordinator at %s refused this worker's CURVE key %s: it is not in the "
                "coordinator's --curve-allow folder\n",
                w->id, w->coordinator, lg_curve_client_public(w->curve));
    else
        fprintf(stderr,
                "legacygpu worker %s: CURVE handshake with %s failed: the coordinator does not use CURVE, or "
                "--coordinator-key is not its public key\n",
                w->id, w->coordinator);
}

static bool poll_once(lg_worker *w, double due)
{
    long ms = (long)ceil((due - lg_now()) * 1000.0);
    zmq_pollitem_t items[3] = { { zsock_resolve(w->dealer), 0, ZMQ_POLLIN, 0 }, { NULL, w->wake_fd, ZMQ_POLLIN, 0 },
                                { w->monitor ? lg_curve_monitor_socket(w->monitor) : NULL, 0, ZMQ_POLLIN, 0 } };
    if (zmq_poll(items, w->monitor ? 3 : 2, ms < 0 ? 0 : ms) < 0 && zmq_errno() != EINTR) return false;
    if (w->monitor && (items[2].revents & ZMQ_POLLIN)) log_refusal(w, lg_now());
    if (items[1].revents & ZMQ_POLLIN) {
        uint64_t v;
        ssize_t r = read(w->wake_fd, &v, sizeof(v));
        (void)r;
        atomic_store(&w->wake_pending, 0);
    }
    double now = lg_now();
    receive_all(w, now);
    send_reports(w);
    if (w->welcomed && atomic_exchange(&w->hello_again, false)) send_hello(w, now);
    if (w->started_due && now >= w->started_due) w->started_due = 0;
    return true;
}

/* Stop: queued tasks are dropped (BYE hands them back), running ones finish and report,
 * then BYE goes out. */
static void finish(lg_worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->quitting = true;
    while (w->jobs) {
        job *j = w->jobs;
        w->jobs = j->next;
        w->in_flight--;
        free(j->input);
        free(j);
    }
    w->jobs_tail = NULL;
    pthread_cond_broadcast(&w->job_cv);
    pthread_cond_broadcast(&w->fetch_cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->n_threads; i++) pthread_join(w->threads[i], NULL);
    send_reports(w);
    lg_proto_send(zsock_resolve(w->dealer), NULL, 0, LG_MSG_BYE, NULL, 0, NULL);
    zsock_set_linger(w->dealer, 1000);
    lg_curve_monitor_close(&w->monitor);
    zsock_destroy(&w->dealer);
}

static void *io_thread(void *arg)
{
    lg_worker *w = arg;
    while (!atomic_load(&w->stop)) {
        double now = lg_now();
        timers(w, now);
        double due = w->welcomed ? fmin(w->next_beat, w->last_heard + w->silence_s) : w->hello_due;
        if (w->started_due) due = fmin(due, w->started_due);
        if (!poll_once(w, due)) break;
    }
    finish(w);
    pthread_mutex_lock(&w->mu);
    w->finished = true;
    pthread_cond_broadcast(&w->done_cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- life cycle --------------------------------------------------------------------------- */

void lg_worker_config_defaults(lg_worker_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->backend = "auto";
    cfg->max_tasks = 1;
    cfg->heartbeat_interval_s = 1.0;
    cfg->heartbeat_misses = 3;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    remove(path);
    return 0;
}

static void worker_free(lg_worker *w)
{
    for (int k = 0; k < w->n_devs; k++) lg_executor_close(w->devs[k].ex);
    if (w->own_cache) nftw(w->cache_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    for (int i = 0; w->tags && w->tags[i]; i++) free(w->tags[i]);
    free(w->tags);
    free(w->threads);
    if (w->wake_fd >= 0) close(w->wake_fd);
    lg_curve_monitor_close(&w->monitor);
    zsock_destroy(&w->dealer);
    lg_curve_client_free(&w->curve);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->job_cv);
    pthread_cond_destroy(&w->fetch_cv);
    pthread_cond_destroy(&w->done_cv);
    free(w);
}

static int copy_config(lg_worker *w, const lg_worker_config *cfg)
{
    w->cfg = *cfg;
    if (!cfg->coordinator ||
        (strncmp(cfg->coordinator, "tcp://", 6) != 0 && strncmp(cfg->coordinator, "inproc://", 9) != 0))
        return lg_error(LG_E_INVALID_ARG, "worker: coordinator '%s' is not tcp://HOST:PORT (or inproc:// in-process)",
                        cfg->coordinator ? cfg->coordinator : "(none)");
    snprintf(w->coordinator, sizeof(w->coordinator), "%s", cfg->coordinator);
    if (w->cfg.max_tasks < 1) w->cfg.max_tasks = 1;
    if (w->cfg.heartbeat_interval_s <= 0) w->cfg.heartbeat_interval_s = 1.0;
    if (w->cfg.heartbeat_misses < 1) w->cfg.heartbeat_misses = 3;
    if (cfg->worker_id) {
        if (!cfg->worker_id[0] || strlen(cfg->worker_id) >= sizeof(w->id))
            return lg_error(LG_E_INVALID_ARG, "worker: id '%s' must have 1 to %zu characters", cfg->worker_id,
                            sizeof(w->id) - 1);
        snprintf(w->id, sizeof(w->id), "%s", cfg->worker_id);
    } else {
        char host[48] = "worker";
        gethostname(host, sizeof(host) - 1);
        char uuid[LG_TASK_ID_LEN + 1];
        lg_uuid4(uuid);
        snprintf(w->id, sizeof(w->id), "%.40s-%d-%.8s", host, (int)getpid(), uuid);
    }
    int n_tags = 0;
    while (cfg->tags && cfg->tags[n_tags]) n_tags++;
    w->tags = calloc((size_t)n_tags + 1, sizeof(char *));
    if (!w->tags) return lg_error(LG_E_NOMEM, "worker: no memory for tags");
    for (int i = 0; i < n_tags; i++)
        if (!(w->tags[i] = strdup(cfg->tags[i]))) return lg_error(LG_E_NOMEM, "worker: no memory for tags");
    w->cfg.tags = NULL;
    w->cfg.coordinator = w->coordinator;
    w->cfg.worker_id = w->id;
    w->cfg.models_dir = w->cfg.cache_dir = NULL; /* used only while starting */
    w->cfg.curve_secret = w->cfg.coordinator_key = NULL;
    if (!cfg->curve_secret != !cfg->coordinator_key)
        return lg_error(LG_E_INVALID_ARG, "worker: CURVE needs both its key pair and the coordinator's public key");
    if (cfg->curve_secret) LG_CHECK(lg_curve_client_load(cfg->curve_secret, cfg->coordinator_key, &w->curve));
    if (cfg->cache_dir) {
        snprintf(w->cache_dir, sizeof(w->cache_dir), "%s", cfg->cache_dir);
    } else {
        snprintf(w->cache_dir, sizeof(w->cache_dir), "/tmp/legacygpu-cache-XXXXXX");
        if (!mkdtemp(w->cache_dir)) return lg_error(LG_E_IO, "worker: cannot create a cache folder: %s", strerror(errno));
        w->own_cache = true;
    }
    return LG_OK;
}

/* Adds a device to serve, with its executor. */
static int add_device(lg_worker *w, const lg_worker_config *cfg, int threads, int b, int dev)
{
    if (w->n_devs == LG_MAX_DEVICES) return LG_OK;
    wdev *d = &w->devs[w->n_devs];
    memset(d, 0, sizeof(*d));
    const char *name = lg_backend_name(b);
    lg_system_info si;
    if (lg_system_info_get(&si) != LG_OK) memset(&si, 0, sizeof(si));
    if (lg_backend_is_host(b)) snprintf(d->backend, sizeof(d->backend), "%s", name);
    else snprintf(d->backend, sizeof(d->backend), "%s:%d", name, dev);
    if (lg_backend_device_name(b, dev, d->info.name, sizeof(d->info.name)) != LG_OK)
        snprintf(d->info.name, sizeof(d->info.name), "%s device %d", name, dev);
    snprintf(d->info.backend, sizeof(d->info.backend), "%s", name);
    snprintf(d->info.vendor, sizeof(d->info.vendor), "%s", vendor_of(name, d->info.name));
    if (lg_backend_is_host(b)) d->info.memory_mb = (int64_t)(si.mem_total >> 20);
    char *text = lg_backend_device_json(b, dev);
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (j) { /* a GPU: its vendor, device-local memory and fp16 arithmetic */
        const char *vendor = json_string_value(json_object_get(j, "vendor"));
        if (vendor) snprintf(d->info.vendor, sizeof(d->info.vendor), "%s", vendor);
        json_t *heaps = json_object_get(j, "heaps"), *h;
        size_t i;
        int64_t local = 0;
        json_array_foreach(heaps, i, h) {
            int64_t bytes = json_integer_value(json_object_get(h, "bytes"));
            if (json_is_true(json_object_get(h, "device_local")) && bytes > local) local = bytes;
        }
        d->info.memory_mb = local >> 20;
        d->info.fp16 = json_is_true(json_object_get(j, "fp16"));
        json_decref(j);
    }
    LG_CHECK(lg_executor_open(cfg->models_dir, w->cache_dir, d->backend, threads, &d->ex));
    w->n_devs++;
    return LG_OK;
}

/* The devices --backend names: "cpu" the CPU alone; "auto" every GPU auto may use, then
 * the CPU; "vulkan" every device of that backend, "vulkan:N" device N, then the CPU. */
static int open_devices(lg_worker *w, const lg_worker_config *cfg, int threads)
{
    const char *want = cfg->backend && cfg->backend[0] ? cfg->backend : "auto";
    char name[32];
    int only = -1;
    const char *colon = strchr(want, ':');
    snprintf(name, sizeof(name), "%.*s", colon ? (int)(colon - want) : (int)strlen(want), want);
    if (colon) only = atoi(colon + 1);
    int host = -1, rc = LG_OK;
    bool found = !strcmp(name, "auto");
    for (int b = 0; b < lg_backend_count(); b++) {
        if (lg_backend_is_host(b)) {
            host = b;
            if (!strcmp(name, lg_backend_name(b))) found = true;
            continue;
        }
        bool named = !strcmp(name, lg_backend_name(b));
        if (!named && strcmp(name, "auto")) continue;
        found = true;
        int nd = lg_backend_device_count(b);
        if (named && only >= nd)
            return lg_error(LG_E_NOT_FOUND, "worker: backend '%s' has no device %d (%d found)", name, only, nd);
        for (int d = 0; d < nd && rc == LG_OK; d++) {
            if ((only >= 0 && d != only) || (!named && !lg_backend_device_auto(b, d))) continue;
            rc = add_device(w, cfg, threads, b, d);
        }
        if (named && w->n_devs == 0 && rc == LG_OK)
            return lg_error(LG_E_NOT_FOUND, "worker: backend '%s' found no device on this machine", name);
    }
    if (!found) return lg_error(LG_E_INVALID_ARG, "worker: backend '%s' is not in this build", want);
    if (rc == LG_OK && host >= 0) rc = add_device(w, cfg, threads, host, 0);
    if (rc == LG_OK) w->ex = w->devs[0].ex;
    return rc;
}

int lg_worker_start(const lg_worker_config *cfg, lg_worker **out)
{
    *out = NULL;
    lg_worker *w = calloc(1, sizeof(*w));
    if (!w) return lg_error(LG_E_NOMEM, "worker: no memory");
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->job_cv, NULL);
    pthread_cond_init(&w->fetch_cv, NULL);
    pthread_cond_init(&w->done_cv, NULL);
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int rc = w->wake_fd < 0 ? lg_error(LG_E_IO, "worker: eventfd: %s", strerror(errno)) : copy_config(w, cfg);
    if (rc == LG_OK) {
        int threads = cfg->threads;
        if (threads <= 0) {
            lg_system_info si;
            threads = lg_system_info_get(&si) == LG_OK ? si.num_cores / w->cfg.max_tasks : 1;
            if (threads < 1) threads = 1;
        }
        rc = open_devices(w, cfg, threads);
    }
    w->backoff = BACKOFF_FIRST_S;
    w->silence_s = w->cfg.heartbeat_interval_s * w->cfg.heartbeat_misses;
    if (rc == LG_OK) rc = reconnect(w, lg_now());
    if (rc == LG_OK && !(w->threads = calloc((size_t)w->cfg.max_tasks, sizeof(pthread_t))))
        rc = lg_error(LG_E_NOMEM, "worker: no memory for threads");
    for (int i = 0; rc == LG_OK && i < w->cfg.max_tasks; i++) {
        if (pthread_create(&w->threads[i], NULL, task_thread, w) != 0)
            rc = lg_error(LG_E_RUNTIME, "worker: cannot start task thread %d", i);
        else
            w->n_threads++;
    }
    if (rc == LG_OK && pthread_create(&w->io, NULL, io_thread, w) != 0)
        rc = lg_error(LG_E_RUNTIME, "worker: cannot start its I/O thread");
    if (rc != LG_OK) {
        pthread_mutex_lock(&w->mu);
        w->quitting = true;
        pthread_cond_broadcast(&w->job_cv);
        pthread_mutex_unlock(&w->mu);
        for (int i = 0; i < w->n_threads; i++) pthread_join(w->threads[i], NULL);
        worker_free(w);
        return rc;
    }
    *out = w;
    return LG_OK;
}

const char *lg_worker_id(const lg_worker *w)
{
    return w->id;
}

void lg_worker_request_stop(lg_worker *w)
{
    atomic_store(&w->stop, true);
    uint64_t one = 1;
    ssize_t r = write(w->wake_fd, &one, sizeof(one)); /* async-signal-safe */
    (void)r;
}

void lg_worker_wait(lg_worker *w)
{
    pthread_mutex_lock(&w->mu);
    while (!w->finished) pthread_cond_wait(&w->done_cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

void lg_worker_stop(lg_worker *w)
{
    if (!w) return;
    lg_worker_request_stop(w);
    pthread_join(w->io, NULL);
    worker_free(w);
}
