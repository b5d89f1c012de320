/*
 * quant.c: the quantization operators on the CPU: QuantizeLinear, DequantizeLinear (10-18;
 * later versions in quant_linear.c),
 * DynamicQuantizeLinear, and the integer products ConvInteger, MatMulInteger,
 * QLinearConv, QLinearMatMul.
 *
 * Quantized values are uint8 or int8 with a float scale and a zero point, per tensor or
 * (QuantizeLinear/DequantizeLinear from opset 13, weights of QLinearConv/ConvInteger,
 * rows/columns of the matmuls) per channel. The integer products subtract the zero
 * points, multiply in int32 (exact, im2col through conv.h's indices for convolutions)
 * and requantize: y = saturate(rint(acc * in_scale * w_scale / y_scale) + y_zero_point),
 * rint rounding half to even, as ONNX specifies.
 */
#include <math.h>
#include <string.h>

#include "backends/cpu/gemm.h"
#include "backends/cpu/ops/conv.h"
#include "runtime/kernel.h"

/* ---- element access ----------------------------------------------------------------- */

static bool is_q8(lg_dtype dt) { return dt == LG_UINT8 || dt == LG_INT8; }

/* Element i of an integer tensor (uint8, int8, int32) as int32; t NULL reads 0. */
static int32_t int_at(const lg_tensor *t, int64_t i)
{
    if (!t) return 0;
    switch (t->dtype) {
    case LG_UINT8: return ((const uint8_t *)t->data)[i];
    case LG_INT8: return ((const int8_t *)t->data)[i];
    default: return ((const int32_t *)t->data)[i];
    }
}

/* Saturating store of a rounded value into a uint8/int8 tensor. */
static void q8_store(lg_tensor *t, int64_t i, float v)
{
    float lo = t->dtype == LG_UINT8 ? 0.0f : -128.0f, hi = t->dtype == LG_UINT8 ? 255.0f : 127.0f;
    if (!(v >= lo)) v = lo; /* NaN saturates low */
    if (v > hi) v = hi;
    if (t->dtype == LG_UINT8) ((uint8_t *)t->data)[i] = (uint8_t)v;
    else ((int8_t *)t->data)[i] = (int8_t)v;
}

/* A scale or zero point: a scalar (or 1 element) applies everywhere; a 1-D tensor of n
 * applies along one axis. LG_E_SHAPE otherwise. */
static int per_axis_ok(const lg_tensor *t, int64_t n, const char *what)
{
    if (!t) return LG_OK;
    int64_t cnt = lg_tensor_numel_(t);
    if (cnt == 1 && t->ndim <= 1) return LG_OK;
    if (t->ndim == 1 && cnt == n) return LG_OK;
    return lg_error(LG_E_SHAPE, "%s must be a scalar or 1-D of %lld (got %lld elements, rank %d)", what, (long long)n,
                    (long long)cnt, t->ndim);
}

/* Index into a per-axis parameter for channel ch. */
static int64_t param_index(const lg_tensor *t, int64_t ch) { return lg_tensor_numel_(t) == 1 ? 0 : ch; }

static float scale_at(const lg_tensor *t, int64_t ch) { return (float)lg_tensor_get_f64(t, param_index(t, ch)); }

/* Scales are float; QLinearMatMul 21 also takes float16 and bfloat16. */
static bool scale_type_ok(const lg_tensor *t, bool halves)
{
    return t->dtype == LG_FLOAT || (halves && (t->dtype == LG_FLOAT16 || t->dtype == LG_BFLOAT16));
}

static int32_t zp_at(const lg_tensor *t, int64_t ch) { return t ? int_at(t, param_index(t, ch)) : 0; }

/* ---- QuantizeLinear / DequantizeLinear ------------------------------------------------ */

/* Axis layout of x for per-axis parameters: channel of element i is (i / inner) % n. */
typedef struct axis_layout {
    int64_t n, inner;
} axis_layout;

