/*
 * payload_model.c: packing a repository model for a fetch (model.onnx, its sha-256,
 * config.json with the labels inlined) and unpacking it into a worker's cache folder.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "cluster/executor.h"
#include "cluster/payload_model.h"
#include "legacygpu/repository.h"

#define MAX_FILE_BYTES ((size_t)1 << 31)

int lg_file_read_all(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f) return lg_error(LG_E_IO, "cannot open %s: %s", path, strerror(errno));
    if (fstat(fileno(f), &st) != 0 || (size_t)st.st_size > MAX_FILE_BYTES) {
        fclose(f);
        return lg_error(LG_E_IO, "%s: cannot size it or over %zu bytes", path, MAX_FILE_BYTES);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n + 1);
    if (!buf) {
        fclose(f);
        return lg_error(LG_E_NOMEM, "out of memory reading %s", path);
    }
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    if (got != n) {
        free(buf);
        return lg_error(LG_E_IO, "%s: read %zu of %zu bytes", path, got, n);
    }
    buf[n] = 0; /* text files can be used as strings */
    *data = buf;
    *len = n;
    return LG_OK;
}

/* Writes path through a temporary file and a rename, so readers never see half of it. */
static int write_file(const char *path, const void *data, size_t len)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return lg_error(LG_E_IO, "cannot create %s: %s", tmp, strerror(errno));
    bool ok = fwrite(data, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return lg_error(LG_E_IO, "cannot write %s: %s", path, strerror(errno));
    }
    return LG_OK;
}

/* Labels file text into a JSON array of strings (trailing empty lines dropped). */
static json_t *labels_array(const char *text)
{
    json_t *a = json_array();
    for (const char *p = text; a && *p;) {
        size_t n = strcspn(p, "\n");
        size_t m = n && p[n - 1] == '\r' ? n - 1 : n;
        json_array_append_new(a, json_stringn(p, m));
        p += n + (p[n] == '\n');
    }
    while (a && json_array_size(a) && !json_string_length(json_array_get(a, json_array_size(a) - 1)))
        json_array_remove(a, json_array_size(a) - 1);
    return a;
}

int lg_model_package(const char *models_dir, const char *model, uint8_t **onnx, size_t *len, char **config_json,
                     char hex[65])
{
    lg_repo *repo = NULL;
    const char *model_path, *config_path;
    uint8_t *text = NULL, *labels = NULL;
    size_t text_len, labels_len;
    json_t *cfg = NULL;
    *onnx = NULL;
    *config_json = NULL;
    int rc = lg_repo_open(models_dir, &repo);
    if (rc == LG_OK) rc = lg_repo_find(repo, model, &model_path, &config_path);
    if (rc == LG_OK) rc = lg_file_read_all(model_path, onnx, len);
    if (rc == LG_OK) lg_sha256_hex(*onnx, *len, hex);
    if (rc == LG_OK && config_path) rc = lg_file_read_all(config_path, &text, &text_len);
    if (rc == LG_OK && text) {
        json_error_t err;
        if (!(cfg = json_loadb((const char *)text, text_len, 0, &err)) || !json_is_object(cfg))
            rc = lg_error(LG_E_PARSE, "%s: not a JSON object: %s", config_path, cfg ? "" : err.text);
    }
    json_t *lab = cfg ? json_object_get(cfg, "labels") : NULL;
    if (rc == LG_OK && json_is_string(lab)) {
        char path[PATH_MAX];
        const char *slash = strrchr(config_path, '/');
        snprintf(path, sizeof(path), "%.*s%s", slash ? (int)(slash - config_path + 1) : 0, config_path,
                 json_string_value(lab));
        if (json_string_value(lab)[0] == '/') snprintf(path, sizeof(path), "%s", json_string_value(lab));
        rc = lg_file_read_all(path, &labels, &labels_len);
        json_t *arr = rc == LG_OK ? labels_array((const char *)labels) : NULL;
        if (rc == LG_OK && (!arr || json_object_set_new(cfg, "labels", arr))) rc = lg_error(LG_E_NOMEM, "out of memory");
    }
    if (rc == LG_OK && cfg && !(*config_json = json_dumps(cfg, JSON_COMPACT))) rc = lg_error(LG_E_NOMEM, "out of memory");
    if (rc != LG_OK) {
        free(*onnx);
        *onnx = NULL;
    }
    json_decref(cfg);
    free(text);
    free(labels);
    lg_repo_free(repo);
    return rc;
}

/* The config to store: inlined labels written to dir/labels.txt and named instead. */
static int unpack_config(const char *dir, const char *name, const char *config_json, char **out)
{
    json_error_t err;
    char path[PATH_MAX];
    json_t *cfg = json_loads(config_json, 0, &err);
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        return lg_error(LG_E_PARSE, "config.json of model '%s': not a JSON object%s%s", name, cfg ? "" : ": ",
                        cfg ? "" : err.text);
    }
    json_t *lab = json_object_get(cfg, "labels");
    int rc = LG_OK;
    snprintf(path, sizeof(path), "%s/%s", dir, json_is_string(lab) ? json_string_value(lab) : "");
    if (json_is_string(lab) && (strchr(json_string_value(lab), '/') || access(path, R_OK) != 0)) {
        json_object_del(cfg, "labels"); /* a labels file that did not travel: run without labels */
        lab = NULL;
    }
    if (json_is_array(lab)) {
        size_t k, total = 0;
        json_t *v;
        json_array_foreach(lab, k, v) total += json_string_length(v) + 1;
        char *text = malloc(total + 1), *p = text;
        json_array_foreach(lab, k, v) {
            if (!json_is_string(v)) rc = lg_error(LG_E_PARSE, "config.json of model '%s': labels[%zu] is not a string", name, k);
            else if (text) p += sprintf(p, "%s\n", json_string_value(v));
        }
        snprintf(path, sizeof(path), "%s/labels.txt", dir);
        if (!text) rc = lg_error(LG_E_NOMEM, "out of memory");
        if (rc == LG_OK) rc = write_file(path, text, (size_t)(p - text));
        if (rc == LG_OK) json_object_set_new(cfg, "labels", json_string("labels.txt"));
        free(text);
    }
    if (rc == LG_OK && !(*out = json_dumps(cfg, JSON_INDENT(2)))) rc = lg_error(LG_E_NOMEM, "out of memory");
    json_decref(cfg);
    lg_model_config *check = NULL;
    if (rc == LG_OK && (rc = lg_model_config_parse(*out, strlen(*out), "config.json", dir, &check)) != LG_OK) {
        free(*out);
        *out = NULL;
    }
    lg_model_config_free(check);
    return rc;
}

int lg_model_files_write(const char *dir, const char *name, const uint8_t *onnx, size_t len, const char *config_json)
{
    char path[PATH_MAX], *config = NULL;
    if (config_json) LG_CHECK(unpack_config(dir, name, config_json, &config));
    snprintf(path, sizeof(path), "%s/model.onnx", dir);
    int rc = write_file(path, onnx, len);
    snprintf(path, sizeof(path), "%s/config.json", dir);
    if (rc == LG_OK && config) rc = write_file(path, config, strlen(config));
    else if (rc == LG_OK) remove(path);
    snprintf(path, sizeof(path), "%s/name", dir);
    if (rc == LG_OK) rc = write_file(path, name, strlen(name));
    free(config);
    return rc;
}
