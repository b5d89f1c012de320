/*
 * task.h: what a task is: states, priorities, requirements, and the record the store
 * keeps for each one. Shared by the coordinator core, the store, the REST API, the
 * wire protocol and the CLI.
 *
 *   lg_task_state st;
 *   if (lg_task_state_parse("COMPLETED", &st) == LG_OK && lg_task_state_final(st)) ...
 *   printf("%s\n", lg_priority_name(LG_PRIO_HIGH));        // "HIGH"
 */
#ifndef LG_CLUSTER_TASK_H
#define LG_CLUSTER_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum lg_task_state {
    LG_TASK_QUEUED = 0,
    LG_TASK_DISPATCHED,  /* sent to a worker, not yet acknowledged as running */
    LG_TASK_RUNNING,
    LG_TASK_COMPLETED,
    LG_TASK_FAILED,
    LG_TASK_CANCELLED,
    LG_TASK_TIMED_OUT,
    LG_TASK_STATE_COUNT
} lg_task_state;

typedef enum lg_priority {
    LG_PRIO_LOW = 0,
    LG_PRIO_NORMAL = 1,
    LG_PRIO_HIGH = 2,
    LG_PRIO_CRITICAL = 3,
    LG_PRIO_COUNT
} lg_priority;

/* "QUEUED", ...; NULL for an invalid value. */
const char *lg_task_state_name(lg_task_state s);
/* Case-insensitive; LG_E_INVALID_ARG (with the valid names in the message) if unknown. */
int lg_task_state_parse(const char *s, lg_task_state *out);
/* COMPLETED, FAILED, CANCELLED, TIMED_OUT. */
bool lg_task_state_final(lg_task_state s);
const char *lg_priority_name(lg_priority p);
int lg_priority_parse(const char *s, lg_priority *out);

/* What a worker must offer to run a task. Zero / NULL / -1 fields ask for nothing. */
typedef struct lg_requirements {
    int64_t min_memory_mb;   /* device memory, 0: any */
    char backend[16];        /* "cpu", "vulkan", "" any */
    char device_vendor[32];  /* "amd", "nvidia", "intel", "" any (case-insensitive) */
    int fp16;                /* -1 any, 1 required */
    int n_tags;
    char tags[8][64];        /* "key=value": the worker must carry each */
} lg_requirements;

/* Parses the "requirements" JSON object text (NULL/"" = none). Unknown keys become
 * tags "key=value". LG_E_INVALID_ARG names the bad field. */
int lg_requirements_parse_json(const char *json, lg_requirements *out);
/* Canonical JSON text of r (malloc'd). */
char *lg_requirements_to_json(const lg_requirements *r);

/* Input encodings a task may carry (the API accepts all, the worker decodes). */
typedef enum lg_input_kind {
    LG_INPUT_JSON = 0,   /* KServe v2 JSON: {"inputs": [{"name","shape","datatype","data"}]} */
    LG_INPUT_IMAGE = 1,  /* encoded image bytes (JPEG/PNG), preprocessed per the model config */
    LG_INPUT_NPY = 2,    /* one .npy tensor for the model's first input */
    LG_INPUT_PB = 3,     /* one ONNX TensorProto for the model's first input */
} lg_input_kind;

#define LG_TASK_ID_LEN 36 /* canonical UUID text, without the NUL */

/* One task as the store keeps it. Strings and blobs are malloc'd; lg_task_clear frees. */
typedef struct lg_task {
    char id[LG_TASK_ID_LEN + 1];
    char *model;
    lg_priority priority;
    lg_task_state state;
    lg_requirements req;
    lg_input_kind input_kind;
    uint8_t *input;          /* the input payload (JSON text, image or tensor bytes) */
    size_t input_len;
    double timeout_s;        /* 0: none; from acceptance to a final state */
    int attempts;            /* dispatches so far */
    int max_attempts;
    char *idempotency_key;   /* or NULL */
    char body_hash[65];      /* sha-256 hex of the submitted body (idempotency checks) */
    double created_at, updated_at, started_at, finished_at; /* Unix seconds, 0 = not yet */
    char worker_id[64];      /* last worker it was given to, "" none */
    char *result;            /* JSON text of the result body (COMPLETED), or NULL */
    char *error;             /* reasons of failure(s), newline separated, or NULL */
} lg_task;

void lg_task_clear(lg_task *t);
/* New random (v4) UUID text into id (LG_TASK_ID_LEN + 1 bytes). */
void lg_uuid4(char *id);
/* Wall clock in Unix seconds with sub-second precision. */
double lg_now(void);

#endif
