/*
 * test_coordinator.c: the coordinator core with simulated workers (no sockets):
 * submit/dispatch/complete, requirements, retries, late results, dead workers, cancel,
 * idempotency, drain, timeouts, TTL purge, list paging, waits, and throughput numbers.
 */
#include <pthread.h>
#include <time.h>

#include "lg_test.h"
#include "cluster/coordinator.h"
#include "cluster/strategy.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static lg_coord *open_mem(void (*tune)(lg_coord_config *))
{
    lg_coord_config cfg;
    lg_coord_config_defaults(&cfg);
    if (tune) tune(&cfg);
    lg_coord *c;
    int rc = lg_coord_open(&cfg, &c);
    if (rc != LG_OK) fail_msg("open: %s", lg_last_error());
    return c;
}

static void hello(lg_coord *c, const char *id, int capacity, const char *backend, int64_t mem_mb)
{
    lg_worker_info w;
    memset(&w, 0, sizeof w);
    snprintf(w.id, sizeof w.id, "%s", id);
    snprintf(w.host, sizeof w.host, "host-%s", id);
    w.n_backends = 1;
    snprintf(w.backends[0], sizeof w.backends[0], "%s", backend);
    w.n_devices = 1;
    snprintf(w.devices[0].name, sizeof w.devices[0].name, "dev");
    snprintf(w.devices[0].vendor, sizeof w.devices[0].vendor, "%s", strcmp(backend, "cpu") ? "amd" : "cpu");
    snprintf(w.devices[0].backend, sizeof w.devices[0].backend, "%s", backend);
    w.devices[0].memory_mb = mem_mb;
    w.cpu_threads = 2;
    w.capacity = capacity;
    assert_int_equal(lg_coord_worker_hello(c, &w), LG_OK);
}

static void submit(lg_coord *c, lg_priority p, const char *req_json, char *id)
{
    static const char body[] = "{\"inputs\":[]}";
    lg_submit_request r = { .model = "digits", .priority = p, .requirements_json = req_json,
                            .input_kind = LG_INPUT_JSON, .input = (const uint8_t *)body, .input_len = sizeof body - 1 };
    lg_submit_result res;
    int rc = lg_coord_submit(c, &r, &res);
    if (rc != LG_OK) fail_msg("submit: %s", lg_last_error());
    assert_true(res.created);
    assert_int_equal(res.state, LG_TASK_QUEUED);
    memcpy(id, res.task_id, LG_TASK_ID_LEN + 1);
}

/* Dispatches one task; asserts there is one and returns its id and worker. */
static void dispatch(lg_coord *c, char *id, char *worker)
{
    lg_task t;
    int rc = lg_coord_next_dispatch(c, &t, worker, 64);
    if (rc != LG_OK) fail_msg("dispatch: %s (%s)", lg_err_name(rc), lg_last_error());
    assert_int_equal(t.state, LG_TASK_DISPATCHED);
    assert_int_equal(t.input_len, 13);
    assert_memory_equal(t.input, "{\"inputs\":[]}", 13);
    memcpy(id, t.id, LG_TASK_ID_LEN + 1);
    lg_task_clear(&t);
}

static void expect_none(lg_coord *c)
{
    lg_task t;
    char w[64];
    assert_int_equal(lg_coord_next_dispatch(c, &t, w, sizeof w), LG_E_NOT_FOUND);
}

static lg_task get(lg_coord *c, const char *id)
{
    lg_task t;
    int rc = lg_coord_task_get(c, id, &t);
    if (rc != LG_OK) fail_msg("get %s: %s", id, lg_last_error());
    return t;
}

static lg_task_state state_of(lg_coord *c, const char *id)
{
    lg_task t = get(c, id);
    lg_task_state s = t.state;
    lg_task_clear(&t);
    return s;
}

