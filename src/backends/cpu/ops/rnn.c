/*
 * rnn.c: recurrent layers RNN, GRU and LSTM (opset 1-17).
 *
 * One driver serves the three cells. Inputs are first brought to float32 in the
 * sequence-major layout ([seq, batch, ...]); per direction the input projection
 * X * W^T + bias is computed for all time steps at once (a parallel matrix product),
 * then the time loop adds the recurrent projection h * R^T and applies the cell.
 * Results are gathered in float32 buffers and stored at the end in the output dtype
 * and layout (layout = 1, from opset 14, puts the batch first).
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>

#include "runtime/kernel.h"

enum rnn_kind { CELL_RNN, CELL_GRU, CELL_LSTM };

typedef float (*act_fn)(float x, float alpha, float beta);

typedef struct rnn_act {
    act_fn fn;
    float alpha, beta;
} rnn_act;

/* Everything about one node's problem, read from attributes and input shapes. */
typedef struct rnn_shape {
    enum rnn_kind kind;
    int gates;                 /* 1 (RNN), 3 (GRU: z r h), 4 (LSTM: i o f c) */
    int acts_per_dir;          /* 1, 2 (f g), 3 (f g h) */
    int dirs;                  /* 1 or 2 */
    bool reverse;              /* direction == "reverse" (single direction) */
    int layout;                /* 0: [seq, batch, ..]; 1: [batch, seq, ..] */
    int64_t seq, batch, input, hidden;
    float clip;                /* 0: no clipping */
    bool linear_before_reset;  /* GRU */
    bool input_forget;         /* LSTM */
    rnn_act act[2][3];
} rnn_shape;

/* ---- activation functions ---------------------------------------------------- */

static float act_relu(float x, float a, float b) { (void)a, (void)b; return x > 0 ? x : 0; }
static float act_tanh(float x, float a, float b) { (void)a, (void)b; return tanhf(x); }
static float act_sigmoid(float x, float a, float b) { (void)a, (void)b; return 1.0f / (1.0f + expf(-x)); }
static float act_affine(float x, float a, float b) { return a * x + b; }
static float act_leaky_relu(float x, float a, float b) { (void)b; return x >= 0 ? x : a * x; }
static float act_thresholded_relu(float x, float a, float b) { (void)b; return x > a ? x : 0; }
static float act_scaled_tanh(float x, float a, float b) { return a * tanhf(b * x); }
static float act_elu(float x, float a, float b) { (void)b; return x >= 0 ? x : a * (expf(x) - 1); }
static float act_softsign(float x, float a, float b) { (void)a, (void)b; return x / (1 + fabsf(x)); }
static float act_softplus(float x, float a, float b) { (void)a, (void)b; return x > 20 ? x : log1pf(expf(x)); }

static float act_hard_sigmoid(float x, float a, float b)
{
    float y = a * x + b;
    return y < 0 ? 0 : y > 1 ? 1 : y;
}

/* Activations by name, with the ONNX operator's default alpha/beta and whether the
 * activation consumes an entry of activation_alpha / activation_beta. */
static const struct {
    const char *name;
    act_fn fn;
    bool has_alpha, has_beta;
    float alpha, beta;
} act_table[] = {
    { "Relu", act_relu, false, false, 0, 0 },
    { "Tanh", act_tanh, false, false, 0, 0 },
    { "Sigmoid", act_sigmoid, false, false, 0, 0 },
    { "Affine", act_affine, true, true, 1.0f, 0.0f },
    { "LeakyRelu", act_leaky_relu, true, false, 0.01f, 0 },
    { "ThresholdedRelu", act_thresholded_relu, true, false, 1.0f, 0 },
    { "ScaledTanh", act_scaled_tanh, true, true, 1.0f, 1.0f },
    { "HardSigmoid", act_hard_sigmoid, true, true, 0.2f, 0.5f },
    { "Elu", act_elu, true, false, 1.0f, 0 },
    { "Softsign", act_softsign, false, false, 0, 0 },
    { "Softplus", act_softplus, false, false, 0, 0 },
};

