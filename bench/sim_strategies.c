/*
 * sim_strategies.c: discrete-event simulation of a heterogeneous cluster under each
 * balancing strategy, in virtual time (nothing sleeps). It runs the real strategy table
 * (lg_strategy_get) on lg_worker_view structs it keeps the way the coordinator does
 * (in_flight, EWMA service time per model) and prints mean and p99 latency (arrival to
 * successful completion) per strategy as a Markdown table.
 *
 * The model: tasks arrive as a Poisson process into one FIFO queue at the coordinator
 * (retries go to its front). Whenever a task is queued and some worker has a free slot,
 * the strategy picks among the workers with a free slot. A worker runs up to 'capacity'
 * tasks at once, each taking its own service time (shifted exponential, mean 'mean_s',
 * between 0.5 and ~5 x mean); an attempt fails with probability 'fail', after its
 * service time, and the task is retried up to 3 attempts in all.
 *
 *   bash bench/sim_strategies.sh            (builds this file, runs it)
 *   sim_strategies [--tasks N] [--reps R] [--load F] [--flaky-fail P]
 *   (defaults: 5000 tasks, 10 seeds, load 0.8 of capacity, the flaky worker fails 10%)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/strategy.h"

#define MAX_ATTEMPTS 3
#define EWMA_ALPHA 0.2
#define MODEL "digits"

typedef struct sim_worker {
    const char *id;
    int capacity;
    double mean_s; /* mean service time of an attempt */
    double fail;   /* probability that an attempt fails */
} sim_worker;

/* One fast worker, two slow ones, one that fails now and then (--flaky-fail). */
static sim_worker cluster[] = {
    { "w1-fast", 2, 0.010, 0.00 },
    { "w2-slow", 2, 0.040, 0.00 },
    { "w3-slow", 2, 0.040, 0.00 },
    { "w4-flaky", 2, 0.015, 0.10 },
};
#define N_WORKERS ((int)(sizeof cluster / sizeof cluster[0]))
#define FLAKY 3

typedef struct event {
    double t;
    int kind; /* EV_ARRIVAL or EV_DONE */
    int task, worker;
    double dur;
    int ok;
} event;
enum { EV_ARRIVAL, EV_DONE };

typedef struct sim {
    uint64_t rng;
    event *heap;
    int n_heap, cap_heap;
    int *queue; /* deque of task indices */
    int q_head, q_len, q_cap;
    double *arrival;
    int *attempts;
    double *latency;
    int n_latency, n_failed;
    int64_t ran_on[N_WORKERS];
    lg_worker_view views[N_WORKERS];
    const lg_strategy_def *strategy;
    void *state;
    lg_task task; /* what the strategy sees: only the model matters here */
} sim;

static uint64_t rnd_u64(sim *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rnd_unit(sim *s) { return ((double)(rnd_u64(s) >> 11) + 0.5) * 0x1.0p-53; }
static double rnd_exp(sim *s, double mean) { return -mean * log(rnd_unit(s)); }

static void heap_push(sim *s, event e)
{
    if (s->n_heap == s->cap_heap) {
        s->cap_heap = s->cap_heap ? 2 * s->cap_heap : 1024;
        s->heap = realloc(s->heap, (size_t)s->cap_heap * sizeof *s->heap);
        if (!s->heap) abort();
    }
    int i = s->n_heap++;
    while (i > 0 && s->heap[(i - 1) / 2].t > e.t) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = e;
}

static event heap_pop(sim *s)
{
    event top = s->heap[0], last = s->heap[--s->n_heap];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= s->n_heap) break;
        if (c + 1 < s->n_heap && s->heap[c + 1].t < s->heap[c].t) c++;
        if (s->heap[c].t >= last.t) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->n_heap > 0) s->heap[i] = last;
    return top;
}

static void queue_push(sim *s, int task, int front)
{
    if (front) s->q_head = (s->q_head + s->q_cap - 1) % s->q_cap;
    s->queue[front ? s->q_head : (s->q_head + s->q_len) % s->q_cap] = task;
    s->q_len++;
}

