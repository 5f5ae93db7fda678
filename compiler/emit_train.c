/*
 * emit_train.c — the recipe part of the generated C: what the runtime's
 * training loop (runtime/rt_fit.c and its neighbours) reads, as data, not
 * code:
 *   bind_model  allocates the storage (allocate_storage, emit_c.c) and
 *               fills the tables that name it (checkpoint_tensors:
 *               parameters, statistics and optimizer state by name;
 *               trainable_tensors: what --gradcheck perturbs; adapt_layers:
 *               the Normalization layers adapted on the training split) and
 *               MODEL's pointers into the batch block, params and grads;
 *               rt_main calls it once, so they never depend on how or when
 *               the storage is allocated
 *   MODEL       the model as the loop sees it (RtModel): sizes, names, the
 *               state, the functions
 *   CONFIG      the data, train and evaluate sections (RtFitConfig)
 * and a main of one line that hands both to rt_main.
 */
#include "emit.h"

#include <string.h>

/* ---- tensor tables, bound at run time ---- */

/* How many rows each table has: {checkpoint, trainable, adapt}. */
static void count_tables(Emitter *e, int *n_checkpoint, int *n_trainable, int *n_adapt) {
  int n_slots;
  emit_optimizer_slots(e->prog->optimizer, &n_slots);
  *n_checkpoint = *n_trainable = *n_adapt = 0;
  for (int i = 0; i < e->g->n_nodes; i++) {
    const IrNode *n = e->g->nodes[i];
    *n_checkpoint += n->op == IR_PARAM ? 1 + (n->trainable ? n_slots : 0) : 0;
    *n_trainable += n->op == IR_PARAM && n->trainable;
    *n_adapt += n->op == IR_NORMALIZE;
  }
}

/* Parameters, statistics and optimizer state by name (the checkpoint's tensors). */
static void emit_checkpoint_rows(Emitter *e) {
  const Graph *g = e->g;
  P("  const RtTensorRef checkpoint[N_CHECKPOINT_TENSORS] = {\n");
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->op == IR_PARAM)
      P("      {\"%s\", params + %zu, %zu},\n", n->name, n->offset / 4, ir_elems(n));
  }
  int n_slots;
  const OptimizerSlot *slots = emit_optimizer_slots(e->prog->optimizer, &n_slots);
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    for (int k = 0; k < n_slots && n->op == IR_PARAM && n->trainable; k++)
      P("      {\"%s/%s\", %s + %zu, %zu},\n", slots[k].name, n->name, slots[k].name,
        n->offset / 4, ir_elems(n));
  }
  P("  };\n");
}

static void emit_trainable_rows(Emitter *e) {
  const Graph *g = e->g;
  P("  const RtTensorRef trainable[N_TRAINABLE_TENSORS] = {\n");
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *t = g->nodes[i];
    if (t->op == IR_PARAM && t->trainable)
      P("      {\"%s\", %s, %zu},\n", t->name, c_name(e, t), ir_elems(t));
  }
  P("  };\n");
}

/* The layer's sample count beside its mean and variance (Keras keeps it). */
static const IrNode *normalization_count(const Graph *g, const IrNode *norm) {
  for (int k = 0; k < g->n_nodes; k++) {
    const IrNode *c = g->nodes[k];
    if (c->op == IR_PARAM && c->role == ROLE_SAMPLE_COUNT && !strcmp(c->layer, norm->layer))
      return c;
  }
  return NULL;
}

/* Normalization.adapt(): one row per layer. */
static void emit_adapt_rows(Emitter *e) {
  const Graph *g = e->g;
  P("  /* Normalization.adapt(): {layer, mean, variance, features, count, values per\n"
    "     statistic}, from the training split only */\n");
  P("  const RtAdapt adapt[N_ADAPT_LAYERS] = {\n");
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *norm = g->nodes[i];
    if (norm->op != IR_NORMALIZE)
      continue;
    int features = norm->per_feature ? c_last_dim(norm->in[0]) : 1;
    const IrNode *count = normalization_count(g, norm);
    P("      {\"%s\", %s, %s, %d, %s, %zu},\n", norm->layer, c_name(e, norm->in[1]),
      c_name(e, norm->in[2]), features, count ? c_name(e, count) : "NULL",
      ir_elems(norm->in[0]) / (size_t)features);
  }
  P("  };\n");
}

