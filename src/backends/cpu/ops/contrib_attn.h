/*
 * contrib_attn.h: one attention head, the kernel under Attention, MultiHeadAttention and
 * GroupQueryAttention (com.microsoft):
 *
 *   out[s] = sum_t softmax_t(score(s, t)) v[t],  score = scale * q[s].k[t]
 *            (then softcap * tanh(score / softcap) when softcap > 0, + bias[s][t], and masked
 *            positions get `filter` added, or the lowest float with mask_min).
 *
 *   lg_attn_head h = { .q = q, .qs = row_stride, ..., .S = S, .T = T, .H = H, .Hv = Hv,
 *                      .scale = 1 / sqrtf(H), .key_end = T };
 *   lg_attn_heads(pool, jobs, n_jobs);   // all heads, in parallel
 */
#ifndef LG_CONTRIB_ATTN_H
#define LG_CONTRIB_ATTN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/threadpool.h"

typedef struct lg_attn_head {
    const float *q, *k, *v;               /* q [S, H], k [T, H], v [T, Hv]: rows qs, ks, vs apart */
    int64_t qs, ks, vs, os;
    float *out;                           /* [S, Hv], rows os apart */
    int64_t S, T, H, Hv;
    float scale, softcap;
    const float *bias;                    /* additive [S, T] (rows bias_rs apart; 0: one row) or NULL */
    int64_t bias_rs;
    const int32_t *keep;                  /* [S or 1, T]: 0 masks the key (keep_rs 0: one row), or NULL */
    int64_t keep_rs;
    int64_t key_begin, key_end;           /* keys outside [key_begin, key_end) are masked */
    bool causal;                          /* query s sits at position q_offset + s; later keys masked */
    int64_t q_offset;
    int64_t window;                       /* > 0: keys more than window - 1 before the query masked */
    float filter;
    bool mask_min;
} lg_attn_head;

/* Runs every head; LG_E_NOMEM (with the error set) when scratch memory is short. */
int lg_attn_heads(lg_threadpool *pool, const lg_attn_head *heads, int64_t n);

#endif
