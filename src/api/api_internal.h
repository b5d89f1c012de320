/*
 * api_internal.h: what the parts of the REST API share: the server handle, one request
 * and its reply as handlers see them, the route table (routes.c) and the handlers it
 * names (routes_*.c, metrics.c, openapi.c), bearer-token roles (auth.c) and the small
 * HTTP and JSON helpers (http_util.c). Handlers never touch libmicrohttpd directly.
 */
#ifndef LG_API_INTERNAL_H
#define LG_API_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/api.h"
#include "legacygpu/repository.h"

struct MHD_Connection;
struct MHD_Daemon;

/* ---- roles and tokens (auth.c) ------------------------------------------------------- */

typedef enum lg_role { LG_ROLE_NONE = 0, LG_ROLE_USER = 1, LG_ROLE_ADMIN = 2 } lg_role;

typedef struct lg_token {
    char *token;
    lg_role role;
} lg_token;

typedef struct lg_tokens {
    int n;
    lg_token *v;
} lg_tokens;

/* Reads "TOKEN ROLE" lines (role user|admin; '#' comments, blank lines). LG_E_IO or
 * LG_E_PARSE naming the file and line. */
int lg_tokens_load(const char *path, lg_tokens *out);
void lg_tokens_free(lg_tokens *t);
/* The role an "Authorization" header value grants (LG_ROLE_NONE: missing or unknown). */
lg_role lg_tokens_role(const lg_tokens *t, const char *authorization);
const char *lg_role_name(lg_role r);

/* ---- the server -------------------------------------------------------------------- */

typedef struct lg_model_meta_entry {
    char name[64];
    char *json;                  /* KServe v2 model metadata text */
    json_t *inputs;              /* its "inputs" list, parsed once (read-only, shared) */
} lg_model_meta_entry;

struct lg_api {
    lg_coord *coord;
    lg_api_config cfg;
    char bind_host[64];
    struct MHD_Daemon *daemon;
    char *tls_cert, *tls_key;    /* PEM text when serving https (tls.c), else NULL */
    int port;
    char url[96];
    bool auth;                   /* a tokens file was given */
    atomic_bool stopping;        /* lg_api_stop began: long-polls return */
    pthread_mutex_t waits_lock;  /* counts the threads of waiting requests */
    pthread_cond_t waits_done;
    int n_waits;                 /* requests waiting (queued or on a waiter thread) */
    pthread_cond_t waiter_cv;    /* idle waiter threads sleep here */
    struct conn_state *wait_queue; /* suspended requests not yet taken by a waiter */
    int n_queued;                /* length of wait_queue */
    int n_waiters, idle_waiters; /* waiter threads alive / idle */
    lg_tokens tokens;
    /* The coordinator's model repository (NULL without models_dir) and the metadata
     * built from it, under lock. */
    pthread_mutex_t models_lock;
    lg_repo *repo;
    int n_meta;
    lg_model_meta_entry *meta;
    struct lg_event_hub *hub;    /* the event bus and its followers (events_hub.c) */
};

/* ---- one request and its reply ------------------------------------------------------ */

#define LG_API_MAX_PARAMS 2

typedef struct lg_http_req {
    lg_api *api;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    char params[LG_API_MAX_PARAMS][128]; /* path captures ({id}, {name}) in order */
    const char *body;            /* NUL-terminated, or NULL without a body */
    size_t body_len;
    lg_role role;
} lg_http_req;

/* A reply that streams (events_sse.c, events_ws.c) instead of sending a body: respond
 * makes libmicrohttpd's response and its status; on failure it frees the stream and
 * returns NULL. Stream objects start with this struct. */
struct MHD_Response;
typedef struct lg_http_stream {
    struct MHD_Response *(*respond)(struct lg_http_stream *s, unsigned *status);
} lg_http_stream;

typedef struct lg_http_reply {
    int status;
    char *body;                  /* malloc'd; the server frees it */
    size_t len;
    const char *content_type;
    char location[192];          /* Location header, "" none */
    char allow[64];              /* Allow header (405), "" none */
    lg_http_stream *stream;      /* set instead of body by streaming handlers */
    int retry_after;             /* Retry-After seconds on 503/507 (0: the default, 1) */
} lg_http_reply;

typedef void (*lg_http_handler)(lg_http_req *req, lg_http_reply *rep);

/* Reply helpers: each sets status, body and content type. The JSON one takes the
 * reference of obj. */
