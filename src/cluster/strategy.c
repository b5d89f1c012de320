/*
 * strategy.c: the strategy table and the four rule-based strategies (ROUND_ROBIN,
 * LEAST_LOADED, GPU_MATCH, LATENCY_BASED; ADAPTIVE lives in strategy_adaptive.c), the
 * names of strategies and worker states, and the requirement filter the coordinator
 * applies before a strategy ranks the workers. docs/strategies.md says what each picks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "cluster/strategy_impl.h"

/* ---- names ------------------------------------------------------------------------ */

static const char *const strategy_names[LG_STRATEGY_COUNT] = {
    "ROUND_ROBIN", "LEAST_LOADED", "GPU_MATCH", "LATENCY_BASED", "ADAPTIVE",
};

static const char *const worker_status_names[LG_WORKER_STATUS_COUNT] = {
    "idle", "busy", "draining", "dead",
};

const char *lg_strategy_name(lg_strategy_kind k)
{
    return (unsigned)k < LG_STRATEGY_COUNT ? strategy_names[k] : NULL;
}

int lg_strategy_parse(const char *s, lg_strategy_kind *out)
{
    for (int k = 0; s && k < LG_STRATEGY_COUNT; k++) {
        if (strcasecmp(s, strategy_names[k]) == 0) {
            *out = (lg_strategy_kind)k;
            return LG_OK;
        }
    }
    return lg_error(LG_E_INVALID_ARG,
                    "unknown strategy '%s' (valid: ROUND_ROBIN, LEAST_LOADED, GPU_MATCH, LATENCY_BASED, ADAPTIVE)",
                    s ? s : "(null)");
}

const char *lg_worker_status_name(lg_worker_status s)
{
    return (unsigned)s < LG_WORKER_STATUS_COUNT ? worker_status_names[s] : NULL;
}

int lg_worker_status_parse(const char *s, lg_worker_status *out)
{
    for (int k = 0; s && k < LG_WORKER_STATUS_COUNT; k++) {
        if (strcasecmp(s, worker_status_names[k]) == 0) {
            *out = (lg_worker_status)k;
            return LG_OK;
        }
    }
    return lg_error(LG_E_INVALID_ARG, "unknown worker status '%s' (valid: idle, busy, draining, dead)",
                    s ? s : "(null)");
}

/* ---- requirements ----------------------------------------------------------------- */

/* Whether the task asks for something of a device (not just any worker). */
static bool wants_device(const lg_requirements *r)
{
    return r->min_memory_mb > 0 || r->device_vendor[0] || r->fp16 == 1;
}

static bool device_fits(const lg_requirements *r, const lg_device_info *d)
{
    return !d->unhealthy && d->memory_mb >= r->min_memory_mb && (!r->device_vendor[0] || strcasecmp(d->vendor, r->device_vendor) == 0) &&
           (r->fp16 != 1 || d->fp16) && (!r->backend[0] || strcasecmp(d->backend, r->backend) == 0);
}

/* The fitting device with the least memory, or NULL when none fits. */
static const lg_device_info *tightest_device(const lg_requirements *r, const lg_worker_info *w)
{
    const lg_device_info *best = NULL;
    for (int i = 0; i < w->n_devices; i++) {
        const lg_device_info *d = &w->devices[i];
        if (device_fits(r, d) && (!best || d->memory_mb < best->memory_mb)) best = d;
    }
    return best;
}

static bool has_backend(const lg_worker_info *w, const char *backend)
{
    for (int i = 0; i < w->n_backends; i++)
        if (strcasecmp(w->backends[i], backend) == 0) return true;
    for (int i = 0; i < w->n_devices; i++)
        if (strcasecmp(w->devices[i].backend, backend) == 0 && !w->devices[i].unhealthy) return true;
    return false;
}

static bool has_tag(const lg_worker_info *w, const char *tag)
{
    for (int i = 0; i < w->n_tags; i++)
        if (strcmp(w->tags[i], tag) == 0) return true;
    return false;
}

