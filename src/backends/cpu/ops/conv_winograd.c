/*
 * conv_winograd.c: Winograd F(4x4, 3x3) convolution (see conv_winograd.h).
 *
 * With the transforms of Lavin & Gray (points 0, +-1, +-2, +-1/2):
 *   U = G g G^T       per (out, in) channel pair, 6x6, at prepare (36 packed [out_c, in_c]
 *                     GEMM operands, one per element xi of the 6x6 block);
 *   V = B^T d B       per input channel and 6x6 input tile d (tiles overlap by 2);
 *   M[xi] = U[xi] V[xi]  36 GEMMs of [out_c, in_c] x [in_c, tiles];
 *   Y = A^T m A       per output channel and tile: the 4x4 outputs, then bias and the
 *                     fused activation.
 * Per image, the input transform is split over input channels, the 36 GEMMs over the
 * threads, the output transform over output channels.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/gemm.h"
#include "backends/cpu/ops/conv_winograd.h"
#include "base/error.h"

#define T6 36 /* elements of a 6x6 tile */
/* Fewest output tiles (per image) for which the transforms pay. */
#define MIN_TILES 16

struct lg_conv_wino {
    int64_t out_c, in_c;
    lg_sgemm_packed *u[T6]; /* U[xi] as [out_c, in_c] */
};

static const float G[6][3] = {
    { 1.0f / 4, 0, 0 },
    { -1.0f / 6, -1.0f / 6, -1.0f / 6 },
    { -1.0f / 6, 1.0f / 6, -1.0f / 6 },
    { 1.0f / 24, 1.0f / 12, 1.0f / 6 },
    { 1.0f / 24, -1.0f / 12, 1.0f / 6 },
    { 0, 0, 1 },
};

/* strides and dilations all 1 (or absent). */
static bool unit_strides(const lg_node *n)
{
    static const char *const ones[] = { "strides", "dilations" };
    for (int a = 0; a < 2; a++) {
        int cnt = 0;
        const int64_t *v = lg_attr_ints(n, ones[a], &cnt);
        for (int i = 0; v && i < cnt; i++)
            if (v[i] != 1) return false;
    }
    return true;
}

bool lg_conv_wino_weights_apply(const lg_node *n, const lg_tensor *w)
{
    const char *env = getenv("LEGACYGPU_WINOGRAD");
    if (!w || w->dtype != LG_FLOAT || w->ndim != 4 || w->dims[2] != 3 || w->dims[3] != 3) return false;
    if (env && !strcmp(env, "0")) return false;
    bool any = env && !strcmp(env, "all");
    if (any && w->dims[0] * w->dims[1] <= 512 * 512) return lg_attr_int(n, "group", 1) == 1 && unit_strides(n);
    if (w->dims[0] * w->dims[1] > LG_CONV_WINO_MAX_WEIGHTS || w->dims[0] < LG_CONV_WINO_MIN_OUT ||
        w->dims[1] < LG_CONV_WINO_MIN_IN)
        return false;
    return lg_attr_int(n, "group", 1) == 1 && unit_strides(n);
}

lg_conv_wino *lg_conv_wino_prepare(const float *w, int64_t out_c, int64_t in_c)
{
    lg_conv_wino *cw = lg_calloc(sizeof(*cw));
    float *u = lg_alloc((size_t)(T6 * out_c * in_c) * sizeof(float));
    if (!cw || !u) {
        lg_free(cw);
        lg_free(u);
        lg_error(LG_E_NOMEM, "out of memory for Winograd weights (%lld x %lld)", (long long)out_c, (long long)in_c);
        return NULL;
    }
    cw->out_c = out_c;
    cw->in_c = in_c;
    /* u[xi][o][i] = (G g G^T)[xi] for g = w[o][i]. */
    for (int64_t o = 0; o < out_c; o++)
        for (int64_t i = 0; i < in_c; i++) {
            const float *g = w + (o * in_c + i) * 9;
            float t[6][3]; /* G g */
            for (int r = 0; r < 6; r++)
                for (int c = 0; c < 3; c++) t[r][c] = G[r][0] * g[c] + G[r][1] * g[3 + c] + G[r][2] * g[6 + c];
            for (int r = 0; r < 6; r++)
                for (int c = 0; c < 6; c++)
                    u[((int64_t)(r * 6 + c) * out_c + o) * in_c + i] = t[r][0] * G[c][0] + t[r][1] * G[c][1] + t[r][2] * G[c][2];
        }
    for (int xi = 0; xi < T6; xi++) {
        cw->u[xi] = lg_sgemm_pack_a(out_c, in_c, (lg_smat){ u + (int64_t)xi * out_c * in_c, in_c, 1 });
        if (!cw->u[xi]) {
            lg_free(u);
            lg_conv_wino_free(cw);
            return NULL;
        }
    }
    lg_free(u);
    return cw;
}

void lg_conv_wino_free(lg_conv_wino *w)
{
    if (!w) return;
    for (int xi = 0; xi < T6; xi++) lg_sgemm_packed_free(w->u[xi]);
    lg_free(w);
}

