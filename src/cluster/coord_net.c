/*
 * coord_net.c: the coordinator's ZeroMQ thread: a ROUTER (ROUTER_MANDATORY, handover)
 * that maps routing ids to workers, turns their messages into lg_coord calls through a
 * handler table, sends what lg_coord_next_dispatch hands out, serves model fetches from
 * the repository, beats and ticks every interval. An eventfd wakes it when the core has
 * work to dispatch, so a submit goes out at once, not at the next beat. With CURVE
 * (curve.c) the TCP endpoint admits only allowed worker keys; a socket monitor reports
 * each refused handshake, which is logged here.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/error.h"
#include "cluster/coord_net.h"
#include "cluster/curve.h"
#include "cluster/executor.h"
#include "cluster/protocol.h"
#include "legacygpu/repository.h"

typedef struct peer {
    char worker_id[64];
    uint8_t rid[256];
    size_t rid_len;
} peer;

struct lg_coord_net {
    lg_coord *c;
    zsock_t *router;
    void *sock;               /* zsock_resolve(router) */
    char endpoint[300];
    char local[96];                 /* inproc endpoint for workers in this process */
    int wake_fd;
    atomic_int wake_pending;
    atomic_bool stop;
    pthread_t thread;
    double interval;
    peer *peers;
    int n_peers, cap_peers;
    lg_repo *repo;            /* models_dir, opened at the first fetch */
    char *text;               /* reused buffer for NUL-terminated payload text */
    size_t text_cap;
    lg_curve_server *curve;   /* CURVE on the TCP endpoint, or NULL */
    lg_curve_monitor *monitor; /* its refused handshakes */
    double refused_logged_at; /* refusals are logged at most every REFUSED_LOG_S */
    int refused_unlogged;
};

#define REFUSED_LOG_S 5.0

/* ---- peers ---------------------------------------------------------------------------- */

static peer *peer_by_rid(lg_coord_net *n, const void *rid, size_t len)
{
    for (int i = 0; i < n->n_peers; i++)
        if (n->peers[i].rid_len == len && memcmp(n->peers[i].rid, rid, len) == 0) return &n->peers[i];
    return NULL;
}

static peer *peer_by_id(lg_coord_net *n, const char *id)
{
    for (int i = 0; i < n->n_peers; i++)
        if (strcmp(n->peers[i].worker_id, id) == 0) return &n->peers[i];
    return NULL;
}

static void peer_remove(lg_coord_net *n, peer *p)
{
    *p = n->peers[--n->n_peers];
}

/* The worker behind p is unreachable or gone: its tasks go to others. */
static void peer_lost(lg_coord_net *n, peer *p, const char *why)
{
    fprintf(stderr, "legacygpu coordinator: worker '%s' lost: %s\n", p->worker_id, why);
    lg_coord_worker_bye(n->c, p->worker_id);
    peer_remove(n, p);
}

static int peer_add(lg_coord_net *n, const char *id, const void *rid, size_t len)
{
    peer *p = peer_by_id(n, id);
    if (!p) p = peer_by_rid(n, rid, len);
    if (!p) {
        if (n->n_peers == n->cap_peers) {
            int cap = n->cap_peers ? 2 * n->cap_peers : 16;
            peer *np = realloc(n->peers, (size_t)cap * sizeof(*np));
            if (!np) return lg_error(LG_E_NOMEM, "coordinator: no memory for worker '%s'", id);
            n->peers = np;
            n->cap_peers = cap;
        }
        p = &n->peers[n->n_peers++];
    }
    snprintf(p->worker_id, sizeof(p->worker_id), "%s", id);
    memcpy(p->rid, rid, len);
    p->rid_len = len;
    return LG_OK;
}

/* ---- sending ------------------------------------------------------------------------ */