bool lg_requirements_met(const lg_requirements *r, const lg_worker_info *w)
{
    if (!r) return true;
    if (wants_device(r) && !tightest_device(r, w)) return false;
    if (r->backend[0] && !has_backend(w, r->backend)) return false;
    for (int i = 0; i < r->n_tags; i++)
        if (!has_tag(w, r->tags[i])) return false;
    return true;
}

/* ---- shared rankings ---------------------------------------------------------------- */

int lg_worker_capacity(const lg_worker_view *w)
{
    return w->info.capacity > 0 ? w->info.capacity : 1;
}

int lg_load_cmp(const lg_worker_view *a, const lg_worker_view *b)
{
    /* in_flight / capacity compared without division: a.f * b.c vs b.f * a.c */
    long long la = (long long)a->in_flight * lg_worker_capacity(b);
    long long lb = (long long)b->in_flight * lg_worker_capacity(a);
    if (la != lb) return la < lb ? -1 : 1;
    if (a->in_flight != b->in_flight) return a->in_flight < b->in_flight ? -1 : 1;
    return strcmp(a->info.id, b->info.id);
}

static const double *ewma_of(const lg_worker_view *w, const char *model)
{
    for (int i = 0; i < w->n_ewma && i < LG_MAX_WORKER_MODELS; i++)
        if (strcmp(w->ewma_model[i], model) == 0 && w->ewma_s[i] > 0) return &w->ewma_s[i];
    return NULL;
}

double lg_mean_service(const lg_worker_view *const *cand, int n, const char *model)
{
    double sum = 0;
    int count = 0;
    for (int i = 0; i < n; i++) {
        const double *e = ewma_of(cand[i], model);
        if (e) {
            sum += *e;
            count++;
        }
    }
    return count ? sum / count : 0;
}

double lg_worker_expected_service(const lg_worker_view *w, const char *model, double fallback)
{
    const double *e = ewma_of(w, model ? model : "");
    if (e) return *e;
    return fallback > 0 ? fallback : LG_DEFAULT_SERVICE_S;
}

/* Index of the best candidate under cmp (ties resolved by cmp itself). */
typedef int (*view_cmp)(const void *ctx, const lg_worker_view *a, const lg_worker_view *b);

static int argmin(const lg_worker_view *const *cand, int n, view_cmp cmp, const void *ctx)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (cmp(ctx, cand[i], cand[best]) < 0) best = i;
    return best;
}

/* ---- ROUND_ROBIN: the next worker after the last one picked, in id order --------- */

typedef struct {
    char last[64];
} rr_state;

static void *rr_create(void) { return calloc(1, sizeof(rr_state)); }

static int rr_pick(void *state, const lg_task *task, const lg_worker_view *const *cand, int n, double now)
{
    rr_state *s = state;
    int next = -1, first = 0;
    for (int i = 0; i < n; i++) {
        const char *id = cand[i]->info.id;
        if (strcmp(id, cand[first]->info.id) < 0) first = i;
        if (strcmp(id, s->last) > 0 && (next < 0 || strcmp(id, cand[next]->info.id) < 0)) next = i;
    }
    int pick = next >= 0 ? next : first;
    snprintf(s->last, sizeof s->last, "%s", cand[pick]->info.id);
    return pick;
}

/* ---- LEAST_LOADED: lowest in_flight / capacity ------------------------------------ */

static int load_cmp_ctx(const void *ctx, const lg_worker_view *a, const lg_worker_view *b)
{
    (void)ctx;
    return lg_load_cmp(a, b);
}

static int ll_pick(void *state, const lg_task *task, const lg_worker_view *const *cand, int n, double now)
{
    return argmin(cand, n, load_cmp_ctx, NULL);
}

/* ---- GPU_MATCH: the fitting device with the least to spare -------------------------- */

