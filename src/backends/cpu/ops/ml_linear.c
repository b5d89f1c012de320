/*
 * ml_linear.c: the linear models of ai.onnx.ml: LinearClassifier (scores = X W^T + b, a
 * post transform, the best class's label; one coefficient row with two labels is the
 * binary case) and LinearRegressor (Y = X W^T + b, `targets` columns).
 */
#include <stdlib.h>

#include "backends/cpu/ops/ml_common.h"

typedef struct lin {
    double *w, *b;
    int n_w, n_b, classes;
    int64_t features;
    lg_ml_labels labels;
    lg_ml_post post;
    bool classifier, binary;
} lin;

static void lin_release(void *p)
{
    lin *s = p;
    if (!s) return;
    free(s->w);
    free(s->b);
    free(s);
}

static int lin_build(const lg_node *n, bool classifier, lin **out)
{
    lin *s = calloc(1, sizeof(*s));
    if (!s) return lg_error(LG_E_NOMEM, "out of memory");
    s->classifier = classifier;
    int rc = lg_ml_attr_doubles(n, "coefficients", &s->w, &s->n_w);
    if (rc == LG_OK) rc = lg_ml_attr_doubles(n, "intercepts", &s->b, &s->n_b);
    if (rc == LG_OK) rc = lg_ml_post_parse(lg_attr_string(n, "post_transform", "NONE"), &s->post);
    if (rc == LG_OK && classifier) rc = lg_ml_labels_get(n, "classlabels_ints", "classlabels_strings", &s->labels);
    if (rc == LG_OK) {
        /* Classes: one per intercept (or per label when intercepts are absent). */
        s->classes = classifier ? (s->n_b ? s->n_b : s->labels.n) : (int)lg_attr_int(n, "targets", 1);
        if (s->classes < 1 || s->n_w == 0 || s->n_w % s->classes)
            rc = lg_error(LG_E_INVALID_MODEL, "coefficients has %d values, not a multiple of the %d %s", s->n_w, s->classes,
                          classifier ? "classes" : "targets");
    }
    if (rc == LG_OK && s->n_b) rc = lg_ml_check_len("intercepts", s->n_b, classifier ? "the classes" : "targets", s->classes);
    if (rc == LG_OK && classifier) {
        s->binary = s->classes == 1 && s->labels.n == 2;
        if (!s->binary && s->classes != s->labels.n)
            rc = lg_error(LG_E_INVALID_MODEL, "%d coefficient rows for %d class labels; expected one row per label (or one row "
                          "for two labels)", s->classes, s->labels.n);
    }
    s->features = s->classes ? s->n_w / s->classes : 0;
    if (rc != LG_OK) {
        lin_release(s);
        return rc;
    }
    *out = s;
    return LG_OK;
}

static int lin_prepare_c(lg_kctx *c, void **st) { return lin_build(c->node, true, (lin **)st); }
static int lin_prepare_r(lg_kctx *c, void **st) { return lin_build(c->node, false, (lin **)st); }

static int64_t score_cols(const lin *s) { return s->binary ? 2 : s->classes; }

static int lin_infer(lg_kctx *c, bool classifier)
{
    const lg_tensor *x = c->inputs[0];
    int64_t rows, cols;
    LG_CHECK(lg_ml_check_numeric(x, "X"));
    LG_CHECK(lg_ml_shape(x, &rows, &cols));
    lin *s = c->state;
    if (!s) LG_CHECK(lin_build(c->node, classifier, &s));
    int rc = LG_OK;
    if (cols != s->features)
        rc = lg_error(LG_E_SHAPE, "X has %lld features; the coefficients have %lld per %s", (long long)cols,
                      (long long)s->features, classifier ? "class" : "target");
    else if (classifier) {
        rc = lg_kout_shape(c, 0, lg_ml_labels_dtype(&s->labels), 1, &rows);
        if (rc == LG_OK) rc = lg_kout_shape(c, 1, LG_FLOAT, 2, (int64_t[]){ rows, score_cols(s) });
    } else {
        rc = lg_kout_shape(c, 0, LG_FLOAT, 2, (int64_t[]){ rows, s->classes });
    }
    if (s != c->state) lin_release(s);
    return rc;
}

static int lin_exec(lg_kctx *c, bool classifier)
{
    const lg_tensor *x = c->inputs[0];
    lin *s = c->state;
    if (!s) LG_CHECK(lin_build(c->node, classifier, &s));
    int64_t rows, cols, nc = score_cols(s);
    int rc = lg_ml_shape(x, &rows, &cols);
    lg_tensor *y = NULL, *z = NULL;
    if (rc == LG_OK && classifier) {
        y = lg_kout_alloc(c, 0, lg_ml_labels_dtype(&s->labels), 1, &rows);
        z = y ? lg_kout_alloc(c, 1, LG_FLOAT, 2, (int64_t[]){ rows, nc }) : NULL;
    } else if (rc == LG_OK) {
        z = lg_kout_alloc(c, 0, LG_FLOAT, 2, (int64_t[]){ rows, nc });
    }
    double *row = lg_ml_doubles(cols), *sc = lg_ml_doubles(nc);
    if (rc == LG_OK && (!z || !row || !sc)) rc = LG_E_NOMEM;
    for (int64_t i = 0; i < rows && rc == LG_OK; i++) {
        lg_ml_row(x, i, cols, row);
        for (int k = 0; k < s->classes; k++) {
            double v = s->n_b ? s->b[k] : 0;
            for (int64_t j = 0; j < cols; j++) v += s->w[k * cols + j] * row[j];
            sc[k] = v;
        }
        int best = 0;
        if (s->binary) { /* one score for the second label */
            double v = sc[0];
            best = v > 0;
            if (s->post == LG_ML_POST_NONE) {
                sc[0] = -v;
                sc[1] = v;
            } else {
                lg_ml_post_apply(s->post, &v, 1);
                sc[0] = 1 - v;
                sc[1] = v;
            }
        } else {
            lg_ml_post_apply(s->post, sc, nc);
            for (int k = 1; k < nc; k++)
                if (sc[k] > sc[best]) best = k;
        }
        for (int k = 0; k < nc; k++) ((float *)z->data)[i * nc + k] = (float)sc[k];
        if (y) rc = lg_ml_labels_set(y, i, &s->labels, best);
    }
    free(row);
    free(sc);
    if (s != c->state) lin_release(s);
    return rc == LG_E_NOMEM ? lg_error(rc, "out of memory") : rc;
}

static int lc_infer(lg_kctx *c) { return lin_infer(c, true); }
static int lc_exec(lg_kctx *c) { return lin_exec(c, true); }
static int lr_infer(lg_kctx *c) { return lin_infer(c, false); }
static int lr_exec(lg_kctx *c) { return lin_exec(c, false); }

const lg_op_def lg_ops_ml_linear[] = {
    { "LinearClassifier", "ai.onnx.ml", 1, 5, lc_infer, lc_exec, lin_prepare_c, lin_release },
    { "LinearRegressor", "ai.onnx.ml", 1, 5, lr_infer, lr_exec, lin_prepare_r, lin_release },
    { NULL },
};
