/*
 * linalg.c: Einsum and Det.
 *
 * Einsum parses its equation into labels (letters; the dims under "..." get labels of
 * their own), gives each operand a stride per label (a repeated label adds its strides:
 * a diagonal; a broadcast dim has stride 0) and sums the products over the labels not in
 * the output, for every output element. Values are read as double for float types and
 * as int64 (wrapping like numpy) for integers. Det factors each matrix with partial
 * pivoting in double.
 */
#include <math.h>
#include <stdlib.h>

#include "runtime/kernel.h"

/* ---- Einsum ------------------------------------------------------------------------- */

#define EIN_LETTERS 52
#define EIN_MAX_LABELS (EIN_LETTERS + LG_MAX_DIMS)
#define EIN_MAX_INPUTS 16

typedef struct einsum_plan {
    int n_in;
    int n_labels;                    /* output labels first, then summed ones */
    int n_out;
    int64_t size[EIN_MAX_LABELS];
    int64_t stride[EIN_MAX_INPUTS][EIN_MAX_LABELS];
    int out_ndim;
    int64_t out_dims[LG_MAX_DIMS];
} einsum_plan;

static int letter_id(char ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return 26 + ch - 'a';
    return -1;
}

/* One side of the equation: labels of a term; ellipsis marks where "..." sits (-1: none). */
typedef struct ein_term {
    int n;
    int label[LG_MAX_DIMS + 1];
    int ellipsis;
} ein_term;

/* Parses the term in s[0..len) (spaces already removed). */
static int parse_term(const char *s, size_t len, ein_term *t)
{
    t->n = 0;
    t->ellipsis = -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (t->ellipsis >= 0 || i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.')
                return lg_error(LG_E_INVALID_MODEL, "Einsum: bad ellipsis in term '%.*s'", (int)len, s);
            t->ellipsis = t->n;
            i += 2;
            continue;
        }
        int id = letter_id(s[i]);
        if (id < 0) return lg_error(LG_E_INVALID_MODEL, "Einsum: bad character '%c' in equation", s[i]);
        if (t->n >= LG_MAX_DIMS) return lg_error(LG_E_LIMIT, "Einsum: term '%.*s' too long", (int)len, s);
        t->label[t->n++] = id;
    }
    return LG_OK;
}

