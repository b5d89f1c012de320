/*
 * cmd_infer.c: `legacygpu infer MODEL IMAGE... [options]`: decodes JPEG/PNG images,
 * preprocesses them for the model, runs them as one batch and prints the top-K classes
 * of each image (or the raw output).
 *
 * Preprocessing is layered: built-in ImageNet defaults, then what the model's input
 * shape says (size, layout, channels), then the model's config.json, then the flags.
 * MODEL is a .onnx file (a config.json beside it is used), a model folder, or, with
 * --model NAME, a model of the repository --models DIR.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/tensor_impl.h"
#include "cli/cli.h"
#include "legacygpu/legacygpu.h"
#include "legacygpu/repository.h"

#define MAX_SIDE 65536
#define SOFTMAX_UNSET (-2) /* neither --softmax nor --no-softmax */

/* Preprocessing flags given on the command line, applied after the config. */
enum {
    FLAG_SIZE = 1 << 0, FLAG_RESIZE_SHORTER = 1 << 1, FLAG_CROP = 1 << 2, FLAG_RESIZE = 1 << 3,
    FLAG_COLOR = 1 << 4, FLAG_LAYOUT = 1 << 5, FLAG_SCALE = 1 << 6, FLAG_MEAN = 1 << 7, FLAG_STD = 1 << 8,
};

typedef struct infer_args {
    const char *model_arg, *model_name, *models_dir, *config_path, *labels_path, *input_name;
    bool no_config, json, raw;
    int top_k, softmax, threads;
    lg_cli_engine engine;
    lg_image_preprocess pre;  /* fields named by pre_set */
    unsigned pre_set;
    char **images;
    int n_images;
} infer_args;

/* What the run needs, resolved from the arguments, the model and its config. */
typedef struct infer_plan {
    const char *model_path, *config_path;
    lg_model_config *config;
    lg_value_info input;
    lg_image_preprocess pre;
    lg_postprocess post;
    int batch;  /* images per run */
} infer_plan;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: legacygpu infer MODEL IMAGE... [options]\n"
            "       legacygpu infer --model NAME [--models DIR] IMAGE... [options]\n"
            "  MODEL is a .onnx file (config.json beside it is used) or a model folder.\n"
            "  --model NAME        model NAME of the repository (DIR/NAME/model.onnx)\n"
            "  --models DIR        model repository (default: $LEGACYGPU_MODELS or ./models)\n"
            "  --config FILE       model config.json to use; --no-config: none\n"
            "  --labels FILE       class labels, one per line\n"
            "  --top K             classes to print per image (default 5)\n"
            "  --softmax, --no-softmax  force softmax on or off (default: unless the output\n"
            "                      already is a distribution)\n"
            "  --raw               print the output tensor instead of classes\n"
            "  --json              print a JSON result per image\n"
            "  --threads N         threads (default: all cores)\n"
            LG_CLI_ENGINE_USAGE
            "  --input NAME        model input to feed (default: the first image-like one)\n"
            " preprocessing (defaults: the model's input shape, then its config.json):\n"
            "  --size N | WxH      model input size in pixels (224 when the model leaves it open)\n"
            "  --resize-shorter N  resize the shorter side to N before the centre crop\n"
            "                      (default: size * 256/224)\n"
            "  --no-crop, --crop   resize straight to the size / keep aspect and centre-crop\n"
            "  --resize MODE       bilinear (default), area or nearest\n"
            "  --gray, --rgb, --bgr  channels fed to the model\n"
            "  --layout L          nchw or nhwc\n"
            "  --scale X           multiply 0..255 pixel values by X (default 1/255)\n"
            "  --mean A[,B,C]      subtracted per channel after scaling (default ImageNet)\n"
            "  --std A[,B,C]       divided by per channel after that (default ImageNet)\n");
}

/* ---- arguments ------------------------------------------------------------------- */

