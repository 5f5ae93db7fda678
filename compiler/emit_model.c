/*
 * emit_model.c — the model part of the generated C: one runtime kernel call
 * per IR node, grouped into <layer>_forward / <layer>_backward functions
 * that name their .nn line and what was fused, then model_forward,
 * model_backward, the optimizer step and init_params.
 */
#include "emit.h"

#include <string.h>

/* ---- one kernel call per IR node: ops.def's EMIT column ---- */

#define O c_name(e, n)
#define IN(k) c_name(e, n->in[k])
#define ACT_ARGS c_rt_act(n->act), c_float(e, n->alpha)

static void emit_cast(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, cast_u8_forward, NULL, O, IN(0), c_count(e, n));
}

static void emit_normalize(Emitter *e, const IrNode *n) {
  const IrNode *x = n->in[0];
  int features = n->per_feature ? c_last_dim(x) : (int)ir_elems(x);
  const char *rows = arena_printf(e->g->arena, "m * %zu", ir_elems(x) / (size_t)features);
  if (x->dtype == DT_U8) {
    P("  /* (x - mean) / max(sqrt(variance), 1e-7), fused with the uint8 -> float conversion */\n");
    EMIT_CALL(e, normalize_u8_forward, NULL, O, IN(0), IN(1), IN(2), rows, c_int(e, features),
              c_int(e, n->per_feature));
  } else { /* an f32 input */
    P("  /* (x - mean) / max(sqrt(variance), 1e-7) */\n");
    EMIT_CALL(e, normalize_forward, NULL, O, IN(0), IN(1), IN(2), rows, c_int(e, features),
              c_int(e, n->per_feature));
  }
}

static void emit_rescale(Emitter *e, const IrNode *n) {
  const char *scale = c_float(e, n->rescale.scale), *offset = c_float(e, n->rescale.offset);
  if (n->in[0]->dtype == DT_U8) {
    P("  /* x * %g + %g, fused with the uint8 -> float conversion */\n", n->rescale.scale,
      n->rescale.offset);
    EMIT_CALL(e, rescale_u8_forward, NULL, O, IN(0), scale, offset, c_count(e, n));
  } else {
    EMIT_CALL(e, rescale_forward, NULL, O, IN(0), scale, offset, c_count(e, n));
  }
}

/* Columns in a chunked workspace (memplan.c): their reader runs the
 * convolution kernel that fills them a chunk at a time; they emit no code. */
static bool chunked(const IrNode *cols) { return cols->chunk != 0; }

/* The comment of a chunked convolution kernel's call. */
static const char *chunk_note(Emitter *e, const IrNode *cols) {
  return arena_printf(e->g->arena, "im2col columns %d example%s at a time, in %s", cols->chunk,
                      cols->chunk == 1 ? "" : "s", c_name(e, cols));
}

/* out (rows, units) = x (rows, k) . W, then the fused bias + activation epilogue */
static void emit_matmul(Emitter *e, const IrNode *n) {
  const IrNode *x = n->in[0];
  int k = c_last_dim(x), nn = n->units;
  const char *epilogue = arena_printf(e->g->arena, "epilogue: + bias, %s", ir_act_name(n->act));
  if (chunked(x)) {
    EMIT_CALL(e, conv2d_forward, chunk_note(e, x), O, c_name(e, x->in[0]), IN(1), IN(0), "m",
              c_int(e, x->chunk), c_window(e, x), c_int(e, nn));
    if (n->has_bias)
      EMIT_CALL(e, bias_act_forward, epilogue, O, IN(2), c_rows(e, n), c_int(e, nn), ACT_ARGS);
    return;
  }
  const char *product =
      arena_printf(e->g->arena, "%s = %s . (%d, %d)", c_shape(e, n), c_shape(e, x), k, nn);
  if (!n->has_bias) {
    EMIT_CALL(e, matmul_forward, product, O, IN(0), IN(1), c_rows(e, x), c_int(e, k),
              c_int(e, nn));
    return;
  }
  EMIT_CALL(e, matmul_bias_act_forward,
            arena_printf(e->g->arena, "%s, epilogue + bias, %s", product, ir_act_name(n->act)), O,
            IN(0), IN(1), IN(2), c_rows(e, x), c_int(e, k), c_int(e, nn), ACT_ARGS);
}

static void emit_bias_add(Emitter *e, const IrNode *n) {
  P("  memcpy(%s, %s, sizeof(float) * %s);\n", O, IN(0), c_count(e, n));
  EMIT_CALL(e, bias_act_forward, NULL, O, IN(1), c_rows(e, n), c_int(e, c_last_dim(n)),
            "RT_ACT_NONE", "0.0f");
}

static void emit_act(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, act_forward, NULL, O, IN(0), c_count(e, n), ACT_ARGS);
}

static void emit_dropout(Emitter *e, const IrNode *n) {
  P("  if (training) /* inverted dropout: zero with p = %g, scale the rest by 1/(1 - p) */\n",
    n->rate);
  EMIT_CALL_AT(e, "    ", NULL, dropout_forward, NULL, O, c_name(e, n->mask), IN(0),
               c_float(e, n->rate), c_count(e, n), "&dropout_rng");
  P("  else /* identity in evaluation */\n");
  P("    memcpy(%s, %s, sizeof(float) * %s);\n", O, IN(0), c_count(e, n));
}

