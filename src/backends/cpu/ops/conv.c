/*
 * conv.c: Conv and ConvTranspose on the CPU.
 *
 * Conv is a GEMM per (image, group): Y_g[M/g, pixels] = W_g[M/g, C/g * k] * col[C/g * k,
 * pixels]. The weights are packed once in prepare(); a 1x1 stride-1 convolution reads
 * the image directly as B (no im2col); any other one packs B panels straight from the
 * image (implicit im2col: the scratch is a few GEMM panels, never the whole col matrix).
 * Bias and the fused activation (conv.h) are applied in the GEMM's output pass.
 * Depthwise 2-D convolutions (one input channel per group) use a direct kernel
 * (conv_depthwise.c); 3x3 stride-1 ones with small enough weights use Winograd F(4x4, 3x3)
 * when the image has enough tiles (conv_winograd.c; LEGACYGPU_WINOGRAD=0|all).
 * ConvTranspose is the adjoint: col = W_g^T X_g by GEMM, then
 * scattered back (col2im) with the same im2col indices. Float16, bfloat16 and double
 * go through float32 copies.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/gemm.h"
#include "backends/cpu/ops/conv.h"
#include "backends/cpu/ops/conv_depthwise.h"
#include "backends/cpu/ops/conv_winograd.h"

/* ---- geometry ---------------------------------------------------------------------- */

typedef enum auto_pad { PAD_NOTSET, PAD_VALID, PAD_SAME_UPPER, PAD_SAME_LOWER } auto_pad;

static const struct {
    const char *name;
    auto_pad mode;
} auto_pad_names[] = {
    { "NOTSET", PAD_NOTSET },
    { "VALID", PAD_VALID },
    { "SAME_UPPER", PAD_SAME_UPPER },
    { "SAME_LOWER", PAD_SAME_LOWER },
};

static int parse_auto_pad(const lg_node *n, auto_pad *mode)
{
    const char *s = lg_attr_string(n, "auto_pad", "NOTSET");
    for (size_t i = 0; i < sizeof(auto_pad_names) / sizeof(auto_pad_names[0]); i++)
        if (strcmp(s, auto_pad_names[i].name) == 0) {
            *mode = auto_pad_names[i].mode;
            return LG_OK;
        }
    return lg_error(LG_E_INVALID_MODEL, "unknown auto_pad '%s'", s);
}

/* An ints attribute of exactly nd values (or absent: def everywhere). */
static int spatial_attr(const lg_node *n, const char *name, int nd, int64_t def, int64_t min, int64_t *out)
{
    int cnt = 0;
    const int64_t *v = lg_attr_ints(n, name, &cnt);
    if (v && cnt != nd) return lg_error(LG_E_INVALID_MODEL, "%s has %d values, expected %d", name, cnt, nd);
    for (int i = 0; i < nd; i++) {
        out[i] = v ? v[i] : def;
        if (out[i] < min || out[i] > ((int64_t)1 << 31))
            return lg_error(LG_E_INVALID_MODEL, "%s[%d] = %lld is out of range", name, i, (long long)out[i]);
    }
    return LG_OK;
}

/* pads attribute: nd begin values then nd end values (absent: 0). */
static int pads_attr(const lg_node *n, int nd, int64_t *begin, int64_t *end)
{
    int cnt = 0;
    const int64_t *v = lg_attr_ints(n, "pads", &cnt);
    if (v && cnt != 2 * nd) return lg_error(LG_E_INVALID_MODEL, "pads has %d values, expected %d", cnt, 2 * nd);
    for (int i = 0; i < nd; i++) {
        begin[i] = v ? v[i] : 0;
        end[i] = v ? v[nd + i] : 0;
        if (begin[i] < 0 || end[i] < 0 || begin[i] > ((int64_t)1 << 31) || end[i] > ((int64_t)1 << 31))
            return lg_error(LG_E_INVALID_MODEL, "pads[%d] = %lld, %lld out of range", i, (long long)begin[i],
                            (long long)end[i]);
    }
    return LG_OK;
}

/* Kernel sizes: kernel_shape, or w's spatial dims; they must agree. */
static int kernel_attr(const lg_node *n, const lg_tensor *w, int nd, int64_t *k)
{
    int cnt = 0;
    const int64_t *v = lg_attr_ints(n, "kernel_shape", &cnt);
    if (v && cnt != nd) return lg_error(LG_E_INVALID_MODEL, "kernel_shape has %d values, expected %d", cnt, nd);
    for (int i = 0; i < nd; i++) {
        k[i] = v ? v[i] : w->dims[2 + i];
        if (k[i] != w->dims[2 + i])
            return lg_error(LG_E_SHAPE, "kernel_shape[%d] = %lld but the weight has %lld", i, (long long)k[i],
                            (long long)w->dims[2 + i]);
    }
    return LG_OK;
}

