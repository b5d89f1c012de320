/*
 * test_tensor_io.c: .npy and .pb tensor files: round trips for every dtype and rank, and
 * a table of malformed files that must each give one clear error.
 */
#include <math.h>

#include "base/tensor_impl.h"
#include "lg_test.h"

static lg_tensor *make(lg_dtype dt, int ndim, const int64_t *dims)
{
    lg_tensor *t;
    assert_int_equal(lg_tensor_create(dt, ndim, dims, &t), LG_OK);
    uint8_t *d = lg_tensor_data(t);
    for (size_t i = 0; i < lg_tensor_nbytes(t); i++) d[i] = (uint8_t)(i * 7 + 1);
    if (dt == LG_BOOL)
        for (size_t i = 0; i < lg_tensor_nbytes(t); i++) d[i] &= 1;
    return t;
}

static void test_roundtrip_all_dtypes(void **state)
{
    (void)state;
    static const lg_dtype types[] = { LG_FLOAT, LG_DOUBLE, LG_FLOAT16, LG_INT8, LG_UINT8, LG_INT16, LG_UINT16,
                                      LG_INT32, LG_UINT32, LG_INT64, LG_UINT64, LG_BOOL };
    static const struct {
        int ndim;
        int64_t dims[4];
    } shapes[] = { { 0, { 0 } }, { 1, { 5 } }, { 2, { 2, 3 } }, { 4, { 1, 3, 2, 2 } }, { 2, { 0, 4 } } };
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
            lg_tensor *a = make(types[t], shapes[s].ndim, shapes[s].dims), *b = NULL;
            for (int fmt = 0; fmt < 2; fmt++) {
                char *path = lg_test_tmpfile(NULL, 0, fmt ? ".npy" : ".pb");
                char *name = NULL;
                assert_int_equal(fmt ? lg_tensor_write_npy(a, path) : lg_tensor_write_pb(a, "x", path), LG_OK);
                assert_int_equal(lg_tensor_read_file(path, &b, &name), LG_OK);
                assert_int_equal(lg_tensor_dtype(b), types[t]);
                assert_int_equal(lg_tensor_ndim(b), shapes[s].ndim);
                for (int d = 0; d < shapes[s].ndim; d++) assert_int_equal(lg_tensor_dims(b)[d], shapes[s].dims[d]);
                assert_int_equal(lg_tensor_nbytes(b), lg_tensor_nbytes(a));
                if (lg_tensor_nbytes(a)) assert_memory_equal(lg_tensor_data(a), lg_tensor_data(b), lg_tensor_nbytes(a));
                if (!fmt) assert_string_equal(name, "x");
                free(name);
                lg_tensor_free(b);
                unlink(path);
                free(path);
            }
            lg_tensor_free(a);
        }
    }
}

static void test_strings_pb(void **state)
{
    (void)state;
    lg_tensor *a, *b;
    assert_int_equal(lg_tensor_create(LG_STRING, 1, (int64_t[]){ 2 }, &a), LG_OK);
    char **s = lg_tensor_data(a);
    s[0] = strdup("hello");
    s[1] = strdup("");
    char *path = lg_test_tmpfile(NULL, 0, ".pb");
    assert_int_equal(lg_tensor_write_pb(a, "s", path), LG_OK);
    assert_int_equal(lg_tensor_read_file(path, &b, NULL), LG_OK);
    assert_string_equal(((char **)lg_tensor_data(b))[0], "hello");
    assert_string_equal(((char **)lg_tensor_data(b))[1], "");
    assert_error(lg_tensor_write_npy(a, path), LG_E_UNSUPPORTED, "cannot write string tensors as .npy");
    lg_tensor_free(a);
    lg_tensor_free(b);
    unlink(path);
    free(path);
}

#define NPY(h) "\x93NUMPY\x01\x00" h
/* A byte literal and its length (without the terminating NUL). */
#define B(s) s, sizeof(s) - 1

static void test_bad_files(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        const char *bytes;
        size_t len;
        int status;
        const char *needle;
    } cases[] = {
        { "npy short data", B(NPY("\x46\x00{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }          \n") "\0\0\0\0"),
          LG_E_PARSE, "data is truncated" },
        { "npy big-endian", B(NPY("\x46\x00{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }          \n") "\0\0\0\0"),
          LG_E_UNSUPPORTED, "not little-endian" },
        { "npy fortran", B(NPY("\x46\x00{'descr': '<f4', 'fortran_order': True,  'shape': (1,), }          \n") "\0\0\0\0"),
          LG_E_UNSUPPORTED, "Fortran order" },
        { "npy huge", B(NPY("\x4c\x00{'descr': '<f4', 'fortran_order': False, 'shape': (100000,100000,100000), }\n")),
          LG_E_LIMIT, "invalid or too large" },
        { "npy object", B(NPY("\x46\x00{'descr': '|O', 'fortran_order': False, 'shape': (1,), }           \n") "\0\0\0\0\0\0\0\0"),
          LG_E_UNSUPPORTED, "not supported" },
        { "npy header cut", B(NPY("\xff\x00{'descr'")), LG_E_PARSE, "header truncated" },
        { "pb garbage", B("\xff\xff\xff\xff\xff\xff\xff\xff\xff"), LG_E_PARSE, "not a valid ONNX TensorProto" },
        /* dims [4], float, raw_data of 4 bytes */
        { "pb short raw", B("\x08\x04\x10\x01\x4a\x04\0\0\0\0"), LG_E_PARSE, "raw_data has 4 bytes, expected 16" },
        /* dims [2], float, one float_data value */
        { "pb short typed", B("\x08\x02\x10\x01\x22\x04\0\0\x80\x3f"), LG_E_PARSE, "does not match its shape" },
        /* dims [1], data type 99 */
        { "pb bad dtype", B("\x08\x01\x10\x63"), LG_E_UNSUPPORTED, "unsupported data type 99" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *path = lg_test_tmpfile(cases[i].bytes, cases[i].len, ".bin");
        lg_tensor *t = NULL;
        int rc = lg_tensor_read_file(path, &t, NULL);
        if (rc != cases[i].status || !strstr(lg_last_error(), cases[i].needle))
            fail_msg("case '%s': status %s, message \"%s\"", cases[i].what, lg_err_name(rc), lg_last_error());
        assert_null(t);
        unlink(path);
        free(path);
    }
    lg_tensor *t = NULL;
    assert_error(lg_tensor_read_file("/nonexistent.npy", &t, NULL), LG_E_NOT_FOUND, "cannot open /nonexistent.npy");
}

