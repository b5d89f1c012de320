/*
 * image_decoder.c: ImageDecoder (opset 20): an encoded JPEG or PNG (1-D uint8) decoded
 * with the project's decoders (src/image: libjpeg-turbo, libpng) into uint8 (H, W, C):
 * pixel_format RGB or BGR (3 channels) or Grayscale (1 channel, Pillow's integer luma).
 * Other formats (BMP, TIFF, WebP, JPEG 2000, PNM) are reported as unsupported.
 */
#include <string.h>

#include "legacygpu/image.h"
#include "runtime/kernel.h"

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
    if (!jpeg && !png) return lg_error(LG_E_UNSUPPORTED, "ImageDecoder: only JPEG and PNG streams are supported by this build");
    lg_image *img;
    LG_CHECK(lg_image_decode(b, n, &img));
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