/* The batch block and the scores: where load_batch writes and metrics read. */
static void emit_bind_batch(Emitter *e) {
  const Graph *g = e->g;
  bool fused = g->loss->op == IR_SOFTMAX_XENT || g->loss->op == IR_SIGMOID_BXENT;
  const IrNode *probs = fused ? g->loss : g->loss->in[0]; /* fused losses output them */
  P("  model->batch_x = %s;\n", c_name(e, g->input));
  P("  model->%s = %s;\n", g->binary ? "batch_targets" : "batch_labels", c_name(e, g->labels));
  if (g->weights)
    P("  model->batch_weights = %s;\n", c_name(e, g->weights));
  P("  model->scores = %s; /* %s probabilities */\n", c_name(e, probs),
    g->binary ? "sigmoid" : "softmax");
}

/* bind_model: the tables and pointers that name storage, filled when
 * rt_main asks (the storage exists then), so they never depend on how or
 * when the blocks are allocated. */
static void emit_bind_model(Emitter *e, int n_trainable, int n_adapt) {
  P("static RtTensorRef checkpoint_tensors[N_CHECKPOINT_TENSORS];\n");
  if (n_trainable)
    P("static RtTensorRef trainable_tensors[N_TRAINABLE_TENSORS];\n");
  if (n_adapt)
    P("static RtAdapt adapt_layers[N_ADAPT_LAYERS];\n");
  P("\n/* The storage, allocated, and where the model's tensors live in it, for the\n"
    "   runtime's loop: called by rt_main once, after the options, before\n"
    "   init_params. */\n");
  P("static void bind_model(RtModel *model) {\n");
  P("  allocate_storage(); /* every block, once: a training step never allocates */\n");
  emit_checkpoint_rows(e);
  if (n_trainable)
    emit_trainable_rows(e);
  if (n_adapt)
    emit_adapt_rows(e);
  P("  memcpy(checkpoint_tensors, checkpoint, sizeof checkpoint);\n");
  if (n_trainable)
    P("  memcpy(trainable_tensors, trainable, sizeof trainable);\n");
  if (n_adapt)
    P("  memcpy(adapt_layers, adapt, sizeof adapt);\n");
  emit_bind_batch(e);
  P("  model->params = params;\n  model->grads = grads;\n}\n\n");
}

/* ---- CONFIG: the data, train and evaluate sections ---- */

static const char *c_mode(MonitorMode mode) {
  return mode == MODE_MAX ? "RT_MODE_MAX" : "RT_MODE_MIN";
}

