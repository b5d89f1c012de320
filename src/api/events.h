/*
 * events.h: the cluster's event bus and its followers. The coordinator tells the bus
 * about every task state change, worker join, leave, death and status change, strategy
 * change and drain (lg_coord_set_observer); the bus keeps the last events in a bounded
 * ring with ids that only grow. Publishing takes one short mutex and does no I/O, so it
 * never slows the coordinator.
 *
 * Followers (GET /cluster/events as Server-Sent Events or WebSocket) each hold a cursor
 * into the ring: reading copies events out, so a follower costs the publisher nothing.
 * A follower more than LG_EVENTS_CLIENT_MAX events behind is dropped (a final "dropped"
 * event); one resuming (Last-Event-ID) from an id the ring no longer holds gets a
 * "resync" event and continues from the newest events.
 *
 * events_bus.c: the ring, publishing, cursors and filters
 * events_json.c: the coordinator observer that turns its events into JSON on the bus
 * events_stats.c: per-10-second throughput and latency buckets for the last 15 minutes
 * events_sse.c, events_ws.c: the two wire formats; events_route.c: the HTTP side
 */
#ifndef LG_API_EVENTS_H
#define LG_API_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/coordinator.h"

#define LG_EVENTS_RING 8192        /* events kept for Last-Event-ID */
#define LG_EVENTS_CLIENT_MAX 4096  /* a follower further behind is dropped */
#define LG_EVENTS_DATA_MAX 4096    /* bytes of one event's JSON at most */
#define LG_EVENTS_KEEPALIVE_S 15.0

typedef enum lg_event_type {
    LG_EVT_TASK = 1 << 0,
    LG_EVT_WORKER = 1 << 1,
    LG_EVT_STRATEGY = 1 << 2,
    LG_EVT_DRAIN = 1 << 3,
    LG_EVT_ALL = 0xf
} lg_event_type;

typedef struct lg_events lg_events;

/* What a follower wants and where it is. */
typedef struct lg_event_cursor {
    uint64_t next;         /* id of the next event to send */
    unsigned types;        /* lg_event_type bits */
    char model[64];        /* "" all models */
    bool resume_checked;   /* the first read has been checked against the ring */
} lg_event_cursor;

/* The result of one take. */
typedef enum lg_take {
    LG_TAKE_NONE = 0,      /* nothing new for this cursor */
    LG_TAKE_EVENT,         /* an event: id, type name and JSON */
    LG_TAKE_RESYNC,        /* resumed from an id the ring lost: JSON says which; go on */
    LG_TAKE_DROPPED,       /* too far behind: JSON says why; end the stream */
    LG_TAKE_STOPPED        /* the server stops: end the stream */
} lg_take;

int lg_events_create(lg_events **out);
void lg_events_destroy(lg_events *ev);
/* The coordinator observer (arg: the bus). */
void lg_events_observe(void *arg, const lg_coord_event *e);
/* Publishes data (JSON text, copied) of a type about model (or NULL); returns its id. */
uint64_t lg_events_publish(lg_events *ev, lg_event_type type, const char *model, const char *data, size_t len);
/* The id the next event will get. */
uint64_t lg_events_next_id(lg_events *ev);
/* Starts a cursor: after_id is the Last-Event-ID (or -1 for "only new events"). */
void lg_events_cursor_init(lg_events *ev, lg_event_cursor *cur, int64_t after_id, unsigned types, const char *model);
/* Takes the next event for cur into buf (cap bytes, NUL-terminated). */
lg_take lg_events_take(lg_events *ev, lg_event_cursor *cur, char *buf, size_t cap, uint64_t *id, const char **type);
/* True when an event waits for cur (cheap). */
bool lg_events_pending(lg_events *ev, const lg_event_cursor *cur);
/* Parses "task,worker" into type bits; false on an unknown name (named in bad). */
bool lg_events_parse_types(const char *list, unsigned *out, char *bad, size_t bad_len);
const char *lg_event_type_name(lg_event_type t);

/* Waiting for news: blocks until an event newer than seen is published, the server
 * stops or timeout_s passes; returns the next id. */
uint64_t lg_events_wait(lg_events *ev, uint64_t seen, double timeout_s);
/* Wakes every waiter for good: followers end. */
void lg_events_stop(lg_events *ev);
bool lg_events_stopping(lg_events *ev);

/* ---- recent statistics (events_stats.c) ---------------------------------------------- */

#define LG_RECENT_BUCKET_S 10
#define LG_RECENT_BUCKETS 90       /* 15 minutes */

typedef struct lg_recent lg_recent;

lg_recent *lg_recent_create(void);
void lg_recent_destroy(lg_recent *r);
/* Records a finished task (the bus calls it from the observer). */
void lg_recent_add(lg_recent *r, double finished_at, double latency_s, bool ok);
/* The last 15 minutes as a JSON object text (malloc'd): per 10-second bucket its start
 * time, tasks/s, failures and latency p50/p90/p99 (seconds, null without tasks). */
char *lg_recent_json(lg_recent *r, double now, size_t *len);
/* The bus's statistics. */
lg_recent *lg_events_recent(lg_events *ev);

#endif
