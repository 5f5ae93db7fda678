/*
 * ir_build_image.c — the build pass's image layers: calls on (h, w, c) values
 * that become conv2d, depthwise_conv2d, zero_pad, upsample_nearest and pool
 * nodes (ir_build.c has the builder and the layer table). Window geometry
 * is completed later by shape.c; a conv2d stays one node until lower.c.
 */
#include "ir_build.h"

#include <string.h>

/* kernel_size=3 or [3, 3] (and strides alike): a pair of positive whole numbers */
static bool parse_pair(Builder *b, const BoundArg *arg, int dflt, int *h, int *w) {
  *h = *w = dflt;
  if (!arg->value)
    return true;
  const Expr *e = arg->value;
  if (e->kind == EX_LIST && arg_count(e->args) == 2) {
    long v[2];
    int i = 0;
    for (const Arg *it = e->args; it; it = it->next, i++) {
      BoundArg one = {.name = arg->name, .value = it->value, .loc = it->loc};
      if (!arg_int(b->diag, &one, 1, 4096, &v[i]))
        return false;
    }
    *h = (int)v[0];
    *w = (int)v[1];
    return true;
  }
  long v;
  if (!arg_int(b->diag, arg, 1, 4096, &v))
    return false;
  *h = *w = (int)v;
  return true;
}

/* padding=valid|same */
static bool parse_padding(Builder *b, const BoundArg *arg, bool *same) {
  static const char *const paddings[] = {"valid", "same"};
  *same = false;
  if (!arg->value)
    return true;
  int i = arg_choice(b->diag, arg, paddings, 2);
  *same = i == 1;
  return i >= 0;
}

/* conv2d(x, filters, kernel_size, strides=1, padding=valid, activation=none, use_bias=true):
 * conv2d (+ bias_add + act); lower.c makes it im2col + matmul for the C back
 * end, and fusion then gives it the GEMM epilogue */
IrNode *layer_conv2d(Builder *b, const Expr *call, IrNode *x) {
  static const char *const names[] = {"input",      "filters",  "kernel_size", "strides",
                                      "padding",    "activation", "use_bias",  "name",
                                      "kernel_regularizer"};
  BoundArg a[9];
  float l2;
  long filters;
  Window win = {0};
  Activation act;
  bool use_bias = true;
  if (!bind_args(b->diag, call, "conv2d", names, 9, 3, a) || !build_l2_arg(b, &a[8], &l2) ||
      !arg_int(b->diag, &a[1], 1, 1 << 16, &filters) ||
      !parse_pair(b, &a[2], 1, &win.kh, &win.kw) || !parse_pair(b, &a[3], 1, &win.sh, &win.sw) ||
      !parse_padding(b, &a[4], &win.same) || !build_activation_arg(b, &a[5], &act) ||
      (a[6].value && !arg_bool(b->diag, &a[6], &use_bias)))
    return NULL;
  const char *layer = build_layer_name(b, "conv2d", "Conv2D", &a[7]);
  if (!layer)
    return NULL;
  IrNode *kernel = build_param(b, call, layer, "kernel", true, INIT_GLOROT_UNIFORM);
  kernel->l2 = l2;
  IrNode *bias = use_bias ? build_param(b, call, layer, "bias", true, INIT_ZEROS) : NULL;
  IrNode *conv = ir_add(b->g, IR_CONV2D, call->loc, layer, 2, build_as_float(b, x, call), kernel);
  conv->win = win;
  conv->units = (int)filters;
  conv->name = arena_printf(b->arena, "%s.conv", layer);
  return build_bias_and_activation(b, call, layer, conv, bias, act);
}

/* depthwise_conv2d(x, kernel_size, strides=1, padding=valid, depth_multiplier=1,
 * activation=none, use_bias=true): Keras's DepthwiseConv2D, each input channel
 * convolved with its own depth_multiplier filters (+ bias_add + act) */
