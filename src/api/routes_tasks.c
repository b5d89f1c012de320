/*
 * routes_tasks.c: the /cluster/tasks endpoints: submitting (a JSON body with
 * "model_name" and "input_data", or a raw .npy/.pb/image body with ?model=), status,
 * result with long-poll, listing with a cursor, and cancelling.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_internal.h"
#include "base/error.h"
#include "cluster/executor.h"

#define MAX_WAIT_S 300.0
#define MAX_TIMEOUT_S 86400.0

/* Raw bodies: content type -> input kind. */
static const struct {
    const char *mime;
    lg_input_kind kind;
} raw_types[] = {
    {"application/octet-stream", LG_INPUT_NPY}, {"application/x-npy", LG_INPUT_NPY},
    {"application/x-protobuf", LG_INPUT_PB},    {"image/png", LG_INPUT_IMAGE},
    {"image/jpeg", LG_INPUT_IMAGE},
};

static bool mime_is(const char *ct, const char *mime)
{
    size_t n = strlen(mime);
    return strncasecmp(ct, mime, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

json_t *lg_task_status_json(const lg_task *t)
{
    json_t *req = NULL;
    char *rj = lg_requirements_to_json(&t->req);
    if (rj) req = json_loads(rj, 0, NULL);
    free(rj);
    return json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:s?,s:o,s:o,s:o,s:o,s:f,s:o,s:s?}", "task_id", t->id, "status",
                     lg_task_state_name(t->state), "model_name", t->model ? t->model : "", "priority",
                     lg_priority_name(t->priority), "attempts", t->attempts, "max_attempts", t->max_attempts,
                     "worker_id", t->worker_id[0] ? t->worker_id : NULL, "created_at", lg_json_time(t->created_at),
                     "updated_at", lg_json_time(t->updated_at), "started_at", lg_json_time(t->started_at),
                     "finished_at", lg_json_time(t->finished_at), "timeout", t->timeout_s, "requirements",
                     req ? req : json_object(), "error", t->error);
}

/* "input_data" -> input kind and bytes (malloc'd). */
static bool decode_input(json_t *in, lg_http_reply *rep, lg_input_kind *kind, uint8_t **data, size_t *len)
{
    json_t *img = json_object_get(in, "image_base64");
    if (json_is_object(in) && img) {
        if (!json_is_string(img)) {
            lg_reply_error(rep, 400, "field 'input_data.image_base64' must be a base64 string");
            return false;
        }
        *data = lg_base64_decode(json_string_value(img), len);
        if (!*data || *len == 0) {
            free(*data);
            lg_reply_error(rep, 400, "field 'input_data.image_base64' is not valid base64");
            return false;
        }
        *kind = LG_INPUT_IMAGE;
        return true;
    }
    json_t *doc;
    if (json_is_array(in))
        doc = json_pack("{s:O}", "inputs", in);
    else if (json_is_object(in) && json_is_array(json_object_get(in, "inputs")))
        doc = json_incref(in);
    else {
        lg_reply_error(rep, 400,
                       "field 'input_data' must be a KServe v2 object {\"inputs\": [...]}, a list of tensors, or "
                       "{\"image_base64\": \"...\"}");
        return false;
    }
    *data = (uint8_t *)json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    *len = strlen((char *)*data);
    *kind = LG_INPUT_JSON;
    return true;
}

/* Reads the JSON submit body into req; false with rep filled when it is bad. The
 * caller frees *input and *requirements. */
static bool parse_json_submit(const lg_http_req *hreq, lg_http_reply *rep, json_t **keep, lg_submit_request *req,
                              uint8_t **input, char **requirements)
{
    json_t *body = lg_http_body_object(hreq, rep);
    if (!body) return false;
    *keep = body;
    json_t *model = json_object_get(body, "model_name");
    if (!json_is_string(model) || !json_string_length(model)) {
        lg_reply_error(rep, 400, "field 'model_name' must be a non-empty string");
        return false;
    }
    req->model = json_string_value(model);
    json_t *prio = json_object_get(body, "priority");
    if (prio && !json_is_null(prio)) {
        if (!json_is_string(prio)) {
            lg_reply_error(rep, 400, "field 'priority' must be a string: LOW, NORMAL, HIGH or CRITICAL");
            return false;
        }
        if (lg_priority_parse(json_string_value(prio), &req->priority) != LG_OK) {
            lg_reply_error(rep, 400, "unknown priority '%s' (valid: LOW, NORMAL, HIGH, CRITICAL)",
                           json_string_value(prio));
            return false;
        }
    }
    json_t *reqs = json_object_get(body, "requirements");
    if (reqs && !json_is_null(reqs)) {
        if (!json_is_object(reqs)) {
            lg_reply_error(rep, 400, "field 'requirements' must be an object");
            return false;
        }
        *requirements = json_dumps(reqs, JSON_COMPACT);
        req->requirements_json = *requirements;
        lg_requirements parsed;
        if (lg_requirements_parse_json(*requirements, &parsed) != LG_OK) {
            lg_reply_error(rep, 400, "field 'requirements': %s", lg_last_error());
            return false;
        }
    }
    json_t *timeout = json_object_get(body, "timeout");
    if (timeout && !json_is_null(timeout)) {
        double t = json_number_value(timeout);
        if (!json_is_number(timeout) || !(t >= 0 && t <= MAX_TIMEOUT_S)) {
            lg_reply_error(rep, 400, "field 'timeout' must be a number of seconds from 0 to %g", MAX_TIMEOUT_S);
            return false;
        }
        req->timeout_s = t;
    }
    json_t *in = json_object_get(body, "input_data");
    if (!in) {
        lg_reply_error(rep, 400, "field 'input_data' is missing");
        return false;
    }
    size_t len = 0;
    if (!decode_input(in, rep, &req->input_kind, input, &len)) return false;
    req->input = *input;
    req->input_len = len;
    return true;
}