static int axis_layout_of(const lg_kctx *c, const lg_tensor *x, const lg_tensor *scale, axis_layout *l)
{
    l->n = 1;
    l->inner = 1;
    if (lg_tensor_numel_(scale) == 1 && scale->ndim <= 1) return LG_OK;
    if (c->opset < 13) return lg_error(LG_E_SHAPE, "scale must be a scalar before opset 13");
    int axis;
    LG_CHECK(lg_norm_axis(lg_attr_int(c->node, "axis", 1), x->ndim, &axis));
    l->n = x->dims[axis];
    for (int i = axis + 1; i < x->ndim; i++) l->inner *= x->dims[i];
    return LG_OK;
}

static int quantize_check(const lg_kctx *c, axis_layout *l)
{
    const lg_tensor *x = lg_kin(c, 0), *s = lg_kin(c, 1), *zp = lg_kin(c, 2);
    if (!x || !s) return lg_error(LG_E_INVALID_MODEL, "QuantizeLinear needs x and y_scale");
    if (x->dtype != LG_FLOAT && x->dtype != LG_INT32)
        return lg_error(LG_E_UNSUPPORTED, "QuantizeLinear of %s", lg_dtype_name(x->dtype));
    if (s->dtype != LG_FLOAT) return lg_error(LG_E_UNSUPPORTED, "y_scale of %s", lg_dtype_name(s->dtype));
    if (zp && !is_q8(zp->dtype)) return lg_error(LG_E_UNSUPPORTED, "y_zero_point of %s", lg_dtype_name(zp->dtype));
    LG_CHECK(axis_layout_of(c, x, s, l));
    LG_CHECK(per_axis_ok(s, l->n, "y_scale"));
    return per_axis_ok(zp, l->n, "y_zero_point");
}

static int quantize_infer(lg_kctx *c)
{
    axis_layout l;
    LG_CHECK(quantize_check(c, &l));
    const lg_tensor *x = c->inputs[0], *zp = lg_kin(c, 2);
    return lg_kout_shape(c, 0, zp ? zp->dtype : LG_UINT8, x->ndim, x->dims);
}

static int quantize_exec(lg_kctx *c)
{
    axis_layout l;
    LG_CHECK(quantize_check(c, &l));
    const lg_tensor *x = c->inputs[0], *s = c->inputs[1], *zp = lg_kin(c, 2);
    lg_tensor *y = c->outputs[0];
    if (!y) return LG_OK;
    for (int64_t i = 0, n = lg_tensor_numel_(x); i < n; i++) {
        int64_t ch = (i / l.inner) % l.n;
        float v = x->dtype == LG_FLOAT ? ((const float *)x->data)[i] : (float)((const int32_t *)x->data)[i];
        q8_store(y, i, rintf(v / scale_at(s, ch)) + (float)zp_at(zp, ch));
    }
    return LG_OK;
}

static int dequantize_check(const lg_kctx *c, axis_layout *l)
{
    const lg_tensor *x = lg_kin(c, 0), *s = lg_kin(c, 1), *zp = lg_kin(c, 2);
    if (!x || !s) return lg_error(LG_E_INVALID_MODEL, "DequantizeLinear needs x and x_scale");
    if (!is_q8(x->dtype) && x->dtype != LG_INT32)
        return lg_error(LG_E_UNSUPPORTED, "DequantizeLinear of %s", lg_dtype_name(x->dtype));
    if (s->dtype != LG_FLOAT) return lg_error(LG_E_UNSUPPORTED, "x_scale of %s", lg_dtype_name(s->dtype));
    if (zp && zp->dtype != x->dtype)
        return lg_error(LG_E_SHAPE, "x_zero_point is %s, x is %s", lg_dtype_name(zp->dtype), lg_dtype_name(x->dtype));
    LG_CHECK(axis_layout_of(c, x, s, l));
    LG_CHECK(per_axis_ok(s, l->n, "x_scale"));
    return per_axis_ok(zp, l->n, "x_zero_point");
}

