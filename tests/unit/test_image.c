/*
 * test_image.c: unit tests of image decoding (PNG and JPEG made here with libpng and
 * libjpeg, every PNG colour type; corrupt, truncated and oversized files), preprocessing
 * into tensors (resize, crop, colour, layout, normalisation, batches), model configs and
 * model repositories.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>

#include "legacygpu/legacygpu.h"
#include "legacygpu/repository.h"

/* ---- helpers: encoders writing to memory ----------------------------------------- */

typedef struct buffer {
    uint8_t *data;
    size_t len, cap;
} buffer;

static void buffer_put(buffer *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->data = realloc(b->data, b->cap);
        assert_non_null(b->data);
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void png_write_to_buffer(png_structp png, png_bytep data, size_t n)
{
    buffer_put(png_get_io_ptr(png), data, n);
}

static void png_flush_nothing(png_structp png) { (void)png; }

/* Encodes rows of `row_bytes` bytes as a PNG; palette / trns optional. */
static buffer encode_png(int w, int h, int depth, int color_type, int interlace, const uint8_t *pixels,
                         size_t row_bytes, const png_color *palette, int n_palette, const uint8_t *trns, int n_trns)
{
    buffer b = { 0 };
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png))) fail_msg("libpng failed to encode the test image");
    png_set_write_fn(png, &b, png_write_to_buffer, png_flush_nothing);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color_type, interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, n_palette);
    if (trns) png_set_tRNS(png, info, trns, n_trns, NULL);
    png_write_info(png, info);
    if (depth == 16) png_set_swap(png); /* rows below are little-endian uint16 */
    png_bytep *rows = malloc((size_t)h * sizeof(*rows));
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)pixels + (size_t)y * row_bytes;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    return b;
}

static buffer encode_jpeg(int w, int h, int components, J_COLOR_SPACE space, const uint8_t *pixels)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *out = NULL;
    unsigned long out_len = 0;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &out_len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = components;
    c.in_color_space = space;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)pixels + (size_t)c.next_scanline * w * components;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    buffer b = { 0 };
    buffer_put(&b, out, out_len);
    free(out);
    return b;
}

static lg_image *decode_ok(const buffer *b)
{
    lg_image *img = NULL;
    int rc = lg_image_decode(b->data, b->len, &img);
    if (rc != LG_OK) fail_msg("decode failed: %s", lg_last_error());
    return img;
}

static void assert_pixels(const lg_image *img, int w, int h, int c, const uint8_t *want, int tolerance)
{
    assert_int_equal(lg_image_width(img), w);
    assert_int_equal(lg_image_height(img), h);
    assert_int_equal(lg_image_channels(img), c);
    const uint8_t *px = lg_image_pixels(img);
    for (int i = 0; i < w * h * c; i++)
        if (abs(px[i] - want[i]) > tolerance) fail_msg("byte %d: got %d, want %d", i, px[i], want[i]);
}

static void assert_error(int rc, int want_rc, const char *want_text)
{
    assert_int_equal(rc, want_rc);
    if (!strstr(lg_last_error(), want_text)) fail_msg("error '%s' lacks '%s'", lg_last_error(), want_text);
}

/* ---- PNG ------------------------------------------------------------------------- */

static void test_png_gray8_and_rgb8(void **state)
{
    (void)state;
    uint8_t gray[6] = { 0, 50, 100, 150, 200, 255 };
    buffer b = encode_png(3, 2, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, gray, 3, NULL, 0, NULL, 0);
    lg_image *img = decode_ok(&b);
    assert_pixels(img, 3, 2, 1, gray, 0);
    lg_image_free(img);
    free(b.data);

    uint8_t rgb[12] = { 255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30 };
    b = encode_png(2, 2, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, rgb, 6, NULL, 0, NULL, 0);
    img = decode_ok(&b);
    assert_pixels(img, 2, 2, 3, rgb, 0);
    lg_image_free(img);
    free(b.data);
}

