/*
 * routes_kserve.c: the KServe v2 / Triton HTTP protocol: liveness, readiness, model
 * metadata from the coordinator's model repository (loaded once per model and kept),
 * and inference that submits a task through the cluster and answers when it is done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_internal.h"
#include "base/error.h"
#include "cluster/executor.h"
#include "legacygpu/engine.h"

#define INFER_WAIT_S 60.0

/* Engine dtype -> KServe v2 datatype. */
static const struct {
    lg_dtype dt;
    const char *name;
} kserve_types[] = {
    {LG_FLOAT, "FP32"},   {LG_UINT8, "UINT8"},   {LG_INT8, "INT8"},   {LG_UINT16, "UINT16"}, {LG_INT16, "INT16"},
    {LG_INT32, "INT32"},  {LG_INT64, "INT64"},   {LG_STRING, "BYTES"}, {LG_BOOL, "BOOL"},    {LG_FLOAT16, "FP16"},
    {LG_DOUBLE, "FP64"},  {LG_UINT32, "UINT32"}, {LG_UINT64, "UINT64"}, {LG_BFLOAT16, "BF16"},
};

static const char *kserve_type(lg_dtype dt)
{
    for (size_t i = 0; i < sizeof kserve_types / sizeof kserve_types[0]; i++)
        if (kserve_types[i].dt == dt) return kserve_types[i].name;
    return "UNKNOWN";
}

static json_t *value_json(const lg_value_info *v)
{
    json_t *shape = json_array();
    for (int d = 0; d < v->ndim; d++) json_array_append_new(shape, json_integer(v->dims[d] < 0 ? -1 : v->dims[d]));
    return json_pack("{s:s,s:s,s:o}", "name", v->name, "datatype", kserve_type(v->dtype), "shape", shape);
}

/* Builds the metadata text of model name; LG_E_NOT_FOUND when the repository lacks it. */
static int build_meta(lg_api *a, const char *name, char **out)
{
    if (!a->repo) return lg_error(LG_E_NOT_FOUND, "unknown model '%s': the coordinator has no model repository", name);
    const char *path;
    if (lg_repo_find(a->repo, name, &path, NULL) != LG_OK) {
        lg_repo_rescan(a->repo);
        LG_CHECK(lg_repo_find(a->repo, name, &path, NULL));
    }
    lg_model *m;
    LG_CHECK(lg_model_load(path, &m));
    json_t *inputs = json_array(), *outputs = json_array();
    lg_value_info v;
    for (int i = 0; i < lg_model_num_inputs(m); i++)
        if (lg_model_input_info(m, i, &v) == LG_OK) json_array_append_new(inputs, value_json(&v));
    for (int i = 0; i < lg_model_num_outputs(m); i++)
        if (lg_model_output_info(m, i, &v) == LG_OK) json_array_append_new(outputs, value_json(&v));
    json_t *j = json_pack("{s:s,s:[s],s:s,s:o,s:o}", "name", name, "versions", "1", "platform", "onnx", "inputs",
                          inputs, "outputs", outputs);
    lg_model_free(m);
    *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return LG_OK;
}

/* The metadata text of a model (a copy), built on first use. */
int lg_api_model_meta(lg_api *a, const char *name, char **out, json_t **inputs)
{
    pthread_mutex_lock(&a->models_lock);
    int rc = LG_OK;
    int i = 0;
    while (i < a->n_meta && strcmp(a->meta[i].name, name) != 0) i++;
    if (i == a->n_meta) {
        char *json = NULL;
        rc = strlen(name) < sizeof a->meta[0].name ? build_meta(a, name, &json)
                                                    : lg_error(LG_E_NOT_FOUND, "unknown model '%s'", name);
        lg_model_meta_entry *v = rc == LG_OK ? realloc(a->meta, (size_t)(a->n_meta + 1) * sizeof *v) : NULL;
        if (v) {
            a->meta = v;
            snprintf(v[i].name, sizeof v[i].name, "%s", name);
            v[i].json = json;
            json_t *j = json_loads(json, 0, NULL);
            v[i].inputs = json_incref(json_object_get(j, "inputs"));
            json_decref(j);
            a->n_meta++;
        } else {
            free(json);
            if (rc == LG_OK) rc = lg_error(LG_E_NOMEM, "out of memory");
        }
    }
    if (rc == LG_OK && inputs) *inputs = json_incref(a->meta[i].inputs);
    else if (rc == LG_OK) *out = strdup(a->meta[i].json);
    pthread_mutex_unlock(&a->models_lock);
    return rc;
}

void lg_api_models_free(lg_api *a)
{
    for (int i = 0; i < a->n_meta; i++) {
        free(a->meta[i].json);
        json_decref(a->meta[i].inputs);
    }
    free(a->meta);
    a->meta = NULL;
    a->n_meta = 0;
}

void lg_h_v2_server(lg_http_req *req, lg_http_reply *rep)
{
    lg_reply_json(rep, 200, json_pack("{s:s,s:s,s:[]}", "name", "legacygpu", "version", lg_version(), "extensions"));
}

void lg_h_v2_live(lg_http_req *req, lg_http_reply *rep)
{
    lg_reply_json(rep, 200, json_pack("{s:b}", "live", 1));
}

