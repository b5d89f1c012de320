/*
 * threadpool.c: persistent worker threads that share the chunks of one parallel loop.
 *
 * One job at a time: lg_parallel_for publishes (fn, arg, n, chunk), bumps a generation
 * counter and wakes the workers; everyone, the caller included, takes chunks from an
 * atomic counter until none are left; the caller waits until every worker has finished.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/threadpool.h"

struct lg_threadpool {
    int n_threads; /* including the caller */
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    uint64_t generation;
    int active; /* workers still in the current job */
    int stop;
    /* current job */
    lg_range_fn fn;
    void *arg;
    int64_t n, chunk;
    atomic_int_fast64_t next;
};

static _Thread_local int in_pool_job;

static void run_chunks(lg_threadpool *p)
{
    in_pool_job = 1;
    for (;;) {
        int64_t b = atomic_fetch_add(&p->next, p->chunk);
        if (b >= p->n) break;
        int64_t e = b + p->chunk < p->n ? b + p->chunk : p->n;
        p->fn(p->arg, b, e);
    }
    in_pool_job = 0;
}

static void *worker_main(void *arg)
{
    lg_threadpool *p = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_chunks(p);
        pthread_mutex_lock(&p->mu);
        if (--p->active == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

lg_threadpool *lg_threadpool_create(int num_threads)
{
    if (num_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        num_threads = n > 0 ? (int)n : 1;
    }
    if (num_threads > 256) num_threads = 256;
    lg_threadpool *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    p->n_threads = num_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (num_threads > 1) {
        p->threads = calloc((size_t)num_threads - 1, sizeof(pthread_t));
        if (!p->threads) {
            free(p);
            return NULL;
        }
        for (int i = 0; i < num_threads - 1; i++) {
            if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) {
                p->n_threads = i + 1;
                break;
            }
        }
    }
    return p;
}

void lg_threadpool_free(lg_threadpool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_threads - 1; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p);
}

int lg_threadpool_size(const lg_threadpool *p) { return p ? p->n_threads : 1; }

void lg_parallel_for(lg_threadpool *p, int64_t n, int64_t min_chunk, lg_range_fn fn, void *arg)
{
    if (n <= 0) return;
    if (min_chunk < 1) min_chunk = 1;
    if (!p || p->n_threads <= 1 || in_pool_job || n <= min_chunk) {
        fn(arg, 0, n);
        return;
    }
    /* About 4 chunks per thread for balance, never smaller than min_chunk. */
    int64_t chunk = n / ((int64_t)p->n_threads * 4);
    if (chunk < min_chunk) chunk = min_chunk;
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->chunk = chunk;
    atomic_store(&p->next, 0);
    p->active = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_chunks(p);
    pthread_mutex_lock(&p->mu);
    while (p->active > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
