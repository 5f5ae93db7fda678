/*
 * ir_build_augment.c — the build pass's augmentation layers, Keras 3's
 * random image layers with their defaults:
 *
 *   random_flip(x, mode="horizontal_and_vertical")
 *   random_rotation(x, factor, fill_mode="reflect", interpolation="bilinear",
 *                   fill_value=0.0)
 *   random_zoom(x, height_factor, width_factor=None, fill_mode=, interpolation=,
 *               fill_value=)
 *   random_translation(x, height_factor, width_factor, fill_mode=, interpolation=,
 *                      fill_value=)
 *   random_contrast(x, factor, value_range=[0, 255])
 *   random_brightness(x, factor, value_range=[0, 255])
 *   random_crop(x, height, width)
 *
 * A factor is a number f (the range [-|f|, |f|]) or a pair [lo, hi]. Each
 * becomes one IR_AUGMENT node (random_crop: IR_RANDOM_CROP, as it changes
 * the shape); shape.c refuses one that a trainable layer feeds.
 */
#include "ir_build.h"

#include <float.h>
#include <math.h>
#include <string.h>

static const char *const FILL_MODES[] = {"reflect", "wrap", "constant", "nearest"};
static const char *const INTERPOLATIONS[] = {"bilinear", "nearest"};
static const char *const FLIP_MODES[] = {"horizontal_and_vertical", "horizontal", "vertical"};

/* f -> [-|f|, |f|]; [a, b] -> [a, b]; each bound within [lo, hi] */
static bool factor(Builder *b, const BoundArg *arg, double lo, double hi, float *l, float *u) {
  const Expr *e = arg->value;
  double v[2];
  if (e->kind == EX_LIST) {
    if (arg_count(e->args) != 2) {
      diag_error(b->diag, e->loc, "'%s' is a number or a pair [lower, upper]", arg->name);
      return false;
    }
    int i = 0;
    for (const Arg *a = e->args; a; a = a->next, i++) {
      BoundArg one = {.name = arg->name, .value = a->value, .loc = a->loc};
      if (!arg_number(b->diag, &one, lo, hi, &v[i]))
        return false;
    }
    if (v[0] > v[1]) {
      diag_error(b->diag, e->loc, "'%s': lower %g is above upper %g", arg->name, v[0], v[1]);
      return false;
    }
  } else {
    if (!arg_number(b->diag, arg, lo, hi, &v[1]))
      return false;
    v[1] = fabs(v[1]);
    v[0] = -v[1];
  }
  *l = (float)v[0];
  *u = (float)v[1];
  return true;
}

enum { FILL_CONSTANT = 2 }; /* FILL_MODES' "constant" */

/* fill_mode, interpolation and fill_value, when given (a[0..2]). Keras
 * ignores a fill_value without fill_mode="constant"; here it is an error,
 * as the value would never show. */
static bool sampling(Builder *b, const BoundArg *a, IrNode *n) {
  const BoundArg *fill = &a[0], *interp = &a[1], *value = &a[2];
  n->aug.mode = fill->value ? arg_choice(b->diag, fill, FILL_MODES, 4) : 0;
  n->aug.interp = interp->value ? arg_choice(b->diag, interp, INTERPOLATIONS, 2) : 0;
  if (n->aug.mode < 0 || n->aug.interp < 0)
    return false;
  double v = 0.0;
  if (value->value && !arg_number(b->diag, value, -FLT_MAX, FLT_MAX, &v))
    return false;
  if (value->value && n->aug.mode != FILL_CONSTANT) {
    diag_error(b->diag, value->loc, "fill_value is used only with fill_mode=constant (this "
               "layer's fill_mode is %s)", FILL_MODES[n->aug.mode]);
    return false;
  }
  n->aug.fill_value = (float)v;
  return true;
}

/* value_range=[low, high] (Keras's default [0, 255]): the values' range,
 * which contrast and brightness clip to and brightness scales by. */
static bool value_range(Builder *b, const BoundArg *arg, IrNode *n) {
  n->aug.value_lo = 0.0f;
  n->aug.value_hi = 255.0f;
  if (!arg->value)
    return true;
  if (arg->value->kind != EX_LIST) {
    diag_error(b->diag, arg->loc, "'value_range' is a pair [low, high], e.g. [0, 1]");
    return false;
  }
  if (!factor(b, arg, -FLT_MAX, FLT_MAX, &n->aug.value_lo, &n->aug.value_hi))
    return false;
  if (n->aug.value_lo == n->aug.value_hi) {
    diag_error(b->diag, arg->value->loc, "'value_range': low and high are both %g",
               (double)n->aug.value_lo);
    return false;
  }
  return true;
}

