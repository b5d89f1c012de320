/*
 * test_sessions.c: several sessions on one model: by default they share the model's
 * weights safely (also when created and run from several threads at once); a session
 * created with release_weights frees the weights it packed, and a later session on that
 * model fails with a clear message instead of reading freed memory.
 */
#include <pthread.h>

#include "lg_test.h"

static const char *model_path(void)
{
    static char path[1024];
    snprintf(path, sizeof(path), "%s/models/squeezenet1_1/model.onnx", LG_SHARED_DIR);
    return path;
}

static lg_tensor *input(void)
{
    lg_tensor *x;
    assert_int_equal(lg_tensor_create(LG_FLOAT, 4, (int64_t[]){ 1, 3, 224, 224 }, &x), LG_OK);
    float *d = lg_tensor_data(x);
    for (int64_t i = 0; i < lg_tensor_numel(x); i++) d[i] = (float)((i * 7919) % 255) / 255.0f;
    return x;
}

typedef struct job {
    lg_model *model;
    lg_tensor *x;
    float first[8];
    int rc;
} job;

static void *create_and_run(void *arg)
{
    job *j = arg;
    lg_session *s;
    lg_session_options so = { .num_threads = 1 };
    j->rc = lg_session_create(j->model, &so, &s);
    if (j->rc != LG_OK) return NULL;
    lg_tensor *y = NULL;
    j->rc = lg_session_run(s, 1, NULL, &j->x, 1, NULL, &y);
    if (j->rc == LG_OK) memcpy(j->first, lg_tensor_data(y), sizeof(j->first));
    lg_tensor_free(y);
    lg_session_free(s);
    return NULL;
}

static void test_shared_model_concurrent_sessions(void **state)
{
    (void)state;
    lg_model *m;
    assert_int_equal(lg_model_load(model_path(), &m), LG_OK);
    lg_tensor *x = input();
    job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){ .model = m, .x = x };
        assert_int_equal(pthread_create(&th[i], NULL, create_and_run, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(jobs[i].rc, LG_OK);
        assert_memory_equal(jobs[i].first, jobs[0].first, sizeof(jobs[0].first));
    }
    lg_tensor_free(x);
    lg_model_free(m);
}

static void test_release_weights_is_exclusive(void **state)
{
    (void)state;
    lg_model *m;
    assert_int_equal(lg_model_load(model_path(), &m), LG_OK);
    lg_session *s1, *s2 = NULL;
    lg_session_options own = { .release_weights = 1 };
    assert_int_equal(lg_session_create(m, &own, &s1), LG_OK);
    assert_error(lg_session_create(m, NULL, &s2), LG_E_INVALID_ARG, "were released by another session");
    assert_null(s2);
    lg_tensor *x = input(), *y = NULL;
    assert_int_equal(lg_session_run(s1, 1, NULL, &x, 1, NULL, &y), LG_OK); /* the owner still runs */
    lg_tensor_free(y);
    lg_tensor_free(x);
    lg_session_free(s1);
    lg_model_free(m);
}

int main(void)
{
    if (access(model_path(), R_OK) != 0) {
        fprintf(stderr, "test_sessions: %s is missing (shared test material)\n", model_path());
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_model_concurrent_sessions),
        cmocka_unit_test(test_release_weights_is_exclusive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