/* "N" or "WxH". */
static int parse_size_arg(const char *s, lg_image_preprocess *p)
{
    int w, h, used = 0;
    if (sscanf(s, "%dx%d%n", &w, &h, &used) == 2 && !s[used] && w >= 1 && h >= 1 && w <= MAX_SIDE && h <= MAX_SIDE) {
        p->width = w;
        p->height = h;
        return LG_EXIT_OK;
    }
    if (lg_cli_int("--size", s, 1, MAX_SIDE, &w) != LG_EXIT_OK) return LG_EXIT_USAGE;
    p->width = p->height = w;
    return LG_EXIT_OK;
}

static int parse_float_arg(const char *flag, const char *s, float *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v)) {
        fprintf(stderr, "legacygpu: %s expects a number, got '%s'\n", flag, s);
        return LG_EXIT_USAGE;
    }
    *out = (float)v;
    return LG_EXIT_OK;
}

/* "A" or "A,B,C" into v[3]. */
static int parse_floats_arg(const char *flag, const char *s, float v[3])
{
    double a, b, c;
    int used = 0;
    if (sscanf(s, "%lf,%lf,%lf%n", &a, &b, &c, &used) == 3 && !s[used]) {
        v[0] = (float)a, v[1] = (float)b, v[2] = (float)c;
    } else if (sscanf(s, "%lf%n", &a, &used) == 1 && !s[used]) {
        v[0] = v[1] = v[2] = (float)a;
    } else {
        fprintf(stderr, "legacygpu: %s expects a number or three numbers A,B,C, got '%s'\n", flag, s);
        return LG_EXIT_USAGE;
    }
    return LG_EXIT_OK;
}

static int parse_choice_arg(const char *flag, const char *s, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return LG_EXIT_OK;
        }
    fprintf(stderr, "legacygpu: %s: unknown value '%s'\n", flag, s);
    return LG_EXIT_USAGE;
}

enum {
    OPT_MODEL = 256, OPT_MODELS, OPT_CONFIG, OPT_NO_CONFIG, OPT_LABELS, OPT_TOP, OPT_SOFTMAX, OPT_NO_SOFTMAX,
    OPT_RAW, OPT_JSON, OPT_THREADS, OPT_INPUT, OPT_SIZE, OPT_RESIZE_SHORTER, OPT_NO_CROP, OPT_CROP,
    OPT_RESIZE, OPT_GRAY, OPT_RGB, OPT_BGR, OPT_LAYOUT, OPT_SCALE, OPT_MEAN, OPT_STD, OPT_HELP,
};

static int parse_option(infer_args *a, int opt, const char *arg)
{
    static const char *const resize_names[] = { "bilinear", "area", "nearest" };
    static const char *const layout_names[] = { "nchw", "nhwc" };
    int v;
    switch (opt) {
    case OPT_MODEL: a->model_name = arg; return LG_EXIT_OK;
    case OPT_MODELS: a->models_dir = arg; return LG_EXIT_OK;
    case OPT_CONFIG: a->config_path = arg; return LG_EXIT_OK;
    case OPT_NO_CONFIG: a->no_config = true; return LG_EXIT_OK;
    case OPT_LABELS: a->labels_path = arg; return LG_EXIT_OK;
    case OPT_TOP: return lg_cli_int("--top", arg, 1, 1 << 30, &a->top_k);
    case OPT_SOFTMAX: a->softmax = LG_SOFTMAX_ON; return LG_EXIT_OK;
    case OPT_NO_SOFTMAX: a->softmax = LG_SOFTMAX_OFF; return LG_EXIT_OK;
    case OPT_RAW: a->raw = true; return LG_EXIT_OK;
    case OPT_JSON: a->json = true; return LG_EXIT_OK;
    case OPT_THREADS: return lg_cli_int("--threads", arg, 0, 4096, &a->threads);
    case LG_OPT_BACKEND: case LG_OPT_DEVICE: case LG_OPT_PRECISION: return lg_cli_engine_opt(&a->engine, opt, arg);
    case OPT_INPUT: a->input_name = arg; return LG_EXIT_OK;
    case OPT_SIZE: a->pre_set |= FLAG_SIZE; return parse_size_arg(arg, &a->pre);
    case OPT_RESIZE_SHORTER:
        a->pre_set |= FLAG_RESIZE_SHORTER;
        return lg_cli_int("--resize-shorter", arg, 1, MAX_SIDE, &a->pre.resize_shorter);
    case OPT_NO_CROP: case OPT_CROP: a->pre_set |= FLAG_CROP; a->pre.crop = opt == OPT_CROP; return LG_EXIT_OK;
    case OPT_RESIZE:
        a->pre_set |= FLAG_RESIZE;
        if (parse_choice_arg("--resize", arg, resize_names, 3, &v) != LG_EXIT_OK) return LG_EXIT_USAGE;
        a->pre.resize = (lg_image_resize)v;
        return LG_EXIT_OK;
    case OPT_GRAY: case OPT_RGB: case OPT_BGR:
        a->pre_set |= FLAG_COLOR;
        a->pre.color = opt == OPT_GRAY ? LG_COLOR_GRAY : opt == OPT_BGR ? LG_COLOR_BGR : LG_COLOR_RGB;
        return LG_EXIT_OK;
    case OPT_LAYOUT:
        a->pre_set |= FLAG_LAYOUT;
        if (parse_choice_arg("--layout", arg, layout_names, 2, &v) != LG_EXIT_OK) return LG_EXIT_USAGE;
        a->pre.layout = (lg_image_layout)v;
        return LG_EXIT_OK;
    case OPT_SCALE: a->pre_set |= FLAG_SCALE; return parse_float_arg("--scale", arg, &a->pre.scale);
    case OPT_MEAN: a->pre_set |= FLAG_MEAN; return parse_floats_arg("--mean", arg, a->pre.mean);
    case OPT_STD: a->pre_set |= FLAG_STD; return parse_floats_arg("--std", arg, a->pre.std);
    default: return LG_EXIT_USAGE;
    }
}