static void test_submit_dispatch_complete(void **state)
{
    (void)state;
    lg_coord *c = open_mem(NULL);
    char id[40], got[40], w[64];
    submit(c, LG_PRIO_NORMAL, NULL, id);
    expect_none(c); /* no workers yet */
    hello(c, "w1", 2, "cpu", 0);
    dispatch(c, got, w);
    assert_string_equal(got, id);
    assert_string_equal(w, "w1");
    lg_worker_view v;
    assert_int_equal(lg_coord_worker_get(c, "w1", &v), LG_OK);
    assert_int_equal(v.in_flight, 1);
    assert_int_equal(v.status, LG_WORKER_IDLE);
    assert_int_equal(lg_coord_task_started(c, "w1", id), LG_OK);
    assert_int_equal(state_of(c, id), LG_TASK_RUNNING);
    assert_int_equal(lg_coord_task_completed(c, "w1", id, "{\"outputs\":[]}", 0.004), LG_OK);
    lg_task t;
    bool final;
    assert_int_equal(lg_coord_task_wait(c, id, 1.0, &t, &final), LG_OK);
    assert_true(final);
    assert_int_equal(t.state, LG_TASK_COMPLETED);
    assert_string_equal(t.result, "{\"outputs\":[]}");
    assert_string_equal(t.worker_id, "w1");
    assert_int_equal(t.attempts, 1);
    assert_true(t.finished_at >= t.started_at && t.started_at >= t.created_at);
    lg_task_clear(&t);
    assert_int_equal(lg_coord_worker_get(c, "w1", &v), LG_OK);
    assert_int_equal(v.in_flight, 0);
    assert_int_equal(v.completed, 1);
    assert_int_equal(v.n_ewma, 1);
    assert_string_equal(v.ewma_model[0], "digits");
    lg_coord_stats st;
    lg_coord_stats_get(c, &st);
    assert_int_equal(st.tasks_by_state[LG_TASK_COMPLETED], 1);
    assert_int_equal(st.tasks_by_state[LG_TASK_QUEUED], 0);
    assert_int_equal(st.submitted_total, 1);
    assert_int_equal(st.dispatched_total, 1);
    assert_int_equal(st.completed_total, 1);
    assert_int_equal(st.task_duration_count[st.n_buckets], 1);
    assert_int_equal(st.queue_duration_count[st.n_buckets], 1);
    assert_int_equal(st.workers_by_status[LG_WORKER_IDLE], 1);
    assert_int_equal(lg_coord_task_get(c, "no-such-task", &t), LG_E_NOT_FOUND);
    lg_coord_close(c);
}

static void test_capacity_and_priority(void **state)
{
    (void)state;
    lg_coord *c = open_mem(NULL);
    char low[40], high[40], crit[40], got[40], w[64];
    submit(c, LG_PRIO_LOW, NULL, low);
    submit(c, LG_PRIO_HIGH, NULL, high);
    submit(c, LG_PRIO_CRITICAL, NULL, crit);
    hello(c, "w1", 1, "cpu", 0);
    dispatch(c, got, w);
    assert_string_equal(got, crit);
    expect_none(c); /* w1 is full */
    lg_worker_view v;
    lg_coord_worker_get(c, "w1", &v);
    assert_int_equal(v.status, LG_WORKER_BUSY);
    lg_coord_stats st;
    lg_coord_stats_get(c, &st);
    assert_int_equal(st.queued_by_priority[LG_PRIO_LOW], 1);
    assert_int_equal(st.queued_by_priority[LG_PRIO_HIGH], 1);
    assert_int_equal(st.workers_by_status[LG_WORKER_BUSY], 1);
    assert_int_equal(lg_coord_task_completed(c, "w1", crit, "{}", 0.001), LG_OK);
    dispatch(c, got, w);
    assert_string_equal(got, high);
    assert_int_equal(lg_coord_task_completed(c, "w1", high, "{}", 0.001), LG_OK);
    dispatch(c, got, w);
    assert_string_equal(got, low);
    lg_coord_close(c);
}

static void test_requirements_do_not_block(void **state)
{
    (void)state;
    lg_coord *c = open_mem(NULL);
    char gpu[40], plain[40], got[40], w[64];
    submit(c, LG_PRIO_CRITICAL, "{\"backend\": \"vulkan\", \"min_memory_mb\": 3000}", gpu);
    submit(c, LG_PRIO_LOW, NULL, plain);
    hello(c, "cpu1", 4, "cpu", 0);
    dispatch(c, got, w);
    assert_string_equal(got, plain); /* the GPU task waits without blocking it */
    assert_string_equal(w, "cpu1");
    expect_none(c);
    hello(c, "small", 4, "vulkan", 2048);
    expect_none(c);
    hello(c, "big", 4, "vulkan", 8192);
    dispatch(c, got, w);
    assert_string_equal(got, gpu);
    assert_string_equal(w, "big");
    lg_task t = get(c, gpu);
    assert_string_equal(t.req.backend, "vulkan");
    assert_int_equal(t.req.min_memory_mb, 3000);
    lg_task_clear(&t);
    lg_submit_request bad = { .model = "digits", .requirements_json = "{\"min_memory_mb\": \"lots\"}" };
    lg_submit_result res;
    assert_error(lg_coord_submit(c, &bad, &res), LG_E_INVALID_ARG, "min_memory_mb");
    bad.requirements_json = NULL;
    bad.priority = (lg_priority)7;
    assert_error(lg_coord_submit(c, &bad, &res), LG_E_INVALID_ARG, "priority");
    bad.priority = LG_PRIO_LOW;
    bad.model = "";
    assert_error(lg_coord_submit(c, &bad, &res), LG_E_INVALID_ARG, "model");
    lg_coord_close(c);
}

