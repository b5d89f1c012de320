/*
 * events_stats.c: the last 15 minutes of finished tasks for the dashboard's charts:
 * 90 buckets of 10 seconds, each with its task count, failures and a latency histogram
 * (log-spaced bins), from which tasks/s and p50/p90/p99 are read. Its own mutex, held
 * for a few additions: called from the coordinator observer.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/events.h"
#include "base/error.h"

#define N_BINS 64
#define BIN_MIN_S 1e-4 /* bin i holds latencies up to BIN_MIN_S * BIN_STEP^i */
#define BIN_STEP 1.25

typedef struct bucket {
    int64_t start;             /* Unix seconds, a multiple of LG_RECENT_BUCKET_S; 0 unused */
    int64_t done, failed;
    int64_t bins[N_BINS];
} bucket;

struct lg_recent {
    pthread_mutex_t mu;
    bucket b[LG_RECENT_BUCKETS];
};

lg_recent *lg_recent_create(void)
{
    lg_recent *r = calloc(1, sizeof *r);
    if (r) pthread_mutex_init(&r->mu, NULL);
    return r;
}

void lg_recent_destroy(lg_recent *r)
{
    if (!r) return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static double bin_upper(int i)
{
    return BIN_MIN_S * pow(BIN_STEP, i);
}

static int bin_of(double v)
{
    if (!(v > BIN_MIN_S)) return 0;
    int i = (int)ceil(log(v / BIN_MIN_S) / log(BIN_STEP));
    return i < N_BINS ? i : N_BINS - 1;
}

void lg_recent_add(lg_recent *r, double finished_at, double latency_s, bool ok)
{
    int64_t start = (int64_t)finished_at / LG_RECENT_BUCKET_S * LG_RECENT_BUCKET_S;
    pthread_mutex_lock(&r->mu);
    bucket *b = &r->b[(start / LG_RECENT_BUCKET_S) % LG_RECENT_BUCKETS];
    if (b->start != start) {
        memset(b, 0, sizeof *b);
        b->start = start;
    }
    b->done++;
    if (!ok) b->failed++;
    b->bins[bin_of(latency_s)]++;
    pthread_mutex_unlock(&r->mu);
}

/* The latency below which a fraction q of the bucket's tasks finished (a bin's upper bound). */
static double quantile(const bucket *b, double q)
{
    int64_t want = (int64_t)ceil(q * (double)b->done), acc = 0;
    for (int i = 0; i < N_BINS; i++) {
        acc += b->bins[i];
        if (acc >= want) return bin_upper(i);
    }
    return bin_upper(N_BINS - 1);
}

char *lg_recent_json(lg_recent *r, double now, size_t *len)
{
    bucket *snap = malloc(sizeof r->b);
    if (!snap) return NULL;
    pthread_mutex_lock(&r->mu);
    memcpy(snap, r->b, sizeof r->b);
    pthread_mutex_unlock(&r->mu);
    size_t cap = 256 + LG_RECENT_BUCKETS * 160;
    char *s = malloc(cap);
    if (!s) {
        free(snap);
        return NULL;
    }
    int64_t last = (int64_t)now / LG_RECENT_BUCKET_S * LG_RECENT_BUCKET_S;
    int n = snprintf(s, cap, "{\"bucket_s\":%d,\"now\":%.3f,\"buckets\":[", LG_RECENT_BUCKET_S, now);
    for (int k = LG_RECENT_BUCKETS - 1; k >= 0; k--) {
        int64_t start = last - (int64_t)k * LG_RECENT_BUCKET_S;
        const bucket *b = &snap[(start / LG_RECENT_BUCKET_S) % LG_RECENT_BUCKETS];
        bool have = b->start == start && b->done > 0;
        /* The current bucket is partly over: its rate counts the seconds so far. */
        double span = k == 0 ? now - (double)start : LG_RECENT_BUCKET_S;
        if (span < 1) span = 1;
        n += snprintf(s + n, cap - (size_t)n, "%s{\"start\":%lld,\"tasks\":%lld,\"failed\":%lld,\"tasks_per_s\":%.4f,",
                      k == LG_RECENT_BUCKETS - 1 ? "" : ",", (long long)start, have ? (long long)b->done : 0LL,
                      have ? (long long)b->failed : 0LL, have ? (double)b->done / span : 0.0);
        if (have)
            n += snprintf(s + n, cap - (size_t)n, "\"p50_s\":%.6f,\"p90_s\":%.6f,\"p99_s\":%.6f}", quantile(b, 0.5),
                          quantile(b, 0.9), quantile(b, 0.99));
        else
            n += snprintf(s + n, cap - (size_t)n, "\"p50_s\":null,\"p90_s\":null,\"p99_s\":null}");
        LG_ASSERT((size_t)n < cap);
    }
    n += snprintf(s + n, cap - (size_t)n, "]}");
    LG_ASSERT((size_t)n < cap);
    free(snap);
    *len = (size_t)n;
    return s;
}
