/*
 * test_queue.c: the task queue: priority order, FIFO within a level, ageing (LOW is
 * never starved), requirement classes that nobody can run do not block the rest,
 * removal, depths, and a large random run checked against a reference order.
 */
#include "lg_test.h"
#include "cluster/queue.h"

static lg_requirements no_req(void)
{
    lg_requirements r;
    assert_int_equal(lg_requirements_parse_json(NULL, &r), LG_OK);
    return r;
}

static bool all_runnable(void *arg, const lg_requirements *req)
{
    (void)arg;
    (void)req;
    return true;
}

/* Runnable unless the class asks for a backend. */
static bool cpu_only(void *arg, const lg_requirements *req)
{
    (void)arg;
    return req->backend[0] == '\0';
}

static void item(lg_qitem *it, uint64_t seq, int prio, double since)
{
    memset(it, 0, sizeof *it);
    it->seq = seq;
    it->prio = prio;
    it->since = since;
    it->pos = -1;
}

static void test_priority_then_fifo(void **state)
{
    (void)state;
    lg_queue *q = lg_queue_create(0); /* no ageing */
    lg_requirements r = no_req();
    static const int prio[] = { LG_PRIO_LOW, LG_PRIO_HIGH, LG_PRIO_NORMAL, LG_PRIO_CRITICAL, LG_PRIO_HIGH, LG_PRIO_LOW };
    static const uint64_t want[] = { 4, 2, 5, 3, 1, 6 };
    lg_qitem it[6];
    for (int i = 0; i < 6; i++) {
        item(&it[i], (uint64_t)i + 1, prio[i], 0);
        assert_int_equal(lg_queue_push(q, &it[i], &r), LG_OK);
    }
    assert_int_equal(lg_queue_size(q), 6);
    assert_int_equal(lg_queue_depth(q, LG_PRIO_LOW), 2);
    assert_int_equal(lg_queue_depth(q, LG_PRIO_HIGH), 2);
    for (int i = 0; i < 6; i++) {
        lg_qitem *got = lg_queue_pop(q, 1000, all_runnable, NULL);
        assert_non_null(got);
        assert_int_equal(got->seq, want[i]);
        assert_int_equal(got->pos, -1);
    }
    assert_null(lg_queue_pop(q, 1000, all_runnable, NULL));
    assert_int_equal(lg_queue_size(q), 0);
    lg_queue_destroy(q);
}

static void test_ageing(void **state)
{
    (void)state;
    lg_queue *q = lg_queue_create(10);
    lg_requirements r = no_req();
    lg_qitem low, high;
    item(&low, 1, LG_PRIO_LOW, 100);   /* queued at t=100 */
    item(&high, 2, LG_PRIO_HIGH, 125); /* queued at t=125 */
    lg_queue_push(q, &low, &r);
    lg_queue_push(q, &high, &r);
    assert_int_equal(lg_queue_effective(q, &low, 105), LG_PRIO_LOW);
    assert_int_equal(lg_queue_effective(q, &low, 110), LG_PRIO_NORMAL);
    assert_int_equal(lg_queue_effective(q, &low, 129), LG_PRIO_HIGH);
    assert_int_equal(lg_queue_effective(q, &low, 1e6), LG_PRIO_CRITICAL);
    /* At t=125 LOW has aged two levels to HIGH: equal, and older, so it goes first. */
    assert_ptr_equal(lg_queue_pop(q, 125, all_runnable, NULL), &low);
    lg_queue_push(q, &low, &r);
    /* Earlier, at t=119, it is still NORMAL (aged one level): HIGH first. */
    assert_ptr_equal(lg_queue_pop(q, 119, all_runnable, NULL), &high);
    lg_queue_destroy(q);
}

static void test_low_never_starved(void **state)
{
    (void)state;
    /* A steady stream of HIGH work arriving at one per second; a LOW task queued at
     * t=0 gets out within (levels * ageing_s) seconds. */
    lg_queue *q = lg_queue_create(5);
    lg_requirements r = no_req();
    lg_qitem low, high[100];
    item(&low, 1, LG_PRIO_LOW, 0);
    lg_queue_push(q, &low, &r);
    int served_at = -1;
    for (int t = 0; t < 100 && served_at < 0; t++) {
        item(&high[t], (uint64_t)t + 2, LG_PRIO_HIGH, t);
        lg_queue_push(q, &high[t], &r);
        if (lg_queue_pop(q, t, all_runnable, NULL) == &low) served_at = t;
    }
    assert_true(served_at >= 10 && served_at <= 15);
    lg_queue_destroy(q);
}

