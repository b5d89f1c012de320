/*
 * server.c: the libmicrohttpd side of the REST API: starting and stopping the daemon,
 * and taking each request through route lookup, authentication and the body limit
 * before its handler runs. A pool of epoll threads (lg_api_config.threads) serves
 * every connection; a route that may block (a long-poll, KServe inference) runs on a
 * thread of its own while its connection is suspended, so it holds up no one else.
 *
 * A request is admitted on libmicrohttpd's first call, before any body is read: an
 * unknown path (404), a wrong method (405), a missing or bad token (401), a role too
 * low (403) or a Content-Length over the limit (413) is answered at once. A body sent
 * without a length (chunked) that grows past the limit is discarded as it arrives and
 * answered 413 at its end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <strings.h>

#include <microhttpd.h>

#include "api/api_internal.h"
#include "base/error.h"

typedef struct conn_state {
    lg_api *api;
    const lg_route *route;
    lg_http_req req;
    char *body;
    size_t len, cap;
    bool too_large;
    bool ready;                  /* a waiting handler finished: rep holds its answer */
    lg_http_reply rep;
    struct conn_state *next_wait; /* queue of requests waiting for a waiter thread */
} conn_state;

static enum MHD_Result send_reply(struct MHD_Connection *conn, lg_http_reply *rep)
{
    struct MHD_Response *resp;
    if (rep->stream) {
        unsigned status;
        resp = rep->stream->respond(rep->stream, &status);
        rep->stream = NULL;
        if (!resp) return MHD_NO;
        enum MHD_Result ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (rep->body)
        resp = MHD_create_response_from_buffer(rep->len, rep->body, MHD_RESPMEM_MUST_FREE);
    else
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(rep->body);
        return MHD_NO;
    }
    if (rep->content_type) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
    if (rep->location[0]) MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, rep->location);
    if (rep->allow[0]) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rep->allow);
    if (rep->status == 401) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (rep->status == 503 || rep->status == 507) {
        char secs[16];
        snprintf(secs, sizeof secs, "%d", rep->retry_after > 0 ? rep->retry_after : 1);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)rep->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void run_handler(const lg_route *r, lg_http_req *req, lg_http_reply *rep)
{
    rep->status = 500;
    r->handler(req, rep);
    LG_ASSERT(rep->body != NULL || rep->stream != NULL);
}

/* Route, role and declared size: the route to run, or NULL with rep filled. */
static const lg_route *admit(lg_api *a, lg_http_req *req, lg_http_reply *rep)
{
    int status;
    const lg_route *r = lg_route_find(req->method, req->path, req, &status, rep->allow, sizeof rep->allow);
    if (!r) {
        if (status == 405)
            lg_reply_error(rep, 405, "method %s is not allowed on %s (allowed: %s)", req->method, req->path,
                           rep->allow);
        else
            lg_reply_error(rep, 404, "no such endpoint: %s %s", req->method, req->path);
        return NULL;
    }
    if (a->auth) {
        const char *authz = lg_http_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
        req->role = lg_tokens_role(&a->tokens, authz);
        if (req->role < r->min_role) {
            if (req->role == LG_ROLE_NONE)
                lg_reply_error(rep, 401, "%s: send \"Authorization: Bearer TOKEN\" with a valid token",
                               authz ? "bad token" : "no token");
            else
                lg_reply_error(rep, 403, "%s %s needs role %s, the token has role %s", req->method, r->pattern,
                               lg_role_name(r->min_role), lg_role_name(req->role));
            return NULL;
        }
    } else {
        req->role = LG_ROLE_ADMIN;
    }
    const char *cl = lg_http_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoll(cl, NULL, 10) > a->cfg.max_body_bytes) {
        lg_reply_error(rep, 413, "request body of %s bytes is over the limit of %lld bytes", cl,
                       (long long)a->cfg.max_body_bytes);
        return NULL;
    }
    return r;
}

static bool has_body(const lg_http_req *req)
{
    const char *cl = lg_http_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = lg_http_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    return (cl && strtoll(cl, NULL, 10) > 0) || (te && strcasestr(te, "chunked"));
}