/* Keras's augmentation layers: random in training (augment_rng, its own
 * stream), the identity in evaluation (random_crop: the centred window). */
static void emit_augment(Emitter *e, const IrNode *n) {
  static const char *const flips[] = {"RT_FLIP_HORIZONTAL_AND_VERTICAL", "RT_FLIP_HORIZONTAL",
                                      "RT_FLIP_VERTICAL"};
  static const char *const fills[] = {"RT_FILL_REFLECT", "RT_FILL_WRAP", "RT_FILL_CONSTANT",
                                      "RT_FILL_NEAREST"};
  static const char *const interps[] = {"RT_INTERP_BILINEAR", "RT_INTERP_NEAREST"};
  const IrNode *x = n->in[0];
  const char *h = c_int(e, x->dims[0]), *w = c_int(e, x->dims[1]), *c = c_int(e, x->dims[2]);
  const char *lo = c_float(e, n->aug.lo), *hi = c_float(e, n->aug.hi);
  const char *wlo = c_float(e, n->aug.wlo), *whi = c_float(e, n->aug.whi);
  const char *fill = fills[n->aug.mode], *interp = interps[n->aug.interp], *rng = "&augment_rng";
  const char *fill_value = c_float(e, n->aug.fill_value);
  const char *vlo = c_float(e, n->aug.value_lo), *vhi = c_float(e, n->aug.value_hi);
  const char *I = "    ";
  P("  if (training) { /* %s */\n", n->layer);
  switch (n->aug.kind) {
  case AUG_FLIP:
    EMIT_CALL_AT(e, I, NULL, random_flip_forward, NULL, O, IN(0), "m", h, w, c, flips[n->aug.mode],
                 rng);
    break;
  case AUG_ROTATION:
    EMIT_CALL_AT(e, I, NULL, random_rotation_forward, NULL, O, IN(0), "m", h, w, c, lo, hi, fill,
                 interp, fill_value, rng);
    break;
  case AUG_ZOOM:
    EMIT_CALL_AT(e, I, NULL, random_zoom_forward, NULL, O, IN(0), "m", h, w, c, lo, hi, wlo, whi,
                 c_int(e, n->aug.width_from_height), fill, interp, fill_value, rng);
    break;
  case AUG_TRANSLATION:
    EMIT_CALL_AT(e, I, NULL, random_translation_forward, NULL, O, IN(0), "m", h, w, c, lo, hi, wlo,
                 whi, fill, interp, fill_value, rng);
    break;
  case AUG_CONTRAST:
    EMIT_CALL_AT(e, I, NULL, random_contrast_forward, NULL, O, IN(0), "m", h, w, c, lo, hi, vlo,
                 vhi, rng);
    break;
  case AUG_BRIGHTNESS:
    EMIT_CALL_AT(e, I, NULL, random_brightness_forward, NULL, O, IN(0), "m", h, w, c, lo, hi,
                 vlo, vhi, rng);
    break;
  case AUG_CROP:
    EMIT_CALL_AT(e, I, NULL, random_crop_forward, NULL, O, IN(0), "m", h, w, c,
                 c_int(e, n->aug.crop_h), c_int(e, n->aug.crop_w), rng);
    P("  } else { /* the centred window */\n");
    EMIT_CALL_AT(e, I, NULL, random_crop_infer, NULL, O, IN(0), "m", h, w, c,
                 c_int(e, n->aug.crop_h), c_int(e, n->aug.crop_w));
    P("  }\n");
    return;
  }
  P("  } else { /* the identity in evaluation */\n");
  P("    memcpy(%s, %s, sizeof(float) * %s);\n  }\n", O, IN(0), c_count(e, n));
}

static void emit_add(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, add_forward, NULL, O, IN(0), IN(1), c_count(e, n));
}

static void emit_concat(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, concat_forward, NULL, O, IN(0), IN(1), c_rows(e, n),
            c_int(e, c_last_dim(n->in[0])), c_int(e, c_last_dim(n->in[1])));
}

static void emit_im2col(Emitter *e, const IrNode *n) {
  if (chunked(n))
    return;
  EMIT_CALL(e, im2col,
            arena_printf(e->g->arena, "%s: the %dx%d window under each output pixel",
                         c_shape(e, n), n->win.kh, n->win.kw),
            O, IN(0), "m", c_window(e, n));
}

/* A convolution kept whole (lower.c: nnc built with oneDNN): one call each
 * for it and its two gradients, no columns. */
static void emit_conv2d(Emitter *e, const IrNode *n) {
  const char *what = arena_printf(e->g->arena, "%s -> %s: %dx%d, %d filters%s%s (oneDNN)",
                                  c_shape(e, n->in[0]), c_shape(e, n), n->win.kh, n->win.kw,
                                  n->units, n->has_bias ? ", + bias, " : "",
                                  n->has_bias ? ir_act_name(n->act) : "");
  EMIT_CALL(e, conv2d_direct_forward, what, O, IN(0), IN(1), n->has_bias ? IN(2) : "NULL", "m",
            c_window(e, n), c_int(e, n->units), ACT_ARGS);
}

static void emit_conv2d_grad_x(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, conv2d_direct_backward_x, NULL, O, IN(0), IN(1), "m", c_window(e, n),
            c_int(e, n->forward->units));
}

