/*
 * test_model_load.c: loading ONNX models: good models run, and a table of bad models
 * and bad inputs each gives one clear error (status and message), never a crash.
 */
#include <stdbool.h>

#include "lg_test.h"
#include "model/graph.h"
#include "model_builder.h"

static lg_model *load_bytes(const uint8_t *b, size_t len, int *rc)
{
    lg_model *m = NULL;
    *rc = lg_model_load_memory(b, len, "/tmp", &m);
    return m;
}

/* Y = X + B with B an initializer of shape [3]. */
static uint8_t *add_model(size_t *len, size_t b_bytes, const char *op)
{
    static mb_model mb;
    static float bdata[3] = { 1, 2, 3 };
    static int64_t bdims[1] = { 3 };
    static const char *in[] = { "X", "B" }, *out[] = { "Y" };
    mb_init(&mb, 13);
    mb_input(&mb, "X", LG_FLOAT, 2, (int64_t[]){ -1, 3 });
    mb_init_raw(&mb, "B", LG_FLOAT, 1, bdims, bdata, b_bytes);
    mb_node(&mb, op, "add0", 2, in, 1, out);
    mb_output(&mb, "Y", LG_FLOAT);
    return mb_pack(&mb, len);
}

static void test_add_runs_with_dynamic_batch(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = add_model(&len, 12, "Add");
    int rc;
    lg_model *m = load_bytes(b, len, &rc);
    assert_int_equal(rc, LG_OK);
    assert_int_equal(lg_model_num_inputs(m), 1);
    lg_value_info vi;
    assert_int_equal(lg_model_input_info(m, 0, &vi), LG_OK);
    assert_string_equal(vi.name, "X");
    assert_int_equal(vi.ndim, 2);
    assert_true(vi.dims[0] < 0);
    assert_string_equal(vi.dim_names[0], "N");
    lg_session *s;
    assert_int_equal(lg_session_create(m, NULL, &s), LG_OK);
    for (int64_t n = 1; n <= 4; n++) { /* the batch changes between runs */
        lg_tensor *x, *y = NULL;
        int64_t dims[2] = { n, 3 };
        assert_int_equal(lg_tensor_create(LG_FLOAT, 2, dims, &x), LG_OK);
        float *xd = lg_tensor_data(x);
        for (int i = 0; i < n * 3; i++) xd[i] = (float)i;
        assert_int_equal(lg_session_run(s, 1, NULL, &x, 1, NULL, &y), LG_OK);
        assert_int_equal(lg_tensor_dims(y)[0], n);
        const float *yd = lg_tensor_data(y);
        for (int i = 0; i < n * 3; i++) assert_float_equal(yd[i], (float)i + (float)(i % 3 + 1), 0);
        lg_tensor_free(x);
        lg_tensor_free(y);
    }
    lg_session_free(s);
    lg_model_free(m);
    free(b);
}

