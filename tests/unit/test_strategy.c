/*
 * test_strategy.c: each balancing strategy picks what docs/strategies.md says on
 * simulated workers (lg_worker_view arrays filled in by hand), the requirement filter,
 * and the names of strategies and worker states.
 */
#include "lg_test.h"
#include "cluster/strategy.h"

/* A worker with an id, capacity, tasks in flight and optional EWMA for "m". */
static lg_worker_view worker(const char *id, int capacity, int in_flight, double ewma_s)
{
    lg_worker_view w;
    memset(&w, 0, sizeof w);
    snprintf(w.info.id, sizeof w.info.id, "%s", id);
    w.info.capacity = capacity;
    w.in_flight = in_flight;
    if (ewma_s > 0) {
        w.n_ewma = 1;
        snprintf(w.ewma_model[0], sizeof w.ewma_model[0], "m");
        w.ewma_s[0] = ewma_s;
    }
    return w;
}

static void add_device(lg_worker_view *w, const char *vendor, const char *backend, int64_t memory_mb, bool fp16)
{
    lg_device_info *d = &w->info.devices[w->info.n_devices++];
    snprintf(d->name, sizeof d->name, "%s device", vendor);
    snprintf(d->vendor, sizeof d->vendor, "%s", vendor);
    snprintf(d->backend, sizeof d->backend, "%s", backend);
    d->memory_mb = memory_mb;
    d->fp16 = fp16;
    snprintf(w->info.backends[w->info.n_backends++], sizeof w->info.backends[0], "%s", backend);
}

static void *make(const lg_strategy_def *s) { return s->create ? s->create() : NULL; }
static void unmake(const lg_strategy_def *s, void *st)
{
    if (s->destroy) s->destroy(st);
}

static lg_task task_for(const char *model)
{
    lg_task t;
    memset(&t, 0, sizeof t);
    t.model = (char *)model;
    t.req.fp16 = -1;
    return t;
}

/* pick() over views[0..n) through a pointer array; returns the picked worker's id. */
static const char *pick(const lg_strategy_def *s, void *st, const lg_task *t, lg_worker_view *views, int n, double now)
{
    const lg_worker_view *cand[16];
    assert_true(n <= 16);
    for (int i = 0; i < n; i++) cand[i] = &views[i];
    int k = s->pick(st, t, cand, n, now);
    assert_in_range(k, 0, n - 1);
    return views[k].info.id;
}

static void test_names(void **state)
{
    (void)state;
    for (int k = 0; k < LG_STRATEGY_COUNT; k++) {
        lg_strategy_kind got;
        assert_int_equal(lg_strategy_parse(lg_strategy_name((lg_strategy_kind)k), &got), LG_OK);
        assert_int_equal(got, k);
        const lg_strategy_def *s = lg_strategy_get((lg_strategy_kind)k);
        assert_non_null(s);
        assert_int_equal(s->kind, k);
        assert_string_equal(s->name, lg_strategy_name((lg_strategy_kind)k));
        assert_true(strlen(s->summary) > 20);
        assert_true((s->create == NULL) == (s->destroy == NULL)); /* state: made and freed */
        assert_non_null(s->pick);
    }
    lg_strategy_kind k;
    assert_int_equal(lg_strategy_parse("least_loaded", &k), LG_OK);
    assert_int_equal(k, LG_STRATEGY_LEAST_LOADED);
    assert_error(lg_strategy_parse("FASTEST", &k), LG_E_INVALID_ARG, "'FASTEST' (valid: ROUND_ROBIN");
    assert_null(lg_strategy_name(LG_STRATEGY_COUNT));
    assert_null(lg_strategy_get(LG_STRATEGY_COUNT));

    lg_worker_status ws;
    assert_int_equal(lg_worker_status_parse("Draining", &ws), LG_OK);
    assert_int_equal(ws, LG_WORKER_DRAINING);
    assert_string_equal(lg_worker_status_name(LG_WORKER_DEAD), "dead");
    assert_string_equal(lg_worker_status_name(LG_WORKER_IDLE), "idle");
    assert_error(lg_worker_status_parse("asleep", &ws), LG_E_INVALID_ARG, "idle, busy, draining, dead");
}

