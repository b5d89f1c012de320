/*
 * ml_svm.c: support vector machines of ai.onnx.ml (libsvm's model layout, as ONNX
 * Runtime reads it). SVMClassifier: one-vs-one votes over class pairs with
 * score = sum(coef * K(x, sv)) + rho, optional Platt probabilities coupled pairwise
 * (prob_a/prob_b); without support vectors a linear model per class. SVMRegressor:
 * sum(coef * K(x, sv)) + rho (one_class: +1/-1), or linear coefficients.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/ml_common.h"

typedef enum { K_LINEAR, K_POLY, K_RBF, K_SIGMOID } kernel;

typedef struct svm {
    kernel kt;
    double gamma, coef0, degree;
    double *sv, *coef, *rho, *pa, *pb;
    int n_sv, n_coef, n_rho, n_pa, n_pb;
    int64_t features;
    int classes;       /* classifier: labels; regressor: 1 */
    int *start, *count; /* classifier: support vectors of class i are [start[i], start[i]+count[i]) */
    lg_ml_labels labels;
    lg_ml_post post;
    bool classifier, linear, one_class;
} svm;

static void svm_release(void *p)
{
    svm *s = p;
    if (!s) return;
    free(s->sv);
    free(s->coef);
    free(s->rho);
    free(s->pa);
    free(s->pb);
    free(s->start);
    free(s->count);
    free(s);
}

static const char *const kernel_names[] = { "LINEAR", "POLY", "RBF", "SIGMOID" };

static int parse_kernel(const lg_node *n, svm *s)
{
    const char *k = lg_attr_string(n, "kernel_type", "LINEAR");
    int found = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(k, kernel_names[i])) found = i;
    if (found < 0) return lg_error(LG_E_INVALID_MODEL, "kernel_type '%s' is not one of LINEAR, POLY, RBF, SIGMOID", k);
    s->kt = (kernel)found;
    int np = 0;
    const float *kp = lg_attr_floats(n, "kernel_params", &np);
    if (np != 0 && np != 3) return lg_error(LG_E_INVALID_MODEL, "kernel_params has %d values; expected 3 (gamma, coef0, degree)", np);
    s->gamma = np ? kp[0] : 0;
    s->coef0 = np ? kp[1] : 0;
    s->degree = np ? kp[2] : 0;
    return LG_OK;
}

static int svm_check(const lg_node *n, svm *s)
{
    int64_t n_sv = s->classifier ? 0 : lg_attr_int(n, "n_supports", 0);
    if (s->classifier) {
        int nv = 0;
        const int64_t *vpc = lg_attr_ints(n, "vectors_per_class", &nv);
        if (nv && nv != s->classes)
            return lg_error(LG_E_INVALID_MODEL, "vectors_per_class has %d values for %d classes", nv, s->classes);
        s->start = calloc((size_t)s->classes + 1, sizeof(int));
        s->count = calloc((size_t)s->classes + 1, sizeof(int));
        if (!s->start || !s->count) return lg_error(LG_E_NOMEM, "out of memory");
        for (int i = 0; i < nv; i++) {
            if (vpc[i] < 0 || n_sv + vpc[i] > (1 << 30))
                return lg_error(LG_E_INVALID_MODEL, "vectors_per_class[%d] is %lld", i, (long long)vpc[i]);
            s->start[i] = (int)n_sv;
            s->count[i] = (int)vpc[i];
            n_sv += vpc[i];
        }
    }
    s->linear = n_sv == 0;
    if (s->linear) {
        if (s->n_coef == 0 || s->n_coef % s->classes)
            return lg_error(LG_E_INVALID_MODEL, "coefficients has %d values, not a multiple of the %d classes", s->n_coef, s->classes);
        s->features = s->n_coef / s->classes;
        s->kt = K_LINEAR;
        if (s->n_rho < 1) return lg_error(LG_E_INVALID_MODEL, "rho is empty");
        return LG_OK;
    }
    if (n_sv < 0 || s->n_sv % n_sv)
        return lg_error(LG_E_INVALID_MODEL, "support_vectors has %d values, not a multiple of the %lld support vectors", s->n_sv,
                        (long long)n_sv);
    s->features = s->n_sv / n_sv;
    s->n_sv = (int)n_sv;
    int rows = s->classifier ? s->classes - 1 : 1, pairs = s->classes * (s->classes - 1) / 2;
    LG_CHECK(lg_ml_check_len("coefficients", s->n_coef, "(classes - 1) x support vectors", rows * s->n_sv));
    LG_CHECK(lg_ml_check_len("rho", s->n_rho, s->classifier ? "the class pairs" : "one", s->classifier ? pairs : 1));
    if (s->n_pa || s->n_pb) {
        LG_CHECK(lg_ml_check_len("prob_a", s->n_pa, "the class pairs", pairs));
        LG_CHECK(lg_ml_check_len("prob_b", s->n_pb, "the class pairs", pairs));
    }
    return LG_OK;
}

