/*
 * ir_build.c — lowers the model section and the loss to forward graph IR.
 *
 * The model body is a list of assignments `name = layer(value, args...)`
 * ending in `return value`, like Keras's functional API: names bind IR
 * nodes, so a value may be used twice (residual add) and a name may be
 * rebound. Each layer call expands to primitive nodes (dense = matmul +
 * bias_add + act) that keep the layer's name for the emitter and summary.
 * Parameter shapes that depend on the input (a dense kernel's fan-in) are
 * left for shape.c, as Keras builds layers on first call.
 *
 * Errors: unknown layers, names, arguments — located at the expression.
 * The image layers (conv2d, depthwise_conv2d, ...) are in ir_build_image.c.
 */
#include "ir_build.h"

#include <string.h>

/* ---- helpers (ir_build.h: the image layers in ir_build_image.c use them) ---- */

static bool layer_name_taken(Builder *b, const char *name) {
  for (int i = 0; i < b->n_layers; i++)
    if (strcmp(b->layer_names[i], name) == 0)
      return true;
  return false;
}

/* "dense", "dense_1", ... as Keras names layers, unless name="..." was given.
 * keras_class is what nnc summary prints as the layer's type. */
const char *build_layer_name(Builder *b, const char *kind, const char *keras_class,
                              const BoundArg *name_arg) {
  const char *name = NULL;
  if (name_arg && name_arg->value) {
    if (name_arg->value->kind != EX_STRING && name_arg->value->kind != EX_IDENT) {
      diag_error(b->diag, name_arg->loc, "a layer name must be a string");
      return NULL;
    }
    name = name_arg->value->text;
    if (!name[0]) {
      diag_error(b->diag, name_arg->loc, "a layer name cannot be empty");
      return NULL;
    }
    if (layer_name_taken(b, name)) {
      diag_error(b->diag, name_arg->loc, "two layers are named '%s'", name);
      return NULL;
    }
  } else {
    int k;
    for (k = 0; k < MAX_LAYER_KINDS && b->kind_used[k] && strcmp(b->kind_used[k], kind); k++)
      ;
    if (k == MAX_LAYER_KINDS)
      NNC_BUG("too many layer kinds");
    b->kind_used[k] = kind;
    do {
      int i = b->kind_count[k]++;
      name = i == 0 ? kind : arena_printf(b->arena, "%s_%d", kind, i);
    } while (layer_name_taken(b, name));
  }
  if (b->n_layers == MAX_NAMES) {
    diag_error(b->diag, name_arg ? name_arg->loc : (SrcLoc){0, 0, 0, 0},
               "too many layers in one model (at most %d)", MAX_NAMES);
    return NULL;
  }
  b->layer_kinds[b->n_layers] = kind;
  b->layer_classes[b->n_layers] = keras_class;
  b->layer_names[b->n_layers++] = name;
  return name;
}

IrNode *build_param(Builder *b, const Expr *call, const char *layer, const char *what,
                         bool trainable, Init init) {
  IrNode *p = ir_add(b->g, IR_PARAM, call->loc, layer, 0);
  p->name = arena_printf(b->arena, "%s.%s", layer, what);
  p->trainable = trainable;
  p->init = init;
  return p;
}

IrNode *build_out_name(Builder *b, IrNode *n) {
  n->name = arena_printf(b->arena, "%s.out", n->layer);
  return n;
}

/* The model input as float, for layers other than normalization (an f32
 * input is one already). */
IrNode *build_as_float(Builder *b, IrNode *x, const Expr *call) {
  if (x != b->g->input || x->dtype == DT_F32)
    return x;
  if (!b->input_float) {
    b->input_float = ir_add(b->g, IR_CAST, call->loc, "input_cast", 1, x);
    b->input_float->name = "input_cast.out";
  }
  return b->input_float;
}

/* The alpha of activation=NAME: keras.activations.leaky_relu's slope 0.2, elu's 1. */
static float default_alpha(Activation act) { return ACTIVATION_INFO[act].default_alpha; }

/* activation=relu|sigmoid|tanh|softmax|leaky_relu|elu|relu6|linear|none */
bool build_activation_arg(Builder *b, const BoundArg *arg, Activation *out) {
  *out = ACT_NONE;
  if (!arg->value || (arg->value->kind == EX_IDENT && !strcmp(arg->value->text, "none")))
    return true;
  const char *names[ACT_COUNT];
  for (int k = 0; k < ACT_COUNT; k++)
    names[k] = ACTIVATION_INFO[k].name;
  int i = arg_choice(b->diag, arg, names, ACT_COUNT);
  if (i < 0)
    return false;
  *out = (Activation)i;
  return true;
}

