/*
 * ir_dump.c — prints the IR as text, one node per line:
 *
 *   %12 = matmul(%9, %10, %11)  f32(B, 256)  dense.out  [relu]  fused: matmul + bias_add + relu
 *         arena@0+131072 live 12..30
 *
 * `nnc build --dump-ir=PASS` prints it after any pass; tests compare it.
 */
#include "nnc.h"

static const char *storage_name(Storage s) {
  static const char *const names[] = {"-", "input", "param", "grad", "arena", "view"};
  return names[s];
}

static void dump_node(FILE *out, const Graph *g, const IrNode *n) {
  fprintf(out, "  %%%-3d = %s%s(", n->id, n->backward ? "~" : "", ir_op_name(n->op));
  for (int k = 0; k < n->n_in; k++)
    fprintf(out, "%s%%%d", k ? ", " : "", n->in[k]->id);
  fputc(')', out);
  if (n->rank || n->batched)
    fprintf(out, "  %s%s", ir_dtype_name(n->dtype), ir_shape_str(g->arena, n));
  if (n->name)
    fprintf(out, "  %s", n->name);
  if ((n->op == IR_ACT || n->op == IR_ACT_GRAD || n->op == IR_ACT_DROPOUT_GRAD ||
       (n->op == IR_MATMUL && n->act != ACT_NONE)))
    fprintf(out, "  [%s]", ir_act_name(n->act));
  if (n->op == IR_DROPOUT)
    fprintf(out, "  [rate %g, mask %%%d]", n->rate, n->mask->id);
  if (n->op == IR_PARAM)
    fprintf(out, "  [%s, %s]", n->trainable ? "trainable" : "non-trainable", ir_init_name(n->init));
  if (n->op == IR_NORMALIZE)
    fprintf(out, "  [axis %s]", n->per_feature ? "-1" : "none");
  if (n->grad_of)
    fprintf(out, "  [grad of %%%d]", n->grad_of->id);
  if (n->fused)
    fprintf(out, "  fused: %s", n->fused);
  if (n->storage != ST_NONE) {
    fprintf(out, "\n         %s", storage_name(n->storage));
    if (n->storage == ST_VIEW)
      fprintf(out, " of %%%d", n->view_of->id);
    else
      fprintf(out, "@%zu+%zu", n->offset, n->bytes);
    if (n->storage == ST_ARENA)
      fprintf(out, " live %d..%d", n->first_use, n->last_use);
    if (n->chunk)
      fprintf(out, " in chunks of %d examples", n->chunk);
  }
  fputc('\n', out);
}

void ir_dump(FILE *out, const Graph *g, const char *after_pass) {
  fprintf(out, "# IR of model %s after %s: %d nodes, batch %d\n", g->model_name, after_pass,
          g->n_nodes, g->batch_size);
  for (int i = 0; i < g->n_nodes; i++)
    dump_node(out, g, g->nodes[i]);
  if (g->arena_bytes)
    fprintf(out, "# activation arena: %zu bytes planned (%zu without reuse)\n", g->arena_bytes,
            g->naive_bytes);
}