/* and the bias's gradient when it is the side output (fusion rule 6) */
static void emit_conv2d_grad_w(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, conv2d_direct_backward_w, NULL, O, n->mask ? c_name(e, n->mask) : "NULL", IN(0),
            IN(1), "m", c_window(e, n), c_int(e, n->forward->units));
}

/* out (m, oh, ow, c * dm): each channel under its own dm kh x kw filters */
static void emit_depthwise(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, depthwise_forward,
            arena_printf(e->g->arena, "%s -> %s: %dx%d per channel", c_shape(e, n->in[0]),
                         c_shape(e, n), n->win.kh, n->win.kw),
            O, IN(0), IN(1), "m", c_window(e, n), c_int(e, n->depth_multiplier));
  if (n->has_bias)
    EMIT_CALL(e, bias_act_forward,
              arena_printf(e->g->arena, "epilogue: + bias, %s", ir_act_name(n->act)), O, IN(2),
              c_rows(e, n), c_int(e, c_last_dim(n)), ACT_ARGS);
}

/* the image sizes the spatial kernels take: "m, h, w, c" of an (m, h, w, c) tensor */
#define IMAGE(x) "m", c_int(e, (x)->dims[0]), c_int(e, (x)->dims[1]), c_int(e, (x)->dims[2])
#define PAD_ARGS c_int(e, n->pad.top), c_int(e, n->pad.bottom), c_int(e, n->pad.left), \
                 c_int(e, n->pad.right)

static void emit_zero_pad(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, zero_pad_forward,
            arena_printf(e->g->arena, "%s -> %s", c_shape(e, n->in[0]), c_shape(e, n)), O, IN(0),
            IMAGE(n->in[0]), PAD_ARGS);
}

static void emit_zero_pad_grad(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, zero_pad_backward, NULL, O, IN(0), IMAGE(n), PAD_ARGS);
}

static void emit_upsample(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, upsample_nearest_forward,
            arena_printf(e->g->arena, "%s -> %s", c_shape(e, n->in[0]), c_shape(e, n)), O, IN(0),
            IMAGE(n->in[0]), c_int(e, n->upsample.sy), c_int(e, n->upsample.sx));
}

static void emit_upsample_grad(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, upsample_nearest_backward, NULL, O, IN(0), IMAGE(n), c_int(e, n->upsample.sy),
            c_int(e, n->upsample.sx));
}

#undef IMAGE
#undef PAD_ARGS

static const char *pool_comment(Emitter *e, const IrNode *n) {
  return arena_printf(e->g->arena, "%s -> %s", c_shape(e, n->in[0]), c_shape(e, n));
}

static void emit_maxpool(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, maxpool_forward, pool_comment(e, n), O, IN(0), "m", c_window(e, n));
}

static void emit_avgpool(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, avgpool_forward, pool_comment(e, n), O, IN(0), "m", c_window(e, n));
}

/* (m, h*w, c) seen as positions x channels */
static const char *positions(Emitter *e, const IrNode *x) {
  return c_size(e, ir_elems(x) / (size_t)c_last_dim(x));
}

static void emit_gap(Emitter *e, const IrNode *n) {
  const IrNode *x = n->in[0];
  EMIT_CALL(e, global_avgpool_forward, NULL, O, IN(0), "m", positions(e, x),
            c_int(e, c_last_dim(x)));
}

static void emit_batchnorm(Emitter *e, const IrNode *n) {
  const IrNode *x = n->in[0];
  const char *rows = c_rows(e, x), *c = c_int(e, c_last_dim(x));
  const char *eps = c_float(e, n->bn.epsilon);
  if (n->bn.frozen) { /* trainable=false: Keras runs a frozen BatchNormalization in inference mode */
    P("  (void)training; /* frozen: the moving statistics, also while training */\n");
    EMIT_CALL(e, batchnorm_eval_forward, NULL, O, IN(0), IN(1), IN(2), IN(3), IN(4), rows, c, eps);
    return;
  }
  P("  if (training) /* batch statistics; moving = moving * %g + batch * (1 - %g) */\n",
    n->bn.momentum, n->bn.momentum);
  _Static_assert(RTK_NARGS_batchnorm_sync_train_forward == RTK_NARGS_batchnorm_train_forward,
                 "the synchronized kernel takes the local one's arguments");
  const char *const args[] = {O, c_name(e, n->xhat), c_name(e, n->stats), IN(0), IN(1), IN(2),
                              IN(3), IN(4), rows, c, c_float(e, n->bn.momentum), eps};
  /* synchronized: the statistics of the global batch (under mpirun) */
  emit_call(e, "    ", NULL,
            n->bn.synchronized ? RTK_batchnorm_sync_train_forward : RTK_batchnorm_train_forward,
            NULL, RTK_NARGS_batchnorm_train_forward, args);
  P("  else /* moving statistics */\n");
  EMIT_CALL_AT(e, "    ", NULL, batchnorm_eval_forward, NULL, O, IN(0), IN(1), IN(2), IN(3),
               IN(4), rows, c, eps);
}

static void emit_softmax(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, softmax_forward, NULL, O, IN(0), "m", c_int(e, c_last_dim(n)));
}

/* The class weights of a weighted loss: the batch's while training, none in evaluation. */
static const char *loss_weights(const IrNode *n) {
  return n->n_in > 2 ? "training ? batch_sample_weights : NULL" : "NULL";
}

