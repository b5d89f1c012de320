/*
 * routes_cluster.c: the /cluster endpoints about the cluster itself: health, JSON
 * statistics, configuration and the balancing strategy, workers, and shutdown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "base/error.h"
#include "cluster/strategy.h"

int lg_api_ready_workers(lg_api *a)
{
    lg_coord_stats s;
    if (lg_coord_stats_get(a->coord, &s) != LG_OK || s.draining) return 0;
    return s.workers_by_status[LG_WORKER_IDLE] + s.workers_by_status[LG_WORKER_BUSY];
}

static int64_t queue_depth(const lg_coord_stats *s)
{
    int64_t n = 0;
    for (int p = 0; p < LG_PRIO_COUNT; p++) n += s->queued_by_priority[p];
    return n;
}

static int live_workers(const lg_coord_stats *s)
{
    return s->workers_by_status[LG_WORKER_IDLE] + s->workers_by_status[LG_WORKER_BUSY] +
           s->workers_by_status[LG_WORKER_DRAINING];
}

/* The hot path of load balancers and monitors: one formatted string, no JSON tree. */
void lg_h_health(lg_http_req *req, lg_http_reply *rep)
{
    lg_coord_stats s;
    int rc = lg_coord_stats_get(req->api->coord, &s);
    if (rc != LG_OK) {
        lg_reply_status(rep, rc);
        return;
    }
    if (s.store_degraded) { /* rare: a JSON tree for the reason's escaping */
        lg_reply_json(rep, 200,
                      json_pack("{s:s,s:s,s:i,s:I,s:f}", "status", "degraded", "reason", s.store_reason, "workers",
                                live_workers(&s), "queue_depth", (json_int_t)queue_depth(&s), "uptime_s", s.uptime_s));
        return;
    }
    char *text;
    int n = asprintf(&text, "{\"status\":\"%s\",\"workers\":%d,\"queue_depth\":%lld,\"uptime_s\":%.3f}",
                     s.draining ? "draining" : "healthy", live_workers(&s), (long long)queue_depth(&s), s.uptime_s);
    LG_ASSERT(n > 0);
    lg_reply_text(rep, 200, "application/json", text, (size_t)n);
}

void lg_h_cluster_metrics(lg_http_req *req, lg_http_reply *rep)
{
    lg_coord_stats s;
    int rc = lg_coord_stats_get(req->api->coord, &s);
    if (rc != LG_OK) {
        lg_reply_status(rep, rc);
        return;
    }
    json_t *tasks = json_object(), *queued = json_object(), *workers = json_object();
    for (int i = 0; i < LG_TASK_STATE_COUNT; i++)
        json_object_set_new(tasks, lg_task_state_name((lg_task_state)i), json_integer(s.tasks_by_state[i]));
    for (int i = 0; i < LG_PRIO_COUNT; i++)
        json_object_set_new(queued, lg_priority_name((lg_priority)i), json_integer(s.queued_by_priority[i]));
    for (int i = 0; i < LG_WORKER_STATUS_COUNT; i++)
        json_object_set_new(workers, lg_worker_status_name((lg_worker_status)i), json_integer(s.workers_by_status[i]));
    int64_t done = s.task_duration_count[s.n_buckets];
    int64_t waited = s.queue_duration_count[s.n_buckets];
    json_t *j = json_pack(
        "{s:o,s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:b,s:f}", "tasks_by_state", tasks, "queued_by_priority", queued,
        "workers_by_status", workers, "queue_depth", (json_int_t)queue_depth(&s), "submitted_total",
        (json_int_t)s.submitted_total, "dispatched_total", (json_int_t)s.dispatched_total, "completed_total",
        (json_int_t)s.completed_total, "failed_total", (json_int_t)s.failed_total, "requeued_total",
        (json_int_t)s.requeued_total, "mean_task_duration_s", done ? s.task_duration_sum / (double)done : 0.0,
        "mean_queue_duration_s", waited ? s.queue_duration_sum / (double)waited : 0.0, "draining", s.draining,
        "uptime_s", s.uptime_s);
    lg_reply_json(rep, 200, j);
}

static json_t *strategies_json(void)
{
    json_t *list = json_array();
    for (int k = 0; k < LG_STRATEGY_COUNT; k++) {
        const lg_strategy_def *d = lg_strategy_get((lg_strategy_kind)k);
        json_array_append_new(list, json_pack("{s:s,s:s}", "name", d->name, "summary", d->summary));
    }
    return list;
}

void lg_h_config(lg_http_req *req, lg_http_reply *rep)
{
    lg_api *a = req->api;
    const lg_coord_config *c = lg_coord_get_config(a->coord);
    json_t *j = json_pack("{s:s,s:o,s:f,s:i,s:f,s:i,s:f,s:f,s:I,s:s?,s:b}", "strategy",
                          lg_strategy_name(lg_coord_strategy(a->coord)), "available_strategies", strategies_json(),
                          "heartbeat_interval_s", c->heartbeat_interval_s, "heartbeat_misses", c->heartbeat_misses,
                          "dead_after_s", c->heartbeat_interval_s * c->heartbeat_misses, "max_attempts",
                          c->max_attempts, "result_ttl_s", c->result_ttl_s, "ageing_s", c->ageing_s,
                          "max_body_bytes", (json_int_t)a->cfg.max_body_bytes, "models_dir", c->models_dir,
                          "auth", a->auth);
    lg_reply_json(rep, 200, j);
}

