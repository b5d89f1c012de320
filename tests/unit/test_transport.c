/*
 * test_transport.c: the ZeroMQ transport end to end in one process: a real coordinator
 * (in-memory store) with its ROUTER on an ephemeral loopback port and lg_workers that
 * connect to it. Tasks run and complete; a worker stopped mid-run hands its tasks to the
 * other; a worker without the model fetches it from the coordinator; a missing model
 * fails cleanly; a peer speaking another protocol version is refused; workers survive
 * a coordinator restart on the same port. Every wait polls with a deadline.
 */
#include "lg_test.h"

#include <stdbool.h>

#include "cluster/coord_net.h"
#include "cluster/coordinator.h"
#include "cluster/protocol.h"
#include "cluster/worker.h"

#define MODELS LG_SOURCE_DIR "/models"
#define BEAT_S 0.2

typedef struct cluster {
    lg_coord *c;
    lg_coord_net *net;
    char endpoint[300];
} cluster;

static void cluster_open(cluster *cl, const char *bind)
{
    lg_coord_config cfg;
    lg_coord_config_defaults(&cfg);
    cfg.data_dir = NULL;
    cfg.models_dir = MODELS;
    cfg.heartbeat_interval_s = BEAT_S;
    cfg.heartbeat_misses = 3;
    if (lg_coord_open(&cfg, &cl->c) != LG_OK) fail_msg("lg_coord_open: %s", lg_last_error());
    if (lg_coord_net_start(cl->c, bind, &cl->net) != LG_OK) fail_msg("lg_coord_net_start: %s", lg_last_error());
    snprintf(cl->endpoint, sizeof(cl->endpoint), "%s", lg_coord_net_endpoint(cl->net));
    assert_true(strncmp(cl->endpoint, "tcp://127.0.0.1:", 16) == 0);
    assert_true(atoi(cl->endpoint + 16) > 0);
}

static void cluster_close(cluster *cl)
{
    lg_coord_net_stop(cl->net);
    lg_coord_close(cl->c);
}

static lg_worker *worker_start(const cluster *cl, const char *id, const char *models_dir, int max_tasks)
{
    lg_worker_config wc;
    lg_worker_config_defaults(&wc);
    wc.coordinator = cl->endpoint;
    wc.worker_id = id;
    wc.models_dir = models_dir;
    wc.backend = "cpu";
    wc.max_tasks = max_tasks;
    wc.threads = 1;
    wc.heartbeat_interval_s = BEAT_S;
    lg_worker *w;
    if (lg_worker_start(&wc, &w) != LG_OK) fail_msg("lg_worker_start: %s", lg_last_error());
    assert_string_equal(lg_worker_id(w), id);
    return w;
}

static void count_worker(void *arg, const lg_worker_view *w)
{
    (void)w;
    (*(int *)arg)++;
}

static int live_workers(lg_coord *c)
{
    int n = 0;
    for (int s = LG_WORKER_IDLE; s < LG_WORKER_DEAD; s++) lg_coord_workers(c, s, count_worker, &n);
    return n;
}

/* Polls until n workers are alive, up to 10 s. */
static void wait_workers(lg_coord *c, int n)
{
    double until = lg_now() + 10;
    while (live_workers(c) != n && lg_now() < until) usleep(5000); /* poll */
    assert_int_equal(live_workers(c), n);
}

/* A digits input: an 8x8 image of a vertical bar. */
static char *digits_input(void)
{
    char *s = malloc(4096);
    int o = snprintf(s, 4096, "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,1,8,8],\"datatype\":\"FP32\",\"data\":[");
    for (int i = 0; i < 64; i++) o += snprintf(s + o, 4096 - (size_t)o, "%s%s", i ? "," : "", i % 8 == 4 ? "1.0" : "0.0");
    snprintf(s + o, 4096 - (size_t)o, "]}]}");
    return s;
}

static void submit(lg_coord *c, const char *model, char *id)
{
    char *body = digits_input();
    lg_submit_request req = { .model = model, .priority = LG_PRIO_NORMAL, .input_kind = LG_INPUT_JSON,
                              .input = (const uint8_t *)body, .input_len = strlen(body) };
    lg_submit_result res;
    if (lg_coord_submit(c, &req, &res) != LG_OK) fail_msg("submit: %s", lg_last_error());
    strcpy(id, res.task_id);
    free(body);
}

/* Waits for a final state (up to 20 s) and returns it; *t holds the task. */
static lg_task_state wait_final(lg_coord *c, const char *id, lg_task *t)
{
    bool final = false;
    if (lg_coord_task_wait(c, id, 20.0, t, &final) != LG_OK) fail_msg("wait %s: %s", id, lg_last_error());
    if (!final) fail_msg("task %s still %s after 20 s", id, lg_task_state_name(t->state));
    return t->state;
}

