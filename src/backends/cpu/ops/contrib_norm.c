/*
 * contrib_norm.c: the fused normalizations of com.microsoft (transformer optimizer output):
 * SimplifiedLayerNormalization (RMS norm: x / sqrt(mean(x^2) + eps) * scale),
 * SkipLayerNormalization (LayerNorm(input + skip + bias) * gamma + beta) and
 * SkipSimplifiedLayerNormalization (the RMS form of it). Rows are the last axis (or the
 * axes from `axis` on); statistics in double; float32.
 */
#include <math.h>
#include <string.h>

#include "backends/cpu/ops/contrib_common.h"

typedef struct norm_kind {
    const char *name;
    bool skip, simplified;
    int gamma, beta, bias; /* input indices, -1 none */
    int out_mean, out_inv, out_sum;
} norm_kind;

static const norm_kind kinds[] = {
    { "SimplifiedLayerNormalization", false, true, 1, -1, -1, -1, 1, -1 },
    { "SkipLayerNormalization", true, false, 2, 3, 4, 1, 2, 3 },
    { "SkipSimplifiedLayerNormalization", true, true, 2, -1, 3, 1, 2, 3 },
};

static const norm_kind *kind_of(const lg_kctx *c)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (!strcmp(kinds[i].name, c->node->op_type)) return &kinds[i];
    return &kinds[0];
}

/* Row length: the last axis for the skip forms, the axes from `axis` on otherwise. */
static int row_axis(const lg_kctx *c, const norm_kind *k, const lg_tensor *x, int *axis)
{
    if (x->ndim < 1) return lg_error(LG_E_SHAPE, "input is a scalar");
    if (k->skip) {
        *axis = x->ndim - 1;
        return LG_OK;
    }
    return lg_norm_axis(lg_attr_int(c->node, "axis", -1), x->ndim, axis);
}

static int norm_infer(lg_kctx *c)
{
    const norm_kind *k = kind_of(c);
    const lg_tensor *x = c->inputs[0];
    int axis;
    LG_CHECK(lg_contrib_need_f32(x, "input"));
    LG_CHECK(row_axis(c, k, x, &axis));
    int64_t d = lg_dims_numel(x->ndim - axis, x->dims + axis), n = lg_tensor_numel_(x);
    const int idx[] = { k->skip ? 1 : -1, k->gamma, k->beta, k->bias };
    const char *names[] = { "skip", "gamma", "beta", "bias" };
    for (int i = 0; i < 4; i++) {
        const lg_tensor *t = idx[i] >= 0 ? lg_kin(c, idx[i]) : NULL;
        if (!t) {
            if (i <= 1 && idx[i] >= 0) return lg_error(LG_E_SHAPE, "input %s is missing", names[i]);
            continue;
        }
        LG_CHECK(lg_contrib_need_f32(t, names[i]));
        int64_t m = lg_tensor_numel_(t);
        if (i == 0 ? (m == 0 || n % m || m % d) : m != d)
            return lg_error(LG_E_SHAPE, "%s has %lld values; expected %s%lld", names[i], (long long)m, i == 0 ? "a multiple of " : "",
                            (long long)d);
    }
    int64_t sd[LG_MAX_DIMS];
    memcpy(sd, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    for (int i = axis; i < x->ndim; i++) sd[i] = 1;
    LG_CHECK(lg_kout_shape(c, 0, LG_FLOAT, x->ndim, x->dims));
    if (k->out_mean >= 0) LG_CHECK(lg_kout_shape(c, k->out_mean, LG_FLOAT, x->ndim, sd));
    if (k->out_inv >= 0) LG_CHECK(lg_kout_shape(c, k->out_inv, LG_FLOAT, x->ndim, sd));
    if (k->out_sum >= 0) LG_CHECK(lg_kout_shape(c, k->out_sum, LG_FLOAT, x->ndim, x->dims));
    return LG_OK;
}

typedef struct norm_run {
    const norm_kind *k;
    const float *x, *skip, *gamma, *beta, *bias;
    float *y, *mean, *inv, *sum;
    int64_t d, nskip;
    float eps;
} norm_run;

static void norm_rows(void *arg, int64_t lo, int64_t hi)
{
    const norm_run *r = arg;
    int64_t d = r->d;
    float buf[4096];
    for (int64_t row = lo; row < hi; row++) {
        const float *x = r->x + row * d;
        float *s = r->sum ? r->sum + row * d : (d <= 4096 ? buf : r->y + row * d);
        for (int64_t j = 0; j < d; j++) {
            float v = x[j];
            if (r->skip) v += r->skip[(row * d + j) % r->nskip];
            if (r->bias) v += r->bias[j];
            s[j] = v;
        }
        double mean = 0, sq = 0;
        for (int64_t j = 0; j < d; j++) mean += s[j];
        mean = r->k->simplified ? 0 : mean / (double)d;
        for (int64_t j = 0; j < d; j++) sq += (s[j] - mean) * (s[j] - mean);
        double inv = 1.0 / sqrt(sq / (double)d + r->eps);
        if (r->mean) r->mean[row] = (float)mean;
        if (r->inv) r->inv[row] = (float)inv;
        float *y = r->y + row * d;
        for (int64_t j = 0; j < d; j++) {
            float v = (float)((s[j] - mean) * inv) * (r->gamma ? r->gamma[j] : 1.f);
            y[j] = v + (r->beta ? r->beta[j] : 0.f);
        }
    }
}

static float *out_data(lg_kctx *c, int i) { return i >= 0 && i < c->n_outputs && c->outputs[i] ? c->outputs[i]->data : NULL; }
static const float *in_data(const lg_kctx *c, int i) { return i >= 0 && lg_kin(c, i) ? lg_kin(c, i)->data : NULL; }

static int norm_exec(lg_kctx *c)
{
    const norm_kind *k = kind_of(c);
    const lg_tensor *x = c->inputs[0];
    int axis;
    LG_CHECK(row_axis(c, k, x, &axis));
    int64_t d = lg_dims_numel(x->ndim - axis, x->dims + axis), n = lg_tensor_numel_(x);
    if (!c->outputs[0] || d == 0) return LG_OK;
    norm_run r = { .k = k, .x = x->data, .skip = in_data(c, k->skip ? 1 : -1), .gamma = in_data(c, k->gamma),
                   .beta = in_data(c, k->beta), .bias = in_data(c, k->bias), .y = c->outputs[0]->data,
                   .mean = out_data(c, k->out_mean), .inv = out_data(c, k->out_inv), .sum = out_data(c, k->out_sum), .d = d,
                   .nskip = k->skip ? lg_tensor_numel_(c->inputs[1]) : 1,
                   .eps = lg_attr_float(c->node, "epsilon", k->skip && !k->simplified ? 1e-12f : 1e-5f) };
    lg_parallel_for(c->pool, n / d, 16, norm_rows, &r);
    return LG_OK;
}

/* float16 runs through the float32 kernel (contrib_common.h). */
LG_CONTRIB_HALF(norm, norm_infer, norm_exec)

const lg_op_def lg_ops_contrib_norm[] = {
    { "SimplifiedLayerNormalization", "com.microsoft", 1, 1, norm_hinfer, norm_hexec, NULL, NULL },
    { "SimplifiedLayerNormalization", "", 1, 27, norm_hinfer, norm_hexec, NULL, NULL },
    { "SkipLayerNormalization", "com.microsoft", 1, 1, norm_hinfer, norm_hexec, NULL, NULL },
    { "SkipSimplifiedLayerNormalization", "com.microsoft", 1, 1, norm_hinfer, norm_hexec, NULL, NULL },
    { NULL },
};
