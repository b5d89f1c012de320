/*
 * legacygpu/legacygpu.h: the whole public API of liblegacygpu in one include.
 *
 *   #include <legacygpu/legacygpu.h>
 *   lg_model *m;  lg_session *s;
 *   lg_model_load("model.onnx", &m);
 *   lg_session_create(m, NULL, &s);
 *   ... lg_session_run(...) ...
 *
 * See status.h (errors), tensor.h (tensors and files), engine.h (models, sessions),
 * image.h (decoding and preprocessing images), system.h (CPU, threads, backends).
 */
#ifndef LEGACYGPU_H
#define LEGACYGPU_H

#include "status.h"
#include "tensor.h"
#include "engine.h"
#include "system.h"
#include "image.h"

#endif
