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
 * overlap, so forward activations die at their last backward use and the
 * gradients of activations reuse their bytes. Placement is greedy: largest
 * first, lowest offset that fits (64-byte aligned). The generated program
 * allocates each block once at start-up; a training step never allocates.
 *
 * Before placing, a large im2col (columns of at least REMAT_MIN_BYTES) is
 * recomputed in backward, next to the weight gradient that reads it, instead
 * of being kept alive from forward to backward: the columns are k*k times
 * the convolution's input, and across a deep network they were most of the
 * plan (VGG16, batch 32: 10.4 of 12.2 GB). Recomputing costs one more pass
 * over memory per convolution and changes no arithmetic.
 *
 * Those large columns (and the gradients of columns that col2im reads) are
 * then not made for the whole batch at all: each gets a workspace for a
 * chunk of examples (CHUNK_BYTES, at least one example), and its one reader
 * runs as a chunked convolution kernel (rt_conv2d_forward, _backward_w,
 * _backward_x) that fills and uses it a chunk at a time. The reader then
 * reads the columns' own inputs, so those live as long as the reader.
 */
#include "nnc.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { ALIGN = 64 };

/* Columns smaller than this (nnc.h) stay alive from forward to backward:
 * recomputing them would cost time (one pass over memory) to save little. */
#define REMAT_MIN_BYTES NNC_WHOLE_COLUMNS_MAX

static size_t align_up(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

/* A chunked workspace holds at most this many bytes, or one example. */
#define CHUNK_BYTES ((size_t)32 << 20)

static size_t tensor_bytes(const Graph *g, const IrNode *n) {
  size_t per = ir_elems(n) * ir_dtype_size(n->dtype);
  if (n->chunk)
    return per * (size_t)n->chunk;
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

/* ---- recomputing large im2col columns in backward ---- */

/* The first backward node reading cols, or -1. */
static int first_backward_reader(const Graph *g, const IrNode *cols) {
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    for (int k = 0; k < n->n_in && n->backward; k++)
      if (n->in[k] == cols)
        return i;
  }
  return -1;
}

/* A copy of cols computed again at schedule position `at` (the copy is a
 * backward node of the same layer, so it lands in the layer's backward
 * function); backward readers from there on read the copy. */
static void recompute_at(Graph *g, IrNode *cols, int at) {
  IrNode *again = ir_add(g, IR_IM2COL, cols->loc, cols->layer, 1, cols->in[0]);
  int id = again->id;
  *again = *cols;
  again->id = id;
  again->backward = true;
  again->name = arena_printf(g->arena, "%s (recomputed)", cols->name);
  memmove(&g->nodes[at + 1], &g->nodes[at], sizeof(IrNode *) * (size_t)(g->n_nodes - 1 - at));
  g->nodes[at] = again;
  for (int i = at + 1; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i]->n_in; k++)
      if (g->nodes[i]->in[k] == cols)
        g->nodes[i]->in[k] = again;
}

static void recompute_large_columns(Graph *g) {
  for (int i = 0; i < g->n_nodes; i++) {
    IrNode *n = g->nodes[i];
    if (n->op != IR_IM2COL || n->backward || tensor_bytes(g, n) < REMAT_MIN_BYTES)
      continue;
    int at = first_backward_reader(g, n);
    if (at >= 0)
      recompute_at(g, n, at);
  }
}

/* ---- large columns a chunk of examples at a time ---- */

/* The one node reading n, or NULL when none or several do. */
static const IrNode *only_reader(const Graph *g, const IrNode *n) {
  const IrNode *reader = NULL;
  for (int i = 0; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i]->n_in; k++)
      if (g->nodes[i]->in[k] == n) {
        if (reader)
          return NULL;
        reader = g->nodes[i];
      }
  return reader;
}

/* Columns whose one reader has a chunked kernel: a lowered convolution's
 * GEMM or weight gradient (reading im2col), or col2im (reading the GEMM's
 * input gradient). */
static bool chunkable(const Graph *g, const IrNode *n) {
  if (!n->batched || tensor_bytes(g, n) < REMAT_MIN_BYTES)
    return false;
  const IrNode *r = only_reader(g, n);
  if (!r || r->in[0] != n)
    return false;
  if (n->op == IR_IM2COL)
    return r->op == IR_MATMUL || r->op == IR_MATMUL_GRAD_W;
  return n->op == IR_MATMUL_GRAD_X && r->op == IR_COL2IM;
}

