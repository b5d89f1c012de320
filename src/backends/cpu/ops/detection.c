/*
 * detection.c: object-detection operators: RoiAlign (opset 10 and 16) and
 * NonMaxSuppression (opset 10-17).
 *
 * RoiAlign averages (or maxes) bilinear samples on a regular grid inside each bin of each
 * region, as Detectron defines it; regions x channels run in parallel. NonMaxSuppression
 * greedily keeps the best-scoring boxes of every (batch, class) whose IoU with those
 * already kept stays within the threshold; its output size depends on the data, so the
 * output is allocated in exec.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernel.h"

/* ---- RoiAlign ---- */

typedef struct roialign_job {
    const lg_tensor *x, *rois;
    lg_tensor *y;
    const int64_t *batch;         /* checked batch index of every region */
    int64_t ch, h, w, oh, ow, sampling;
    double scale, offset;         /* offset 0.5 for half_pixel */
    bool half_pixel, max_mode;
} roialign_job;

static double value_at(const lg_tensor *t, int64_t i)
{
    return t->dtype == LG_FLOAT ? ((const float *)t->data)[i] : lg_tensor_get_f64(t, i);
}

/* Bilinear sample at (y, x) of plane (offset base in x): the weighted corners summed
 * (avg) or their largest weighted value (max), as the reference defines max mode. */
static double roi_sample(const roialign_job *j, int64_t base, double y, double x)
{
    if (y < -1.0 || y > (double)j->h || x < -1.0 || x > (double)j->w) return 0.0;
    y = y <= 0.0 ? 0.0 : y;
    x = x <= 0.0 ? 0.0 : x;
    int64_t y0 = (int64_t)y, x0 = (int64_t)x, y1 = y0 + 1, x1 = x0 + 1;
    if (y0 >= j->h - 1) { /* the last row: no row below to blend with */
        y0 = y1 = j->h - 1;
        y = (double)y0;
    }
    if (x0 >= j->w - 1) {
        x0 = x1 = j->w - 1;
        x = (double)x0;
    }
    double ly = y - (double)y0, lx = x - (double)x0, hy = 1.0 - ly, hx = 1.0 - lx;
    double v[4] = { hy * hx * value_at(j->x, base + y0 * j->w + x0), hy * lx * value_at(j->x, base + y0 * j->w + x1),
                    ly * hx * value_at(j->x, base + y1 * j->w + x0), ly * lx * value_at(j->x, base + y1 * j->w + x1) };
    if (!j->max_mode) return v[0] + v[1] + v[2] + v[3];
    return fmax(fmax(v[0], v[1]), fmax(v[2], v[3]));
}

/* Sampling grid of a region: bins of (bin_h, bin_w) from (y0, x0), grid_h x grid_w points each. */
typedef struct roi_box {
    double y0, x0, bin_h, bin_w;
    int64_t grid_h, grid_w;
} roi_box;

static void roi_box_of(const roialign_job *j, int64_t r, roi_box *b)
{
    double x0 = value_at(j->rois, r * 4) * j->scale - j->offset, y0 = value_at(j->rois, r * 4 + 1) * j->scale - j->offset;
    double x1 = value_at(j->rois, r * 4 + 2) * j->scale - j->offset, y1 = value_at(j->rois, r * 4 + 3) * j->scale - j->offset;
    double rw = x1 - x0, rh = y1 - y0;
    if (!j->half_pixel) {
        rw = fmax(rw, 1.0);
        rh = fmax(rh, 1.0);
    }
    b->y0 = y0;
    b->x0 = x0;
    b->bin_h = rh / (double)j->oh;
    b->bin_w = rw / (double)j->ow;
    b->grid_h = j->sampling > 0 ? j->sampling : (int64_t)ceil(rh / (double)j->oh);
    b->grid_w = j->sampling > 0 ? j->sampling : (int64_t)ceil(rw / (double)j->ow);
}