/* keep train {...}, explicit class weights, expectations: the arrays CONFIG points to */
static void emit_recipe_tables(Emitter *e) {
  const Program *p = e->prog;
  if (p->n_keep) {
    P("/* keep train {...} seed %ld: the manufactured imbalance */\n", p->keep_seed);
    P("static const int KEEP_CLASSES[] = {");
    for (int i = 0; i < p->n_keep; i++)
      P("%s%d", i ? ", " : "", p->keep[i].class_id);
    P("};\nstatic const int KEEP_COUNTS[] = {");
    for (int i = 0; i < p->n_keep; i++)
      P("%s%d", i ? ", " : "", p->keep[i].count);
    P("};\n\n");
  }
  if (p->only_given) {
    P("/* only [...]: the classes every split keeps */\nstatic const uint8_t ONLY_CLASSES[] = {");
    for (int c = 0; c < p->n_classes; c++)
      P("%s%d", c ? ", " : "", p->only_class[c]);
    P("};\n\n");
  }
  if (p->n_init_layers) {
    P("/* initialize [...] from ... */\nstatic const char *const INIT_LAYERS[] = {");
    for (int i = 0; i < p->n_init_layers; i++)
      P("%s%s", i ? ", " : "", c_string(e, p->init_layers[i]));
    P("};\n\n");
  }
  if (p->class_weight_explicit) {
    P("static const float CLASS_WEIGHTS[N_CLASSES] = {\n");
    for (int c = 0; c < p->n_classes; c++)
      P("    %s, /* %s */\n", c_float(e, p->class_weight[c]), c_comment(e, p->class_names[c]));
    P("};\n\n");
  }
  if (p->n_expect == 0)
    return;
  static const char *const kinds[] = {"RT_EXPECT_ACCURACY", "RT_EXPECT_LOSS",
                                      "RT_EXPECT_TOP_K",    "RT_EXPECT_RECALL",
                                      "RT_EXPECT_PRECISION", "RT_EXPECT_F1",
                                      "RT_EXPECT_AUC",      "RT_EXPECT_PARAMS"};
  static const char *const ops[] = {"RT_CMP_GT", "RT_CMP_GE", "RT_CMP_LT",
                                    "RT_CMP_LE", "RT_CMP_EQ", "RT_CMP_NE"};
  P("/* the evaluate section: {text, what, class or target, layer, comparison, threshold} */\n");
  P("static const RtExpectation EXPECTATIONS[] = {\n");
  for (int i = 0; i < p->n_expect; i++) {
    const Expectation *x = &p->expect[i];
    P("    {%s, %s, %d, %s, %s, %.17g},\n", c_string(e, x->text), kinds[x->kind], x->class_id,
      x->kind == EXPECT_PARAMS ? c_string(e, x->layer_name) : "NULL", ops[x->op], x->threshold);
  }
  P("};\n\n");
}

static void emit_validation_config(Emitter *e) {
  const Program *p = e->prog;
  switch (p->validation) {
  case VAL_NONE: P("    .validation = {.kind = RT_VAL_NONE},\n"); return;
  case VAL_LAST:
    P("    .validation = {.kind = RT_VAL_LAST, .last = %d},\n", p->validation_last);
    return;
  case VAL_SPLIT:
    P("    .validation = {.kind = RT_VAL_SPLIT, .split = %.17g, .seeded = %d, .seed = %ldu},\n",
      p->validation_split, p->validation_seeded, p->validation_seeded ? p->validation_seed : 0);
    return;
  case VAL_TEST: /* model selection then sees the test set, as the seeds' validation_data do */
    P("    .validation = {.kind = RT_VAL_TEST},\n");
    return;
  case VAL_FILES:
    P("    .validation = {.kind = RT_VAL_FILES, .images = %s, .labels = %s},\n",
      c_string(e, p->validation_images), c_string(e, p->validation_labels));
    return;
  }
}

/* A non-IDX source (IDX leaves .source zero: the IDX directory of .defaults). */
static void emit_source_config(Emitter *e) {
  static const char *const kinds[] = {"RT_SRC_IDX", "RT_SRC_DIRECTORY", "RT_SRC_CSV",
                                      "RT_SRC_NPY", "RT_SRC_CIFAR10"};
  const DataSource *s = &e->prog->source;
  if (s->kind == SRC_IDX)
    return;
  const char *strings[][2] = {{"path", s->path}, {"test_path", s->test_path}, {"x", s->x},
                              {"y", s->y}, {"test_x", s->test_x}, {"test_y", s->test_y},
                              {"label", s->label}};
  P("    .source = {.kind = %s", kinds[s->kind]);
  for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
    if (strings[i][1])
      P(", .%s = %s", strings[i][0], c_string(e, strings[i][1]));
  if (s->height)
    P(",\n               .height = %d, .width = %d, .channels = %d", s->height, s->width,
      s->channels);
  if (s->stream)
    P(", .stream = %d", s->stream);
  P("%s%s},\n", s->skip_bad ? ", .skip_bad = 1" : "",
    s->classes_declared ? ", .classes_declared = 1" : "");
}