typedef struct {
  const char *name, *keras_class;
  AugmentKind kind;
  const char *const args[7]; /* after the input; "name" last */
  int n_args, n_required;    /* counting the input */
} AugmentLayer;

static const AugmentLayer AUGMENT_LAYERS[] = {
    {"random_flip", "RandomFlip", AUG_FLIP, {"mode", "name"}, 3, 1},
    {"random_rotation", "RandomRotation", AUG_ROTATION,
     {"factor", "fill_mode", "interpolation", "fill_value", "name"}, 6, 2},
    {"random_zoom", "RandomZoom", AUG_ZOOM,
     {"height_factor", "width_factor", "fill_mode", "interpolation", "fill_value", "name"}, 7, 2},
    {"random_translation", "RandomTranslation", AUG_TRANSLATION,
     {"height_factor", "width_factor", "fill_mode", "interpolation", "fill_value", "name"}, 7, 3},
    {"random_contrast", "RandomContrast", AUG_CONTRAST, {"factor", "value_range", "name"}, 4, 2},
    {"random_brightness", "RandomBrightness", AUG_BRIGHTNESS, {"factor", "value_range", "name"},
     4, 2},
    {"random_crop", "RandomCrop", AUG_CROP, {"height", "width", "name"}, 4, 3},
};

/* the layer's own arguments (a[0] is the input, a[n_args - 1] the name) */
static bool augment_args(Builder *b, const AugmentLayer *L, const BoundArg *a, IrNode *n) {
  long h, w;
  switch (L->kind) {
  case AUG_FLIP:
    n->aug.mode = a[1].value ? arg_choice(b->diag, &a[1], FLIP_MODES, 3) : 0;
    return n->aug.mode >= 0;
  case AUG_ROTATION:
    return factor(b, &a[1], -1, 1, &n->aug.lo, &n->aug.hi) && sampling(b, &a[2], n);
  case AUG_ZOOM:
    n->aug.width_from_height = !a[2].value;
    return factor(b, &a[1], -1, 1, &n->aug.lo, &n->aug.hi) &&
           (!a[2].value || factor(b, &a[2], -1, 1, &n->aug.wlo, &n->aug.whi)) &&
           sampling(b, &a[3], n);
  case AUG_TRANSLATION:
    return factor(b, &a[1], -1, 1, &n->aug.lo, &n->aug.hi) &&
           factor(b, &a[2], -1, 1, &n->aug.wlo, &n->aug.whi) && sampling(b, &a[3], n);
  case AUG_CONTRAST: /* Keras documents [1 - f, 1 + f]: the kernel's bounds are f and f */
    if (!factor(b, &a[1], 0, 1, &n->aug.lo, &n->aug.hi))
      return false;
    n->aug.lo = -n->aug.lo;
    return value_range(b, &a[2], n);
  case AUG_BRIGHTNESS:
    return factor(b, &a[1], -1, 1, &n->aug.lo, &n->aug.hi) && value_range(b, &a[2], n);
  case AUG_CROP:
    if (!arg_int(b->diag, &a[1], 1, 16384, &h) || !arg_int(b->diag, &a[2], 1, 16384, &w))
      return false;
    n->aug.crop_h = (int)h;
    n->aug.crop_w = (int)w;
    return true;
  }
  return false;
}

IrNode *layer_augment(Builder *b, const Expr *call, IrNode *x) {
  const AugmentLayer *L = NULL;
  for (size_t i = 0; i < sizeof AUGMENT_LAYERS / sizeof AUGMENT_LAYERS[0]; i++)
    if (strcmp(call->text, AUGMENT_LAYERS[i].name) == 0)
      L = &AUGMENT_LAYERS[i];
  const char *names[8] = {"input"};
  for (int i = 1; i < L->n_args; i++)
    names[i] = L->args[i - 1];
  BoundArg a[8];
  if (!bind_args(b->diag, call, L->name, names, L->n_args, L->n_required, a))
    return NULL;
  const char *layer = build_layer_name(b, L->name, L->keras_class, &a[L->n_args - 1]);
  if (!layer)
    return NULL;
  IrNode *n = ir_add(b->g, L->kind == AUG_CROP ? IR_RANDOM_CROP : IR_AUGMENT, call->loc, layer, 1,
                     build_as_float(b, x, call));
  n->aug.kind = L->kind;
  return augment_args(b, L, a, n) ? build_out_name(b, n) : NULL;
}