static void test_retries_then_failed(void **state)
{
    (void)state;
    lg_coord *c = open_mem(NULL);
    char id[40], got[40], w[64];
    submit(c, LG_PRIO_NORMAL, NULL, id);
    hello(c, "w1", 1, "cpu", 0);
    for (int i = 1; i <= 3; i++) {
        dispatch(c, got, w);
        assert_string_equal(got, id);
        char reason[32];
        snprintf(reason, sizeof reason, "boom %d", i);
        assert_int_equal(lg_coord_task_failed(c, "w1", id, reason), LG_OK);
        assert_int_equal(state_of(c, id), i < 3 ? LG_TASK_QUEUED : LG_TASK_FAILED);
    }
    expect_none(c);
    lg_task t = get(c, id);
    assert_int_equal(t.attempts, 3);
    assert_non_null(t.error);
    assert_non_null(strstr(t.error, "boom 1\n"));
    assert_non_null(strstr(t.error, "boom 2\n"));
    assert_non_null(strstr(t.error, "boom 3"));
    lg_task_clear(&t);
    lg_coord_stats st;
    lg_coord_stats_get(c, &st);
    assert_int_equal(st.failed_total, 1);
    assert_int_equal(st.requeued_total, 2);
    assert_int_equal(st.tasks_by_state[LG_TASK_FAILED], 1);
    lg_worker_view v;
    lg_coord_worker_get(c, "w1", &v);
    assert_int_equal(v.failed, 3);
    assert_int_equal(v.in_flight, 0);
    lg_coord_close(c);
}

/* A failure a retry cannot fix is final at once; a missing model is retried only while
 * another live worker advertises it. */
static void test_rejected_is_final(void **state)
{
    (void)state;
    lg_coord *c = open_mem(NULL);
    char id[40], got[40], w[64];
    hello(c, "w1", 1, "cpu", 0);
    submit(c, LG_PRIO_NORMAL, NULL, id);
    dispatch(c, got, w);
    assert_int_equal(lg_coord_task_rejected(c, w, id, "input 'x': wrong shape", false), LG_OK);
    lg_task t = get(c, id);
    assert_int_equal(t.state, LG_TASK_FAILED);
    assert_int_equal(t.attempts, 1);
    assert_non_null(strstr(t.error, "not retried"));
    lg_task_clear(&t);
    /* model_missing with no other worker holding it: final too. */
    submit(c, LG_PRIO_NORMAL, NULL, id);
    dispatch(c, got, w);
    assert_int_equal(lg_coord_task_rejected(c, w, id, "no model 'digits'", true), LG_OK);
    assert_int_equal(state_of(c, id), LG_TASK_FAILED);
    /* ... but another live worker advertising the model gets a try. */
    lg_worker_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.id, sizeof info.id, "w2");
    info.capacity = 1;
    info.n_models = 1;
    snprintf(info.models[0], sizeof info.models[0], "digits");
    assert_int_equal(lg_coord_worker_hello(c, &info), LG_OK);
    submit(c, LG_PRIO_NORMAL, NULL, id);
    dispatch(c, got, w);
    if (strcmp(w, "w2") == 0) { /* the advertiser itself lacks it: nobody else has it */
        assert_int_equal(lg_coord_task_rejected(c, w, id, "gone", true), LG_OK);
        assert_int_equal(state_of(c, id), LG_TASK_FAILED);
    } else {
        assert_int_equal(lg_coord_task_rejected(c, w, id, "no model 'digits'", true), LG_OK);
        assert_int_equal(state_of(c, id), LG_TASK_QUEUED);
        dispatch(c, got, w); /* a second attempt */
        assert_string_equal(got, id);
    }
    lg_coord_close(c);
}

static void fast_heartbeat(lg_coord_config *cfg)
{
    cfg->heartbeat_interval_s = 0.01;
    cfg->heartbeat_misses = 2;
}