static int parse_args(int argc, char **argv, infer_args *a)
{
    static const struct option longopts[] = {
        { "model", required_argument, 0, OPT_MODEL },       { "models", required_argument, 0, OPT_MODELS },
        { "config", required_argument, 0, OPT_CONFIG },     { "no-config", no_argument, 0, OPT_NO_CONFIG },
        { "labels", required_argument, 0, OPT_LABELS },     { "top", required_argument, 0, OPT_TOP },
        { "softmax", no_argument, 0, OPT_SOFTMAX },         { "no-softmax", no_argument, 0, OPT_NO_SOFTMAX },
        { "raw", no_argument, 0, OPT_RAW },                 { "json", no_argument, 0, OPT_JSON },
        { "threads", required_argument, 0, OPT_THREADS },   { "input", required_argument, 0, OPT_INPUT },
        LG_CLI_ENGINE_LONGOPTS,
        { "size", required_argument, 0, OPT_SIZE },         { "resize-shorter", required_argument, 0, OPT_RESIZE_SHORTER },
        { "no-crop", no_argument, 0, OPT_NO_CROP },         { "crop", no_argument, 0, OPT_CROP },
        { "resize", required_argument, 0, OPT_RESIZE },     { "gray", no_argument, 0, OPT_GRAY },
        { "rgb", no_argument, 0, OPT_RGB },                 { "bgr", no_argument, 0, OPT_BGR },
        { "layout", required_argument, 0, OPT_LAYOUT },     { "scale", required_argument, 0, OPT_SCALE },
        { "mean", required_argument, 0, OPT_MEAN },         { "std", required_argument, 0, OPT_STD },
        { "help", no_argument, 0, OPT_HELP },               { 0, 0, 0, 0 },
    };
    int opt;
    a->softmax = SOFTMAX_UNSET;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (opt == OPT_HELP || opt == 'h') {
            usage(stdout);
            return -1;
        }
        if (opt == '?' || parse_option(a, opt, optarg) != LG_EXIT_OK) {
            fprintf(stderr, "legacygpu: 'legacygpu infer --help' lists the options\n");
            return LG_EXIT_USAGE;
        }
    }
    a->images = argv + optind;
    a->n_images = argc - optind;
    if (!a->model_name && a->n_images > 0) { /* the first positional is MODEL */
        a->model_arg = a->images[0];
        a->images++;
        a->n_images--;
    }
    if (a->n_images < 1) {
        fprintf(stderr, "legacygpu: infer needs a model and at least one image\n");
        usage(stderr);
        return LG_EXIT_USAGE;
    }
    if (!a->models_dir) a->models_dir = getenv("LEGACYGPU_MODELS") ? getenv("LEGACYGPU_MODELS") : "models";
    return LG_EXIT_OK;
}