static IrNode *apply_activation(Builder *b, IrNode *x, Activation act, float alpha, SrcLoc loc,
                                const char *layer) {
  if (act == ACT_NONE)
    return x;
  IrNode *n = ir_add(b->g, act == ACT_SOFTMAX ? IR_SOFTMAX : IR_ACT, loc, layer, 1, x);
  n->act = act;
  n->alpha = alpha;
  return n;
}

/* y (+ bias) (then act): the tail of dense, conv and depthwise layers; fusion
 * later folds it into a GEMM's epilogue where there is one */
IrNode *build_bias_and_activation(Builder *b, const Expr *call, const char *layer, IrNode *y,
                                   IrNode *bias, Activation act) {
  if (bias)
    y = ir_add(b->g, IR_BIAS_ADD, call->loc, layer, 2, y, bias);
  y->name = arena_printf(b->arena, "%s.preact", layer);
  return build_out_name(b, apply_activation(b, y, act, default_alpha(act), call->loc, layer));
}

/* ---- layers ---- */

/* normalization(x, axis=none|-1): (x - mean) / max(sqrt(var), 1e-7), stats adapted on train */
static IrNode *layer_normalization(Builder *b, const Expr *call, IrNode *x) {
  static const char *const names[] = {"input", "axis", "name"};
  BoundArg a[3];
  if (!bind_args(b->diag, call, "normalization", names, 3, 1, a))
    return NULL;
  bool per_feature = false;
  if (a[1].value) {
    const Expr *ax = a[1].value;
    if (ax->kind == EX_IDENT && !strcmp(ax->text, "none"))
      per_feature = false;
    else if (ax->kind == EX_NUMBER && ax->number == -1)
      per_feature = true;
    else {
      diag_error(b->diag, ax->loc, "normalization axis must be none (one mean and variance) or "
                 "-1 (one per feature)");
      return NULL;
    }
  }
  if (x != b->g->input) {
    diag_error(b->diag, call->loc, "normalization is adapted on the training data, so it must "
               "be applied to a model input");
    return NULL;
  }
  const char *layer = build_layer_name(b, "normalization", "Normalization", &a[2]);
  if (!layer)
    return NULL;
  IrNode *mean = build_param(b, call, layer, "mean", false, INIT_ADAPT);
  IrNode *var = build_param(b, call, layer, "variance", false, INIT_ADAPT);
  IrNode *count = build_param(b, call, layer, "count", false, INIT_ADAPT);
  count->role = ROLE_SAMPLE_COUNT;
  int one = 1;
  ir_set_shape(count, DT_F32, false, 1, &one);
  IrNode *n = ir_add(b->g, IR_NORMALIZE, call->loc, layer, 3, x, mean, var);
  n->per_feature = per_feature;
  return build_out_name(b, n);
}

/* flatten(x): (d1, d2, ...) -> (d1 * d2 * ...) */
static IrNode *layer_flatten(Builder *b, const Expr *call, IrNode *x) {
  static const char *const names[] = {"input", "name"};
  BoundArg a[2];
  if (!bind_args(b->diag, call, "flatten", names, 2, 1, a))
    return NULL;
  const char *layer = build_layer_name(b, "flatten", "Flatten", &a[1]);
  if (!layer)
    return NULL;
  return build_out_name(b, ir_add(b->g, IR_RESHAPE, call->loc, layer, 1, build_as_float(b, x, call)));
}

