/*
 * onnx_write.h — a small builder for ONNX models over the protobuf-c code
 * generated from Debian's onnx.proto (see onnx_write.c). Only the exporter
 * includes it, so the rest of the compiler does not see protobuf-c.
 */
#ifndef NNC_ONNX_WRITE_H
#define NNC_ONNX_WRITE_H

#include "nnc.h"
#include "onnx.pb-c.h"

enum { ONNX_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
       ONNX_UINT8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 };

typedef struct OnnxModel OnnxModel;
typedef struct {
  Onnx__NodeProto *proto;
  Arena *arena;
  size_t cap_attr;
} OnnxNode;

OnnxModel *onnx_new(Arena *a, const char *graph_name, int opset, const char *producer_version);
/* Graph inputs and outputs; a negative dimension is the batch axis "N". */
void onnx_input(OnnxModel *m, const char *name, int elem_type, const int64_t *dims, int rank);
void onnx_output(OnnxModel *m, const char *name, int elem_type, const int64_t *dims, int rank);
/* Constant tensors (weights, statistics, shapes), copied. */
void onnx_initializer_f32(OnnxModel *m, const char *name, const float *data, const int64_t *dims,
                          int rank);
void onnx_initializer_i64(OnnxModel *m, const char *name, const int64_t *data, int64_t count);
/* A node with one output; attributes are added to the node it returns. */
OnnxNode *onnx_node(OnnxModel *m, const char *op_type, const char *name,
                    const char *const *inputs, int n_inputs, const char *output);
void onnx_attr_int(OnnxNode *node, const char *name, int64_t v);
void onnx_attr_float(OnnxNode *node, const char *name, float v);
void onnx_attr_ints(OnnxNode *node, const char *name, const int64_t *v, int n);
void onnx_attr_string(OnnxNode *node, const char *name, const char *v);
/* Packs the model and writes it atomically (a .tmp file renamed); false
 * after a message on err. */
bool onnx_save(const OnnxModel *m, const char *path, FILE *err);

#endif
