/*
 * repository.c: model repositories (DIR/NAME/model.onnx + config.json) and model
 * configs parsed with jansson: input preprocessing, postprocessing, class labels.
 *
 * Parsing is strict: an unknown field, a wrong type or an out-of-range value is one
 * LG_E_PARSE error naming the file and the field ("config.json: input.size: ...").
 * Each JSON object is handled by a table of {field, parser}.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "base/error.h"
#include "legacygpu/repository.h"

#define MAX_NAME 128
#define MAX_TEXT_BYTES ((long)16 << 20)
#define MAX_CONFIG_SIDE 65536

/* ---- configs ---------------------------------------------------------------------- */

/* Bits of lg_model_config.input_set: which preprocessing fields the config sets. */
enum {
    SET_SIZE = 1 << 0, SET_RESIZE_SHORTER = 1 << 1, SET_CROP = 1 << 2, SET_RESIZE = 1 << 3,
    SET_COLOR = 1 << 4, SET_LAYOUT = 1 << 5, SET_SCALE = 1 << 6, SET_MEAN = 1 << 7, SET_STD = 1 << 8,
};
enum { SET_POST_TYPE = 1 << 0, SET_POST_TOP_K = 1 << 1, SET_POST_SOFTMAX = 1 << 2 };

struct lg_model_config {
    unsigned input_set, post_set;
    lg_image_preprocess input;
    char *input_name;
    lg_postprocess post;
    char **labels;
    int num_labels;
};

/* While parsing: the config being filled, where the text came from, the field path. */
typedef struct parse_ctx {
    lg_model_config *cfg;
    const char *source;
    const char *base_dir;
    char field[96];
} parse_ctx;

typedef int (*field_parser)(parse_ctx *p, json_t *v);
typedef struct field_def {
    const char *name;
    field_parser parse;
} field_def;

typedef struct named_value {
    const char *name;
    int value;
} named_value;

static int field_error(parse_ctx *p, const char *expected)
{
    return lg_error(LG_E_PARSE, "%s: field '%s': expected %s", p->source, p->field, expected);
}

static int parse_object(parse_ctx *p, json_t *obj, const field_def *fields, const char *prefix)
{
    const char *key;
    json_t *v;
    if (!json_is_object(obj)) {
        snprintf(p->field, sizeof(p->field), "%s", *prefix ? prefix : "(top level)");
        return field_error(p, "an object");
    }
    json_object_foreach(obj, key, v) {
        const field_def *f = fields;
        while (f->name && strcmp(f->name, key) != 0) f++;
        snprintf(p->field, sizeof(p->field), "%s%s%s", prefix, *prefix ? "." : "", key);
        if (!f->name) return lg_error(LG_E_PARSE, "%s: unknown field '%s'", p->source, p->field);
        LG_CHECK(f->parse(p, v));
    }
    return LG_OK;
}

static int parse_named(parse_ctx *p, json_t *v, const named_value *names, const char *expected, int *out)
{
    if (json_is_string(v))
        for (const named_value *n = names; n->name; n++)
            if (!strcmp(n->name, json_string_value(v))) {
                *out = n->value;
                return LG_OK;
            }
    return field_error(p, expected);
}

static int parse_int(parse_ctx *p, json_t *v, int lo, int hi, int *out)
{
    char expected[64];
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(expected, sizeof(expected), "an integer in %d..%d", lo, hi);
        return field_error(p, expected);
    }
    *out = (int)json_integer_value(v);
    return LG_OK;
}

/* A number, or an array of 1 or 3 numbers (1 is repeated for every channel). */
static int parse_channel_values(parse_ctx *p, json_t *v, float out[3])
{
    const char *expected = "a number or an array of 1 or 3 numbers";
    if (json_is_number(v)) {
        out[0] = out[1] = out[2] = (float)json_number_value(v);
        return LG_OK;
    }
    size_t n = json_array_size(v);
    if (!json_is_array(v) || (n != 1 && n != 3)) return field_error(p, expected);
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(v, n == 1 ? 0 : i);
        if (!json_is_number(e)) return field_error(p, expected);
        out[i] = (float)json_number_value(e);
    }
    return LG_OK;
}

static int input_name(parse_ctx *p, json_t *v)
{
    if (!json_is_string(v) || !*json_string_value(v)) return field_error(p, "a non-empty string");
    free(p->cfg->input_name);
    p->cfg->input_name = strdup(json_string_value(v));
    return p->cfg->input_name ? LG_OK : lg_error(LG_E_NOMEM, "out of memory");
}

