/*
 * test_events.c: the event bus and its followers: the ring (ids, cursors, type and model
 * filters, resync after Last-Event-ID fell out of the ring, dropping a follower too far
 * behind, stop), the coordinator's events through the observer (task life cycle, worker
 * join/status/drain/death, strategy, drain), and the wire in process: Server-Sent Events
 * and WebSocket over plain sockets against a real API on an ephemeral loopback port, a
 * stuck follower dropped while publishing stays fast, and the recent statistics.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <jansson.h>

#include "api/api_internal.h"
#include "api/events.h"
#include "api/events_hub.h"
#include "lg_test.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void pub(lg_events *ev, lg_event_type type, const char *model, int n)
{
    char data[64];
    int len = snprintf(data, sizeof data, "{\"n\":%d}", n);
    lg_events_publish(ev, type, model, data, (size_t)len);
}

/* ---- the ring ------------------------------------------------------------------------- */

static void test_ring_cursors_and_filters(void **state)
{
    lg_events *ev;
    assert_int_equal(lg_events_create(&ev), LG_OK);
    pub(ev, LG_EVT_TASK, "digits", 1);
    lg_event_cursor fresh, all, tasks, model;
    lg_events_cursor_init(ev, &fresh, -1, 0, NULL);           /* only new events */
    lg_events_cursor_init(ev, &all, 0, 0, NULL);              /* everything kept */
    lg_events_cursor_init(ev, &tasks, 0, LG_EVT_WORKER, NULL);
    lg_events_cursor_init(ev, &model, 0, 0, "other");
    pub(ev, LG_EVT_WORKER, NULL, 2);
    pub(ev, LG_EVT_TASK, "other", 3);

    char buf[LG_EVENTS_DATA_MAX];
    uint64_t id;
    const char *type;
    assert_int_equal(lg_events_take(ev, &fresh, buf, sizeof buf, &id, &type), LG_TAKE_EVENT);
    assert_int_equal(id, 2);
    assert_string_equal(type, "worker");
    assert_string_equal(buf, "{\"n\":2}");

    for (int want = 1; want <= 3; want++) {
        assert_int_equal(lg_events_take(ev, &all, buf, sizeof buf, &id, &type), LG_TAKE_EVENT);
        assert_int_equal(id, (uint64_t)want);
    }
    assert_int_equal(lg_events_take(ev, &all, buf, sizeof buf, &id, &type), LG_TAKE_NONE);
    assert_false(lg_events_pending(ev, &all));

    assert_int_equal(lg_events_take(ev, &tasks, buf, sizeof buf, &id, &type), LG_TAKE_EVENT);
    assert_int_equal(id, 2); /* workers only */
    assert_int_equal(lg_events_take(ev, &tasks, buf, sizeof buf, &id, &type), LG_TAKE_NONE);

    /* A model filter keeps that model's task events and every event that is not a task's. */
    assert_int_equal(lg_events_take(ev, &model, buf, sizeof buf, &id, &type), LG_TAKE_EVENT);
    assert_int_equal(id, 2);
    assert_int_equal(lg_events_take(ev, &model, buf, sizeof buf, &id, &type), LG_TAKE_EVENT);
    assert_int_equal(id, 3);

    unsigned bits;
    char bad[40];
    assert_true(lg_events_parse_types("task,worker", &bits, bad, sizeof bad));
    assert_int_equal(bits, LG_EVT_TASK | LG_EVT_WORKER);
    assert_true(lg_events_parse_types("", &bits, bad, sizeof bad));
    assert_int_equal(bits, LG_EVT_ALL);
    assert_false(lg_events_parse_types("task,bogus", &bits, bad, sizeof bad));
    assert_string_equal(bad, "bogus");

    lg_events_stop(ev);
    assert_int_equal(lg_events_take(ev, &all, buf, sizeof buf, &id, &type), LG_TAKE_STOPPED);
    lg_events_destroy(ev);
}