static void test_bad_model_bytes(void **state)
{
    (void)state;
    size_t len;
    uint8_t *good = add_model(&len, 12, "Add");
    static const struct {
        const char *what;
        const char *bytes;
        size_t len;
        int status;
        const char *needle;
    } cases[] = {
        { "empty", "", 0, LG_E_PARSE, "empty file" },
        { "garbage", "\xff\xff\xff\xff\xff\xff\xff\xff garbage", 17, LG_E_PARSE, "not a valid ONNX model" },
        { "text", "hello, I am not a model\n", 24, LG_E_PARSE, "not a valid ONNX model" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc;
        lg_model *m = load_bytes((const uint8_t *)cases[i].bytes, cases[i].len, &rc);
        assert_null(m);
        assert_error(rc, cases[i].status, cases[i].needle);
    }
    /* Every truncation of a good model fails cleanly or loads; none crashes. */
    for (size_t cut = 1; cut < len; cut++) {
        int rc;
        lg_model *m = load_bytes(good, cut, &rc);
        if (rc == LG_OK) lg_model_free(m);
        else assert_true(strlen(lg_last_error()) > 0);
    }
    free(good);
}

static void test_short_initializer(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = add_model(&len, 8, "Add"); /* 8 bytes for 3 floats */
    int rc;
    assert_null(load_bytes(b, len, &rc));
    assert_error(rc, LG_E_PARSE, "raw_data has 8 bytes, expected 12");
    free(b);
}

static void test_unknown_op_named(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = add_model(&len, 12, "FrobnicateV2");
    int rc;
    lg_model *m = load_bytes(b, len, &rc);
    assert_int_equal(rc, LG_OK);
    lg_session *s = NULL;
    rc = lg_session_create(m, NULL, &s);
    assert_error(rc, LG_E_UNSUPPORTED, "unknown operator FrobnicateV2 (domain 'ai.onnx', opset 13) at node 'add0'");
    lg_model_free(m);
    free(b);
}

static void test_bad_inputs_at_run(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = add_model(&len, 12, "Add");
    int rc;
    lg_model *m = load_bytes(b, len, &rc);
    lg_session *s;
    assert_int_equal(lg_session_create(m, NULL, &s), LG_OK);
    lg_tensor *wrong_rank, *wrong_dim, *wrong_type, *y = NULL;
    lg_tensor_create(LG_FLOAT, 1, (int64_t[]){ 3 }, &wrong_rank);
    lg_tensor_create(LG_FLOAT, 2, (int64_t[]){ 2, 4 }, &wrong_dim);
    lg_tensor_create(LG_INT64, 2, (int64_t[]){ 2, 3 }, &wrong_type);
    const char *x_name[] = { "X" }, *bad_name[] = { "Z" };
    assert_error(lg_session_run(s, 1, NULL, &wrong_rank, 1, NULL, &y), LG_E_SHAPE, "input 'X' must have shape [-1,3]");
    assert_error(lg_session_run(s, 1, NULL, &wrong_dim, 1, NULL, &y), LG_E_SHAPE, "got [2,4]");
    assert_error(lg_session_run(s, 1, x_name, &wrong_type, 1, NULL, &y), LG_E_SHAPE, "must be float32, got int64");
    assert_error(lg_session_run(s, 1, bad_name, &wrong_dim, 1, NULL, &y), LG_E_NOT_FOUND, "no input named 'Z'");
    assert_error(lg_session_run(s, 0, NULL, NULL, 1, NULL, &y), LG_E_INVALID_ARG, "input 'X' is missing");
    assert_null(y);
    lg_tensor_free(wrong_rank);
    lg_tensor_free(wrong_dim);
    lg_tensor_free(wrong_type);
    lg_session_free(s);
    lg_model_free(m);
    free(b);
}

static void test_missing_file(void **state)
{
    (void)state;
    lg_model *m = NULL;
    assert_error(lg_model_load("/nonexistent/model.onnx", &m), LG_E_NOT_FOUND, "cannot open /nonexistent/model.onnx");
    assert_null(m);
}

static void test_external_data_confined(void **state)
{
    (void)state;
    static mb_model mb;
    static int64_t bdims[1] = { 3 };
    static const char *in[] = { "X", "B" }, *out[] = { "Y" };
    mb_init(&mb, 13);
    mb_input(&mb, "X", LG_FLOAT, 1, (int64_t[]){ 3 });
    Onnx__TensorProto *t = mb_init_raw(&mb, "B", LG_FLOAT, 1, bdims, NULL, 0);
    t->has_raw_data = 0;
    Onnx__StringStringEntryProto loc = ONNX__STRING_STRING_ENTRY_PROTO__INIT, *locs[1] = { &loc };
    loc.key = "location";
    loc.value = "../../etc/passwd";
    t->n_external_data = 1;
    t->external_data = locs;
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    mb_node(&mb, "Add", "add0", 2, in, 1, out);
    mb_output(&mb, "Y", LG_FLOAT);
    size_t len;
    uint8_t *b = mb_pack(&mb, &len);
    int rc;
    assert_null(load_bytes(b, len, &rc));
    assert_error(rc, LG_E_INVALID_MODEL, "leaves the model's folder");
    free(b);

    /* A proper external file next to the model loads (mapped). */
    char dir[] = "/tmp/lg_ext_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/weights.bin", dir);
    FILE *f = fopen(path, "wb");
    float pad = 0, w[3] = { 10, 20, 30 };
    fwrite(&pad, 4, 1, f);
    fwrite(w, 4, 3, f);
    fclose(f);
    Onnx__StringStringEntryProto off = ONNX__STRING_STRING_ENTRY_PROTO__INIT, *locs2[2] = { &loc, &off };
    loc.value = "weights.bin";
    off.key = "offset";
    off.value = "4";
    t->n_external_data = 2;
    t->external_data = locs2;
    b = mb_pack(&mb, &len);
    lg_model *m = NULL;
    assert_int_equal(lg_model_load_memory(b, len, dir, &m), LG_OK);
    lg_session *s;
    assert_int_equal(lg_session_create(m, NULL, &s), LG_OK);
    lg_tensor *x, *y;
    lg_tensor_create(LG_FLOAT, 1, (int64_t[]){ 3 }, &x);
    assert_int_equal(lg_session_run(s, 1, NULL, &x, 1, NULL, &y), LG_OK);
    assert_float_equal(((float *)lg_tensor_data(y))[2], 30, 0);
    lg_tensor_free(x);
    lg_tensor_free(y);
    lg_session_free(s);
    lg_model_free(m);
    unlink(path);
    rmdir(dir);
    free(b);
}