static int input_size(parse_ctx *p, json_t *v)
{
    const char *expected = "an integer or [height, width], each 1..65536";
    lg_image_preprocess *in = &p->cfg->input;
    if (json_is_integer(v)) {
        LG_CHECK(parse_int(p, v, 1, MAX_CONFIG_SIDE, &in->height));
        in->width = in->height;
    } else if (json_is_array(v) && json_array_size(v) == 2) {
        if (parse_int(p, json_array_get(v, 0), 1, MAX_CONFIG_SIDE, &in->height) != LG_OK ||
            parse_int(p, json_array_get(v, 1), 1, MAX_CONFIG_SIDE, &in->width) != LG_OK)
            return field_error(p, expected);
    } else {
        return field_error(p, expected);
    }
    p->cfg->input_set |= SET_SIZE;
    return LG_OK;
}

static int input_resize_shorter(parse_ctx *p, json_t *v)
{
    p->cfg->input_set |= SET_RESIZE_SHORTER;
    return parse_int(p, v, 0, MAX_CONFIG_SIDE, &p->cfg->input.resize_shorter);
}

static int input_crop(parse_ctx *p, json_t *v)
{
    if (!json_is_boolean(v)) return field_error(p, "true or false");
    p->cfg->input.crop = json_is_true(v);
    p->cfg->input_set |= SET_CROP;
    return LG_OK;
}

static int input_resize(parse_ctx *p, json_t *v)
{
    static const named_value names[] = {
        { "bilinear", LG_RESIZE_BILINEAR }, { "area", LG_RESIZE_AREA }, { "nearest", LG_RESIZE_NEAREST }, { NULL }
    };
    int mode = 0;
    LG_CHECK(parse_named(p, v, names, "\"bilinear\", \"area\" or \"nearest\"", &mode));
    p->cfg->input.resize = (lg_image_resize)mode;
    p->cfg->input_set |= SET_RESIZE;
    return LG_OK;
}

static int input_color(parse_ctx *p, json_t *v)
{
    static const named_value names[] = {
        { "rgb", LG_COLOR_RGB }, { "bgr", LG_COLOR_BGR }, { "gray", LG_COLOR_GRAY }, { NULL }
    };
    int color = 0;
    LG_CHECK(parse_named(p, v, names, "\"rgb\", \"bgr\" or \"gray\"", &color));
    p->cfg->input.color = (lg_image_color)color;
    p->cfg->input_set |= SET_COLOR;
    return LG_OK;
}

static int input_layout(parse_ctx *p, json_t *v)
{
    static const named_value names[] = { { "nchw", LG_LAYOUT_NCHW }, { "nhwc", LG_LAYOUT_NHWC }, { NULL } };
    int layout = 0;
    LG_CHECK(parse_named(p, v, names, "\"nchw\" or \"nhwc\"", &layout));
    p->cfg->input.layout = (lg_image_layout)layout;
    p->cfg->input_set |= SET_LAYOUT;
    return LG_OK;
}

static int input_scale(parse_ctx *p, json_t *v)
{
    if (!json_is_number(v)) return field_error(p, "a number");
    p->cfg->input.scale = (float)json_number_value(v);
    p->cfg->input_set |= SET_SCALE;
    return LG_OK;
}

static int input_mean(parse_ctx *p, json_t *v)
{
    p->cfg->input_set |= SET_MEAN;
    return parse_channel_values(p, v, p->cfg->input.mean);
}

static int input_std(parse_ctx *p, json_t *v)
{
    LG_CHECK(parse_channel_values(p, v, p->cfg->input.std));
    for (int c = 0; c < 3; c++)
        if (p->cfg->input.std[c] == 0.0f) return field_error(p, "non-zero values");
    p->cfg->input_set |= SET_STD;
    return LG_OK;
}

static const field_def input_fields[] = {
    { "name", input_name },       { "size", input_size },     { "resize_shorter", input_resize_shorter },
    { "crop", input_crop },       { "resize", input_resize }, { "color", input_color },
    { "layout", input_layout },   { "scale", input_scale },   { "mean", input_mean },
    { "std", input_std },         { NULL },
};

static int post_type(parse_ctx *p, json_t *v)
{
    static const named_value names[] = { { "classify", LG_POSTPROCESS_CLASSIFY }, { "raw", LG_POSTPROCESS_RAW }, { NULL } };
    int type = 0;
    LG_CHECK(parse_named(p, v, names, "\"classify\" or \"raw\"", &type));
    p->cfg->post.type = (lg_postprocess_type)type;
    p->cfg->post_set |= SET_POST_TYPE;
    return LG_OK;
}