static void test_png_low_and_high_bit_depths(void **state)
{
    (void)state;
    /* 1-bit gray: 8 pixels 10110001 */
    uint8_t bits[1] = { 0xB1 };
    uint8_t want_bits[8] = { 255, 0, 255, 255, 0, 0, 0, 255 };
    buffer b = encode_png(8, 1, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, bits, 1, NULL, 0, NULL, 0);
    lg_image *img = decode_ok(&b);
    assert_pixels(img, 8, 1, 1, want_bits, 0);
    lg_image_free(img);
    free(b.data);

    /* 16-bit RGB: scaled to 8 bits */
    uint16_t rgb16[6] = { 0, 65535, 32896, 257 * 10, 257 * 200, 257 * 99 };
    uint8_t want16[6] = { 0, 255, 128, 10, 200, 99 };
    b = encode_png(2, 1, 16, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, (uint8_t *)rgb16, 12, NULL, 0, NULL, 0);
    img = decode_ok(&b);
    assert_pixels(img, 2, 1, 3, want16, 0);
    lg_image_free(img);
    free(b.data);

    /* 16-bit gray */
    uint16_t g16[2] = { 257 * 7, 65535 };
    uint8_t wantg[2] = { 7, 255 };
    b = encode_png(2, 1, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, (uint8_t *)g16, 4, NULL, 0, NULL, 0);
    img = decode_ok(&b);
    assert_pixels(img, 2, 1, 1, wantg, 0);
    lg_image_free(img);
    free(b.data);
}