/* Nodes out of order are sorted (Y = Relu(Neg(X)) listed consumer first); a cycle is an
 * error naming a node on it. */
static void test_node_order_and_cycles(void **state)
{
    (void)state;
    static mb_model mb;
    static const char *x[] = { "X" }, *t[] = { "T" }, *y[] = { "Y" };
    mb_init(&mb, 13);
    mb_input(&mb, "X", LG_FLOAT, 1, (int64_t[]){ 2 });
    mb_node(&mb, "Relu", "relu", 1, t, 1, y);
    mb_node(&mb, "Neg", "neg", 1, x, 1, t);
    mb_output(&mb, "Y", LG_FLOAT);
    size_t len;
    uint8_t *b = mb_pack(&mb, &len);
    int rc;
    lg_model *m = load_bytes(b, len, &rc);
    assert_int_equal(rc, LG_OK);
    lg_session *s;
    assert_int_equal(lg_session_create(m, NULL, &s), LG_OK);
    lg_tensor *in, *out = NULL;
    lg_tensor_create(LG_FLOAT, 1, (int64_t[]){ 2 }, &in);
    ((float *)lg_tensor_data(in))[0] = -3;
    ((float *)lg_tensor_data(in))[1] = 4;
    assert_int_equal(lg_session_run(s, 1, NULL, &in, 1, NULL, &out), LG_OK);
    assert_float_equal(((float *)lg_tensor_data(out))[0], 3, 0);
    assert_float_equal(((float *)lg_tensor_data(out))[1], 0, 0);
    lg_tensor_free(in);
    lg_tensor_free(out);
    lg_session_free(s);
    lg_model_free(m);
    free(b);

    static const char *ty[] = { "T", "Y" }, *t2[] = { "T" }, *y2[] = { "Y" };
    mb_init(&mb, 13);
    mb_input(&mb, "X", LG_FLOAT, 1, (int64_t[]){ 2 });
    mb_node(&mb, "Add", "add", 2, ty, 1, t2); /* T = T + Y: reads its own output through Y */
    mb_node(&mb, "Relu", "relu", 1, t2, 1, y2);
    mb_output(&mb, "Y", LG_FLOAT);
    b = mb_pack(&mb, &len);
    assert_null(load_bytes(b, len, &rc));
    assert_error(rc, LG_E_INVALID_MODEL, "graph has a cycle through node 'add' (Add)");
    free(b);
    mb_init(&mb, 13);
    static const char *xy[] = { "X", "Y" }, *a_out[] = { "A" }, *ay_in[] = { "A" }, *y_out[] = { "Y" };
    mb_input(&mb, "X", LG_FLOAT, 1, (int64_t[]){ 2 });
    mb_node(&mb, "Add", "add", 2, xy, 1, a_out);
    mb_node(&mb, "Relu", "relu", 1, ay_in, 1, y_out);
    mb_output(&mb, "Y", LG_FLOAT);
    b = mb_pack(&mb, &len);
    assert_null(load_bytes(b, len, &rc));
    assert_error(rc, LG_E_INVALID_MODEL, "graph has a cycle through node 'add' (Add)");
    free(b);
}

/* int4: two values a byte in the file (low nibble first), one sign-extended byte each in
 * memory; a byte count that does not match the packed size is one clear error. */