static int send_to(lg_coord_net *n, peer *p, lg_msg_type t, json_t *meta, int nb, const lg_frame *blobs)
{
    int rc = lg_proto_send(n->sock, p->rid, p->rid_len, t, meta, nb, blobs);
    if (rc != LG_OK) peer_lost(n, p, lg_last_error());
    return rc;
}

static void dispatch(lg_coord_net *n)
{
    lg_task t;
    char wid[64];
    while (lg_coord_next_dispatch(n->c, &t, wid, sizeof(wid)) == LG_OK) {
        peer *p = peer_by_id(n, wid);
        if (!p) {
            fprintf(stderr, "legacygpu coordinator: task %s given to unconnected worker '%s'\n", t.id, wid);
            lg_coord_worker_bye(n->c, wid);
        } else {
            lg_frame in = { t.input, t.input_len };
            json_t *meta = json_pack("{s:s, s:s, s:i, s:f, s:i}", "id", t.id, "model", t.model, "input_kind",
                                     (int)t.input_kind, "timeout_s", t.timeout_s, "attempt", t.attempts);
            /* What the task asks of a device: the worker picks the executor that fits. */
            if (t.req.backend[0]) json_object_set_new(meta, "backend", json_string(t.req.backend));
            if (t.req.device_vendor[0]) json_object_set_new(meta, "device_vendor", json_string(t.req.device_vendor));
            if (t.req.min_memory_mb > 0) json_object_set_new(meta, "min_memory_mb", json_integer(t.req.min_memory_mb));
            if (t.req.fp16 == 1) json_object_set_new(meta, "fp16", json_true());
            send_to(n, p, LG_MSG_TASK, meta, 1, &in);
        }
        lg_task_clear(&t);
    }
}

static void beat(lg_coord_net *n)
{
    for (int i = n->n_peers - 1; i >= 0; i--) send_to(n, &n->peers[i], LG_MSG_HEARTBEAT, NULL, 0, NULL);
}

/* Payload i of m as NUL-terminated text in the reused buffer. */
static const char *payload_text(lg_coord_net *n, const lg_msg *m, int i)
{
    size_t len = m->blob_len[i];
    if (len + 1 > n->text_cap) {
        char *t = realloc(n->text, len + 1);
        if (!t) return NULL;
        n->text = t;
        n->text_cap = len + 1;
    }
    memcpy(n->text, m->blob[i], len);
    n->text[len] = 0;
    return n->text;
}

/* ---- model fetches ---------------------------------------------------------------------- */

/* Finds model name in the repository (rescanning once for models added since). */
static int find_model(lg_coord_net *n, const char *name, const char **model_path, const char **config_path)
{
    const char *dir = lg_coord_get_config(n->c)->models_dir;
    if (!dir) return lg_error(LG_E_NOT_FOUND, "the coordinator has no model repository");
    if (!n->repo) LG_CHECK(lg_repo_open(dir, &n->repo));
    if (lg_repo_find(n->repo, name, model_path, config_path) == LG_OK) return LG_OK;
    LG_CHECK(lg_repo_rescan(n->repo));
    return lg_repo_find(n->repo, name, model_path, config_path);
}

/* MODEL: the model's bytes, their sha-256 and its config.json with the labels written
 * into it (lg_model_package), so labels travel with a fetched model. */
static void serve_model(lg_coord_net *n, peer *p, const char *name)
{
    const char *model_path, *config_path;
    uint8_t *onnx = NULL;
    size_t onnx_len = 0;
    char *config = NULL, hex[65];
    int rc = find_model(n, name, &model_path, &config_path);
    if (rc == LG_OK) rc = lg_model_package(lg_coord_get_config(n->c)->models_dir, name, &onnx, &onnx_len, &config, hex);
    if (rc == LG_OK) {
        lg_frame parts[2] = { { onnx, onnx_len }, { config, config ? strlen(config) : 0 } };
        send_to(n, p, LG_MSG_MODEL, json_pack("{s:s, s:s}", "name", name, "sha256", hex), 2, parts);
    } else {
        send_to(n, p, LG_MSG_MODEL_ERROR, json_pack("{s:s, s:s}", "name", name, "message", lg_last_error()), 0,
                NULL);
    }
    free(onnx);
    free(config);
}

