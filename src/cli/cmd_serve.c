/*
 * cmd_serve.c: `legacygpu serve`, the embedded cluster: coordinator (SQLite store in
 * --data), its ZeroMQ endpoint, the REST API and N local workers in one process, until
 * SIGINT/SIGTERM or POST /cluster/shutdown; then it drains (no new tasks, running ones
 * finish), stops every part and exits 0.
 *
 * `legacygpu cluster start` and `legacygpu api start` run the same code with no local
 * workers and the endpoint on every interface (cmd_cluster.c passes argv[0] "start"),
 * and may --daemon: the process forks before any thread starts, the child binds the
 * ports and reports them through a pipe, and the parent prints them and exits.
 *
 * --tls-cert/--tls-key serve the API over https (api/tls.c); --curve-secret/--curve-allow
 * make the TCP worker endpoint ZeroMQ CURVE-encrypted and accept only the worker keys in
 * the allow folder (cluster/curve.c); local workers connect in memory and need no keys.
 *
 * Lines printed once everything listens (tests and scripts parse them):
 *   legacygpu: API http://127.0.0.1:8000     (https:// with --tls-cert)
 *   legacygpu: workers connect to tcp://127.0.0.1:5555
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "base/error.h"
#include "cli/cli.h"
#include "cluster/coord_net.h"
#include "cluster/coordinator.h"
#include "cluster/worker.h"
#include "legacygpu/legacygpu.h"

#define MAX_LOCAL_WORKERS 64
#define DRAIN_POLL_NS 20000000L /* 20 ms between checks while draining */

typedef struct serve_opts {
    bool coordinator_only; /* cluster start / api start */
    const char *models_dir, *data_dir, *tokens_file, *bind, *api_host, *backend, *pid_file, *log_file;
    const char *tls_cert, *tls_key, *curve_secret, *curve_allow;
    lg_strategy_kind strategy;
    int port, workers, max_tasks, max_attempts, heartbeat_misses;
    double heartbeat_s, drain_timeout_s, result_ttl_s, ageing_s;
    int64_t max_body_bytes;
    double max_queued_tasks, max_queued_mb, store_max_mb; /* -1: the core's default */
    bool daemon;
} serve_opts;

typedef struct serve_state {
    lg_coord *coord;
    lg_coord_net *net;
    lg_api *api;
    lg_worker *workers[MAX_LOCAL_WORKERS];
    int n_workers;
    char api_url[256];
    char endpoint[256];
} serve_state;

static void usage(FILE *f, bool coordinator_only)
{
    if (coordinator_only)
        fprintf(f, "usage: legacygpu cluster start [options]   (same as: legacygpu api start)\n"
                   "  coordinator and REST API, no local workers; workers join with\n"
                   "  'legacygpu worker start --coordinator tcp://HOST:5555'\n"
                   "  --bind-address EP   ZeroMQ endpoint for workers (default tcp://0.0.0.0:5555)\n"
                   "  --daemon            go to the background once the ports are bound\n"
                   "  --pid-file FILE     write the daemon's pid there (removed at exit)\n"
                   "  --log FILE          the daemon's output (default DATA/legacygpu.log)\n");
    else
        fprintf(f, "usage: legacygpu serve [options]\n"
                   "  coordinator, REST API and local workers in one process\n"
                   "  --workers N         local workers (default 2; 0: none)\n"
                   "  --max-tasks N       concurrent tasks per local worker (default 1)\n"
                   "  --backend B         local workers' backend: cpu (default), auto, vulkan or vulkan:N\n"
                   "  --bind EP           ZeroMQ endpoint for workers (default tcp://127.0.0.1:5555;\n"
                   "                      port 0 picks a free one)\n");
    fprintf(f, "  --port N            REST API port (default 8000; 0 picks a free one)\n"
               "  --api-host H        REST API address (default 127.0.0.1; 0.0.0.0 with --tokens)\n"
               "  --models DIR        model repository (default $LEGACYGPU_MODELS or ./models)\n"
               "  --data DIR          task store folder (default ./legacygpu-data)\n"
               "  --tokens FILE       bearer tokens, 'TOKEN ROLE' lines (role user or admin)\n"
               "  --strategy S        ROUND_ROBIN, LEAST_LOADED, GPU_MATCH, LATENCY_BASED or\n"
               "                      ADAPTIVE (default LEAST_LOADED)\n"
               "  --max-attempts N    tries per task before it fails (default 3)\n"
               "  --heartbeat S       heartbeat interval in seconds (default 1)\n"
               "  --heartbeat-misses N  missed beats before a worker is dead (default 3)\n"
               "  --drain-timeout S   on shutdown, wait this long for running tasks (default 30)\n"
               "  --max-body-bytes N  largest request body the API accepts (default 64 MiB)\n"
               "  --result-ttl S      keep finished tasks and results this long (default 86400)\n"
               "  --ageing S          a queued task gains a priority level every S seconds (default 10)\n"
               "  --tls-cert FILE     serve the API over https with this PEM certificate (chain)\n"
               "  --tls-key FILE      the certificate's PEM private key (with --tls-cert)\n"
               "  --curve-secret FILE the coordinator's CURVE key pair (legacygpu keygen): workers\n"
               "                      on the TCP endpoint must use CURVE with its public key\n"
               "  --curve-allow DIR   public keys of the workers allowed in (with --curve-secret)\n"

               "  --max-queued-tasks N  refuse tasks (503) while N wait (default: from RAM; 0: no bound)\n"
               "  --max-queued-mb N   refuse tasks (503) while queued inputs take N MiB (default RAM/4)\n"
               "  --store-max-mb N    task store budget: finished tasks are purged oldest first past\n"
               "                      it (default: half the free space at start; 0: no budget)\n");
}

