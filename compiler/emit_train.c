/*
 * emit_train.c — the recipe part of the generated C: the checkpoint table,
 * data preparation, the fit loop with its callbacks, the gradient check,
 * evaluation, expectations and main.
 */
#include "emit.h"

#include <string.h>

/* ---- checkpoint table ---- */

void emit_checkpoint_table(Emitter *e) {
  const Graph *g = e->g;
  P("/* ===== checkpoint: parameters, statistics and optimizer state, by name ===== */\n\n");
  int n_slots, count = 0;
  const OptimizerSlot *slots = emit_optimizer_slots(e->prog->optimizer, &n_slots);
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->op == IR_PARAM)
      count += 1 + (g->nodes[i]->trainable ? n_slots : 0);
  /* the blocks are heap pointers (allocate_storage), so the table is bound at start-up */
  P("#define N_CHECKPOINT_TENSORS %d\n", count);
  P("static RtTensorRef checkpoint_tensors[N_CHECKPOINT_TENSORS];\n\n");
  P("static void bind_checkpoint_tensors(void) {\n");
  P("  const RtTensorRef table[N_CHECKPOINT_TENSORS] = {\n");
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->op == IR_PARAM)
      P("      {\"%s\", params + %zu, %zu},\n", n->name, n->offset / 4, ir_elems(n));
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    for (int k = 0; k < n_slots && n->op == IR_PARAM && n->trainable; k++)
      P("      {\"%s/%s\", %s + %zu, %zu},\n", slots[k].name, n->name, slots[k].name,
        n->offset / 4, ir_elems(n));
  }
  P("  };\n  memcpy(checkpoint_tensors, table, sizeof table);\n}\n\n");
}

/* ---- data, fit, evaluate, main: the recipe of the data/train/evaluate sections ---- */

static void emit_normalization_adapt(Emitter *e) {
  const Graph *g = e->g;
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->op != IR_NORMALIZE)
      continue;
    int features = n->per_feature ? c_last_dim(n->in[0]) : 1;
    P("  /* %s.adapt(): statistics of the training split only */\n", n->layer);
    P("  rt_adapt_mean_var(%s, %s, train, %d);\n", c_name(e, n->in[1]), c_name(e, n->in[2]), features);
    for (int k = 0; k < g->n_nodes; k++) {
      const IrNode *c = g->nodes[k];
      if (c->op == IR_PARAM && !strcmp(c->layer, n->layer) && strstr(c->name, ".count"))
        P("  %s[0] = (float)train->count * %zu; /* values averaged per statistic */\n", c_name(e, c),
      ir_elems(n->in[0]) / (size_t)features);
    }
  }
}

/* "(28, 28)": the input's per-example shape */
static const char *input_shape_text(Emitter *e) {
  return arena_printf(e->g->arena, "(%s", ir_shape_str(e->g->arena, e->g->input) + 4);
}

/* Loads the first --limit-test examples of the test split into ds. */
static void emit_load_test(Emitter *e) {
  P("static void load_test(RtDataset *ds, const RtOptions *opt) {\n");
  P("  rt_dataset_load_idx(ds, opt->data_dir, \"t10k\");\n");
  P("  check_input_shape(ds, \"test data\");\n");
  P("  if (opt->limit_test > 0 && opt->limit_test < ds->count) {\n");
  P("    RtDataset head;\n    rt_dataset_slice(&head, ds, 0, opt->limit_test);\n");
  P("    rt_dataset_free(ds);\n    *ds = head;\n  }\n}\n\n");
}

/* The data section's `validation ...`: full (the training file) becomes
 * *train and *val, or *val comes from elsewhere. */
static void emit_validation_split(Emitter *e) {
  const Program *p = e->prog;
  switch (p->validation) {
  case VAL_NONE:
    P("  memset(val, 0, sizeof *val);\n  *train = full;\n");
    return;
  case VAL_LAST:
  case VAL_SPLIT:
    if (p->validation == VAL_LAST)
      P("  int n_val = %d; /* validation last %d */\n", p->validation_last, p->validation_last);
    else /* Keras: split_at = ceil(N (1 - F)) */
      P("  int n_val = full.count - (int)ceil(full.count * (1.0 - %.17g)); /* validation split "
        "%g */\n", p->validation_split, p->validation_split);
    P("  if (n_val >= full.count)\n");
    P("    rt_die(\"the validation split takes %%d of %%d examples: nothing is left to train "
      "on\", n_val, full.count);\n");
    if (p->validation == VAL_SPLIT && p->validation_seeded)
      P("  rt_dataset_split_random(train, val, &full, n_val, %ldu); /* chosen with seed %ld */\n",
        p->validation_seed, p->validation_seed);
    else {
      P("  rt_dataset_slice(val, &full, full.count - n_val, n_val); /* the last n_val */\n");
      P("  rt_dataset_slice(train, &full, 0, full.count - n_val);\n");
    }
    P("  rt_dataset_free(&full);\n");
    return;
  case VAL_TEST:
    P("  /* validation test: the test split doubles as validation, as the seeds'\n"
      "     validation_data=(x_test, y_test) do (model selection then sees the test set) */\n");
    P("  load_test(val, opt);\n  *train = full;\n");
    return;
  case VAL_FILES:
    P("  /* validation files: a separate source */\n");
    P("  rt_dataset_load_idx_files(val, %s, %s);\n", c_string(e, p->validation_images),
      c_string(e, p->validation_labels));
    P("  check_input_shape(val, \"validation data\");\n  *train = full;\n");
    return;
  }
}