/* ---- message handlers ----------------------------------------------------------------- */

typedef void (*handler_fn)(lg_coord_net *n, peer *p, const lg_msg *m);

static void on_heartbeat(lg_coord_net *n, peer *p, const lg_msg *m)
{
    if (lg_coord_worker_heartbeat(n->c, p->worker_id, (int)lg_proto_int(m, "in_flight", 0)) == LG_E_NOT_FOUND) {
        /* Declared dead meanwhile: it must register again. */
        lg_proto_send_error(n->sock, p->rid, p->rid_len, LG_PROTO_ERR_UNKNOWN, "worker is not registered: send HELLO");
        peer_remove(n, p);
    }
}

static void on_started(lg_coord_net *n, peer *p, const lg_msg *m)
{
    lg_coord_task_started(n->c, p->worker_id, lg_proto_str(m, "id"));
}

/* A quick task's STARTED travels folded into its RESULT or FAILURE. */
static void folded_start(lg_coord_net *n, peer *p, const lg_msg *m)
{
    if (json_is_true(json_object_get(m->meta, "started"))) on_started(n, p, m);
}

static void on_result(lg_coord_net *n, peer *p, const lg_msg *m)
{
    /* A folded STARTED needs no RUNNING step of its own: the task goes straight to
     * COMPLETED, one store write fewer. */
    const char *text = payload_text(n, m, 0);
    if (!text) {
        lg_coord_task_failed(n->c, p->worker_id, lg_proto_str(m, "id"), "coordinator out of memory for the result");
        return;
    }
    lg_coord_task_completed(n->c, p->worker_id, lg_proto_str(m, "id"), text, lg_proto_num(m, "service_s", 0));
}

static void on_failure(lg_coord_net *n, peer *p, const lg_msg *m)
{
    folded_start(n, p, m);
    const char *cause = lg_proto_str(m, "cause"); /* "": a failure a retry may fix */
    if (*cause)
        lg_coord_task_rejected(n->c, p->worker_id, lg_proto_str(m, "id"), lg_proto_str(m, "reason"),
                               strcmp(cause, "model_missing") == 0);
    else
        lg_coord_task_failed(n->c, p->worker_id, lg_proto_str(m, "id"), lg_proto_str(m, "reason"));
}

static void on_model_request(lg_coord_net *n, peer *p, const lg_msg *m)
{
    serve_model(n, p, lg_proto_str(m, "name"));
}

static void on_bye(lg_coord_net *n, peer *p, const lg_msg *m)
{
    lg_coord_worker_bye(n->c, p->worker_id);
    peer_remove(n, p);
}

static void on_error(lg_coord_net *n, peer *p, const lg_msg *m)
{
    fprintf(stderr, "legacygpu coordinator: worker '%s' refused a message: %s: %s\n", p->worker_id,
            lg_proto_str(m, "code"), lg_proto_str(m, "message"));
}

/* What a registered worker may send; NULL: not a worker's message. */
static const handler_fn handlers[LG_MSG_COUNT] = {
    [LG_MSG_HEARTBEAT] = on_heartbeat,     [LG_MSG_STARTED] = on_started, [LG_MSG_RESULT] = on_result,
    [LG_MSG_FAILURE] = on_failure,         [LG_MSG_MODEL_REQUEST] = on_model_request,
    [LG_MSG_BYE] = on_bye,                 [LG_MSG_ERROR] = on_error,
};

/* The HELLO's "tasks" (ids the worker still holds): anything else given to it was lost
 * with its previous connection and goes back to the queue. */
