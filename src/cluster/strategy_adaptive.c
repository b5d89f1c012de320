/*
 * strategy_adaptive.c: ADAPTIVE, the strategy that learns from what it observes.
 *
 * For every (worker, model) pair it keeps an EWMA of the service time of successful
 * attempts, an EWMA of how long failed attempts took, and an EWMA failure rate. Old
 * evidence fades: the older an estimate (in the clock its picks are given), the closer
 * it is pulled back to the prior (the mean service time of the model over all workers,
 * failure rate 0), so a worker that was avoided for failing or being slow gets tried
 * again and can win its traffic back. It picks the candidate with the lowest expected
 * cost:
 *
 *   cost = (in_flight + 1) / capacity x service + p / (1 - p) x (fail_time + retry)
 *
 * (expected completion including the queue ahead, plus the expected failed attempts
 * before a success, each costing its own duration and a retry of mean service time).
 * Pairs never observed are tried first; then epsilon-greedy exploration with decaying
 * epsilon picks a uniformly random candidate. The random numbers come from a seeded
 * generator, so a run is reproducible (lg_strategy_adaptive_seed).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/strategy_impl.h"

#define SERVICE_ALPHA 0.2  /* weight of a new service-time observation */
#define FAIL_ALPHA 0.1     /* weight of a new success/failure observation */
#define FORGET_S 20.0      /* evidence this old (seconds) has faded to 1/e of its weight */
#define MAX_FAIL_RATE 0.95 /* caps p / (1 - p) at 19 retries */
#define EPS_START 0.05     /* exploration probability at the start ... */
#define EPS_HALF 200.0     /* ... halved after this many picks ... */
#define EPS_MIN 0.005      /* ... and never below this */
#define DEFAULT_SEED 0x5eed5eed5eedULL

typedef struct arm {
    char worker[64];
    char model[64];
    double service;   /* EWMA of successful attempts (s) */
    double fail_time; /* EWMA of failed attempts (s), 0 until one failed */
    double fail_rate; /* EWMA of 1 for a failure, 0 for a success */
    int64_t n;        /* observations */
    double seen;      /* clock of the last observation */
} arm;

typedef struct adaptive {
    arm *arms;
    int n_arms, cap_arms;
    uint64_t rng;
    int64_t picks;
    double clock; /* the latest 'now' a pick was given */
} adaptive;