/* A raw tensor or image body with ?model=NAME[&priority=&timeout=]. */
static bool parse_raw_submit(const lg_http_req *hreq, lg_http_reply *rep, lg_input_kind kind,
                             lg_submit_request *req)
{
    req->model = lg_http_query(hreq, "model");
    if (!req->model || !*req->model) {
        lg_reply_error(rep, 400, "a raw body needs the model in the query: ?model=NAME");
        return false;
    }
    const char *prio = lg_http_query(hreq, "priority");
    if (prio && lg_priority_parse(prio, &req->priority) != LG_OK) {
        lg_reply_error(rep, 400, "unknown priority '%s' (valid: LOW, NORMAL, HIGH, CRITICAL)", prio);
        return false;
    }
    double timeout = 0;
    if (!lg_http_query_number(hreq, rep, "timeout", MAX_TIMEOUT_S, &timeout)) return false;
    req->timeout_s = timeout;
    if (!hreq->body_len) {
        lg_reply_error(rep, 400, "the request has no body");
        return false;
    }
    req->input_kind = kind;
    req->input = (const uint8_t *)hreq->body;
    req->input_len = hreq->body_len;
    return true;
}

static void reply_submitted(lg_http_reply *rep, const lg_submit_result *res, const lg_submit_request *req)
{
    snprintf(rep->location, sizeof rep->location, "/cluster/tasks/%s/status", res->task_id);
    lg_reply_json(rep, res->created ? 202 : 200,
                  json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "task_id", res->task_id, "status",
                            lg_task_state_name(res->state), "model_name", req->model, "priority",
                            lg_priority_name(req->priority), "created", res->created, "location", rep->location));
}

void lg_h_task_submit(lg_http_req *hreq, lg_http_reply *rep)
{
    const char *ct = lg_http_header(hreq, "Content-Type");
    lg_submit_request req = {.priority = LG_PRIO_NORMAL};
    json_t *body = NULL;
    uint8_t *input = NULL;
    char *requirements = NULL;
    bool ok;
    if (!ct || mime_is(ct, "application/json")) {
        ok = parse_json_submit(hreq, rep, &body, &req, &input, &requirements);
    } else {
        size_t i = 0, n = sizeof raw_types / sizeof raw_types[0];
        while (i < n && !mime_is(ct, raw_types[i].mime)) i++;
        if (i == n) {
            lg_reply_error(rep, 415,
                           "unsupported content type '%s' (use application/json, application/octet-stream, "
                           "application/x-npy, application/x-protobuf, image/png or image/jpeg)",
                           ct);
            return;
        }
        ok = parse_raw_submit(hreq, rep, raw_types[i].kind, &req);
    }
    json_t *doc = body && req.input_kind == LG_INPUT_JSON ? json_object_get(body, "input_data") : NULL;
    if (ok) ok = lg_api_door(hreq->api, req.model, req.input_kind, req.input, req.input_len, doc, rep);
    int rc = ok ? lg_payload_validate(req.input_kind, req.input, req.input_len) : LG_OK;
    if (ok && rc != LG_OK) {
        lg_reply_error(rep, 400, "bad input: %s", lg_last_error());
        ok = false;
    }
    char hash[65];
    const char *key = lg_http_header(hreq, "Idempotency-Key");
    if (ok && key && *key) {
        lg_sha256_hex(hreq->body ? hreq->body : "", hreq->body_len, hash);
        req.idempotency_key = key;
        req.body_hash = hash;
    }
    lg_submit_result res;
    if (ok) {
        rc = lg_coord_submit(hreq->api->coord, &req, &res);
        if (rc == LG_OK)
            reply_submitted(rep, &res, &req);
        else
            lg_reply_status(rep, rc);
    }
    free(input);
    free(requirements);
    json_decref(body);
}

