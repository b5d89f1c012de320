/*
 * tensor_proto.c: ONNX TensorProto <-> lg_tensor: raw_data and every typed field, external
 * data (mmap'd, confined to the model's folder), and serialisation for .pb output. The 4-
 * and 2-bit types are packed in files and unpacked (one byte per element) in memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "model/graph.h"
#include "model/tensor_proto.h"

static void *pb_alloc(void *data, size_t size)
{
    (void)data;
    return size >= 4096 ? lg_alloc(size) : malloc(size);
}

static void pb_free(void *data, void *p)
{
    (void)data;
    free(p);
}

static ProtobufCAllocator allocator = { pb_alloc, pb_free, NULL };

ProtobufCAllocator *lg_pb_allocator(void) { return &allocator; }

/* Bytes n elements of dt take in a file: 4- and 2-bit types are packed. */
static size_t packed_bytes(lg_dtype dt, int64_t n)
{
    int bits = lg_dtype_bits(dt);
    if (bits >= 8) return (size_t)n * lg_dtype_size(dt);
    return (size_t)((n * bits + 7) / 8);
}

static bool is_subbyte(lg_dtype dt) { return lg_dtype_bits(dt) < 8; }

/* Element i of a packed sub-byte array (first element in the low bits), one byte out:
 * int4/int2 sign-extended, uint4/uint2 and float4e2m1 codes as they are. */
static uint8_t unpack_one(lg_dtype dt, const uint8_t *packed, int64_t i)
{
    int bits = lg_dtype_bits(dt), per = 8 / bits;
    unsigned v = (packed[i / per] >> ((i % per) * bits)) & ((1u << bits) - 1);
    if (dt == LG_INT4 || dt == LG_INT2) return (uint8_t)(int8_t)lg_wrap_subbyte(dt, (int64_t)v);
    return (uint8_t)v;
}

static void unpack_subbyte(lg_tensor *t, const uint8_t *packed, int64_t n)
{
    for (int64_t i = 0; i < n; i++) ((uint8_t *)t->data)[i] = unpack_one(t->dtype, packed, i);
}

/* Number of values the typed field that holds dtype dt carries. */
static size_t typed_count(const Onnx__TensorProto *tp, lg_dtype dt)
{
    switch (dt) {
    case LG_FLOAT: return tp->n_float_data;
    case LG_DOUBLE: return tp->n_double_data;
    case LG_INT64: return tp->n_int64_data;
    case LG_UINT64: case LG_UINT32: return tp->n_uint64_data;
    case LG_STRING: return tp->n_string_data;
    default: return tp->n_int32_data;
    }
}