static int dequantize_infer(lg_kctx *c)
{
    axis_layout l;
    LG_CHECK(dequantize_check(c, &l));
    return lg_kout_shape(c, 0, LG_FLOAT, c->inputs[0]->ndim, c->inputs[0]->dims);
}

static int dequantize_exec(lg_kctx *c)
{
    axis_layout l;
    LG_CHECK(dequantize_check(c, &l));
    const lg_tensor *x = c->inputs[0], *s = c->inputs[1], *zp = lg_kin(c, 2);
    if (!c->outputs[0]) return LG_OK;
    float *y = c->outputs[0]->data;
    for (int64_t i = 0, n = lg_tensor_numel_(x); i < n; i++) {
        int64_t ch = (i / l.inner) % l.n;
        y[i] = (float)((int64_t)int_at(x, i) - zp_at(zp, ch)) * scale_at(s, ch);
    }
    return LG_OK;
}

/* ---- DynamicQuantizeLinear ---------------------------------------------------------- */

static int dynq_infer(lg_kctx *c)
{
    const lg_tensor *x = lg_kin(c, 0);
    if (!x) return lg_error(LG_E_INVALID_MODEL, "DynamicQuantizeLinear needs x");
    if (x->dtype != LG_FLOAT) return lg_error(LG_E_UNSUPPORTED, "DynamicQuantizeLinear of %s", lg_dtype_name(x->dtype));
    LG_CHECK(lg_kout_shape(c, 0, LG_UINT8, x->ndim, x->dims));
    LG_CHECK(lg_kout_shape(c, 1, LG_FLOAT, 0, NULL));
    return lg_kout_shape(c, 2, LG_UINT8, 0, NULL);
}

/* Range always includes 0; scale = range / 255; zero point = rint(-min / scale). */
static int dynq_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    const float *xv = x->data;
    int64_t n = lg_tensor_numel_(x);
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < n; i++) {
        if (xv[i] < lo) lo = xv[i];
        if (xv[i] > hi) hi = xv[i];
    }
    float scale = (hi - lo) / 255.0f, zpf = 0;
    if (scale > 0) {
        zpf = rintf(-lo / scale);
        zpf = zpf < 0 ? 0 : (zpf > 255 ? 255 : zpf);
    }
    if (c->outputs[0])
        for (int64_t i = 0; i < n; i++) q8_store(c->outputs[0], i, scale > 0 ? rintf(xv[i] / scale) + zpf : 0);
    if (c->n_outputs > 1 && c->outputs[1]) *(float *)c->outputs[1]->data = scale;
    if (c->n_outputs > 2 && c->outputs[2]) *(uint8_t *)c->outputs[2]->data = (uint8_t)zpf;
    return LG_OK;
}

/* ---- int32 products ----------------------------------------------------------------- */

/* c[M,N] = a[M,K] * b[K,N] (b row stride ldb), wrapping int32 arithmetic. */
static void igemm(int64_t M, int64_t N, int64_t K, const int32_t *a, const int32_t *b, int64_t ldb, int32_t *c)
{
    for (int64_t i = 0; i < M; i++) {
        uint32_t *ci = (uint32_t *)(c + i * N);
        memset(ci, 0, (size_t)N * sizeof(*ci));
        for (int64_t k = 0; k < K; k++) {
            uint32_t av = (uint32_t)a[i * K + k];
            if (av == 0) continue;
            const int32_t *bk = b + k * ldb;
            for (int64_t j = 0; j < N; j++) ci[j] += av * (uint32_t)bk[j];
        }
    }
}

/* Requantization: y = saturate(rint(acc * scale) + zp) into a uint8/int8 tensor. */
static void requantize(lg_tensor *y, int64_t i, int32_t acc, float scale, int32_t zp)
{
    q8_store(y, i, rintf((float)acc * scale) + (float)zp);
}

/* ---- ConvInteger and QLinearConv ---------------------------------------------------- */

