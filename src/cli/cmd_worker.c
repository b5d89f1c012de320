/*
 * cmd_worker.c: `legacygpu worker start|list`. start runs one worker in the foreground
 * (worker.h): it connects to the coordinator, runs tasks until SIGINT/SIGTERM, then
 * finishes or hands back its tasks and says goodbye. list is `cluster workers`.
 * --curve-secret/--coordinator-key make its link CURVE-encrypted (cluster/curve.c).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cluster/worker.h"
#include "legacygpu/legacygpu.h"

#define MAX_TAGS 8
#define LG_DEFAULT_COORDINATOR "tcp://127.0.0.1:5555" /* a coordinator on this machine */

static void usage(FILE *f)
{
    fprintf(f, "usage: legacygpu worker start [--coordinator tcp://HOST:5555] [options]\n"
               "       legacygpu worker list [--status-filter S] [--json-output] [--api URL]\n"
               "  --coordinator EP    the coordinator's ZeroMQ endpoint (default $LEGACYGPU_COORDINATOR,\n"
               "                      else " LG_DEFAULT_COORDINATOR ")\n"
               "  --worker-id ID      this worker's name (default HOSTNAME-PID-RANDOM)\n"
               "  --max-tasks N       tasks run at once (default 1)\n"
               "  --threads N         engine threads per task (default cores / max-tasks)\n"
               "  --backend B         auto (every usable GPU, then the CPU; default), cpu, vulkan\n"
               "                      (every Vulkan device) or vulkan:N: one executor per device\n"
               "  --models DIR        local model repository (default $LEGACYGPU_MODELS or ./models)\n"
               "  --cache DIR         where models fetched from the coordinator are kept\n"
               "  --tag KEY=VALUE     a label tasks can require (repeatable, up to 8)\n"
               "  --heartbeat S       heartbeat interval in seconds (default 1)\n"
               "  --heartbeat-misses N  missed beats before the coordinator is presumed gone (default 3)\n"
               "  --curve-secret FILE this worker's CURVE key pair (legacygpu keygen); its public\n"
               "                      key must be in the coordinator's --curve-allow folder\n"
               "  --coordinator-key FILE  the coordinator's CURVE public key (with --curve-secret)\n");
}

enum {
    OPT_COORD = 1, OPT_ID, OPT_MAX_TASKS, OPT_THREADS, OPT_BACKEND, OPT_MODELS, OPT_CACHE, OPT_TAG, OPT_HEARTBEAT,
    OPT_MISSES, OPT_CURVE_SECRET, OPT_COORD_KEY, OPT_HELP,
};

static int parse_option(lg_worker_config *wc, const char **tags, int *n_tags, int opt, const char *arg)
{
    double v;
    switch (opt) {
    case OPT_COORD: wc->coordinator = arg; return LG_EXIT_OK;
    case OPT_ID: wc->worker_id = arg; return LG_EXIT_OK;
    case OPT_MAX_TASKS:
        if (lg_cli_number("--max-tasks", arg, 1, 1024, &v) != LG_EXIT_OK) return LG_EXIT_USAGE;
        wc->max_tasks = (int)v;
        return LG_EXIT_OK;
    case OPT_THREADS:
        if (lg_cli_number("--threads", arg, 0, 1024, &v) != LG_EXIT_OK) return LG_EXIT_USAGE;
        wc->threads = (int)v;
        return LG_EXIT_OK;
    case OPT_BACKEND: {
        lg_cli_engine e = LG_CLI_ENGINE_INIT;
        if (lg_cli_engine_opt(&e, LG_OPT_BACKEND, arg) != LG_EXIT_OK) return LG_EXIT_USAGE;
        wc->backend = arg;
        return LG_EXIT_OK;
    }
    case OPT_MODELS: wc->models_dir = arg; return LG_EXIT_OK;
    case OPT_CURVE_SECRET: wc->curve_secret = arg; return LG_EXIT_OK;
    case OPT_COORD_KEY: wc->coordinator_key = arg; return LG_EXIT_OK;
    case OPT_CACHE: wc->cache_dir = arg; return LG_EXIT_OK;
    case OPT_TAG:
        if (*n_tags == MAX_TAGS || !strchr(arg, '=') || arg[0] == '=' || strlen(arg) >= 64) {
            fprintf(stderr, "legacygpu: --tag expects KEY=VALUE (under 64 characters, at most %d), got '%s'\n",
                    MAX_TAGS, arg);
            return LG_EXIT_USAGE;
        }
        tags[(*n_tags)++] = arg;
        return LG_EXIT_OK;
    case OPT_HEARTBEAT: return lg_cli_number("--heartbeat", arg, 0.01, 3600, &wc->heartbeat_interval_s);
    case OPT_MISSES:
        if (lg_cli_number("--heartbeat-misses", arg, 1, 1000, &v) != LG_EXIT_OK) return LG_EXIT_USAGE;
        wc->heartbeat_misses = (int)v;
        return LG_EXIT_OK;
    default: usage(stderr); return LG_EXIT_USAGE;
    }
}

