/*
 * tensor.c: creating, copying and freeing tensors; dtype facts; element access by double.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/error.h"
#include "base/tensor_impl.h"

static const struct {
    lg_dtype dt;
    size_t size;
    const char *name;
} dtypes[] = {
    { LG_FLOAT, 4, "float32" },  { LG_UINT8, 1, "uint8" },    { LG_INT8, 1, "int8" },
    { LG_UINT16, 2, "uint16" },  { LG_INT16, 2, "int16" },    { LG_INT32, 4, "int32" },
    { LG_INT64, 8, "int64" },    { LG_STRING, sizeof(char *), "string" },
    { LG_BOOL, 1, "bool" },      { LG_FLOAT16, 2, "float16" }, { LG_DOUBLE, 8, "float64" },
    { LG_UINT32, 4, "uint32" },  { LG_UINT64, 8, "uint64" },  { LG_BFLOAT16, 2, "bfloat16" },
    { LG_FLOAT8E4M3FN, 1, "float8e4m3fn" }, { LG_FLOAT8E4M3FNUZ, 1, "float8e4m3fnuz" },
    { LG_FLOAT8E5M2, 1, "float8e5m2" },     { LG_FLOAT8E5M2FNUZ, 1, "float8e5m2fnuz" },
    { LG_UINT4, 1, "uint4" },    { LG_INT4, 1, "int4" },      { LG_FLOAT4E2M1, 1, "float4e2m1" },
    { LG_FLOAT8E8M0, 1, "float8e8m0" }, { LG_UINT2, 1, "uint2" }, { LG_INT2, 1, "int2" },
    { LG_SEQUENCE, sizeof(lg_tensor *), "sequence" }, { LG_OPTIONAL, sizeof(lg_tensor *), "optional" },
};

bool lg_dtype_is_container(lg_dtype dt) { return dt == LG_SEQUENCE || dt == LG_OPTIONAL; }

size_t lg_dtype_size(lg_dtype dt)
{
    for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
        if (dtypes[i].dt == dt) return dtypes[i].size;
    return 0;
}

const char *lg_dtype_name(lg_dtype dt)
{
    for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
        if (dtypes[i].dt == dt) return dtypes[i].name;
    return "undefined";
}

bool lg_dtype_is_float(lg_dtype dt)
{
    return dt == LG_FLOAT || dt == LG_DOUBLE || dt == LG_FLOAT16 || dt == LG_BFLOAT16 || lg_dtype_is_minifloat(dt);
}

bool lg_dtype_is_int(lg_dtype dt)
{
    switch (dt) {
    case LG_UINT8: case LG_INT8: case LG_UINT16: case LG_INT16: case LG_INT32:
    case LG_INT64: case LG_UINT32: case LG_UINT64:
    case LG_INT4: case LG_UINT4: case LG_INT2: case LG_UINT2:
        return true;
    default:
        return false;
    }
}

bool lg_dtype_is_signed(lg_dtype dt)
{
    return dt == LG_INT8 || dt == LG_INT16 || dt == LG_INT32 || dt == LG_INT64 || dt == LG_INT4 || dt == LG_INT2 ||
           lg_dtype_is_float(dt);
}

int64_t lg_dims_numel(int ndim, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    return n;
}

int64_t lg_dims_numel_checked(int ndim, const int64_t *dims)
{
    if (ndim < 0 || ndim > LG_MAX_DIMS) return -1;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0) return -1;
        if (dims[i] == 0) n = 0;
        else if (n > INT64_MAX / dims[i]) return -1;
        else n *= dims[i];
    }
    return n;
}

bool lg_dims_equal(int na, const int64_t *a, int nb, const int64_t *b)
{
    if (na != nb) return false;
    for (int i = 0; i < na; i++)
        if (a[i] != b[i]) return false;
    return true;
}

const char *lg_dims_str(int ndim, const int64_t *dims, char *buf, size_t len)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, len - o, "[");
    for (int i = 0; i < ndim && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, i ? ",%lld" : "%lld", (long long)dims[i]);
    if (o < len) snprintf(buf + o, len - o, "]");
    return buf;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* Buffers of 1 MiB and more are page aligned and populated with one madvise call: far
 * cheaper than a page fault per 4 KiB on first touch, above all in virtual machines. */
#define LG_POPULATE_BYTES ((size_t)1 << 20)