/* dense(x, units, activation=none, use_bias=true) */
static IrNode *layer_dense(Builder *b, const Expr *call, IrNode *x) {
  static const char *const names[] = {"input",    "units", "activation",
                                      "use_bias", "name",  "kernel_regularizer"};
  BoundArg a[6];
  long units;
  Activation act;
  bool use_bias = true;
  float l2;
  if (!bind_args(b->diag, call, "dense", names, 6, 2, a) || !build_l2_arg(b, &a[5], &l2) ||
      !arg_int(b->diag, &a[1], 1, 1 << 24, &units) || !build_activation_arg(b, &a[2], &act) ||
      (a[3].value && !arg_bool(b->diag, &a[3], &use_bias)))
    return NULL;
  const char *layer = build_layer_name(b, "dense", "Dense", &a[4]);
  if (!layer)
    return NULL;
  IrNode *kernel = build_param(b, call, layer, "kernel", true, INIT_GLOROT_UNIFORM);
  kernel->l2 = l2;
  IrNode *bias = use_bias ? build_param(b, call, layer, "bias", true, INIT_ZEROS) : NULL;
  IrNode *m = ir_add(b->g, IR_MATMUL, call->loc, layer, 2, build_as_float(b, x, call), kernel);
  m->units = (int)units;
  m->name = arena_printf(b->arena, "%s.matmul", layer);
  IrNode *y = bias ? ir_add(b->g, IR_BIAS_ADD, call->loc, layer, 2, m, bias) : m;
  y->name = arena_printf(b->arena, "%s.preact", layer);
  return build_out_name(b, apply_activation(b, y, act, default_alpha(act), call->loc, layer));
}

/* dropout(x, rate) */
static IrNode *layer_dropout(Builder *b, const Expr *call, IrNode *x) {
  static const char *const names[] = {"input", "rate", "name"};
  BoundArg a[3];
  double rate;
  if (!bind_args(b->diag, call, "dropout", names, 3, 2, a) ||
      !arg_number(b->diag, &a[1], 0, 0.999, &rate))
    return NULL;
  const char *layer = build_layer_name(b, "dropout", "Dropout", &a[2]);
  if (!layer)
    return NULL;
  IrNode *mask = ir_add(b->g, IR_SCRATCH, call->loc, layer, 0);
  mask->name = arena_printf(b->arena, "%s.mask", layer);
  IrNode *n = ir_add(b->g, IR_DROPOUT, call->loc, layer, 1, build_as_float(b, x, call));
  n->rate = (float)rate;
  n->mask = mask;
  return build_out_name(b, n);
}

/* relu(x), sigmoid(x), tanh(x), softmax(x), relu6(x), leaky_relu(x, negative_slope=0.3),
 * elu(x, alpha=1.0): activation layers (the slopes are the Keras layers' defaults) */
static IrNode *layer_activation(Builder *b, const Expr *call, IrNode *x) {
  Activation act = ACT_NONE;
  for (int i = 0; i < ACT_COUNT; i++)
    if (!strcmp(call->text, ACTIVATION_INFO[i].name))
      act = (Activation)i;
  const ActivationInfo *info = &ACTIVATION_INFO[act];
  const char *param = info->alpha_param;
  /* the slope comes second, positionally, as Keras's LeakyReLU(0.2) takes it */
  const char *with_param[] = {"input", param, "name"}, *plain[] = {"input", "name"};
  BoundArg a[3];
  if (!bind_args(b->diag, call, call->text, param ? with_param : plain, param ? 3 : 2, 1, a))
    return NULL;
  double alpha = info->layer_alpha;
  if (param && a[1].value && !arg_number(b->diag, &a[1], 0, 1e6, &alpha))
    return NULL;
  /* Keras's layer names: LeakyReLU -> leaky_re_lu, ELU -> elu, ReLU -> re_lu */
  const char *kind = info->layer_kind;
  const char *layer = build_layer_name(b, kind, info->keras_class, &a[param ? 2 : 1]);
  if (!layer)
    return NULL;
  return build_out_name(b, apply_activation(b, build_as_float(b, x, call), act, (float)alpha, call->loc,
                                          layer));
}

/* kernel_regularizer=l2(0.01) (Keras's default lambda is 0.01) */
bool build_l2_arg(Builder *b, const BoundArg *arg, float *out) {
  *out = 0;
  if (!arg->value)
    return true;
  const Expr *e = arg->value;
  if (e->kind != EX_CALL || strcmp(e->text, "l2") != 0) {
    diag_error(b->diag, e->loc, "kernel_regularizer must be l2(lambda), e.g. l2(0.01)");
    return false;
  }
  static const char *const names[] = {"l2"};
  BoundArg a[1];
  double lambda = 0.01;
  if (!bind_args(b->diag, e, "l2", names, 1, 0, a) ||
      (a[0].value && !arg_number(b->diag, &a[0], 0, 1e6, &lambda)))
    return false;
  *out = (float)lambda;
  return true;
}