void emit_prepare_data(Emitter *e) {
  const Program *p = e->prog;
  P("/* ===== data: load, split, reshape the training distribution ===== */\n\n");
  P("static float class_weight[N_CLASSES];\n\n");
  P("static void check_input_shape(const RtDataset *ds, const char *what) {\n");
  P("  if (ds->item_size != INPUT_SIZE)\n");
  P("    rt_die(\"%%s: images have %%zu values (%%dx%%dx%%d), but model input %s is %s\",\n"
    "           what, ds->item_size, ds->rows, ds->cols, ds->channels);\n",
    e->g->input->name, input_shape_text(e));
  P("}\n\n");
  emit_load_test(e);
  P("static void prepare_data(RtDataset *train, RtDataset *val, const RtOptions *opt) {\n");
  P("  RtDataset full;\n  rt_dataset_load_idx(&full, opt->data_dir, \"train\");\n");
  P("  check_input_shape(&full, \"training data\");\n");
  P("  if (opt->limit_train > 0 && opt->limit_train < full.count) {\n");
  P("    RtDataset head;\n    rt_dataset_slice(&head, &full, 0, opt->limit_train);\n");
  P("    rt_dataset_free(&full);\n    full = head;\n  }\n");
  emit_validation_split(e);
  if (p->n_keep) {
    P("  /* keep train {...} seed %ld: the manufactured imbalance */\n", p->keep_seed);
    P("  static const int keep_classes[] = {");
    for (int i = 0; i < p->n_keep; i++)
      P("%s%d", i ? ", " : "", p->keep[i].class_id);
    P("};\n  static const int keep_counts[] = {");
    for (int i = 0; i < p->n_keep; i++)
      P("%s%d", i ? ", " : "", p->keep[i].count);
    P("};\n  rt_dataset_keep(train, keep_classes, keep_counts, %d, %ldu);\n", p->n_keep,
      p->keep_seed);
  }
  emit_normalization_adapt(e); /* on the training split as kept, before any oversampling */
  if (p->oversample)
    P("  /* oversample train: repeat each class up to the largest, then shuffle */\n"
      "  rt_dataset_oversample(train, N_CLASSES, %ldu);\n", p->oversample_seed);
  P("  int counts[N_CLASSES];\n  rt_class_counts(counts, train, N_CLASSES);\n");
  P("  if (!opt->quiet) {\n    printf(\"train: %%d examples, per class [\", train->count);\n");
  P("    for (int c = 0; c < N_CLASSES; c++)\n      printf(\"%%s%%d\", c ? \" \" : \"\", "
    "counts[c]);\n");
  P("    printf(\"]; validation: %%d examples\\n\", val->count);\n  }\n");
  if (p->class_weight_balanced) {
    P("  rt_class_weights_balanced(class_weight, counts, N_CLASSES); /* w_c = N / (C n_c) */\n");
  } else if (p->class_weight_explicit) {
    for (int c = 0; c < p->n_classes; c++)
      P("  class_weight[%d] = %s; /* %s */\n", c, c_float(e, p->class_weight[c]),
        c_comment(e, p->class_names[c]));
  } else {
    P("  for (int c = 0; c < N_CLASSES; c++)\n    class_weight[c] = 1.0f;\n");
  }
  P("}\n\n");
}

