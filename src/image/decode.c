/*
 * decode.c: decoding JPEG (libjpeg-turbo) and PNG (libpng) files or buffers into
 * lg_image (8-bit gray or RGB). The size limits are checked against the header before
 * any pixel memory is allocated; corrupt and truncated data are errors, not gray pixels.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "base/error.h"
#include "image/image_impl.h"

/* ---- images ---------------------------------------------------------------------- */

int lg_image_check_size(const char *fmt, int64_t width, int64_t height)
{
    if (width <= 0 || height <= 0)
        return lg_error(LG_E_IMAGE, "%s image has no pixels (%lld x %lld)", fmt, (long long)width,
                        (long long)height);
    if (width > LG_IMAGE_MAX_SIDE || height > LG_IMAGE_MAX_SIDE ||
        width * height > LG_IMAGE_MAX_PIXELS)
        return lg_error(LG_E_LIMIT,
                        "%s image is %lld x %lld pixels (%.1f megapixels); the limit is %lld "
                        "megapixels and %d pixels per side",
                        fmt, (long long)width, (long long)height, (double)width * height / 1048576.0,
                        (long long)(LG_IMAGE_MAX_PIXELS / 1048576), LG_IMAGE_MAX_SIDE);
    return LG_OK;
}

int lg_image_alloc(int width, int height, int channels, lg_image **out)
{
    lg_image *img = calloc(1, sizeof(*img));
    if (img) img->pixels = malloc((size_t)width * (size_t)height * (size_t)channels);
    if (!img || !img->pixels) {
        free(img);
        return lg_error(LG_E_NOMEM, "out of memory for a %d x %d image", width, height);
    }
    img->width = width;
    img->height = height;
    img->channels = channels;
    *out = img;
    return LG_OK;
}

int lg_image_from_pixels(int width, int height, int channels, const uint8_t *pixels, lg_image **out)
{
    if (!pixels || !out || (channels != 1 && channels != 3))
        return lg_error(LG_E_INVALID_ARG, "lg_image_from_pixels: need pixels and 1 or 3 channels (got %d)",
                        channels);
    LG_CHECK(lg_image_check_size("raw", width, height));
    LG_CHECK(lg_image_alloc(width, height, channels, out));
    memcpy((*out)->pixels, pixels, (size_t)width * (size_t)height * (size_t)channels);
    return LG_OK;
}

void lg_image_free(lg_image *img)
{
    if (!img) return;
    free(img->pixels);
    free(img);
}

int lg_image_width(const lg_image *img) { return img->width; }
int lg_image_height(const lg_image *img) { return img->height; }
int lg_image_channels(const lg_image *img) { return img->channels; }
const uint8_t *lg_image_pixels(const lg_image *img) { return img->pixels; }

/* Drops the alpha channel in place: gray+alpha -> gray, RGBA -> RGB. */
static void strip_alpha(uint8_t *px, size_t npixels, int channels)
{
    int keep = channels - 1;
    for (size_t i = 0; i < npixels; i++)
        memmove(px + i * keep, px + i * channels, keep);
}

/* ---- PNG ------------------------------------------------------------------------- */

/* One PNG decode: the input, and what is allocated so far (freed by decode_png). */
typedef struct png_job {
    const uint8_t *data;
    size_t len, pos;
    lg_image *img;
    png_bytep *rows;
    char message[200];
} png_job;