static int act_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof(act_table) / sizeof(act_table[0]); i++)
        if (strcasecmp(act_table[i].name, name) == 0) return (int)i;
    return -1;
}

/* Default activations per cell: RNN f = Tanh; GRU f, g = Sigmoid, Tanh; LSTM adds h = Tanh. */
static const char *const default_acts[3][3] = {
    { "Tanh" }, { "Sigmoid", "Tanh" }, { "Sigmoid", "Tanh", "Tanh" },
};

static int read_activations(const lg_node *n, rnn_shape *s)
{
    const lg_attr *names = lg_node_attr(n, "activations");
    int alpha_n = 0, beta_n = 0, ai = 0, bi = 0;
    const float *alphas = lg_attr_floats(n, "activation_alpha", &alpha_n);
    const float *betas = lg_attr_floats(n, "activation_beta", &beta_n);
    int per = s->acts_per_dir, count = names ? names->n : 0;
    if (names && names->type != LG_ATTR_STRINGS) return lg_error(LG_E_INVALID_MODEL, "activations must be strings");
    if (names && count != per && count != per * s->dirs)
        return lg_error(LG_E_INVALID_MODEL, "activations has %d names, expected %d (or %d per direction)",
                        count, per * s->dirs, per);
    for (int d = 0; d < s->dirs; d++) {
        for (int k = 0; k < per; k++) {
            const char *name = count ? names->strings[(count == per ? 0 : d * per) + k] : default_acts[s->kind][k];
            int a = act_lookup(name);
            if (a < 0) return lg_error(LG_E_UNSUPPORTED, "activation '%s' is not supported", name);
            rnn_act *act = &s->act[d][k];
            act->fn = act_table[a].fn;
            act->alpha = act_table[a].alpha;
            act->beta = act_table[a].beta;
            /* Only names in the list consume alpha/beta entries, in list order. */
            bool listed = count && (count == per * s->dirs || d == 0);
            if (listed && act_table[a].has_alpha && ai < alpha_n) act->alpha = alphas[ai++];
            if (listed && act_table[a].has_beta && bi < beta_n) act->beta = betas[bi++];
        }
    }
    /* A single per-direction list also serves the backward direction. */
    if (count == per && s->dirs == 2)
        for (int k = 0; k < per; k++) s->act[1][k] = s->act[0][k];
    return LG_OK;
}

/* ---- shapes ------------------------------------------------------------------- */

static int expect_dims(const char *what, const lg_tensor *t, int ndim, const int64_t *want)
{
    char got[256], exp[256];
    if (!lg_dims_equal(t->ndim, t->dims, ndim, want))
        return lg_error(LG_E_SHAPE, "%s has shape %s, expected %s", what,
                        lg_dims_str(t->ndim, t->dims, got, sizeof(got)),
                        lg_dims_str(ndim, want, exp, sizeof(exp)));
    return LG_OK;
}

