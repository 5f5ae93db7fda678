/*
 * shape.c — dtype and shape inference over the forward graph.
 *
 * Walks the schedule in order (inputs before uses) and gives every node its
 * dtype and per-example shape; batched tensors have a leading batch axis of
 * runtime size m <= batch_size. Parameters whose shape depends on their
 * input (a dense kernel's fan-in) are shaped here, when their layer first
 * sees its input, as Keras builds a layer on first call. A mismatch is a
 * located error at the layer call in the .nn file.
 */
#include "nnc.h"

#include <string.h>

typedef struct {
  Graph *g;
  Diag *diag;
} Shaper;

static const char *shape_of(Shaper *s, const IrNode *n) { return ir_shape_str(s->g->arena, n); }

static void copy_shape(IrNode *dst, const IrNode *src) {
  ir_set_shape(dst, src->dtype, src->batched, src->rank, src->dims);
}

static bool shape_normalize(Shaper *s, IrNode *n) {
  IrNode *x = n->in[0];
  int features = n->per_feature ? x->dims[x->rank - 1] : 1;
  for (int i = 1; i <= 2; i++)
    ir_set_shape(n->in[i], DT_F32, false, 1, &features);
  ir_set_shape(n, DT_F32, true, x->rank, x->dims);
  (void)s;
  return true;
}

static bool shape_reshape(Shaper *s, IrNode *n) {
  IrNode *x = n->in[0];
  if (n->has_target_shape) { /* reshape(x, [...]), one dimension may be -1 */
    int *unknown = NULL;
    for (int i = 0; i < n->rank; i++)
      if (n->dims[i] == -1)
        unknown = &n->dims[i];
    if (unknown) {
      *unknown = 1;
      size_t known = ir_elems(n);
      if (ir_elems(x) % known != 0) {
        *unknown = -1;
        diag_error(s->diag, n->loc, "reshape to %s cannot hold the %zu values per example of "
                   "its input %s: they are not a multiple of %zu", shape_of(s, n), ir_elems(x),
                   shape_of(s, x), known);
        return false;
      }
      *unknown = (int)(ir_elems(x) / known);
    }
    if (ir_elems(n) != ir_elems(x)) {
      diag_error(s->diag, n->loc, "reshape to %s needs %zu values per example, but its input %s "
                 "has %zu", shape_of(s, n), ir_elems(n), shape_of(s, x), ir_elems(x));
      return false;
    }
    n->dtype = x->dtype;
    return true;
  }
  int flat = (int)ir_elems(x); /* build_input caps an example at MAX_EXAMPLE_ELEMS */
  if (x->rank == 0) {
    diag_error(s->diag, n->loc, "flatten of a scalar per example");
    return false;
  }
  ir_set_shape(n, x->dtype, x->batched, 1, &flat);
  return true;
}

/* Output size of a window along one axis (TensorFlow's 'same' and 'valid'). */
static int window_out(int in, int k, int stride, bool same) {
  return same ? (in + stride - 1) / stride : in >= k ? (in - k) / stride + 1 : 0;
}

/* A spatial op's input must be an image (h, w, c); else a located error. */
static bool need_image(Shaper *s, const IrNode *n, const IrNode *x, const char *what) {
  if (x->rank == 3)
    return true;
  diag_error(s->diag, n->loc, "%s expects (height, width, channels) per example, but its "
             "input has shape %s%s", what, shape_of(s, x),
             x->rank == 1 ? " (a flatten or dense cannot feed it)"
             : x->rank == 2 ? " (add a channel axis: declare the input as u8[28, 28, 1] or use "
                              "reshape(x, [28, 28, 1]))" : "");
  return false;
}

/* An image (h, w, c) per example, at most MAX_EXAMPLE_ELEMS values. */
static bool set_image(Shaper *s, IrNode *n, long h, long w, long c, const char *what) {
  if (h * w * c > MAX_EXAMPLE_ELEMS) {
    diag_error(s->diag, n->loc, "this %s would make %ld x %ld x %ld values per example (at most "
               "%d)", what, h, w, c, MAX_EXAMPLE_ELEMS);
    return false;
  }
  int dims[3] = {(int)h, (int)w, (int)c};
  ir_set_shape(n, DT_F32, true, 3, dims);
  return true;
}