void emit_batching(Emitter *e) {
  const Graph *g = e->g;
  const char *labels = c_name(e, g->labels);
  P("/* Copies examples idx[0..m) of ds into the batch block. */\n");
  P("static void load_batch(const RtDataset *ds, const int *idx, int m) {\n");
  P("  for (int i = 0; i < m; i++) {\n");
  P("    memcpy(%s + (size_t)i * INPUT_SIZE, ds->x + (size_t)idx[i] * INPUT_SIZE, "
    "INPUT_SIZE);\n", c_name(e, g->input));
  if (g->binary) {
    P("    const uint8_t *row = TARGET_TABLE + (size_t)ds->y[idx[i]] * N_OUTPUTS; /* the class's "
      "targets */\n");
    P("    for (int k = 0; k < N_OUTPUTS; k++)\n");
    P("      %s[(size_t)i * N_OUTPUTS + k] = row[k];\n", labels);
  } else {
    P("    %s[i] = ds->y[idx[i]];\n", labels);
  }
  if (g->weights)
    P("    %s[i] = class_weight[ds->y[idx[i]]];\n", c_name(e, g->weights));
  P("  }\n}\n\n");
  P("/* The model's scores for the batch: %s probabilities (m, N_SCORES). */\n",
    g->binary ? "sigmoid" : "softmax");
  bool fused = g->loss->op == IR_SOFTMAX_XENT || g->loss->op == IR_SIGMOID_BXENT;
  const IrNode *probs = fused ? g->loss : g->loss->in[0]; /* fused losses output them */
  P("static const float *batch_scores(void) { return %s; }\n\n", c_name(e, probs));
  P("/* One optimizer step on the batch block; returns the batch's loss sum. */\n");
  P("static double train_step(int m, long t) {\n");
  P("  model_forward(m, 1);\n  model_backward(m);\n  optimizer_step(t);\n  return loss_sum;\n}\n\n");
  P("typedef struct {\n  double loss, accuracy, top_k_accuracy; /* top 5 (Keras's k) */\n"
    "  double auc; /* macro ROC AUC, when the scores were kept */\n} EvalResult;\n\n");
  P("/* The macro average of the ROC AUCs of scores (n, N_SCORES) for class labels (n). */\n");
  P("static double mean_auc(const float *scores, const uint8_t *labels, int n) {\n");
  P("  double auc[N_SCORES];\n  rt_roc_auc_columns(auc, scores, labels, %s, n, N_SCORES);\n",
    g->binary ? "TARGET_TABLE" : "NULL");
  P("  return rt_mean_defined(auc, N_SCORES);\n}\n\n");
  P("/* Loss (unweighted, as Keras) and accuracy over a dataset, dropout off; the\n"
    " * confusion matrix too when cm is not NULL, and every example's scores\n"
    " * (ds->count, N_SCORES) when scores is not NULL. */\n");
  P("static EvalResult evaluate(const RtDataset *ds, RtConfusion *cm, float *scores) {\n");
  P("  int idx[BATCH];\n  double loss = 0;\n  long correct = 0%s;\n", g->binary ? "" : ", top_k = 0");
  P("  for (int start = 0; start < ds->count; start += BATCH) {\n");
  P("    int m = ds->count - start < BATCH ? ds->count - start : BATCH;\n");
  P("    for (int i = 0; i < m; i++)\n      idx[i] = start + i;\n");
  P("    load_batch(ds, idx, m);\n    model_forward(m, 0);\n    loss += loss_sum;\n");
  P("    if (scores)\n      memcpy(scores + (size_t)start * N_SCORES, batch_scores(), "
    "sizeof(float) * (size_t)m * N_SCORES);\n");
  if (g->binary) {
    P("    correct += rt_count_binary_correct(batch_scores(), %s, m, N_OUTPUTS);\n", labels);
    P("    (void)cm;\n");
  } else {
    P("    correct += rt_count_correct(batch_scores(), %s, m, N_CLASSES);\n", labels);
    P("    top_k += rt_count_top_k(batch_scores(), %s, m, N_CLASSES, 5);\n", labels);
    P("    for (int i = 0; cm && i < m; i++)\n");
    P("      rt_confusion_add(cm, %s[i], rt_argmax(batch_scores() + (size_t)i * N_CLASSES, "
      "N_CLASSES));\n", labels);
  }
  P("  }\n  int n = ds->count > 0 ? ds->count : 1;\n");
  P("  double auc = scores ? mean_auc(scores, ds->y, ds->count) : NAN;\n");
  if (g->binary) /* Keras's binary_accuracy: the share of all n * k entries */
    P("  return (EvalResult){loss / n, (double)correct / ((double)n * N_OUTPUTS), NAN, auc};\n"
      "}\n\n");
  else
    P("  return (EvalResult){loss / n, (double)correct / n, (double)top_k / n, auc};\n}\n\n");
}

/* One column of the epoch log: its name (history.csv, monitor=) and the C
 * expression of its value inside fit(). */
typedef struct {
  const char *name, *expr;
} EpochColumn;

/* epoch, loss, accuracy, [top_k_accuracy, auc,] val_..., lr, seconds */
static int epoch_columns(Emitter *e, EpochColumn *cols) {
  const Program *p = e->prog;
  int n = 0;
  cols[n++] = (EpochColumn){"epoch", "epoch"};
  for (int pass = 0; pass < 2; pass++) {
    const char *v = pass ? "val_" : "", *x = pass ? "val." : "";
    static const char *const names[] = {"loss", "accuracy", "top_k_accuracy", "auc"};
    bool on[] = {true, true, p->metric_top_k, p->metric_auc};
    for (int i = 0; i < 4; i++)
      if (on[i])
        cols[n++] = (EpochColumn){arena_printf(e->g->arena, "%s%s", v, names[i]),
                                  arena_printf(e->g->arena, "%s%s", x, names[i])};
  }
  cols[n++] = (EpochColumn){"lr", "learning_rate"};
  cols[n++] = (EpochColumn){"seconds", "seconds"};
  return n;
}

static const char *monitor_expr(Emitter *e, const char *name) {
  EpochColumn cols[16];
  int n = epoch_columns(e, cols);
  for (int i = 0; i < n; i++)
    if (!strcmp(cols[i].name, name))
      return cols[i].expr;
  NNC_BUG("monitor '%s' is not logged", name);
}