static int read_shape(const lg_kctx *c, enum rnn_kind kind, rnn_shape *s)
{
    const lg_node *n = c->node;
    const lg_tensor *x = lg_kin(c, 0), *w = lg_kin(c, 1), *r = lg_kin(c, 2);
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->gates = kind == CELL_RNN ? 1 : kind == CELL_GRU ? 3 : 4;
    s->acts_per_dir = kind == CELL_RNN ? 1 : kind == CELL_GRU ? 2 : 3;
    if (!x || !w || !r) return lg_error(LG_E_INVALID_MODEL, "X, W and R are required");
    if (x->ndim != 3 || w->ndim != 3 || r->ndim != 3)
        return lg_error(LG_E_SHAPE, "X, W and R must have rank 3 (got %d, %d, %d)", x->ndim, w->ndim, r->ndim);
    if (!lg_dtype_is_float(x->dtype) || w->dtype != x->dtype || r->dtype != x->dtype)
        return lg_error(LG_E_INVALID_MODEL, "X, W, R must share a float type (got %s, %s, %s)",
                        lg_dtype_name(x->dtype), lg_dtype_name(w->dtype), lg_dtype_name(r->dtype));

    const char *dir = lg_attr_string(n, "direction", "forward");
    if (strcmp(dir, "forward") == 0) s->dirs = 1;
    else if (strcmp(dir, "reverse") == 0) s->dirs = 1, s->reverse = true;
    else if (strcmp(dir, "bidirectional") == 0) s->dirs = 2;
    else return lg_error(LG_E_INVALID_MODEL, "direction '%s' is not forward, reverse or bidirectional", dir);

    s->layout = c->opset >= 14 ? (int)lg_attr_int(n, "layout", 0) : 0;
    if (s->layout != 0 && s->layout != 1) return lg_error(LG_E_INVALID_MODEL, "layout %d is not 0 or 1", s->layout);
    s->seq = x->dims[s->layout ? 1 : 0];
    s->batch = x->dims[s->layout ? 0 : 1];
    s->input = x->dims[2];
    s->hidden = lg_attr_int(n, "hidden_size", r->dims[2]);
    if (s->hidden <= 0 || s->hidden > ((int64_t)1 << 24))
        return lg_error(LG_E_INVALID_MODEL, "hidden_size %lld out of range", (long long)s->hidden);
    s->clip = lg_attr_float(n, "clip", 0.0f);
    if (s->clip < 0) return lg_error(LG_E_INVALID_MODEL, "clip %g is negative", (double)s->clip);
    s->linear_before_reset = kind == CELL_GRU && lg_attr_int(n, "linear_before_reset", 0) != 0;
    s->input_forget = kind == CELL_LSTM && lg_attr_int(n, "input_forget", 0) != 0;

    int64_t gh = s->gates * s->hidden, D = s->dirs, H = s->hidden;
    int64_t wd[3] = { D, gh, s->input }, rd[3] = { D, gh, H }, bd[2] = { D, 2 * gh }, pd[2] = { D, 3 * H };
    int64_t sd[1] = { s->batch };
    int64_t hd0[3] = { D, s->batch, H }, hd1[3] = { s->batch, D, H };
    LG_CHECK(expect_dims("W", w, 3, wd));
    LG_CHECK(expect_dims("R", r, 3, rd));
    if (lg_kin(c, 3)) LG_CHECK(expect_dims("B", lg_kin(c, 3), 2, bd));
    if (lg_kin(c, 4)) {
        LG_CHECK(expect_dims("sequence_lens", lg_kin(c, 4), 1, sd));
        if (!lg_dtype_is_int(lg_kin(c, 4)->dtype))
            return lg_error(LG_E_INVALID_MODEL, "sequence_lens must be an integer tensor");
    }
    if (lg_kin(c, 5)) LG_CHECK(expect_dims("initial_h", lg_kin(c, 5), 3, s->layout ? hd1 : hd0));
    if (kind == CELL_LSTM && lg_kin(c, 6)) LG_CHECK(expect_dims("initial_c", lg_kin(c, 6), 3, s->layout ? hd1 : hd0));
    if (kind == CELL_LSTM && lg_kin(c, 7)) LG_CHECK(expect_dims("P", lg_kin(c, 7), 2, pd));
    for (int i = 3; i < c->n_inputs; i++)
        if (c->inputs[i] && i != 4 && c->inputs[i]->dtype != x->dtype)
            return lg_error(LG_E_INVALID_MODEL, "input %d is %s, expected %s", i,
                            lg_dtype_name(c->inputs[i]->dtype), lg_dtype_name(x->dtype));
    /* Guard the sizes of the float work buffers. */
    int64_t y_numel = lg_dims_numel_checked(4, (int64_t[]){ s->seq, D, s->batch, gh });
    if (y_numel < 0 || (uint64_t)y_numel > LG_TENSOR_MAX_BYTES / sizeof(float))
        return lg_error(LG_E_SHAPE, "sequence of %lld x %lld x %lld is too large", (long long)s->seq,
                        (long long)s->batch, (long long)gh);
    return read_activations(n, s);
}

