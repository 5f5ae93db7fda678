/*
 * ir.c — the graph IR: one node type for every forward and backward
 * operation, kept in a schedule-ordered array (a node's inputs always come
 * before it). Passes rewrite nodes in place, mark the ones they replace
 * `dead`, and call ir_compact to drop them.
 */
#include "nnc.h"

#include <stdlib.h>
#include <string.h>

static const OpInfo OP_INFO[IR_OP_COUNT] = {
#define OP(id, name, kind, min_in, max_in, flags, shape, grad, lower, emit, export, onnx) \
  [IR_##id] = {name, kind, min_in, max_in, flags},
#include "ops.def"
#undef OP
};

const ActivationInfo ACTIVATION_INFO[ACT_COUNT] = {
#define ACT_ROW(id, name, rt, alpha, kind, keras, param, param_default) \
  [ACT_##id] = {name, rt, alpha, kind, keras, param, param_default},
    NNC_ACTIVATIONS(ACT_ROW)
#undef ACT_ROW
};

const OpInfo *ir_op_info(IrOp op) { return &OP_INFO[op]; }

const char *ir_op_name(IrOp op) { return OP_INFO[op].name; }

const char *ir_act_name(Activation act) { return ACTIVATION_INFO[act].name; }

const char *ir_init_name(Init init) {
  static const char *const names[INIT_COUNT] = {"none", "glorot_uniform", "zeros", "ones",
                                                "adapt"};
  return names[init];
}

bool ir_is_backward_op(IrOp op) { return OP_INFO[op].kind == OPK_BACKWARD; }

bool ir_is_loss(IrOp op) { return OP_INFO[op].flags & OPF_LOSS; }

int ir_side_outputs(const IrNode *n, IrNode *out[2]) {
  int k = 0;
  if (n->mask)
    out[k++] = n->mask;
  if (n->xhat)
    out[k++] = n->xhat;
  if (n->stats)
    out[k++] = n->stats;
  return k;
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

IrNode *ir_new_node(Graph *g, IrOp op, SrcLoc loc, const char *layer) {
  IrNode *n = ARENA_NEW(g->arena, IrNode);
  n->id = g->next_id++;
  n->op = op;
  n->loc = loc;
  n->layer = layer;
  n->backward = ir_is_backward_op(op);
  n->dtype = DT_F32;
  return n;
}

void ir_insert(Graph *g, int pos, IrNode *n) {
  ir_push(g, n); /* grows the array; then shift [pos, end) right by one */
  memmove(g->nodes + pos + 1, g->nodes + pos, sizeof(IrNode *) * (size_t)(g->n_nodes - 1 - pos));
  g->nodes[pos] = n;
}

void ir_renumber(Graph *g) {
  for (int i = 0; i < g->n_nodes; i++)
    g->nodes[i]->id = i;
  g->next_id = g->n_nodes;
}

/* Appends a node with n_in inputs (IrNode * varargs) to the schedule. */
IrNode *ir_add(Graph *g, IrOp op, SrcLoc loc, const char *layer, int n_in, ...) {
  if (n_in > IR_MAX_INPUTS)
    NNC_BUG("too many inputs for %s", ir_op_name(op));
  IrNode *n = ir_new_node(g, op, loc, layer);
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
const char *ir_dtype_name(DType dt) { return dt == DT_U8 ? "u8" : "f32"; }

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
  IrNode *side[2];
  for (int i = ir_side_outputs(user, side) - 1; i >= 0; i--)
    k += side[i] == n;
  return k;
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

void ir_float_text(char *buf, size_t size, double v) {
  snprintf(buf, size, "%.9g", v);
  float f = strtof(buf, NULL); /* the float a C compiler makes of v's 9-digit form */
  for (int digits = 1; digits <= 9 && f == f; digits++) { /* 9 digits always round-trip */
    snprintf(buf, size, "%.*g", digits, (double)f);
    if (strtof(buf, NULL) == f)
      break;
  }
}

bool graph_syncs_batch_norm(const Graph *g) {
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->op == IR_BATCHNORM && g->nodes[i]->bn.synchronized && !g->nodes[i]->bn.frozen)
      return true;
  return false;
}

bool graph_augments(const Graph *g) {
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->op == IR_AUGMENT || g->nodes[i]->op == IR_RANDOM_CROP)
      return true;
  return false;
}