static void emit_xent(Emitter *e, const IrNode *n) {
  EMIT_CALL_AT(e, "  ", "loss_sum = ", crossentropy_forward, NULL, IN(0), IN(1), loss_weights(n),
               c_float(e, n->smoothing), "m", "N_CLASSES");
}

static void emit_softmax_xent(Emitter *e, const IrNode *n) {
  EMIT_CALL_AT(e, "  ", "loss_sum = ", softmax_xent_forward, NULL, O, IN(0), IN(1),
               loss_weights(n), c_float(e, n->smoothing), "m", "N_CLASSES");
}

static void emit_bxent(Emitter *e, const IrNode *n) {
  EMIT_CALL_AT(e, "  ", "loss_sum = ", binary_xent_forward, NULL, IN(0), IN(1),
               c_float(e, n->smoothing), "m", c_int(e, c_last_dim(n->in[0])));
}

static void emit_sigmoid_bxent(Emitter *e, const IrNode *n) {
  EMIT_CALL_AT(e, "  ", "loss_sum = ", sigmoid_xent_forward, NULL, O, IN(0), IN(1),
               c_float(e, n->smoothing), "m", c_int(e, c_last_dim(n->in[0])));
}

/* dx (rows, k) = dout (rows, n) . w^T */
static void emit_matmul_grad_x(Emitter *e, const IrNode *n) {
  const IrNode *a = n->in[0];
  int k = c_last_dim(n), nn = c_last_dim(a);
  if (chunked(n))
    return; /* col2im's call computes it */
  EMIT_CALL(e, matmul_backward_x,
            arena_printf(e->g->arena, "%s = %s . (%d, %d)^T", c_shape(e, n), c_shape(e, a), k, nn),
            O, IN(0), IN(1), c_rows(e, n), c_int(e, k), c_int(e, nn));
}

/* dw (k, n) = x^T . dout */
static void emit_matmul_grad_w(Emitter *e, const IrNode *n) {
  const IrNode *a = n->in[0], *b = n->in[1];
  int k = c_last_dim(a), nn = c_last_dim(b);
  if (chunked(a)) {
    EMIT_CALL(e, conv2d_backward_w, chunk_note(e, a), O, c_name(e, a->in[0]), IN(1), IN(0), "m",
              c_int(e, a->chunk), c_window(e, a), c_int(e, nn));
    return;
  }
  EMIT_CALL(e, matmul_backward_w,
            arena_printf(e->g->arena, "%s = %s^T . %s", c_shape(e, n), c_shape(e, a),
                         c_shape(e, b)),
            O, IN(0), IN(1), c_rows(e, a), c_int(e, k), c_int(e, nn));
}

static void emit_bias_grad(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, bias_backward, NULL, O, IN(0), c_rows(e, n->in[0]), c_int(e, c_last_dim(n)));
}

static void emit_act_grad(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, act_backward, NULL, O, IN(0), IN(1), c_count(e, n), ACT_ARGS);
}

static void emit_dropout_grad(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, dropout_backward, NULL, O, IN(0), IN(1), c_count(e, n));
}

static void emit_act_dropout_grad(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, act_dropout_backward, NULL, O, IN(0), IN(1), IN(2), c_count(e, n), ACT_ARGS);
}

static void emit_softmax_grad(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, softmax_backward, NULL, O, IN(0), IN(1), "m", c_int(e, c_last_dim(n)));
}

/* The gradient's sample weights (a plain input of the backward node), or NULL. */
static const char *grad_weights(Emitter *e, const IrNode *n) {
  return n->n_in > 2 ? IN(2) : "NULL";
}

static void emit_xent_grad(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, crossentropy_backward, NULL, O, IN(0), IN(1), grad_weights(e, n),
            c_float(e, n->smoothing), "1.0f / (float)m", "m", "N_CLASSES");
}

static void emit_softmax_xent_grad(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, softmax_xent_backward, NULL, O, IN(0), IN(1), grad_weights(e, n),
            c_float(e, n->smoothing), "1.0f / (float)m", "m", "N_CLASSES");
}

static void emit_bxent_grad(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, binary_xent_backward, NULL, O, IN(0), IN(1), c_float(e, n->smoothing),
            "1.0f / (float)m", "m", c_int(e, c_last_dim(n)));
}

static void emit_sigmoid_bxent_grad(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, sigmoid_xent_backward, NULL, O, IN(0), IN(1), c_float(e, n->smoothing),
            "1.0f / (float)m", "m", c_int(e, c_last_dim(n)));
}

static void emit_accumulate(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, add_forward, "two gradient contributions", O, IN(0), IN(1), c_count(e, n));
}

static void emit_rescale_grad(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, rescale_backward, NULL, O, IN(0), c_float(e, n->rescale.scale), c_count(e, n));
}

static void emit_col2im(Emitter *e, const IrNode *n) {
  const IrNode *dcols = n->in[0];
  if (chunked(dcols)) /* dcols = dout . kernel^T, a chunk at a time */
    EMIT_CALL(e, conv2d_backward_x, chunk_note(e, dcols), O, c_name(e, dcols->in[0]),
              c_name(e, dcols->in[1]), IN(0), "m", c_int(e, dcols->chunk), c_window(e, n),
              c_int(e, c_last_dim(dcols->in[0])));
  else
    EMIT_CALL(e, col2im, NULL, O, IN(0), "m", c_window(e, n));
}