static int rnn_infer(lg_kctx *c, enum rnn_kind kind)
{
    rnn_shape s;
    LG_CHECK(read_shape(c, kind, &s));
    lg_dtype dt = c->inputs[0]->dtype;
    int64_t D = s.dirs, B = s.batch, H = s.hidden;
    int64_t y0[4] = { s.seq, D, B, H }, y1[4] = { B, s.seq, D, H };
    int64_t h0[3] = { D, B, H }, h1[3] = { B, D, H };
    LG_CHECK(lg_kout_shape(c, 0, dt, 4, s.layout ? y1 : y0));
    LG_CHECK(lg_kout_shape(c, 1, dt, 3, s.layout ? h1 : h0));
    if (kind == CELL_LSTM) LG_CHECK(lg_kout_shape(c, 2, dt, 3, s.layout ? h1 : h0));
    return LG_OK;
}

static int rnn_infer_simple(lg_kctx *c) { return rnn_infer(c, CELL_RNN); }
static int rnn_infer_gru(lg_kctx *c) { return rnn_infer(c, CELL_GRU); }
static int rnn_infer_lstm(lg_kctx *c) { return rnn_infer(c, CELL_LSTM); }

/* ---- float32 staging ---------------------------------------------------------- */

/* A float32 copy of t; with swap set, t is [a, b, rest] and the copy is [b, a, rest]
 * (turns layout 1 into layout 0). */
static float *to_float(const lg_tensor *t, bool swap)
{
    int64_t n = lg_tensor_numel_(t);
    float *f = lg_alloc((size_t)(n ? n : 1) * sizeof(float));
    if (!f) return NULL;
    int64_t a = t->dims[0], b = t->ndim > 1 ? t->dims[1] : 1, rest = (a && b) ? n / (a * b) : 0;
    for (int64_t i = 0; i < a; i++)
        for (int64_t j = 0; j < b; j++) {
            int64_t src = (i * b + j) * rest, dst = swap ? (j * a + i) * rest : src;
            if (t->dtype == LG_FLOAT) memcpy(f + dst, (const float *)t->data + src, (size_t)rest * sizeof(float));
            else
                for (int64_t k = 0; k < rest; k++) f[dst + k] = (float)lg_tensor_get_f64(t, src + k);
        }
    return f;
}

/* Stores a float32 buffer of shape [a, b, rest] into out, as [b, a, rest] when swap. */
static void store_float(lg_tensor *out, const float *f, int64_t a, int64_t b, bool swap)
{
    int64_t n = lg_tensor_numel_(out), rest = (a && b) ? n / (a * b) : 0;
    for (int64_t i = 0; i < a; i++)
        for (int64_t j = 0; j < b; j++) {
            int64_t src = (i * b + j) * rest, dst = swap ? (j * a + i) * rest : src;
            if (out->dtype == LG_FLOAT) memcpy((float *)out->data + dst, f + src, (size_t)rest * sizeof(float));
            else
                for (int64_t k = 0; k < rest; k++) lg_tensor_set_f64(out, dst + k, f[src + k]);
        }
}

/* ---- the matrix product C[m, n] = A[m, k] * B[n, k]^T + bias[n] --------------- */