/* The epoch line: Keras's "loss: ... - accuracy: ... - val_loss: ..." */
static void emit_epoch_line(Emitter *e, const EpochColumn *cols, int n) {
  const Program *p = e->prog;
  P("    if (!opt->quiet) {\n");
  P("      printf(\"Epoch %%d/%%d - %%d steps - %%.2fs\", epoch, opt->epochs, steps_per_epoch, "
    "seconds);\n");
  for (int i = 1; i < n - 2; i++)
    if (p->validation != VAL_NONE || strncmp(cols[i].name, "val_", 4) != 0)
      P("      printf(\" - %s: %%.4f\", %s);\n", cols[i].name, cols[i].expr);
  P("      printf(\" - lr: %%.1e\\n\", learning_rate);\n    }\n");
}

void emit_fit(Emitter *e) {
  const Program *p = e->prog;
  const Callback *ck = &p->checkpoint, *es = &p->early_stopping, *rl = &p->reduce_lr;
  P("/* ===== fit: epochs, callbacks, history ===== */\n\n");
  P("typedef struct {\n  int epochs_run, best_epoch;\n  long steps;\n} FitResult;\n\n");
  P("static FitResult fit(const RtDataset *train, const RtDataset *val_data, const RtOptions *opt,\n"
    "                     const char *checkpoint_path) {\n");
  if (!ck->enabled)
    P("  (void)checkpoint_path; /* no checkpoint callback: main saves the final weights */\n");
  P("  RtRng shuffle_rng;\n  rt_rng_seed(&shuffle_rng, opt->seed + 1);\n");
  P("  int *order = rt_malloc(sizeof(int) * (size_t)train->count);\n");
  P("  for (int i = 0; i < train->count; i++)\n    order[i] = i;\n");
  P("  char path[4096];\n  rt_path_join(path, sizeof path, opt->out_dir, \"history.csv\");\n");
  EpochColumn cols[16];
  int n_cols = epoch_columns(e, cols);
  P("  static const char *const columns[%d] = {", n_cols);
  for (int i = 0; i < n_cols; i++)
    P("%s\"%s\"", i ? ", " : "", cols[i].name);
  P("};\n");
  P("  RtCsvLog history;\n  rt_csv_log_open(&history, path, ',', 0, columns, %d);\n", n_cols);
  if (p->csv_logger) {
    P("  /* csv_logger: Keras's CSVLogger%s */\n", p->csv_append ? ", appending" : "");
    P("  RtCsvLog csv_log;\n  rt_path_join(path, sizeof path, opt->out_dir, %s);\n",
      c_string(e, p->csv_path));
    P("  rt_csv_log_open(&csv_log, path, %s, %d, columns, %d);\n", c_char(e, p->csv_separator),
      p->csv_append, n_cols);
  }
  if (p->metric_auc) {
    P("  /* metrics [auc]: every example's scores, to rank them at the end of the epoch */\n");
    P("  float *epoch_scores = rt_malloc(sizeof(float) * ((size_t)train->count + 1) * "
      "N_SCORES);\n");
    P("  uint8_t *epoch_labels = rt_malloc((size_t)train->count + 1);\n");
    P("  float *val_scores = rt_malloc(sizeof(float) * ((size_t)val_data->count + 1) * "
      "N_SCORES);\n");
  }
  if (ck->enabled)
    P("  RtMonitor checkpoint;\n  rt_monitor_init(&checkpoint, \"%s\", %s, 0);\n", ck->monitor,
      ck->mode == MODE_MAX ? "RT_MODE_MAX" : "RT_MODE_MIN");
  if (es->enabled)
    P("  RtMonitor early;\n  rt_monitor_init(&early, \"%s\", %s, %g);\n", es->monitor,
      es->mode == MODE_MAX ? "RT_MODE_MAX" : "RT_MODE_MIN", es->min_delta);
  if (rl->enabled)
    P("  RtPlateau plateau;\n  rt_plateau_init(&plateau, \"%s\", %s, %g, %g, %d, %d, %g);\n",
      rl->monitor, rl->mode == MODE_MAX ? "RT_MODE_MAX" : "RT_MODE_MIN", rl->min_delta,
      rl->factor, rl->patience, rl->cooldown, rl->min_lr);
  P("  FitResult r = {0, 0, 0};\n");
  P("  int steps_per_epoch = (train->count + BATCH - 1) / BATCH;\n");
  P("  for (int epoch = 1; epoch <= opt->epochs; epoch++) {\n");
  P("    double t0 = rt_now(), loss = 0, correct = 0, weight = 0%s;\n",
    p->metric_top_k ? ", top_k = 0" : "");
  if (p->shuffle)
    P("    rt_rng_shuffle(&shuffle_rng, order, train->count);\n");
  P("    for (int start = 0; start < train->count; start += BATCH) {\n");
  P("      int m = train->count - start < BATCH ? train->count - start : BATCH;\n");
  P("      load_batch(train, order + start, m);\n");
  P("      loss += train_step(m, ++r.steps);\n");
  const char *w = e->g->weights ? c_name(e, e->g->weights) : "NULL";
  if (e->g->binary) {
    P("      /* Keras's binary_accuracy: the share of the m * k targets predicted right */\n");
    P("      correct += rt_count_binary_correct(batch_scores(), %s, m, N_OUTPUTS);\n",
      c_name(e, e->g->labels));
    P("      weight += (double)m * N_OUTPUTS;\n");
  } else {
    P("      /* Keras weights training metrics by the class weights: sum(w correct) / sum(w) */\n");
    P("      correct += rt_weighted_correct(batch_scores(), %s, %s, m, N_CLASSES);\n",
      c_name(e, e->g->labels), w);
    if (e->g->weights)
      P("      for (int i = 0; i < m; i++)\n        weight += %s[i];\n", w);
    else
      P("      weight += m;\n");
  }
  if (p->metric_top_k)
    P("      top_k += rt_count_top_k(batch_scores(), %s, m, N_CLASSES, 5);\n",
      c_name(e, e->g->labels));
  if (p->metric_auc) {
    P("      memcpy(epoch_scores + (size_t)start * N_SCORES, batch_scores(), sizeof(float) * "
      "(size_t)m * N_SCORES);\n");
    P("      for (int i = 0; i < m; i++)\n        epoch_labels[start + i] = "
      "train->y[order[start + i]];\n");
  }
  P("    }\n");
  P("    loss /= train->count;\n    double accuracy = correct / weight;\n");
  if (p->metric_top_k)
    P("    double top_k_accuracy = top_k / train->count; /* unweighted */\n");
  if (p->metric_auc)
    P("    double auc = mean_auc(epoch_scores, epoch_labels, train->count);\n");
  if (p->validation != VAL_NONE)
    P("    EvalResult val = evaluate(val_data, NULL, %s);\n", p->metric_auc ? "val_scores" : "NULL");
  else
    P("    EvalResult val = {NAN, NAN, NAN, NAN};\n    (void)val_data;\n");
  P("    double seconds = rt_now() - t0;\n    r.epochs_run = epoch;\n");
  P("    const double row[%d] = {", n_cols);
  for (int i = 0; i < n_cols; i++)
    P("%s%s", i ? ", " : "", cols[i].expr);
  P("};\n    rt_csv_log_row(&history, row);\n");
  if (p->csv_logger)
    P("    rt_csv_log_row(&csv_log, row);\n");
  emit_epoch_line(e, cols, n_cols);
  if (ck->enabled) {
    P("    double ck_prev = checkpoint.best;\n");
    P("    if (rt_monitor_update(&checkpoint, %s, epoch)) {\n", monitor_expr(e, ck->monitor));
    P("      RtCheckpointMeta meta = {.epoch = epoch, .step = r.steps, .monitor = %s};\n",
      monitor_expr(e, ck->monitor));
    P("      snprintf(meta.model, sizeof meta.model, \"%%s\", MODEL_NAME);\n");
    P("      rt_checkpoint_save(checkpoint_path, checkpoint_tensors, N_CHECKPOINT_TENSORS, "
      "&meta);\n");
    P("      r.best_epoch = epoch;\n");
    P("      if (!opt->quiet)\n        printf(\"  checkpoint: %s improved from %%.5f to %%.5f, "
      "saved %%s\\n\", ck_prev, %s, checkpoint_path);\n", ck->monitor, monitor_expr(e, ck->monitor));
    if (!ck->save_best_only) {
      P("    } else {\n");
      P("      RtCheckpointMeta meta = {.epoch = epoch, .step = r.steps, .monitor = %s};\n",
        monitor_expr(e, ck->monitor));
      P("      snprintf(meta.model, sizeof meta.model, \"%%s\", MODEL_NAME);\n");
      P("      rt_checkpoint_save(checkpoint_path, checkpoint_tensors, N_CHECKPOINT_TENSORS, "
        "&meta);\n      r.best_epoch = epoch;\n");
      P("      if (!opt->quiet)\n        printf(\"  checkpoint: saved %%s (every epoch; %s did "
        "not improve from %%.5f)\\n\", checkpoint_path, checkpoint.best);\n", ck->monitor);
    } else {
      P("    } else if (!opt->quiet) {\n");
      P("      printf(\"  checkpoint: %s did not improve from %%.5f\\n\", checkpoint.best);\n",
        ck->monitor);
    }
    P("    }\n");
  }
  if (rl->enabled) {
    P("    float reduced = (float)rt_plateau_update(&plateau, %s, epoch, learning_rate);\n",
      monitor_expr(e, rl->monitor));
    P("    if (reduced < learning_rate && !opt->quiet)\n");
    P("      printf(\"Epoch %%d: reduce_lr_on_plateau: %s has not improved for %d epochs, "
      "learning rate %%.2e -> %%.2e\\n\",\n             epoch, learning_rate, reduced);\n",
      rl->monitor, rl->patience);
    P("    learning_rate = reduced;\n");
  }
  if (es->enabled) {
    P("    if (rt_monitor_update(&early, %s, epoch)) {\n", monitor_expr(e, es->monitor));
    if (es->restore_best)
      P("      memcpy(best_params, params, sizeof(float) * N_PARAMS);\n");
    P("    } else if (early.wait >= %d) {\n", es->patience);
    P("      if (!opt->quiet)\n        printf(\"Epoch %%d: early stopping (%s has not improved "
      "for %d epochs)\\n\", epoch);\n", es->monitor, es->patience);
    P("      break;\n    }\n");
  }
  P("  }\n");
  if (es->enabled && es->restore_best) {
    P("  if (early.best_epoch > 0) { /* restore_best_weights */\n");
    P("    memcpy(params, best_params, sizeof(float) * N_PARAMS);\n");
    P("    if (!opt->quiet)\n      printf(\"Restoring model weights from the end of the best "
      "epoch: %%d.\\n\", early.best_epoch);\n");
    P("  }\n");
  }
  if (!ck->enabled && es->enabled && es->restore_best)
    P("  r.best_epoch = early.best_epoch > 0 ? early.best_epoch : r.epochs_run;\n");
  else if (!ck->enabled)
    P("  r.best_epoch = r.epochs_run;\n");
  P("  rt_csv_log_close(&history);\n");
  if (p->csv_logger)
    P("  rt_csv_log_close(&csv_log);\n");
  if (p->metric_auc)
    P("  free(epoch_scores);\n  free(epoch_labels);\n  free(val_scores);\n");
  P("  free(order);\n  return r;\n}\n\n");
}