/* batch_norm(x, momentum=0.99, epsilon=1e-3, synchronized=false): over the
 * last axis, Keras's defaults; synchronized: Keras's synchronized=True, the
 * batch statistics of the global batch under mpirun */
static IrNode *layer_batch_norm(Builder *b, const Expr *call, IrNode *x) {
  static const char *const names[] = {"input", "momentum", "epsilon", "name", "synchronized"};
  BoundArg a[5];
  double momentum = 0.99, epsilon = 1e-3;
  bool synchronized = false;
  if (!bind_args(b->diag, call, "batch_norm", names, 5, 1, a) ||
      (a[1].value && !arg_number(b->diag, &a[1], 0, 1, &momentum)) ||
      (a[2].value && !arg_number(b->diag, &a[2], 1e-12, 1, &epsilon)) ||
      (a[4].value && !arg_bool(b->diag, &a[4], &synchronized)))
    return NULL;
  const char *layer = build_layer_name(b, "batch_normalization", "BatchNormalization", &a[3]);
  if (!layer)
    return NULL;
  IrNode *gamma = build_param(b, call, layer, "gamma", true, INIT_ONES);
  IrNode *beta = build_param(b, call, layer, "beta", true, INIT_ZEROS);
  IrNode *mean = build_param(b, call, layer, "moving_mean", false, INIT_ZEROS);
  IrNode *var = build_param(b, call, layer, "moving_variance", false, INIT_ONES);
  IrNode *xhat = ir_add(b->g, IR_SCRATCH, call->loc, layer, 0);
  xhat->name = arena_printf(b->arena, "%s.xhat", layer);
  IrNode *stats = ir_add(b->g, IR_SCRATCH, call->loc, layer, 0);
  stats->name = arena_printf(b->arena, "%s.batch_stats", layer);
  IrNode *n = ir_add(b->g, IR_BATCHNORM, call->loc, layer, 5, build_as_float(b, x, call), gamma, beta,
                     mean, var);
  n->xhat = xhat;
  n->stats = stats;
  n->bn.momentum = (float)momentum;
  n->bn.epsilon = (float)epsilon;
  n->bn.synchronized = synchronized;
  return build_out_name(b, n);
}

/* reshape(x, [d1, d2, ...]): a view with the same number of values; one di may
 * be -1, which shape.c sets to what the other dimensions leave */
static IrNode *layer_reshape(Builder *b, const Expr *call, IrNode *x) {
  static const char *const names[] = {"input", "shape", "name"};
  BoundArg a[3];
  if (!bind_args(b->diag, call, "reshape", names, 3, 2, a))
    return NULL;
  const Expr *list = a[1].value;
  if (list->kind != EX_LIST || !list->args || arg_count(list->args) > IR_MAX_RANK) {
    diag_error(b->diag, list->loc, "reshape needs a target shape like [28, 28, 1]");
    return NULL;
  }
  int dims[IR_MAX_RANK], rank = 0;
  const Arg *unknown = NULL;
  for (const Arg *d = list->args; d; d = d->next) {
    long v;
    BoundArg one = {.name = "dimension", .value = d->value, .loc = d->loc};
    if (!arg_int(b->diag, &one, -1, MAX_EXAMPLE_ELEMS, &v))
      return NULL;
    if (v == 0) {
      diag_error(b->diag, d->loc, "a dimension must be positive (or -1 for what the others "
                 "leave)");
      return NULL;
    }
    if (v == -1 && unknown) {
      diag_error(b->diag, d->loc, "only one dimension can be -1");
      return NULL;
    }
    if (v == -1)
      unknown = d;
    dims[rank++] = (int)v;
  }
  const char *layer = build_layer_name(b, "reshape", "Reshape", &a[2]);
  if (!layer)
    return NULL;
  IrNode *n = ir_add(b->g, IR_RESHAPE, call->loc, layer, 1, build_as_float(b, x, call));
  ir_set_shape(n, DT_F32, true, rank, dims); /* the target; shape.c checks the count */
  n->has_target_shape = true;
  return build_out_name(b, n);
}

