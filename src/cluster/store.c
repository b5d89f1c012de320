/*
 * store.c: the SQLite task table: schema (versioned), prepared statements, and the
 * row <-> lg_task mapping.
 */
#include "cluster/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "cluster/store_faults.h"

/* Statements prepared once at open. */
enum {
    ST_INSERT,
    ST_INSERT_INPUT,
    ST_UPDATE,
    ST_GET,
    ST_FIND_KEY,
    ST_LIST_ALL,
    ST_LIST_STATE,
    ST_UNFINISHED,
    ST_COUNT,
    ST_PURGE,
    ST_PURGE_OLDEST,
    ST_INPUT,
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST__N
};

struct lg_store {
    sqlite3 *db;
    sqlite3_stmt *st[ST__N];
    int last_rc;             /* SQLite result code of the last failure, SQLITE_OK if none */
};

static const char schema_v1[] =
    "CREATE TABLE tasks("
    " seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE,"
    " model TEXT NOT NULL,"
    " priority INTEGER NOT NULL,"
    " state INTEGER NOT NULL,"
    " requirements TEXT,"
    " input_kind INTEGER NOT NULL,"
    " timeout_s REAL NOT NULL,"
    " attempts INTEGER NOT NULL,"
    " max_attempts INTEGER NOT NULL,"
    " idempotency_key TEXT,"
    " body_hash TEXT,"
    " created_at REAL, updated_at REAL, started_at REAL, finished_at REAL,"
    " worker_id TEXT, result TEXT, error TEXT);"
    /* Inputs apart, so that state changes never rewrite them. */
    "CREATE TABLE inputs(seq INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE UNIQUE INDEX tasks_key ON tasks(idempotency_key) WHERE idempotency_key IS NOT NULL;"
    "CREATE INDEX tasks_state ON tasks(state, seq);"
    "CREATE INDEX tasks_finished ON tasks(finished_at) WHERE finished_at > 0;"
    "CREATE TRIGGER tasks_delete AFTER DELETE ON tasks BEGIN DELETE FROM inputs WHERE seq = old.seq; END;";

/* Migrations by the version they lead to; index 0 unused. */
static const char *const migrations[] = { NULL, schema_v1 };

/* The columns read back, in the order row_read expects; the last one is the input. */
#define COLS \
    "seq, id, model, priority, state, requirements, input_kind, timeout_s, attempts, max_attempts, " \
    "idempotency_key, body_hash, created_at, updated_at, started_at, finished_at, worker_id, result, error, "
#define INPUT "(SELECT data FROM inputs WHERE inputs.seq = tasks.seq)"
#define INPUT_LEN "(SELECT length(data) FROM inputs WHERE inputs.seq = tasks.seq)"

static const char *const sql[ST__N] = {
    [ST_INSERT] = "INSERT INTO tasks(id, model, priority, state, requirements, input_kind, timeout_s, attempts, "
                  "max_attempts, idempotency_key, body_hash, created_at, updated_at, started_at, finished_at, "
                  "worker_id, result, error) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,"
                  "?16,?17,?18)",
    [ST_INSERT_INPUT] = "INSERT INTO inputs(seq, data) VALUES(?1, ?2)",
    [ST_UPDATE] = "UPDATE tasks SET state=?2, attempts=?3, worker_id=?4, updated_at=?5, started_at=?6, "
                  "finished_at=?7, result=?8, error=?9 WHERE id=?1",
    [ST_GET] = "SELECT " COLS INPUT " FROM tasks WHERE id=?1",
    [ST_FIND_KEY] = "SELECT " COLS "NULL FROM tasks WHERE idempotency_key=?1",
    [ST_LIST_ALL] = "SELECT " COLS INPUT_LEN " FROM tasks WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
    [ST_LIST_STATE] = "SELECT " COLS INPUT_LEN " FROM tasks WHERE state=?3 AND seq < ?1 ORDER BY seq DESC "
                      "LIMIT ?2",
    [ST_UNFINISHED] = "SELECT " COLS INPUT_LEN " FROM tasks WHERE state IN (0, 1, 2) ORDER BY seq",
    [ST_COUNT] = "SELECT state, count(*) FROM tasks GROUP BY state",
    [ST_PURGE] = "DELETE FROM tasks WHERE state=?1 AND finished_at > 0 AND finished_at < ?2",
    [ST_PURGE_OLDEST] = "DELETE FROM tasks WHERE seq IN (SELECT seq FROM tasks WHERE finished_at > 0 AND state >= 3 "
                        "ORDER BY finished_at LIMIT ?1) RETURNING state",
    [ST_INPUT] = "SELECT data FROM inputs WHERE seq=?1",
    [ST_BEGIN] = "BEGIN",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_COMMIT] = "COMMIT",
};

