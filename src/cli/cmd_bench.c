/*
 * cmd_bench.c: `legacygpu bench MODEL [options]`: how fast a model runs here. Times the
 * model load, the session creation and the first run, then R timed runs after W warm-ups
 * on generated (or given) inputs, and prints min, median, p90, max, throughput and the
 * process's peak resident memory; --profile adds the time per op type and the slowest
 * nodes; --json prints one object instead.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli/bench_inputs.h"
#include "cli/cli.h"
#include "legacygpu/legacygpu.h"

#define MAX_DIM_SPECS 32
#define TOP_NODES 20
#define PROGRESS_AFTER_MS 1000.0

typedef struct bench_opts {
    const char *model;
    int batch, threads, runs, warmup, precision;
    const char *backend;
    bool json, profile;
    int n_dims, n_files;
    char *dims[MAX_DIM_SPECS];
    char *files[LG_BENCH_MAX_INPUTS];
} bench_opts;

typedef struct bench_stats {
    double load_ms, session_ms, first_ms;
    double min_ms, median_ms, p90_ms, max_ms, mean_ms, throughput, peak_rss_mb;
    double cpu_ms;              /* process CPU time (user + system) per timed run, all threads */
} bench_stats;

/* Per op type totals of a profile. */
typedef struct op_total {
    const char *op_type;
    int nodes;
    double ms;
} op_total;

static const struct {
    const char *name;
    int value;
} precisions[] = { { "fp32", 0 }, { "fp16", 1 } };

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Peak resident memory of this process image: VmHWM from /proc (getrusage's ru_maxrss
 * survives exec, so a big parent such as a Python driver would show through it), else
 * getrusage. */
static double peak_rss_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long long kb = -1;
    while (f && kb < 0 && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %lld kB", &kb) != 1) kb = -1;
    if (f) fclose(f);
    if (kb >= 0) return (double)kb / 1024.0;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)ru.ru_maxrss / 1024.0; /* Linux: kilobytes */
}

static double cpu_time_ms(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: legacygpu bench MODEL [options]\n"
               "  --batch N          value of each input's symbolic batch dimension (default 1)\n"
               "  --dim NAME=N       value of another symbolic dimension (default 32)\n"
               "  --input NAME=FILE  use this tensor file (.pb or .npy) for input NAME\n"
               "  --threads T        threads (default: all cores)\n"
               "  --runs R           timed runs (default 20)\n"
               "  --warmup W         untimed runs before them (default 3)\n"
               "  --backend B        cpu (default), auto, or a backend's name\n"
               "  --precision P      fp32 (default) or fp16 where a backend offers it\n"
               "  --profile          time per op type and the %d slowest nodes\n"
               "  --json             one JSON object on stdout\n",
            TOP_NODES);
}

static int parse_precision(const char *s, int *out)
{
    for (size_t i = 0; i < sizeof(precisions) / sizeof(precisions[0]); i++)
        if (!strcmp(s, precisions[i].name)) {
            *out = precisions[i].value;
            return LG_EXIT_OK;
        }
    fprintf(stderr, "legacygpu: --precision expects fp32 or fp16, got '%s'\n", s);
    return LG_EXIT_USAGE;
}

static int parse_dim(const char *s)
{
    const char *eq = strchr(s, '=');
    char *end;
    long long v = eq ? strtoll(eq + 1, &end, 10) : -1;
    if (!eq || eq == s || !eq[1] || *end || v < 1 || v > (1 << 24)) {
        fprintf(stderr, "legacygpu: --dim expects NAME=N with N in 1..%d, got '%s'\n", 1 << 24, s);
        return LG_EXIT_USAGE;
    }
    return LG_EXIT_OK;
}