static void test_requirements(void **state)
{
    (void)state;
    lg_worker_view gpu = worker("gpu", 1, 0, 0), cpu = worker("cpu", 1, 0, 0);
    add_device(&gpu, "AMD", "vulkan", 4096, true);
    add_device(&gpu, "cpu", "cpu", 16384, false);
    snprintf(gpu.info.tags[gpu.info.n_tags++], 64, "room=lab2");
    snprintf(cpu.info.backends[cpu.info.n_backends++], 16, "cpu");

    lg_requirements r = { .fp16 = -1 };
    assert_true(lg_requirements_met(&r, &gpu.info));
    assert_true(lg_requirements_met(&r, &cpu.info));
    assert_true(lg_requirements_met(NULL, &cpu.info));

    r.min_memory_mb = 4096; /* memory: exactly enough passes, one more fails */
    assert_true(lg_requirements_met(&r, &gpu.info));
    assert_false(lg_requirements_met(&r, &cpu.info));
    r.min_memory_mb = 4097;
    snprintf(r.backend, sizeof r.backend, "vulkan"); /* the device with the memory must be Vulkan */
    assert_false(lg_requirements_met(&r, &gpu.info));
    r.min_memory_mb = 0;
    assert_true(lg_requirements_met(&r, &gpu.info)); /* backend */
    assert_false(lg_requirements_met(&r, &cpu.info));
    snprintf(r.backend, sizeof r.backend, "CPU");
    assert_true(lg_requirements_met(&r, &cpu.info));
    r.backend[0] = 0;

    snprintf(r.device_vendor, sizeof r.device_vendor, "amd"); /* vendor, case-insensitive */
    assert_true(lg_requirements_met(&r, &gpu.info));
    assert_false(lg_requirements_met(&r, &cpu.info));
    snprintf(r.device_vendor, sizeof r.device_vendor, "nvidia");
    assert_false(lg_requirements_met(&r, &gpu.info));
    r.device_vendor[0] = 0;

    r.fp16 = 1; /* fp16 */
    assert_true(lg_requirements_met(&r, &gpu.info));
    assert_false(lg_requirements_met(&r, &cpu.info));
    r.fp16 = 0; /* 0 asks for nothing, like -1 */
    assert_true(lg_requirements_met(&r, &cpu.info));

    snprintf(r.tags[r.n_tags++], 64, "room=lab2"); /* tags: each must be carried */
    assert_true(lg_requirements_met(&r, &gpu.info));
    assert_false(lg_requirements_met(&r, &cpu.info));
    snprintf(r.tags[r.n_tags++], 64, "owner=ana");
    assert_false(lg_requirements_met(&r, &gpu.info));
}

static void test_round_robin_cycles(void **state)
{
    (void)state;
    const lg_strategy_def *s = lg_strategy_get(LG_STRATEGY_ROUND_ROBIN);
    void *st = make(s);
    lg_task t = task_for("m");
    /* Given out of order and with different loads: the rotation follows the ids. */
    lg_worker_view v[3] = { worker("c", 1, 0, 0), worker("a", 8, 7, 0), worker("b", 1, 0, 0) };
    const char *want[] = { "a", "b", "c", "a", "b", "c", "a" };
    for (int i = 0; i < 7; i++) assert_string_equal(pick(s, st, &t, v, 3, i), want[i]);
    /* "b" not eligible now: after "a" comes "c", then it wraps. */
    lg_worker_view ac[2] = { worker("a", 1, 0, 0), worker("c", 1, 0, 0) };
    assert_string_equal(pick(s, st, &t, ac, 2, 8), "c");
    assert_string_equal(pick(s, st, &t, ac, 2, 9), "a");
    assert_string_equal(pick(s, st, &t, v, 3, 10), "b");
    unmake(s, st);
}

static void test_least_loaded(void **state)
{
    (void)state;
    const lg_strategy_def *s = lg_strategy_get(LG_STRATEGY_LEAST_LOADED);
    void *st = make(s);
    lg_task t = task_for("m");
    lg_worker_view idle[3] = { worker("a", 2, 1, 0), worker("b", 2, 0, 0), worker("c", 2, 1, 0) };
    assert_string_equal(pick(s, st, &t, idle, 3, 0), "b");
    /* The ratio counts: 2 of 8 (0.25) beats 1 of 2 (0.5). */
    lg_worker_view ratio[2] = { worker("a", 2, 1, 0), worker("b", 8, 2, 0) };
    assert_string_equal(pick(s, st, &t, ratio, 2, 0), "b");
    /* Equal ratios: fewer in flight, then the smaller id. */
    lg_worker_view ties[3] = { worker("z", 4, 2, 0), worker("y", 2, 1, 0), worker("x", 2, 1, 0) };
    assert_string_equal(pick(s, st, &t, ties, 3, 0), "x");
    unmake(s, st);
}