/* Ticks until a worker is declared dead; fails after 5 s. */
static void tick_until_dead(lg_coord *c, const char *keep_alive)
{
    double until = mono() + 5;
    while (mono() < until) {
        if (keep_alive) lg_coord_worker_heartbeat(c, keep_alive, 0);
        if (lg_coord_tick(c) > 0) return;
    }
    fail_msg("no worker declared dead within 5 s");
}

static void test_dead_worker_and_late_result(void **state)
{
    (void)state;
    lg_coord *c = open_mem(fast_heartbeat);
    char id[40], got[40], w[64];
    submit(c, LG_PRIO_NORMAL, NULL, id);
    hello(c, "w1", 1, "cpu", 0);
    dispatch(c, got, w);
    assert_string_equal(w, "w1");
    hello(c, "w2", 1, "cpu", 0);
    tick_until_dead(c, "w2"); /* w2 keeps beating, w1 is silent */
    lg_worker_view v;
    lg_coord_worker_get(c, "w1", &v);
    assert_int_equal(v.status, LG_WORKER_DEAD);
    assert_int_equal(v.in_flight, 0);
    assert_error(lg_coord_worker_heartbeat(c, "w1", 0), LG_E_NOT_FOUND, "register again");
    lg_task t = get(c, id);
    assert_int_equal(t.state, LG_TASK_QUEUED);
    assert_int_equal(t.attempts, 1);
    assert_non_null(strstr(t.error, "worker w1 lost"));
    lg_task_clear(&t);
    dispatch(c, got, w);
    assert_string_equal(got, id);
    assert_string_equal(w, "w2");
    /* The late result of the worker presumed dead is ignored: one task, one result. */
    assert_error(lg_coord_task_completed(c, "w1", id, "{\"from\":\"w1\"}", 0.01), LG_E_NOT_FOUND, "ignored");
    assert_int_equal(lg_coord_task_failed(c, "w1", id, "late"), LG_E_NOT_FOUND);
    assert_int_equal(lg_coord_task_completed(c, "w2", id, "{\"from\":\"w2\"}", 0.01), LG_OK);
    assert_int_equal(lg_coord_task_completed(c, "w2", id, "{\"again\":1}", 0.01), LG_E_NOT_FOUND);
    t = get(c, id);
    assert_int_equal(t.state, LG_TASK_COMPLETED);
    assert_string_equal(t.result, "{\"from\":\"w2\"}");
    assert_int_equal(t.attempts, 2);
    lg_task_clear(&t);
    /* w1 registers again and comes back alive. */
    hello(c, "w1", 1, "cpu", 0);
    lg_coord_worker_get(c, "w1", &v);
    assert_int_equal(v.status, LG_WORKER_IDLE);
    int n = 0;
    lg_coord_stats st;
    lg_coord_stats_get(c, &st);
    n = st.workers_by_status[LG_WORKER_IDLE];
    assert_int_equal(n, 2);
    lg_coord_close(c);
}

static void test_bye_requeues(void **state)
{
    (void)state;
    lg_coord *c = open_mem(NULL);
    char id[40], got[40], w[64];
    submit(c, LG_PRIO_NORMAL, NULL, id);
    hello(c, "w1", 1, "cpu", 0);
    dispatch(c, got, w);
    assert_int_equal(lg_coord_worker_bye(c, "w1"), LG_OK);
    assert_int_equal(state_of(c, id), LG_TASK_QUEUED);
    expect_none(c);
    hello(c, "w2", 1, "cpu", 0);
    dispatch(c, got, w);
    assert_string_equal(got, id);
    assert_string_equal(w, "w2");
    lg_coord_close(c);
}

/* A worker that reconnects lists what it still holds; the rest was lost with its old
 * connection and is requeued, while a held task's result is still accepted. */
static void test_reconcile_after_reconnect(void **state)
{
    (void)state;
    lg_coord *c = open_mem(NULL);
    char a[40], b[40], got_a[40], got_b[40], w[64];
    submit(c, LG_PRIO_NORMAL, NULL, a);
    submit(c, LG_PRIO_NORMAL, NULL, b);
    hello(c, "w1", 2, "cpu", 0);
    dispatch(c, got_a, w);
    dispatch(c, got_b, w);
    hello(c, "w1", 2, "cpu", 0); /* the same worker, on a new connection */
    const char *held[] = { got_a };
    assert_int_equal(lg_coord_worker_reconcile(c, "w1", held, 1), LG_OK);
    assert_int_equal(state_of(c, got_a), LG_TASK_DISPATCHED);
    assert_int_equal(state_of(c, got_b), LG_TASK_QUEUED);
    assert_int_equal(lg_coord_task_completed(c, "w1", got_a, "{}", 0.001), LG_OK);
    char again[40];
    dispatch(c, again, w); /* the lost one goes out again */
    assert_string_equal(again, got_b);
    assert_int_equal(lg_coord_worker_reconcile(c, "nobody", NULL, 0), LG_E_NOT_FOUND);
    lg_coord_close(c);
}