/* rescaling(x, scale, offset=0): x * scale + offset (Keras Rescaling) */
static IrNode *layer_rescaling(Builder *b, const Expr *call, IrNode *x) {
  static const char *const names[] = {"input", "scale", "offset", "name"};
  BoundArg a[4];
  double scale, offset = 0;
  if (!bind_args(b->diag, call, "rescaling", names, 4, 2, a) ||
      !arg_number(b->diag, &a[1], -1e30, 1e30, &scale) ||
      (a[2].value && !arg_number(b->diag, &a[2], -1e30, 1e30, &offset)))
    return NULL;
  const char *layer = build_layer_name(b, "rescaling", "Rescaling", &a[3]);
  if (!layer)
    return NULL;
  IrNode *n = ir_add(b->g, IR_RESCALE, call->loc, layer, 1, x); /* u8 or float */
  n->rescale.scale = (float)scale;
  n->rescale.offset = (float)offset;
  return build_out_name(b, n);
}

static IrNode *build_value(Builder *b, const Expr *e);

/* concat(a, b): join two values along the last axis (Keras Concatenate) */
static IrNode *layer_concat(Builder *b, const Expr *call, IrNode *x) {
  static const char *const names[] = {"a", "b", "name"};
  BoundArg a[3];
  if (!bind_args(b->diag, call, "concat", names, 3, 2, a))
    return NULL;
  IrNode *y = build_value(b, a[1].value);
  const char *layer = y ? build_layer_name(b, "concatenate", "Concatenate", &a[2]) : NULL;
  if (!layer)
    return NULL;
  return build_out_name(b, ir_add(b->g, IR_CONCAT, call->loc, layer, 2, build_as_float(b, x, call),
                                build_as_float(b, y, call)));
}

/* add(a, b): elementwise sum of two values of one shape (residual connections) */
static IrNode *layer_add(Builder *b, const Expr *call, IrNode *x) {
  static const char *const names[] = {"a", "b", "name"};
  BoundArg a[3];
  if (!bind_args(b->diag, call, "add", names, 3, 2, a))
    return NULL;
  IrNode *y = build_value(b, a[1].value);
  const char *layer = y ? build_layer_name(b, "add", "Add", &a[2]) : NULL;
  if (!layer)
    return NULL;
  return build_out_name(b, ir_add(b->g, IR_ADD, call->loc, layer, 2, build_as_float(b, x, call),
                                build_as_float(b, y, call)));
}

typedef struct {
  const char *name;
  LayerFn fn;
} LayerRule;

static const LayerRule LAYERS[] = {
    {"normalization", layer_normalization}, {"flatten", layer_flatten},
    {"dense", layer_dense},                 {"dropout", layer_dropout},
    {"add", layer_add},                     {"relu", layer_activation},
    {"sigmoid", layer_activation},          {"tanh", layer_activation},
    {"softmax", layer_activation},          {"leaky_relu", layer_activation},
    {"elu", layer_activation},              {"relu6", layer_activation},
    {"conv2d", layer_conv2d},               {"depthwise_conv2d", layer_depthwise_conv2d},
    {"separable_conv2d", layer_separable_conv2d}, {"zero_padding2d", layer_zero_padding2d},
    {"upsampling2d", layer_upsampling2d},
    {"max_pool2d", layer_pool},
    {"avg_pool2d", layer_pool},             {"global_average_pool2d", layer_global_pool},
    {"batch_norm", layer_batch_norm},       {"reshape", layer_reshape},
    {"rescaling", layer_rescaling},         {"concat", layer_concat},
    {"random_flip", layer_augment},         {"random_rotation", layer_augment},
    {"random_zoom", layer_augment},         {"random_translation", layer_augment},
    {"random_contrast", layer_augment},     {"random_brightness", layer_augment},
    {"random_crop", layer_augment},
};
#define N_LAYERS ((int)(sizeof(LAYERS) / sizeof(LAYERS[0])))

/* ---- values ---- */

static IrNode *lookup_name(Builder *b, const Expr *e) {
  for (int i = b->n_names - 1; i >= 0; i--)
    if (strcmp(b->names[i], e->text) == 0)
      return b->values[i];
  const char *hint = closest_name(e->text, b->names, b->n_names);
  if (hint)
    diag_error(b->diag, e->loc, "unknown name '%s'; did you mean '%s'?", e->text, hint);
  else
    diag_error(b->diag, e->loc, "unknown name '%s' (not an input and not assigned above)",
               e->text);
  return NULL;
}

/* The call without its trainable= argument (a copy; *flag = that argument),
 * so each layer's own argument list need not name it. */
