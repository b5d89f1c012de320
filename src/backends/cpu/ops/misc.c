/*
 * misc.c: operators outside the main families: the text ops StringNormalizer (opset
 * 10-17) and TfIdfVectorizer (opset 9-17), and the optimizers of the training domain
 * "ai.onnx.preview.training" opset 1: Adagrad, Momentum (standard and nesterov), Adam.
 *
 * Not registered on purpose: Bernoulli and the Random* ops (their outputs are random and
 * cannot match reference data), and the Optional* / Sequence* ops (their values are not
 * tensors).
 */
#include <ctype.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <wctype.h>

#include "runtime/kernel.h"

/* ---- StringNormalizer ----------------------------------------------------------- */

/* Decodes one UTF-8 sequence at s; returns its length (1 for an invalid byte, which
 * then stands for itself with *cp = -1). */
static int utf8_decode(const unsigned char *s, int32_t *cp)
{
    int len = s[0] < 0x80 ? 1 : (s[0] >> 5) == 6 ? 2 : (s[0] >> 4) == 14 ? 3 : (s[0] >> 3) == 30 ? 4 : 0;
    if (len == 1) {
        *cp = s[0];
        return 1;
    }
    int32_t v = len ? s[0] & (0x7f >> len) : 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *cp = -1;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3f);
    }
    *cp = len ? v : -1;
    return len ? len : 1;
}

static int utf8_encode(int32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    int len = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (int i = len - 1; i > 0; i--, cp >>= 6) out[i] = (char)(0x80 | (cp & 0x3f));
    out[0] = (char)((0xf00 >> len) | cp);
    return len;
}

enum case_change { CASE_NONE, CASE_LOWER, CASE_UPPER };

/* A copy of s with its letters mapped (Unicode, through the C.UTF-8 locale when the
 * system has it, else ASCII only). The result is malloc'd (tensor strings are). */
static char *change_case(const char *s, enum case_change how, locale_t loc)
{
    size_t n = strlen(s);
    char *out = malloc(n * 2 + 1); /* a mapped letter never needs more than twice the bytes */
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        int32_t cp;
        int len = utf8_decode((const unsigned char *)s + i, &cp);
        if (cp < 0 || how == CASE_NONE) {
            memcpy(out + o, s + i, (size_t)len);
            o += (size_t)len;
        } else {
            wint_t w = (wint_t)cp;
            if (loc) w = how == CASE_LOWER ? towlower_l(w, loc) : towupper_l(w, loc);
            else if (w < 0x80) w = (wint_t)(how == CASE_LOWER ? tolower((int)w) : toupper((int)w));
            o += (size_t)utf8_encode((int32_t)w, out + o);
        }
        i += (size_t)len;
    }
    out[o] = 0;
    return out;
}

static locale_t utf8_locale(void)
{
    static locale_t loc;
    static bool tried;
    if (!tried) {
        loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
        tried = true;
    }
    return loc;
}

static const struct {
    const char *name;
    enum case_change how;
} case_actions[] = { { "NONE", CASE_NONE }, { "LOWER", CASE_LOWER }, { "UPPER", CASE_UPPER } };

/* Whether s is a stopword; without case sensitivity both sides compare lowercased. */
static int is_stopword(const char *s, char *const *stop, int n_stop, bool case_sensitive, locale_t loc, bool *hit)
{
    *hit = false;
    char *key = case_sensitive ? NULL : change_case(s, CASE_LOWER, loc);
    if (!case_sensitive && !key) return lg_error(LG_E_NOMEM, "out of memory");
    for (int i = 0; i < n_stop && !*hit; i++) {
        if (case_sensitive) {
            *hit = strcmp(s, stop[i]) == 0;
        } else {
            char *word = change_case(stop[i], CASE_LOWER, loc);
            if (!word) {
                free(key);
                return lg_error(LG_E_NOMEM, "out of memory");
            }
            *hit = strcmp(key, word) == 0;
            free(word);
        }
    }
    free(key);
    return LG_OK;
}

