/*
 * ir.c — the graph IR: one node type for every forward and backward
 * operation, kept in a schedule-ordered array (a node's inputs always come
 * before it). Passes rewrite nodes in place, mark the ones they replace
 * `dead`, and call ir_compact to drop them.
 */
#include "nnc.h"

#include <stdlib.h>
#include <string.h>

static const char *const OP_NAMES[IR_OP_COUNT] = {
    [IR_INPUT] = "input",
    [IR_LABELS] = "labels",
    [IR_WEIGHTS] = "sample_weights",
    [IR_PARAM] = "param",
    [IR_SCRATCH] = "scratch",
    [IR_NORMALIZE] = "normalize",
    [IR_CAST] = "cast",
    [IR_RESHAPE] = "reshape",
    [IR_MATMUL] = "matmul",
    [IR_BIAS_ADD] = "bias_add",
    [IR_ACT] = "act",
    [IR_DROPOUT] = "dropout",
    [IR_ADD] = "add",
    [IR_SOFTMAX] = "softmax",
    [IR_XENT] = "crossentropy",
    [IR_SOFTMAX_XENT] = "softmax_crossentropy",
    [IR_BXENT] = "binary_crossentropy",
    [IR_SIGMOID_BXENT] = "sigmoid_binary_crossentropy",
    [IR_RESCALE] = "rescale",
    [IR_IM2COL] = "im2col",
    [IR_MAXPOOL] = "max_pool",
    [IR_AVGPOOL] = "avg_pool",
    [IR_GAP] = "global_avg_pool",
    [IR_BATCHNORM] = "batch_norm",
    [IR_CONCAT] = "concat",
    [IR_MATMUL_GRAD_X] = "matmul_grad_x",
    [IR_MATMUL_GRAD_W] = "matmul_grad_w",
    [IR_BIAS_GRAD] = "bias_grad",
    [IR_ACT_GRAD] = "act_grad",
    [IR_DROPOUT_GRAD] = "dropout_grad",
    [IR_ACT_DROPOUT_GRAD] = "act_dropout_grad",
    [IR_SOFTMAX_GRAD] = "softmax_grad",
    [IR_XENT_GRAD] = "crossentropy_grad",
    [IR_SOFTMAX_XENT_GRAD] = "softmax_crossentropy_grad",
    [IR_BXENT_GRAD] = "binary_crossentropy_grad",
    [IR_SIGMOID_BXENT_GRAD] = "sigmoid_binary_crossentropy_grad",
    [IR_ACCUMULATE] = "accumulate",
    [IR_RESCALE_GRAD] = "rescale_grad",
    [IR_COL2IM] = "col2im",
    [IR_MAXPOOL_GRAD] = "max_pool_grad",
    [IR_AVGPOOL_GRAD] = "avg_pool_grad",
    [IR_GAP_GRAD] = "global_avg_pool_grad",
    [IR_BN_GRAD_GAMMA] = "batch_norm_grad_gamma",
    [IR_BN_GRAD_X] = "batch_norm_grad_x",
    [IR_CONCAT_GRAD] = "concat_grad",
};

const char *ir_op_name(IrOp op) { return OP_NAMES[op]; }

const char *ir_act_name(Activation act) {
  static const char *const names[] = {"linear",     "relu", "sigmoid", "tanh",
                                      "softmax",    "leaky_relu", "elu", "relu6"};
  return names[act];
}

bool ir_is_backward_op(IrOp op) { return op >= IR_MATMUL_GRAD_X; }

bool ir_is_loss(IrOp op) {
  return op == IR_XENT || op == IR_SOFTMAX_XENT || op == IR_BXENT || op == IR_SIGMOID_BXENT;
}

Graph *ir_new_graph(Arena *a, const char *model_name, int batch_size) {
  Graph *g = ARENA_NEW(a, Graph);
  g->arena = a;
  g->model_name = model_name;
  g->batch_size = batch_size;
  g->cap = 64;
  g->nodes = ARENA_ARRAY(a, IrNode *, g->cap);
  return g;
}

static void ir_push(Graph *g, IrNode *n) {
  if (g->n_nodes == g->cap) {
    IrNode **grown = ARENA_ARRAY(g->arena, IrNode *, g->cap * 2);
    memcpy(grown, g->nodes, sizeof(IrNode *) * (size_t)g->n_nodes);
    g->nodes = grown;
    g->cap *= 2;
  }
  g->nodes[g->n_nodes++] = n;
}

/* Appends a node with n_in inputs (IrNode * varargs) to the schedule. */
IrNode *ir_add(Graph *g, IrOp op, SrcLoc loc, const char *layer, int n_in, ...) {
  if (n_in > IR_MAX_INPUTS)
    NNC_BUG("too many inputs for %s", ir_op_name(op));
  IrNode *n = ARENA_NEW(g->arena, IrNode);
  n->id = g->next_id++;
  n->op = op;
  n->loc = loc;
  n->layer = layer;
  n->backward = ir_is_backward_op(op);
  n->dtype = DT_F32;
  va_list ap;
  va_start(ap, n_in);
  for (int i = 0; i < n_in; i++)
    n->in[i] = va_arg(ap, IrNode *);
  va_end(ap);
  n->n_in = n_in;
  ir_push(g, n);
  return n;
}

void ir_set_shape(IrNode *n, DType dt, bool batched, int rank, const int *dims) {
  n->dtype = dt;
  n->batched = batched;
  n->rank = rank;
  for (int i = 0; i < rank; i++)
    n->dims[i] = dims[i];
}

size_t ir_elems(const IrNode *n) {
  size_t e = 1;
  for (int i = 0; i < n->rank; i++)
    e *= (size_t)n->dims[i];
  return e;
}

size_t ir_dtype_size(DType dt) { return dt == DT_U8 ? 1 : 4; }

void ir_compact(Graph *g) {
  int j = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (!g->nodes[i]->dead)
      g->nodes[j++] = g->nodes[i];
  g->n_nodes = j;
}

static int uses_in(const IrNode *user, const IrNode *n) {
  int k = 0;
  for (int i = 0; i < user->n_in; i++)
    k += user->in[i] == n;
  return k + (user->aux == n) + (user->aux2 == n);
}

int ir_use_count(const Graph *g, const IrNode *n) {
  int k = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (!g->nodes[i]->dead)
      k += uses_in(g->nodes[i], n);
  return k;
}

void ir_replace_uses(Graph *g, IrNode *from, IrNode *to) {
  for (int i = 0; i < g->n_nodes; i++) {
    IrNode *u = g->nodes[i];
    for (int k = 0; k < u->n_in; k++)
      if (u->in[k] == from)
        u->in[k] = to;
  }
  if (g->output == from)
    g->output = to;
  if (g->loss == from)
    g->loss = to;
}

IrNode *ir_storage_root(IrNode *n) {
  while (n->storage == ST_VIEW && n->view_of)
    n = n->view_of;
  return n;
}

const char *ir_shape_str(Arena *a, const IrNode *n) {
  char buf[128];
  int len = snprintf(buf, sizeof buf, "(");
  if (n->batched)
    len += snprintf(buf + len, sizeof buf - (size_t)len, "B%s", n->rank ? ", " : "");
  for (int i = 0; i < n->rank; i++)
    len += snprintf(buf + len, sizeof buf - (size_t)len, "%s%d", i ? ", " : "", n->dims[i]);
  if (!n->batched && n->rank == 0)
    len += snprintf(buf + len, sizeof buf - (size_t)len, "1");
  snprintf(buf + len, sizeof buf - (size_t)len, ")");
  return arena_strdup(a, buf);
}