static void test_ring_resync_and_drop(void **state)
{
    lg_events *ev;
    assert_int_equal(lg_events_create(&ev), LG_OK);
    lg_event_cursor slow;
    lg_events_cursor_init(ev, &slow, -1, 0, NULL);
    pub(ev, LG_EVT_TASK, "m", 0);
    lg_event_cursor early;
    lg_events_cursor_init(ev, &early, 0, 0, NULL);
    /* Publishing never waits for anyone: a full ring just moves on. */
    double t0 = now_s();
    for (int i = 1; i < LG_EVENTS_RING + 100; i++) pub(ev, LG_EVT_TASK, "m", i);
    double took = now_s() - t0;
    if (took > 2.0) fail_msg("publishing %d events took %.2f s", LG_EVENTS_RING + 100, took);

    char buf[LG_EVENTS_DATA_MAX];
    uint64_t id;
    const char *type;
    /* Resuming from an id the ring no longer holds: resync, then the newest events. */
    lg_event_cursor resumed;
    lg_events_cursor_init(ev, &resumed, 5, 0, NULL);
    assert_int_equal(lg_events_take(ev, &resumed, buf, sizeof buf, &id, &type), LG_TAKE_RESYNC);
    assert_string_equal(type, "resync");
    assert_non_null(strstr(buf, "no longer kept"));
    assert_int_equal(lg_events_take(ev, &resumed, buf, sizeof buf, &id, &type), LG_TAKE_NONE);
    pub(ev, LG_EVT_TASK, "m", -1);
    assert_int_equal(lg_events_take(ev, &resumed, buf, sizeof buf, &id, &type), LG_TAKE_EVENT);
    assert_int_equal(id, LG_EVENTS_RING + 101);

    /* A connected follower that fell behind is dropped with a reason. */
    assert_int_equal(lg_events_take(ev, &slow, buf, sizeof buf, &id, &type), LG_TAKE_DROPPED);
    assert_string_equal(type, "dropped");
    assert_non_null(strstr(buf, "behind"));
    /* One that resumes (Last-Event-ID 0) is told to resync on its first read instead. */
    assert_int_equal(lg_events_take(ev, &early, buf, sizeof buf, &id, &type), LG_TAKE_RESYNC);
    lg_events_destroy(ev);
}

/* ---- the coordinator's events ------------------------------------------------------- */

typedef struct capture {
    int n;
    char lines[64][96];
} capture;

static void capture_event(void *arg, const lg_coord_event *e)
{
    capture *c = arg;
    static const char *const kinds[] = {"task", "worker", "strategy", "drain"};
    if (c->n == 64) return;
    snprintf(c->lines[c->n++], sizeof c->lines[0], "%s %s %s", kinds[e->kind], e->action,
             e->kind == LG_EV_WORKER ? lg_worker_status_name(e->worker->status)
             : e->kind == LG_EV_TASK ? lg_task_state_name(e->task->state)
                                     : "");
}

static bool captured(const capture *c, const char *line)
{
    for (int i = 0; i < c->n; i++)
        if (strncmp(c->lines[i], line, strlen(line)) == 0) return true;
    return false;
}

static void expect_event(const capture *c, const char *line)
{
    if (captured(c, line)) return;
    char all[4096] = "";
    for (int i = 0; i < c->n; i++) snprintf(all + strlen(all), sizeof all - strlen(all), "\n  %s", c->lines[i]);
    fail_msg("no event '%s' among:%s", line, all);
}

static void hello(lg_coord *c, const char *id)
{
    lg_worker_info w;
    memset(&w, 0, sizeof w);
    snprintf(w.id, sizeof w.id, "%s", id);
    snprintf(w.host, sizeof w.host, "localhost");
    w.capacity = 1;
    assert_int_equal(lg_coord_worker_hello(c, &w), LG_OK);
}