/* Copies the typed field into t (its length was checked against the shape). */
static int fill_typed(lg_tensor *t, const Onnx__TensorProto *tp, int64_t n)
{
    size_t need = is_subbyte(t->dtype) ? packed_bytes(t->dtype, n) : (size_t)n;
    LG_ASSERT(typed_count(tp, t->dtype) == need); /* checked before the allocation */
    if (need == 0) return LG_OK;
    switch (t->dtype) {
    case LG_FLOAT:
        memcpy(t->data, tp->float_data, need * 4);
        return LG_OK;
    case LG_DOUBLE:
        memcpy(t->data, tp->double_data, need * 8);
        return LG_OK;
    case LG_INT64:
        memcpy(t->data, tp->int64_data, need * 8);
        return LG_OK;
    case LG_UINT64:
    case LG_UINT32:
        for (size_t i = 0; i < need; i++) {
            if (t->dtype == LG_UINT64) ((uint64_t *)t->data)[i] = tp->uint64_data[i];
            else ((uint32_t *)t->data)[i] = (uint32_t)tp->uint64_data[i];
        }
        return LG_OK;
    case LG_INT4: case LG_UINT4: case LG_FLOAT4E2M1: case LG_INT2: case LG_UINT2: {
        /* int32_data holds one packed byte per value */
        uint8_t *packed = malloc(need);
        if (!packed) return lg_error(LG_E_NOMEM, "out of memory");
        for (size_t i = 0; i < need; i++) packed[i] = (uint8_t)tp->int32_data[i];
        unpack_subbyte(t, packed, lg_tensor_numel_(t));
        free(packed);
        return LG_OK;
    }
    case LG_FLOAT8E4M3FN: case LG_FLOAT8E4M3FNUZ: case LG_FLOAT8E5M2: case LG_FLOAT8E5M2FNUZ: case LG_FLOAT8E8M0:
        for (size_t i = 0; i < need; i++) ((uint8_t *)t->data)[i] = (uint8_t)tp->int32_data[i];
        return LG_OK;
    case LG_INT32: case LG_INT16: case LG_INT8: case LG_UINT16: case LG_UINT8: case LG_BOOL:
    case LG_FLOAT16: case LG_BFLOAT16:
        for (size_t i = 0; i < need; i++) {
            int32_t v = tp->int32_data[i];
            switch (t->dtype) {
            case LG_INT32: ((int32_t *)t->data)[i] = v; break;
            case LG_INT16: ((int16_t *)t->data)[i] = (int16_t)v; break;
            case LG_INT8: ((int8_t *)t->data)[i] = (int8_t)v; break;
            case LG_UINT16: case LG_FLOAT16: case LG_BFLOAT16: ((uint16_t *)t->data)[i] = (uint16_t)v; break;
            case LG_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
            case LG_BOOL: ((uint8_t *)t->data)[i] = v != 0; break;
            default: break;
            }
        }
        return LG_OK;
    case LG_STRING:
        for (size_t i = 0; i < need; i++) {
            char *s = malloc(tp->string_data[i].len + 1);
            if (!s) return lg_error(LG_E_NOMEM, "out of memory");
            if (tp->string_data[i].len) memcpy(s, tp->string_data[i].data, tp->string_data[i].len);
            s[tp->string_data[i].len] = 0;
            ((char **)t->data)[i] = s;
        }
        return LG_OK;
    default:
        return lg_error(LG_E_UNSUPPORTED, "tensor of unsupported element type %d", (int)t->dtype);
    }
}

struct ext_map {
    void *addr;
    size_t len;
};

static void ext_release(void *ctx)
{
    struct ext_map *m = ctx;
    munmap(m->addr, m->len);
    free(m);
}

/* Reads external data: location relative to the model folder, no escape from it. */
static int load_external(lg_tensor *t, const Onnx__TensorProto *tp, struct lg_model *model)
{
    const char *location = NULL;
    int64_t offset = 0, length = -1;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (!e->key || !e->value) continue;
        char *end;
        if (!strcmp(e->key, "location")) location = e->value;
        else if (!strcmp(e->key, "offset")) { errno = 0; offset = strtoll(e->value, &end, 10); if (errno || *end || offset < 0) return lg_error(LG_E_INVALID_MODEL, "tensor '%s': bad external data offset '%s'", tp->name, e->value); }
        else if (!strcmp(e->key, "length")) { errno = 0; length = strtoll(e->value, &end, 10); if (errno || *end || length < 0) return lg_error(LG_E_INVALID_MODEL, "tensor '%s': bad external data length '%s'", tp->name, e->value); }
    }
    if (!location || !*location)
        return lg_error(LG_E_INVALID_MODEL, "tensor '%s': external data without a location", tp->name);
    if (!model || !model->base_dir)
        return lg_error(LG_E_INVALID_MODEL, "tensor '%s': external data '%s' but the model has no folder", tp->name, location);
    if (location[0] == '/' || strstr(location, ".."))
        return lg_error(LG_E_INVALID_MODEL, "tensor '%s': external data location '%s' leaves the model's folder", tp->name, location);
    char path[PATH_MAX], real[PATH_MAX], realbase[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", model->base_dir, location);
    if (!realpath(path, real) || !realpath(model->base_dir, realbase))
        return lg_error(LG_E_IO, "tensor '%s': external data file '%s': %s", tp->name, path, strerror(errno));
    size_t bl = strlen(realbase);
    if (strncmp(real, realbase, bl) != 0 || (real[bl] != '/' && real[bl] != 0))
        return lg_error(LG_E_INVALID_MODEL, "tensor '%s': external data '%s' resolves outside the model's folder", tp->name, location);
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lg_error(LG_E_IO, "tensor '%s': cannot open external data '%s': %s", tp->name, real, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return lg_error(LG_E_IO, "tensor '%s': cannot stat '%s'", tp->name, real);
    }
    if (length < 0) length = st.st_size - offset;
    if ((uint64_t)length != t->nbytes || offset + length > st.st_size || offset + length < offset) {
        close(fd);
        return lg_error(LG_E_INVALID_MODEL, "tensor '%s': external data '%s' offset %lld length %lld does not hold the %zu bytes its shape needs (file has %lld)",
                        tp->name, location, (long long)offset, (long long)length, t->nbytes, (long long)st.st_size);
    }
    if (t->nbytes == 0) {
        close(fd);
        return LG_OK;
    }
    long page = sysconf(_SC_PAGESIZE);
    int64_t aligned = offset - offset % page;
    size_t maplen = (size_t)(offset - aligned + length);
    void *addr = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE, fd, aligned);
    close(fd);
    if (addr == MAP_FAILED) return lg_error(LG_E_IO, "tensor '%s': cannot map external data: %s", tp->name, strerror(errno));
    struct ext_map *em = malloc(sizeof(*em));
    if (!em) {
        munmap(addr, maplen);
        return lg_error(LG_E_NOMEM, "out of memory");
    }
    em->addr = addr;
    em->len = maplen;
    t->data = (char *)addr + (offset - aligned);
    t->owns = false;
    t->release = ext_release;
    t->release_ctx = em;
    return LG_OK;
}

