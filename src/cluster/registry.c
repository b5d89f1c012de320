/*
 * registry.c: the worker table: registration, status, EWMA service times.
 */
#include "cluster/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

struct lg_wreg {
    lg_reg_worker **w;
    int n, cap;
};

lg_wreg *lg_wreg_create(void)
{
    return calloc(1, sizeof(lg_wreg));
}

void lg_wreg_destroy(lg_wreg *r)
{
    if (!r) return;
    for (int i = 0; i < r->n; i++) free(r->w[i]);
    free(r->w);
    free(r);
}

lg_reg_worker *lg_wreg_find(lg_wreg *r, const char *id)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->w[i]->v.info.id, id) == 0) return r->w[i];
    return NULL;
}

int lg_wreg_count(const lg_wreg *r)
{
    return r->n;
}

lg_reg_worker *lg_wreg_at(lg_wreg *r, int i)
{
    LG_ASSERT(i >= 0 && i < r->n);
    return r->w[i];
}

void lg_wreg_refresh(lg_reg_worker *w)
{
    if (w->dead) w->v.status = LG_WORKER_DEAD;
    else if (w->draining) w->v.status = LG_WORKER_DRAINING;
    else if (w->v.in_flight >= w->v.info.capacity) w->v.status = LG_WORKER_BUSY;
    else w->v.status = LG_WORKER_IDLE;
}

bool lg_wreg_eligible(const lg_reg_worker *w)
{
    return !w->dead && !w->draining && w->v.in_flight < w->v.info.capacity;
}

int lg_wreg_hello(lg_wreg *r, const lg_worker_info *info, double now, double mono, lg_reg_worker **out,
                      bool *known)
{
    if (!info->id[0] || !memchr(info->id, '\0', sizeof info->id))
        return lg_error(LG_E_INVALID_ARG, "worker registration without a valid id");
    lg_reg_worker *w = lg_wreg_find(r, info->id);
    *known = w != NULL;
    if (!w) {
        if (r->n == r->cap) {
            int cap = r->cap ? r->cap * 2 : 8;
            lg_reg_worker **v = realloc(r->w, (size_t)cap * sizeof *v);
            if (!v) return lg_error(LG_E_NOMEM, "registry: no memory for %d workers", cap);
            r->w = v;
            r->cap = cap;
        }
        w = calloc(1, sizeof *w);
        if (!w) return lg_error(LG_E_NOMEM, "registry: no memory for worker '%s'", info->id);
        w->v.registered_at = now;
        r->w[r->n++] = w;
    }
    if (w->dead) w->v.registered_at = now;
    w->v.info = *info;
    if (w->v.info.capacity < 1) w->v.info.capacity = 1;
    w->dead = false;
    w->draining = false;
    w->v.last_seen = now;
    w->last_mono = mono;
    lg_wreg_refresh(w);
    *out = w;
    return LG_OK;
}

void lg_wreg_observe(lg_reg_worker *w, const char *model, double service_s)
{
    lg_worker_view *v = &w->v;
    for (int i = 0; i < v->n_ewma; i++)
        if (strcmp(v->ewma_model[i], model) == 0) {
            v->ewma_s[i] = LG_EWMA_ALPHA * service_s + (1.0 - LG_EWMA_ALPHA) * v->ewma_s[i];
            return;
        }
    /* A new model takes a free slot, else the last one's (64 models is plenty). */
    int i = v->n_ewma < LG_MAX_WORKER_MODELS ? v->n_ewma++ : LG_MAX_WORKER_MODELS - 1;
    snprintf(v->ewma_model[i], sizeof v->ewma_model[i], "%s", model);
    v->ewma_s[i] = service_s;
}