static void test_cancel(void **state)
{
    (void)state;
    lg_coord *c = open_mem(NULL);
    char queued[40], sent[40], got[40], w[64];
    submit(c, LG_PRIO_NORMAL, NULL, sent);
    submit(c, LG_PRIO_LOW, NULL, queued);
    hello(c, "w1", 1, "cpu", 0);
    dispatch(c, got, w);
    assert_string_equal(got, sent);
    assert_int_equal(lg_coord_task_cancel(c, queued), LG_OK);
    assert_int_equal(lg_coord_task_cancel(c, sent), LG_OK);
    assert_int_equal(state_of(c, queued), LG_TASK_CANCELLED);
    assert_int_equal(state_of(c, sent), LG_TASK_CANCELLED);
    assert_int_equal(lg_coord_task_completed(c, "w1", sent, "{}", 0.01), LG_E_NOT_FOUND);
    assert_int_equal(state_of(c, sent), LG_TASK_CANCELLED);
    assert_error(lg_coord_task_cancel(c, sent), LG_E_INVALID_ARG, "already CANCELLED");
    assert_int_equal(lg_coord_task_cancel(c, "nope"), LG_E_NOT_FOUND);
    lg_worker_view v;
    lg_coord_worker_get(c, "w1", &v);
    assert_int_equal(v.in_flight, 0);
    expect_none(c);
    lg_coord_close(c);
}

static void test_idempotency(void **state)
{
    (void)state;
    lg_coord *c = open_mem(NULL);
    lg_submit_request r = { .model = "digits", .input = (const uint8_t *)"x", .input_len = 1,
                            .idempotency_key = "key-1", .body_hash = "aaaa" };
    lg_submit_result a, b;
    assert_int_equal(lg_coord_submit(c, &r, &a), LG_OK);
    assert_true(a.created);
    assert_int_equal(lg_coord_submit(c, &r, &b), LG_OK);
    assert_false(b.created);
    assert_string_equal(a.task_id, b.task_id);
    assert_int_equal(b.state, LG_TASK_QUEUED);
    r.body_hash = "bbbb";
    assert_error(lg_coord_submit(c, &r, &b), LG_E_RUNTIME, "idempotency");
    r.idempotency_key = "key-2";
    assert_int_equal(lg_coord_submit(c, &r, &b), LG_OK);
    assert_true(b.created);
    assert_string_not_equal(a.task_id, b.task_id);
    lg_coord_stats st;
    lg_coord_stats_get(c, &st);
    assert_int_equal(st.submitted_total, 2);
    lg_coord_close(c);
}

static void test_drain(void **state)
{
    (void)state;
    lg_coord *c = open_mem(NULL);
    char id[40], got[40], w[64];
    submit(c, LG_PRIO_NORMAL, NULL, id);
    assert_false(lg_coord_draining(c));
    lg_coord_drain(c);
    assert_true(lg_coord_draining(c));
    lg_submit_request r = { .model = "digits" };
    lg_submit_result res;
    assert_error(lg_coord_submit(c, &r, &res), LG_E_LIMIT, "draining");
    hello(c, "w1", 1, "cpu", 0); /* accepted work still runs */
    dispatch(c, got, w);
    assert_int_equal(lg_coord_task_completed(c, "w1", got, "{}", 0.01), LG_OK);
    lg_coord_stats st;
    lg_coord_stats_get(c, &st);
    assert_true(st.draining);
    lg_coord_close(c);
}

static void short_ttl(lg_coord_config *cfg)
{
    cfg->result_ttl_s = 0.05;
}

