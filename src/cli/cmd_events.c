/*
 * cmd_events.c: `legacygpu cluster events [--json-output] [--types T,..] [--model NAME]`
 * follows GET /cluster/events (Server-Sent Events) with libcurl's write callback and
 * prints one line per event (or the event as JSON, one object a line); it resumes with
 * Last-Event-ID when the stream breaks. The same reader shows the progress of
 * `task submit --wait` (lg_task_progress_*).
 */
#include "cli/cmd_events.h"

#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "base/error.h"
#include "cli/cli.h"
#include "cli/http_client.h"
#include "cli/output.h"
#include "cluster/task.h"

#define MAX_FRAME (64 * 1024)
#define RECONNECTS 5

/* One follower: the stream's parser state and what to do with each event. */
typedef struct follower {
    char url[1024];
    const char *cacert;
    char frame[MAX_FRAME];
    size_t len;
    long long last_id;
    bool connected, too_long;
    atomic_bool stop;
    CURL *curl;                  /* the transfer under way */
    long status;                 /* its HTTP status, once known */
    char err[512];               /* the body of an error answer */
    /* Called per event; returns false to stop following. */
    bool (*on_event)(struct follower *f, const char *type, long long id, const char *data);
    void *arg;
} follower;

/* Parses one frame ("field: value" lines); calls on_event for one with data. */
static bool frame_done(follower *f, char *frame)
{
    char type[32] = "message";
    long long id = -1;
    const char *data = NULL;
    for (char *line = strtok(frame, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == ':') continue;
        char *colon = strchr(line, ':');
        char *val = colon ? colon + 1 + (colon[1] == ' ') : line + strlen(line);
        if (colon) *colon = '\0';
        if (!strcmp(line, "event")) snprintf(type, sizeof type, "%s", val);
        else if (!strcmp(line, "id")) id = strtoll(val, NULL, 10);
        else if (!strcmp(line, "data")) data = val;
    }
    if (id >= 0) f->last_id = id;
    return !data || f->on_event(f, type, id, data);
}

static size_t on_bytes(char *p, size_t size, size_t n, void *arg)
{
    follower *f = arg;
    size_t total = size * n;
    if (!f->status) curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &f->status);
    if (f->status >= 300) { /* an error answer: keep its body for the message */
        size_t used = strlen(f->err), k = total < sizeof f->err - 1 - used ? total : sizeof f->err - 1 - used;
        memcpy(f->err + used, p, k);
        f->err[used + k] = '\0';
        return total;
    }
    f->connected = true;
    for (size_t i = 0; i < total; i++) {
        if (f->len + 1 >= sizeof f->frame) { /* an oversized frame is skipped, not cut */
            f->too_long = true;
            f->len = 0;
        }
        f->frame[f->len++] = p[i];
        if (f->len >= 2 && f->frame[f->len - 1] == '\n' && f->frame[f->len - 2] == '\n') {
            f->frame[f->len] = '\0';
            bool go = f->too_long || frame_done(f, f->frame);
            f->len = 0;
            f->too_long = false;
            if (!go) {
                atomic_store(&f->stop, true);
                return 0; /* aborts the transfer */
            }
        }
    }
    return total;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    follower *f = arg;
    return atomic_load(&f->stop) ? 1 : 0;
}

/* Follows the stream until on_event says stop, f->stop is set or deadline (monotonic,
 * 0 none) passes; reconnects after a break. LG_EXIT_OK, LG_EXIT_UNREACHABLE,
 * LG_EXIT_TIMEOUT or LG_EXIT_FAIL (an HTTP error, printed). */