void lg_h_task_status(lg_http_req *req, lg_http_reply *rep)
{
    lg_task t;
    int rc = lg_coord_task_get(req->api->coord, req->params[0], &t);
    if (rc == LG_E_NOT_FOUND) {
        lg_reply_error(rep, 404, "unknown task '%s'", req->params[0]);
        return;
    }
    if (rc != LG_OK) { /* the store failed: 503 */
        lg_reply_status(rep, rc);
        return;
    }
    lg_reply_json(rep, 200, lg_task_status_json(&t));
    lg_task_clear(&t);
}

void lg_h_task_result(lg_http_req *req, lg_http_reply *rep)
{
    double wait = 0;
    bool waits = lg_http_query(req, "wait") != NULL;
    if (!lg_http_query_number(req, rep, "wait", MAX_WAIT_S, &wait)) return;
    lg_task t;
    bool final = false;
    int rc = lg_api_task_wait(req->api, req->params[0], wait, &t, &final);
    if (rc == LG_E_NOT_FOUND) {
        lg_reply_error(rep, 404, "unknown task '%s'", req->params[0]);
        return;
    }
    if (rc != LG_OK) {
        lg_reply_status(rep, rc);
        return;
    }
    const char *state = lg_task_state_name(t.state);
    if (!final && waits) {
        lg_reply_error(rep, 408, "task '%s' is still %s after waiting %g s", t.id, state, wait);
    } else if (!final) {
        lg_reply_json(rep, 202, json_pack("{s:s,s:s}", "task_id", t.id, "status", state));
    } else if (t.state == LG_TASK_COMPLETED) {
        /* The result body's fields (model_name, outputs, postprocessed) at the top, as
         * the seed's clients read them, and the whole of it under "result". */
        json_t *result = t.result ? json_loads(t.result, 0, NULL) : NULL;
        json_t *j = json_is_object(result) ? json_deep_copy(result) : json_object();
        json_object_set_new(j, "task_id", json_string(t.id));
        json_object_set_new(j, "status", json_string(state));
        json_object_set_new(j, "finished_at", lg_json_time(t.finished_at));
        json_object_set_new(j, "result", result ? result : json_null());
        lg_reply_json(rep, 200, j);
    } else {
        lg_reply_json(rep, 200,
                      json_pack("{s:s,s:s,s:s?,s:i,s:o}", "task_id", t.id, "status", state, "error", t.error,
                                "attempts", t.attempts, "finished_at", lg_json_time(t.finished_at)));
    }
    lg_task_clear(&t);
}

static void add_task(void *arg, const lg_task *t)
{
    json_array_append_new(arg, lg_task_status_json(t));
}

void lg_h_task_list(lg_http_req *req, lg_http_reply *rep)
{
    const char *st = lg_http_query(req, "status");
    lg_task_state state;
    if (st && lg_task_state_parse(st, &state) != LG_OK) {
        lg_reply_error(rep, 400, "%s", lg_last_error());
        return;
    }
    double limit = 100;
    if (!lg_http_query_number(req, rep, "limit", 1000, &limit)) return;
    const char *cursor = lg_http_query(req, "cursor");
    char next[128] = "";
    json_t *list = json_array();
    int rc = lg_coord_task_list(req->api->coord, st ? (int)state : -1, limit >= 1 ? (int)limit : 1,
                                cursor ? cursor : "", add_task, list, next, sizeof next);
    if (rc != LG_OK) {
        json_decref(list);
        lg_reply_status(rep, rc);
        return;
    }
    size_t n = json_array_size(list);
    lg_reply_json(rep, 200,
                  json_pack("{s:o,s:I,s:s?}", "tasks", list, "count", (json_int_t)n, "next_cursor",
                            next[0] ? next : NULL));
}

void lg_h_task_cancel(lg_http_req *req, lg_http_reply *rep)
{
    lg_coord *c = req->api->coord;
    int rc = lg_coord_task_cancel(c, req->params[0]);
    if (rc == LG_E_NOT_FOUND) {
        lg_reply_error(rep, 404, "unknown task '%s'", req->params[0]);
    } else if (rc == LG_E_INVALID_ARG) {
        lg_reply_error(rep, 409, "task '%s' is already final: %s", req->params[0], lg_last_error());
    } else if (rc != LG_OK) {
        lg_reply_status(rep, rc);
    } else {
        lg_reply_json(rep, 200, json_pack("{s:s,s:s}", "task_id", req->params[0], "status", "CANCELLED"));
    }
}
