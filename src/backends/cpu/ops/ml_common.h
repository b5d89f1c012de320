/*
 * ml_common.h: what the ai.onnx.ml operators share: X read as rows of doubles whatever its
 * numeric type, the post transforms of the classifiers and regressors, class labels
 * (int64 or string) and attribute-length checks that fail with one clear error.
 *
 *   lg_ml_post post;
 *   LG_CHECK(lg_ml_post_parse(lg_attr_string(n, "post_transform", "NONE"), &post));
 *   int64_t rows, cols;
 *   LG_CHECK(lg_ml_shape(x, &rows, &cols));
 *   lg_ml_row(x, r, cols, buf);             // row r as doubles
 *   lg_ml_post_apply(post, scores, ncols);  // in place
 */
#ifndef LG_ML_COMMON_H
#define LG_ML_COMMON_H

#include "runtime/kernel.h"

typedef enum lg_ml_post {
    LG_ML_POST_NONE = 0,
    LG_ML_POST_SOFTMAX,
    LG_ML_POST_LOGISTIC,
    LG_ML_POST_SOFTMAX_ZERO,
    LG_ML_POST_PROBIT,
} lg_ml_post;

/* "NONE", "SOFTMAX", ... -> *out; LG_E_INVALID_MODEL for anything else. */
int lg_ml_post_parse(const char *s, lg_ml_post *out);
/* The same from TreeEnsemble (opset 5)'s integer form: 0 NONE .. 4 PROBIT. */
int lg_ml_post_from_int(int64_t v, lg_ml_post *out);
void lg_ml_post_apply(lg_ml_post p, double *v, int64_t n);

/* X must be float, double, int32 or int64 (what the ml ops accept). */
int lg_ml_check_numeric(const lg_tensor *x, const char *what);
/* X viewed as [rows, cols]: rank 1 is one row, rank 2 is [N, C]; other ranks are refused. */
int lg_ml_shape(const lg_tensor *x, int64_t *rows, int64_t *cols);
/* Row r of X (cols elements) as doubles. */
void lg_ml_row(const lg_tensor *x, int64_t r, int64_t cols, double *out);

/* Class labels: classlabels_int64s (or _ints) or classlabels_strings, exactly one. */
typedef struct lg_ml_labels {
    int n;
    const int64_t *ints;
    char *const *strings;
} lg_ml_labels;
int lg_ml_labels_get(const lg_node *n, const char *ints_name, const char *strings_name, lg_ml_labels *out);
static inline lg_dtype lg_ml_labels_dtype(const lg_ml_labels *l) { return l->strings ? LG_STRING : LG_INT64; }
/* y[i] = label k (a copy for strings). */
int lg_ml_labels_set(lg_tensor *y, int64_t i, const lg_ml_labels *l, int k);

/* A float list attribute, or the same values from its *_as_tensor twin (double or float);
 * *vals is malloc'ed doubles (NULL, count 0 when both are absent). */
int lg_ml_attr_doubles(const lg_node *n, const char *name, double **vals, int *count);
/* Fails unless count == want (want < 0: any), naming the attribute and the reference. */
int lg_ml_check_len(const char *name, int count, const char *ref, int want);

/* Scratch doubles for kernels: one buffer of n, or NULL with LG_E_NOMEM set. */
double *lg_ml_doubles(int64_t n);

#endif
