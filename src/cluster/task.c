/*
 * task.c: the task vocabulary: state and priority names, requirements as JSON, UUIDs,
 * the wall clock, and freeing a task record.
 */
#include "cluster/task.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "base/error.h"

static const char *const state_names[LG_TASK_STATE_COUNT] = {
    "QUEUED", "DISPATCHED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT",
};

static const char *const priority_names[LG_PRIO_COUNT] = { "LOW", "NORMAL", "HIGH", "CRITICAL" };

const char *lg_task_state_name(lg_task_state s)
{
    return (unsigned)s < LG_TASK_STATE_COUNT ? state_names[s] : NULL;
}

int lg_task_state_parse(const char *s, lg_task_state *out)
{
    for (int i = 0; s && i < LG_TASK_STATE_COUNT; i++)
        if (strcasecmp(s, state_names[i]) == 0) {
            *out = (lg_task_state)i;
            return LG_OK;
        }
    return lg_error(LG_E_INVALID_ARG,
                    "unknown task state '%s' (valid: QUEUED, DISPATCHED, RUNNING, COMPLETED, FAILED, CANCELLED, "
                    "TIMED_OUT)",
                    s ? s : "(null)");
}

bool lg_task_state_final(lg_task_state s)
{
    return s == LG_TASK_COMPLETED || s == LG_TASK_FAILED || s == LG_TASK_CANCELLED || s == LG_TASK_TIMED_OUT;
}

const char *lg_priority_name(lg_priority p)
{
    return (unsigned)p < LG_PRIO_COUNT ? priority_names[p] : NULL;
}

int lg_priority_parse(const char *s, lg_priority *out)
{
    for (int i = 0; s && i < LG_PRIO_COUNT; i++)
        if (strcasecmp(s, priority_names[i]) == 0) {
            *out = (lg_priority)i;
            return LG_OK;
        }
    return lg_error(LG_E_INVALID_ARG, "unknown priority '%s' (valid: LOW, NORMAL, HIGH, CRITICAL)",
                    s ? s : "(null)");
}

/* ---- requirements ------------------------------------------------------------------ */

static int add_tag(lg_requirements *r, const char *key, const char *value)
{
    if (r->n_tags >= 8) return lg_error(LG_E_INVALID_ARG, "requirements: more than 8 tags");
    char *dst = r->tags[r->n_tags];
    int n = value ? snprintf(dst, 64, "%s=%s", key, value) : snprintf(dst, 64, "%s", key);
    if (n < 0 || n >= 64) return lg_error(LG_E_INVALID_ARG, "requirements: tag '%s' longer than 63 bytes", key);
    r->n_tags++;
    return LG_OK;
}

static int copy_string(char *dst, size_t cap, const json_t *v, const char *key)
{
    if (!json_is_string(v)) return lg_error(LG_E_INVALID_ARG, "requirements: '%s' must be a string", key);
    const char *s = json_string_value(v);
    if (strlen(s) >= cap)
        return lg_error(LG_E_INVALID_ARG, "requirements: '%s' longer than %zu bytes", key, cap - 1);
    strcpy(dst, s);
    return LG_OK;
}

/* "tags": ["k=v", ...] or {"k": "v", ...}. */
static int parse_tags(lg_requirements *r, const json_t *v)
{
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (!json_is_string(e)) return lg_error(LG_E_INVALID_ARG, "requirements: tags[%zu] must be a string", i);
            LG_CHECK(add_tag(r, json_string_value(e), NULL));
        }
        return LG_OK;
    }
    if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e) {
            if (!json_is_string(e)) return lg_error(LG_E_INVALID_ARG, "requirements: tags.%s must be a string", k);
            LG_CHECK(add_tag(r, k, json_string_value(e)));
        }
        return LG_OK;
    }
    return lg_error(LG_E_INVALID_ARG, "requirements: 'tags' must be an array of \"key=value\" or an object");
}

/* Any other key becomes the tag "key=value" (strings, numbers and booleans). */
static int parse_other(lg_requirements *r, const char *key, const json_t *v)
{
    char buf[64];
    if (json_is_string(v)) return add_tag(r, key, json_string_value(v));
    if (json_is_integer(v)) snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) snprintf(buf, sizeof buf, "%g", json_real_value(v));
    else if (json_is_boolean(v)) snprintf(buf, sizeof buf, "%s", json_is_true(v) ? "true" : "false");
    else return lg_error(LG_E_INVALID_ARG, "requirements: '%s' must be a string, number or boolean", key);
    return add_tag(r, key, buf);
}

static int parse_field(lg_requirements *r, const char *key, const json_t *v)
{
    if (strcmp(key, "min_memory_mb") == 0) {
        if (!json_is_number(v) || json_number_value(v) < 0)
            return lg_error(LG_E_INVALID_ARG, "requirements: 'min_memory_mb' must be a number >= 0");
        r->min_memory_mb = (int64_t)json_number_value(v);
        return LG_OK;
    }
    if (strcmp(key, "backend") == 0) return copy_string(r->backend, sizeof r->backend, v, key);
    if (strcmp(key, "device_vendor") == 0) return copy_string(r->device_vendor, sizeof r->device_vendor, v, key);
    if (strcmp(key, "fp16") == 0) {
        if (!json_is_boolean(v) && !json_is_null(v))
            return lg_error(LG_E_INVALID_ARG, "requirements: 'fp16' must be true, false or null");
        r->fp16 = json_is_true(v) ? 1 : -1;
        return LG_OK;
    }
    if (strcmp(key, "tags") == 0) return parse_tags(r, v);
    return parse_other(r, key, v);
}

int lg_requirements_parse_json(const char *json, lg_requirements *out)
{
    memset(out, 0, sizeof *out);
    out->fp16 = -1;
    if (!json || !*json) return LG_OK;
    json_error_t err;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &err);
    if (!root) return lg_error(LG_E_INVALID_ARG, "requirements: malformed JSON at %d:%d: %s", err.line, err.column, err.text);
    int rc = LG_OK;
    if (json_is_null(root)) goto done;
    if (!json_is_object(root)) {
        rc = lg_error(LG_E_INVALID_ARG, "requirements must be a JSON object");
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        rc = parse_field(out, key, v);
        if (rc != LG_OK) break;
    }
done:
    json_decref(root);
    return rc;
}

char *lg_requirements_to_json(const lg_requirements *r)
{
    json_t *o = json_object();
    if (r->min_memory_mb > 0) json_object_set_new(o, "min_memory_mb", json_integer(r->min_memory_mb));
    if (r->backend[0]) json_object_set_new(o, "backend", json_string(r->backend));
    if (r->device_vendor[0]) json_object_set_new(o, "device_vendor", json_string(r->device_vendor));
    if (r->fp16 == 1) json_object_set_new(o, "fp16", json_true());
    if (r->n_tags > 0) {
        json_t *tags = json_array();
        for (int i = 0; i < r->n_tags; i++) json_array_append_new(tags, json_string(r->tags[i]));
        json_object_set_new(o, "tags", tags);
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

/* ---- records, ids, time ------------------------------------------------------------ */

void lg_task_clear(lg_task *t)
{
    free(t->model);
    free(t->input);
    free(t->idempotency_key);
    free(t->result);
    free(t->error);
    memset(t, 0, sizeof *t);
}

void lg_uuid4(char *id)
{
    uint8_t b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        LG_ASSERT(n > 0);
        got += (size_t)n;
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    char *p = id;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 15];
    }
    *p = '\0';
}

double lg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