static int db_error(lg_store *s, int rc, const char *what)
{
    s->last_rc = rc & 0xff;
    return lg_error(LG_E_IO, "store: %s: %s (sqlite %d)", what, s->db ? sqlite3_errmsg(s->db) : "", rc);
}

/* Runs a prepared statement that returns no rows. */
static int step_done(lg_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_DONE) return LG_OK;
    if (rc == SQLITE_CONSTRAINT) return lg_error(LG_E_INVALID_ARG, "store: %s: %s", what, sqlite3_errmsg(s->db));
    return db_error(s, rc, what);
}

static int mkdir_p(const char *dir)
{
    char path[4096];
    if (!dir[0]) return lg_error(LG_E_INVALID_ARG, "store: empty data folder path");
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return lg_error(LG_E_INVALID_ARG, "store: data folder path too long");
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return lg_error(LG_E_IO, "store: cannot create folder '%s': %s", path, strerror(errno));
        *p = c;
        if (c == '\0') return LG_OK;
    }
}

static int exec(lg_store *s, const char *text)
{
    char *msg = NULL;
    int rc = sqlite3_exec(s->db, text, NULL, NULL, &msg);
    if (rc == SQLITE_OK) return LG_OK;
    s->last_rc = rc & 0xff;
    int ret = lg_error(LG_E_IO, "store: %s: %s", text, msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return ret;
}

static int user_version(lg_store *s, int *v)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_error(s, 0, "reading the schema version");
    *v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return LG_OK;
}

/* Brings the schema from its version up to LG_STORE_SCHEMA_VERSION, one step each. */
static int migrate(lg_store *s)
{
    int v = 0;
    LG_CHECK(user_version(s, &v));
    if (v > LG_STORE_SCHEMA_VERSION)
        return lg_error(LG_E_UNSUPPORTED, "store: schema version %d is newer than this build's %d", v,
                        LG_STORE_SCHEMA_VERSION);
    for (; v < LG_STORE_SCHEMA_VERSION; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version=%d", v + 1);
        LG_CHECK(exec(s, "BEGIN"));
        int rc = exec(s, migrations[v + 1]);
        if (rc == LG_OK) rc = exec(s, bump);
        if (rc != LG_OK) {
            exec(s, "ROLLBACK");
            return rc;
        }
        LG_CHECK(exec(s, "COMMIT"));
    }
    return LG_OK;
}