/* zero_padding2d: (h, w, c) -> (top + h + bottom, left + w + right, c) */
static bool shape_zero_pad(Shaper *s, IrNode *n) {
  const IrNode *x = n->in[0];
  return need_image(s, n, x, "zero_padding2d") &&
         set_image(s, n, (long)x->dims[0] + n->pad.top + n->pad.bottom,
                   (long)x->dims[1] + n->pad.left + n->pad.right, x->dims[2], "zero_padding2d");
}

/* upsampling2d: (h, w, c) -> (h sy, w sx, c) */
static bool shape_upsample(Shaper *s, IrNode *n) {
  const IrNode *x = n->in[0];
  return need_image(s, n, x, "upsampling2d") &&
         set_image(s, n, (long)x->dims[0] * n->upsample.sy, (long)x->dims[1] * n->upsample.sx,
                   x->dims[2], "upsampling2d");
}

/* Completes n->win for input x (h, w, c); a located error if it does not fit. */
static bool infer_window(Shaper *s, IrNode *n, const IrNode *x, const char *what) {
  if (!need_image(s, n, x, what))
    return false;
  Window *w = &n->win;
  w->h = x->dims[0];
  w->w = x->dims[1];
  w->c = x->dims[2];
  w->oh = window_out(w->h, w->kh, w->sh, w->same);
  w->ow = window_out(w->w, w->kw, w->sw, w->same);
  if (w->oh <= 0 || w->ow <= 0) {
    diag_error(s->diag, n->loc, "the %dx%d window of this %s is larger than its %dx%d input, "
               "so the output would be empty (use padding=same or a smaller window)", w->kh,
               w->kw, what, w->h, w->w);
    return false;
  }
  int pad_h = (w->oh - 1) * w->sh + w->kh - w->h, pad_w = (w->ow - 1) * w->sw + w->kw - w->w;
  w->pad_top = w->same && pad_h > 0 ? pad_h / 2 : 0;
  w->pad_left = w->same && pad_w > 0 ? pad_w / 2 : 0;
  return true;
}

static bool shape_pool(Shaper *s, IrNode *n) {
  if (!infer_window(s, n, n->in[0], n->op == IR_MAXPOOL ? "max_pool2d" : "avg_pool2d"))
    return false;
  int dims[3] = {n->win.oh, n->win.ow, n->win.c};
  ir_set_shape(n, DT_F32, true, 3, dims);
  return true;
}

static bool shape_gap(Shaper *s, IrNode *n) {
  IrNode *x = n->in[0];
  if (x->rank != 3) {
    diag_error(s->diag, n->loc, "global_average_pool2d expects (height, width, channels) per "
               "example, got %s", shape_of(s, x));
    return false;
  }
  ir_set_shape(n, DT_F32, true, 1, &x->dims[2]);
  return true;
}

/* batch_norm: per channel (last axis) gamma, beta, moving mean and variance */
static bool shape_batchnorm(Shaper *s, IrNode *n) {
  IrNode *x = n->in[0];
  if (x->rank == 0) {
    diag_error(s->diag, n->loc, "batch_norm of a scalar per example");
    return false;
  }
  int c = x->dims[x->rank - 1], stats[2] = {2, c};
  for (int i = 1; i <= 4; i++)
    ir_set_shape(n->in[i], DT_F32, false, 1, &c);
  copy_shape(n, x);
  copy_shape(n->xhat, x);
  ir_set_shape(n->stats, DT_F32, false, 2, stats);
  return true;
}

static bool shape_rescale(Shaper *s, IrNode *n) {
  IrNode *x = n->in[0];
  ir_set_shape(n, DT_F32, x->batched, x->rank, x->dims);
  (void)s;
  return true;
}

/* Does a trainable parameter feed n? (a layer's parameters are its direct
 * inputs, so the search stops at the first layer that has any) */
static bool fed_by_trainable(const IrNode *n) {
  for (int k = 0; k < n->n_in; k++)
    if (n->in[k]->op == IR_PARAM && n->in[k]->trainable)
      return true;
  for (int k = 0; k < n->n_in; k++)
    if (fed_by_trainable(n->in[k]))
      return true;
  return false;
}

