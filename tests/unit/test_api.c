/*
 * test_api.c: the REST API in process: an in-memory coordinator, the server on an
 * ephemeral loopback port, and requests over plain sockets (HTTP/1.1, one connection
 * each). Covers every endpoint's happy path, a table of bad requests with their error
 * codes, auth roles, the body limit, a completed task through a fake worker driven by
 * the transport-side calls, KServe v2 inference, /metrics (promtool when installed) and
 * /openapi.json against the route table.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <jansson.h>

#include "api/api_internal.h"
#include "lg_test.h"

/* ---- a small HTTP client ------------------------------------------------------------ */

typedef struct resp {
    int status;
    char head[4096];
    char *body;
    size_t len;
    json_t *json;
} resp;

static void resp_free(resp *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 20};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* Sends what it can (the server may answer and close early), then reads the answer. */
static void exchange(int fd, const char *head, const void *body, size_t len, resp *r)
{
    memset(r, 0, sizeof *r);
    send(fd, head, strlen(head), MSG_NOSIGNAL);
    for (size_t sent = 0; sent < len;) {
        ssize_t n = send(fd, (const char *)body + sent, len - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += (size_t)n;
    }
    size_t cap = 65536, got = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (got + 4096 > cap) buf = realloc(buf, cap *= 2);
        ssize_t n = recv(fd, buf + got, cap - got - 1, 0);
        if (n <= 0) break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    close(fd);
    char *end = strstr(buf, "\r\n\r\n");
    if (!end) fail_msg("no HTTP answer (%zu bytes): %s", got, buf);
    size_t hl = (size_t)(end - buf);
    snprintf(r->head, sizeof r->head, "%.*s", (int)(hl < sizeof r->head ? hl : sizeof r->head - 1), buf);
    assert_int_equal(sscanf(buf, "HTTP/1.%*d %d", &r->status), 1);
    r->len = got - hl - 4;
    r->body = malloc(r->len + 1);
    memcpy(r->body, end + 4, r->len);
    r->body[r->len] = '\0';
    r->json = json_loadb(r->body, r->len, 0, NULL);
    free(buf);
}

static void request(int port, const char *method, const char *path, const char *headers, const void *body,
                    size_t len, resp *r)
{
    char head[2048];
    snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s", method, path,
             headers ? headers : "", body ? "" : "\r\n");
    if (body) {
        size_t n = strlen(head);
        snprintf(head + n, sizeof head - n, "Content-Length: %zu\r\n\r\n", len);
    }
    exchange(connect_to(port), head, body, len, r);
}

static const char *header_of(const resp *r, const char *name)
{
    static __thread char value[512];
    const char *p = strcasestr(r->head, name);
    if (!p) return NULL;
    p += strlen(name) + 1;
    while (*p == ' ') p++;
    snprintf(value, sizeof value, "%.*s", (int)strcspn(p, "\r\n"), p);
    return value;
}

#define JSON_HDR "Content-Type: application/json\r\n"

/* Asserts status and, for errors, the JSON error body whose message holds needle. */
static void expect(const resp *r, int status, const char *needle, const char *what)
{
    if (r->status != status) fail_msg("%s: HTTP %d, expected %d: %s", what, r->status, status, r->body);
    if (status < 400) return;
    json_t *err = json_object_get(r->json, "error");
    if (json_integer_value(json_object_get(err, "code")) != status)
        fail_msg("%s: error body without code %d: %s", what, status, r->body);
    const char *msg = json_string_value(json_object_get(err, "message"));
    if (!msg || (needle && !strcasestr(msg, needle)))
        fail_msg("%s: message \"%s\" lacks \"%s\"", what, msg ? msg : "(none)", needle);
    const char *ct = header_of(r, "Content-Type");
    if (!ct || !strstr(ct, "json")) fail_msg("%s: error Content-Type %s", what, ct ? ct : "(none)");
}

static int get(int port, const char *path, const char *headers, int status, resp *r)
{
    request(port, "GET", path, headers, NULL, 0, r);
    expect(r, status, NULL, path);
    return r->status;
}

/* ---- fixture ------------------------------------------------------------------------ */

typedef struct fix {
    lg_coord *coord;
    lg_api *api;
    int port;
    int shutdowns;
    char tokens[64];
} fix;

static void on_shutdown(void *arg)
{
    ((fix *)arg)->shutdowns++;
}

