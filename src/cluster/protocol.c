/*
 * protocol.c: the message table of the coordinator <-> worker protocol, and the
 * checked encoder and decoder (frame layout in protocol.h, messages in docs/protocol.md).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "cluster/protocol.h"

typedef enum field_kind { F_STR, F_INT, F_NUM } field_kind;

typedef struct field_def {
    const char *key;
    field_kind kind;
    size_t max_len; /* strings: longest accepted text */
} field_def;

#define MAX_FIELDS 4

typedef struct msg_def {
    const char *name;
    int min_blobs, max_blobs;
    size_t max_blob;                 /* bytes per payload */
    field_def required[MAX_FIELDS];  /* ends at the first NULL key */
} msg_def;

#define ID_MAX 63
#define NAME_MAX_ 63
#define TEXT_MAX 65536

static const msg_def defs[LG_MSG_COUNT] = {
    [LG_MSG_HELLO] = { "HELLO", 0, 0, 0, { { "id", F_STR, ID_MAX }, { "capacity", F_INT, 0 } } },
    [LG_MSG_WELCOME] = { "WELCOME", 0, 0, 0,
                         { { "worker_id", F_STR, ID_MAX }, { "heartbeat_interval_s", F_NUM, 0 } } },
    [LG_MSG_HEARTBEAT] = { "HEARTBEAT", 0, 0, 0, { { NULL, F_STR, 0 } } },
    [LG_MSG_TASK] = { "TASK", 1, 1, LG_PROTO_MAX_PAYLOAD,
                      { { "id", F_STR, LG_TASK_ID_LEN }, { "model", F_STR, NAME_MAX_ },
                        { "input_kind", F_INT, 0 }, { "timeout_s", F_NUM, 0 } } },
    [LG_MSG_STARTED] = { "STARTED", 0, 0, 0, { { "id", F_STR, LG_TASK_ID_LEN } } },
    [LG_MSG_RESULT] = { "RESULT", 1, 1, LG_PROTO_MAX_PAYLOAD,
                        { { "id", F_STR, LG_TASK_ID_LEN }, { "service_s", F_NUM, 0 } } },
    [LG_MSG_FAILURE] = { "FAILURE", 0, 0, 0,
                         { { "id", F_STR, LG_TASK_ID_LEN }, { "reason", F_STR, TEXT_MAX } } },
    [LG_MSG_MODEL_REQUEST] = { "MODEL_REQUEST", 0, 0, 0, { { "name", F_STR, NAME_MAX_ } } },
    [LG_MSG_MODEL] = { "MODEL", 2, 2, LG_PROTO_MAX_PAYLOAD,
                       { { "name", F_STR, NAME_MAX_ }, { "sha256", F_STR, 64 } } },
    [LG_MSG_MODEL_ERROR] = { "MODEL_ERROR", 0, 0, 0,
                             { { "name", F_STR, NAME_MAX_ }, { "message", F_STR, TEXT_MAX } } },
    [LG_MSG_BYE] = { "BYE", 0, 0, 0, { { NULL, F_STR, 0 } } },
    [LG_MSG_ERROR] = { "ERROR", 0, 0, 0, { { "code", F_STR, 64 }, { "message", F_STR, TEXT_MAX } } },
};

static const char *kind_names[] = { [F_STR] = "a string", [F_INT] = "an integer", [F_NUM] = "a number" };

const char *lg_msg_type_name(lg_msg_type t)
{
    return (unsigned)t < LG_MSG_COUNT ? defs[t].name : NULL;
}

/* Frame text for messages: printable prefix, at most 16 characters. */
static void frame_text(const lg_frame *f, char *buf, size_t cap)
{
    size_t n = f->len < 16 ? f->len : 16, o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        unsigned char ch = ((const unsigned char *)f->data)[i];
        o += (size_t)snprintf(buf + o, cap - o, ch >= 32 && ch < 127 ? "%c" : "\\x%02x", ch);
    }
    buf[o] = 0;
    if (f->len > n && o + 4 < cap) strcat(buf, "...");
}