/* Spatial products; LG_E_LIMIT when they overflow. */
static int geom_sizes(lg_conv_geom *g)
{
    g->in_size = lg_dims_numel_checked(g->nd, g->in);
    g->out_size = lg_dims_numel_checked(g->nd, g->out);
    g->kernel_size = lg_dims_numel_checked(g->nd, g->kernel);
    if (g->in_size < 0 || g->out_size < 0 || g->kernel_size < 0)
        return lg_error(LG_E_LIMIT, "convolution sizes overflow");
    return LG_OK;
}

/* Common checks of x and w ranks; sets nd, batch. */
static int geom_ranks(const lg_tensor *x, const lg_tensor *w, lg_conv_geom *g)
{
    if (x->ndim < 3 || x->ndim > 2 + LG_CONV_MAX_SPATIAL)
        return x->ndim < 3 ? lg_error(LG_E_SHAPE, "input has rank %d, expected at least 3", x->ndim)
                           : lg_error(LG_E_UNSUPPORTED, "%d spatial dimensions (at most %d)", x->ndim - 2,
                                      LG_CONV_MAX_SPATIAL);
    if (w->ndim != x->ndim)
        return lg_error(LG_E_SHAPE, "weight has rank %d, input has rank %d", w->ndim, x->ndim);
    memset(g, 0, sizeof(*g));
    g->nd = x->ndim - 2;
    g->batch = x->dims[0];
    return LG_OK;
}

int lg_conv_geometry(const lg_node *n, const lg_tensor *x, const lg_tensor *w, lg_conv_geom *g)
{
    LG_CHECK(geom_ranks(x, w, g));
    int nd = g->nd;
    g->group = lg_attr_int(n, "group", 1);
    g->in_c = x->dims[1];
    g->out_c = w->dims[0];
    if (g->group < 1 || g->in_c % g->group != 0 || g->out_c % g->group != 0 || w->dims[1] * g->group != g->in_c)
        return lg_error(LG_E_SHAPE, "group %lld does not fit %lld input channels, weight [%lld, %lld, ...]",
                        (long long)g->group, (long long)g->in_c, (long long)w->dims[0], (long long)w->dims[1]);
    auto_pad mode;
    int64_t pad_end[LG_CONV_MAX_SPATIAL];
    LG_CHECK(parse_auto_pad(n, &mode));
    LG_CHECK(kernel_attr(n, w, nd, g->kernel));
    LG_CHECK(spatial_attr(n, "strides", nd, 1, 1, g->stride));
    LG_CHECK(spatial_attr(n, "dilations", nd, 1, 1, g->dil));
    LG_CHECK(pads_attr(n, nd, g->pad, pad_end));
    for (int i = 0; i < nd; i++) {
        int64_t in = x->dims[2 + i], span = (g->kernel[i] - 1) * g->dil[i] + 1;
        g->in[i] = in;
        if (mode == PAD_SAME_UPPER || mode == PAD_SAME_LOWER) {
            int64_t out = (in + g->stride[i] - 1) / g->stride[i];
            int64_t total = (out - 1) * g->stride[i] + span - in;
            if (total < 0) total = 0;
            g->pad[i] = mode == PAD_SAME_UPPER ? total / 2 : total - total / 2;
            g->out[i] = out;
            continue;
        }
        if (mode == PAD_VALID) g->pad[i] = pad_end[i] = 0;
        int64_t padded = in + g->pad[i] + pad_end[i];
        if (padded < span)
            return lg_error(LG_E_SHAPE, "spatial dim %d: padded input %lld is smaller than the kernel span %lld", i,
                            (long long)padded, (long long)span);
        g->out[i] = (padded - span) / g->stride[i] + 1;
    }
    return geom_sizes(g);
}

void lg_conv_out_dims(const lg_conv_geom *g, int64_t *dims)
{
    dims[0] = g->batch;
    dims[1] = g->out_c;
    for (int i = 0; i < g->nd; i++) dims[2 + i] = g->out[i];
}

/* ---- im2col ------------------------------------------------------------------------ */

/* The geometry seen as 3-D (leading dims of size 1), which every kernel below walks. */
typedef struct geom3 {
    int64_t in[3], out[3], k[3], s[3], d[3], p[3];
} geom3;

