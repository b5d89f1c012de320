/*
 * image.c: resampling operators: Resize (opset 10-27; axes, keep_aspect_ratio_policy,
 * half_pixel_symmetric and antialias), Upsample (opset 7-9) and GridSample (opset 16-27,
 * 2-D, and 3-D from opset 20).
 *
 * Resize maps every output index of every axis to input taps and weights once
 * (resize_axis: 1 tap for nearest, 2 for linear, 4 for cubic). Nearest is then a pure
 * gather of elements (any dtype, exact), copying whole rows when consecutive output rows
 * read the same input row (2x upsampling). Linear and cubic run separably, one axis at a
 * time over contiguous inner blocks, in float for float32 and in double otherwise;
 * axes the resize leaves unchanged are skipped. tf_crop_and_resize writes
 * extrapolation_value wherever some axis samples outside the input.
 */
#include <math.h>
#include <string.h>

#include "runtime/kernel.h"

typedef enum interp_mode { INTERP_NEAREST, INTERP_LINEAR, INTERP_CUBIC } interp_mode;

typedef enum coord_mode {
    COORD_HALF_PIXEL,
    COORD_PYTORCH_HALF_PIXEL,
    COORD_ALIGN_CORNERS,
    COORD_ASYMMETRIC,
    COORD_TF_HALF_PIXEL_FOR_NN,
    COORD_TF_CROP_AND_RESIZE,
    COORD_HALF_PIXEL_SYMMETRIC, /* opset 19 */
} coord_mode;

typedef enum nearest_rule {
    NEAREST_ROUND_PREFER_FLOOR,
    NEAREST_ROUND_PREFER_CEIL,
    NEAREST_FLOOR,
    NEAREST_CEIL,
    NEAREST_LEGACY, /* Upsample and Resize-10: floor when upsampling, ceil when downsampling */
} nearest_rule;

typedef struct name_value {
    const char *name;
    int value;
} name_value;

static const name_value interp_names[] = {
    { "nearest", INTERP_NEAREST }, { "linear", INTERP_LINEAR }, { "bilinear", INTERP_LINEAR },
    { "cubic", INTERP_CUBIC },     { NULL, 0 },
};
static const name_value coord_names[] = {
    { "half_pixel", COORD_HALF_PIXEL },
    { "pytorch_half_pixel", COORD_PYTORCH_HALF_PIXEL },
    { "align_corners", COORD_ALIGN_CORNERS },
    { "asymmetric", COORD_ASYMMETRIC },
    { "tf_half_pixel_for_nn", COORD_TF_HALF_PIXEL_FOR_NN },
    { "tf_crop_and_resize", COORD_TF_CROP_AND_RESIZE },
    { "half_pixel_symmetric", COORD_HALF_PIXEL_SYMMETRIC },
    { NULL, 0 },
};
static const name_value nearest_names[] = {
    { "round_prefer_floor", NEAREST_ROUND_PREFER_FLOOR },
    { "round_prefer_ceil", NEAREST_ROUND_PREFER_CEIL },
    { "floor", NEAREST_FLOOR },
    { "ceil", NEAREST_CEIL },
    { NULL, 0 },
};

static int lookup(const name_value *table, const char *attr, const char *name, int *out)
{
    for (; table->name; table++) {
        if (strcmp(table->name, name) == 0) {
            *out = table->value;
            return LG_OK;
        }
    }
    return lg_error(LG_E_UNSUPPORTED, "%s '%s' is not supported", attr, name);
}

typedef struct resize_params {
    interp_mode mode;
    coord_mode coord;
    nearest_rule rule;
    double cubic_a;
    bool exclude_outside;
    double extrapolation;
    int rank;
    int n_axes;                  /* axes scales/sizes/roi name (Resize 18), in order */
    int axes[LG_MAX_DIMS];
    int keep_ratio;              /* 0 stretch, 1 not_larger, 2 not_smaller (Resize 18) */
    bool antialias;              /* Resize 18: linear/cubic filters widened by 1/scale when shrinking */
    int64_t in[LG_MAX_DIMS], out[LG_MAX_DIMS];
    double scale[LG_MAX_DIMS];
    double roi_start[LG_MAX_DIMS], roi_end[LG_MAX_DIMS];
} resize_params;

/* Input tensor i, or NULL when omitted or empty (Resize-11 passes empty roi/scales). */
static const lg_tensor *present(const lg_kctx *c, int i)
{
    const lg_tensor *t = lg_kin(c, i);
    return t && lg_tensor_numel_(t) > 0 ? t : NULL;
}

/* Output dims from scales (floor(in * scale)) or sizes; the scale of each axis. scales
 * and sizes name p->axes (all axes unless Resize 18's axes attribute says otherwise). */
