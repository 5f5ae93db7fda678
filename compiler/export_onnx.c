/*
 * export_onnx.c — the ONNX back end of `nnc export`: NAME.onnx, opset 13,
 * built with onnx_write.c (protobuf-c structs from Debian's onnx.proto).
 *
 * The graph takes the model's raw uint8 input, shaped (N, ...) as the .nn
 * file declares it, and returns "probabilities" (N, n_scores). nnc keeps
 * tensors NHWC; ONNX's Conv and pools are NCHW, so each of them is wrapped
 * in a pair of Transposes (runtimes cancel adjacent pairs). Everything else
 * runs NHWC as nnc does, in nnc's own arithmetic order: Normalization is
 * (x - mean) / max(sqrt(var), 1e-7) with that denominator precomputed as
 * nnc's kernel computes it, batch norm in inference is (x - mean) * scale +
 * beta with scale = gamma / sqrt(var + eps), so the probabilities match
 * nnc's to float rounding. An op ONNX cannot take is refused by name.
 */
#include "export.h"
#include "onnx_write.h"

#include <math.h>
#include <string.h>

#define OPSET 13

typedef struct {
  const ExportModel *m;
  OnnxModel *onnx;
  Arena *arena;
  const char **tensor; /* by node id: the ONNX tensor holding its value */
} OnnxExport;

static const char *tname(OnnxExport *x, const IrNode *n) { return x->tensor[n->id]; }

/* The ONNX name of n's value: its tensor name, or one made from its id. */
static const char *own(OnnxExport *x, const IrNode *n) {
  return n->name ? n->name : arena_printf(x->arena, "t%d", n->id);
}

static const char *fresh(OnnxExport *x, const IrNode *n, const char *suffix) {
  return arena_printf(x->arena, "%s.%s", own(x, n), suffix);
}

/* A one-input or two-input node; returns its output's name. */
static const char *node1(OnnxExport *x, const char *op, const char *in, const char *out) {
  const char *ins[] = {in};
  onnx_node(x->onnx, op, out, ins, 1, out);
  return out;
}

static const char *node2(OnnxExport *x, const char *op, const char *a, const char *b,
                         const char *out) {
  const char *ins[] = {a, b};
  onnx_node(x->onnx, op, out, ins, 2, out);
  return out;
}

/* A float constant of the given shape (rank 0: a scalar), named after n. */
static const char *constant(OnnxExport *x, const IrNode *n, const char *what, const float *v,
                            const int64_t *dims, int rank) {
  const char *name = fresh(x, n, what);
  onnx_initializer_f32(x->onnx, name, v, dims, rank);
  return name;
}

static const char *scalar(OnnxExport *x, const IrNode *n, const char *what, float v) {
  return constant(x, n, what, &v, NULL, 0);
}

/* A parameter as an initializer, in its own shape (once). */
static const char *param(OnnxExport *x, const IrNode *p) {
  if (!x->tensor[p->id]) {
    int64_t dims[IR_MAX_RANK];
    for (int i = 0; i < p->rank; i++)
      dims[i] = p->dims[i];
    onnx_initializer_f32(x->onnx, p->name, export_values(x->m, p), dims, p->rank);
    x->tensor[p->id] = p->name;
  }
  return p->name;
}

/* NHWC -> NCHW, an NCHW op, NCHW -> NHWC */
static const char *to_nchw(OnnxExport *x, const IrNode *n, const char *in) {
  static const int64_t perm[] = {0, 3, 1, 2};
  OnnxNode *t = onnx_node(x->onnx, "Transpose", fresh(x, n, "nchw_in"), &in, 1,
                          fresh(x, n, "nchw_in"));
  onnx_attr_ints(t, "perm", perm, 4);
  return fresh(x, n, "nchw_in");
}

static const char *to_nhwc(OnnxExport *x, const IrNode *n, const char *in) {
  static const int64_t perm[] = {0, 2, 3, 1};
  OnnxNode *t = onnx_node(x->onnx, "Transpose", own(x, n), &in, 1, own(x, n));
  onnx_attr_ints(t, "perm", perm, 4);
  return own(x, n);
}

/* kernel_shape, strides and pads [top, left, bottom, right] of a window */
static void window_attrs(OnnxNode *node, const Window *w) {
  int64_t k[] = {w->kh, w->kw}, s[] = {w->sh, w->sw};
  int bottom = (w->oh - 1) * w->sh + w->kh - w->h - w->pad_top;
  int right = (w->ow - 1) * w->sw + w->kw - w->w - w->pad_left;
  int64_t pads[] = {w->pad_top, w->pad_left, bottom > 0 ? bottom : 0, right > 0 ? right : 0};
  onnx_attr_ints(node, "kernel_shape", k, 2);
  onnx_attr_ints(node, "strides", s, 2);
  onnx_attr_ints(node, "pads", pads, 4);
}

