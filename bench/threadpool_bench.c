/*
 * threadpool_bench.c: the cost of one lg_parallel_for over 2 threads whose chunks take a
 * few microseconds (the wake-up latency a model's small nodes pay): 3 rounds of 20,000
 * loops, microseconds per loop. LEGACYGPU_SPIN=N sets the pool's spin before sleeping.
 * Built and run by bench/threadpool_bench.sh.
 */
#include <stdio.h>
#include <time.h>

#include "base/threadpool.h"

static void work(void *arg, int64_t b, int64_t e)
{
    volatile float *x = arg;
    for (int64_t i = b; i < e; i++)
        for (int k = 0; k < 200; k++) x[(i * 16) & 63] += 1;
}

int main(void)
{
    static float x[64];
    lg_threadpool *p = lg_threadpool_create(2);
    for (int r = 0; r < 3; r++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int i = 0; i < 20000; i++) lg_parallel_for(p, 64, 1, work, x);
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("%.2f us per parallel_for\n", ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / 1e3 / 20000);
    }
    lg_threadpool_free(p);
    return 0;
}
