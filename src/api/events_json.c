/*
 * events_json.c: the coordinator observer: each coordinator event becomes one JSON
 * object on the bus (formatted into a stack buffer, no allocation, no I/O: it runs
 * under the coordinator's mutex), and finished tasks feed the recent statistics.
 *
 *   task:     {"type":"task","action":"completed","time":..,"task_id":..,"model":..,
 *              "state":..,"priority":..,"worker_id":..,"attempts":..,"created_at":..,
 *              "started_at":..,"finished_at":..,"queue_s":..,"run_s":..,"error":..}
 *   worker:   {"type":"worker","action":"joined","time":..,"worker_id":..,"host":..,
 *              "status":..,"in_flight":..,"capacity":..,"completed":..,"failed":..}
 *   strategy: {"type":"strategy","action":"changed","strategy":..,"previous":..}
 *   drain:    {"type":"drain","action":"started"}
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/events.h"
#include "base/error.h"

typedef struct out {
    char *buf;
    size_t len, cap;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...)
{
    if (o->len >= o->cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    o->len = n < 0 ? o->cap : o->len + (size_t)n;
}

/* A JSON string of at most max bytes of s (escaped; control bytes as \u00XX). */
static void put_str(out *o, const char *s, size_t max)
{
    put(o, "\"");
    for (size_t i = 0; s && s[i] && i < max && o->len + 8 < o->cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') put(o, "\\%c", ch);
        else if (ch == '\n') put(o, "\\n");
        else if (ch < 0x20) put(o, "\\u%04x", ch);
        else o->buf[o->len++] = (char)ch;
    }
    put(o, "\"");
}

static void put_time(out *o, const char *key, double t)
{
    if (t > 0) put(o, ",\"%s\":%.6f", key, t);
    else put(o, ",\"%s\":null", key);
}

static void task_event(out *o, const char *action, const lg_task *t)
{
    char act[24]; /* final states come as the state's name: "COMPLETED" -> "completed" */
    size_t i = 0;
    for (; action[i] && i < sizeof act - 1; i++) act[i] = (char)tolower((unsigned char)action[i]);
    act[i] = '\0';
    put(o, "{\"type\":\"task\",\"action\":\"%s\",\"time\":%.6f,\"task_id\":\"%s\",\"model\":", act, lg_now(), t->id);
    put_str(o, t->model, 255);
    put(o, ",\"state\":\"%s\",\"priority\":\"%s\",\"worker_id\":", lg_task_state_name(t->state),
        lg_priority_name(t->priority));
    put_str(o, t->worker_id, sizeof t->worker_id);
    put(o, ",\"attempts\":%d", t->attempts);
    put_time(o, "created_at", t->created_at);
    put_time(o, "started_at", t->started_at);
    put_time(o, "finished_at", t->finished_at);
    put_time(o, "queue_s", t->started_at > 0 ? t->started_at - t->created_at : 0);
    put_time(o, "run_s", t->started_at > 0 && t->finished_at > 0 ? t->finished_at - t->started_at : 0);
    put(o, ",\"error\":");
    if (t->error) put_str(o, t->error, 400);
    else put(o, "null");
    put(o, "}");
}

static void worker_event(out *o, const char *action, const lg_worker_view *w)
{
    put(o, "{\"type\":\"worker\",\"action\":\"%s\",\"time\":%.6f,\"worker_id\":", action, lg_now());
    put_str(o, w->info.id, sizeof w->info.id);
    put(o, ",\"host\":");
    put_str(o, w->info.host, sizeof w->info.host);
    put(o, ",\"status\":\"%s\",\"in_flight\":%d,\"capacity\":%d,\"completed\":%lld,\"failed\":%lld}",
        lg_worker_status_name(w->status), w->in_flight, w->info.capacity, (long long)w->completed,
        (long long)w->failed);
}

void lg_events_observe(void *arg, const lg_coord_event *e)
{
    lg_events *ev = arg;
    char buf[LG_EVENTS_DATA_MAX - 1];
    out o = {buf, 0, sizeof buf};
    lg_event_type type = LG_EVT_DRAIN;
    const char *model = NULL;
    switch (e->kind) {
    case LG_EV_TASK:
        type = LG_EVT_TASK;
        model = e->task->model;
        task_event(&o, e->action, e->task);
        if (lg_task_state_final(e->task->state) && e->task->state != LG_TASK_CANCELLED)
            lg_recent_add(lg_events_recent(ev), e->task->finished_at, e->task->finished_at - e->task->created_at,
                          e->task->state == LG_TASK_COMPLETED);
        break;
    case LG_EV_WORKER:
        type = LG_EVT_WORKER;
        worker_event(&o, e->action, e->worker);
        break;
    case LG_EV_STRATEGY:
        type = LG_EVT_STRATEGY;
        put(&o, "{\"type\":\"strategy\",\"action\":\"%s\",\"time\":%.6f,\"strategy\":\"%s\",\"previous\":\"%s\"}",
            e->action, lg_now(), lg_strategy_name(e->strategy), lg_strategy_name(e->previous));
        break;
    case LG_EV_DRAIN:
        put(&o, "{\"type\":\"drain\",\"action\":\"%s\",\"time\":%.6f}", e->action, lg_now());
        break;
    }
    if (o.len >= o.cap) return; /* cannot happen with the bounds above; never publish a cut object */
    lg_events_publish(ev, type, model, buf, o.len);
}
