/*
 * fuse.c — fusion rewrites on the forward + backward graph.
 *
 * Runs after autodiff, so a fusion sees both a forward pattern and the
 * backward nodes autodiff made for it. Each rewrite turns one node into the
 * fused op, marks the others dead, and records what it fused in `fused`
 * (the emitter prints it as a comment):
 *
 *   1. softmax + crossentropy, and their two gradients
 *        -> softmax_crossentropy (log-sum-exp, stable) and its gradient
 *           (probs - onehot) * w / m
 *      sigmoid + binary crossentropy, and their two gradients
 *        -> sigmoid_binary_crossentropy and its gradient (probs - targets) / (k m)
 *   2. matmul + bias_add [+ relu|sigmoid|tanh], and likewise depthwise_conv2d
 *      (ops.def's OPF_EPILOGUE)
 *        -> matmul with a GEMM epilogue (one pass over the output)
 *   3. dropout_grad + act_grad -> act_dropout_grad (one pass)
 *   4. max_pool_grad + relu's act_grad -> max_pool_grad[relu] (one pass)
 *   5. a first convolution (its input needs no gradient) with a short
 *      window, its bias and relu, and a max pool whose windows tile its
 *      output -> pooled_matmul (neither the conv's columns nor its output
 *      are stored: the kernels read the image, and keep only the pooled
 *      values and each window's winner), with pooled_matmul_grad_w
 *      computing the kernel's and the bias's gradients from the pooled
 *      gradient in one pass (rt_pooled_conv.c says why this pays)
 *   6. a convolution kept whole (lower.c, oneDNN): its weight gradient's
 *      kernel writes its bias gradient too (one pass over dy)
 *
 * In 5 and 6 the bias gradient becomes a side output of the weight
 * gradient (`mask`, like dropout's mask): a scratch node, written by that
 * kernel, with no code of its own.
 *
 * Each pattern requires the intermediate values to have no other users,
 * so the rewrite never changes what any remaining node computes.
 *
 * The per-layer rewrites (2-4) look users up in a UseIndex built once per
 * rewrite (use counts and the sole user, by node id), so fusing a model of
 * thousands of layers stays linear; the loss rewrites (1) run once.
 */
#include "nnc.h"
#include "rt_limits.h"

#include <string.h>

static IrNode *find_user(const Graph *g, const IrNode *n, IrOp op, int slot) {
  for (int i = 0; i < g->n_nodes; i++) {
    IrNode *u = g->nodes[i];
    if (!u->dead && u->op == op && slot < u->n_in && u->in[slot] == n)
      return u;
  }
  return NULL;
}

/* Who uses each node, by node id: the live uses (inputs, aux, aux2, as
 * ir_use_count counts them) and a list of the users, so a rewrite finds a
 * node's users without scanning the schedule. Lists may keep users that
 * died since; lookups skip them. */
typedef struct UseEntry {
  IrNode *user;
  struct UseEntry *next;
} UseEntry;

typedef struct {
  int *count;
  UseEntry **head, **tail;
} UseIndex;

static void note_use(Arena *a, UseIndex *u, IrNode *user, const IrNode *used) {
  if (!used)
    return;
  UseEntry *e = ARENA_NEW(a, UseEntry);
  e->user = user;
  if (u->tail[used->id])
    u->tail[used->id]->next = e;
  else
    u->head[used->id] = e;
  u->tail[used->id] = e;
  u->count[used->id]++;
}

static UseIndex index_uses(const Graph *g) {
  UseIndex u = {ARENA_ARRAY(g->arena, int, g->next_id),
                ARENA_ARRAY(g->arena, UseEntry *, g->next_id),
                ARENA_ARRAY(g->arena, UseEntry *, g->next_id)};
  for (int i = 0; i < g->n_nodes; i++) {
    IrNode *user = g->nodes[i];
    if (user->dead)
      continue;
    for (int k = 0; k < user->n_in; k++)
      note_use(g->arena, &u, user, user->in[k]);
    IrNode *side[2];
    for (int k = 0, n = ir_side_outputs(user, side); k < n; k++)
      note_use(g->arena, &u, user, side[k]);
  }
  return u;
}

