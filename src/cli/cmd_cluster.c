/*
 * cmd_cluster.c: `legacygpu cluster start|stop|status|workers|strategy`. start runs the
 * coordinator and its REST API (cmd_serve.c, no local workers, optionally as a
 * daemon); the others talk to a running one through the REST API (http_client.c).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "cli/cli.h"
#include "cli/cmd_events.h"
#include "cli/http_client.h"
#include "cli/output.h"
#include "cluster/coordinator.h"
#include "cluster/task.h"

#define HTTP_TIMEOUT_S 30.0
#define STOP_WAIT_S 60.0

typedef struct cluster_opts {
    const char *api, *status_filter, *strategy;
    double timeout_s;
    bool json;
} cluster_opts;

static void usage(FILE *f)
{
    fprintf(f, "usage: legacygpu cluster start [options]       coordinator + REST API ('--help' for options)\n"
               "       legacygpu cluster stop [--timeout S]     drain and shut down (waits until it is gone)\n"
               "       legacygpu cluster status                 health and statistics\n"
               "       legacygpu cluster workers [--status-filter S]  workers (idle, busy, draining, dead)\n"
               "       legacygpu cluster strategy [NAME]        show or switch the balancing strategy\n"
               "       legacygpu cluster events [--types T] [--model M]  follow live events ('--help')\n"
               "  --api URL           REST API (default $LEGACYGPU_API or " LG_DEFAULT_API ")\n"
               "  --json-output       print the API's JSON bodies as they are\n"
               "  --cacert FILE       CA certificate that signed an https:// API's (default\n"
               "                      $LEGACYGPU_CACERT, else the system's CAs)\n"
               " environment: LEGACYGPU_TOKEN is sent as 'Authorization: Bearer TOKEN'.\n"
               " exit codes: 0 ok, 1 failed, 2 usage, 3 cannot reach the API, 4 timed out waiting.\n");
}

enum { OPT_API = 1, OPT_JSON, OPT_FILTER, OPT_TIMEOUT, OPT_CACERT, OPT_HELP };

static int parse_args(int argc, char **argv, cluster_opts *o)
{
    static const struct option longopts[] = {
        { "api", required_argument, 0, OPT_API },
        { "json-output", no_argument, 0, OPT_JSON },
        { "json", no_argument, 0, OPT_JSON },
        { "status-filter", required_argument, 0, OPT_FILTER },
        { "status", required_argument, 0, OPT_FILTER },
        { "timeout", required_argument, 0, OPT_TIMEOUT },
        { "cacert", required_argument, 0, OPT_CACERT },
        { "help", no_argument, 0, OPT_HELP },
        { 0, 0, 0, 0 },
    };
    memset(o, 0, sizeof(*o));
    o->timeout_s = STOP_WAIT_S;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end;
        lg_worker_status ws;
        switch (opt) {
        case OPT_API: o->api = optarg; break;
        case OPT_CACERT: lg_http_use_cacert(optarg); break;
        case OPT_JSON: o->json = true; break;
        case OPT_FILTER:
            if (lg_worker_status_parse(optarg, &ws) != LG_OK) {
                fprintf(stderr, "legacygpu: --status-filter expects idle, busy, draining or dead, got '%s'\n", optarg);
                return LG_EXIT_USAGE;
            }
            o->status_filter = lg_worker_status_name(ws);
            break;
        case OPT_TIMEOUT:
            o->timeout_s = strtod(optarg, &end);
            if (end == optarg || *end || !(o->timeout_s >= 0)) {
                fprintf(stderr, "legacygpu: --timeout expects seconds, got '%s'\n", optarg);
                return LG_EXIT_USAGE;
            }
            break;
        case OPT_HELP:
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return LG_EXIT_USAGE;
        }
    }
    if (optind < argc) o->strategy = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "legacygpu: unexpected argument '%s'\n", argv[optind]);
        return LG_EXIT_USAGE;
    }
    lg_out_init(o->json);
    return LG_EXIT_OK;
}

/* GET path into *r; an exit code other than 0 when it did not answer 200. */
static int get_ok(lg_http *h, const char *path, const char *context, lg_http_response *r)
{
    if (lg_http_get(h, path, HTTP_TIMEOUT_S, r) != LG_OK) return lg_http_unreachable(h, context);
    if (r->status == 200) return LG_EXIT_OK;
    int ex = lg_http_error(r, context);
    lg_http_response_clear(r);
    return ex;
}