static void test_png_alpha_palette_interlace(void **state)
{
    (void)state;
    uint8_t ga[4] = { 10, 0, 240, 255 };
    uint8_t want_ga[2] = { 10, 240 };
    buffer b = encode_png(2, 1, 8, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_INTERLACE_NONE, ga, 4, NULL, 0, NULL, 0);
    lg_image *img = decode_ok(&b);
    assert_pixels(img, 2, 1, 1, want_ga, 0);
    lg_image_free(img);
    free(b.data);

    uint8_t rgba[8] = { 1, 2, 3, 0, 4, 5, 6, 128 };
    uint8_t want_rgba[6] = { 1, 2, 3, 4, 5, 6 };
    b = encode_png(2, 1, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_NONE, rgba, 8, NULL, 0, NULL, 0);
    img = decode_ok(&b);
    assert_pixels(img, 2, 1, 3, want_rgba, 0);
    lg_image_free(img);
    free(b.data);

    /* 4-bit palette with transparency: indices 0,1,2,1 */
    png_color pal[3] = { { 255, 0, 0 }, { 0, 128, 0 }, { 1, 2, 3 } };
    uint8_t trns[1] = { 0 };
    uint8_t idx[2] = { 0x01, 0x21 };
    uint8_t want_pal[12] = { 255, 0, 0, 0, 128, 0, 1, 2, 3, 0, 128, 0 };
    b = encode_png(4, 1, 4, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, idx, 2, pal, 3, trns, 1);
    img = decode_ok(&b);
    assert_pixels(img, 4, 1, 3, want_pal, 0);
    lg_image_free(img);
    free(b.data);

    /* Adam7 interlaced 9x9 RGB */
    uint8_t big[9 * 9 * 3];
    for (int i = 0; i < 9 * 9 * 3; i++) big[i] = (uint8_t)(i * 7);
    b = encode_png(9, 9, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7, big, 27, NULL, 0, NULL, 0);
    img = decode_ok(&b);
    assert_pixels(img, 9, 9, 3, big, 0);
    lg_image_free(img);
    free(b.data);
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return c ^ 0xFFFFFFFFu;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void test_png_bad_data(void **state)
{
    (void)state;
    lg_image *img = NULL;
    /* a valid header claiming 100000 x 100000 pixels, and nothing else */
    uint8_t huge[8 + 25] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R' };
    put_be32(huge + 16, 100000);
    put_be32(huge + 20, 100000);
    huge[24] = 8, huge[25] = 2;
    put_be32(huge + 29, crc32_of(huge + 12, 17));
    assert_error(lg_image_decode(huge, sizeof(huge), &img), LG_E_LIMIT, "megapixels");
    assert_null(img);

    uint8_t rgb[8 * 8 * 3] = { 0 };
    buffer b = encode_png(8, 8, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, rgb, 24, NULL, 0, NULL, 0);
    assert_error(lg_image_decode(b.data, b.len - 20, &img), LG_E_IMAGE, "PNG");
    assert_error(lg_image_decode(b.data, 12, &img), LG_E_IMAGE, "truncated");
    b.data[40] ^= 0x55; /* inside IDAT: the CRC no longer matches */
    assert_error(lg_image_decode(b.data, b.len, &img), LG_E_IMAGE, "PNG");
    free(b.data);
}

/* ---- JPEG ------------------------------------------------------------------------ */

static void test_jpeg_gray_rgb_cmyk(void **state)
{
    (void)state;
    uint8_t gray[16 * 16];
    for (int i = 0; i < 16 * 16; i++) gray[i] = (uint8_t)(i % 16 * 8 + 40);
    buffer b = encode_jpeg(16, 16, 1, JCS_GRAYSCALE, gray);
    lg_image *img = decode_ok(&b);
    assert_pixels(img, 16, 16, 1, gray, 3);
    lg_image_free(img);
    free(b.data);

    uint8_t rgb[16 * 16 * 3];
    for (int i = 0; i < 16 * 16; i++) rgb[3 * i] = 200, rgb[3 * i + 1] = 100, rgb[3 * i + 2] = 30;
    b = encode_jpeg(16, 16, 3, JCS_RGB, rgb);
    img = decode_ok(&b);
    assert_pixels(img, 16, 16, 3, rgb, 4);
    lg_image_free(img);
    free(b.data);

    /* libjpeg writes an Adobe marker for CMYK: values are inverted (255 = no ink) */
    uint8_t cmyk[8 * 8 * 4], red[8 * 8 * 3];
    for (int i = 0; i < 64; i++) {
        cmyk[4 * i] = 255, cmyk[4 * i + 1] = 0, cmyk[4 * i + 2] = 0, cmyk[4 * i + 3] = 255;
        red[3 * i] = 255, red[3 * i + 1] = 0, red[3 * i + 2] = 0;
    }
    b = encode_jpeg(8, 8, 4, JCS_CMYK, cmyk);
    img = decode_ok(&b);
    assert_pixels(img, 8, 8, 3, red, 4);
    lg_image_free(img);
    free(b.data);
}

static void test_jpeg_bad_data(void **state)
{
    (void)state;
    uint8_t rgb[32 * 32 * 3];
    for (int i = 0; i < (int)sizeof(rgb); i++) rgb[i] = (uint8_t)(i * 13);
    buffer b = encode_jpeg(32, 32, 3, JCS_RGB, rgb);
    lg_image *img = NULL;
    assert_error(lg_image_decode(b.data, b.len / 2, &img), LG_E_IMAGE, "JPEG");
    assert_null(img);
    assert_error(lg_image_decode(b.data, 40, &img), LG_E_IMAGE, "JPEG");
    /* patch the frame header (SOF0) to 65000 x 65000 */
    for (size_t i = 0; i + 9 < b.len; i++)
        if (b.data[i] == 0xFF && b.data[i + 1] == 0xC0) {
            b.data[i + 5] = 0xFD, b.data[i + 6] = 0xE8, b.data[i + 7] = 0xFD, b.data[i + 8] = 0xE8;
            break;
        }
    assert_error(lg_image_decode(b.data, b.len, &img), LG_E_LIMIT, "65000 x 65000");
    free(b.data);
}

static void test_not_images(void **state)
{
    (void)state;
    lg_image *img = NULL;
    assert_error(lg_image_decode("hello world, not an image", 25, &img), LG_E_IMAGE, "not an image");
    assert_error(lg_image_decode("", 0, &img), LG_E_IMAGE, "empty");
    assert_error(lg_image_decode("GIF89a......", 12, &img), LG_E_IMAGE, "GIF");
    assert_error(lg_image_load("/nonexistent/cat.jpg", &img), LG_E_IO, "/nonexistent/cat.jpg");
    assert_error(lg_image_load("/", &img), LG_E_IO, "not a regular file");
    assert_null(img);
}

/* ---- preprocessing --------------------------------------------------------------- */

static lg_image *image_from(int w, int h, int c, const uint8_t *px)
{
    lg_image *img = NULL;
    assert_int_equal(lg_image_from_pixels(w, h, c, px, &img), LG_OK);
    return img;
}

static lg_tensor *to_tensor(lg_image *img, const lg_image_preprocess *p)
{
    lg_tensor *t = NULL;
    const lg_image *imgs[1] = { img };
    int rc = lg_image_to_tensor(imgs, 1, p, &t);
    if (rc != LG_OK) fail_msg("lg_image_to_tensor: %s", lg_last_error());
    return t;
}

static void test_preprocess_normalises_constant_image(void **state)
{
    (void)state;
    uint8_t px[50 * 30 * 3];
    for (int i = 0; i < 50 * 30; i++) px[3 * i] = 255, px[3 * i + 1] = 128, px[3 * i + 2] = 0;
    lg_image *img = image_from(50, 30, 3, px);
    lg_image_preprocess p;
    lg_image_preprocess_defaults(&p);
    lg_tensor *t = to_tensor(img, &p);
    const int64_t want_dims[4] = { 1, 3, 224, 224 };
    assert_int_equal(lg_tensor_ndim(t), 4);
    assert_memory_equal(lg_tensor_dims(t), want_dims, sizeof(want_dims));
    const float *x = lg_tensor_data(t);
    const float value[3] = { 255, 128, 0 };
    for (int c = 0; c < 3; c++) {
        float want = (value[c] / 255.0f - p.mean[c]) / p.std[c];
        for (int i = 0; i < 224 * 224; i++) assert_float_equal(x[c * 224 * 224 + i], want, 1e-4);
    }
    lg_tensor_free(t);
    lg_image_free(img);
}

static void test_preprocess_area_recovers_upscaled_grid(void **state)
{
    (void)state;
    uint8_t small[8 * 8], big[64 * 64];
    for (int i = 0; i < 64; i++) small[i] = (uint8_t)(i * 4);
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++) big[y * 64 + x] = small[(y / 8) * 8 + x / 8];
    lg_image *img = image_from(64, 64, 1, big);
    lg_image_preprocess p;
    lg_image_preprocess_defaults(&p);
    p.width = p.height = 8;
    p.crop = 0;
    p.color = LG_COLOR_GRAY;
    p.resize = LG_RESIZE_AREA;
    p.scale = 1.0f;
    p.mean[0] = 0.0f, p.std[0] = 1.0f;
    lg_tensor *t = to_tensor(img, &p);
    const float *x = lg_tensor_data(t);
    for (int i = 0; i < 64; i++) assert_float_equal(x[i], small[i], 1e-3);
    lg_tensor_free(t);
    lg_image_free(img);
}