static void emit_data_config(Emitter *e) {
  const Program *p = e->prog;
  emit_source_config(e);
  emit_validation_config(e);
  if (p->n_keep)
    P("    .keep_classes = KEEP_CLASSES, .keep_counts = KEEP_COUNTS, .n_keep = %d, "
      ".keep_seed = %ldu,\n", p->n_keep, p->keep_seed);
  if (p->only_given)
    P("    .only_classes = ONLY_CLASSES,\n");
  if (p->oversample)
    P("    .oversample = 1, .oversample_seed = %ldu,\n", p->oversample_seed);
  if (p->class_weight_balanced)
    P("    .class_weight = RT_WEIGHTS_BALANCED, /* w_c = N / (C n_c) */\n");
  else if (p->class_weight_explicit)
    P("    .class_weight = RT_WEIGHTS_EXPLICIT, .class_weights = CLASS_WEIGHTS,\n");
}

static void emit_callback_config(Emitter *e) {
  const Program *p = e->prog;
  const Callback *ck = &p->checkpoint, *es = &p->early_stopping, *rl = &p->reduce_lr;
  if (p->csv_logger)
    P("    .csv_logger = {.enabled = 1, .path = %s, .separator = %s, .append = %d},\n",
      c_string(e, p->csv_path), c_char(e, p->csv_separator), p->csv_append);
  if (ck->enabled)
    P("    .checkpoint = {.enabled = 1, .monitor = \"%s\", .mode = %s, .save_best_only = %d%s%s%s},"
      "\n", ck->monitor, c_mode(ck->mode), ck->save_best_only,
      p->checkpoint_file ? ", .file = " : "",
      p->checkpoint_file ? c_string(e, p->checkpoint_file) : "", ck->verbose ? "" : ", .silent = 1");
  if (es->enabled)
    P("    .early_stopping = {.enabled = 1, .monitor = \"%s\", .mode = %s, .min_delta = %.17g,\n"
      "                       .patience = %d, .restore_best = %d%s},\n",
      es->monitor, c_mode(es->mode), es->min_delta, es->patience, es->restore_best,
      es->verbose ? "" : ", .silent = 1");
  if (rl->enabled)
    P("    .reduce_lr = {.enabled = 1, .monitor = \"%s\", .mode = %s, .min_delta = %.17g,\n"
      "                  .factor = %.17g, .min_lr = %.17g, .patience = %d, .cooldown = %d%s},\n",
      rl->monitor, c_mode(rl->mode), rl->min_delta, rl->factor, rl->min_lr, rl->patience,
      rl->cooldown, rl->verbose ? "" : ", .silent = 1");
}

/* ---- what report.html shows that only the compiler knows ---- */

/* A long text as one C string literal, a line of text per line of C: like
 * c_string, and '?' escaped too (no trigraph can form under -std=c11). */
static void emit_text_literal(Emitter *e, const char *name, const char *text) {
  P("static const char %s[] =", name);
  if (!*text)
    P(" \"\"");
  while (*text) {
    P("\n    \"");
    for (; *text && *text != '\n'; text++) {
      unsigned char ch = (unsigned char)*text;
      if (ch == '"' || ch == '\\' || ch == '?')
        P("\\%c", ch);
      else if (ch < 0x20 || ch == 0x7f)
        P("\\%03o", ch);
      else
        P("%c", ch);
    }
    if (*text == '\n')
      P("\\n"), text++;
    P("\"");
  }
  P(";\n\n");
}

static const char *optimizer_text(Emitter *e) {
  const Program *p = e->prog;
  static const char *const names[] = {"adam", "rmsprop", "sgd", "adamw"};
  const char *lr = p->schedule == SCHED_CONSTANT
                       ? arena_printf(e->g->arena, "%g", p->learning_rate)
                       : arena_printf(e->g->arena, "a schedule from %g", p->learning_rate);
  return arena_printf(e->g->arena, "%s(learning_rate=%s)", names[p->optimizer], lr);
}