static void test_coordinator_events(void **state)
{
    lg_coord_config cc;
    lg_coord_config_defaults(&cc);
    cc.heartbeat_interval_s = 0.05;
    cc.max_attempts = 1;
    lg_coord *c;
    assert_int_equal(lg_coord_open(&cc, &c), LG_OK);
    capture cap = {0};
    lg_coord_set_observer(c, capture_event, &cap);

    hello(c, "w1");
    expect_event(&cap, "worker joined idle");
    lg_submit_request req = {.model = "digits", .input_kind = LG_INPUT_JSON, .input = (const uint8_t *)"{}",
                             .input_len = 2};
    lg_submit_result res;
    assert_int_equal(lg_coord_submit(c, &req, &res), LG_OK);
    expect_event(&cap, "task submitted QUEUED");
    lg_task t;
    char wid[64];
    assert_int_equal(lg_coord_next_dispatch(c, &t, wid, sizeof wid), LG_OK);
    lg_task_clear(&t);
    expect_event(&cap, "worker status busy");
    expect_event(&cap, "task dispatched DISPATCHED");
    assert_int_equal(lg_coord_task_started(c, "w1", res.task_id), LG_OK);
    expect_event(&cap, "task started RUNNING");
    assert_int_equal(lg_coord_task_completed(c, "w1", res.task_id, "{}", 0.01), LG_OK);
    expect_event(&cap, "task COMPLETED COMPLETED");
    expect_event(&cap, "worker status idle");

    assert_int_equal(lg_coord_submit(c, &req, &res), LG_OK);
    assert_int_equal(lg_coord_next_dispatch(c, &t, wid, sizeof wid), LG_OK);
    lg_task_clear(&t);
    assert_int_equal(lg_coord_task_failed(c, "w1", res.task_id, "bad input"), LG_OK);
    expect_event(&cap, "task FAILED FAILED");
    assert_int_equal(lg_coord_submit(c, &req, &res), LG_OK);
    assert_int_equal(lg_coord_task_cancel(c, res.task_id), LG_OK);
    expect_event(&cap, "task CANCELLED CANCELLED");

    assert_int_equal(lg_coord_set_strategy(c, LG_STRATEGY_ROUND_ROBIN), LG_OK);
    expect_event(&cap, "strategy changed");
    hello(c, "w2");
    assert_int_equal(lg_coord_worker_drain(c, "w2"), LG_OK);
    expect_event(&cap, "worker draining draining");
    assert_error(lg_coord_worker_drain(c, "nobody"), LG_E_NOT_FOUND, "nobody");
    assert_int_equal(lg_coord_worker_bye(c, "w2"), LG_OK);
    expect_event(&cap, "worker left dead");

    /* w1 stops beating: declared dead by a tick (polled with a deadline). */
    double deadline = now_s() + 10;
    while (!captured(&cap, "worker dead dead") && now_s() < deadline) lg_coord_tick(c);
    expect_event(&cap, "worker dead dead");
    lg_coord_drain(c);
    expect_event(&cap, "drain started");
    lg_coord_set_observer(c, NULL, NULL);
    lg_coord_close(c);
}

/* ---- the wire ---------------------------------------------------------------------- */

typedef struct fix {
    lg_coord *coord;
    lg_api *api;
    int port;
} fix;

static int setup(void **state)
{
    fix *f = calloc(1, sizeof *f);
    lg_coord_config cc;
    lg_coord_config_defaults(&cc);
    assert_int_equal(lg_coord_open(&cc, &f->coord), LG_OK);
    lg_api_config ac;
    lg_api_config_defaults(&ac);
    ac.port = 0;
    if (lg_api_start(f->coord, &ac, &f->api) != LG_OK) fail_msg("lg_api_start: %s", lg_last_error());
    f->port = lg_api_port(f->api);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix *f = *state;
    double t0 = now_s();
    lg_api_stop(f->api); /* with followers still connected */
    if (now_s() - t0 > 5) fail_msg("lg_api_stop took %.1f s with followers connected", now_s() - t0);
    lg_coord_close(f->coord);
    free(f);
    return 0;
}

static int connect_to(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (rcvbuf) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Reads into buf (appending, NUL-terminated) until needle appears or the deadline. */
static bool read_until(int fd, char *buf, size_t cap, size_t *len, const char *needle, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    size_t from = 0, nl = strlen(needle); /* only new bytes are searched */
    while (!strstr(buf + from, needle)) {
        from = *len > nl ? *len - nl : 0;
        int left = (int)((deadline - now_s()) * 1000);
        if (left <= 0 || *len + 1 >= cap) return false;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, left) <= 0) return false;
        ssize_t n = recv(fd, buf + *len, cap - *len - 1, 0);
        if (n <= 0) return strstr(buf + from, needle) != NULL;
        *len += (size_t)n;
        buf[*len] = '\0';
    }
    return true;
}

static void submit(fix *f, const char *model)
{
    lg_submit_request req = {.model = model, .input_kind = LG_INPUT_JSON, .input = (const uint8_t *)"{}",
                             .input_len = 2};
    lg_submit_result res;
    assert_int_equal(lg_coord_submit(f->coord, &req, &res), LG_OK);
}

