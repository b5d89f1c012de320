/*
 * test_store.c: the SQLite task store: every field round-trips, updates, idempotency
 * keys, listing, counts, purge and the schema version; and crash recovery through the
 * coordinator: closed without finishing, and killed with SIGKILL mid-run, a reopened
 * coordinator requeues what was not finished and still has the completed results;
 * purging oldest first, inputs read back by row, the auto_vacuum migration, and
 * injected store faults (a refused task leaves nothing behind, health recovers).
 */
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "lg_test.h"
#include "cluster/coordinator.h"
#include "cluster/store.h"
#include "cluster/store_faults.h"

static char *temp_dir(void)
{
    char *dir = strdup("/tmp/lg_store_XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void remove_dir(char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static void make_task(lg_task *t, const char *model, const char *key)
{
    memset(t, 0, sizeof *t);
    lg_uuid4(t->id);
    t->model = strdup(model);
    t->priority = LG_PRIO_HIGH;
    t->state = LG_TASK_QUEUED;
    assert_int_equal(lg_requirements_parse_json("{\"min_memory_mb\":2048,\"backend\":\"vulkan\",\"device_vendor\":"
                                                "\"AMD\",\"fp16\":true,\"room\":\"lab2\"}",
                                                &t->req),
                     LG_OK);
    t->input_kind = LG_INPUT_IMAGE;
    t->input_len = 300;
    t->input = malloc(t->input_len);
    for (size_t i = 0; i < t->input_len; i++) t->input[i] = (uint8_t)(i * 7); /* includes NUL bytes */
    t->timeout_s = 12.5;
    t->max_attempts = 3;
    t->idempotency_key = key ? strdup(key) : NULL;
    snprintf(t->body_hash, sizeof t->body_hash, "%064d", 42);
    t->created_at = t->updated_at = lg_now();
}

static void test_round_trip(void **state)
{
    (void)state;
    char *dir = temp_dir();
    lg_store *s;
    assert_int_equal(lg_store_open(dir, &s), LG_OK);
    lg_task t, u;
    make_task(&t, "resnet50", "k1");
    int64_t seq;
    assert_int_equal(lg_store_insert(s, &t, &seq), LG_OK);
    assert_true(seq > 0);
    assert_int_equal(lg_store_get(s, t.id, &u), LG_OK);
    assert_string_equal(u.id, t.id);
    assert_string_equal(u.model, "resnet50");
    assert_int_equal(u.priority, LG_PRIO_HIGH);
    assert_int_equal(u.state, LG_TASK_QUEUED);
    assert_int_equal(u.req.min_memory_mb, 2048);
    assert_string_equal(u.req.backend, "vulkan");
    assert_string_equal(u.req.device_vendor, "AMD");
    assert_int_equal(u.req.fp16, 1);
    assert_int_equal(u.req.n_tags, 1);
    assert_string_equal(u.req.tags[0], "room=lab2");
    assert_int_equal(u.input_kind, LG_INPUT_IMAGE);
    assert_int_equal(u.input_len, 300);
    assert_memory_equal(u.input, t.input, 300);
    assert_true(u.timeout_s == 12.5);
    assert_int_equal(u.max_attempts, 3);
    assert_string_equal(u.idempotency_key, "k1");
    assert_string_equal(u.body_hash, t.body_hash);
    assert_true(u.created_at == t.created_at);
    assert_null(u.result);
    assert_null(u.error);
    lg_task_clear(&u);

    t.state = LG_TASK_COMPLETED;
    t.attempts = 2;
    snprintf(t.worker_id, sizeof t.worker_id, "w7");
    t.started_at = t.created_at + 1;
    t.finished_at = t.created_at + 2;
    t.result = strdup("{\"outputs\":[1]}");
    t.error = strdup("first\nsecond");
    assert_int_equal(lg_store_update(s, &t), LG_OK);
    assert_int_equal(lg_store_get(s, t.id, &u), LG_OK);
    assert_int_equal(u.state, LG_TASK_COMPLETED);
    assert_int_equal(u.attempts, 2);
    assert_string_equal(u.worker_id, "w7");
    assert_true(u.finished_at == t.finished_at && u.started_at == t.started_at);
    assert_string_equal(u.result, "{\"outputs\":[1]}");
    assert_string_equal(u.error, "first\nsecond");
    assert_int_equal(u.input_len, 300); /* the input survives state changes */
    lg_task_clear(&u);

    assert_int_equal(lg_store_find_key(s, "k1", &u), LG_OK);
    assert_string_equal(u.id, t.id);
    lg_task_clear(&u);
    assert_int_equal(lg_store_find_key(s, "k2", &u), LG_E_NOT_FOUND);
    lg_task v;
    make_task(&v, "x", "k1"); /* a second task with the same key is refused */
    assert_int_equal(lg_store_insert(s, &v, &seq), LG_E_INVALID_ARG);
    lg_task_clear(&v);
    make_task(&v, "x", NULL); /* many tasks without a key are fine */
    assert_int_equal(lg_store_insert(s, &v, &seq), LG_OK);
    lg_task_clear(&v);
    make_task(&v, "y", NULL);
    assert_int_equal(lg_store_insert(s, &v, &seq), LG_OK);
    lg_task_clear(&v);

    int64_t counts[LG_TASK_STATE_COUNT];
    assert_int_equal(lg_store_count(s, counts), LG_OK);
    assert_int_equal(counts[LG_TASK_COMPLETED], 1);
    assert_int_equal(counts[LG_TASK_QUEUED], 2);

    int64_t removed[LG_TASK_STATE_COUNT] = { 0 };
    assert_int_equal(lg_store_purge(s, t.finished_at - 1, removed), LG_OK);
    assert_int_equal(removed[LG_TASK_COMPLETED], 0);
    assert_int_equal(lg_store_purge(s, t.finished_at + 1, removed), LG_OK);
    assert_int_equal(removed[LG_TASK_COMPLETED], 1);
    assert_int_equal(lg_store_get(s, t.id, &u), LG_E_NOT_FOUND);
    lg_task_clear(&t);
    lg_store_close(s);

    /* The schema carries its version. */
    char path[512];
    snprintf(path, sizeof path, "%s/legacygpu.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), LG_STORE_SCHEMA_VERSION);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    /* A newer schema than this build knows is refused. */
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_error(lg_store_open(dir, &s), LG_E_UNSUPPORTED, "newer");
    assert_error(lg_store_open("", &s), LG_E_INVALID_ARG, "empty");
    remove_dir(dir);
}

static void test_requirements_json(void **state)
{
    (void)state;
    lg_requirements r, back;
    assert_int_equal(lg_requirements_parse_json("{\"fp16\": true, \"tags\": [\"a=1\"], \"zone\": 3}", &r), LG_OK);
    char *j = lg_requirements_to_json(&r);
    assert_int_equal(lg_requirements_parse_json(j, &back), LG_OK);
    assert_int_equal(back.fp16, 1);
    assert_int_equal(back.n_tags, 2);
    assert_string_equal(back.tags[0], "a=1");
    assert_string_equal(back.tags[1], "zone=3");
    free(j);
    assert_error(lg_requirements_parse_json("[1]", &r), LG_E_INVALID_ARG, "object");
    assert_error(lg_requirements_parse_json("{\"backend\": 5}", &r), LG_E_INVALID_ARG, "backend");
    assert_error(lg_requirements_parse_json("{bad", &r), LG_E_INVALID_ARG, "malformed");
    assert_int_equal(lg_requirements_parse_json("", &r), LG_OK);
    assert_int_equal(r.fp16, -1);
    lg_priority p;
    assert_int_equal(lg_priority_parse("high", &p), LG_OK);
    assert_int_equal(p, LG_PRIO_HIGH);
    assert_error(lg_priority_parse("URGENT", &p), LG_E_INVALID_ARG, "LOW, NORMAL, HIGH, CRITICAL");
    lg_task_state s;
    assert_int_equal(lg_task_state_parse("timed_out", &s), LG_OK);
    assert_int_equal(s, LG_TASK_TIMED_OUT);
    assert_true(lg_task_state_final(s));
    assert_false(lg_task_state_final(LG_TASK_RUNNING));
    assert_null(lg_task_state_name(LG_TASK_STATE_COUNT));
    char a[LG_TASK_ID_LEN + 1], b[LG_TASK_ID_LEN + 1];
    lg_uuid4(a);
    lg_uuid4(b);
    assert_int_equal(strlen(a), LG_TASK_ID_LEN);
    assert_int_equal(a[14], '4');
    assert_string_not_equal(a, b);
}

static lg_coord *open_dir(const char *dir)
{
    lg_coord_config cfg;
    lg_coord_config_defaults(&cfg);
    cfg.data_dir = dir;
    lg_coord *c;
    if (lg_coord_open(&cfg, &c) != LG_OK) fail_msg("open %s: %s", dir, lg_last_error());
    return c;
}

static void hello(lg_coord *c, const char *id)
{
    lg_worker_info w;
    memset(&w, 0, sizeof w);
    snprintf(w.id, sizeof w.id, "%s", id);
    w.capacity = 4;
    w.n_backends = 1;
    snprintf(w.backends[0], sizeof w.backends[0], "cpu");
    assert_int_equal(lg_coord_worker_hello(c, &w), LG_OK);
}

static void submit(lg_coord *c, char *id)
{
    lg_submit_request r = { .model = "digits", .input = (const uint8_t *)"{}", .input_len = 2 };
    lg_submit_result res;
    assert_int_equal(lg_coord_submit(c, &r, &res), LG_OK);
    memcpy(id, res.task_id, LG_TASK_ID_LEN + 1);
}

static void next(lg_coord *c, char *id)
{
    lg_task t;
    char w[64];
    assert_int_equal(lg_coord_next_dispatch(c, &t, w, sizeof w), LG_OK);
    memcpy(id, t.id, LG_TASK_ID_LEN + 1);
    lg_task_clear(&t);
}

static void test_reopen_requeues(void **state)
{
    (void)state;
    char *dir = temp_dir();
    lg_coord *c = open_dir(dir);
    char a[40], b[40], d[40], got[40];
    submit(c, a);
    submit(c, b);
    submit(c, d);
    hello(c, "w1");
    next(c, got);
    assert_string_equal(got, a);
    next(c, got);
    assert_string_equal(got, b);
    assert_int_equal(lg_coord_task_started(c, "w1", a), LG_OK);
    assert_int_equal(lg_coord_task_completed(c, "w1", b, "{\"done\":1}", 0.01), LG_OK);
    lg_coord_close(c); /* a is RUNNING, d QUEUED */

    c = open_dir(dir);
    lg_task t;
    assert_int_equal(lg_coord_task_get(c, a, &t), LG_OK);
    assert_int_equal(t.state, LG_TASK_QUEUED);
    assert_int_equal(t.attempts, 1); /* kept */
    lg_task_clear(&t);
    assert_int_equal(lg_coord_task_get(c, b, &t), LG_OK);
    assert_int_equal(t.state, LG_TASK_COMPLETED);
    assert_string_equal(t.result, "{\"done\":1}");
    lg_task_clear(&t);
    lg_coord_stats st;
    lg_coord_stats_get(c, &st);
    assert_int_equal(st.tasks_by_state[LG_TASK_QUEUED], 2);
    assert_int_equal(st.tasks_by_state[LG_TASK_COMPLETED], 1);
    assert_int_equal(st.queued_by_priority[LG_PRIO_LOW], 2);
    hello(c, "w2");
    next(c, got);
    assert_string_equal(got, a); /* acceptance order kept */
    next(c, got);
    assert_string_equal(got, d);
    assert_int_equal(lg_coord_task_completed(c, "w2", a, "{}", 0.01), LG_OK);
    assert_int_equal(lg_coord_task_completed(c, "w2", d, "{}", 0.01), LG_OK);
    assert_int_equal(lg_coord_task_get(c, a, &t), LG_OK);
    assert_int_equal(t.attempts, 2);
    lg_task_clear(&t);
    lg_coord_close(c);
    remove_dir(dir);
}

enum { KILL_TASKS = 200, KILL_DONE = 20 };

/* The child: accepts tasks, completes a few, reports each accepted id on the pipe, and
 * kills itself with SIGKILL while the rest are queued or running. */
static void child(const char *dir, int fd)
{
    lg_coord *c = open_dir(dir);
    hello(c, "w1");
    for (int i = 0; i < KILL_TASKS; i++) {
        char id[40], got[40];
        submit(c, id);
        if (write(fd, id, LG_TASK_ID_LEN) != LG_TASK_ID_LEN) _exit(3);
        if (i < KILL_DONE + 3) {
            next(c, got);
            if (i < KILL_DONE) lg_coord_task_completed(c, "w1", got, "{\"ok\":1}", 0.001);
        }
    }
    kill(getpid(), SIGKILL);
    _exit(4);
}

static void test_kill9_recovery(void **state)
{
    (void)state;
    char *dir = temp_dir();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child(dir, fds[1]);
    }
    close(fds[1]);
    static char ids[KILL_TASKS][40];
    int n = 0;
    char buf[LG_TASK_ID_LEN];
    size_t have = 0;
    ssize_t r;
    while ((r = read(fds[0], buf + have, sizeof buf - have)) > 0) {
        have += (size_t)r;
        if (have == sizeof buf) {
            memcpy(ids[n], buf, LG_TASK_ID_LEN);
            ids[n++][LG_TASK_ID_LEN] = '\0';
            have = 0;
        }
    }
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_int_equal(n, KILL_TASKS);

    lg_coord *c = open_dir(dir);
    int completed = 0, queued = 0;
    for (int i = 0; i < n; i++) {
        lg_task t;
        if (lg_coord_task_get(c, ids[i], &t) != LG_OK) fail_msg("accepted task %s lost: %s", ids[i], lg_last_error());
        if (t.state == LG_TASK_COMPLETED) {
            completed++;
            assert_string_equal(t.result, "{\"ok\":1}");
        } else {
            assert_int_equal(t.state, LG_TASK_QUEUED);
            queued++;
        }
        lg_task_clear(&t);
    }
    assert_int_equal(completed, KILL_DONE);
    assert_int_equal(queued, KILL_TASKS - KILL_DONE);
    /* Every unfinished one runs now. */
    hello(c, "w2");
    lg_task t;
    char w[64];
    int ran = 0;
    while (lg_coord_next_dispatch(c, &t, w, sizeof w) == LG_OK) {
        assert_int_equal(lg_coord_task_completed(c, w, t.id, "{}", 0.001), LG_OK);
        lg_task_clear(&t);
        ran++;
    }
    assert_int_equal(ran, KILL_TASKS - KILL_DONE);
    lg_coord_close(c);
    remove_dir(dir);
}

/* Finished tasks go oldest first, queued ones never; inputs are read back by row. */
static void test_purge_oldest_and_inputs(void **state)
{
    (void)state;
    char *dir = temp_dir();
    lg_store *s;
    assert_int_equal(lg_store_open(dir, &s), LG_OK);
    char ids[20][LG_TASK_ID_LEN + 1];
    int64_t seqs[20];
    for (int i = 0; i < 20; i++) {
        lg_task t;
        make_task(&t, "digits", NULL);
        if (i % 2 == 0) {
            t.state = LG_TASK_COMPLETED;
            t.finished_at = 1000.0 + i; /* the even ones finished in order */
        }
        assert_int_equal(lg_store_insert(s, &t, &seqs[i]), LG_OK);
        memcpy(ids[i], t.id, sizeof ids[i]);
        lg_task_clear(&t);
    }
    int64_t removed[LG_TASK_STATE_COUNT] = { 0 };
    int n = 0;
    assert_int_equal(lg_store_purge_oldest(s, 3, removed, &n), LG_OK);
    assert_int_equal(n, 3);
    assert_int_equal(removed[LG_TASK_COMPLETED], 3);
    lg_task t;
    for (int i = 0; i < 6; i += 2) assert_int_equal(lg_store_get(s, ids[i], &t), LG_E_NOT_FOUND);
    assert_int_equal(lg_store_get(s, ids[6], &t), LG_OK);
    lg_task_clear(&t);
    assert_int_equal(lg_store_purge_oldest(s, 100, removed, &n), LG_OK);
    assert_int_equal(n, 7);
    int64_t counts[LG_TASK_STATE_COUNT];
    assert_int_equal(lg_store_count(s, counts), LG_OK);
    assert_int_equal(counts[LG_TASK_QUEUED], 10);
    assert_int_equal(counts[LG_TASK_COMPLETED], 0);
    /* The input of a queued task, by row number. */
    uint8_t *data;
    size_t len;
    assert_int_equal(lg_store_input(s, seqs[1], &data, &len), LG_OK);
    assert_int_equal(len, 300);
    for (size_t i = 0; i < len; i++) assert_int_equal(data[i], (uint8_t)(i * 7));
    free(data);
    assert_int_equal(lg_store_input(s, seqs[0], &data, &len), LG_E_NOT_FOUND);
    assert_true(lg_store_used_bytes(s) > 0);
    assert_true(lg_store_file_bytes(s) >= lg_store_used_bytes(s));
    assert_int_equal(lg_store_vacuum(s, 1000), LG_OK);
    assert_int_equal(lg_store_file_bytes(s), lg_store_used_bytes(s)); /* every free page returned */
    lg_store_close(s);
    remove_dir(dir);
}

static int visit_unfinished(void *arg, lg_task *t, int64_t seq)
{
    (void)seq;
    assert_null(t->input); /* a backlog is reloaded without its inputs */
    assert_int_equal(t->input_len, 300);
    (*(int *)arg)++;
    return LG_OK;
}

/* A database made without auto_vacuum (an earlier build) is converted at open, and
 * unfinished tasks come back without their inputs. */
static void test_auto_vacuum_migration(void **state)
{
    (void)state;
    char *dir = temp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/legacygpu.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA auto_vacuum=0; CREATE TABLE other(x); INSERT INTO other VALUES(1)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    lg_store *s;
    assert_int_equal(lg_store_open(dir, &s), LG_OK);
    lg_task t;
    int64_t seq;
    make_task(&t, "digits", NULL);
    assert_int_equal(lg_store_insert(s, &t, &seq), LG_OK);
    lg_task_clear(&t);
    int n = 0;
    assert_int_equal(lg_store_unfinished(s, visit_unfinished, &n), LG_OK);
    assert_int_equal(n, 1);
    lg_store_close(s);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA auto_vacuum", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 2); /* INCREMENTAL */
    sqlite3_finalize(st);
    sqlite3_close(db);
    remove_dir(dir);
}

static char fault_file[64];

static void set_fault(const char *what)
{
    FILE *f = fopen(fault_file, "w");
    assert_non_null(f);
    fputs(what, f);
    fclose(f);
}

static int submit_one(lg_coord *c, lg_submit_result *res)
{
    static const char body[] = "{\"inputs\":[]}";
    lg_submit_request req = { .model = "digits", .priority = LG_PRIO_NORMAL, .input_kind = LG_INPUT_JSON,
                              .input = (const uint8_t *)body, .input_len = sizeof body - 1 };
    return lg_coord_submit(c, &req, res);
}

/* A failed commit refuses the task (nothing queued, nothing stored), health is
 * degraded with a message for people, and a tick's probe clears it once writes work. */
static void test_store_faults(void **state)
{
    (void)state;
    if (!lg_store_faults_vfs()) skip(); /* a Release build has no fault shim */
    char *dir = temp_dir();
    lg_coord_config cfg;
    lg_coord_config_defaults(&cfg);
    cfg.data_dir = dir;
    lg_coord *c;
    assert_int_equal(lg_coord_open(&cfg, &c), LG_OK);
    lg_submit_result res;
    assert_int_equal(submit_one(c, &res), LG_OK);
    for (int k = 0; k < 2; k++) {
        set_fault(k == 0 ? "full" : "write");
        assert_int_equal(submit_one(c, &res), LG_E_IO);
        assert_true(strstr(lg_last_error(), k == 0 ? LG_COORD_STORE_FULL : "the task store cannot write") != NULL);
        assert_true(strstr(lg_last_error(), dir) != NULL);
        assert_string_equal(res.task_id, "");
        lg_coord_stats st;
        assert_int_equal(lg_coord_stats_get(c, &st), LG_OK);
        assert_true(st.store_degraded);
        assert_int_equal(st.queued_by_priority[LG_PRIO_NORMAL], 1); /* the refused task is not queued */
        assert_int_equal(st.tasks_by_state[LG_TASK_QUEUED], 1);
        assert_int_equal(st.rejected_total[k == 0 ? LG_REJECT_STORE_FULL : LG_REJECT_STORE_ERROR], 1);
        lg_coord_tick(c); /* the probe fails too */
        assert_int_equal(lg_coord_stats_get(c, &st), LG_OK);
        assert_true(st.store_degraded);
        set_fault("");
        lg_coord_tick(c);
        assert_int_equal(lg_coord_stats_get(c, &st), LG_OK);
        assert_false(st.store_degraded);
    }
    assert_int_equal(submit_one(c, &res), LG_OK);
    lg_coord_close(c);
    /* Only the two accepted tasks were stored. */
    assert_int_equal(lg_coord_open(&cfg, &c), LG_OK);
    lg_coord_stats st;
    assert_int_equal(lg_coord_stats_get(c, &st), LG_OK);
    assert_int_equal(st.tasks_by_state[LG_TASK_QUEUED], 2);
    lg_coord_close(c);
    remove_dir(dir);
}

int main(void)
{
    /* The fault shim reads its control file's name once, at the first store opened. */
    snprintf(fault_file, sizeof fault_file, "/tmp/lg_store_faults_%d", (int)getpid());
    set_fault("");
    setenv("LEGACYGPU_STORE_FAULTS", fault_file, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_requirements_json),
        cmocka_unit_test(test_reopen_requeues),
        cmocka_unit_test(test_kill9_recovery),
        cmocka_unit_test(test_purge_oldest_and_inputs),
        cmocka_unit_test(test_auto_vacuum_migration),
        cmocka_unit_test(test_store_faults),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(fault_file);
    return rc;
}