static int einsum_plan_make(lg_kctx *c, einsum_plan *p)
{
    const char *eq = lg_attr_string(c->node, "equation", NULL);
    if (!eq) return lg_error(LG_E_INVALID_MODEL, "Einsum without an equation");
    char buf[512];
    size_t len = 0;
    for (const char *q = eq; *q; q++) {
        if (*q == ' ') continue;
        if (len + 1 >= sizeof(buf)) return lg_error(LG_E_LIMIT, "Einsum equation too long");
        buf[len++] = *q;
    }
    buf[len] = 0;
    char *arrow = strstr(buf, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - buf) : len;
    if (c->n_inputs > EIN_MAX_INPUTS) return lg_error(LG_E_LIMIT, "Einsum with %d inputs", c->n_inputs);
    p->n_in = c->n_inputs;

    ein_term terms[EIN_MAX_INPUTS];
    int n_terms = 0, ell_rank = 0;
    int64_t ell_dims[LG_MAX_DIMS];
    for (size_t start = 0; start <= lhs_len; n_terms++) {
        size_t end = start;
        while (end < lhs_len && buf[end] != ',') end++;
        if (n_terms >= p->n_in)
            return lg_error(LG_E_INVALID_MODEL, "Einsum equation '%s' has more terms than the %d inputs", eq, p->n_in);
        LG_CHECK(parse_term(buf + start, end - start, &terms[n_terms]));
        start = end + 1;
    }
    if (n_terms != p->n_in)
        return lg_error(LG_E_INVALID_MODEL, "Einsum equation '%s' has %d terms for %d inputs", eq, n_terms, p->n_in);

    /* Ellipsis dims broadcast together, right-aligned like numpy. */
    for (int k = 0; k < p->n_in; k++) {
        const lg_tensor *x = c->inputs[k];
        if (!x) return lg_error(LG_E_INVALID_MODEL, "Einsum input %d missing", k);
        int er = x->ndim - terms[k].n;
        if (er < 0 || (er > 0 && terms[k].ellipsis < 0))
            return lg_error(LG_E_SHAPE, "Einsum: input %d has rank %d, its term has %d labels", k, x->ndim, terms[k].n);
        int nd;
        int64_t out[LG_MAX_DIMS];
        LG_CHECK(lg_broadcast_shape(ell_rank, ell_dims, er, x->dims + (terms[k].ellipsis >= 0 ? terms[k].ellipsis : 0), &nd, out));
        ell_rank = nd;
        memcpy(ell_dims, out, sizeof(int64_t) * (size_t)nd);
    }

    /* Output labels: explicit, or "..." then the letters seen once, in ASCII order. */
    int count[EIN_LETTERS] = { 0 };
    for (int k = 0; k < p->n_in; k++)
        for (int i = 0; i < terms[k].n; i++) count[terms[k].label[i]]++;
    int order[EIN_MAX_LABELS], n_order = 0;
    bool in_out[EIN_MAX_LABELS] = { false };
    ein_term out_t;
    if (arrow) {
        LG_CHECK(parse_term(arrow + 2, len - lhs_len - 2, &out_t));
    } else {
        out_t.n = 0;
        out_t.ellipsis = 0;
        for (int id = 0; id < EIN_LETTERS; id++) {
            if (count[id] != 1) continue;
            if (out_t.n >= LG_MAX_DIMS) return lg_error(LG_E_LIMIT, "Einsum '%s': output rank over %d", eq, LG_MAX_DIMS);
            out_t.label[out_t.n++] = id;
        }
    }
    for (int i = 0; i <= out_t.n; i++) {
        if (i == out_t.ellipsis)
            for (int e = 0; e < ell_rank; e++) order[n_order++] = EIN_LETTERS + e;
        if (i == out_t.n) break;
        int id = out_t.label[i];
        if (!count[id] || in_out[id])
            return lg_error(LG_E_INVALID_MODEL, "Einsum '%s': output label '%c' repeated or not in any input", eq,
                            id < 26 ? 'A' + id : 'a' + id - 26);
        in_out[id] = true;
        order[n_order++] = id;
    }
    if (out_t.ellipsis >= 0)
        for (int e = 0; e < ell_rank; e++) in_out[EIN_LETTERS + e] = true;
    p->n_out = n_order;
    if (p->n_out > LG_MAX_DIMS) return lg_error(LG_E_LIMIT, "Einsum output rank %d", p->n_out);
    for (int id = 0; id < EIN_LETTERS; id++)
        if (count[id] && !in_out[id]) order[n_order++] = id;
    for (int e = 0; e < ell_rank; e++)
        if (!in_out[EIN_LETTERS + e]) order[n_order++] = EIN_LETTERS + e;
    p->n_labels = n_order;

    /* Sizes and strides per label, in plan order. */
    int slot[EIN_MAX_LABELS];
    for (int i = 0; i < n_order; i++) {
        slot[order[i]] = i;
        p->size[i] = order[i] >= EIN_LETTERS ? ell_dims[order[i] - EIN_LETTERS] : 1;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < p->n_in; k++) {
            const lg_tensor *x = c->inputs[k];
            int64_t st[LG_MAX_DIMS];
            lg_strides(x->ndim, x->dims, st);
            if (pass == 1) memset(p->stride[k], 0, sizeof(p->stride[k]));
            int er = x->ndim - terms[k].n, pos = terms[k].ellipsis >= 0 ? terms[k].ellipsis : terms[k].n;
            for (int d = 0; d < x->ndim; d++) {
                int id;
                if (d < pos) id = terms[k].label[d];
                else if (d < pos + er) id = EIN_LETTERS + (ell_rank - er) + (d - pos);
                else id = terms[k].label[d - er];
                int s = slot[id];
                if (pass == 1) {
                    if (x->dims[d] == p->size[s]) p->stride[k][s] += st[d];
                } else if (p->size[s] == 1) {
                    p->size[s] = x->dims[d];
                } else if (x->dims[d] != 1 && x->dims[d] != p->size[s]) {
                    return lg_error(LG_E_SHAPE, "Einsum '%s': label '%c' has sizes %lld and %lld", eq,
                                    id < 26 ? 'A' + id : id < EIN_LETTERS ? 'a' + id - 26 : '.',
                                    (long long)p->size[s], (long long)x->dims[d]);
                }
            }
        }
    }
    p->out_ndim = p->n_out;
    for (int i = 0; i < p->n_out; i++) p->out_dims[i] = p->size[i];
    return LG_OK;
}

static bool einsum_dtype(lg_dtype dt)
{
    return lg_dtype_is_float(dt) || lg_dtype_is_int(dt);
}

/* Checks the inputs' dtypes and makes the plan. */
static int einsum_prepare_plan(lg_kctx *c, einsum_plan *p)
{
    if (c->n_inputs < 1 || !c->inputs[0]) return lg_error(LG_E_INVALID_MODEL, "Einsum without inputs");
    lg_dtype dt = c->inputs[0]->dtype;
    if (!einsum_dtype(dt)) return lg_error(LG_E_UNSUPPORTED, "Einsum of %s", lg_dtype_name(dt));
    for (int k = 1; k < c->n_inputs; k++)
        if (c->inputs[k] && c->inputs[k]->dtype != dt)
            return lg_error(LG_E_INVALID_MODEL, "Einsum inputs of types %s and %s", lg_dtype_name(dt),
                            lg_dtype_name(c->inputs[k]->dtype));
    return einsum_plan_make(c, p);
}