static int64_t pragma_int(lg_store *s, const char *pragma)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(s->db, pragma, -1, &st, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* A database made by an earlier build has no auto_vacuum: VACUUM once to turn it on, so
 * that pages freed by purges can go back to the file system. */
static int vacuum_mode(lg_store *s)
{
    if (pragma_int(s, "PRAGMA auto_vacuum") == 2) return LG_OK;
    return exec(s, "PRAGMA auto_vacuum=INCREMENTAL; VACUUM");
}

int lg_store_open(const char *data_dir, lg_store **out)
{
    *out = NULL;
    char path[4096] = ":memory:";
    if (data_dir) {
        LG_CHECK(mkdir_p(data_dir));
        if (snprintf(path, sizeof path, "%s/legacygpu.db", data_dir) >= (int)sizeof path)
            return lg_error(LG_E_INVALID_ARG, "store: data folder path too long");
    }
    lg_store *s = calloc(1, sizeof *s);
    if (!s) return lg_error(LG_E_NOMEM, "store: no memory");
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             lg_store_faults_vfs());
    if (rc != SQLITE_OK) {
        rc = lg_error(LG_E_IO, "store: cannot open '%s': %s", path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        lg_store_close(s);
        return rc;
    }
    sqlite3_busy_timeout(s->db, 5000);
    /* auto_vacuum first: on a new file it takes effect when the first table is made. */
    rc = exec(s, "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; "
                 "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=8192; PRAGMA journal_size_limit=33554432");
    if (rc == LG_OK) rc = migrate(s);
    if (rc == LG_OK) rc = vacuum_mode(s);
    for (int i = 0; rc == LG_OK && i < ST__N; i++)
        if (sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK)
            rc = db_error(s, 0, sql[i]);
    if (rc != LG_OK) {
        lg_error_prefix(rc, "%s", path);
        lg_store_close(s);
        return rc;
    }
    *out = s;
    return LG_OK;
}

void lg_store_close(lg_store *s)
{
    if (!s) return;
    for (int i = 0; i < ST__N; i++) sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    free(s);
}

int lg_store_begin(lg_store *s)
{
    return step_done(s, s->st[ST_BEGIN], "begin");
}

int lg_store_commit(lg_store *s)
{
    return step_done(s, s->st[ST_COMMIT], "commit");
}

int lg_store_rollback(lg_store *s)
{
    return step_done(s, s->st[ST_ROLLBACK], "rollback");
}

/* ---- rows ---------------------------------------------------------------------------- */

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v && *v) sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, i);
}

int lg_store_insert(lg_store *s, const lg_task *t, int64_t *seq)
{
    sqlite3_stmt *st = s->st[ST_INSERT];
    char *req = lg_requirements_to_json(&t->req);
    if (!req) return lg_error(LG_E_NOMEM, "store: no memory");
    sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, t->model, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, t->priority);
    sqlite3_bind_int(st, 4, t->state);
    sqlite3_bind_text(st, 5, req, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, t->input_kind);
    sqlite3_bind_double(st, 7, t->timeout_s);
    sqlite3_bind_int(st, 8, t->attempts);
    sqlite3_bind_int(st, 9, t->max_attempts);
    bind_text(st, 10, t->idempotency_key);
    bind_text(st, 11, t->body_hash);
    sqlite3_bind_double(st, 12, t->created_at);
    sqlite3_bind_double(st, 13, t->updated_at);
    sqlite3_bind_double(st, 14, t->started_at);
    sqlite3_bind_double(st, 15, t->finished_at);
    bind_text(st, 16, t->worker_id);
    bind_text(st, 17, t->result);
    bind_text(st, 18, t->error);
    int rc = step_done(s, st, "inserting a task");
    free(req);
    if (rc != LG_OK) return rc;
    *seq = sqlite3_last_insert_rowid(s->db);
    st = s->st[ST_INSERT_INPUT];
    sqlite3_bind_int64(st, 1, *seq);
    sqlite3_bind_blob64(st, 2, t->input ? (const void *)t->input : "", t->input_len, SQLITE_STATIC);
    return step_done(s, st, "inserting a task's input");
}

int lg_store_update(lg_store *s, const lg_task *t)
{
    sqlite3_stmt *st = s->st[ST_UPDATE];
    sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, t->state);
    sqlite3_bind_int(st, 3, t->attempts);
    bind_text(st, 4, t->worker_id);
    sqlite3_bind_double(st, 5, t->updated_at);
    sqlite3_bind_double(st, 6, t->started_at);
    sqlite3_bind_double(st, 7, t->finished_at);
    bind_text(st, 8, t->result);
    bind_text(st, 9, t->error);
    return step_done(s, st, "updating a task");
}

static char *column_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    return v ? strdup((const char *)v) : NULL;
}

static void column_copy(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    snprintf(dst, cap, "%s", v ? (const char *)v : "");
}

/* Fills t from the current row (COLS order); the last column is the input blob when
 * with_input, else its length. */