/* Appends received bytes, or drops them once the body is over the limit. */
static void take_upload(lg_api *a, conn_state *st, const char *data, size_t n)
{
    if (st->too_large) return;
    if ((int64_t)(st->len + n) > a->cfg.max_body_bytes) {
        st->too_large = true;
        free(st->body);
        st->body = NULL;
        st->len = st->cap = 0;
        return;
    }
    if (st->len + n + 1 > st->cap) {
        size_t cap = st->cap ? st->cap : 4096;
        while (cap < st->len + n + 1) cap *= 2;
        char *b = realloc(st->body, cap);
        LG_ASSERT(b != NULL);
        st->body = b;
        st->cap = cap;
    }
    memcpy(st->body + st->len, data, n);
    st->len += n;
    st->body[st->len] = '\0';
}

static void waits_end(lg_api *a)
{
    pthread_mutex_lock(&a->waits_lock);
    if (--a->n_waits == 0) pthread_cond_broadcast(&a->waits_done);
    pthread_mutex_unlock(&a->waits_lock);
}

/* Waiter threads: each takes suspended requests from the queue and runs their (blocking)
 * handlers. Threads are kept for WAITER_IDLE_S after their last request, so a steady
 * stream of long-polls costs no thread starts; more start when every one is busy. */
#define WAITER_IDLE_S 10

static void *waiter_thread(void *arg)
{
    lg_api *a = arg;
    pthread_mutex_lock(&a->waits_lock);
    for (;;) {
        while (!a->wait_queue && !atomic_load(&a->stopping)) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += WAITER_IDLE_S;
            a->idle_waiters++;
            int rc = pthread_cond_timedwait(&a->waiter_cv, &a->waits_lock, &until);
            a->idle_waiters--;
            if (rc == ETIMEDOUT && !a->wait_queue) break;
        }
        conn_state *st = a->wait_queue;
        if (!st) break; /* idle too long, or stopping with nothing queued */
        a->wait_queue = st->next_wait;
        a->n_queued--;
        pthread_mutex_unlock(&a->waits_lock);
        run_handler(st->route, &st->req, &st->rep);
        st->ready = true;
        MHD_resume_connection(st->req.conn); /* st belongs to the connection's thread again */
        waits_end(a);
        pthread_mutex_lock(&a->waits_lock);
    }
    if (--a->n_waiters == 0) pthread_cond_broadcast(&a->waits_done);
    pthread_mutex_unlock(&a->waits_lock);
    return NULL;
}

/* Queues a suspended request for a waiter thread, starting one if none is idle. */
static int queue_wait(lg_api *a, conn_state *st)
{
    pthread_mutex_lock(&a->waits_lock);
    st->next_wait = NULL;
    conn_state **tail = &a->wait_queue;
    while (*tail) tail = &(*tail)->next_wait;
    *tail = st;
    a->n_queued++;
    int rc = 0;
    /* Every queued request needs a thread of its own: a long-poll may block for long. */
    if (a->n_queued <= a->idle_waiters) {
        pthread_cond_signal(&a->waiter_cv);
    } else {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 512 << 10);
        pthread_t th;
        rc = pthread_create(&th, &attr, waiter_thread, a);
        pthread_attr_destroy(&attr);
        if (rc == 0) {
            a->n_waiters++;
        } else {
            *tail = NULL;
            a->n_queued--;
        }
    }
    pthread_mutex_unlock(&a->waits_lock);
    return rc;
}

/* Runs a handler that may block on a thread of its own while the connection is
 * suspended, so the server's threads keep serving everyone else. */
static enum MHD_Result start_wait(lg_api *a, struct MHD_Connection *conn, conn_state *st)
{
    pthread_mutex_lock(&a->waits_lock);
    bool stopping = atomic_load(&a->stopping);
    if (!stopping) a->n_waits++;
    pthread_mutex_unlock(&a->waits_lock);
    if (stopping) {
        lg_reply_error(&st->rep, 503, "the API is stopping");
        enum MHD_Result ret = send_reply(conn, &st->rep);
        st->rep.body = NULL;
        return ret;
    }
    st->req.conn = conn;
    MHD_suspend_connection(conn);
    if (queue_wait(a, st) != 0) {
        lg_reply_error(&st->rep, 503, "the API is out of threads for waiting requests");
        st->ready = true;
        MHD_resume_connection(conn);
        waits_end(a);
    }
    return MHD_YES;
}

/* A request without a body is handled on libmicrohttpd's second call: answering on the
 * first one would close the keep-alive connection. This marks it in between. */