static const Expr *without_trainable(Builder *b, const Expr *e, const Arg **flag) {
  *flag = NULL;
  for (const Arg *a = e->args; a; a = a->next)
    if (a->key && !strcmp(a->key, "trainable"))
      *flag = a;
  if (!*flag)
    return e;
  Expr *copy = ARENA_NEW(b->arena, Expr);
  *copy = *e;
  Arg **tail = &copy->args;
  for (const Arg *a = e->args; a; a = a->next) {
    if (a == *flag)
      continue;
    *tail = ARENA_NEW(b->arena, Arg);
    **tail = *a;
    tail = &(*tail)->next;
  }
  *tail = NULL;
  return copy;
}

/* trainable=false, as Keras's layer.trainable = False: the parameters built
 * since node `first` get no gradient and no optimizer state, and a batch
 * norm runs in inference mode (its moving statistics, also while training).
 * A layer without parameters has nothing to freeze: a located error. */
static bool freeze_layer(Builder *b, const Expr *call, const Arg *flag, int first) {
  int params = 0;
  for (int i = first; i < b->g->n_nodes; i++) {
    IrNode *n = b->g->nodes[i];
    params += n->op == IR_PARAM;
    n->trainable = n->op == IR_PARAM ? false : n->trainable;
    if (n->op == IR_BATCHNORM)
      n->bn.frozen = true;
  }
  if (!params)
    diag_error(b->diag, flag->loc, "trainable=false on '%s', a layer without parameters", call->text);
  return params > 0;
}

static IrNode *build_call(Builder *b, const Expr *e) {
  const LayerRule *rule = NULL;
  for (int i = 0; i < N_LAYERS; i++)
    if (strcmp(LAYERS[i].name, e->text) == 0)
      rule = &LAYERS[i];
  if (!rule) {
    const char *names[N_LAYERS];
    for (int i = 0; i < N_LAYERS; i++)
      names[i] = LAYERS[i].name;
    const char *hint = closest_name(e->text, names, N_LAYERS);
    if (hint)
      diag_error(b->diag, e->loc, "unknown layer '%s'; did you mean '%s'?", e->text, hint);
    else
      diag_error(b->diag, e->loc, "unknown layer '%s'", e->text);
    return NULL;
  }
  if (!e->args || e->args->key) {
    diag_error(b->diag, e->loc, "%s needs its input value as the first argument", e->text);
    return NULL;
  }
  bool trainable = true;
  const Arg *flag = NULL;
  e = without_trainable(b, e, &flag);
  if (flag && !arg_bool(b->diag, &(BoundArg){"trainable", flag->value, flag->loc}, &trainable))
    return NULL;
  IrNode *x = build_value(b, e->args->value);
  int first = b->g->n_nodes;
  IrNode *y = x ? rule->fn(b, e, x) : NULL;
  return y && !trainable && !freeze_layer(b, e, flag, first) ? NULL : y;
}

/* value = NAME | layer(value, ...) */
static IrNode *build_value(Builder *b, const Expr *e) {
  switch (e->kind) {
  case EX_IDENT: return lookup_name(b, e);
  case EX_CALL: return build_call(b, e);
  default:
    diag_error(b->diag, e->loc, "expected a value name or a layer call, not a %s",
               expr_kind_name(e->kind));
    return NULL;
  }
}

static bool bind_name(Builder *b, const char *name, IrNode *n, SrcLoc loc) {
  for (int i = 0; i < b->n_names; i++) {
    if (strcmp(b->names[i], name) == 0) { /* h = f(h): rebinding replaces */
      b->values[i] = n;
      return true;
    }
  }
  if (b->n_names == MAX_NAMES) {
    diag_error(b->diag, loc, "too many names in one model (at most %d)", MAX_NAMES);
    return false;
  }
  b->names[b->n_names] = name;
  b->values[b->n_names++] = n;
  return true;
}

/* ---- inputs, body, loss ---- */

/* x: u8[28, 28] or x: f32[4], as check.c validated it */
static bool build_input(Builder *b) {
  const Program *p = b->prog;
  IrNode *x = ir_add(b->g, IR_INPUT, p->input_loc, "input", 0);
  x->name = p->input_name;
  ir_set_shape(x, p->input_f32 ? DT_F32 : DT_U8, true, p->input_rank, p->input_dims);
  b->g->input = x;
  return bind_name(b, p->input_name, x, p->input_loc);
}