static int post_top_k(parse_ctx *p, json_t *v)
{
    p->cfg->post_set |= SET_POST_TOP_K;
    return parse_int(p, v, 1, INT_MAX, &p->cfg->post.top_k);
}

static int post_softmax(parse_ctx *p, json_t *v)
{
    if (json_is_boolean(v)) p->cfg->post.softmax = json_is_true(v) ? LG_SOFTMAX_ON : LG_SOFTMAX_OFF;
    else if (json_is_string(v) && !strcmp(json_string_value(v), "auto")) p->cfg->post.softmax = LG_SOFTMAX_AUTO;
    else return field_error(p, "true, false or \"auto\"");
    p->cfg->post_set |= SET_POST_SOFTMAX;
    return LG_OK;
}

static const field_def post_fields[] = {
    { "type", post_type }, { "top_k", post_top_k }, { "softmax", post_softmax }, { NULL },
};

static int top_input(parse_ctx *p, json_t *v) { return parse_object(p, v, input_fields, "input"); }
static int top_postprocess(parse_ctx *p, json_t *v) { return parse_object(p, v, post_fields, "postprocess"); }

static int top_description(parse_ctx *p, json_t *v)
{
    return json_is_string(v) ? LG_OK : field_error(p, "a string");
}

static int top_labels(parse_ctx *p, json_t *v)
{
    if (!json_is_string(v) || !*json_string_value(v)) return field_error(p, "a file name (string)");
    const char *name = json_string_value(v);
    char path[PATH_MAX];
    if (name[0] == '/' || !p->base_dir) snprintf(path, sizeof(path), "%s", name);
    else snprintf(path, sizeof(path), "%s/%s", p->base_dir, name);
    int rc = lg_model_config_load_labels(p->cfg, path);
    return rc == LG_OK ? rc : lg_error_prefix(rc, "%s: field 'labels'", p->source);
}

static const field_def top_fields[] = {
    { "description", top_description }, { "input", top_input }, { "labels", top_labels },
    { "postprocess", top_postprocess },  { NULL },
};

int lg_model_config_new(lg_model_config **out)
{
    lg_model_config *c = calloc(1, sizeof(*c));
    if (!c) return lg_error(LG_E_NOMEM, "out of memory");
    lg_image_preprocess_defaults(&c->input);
    c->post = (lg_postprocess){ LG_POSTPROCESS_CLASSIFY, 5, LG_SOFTMAX_AUTO };
    *out = c;
    return LG_OK;
}

static void free_labels(lg_model_config *c)
{
    for (int i = 0; i < c->num_labels; i++) free(c->labels[i]);
    free(c->labels);
    c->labels = NULL;
    c->num_labels = 0;
}

void lg_model_config_free(lg_model_config *c)
{
    if (!c) return;
    free_labels(c);
    free(c->input_name);
    free(c);
}

int lg_model_config_parse(const char *json, size_t len, const char *source, const char *base_dir,
                          lg_model_config **out)
{
    json_error_t jerr;
    parse_ctx p = { .source = source ? source : "config", .base_dir = base_dir };
    *out = NULL;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return lg_error(LG_E_PARSE, "%s: line %d, column %d: %s", p.source, jerr.line, jerr.column, jerr.text);
    int rc = lg_model_config_new(&p.cfg);
    if (rc == LG_OK) rc = parse_object(&p, root, top_fields, "");
    json_decref(root);
    if (rc != LG_OK) lg_model_config_free(p.cfg);
    else *out = p.cfg;
    return rc;
}

/* Reads a whole (small) file into a NUL-terminated buffer. */
static int slurp(const char *path, long max_bytes, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return lg_error(errno == ENOENT ? LG_E_NOT_FOUND : LG_E_IO, "%s: %s", path, strerror(errno));
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || size > max_bytes || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return lg_error(size > max_bytes ? LG_E_LIMIT : LG_E_IO, "%s: cannot read (not a file, or over %ld bytes)",
                        path, max_bytes);
    }
    *text = malloc((size_t)size + 1);
    if (!*text) {
        fclose(f);
        return lg_error(LG_E_NOMEM, "%s: out of memory", path);
    }
    *len = fread(*text, 1, (size_t)size, f);
    int failed = ferror(f) || *len != (size_t)size;
    fclose(f);
    if (failed) {
        free(*text);
        return lg_error(LG_E_IO, "%s: read error", path);
    }
    (*text)[*len] = '\0';
    return LG_OK;
}

