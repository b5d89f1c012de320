/*
 * tensor_io.c: reading and writing tensors as files: ONNX TensorProto (.pb) and NumPy
 * (.npy, format versions 1-3, little-endian, C order).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/file.h"
#include "model/tensor_proto.h"

int lg_tensor_read_pb(const void *buf, size_t len, lg_tensor **out, char **name)
{
    if (name) *name = NULL;
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(lg_pb_allocator(), len, buf);
    if (!tp) return lg_error(LG_E_PARSE, "not a valid ONNX TensorProto (%zu bytes)", len);
    int rc = lg_tensor_from_proto(tp, NULL, true, out);
    if (rc == LG_OK && name && tp->name && *tp->name) {
        *name = strdup(tp->name);
        if (!*name) {
            lg_tensor_free(*out);
            rc = lg_error(LG_E_NOMEM, "out of memory");
        }
    }
    onnx__tensor_proto__free_unpacked(tp, lg_pb_allocator());
    return rc;
}

static const struct {
    const char *descr; /* without the byte-order character */
    lg_dtype dt;
} npy_types[] = {
    { "f4", LG_FLOAT }, { "f8", LG_DOUBLE }, { "f2", LG_FLOAT16 }, { "i1", LG_INT8 },
    { "u1", LG_UINT8 }, { "i2", LG_INT16 }, { "u2", LG_UINT16 }, { "i4", LG_INT32 },
    { "u4", LG_UINT32 }, { "i8", LG_INT64 }, { "u8", LG_UINT64 }, { "b1", LG_BOOL },
};

/* Finds 'key': in a Python dict literal and returns a pointer after the colon. */
static const char *dict_value(const char *hdr, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof(pat), "'%s'", key);
    const char *p = strstr(hdr, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

int lg_tensor_read_npy(const void *buf, size_t len, lg_tensor **out)
{
    const uint8_t *b = buf;
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0) return lg_error(LG_E_PARSE, "not a .npy file (bad magic)");
    int major = b[6];
    size_t hlen, off;
    if (major == 1) {
        hlen = (size_t)b[8] | ((size_t)b[9] << 8);
        off = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return lg_error(LG_E_PARSE, ".npy header truncated");
        hlen = (size_t)b[8] | ((size_t)b[9] << 8) | ((size_t)b[10] << 16) | ((size_t)b[11] << 24);
        off = 12;
    } else {
        return lg_error(LG_E_PARSE, ".npy format version %d is not supported", major);
    }
    if (hlen > 1 << 20 || off + hlen > len) return lg_error(LG_E_PARSE, ".npy header truncated or too long");
    char *hdr = malloc(hlen + 1);
    if (!hdr) return lg_error(LG_E_NOMEM, "out of memory");
    memcpy(hdr, b + off, hlen);
    hdr[hlen] = 0;
    int rc = LG_OK;
    lg_dtype dt = LG_UNDEFINED;
    int ndim = 0;
    int64_t dims[LG_MAX_DIMS];
    const char *p = dict_value(hdr, "descr");
    if (!p || (*p != '\'' && *p != '"')) {
        rc = lg_error(LG_E_PARSE, ".npy header has no descr");
        goto done;
    }
    p++;
    char order = *p;
    if (order != '<' && order != '|' && order != '=') {
        rc = lg_error(LG_E_UNSUPPORTED, ".npy data type '%.8s' is not little-endian", p);
        goto done;
    }
    p++;
    for (size_t i = 0; i < sizeof(npy_types) / sizeof(npy_types[0]); i++) {
        size_t l = strlen(npy_types[i].descr);
        if (!strncmp(p, npy_types[i].descr, l) && (p[l] == '\'' || p[l] == '"')) dt = npy_types[i].dt;
    }
    if (dt == LG_UNDEFINED) {
        rc = lg_error(LG_E_UNSUPPORTED, ".npy data type '%.8s' is not supported", p - 1);
        goto done;
    }
    p = dict_value(hdr, "fortran_order");
    if (!p) {
        rc = lg_error(LG_E_PARSE, ".npy header has no fortran_order");
        goto done;
    }
    if (!strncmp(p, "True", 4)) {
        rc = lg_error(LG_E_UNSUPPORTED, ".npy arrays in Fortran order are not supported; save with C order");
        goto done;
    }
    p = dict_value(hdr, "shape");
    if (!p || *p != '(') {
        rc = lg_error(LG_E_PARSE, ".npy header has no shape");
        goto done;
    }
    p++;
    for (;;) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        if (!isdigit((unsigned char)*p)) {
            rc = lg_error(LG_E_PARSE, ".npy shape is malformed");
            goto done;
        }
        if (ndim == LG_MAX_DIMS) {
            rc = lg_error(LG_E_LIMIT, ".npy array has more than %d dims", LG_MAX_DIMS);
            goto done;
        }
        errno = 0;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (errno) {
            rc = lg_error(LG_E_PARSE, ".npy shape value out of range");
            goto done;
        }
        dims[ndim++] = v;
        p = end;
        while (*p == 'L') p++;
    }
    int64_t n = lg_dims_numel_checked(ndim, dims);
    size_t es = lg_dtype_size(dt);
    if (n < 0 || (uint64_t)n > LG_TENSOR_MAX_BYTES / es) {
        rc = lg_error(LG_E_LIMIT, ".npy shape is invalid or too large");
        goto done;
    }
    size_t need = (size_t)n * es, data_off = off + hlen;
    if (len - data_off < need) {
        rc = lg_error(LG_E_PARSE, ".npy data is truncated: %zu bytes for %lld elements of %s, expected %zu",
                      len - data_off, (long long)n, lg_dtype_name(dt), need);
        goto done;
    }
    lg_tensor *t;
    rc = lg_tensor_create(dt, ndim, dims, &t);
    if (rc != LG_OK) goto done;
    if (need) memcpy(t->data, b + data_off, need);
    if (dt == LG_BOOL)
        for (int64_t i = 0; i < n; i++) ((uint8_t *)t->data)[i] = ((uint8_t *)t->data)[i] != 0;
    *out = t;