/* Like Keras, refuse to train a model with nothing to train. */
static bool check_trainable(Builder *b, const Section *model) {
  for (int i = 0; i < b->g->n_nodes; i++)
    if (b->g->nodes[i]->op == IR_PARAM && b->g->nodes[i]->trainable)
      return true;
  diag_error(b->diag, model->name_loc, "model '%s' has no trainable parameters (add a dense "
             "or conv2d layer)", model->name);
  return false;
}

static bool build_body(Builder *b, const Section *model) {
  for (const Item *it = model->items; it; it = it->next) {
    if (it->kind != ITEM_ASSIGN && it->kind != ITEM_RETURN) {
      diag_error(b->diag, it->loc, "a model body holds assignments (h = dense(h, 10)) and one "
                 "return; '%s' belongs in a data, train or evaluate section",
                 it->name ? it->name : "expect");
      return false;
    }
    IrNode *v = build_value(b, it->value);
    if (!v)
      return false;
    if (it->kind == ITEM_RETURN) {
      if (it->next) {
        diag_error(b->diag, it->next->loc, "statement after return");
        return false;
      }
      if (v == b->g->input) {
        diag_error(b->diag, it->loc, "the model returns its input unchanged");
        return false;
      }
      b->g->output = v;
      return check_trainable(b, model);
    }
    if (!bind_name(b, it->name, v, it->loc))
      return false;
  }
  diag_error(b->diag, model->loc, "the model has no return statement (end it with: return VALUE)");
  return false;
}

static const char *loss_name(LossKind k) {
  static const char *const names[] = {"sparse_categorical_crossentropy",
                                      "categorical_crossentropy", "binary_crossentropy"};
  return names[k];
}

static bool is_sigmoid(const IrNode *n) { return n->op == IR_ACT && n->act == ACT_SIGMOID; }

/* The probabilities the loss reads: the model's own softmax (sigmoid) output,
 * or one added here on its logits when from_logits=true. */
static IrNode *loss_probabilities(Builder *b) {
  Graph *g = b->g;
  const Program *p = b->prog;
  SrcLoc loc = p->loss_loc;
  bool binary = p->loss == LOSS_BINARY_CROSSENTROPY;
  const char *act = binary ? "sigmoid" : "softmax";
  bool ends_in_act = binary ? is_sigmoid(g->output) : g->output->op == IR_SOFTMAX;
  if (p->from_logits && ends_in_act) {
    diag_error(b->diag, loc, "from_logits=true, but the model already ends in a %s", act);
    diag_note(b->diag, g->output->loc, "the %s is here; drop it or set from_logits=false", act);
    return NULL;
  }
  if (!p->from_logits && !ends_in_act) {
    diag_error(b->diag, loc, "from_logits is false (the Keras default), but the model's output "
               "is not a %s: it returns logits, so write %s(from_logits=true)", act,
               loss_name(p->loss));
    return NULL;
  }
  if (!p->from_logits)
    return g->output;
  IrNode *probs = ir_add(g, binary ? IR_ACT : IR_SOFTMAX, loc, "loss", 1, g->output);
  probs->act = binary ? ACT_SIGMOID : ACT_SOFTMAX;
  return probs;
}

/* The loss node: (sparse) categorical cross-entropy of softmax probabilities
 * against class labels, or binary cross-entropy of sigmoid probabilities
 * against 0/1 targets. fuse.c merges each with its activation. */
static bool build_loss(Builder *b) {
  Graph *g = b->g;
  const Program *p = b->prog;
  SrcLoc loc = p->loss_loc;
  g->labels = ir_add(g, IR_LABELS, loc, "loss", 0);
  if (g->binary) {
    g->labels->name = "targets";
    ir_set_shape(g->labels, DT_F32, true, 1, (int[]){g->n_outputs});
  } else {
    g->labels->name = "labels";
    ir_set_shape(g->labels, DT_U8, true, 0, NULL);
  }
  if (p->class_weight_balanced || p->class_weight_explicit) {
    g->weights = ir_add(g, IR_WEIGHTS, loc, "loss", 0);
    g->weights->name = "sample_weights";
    ir_set_shape(g->weights, DT_F32, true, 0, NULL);
  }
  IrNode *probs = loss_probabilities(b);
  if (!probs)
    return false;
  IrNode *w = g->weights;
  if (g->binary)
    g->loss = ir_add(g, IR_BXENT, loc, "loss", 2, probs, g->labels);
  else
    g->loss = w ? ir_add(g, IR_XENT, loc, "loss", 3, probs, g->labels, w)
                : ir_add(g, IR_XENT, loc, "loss", 2, probs, g->labels);
  g->loss->name = "loss";
  g->loss->smoothing = (float)p->label_smoothing;
  return true;
}