void lg_reply_json(lg_http_reply *rep, int status, json_t *obj);
void lg_reply_error(lg_http_reply *rep, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Maps a status code of the core to an HTTP status and replies with lg_last_error(). */
void lg_reply_status(lg_http_reply *rep, int rc);
void lg_reply_text(lg_http_reply *rep, int status, const char *content_type, char *text, size_t len);

/* Query-string argument or request header, NULL when absent. */
const char *lg_http_query(const lg_http_req *req, const char *key);
const char *lg_http_header(const lg_http_req *req, const char *key);
/* Parses the body as one JSON object; on failure replies 400 and returns NULL. */
json_t *lg_http_body_object(const lg_http_req *req, lg_http_reply *rep);
/* Reads a non-negative number from the query ("wait=2.5"); false (and a 400 reply) if
 * it is there but not such a number. *out keeps its value when absent. */
bool lg_http_query_number(const lg_http_req *req, lg_http_reply *rep, const char *key, double max, double *out);

/* Standard base64 (padding optional, whitespace skipped); malloc'd bytes, or NULL. */
uint8_t *lg_base64_decode(const char *s, size_t *out_len);
/* A JSON number, or null for 0 (unset times). */
json_t *lg_json_time(double t);

/* ---- routes (routes.c) ------------------------------------------------------------- */

typedef struct lg_route {
    const char *method;
    const char *pattern;         /* "/cluster/tasks/{id}/status" */
    lg_role min_role;
    lg_http_handler handler;
    /* For /openapi.json: */
    const char *summary;
    const char *tag;
    const char *query;           /* query parameters, "status,limit,cursor", or NULL */
    const char *body_types;      /* request media types, "application/json,image/png", or NULL */
    const char *responses;       /* status codes answered, "200,404" */
    bool waits;                  /* may block (long-poll): runs on a thread of its own */
} lg_route;

extern const lg_route lg_api_routes[];
extern const int lg_api_n_routes;

/* Finds the route for method and path, filling req->params. NULL when none: *status is
 * 404 (no such path) or 405 (the path exists for other methods, listed in allow). */
const lg_route *lg_route_find(const char *method, const char *path, lg_http_req *req, int *status, char *allow,
                              size_t allow_len);

/* ---- handlers ------------------------------------------------------------------------ */

void lg_h_health(lg_http_req *req, lg_http_reply *rep);
void lg_h_cluster_metrics(lg_http_req *req, lg_http_reply *rep);
void lg_h_config(lg_http_req *req, lg_http_reply *rep);
void lg_h_balancing(lg_http_req *req, lg_http_reply *rep);
void lg_h_workers(lg_http_req *req, lg_http_reply *rep);
void lg_h_worker(lg_http_req *req, lg_http_reply *rep);
void lg_h_shutdown(lg_http_req *req, lg_http_reply *rep);

void lg_h_task_submit(lg_http_req *req, lg_http_reply *rep);
void lg_h_task_status(lg_http_req *req, lg_http_reply *rep);
void lg_h_task_result(lg_http_req *req, lg_http_reply *rep);
void lg_h_task_list(lg_http_req *req, lg_http_reply *rep);
void lg_h_task_cancel(lg_http_req *req, lg_http_reply *rep);

void lg_h_v2_server(lg_http_req *req, lg_http_reply *rep);
void lg_h_v2_live(lg_http_req *req, lg_http_reply *rep);
void lg_h_v2_ready(lg_http_req *req, lg_http_reply *rep);
void lg_h_v2_model(lg_http_req *req, lg_http_reply *rep);
void lg_h_v2_model_ready(lg_http_req *req, lg_http_reply *rep);
void lg_h_v2_infer(lg_http_req *req, lg_http_reply *rep);

void lg_h_prometheus(lg_http_req *req, lg_http_reply *rep);

void lg_h_events(lg_http_req *req, lg_http_reply *rep);
void lg_h_stats_recent(lg_http_req *req, lg_http_reply *rep);
void lg_h_worker_drain(lg_http_req *req, lg_http_reply *rep);
void lg_h_dashboard(lg_http_req *req, lg_http_reply *rep);
void lg_h_asset(lg_http_req *req, lg_http_reply *rep);
void lg_h_openapi(lg_http_req *req, lg_http_reply *rep);

/* Shared by task and KServe routes: the status body of a task. */
json_t *lg_task_status_json(const lg_task *t);
/* Workers that could take work now (alive and not draining). */
int lg_api_ready_workers(lg_api *a);
/* lg_coord_task_wait in slices, returning early when the server stops. */
int lg_api_task_wait(lg_api *a, const char *id, double timeout_s, lg_task *out, bool *final);
/* The event hub (events_hub.c): started with the API (before the daemon), stopped
 * before the daemon stops (followers end, WebSocket threads finish), freed after. */
int lg_event_hub_start(lg_api *a);
void lg_event_hub_stop(lg_api *a);
void lg_event_hub_free(lg_api *a);
/* TLS (tls.c): reads cfg.tls_cert_file and cfg.tls_key_file into tls_cert and tls_key
 * (nothing when neither is set); one clear error for a missing, unreadable or non-PEM
 * file, or for one without the other. lg_api_tls_free wipes and frees them. */
int lg_api_tls_load(lg_api *a);
void lg_api_tls_free(lg_api *a);
/* The KServe v2 metadata text of a repository model (malloc'd), built on first use;
 * LG_E_NOT_FOUND when the repository lacks it. With inputs non-NULL, *inputs receives a
 * new reference to its parsed "inputs" list instead, and *out is left alone. */
int lg_api_model_meta(lg_api *a, const char *name, char **out, json_t **inputs);
/* The checks at the door (door.c): false, with a 404 or 400 reply, when the model is
 * unknown or the input cannot match its declared inputs. doc: the request's tensors
 * already parsed (a KServe object with "inputs", or the list itself), or NULL to read
 * them from input. */
bool lg_api_door(lg_api *a, const char *model, lg_input_kind kind, const uint8_t *input, size_t len, json_t *doc,
                 lg_http_reply *rep);
/* Frees the model metadata cache (server.c at stop). */
void lg_api_models_free(lg_api *a);

#endif
