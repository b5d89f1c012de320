/*
 * routes.c: the route table (method, path pattern, minimum role, handler, and what
 * /openapi.json says about it) and matching a request path against it. Patterns have
 * literal segments and {name} captures that match one non-empty segment.
 */
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"

#define PUBLIC LG_ROLE_NONE
#define USER LG_ROLE_USER
#define ADMIN LG_ROLE_ADMIN
#define RAW_TYPES "application/json,application/octet-stream,application/x-npy,application/x-protobuf,image/png,image/jpeg"

const lg_route lg_api_routes[] = {
    {"GET", "/cluster/health", PUBLIC, lg_h_health, "Cluster health: status, live workers, queue depth, uptime",
     "cluster", NULL, NULL, "200"},
    {"GET", "/cluster/metrics", USER, lg_h_cluster_metrics, "Cluster statistics as JSON", "cluster", NULL, NULL,
     "200"},
    {"GET", "/cluster/config", USER, lg_h_config, "Balancing strategy, heartbeats, limits, available strategies",
     "cluster", NULL, NULL, "200"},
    {"PUT", "/cluster/config/balancing", ADMIN, lg_h_balancing, "Switch the balancing strategy at run time",
     "cluster", NULL, "application/json", "200,400"},
    {"GET", "/cluster/workers", USER, lg_h_workers, "Registered workers, optionally of one status", "workers",
     "status", NULL, "200,400"},
    {"GET", "/cluster/workers/{id}", USER, lg_h_worker, "One worker", "workers", NULL, NULL, "200,404"},
    {"POST", "/cluster/workers/{id}/drain", ADMIN, lg_h_worker_drain,
     "Give the worker no more tasks (it finishes what it holds)", "workers", NULL, NULL, "200,404,409"},
    {"GET", "/cluster/events", USER, lg_h_events,
     "Live events as Server-Sent Events, or WebSocket when the request asks for an upgrade", "events",
     "types,model,last_event_id", NULL, "101,200,400,503"},
    {"GET", "/cluster/stats/recent", USER, lg_h_stats_recent,
     "Tasks per second, failures and latency p50/p90/p99 per 10 s over the last 15 minutes", "events", NULL, NULL,
     "200"},
    {"POST", "/cluster/tasks", USER, lg_h_task_submit,
     "Submit a task (JSON body, or a raw tensor or image body with ?model=)", "tasks", "model,priority,timeout",
     RAW_TYPES, "200,202,400,404,409,413,415,503,507"},
    {"GET", "/cluster/tasks", USER, lg_h_task_list, "Tasks, newest first, one page at a time", "tasks",
     "status,limit,cursor", NULL, "200,400,503"},
    {"GET", "/cluster/tasks/{id}/status", USER, lg_h_task_status, "State of a task", "tasks", NULL, NULL,
     "200,404,503"},
    {"GET", "/cluster/tasks/{id}/result", USER, lg_h_task_result,
     "Result of a task; ?wait=S long-polls for a final state", "tasks", "wait", NULL, "200,202,400,404,408,503", true},
    {"DELETE", "/cluster/tasks/{id}", USER, lg_h_task_cancel, "Cancel a task that is not final", "tasks", NULL,
     NULL, "200,404,409,503"},
    {"POST", "/cluster/shutdown", ADMIN, lg_h_shutdown, "Drain the cluster and shut the coordinator down",
     "cluster", NULL, NULL, "202"},
    {"GET", "/v2", USER, lg_h_v2_server, "KServe v2 server metadata", "kserve", NULL, NULL, "200"},
    {"GET", "/v2/health/live", PUBLIC, lg_h_v2_live, "KServe v2 liveness", "kserve", NULL, NULL, "200"},
    {"GET", "/v2/health/ready", PUBLIC, lg_h_v2_ready, "KServe v2 readiness: a worker is alive and not draining",
     "kserve", NULL, NULL, "200,503"},
    {"GET", "/v2/models/{name}", USER, lg_h_v2_model, "KServe v2 model metadata", "kserve", NULL, NULL, "200,404"},
    {"GET", "/v2/models/{name}/ready", USER, lg_h_v2_model_ready, "KServe v2 model readiness", "kserve", NULL,
     NULL, "200,404,503"},
    {"POST", "/v2/models/{name}/infer", USER, lg_h_v2_infer, "KServe v2 inference through the cluster", "kserve",
     NULL, "application/json", "200,400,404,408,409,413,415,500,503,507", true},
    {"GET", "/metrics", PUBLIC, lg_h_prometheus, "Prometheus metrics (text exposition format)", "metrics", NULL,
     NULL, "200"},
    {"GET", "/openapi.json", USER, lg_h_openapi, "This document", "meta", NULL, NULL, "200"},
    {"GET", "/", PUBLIC, lg_h_dashboard, "The web dashboard", "dashboard", NULL, NULL, "200"},
    {"GET", "/assets/{name}", PUBLIC, lg_h_asset, "The dashboard's scripts, styles and Chart.js", "dashboard", NULL,
     NULL, "200,404"},
};
const int lg_api_n_routes = (int)(sizeof lg_api_routes / sizeof lg_api_routes[0]);

/* Matches path against pattern; captures go to params. */
static bool match(const char *pattern, const char *path, char params[][128])
{
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t len = strcspn(s, "/");
            if (len == 0 || len >= 128 || np == LG_API_MAX_PARAMS) return false;
            memcpy(params[np], s, len);
            params[np++][len] = '\0';
            p = close + 1;
            s += len;
        } else if (*p++ != *s++) {
            return false;
        }
    }
    return *p == '\0' && (*s == '\0' || strcmp(s, "/") == 0);
}

const lg_route *lg_route_find(const char *method, const char *path, lg_http_req *req, int *status, char *allow,
                              size_t allow_len)
{
    allow[0] = '\0';
    for (int i = 0; i < lg_api_n_routes; i++) {
        const lg_route *r = &lg_api_routes[i];
        if (!match(r->pattern, path, req->params)) continue;
        if (strcmp(r->method, method) == 0) return r;
        size_t used = strlen(allow);
        snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", r->method);
    }
    *status = allow[0] ? 405 : 404;
    return NULL;
}