static void expect_completed(lg_coord *c, const char *id)
{
    lg_task t;
    if (wait_final(c, id, &t) != LG_TASK_COMPLETED)
        fail_msg("task %s %s: %s", id, lg_task_state_name(t.state), t.error ? t.error : "");
    assert_non_null(t.result);
    assert_non_null(strstr(t.result, "\"outputs\""));
    assert_non_null(strstr(t.result, "\"postprocessed\""));
    lg_task_clear(&t);
}

static void test_tasks_run(void **state)
{
    (void)state;
    cluster cl;
    cluster_open(&cl, "tcp://127.0.0.1:0");
    lg_worker *a = worker_start(&cl, "worker-a", MODELS, 2), *b = worker_start(&cl, "worker-b", MODELS, 2);
    wait_workers(cl.c, 2);
    lg_worker_view v;
    assert_int_equal(lg_coord_worker_get(cl.c, "worker-a", &v), LG_OK);
    assert_int_equal(v.info.capacity, 2);
    assert_true(v.info.n_backends >= 1);
    assert_string_equal(v.info.backends[0], "cpu");
    assert_true(v.info.n_devices >= 1);
    assert_true(v.info.n_models >= 1);

    enum { N = 200 };
    static char ids[N][LG_TASK_ID_LEN + 1];
    for (int i = 0; i < N; i++) submit(cl.c, "digits", ids[i]);
    for (int i = 0; i < N; i++) expect_completed(cl.c, ids[i]);

    /* Both workers took part. */
    lg_worker_view va, vb;
    assert_int_equal(lg_coord_worker_get(cl.c, "worker-a", &va), LG_OK);
    assert_int_equal(lg_coord_worker_get(cl.c, "worker-b", &vb), LG_OK);
    assert_int_equal(va.completed + vb.completed, N);
    assert_true(va.completed > 0 && vb.completed > 0);

    lg_worker_stop(a);
    lg_worker_stop(b);
    wait_workers(cl.c, 0);
    cluster_close(&cl);
}

static void test_worker_stopped_midrun(void **state)
{
    (void)state;
    cluster cl;
    cluster_open(&cl, "tcp://127.0.0.1:0");
    lg_worker *a = worker_start(&cl, "worker-a", MODELS, 2), *b = worker_start(&cl, "worker-b", MODELS, 2);
    wait_workers(cl.c, 2);
    enum { N = 300 };
    static char ids[N][LG_TASK_ID_LEN + 1];
    for (int i = 0; i < N; i++) submit(cl.c, "digits", ids[i]);
    expect_completed(cl.c, ids[10]);
    lg_worker_stop(a); /* with tasks of this batch still queued or running */
    for (int i = 0; i < N; i++) expect_completed(cl.c, ids[i]);
    lg_worker_view vb;
    assert_int_equal(lg_coord_worker_get(cl.c, "worker-b", &vb), LG_OK);
    assert_true(vb.completed > 0);
    lg_worker_stop(b);
    cluster_close(&cl);
}

static void test_model_fetch(void **state)
{
    (void)state;
    cluster cl;
    cluster_open(&cl, "tcp://127.0.0.1:0");
    lg_worker *w = worker_start(&cl, "worker-empty", NULL, 2);
    wait_workers(cl.c, 1);
    lg_worker_view v;
    assert_int_equal(lg_coord_worker_get(cl.c, "worker-empty", &v), LG_OK);
    assert_int_equal(v.info.n_models, 0);
    char ids[8][LG_TASK_ID_LEN + 1];
    for (int i = 0; i < 8; i++) submit(cl.c, "digits", ids[i]);
    for (int i = 0; i < 8; i++) expect_completed(cl.c, ids[i]);
    /* The labels travelled with the fetched model: results name the classes. */
    lg_task done;
    assert_int_equal(lg_coord_task_get(cl.c, ids[0], &done), LG_OK);
    if (!done.result || !strstr(done.result, "\"label\":\"")) fail_msg("result without labels: %s", done.result);
    lg_task_clear(&done);

    /* A model neither side has: the attempts fail with the coordinator's reason. */
    char bad[LG_TASK_ID_LEN + 1];
    submit(cl.c, "no_such_model", bad);
    lg_task t;
    assert_int_equal(wait_final(cl.c, bad, &t), LG_TASK_FAILED);
    assert_non_null(t.error);
    if (!strstr(t.error, "coordinator cannot send it")) fail_msg("error: %s", t.error);
    lg_task_clear(&t);
    lg_worker_stop(w);
    cluster_close(&cl);
}