static int follow(follower *f, double deadline)
{
    int failures = 0;
    bool ever = false;
    while (!atomic_load(&f->stop)) {
        CURL *c = curl_easy_init();
        if (!c) return lg_cli_fail(LG_E_NOMEM, "cluster events");
        struct curl_slist *hdr = curl_slist_append(NULL, "Accept: text/event-stream");
        char line[600];
        const char *token = getenv("LEGACYGPU_TOKEN");
        if (token && *token) {
            snprintf(line, sizeof line, "Authorization: Bearer %s", token);
            hdr = curl_slist_append(hdr, line);
        }
        if (f->last_id >= 0) {
            snprintf(line, sizeof line, "Last-Event-ID: %lld", f->last_id);
            hdr = curl_slist_append(hdr, line);
        }
        curl_easy_setopt(c, CURLOPT_URL, f->url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_bytes);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, f);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        if (f->cacert) curl_easy_setopt(c, CURLOPT_CAINFO, f->cacert);
        if (deadline > 0) {
            long ms = (long)((deadline - lg_now()) * 1000);
            curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms > 1 ? ms : 1L);
        }
        f->len = 0;
        f->curl = c;
        f->status = 0;
        f->err[0] = '\0';
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hdr);
        curl_easy_cleanup(c);
        if (atomic_load(&f->stop)) break;
        if (status >= 300) {
            json_t *j = json_loads(f->err, 0, NULL);
            const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
            fprintf(stderr, "legacygpu: cluster events: HTTP %ld: %s%s\n", status, msg ? msg : f->err,
                    status == 401 ? " (set LEGACYGPU_TOKEN)" : "");
            json_decref(j);
            return status == 400 ? LG_EXIT_USAGE : LG_EXIT_FAIL;
        }
        ever = ever || f->connected;
        if (deadline > 0 && lg_now() >= deadline && ever) return LG_EXIT_TIMEOUT;
        if (rc == CURLE_OK || f->connected) failures = 0;
        /* Never reached: say so at once; a stream that broke is retried a few times. */
        if (!ever || ++failures > RECONNECTS) {
            fprintf(stderr, "legacygpu: cluster events: cannot reach %s: %s\n", f->url, curl_easy_strerror(rc));
            return LG_EXIT_UNREACHABLE;
        }
        f->connected = false;
        struct timespec pause = {1, 0}; /* before reconnecting to a server that went away */
        nanosleep(&pause, NULL);
    }
    return LG_EXIT_OK;
}

/* ---- legacygpu cluster events ------------------------------------------------------ */

typedef struct print_state {
    long long count, max;
} print_state;

static void print_line(const char *type, json_t *d)
{
    const char *s = NULL;
    double t = json_number_value(json_object_get(d, "time"));
    time_t whole = (time_t)t;
    struct tm tm;
    localtime_r(&whole, &tm);
    printf("%02d:%02d:%02d.%03d  %-8s %-10s", tm.tm_hour, tm.tm_min, tm.tm_sec, (int)((t - (double)whole) * 1000),
           type, json_string_value(json_object_get(d, "action")) ?: "");
    if (!strcmp(type, "task")) {
        s = json_string_value(json_object_get(d, "task_id"));
        printf(" %.8s %s %s", s ?: "", json_string_value(json_object_get(d, "model")) ?: "",
               lg_out_state(json_string_value(json_object_get(d, "state")) ?: ""));
        s = json_string_value(json_object_get(d, "worker_id"));
        if (s && *s) printf(" on %s", s);
        json_t *run = json_object_get(d, "run_s");
        if (json_is_number(run)) printf(" (ran %.3f s)", json_number_value(run));
        s = json_string_value(json_object_get(d, "error"));
        if (s) printf(": %s", s);
    } else if (!strcmp(type, "worker")) {
        printf(" %s (%s) %s, %lld in flight", json_string_value(json_object_get(d, "worker_id")) ?: "",
               json_string_value(json_object_get(d, "host")) ?: "",
               json_string_value(json_object_get(d, "status")) ?: "",
               (long long)json_integer_value(json_object_get(d, "in_flight")));
    } else if (!strcmp(type, "strategy")) {
        printf(" %s (was %s)", json_string_value(json_object_get(d, "strategy")) ?: "",
               json_string_value(json_object_get(d, "previous")) ?: "");
    } else if ((s = json_string_value(json_object_get(d, "reason")))) {
        printf(" %s", s);
    }
    putchar('\n');
}

static bool print_event(follower *f, const char *type, long long id, const char *data)
{
    print_state *ps = f->arg;
    if (lg_out_json_mode()) {
        if (id >= 0) printf("{\"id\":%lld,\"event\":\"%s\",\"data\":%s}\n", id, type, data);
        else printf("{\"event\":\"%s\",\"data\":%s}\n", type, data);
    } else {
        json_t *d = json_loads(data, 0, NULL);
        if (d) print_line(type, d);
        json_decref(d);
    }
    fflush(stdout);
    return ps->max <= 0 || ++ps->count < ps->max;
}