static int do_stop(lg_http *h, const cluster_opts *o)
{
    lg_http_response r;
    int rc = lg_http_request(h, "POST", "/cluster/shutdown", "application/json", "{}", 2, NULL, HTTP_TIMEOUT_S, &r);
    /* A server with nothing to drain may close the connection before its answer. */
    if (rc != LG_OK && !lg_http_closed_early(h)) return lg_http_unreachable(h, "cluster stop");
    if (rc == LG_OK && r.status != 200 && r.status != 202) {
        int ex = lg_http_error(&r, "cluster stop");
        lg_http_response_clear(&r);
        return ex;
    }
    if (rc == LG_OK && lg_out_json_mode()) lg_out_json(r.body);
    if (rc == LG_OK) lg_http_response_clear(&r);
    /* Gone when the API stops answering. */
    double deadline = lg_now() + o->timeout_s;
    for (;;) {
        if (lg_http_get(h, "/cluster/health", 1.0, &r) != LG_OK) break;
        lg_http_response_clear(&r);
        if (lg_now() >= deadline) {
            fprintf(stderr, "legacygpu: cluster stop: %s still answers after %g s\n", lg_http_base(h), o->timeout_s);
            return LG_EXIT_TIMEOUT;
        }
        nanosleep(&(struct timespec){ 0, 50000000L }, NULL);
    }
    if (!lg_out_json_mode()) printf("legacygpu: %s drained and stopped\n", lg_http_base(h));
    return LG_EXIT_OK;
}

/* One "NAME n, NAME n" line from an object of counts, skipping zeros. */
static void print_counts(const char *key, json_t *obj)
{
    char line[512] = "";
    const char *name;
    json_t *v;
    json_object_foreach(obj, name, v) {
        if (!json_integer_value(v)) continue;
        size_t n = strlen(line);
        snprintf(line + n, sizeof(line) - n, "%s%s %" JSON_INTEGER_FORMAT, n ? ", " : "", lg_out_state(name),
                 json_integer_value(v));
    }
    lg_out_field(key, "%s", line[0] ? line : "none");
}