static int reconcile(lg_coord_net *n, const lg_worker_info *info, json_t *meta)
{
    json_t *tasks = json_object_get(meta, "tasks");
    size_t count = json_is_array(tasks) ? json_array_size(tasks) : 0;
    if (count > 4096) return lg_error(LG_E_PARSE, "protocol: HELLO lists %zu tasks (at most 4096)", count);
    const char **ids = calloc(count + 1, sizeof(char *));
    if (!ids) return lg_error(LG_E_NOMEM, "out of memory");
    int n_ids = 0;
    for (size_t i = 0; i < count; i++) {
        const char *id = json_string_value(json_array_get(tasks, i));
        if (id) ids[n_ids++] = id;
    }
    int rc = lg_coord_worker_reconcile(n->c, info->id, ids, n_ids);
    free(ids);
    return rc;
}

static void on_hello(lg_coord_net *n, const void *rid, size_t rid_len, const lg_msg *m)
{
    lg_worker_info info;
    int rc = lg_proto_worker_info_from_json(m->meta, &info);
    if (rc == LG_OK) rc = lg_coord_worker_hello(n->c, &info);
    if (rc == LG_OK) rc = reconcile(n, &info, m->meta);
    if (rc == LG_OK) rc = peer_add(n, info.id, rid, rid_len);
    if (rc != LG_OK) {
        lg_proto_send_error(n->sock, rid, rid_len, LG_PROTO_ERR_REFUSED, lg_last_error());
        return;
    }
    const lg_coord_config *cfg = lg_coord_get_config(n->c);
    send_to(n, peer_by_id(n, info.id), LG_MSG_WELCOME,
            json_pack("{s:s, s:f, s:i}", "worker_id", info.id, "heartbeat_interval_s", cfg->heartbeat_interval_s,
                      "heartbeat_misses", cfg->heartbeat_misses),
            0, NULL);
}

static void handle(lg_coord_net *n, lg_rx *rx)
{
    const void *rid = zmq_msg_data(&rx->part[0]);
    size_t rid_len = zmq_msg_size(&rx->part[0]);
    lg_msg m;
    int rc = lg_rx_decode(rx, 1, &m);
    if (rc != LG_OK) {
        fprintf(stderr, "legacygpu coordinator: refused a message: %s\n", lg_last_error());
        lg_proto_send_error(n->sock, rid, rid_len, rc == LG_E_UNSUPPORTED ? LG_PROTO_ERR_VERSION : LG_PROTO_ERR_MALFORMED,
                            lg_last_error());
        return;
    }
    peer *p = peer_by_rid(n, rid, rid_len);
    if (m.type == LG_MSG_HELLO) {
        on_hello(n, rid, rid_len, &m);
    } else if (!handlers[m.type]) {
        char text[128];
        snprintf(text, sizeof(text), "protocol: %s is not a message a worker sends", lg_msg_type_name(m.type));
        lg_proto_send_error(n->sock, rid, rid_len, LG_PROTO_ERR_MALFORMED, text);
    } else if (!p) {
        if (m.type != LG_MSG_BYE && m.type != LG_MSG_ERROR)
            lg_proto_send_error(n->sock, rid, rid_len, LG_PROTO_ERR_UNKNOWN, "worker is not registered: send HELLO");
    } else {
        handlers[m.type](n, p, &m);
    }
    lg_msg_clear(&m);
}

/* ---- the thread ------------------------------------------------------------------------ */

static void wake(void *arg)
{
    lg_coord_net *n = arg;
    if (pthread_equal(pthread_self(), n->thread)) return; /* the loop dispatches before it waits */
    if (!atomic_exchange(&n->wake_pending, 1)) {
        uint64_t one = 1;
        ssize_t w = write(n->wake_fd, &one, sizeof(one));
        (void)w; /* a full counter still wakes the thread */
    }
}

/* Logs the handshakes the monitor saw fail: a key not in the allow list, or a peer that
 * does not speak CURVE with this coordinator's key. */