static void emit_maxpool_grad(Emitter *e, const IrNode *n) {
  if (n->act == ACT_RELU) /* fused with the relu's gradient */
    EMIT_CALL(e, maxpool_relu_backward, NULL, O, IN(0), IN(1), "m", c_window(e, n));
  else
    EMIT_CALL(e, maxpool_backward, NULL, O, IN(0), IN(1), "m", c_window(e, n));
}

/* fuse.c rule 5: a first convolution, its bias and relu, and a tiling max
 * pool in one kernel; in = (cols, kernel[, bias]), mask = the winners */
/* The first convolution's window (its layer's, named after the kernel's
 * layer; the pooled node belongs to the pool's layer). */
static const char *c_conv_window(Emitter *e, const IrNode *pooled) {
  return arena_printf(e->g->arena, "&%s_window", c_ident(e, pooled->in[1]->layer));
}

static void emit_pooled_matmul(Emitter *e, const IrNode *n) {
  const Window *cw = &n->conv_win;
  EMIT_CALL(e, pooled_matmul_forward,
            arena_printf(e->g->arena,
                         "%s -> %s: act(conv %dx%d + b) at each output pixel, read from the "
                         "image, max over each %dx%d window",
                         c_shape(e, n->in[0]), c_shape(e, n), cw->kh, cw->kw, n->win.kh,
                         n->win.kw),
            O, c_name(e, n->mask), IN(0), IN(1), n->has_bias ? IN(2) : "NULL", "m",
            c_conv_window(e, n), c_window(e, n), c_rt_act(n->act));
}

/* in = (x, dpooled, pooled, winners): the kernel's gradient from the winners'
 * inputs, and the bias's (its side output, rule 5) */
static void emit_pooled_matmul_grad_w(Emitter *e, const IrNode *n) {
  const IrNode *pooled = n->in[2];
  EMIT_CALL(e, pooled_matmul_backward_w, NULL, O, n->mask ? c_name(e, n->mask) : "NULL", IN(0),
            IN(1), IN(2), IN(3), "m", c_conv_window(e, pooled), c_window(e, pooled),
            c_rt_act(pooled->act));
}

static void emit_avgpool_grad(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, avgpool_backward, NULL, O, IN(0), "m", c_window(e, n));
}

static void emit_gap_grad(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, global_avgpool_backward, NULL, O, IN(0), "m", positions(e, n),
            c_int(e, c_last_dim(n)));
}

static void emit_bn_grad_gamma(Emitter *e, const IrNode *n) {
  const IrNode *a = n->in[0];
  EMIT_CALL(e, batchnorm_backward_gamma, NULL, O, IN(0), IN(1), c_rows(e, a),
            c_int(e, c_last_dim(a)));
}

static void emit_bn_grad_x(Emitter *e, const IrNode *n) {
  _Static_assert(RTK_NARGS_batchnorm_sync_backward_x == RTK_NARGS_batchnorm_backward_x,
                 "the synchronized kernel takes the local one's arguments");
  const char *const args[] = {O, IN(0), IN(1), IN(2), IN(3), c_rows(e, n),
                              c_int(e, c_last_dim(n))};
  /* synchronized: the two sums over every rank (under mpirun) */
  emit_call(e, "  ", NULL,
            n->bn.synchronized ? RTK_batchnorm_sync_backward_x : RTK_batchnorm_backward_x, NULL,
            RTK_NARGS_batchnorm_backward_x, args);
}

/* a frozen batch norm (inference mode): dx = dout gamma / sqrt(moving_var + eps) */
static void emit_bn_eval_grad_x(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, batchnorm_eval_backward_x, NULL, O, IN(0), IN(1), IN(2), c_rows(e, n),
            c_int(e, c_last_dim(n)), c_float(e, n->bn.epsilon));
}

static void emit_depthwise_grad_x(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, depthwise_backward_x, NULL, O, IN(0), IN(1), "m", c_window(e, n),
            c_int(e, n->depth_multiplier));
}

static void emit_depthwise_grad_w(Emitter *e, const IrNode *n) {
  EMIT_CALL(e, depthwise_backward_w, NULL, O, IN(0), IN(1), "m", c_window(e, n),
            c_int(e, n->depth_multiplier));
}

static void emit_concat_grad(Emitter *e, const IrNode *n) {
  const IrNode *a = n->in[0];
  EMIT_CALL(e, concat_backward, NULL, O, IN(0), c_rows(e, a), c_int(e, c_last_dim(a)),
            c_int(e, n->concat_offset), c_int(e, c_last_dim(n)));
}

#undef O
#undef IN
#undef ACT_ARGS

typedef void (*EmitRule)(Emitter *e, const IrNode *n);

static const EmitRule EMIT_RULES[IR_OP_COUNT] = {
#define OP(id, name, kind, min_in, max_in, flags, shape, grad, lower, emit, export, onnx) [IR_##id] = emit,
#include "ops.def"
#undef OP
};

static void emit_node(Emitter *e, const IrNode *n) {
  if (!EMIT_RULES[n->op])
    NNC_BUG("no emitter for %s (an op lower.c should have rewritten?)", ir_op_name(n->op));
  EMIT_RULES[n->op](e, n);
}