/* augmentation: batches of (h, w, c) images; random_crop makes (crop_h,
 * crop_w, c). No gradient flows through them, so nothing trainable may come
 * before one (Keras puts them first, or in the input pipeline). */
static bool shape_augment(Shaper *s, IrNode *n) {
  IrNode *x = n->in[0];
  if (!x->batched || x->rank != 3) {
    diag_error(s->diag, n->loc, "%s needs a batch of images (height, width, channels), got %s",
               n->layer, ir_shape_str(s->g->arena, x));
    return false;
  }
  if (fed_by_trainable(x)) {
    diag_error(s->diag, n->loc, "%s has no gradient: it must come before every trainable layer "
               "(augment the input, then learn)", n->layer);
    return false;
  }
  ir_set_shape(n, DT_F32, true, 3, x->dims);
  if (n->op == IR_RANDOM_CROP) {
    n->dims[0] = n->aug.crop_h;
    n->dims[1] = n->aug.crop_w;
  }
  return true;
}

/* concat: equal shapes but for the last axis, which adds up */
static bool shape_concat(Shaper *s, IrNode *n) {
  IrNode *a = n->in[0], *b = n->in[1];
  bool ok = a->rank == b->rank && a->rank > 0;
  for (int i = 0; ok && i < a->rank - 1; i++)
    ok = a->dims[i] == b->dims[i];
  if (!ok) {
    diag_error(s->diag, n->loc, "concat needs values that differ only in their last axis, got "
               "%s and %s", shape_of(s, a), shape_of(s, b));
    return false;
  }
  copy_shape(n, a);
  n->dims[n->rank - 1] += b->dims[b->rank - 1];
  return true;
}

/* conv2d: x (B, h, w, c) * kernel (kh, kw, c, filters) -> (B, oh, ow, filters) */
static bool shape_conv2d(Shaper *s, IrNode *n) {
  if (!infer_window(s, n, n->in[0], "conv2d"))
    return false;
  IrNode *w = n->in[1];
  const Window *win = &n->win;
  int dims[4] = {win->kh, win->kw, win->c, n->units};
  if ((size_t)win->kh * win->kw * win->c * n->units > MAX_TENSOR_ELEMS) {
    diag_error(s->diag, n->loc, "this conv2d kernel is too large");
    return false;
  }
  ir_set_shape(w, DT_F32, false, 4, dims);
  w->fan_in = win->kh * win->kw * win->c;
  w->fan_out = win->kh * win->kw * n->units;
  int out[3] = {win->oh, win->ow, n->units};
  ir_set_shape(n, DT_F32, true, 3, out);
  return true;
}

/* depthwise_conv2d: x (B, h, w, c) with kernel (kh, kw, c, dm), each channel its own dm
 * filters -> (B, oh, ow, c * dm); Keras's fans: kh*kw*c in, kh*kw*dm out */
static bool shape_depthwise(Shaper *s, IrNode *n) {
  if (!infer_window(s, n, n->in[0], "depthwise_conv2d"))
    return false;
  const Window *win = &n->win;
  int dm = n->depth_multiplier;
  if ((size_t)win->kh * win->kw * win->c * dm > MAX_TENSOR_ELEMS ||
      (size_t)win->c * dm > (size_t)1 << 20) {
    diag_error(s->diag, n->loc, "this depthwise_conv2d kernel is too large");
    return false;
  }
  int dims[4] = {win->kh, win->kw, win->c, dm};
  ir_set_shape(n->in[1], DT_F32, false, 4, dims);
  n->in[1]->fan_in = win->kh * win->kw * win->c;
  n->in[1]->fan_out = win->kh * win->kw * dm;
  int out[3] = {win->oh, win->ow, win->c * dm};
  ir_set_shape(n, DT_F32, true, 3, out);
  return true;
}

