/*
 * preprocess.c: turning decoded images into a float32 batch tensor for a model:
 * colour conversion, separable resampling (bilinear, area, nearest) of the part of the
 * resized image that survives the centre crop, scale, mean/std, NCHW or NHWC.
 *
 * Resampling computes, per output row and column, the source pixels and weights it
 * covers (resize_axis); each output row is then a vertical weighted sum of source rows
 * over the needed columns, followed by the horizontal weighted sum. Filters are widened
 * by the shrink factor, so downscaling averages all covered pixels (no aliasing).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/tensor_impl.h"
#include "image/image_impl.h"

#define MAX_OUTPUT_SIDE 65536
/* Most filter weights one axis may need (guards extreme aspect ratios). */
#define MAX_AXIS_WEIGHTS ((int64_t)64 << 20)

void lg_image_preprocess_defaults(lg_image_preprocess *p)
{
    static const lg_image_preprocess imagenet = {
        .width = 224, .height = 224, .resize_shorter = 0, .crop = 1,
        .resize = LG_RESIZE_BILINEAR, .color = LG_COLOR_RGB, .layout = LG_LAYOUT_NCHW,
        .scale = 1.0f / 255.0f,
        .mean = { 0.485f, 0.456f, 0.406f }, .std = { 0.229f, 0.224f, 0.225f },
    };
    *p = imagenet;
}

int lg_image_preprocess_check(const lg_image_preprocess *p)
{
    if (p->width < 1 || p->width > MAX_OUTPUT_SIDE || p->height < 1 || p->height > MAX_OUTPUT_SIDE)
        return lg_error(LG_E_INVALID_ARG, "image size %d x %d is outside 1..%d", p->width, p->height,
                        MAX_OUTPUT_SIDE);
    if (p->resize_shorter > MAX_OUTPUT_SIDE)
        return lg_error(LG_E_INVALID_ARG, "resize_shorter %d is above %d", p->resize_shorter, MAX_OUTPUT_SIDE);
    if ((unsigned)p->resize > LG_RESIZE_NEAREST || (unsigned)p->color > LG_COLOR_GRAY ||
        (unsigned)p->layout > LG_LAYOUT_NHWC)
        return lg_error(LG_E_INVALID_ARG, "invalid resize (%d), color (%d) or layout (%d) value",
                        (int)p->resize, (int)p->color, (int)p->layout);
    if (!isfinite(p->scale)) return lg_error(LG_E_INVALID_ARG, "scale is not a finite number");
    for (int c = 0; c < 3; c++)
        if (!isfinite(p->mean[c]) || !isfinite(p->std[c]) || p->std[c] == 0.0f)
            return lg_error(LG_E_INVALID_ARG, "mean[%d] = %g, std[%d] = %g: std must be non-zero and both finite",
                            c, p->mean[c], c, p->std[c]);
    return LG_OK;
}

/* ---- filter weights along one axis ------------------------------------------------ */

/* Output i of an axis takes source pixels first[i] .. first[i] + taps - 1 with weights
 * weight[i * taps ..] (zero past the image edge). */
typedef struct resize_axis {
    int taps;
    int *first;
    float *weight;
} resize_axis;

static double filter_weight(lg_image_resize mode, double x, double support)
{
    double d = fabs(x);
    if (mode == LG_RESIZE_BILINEAR) return d < support ? 1.0 - d / support : 0.0;
    /* area: overlap of the source pixel [x - 0.5, x + 0.5] with [-support, support] */
    double lo = fmax(x - 0.5, -support), hi = fmin(x + 0.5, support);
    return hi > lo ? hi - lo : 0.0;
}

/* Weights for out_n outputs taken at offset within an axis of in_n pixels resized to
 * scaled_n pixels (out_n + offset <= scaled_n). */