static bool field_ok(const json_t *v, field_kind k)
{
    switch (k) {
    case F_STR: return json_is_string(v);
    case F_INT: return json_is_integer(v);
    case F_NUM: return json_is_number(v);
    }
    return false;
}

static int check_fields(const msg_def *d, const json_t *meta)
{
    for (int i = 0; i < MAX_FIELDS && d->required[i].key; i++) {
        const field_def *f = &d->required[i];
        const json_t *v = json_object_get(meta, f->key);
        if (!v) return lg_error(LG_E_PARSE, "protocol: %s without field '%s'", d->name, f->key);
        if (!field_ok(v, f->kind))
            return lg_error(LG_E_PARSE, "protocol: %s field '%s' is not %s", d->name, f->key, kind_names[f->kind]);
        if (f->kind == F_STR && (json_string_length(v) == 0 || json_string_length(v) > f->max_len))
            return lg_error(LG_E_PARSE, "protocol: %s field '%s' has %zu characters (1 to %zu allowed)", d->name,
                            f->key, json_string_length(v), f->max_len);
    }
    return LG_OK;
}

int lg_proto_decode(const lg_frame *fr, int n, lg_msg *out)
{
    memset(out, 0, sizeof(*out));
    char text[80];
    if (n < 1) return lg_error(LG_E_PARSE, "protocol: empty message");
    if (fr[0].len != strlen(LG_PROTO_VERSION) || memcmp(fr[0].data, LG_PROTO_VERSION, fr[0].len) != 0) {
        frame_text(&fr[0], text, sizeof(text));
        return lg_error(LG_E_UNSUPPORTED, "protocol: version '%s' is not supported (this side speaks %s)", text,
                        LG_PROTO_VERSION);
    }
    if (n < 3) return lg_error(LG_E_PARSE, "protocol: %d frames, at least 3 needed (version, type, JSON)", n);
    int type = -1;
    for (int t = 0; t < LG_MSG_COUNT; t++)
        if (fr[1].len == strlen(defs[t].name) && memcmp(fr[1].data, defs[t].name, fr[1].len) == 0) type = t;
    if (type < 0) {
        frame_text(&fr[1], text, sizeof(text));
        return lg_error(LG_E_PARSE, "protocol: unknown message type '%s'", text);
    }
    const msg_def *d = &defs[type];
    int blobs = n - 3;
    if (blobs < d->min_blobs || blobs > d->max_blobs)
        return lg_error(LG_E_PARSE, "protocol: %s with %d payload frames (%d to %d expected)", d->name, blobs,
                        d->min_blobs, d->max_blobs);
    if (fr[2].len > LG_PROTO_MAX_META)
        return lg_error(LG_E_LIMIT, "protocol: %s metadata of %zu bytes (limit %zu)", d->name, fr[2].len,
                        LG_PROTO_MAX_META);
    for (int i = 0; i < blobs; i++)
        if (fr[3 + i].len > d->max_blob)
            return lg_error(LG_E_LIMIT, "protocol: %s payload %d of %zu bytes (limit %zu)", d->name, i,
                            fr[3 + i].len, d->max_blob);
    json_error_t jerr;
    json_t *meta = json_loadb(fr[2].data, fr[2].len, JSON_REJECT_DUPLICATES, &jerr);
    if (!meta) return lg_error(LG_E_PARSE, "protocol: %s metadata is not JSON: %s", d->name, jerr.text);
    if (!json_is_object(meta)) {
        json_decref(meta);
        return lg_error(LG_E_PARSE, "protocol: %s metadata is not a JSON object", d->name);
    }
    int rc = check_fields(d, meta);
    if (rc != LG_OK) {
        json_decref(meta);
        return rc;
    }
    out->type = (lg_msg_type)type;
    out->meta = meta;
    out->n_blobs = blobs;
    for (int i = 0; i < blobs; i++) {
        out->blob[i] = fr[3 + i].data;
        out->blob_len[i] = fr[3 + i].len;
    }
    return LG_OK;
}