static fix *fix_open(bool auth, int64_t body_limit)
{
    fix *f = calloc(1, sizeof *f);
    lg_coord_config cc;
    lg_coord_config_defaults(&cc);
    cc.data_dir = NULL;
    cc.models_dir = LG_SOURCE_DIR "/models";
    assert_int_equal(lg_coord_open(&cc, &f->coord), LG_OK);
    lg_api_config ac;
    lg_api_config_defaults(&ac);
    ac.port = 0;
    ac.on_shutdown = on_shutdown;
    ac.on_shutdown_arg = f;
    if (body_limit) ac.max_body_bytes = body_limit;
    if (auth) {
        const char *text = "# test tokens\nuser-tok user\n\nadmin-tok admin # the admin\n";
        char *path = lg_test_tmpfile(text, strlen(text), ".txt");
        snprintf(f->tokens, sizeof f->tokens, "%s", path);
        free(path);
        ac.tokens_file = f->tokens;
    }
    if (lg_api_start(f->coord, &ac, &f->api) != LG_OK) fail_msg("lg_api_start: %s", lg_last_error());
    f->port = lg_api_port(f->api);
    assert_true(f->port > 0);
    return f;
}

static int setup(void **state)
{
    *state = fix_open(false, 0);
    return 0;
}

static int setup_auth(void **state)
{
    *state = fix_open(true, 1024);
    return 0;
}

static int teardown(void **state)
{
    fix *f = *state;
    lg_api_stop(f->api);
    lg_coord_close(f->coord);
    if (f->tokens[0]) unlink(f->tokens);
    free(f);
    return 0;
}

static const char *digit_input =
    "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,1,8,8],\"datatype\":\"FP32\",\"data\":"
    "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
    "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}]}";

static char *task_body(const char *priority, const char *extra)
{
    char *s;
    assert_true(asprintf(&s, "{\"model_name\":\"digits\",\"input_data\":%s,\"priority\":\"%s\"%s}", digit_input,
                         priority, extra ? extra : "") > 0);
    return s;
}

/* Submits a task; returns its id (static buffer). */
static const char *submit(fix *f, const char *headers)
{
    static char id[LG_TASK_ID_LEN + 1];
    char *body = task_body("HIGH", NULL);
    char hdr[512];
    snprintf(hdr, sizeof hdr, JSON_HDR "%s", headers ? headers : "");
    resp r;
    request(f->port, "POST", "/cluster/tasks", hdr, body, strlen(body), &r);
    expect(&r, 202, NULL, "submit");
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.json, "task_id")));
    assert_int_equal(strlen(id), LG_TASK_ID_LEN);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "QUEUED");
    const char *loc = header_of(&r, "Location");
    assert_non_null(loc);
    assert_non_null(strstr(loc, id));
    resp_free(&r);
    free(body);
    return id;
}

static void hello_worker(fix *f, const char *id)
{
    lg_worker_info w;
    memset(&w, 0, sizeof w);
    snprintf(w.id, sizeof w.id, "%s", id);
    snprintf(w.host, sizeof w.host, "localhost");
    w.n_backends = 1;
    snprintf(w.backends[0], sizeof w.backends[0], "cpu");
    w.cpu_threads = 2;
    w.capacity = 2;
    w.n_models = 1;
    snprintf(w.models[0], sizeof w.models[0], "digits");
    assert_int_equal(lg_coord_worker_hello(f->coord, &w), LG_OK);
}

static const char *fake_result =
    "{\"model_name\":\"digits\",\"outputs\":[{\"name\":\"logits\",\"shape\":[1,10],\"datatype\":\"FP32\","
    "\"data\":[0,0,0,9,0,0,0,0,0,0]}],\"postprocessed\":{\"type\":\"classify\",\"top_k\":[[{\"index\":3,"
    "\"label\":\"3\",\"probability\":0.99}]]}}";

