/*
 * test_executor.c: the worker-side executor on the digits demo model: KServe v2 JSON,
 * PNG and .npy inputs, the result body and its top-K, a table of bad inputs with their
 * messages, API-side validation, concurrent runs, model fetch by hash, and SHA-256.
 */
#include <jansson.h>
#include <pthread.h>

#include "lg_test.h"

#include "cluster/executor.h"
#include "cluster/payload_model.h"

#define MODELS LG_SOURCE_DIR "/models"
#define SAMPLE(d) LG_SOURCE_DIR "/models/digits/samples/digit_" #d ".png"

static uint8_t *read_all(const char *path, size_t *len)
{
    uint8_t *data = NULL;
    assert_int_equal(lg_file_read_all(path, &data, len), LG_OK);
    return data;
}

static char *sample_path(int digit)
{
    char *p = malloc(512);
    snprintf(p, 512, "%s/models/digits/samples/digit_%d.png", LG_SOURCE_DIR, digit);
    return p;
}

static lg_executor *open_executor(char *cache_dir)
{
    lg_executor *e = NULL;
    snprintf(cache_dir, 64, "/tmp/lg_exec_XXXXXX");
    assert_non_null(mkdtemp(cache_dir));
    assert_int_equal(lg_executor_open(MODELS, cache_dir, "cpu", 1, &e), LG_OK);
    return e;
}

static void remove_tree(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* The digits preprocessing (config.json: 8x8 gray, area, no crop, scale 1/255). */
static lg_tensor *digit_tensor(int digit)
{
    char *path = sample_path(digit);
    lg_image *img;
    assert_int_equal(lg_image_load(path, &img), LG_OK);
    free(path);
    lg_image_preprocess pp;
    lg_image_preprocess_defaults(&pp);
    pp.width = pp.height = 8, pp.crop = 0, pp.resize = LG_RESIZE_AREA, pp.color = LG_COLOR_GRAY;
    pp.scale = 1.0f / 255, pp.mean[0] = 0, pp.std[0] = 1;
    lg_tensor *t;
    assert_int_equal(lg_image_to_tensor((const lg_image *const *)&img, 1, &pp, &t), LG_OK);
    lg_image_free(img);
    return t;
}

/* {"inputs": [{"name"?, "shape", "datatype": "FP32", "data"}]} of t. */
static char *kserve_body(const lg_tensor *t, const char *name)
{
    json_t *shape = json_array(), *data = json_array();
    for (int i = 0; i < lg_tensor_ndim(t); i++) json_array_append_new(shape, json_integer(lg_tensor_dims(t)[i]));
    const float *x = lg_tensor_data(t);
    for (int64_t i = 0; i < lg_tensor_numel(t); i++) json_array_append_new(data, json_real(x[i]));
    json_t *in = json_pack("{s:o, s:s, s:o}", "shape", shape, "datatype", "FP32", "data", data);
    if (name) json_object_set_new(in, "name", json_string(name));
    json_t *root = json_pack("{s:[o]}", "inputs", in);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

/* Runs and returns the parsed result body. */
static json_t *run_ok(lg_executor *e, const char *model, lg_input_kind kind, const void *in, size_t len)
{
    char *result = NULL, *error = NULL;
    int rc = lg_executor_run(e, model, kind, in, len, &result, &error);
    if (rc != LG_OK) fail_msg("run failed: %s", error);
    assert_null(error);
    json_t *root = json_loads(result, 0, NULL);
    assert_non_null(root);
    free(result);
    return root;
}

static int top1(json_t *result)
{
    json_t *first = json_array_get(json_array_get(json_object_get(json_object_get(result, "postprocessed"), "top_k"), 0), 0);
    assert_non_null(first);
    return (int)json_integer_value(json_object_get(first, "index"));
}

static void test_json_input(void **state)
{
    char cache[64];
    lg_executor *e = open_executor(cache);
    lg_tensor *t = digit_tensor(3);
    char *named = kserve_body(t, "input"), *positional = kserve_body(t, NULL);
    json_t *r = run_ok(e, "digits", LG_INPUT_JSON, named, strlen(named));
    assert_string_equal(json_string_value(json_object_get(r, "model_name")), "digits");
    json_t *out = json_array_get(json_object_get(r, "outputs"), 0);
    assert_string_equal(json_string_value(json_object_get(out, "name")), "logits");
    assert_string_equal(json_string_value(json_object_get(out, "datatype")), "FP32");
    json_t *shape = json_object_get(out, "shape");
    assert_int_equal(json_array_size(shape), 2);
    assert_int_equal(json_integer_value(json_array_get(shape, 0)), 1);
    assert_int_equal(json_integer_value(json_array_get(shape, 1)), 10);
    assert_int_equal(json_array_size(json_object_get(out, "data")), 10);
    json_t *post = json_object_get(r, "postprocessed");
    assert_string_equal(json_string_value(json_object_get(post, "type")), "classify");
    json_t *top = json_array_get(json_object_get(post, "top_k"), 0);
    assert_int_equal(json_array_size(top), 3); /* config: top_k 3 */
    assert_int_equal(top1(r), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(top, 0), "label")), "3");
    double p = json_real_value(json_object_get(json_array_get(top, 0), "probability"));
    assert_true(p > 0.5 && p <= 1.0);
    /* Without a name the input binds by position: the same result. */
    json_t *r2 = run_ok(e, "digits", LG_INPUT_JSON, positional, strlen(positional));
    assert_true(json_equal(r, r2));
    /* "outputs" selects outputs by name. */
    char *with_outputs = malloc(strlen(named) + 64);
    sprintf(with_outputs, "%.*s,\"outputs\":[{\"name\":\"logits\"}]}", (int)strlen(named) - 1, named);
    json_t *r3 = run_ok(e, "digits", LG_INPUT_JSON, with_outputs, strlen(with_outputs));
    assert_true(json_equal(json_object_get(r, "outputs"), json_object_get(r3, "outputs")));
    json_decref(r);
    json_decref(r2);
    json_decref(r3);
    free(with_outputs);
    free(named);
    free(positional);
    lg_tensor_free(t);
    lg_executor_close(e);
    remove_tree(cache);
}

