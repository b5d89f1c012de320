/*
 * queue.h: the task queue: four priority levels, FIFO within a level, and ageing (a
 * queued task gains one level per ageing_s, so LOW work is never starved). Tasks are
 * grouped by their requirements, so a task no current worker can run never blocks the
 * others behind it: pop asks the caller which requirement classes are runnable now.
 * Items are intrusive (embedded in the caller's record); the queue owns no tasks.
 *
 *   lg_qitem *it = &entry->q;            // it->seq, it->since, it->prio set by the caller
 *   lg_queue_push(q, it, &entry->task.req);
 *   lg_qitem *best = lg_queue_pop(q, now, runnable, ctx);   // NULL: nothing runnable
 */
#ifndef LG_CLUSTER_QUEUE_H
#define LG_CLUSTER_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/task.h"

typedef struct lg_qitem {
    uint64_t seq;  /* acceptance order (FIFO within a level, older first on ties) */
    double since;  /* the time ageing counts from (same clock as pop's now) */
    int prio;      /* base priority, lg_priority */
    int cls;       /* internal: requirement class */
    int pos;       /* internal: heap position, -1 while not queued */
} lg_qitem;

typedef struct lg_queue lg_queue;

/* Says whether some worker can run tasks with these requirements now. */
typedef bool (*lg_queue_runnable)(void *arg, const lg_requirements *req);

lg_queue *lg_queue_create(double ageing_s);
void lg_queue_destroy(lg_queue *q);
/* O(log n). LG_E_NOMEM. */
int lg_queue_push(lg_queue *q, lg_qitem *it, const lg_requirements *req);
/* Takes a queued item out (cancel, timeout). O(log n). */
void lg_queue_remove(lg_queue *q, lg_qitem *it);
/* Removes and returns the item of highest effective priority (ties: lowest seq) among
 * the classes runnable says yes to; NULL if none. O(classes + log n). */
lg_qitem *lg_queue_pop(lg_queue *q, double now, lg_queue_runnable runnable, void *arg);
/* Effective priority of it at now (base + ageing, at most CRITICAL). */
int lg_queue_effective(const lg_queue *q, const lg_qitem *it, double now);
size_t lg_queue_depth(const lg_queue *q, lg_priority p);
size_t lg_queue_size(const lg_queue *q);

#endif
