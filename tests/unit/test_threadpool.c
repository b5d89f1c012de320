/*
 * test_threadpool.c: the thread pool covers every index exactly once, for any size,
 * chunk and thread count, and nested loops run inline.
 */
#include <stdatomic.h>

#include "lg_test.h"
#include "base/threadpool.h"

typedef struct {
    atomic_int *hits;
    lg_threadpool *pool;
} job;

static void mark(void *arg, int64_t b, int64_t e)
{
    job *j = arg;
    for (int64_t i = b; i < e; i++) atomic_fetch_add(&j->hits[i], 1);
}

static void nested(void *arg, int64_t b, int64_t e)
{
    job *j = arg;
    for (int64_t i = b; i < e; i++) lg_parallel_for(j->pool, 1, 1, mark, &(job){ j->hits + i, NULL });
}

static void test_covers_each_index_once(void **state)
{
    (void)state;
    static const int threads[] = { 1, 2, 3, 8 };
    static const int64_t sizes[] = { 0, 1, 7, 1000, 100003 };
    for (size_t t = 0; t < 4; t++) {
        lg_threadpool *p = lg_threadpool_create(threads[t]);
        assert_non_null(p);
        assert_int_equal(lg_threadpool_size(p), threads[t]);
        for (size_t s = 0; s < 5; s++) {
            for (int64_t chunk = 1; chunk <= 4096; chunk *= 64) {
                atomic_int *hits = calloc((size_t)sizes[s] + 1, sizeof(atomic_int));
                job j = { hits, p };
                lg_parallel_for(p, sizes[s], chunk, mark, &j);
                for (int64_t i = 0; i < sizes[s]; i++) assert_int_equal(atomic_load(&hits[i]), 1);
                free(hits);
            }
        }
        atomic_int *hits = calloc(100, sizeof(atomic_int));
        job j = { hits, p };
        lg_parallel_for(p, 100, 1, nested, &j);
        for (int i = 0; i < 100; i++) assert_int_equal(atomic_load(&hits[i]), 1);
        free(hits);
        lg_threadpool_free(p);
    }
}

/* The same with workers that sleep at once (no spinning) and with long spins: every
 * wake-up path hands out each index exactly once. */
static void test_spin_settings(void **state)
{
    (void)state;
    static const char *const spins[] = { "0", "1", "100000" };
    for (size_t s = 0; s < 3; s++) {
        setenv("LEGACYGPU_SPIN", spins[s], 1);
        lg_threadpool *p = lg_threadpool_create(3);
        assert_non_null(p);
        for (int round = 0; round < 60; round++) {
            int64_t n = 1 + round % 37;
            atomic_int *hits = calloc((size_t)n, sizeof(atomic_int));
            job j = { hits, p };
            lg_parallel_for(p, n, 1, mark, &j);
            for (int64_t i = 0; i < n; i++) assert_int_equal(atomic_load(&hits[i]), 1);
            free(hits);
        }
        lg_threadpool_free(p);
    }
    unsetenv("LEGACYGPU_SPIN");
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_covers_each_index_once),
                                        cmocka_unit_test(test_spin_settings) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