static bool check_expectations(Builder *b) {
  for (int i = 0; i < b->prog->n_expect; i++) {
    const Expectation *x = &b->prog->expect[i];
    if (x->kind == EXPECT_PARAMS && !layer_name_taken(b, x->layer_name)) {
      const char *hint = closest_name(x->layer_name, b->layer_names, b->n_layers);
      diag_error(b->diag, x->loc, "params(%s): the model has no layer '%s'%s%s%s", x->layer_name,
                 x->layer_name, hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
      return false;
    }
  }
  return true;
}

/* initialize [L, ...] from ...: each L a layer of this model with parameters. */
static bool check_init_layers(Builder *b) {
  const Program *p = b->prog;
  for (int i = 0; i < p->n_init_layers; i++) {
    const char *l = p->init_layers[i];
    bool params = false;
    for (int k = 0; k < b->g->n_nodes; k++)
      params |= b->g->nodes[k]->op == IR_PARAM && !strcmp(b->g->nodes[k]->layer, l);
    if (params)
      continue;
    const char *hint = layer_name_taken(b, l) ? NULL : closest_name(l, b->layer_names, b->n_layers);
    diag_error(b->diag, p->init_layer_locs[i], "initialize: the model has no layer '%s'%s%s%s%s",
               l, layer_name_taken(b, l) ? " with parameters" : "", hint ? "; did you mean '" : "",
               hint ? hint : "", hint ? "'?" : "");
    return false;
  }
  return true;
}

/* A file with a model alone (a backbone such as models/mobilenet_v2.nn) fails
 * at its loss; say what it can be used for. */
static void note_backbone(Builder *b, const Ast *ast, const Section *model) {
  for (const Section *s = ast->sections; s; s = s->next)
    if (!strcmp(s->kind, "data") || !strcmp(s->kind, "train"))
      return;
  diag_note(b->diag, model->loc, "this file has no data or train section: 'nnc summary' "
            "describes the model without a loss; to train it, add a head and those sections");
}

static Graph *build_graph(Arena *a, const Ast *ast, const Program *prog, Diag *diag,
                          bool with_loss) {
  const Section *model = ast_model_section(ast);
  if (!model)
    NNC_BUG("check_program accepted a file without a model");
  Builder b = {.arena = a, .diag = diag, .prog = prog};
  b.g = ir_new_graph(a, model->name, prog->batch_size);
  b.g->n_classes = prog->n_classes;
  b.g->binary = prog->labels == LABELS_BINARY;
  b.g->n_outputs = b.g->binary ? prog->n_outputs : prog->n_classes;
  b.g->model_only = !with_loss;
  if (!build_input(&b) || !build_body(&b, model))
    return NULL;
  if (with_loss && !build_loss(&b)) {
    note_backbone(&b, ast, model);
    return NULL;
  }
  if (with_loss && (!check_expectations(&b) || !check_init_layers(&b)))
    return NULL;
  b.g->n_layers = b.n_layers;
  b.g->layer_names = ARENA_ARRAY(a, const char *, b.n_layers + 1);
  b.g->layer_kinds = ARENA_ARRAY(a, const char *, b.n_layers + 1);
  b.g->layer_classes = ARENA_ARRAY(a, const char *, b.n_layers + 1);
  memcpy(b.g->layer_classes, b.layer_classes, sizeof(char *) * (size_t)b.n_layers);
  memcpy(b.g->layer_names, b.layer_names, sizeof(char *) * (size_t)b.n_layers);
  memcpy(b.g->layer_kinds, b.layer_kinds, sizeof(char *) * (size_t)b.n_layers);
  return b.g;
}

Graph *ir_build(Arena *a, const Ast *ast, const Program *prog, Diag *diag) {
  return build_graph(a, ast, prog, diag, true);
}

Graph *ir_build_model(Arena *a, const Ast *ast, const Program *prog, Diag *diag) {
  return build_graph(a, ast, prog, diag, false);
}