static char no_body;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    lg_api *a = cls;
    conn_state *st = *con_cls;
    lg_http_reply rep = {0};
    lg_http_req req = {.api = a, .conn = conn, .method = method, .path = url};
    if (!st && !has_body(&req)) {
        *con_cls = &no_body;
        return MHD_YES;
    }
    if (!st || *con_cls == &no_body) {
        bool body = *con_cls != &no_body;
        const lg_route *r = admit(a, &req, &rep);
        if (!r) return send_reply(conn, &rep); /* with a body pending: answered before it */
        if (!body && !r->waits) {
            run_handler(r, &req, &rep);
            return send_reply(conn, &rep);
        }
        st = calloc(1, sizeof *st);
        if (!st) return MHD_NO;
        st->api = a;
        st->route = r;
        st->req = req;
        *con_cls = st;
        return body ? MHD_YES : start_wait(a, conn, st);
    }
    if (st->ready) {
        st->ready = false;
        enum MHD_Result ret = send_reply(conn, &st->rep);
        st->rep.body = NULL;
        return ret;
    }
    if (*upload_data_size) {
        take_upload(a, st, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->too_large) {
        lg_reply_error(&rep, 413, "request body is over the limit of %lld bytes", (long long)a->cfg.max_body_bytes);
        return send_reply(conn, &rep);
    }
    st->req.conn = conn;
    st->req.body = st->body;
    st->req.body_len = st->len;
    if (st->route->waits) return start_wait(a, conn, st);
    run_handler(st->route, &st->req, &rep);
    return send_reply(conn, &rep);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode tc)
{
    conn_state *st = *con_cls;
    if (!st || *con_cls == &no_body) return;
    free(st->body);
    free(st->rep.body);
    free(st);
    *con_cls = NULL;
}

void lg_api_config_defaults(lg_api_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->bind_host = "127.0.0.1";
    cfg->port = 8000;
    cfg->max_body_bytes = 64ll << 20;
    long cores = sysconf(_SC_NPROCESSORS_ONLN); /* one HTTP thread per core: fewer switches */
    cfg->threads = cores < 2 ? 2 : cores > 8 ? 8 : (int)cores;
}

static bool loopback(const char *host)
{
    return strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 || strncmp(host, "127.", 4) == 0;
}

int lg_api_task_wait(lg_api *a, const char *id, double timeout_s, lg_task *out, bool *final)
{
    double deadline = lg_now() + timeout_s;
    for (;;) {
        double left = deadline - lg_now();
        double slice = left < 0.25 ? left : 0.25;
        int rc = lg_coord_task_wait(a->coord, id, slice > 0 ? slice : 0, out, final);
        if (rc != LG_OK || *final || left <= 0.25 || atomic_load(&a->stopping)) return rc;
        lg_task_clear(out);
    }
}

/* Starts libmicrohttpd on the configured address. */
static int start_daemon(lg_api *a)
{
    unsigned flags = (a->tls_cert ? MHD_USE_TLS : 0) | MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    const char *host = strcmp(a->bind_host, "localhost") == 0 ? "127.0.0.1" : a->bind_host;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)a->cfg.port);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)a->cfg.port);
        flags |= MHD_USE_IPv6;
    } else {
        return lg_error(LG_E_INVALID_ARG, "API bind host '%s' is not an IPv4 or IPv6 address", a->bind_host);
    }
    struct MHD_OptionItem tls[] = { /* an empty list for plain http */
        { a->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, a->tls_cert },
        { MHD_OPTION_HTTPS_MEM_KEY, 0, a->tls_key },
        { MHD_OPTION_END, 0, NULL },
    };
    a->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, a, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, a, MHD_OPTION_CONNECTION_TIMEOUT,
                                 (unsigned)120, MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
                                 MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(a->cfg.threads > 0 ? a->cfg.threads : 4),
                                 MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (!a->daemon && a->tls_cert)
        return lg_error(LG_E_IO,
                        "cannot serve https on %s port %d: the port is in use, or the certificate '%s' and key "
                        "'%s' are not a matching PEM certificate and private key",
                        a->bind_host, a->cfg.port, a->cfg.tls_cert_file, a->cfg.tls_key_file);
    if (!a->daemon)
        return lg_error(LG_E_IO, "cannot listen on %s port %d (in use, or not an address of this machine)",
                        a->bind_host, a->cfg.port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->daemon, MHD_DAEMON_INFO_BIND_PORT);
    a->port = info ? info->port : a->cfg.port;
    snprintf(a->url, sizeof a->url, (flags & MHD_USE_IPv6) ? "%s://[%s]:%d" : "%s://%s:%d",
             a->tls_cert ? "https" : "http", host, a->port);
    return LG_OK;
}

