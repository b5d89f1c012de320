/*
 * payload_result.c: encoding a task's outputs as its result body, with the
 * postprocessing of the model's config (classify: softmax as configured, top-K classes
 * with labels, per batch item).
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/tensor_impl.h"
#include "cluster/payload_kserve.h"
#include "cluster/payload_result.h"

/* The top-k classes of values [first, first + n) of out; v is scratch for n values. */
static json_t *top_classes(const lg_tensor *out, int64_t first, int64_t n, const lg_postprocess *pp,
                           const lg_model_config *config, double *v, lg_class_score *top_k)
{
    for (int64_t i = 0; i < n; i++) v[i] = lg_tensor_get_f64(out, first + i);
    int m = lg_classify(v, n, pp, pp->top_k, top_k);
    json_t *top = m >= 0 ? json_array() : NULL;
    for (int i = 0; top && i < m; i++) {
        double p = isfinite(top_k[i].probability) ? top_k[i].probability : 0.0;
        if (json_array_append_new(top, json_pack("{s:i, s:s?, s:f}", "index", top_k[i].index, "label",
                                                 lg_model_config_label(config, top_k[i].index), "probability", p))) {
            json_decref(top);
            return NULL;
        }
    }
    return top;
}

/* {"type": "classify", "top_k": [[...] per batch item]}, or null when it does not apply. */
static json_t *postprocessed(const lg_tensor *out, const lg_model_config *config)
{
    lg_postprocess pp;
    if (!config) return json_null();
    lg_model_config_postprocess(config, &pp);
    int64_t numel = lg_tensor_numel_(out);
    if (pp.type != LG_POSTPROCESS_CLASSIFY || out->ndim < 1 || out->dims[0] < 1 || numel < 1 ||
        out->dtype == LG_STRING || lg_dtype_size(out->dtype) == 0 || pp.top_k < 1)
        return json_null();
    int64_t batch = out->dims[0], per_item = numel / batch;
    double *v = malloc((size_t)per_item * sizeof(*v));
    lg_class_score *top_k = malloc((size_t)pp.top_k * sizeof(*top_k));
    json_t *items = json_array();
    for (int64_t b = 0; v && top_k && items && b < batch; b++) {
        json_t *top = top_classes(out, b * per_item, per_item, &pp, config, v, top_k);
        if (!top || json_array_append_new(items, top)) {
            json_decref(items);
            items = NULL;
        }
    }
    if (!v || !top_k) {
        json_decref(items);
        items = NULL;
    }
    free(v);
    free(top_k);
    return items ? json_pack("{s:s, s:o}", "type", "classify", "top_k", items) : NULL;
}

int lg_result_encode(const char *model, int n, const char *const *names, lg_tensor *const *outputs,
                     const lg_model_config *config, char **out)
{
    json_t *outs = json_array();
    json_t *root = json_pack("{s:s, s:o}", "model_name", model, "outputs", outs);
    int precision = 9;
    if (!root) return lg_error(LG_E_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        json_t *t = lg_kserve_tensor_json(names[i], outputs[i]);
        if (!t) {
            json_decref(root);
            return lg_error(LG_E_UNSUPPORTED, "output '%s' is %s, which a result cannot carry", names[i],
                            lg_dtype_name(outputs[i]->dtype));
        }
        json_array_append_new(outs, t);
        if (outputs[i]->dtype == LG_DOUBLE) precision = 17;
    }
    json_t *post = n > 0 ? postprocessed(outputs[0], config) : json_null();
    if (!post || json_object_set_new(root, "postprocessed", post)) {
        json_decref(root);
        return lg_error(LG_E_NOMEM, "out of memory");
    }
    *out = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(precision));
    json_decref(root);
    return *out ? LG_OK : lg_error(LG_E_NOMEM, "out of memory");
}
