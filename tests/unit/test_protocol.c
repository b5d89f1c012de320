/*
 * test_protocol.c: the wire protocol's encoder and decoder: every message type round
 * trips through a real socket, worker info round trips, and a table of malformed messages (wrong version,
 * unknown type, missing frames, oversized parts, bad JSON, missing or mistyped fields)
 * each gives a clean error naming the problem.
 */
#include "lg_test.h"

#include "cluster/protocol.h"

/* An inproc pair for messages that travel through real sockets. */
static zsock_t *tx, *rx_sock;

static int setup(void **state)
{
    (void)state;
    tx = lg_proto_socket_new(ZMQ_PAIR);
    rx_sock = lg_proto_socket_new(ZMQ_PAIR);
    if (zsock_bind(rx_sock, "inproc://test_protocol") != 0) return -1;
    return zsock_connect(tx, "inproc://test_protocol");
}

static int teardown(void **state)
{
    (void)state;
    zsock_destroy(&tx);
    zsock_destroy(&rx_sock);
    return 0;
}

/* Receives one message, polling up to 5 s. */
static int recv_wait(lg_rx *rx)
{
    zmq_pollitem_t it = { zsock_resolve(rx_sock), 0, ZMQ_POLLIN, 0 };
    zmq_poll(&it, 1, 5000);
    return lg_proto_recv(zsock_resolve(rx_sock), rx);
}

/* Frames of up to 6 parts given as strings (NULL ends). */
typedef struct bad_case {
    const char *what;
    const char *frames[6];
    int want;
    const char *needle;
} bad_case;

static const bad_case bad_cases[] = {
    { "no frames", { NULL }, LG_E_PARSE, "empty message" },
    { "wrong version", { "LG2", "HELLO", "{\"id\":\"w\",\"capacity\":1}", NULL }, LG_E_UNSUPPORTED,
      "version 'LG2' is not supported (this side speaks LG1)" },
    { "binary version", { "\x01\x02", "HELLO", "{}", NULL }, LG_E_UNSUPPORTED, "version '\\x01\\x02'" },
    { "version only", { "LG1", NULL }, LG_E_PARSE, "1 frames, at least 3" },
    { "no JSON", { "LG1", "HEARTBEAT", NULL }, LG_E_PARSE, "2 frames, at least 3" },
    { "unknown type", { "LG1", "HELO", "{}", NULL }, LG_E_PARSE, "unknown message type 'HELO'" },
    { "lower-case type", { "LG1", "hello", "{}", NULL }, LG_E_PARSE, "unknown message type 'hello'" },
    { "task without input", { "LG1", "TASK", "{\"id\":\"a\",\"model\":\"m\",\"input_kind\":0,\"timeout_s\":0}", NULL },
      LG_E_PARSE, "TASK with 0 payload frames (1 to 1 expected)" },
    { "heartbeat with payload", { "LG1", "HEARTBEAT", "{}", "x", NULL }, LG_E_PARSE,
      "HEARTBEAT with 1 payload frames (0 to 0 expected)" },
    { "model with one payload", { "LG1", "MODEL", "{\"name\":\"m\",\"sha256\":\"ab\"}", "onnx", NULL }, LG_E_PARSE,
      "MODEL with 1 payload frames (2 to 2 expected)" },
    { "bad JSON", { "LG1", "HEARTBEAT", "{\"in_flight\":", NULL }, LG_E_PARSE, "HEARTBEAT metadata is not JSON" },
    { "JSON not an object", { "LG1", "BYE", "[1,2]", NULL }, LG_E_PARSE, "BYE metadata is not a JSON object" },
    { "duplicate key", { "LG1", "STARTED", "{\"id\":\"a\",\"id\":\"b\"}", NULL }, LG_E_PARSE, "not JSON" },
    { "missing field", { "LG1", "HELLO", "{\"capacity\":2}", NULL }, LG_E_PARSE, "HELLO without field 'id'" },
    { "mistyped field", { "LG1", "HELLO", "{\"id\":\"w\",\"capacity\":\"2\"}", NULL }, LG_E_PARSE,
      "HELLO field 'capacity' is not an integer" },
    { "number as string", { "LG1", "RESULT", "{\"id\":\"a\",\"service_s\":\"x\"}", "{}", NULL }, LG_E_PARSE,
      "RESULT field 'service_s' is not a number" },
    { "empty id", { "LG1", "STARTED", "{\"id\":\"\"}", NULL }, LG_E_PARSE, "field 'id' has 0 characters" },
    { "id too long", { "LG1", "STARTED", "{\"id\":\"0123456789012345678901234567890123456789\"}", NULL }, LG_E_PARSE,
      "field 'id' has 40 characters (1 to 36 allowed)" },
    { "error without message", { "LG1", "ERROR", "{\"code\":\"x\"}", NULL }, LG_E_PARSE,
      "ERROR without field 'message'" },
};