static void test_preprocess_same_size_is_identity(void **state)
{
    (void)state;
    uint8_t px[5 * 4 * 3];
    for (int i = 0; i < (int)sizeof(px); i++) px[i] = (uint8_t)(i * 11);
    lg_image *img = image_from(5, 4, 3, px);
    lg_image_preprocess p;
    lg_image_preprocess_defaults(&p);
    p.width = 5, p.height = 4, p.crop = 0, p.scale = 1.0f;
    for (int c = 0; c < 3; c++) p.mean[c] = 0.0f, p.std[c] = 1.0f;
    for (int mode = LG_RESIZE_BILINEAR; mode <= LG_RESIZE_NEAREST; mode++) {
        p.resize = (lg_image_resize)mode;
        p.layout = LG_LAYOUT_NHWC;
        lg_tensor *t = to_tensor(img, &p);
        const float *x = lg_tensor_data(t);
        for (int i = 0; i < (int)sizeof(px); i++) assert_float_equal(x[i], px[i], 1e-3);
        lg_tensor_free(t);
        p.layout = LG_LAYOUT_NCHW;
        p.color = LG_COLOR_BGR;
        t = to_tensor(img, &p);
        x = lg_tensor_data(t);
        for (int c = 0; c < 3; c++) /* BGR planes: plane 0 is blue */
            for (int i = 0; i < 20; i++) assert_float_equal(x[c * 20 + i], px[i * 3 + 2 - c], 1e-3);
        lg_tensor_free(t);
        p.color = LG_COLOR_RGB;
    }
    lg_image_free(img);
}