/* n's only live user if it has op `op` and reads n in `slot`, else NULL */
static IrNode *sole_user(const UseIndex *u, const IrNode *n, IrOp op, int slot) {
  if (u->count[n->id] != 1)
    return NULL;
  const UseEntry *e = u->head[n->id];
  while (e && e->user->dead)
    e = e->next;
  IrNode *s = e ? e->user : NULL;
  return s && s->op == op && slot < s->n_in && s->in[slot] == n ? s : NULL;
}

/* ir_replace_uses(from -> to) through the index, where from was to's only
 * user and is about to die: to takes over from's users and their count. */
static void replace_uses(Graph *g, UseIndex *u, IrNode *from, IrNode *to) {
  for (const UseEntry *e = u->head[from->id]; e; e = e->next)
    for (int k = 0; k < e->user->n_in; k++)
      if (e->user->in[k] == from)
        e->user->in[k] = to;
  if (g->output == from)
    g->output = to;
  if (g->loss == from)
    g->loss = to;
  if (u->head[from->id]) { /* splice from's users onto to's */
    if (u->tail[to->id])
      u->tail[to->id]->next = u->head[from->id];
    else
      u->head[to->id] = u->head[from->id];
    u->tail[to->id] = u->tail[from->id];
  }
  u->count[to->id] = u->count[from->id];
}

/* 1. loss = xent(softmax(z)); ds = xent_grad(softmax); dz = softmax_grad(ds, softmax) */
static int fuse_softmax_xent(Graph *g) {
  IrNode *loss = g->loss;
  if (!loss || loss->op != IR_XENT || loss->in[0]->op != IR_SOFTMAX)
    return 0;
  IrNode *sm = loss->in[0];
  IrNode *xg = find_user(g, sm, IR_XENT_GRAD, 0);
  IrNode *sg = xg ? find_user(g, xg, IR_SOFTMAX_GRAD, 0) : NULL;
  if (!xg || !sg || ir_use_count(g, xg) != 1)
    return 0;
  int expected_uses = 3; /* loss, xent_grad, softmax_grad */
  if (ir_use_count(g, sm) != expected_uses)
    return 0;
  loss->op = IR_SOFTMAX_XENT;
  loss->in[0] = sm->in[0];
  ir_set_shape(loss, DT_F32, true, sm->rank, sm->dims); /* its output is now the probabilities */
  loss->fused = "softmax + categorical cross-entropy (log-sum-exp, stable)";
  loss->name = "probs";
  sg->op = IR_SOFTMAX_XENT_GRAD;
  sg->smoothing = loss->smoothing;
  for (int k = 0; k < loss->n_in; k++)
    sg->in[k] = k == 0 ? loss : loss->in[k];
  sg->n_in = loss->n_in;
  sg->fused = "softmax_grad + crossentropy_grad: (probs - targets) * weight / m";
  xg->dead = true;
  sm->dead = true;
  if (g->output == sm)
    g->output = loss;
  return 1;
}