static int einsum_infer(lg_kctx *c)
{
    einsum_plan p;
    LG_CHECK(einsum_prepare_plan(c, &p));
    return lg_kout_shape(c, 0, c->inputs[0]->dtype, p.out_ndim, p.out_dims);
}

typedef struct einsum_job {
    const einsum_plan *p;
    double *fin[EIN_MAX_INPUTS];    /* copies of the inputs: float types */
    int64_t *iin[EIN_MAX_INPUTS];   /* integers */
    void *out;
    bool is_float;
} einsum_job;

/* Sum over t < len of the product of the operands at off[k] + t * st[k]. */
static double dot_f64(const einsum_job *j, const int64_t *off, int64_t len, const int64_t *st)
{
    double *const *in = j->fin;
    double s = 0;
    if (j->p->n_in == 1) {
        for (int64_t t = 0; t < len; t++) s += in[0][off[0] + t * st[0]];
    } else if (j->p->n_in == 2) {
        const double *a = in[0] + off[0], *b = in[1] + off[1];
        for (int64_t t = 0; t < len; t++) s += a[t * st[0]] * b[t * st[1]];
    } else {
        for (int64_t t = 0; t < len; t++) {
            double prod = 1;
            for (int k = 0; k < j->p->n_in; k++) prod *= in[k][off[k] + t * st[k]];
            s += prod;
        }
    }
    return s;
}

/* The same in wrapping integer arithmetic. */
static uint64_t dot_i64(const einsum_job *j, const int64_t *off, int64_t len, const int64_t *st)
{
    int64_t *const *in = j->iin;
    uint64_t s = 0;
    for (int64_t t = 0; t < len; t++) {
        uint64_t prod = 1;
        for (int k = 0; k < j->p->n_in; k++) prod *= (uint64_t)in[k][off[k] + t * st[k]];
        s += prod;
    }
    return s;
}

/* Output elements [begin, end): an odometer over the summed labels but the last, and a
 * strided dot product along the last. */
static void einsum_range(void *arg, int64_t begin, int64_t end)
{
    const einsum_job *j = arg;
    const einsum_plan *p = j->p;
    int n_red = p->n_labels - p->n_out, n_odo = n_red > 0 ? n_red - 1 : 0;
    const int64_t *rsize = p->size + p->n_out;
    int64_t n_steps = lg_dims_numel(n_odo, rsize), len = n_red > 0 ? rsize[n_red - 1] : 1;
    int64_t st[EIN_MAX_INPUTS];
    for (int k = 0; k < p->n_in; k++) st[k] = n_red > 0 ? p->stride[k][p->n_labels - 1] : 0;
    for (int64_t o = begin; o < end; o++) {
        int64_t off[EIN_MAX_INPUTS] = { 0 }, idx[EIN_MAX_LABELS] = { 0 }, rest = o;
        for (int l = p->n_out - 1; l >= 0; l--) {
            int64_t ix = rest % p->size[l];
            rest /= p->size[l];
            for (int k = 0; k < p->n_in; k++) off[k] += ix * p->stride[k][l];
        }
        double fsum = 0;
        uint64_t isum = 0;
        for (int64_t s = 0; s < n_steps; s++) {
            if (j->is_float) fsum += dot_f64(j, off, len, st);
            else isum += dot_i64(j, off, len, st);
            for (int r = n_odo - 1; r >= 0; r--) {
                int l = p->n_out + r;
                for (int k = 0; k < p->n_in; k++) off[k] += p->stride[k][l];
                if (++idx[r] < rsize[r]) break;
                for (int k = 0; k < p->n_in; k++) off[k] -= p->stride[k][l] * rsize[r];
                idx[r] = 0;
            }
        }
        if (j->is_float) ((double *)j->out)[o] = fsum;
        else ((int64_t *)j->out)[o] = (int64_t)isum;
    }
}

/* Writes an int64 value into element i of an integer tensor (wrapping). */
static void set_int(lg_tensor *t, int64_t i, int64_t v)
{
    switch (t->dtype) {
    case LG_INT8: ((int8_t *)t->data)[i] = (int8_t)v; break;
    case LG_INT16: ((int16_t *)t->data)[i] = (int16_t)v; break;
    case LG_INT32: ((int32_t *)t->data)[i] = (int32_t)v; break;
    case LG_INT64: ((int64_t *)t->data)[i] = v; break;
    case LG_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
    case LG_UINT16: ((uint16_t *)t->data)[i] = (uint16_t)v; break;
    case LG_UINT32: ((uint32_t *)t->data)[i] = (uint32_t)v; break;
    case LG_UINT64: ((uint64_t *)t->data)[i] = (uint64_t)v; break;
    default: break;
    }
}