/* ---- options --------------------------------------------------------------------- */

static const char *default_models_dir(void)
{
    const char *env = getenv("LEGACYGPU_MODELS");
    struct stat st;
    if (env && *env) return env;
    return stat("models", &st) == 0 && S_ISDIR(st.st_mode) ? "models" : NULL;
}

enum {
    OPT_MODELS = 1, OPT_WORKERS, OPT_PORT, OPT_BIND, OPT_DATA, OPT_TOKENS, OPT_STRATEGY, OPT_API_HOST,
    OPT_BACKEND, OPT_MAX_TASKS, OPT_MAX_ATTEMPTS, OPT_HEARTBEAT, OPT_MISSES, OPT_DRAIN, OPT_DAEMON, OPT_PID,
    OPT_LOG, OPT_MAX_BODY, OPT_TTL, OPT_AGEING, OPT_TLS_CERT, OPT_TLS_KEY, OPT_CURVE_SECRET, OPT_CURVE_ALLOW,
    OPT_MAX_QUEUED, OPT_MAX_QUEUED_MB, OPT_STORE_MAX, OPT_HELP,
};

static int parse_option(serve_opts *o, int opt, const char *arg)
{
    switch (opt) {
    case OPT_MODELS: o->models_dir = arg; return LG_EXIT_OK;
    case OPT_WORKERS: return lg_cli_int("--workers", arg, 0, MAX_LOCAL_WORKERS, &o->workers);
    case OPT_PORT: return lg_cli_int("--port", arg, 0, 65535, &o->port);
    case OPT_BIND: o->bind = arg; return LG_EXIT_OK;
    case OPT_DATA: o->data_dir = arg; return LG_EXIT_OK;
    case OPT_TOKENS: o->tokens_file = arg; return LG_EXIT_OK;
    case OPT_STRATEGY:
        if (lg_strategy_parse(arg, &o->strategy) == LG_OK) return LG_EXIT_OK;
        fprintf(stderr, "legacygpu: --strategy: %s\n", lg_last_error());
        return LG_EXIT_USAGE;
    case OPT_API_HOST: o->api_host = arg; return LG_EXIT_OK;
    case OPT_BACKEND: {
        lg_cli_engine e = LG_CLI_ENGINE_INIT;
        if (lg_cli_engine_opt(&e, LG_OPT_BACKEND, arg) != LG_EXIT_OK) return LG_EXIT_USAGE;
        o->backend = arg;
        return LG_EXIT_OK;
    }
    case OPT_MAX_TASKS: return lg_cli_int("--max-tasks", arg, 1, 1024, &o->max_tasks);
    case OPT_MAX_ATTEMPTS: return lg_cli_int("--max-attempts", arg, 1, 100, &o->max_attempts);
    case OPT_HEARTBEAT: return lg_cli_number("--heartbeat", arg, 0.001, 1e6, &o->heartbeat_s);
    case OPT_MISSES: return lg_cli_int("--heartbeat-misses", arg, 1, 1000, &o->heartbeat_misses);
    case OPT_DRAIN: return lg_cli_number("--drain-timeout", arg, 0.001, 1e6, &o->drain_timeout_s);
    case OPT_DAEMON: o->daemon = true; return LG_EXIT_OK;
    case OPT_PID: o->pid_file = arg; return LG_EXIT_OK;
    case OPT_LOG: o->log_file = arg; return LG_EXIT_OK;
    case OPT_TTL: return lg_cli_number("--result-ttl", arg, 1, 1e9, &o->result_ttl_s);
    case OPT_AGEING: return lg_cli_number("--ageing", arg, 0.001, 1e6, &o->ageing_s);
    case OPT_TLS_CERT: o->tls_cert = arg; return LG_EXIT_OK;
    case OPT_TLS_KEY: o->tls_key = arg; return LG_EXIT_OK;
    case OPT_CURVE_SECRET: o->curve_secret = arg; return LG_EXIT_OK;
    case OPT_CURVE_ALLOW: o->curve_allow = arg; return LG_EXIT_OK;
    case OPT_MAX_QUEUED: return lg_cli_number("--max-queued-tasks", arg, 0, 1e12, &o->max_queued_tasks);
    case OPT_MAX_QUEUED_MB: return lg_cli_number("--max-queued-mb", arg, 0, 1e9, &o->max_queued_mb);
    case OPT_STORE_MAX: return lg_cli_number("--store-max-mb", arg, 0, 1e9, &o->store_max_mb);
    case OPT_MAX_BODY: {
        char *end;
        long long v = strtoll(arg, &end, 10);
        if (*arg && !*end && v >= 1024) {
            o->max_body_bytes = v;
            return LG_EXIT_OK;
        }
        fprintf(stderr, "legacygpu: --max-body-bytes expects a byte count of at least 1024, got '%s'\n", arg);
        return LG_EXIT_USAGE;
    }
    default: return LG_EXIT_USAGE;
    }
}