void lg_h_v2_ready(lg_http_req *req, lg_http_reply *rep)
{
    if (lg_api_ready_workers(req->api) > 0)
        lg_reply_json(rep, 200, json_pack("{s:b}", "ready", 1));
    else
        lg_reply_error(rep, 503, "not ready: %s",
                       lg_coord_draining(req->api->coord) ? "the cluster is draining" : "no worker is alive");
}

void lg_h_v2_model(lg_http_req *req, lg_http_reply *rep)
{
    char *meta;
    int rc = lg_api_model_meta(req->api, req->params[0], &meta, NULL);
    if (rc == LG_E_NOT_FOUND)
        lg_reply_error(rep, 404, "unknown model '%s'", req->params[0]);
    else if (rc != LG_OK)
        lg_reply_status(rep, rc);
    else
        lg_reply_text(rep, 200, "application/json", meta, strlen(meta));
}

void lg_h_v2_model_ready(lg_http_req *req, lg_http_reply *rep)
{
    char *meta;
    int rc = lg_api_model_meta(req->api, req->params[0], &meta, NULL);
    if (rc != LG_OK) {
        lg_reply_error(rep, rc == LG_E_NOT_FOUND ? 404 : 500, "unknown model '%s'", req->params[0]);
        return;
    }
    free(meta);
    if (lg_api_ready_workers(req->api) > 0)
        lg_reply_json(rep, 200, json_pack("{s:s,s:b}", "name", req->params[0], "ready", 1));
    else
        lg_reply_error(rep, 503, "model '%s' is not ready: no worker can take work", req->params[0]);
}

/* The KServe v2 response from a completed task's result body. */
static json_t *infer_response(const char *model, const char *id, const lg_task *t)
{
    json_t *result = t->result ? json_loads(t->result, 0, NULL) : NULL;
    json_t *outputs = result ? json_object_get(result, "outputs") : NULL;
    json_t *post = result ? json_object_get(result, "postprocessed") : NULL;
    json_t *j = json_pack("{s:s,s:s,s:s,s:O,s:{s:s,s:O}}", "model_name", model, "model_version", "1", "id", id,
                          "outputs", outputs ? outputs : json_array(), "parameters", "task_id", t->id,
                          "postprocessed", post ? post : json_null());
    json_decref(result);
    return j;
}

/* Final states other than COMPLETED -> HTTP status. */
static int final_status(lg_task_state s)
{
    return s == LG_TASK_TIMED_OUT ? 408 : s == LG_TASK_CANCELLED ? 409 : 500;
}

void lg_h_v2_infer(lg_http_req *req, lg_http_reply *rep)
{
    lg_api *a = req->api;
    const char *name = req->params[0];
    const char *ct = lg_http_header(req, "Content-Type");
    if (ct && strncasecmp(ct, "application/json", 16) != 0) {
        lg_reply_error(rep, 415, "unsupported content type '%s' (KServe v2 inference takes application/json)", ct);
        return;
    }
    json_t *body = lg_http_body_object(req, rep);
    if (!body) return;
    const char *rid = json_string_value(json_object_get(body, "id"));
    lg_submit_request sr = {.model = name, .priority = LG_PRIO_NORMAL, .input_kind = LG_INPUT_JSON};
    if (!json_is_array(json_object_get(body, "inputs"))) {
        lg_reply_error(rep, 400, "field 'inputs' must be a list of tensors");
        json_decref(body);
        return;
    }
    sr.input = (const uint8_t *)req->body;
    sr.input_len = req->body_len;
    int rc = lg_api_door(a, name, sr.input_kind, sr.input, sr.input_len, body, rep) ? LG_OK : LG_E_INVALID_ARG;
    lg_submit_result res;
    if (rc != LG_OK)
        ; /* the door replied */
    else if ((rc = lg_payload_validate(sr.input_kind, sr.input, sr.input_len)) != LG_OK)
        lg_reply_error(rep, 400, "bad input: %s", lg_last_error());
    else if ((rc = lg_coord_submit(a->coord, &sr, &res)) != LG_OK)
        lg_reply_status(rep, rc);
    json_t *rid_keep = rid ? json_string(rid) : NULL;
    json_decref(body);
    if (rc != LG_OK) {
        json_decref(rid_keep);
        return;
    }
    lg_task t;
    bool final = false;
    rc = lg_api_task_wait(a, res.task_id, INFER_WAIT_S, &t, &final);
    const char *id = rid_keep ? json_string_value(rid_keep) : res.task_id;
    if (rc != LG_OK)
        lg_reply_status(rep, rc);
    else if (!final)
        lg_reply_error(rep, 408, "task '%s' is still %s after %g s", res.task_id, lg_task_state_name(t.state),
                       INFER_WAIT_S);
    else if (t.state == LG_TASK_COMPLETED)
        lg_reply_json(rep, 200, infer_response(name, id, &t));
    else
        lg_reply_error(rep, final_status(t.state), "task '%s' %s: %s", res.task_id, lg_task_state_name(t.state),
                       t.error ? t.error : "no reason given");
    if (rc == LG_OK) lg_task_clear(&t);
    json_decref(rid_keep);
}
