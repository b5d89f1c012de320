/*
 * door.c: the checks a task passes at submission, before anything is stored: the model
 * must exist (in the coordinator's repository, which workers fetch from, or in a live
 * worker's advertisement), and the input must fit the model's declared inputs (names,
 * datatypes, ranks and fixed dimensions) when the coordinator knows them. A task that
 * could only fail on a worker is refused here: 404 or 400, naming what would fit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "base/error.h"
#include "cluster/payload_kserve.h"

#define NAMES_MAX 1024 /* bytes of model names listed in a 404 */

typedef struct known_acc {
    const char *model;
    bool found;
    int live;
    char names[NAMES_MAX];
} known_acc;

static void add_name(known_acc *k, const char *name)
{
    char quoted[80];
    snprintf(quoted, sizeof quoted, "'%s'", name);
    if (strstr(k->names, quoted)) return; /* listed already */
    size_t n = strlen(k->names);
    if (n + strlen(quoted) + 3 >= sizeof k->names) return;
    snprintf(k->names + n, sizeof k->names - n, "%s%s", n ? ", " : "", quoted);
}

static void visit_worker(void *arg, const lg_worker_view *w)
{
    known_acc *k = arg;
    if (w->status == LG_WORKER_DEAD) return;
    k->live++;
    for (int i = 0; i < w->info.n_models; i++) {
        if (strcmp(w->info.models[i], k->model) == 0) k->found = true;
        add_name(k, w->info.models[i]);
    }
}

/* 404 unless model is in the repository or on a live worker. With neither a repository
 * nor a live worker nothing is known yet: the task waits for a worker. */
static bool model_known(lg_api *a, const char *model, lg_http_reply *rep)
{
    known_acc k = { .model = model };
    bool have_repo = false;
    pthread_mutex_lock(&a->models_lock);
    if (a->repo) {
        have_repo = true;
        if (lg_repo_find(a->repo, model, NULL, NULL) != LG_OK) {
            lg_repo_rescan(a->repo); /* a model dropped into the folder since */
            k.found = lg_repo_find(a->repo, model, NULL, NULL) == LG_OK;
        } else {
            k.found = true;
        }
        for (int i = 0; !k.found && i < lg_repo_num_models(a->repo); i++) add_name(&k, lg_repo_model_name(a->repo, i));
    }
    pthread_mutex_unlock(&a->models_lock);
    lg_error_clear();
    if (k.found) return true;
    lg_coord_workers(a->coord, -1, visit_worker, &k);
    if (k.found || (!have_repo && k.live == 0)) return true;
    lg_coord_count_rejection(a->coord, LG_REJECT_UNKNOWN_MODEL);
    lg_reply_error(rep, 404, "unknown model '%s': neither the coordinator's repository nor a live worker has it (models: %s)",
                   model, k.names[0] ? k.names : "none");
    return false;
}

/* "[?,1,8,8]" of a JSON shape array (? for a dimension of any size). */
static void shape_text(json_t *shape, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "[");
    for (size_t i = 0; i < json_array_size(shape) && n < cap; i++) {
        json_int_t d = json_integer_value(json_array_get(shape, i));
        n += d < 0 ? (size_t)snprintf(out + n, cap - n, "%s?", i ? "," : "")
                   : (size_t)snprintf(out + n, cap - n, "%s%lld", i ? "," : "", (long long)d);
    }
    if (n < cap) snprintf(out + n, cap - n, "]");
}

/* "[1,1,8,8]" of dims. */
static void dims_text(int nd, const int64_t *dims, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "[");
    for (int i = 0; i < nd && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (n < cap) snprintf(out + n, cap - n, "]");
}

/* 400 when a tensor of got_dtype (KServe name, NULL: unknown) and dims cannot be input
 * `want` ({name, datatype, shape}) of the model. */
static bool tensor_fits(const char *model, json_t *want, const char *got_dtype, int nd, const int64_t *dims,
                        lg_http_reply *rep)
{
    const char *name = json_string_value(json_object_get(want, "name"));
    const char *dtype = json_string_value(json_object_get(want, "datatype"));
    json_t *shape = json_object_get(want, "shape");
    bool ok = !dtype || !got_dtype || strcmp(dtype, got_dtype) == 0;
    if (ok && json_is_array(shape)) {
        ok = (size_t)nd == json_array_size(shape);
        for (int i = 0; ok && i < nd; i++) {
            json_int_t d = json_integer_value(json_array_get(shape, (size_t)i));
            ok = d < 0 || d == dims[i];
        }
    }
    if (ok) return true;
    char expect[256], got[256];
    shape_text(shape, expect, sizeof expect);
    dims_text(nd, dims, got, sizeof got);
    lg_reply_error(rep, 400, "input '%s' of model '%s' must be %s %s; got %s %s", name ? name : "?", model,
                   dtype ? dtype : "", expect, got_dtype ? got_dtype : "?", got);
    return false;
}