/* 1b. loss = bxent(sigmoid(z)); dp = bxent_grad(p); dz = act_grad(dp, p) */
static int fuse_sigmoid_bxent(Graph *g) {
  IrNode *loss = g->loss;
  if (!loss || loss->op != IR_BXENT || loss->in[0]->op != IR_ACT ||
      loss->in[0]->act != ACT_SIGMOID)
    return 0;
  IrNode *sg = loss->in[0];
  IrNode *xg = find_user(g, sg, IR_BXENT_GRAD, 0);
  IrNode *ag = xg ? find_user(g, xg, IR_ACT_GRAD, 0) : NULL;
  if (!xg || !ag || ir_use_count(g, xg) != 1 || ir_use_count(g, sg) != 3)
    return 0; /* loss, bxent_grad, act_grad */
  loss->op = IR_SIGMOID_BXENT;
  loss->in[0] = sg->in[0];
  ir_set_shape(loss, DT_F32, true, sg->rank, sg->dims); /* its output is now the probabilities */
  loss->fused = "sigmoid + binary cross-entropy (max(z, 0) - z t + log(1 + e^-|z|), stable)";
  loss->name = "probs";
  ag->op = IR_SIGMOID_BXENT_GRAD;
  ag->in[0] = loss;
  ag->in[1] = loss->in[1];
  ag->n_in = 2;
  ag->smoothing = loss->smoothing;
  ag->act = ACT_NONE;
  ag->fused = "sigmoid_grad + binary_crossentropy_grad: (probs - targets) / (k m)";
  xg->dead = true;
  sg->dead = true;
  if (g->output == sg)
    g->output = loss;
  return 1;
}

static bool epilogue_act(Activation a) {
  return a != ACT_NONE && a != ACT_SOFTMAX; /* elementwise, derivative from the output */
}

/* 2. y = act(matmul(x, W) + b) -> one matmul with a bias + activation epilogue
 *    (any OPF_EPILOGUE op: matmul, depthwise_conv2d) */
static int fuse_gemm_epilogue(Graph *g) {
  int fused = 0;
  UseIndex uses = index_uses(g);
  for (int i = 0; i < g->n_nodes; i++) {
    IrNode *m = g->nodes[i];
    if (m->dead || !(ir_op_info(m->op)->flags & OPF_EPILOGUE) || m->has_bias)
      continue;
    IrNode *b = sole_user(&uses, m, IR_BIAS_ADD, 0);
    if (!b)
      continue;
    m->in[2] = b->in[1];
    m->n_in = 3;
    m->has_bias = true;
    m->fused = arena_printf(g->arena, "%s + bias_add", ir_op_name(m->op));
    const char *name = b->name ? b->name : m->name;
    replace_uses(g, &uses, b, m);
    b->dead = true;
    fused++;
    IrNode *a = sole_user(&uses, m, IR_ACT, 0);
    if (a && epilogue_act(a->act)) {
      m->act = a->act;
      m->alpha = a->alpha;
      m->fused = arena_printf(g->arena, "%s + bias_add + %s", ir_op_name(m->op),
                              ir_act_name(a->act));
      replace_uses(g, &uses, a, m);
      a->dead = true;
      name = a->name ? a->name : name;
    }
    m->name = name;
  }
  return fused;
}

/* 3. dx = act_grad(dropout_grad(dy, mask), y) -> act_dropout_grad(dy, mask, y) */
static int fuse_act_dropout_grad(Graph *g) {
  int fused = 0;
  UseIndex uses = index_uses(g); /* stays right: each rewrite moves d's reads to a */
  for (int i = 0; i < g->n_nodes; i++) {
    IrNode *d = g->nodes[i];
    if (d->dead || d->op != IR_DROPOUT_GRAD)
      continue;
    IrNode *a = sole_user(&uses, d, IR_ACT_GRAD, 0);
    if (!a)
      continue;
    IrNode *out = a->in[1];
    a->op = IR_ACT_DROPOUT_GRAD;
    a->in[0] = d->in[0];
    a->in[1] = d->in[1];
    a->in[2] = out;
    a->n_in = 3;
    a->fused = arena_printf(g->arena, "dropout_grad + %s_grad", ir_act_name(a->act));
    d->dead = true;
    fused++;
  }
  return fused;
}

/* 4. dx = act_grad[relu](max_pool_grad(dy, y), y) -> max_pool_grad[relu](dy, y):
 *    the max's gradient passes only where the relu output y > 0, one pass */
