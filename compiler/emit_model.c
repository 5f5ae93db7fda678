/*
 * emit_model.c — the model part of the generated C: one runtime kernel call
 * per IR node, grouped into <layer>_forward / <layer>_backward functions
 * that name their .nn line and what was fused, then model_forward,
 * model_backward, the optimizer step and init_params.
 */
#include "emit.h"

#include <string.h>

/* ---- one kernel call per IR node ---- */

static void emit_matmul(Emitter *e, const IrNode *n) {
  const IrNode *x = n->in[0];
  int k = c_last_dim(x), nn = n->units;
  P("  rt_matmul_forward(%s, %s, %s, %s, %d, %d); /* %s = %s . (%d, %d) */\n", c_name(e, n), c_name(e, x),
    c_name(e, n->in[1]), c_rows(e, x), k, nn, c_shape(e, n), c_shape(e, x), k, nn);
  if (n->has_bias)
    P("  rt_bias_act_forward(%s, %s, %s, %d, %s); /* epilogue: + bias, %s */\n", c_name(e, n),
      c_name(e, n->in[2]), c_rows(e, n), nn, c_act_args(e, n), ir_act_name(n->act));
}

static void emit_batchnorm(Emitter *e, const IrNode *n) {
  const IrNode *x = n->in[0];
  const char *o = c_name(e, n), *g = c_name(e, n->in[1]), *b = c_name(e, n->in[2]), *mm = c_name(e, n->in[3]),
             *mv = c_name(e, n->in[4]);
  P("  if (training) /* batch statistics; moving = moving * %g + batch * (1 - %g) */\n",
    n->scale, n->scale);
  P("    rt_batchnorm_train_forward(%s, %s, %s, %s, %s, %s, %s, %s, %s, %d, %s, %s);\n", o,
    c_name(e, n->aux), c_name(e, n->aux2), c_name(e, x), g, b, mm, mv, c_rows(e, x), c_last_dim(x),
    c_float(e, n->scale), c_float(e, n->shift));
  P("  else /* moving statistics */\n");
  P("    rt_batchnorm_eval_forward(%s, %s, %s, %s, %s, %s, %s, %d, %s);\n", o, c_name(e, x), g, b, mm,
    mv, c_rows(e, x), c_last_dim(x), c_float(e, n->shift));
}