static int resize_dims(resize_params *p, const lg_tensor *scales, const lg_tensor *sizes)
{
    if (!scales && !sizes) return lg_error(LG_E_INVALID_MODEL, "one of scales and sizes is required");
    if (scales && sizes) return lg_error(LG_E_INVALID_MODEL, "only one of scales and sizes may be given");
    const lg_tensor *t = scales ? scales : sizes;
    if (lg_tensor_numel_(t) != p->n_axes)
        return lg_error(LG_E_SHAPE, "%s has %lld values for %d axes", scales ? "scales" : "sizes",
                        (long long)lg_tensor_numel_(t), p->n_axes);
    if (sizes && sizes->dtype != LG_INT64) return lg_error(LG_E_SHAPE, "sizes must be int64");
    if (scales && !lg_dtype_is_float(scales->dtype)) return lg_error(LG_E_SHAPE, "scales must be a float tensor");
    for (int a = 0; a < p->rank; a++) {
        p->out[a] = p->in[a];
        p->scale[a] = 1.0;
    }
    double ratio = p->keep_ratio == 1 ? INFINITY : 0.0;
    for (int i = 0; i < p->n_axes; i++) {
        int a = p->axes[i];
        if (scales) {
            p->scale[a] = lg_tensor_get_f64(scales, i);
            double n = floor((double)p->in[a] * p->scale[a]);
            if (!(p->scale[a] > 0.0) || !(n < 9.0e15))
                return lg_error(LG_E_INVALID_MODEL, "scales[%d] = %g is not a usable positive scale", i, p->scale[a]);
            p->out[a] = (int64_t)n;
        } else {
            p->out[a] = ((const int64_t *)sizes->data)[i];
            if (p->out[a] < 0)
                return lg_error(LG_E_INVALID_MODEL, "sizes[%d] = %lld is negative", i, (long long)p->out[a]);
            p->scale[a] = p->in[a] > 0 ? (double)p->out[a] / (double)p->in[a] : 1.0;
            if (p->keep_ratio == 1 && p->scale[a] < ratio) ratio = p->scale[a];
            if (p->keep_ratio == 2 && p->scale[a] > ratio) ratio = p->scale[a];
        }
    }
    if (sizes && p->keep_ratio) /* one scale for every resized axis; sizes rounded half up */
        for (int i = 0; i < p->n_axes; i++) {
            int a = p->axes[i];
            p->scale[a] = ratio;
            p->out[a] = (int64_t)(ratio * (double)p->in[a] + 0.5);
        }
    return LG_OK;
}

/* Resize 18's axes and keep_aspect_ratio_policy. */
static int resize_axes_attr(const lg_kctx *c, resize_params *p)
{
    static const name_value policies[] = { { "stretch", 0 }, { "not_larger", 1 }, { "not_smaller", 2 }, { NULL, 0 } };
    int n = 0;
    const int64_t *a = c->opset >= 18 ? lg_attr_ints(c->node, "axes", &n) : NULL;
    p->n_axes = a ? n : p->rank;
    if (p->n_axes > p->rank) return lg_error(LG_E_INVALID_MODEL, "%d axes for rank %d", n, p->rank);
    bool seen[LG_MAX_DIMS] = { false };
    for (int i = 0; i < p->n_axes; i++) {
        if (!a) {
            p->axes[i] = i;
            continue;
        }
        LG_CHECK(lg_norm_axis(a[i], p->rank, &p->axes[i]));
        if (seen[p->axes[i]]) return lg_error(LG_E_INVALID_MODEL, "axis %lld appears twice in axes", (long long)a[i]);
        seen[p->axes[i]] = true;
    }
    if (c->opset >= 18)
        LG_CHECK(lookup(policies, "keep_aspect_ratio_policy", lg_attr_string(c->node, "keep_aspect_ratio_policy", "stretch"),
                        &p->keep_ratio));
    p->antialias = c->opset >= 18 && lg_attr_int(c->node, "antialias", 0) != 0;
    return LG_OK;
}

/* Attributes and inputs of Resize (10-17) and Upsample (7-9). */
static int resize_params_init(const lg_kctx *c, resize_params *p)
{
    const lg_tensor *x = c->inputs[0];
    bool upsample = strcmp(c->node->op_type, "Upsample") == 0;
    bool legacy = upsample || c->opset < 11;
    int v = 0;
    memset(p, 0, sizeof(*p));
    p->rank = x->ndim;
    memcpy(p->in, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    LG_CHECK(resize_axes_attr(c, p));
    LG_CHECK(lookup(interp_names, "mode", lg_attr_string(c->node, "mode", "nearest"), &v));
    p->mode = (interp_mode)v;
    if (p->antialias && p->mode == INTERP_NEAREST) return lg_error(LG_E_INVALID_MODEL, "antialias needs linear or cubic mode");
    if (legacy && p->mode == INTERP_CUBIC) return lg_error(LG_E_INVALID_MODEL, "cubic mode needs Resize-11 or later");
    p->coord = COORD_ASYMMETRIC;
    p->rule = NEAREST_LEGACY;
    p->cubic_a = -0.75;
    if (!legacy) {
        LG_CHECK(lookup(coord_names, "coordinate_transformation_mode",
                        lg_attr_string(c->node, "coordinate_transformation_mode", "half_pixel"), &v));
        p->coord = (coord_mode)v;
        if (p->coord == COORD_HALF_PIXEL_SYMMETRIC && c->opset < 19)
            return lg_error(LG_E_INVALID_MODEL, "half_pixel_symmetric needs Resize-19");
        if (p->coord == COORD_TF_HALF_PIXEL_FOR_NN && c->opset >= 13)
            return lg_error(LG_E_INVALID_MODEL, "tf_half_pixel_for_nn was removed in opset 13");
        LG_CHECK(lookup(nearest_names, "nearest_mode", lg_attr_string(c->node, "nearest_mode", "round_prefer_floor"), &v));
        p->rule = (nearest_rule)v;
        p->cubic_a = lg_attr_float(c->node, "cubic_coeff_a", -0.75f);
        p->exclude_outside = lg_attr_int(c->node, "exclude_outside", 0) != 0;
        p->extrapolation = lg_attr_float(c->node, "extrapolation_value", 0.0f);
    }
    if (upsample && c->opset < 9) {
        int n = 0;
        const float *s = lg_attr_floats(c->node, "scales", &n);
        if (!s || n != p->rank) return lg_error(LG_E_INVALID_MODEL, "scales attribute must have %d values", p->rank);
        lg_tensor st = { .dtype = LG_FLOAT, .ndim = 1, .dims = { n }, .data = (void *)s };
        return resize_dims(p, &st, NULL);
    }
    return legacy ? resize_dims(p, present(c, 1), NULL) : resize_dims(p, present(c, 2), present(c, 3));
}

/* roi for tf_crop_and_resize: starts then ends, normalized; defaults to the whole input. */
static int resize_roi(const lg_kctx *c, resize_params *p)
{
    const lg_tensor *roi = present(c, 1);
    for (int a = 0; a < p->rank; a++) {
        p->roi_start[a] = 0.0;
        p->roi_end[a] = 1.0;
    }
    if (p->coord != COORD_TF_CROP_AND_RESIZE || !roi) return LG_OK;
    if (lg_tensor_numel_(roi) != 2 * p->n_axes || !lg_dtype_is_float(roi->dtype))
        return lg_error(LG_E_SHAPE, "roi must hold %d float values", 2 * p->n_axes);
    for (int i = 0; i < p->n_axes; i++) {
        p->roi_start[p->axes[i]] = lg_tensor_get_f64(roi, i);
        p->roi_end[p->axes[i]] = lg_tensor_get_f64(roi, i + p->n_axes);
    }
    return LG_OK;
}

static int resize_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    resize_params p;
    if (x->dtype == LG_STRING) return lg_error(LG_E_UNSUPPORTED, "string tensors cannot be resized");
    bool legacy = strcmp(c->node->op_type, "Upsample") == 0 || c->opset < 11;
    LG_KNEED_DATA(c, legacy ? 1 : 2);
    if (!legacy) LG_KNEED_DATA(c, 3);
    LG_CHECK(resize_params_init(c, &p));
    return lg_kout_shape(c, 0, x->dtype, x->ndim, p.out);
}

