/*
 * ml_forest.c: decision-tree ensembles of ai.onnx.ml: building the checked form from
 * either attribute layout, and evaluating a row (see ml_forest.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/ml_common.h"
#include "backends/cpu/ops/ml_forest.h"

typedef enum { M_LEQ, M_LT, M_GTE, M_GT, M_EQ, M_NEQ, M_MEMBER, M_LEAF } mode;

/* A child or root reference: >= 0 a node index, < 0 leaf -(ref + 1). */
typedef struct tnode {
    int mode;
    int feature;
    double value;
    int child[2]; /* [0] when the test holds, [1] otherwise */
    bool missing_true;
    int set_begin, set_end; /* BRANCH_MEMBER: the members in f->sets */
} tnode;

struct lg_ml_forest {
    int n_nodes, n_trees, n_leaves, n_targets;
    tnode *nodes;
    int *roots;
    int *leaf_begin;     /* [n_leaves + 1]: the leaf's weights are [begin, begin+1) .. */
    int *w_target;
    double *w_value;
    double *sets;
    int n_sets;
    lg_ml_agg agg;
};

void lg_ml_forest_free(lg_ml_forest *f)
{
    if (!f) return;
    free(f->nodes);
    free(f->roots);
    free(f->leaf_begin);
    free(f->w_target);
    free(f->w_value);
    free(f->sets);
    free(f);
}

int lg_ml_forest_targets(const lg_ml_forest *f) { return f->n_targets; }

int lg_ml_forest_distinct_targets(const lg_ml_forest *f, int *first)
{
    int n = f->leaf_begin[f->n_leaves], distinct = 0;
    *first = n > 0 ? f->w_target[0] : 0;
    for (int i = 0; i < n && distinct < 2; i++)
        if (i == 0 || f->w_target[i] != *first) distinct++;
    return distinct;
}

int lg_ml_forest_check_features(const lg_ml_forest *f, int64_t cols)
{
    for (int i = 0; i < f->n_nodes; i++)
        if (f->nodes[i].mode != M_LEAF && f->nodes[i].feature >= cols)
            return lg_error(LG_E_SHAPE, "tree node %d reads feature %d but X has %lld features", i, f->nodes[i].feature,
                            (long long)cols);
    return LG_OK;
}

static bool test(const lg_ml_forest *f, const tnode *n, double x)
{
    if (isnan(x) && n->missing_true) return true;
    switch (n->mode) {
    case M_LEQ: return x <= n->value;
    case M_LT: return x < n->value;
    case M_GTE: return x >= n->value;
    case M_GT: return x > n->value;
    case M_EQ: return x == n->value;
    case M_NEQ: return x != n->value;
    case M_MEMBER:
        for (int k = n->set_begin; k < n->set_end; k++)
            if (f->sets[k] == x) return true;
        return false;
    }
    return false;
}

void lg_ml_forest_eval(const lg_ml_forest *f, const double *row, double *scores)
{
    bool has[4096];
    bool *seen = f->n_targets <= 4096 ? has : calloc((size_t)f->n_targets, 1);
    if (!seen) return; /* only for > 4096 targets: scores stay 0 on allocation failure */
    memset(seen, 0, (size_t)f->n_targets);
    for (int t = 0; t < f->n_targets; t++) scores[t] = 0;
    for (int t = 0; t < f->n_trees; t++) {
        int ref = f->roots[t];
        while (ref >= 0) { /* acyclic: checked when built */
            const tnode *n = &f->nodes[ref];
            ref = n->child[test(f, n, row[n->feature]) ? 0 : 1];
        }
        int leaf = -ref - 1;
        for (int w = f->leaf_begin[leaf]; w < f->leaf_begin[leaf + 1]; w++) {
            int k = f->w_target[w];
            double v = f->w_value[w];
            if (!seen[k] || f->agg == LG_ML_AGG_SUM || f->agg == LG_ML_AGG_AVERAGE) scores[k] = seen[k] ? scores[k] + v : v;
            else if (f->agg == LG_ML_AGG_MIN) scores[k] = v < scores[k] ? v : scores[k];
            else scores[k] = v > scores[k] ? v : scores[k];
            seen[k] = true;
        }
    }
    if (f->agg == LG_ML_AGG_AVERAGE && f->n_trees > 0)
        for (int t = 0; t < f->n_targets; t++) scores[t] /= f->n_trees;
    if (seen != has) free(seen);
}