IrNode *layer_depthwise_conv2d(Builder *b, const Expr *call, IrNode *x) {
  static const char *const names[] = {"input",      "kernel_size", "strides", "padding",
                                      "depth_multiplier", "activation", "use_bias", "name"};
  BoundArg a[8];
  long dm = 1;
  Window win = {0};
  Activation act;
  bool use_bias = true;
  if (!bind_args(b->diag, call, "depthwise_conv2d", names, 8, 2, a) ||
      !parse_pair(b, &a[1], 1, &win.kh, &win.kw) || !parse_pair(b, &a[2], 1, &win.sh, &win.sw) ||
      !parse_padding(b, &a[3], &win.same) ||
      (a[4].value && !arg_int(b->diag, &a[4], 1, 4096, &dm)) ||
      !build_activation_arg(b, &a[5], &act) || (a[6].value && !arg_bool(b->diag, &a[6], &use_bias)))
    return NULL;
  const char *layer = build_layer_name(b, "depthwise_conv2d", "DepthwiseConv2D", &a[7]);
  if (!layer)
    return NULL;
  IrNode *kernel = build_param(b, call, layer, "depthwise_kernel", true, INIT_GLOROT_UNIFORM);
  IrNode *bias = use_bias ? build_param(b, call, layer, "bias", true, INIT_ZEROS) : NULL;
  IrNode *dw = ir_add(b->g, IR_DEPTHWISE, call->loc, layer, 2, build_as_float(b, x, call), kernel);
  dw->win = win;
  dw->depth_multiplier = (int)dm;
  dw->name = arena_printf(b->arena, "%s.depthwise", layer);
  return build_bias_and_activation(b, call, layer, dw, bias, act);
}

/* separable_conv2d(x, filters, kernel_size, strides=1, padding=valid, depth_multiplier=1,
 * activation=none, use_bias=true): Keras's SeparableConv2D, a depthwise convolution
 * then a pointwise (1x1) one to `filters` channels (+ bias_add + act) */
IrNode *layer_separable_conv2d(Builder *b, const Expr *call, IrNode *x) {
  static const char *const names[] = {"input",   "filters",          "kernel_size",
                                      "strides", "padding",          "depth_multiplier",
                                      "activation", "use_bias",      "name"};
  BoundArg a[9];
  long filters, dm = 1;
  Window win = {0};
  Activation act;
  bool use_bias = true;
  if (!bind_args(b->diag, call, "separable_conv2d", names, 9, 3, a) ||
      !arg_int(b->diag, &a[1], 1, 1 << 16, &filters) ||
      !parse_pair(b, &a[2], 1, &win.kh, &win.kw) || !parse_pair(b, &a[3], 1, &win.sh, &win.sw) ||
      !parse_padding(b, &a[4], &win.same) ||
      (a[5].value && !arg_int(b->diag, &a[5], 1, 4096, &dm)) ||
      !build_activation_arg(b, &a[6], &act) || (a[7].value && !arg_bool(b->diag, &a[7], &use_bias)))
    return NULL;
  const char *layer = build_layer_name(b, "separable_conv2d", "SeparableConv2D", &a[8]);
  if (!layer)
    return NULL;
  IrNode *dk = build_param(b, call, layer, "depthwise_kernel", true, INIT_GLOROT_UNIFORM);
  IrNode *pk = build_param(b, call, layer, "pointwise_kernel", true, INIT_GLOROT_UNIFORM);
  IrNode *bias = use_bias ? build_param(b, call, layer, "bias", true, INIT_ZEROS) : NULL;
  IrNode *dw = ir_add(b->g, IR_DEPTHWISE, call->loc, layer, 2, build_as_float(b, x, call), dk);
  dw->win = win;
  dw->depth_multiplier = (int)dm;
  dw->name = arena_printf(b->arena, "%s.depthwise", layer);
  IrNode *pw = ir_add(b->g, IR_CONV2D, call->loc, layer, 2, dw, pk);
  pw->win = (Window){.kh = 1, .kw = 1, .sh = 1, .sw = 1};
  pw->units = (int)filters;
  pw->name = arena_printf(b->arena, "%s.conv", layer);
  return build_bias_and_activation(b, call, layer, pw, bias, act);
}

/* padding=P, [PH, PW] or [[TOP, BOTTOM], [LEFT, RIGHT]] (Keras ZeroPadding2D) */
static bool parse_zero_padding(Builder *b, const BoundArg *arg, IrNode *n) {
  int *sides[4] = {&n->pad.top, &n->pad.bottom, &n->pad.left, &n->pad.right};
  long v[4] = {1, 1, 1, 1};
  const Expr *e = arg->value;
  int k = 0;
  if (!e) {
  } else if (e->kind == EX_LIST && arg_count(e->args) == 2) {
    for (const Arg *it = e->args; it; it = it->next, k += 2) {
      const Expr *d = it->value;
      bool pair = d->kind == EX_LIST && arg_count(d->args) == 2;
      const Arg *first = pair ? d->args : it;
      BoundArg one = {.name = "padding", .value = first->value, .loc = first->loc};
      if (!arg_int(b->diag, &one, 0, 1 << 16, &v[k]))
        return false;
      v[k + 1] = v[k];
      BoundArg two = {.name = "padding", .value = pair ? d->args->next->value : NULL,
                      .loc = pair ? d->args->next->loc : it->loc};
      if (pair && !arg_int(b->diag, &two, 0, 1 << 16, &v[k + 1]))
        return false;
    }
  } else if (e->kind == EX_NUMBER) {
    if (!arg_int(b->diag, arg, 0, 1 << 16, &v[0]))
      return false;
    v[1] = v[2] = v[3] = v[0];
  } else {
    diag_error(b->diag, e->loc, "padding must be a number, [height, width] or "
               "[[top, bottom], [left, right]]");
    return false;
  }
  for (int i = 0; i < 4; i++)
    *sides[i] = (int)v[i];
  return true;
}

