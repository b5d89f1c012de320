/*
 * strings.c: the string operators of opset 20: StringConcat (numpy broadcasting),
 * StringSplit (a delimiter, or runs of whitespace when it is empty; maxsplit; padded
 * with "" to the longest split) and RegexFullMatch (RE2-style patterns through PCRE2,
 * which reads the \w, \b and [\w.-] forms ONNX's tests use; the pattern must match the
 * whole string).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernel.h"

static int need_strings(const lg_kctx *c, int n)
{
    for (int i = 0; i < n; i++) {
        const lg_tensor *t = lg_kin(c, i);
        if (!t) return lg_error(LG_E_INVALID_MODEL, "%s: input %d is missing", c->node->op_type, i);
        if (t->dtype != LG_STRING)
            return lg_error(LG_E_INVALID_MODEL, "%s: input %d is %s, not string", c->node->op_type, i, lg_dtype_name(t->dtype));
    }
    return LG_OK;
}

/* Sets out[i] to a copy of s (len bytes); the previous string is freed. */
static int put(lg_tensor *t, int64_t i, const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (!d) return lg_error(LG_E_NOMEM, "out of memory for strings");
    memcpy(d, s, len);
    d[len] = 0;
    free(((char **)t->data)[i]);
    ((char **)t->data)[i] = d;
    return LG_OK;
}

static const char *str_at(const lg_tensor *t, int64_t i)
{
    const char *s = ((char *const *)t->data)[i];
    return s ? s : "";
}

/* ---- StringConcat ---- */

static int concat_infer(lg_kctx *c)
{
    LG_CHECK(need_strings(c, 2));
    int nd;
    int64_t dims[LG_MAX_DIMS];
    LG_CHECK(lg_broadcast_shape(c->inputs[0]->ndim, c->inputs[0]->dims, c->inputs[1]->ndim, c->inputs[1]->dims, &nd, dims));
    return lg_kout_shape(c, 0, LG_STRING, nd, dims);
}

static int concat_exec(lg_kctx *c)
{
    const lg_tensor *a = c->inputs[0], *b = c->inputs[1];
    lg_tensor *y = c->outputs[0];
    if (!y) return LG_OK;
    int64_t sa[LG_MAX_DIMS], sb[LG_MAX_DIMS], idx[LG_MAX_DIMS] = { 0 };
    lg_broadcast_strides(a->ndim, a->dims, y->ndim, sa);
    lg_broadcast_strides(b->ndim, b->dims, y->ndim, sb);
    for (int64_t i = 0, n = lg_tensor_numel_(y); i < n; i++) {
        int64_t ia = 0, ib = 0;
        for (int k = 0; k < y->ndim; k++) {
            ia += idx[k] * sa[k];
            ib += idx[k] * sb[k];
        }
        const char *x1 = str_at(a, ia), *x2 = str_at(b, ib);
        size_t l1 = strlen(x1), l2 = strlen(x2);
        char *d = malloc(l1 + l2 + 1);
        if (!d) return lg_error(LG_E_NOMEM, "out of memory for strings");
        memcpy(d, x1, l1);
        memcpy(d + l1, x2, l2 + 1);
        free(((char **)y->data)[i]);
        ((char **)y->data)[i] = d;
        for (int k = y->ndim - 1; k >= 0 && ++idx[k] == y->dims[k]; k--) idx[k] = 0;
    }
    return LG_OK;
}

/* ---- StringSplit ---- */

typedef struct split_piece {
    const char *s;
    size_t len;
} split_piece;

/* Splits s into at most cap pieces (cap >= 1 + maxsplit when maxsplit >= 0); returns the count.
 * pieces may be NULL to count only. */
static int64_t split_one(const char *s, const char *delim, int64_t maxsplit, split_piece *pieces)
{
    int64_t n = 0, splits = 0;
    size_t dl = strlen(delim);
    if (dl == 0) { /* runs of whitespace; leading and trailing ignored */
        const char *p = s;
        while (*p) {
            while (*p && isspace((unsigned char)*p)) p++;
            if (!*p) break;
            const char *start = p;
            if (maxsplit >= 0 && splits >= maxsplit) {
                const char *end = p + strlen(p);
                while (end > start && isspace((unsigned char)end[-1])) end--;
                if (pieces) pieces[n] = (split_piece){ start, (size_t)(end - start) };
                return n + 1;
            }
            while (*p && !isspace((unsigned char)*p)) p++;
            if (pieces) pieces[n] = (split_piece){ start, (size_t)(p - start) };
            n++;
            splits++;
        }
        return n;
    }
    const char *p = s;
    for (;;) {
        const char *hit = (maxsplit < 0 || splits < maxsplit) ? strstr(p, delim) : NULL;
        if (!hit) {
            if (pieces) pieces[n] = (split_piece){ p, strlen(p) };
            return n + 1;
        }
        if (pieces) pieces[n] = (split_piece){ p, (size_t)(hit - p) };
        n++;
        splits++;
        p = hit + dl;
    }
}