static void png_read_from_memory(png_structp png, png_bytep out, size_t n)
{
    png_job *job = png_get_io_ptr(png);
    if (n > job->len - job->pos) png_error(png, "file is truncated");
    memcpy(out, job->data + job->pos, n);
    job->pos += n;
}

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_job *job = png_get_error_ptr(png);
    snprintf(job->message, sizeof(job->message), "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

/* Asks libpng for 8-bit gray, gray+alpha, RGB or RGBA rows. */
static void png_request_8bit(png_structp png, png_infop info)
{
    int depth = png_get_bit_depth(png, info);
    int type = png_get_color_type(png, info);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_scale_16(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
}

/* The libpng calls; libpng errors jump back to the setjmp here. */
static int png_run(png_job *job, png_structp png, png_infop info)
{
    if (setjmp(png_jmpbuf(png))) return lg_error(LG_E_IMAGE, "corrupt PNG image: %s", job->message);
    png_set_read_fn(png, job, png_read_from_memory);
    png_set_chunk_malloc_max(png, 16u << 20);
    png_read_info(png, info);
    uint32_t width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    png_request_8bit(png, info);
    int channels = png_get_channels(png, info);
    if (channels < 1 || channels > 4 || png_get_rowbytes(png, info) != (size_t)width * channels)
        return lg_error(LG_E_IMAGE, "PNG image decodes to %d channels, %zu bytes per row: unsupported",
                        channels, (size_t)png_get_rowbytes(png, info));
    LG_CHECK(lg_image_alloc((int)width, (int)height, channels, &job->img));
    if (!(job->rows = malloc(height * sizeof(*job->rows))))
        return lg_error(LG_E_NOMEM, "out of memory for %u PNG rows", height);
    for (uint32_t y = 0; y < height; y++) job->rows[y] = job->img->pixels + (size_t)y * width * channels;
    png_read_image(png, job->rows);
    png_read_end(png, NULL);
    if (channels == 2 || channels == 4) {
        strip_alpha(job->img->pixels, (size_t)width * height, channels);
        job->img->channels = channels - 1;
    }
    return LG_OK;
}

static uint32_t read_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int decode_png(const uint8_t *data, size_t len, lg_image **out)
{
    /* libpng reads every chunk up to the pixels before it reports the size: check the
     * IHDR (always the first chunk, right after the signature) first. */
    if (len >= 24 && !memcmp(data + 12, "IHDR", 4))
        LG_CHECK(lg_image_check_size("PNG", read_be32(data + 16), read_be32(data + 20)));
    png_job job = { .data = data, .len = len };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int rc = info ? png_run(&job, png, info) : lg_error(LG_E_NOMEM, "out of memory starting the PNG decoder");
    png_destroy_read_struct(&png, info ? &info : NULL, NULL);
    free(job.rows);
    if (rc != LG_OK) lg_image_free(job.img);
    else *out = job.img;
    return rc;
}

/* ---- JPEG ------------------------------------------------------------------------ */

/* One JPEG decode: libjpeg's error manager first (libjpeg casts back to this), the
 * jump target for errors, and the image allocated so far (freed by decode_jpeg). */
typedef struct jpeg_job {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    lg_image *img;
} jpeg_job;

static void jpeg_on_error(j_common_ptr cinfo)
{
    jpeg_job *job = (jpeg_job *)cinfo->err;
    cinfo->err->format_message(cinfo, job->message);
    longjmp(job->jump, 1);
}

/* Warnings are ignored, except running out of data: libjpeg would fill the rest gray. */
static void jpeg_on_message(j_common_ptr cinfo, int level)
{
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_on_error(cinfo);
}

/* CMYK rows (Adobe files store them inverted) to RGB, in place. */
static void cmyk_to_rgb(uint8_t *px, size_t npixels, int adobe_inverted)
{
    for (size_t i = 0; i < npixels; i++) {
        const uint8_t *s = px + i * 4;
        int c = s[0], m = s[1], y = s[2], k = s[3];
        if (!adobe_inverted) c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
        uint8_t *d = px + i * 3;
        d[0] = (uint8_t)((c * k + 127) / 255);
        d[1] = (uint8_t)((m * k + 127) / 255);
        d[2] = (uint8_t)((y * k + 127) / 255);
    }
}

/* The libjpeg calls, from creating the decompressor on; errors jump back to the setjmp
 * here (jpeg_destroy_decompress copes with any point of failure). */
static int jpeg_run(jpeg_job *job, struct jpeg_decompress_struct *cinfo, const uint8_t *data, size_t len)
{
    if (setjmp(job->jump)) return lg_error(LG_E_IMAGE, "corrupt JPEG image: %s", job->message);
    jpeg_create_decompress(cinfo);
    jpeg_mem_src(cinfo, data, (unsigned long)len);
    jpeg_read_header(cinfo, TRUE);
    LG_CHECK(lg_image_check_size("JPEG", cinfo->image_width, cinfo->image_height));
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE: cinfo->out_color_space = JCS_GRAYSCALE; break;
    case JCS_CMYK: case JCS_YCCK: cinfo->out_color_space = JCS_CMYK; break;
    default: cinfo->out_color_space = JCS_RGB; break;
    }
    jpeg_start_decompress(cinfo);
    int channels = cinfo->output_components;
    if (channels != 1 && channels != 3 && channels != 4)
        return lg_error(LG_E_IMAGE, "JPEG image decodes to %d channels: unsupported", channels);
    LG_CHECK(lg_image_alloc((int)cinfo->output_width, (int)cinfo->output_height, channels, &job->img));
    size_t stride = (size_t)cinfo->output_width * channels;
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = job->img->pixels + cinfo->output_scanline * stride;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_decompress(cinfo);
    if (channels == 4) {
        cmyk_to_rgb(job->img->pixels, (size_t)job->img->width * job->img->height, cinfo->saw_Adobe_marker);
        job->img->channels = 3;
    }
    return LG_OK;
}

static int decode_jpeg(const uint8_t *data, size_t len, lg_image **out)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_job job = { .img = NULL };
    cinfo.err = jpeg_std_error(&job.mgr);
    job.mgr.error_exit = jpeg_on_error;
    job.mgr.emit_message = jpeg_on_message;
    int rc = jpeg_run(&job, &cinfo, data, len);
    jpeg_destroy_decompress(&cinfo);
    if (rc != LG_OK) lg_image_free(job.img);
    else *out = job.img;
    return rc;
}

