/*
 * autodiff.c — reverse-mode automatic differentiation on the IR.
 *
 * Appends the backward graph to the schedule: starting from the loss, it
 * visits forward nodes in reverse order and applies each op's rule, which
 * creates backward nodes for the gradients of the op's inputs. A value used
 * twice gets an ACCUMULATE of its two gradient contributions. Only values
 * that depend on a trainable parameter get gradients (requires_grad), so no
 * work is spent on the input or the normalization statistics.
 *
 * Invariant after this pass: every trainable parameter P has P->grad, a
 * node with grad_of == P, shaped like P.
 */
#include "nnc.h"

#include <string.h>

typedef struct {
  Graph *g;
} Autodiff;

static void mark_requires_grad(Graph *g) {
  for (int i = 0; i < g->n_nodes; i++) {
    IrNode *n = g->nodes[i];
    n->requires_grad = n->op == IR_PARAM && n->trainable;
    for (int k = 0; k < n->n_in; k++)
      n->requires_grad |= n->in[k]->requires_grad;
  }
}

/* A backward node of forward node `fw`'s rule, shaped like `like` (the value
 * whose gradient it is). It keeps fw's layer, so the emitter puts it in that
 * layer's backward function. */
static IrNode *grad_node(Autodiff *ad, IrOp op, const IrNode *fw, const IrNode *like, int n_in,
                         IrNode *a, IrNode *b, IrNode *c) {
  IrNode *n = n_in == 1 ? ir_add(ad->g, op, fw->loc, fw->layer, 1, a)
            : n_in == 2 ? ir_add(ad->g, op, fw->loc, fw->layer, 2, a, b)
                        : ir_add(ad->g, op, fw->loc, fw->layer, 3, a, b, c);
  ir_set_shape(n, DT_F32, like->batched, like->rank, like->dims);
  n->backward = true;
  n->forward = fw;
  n->name = arena_printf(ad->g->arena, "d(%s)", like->name ? like->name : ir_op_name(like->op));
  return n;
}

/* Adds g to x's gradient, accumulating when x already has one. */
static void add_grad(Autodiff *ad, IrNode *x, IrNode *g) {
  if (!x->requires_grad)
    return;
  if (!x->grad) {
    x->grad = g;
    return;
  }
  x->grad = grad_node(ad, IR_ACCUMULATE, x, x, 2, x->grad, g, NULL);
}

/* d(loss)/d(probs) of the cross-entropy: the seed of the backward pass. */
static void grad_xent(Autodiff *ad, IrNode *n) {
  IrNode *p = n->in[0];
  IrNode *w = n->n_in > 2 ? n->in[2] : NULL;
  IrNode *g = w ? grad_node(ad, IR_XENT_GRAD, n, p, 3, p, n->in[1], w)
                : grad_node(ad, IR_XENT_GRAD, n, p, 2, p, n->in[1], NULL);
  g->smoothing = n->smoothing;
  add_grad(ad, p, g);
}

/* d(loss)/d(probs) of the binary cross-entropy: the seed with binary targets. */
static void grad_bxent(Autodiff *ad, IrNode *n) {
  IrNode *p = n->in[0];
  IrNode *g = grad_node(ad, IR_BXENT_GRAD, n, p, 2, p, n->in[1], NULL);
  g->smoothing = n->smoothing;
  add_grad(ad, p, g);
}

/* y = softmax(x): dx = y * (dy - sum(dy * y)) */
static void grad_softmax(Autodiff *ad, IrNode *n) {
  add_grad(ad, n->in[0], grad_node(ad, IR_SOFTMAX_GRAD, n, n->in[0], 2, n->grad, n, NULL));
}

/* y = act(x): dx = dy * act'(y), written in terms of the output y */
static void grad_act(Autodiff *ad, IrNode *n) {
  IrNode *g = grad_node(ad, IR_ACT_GRAD, n, n->in[0], 2, n->grad, n, NULL);
  g->act = n->act;
  g->alpha = n->alpha;
  add_grad(ad, n->in[0], g);
}

/* y = x + b: dx = dy, db = sum over the batch of dy */
static void grad_bias_add(Autodiff *ad, IrNode *n) {
  add_grad(ad, n->in[0], n->grad);
  if (n->in[1]->requires_grad)
    add_grad(ad, n->in[1], grad_node(ad, IR_BIAS_GRAD, n, n->in[1], 1, n->grad, NULL, NULL));
}

