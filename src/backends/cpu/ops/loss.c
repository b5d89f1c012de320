/*
 * loss.c: the classification losses NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss
 * (opset 12-17).
 *
 * Both view the scores as [N, C, D] (D = product of the trailing dims d1..dk) and the
 * target as [N, D]. SoftmaxCrossEntropyLoss first takes the log-softmax over C, then
 * both compute loss[n, d] = -logp[n, target, d] * weight[target], zero where target ==
 * ignore_index, and reduce it: none (shape of target), sum, or mean (divided by the
 * sum of the weights that were used). The arithmetic runs in double for every dtype.
 */
#include <math.h>

#include "runtime/kernel.h"

enum reduction { RED_NONE, RED_SUM, RED_MEAN };

static const struct {
    const char *name;
    enum reduction red;
} reductions[] = { { "none", RED_NONE }, { "sum", RED_SUM }, { "mean", RED_MEAN } };

typedef struct loss_problem {
    int64_t n, c, d;           /* scores viewed as [n, c, d] */
    enum reduction red;
    bool has_ignore;
    int64_t ignore_index;
} loss_problem;

static int read_problem(const lg_kctx *c, loss_problem *p)
{
    const lg_tensor *x = lg_kin(c, 0), *t = lg_kin(c, 1), *w = lg_kin(c, 2);
    char xs[256], ts[256];
    if (!x || !t) return lg_error(LG_E_INVALID_MODEL, "scores and target inputs are required");
    if (!lg_dtype_is_float(x->dtype))
        return lg_error(LG_E_INVALID_MODEL, "scores must be a float tensor, got %s", lg_dtype_name(x->dtype));
    if (t->dtype != LG_INT32 && t->dtype != LG_INT64)
        return lg_error(LG_E_INVALID_MODEL, "target must be int32 or int64, got %s", lg_dtype_name(t->dtype));
    bool shape_ok = x->ndim >= 2 && t->ndim == x->ndim - 1 && t->dims[0] == x->dims[0];
    for (int i = 2; shape_ok && i < x->ndim; i++) shape_ok = t->dims[i - 1] == x->dims[i];
    if (!shape_ok)
        return lg_error(LG_E_SHAPE, "scores %s and target %s do not match ([N, C, d1..dk] and [N, d1..dk])",
                        lg_dims_str(x->ndim, x->dims, xs, sizeof(xs)), lg_dims_str(t->ndim, t->dims, ts, sizeof(ts)));
    if (w && (w->ndim != 1 || w->dims[0] != x->dims[1] || w->dtype != x->dtype))
        return lg_error(LG_E_SHAPE, "weight must be a %s vector of %lld classes, got %s %s", lg_dtype_name(x->dtype),
                        (long long)x->dims[1], lg_dtype_name(w->dtype), lg_dims_str(w->ndim, w->dims, ts, sizeof(ts)));
    p->n = x->dims[0];
    p->c = x->dims[1];
    p->d = lg_dims_numel(x->ndim - 2, x->dims + 2);

    const char *red = lg_attr_string(c->node, "reduction", "mean");
    size_t i = 0;
    while (i < sizeof(reductions) / sizeof(reductions[0]) && strcmp(reductions[i].name, red) != 0) i++;
    if (i == sizeof(reductions) / sizeof(reductions[0]))
        return lg_error(LG_E_INVALID_MODEL, "reduction '%s' is not none, sum or mean", red);
    p->red = reductions[i].red;
    p->has_ignore = lg_node_attr(c->node, "ignore_index") != NULL;
    p->ignore_index = lg_attr_int(c->node, "ignore_index", 0);
    return LG_OK;
}

static int loss_infer(lg_kctx *c)
{
    loss_problem p;
    LG_CHECK(read_problem(c, &p));
    const lg_tensor *x = c->inputs[0], *t = c->inputs[1];
    if (p.red == RED_NONE) LG_CHECK(lg_kout_shape(c, 0, x->dtype, t->ndim, t->dims));
    else LG_CHECK(lg_kout_shape(c, 0, x->dtype, 0, NULL));
    /* SoftmaxCrossEntropyLoss's optional log_prob output. */
    return lg_kout_shape(c, 1, x->dtype, x->ndim, x->dims);
}