int lg_api_start(lg_coord *c, const lg_api_config *cfg, lg_api **out)
{
    *out = NULL;
    lg_api *a = calloc(1, sizeof *a);
    if (!a) return lg_error(LG_E_NOMEM, "out of memory starting the API");
    a->coord = c;
    a->cfg = *cfg;
    snprintf(a->bind_host, sizeof a->bind_host, "%s", cfg->bind_host ? cfg->bind_host : "127.0.0.1");
    if (a->cfg.max_body_bytes <= 0) a->cfg.max_body_bytes = 64ll << 20;
    pthread_mutex_init(&a->models_lock, NULL);
    pthread_mutex_init(&a->waits_lock, NULL);
    pthread_cond_init(&a->waits_done, NULL);
    pthread_cond_init(&a->waiter_cv, NULL);
    int rc = LG_OK;
    if (cfg->tokens_file) {
        rc = lg_tokens_load(cfg->tokens_file, &a->tokens);
        a->auth = rc == LG_OK;
    } else if (!loopback(a->bind_host)) {
        rc = lg_error(LG_E_INVALID_ARG,
                      "API bind host '%s' is not loopback: without a tokens file (--tokens FILE) the API listens on "
                      "127.0.0.1 only",
                      a->bind_host);
    }
    const char *models = lg_coord_get_config(c)->models_dir;
    if (rc == LG_OK && models && lg_repo_open(models, &a->repo) != LG_OK) a->repo = NULL;
    if (rc == LG_OK) rc = lg_api_tls_load(a);
    if (rc == LG_OK) rc = lg_event_hub_start(a);
    if (rc == LG_OK) rc = start_daemon(a);
    if (rc != LG_OK) {
        lg_api_stop(a);
        return rc;
    }
    if (!a->auth)
        fprintf(stderr, "legacygpu api: no tokens file: listening on %s only, without authentication\n", a->url);
    else if (!a->tls_cert && !loopback(a->bind_host))
        fprintf(stderr, "legacygpu api: %s without TLS: tokens and data cross the network in clear "
                        "(--tls-cert and --tls-key serve https)\n", a->url);
    *out = a;
    return LG_OK;
}

const char *lg_api_url(const lg_api *a)
{
    return a->url;
}

int lg_api_port(const lg_api *a)
{
    return a->port;
}

void lg_api_stop(lg_api *a)
{
    if (!a) return;
    lg_event_hub_stop(a); /* event followers end before the daemon stops */
    pthread_mutex_lock(&a->waits_lock);
    atomic_store(&a->stopping, true);
    pthread_cond_broadcast(&a->waiter_cv);
    while (a->n_waits > 0 || a->n_waiters > 0) pthread_cond_wait(&a->waits_done, &a->waits_lock);
    pthread_mutex_unlock(&a->waits_lock);
    if (a->daemon) {
        /* Accept nothing new, give replies under way (the shutdown request's own) up to a
         * second to go out, then stop. */
        MHD_socket listen_fd = MHD_quiesce_daemon(a->daemon);
        struct timespec t0, t, pause = { 0, 5 * 1000 * 1000 };
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
            const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
            clock_gettime(CLOCK_MONOTONIC, &t);
            double waited = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
            if (!info || info->num_connections == 0 || waited > 1.0) break;
            nanosleep(&pause, NULL);
        }
        MHD_stop_daemon(a->daemon);
        if (listen_fd != MHD_INVALID_SOCKET) close(listen_fd);
    }
    lg_event_hub_free(a);
    lg_tokens_free(&a->tokens);
    lg_api_tls_free(a);
    lg_api_models_free(a);
    if (a->repo) lg_repo_free(a->repo);
    pthread_mutex_destroy(&a->models_lock);
    pthread_mutex_destroy(&a->waits_lock);
    pthread_cond_destroy(&a->waits_done);
    pthread_cond_destroy(&a->waiter_cv);
    free(a);
}
