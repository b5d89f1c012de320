/*
 * test_vulkan_sched.c: the scheduler with the Vulkan backend (lavapipe in CI): weights
 * shared between sessions of one model, partitions cut by the debugging knobs with
 * copies at their edges, several input shapes on one session, and the placement
 * summary. Results are compared with the CPU's. Skips (77) without a Vulkan device.
 */
#include "lg_test.h"

#include <math.h>

#include "backends/vulkan/vk.h"
#include "runtime/session_impl.h"

#ifndef LG_SHARED_DIR
#define LG_SHARED_DIR "../shared"
#endif

static lg_tensor *read_pb(const char *model, const char *file)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/models/%s/test_data_set_0/%s", LG_SHARED_DIR, model, file);
    lg_tensor *t = NULL;
    char *name = NULL;
    assert_int_equal(lg_tensor_read_file(path, &t, &name), LG_OK);
    free(name);
    return t;
}

static lg_model *load(const char *model)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/models/%s/model.onnx", LG_SHARED_DIR, model);
    lg_model *m = NULL;
    assert_int_equal(lg_model_load(path, &m), LG_OK);
    return m;
}

static lg_session *open_session(lg_model *m, const char *backend)
{
    lg_session_options so = { .backend = backend };
    lg_session *s = NULL;
    int rc = lg_session_create(m, &so, &s);
    if (rc != LG_OK) fail_msg("session on %s: %s", backend, lg_last_error());
    return s;
}

static lg_tensor *run1(lg_session *s, lg_tensor *x)
{
    lg_tensor *y = NULL;
    int rc = lg_session_run(s, 1, NULL, &x, 1, NULL, &y);
    if (rc != LG_OK) fail_msg("run: %s", lg_last_error());
    return y;
}

/* Max absolute difference of two float tensors of the same size, from element offset. */
static double max_diff(const lg_tensor *a, int64_t a_off, const lg_tensor *b, int64_t n)
{
    const float *x = lg_tensor_data(a), *y = lg_tensor_data(b);
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs((double)x[a_off + i] - (double)y[i]));
    return m;
}

/* A second session of the same model on the same device reuses its weights: every
 * initializer the scheduler put on the device is the first session's copy. */
static void test_shared_weights(void **st)
{
    lg_model *m = load("squeezenet1_1");
    lg_session *a = open_session(m, "vulkan:0");
    assert_true(lg_vk_validation_enabled());
    lg_session *b = open_session(m, "vulkan:0");
    int shared = 0, consts = 0;
    for (int v = 0; v < a->model->graph->n_values; v++) {
        const lg_tensor *da = lg_sched_device_constant(a, v), *db = lg_sched_device_constant(b, v);
        if (!da || !a->model->graph->values[v].constant) continue; /* folded constants are per session */
        consts++;
        assert_non_null(db);
        shared += da->buf == db->buf && da->offset == db->offset;
    }
    print_message("%d of %d device copies of the model's initializers shared\n", shared, consts);
    assert_true(consts > 0 && shared == consts);
    lg_tensor *x = read_pb("squeezenet1_1", "input_0.pb"), *want = read_pb("squeezenet1_1", "output_0.pb");
    lg_tensor *y = run1(b, x);
    assert_true(max_diff(y, 0, want, lg_tensor_numel(want)) < 1e-3);
    lg_tensor_free(y);
    lg_session_free(a);
    y = run1(b, x); /* still right after the first session is gone */
    assert_true(max_diff(y, 0, want, lg_tensor_numel(want)) < 1e-3);
    lg_tensor_free(y);
    lg_session_free(b);
    lg_tensor_free(x);
    lg_tensor_free(want);
    lg_model_free(m);
}

/* Partitions with host nodes between them (only Conv on the device, or a window of
 * nodes): the copies at their edges keep the result equal to the CPU's. */