static void test_preprocess_crop_and_gray(void **state)
{
    (void)state;
    /* 300 x 200, left half black, right half white: shorter side 256 -> 384 x 256,
     * centre crop 224 keeps the boundary in the middle */
    uint8_t *px = malloc(300 * 200 * 3);
    for (int y = 0; y < 200; y++)
        for (int x = 0; x < 300; x++) memset(px + (y * 300 + x) * 3, x < 150 ? 0 : 255, 3);
    lg_image *img = image_from(300, 200, 3, px);
    free(px);
    lg_image_preprocess p;
    lg_image_preprocess_defaults(&p);
    p.color = LG_COLOR_GRAY;
    p.scale = 1.0f, p.mean[0] = 0.0f, p.std[0] = 1.0f;
    lg_tensor *t = to_tensor(img, &p);
    const int64_t want_dims[4] = { 1, 1, 224, 224 };
    assert_memory_equal(lg_tensor_dims(t), want_dims, sizeof(want_dims));
    const float *x = lg_tensor_data(t);
    for (int y = 0; y < 224; y += 37) {
        assert_float_equal(x[y * 224 + 0], 0.0f, 1e-3);
        assert_float_equal(x[y * 224 + 110], 0.0f, 1e-3);
        assert_float_equal(x[y * 224 + 113], 255.0f, 1e-3);
        assert_float_equal(x[y * 224 + 223], 255.0f, 1e-3);
        assert_float_equal(x[y * 224 + 111] + x[y * 224 + 112], 255.0f, 1e-2); /* symmetric edge */
    }
    lg_tensor_free(t);
    lg_image_free(img);

    uint8_t rgb[3] = { 255, 0, 0 };
    img = image_from(1, 1, 3, rgb);
    p.width = p.height = 2;
    t = to_tensor(img, &p);
    assert_float_equal(((float *)lg_tensor_data(t))[3], 76.0f, 1e-3); /* 0.299 * 255, rounded */
    lg_tensor_free(t);
    lg_image_free(img);
}

static void test_preprocess_batch_and_errors(void **state)
{
    (void)state;
    uint8_t a = 10, b = 200;
    lg_image *imgs[2] = { image_from(1, 1, 1, &a), image_from(1, 1, 1, &b) };
    lg_image_preprocess p;
    lg_image_preprocess_defaults(&p);
    p.width = 3, p.height = 2, p.scale = 1.0f;
    for (int c = 0; c < 3; c++) p.mean[c] = 0.0f, p.std[c] = 1.0f;
    lg_tensor *t = NULL;
    assert_int_equal(lg_image_to_tensor((const lg_image *const *)imgs, 2, &p, &t), LG_OK);
    const int64_t want_dims[4] = { 2, 3, 2, 3 };
    assert_memory_equal(lg_tensor_dims(t), want_dims, sizeof(want_dims));
    const float *x = lg_tensor_data(t);
    for (int i = 0; i < 18; i++) {
        assert_float_equal(x[i], 10.0f, 1e-3); /* gray images are replicated to RGB */
        assert_float_equal(x[18 + i], 200.0f, 1e-3);
    }
    lg_tensor_free(t);
    p.std[1] = 0.0f;
    assert_error(lg_image_to_tensor((const lg_image *const *)imgs, 2, &p, &t), LG_E_INVALID_ARG, "std");
    p.std[1] = 1.0f, p.width = 0;
    assert_error(lg_image_to_tensor((const lg_image *const *)imgs, 2, &p, &t), LG_E_INVALID_ARG, "size");
    assert_error(lg_image_to_tensor((const lg_image *const *)imgs, 0, &p, &t), LG_E_INVALID_ARG, "image");
    lg_image_free(imgs[0]);
    lg_image_free(imgs[1]);
}

/* ---- configs and repositories ---------------------------------------------------- */