/* The operands of an integer convolution, by role (input positions differ per op). */
typedef struct qconv {
    const lg_tensor *x, *x_zp, *w, *w_zp, *bias;
    lg_conv_geom g;
} qconv;

static int qconv_check(const lg_kctx *c, qconv *q)
{
    if (!q->x || !q->w) return lg_error(LG_E_INVALID_MODEL, "x and w are required");
    if (!is_q8(q->x->dtype) || !is_q8(q->w->dtype))
        return lg_error(LG_E_UNSUPPORTED, "integer convolution of %s and %s", lg_dtype_name(q->x->dtype),
                        lg_dtype_name(q->w->dtype));
    if (q->x_zp && (q->x_zp->dtype != q->x->dtype || lg_tensor_numel_(q->x_zp) != 1))
        return lg_error(LG_E_SHAPE, "x_zero_point must be one %s", lg_dtype_name(q->x->dtype));
    if (q->w_zp && q->w_zp->dtype != q->w->dtype)
        return lg_error(LG_E_SHAPE, "w_zero_point must be %s", lg_dtype_name(q->w->dtype));
    LG_CHECK(lg_conv_geometry(c->node, q->x, q->w, &q->g));
    LG_CHECK(per_axis_ok(q->w_zp, q->g.out_c, "w_zero_point"));
    if (q->bias && (q->bias->dtype != LG_INT32 || q->bias->ndim != 1 || q->bias->dims[0] != q->g.out_c))
        return lg_error(LG_E_SHAPE, "bias must be int32 [%lld]", (long long)q->g.out_c);
    return LG_OK;
}

/* acc [N, M, out...] = conv(x - x_zp, w - w_zp) + bias, column chunk by column chunk. */
static int qconv_accumulate(const qconv *q, int32_t *acc)
{
    const lg_conv_geom *g = &q->g;
    int64_t rows = g->out_c / g->group, cin = g->in_c / g->group, K = cin * g->kernel_size;
    int64_t chunk = ((int64_t)1 << 18) / (K > 0 ? K : 1);
    if (chunk < 1) chunk = 1;
    if (chunk > g->out_size) chunk = g->out_size;
    int32_t *wq = lg_alloc((size_t)(g->out_c * K) * sizeof(int32_t) + 64);
    int32_t *col = lg_alloc((size_t)(K * chunk) * sizeof(int32_t) + 64);
    int32_t *part = lg_alloc((size_t)(rows * chunk) * sizeof(int32_t) + 64);
    int64_t *idx = lg_alloc((size_t)chunk * sizeof(int64_t) + 64);
    int rc = (wq && col && part && idx) ? LG_OK : lg_error(LG_E_NOMEM, "out of memory for integer convolution");
    int32_t xzp = zp_at(q->x_zp, 0);
    for (int64_t m = 0; rc == LG_OK && m < g->out_c; m++)
        for (int64_t k = 0; k < K; k++) wq[m * K + k] = int_at(q->w, m * K + k) - zp_at(q->w_zp, m);
    for (int64_t n = 0; rc == LG_OK && n < g->batch; n++)
        for (int64_t gi = 0; gi < g->group; gi++) {
            int64_t xbase = (n * g->in_c + gi * cin) * g->in_size;
            for (int64_t j0 = 0; j0 < g->out_size; j0 += chunk) {
                int64_t nj = g->out_size - j0 < chunk ? g->out_size - j0 : chunk;
                for (int64_t k = 0; k < K; k++) {
                    lg_conv_im2col_index(g, k, j0, nj, idx);
                    for (int64_t j = 0; j < nj; j++)
                        col[k * nj + j] = idx[j] < 0 ? 0 : int_at(q->x, xbase + idx[j]) - xzp;
                }
                igemm(rows, nj, K, wq + gi * rows * K, col, nj, part);
                for (int64_t m = 0; m < rows; m++) {
                    int64_t oc = gi * rows + m;
                    int32_t b = q->bias ? ((const int32_t *)q->bias->data)[oc] : 0;
                    int32_t *dst = acc + (n * g->out_c + oc) * g->out_size + j0;
                    for (int64_t j = 0; j < nj; j++) dst[j] = (int32_t)((uint32_t)part[m * nj + j] + (uint32_t)b);
                }
            }
        }
    lg_free(wq);
    lg_free(col);
    lg_free(part);
    lg_free(idx);
    return rc;
}