static void chunk_large_columns(Graph *g) {
  for (int i = 0; i < g->n_nodes; i++) {
    IrNode *n = g->nodes[i];
    if (!chunkable(g, n))
      continue;
    size_t per = ir_elems(n) * ir_dtype_size(n->dtype);
    size_t chunk = CHUNK_BYTES / per;
    n->chunk = chunk < 1 ? 1 : (int)chunk;
    if (n->chunk >= g->batch_size)
      n->chunk = 0; /* the whole batch fits the workspace */
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

static void extend_to(IrNode *read, int i) {
  IrNode *r = ir_storage_root(read);
  if (r->last_use < i)
    r->last_use = i;
}

/* last_use of each storage root = the last node reading it or a view of it */
static void compute_liveness(Graph *g) {
  for (int i = 0; i < g->n_nodes; i++) {
    IrNode *n = g->nodes[i];
    for (int k = 0; k < n->n_in; k++) {
      extend_to(n->in[k], i);
      for (int j = 0; n->in[k]->chunk && j < n->in[k]->n_in; j++)
        extend_to(n->in[k]->in[j], i); /* the chunked kernel reads these */
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

static int by_size_desc(const void *pa, const void *pb) {
  const IrNode *a = *(IrNode *const *)pa, *b = *(IrNode *const *)pb;
  if (a->bytes != b->bytes)
    return a->bytes < b->bytes ? 1 : -1;
  return a->id - b->id;
}

static int by_area_desc(const void *pa, const void *pb) {
  const IrNode *a = *(IrNode *const *)pa, *b = *(IrNode *const *)pb;
  double la = (double)(a->last_use - a->first_use + 1) * (double)a->bytes;
  double lb = (double)(b->last_use - b->first_use + 1) * (double)b->bytes;
  if (la != lb)
    return la < lb ? 1 : -1;
  return by_size_desc(pa, pb);
}

/* Lowest aligned offset where t overlaps none of the placed tensors live at
 * the same time as t: the first wide enough gap between them. `placed`
 * (n tensors) is in offset order, so one pass finds it. */
static size_t first_fit(IrNode *t, IrNode *const *placed, int n) {
  size_t at = 0;
  for (int j = 0; j < n; j++) {
    const IrNode *p = placed[j];
    if (t->first_use > p->last_use || p->first_use > t->last_use)
      continue; /* never live together */
    if (p->offset >= at + t->bytes)
      break; /* the gap before p holds t */
    size_t end = align_up(p->offset + p->bytes);
    at = end > at ? end : at;
  }
  return t->offset = at;
}

/* Places t[0..n) in this order; returns the arena's size. `placed` is
 * scratch for n pointers, kept in offset order. */
static size_t place(IrNode *const *t, int n, IrNode **placed) {
  size_t top = 0;
  for (int i = 0; i < n; i++) {
    size_t off = first_fit(t[i], placed, i);
    int j = i;
    for (; j > 0 && placed[j - 1]->offset > off; j--)
      placed[j] = placed[j - 1];
    placed[j] = t[i];
    size_t end = align_up(off + t[i]->bytes);
    top = end > top ? end : top;
  }
  return top;
}

/* Greedy placement in two orders, largest first and largest bytes x
 * lifetime first; the smaller arena wins (largest first on a tie). Neither
 * order is best for every graph: the second lets VGG16's long-lived
 * activations settle first and the short-lived columns fill around them,
 * reaching the bound of the most bytes live at once. */
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
  int (*const orders[])(const void *, const void *) = {by_size_desc, by_area_desc};
  IrNode **order = ARENA_ARRAY(g->arena, IrNode *, n + 1);
  IrNode **placed = ARENA_ARRAY(g->arena, IrNode *, n + 1);
  size_t *best = ARENA_ARRAY(g->arena, size_t, n + 1);
  g->arena_bytes = SIZE_MAX;
  for (size_t k = 0; k < sizeof orders / sizeof orders[0]; k++) {
    memcpy(order, arena, sizeof(IrNode *) * (size_t)n);
    qsort(order, (size_t)n, sizeof(IrNode *), orders[k]);
    size_t top = place(order, n, placed);
    if (top < g->arena_bytes) {
      g->arena_bytes = top;
      for (int i = 0; i < n; i++)
        best[i] = arena[i]->offset;
    }
  }
  for (int i = 0; i < n; i++)
    arena[i]->offset = best[i];
  if (n == 0)
    g->arena_bytes = 0;
}

/* The most arena bytes live at once (a sweep over the schedule): no
 * placement can use less, so the arena's size is judged against it. */
static size_t peak_live_bytes(const Graph *g) {
  long long *delta = ARENA_ARRAY(g->arena, long long, g->n_nodes + 2);
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->storage != ST_ARENA)
      continue;
    delta[n->first_use] += (long long)align_up(n->bytes);
    delta[n->last_use + 1] -= (long long)align_up(n->bytes);
  }
  long long live = 0, peak = 0;
  for (int t = 0; t <= g->n_nodes + 1; t++) {
    live += delta[t];
    peak = live > peak ? live : peak;
  }
  return (size_t)peak;
}

void memplan(Graph *g) {
  recompute_large_columns(g);
  chunk_large_columns(g);
  assign_blocks(g);
  compute_liveness(g);
  place_arena(g);
  g->peak_live_bytes = peak_live_bytes(g);
}

/* ---- the whole training memory, and its limit ---- */

const OptimizerSlot *optimizer_slots(OptimizerKind kind, int *n) {
  static const OptimizerSlot adam[] = {{"adam_m", "Adam first moments"},
                                       {"adam_v", "Adam second moments"}};
  static const OptimizerSlot rmsprop[] = {{"rmsprop_v", "RMSprop mean squares"}};
  static const OptimizerSlot sgd[] = {{"sgd_velocity", "SGD momentum velocities"}};
  switch (kind) {
  case OPT_ADAM:
  case OPT_ADAMW: *n = 2; return adam;
  case OPT_RMSPROP: *n = 1; return rmsprop;
  case OPT_SGD: *n = 1; return sgd;
  }
  NNC_BUG("unknown optimizer");
}

static size_t input_bytes(const Graph *g) {
  size_t n = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->storage == ST_INPUT) {
      size_t end = g->nodes[i]->offset + g->nodes[i]->bytes;
      n = end > n ? end : n;
    }
  return n;
}

TrainingMemory training_memory(const Graph *g, const Program *prog) {
  TrainingMemory m = {0};
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->op == IR_PARAM)
      m.params += ir_elems(g->nodes[i]) * sizeof(float);
  m.grads = m.params; /* parallel to params: the generated program's grads block */
  optimizer_slots(prog->optimizer, &m.optimizer_slots);
  m.optimizer = m.params * (size_t)m.optimizer_slots;
  if (prog->early_stopping.enabled && prog->early_stopping.restore_best)
    m.best_params = m.params;
  m.activations = g->arena_bytes;
  m.batch = input_bytes(g);
  m.total = m.params + m.grads + m.optimizer + m.best_params + m.activations + m.batch;
  return m;
}