/* ---- format detection and files -------------------------------------------------- */

static const struct {
    const char *name;
    const char *magic;
    size_t len;
    int (*decode)(const uint8_t *data, size_t len, lg_image **out);
} formats[] = {
    { "PNG", "\x89PNG\r\n\x1a\n", 8, decode_png },
    { "JPEG", "\xff\xd8\xff", 3, decode_jpeg },
    { "GIF", "GIF8", 4, NULL },
    { "BMP", "BM", 2, NULL },
    { "TIFF", "II*\0", 4, NULL },
    { "TIFF", "MM\0*", 4, NULL },
    { "WebP (RIFF)", "RIFF", 4, NULL },
};

int lg_image_decode(const void *data, size_t len, lg_image **out)
{
    if (!out || (!data && len)) return lg_error(LG_E_INVALID_ARG, "lg_image_decode: NULL argument");
    *out = NULL;
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        if (len < formats[i].len || memcmp(data, formats[i].magic, formats[i].len) != 0) continue;
        if (!formats[i].decode)
            return lg_error(LG_E_IMAGE, "%s images are not supported (only JPEG and PNG)", formats[i].name);
        return formats[i].decode(data, len, out);
    }
    if (len == 0) return lg_error(LG_E_IMAGE, "not an image: the data is empty");
    return lg_error(LG_E_IMAGE, "not an image: neither JPEG nor PNG data (%zu bytes)", len);
}

/* Reads a whole regular file of at most LG_IMAGE_MAX_FILE_BYTES. */
static int read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f) return lg_error(LG_E_IO, "cannot open: %s", strerror(errno));
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return lg_error(LG_E_IO, "not a regular file");
    }
    if ((uint64_t)st.st_size > LG_IMAGE_MAX_FILE_BYTES) {
        fclose(f);
        return lg_error(LG_E_LIMIT, "file is %lld bytes; the limit for images is %zu MiB",
                        (long long)st.st_size, LG_IMAGE_MAX_FILE_BYTES >> 20);
    }
    *len = (size_t)st.st_size;
    *data = malloc(*len ? *len : 1);
    if (!*data) {
        fclose(f);
        return lg_error(LG_E_NOMEM, "out of memory reading %zu bytes", *len);
    }
    size_t got = fread(*data, 1, *len, f);
    int failed = ferror(f);
    fclose(f);
    if (failed || got != *len) {
        free(*data);
        return lg_error(LG_E_IO, "read error after %zu of %zu bytes", got, *len);
    }
    return LG_OK;
}

int lg_image_load(const char *path, lg_image **out)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (!path || !out) return lg_error(LG_E_INVALID_ARG, "lg_image_load: NULL argument");
    *out = NULL;
    int rc = read_file(path, &data, &len);
    if (rc == LG_OK) {
        rc = lg_image_decode(data, len, out);
        free(data);
    }
    return rc == LG_OK ? rc : lg_error_prefix(rc, "%s", path);
}