static void events_usage(FILE *f)
{
    fprintf(f, "usage: legacygpu cluster events [options]   follow the cluster's live events\n"
               "  --types T[,T]       only these: task, worker, strategy, drain (default all)\n"
               "  --model NAME        task events of this model only\n"
               "  --since ID          resume after event ID (as Last-Event-ID)\n"
               "  --count N           stop after N events\n"
               "  --timeout S         stop after S seconds (exit 4 if --count was not reached)\n"
               "  --api URL           REST API (default $LEGACYGPU_API or " LG_DEFAULT_API ")\n"
               "  --json-output       one JSON object per event: {\"id\",\"event\",\"data\"}\n"
               "  --cacert FILE       CA certificate of an https:// API (default $LEGACYGPU_CACERT)\n"
               " environment: LEGACYGPU_TOKEN is sent as 'Authorization: Bearer TOKEN'.\n"
               " exit codes: 0 ok, 1 failed, 2 usage, 3 cannot reach the API, 4 timed out.\n");
}

int lg_cmd_cluster_events(int argc, char **argv)
{
    enum { O_API = 1, O_JSON, O_TYPES, O_MODEL, O_SINCE, O_COUNT, O_TIMEOUT, O_CACERT, O_HELP };
    static const struct option longopts[] = {
        {"api", required_argument, 0, O_API},         {"json-output", no_argument, 0, O_JSON},
        {"json", no_argument, 0, O_JSON},             {"types", required_argument, 0, O_TYPES},
        {"model", required_argument, 0, O_MODEL},     {"since", required_argument, 0, O_SINCE},
        {"count", required_argument, 0, O_COUNT},     {"timeout", required_argument, 0, O_TIMEOUT},
        {"cacert", required_argument, 0, O_CACERT},   {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0},
    };
    const char *api = NULL, *types = NULL, *model = NULL, *cacert = getenv("LEGACYGPU_CACERT");
    double since = -1, count = 0, timeout = 0;
    bool json = false;
    int opt, ex = LG_EXIT_OK;
    optind = 1;
    while (ex == LG_EXIT_OK && (opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case O_API: api = optarg; break;
        case O_JSON: json = true; break;
        case O_TYPES: types = optarg; break;
        case O_MODEL: model = optarg; break;
        case O_SINCE: ex = lg_cli_number("--since", optarg, 0, 9e15, &since); break;
        case O_COUNT: ex = lg_cli_number("--count", optarg, 1, 1e12, &count); break;
        case O_TIMEOUT: ex = lg_cli_number("--timeout", optarg, 0, 1e7, &timeout); break;
        case O_CACERT: cacert = optarg; break;
        case O_HELP:
        case 'h': events_usage(stdout); return LG_EXIT_OK;
        default: events_usage(stderr); return LG_EXIT_USAGE;
        }
    }
    if (ex != LG_EXIT_OK) return ex;
    if (optind < argc) {
        fprintf(stderr, "legacygpu: unexpected argument '%s'\n", argv[optind]);
        return LG_EXIT_USAGE;
    }
    lg_out_init(json);
    lg_http *h;
    if (lg_http_open(api, &h) != LG_OK) return lg_cli_fail(LG_E_INVALID_ARG, "cluster events");
    follower *f = calloc(1, sizeof *f);
    if (!f) {
        lg_http_close(h);
        return lg_cli_fail(lg_error(LG_E_NOMEM, "no memory"), "cluster events");
    }
    snprintf(f->url, sizeof f->url, "%s/cluster/events", lg_http_base(h));
    lg_http_close(h);
    if (types) lg_http_query_add(f->url, sizeof f->url, "types", types);
    if (model) lg_http_query_add(f->url, sizeof f->url, "model", model);
    f->cacert = cacert && *cacert ? cacert : NULL;
    f->last_id = since >= 0 ? (long long)since : -1;
    print_state ps = {0, (long long)count};
    f->on_event = print_event;
    f->arg = &ps;
    ex = follow(f, timeout > 0 ? lg_now() + timeout : 0);
    if (ex == LG_EXIT_TIMEOUT && ps.max <= 0) ex = LG_EXIT_OK;
    free(f);
    return ex;
}