/* All of t as doubles (a new buffer). */
static double *load_double(const lg_tensor *t)
{
    int64_t n = lg_tensor_numel_(t);
    double *v = lg_alloc((size_t)(n ? n : 1) * sizeof(double));
    if (!v) return NULL;
    if (t->dtype == LG_DOUBLE) memcpy(v, t->data, (size_t)n * sizeof(double));
    else if (t->dtype == LG_FLOAT)
        for (int64_t i = 0; i < n; i++) v[i] = ((const float *)t->data)[i];
    else
        for (int64_t i = 0; i < n; i++) v[i] = lg_tensor_get_f64(t, i);
    return v;
}

static void store_double(lg_tensor *t, const double *v)
{
    int64_t n = lg_tensor_numel_(t);
    if (t->dtype == LG_DOUBLE) memcpy(t->data, v, (size_t)n * sizeof(double));
    else
        for (int64_t i = 0; i < n; i++) lg_tensor_set_f64(t, i, v[i]);
}

/* In place: x[n, :, d] = log_softmax(x[n, :, d]) over the class axis. */
static void log_softmax_classes(double *x, const loss_problem *p)
{
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t d = 0; d < p->d; d++) {
            double *row = x + n * p->c * p->d + d, max = -INFINITY, sum = 0;
            for (int64_t k = 0; k < p->c; k++) max = fmax(max, row[k * p->d]);
            for (int64_t k = 0; k < p->c; k++) sum += exp(row[k * p->d] - max);
            double lse = max + log(sum);
            for (int64_t k = 0; k < p->c; k++) row[k * p->d] -= lse;
        }
}

/* The NLL part on log-probabilities logp; writes output 0. */
static int nll(lg_kctx *c, const loss_problem *p, const double *logp)
{
    const lg_tensor *target = c->inputs[1], *weight = lg_kin(c, 2);
    lg_tensor *out = c->outputs[0];
    int64_t count = p->n * p->d;
    double *loss = p->red == RED_NONE ? lg_alloc((size_t)(count ? count : 1) * sizeof(double)) : NULL;
    if (p->red == RED_NONE && !loss) return lg_error(LG_E_NOMEM, "out of memory for %lld losses", (long long)count);
    double total = 0, weight_sum = 0;
    for (int64_t i = 0; i < count; i++) {
        int64_t n = i / (p->d ? p->d : 1), d = i - n * p->d, cls = lg_tensor_get_i64(target, i);
        double l = 0, w = 0;
        if (!(p->has_ignore && cls == p->ignore_index)) {
            if (cls < 0 || cls >= p->c) {
                lg_free(loss);
                return lg_error(LG_E_RUNTIME, "target value %lld at %lld outside 0..%lld", (long long)cls,
                                (long long)i, (long long)p->c - 1);
            }
            w = weight ? lg_tensor_get_f64(weight, cls) : 1.0;
            l = -logp[(n * p->c + cls) * p->d + d] * w;
        }
        if (loss) loss[i] = l;
        total += l;
        weight_sum += w;
    }
    if (out && loss) store_double(out, loss);
    else if (out) lg_tensor_set_f64(out, 0, p->red == RED_MEAN ? total / weight_sum : total);
    lg_free(loss);
    return LG_OK;
}

static int nll_exec(lg_kctx *c)
{
    loss_problem p;
    LG_CHECK(read_problem(c, &p));
    double *logp = load_double(c->inputs[0]);
    if (!logp) return lg_error(LG_E_NOMEM, "out of memory for the scores");
    int rc = nll(c, &p, logp);
    lg_free(logp);
    return rc;
}

static int sce_exec(lg_kctx *c)
{
    loss_problem p;
    LG_CHECK(read_problem(c, &p));
    double *logp = load_double(c->inputs[0]);
    if (!logp) return lg_error(LG_E_NOMEM, "out of memory for the scores");
    log_softmax_classes(logp, &p);
    int rc = nll(c, &p, logp);
    if (rc == LG_OK && c->n_outputs > 1 && c->outputs[1]) store_double(c->outputs[1], logp);
    lg_free(logp);
    return rc;
}

const lg_op_def lg_ops_loss[] = {
    { "NegativeLogLikelihoodLoss", "", 12, 27, loss_infer, nll_exec, NULL, NULL },
    { "SoftmaxCrossEntropyLoss", "", 12, 27, loss_infer, sce_exec, NULL, NULL },
    { NULL }
};