static int parse_opts(int argc, char **argv, bench_opts *o)
{
    static const struct option longopts[] = {
        { "batch", required_argument, 0, 'b' },   { "threads", required_argument, 0, 't' },
        { "runs", required_argument, 0, 'r' },    { "warmup", required_argument, 0, 'w' },
        { "backend", required_argument, 0, 'B' }, { "precision", required_argument, 0, 'p' },
        { "json", no_argument, 0, 'j' },          { "profile", no_argument, 0, 'P' },
        { "input", required_argument, 0, 'i' },   { "dim", required_argument, 0, 'd' },
        { "help", no_argument, 0, 'h' },          { 0, 0, 0, 0 },
    };
    *o = (bench_opts){ .batch = 1, .runs = 20, .warmup = 3, .backend = "cpu" };
    int c, rc = LG_EXIT_OK;
    optind = 1;
    while (rc == LG_EXIT_OK && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': rc = lg_cli_int("--batch", optarg, 1, 1 << 20, &o->batch); break;
        case 't': rc = lg_cli_int("--threads", optarg, 0, 256, &o->threads); break;
        case 'r': rc = lg_cli_int("--runs", optarg, 1, 1000000, &o->runs); break;
        case 'w': rc = lg_cli_int("--warmup", optarg, 0, 1000000, &o->warmup); break;
        case 'B': o->backend = optarg; break;
        case 'p': rc = parse_precision(optarg, &o->precision); break;
        case 'j': o->json = true; break;
        case 'P': o->profile = true; break;
        case 'i':
            if (o->n_files == LG_BENCH_MAX_INPUTS || !strchr(optarg, '=')) {
                fprintf(stderr, "legacygpu: --input expects NAME=FILE (at most %d), got '%s'\n", LG_BENCH_MAX_INPUTS,
                        optarg);
                rc = LG_EXIT_USAGE;
            } else {
                o->files[o->n_files++] = optarg;
            }
            break;
        case 'd':
            if (o->n_dims == MAX_DIM_SPECS) {
                fprintf(stderr, "legacygpu: at most %d --dim options\n", MAX_DIM_SPECS);
                rc = LG_EXIT_USAGE;
            } else if ((rc = parse_dim(optarg)) == LG_EXIT_OK) {
                o->dims[o->n_dims++] = optarg;
            }
            break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return LG_EXIT_USAGE;
        }
    }
    if (rc != LG_EXIT_OK) return rc;
    if (optind + 1 != argc) {
        fprintf(stderr, "legacygpu: bench needs exactly one MODEL\n");
        usage(stderr);
        return LG_EXIT_USAGE;
    }
    o->model = argv[optind];
    return LG_EXIT_OK;
}

/* The progress line (stderr, terminals only, once the bench has taken a second). */
typedef struct progress {
    bool tty, shown;
    double start;
} progress;

static void progress_step(progress *p, const char *phase, int done, int total)
{
    if (!p->tty || now_ms() - p->start < PROGRESS_AFTER_MS) return;
    fprintf(stderr, "\r%s %d/%d ", phase, done, total);
    fflush(stderr);
    p->shown = true;
}

static void progress_end(progress *p)
{
    if (p->shown) fprintf(stderr, "\r%40s\r", "");
}

static int run_once(lg_session *s, const lg_bench_inputs *in, int n_out, lg_tensor **outs, double *ms)
{
    double t = now_ms();
    int rc = lg_session_run(s, in->n, (const char *const *)in->names, in->tensors, n_out, NULL, outs);
    *ms = now_ms() - t;
    for (int k = 0; k < n_out; k++) {
        lg_tensor_free(outs[k]);
        outs[k] = NULL;
    }
    return rc;
}

static void summarize(double *times, int n, int batch, bench_stats *st)
{
    qsort(times, (size_t)n, sizeof(double), cmp_double);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += times[i];
    st->min_ms = times[0];
    st->max_ms = times[n - 1];
    st->median_ms = n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
    int p90 = (int)ceil(0.9 * n) - 1;
    st->p90_ms = times[p90 < 0 ? 0 : p90];
    st->mean_ms = sum / n;
    st->throughput = st->median_ms > 0 ? batch * 1000.0 / st->median_ms : 0;
}

/* ---- profile ------------------------------------------------------------------------ */

static int cmp_entry_ms(const void *a, const void *b)
{
    const lg_profile_entry *x = a, *y = b;
    return (x->total_ms < y->total_ms) - (x->total_ms > y->total_ms);
}

static int cmp_op_ms(const void *a, const void *b)
{
    const op_total *x = a, *y = b;
    return (x->ms < y->ms) - (x->ms > y->ms);
}