static void to_geom3(const lg_conv_geom *g, geom3 *t)
{
    for (int i = 0; i < 3; i++) {
        int src = i - (3 - g->nd);
        bool real = src >= 0;
        t->in[i] = real ? g->in[src] : 1;
        t->out[i] = real ? g->out[src] : 1;
        t->k[i] = real ? g->kernel[src] : 1;
        t->s[i] = real ? g->stride[src] : 1;
        t->d[i] = real ? g->dil[src] : 1;
        t->p[i] = real ? g->pad[src] : 0;
    }
}

/* Row k of the im2col matrix: its channel and the input offset of each kernel tap. */
typedef struct im2col_row {
    int64_t c, kz, ky, kx;
} im2col_row;

static im2col_row decode_row(const geom3 *t, int64_t k)
{
    int64_t kvol = t->k[0] * t->k[1] * t->k[2], r = k % kvol;
    return (im2col_row){ k / kvol, r / (t->k[1] * t->k[2]), (r / t->k[2]) % t->k[1], r % t->k[2] };
}

/* First and one-past-last output x whose input x (ox*s + off) lies in [0, in). */
static void valid_range(int64_t off, int64_t s, int64_t in, int64_t out, int64_t *lo, int64_t *hi)
{
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = in - off <= 0 ? 0 : (in - 1 - off) / s + 1;
    *lo = a < out ? a : out;
    *hi = b < *lo ? *lo : (b < out ? b : out);
}

/* Walks the output pixels j0 .. j0+nj-1 of im2col row k, row segment by row segment:
 * seg(ctx, jj, n, src) for each run of n pixels starting at jj (relative to j0) whose
 * input row is src (NULL: padding), plus the x offset bounds within the run. */
typedef void (*segment_fn)(void *ctx, int64_t jj, int64_t ox0, int64_t n, int64_t row_off, int64_t xoff,
                           int64_t xs, int64_t lo, int64_t hi);

static void walk_row(const geom3 *t, int64_t k, int64_t j0, int64_t nj, segment_fn seg, void *ctx)
{
    im2col_row r = decode_row(t, k);
    int64_t OW = t->out[2], OH = t->out[1];
    int64_t xoff = r.kx * t->d[2] - t->p[2], lo, hi;
    valid_range(xoff, t->s[2], t->in[2], OW, &lo, &hi);
    int64_t ox = j0 % OW, oy = (j0 / OW) % OH, oz = j0 / (OW * OH);
    for (int64_t jj = 0; jj < nj;) {
        int64_t run = OW - ox < nj - jj ? OW - ox : nj - jj;
        int64_t iz = oz * t->s[0] - t->p[0] + r.kz * t->d[0], iy = oy * t->s[1] - t->p[1] + r.ky * t->d[1];
        int64_t row_off = -1;
        if (iz >= 0 && iz < t->in[0] && iy >= 0 && iy < t->in[1])
            row_off = ((r.c * t->in[0] + iz) * t->in[1] + iy) * t->in[2];
        seg(ctx, jj, ox, run, row_off, xoff, t->s[2], lo, hi);
        jj += run;
        ox = 0;
        if (++oy == OH) {
            oy = 0;
            oz++;
        }
    }
}

typedef struct index_ctx {
    int64_t *idx;
} index_ctx;

static void index_segment(void *ctx, int64_t jj, int64_t ox0, int64_t n, int64_t row_off, int64_t xoff, int64_t xs,
                          int64_t lo, int64_t hi)
{
    int64_t *idx = ((index_ctx *)ctx)->idx + jj;
    for (int64_t i = 0; i < n; i++) {
        int64_t ox = ox0 + i;
        idx[i] = (row_off >= 0 && ox >= lo && ox < hi) ? row_off + ox * xs + xoff : -1;
    }
}

void lg_conv_im2col_index(const lg_conv_geom *g, int64_t k, int64_t j0, int64_t nj, int64_t *idx)
{
    geom3 t;
    to_geom3(g, &t);
    index_ctx ctx = { idx };
    walk_row(&t, k, j0, nj, index_segment, &ctx);
}

/* The GEMM's B packer for Conv: each im2col row is gathered into a contiguous line
 * (one copy per output row of the image), then cut into the NR-column panels. */
typedef struct pack_src {
    geom3 t;
    const float *x;             /* the group's image */
} pack_src;

typedef struct line_ctx {
    const float *x;
    float *line;
} line_ctx;

