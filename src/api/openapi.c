/*
 * openapi.c: GET /openapi.json: an OpenAPI 3.0 document generated from the route
 * table, so it lists exactly the routes the server has: path and query parameters,
 * request media types, answered status codes (401/403 added where a role is needed)
 * and the bearer-token scheme.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "legacygpu/engine.h"

static const struct {
    const char *name;
    const char *type;
    const char *description;
} query_params[] = {
    {"status", "string", "only items in this state (tasks: QUEUED ... TIMED_OUT; workers: idle, busy, draining, dead)"},
    {"limit", "integer", "page size (default 100, at most 1000)"},
    {"cursor", "string", "next_cursor of the previous page"},
    {"wait", "number", "seconds to wait for a final state (at most 300); 408 when it runs out"},
    {"model", "string", "model name, for raw (non-JSON) bodies"},
    {"priority", "string", "LOW, NORMAL (default), HIGH or CRITICAL, for raw bodies"},
    {"timeout", "number", "seconds from acceptance to a final state, for raw bodies"},
};

static const struct {
    int code;
    const char *description;
} status_text[] = {
    {200, "OK"},
    {202, "Accepted"},
    {400, "Malformed JSON, bad field, unknown priority, strategy or state"},
    {401, "No token or a bad token"},
    {403, "The token's role is too low"},
    {404, "Not found"},
    {408, "The wait ran out before a final state"},
    {409, "Conflict: idempotency key reused with another body, or task already final"},
    {413, "Body over the limit"},
    {415, "Unsupported content type"},
    {500, "The task failed"},
    {503, "Draining or not ready"},
};

static json_t *error_content(void)
{
    return json_pack("{s:{s:{s:s}}}", "application/json", "schema", "$ref", "#/components/schemas/Error");
}

static void add_response(json_t *responses, int code)
{
    const char *text = "";
    for (size_t i = 0; i < sizeof status_text / sizeof status_text[0]; i++)
        if (status_text[i].code == code) text = status_text[i].description;
    char key[8];
    snprintf(key, sizeof key, "%d", code);
    json_t *r = json_pack("{s:s}", "description", text);
    if (code >= 400) json_object_set_new(r, "content", error_content());
    json_object_set_new(responses, key, r);
}

static json_t *parameters(const lg_route *r)
{
    json_t *list = json_array();
    for (const char *p = strchr(r->pattern, '{'); p; p = strchr(p + 1, '{')) {
        char name[32];
        size_t n = strcspn(p + 1, "}");
        snprintf(name, sizeof name, "%.*s", (int)n, p + 1);
        json_array_append_new(list, json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", name, "in", "path", "required", 1,
                                              "schema", "type", "string"));
    }
    for (size_t i = 0; r->query && i < sizeof query_params / sizeof query_params[0]; i++) {
        size_t n = strlen(query_params[i].name);
        for (const char *q = r->query; (q = strstr(q, query_params[i].name)); q += n)
            if ((q == r->query || q[-1] == ',') && (q[n] == ',' || q[n] == '\0')) {
                json_array_append_new(list, json_pack("{s:s,s:s,s:b,s:s,s:{s:s}}", "name", query_params[i].name,
                                                      "in", "query", "required", 0, "description",
                                                      query_params[i].description, "schema", "type",
                                                      query_params[i].type));
                break;
            }
    }
    return list;
}

static json_t *request_body(const char *types)
{
    json_t *content = json_object();
    for (const char *t = types; *t;) {
        size_t n = strcspn(t, ",");
        char mime[64];
        snprintf(mime, sizeof mime, "%.*s", (int)n, t);
        json_object_set_new(content, mime, json_pack("{s:{}}", "schema"));
        t += n + (t[n] == ',');
    }
    return json_pack("{s:b,s:o}", "required", 1, "content", content);
}

static json_t *operation(const lg_route *r)
{
    char op_id[128] = "";
    snprintf(op_id, sizeof op_id, "%s", r->method);
    for (size_t i = 0; op_id[i]; i++) op_id[i] = (char)(op_id[i] | 0x20);
    for (const char *p = r->pattern; *p && strlen(op_id) + 1 < sizeof op_id; p++) {
        char c = *p == '/' || *p == '.' ? '_' : *p;
        if (c != '{' && c != '}') strncat(op_id, &c, 1);
    }
    json_t *responses = json_object();
    for (const char *c = r->responses; *c; c += strcspn(c, ",") + (c[strcspn(c, ",")] == ',')) add_response(responses, atoi(c));
    if (r->min_role > LG_ROLE_NONE) add_response(responses, 401);
    if (r->min_role > LG_ROLE_USER) add_response(responses, 403);
    json_t *op = json_pack("{s:s,s:s,s:[s],s:o,s:o,s:s}", "summary", r->summary, "operationId", op_id, "tags", r->tag,
                           "parameters", parameters(r), "responses", responses, "x-min-role",
                           lg_role_name(r->min_role));
    json_object_set_new(op, "security", r->min_role > LG_ROLE_NONE ? json_pack("[{s:[]}]", "bearer") : json_array());
    if (r->body_types) json_object_set_new(op, "requestBody", request_body(r->body_types));
    return op;
}

void lg_h_openapi(lg_http_req *req, lg_http_reply *rep)
{
    json_t *paths = json_object();
    for (int i = 0; i < lg_api_n_routes; i++) {
        const lg_route *r = &lg_api_routes[i];
        json_t *item = json_object_get(paths, r->pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, r->pattern, item);
        }
        char method[8];
        snprintf(method, sizeof method, "%s", r->method);
        for (size_t k = 0; method[k]; k++) method[k] = (char)(method[k] | 0x20);
        json_object_set_new(item, method, operation(r));
    }
    json_t *doc = json_pack(
        "{s:s,s:{s:s,s:s,s:s},s:[{s:s}],s:o,s:{s:{s:{s:s,s:s}},s:{s:{s:s,s:{s:{s:s,s:{s:{s:s},s:{s:s}}}}}}}}",
        "openapi", "3.0.3", "info", "title", "legacygpu cluster API", "version", lg_version(), "description",
        "Coordinator REST API: the seed's /cluster endpoints, KServe v2 / Triton HTTP, Prometheus metrics.",
        "servers", "url", req->api->url, "paths", paths, "components", "securitySchemes", "bearer", "type", "http",
        "scheme", "bearer", "schemas", "Error", "type", "object", "properties", "error", "type", "object",
        "properties", "code", "type", "integer", "message", "type", "string");
    lg_reply_json(rep, 200, doc);
}
