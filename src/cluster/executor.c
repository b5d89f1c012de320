/*
 * executor.c: running tasks on a worker. Keeps one entry per model name (from the
 * repository folder, or fetched into the cache folder, which wins), loads the model and
 * its config on first use, and lends its sessions to one thread at a time from a small
 * pool. Decodes task inputs by kind, runs them, and encodes the result body.
 *
 * Every session gets its own lg_model: creating a session pre-packs the weights and
 * frees the originals in the model it was given, so sessions cannot share one.
 *
 * Locking: e->lock guards the name -> entry map, the repository and the cached-model
 * list; each entry's lock guards its loading and its session pool. An entry is freed
 * when the map and every run holding it have let go (refs).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/tensor_impl.h"
#include "cluster/executor.h"
#include "cluster/payload_model.h"
#include "cluster/payload_kserve.h"
#include "cluster/payload_result.h"
#include "legacygpu/legacygpu.h"
#include "legacygpu/repository.h"

#define MAX_SESSIONS 64   /* per model: more callers than this wait for a free one */
#define NAME_MAX_LEN 63

/* How an image becomes the model's input, worked out once when the model loads. */
typedef struct image_plan {
    const char *input;      /* model input fed, or NULL when images do not fit: see error */
    lg_image_preprocess pre;
    int batch;              /* images per run (the image is repeated for a fixed batch) */
    char error[512];
} image_plan;

/* A session with the model it alone runs. */
typedef struct pooled_session {
    lg_session *session;
    lg_model *model;
} pooled_session;

typedef struct model_entry {
    char name[NAME_MAX_LEN + 1];
    char hash[65];                /* sha-256 of model.onnx; "" until computed */
    char model_path[PATH_MAX];
    char config_path[PATH_MAX];   /* "" none */
    int refs;                     /* guarded by the executor's lock */
    pthread_mutex_t lock;
    pthread_cond_t freed;
    bool loaded;
    lg_model *model;              /* inputs and outputs described; never given a session */
    lg_model_config *config;      /* NULL: no config.json, no postprocessing */
    image_plan image;
    pooled_session idle[MAX_SESSIONS];
    int n_idle, n_sessions;
} model_entry;

typedef struct cached_model {
    char name[NAME_MAX_LEN + 1];
    char hash[65];
} cached_model;

struct lg_executor {
    pthread_mutex_t lock;
    char models_dir[PATH_MAX];    /* "" none */
    char cache_dir[PATH_MAX];     /* "" none */
    char backend[32];
    int threads;
    lg_repo *repo;
    model_entry **entries;
    int n_entries, cap_entries;
    cached_model *cached;
    int n_cached, cap_cached;
};

/* ---- small helpers --------------------------------------------------------------- */

static bool valid_model_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN || s[0] == '.') return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static bool valid_hash(const char *s) { return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64; }

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* "mkdir -p". */
static int make_dirs(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p && *p != '/') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return lg_error(LG_E_IO, "cannot create folder %s: %s", buf, strerror(errno));
        if (!(*p = c)) return LG_OK;
    }
}

/* A malloc'd error string: "prefix: <the last error>". */
static char *error_text(const char *fmt, ...) LG_PRINTF(1, 2);
static char *error_text(const char *fmt, ...)
{
    char head[512], *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    if (asprintf(&out, "%s%s%s", head, *lg_last_error() ? ": " : "", lg_last_error()) < 0) return NULL;
    return out;
}

/* ---- entries --------------------------------------------------------------------- */

static void entry_free(model_entry *m)
{
    for (int i = 0; i < m->n_idle; i++) {
        lg_session_free(m->idle[i].session);
        lg_model_free(m->idle[i].model);
    }
    lg_model_config_free(m->config);
    lg_model_free(m->model);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->freed);
    free(m);
}

/* Drops one reference; call with e->lock held. */
static void entry_release_locked(model_entry *m)
{
    LG_ASSERT(m->refs > 0);
    if (--m->refs == 0) entry_free(m);
}

static void entry_release(lg_executor *e, model_entry *m)
{
    pthread_mutex_lock(&e->lock);
    entry_release_locked(m);
    pthread_mutex_unlock(&e->lock);
}