void lg_msg_clear(lg_msg *m)
{
    json_decref(m->meta);
    memset(m, 0, sizeof(*m));
}

const char *lg_proto_str(const lg_msg *m, const char *key)
{
    const char *s = json_string_value(json_object_get(m->meta, key));
    return s ? s : "";
}

double lg_proto_num(const lg_msg *m, const char *key, double def)
{
    const json_t *v = json_object_get(m->meta, key);
    return json_is_number(v) ? json_number_value(v) : def;
}

int64_t lg_proto_int(const lg_msg *m, const char *key, int64_t def)
{
    const json_t *v = json_object_get(m->meta, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

int lg_proto_recv(void *sock, lg_rx *rx)
{
    rx->n = rx->total = 0;
    for (;;) {
        zmq_msg_t *p = &rx->part[rx->n < LG_PROTO_MAX_FRAMES + 1 ? rx->n : LG_PROTO_MAX_FRAMES];
        if (rx->n == LG_PROTO_MAX_FRAMES + 1) zmq_msg_close(p); /* past the kept parts: reuse the last slot */
        else rx->n++;
        zmq_msg_init(p);
        if (zmq_msg_recv(p, sock, ZMQ_DONTWAIT) < 0) {
            int err = zmq_errno(), total = rx->total;
            lg_rx_close(rx);
            if (total == 0 && err == EAGAIN) return LG_E_NOT_FOUND;
            return lg_error(LG_E_IO, "protocol: receive failed: %s", zmq_strerror(err));
        }
        rx->total++;
        if (!zmq_msg_more(p)) return LG_OK;
    }
}

void lg_rx_close(lg_rx *rx)
{
    for (int i = 0; i < rx->n; i++) zmq_msg_close(&rx->part[i]);
    rx->n = rx->total = 0;
}

int lg_rx_decode(lg_rx *rx, int first, lg_msg *out)
{
    memset(out, 0, sizeof(*out));
    if (rx->total > LG_PROTO_MAX_FRAMES + first)
        return lg_error(LG_E_PARSE, "protocol: %d frames, at most %d", rx->total - first, LG_PROTO_MAX_FRAMES);
    lg_frame fr[LG_PROTO_MAX_FRAMES];
    int n = 0;
    for (int i = first; i < rx->total; i++, n++) {
        fr[n].data = zmq_msg_data(&rx->part[i]);
        fr[n].len = zmq_msg_size(&rx->part[i]);
    }
    return lg_proto_decode(fr, n, out);
}

static int send_part(void *sock, const void *data, size_t len, int more)
{
    if (zmq_send(sock, data, len, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) >= 0) return LG_OK;
    int err = zmq_errno();
    return lg_error(LG_E_IO, "protocol: send failed: %s",
                    err == EHOSTUNREACH ? "peer unreachable"
                    : err == EAGAIN     ? "peer queue full or not connected"
                                        : zmq_strerror(err));
}

int lg_proto_send(void *sock, const void *rid, size_t rid_len, lg_msg_type t, json_t *meta, int n,
                  const lg_frame *blobs)
{
    LG_ASSERT((unsigned)t < LG_MSG_COUNT && n >= 0 && n <= LG_PROTO_MAX_BLOBS);
    char text[512];
    char *big = NULL;
    json_t *obj = meta ? meta : json_object();
    size_t len = json_dumpb(obj, text, sizeof(text), JSON_COMPACT);
    if (len > sizeof(text)) {
        big = json_dumps(obj, JSON_COMPACT);
        len = big ? strlen(big) : 0;
    }
    json_decref(obj);
    if (len == 0) return lg_error(LG_E_NOMEM, "protocol: cannot encode %s metadata", defs[t].name);
    int rc = rid_len ? send_part(sock, rid, rid_len, 1) : LG_OK;
    /* Once the first part is queued the rest of a multipart message cannot fail. */
    if (rc == LG_OK) rc = send_part(sock, LG_PROTO_VERSION, strlen(LG_PROTO_VERSION), 1);
    if (rc == LG_OK) rc = send_part(sock, defs[t].name, strlen(defs[t].name), 1);
    if (rc == LG_OK) rc = send_part(sock, big ? big : text, len, n > 0);
    for (int i = 0; i < n && rc == LG_OK; i++) rc = send_part(sock, blobs[i].data, blobs[i].len, i + 1 < n);
    free(big);
    return rc;
}

int lg_proto_send_error(void *sock, const void *rid, size_t rid_len, const char *code, const char *message)
{
    return lg_proto_send(sock, rid, rid_len, LG_MSG_ERROR, json_pack("{s:s, s:s}", "code", code, "message", message),
                         0, NULL);
}

/* ---- worker info --------------------------------------------------------------------- */

static json_t *str_array(int n, const char (*items)[64], size_t width)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_stringn(items[i], strnlen(items[i], width)));
    return a;
}