/* Receives one message on s, polling up to 5 s. */
static int recv_wait(zsock_t *s, lg_rx *rx)
{
    zmq_pollitem_t it = { zsock_resolve(s), 0, ZMQ_POLLIN, 0 };
    zmq_poll(&it, 1, 5000);
    return lg_proto_recv(zsock_resolve(s), rx);
}

static void test_bad_peers(void **state)
{
    (void)state;
    cluster cl;
    cluster_open(&cl, "tcp://127.0.0.1:0");
    zsock_t *d = lg_proto_socket_new(ZMQ_DEALER);
    assert_int_equal(zsock_connect(d, "%s", cl.endpoint), 0);

    /* Another protocol version: a clear error, not registered. */
    const char *hello = "{\"id\":\"old-worker\",\"capacity\":1}";
    zmq_send(zsock_resolve(d), "LG0", 3, ZMQ_SNDMORE);
    zmq_send(zsock_resolve(d), "HELLO", 5, ZMQ_SNDMORE);
    zmq_send(zsock_resolve(d), hello, strlen(hello), 0);
    lg_rx rx;
    lg_msg m;
    assert_int_equal(recv_wait(d, &rx), LG_OK);
    assert_int_equal(lg_rx_decode(&rx, 0, &m), LG_OK);
    assert_int_equal(m.type, LG_MSG_ERROR);
    assert_string_equal(lg_proto_str(&m, "code"), "version");
    assert_non_null(strstr(lg_proto_str(&m, "message"), "version 'LG0' is not supported"));
    lg_msg_clear(&m);
    lg_rx_close(&rx);

    /* Garbage JSON, then a report before HELLO: clean errors. */
    zmq_send(zsock_resolve(d), "LG1", 3, ZMQ_SNDMORE);
    zmq_send(zsock_resolve(d), "HEARTBEAT", 9, ZMQ_SNDMORE);
    zmq_send(zsock_resolve(d), "{nope", 5, 0);
    assert_int_equal(recv_wait(d, &rx), LG_OK);
    assert_int_equal(lg_rx_decode(&rx, 0, &m), LG_OK);
    assert_string_equal(lg_proto_str(&m, "code"), "malformed");
    lg_msg_clear(&m);
    lg_rx_close(&rx);
    assert_int_equal(lg_proto_send(zsock_resolve(d), NULL, 0, LG_MSG_HEARTBEAT, NULL, 0, NULL), LG_OK);
    assert_int_equal(recv_wait(d, &rx), LG_OK);
    assert_int_equal(lg_rx_decode(&rx, 0, &m), LG_OK);
    assert_string_equal(lg_proto_str(&m, "code"), "unknown_worker");
    lg_msg_clear(&m);
    lg_rx_close(&rx);
    assert_int_equal(live_workers(cl.c), 0);

    /* The right version registers. */
    assert_int_equal(lg_proto_send(zsock_resolve(d), NULL, 0, LG_MSG_HELLO, json_loads(hello, 0, NULL), 0, NULL),
                     LG_OK);
    assert_int_equal(recv_wait(d, &rx), LG_OK);
    assert_int_equal(lg_rx_decode(&rx, 0, &m), LG_OK);
    assert_int_equal(m.type, LG_MSG_WELCOME);
    assert_string_equal(lg_proto_str(&m, "worker_id"), "old-worker");
    lg_msg_clear(&m);
    lg_rx_close(&rx);
    assert_int_equal(live_workers(cl.c), 1);
    assert_int_equal(lg_proto_send(zsock_resolve(d), NULL, 0, LG_MSG_BYE, NULL, 0, NULL), LG_OK);
    wait_workers(cl.c, 0);
    zsock_destroy(&d);
    cluster_close(&cl);
}

static void test_coordinator_restart(void **state)
{
    (void)state;
    cluster cl;
    cluster_open(&cl, "tcp://127.0.0.1:0");
    char bind[300];
    snprintf(bind, sizeof(bind), "%s", cl.endpoint);
    lg_worker *w = worker_start(&cl, "worker-r", MODELS, 1);
    wait_workers(cl.c, 1);
    char id[LG_TASK_ID_LEN + 1];
    submit(cl.c, "digits", id);
    expect_completed(cl.c, id);

    cluster_close(&cl);
    cluster_open(&cl, bind); /* same port, empty registry */
    assert_string_equal(cl.endpoint, bind);
    wait_workers(cl.c, 1);
    submit(cl.c, "digits", id);
    expect_completed(cl.c, id);
    lg_worker_stop(w);
    cluster_close(&cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tasks_run),
        cmocka_unit_test(test_worker_stopped_midrun),
        cmocka_unit_test(test_model_fetch),
        cmocka_unit_test(test_bad_peers),
        cmocka_unit_test(test_coordinator_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