/* Removes name's entry from the map (runs holding it keep it). e->lock held. */
static void unmap_locked(lg_executor *e, const char *name)
{
    for (int i = 0; i < e->n_entries; i++)
        if (!strcmp(e->entries[i]->name, name)) {
            entry_release_locked(e->entries[i]);
            e->entries[i] = e->entries[--e->n_entries];
            return;
        }
}

static const cached_model *find_cached(const lg_executor *e, const char *name)
{
    for (int i = 0; i < e->n_cached; i++)
        if (!strcmp(e->cached[i].name, name)) return &e->cached[i];
    return NULL;
}

static int add_cached_locked(lg_executor *e, const char *name, const char *hash)
{
    cached_model *c = (cached_model *)find_cached(e, name);
    if (!c) {
        if (e->n_cached == e->cap_cached) {
            int cap = e->cap_cached ? 2 * e->cap_cached : 16;
            cached_model *grown = realloc(e->cached, (size_t)cap * sizeof(*grown));
            if (!grown) return lg_error(LG_E_NOMEM, "out of memory");
            e->cached = grown, e->cap_cached = cap;
        }
        c = &e->cached[e->n_cached++];
        snprintf(c->name, sizeof(c->name), "%s", name);
    }
    snprintf(c->hash, sizeof(c->hash), "%s", hash);
    return LG_OK;
}

/* "digits, mnist" into buf: the models there are. e->lock held. */
static const char *known_models_locked(lg_executor *e, char *buf, size_t len)
{
    char (*names)[64] = malloc(256 * sizeof(*names));
    size_t o = 0;
    buf[0] = '\0';
    if (!names) return buf;
    int n = 0;
    for (int i = 0; e->repo && i < lg_repo_num_models(e->repo) && n < 256; i++)
        snprintf(names[n++], 64, "%s", lg_repo_model_name(e->repo, i));
    for (int i = 0; i < e->n_cached && n < 256; i++) snprintf(names[n++], 64, "%s", e->cached[i].name);
    for (int i = 0; i < n && o < len; i++) o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", names[i]);
    free(names);
    if (!n) snprintf(buf, len, "none");
    return buf;
}

/* Creates name's entry from the cache or the repository. e->lock held. */
static int map_new_locked(lg_executor *e, const char *name, model_entry **out)
{
    const cached_model *c = find_cached(e, name);
    const char *model_path = NULL, *config_path = NULL;
    if (!c && e->repo && lg_repo_find(e->repo, name, &model_path, &config_path) != LG_OK) model_path = NULL;
    if (!c && !model_path) return LG_E_NOT_FOUND;
    if (e->n_entries == e->cap_entries) {
        int cap = e->cap_entries ? 2 * e->cap_entries : 16;
        model_entry **grown = realloc(e->entries, (size_t)cap * sizeof(*grown));
        if (!grown) return lg_error(LG_E_NOMEM, "out of memory");
        e->entries = grown, e->cap_entries = cap;
    }
    model_entry *m = calloc(1, sizeof(*m));
    if (!m) return lg_error(LG_E_NOMEM, "out of memory");
    snprintf(m->name, sizeof(m->name), "%s", name);
    if (c) {
        snprintf(m->hash, sizeof(m->hash), "%s", c->hash);
        snprintf(m->model_path, sizeof(m->model_path), "%s/%s/model.onnx", e->cache_dir, c->hash);
        snprintf(m->config_path, sizeof(m->config_path), "%s/%s/config.json", e->cache_dir, c->hash);
        if (!is_file(m->config_path)) m->config_path[0] = '\0';
    } else {
        snprintf(m->model_path, sizeof(m->model_path), "%s", model_path);
        snprintf(m->config_path, sizeof(m->config_path), "%s", config_path ? config_path : "");
    }
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->freed, NULL);
    m->refs = 1; /* the map's */
    e->entries[e->n_entries++] = m;
    *out = m;
    return LG_OK;
}