/* Plays the worker: completes the next n dispatched tasks, polling with a deadline. */
static void *fake_worker(void *arg)
{
    fix *f = arg;
    double deadline = lg_now() + 20;
    while (lg_now() < deadline) {
        lg_task t;
        char wid[64];
        if (lg_coord_next_dispatch(f->coord, &t, wid, sizeof wid) != LG_OK) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL); /* polling interval, not synchronisation */
            continue;
        }
        lg_coord_task_started(f->coord, wid, t.id);
        lg_coord_task_completed(f->coord, wid, t.id, fake_result, 0.001);
        lg_task_clear(&t);
        return NULL;
    }
    return NULL;
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_health_metrics_config(void **state)
{
    fix *f = *state;
    resp r;
    get(f->port, "/cluster/health", NULL, 200, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "healthy");
    assert_int_equal(json_integer_value(json_object_get(r.json, "workers")), 0);
    assert_int_equal(json_integer_value(json_object_get(r.json, "queue_depth")), 0);
    assert_true(json_is_number(json_object_get(r.json, "uptime_s")));
    assert_non_null(strstr(header_of(&r, "Content-Type"), "application/json"));
    resp_free(&r);

    submit(f, NULL);
    get(f->port, "/cluster/metrics", NULL, 200, &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "submitted_total")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r.json, "tasks_by_state"), "QUEUED")), 1);
    resp_free(&r);

    get(f->port, "/cluster/config", NULL, 200, &r);
    assert_non_null(json_string_value(json_object_get(r.json, "strategy")));
    assert_int_equal(json_array_size(json_object_get(r.json, "available_strategies")), LG_STRATEGY_COUNT);
    assert_int_equal(json_integer_value(json_object_get(r.json, "max_attempts")), 3);
    assert_int_equal(json_integer_value(json_object_get(r.json, "max_body_bytes")), 64 << 20);
    resp_free(&r);

    const char *b = "{\"strategy\":\"adaptive\"}";
    request(f->port, "PUT", "/cluster/config/balancing", JSON_HDR, b, strlen(b), &r);
    expect(&r, 200, NULL, "PUT balancing");
    resp_free(&r);
    get(f->port, "/cluster/config", NULL, 200, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "strategy")), "ADAPTIVE");
    resp_free(&r);
    assert_int_equal(lg_coord_strategy(f->coord), LG_STRATEGY_ADAPTIVE);
}

static void test_workers(void **state)
{
    fix *f = *state;
    resp r;
    get(f->port, "/cluster/workers", NULL, 200, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "workers")), 0);
    resp_free(&r);
    hello_worker(f, "w-one");
    get(f->port, "/cluster/workers", NULL, 200, &r);
    json_t *w = json_array_get(json_object_get(r.json, "workers"), 0);
    assert_string_equal(json_string_value(json_object_get(w, "worker_id")), "w-one");
    assert_string_equal(json_string_value(json_object_get(w, "status")), "idle");
    assert_int_equal(json_integer_value(json_object_get(w, "capacity")), 2);
    resp_free(&r);
    get(f->port, "/cluster/workers?status=idle", NULL, 200, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "workers")), 1);
    resp_free(&r);
    get(f->port, "/cluster/workers?status=dead", NULL, 200, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "workers")), 0);
    resp_free(&r);
    get(f->port, "/cluster/workers/w-one", NULL, 200, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "host")), "localhost");
    resp_free(&r);
    get(f->port, "/cluster/health", NULL, 200, &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "workers")), 1);
    resp_free(&r);
}

static void test_task_lifecycle(void **state)
{
    fix *f = *state;
    char id[LG_TASK_ID_LEN + 1], path[128];
    snprintf(id, sizeof id, "%s", submit(f, NULL));
    resp r;
    snprintf(path, sizeof path, "/cluster/tasks/%s/status", id);
    get(f->port, path, NULL, 200, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "task_id")), id);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "QUEUED");
    assert_string_equal(json_string_value(json_object_get(r.json, "model_name")), "digits");
    assert_string_equal(json_string_value(json_object_get(r.json, "priority")), "HIGH");
    assert_true(json_is_number(json_object_get(r.json, "created_at")));
    resp_free(&r);

    snprintf(path, sizeof path, "/cluster/tasks/%s/result", id);
    get(f->port, path, NULL, 202, &r);
    resp_free(&r);
    snprintf(path, sizeof path, "/cluster/tasks/%s/result?wait=0.2", id);
    double t0 = lg_now();
    request(f->port, "GET", path, NULL, NULL, 0, &r);
    expect(&r, 408, "still QUEUED", "long-poll that runs out");
    assert_true(lg_now() - t0 >= 0.19);
    resp_free(&r);

    for (int i = 0; i < 4; i++) submit(f, NULL);
    get(f->port, "/cluster/tasks", NULL, 200, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "tasks")), 5);
    resp_free(&r);
    /* Pages of 2 cover the 5 tasks once. */
    char cursor[256] = "";
    int seen = 0;
    for (int page = 0; page < 5; page++) {
        snprintf(path, sizeof path, "/cluster/tasks?limit=2&status=QUEUED%s%s", cursor[0] ? "&cursor=" : "",
                 cursor);
        get(f->port, path, NULL, 200, &r);
        seen += (int)json_array_size(json_object_get(r.json, "tasks"));
        const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        resp_free(&r);
        if (!cursor[0]) break;
    }
    assert_int_equal(seen, 5);
    get(f->port, "/cluster/tasks?status=COMPLETED", NULL, 200, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "tasks")), 0);
    resp_free(&r);

    snprintf(path, sizeof path, "/cluster/tasks/%s", id);
    request(f->port, "DELETE", path, NULL, NULL, 0, &r);
    expect(&r, 200, NULL, "cancel");
    resp_free(&r);
    request(f->port, "DELETE", path, NULL, NULL, 0, &r);
    expect(&r, 409, "final", "cancel a cancelled task");
    resp_free(&r);
    snprintf(path, sizeof path, "/cluster/tasks/%s/result?wait=1", id);
    get(f->port, path, NULL, 200, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "CANCELLED");
    resp_free(&r);
}

