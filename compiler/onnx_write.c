/*
 * onnx_write.c — builds an ONNX ModelProto and writes it, through the C
 * code protobuf-c generates from Debian's onnx.proto (libonnx-dev). No
 * protobuf encoding is written by hand here: this file only fills the
 * generated structs (nodes, attributes, initializers, value infos) and asks
 * protobuf-c to pack them.
 *
 * Everything is allocated from the compilation's arena. Lists grow by
 * doubling (the old array stays in the arena; exports are small).
 */
#include "onnx_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct OnnxModel {
  Arena *arena;
  Onnx__ModelProto model;
  Onnx__GraphProto graph;
  Onnx__OperatorSetIdProto opset;
  Onnx__OperatorSetIdProto *opsets[1];
  size_t cap_node, cap_init, cap_in, cap_out;
};

/* Appends item to a pointer array *list of *n entries and capacity *cap. */
static void push(Arena *a, void ***list, size_t *n, size_t *cap, void *item) {
  if (*n == *cap) {
    size_t grown = *cap ? 2 * *cap : 16;
    void **bigger = ARENA_ARRAY(a, void *, grown);
    if (*n)
      memcpy(bigger, *list, sizeof(void *) * *n);
    *list = bigger;
    *cap = grown;
  }
  (*list)[(*n)++] = item;
}

OnnxModel *onnx_new(Arena *a, const char *graph_name, int opset, const char *producer_version) {
  OnnxModel *m = ARENA_NEW(a, OnnxModel);
  m->arena = a;
  m->model = (Onnx__ModelProto)ONNX__MODEL_PROTO__INIT;
  m->graph = (Onnx__GraphProto)ONNX__GRAPH_PROTO__INIT;
  m->opset = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
  m->opset.domain = "";
  m->opset.has_version = 1;
  m->opset.version = opset;
  m->opsets[0] = &m->opset;
  m->model.has_ir_version = 1;
  m->model.ir_version = 8; /* ONNX 1.10+; opset 13-17 models use it */
  m->model.producer_name = "nnc";
  m->model.producer_version = arena_strdup(a, producer_version);
  m->model.n_opset_import = 1;
  m->model.opset_import = m->opsets;
  m->graph.name = arena_strdup(a, graph_name);
  m->model.graph = &m->graph;
  return m;
}

/* A float or uint8 tensor type; dims[i] < 0 is the symbolic batch axis "N". */
static Onnx__ValueInfoProto *value_info(Arena *a, const char *name, int elem_type,
                                        const int64_t *dims, int rank) {
  Onnx__TensorShapeProto *shape = ARENA_NEW(a, Onnx__TensorShapeProto);
  *shape = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
  shape->n_dim = (size_t)rank;
  shape->dim = ARENA_ARRAY(a, Onnx__TensorShapeProto__Dimension *, rank ? rank : 1);
  for (int i = 0; i < rank; i++) {
    Onnx__TensorShapeProto__Dimension *d = ARENA_NEW(a, Onnx__TensorShapeProto__Dimension);
    *d = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    if (dims[i] < 0) {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      d->dim_param = "N";
    } else {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      d->dim_value = dims[i];
    }
    shape->dim[i] = d;
  }
  Onnx__TypeProto__Tensor *tensor = ARENA_NEW(a, Onnx__TypeProto__Tensor);
  *tensor = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
  tensor->has_elem_type = 1;
  tensor->elem_type = elem_type;
  tensor->shape = shape;
  Onnx__TypeProto *type = ARENA_NEW(a, Onnx__TypeProto);
  *type = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
  type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type->tensor_type = tensor;
  Onnx__ValueInfoProto *v = ARENA_NEW(a, Onnx__ValueInfoProto);
  *v = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
  v->name = arena_strdup(a, name);
  v->type = type;
  return v;
}

void onnx_input(OnnxModel *m, const char *name, int elem_type, const int64_t *dims, int rank) {
  push(m->arena, (void ***)&m->graph.input, &m->graph.n_input, &m->cap_in,
       value_info(m->arena, name, elem_type, dims, rank));
}

void onnx_output(OnnxModel *m, const char *name, int elem_type, const int64_t *dims, int rank) {
  push(m->arena, (void ***)&m->graph.output, &m->graph.n_output, &m->cap_out,
       value_info(m->arena, name, elem_type, dims, rank));
}