/* Every sample PNG is classified as its digit; nested data and float32 round trip. */
static void test_image_input(void **state)
{
    char cache[64];
    lg_executor *e = open_executor(cache);
    for (int d = 0; d < 10; d++) {
        char *path = sample_path(d);
        size_t len;
        uint8_t *png = read_all(path, &len);
        json_t *r = run_ok(e, "digits", LG_INPUT_IMAGE, png, len);
        assert_int_equal(top1(r), d);
        /* The same pixels as a JSON tensor give the very same logits, which round-trip. */
        lg_tensor *t = digit_tensor(d);
        char *body = kserve_body(t, "input");
        json_t *rj = run_ok(e, "digits", LG_INPUT_JSON, body, strlen(body));
        assert_true(json_equal(json_object_get(r, "outputs"), json_object_get(rj, "outputs")));
        json_decref(r);
        json_decref(rj);
        free(body);
        lg_tensor_free(t);
        free(png);
        free(path);
    }
    lg_executor_close(e);
    remove_tree(cache);
}

static void test_npy_and_pb_input(void **state)
{
    char cache[64];
    lg_executor *e = open_executor(cache);
    lg_tensor *t = digit_tensor(7);
    char npy_path[] = "/tmp/lg_exec_XXXXXX.npy", pb_path[] = "/tmp/lg_exec_XXXXXX.pb";
    close(mkstemps(npy_path, 4));
    close(mkstemps(pb_path, 3));
    assert_int_equal(lg_tensor_write_npy(t, npy_path), LG_OK);
    assert_int_equal(lg_tensor_write_pb(t, "whatever", pb_path), LG_OK);
    size_t npy_len, pb_len;
    uint8_t *npy = read_all(npy_path, &npy_len), *pb = read_all(pb_path, &pb_len);
    assert_int_equal(lg_payload_validate(LG_INPUT_NPY, npy, npy_len), LG_OK);
    assert_int_equal(lg_payload_validate(LG_INPUT_PB, pb, pb_len), LG_OK);
    json_t *rn = run_ok(e, "digits", LG_INPUT_NPY, npy, npy_len);
    json_t *rp = run_ok(e, "digits", LG_INPUT_PB, pb, pb_len);
    assert_int_equal(top1(rn), 7);
    assert_true(json_equal(rn, rp));
    json_decref(rn);
    json_decref(rp);
    free(npy);
    free(pb);
    remove(npy_path);
    remove(pb_path);
    lg_tensor_free(t);
    lg_executor_close(e);
    remove_tree(cache);
}