static void line_segment(void *ctx, int64_t jj, int64_t ox0, int64_t n, int64_t row_off, int64_t xoff, int64_t xs,
                         int64_t lo, int64_t hi)
{
    const line_ctx *l = ctx;
    float *dst = l->line + jj; /* dst[ox - ox0] for ox in [ox0, ox0 + n) */
    int64_t a = lo > ox0 ? lo : ox0, b = hi < ox0 + n ? hi : ox0 + n;
    if (row_off < 0 || b < a) a = b = ox0 + n; /* all padding */
    for (int64_t ox = ox0; ox < a; ox++) dst[ox - ox0] = 0;
    if (b > a) {
        const float *src = l->x + row_off + a * xs + xoff;
        if (xs == 1) memcpy(dst + (a - ox0), src, (size_t)(b - a) * sizeof(float));
        else
            for (int64_t ox = a; ox < b; ox++) dst[ox - ox0] = src[(ox - a) * xs];
    }
    for (int64_t ox = b; ox < ox0 + n; ox++) dst[ox - ox0] = 0;
}

static void pack_im2col(const void *arg, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *dst)
{
    const pack_src *s = arg;
    float line[LG_SGEMM_NC + LG_SGEMM_NR];
    int64_t panels = (nc + LG_SGEMM_NR - 1) / LG_SGEMM_NR;
    line_ctx l = { s->x, line };
    memset(line + nc, 0, LG_SGEMM_NR * sizeof(float));
    for (int64_t kk = 0; kk < kc; kk++) {
        walk_row(&s->t, k0 + kk, n0, nc, line_segment, &l);
        float *d = dst + kk * LG_SGEMM_NR;
        for (int64_t p = 0; p < panels; p++)
            memcpy(d + p * kc * LG_SGEMM_NR, line + p * LG_SGEMM_NR, LG_SGEMM_NR * sizeof(float));
    }
}

/* ---- state: packed weights and the fused activation -------------------------------- */

typedef struct conv_state {
    int64_t groups, rows, K;    /* what the weights were packed for */
    lg_sgemm_packed **packed;   /* one per group, or NULL */
    lg_conv_wino *wino;         /* Winograd-transformed weights, or NULL */
    lg_act act;                 /* fused activation (LG_ACT_NONE: none) */
    bool residual;              /* input 3 is added before the activation (conv.h) */
} conv_state;

int lg_conv_set_residual(void *state)
{
    conv_state *st = state;
    if (!st) return lg_error(LG_E_INVALID_ARG, "no Conv state to fuse a residual into");
    st->residual = true;
    return LG_OK;
}

int lg_conv_set_activation(void *state, const lg_act *act)
{
    conv_state *st = state;
    if (!st || !act) return lg_error(LG_E_INVALID_ARG, "no Conv state or activation to fuse");
    if ((int)act->kind < LG_ACT_NONE || act->kind > LG_ACT_TANH)
        return lg_error(LG_E_INVALID_ARG, "unknown fused activation %d", (int)act->kind);
    st->act = *act;
    return LG_OK;
}

/* The GEMM output pass for st's activation: Relu and Clip as the kernel's clamp, the
 * others through a post callback on each finished block. */
static void post_act(const void *arg, float *c, int64_t ldc, int64_t m, int64_t n)
{
    for (int64_t i = 0; i < m; i++) lg_act_apply(arg, c + i * ldc, n);
}

/* The output pass with a residual: c += r (the same place in the residual tensor), then
 * the activation. */
typedef struct residual_pass {
    const float *y0, *r0;       /* the GEMM's C and the residual at the same offset */
    const lg_act *act;          /* or NULL */
} residual_pass;

void lg_conv_add_rows(float *c, const float *r, int64_t n) { lg_ew_add_f32(c, c, r, n); }

static void post_residual(const void *arg, float *c, int64_t ldc, int64_t m, int64_t n)
{
    const residual_pass *p = arg;
    const float *r = p->r0 + (c - p->y0);
    for (int64_t i = 0; i < m; i++) {
        lg_conv_add_rows(c + i * ldc, r + i * ldc, n);
        if (p->act) lg_act_apply(p->act, c + i * ldc, n);
    }
}

static void gemm_activation(const conv_state *st, lg_sgemm_args *ga)
{
    if (!st || st->act.kind == LG_ACT_NONE) return;
    if (st->act.kind == LG_ACT_RELU || st->act.kind == LG_ACT_CLIP) {
        ga->act = LG_SGEMM_ACT_CLAMP;
        ga->act_lo = st->act.kind == LG_ACT_RELU ? 0.0f : st->act.alpha;
        ga->act_hi = st->act.kind == LG_ACT_RELU ? INFINITY : st->act.beta;
        return;
    }
    ga->post = post_act;
    ga->post_arg = &st->act;
}