static int parse_args(int argc, char **argv, serve_opts *o)
{
    static const struct option longopts[] = {
        { "models", required_argument, 0, OPT_MODELS },
        { "workers", required_argument, 0, OPT_WORKERS },
        { "port", required_argument, 0, OPT_PORT },
        { "bind", required_argument, 0, OPT_BIND },
        { "bind-address", required_argument, 0, OPT_BIND },
        { "data", required_argument, 0, OPT_DATA },
        { "tokens", required_argument, 0, OPT_TOKENS },
        { "strategy", required_argument, 0, OPT_STRATEGY },
        { "api-host", required_argument, 0, OPT_API_HOST },
        { "backend", required_argument, 0, OPT_BACKEND },
        { "max-tasks", required_argument, 0, OPT_MAX_TASKS },
        { "max-attempts", required_argument, 0, OPT_MAX_ATTEMPTS },
        { "heartbeat", required_argument, 0, OPT_HEARTBEAT },
        { "heartbeat-misses", required_argument, 0, OPT_MISSES },
        { "drain-timeout", required_argument, 0, OPT_DRAIN },
        { "daemon", no_argument, 0, OPT_DAEMON },
        { "pid-file", required_argument, 0, OPT_PID },
        { "log", required_argument, 0, OPT_LOG },
        { "max-body-bytes", required_argument, 0, OPT_MAX_BODY },
        { "result-ttl", required_argument, 0, OPT_TTL },
        { "ageing", required_argument, 0, OPT_AGEING },
        { "tls-cert", required_argument, 0, OPT_TLS_CERT },
        { "tls-key", required_argument, 0, OPT_TLS_KEY },
        { "curve-secret", required_argument, 0, OPT_CURVE_SECRET },
        { "curve-allow", required_argument, 0, OPT_CURVE_ALLOW },
        { "max-queued-tasks", required_argument, 0, OPT_MAX_QUEUED },
        { "max-queued-mb", required_argument, 0, OPT_MAX_QUEUED_MB },
        { "store-max-mb", required_argument, 0, OPT_STORE_MAX },
        { "help", no_argument, 0, OPT_HELP },
        { 0, 0, 0, 0 },
    };
    lg_coord_config defaults;
    lg_coord_config_defaults(&defaults);
    o->coordinator_only = !strcmp(argv[0], "start");
    o->models_dir = default_models_dir();
    o->data_dir = "legacygpu-data";
    o->bind = o->coordinator_only ? "tcp://0.0.0.0:5555" : "tcp://127.0.0.1:5555";
    o->backend = "cpu";
    o->strategy = defaults.strategy;
    o->port = 8000;
    o->workers = o->coordinator_only ? 0 : 2;
    o->max_tasks = 1;
    o->max_attempts = defaults.max_attempts;
    o->heartbeat_s = defaults.heartbeat_interval_s;
    o->heartbeat_misses = defaults.heartbeat_misses;
    o->drain_timeout_s = 30.0;
    o->max_body_bytes = defaults.max_body_bytes;
    o->result_ttl_s = defaults.result_ttl_s;
    o->ageing_s = defaults.ageing_s;
    o->max_queued_tasks = o->max_queued_mb = o->store_max_mb = -1;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (opt == OPT_HELP || opt == 'h') {
            usage(stdout, o->coordinator_only);
            return -1;
        }
        if (opt == '?' || parse_option(o, opt, optarg) != LG_EXIT_OK) {
            usage(stderr, o->coordinator_only);
            return LG_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "legacygpu: unexpected argument '%s'\n", argv[optind]);
        return LG_EXIT_USAGE;
    }
    if (o->daemon && !o->coordinator_only) {
        fprintf(stderr, "legacygpu: --daemon is for 'cluster start'; run serve under a service manager\n");
        return LG_EXIT_USAGE;
    }
    if (!o->tls_cert != !o->tls_key) {
        fprintf(stderr, "legacygpu: https needs both --tls-cert FILE and --tls-key FILE\n");
        return LG_EXIT_USAGE;
    }
    if (!o->curve_secret != !o->curve_allow) {
        fprintf(stderr, "legacygpu: CURVE needs both --curve-secret FILE and --curve-allow DIR\n");
        return LG_EXIT_USAGE;
    }
    if (!o->api_host) o->api_host = o->tokens_file ? "0.0.0.0" : "127.0.0.1";
    return LG_EXIT_OK;
}