/* Conv wants W (f, c, kh, kw); nnc keeps (kh, kw, c, f) as Keras does. */
static const char *conv_weights(OnnxExport *x, const IrNode *n) {
  const IrNode *k = n->in[1];
  const float *v = export_values(x->m, k);
  int kh = k->dims[0], kw = k->dims[1], c = k->dims[2], f = k->dims[3];
  float *t = ARENA_ARRAY(x->arena, float, (size_t)kh * kw * c * f);
  for (int y = 0; y < kh; y++)
    for (int xx = 0; xx < kw; xx++)
      for (int ci = 0; ci < c; ci++)
        for (int fi = 0; fi < f; fi++)
          t[(((size_t)fi * c + ci) * kh + y) * kw + xx] = v[(((size_t)y * kw + xx) * c + ci) * f + fi];
  int64_t dims[] = {f, c, kh, kw};
  return constant(x, n, "kernel_oihw", t, dims, 4);
}

static const char *onnx_conv2d(OnnxExport *x, const IrNode *n) {
  const char *ins[] = {to_nchw(x, n, tname(x, n->in[0])), conv_weights(x, n)};
  OnnxNode *c = onnx_node(x->onnx, "Conv", fresh(x, n, "nchw"), ins, 2, fresh(x, n, "nchw"));
  window_attrs(c, &n->win);
  return to_nhwc(x, n, fresh(x, n, "nchw"));
}

/* depthwise: a grouped Conv, W (c dm, 1, kh, kw) from Keras's (kh, kw, c, dm) */
static const char *onnx_depthwise(OnnxExport *x, const IrNode *n) {
  const IrNode *k = n->in[1];
  const float *v = export_values(x->m, k);
  int kh = k->dims[0], kw = k->dims[1], c = k->dims[2], dm = k->dims[3];
  float *t = ARENA_ARRAY(x->arena, float, (size_t)kh * kw * c * dm);
  for (int y = 0; y < kh; y++)
    for (int xx = 0; xx < kw; xx++)
      for (int j = 0; j < c * dm; j++) /* output channel ci dm + k is (ci, k) */
        t[((size_t)j * kh + y) * kw + xx] = v[((size_t)y * kw + xx) * c * dm + j];
  int64_t dims[] = {(int64_t)c * dm, 1, kh, kw};
  const char *ins[] = {to_nchw(x, n, tname(x, n->in[0])), constant(x, n, "kernel_oihw", t, dims, 4)};
  OnnxNode *conv = onnx_node(x->onnx, "Conv", fresh(x, n, "nchw"), ins, 2, fresh(x, n, "nchw"));
  window_attrs(conv, &n->win);
  onnx_attr_int(conv, "group", c);
  return to_nhwc(x, n, fresh(x, n, "nchw"));
}

/* zero padding of an NHWC image: Pad's [begins..., ends...] over (N, H, W, C) */
static const char *onnx_zero_pad(OnnxExport *x, const IrNode *n) {
  const int64_t pads[] = {0, n->pad.top, n->pad.left, 0, 0, n->pad.bottom, n->pad.right, 0};
  const char *name = fresh(x, n, "pads");
  onnx_initializer_i64(x->onnx, name, pads, 8);
  return node2(x, "Pad", tname(x, n->in[0]), name, own(x, n));
}

/* nearest upsampling: Resize by whole factors, each output pixel floor(y / s) */
static const char *onnx_upsample(OnnxExport *x, const IrNode *n) {
  const float scales[] = {1, (float)n->upsample.sy, (float)n->upsample.sx, 1};
  int64_t dims[] = {4};
  const char *ins[] = {tname(x, n->in[0]), "", constant(x, n, "scales", scales, dims, 1)};
  OnnxNode *r = onnx_node(x->onnx, "Resize", own(x, n), ins, 3, own(x, n));
  onnx_attr_string(r, "mode", "nearest");
  onnx_attr_string(r, "coordinate_transformation_mode", "asymmetric");
  onnx_attr_string(r, "nearest_mode", "floor");
  return own(x, n);
}

static const char *onnx_pool(OnnxExport *x, const IrNode *n) {
  const char *in = to_nchw(x, n, tname(x, n->in[0]));
  bool max = n->op == IR_MAXPOOL;
  OnnxNode *p = onnx_node(x->onnx, max ? "MaxPool" : "AveragePool", fresh(x, n, "nchw"), &in, 1,
                          fresh(x, n, "nchw"));
  window_attrs(p, &n->win);
  if (!max) /* Keras averages only the cells inside the image */
    onnx_attr_int(p, "count_include_pad", 0);
  return to_nhwc(x, n, fresh(x, n, "nchw"));
}