static void emit_forward_node(Emitter *e, const IrNode *n) {
  const IrNode *x = n->n_in ? n->in[0] : NULL;
  const char *o = c_name(e, n);
  switch (n->op) {
  case IR_CAST:
    P("  rt_cast_u8_forward(%s, %s, %s);\n", o, c_name(e, x), c_count(e, n));
    break;
  case IR_NORMALIZE: {
    int features = n->per_feature ? c_last_dim(x) : (int)ir_elems(x);
    size_t rows_per_example = ir_elems(x) / (size_t)features;
    P("  /* (x - mean) / max(sqrt(variance), 1e-7), fused with the uint8 -> float conversion */\n");
    P("  rt_normalize_u8_forward(%s, %s, %s, %s, m * %zu, %d, %d);\n", o, c_name(e, x),
      c_name(e, n->in[1]), c_name(e, n->in[2]), rows_per_example, features, n->per_feature);
    break;
  }
  case IR_RESCALE:
    if (x->dtype == DT_U8)
      P("  /* x * %g + %g, fused with the uint8 -> float conversion */\n"
        "  rt_rescale_u8_forward(%s, %s, %s, %s, %s);\n", n->scale, n->shift, o, c_name(e, x),
        c_float(e, n->scale), c_float(e, n->shift), c_count(e, n));
    else
      P("  rt_rescale_forward(%s, %s, %s, %s, %s);\n", o, c_name(e, x), c_float(e, n->scale),
        c_float(e, n->shift), c_count(e, n));
    break;
  case IR_MATMUL: emit_matmul(e, n); break;
  case IR_BIAS_ADD:
    P("  memcpy(%s, %s, sizeof(float) * %s);\n", o, c_name(e, x), c_count(e, n));
    P("  rt_bias_act_forward(%s, %s, %s, %d, RT_ACT_NONE, 0.0f);\n", o, c_name(e, n->in[1]),
      c_rows(e, n), c_last_dim(n));
    break;
  case IR_ACT:
    P("  rt_act_forward(%s, %s, %s, %s);\n", o, c_name(e, x), c_count(e, n), c_act_args(e, n));
    break;
  case IR_DROPOUT:
    P("  if (training) /* inverted dropout: zero with p = %g, scale the rest by 1/(1 - p) */\n",
      n->rate);
    P("    rt_dropout_forward(%s, %s, %s, %s, %s, &dropout_rng);\n", o, c_name(e, n->aux), c_name(e, x),
      c_float(e, n->rate), c_count(e, n));
    P("  else /* identity in evaluation */\n");
    P("    memcpy(%s, %s, sizeof(float) * %s);\n", o, c_name(e, x), c_count(e, n));
    break;
  case IR_ADD:
    P("  rt_add_forward(%s, %s, %s, %s);\n", o, c_name(e, x), c_name(e, n->in[1]), c_count(e, n));
    break;
  case IR_CONCAT:
    P("  rt_concat_forward(%s, %s, %s, %s, %d, %d);\n", o, c_name(e, x), c_name(e, n->in[1]),
      c_rows(e, n), c_last_dim(x), c_last_dim(n->in[1]));
    break;
  case IR_IM2COL:
    P("  rt_im2col(%s, %s, m, %s); /* %s: the %dx%d window under each output pixel */\n", o,
      c_name(e, x), c_window(e, n), c_shape(e, n), n->win.kh, n->win.kw);
    break;
  case IR_MAXPOOL:
  case IR_AVGPOOL:
    P("  rt_%s_forward(%s, %s, m, %s); /* %s -> %s */\n",
      n->op == IR_MAXPOOL ? "maxpool" : "avgpool", o, c_name(e, x), c_window(e, n), c_shape(e, x),
      c_shape(e, n));
    break;
  case IR_GAP:
    P("  rt_global_avgpool_forward(%s, %s, m, %zu, %d);\n", o, c_name(e, x), ir_elems(x) / (size_t)c_last_dim(x),
      c_last_dim(x));
    break;
  case IR_BATCHNORM: emit_batchnorm(e, n); break;
  case IR_SOFTMAX:
    P("  rt_softmax_forward(%s, %s, m, %d);\n", o, c_name(e, x), c_last_dim(n));
    break;
  case IR_XENT:
    P("  loss_sum = rt_crossentropy_forward(%s, %s, %s, %s, m, N_CLASSES);\n", c_name(e, x),
      c_name(e, n->in[1]), n->n_in > 2 ? "training ? batch_sample_weights : NULL" : "NULL",
      c_float(e, n->smoothing));
    break;
  case IR_SOFTMAX_XENT:
    P("  loss_sum = rt_softmax_xent_forward(%s, %s, %s, %s, %s, m, N_CLASSES);\n", o, c_name(e, x),
      c_name(e, n->in[1]), n->n_in > 2 ? "training ? batch_sample_weights : NULL" : "NULL",
      c_float(e, n->smoothing));
    break;
  case IR_BXENT:
    P("  loss_sum = rt_binary_xent_forward(%s, %s, %s, m, %d);\n", c_name(e, x), c_name(e, n->in[1]),
      c_float(e, n->smoothing), c_last_dim(x));
    break;
  case IR_SIGMOID_BXENT:
    P("  loss_sum = rt_sigmoid_xent_forward(%s, %s, %s, %s, m, %d);\n", o, c_name(e, x),
      c_name(e, n->in[1]), c_float(e, n->smoothing), c_last_dim(x));
    break;
  default: NNC_BUG("no forward emitter for %s", ir_op_name(n->op));
  }
}

static void emit_matmul_grad(Emitter *e, const IrNode *n) {
  const IrNode *a = n->in[0], *b = n->in[1];
  if (n->op == IR_MATMUL_GRAD_X) { /* dx (rows, k) = dout (rows, n) . w^T */
    int k = c_last_dim(n), nn = c_last_dim(a);
    P("  rt_matmul_backward_x(%s, %s, %s, %s, %d, %d); /* %s = %s . (%d, %d)^T */\n", c_name(e, n),
      c_name(e, a), c_name(e, b), c_rows(e, n), k, nn, c_shape(e, n), c_shape(e, a), k, nn);
  } else { /* dw (k, n) = x^T . dout */
    int k = c_last_dim(a), nn = c_last_dim(b);
    P("  rt_matmul_backward_w(%s, %s, %s, %s, %d, %d); /* %s = %s^T . %s */\n", c_name(e, n),
      c_name(e, a), c_name(e, b), c_rows(e, a), k, nn, c_shape(e, n), c_shape(e, a), c_shape(e, b));
  }
}