/* The entry of model `name`, held (entry_release when done); not loaded yet. */
static int acquire(lg_executor *e, const char *name, model_entry **out)
{
    int rc = LG_E_NOT_FOUND;
    pthread_mutex_lock(&e->lock);
    for (int i = 0; i < e->n_entries; i++)
        if (!strcmp(e->entries[i]->name, name)) {
            *out = e->entries[i];
            rc = LG_OK;
        }
    if (rc != LG_OK && valid_model_name(name)) {
        rc = map_new_locked(e, name, out);
        if (rc == LG_E_NOT_FOUND && e->models_dir[0]) { /* models may have been added: look again */
            if (e->repo) lg_repo_rescan(e->repo);
            else lg_repo_open(e->models_dir, &e->repo);
            rc = map_new_locked(e, name, out);
        }
    }
    if (rc == LG_E_NOT_FOUND) {
        char known[2048];
        rc = lg_error(LG_E_NOT_FOUND, "model '%s' not found; known models: %s", name,
                      known_models_locked(e, known, sizeof(known)));
    } else if (rc == LG_OK) {
        (*out)->refs++;
    }
    pthread_mutex_unlock(&e->lock);
    return rc;
}

/* ---- loading --------------------------------------------------------------------- */

/* Size, layout and colour the model's image input implies, as `legacygpu infer` layers
 * them: defaults, then the input's shape, then the config. */
static void plan_image(model_entry *m)
{
    image_plan *p = &m->image;
    const char *want = m->config ? lg_model_config_input_name(m->config) : NULL;
    lg_value_info in;
    int n = lg_model_num_inputs(m->model), found = -1;
    for (int i = 0; i < n && found < 0; i++)
        if (lg_model_input_info(m->model, i, &in) == LG_OK && (want ? !strcmp(in.name, want) : in.ndim == 4)) found = i;
    if (found < 0) {
        snprintf(p->error, sizeof(p->error), want ? "the model has no input named '%s'" : "the model has no image input "
                 "(a float32 input of 4 dimensions)%s", want ? want : "");
        return;
    }
    if (in.ndim != 4 || in.dtype != LG_FLOAT) {
        snprintf(p->error, sizeof(p->error), "the model input '%s' is not image-like: %s with %d dimensions", in.name,
                 lg_dtype_name(in.dtype), in.ndim);
        return;
    }
    const int64_t *d = in.dims;
    bool nchw = d[1] == 1 || d[1] == 3 || (d[1] < 0 && !(d[3] == 1 || d[3] == 3));
    int64_t c = nchw ? d[1] : d[3], h = nchw ? d[2] : d[1], w = nchw ? d[3] : d[2];
    lg_image_preprocess_defaults(&p->pre);
    p->pre.layout = nchw ? LG_LAYOUT_NCHW : LG_LAYOUT_NHWC;
    if (h > 0 && h <= 65536) p->pre.height = (int)h;
    if (w > 0 && w <= 65536) p->pre.width = (int)w;
    if (c == 1) {
        p->pre.color = LG_COLOR_GRAY;
        p->pre.mean[0] = p->pre.mean[1] = p->pre.mean[2] = 0.449f;
        p->pre.std[0] = p->pre.std[1] = p->pre.std[2] = 0.226f;
    }
    if (m->config) lg_model_config_apply_input(m->config, &p->pre);
    if (lg_image_preprocess_check(&p->pre) != LG_OK) {
        snprintf(p->error, sizeof(p->error), "preprocessing: %s", lg_last_error());
        return;
    }
    int64_t ch = p->pre.color == LG_COLOR_GRAY ? 1 : 3;
    int64_t made[4] = { 0, ch, p->pre.height, p->pre.width };
    if (p->pre.layout == LG_LAYOUT_NHWC) made[1] = p->pre.height, made[2] = p->pre.width, made[3] = ch;
    for (int i = 1; i < 4; i++)
        if (d[i] >= 0 && d[i] != made[i]) {
            snprintf(p->error, sizeof(p->error), "the model input '%s' does not fit the preprocessing, which makes "
                     "[N,%lld,%lld,%lld]", in.name, (long long)made[1], (long long)made[2], (long long)made[3]);
            return;
        }
    p->batch = d[0] > 0 ? (int)d[0] : 1;
    p->input = in.name;
}