/* Every tree must be a tree: depth-first from each root, a node met again on the current
 * path is a cycle. */
static int check_acyclic(const lg_ml_forest *f)
{
    unsigned char *state = calloc((size_t)f->n_nodes + 1, 1); /* 0 new, 1 on path, 2 done */
    int *stack = malloc(((size_t)f->n_nodes + 1) * sizeof(int));
    unsigned char *next = calloc((size_t)f->n_nodes + 1, 1);
    int rc = LG_OK;
    if (!state || !stack || !next) rc = lg_error(LG_E_NOMEM, "out of memory");
    for (int t = 0; t < f->n_trees && rc == LG_OK; t++) {
        if (f->roots[t] < 0 || state[f->roots[t]] == 2) continue;
        int sp = 0;
        stack[sp++] = f->roots[t];
        state[f->roots[t]] = 1;
        while (sp > 0 && rc == LG_OK) {
            int v = stack[sp - 1];
            if (next[v] == 2) {
                state[v] = 2;
                sp--;
                continue;
            }
            int c = f->nodes[v].child[next[v]++];
            if (c < 0 || state[c] == 2) continue;
            if (state[c] == 1) rc = lg_error(LG_E_INVALID_MODEL, "tree %d has a cycle through node %d", t, c);
            else {
                state[c] = 1;
                stack[sp++] = c;
            }
        }
    }
    free(state);
    free(stack);
    free(next);
    return rc;
}

static lg_ml_forest *forest_alloc(int n_nodes, int n_trees, int n_leaves, int n_weights)
{
    lg_ml_forest *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    f->n_nodes = n_nodes;
    f->n_trees = n_trees;
    f->n_leaves = n_leaves;
    f->nodes = calloc((size_t)n_nodes + 1, sizeof(tnode));
    f->roots = calloc((size_t)n_trees + 1, sizeof(int));
    f->leaf_begin = calloc((size_t)n_leaves + 2, sizeof(int));
    f->w_target = calloc((size_t)n_weights + 1, sizeof(int));
    f->w_value = calloc((size_t)n_weights + 1, sizeof(double));
    if (!f->nodes || !f->roots || !f->leaf_begin || !f->w_target || !f->w_value) {
        lg_ml_forest_free(f);
        return NULL;
    }
    return f;
}

/* ---- TreeEnsembleClassifier / TreeEnsembleRegressor: nodes named by (treeid, nodeid) ---- */

static const struct {
    const char *name;
    mode m;
} mode_names[] = {
    { "BRANCH_LEQ", M_LEQ }, { "BRANCH_LT", M_LT }, { "BRANCH_GTE", M_GTE }, { "BRANCH_GT", M_GT },
    { "BRANCH_EQ", M_EQ },   { "BRANCH_NEQ", M_NEQ }, { "BRANCH_MEMBER", M_MEMBER }, { "LEAF", M_LEAF },
};

static int parse_mode(const char *s, int i, int *out)
{
    for (size_t k = 0; k < sizeof(mode_names) / sizeof(mode_names[0]); k++)
        if (strcmp(s, mode_names[k].name) == 0 && mode_names[k].m != M_MEMBER) {
            *out = (int)mode_names[k].m;
            return LG_OK;
        }
    return lg_error(LG_E_INVALID_MODEL, "nodes_modes[%d] is '%s'; expected BRANCH_LEQ, BRANCH_LT, BRANCH_GTE, "
                    "BRANCH_GT, BRANCH_EQ, BRANCH_NEQ or LEAF", i, s);
}

typedef struct key {
    int64_t tree, id;
    int index;
} key;