static int row_read(sqlite3_stmt *st, lg_task *t, int64_t *seq, bool with_input)
{
    memset(t, 0, sizeof *t);
    *seq = sqlite3_column_int64(st, 0);
    column_copy(st, 1, t->id, sizeof t->id);
    t->model = column_dup(st, 2);
    t->priority = (lg_priority)sqlite3_column_int(st, 3);
    t->state = (lg_task_state)sqlite3_column_int(st, 4);
    int rc = lg_requirements_parse_json((const char *)sqlite3_column_text(st, 5), &t->req);
    t->input_kind = (lg_input_kind)sqlite3_column_int(st, 6);
    t->timeout_s = sqlite3_column_double(st, 7);
    t->attempts = sqlite3_column_int(st, 8);
    t->max_attempts = sqlite3_column_int(st, 9);
    t->idempotency_key = column_dup(st, 10);
    column_copy(st, 11, t->body_hash, sizeof t->body_hash);
    t->created_at = sqlite3_column_double(st, 12);
    t->updated_at = sqlite3_column_double(st, 13);
    t->started_at = sqlite3_column_double(st, 14);
    t->finished_at = sqlite3_column_double(st, 15);
    column_copy(st, 16, t->worker_id, sizeof t->worker_id);
    t->result = column_dup(st, 17);
    t->error = column_dup(st, 18);
    if (with_input) {
        t->input_len = (size_t)sqlite3_column_bytes(st, 19);
        t->input = malloc(t->input_len + 1);
        if (t->input) memcpy(t->input, sqlite3_column_blob(st, 19) ? sqlite3_column_blob(st, 19) : "", t->input_len);
        else rc = lg_error(LG_E_NOMEM, "store: no memory for an input of %zu bytes", t->input_len);
    } else {
        t->input_len = (size_t)sqlite3_column_int64(st, 19);
    }
    if (rc == LG_OK && !t->model) rc = lg_error(LG_E_NOMEM, "store: no memory");
    if (rc != LG_OK) lg_task_clear(t);
    return rc;
}

/* Steps st, calling visit per row; resets st. */
static int walk(lg_store *s, sqlite3_stmt *st, bool with_input, lg_store_visit visit, void *arg, int *count)
{
    int rc = LG_OK, n = 0, step = SQLITE_DONE;
    while (rc == LG_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        lg_task t;
        int64_t seq;
        rc = row_read(st, &t, &seq, with_input);
        if (rc != LG_OK) break;
        n++;
        rc = visit(arg, &t, seq);
        lg_task_clear(&t);
    }
    if (rc == LG_OK && step != SQLITE_DONE) rc = db_error(s, step, "reading tasks");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (count) *count = n;
    return rc;
}

/* One row into *out (taken over from the walk). */
static int take_one(void *arg, lg_task *t, int64_t seq)
{
    (void)seq;
    *(lg_task *)arg = *t;
    memset(t, 0, sizeof *t);
    return LG_OK;
}

static int get_one(lg_store *s, sqlite3_stmt *st, bool with_input, lg_task *out, const char *what, const char *key)
{
    memset(out, 0, sizeof *out);
    int n = 0;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    LG_CHECK(walk(s, st, with_input, take_one, out, &n));
    return n ? LG_OK : lg_error(LG_E_NOT_FOUND, "no task with %s '%s'", what, key);
}

int lg_store_get(lg_store *s, const char *id, lg_task *out)
{
    return get_one(s, s->st[ST_GET], true, out, "id", id);
}

int lg_store_find_key(lg_store *s, const char *key, lg_task *out)
{
    return get_one(s, s->st[ST_FIND_KEY], false, out, "idempotency key", key);
}

int lg_store_list(lg_store *s, int state, int64_t before_seq, int limit, lg_store_visit visit, void *arg, int *count)
{
    sqlite3_stmt *st = s->st[state < 0 ? ST_LIST_ALL : ST_LIST_STATE];
    sqlite3_bind_int64(st, 1, before_seq > 0 ? before_seq : INT64_MAX);
    sqlite3_bind_int(st, 2, limit);
    if (state >= 0) sqlite3_bind_int(st, 3, state);
    return walk(s, st, false, visit, arg, count);
}