/* ---- starting and stopping ------------------------------------------------------ */

/* The address local clients use for a host the server listens on. */
static const char *connect_host(const char *host)
{
    return !strcmp(host, "0.0.0.0") || !strcmp(host, "*") || !strcmp(host, "::") ? "127.0.0.1" : host;
}

/* "tcp://0.0.0.0:PORT" or a wildcard host -> "tcp://127.0.0.1:PORT" for local workers. */
static void local_endpoint(const char *ep, char *out, size_t n)
{
    const char *hostp = strstr(ep, "://");
    const char *colon = strrchr(ep, ':');
    if (!hostp || colon <= hostp + 3) {
        snprintf(out, n, "%s", ep);
        return;
    }
    char host[128];
    snprintf(host, sizeof(host), "%.*s", (int)(colon - hostp - 3), hostp + 3);
    snprintf(out, n, "%.*s://%s%s", (int)(hostp - ep), ep, connect_host(host), colon);
}

/* POST /cluster/shutdown: wake the main thread, which waits for SIGTERM. */
static void on_api_shutdown(void *arg)
{
    (void)arg;
    kill(getpid(), SIGTERM);
}

static int start_all(const serve_opts *o, serve_state *s)
{
    lg_coord_config cc;
    lg_coord_config_defaults(&cc);
    cc.data_dir = o->data_dir;
    cc.models_dir = o->models_dir;
    cc.strategy = o->strategy;
    cc.max_attempts = o->max_attempts;
    cc.heartbeat_interval_s = o->heartbeat_s;
    cc.heartbeat_misses = o->heartbeat_misses;
    cc.max_body_bytes = o->max_body_bytes;
    cc.result_ttl_s = o->result_ttl_s;
    /* 0 on the command line: no bound (the core's <= 0); unset: the core's default. */
    if (o->max_queued_tasks >= 0) cc.max_queued_tasks = (int64_t)o->max_queued_tasks;
    if (o->max_queued_mb >= 0) cc.max_queued_bytes = (int64_t)(o->max_queued_mb * 1048576.0);
    if (o->store_max_mb == 0) cc.store_max_bytes = -1;
    else if (o->store_max_mb > 0) cc.store_max_bytes = (int64_t)(o->store_max_mb * 1048576.0);
    cc.ageing_s = o->ageing_s;
    int rc = lg_coord_open(&cc, &s->coord);
    if (rc != LG_OK) return lg_error_prefix(rc, "coordinator (store in '%s')", o->data_dir);
    rc = lg_coord_net_start_curve(s->coord, o->bind, o->curve_secret, o->curve_allow, &s->net);
    if (rc != LG_OK) return lg_error_prefix(rc, "worker endpoint %s", o->bind);
    local_endpoint(lg_coord_net_endpoint(s->net), s->endpoint, sizeof(s->endpoint));

    lg_api_config ac;
    lg_api_config_defaults(&ac);
    ac.bind_host = o->api_host;
    ac.port = o->port;
    ac.tokens_file = o->tokens_file;
    ac.tls_cert_file = o->tls_cert;
    ac.tls_key_file = o->tls_key;
    ac.max_body_bytes = o->max_body_bytes;
    ac.on_shutdown = on_api_shutdown;
    rc = lg_api_start(s->coord, &ac, &s->api);
    if (rc != LG_OK) return lg_error_prefix(rc, "REST API on %s:%d", o->api_host, o->port);
    snprintf(s->api_url, sizeof(s->api_url), "%s://%s:%d", o->tls_cert ? "https" : "http", connect_host(o->api_host),
             lg_api_port(s->api));

    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int slots = o->workers * o->max_tasks;
    for (int i = 0; i < o->workers; i++) {
        char id[64];
        snprintf(id, sizeof(id), "local-%d", i + 1);
        lg_worker_config wc;
        lg_worker_config_defaults(&wc);
        wc.coordinator = lg_coord_net_local_endpoint(s->net); /* in memory: same process */
        wc.worker_id = id;
        wc.models_dir = o->models_dir;
        wc.backend = o->backend;
        wc.max_tasks = o->max_tasks;
        wc.threads = cores > slots ? (int)(cores / slots) : 1;
        wc.heartbeat_interval_s = o->heartbeat_s;
        wc.heartbeat_misses = o->heartbeat_misses;
        rc = lg_worker_start(&wc, &s->workers[s->n_workers]);
        if (rc != LG_OK) return lg_error_prefix(rc, "local worker %s", id);
        s->n_workers++;
    }
    return LG_OK;
}

