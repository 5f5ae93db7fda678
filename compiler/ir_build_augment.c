/*
 * ir_build_augment.c — the build pass's augmentation layers, Keras 3's
 * random image layers with their defaults:
 *
 *   random_flip(x, mode="horizontal_and_vertical")
 *   random_rotation(x, factor, fill_mode="reflect", interpolation="bilinear")
 *   random_zoom(x, height_factor, width_factor=None, fill_mode=, interpolation=)
 *   random_translation(x, height_factor, width_factor, fill_mode=, interpolation=)
 *   random_contrast(x, factor)          value_range (0, 255)
 *   random_brightness(x, factor)        value_range (0, 255)
 *   random_crop(x, height, width)
 *
 * A factor is a number f (the range [-|f|, |f|]) or a pair [lo, hi]. Each
 * becomes one IR_AUGMENT node (random_crop: IR_RANDOM_CROP, as it changes
 * the shape); shape.c refuses one that a trainable layer feeds.
 */
#include "ir_build.h"

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

/* fill_mode and interpolation, when given */
static bool sampling(Builder *b, const BoundArg *fill, const BoundArg *interp, IrNode *n) {
  n->aug.mode = fill->value ? arg_choice(b->diag, fill, FILL_MODES, 4) : 0;
  n->aug.interp = interp->value ? arg_choice(b->diag, interp, INTERPOLATIONS, 2) : 0;
  return n->aug.mode >= 0 && n->aug.interp >= 0;
}

typedef struct {
  const char *name, *keras_class;
  AugmentKind kind;
  const char *const args[6]; /* after the input; "name" last */
  int n_args, n_required;    /* counting the input */
} AugmentLayer;

static const AugmentLayer AUGMENT_LAYERS[] = {
    {"random_flip", "RandomFlip", AUG_FLIP, {"mode", "name"}, 3, 1},
    {"random_rotation", "RandomRotation", AUG_ROTATION,
     {"factor", "fill_mode", "interpolation", "name"}, 5, 2},
    {"random_zoom", "RandomZoom", AUG_ZOOM,
     {"height_factor", "width_factor", "fill_mode", "interpolation", "name"}, 6, 2},
    {"random_translation", "RandomTranslation", AUG_TRANSLATION,
     {"height_factor", "width_factor", "fill_mode", "interpolation", "name"}, 6, 3},
    {"random_contrast", "RandomContrast", AUG_CONTRAST, {"factor", "name"}, 3, 2},
    {"random_brightness", "RandomBrightness", AUG_BRIGHTNESS, {"factor", "name"}, 3, 2},
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
    return factor(b, &a[1], -1, 1, &n->aug.lo, &n->aug.hi) && sampling(b, &a[2], &a[3], n);
  case AUG_ZOOM:
    n->aug.width_from_height = !a[2].value;
    return factor(b, &a[1], -1, 1, &n->aug.lo, &n->aug.hi) &&
           (!a[2].value || factor(b, &a[2], -1, 1, &n->aug.wlo, &n->aug.whi)) &&
           sampling(b, &a[3], &a[4], n);
  case AUG_TRANSLATION:
    return factor(b, &a[1], -1, 1, &n->aug.lo, &n->aug.hi) &&
           factor(b, &a[2], -1, 1, &n->aug.wlo, &n->aug.whi) && sampling(b, &a[3], &a[4], n);
  case AUG_CONTRAST: /* Keras documents [1 - f, 1 + f]: the kernel's bounds are f and f */
    if (!factor(b, &a[1], 0, 1, &n->aug.lo, &n->aug.hi))
      return false;
    n->aug.lo = -n->aug.lo;
    return true;
  case AUG_BRIGHTNESS:
    return factor(b, &a[1], -1, 1, &n->aug.lo, &n->aug.hi);
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
  const char *names[7] = {"input"};
  for (int i = 1; i < L->n_args; i++)
    names[i] = L->args[i - 1];
  BoundArg a[7];
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
