/*
 * ir_build.h — what the build pass's two files share (not part of nnc.h):
 *
 *   ir_build.c         the builder: names in scope, layer names, parameters,
 *                      the layer table, values, the input, the body, the loss
 *   ir_build_image.c   the image layers: conv2d, depthwise_conv2d,
 *                      separable_conv2d, zero_padding2d, upsampling2d, pools
 */
#ifndef NNC_IR_BUILD_H
#define NNC_IR_BUILD_H

#include "nnc.h"

#define MAX_NAMES NNC_MAX_LAYERS /* names in scope, and layers (parser.y counts them first) */
#define MAX_LAYER_KINDS 32

typedef struct {
  Arena *arena;
  Diag *diag;
  const Program *prog;
  Graph *g;
  const char *names[MAX_NAMES]; /* model names in scope */
  IrNode *values[MAX_NAMES];
  int n_names;
  IrNode *input_float; /* the model input cast to float, made on first need */
  const char *kind_used[MAX_LAYER_KINDS]; /* Keras-style automatic layer names */
  int kind_count[MAX_LAYER_KINDS];
  const char *layer_names[MAX_NAMES];
  const char *layer_kinds[MAX_NAMES];
  const char *layer_classes[MAX_NAMES];
  int n_layers;
} Builder;

typedef IrNode *(*LayerFn)(Builder *b, const Expr *call, IrNode *x);

/* "dense", "dense_1", ... as Keras names layers, unless name="..." was given;
 * keras_class is what nnc summary prints as the layer's type. */
const char *build_layer_name(Builder *b, const char *kind, const char *keras_class,
                             const BoundArg *name_arg);
/* A parameter LAYER.WHAT of the layer (shaped later, by its consumer). */
IrNode *build_param(Builder *b, const Expr *call, const char *layer, const char *what,
                    bool trainable, Init init);
/* Names n LAYER.out, the layer's output. */
IrNode *build_out_name(Builder *b, IrNode *n);
/* The model input as float (one shared cast), any other value as it is. */
IrNode *build_as_float(Builder *b, IrNode *x, const Expr *call);
/* activation=NAME|none */
bool build_activation_arg(Builder *b, const BoundArg *arg, Activation *out);
/* kernel_regularizer=l2(lambda) */
bool build_l2_arg(Builder *b, const BoundArg *arg, float *out);
/* y (+ bias) (then act), named LAYER.preact and LAYER.out */
IrNode *build_bias_and_activation(Builder *b, const Expr *call, const char *layer, IrNode *y,
                                  IrNode *bias, Activation act);

/* ---- ir_build_image.c: the image layers (h, w, c) ---- */
IrNode *layer_conv2d(Builder *b, const Expr *call, IrNode *x);
IrNode *layer_depthwise_conv2d(Builder *b, const Expr *call, IrNode *x);
IrNode *layer_separable_conv2d(Builder *b, const Expr *call, IrNode *x);
IrNode *layer_zero_padding2d(Builder *b, const Expr *call, IrNode *x);
IrNode *layer_upsampling2d(Builder *b, const Expr *call, IrNode *x);
IrNode *layer_pool(Builder *b, const Expr *call, IrNode *x);        /* max_pool2d, avg_pool2d */
IrNode *layer_global_pool(Builder *b, const Expr *call, IrNode *x); /* global_average_pool2d */

/* ---- ir_build_augment.c: random_flip, random_rotation, random_zoom, random_translation,
 * random_contrast, random_brightness, random_crop (the call's name picks which) ---- */
IrNode *layer_augment(Builder *b, const Expr *call, IrNode *x);

#endif
