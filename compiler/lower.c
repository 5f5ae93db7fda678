/*
 * lower.c — rewrites the ops the C back end has no kernel for into ones it
 * has, per ops.def's LOWER column. Runs after autodiff (so the front of the
 * compiler, shapes and gradients, sees a convolution as one op) and before
 * fusion (so fusion sees the GEMMs the back end will run):
 *
 *   y  = conv2d(x, W)          -> cols = im2col(x); y = matmul(cols, W)
 *   dW = conv2d_grad_w(x, dy)  -> dW = matmul_grad_w(cols, dy)
 *   dx = conv2d_grad_x(dy, W)  -> dcols = matmul_grad_x(dy, W); dx = col2im(dcols)
 *
 * im2col writes, for every output pixel, the kh*kw*c values under its window,
 * so Keras's kernel (kh, kw, c, filters) is a (kh*kw*c, filters) matrix and
 * the convolution is a dense layer over im2col's rows.
 *
 * When nnc is built with oneDNN (NNC_WITH_ONEDNN) and the build did not ask
 * for --no-onednn, a convolution whose rows would be long (kh*kw*c > 16)
 * stays whole instead: conv2d, conv2d_grad_x and conv2d_grad_w reach the
 * emitter as they are, one oneDNN call each (runtime/rt_conv_onednn.c),
 * with no columns at all. A first convolution on one or three channels
 * (short rows) is still lowered: its GEMM is memory-bound, and fusion rule
 * 5 pools it (fuse.c). So does a 1x1 stride-1 convolution: it is a GEMM as
 * it is.
 *
 * Rewrites keep the node (its id, name, users) and insert the new node next
 * to it; the schedule is numbered again at the end, so ids stay in schedule
 * order as the later passes expect.
 */
#include "nnc.h"
#include "rt_limits.h"

#include <string.h>

typedef struct {
  Graph *g;
  int pos;          /* schedule index of the node being lowered */
  bool direct_conv; /* keep long-row convolutions whole (oneDNN) */
} Lowerer;

/* The im2col node made for forward conv `fw` (lowered before its gradients). */
static IrNode *cols_of(const IrNode *fw) {
  if (!fw || fw->op != IR_MATMUL || fw->in[0]->op != IR_IM2COL)
    NNC_BUG("a conv2d gradient whose forward conv2d was not lowered");
  return fw->in[0];
}

/* A 1x1 convolution with stride 1 is a GEMM over the image's pixels as it is:
 * no im2col, no col2im (a separable_conv2d's pointwise half, MobileNet's
 * expand and project convolutions). */
static bool is_pointwise(const Window *w) {
  return w->kh == 1 && w->kw == 1 && w->sh == 1 && w->sw == 1;
}

/* A convolution the oneDNN kernels take whole (see the top of the file). */
static bool stays_whole(const Lowerer *lw, const IrNode *conv) {
  const Window *w = &conv->win;
  return lw->direct_conv && !is_pointwise(w) && w->kh * w->kw * w->c > RT_POOLED_K_MAX;
}

/* y = conv2d(x, W) -> y = matmul(im2col(x), W), or matmul(x, W) when pointwise */
static void lower_conv2d(Lowerer *lw, IrNode *n) {
  Graph *g = lw->g;
  if (stays_whole(lw, n))
    return;
  IrNode *x = n->in[0];
  const char *conv_name = arena_printf(g->arena, "%s.conv", n->layer);
  if (n->name && !strcmp(n->name, conv_name)) /* not the layer's output: the GEMM's name */
    n->name = arena_printf(g->arena, "%s.matmul", n->layer);
  n->op = IR_MATMUL;
  if (is_pointwise(&n->win))
    return;
  IrNode *cols = ir_new_node(g, IR_IM2COL, n->loc, n->layer);
  cols->in[0] = x;
  cols->n_in = 1;
  cols->win = n->win;
  cols->requires_grad = x->requires_grad;
  cols->name = arena_printf(g->arena, "%s.cols", n->layer);
  int dims[3] = {n->win.oh, n->win.ow, n->win.kh * n->win.kw * n->win.c};
  ir_set_shape(cols, DT_F32, true, 3, dims);
  ir_insert(g, lw->pos, cols);
  lw->pos++;
  n->in[0] = cols;
}

/* dW = conv2d_grad_w(x, dy) -> matmul_grad_w(cols, dy), reusing the forward's cols */
static void lower_conv2d_grad_w(Lowerer *lw, IrNode *n) {
  (void)lw;
  if (n->forward->op == IR_CONV2D) /* its forward stayed whole */
    return;
  n->op = IR_MATMUL_GRAD_W;
  if (!is_pointwise(&n->win))
    n->in[0] = cols_of(n->forward);
}

/* dx = conv2d_grad_x(dy, W) -> dcols = matmul_grad_x(dy, W); dx = col2im(dcols) */
static void lower_conv2d_grad_x(Lowerer *lw, IrNode *n) {
  Graph *g = lw->g;
  if (n->forward->op == IR_CONV2D)
    return;
  if (is_pointwise(&n->win)) { /* dx = dy . W^T directly */
    n->op = IR_MATMUL_GRAD_X;
    n->win = (Window){0};
    return;
  }
  IrNode *cols = cols_of(n->forward);
  IrNode *dx = ir_new_node(g, IR_COL2IM, n->loc, n->layer);
  dx->n_in = 1;
  dx->in[0] = n;
  dx->win = n->win;
  dx->forward = n->forward;
  dx->backward = true;
  dx->name = n->name;
  ir_set_shape(dx, n->dtype, n->batched, n->rank, n->dims);
  ir_replace_uses(g, n, dx);
  dx->in[0] = n; /* ir_replace_uses also rewrote this one */
  IrNode *x = cols->in[0];
  if (x->grad == n)
    x->grad = dx;
  cols->grad = n;
  ir_insert(g, lw->pos + 1, dx);
  lw->pos++;
  n->op = IR_MATMUL_GRAD_X;
  n->name = arena_printf(g->arena, "d(%s)", cols->name);
  ir_set_shape(n, DT_F32, cols->batched, cols->rank, cols->dims);
  n->win = (Window){0};
}

typedef void (*LowerRule)(Lowerer *lw, IrNode *n);

/* ops.def's LOWER column */
static const LowerRule LOWER_RULES[IR_OP_COUNT] = {
#define OP(id, name, kind, min_in, max_in, flags, shape, grad, lower, emit, export, onnx) [IR_##id] = lower,
#include "ops.def"
#undef OP
};

void lower(Graph *g, bool direct_conv) {
  Lowerer lw = {.g = g, .direct_conv = direct_conv};
  for (lw.pos = 0; lw.pos < g->n_nodes; lw.pos++) {
    IrNode *n = g->nodes[lw.pos];
    if (!n->dead && LOWER_RULES[n->op])
      LOWER_RULES[n->op](&lw, n);
  }
  ir_renumber(g);
}
