/*
 * store.h: the durable task table in SQLite (WAL, synchronous=NORMAL: every commit
 * survives kill -9 of the process). One row per task with every lg_task field and the
 * input as a BLOB in a table of its own (state changes never rewrite it); the
 * idempotency key is unique. Each call is its own
 * transaction (autocommit) unless the caller brackets several with begin/commit. Not
 * thread-safe: the coordinator serialises calls. Schema version in PRAGMA user_version.
 *
 *   lg_store *s;
 *   lg_store_open("data", &s);              // NULL: in memory
 *   lg_store_insert(s, &task, &seq);
 *   task.state = LG_TASK_COMPLETED; lg_store_update(s, &task);
 */
#ifndef LG_CLUSTER_STORE_H
#define LG_CLUSTER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/task.h"

#define LG_STORE_SCHEMA_VERSION 1

typedef struct lg_store lg_store;

/* Creates data_dir (and parents) if needed and opens data_dir/legacygpu.db. */
int lg_store_open(const char *data_dir, lg_store **out);
void lg_store_close(lg_store *s);

int lg_store_begin(lg_store *s);
int lg_store_commit(lg_store *s);
int lg_store_rollback(lg_store *s);

/* Inserts a new task (two rows: bracket it in a transaction); *seq receives its row
 * number (acceptance order). */
int lg_store_insert(lg_store *s, const lg_task *t, int64_t *seq);
/* Writes the mutable fields: state, attempts, worker_id, the four times, result, error. */
int lg_store_update(lg_store *s, const lg_task *t);
/* Full copy with input; LG_E_NOT_FOUND. */
int lg_store_get(lg_store *s, const char *id, lg_task *out);
/* The task holding idempotency key (without input); LG_E_NOT_FOUND. */
int lg_store_find_key(lg_store *s, const char *key, lg_task *out);

/* Called per row; t is owned by the store (valid during the call) unless the visitor
 * takes it over by zeroing it. A non-LG_OK return stops the walk and is returned. */
typedef int (*lg_store_visit)(void *arg, lg_task *t, int64_t seq);

/* Tasks with seq < before_seq (0: no bound), newest first, of one state (-1: any), at
 * most limit; without input (input NULL, input_len its size). *count: rows visited. */
int lg_store_list(lg_store *s, int state, int64_t before_seq, int limit, lg_store_visit visit, void *arg,
                  int *count);
/* Every task in QUEUED/DISPATCHED/RUNNING, oldest first, without input (input NULL,
 * input_len its size: read it with lg_store_input when it is needed). */
int lg_store_unfinished(lg_store *s, lg_store_visit visit, void *arg);
/* Task counts per state. */
int lg_store_count(lg_store *s, int64_t counts[LG_TASK_STATE_COUNT]);
/* Deletes final tasks finished before t; removed[state] += rows deleted. */
int lg_store_purge(lg_store *s, double before, int64_t removed[LG_TASK_STATE_COUNT]);
/* Deletes up to limit final tasks, those finished first; removed[state] += rows,
 * *n: rows deleted. Queued and running tasks are never touched. */
int lg_store_purge_oldest(lg_store *s, int limit, int64_t removed[LG_TASK_STATE_COUNT], int *n);
/* The input of the task with row number seq (malloc'd, NUL-terminated past len). */
int lg_store_input(lg_store *s, int64_t seq, uint8_t **data, size_t *len);
/* Bytes in use (pages not on the free list) and bytes of the main file; -1 on error. */
int64_t lg_store_used_bytes(lg_store *s);
int64_t lg_store_file_bytes(lg_store *s);
/* Returns up to max_pages free pages to the file system (auto_vacuum=INCREMENTAL). */
int lg_store_vacuum(lg_store *s, int64_t max_pages);
/* True inside a transaction (SQLite rolls some failures back by itself). */
bool lg_store_in_transaction(lg_store *s);
/* A small write (the schema version, unchanged): probes whether writes work again. */
int lg_store_touch(lg_store *s);
/* True when the last failure was SQLITE_FULL (the disk or the file system is full). */
bool lg_store_full(lg_store *s);

#endif