int lg_tensor_from_proto(Onnx__TensorProto *tp, struct lg_model *model, bool adopt, lg_tensor **out)
{
    const char *name = tp->name ? tp->name : "";
    if (tp->n_dims > LG_MAX_DIMS)
        return lg_error(LG_E_LIMIT, "tensor '%s' has %zu dims (at most %d)", name, tp->n_dims, LG_MAX_DIMS);
    if (tp->has_data_type == 0 && tp->data_type == 0)
        return lg_error(LG_E_PARSE, "tensor '%s' has no data type", name);
    lg_dtype dt = (lg_dtype)tp->data_type;
    size_t es = lg_dtype_size(dt);
    if (es == 0) return lg_error(LG_E_UNSUPPORTED, "tensor '%s' has unsupported data type %d", name, tp->data_type);
    int64_t dims[LG_MAX_DIMS];
    for (size_t i = 0; i < tp->n_dims; i++) dims[i] = tp->dims[i];
    int64_t n = lg_dims_numel_checked((int)tp->n_dims, dims);
    if (n < 0) return lg_error(LG_E_PARSE, "tensor '%s' has an invalid shape", name);
    if (tp->segment) return lg_error(LG_E_UNSUPPORTED, "tensor '%s' is segmented", name);

    bool external = tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    bool raw = tp->has_raw_data && dt != LG_STRING;
    lg_tensor *t = lg_tensor_new_empty();
    if (!t) return lg_error(LG_E_NOMEM, "out of memory");
    int rc = LG_OK;
    size_t file_bytes = packed_bytes(dt, n);
    size_t typed_need = is_subbyte(dt) ? file_bytes : (size_t)n;
    if (raw && adopt && !is_subbyte(dt) && tp->raw_data.len == (size_t)n * es && n > 0 &&
        ((uintptr_t)tp->raw_data.data % 64) == 0) {
        /* Take the buffer protobuf-c allocated: the weights exist once. */
        t->dtype = dt;
        t->ndim = (int)tp->n_dims;
        memcpy(t->dims, dims, sizeof(int64_t) * tp->n_dims);
        t->data = tp->raw_data.data;
        t->nbytes = tp->raw_data.len;
        t->owns = true;
        tp->raw_data.data = NULL;
        tp->raw_data.len = 0;
        tp->has_raw_data = 0;
        *out = t;
        return LG_OK;
    }
    /* Check the data is all there before allocating what the shape claims. */
    if (!external && raw && tp->raw_data.len != file_bytes) {
        rc = lg_error(LG_E_PARSE, "tensor '%s' (%s, %lld elements): raw_data has %zu bytes, expected %zu", name,
                      lg_dtype_name(dt), (long long)n, tp->raw_data.len, file_bytes);
        goto fail;
    }
    if (!external && !raw && typed_count(tp, dt) != typed_need) {
        rc = lg_error(LG_E_PARSE, "tensor '%s' (%s): typed data has %zu values, which does not match its shape (%lld elements%s)",
                      name, lg_dtype_name(dt), typed_count(tp, dt), (long long)n, is_subbyte(dt) ? ", packed" : "");
        goto fail;
    }
    if (external && is_subbyte(dt)) {
        rc = lg_error(LG_E_UNSUPPORTED, "tensor '%s' (%s): external data of packed sub-byte types is not supported", name,
                      lg_dtype_name(dt));
        goto fail;
    }
    if (external) { /* mapped, never allocated: the file must hold what the shape claims */
        if ((uint64_t)n > LG_TENSOR_MAX_BYTES / es) {
            rc = lg_error(LG_E_LIMIT, "tensor '%s' (%lld elements) exceeds the size limit", name, (long long)n);
            goto fail;
        }
        t->dtype = dt;
        t->ndim = (int)tp->n_dims;
        memcpy(t->dims, dims, sizeof(int64_t) * tp->n_dims);
        t->nbytes = (size_t)n * es;
        rc = load_external(t, tp, model);
        if (rc != LG_OK) goto fail;
        *out = t;
        return LG_OK;
    }
    rc = lg_tensor_reset(t, dt, (int)tp->n_dims, dims);
    if (rc != LG_OK) goto fail;
    if (raw && is_subbyte(dt)) {
        unpack_subbyte(t, tp->raw_data.data, n);
    } else if (raw) {
        if (tp->raw_data.len != t->nbytes) {
            rc = lg_error(LG_E_PARSE, "tensor '%s' (%s, %lld elements): raw_data has %zu bytes, expected %zu",
                          name, lg_dtype_name(dt), (long long)n, tp->raw_data.len, t->nbytes);
            goto fail;
        }
        if (t->nbytes) memcpy(t->data, tp->raw_data.data, t->nbytes);
    } else {
        rc = fill_typed(t, tp, n);
    }
    if (rc != LG_OK) goto fail;
    *out = t;
    return LG_OK;
fail:
    lg_tensor_free(t);
    return rc;
}