/* zero_padding2d(x, padding=1): Keras's ZeroPadding2D, rows and columns of zeros around */
IrNode *layer_zero_padding2d(Builder *b, const Expr *call, IrNode *x) {
  static const char *const names[] = {"input", "padding", "name"};
  BoundArg a[3];
  if (!bind_args(b->diag, call, "zero_padding2d", names, 3, 1, a))
    return NULL;
  IrNode probe = {0};
  if (!parse_zero_padding(b, &a[1], &probe))
    return NULL;
  const char *layer = build_layer_name(b, "zero_padding2d", "ZeroPadding2D", &a[2]);
  if (!layer)
    return NULL;
  IrNode *n = ir_add(b->g, IR_ZERO_PAD, call->loc, layer, 1, build_as_float(b, x, call));
  n->pad = probe.pad;
  return build_out_name(b, n);
}

/* upsampling2d(x, size=2, interpolation=nearest): Keras's UpSampling2D, each pixel
 * repeated size (or [rows, columns]) times */
IrNode *layer_upsampling2d(Builder *b, const Expr *call, IrNode *x) {
  static const char *const names[] = {"input", "size", "interpolation", "name"};
  static const char *const interpolations[] = {"nearest"};
  BoundArg a[4];
  int sy, sx;
  if (!bind_args(b->diag, call, "upsampling2d", names, 4, 1, a) ||
      !parse_pair(b, &a[1], 2, &sy, &sx) ||
      (a[2].value && arg_choice(b->diag, &a[2], interpolations, 1) < 0))
    return NULL;
  const char *layer = build_layer_name(b, "up_sampling2d", "UpSampling2D", &a[3]);
  if (!layer)
    return NULL;
  IrNode *n = ir_add(b->g, IR_UPSAMPLE, call->loc, layer, 1, build_as_float(b, x, call));
  n->upsample.sy = sy;
  n->upsample.sx = sx;
  return build_out_name(b, n);
}

/* max_pool2d / avg_pool2d(x, pool_size=2, strides=pool_size, padding=valid) */
IrNode *layer_pool(Builder *b, const Expr *call, IrNode *x) {
  static const char *const names[] = {"input", "pool_size", "strides", "padding", "name"};
  BoundArg a[5];
  Window win = {0};
  bool is_max = !strcmp(call->text, "max_pool2d");
  if (!bind_args(b->diag, call, call->text, names, 5, 1, a) ||
      !parse_pair(b, &a[1], 2, &win.kh, &win.kw) ||
      !parse_pair(b, &a[2], 0, &win.sh, &win.sw) || !parse_padding(b, &a[3], &win.same))
    return NULL;
  if (!a[2].value) { /* Keras: strides default to the pool size */
    win.sh = win.kh;
    win.sw = win.kw;
  }
  const char *layer = build_layer_name(b, is_max ? "max_pooling2d" : "average_pooling2d",
                                  is_max ? "MaxPooling2D" : "AveragePooling2D", &a[4]);
  if (!layer)
    return NULL;
  IrNode *n = ir_add(b->g, is_max ? IR_MAXPOOL : IR_AVGPOOL, call->loc, layer, 1,
                     build_as_float(b, x, call));
  n->win = win;
  return build_out_name(b, n);
}

/* global_average_pool2d(x): (h, w, c) -> (c) */
IrNode *layer_global_pool(Builder *b, const Expr *call, IrNode *x) {
  static const char *const names[] = {"input", "name"};
  BoundArg a[2];
  if (!bind_args(b->diag, call, call->text, names, 2, 1, a))
    return NULL;
  const char *layer = build_layer_name(b, "global_average_pooling2d", "GlobalAveragePooling2D", &a[1]);
  if (!layer)
    return NULL;
  return build_out_name(b, ir_add(b->g, IR_GAP, call->loc, layer, 1, build_as_float(b, x, call)));
}