/* ---- gradient check ---- */

void emit_gradcheck(Emitter *e) {
  const Graph *g = e->g;
  P("/* ===== --gradcheck: the whole backward pass against finite differences ===== */\n\n");
  P("static double batch_loss(int m) {\n");
  P("  rt_rng_seed(&dropout_rng, 12345); /* the same dropout mask every time */\n");
  P("  model_forward(m, 1);\n  return loss_sum / m;\n}\n\n");
  P("/* (loss(p + h) - loss(p - h)) / 2h, p restored */\n");
  P("static double central_difference(float *p, float h, int m) {\n");
  P("  float saved = *p;\n  *p = saved + h;\n  double up = batch_loss(m);\n");
  P("  *p = saved - h;\n  double down = batch_loss(m);\n  *p = saved;\n");
  P("  return (up - down) / (2.0 * (double)h);\n}\n\n");
  P("static double relative_error(double a, double b) {\n");
  P("  return fabs(a - b) / fmax(1e-2, fabs(a) + fabs(b));\n}\n\n");
  P("static int gradcheck(const RtDataset *train) {\n");
  P("  int m = train->count < 16 ? train->count : 16, idx[16];\n");
  P("  for (int i = 0; i < m; i++)\n    idx[i] = i;\n");
  P("  load_batch(train, idx, m);\n  batch_loss(m);\n  model_backward(m);\n");
  P("  float *analytic = rt_malloc(sizeof(float) * N_PARAMS);\n");
  P("  memcpy(analytic, grads, sizeof(float) * N_PARAMS);\n");
  P("  RtRng pick;\n  rt_rng_seed(&pick, 7);\n  int failures = 0, checked = 0;\n");
  P("  double worst = 0;\n");
  P("  const struct { const char *name; float *p; size_t count; } tensors[] = {\n");
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->op == IR_PARAM && n->trainable)
      P("      {\"%s\", %s, %zu},\n", n->name, c_name(e, n), ir_elems(n));
  }
  P("  };\n");
  P("  for (size_t t = 0; t < sizeof tensors / sizeof tensors[0]; t++) {\n");
  P("    for (int k = 0; k < 12; k++) {\n");
  P("      size_t j = rt_rng_below(&pick, (uint32_t)tensors[t].count);\n");
  P("      float *p = tensors[t].p + j;\n");
  P("      double a = analytic[tensors[t].p - params + j];\n");
  P("      /* two step sizes: float rounding spoils the small one, a relu kink inside\n"
    "         [p - h, p + h] the large one; a wrong gradient disagrees with both */\n");
  P("      double n1 = central_difference(p, 1e-2f, m), n2 = central_difference(p, 1e-3f, m);\n");
  P("      double e1 = relative_error(a, n1), e2 = relative_error(a, n2);\n");
  P("      double numeric = e1 < e2 ? n1 : n2, err = e1 < e2 ? e1 : e2;\n");

  P("      worst = fmax(worst, err);\n      checked++;\n");
  P("      if (err > 2e-2) {\n        failures++;\n");
  P("        printf(\"gradcheck: %%s[%%zu]: analytic %%.6g, numeric %%.6g (relative error "
    "%%.3g)\\n\",\n               tensors[t].name, j, a, numeric, err);\n      }\n");
  P("    }\n  }\n");
  P("  printf(\"gradcheck: %%d of %%d gradient entries agree with central differences (worst "
    "relative error %%.3g)\\n\",\n         checked - failures, checked, worst);\n");
  P("  if (checked < 10)\n    failures++;\n  free(analytic);\n");
  P("  return failures == 0 ? 0 : 1;\n}\n\n");
}