static void emit_backward_node(Emitter *e, const IrNode *n) {
  const IrNode *a = n->n_in ? n->in[0] : NULL, *b = n->n_in > 1 ? n->in[1] : NULL;
  const char *o = c_name(e, n);
  const char *w = n->n_in > 2 ? c_name(e, n->in[2]) : "NULL";
  switch (n->op) {
  case IR_MATMUL_GRAD_X:
  case IR_MATMUL_GRAD_W: emit_matmul_grad(e, n); break;
  case IR_BIAS_GRAD:
    P("  rt_bias_backward(%s, %s, %s, %d);\n", o, c_name(e, a), c_rows(e, a), c_last_dim(n));
    break;
  case IR_ACT_GRAD:
    P("  rt_act_backward(%s, %s, %s, %s, %s);\n", o, c_name(e, a), c_name(e, b), c_count(e, n),
      c_act_args(e, n));
    break;
  case IR_DROPOUT_GRAD:
    P("  rt_dropout_backward(%s, %s, %s, %s);\n", o, c_name(e, a), c_name(e, b), c_count(e, n));
    break;
  case IR_ACT_DROPOUT_GRAD:
    P("  rt_act_dropout_backward(%s, %s, %s, %s, %s, %s);\n", o, c_name(e, a), c_name(e, b),
      c_name(e, n->in[2]), c_count(e, n), c_act_args(e, n));
    break;
  case IR_SOFTMAX_GRAD:
    P("  rt_softmax_backward(%s, %s, %s, m, %d);\n", o, c_name(e, a), c_name(e, b), c_last_dim(n));
    break;
  case IR_XENT_GRAD:
    P("  rt_crossentropy_backward(%s, %s, %s, %s, %s, 1.0f / (float)m, m, N_CLASSES);\n", o,
      c_name(e, a), c_name(e, b), w, c_float(e, n->smoothing));
    break;
  case IR_SOFTMAX_XENT_GRAD:
    P("  rt_softmax_xent_backward(%s, %s, %s, %s, %s, 1.0f / (float)m, m, N_CLASSES);\n", o,
      c_name(e, a), c_name(e, b), w, c_float(e, n->smoothing));
    break;
  case IR_BXENT_GRAD:
    P("  rt_binary_xent_backward(%s, %s, %s, %s, 1.0f / (float)m, m, %d);\n", o, c_name(e, a),
      c_name(e, b), c_float(e, n->smoothing), c_last_dim(n));
    break;
  case IR_SIGMOID_BXENT_GRAD:
    P("  rt_sigmoid_xent_backward(%s, %s, %s, %s, 1.0f / (float)m, m, %d);\n", o, c_name(e, a),
      c_name(e, b), c_float(e, n->smoothing), c_last_dim(n));
    break;
  case IR_ACCUMULATE:
    P("  rt_add_forward(%s, %s, %s, %s); /* two gradient contributions */\n", o, c_name(e, a),
      c_name(e, b), c_count(e, n));
    break;
  case IR_RESCALE_GRAD:
    P("  rt_rescale_backward(%s, %s, %s, %s);\n", o, c_name(e, a), c_float(e, n->scale),
      c_count(e, n));
    break;
  case IR_COL2IM:
    P("  rt_col2im(%s, %s, m, %s);\n", o, c_name(e, a), c_window(e, n));
    break;
  case IR_MAXPOOL_GRAD:
    P("  rt_maxpool%s_backward(%s, %s, %s, m, %s);\n", n->act == ACT_RELU ? "_relu" : "", o,
      c_name(e, a), c_name(e, b), c_window(e, n));
    break;
  case IR_AVGPOOL_GRAD:
    P("  rt_avgpool_backward(%s, %s, m, %s);\n", o, c_name(e, a), c_window(e, n));
    break;
  case IR_GAP_GRAD:
    P("  rt_global_avgpool_backward(%s, %s, m, %zu, %d);\n", o, c_name(e, a),
      ir_elems(n) / (size_t)c_last_dim(n), c_last_dim(n));
    break;
  case IR_BN_GRAD_GAMMA:
    P("  rt_batchnorm_backward_gamma(%s, %s, %s, %s, %d);\n", o, c_name(e, a), c_name(e, b),
      c_rows(e, a), c_last_dim(a));
    break;
  case IR_BN_GRAD_X:
    P("  rt_batchnorm_backward_x(%s, %s, %s, %s, %s, %s, %d);\n", o, c_name(e, a), c_name(e, b),
      c_name(e, n->in[2]), c_name(e, n->in[3]), c_rows(e, n), c_last_dim(n));
    break;
  case IR_CONCAT_GRAD:
    P("  rt_concat_backward(%s, %s, %s, %d, %d, %d);\n", o, c_name(e, a), c_rows(e, a),
      c_last_dim(a), n->concat_offset, c_last_dim(n));
    break;
  case IR_RESHAPE:
    P("  /* %s: %s viewed as %s, no copy */\n", e->cname[n->id], c_shape(e, a), c_shape(e, n));
    break;
  default: NNC_BUG("no backward emitter for %s", ir_op_name(n->op));
  }
}