static int queue_pop(sim *s)
{
    int t = s->queue[s->q_head];
    s->q_head = (s->q_head + 1) % s->q_cap;
    s->q_len--;
    return t;
}

/* The coordinator's EWMA of service time for the model on a worker. */
static void update_ewma(lg_worker_view *w, double service)
{
    if (w->n_ewma == 0) {
        snprintf(w->ewma_model[0], sizeof w->ewma_model[0], "%s", MODEL);
        w->ewma_s[0] = service;
        w->n_ewma = 1;
    } else {
        w->ewma_s[0] += EWMA_ALPHA * (service - w->ewma_s[0]);
    }
}

static void dispatch(sim *s, double now)
{
    while (s->q_len > 0) {
        const lg_worker_view *cand[N_WORKERS];
        int idx[N_WORKERS], n = 0;
        for (int i = 0; i < N_WORKERS; i++) {
            if (s->views[i].in_flight < s->views[i].info.capacity) {
                idx[n] = i;
                cand[n++] = &s->views[i];
            }
        }
        if (n == 0) return;
        int k = s->strategy->pick(s->state, &s->task, cand, n, now);
        if (k < 0 || k >= n) abort();
        int w = idx[k], task = queue_pop(s);
        const sim_worker *sw = &cluster[w];
        s->views[w].in_flight++;
        s->attempts[task]++;
        s->ran_on[w]++;
        double dur = sw->mean_s * 0.5 + rnd_exp(s, sw->mean_s * 0.5);
        int ok = rnd_unit(s) >= sw->fail;
        heap_push(s, (event){ now + dur, EV_DONE, task, w, dur, ok });
    }
}

typedef struct result {
    double mean, p99;
    int failed;
    int64_t ran_on[N_WORKERS];
} result;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs n_tasks arrivals at rate lambda with the given strategy; latencies are appended
 * to all (pooled over repetitions). */
static void run(lg_strategy_kind kind, int n_tasks, double lambda, uint64_t seed, double *all, int *n_all,
                result *r)
{
    sim s = { .rng = seed };
    s.q_cap = n_tasks + 1;
    s.queue = malloc((size_t)s.q_cap * sizeof *s.queue);
    s.arrival = calloc((size_t)n_tasks, sizeof *s.arrival);
    s.attempts = calloc((size_t)n_tasks, sizeof *s.attempts);
    s.latency = malloc((size_t)n_tasks * sizeof *s.latency);
    if (!s.queue || !s.arrival || !s.attempts || !s.latency) abort();
    for (int i = 0; i < N_WORKERS; i++) {
        snprintf(s.views[i].info.id, sizeof s.views[i].info.id, "%s", cluster[i].id);
        s.views[i].info.capacity = cluster[i].capacity;
    }
    s.task.model = MODEL;
    s.task.req.fp16 = -1;
    s.strategy = lg_strategy_get(kind);
    s.state = s.strategy->create ? s.strategy->create() : NULL;
    if (kind == LG_STRATEGY_ADAPTIVE) lg_strategy_adaptive_seed(s.state, seed);

    int arrived = 0;
    heap_push(&s, (event){ rnd_exp(&s, 1.0 / lambda), EV_ARRIVAL, 0, -1, 0, 1 });
    while (s.n_heap > 0) {
        event e = heap_pop(&s);
        if (e.kind == EV_ARRIVAL) {
            s.arrival[e.task] = e.t;
            queue_push(&s, e.task, 0);
            if (++arrived < n_tasks) heap_push(&s, (event){ e.t + rnd_exp(&s, 1.0 / lambda), EV_ARRIVAL, arrived, -1, 0, 1 });
        } else {
            lg_worker_view *w = &s.views[e.worker];
            w->in_flight--;
            if (s.strategy->observe) s.strategy->observe(s.state, w->info.id, MODEL, e.dur, e.ok);
            if (e.ok) {
                w->completed++;
                update_ewma(w, e.dur);
                s.latency[s.n_latency++] = e.t - s.arrival[e.task];
            } else {
                w->failed++;
                if (s.attempts[e.task] < MAX_ATTEMPTS) queue_push(&s, e.task, 1);
                else s.n_failed++;
            }
        }
        dispatch(&s, e.t);
    }

    double sum = 0;
    for (int i = 0; i < s.n_latency; i++) sum += s.latency[i];
    memcpy(all + *n_all, s.latency, (size_t)s.n_latency * sizeof *all);
    *n_all += s.n_latency;
    r->mean += sum / s.n_latency;
    r->failed += s.n_failed;
    for (int i = 0; i < N_WORKERS; i++) r->ran_on[i] += s.ran_on[i];
    if (s.strategy->destroy) s.strategy->destroy(s.state);
    free(s.heap);
    free(s.queue);
    free(s.arrival);
    free(s.attempts);
    free(s.latency);
}