static int svm_build(const lg_node *n, bool classifier, svm **out)
{
    svm *s = calloc(1, sizeof(*s));
    if (!s) return lg_error(LG_E_NOMEM, "out of memory");
    s->classifier = classifier;
    s->classes = 1;
    int rc = parse_kernel(n, s);
    if (rc == LG_OK) rc = lg_ml_attr_doubles(n, "support_vectors", &s->sv, &s->n_sv);
    if (rc == LG_OK) rc = lg_ml_attr_doubles(n, "coefficients", &s->coef, &s->n_coef);
    if (rc == LG_OK) rc = lg_ml_attr_doubles(n, "rho", &s->rho, &s->n_rho);
    if (rc == LG_OK) rc = lg_ml_attr_doubles(n, "prob_a", &s->pa, &s->n_pa);
    if (rc == LG_OK) rc = lg_ml_attr_doubles(n, "prob_b", &s->pb, &s->n_pb);
    if (rc == LG_OK) rc = lg_ml_post_parse(lg_attr_string(n, "post_transform", "NONE"), &s->post);
    if (rc == LG_OK && classifier) rc = lg_ml_labels_get(n, "classlabels_ints", "classlabels_strings", &s->labels);
    if (rc == LG_OK && classifier) s->classes = s->labels.n;
    s->one_class = lg_attr_int(n, "one_class", 0) != 0;
    if (rc == LG_OK) rc = svm_check(n, s);
    if (rc != LG_OK) {
        svm_release(s);
        return rc;
    }
    *out = s;
    return LG_OK;
}

static int svmc_prepare(lg_kctx *c, void **st) { return svm_build(c->node, true, (svm **)st); }
static int svmr_prepare(lg_kctx *c, void **st) { return svm_build(c->node, false, (svm **)st); }

static double kernel_dot(const svm *s, const double *x, const double *v, int64_t n)
{
    double d = 0;
    if (s->kt == K_RBF) {
        for (int64_t j = 0; j < n; j++) d += (x[j] - v[j]) * (x[j] - v[j]);
        return exp(-s->gamma * d);
    }
    for (int64_t j = 0; j < n; j++) d += x[j] * v[j];
    switch (s->kt) {
    case K_POLY: return pow(s->gamma * d + s->coef0, s->degree);
    case K_SIGMOID: return tanh(s->gamma * d + s->coef0);
    default: return d;
    }
}