static double roi_bin(const roialign_job *j, const roi_box *b, int64_t base, int64_t ph, int64_t pw)
{
    double acc = 0.0;
    bool first = true;
    for (int64_t iy = 0; iy < b->grid_h; iy++) {
        double y = b->y0 + (double)ph * b->bin_h + ((double)iy + 0.5) * b->bin_h / (double)b->grid_h;
        for (int64_t ix = 0; ix < b->grid_w; ix++) {
            double x = b->x0 + (double)pw * b->bin_w + ((double)ix + 0.5) * b->bin_w / (double)b->grid_w;
            double v = roi_sample(j, base, y, x);
            acc = !j->max_mode ? acc + v : first ? v : fmax(acc, v);
            first = false;
        }
    }
    int64_t count = b->grid_h * b->grid_w;
    return j->max_mode ? acc : acc / (double)(count > 0 ? count : 1);
}

/* Items (region, channel) in [begin, end). */
static void roialign_items(void *arg, int64_t begin, int64_t end)
{
    const roialign_job *j = arg;
    for (int64_t it = begin; it < end; it++) {
        int64_t r = it / j->ch, k = it % j->ch, base = (j->batch[r] * j->ch + k) * j->h * j->w;
        int64_t out = it * j->oh * j->ow;
        roi_box b;
        roi_box_of(j, r, &b);
        for (int64_t ph = 0; ph < j->oh; ph++)
            for (int64_t pw = 0; pw < j->ow; pw++, out++) {
                double v = roi_bin(j, &b, base, ph, pw);
                if (j->y->dtype == LG_FLOAT) ((float *)j->y->data)[out] = (float)v;
                else lg_tensor_set_f64(j->y, out, v);
            }
    }
}

static int roialign_infer(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *rois = c->inputs[1], *bi = c->inputs[2];
    if (!lg_dtype_is_float(x->dtype) || rois->dtype != x->dtype)
        return lg_error(LG_E_UNSUPPORTED, "RoiAlign needs float X and rois of the same type, got %s and %s",
                        lg_dtype_name(x->dtype), lg_dtype_name(rois->dtype));
    if (x->ndim != 4) return lg_error(LG_E_SHAPE, "X must be 4-D (N, C, H, W), got rank %d", x->ndim);
    if (rois->ndim != 2 || rois->dims[1] != 4) return lg_error(LG_E_SHAPE, "rois must have shape (num_rois, 4)");
    if (bi->ndim != 1 || bi->dims[0] != rois->dims[0] || !lg_dtype_is_int(bi->dtype))
        return lg_error(LG_E_SHAPE, "batch_indices must be an integer vector of num_rois = %lld values",
                        (long long)rois->dims[0]);
    int64_t oh = lg_attr_int(c->node, "output_height", 1), ow = lg_attr_int(c->node, "output_width", 1);
    if (oh < 1 || ow < 1 || oh > ((int64_t)1 << 31) || ow > ((int64_t)1 << 31))
        return lg_error(LG_E_INVALID_MODEL, "output_height %lld / output_width %lld must be positive", (long long)oh,
                        (long long)ow);
    int64_t dims[4] = { rois->dims[0], x->dims[1], oh, ow };
    return lg_kout_shape(c, 0, x->dtype, 4, dims);
}

/* Checks every region's batch index and sample count before the parallel part. */
static int roialign_check(const roialign_job *j, int64_t n_rois, int64_t n_batch)
{
    for (int64_t r = 0; r < n_rois; r++) {
        if (j->batch[r] < 0 || j->batch[r] >= n_batch)
            return lg_error(LG_E_RUNTIME, "roi %lld: batch index %lld out of range [0, %lld)", (long long)r,
                            (long long)j->batch[r], (long long)n_batch);
        roi_box b;
        roi_box_of(j, r, &b);
        if (!isfinite(b.bin_h) || !isfinite(b.bin_w) || b.grid_h < 0 || b.grid_w < 0 ||
            (double)b.grid_h * (double)b.grid_w > 1e8)
            return lg_error(LG_E_RUNTIME, "roi %lld has unusable coordinates", (long long)r);
    }
    return LG_OK;
}