static void test_sse(void **state)
{
    fix *f = *state;
    int fd = connect_to(f->port, 0);
    const char *get = "GET /cluster/events?types=task&model=digits HTTP/1.1\r\nHost: x\r\n\r\n";
    send_all(fd, get, strlen(get));
    char buf[65536] = "";
    size_t len = 0;
    if (!read_until(fd, buf, sizeof buf, &len, "legacygpu cluster events", 10)) fail_msg("no stream: %s", buf);
    assert_non_null(strstr(buf, "200 OK"));
    assert_non_null(strcasestr(buf, "Content-Type: text/event-stream"));
    submit(f, "other"); /* filtered out */
    submit(f, "digits");
    if (!read_until(fd, buf, sizeof buf, &len, "\"action\":\"submitted\"", 10)) fail_msg("no event: %s", buf);
    assert_non_null(strstr(buf, "event: task\ndata: {"));
    assert_null(strstr(buf, "\"model\":\"other\""));
    const char *idp = strstr(buf, "id: ");
    assert_non_null(idp);
    long long id = strtoll(idp + 4, NULL, 10);
    assert_true(id >= 2);
    close(fd);

    /* Resuming after an id replays from the ring; a bad filter is one clear 400. */
    fd = connect_to(f->port, 0);
    char req[256];
    snprintf(req, sizeof req, "GET /cluster/events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: %lld\r\n\r\n", id - 2);
    send_all(fd, req, strlen(req));
    buf[0] = '\0';
    len = 0;
    snprintf(req, sizeof req, "id: %lld\n", id);
    if (!read_until(fd, buf, sizeof buf, &len, req, 10)) fail_msg("no replay up to %lld: %s", id, buf);
    assert_non_null(strstr(buf, "\"model\":\"other\""));
    close(fd);
    fd = connect_to(f->port, 0);
    const char *bad = "GET /cluster/events?types=task,nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    send_all(fd, bad, strlen(bad));
    buf[0] = '\0';
    len = 0;
    read_until(fd, buf, sizeof buf, &len, "}}", 10);
    assert_non_null(strstr(buf, "400 Bad Request"));
    assert_non_null(strstr(buf, "unknown event type 'nope'"));
    close(fd);
}

/* Reads one server frame (unmasked); returns its opcode, payload in out. */
static int ws_frame(int fd, char *out, size_t cap, size_t *plen)
{
    uint8_t h[2];
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (recv(fd, h, 2, MSG_WAITALL) != 2) return -1;
    assert_int_equal(h[1] & 0x80, 0); /* servers do not mask */
    size_t n = h[1] & 0x7f;
    if (n == 126) {
        uint8_t e[2];
        assert_int_equal(recv(fd, e, 2, MSG_WAITALL), 2);
        n = (size_t)e[0] << 8 | e[1];
    }
    assert_true(n < cap);
    if (n) assert_int_equal(recv(fd, out, n, MSG_WAITALL), (ssize_t)n);
    out[n] = '\0';
    *plen = n;
    return h[0] & 0x0f;
}

static void test_websocket(void **state)
{
    fix *f = *state;
    int fd = connect_to(f->port, 0);
    const char *up = "GET /cluster/events?types=task HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n";
    send_all(fd, up, strlen(up));
    char head[4096] = "";
    size_t len = 0;
    /* Read the head byte by byte so no frame byte is taken with it. */
    double deadline = now_s() + 10;
    while (!strstr(head, "\r\n\r\n") && now_s() < deadline && len + 1 < sizeof head) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 1000) <= 0) continue;
        if (recv(fd, head + len, 1, 0) != 1) break;
        head[++len] = '\0';
    }
    if (!strstr(head, "101 Switching Protocols")) fail_msg("no upgrade: %s", head);
    /* RFC 6455's own example key and answer. */
    assert_non_null(strstr(head, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    submit(f, "digits");
    char msg[8192];
    size_t n;
    int op = ws_frame(fd, msg, sizeof msg, &n);
    assert_int_equal(op, 1); /* text */
    json_t *j = json_loads(msg, 0, NULL);
    if (!j) fail_msg("not JSON: %s", msg);
    assert_string_equal(json_string_value(json_object_get(j, "event")), "task");
    assert_true(json_integer_value(json_object_get(j, "id")) >= 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "data"), "action")), "submitted");
    json_decref(j);
    /* A masked close frame from the client is answered with a close frame. */
    const uint8_t close_frame[] = {0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2};
    send_all(fd, close_frame, sizeof close_frame);
    op = ws_frame(fd, msg, sizeof msg, &n);
    assert_int_equal(op, 8);
    close(fd);

    /* A bad key is one clear 400. */
    fd = connect_to(f->port, 0);
    const char *bad = "GET /cluster/events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n"
                      "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n";
    send_all(fd, bad, strlen(bad));
    char buf[4096] = "";
    len = 0;
    read_until(fd, buf, sizeof buf, &len, "}}", 10);
    assert_non_null(strstr(buf, "400 Bad Request"));
    assert_non_null(strstr(buf, "Sec-WebSocket-Key"));
    close(fd);

    /* A WebSocket follower left open ends when the server stops (teardown). */
    fd = connect_to(f->port, 0);
    send_all(fd, up, strlen(up));
    memset(head, 0, sizeof head);
    len = 0;
    read_until(fd, head, sizeof head, &len, "\r\n\r\n", 10);
    assert_non_null(strstr(head, "101"));
}