/* Integer, nested and BOOL data parse; a model without a config has no postprocessing. */
typedef struct bad_case {
    const char *what;
    const char *model;
    lg_input_kind kind;
    const char *input;
    int rc;          /* from lg_executor_run */
    const char *msg; /* in its error */
    int validate_rc; /* from lg_payload_validate */
} bad_case;

static void test_bad_inputs(void **state)
{
    static const char *const data64 = "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
                                      "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]";
    char wrong_dtype[1024], wrong_shape[1024], bad_elem[1024], short_data[1024];
    snprintf(wrong_dtype, sizeof(wrong_dtype), "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,1,8,8],"
             "\"datatype\":\"INT32\",\"data\":%s}]}", data64);
    snprintf(wrong_shape, sizeof(wrong_shape), "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,1,4,16],"
             "\"datatype\":\"FP32\",\"data\":%s}]}", data64);
    snprintf(bad_elem, sizeof(bad_elem), "{\"inputs\":[{\"shape\":[2],\"datatype\":\"UINT8\",\"data\":[1,300]}]}");
    snprintf(short_data, sizeof(short_data), "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,1,8,8],"
             "\"datatype\":\"FP32\",\"data\":[1,2,3]}]}");
    const bad_case cases[] = {
        { "bad JSON", "digits", LG_INPUT_JSON, "{\"inputs\": [", LG_E_INVALID_ARG, "bad input JSON: request body is not valid JSON", LG_E_INVALID_ARG },
        { "not an object", "digits", LG_INPUT_JSON, "[1,2]", LG_E_INVALID_ARG, "expected a JSON object", LG_E_INVALID_ARG },
        { "missing inputs", "digits", LG_INPUT_JSON, "{\"input_data\": [1]}", LG_E_INVALID_ARG, "inputs: missing", LG_E_INVALID_ARG },
        { "empty inputs", "digits", LG_INPUT_JSON, "{\"inputs\": []}", LG_E_INVALID_ARG, "inputs: expected a non-empty array", LG_E_INVALID_ARG },
        { "missing shape", "digits", LG_INPUT_JSON, "{\"inputs\":[{\"datatype\":\"FP32\",\"data\":[1]}]}", LG_E_INVALID_ARG, "inputs[0].shape: missing", LG_E_INVALID_ARG },
        { "negative dim", "digits", LG_INPUT_JSON, "{\"inputs\":[{\"shape\":[-1],\"datatype\":\"FP32\",\"data\":[1]}]}", LG_E_INVALID_ARG, "inputs[0].shape[0]: expected a non-negative integer", LG_E_INVALID_ARG },
        { "shape/data mismatch", "digits", LG_INPUT_JSON, short_data, LG_E_INVALID_ARG, "inputs[0].data: 3 elements, but shape [1,1,8,8] holds 64", LG_E_INVALID_ARG },
        { "too much data", "digits", LG_INPUT_JSON, "{\"inputs\":[{\"shape\":[1],\"datatype\":\"FP32\",\"data\":[[1],[2]]}]}", LG_E_INVALID_ARG, "inputs[0].data: more elements than the 1", LG_E_INVALID_ARG },
        { "unknown datatype", "digits", LG_INPUT_JSON, "{\"inputs\":[{\"shape\":[1],\"datatype\":\"FP33\",\"data\":[1]}]}", LG_E_INVALID_ARG, "inputs[0].datatype: unknown datatype 'FP33'", LG_E_INVALID_ARG },
        { "missing data", "digits", LG_INPUT_JSON, "{\"inputs\":[{\"shape\":[1],\"datatype\":\"FP32\"}]}", LG_E_INVALID_ARG, "inputs[0].data: missing", LG_E_INVALID_ARG },
        { "string in FP32", "digits", LG_INPUT_JSON, "{\"inputs\":[{\"shape\":[2],\"datatype\":\"FP32\",\"data\":[1,\"x\"]}]}", LG_E_INVALID_ARG, "inputs[0].data[1]: expected a number for datatype FP32", LG_E_INVALID_ARG },
        { "out of range", "digits", LG_INPUT_JSON, bad_elem, LG_E_INVALID_ARG, "inputs[0].data[1]: 300 is out of range for datatype UINT8", LG_E_INVALID_ARG },
        { "bad outputs", "digits", LG_INPUT_JSON, "{\"inputs\":[{\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}],\"outputs\":[{}]}", LG_E_INVALID_ARG, "outputs[0].name: expected a string", LG_E_INVALID_ARG },
        { "wrong dtype for model", "digits", LG_INPUT_JSON, wrong_dtype, LG_E_SHAPE, "model 'digits' could not run the input: input 'input' must be float32", LG_OK },
        { "wrong shape for model", "digits", LG_INPUT_JSON, wrong_shape, LG_E_SHAPE, "input 'input' must have shape", LG_OK },
        { "unknown output", "digits", LG_INPUT_JSON, "{\"inputs\":[{\"shape\":[1,1,8,8],\"datatype\":\"FP32\",\"data\":[[[[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0]]]]}],\"outputs\":[{\"name\":\"nope\"}]}", LG_E_NOT_FOUND, "the model has no output named 'nope'", LG_OK },
        { "unknown model", "nosuchmodel", LG_INPUT_JSON, "{}", LG_E_NOT_FOUND, "model 'nosuchmodel' not found; known models: digits", LG_E_INVALID_ARG },
        { "path as model", "../digits", LG_INPUT_JSON, "{}", LG_E_NOT_FOUND, "model '../digits' not found", LG_E_INVALID_ARG },
        { "garbage image", "digits", LG_INPUT_IMAGE, "this is not an image at all", LG_E_IMAGE, "image could not be decoded", LG_E_INVALID_ARG },
        { "truncated PNG", "digits", LG_INPUT_IMAGE, "\x89PNG\r\n\x1a\n\0\0", LG_E_IMAGE, "image could not be decoded", LG_OK },
        { "garbage npy", "digits", LG_INPUT_NPY, "NUMPY?", LG_E_PARSE, "bad .npy input: not a .npy file", LG_E_INVALID_ARG },
    };
    char cache[64];
    lg_executor *e = open_executor(cache);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const bad_case *c = &cases[i];
        size_t len = strlen(c->input) + (c->kind == LG_INPUT_IMAGE && c->input[0] == '\x89' ? 2 : 0);
        char *result = NULL, *error = NULL;
        int rc = lg_executor_run(e, c->model, c->kind, (const uint8_t *)c->input, len, &result, &error);
        if (rc != c->rc || !error || !strstr(error, c->msg))
            fail_msg("%s: status %s (want %s), error \"%s\" (want \"%s\")", c->what, lg_err_name(rc),
                     lg_err_name(c->rc), error ? error : "(none)", c->msg);
        assert_null(result);
        assert_true(strstr(lg_last_error(), c->msg) != NULL);
        free(error);
        rc = lg_payload_validate(c->kind, (const uint8_t *)c->input, len);
        if (rc != c->validate_rc)
            fail_msg("%s: validate gave %s (want %s): %s", c->what, lg_err_name(rc), lg_err_name(c->validate_rc),
                     lg_last_error());
    }
    assert_error(lg_payload_validate(LG_INPUT_JSON, NULL, 0), LG_E_INVALID_ARG, "input: empty");
    assert_error(lg_payload_validate(LG_INPUT_IMAGE, (const uint8_t *)"GIF89a..", 8), LG_E_INVALID_ARG,
                 "image: not a PNG or JPEG");
    /* The executor still works after all of that. */
    size_t len;
    uint8_t *png = read_all(SAMPLE(5), &len);
    json_t *r = run_ok(e, "digits", LG_INPUT_IMAGE, png, len);
    assert_int_equal(top1(r), 5);
    json_decref(r);
    free(png);
    lg_executor_close(e);
    remove_tree(cache);
}