/* ---- model, config and preprocessing --------------------------------------------- */

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Finds the model file and its config.json (kept in buf_model / buf_config). */
static int resolve_model(const infer_args *a, lg_repo **repo, char *buf_model,
                         char *buf_config, size_t buflen, infer_plan *plan)
{
    const char *model_arg = a->model_arg;
    int rc;
    if (a->model_name) {
        if ((rc = lg_repo_open(a->models_dir, repo)) != LG_OK ||
            (rc = lg_repo_find(*repo, a->model_name, &plan->model_path, &plan->config_path)) != LG_OK)
            return lg_cli_fail(rc, NULL);
    } else if (is_dir(model_arg)) {
        snprintf(buf_model, buflen, "%s/model.onnx", model_arg);
        snprintf(buf_config, buflen, "%s/config.json", model_arg);
        plan->model_path = buf_model;
        plan->config_path = is_file(buf_config) ? buf_config : NULL;
    } else {
        const char *slash = strrchr(model_arg, '/');
        snprintf(buf_config, buflen, "%.*s%sconfig.json", slash ? (int)(slash - model_arg) : 0, model_arg,
                 slash ? "/" : "");
        plan->model_path = model_arg;
        plan->config_path = is_file(buf_config) ? buf_config : NULL;
    }
    if (a->config_path) plan->config_path = a->config_path;
    if (a->no_config) plan->config_path = NULL;
    rc = plan->config_path ? lg_model_config_load(plan->config_path, &plan->config) : lg_model_config_new(&plan->config);
    if (rc == LG_OK && a->labels_path) rc = lg_model_config_load_labels(plan->config, a->labels_path);
    return rc == LG_OK ? LG_EXIT_OK : lg_cli_fail(rc, NULL);
}

/* The model input to feed: named by --input or the config, else the first of rank 4. */
static int pick_input(const lg_model *m, const char *want, lg_value_info *info)
{
    int n = lg_model_num_inputs(m);
    for (int i = 0; i < n; i++) {
        if (lg_model_input_info(m, i, info) != LG_OK) continue;
        if (want ? !strcmp(info->name, want) : info->ndim == 4) return LG_EXIT_OK;
    }
    if (want) fprintf(stderr, "legacygpu: the model has no input named '%s'\n", want);
    else if (n > 0 && lg_model_input_info(m, 0, info) == LG_OK)
        fprintf(stderr, "legacygpu: the model input '%s' is not image-like: it has %d dimensions, an image input "
                        "has 4 (NCHW or NHWC)\n", info->name, info->ndim);
    else fprintf(stderr, "legacygpu: the model has no inputs to feed images to\n");
    return LG_EXIT_FAIL;
}

/* "[batch,3,224,224]": a value's shape with symbolic dims by name. */
static const char *shape_text(const lg_value_info *in, char *buf, size_t len)
{
    size_t o = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < in->ndim && o < len; i++) {
        const char *sep = i ? "," : "";
        if (in->dims[i] >= 0) o += (size_t)snprintf(buf + o, len - o, "%s%lld", sep, (long long)in->dims[i]);
        else o += (size_t)snprintf(buf + o, len - o, "%s%s", sep, in->dim_names[i] ? in->dim_names[i] : "?");
    }
    if (o < len) snprintf(buf + o, len - o, "]");
    return buf;
}