static void test_completed_result(void **state)
{
    fix *f = *state;
    hello_worker(f, "w-fake");
    pthread_t th;
    pthread_create(&th, NULL, fake_worker, f);
    char id[LG_TASK_ID_LEN + 1], path[128];
    snprintf(id, sizeof id, "%s", submit(f, NULL));
    snprintf(path, sizeof path, "/cluster/tasks/%s/result?wait=10", id);
    resp r;
    get(f->port, path, NULL, 200, &r);
    pthread_join(th, NULL);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "COMPLETED");
    assert_string_equal(json_string_value(json_object_get(r.json, "task_id")), id);
    json_t *out = json_array_get(json_object_get(r.json, "outputs"), 0);
    assert_string_equal(json_string_value(json_object_get(out, "name")), "logits");
    json_t *res = json_object_get(r.json, "result");
    assert_non_null(json_object_get(res, "postprocessed"));
    assert_int_equal(json_array_size(json_object_get(res, "outputs")), 1);
    resp_free(&r);
    snprintf(path, sizeof path, "/cluster/tasks/%s/status", id);
    get(f->port, path, NULL, 200, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "worker_id")), "w-fake");
    resp_free(&r);
}

static void test_raw_and_image_bodies(void **state)
{
    fix *f = *state;
    FILE *fp = fopen(LG_SOURCE_DIR "/models/digits/samples/digit_3.png", "rb");
    assert_non_null(fp);
    uint8_t png[65536];
    size_t n = fread(png, 1, sizeof png, fp);
    fclose(fp);
    resp r;
    request(f->port, "POST", "/cluster/tasks?model=digits&priority=LOW", "Content-Type: image/png\r\n", png, n, &r);
    expect(&r, 202, NULL, "PNG body");
    assert_string_equal(json_string_value(json_object_get(r.json, "priority")), "LOW");
    resp_free(&r);
    request(f->port, "POST", "/cluster/tasks", "Content-Type: image/png\r\n", png, n, &r);
    expect(&r, 400, "model", "PNG body without ?model");
    resp_free(&r);
    /* The same PNG as base64 in JSON. */
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *b64 = malloc(n / 3 * 4 + 8), *o = b64;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)png[i] << 16 | (i + 1 < n ? (uint32_t)png[i + 1] << 8 : 0) | (i + 2 < n ? png[i + 2] : 0);
        *o++ = tbl[v >> 18];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? tbl[v & 63] : '=';
    }
    *o = '\0';
    char *body;
    assert_true(asprintf(&body, "{\"model_name\":\"digits\",\"input_data\":{\"image_base64\":\"%s\"}}", b64) > 0);
    request(f->port, "POST", "/cluster/tasks", JSON_HDR, body, strlen(body), &r);
    expect(&r, 202, NULL, "image_base64");
    resp_free(&r);
    free(body);
    free(b64);
    /* A list of tensors as input_data. */
    assert_true(asprintf(&body, "{\"model_name\":\"digits\",\"input_data\":%s}", strchr(digit_input, '[')) > 0);
    body[strlen(body) - 2] = '}';
    body[strlen(body) - 1] = '\0';
    request(f->port, "POST", "/cluster/tasks", JSON_HDR, body, strlen(body), &r);
    expect(&r, 202, NULL, "a list of tensors");
    resp_free(&r);
    free(body);
}

static void test_idempotency(void **state)
{
    fix *f = *state;
    char id[LG_TASK_ID_LEN + 1];
    snprintf(id, sizeof id, "%s", submit(f, "Idempotency-Key: k-1\r\n"));
    char *body = task_body("HIGH", NULL);
    resp r;
    request(f->port, "POST", "/cluster/tasks", JSON_HDR "Idempotency-Key: k-1\r\n", body, strlen(body), &r);
    assert_true(r.status == 200 || r.status == 202);
    assert_string_equal(json_string_value(json_object_get(r.json, "task_id")), id);
    resp_free(&r);
    free(body);
    body = task_body("LOW", NULL);
    request(f->port, "POST", "/cluster/tasks", JSON_HDR "Idempotency-Key: k-1\r\n", body, strlen(body), &r);
    expect(&r, 409, "idempotency", "same key, another body");
    resp_free(&r);
    free(body);
}