static void test_gpu_match(void **state)
{
    (void)state;
    const lg_strategy_def *s = lg_strategy_get(LG_STRATEGY_GPU_MATCH);
    void *st = make(s);
    lg_worker_view v[3] = { worker("big", 1, 0, 0), worker("small", 1, 0, 0), worker("cpu", 1, 0, 0) };
    add_device(&v[0], "nvidia", "vulkan", 8192, true);
    add_device(&v[1], "amd", "vulkan", 4096, false);
    add_device(&v[2], "cpu", "cpu", 32768, false);

    /* A 3 GB task: the 4 GB card, not the 8 GB one (the coordinator filtered "cpu" out). */
    lg_task t = task_for("m");
    t.req.min_memory_mb = 3072;
    snprintf(t.req.backend, sizeof t.req.backend, "vulkan");
    assert_string_equal(pick(s, st, &t, v, 2, 0), "small");
    /* A 6 GB task: only the 8 GB card fits. */
    t.req.min_memory_mb = 6144;
    lg_worker_view only_big[1] = { v[0] };
    assert_string_equal(pick(s, st, &t, only_big, 1, 0), "big");
    /* fp16 required: the small card lacks it, so the big one is the tightest fit. */
    t.req.min_memory_mb = 1024;
    t.req.fp16 = 1;
    assert_string_equal(pick(s, st, &t, v, 3, 0), "big");

    /* No device requirements: the least capable worker, keeping the GPUs free ... */
    lg_task any = task_for("m");
    assert_string_equal(pick(s, st, &any, v, 3, 0), "cpu");
    /* ... then the smaller GPU; ties go to the less loaded worker. */
    assert_string_equal(pick(s, st, &any, v, 2, 0), "small");
    lg_worker_view twins[2] = { worker("t1", 2, 2, 0), worker("t2", 2, 1, 0) };
    add_device(&twins[0], "amd", "vulkan", 4096, false);
    add_device(&twins[1], "amd", "vulkan", 4096, false);
    t.req.fp16 = -1;
    assert_string_equal(pick(s, st, &t, twins, 2, 0), "t2");
    assert_string_equal(pick(s, st, &any, twins, 2, 0), "t2");
    unmake(s, st);
}

static void test_latency_based(void **state)
{
    (void)state;
    const lg_strategy_def *s = lg_strategy_get(LG_STRATEGY_LATENCY_BASED);
    void *st = make(s);
    lg_task t = task_for("m");
    /* fast: 10 ms, slow: 45 ms, both with 8 slots. The fast one wins while
     * (k + 1) / 8 x 10 ms < 1 / 8 x 45 ms, i.e. for k = 0..3 in flight; at 4 the slow
     * one is better. */
    lg_worker_view v[2] = { worker("fast", 8, 0, 0.010), worker("slow", 8, 0, 0.045) };
    for (int k = 0; k < 4; k++) {
        assert_string_equal(pick(s, st, &t, v, 2, 0), "fast");
        v[0].in_flight++;
    }
    assert_string_equal(pick(s, st, &t, v, 2, 0), "slow");
    v[1].in_flight++;
    assert_string_equal(pick(s, st, &t, v, 2, 0), "fast"); /* 5/8 x 10 < 2/8 x 45 */

    /* A worker that never ran the model is assumed to take the mean of those that did
     * (25 ms): 1/4 x 25 beats fast's 4/4 x 10 and slow's 1/4 x 40. */
    lg_worker_view fresh[3] = { worker("fast", 4, 3, 0.010), worker("slow", 4, 0, 0.040), worker("new", 4, 0, 0) };
    assert_string_equal(pick(s, st, &t, fresh, 3, 0), "new");
    assert_true(lg_worker_expected_service(&fresh[2], "m", 0.025) == 0.025);
    assert_true(lg_worker_expected_service(&fresh[1], "m", 0.025) == 0.040);
    assert_true(lg_worker_expected_service(&fresh[1], "other", 0) > 0);
    unmake(s, st);
}

/* Runs 'picks' decisions between A (fast) and B (slow), both idle, and reports the
 * outcome at once: A fails while a_fails; returns how many of the last 'tail' went to A. */