static int resize_axis_build(resize_axis *ax, lg_image_resize mode, int in_n, double scaled_n, int offset,
                             int out_n)
{
    double factor = in_n / scaled_n; /* source pixels per output pixel */
    double support = mode == LG_RESIZE_NEAREST ? 0.5 : (factor > 1.0 ? factor : 1.0) * (mode == LG_RESIZE_AREA ? 0.5 : 1.0);
    ax->taps = mode == LG_RESIZE_NEAREST ? 1 : (int)ceil(2.0 * support) + 2;
    if ((int64_t)ax->taps * out_n > MAX_AXIS_WEIGHTS)
        return lg_error(LG_E_LIMIT, "resizing %d pixels to %.0f needs too many filter weights", in_n, scaled_n);
    ax->first = malloc((size_t)out_n * sizeof(int));
    ax->weight = calloc((size_t)out_n * ax->taps, sizeof(float));
    if (!ax->first || !ax->weight) return lg_error(LG_E_NOMEM, "out of memory for resize weights");
    for (int i = 0; i < out_n; i++) {
        double center = (i + offset + 0.5) * factor;
        float *w = ax->weight + (size_t)i * ax->taps;
        if (mode == LG_RESIZE_NEAREST) {
            int s = (int)floor(center);
            ax->first[i] = s < 0 ? 0 : s >= in_n ? in_n - 1 : s;
            w[0] = 1.0f;
            continue;
        }
        int lo = (int)floor(center - support), hi = (int)ceil(center + support);
        if (lo < 0) lo = 0;
        if (hi > in_n) hi = in_n;
        if (hi - lo > ax->taps) hi = lo + ax->taps;
        double sum = 0.0;
        for (int j = lo; j < hi; j++) sum += filter_weight(mode, j + 0.5 - center, support);
        ax->first[i] = lo;
        for (int j = lo; j < hi; j++) w[j - lo] = (float)(filter_weight(mode, j + 0.5 - center, support) / sum);
    }
    return LG_OK;
}

static void resize_axis_free(resize_axis *ax)
{
    free(ax->first);
    free(ax->weight);
}

/* ---- one image -------------------------------------------------------------------- */

/* Gray copy of an RGB image (ITU-R 601 luma, rounded). */
static int image_to_gray(const lg_image *img, lg_image **out)
{
    LG_CHECK(lg_image_alloc(img->width, img->height, 1, out));
    size_t n = (size_t)img->width * img->height;
    const uint8_t *s = img->pixels;
    for (size_t i = 0; i < n; i++, s += 3)
        (*out)->pixels[i] = (uint8_t)((s[0] * 299 + s[1] * 587 + s[2] * 114 + 500) / 1000);
    return LG_OK;
}

/* The resized size (before the crop) of an image under p. */
static void resized_size(const lg_image *img, const lg_image_preprocess *p, double *w, double *h)
{
    if (!p->crop) {
        *w = p->width;
        *h = p->height;
        return;
    }
    int crop_short = p->width < p->height ? p->width : p->height;
    double target = p->resize_shorter > 0 ? p->resize_shorter : floor(crop_short * 256.0 / 224.0 + 0.5);
    double s = target / (img->width < img->height ? img->width : img->height);
    /* never smaller than the crop */
    if (img->width * s < p->width) s = (double)p->width / img->width;
    if (img->height * s < p->height) s = (double)p->height / img->height;
    *w = img->width <= img->height ? floor(img->width * s + 0.5) : floor(img->width * s);
    *h = img->height < img->width ? floor(img->height * s + 0.5) : floor(img->height * s);
    if (*w < p->width) *w = p->width;
    if (*h < p->height) *h = p->height;
}

/* Where output channel c of the tensor comes from in the resampled pixels. */
static int source_channel(const lg_image_preprocess *p, int src_channels, int c)
{
    if (src_channels == 1) return 0;
    return p->color == LG_COLOR_BGR ? 2 - c : c;
}