/* Bad requests and the error each gets. */
static const struct bad_case {
    const char *method, *path, *headers, *body;
    int status;
    const char *needle;
} bad_cases[] = {
    {"POST", "/cluster/tasks", JSON_HDR, "{not json", 400, "malformed JSON"},
    {"POST", "/cluster/tasks", JSON_HDR, "[1,2]", 400, "object"},
    {"POST", "/cluster/tasks", JSON_HDR, "", 400, "body"},
    {"POST", "/cluster/tasks", JSON_HDR, "{\"input_data\":{\"inputs\":[]}}", 400, "model_name"},
    {"POST", "/cluster/tasks", JSON_HDR, "{\"model_name\":7,\"input_data\":{\"inputs\":[]}}", 400, "model_name"},
    {"POST", "/cluster/tasks", JSON_HDR, "{\"model_name\":\"digits\"}", 400, "input_data"},
    {"POST", "/cluster/tasks", JSON_HDR, "{\"model_name\":\"digits\",\"input_data\":{\"inputs\":5}}", 400, "input_data"},
    {"POST", "/cluster/tasks", JSON_HDR, "{\"model_name\":\"digits\",\"input_data\":{\"image_base64\":\"@@\"}}", 400,
     "base64"},
    {"POST", "/cluster/tasks", JSON_HDR, "PRIORITY:URGENT", 400, "unknown priority 'URGENT'"},
    {"POST", "/cluster/tasks", JSON_HDR, "PRIORITY:3", 400, "priority"},
    {"POST", "/cluster/tasks", JSON_HDR, "EXTRA:,\"timeout\":-1", 400, "timeout"},
    {"POST", "/cluster/tasks", JSON_HDR, "EXTRA:,\"requirements\":[\"cpu\"]", 400, "requirements"},
    {"POST", "/cluster/tasks", JSON_HDR, "EXTRA:,\"requirements\":{\"min_memory_mb\":\"lots\"}", 400, "min_memory_mb"},
    {"POST", "/cluster/tasks", "Content-Type: text/plain\r\n", "hello", 415, "text/plain"},
    {"POST", "/cluster/tasks?model=digits", "Content-Type: application/xml\r\n", "<a/>", 415, "xml"},
    {"PUT", "/cluster/config/balancing", JSON_HDR, "{\"strategy\":\"FASTEST\"}", 400, "ROUND_ROBIN"},
    {"PUT", "/cluster/config/balancing", JSON_HDR, "{\"strategy\":5}", 400, "strategy"},
    {"PUT", "/cluster/config/balancing", JSON_HDR, "strategy=ADAPTIVE", 400, "malformed JSON"},
    {"GET", "/cluster/workers?status=sleepy", NULL, NULL, 400, "sleepy"},
    {"GET", "/cluster/workers/nobody", NULL, NULL, 404, "nobody"},
    {"GET", "/cluster/tasks?status=SLEEPING", NULL, NULL, 400, "SLEEPING"},
    {"GET", "/cluster/tasks?limit=-1", NULL, NULL, 400, "limit"},
    {"GET", "/cluster/tasks/00000000-0000-4000-8000-000000000000/status", NULL, NULL, 404, "unknown task"},
    {"GET", "/cluster/tasks/00000000-0000-4000-8000-000000000000/result", NULL, NULL, 404, "unknown task"},
    {"GET", "/cluster/tasks/not-a-uuid/result?wait=soon", NULL, NULL, 400, "wait"},
    {"DELETE", "/cluster/tasks/00000000-0000-4000-8000-000000000000", NULL, NULL, 404, "unknown task"},
    {"GET", "/cluster/nothing", NULL, NULL, 404, "no such endpoint"},
    {"GET", "/nope", NULL, NULL, 404, "no such endpoint"},
    {"GET", "/cluster/tasks/../../etc/passwd", NULL, NULL, 404, NULL},
    {"DELETE", "/cluster/health", NULL, NULL, 405, "GET"},
    {"POST", "/v2/models/nope/infer", JSON_HDR, "{\"inputs\":[]}", 404, "nope"},
    {"GET", "/v2/models/nope", NULL, NULL, 404, "nope"},
    {"GET", "/v2/health/ready", NULL, NULL, 503, "no worker"},
    {"POST", "/v2/models/digits/infer", JSON_HDR, "{\"inputs\":5}", 400, "inputs"},
    {"POST", "/v2/models/digits/infer", "Content-Type: image/png\r\n", "x", 415, "image/png"},
};