static int strnorm_exec(lg_kctx *c)
{
    const lg_tensor *x = lg_kin(c, 0);
    char s[256];
    if (!x || x->dtype != LG_STRING) return lg_error(LG_E_INVALID_MODEL, "input must be a string tensor");
    if (!(x->ndim == 1 || (x->ndim == 2 && x->dims[0] == 1)))
        return lg_error(LG_E_SHAPE, "input must be [C] or [1, C], got %s", lg_dims_str(x->ndim, x->dims, s, sizeof(s)));
    const char *action = lg_attr_string(c->node, "case_change_action", "NONE");
    size_t a = 0;
    while (a < sizeof(case_actions) / sizeof(case_actions[0]) && strcmp(case_actions[a].name, action) != 0) a++;
    if (a == sizeof(case_actions) / sizeof(case_actions[0]))
        return lg_error(LG_E_INVALID_MODEL, "case_change_action '%s' is not NONE, LOWER or UPPER", action);
    bool case_sensitive = lg_attr_int(c->node, "is_case_sensitive", 0) != 0;
    int n_stop;
    char *const *stop = lg_attr_strings(c->node, "stopwords", &n_stop);
    locale_t loc = utf8_locale();

    int64_t n = lg_tensor_numel_(x), kept = 0;
    const char *const *in = x->data;
    bool *keep = calloc((size_t)(n ? n : 1), sizeof(bool));
    if (!keep) return lg_error(LG_E_NOMEM, "out of memory for %lld strings", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        int rc = is_stopword(in[i], stop, n_stop, case_sensitive, loc, &keep[i]);
        if (rc != LG_OK) {
            free(keep);
            return rc;
        }
        keep[i] = !keep[i];
        kept += keep[i];
    }
    /* All filtered out: a single empty string. */
    int64_t dims[2] = { 1, kept ? kept : 1 };
    lg_tensor *y = lg_kout_alloc(c, 0, LG_STRING, x->ndim, x->ndim == 1 ? dims + 1 : dims);
    if (!y) {
        free(keep);
        return LG_E_NOMEM;
    }
    char **out = y->data;
    int rc = LG_OK;
    if (!kept && !(out[0] = calloc(1, 1))) rc = lg_error(LG_E_NOMEM, "out of memory");
    for (int64_t i = 0, o = 0; i < n && rc == LG_OK; i++) {
        if (!keep[i]) continue;
        if (!(out[o++] = change_case(in[i], case_actions[a].how, loc))) rc = lg_error(LG_E_NOMEM, "out of memory");
    }
    free(keep);
    return rc;
}

/* ---- TfIdfVectorizer ------------------------------------------------------------ */

/*
 * The pool holds n-grams grouped by length: ngram_counts[s-1] is where the s-grams
 * start. Every item (pool entries and input elements) is an int64: integers as they
 * are, strings as their index in the sorted list of pool strings (-1 if absent). The
 * n-grams of each length are sorted so a candidate is found by binary search.
 */
typedef struct tfidf {
    int max_len;                 /* number of lengths in the pool */
    int min_gram, max_gram, max_skip;
    int mode;                    /* 0 TF, 1 IDF, 2 TFIDF */
    int64_t *items;              /* the pool as int64 */
    int64_t n_items;
    int64_t *start, *count, *first; /* per length: pool offset, n-gram count, list index */
    int64_t **sorted;            /* per length: n-gram numbers sorted by content */
    char **strings;              /* sorted pool strings, or NULL */
    int64_t n_strings;
    const int64_t *columns;      /* ngram_indexes */
    int64_t n_columns;           /* width of the output */
    double *col_weight;          /* weight of each output column */
} tfidf;

static const char *const tfidf_modes[] = { "TF", "IDF", "TFIDF" };