/* libsvm's pairwise coupling: r[i*k+j] = P(i beats j) -> class probabilities p[k]. */
static void couple(int k, const double *r, double *p, double *q, double *qp)
{
    for (int t = 0; t < k; t++) {
        p[t] = 1.0 / k;
        q[t * k + t] = 0;
        for (int j = 0; j < t; j++) {
            q[t * k + t] += r[j * k + t] * r[j * k + t];
            q[t * k + j] = q[j * k + t];
        }
        for (int j = t + 1; j < k; j++) {
            q[t * k + t] += r[j * k + t] * r[j * k + t];
            q[t * k + j] = -r[j * k + t] * r[t * k + j];
        }
    }
    int max_iter = k > 100 ? k : 100;
    double eps = 0.005 / k;
    for (int it = 0; it < max_iter; it++) {
        double pqp = 0, max_err = 0;
        for (int t = 0; t < k; t++) {
            qp[t] = 0;
            for (int j = 0; j < k; j++) qp[t] += q[t * k + j] * p[j];
            pqp += p[t] * qp[t];
        }
        for (int t = 0; t < k; t++) max_err = fmax(max_err, fabs(qp[t] - pqp));
        if (max_err < eps) break;
        for (int t = 0; t < k; t++) {
            double diff = (-qp[t] + pqp) / q[t * k + t];
            p[t] += diff;
            pqp = (pqp + diff * (diff * q[t * k + t] + 2 * qp[t])) / (1 + diff) / (1 + diff);
            for (int j = 0; j < k; j++) {
                qp[j] = (qp[j] + diff * q[t * k + j]) / (1 + diff);
                p[j] /= 1 + diff;
            }
        }
    }
}

static double platt(double score, double a, double b)
{
    double v = score * a + b;
    return v >= 0 ? exp(-v) / (1 + exp(-v)) : 1 / (1 + exp(v));
}

static int64_t svmc_cols(const svm *s)
{
    if (s->linear || s->n_pa) return s->classes;
    return s->classes > 2 ? s->classes * (s->classes - 1) / 2 : 2;
}

/* One row: writes its scores (out) and returns the class index. */
static int svmc_row(const svm *s, const double *x, double *kern, double *pair, int *votes, double *work, double *out)
{
    int k = s->classes;
    if (s->linear) {
        for (int c = 0; c < k; c++) out[c] = kernel_dot(s, x, s->coef + c * s->features, s->features) + s->rho[0];
        int best = 0;
        for (int c = 1; c < k; c++)
            if (out[c] > out[best]) best = c;
        lg_ml_post_apply(s->post, out, k);
        return best;
    }
    for (int v = 0; v < s->n_sv; v++) kern[v] = kernel_dot(s, x, s->sv + (int64_t)v * s->features, s->features);
    memset(votes, 0, (size_t)k * sizeof(int));
    int idx = 0;
    for (int i = 0; i < k - 1; i++)
        for (int j = i + 1; j < k; j++, idx++) {
            double sum = s->rho[idx];
            for (int m = 0; m < s->count[i]; m++) sum += s->coef[(int64_t)(j - 1) * s->n_sv + s->start[i] + m] * kern[s->start[i] + m];
            for (int m = 0; m < s->count[j]; m++) sum += s->coef[(int64_t)i * s->n_sv + s->start[j] + m] * kern[s->start[j] + m];
            pair[idx] = sum;
            votes[sum > 0 ? i : j]++;
        }
    int best = 0;
    for (int c = 1; c < k; c++)
        if (votes[c] > votes[best]) best = c;
    if (s->n_pa) {
        double *r = work, *q = work + k * k, *qp = work + 2 * k * k;
        memset(r, 0, (size_t)(k * k) * sizeof(double));
        idx = 0;
        for (int i = 0; i < k - 1; i++)
            for (int j = i + 1; j < k; j++, idx++) {
                double p = fmin(fmax(platt(pair[idx], s->pa[idx], s->pb[idx]), 1e-7), 1 - 1e-7);
                r[i * k + j] = p;
                r[j * k + i] = 1 - p;
            }
        couple(k, r, out, q, qp);
        lg_ml_post_apply(s->post, out, k);
    } else if (k == 2) {
        out[0] = s->post == LG_ML_POST_NONE ? -pair[0] : pair[0];
        out[1] = pair[0];
        if (s->post != LG_ML_POST_NONE) {
            lg_ml_post_apply(s->post, &out[1], 1);
            out[0] = 1 - out[1];
        }
    } else {
        memcpy(out, pair, (size_t)idx * sizeof(double));
        lg_ml_post_apply(s->post, out, idx);
    }
    return best;
}