static void test_bad_requests(void **state)
{
    fix *f = *state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        char *body = NULL;
        if (c->body && strncmp(c->body, "PRIORITY:", 9) == 0) {
            char *q = NULL;
            assert_true(asprintf(&q, "{\"model_name\":\"digits\",\"input_data\":%s,\"priority\":%s%s%s}",
                                 digit_input, isdigit((unsigned char)c->body[9]) ? "" : "\"", c->body + 9,
                                 isdigit((unsigned char)c->body[9]) ? "" : "\"") > 0);
            body = q;
        } else if (c->body && strncmp(c->body, "EXTRA:", 6) == 0) {
            body = task_body("HIGH", c->body + 6);
        } else if (c->body) {
            body = strdup(c->body);
        }
        resp r;
        request(f->port, c->method, c->path, c->headers, body, body ? strlen(body) : 0, &r);
        char what[256];
        snprintf(what, sizeof what, "case %zu: %s %s %s", i, c->method, c->path, c->body ? c->body : "");
        expect(&r, c->status, c->needle, what);
        if (c->status == 405) assert_non_null(header_of(&r, "Allow"));
        resp_free(&r);
        free(body);
    }
    /* Nothing bad was stored. */
    resp r;
    get(f->port, "/cluster/tasks", NULL, 200, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "tasks")), 0);
    resp_free(&r);
}

static void test_kserve(void **state)
{
    fix *f = *state;
    resp r;
    get(f->port, "/v2/health/live", NULL, 200, &r);
    resp_free(&r);
    get(f->port, "/v2", NULL, 200, &r);
    resp_free(&r);
    get(f->port, "/v2/models/digits", NULL, 200, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "name")), "digits");
    assert_string_equal(json_string_value(json_object_get(r.json, "platform")), "onnx");
    json_t *in = json_array_get(json_object_get(r.json, "inputs"), 0);
    assert_string_equal(json_string_value(json_object_get(in, "datatype")), "FP32");
    json_t *shape = json_object_get(in, "shape");
    assert_int_equal(json_array_size(shape), 4);
    assert_int_equal(json_integer_value(json_array_get(shape, 0)), -1);
    assert_int_equal(json_integer_value(json_array_get(shape, 2)), 8);
    assert_true(json_array_size(json_object_get(r.json, "outputs")) >= 1);
    resp_free(&r);
    get(f->port, "/v2/models/digits/ready", NULL, 503, &r);
    resp_free(&r);

    hello_worker(f, "w-kserve");
    get(f->port, "/v2/health/ready", NULL, 200, &r);
    resp_free(&r);
    get(f->port, "/v2/models/digits/ready", NULL, 200, &r);
    resp_free(&r);
    pthread_t th;
    pthread_create(&th, NULL, fake_worker, f);
    char *body;
    assert_true(asprintf(&body, "{\"id\":\"req-7\",%s", digit_input + 1) > 0);
    request(f->port, "POST", "/v2/models/digits/infer", JSON_HDR, body, strlen(body), &r);
    pthread_join(th, NULL);
    expect(&r, 200, NULL, "infer");
    assert_string_equal(json_string_value(json_object_get(r.json, "model_name")), "digits");
    assert_string_equal(json_string_value(json_object_get(r.json, "id")), "req-7");
    assert_int_equal(json_array_size(json_object_get(r.json, "outputs")), 1);
    resp_free(&r);
    free(body);
    body = strdup("{\"inputs\":[{\"name\":\"input\",\"shape\":[1,1,8,8],\"datatype\":\"FP32\",\"data\":[1.0]}]}");
    request(f->port, "POST", "/v2/models/digits/infer", JSON_HDR, body, strlen(body), &r);
    expect(&r, 400, NULL, "1 value for 64");
    resp_free(&r);
    free(body);
}