static int worker_start(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "coordinator", required_argument, 0, OPT_COORD },
        { "worker-id", required_argument, 0, OPT_ID },
        { "max-tasks", required_argument, 0, OPT_MAX_TASKS },
        { "threads", required_argument, 0, OPT_THREADS },
        { "backend", required_argument, 0, OPT_BACKEND },
        { "models", required_argument, 0, OPT_MODELS },
        { "cache", required_argument, 0, OPT_CACHE },
        { "tag", required_argument, 0, OPT_TAG },
        { "heartbeat", required_argument, 0, OPT_HEARTBEAT },
        { "heartbeat-misses", required_argument, 0, OPT_MISSES },
        { "curve-secret", required_argument, 0, OPT_CURVE_SECRET },
        { "coordinator-key", required_argument, 0, OPT_COORD_KEY },
        { "help", no_argument, 0, OPT_HELP },
        { 0, 0, 0, 0 },
    };
    lg_worker_config wc;
    lg_worker_config_defaults(&wc);
    wc.backend = "auto";
    const char *env_models = getenv("LEGACYGPU_MODELS");
    struct stat st;
    if (env_models && *env_models) wc.models_dir = env_models;
    else if (stat("models", &st) == 0 && S_ISDIR(st.st_mode)) wc.models_dir = "models";
    wc.coordinator = getenv("LEGACYGPU_COORDINATOR");
    if (!wc.coordinator || !*wc.coordinator) wc.coordinator = LG_DEFAULT_COORDINATOR;
    const char *tags[MAX_TAGS + 1] = { 0 };
    int n_tags = 0, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (opt == OPT_HELP || opt == 'h') {
            usage(stdout);
            return LG_EXIT_OK;
        }
        if (parse_option(&wc, tags, &n_tags, opt, optarg) != LG_EXIT_OK) return LG_EXIT_USAGE;
    }
    if (optind != argc) {
        fprintf(stderr, "legacygpu: unexpected argument '%s'\n", argv[optind]);
        return LG_EXIT_USAGE;
    }
    if (!wc.curve_secret != !wc.coordinator_key) {
        fprintf(stderr, "legacygpu: CURVE needs both --curve-secret FILE and --coordinator-key FILE\n");
        return LG_EXIT_USAGE;
    }
    wc.tags = n_tags ? tags : NULL;

    /* The signals are taken by sigwait on this thread; the worker's threads inherit
     * the mask, so stopping never runs in a signal handler. */
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    signal(SIGPIPE, SIG_IGN);

    lg_worker *w;
    int rc = lg_worker_start(&wc, &w);
    if (rc != LG_OK) return lg_cli_fail(rc, "worker start");
    printf("legacygpu: worker %s connecting to %s (max %d task%s, backend %s%s)\n", lg_worker_id(w), wc.coordinator,
           wc.max_tasks, wc.max_tasks == 1 ? "" : "s", wc.backend, wc.curve_secret ? ", CURVE" : "");
    fflush(stdout);
    int sig = 0;
    while (sigwait(&stop_set, &sig) != 0) continue;
    printf("legacygpu: worker %s stopping\n", lg_worker_id(w));
    fflush(stdout);
    lg_worker_stop(w);
    printf("legacygpu: worker stopped\n");
    return LG_EXIT_OK;
}

int lg_cmd_worker(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "start")) return worker_start(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "list")) {
        argv[1] = "workers"; /* the same as `cluster workers` */
        return lg_cmd_cluster(argc, argv);
    }
    bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
    usage(help ? stdout : stderr);
    return help ? LG_EXIT_OK : LG_EXIT_USAGE;
}