static int run_ab(const lg_strategy_def *s, void *st, double *now, int picks, int tail, bool a_fails)
{
    lg_task t = task_for("m");
    lg_worker_view v[2] = { worker("A", 1, 0, 0), worker("B", 1, 0, 0) };
    int to_a = 0;
    for (int i = 0; i < picks; i++) {
        *now += 0.1;
        const char *id = pick(s, st, &t, v, 2, *now);
        bool is_a = strcmp(id, "A") == 0;
        s->observe(st, id, "m", is_a ? 0.010 : 0.030, !(is_a && a_fails));
        if (is_a && i >= picks - tail) to_a++;
    }
    return to_a;
}

static void test_adaptive_failures(void **state)
{
    (void)state;
    const lg_strategy_def *s = lg_strategy_get(LG_STRATEGY_ADAPTIVE);
    assert_non_null(s->observe);
    void *st = make(s);
    lg_strategy_adaptive_seed(st, 42);
    double now = 0;
    /* Healthy: nearly everything goes to the faster A. */
    int a = run_ab(s, st, &now, 300, 200, false);
    assert_true(a >= 190);
    /* A starts failing: its traffic moves to B. */
    a = run_ab(s, st, &now, 300, 200, true);
    assert_true(a <= 20);
    /* A recovers: old failures fade, A is tried again and wins its traffic back. */
    a = run_ab(s, st, &now, 600, 200, false);
    assert_true(a >= 190);
    unmake(s, st);
}

static void test_adaptive_slowdown_and_queue(void **state)
{
    (void)state;
    const lg_strategy_def *s = lg_strategy_get(LG_STRATEGY_ADAPTIVE);
    void *st = make(s);
    lg_task t = task_for("m");
    lg_worker_view v[2] = { worker("A", 4, 0, 0), worker("B", 4, 0, 0) };
    /* Learn: A takes 10 ms, B 30 ms. */
    for (int i = 0; i < 50; i++) {
        s->observe(st, "A", "m", 0.010, true);
        s->observe(st, "B", "m", 0.030, true);
    }
    int to_a = 0;
    for (int i = 0; i < 100; i++) to_a += strcmp(pick(s, st, &t, v, 2, 1.0), "A") == 0;
    assert_true(to_a >= 90);
    /* Queueing counts: with A's 4 slots nearly full, the idle B is cheaper. */
    v[0].in_flight = 3;
    int to_b = 0;
    for (int i = 0; i < 100; i++) to_b += strcmp(pick(s, st, &t, v, 2, 1.0), "B") == 0;
    assert_true(to_b >= 90);
    /* A slows down to 60 ms: the estimate follows and B takes over. */
    v[0].in_flight = 0;
    for (int i = 0; i < 30; i++) s->observe(st, "A", "m", 0.060, true);
    to_b = 0;
    for (int i = 0; i < 100; i++) to_b += strcmp(pick(s, st, &t, v, 2, 1.0), "B") == 0;
    assert_true(to_b >= 90);
    unmake(s, st);
}

static void test_adaptive_deterministic(void **state)
{
    (void)state;
    const lg_strategy_def *s = lg_strategy_get(LG_STRATEGY_ADAPTIVE);
    void *x = make(s), *y = make(s);
    lg_strategy_adaptive_seed(x, 7);
    lg_strategy_adaptive_seed(y, 7);
    lg_task t = task_for("m");
    lg_worker_view v[3] = { worker("a", 2, 0, 0), worker("b", 2, 1, 0), worker("c", 2, 0, 0) };
    for (int i = 0; i < 2000; i++) {
        const char *px = pick(s, x, &t, v, 3, i * 0.01), *py = pick(s, y, &t, v, 3, i * 0.01);
        assert_string_equal(px, py);
        bool ok = i % 7 != 0;
        double service = 0.01 + 0.001 * (double)(i % 5);
        s->observe(x, px, "m", service, ok);
        s->observe(y, py, "m", service, ok);
    }
    unmake(s, x);
    unmake(s, y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_requirements),
        cmocka_unit_test(test_round_robin_cycles),
        cmocka_unit_test(test_least_loaded),
        cmocka_unit_test(test_gpu_match),
        cmocka_unit_test(test_latency_based),
        cmocka_unit_test(test_adaptive_failures),
        cmocka_unit_test(test_adaptive_slowdown_and_queue),
        cmocka_unit_test(test_adaptive_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