static void test_bad_messages(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const bad_case *c = &bad_cases[i];
        lg_frame fr[6];
        int n = 0;
        while (n < 6 && c->frames[n]) {
            fr[n].data = c->frames[n];
            fr[n].len = strlen(c->frames[n]);
            n++;
        }
        lg_msg m;
        int rc = lg_proto_decode(fr, n, &m);
        if (rc != c->want || !strstr(lg_last_error(), c->needle))
            fail_msg("case '%s': %s \"%s\" (want %s \"%s\")", c->what, lg_err_name(rc), lg_last_error(),
                     lg_err_name(c->want), c->needle);
        assert_null(m.meta);
    }
}

static void test_oversized(void **state)
{
    (void)state;
    size_t big = LG_PROTO_MAX_META + 1;
    char *meta = malloc(big);
    memset(meta, ' ', big);
    meta[0] = '{';
    meta[big - 1] = '}';
    lg_frame fr[3] = { { "LG1", 3 }, { "HEARTBEAT", 9 }, { meta, big } };
    lg_msg m;
    assert_error(lg_proto_decode(fr, 3, &m), LG_E_LIMIT, "HEARTBEAT metadata of 1048577 bytes (limit 1048576)");
    free(meta);

    /* Too many frames for the type, and more frames than any type has. */
    lg_frame many[7] = { { "LG1", 3 }, { "MODEL", 5 }, { "{\"name\":\"m\",\"sha256\":\"a\"}", 25 }, { "a", 1 },
                         { "b", 1 },   { "c", 1 },     { "d", 1 } };
    assert_error(lg_proto_decode(many, 7, &m), LG_E_PARSE, "MODEL with 4 payload frames (2 to 2 expected)");

    /* Over a socket: more parts than any message has, then a good message still decodes. */
    for (int i = 0; i < 7; i++) zmq_send(zsock_resolve(tx), many[i].data, many[i].len, i < 6 ? ZMQ_SNDMORE : 0);
    lg_rx rx;
    assert_int_equal(recv_wait(&rx), LG_OK);
    assert_int_equal(rx.total, 7);
    assert_error(lg_rx_decode(&rx, 0, &m), LG_E_PARSE, "7 frames, at most 5");
    lg_rx_close(&rx);
    assert_int_equal(lg_proto_send(zsock_resolve(tx), NULL, 0, LG_MSG_BYE, NULL, 0, NULL), LG_OK);
    assert_int_equal(recv_wait(&rx), LG_OK);
    assert_int_equal(lg_rx_decode(&rx, 0, &m), LG_OK);
    assert_int_equal(m.type, LG_MSG_BYE);
    lg_msg_clear(&m);
    lg_rx_close(&rx);
}

/* Sends over the inproc pair, receives and decodes (rx holds the payloads). */
static void round_trip(lg_msg_type t, json_t *meta, int n, const lg_frame *blobs, lg_rx *rx, lg_msg *out)
{
    assert_int_equal(lg_proto_send(zsock_resolve(tx), NULL, 0, t, meta, n, blobs), LG_OK);
    assert_int_equal(recv_wait(rx), LG_OK);
    assert_int_equal(rx->total, 3 + n);
    int rc = lg_rx_decode(rx, 0, out);
    if (rc != LG_OK) fail_msg("%s: %s", lg_msg_type_name(t), lg_last_error());
    assert_int_equal(out->type, t);
}