/* (x - mean) / max(sqrt(var), 1e-7), the denominator as nnc computes it */
static const char *onnx_normalize(OnnxExport *x, const IrNode *n) {
  const IrNode *mean = n->in[1], *var = n->in[2];
  size_t f = ir_elems(var);
  const float *v = export_values(x->m, var);
  float *sd = ARENA_ARRAY(x->arena, float, f);
  for (size_t j = 0; j < f; j++)
    sd[j] = fmaxf(sqrtf(v[j]), 1e-7f);
  int64_t dims[] = {(int64_t)f};
  const char *centered = node2(x, "Sub", tname(x, n->in[0]), param(x, mean), fresh(x, n, "centered"));
  return node2(x, "Div", centered, constant(x, n, "std", sd, dims, n->per_feature ? 1 : 0), own(x, n));
}

/* (x - moving_mean) * (gamma / sqrt(moving_var + eps)) + beta */
static const char *onnx_batchnorm(OnnxExport *x, const IrNode *n) {
  const IrNode *gamma = n->in[1], *var = n->in[4];
  size_t c = ir_elems(gamma);
  const float *g = export_values(x->m, gamma), *v = export_values(x->m, var);
  float *scale = ARENA_ARRAY(x->arena, float, c);
  for (size_t j = 0; j < c; j++)
    scale[j] = g[j] / sqrtf(v[j] + n->bn.epsilon);
  int64_t dims[] = {(int64_t)c};
  const char *centered =
      node2(x, "Sub", tname(x, n->in[0]), param(x, n->in[3]), fresh(x, n, "centered"));
  const char *scaled = node2(x, "Mul", centered, constant(x, n, "scale", scale, dims, 1),
                             fresh(x, n, "scaled"));
  return node2(x, "Add", scaled, param(x, n->in[2]), own(x, n));
}

/* The second input of a binary op: a parameter (an initializer) or a value. */
static const char *second(OnnxExport *x, const IrNode *n) {
  return n->in[1]->op == IR_PARAM ? param(x, n->in[1]) : tname(x, n->in[1]);
}

static const char *onnx_act(OnnxExport *x, const IrNode *n) {
  const char *in = tname(x, n->in[0]);
  OnnxNode *a;
  switch (n->act) {
  case ACT_NONE: return node1(x, "Identity", in, own(x, n));
  case ACT_RELU: return node1(x, "Relu", in, own(x, n));
  case ACT_SIGMOID: return node1(x, "Sigmoid", in, own(x, n));
  case ACT_TANH: return node1(x, "Tanh", in, own(x, n));
  case ACT_SOFTMAX:
    a = onnx_node(x->onnx, "Softmax", own(x, n), &in, 1, own(x, n));
    onnx_attr_int(a, "axis", -1);
    return own(x, n);
  case ACT_LEAKY_RELU:
  case ACT_ELU:
    a = onnx_node(x->onnx, n->act == ACT_ELU ? "Elu" : "LeakyRelu", own(x, n), &in, 1, own(x, n));
    onnx_attr_float(a, "alpha", n->alpha);
    return own(x, n);
  case ACT_RELU6: {
    const char *ins[] = {in, scalar(x, n, "min", 0.0f), scalar(x, n, "max", 6.0f)};
    onnx_node(x->onnx, "Clip", own(x, n), ins, 3, own(x, n));
    return own(x, n);
  }
  case ACT_COUNT: break;
  }
  return NULL;
}

/* reshape and flatten: (N, dims...) with N from the input */
static const char *onnx_reshape(OnnxExport *x, const IrNode *n) {
  int64_t shape[IR_MAX_RANK + 1] = {-1};
  for (int i = 0; i < n->rank; i++)
    shape[i + 1] = n->dims[i];
  const char *name = fresh(x, n, "shape");
  onnx_initializer_i64(x->onnx, name, shape, n->rank + 1);
  return node2(x, "Reshape", tname(x, n->in[0]), name, own(x, n));
}


/* dropout in inference, the input's cast (done once where it enters) */
static const char *onnx_pass(OnnxExport *x, const IrNode *n) { return tname(x, n->in[0]); }

/* sources: their tensors are made before the nodes (input, initializers) */
static const char *onnx_none(OnnxExport *x, const IrNode *n) { return tname(x, n); }

static const char *onnx_rescale(OnnxExport *x, const IrNode *n) {
  const char *scaled = node2(x, "Mul", tname(x, n->in[0]), scalar(x, n, "scale", n->rescale.scale),
                             fresh(x, n, "scaled"));
  return node2(x, "Add", scaled, scalar(x, n, "offset", n->rescale.offset), own(x, n));
}