/* Profile as JSON: per op type and the slowest nodes, in ms per run. */
static json_t *profile_json(lg_session *s, int runs)
{
    int n = 0;
    if (lg_session_profile(s, NULL, 0, &n) != LG_OK) return NULL;
    lg_profile_entry *e = calloc((size_t)n + 1, sizeof(*e));
    op_total *ops = calloc((size_t)n + 1, sizeof(*ops));
    json_t *j = NULL;
    if (!e || !ops || lg_session_profile(s, e, n, &n) != LG_OK) goto done;
    int n_ops = 0, timed = 0;
    double total = 0;
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < n_ops && strcmp(ops[k].op_type, e[i].op_type)) k++;
        if (k == n_ops) ops[n_ops++] = (op_total){ e[i].op_type, 0, 0 };
        ops[k].nodes++;
        ops[k].ms += e[i].total_ms / runs;
        total += e[i].total_ms / runs;
        if (e[i].count > 0) timed++;
    }
    qsort(ops, (size_t)n_ops, sizeof(*ops), cmp_op_ms);
    qsort(e, (size_t)n, sizeof(*e), cmp_entry_ms);
    json_t *by_op = json_array(), *nodes = json_array();
    for (int k = 0; k < n_ops; k++)
        json_array_append_new(by_op, json_pack("{s:s, s:i, s:f, s:f}", "op_type", ops[k].op_type, "nodes", ops[k].nodes,
                                               "ms", ops[k].ms, "share", total > 0 ? ops[k].ms / total : 0.0));
    for (int i = 0; i < n && i < TOP_NODES; i++)
        json_array_append_new(nodes, json_pack("{s:s, s:s, s:i, s:f, s:I}", "node", e[i].node, "op_type", e[i].op_type,
                                               "index", e[i].index, "ms", e[i].total_ms / runs, "count",
                                               (json_int_t)e[i].count));
    j = json_pack("{s:i, s:i, s:f, s:o, s:o}", "nodes", n, "timed_nodes", timed, "total_ms", total, "by_op", by_op,
                  "top_nodes", nodes);
done:
    free(e);
    free(ops);
    return j;
}

static void print_profile(json_t *p)
{
    size_t i;
    json_t *v;
    printf("profile (ms per run, %lld of %lld nodes timed):\n", (long long)json_integer_value(json_object_get(p, "timed_nodes")),
           (long long)json_integer_value(json_object_get(p, "nodes")));
    bool timed = json_integer_value(json_object_get(p, "timed_nodes")) > 0;
    if (!timed) printf("  (no node was timed: this build's executor does not report node times yet)\n");
    printf("  %-24s %6s %10s %7s\n", "op type", "nodes", "ms", "share");
    json_array_foreach(json_object_get(p, "by_op"), i, v)
        printf("  %-24s %6lld %10.3f %6.1f%%\n", json_string_value(json_object_get(v, "op_type")),
               (long long)json_integer_value(json_object_get(v, "nodes")), json_real_value(json_object_get(v, "ms")),
               100 * json_real_value(json_object_get(v, "share")));
    if (!timed) return;
    printf("  slowest nodes:\n");
    json_array_foreach(json_object_get(p, "top_nodes"), i, v)
        printf("  %4lld %-32s %-20s %10.3f\n", (long long)json_integer_value(json_object_get(v, "index")),
               json_string_value(json_object_get(v, "node")), json_string_value(json_object_get(v, "op_type")),
               json_real_value(json_object_get(v, "ms")));
}

/* ---- report ------------------------------------------------------------------------- */

static void report(const bench_opts *o, const lg_bench_inputs *in, int threads, const bench_stats *st, json_t *prof)
{
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
                              "model", o->model, "inputs", in->shapes, "batch", o->batch, "threads", threads, "backend",
                              o->backend, "precision", precisions[o->precision].name, "runs", o->runs, "warmup",
                              o->warmup, "load_ms", st->load_ms, "session_ms", st->session_ms, "first_run_ms",
                              st->first_ms, "min_ms", st->min_ms, "median_ms", st->median_ms, "mean_ms", st->mean_ms,
                              "p90_ms", st->p90_ms, "max_ms", st->max_ms, "throughput", st->throughput, "peak_rss_mb",
                              st->peak_rss_mb, "cpu_ms", st->cpu_ms);
        if (prof) json_object_set(j, "profile", prof);
        char *text = json_dumps(j, JSON_INDENT(2));
        puts(text);
        free(text);
        json_decref(j);
        return;
    }
    printf("model:       %s\n", o->model);
    printf("inputs:      %s\n", in->shapes);
    printf("setup:       batch %d, %d threads, backend %s, %s\n", o->batch, threads, o->backend,
           precisions[o->precision].name);
    printf("load:        %.1f ms\n", st->load_ms);
    printf("session:     %.1f ms\n", st->session_ms);
    printf("first run:   %.2f ms\n", st->first_ms);
    printf("runs:        %d after %d warm-up: min %.2f, median %.2f, p90 %.2f, max %.2f ms\n", o->runs, o->warmup,
           st->min_ms, st->median_ms, st->p90_ms, st->max_ms);
    printf("throughput:  %.1f inferences/s\n", st->throughput);
    printf("cpu time:    %.2f ms per run (all threads)\n", st->cpu_ms);
    printf("peak memory: %.1f MB (resident)\n", st->peak_rss_mb);
    if (prof) print_profile(prof);
}

