/*
 * events_bus.c: the event ring: publishing (one short mutex, a copy, no I/O), cursors
 * that read it with a type and model filter, resync and drop decisions, and waiting for
 * news (a condition variable the followers' notifier sleeps on).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/events.h"
#include "base/error.h"

typedef struct slot {
    uint64_t id;               /* 0: empty */
    lg_event_type type;
    char model[64];
    char *data;
    size_t len, cap;
} slot;

struct lg_events {
    pthread_mutex_t mu;
    pthread_cond_t news;       /* CLOCK_MONOTONIC */
    slot ring[LG_EVENTS_RING];
    uint64_t next_id;          /* the id the next event gets; ids start at 1 */
    bool stopping;
    lg_recent *recent;
};

static const struct {
    lg_event_type type;
    const char *name;
} type_names[] = {
    {LG_EVT_TASK, "task"},
    {LG_EVT_WORKER, "worker"},
    {LG_EVT_STRATEGY, "strategy"},
    {LG_EVT_DRAIN, "drain"},
};
#define N_TYPES ((int)(sizeof type_names / sizeof type_names[0]))

const char *lg_event_type_name(lg_event_type t)
{
    for (int i = 0; i < N_TYPES; i++)
        if (type_names[i].type == t) return type_names[i].name;
    return "unknown";
}

bool lg_events_parse_types(const char *list, unsigned *out, char *bad, size_t bad_len)
{
    *out = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        bool known = n == 0;
        for (int i = 0; i < N_TYPES && !known; i++)
            if (strlen(type_names[i].name) == n && strncmp(p, type_names[i].name, n) == 0) {
                *out |= (unsigned)type_names[i].type;
                known = true;
            }
        if (!known) {
            snprintf(bad, bad_len, "%.*s", (int)(n < 32 ? n : 32), p);
            return false;
        }
        p += n + (p[n] == ',');
    }
    if (*out == 0) *out = LG_EVT_ALL;
    return true;
}

int lg_events_create(lg_events **out)
{
    lg_events *ev = calloc(1, sizeof *ev);
    if (!ev) return lg_error(LG_E_NOMEM, "events: no memory for the ring of %d events", LG_EVENTS_RING);
    ev->recent = lg_recent_create();
    if (!ev->recent) {
        free(ev);
        return lg_error(LG_E_NOMEM, "events: no memory for the statistics");
    }
    pthread_mutex_init(&ev->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&ev->news, &attr);
    pthread_condattr_destroy(&attr);
    ev->next_id = 1;
    *out = ev;
    return LG_OK;
}

void lg_events_destroy(lg_events *ev)
{
    if (!ev) return;
    for (int i = 0; i < LG_EVENTS_RING; i++) free(ev->ring[i].data);
    lg_recent_destroy(ev->recent);
    pthread_mutex_destroy(&ev->mu);
    pthread_cond_destroy(&ev->news);
    free(ev);
}

lg_recent *lg_events_recent(lg_events *ev)
{
    return ev->recent;
}

uint64_t lg_events_publish(lg_events *ev, lg_event_type type, const char *model, const char *data, size_t len)
{
    LG_ASSERT(len < LG_EVENTS_DATA_MAX);
    pthread_mutex_lock(&ev->mu);
    uint64_t id = ev->next_id++;
    slot *s = &ev->ring[id % LG_EVENTS_RING];
    if (s->cap < len + 1) {
        /* Slots keep their buffer, so a full ring allocates nothing more. */
        char *d = realloc(s->data, len + 1 > 512 ? len + 1 : 512);
        if (!d) {
            s->id = 0; /* the event is lost, the cluster is not */
            pthread_mutex_unlock(&ev->mu);
            return id;
        }
        s->data = d;
        s->cap = len + 1 > 512 ? len + 1 : 512;
    }
    memcpy(s->data, data, len);
    s->data[len] = '\0';
    s->len = len;
    s->id = id;
    s->type = type;
    snprintf(s->model, sizeof s->model, "%s", model ? model : "");
    pthread_cond_broadcast(&ev->news);
    pthread_mutex_unlock(&ev->mu);
    return id;
}

uint64_t lg_events_next_id(lg_events *ev)
{
    pthread_mutex_lock(&ev->mu);
    uint64_t id = ev->next_id;
    pthread_mutex_unlock(&ev->mu);
    return id;
}