static void test_partition_edges(void **st)
{
    static const struct {
        const char *var, *value;
    } knobs[] = { { "LEGACYGPU_SCHED_OPS", "Conv" }, { "LEGACYGPU_SCHED_NODES", "20-60" },
                  { "LEGACYGPU_SCHED_OPS", "Add,GlobalAveragePool,Gemm" } };
    lg_model *m = load("mobilenet_v2");
    lg_tensor *x = read_pb("mobilenet_v2", "input_0.pb"), *want = read_pb("mobilenet_v2", "output_0.pb");
    for (size_t k = 0; k < sizeof(knobs) / sizeof(knobs[0]); k++) {
        setenv(knobs[k].var, knobs[k].value, 1);
        lg_session *s = open_session(m, "vulkan:0");
        int n = 0, on_dev = 0, on_cpu = 0;
        assert_int_equal(lg_session_placement(s, NULL, 0, &n), LG_OK);
        lg_placement *pl = calloc((size_t)n, sizeof(*pl));
        assert_int_equal(lg_session_placement(s, pl, n, &n), LG_OK);
        for (int i = 0; i < n; i++) {
            on_dev += !strcmp(pl[i].backend, "vulkan");
            on_cpu += !strcmp(pl[i].backend, "cpu");
        }
        free(pl);
        print_message("%s=%s: %d nodes on vulkan, %d on the cpu\n", knobs[k].var, knobs[k].value, on_dev, on_cpu);
        assert_true(on_dev > 0 && on_cpu > 0);
        lg_tensor *y = run1(s, x);
        assert_true(max_diff(y, 0, want, lg_tensor_numel(want)) < 1e-3);
        lg_tensor_free(y);
        lg_session_free(s);
        unsetenv(knobs[k].var);
    }
    lg_tensor_free(x);
    lg_tensor_free(want);
    lg_model_free(m);
}

/* One session, input shapes changing between runs: each shape gets its own placement
 * and memory plan; the results stay right. */
static void test_input_shapes(void **st)
{
    lg_model *m = load("squeezenet1_1");
    lg_tensor *x1 = read_pb("squeezenet1_1", "input_0.pb"), *want = read_pb("squeezenet1_1", "output_0.pb");
    int64_t dims[4];
    memcpy(dims, lg_tensor_dims(x1), sizeof(dims));
    int64_t per = lg_tensor_numel(x1), classes = lg_tensor_numel(want);
    dims[0] = 2;
    lg_tensor *x2;
    assert_int_equal(lg_tensor_create(LG_FLOAT, 4, dims, &x2), LG_OK);
    memcpy(lg_tensor_data(x2), lg_tensor_data(x1), (size_t)per * 4);
    memcpy((float *)lg_tensor_data(x2) + per, lg_tensor_data(x1), (size_t)per * 4);
    lg_session *s = open_session(m, "vulkan:0");
    for (int round = 0; round < 2; round++) {
        lg_tensor *y = run1(s, x1);
        assert_true(max_diff(y, 0, want, classes) < 1e-3);
        lg_tensor_free(y);
        y = run1(s, x2);
        assert_int_equal(lg_tensor_dims(y)[0], 2);
        assert_true(max_diff(y, 0, want, classes) < 1e-3);
        assert_true(max_diff(y, classes, want, classes) < 1e-3);
        lg_tensor_free(y);
    }
    lg_session_free(s);
    lg_tensor_free(x1);
    lg_tensor_free(x2);
    lg_tensor_free(want);
    lg_model_free(m);
}

/* Where the device name comes from, and a bad device index. */
static void test_device_choice(void **st)
{
    lg_model *m = load("squeezenet1_1");
    lg_session *s = open_session(m, "vulkan");
    char name[320];
    assert_int_equal(lg_session_device(s, name, sizeof(name)), LG_OK);
    assert_non_null(strstr(name, "vulkan:0"));
    lg_session_free(s);
    lg_session_options so = { .backend = "vulkan:99" };
    assert_error(lg_session_create(m, &so, &s), LG_E_NOT_FOUND, "no device 99");
    so.backend = "vulkan:x";
    assert_error(lg_session_create(m, &so, &s), LG_E_UNSUPPORTED, "not available");
    lg_model_free(m);
}

int main(void)
{
    /* Before anything creates the Vulkan instance: any validation message fails a run. */
    setenv("LEGACYGPU_VK_VALIDATE", "require", 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/models/squeezenet1_1/model.onnx", LG_SHARED_DIR);
    if (access(path, R_OK) != 0) {
        printf("SKIP: %s is missing (the shared test models)\n", path);
        return 77;
    }
    int n = 0;
    for (int b = 0; b < lg_backend_count(); b++)
        if (!strcmp(lg_backend_name(b), "vulkan")) n = lg_backend_device_count(b);
    if (n == 0) {
        printf("SKIP: no Vulkan device on this machine (install mesa-vulkan-drivers for lavapipe)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_weights),
        cmocka_unit_test(test_partition_edges),
        cmocka_unit_test(test_input_shapes),
        cmocka_unit_test(test_device_choice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