static int fuse_maxpool_relu_grad(Graph *g) {
  int fused = 0;
  UseIndex uses = index_uses(g); /* pooling gradients' counts do not change below */
  for (int i = 0; i < g->n_nodes; i++) {
    IrNode *a = g->nodes[i];
    if (a->dead || a->op != IR_ACT_GRAD || a->act != ACT_RELU)
      continue;
    IrNode *p = a->in[0];
    if (p->op != IR_MAXPOOL_GRAD || p->act != ACT_NONE || p->in[1] != a->in[1] ||
        uses.count[p->id] != 1)
      continue;
    a->op = IR_MAXPOOL_GRAD;
    a->in[0] = p->in[0];
    a->in[1] = p->in[1];
    a->win = p->win;
    a->layer = p->layer; /* emitted with the pool's backward, using its window */
    a->fused = "max_pool_grad + relu_grad: the max's gradient where the relu output > 0";
    p->dead = true;
    fused++;
  }
  return fused;
}

/* 5. Rule 5's limits: the convolution's rows are short enough to compute in
 * registers (a first convolution on one or three channels), and the
 * winner's cell fits a byte. Its columns are then never made: the kernels
 * read the image under each window (rt_pooled_conv.c). */

static bool pool_tiles(const IrNode *p) {
  const Window *w = &p->win;
  return w->sh == w->kh && w->sw == w->kw && w->pad_top == 0 && w->pad_left == 0 &&
         w->oh * w->kh <= w->h && w->ow * w->kw <= w->w && w->kh * w->kw <= RT_POOLED_CELLS_MAX;
}

static bool short_columns(const IrNode *cols) {
  return cols->op == IR_IM2COL && cols->dims[cols->rank - 1] <= RT_POOLED_K_MAX;
}

static bool listed(IrNode *const *list, int n, const IrNode *x) {
  for (int i = 0; i < n; i++)
    if (list[i] == x)
      return true;
  return false;
}

/* The live users of n, each once, in any order; returns how many, or max + 1
 * when there are more than max. */
static int live_users(const UseIndex *u, const IrNode *n, IrNode **out, int max) {
  int k = 0;
  for (const UseEntry *e = u->head[n->id]; e; e = e->next) {
    if (e->user->dead || listed(out, k, e->user))
      continue;
    if (k == max)
      return max + 1;
    out[k++] = e->user;
  }
  return k;
}

/* The conv's gradient nodes: dp = max_pool_grad[act](dy, y) read by bias_grad
 * (with a bias) and matmul_grad_w only, no matmul_grad_x (the conv input
 * needs no gradient). Fills grads = {bias_grad or NULL, matmul_grad_w}. */
static bool conv_grads(const UseIndex *u, const IrNode *dp, bool has_bias, IrNode *grads[2]) {
  IrNode *users[3];
  int n = live_users(u, dp, users, 2);
  grads[0] = grads[1] = NULL;
  for (int i = 0; i < n && n <= 2; i++) {
    if (users[i]->op == IR_BIAS_GRAD)
      grads[0] = users[i];
    else if (users[i]->op == IR_MATMUL_GRAD_W && users[i]->in[1] == dp)
      grads[1] = users[i];
  }
  return n == 1 + has_bias && grads[1] && (grads[0] != NULL) == has_bias;
}

/* Rules 5 and 6: the bias gradient db becomes a side output of the weight
 * gradient dw, whose kernel writes it (db keeps its name, storage and
 * grad_of; it is a scratch node now, with no code of its own). */
static void write_beside(Graph *g, IrNode *db, IrNode *dw) {
  db->op = IR_SCRATCH;
  db->n_in = 0;
  dw->mask = db;
  const char *also = arena_printf(g->arena, "%s, in the same pass over dy", db->name);
  dw->fused = dw->fused ? arena_printf(g->arena, "%s, and %s", dw->fused, also)
                        : arena_printf(g->arena, "the kernel's gradient and %s", also);
}