static void test_prometheus(void **state)
{
    fix *f = *state;
    hello_worker(f, "w-prom\"x");
    submit(f, NULL);
    resp r;
    get(f->port, "/metrics", NULL, 200, &r);
    assert_non_null(strstr(header_of(&r, "Content-Type"), "text/plain"));
    static const char *const want[] = {
        "# TYPE legacygpu_tasks gauge",
        "legacygpu_tasks{state=\"QUEUED\"} 1",
        "legacygpu_queue_depth{priority=\"HIGH\"} 1",
        "# TYPE legacygpu_task_duration_seconds histogram",
        "legacygpu_task_duration_seconds_bucket{le=\"+Inf\"} 0",
        "legacygpu_queue_duration_seconds_count 0",
        "legacygpu_workers{status=\"idle\"} 1",
        "legacygpu_worker_in_flight{worker=\"w-prom\\\"x\"} 0",
        "# TYPE legacygpu_tasks_submitted_total counter",
        "legacygpu_tasks_submitted_total 1",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(r.body, want[i])) fail_msg("/metrics lacks '%s':\n%s", want[i], r.body);
    struct stat st;
    if (stat("/usr/bin/promtool", &st) == 0) {
        char *path = lg_test_tmpfile(r.body, r.len, ".prom");
        char cmd[512];
        snprintf(cmd, sizeof cmd, "/usr/bin/promtool check metrics < %s", path);
        int rc = system(cmd);
        unlink(path);
        free(path);
        assert_int_equal(rc, 0);
    }
    resp_free(&r);
}

