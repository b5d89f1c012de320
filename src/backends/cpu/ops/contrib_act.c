/*
 * contrib_act.c: the GELU family of com.microsoft: Gelu (erf form), FastGelu (tanh
 * approximation, optional bias over the last axis), BiasGelu (erf form of A + B) and
 * QuickGelu (x * sigmoid(alpha * x)). float32.
 */
#include <math.h>
#include <string.h>

#include "backends/cpu/ops/contrib_common.h"

typedef float (*act_fn)(float x, float alpha);

static float gelu_erf(float x, float a)
{
    (void)a;
    return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2));
}

static float gelu_tanh(float x, float a)
{
    (void)a;
    const float k = 0.7978845608028654f; /* sqrt(2 / pi) */
    return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

static float quick_gelu(float x, float a)
{
    float z = a * x;
    return x * (z >= 0 ? 1 / (1 + expf(-z)) : expf(z) / (1 + expf(z)));
}

typedef struct gelu_kind {
    const char *name;
    act_fn fn;
    bool bias; /* input 1 is a bias over the last axis */
} gelu_kind;

static const gelu_kind kinds[] = {
    { "Gelu", gelu_erf, false },
    { "FastGelu", gelu_tanh, true },
    { "BiasGelu", gelu_erf, true },
    { "QuickGelu", quick_gelu, false },
};

static const gelu_kind *kind_of(const lg_kctx *c)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (!strcmp(kinds[i].name, c->node->op_type)) return &kinds[i];
    return &kinds[0];
}

static int gelu_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *b = kind_of(c)->bias ? lg_kin(c, 1) : NULL;
    LG_CHECK(lg_contrib_need_f32(x, "X"));
    LG_CHECK(lg_contrib_need_f32(b, "bias"));
    if (b) {
        int64_t last = x->ndim ? x->dims[x->ndim - 1] : 1, nb = lg_tensor_numel_(b);
        if (nb != last && nb != lg_tensor_numel_(x))
            return lg_error(LG_E_SHAPE, "bias has %lld values; expected %lld (X's last axis)", (long long)nb, (long long)last);
    }
    return lg_kout_shape(c, 0, LG_FLOAT, x->ndim, x->dims);
}

typedef struct gelu_run {
    const float *x, *b;
    float *y;
    int64_t nb;
    act_fn fn;
    float alpha;
} gelu_run;

static void gelu_range(void *arg, int64_t lo, int64_t hi)
{
    const gelu_run *r = arg;
    for (int64_t i = lo; i < hi; i++) r->y[i] = r->fn(r->x[i] + (r->b ? r->b[i % r->nb] : 0.f), r->alpha);
}

static int gelu_exec(lg_kctx *c)
{
    const gelu_kind *k = kind_of(c);
    const lg_tensor *x = c->inputs[0], *b = k->bias ? lg_kin(c, 1) : NULL;
    if (!c->outputs[0]) return LG_OK;
    gelu_run r = { x->data, b ? b->data : NULL, c->outputs[0]->data, b ? lg_tensor_numel_(b) : 1, k->fn,
                   lg_attr_float(c->node, "alpha", 1.702f) };
    lg_parallel_for(c->pool, lg_tensor_numel_(x), 16384, gelu_range, &r);
    return LG_OK;
}

/* float16 runs through the float32 kernel (contrib_common.h). */
LG_CONTRIB_HALF(gelu, gelu_infer, gelu_exec)

const lg_op_def lg_ops_contrib_act[] = {
    { "Gelu", "com.microsoft", 1, 1, gelu_hinfer, gelu_hexec, NULL, NULL },
    { "FastGelu", "com.microsoft", 1, 1, gelu_hinfer, gelu_hexec, NULL, NULL },
    { "BiasGelu", "com.microsoft", 1, 1, gelu_hinfer, gelu_hexec, NULL, NULL },
    { "QuickGelu", "com.microsoft", 1, 1, gelu_hinfer, gelu_hexec, NULL, NULL },
    { NULL },
};
