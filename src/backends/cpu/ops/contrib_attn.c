/*
 * contrib_attn.c: the attention-head kernel shared by the com.microsoft attention operators
 * (see contrib_attn.h): scores in float, a numerically safe softmax, the weighted sum of V.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "backends/cpu/ops/contrib_attn.h"
#include "base/error.h"

static bool masked(const lg_attn_head *h, int64_t s, int64_t t)
{
    if (t < h->key_begin || t >= h->key_end) return true;
    if (h->keep && h->keep[s * h->keep_rs + t] == 0) return true;
    int64_t pos = h->q_offset + s;
    if (h->causal && t > pos) return true;
    if (h->window > 0 && t <= pos - h->window) return true;
    return false;
}

static void head_run(const lg_attn_head *h, float *p)
{
    for (int64_t s = 0; s < h->S; s++) {
        const float *q = h->q + s * h->qs;
        float mx = -FLT_MAX;
        for (int64_t t = 0; t < h->T; t++) {
            const float *k = h->k + t * h->ks;
            float d = 0;
            for (int64_t i = 0; i < h->H; i++) d += q[i] * k[i];
            d *= h->scale;
            if (h->softcap > 0) d = h->softcap * tanhf(d / h->softcap);
            if (h->bias) d += h->bias[s * h->bias_rs + t];
            if (masked(h, s, t)) d = h->mask_min ? -FLT_MAX : d + h->filter;
            p[t] = d;
            mx = d > mx ? d : mx;
        }
        double sum = 0;
        for (int64_t t = 0; t < h->T; t++) sum += (p[t] = expf(p[t] - mx));
        float *o = h->out + s * h->os;
        for (int64_t j = 0; j < h->Hv; j++) o[j] = 0;
        for (int64_t t = 0; t < h->T; t++) {
            float w = (float)(p[t] / sum);
            const float *v = h->v + t * h->vs;
            for (int64_t j = 0; j < h->Hv; j++) o[j] += w * v[j];
        }
    }
}

typedef struct heads_arg {
    const lg_attn_head *heads;
    int failed;
} heads_arg;

static void heads_range(void *arg, int64_t lo, int64_t hi)
{
    heads_arg *a = arg;
    int64_t t = 1;
    for (int64_t i = lo; i < hi; i++) t = a->heads[i].T > t ? a->heads[i].T : t;
    float *p = malloc((size_t)t * sizeof(float));
    if (!p) {
        a->failed = 1;
        return;
    }
    for (int64_t i = lo; i < hi; i++) head_run(&a->heads[i], p);
    free(p);
}

int lg_attn_heads(lg_threadpool *pool, const lg_attn_head *heads, int64_t n)
{
    heads_arg a = { heads, 0 };
    lg_parallel_for(pool, n, 1, heads_range, &a);
    return a.failed ? lg_error(LG_E_NOMEM, "out of memory for attention scores") : LG_OK;
}