static int cmp_key(const void *a, const void *b)
{
    const key *x = a, *y = b;
    if (x->tree != y->tree) return x->tree < y->tree ? -1 : 1;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return 0;
}

static int find_key(const key *keys, int n, int64_t tree, int64_t id)
{
    key k = { tree, id, 0 };
    const key *r = bsearch(&k, keys, (size_t)n, sizeof(key), cmp_key);
    return r ? r->index : -1;
}

typedef struct legacy_attrs {
    int n;
    const int64_t *treeids, *nodeids, *featureids, *trueids, *falseids, *missing;
    char *const *modes;
    double *values;
    int n_w;
    const int64_t *w_tree, *w_node, *w_target;
    double *w_value;
} legacy_attrs;

static int legacy_read(const lg_node *n, const char *prefix, legacy_attrs *a)
{
    int c[8];
    char name[4][64];
    a->treeids = lg_attr_ints(n, "nodes_treeids", &a->n);
    a->nodeids = lg_attr_ints(n, "nodes_nodeids", &c[0]);
    a->featureids = lg_attr_ints(n, "nodes_featureids", &c[1]);
    a->trueids = lg_attr_ints(n, "nodes_truenodeids", &c[2]);
    a->falseids = lg_attr_ints(n, "nodes_falsenodeids", &c[3]);
    a->modes = lg_attr_strings(n, "nodes_modes", &c[4]);
    a->missing = lg_attr_ints(n, "nodes_missing_value_tracks_true", &c[5]);
    LG_CHECK(lg_ml_attr_doubles(n, "nodes_values", &a->values, &c[6]));
    if (a->n == 0) return lg_error(LG_E_INVALID_MODEL, "nodes_treeids is empty: the ensemble has no trees");
    static const char *const names[] = { "nodes_nodeids", "nodes_featureids", "nodes_truenodeids", "nodes_falsenodeids",
                                         "nodes_modes" };
    for (int k = 0; k < 5; k++) LG_CHECK(lg_ml_check_len(names[k], c[k], "nodes_treeids", a->n));
    if (c[5]) LG_CHECK(lg_ml_check_len("nodes_missing_value_tracks_true", c[5], "nodes_treeids", a->n));
    if (c[6]) LG_CHECK(lg_ml_check_len("nodes_values", c[6], "nodes_treeids", a->n));
    snprintf(name[0], sizeof(name[0]), "%s_treeids", prefix);
    snprintf(name[1], sizeof(name[1]), "%s_nodeids", prefix);
    snprintf(name[2], sizeof(name[2]), "%s_ids", prefix);
    snprintf(name[3], sizeof(name[3]), "%s_weights", prefix);
    a->w_tree = lg_attr_ints(n, name[0], &a->n_w);
    a->w_node = lg_attr_ints(n, name[1], &c[0]);
    a->w_target = lg_attr_ints(n, name[2], &c[1]);
    LG_CHECK(lg_ml_attr_doubles(n, name[3], &a->w_value, &c[2]));
    for (int k = 0; k < 3; k++) LG_CHECK(lg_ml_check_len(name[k + 1], c[k], name[0], a->n_w));
    return LG_OK;
}