static qconv convinteger_operands(const lg_kctx *c)
{
    return (qconv){ .x = lg_kin(c, 0), .w = lg_kin(c, 1), .x_zp = lg_kin(c, 2), .w_zp = lg_kin(c, 3) };
}

static int convinteger_infer(lg_kctx *c)
{
    qconv q = convinteger_operands(c);
    LG_CHECK(qconv_check(c, &q));
    int64_t dims[2 + LG_CONV_MAX_SPATIAL];
    lg_conv_out_dims(&q.g, dims);
    return lg_kout_shape(c, 0, LG_INT32, 2 + q.g.nd, dims);
}

static int convinteger_exec(lg_kctx *c)
{
    qconv q = convinteger_operands(c);
    LG_CHECK(qconv_check(c, &q));
    if (!c->outputs[0] || lg_tensor_numel_(c->outputs[0]) == 0) return LG_OK;
    return qconv_accumulate(&q, c->outputs[0]->data);
}

/* QLinearConv: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B. */
static int qlinearconv_check(const lg_kctx *c, qconv *q)
{
    *q = (qconv){ .x = lg_kin(c, 0), .x_zp = lg_kin(c, 2), .w = lg_kin(c, 3), .w_zp = lg_kin(c, 5),
                  .bias = lg_kin(c, 8) };
    const lg_tensor *xs = lg_kin(c, 1), *ws = lg_kin(c, 4), *ys = lg_kin(c, 6), *yzp = lg_kin(c, 7);
    if (!xs || !ws || !ys) return lg_error(LG_E_INVALID_MODEL, "QLinearConv needs x_scale, w_scale and y_scale");
    LG_CHECK(qconv_check(c, q));
    if (xs->dtype != LG_FLOAT || ws->dtype != LG_FLOAT || ys->dtype != LG_FLOAT)
        return lg_error(LG_E_UNSUPPORTED, "QLinearConv scales must be float");
    if (yzp && (yzp->dtype != q->x->dtype || lg_tensor_numel_(yzp) != 1))
        return lg_error(LG_E_SHAPE, "y_zero_point must be one %s", lg_dtype_name(q->x->dtype));
    LG_CHECK(per_axis_ok(xs, 1, "x_scale"));
    LG_CHECK(per_axis_ok(ys, 1, "y_scale"));
    return per_axis_ok(ws, q->g.out_c, "w_scale");
}

static int qlinearconv_infer(lg_kctx *c)
{
    qconv q;
    LG_CHECK(qlinearconv_check(c, &q));
    int64_t dims[2 + LG_CONV_MAX_SPATIAL];
    lg_conv_out_dims(&q.g, dims);
    const lg_tensor *yzp = lg_kin(c, 7);
    return lg_kout_shape(c, 0, yzp ? yzp->dtype : q.x->dtype, 2 + q.g.nd, dims);
}

static int qlinearconv_exec(lg_kctx *c)
{
    qconv q;
    LG_CHECK(qlinearconv_check(c, &q));
    lg_tensor *y = c->outputs[0];
    int64_t n = y ? lg_tensor_numel_(y) : 0;
    if (n == 0) return LG_OK;
    int32_t *acc = lg_alloc((size_t)n * sizeof(int32_t));
    if (!acc) return lg_error(LG_E_NOMEM, "out of memory for %lld accumulators", (long long)n);
    int rc = qconv_accumulate(&q, acc);
    const lg_tensor *xs = c->inputs[1], *ws = c->inputs[4], *ys = c->inputs[6], *yzp = lg_kin(c, 7);
    int32_t zp = zp_at(yzp, 0);
    for (int64_t i = 0; rc == LG_OK && i < n; i++) {
        int64_t m = (i / q.g.out_size) % q.g.out_c;
        requantize(y, i, acc[i], scale_at(xs, 0) * scale_at(ws, m) / scale_at(ys, 0), zp);
    }
    lg_free(acc);
    return rc;
}