static void test_round_trips(void **state)
{
    (void)state;
    const char *id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    uint8_t input[300];
    for (size_t i = 0; i < sizeof(input); i++) input[i] = (uint8_t)i; /* zero bytes included */
    lg_frame in = { input, sizeof(input) };
    lg_msg m;
    lg_rx rx;
    round_trip(LG_MSG_TASK,
                           json_pack("{s:s, s:s, s:i, s:f}", "id", id, "model", "digits", "input_kind", 2,
                                     "timeout_s", 2.5),
               1, &in, &rx, &m);
    assert_string_equal(lg_proto_str(&m, "id"), id);
    assert_string_equal(lg_proto_str(&m, "model"), "digits");
    assert_int_equal(lg_proto_int(&m, "input_kind", -1), 2);
    assert_true(lg_proto_num(&m, "timeout_s", 0) == 2.5);
    assert_string_equal(lg_proto_str(&m, "absent"), "");
    assert_int_equal(m.n_blobs, 1);
    assert_int_equal(m.blob_len[0], sizeof(input));
    assert_memory_equal(m.blob[0], input, sizeof(input));
    lg_msg_clear(&m);
    lg_rx_close(&rx);

    lg_frame model[2] = { { "onnx-bytes", 10 }, { "", 0 } };
    round_trip(LG_MSG_MODEL, json_pack("{s:s, s:s}", "name", "digits", "sha256", "ab"), 2, model, &rx, &m);
    assert_int_equal(m.blob_len[0], 10);
    assert_int_equal(m.blob_len[1], 0);
    lg_msg_clear(&m);
    lg_rx_close(&rx);

    round_trip(LG_MSG_HEARTBEAT, NULL, 0, NULL, &rx, &m);
    assert_int_equal(lg_proto_int(&m, "in_flight", 7), 7);
    lg_msg_clear(&m);
    lg_rx_close(&rx);

    assert_int_equal(lg_proto_send_error(zsock_resolve(tx), NULL, 0, LG_PROTO_ERR_UNKNOWN,
                                         "worker 'w1' is not registered"),
                     LG_OK);
    assert_int_equal(recv_wait(&rx), LG_OK);
    assert_int_equal(lg_rx_decode(&rx, 0, &m), LG_OK);
    assert_int_equal(m.type, LG_MSG_ERROR);
    assert_string_equal(lg_proto_str(&m, "code"), "unknown_worker");
    lg_msg_clear(&m);
    lg_rx_close(&rx);

    for (int t = 0; t < LG_MSG_COUNT; t++) assert_non_null(lg_msg_type_name((lg_msg_type)t));
    assert_null(lg_msg_type_name(LG_MSG_COUNT));
}

static void test_worker_info(void **state)
{
    (void)state;
    lg_worker_info w;
    memset(&w, 0, sizeof(w));
    strcpy(w.id, "gpu-box-1");
    strcpy(w.host, "lab3");
    w.n_backends = 2;
    strcpy(w.backends[0], "cpu");
    strcpy(w.backends[1], "vulkan");
    w.n_devices = 1;
    strcpy(w.devices[0].name, "Radeon RX 580");
    strcpy(w.devices[0].vendor, "amd");
    strcpy(w.devices[0].backend, "vulkan");
    w.devices[0].memory_mb = 8192;
    w.devices[0].fp16 = true;
    w.cpu_threads = 8;
    w.capacity = 3;
    w.n_models = 1;
    strcpy(w.models[0], "digits");
    w.n_tags = 1;
    strcpy(w.tags[0], "room=lab3");

    lg_msg m;
    lg_rx rx;
    round_trip(LG_MSG_HELLO, lg_proto_worker_info_to_json(&w), 0, NULL, &rx, &m);
    lg_worker_info back;
    assert_int_equal(lg_proto_worker_info_from_json(m.meta, &back), LG_OK);
    assert_memory_equal(&back, &w, sizeof(w));
    lg_msg_clear(&m);
    lg_rx_close(&rx);

    /* Bad fields name themselves. */
    static const struct {
        const char *json, *needle;
    } bad[] = {
        { "{\"id\":\"w\",\"capacity\":0}", "'capacity' is not an integer in [1, 65536]" },
        { "{\"id\":\"w\",\"capacity\":1,\"host\":5}", "'host' is not a string" },
        { "{\"id\":\"w\",\"capacity\":1,\"backends\":[\"cpu\",\"a\",\"b\",\"c\",\"d\"]}", "'backends' is not an array" },
        { "{\"id\":\"w\",\"capacity\":1,\"backends\":[\"0123456789abcdef\"]}", "'backends[]' has 16 characters" },
        { "{\"id\":\"w\",\"capacity\":1,\"devices\":[1]}", "devices[0] is not an object" },
        { "{\"id\":\"w\",\"capacity\":1,\"devices\":[{\"memory_mb\":-1}]}", "devices[0].memory_mb is not a count" },
        { "{\"id\":\"w\",\"capacity\":1,\"tags\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}",
          "'tags' is not an array of at most 8" },
        { "{\"id\":\"w\",\"capacity\":1,\"models\":[7]}", "'models[0]' is not a string" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = json_loads(bad[i].json, 0, NULL);
        assert_non_null(j);
        assert_error(lg_proto_worker_info_from_json(j, &back), LG_E_PARSE, bad[i].needle);
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_messages),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_worker_info),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
