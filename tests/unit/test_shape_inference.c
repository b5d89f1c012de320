/*
 * test_shape_inference.c: static shape and type inference over whole graphs, from input
 * shapes alone: shufflenet's shape arithmetic (Shape -> Gather -> Reshape) and yolo's
 * detection head must come out concrete for any batch size.
 */
#include "lg_test.h"

static void infer_output(const char *model, const char *input, int64_t batch, int64_t hw, int nd_out,
                         const int64_t *want)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/models/%s/model.onnx", LG_SHARED_DIR, model);
    if (access(path, R_OK) != 0) fail_msg("%s is missing (shared test material)", path);
    lg_model *m;
    lg_session *s;
    assert_int_equal(lg_model_load(path, &m), LG_OK);
    assert_int_equal(lg_session_create(m, NULL, &s), LG_OK);
    lg_tensor *x;
    int64_t dims[4] = { batch, 3, hw, hw };
    assert_int_equal(lg_tensor_create(LG_FLOAT, 4, dims, &x), LG_OK);
    lg_value_info out;
    const char *names[] = { input };
    int rc = lg_session_infer_shapes(s, 1, names, &x, 1, &out);
    if (rc != LG_OK) fail_msg("%s: %s", model, lg_last_error());
    assert_int_equal(out.dtype, LG_FLOAT);
    assert_int_equal(out.ndim, nd_out);
    for (int d = 0; d < nd_out; d++) assert_int_equal(out.dims[d], want[d]);
    lg_tensor_free(x);
    lg_session_free(s);
    lg_model_free(m);
}

static void test_shufflenet_any_batch(void **state)
{
    (void)state;
    for (int64_t n = 1; n <= 8; n *= 2) infer_output("shufflenet_v2_x1_0", "input", n, 224, 2, (int64_t[]){ n, 1000 });
}

static void test_yolo_head(void **state)
{
    (void)state;
    infer_output("yolo_style", "images", 2, 320, 3, (int64_t[]){ 2, 6300, 85 });
}

static void test_resnet(void **state)
{
    (void)state;
    infer_output("resnet50", "input", 3, 224, 2, (int64_t[]){ 3, 1000 });
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shufflenet_any_batch),
        cmocka_unit_test(test_yolo_head),
        cmocka_unit_test(test_resnet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