static char tmpdir[64];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_image_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_config_fields(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof(path), "%s/labels.txt", tmpdir);
    write_text(path, "zero\none\r\n\ntwo\n\n");
    const char *json = "{\"input\": {\"size\": [8, 10], \"color\": \"gray\", \"layout\": \"nhwc\", \"resize\": \"area\","
                       " \"crop\": false, \"resize_shorter\": 12, \"scale\": 0.5, \"mean\": [1], \"std\": [1, 2, 4],"
                       " \"name\": \"pixels\"}, \"labels\": \"labels.txt\","
                       " \"postprocess\": {\"type\": \"raw\", \"top_k\": 2, \"softmax\": \"auto\"}}";
    lg_model_config *cfg = NULL;
    int rc = lg_model_config_parse(json, strlen(json), "test.json", tmpdir, &cfg);
    if (rc != LG_OK) fail_msg("%s", lg_last_error());
    lg_image_preprocess p;
    lg_image_preprocess_defaults(&p);
    lg_model_config_apply_input(cfg, &p);
    assert_int_equal(p.height, 8);
    assert_int_equal(p.width, 10);
    assert_int_equal(p.color, LG_COLOR_GRAY);
    assert_int_equal(p.layout, LG_LAYOUT_NHWC);
    assert_int_equal(p.resize, LG_RESIZE_AREA);
    assert_int_equal(p.crop, 0);
    assert_int_equal(p.resize_shorter, 12);
    assert_float_equal(p.scale, 0.5f, 0);
    assert_float_equal(p.mean[2], 1.0f, 0);
    assert_float_equal(p.std[2], 4.0f, 0);
    assert_string_equal(lg_model_config_input_name(cfg), "pixels");
    lg_postprocess post;
    lg_model_config_postprocess(cfg, &post);
    assert_int_equal(post.type, LG_POSTPROCESS_RAW);
    assert_int_equal(post.top_k, 2);
    assert_int_equal(post.softmax, LG_SOFTMAX_AUTO);
    assert_int_equal(lg_model_config_num_labels(cfg), 4);
    assert_string_equal(lg_model_config_label(cfg, 1), "one");
    assert_string_equal(lg_model_config_label(cfg, 2), "");
    assert_string_equal(lg_model_config_label(cfg, 3), "two");
    assert_null(lg_model_config_label(cfg, 4));
    lg_model_config_free(cfg);

    /* an empty config changes nothing */
    assert_int_equal(lg_model_config_parse("{}", 2, "empty.json", NULL, &cfg), LG_OK);
    lg_image_preprocess q;
    lg_image_preprocess_defaults(&p);
    lg_image_preprocess_defaults(&q);
    lg_model_config_apply_input(cfg, &q);
    assert_memory_equal(&p, &q, sizeof(p));
    lg_model_config_postprocess(cfg, &post);
    assert_int_equal(post.top_k, 5);
    lg_model_config_free(cfg);
}

static void test_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json, *want;
    } cases[] = {
        { "{\"input\": {\"size\": \"big\"}}", "bad.json: field 'input.size'" },
        { "{\"input\": {\"size\": [0, 3]}}", "field 'input.size'" },
        { "{\"input\": {\"colour\": \"rgb\"}}", "unknown field 'input.colour'" },
        { "{\"input\": {\"color\": \"cmyk\"}}", "field 'input.color': expected \"rgb\"" },
        { "{\"input\": {\"std\": [1, 0, 1]}}", "field 'input.std'" },
        { "{\"input\": {\"mean\": [1, 2]}}", "field 'input.mean'" },
        { "{\"postprocess\": {\"top_k\": 0}}", "field 'postprocess.top_k'" },
        { "{\"postprocess\": {\"softmax\": 3}}", "field 'postprocess.softmax'" },
        { "{\"input\": 5}", "field 'input': expected an object" },
        { "{\"labels\": \"missing.txt\"}", "field 'labels'" },
        { "{\"input\": {}, }", "bad.json: line 1" },
        { "[1]", "expected an object" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lg_model_config *cfg = (lg_model_config *)1;
        int rc = lg_model_config_parse(cases[i].json, strlen(cases[i].json), "bad.json", tmpdir, &cfg);
        assert_true(rc == LG_E_PARSE || rc == LG_E_NOT_FOUND);
        assert_null(cfg);
        if (!strstr(lg_last_error(), cases[i].want))
            fail_msg("case %zu: error '%s' lacks '%s'", i, lg_last_error(), cases[i].want);
    }
}