static double gib(size_t bytes) { return (double)bytes / (1024.0 * 1024.0 * 1024.0); }

/* The kernels take a tensor's rows (the batch times every axis but the
 * last) as an int, and the generated C computes them as `m * rows`. */
static bool rows_fit_int(const Graph *g, Diag *diag) {
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    size_t last = n->rank ? (size_t)n->dims[n->rank - 1] : 1;
    size_t rows = n->batched ? (size_t)g->batch_size * (ir_elems(n) / last) : 0;
    if (rows > INT_MAX) {
      diag_error(diag, n->loc,
                 "with a batch of %d, '%s' has %zu rows (the batch times every axis but the "
                 "last), more than the kernels can index (%d); use a smaller batch_size",
                 g->batch_size, n->name ? n->name : "output", rows, INT_MAX);
      return false;
    }
  }
  return true;
}

bool memplan_check_limit(const Graph *g, const Program *prog, SrcLoc model_loc, size_t limit,
                         size_t physical, Diag *diag) {
  TrainingMemory m = training_memory(g, prog);
  bool hard = limit == 0 || limit > MAX_TRAINING_BYTES;
  size_t max = hard ? MAX_TRAINING_BYTES : limit;
  if (m.total > max) {
    diag_error(diag, model_loc,
               "training this model needs %.2f GiB (parameters, gradients and optimizer state "
               "%.2f GiB, activations of a batch of %d %.2f GiB), more than %s (%.2f GiB)",
               gib(m.total), gib(m.params + m.grads + m.optimizer + m.best_params),
               g->batch_size, gib(m.activations + m.batch),
               hard ? "any process can address" : "--max-memory", gib(max));
    return false;
  }
  if (!rows_fit_int(g, diag))
    return false;
  if (physical && m.total > physical)
    diag_warning(diag, model_loc,
                 "training this model needs %.2f GiB (activations of a batch of %d: %.2f GiB), "
                 "more than this machine's %.2f GiB of memory: the program will stop at "
                 "start-up unless it runs on a larger machine (a smaller batch_size needs less)",
                 gib(m.total), g->batch_size, gib(m.activations + m.batch), gib(physical));
  return true;
}
