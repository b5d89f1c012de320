/*
 * image_decoder.c: ImageDecoder (opset 20): an encoded JPEG or PNG (1-D uint8) decoded
 * with the project's decoders (src/image: libjpeg-turbo, libpng) into uint8 (H, W, C):
 * pixel_format RGB or BGR (3 channels) or Grayscale (1 channel, Pillow's integer luma).
 * Other formats (BMP, TIFF, WebP, JPEG 2000, PNM) are reported as unsupported.
 */
#include <string.h>

#include "image/image_impl.h"
#include "legacygpu/image.h"
#include "runtime/kernel.h"

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* Uncompressed BMP of 24 or 32 bits per pixel (bottom-up or top-down rows). */
static int decode_bmp(const uint8_t *b, size_t n, lg_image **out)
{
    if (n < 54) return lg_error(LG_E_IMAGE, "BMP of %zu bytes is truncated", n);
    uint32_t off = le32(b + 10), compression = le32(b + 30);
    int32_t w = (int32_t)le32(b + 18), h = (int32_t)le32(b + 22);
    int bpp = b[28] | b[29] << 8;
    if ((bpp != 24 && bpp != 32) || compression != 0 || w <= 0 || h == 0 || h == INT32_MIN)
        return lg_error(LG_E_UNSUPPORTED, "BMP of %d bits per pixel, compression %u: only uncompressed 24/32-bit", bpp, compression);
    int64_t ah = h < 0 ? -(int64_t)h : h, stride = (((int64_t)w * bpp / 8) + 3) & ~(int64_t)3;
    LG_CHECK(lg_image_check_size("BMP", w, ah));
    if (off > n || (uint64_t)stride * (uint64_t)ah > n - off) return lg_error(LG_E_IMAGE, "BMP pixel data is truncated");
    LG_CHECK(lg_image_alloc(w, (int)ah, 3, out));
    for (int64_t y = 0; y < ah; y++) {
        const uint8_t *row = b + off + (h > 0 ? ah - 1 - y : y) * stride;
        uint8_t *dst = (*out)->pixels + y * w * 3;
        for (int64_t x = 0; x < w; x++) {
            const uint8_t *px = row + x * (bpp / 8);
            dst[3 * x] = px[2];
            dst[3 * x + 1] = px[1];
            dst[3 * x + 2] = px[0];
        }
    }
    return LG_OK;
}

/* Next PNM header number, skipping whitespace and # comments. */
static int pnm_number(const uint8_t *b, size_t n, size_t *at, int64_t *v)
{
    while (*at < n && (b[*at] == ' ' || b[*at] == '\t' || b[*at] == '\n' || b[*at] == '\r' || b[*at] == '#')) {
        if (b[*at] == '#')
            while (*at < n && b[*at] != '\n') (*at)++;
        else (*at)++;
    }
    if (*at >= n || b[*at] < '0' || b[*at] > '9') return lg_error(LG_E_IMAGE, "PNM header is malformed");
    *v = 0;
    while (*at < n && b[*at] >= '0' && b[*at] <= '9' && *v < ((int64_t)1 << 40)) *v = *v * 10 + (b[(*at)++] - '0');
    return LG_OK;
}

/* Binary PGM (P5) and PPM (P6) with 8-bit samples. */
static int decode_pnm(const uint8_t *b, size_t n, lg_image **out)
{
    int ch = b[1] == '6' ? 3 : 1;
    size_t at = 2;
    int64_t w, h, maxval;
    LG_CHECK(pnm_number(b, n, &at, &w));
    LG_CHECK(pnm_number(b, n, &at, &h));
    LG_CHECK(pnm_number(b, n, &at, &maxval));
    if (maxval <= 0 || maxval > 255) return lg_error(LG_E_UNSUPPORTED, "PNM with maxval %lld: only 8-bit samples", (long long)maxval);
    LG_CHECK(lg_image_check_size("PNM", w, h));
    at++; /* the one whitespace after maxval */
    if (at > n || (uint64_t)(w * h * ch) > n - at) return lg_error(LG_E_IMAGE, "PNM pixel data is truncated");
    LG_CHECK(lg_image_alloc((int)w, (int)h, ch, out));
    memcpy((*out)->pixels, b + at, (size_t)(w * h * ch));
    return LG_OK;
}

static int format_of(const lg_kctx *c, int *channels, bool *bgr)
{
    const char *f = lg_attr_string(c->node, "pixel_format", "RGB");
    *bgr = strcmp(f, "BGR") == 0;
    if (!strcmp(f, "RGB") || *bgr) *channels = 3;
    else if (!strcmp(f, "Grayscale")) *channels = 1;
    else return lg_error(LG_E_INVALID_MODEL, "pixel_format '%s' is not RGB, BGR or Grayscale", f);
    return LG_OK;
}

static int decoder_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    int channels = 3;
    bool bgr;
    LG_CHECK(format_of(c, &channels, &bgr));
    if (x->dtype != LG_UINT8 || x->ndim != 1)
        return lg_error(LG_E_INVALID_MODEL, "encoded_stream must be 1-D uint8, got %s of rank %d", lg_dtype_name(x->dtype), x->ndim);
    const uint8_t *b = x->data;
    size_t n = x->nbytes;
    bool jpeg = n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff;
    bool png = n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8);
    bool bmp = n >= 2 && b[0] == 'B' && b[1] == 'M', pnm = n >= 3 && b[0] == 'P' && (b[1] == '5' || b[1] == '6');
    lg_image *img = NULL;
    if (jpeg || png) LG_CHECK(lg_image_decode(b, n, &img));
    else if (bmp) LG_CHECK(decode_bmp(b, n, &img));
    else if (pnm) LG_CHECK(decode_pnm(b, n, &img));
    else return lg_error(LG_E_UNSUPPORTED, "ImageDecoder: only JPEG, PNG, BMP and binary PNM streams are supported by this build");
    int64_t h = lg_image_height(img), w = lg_image_width(img), dims[3] = { h, w, channels };
    lg_tensor *y = lg_kout_alloc(c, 0, LG_UINT8, 3, dims);
    if (!y) {
        lg_image_free(img);
        return LG_E_NOMEM;
    }
    const uint8_t *px = lg_image_pixels(img);
    uint8_t *out = y->data;
    int src_c = lg_image_channels(img);
    for (int64_t i = 0; i < h * w; i++) {
        const uint8_t *p = px + i * src_c;
        uint8_t r = p[0], g = src_c == 3 ? p[1] : p[0], bl = src_c == 3 ? p[2] : p[0];
        if (channels == 1) {
            out[i] = src_c == 1 ? r : (uint8_t)((r * 19595u + g * 38470u + bl * 7471u + 0x8000u) >> 16);
        } else {
            out[3 * i] = bgr ? bl : r;
            out[3 * i + 1] = g;
            out[3 * i + 2] = bgr ? r : bl;
        }
    }
    lg_image_free(img);
    return LG_OK;
}

const lg_op_def lg_ops_image_decoder[] = {
    { "ImageDecoder", "", 20, 27, NULL, decoder_exec, NULL, NULL },
    { NULL }
};