static void test_unrunnable_class_does_not_block(void **state)
{
    (void)state;
    lg_queue *q = lg_queue_create(0);
    lg_requirements none = no_req(), gpu;
    assert_int_equal(lg_requirements_parse_json("{\"backend\":\"vulkan\"}", &gpu), LG_OK);
    lg_qitem a, b, c;
    item(&a, 1, LG_PRIO_CRITICAL, 0);
    item(&b, 2, LG_PRIO_LOW, 0);
    item(&c, 3, LG_PRIO_NORMAL, 0);
    lg_queue_push(q, &a, &gpu);
    lg_queue_push(q, &b, &none);
    lg_queue_push(q, &c, &none);
    assert_ptr_equal(lg_queue_pop(q, 0, cpu_only, NULL), &c);
    assert_ptr_equal(lg_queue_pop(q, 0, cpu_only, NULL), &b);
    assert_null(lg_queue_pop(q, 0, cpu_only, NULL));
    assert_int_equal(lg_queue_size(q), 1);
    assert_ptr_equal(lg_queue_pop(q, 0, all_runnable, NULL), &a);
    lg_queue_destroy(q);
}

static void test_remove(void **state)
{
    (void)state;
    lg_queue *q = lg_queue_create(0);
    lg_requirements r = no_req();
    lg_qitem it[5];
    for (int i = 0; i < 5; i++) {
        item(&it[i], (uint64_t)i + 1, LG_PRIO_NORMAL, 0);
        lg_queue_push(q, &it[i], &r);
    }
    lg_queue_remove(q, &it[2]);
    lg_queue_remove(q, &it[0]);
    assert_int_equal(it[2].pos, -1);
    assert_int_equal(lg_queue_depth(q, LG_PRIO_NORMAL), 3);
    assert_ptr_equal(lg_queue_pop(q, 0, all_runnable, NULL), &it[1]);
    assert_ptr_equal(lg_queue_pop(q, 0, all_runnable, NULL), &it[3]);
    /* A requeued item goes back to its place by seq. */
    lg_queue_push(q, &it[0], &r);
    assert_ptr_equal(lg_queue_pop(q, 0, all_runnable, NULL), &it[0]);
    assert_ptr_equal(lg_queue_pop(q, 0, all_runnable, NULL), &it[4]);
    lg_queue_destroy(q);
}

static void test_random_against_reference(void **state)
{
    (void)state;
    enum { N = 20000 };
    lg_queue *q = lg_queue_create(0);
    lg_requirements r = no_req();
    lg_qitem *it = calloc(N, sizeof *it);
    bool *gone = calloc(N, 1);
    srand(7);
    for (int i = 0; i < N; i++) {
        item(&it[i], (uint64_t)i, rand() % LG_PRIO_COUNT, 0);
        lg_queue_push(q, &it[i], &r);
    }
    for (int i = 0; i < N; i += 3) {
        lg_queue_remove(q, &it[i]);
        gone[i] = true;
    }
    /* Reference: by priority descending, then seq ascending. */
    int prev_prio = LG_PRIO_CRITICAL;
    uint64_t prev_seq = 0;
    size_t n = 0;
    lg_qitem *got;
    while ((got = lg_queue_pop(q, 0, all_runnable, NULL))) {
        assert_false(gone[got->seq]);
        gone[got->seq] = true;
        if (got->prio == prev_prio) assert_true(n == 0 || got->seq > prev_seq);
        else assert_true(got->prio < prev_prio);
        prev_prio = got->prio;
        prev_seq = got->seq;
        n++;
    }
    assert_int_equal(n, N - (N + 2) / 3);
    free(it);
    free(gone);
    lg_queue_destroy(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_priority_then_fifo),
        cmocka_unit_test(test_ageing),
        cmocka_unit_test(test_low_never_starved),
        cmocka_unit_test(test_unrunnable_class_does_not_block),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_random_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