static void emit_window(Emitter *e, const char *layer, const Window *w) {
  P("static const RtWindow %s_window = {.h = %d, .w = %d, .c = %d, .oh = %d, .ow = %d, "
    ".kh = %d, .kw = %d,\n    .sh = %d, .sw = %d, .pad_top = %d, .pad_left = %d}; /* %s */\n",
    c_ident(e, layer), w->h, w->w, w->c, w->oh, w->ow, w->kh, w->kw, w->sh, w->sw, w->pad_top,
    w->pad_left, w->same ? "padding same" : "padding valid");
}

/* static const RtWindow <layer>_window = {...}: the geometry of each window
 * (a pooled_matmul also carries its convolution's, fusion rule 5) */
void emit_windows(Emitter *e) {
  const Graph *g = e->g;
  bool any = false;
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (!(ir_op_info(n->op)->flags & OPF_WINDOW) || n->backward)
      continue; /* gradients and recomputed columns use their forward layer's window */
    if (!any)
      P("/* window geometry (NHWC; 'same' padding puts the extra pixel after) */\n");
    any = true;
    if (n->op == IR_POOLED_MATMUL)
      emit_window(e, n->in[1]->layer, &n->conv_win);
    emit_window(e, n->layer, &n->win);
  }
  if (any)
    P("\n");
}

/* ---- layer functions: consecutive nodes of one layer form one function ---- */

/* Ops that run code: not sources, not views (a reshape is a view: no code). */
static bool is_compute(const IrNode *n) {
  const OpInfo *op = ir_op_info(n->op);
  return op->kind != OPK_SOURCE && !(op->flags & OPF_VIEW);
}


/* Groups consecutive compute nodes with the same layer and direction. */
int emit_make_groups(Emitter *e, bool backward, Group *groups, int max) {
  const Graph *g = e->g;
  int n = 0;
  for (int i = 0; i < g->n_nodes;) {
    const IrNode *node = g->nodes[i];
    if (!is_compute(node) || node->backward != backward) {
      i++;
      continue;
    }
    int j = i + 1;
    while (j < g->n_nodes && (!is_compute(g->nodes[j]) ||
                              (g->nodes[j]->backward == backward &&
                               !strcmp(g->nodes[j]->layer, node->layer))))
      j++;
    if (n == max)
      NNC_BUG("too many layer groups");
    const char *base = arena_printf(g->arena, "%s_%s", node->layer,
                                    backward ? "backward" : "forward");
    const char *fn = base;
    for (int k = 0, dup = 1; k < n; k++)
      if (!strcmp(groups[k].fn, fn))
        fn = arena_printf(g->arena, "%s_%d", base, ++dup), k = -1;
    groups[n++] = (Group){i, j, fn};
    i = j;
  }
  return n;
}

static const char *layer_kind(const Graph *g, const char *layer) {
  for (int i = 0; i < g->n_layers; i++)
    if (!strcmp(g->layer_names[i], layer))
      return g->layer_kinds[i];
  return layer;
}

/* A dense layer whose input needs no gradient (autodiff skipped dx). */
static bool skips_input_grad(const Graph *g, const char *layer) {
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->op == IR_MATMUL && !strcmp(n->layer, layer) && !n->in[0]->requires_grad)
      return true;
  }
  return false;
}

static void emit_group(Emitter *e, const Group *gr, bool backward) {
  const Graph *g = e->g;
  const IrNode *first = g->nodes[gr->start];
  P("/* %s: %s layer '%s' (%s line %d)", gr->fn, layer_kind(g, first->layer), first->layer,
    e->opt->source_path, first->loc.first_line);
  for (int i = gr->start; i < gr->end; i++)
    if (g->nodes[i]->fused)
      P("\n   fused: %s", g->nodes[i]->fused);
  P(" */\n");
  P("static void %s(int m%s) {\n", gr->fn, backward ? "" : ", int training");
  bool uses_training = false;
  for (int i = gr->start; i < gr->end; i++)
    uses_training |= (ir_op_info(g->nodes[i]->op)->flags & OPF_TRAINING) ||
                     (ir_is_loss(g->nodes[i]->op) && g->nodes[i]->n_in > 2); /* weights */
  if (!backward && !uses_training)
    P("  (void)training;\n");
  for (int i = gr->start; i < gr->end; i++) {
    const IrNode *n = g->nodes[i];
    if (is_compute(n)) /* a forward op recomputed in backward (memplan.c) by its own rule */
      emit_node(e, n);
  }
  if (backward && skips_input_grad(g, first->layer))
    P("  /* no gradient for this layer's input: nothing before it is trainable */\n");
  P("}\n\n");
}

void emit_layers(Emitter *e, Group *fw, int n_fw, Group *bw, int n_bw) {
  P("/* ===== layers ===== */\n\n");
  P("static RtRng dropout_rng; /* dropout masks */\n");
  if (graph_augments(e->g))
    P("static RtRng augment_rng; /* the augmentation layers' draws */\n");
  P("static float learning_rate = LEARNING_RATE; /* %s */\n",
    e->prog->reduce_lr.enabled     ? "lowered by reduce_lr_on_plateau"
    : e->prog->schedule != SCHED_CONSTANT ? "set by the schedule every step"
                                          : "constant");
  P("static double loss_sum;   /* sum over the batch of (weighted) per-example losses */\n\n");
  for (int i = 0; i < n_fw; i++)
    emit_group(e, &fw[i], false);
  for (int i = 0; i < n_bw; i++)
    emit_group(e, &bw[i], true);
}

