/*
 * legacygpu/repository.h: model repositories and per-model configuration.
 *
 * A repository is a folder with one subfolder per model:
 *
 *   DIR/NAME/model.onnx      the model (required)
 *   DIR/NAME/config.json     how to feed and read it (optional, see docs/models.md)
 *   DIR/NAME/labels.txt      class names, one per line (named by config.json)
 *
 * A model config (lg_model_config) holds the input preprocessing, the postprocessing
 * and the class labels. Only the fields a config.json sets are applied over the
 * caller's defaults, so callers layer: built-in defaults, model shape, config, flags.
 *
 *   lg_repo *repo;
 *   const char *model_path, *config_path;
 *   lg_model_config *cfg;
 *   if (lg_repo_open("models", &repo) != LG_OK) { puts(lg_last_error()); return 1; }
 *   for (int i = 0; i < lg_repo_num_models(repo); i++) puts(lg_repo_model_name(repo, i));
 *   if (lg_repo_find(repo, "digits", &model_path, &config_path) != LG_OK ||
 *       lg_repo_load_config(repo, "digits", &cfg) != LG_OK) { puts(lg_last_error()); return 1; }
 *   lg_image_preprocess pp;
 *   lg_image_preprocess_defaults(&pp);
 *   lg_model_config_apply_input(cfg, &pp);
 *   ... lg_model_load(model_path, ...), lg_image_to_tensor(..., &pp, ...) ...
 *   lg_model_config_free(cfg);
 *   lg_repo_free(repo);
 */
#ifndef LEGACYGPU_REPOSITORY_H
#define LEGACYGPU_REPOSITORY_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lg_repo lg_repo;
typedef struct lg_model_config lg_model_config;

/* Opens and scans a repository folder (LG_E_NOT_FOUND if it does not exist). Subfolders
 * without model.onnx, or whose names are not [A-Za-z0-9_.-]+ (or start with '.'), are
 * not models. */
int lg_repo_open(const char *dir, lg_repo **out);
/* Scans the folder again (models added or removed); invalidates names and paths. */
int lg_repo_rescan(lg_repo *r);
void lg_repo_free(lg_repo *r);

const char *lg_repo_dir(const lg_repo *r);
/* Models sorted by name. */
int lg_repo_num_models(const lg_repo *r);
const char *lg_repo_model_name(const lg_repo *r, int i);
/* Paths of model `name`: DIR/NAME/model.onnx and DIR/NAME/config.json, or NULL for a
 * model without a config (either out pointer may be NULL). LG_E_NOT_FOUND names the
 * models there are. */
int lg_repo_find(const lg_repo *r, const char *name, const char **model_path, const char **config_path);
/* The config of model `name` (an empty one if it has no config.json). */
int lg_repo_load_config(const lg_repo *r, const char *name, lg_model_config **out);

typedef enum lg_postprocess_type {
    LG_POSTPROCESS_CLASSIFY = 0, /* top-k classes with probabilities */
    LG_POSTPROCESS_RAW = 1,      /* the output tensor as it is */
} lg_postprocess_type;

enum { LG_SOFTMAX_AUTO = -1, LG_SOFTMAX_OFF = 0, LG_SOFTMAX_ON = 1 };

typedef struct lg_postprocess {
    lg_postprocess_type type;
    int top_k;
    int softmax; /* LG_SOFTMAX_*: auto applies it unless the output already is a distribution */
} lg_postprocess;

/* One class of a classification, best first in lg_classify's output. */
typedef struct lg_class_score {
    int index;
    double probability;
} lg_class_score;

/* The top classes of n scores (one batch item's output): softmax as pp->softmax says
 * (auto: unless the scores already are a distribution), then the min(k, n) best, highest
 * probability first, ties to the lower index. Returns how many were written to out, or a
 * negative status. */
int lg_classify(const double *scores, int64_t n, const lg_postprocess *pp, int k, lg_class_score *out);

/* An empty config: sets nothing, has no labels. */
int lg_model_config_new(lg_model_config **out);
/* Reads a config.json; "labels" is resolved relative to its folder and loaded. Errors
 * (LG_E_PARSE, LG_E_IO) name the file and the field. */
int lg_model_config_load(const char *path, lg_model_config **out);
/* The same from JSON text; source names it in errors, base_dir resolves "labels"
 * (NULL: the current directory). */
int lg_model_config_parse(const char *json, size_t len, const char *source, const char *base_dir,
                          lg_model_config **out);
void lg_model_config_free(lg_model_config *c);

/* Overwrites the fields of p that the config's "input" sets. */
void lg_model_config_apply_input(const lg_model_config *c, lg_image_preprocess *p);
/* The model input to feed ("input.name"), or NULL for the first image-like one. */
const char *lg_model_config_input_name(const lg_model_config *c);
/* Defaults (classify, top 5, softmax auto) overwritten by the config's "postprocess". */
void lg_model_config_postprocess(const lg_model_config *c, lg_postprocess *pp);

/* Class labels: from the config's "labels" file, or replaced by lg_model_config_load_labels
 * (one label per line; trailing empty lines are ignored). */
int lg_model_config_load_labels(lg_model_config *c, const char *path);
int lg_model_config_num_labels(const lg_model_config *c);
/* Label i, or NULL when there is none. */
const char *lg_model_config_label(const lg_model_config *c, int i);

#ifdef __cplusplus
}
#endif
#endif