static int legacy_build(const legacy_attrs *a, int n_targets, lg_ml_agg agg, lg_ml_forest **out)
{
    int n = a->n;
    key *keys = malloc((size_t)n * sizeof(key));
    int *leaf_of = malloc((size_t)n * sizeof(int));
    int *tree_root = NULL, n_trees = 0, n_leaves = 0, rc = LG_OK;
    lg_ml_forest *f = NULL;
    if (!keys || !leaf_of) {
        rc = lg_error(LG_E_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        keys[i] = (key){ a->treeids[i], a->nodeids[i], i };
        int m;
        if ((rc = parse_mode(a->modes[i], i, &m)) != LG_OK) goto done;
        leaf_of[i] = m == M_LEAF ? n_leaves++ : -1;
        if (i == 0 || a->treeids[i] != a->treeids[i - 1]) n_trees++; /* upper bound; fixed below */
    }
    qsort(keys, (size_t)n, sizeof(key), cmp_key);
    for (int i = 1; i < n; i++)
        if (keys[i].tree == keys[i - 1].tree && keys[i].id == keys[i - 1].id) {
            rc = lg_error(LG_E_INVALID_MODEL, "tree %lld has two nodes with id %lld", (long long)keys[i].tree,
                          (long long)keys[i].id);
            goto done;
        }
    if (!(f = forest_alloc(n, n_trees, n_leaves, a->n_w))) {
        rc = lg_error(LG_E_NOMEM, "out of memory");
        goto done;
    }
    /* Trees in order of first appearance; a tree's root is its first node listed. */
    if (!(tree_root = malloc((size_t)n_trees * sizeof(int)))) {
        rc = lg_error(LG_E_NOMEM, "out of memory");
        goto done;
    }
    n_trees = 0;
    for (int i = 0; i < n; i++) {
        bool seen = false;
        for (int t = n_trees - 1; t >= 0 && !seen; t--) seen = a->treeids[tree_root[t]] == a->treeids[i];
        if (!seen) tree_root[n_trees++] = i;
    }
    f->n_trees = n_trees;
    for (int t = 0; t < n_trees; t++) {
        int i = tree_root[t];
        f->roots[t] = leaf_of[i] >= 0 ? -leaf_of[i] - 1 : i;
    }
    for (int i = 0; i < n; i++) {
        tnode *nd = &f->nodes[i];
        (void)parse_mode(a->modes[i], i, &nd->mode);
        nd->value = a->values ? a->values[i] : 0;
        nd->missing_true = a->missing && a->missing[i];
        if (nd->mode == M_LEAF) continue;
        if (a->featureids[i] < 0 || a->featureids[i] > INT32_MAX) {
            rc = lg_error(LG_E_INVALID_MODEL, "node %d (tree %lld, id %lld): feature id %lld is negative", i,
                          (long long)a->treeids[i], (long long)a->nodeids[i], (long long)a->featureids[i]);
            goto done;
        }
        nd->feature = (int)a->featureids[i];
        const int64_t ids[2] = { a->trueids[i], a->falseids[i] };
        for (int b = 0; b < 2; b++) {
            int j = find_key(keys, n, a->treeids[i], ids[b]);
            if (j < 0) {
                rc = lg_error(LG_E_INVALID_MODEL, "node %d (tree %lld, id %lld): %s child id %lld is not a node of tree %lld",
                              i, (long long)a->treeids[i], (long long)a->nodeids[i], b ? "false" : "true",
                              (long long)ids[b], (long long)a->treeids[i]);
                goto done;
            }
            nd->child[b] = leaf_of[j] >= 0 ? -leaf_of[j] - 1 : j;
        }
    }
    /* Weights grouped by leaf (counting sort). */
    int *slot = malloc(((size_t)a->n_w + 1) * sizeof(int));
    if (!slot) {
        rc = lg_error(LG_E_NOMEM, "out of memory");
        goto done;
    }
    for (int w = 0; w < a->n_w && rc == LG_OK; w++) {
        int j = find_key(keys, n, a->w_tree[w], a->w_node[w]);
        if (j < 0 || leaf_of[j] < 0)
            rc = lg_error(LG_E_INVALID_MODEL, "weight %d refers to (tree %lld, node %lld), which is %s", w,
                          (long long)a->w_tree[w], (long long)a->w_node[w], j < 0 ? "not a node" : "not a LEAF");
        else if (a->w_target[w] < 0 || a->w_target[w] >= n_targets)
            rc = lg_error(LG_E_INVALID_MODEL, "weight %d: target/class id %lld is outside 0..%d", w,
                          (long long)a->w_target[w], n_targets - 1);
        else {
            slot[w] = leaf_of[j];
            f->leaf_begin[leaf_of[j] + 1]++;
        }
    }
    if (rc == LG_OK) {
        for (int l = 0; l < n_leaves; l++) f->leaf_begin[l + 1] += f->leaf_begin[l];
        int *fill = calloc((size_t)n_leaves + 1, sizeof(int));
        if (!fill) rc = lg_error(LG_E_NOMEM, "out of memory");
        for (int w = 0; w < a->n_w && fill; w++) {
            int at = f->leaf_begin[slot[w]] + fill[slot[w]]++;
            f->w_target[at] = (int)a->w_target[w];
            f->w_value[at] = a->w_value[w];
        }
        free(fill);
    }
    free(slot);
    f->n_targets = n_targets;
    f->agg = agg;
    if (rc == LG_OK) rc = check_acyclic(f);
done:
    free(keys);
    free(leaf_of);
    free(tree_root);
    if (rc != LG_OK) lg_ml_forest_free(f);
    else *out = f;
    return rc;
}

int lg_ml_forest_from_legacy(const lg_node *n, const char *prefix, int n_targets, lg_ml_agg agg, lg_ml_forest **out)
{
    legacy_attrs a = { 0 };
    int rc = legacy_read(n, prefix, &a);
    if (rc == LG_OK) rc = legacy_build(&a, n_targets, agg, out);
    free(a.values);
    free(a.w_value);
    return rc;
}

/* ---- TreeEnsemble (opset 5): nodes and leaves by index ---- */

static int tensor_len(const lg_node *n, const char *name, const lg_tensor **t)
{
    *t = lg_attr_tensor(n, name);
    return *t ? (int)lg_tensor_numel_(*t) : 0;
}

int lg_ml_forest_from_v5(const lg_node *n, lg_ml_forest **out)
{
    int nn, c[6], n_roots, n_leaves, n_lt;
    const int64_t *feat = lg_attr_ints(n, "nodes_featureids", &nn);
    const int64_t *tids = lg_attr_ints(n, "nodes_truenodeids", &c[0]);
    const int64_t *fids = lg_attr_ints(n, "nodes_falsenodeids", &c[1]);
    const int64_t *tleaf = lg_attr_ints(n, "nodes_trueleafs", &c[2]);
    const int64_t *fleaf = lg_attr_ints(n, "nodes_falseleafs", &c[3]);
    const int64_t *missing = lg_attr_ints(n, "nodes_missing_value_tracks_true", &c[4]);
    const int64_t *roots = lg_attr_ints(n, "tree_roots", &n_roots);
    const int64_t *leaf_t = lg_attr_ints(n, "leaf_targetids", &n_lt);
    const lg_tensor *splits, *modes, *weights, *members;
    int n_splits = tensor_len(n, "nodes_splits", &splits), n_modes = tensor_len(n, "nodes_modes", &modes);
    n_leaves = tensor_len(n, "leaf_weights", &weights);
    int n_members = tensor_len(n, "membership_values", &members);
    int64_t n_targets = lg_attr_int(n, "n_targets", 0), agg = lg_attr_int(n, "aggregate_function", 1);
    if (nn == 0 || n_roots == 0) return lg_error(LG_E_INVALID_MODEL, "nodes_featureids and tree_roots must not be empty");
    static const char *const names[] = { "nodes_truenodeids", "nodes_falsenodeids", "nodes_trueleafs", "nodes_falseleafs" };
    for (int k = 0; k < 4; k++) LG_CHECK(lg_ml_check_len(names[k], c[k], "nodes_featureids", nn));
    if (c[4]) LG_CHECK(lg_ml_check_len("nodes_missing_value_tracks_true", c[4], "nodes_featureids", nn));
    LG_CHECK(lg_ml_check_len("nodes_splits", n_splits, "nodes_featureids", nn));
    LG_CHECK(lg_ml_check_len("nodes_modes", n_modes, "nodes_featureids", nn));
    LG_CHECK(lg_ml_check_len("leaf_targetids", n_lt, "leaf_weights", n_leaves));
    if (n_targets < 1 || n_targets > (1 << 24))
        return lg_error(LG_E_INVALID_MODEL, "n_targets is %lld; expected 1 or more", (long long)n_targets);
    if (agg < 0 || agg > 3)
        return lg_error(LG_E_INVALID_MODEL, "aggregate_function %lld is outside 0..3 (AVERAGE, SUM, MIN, MAX)", (long long)agg);
    if (!lg_dtype_is_int(modes->dtype))
        return lg_error(LG_E_INVALID_MODEL, "nodes_modes has dtype %s; expected uint8", lg_dtype_name(modes->dtype));
    lg_ml_forest *f = forest_alloc(nn, n_roots, n_leaves, n_leaves);
    if (!f) return lg_error(LG_E_NOMEM, "out of memory");
    f->n_targets = (int)n_targets;
    f->agg = (lg_ml_agg)agg;
    if (n_members) {
        f->sets = malloc((size_t)n_members * sizeof(double));
        if (!f->sets) {
            lg_ml_forest_free(f);
            return lg_error(LG_E_NOMEM, "out of memory");
        }
        for (int k = 0; k < n_members; k++) f->sets[k] = lg_tensor_get_f64(members, k);
        f->n_sets = n_members;
    }
    int rc = LG_OK, set_at = 0;
    for (int i = 0; i < nn && rc == LG_OK; i++) {
        tnode *nd = &f->nodes[i];
        int64_t m = lg_tensor_get_i64(modes, i);
        if (m < M_LEQ || m > M_MEMBER) {
            rc = lg_error(LG_E_INVALID_MODEL, "nodes_modes[%d] is %lld; expected 0..6 (BRANCH_LEQ..BRANCH_MEMBER)", i, (long long)m);
            break;
        }
        nd->mode = (int)m;
        nd->value = lg_tensor_get_f64(splits, i);
        nd->missing_true = missing && missing[i];
        if (feat[i] < 0 || feat[i] > INT32_MAX) {
            rc = lg_error(LG_E_INVALID_MODEL, "nodes_featureids[%d] is %lld", i, (long long)feat[i]);
            break;
        }
        nd->feature = (int)feat[i];
        if (nd->mode == M_MEMBER) {
            nd->set_begin = set_at;
            while (set_at < f->n_sets && !isnan(f->sets[set_at])) set_at++;
            nd->set_end = set_at;
            if (set_at < f->n_sets) set_at++; /* the NaN between sets */
        }
        const int64_t ids[2] = { tids[i], fids[i] }, leaf[2] = { tleaf[i], fleaf[i] };
        for (int b = 0; b < 2 && rc == LG_OK; b++) {
            int64_t lim = leaf[b] ? n_leaves : nn;
            if (ids[b] < 0 || ids[b] >= lim)
                rc = lg_error(LG_E_INVALID_MODEL, "node %d: %s child %lld is outside the %s (0..%lld)", i, b ? "false" : "true",
                              (long long)ids[b], leaf[b] ? "leaves" : "nodes", (long long)lim - 1);
            else nd->child[b] = leaf[b] ? (int)(-ids[b] - 1) : (int)ids[b];
        }
    }
    for (int t = 0; t < n_roots && rc == LG_OK; t++) {
        if (roots[t] < 0 || roots[t] >= nn)
            rc = lg_error(LG_E_INVALID_MODEL, "tree_roots[%d] is %lld, outside the nodes (0..%d)", t, (long long)roots[t], nn - 1);
        else f->roots[t] = (int)roots[t];
    }
    for (int l = 0; l < n_leaves && rc == LG_OK; l++) {
        if (leaf_t[l] < 0 || leaf_t[l] >= n_targets)
            rc = lg_error(LG_E_INVALID_MODEL, "leaf_targetids[%d] is %lld, outside 0..%lld", l, (long long)leaf_t[l],
                          (long long)n_targets - 1);
        f->leaf_begin[l + 1] = l + 1;
        f->w_target[l] = (int)leaf_t[l];
        f->w_value[l] = lg_tensor_get_f64(weights, l);
    }
    if (rc == LG_OK) rc = check_acyclic(f);
    if (rc != LG_OK) {
        lg_ml_forest_free(f);
        return rc;
    }
    *out = f;
    return LG_OK;
}