json_t *lg_proto_worker_info_to_json(const lg_worker_info *w)
{
    json_t *backends = json_array();
    for (int i = 0; i < w->n_backends; i++) json_array_append_new(backends, json_string(w->backends[i]));
    json_t *devices = json_array();
    for (int i = 0; i < w->n_devices; i++) {
        const lg_device_info *d = &w->devices[i];
        json_array_append_new(devices, json_pack("{s:s, s:s, s:s, s:I, s:b, s:b}", "name", d->name, "vendor", d->vendor,
                                                 "backend", d->backend, "memory_mb", (json_int_t)d->memory_mb,
                                                 "fp16", d->fp16, "healthy", !d->unhealthy));
    }
    return json_pack("{s:s, s:s, s:o, s:o, s:i, s:i, s:o, s:o}", "id", w->id, "host", w->host, "backends", backends,
                     "devices", devices, "cpu_threads", w->cpu_threads, "capacity", w->capacity, "models",
                     str_array(w->n_models, w->models, 64), "tags", str_array(w->n_tags, w->tags, 64));
}

/* Copies string v into dst[cap]; LG_E_PARSE naming the field if it is not one or too long. */
static int copy_str(const json_t *v, char *dst, size_t cap, const char *field)
{
    if (!v) return LG_OK;
    if (!json_is_string(v)) return lg_error(LG_E_PARSE, "protocol: HELLO field '%s' is not a string", field);
    size_t len = json_string_length(v);
    if (len >= cap)
        return lg_error(LG_E_PARSE, "protocol: HELLO field '%s' has %zu characters (at most %zu)", field, len,
                        cap - 1);
    memcpy(dst, json_string_value(v), len + 1);
    return LG_OK;
}

/* An array of strings into rows of 64 characters (at most max rows). */
static int copy_strs(const json_t *a, char (*rows)[64], int max, int *n, size_t width, const char *field)
{
    *n = 0;
    if (!a) return LG_OK;
    if (!json_is_array(a) || json_array_size(a) > (size_t)max)
        return lg_error(LG_E_PARSE, "protocol: HELLO field '%s' is not an array of at most %d strings", field, max);
    for (size_t i = 0; i < json_array_size(a); i++) {
        char name[96];
        snprintf(name, sizeof(name), "%s[%zu]", field, i);
        LG_CHECK(copy_str(json_array_get(a, i), rows[i], width, name));
        (*n)++;
    }
    return LG_OK;
}

static int get_int(const json_t *meta, const char *key, int lo, int hi, int *out)
{
    const json_t *v = json_object_get(meta, key);
    if (!v) return LG_OK;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return lg_error(LG_E_PARSE, "protocol: HELLO field '%s' is not an integer in [%d, %d]", key, lo, hi);
    *out = (int)json_integer_value(v);
    return LG_OK;
}