static int64_t tasks_in_flight(lg_coord *c)
{
    lg_coord_stats st;
    if (lg_coord_stats_get(c, &st) != LG_OK) return 0;
    return st.tasks_by_state[LG_TASK_DISPATCHED] + st.tasks_by_state[LG_TASK_RUNNING];
}

/* Stops accepting, lets running tasks finish (up to the drain timeout), then stops the
 * API, the local workers, the endpoint and the store, in that order. */
static void stop_all(serve_state *s, double drain_timeout_s)
{
    if (s->coord && s->net) {
        lg_coord_drain(s->coord);
        double deadline = lg_now() + drain_timeout_s;
        while (tasks_in_flight(s->coord) > 0 && lg_now() < deadline)
            nanosleep(&(struct timespec){ 0, DRAIN_POLL_NS }, NULL);
    }
    if (s->api) lg_api_stop(s->api);
    for (int i = s->n_workers - 1; i >= 0; i--) lg_worker_stop(s->workers[i]);
    if (s->net) lg_coord_net_stop(s->net);
    if (s->coord) lg_coord_close(s->coord);
    memset(s, 0, sizeof(*s));
}

static void write_pid_file(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "legacygpu: cannot write the pid file '%s': %s\n", path, strerror(errno));
        return;
    }
    fprintf(f, "%ld\n", (long)getpid());
    fclose(f);
}