static void conv_release(void *state)
{
    conv_state *st = state;
    if (!st) return;
    if (st->packed)
        for (int64_t i = 0; i < st->groups; i++) lg_sgemm_packed_free(st->packed[i]);
    lg_free(st->packed);
    lg_conv_wino_free(st->wino);
    lg_free(st);
}

/* Packs a constant float weight w [M, C/g, k...] per group, for the GEMM path. */
static int conv_pack_weights(conv_state *st, const lg_tensor *w, int64_t group)
{
    int64_t rows = w->dims[0] / group, K = lg_tensor_numel_(w) / (w->dims[0] > 0 ? w->dims[0] : 1);
    st->packed = lg_calloc((size_t)group * sizeof(*st->packed));
    if (!st->packed) return lg_error(LG_E_NOMEM, "out of memory for %lld packed weight groups", (long long)group);
    st->groups = group;
    st->rows = rows;
    st->K = K;
    for (int64_t i = 0; i < group; i++) {
        st->packed[i] = lg_sgemm_pack_a(rows, K, (lg_smat){ (const float *)w->data + i * rows * K, K, 1 });
        if (!st->packed[i]) return LG_E_NOMEM;
    }
    return LG_OK;
}

/* The state always exists (it carries the fused activation); the weights are packed when
 * they are a constant float tensor that the GEMM path will use (not depthwise). */
static int conv_prepare(lg_kctx *c, void **state)
{
    conv_state *st = lg_calloc(sizeof(*st));
    if (!st) return lg_error(LG_E_NOMEM, "out of memory for Conv state");
    st->act.kind = LG_ACT_NONE;
    *state = st;
    const lg_tensor *w = lg_kin(c, 1);
    int64_t group = lg_attr_int(c->node, "group", 1);
    if (!w || !w->data || w->dtype != LG_FLOAT || w->ndim < 3 || group < 1 || w->dims[0] % group != 0 ||
        lg_tensor_numel_(w) == 0)
        return LG_OK;
    if (w->ndim == 4 && w->dims[1] == 1 && group > 1) return LG_OK; /* depthwise */
    LG_CHECK(conv_pack_weights(st, w, group));
    if (lg_conv_wino_weights_apply(c->node, w)) {
        st->wino = lg_conv_wino_prepare(w->data, w->dims[0], w->dims[1]);
        if (!st->wino) return LG_E_NOMEM;
    }
    c->consumed |= 1u << 1; /* exec reads the packed copies */
    return LG_OK;
}

/* ---- Conv in float32 ---------------------------------------------------------------- */

typedef struct conv_f32_args {
    const lg_conv_geom *g;
    const float *x, *w, *bias;
    float *y;
    const conv_state *st;       /* may be NULL */
    const float *res;           /* residual added before the activation, or NULL */
} conv_f32_args;

static int conv_gemm_f32(lg_kctx *c, const conv_f32_args *a)
{
    const lg_conv_geom *g = a->g;
    int64_t rows = g->out_c / g->group, cin = g->in_c / g->group, K = cin * g->kernel_size;
    bool packed = a->st && a->st->packed && a->st->groups == g->group && a->st->rows == rows && a->st->K == K;
    if (!packed && !a->w) return lg_error(LG_E_RUNTIME, "Conv weights were released but not packed for this shape");
    bool direct = true; /* 1x1, stride 1, no padding: the image is B */
    for (int i = 0; i < g->nd; i++)
        if (g->kernel[i] != 1 || g->stride[i] != 1 || g->pad[i] != 0) direct = false;
    pack_src src;
    to_geom3(g, &src.t);
    for (int64_t b = 0; b < g->batch; b++) {
        for (int64_t gi = 0; gi < g->group; gi++) {
            const float *x = a->x + (b * g->in_c + gi * cin) * g->in_size;
            src.x = x;
            lg_sgemm_args ga = {
                .M = rows, .N = g->out_size, .K = K, .alpha = 1,
                .pa = packed ? a->st->packed[gi] : NULL,
                .a = { packed ? NULL : a->w + gi * rows * K, K, 1 },
                .pack_b = direct ? NULL : pack_im2col,
                .pack_b_arg = &src,
                .b = { x, g->in_size, 1 },
                .c = a->y + (b * g->out_c + gi * rows) * g->out_size,
                .ldc = g->out_size,
                .row_bias = a->bias ? a->bias + gi * rows : NULL,
            };
            residual_pass rp = { ga.c, a->res ? a->res + (ga.c - a->y) : NULL,
                                 a->st && a->st->act.kind != LG_ACT_NONE ? &a->st->act : NULL };
            if (a->res) {
                ga.post = post_residual;
                ga.post_arg = &rp;
            } else {
                gemm_activation(a->st, &ga);
            }
            LG_CHECK(lg_sgemm(c->pool, &ga));
        }
    }
    return LG_OK;
}

