/*
 * classify.c: classification postprocessing shared by `legacygpu infer` and the cluster's
 * result bodies: softmax when asked (or when the scores are not a distribution yet), then
 * the top-k classes.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/error.h"
#include "legacygpu/repository.h"

static int by_probability_desc(const void *a, const void *b)
{
    const lg_class_score *x = a, *y = b;
    if (x->probability != y->probability) return x->probability < y->probability ? 1 : -1;
    return x->index - y->index;
}

static bool is_distribution(const double *v, int64_t n)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (!(v[i] >= 0.0 && v[i] <= 1.0)) return false;
        sum += v[i];
    }
    return fabs(sum - 1.0) < 1e-3;
}

int lg_classify(const double *scores, int64_t n, const lg_postprocess *pp, int k, lg_class_score *out)
{
    if (n < 0 || k < 0 || (n > 0 && (!scores || !out)) || !pp)
        return lg_error(LG_E_INVALID_ARG, "lg_classify: bad arguments");
    if (n == 0 || k == 0) return 0;
    lg_class_score *all = malloc((size_t)n * sizeof(*all));
    if (!all) return lg_error(LG_E_NOMEM, "out of memory classifying %lld scores", (long long)n);
    bool soft = pp->softmax == LG_SOFTMAX_ON || (pp->softmax == LG_SOFTMAX_AUTO && !is_distribution(scores, n));
    double mx = -INFINITY, sum = 0.0;
    if (soft) {
        for (int64_t i = 0; i < n; i++) mx = scores[i] > mx ? scores[i] : mx;
        for (int64_t i = 0; i < n; i++) sum += exp(scores[i] - mx);
    }
    for (int64_t i = 0; i < n; i++)
        all[i] = (lg_class_score){ (int)i, soft ? exp(scores[i] - mx) / sum : scores[i] };
    qsort(all, (size_t)n, sizeof(*all), by_probability_desc);
    int m = k < n ? k : (int)n;
    for (int i = 0; i < m; i++) out[i] = all[i];
    free(all);
    return m;
}
