/*
 * events_hub.h: what the event followers share (events_hub.c): the bus, the list of
 * Server-Sent Events followers whose connections are suspended while they are caught
 * up, and the WebSocket followers' threads. One notifier thread sleeps on the bus and,
 * when something is published (or once a second, for keep-alives), resumes the
 * suspended SSE connections and pokes the WebSocket threads. Publishing itself never
 * touches a connection.
 */
#ifndef LG_API_EVENTS_HUB_H
#define LG_API_EVENTS_HUB_H

#include <pthread.h>

#include "api/api_internal.h"
#include "api/events.h"

struct MHD_Connection;

typedef struct lg_sse_follower {
    lg_http_stream stream;       /* first: the reply's stream */
    struct lg_event_hub *hub;
    struct MHD_Connection *conn;
    lg_event_cursor cur;
    bool suspended;              /* under hub->mu */
    bool ended, started;
    double last_write;           /* monotonic seconds */
    char out[LG_EVENTS_DATA_MAX + 256]; /* the frame being sent */
    size_t out_len, out_pos;
    struct lg_sse_follower *prev, *next;
} lg_sse_follower;

typedef struct lg_ws_follower {
    lg_http_stream stream;       /* first: the reply's stream */
    struct lg_event_hub *hub;
    lg_event_cursor cur;
    char accept[32];             /* Sec-WebSocket-Accept */
    int wake_fd;                 /* eventfd the notifier writes to */
    struct lg_ws_follower *prev, *next;
} lg_ws_follower;

typedef struct lg_event_hub {
    lg_coord *coord;
    lg_events *bus;
    pthread_mutex_t mu;          /* the lists and every follower's suspended flag */
    pthread_cond_t ws_done;
    lg_sse_follower *sse;
    lg_ws_follower *ws;
    int n_ws_threads;
    pthread_t notifier;
    bool notifier_started, stopped;
} lg_event_hub;

double lg_mono_now(void);
/* A follower's cursor from the request: Last-Event-ID (header, or ?last_event_id=),
 * ?types= and ?model=. false with a 400 reply on a bad filter. */
bool lg_events_request_cursor(lg_http_req *req, lg_http_reply *rep, lg_event_cursor *cur);

/* SSE (events_sse.c) and WebSocket (events_ws.c) replies for a request. */
void lg_sse_reply(lg_http_req *req, lg_http_reply *rep, const lg_event_cursor *cur);
void lg_ws_reply(lg_http_req *req, lg_http_reply *rep, const lg_event_cursor *cur);
/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (ws_accept.c); false on a bad key. */
bool lg_ws_accept(const char *key, char out[29]);
/* Registering and unregistering WebSocket threads (events_hub.c). */
void lg_hub_ws_add(lg_event_hub *h, lg_ws_follower *f);
void lg_hub_ws_remove(lg_event_hub *h, lg_ws_follower *f);

#endif