static int64_t tiles_of(int64_t n) { return (n + 3) / 4; }

bool lg_conv_wino_worth(const lg_conv_wino *w, const lg_conv_geom *g)
{
    if (!w || g->nd != 2 || g->group != 1 || g->in_c != w->in_c || g->out_c != w->out_c) return false;
    if (g->kernel[0] != 3 || g->kernel[1] != 3 || g->stride[0] != 1 || g->stride[1] != 1 || g->dil[0] != 1 ||
        g->dil[1] != 1)
        return false;
    return tiles_of(g->out[0]) * tiles_of(g->out[1]) >= MIN_TILES;
}

/* ---- transforms, L tiles at a time (the lane loops vectorize) -------------------------- */

#define L 8 /* tiles per transform step */

/* V = B^T d B for L 6x6 tiles d[r][c][l]. */
static void input_transform(float d[6][6][L], float v[6][6][L])
{
    float t[6][6][L]; /* B^T d: rows combine */
    for (int c = 0; c < 6; c++)
        for (int l = 0; l < L; l++) {
            float d0 = d[0][c][l], d1 = d[1][c][l], d2 = d[2][c][l], d3 = d[3][c][l], d4 = d[4][c][l], d5 = d[5][c][l];
            t[0][c][l] = 4 * d0 - 5 * d2 + d4;
            t[1][c][l] = -4 * d1 - 4 * d2 + d3 + d4;
            t[2][c][l] = 4 * d1 - 4 * d2 - d3 + d4;
            t[3][c][l] = -2 * d1 - d2 + 2 * d3 + d4;
            t[4][c][l] = 2 * d1 - d2 - 2 * d3 + d4;
            t[5][c][l] = 4 * d1 - 5 * d3 + d5;
        }
    for (int r = 0; r < 6; r++) /* (B^T d) B: columns combine */
        for (int l = 0; l < L; l++) {
            float d0 = t[r][0][l], d1 = t[r][1][l], d2 = t[r][2][l], d3 = t[r][3][l], d4 = t[r][4][l], d5 = t[r][5][l];
            v[r][0][l] = 4 * d0 - 5 * d2 + d4;
            v[r][1][l] = -4 * d1 - 4 * d2 + d3 + d4;
            v[r][2][l] = 4 * d1 - 4 * d2 - d3 + d4;
            v[r][3][l] = -2 * d1 - d2 + 2 * d3 + d4;
            v[r][4][l] = 2 * d1 - d2 - 2 * d3 + d4;
            v[r][5][l] = 4 * d1 - 5 * d3 + d5;
        }
}

/* Y = A^T m A: the 4x4 outputs of L 6x6 tiles m[r][c][l]. */
static void output_transform(float m[6][6][L], float y[4][4][L])
{
    float t[4][6][L];
    for (int c = 0; c < 6; c++)
        for (int l = 0; l < L; l++) {
            float m0 = m[0][c][l], m1 = m[1][c][l], m2 = m[2][c][l], m3 = m[3][c][l], m4 = m[4][c][l], m5 = m[5][c][l];
            t[0][c][l] = m0 + m1 + m2 + m3 + m4;
            t[1][c][l] = m1 - m2 + 2 * (m3 - m4);
            t[2][c][l] = m1 + m2 + 4 * (m3 + m4);
            t[3][c][l] = m1 - m2 + 8 * (m3 - m4) + m5;
        }
    for (int r = 0; r < 4; r++)
        for (int l = 0; l < L; l++) {
            float m0 = t[r][0][l], m1 = t[r][1][l], m2 = t[r][2][l], m3 = t[r][3][l], m4 = t[r][4][l], m5 = t[r][5][l];
            y[r][0][l] = m0 + m1 + m2 + m3 + m4;
            y[r][1][l] = m1 - m2 + 2 * (m3 - m4);
            y[r][2][l] = m1 + m2 + 4 * (m3 + m4);
            y[r][3][l] = m1 - m2 + 8 * (m3 - m4) + m5;
        }
}

/* ---- one image ------------------------------------------------------------------------- */

typedef struct wino_job {
    const lg_conv_wino *w;
    const lg_conv_geom *g;
    const float *x, *bias;      /* x: this image */
    const float *res;           /* this image's residual, or NULL */
    const lg_act *act;
    float *y;                   /* this image */
    float *v, *m;               /* [36][in_c][tiles], [36][out_c][tiles] */
    int64_t tw, tiles;          /* tiles per row, in all */
    int failed;
} wino_job;