/* ---- MatMulInteger and QLinearMatMul ------------------------------------------------ */

/* The operands of an integer matmul; a zero point (and scale) is per tensor, per row of
 * a (M values) or per column of b (N values). */
typedef struct qmatmul {
    const lg_tensor *a, *a_zp, *b, *b_zp;
    lg_matmul_plan p;
} qmatmul;

static int qmatmul_check(qmatmul *q)
{
    if (!q->a || !q->b) return lg_error(LG_E_INVALID_MODEL, "A and B are required");
    if (!is_q8(q->a->dtype) || !is_q8(q->b->dtype))
        return lg_error(LG_E_UNSUPPORTED, "integer matmul of %s and %s", lg_dtype_name(q->a->dtype),
                        lg_dtype_name(q->b->dtype));
    if ((q->a_zp && q->a_zp->dtype != q->a->dtype) || (q->b_zp && q->b_zp->dtype != q->b->dtype))
        return lg_error(LG_E_SHAPE, "zero points must have the type of their operand");
    LG_CHECK(lg_matmul_plan_make(q->a->ndim, q->a->dims, q->b->ndim, q->b->dims, &q->p));
    LG_CHECK(per_axis_ok(q->a_zp, q->p.M, "a_zero_point"));
    return per_axis_ok(q->b_zp, q->p.N, "b_zero_point");
}

/* acc [batch, M, N] = (a - a_zp) * (b - b_zp). */
static int qmatmul_accumulate(const qmatmul *q, int32_t *acc)
{
    const lg_matmul_plan *p = &q->p;
    int32_t *am = lg_alloc((size_t)(p->M * p->K) * sizeof(int32_t) + 64);
    int32_t *bm = lg_alloc((size_t)(p->K * p->N) * sizeof(int32_t) + 64);
    int rc = (am && bm) ? LG_OK : lg_error(LG_E_NOMEM, "out of memory for integer matmul");
    for (int64_t i = 0; rc == LG_OK && i < p->batch; i++) {
        int64_t ia, ib;
        lg_matmul_plan_operands(p, i, &ia, &ib);
        for (int64_t r = 0; r < p->M; r++)
            for (int64_t k = 0; k < p->K; k++)
                am[r * p->K + k] = int_at(q->a, (ia * p->M + r) * p->K + k) - zp_at(q->a_zp, r);
        for (int64_t k = 0; k < p->K; k++)
            for (int64_t j = 0; j < p->N; j++)
                bm[k * p->N + j] = int_at(q->b, (ib * p->K + k) * p->N + j) - zp_at(q->b_zp, j);
        igemm(p->M, p->N, p->K, am, bm, p->N, acc + i * p->M * p->N);
    }
    lg_free(am);
    lg_free(bm);
    return rc;
}

static qmatmul matmulinteger_operands(const lg_kctx *c)
{
    return (qmatmul){ .a = lg_kin(c, 0), .b = lg_kin(c, 1), .a_zp = lg_kin(c, 2), .b_zp = lg_kin(c, 3) };
}

static int matmulinteger_infer(lg_kctx *c)
{
    qmatmul q = matmulinteger_operands(c);
    LG_CHECK(qmatmul_check(&q));
    return lg_kout_shape(c, 0, LG_INT32, q.p.out_ndim, q.p.out_dims);
}

static int matmulinteger_exec(lg_kctx *c)
{
    qmatmul q = matmulinteger_operands(c);
    LG_CHECK(qmatmul_check(&q));
    if (!c->outputs[0] || lg_tensor_numel_(c->outputs[0]) == 0) return LG_OK;
    return qmatmul_accumulate(&q, c->outputs[0]->data);
}

