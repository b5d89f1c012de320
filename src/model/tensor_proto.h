/*
 * tensor_proto.h: converting between ONNX TensorProto messages and lg_tensor, and the
 * protobuf-c allocator that gives large byte fields 64-byte alignment (so initializer
 * bytes can be adopted as tensor data without a copy).
 *
 *   Onnx__TensorProto *tp = onnx__tensor_proto__unpack(lg_pb_allocator(), len, buf);
 *   lg_tensor *t;
 *   int rc = lg_tensor_from_proto(tp, NULL, true, &t);   // adopts raw_data
 *   onnx__tensor_proto__free_unpacked(tp, lg_pb_allocator());
 */
#ifndef LG_TENSOR_PROTO_H
#define LG_TENSOR_PROTO_H

#include <stdbool.h>

#include "base/tensor_impl.h"
#include "onnx.pb-c.h"

struct lg_model;

ProtobufCAllocator *lg_pb_allocator(void);

/* Builds a tensor from tp. adopt: take ownership of tp's raw_data buffer (tp is changed).
 * External data is read relative to model->base_dir (NULL model: external data is an error). */
int lg_tensor_from_proto(Onnx__TensorProto *tp, struct lg_model *model, bool adopt, lg_tensor **out);
/* Serialises t (with name) into a newly allocated buffer (free()). */
int lg_tensor_to_proto_bytes(const lg_tensor *t, const char *name, uint8_t **buf, size_t *len);

#endif