static int einsum_exec(lg_kctx *c)
{
    einsum_plan p;
    LG_CHECK(einsum_prepare_plan(c, &p));
    lg_tensor *y = c->outputs[0];
    int64_t n_out = lg_tensor_numel_(y);
    if (n_out == 0) return LG_OK;
    einsum_job j = { .p = &p, .is_float = lg_dtype_is_float(y->dtype) };
    int rc = LG_OK;
    for (int k = 0; k < p.n_in && rc == LG_OK; k++) {
        const lg_tensor *x = c->inputs[k];
        int64_t n = lg_tensor_numel_(x);
        void *buf = lg_alloc((size_t)(n > 0 ? n : 1) * 8);
        if (!buf) {
            rc = lg_error(LG_E_NOMEM, "no memory for Einsum input %d", k);
            break;
        }
        for (int64_t i = 0; i < n; i++) {
            if (j.is_float) ((double *)buf)[i] = lg_tensor_get_f64(x, i);
            else ((int64_t *)buf)[i] = lg_tensor_get_i64(x, i);
        }
        if (j.is_float) j.fin[k] = buf;
        else j.iin[k] = buf;
    }
    if (rc == LG_OK) {
        j.out = lg_alloc((size_t)n_out * 8);
        if (!j.out) rc = lg_error(LG_E_NOMEM, "no memory for the Einsum output");
    }
    if (rc == LG_OK) {
        int64_t per = lg_dims_numel(p.n_labels - p.n_out, p.size + p.n_out) * p.n_in;
        lg_parallel_for(c->pool, n_out, per >= 4096 ? 1 : 4096 / (per > 0 ? per : 1), einsum_range, &j);
        for (int64_t i = 0; i < n_out; i++) {
            if (j.is_float) lg_tensor_set_f64(y, i, ((double *)j.out)[i]);
            else set_int(y, i, ((int64_t *)j.out)[i]);
        }
    }
    lg_free(j.out);
    for (int k = 0; k < p.n_in; k++) lg_free(j.is_float ? (void *)j.fin[k] : (void *)j.iin[k]);
    return rc;
}

/* ---- Det ----------------------------------------------------------------------------- */

static int det_check(const lg_tensor *x)
{
    if (!lg_dtype_is_float(x->dtype)) return lg_error(LG_E_UNSUPPORTED, "Det of %s", lg_dtype_name(x->dtype));
    if (x->ndim < 2 || x->dims[x->ndim - 1] != x->dims[x->ndim - 2]) {
        char s[256];
        return lg_error(LG_E_SHAPE, "Det of shape %s: needs [..., M, M]", lg_dims_str(x->ndim, x->dims, s, sizeof(s)));
    }
    return LG_OK;
}

static int det_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    LG_CHECK(det_check(x));
    return lg_kout_shape(c, 0, x->dtype, x->ndim - 2, x->dims);
}

/* Determinant of the m x m matrix a (overwritten) by elimination with partial pivoting. */
static double det_lu(double *a, int64_t m)
{
    double det = 1;
    for (int64_t col = 0; col < m; col++) {
        int64_t piv = col;
        for (int64_t r = col + 1; r < m; r++)
            if (fabs(a[r * m + col]) > fabs(a[piv * m + col])) piv = r;
        if (a[piv * m + col] == 0) return 0;
        if (piv != col) {
            for (int64_t k = 0; k < m; k++) {
                double t = a[col * m + k];
                a[col * m + k] = a[piv * m + k];
                a[piv * m + k] = t;
            }
            det = -det;
        }
        double d = a[col * m + col];
        det *= d;
        for (int64_t r = col + 1; r < m; r++) {
            double f = a[r * m + col] / d;
            for (int64_t k = col + 1; k < m; k++) a[r * m + k] -= f * a[col * m + k];
        }
    }
    return det;
}

static int det_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    LG_CHECK(det_check(x));
    int64_t m = x->dims[x->ndim - 1], batch = lg_tensor_numel_(y);
    if (batch == 0) return LG_OK;
    double *a = lg_alloc((size_t)(m > 0 ? m * m : 1) * sizeof(double));
    if (!a) return lg_error(LG_E_NOMEM, "no memory for a %lldx%lld matrix", (long long)m, (long long)m);
    for (int64_t b = 0; b < batch; b++) {
        for (int64_t i = 0; i < m * m; i++) a[i] = lg_tensor_get_f64(x, b * m * m + i);
        lg_tensor_set_f64(y, b, det_lu(a, m));
    }
    lg_free(a);
    return LG_OK;
}

const lg_op_def lg_ops_linalg[] = {
    { "Einsum", "", 12, 27, einsum_infer, einsum_exec, NULL, NULL },
    { "Det", "", 11, 27, det_infer, det_exec, NULL, NULL },
    { NULL }
};