void lg_h_balancing(lg_http_req *req, lg_http_reply *rep)
{
    json_t *body = lg_http_body_object(req, rep);
    if (!body) return;
    const char *name = json_string_value(json_object_get(body, "strategy"));
    lg_strategy_kind k, prev = lg_coord_strategy(req->api->coord);
    char valid[160] = "";
    for (int i = 0; i < LG_STRATEGY_COUNT; i++)
        snprintf(valid + strlen(valid), sizeof valid - strlen(valid), "%s%s", i ? ", " : "",
                 lg_strategy_name((lg_strategy_kind)i));
    if (!name)
        lg_reply_error(rep, 400, "field 'strategy' must be a string, one of %s", valid);
    else if (lg_strategy_parse(name, &k) != LG_OK)
        lg_reply_error(rep, 400, "unknown strategy '%s' (valid: %s)", name, valid);
    else if (lg_coord_set_strategy(req->api->coord, k) != LG_OK)
        lg_reply_status(rep, LG_E_RUNTIME);
    else
        lg_reply_json(rep, 200,
                      json_pack("{s:s,s:s}", "strategy", lg_strategy_name(k), "previous", lg_strategy_name(prev)));
    json_decref(body);
}

static json_t *strings_json(int n, const char (*v)[64])
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *worker_json(const lg_worker_view *w)
{
    const lg_worker_info *in = &w->info;
    json_t *devices = json_array();
    for (int i = 0; i < in->n_devices; i++) {
        const lg_device_info *d = &in->devices[i];
        json_array_append_new(devices, json_pack("{s:s,s:s,s:s,s:I,s:b,s:b}", "name", d->name, "vendor", d->vendor,
                                                 "backend", d->backend, "memory_mb", (json_int_t)d->memory_mb,
                                                 "fp16", d->fp16, "healthy", !d->unhealthy));
    }
    json_t *backends = json_array();
    for (int i = 0; i < in->n_backends; i++) json_array_append_new(backends, json_string(in->backends[i]));
    json_t *ewma = json_object();
    for (int i = 0; i < w->n_ewma; i++) json_object_set_new(ewma, w->ewma_model[i], json_real(w->ewma_s[i]));
    double load = in->capacity > 0 ? (double)w->in_flight / in->capacity : 0;
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:i,s:i,s:i,s:f,s:o,s:o,s:o,s:f,s:f,s:I,s:I}", "worker_id", in->id, "host",
                     in->host, "status", lg_worker_status_name(w->status), "backends", backends, "devices", devices,
                     "cpu_threads", in->cpu_threads, "capacity", in->capacity, "in_flight", w->in_flight, "load",
                     load, "models", strings_json(in->n_models, in->models), "tags",
                     strings_json(in->n_tags, in->tags), "ewma_service_s", ewma, "registered_at", w->registered_at,
                     "last_seen", w->last_seen, "completed", (json_int_t)w->completed, "failed",
                     (json_int_t)w->failed);
}

static void add_worker(void *arg, const lg_worker_view *w)
{
    json_array_append_new(arg, worker_json(w));
}

void lg_h_workers(lg_http_req *req, lg_http_reply *rep)
{
    const char *st = lg_http_query(req, "status");
    lg_worker_status filter;
    if (st && lg_worker_status_parse(st, &filter) != LG_OK) {
        lg_reply_error(rep, 400, "unknown worker status '%s' (valid: idle, busy, draining, dead)", st);
        return;
    }
    json_t *list = json_array();
    int rc = lg_coord_workers(req->api->coord, st ? (int)filter : -1, add_worker, list);
    if (rc != LG_OK) {
        json_decref(list);
        lg_reply_status(rep, rc);
        return;
    }
    size_t n = json_array_size(list);
    lg_reply_json(rep, 200, json_pack("{s:o,s:I}", "workers", list, "total", (json_int_t)n));
}

void lg_h_worker(lg_http_req *req, lg_http_reply *rep)
{
    lg_worker_view w;
    if (lg_coord_worker_get(req->api->coord, req->params[0], &w) != LG_OK) {
        lg_reply_error(rep, 404, "unknown worker '%s'", req->params[0]);
        return;
    }
    lg_reply_json(rep, 200, worker_json(&w));
}

void lg_h_shutdown(lg_http_req *req, lg_http_reply *rep)
{
    lg_api *a = req->api;
    lg_coord_drain(a->coord);
    lg_reply_json(rep, 202, json_pack("{s:s,s:s}", "status", "draining", "message",
                                      "the coordinator stopped accepting tasks and shuts down"));
    if (a->cfg.on_shutdown) a->cfg.on_shutdown(a->cfg.on_shutdown_arg);
}