/* ---- model-level functions ---- */

/* Is the gradient of trainable parameter p complete after backward group gr?
 * (NULL: after every group and the l2 terms, where the rest are.) Its
 * last write is its gradient node, or the l2 term added after all groups. */
static bool grad_done_in(const Graph *g, const IrNode *p, const Group *gr) {
  int at = -1; /* where it is computed: its own node, or the one it is a side output of */
  for (int i = 0; i < g->n_nodes && at < 0; i++)
    if ((g->nodes[i] == p->grad && is_compute(p->grad)) || g->nodes[i]->mask == p->grad)
      at = i;
  bool late = p->l2 > 0 || at < 0; /* done after every group */
  return gr ? !late && at >= gr->start && at < gr->end : late;
}

static void emit_grads_ready(Emitter *e, const Group *gr) {
  const Graph *g = e->g;
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->op == IR_PARAM && n->grad && grad_done_in(g, n, gr))
      EMIT_CALL(e, grads_ready, NULL, c_name(e, n->grad), c_size(e, ir_elems(n)));
  }
}

/* One update per trainable tensor, the hyper-parameters baked in. */
static void emit_update(Emitter *e, const IrNode *n) {
  const Program *p = e->prog;
  size_t off = n->offset / 4, count = ir_elems(n);
  const char *w = c_name(e, n), *grad = n->grad ? c_name(e, n->grad) : "grads";
  const char *n_values = c_size(e, count);
  Arena *a = e->g->arena;
  if (p->clipnorm > 0 && n->grad)
    EMIT_CALL(e, clip_by_norm, "clipnorm", grad, n_values, c_float(e, p->clipnorm));
  switch (p->optimizer) {
  case OPT_ADAM:
    EMIT_CALL(e, adam_update, NULL, w, grad, arena_printf(a, "adam_m + %zu", off),
              arena_printf(a, "adam_v + %zu", off), n_values, "learning_rate",
              c_float(e, p->beta1), c_float(e, p->beta2), c_float(e, p->epsilon), "t");
    break;
  case OPT_ADAMW:
    EMIT_CALL(e, adamw_update, NULL, w, grad, arena_printf(a, "adam_m + %zu", off),
              arena_printf(a, "adam_v + %zu", off), n_values, "learning_rate",
              c_float(e, p->beta1), c_float(e, p->beta2), c_float(e, p->epsilon),
              c_float(e, p->weight_decay), "t");
    break;
  case OPT_RMSPROP:
    EMIT_CALL(e, rmsprop_update, NULL, w, grad, arena_printf(a, "rmsprop_v + %zu", off), n_values,
              "learning_rate", c_float(e, p->rho), c_float(e, p->epsilon));
    break;
  case OPT_SGD:
    EMIT_CALL(e, sgd_update, NULL, w, grad, arena_printf(a, "sgd_velocity + %zu", off), n_values,
              "learning_rate", c_float(e, p->momentum), c_int(e, p->nesterov));
    break;
  }
}

/* The learning rate of optimizer step t (Keras counts steps from 0: step = t - 1). */
static void emit_schedule(Emitter *e) {
  const Program *p = e->prog;
  switch (p->schedule) {
  case SCHED_CONSTANT:
    if (p->optimizer != OPT_ADAM && p->optimizer != OPT_ADAMW)
      P("  (void)t;\n");
    return;
  case SCHED_EXPONENTIAL:
    P("  /* ExponentialDecay: %g^(step / %ld)%s */\n", p->decay_rate, p->decay_steps,
      p->staircase ? " floored" : "");
    EMIT_CALL_AT(e, "  ", "learning_rate = (float)", exponential_decay, NULL, "LEARNING_RATE",
                 "t - 1", c_int(e, p->decay_steps), arena_printf(e->g->arena, "%.17g", p->decay_rate),
                 c_int(e, p->staircase));
    return;
  case SCHED_PIECEWISE:
    P("  /* PiecewiseConstantDecay: values[i] while step <= boundaries[i] */\n");
    P("  static const long boundaries[%d] = {", p->n_boundaries);
    for (int i = 0; i < p->n_boundaries; i++)
      P("%s%ld", i ? ", " : "", p->boundaries[i]);
    P("};\n  static const double values[%d] = {", p->n_boundaries + 1);
    for (int i = 0; i <= p->n_boundaries; i++)
      P("%s%.17g", i ? ", " : "", p->values[i]);
    P("};\n");
    EMIT_CALL_AT(e, "  ", "learning_rate = (float)", piecewise_constant, NULL, "t - 1",
                 "boundaries", "values", c_int(e, p->n_boundaries));
    return;
  case SCHED_COSINE:
    P("  /* CosineDecay over %ld steps to %g of the peak", p->decay_steps, p->alpha);
    if (p->warmup_steps)
      P(", after %ld warmup steps to %g", p->warmup_steps, p->warmup_target);
    P(" */\n");
    EMIT_CALL_AT(e, "  ", "learning_rate = (float)", cosine_decay, NULL, "LEARNING_RATE", "t - 1",
                 c_int(e, p->decay_steps), arena_printf(e->g->arena, "%.17g", p->alpha),
                 arena_printf(e->g->arena, "%.17g", p->warmup_target), c_int(e, p->warmup_steps));
    return;
  }
}