/* Size, layout and colour the model's input shape implies (channels 1 or 3). */
static int preprocess_from_shape(const lg_value_info *in, lg_image_preprocess *p)
{
    const int64_t *d = in->dims;
    char shape[256];
    if (in->ndim != 4 || in->dtype != LG_FLOAT) {
        fprintf(stderr, "legacygpu: the model input '%s' is not image-like: it is %s with %d dimensions; images "
                        "need a float32 input of 4 dimensions\n", in->name, lg_dtype_name(in->dtype), in->ndim);
        return LG_EXIT_FAIL;
    }
    bool nchw = d[1] == 1 || d[1] == 3 || (d[1] < 0 && !(d[3] == 1 || d[3] == 3));
    if (!nchw && !(d[3] == 1 || d[3] == 3 || d[3] < 0)) {
        fprintf(stderr, "legacygpu: the model input '%s' is not image-like: shape %s has no channel dimension "
                        "of 1 or 3\n", in->name, shape_text(in, shape, sizeof(shape)));
        return LG_EXIT_FAIL;
    }
    int64_t c = nchw ? d[1] : d[3], h = nchw ? d[2] : d[1], w = nchw ? d[3] : d[2];
    p->layout = nchw ? LG_LAYOUT_NCHW : LG_LAYOUT_NHWC;
    if (h > 0 && h <= MAX_SIDE) p->height = (int)h;
    if (w > 0 && w <= MAX_SIDE) p->width = (int)w;
    if (c == 1) { /* ImageNet statistics averaged over the channels */
        p->color = LG_COLOR_GRAY;
        p->mean[0] = p->mean[1] = p->mean[2] = 0.449f;
        p->std[0] = p->std[1] = p->std[2] = 0.226f;
    }
    return LG_EXIT_OK;
}

static void apply_flags(const infer_args *a, lg_image_preprocess *p)
{
    const lg_image_preprocess *f = &a->pre;
    if (a->pre_set & FLAG_SIZE) p->width = f->width, p->height = f->height;
    if (a->pre_set & FLAG_RESIZE_SHORTER) p->resize_shorter = f->resize_shorter;
    if (a->pre_set & FLAG_CROP) p->crop = f->crop;
    if (a->pre_set & FLAG_RESIZE) p->resize = f->resize;
    if (a->pre_set & FLAG_COLOR) p->color = f->color;
    if (a->pre_set & FLAG_LAYOUT) p->layout = f->layout;
    if (a->pre_set & FLAG_SCALE) p->scale = f->scale;
    if (a->pre_set & FLAG_MEAN) memcpy(p->mean, f->mean, sizeof(p->mean));
    if (a->pre_set & FLAG_STD) memcpy(p->std, f->std, sizeof(p->std));
}

/* Checks that the tensor the preprocessing makes fits the model input's fixed dims. */
static int check_fits_input(const lg_value_info *in, const lg_image_preprocess *p)
{
    char shape[256];
    int64_t c = p->color == LG_COLOR_GRAY ? 1 : 3;
    int64_t want[4] = { in->dims[0], c, p->height, p->width };
    if (p->layout == LG_LAYOUT_NHWC) want[1] = p->height, want[2] = p->width, want[3] = c;
    for (int i = 1; i < 4; i++)
        if (in->dims[i] >= 0 && in->dims[i] != want[i]) {
            fprintf(stderr, "legacygpu: the model input '%s' has shape %s but the preprocessing makes "
                            "[N,%lld,%lld,%lld] (%s, %s)\n", in->name, shape_text(in, shape, sizeof(shape)),
                    (long long)want[1], (long long)want[2], (long long)want[3],
                    p->layout == LG_LAYOUT_NHWC ? "NHWC" : "NCHW", c == 1 ? "gray" : "color");
            return LG_EXIT_FAIL;
        }
    return LG_EXIT_OK;
}

static int plan_preprocessing(const infer_args *a, const lg_model *m, infer_plan *plan)
{
    const char *want = a->input_name ? a->input_name : lg_model_config_input_name(plan->config);
    if (pick_input(m, want, &plan->input) != LG_EXIT_OK) return LG_EXIT_FAIL;
    lg_image_preprocess_defaults(&plan->pre);
    if (preprocess_from_shape(&plan->input, &plan->pre) != LG_EXIT_OK) return LG_EXIT_FAIL;
    lg_model_config_apply_input(plan->config, &plan->pre);
    apply_flags(a, &plan->pre);
    int rc = lg_image_preprocess_check(&plan->pre);
    if (rc != LG_OK) return lg_cli_fail(rc, "preprocessing");
    if (check_fits_input(&plan->input, &plan->pre) != LG_EXIT_OK) return LG_EXIT_FAIL;
    plan->batch = plan->input.dims[0] > 0 ? (int)plan->input.dims[0] : a->n_images;
    lg_model_config_postprocess(plan->config, &plan->post);
    if (a->raw) plan->post.type = LG_POSTPROCESS_RAW;
    if (a->top_k > 0) plan->post.top_k = a->top_k;
    if (a->softmax != SOFTMAX_UNSET) plan->post.softmax = a->softmax;
    return LG_EXIT_OK;
}

