/*
 * test_curve.c: ZeroMQ CURVE for the worker links (cluster/curve.h) in one process: key
 * pairs written by keygen (modes, no overwrite, bad names), a table of bad key files each
 * refused with one clear message, one CURVE coordinator per process, and end to end: a
 * worker whose key is allowed registers and runs a task, a stranger never registers.
 */
#include "lg_test.h"

#include <stdbool.h>
#include <sys/stat.h>

#include "cluster/coord_net.h"
#include "cluster/coordinator.h"
#include "cluster/curve.h"
#include "cluster/worker.h"

#define MODELS LG_SOURCE_DIR "/models"
#define BEAT_S 0.2

typedef struct keys {
    char dir[64], allow[96];
    char coord_pub[256], coord_sec[256], good_pub[256], good_sec[256], bad_pub[256], bad_sec[256];
} keys;

static void make_keys(keys *k)
{
    snprintf(k->dir, sizeof(k->dir), "/tmp/lg_curve_XXXXXX");
    assert_non_null(mkdtemp(k->dir));
    snprintf(k->allow, sizeof(k->allow), "%s/allow", k->dir);
    assert_int_equal(mkdir(k->allow, 0755), 0);
    assert_int_equal(lg_curve_keygen(k->dir, "coord", k->coord_pub, k->coord_sec, sizeof(k->coord_pub)), LG_OK);
    assert_int_equal(lg_curve_keygen(k->dir, "good", k->good_pub, k->good_sec, sizeof(k->good_pub)), LG_OK);
    assert_int_equal(lg_curve_keygen(k->dir, "bad", k->bad_pub, k->bad_sec, sizeof(k->bad_pub)), LG_OK);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s/good.key'", k->good_pub, k->allow);
    assert_int_equal(system(cmd), 0);
}

static void remove_keys(const keys *k)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", k->dir);
    assert_int_equal(system(cmd), 0);
}