static int split_width(const lg_kctx *c, int64_t *width)
{
    const lg_tensor *x = c->inputs[0];
    const char *delim = lg_attr_string(c->node, "delimiter", "");
    const lg_attr *ms = lg_node_attr(c->node, "maxsplit");
    int64_t maxsplit = ms ? ms->i : -1;
    *width = 0;
    if (!x->data && lg_tensor_numel_(x) > 0) return LG_E_DYNAMIC;
    for (int64_t i = 0, n = lg_tensor_numel_(x); i < n; i++) {
        int64_t k = split_one(str_at(x, i), delim, maxsplit, NULL);
        if (k > *width) *width = k;
    }
    return LG_OK;
}

static int split_infer(lg_kctx *c)
{
    LG_CHECK(need_strings(c, 1));
    const lg_tensor *x = c->inputs[0];
    if (x->ndim >= LG_MAX_DIMS) return lg_error(LG_E_LIMIT, "StringSplit of rank %d", x->ndim);
    int64_t width, dims[LG_MAX_DIMS];
    LG_CHECK(split_width(c, &width));
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    dims[x->ndim] = width;
    LG_CHECK(lg_kout_shape(c, 0, LG_STRING, x->ndim + 1, dims));
    return lg_kout_shape(c, 1, LG_INT64, x->ndim, x->dims);
}

static int split_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0], *z = c->n_outputs > 1 ? c->outputs[1] : NULL;
    const char *delim = lg_attr_string(c->node, "delimiter", "");
    const lg_attr *ms = lg_node_attr(c->node, "maxsplit");
    int64_t maxsplit = ms ? ms->i : -1, width = y ? y->dims[y->ndim - 1] : 0;
    split_piece *pieces = malloc(sizeof(split_piece) * (size_t)(width + 1));
    if (!pieces) return lg_error(LG_E_NOMEM, "out of memory");
    int rc = LG_OK;
    for (int64_t i = 0, n = lg_tensor_numel_(x); i < n && rc == LG_OK; i++) {
        int64_t k = split_one(str_at(x, i), delim, maxsplit, NULL);
        LG_ASSERT(k <= width || !y);
        if (z) ((int64_t *)z->data)[i] = k;
        if (!y) continue;
        split_one(str_at(x, i), delim, maxsplit, pieces);
        for (int64_t p = 0; p < width && rc == LG_OK; p++)
            rc = p < k ? put(y, i * width + p, pieces[p].s, pieces[p].len) : put(y, i * width + p, "", 0);
    }
    free(pieces);
    return rc;
}

/* ---- RegexFullMatch ---- */

typedef struct regex_state {
    pcre2_code *re;
    pcre2_match_data *md;
} regex_state;

static void regex_release(void *p)
{
    regex_state *s = p;
    if (!s) return;
    pcre2_match_data_free(s->md);
    pcre2_code_free(s->re);
    free(s);
}

static int regex_compile(const lg_kctx *c, regex_state **out)
{
    const char *pattern = lg_attr_string(c->node, "pattern", NULL);
    if (!pattern) return lg_error(LG_E_INVALID_MODEL, "RegexFullMatch needs a pattern");
    int err;
    PCRE2_SIZE at;
    regex_state *s = calloc(1, sizeof(*s));
    if (!s) return lg_error(LG_E_NOMEM, "out of memory");
    s->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED, &err,
                          &at, NULL);
    if (!s->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof(msg));
        free(s);
        return lg_error(LG_E_INVALID_MODEL, "pattern '%s' does not compile at offset %zu: %s", pattern, (size_t)at, (char *)msg);
    }
    s->md = pcre2_match_data_create_from_pattern(s->re, NULL);
    if (!s->md) {
        regex_release(s);
        return lg_error(LG_E_NOMEM, "out of memory");
    }
    *out = s;
    return LG_OK;
}

static int regex_infer(lg_kctx *c)
{
    LG_CHECK(need_strings(c, 1));
    return lg_kout_shape(c, 0, LG_BOOL, c->inputs[0]->ndim, c->inputs[0]->dims);
}

static int regex_prepare(lg_kctx *c, void **state) { return regex_compile(c, (regex_state **)state); }

static int regex_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    const regex_state *s = c->state;
    if (!y) return LG_OK;
    LG_ASSERT(s != NULL);
    for (int64_t i = 0, n = lg_tensor_numel_(x); i < n; i++) {
        const char *str = str_at(x, i);
        int r = pcre2_match(s->re, (PCRE2_SPTR)str, strlen(str), 0, 0, s->md, NULL);
        if (r < 0 && r != PCRE2_ERROR_NOMATCH) return lg_error(LG_E_RUNTIME, "regex match failed on element %lld (%d)", (long long)i, r);
        ((uint8_t *)y->data)[i] = r >= 0;
    }
    return LG_OK;
}

const lg_op_def lg_ops_strings[] = {
    { "StringConcat", "", 20, 27, concat_infer, concat_exec, NULL, NULL },
    { "StringSplit", "", 20, 27, split_infer, split_exec, NULL, NULL },
    { "RegexFullMatch", "", 20, 27, regex_infer, regex_exec, regex_prepare, regex_release },
    { NULL }
};