int main(int argc, char **argv)
{
    int n_tasks = 5000, reps = 10;
    double load = 0.8;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--tasks") == 0) n_tasks = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--reps") == 0) reps = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--load") == 0) load = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--flaky-fail") == 0) cluster[FLAKY].fail = atof(argv[i + 1]);
        else {
            fprintf(stderr, "usage: sim_strategies [--tasks N] [--reps R] [--load F] [--flaky-fail P]\n");
            return 2;
        }
    }
    if (n_tasks < 1 || reps < 1 || load <= 0 || cluster[FLAKY].fail < 0 || cluster[FLAKY].fail >= 1) {
        fprintf(stderr, "sim_strategies: --tasks, --reps and --load must be positive, --flaky-fail in [0, 1)\n");
        return 2;
    }
    /* Capacity: successful completions per second with every slot busy. */
    double capacity = 0;
    for (int i = 0; i < N_WORKERS; i++) capacity += cluster[i].capacity * (1 - cluster[i].fail) / cluster[i].mean_s;
    double lambda = load * capacity;

    printf("Cluster:");
    for (int i = 0; i < N_WORKERS; i++)
        printf(" %s (capacity %d, mean %.0f ms, fails %.0f%%)%s", cluster[i].id, cluster[i].capacity,
               cluster[i].mean_s * 1e3, cluster[i].fail * 100, i + 1 < N_WORKERS ? "," : "");
    printf(".\nArrivals: Poisson, %.0f tasks/s (%.0f%% of %.0f tasks/s capacity); %d tasks x %d seeds.\n\n", lambda,
           load * 100, capacity, n_tasks, reps);
    printf("| strategy | mean ms | p99 ms | failed tasks |");
    for (int i = 0; i < N_WORKERS; i++) printf(" %s share |", cluster[i].id);
    printf("\n|---|---|---|---|");
    for (int i = 0; i < N_WORKERS; i++) printf("---|");
    printf("\n");

    double *all = malloc((size_t)n_tasks * (size_t)reps * sizeof *all);
    if (!all) return 1;
    for (int k = 0; k < LG_STRATEGY_COUNT; k++) {
        result r = { 0 };
        int n_all = 0;
        for (int rep = 0; rep < reps; rep++) run((lg_strategy_kind)k, n_tasks, lambda, 1000 + (uint64_t)rep, all, &n_all, &r);
        qsort(all, (size_t)n_all, sizeof *all, cmp_double);
        r.p99 = all[(size_t)ceil(0.99 * n_all) - 1];
        int64_t attempts = 0;
        for (int i = 0; i < N_WORKERS; i++) attempts += r.ran_on[i];
        printf("| %s | %.1f | %.1f | %d |", lg_strategy_name((lg_strategy_kind)k), r.mean / reps * 1e3, r.p99 * 1e3,
               r.failed);
        for (int i = 0; i < N_WORKERS; i++) printf(" %.0f%% |", 100.0 * (double)r.ran_on[i] / (double)attempts);
        printf("\n");
    }
    free(all);
    return 0;
}