/* Loads the model and its config on first use. Entry lock held. */
static int load_locked(model_entry *m)
{
    if (m->loaded) return LG_OK;
    int rc = lg_model_load(m->model_path, &m->model);
    if (rc == LG_OK && m->config_path[0]) rc = lg_model_config_load(m->config_path, &m->config);
    if (rc != LG_OK) {
        lg_model_free(m->model);
        m->model = NULL;
        return rc;
    }
    plan_image(m);
    m->loaded = true;
    return LG_OK;
}

static int take_session(lg_executor *e, model_entry *m, pooled_session *out)
{
    pthread_mutex_lock(&m->lock);
    while (m->n_idle == 0 && m->n_sessions >= MAX_SESSIONS) pthread_cond_wait(&m->freed, &m->lock);
    if (m->n_idle > 0) {
        *out = m->idle[--m->n_idle];
        pthread_mutex_unlock(&m->lock);
        return LG_OK;
    }
    m->n_sessions++;
    pthread_mutex_unlock(&m->lock);
    lg_session_options so = { .num_threads = e->threads, .backend = e->backend, .release_weights = 1 };
    int rc = lg_model_load(m->model_path, &out->model);
    if (rc == LG_OK && (rc = lg_session_create(out->model, &so, &out->session)) != LG_OK) lg_model_free(out->model);
    if (rc != LG_OK) {
        pthread_mutex_lock(&m->lock);
        m->n_sessions--;
        pthread_cond_signal(&m->freed);
        pthread_mutex_unlock(&m->lock);
    }
    return rc;
}

static void give_session(model_entry *m, pooled_session s)
{
    pthread_mutex_lock(&m->lock);
    m->idle[m->n_idle++] = s;
    pthread_cond_signal(&m->freed);
    pthread_mutex_unlock(&m->lock);
}

/* ---- open / close ---------------------------------------------------------------- */