static void log_refusals(lg_coord_net *n)
{
    int status = 0;
    char addr[256] = "";
    int count = lg_curve_monitor_read(n->monitor, &status, addr, sizeof(addr)) + n->refused_unlogged;
    double now = lg_now();
    if (count == 0) return;
    if (now - n->refused_logged_at < REFUSED_LOG_S) { /* a refused worker retries every few ms */
        n->refused_unlogged = count;
        return;
    }
    n->refused_logged_at = now;
    n->refused_unlogged = 0;
    if (status == 400)
        fprintf(stderr,
                "legacygpu coordinator: refused %d worker connection%s on %s: CURVE key not in the allow list '%s'\n",
                count, count == 1 ? "" : "s", addr, lg_curve_server_allow_dir(n->curve));
    else
        fprintf(stderr,
                "legacygpu coordinator: refused %d connection%s on %s: CURVE handshake failed (no CURVE, or the "
                "worker has another coordinator key)\n",
                count, count == 1 ? "" : "s", addr);
}

static void *run(void *arg)
{
    lg_coord_net *n = arg;
    double next_beat = lg_now() + n->interval, next_tick = next_beat;
    while (!atomic_load(&n->stop)) {
        double due = next_beat < next_tick ? next_beat : next_tick;
        long ms = (long)ceil((due - lg_now()) * 1000.0);
        zmq_pollitem_t items[3] = { { n->sock, 0, ZMQ_POLLIN, 0 }, { NULL, n->wake_fd, ZMQ_POLLIN, 0 },
                                    { n->monitor ? lg_curve_monitor_socket(n->monitor) : NULL, 0, ZMQ_POLLIN, 0 } };
        if (zmq_poll(items, n->monitor ? 3 : 2, ms < 0 ? 0 : ms) < 0 && zmq_errno() != EINTR) break;
        if (n->monitor && (items[2].revents & ZMQ_POLLIN)) log_refusals(n);
        if (items[1].revents & ZMQ_POLLIN) {
            uint64_t v;
            ssize_t r = read(n->wake_fd, &v, sizeof(v));
            (void)r;
            atomic_store(&n->wake_pending, 0);
        }
        lg_rx rx;
        for (int i = 0; i < 1024 && lg_proto_recv(n->sock, &rx) == LG_OK; i++) {
            handle(n, &rx);
            lg_rx_close(&rx);
        }
        dispatch(n);
        double now = lg_now();
        if (now >= next_tick) {
            lg_coord_tick(n->c);
            next_tick = now + n->interval;
            dispatch(n);
        }
        if (now >= next_beat) {
            beat(n);
            next_beat = now + n->interval;
        }
    }
    return NULL;
}

/* "tcp://HOST:PORT" with PORT 0 or * bound on a free port; the endpoint names the real
 * port, and a wildcard host becomes this machine's name. */
static int bind_router(lg_coord_net *n, const char *bind)
{
    const char *colon = strrchr(bind, ':');
    if (strncmp(bind, "tcp://", 6) != 0 || !colon || colon < bind + 6 || !colon[1])
        return lg_error(LG_E_INVALID_ARG, "coordinator: bind address '%s' is not tcp://HOST:PORT", bind);
    char host[256];
    int hlen = (int)(colon - (bind + 6));
    if (hlen >= (int)sizeof(host)) return lg_error(LG_E_INVALID_ARG, "coordinator: host in '%s' too long", bind);
    memcpy(host, bind + 6, (size_t)hlen);
    host[hlen] = 0;
    bool any_port = strcmp(colon + 1, "0") == 0 || strcmp(colon + 1, "*") == 0;
    /* A coordinator restarted in the same process finds its old listener closing for a
     * moment: retry a busy port for up to 2 s. */
    double until = lg_now() + 2.0;
    int port;
    for (;;) {
        port = any_port ? zsock_bind(n->router, "tcp://%s:*", host) : zsock_bind(n->router, "%s", bind);
        if (port >= 0 || zmq_errno() != EADDRINUSE || lg_now() > until) break;
        zmq_poll(NULL, 0, 20);
    }
    if (port < 0)
        return lg_error(LG_E_IO, "coordinator: cannot bind %s: %s", bind, zmq_strerror(zmq_errno()));
    if (!any_port) port = atoi(colon + 1);
    if (strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0) {
        if (gethostname(host, sizeof(host)) != 0) snprintf(host, sizeof(host), "127.0.0.1");
        host[sizeof(host) - 1] = 0;
    }
    snprintf(n->endpoint, sizeof(n->endpoint), "tcp://%s:%d", host, port);
    return LG_OK;
}

