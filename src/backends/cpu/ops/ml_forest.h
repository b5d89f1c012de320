/*
 * ml_forest.h: decision-tree ensembles of ai.onnx.ml, built once at session creation from
 * either attribute layout (TreeEnsembleClassifier/Regressor's (treeid, nodeid) lists, or
 * TreeEnsemble opset 5's node indices with separate leaves) into one checked form, then
 * evaluated per row.
 *
 *   lg_ml_forest *f;
 *   LG_CHECK(lg_ml_forest_from_legacy(node, "target", n_targets, &f));  // or _from_v5
 *   LG_CHECK(lg_ml_forest_check_features(f, cols));
 *   lg_ml_forest_eval(f, row, scores);   // scores[n_targets], aggregated, no base values
 *   lg_ml_forest_free(f);
 *
 * Every index (children, roots, leaves, targets) is checked when the forest is built and
 * every tree is checked to be acyclic, so evaluation cannot leave the arrays or loop.
 */
#ifndef LG_ML_FOREST_H
#define LG_ML_FOREST_H

#include <stdbool.h>

#include "runtime/kernel.h"

typedef enum lg_ml_agg { LG_ML_AGG_AVERAGE = 0, LG_ML_AGG_SUM, LG_ML_AGG_MIN, LG_ML_AGG_MAX } lg_ml_agg;

typedef struct lg_ml_forest lg_ml_forest;

/* TreeEnsembleClassifier (prefix "class") / TreeEnsembleRegressor (prefix "target"). */
int lg_ml_forest_from_legacy(const lg_node *n, const char *prefix, int n_targets, lg_ml_agg agg, lg_ml_forest **out);
/* TreeEnsemble (ai.onnx.ml opset 5). */
int lg_ml_forest_from_v5(const lg_node *n, lg_ml_forest **out);
void lg_ml_forest_free(lg_ml_forest *f);

int lg_ml_forest_targets(const lg_ml_forest *f);
/* Distinct target ids the leaves write (a classifier with one is "binary"). */
int lg_ml_forest_distinct_targets(const lg_ml_forest *f, int *first);
/* Fails when a node reads a feature >= cols. */
int lg_ml_forest_check_features(const lg_ml_forest *f, int64_t cols);
/* scores[n_targets] for one row: leaf weights aggregated over the trees (0 where no leaf
 * wrote a target). */
void lg_ml_forest_eval(const lg_ml_forest *f, const double *row, double *scores);

#endif