/* ---- per-axis taps ---- */

typedef struct resize_axis {
    int64_t n_in, n_out, taps;
    int64_t *idx;  /* n_out * taps input indices */
    double *w;     /* n_out * taps weights */
    bool *outside; /* n_out: samples outside the input (tf_crop_and_resize) */
    bool identity; /* output index o reads input o with weight 1 */
} resize_axis;

/* Input coordinate of output index o on axis a. The resized length is in * scale, not
 * rounded down (as the ONNX reference has it for align_corners and tf_crop_and_resize). */
static double source_coord(const resize_params *p, int a, int64_t o)
{
    double x = (double)o, s = p->scale[a], n_in = (double)p->in[a], n_out = n_in * s;
    switch (p->coord) {
    case COORD_HALF_PIXEL: return (x + 0.5) / s - 0.5;
    case COORD_HALF_PIXEL_SYMMETRIC: /* centres the implicit ROI when in * scale is not whole */
        return n_in / 2 * (1 - (double)p->out[a] / n_out) + (x + 0.5) / s - 0.5;
    case COORD_PYTORCH_HALF_PIXEL: return n_out > 1 ? (x + 0.5) / s - 0.5 : 0.0;
    case COORD_ALIGN_CORNERS: return n_out > 1 ? x * (n_in - 1) / (n_out - 1) : 0.0;
    case COORD_ASYMMETRIC: return x / s;
    case COORD_TF_HALF_PIXEL_FOR_NN: return (x + 0.5) / s;
    case COORD_TF_CROP_AND_RESIZE: {
        double lo = p->roi_start[a], hi = p->roi_end[a];
        return n_out > 1 ? lo * (n_in - 1) + x * (hi - lo) * (n_in - 1) / (n_out - 1) : 0.5 * (lo + hi) * (n_in - 1);
    }
    }
    return x;
}

static int64_t nearest_index(const resize_params *p, int a, double x)
{
    double f = floor(x);
    switch (p->rule) {
    case NEAREST_ROUND_PREFER_FLOOR: return (int64_t)(x == f + 0.5 ? f : round(x));
    case NEAREST_ROUND_PREFER_CEIL: return (int64_t)(x == f + 0.5 ? f + 1.0 : round(x));
    case NEAREST_FLOOR: return (int64_t)f;
    case NEAREST_CEIL: return (int64_t)ceil(x);
    case NEAREST_LEGACY: return (int64_t)(p->scale[a] < 1.0 ? ceil(x) : f);
    }
    return (int64_t)f;
}

static double cubic_coeff(double s, double A)
{
    s = fabs(s);
    if (s <= 1.0) return ((A + 2.0) * s - (A + 3.0)) * s * s + 1.0;
    if (s < 2.0) return ((A * s - 5.0 * A) * s + 8.0 * A) * s - 4.0 * A;
    return 0.0;
}