/* global_clipnorm: every trainable gradient scaled together, before the updates. */
static void emit_global_clip(Emitter *e) {
  const Graph *g = e->g;
  P("  /* global_clipnorm: the norm of all gradients together is at most %g */\n",
    e->prog->global_clipnorm);
  P("  float *const all_grads[] = {");
  int n = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->op == IR_PARAM && g->nodes[i]->trainable && g->nodes[i]->grad)
      P("%s%s", n++ ? ", " : "", c_name(e, g->nodes[i]->grad));
  P("};\n  static const size_t all_counts[] = {");
  n = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->op == IR_PARAM && g->nodes[i]->trainable && g->nodes[i]->grad)
      P("%s%zu", n++ ? ", " : "", ir_elems(g->nodes[i]));
  P("};\n");
  EMIT_CALL(e, clip_by_global_norm, NULL, "all_grads", "all_counts", c_int(e, n),
            c_float(e, e->prog->global_clipnorm));
}

static void emit_optimizer_step(Emitter *e) {
  const Program *p = e->prog;
  switch (p->optimizer) {
  case OPT_ADAM:
  case OPT_ADAMW:
    P("/* Keras %s (lr %g, beta_1 %g, beta_2 %g, epsilon %g", p->optimizer == OPT_ADAM ? "Adam" :
      "AdamW", p->learning_rate, p->beta1, p->beta2, p->epsilon);
    if (p->optimizer == OPT_ADAMW)
      P(", weight_decay %g", p->weight_decay);
    P("), step t from 1. */\n");
    break;
  case OPT_RMSPROP:
    P("/* Keras RMSprop (lr %g, rho %g, epsilon %g). */\n", p->learning_rate, p->rho, p->epsilon);
    break;
  case OPT_SGD:
    P("/* Keras SGD (lr %g, momentum %g%s). */\n", p->learning_rate, p->momentum,
      p->nesterov ? ", nesterov" : "");
    break;
  }
  P("static void optimizer_step(long t) {\n");
  emit_schedule(e);
  if (p->global_clipnorm > 0)
    emit_global_clip(e);
  for (int i = 0; i < e->g->n_nodes; i++)
    if (e->g->nodes[i]->op == IR_PARAM && e->g->nodes[i]->trainable)
      emit_update(e, e->g->nodes[i]);
  P("}\n\n");
}

void emit_model_functions(Emitter *e, Group *fw, int n_fw, Group *bw, int n_bw) {
  const Graph *g = e->g;
  P("/* ===== the model ===== */\n\n");
  P("/* Forward pass over the m <= BATCH examples in the batch block; sets loss_sum. */\n");
  bool regularized = false;
  for (int i = 0; i < g->n_nodes; i++)
    regularized |= g->nodes[i]->op == IR_PARAM && g->nodes[i]->l2 > 0;
  if (regularized) {
    P("/* Keras adds the kernel regularizers' penalties to the loss: sum of lambda ||w||^2. */\n");
    P("static double regularization_loss(void) {\n  double penalty = 0;\n");
    for (int i = 0; i < g->n_nodes; i++) {
      const IrNode *n = g->nodes[i];
      if (n->op == IR_PARAM && n->l2 > 0)
        EMIT_CALL_AT(e, "  ", "penalty += ", l2_penalty, NULL, c_name(e, n), c_size(e, ir_elems(n)),
                     c_float(e, n->l2));
    }
    P("  return penalty;\n}\n\n");
  }
  P("static void model_forward(int m, int training) {\n");
  for (int i = 0; i < n_fw; i++)
    P("  %s(m, training);\n", fw[i].fn);
  if (regularized)
    P("  loss_sum += m * regularization_loss(); /* per example, like the data loss */\n");
  P("}\n\n");
  P("/* Backward pass: every parameter gradient, overwritten (one step = one batch);\n"
    " * rt_grads_ready after the layer that completes one (under mpirun its bucket's\n"
    " * allreduce may start while the layers below run). */\n");
  P("static void model_backward(int m) {\n");
  for (int i = 0; i < n_bw; i++) {
    P("  %s(m);\n", bw[i].fn);
    emit_grads_ready(e, &bw[i]);
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->op == IR_PARAM && n->l2 > 0 && n->grad)
      EMIT_CALL(e, l2_backward, "kernel_regularizer=l2: + 2 lambda w", c_name(e, n->grad),
                c_name(e, n), c_size(e, ir_elems(n)), c_float(e, n->l2));
  }
  emit_grads_ready(e, NULL);
  P("}\n\n");
  emit_optimizer_step(e);
  P("/* Initial weights: glorot_uniform kernels, zero biases (Keras's defaults). */\n");
  P("static void init_params(RtRng *rng) {\n");
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->op != IR_PARAM || !n->init)
      continue;
    if (n->init == INIT_GLOROT_UNIFORM)
      EMIT_CALL(e, init_glorot_uniform, c_shape(e, n), c_name(e, n), c_size(e, ir_elems(n)),
                c_int(e, n->fan_in), c_int(e, n->fan_out), "rng");
    else if (n->init == INIT_ONES || n->init == INIT_ZEROS)
      EMIT_CALL(e, fill, c_shape(e, n), c_name(e, n), n->init == INIT_ONES ? "1.0f" : "0.0f",
                c_size(e, ir_elems(n)));
  }
  P("}\n\n");
}