static void test_timeout_and_ttl(void **state)
{
    (void)state;
    lg_coord *c = open_mem(short_ttl);
    static const char body[] = "{}";
    lg_submit_request r = { .model = "digits", .input = (const uint8_t *)body, .input_len = 2, .timeout_s = 0.02 };
    lg_submit_result res;
    assert_int_equal(lg_coord_submit(c, &r, &res), LG_OK);
    double until = mono() + 5;
    while (state_of(c, res.task_id) != LG_TASK_TIMED_OUT && mono() < until) lg_coord_tick(c);
    lg_task t = get(c, res.task_id);
    assert_int_equal(t.state, LG_TASK_TIMED_OUT);
    assert_non_null(strstr(t.error, "timed out"));
    lg_task_clear(&t);
    /* Past the TTL the final task is purged. */
    until = mono() + 5;
    while (lg_coord_task_get(c, res.task_id, &t) == LG_OK && mono() < until) {
        lg_task_clear(&t);
        lg_coord_tick(c);
    }
    assert_int_equal(lg_coord_task_get(c, res.task_id, &t), LG_E_NOT_FOUND);
    lg_coord_stats st;
    lg_coord_stats_get(c, &st);
    assert_int_equal(st.tasks_by_state[LG_TASK_TIMED_OUT], 0);
    lg_coord_close(c);
}

typedef struct collect {
    char ids[64][40];
    int n;
} collect;

static void collect_ids(void *arg, const lg_task *t)
{
    collect *k = arg;
    assert_null(t->input); /* lists carry no inputs */
    memcpy(k->ids[k->n++], t->id, 40);
}

static void test_list_paging(void **state)
{
    (void)state;
    lg_coord *c = open_mem(NULL);
    char ids[25][40], got[40], w[64];
    for (int i = 0; i < 25; i++) submit(c, LG_PRIO_NORMAL, NULL, ids[i]);
    hello(c, "w1", 3, "cpu", 0);
    for (int i = 0; i < 3; i++) dispatch(c, got, w);
    collect k = { .n = 0 };
    char cursor[64] = "";
    int pages = 0;
    do {
        char next[64];
        assert_int_equal(lg_coord_task_list(c, -1, 10, cursor, collect_ids, &k, next, sizeof next), LG_OK);
        strcpy(cursor, next);
        pages++;
    } while (cursor[0] && pages < 10);
    assert_int_equal(k.n, 25);
    assert_int_equal(pages, 3);
    for (int i = 0; i < 25; i++) assert_string_equal(k.ids[i], ids[24 - i]); /* newest first */
    k.n = 0;
    assert_int_equal(lg_coord_task_list(c, LG_TASK_DISPATCHED, 10, "", collect_ids, &k, cursor, sizeof cursor), LG_OK);
    assert_int_equal(k.n, 3);
    assert_string_equal(cursor, "");
    assert_error(lg_coord_task_list(c, -1, 10, "garbage", collect_ids, &k, cursor, sizeof cursor), LG_E_INVALID_ARG,
                 "cursor");
    lg_coord_close(c);
}

typedef struct waiter {
    lg_coord *c;
    const char *id;
    lg_task t;
    bool final;
    int rc;
} waiter;

static void *wait_thread(void *arg)
{
    waiter *w = arg;
    w->rc = lg_coord_task_wait(w->c, w->id, 10.0, &w->t, &w->final);
    return NULL;
}

static void test_wait_wakes_many(void **state)
{
    (void)state;
    lg_coord *c = open_mem(NULL);
    char id[40], got[40], w[64];
    submit(c, LG_PRIO_NORMAL, NULL, id);
    /* A short wait on an unfinished task returns it, not final. */
    lg_task t;
    bool final = true;
    assert_int_equal(lg_coord_task_wait(c, id, 0.01, &t, &final), LG_OK);
    assert_false(final);
    assert_int_equal(t.state, LG_TASK_QUEUED);
    lg_task_clear(&t);
    enum { N = 8 };
    waiter ws[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        ws[i] = (waiter){ .c = c, .id = id };
        pthread_create(&th[i], NULL, wait_thread, &ws[i]);
    }
    hello(c, "w1", 1, "cpu", 0);
    dispatch(c, got, w);
    assert_int_equal(lg_coord_task_completed(c, "w1", id, "{\"ok\":true}", 0.001), LG_OK);
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ws[i].rc, LG_OK);
        assert_true(ws[i].final);
        assert_int_equal(ws[i].t.state, LG_TASK_COMPLETED);
        assert_string_equal(ws[i].t.result, "{\"ok\":true}");
        lg_task_clear(&ws[i].t);
    }
    lg_coord_close(c);
}

