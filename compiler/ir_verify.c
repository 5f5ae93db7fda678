/*
 * ir_verify.c — structural invariants of the IR, checked after every IR
 * pass (the driver always runs it) and by tests. A violation is a bug in a
 * pass, reported with the pass that broke it.
 *
 * Linear in the graph, because it runs after every pass on models of up to
 * NNC_MAX_LAYERS layers: the schedule check looks inputs up in an array of
 * positions indexed by node id, and the memory-plan check sweeps the arena
 * tensors in order of first use (O(n log n) to sort, then neighbours only).
 */
#include "nnc.h"

#include <stdlib.h>
#include <string.h>

/* position[id] = the node's index in the schedule, or -1 if not scheduled */
static int *schedule_positions(const Graph *g, const char *pass) {
  int *pos = ARENA_ARRAY(g->arena, int, g->next_id + 1);
  memset(pos, 0xff, sizeof(int) * (size_t)(g->next_id + 1)); /* every entry -1 */
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->id < 0 || n->id >= g->next_id)
      NNC_BUG("after %s: %s has id #%d, outside 0..%d", pass, ir_op_name(n->op), n->id,
              g->next_id - 1);
    if (pos[n->id] >= 0)
      NNC_BUG("after %s: #%d is scheduled twice", pass, n->id);
    pos[n->id] = i;
  }
  return pos;
}

static void verify_node(const IrNode *n, int index, const int *pos, int n_ids, const char *pass) {
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
    if (in->id < 0 || in->id >= n_ids || pos[in->id] < 0 || pos[in->id] >= index)
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

/* ---- the memory plan: no two arena tensors live together share a byte ---- */

static int by_first_use(const void *pa, const void *pb) {
  const IrNode *a = *(const IrNode *const *)pa, *b = *(const IrNode *const *)pb;
  return a->first_use != b->first_use ? (a->first_use < b->first_use ? -1 : 1) : a->id - b->id;
}

static int by_last_use(const void *pa, const void *pb) {
  const IrNode *a = *(const IrNode *const *)pa, *b = *(const IrNode *const *)pb;
  return a->last_use != b->last_use ? (a->last_use < b->last_use ? -1 : 1) : a->id - b->id;
}

/* The live tensors, sorted by offset; pairwise disjoint (else we stopped), so
 * offsets are unique and a new tensor can only overlap its neighbours. */
typedef struct {
  const IrNode **at;
  int n;
} LiveSet;

/* index of the first live tensor whose offset is >= offset */
static int live_lower_bound(const LiveSet *s, size_t offset) {
  int lo = 0, hi = s->n;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (s->at[mid]->offset < offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static void live_remove(LiveSet *s, const IrNode *t) {
  int i = live_lower_bound(s, t->offset);
  if (i == s->n || s->at[i] != t)
    NNC_BUG("ir_verify: a live tensor went missing");
  memmove(&s->at[i], &s->at[i + 1], sizeof(IrNode *) * (size_t)(s->n - i - 1));
  s->n--;
}

static void live_insert(LiveSet *s, const IrNode *t, const char *pass) {
  int i = live_lower_bound(s, t->offset);
  const IrNode *before = i > 0 ? s->at[i - 1] : NULL, *after = i < s->n ? s->at[i] : NULL;
  const IrNode *clash = before && before->offset + before->bytes > t->offset ? before
                        : after && t->offset + t->bytes > after->offset     ? after
                                                                            : NULL;
  if (clash)
    NNC_BUG("after %s: #%d and #%d are live together and share bytes", pass, clash->id, t->id);
  memmove(&s->at[i + 1], &s->at[i], sizeof(IrNode *) * (size_t)(s->n - i));
  s->at[i] = t;
  s->n++;
}

static void verify_plan(const Graph *g, const char *pass) {
  const IrNode **starts = ARENA_ARRAY(g->arena, const IrNode *, g->n_nodes + 1);
  const IrNode **ends = ARENA_ARRAY(g->arena, const IrNode *, g->n_nodes + 1);
  int n = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *a = g->nodes[i];
    if (a->storage == ST_NONE)
      NNC_BUG("after %s: %s #%d has no storage", pass, ir_op_name(a->op), a->id);
    if (a->storage != ST_ARENA)
      continue;
    if (a->offset + a->bytes > g->arena_bytes)
      NNC_BUG("after %s: #%d lies outside the arena", pass, a->id);
    if (a->bytes > 0) /* an empty tensor owns no bytes */
      starts[n] = ends[n] = a, n++;
  }
  qsort(starts, (size_t)n, sizeof *starts, by_first_use);
  qsort(ends, (size_t)n, sizeof *ends, by_last_use);
  LiveSet live = {ARENA_ARRAY(g->arena, const IrNode *, n + 1), 0};
  int e = 0;
  for (int i = 0; i < n; i++) {
    while (ends[e]->last_use < starts[i]->first_use) /* dead before this one is written */
      live_remove(&live, ends[e++]);
    live_insert(&live, starts[i], pass);
  }
}

void ir_verify(const Graph *g, const char *after_pass) {
  bool shaped = g->output && g->output->batched; /* shape.c has run */
  bool planned = false;
  const int *pos = schedule_positions(g, after_pass);
  for (int i = 0; i < g->n_nodes; i++) {
    verify_node(g->nodes[i], i, pos, g->next_id, after_pass);
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