static float dot(const float *a, const float *b, int64_t k)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = 0;
    for (; i + 4 <= k; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < k; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

typedef struct matmul_job {
    const float *a, *b, *bias;
    float *c;
    int64_t n, k;
} matmul_job;

static void matmul_rows(void *arg, int64_t begin, int64_t end)
{
    const matmul_job *j = arg;
    for (int64_t i = begin; i < end; i++) {
        const float *a = j->a + i * j->k;
        float *c = j->c + i * j->n;
        for (int64_t col = 0; col < j->n; col++)
            c[col] = dot(a, j->b + col * j->k, j->k) + (j->bias ? j->bias[col] : 0.0f);
    }
}

static void matmul_bt(lg_threadpool *pool, const float *a, const float *b, const float *bias, float *c,
                      int64_t m, int64_t n, int64_t k)
{
    matmul_job job = { a, b, bias, c, n, k };
    int64_t rows_per_chunk = 1 + 65536 / (n * k + 1);
    lg_parallel_for(pool, m, rows_per_chunk, matmul_rows, &job);
}

/* ---- cells -------------------------------------------------------------------- */

static inline float clipped(const rnn_shape *s, float v)
{
    if (s->clip > 0) v = v < -s->clip ? -s->clip : v > s->clip ? s->clip : v;
    return v;
}

static inline float apply(const rnn_shape *s, const rnn_act *a, float v)
{
    return a->fn(clipped(s, v), a->alpha, a->beta);
}

/* Per-direction weights and state for one batch row's step. */
typedef struct cell_args {
    const rnn_shape *s;
    const rnn_act *act;      /* this direction's activations */
    const float *r;          /* [gates*H, H] */
    const float *rb_h;       /* GRU with linear_before_reset: Rbh, else NULL */
    const float *p;          /* LSTM peepholes [3H] (i o f) or NULL */
    float *tmp;              /* scratch of gates*H floats */
} cell_args;

/* g holds x*W^T + biases for this step; h (and c) are updated in place. */
static void step_rnn(const cell_args *a, const float *g, float *h, float *c)
{
    int64_t H = a->s->hidden;
    (void)c;
    for (int64_t j = 0; j < H; j++) a->tmp[j] = apply(a->s, &a->act[0], g[j] + dot(h, a->r + j * H, H));
    memcpy(h, a->tmp, (size_t)H * sizeof(float));
}

static void step_gru(const cell_args *a, const float *g, float *h, float *c)
{
    const rnn_shape *s = a->s;
    int64_t H = s->hidden;
    float *z = a->tmp, *r = z + H, *hh = r + H;
    (void)c;
    for (int64_t j = 0; j < H; j++) {
        z[j] = apply(s, &a->act[0], g[j] + dot(h, a->r + j * H, H));
        r[j] = apply(s, &a->act[0], g[H + j] + dot(h, a->r + (H + j) * H, H));
    }
    const float *rh = a->r + 2 * H * H;
    if (s->linear_before_reset) {
        for (int64_t j = 0; j < H; j++)
            hh[j] = apply(s, &a->act[1], g[2 * H + j] + r[j] * (dot(h, rh + j * H, H) + (a->rb_h ? a->rb_h[j] : 0)));
    } else {
        /* (r . h) R_h^T: the reset-scaled state is formed first (r's slot is reused). */
        for (int64_t j = 0; j < H; j++) r[j] *= h[j];
        for (int64_t j = 0; j < H; j++) hh[j] = apply(s, &a->act[1], g[2 * H + j] + dot(r, rh + j * H, H));
    }
    for (int64_t j = 0; j < H; j++) h[j] = (1 - z[j]) * hh[j] + z[j] * h[j];
}

static void step_lstm(const cell_args *a, const float *g, float *h, float *c)
{
    const rnn_shape *s = a->s;
    int64_t H = s->hidden;
    float *pre = a->tmp; /* i o f c pre-activations */
    for (int64_t j = 0; j < 4 * H; j++) pre[j] = g[j] + dot(h, a->r + j * H, H);
    const float *pi = a->p, *po = a->p ? a->p + H : NULL, *pf = a->p ? a->p + 2 * H : NULL;
    for (int64_t j = 0; j < H; j++) {
        float i = apply(s, &a->act[0], pre[j] + (pi ? pi[j] * c[j] : 0));
        float f = s->input_forget ? 1 - i : apply(s, &a->act[0], pre[2 * H + j] + (pf ? pf[j] * c[j] : 0));
        float cand = apply(s, &a->act[1], pre[3 * H + j]);
        c[j] = f * c[j] + i * cand;
        float o = apply(s, &a->act[0], pre[H + j] + (po ? po[j] * c[j] : 0));
        h[j] = o * a->act[2].fn(c[j], a->act[2].alpha, a->act[2].beta);
    }
}

typedef void (*step_fn)(const cell_args *a, const float *g, float *h, float *c);

static const step_fn step_fns[] = { step_rnn, step_gru, step_lstm };

/* ---- the driver ------------------------------------------------------------- */

typedef struct rnn_bufs {
    float *x, *w, *r, *b, *p, *h0, *c0; /* staged inputs (NULL when omitted) */
    int64_t *lens;                      /* [batch] */
    float *xw;                          /* [seq*batch, gates*H] */
    float *y, *yh, *yc;                 /* layout-0 results */
    float *bias;                        /* one direction's input-side bias [gates*H] */
} rnn_bufs;

static void free_bufs(rnn_bufs *b)
{
    float *all[] = { b->x, b->w, b->r, b->b, b->p, b->h0, b->c0, b->xw, b->y, b->yh, b->yc, b->bias };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) lg_free(all[i]);
    lg_free(b->lens);
}

