/*
 * ir_verify.c — structural invariants of the IR, checked after every IR
 * pass (the driver always runs it: it costs microseconds) and by tests. A violation is a bug in a pass,
 * reported with the pass that broke it.
 */
#include "nnc.h"

static void verify_node(const Graph *g, const IrNode *n, int index, const char *pass) {
  const OpInfo *op = ir_op_info(n->op);
  if (n->n_in < op->min_in || n->n_in > op->max_in)
    NNC_BUG("after %s: %s #%d has %d inputs (ops.def: %d to %d)", pass, op->name, n->id, n->n_in,
            op->min_in, op->max_in);
  for (int k = 0; k < n->n_in; k++) {
    const IrNode *in = n->in[k];
    if (!in)
      NNC_BUG("after %s: %s #%d has a null input %d", pass, ir_op_name(n->op), n->id, k);
    if (in->dead)
      NNC_BUG("after %s: %s #%d reads dead node #%d", pass, ir_op_name(n->op), n->id, in->id);
    int j;
    for (j = 0; j < index && g->nodes[j] != in; j++)
      ;
    if (j == index)
      NNC_BUG("after %s: %s #%d reads #%d, which is not scheduled before it", pass,
              ir_op_name(n->op), n->id, in->id);
  }
  if (n->dead)
    NNC_BUG("after %s: dead node #%d still scheduled", pass, n->id);
}

static void verify_shapes(const IrNode *n, const char *pass) {
  if (n->rank == 0 && n->batched == false && !ir_is_loss(n->op) && n->op != IR_PARAM)
    NNC_BUG("after %s: %s #%d has no shape", pass, ir_op_name(n->op), n->id);
}

static void verify_plan(const Graph *g, const char *pass) {
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *a = g->nodes[i];
    if (a->storage == ST_NONE)
      NNC_BUG("after %s: %s #%d has no storage", pass, ir_op_name(a->op), a->id);
    if (a->storage != ST_ARENA)
      continue;
    if (a->offset + a->bytes > g->arena_bytes)
      NNC_BUG("after %s: #%d lies outside the arena", pass, a->id);
    for (int j = i + 1; j < g->n_nodes; j++) {
      const IrNode *b = g->nodes[j];
      if (b->storage != ST_ARENA)
        continue;
      bool live = a->first_use <= b->last_use && b->first_use <= a->last_use;
      bool bytes = a->offset < b->offset + b->bytes && b->offset < a->offset + a->bytes;
      if (live && bytes)
        NNC_BUG("after %s: #%d and #%d are live together and share bytes", pass, a->id, b->id);
    }
  }
}

void ir_verify(const Graph *g, const char *after_pass) {
  bool shaped = g->output && g->output->batched; /* shape.c has run */
  bool planned = false;
  for (int i = 0; i < g->n_nodes; i++) {
    verify_node(g, g->nodes[i], i, after_pass);
    planned |= g->nodes[i]->storage != ST_NONE;
  }
  if (shaped)
    for (int i = 0; i < g->n_nodes; i++)
      if (g->nodes[i]->op != IR_PARAM || g->nodes[i]->rank > 0)
        verify_shapes(g->nodes[i], after_pass);
  if (planned)
    verify_plan(g, after_pass);
  if (!g->output || (!g->loss && !g->model_only))
    NNC_BUG("after %s: graph without output or loss", after_pass);
}