static void tfidf_free(tfidf *t)
{
    for (int s = 0; t->sorted && s < t->max_len; s++) free(t->sorted[s]);
    free(t->sorted);
    free(t->items);
    free(t->start);
    free(t->count);
    free(t->first);
    free(t->strings);
    free(t->col_weight);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int64_t string_id(const tfidf *t, const char *s)
{
    char *const *hit = bsearch(&s, t->strings, (size_t)t->n_strings, sizeof(char *), cmp_str);
    return hit ? hit - t->strings : -1;
}

static int cmp_items(const int64_t *a, const int64_t *b, int len)
{
    for (int i = 0; i < len; i++)
        if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
}

typedef struct gram_order {
    const int64_t *base;
    int len;
} gram_order;

static int cmp_grams(const void *a, const void *b, void *arg)
{
    const gram_order *g = arg;
    return cmp_items(g->base + *(const int64_t *)a * g->len, g->base + *(const int64_t *)b * g->len, g->len);
}

/* The list index of the n-gram of length len equal to cand, or -1. */
static int64_t find_gram(const tfidf *t, const int64_t *cand, int len)
{
    const int64_t *base = t->items + t->start[len - 1], *order = t->sorted[len - 1];
    int64_t lo = 0, hi = t->count[len - 1];
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int r = cmp_items(base + order[mid] * len, cand, len);
        if (r == 0) return t->first[len - 1] + order[mid];
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

static int tfidf_pool(const lg_node *n, tfidf *t)
{
    int n_ints = 0, n_strs = 0;
    const int64_t *pool_i = lg_attr_ints(n, "pool_int64s", &n_ints);
    char *const *pool_s = lg_attr_strings(n, "pool_strings", &n_strs);
    t->n_items = pool_s ? n_strs : n_ints;
    t->items = malloc((size_t)(t->n_items ? t->n_items : 1) * sizeof(int64_t));
    if (!t->items) return lg_error(LG_E_NOMEM, "out of memory for the n-gram pool");
    if (!pool_s) {
        memcpy(t->items, pool_i, (size_t)n_ints * sizeof(int64_t));
        return LG_OK;
    }
    t->strings = malloc((size_t)n_strs * sizeof(char *));
    if (!t->strings) return lg_error(LG_E_NOMEM, "out of memory for the n-gram pool");
    memcpy(t->strings, pool_s, (size_t)n_strs * sizeof(char *));
    qsort(t->strings, (size_t)n_strs, sizeof(char *), cmp_str);
    t->n_strings = n_strs;
    for (int i = 0; i < n_strs; i++) t->items[i] = string_id(t, pool_s[i]);
    return LG_OK;
}

static int tfidf_read(const lg_node *n, tfidf *t)
{
    memset(t, 0, sizeof(*t));
    int n_counts = 0, n_weights = 0, n_cols = 0;
    const int64_t *counts = lg_attr_ints(n, "ngram_counts", &n_counts);
    const float *weights = lg_attr_floats(n, "weights", &n_weights);
    t->columns = lg_attr_ints(n, "ngram_indexes", &n_cols);
    t->min_gram = (int)lg_attr_int(n, "min_gram_length", 1);
    t->max_gram = (int)lg_attr_int(n, "max_gram_length", 1);
    t->max_skip = (int)lg_attr_int(n, "max_skip_count", 0);
    const char *mode = lg_attr_string(n, "mode", "TF");
    for (t->mode = 0; t->mode < 3 && strcmp(tfidf_modes[t->mode], mode) != 0; t->mode++) continue;
    if (t->mode == 3) return lg_error(LG_E_INVALID_MODEL, "mode '%s' is not TF, IDF or TFIDF", mode);
    if (t->min_gram < 1 || t->max_gram < t->min_gram || t->max_gram > n_counts || t->max_skip < 0)
        return lg_error(LG_E_INVALID_MODEL, "gram lengths %d..%d (pool has %d lengths) or max_skip_count %d invalid",
                        t->min_gram, t->max_gram, n_counts, t->max_skip);
    LG_CHECK(tfidf_pool(n, t));

    t->max_len = n_counts;
    t->start = calloc((size_t)n_counts, sizeof(int64_t));
    t->count = calloc((size_t)n_counts, sizeof(int64_t));
    t->first = calloc((size_t)n_counts, sizeof(int64_t));
    t->sorted = calloc((size_t)n_counts, sizeof(int64_t *));
    if (!t->start || !t->count || !t->first || !t->sorted) return lg_error(LG_E_NOMEM, "out of memory");
    int64_t listed = 0;
    for (int s = 0; s < n_counts; s++) {
        int64_t end = s + 1 < n_counts ? counts[s + 1] : t->n_items, len = s + 1;
        if (counts[s] < 0 || end < counts[s] || end > t->n_items || (end - counts[s]) % len)
            return lg_error(LG_E_INVALID_MODEL, "ngram_counts[%d] = %lld does not split the pool of %lld items", s,
                            (long long)counts[s], (long long)t->n_items);
        t->start[s] = counts[s];
        t->count[s] = (end - counts[s]) / len;
        t->first[s] = listed;
        listed += t->count[s];
        if (!(t->sorted[s] = malloc((size_t)(t->count[s] ? t->count[s] : 1) * sizeof(int64_t))))
            return lg_error(LG_E_NOMEM, "out of memory");
        for (int64_t i = 0; i < t->count[s]; i++) t->sorted[s][i] = i;
        gram_order order = { t->items + t->start[s], (int)len };
        qsort_r(t->sorted[s], (size_t)t->count[s], sizeof(int64_t), cmp_grams, &order);
    }
    if (n_cols != listed)
        return lg_error(LG_E_INVALID_MODEL, "ngram_indexes has %d entries for %lld n-grams", n_cols, (long long)listed);
    if (weights && n_weights != n_cols)
        return lg_error(LG_E_INVALID_MODEL, "weights has %d entries for %d n-grams", n_weights, n_cols);
    for (int i = 0; i < n_cols; i++) {
        if (t->columns[i] < 0 || t->columns[i] >= ((int64_t)1 << 30))
            return lg_error(LG_E_INVALID_MODEL, "ngram_indexes[%d] = %lld out of range", i, (long long)t->columns[i]);
        if (t->columns[i] + 1 > t->n_columns) t->n_columns = t->columns[i] + 1;
    }
    if (!(t->col_weight = malloc((size_t)(t->n_columns ? t->n_columns : 1) * sizeof(double))))
        return lg_error(LG_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < t->n_columns; i++) t->col_weight[i] = 1.0;
    for (int i = 0; weights && i < n_cols; i++) t->col_weight[t->columns[i]] = weights[i];
    return LG_OK;
}

static int tfidf_check_input(const lg_tensor *x)
{
    char s[256];
    if (!x || (x->dtype != LG_INT32 && x->dtype != LG_INT64 && x->dtype != LG_STRING))
        return lg_error(LG_E_INVALID_MODEL, "input must be int32, int64 or string");
    if (x->ndim != 1 && x->ndim != 2)
        return lg_error(LG_E_SHAPE, "input must be [C] or [N, C], got %s", lg_dims_str(x->ndim, x->dims, s, sizeof(s)));
    return LG_OK;
}

static int tfidf_infer(lg_kctx *c)
{
    tfidf t;
    const lg_tensor *x = lg_kin(c, 0);
    LG_CHECK(tfidf_check_input(x));
    int rc = tfidf_read(c->node, &t);
    int64_t dims[2] = { x->dims[0], t.n_columns };
    if (rc == LG_OK) rc = lg_kout_shape(c, 0, LG_FLOAT, x->ndim, x->ndim == 1 ? dims + 1 : dims);
    tfidf_free(&t);
    return rc;
}

/* Counts the n-grams of one row (items row[0..len)) into out[n_columns]. */
static void tfidf_row(const tfidf *t, const int64_t *row, int64_t len, float *out)
{
    int64_t cand[64];
    for (int64_t i = 0; i < len; i++) {
        if (t->min_gram == 1) {
            int64_t g = find_gram(t, row + i, 1);
            if (g >= 0) out[t->columns[g]] += 1;
        }
        /* Longer n-grams take every item-distance 1..max_skip+1 (unigrams only once). */
        for (int skip = 0; skip <= t->max_skip; skip++)
            for (int n = t->min_gram > 2 ? t->min_gram : 2; n <= t->max_gram && n <= 64; n++) {
                int64_t last = i + (int64_t)(n - 1) * (skip + 1);
                if (last >= len) break;
                for (int k = 0; k < n; k++) cand[k] = row[i + (int64_t)k * (skip + 1)];
                int64_t g = find_gram(t, cand, n);
                if (g >= 0) out[t->columns[g]] += 1;
            }
    }
}

static int tfidf_exec(lg_kctx *c)
{
    const lg_tensor *x = lg_kin(c, 0);
    lg_tensor *y = c->outputs[0];
    tfidf t;
    LG_CHECK(tfidf_check_input(x));
    int rc = tfidf_read(c->node, &t);
    int64_t rows = x->ndim == 2 ? x->dims[0] : 1, len = x->dims[x->ndim - 1];
    int64_t *row = rc == LG_OK ? malloc((size_t)(len ? len : 1) * sizeof(int64_t)) : NULL;
    if (rc == LG_OK && !row) rc = lg_error(LG_E_NOMEM, "out of memory");
    if (rc == LG_OK && t.max_gram > 64) rc = lg_error(LG_E_UNSUPPORTED, "max_gram_length %d above 64", t.max_gram);
    for (int64_t r = 0; rc == LG_OK && y && r < rows; r++) {
        for (int64_t i = 0; i < len; i++)
            row[i] = x->dtype == LG_STRING ? string_id(&t, ((char *const *)x->data)[r * len + i])
                                           : lg_tensor_get_i64(x, r * len + i);
        float *out = (float *)y->data + r * t.n_columns;
        tfidf_row(&t, row, len, out);
        for (int64_t k = 0; k < t.n_columns; k++) {
            double w = t.col_weight[k];
            out[k] = (float)(t.mode == 0 ? out[k] : t.mode == 1 ? (out[k] > 0 ? w : 0) : out[k] * w);
        }
    }
    free(row);
    tfidf_free(&t);
    return rc;
}

/* ---- training optimizers (ai.onnx.preview.training) ----------------------------- */

typedef struct optim {
    double r, t;                     /* learning rate, iteration count */
    double alpha, beta, epsilon, decay, norm, norm_post;
    bool nesterov;
} optim;

/* One element: in = {x, g, state...}, out = {x_new, state_new...}. */
typedef void (*optim_fn)(const optim *o, const double *in, double *out);

static void adagrad_step(const optim *o, const double *in, double *out)
{
    double r = o->r / (1 + o->t * o->decay);
    double g = o->norm * in[0] + in[1];
    double h = in[2] + g * g;
    out[0] = in[0] - r * g / (sqrt(h) + o->epsilon);
    out[1] = h;
}

static void momentum_step(const optim *o, const double *in, double *out)
{
    double g = o->norm * in[0] + in[1];
    double v = o->alpha * in[2] + (o->t > 0 ? o->beta : 1.0) * g;
    out[0] = in[0] - o->r * (o->nesterov ? g + o->alpha * v : v);
    out[1] = v;
}

static void adam_step(const optim *o, const double *in, double *out)
{
    double g = o->norm * in[0] + in[1];
    double v = o->alpha * in[2] + (1 - o->alpha) * g;
    double h = o->beta * in[3] + (1 - o->beta) * g * g;
    double r = o->t > 0 ? o->r * sqrt(1 - pow(o->beta, o->t)) / (1 - pow(o->alpha, o->t)) : o->r;
    out[0] = (1 - o->norm_post) * (in[0] - r * v / (sqrt(h) + o->epsilon));
    out[1] = v;
    out[2] = h;
}

/* Each optimizer's inputs are R, T, then X[n], G[n] and `states` state tensors [n]. */
static const struct {
    const char *op;
    int states;
    optim_fn step;
} optimizers[] = {
    { "Adagrad", 1, adagrad_step },
    { "Momentum", 1, momentum_step },
    { "Adam", 2, adam_step },
};

static int optim_find(const lg_kctx *c, int *which, int64_t *count)
{
    int k = 0;
    while (strcmp(optimizers[k].op, c->node->op_type) != 0) k++;
    int per = 2 + optimizers[k].states;
    if (c->n_inputs < 2 + per || (c->n_inputs - 2) % per)
        return lg_error(LG_E_INVALID_MODEL, "%d inputs: expected R, T and %d tensors per optimized tensor", c->n_inputs,
                        per);
    *which = k;
    *count = (c->n_inputs - 2) / per;
    if (c->n_outputs > (1 + optimizers[k].states) * *count)
        return lg_error(LG_E_INVALID_MODEL, "%d outputs for %lld optimized tensors", c->n_outputs, (long long)*count);
    const lg_tensor *r = lg_kin(c, 0), *t = lg_kin(c, 1);
    if (!r || !t || lg_tensor_numel_(r) != 1 || lg_tensor_numel_(t) != 1 || !lg_dtype_is_float(r->dtype) ||
        t->dtype != LG_INT64)
        return lg_error(LG_E_INVALID_MODEL, "R must be a float scalar and T an int64 scalar");
    for (int64_t i = 0; i < *count; i++) {
        const lg_tensor *x = lg_kin(c, (int)(2 + i));
        for (int j = 1; j < per; j++) {
            const lg_tensor *o = lg_kin(c, (int)(2 + j * *count + i));
            if (!x || !o || !lg_dtype_is_float(x->dtype) || o->dtype != x->dtype ||
                !lg_dims_equal(x->ndim, x->dims, o->ndim, o->dims))
                return lg_error(LG_E_SHAPE, "tensor %lld: X, G and states must share a float type and shape",
                                (long long)i);
        }
    }
    return LG_OK;
}

static int optim_infer(lg_kctx *c)
{
    int k;
    int64_t n;
    LG_CHECK(optim_find(c, &k, &n));
    for (int out = 0; out < c->n_outputs; out++) {
        const lg_tensor *x = c->inputs[2 + out % n];
        LG_CHECK(lg_kout_shape(c, out, x->dtype, x->ndim, x->dims));
    }
    return LG_OK;
}

static int optim_exec(lg_kctx *c)
{
    int k;
    int64_t n;
    LG_CHECK(optim_find(c, &k, &n));
    const lg_node *nd = c->node;
    optim o = {
        .r = lg_tensor_get_f64(c->inputs[0], 0),
        .t = (double)lg_tensor_get_i64(c->inputs[1], 0),
        .alpha = lg_attr_float(nd, "alpha", k == 2 ? 0.9f : 0.0f),
        .beta = lg_attr_float(nd, "beta", k == 2 ? 0.999f : 0.0f),
        .epsilon = lg_attr_float(nd, "epsilon", 1e-6f),
        .decay = lg_attr_float(nd, "decay_factor", 0.0f),
        .norm = lg_attr_float(nd, "norm_coefficient", 0.0f),
        .norm_post = lg_attr_float(nd, "norm_coefficient_post", 0.0f),
        .nesterov = strcmp(lg_attr_string(nd, "mode", "standard"), "nesterov") == 0,
    };
    const char *mode = lg_attr_string(nd, "mode", "standard");
    if (strcmp(mode, "standard") != 0 && strcmp(mode, "nesterov") != 0)
        return lg_error(LG_E_INVALID_MODEL, "mode '%s' is not standard or nesterov", mode);
    int per_in = 2 + optimizers[k].states, per_out = 1 + optimizers[k].states;
    for (int64_t i = 0; i < n; i++) {
        const lg_tensor *x = c->inputs[2 + i];
        for (int64_t e = 0, ne = lg_tensor_numel_(x); e < ne; e++) {
            double in[4], out[3];
            for (int j = 0; j < per_in; j++) in[j] = lg_tensor_get_f64(c->inputs[2 + j * n + i], e);
            optimizers[k].step(&o, in, out);
            for (int j = 0; j < per_out; j++) {
                int64_t oi = j * n + i;
                if (oi < c->n_outputs && c->outputs[oi]) lg_tensor_set_f64(c->outputs[oi], e, out[j]);
            }
        }
    }
    return LG_OK;
}

#define TRAINING "ai.onnx.preview.training"

const lg_op_def lg_ops_misc[] = {
    { "StringNormalizer", "", 10, 27, NULL, strnorm_exec, NULL, NULL },
    { "TfIdfVectorizer", "", 9, 27, tfidf_infer, tfidf_exec, NULL, NULL },
    { "Adagrad", TRAINING, 1, 1, optim_infer, optim_exec, NULL, NULL },
    { "Momentum", TRAINING, 1, 1, optim_infer, optim_exec, NULL, NULL },
    { "Adam", TRAINING, 1, 1, optim_infer, optim_exec, NULL, NULL },
    { NULL }
};