static int roialign_exec(lg_kctx *c)
{
    const lg_tensor *x = c->inputs[0], *rois = c->inputs[1], *bi = c->inputs[2];
    const char *ctm = c->opset >= 16 ? lg_attr_string(c->node, "coordinate_transformation_mode", "half_pixel")
                                     : "output_half_pixel";
    const char *mode = lg_attr_string(c->node, "mode", "avg");
    if (strcmp(ctm, "half_pixel") != 0 && strcmp(ctm, "output_half_pixel") != 0)
        return lg_error(LG_E_INVALID_MODEL, "unknown coordinate_transformation_mode '%s'", ctm);
    if (strcmp(mode, "avg") != 0 && strcmp(mode, "max") != 0)
        return lg_error(LG_E_INVALID_MODEL, "unknown mode '%s'", mode);
    int64_t n_rois = rois->dims[0];
    int64_t *batch = lg_alloc((size_t)(n_rois + 1) * sizeof(int64_t));
    if (!batch) return lg_error(LG_E_NOMEM, "out of memory for %lld regions", (long long)n_rois);
    for (int64_t r = 0; r < n_rois; r++) batch[r] = lg_tensor_get_i64(bi, r);
    roialign_job j = { .x = x, .rois = rois, .y = c->outputs[0], .batch = batch, .ch = x->dims[1], .h = x->dims[2],
                       .w = x->dims[3], .oh = c->outputs[0]->dims[2], .ow = c->outputs[0]->dims[3],
                       .sampling = lg_attr_int(c->node, "sampling_ratio", 0),
                       .scale = lg_attr_float(c->node, "spatial_scale", 1.0f),
                       .half_pixel = strcmp(ctm, "half_pixel") == 0, .max_mode = strcmp(mode, "max") == 0 };
    j.offset = j.half_pixel ? 0.5 : 0.0;
    int rc = roialign_check(&j, n_rois, x->dims[0]);
    if (rc == LG_OK && j.h * j.w > 0) lg_parallel_for(c->pool, n_rois * j.ch, 1 + 1024 / (j.oh * j.ow), roialign_items, &j);
    lg_free(batch);
    return rc;
}

/* ---- NonMaxSuppression ---- */

typedef struct scored_box {
    float score;
    int64_t index;
} scored_box;