/* Registers the models fetched earlier: cache_dir/<hash>/{model.onnx, name}. */
static void scan_cache(lg_executor *e)
{
    DIR *dir = opendir(e->cache_dir);
    struct dirent *de;
    while (dir && (de = readdir(dir))) {
        char path[PATH_MAX], name[NAME_MAX_LEN + 2] = "";
        if (!valid_hash(de->d_name)) continue;
        snprintf(path, sizeof(path), "%s/%s/name", e->cache_dir, de->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        bool ok = fgets(name, sizeof(name), f) != NULL;
        fclose(f);
        name[strcspn(name, "\n")] = '\0';
        snprintf(path, sizeof(path), "%s/%s/model.onnx", e->cache_dir, de->d_name);
        if (ok && valid_model_name(name) && is_file(path)) add_cached_locked(e, name, de->d_name);
    }
    if (dir) closedir(dir);
}

int lg_executor_open(const char *models_dir, const char *cache_dir, const char *backend, int threads,
                     lg_executor **out)
{
    if (!out || threads < 0) return lg_error(LG_E_INVALID_ARG, "lg_executor_open: bad argument");
    if (backend && strlen(backend) >= 32) return lg_error(LG_E_INVALID_ARG, "backend '%.40s...': too long", backend);
    lg_executor *e = calloc(1, sizeof(*e));
    if (!e) return lg_error(LG_E_NOMEM, "out of memory");
    pthread_mutex_init(&e->lock, NULL);
    snprintf(e->models_dir, sizeof(e->models_dir), "%s", models_dir ? models_dir : "");
    snprintf(e->cache_dir, sizeof(e->cache_dir), "%s", cache_dir ? cache_dir : "");
    snprintf(e->backend, sizeof(e->backend), "%s", backend ? backend : "cpu");
    e->threads = threads;
    if (e->models_dir[0] && lg_repo_open(e->models_dir, &e->repo) != LG_OK) e->repo = NULL; /* may appear later */
    if (e->cache_dir[0]) {
        int rc = make_dirs(e->cache_dir);
        if (rc != LG_OK) {
            lg_executor_close(e);
            return rc;
        }
        scan_cache(e);
    }
    *out = e;
    return LG_OK;
}

void lg_executor_close(lg_executor *e)
{
    if (!e) return;
    pthread_mutex_lock(&e->lock);
    while (e->n_entries) unmap_locked(e, e->entries[0]->name);
    pthread_mutex_unlock(&e->lock);
    free(e->entries);
    free(e->cached);
    lg_repo_free(e->repo);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

/* ---- running --------------------------------------------------------------------- */

/* The tensors a task's input makes, with the model input names they feed. */
typedef struct run_inputs {
    lg_kserve_request req;   /* JSON inputs (and requested outputs) */
    lg_tensor *single;       /* image / npy / pb */
    const char **names;
    lg_tensor **tensors;
    int n;
} run_inputs;

static void run_inputs_free(run_inputs *in)
{
    lg_kserve_request_free(&in->req);
    lg_tensor_free(in->single);
    free(in->names);
}

static int first_input_name(const lg_model *model, const char **name)
{
    lg_value_info info;
    if (lg_model_num_inputs(model) < 1 || lg_model_input_info(model, 0, &info) != LG_OK)
        return lg_error(LG_E_SHAPE, "the model has no inputs");
    *name = info.name;
    return LG_OK;
}

static int decode_json(model_entry *m, const uint8_t *input, size_t len, run_inputs *in, char **error)
{
    int rc = lg_kserve_parse((const char *)input, len, &in->req);
    if (rc != LG_OK) {
        *error = error_text("bad input JSON");
        return rc;
    }
    in->n = in->req.n_inputs;
    in->tensors = in->req.tensors;
    if (!(in->names = calloc((size_t)in->n, sizeof(char *)))) return lg_error(LG_E_NOMEM, "out of memory");
    int n_model = lg_model_num_inputs(m->model);
    for (int i = 0; i < in->n; i++) {
        lg_value_info info;
        in->names[i] = in->req.names[i];
        if (in->names[i]) continue;
        if (i >= n_model || lg_model_input_info(m->model, i, &info) != LG_OK) {
            rc = lg_error(LG_E_SHAPE, "inputs[%d] has no name and the model has only %d inputs", i, n_model);
            *error = error_text("model '%s'", m->name);
            return rc;
        }
        in->names[i] = info.name;
    }
    return LG_OK;
}

static int decode_image(model_entry *m, const uint8_t *input, size_t len, run_inputs *in, char **error)
{
    if (!m->image.input) {
        int rc = lg_error(LG_E_SHAPE, "%s", m->image.error);
        *error = error_text("model '%s' cannot take an image", m->name);
        return rc;
    }
    lg_image *img = NULL;
    int rc = lg_image_decode(input, len, &img);
    if (rc != LG_OK) {
        *error = error_text("image could not be decoded");
        return rc;
    }
    const lg_image **batch = malloc((size_t)m->image.batch * sizeof(*batch));
    rc = batch ? LG_OK : lg_error(LG_E_NOMEM, "out of memory");
    for (int i = 0; batch && i < m->image.batch; i++) batch[i] = img;
    if (rc == LG_OK) rc = lg_image_to_tensor(batch, m->image.batch, &m->image.pre, &in->single);
    free(batch);
    lg_image_free(img);
    if (rc != LG_OK) {
        *error = error_text("image preprocessing");
        return rc;
    }
    return LG_OK;
}

static int decode_tensor(model_entry *m, lg_input_kind kind, const uint8_t *input, size_t len, run_inputs *in,
                         char **error)
{
    int rc = kind == LG_INPUT_NPY ? lg_tensor_read_npy(input, len, &in->single)
                                  : lg_tensor_read_pb(input, len, &in->single, NULL);
    if (rc != LG_OK) *error = error_text("bad %s input", kind == LG_INPUT_NPY ? ".npy" : ".pb");
    return rc;
}

/* Decodes the input into tensors bound to model inputs. */
static int decode_input(model_entry *m, lg_input_kind kind, const uint8_t *input, size_t len, run_inputs *in,
                        char **error)
{
    int rc;
    switch (kind) {
    case LG_INPUT_JSON: return decode_json(m, input, len, in, error);
    case LG_INPUT_IMAGE: rc = decode_image(m, input, len, in, error); break;
    case LG_INPUT_NPY:
    case LG_INPUT_PB: rc = decode_tensor(m, kind, input, len, in, error); break;
    default:
        rc = lg_error(LG_E_INVALID_ARG, "unknown input kind %d", (int)kind);
        *error = error_text("input");
        return rc;
    }
    if (rc != LG_OK) return rc;
    in->n = 1;
    in->tensors = &in->single;
    if (!(in->names = calloc(1, sizeof(char *)))) return lg_error(LG_E_NOMEM, "out of memory");
    if (kind == LG_INPUT_IMAGE) in->names[0] = m->image.input;
    else if ((rc = first_input_name(m->model, &in->names[0])) != LG_OK) *error = error_text("model '%s'", m->name);
    return rc;
}

/* Runs the decoded inputs and encodes the result body. */
static int run_model(lg_executor *e, model_entry *m, run_inputs *in, char **result, char **error)
{
    int n_out = in->req.n_outputs ? in->req.n_outputs : lg_model_num_outputs(m->model);
    lg_tensor **outs = calloc((size_t)(n_out ? n_out : 1), sizeof(*outs));
    const char **out_names = calloc((size_t)(n_out ? n_out : 1), sizeof(*out_names));
    pooled_session s;
    int rc = outs && out_names ? LG_OK : lg_error(LG_E_NOMEM, "out of memory");
    for (int i = 0; rc == LG_OK && i < n_out; i++) {
        lg_value_info info;
        if (in->req.n_outputs) out_names[i] = in->req.outputs[i];
        else if ((rc = lg_model_output_info(m->model, i, &info)) == LG_OK) out_names[i] = info.name;
    }
    if (rc == LG_OK) rc = take_session(e, m, &s);
    if (rc == LG_OK) {
        rc = lg_session_run(s.session, in->n, in->names, in->tensors, n_out, in->req.n_outputs ? out_names : NULL, outs);
        give_session(m, s);
    }
    if (rc != LG_OK) *error = error_text("model '%s' could not run the input", m->name);
    else if ((rc = lg_result_encode(m->name, n_out, out_names, outs, m->config, result)) != LG_OK)
        *error = error_text("model '%s': result", m->name);
    for (int i = 0; outs && i < n_out; i++) lg_tensor_free(outs[i]);
    free(outs);
    free(out_names);
    return rc;
}

int lg_executor_run(lg_executor *e, const char *model, lg_input_kind kind, const uint8_t *input, size_t len,
                    char **result, char **error)
{
    model_entry *m = NULL;
    run_inputs in = { 0 };
    *result = *error = NULL;
    int rc = acquire(e, model, &m);
    if (rc != LG_OK) {
        *error = strdup(lg_last_error());
        return rc;
    }
    pthread_mutex_lock(&m->lock);
    rc = load_locked(m);
    pthread_mutex_unlock(&m->lock);
    if (rc != LG_OK) {
        *error = error_text("model '%s' could not be loaded", model);
        pthread_mutex_lock(&e->lock);
        for (int i = 0; i < e->n_entries; i++)
            if (e->entries[i] == m) unmap_locked(e, model); /* the next run tries again */
        pthread_mutex_unlock(&e->lock);
    } else if ((rc = decode_input(m, kind, input, len, &in, error)) == LG_OK) {
        rc = run_model(e, m, &in, result, error);
    } else if (!*error) {
        *error = error_text("model '%s'", model);
    }
    run_inputs_free(&in);
    entry_release(e, m);
    if (rc != LG_OK && *error) lg_error(rc, "%s", *error);
    return rc;
}

/* ---- models ---------------------------------------------------------------------- */

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

static bool known_locked(lg_executor *e, const char *model)
{
    for (int i = 0; i < e->n_cached; i++)
        if (!strcmp(e->cached[i].name, model)) return true;
    return e->repo && lg_repo_find(e->repo, model, NULL, NULL) == LG_OK;
}

bool lg_executor_has_model(lg_executor *e, const char *model)
{
    pthread_mutex_lock(&e->lock);
    bool known = known_locked(e, model);
    if (!known && e->repo && lg_repo_rescan(e->repo) == LG_OK) known = known_locked(e, model);
    pthread_mutex_unlock(&e->lock);
    lg_error_clear();
    return known;
}

int lg_executor_models(lg_executor *e, char names[][64], int max)
{
    int n = 0;
    pthread_mutex_lock(&e->lock);
    if (e->repo) lg_repo_rescan(e->repo);
    for (int i = 0; e->repo && i < lg_repo_num_models(e->repo) && n < max; i++)
        snprintf(names[n++], 64, "%s", lg_repo_model_name(e->repo, i));
    for (int i = 0; i < e->n_cached && n < max; i++) {
        bool dup = false;
        for (int j = 0; j < n && !dup; j++) dup = !strcmp(names[j], e->cached[i].name);
        if (!dup) snprintf(names[n++], 64, "%s", e->cached[i].name);
    }
    pthread_mutex_unlock(&e->lock);
    qsort(names, (size_t)n, 64, by_name);
    return n;
}

int lg_executor_model_hash(lg_executor *e, const char *model, char hex[65])
{
    model_entry *m;
    LG_CHECK(acquire(e, model, &m));
    int rc = LG_OK;
    pthread_mutex_lock(&m->lock);
    if (!m->hash[0]) {
        uint8_t *data = NULL;
        size_t len = 0;
        if ((rc = lg_file_read_all(m->model_path, &data, &len)) == LG_OK) lg_sha256_hex(data, len, m->hash);
        free(data);
    }
    if (rc == LG_OK) memcpy(hex, m->hash, 65);
    pthread_mutex_unlock(&m->lock);
    entry_release(e, m);
    return rc;
}

int lg_executor_add_model(lg_executor *e, const char *model, const char *hash, const uint8_t *onnx, size_t len,
                          const char *config_json)
{
    char got[65], dir[PATH_MAX];
    if (!valid_model_name(model))
        return lg_error(LG_E_INVALID_ARG, "model name '%s': expected 1-63 of A-Z a-z 0-9 _ . - not starting with '.'",
                        model);
    if (!valid_hash(hash)) return lg_error(LG_E_INVALID_ARG, "model '%s': hash '%s' is not 64 lowercase hex digits", model, hash);
    if (!e->cache_dir[0]) return lg_error(LG_E_INVALID_ARG, "model '%s': this executor has no cache folder", model);
    lg_sha256_hex(onnx, len, got);
    if (strcmp(got, hash))
        return lg_error(LG_E_INVALID_ARG, "model '%s': sha-256 of the received model.onnx is %s, expected %s", model,
                        got, hash);
    snprintf(dir, sizeof(dir), "%s/%s", e->cache_dir, hash);
    LG_CHECK(make_dirs(dir));
    LG_CHECK(lg_model_files_write(dir, model, onnx, len, config_json));
    pthread_mutex_lock(&e->lock);
    int rc = add_cached_locked(e, model, hash);
    unmap_locked(e, model); /* the next run loads the new one */
    pthread_mutex_unlock(&e->lock);
    return rc;
}

/* ---- validation ------------------------------------------------------------------ */

int lg_payload_validate(lg_input_kind kind, const uint8_t *input, size_t len)
{
    lg_tensor *t = NULL;
    int rc;
    if (!input || !len) return lg_error(LG_E_INVALID_ARG, "input: empty");
    switch (kind) {
    case LG_INPUT_JSON: return lg_kserve_check((const char *)input, len);
    case LG_INPUT_IMAGE:
        if ((len >= 8 && !memcmp(input, "\x89PNG\r\n\x1a\n", 8)) || (len >= 3 && !memcmp(input, "\xff\xd8\xff", 3)))
            return LG_OK;
        return lg_error(LG_E_INVALID_ARG, "image: not a PNG or JPEG (%zu bytes starting %02x %02x %02x %02x)", len,
                        input[0], len > 1 ? input[1] : 0, len > 2 ? input[2] : 0, len > 3 ? input[3] : 0);
    case LG_INPUT_NPY:
    case LG_INPUT_PB:
        rc = kind == LG_INPUT_NPY ? lg_tensor_read_npy(input, len, &t) : lg_tensor_read_pb(input, len, &t, NULL);
        lg_tensor_free(t);
        return rc == LG_OK ? LG_OK : lg_error_prefix(LG_E_INVALID_ARG, "input (%s)", kind == LG_INPUT_NPY ? ".npy" : ".pb");
    }
    return lg_error(LG_E_INVALID_ARG, "input kind %d: expected JSON, image, npy or pb", (int)kind);
}
