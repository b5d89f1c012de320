/*
 * threadpool.c: persistent worker threads that share the chunks of one parallel loop.
 *
 * One job at a time: lg_parallel_for publishes (fn, arg, n, chunk), bumps a generation
 * counter and wakes the workers; everyone, the caller included, takes chunks from an
 * atomic counter until none are left; the caller waits until every worker has finished.
 *
 * Wake-up latency: between jobs a worker spins on the generation counter for a short
 * while (LG_POOL_SPIN pauses, some tens of microseconds; LEGACYGPU_SPIN=N sets N, 0
 * sleeps at once, which suits a machine oversubscribed by other processes) before it
 * sleeps on the condition variable, so a model's next node finds its workers awake; the caller likewise spins
 * briefly before sleeping until the last worker is done. The counters are atomics; the
 * mutex and condition variables serve only the sleepers, so no wake-up is lost: a
 * worker re-checks the generation under the mutex before it waits, and the caller
 * broadcasts under the mutex after bumping it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/threadpool.h"

/* Pause instructions a thread spins before it sleeps (about 30-100 us), by default. */
#define LG_POOL_SPIN 2000
#define LG_POOL_SPIN_MAX 1000000

struct lg_threadpool {
    int n_threads; /* including the caller */
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    atomic_uint_fast64_t generation;
    atomic_int active;  /* workers still in the current job */
    atomic_int stop;
    int sleepers;       /* workers waiting on `wake` (under mu) */
    int spin;           /* pauses before sleeping */
    /* current job */
    lg_range_fn fn;
    void *arg;
    int64_t n, chunk;
    atomic_int_fast64_t next;
};

static _Thread_local int in_pool_job;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

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

/* Waits until the generation differs from seen (or stop); returns the new one. */
static uint64_t wait_generation(lg_threadpool *p, uint64_t seen)
{
    for (int i = 0; i < p->spin; i++) {
        uint64_t g = atomic_load_explicit(&p->generation, memory_order_acquire);
        if (g != seen || atomic_load_explicit(&p->stop, memory_order_relaxed)) return g;
        cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    p->sleepers++;
    while (!atomic_load(&p->stop) && atomic_load(&p->generation) == seen) pthread_cond_wait(&p->wake, &p->mu);
    p->sleepers--;
    pthread_mutex_unlock(&p->mu);
    return atomic_load_explicit(&p->generation, memory_order_acquire);
}

static void *worker_main(void *arg)
{
    lg_threadpool *p = arg;
    uint64_t seen = 0;
    for (;;) {
        seen = wait_generation(p, seen);
        if (atomic_load(&p->stop)) break;
        run_chunks(p);
        if (atomic_fetch_sub_explicit(&p->active, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu); /* the caller may be asleep on `done` */
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
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
    const char *spin = getenv("LEGACYGPU_SPIN");
    p->spin = spin && *spin ? atoi(spin) : LG_POOL_SPIN;
    if (p->spin < 0) p->spin = 0;
    if (p->spin > LG_POOL_SPIN_MAX) p->spin = LG_POOL_SPIN_MAX;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->generation, 0);
    atomic_init(&p->active, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->next, 0);
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
    atomic_store(&p->stop, 1);
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
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->chunk = chunk;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->active, p->n_threads - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release); /* publishes the job */
    pthread_mutex_lock(&p->mu);
    if (p->sleepers > 0) pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_chunks(p);
    for (int i = 0; i < p->spin && atomic_load_explicit(&p->active, memory_order_acquire) > 0; i++) cpu_relax();
    if (atomic_load_explicit(&p->active, memory_order_acquire) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->active) > 0) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}
