/*
 * metrics.c: GET /metrics in the Prometheus text exposition format (version 0.0.4):
 * gauges of tasks by state, queue depth by priority, workers by status and in-flight
 * tasks per worker; the task and queue duration histograms; counters *_total;
 * rejections by reason, purges and the store's size against its budget. Every
 * family has its HELP and TYPE lines, so `promtool check metrics` accepts it.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "base/error.h"

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label value with \, " and newline escaped. */
static void label_value(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fprintf(f, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

/* counts[i]: observations up to bucket_le[i] (cumulative); counts[n]: all of them. */
static void histogram(FILE *f, const char *name, const char *help, const lg_coord_stats *s, const int64_t *counts,
                      double sum)
{
    family(f, name, "histogram", help);
    for (int i = 0; i < s->n_buckets; i++)
        fprintf(f, "%s_bucket{le=\"%g\"} %lld\n", name, s->bucket_le[i], (long long)counts[i]);
    fprintf(f, "%s_bucket{le=\"+Inf\"} %lld\n", name, (long long)counts[s->n_buckets]);
    fprintf(f, "%s_sum %.9g\n%s_count %lld\n", name, sum, name, (long long)counts[s->n_buckets]);
}

static void worker_in_flight(void *arg, const lg_worker_view *w)
{
    FILE *f = arg;
    fputs("legacygpu_worker_in_flight{worker=\"", f);
    label_value(f, w->info.id);
    fprintf(f, "\"} %d\n", w->in_flight);
}

static const struct {
    const char *name;
    const char *help;
    size_t offset;
} counters[] = {
    {"legacygpu_tasks_submitted_total", "Tasks accepted.", offsetof(lg_coord_stats, submitted_total)},
    {"legacygpu_tasks_dispatched_total", "Task attempts sent to workers.", offsetof(lg_coord_stats, dispatched_total)},
    {"legacygpu_tasks_completed_total", "Tasks completed.", offsetof(lg_coord_stats, completed_total)},
    {"legacygpu_tasks_failed_total", "Tasks failed for good.", offsetof(lg_coord_stats, failed_total)},
    {"legacygpu_tasks_requeued_total", "Task attempts requeued (worker lost or failed).",
     offsetof(lg_coord_stats, requeued_total)},
};

static const struct {
    const char *name;
    const char *help;
    size_t offset;
} gauges[] = {
    {"legacygpu_queued_input_bytes", "Input bytes of queued tasks.", offsetof(lg_coord_stats, queued_bytes)},
    {"legacygpu_queue_max_tasks", "Bound on queued tasks (0: none).", offsetof(lg_coord_stats, max_queued_tasks)},
    {"legacygpu_queue_max_bytes", "Bound on queued input bytes (0: none).", offsetof(lg_coord_stats, max_queued_bytes)},
    {"legacygpu_store_bytes", "Bytes the task store uses (pages in use).", offsetof(lg_coord_stats, store_bytes)},
    {"legacygpu_store_file_bytes", "Size of the task store's database file.", offsetof(lg_coord_stats, store_file_bytes)},
    {"legacygpu_store_max_bytes", "The task store's budget (0: none).", offsetof(lg_coord_stats, store_max_bytes)},
};

void lg_h_prometheus(lg_http_req *req, lg_http_reply *rep)
{
    lg_coord_stats s;
    int rc = lg_coord_stats_get(req->api->coord, &s);
    if (rc != LG_OK) {
        lg_reply_status(rep, rc);
        return;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    LG_ASSERT(f != NULL);
    family(f, "legacygpu_tasks", "gauge", "Tasks in the store by state.");
    for (int i = 0; i < LG_TASK_STATE_COUNT; i++)
        fprintf(f, "legacygpu_tasks{state=\"%s\"} %lld\n", lg_task_state_name((lg_task_state)i),
                (long long)s.tasks_by_state[i]);
    family(f, "legacygpu_queue_depth", "gauge", "Queued tasks by priority.");
    for (int i = 0; i < LG_PRIO_COUNT; i++)
        fprintf(f, "legacygpu_queue_depth{priority=\"%s\"} %lld\n", lg_priority_name((lg_priority)i),
                (long long)s.queued_by_priority[i]);
    family(f, "legacygpu_workers", "gauge", "Registered workers by status.");
    for (int i = 0; i < LG_WORKER_STATUS_COUNT; i++)
        fprintf(f, "legacygpu_workers{status=\"%s\"} %d\n", lg_worker_status_name((lg_worker_status)i),
                s.workers_by_status[i]);
    family(f, "legacygpu_worker_in_flight", "gauge", "Tasks each worker is running now.");
    lg_coord_workers(req->api->coord, -1, worker_in_flight, f);
    histogram(f, "legacygpu_task_duration_seconds", "Service time of completed tasks on their worker.", &s,
              s.task_duration_count, s.task_duration_sum);
    histogram(f, "legacygpu_queue_duration_seconds", "Time tasks waited in the queue before dispatch.", &s,
              s.queue_duration_count, s.queue_duration_sum);
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        family(f, counters[i].name, "counter", counters[i].help);
        fprintf(f, "%s %lld\n", counters[i].name, (long long)*(const int64_t *)((const char *)&s + counters[i].offset));
    }
    family(f, "legacygpu_tasks_rejected_total", "counter", "Submissions refused, by reason.");
    for (int i = 0; i < LG_REJECT_COUNT; i++)
        fprintf(f, "legacygpu_tasks_rejected_total{reason=\"%s\"} %lld\n", lg_reject_reason_name((lg_reject_reason)i),
                (long long)s.rejected_total[i]);
    family(f, "legacygpu_tasks_purged_total", "counter", "Finished tasks purged before their TTL for the store budget.");
    fprintf(f, "legacygpu_tasks_purged_total %lld\n", (long long)s.purged_total);
    for (size_t i = 0; i < sizeof gauges / sizeof gauges[0]; i++) {
        family(f, gauges[i].name, "gauge", gauges[i].help);
        fprintf(f, "%s %lld\n", gauges[i].name, (long long)*(const int64_t *)((const char *)&s + gauges[i].offset));
    }
    family(f, "legacygpu_store_degraded", "gauge", "1 while the task store fails to write (see /cluster/health).");
    fprintf(f, "legacygpu_store_degraded %d\n", s.store_degraded ? 1 : 0);
    family(f, "legacygpu_draining", "gauge", "1 while the coordinator drains (accepts no tasks).");
    fprintf(f, "legacygpu_draining %d\n", s.draining ? 1 : 0);
    family(f, "legacygpu_uptime_seconds", "gauge", "Seconds since the coordinator started.");
    fprintf(f, "legacygpu_uptime_seconds %.3f\n", s.uptime_s);
    fclose(f);
    lg_reply_text(rep, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}
