/*
 * queue.c: the priority queue with ageing. One binary min-heap (by seq) per priority
 * level per requirement class: the top of a level's heap is its oldest task and so has
 * the highest effective priority of that level; pop compares the tops.
 */
#include "cluster/queue.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

typedef struct heap {
    lg_qitem **v;
    size_t n, cap;
} heap;

typedef struct qclass {
    lg_requirements req;
    heap level[LG_PRIO_COUNT];
    size_t n;
} qclass;

struct lg_queue {
    double ageing_s;
    qclass *cls;
    int n_cls;
    size_t depth[LG_PRIO_COUNT];
};

/* ---- heap by seq ----------------------------------------------------------------- */

static void heap_set(heap *h, size_t i, lg_qitem *it)
{
    h->v[i] = it;
    it->pos = (int)i;
}

static void sift_up(heap *h, size_t i)
{
    lg_qitem *it = h->v[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->v[p]->seq <= it->seq) break;
        heap_set(h, i, h->v[p]);
        i = p;
    }
    heap_set(h, i, it);
}

static void sift_down(heap *h, size_t i)
{
    lg_qitem *it = h->v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && h->v[c + 1]->seq < h->v[c]->seq) c++;
        if (it->seq <= h->v[c]->seq) break;
        heap_set(h, i, h->v[c]);
        i = c;
    }
    heap_set(h, i, it);
}

static int heap_push(heap *h, lg_qitem *it)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        lg_qitem **v = realloc(h->v, cap * sizeof *v);
        if (!v) return lg_error(LG_E_NOMEM, "queue: no memory for %zu entries", cap);
        h->v = v;
        h->cap = cap;
    }
    heap_set(h, h->n++, it);
    sift_up(h, h->n - 1);
    return LG_OK;
}

static void heap_remove(heap *h, size_t i)
{
    LG_ASSERT(i < h->n);
    h->v[i]->pos = -1;
    h->n--;
    if (i == h->n) return;
    heap_set(h, i, h->v[h->n]);
    sift_down(h, i);
    sift_up(h, (size_t)h->v[i]->pos);
}

/* ---- classes ------------------------------------------------------------------------ */

static bool req_equal(const lg_requirements *a, const lg_requirements *b)
{
    if (a->min_memory_mb != b->min_memory_mb || a->fp16 != b->fp16 || a->n_tags != b->n_tags) return false;
    if (strcmp(a->backend, b->backend) != 0 || strcmp(a->device_vendor, b->device_vendor) != 0) return false;
    for (int i = 0; i < a->n_tags; i++)
        if (strcmp(a->tags[i], b->tags[i]) != 0) return false;
    return true;
}

/* The class of req: an existing one, else an empty one reused, else a new one. */
static int class_for(lg_queue *q, const lg_requirements *req)
{
    int empty = -1;
    for (int i = 0; i < q->n_cls; i++) {
        if (q->cls[i].n > 0 && req_equal(&q->cls[i].req, req)) return i;
        if (q->cls[i].n == 0 && empty < 0) empty = i;
    }
    if (empty < 0) {
        qclass *c = realloc(q->cls, (size_t)(q->n_cls + 1) * sizeof *c);
        if (!c) return lg_error(LG_E_NOMEM, "queue: no memory for a requirement class");
        q->cls = c;
        memset(&c[q->n_cls], 0, sizeof *c);
        empty = q->n_cls++;
    }
    q->cls[empty].req = *req;
    return empty;
}

/* ---- the queue ---------------------------------------------------------------------- */

lg_queue *lg_queue_create(double ageing_s)
{
    lg_queue *q = calloc(1, sizeof *q);
    if (q) q->ageing_s = ageing_s;
    return q;
}

void lg_queue_destroy(lg_queue *q)
{
    if (!q) return;
    for (int i = 0; i < q->n_cls; i++)
        for (int l = 0; l < LG_PRIO_COUNT; l++) free(q->cls[i].level[l].v);
    free(q->cls);
    free(q);
}

int lg_queue_push(lg_queue *q, lg_qitem *it, const lg_requirements *req)
{
    LG_ASSERT(it->prio >= 0 && it->prio < LG_PRIO_COUNT);
    int c = class_for(q, req);
    if (c < 0) return c;
    LG_CHECK(heap_push(&q->cls[c].level[it->prio], it));
    it->cls = c;
    q->cls[c].n++;
    q->depth[it->prio]++;
    return LG_OK;
}

void lg_queue_remove(lg_queue *q, lg_qitem *it)
{
    LG_ASSERT(it->pos >= 0 && it->cls < q->n_cls);
    heap_remove(&q->cls[it->cls].level[it->prio], (size_t)it->pos);
    q->cls[it->cls].n--;
    q->depth[it->prio]--;
}

int lg_queue_effective(const lg_queue *q, const lg_qitem *it, double now)
{
    int eff = it->prio;
    if (q->ageing_s > 0 && now > it->since) {
        double levels = (now - it->since) / q->ageing_s;
        eff += levels >= LG_PRIO_COUNT ? LG_PRIO_COUNT : (int)levels;
    }
    return eff < LG_PRIO_CRITICAL ? eff : LG_PRIO_CRITICAL;
}

lg_qitem *lg_queue_pop(lg_queue *q, double now, lg_queue_runnable runnable, void *arg)
{
    lg_qitem *best = NULL;
    int best_eff = -1;
    for (int i = 0; i < q->n_cls; i++) {
        qclass *c = &q->cls[i];
        if (c->n == 0 || !runnable(arg, &c->req)) continue;
        for (int l = LG_PRIO_COUNT - 1; l >= 0; l--) {
            if (c->level[l].n == 0) continue;
            lg_qitem *top = c->level[l].v[0];
            int eff = lg_queue_effective(q, top, now);
            if (eff > best_eff || (eff == best_eff && top->seq < best->seq)) {
                best = top;
                best_eff = eff;
            }
        }
    }
    if (best) lg_queue_remove(q, best);
    return best;
}

size_t lg_queue_depth(const lg_queue *q, lg_priority p)
{
    return (unsigned)p < LG_PRIO_COUNT ? q->depth[p] : 0;
}

size_t lg_queue_size(const lg_queue *q)
{
    size_t n = 0;
    for (int p = 0; p < LG_PRIO_COUNT; p++) n += q->depth[p];
    return n;
}