/* The pool p over matmul m, and dp, the gradient of m's output, when rule 5 applies */
static IrNode *pooled_conv_grad(const UseIndex *u, const IrNode *p) {
  const IrNode *m = p->in[0];
  if (m->op != IR_MATMUL || !short_columns(m->in[0]) || !pool_tiles(p) ||
      (m->act != ACT_NONE && m->act != ACT_RELU))
    return NULL;
  IrNode *users[3];
  int n = live_users(u, m, users, 2);
  IrNode *dp = NULL;
  for (int i = 0; i < n && n == 2; i++)
    if (users[i]->op == IR_MAXPOOL_GRAD && users[i]->in[1] == m && users[i]->act == m->act)
      dp = users[i];
  return dp;
}

static int fuse_pooled_conv(Graph *g) {
  int fused = 0;
  UseIndex uses = index_uses(g);
  for (int i = 0; i < g->n_nodes; i++) {
    IrNode *p = g->nodes[i], *grads[2];
    if (p->dead || p->op != IR_MAXPOOL)
      continue;
    IrNode *dp = pooled_conv_grad(&uses, p);
    if (!dp || !conv_grads(&uses, dp, p->in[0]->has_bias, grads))
      continue;
    IrNode *m = p->in[0], *cols = m->in[0], *dy = dp->in[0], *users[3];
    if (live_users(&uses, cols, users, 2) != 2) /* the matmul and its weight gradient */
      continue;
    IrNode *winners = ir_new_node(g, IR_SCRATCH, p->loc, p->layer);
    ir_set_shape(winners, DT_U8, true, p->rank, p->dims);
    winners->name = arena_printf(g->arena, "%s.winners", p->layer);
    ir_insert(g, i++, winners); /* before p, which writes it */
    p->op = IR_POOLED_MATMUL;
    p->n_in = m->n_in;
    for (int k = 0; k < m->n_in; k++)
      p->in[k] = m->in[k];
    p->in[0] = cols->in[0]; /* the image itself: no columns */
    p->conv_win = cols->win;
    p->has_bias = m->has_bias;
    p->act = m->act;
    p->units = m->units;
    p->mask = winners;
    p->fused = arena_printf(g->arena, "%s (%s) + max_pool: only the pooled values are stored",
                            m->layer, m->fused ? m->fused : "matmul");
    grads[1]->op = IR_POOLED_MATMUL_GRAD_W;
    grads[1]->in[0] = cols->in[0], grads[1]->in[1] = dy, grads[1]->in[2] = p;
    grads[1]->in[3] = winners;
    grads[1]->conv_win = cols->win;
    grads[1]->n_in = 4;
    grads[1]->fused = "the kernel's gradient from the pooled gradient and the winners' inputs";
    if (grads[0])
      write_beside(g, grads[0], grads[1]);
    m->dead = dp->dead = cols->dead = true;
    fused++;
  }
  return fused;
}

/* 6. y = conv2d(x, W) kept whole: db = bias_grad(dy) is written by
 *    dW = conv2d_grad_w(x, dy) (oneDNN's weight gradient sums dy too) */
static int fuse_conv_bias_grad(Graph *g) {
  int fused = 0;
  UseIndex uses = index_uses(g);
  for (int i = 0; i < g->n_nodes; i++) {
    IrNode *dw = g->nodes[i], *users[4];
    if (dw->dead || dw->op != IR_CONV2D_GRAD_W || dw->mask)
      continue;
    IrNode *dy = dw->in[1], *db = NULL; /* read by dw, db and maybe dx */
    int n = live_users(&uses, dy, users, 3);
    for (int k = 0; k < n && n <= 3; k++)
      if (users[k]->op == IR_BIAS_GRAD && !strcmp(users[k]->layer, dw->layer))
        db = users[k];
    if (!db)
      continue;
    write_beside(g, db, dw);
    fused++;
  }
  return fused;
}

int fuse(Graph *g) {
  int n = fuse_softmax_xent(g) + fuse_sigmoid_bxent(g);
  n += fuse_gemm_epilogue(g);
  n += fuse_act_dropout_grad(g);
  n += fuse_maxpool_relu_grad(g);
  n += fuse_pooled_conv(g);
  n += fuse_conv_bias_grad(g);
  ir_compact(g);
  return n;
}