/* QLinearMatMul: a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp. */
static int qlinearmatmul_check(const lg_kctx *c, qmatmul *q)
{
    *q = (qmatmul){ .a = lg_kin(c, 0), .a_zp = lg_kin(c, 2), .b = lg_kin(c, 3), .b_zp = lg_kin(c, 5) };
    const lg_tensor *as = lg_kin(c, 1), *bs = lg_kin(c, 4), *ys = lg_kin(c, 6), *yzp = lg_kin(c, 7);
    if (!as || !bs || !ys) return lg_error(LG_E_INVALID_MODEL, "QLinearMatMul needs a_scale, b_scale and y_scale");
    LG_CHECK(qmatmul_check(q));
    bool halves = c->opset >= 21;
    if (!scale_type_ok(as, halves) || !scale_type_ok(bs, halves) || !scale_type_ok(ys, halves))
        return lg_error(LG_E_UNSUPPORTED, "QLinearMatMul scales must be float%s", halves ? ", float16 or bfloat16" : "");
    if (yzp && (!is_q8(yzp->dtype) || lg_tensor_numel_(yzp) != 1))
        return lg_error(LG_E_SHAPE, "y_zero_point must be one uint8 or int8");
    LG_CHECK(per_axis_ok(as, q->p.M, "a_scale"));
    LG_CHECK(per_axis_ok(bs, q->p.N, "b_scale"));
    return per_axis_ok(ys, 1, "y_scale");
}

static int qlinearmatmul_infer(lg_kctx *c)
{
    qmatmul q;
    LG_CHECK(qlinearmatmul_check(c, &q));
    const lg_tensor *yzp = lg_kin(c, 7);
    return lg_kout_shape(c, 0, yzp ? yzp->dtype : LG_UINT8, q.p.out_ndim, q.p.out_dims);
}

static int qlinearmatmul_exec(lg_kctx *c)
{
    qmatmul q;
    LG_CHECK(qlinearmatmul_check(c, &q));
    lg_tensor *y = c->outputs[0];
    int64_t n = y ? lg_tensor_numel_(y) : 0;
    if (n == 0) return LG_OK;
    int32_t *acc = lg_alloc((size_t)n * sizeof(int32_t));
    if (!acc) return lg_error(LG_E_NOMEM, "out of memory for %lld accumulators", (long long)n);
    int rc = qmatmul_accumulate(&q, acc);
    const lg_tensor *as = c->inputs[1], *bs = c->inputs[4], *ys = c->inputs[6], *yzp = lg_kin(c, 7);
    int32_t zp = zp_at(yzp, 0);
    for (int64_t i = 0; rc == LG_OK && i < n; i++) {
        int64_t r = (i / q.p.N) % q.p.M, col = i % q.p.N;
        requantize(y, i, acc[i], scale_at(as, r) * scale_at(bs, col) / scale_at(ys, 0), zp);
    }
    lg_free(acc);
    return rc;
}

const lg_op_def lg_ops_quant[] = {
    { "QuantizeLinear", "", 10, 18, quantize_infer, quantize_exec, NULL, NULL },
    { "DequantizeLinear", "", 10, 18, dequantize_infer, dequantize_exec, NULL, NULL },
    { "DynamicQuantizeLinear", "", 11, 27, dynq_infer, dynq_exec, NULL, NULL },
    { "ConvInteger", "", 10, 27, convinteger_infer, convinteger_exec, NULL, NULL },
    { "QLinearConv", "", 10, 27, qlinearconv_infer, qlinearconv_exec, NULL, NULL },
    { "MatMulInteger", "", 10, 27, matmulinteger_infer, matmulinteger_exec, NULL, NULL },
    { "QLinearMatMul", "", 10, 27, qlinearmatmul_infer, qlinearmatmul_exec, NULL, NULL },
    { NULL }
};