static void test_keygen(void **state)
{
    keys k;
    make_keys(&k);
    struct stat st;
    assert_int_equal(stat(k.good_sec, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(k.good_pub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    char pub[256], sec[256];
    assert_error(lg_curve_keygen(k.dir, "good", pub, sec, sizeof(pub)), LG_E_IO, "not overwriting");
    assert_error(lg_curve_keygen(k.dir, "a/b", pub, sec, sizeof(pub)), LG_E_INVALID_ARG, "plain file name");
    assert_error(lg_curve_keygen(k.dir, ".hidden", pub, sec, sizeof(pub)), LG_E_INVALID_ARG, "plain file name");
    assert_error(lg_curve_keygen("/nonexistent-dir", "x", pub, sec, sizeof(pub)), LG_E_IO, "does not exist");
    remove_keys(&k);
}

/* Bad key files for a worker: each refused at load with its own message. */
static void test_bad_key_files(void **state)
{
    keys k;
    make_keys(&k);
    char lone[300], garbage[300];
    snprintf(lone, sizeof(lone), "%s/allow/good.key", k.dir); /* a public key with no secret beside it */
    snprintf(garbage, sizeof(garbage), "%s/garbage", k.dir);
    FILE *f = fopen(garbage, "w");
    assert_non_null(f);
    fputs("this is not a certificate\n", f);
    fclose(f);
    static const struct {
        int secret, server; /* 0: the good pair / coordinator key, 1: lone, 2: garbage, 3: missing */
        int rc;
        const char *needle;
    } cases[] = {
        { 1, 0, LG_E_PARSE, "no secret key" },       { 2, 0, LG_E_PARSE, "not a CURVE key file" },
        { 3, 0, LG_E_IO, "no such file" },           { 0, 2, LG_E_PARSE, "not a CURVE key file" },
        { 0, 3, LG_E_IO, "--coordinator-key" },
    };
    const char *paths[4] = { NULL, lone, garbage, "/nonexistent/key" };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lg_curve_client *c = NULL;
        const char *sec = cases[i].secret ? paths[cases[i].secret] : k.good_sec;
        const char *srv = cases[i].server ? paths[cases[i].server] : k.coord_pub;
        assert_error(lg_curve_client_load(sec, srv, &c), cases[i].rc, cases[i].needle);
        assert_null(c);
    }
    lg_curve_client *c = NULL;
    assert_int_equal(lg_curve_client_load(k.good_sec, k.coord_pub, &c), LG_OK);
    assert_int_equal(strlen(lg_curve_client_public(c)), 40);
    lg_curve_client_free(&c);
    remove_keys(&k);
}

static void count_worker(void *arg, const lg_worker_view *w)
{
    (*(int *)arg)++;
}

static int live_workers(lg_coord *c)
{
    int n = 0;
    for (int s = LG_WORKER_IDLE; s < LG_WORKER_DEAD; s++) lg_coord_workers(c, s, count_worker, &n);
    return n;
}

static lg_worker *curve_worker(const char *endpoint, const char *id, const char *sec, const char *coord_pub)
{
    lg_worker_config wc;
    lg_worker_config_defaults(&wc);
    wc.coordinator = endpoint;
    wc.worker_id = id;
    wc.models_dir = MODELS;
    wc.backend = "cpu";
    wc.threads = 1;
    wc.heartbeat_interval_s = BEAT_S;
    wc.curve_secret = sec;
    wc.coordinator_key = coord_pub;
    lg_worker *w;
    if (lg_worker_start(&wc, &w) != LG_OK) fail_msg("lg_worker_start: %s", lg_last_error());
    return w;
}

static void test_end_to_end(void **state)
{
    keys k;
    make_keys(&k);
    lg_coord_config cfg;
    lg_coord_config_defaults(&cfg);
    cfg.data_dir = NULL; /* in memory */
    cfg.models_dir = MODELS;
    cfg.heartbeat_interval_s = BEAT_S;
    lg_coord *c;
    lg_coord_net *net, *second;
    assert_int_equal(lg_coord_open(&cfg, &c), LG_OK);
    assert_error(lg_coord_net_start_curve(c, "tcp://127.0.0.1:0", k.coord_sec, "/nonexistent", &net), LG_E_IO,
                 "--curve-allow");
    if (lg_coord_net_start_curve(c, "tcp://127.0.0.1:0", k.coord_sec, k.allow, &net) != LG_OK)
        fail_msg("CURVE coordinator: %s", lg_last_error());
    assert_error(lg_coord_net_start_curve(c, "tcp://127.0.0.1:0", k.coord_sec, k.allow, &second), LG_E_RUNTIME,
                 "already runs a CURVE coordinator");
    const char *ep = lg_coord_net_endpoint(net);
    lg_worker *bad = curve_worker(ep, "stranger", k.bad_sec, k.coord_pub);
    lg_worker *good = curve_worker(ep, "good", k.good_sec, k.coord_pub);
    double until = lg_now() + 10;
    while (live_workers(c) < 1 && lg_now() < until) usleep(5000); /* poll */
    lg_worker_view v;
    assert_int_equal(lg_coord_worker_get(c, "good", &v), LG_OK);
    /* The stranger keeps knocking; for a while, it is still not in. */
    until = lg_now() + 1.5;
    while (lg_now() < until) {
        assert_int_equal(live_workers(c), 1);
        usleep(20000);
    }
    assert_int_not_equal(lg_coord_worker_get(c, "stranger", &v), LG_OK);
    lg_worker_stop(bad);
    lg_worker_stop(good);
    lg_coord_net_stop(net);
    /* The ZAP handler is free again: a new CURVE coordinator can start. */
    if (lg_coord_net_start_curve(c, "tcp://127.0.0.1:0", k.coord_sec, k.allow, &net) != LG_OK)
        fail_msg("second CURVE coordinator: %s", lg_last_error());
    lg_coord_net_stop(net);
    lg_coord_close(c);
    remove_keys(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keygen),
        cmocka_unit_test(test_bad_key_files),
        cmocka_unit_test(test_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
