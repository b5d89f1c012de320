/*
 * payload_model.h: a model as it travels from the coordinator to a worker that lacks
 * it: model.onnx bytes, their sha-256, and config.json text with the class labels
 * inlined ("labels": ["zero", "one", ...]) so that no other file has to follow. The
 * worker writes it into its cache folder: DIR/model.onnx, DIR/config.json (labels back
 * in DIR/labels.txt), and DIR/name last, which marks the folder complete.
 */
#ifndef LG_CLUSTER_PAYLOAD_MODEL_H
#define LG_CLUSTER_PAYLOAD_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* Reads a whole file (malloc'd); LG_E_IO names the file. */
int lg_file_read_all(const char *path, uint8_t **data, size_t *len);
/* Writes model `name` into folder dir (which exists); config_json may be NULL. The
 * config is checked (LG_E_PARSE naming the field) before anything is written. */
int lg_model_files_write(const char *dir, const char *name, const uint8_t *onnx, size_t len, const char *config_json);

#endif