static int conv_f32(lg_kctx *c, const conv_f32_args *a)
{
    if (lg_conv_depthwise_applies(a->g)) {
        lg_conv_dw_args d = { a->g, a->x, a->w, a->bias, a->y, NULL, a->res };
        if (a->st && a->st->act.kind != LG_ACT_NONE) d.act = &a->st->act;
        return lg_conv_depthwise_f32(c->pool, &d);
    }
    if (a->st && a->st->wino && lg_conv_wino_worth(a->st->wino, a->g))
        return lg_conv_wino_f32(c->pool, a->st->wino, a->g, a->x, a->bias, a->res,
                                a->st->act.kind != LG_ACT_NONE ? &a->st->act : NULL, a->y);
    return conv_gemm_f32(c, a);
}

/* ---- other float types: through float32 copies -------------------------------------- */

/* A float32 copy of t (NULL t gives NULL); *out is lg_free'd by the caller. */
static int to_f32(const lg_tensor *t, float **out)
{
    *out = NULL;
    if (!t) return LG_OK;
    int64_t n = lg_tensor_numel_(t);
    *out = lg_alloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!*out) return lg_error(LG_E_NOMEM, "out of memory converting %lld elements to float", (long long)n);
    for (int64_t i = 0; i < n; i++) (*out)[i] = (float)lg_tensor_get_f64(t, i);
    return LG_OK;
}

static void from_f32(const float *src, lg_tensor *t)
{
    for (int64_t i = 0, n = lg_tensor_numel_(t); i < n; i++) lg_tensor_set_f64(t, i, src[i]);
}

static bool conv_dtype_ok(lg_dtype dt)
{
    return dt == LG_FLOAT || dt == LG_FLOAT16 || dt == LG_BFLOAT16 || dt == LG_DOUBLE;
}

/* Runs fn on float32 views of inputs 0..2 and output 0, converting when needed. */
typedef int (*f32_body)(lg_kctx *c, const float *x, const float *w, const float *b, float *y, void *arg);

static int with_f32(lg_kctx *c, f32_body fn, void *arg)
{
    const lg_tensor *x = c->inputs[0], *w = c->inputs[1], *b = lg_kin(c, 2);
    lg_tensor *y = c->outputs[0];
    if (x->dtype == LG_FLOAT)
        return fn(c, x->data, w->data, b ? b->data : NULL, y->data, arg);
    float *xf, *wf = NULL, *bf = NULL, *yf = NULL;
    int rc = to_f32(x, &xf);
    if (rc == LG_OK) rc = to_f32(w, &wf);
    if (rc == LG_OK) rc = to_f32(b, &bf);
    if (rc == LG_OK) {
        int64_t n = lg_tensor_numel_(y);
        yf = lg_calloc((size_t)(n > 0 ? n : 1) * sizeof(float));
        if (!yf) rc = lg_error(LG_E_NOMEM, "out of memory for a float32 output of %lld elements", (long long)n);
    }
    if (rc == LG_OK) rc = fn(c, xf, wf, bf, yf, arg);
    if (rc == LG_OK) from_f32(yf, y);
    lg_free(xf);
    lg_free(wf);
    lg_free(bf);
    lg_free(yf);
    return rc;
}

/* ---- Conv -------------------------------------------------------------------------- */

static int check_bias(const lg_tensor *b, int64_t m)
{
    if (b && (b->ndim != 1 || b->dims[0] != m))
        return lg_error(LG_E_SHAPE, "bias must be [%lld]", (long long)m);
    return LG_OK;
}

static int check_types(const lg_kctx *c, int n)
{
    lg_dtype dt = c->inputs[0]->dtype;
    if (!conv_dtype_ok(dt)) return lg_error(LG_E_UNSUPPORTED, "%s input", lg_dtype_name(dt));
    for (int i = 1; i < n; i++) {
        const lg_tensor *t = lg_kin(c, i);
        if (t && t->dtype != dt)
            return lg_error(LG_E_SHAPE, "input %d is %s, input 0 is %s", i, lg_dtype_name(t->dtype), lg_dtype_name(dt));
    }
    return LG_OK;
}