/* Higher score first; equal scores keep the lower box index first. */
static int by_score(const void *pa, const void *pb)
{
    const scored_box *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

typedef struct nms_params {
    int64_t max_out;
    float iou_threshold, score_threshold;
    bool has_score_threshold, center_point;
} nms_params;

/* Corners (ymin, xmin, ymax, xmax) of box i of batch b. */
static void box_corners(const lg_tensor *boxes, int64_t b, int64_t i, bool center_point, float *out)
{
    int64_t base = (b * boxes->dims[1] + i) * 4;
    float v[4];
    for (int k = 0; k < 4; k++) v[k] = (float)lg_tensor_get_f64(boxes, base + k);
    if (center_point) { /* [x_center, y_center, width, height] */
        out[0] = v[1] - v[3] / 2.0f;
        out[1] = v[0] - v[2] / 2.0f;
        out[2] = v[1] + v[3] / 2.0f;
        out[3] = v[0] + v[2] / 2.0f;
    } else { /* [y1, x1, y2, x2], any pair of opposite corners */
        out[0] = fminf(v[0], v[2]);
        out[1] = fminf(v[1], v[3]);
        out[2] = fmaxf(v[0], v[2]);
        out[3] = fmaxf(v[1], v[3]);
    }
}

static bool overlaps_too_much(const float *a, const float *b, float threshold)
{
    float ih = fminf(a[2], b[2]) - fmaxf(a[0], b[0]), iw = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    if (ih <= 0.0f || iw <= 0.0f) return false;
    float area_a = (a[2] - a[0]) * (a[3] - a[1]), area_b = (b[2] - b[0]) * (b[3] - b[1]);
    float inter = ih * iw, uni = area_a + area_b - inter;
    if (area_a <= 0.0f || area_b <= 0.0f || uni <= 0.0f) return false;
    return inter / uni > threshold;
}

static int nms_read_params(const lg_kctx *c, nms_params *p)
{
    const lg_tensor *m = lg_kin(c, 2), *iou = lg_kin(c, 3), *st = lg_kin(c, 4);
    memset(p, 0, sizeof(*p));
    if (m && lg_tensor_numel_(m) > 0) p->max_out = lg_tensor_get_i64(m, 0);
    if (iou && lg_tensor_numel_(iou) > 0) p->iou_threshold = (float)lg_tensor_get_f64(iou, 0);
    if (st && lg_tensor_numel_(st) > 0) {
        p->has_score_threshold = true;
        p->score_threshold = (float)lg_tensor_get_f64(st, 0);
    }
    int64_t cpb = lg_attr_int(c->node, "center_point_box", 0);
    if (cpb != 0 && cpb != 1) return lg_error(LG_E_INVALID_MODEL, "center_point_box must be 0 or 1, got %lld", (long long)cpb);
    p->center_point = cpb == 1;
    if (p->max_out < 0) p->max_out = 0;
    return LG_OK;
}

/* Selects the boxes of (b, cls), appending (b, cls, index) triples to out. */
static int64_t nms_class(const lg_tensor *boxes, const lg_tensor *scores, const nms_params *p, int64_t b, int64_t cls,
                         scored_box *cand, float *kept, int64_t *out)
{
    int64_t n = boxes->dims[1], n_cand = 0, n_kept = 0;
    int64_t base = (b * scores->dims[1] + cls) * n;
    for (int64_t i = 0; i < n; i++) {
        float s = (float)lg_tensor_get_f64(scores, base + i);
        if (p->has_score_threshold && !(s > p->score_threshold)) continue;
        cand[n_cand++] = (scored_box){ s, i };
    }
    qsort(cand, (size_t)n_cand, sizeof(*cand), by_score);
    for (int64_t k = 0; k < n_cand && n_kept < p->max_out; k++) {
        float box[4];
        box_corners(boxes, b, cand[k].index, p->center_point, box);
        bool keep = true;
        for (int64_t s = 0; s < n_kept && keep; s++) keep = !overlaps_too_much(kept + 4 * s, box, p->iou_threshold);
        if (!keep) continue;
        memcpy(kept + 4 * n_kept, box, sizeof(box));
        out[3 * n_kept] = b;
        out[3 * n_kept + 1] = cls;
        out[3 * n_kept + 2] = cand[k].index;
        n_kept++;
    }
    return n_kept;
}

static int nms_check(const lg_tensor *boxes, const lg_tensor *scores)
{
    if (boxes->ndim != 3 || boxes->dims[2] != 4)
        return lg_error(LG_E_SHAPE, "boxes must have shape (batches, boxes, 4)");
    if (scores->ndim != 3 || scores->dims[0] != boxes->dims[0] || scores->dims[2] != boxes->dims[1])
        return lg_error(LG_E_SHAPE, "scores must have shape (batches, classes, boxes) = (%lld, *, %lld)",
                        (long long)boxes->dims[0], (long long)boxes->dims[1]);
    if (!lg_dtype_is_float(boxes->dtype) || !lg_dtype_is_float(scores->dtype))
        return lg_error(LG_E_UNSUPPORTED, "boxes and scores must be float tensors");
    return LG_OK;
}

static int nms_exec(lg_kctx *c)
{
    const lg_tensor *boxes = c->inputs[0], *scores = c->inputs[1];
    nms_params p;
    LG_CHECK(nms_check(boxes, scores));
    LG_CHECK(nms_read_params(c, &p));
    int64_t nb = boxes->dims[0], nc = scores->dims[1], n = boxes->dims[1];
    int64_t per_class = p.max_out < n ? p.max_out : n;
    size_t bytes = (size_t)n * (sizeof(scored_box) + 4 * sizeof(float)) + (size_t)(nb * nc * per_class * 3) * sizeof(int64_t);
    char *mem = lg_alloc(bytes + 64);
    if (!mem) return lg_error(LG_E_NOMEM, "out of memory for NonMaxSuppression");
    scored_box *cand = (scored_box *)mem;
    float *kept = (float *)(cand + n);
    int64_t *sel = (int64_t *)(kept + 4 * n), total = 0;
    for (int64_t b = 0; b < nb; b++)
        for (int64_t cls = 0; cls < nc; cls++) total += nms_class(boxes, scores, &p, b, cls, cand, kept, sel + 3 * total);
    int64_t dims[2] = { total, 3 };
    lg_tensor *y = lg_kout_alloc(c, 0, LG_INT64, 2, dims);
    if (y) memcpy(y->data, sel, (size_t)total * 3 * sizeof(int64_t));
    lg_free(mem);
    return y ? LG_OK : LG_E_NOMEM;
}

const lg_op_def lg_ops_detection[] = {
    { "RoiAlign", "", 10, 27, roialign_infer, roialign_exec, NULL, NULL },
    { "NonMaxSuppression", "", 10, 27, NULL, nms_exec, NULL, NULL },
    { NULL }
};
