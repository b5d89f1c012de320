/*
 * value_proto.c: reading ONNX SequenceProto and OptionalProto files (onnx-data.proto, not
 * in Debian's onnx.proto, so read field by field from the protobuf wire format) into
 * LG_SEQUENCE / LG_OPTIONAL tensors. Fields: 1 name, 2 elem_type, 3 tensor value(s),
 * 5 sequence value(s) (7 optional values are refused, as are sparse tensors and maps).
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/file.h"
#include "model/tensor_proto.h"

#define VALUE_MAX_DEPTH 8

typedef struct wire {
    const uint8_t *p, *end;
} wire;

static int varint(wire *w, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (w->p >= w->end) return lg_error(LG_E_PARSE, "truncated varint");
        uint8_t b = *w->p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return LG_OK;
    }
    return lg_error(LG_E_PARSE, "varint longer than 10 bytes");
}

/* Next field: its number and wire type; a length-delimited payload in data and len. */
static int next_field(wire *w, uint32_t *field, int *type, const uint8_t **data, size_t *len)
{
    uint64_t key, v;
    LG_CHECK(varint(w, &key));
    *field = (uint32_t)(key >> 3);
    *type = (int)(key & 7);
    *data = NULL;
    *len = 0;
    switch (*type) {
    case 0: return varint(w, &v);
    case 1: if (w->end - w->p < 8) return lg_error(LG_E_PARSE, "truncated field"); w->p += 8; return LG_OK;
    case 5: if (w->end - w->p < 4) return lg_error(LG_E_PARSE, "truncated field"); w->p += 4; return LG_OK;
    case 2:
        LG_CHECK(varint(w, &v));
        if (v > (uint64_t)(w->end - w->p)) return lg_error(LG_E_PARSE, "field of %llu bytes overruns the message", (unsigned long long)v);
        *data = w->p;
        *len = (size_t)v;
        w->p += v;
        return LG_OK;
    default: return lg_error(LG_E_PARSE, "unknown protobuf wire type %d", *type);
    }
}

static int read_value(const uint8_t *buf, size_t len, lg_dtype kind, int depth, lg_tensor **out, char **name);

/* Appends element e to the container's list (grown by doubling). */
static int append(lg_tensor ***list, int64_t *n, int64_t *cap, lg_tensor *e)
{
    if (*n >= LG_SEQUENCE_MAX) {
        lg_tensor_free(e);
        return lg_error(LG_E_LIMIT, "a sequence of more than %d elements", LG_SEQUENCE_MAX);
    }
    if (*n == *cap) {
        int64_t c = *cap ? 2 * *cap : 8;
        lg_tensor **l = realloc(*list, sizeof(lg_tensor *) * (size_t)c);
        if (!l) {
            lg_tensor_free(e);
            return lg_error(LG_E_NOMEM, "out of memory");
        }
        *list = l;
        *cap = c;
    }
    (*list)[(*n)++] = e;
    return LG_OK;
}

static int read_value(const uint8_t *buf, size_t len, lg_dtype kind, int depth, lg_tensor **out, char **name)
{
    if (depth > VALUE_MAX_DEPTH) return lg_error(LG_E_LIMIT, "sequences and optionals nest more than %d deep", VALUE_MAX_DEPTH);
    wire w = { buf, buf + len };
    lg_tensor **elems = NULL;
    int64_t n = 0, cap = 0;
    int rc = LG_OK;
    while (rc == LG_OK && w.p < w.end) {
        uint32_t field;
        int type;
        const uint8_t *data;
        size_t dlen;
        rc = next_field(&w, &field, &type, &data, &dlen);
        if (rc != LG_OK) break;
        lg_tensor *e = NULL;
        if (field == 1 && type == 2 && name && !*name) {
            *name = strndup((const char *)data, dlen);
        } else if (field == 3 && type == 2) {
            Onnx__TensorProto *tp = onnx__tensor_proto__unpack(lg_pb_allocator(), dlen, data);
            if (!tp) rc = lg_error(LG_E_PARSE, "element %lld is not a valid TensorProto", (long long)n);
            else rc = lg_tensor_from_proto(tp, NULL, false, &e);
            if (tp) onnx__tensor_proto__free_unpacked(tp, lg_pb_allocator());
            if (rc == LG_OK) rc = append(&elems, &n, &cap, e);
        } else if (field == 5 && type == 2) {
            rc = read_value(data, dlen, LG_SEQUENCE, depth + 1, &e, NULL);
            if (rc == LG_OK) rc = append(&elems, &n, &cap, e);
        } else if ((field == 4 || field == 6 || field == 7) && type == 2) {
            rc = lg_error(LG_E_UNSUPPORTED, "sparse tensor, map and optional elements are not supported");
        }
    }
    if (rc == LG_OK && kind == LG_OPTIONAL && n > 1) rc = lg_error(LG_E_PARSE, "an optional with %lld values", (long long)n);
    lg_tensor *t = NULL;
    if (rc == LG_OK) rc = lg_tensor_create(kind, 1, (int64_t[]){ n }, &t);
    if (rc == LG_OK) {
        if (n) memcpy(t->data, elems, sizeof(lg_tensor *) * (size_t)n);
        free(elems);
        *out = t;
        return LG_OK;
    }
    for (int64_t i = 0; i < n; i++) lg_tensor_free(elems[i]);
    free(elems);
    return rc;
}

int lg_value_read_pb(const void *buf, size_t len, lg_dtype kind, lg_tensor **out, char **name)
{
    if (!lg_dtype_is_container(kind)) return lg_tensor_read_pb(buf, len, out, name);
    if (name) *name = NULL;
    int rc = read_value(buf, len, kind, 0, out, name);
    if (rc != LG_OK && name) {
        free(*name);
        *name = NULL;
    }
    return rc;
}

int lg_value_read_file(const char *path, lg_dtype kind, lg_tensor **out, char **name)
{
    if (!lg_dtype_is_container(kind)) return lg_tensor_read_file(path, out, name);
    if (name) *name = NULL;
    lg_file f;
    LG_CHECK(lg_file_read(path, LG_TENSOR_MAX_BYTES, &f));
    int rc = read_value(f.data, f.len, kind, 0, out, name);
    lg_file_close(&f);
    if (rc != LG_OK) {
        if (name) {
            free(*name);
            *name = NULL;
        }
        lg_error_prefix(rc, "%s", path);
    }
    return rc;
}
