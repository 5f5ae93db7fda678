/*
 * memplan.c — the compile-time memory plan.
 *
 * Every tensor gets storage before any code runs, sized for a full batch:
 *   ST_INPUT  the batch inputs (images, labels, sample weights),
 *   ST_PARAM  one block holding every parameter, in schedule order,
 *   ST_GRAD   one block parallel to the trainable parameters,
 *   ST_VIEW   a reshape shares its input's storage,
 *   ST_ARENA  everything else: an offset into one activation arena.
 * Arena tensors live from the node that writes them to their last reader
 * (through views); two tensors share bytes only when their lifetimes do not
 * overlap. Placement is greedy: largest first, lowest offset that fits
 * (64-byte aligned). The training step therefore never allocates.
 */
#include "nnc.h"

#include <stdlib.h>
#include <string.h>

enum { ALIGN = 64 };

static size_t align_up(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

static size_t tensor_bytes(const Graph *g, const IrNode *n) {
  size_t per = ir_elems(n) * ir_dtype_size(n->dtype);
  return n->batched ? per * (size_t)g->batch_size : per;
}

static Storage storage_class(const IrNode *n) {
  switch (n->op) {
  case IR_INPUT:
  case IR_LABELS:
  case IR_WEIGHTS: return ST_INPUT;
  case IR_PARAM: return ST_PARAM;
  case IR_RESHAPE: return ST_VIEW;
  default: return n->grad_of ? ST_GRAD : ST_ARENA;
  }
}

static void assign_blocks(Graph *g) {
  size_t param_off = 0, input_off = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    IrNode *n = g->nodes[i];
    n->storage = storage_class(n);
    n->bytes = tensor_bytes(g, n);
    n->first_use = n->last_use = i;
    if (n->storage == ST_PARAM) {
      n->offset = param_off;
      param_off += n->bytes;
    } else if (n->storage == ST_INPUT) {
      n->offset = input_off;
      input_off += align_up(n->bytes);
    } else if (n->storage == ST_VIEW) {
      n->view_of = n->in[0];
    }
  }
  for (int i = 0; i < g->n_nodes; i++) {
    IrNode *n = g->nodes[i];
    if (n->storage == ST_GRAD)
      n->offset = n->grad_of->offset;
  }
}

/* last_use of each storage root = the last node reading it or a view of it */
static void compute_liveness(Graph *g) {
  for (int i = 0; i < g->n_nodes; i++) {
    IrNode *n = g->nodes[i];
    for (int k = 0; k < n->n_in; k++) {
      IrNode *r = ir_storage_root(n->in[k]);
      if (r->last_use < i)
        r->last_use = i;
    }
    IrNode *written[2] = {NULL, NULL}; /* side outputs: live from n on */
    ir_side_outputs(n, written);
    for (int k = 0; k < 2; k++) {
      if (!written[k])
        continue;
      IrNode *r = ir_storage_root(written[k]);
      if (r->first_use > i)
        r->first_use = i;
      if (r->last_use < i)
        r->last_use = i;
    }
  }
  /* the training loop reads the output and the loss's probabilities after forward */
  int end = g->n_nodes;
  ir_storage_root(g->output)->last_use = end;
  ir_storage_root(g->loss)->last_use = end;
}

static bool overlaps(const IrNode *a, const IrNode *b) {
  bool live = a->first_use <= b->last_use && b->first_use <= a->last_use;
  bool bytes = a->offset < b->offset + b->bytes && b->offset < a->offset + a->bytes;
  return live && bytes;
}

static int by_size_desc(const void *pa, const void *pb) {
  const IrNode *a = *(IrNode *const *)pa, *b = *(IrNode *const *)pb;
  if (a->bytes != b->bytes)
    return a->bytes < b->bytes ? 1 : -1;
  return a->id - b->id;
}

/* Lowest aligned offset where t overlaps none of placed[0..n). */
static size_t first_fit(IrNode *t, IrNode **placed, int n) {
  t->offset = 0;
  for (;;) {
    bool moved = false;
    for (int j = 0; j < n; j++) {
      if (overlaps(t, placed[j])) {
        t->offset = align_up(placed[j]->offset + placed[j]->bytes);
        moved = true;
      }
    }
    if (!moved)
      return t->offset;
  }
}

static void place_arena(Graph *g) {
  IrNode **arena = ARENA_ARRAY(g->arena, IrNode *, g->n_nodes);
  int n = 0;
  g->naive_bytes = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    IrNode *t = g->nodes[i];
    if (t->storage == ST_ARENA) {
      arena[n++] = t;
      g->naive_bytes += align_up(t->bytes);
    }
  }
  qsort(arena, (size_t)n, sizeof(IrNode *), by_size_desc);
  g->arena_bytes = 0;
  for (int i = 0; i < n; i++) {
    size_t end = align_up(first_fit(arena[i], arena, i) + arena[i]->bytes);
    if (end > g->arena_bytes)
      g->arena_bytes = end;
  }
}

void memplan(Graph *g) {
  assign_blocks(g);
  compute_liveness(g);
  place_arena(g);
}