/* Resamples img (1 or 3 channels) into out_px [height][width][channels] floats. */
static int resample(const lg_image *img, const lg_image_preprocess *p, float *out_px)
{
    double sw, sh;
    resized_size(img, p, &sw, &sh);
    int ox = (int)((sw - p->width) / 2), oy = (int)((sh - p->height) / 2);
    resize_axis ax = { 0 }, ay = { 0 };
    int rc = resize_axis_build(&ax, p->resize, img->width, sw, ox, p->width);
    if (rc == LG_OK) rc = resize_axis_build(&ay, p->resize, img->height, sh, oy, p->height);
    int ch = img->channels;
    int col_lo = ax.first ? ax.first[0] : 0;
    int col_hi = ax.first ? ax.first[p->width - 1] + ax.taps : 0;
    if (col_hi > img->width) col_hi = img->width;
    float *row = NULL;
    if (rc == LG_OK && !(row = malloc((size_t)(col_hi - col_lo) * ch * sizeof(float))))
        rc = lg_error(LG_E_NOMEM, "out of memory for a resize row");
    for (int y = 0; rc == LG_OK && y < p->height; y++) {
        /* vertical pass over the needed columns */
        const float *wy = ay.weight + (size_t)y * ay.taps;
        size_t ncols = (size_t)(col_hi - col_lo) * ch;
        memset(row, 0, ncols * sizeof(float));
        for (int t = 0; t < ay.taps && ay.first[y] + t < img->height; t++) {
            if (wy[t] == 0.0f) continue;
            const uint8_t *src = img->pixels + ((size_t)(ay.first[y] + t) * img->width + col_lo) * ch;
            for (size_t k = 0; k < ncols; k++) row[k] += wy[t] * src[k];
        }
        /* horizontal pass */
        float *dst = out_px + (size_t)y * p->width * ch;
        for (int x = 0; x < p->width; x++) {
            const float *wx = ax.weight + (size_t)x * ax.taps;
            const float *src = row + (size_t)(ax.first[x] - col_lo) * ch;
            int taps = ax.taps < img->width - ax.first[x] ? ax.taps : img->width - ax.first[x];
            for (int c = 0; c < ch; c++) {
                float acc = 0.0f;
                for (int t = 0; t < taps; t++) acc += wx[t] * src[t * ch + c];
                dst[x * ch + c] = acc;
            }
        }
    }
    free(row);
    resize_axis_free(&ax);
    resize_axis_free(&ay);
    return rc;
}

/* Preprocesses one image into batch element `dst` (C * H * W floats). */
static int image_to_batch_item(const lg_image *img, const lg_image_preprocess *p, float *dst)
{
    lg_image *gray = NULL;
    if (p->color == LG_COLOR_GRAY && img->channels == 3) {
        LG_CHECK(image_to_gray(img, &gray));
        img = gray;
    }
    int ch = img->channels, out_ch = p->color == LG_COLOR_GRAY ? 1 : 3;
    size_t plane = (size_t)p->width * p->height;
    float *px = malloc(plane * ch * sizeof(float));
    int rc = px ? resample(img, p, px) : lg_error(LG_E_NOMEM, "out of memory for a resized image");
    for (int c = 0; rc == LG_OK && c < out_ch; c++) {
        float a = p->scale / p->std[c], b = -p->mean[c] / p->std[c];
        int sc = source_channel(p, ch, c);
        if (p->layout == LG_LAYOUT_NCHW) {
            float *d = dst + c * plane;
            for (size_t i = 0; i < plane; i++) d[i] = px[i * ch + sc] * a + b;
        } else {
            for (size_t i = 0; i < plane; i++) dst[i * out_ch + c] = px[i * ch + sc] * a + b;
        }
    }
    free(px);
    lg_image_free(gray);
    return rc;
}

int lg_image_to_tensor(const lg_image *const *images, int n, const lg_image_preprocess *p, lg_tensor **out)
{
    if (!images || !p || !out || n < 1)
        return lg_error(LG_E_INVALID_ARG, "lg_image_to_tensor: need at least one image (got %d)", n);
    *out = NULL;
    LG_CHECK(lg_image_preprocess_check(p));
    for (int i = 0; i < n; i++)
        if (!images[i]) return lg_error(LG_E_INVALID_ARG, "lg_image_to_tensor: image %d is NULL", i);
    int64_t c = p->color == LG_COLOR_GRAY ? 1 : 3;
    int64_t dims[4] = { n, c, p->height, p->width };
    if (p->layout == LG_LAYOUT_NHWC) dims[1] = p->height, dims[2] = p->width, dims[3] = c;
    lg_tensor *t;
    LG_CHECK(lg_tensor_create(LG_FLOAT, 4, dims, &t));
    size_t item = (size_t)c * p->height * p->width;
    for (int i = 0; i < n; i++) {
        int rc = image_to_batch_item(images[i], p, (float *)lg_tensor_data(t) + i * item);
        if (rc != LG_OK) {
            lg_tensor_free(t);
            return lg_error_prefix(rc, "image %d", i);
        }
    }
    *out = t;
    return LG_OK;
}