static void test_stuck_follower_is_dropped(void **state)
{
    fix *f = *state;
    /* A follower that reads nothing: its socket buffers fill up and stay full. */
    int fd = connect_to(f->port, 4096);
    const char *get = "GET /cluster/events HTTP/1.1\r\nHost: x\r\n\r\n";
    send_all(fd, get, strlen(get));
    lg_event_hub *hub = f->api->hub;
    char data[2048];
    memset(data, 'x', sizeof data);
    memcpy(data, "{\"pad\":\"", 8);
    memcpy(data + sizeof data - 3, "\"}", 3);
    /* Wait until the follower is registered (it is once its headers went out). */
    double deadline = now_s() + 10;
    for (;;) {
        pthread_mutex_lock(&hub->mu);
        bool in = hub->sse != NULL;
        pthread_mutex_unlock(&hub->mu);
        if (in) break;
        if (now_s() > deadline) fail_msg("the follower never connected");
        struct pollfd p = {fd, 0, 0};
        poll(&p, 1, 10);
    }
    double t0 = now_s();
    /* More than the ring holds: whatever the kernel buffers, it ends too far behind. */
    int n = LG_EVENTS_RING + 1000;
    for (int i = 0; i < n; i++) lg_events_publish(hub->bus, LG_EVT_TASK, "m", data, strlen(data));
    double took = now_s() - t0;
    if (took > 2.0) fail_msg("publishing %d events with a stuck follower took %.2f s", n, took);
    /* Now it reads: what it gets ends with the dropped event. */
    size_t cap = (size_t)n * 2200, len = 0;
    char *buf = calloc(1, cap);
    if (!read_until(fd, buf, cap, &len, "event: dropped", 60)) fail_msg("no dropped event in %zu bytes", len);
    assert_non_null(strstr(strstr(buf, "event: dropped"), "behind"));
    free(buf);
    close(fd);
}

static void test_recent_stats(void **state)
{
    fix *f = *state;
    lg_worker_info w;
    memset(&w, 0, sizeof w);
    snprintf(w.id, sizeof w.id, "w1");
    w.capacity = 1;
    assert_int_equal(lg_coord_worker_hello(f->coord, &w), LG_OK);
    submit(f, "digits");
    lg_task t;
    char wid[64];
    assert_int_equal(lg_coord_next_dispatch(f->coord, &t, wid, sizeof wid), LG_OK);
    assert_int_equal(lg_coord_task_completed(f->coord, "w1", t.id, "{}", 0.01), LG_OK);
    lg_task_clear(&t);
    size_t len;
    char *text = lg_recent_json(lg_events_recent(f->api->hub->bus), lg_now(), &len);
    json_t *j = json_loads(text, 0, NULL);
    if (!j) fail_msg("not JSON: %s", text);
    json_t *b = json_object_get(j, "buckets");
    assert_int_equal(json_array_size(b), LG_RECENT_BUCKETS);
    json_t *last = json_array_get(b, LG_RECENT_BUCKETS - 1);
    assert_int_equal(json_integer_value(json_object_get(last, "tasks")), 1);
    assert_true(json_real_value(json_object_get(last, "p50_s")) > 0);
    assert_true(json_is_null(json_object_get(json_array_get(b, 0), "p50_s")));
    json_decref(j);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_cursors_and_filters),
        cmocka_unit_test(test_ring_resync_and_drop),
        cmocka_unit_test(test_coordinator_events),
        cmocka_unit_test_setup_teardown(test_sse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_websocket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stuck_follower_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recent_stats, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
