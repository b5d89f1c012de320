/*
 * conv_winograd.h: 3x3 stride-1 convolutions by Winograd's F(4x4, 3x3) (Lavin & Gray,
 * 2016): each 4x4 block of outputs comes from a 6x6 block of inputs with 36 products
 * per (input, output) channel pair instead of 144, as 36 GEMMs of [out_c, in_c] x
 * [in_c, tiles] between transforms. The weights are transformed and packed once
 * (lg_conv_wino_prepare); the error against the direct path is a few float ulps of the
 * sums (measured in tests/unit/test_conv_winograd.c and docs/performance.md).
 *
 *   lg_conv_wino *w = NULL;
 *   if (lg_conv_wino_applies(&geom_at_prepare)) lg_conv_wino_prepare(weights, out_c, in_c, &w);
 *   ...
 *   if (w && lg_conv_wino_worth(&g)) rc = lg_conv_wino_f32(pool, w, &g, x, bias, NULL, act, y);
 *   lg_conv_wino_free(w);
 */
#ifndef LG_OPS_CONV_WINOGRAD_H
#define LG_OPS_CONV_WINOGRAD_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/cpu/ops/conv.h"

typedef struct lg_conv_wino lg_conv_wino;

/* Largest in_c x out_c whose weights are kept transformed (36/9 = 4x their size), and the
 * fewest channels for which the transforms pay (measured, docs/performance.md: 128 -> 128
 * at 28x28 is 1.5x faster than the GEMM path, 64 -> 64 at 56x56 even, 16 -> 64 at 55x55
 * 2x slower: the transforms cost per channel what the products save per channel pair). */
#define LG_CONV_WINO_MAX_WEIGHTS (128 * 128)
#define LG_CONV_WINO_MIN_IN 96
#define LG_CONV_WINO_MIN_OUT 64

/* Whether a Conv with these attributes and weight shape [out_c, in_c, 3, 3] can take the
 * Winograd path: 2-D, 3x3, stride 1, dilation 1, one group, channels within the limits.
 * LEGACYGPU_WINOGRAD=0 turns the path off, =all takes it for any channel counts. */
bool lg_conv_wino_weights_apply(const lg_node *n, const lg_tensor *w);
/* Transforms and packs w [out_c, in_c, 3, 3]; NULL with the error set when out of memory. */
lg_conv_wino *lg_conv_wino_prepare(const float *w, int64_t out_c, int64_t in_c);
void lg_conv_wino_free(lg_conv_wino *w);
/* Whether geometry g (at run time) fits the prepared weights and has enough tiles for
 * the transforms to pay. */
bool lg_conv_wino_worth(const lg_conv_wino *w, const lg_conv_geom *g);
/* y = act(conv(x) + bias + res) by F(4x4, 3x3); bias, res (shaped as y) and act may be NULL. */
int lg_conv_wino_f32(lg_threadpool *pool, const lg_conv_wino *w, const lg_conv_geom *g, const float *x,
                     const float *bias, const float *res, const lg_act *act, float *y);

#endif