static float *zeros(int64_t n) { return lg_calloc((size_t)(n ? n : 1) * sizeof(float)); }

static int stage_inputs(const lg_kctx *c, const rnn_shape *s, rnn_bufs *b)
{
    const lg_tensor *in[8] = { 0 };
    for (int i = 0; i < 8; i++) in[i] = lg_kin(c, i);
    int64_t D = s->dirs, B = s->batch, H = s->hidden, G = s->gates;
    bool ok = (b->x = to_float(in[0], s->layout)) && (b->w = to_float(in[1], false)) &&
              (b->r = to_float(in[2], false));
    ok = ok && (!in[3] || (b->b = to_float(in[3], false)));
    ok = ok && (b->h0 = in[5] ? to_float(in[5], s->layout) : zeros(D * B * H));
    ok = ok && (b->c0 = s->kind == CELL_LSTM && in[6] ? to_float(in[6], s->layout) : zeros(D * B * H));
    ok = ok && (s->kind != CELL_LSTM || !in[7] || (b->p = to_float(in[7], false)));
    ok = ok && (b->lens = lg_alloc((size_t)(B ? B : 1) * sizeof(int64_t)));
    ok = ok && (b->xw = zeros(s->seq * B * G * H)) && (b->y = zeros(s->seq * D * B * H));
    ok = ok && (b->bias = zeros(G * H));
    if (!ok) return lg_error(LG_E_NOMEM, "out of memory for recurrent layer buffers");
    for (int64_t i = 0; i < B; i++) {
        b->lens[i] = in[4] ? lg_tensor_get_i64(in[4], i) : s->seq;
        if (b->lens[i] < 0 || b->lens[i] > s->seq)
            return lg_error(LG_E_RUNTIME, "sequence_lens[%lld] = %lld outside 0..%lld", (long long)i,
                            (long long)b->lens[i], (long long)s->seq);
    }
    b->yh = b->h0; /* the states evolve in place into Y_h and Y_c */
    b->yc = b->c0;
    b->h0 = b->c0 = NULL;
    return LG_OK;
}

/* The time loop of one direction; batch rows are independent and run in parallel. */
typedef struct rows_job {
    const rnn_shape *s;
    const rnn_bufs *b;
    cell_args cell;       /* tmp is per chunk */
    int d;
    bool backward;
    atomic_bool failed;
} rows_job;