int lg_store_unfinished(lg_store *s, lg_store_visit visit, void *arg)
{
    return walk(s, s->st[ST_UNFINISHED], false, visit, arg, NULL);
}

int lg_store_count(lg_store *s, int64_t counts[LG_TASK_STATE_COUNT])
{
    sqlite3_stmt *st = s->st[ST_COUNT];
    memset(counts, 0, sizeof(int64_t) * LG_TASK_STATE_COUNT);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int state = sqlite3_column_int(st, 0);
        if (state >= 0 && state < LG_TASK_STATE_COUNT) counts[state] = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return step == SQLITE_DONE ? LG_OK : db_error(s, step, "counting tasks");
}

int lg_store_purge(lg_store *s, double before, int64_t removed[LG_TASK_STATE_COUNT])
{
    sqlite3_stmt *st = s->st[ST_PURGE];
    for (int state = 0; state < LG_TASK_STATE_COUNT; state++) {
        if (!lg_task_state_final((lg_task_state)state)) continue;
        sqlite3_bind_int(st, 1, state);
        sqlite3_bind_double(st, 2, before);
        LG_CHECK(step_done(s, st, "purging tasks"));
        removed[state] += sqlite3_changes(s->db);
    }
    return LG_OK;
}

int lg_store_purge_oldest(lg_store *s, int limit, int64_t removed[LG_TASK_STATE_COUNT], int *n)
{
    sqlite3_stmt *st = s->st[ST_PURGE_OLDEST];
    sqlite3_bind_int(st, 1, limit);
    int step, k = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int state = sqlite3_column_int(st, 0);
        if (state >= 0 && state < LG_TASK_STATE_COUNT) removed[state]++;
        k++;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    *n = k;
    return step == SQLITE_DONE ? LG_OK : db_error(s, step, "purging the oldest finished tasks");
}

int lg_store_input(lg_store *s, int64_t seq, uint8_t **data, size_t *len)
{
    sqlite3_stmt *st = s->st[ST_INPUT];
    *data = NULL;
    *len = 0;
    sqlite3_bind_int64(st, 1, seq);
    int step = sqlite3_step(st), rc = LG_OK;
    if (step == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        const void *blob = sqlite3_column_blob(st, 0);
        *data = malloc(n + 1);
        if (*data) {
            if (n) memcpy(*data, blob, n);
            *len = n;
        } else {
            rc = lg_error(LG_E_NOMEM, "store: no memory for an input of %zu bytes", n);
        }
    } else if (step == SQLITE_DONE) {
        rc = lg_error(LG_E_NOT_FOUND, "store: no input for task #%lld", (long long)seq);
    } else {
        rc = db_error(s, step, "reading a task's input");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

int64_t lg_store_used_bytes(lg_store *s)
{
    int64_t pages = pragma_int(s, "PRAGMA page_count"), free_pages = pragma_int(s, "PRAGMA freelist_count");
    int64_t size = pragma_int(s, "PRAGMA page_size");
    if (pages < 0 || free_pages < 0 || size < 0) return -1;
    return (pages - free_pages) * size;
}

int64_t lg_store_file_bytes(lg_store *s)
{
    int64_t pages = pragma_int(s, "PRAGMA page_count"), size = pragma_int(s, "PRAGMA page_size");
    return pages < 0 || size < 0 ? -1 : pages * size;
}

int lg_store_vacuum(lg_store *s, int64_t max_pages)
{
    char text[64];
    snprintf(text, sizeof text, "PRAGMA incremental_vacuum(%lld)", (long long)max_pages);
    return exec(s, text);
}

bool lg_store_in_transaction(lg_store *s)
{
    return sqlite3_get_autocommit(s->db) == 0;
}

bool lg_store_full(lg_store *s)
{
    return s->last_rc == SQLITE_FULL;
}

int lg_store_touch(lg_store *s)
{
    int v = 0;
    LG_CHECK(user_version(s, &v));
    char text[64];
    snprintf(text, sizeof text, "PRAGMA user_version=%d", v);
    return exec(s, text);
}