/* The daemon's child: a new session, stdin from /dev/null, output to the log. */
static void detach(const serve_opts *o)
{
    char log[1024];
    if (o->log_file) snprintf(log, sizeof(log), "%s", o->log_file);
    else snprintf(log, sizeof(log), "%s/legacygpu.log", o->data_dir);
    setsid();
    int in = open("/dev/null", O_RDONLY);
    mkdir(o->data_dir, 0755);
    int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in >= 0) dup2(in, STDIN_FILENO);
    if (out < 0) out = open("/dev/null", O_WRONLY);
    if (out >= 0) {
        dup2(out, STDOUT_FILENO);
        dup2(out, STDERR_FILENO);
    }
    if (in > STDERR_FILENO) close(in);
    if (out > STDERR_FILENO) close(out);
}

/* In the parent of a daemon: relays what the child reports and exits with its verdict. */
static int relay_daemon(int fd, pid_t child)
{
    char buf[2048];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof(buf) - 1 && ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0 || (n < 0 && errno == EINTR)))
        if (n > 0) len += (size_t)n;
    buf[len] = '\0';
    close(fd);
    if (strncmp(buf, "ok\n", 3) != 0) {
        fprintf(stderr, "%s", len ? buf : "legacygpu: the daemon exited before it was ready\n");
        return LG_EXIT_FAIL;
    }
    fputs(buf + 3, stdout);
    printf("legacygpu: daemon pid %ld\n", (long)child);
    return LG_EXIT_OK;
}

int lg_cmd_serve(int argc, char **argv)
{
    serve_opts o;
    memset(&o, 0, sizeof(o));
    int rc = parse_args(argc, argv, &o);
    if (rc != LG_EXIT_OK) return rc < 0 ? LG_EXIT_OK : rc;

    int report = -1; /* the daemon's pipe to its parent */
    if (o.daemon) {
        int fds[2];
        if (pipe(fds) != 0) return lg_cli_fail(lg_error(LG_E_IO, "pipe: %s", strerror(errno)), "daemon");
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) return lg_cli_fail(lg_error(LG_E_IO, "fork: %s", strerror(errno)), "daemon");
        if (pid > 0) {
            close(fds[1]);
            return relay_daemon(fds[0], pid);
        }
        close(fds[0]);
        report = fds[1];
        detach(&o);
    }

    /* Every thread started from here on inherits this mask; the main thread takes the
     * signals with sigwait, so shutdown runs here, never in a handler. */
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    signal(SIGPIPE, SIG_IGN);

    serve_state s;
    memset(&s, 0, sizeof(s));
    rc = start_all(&o, &s);
    if (rc != LG_OK) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "legacygpu: %s\n", lg_last_error());
        stop_all(&s, 0);
        if (report >= 0) {
            ssize_t w = write(report, msg, strlen(msg));
            (void)w;
            close(report);
        }
        fputs(msg, stderr);
        return LG_EXIT_FAIL;
    }
    if (o.pid_file) write_pid_file(o.pid_file);

    char lines[1024];
    snprintf(lines, sizeof(lines), "legacygpu: API %s\nlegacygpu: workers connect to %s\n", s.api_url, s.endpoint);
    fputs(lines, stdout);
    printf("legacygpu: %d local worker%s, strategy %s, store in %s, models from %s\n", s.n_workers,
           s.n_workers == 1 ? "" : "s", lg_strategy_name(o.strategy), o.data_dir,
           o.models_dir ? o.models_dir : "(none)");
    fflush(stdout);
    if (report >= 0) {
        char msg[1100];
        snprintf(msg, sizeof(msg), "ok\n%s", lines);
        ssize_t w = write(report, msg, strlen(msg));
        (void)w;
        close(report);
    }

    int sig = 0;
    while (sigwait(&stop_set, &sig) != 0) continue;
    printf("legacygpu: %s: draining\n", sig == SIGINT ? "interrupted" : "stopping");
    fflush(stdout);
    stop_all(&s, o.drain_timeout_s);
    if (o.pid_file) unlink(o.pid_file);
    printf("legacygpu: stopped\n");
    return LG_EXIT_OK;
}