int lg_model_config_load(const char *path, lg_model_config **out)
{
    char *text, dir[PATH_MAX];
    size_t len;
    LG_CHECK(slurp(path, MAX_TEXT_BYTES, &text, &len));
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    int rc = lg_model_config_parse(text, len, path, slash ? (*dir ? dir : "/") : ".", out);
    free(text);
    return rc;
}

int lg_model_config_load_labels(lg_model_config *c, const char *path)
{
    char *text;
    size_t len;
    LG_CHECK(slurp(path, MAX_TEXT_BYTES, &text, &len));
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) text[--len] = '\0';
    int n = len ? 1 : 0;
    for (size_t i = 0; i < len; i++) n += text[i] == '\n';
    char **labels = calloc(n ? (size_t)n : 1, sizeof(char *));
    int got = 0;
    for (char *line = text; labels && got < n; got++) {
        char *end = strchr(line, '\n');
        if (end) *end = '\0';
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r') line[--l] = '\0';
        if (!(labels[got] = strdup(line))) break;
        line = end ? end + 1 : line + l;
    }
    free(text);
    if (!labels || got < n) {
        for (int i = 0; labels && i < got; i++) free(labels[i]);
        free(labels);
        return lg_error(LG_E_NOMEM, "%s: out of memory for %d labels", path, n);
    }
    free_labels(c);
    c->labels = labels;
    c->num_labels = n;
    return LG_OK;
}

int lg_model_config_num_labels(const lg_model_config *c) { return c->num_labels; }

const char *lg_model_config_label(const lg_model_config *c, int i)
{
    return i >= 0 && i < c->num_labels ? c->labels[i] : NULL;
}

const char *lg_model_config_input_name(const lg_model_config *c) { return c->input_name; }

void lg_model_config_apply_input(const lg_model_config *c, lg_image_preprocess *p)
{
    const lg_image_preprocess *in = &c->input;
    if (c->input_set & SET_SIZE) p->width = in->width, p->height = in->height;
    if (c->input_set & SET_RESIZE_SHORTER) p->resize_shorter = in->resize_shorter;
    if (c->input_set & SET_CROP) p->crop = in->crop;
    if (c->input_set & SET_RESIZE) p->resize = in->resize;
    if (c->input_set & SET_COLOR) p->color = in->color;
    if (c->input_set & SET_LAYOUT) p->layout = in->layout;
    if (c->input_set & SET_SCALE) p->scale = in->scale;
    if (c->input_set & SET_MEAN) memcpy(p->mean, in->mean, sizeof(p->mean));
    if (c->input_set & SET_STD) memcpy(p->std, in->std, sizeof(p->std));
}

void lg_model_config_postprocess(const lg_model_config *c, lg_postprocess *pp)
{
    *pp = (lg_postprocess){ LG_POSTPROCESS_CLASSIFY, 5, LG_SOFTMAX_AUTO };
    if (c->post_set & SET_POST_TYPE) pp->type = c->post.type;
    if (c->post_set & SET_POST_TOP_K) pp->top_k = c->post.top_k;
    if (c->post_set & SET_POST_SOFTMAX) pp->softmax = c->post.softmax;
}

/* ---- repositories ----------------------------------------------------------------- */

typedef struct repo_model {
    char *name;
    char *model_path;
    char *config_path; /* NULL: none */
} repo_model;

struct lg_repo {
    char *dir;
    repo_model *models;
    int num_models;
};

static int valid_model_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > MAX_NAME || name[0] == '.') return 0;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static int is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static char *join_path(const char *dir, const char *name, const char *file)
{
    size_t len = strlen(dir) + strlen(name) + strlen(file) + 3;
    char *path = malloc(len);
    if (path) snprintf(path, len, "%s/%s%s%s", dir, name, *file ? "/" : "", file);
    return path;
}

static void clear_models(lg_repo *r)
{
    for (int i = 0; i < r->num_models; i++) {
        free(r->models[i].name);
        free(r->models[i].model_path);
        free(r->models[i].config_path);
    }
    free(r->models);
    r->models = NULL;
    r->num_models = 0;
}

static int compare_models(const void *a, const void *b)
{
    return strcmp(((const repo_model *)a)->name, ((const repo_model *)b)->name);
}