void *lg_alloc(size_t bytes)
{
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes) return NULL;
    if (rounded >= LG_POPULATE_BYTES) {
        rounded = (rounded + 4095) & ~(size_t)4095;
        if (posix_memalign(&p, 4096, rounded) != 0) return NULL;
        madvise(p, rounded, MADV_POPULATE_WRITE); /* best effort: older kernels say EINVAL */
        return p;
    }
    if (posix_memalign(&p, 64, rounded) != 0) return NULL;
    return p;
}

void *lg_calloc(size_t bytes)
{
    void *p = lg_alloc(bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void lg_free(void *p) { free(p); }

lg_tensor *lg_tensor_new_empty(void)
{
    return calloc(1, sizeof(lg_tensor));
}

void lg_tensor_clear(lg_tensor *t)
{
    if (!t) return;
    if (t->owns && t->data) {
        if (t->dtype == LG_STRING) {
            char **s = t->data;
            int64_t n = lg_tensor_numel_(t);
            for (int64_t i = 0; i < n; i++) free(s[i]);
        } else if (lg_dtype_is_container(t->dtype)) {
            lg_tensor **e = t->data;
            int64_t n = lg_tensor_numel_(t);
            for (int64_t i = 0; i < n; i++) lg_tensor_free(e[i]);
        }
        lg_free(t->data);
    } else if (t->release) {
        t->release(t->release_ctx);
    }
    t->data = NULL;
    t->nbytes = 0;
    t->owns = false;
    t->release = NULL;
    t->release_ctx = NULL;
}

static int tensor_reset(lg_tensor *t, lg_dtype dt, int ndim, const int64_t *dims, bool zero);

int lg_tensor_reset(lg_tensor *t, lg_dtype dt, int ndim, const int64_t *dims)
{
    return tensor_reset(t, dt, ndim, dims, true);
}

int lg_tensor_reset_uninit(lg_tensor *t, lg_dtype dt, int ndim, const int64_t *dims)
{
    return tensor_reset(t, dt, ndim, dims, lg_dtype_is_container(dt) || dt == LG_STRING);
}

static int tensor_reset(lg_tensor *t, lg_dtype dt, int ndim, const int64_t *dims, bool zero)
{
    char buf[256];
    size_t es = lg_dtype_size(dt);
    if (es == 0) return lg_error(LG_E_UNSUPPORTED, "tensor of unsupported element type %d", (int)dt);
    if (ndim < 0 || ndim > LG_MAX_DIMS)
        return lg_error(LG_E_LIMIT, "tensor rank %d outside 0..%d", ndim, LG_MAX_DIMS);
    int64_t n = lg_dims_numel_checked(ndim, dims);
    if (n < 0)
        return lg_error(LG_E_SHAPE, "invalid tensor shape %s", lg_dims_str(ndim, dims, buf, sizeof(buf)));
    if (lg_dtype_is_container(dt) && n > LG_SEQUENCE_MAX)
        return lg_error(LG_E_LIMIT, "a %s of %lld elements exceeds the limit of %d", lg_dtype_name(dt), (long long)n,
                        LG_SEQUENCE_MAX);
    if ((uint64_t)n > LG_TENSOR_MAX_BYTES / es)
        return lg_error(LG_E_LIMIT, "tensor of shape %s (%s) exceeds the %llu-byte limit",
                        lg_dims_str(ndim, dims, buf, sizeof(buf)), lg_dtype_name(dt),
                        (unsigned long long)LG_TENSOR_MAX_BYTES);
    lg_tensor_clear(t);
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->dims[i] = dims[i];
    t->nbytes = (size_t)n * es;
    t->data = zero ? lg_calloc(t->nbytes) : lg_alloc(t->nbytes ? t->nbytes : 1);
    if (!t->data) {
        t->nbytes = 0;
        return lg_error(LG_E_NOMEM, "cannot allocate %zu bytes for a tensor of shape %s", (size_t)n * es,
                        lg_dims_str(ndim, dims, buf, sizeof(buf)));
    }
    t->owns = true;
    return LG_OK;
}

int lg_tensor_create(lg_dtype dt, int ndim, const int64_t *dims, lg_tensor **out)
{
    if (!out || (ndim > 0 && !dims)) return lg_error(LG_E_INVALID_ARG, "lg_tensor_create: NULL argument");
    lg_tensor *t = lg_tensor_new_empty();
    if (!t) return lg_error(LG_E_NOMEM, "out of memory");
    int rc = lg_tensor_reset(t, dt, ndim, dims);
    if (rc != LG_OK) {
        free(t);
        return rc;
    }
    *out = t;
    return LG_OK;
}

int lg_tensor_wrap(lg_dtype dt, int ndim, const int64_t *dims, void *data, lg_tensor **out)
{
    size_t es = lg_dtype_size(dt);
    if (!out || es == 0 || ndim < 0 || ndim > LG_MAX_DIMS)
        return lg_error(LG_E_INVALID_ARG, "lg_tensor_wrap: bad dtype or rank");
    int64_t n = lg_dims_numel_checked(ndim, dims);
    if (n < 0) return lg_error(LG_E_SHAPE, "lg_tensor_wrap: invalid shape");
    lg_tensor *t = lg_tensor_new_empty();
    if (!t) return lg_error(LG_E_NOMEM, "out of memory");
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->dims[i] = dims[i];
    t->data = data;
    t->nbytes = (size_t)n * es;
    t->owns = false;
    *out = t;
    return LG_OK;
}

void lg_tensor_free(lg_tensor *t)
{
    if (!t) return;
    lg_tensor_clear(t);
    free(t);
}

int lg_tensor_clone(const lg_tensor *src, lg_tensor **out)
{
    lg_tensor *t;
    LG_CHECK(lg_tensor_create(src->dtype, src->ndim, src->dims, &t));
    if (src->dtype == LG_STRING) {
        char **d = t->data, *const *s = src->data;
        int64_t n = lg_tensor_numel_(src);
        for (int64_t i = 0; i < n; i++) {
            d[i] = strdup(s[i] ? s[i] : "");
            if (!d[i]) {
                lg_tensor_free(t);
                return lg_error(LG_E_NOMEM, "out of memory");
            }
        }
    } else if (lg_dtype_is_container(src->dtype)) {
        lg_tensor **d = t->data, *const *s = src->data;
        for (int64_t i = 0, n = lg_tensor_numel_(src); i < n; i++) {
            int rc = s[i] ? lg_tensor_clone(s[i], &d[i]) : LG_OK;
            if (rc != LG_OK) {
                lg_tensor_free(t);
                return rc;
            }
        }
    } else if (src->nbytes) {
        memcpy(t->data, src->data, src->nbytes);
    }
    *out = t;
    return LG_OK;
}

lg_tensor *lg_tensor_view(const lg_tensor *src)
{
    lg_tensor *t = lg_tensor_new_empty();
    if (!t) return NULL;
    t->dtype = src->dtype;
    t->ndim = src->ndim;
    memcpy(t->dims, src->dims, sizeof(t->dims));
    t->data = src->data;
    t->nbytes = src->nbytes;
    t->owns = false;
    return t;
}

lg_dtype lg_tensor_dtype(const lg_tensor *t) { return t->dtype; }
int lg_tensor_ndim(const lg_tensor *t) { return t->ndim; }
const int64_t *lg_tensor_dims(const lg_tensor *t) { return t->dims; }
int64_t lg_tensor_numel(const lg_tensor *t) { return lg_tensor_numel_(t); }
size_t lg_tensor_nbytes(const lg_tensor *t) { return t->nbytes; }
void *lg_tensor_data(const lg_tensor *t) { return t->data; }

double lg_tensor_get_f64(const lg_tensor *t, int64_t i)
{
    const void *d = t->data;
    switch (t->dtype) {
    case LG_FLOAT: return ((const float *)d)[i];
    case LG_DOUBLE: return ((const double *)d)[i];
    case LG_FLOAT16: return lg_half_to_float(((const uint16_t *)d)[i]);
    case LG_BFLOAT16: return lg_bf16_to_float(((const uint16_t *)d)[i]);
    case LG_INT8: return ((const int8_t *)d)[i];
    case LG_UINT8: return ((const uint8_t *)d)[i];
    case LG_BOOL: return ((const uint8_t *)d)[i] != 0;
    case LG_INT16: return ((const int16_t *)d)[i];
    case LG_UINT16: return ((const uint16_t *)d)[i];
    case LG_INT32: return ((const int32_t *)d)[i];
    case LG_UINT32: return ((const uint32_t *)d)[i];
    case LG_INT64: return (double)((const int64_t *)d)[i];
    case LG_UINT64: return (double)((const uint64_t *)d)[i];
    case LG_INT4: case LG_INT2: return ((const int8_t *)d)[i];
    case LG_UINT4: case LG_UINT2: return ((const uint8_t *)d)[i];
    default:
        if (lg_dtype_is_minifloat(t->dtype)) return lg_minifloat_to_float(t->dtype, ((const uint8_t *)d)[i]);
        return 0;
    }
}

int64_t lg_tensor_get_i64(const lg_tensor *t, int64_t i)
{
    const void *d = t->data;
    switch (t->dtype) {
    case LG_INT64: return ((const int64_t *)d)[i];
    case LG_UINT64: return (int64_t)((const uint64_t *)d)[i];
    case LG_INT32: return ((const int32_t *)d)[i];
    case LG_UINT32: return ((const uint32_t *)d)[i];
    case LG_INT16: return ((const int16_t *)d)[i];
    case LG_UINT16: return ((const uint16_t *)d)[i];
    case LG_INT8: return ((const int8_t *)d)[i];
    case LG_UINT8: case LG_UINT4: case LG_UINT2: return ((const uint8_t *)d)[i];
    case LG_INT4: case LG_INT2: return ((const int8_t *)d)[i];
    case LG_BOOL: return ((const uint8_t *)d)[i] != 0;
    default: {
        double v = lg_tensor_get_f64(t, i);
        if (isnan(v)) return 0;
        if (v >= 9.2e18) return INT64_MAX;
        if (v <= -9.2e18) return INT64_MIN;
        return (int64_t)v;
    }
    }
}

void lg_tensor_set_f64(lg_tensor *t, int64_t i, double v)
{
    void *d = t->data;
    switch (t->dtype) {
    case LG_FLOAT: ((float *)d)[i] = (float)v; break;
    case LG_DOUBLE: ((double *)d)[i] = v; break;
    case LG_FLOAT16: ((uint16_t *)d)[i] = lg_float_to_half((float)v); break;
    case LG_BFLOAT16: ((uint16_t *)d)[i] = lg_float_to_bf16((float)v); break;
    case LG_INT8: ((int8_t *)d)[i] = (int8_t)v; break;
    case LG_UINT8: ((uint8_t *)d)[i] = (uint8_t)v; break;
    case LG_BOOL: ((uint8_t *)d)[i] = v != 0; break;
    case LG_INT16: ((int16_t *)d)[i] = (int16_t)v; break;
    case LG_UINT16: ((uint16_t *)d)[i] = (uint16_t)v; break;
    case LG_INT32: ((int32_t *)d)[i] = (int32_t)v; break;
    case LG_UINT32: ((uint32_t *)d)[i] = (uint32_t)v; break;
    case LG_INT64: ((int64_t *)d)[i] = (int64_t)v; break;
    case LG_UINT64: ((uint64_t *)d)[i] = (uint64_t)v; break;
    case LG_INT4: case LG_INT2: ((int8_t *)d)[i] = (int8_t)lg_wrap_subbyte(t->dtype, (int64_t)v); break;
    case LG_UINT4: case LG_UINT2: ((uint8_t *)d)[i] = (uint8_t)lg_wrap_subbyte(t->dtype, (int64_t)v); break;
    case LG_FLOAT8E8M0: ((uint8_t *)d)[i] = lg_float_to_e8m0((float)v, true, LG_ROUND_UP); break;
    default:
        if (lg_dtype_is_minifloat(t->dtype)) ((uint8_t *)d)[i] = lg_float_to_minifloat(t->dtype, (float)v, true);
        break;
    }
}

float lg_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t lg_float_to_half(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000;
    uint32_t absu = u & 0x7fffffff;
    if (absu >= 0x7f800000) /* inf or nan */
        return (uint16_t)(sign | 0x7c00 | (absu > 0x7f800000 ? 0x200 | ((absu >> 13) & 0x3ff) : 0));
    if (absu >= 0x477ff000) /* rounds to >= 65520: inf */
        return (uint16_t)(sign | 0x7c00);
    if (absu < 0x38800000) { /* below 2^-14: a subnormal half (m * 2^-24) or zero */
        if (absu < 0x33000000) return (uint16_t)sign;
        uint32_t e = absu >> 23;
        uint32_t m = (absu & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* the float is m * 2^(e - 150): m >> shift units of 2^-24 */
        uint32_t r = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++; /* round to nearest even */
        return (uint16_t)(sign | r);
    }
    uint32_t r = absu - 0x38000000; /* rebias exponent 127 -> 15 */
    uint32_t hbits = r >> 13;
    uint32_t rem = r & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (hbits & 1))) hbits++;
    return (uint16_t)(sign | hbits);
}

uint16_t lg_float_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 0x40);
    uint32_t rounding = 0x7fff + ((u >> 16) & 1);
    return (uint16_t)((u + rounding) >> 16);
}