done:
    free(hdr);
    return rc;
}

int lg_tensor_read_file(const char *path, lg_tensor **out, char **name)
{
    if (name) *name = NULL;
    lg_file f;
    LG_CHECK(lg_file_read(path, LG_TENSOR_MAX_BYTES, &f));
    int rc;
    if (f.len >= 6 && memcmp(f.data, "\x93NUMPY", 6) == 0) rc = lg_tensor_read_npy(f.data, f.len, out);
    else rc = lg_tensor_read_pb(f.data, f.len, out, name);
    lg_file_close(&f);
    if (rc != LG_OK) lg_error_prefix(rc, "%s", path);
    return rc;
}

static int write_all(const char *path, const void *a, size_t alen, const void *b, size_t blen)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) return lg_error(LG_E_IO, "cannot create %s: %s", path, strerror(errno));
    int ok = fwrite(a, 1, alen, fp) == alen && (blen == 0 || fwrite(b, 1, blen, fp) == blen);
    ok = (fclose(fp) == 0) && ok;
    return ok ? LG_OK : lg_error(LG_E_IO, "cannot write %s: %s", path, strerror(errno));
}

int lg_tensor_write_pb(const lg_tensor *t, const char *name, const char *path)
{
    uint8_t *buf;
    size_t len;
    LG_CHECK(lg_tensor_to_proto_bytes(t, name, &buf, &len));
    int rc = write_all(path, buf, len, NULL, 0);
    free(buf);
    return rc;
}

int lg_tensor_write_npy(const lg_tensor *t, const char *path)
{
    const char *descr = NULL;
    for (size_t i = 0; i < sizeof(npy_types) / sizeof(npy_types[0]); i++)
        if (npy_types[i].dt == t->dtype) descr = npy_types[i].descr;
    if (!descr) return lg_error(LG_E_UNSUPPORTED, "cannot write %s tensors as .npy", lg_dtype_name(t->dtype));
    char dict[1024], shape[600];
    size_t o = 0;
    for (int i = 0; i < t->ndim; i++)
        o += (size_t)snprintf(shape + o, sizeof(shape) - o, "%lld,%s", (long long)t->dims[i],
                              (i + 1 < t->ndim) ? " " : "");
    if (t->ndim > 1 && o > 0) shape[o - 1] = 0; /* "2, 3" not "2, 3," for rank > 1 */
    if (t->ndim == 0) shape[0] = 0;
    int dl = snprintf(dict, sizeof(dict), "{'descr': '%c%s', 'fortran_order': False, 'shape': (%s), }",
                      t->dtype == LG_BOOL || t->dtype == LG_INT8 || t->dtype == LG_UINT8 ? '|' : '<', descr, shape);
    /* Header: magic(6) version(2) len(2) dict, padded with spaces to 64 bytes, ends in \n. */
    size_t total = 10 + (size_t)dl + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)dl + pad + 1;
    uint8_t hdr[1200];
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    hdr[8] = (uint8_t)(hlen & 0xff);
    hdr[9] = (uint8_t)(hlen >> 8);
    memcpy(hdr + 10, dict, (size_t)dl);
    memset(hdr + 10 + dl, ' ', pad);
    hdr[10 + dl + pad] = '\n';
    return write_all(path, hdr, 10 + hlen, t->data, t->nbytes);
}