int lg_cmd_bench(int argc, char **argv)
{
    bench_opts o;
    int urc = parse_opts(argc, argv, &o);
    if (urc < 0) return LG_EXIT_OK; /* --help */
    if (urc != LG_EXIT_OK) return urc;
    bench_stats st = { 0 };
    lg_model *m = NULL;
    lg_session *s = NULL;
    lg_bench_inputs in = { 0 };
    lg_tensor **outs = NULL;
    double *times = NULL;
    json_t *prof = NULL;
    int code = LG_EXIT_FAIL, rc;
    progress pg = { .tty = isatty(STDERR_FILENO) == 1, .start = now_ms() };

    double t0 = now_ms();
    if ((rc = lg_model_load(o.model, &m)) != LG_OK) return lg_cli_fail(rc, NULL);
    st.load_ms = now_ms() - t0;
    lg_session_options so = { .num_threads = o.threads, .backend = o.backend, .release_weights = 1,
                              .precision = o.precision };
    t0 = now_ms();
    if ((rc = lg_session_create(m, &so, &s)) != LG_OK) {
        lg_cli_fail(rc, o.model);
        goto done;
    }
    st.session_ms = now_ms() - t0;
    if ((rc = lg_bench_inputs_make(m, o.batch, o.n_dims, o.dims, o.n_files, o.files, &in)) != LG_OK) {
        lg_cli_fail(rc, o.model);
        goto done;
    }
    int n_out = lg_model_num_outputs(m);
    outs = calloc((size_t)n_out + 1, sizeof(*outs));
    times = calloc((size_t)o.runs, sizeof(*times));
    if (!outs || !times) {
        fprintf(stderr, "legacygpu: out of memory\n");
        goto done;
    }
    if ((rc = run_once(s, &in, n_out, outs, &st.first_ms)) != LG_OK) {
        lg_cli_fail(rc, o.model);
        goto done;
    }
    for (int i = 0; i < o.warmup; i++) {
        double ms;
        progress_step(&pg, "warm-up", i + 1, o.warmup);
        if ((rc = run_once(s, &in, n_out, outs, &ms)) != LG_OK) {
            lg_cli_fail(rc, o.model);
            goto done;
        }
    }
    if (o.profile && (rc = lg_session_set_profiling(s, 1)) != LG_OK) {
        lg_cli_fail(rc, o.model);
        goto done;
    }
    double cpu0 = cpu_time_ms();
    for (int i = 0; i < o.runs; i++) {
        progress_step(&pg, "run", i + 1, o.runs);
        if ((rc = run_once(s, &in, n_out, outs, &times[i])) != LG_OK) {
            lg_cli_fail(rc, o.model);
            goto done;
        }
    }
    st.cpu_ms = (cpu_time_ms() - cpu0) / o.runs;
    progress_end(&pg);
    if (o.profile) prof = profile_json(s, o.runs);
    summarize(times, o.runs, o.batch, &st);
    st.peak_rss_mb = peak_rss_mb();
    lg_system_info si;
    lg_system_info_get(&si);
    report(&o, &in, o.threads > 0 ? o.threads : si.num_threads, &st, prof);
    code = LG_EXIT_OK;
done:
    progress_end(&pg);
    json_decref(prof);
    if (s && o.profile) lg_session_set_profiling(s, 0);
    free(times);
    free(outs);
    lg_bench_inputs_free(&in);
    lg_session_free(s);
    lg_model_free(m);
    return code;
}