/* Integer, BOOL, FP16 and BYTES inputs parse; every datatype validates. */
static void test_datatypes_validate(void **state)
{
    static const char *const ok[] = {
        "{\"inputs\":[{\"shape\":[2,2],\"datatype\":\"INT64\",\"data\":[[1,-2],[9007199254740993,4]]}]}",
        "{\"inputs\":[{\"shape\":[3],\"datatype\":\"BOOL\",\"data\":[true,false,1]}]}",
        "{\"inputs\":[{\"shape\":[2],\"datatype\":\"FP16\",\"data\":[0.5,-1e3]}]}",
        "{\"inputs\":[{\"shape\":[2],\"datatype\":\"BYTES\",\"data\":[\"a\",\"bc\"]}]}",
        "{\"inputs\":[{\"shape\":[],\"datatype\":\"FP64\",\"data\":1.5}]}",
        "{\"inputs\":[{\"shape\":[0],\"datatype\":\"UINT16\",\"data\":[]}]}",
        "{\"inputs\":[{\"shape\":[1],\"datatype\":\"INT8\",\"data\":[-128.0]}]}",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (lg_payload_validate(LG_INPUT_JSON, (const uint8_t *)ok[i], strlen(ok[i])) != LG_OK)
            fail_msg("%s: %s", ok[i], lg_last_error());
    static const char *const fraction = "{\"inputs\":[{\"shape\":[1],\"datatype\":\"INT8\",\"data\":[1.5]}]}";
    assert_error(lg_payload_validate(LG_INPUT_JSON, (const uint8_t *)fraction, strlen(fraction)), LG_E_INVALID_ARG,
                 "inputs[0].data[0]: expected an integer for datatype INT8");
}

/* ---- concurrency ----------------------------------------------------------------- */

typedef struct thread_arg {
    lg_executor *e;
    uint8_t *png[10];
    size_t len[10];
    char *result[10];
    char *error;  /* the first failure's */
    int failures;
} thread_arg;

static void *run_thread(void *p)
{
    thread_arg *a = p;
    for (int round = 0; round < 5; round++)
        for (int d = 0; d < 10; d++) {
            char *result = NULL, *error = NULL;
            if (lg_executor_run(a->e, "digits", LG_INPUT_IMAGE, a->png[d], a->len[d], &result, &error) != LG_OK) {
                a->failures++;
                if (!a->error) a->error = error;
                else free(error);
                continue;
            }
            if (!a->result[d]) a->result[d] = result;
            else {
                if (strcmp(a->result[d], result)) a->failures++;
                free(result);
            }
        }
    return NULL;
}

static void test_concurrent_runs(void **state)
{
    char cache[64];
    lg_executor *e = open_executor(cache);
    thread_arg args[4] = { 0 };
    pthread_t th[4];
    for (int t = 0; t < 4; t++) {
        args[t].e = e;
        for (int d = 0; d < 10; d++) {
            char *path = sample_path(d);
            args[t].png[d] = read_all(path, &args[t].len[d]);
            free(path);
        }
        assert_int_equal(pthread_create(&th[t], NULL, run_thread, &args[t]), 0);
    }
    for (int t = 0; t < 4; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < 4; t++) {
        if (args[t].failures) fail_msg("thread %d: %d failures, the first: %s", t, args[t].failures, args[t].error);
        for (int d = 0; d < 10; d++) {
            assert_string_equal(args[t].result[d], args[0].result[d]);
            if (t) continue;
            json_t *r = json_loads(args[0].result[d], 0, NULL);
            assert_int_equal(top1(r), d);
            json_decref(r);
        }
    }
    for (int t = 0; t < 4; t++)
        for (int d = 0; d < 10; d++) {
            free(args[t].png[d]);
            free(args[t].result[d]);
        }
    lg_executor_close(e);
    remove_tree(cache);
}

/* ---- model fetch ----------------------------------------------------------------- */

static void test_add_model(void **state)
{
    char cache[64], models_name[64];
    lg_executor *e = open_executor(cache);
    uint8_t *onnx;
    size_t len;
    char *config, hex[65], hex2[65];
    assert_int_equal(lg_model_package(MODELS, "digits", &onnx, &len, &config, hex), LG_OK);
    assert_non_null(strstr(config, "\"labels\":[\"0\",\"1\""));
    assert_int_equal(lg_executor_model_hash(e, "digits", hex2), LG_OK);
    assert_string_equal(hex, hex2);
    char wrong[65];
    memcpy(wrong, hex, 65);
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    assert_error(lg_executor_add_model(e, "fetched", wrong, onnx, len, config), LG_E_INVALID_ARG, "sha-256 of the received");
    assert_error(lg_executor_add_model(e, "../x", hex, onnx, len, config), LG_E_INVALID_ARG, "model name '../x'");
    assert_error(lg_executor_add_model(e, "fetched", "abc", onnx, len, config), LG_E_INVALID_ARG, "not 64 lowercase hex");
    char names[8][64];
    int n = lg_executor_models(e, names, 8);
    assert_int_equal(n, 1);
    char *error = NULL, *result = NULL;
    assert_int_equal(lg_executor_run(e, "fetched", LG_INPUT_JSON, (const uint8_t *)"{}", 2, &result, &error), LG_E_NOT_FOUND);
    free(error);
    assert_int_equal(lg_executor_add_model(e, "fetched", hex, onnx, len, config), LG_OK);
    assert_int_equal(lg_executor_models(e, names, 8), 2);
    assert_string_equal(names[0], "digits");
    assert_string_equal(names[1], "fetched");
    size_t png_len;
    uint8_t *png = read_all(SAMPLE(8), &png_len);
    json_t *r = run_ok(e, "fetched", LG_INPUT_IMAGE, png, png_len);
    assert_int_equal(top1(r), 8);
    assert_string_equal(json_string_value(json_object_get(r, "model_name")), "fetched");
    json_t *first = json_array_get(json_array_get(json_object_get(json_object_get(r, "postprocessed"), "top_k"), 0), 0);
    assert_string_equal(json_string_value(json_object_get(first, "label")), "8");
    json_decref(r);
    assert_int_equal(lg_executor_model_hash(e, "fetched", hex2), LG_OK);
    assert_string_equal(hex, hex2);
    lg_executor_close(e);
    /* A new executor finds the fetched model in the cache; without a repository too. */
    assert_int_equal(lg_executor_open(NULL, cache, "cpu", 1, &e), LG_OK);
    assert_int_equal(lg_executor_models(e, names, 8), 1);
    snprintf(models_name, sizeof(models_name), "%s", names[0]);
    assert_string_equal(models_name, "fetched");
    r = run_ok(e, "fetched", LG_INPUT_IMAGE, png, png_len);
    assert_int_equal(top1(r), 8);
    json_decref(r);
    lg_executor_close(e);
    free(png);
    free(onnx);
    free(config);
    remove_tree(cache);
}

/* A model without config.json: outputs only, "postprocessed": null. */
static void test_no_config(void **state)
{
    char repo[64], cmd[512];
    snprintf(repo, sizeof(repo), "/tmp/lg_exec_repo_XXXXXX");
    assert_non_null(mkdtemp(repo));
    snprintf(cmd, sizeof(cmd), "mkdir -p %s/plain && cp %s/models/digits/model.onnx %s/plain/", repo, LG_SOURCE_DIR, repo);
    assert_int_equal(system(cmd), 0);
    lg_executor *e;
    assert_int_equal(lg_executor_open(repo, NULL, "cpu", 1, &e), LG_OK);
    lg_tensor *t = digit_tensor(1);
    char *body = kserve_body(t, "input");
    json_t *r = run_ok(e, "plain", LG_INPUT_JSON, body, strlen(body));
    assert_true(json_is_null(json_object_get(r, "postprocessed")));
    assert_int_equal(json_array_size(json_object_get(json_array_get(json_object_get(r, "outputs"), 0), "data")), 10);
    json_decref(r);
    free(body);
    lg_tensor_free(t);
    char *result = NULL, *error = NULL;
    assert_int_equal(lg_executor_add_model(e, "x", "0000000000000000000000000000000000000000000000000000000000000000",
                                           (const uint8_t *)"", 0, NULL), LG_E_INVALID_ARG);
    assert_int_equal(lg_executor_run(e, "digits", LG_INPUT_JSON, (const uint8_t *)"{}", 2, &result, &error), LG_E_NOT_FOUND);
    assert_non_null(strstr(error, "known models: plain"));
    free(error);
    lg_executor_close(e);
    remove_tree(repo);
}

/* ---- sha-256 --------------------------------------------------------------------- */

static void sha256sum_of(const void *data, size_t len, char hex[65])
{
    char *path = lg_test_tmpfile(data, len, NULL), cmd[300];
    snprintf(cmd, sizeof(cmd), "sha256sum %s", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(hex, 65, p));
    pclose(p);
    remove(path);
    free(path);
}

static void test_sha256(void **state)
{
    char hex[65], want[65];
    lg_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    lg_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    lg_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    size_t n = 1 << 20;
    uint8_t *buf = malloc(n);
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(i * 2654435761u >> 13);
    /* The padding edges (55, 56, 63, 64, 65 bytes) and 1 MB, against sha256sum. */
    static const size_t lens[] = { 1, 55, 56, 63, 64, 65, 119, 120, 1000, 1 << 20 };
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        lg_sha256_hex(buf, lens[i], hex);
        sha256sum_of(buf, lens[i], want);
        if (strcmp(hex, want)) fail_msg("%zu bytes: %s, sha256sum says %s", lens[i], hex, want);
    }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_json_input),
        cmocka_unit_test(test_image_input),
        cmocka_unit_test(test_npy_and_pb_input),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_datatypes_validate),
        cmocka_unit_test(test_concurrent_runs),
        cmocka_unit_test(test_add_model),
        cmocka_unit_test(test_no_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