static int conv_infer(lg_kctx *c)
{
    const lg_tensor *x = lg_kin(c, 0), *w = lg_kin(c, 1);
    if (!x || !w) return lg_error(LG_E_INVALID_MODEL, "Conv needs X and W");
    LG_CHECK(check_types(c, 3));
    lg_conv_geom g;
    LG_CHECK(lg_conv_geometry(c->node, x, w, &g));
    LG_CHECK(check_bias(lg_kin(c, 2), g.out_c));
    int64_t dims[2 + LG_CONV_MAX_SPATIAL];
    lg_conv_out_dims(&g, dims);
    return lg_kout_shape(c, 0, x->dtype, 2 + g.nd, dims);
}

static int conv_body(lg_kctx *c, const float *x, const float *w, const float *b, float *y, void *arg)
{
    const conv_state *st = c->state;
    conv_f32_args a = { arg, x, w, b, y, st, NULL };
    if (st && st->residual) {
        const lg_tensor *r = lg_kin(c, 3);
        const lg_tensor *out = c->outputs[0];
        if (!r || !r->data || r->dtype != LG_FLOAT || out->dtype != LG_FLOAT || lg_tensor_numel_(r) != lg_tensor_numel_(out))
            return lg_error(LG_E_RUNTIME, "fused residual: input 3 must be a float32 tensor of the output's size");
        a.res = r->data;
    }
    return conv_f32(c, &a);
}

static int conv_exec(lg_kctx *c)
{
    lg_conv_geom g;
    LG_CHECK(lg_conv_geometry(c->node, c->inputs[0], c->inputs[1], &g));
    if (!c->outputs[0] || lg_tensor_numel_(c->outputs[0]) == 0) return LG_OK;
    return with_f32(c, conv_body, &g);
}

/* ---- ConvTranspose ------------------------------------------------------------------ */

/* ConvTranspose as the adjoint convolution g: g.in is the output image, g.out the input
 * image, g.in_c the output channels, g.out_c the input channels. */
static int convt_geometry(const lg_node *n, const lg_tensor *x, const lg_tensor *w, lg_conv_geom *g)
{
    LG_CHECK(geom_ranks(x, w, g));
    int nd = g->nd;
    g->group = lg_attr_int(n, "group", 1);
    g->out_c = x->dims[1];
    if (g->group < 1 || w->dims[0] != g->out_c || g->out_c % g->group != 0)
        return lg_error(LG_E_SHAPE, "weight [%lld, %lld, ...] and group %lld do not fit %lld input channels",
                        (long long)w->dims[0], (long long)w->dims[1], (long long)g->group, (long long)g->out_c);
    g->in_c = w->dims[1] * g->group;
    auto_pad mode;
    int64_t pad_end[LG_CONV_MAX_SPATIAL], out_pad[LG_CONV_MAX_SPATIAL];
    LG_CHECK(parse_auto_pad(n, &mode));
    LG_CHECK(kernel_attr(n, w, nd, g->kernel));
    LG_CHECK(spatial_attr(n, "strides", nd, 1, 1, g->stride));
    LG_CHECK(spatial_attr(n, "dilations", nd, 1, 1, g->dil));
    LG_CHECK(spatial_attr(n, "output_padding", nd, 0, 0, out_pad));
    LG_CHECK(pads_attr(n, nd, g->pad, pad_end));
    int n_shape = 0;
    const int64_t *shape = lg_attr_ints(n, "output_shape", &n_shape);
    if (shape && n_shape != nd && n_shape != nd + 2)
        return lg_error(LG_E_INVALID_MODEL, "output_shape has %d values, expected %d", n_shape, nd);
    for (int i = 0; i < nd; i++) {
        int64_t in = x->dims[2 + i], span = (g->kernel[i] - 1) * g->dil[i] + 1;
        int64_t full = g->stride[i] * (in - 1) + out_pad[i] + span;
        g->out[i] = in;
        if (shape || mode == PAD_SAME_UPPER || mode == PAD_SAME_LOWER) {
            int64_t want = shape ? shape[n_shape - nd + i] : in * g->stride[i];
            int64_t total = full - want, half = total >= 0 ? total / 2 : -((-total + 1) / 2); /* floor */
            g->pad[i] = mode == PAD_SAME_UPPER ? half : total - half;
            g->in[i] = want;
        } else {
            if (mode == PAD_VALID) g->pad[i] = pad_end[i] = 0;
            g->in[i] = full - g->pad[i] - pad_end[i];
        }
        if (g->in[i] < 0 || g->in[i] > ((int64_t)1 << 40))
            return lg_error(LG_E_SHAPE, "spatial dim %d: output size %lld is invalid", i, (long long)g->in[i]);
    }
    return geom_sizes(g);
}

