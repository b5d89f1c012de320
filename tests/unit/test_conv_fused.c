/*
 * test_conv_fused.c: the Conv kernel's fused output pass as a runtime fusion pass drives
 * it (conv.h): with lg_conv_set_residual and a Relu from lg_conv_set_activation, and the
 * residual as input 3, the Conv writes relu(conv(x) + b + r), equal to the plain Conv
 * followed by the add and the Relu, on every Conv path: GEMM with im2col (3x3), the
 * direct 1x1 GEMM, depthwise, and Winograd; without input 3 it fails with one error.
 */
#include <math.h>

#include "lg_test.h"
#include "backends/cpu/ops/conv.h"
#include "model/graph.h"
#include "model_builder.h"
#include "runtime/backend.h"

typedef struct conv_case {
    const char *what;
    int64_t in_c, out_c, hw, k, stride, group;
} conv_case;

static uint64_t rng = 0x9E3779B97F4A7C15u;

static float rand_f(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)(rng >> 40) / (float)(1 << 23) - 1.0f;
}

static lg_tensor *rand_tensor(int ndim, const int64_t *dims)
{
    lg_tensor *t;
    assert_int_equal(lg_tensor_create(LG_FLOAT, ndim, dims, &t), LG_OK);
    float *p = lg_tensor_data(t);
    for (int64_t i = 0; i < lg_tensor_numel(t); i++) p[i] = rand_f();
    return t;
}

/* Runs the Conv node of m on (x, w, b[, r]) with a fresh prepared state; fuse: residual
 * and Relu requested. Returns the status; *y gets the output. */
static int run_conv(const lg_node *n, const lg_op_def *op, const lg_tensor *x, const lg_tensor *w, const lg_tensor *b,
                    const lg_tensor *r, bool fuse, lg_threadpool *pool, lg_tensor **y)
{
    const lg_tensor *pin[3] = { NULL, w, b };
    lg_kctx pc = { .node = n, .opset = 13, .n_inputs = 3, .inputs = pin, .pool = pool };
    void *state = NULL;
    assert_int_equal(op->prepare(&pc, &state), LG_OK);
    if (fuse) {
        lg_act relu = { .kind = LG_ACT_RELU };
        assert_int_equal(lg_conv_set_residual(state), LG_OK);
        assert_int_equal(lg_conv_set_activation(state, &relu), LG_OK);
    }
    const lg_tensor *in[4] = { x, w, b, r };
    *y = lg_tensor_new_empty();
    lg_tensor *out[1] = { *y };
    lg_kctx c = { .node = n, .opset = 13, .n_inputs = r ? 4 : 3, .inputs = in, .n_outputs = 1, .outputs = out,
                  .pool = pool, .state = state };
    int rc = op->infer(&c);
    if (rc == LG_OK) rc = lg_tensor_reset(*y, (*y)->dtype, (*y)->ndim, (*y)->dims);
    if (rc == LG_OK) rc = op->exec(&c);
    op->release(state);
    return rc;
}

static void check_case(const conv_case *cc, lg_threadpool *pool)
{
    mb_model mb;
    mb_init(&mb, 13);
    int64_t xd[4] = { 2, cc->in_c, cc->hw, cc->hw }, wd[4] = { cc->out_c, cc->in_c / cc->group, cc->k, cc->k };
    int64_t bd[1] = { cc->out_c };
    mb_input(&mb, "X", LG_FLOAT, 4, xd);
    lg_tensor *w = rand_tensor(4, wd), *b = rand_tensor(1, bd);
    mb_init_raw(&mb, "W", LG_FLOAT, 4, wd, lg_tensor_data(w), lg_tensor_nbytes(w));
    mb_init_raw(&mb, "B", LG_FLOAT, 1, bd, lg_tensor_data(b), lg_tensor_nbytes(b));
    Onnx__NodeProto *np = mb_node(&mb, "Conv", "conv", 3, (const char *[]){ "X", "W", "B" }, 1, (const char *[]){ "Y" });
    int64_t pad = cc->k / 2, pads[4] = { pad, pad, pad, pad }, strides[2] = { cc->stride, cc->stride };
    Onnx__AttributeProto a[3], *pa[3] = { &a[0], &a[1], &a[2] };
    for (int i = 0; i < 3; i++) {
        onnx__attribute_proto__init(&a[i]);
        a[i].has_type = 1;
    }
    a[0].name = "pads", a[0].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, a[0].n_ints = 4, a[0].ints = pads;
    a[1].name = "strides", a[1].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, a[1].n_ints = 2, a[1].ints = strides;
    a[2].name = "group", a[2].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, a[2].has_i = 1, a[2].i = cc->group;
    np->n_attribute = 3;
    np->attribute = pa;
    mb_output(&mb, "Y", LG_FLOAT);
    size_t len;
    uint8_t *bytes = mb_pack(&mb, &len);
    lg_model *m;
    assert_int_equal(lg_model_load_memory(bytes, len, NULL, &m), LG_OK);
    const lg_node *n = &m->graph->nodes[0];
    const lg_op_def *op = lg_backend_host()->find_op("", "Conv", 13, NULL);
    assert_non_null(op);
    lg_tensor *x = rand_tensor(4, xd), *y0, *y1;
    assert_int_equal(run_conv(n, op, x, w, b, NULL, false, pool, &y0), LG_OK);
    lg_tensor *r = rand_tensor(lg_tensor_ndim(y0), lg_tensor_dims(y0));
    assert_int_equal(run_conv(n, op, x, w, b, r, true, pool, &y1), LG_OK);
    const float *p0 = lg_tensor_data(y0), *p1 = lg_tensor_data(y1), *pr = lg_tensor_data(r);
    for (int64_t i = 0; i < lg_tensor_numel(y0); i++) {
        float want = p0[i] + pr[i] > 0 ? p0[i] + pr[i] : 0;
        if (fabsf(p1[i] - want) > 1e-5f * (1 + fabsf(want)))
            fail_msg("%s: y[%lld] = %g, want relu(%g + %g) = %g", cc->what, (long long)i, p1[i], p0[i], pr[i], want);
    }
    lg_tensor *y2;
    assert_error(run_conv(n, op, x, w, b, NULL, true, pool, &y2), LG_E_RUNTIME, "input 3 must be a float32 tensor");
    lg_tensor_free(y2);
    lg_tensor_free(y0);
    lg_tensor_free(y1);
    lg_tensor_free(r);
    lg_tensor_free(x);
    lg_tensor_free(w);
    lg_tensor_free(b);
    lg_model_free(m);
    free(bytes);
}

static void test_residual_on_every_conv_path(void **state)
{
    (void)state;
    static const conv_case cases[] = {
        { "3x3 GEMM (im2col)", 5, 7, 13, 3, 1, 1 },
        { "1x1 GEMM (direct)", 6, 9, 11, 1, 1, 1 },
        { "3x3 stride 2 GEMM", 4, 6, 15, 3, 2, 1 },
        { "depthwise 3x3", 8, 8, 17, 3, 1, 8 },
        { "depthwise 3x3 stride 2", 6, 6, 19, 3, 2, 6 },
        { "Winograd 96->64", 96, 64, 16, 3, 1, 1 },
    };
    lg_threadpool *pool = lg_threadpool_create(2);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) check_case(&cases[i], pool);
    lg_threadpool_free(pool);
}

static void test_residual_needs_a_state(void **state)
{
    (void)state;
    assert_error(lg_conv_set_residual(NULL), LG_E_INVALID_ARG, "no Conv state");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_residual_on_every_conv_path),
        cmocka_unit_test(test_residual_needs_a_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