static void run_rows(void *arg, int64_t begin, int64_t end)
{
    rows_job *j = arg;
    const rnn_shape *s = j->s;
    const rnn_bufs *b = j->b;
    int64_t B = s->batch, H = s->hidden, GH = s->gates * H, D = s->dirs, d = j->d;
    cell_args a = j->cell;
    if (!(a.tmp = lg_alloc((size_t)GH * sizeof(float)))) {
        atomic_store(&j->failed, true);
        return;
    }
    for (int64_t bi = begin; bi < end; bi++) {
        float *h = b->yh + (d * B + bi) * H, *cs = b->yc + (d * B + bi) * H;
        int64_t len = b->lens[bi];
        for (int64_t step = 0; step < len; step++) {
            int64_t t = j->backward ? len - 1 - step : step;
            step_fns[s->kind](&a, b->xw + (t * B + bi) * GH, h, cs);
            memcpy(b->y + ((t * D + d) * B + bi) * H, h, (size_t)H * sizeof(float));
        }
    }
    lg_free(a.tmp);
}

static int run_direction(lg_kctx *c, const rnn_shape *s, rnn_bufs *b, int d)
{
    int64_t B = s->batch, H = s->hidden, GH = s->gates * H, T = s->seq;
    const float *wb = b->b ? b->b + d * 2 * GH : NULL, *rb = wb ? wb + GH : NULL;
    /* Biases folded into the input projection; GRU with linear_before_reset keeps Rbh apart. */
    for (int64_t j = 0; j < GH; j++) {
        bool rb_apart = s->linear_before_reset && j >= 2 * H;
        b->bias[j] = wb ? wb[j] + (rb_apart ? 0 : rb[j]) : 0;
    }
    matmul_bt(c->pool, b->x, b->w + d * GH * s->input, b->bias, b->xw, T * B, GH, s->input);

    rows_job job = { s, b, { s, s->act[d], b->r + d * GH * H, s->linear_before_reset && rb ? rb + 2 * H : NULL,
                             b->p ? b->p + d * 3 * H : NULL, NULL },
                     d, s->reverse || d == 1, false };
    lg_parallel_for(c->pool, B, 1 + 65536 / (T * GH * H + 1), run_rows, &job);
    return atomic_load(&job.failed) ? lg_error(LG_E_NOMEM, "out of memory for recurrent scratch") : LG_OK;
}

static int rnn_exec(lg_kctx *c)
{
    enum rnn_kind kind = strcmp(c->node->op_type, "LSTM") == 0 ? CELL_LSTM
                         : strcmp(c->node->op_type, "GRU") == 0 ? CELL_GRU : CELL_RNN;
    rnn_shape s;
    LG_CHECK(read_shape(c, kind, &s));
    rnn_bufs b = { 0 };
    int rc = stage_inputs(c, &s, &b);
    for (int d = 0; d < s.dirs && rc == LG_OK; d++) rc = run_direction(c, &s, &b, d);
    if (rc == LG_OK) {
        lg_tensor *y = c->n_outputs > 0 ? c->outputs[0] : NULL;
        lg_tensor *yh = c->n_outputs > 1 ? c->outputs[1] : NULL;
        lg_tensor *yc = c->n_outputs > 2 && kind == CELL_LSTM ? c->outputs[2] : NULL;
        /* Layout 1 moves the batch first: Y [seq*D, batch, H] -> [batch, seq*D, H],
         * Y_h and Y_c [D, batch, H] -> [batch, D, H]. */
        if (y) store_float(y, b.y, s.seq * s.dirs, s.batch, s.layout);
        if (yh) store_float(yh, b.yh, s.dirs, s.batch, s.layout);
        if (yc) store_float(yc, b.yc, s.dirs, s.batch, s.layout);
    }
    free_bufs(&b);
    return rc;
}

const lg_op_def lg_ops_rnn[] = {
    { "RNN", "", 1, 27, rnn_infer_simple, rnn_exec, NULL, NULL },
    { "GRU", "", 1, 27, rnn_infer_gru, rnn_exec, NULL, NULL },
    { "LSTM", "", 1, 27, rnn_infer_lstm, rnn_exec, NULL, NULL },
    { NULL }
};
