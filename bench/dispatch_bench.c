/*
 * dispatch_bench.c: how fast the real coordinator core (lg_coord, in-memory store,
 * data_dir NULL) hands out tasks, per strategy. Simulated workers register and finish
 * every task the moment it is dispatched, so the numbers are the coordinator's own:
 * queue, registry, strategy, store updates, locking. One thread, no sockets.
 *
 *   bash bench/dispatch_bench.sh            (builds this file, runs it)
 *   dispatch_bench [--tasks N] [--workers W] [--capacity C]
 *
 * Prints a Markdown table: tasks submitted per second, dispatches per second
 * (lg_coord_next_dispatch alone, by the wall clock and per CPU second of this thread)
 * and full cycles per second (dispatch + completion).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/coordinator.h"
#include "cluster/strategy.h"
#include "legacygpu/status.h"

static double seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double mono(void) { return seconds(CLOCK_MONOTONIC); }
/* CPU time of this thread: what the coordinator itself costs, even on a busy machine. */
static double cpu(void) { return seconds(CLOCK_THREAD_CPUTIME_ID); }

static int fail(const char *what, int rc)
{
    fprintf(stderr, "dispatch_bench: %s: %s: %s\n", what, lg_strerror(rc), lg_last_error());
    return 1;
}

typedef struct outcome {
    double submit_s, dispatch_s, dispatch_cpu_s, cycle_s;
    int dispatched;
} outcome;

static int run(lg_strategy_kind kind, int n_tasks, int n_workers, int capacity, outcome *o)
{
    lg_coord_config cfg;
    lg_coord_config_defaults(&cfg);
    cfg.data_dir = NULL;
    cfg.strategy = kind;
    lg_coord *c;
    int rc = lg_coord_open(&cfg, &c);
    if (rc != LG_OK) return fail("lg_coord_open", rc);

    for (int i = 0; i < n_workers && rc == LG_OK; i++) {
        lg_worker_info info;
        memset(&info, 0, sizeof info);
        snprintf(info.id, sizeof info.id, "sim-%02d", i);
        snprintf(info.host, sizeof info.host, "127.0.0.1");
        info.n_backends = 1;
        snprintf(info.backends[0], sizeof info.backends[0], "cpu");
        info.cpu_threads = 2;
        info.capacity = capacity;
        rc = lg_coord_worker_hello(c, &info);
    }
    if (rc != LG_OK) return fail("lg_coord_worker_hello", rc);

    static const char body[] = "{\"inputs\": [{\"name\": \"x\", \"shape\": [1], \"datatype\": \"FP32\", \"data\": [1]}]}";
    double t0 = mono();
    for (int i = 0; i < n_tasks; i++) {
        lg_submit_request req = { .model = "digits", .priority = (lg_priority)(i % LG_PRIO_COUNT),
                                  .input_kind = LG_INPUT_JSON, .input = (const uint8_t *)body,
                                  .input_len = sizeof body - 1 };
        lg_submit_result res;
        rc = lg_coord_submit(c, &req, &res);
        if (rc != LG_OK) return fail("lg_coord_submit", rc);
    }
    o->submit_s += mono() - t0;

    /* Fill every free slot, then let the workers finish what they hold, until done. */
    char (*held_task)[LG_TASK_ID_LEN + 1] = malloc((size_t)n_workers * (size_t)capacity * sizeof *held_task);
    char (*held_worker)[64] = malloc((size_t)n_workers * (size_t)capacity * sizeof *held_worker);
    if (!held_task || !held_worker) return fail("malloc", LG_E_NOMEM);
    double t1 = mono(), in_dispatch = 0, in_dispatch_cpu = 0;
    int done = 0;
    while (done < n_tasks) {
        int n_held = 0;
        for (;;) {
            lg_task t;
            double d0 = mono(), c0 = cpu();
            rc = lg_coord_next_dispatch(c, &t, held_worker[n_held], sizeof held_worker[n_held]);
            in_dispatch_cpu += cpu() - c0;
            in_dispatch += mono() - d0;
            if (rc == LG_E_NOT_FOUND) break;
            if (rc != LG_OK) return fail("lg_coord_next_dispatch", rc);
            memcpy(held_task[n_held++], t.id, sizeof held_task[0]);
            lg_task_clear(&t);
        }
        if (n_held == 0) return fail("lg_coord_next_dispatch (nothing to send with tasks left)", LG_E_RUNTIME);
        for (int i = 0; i < n_held; i++) {
            rc = lg_coord_task_completed(c, held_worker[i], held_task[i], "{\"outputs\": []}", 0.001 * (1 + i % 4));
            if (rc != LG_OK) return fail("lg_coord_task_completed", rc);
        }
        done += n_held;
    }
    o->cycle_s += mono() - t1;
    o->dispatch_s += in_dispatch;
    o->dispatch_cpu_s += in_dispatch_cpu;
    o->dispatched += done;
    free(held_task);
    free(held_worker);

    lg_coord_stats st;
    rc = lg_coord_stats_get(c, &st);
    if (rc != LG_OK) return fail("lg_coord_stats_get", rc);
    if (st.tasks_by_state[LG_TASK_COMPLETED] != n_tasks) {
        fprintf(stderr, "dispatch_bench: %lld of %d tasks completed\n", (long long)st.tasks_by_state[LG_TASK_COMPLETED],
                n_tasks);
        return 1;
    }
    lg_coord_close(c);
    return 0;
}

int main(int argc, char **argv)
{
    int n_tasks = 20000, n_workers = 4, capacity = 8;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--tasks") == 0) n_tasks = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--workers") == 0) n_workers = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--capacity") == 0) capacity = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: dispatch_bench [--tasks N] [--workers W] [--capacity C]\n");
            return 2;
        }
    }
    if (n_tasks < 1 || n_workers < 1 || capacity < 1) {
        fprintf(stderr, "dispatch_bench: --tasks, --workers and --capacity must be positive\n");
        return 2;
    }
    printf("Coordinator core, in-memory store, %d tasks queued first, %d workers x %d slots finishing at once.\n\n",
           n_tasks, n_workers, capacity);
    printf("| strategy | submits/s | dispatches/s (next_dispatch alone) | dispatches per CPU second | dispatch + "
           "completion cycles/s |\n");
    printf("|---|---|---|---|---|\n");
    for (int k = 0; k < LG_STRATEGY_COUNT; k++) {
        outcome o = { 0 };
        if (run((lg_strategy_kind)k, n_tasks, n_workers, capacity, &o) != 0) return 1;
        printf("| %s | %.0f | %.0f | %.0f | %.0f |\n", lg_strategy_name((lg_strategy_kind)k), n_tasks / o.submit_s,
               o.dispatched / o.dispatch_s, o.dispatched / o.dispatch_cpu_s, o.dispatched / o.cycle_s);
    }
    return 0;
}