static const char *onnx_matmul(OnnxExport *x, const IrNode *n) {
  return node2(x, "MatMul", tname(x, n->in[0]), second(x, n), own(x, n));
}

/* add and bias_add (the bias broadcasts over the last axis) */
static const char *onnx_add(OnnxExport *x, const IrNode *n) {
  return node2(x, "Add", tname(x, n->in[0]), second(x, n), own(x, n));
}

/* softmax and concat: over the last axis */
static const char *last_axis(OnnxExport *x, const IrNode *n, const char *op, const char *const *in,
                             int n_in) {
  OnnxNode *o = onnx_node(x->onnx, op, own(x, n), in, n_in, own(x, n));
  onnx_attr_int(o, "axis", -1);
  return own(x, n);
}

static const char *onnx_softmax(OnnxExport *x, const IrNode *n) {
  const char *in[] = {tname(x, n->in[0])};
  return last_axis(x, n, "Softmax", in, 1);
}

static const char *onnx_concat(OnnxExport *x, const IrNode *n) {
  const char *in[] = {tname(x, n->in[0]), second(x, n)};
  return last_axis(x, n, "Concat", in, 2);
}

/* the mean over every axis between batch and channels */
static const char *onnx_gap(OnnxExport *x, const IrNode *n) {
  int64_t axes[IR_MAX_RANK];
  for (int i = 1; i < n->in[0]->rank; i++)
    axes[i - 1] = i;
  const char *in = tname(x, n->in[0]);
  OnnxNode *o = onnx_node(x->onnx, "ReduceMean", own(x, n), &in, 1, own(x, n));
  onnx_attr_ints(o, "axes", axes, n->in[0]->rank - 1);
  onnx_attr_int(o, "keepdims", 0);
  return own(x, n);
}

typedef const char *(*OnnxFn)(OnnxExport *x, const IrNode *n);

static const OnnxFn ONNX_RULES[IR_OP_COUNT] = {
#define OP(id, name, kind, min_in, max_in, flags, shape, grad, lower, emit, export, onnx) \
  [IR_##id] = onnx,
#include "ops.def"
#undef OP
};

/* The ONNX tensor of one forward node, NULL when ONNX cannot take the op. */
static const char *export_node(OnnxExport *x, const IrNode *n) {
  return ONNX_RULES[n->op] ? ONNX_RULES[n->op](x, n) : NULL;
}

static void mark_needed(bool *needed, const IrNode *n) {
  if (needed[n->id])
    return;
  needed[n->id] = true;
  for (int k = 0; k < n->n_in; k++)
    mark_needed(needed, n->in[k]);
}

static void batched_dims(const IrNode *n, int64_t *dims) {
  dims[0] = -1; /* N */
  for (int i = 0; i < n->rank; i++)
    dims[i + 1] = n->dims[i];
}

bool export_onnx(const ExportModel *m, const char *dir) {
  const Graph *g = m->g;
  OnnxExport ex = {.m = m, .arena = g->arena}, *x = &ex;
  x->onnx = onnx_new(g->arena, g->model_name, OPSET, NNC_VERSION);
  x->tensor = ARENA_ARRAY(g->arena, const char *, g->next_id + 1);
  bool *needed = ARENA_ARRAY(g->arena, bool, g->next_id + 1);
  mark_needed(needed, m->probs);
  int64_t dims[IR_MAX_RANK + 1];
  batched_dims(g->input, dims);
  if (g->input->dtype == DT_F32) { /* f32[...]: the features as they are */
    onnx_input(x->onnx, g->input->name, ONNX_FLOAT, dims, g->input->rank + 1);
    x->tensor[g->input->id] = g->input->name;
  } else { /* u8 pixels, cast once */
    onnx_input(x->onnx, g->input->name, ONNX_UINT8, dims, g->input->rank + 1);
    OnnxNode *cast = onnx_node(x->onnx, "Cast", "input_float", &g->input->name, 1, "input_float");
    onnx_attr_int(cast, "to", ONNX_FLOAT);
    x->tensor[g->input->id] = "input_float";
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (!needed[n->id] || n->op == IR_INPUT || n->op == IR_PARAM)
      continue;
    if (!(x->tensor[n->id] = export_node(x, n))) {
      fprintf(m->err, "nnc: error: export: ONNX has no counterpart for %s (layer '%s'); "
              "NAME.onnx is not written\n", ir_op_name(n->op), n->layer);
      return false;
    }
  }
  node1(x, "Identity", tname(x, m->probs), "probabilities");
  int64_t out[] = {-1, m->n_scores};
  onnx_output(x->onnx, "probabilities", ONNX_FLOAT, out, 2);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.onnx", dir, m->name);
  return onnx_save(x->onnx, path, m->err);
}
