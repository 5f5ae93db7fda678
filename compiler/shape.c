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

static bool infer_normalize(Shaper *s, IrNode *n) {
  IrNode *x = n->in[0];
  int features = n->per_feature ? x->dims[x->rank - 1] : 1;
  for (int i = 1; i <= 2; i++)
    ir_set_shape(n->in[i], DT_F32, false, 1, &features);
  ir_set_shape(n, DT_F32, true, x->rank, x->dims);
  (void)s;
  return true;
}

static bool infer_reshape(Shaper *s, IrNode *n) {
  IrNode *x = n->in[0];
  int flat = (int)ir_elems(x); /* build_input caps an example at MAX_EXAMPLE_ELEMS */
  if (x->rank == 0) {
    diag_error(s->diag, n->loc, "flatten of a scalar per example");
    return false;
  }
  ir_set_shape(n, x->dtype, x->batched, 1, &flat);
  return true;
}

/* dense: x (B, k) . kernel (k, units) */
static bool infer_matmul(Shaper *s, IrNode *n) {
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

static bool infer_bias_add(Shaper *s, IrNode *n) {
  IrNode *x = n->in[0];
  ir_set_shape(n->in[1], DT_F32, false, 1, &x->dims[x->rank - 1]);
  copy_shape(n, x);
  (void)s;
  return true;
}

static bool infer_elementwise(Shaper *s, IrNode *n) {
  IrNode *x = n->in[0];
  if (x->dtype != DT_F32)
    NNC_BUG("%s of a non-float tensor", ir_op_name(n->op));
  copy_shape(n, x);
  if (n->aux)
    copy_shape(n->aux, x);
  (void)s;
  return true;
}

static bool infer_softmax(Shaper *s, IrNode *n) {
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

static bool infer_add(Shaper *s, IrNode *n) {
  if (!same_shape(n->in[0], n->in[1])) {
    diag_error(s->diag, n->loc, "add needs two values of one shape, got %s and %s",
               shape_of(s, n->in[0]), shape_of(s, n->in[1]));
    return false;
  }
  copy_shape(n, n->in[0]);
  return true;
}

/* The loss: scores (B, C) with C = number of classes in the data section. */
static bool infer_xent(Shaper *s, IrNode *n) {
  IrNode *p = n->in[0];
  IrNode *out = s->g->output;
  if (p->rank != 1 || p->dims[0] != s->g->n_classes) {
    diag_error(s->diag, out->loc, "the model outputs %s per example, but the data has %d "
               "classes: the last layer needs %d units", shape_of(s, out), s->g->n_classes,
               s->g->n_classes);
    return false;
  }
  ir_set_shape(n, DT_F32, false, 0, NULL);
  return true;
}

static bool infer_node(Shaper *s, IrNode *n) {
  switch (n->op) {
  case IR_INPUT:
  case IR_LABELS:
  case IR_WEIGHTS:
  case IR_PARAM:   /* shaped by its consumer (or at build time) */
  case IR_SCRATCH: /* shaped by its owner */
    return true;
  case IR_CAST: ir_set_shape(n, DT_F32, true, n->in[0]->rank, n->in[0]->dims); return true;
  case IR_NORMALIZE: return infer_normalize(s, n);
  case IR_RESHAPE: return infer_reshape(s, n);
  case IR_MATMUL: return infer_matmul(s, n);
  case IR_BIAS_ADD: return infer_bias_add(s, n);
  case IR_ACT:
  case IR_DROPOUT: return infer_elementwise(s, n);
  case IR_SOFTMAX: return infer_softmax(s, n);
  case IR_ADD: return infer_add(s, n);
  case IR_XENT:
  case IR_SOFTMAX_XENT: return infer_xent(s, n);
  default:
    NNC_BUG("shape inference runs before autodiff, but found %s", ir_op_name(n->op));
  }
}

bool shape_infer(Graph *g, Diag *diag) {
  Shaper s = {.g = g, .diag = diag};
  for (int i = 0; i < g->n_nodes; i++)
    if (!infer_node(&s, g->nodes[i]))
      return false;
  return true;
}
