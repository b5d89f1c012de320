/*
 * legacygpu/status.h: status codes returned by every lg_ function, and their text.
 *
 * Every function that can fail returns an int: LG_OK (0) or a negative LG_E* code.
 * The code says what kind of failure it was; lg_last_error() gives the full message
 * (with context: file, node, op, opset) for the last failure on the calling thread.
 *
 *   lg_model *m;
 *   int rc = lg_model_load("resnet50.onnx", &m);
 *   if (rc != LG_OK) {
 *       fprintf(stderr, "legacygpu: %s: %s\n", lg_strerror(rc), lg_last_error());
 *       return 1;
 *   }
 */
#ifndef LEGACYGPU_STATUS_H
#define LEGACYGPU_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
    LG_OK = 0,
    LG_E_NOMEM = -1,       /* an allocation failed or would exceed a limit */
    LG_E_INVALID_ARG = -2, /* a caller passed a bad argument */
    LG_E_IO = -3,          /* a file could not be opened, read or written */
    LG_E_PARSE = -4,       /* a file is truncated, garbage or not of the expected format */
    LG_E_INVALID_MODEL = -5, /* the model breaks the ONNX rules (bad attribute, shape, graph) */
    LG_E_UNSUPPORTED = -6, /* a valid construct this build does not implement (op, dtype) */
    LG_E_SHAPE = -7,       /* input shapes or dtypes do not fit the model or the op */
    LG_E_NOT_FOUND = -8,   /* a named thing (input, output, model, file) does not exist */
    LG_E_RUNTIME = -9,     /* a failure while executing (e.g. index out of range in data) */
    LG_E_DYNAMIC = -10,    /* internal: a shape depends on data that is not known yet */
    LG_E_IMAGE = -11,      /* an image could not be decoded or is too large */
    LG_E_LIMIT = -12,      /* a size limit was exceeded (dims, elements, bytes) */
    LG_E_DEVICE = -13,     /* a GPU failed: device lost, driver error, out of device memory */
};

/* Short constant text for a status code ("out of memory", "unsupported", ...). */
const char *lg_strerror(int status);

/* The symbolic name of a status code ("LG_E_NOMEM"). */
const char *lg_err_name(int status);

/* The detailed message of the last failure on this thread ("" if none). */
const char *lg_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