static void test_set_strategy(void **state)
{
    (void)state;
    lg_coord *c = open_mem(NULL);
    assert_int_equal(lg_coord_strategy(c), LG_STRATEGY_LEAST_LOADED);
    for (int k = 0; k < LG_STRATEGY_COUNT; k++) {
        assert_int_equal(lg_coord_set_strategy(c, (lg_strategy_kind)k), LG_OK);
        assert_int_equal(lg_coord_strategy(c), k);
        assert_int_equal(lg_coord_get_config(c)->strategy, k);
    }
    assert_int_equal(lg_coord_set_strategy(c, LG_STRATEGY_COUNT), LG_E_INVALID_ARG);
    /* Dispatch works under every strategy. */
    hello(c, "w1", 2, "cpu", 0);
    hello(c, "w2", 2, "cpu", 0);
    for (int k = 0; k < LG_STRATEGY_COUNT; k++) {
        char id[40], got[40], w[64];
        lg_coord_set_strategy(c, (lg_strategy_kind)k);
        submit(c, LG_PRIO_NORMAL, NULL, id);
        dispatch(c, got, w);
        assert_string_equal(got, id);
        assert_int_equal(lg_coord_task_completed(c, w, id, "{}", 0.002), LG_OK);
    }
    lg_coord_close(c);
}

static int wakeups;
static void on_wake(void *arg)
{
    (void)arg;
    wakeups++;
}

static void test_wakeup(void **state)
{
    (void)state;
    lg_coord *c = open_mem(NULL);
    lg_coord_set_wakeup(c, on_wake, NULL);
    wakeups = 0;
    char id[40], got[40], w[64];
    submit(c, LG_PRIO_NORMAL, NULL, id);
    assert_int_equal(wakeups, 1);
    hello(c, "w1", 1, "cpu", 0);
    assert_int_equal(wakeups, 2);
    dispatch(c, got, w);
    assert_int_equal(lg_coord_task_completed(c, "w1", id, "{}", 0.001), LG_OK);
    assert_int_equal(wakeups, 3);
    lg_coord_close(c);
}

/* Throughput with simulated workers completing instantly (numbers for the report). */
static void run_cycle(lg_coord *c, int n, double *submit_rate, double *cycle_rate)
{
    static const char body[] = "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}";
    lg_submit_request r = { .model = "digits", .input = (const uint8_t *)body, .input_len = sizeof body - 1 };
    lg_submit_result res;
    double t0 = mono();
    for (int i = 0; i < n; i++) assert_int_equal(lg_coord_submit(c, &r, &res), LG_OK);
    double t1 = mono();
    int done = 0;
    lg_task t;
    char w[64];
    while (lg_coord_next_dispatch(c, &t, w, sizeof w) == LG_OK) {
        assert_int_equal(lg_coord_task_started(c, w, t.id), LG_OK);
        assert_int_equal(lg_coord_task_completed(c, w, t.id, "{}", 0.001), LG_OK);
        lg_task_clear(&t);
        done++;
    }
    double t2 = mono();
    assert_int_equal(done, n);
    *submit_rate = n / (t1 - t0);
    *cycle_rate = n / (t2 - t1);
}