/* Fills {x} captures of a pattern with "x" to make a real path. */
static void concrete_path(const char *pattern, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 2 < len; p++) {
        if (*p == '{') {
            p = strchr(p, '}');
            out[o++] = 'x';
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

static void test_openapi_matches_routes(void **state)
{
    fix *f = *state;
    resp r;
    get(f->port, "/openapi.json", NULL, 200, &r);
    assert_non_null(strstr(json_string_value(json_object_get(r.json, "openapi")), "3.0"));
    json_t *paths = json_object_get(r.json, "paths");
    /* Every route is documented ... */
    int documented = 0;
    for (int i = 0; i < lg_api_n_routes; i++) {
        char m[8];
        snprintf(m, sizeof m, "%s", lg_api_routes[i].method);
        for (char *c = m; *c; c++) *c = (char)tolower((unsigned char)*c);
        json_t *op = json_object_get(json_object_get(paths, lg_api_routes[i].pattern), m);
        if (!op) fail_msg("route %s %s is not in /openapi.json", lg_api_routes[i].method, lg_api_routes[i].pattern);
        assert_non_null(json_object_get(op, "responses"));
    }
    /* ... and every documented operation is a route the server answers (not 404 "no such
     * endpoint", not 405). */
    const char *path;
    json_t *ops;
    json_object_foreach(paths, path, ops) {
        const char *method;
        json_t *op;
        json_object_foreach(ops, method, op) {
            documented++;
            char upper[8], concrete[256];
            snprintf(upper, sizeof upper, "%s", method);
            for (char *c = upper; *c; c++) *c = (char)toupper((unsigned char)*c);
            if (strcmp(upper, "POST") == 0 && strstr(path, "shutdown")) continue; /* it drains */
            if (strcmp(path, "/cluster/events") == 0) continue; /* it streams: test_events.c */
            concrete_path(path, concrete, sizeof concrete);
            resp q;
            request(f->port, upper, concrete, JSON_HDR, NULL, 0, &q);
            const char *msg = json_string_value(json_object_get(json_object_get(q.json, "error"), "message"));
            if (q.status == 405 || (q.status == 404 && msg && strstr(msg, "no such endpoint")))
                fail_msg("documented %s %s is not served: %s", upper, path, q.body);
            resp_free(&q);
        }
    }
    assert_int_equal(documented, lg_api_n_routes);
    /* The seed's endpoints and KServe's are all there. */
    static const char *const must[] = {"/cluster/health", "/cluster/metrics", "/cluster/config",
                                       "/cluster/config/balancing", "/cluster/workers", "/cluster/workers/{id}",
                                       "/cluster/tasks", "/cluster/tasks/{id}/status", "/cluster/tasks/{id}/result",
                                       "/cluster/tasks/{id}", "/cluster/shutdown", "/v2/health/live",
                                       "/v2/health/ready", "/v2/models/{name}", "/v2/models/{name}/ready",
                                       "/v2/models/{name}/infer", "/metrics", "/openapi.json"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        if (!json_object_get(paths, must[i])) fail_msg("/openapi.json lacks %s", must[i]);
    resp_free(&r);
}

static void test_auth_roles_and_shutdown(void **state)
{
    fix *f = *state;
    resp r;
    get(f->port, "/cluster/health", NULL, 200, &r);
    resp_free(&r);
    get(f->port, "/metrics", NULL, 200, &r);
    resp_free(&r);
    get(f->port, "/v2/health/live", NULL, 200, &r);
    resp_free(&r);
    request(f->port, "GET", "/cluster/tasks", NULL, NULL, 0, &r);
    expect(&r, 401, "no token", "no token");
    assert_non_null(header_of(&r, "WWW-Authenticate"));
    resp_free(&r);
    request(f->port, "GET", "/cluster/tasks", "Authorization: Bearer nope\r\n", NULL, 0, &r);
    expect(&r, 401, "bad token", "bad token");
    resp_free(&r);
    request(f->port, "GET", "/cluster/tasks", "Authorization: Basic dXNlcjpwYXNz\r\n", NULL, 0, &r);
    expect(&r, 401, "bad token", "Basic credentials");
    resp_free(&r);
    request(f->port, "GET", "/cluster/tasks", "Authorization: Bearer user-to\r\n", NULL, 0, &r);
    expect(&r, 401, NULL, "a prefix of a token");
    resp_free(&r);
    get(f->port, "/cluster/tasks", "Authorization: Bearer user-tok\r\n", 200, &r);
    resp_free(&r);
    const char *b = "{\"strategy\":\"LEAST_LOADED\"}";
    request(f->port, "PUT", "/cluster/config/balancing", JSON_HDR "Authorization: Bearer user-tok\r\n", b,
            strlen(b), &r);
    expect(&r, 403, "admin", "user changes the strategy");
    resp_free(&r);
    request(f->port, "PUT", "/cluster/config/balancing", JSON_HDR "Authorization: Bearer admin-tok\r\n", b,
            strlen(b), &r);
    expect(&r, 200, NULL, "admin changes the strategy");
    resp_free(&r);

    /* 413: a declared length over the 1024-byte limit is refused before the body. */
    char big[4096];
    memset(big, ' ', sizeof big);
    request(f->port, "POST", "/cluster/tasks", JSON_HDR "Authorization: Bearer user-tok\r\n", big, sizeof big, &r);
    expect(&r, 413, "limit", "declared body over the limit");
    resp_free(&r);
    /* ... and a chunked body that grows past it. */
    char head[512];
    snprintf(head, sizeof head,
             "POST /cluster/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer user-tok\r\n"
             JSON_HDR "Transfer-Encoding: chunked\r\n\r\n");
    char chunks[3000];
    size_t n = 0;
    for (int i = 0; i < 4; i++) n += (size_t)sprintf(chunks + n, "200\r\n%512s\r\n", "");
    n += (size_t)sprintf(chunks + n, "0\r\n\r\n");
    exchange(connect_to(f->port), head, chunks, n, &r);
    expect(&r, 413, "limit", "chunked body over the limit");
    resp_free(&r);

    request(f->port, "POST", "/cluster/shutdown", "Authorization: Bearer user-tok\r\n", NULL, 0, &r);
    expect(&r, 403, NULL, "user shuts down");
    resp_free(&r);
    assert_int_equal(f->shutdowns, 0);
    request(f->port, "POST", "/cluster/shutdown", "Authorization: Bearer admin-tok\r\n", NULL, 0, &r);
    expect(&r, 202, NULL, "admin shuts down");
    resp_free(&r);
    assert_int_equal(f->shutdowns, 1);
    assert_true(lg_coord_draining(f->coord));
    char *body = task_body("HIGH", NULL);
    request(f->port, "POST", "/cluster/tasks", JSON_HDR "Authorization: Bearer user-tok\r\n", body, strlen(body), &r);
    expect(&r, 503, NULL, "submit while draining");
    resp_free(&r);
    free(body);
    get(f->port, "/cluster/health", NULL, 200, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "draining");
    resp_free(&r);
}

static void test_start_refusals(void **state)
{
    lg_coord_config cc;
    lg_coord_config_defaults(&cc);
    cc.data_dir = NULL;
    lg_coord *c;
    assert_int_equal(lg_coord_open(&cc, &c), LG_OK);
    lg_api_config ac;
    lg_api_config_defaults(&ac);
    ac.port = 0;
    ac.bind_host = "0.0.0.0";
    lg_api *a = NULL;
    assert_error(lg_api_start(c, &ac, &a), LG_E_INVALID_ARG, "tokens file");
    assert_null(a);
    ac.tokens_file = "/nonexistent/tokens.txt";
    assert_error(lg_api_start(c, &ac, &a), LG_E_IO, "/nonexistent/tokens.txt");
    const char *bad = "tok superuser\n";
    char *path = lg_test_tmpfile(bad, strlen(bad), ".txt");
    ac.tokens_file = path;
    assert_error(lg_api_start(c, &ac, &a), LG_E_PARSE, "line 1");
    unlink(path);
    free(path);
    lg_coord_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_health_metrics_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_completed_result, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_and_image_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kserve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prometheus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openapi_matches_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_roles_and_shutdown, setup_auth, teardown),
        cmocka_unit_test(test_start_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