/* The model input named name (or at position i when name is NULL), or NULL. */
static json_t *model_input(json_t *inputs, const char *name, size_t i)
{
    if (!name) return json_array_get(inputs, i);
    for (size_t k = 0; k < json_array_size(inputs); k++) {
        json_t *in = json_array_get(inputs, k);
        if (strcmp(json_string_value(json_object_get(in, "name")) ?: "", name) == 0) return in;
    }
    return NULL;
}

static void input_list(json_t *inputs, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t k = 0; k < json_array_size(inputs) && n < cap; k++) {
        json_t *in = json_array_get(inputs, k);
        char shape[128];
        shape_text(json_object_get(in, "shape"), shape, sizeof shape);
        n += (size_t)snprintf(out + n, cap - n, "%s'%s' %s %s", k ? ", " : "",
                              json_string_value(json_object_get(in, "name")) ?: "?",
                              json_string_value(json_object_get(in, "datatype")) ?: "?", shape);
    }
}

/* 400 when the input cannot match the model's declared inputs. */
static bool input_fits(const char *model, json_t *inputs, lg_input_kind kind, const uint8_t *input, size_t len,
                       json_t *doc, lg_http_reply *rep)
{
    bool ok = true;
    if (kind == LG_INPUT_JSON) {
        /* Only names, datatypes and shapes: the data is checked by lg_payload_validate. */
        json_t *own = doc ? NULL : json_loadb((const char *)input, len, 0, NULL);
        json_t *list = json_is_array(doc) ? doc : json_object_get(doc ? doc : own, "inputs");
        for (size_t i = 0; ok && i < json_array_size(list); i++) {
            json_t *in = json_array_get(list, i), *shape = json_object_get(in, "shape");
            const char *name = json_string_value(json_object_get(in, "name"));
            int64_t dims[16];
            int nd = json_is_array(shape) && json_array_size(shape) <= 16 ? (int)json_array_size(shape) : -1;
            for (int d = 0; d < nd; d++) {
                json_t *v = json_array_get(shape, (size_t)d);
                if (!json_is_integer(v)) nd = -1;
                else dims[d] = json_integer_value(v);
            }
            if (nd < 0) continue; /* malformed: lg_payload_validate says how */
            json_t *want = model_input(inputs, name, i);
            if (!want) {
                char names[512];
                input_list(inputs, names, sizeof names);
                if (name)
                    lg_reply_error(rep, 400, "model '%s' has no input '%s' (its inputs: %s)", model, name, names);
                else
                    lg_reply_error(rep, 400, "model '%s' takes %zu inputs, the request gives %zu (its inputs: %s)",
                                   model, json_array_size(inputs), json_array_size(list), names);
                ok = false;
            } else {
                ok = tensor_fits(model, want, json_string_value(json_object_get(in, "datatype")), nd, dims, rep);
            }
        }
        json_decref(own);
    } else if ((kind == LG_INPUT_NPY || kind == LG_INPUT_PB) && json_array_size(inputs) == 1) {
        lg_tensor *t = NULL;
        int rc = kind == LG_INPUT_NPY ? lg_tensor_read_npy(input, len, &t) : lg_tensor_read_pb(input, len, &t, NULL);
        if (rc == LG_OK)
            ok = tensor_fits(model, json_array_get(inputs, 0), lg_kserve_datatype(lg_tensor_dtype(t)),
                             lg_tensor_ndim(t), lg_tensor_dims(t), rep);
        lg_tensor_free(t);
        lg_error_clear();
    }
    return ok;
}

bool lg_api_door(lg_api *a, const char *model, lg_input_kind kind, const uint8_t *input, size_t len, json_t *doc,
                 lg_http_reply *rep)
{
    if (!model_known(a, model, rep)) return false;
    json_t *inputs = NULL;
    if (lg_api_model_meta(a, model, NULL, &inputs) != LG_OK) { /* known from a worker only: no shapes here */
        lg_error_clear();
        return true;
    }
    bool ok = !json_is_array(inputs) || input_fits(model, inputs, kind, input, len, doc, rep);
    json_decref(inputs);
    if (!ok) lg_coord_count_rejection(a->coord, LG_REJECT_BAD_INPUT);
    return ok;
}