/* ---- evaluation of the best checkpoint and the expectations ---- */

static const char *compare_c(CompareOp op) {
  static const char *const ops[] = {">", ">=", "<", "<=", "==", "!="};
  return ops[op];
}

/* params(LAYER): parameters of a layer in the checkpoint the model was loaded from */
static void emit_checkpoint_params(Emitter *e) {
  P("/* Parameters of a layer in the checkpoint the model was loaded from. */\n");
  P("static double checkpoint_params(const char *layer) {\n  size_t n = 0, len = strlen(layer);\n");
  P("  for (int i = 0; i < N_CHECKPOINT_TENSORS; i++)\n");
  P("    if (!strncmp(checkpoint_tensors[i].name, layer, len) && "
    "checkpoint_tensors[i].name[len] == '.')\n");
  P("      n += checkpoint_tensors[i].count;\n  return (double)n;\n}\n\n");
}

void emit_expectations(Emitter *e) {
  const Program *p = e->prog;
  if (p->n_expect == 0)
    return;
  bool counts_params = false;
  for (int i = 0; i < p->n_expect; i++)
    counts_params |= p->expect[i].kind == EXPECT_PARAMS;
  if (counts_params) {
    emit_checkpoint_params(e);
  }


  P("/* The evaluate section's expectations; returns how many failed. */\n");
  P("/* stats and auc: one entry per class (per binary target with labels binary). */\n");
  P("static int check_expectations(double loss, double accuracy, double top_k_accuracy,\n"
    "                              const RtClassStats *stats, const double *auc) {\n");
  P("  int failed = 0;\n  double v;\n  (void)loss; (void)accuracy; (void)top_k_accuracy; "
    "(void)stats; (void)auc;\n");
  for (int i = 0; i < p->n_expect; i++) {
    const Expectation *x = &p->expect[i];
    switch (x->kind) {
    case EXPECT_ACCURACY: P("  v = accuracy;\n"); break;
    case EXPECT_LOSS: P("  v = loss;\n"); break;
    case EXPECT_TOP_K: P("  v = top_k_accuracy;\n"); break;
    case EXPECT_RECALL: P("  v = stats[%d].recall;\n", x->class_id); break;
    case EXPECT_PRECISION: P("  v = stats[%d].precision;\n", x->class_id); break;
    case EXPECT_F1: P("  v = stats[%d].f1;\n", x->class_id); break;
    case EXPECT_AUC:
      if (x->class_id < 0)
        P("  v = rt_mean_defined(auc, N_SCORES); /* macro average */\n");
      else
        P("  v = auc[%d];\n", x->class_id);
      break;
    case EXPECT_PARAMS: P("  v = checkpoint_params(\"%s\");\n", x->layer_name); break;
    }
    char text[256];
    size_t j = 0;
    for (const char *s = x->text; *s && j + 2 < sizeof text; s++) {
      if (*s == '"' || *s == '\\')
        text[j++] = '\\';
      text[j++] = *s == '%' ? ' ' : *s;
    }
    text[j] = '\0';
    P("  if (!(v %s %.17g)) failed++;\n", compare_c(x->op), x->threshold);
    P("  printf(\"  expect %%-36s %%s (%%.4f)\\n\", \"%s\", v %s %.17g ? \"ok\" : \"FAILED\", v);\n",
      text, compare_c(x->op), x->threshold);
  }
  P("  return failed;\n}\n\n");
}

