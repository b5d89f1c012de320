/*
 * ml_tree.c: the tree-ensemble operators of ai.onnx.ml: TreeEnsembleClassifier,
 * TreeEnsembleRegressor (opsets 1-5) and TreeEnsemble (opset 5). The trees are built and
 * checked once, in prepare (ml_forest.c); rows are scored in parallel.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/ml_common.h"
#include "backends/cpu/ops/ml_forest.h"

typedef enum { K_CLASSIFIER, K_REGRESSOR, K_V5 } kind;

typedef struct tree_state {
    lg_ml_forest *forest;
    lg_ml_labels labels;  /* classifier */
    double *base;         /* base_values, or NULL */
    int n_base;
    lg_ml_post post;
    bool binary;          /* classifier: two labels, one class id written */
    int binary_class;
} tree_state;

static void tree_release(void *p)
{
    tree_state *s = p;
    if (!s) return;
    lg_ml_forest_free(s->forest);
    free(s->base);
    free(s);
}

static const struct {
    const char *name;
    lg_ml_agg agg;
} agg_names[] = { { "AVERAGE", LG_ML_AGG_AVERAGE }, { "SUM", LG_ML_AGG_SUM }, { "MIN", LG_ML_AGG_MIN }, { "MAX", LG_ML_AGG_MAX } };

static int parse_agg(const char *s, lg_ml_agg *out)
{
    for (size_t i = 0; i < sizeof(agg_names) / sizeof(agg_names[0]); i++)
        if (!strcmp(s, agg_names[i].name)) {
            *out = agg_names[i].agg;
            return LG_OK;
        }
    return lg_error(LG_E_INVALID_MODEL, "aggregate_function '%s' is not one of AVERAGE, SUM, MIN, MAX", s);
}

static int build(const lg_node *n, kind k, tree_state **out)
{
    tree_state *s = calloc(1, sizeof(*s));
    if (!s) return lg_error(LG_E_NOMEM, "out of memory");
    int rc = LG_OK;
    if (k == K_V5) {
        rc = lg_ml_post_from_int(lg_attr_int(n, "post_transform", 0), &s->post);
        if (rc == LG_OK) rc = lg_ml_forest_from_v5(n, &s->forest);
    } else {
        int n_targets;
        lg_ml_agg agg = LG_ML_AGG_SUM;
        rc = lg_ml_post_parse(lg_attr_string(n, "post_transform", "NONE"), &s->post);
        if (rc == LG_OK && k == K_CLASSIFIER) {
            rc = lg_ml_labels_get(n, "classlabels_int64s", "classlabels_strings", &s->labels);
            n_targets = s->labels.n;
        } else {
            n_targets = (int)lg_attr_int(n, "n_targets", 1);
            if (rc == LG_OK) rc = parse_agg(lg_attr_string(n, "aggregate_function", "SUM"), &agg);
            if (rc == LG_OK && (n_targets < 1 || n_targets > (1 << 24)))
                rc = lg_error(LG_E_INVALID_MODEL, "n_targets is %d; expected 1 or more", n_targets);
        }
        if (rc == LG_OK)
            rc = lg_ml_forest_from_legacy(n, k == K_CLASSIFIER ? "class" : "target", n_targets, agg, &s->forest);
        if (rc == LG_OK) rc = lg_ml_attr_doubles(n, "base_values", &s->base, &s->n_base);
        if (rc == LG_OK && s->n_base) rc = lg_ml_check_len("base_values", s->n_base, "the targets/classes", n_targets);
        if (rc == LG_OK && k == K_CLASSIFIER)
            s->binary = s->labels.n == 2 && lg_ml_forest_distinct_targets(s->forest, &s->binary_class) == 1;
    }
    if (rc != LG_OK) {
        tree_release(s);
        return rc;
    }
    *out = s;
    return LG_OK;
}

static int prepare_classifier(lg_kctx *c, void **st) { return build(c->node, K_CLASSIFIER, (tree_state **)st); }
static int prepare_regressor(lg_kctx *c, void **st) { return build(c->node, K_REGRESSOR, (tree_state **)st); }
static int prepare_v5(lg_kctx *c, void **st) { return build(c->node, K_V5, (tree_state **)st); }

typedef struct run {
    const tree_state *s;
    const lg_tensor *x;
    int64_t cols;
    lg_tensor *y, *z; /* classifier: labels y, scores z; regressors: y only */
    kind k;
    int err;
} run;

/* Classifier scores: base values, the binary rule, the post transform; returns the label. */
static int classify(const tree_state *s, double *sc)
{
    int nc = s->labels.n;
    for (int j = 0; j < s->n_base; j++) sc[j] += s->base[j];
    if (s->binary) {
        double v = sc[s->binary_class];
        sc[1] = v;
        sc[0] = (s->post == LG_ML_POST_NONE || s->post == LG_ML_POST_PROBIT) ? 1 - v : -v;
    }
    lg_ml_post_apply(s->post, sc, nc);
    int best = 0;
    for (int j = 1; j < nc; j++)
        if (sc[j] > sc[best]) best = j;
    return best;
}