/* static const RtWindow <node>_window = {...}: the geometry of each window */
void emit_windows(Emitter *e) {
  const Graph *g = e->g;
  bool any = false;
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    IrOp op = n->op;
    if ((op != IR_IM2COL && op != IR_MAXPOOL && op != IR_AVGPOOL) || n->backward)
      continue; /* gradients and recomputed columns use their forward layer's window */
    const Window *w = &n->win;
    if (!any)
      P("/* window geometry (NHWC; 'same' padding puts the extra pixel after) */\n");
    any = true;
    P("static const RtWindow %s_window = {.h = %d, .w = %d, .c = %d, .oh = %d, .ow = %d, "
      ".kh = %d, .kw = %d,\n    .sh = %d, .sw = %d, .pad_top = %d, .pad_left = %d}; /* %s */\n",
      c_ident(e, n->layer), w->h, w->w, w->c, w->oh, w->ow, w->kh, w->kw, w->sh, w->sw, w->pad_top,
      w->pad_left, w->same ? "padding same" : "padding valid");
  }
  if (any)
    P("\n");
}

/* ---- layer functions: consecutive nodes of one layer form one function ---- */

static bool is_compute(const IrNode *n) {
  return n->op != IR_INPUT && n->op != IR_LABELS && n->op != IR_WEIGHTS && n->op != IR_PARAM &&
         n->op != IR_SCRATCH && n->op != IR_RESHAPE; /* a reshape is a view: no code */
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
    uses_training |= g->nodes[i]->op == IR_DROPOUT || g->nodes[i]->op == IR_BATCHNORM ||
                     (ir_is_loss(g->nodes[i]->op) && g->nodes[i]->n_in > 2);
  if (!backward && !uses_training)
    P("  (void)training;\n");
  for (int i = gr->start; i < gr->end; i++) {
    const IrNode *n = g->nodes[i];
    if (!is_compute(n))
      continue;
    if (backward && ir_is_backward_op(n->op))
      emit_backward_node(e, n);
    else /* forward, or a forward op recomputed in backward (memplan.c) */
      emit_forward_node(e, n);
  }
  if (backward && skips_input_grad(g, first->layer))
    P("  /* no gradient for this layer's input: nothing before it is trainable */\n");
  P("}\n\n");
}

