/*
 * legacygpu/image.h: decoding images (JPEG, PNG) and turning them into model input tensors.
 *
 * An lg_image holds decoded 8-bit pixels, gray (1 channel) or RGB (3 channels), row-major
 * and interleaved. Decoding accepts every PNG colour type and bit depth (palette, gray,
 * alpha, 16-bit: alpha is dropped, 16-bit is scaled to 8) and JPEG as libjpeg decodes it
 * (gray, YCbCr/RGB, CMYK/YCCK converted to RGB). Images above LG_IMAGE_MAX_PIXELS are
 * refused from their header, before any pixel memory is allocated (LG_E_LIMIT).
 *
 * lg_image_to_tensor() preprocesses one or more images into one float32 batch tensor:
 * colour conversion, resize (shorter side, then centre crop; or straight to the size),
 * scale, per-channel mean/std, NCHW or NHWC layout.
 *
 *   lg_image *imgs[2];
 *   if (lg_image_load("cat.jpg", &imgs[0]) != LG_OK ||
 *       lg_image_load("dog.png", &imgs[1]) != LG_OK) {
 *       fprintf(stderr, "%s\n", lg_last_error());
 *       return 1;
 *   }
 *   lg_image_preprocess pp;
 *   lg_image_preprocess_defaults(&pp);   // 224x224 crop of 256 shorter side, ImageNet
 *   lg_tensor *batch;                    // float32 [2, 3, 224, 224]
 *   int rc = lg_image_to_tensor((const lg_image *const *)imgs, 2, &pp, &batch);
 *   ...
 *   lg_tensor_free(batch);
 *   lg_image_free(imgs[0]);
 *   lg_image_free(imgs[1]);
 */
#ifndef LEGACYGPU_IMAGE_H
#define LEGACYGPU_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest image decoded, in pixels (width * height): 64 megapixels. */
#define LG_IMAGE_MAX_PIXELS ((int64_t)64 * 1024 * 1024)
/* Largest image file read, in bytes. */
#define LG_IMAGE_MAX_FILE_BYTES ((size_t)256 * 1024 * 1024)

typedef struct lg_image lg_image;

/* Decodes a JPEG or PNG file / buffer (format chosen by content). Failures: LG_E_IO
 * (file), LG_E_IMAGE (not an image, corrupt, truncated), LG_E_LIMIT (too large). */
int lg_image_load(const char *path, lg_image **out);
int lg_image_decode(const void *data, size_t len, lg_image **out);
/* An image from caller pixels (copied): channels 1 (gray) or 3 (RGB), rows of width*channels. */
int lg_image_from_pixels(int width, int height, int channels, const uint8_t *pixels, lg_image **out);
void lg_image_free(lg_image *img);

int lg_image_width(const lg_image *img);
int lg_image_height(const lg_image *img);
int lg_image_channels(const lg_image *img);
const uint8_t *lg_image_pixels(const lg_image *img);

typedef enum lg_image_color {
    LG_COLOR_RGB = 0,
    LG_COLOR_BGR = 1,
    LG_COLOR_GRAY = 2, /* ITU-R 601 luma: 0.299 R + 0.587 G + 0.114 B */
} lg_image_color;

typedef enum lg_image_layout {
    LG_LAYOUT_NCHW = 0,
    LG_LAYOUT_NHWC = 1,
} lg_image_layout;

typedef enum lg_image_resize {
    LG_RESIZE_BILINEAR = 0, /* triangle filter, widened when shrinking (antialiased) */
    LG_RESIZE_AREA = 1,     /* box filter: averages the covered source pixels */
    LG_RESIZE_NEAREST = 2,
} lg_image_resize;

/* How images become a tensor. Each image is resized so that its shorter side is
 * resize_shorter (never less than what covers height x width) and centre-cropped to
 * height x width; with crop 0 it is resized straight to height x width instead. Then
 * every value v (0..255) becomes (v * scale - mean[c]) / std[c]. */
typedef struct lg_image_preprocess {
    int width, height;       /* output size in pixels */
    int resize_shorter;      /* <= 0: height/width * 256/224 (256 for 224) */
    int crop;                /* 1: keep aspect and centre-crop; 0: stretch */
    lg_image_resize resize;
    lg_image_color color;
    lg_image_layout layout;
    float scale;             /* applied to 0..255 pixel values first */
    float mean[3], std[3];   /* per output channel (gray: [0] only) */
} lg_image_preprocess;

/* 224 x 224, shorter side 256, crop, bilinear, RGB, NCHW, scale 1/255, ImageNet mean/std. */
void lg_image_preprocess_defaults(lg_image_preprocess *p);
/* Checks sizes (1..65536), std != 0, enum values; LG_E_INVALID_ARG with the field named. */
int lg_image_preprocess_check(const lg_image_preprocess *p);

/* Preprocesses n >= 1 images into a new float32 tensor [n, C, H, W] (or [n, H, W, C]),
 * C = 1 for gray, else 3. The caller frees it with lg_tensor_free(). */
int lg_image_to_tensor(const lg_image *const *images, int n, const lg_image_preprocess *p,
                       lg_tensor **out);

#ifdef __cplusplus
}
#endif
#endif
