/*
 * threadpool.h: a fixed pool of worker threads for data-parallel loops.
 *
 * lg_parallel_for splits [0, n) into chunks and runs fn on them on the pool's threads and
 * the calling thread; it returns when all chunks are done. A pool of 1 thread runs fn
 * inline. Nested calls from inside fn run inline.
 *
 *   static void scale(void *arg, int64_t begin, int64_t end) {
 *       float *x = arg; for (int64_t i = begin; i < end; i++) x[i] *= 2;
 *   }
 *   lg_threadpool *p = lg_threadpool_create(0);   // 0: one thread per core
 *   lg_parallel_for(p, n, 4096, scale, x);          // chunks of at least 4096
 *   lg_threadpool_free(p);
 */
#ifndef LG_THREADPOOL_H
#define LG_THREADPOOL_H

#include <stdint.h>

typedef struct lg_threadpool lg_threadpool;
typedef void (*lg_range_fn)(void *arg, int64_t begin, int64_t end);

lg_threadpool *lg_threadpool_create(int num_threads);
void lg_threadpool_free(lg_threadpool *p);
int lg_threadpool_size(const lg_threadpool *p);
/* min_chunk: smallest range worth a thread (>= 1). */
void lg_parallel_for(lg_threadpool *p, int64_t n, int64_t min_chunk, lg_range_fn fn, void *arg);

#endif