/* Adds DIR/name as a model if it holds model.onnx. */
static int add_model(lg_repo *r, const char *name, int *capacity)
{
    char *model_path = join_path(r->dir, name, "model.onnx");
    char *config_path = join_path(r->dir, name, "config.json");
    if (!model_path || !config_path) goto nomem;
    if (!is_regular_file(model_path)) {
        free(model_path);
        free(config_path);
        return LG_OK;
    }
    if (!is_regular_file(config_path)) {
        free(config_path);
        config_path = NULL;
    }
    if (r->num_models == *capacity) {
        int grown = *capacity ? *capacity * 2 : 8;
        repo_model *models = realloc(r->models, (size_t)grown * sizeof(*models));
        if (!models) goto nomem;
        r->models = models;
        *capacity = grown;
    }
    repo_model *m = &r->models[r->num_models];
    if (!(m->name = strdup(name))) goto nomem;
    m->model_path = model_path;
    m->config_path = config_path;
    r->num_models++;
    return LG_OK;
nomem:
    free(model_path);
    free(config_path);
    return lg_error(LG_E_NOMEM, "out of memory scanning model repository %s", r->dir);
}

int lg_repo_rescan(lg_repo *r)
{
    DIR *d = opendir(r->dir);
    if (!d)
        return lg_error(errno == ENOENT || errno == ENOTDIR ? LG_E_NOT_FOUND : LG_E_IO,
                        "model repository %s: %s", r->dir, strerror(errno));
    clear_models(r);
    int capacity = 0, rc = LG_OK;
    struct dirent *e;
    while (rc == LG_OK && (e = readdir(d)) != NULL)
        if (valid_model_name(e->d_name)) rc = add_model(r, e->d_name, &capacity);
    closedir(d);
    if (rc != LG_OK) clear_models(r);
    else if (r->num_models) qsort(r->models, (size_t)r->num_models, sizeof(*r->models), compare_models);
    return rc;
}

int lg_repo_open(const char *dir, lg_repo **out)
{
    if (!dir || !out) return lg_error(LG_E_INVALID_ARG, "lg_repo_open: NULL argument");
    *out = NULL;
    lg_repo *r = calloc(1, sizeof(*r));
    if (!r || !(r->dir = strdup(dir))) {
        free(r);
        return lg_error(LG_E_NOMEM, "out of memory");
    }
    size_t n = strlen(r->dir);
    while (n > 1 && r->dir[n - 1] == '/') r->dir[--n] = '\0';
    int rc = lg_repo_rescan(r);
    if (rc != LG_OK) lg_repo_free(r);
    else *out = r;
    return rc;
}

void lg_repo_free(lg_repo *r)
{
    if (!r) return;
    clear_models(r);
    free(r->dir);
    free(r);
}

const char *lg_repo_dir(const lg_repo *r) { return r->dir; }
int lg_repo_num_models(const lg_repo *r) { return r->num_models; }

const char *lg_repo_model_name(const lg_repo *r, int i)
{
    return i >= 0 && i < r->num_models ? r->models[i].name : NULL;
}

static const repo_model *find_model(const lg_repo *r, const char *name)
{
    repo_model key = { .name = (char *)name };
    if (!r->num_models) return NULL;
    return bsearch(&key, r->models, (size_t)r->num_models, sizeof(*r->models), compare_models);
}

/* "no model 'x' in repository DIR (it has: a, b)" */
static int not_found(const lg_repo *r, const char *name)
{
    char list[512] = "";
    size_t o = 0;
    for (int i = 0; i < r->num_models && o < sizeof(list); i++)
        o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", r->models[i].name);
    return lg_error(LG_E_NOT_FOUND, "no model '%s' in repository %s (%s%s)", name, r->dir,
                    r->num_models ? "it has: " : "it holds no DIR/NAME/model.onnx", list);
}

int lg_repo_find(const lg_repo *r, const char *name, const char **model_path, const char **config_path)
{
    const repo_model *m = name && valid_model_name(name) ? find_model(r, name) : NULL;
    if (!m) return not_found(r, name ? name : "");
    if (model_path) *model_path = m->model_path;
    if (config_path) *config_path = m->config_path;
    return LG_OK;
}

int lg_repo_load_config(const lg_repo *r, const char *name, lg_model_config **out)
{
    const char *config_path;
    *out = NULL;
    LG_CHECK(lg_repo_find(r, name, NULL, &config_path));
    return config_path ? lg_model_config_load(config_path, out) : lg_model_config_new(out);
}