static uint64_t next_u64(adaptive *a)
{
    /* splitmix64 */
    uint64_t z = (a->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double next_unit(adaptive *a) { return (double)(next_u64(a) >> 11) * 0x1.0p-53; }

void lg_strategy_adaptive_seed(void *state, uint64_t seed)
{
    adaptive *a = state;
    a->rng = seed;
}

static void *adaptive_create(void)
{
    adaptive *a = calloc(1, sizeof *a);
    if (a) a->rng = DEFAULT_SEED;
    return a;
}

static void adaptive_destroy(void *state)
{
    adaptive *a = state;
    if (!a) return;
    free(a->arms);
    free(a);
}

static arm *find_arm(adaptive *a, const char *worker, const char *model)
{
    for (int i = 0; i < a->n_arms; i++)
        if (strcmp(a->arms[i].worker, worker) == 0 && strcmp(a->arms[i].model, model) == 0) return &a->arms[i];
    return NULL;
}

static arm *add_arm(adaptive *a, const char *worker, const char *model)
{
    if (a->n_arms == a->cap_arms) {
        int cap = a->cap_arms ? a->cap_arms * 2 : 16;
        arm *grown = realloc(a->arms, (size_t)cap * sizeof *grown);
        if (!grown) return NULL;
        a->arms = grown;
        a->cap_arms = cap;
    }
    arm *m = &a->arms[a->n_arms++];
    memset(m, 0, sizeof *m);
    snprintf(m->worker, sizeof m->worker, "%s", worker);
    snprintf(m->model, sizeof m->model, "%s", model);
    return m;
}

/* Mean service time of model over the workers observed running it (0: none). */
static double prior_service(const adaptive *a, const char *model)
{
    double sum = 0;
    int count = 0;
    for (int i = 0; i < a->n_arms; i++) {
        if (a->arms[i].n > 0 && a->arms[i].service > 0 && strcmp(a->arms[i].model, model) == 0) {
            sum += a->arms[i].service;
            count++;
        }
    }
    return count ? sum / count : 0;
}

/* How much of an estimate last updated at 'seen' is still trusted now. */
static double trust(const adaptive *a, const arm *m)
{
    double age = a->clock - m->seen;
    return age > 0 ? exp(-age / FORGET_S) : 1.0;
}

typedef struct estimate {
    double service, fail_time, fail_rate;
} estimate;

/* The arm's estimates, faded towards the prior by their age. */
static estimate faded(const adaptive *a, const arm *m, double prior)
{
    double w = trust(a, m);
    estimate e;
    e.service = m->service > 0 ? prior + w * (m->service - prior) : prior;
    e.fail_time = m->fail_time > 0 ? m->fail_time : e.service;
    e.fail_rate = w * m->fail_rate;
    return e;
}

static double cost(const lg_worker_view *w, const estimate *e, double retry)
{
    double p = e->fail_rate < MAX_FAIL_RATE ? e->fail_rate : MAX_FAIL_RATE;
    double queue = (double)(w->in_flight + 1) / lg_worker_capacity(w);
    return queue * e->service + p / (1 - p) * (e->fail_time + retry);
}

static int adaptive_pick(void *state, const lg_task *task, const lg_worker_view *const *cand, int n, double now)
{
    adaptive *a = state;
    const char *model = task && task->model ? task->model : "";
    if (now > a->clock) a->clock = now;
    a->picks++;

    /* Workers never observed with this model come first (least loaded of them). */
    int untried = -1;
    for (int i = 0; i < n; i++) {
        const arm *m = find_arm(a, cand[i]->info.id, model);
        if ((!m || m->n == 0) && (untried < 0 || lg_load_cmp(cand[i], cand[untried]) < 0)) untried = i;
    }
    if (untried >= 0) return untried;

    double eps = EPS_START * pow(0.5, (double)a->picks / EPS_HALF);
    if (eps < EPS_MIN) eps = EPS_MIN;
    if (next_unit(a) < eps) return (int)(next_u64(a) % (uint64_t)n);

    double prior = prior_service(a, model);
    if (prior <= 0) prior = LG_DEFAULT_SERVICE_S;
    int best = 0;
    double best_cost = 0;
    for (int i = 0; i < n; i++) {
        estimate e = faded(a, find_arm(a, cand[i]->info.id, model), prior);
        double c = cost(cand[i], &e, prior);
        if (i == 0 || c < best_cost || (c == best_cost && lg_load_cmp(cand[i], cand[best]) < 0)) {
            best = i;
            best_cost = c;
        }
    }
    return best;
}

static void adaptive_observe(void *state, const char *worker_id, const char *model, double service_s, bool ok)
{
    adaptive *a = state;
    model = model ? model : "";
    arm *m = find_arm(a, worker_id, model);
    if (!m) m = add_arm(a, worker_id, model);
    if (!m) return; /* out of memory: this observation is lost, picks stay valid */
    if (service_s < 0) service_s = 0;

    /* Fade what is old before the new evidence is mixed in. */
    double prior = prior_service(a, model);
    estimate e = faded(a, m, prior > 0 ? prior : service_s);
    m->fail_rate = e.fail_rate;
    if (m->service > 0) m->service = e.service;

    if (ok) m->service = m->service > 0 ? m->service + SERVICE_ALPHA * (service_s - m->service) : service_s;
    else m->fail_time = m->fail_time > 0 ? m->fail_time + SERVICE_ALPHA * (service_s - m->fail_time) : service_s;
    m->fail_rate += FAIL_ALPHA * ((ok ? 0.0 : 1.0) - m->fail_rate);
    m->n++;
    m->seen = a->clock;
}

const lg_strategy_def lg_strategy_adaptive_def = {
    LG_STRATEGY_ADAPTIVE,
    "ADAPTIVE",
    "learns per worker and model: lowest (in_flight + 1) / capacity x learned service time + expected failures x "
    "(failure time + retry); old evidence fades, untried workers first, decaying epsilon-greedy exploration",
    adaptive_create,
    adaptive_destroy,
    adaptive_pick,
    adaptive_observe,
};