static void test_int4_initializers(void **state)
{
    (void)state;
    static int64_t dims[1] = { 3 };
    static const uint8_t packed[2] = { 0x7f, 0x08 }; /* -1, 7, -8 */
    static const char *in[] = { "W" }, *out[] = { "Y" };
    static const uint8_t odd[3] = { 0x7f, 0x08, 0x00 };
    static const uint8_t *data[2] = { packed, odd };
    static const size_t sizes[2] = { 2, 3 };
    for (int k = 0; k < 2; k++) {
        static mb_model mb;
        mb_init(&mb, 21);
        mb_init_raw(&mb, "W", LG_INT4, 1, dims, data[k], sizes[k]);
        mb_node(&mb, "Identity", "id0", 1, in, 1, out);
        mb_output(&mb, "Y", LG_INT4);
        size_t len;
        uint8_t *b = mb_pack(&mb, &len);
        int rc;
        lg_model *m = load_bytes(b, len, &rc);
        if (k == 0) {
            assert_int_equal(rc, LG_OK);
            int w = lg_graph_find_value(m->graph, "W");
            const int8_t *v = m->graph->values[w].constant->data;
            assert_int_equal(v[0], -1);
            assert_int_equal(v[1], 7);
            assert_int_equal(v[2], -8);
            lg_model_free(m);
        } else {
            assert_null(m);
            assert_error(rc, LG_E_PARSE, "raw_data has 3 bytes, expected 2");
        }
        free(b);
    }
}

/* A model-local function is inlined where it is called; one that calls itself is refused. */
static uint8_t *function_model(size_t *len, bool recursive)
{
    static mb_model mb;
    static Onnx__FunctionProto fn;
    static Onnx__FunctionProto *fns[1];
    static Onnx__NodeProto body, *body_nodes[1];
    static Onnx__OperatorSetIdProto local, *opsets[2];
    static char *fin[] = { "a" }, *fout[] = { "b" };
    static const char *in[] = { "X" }, *out[] = { "Y" };
    mb_init(&mb, 18);
    mb_input(&mb, "X", LG_FLOAT, 1, (int64_t[]){ 4 });
    Onnx__NodeProto *call = mb_node(&mb, "MyRelu", "call0", 1, in, 1, out);
    call->domain = "local";
    mb_output(&mb, "Y", LG_FLOAT);
    onnx__operator_set_id_proto__init(&local);
    local.domain = "local";
    local.has_version = 1;
    local.version = 1;
    opsets[0] = &mb.opset;
    opsets[1] = &local;
    mb.model.opset_import = opsets;
    mb.model.n_opset_import = 2;
    onnx__node_proto__init(&body);
    body.op_type = recursive ? "MyRelu" : "Relu";
    body.domain = recursive ? "local" : "";
    body.n_input = 1;
    body.input = fin;
    body.n_output = 1;
    body.output = fout;
    body_nodes[0] = &body;
    onnx__function_proto__init(&fn);
    fn.name = "MyRelu";
    fn.domain = "local";
    fn.n_input = 1;
    fn.input = fin;
    fn.n_output = 1;
    fn.output = fout;
    fn.n_node = 1;
    fn.node = body_nodes;
    fns[0] = &fn;
    mb.model.n_functions = 1;
    mb.model.functions = fns;
    return mb_pack(&mb, len);
}

static void test_local_functions(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = function_model(&len, false);
    int rc;
    lg_model *m = load_bytes(b, len, &rc);
    assert_int_equal(rc, LG_OK);
    lg_session *s;
    assert_int_equal(lg_session_create(m, NULL, &s), LG_OK);
    float xv[4] = { -1, 2, -3, 4 };
    lg_tensor *x, *y = NULL;
    lg_tensor_wrap(LG_FLOAT, 1, (int64_t[]){ 4 }, xv, &x);
    assert_int_equal(lg_session_run(s, 1, NULL, &x, 1, NULL, &y), LG_OK);
    const float *yv = lg_tensor_data(y);
    assert_true(yv[0] == 0 && yv[1] == 2 && yv[2] == 0 && yv[3] == 4);
    lg_tensor_free(x);
    lg_tensor_free(y);
    lg_session_free(s);
    lg_model_free(m);
    free(b);

    b = function_model(&len, true);
    assert_null(load_bytes(b, len, &rc));
    assert_error(rc, LG_E_INVALID_MODEL, "model-local function 'local.MyRelu' calls itself");
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_runs_with_dynamic_batch),
        cmocka_unit_test(test_bad_model_bytes),
        cmocka_unit_test(test_short_initializer),
        cmocka_unit_test(test_unknown_op_named),
        cmocka_unit_test(test_bad_inputs_at_run),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_external_data_confined),
        cmocka_unit_test(test_node_order_and_cycles),
        cmocka_unit_test(test_int4_initializers),
        cmocka_unit_test(test_local_functions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