/* A constant tensor of the graph, its bytes little-endian in raw_data. */
static void initializer(OnnxModel *m, const char *name, int data_type, const void *data,
                        size_t bytes, const int64_t *dims, int rank) {
  Arena *a = m->arena;
  Onnx__TensorProto *t = ARENA_NEW(a, Onnx__TensorProto);
  *t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
  t->name = arena_strdup(a, name);
  t->has_data_type = 1;
  t->data_type = data_type;
  t->n_dims = (size_t)rank;
  t->dims = ARENA_ARRAY(a, int64_t, rank ? rank : 1);
  memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
  t->has_raw_data = 1;
  t->raw_data.len = bytes;
  t->raw_data.data = arena_alloc(a, bytes ? bytes : 1);
  memcpy(t->raw_data.data, data, bytes);
  push(a, (void ***)&m->graph.initializer, &m->graph.n_initializer, &m->cap_init, t);
}

void onnx_initializer_f32(OnnxModel *m, const char *name, const float *data, const int64_t *dims,
                          int rank) {
  size_t count = 1;
  for (int i = 0; i < rank; i++)
    count *= (size_t)dims[i];
  initializer(m, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, data, count * sizeof(float), dims,
              rank);
}

void onnx_initializer_i64(OnnxModel *m, const char *name, const int64_t *data, int64_t count) {
  initializer(m, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, data,
              (size_t)count * sizeof(int64_t), &count, 1);
}

OnnxNode *onnx_node(OnnxModel *m, const char *op_type, const char *name,
                    const char *const *inputs, int n_inputs, const char *output) {
  Arena *a = m->arena;
  Onnx__NodeProto *n = ARENA_NEW(a, Onnx__NodeProto);
  *n = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
  n->op_type = arena_strdup(a, op_type);
  n->name = arena_strdup(a, name);
  n->n_input = (size_t)n_inputs;
  n->input = ARENA_ARRAY(a, char *, n_inputs ? n_inputs : 1);
  for (int i = 0; i < n_inputs; i++)
    n->input[i] = arena_strdup(a, inputs[i]);
  n->n_output = 1;
  n->output = ARENA_ARRAY(a, char *, 1);
  n->output[0] = arena_strdup(a, output);
  OnnxNode *node = ARENA_NEW(a, OnnxNode);
  node->proto = n;
  node->arena = a;
  push(a, (void ***)&m->graph.node, &m->graph.n_node, &m->cap_node, n);
  return node;
}

static Onnx__AttributeProto *new_attr(OnnxNode *node, const char *name,
                                      Onnx__AttributeProto__AttributeType type) {
  Onnx__AttributeProto *at = ARENA_NEW(node->arena, Onnx__AttributeProto);
  *at = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
  at->name = arena_strdup(node->arena, name);
  at->has_type = 1;
  at->type = type;
  push(node->arena, (void ***)&node->proto->attribute, &node->proto->n_attribute,
       &node->cap_attr, at);
  return at;
}

void onnx_attr_int(OnnxNode *node, const char *name, int64_t v) {
  Onnx__AttributeProto *at = new_attr(node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  at->has_i = 1;
  at->i = v;
}

void onnx_attr_float(OnnxNode *node, const char *name, float v) {
  Onnx__AttributeProto *at = new_attr(node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  at->has_f = 1;
  at->f = v;
}

void onnx_attr_ints(OnnxNode *node, const char *name, const int64_t *v, int n) {
  Onnx__AttributeProto *at = new_attr(node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  at->n_ints = (size_t)n;
  at->ints = ARENA_ARRAY(node->arena, int64_t, n ? n : 1);
  memcpy(at->ints, v, sizeof(int64_t) * (size_t)n);
}

void onnx_attr_string(OnnxNode *node, const char *name, const char *v) {
  Onnx__AttributeProto *at = new_attr(node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  at->has_s = 1;
  at->s.len = strlen(v);
  at->s.data = (uint8_t *)arena_strdup(node->arena, v);
}

bool onnx_save(const OnnxModel *m, const char *path, FILE *err) {
  size_t size = onnx__model_proto__get_packed_size(&m->model);
  uint8_t *buf = malloc(size ? size : 1);
  if (!buf) {
    fprintf(err, "nnc: error: out of memory packing %zu bytes of ONNX\n", size);
    return false;
  }
  onnx__model_proto__pack(&m->model, buf);
  OutFile out;
  bool ok = out_open(&out, path, err);
  if (ok) {
    fwrite(buf, 1, size, out.f);
    ok = out_close(&out, err);
  }
  free(buf);
  return ok;
}