/* {key, value}: the recipe's hyper-parameters, in the order the report shows them */
static void emit_hyper_table(Emitter *e) {
  const Program *p = e->prog;
  static const char *const losses[] = {"sparse_categorical_crossentropy",
                                       "categorical_crossentropy", "binary_crossentropy"};
  const char *weights = p->class_weight_balanced   ? "balanced"
                        : p->class_weight_explicit ? "explicit"
                                                   : "none";
  P("static const RtKeyValue HYPER_PARAMETERS[] = {\n");
  P("    {\"optimizer\", %s},\n", c_string(e, optimizer_text(e)));
  P("    {\"loss\", \"%s\"},\n", losses[p->loss]);
  P("    {\"batch_size\", \"%d\"},\n", p->batch_size);
  P("    {\"shuffle\", \"%s\"},\n", p->shuffle ? "true" : "false");
  P("    {\"class_weight\", \"%s\"},\n", weights);
  if (p->label_smoothing > 0)
    P("    {\"label_smoothing\", \"%g\"},\n", p->label_smoothing);
  P("};\n\n");
}

static void emit_report_tables(Emitter *e) {
  P("/* for report.html: the .nn source, `nnc summary`'s table, the hyper-parameters */\n");
  if (e->opt->source_text)
    emit_text_literal(e, "NN_SOURCE", e->opt->source_text);
  if (e->opt->summary_text)
    emit_text_literal(e, "MODEL_SUMMARY", e->opt->summary_text);
  emit_hyper_table(e);
}

static void emit_report_config(Emitter *e) {
  P("    .report = {.source_path = %s, .source_text = %s, .summary_text = %s,\n"
    "               .hyper = HYPER_PARAMETERS,\n"
    "               .n_hyper = sizeof HYPER_PARAMETERS / sizeof HYPER_PARAMETERS[0]},\n",
    e->opt->source_path ? c_string(e, e->opt->source_path) : "NULL",
    e->opt->source_text ? "NN_SOURCE" : "NULL", e->opt->summary_text ? "MODEL_SUMMARY" : "NULL");
}

static void emit_config(Emitter *e) {
  const Program *p = e->prog;
  P("/* ===== the recipe: the data, train and evaluate sections, read by rt_main ===== */\n\n");
  emit_recipe_tables(e);
  emit_report_tables(e);
  P("static const RtFitConfig CONFIG = {\n");
  P("    .defaults = {.epochs = %d, .seed = %ld, .out_dir = \"runs/%s\", .data_dir = %s,\n"
    "                 .limit_train = %d, .limit_test = %d},\n",
    p->epochs, p->seed, e->g->model_name, c_string(e, p->data_dir), p->limit_train,
    p->limit_test);
  emit_data_config(e);
  P("    .shuffle = %d,\n", p->shuffle);
  if (p->metric_top_k || p->metric_auc)
    P("    .metric_top_k = %d, .metric_auc = %d,\n", p->metric_top_k, p->metric_auc);
  if (p->metric_precision || p->metric_recall)
    P("    .metric_precision = %d, .metric_recall = %d, /* macro averages */\n",
      p->metric_precision, p->metric_recall);
  if (!e->g->binary)
    P("    .top_k = %d, /* the k of top_k_accuracy */\n", p->top_k);
  P("    .terminate_on_nan = 1, /* the first non-finite loss stops the run */\n");
  if (p->init_from)
    P("    .init_from = %s, .init_layers = %s, .n_init_layers = %d,\n", c_string(e, p->init_from),
      p->n_init_layers ? "INIT_LAYERS" : "NULL", p->n_init_layers);
  emit_callback_config(e);
  if (p->n_expect)
    P("    .expect = EXPECTATIONS, .n_expect = %d,\n", p->n_expect);
  emit_report_config(e);
  if (e->opt->mpi) /* the one line --mpi changes: libnncrt_mpi.a's MPI_Init and allreduce */
    P("    .distributed = rt_mpi_init, /* nnc build --mpi: data-parallel under mpirun */\n");
  P("};\n\n");
}

/* ---- MODEL and main ---- */

/* The first layer's kernel (the first trainable rank-2 or rank-4 parameter
 * named *.kernel), drawn as images in report.html; NULL when there is none. */