int lg_tensor_to_proto_bytes(const lg_tensor *t, const char *name, uint8_t **buf, size_t *len)
{
    if (lg_dtype_is_container(t->dtype))
        return lg_error(LG_E_UNSUPPORTED, "'%s' is a %s; only tensors can be written as a TensorProto", name ? name : "",
                        lg_dtype_name(t->dtype));
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[LG_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++) dims[i] = t->dims[i];
    tp.n_dims = (size_t)t->ndim;
    tp.dims = dims;
    tp.has_data_type = 1;
    tp.data_type = (int32_t)t->dtype;
    tp.name = (char *)(name ? name : "");
    ProtobufCBinaryData *strs = NULL;
    uint8_t *packed = NULL;
    if (t->dtype == LG_STRING) {
        int64_t n = lg_tensor_numel_(t);
        strs = calloc((size_t)n + 1, sizeof(*strs));
        if (!strs) return lg_error(LG_E_NOMEM, "out of memory");
        for (int64_t i = 0; i < n; i++) {
            char *s = ((char **)t->data)[i];
            strs[i].data = (uint8_t *)(s ? s : "");
            strs[i].len = s ? strlen(s) : 0;
        }
        tp.n_string_data = (size_t)n;
        tp.string_data = strs;
    } else if (is_subbyte(t->dtype)) { /* packed, first element in the low bits */
        int64_t n = lg_tensor_numel_(t);
        int bits = lg_dtype_bits(t->dtype), per = 8 / bits;
        size_t nb = packed_bytes(t->dtype, n);
        packed = calloc(nb + 1, 1);
        if (!packed) return lg_error(LG_E_NOMEM, "out of memory");
        for (int64_t i = 0; i < n; i++)
            packed[i / per] |= (uint8_t)((((const uint8_t *)t->data)[i] & ((1u << bits) - 1)) << ((i % per) * bits));
        tp.has_raw_data = 1;
        tp.raw_data.data = packed;
        tp.raw_data.len = nb;
    } else {
        tp.has_raw_data = 1;
        tp.raw_data.data = t->data;
        tp.raw_data.len = t->nbytes;
    }
    size_t sz = onnx__tensor_proto__get_packed_size(&tp);
    uint8_t *b = malloc(sz ? sz : 1);
    if (!b) {
        free(strs);
        free(packed);
        return lg_error(LG_E_NOMEM, "out of memory");
    }
    onnx__tensor_proto__pack(&tp, b);
    free(strs);
    free(packed);
    *buf = b;
    *len = sz;
    return LG_OK;
}
