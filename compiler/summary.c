/*
 * summary.c — `nnc summary`: Keras's model.summary() table for the typed
 * graph: one row per layer (name, type, output shape with None for the
 * batch, parameter count), then total, trainable and non-trainable counts
 * with bytes (4 per float32). Normalization counts its mean, variance and
 * count, as Keras does. Then, beyond Keras, the training memory the memory
 * plan gives the generated program, block by block.
 */
#include "nnc.h"

#include <string.h>

static void shape_text(char *buf, size_t size, const IrNode *n) {
  int len = snprintf(buf, size, "(None");
  for (int i = 0; i < n->rank; i++)
    len += snprintf(buf + len, size - (size_t)len, ", %d", n->dims[i]);
  snprintf(buf + len, size - (size_t)len, ")");
}

static void count_text(char *buf, size_t size, size_t n) {
  char digits[32];
  int len = snprintf(digits, sizeof digits, "%zu", n), j = 0;
  for (int i = 0; i < len && (size_t)j + 2 < size; i++) {
    buf[j++] = digits[i];
    if ((len - i - 1) % 3 == 0 && i != len - 1)
      buf[j++] = ',';
  }
  buf[j] = '\0';
}

static void bytes_text(char *buf, size_t size, size_t bytes) {
  if (bytes < 1024)
    snprintf(buf, size, "%.2f B", (double)bytes);
  else if (bytes < 1024 * 1024)
    snprintf(buf, size, "%.2f KB", bytes / 1024.0);
  else if (bytes < 1024ull * 1024 * 1024)
    snprintf(buf, size, "%.2f MB", bytes / (1024.0 * 1024.0));
  else
    snprintf(buf, size, "%.2f GB", bytes / (1024.0 * 1024.0 * 1024.0));
}

/* Keras keeps a normalization's sample count as an int64 (8 bytes); the rest are float32. */
static size_t param_bytes(const IrNode *p) {
  return ir_elems(p) * (p->role == ROLE_SAMPLE_COUNT ? 8 : 4);
}

/* The layer's output: its last forward node with a shape. */
static const IrNode *layer_output(const Graph *g, const char *layer) {
  const IrNode *out = NULL;
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (!n->backward && n->op != IR_PARAM && n->op != IR_SCRATCH && n->layer &&
        !strcmp(n->layer, layer))
      out = n;
  }
  return out;
}

static void print_total(FILE *out, const char *what, size_t count, size_t bytes) {
  char c[32], b[32];
  count_text(c, sizeof c, count);
  bytes_text(b, sizeof b, bytes);
  fprintf(out, " %s params: %s (%s)\n", what, c, b);
}

void summary_print(FILE *out, const Graph *g) {
  char shape[64], count[32];
  const char *rule = "───────────────────────────────────────────────────────────────────────────";
  fprintf(out, "Model: \"%s\"\n%s\n", g->model_name, rule);
  fprintf(out, " %-40.40s %-20s %12s\n%s\n", "Layer (type)", "Output Shape", "Param #", rule);
  shape_text(shape, sizeof shape, g->input);
  fprintf(out, " %-40.40s %-20s %12s\n", "input_layer (InputLayer)", shape, "0");
  size_t trainable = 0, frozen = 0, trainable_bytes = 0, frozen_bytes = 0;
  for (int l = 0; l < g->n_layers; l++) {
    size_t params = 0;
    for (int i = 0; i < g->n_nodes; i++) {
      const IrNode *n = g->nodes[i];
      if (n->op != IR_PARAM || strcmp(n->layer, g->layer_names[l]))
        continue;
      params += ir_elems(n);
      *(n->trainable ? &trainable : &frozen) += ir_elems(n);
      *(n->trainable ? &trainable_bytes : &frozen_bytes) += param_bytes(n);
    }
    char label[96];
    snprintf(label, sizeof label, "%s (%s)", g->layer_names[l], g->layer_classes[l]);
    if (strlen(label) > 40) /* as Keras does: cut, and say so */
      strcpy(label + 37, "...");
    shape_text(shape, sizeof shape, layer_output(g, g->layer_names[l]));
    count_text(count, sizeof count, params);
    fprintf(out, " %-40.40s %-20s %12s\n", label, shape, count);
  }
  fprintf(out, "%s\n", rule);
  print_total(out, "Total", trainable + frozen, trainable_bytes + frozen_bytes);
  print_total(out, "Trainable", trainable, trainable_bytes);
  print_total(out, "Non-trainable", frozen, frozen_bytes);
}

/* "58,879,272 bytes (56.15 MB)" */
static void print_memory_row(FILE *out, const char *what, size_t bytes, const char *note) {
  char c[32], b[32];
  count_text(c, sizeof c, bytes);
  bytes_text(b, sizeof b, bytes);
  fprintf(out, "   %-18s %16s bytes (%s)%s\n", what, c, b, note);
}

void summary_print_memory(FILE *out, const Graph *g, const Program *prog) {
  TrainingMemory m = training_memory(g, prog);
  char note[128];
  fprintf(out, " Training memory (planned, batch %d):\n", g->batch_size);
  print_memory_row(out, "parameters", m.params, "");
  print_memory_row(out, "gradients", m.grads, "");
  snprintf(note, sizeof note, " %d x parameters", m.optimizer_slots);
  print_memory_row(out, "optimizer state", m.optimizer, note);
  if (m.best_params)
    print_memory_row(out, "best weights", m.best_params, " early stopping");
  print_memory_row(out, "activations", m.activations, "");
  print_memory_row(out, "batch", m.batch, "");
  print_memory_row(out, "total", m.total, "");
}