static int64_t clamp_index(int64_t i, int64_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

/* Taps of output index o: first input index and weights before clamping. */
static void axis_taps(const resize_params *p, double x, int64_t *first, double *w)
{
    double f = floor(x), t = x - f;
    if (p->mode == INTERP_LINEAR) {
        *first = (int64_t)f;
        w[0] = 1.0 - t;
        w[1] = t;
    } else {
        *first = (int64_t)f - 1;
        w[0] = cubic_coeff(t + 1.0, p->cubic_a);
        w[1] = cubic_coeff(t, p->cubic_a);
        w[2] = cubic_coeff(1.0 - t, p->cubic_a);
        w[3] = cubic_coeff(2.0 - t, p->cubic_a);
    }
}

/* First tap offset of an antialiased filter (support 1 linear, 2 cubic, widened by 1/scale);
 * 0 when the axis does not shrink or antialias is off. Its tap count is 2 - 2 * start. */
static int64_t antialias_start(const resize_params *p, int a)
{
    if (!p->antialias || !(p->scale[a] < 1.0) || p->mode == INTERP_NEAREST) return 0;
    return (int64_t)floor((p->mode == INTERP_LINEAR ? -1.0 : -2.0) / p->scale[a]) + 1;
}

static int64_t axis_tap_count(const resize_params *p, int a)
{
    int64_t start = antialias_start(p, a);
    if (start) return 2 - 2 * start;
    return p->mode == INTERP_NEAREST ? 1 : p->mode == INTERP_LINEAR ? 2 : 4;
}

/* The antialiased taps of source coordinate x (the ONNX reference's: a point exactly on a
 * sample takes ratio 1 against the sample before it). */
static void antialias_taps(const resize_params *p, int a, const resize_axis *ax, double x, int64_t *idx, double *w)
{
    int64_t start = antialias_start(p, a), n = ax->taps;
    double f = floor(x), r = x - f, s = p->scale[a], sum = 0.0;
    if (r == 0.0) {
        r = 1.0;
        f -= 1.0;
    }
    for (int64_t k = 0; k < n; k++) {
        double arg = ((double)(start + k) - r) * s;
        int64_t i = (int64_t)f + start + k;
        w[k] = p->mode == INTERP_LINEAR ? fmax(0.0, fmin(1.0, 1.0 - fabs(arg))) : cubic_coeff(arg, p->cubic_a);
        sum += w[k];
        idx[k] = i;
    }
    double kept = 0.0;
    for (int64_t k = 0; k < n; k++) {
        w[k] = sum != 0.0 ? w[k] / sum : 0.0;
        if (p->exclude_outside && (idx[k] < 0 || idx[k] >= ax->n_in)) w[k] = 0.0;
        kept += w[k];
        idx[k] = clamp_index(idx[k], ax->n_in);
    }
    if (p->exclude_outside && kept != 0.0)
        for (int64_t k = 0; k < n; k++) w[k] /= kept;
}

static void axis_fill(const resize_params *p, int a, resize_axis *ax)
{
    ax->identity = ax->n_in == ax->n_out;
    for (int64_t o = 0; o < ax->n_out; o++) {
        double x = source_coord(p, a, o);
        int64_t *idx = ax->idx + o * ax->taps;
        double *w = ax->w + o * ax->taps;
        if (antialias_start(p, a)) {
            ax->outside[o] = p->coord == COORD_TF_CROP_AND_RESIZE && (x < 0.0 || x > (double)(ax->n_in - 1));
            ax->identity = false;
            antialias_taps(p, a, ax, x, idx, w);
            continue;
        }
        ax->outside[o] = p->coord == COORD_TF_CROP_AND_RESIZE && (x < 0.0 || x > (double)(ax->n_in - 1));
        ax->identity &= x == (double)o && !ax->outside[o];
        if (p->mode == INTERP_NEAREST) {
            idx[0] = clamp_index(nearest_index(p, a, x), ax->n_in);
            w[0] = 1.0;
            continue;
        }
        int64_t first;
        axis_taps(p, x, &first, w);
        double sum = 0.0;
        for (int64_t t = 0; t < ax->taps; t++) {
            bool in = first + t >= 0 && first + t < ax->n_in;
            if (p->exclude_outside && !in) w[t] = 0.0;
            sum += w[t];
            idx[t] = clamp_index(first + t, ax->n_in);
        }
        if (p->exclude_outside && sum != 0.0)
            for (int64_t t = 0; t < ax->taps; t++) w[t] /= sum;
    }
}

/* Builds the maps of every axis in one allocation (*mem, freed by the caller). */
static int axes_build(const resize_params *p, resize_axis *axes, void **mem)
{
    int64_t total = 0, total_taps = 0;
    for (int a = 0; a < p->rank; a++) {
        int64_t taps = axis_tap_count(p, a);
        if (taps > ((int64_t)1 << 16))
            return lg_error(LG_E_LIMIT, "axis %d: an antialiased filter of %lld taps (scale %g)", a, (long long)taps, p->scale[a]);
        total += p->out[a];
        total_taps += p->out[a] * taps;
    }
    size_t bytes = (size_t)total_taps * (sizeof(int64_t) + sizeof(double)) + (size_t)total + 64;
    char *m = lg_alloc(bytes);
    if (!m) return lg_error(LG_E_NOMEM, "out of memory for resize tables");
    *mem = m;
    int64_t *idx = (int64_t *)m;
    double *w = (double *)(idx + total_taps);
    bool *outside = (bool *)(w + total_taps);
    for (int a = 0; a < p->rank; a++) {
        resize_axis *ax = &axes[a];
        int64_t taps = axis_tap_count(p, a);
        *ax = (resize_axis){ .n_in = p->in[a], .n_out = p->out[a], .taps = taps, .idx = idx, .w = w, .outside = outside };
        if (ax->n_out > 0 && ax->n_in == 0) return lg_error(LG_E_SHAPE, "axis %d: cannot resize an empty axis to %lld", a, (long long)ax->n_out);
        axis_fill(p, a, ax);
        idx += ax->n_out * taps;
        w += ax->n_out * taps;
        outside += ax->n_out;
    }
    return LG_OK;
}

/* ---- nearest: gather ---- */

typedef struct gather_job {
    const resize_axis *axes;
    int rank;
    size_t es;
    const char *x;
    char *y;
    int64_t in_stride[LG_MAX_DIMS];
} gather_job;

static void gather_row(const gather_job *j, char *yr, const char *xr)
{
    const resize_axis *ax = &j->axes[j->rank - 1];
    const int64_t *idx = ax->idx;
    int64_t n = ax->n_out;
    switch (j->es) {
    case 1: for (int64_t i = 0; i < n; i++) ((uint8_t *)yr)[i] = ((const uint8_t *)xr)[idx[i]]; break;
    case 2: for (int64_t i = 0; i < n; i++) ((uint16_t *)yr)[i] = ((const uint16_t *)xr)[idx[i]]; break;
    case 4: for (int64_t i = 0; i < n; i++) ((uint32_t *)yr)[i] = ((const uint32_t *)xr)[idx[i]]; break;
    case 8: for (int64_t i = 0; i < n; i++) ((uint64_t *)yr)[i] = ((const uint64_t *)xr)[idx[i]]; break;
    default:
        for (int64_t i = 0; i < n; i++) memcpy(yr + (size_t)i * j->es, xr + (size_t)idx[i] * j->es, j->es);
    }
}

/* Output rows [begin, end): every axis but the last picks its input row. */
static void gather_rows(void *arg, int64_t begin, int64_t end)
{
    const gather_job *j = arg;
    int last = j->rank - 1;
    size_t row_bytes = (size_t)j->axes[last].n_out * j->es;
    int64_t prev_src = -1;
    for (int64_t r = begin; r < end; r++) {
        int64_t rem = r, src = 0;
        for (int a = last - 1; a >= 0; a--) {
            src += j->axes[a].idx[rem % j->axes[a].n_out] * j->in_stride[a];
            rem /= j->axes[a].n_out;
        }
        char *yr = j->y + (size_t)r * row_bytes;
        if (src == prev_src) memcpy(yr, yr - row_bytes, row_bytes);
        else gather_row(j, yr, j->x + (size_t)src * j->es);
        prev_src = src;
    }
}

static void resize_nearest(const lg_kctx *c, const resize_params *p, const resize_axis *axes)
{
    const lg_tensor *x = c->inputs[0];
    gather_job j = { .axes = axes, .rank = p->rank, .es = lg_dtype_size(x->dtype), .x = x->data,
                     .y = c->outputs[0]->data };
    if (p->rank == 0) {
        memcpy(j.y, j.x, j.es);
        return;
    }
    lg_strides(p->rank, p->in, j.in_stride);
    int64_t ow = p->out[p->rank - 1], rows = ow > 0 ? lg_dims_numel(p->rank, p->out) / ow : 0;
    lg_parallel_for(c->pool, rows, 1 + 16384 / (ow + 1), gather_rows, &j);
}

/* ---- linear / cubic: one axis at a time ---- */

typedef struct pass_job {
    const resize_axis *ax;
    const void *src;
    void *dst;
    int64_t inner;
} pass_job;

#define RESIZE_PASS(T, SFX)                                                                  \
    static void pass_rows_##SFX(void *arg, int64_t begin, int64_t end)                       \
    {                                                                                        \
        const pass_job *j = arg;                                                             \
        const resize_axis *ax = j->ax;                                                       \
        for (int64_t r = begin; r < end; r++) {                                              \
            int64_t outer = r / ax->n_out, o = r % ax->n_out;                                \
            T *d = (T *)j->dst + r * j->inner;                                               \
            const T *s = (const T *)j->src + outer * ax->n_in * j->inner;                    \
            const int64_t *idx = ax->idx + o * ax->taps;                                     \
            const double *w = ax->w + o * ax->taps;                                          \
            for (int64_t i = 0; i < j->inner; i++) d[i] = 0;                                 \
            for (int64_t t = 0; t < ax->taps; t++) {                                         \
                if (w[t] == 0.0) continue;                                                   \
                const T *st = s + idx[t] * j->inner;                                         \
                T wt = (T)w[t];                                                              \
                for (int64_t i = 0; i < j->inner; i++) d[i] += wt * st[i];                   \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
    /* The last axis (inner 1): rows [begin, end) of the outer axes. */                      \
    static void pass_last_##SFX(void *arg, int64_t begin, int64_t end)                       \
    {                                                                                        \
        const pass_job *j = arg;                                                             \
        const resize_axis *ax = j->ax;                                                       \
        for (int64_t r = begin; r < end; r++) {                                              \
            const T *s = (const T *)j->src + r * ax->n_in;                                   \
            T *d = (T *)j->dst + r * ax->n_out;                                              \
            for (int64_t o = 0; o < ax->n_out; o++) {                                        \
                const int64_t *idx = ax->idx + o * ax->taps;                                 \
                const double *w = ax->w + o * ax->taps;                                      \
                double acc = 0.0;                                                            \
                for (int64_t t = 0; t < ax->taps; t++) acc += w[t] * (double)s[idx[t]];      \
                d[o] = (T)acc;                                                               \
            }                                                                                \
        }                                                                                    \
    }

RESIZE_PASS(float, f32)
RESIZE_PASS(double, f64)

/* Runs the passes of the axes that change, ping-ponging between two buffers of es-byte
 * elements; returns the buffer that holds the result (src when nothing changes). */
static const void *run_passes(const lg_kctx *c, const resize_params *p, const resize_axis *axes, const void *src,
                              void *buf0, void *buf1, bool f32, void *final_dst)
{
    int64_t dims[LG_MAX_DIMS];
    memcpy(dims, p->in, sizeof(int64_t) * (size_t)p->rank);
    int last = -1;
    for (int a = 0; a < p->rank; a++)
        if (!axes[a].identity) last = a;
    const void *cur = src;
    for (int a = 0; a <= last; a++) {
        if (axes[a].identity) continue;
        void *dst = a == last && final_dst ? final_dst : (cur == buf0 ? buf1 : buf0);
        pass_job j = { .ax = &axes[a], .src = cur, .dst = dst, .inner = lg_dims_numel(p->rank - a - 1, dims + a + 1) };
        int64_t outer = lg_dims_numel(a, dims), taps = axes[a].taps;
        if (a == p->rank - 1)
            lg_parallel_for(c->pool, outer, 1 + 8192 / (axes[a].n_out * taps + 1), f32 ? pass_last_f32 : pass_last_f64, &j);
        else
            lg_parallel_for(c->pool, outer * axes[a].n_out, 1 + 8192 / (j.inner * taps + 1),
                            f32 ? pass_rows_f32 : pass_rows_f64, &j);
        dims[a] = p->out[a];
        cur = dst;
    }
    return cur;
}

/* Largest intermediate element count over the passes (checked against the tensor limit). */
static int passes_size(const resize_params *p, int64_t *max)
{
    int64_t dims[LG_MAX_DIMS];
    memcpy(dims, p->in, sizeof(int64_t) * (size_t)p->rank);
    *max = lg_dims_numel(p->rank, dims);
    for (int a = 0; a < p->rank; a++) {
        dims[a] = p->out[a];
        int64_t n = lg_dims_numel_checked(p->rank, dims);
        if (n < 0 || (size_t)n > LG_TENSOR_MAX_BYTES / sizeof(double))
            return lg_error(LG_E_LIMIT, "resize intermediate of %lld elements is too large", (long long)n);
        if (n > *max) *max = n;
    }
    return LG_OK;
}

static int resize_interp(const lg_kctx *c, const resize_params *p, const resize_axis *axes)
{
    const lg_tensor *x = c->inputs[0];
    lg_tensor *y = c->outputs[0];
    bool f32 = x->dtype == LG_FLOAT;
    int64_t max, nx = lg_tensor_numel_(x), ny = lg_tensor_numel_(y);
    LG_CHECK(passes_size(p, &max));
    size_t es = f32 ? sizeof(float) : sizeof(double);
    char *mem = lg_alloc((size_t)(2 * max + nx + 2) * es);
    if (!mem) return lg_error(LG_E_NOMEM, "out of memory for resize buffers");
    void *buf0 = mem, *buf1 = mem + (size_t)max * es;
    const void *src = x->data;
    if (!f32) {
        double *xd = (double *)(mem + (size_t)2 * max * es);
        for (int64_t i = 0; i < nx; i++) xd[i] = lg_tensor_get_f64(x, i);
        src = xd;
    }
    const void *res = run_passes(c, p, axes, src, buf0, buf1, f32, f32 ? y->data : NULL);
    if (f32 && res != y->data) memcpy(y->data, res, (size_t)ny * sizeof(float));
    if (!f32) {
        bool is_int = lg_dtype_is_int(y->dtype);
        for (int64_t i = 0; i < ny; i++) {
            double v = ((const double *)res)[i];
            lg_tensor_set_f64(y, i, is_int ? round(v) : v);
        }
    }
    lg_free(mem);
    return LG_OK;
}

/* tf_crop_and_resize: extrapolation_value where any axis samples outside the input. */
static void resize_extrapolate(lg_tensor *y, const resize_params *p, const resize_axis *axes)
{
    int64_t idx[LG_MAX_DIMS] = { 0 }, n = lg_tensor_numel_(y);
    for (int64_t i = 0; i < n; i++) {
        bool out = false;
        for (int a = 0; a < p->rank; a++) out |= axes[a].outside[idx[a]];
        if (out) lg_tensor_set_f64(y, i, p->extrapolation);
        for (int a = p->rank - 1; a >= 0 && ++idx[a] == p->out[a]; a--) idx[a] = 0;
    }
}

static int resize_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0];
    resize_params p;
    resize_axis axes[LG_MAX_DIMS];
    void *mem = NULL;
    LG_CHECK(resize_params_init(c, &p));
    LG_CHECK(resize_roi(c, &p));
    if (p.mode != INTERP_NEAREST && (x->dtype == LG_BOOL || x->dtype == LG_STRING))
        return lg_error(LG_E_UNSUPPORTED, "%s interpolation of %s tensors", p.mode == INTERP_LINEAR ? "linear" : "cubic",
                        lg_dtype_name(x->dtype));
    if (lg_tensor_numel_(c->outputs[0]) == 0) return LG_OK;
    int rc = axes_build(&p, axes, &mem);
    if (rc == LG_OK && p.mode == INTERP_NEAREST) resize_nearest(c, &p, axes);
    else if (rc == LG_OK) rc = resize_interp(c, &p, axes);
    if (rc == LG_OK && p.coord == COORD_TF_CROP_AND_RESIZE) resize_extrapolate(c->outputs[0], &p, axes);
    lg_free(mem);
    return rc;
}

/* ---- GridSample ---- */

typedef enum grid_padding { PAD_ZEROS, PAD_BORDER, PAD_REFLECTION } grid_padding;

static const name_value grid_modes[] = {
    { "bilinear", INTERP_LINEAR }, { "nearest", INTERP_NEAREST }, { "bicubic", INTERP_CUBIC },
    { "linear", INTERP_LINEAR },   { "cubic", INTERP_CUBIC }, /* the names from opset 20 */
    { NULL, 0 },
};
static const name_value grid_paddings[] = {
    { "zeros", PAD_ZEROS }, { "border", PAD_BORDER }, { "reflection", PAD_REFLECTION }, { NULL, 0 },
};

typedef struct grid_job {
    interp_mode mode;
    grid_padding padding;
    bool align_corners;
    int64_t c, h, w, ho, wo;
    const double *x, *grid;
    double *y;
} grid_job;

/* Normalized [-1, 1] to pixel coordinates. */
static double grid_unnormalize(double g, int64_t size, bool align_corners)
{
    return align_corners ? (g + 1.0) / 2.0 * (double)(size - 1) : ((g + 1.0) * (double)size - 1.0) / 2.0;
}

/* Folds x into [lo, hi] by reflecting at the bounds. */
static double reflect(double x, double lo, double hi)
{
    double span = hi - lo;
    if (span <= 0.0) return lo;
    double d = fabs(x - lo);
    double flips = floor(d / span), extra = d - flips * span;
    return fmod(flips, 2.0) == 0.0 ? lo + extra : hi - extra;
}

/* Border and reflection padding move a coordinate inside the input. */
static double grid_pad(const grid_job *j, double x, int64_t size)
{
    if (j->padding == PAD_BORDER) return fmin(fmax(x, 0.0), (double)(size - 1));
    if (j->padding == PAD_REFLECTION) {
        x = j->align_corners ? reflect(x, 0.0, (double)(size - 1)) : reflect(x, -0.5, (double)size - 0.5);
        return fmin(fmax(x, 0.0), (double)(size - 1));
    }
    return x;
}

/* Pixel (iy, ix) of plane, 0 outside. */
static double grid_pixel(const grid_job *j, const double *plane, int64_t iy, int64_t ix)
{
    if (iy < 0 || iy >= j->h || ix < 0 || ix >= j->w) return 0.0;
    return plane[iy * j->w + ix];
}

/* Bicubic taps pad each tap's coordinate on its own. */
static double grid_bicubic(const grid_job *j, const double *plane, double x, double y)
{
    double fx = floor(x), fy = floor(y), tx = x - fx, ty = y - fy, wx[4], wy[4], sum = 0.0;
    for (int k = 0; k < 4; k++) {
        wx[k] = cubic_coeff(tx + 1.0 - k, -0.75);
        wy[k] = cubic_coeff(ty + 1.0 - k, -0.75);
    }
    for (int r = 0; r < 4; r++) {
        double row = 0.0;
        for (int k = 0; k < 4; k++) {
            double px = grid_pad(j, fx - 1.0 + k, j->w), py = grid_pad(j, fy - 1.0 + r, j->h);
            row += wx[k] * grid_pixel(j, plane, (int64_t)floor(py), (int64_t)floor(px));
        }
        sum += wy[r] * row;
    }
    return sum;
}

static double grid_sample_at(const grid_job *j, const double *plane, double gx, double gy)
{
    double x = grid_unnormalize(gx, j->w, j->align_corners), y = grid_unnormalize(gy, j->h, j->align_corners);
    if (!isfinite(x) || !isfinite(y)) return 0.0;
    if (j->mode == INTERP_CUBIC) return grid_bicubic(j, plane, x, y);
    x = grid_pad(j, x, j->w);
    y = grid_pad(j, y, j->h);
    if (j->mode == INTERP_NEAREST) return grid_pixel(j, plane, (int64_t)nearbyint(y), (int64_t)nearbyint(x));
    double fx = floor(x), fy = floor(y), tx = x - fx, ty = y - fy;
    int64_t ix = (int64_t)fx, iy = (int64_t)fy;
    return (1 - ty) * ((1 - tx) * grid_pixel(j, plane, iy, ix) + tx * grid_pixel(j, plane, iy, ix + 1)) +
           ty * ((1 - tx) * grid_pixel(j, plane, iy + 1, ix) + tx * grid_pixel(j, plane, iy + 1, ix + 1));
}

/* Output rows (n, c, i) in [begin, end). */
static void grid_rows(void *arg, int64_t begin, int64_t end)
{
    const grid_job *j = arg;
    for (int64_t r = begin; r < end; r++) {
        int64_t i = r % j->ho, nc = r / j->ho, n = nc / j->c;
        const double *plane = j->x + nc * j->h * j->w, *g = j->grid + ((n * j->ho + i) * j->wo) * 2;
        double *y = j->y + r * j->wo;
        for (int64_t k = 0; k < j->wo; k++) y[k] = grid_sample_at(j, plane, g[2 * k], g[2 * k + 1]);
    }
}

static int gridsample_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *grid = c->inputs[1];
    if (!lg_dtype_is_float(x->dtype) || !lg_dtype_is_float(grid->dtype))
        return lg_error(LG_E_UNSUPPORTED, "GridSample needs float tensors, got %s and %s", lg_dtype_name(x->dtype),
                        lg_dtype_name(grid->dtype));
    if (x->ndim == 5 && c->opset >= 20) { /* volumetric: grid (N, D_out, H_out, W_out, 3) */
        if (grid->ndim != 5 || grid->dims[4] != 3 || grid->dims[0] != x->dims[0])
            return lg_error(LG_E_SHAPE, "GridSample needs X (N, C, D, H, W) and grid (N, D_out, H_out, W_out, 3)");
        int64_t dims[5] = { x->dims[0], x->dims[1], grid->dims[1], grid->dims[2], grid->dims[3] };
        return lg_kout_shape(c, 0, x->dtype, 5, dims);
    }
    if (x->ndim != 4 || grid->ndim != 4 || grid->dims[3] != 2 || grid->dims[0] != x->dims[0])
        return lg_error(LG_E_SHAPE, "GridSample needs X (N, C, H, W) and grid (N, H_out, W_out, 2)");
    int64_t dims[4] = { x->dims[0], x->dims[1], grid->dims[1], grid->dims[2] };
    return lg_kout_shape(c, 0, x->dtype, 4, dims);
}

/* Voxel (iz, iy, ix) of a D x H x W volume, 0 outside. */
static double voxel(const double *v, const int64_t *in, int64_t iz, int64_t iy, int64_t ix)
{
    if (iz < 0 || iz >= in[0] || iy < 0 || iy >= in[1] || ix < 0 || ix >= in[2]) return 0.0;
    return v[(iz * in[1] + iy) * in[2] + ix];
}

/* 3-D GridSample (opset 20): nearest or trilinear, zeros/border/reflection padding. */
static void grid_volume(const grid_job *j, const lg_tensor *x, const double *xd, const double *gd, double *yd)
{
    int64_t in[3] = { x->dims[2], x->dims[3], x->dims[4] }, outs = j->ho; /* ho: D_out * H_out * W_out here */
    int64_t vol = in[0] * in[1] * in[2];
    for (int64_t nc = 0; nc < x->dims[0] * x->dims[1]; nc++) {
        int64_t n = nc / x->dims[1];
        const double *v = xd + nc * vol;
        for (int64_t o = 0; o < outs; o++) {
            const double *g = gd + (n * outs + o) * 3;
            double p[3];
            bool ok = true;
            for (int a = 0; a < 3; a++) { /* g holds (x, y, z): x runs along W (in[2]) */
                int64_t size = in[2 - a];
                p[a] = grid_pad(j, grid_unnormalize(g[a], size, j->align_corners), size);
                ok &= isfinite(p[a]);
            }
            double r = 0.0;
            if (ok && j->mode == INTERP_NEAREST) {
                r = voxel(v, in, (int64_t)nearbyint(p[2]), (int64_t)nearbyint(p[1]), (int64_t)nearbyint(p[0]));
            } else if (ok) {
                double f[3] = { floor(p[0]), floor(p[1]), floor(p[2]) }, t[3] = { p[0] - f[0], p[1] - f[1], p[2] - f[2] };
                for (int k = 0; k < 8; k++) {
                    int bx = k & 1, by = (k >> 1) & 1, bz = (k >> 2) & 1;
                    double w = (bx ? t[0] : 1 - t[0]) * (by ? t[1] : 1 - t[1]) * (bz ? t[2] : 1 - t[2]);
                    r += w * voxel(v, in, (int64_t)f[2] + bz, (int64_t)f[1] + by, (int64_t)f[0] + bx);
                }
            }
            yd[nc * outs + o] = r;
        }
    }
}

static int gridsample_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *grid = c->inputs[1];
    lg_tensor *y = c->outputs[0];
    bool volume = x->ndim == 5;
    grid_job j = { .align_corners = lg_attr_int(c->node, "align_corners", 0) != 0, .c = x->dims[1], .h = x->dims[2],
                   .w = x->dims[3], .ho = volume ? grid->dims[1] * grid->dims[2] * grid->dims[3] : grid->dims[1],
                   .wo = grid->dims[2] };
    int v = 0;
    LG_CHECK(lookup(grid_modes, "mode", lg_attr_string(c->node, "mode", c->opset >= 20 ? "linear" : "bilinear"), &v));
    j.mode = (interp_mode)v;
    LG_CHECK(lookup(grid_paddings, "padding_mode", lg_attr_string(c->node, "padding_mode", "zeros"), &v));
    j.padding = (grid_padding)v;
    int64_t nx = lg_tensor_numel_(x), ng = lg_tensor_numel_(grid), ny = lg_tensor_numel_(y);
    double *mem = lg_alloc((size_t)(nx + ng + ny + 1) * sizeof(double));
    if (!mem) return lg_error(LG_E_NOMEM, "out of memory for GridSample");
    double *xd = mem, *gd = mem + nx;
    for (int64_t i = 0; i < nx; i++) xd[i] = lg_tensor_get_f64(x, i);
    for (int64_t i = 0; i < ng; i++) gd[i] = lg_tensor_get_f64(grid, i);
    j.x = xd;
    j.grid = gd;
    j.y = mem + nx + ng;
    if (volume && j.mode == INTERP_CUBIC) {
        lg_free(mem);
        return lg_error(LG_E_UNSUPPORTED, "GridSample: cubic mode on 3-D data is not defined");
    }
    if (volume) {
        grid_volume(&j, x, xd, gd, j.y);
    } else {
        int64_t rows = j.wo > 0 ? ny / j.wo : 0;
        lg_parallel_for(c->pool, rows, 1 + 2048 / (j.wo + 1), grid_rows, &j);
    }
    for (int64_t i = 0; i < ny; i++) lg_tensor_set_f64(y, i, j.y[i]);
    lg_free(mem);
    return LG_OK;
}

const lg_op_def lg_ops_image[] = {
    { "Resize", "", 10, 27, resize_infer, resize_exec, NULL, NULL },
    { "Upsample", "", 7, 9, resize_infer, resize_exec, NULL, NULL },
    { "GridSample", "", 16, 27, gridsample_infer, gridsample_exec, NULL, NULL },
    { NULL }
};
