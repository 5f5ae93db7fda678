/*
 * identity.c — the model's identity: one 64-bit FNV-1a hash of what a
 * checkpoint's numbers mean, computed right after shape inference (so
 * `nnc build` and `nnc export`, which stops there, compute the same).
 *
 * Hashed: every node of the graph as shape inference leaves it (the
 * forward graph and its loss) in schedule order: its op by name, layer and
 * tensor names, dtype and shape, inputs, and every attribute an op reads
 * (activation, units, windows, padding, rescaling, rates, batch norm
 * constants, parameters' trainability, initializer, role and fan); then the
 * classes, the labels and the loss, and the optimizer with its slot names
 * (the checkpoint's optimizer tensors). The backward graph, lowering, fusion
 * and the memory plan follow from these by the compiler's fixed rules, so
 * they add nothing. Left out on purpose: source positions and comments, and
 * the recipe (learning rate, epochs, batch size, callbacks, data files),
 * which change how weights are trained, not what they are.
 *
 * Names and strings are hashed by their text (with their terminating NUL),
 * never by enum values, so adding an op or an activation changes no
 * existing model's identity.
 */
#include "nnc.h"

#include <string.h>

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static void hash_bytes(uint64_t *h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) {
    *h ^= p[i];
    *h *= FNV_PRIME;
  }
}

/* A string and its NUL; NULL hashes as one 0xff byte (no string has it). */
static void hash_str(uint64_t *h, const char *s) {
  static const unsigned char absent = 0xff;
  if (s)
    hash_bytes(h, s, strlen(s) + 1);
  else
    hash_bytes(h, &absent, 1);
}

/* Integers as 8 little-endian bytes, whatever their C type. */
static void hash_int(uint64_t *h, long long v) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (unsigned char)((unsigned long long)v >> (8 * i));
  hash_bytes(h, b, 8);
}

/* Floats by their bits (as double: a float converts exactly). */
static void hash_real(uint64_t *h, double v) {
  long long bits;
  memcpy(&bits, &v, sizeof bits);
  hash_int(h, bits);
}

static void hash_window(uint64_t *h, const Window *w) {
  const int v[] = {w->kh, w->kw, w->sh, w->sw, w->same, w->h, w->w, w->c, w->oh, w->ow,
                   w->pad_top, w->pad_left};
  for (size_t i = 0; i < sizeof v / sizeof *v; i++)
    hash_int(h, v[i]);
}

/* A node's type, inputs and attributes. */
static void hash_node(uint64_t *h, const IrNode *n) {
  hash_str(h, ir_op_name(n->op));
  hash_str(h, n->layer);
  hash_str(h, n->name);
  hash_int(h, n->dtype);
  hash_int(h, n->batched);
  hash_int(h, n->rank);
  for (int d = 0; d < n->rank; d++)
    hash_int(h, n->dims[d]);
  hash_int(h, n->n_in);
  for (int i = 0; i < n->n_in; i++)
    hash_int(h, n->in[i] ? n->in[i]->id : -1);
  hash_str(h, ir_act_name(n->act));
  hash_real(h, n->alpha);
  hash_int(h, n->units);
  hash_window(h, &n->win);
  const int ints[] = {n->depth_multiplier, n->pad.top, n->pad.bottom, n->pad.left, n->pad.right,
                      n->upsample.sy, n->upsample.sx, n->has_target_shape, n->per_feature,
                      n->trainable, n->role, n->fan_in, n->fan_out};
  for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
    hash_int(h, ints[i]);
  const float reals[] = {n->rescale.scale, n->rescale.offset, n->bn.momentum, n->bn.epsilon,
                         n->rate, n->smoothing, n->l2};
  for (size_t i = 0; i < sizeof reals / sizeof *reals; i++)
    hash_real(h, reals[i]);
  hash_str(h, n->op == IR_PARAM ? ir_init_name(n->init) : NULL);
}

/* What the outputs mean and what the optimizer keeps beside the weights. */
static void hash_training(uint64_t *h, const Program *p) {
  static const char *const optimizers[] = {
      [OPT_ADAM] = "adam", [OPT_RMSPROP] = "rmsprop", [OPT_SGD] = "sgd", [OPT_ADAMW] = "adamw"};
  static const char *const losses[] = {
      [LOSS_SPARSE_CATEGORICAL_CROSSENTROPY] = "sparse_categorical_crossentropy",
      [LOSS_CATEGORICAL_CROSSENTROPY] = "categorical_crossentropy",
      [LOSS_BINARY_CROSSENTROPY] = "binary_crossentropy"};
  hash_int(h, p->n_classes);
  for (int c = 0; c < p->n_classes; c++)
    hash_str(h, p->class_names[c]);
  hash_int(h, p->n_outputs);
  for (int k = 0; k < p->n_outputs; k++)
    hash_str(h, p->output_names[k]);
  hash_str(h, losses[p->loss]);
  hash_int(h, p->from_logits);
  hash_str(h, optimizers[p->optimizer]);
  int n_slots;
  const OptimizerSlot *slots = optimizer_slots(p->optimizer, &n_slots);
  for (int i = 0; i < n_slots; i++)
    hash_str(h, slots[i].name);
}

uint64_t graph_identity(const Graph *g, const Program *prog) {
  uint64_t h = FNV_OFFSET;
  hash_str(&h, "nnc model identity 1");
  hash_str(&h, g->model_name);
  hash_int(&h, g->n_nodes);
  for (int i = 0; i < g->n_nodes; i++)
    if (!g->nodes[i]->dead)
      hash_node(&h, g->nodes[i]);
  hash_training(&h, prog);
  return h;
}