/* ---- results --------------------------------------------------------------------- */

/* The top-k classes of one image's output values, as JSON (also printed as text). */
static json_t *classify(const infer_plan *plan, const char *image, const double *v, int64_t n, bool as_json)
{
    int k = plan->post.top_k;
    lg_class_score *top_k = malloc((size_t)(k > 0 ? k : 1) * sizeof(*top_k));
    if (!top_k) return NULL;
    int m = lg_classify(v, n, &plan->post, k, top_k);
    json_t *top = json_array();
    if (!as_json) printf("%s\n", image);
    for (int i = 0; i < m; i++) {
        const char *label = lg_model_config_label(plan->config, top_k[i].index);
        json_array_append_new(top, json_pack("{s:i, s:s?, s:f}", "class", top_k[i].index, "label", label,
                                             "probability", top_k[i].probability));
        if (as_json) continue;
        if (label) printf("  %.4f  %s\n", top_k[i].probability, label);
        else printf("  %.4f  class %d\n", top_k[i].probability, top_k[i].index);
    }
    free(top_k);
    return json_pack("{s:s, s:o}", "image", image, "top", top);
}

/* One image's output values: printed (the first 16), or as JSON (all). */
static json_t *raw_values(const char *image, const double *v, int64_t n, bool as_json)
{
    if (!as_json) {
        printf("%s: %lld values:", image, (long long)n);
        for (int64_t i = 0; i < n && i < 16; i++) printf(" %.6g", v[i]);
        printf("%s\n", n > 16 ? " ..." : "");
        return NULL;
    }
    json_t *values = json_array();
    for (int64_t i = 0; i < n; i++) json_array_append_new(values, json_real(v[i]));
    return json_pack("{s:s, s:o}", "image", image, "output", values);
}

/* Reports the outputs of images [first, first + count) of a batch; appends to results. */
static int report_batch(const infer_plan *plan, const lg_tensor *out, char **images, int first, int count,
                        bool as_json, json_t *results)
{
    int64_t numel = lg_tensor_numel(out);
    int64_t per_image = plan->batch > 0 ? numel / plan->batch : 0;
    if (lg_tensor_ndim(out) < 1 || lg_tensor_dims(out)[0] != plan->batch || lg_dtype_size(lg_tensor_dtype(out)) == 0 ||
        lg_tensor_dtype(out) == LG_STRING) {
        fprintf(stderr, "legacygpu: the model output is %s with %d dimensions; expected a numeric tensor with "
                        "the batch of %d first\n", lg_dtype_name(lg_tensor_dtype(out)), lg_tensor_ndim(out), plan->batch);
        return LG_EXIT_FAIL;
    }
    double *v = malloc((size_t)(per_image ? per_image : 1) * sizeof(double));
    if (!v) return lg_cli_fail(LG_E_NOMEM, "results");
    for (int i = 0; i < count; i++) {
        for (int64_t j = 0; j < per_image; j++) v[j] = lg_tensor_get_f64(out, i * per_image + j);
        const char *image = images[first + i];
        json_t *r = plan->post.type == LG_POSTPROCESS_RAW ? raw_values(image, v, per_image, as_json)
                                                          : classify(plan, image, v, per_image, as_json);
        if (r) json_array_append_new(results, r);
    }
    free(v);
    return LG_EXIT_OK;
}

/* ---- running --------------------------------------------------------------------- */

/* Preprocesses images [first, first + count) into a batch of plan->batch, repeating the
 * last image to fill a model with a fixed batch size. */