/* Memory of the worker's accelerators (devices not on the CPU backend). */
static long long gpu_memory(const lg_worker_info *w)
{
    long long sum = 0;
    for (int i = 0; i < w->n_devices; i++)
        if (strcasecmp(w->devices[i].backend, "cpu") != 0 && !w->devices[i].unhealthy) sum += w->devices[i].memory_mb;
    return sum;
}

/* Rank key: memory of the tightest fitting device for device tasks, total accelerator
 * memory otherwise (so tasks any worker can run go to the least capable one). */
static long long gpu_match_key(const lg_requirements *r, const lg_worker_info *w)
{
    if (!wants_device(r)) return gpu_memory(w);
    const lg_device_info *d = tightest_device(r, w);
    return d ? d->memory_mb : (long long)1 << 62;
}

static int gpu_cmp(const void *ctx, const lg_worker_view *a, const lg_worker_view *b)
{
    long long ka = gpu_match_key(ctx, &a->info), kb = gpu_match_key(ctx, &b->info);
    if (ka != kb) return ka < kb ? -1 : 1;
    return lg_load_cmp(a, b);
}

static int gpu_pick(void *state, const lg_task *task, const lg_worker_view *const *cand, int n, double now)
{
    static const lg_requirements none = { .fp16 = -1 };
    return argmin(cand, n, gpu_cmp, task ? &task->req : &none);
}

/* ---- LATENCY_BASED: lowest (in_flight + 1) / capacity x EWMA service time ---------- */

typedef struct {
    const char *model;
    double fallback;
} latency_ctx;

static double expected_completion(const latency_ctx *c, const lg_worker_view *w)
{
    return (double)(w->in_flight + 1) / lg_worker_capacity(w) * lg_worker_expected_service(w, c->model, c->fallback);
}

static int latency_cmp(const void *ctx, const lg_worker_view *a, const lg_worker_view *b)
{
    double ea = expected_completion(ctx, a), eb = expected_completion(ctx, b);
    if (ea != eb) return ea < eb ? -1 : 1;
    return lg_load_cmp(a, b);
}

static int latency_pick(void *state, const lg_task *task, const lg_worker_view *const *cand, int n, double now)
{
    latency_ctx c = { task && task->model ? task->model : "", 0 };
    c.fallback = lg_mean_service(cand, n, c.model);
    return argmin(cand, n, latency_cmp, &c);
}

/* ---- the table ---------------------------------------------------------------------- */

static const lg_strategy_def round_robin_def = {
    LG_STRATEGY_ROUND_ROBIN, "ROUND_ROBIN", "rotates over the eligible workers in id order, regardless of load",
    rr_create, free, rr_pick, NULL,
};
static const lg_strategy_def least_loaded_def = {
    LG_STRATEGY_LEAST_LOADED, "LEAST_LOADED", "lowest in-flight / capacity; ties: fewer in flight, then id",
    NULL, NULL, ll_pick, NULL,
};
static const lg_strategy_def gpu_match_def = {
    LG_STRATEGY_GPU_MATCH, "GPU_MATCH",
    "the worker whose device fits the requirements with the least memory to spare; tasks without device "
    "requirements go to the least capable worker; ties: LEAST_LOADED",
    NULL, NULL, gpu_pick, NULL,
};
static const lg_strategy_def latency_def = {
    LG_STRATEGY_LATENCY_BASED, "LATENCY_BASED",
    "lowest expected completion: (in_flight + 1) / capacity x EWMA service time of the model on that worker",
    NULL, NULL, latency_pick, NULL,
};

static const lg_strategy_def *const strategies[LG_STRATEGY_COUNT] = {
    &round_robin_def, &least_loaded_def, &gpu_match_def, &latency_def, &lg_strategy_adaptive_def,
};

const lg_strategy_def *lg_strategy_get(lg_strategy_kind k)
{
    return (unsigned)k < LG_STRATEGY_COUNT ? strategies[k] : NULL;
}