/* The test report of a classifier: confusion matrix, per-class stats, ROC AUC. */
static void emit_class_report(Emitter *e) {
  P("  RtConfusion cm;\n  rt_confusion_init(&cm, N_CLASSES);\n");
  P("  EvalResult r = evaluate(&test, &cm, scores);\n");
  P("  rt_roc_auc_columns(auc, scores, test.y, NULL, test.count, N_CLASSES); /* one vs rest */\n");
  P("  printf(\"\\ntest: %%d examples - loss: %%.4f - accuracy: %%.4f - top-5 accuracy: %%.4f - "
    "auc: %%.4f (best epoch %%d)\\n\\n\",\n         test.count, r.loss, r.accuracy, "
    "r.top_k_accuracy, rt_mean_defined(auc, N_CLASSES), fr.best_epoch);\n");
  P("  rt_confusion_print(stdout, &cm, CLASS_NAMES);\n");
  P("  rt_auc_print(stdout, auc, CLASS_NAMES, N_CLASSES);\n");
  P("  rt_metrics_write_json(path, &cm, CLASS_NAMES, r.loss, r.accuracy, fr.best_epoch, auc);\n");
  P("  rt_confusion_stats(stats, &cm);\n  rt_confusion_free(&cm);\n");
}

/* The test report of binary targets: per target counts, P/R/F1 and ROC AUC. */
static void emit_binary_report(Emitter *e) {
  P("  EvalResult r = evaluate(&test, NULL, scores);\n");
  P("  RtBinaryStats targets[N_OUTPUTS];\n");
  P("  rt_binary_stats(targets, scores, test.y, TARGET_TABLE, test.count, N_OUTPUTS);\n");
  P("  printf(\"\\ntest: %%d examples - loss: %%.4f - binary accuracy: %%.4f (best epoch "
    "%%d)\\n\\n\",\n         test.count, r.loss, r.accuracy, fr.best_epoch);\n");
  P("  rt_binary_print(stdout, targets, TARGET_NAMES, N_OUTPUTS);\n");
  P("  rt_binary_write_json(path, targets, TARGET_NAMES, N_OUTPUTS, r.loss, r.accuracy, "
    "fr.best_epoch);\n");
  P("  for (int k = 0; k < N_OUTPUTS; k++) {\n");
  P("    stats[k] = (RtClassStats){targets[k].precision, targets[k].recall, targets[k].f1,\n"
    "                              targets[k].tp + targets[k].fn};\n");
  P("    auc[k] = targets[k].auc;\n  }\n");
}