static int run_batch(const infer_plan *plan, lg_session *s, lg_image **images, int first, int count,
                     lg_tensor **out)
{
    const lg_image **batch = malloc((size_t)plan->batch * sizeof(*batch));
    if (!batch) return lg_cli_fail(LG_E_NOMEM, "batch");
    for (int i = 0; i < plan->batch; i++) batch[i] = images[first + (i < count ? i : count - 1)];
    lg_tensor *in = NULL;
    int rc = lg_image_to_tensor(batch, plan->batch, &plan->pre, &in);
    free(batch);
    if (rc != LG_OK) return lg_cli_fail(rc, "preprocessing");
    const char *names[1] = { plan->input.name };
    *out = NULL;
    rc = lg_session_run(s, 1, names, &in, 1, NULL, out);
    lg_tensor_free(in);
    return rc == LG_OK ? LG_EXIT_OK : lg_cli_fail(rc, plan->model_path);
}

static int load_images(const infer_args *a, lg_image **images)
{
    for (int i = 0; i < a->n_images; i++) {
        int rc = lg_image_load(a->images[i], &images[i]);
        if (rc != LG_OK) return lg_cli_fail(rc, NULL);
    }
    return LG_EXIT_OK;
}

static void print_json(const infer_plan *plan, json_t *results)
{
    json_t *shape = json_array();
    int64_t c = plan->pre.color == LG_COLOR_GRAY ? 1 : 3;
    int64_t dims[4] = { plan->batch, c, plan->pre.height, plan->pre.width };
    if (plan->pre.layout == LG_LAYOUT_NHWC) dims[1] = plan->pre.height, dims[2] = plan->pre.width, dims[3] = c;
    for (int i = 0; i < 4; i++) json_array_append_new(shape, json_integer(dims[i]));
    json_t *root = json_pack("{s:s, s:s?, s:{s:s, s:o}, s:O}", "model", plan->model_path, "config",
                             plan->config_path, "input", "name", plan->input.name, "shape", shape, "results", results);
    char *text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
    if (text) puts(text);
    free(text);
    json_decref(root);
}

int lg_cmd_infer(int argc, char **argv)
{
    infer_args a = { .engine = LG_CLI_ENGINE_INIT };
    int code = parse_args(argc, argv, &a);
    if (code != LG_EXIT_OK) return code < 0 ? LG_EXIT_OK : code;
    char model_buf[4096], config_buf[4096];
    infer_plan plan = { 0 };
    lg_repo *repo = NULL;
    lg_model *m = NULL;
    lg_session *s = NULL;
    lg_image **images = calloc((size_t)a.n_images, sizeof(*images));
    json_t *results = json_array();
    int rc;
    code = LG_EXIT_FAIL;
    if (!images || !results) goto done;
    if (resolve_model(&a, &repo, model_buf, config_buf, sizeof(model_buf), &plan) != LG_EXIT_OK)
        goto done;
    if ((rc = lg_model_load(plan.model_path, &m)) != LG_OK) {
        lg_cli_fail(rc, plan.model_path);
        goto done;
    }
    if (plan_preprocessing(&a, m, &plan) != LG_EXIT_OK || load_images(&a, images) != LG_EXIT_OK) goto done;
    lg_session_options so = { .num_threads = a.threads, .release_weights = 1 };
    lg_cli_engine_apply(&a.engine, "cpu", &so);
    if ((rc = lg_session_create(m, &so, &s)) != LG_OK) {
        lg_cli_fail(rc, plan.model_path);
        goto done;
    }
    for (int first = 0; first < a.n_images; first += plan.batch) {
        int count = a.n_images - first < plan.batch ? a.n_images - first : plan.batch;
        lg_tensor *out;
        if (run_batch(&plan, s, images, first, count, &out) != LG_EXIT_OK) goto done;
        int ok = report_batch(&plan, out, a.images, first, count, a.json, results);
        lg_tensor_free(out);
        if (ok != LG_EXIT_OK) goto done;
    }
    if (a.json) print_json(&plan, results);
    code = LG_EXIT_OK;
done:
    json_decref(results);
    for (int i = 0; images && i < a.n_images; i++) lg_image_free(images[i]);
    free(images);
    lg_session_free(s);
    lg_model_free(m);
    lg_model_config_free(plan.config);
    lg_repo_free(repo);
    return code;
}