/* y = x . W: dW = x^T . dy, dx = dy . W^T (only when x needs a gradient) */
static void grad_matmul(Autodiff *ad, IrNode *n) {
  IrNode *x = n->in[0], *w = n->in[1];
  if (w->requires_grad)
    add_grad(ad, w, grad_node(ad, IR_MATMUL_GRAD_W, n, w, 2, x, n->grad, NULL));
  if (x->requires_grad)
    add_grad(ad, x, grad_node(ad, IR_MATMUL_GRAD_X, n, x, 2, n->grad, w, NULL));
}

/* y = x * mask: dx = dy * mask */
static void grad_dropout(Autodiff *ad, IrNode *n) {
  add_grad(ad, n->in[0], grad_node(ad, IR_DROPOUT_GRAD, n, n->in[0], 2, n->grad, n->mask, NULL));
}

/* y = reshape(x): dx = reshape(dy) back to x's shape (a view, no copy) */
static void grad_reshape(Autodiff *ad, IrNode *n) {
  IrNode *x = n->in[0];
  IrNode *g = ir_add(ad->g, IR_RESHAPE, n->loc, n->layer, 1, n->grad);
  ir_set_shape(g, DT_F32, x->batched, x->rank, x->dims);
  g->backward = true;
  g->forward = n;
  g->name = arena_printf(ad->g->arena, "d(%s)", x->name ? x->name : "reshape");
  add_grad(ad, x, g);
}

/* y = a + b: da = dy, db = dy */
static void grad_add(Autodiff *ad, IrNode *n) {
  add_grad(ad, n->in[0], n->grad);
  add_grad(ad, n->in[1], n->grad);
}

/* y = x * scale + offset: dx = dy * scale */
static void grad_rescale(Autodiff *ad, IrNode *n) {
  IrNode *g = grad_node(ad, IR_RESCALE_GRAD, n, n->in[0], 1, n->grad, NULL, NULL);
  g->rescale = n->rescale;
  add_grad(ad, n->in[0], g);
}

/* y = conv2d(x, W): dW = conv2d_grad_w(x, dy); dx = conv2d_grad_x(dy, W) only
 * when x needs a gradient (never for a first convolution on the input) */
static void grad_conv2d(Autodiff *ad, IrNode *n) {
  IrNode *x = n->in[0], *w = n->in[1];
  if (w->requires_grad) {
    IrNode *g = grad_node(ad, IR_CONV2D_GRAD_W, n, w, 2, x, n->grad, NULL);
    g->win = n->win;
    add_grad(ad, w, g);
  }
  if (x->requires_grad) {
    IrNode *g = grad_node(ad, IR_CONV2D_GRAD_X, n, x, 2, n->grad, w, NULL);
    g->win = n->win;
    add_grad(ad, x, g);
  }
}

/* y = depthwise(x, K): dK = depthwise_grad_w(dy, x); dx = depthwise_grad_x(dy, K) only
 * when x needs a gradient */
static void grad_depthwise(Autodiff *ad, IrNode *n) {
  IrNode *x = n->in[0], *w = n->in[1];
  if (w->requires_grad) {
    IrNode *g = grad_node(ad, IR_DEPTHWISE_GRAD_W, n, w, 2, n->grad, x, NULL);
    g->win = n->win;
    g->depth_multiplier = n->depth_multiplier;
    add_grad(ad, w, g);
  }
  if (x->requires_grad) {
    IrNode *g = grad_node(ad, IR_DEPTHWISE_GRAD_X, n, x, 2, n->grad, w, NULL);
    g->win = n->win;
    g->depth_multiplier = n->depth_multiplier;
    add_grad(ad, x, g);
  }
}

/* y = zero_pad(x): dx = the interior of dy */
static void grad_zero_pad(Autodiff *ad, IrNode *n) {
  IrNode *g = grad_node(ad, IR_ZERO_PAD_GRAD, n, n->in[0], 1, n->grad, NULL, NULL);
  g->pad = n->pad;
  add_grad(ad, n->in[0], g);
}

/* y = upsample(x): dx = the sum of dy over each pixel's sy x sx block */
static void grad_upsample(Autodiff *ad, IrNode *n) {
  IrNode *g = grad_node(ad, IR_UPSAMPLE_GRAD, n, n->in[0], 1, n->grad, NULL, NULL);
  g->upsample = n->upsample;
  add_grad(ad, n->in[0], g);
}

/* max pool: each window's gradient to its max (found again in x) */
static void grad_maxpool(Autodiff *ad, IrNode *n) {
  IrNode *g = grad_node(ad, IR_MAXPOOL_GRAD, n, n->in[0], 2, n->grad, n->in[0], NULL);
  g->win = n->win;
  add_grad(ad, n->in[0], g);
}