static int svm_infer(lg_kctx *c, bool classifier)
{
    const lg_tensor *x = c->inputs[0];
    int64_t rows, cols;
    LG_CHECK(lg_ml_check_numeric(x, "X"));
    LG_CHECK(lg_ml_shape(x, &rows, &cols));
    svm *s = c->state;
    if (!s) LG_CHECK(svm_build(c->node, classifier, &s));
    int rc = LG_OK;
    if (cols != s->features)
        rc = lg_error(LG_E_SHAPE, "X has %lld features; the model has %lld", (long long)cols, (long long)s->features);
    else if (classifier) {
        rc = lg_kout_shape(c, 0, lg_ml_labels_dtype(&s->labels), 1, &rows);
        if (rc == LG_OK) rc = lg_kout_shape(c, 1, LG_FLOAT, 2, (int64_t[]){ rows, svmc_cols(s) });
    } else {
        rc = lg_kout_shape(c, 0, LG_FLOAT, 2, (int64_t[]){ rows, 1 });
    }
    if (s != c->state) svm_release(s);
    return rc;
}

static int svm_exec(lg_kctx *c, bool classifier)
{
    const lg_tensor *x = c->inputs[0];
    svm *s = c->state;
    if (!s) LG_CHECK(svm_build(c->node, classifier, &s));
    int64_t rows, cols, nc = classifier ? svmc_cols(s) : 1;
    int rc = lg_ml_shape(x, &rows, &cols), k = s->classes;
    lg_tensor *y = NULL, *z = NULL;
    if (rc == LG_OK && classifier) {
        y = lg_kout_alloc(c, 0, lg_ml_labels_dtype(&s->labels), 1, &rows);
        z = y ? lg_kout_alloc(c, 1, LG_FLOAT, 2, (int64_t[]){ rows, nc }) : NULL;
    } else if (rc == LG_OK) {
        z = lg_kout_alloc(c, 0, LG_FLOAT, 2, (int64_t[]){ rows, 1 });
    }
    double *row = lg_ml_doubles(cols), *kern = lg_ml_doubles(s->n_sv), *pair = lg_ml_doubles(k * k + 2);
    double *work = lg_ml_doubles(3 * k * k + 2), *out = lg_ml_doubles(k * k + 2);
    int *votes = calloc((size_t)k + 1, sizeof(int));
    if (rc == LG_OK && (!z || !row || !kern || !pair || !work || !out || !votes)) rc = lg_error(LG_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < rows && rc == LG_OK; i++) {
        lg_ml_row(x, i, cols, row);
        if (classifier) {
            int best = svmc_row(s, row, kern, pair, votes, work, out);
            for (int64_t j = 0; j < nc; j++) ((float *)z->data)[i * nc + j] = (float)out[j];
            rc = lg_ml_labels_set(y, i, &s->labels, best);
            continue;
        }
        double v = s->rho[0];
        if (s->linear) v += kernel_dot(s, row, s->coef, cols);
        else
            for (int m = 0; m < s->n_sv; m++) v += s->coef[m] * kernel_dot(s, row, s->sv + (int64_t)m * cols, cols);
        if (s->one_class) v = v > 0 ? 1 : -1;
        lg_ml_post_apply(s->post, &v, 1);
        ((float *)z->data)[i] = (float)v;
    }
    free(row);
    free(kern);
    free(pair);
    free(work);
    free(out);
    free(votes);
    if (s != c->state) svm_release(s);
    return rc;
}

static int svmc_infer(lg_kctx *c) { return svm_infer(c, true); }
static int svmc_exec(lg_kctx *c) { return svm_exec(c, true); }
static int svmr_infer(lg_kctx *c) { return svm_infer(c, false); }
static int svmr_exec(lg_kctx *c) { return svm_exec(c, false); }

const lg_op_def lg_ops_ml_svm[] = {
    { "SVMClassifier", "ai.onnx.ml", 1, 5, svmc_infer, svmc_exec, svmc_prepare, svm_release },
    { "SVMRegressor", "ai.onnx.ml", 1, 5, svmr_infer, svmr_exec, svmr_prepare, svm_release },
    { NULL },
};