static void test_repository(void **state)
{
    (void)state;
    char repo_dir[128], path[256];
    snprintf(repo_dir, sizeof(repo_dir), "%s/repo", tmpdir);
    assert_int_equal(mkdir(repo_dir, 0755), 0);
    static const char *const dirs[] = { "beta", "alpha", "empty", ".hidden" };
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/%s", repo_dir, dirs[i]);
        assert_int_equal(mkdir(path, 0755), 0);
        if (strcmp(dirs[i], "empty") != 0) {
            snprintf(path, sizeof(path), "%s/%s/model.onnx", repo_dir, dirs[i]);
            write_text(path, "not really onnx");
        }
    }
    snprintf(path, sizeof(path), "%s/beta/config.json", repo_dir);
    write_text(path, "{\"postprocess\": {\"top_k\": 1}}");

    lg_repo *repo = NULL;
    assert_int_equal(lg_repo_open(repo_dir, &repo), LG_OK);
    assert_int_equal(lg_repo_num_models(repo), 2);
    assert_string_equal(lg_repo_model_name(repo, 0), "alpha");
    assert_string_equal(lg_repo_model_name(repo, 1), "beta");
    const char *model_path, *config_path;
    assert_int_equal(lg_repo_find(repo, "alpha", &model_path, &config_path), LG_OK);
    assert_true(strstr(model_path, "repo/alpha/model.onnx") != NULL);
    assert_null(config_path);
    assert_int_equal(lg_repo_find(repo, "beta", &model_path, &config_path), LG_OK);
    assert_true(strstr(config_path, "repo/beta/config.json") != NULL);
    lg_model_config *cfg;
    assert_int_equal(lg_repo_load_config(repo, "beta", &cfg), LG_OK);
    lg_postprocess post;
    lg_model_config_postprocess(cfg, &post);
    assert_int_equal(post.top_k, 1);
    lg_model_config_free(cfg);
    assert_error(lg_repo_find(repo, "gamma", NULL, NULL), LG_E_NOT_FOUND, "it has: alpha, beta");
    assert_error(lg_repo_find(repo, "../repo/alpha", NULL, NULL), LG_E_NOT_FOUND, "no model");

    snprintf(path, sizeof(path), "%s/empty/model.onnx", repo_dir);
    write_text(path, "x");
    assert_int_equal(lg_repo_rescan(repo), LG_OK);
    assert_int_equal(lg_repo_num_models(repo), 3);
    lg_repo_free(repo);

    snprintf(path, sizeof(path), "%s/beta/config.json", repo_dir);
    write_text(path, "{\"input\": {\"layout\": \"chw\"}}");
    assert_int_equal(lg_repo_open(repo_dir, &repo), LG_OK);
    assert_error(lg_repo_load_config(repo, "beta", &cfg), LG_E_PARSE, "beta/config.json: field 'input.layout'");
    lg_repo_free(repo);
    assert_error(lg_repo_open("/nonexistent/models", &repo), LG_E_NOT_FOUND, "/nonexistent/models");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_gray8_and_rgb8),
        cmocka_unit_test(test_png_low_and_high_bit_depths),
        cmocka_unit_test(test_png_alpha_palette_interlace),
        cmocka_unit_test(test_png_bad_data),
        cmocka_unit_test(test_jpeg_gray_rgb_cmyk),
        cmocka_unit_test(test_jpeg_bad_data),
        cmocka_unit_test(test_not_images),
        cmocka_unit_test(test_preprocess_normalises_constant_image),
        cmocka_unit_test(test_preprocess_area_recovers_upscaled_grid),
        cmocka_unit_test(test_preprocess_same_size_is_identity),
        cmocka_unit_test(test_preprocess_crop_and_gray),
        cmocka_unit_test(test_preprocess_batch_and_errors),
        cmocka_unit_test(test_config_fields),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_repository),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