void lg_events_cursor_init(lg_events *ev, lg_event_cursor *cur, int64_t after_id, unsigned types, const char *model)
{
    memset(cur, 0, sizeof *cur);
    cur->types = types ? types : LG_EVT_ALL;
    snprintf(cur->model, sizeof cur->model, "%s", model ? model : "");
    uint64_t next = lg_events_next_id(ev);
    cur->next = after_id < 0 || (uint64_t)after_id >= next ? next : (uint64_t)after_id + 1;
    cur->resume_checked = after_id < 0;
}

/* Mutex held: the oldest id the ring still holds. */
static uint64_t oldest(const lg_events *ev)
{
    return ev->next_id > LG_EVENTS_RING ? ev->next_id - LG_EVENTS_RING : 1;
}

static bool wanted(const lg_event_cursor *cur, const slot *s)
{
    if (!((unsigned)s->type & cur->types)) return false;
    /* A model filter keeps task events of that model and every non-task event. */
    return !cur->model[0] || s->type != LG_EVT_TASK || strcmp(cur->model, s->model) == 0;
}

lg_take lg_events_take(lg_events *ev, lg_event_cursor *cur, char *buf, size_t cap, uint64_t *id, const char **type)
{
    LG_ASSERT(cap >= 256);
    pthread_mutex_lock(&ev->mu);
    lg_take r = LG_TAKE_NONE;
    uint64_t first = oldest(ev);
    if (ev->stopping) {
        r = LG_TAKE_STOPPED;
    } else if (!cur->resume_checked) {
        cur->resume_checked = true;
        if (cur->next < first) {
            snprintf(buf, cap,
                     "{\"reason\":\"event %" PRIu64 " is no longer kept (oldest %" PRIu64
                     "): reload the state and follow from here\",\"oldest\":%" PRIu64 ",\"next\":%" PRIu64 "}",
                     cur->next, first, first, ev->next_id);
            cur->next = ev->next_id;
            r = LG_TAKE_RESYNC;
        }
    } else if (cur->next < first || ev->next_id - cur->next > LG_EVENTS_CLIENT_MAX) {
        snprintf(buf, cap,
                 "{\"reason\":\"this follower is %" PRIu64 " events behind (limit %d): dropped so the cluster "
                 "never waits\"}",
                 ev->next_id - cur->next, LG_EVENTS_CLIENT_MAX);
        r = LG_TAKE_DROPPED;
    }
    while (r == LG_TAKE_NONE && cur->next < ev->next_id) {
        const slot *s = &ev->ring[cur->next % LG_EVENTS_RING];
        cur->next++;
        if (s->id != cur->next - 1 || !wanted(cur, s)) continue;
        LG_ASSERT(s->len < cap);
        memcpy(buf, s->data, s->len + 1);
        *id = s->id;
        *type = lg_event_type_name(s->type);
        r = LG_TAKE_EVENT;
    }
    pthread_mutex_unlock(&ev->mu);
    if (r == LG_TAKE_RESYNC) *type = "resync";
    if (r == LG_TAKE_DROPPED) *type = "dropped";
    return r;
}

bool lg_events_pending(lg_events *ev, const lg_event_cursor *cur)
{
    pthread_mutex_lock(&ev->mu);
    bool p = ev->stopping || !cur->resume_checked || cur->next < ev->next_id;
    pthread_mutex_unlock(&ev->mu);
    return p;
}

uint64_t lg_events_wait(lg_events *ev, uint64_t seen, double timeout_s)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    time_t whole = (time_t)timeout_s;
    until.tv_sec += whole;
    until.tv_nsec += (long)((timeout_s - (double)whole) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&ev->mu);
    while (ev->next_id == seen && !ev->stopping)
        if (pthread_cond_timedwait(&ev->news, &ev->mu, &until) == ETIMEDOUT) break;
    uint64_t id = ev->next_id;
    pthread_mutex_unlock(&ev->mu);
    return id;
}

void lg_events_stop(lg_events *ev)
{
    pthread_mutex_lock(&ev->mu);
    ev->stopping = true;
    pthread_cond_broadcast(&ev->news);
    pthread_mutex_unlock(&ev->mu);
}

bool lg_events_stopping(lg_events *ev)
{
    pthread_mutex_lock(&ev->mu);
    bool s = ev->stopping;
    pthread_mutex_unlock(&ev->mu);
    return s;
}