int lg_proto_worker_info_from_json(const json_t *meta, lg_worker_info *w)
{
    memset(w, 0, sizeof(*w));
    LG_CHECK(copy_str(json_object_get(meta, "id"), w->id, sizeof(w->id), "id"));
    if (!w->id[0]) return lg_error(LG_E_PARSE, "protocol: HELLO without a worker id");
    LG_CHECK(copy_str(json_object_get(meta, "host"), w->host, sizeof(w->host), "host"));
    LG_CHECK(get_int(meta, "cpu_threads", 0, 1 << 16, &w->cpu_threads));
    w->capacity = 1;
    LG_CHECK(get_int(meta, "capacity", 1, 1 << 16, &w->capacity));
    const json_t *b = json_object_get(meta, "backends");
    if (b) {
        if (!json_is_array(b) || json_array_size(b) > 4)
            return lg_error(LG_E_PARSE, "protocol: HELLO field 'backends' is not an array of at most 4 strings");
        for (size_t i = 0; i < json_array_size(b); i++)
            LG_CHECK(copy_str(json_array_get(b, i), w->backends[w->n_backends++], sizeof(w->backends[0]),
                              "backends[]"));
    }
    const json_t *ds = json_object_get(meta, "devices");
    if (ds) {
        if (!json_is_array(ds) || json_array_size(ds) > LG_MAX_DEVICES)
            return lg_error(LG_E_PARSE, "protocol: HELLO field 'devices' is not an array of at most %d objects",
                            LG_MAX_DEVICES);
        for (size_t i = 0; i < json_array_size(ds); i++) {
            const json_t *d = json_array_get(ds, i);
            lg_device_info *o = &w->devices[w->n_devices++];
            if (!json_is_object(d)) return lg_error(LG_E_PARSE, "protocol: HELLO devices[%zu] is not an object", i);
            LG_CHECK(copy_str(json_object_get(d, "name"), o->name, sizeof(o->name), "devices[].name"));
            LG_CHECK(copy_str(json_object_get(d, "vendor"), o->vendor, sizeof(o->vendor), "devices[].vendor"));
            LG_CHECK(copy_str(json_object_get(d, "backend"), o->backend, sizeof(o->backend), "devices[].backend"));
            const json_t *mem = json_object_get(d, "memory_mb");
            if (mem && (!json_is_integer(mem) || json_integer_value(mem) < 0))
                return lg_error(LG_E_PARSE, "protocol: HELLO devices[%zu].memory_mb is not a count", i);
            o->memory_mb = mem ? (int64_t)json_integer_value(mem) : 0;
            o->fp16 = json_is_true(json_object_get(d, "fp16"));
            o->unhealthy = json_is_false(json_object_get(d, "healthy")); /* absent: healthy */
        }
    }
    LG_CHECK(copy_strs(json_object_get(meta, "models"), w->models, LG_MAX_WORKER_MODELS, &w->n_models, 64, "models"));
    LG_CHECK(copy_strs(json_object_get(meta, "tags"), w->tags, 8, &w->n_tags, 64, "tags"));
    return LG_OK;
}

/* ---- sockets ------------------------------------------------------------------------ */

static void setup_once(void)
{
    zsys_handler_set(NULL);
    zsys_init();
}

zsock_t *lg_proto_socket_new(int type)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, setup_once);
    zsock_t *s = zsock_new(type);
    if (!s) return NULL;
    int64_t max = (int64_t)(LG_PROTO_MAX_PAYLOAD + LG_PROTO_MAX_META + 4096);
    zmq_setsockopt(zsock_resolve(s), ZMQ_MAXMSGSIZE, &max, sizeof(max));
    zsock_set_linger(s, 0);
    zsock_set_sndhwm(s, 100000);
    zsock_set_rcvhwm(s, 100000);
    return s;
}