void emit_main(Emitter *e) {
  const Program *p = e->prog;
  P("/* ===== main ===== */\n\n");
  P("int main(int argc, char **argv) {\n");
  P("  rt_init(argv); /* threads and OpenBLAS kernels for this machine (may restart once) */\n");
  P("  RtOptions opt = {.epochs = %d, .seed = %ld, .out_dir = \"runs/%s\",\n"
    "                   .data_dir = %s, .limit_train = %d, .limit_test = %d};\n",
    p->epochs, p->seed, e->g->model_name, c_string(e, p->data_dir), p->limit_train,
    p->limit_test);
  P("  rt_options_parse(&opt, argc, argv, MODEL_NAME);\n");
  P("  setvbuf(stdout, NULL, _IOLBF, 0);\n");
  P("  allocate_storage();\n  bind_checkpoint_tensors();\n");
  P("  RtRng init_rng;\n  rt_rng_seed(&init_rng, opt.seed);\n  init_params(&init_rng);\n");
  P("  if (!opt.quiet)\n    printf(\"threads: %%d (OpenMP; OpenBLAS %%s kernels)\\n\", rt_threads(), "
    "rt_blas_core());\n");
  P("  RtDataset train, val;\n  prepare_data(&train, &val, &opt);\n");
  P("  rt_rng_seed(&dropout_rng, opt.seed + 2);\n");
  P("  if (opt.gradcheck)\n    return gradcheck(&train);\n");
  P("  rt_mkdir_p(opt.out_dir);\n");
  P("  char checkpoint_path[4096];\n");
  P("  rt_path_join(checkpoint_path, sizeof checkpoint_path, opt.out_dir, \"best.ckpt\");\n");
  P("  FitResult fr = fit(&train, &val, &opt, checkpoint_path);\n");
  if (p->checkpoint.enabled) {
    P("  /* the best checkpoint, not the last epoch: load it as Keras's load_model does */\n");
    P("  RtCheckpointMeta meta;\n");
    P("  rt_checkpoint_load(checkpoint_path, checkpoint_tensors, N_CHECKPOINT_TENSORS, &meta);\n");
    P("  fr.best_epoch = meta.epoch;\n");
    P("  if (!opt.quiet)\n    printf(\"\\nLoaded %%s (epoch %%d, %s %%.4f)\\n\", checkpoint_path, "
      "meta.epoch, meta.monitor);\n", p->checkpoint.monitor);
  } else {
    P("  RtCheckpointMeta meta = {.epoch = fr.best_epoch, .step = fr.steps};\n");
    P("  snprintf(meta.model, sizeof meta.model, \"%%s\", MODEL_NAME);\n");
    P("  rt_checkpoint_save(checkpoint_path, checkpoint_tensors, N_CHECKPOINT_TENSORS, &meta);\n");
  }
  P("  rt_dataset_free(&train);\n  rt_dataset_free(&val);\n");
  P("  /* the test split, touched once */\n");
  P("  RtDataset test;\n  load_test(&test, &opt);\n");
  P("  float *scores = rt_malloc(sizeof(float) * (size_t)(test.count > 0 ? test.count : 1) * "
    "N_SCORES);\n");
  P("  RtClassStats stats[N_SCORES];\n  double auc[N_SCORES];\n");
  P("  char path[4096];\n  rt_path_join(path, sizeof path, opt.out_dir, \"metrics.json\");\n");
  if (e->g->binary)
    emit_binary_report(e);
  else
    emit_class_report(e);
  P("  printf(\"\\nwrote %%s/history.csv, %%s and %%s\\n\", opt.out_dir, path, "
    "checkpoint_path);\n");
  P("  free(scores);\n  rt_dataset_free(&test);\n");
  if (p->n_expect) {
    P("  printf(\"\\nexpectations:\\n\");\n");
    P("  int failed = check_expectations(r.loss, r.accuracy, r.top_k_accuracy, stats, auc);\n");
    P("  if (failed) {\n    fprintf(stderr, \"error: %%d expectation%%s failed\\n\", failed, "
      "failed == 1 ? \"\" : \"s\");\n    return 1;\n  }\n");
  } else {
    P("  (void)stats;\n");
  }
  P("  return 0;\n}\n");
}