/* The 6x6 input tile t of channel image xc into lane l of d (zeros outside the image). */
static void load_tile(const wino_job *j, const float *xc, int64_t t, float d[6][6][L], int l)
{
    const lg_conv_geom *g = j->g;
    int64_t IH = g->in[0], IW = g->in[1];
    int64_t y0 = (t / j->tw) * 4 - g->pad[0], x0 = (t % j->tw) * 4 - g->pad[1];
    if (y0 >= 0 && x0 >= 0 && y0 + 6 <= IH && x0 + 6 <= IW) {
        for (int r = 0; r < 6; r++)
            for (int q = 0; q < 6; q++) d[r][q][l] = xc[(y0 + r) * IW + x0 + q];
        return;
    }
    for (int r = 0; r < 6; r++) {
        int64_t iy = y0 + r;
        for (int q = 0; q < 6; q++) {
            int64_t ix = x0 + q;
            d[r][q][l] = (iy >= 0 && iy < IH && ix >= 0 && ix < IW) ? xc[iy * IW + ix] : 0.0f;
        }
    }
}

static void input_channels(void *arg, int64_t begin, int64_t end)
{
    const wino_job *j = arg;
    int64_t C = j->g->in_c, T = j->tiles;
    for (int64_t c = begin; c < end; c++) {
        const float *xc = j->x + c * j->g->in_size;
        for (int64_t t0 = 0; t0 < T; t0 += L) {
            int n = T - t0 < L ? (int)(T - t0) : L;
            float d[6][6][L], v[6][6][L];
            for (int l = 0; l < L; l++) load_tile(j, xc, t0 + (l < n ? l : 0), d, l);
            input_transform(d, v);
            for (int xi = 0; xi < T6; xi++)
                memcpy(j->v + ((int64_t)xi * C + c) * T + t0, v[xi / 6][xi % 6], (size_t)n * sizeof(float));
        }
    }
}

static void products(void *arg, int64_t begin, int64_t end)
{
    wino_job *j = arg;
    int64_t T = j->tiles, C = j->g->in_c, M = j->g->out_c;
    for (int64_t xi = begin; xi < end; xi++) {
        lg_sgemm_args ga = { .M = M, .N = T, .K = C, .alpha = 1, .pa = j->w->u[xi],
                             .b = { j->v + xi * C * T, T, 1 }, .c = j->m + xi * M * T, .ldc = T };
        if (lg_sgemm(NULL, &ga) != LG_OK) j->failed = 1;
    }
}

static void output_channels(void *arg, int64_t begin, int64_t end)
{
    const wino_job *j = arg;
    const lg_conv_geom *g = j->g;
    int64_t OH = g->out[0], OW = g->out[1], M = g->out_c, T = j->tiles;
    for (int64_t o = begin; o < end; o++) {
        float *yo = j->y + o * g->out_size, b = j->bias ? j->bias[o] : 0.0f;
        const float *ro = j->res ? j->res + o * g->out_size : NULL;
        for (int64_t t0 = 0; t0 < T; t0 += L) {
            int n = T - t0 < L ? (int)(T - t0) : L;
            float m[6][6][L], out[4][4][L];
            for (int xi = 0; xi < T6; xi++) {
                memcpy(m[xi / 6][xi % 6], j->m + ((int64_t)xi * M + o) * T + t0, (size_t)n * sizeof(float));
                for (int l = n; l < L; l++) m[xi / 6][xi % 6][l] = 0;
            }
            output_transform(m, out);
            for (int l = 0; l < n; l++) {
                int64_t t = t0 + l, oy0 = (t / j->tw) * 4, ox0 = (t % j->tw) * 4;
                for (int r = 0; r < 4 && oy0 + r < OH; r++)
                    for (int q = 0; q < 4 && ox0 + q < OW; q++) yo[(oy0 + r) * OW + ox0 + q] = out[r][q][l] + b;
            }
        }
        if (ro) lg_conv_add_rows(yo, ro, g->out_size);
        if (j->act) lg_act_apply(j->act, yo, g->out_size);
    }
}

int lg_conv_wino_f32(lg_threadpool *pool, const lg_conv_wino *w, const lg_conv_geom *g, const float *x,
                     const float *bias, const float *res, const lg_act *act, float *y)
{
    int64_t th = tiles_of(g->out[0]), tw = tiles_of(g->out[1]), T = th * tw;
    size_t vn = (size_t)(T6 * g->in_c * T), mn = (size_t)(T6 * g->out_c * T);
    float *v = lg_alloc(vn * sizeof(float)), *m = lg_alloc(mn * sizeof(float));
    int rc = LG_OK;
    if (!v || !m) rc = lg_error(LG_E_NOMEM, "out of memory for Winograd tiles (%zu floats)", vn + mn);
    for (int64_t n = 0; rc == LG_OK && n < g->batch; n++) {
        wino_job j = { .w = w, .g = g, .x = x + n * g->in_c * g->in_size, .bias = bias, .act = act,
                       .res = res ? res + n * g->out_c * g->out_size : NULL, .y = y + n * g->out_c * g->out_size, .v = v, .m = m, .tw = tw, .tiles = T };
        lg_parallel_for(pool, g->in_c, 1, input_channels, &j);
        lg_parallel_for(pool, T6, 1, products, &j);
        if (j.failed) rc = lg_error(LG_E_NOMEM, "out of memory for the Winograd products' pack buffers");
        else lg_parallel_for(pool, g->out_c, 1, output_channels, &j);
    }
    lg_free(v);
    lg_free(m);
    return rc;
}