/* ---- progress of task submit --wait ------------------------------------------------- */

#define MAX_TRACKED 64

struct lg_task_progress {
    follower f;
    FILE *out;
    pthread_t th;
    pthread_mutex_t mu;
    int n;
    char ids[MAX_TRACKED][LG_TASK_ID_LEN + 1];
    char labels[MAX_TRACKED][64];
    /* Recent lines of tasks not added yet: a task can be dispatched before its submit
     * call returns, and add() shows what it missed. */
    char back_ids[MAX_TRACKED][LG_TASK_ID_LEN + 1];
    char back_lines[MAX_TRACKED][160];
    int back_next;
};

static bool progress_event(follower *f, const char *type, long long id, const char *data)
{
    lg_task_progress *p = f->arg;
    json_t *d = json_loads(data, 0, NULL);
    const char *tid = json_string_value(json_object_get(d, "task_id"));
    const char *action = json_string_value(json_object_get(d, "action")) ?: "";
    const char *worker = json_string_value(json_object_get(d, "worker_id")) ?: "";
    char line[160];
    snprintf(line, sizeof line, "%s%s%s", json_string_value(json_object_get(d, "state")) ?: action,
             *worker && strcmp(action, "submitted") ? " on " : "", strcmp(action, "submitted") ? worker : "");
    pthread_mutex_lock(&p->mu);
    bool shown = false;
    for (int i = 0; tid && i < p->n; i++) {
        if (strcmp(p->ids[i], tid)) continue;
        fprintf(p->out, "legacygpu: %s (%.8s): %s\n", p->labels[i], tid, line);
        fflush(p->out);
        shown = true;
    }
    if (tid && !shown) {
        int k = p->back_next++ % MAX_TRACKED;
        snprintf(p->back_ids[k], sizeof p->back_ids[k], "%s", tid);
        snprintf(p->back_lines[k], sizeof p->back_lines[k], "%s", line);
    }
    pthread_mutex_unlock(&p->mu);
    json_decref(d);
    return true;
}

static void *progress_thread(void *arg)
{
    lg_task_progress *p = arg;
    follow(&p->f, 0);
    return NULL;
}

lg_task_progress *lg_task_progress_start(const char *base, FILE *out)
{
    lg_task_progress *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    snprintf(p->f.url, sizeof p->f.url, "%s/cluster/events?types=task", base);
    const char *ca = getenv("LEGACYGPU_CACERT");
    p->f.cacert = ca && *ca ? ca : NULL;
    p->f.last_id = -1;
    p->f.on_event = progress_event;
    p->f.arg = p;
    p->out = out;
    pthread_mutex_init(&p->mu, NULL);
    if (pthread_create(&p->th, NULL, progress_thread, p) != 0) {
        pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    /* Submitting before the stream is open would miss the first state changes. */
    double deadline = lg_now() + 3.0;
    struct timespec step = {0, 10 * 1000 * 1000};
    while (!p->f.connected && lg_now() < deadline) nanosleep(&step, NULL);
    if (!p->f.connected) {
        lg_task_progress_stop(p);
        return NULL;
    }
    return p;
}

void lg_task_progress_add(lg_task_progress *p, const char *id, const char *label)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    if (p->n < MAX_TRACKED) {
        snprintf(p->ids[p->n], sizeof p->ids[p->n], "%s", id);
        const char *base = strrchr(label, '/');
        snprintf(p->labels[p->n], sizeof p->labels[p->n], "%s", base ? base + 1 : label);
        p->n++;
        int first = p->back_next > MAX_TRACKED ? p->back_next - MAX_TRACKED : 0;
        for (int k = first; k < p->back_next; k++)
            if (!strcmp(p->back_ids[k % MAX_TRACKED], id))
                fprintf(p->out, "legacygpu: %s (%.8s): %s\n", p->labels[p->n - 1], id, p->back_lines[k % MAX_TRACKED]);
        fflush(p->out);
    }
    pthread_mutex_unlock(&p->mu);
}

void lg_task_progress_stop(lg_task_progress *p)
{
    if (!p) return;
    atomic_store(&p->f.stop, true);
    pthread_join(p->th, NULL);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