static void run_rows(void *arg, int64_t b, int64_t e)
{
    run *r = arg;
    const tree_state *s = r->s;
    int nt = lg_ml_forest_targets(s->forest);
    double *row = lg_ml_doubles(r->cols), *sc = lg_ml_doubles(nt > 2 ? nt : 2);
    if (!row || !sc) {
        r->err = LG_E_NOMEM;
        free(row);
        free(sc);
        return;
    }
    for (int64_t i = b; i < e; i++) {
        lg_ml_row(r->x, i, r->cols, row);
        lg_ml_forest_eval(s->forest, row, sc);
        if (r->k == K_CLASSIFIER) {
            int best = classify(s, sc);
            if (lg_ml_labels_set(r->y, i, &s->labels, best) != LG_OK) r->err = LG_E_NOMEM;
            for (int j = 0; j < nt; j++) ((float *)r->z->data)[i * nt + j] = (float)sc[j];
        } else {
            for (int j = 0; j < s->n_base; j++) sc[j] += s->base[j];
            lg_ml_post_apply(s->post, sc, nt);
            for (int j = 0; j < nt; j++) lg_tensor_set_f64(r->y, i * nt + j, sc[j]);
        }
    }
    free(row);
    free(sc);
}

static int check_x(const lg_tensor *x, kind k)
{
    if (k == K_V5 && x->dtype != LG_FLOAT && x->dtype != LG_DOUBLE && x->dtype != LG_FLOAT16)
        return lg_error(LG_E_UNSUPPORTED, "X has dtype %s; expected float32, float64 or float16", lg_dtype_name(x->dtype));
    return k == K_V5 ? LG_OK : lg_ml_check_numeric(x, "X");
}

static int tree_infer(lg_kctx *c, kind k)
{
    const lg_tensor *x = c->inputs[0];
    int64_t rows, cols;
    LG_CHECK(check_x(x, k));
    LG_CHECK(lg_ml_shape(x, &rows, &cols));
    tree_state *s = c->state;
    int rc = LG_OK;
    if (!s) LG_CHECK(build(c->node, k, &s)); /* shape inference or folding: no prepare ran */
    int64_t nt = lg_ml_forest_targets(s->forest);
    if (k == K_CLASSIFIER) {
        rc = lg_kout_shape(c, 0, lg_ml_labels_dtype(&s->labels), 1, &rows);
        if (rc == LG_OK) rc = lg_kout_shape(c, 1, LG_FLOAT, 2, (int64_t[]){ rows, nt });
    } else {
        rc = lg_kout_shape(c, 0, k == K_V5 ? x->dtype : LG_FLOAT, 2, (int64_t[]){ rows, nt });
    }
    if (s != c->state) tree_release(s);
    return rc;
}

static int tree_exec(lg_kctx *c, kind k)
{
    const lg_tensor *x = c->inputs[0];
    tree_state *s = c->state;
    if (!s) LG_CHECK(build(c->node, k, &s));
    run r = { .s = s, .x = x, .k = k };
    int64_t rows;
    int rc = lg_ml_shape(x, &rows, &r.cols);
    if (rc == LG_OK) rc = lg_ml_forest_check_features(s->forest, r.cols);
    if (rc == LG_OK) {
        int64_t nt = lg_ml_forest_targets(s->forest);
        r.y = lg_kout_alloc(c, 0, k == K_CLASSIFIER ? lg_ml_labels_dtype(&s->labels) : (k == K_V5 ? x->dtype : LG_FLOAT),
                            k == K_CLASSIFIER ? 1 : 2, k == K_CLASSIFIER ? &rows : (int64_t[]){ rows, nt });
        if (r.y && k == K_CLASSIFIER) r.z = lg_kout_alloc(c, 1, LG_FLOAT, 2, (int64_t[]){ rows, nt });
        if (!r.y || (k == K_CLASSIFIER && !r.z)) rc = LG_E_NOMEM;
    }
    if (rc == LG_OK) {
        lg_parallel_for(c->pool, rows, 64, run_rows, &r);
        if (r.err) rc = lg_error(r.err, "out of memory");
    }
    if (s != c->state) tree_release(s);
    return rc;
}

static int classifier_infer(lg_kctx *c) { return tree_infer(c, K_CLASSIFIER); }
static int classifier_exec(lg_kctx *c) { return tree_exec(c, K_CLASSIFIER); }
static int regressor_infer(lg_kctx *c) { return tree_infer(c, K_REGRESSOR); }
static int regressor_exec(lg_kctx *c) { return tree_exec(c, K_REGRESSOR); }
static int v5_infer(lg_kctx *c) { return tree_infer(c, K_V5); }
static int v5_exec(lg_kctx *c) { return tree_exec(c, K_V5); }

const lg_op_def lg_ops_ml_tree[] = {
    { "TreeEnsembleClassifier", "ai.onnx.ml", 1, 5, classifier_infer, classifier_exec, prepare_classifier, tree_release },
    { "TreeEnsembleRegressor", "ai.onnx.ml", 1, 5, regressor_infer, regressor_exec, prepare_regressor, tree_release },
    { "TreeEnsemble", "ai.onnx.ml", 5, 5, v5_infer, v5_exec, prepare_v5, tree_release },
    { NULL },
};