static int do_status(lg_http *h, const cluster_opts *o)
{
    lg_http_response health, metrics;
    int ex = get_ok(h, "/cluster/health", "cluster status", &health);
    if (ex != LG_EXIT_OK) return ex;
    ex = get_ok(h, "/cluster/metrics", "cluster status", &metrics);
    if (ex != LG_EXIT_OK) {
        lg_http_response_clear(&health);
        return ex;
    }
    if (lg_out_json_mode()) {
        printf("{\"health\":%s,\"metrics\":%s}\n", health.body, metrics.body);
    } else {
        json_t *hj = json_loads(health.body, 0, NULL), *mj = json_loads(metrics.body, 0, NULL);
        printf("%s %s\n", lg_out_bold(lg_http_base(h)), lg_out_state(json_string_value(json_object_get(hj, "status"))));
        lg_out_field("workers", "%" JSON_INTEGER_FORMAT " live", json_integer_value(json_object_get(hj, "workers")));
        lg_out_field("queue depth", "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(hj, "queue_depth")));
        lg_out_field("uptime", "%.1f s", json_number_value(json_object_get(hj, "uptime_s")));
        print_counts("tasks", json_object_get(mj, "tasks_by_state"));
        print_counts("queued", json_object_get(mj, "queued_by_priority"));
        print_counts("worker status", json_object_get(mj, "workers_by_status"));
        lg_out_field("submitted", "%" JSON_INTEGER_FORMAT ", completed %" JSON_INTEGER_FORMAT
                     ", failed %" JSON_INTEGER_FORMAT ", requeued %" JSON_INTEGER_FORMAT,
                     json_integer_value(json_object_get(mj, "submitted_total")),
                     json_integer_value(json_object_get(mj, "completed_total")),
                     json_integer_value(json_object_get(mj, "failed_total")),
                     json_integer_value(json_object_get(mj, "requeued_total")));
        lg_out_field("mean task", "%.2f ms (queue %.2f ms)",
                     1e3 * json_number_value(json_object_get(mj, "mean_task_duration_s")),
                     1e3 * json_number_value(json_object_get(mj, "mean_queue_duration_s")));
        json_decref(hj);
        json_decref(mj);
    }
    lg_http_response_clear(&health);
    lg_http_response_clear(&metrics);
    return LG_EXIT_OK;
}

static int do_workers(lg_http *h, const cluster_opts *o)
{
    char path[256] = "/cluster/workers";
    if (o->status_filter) lg_http_query_add(path, sizeof(path), "status", o->status_filter);
    lg_http_response r;
    int ex = get_ok(h, path, "cluster workers", &r);
    if (ex != LG_EXIT_OK) return ex;
    if (lg_out_json_mode()) {
        lg_out_json(r.body);
        lg_http_response_clear(&r);
        return LG_EXIT_OK;
    }
    json_t *root = json_loads(r.body, 0, NULL);
    json_t *list = json_object_get(root, "workers");
    printf("%s\n", lg_out_bold("WORKER                    STATUS    HOST                 TASKS  DONE    FAILED  MODELS"));
    size_t i;
    json_t *w;
    json_array_foreach(list, i, w) {
        const char *st = json_string_value(json_object_get(w, "status"));
        char models[256] = "";
        size_t m;
        json_t *name;
        json_array_foreach(json_object_get(w, "models"), m, name) {
            size_t n = strlen(models);
            snprintf(models + n, sizeof(models) - n, "%s%s", m ? "," : "", json_string_value(name));
        }
        char tasks[32];
        snprintf(tasks, sizeof(tasks), "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(w, "in_flight")), json_integer_value(json_object_get(w, "capacity")));
        int pad = 8 - (int)strlen(st ? st : "");
        printf("%-24s  %s%*s  %-19s  %-5s  %-6" JSON_INTEGER_FORMAT "  %-6" JSON_INTEGER_FORMAT "  %s\n",
               json_string_value(json_object_get(w, "worker_id")), lg_out_state(st), pad > 0 ? pad : 0, "",
               json_string_value(json_object_get(w, "host")), tasks,
               json_integer_value(json_object_get(w, "completed")), json_integer_value(json_object_get(w, "failed")),
               models);
    }
    printf("%zu worker%s\n", json_array_size(list), json_array_size(list) == 1 ? "" : "s");
    json_decref(root);
    lg_http_response_clear(&r);
    return LG_EXIT_OK;
}

/* Shows the strategy, or switches to o->strategy (admin). */
static int do_strategy(lg_http *h, const cluster_opts *o)
{
    lg_http_response r;
    int ex;
    if (!o->strategy) {
        ex = get_ok(h, "/cluster/config", "cluster strategy", &r);
        if (ex != LG_EXIT_OK) return ex;
    } else {
        lg_strategy_kind k;
        if (lg_strategy_parse(o->strategy, &k) != LG_OK) {
            fprintf(stderr, "legacygpu: %s\n", lg_last_error());
            return LG_EXIT_USAGE;
        }
        char body[96];
        snprintf(body, sizeof(body), "{\"strategy\":\"%s\"}", lg_strategy_name(k));
        if (lg_http_request(h, "PUT", "/cluster/config/balancing", "application/json", body, strlen(body), NULL,
                            HTTP_TIMEOUT_S, &r) != LG_OK)
            return lg_http_unreachable(h, "cluster strategy");
        if (r.status != 200) {
            ex = lg_http_error(&r, "cluster strategy");
            lg_http_response_clear(&r);
            return ex;
        }
    }
    if (lg_out_json_mode()) {
        lg_out_json(r.body);
    } else {
        json_t *root = json_loads(r.body, 0, NULL);
        const char *prev = json_string_value(json_object_get(root, "previous"));
        printf("strategy %s", lg_out_bold(json_string_value(json_object_get(root, "strategy")) ?: "?"));
        if (prev) printf(" (was %s)", prev);
        putchar('\n');
        json_decref(root);
    }
    lg_http_response_clear(&r);
    return LG_EXIT_OK;
}

static const struct {
    const char *name;
    int (*run)(lg_http *h, const cluster_opts *o);
} subcommands[] = {
    { "stop", do_stop },
    { "status", do_status },
    { "workers", do_workers },
    { "strategy", do_strategy },
};

int lg_cmd_cluster(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? LG_EXIT_USAGE : LG_EXIT_OK;
    }
    if (!strcmp(argv[1], "start")) return lg_cmd_serve(argc - 1, argv + 1);
    if (!strcmp(argv[1], "events")) return lg_cmd_cluster_events(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
        if (strcmp(argv[1], subcommands[i].name)) continue;
        cluster_opts o;
        int rc = parse_args(argc - 1, argv + 1, &o);
        if (rc != LG_EXIT_OK) return rc < 0 ? LG_EXIT_OK : rc;
        if (o.strategy && subcommands[i].run != do_strategy) {
            fprintf(stderr, "legacygpu: unexpected argument '%s'\n", o.strategy);
            return LG_EXIT_USAGE;
        }
        lg_http *h;
        if (lg_http_open(o.api, &h) != LG_OK) return lg_cli_fail(LG_E_INVALID_ARG, "cluster");
        int ex = subcommands[i].run(h, &o);
        lg_http_close(h);
        return ex;
    }
    fprintf(stderr, "legacygpu: unknown cluster subcommand '%s'\n", argv[1]);
    usage(stderr);
    return LG_EXIT_USAGE;
}
