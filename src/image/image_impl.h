/*
 * image_impl.h: the layout of lg_image inside the library, shared by decode.c and
 * preprocess.c.
 */
#ifndef LG_IMAGE_IMPL_H
#define LG_IMAGE_IMPL_H

#include <stdint.h>

#include "legacygpu/image.h"

/* Largest width or height accepted, besides LG_IMAGE_MAX_PIXELS in total. */
#define LG_IMAGE_MAX_SIDE (1 << 18)

struct lg_image {
    int width, height;
    int channels;      /* 1 gray, 3 RGB */
    uint8_t *pixels;   /* height rows of width * channels bytes */
};

/* Checks width x height against the limits; fmt names the source ("PNG") in the message. */
int lg_image_check_size(const char *fmt, int64_t width, int64_t height);
/* New image with uninitialised pixels, after lg_image_check_size. */
int lg_image_alloc(int width, int height, int channels, lg_image **out);

#endif