static void net_free(lg_coord_net *n)
{
    lg_curve_monitor_close(&n->monitor);
    zsock_destroy(&n->router);
    lg_curve_server_stop(&n->curve);
    if (n->wake_fd >= 0) close(n->wake_fd);
    if (n->repo) lg_repo_free(n->repo);
    free(n->peers);
    free(n->text);
    free(n);
}

int lg_coord_net_start(lg_coord *c, const char *bind, lg_coord_net **out)
{
    return lg_coord_net_start_curve(c, bind, NULL, NULL, out);
}

int lg_coord_net_start_curve(lg_coord *c, const char *bind, const char *curve_secret, const char *curve_allow,
                             lg_coord_net **out)
{
    *out = NULL;
    lg_coord_net *n = calloc(1, sizeof(*n));
    if (!n) return lg_error(LG_E_NOMEM, "coordinator: no memory for the transport");
    n->c = c;
    n->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    n->router = lg_proto_socket_new(ZMQ_ROUTER);
    const lg_coord_config *cfg = lg_coord_get_config(c);
    n->interval = cfg->heartbeat_interval_s > 0 ? cfg->heartbeat_interval_s : 1.0;
    if (n->wake_fd < 0 || !n->router) {
        net_free(n);
        return lg_error(LG_E_IO, "coordinator: cannot create the ROUTER socket or its wakeup");
    }
    zsock_set_router_mandatory(n->router, 1);
    zsock_set_router_handover(n->router, 1);
    int rc = LG_OK;
    if (curve_secret) { /* before the TCP bind: its listener takes the options it finds */
        rc = lg_curve_server_start(n->router, curve_secret, curve_allow, &n->curve);
        if (rc == LG_OK) rc = lg_curve_monitor_open(zsock_resolve(n->router), &n->monitor);
    }
    if (rc == LG_OK) rc = bind_router(n, bind);
    /* Workers in this process (serve) connect in memory: no TCP, no I/O thread hops. */
    snprintf(n->local, sizeof(n->local), "inproc://legacygpu-coordinator-%p", (void *)n);
    if (rc == LG_OK && zsock_bind(n->router, "%s", n->local) < 0)
        rc = lg_error(LG_E_IO, "coordinator: cannot bind %s: %s", n->local, zmq_strerror(zmq_errno()));
    if (rc != LG_OK) {
        net_free(n);
        return rc;
    }
    n->sock = zsock_resolve(n->router);
    lg_coord_set_wakeup(c, wake, n);
    if (pthread_create(&n->thread, NULL, run, n) != 0) {
        lg_coord_set_wakeup(c, NULL, NULL);
        net_free(n);
        return lg_error(LG_E_RUNTIME, "coordinator: cannot start the transport thread");
    }
    *out = n;
    return LG_OK;
}

const char *lg_coord_net_endpoint(const lg_coord_net *n)
{
    return n->endpoint;
}

const char *lg_coord_net_local_endpoint(const lg_coord_net *n)
{
    return n->local;
}

void lg_coord_net_stop(lg_coord_net *n)
{
    if (!n) return;
    lg_coord_set_wakeup(n->c, NULL, NULL);
    atomic_store(&n->stop, true);
    uint64_t one = 1;
    ssize_t w = write(n->wake_fd, &one, sizeof(one));
    (void)w;
    pthread_join(n->thread, NULL);
    net_free(n);
}