/* dense: x (B, k) . kernel (k, units) */
static bool shape_matmul(Shaper *s, IrNode *n) {
  IrNode *x = n->in[0], *w = n->in[1];
  if (x->rank != 1) {
    diag_error(s->diag, n->loc, "dense expects a flat input (one axis per example), but its "
               "input has shape %s; add flatten() before it", shape_of(s, x));
    return false;
  }
  int dims[2] = {x->dims[0], n->units};
  if ((size_t)dims[0] * (size_t)dims[1] > MAX_TENSOR_ELEMS) {
    diag_error(s->diag, n->loc, "this dense kernel would have %d x %d weights (at most %d)",
               dims[0], dims[1], MAX_TENSOR_ELEMS);
    return false;
  }
  ir_set_shape(w, DT_F32, false, 2, dims);
  w->fan_in = dims[0];
  w->fan_out = dims[1];
  ir_set_shape(n, DT_F32, true, 1, &n->units);
  return true;
}

static bool shape_bias_add(Shaper *s, IrNode *n) {
  IrNode *x = n->in[0];
  ir_set_shape(n->in[1], DT_F32, false, 1, &x->dims[x->rank - 1]);
  copy_shape(n, x);
  (void)s;
  return true;
}

static bool shape_elementwise(Shaper *s, IrNode *n) {
  IrNode *x = n->in[0];
  if (x->dtype != DT_F32)
    NNC_BUG("%s of a non-float tensor", ir_op_name(n->op));
  copy_shape(n, x);
  if (n->mask)
    copy_shape(n->mask, x);
  (void)s;
  return true;
}

static bool shape_softmax(Shaper *s, IrNode *n) {
  IrNode *x = n->in[0];
  if (x->rank != 1) {
    diag_error(s->diag, n->loc, "softmax expects one axis of scores per example, got %s",
               shape_of(s, x));
    return false;
  }
  copy_shape(n, x);
  return true;
}

static bool same_shape(const IrNode *a, const IrNode *b) {
  if (a->rank != b->rank || a->batched != b->batched)
    return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i])
      return false;
  return true;
}

static bool shape_add(Shaper *s, IrNode *n) {
  if (!same_shape(n->in[0], n->in[1])) {
    diag_error(s->diag, n->loc, "add needs two values of one shape, got %s and %s",
               shape_of(s, n->in[0]), shape_of(s, n->in[1]));
    return false;
  }
  copy_shape(n, n->in[0]);
  return true;
}

/* The loss: scores (B, C) with C = the classes (or binary targets) of the data section. */
static bool shape_loss(Shaper *s, IrNode *n) {
  IrNode *p = n->in[0];
  IrNode *out = s->g->output;
  int want = s->g->n_outputs;
  if (p->rank != 1 || p->dims[0] != want) {
    if (s->g->binary)
      diag_error(s->diag, out->loc, "the model outputs %s per example, but the data has %d "
                 "binary target%s: the last layer needs %d unit%s", shape_of(s, out), want,
                 want == 1 ? "" : "s", want, want == 1 ? "" : "s");
    else
      diag_error(s->diag, out->loc, "the model outputs %s per example, but the data has %d "
                 "classes: the last layer needs %d units", shape_of(s, out), want, want);
    return false;
  }
  ir_set_shape(n, DT_F32, false, 0, NULL);
  return true;
}

/* input, labels, sample_weights: shaped at build; a param by its consumer
 * (or at build); a scratch by its owner */
static bool shape_source(Shaper *s, IrNode *n) {
  (void)s, (void)n;
  return true;
}

static bool shape_cast(Shaper *s, IrNode *n) {
  (void)s;
  ir_set_shape(n, DT_F32, true, n->in[0]->rank, n->in[0]->dims);
  return true;
}

typedef bool (*ShapeRule)(Shaper *s, IrNode *n);

/* ops.def's SHAPE column */
static const ShapeRule SHAPE_RULES[IR_OP_COUNT] = {
#define OP(id, name, kind, min_in, max_in, flags, shape, grad, lower, emit, export, onnx) [IR_##id] = shape,
#include "ops.def"
#undef OP
};

static bool infer_node(Shaper *s, IrNode *n) {
  if (!SHAPE_RULES[n->op])
    NNC_BUG("shape inference runs before autodiff and lowering, but found %s",
            ir_op_name(n->op));
  return SHAPE_RULES[n->op](s, n);
}

bool shape_infer(Graph *g, Diag *diag) {
  Shaper s = {.g = g, .diag = diag};
  for (int i = 0; i < g->n_nodes; i++)
    if (!infer_node(&s, g->nodes[i]))
      return false;
  return true;
}