/* average pool: each window's gradient spread evenly over its valid cells */
static void grad_avgpool(Autodiff *ad, IrNode *n) {
  IrNode *g = grad_node(ad, IR_AVGPOOL_GRAD, n, n->in[0], 1, n->grad, NULL, NULL);
  g->win = n->win;
  add_grad(ad, n->in[0], g);
}

/* global average pool: dx = dy / (h w) at every position */
static void grad_gap(Autodiff *ad, IrNode *n) {
  add_grad(ad, n->in[0], grad_node(ad, IR_GAP_GRAD, n, n->in[0], 1, n->grad, NULL, NULL));
}

/* y = gamma xhat + beta: dgamma = sum(dy xhat), dbeta = sum(dy), dx from xhat and stats */
static void grad_batchnorm(Autodiff *ad, IrNode *n) {
  IrNode *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
  if (n->bn.frozen) { /* trainable=false: inference mode, dx = dy gamma / sqrt(var + eps) */
    if (!x->requires_grad)
      return;
    IrNode *g = ir_add(ad->g, IR_BN_EVAL_GRAD_X, n->loc, n->layer, 3, n->grad, gamma, n->in[4]);
    ir_set_shape(g, DT_F32, x->batched, x->rank, x->dims);
    g->backward = true;
    g->forward = n;
    g->bn.epsilon = n->bn.epsilon;
    g->name = arena_printf(ad->g->arena, "d(%s)", x->name ? x->name : "batch_norm.in");
    add_grad(ad, x, g);
    return;
  }
  if (gamma->requires_grad)
    add_grad(ad, gamma, grad_node(ad, IR_BN_GRAD_GAMMA, n, gamma, 2, n->grad, n->xhat, NULL));
  if (beta->requires_grad)
    add_grad(ad, beta, grad_node(ad, IR_BIAS_GRAD, n, beta, 1, n->grad, NULL, NULL));
  if (x->requires_grad) {
    IrNode *g = ir_add(ad->g, IR_BN_GRAD_X, n->loc, n->layer, 4, n->grad, n->xhat, gamma, n->stats);
    ir_set_shape(g, DT_F32, x->batched, x->rank, x->dims);
    g->bn.synchronized = n->bn.synchronized; /* its two sums over every rank too */
    g->backward = true;
    g->forward = n;
    g->name = arena_printf(ad->g->arena, "d(%s)", x->name ? x->name : "batch_norm.in");
    add_grad(ad, x, g);
  }
}

/* y = [a, b]: da and db are their columns of dy */
static void grad_concat(Autodiff *ad, IrNode *n) {
  int offset = 0;
  for (int k = 0; k < 2; k++) {
    IrNode *x = n->in[k];
    if (x->requires_grad) {
      IrNode *g = grad_node(ad, IR_CONCAT_GRAD, n, x, 1, n->grad, NULL, NULL);
      g->concat_offset = offset;
      add_grad(ad, x, g);
    }
    offset += x->dims[x->rank - 1];
  }
}

/* a parameter is a leaf: its gradient is complete */
static void grad_leaf(Autodiff *ad, IrNode *n) { (void)ad, (void)n; }

typedef void (*GradRule)(Autodiff *ad, IrNode *n);

/* ops.def's GRAD column */
static const GradRule GRAD_RULES[IR_OP_COUNT] = {
#define OP(id, name, kind, min_in, max_in, flags, shape, grad, lower, emit, export, onnx) [IR_##id] = grad,
#include "ops.def"
#undef OP
};

static void apply_rule(Autodiff *ad, IrNode *n) {
  if (!GRAD_RULES[n->op])
    NNC_BUG("no gradient rule for %s (it should not require a gradient)", ir_op_name(n->op));
  GRAD_RULES[n->op](ad, n);
}

bool autodiff(Graph *g, Diag *diag) {
  (void)diag;
  Autodiff ad = {.g = g};
  if (!g->loss || (g->loss->op != IR_XENT && g->loss->op != IR_BXENT))
    NNC_BUG("autodiff needs the unfused loss");
  mark_requires_grad(g);
  int n_forward = g->n_nodes;
  g->loss->requires_grad = true;
  if (g->loss->op == IR_XENT)
    grad_xent(&ad, g->loss);
  else
    grad_bxent(&ad, g->loss);
  for (int i = n_forward - 1; i >= 0; i--) {
    IrNode *n = g->nodes[i];
    if (n != g->loss && n->grad && n->requires_grad)
      apply_rule(&ad, n);
  }
  for (int i = 0; i < n_forward; i++) {
    IrNode *p = g->nodes[i];
    if (p->op == IR_PARAM && p->trainable && p->grad)
      p->grad->grad_of = p;
  }
  g->has_backward = true;
  return true;
}
