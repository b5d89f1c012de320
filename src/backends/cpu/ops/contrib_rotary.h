/*
 * contrib_rotary.h: rotary position embedding of one head vector, shared by
 * RotaryEmbedding and GroupQueryAttention (com.microsoft).
 *
 *   lg_rotary_apply(x, y, head, rot, cos_row, sin_row, interleaved);
 *
 * rot (even, <= head) leading elements are rotated by the angles whose cosines and sines
 * are cos_row[0 .. rot/2) and sin_row[...]; the rest are copied. Non-interleaved pairs are
 * (i, i + rot/2), interleaved pairs (2i, 2i + 1). y may equal x.
 */
#ifndef LG_CONTRIB_ROTARY_H
#define LG_CONTRIB_ROTARY_H

#include <stdbool.h>
#include <stdint.h>

static inline void lg_rotary_apply(const float *x, float *y, int64_t head, int64_t rot, const float *cs, const float *sn,
                                   bool interleaved)
{
    int64_t half = rot / 2;
    for (int64_t i = 0; i < half; i++) {
        int64_t a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + half;
        float x1 = x[a], x2 = x[b];
        y[a] = x1 * cs[i] - x2 * sn[i];
        y[b] = x2 * cs[i] + x1 * sn[i];
    }
    for (int64_t i = rot; i < head; i++) y[i] = x[i];
}

#endif