static void test_throughput(void **state)
{
    (void)state;
    enum { N = 20000 };
    double sub, cyc;
    lg_coord *c = open_mem(NULL);
    hello(c, "w1", 8, "cpu", 0);
    hello(c, "w2", 8, "cpu", 0);
    run_cycle(c, N, &sub, &cyc);
    print_message("in memory: %.0f submits/s, %.0f dispatch+start+complete/s\n", sub, cyc);
    lg_coord_close(c);

    char dir[] = "/tmp/lg_coord_perf_XXXXXX";
    assert_non_null(mkdtemp(dir));
    lg_coord_config cfg;
    lg_coord_config_defaults(&cfg);
    cfg.data_dir = dir;
    assert_int_equal(lg_coord_open(&cfg, &c), LG_OK);
    hello(c, "w1", 8, "cpu", 0);
    hello(c, "w2", 8, "cpu", 0);
    run_cycle(c, N / 4, &sub, &cyc);
    print_message("SQLite WAL file: %.0f submits/s, %.0f dispatch+start+complete/s\n", sub, cyc);
    lg_coord_close(c);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- many threads at once: submitters that wait for their results, one "transport"
 * thread woken by the wakeup callback, on a file store (group commit) ---- */

typedef struct transport {
    lg_coord *c;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool signalled, stop;
    int handled;
} transport;

static void transport_wake(void *arg)
{
    transport *t = arg;
    pthread_mutex_lock(&t->mu);
    t->signalled = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static void *transport_run(void *arg)
{
    transport *tr = arg;
    for (;;) {
        lg_task t;
        char w[64];
        while (lg_coord_next_dispatch(tr->c, &t, w, sizeof w) == LG_OK) {
            assert_int_equal(lg_coord_task_started(tr->c, w, t.id), LG_OK);
            char result[96];
            snprintf(result, sizeof result, "{\"for\":\"%s\"}", t.id);
            assert_int_equal(lg_coord_task_completed(tr->c, w, t.id, result, 0.0001), LG_OK);
            lg_task_clear(&t);
            tr->handled++;
        }
        pthread_mutex_lock(&tr->mu);
        while (!tr->signalled && !tr->stop) pthread_cond_wait(&tr->cv, &tr->mu);
        bool stop = tr->stop;
        tr->signalled = false;
        pthread_mutex_unlock(&tr->mu);
        if (stop) return NULL;
    }
}

enum { CLIENTS = 8, PER_CLIENT = 150 };

static void *client_run(void *arg)
{
    lg_coord *c = arg;
    for (int i = 0; i < PER_CLIENT; i++) {
        lg_submit_request r = { .model = "digits", .priority = (lg_priority)(i % LG_PRIO_COUNT),
                                .input = (const uint8_t *)"{}", .input_len = 2 };
        lg_submit_result res;
        assert_int_equal(lg_coord_submit(c, &r, &res), LG_OK);
        lg_task t;
        bool final;
        assert_int_equal(lg_coord_task_wait(c, res.task_id, 10.0, &t, &final), LG_OK);
        assert_true(final);
        assert_int_equal(t.state, LG_TASK_COMPLETED);
        assert_non_null(strstr(t.result, res.task_id)); /* its own result */
        lg_task_clear(&t);
    }
    return NULL;
}

static void test_concurrent_clients(void **state)
{
    (void)state;
    char dir[] = "/tmp/lg_coord_conc_XXXXXX";
    assert_non_null(mkdtemp(dir));
    lg_coord_config cfg;
    lg_coord_config_defaults(&cfg);
    cfg.data_dir = dir;
    lg_coord *c;
    assert_int_equal(lg_coord_open(&cfg, &c), LG_OK);
    hello(c, "w1", 4, "cpu", 0);
    hello(c, "w2", 4, "cpu", 0);
    transport tr = { .c = c };
    pthread_mutex_init(&tr.mu, NULL);
    pthread_cond_init(&tr.cv, NULL);
    lg_coord_set_wakeup(c, transport_wake, &tr);
    pthread_t tt, cl[CLIENTS];
    pthread_create(&tt, NULL, transport_run, &tr);
    double t0 = mono();
    for (int i = 0; i < CLIENTS; i++) pthread_create(&cl[i], NULL, client_run, c);
    for (int i = 0; i < CLIENTS; i++) pthread_join(cl[i], NULL);
    double t1 = mono();
    pthread_mutex_lock(&tr.mu);
    tr.stop = true;
    pthread_cond_signal(&tr.cv);
    pthread_mutex_unlock(&tr.mu);
    pthread_join(tt, NULL);
    assert_int_equal(tr.handled, CLIENTS * PER_CLIENT);
    print_message("%d clients, file store: %.0f submit->result cycles/s\n", CLIENTS, CLIENTS * PER_CLIENT / (t1 - t0));
    lg_coord_stats st;
    lg_coord_stats_get(c, &st);
    assert_int_equal(st.tasks_by_state[LG_TASK_COMPLETED], CLIENTS * PER_CLIENT);
    lg_coord_set_wakeup(c, NULL, NULL);
    lg_coord_close(c);
    /* Every result was durable: a reopened store has them all. */
    assert_int_equal(lg_coord_open(&cfg, &c), LG_OK);
    lg_coord_stats_get(c, &st);
    assert_int_equal(st.tasks_by_state[LG_TASK_COMPLETED], CLIENTS * PER_CLIENT);
    lg_coord_close(c);
    pthread_mutex_destroy(&tr.mu);
    pthread_cond_destroy(&tr.cv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_dispatch_complete),
        cmocka_unit_test(test_capacity_and_priority),
        cmocka_unit_test(test_requirements_do_not_block),
        cmocka_unit_test(test_retries_then_failed),
        cmocka_unit_test(test_rejected_is_final),
        cmocka_unit_test(test_dead_worker_and_late_result),
        cmocka_unit_test(test_bye_requeues),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_idempotency),
        cmocka_unit_test(test_drain),
        cmocka_unit_test(test_timeout_and_ttl),
        cmocka_unit_test(test_list_paging),
        cmocka_unit_test(test_wait_wakes_many),
        cmocka_unit_test(test_set_strategy),
        cmocka_unit_test(test_wakeup),
        cmocka_unit_test(test_reconcile_after_reconnect),
        cmocka_unit_test(test_concurrent_clients),
        cmocka_unit_test(test_throughput),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