static const IrNode *first_kernel(const Graph *g) {
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    const char *dot = n->op == IR_PARAM && n->trainable ? strrchr(n->name, '.') : NULL;
    if (dot && !strcmp(dot, ".kernel") && (n->rank == 2 || n->rank == 4))
      return n;
  }
  return NULL;
}

static void emit_first_kernel(Emitter *e) {
  const IrNode *k = first_kernel(e->g);
  if (!k)
    return;
  P("    .first_kernel = {\"%s\", %s, {%d, %d, %d, %d}}, /* report.html */\n", k->name,
    k->rank == 2 ? "RT_FIRST_DENSE" : "RT_FIRST_CONV", k->dims[0], k->dims[1],
    k->rank == 4 ? k->dims[2] : 0, k->rank == 4 ? k->dims[3] : 0);
}

/* "(28, 28)": the input's per-example shape */
static const char *input_shape_text(Emitter *e) {
  return arena_printf(e->g->arena, "(%s", ir_shape_str(e->g->arena, e->g->input) + 4);
}

void emit_main(Emitter *e) {
  const Graph *g = e->g;
  int n_checkpoint, n_trainable, n_adapt;
  count_tables(e, &n_checkpoint, &n_trainable, &n_adapt);
  P("/* ===== the model, as the runtime's training loop sees it ===== */\n\n");
  P("#define N_CHECKPOINT_TENSORS %d /* parameters, statistics, optimizer state */\n",
    n_checkpoint);
  P("#define N_TRAINABLE_TENSORS %d  /* what --gradcheck perturbs */\n", n_trainable);
  P("#define N_ADAPT_LAYERS %d\n", n_adapt);
  P("#define MODEL_IDENTITY 0x%016llxull /* the compiled graph's hash: checkpoints carry it */\n",
    (unsigned long long)g->identity);
  emit_bind_model(e, n_trainable, n_adapt);
  P("static RtModel MODEL = {\n");
  P("    .name = MODEL_NAME, .batch = BATCH, .n_classes = N_CLASSES,\n");
  P("    .identity = MODEL_IDENTITY,\n");
  P("    .input_size = INPUT_SIZE, .input_name = \"%s\", .input_shape = \"%s\",\n", g->input->name,
    input_shape_text(e));
  const IrNode *x = g->input; /* IDX images are (rows, cols) or (rows, cols, channels) */
  if (x->dtype == DT_F32)
    P("    .input_f32 = 1, /* float features, fed as they are */\n");
  if (x->rank == 2 || x->rank == 3)
    P("    .input_rows = %d, .input_cols = %d, .input_channels = %d,\n", x->dims[0], x->dims[1],
      x->rank == 3 ? x->dims[2] : 1);
  if (g->binary)
    P("    .n_outputs = N_OUTPUTS, .target_names = TARGET_NAMES, .target_table = TARGET_TABLE,\n");
  else
    P("    .class_names = CLASS_NAMES,\n");
  P("    .n_params = N_PARAMS,\n");
  P("    .loss_sum = &loss_sum, .learning_rate = &learning_rate, .dropout_rng = &dropout_rng,\n");
  if (graph_augments(g))
    P("    .augment_rng = &augment_rng,\n");
  if (graph_syncs_batch_norm(g)) /* every rank runs forward and backward, also on no rows */
    P("    .sync_batch_norm = 1, /* batch_norm(synchronized=true) */\n");
  P("    .bind = bind_model, .init_params = init_params, .forward = model_forward,\n");
  P("    .backward = model_backward, .optimizer_step = optimizer_step,\n");
  P("    .checkpoint = checkpoint_tensors, .n_checkpoint = N_CHECKPOINT_TENSORS,\n");
  if (n_trainable)
    P("    .trainable = trainable_tensors, .n_trainable = N_TRAINABLE_TENSORS,\n");
  if (n_adapt)
    P("    .adapt = adapt_layers, .n_adapt = N_ADAPT_LAYERS,\n");
  emit_first_kernel(e);
  P("};\n\n");
  emit_config(e);
  P("int main(int argc, char **argv) { return rt_main(&MODEL, &CONFIG, argc, argv); }\n");
}