static int convt_infer(lg_kctx *c)
{
    const lg_tensor *x = lg_kin(c, 0), *w = lg_kin(c, 1);
    if (!x || !w) return lg_error(LG_E_INVALID_MODEL, "ConvTranspose needs X and W");
    LG_CHECK(check_types(c, 3));
    lg_conv_geom g;
    LG_CHECK(convt_geometry(c->node, x, w, &g));
    LG_CHECK(check_bias(lg_kin(c, 2), g.in_c));
    int64_t dims[2 + LG_CONV_MAX_SPATIAL] = { g.batch, g.in_c };
    for (int i = 0; i < g.nd; i++) dims[2 + i] = g.in[i];
    return lg_kout_shape(c, 0, x->dtype, 2 + g.nd, dims);
}

/* Columns of col per chunk: about 1M floats of scratch, whole NR panels. */
static int64_t convt_chunk(int64_t rows)
{
    int64_t n = ((int64_t)1 << 20) / (rows > 0 ? rows : 1);
    n = n / LG_SGEMM_NR * LG_SGEMM_NR;
    return n < LG_SGEMM_NR ? LG_SGEMM_NR : n;
}

/* One group of one image: col = W_g^T x_g in column chunks, each scattered into y_g. */
static int convt_group(lg_kctx *c, const lg_conv_geom *g, const float *x, const float *w, float *y, float *col,
                       int64_t *idx, int64_t chunk)
{
    int64_t cin = g->out_c / g->group, rows = g->in_c / g->group * g->kernel_size;
    for (int64_t j0 = 0; j0 < g->out_size; j0 += chunk) {
        int64_t nj = g->out_size - j0 < chunk ? g->out_size - j0 : chunk;
        lg_sgemm_args ga = { .M = rows, .N = nj, .K = cin, .alpha = 1, .a = { w, 1, rows },
                             .b = { x + j0, g->out_size, 1 }, .c = col, .ldc = nj };
        LG_CHECK(lg_sgemm(c->pool, &ga));
        for (int64_t k = 0; k < rows; k++) {
            lg_conv_im2col_index(g, k, j0, nj, idx);
            for (int64_t j = 0; j < nj; j++)
                if (idx[j] >= 0) y[idx[j]] += col[k * nj + j];
        }
    }
    return LG_OK;
}

static int convt_body(lg_kctx *c, const float *x, const float *w, const float *b, float *y, void *arg)
{
    const lg_conv_geom *g = arg;
    int64_t cout = g->in_c / g->group, cin = g->out_c / g->group, rows = cout * g->kernel_size;
    int64_t chunk = convt_chunk(rows);
    if (chunk > g->out_size) chunk = g->out_size;
    float *col = lg_alloc((size_t)(rows * chunk) * sizeof(float) + 64);
    int64_t *idx = lg_alloc((size_t)chunk * sizeof(int64_t) + 64);
    int rc = (col && idx) ? LG_OK : lg_error(LG_E_NOMEM, "out of memory for ConvTranspose scratch");
    for (int64_t n = 0; rc == LG_OK && n < g->batch; n++)
        for (int64_t gi = 0; rc == LG_OK && gi < g->group; gi++)
            rc = convt_group(c, g, x + (n * g->out_c + gi * cin) * g->out_size, w + gi * cin * rows,
                             y + (n * g->in_c + gi * cout) * g->in_size, col, idx, chunk);
    for (int64_t n = 0; rc == LG_OK && b && n < g->batch; n++)
        for (int64_t m = 0; m < g->in_c; m++) {
            float *yc = y + (n * g->in_c + m) * g->in_size;
            for (int64_t i = 0; i < g->in_size; i++) yc[i] += b[m];
        }
    lg_free(col);
    lg_free(idx);
    return rc;
}

static int convt_exec(lg_kctx *c)
{
    lg_conv_geom g;
    LG_CHECK(convt_geometry(c->node, c->inputs[0], c->inputs[1], &g));
    if (!c->outputs[0] || lg_tensor_numel_(c->outputs[0]) == 0) return LG_OK;
    return with_f32(c, convt_body, &g);
}

const lg_op_def lg_ops_conv[] = {
    { "Conv", "", 1, 27, conv_infer, conv_exec, conv_prepare, conv_release, lg_conv_set_activation, lg_conv_set_residual, true },
    { "ConvTranspose", "", 1, 27, convt_infer, convt_exec, NULL, NULL },
    { NULL }
};