void emit_layers(Emitter *e, Group *fw, int n_fw, Group *bw, int n_bw) {
  P("/* ===== layers ===== */\n\n");
  P("static RtRng dropout_rng; /* dropout masks */\n");
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

/* One update per trainable tensor, the hyper-parameters baked in. */
static void emit_update(Emitter *e, const IrNode *n) {
  const Program *p = e->prog;
  size_t off = n->offset / 4, count = ir_elems(n);
  const char *w = c_name(e, n), *grad = n->grad ? c_name(e, n->grad) : "grads";
  if (p->clipnorm > 0 && n->grad)
    P("  rt_clip_by_norm(%s, %zu, %s); /* clipnorm */\n", grad, count, c_float(e, p->clipnorm));
  switch (p->optimizer) {
  case OPT_ADAM:
    P("  rt_adam_update(%s, %s, adam_m + %zu, adam_v + %zu, %zu, learning_rate, %s, %s, %s, t);\n",
      w, grad, off, off, count, c_float(e, p->beta1), c_float(e, p->beta2),
      c_float(e, p->epsilon));
    break;
  case OPT_ADAMW:
    P("  rt_adamw_update(%s, %s, adam_m + %zu, adam_v + %zu, %zu, learning_rate, %s, %s, %s, %s, "
      "t);\n", w, grad, off, off, count, c_float(e, p->beta1), c_float(e, p->beta2),
      c_float(e, p->epsilon), c_float(e, p->weight_decay));
    break;
  case OPT_RMSPROP:
    P("  rt_rmsprop_update(%s, %s, rmsprop_v + %zu, %zu, learning_rate, %s, %s);\n", w, grad, off,
      count, c_float(e, p->rho), c_float(e, p->epsilon));
    break;
  case OPT_SGD:
    P("  rt_sgd_update(%s, %s, sgd_velocity + %zu, %zu, learning_rate, %s, %d);\n", w, grad, off,
      count, c_float(e, p->momentum), p->nesterov);
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
    P("  /* ExponentialDecay: %g^(step / %ld)%s */\n"
      "  learning_rate = (float)rt_exponential_decay(LEARNING_RATE, t - 1, %ld, %.17g, %d);\n",
      p->decay_rate, p->decay_steps, p->staircase ? " floored" : "", p->decay_steps,
      p->decay_rate, p->staircase);
    return;
  case SCHED_PIECEWISE:
    P("  /* PiecewiseConstantDecay: values[i] while step <= boundaries[i] */\n");
    P("  static const long boundaries[%d] = {", p->n_boundaries);
    for (int i = 0; i < p->n_boundaries; i++)
      P("%s%ld", i ? ", " : "", p->boundaries[i]);
    P("};\n  static const double values[%d] = {", p->n_boundaries + 1);
    for (int i = 0; i <= p->n_boundaries; i++)
      P("%s%.17g", i ? ", " : "", p->values[i]);
    P("};\n  learning_rate = (float)rt_piecewise_constant(t - 1, boundaries, values, %d);\n",
      p->n_boundaries);
    return;
  case SCHED_COSINE:
    P("  /* CosineDecay over %ld steps to %g of the peak", p->decay_steps, p->alpha);
    if (p->warmup_steps)
      P(", after %ld warmup steps to %g", p->warmup_steps, p->warmup_target);
    P(" */\n  learning_rate = (float)rt_cosine_decay(LEARNING_RATE, t - 1, %ld, %.17g, %.17g, "
      "%ld);\n", p->decay_steps, p->alpha, p->warmup_target, p->warmup_steps);
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
  P("};\n  rt_clip_by_global_norm(all_grads, all_counts, %d, %s);\n", n,
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
        P("  penalty += rt_l2_penalty(%s, %zu, %s);\n", c_name(e, n), ir_elems(n), c_float(e, n->l2));
    }
    P("  return penalty;\n}\n\n");
  }
  P("static void model_forward(int m, int training) {\n");
  for (int i = 0; i < n_fw; i++)
    P("  %s(m, training);\n", fw[i].fn);
  if (regularized)
    P("  loss_sum += m * regularization_loss(); /* per example, like the data loss */\n");
  P("}\n\n");
  P("/* Backward pass: every parameter gradient, overwritten (one step = one batch). */\n");
  P("static void model_backward(int m) {\n");
  for (int i = 0; i < n_bw; i++)
    P("  %s(m);\n", bw[i].fn);
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->op == IR_PARAM && n->l2 > 0 && n->grad)
      P("  rt_l2_backward(%s, %s, %zu, %s); /* kernel_regularizer=l2: + 2 lambda w */\n",
        c_name(e, n->grad), c_name(e, n), ir_elems(n), c_float(e, n->l2));
  }
  P("}\n\n");
  emit_optimizer_step(e);
  P("/* Initial weights: glorot_uniform kernels, zero biases (Keras's defaults). */\n");
  P("static void init_params(RtRng *rng) {\n");
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->op != IR_PARAM || !n->init)
      continue;
    if (!strcmp(n->init, "glorot_uniform"))
      P("  rt_init_glorot_uniform(%s, %zu, %d, %d, rng); /* %s */\n", c_name(e, n), ir_elems(n),
        n->fan_in, n->fan_out, c_shape(e, n));
    else if (!strcmp(n->init, "ones") || !strcmp(n->init, "zeros"))
      P("  rt_fill(%s, %s, %zu); /* %s */\n", c_name(e, n), n->init[0] == 'o' ? "1.0f" : "0.0f",
        ir_elems(n), c_shape(e, n));
  }
  P("}\n\n");
}