static void test_half_conversion(void **state)
{
    (void)state;
    /* Every half value survives half -> float -> half (NaNs stay NaN). */
    extern float lg_half_to_float(uint16_t h);
    extern uint16_t lg_float_to_half(float f);
    for (uint32_t h = 0; h < 65536; h++) {
        float f = lg_half_to_float((uint16_t)h);
        uint16_t back = lg_float_to_half(f);
        if (f != f) assert_true((back & 0x7c00) == 0x7c00 && (back & 0x3ff));
        else assert_int_equal(back, h);
    }
    assert_int_equal(lg_float_to_half(65520.0f), 0x7c00); /* rounds to inf */
    assert_int_equal(lg_float_to_half(1.0f + 1.0f / 2048), 0x3c00); /* tie to even */
}

/* The 4- and 2-bit types pack into .pb files and come back sign-extended; float8 codes
 * keep their bits. */
static void test_packed_and_float8_pb(void **state)
{
    (void)state;
    static const struct {
        lg_dtype dt;
        int8_t v[5];
    } cases[] = {
        { LG_INT4, { -8, 7, -1, 0, 3 } }, { LG_UINT4, { 15, 0, 9, 1, 6 } }, { LG_INT2, { -2, 1, -1, 0, 1 } },
        { LG_UINT2, { 3, 0, 2, 1, 3 } },  { LG_FLOAT4E2M1, { 15, 7, 8, 1, 2 } }, { LG_FLOAT8E4M3FN, { 0x7e, -2, 0, 1, 0x40 } },
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        lg_tensor *a, *b = NULL;
        assert_int_equal(lg_tensor_create(cases[k].dt, 1, (int64_t[]){ 5 }, &a), LG_OK);
        memcpy(lg_tensor_data(a), cases[k].v, 5);
        char *path = lg_test_tmpfile(NULL, 0, ".pb");
        assert_int_equal(lg_tensor_write_pb(a, "x", path), LG_OK);
        assert_int_equal(lg_tensor_read_file(path, &b, NULL), LG_OK);
        assert_int_equal(lg_tensor_dtype(b), cases[k].dt);
        assert_memory_equal(lg_tensor_data(b), cases[k].v, 5);
        lg_tensor_free(a);
        lg_tensor_free(b);
        unlink(path);
        free(path);
    }
}

/* float8 conversions at the edges of each format (ONNX Cast-25's tables). */
static void test_minifloat_conversion(void **state)
{
    (void)state;
    assert_int_equal(lg_float_to_minifloat(LG_FLOAT8E4M3FN, 448.0f, true), 0x7e);
    assert_int_equal(lg_float_to_minifloat(LG_FLOAT8E4M3FN, 1e6f, true), 0x7e);
    assert_int_equal(lg_float_to_minifloat(LG_FLOAT8E4M3FN, 1e6f, false), 0x7f);    /* NaN */
    assert_int_equal(lg_float_to_minifloat(LG_FLOAT8E5M2, -INFINITY, false), 0xfc); /* -inf */
    assert_int_equal(lg_float_to_minifloat(LG_FLOAT8E4M3FNUZ, -0.0f, true), 0x00);   /* no -0 */
    assert_int_equal(lg_float_to_minifloat(LG_FLOAT4E2M1, -3.5f, true), 0x0e);       /* tie to even: -4 */
    assert_true(lg_minifloat_to_float(LG_FLOAT8E5M2FNUZ, 0x80) != lg_minifloat_to_float(LG_FLOAT8E5M2FNUZ, 0x80));
    assert_true(lg_minifloat_to_float(LG_FLOAT8E4M3FN, 0x01) == ldexpf(1.0f, -9)); /* smallest subnormal */
    assert_int_equal(lg_float_to_e8m0(1.1f, true, LG_ROUND_UP), 128);
    assert_int_equal(lg_float_to_e8m0(1.1f, true, LG_ROUND_DOWN), 127);
    assert_int_equal(lg_float_to_e8m0(0.0f, false, LG_ROUND_NEAREST), 0xff);
    for (int code = 0; code < 256; code++) { /* every finite e4m3fn value comes back to its code */
        float f = lg_minifloat_to_float(LG_FLOAT8E4M3FN, (uint8_t)code);
        if (f == f && (code & 0x7f)) assert_int_equal(lg_float_to_minifloat(LG_FLOAT8E4M3FN, f, false), code);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all_dtypes),
        cmocka_unit_test(test_strings_pb),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_half_conversion),
        cmocka_unit_test(test_packed_and_float8_pb),
        cmocka_unit_test(test_minifloat_conversion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
