/*
 * rt_prepare.c — the run's data, as the .nn file's data section asks:
 * the training file (its first --limit-train examples), the validation
 * split, the keep rules, Normalization.adapt, oversampling and the class
 * weights; the test split; one batch into the model's batch block.
 *
 * Order matters and is the Keras seeds' order: limit, split, keep, adapt
 * (on the training split as kept, before any oversampling, so repeated
 * examples do not weigh twice), oversample, then the class weights from the
 * final counts. Every random choice has its own seed from the recipe, so
 * the streams are the same whatever else the run does.
 *
 * Invariants after rt_prepare_data: every example has the model's input
 * size and a label that is a class of the model (checked right after each
 * file is read, before any table is indexed by a label), and a requested
 * validation split is not empty.
 */
#include "nnc_runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the run ---- */

void rt_run_set_out_dir(RtRun *run, const char *out_dir) {
  run->opt.out_dir = out_dir;
  const char *file = run->config->checkpoint.file;
  rt_path_join(run->checkpoint_path, sizeof run->checkpoint_path, out_dir,
               file ? file : "best.ckpt");
  rt_path_join(run->last_path, sizeof run->last_path, out_dir, "last.ckpt");
}

void rt_run_init(RtRun *run, const RtModel *model, const RtFitConfig *config) {
  memset(run, 0, sizeof *run);
  run->model = model;
  run->config = config;
  run->opt = config->defaults;
  run->class_weight = rt_malloc(sizeof(float) * (size_t)model->n_classes);
  for (int c = 0; c < model->n_classes; c++)
    run->class_weight[c] = 1.0f;
  rt_run_set_out_dir(run, run->opt.out_dir ? run->opt.out_dir : ".");
}

void rt_run_free(RtRun *run) {
  free(run->class_weight);
  run->class_weight = NULL;
}

/* ---- checks that name the file ---- */

/* The images are the model's input: rows x cols x channels where the input
 * has that form (14x56 is not 28x28), and always its number of values. */
static void check_input_shape(const RtModel *model, const RtDataset *ds, const char *what) {
  if (model->input_rows > 0)
    rt_dataset_check_shape(ds, model->input_rows, model->input_cols, model->input_channels, NULL);
  if (ds->item_size != model->input_size)
    rt_die("%s: images have %zu values (%dx%dx%d), but model input %s is %s", what, ds->item_size,
           ds->rows, ds->cols, ds->channels, model->input_name, model->input_shape);
}

/* A dataset as loaded (its indices are the file's), checked against the model. */
static void check_loaded(const RtModel *model, const RtDataset *ds, const char *what) {
  check_input_shape(model, ds, what);
  rt_dataset_check_labels(ds, model->n_classes);
}

/* ds = its first `limit` examples (0: all). */
static void keep_head(RtDataset *ds, int limit) {
  if (limit <= 0 || limit >= ds->count)
    return;
  RtDataset head;
  rt_dataset_slice(&head, ds, 0, limit);
  rt_dataset_free(ds);
  *ds = head;
}

/* ds without the examples of classes whose keep[c] is 0 (order kept). */
static void drop_classes(RtDataset *ds, const uint8_t *keep, int n_classes) {
  int *classes = rt_malloc(sizeof(int) * (size_t)n_classes), n = 0;
  for (int c = 0; c < n_classes; c++)
    if (!keep[c])
      classes[n++] = c;
  int *zeros = rt_calloc((size_t)n + 1, sizeof(int));
  rt_dataset_keep(ds, classes, zeros, n, 0);
  free(zeros);
  free(classes);
}

/* The first `limit` examples of a split of an IDX directory, checked. */
static void load_split(const RtRun *run, RtDataset *ds, const char *split, int limit,
                       const char *what) {
  rt_source_load(run, ds, strcmp(split, "t10k") == 0); /* IDX or the data section's source */
  check_loaded(run->model, ds, what);
  if (run->config->only_classes) /* only [...]: keep 0 examples of every other class */
    drop_classes(ds, run->config->only_classes, run->model->n_classes);
  keep_head(ds, limit);
}

void rt_load_test(const RtRun *run, RtDataset *test) {
  load_split(run, test, "t10k", run->opt.limit_test, "test data");
}

/* ---- the validation split ---- */

/* validation last N / split F [seed S]: full becomes *train and *val. */
static void split_off_validation(const RtValidationConfig *v, RtDataset *full, RtDataset *train,
                                 RtDataset *val) {
  int n_val = v->kind == RT_VAL_LAST ? v->last
                                     /* Keras: split_at = ceil(N (1 - F)) */
                                     : full->count - (int)ceil(full->count * (1.0 - v->split));
  if (n_val >= full->count)
    rt_die("the validation split takes %d of %d examples: nothing is left to train on", n_val,
           full->count);
  if (v->kind == RT_VAL_SPLIT && v->seeded) {
    rt_dataset_split_random(train, val, full, n_val, v->seed);
  } else { /* the last n_val */
    rt_dataset_slice(val, full, full->count - n_val, n_val);
    rt_dataset_slice(train, full, 0, full->count - n_val);
  }
  rt_dataset_free(full);
}

static void validation_split(const RtRun *run, RtDataset *full, RtDataset *train,
                             RtDataset *val) {
  const RtValidationConfig *v = &run->config->validation;
  switch (v->kind) {
  case RT_VAL_NONE:
    memset(val, 0, sizeof *val);
    *train = *full;
    return;
  case RT_VAL_LAST:
  case RT_VAL_SPLIT:
    split_off_validation(v, full, train, val);
    break;
  case RT_VAL_TEST:
    /* the test split doubles as validation, as the seeds' validation_data=(x_test,
       y_test) do (model selection then sees the test set) */
    rt_load_test(run, val);
    *train = *full;
    break;
  case RT_VAL_FILES:
    rt_dataset_load_idx_files(val, v->images, v->labels);
    rt_dataset_to_input_type(run->model, val, v->images);
    check_loaded(run->model, val, "validation data");
    *train = *full;
    break;
  }
  if (val->count == 0) /* Keras refuses to score nothing; so do we */
    rt_die("the validation split is empty: there is nothing to score (use more training "
           "examples, or no validation)");
}

/* ---- the training distribution ---- */

/* Normalization.adapt(): statistics of the training split only. */
static void adapt(const RtModel *model, const RtDataset *train) {
  for (int i = 0; i < model->n_adapt; i++) {
    const RtAdapt *a = &model->adapt[i];
    rt_adapt_mean_var(a->mean, a->variance, train, a->features);
    if (a->count) /* values averaged per statistic */
      a->count[0] = (float)train->count * (float)a->values_per_statistic;
  }
}

static void print_counts(const RtDataset *train, const RtDataset *val, const int *counts,
                         int n_classes) {
  printf("train: %d examples, per class [", train->count);
  for (int c = 0; c < n_classes; c++)
    printf("%s%d", c ? " " : "", counts[c]);
  printf("]; validation: %d examples\n", val->count);
}

static void set_class_weights(RtRun *run, const int *counts) {
  const RtFitConfig *config = run->config;
  int n = run->model->n_classes;
  if (config->class_weight == RT_WEIGHTS_BALANCED)
    rt_class_weights_balanced(run->class_weight, counts, n); /* w_c = N / (C n_c) */
  else if (config->class_weight == RT_WEIGHTS_EXPLICIT)
    memcpy(run->class_weight, config->class_weights, sizeof(float) * (size_t)n);
}

void rt_prepare_data(RtRun *run, RtDataset *train, RtDataset *val) {
  const RtFitConfig *config = run->config;
  const RtModel *model = run->model;
  RtDataset full;
  if (rt_source_load_split(run, train, val)) { /* an image folder split as Keras splits it */
    check_loaded(model, train, "training data");
    check_loaded(model, val, "validation data");
    keep_head(train, run->opt.limit_train);
  } else {
    load_split(run, &full, "train", run->opt.limit_train, "training data");
    validation_split(run, &full, train, val);
  }
  if (config->n_keep) /* the manufactured imbalance */
    rt_dataset_keep(train, config->keep_classes, config->keep_counts, config->n_keep,
                    config->keep_seed);
  adapt(model, train);
  if (config->oversample) /* repeat each class up to the largest, then shuffle */
    rt_dataset_oversample(train, model->n_classes, config->oversample_seed);
  int *counts = rt_malloc(sizeof(int) * (size_t)model->n_classes);
  rt_class_counts(counts, train, model->n_classes);
  if (!run->opt.quiet)
    print_counts(train, val, counts, model->n_classes);
  set_class_weights(run, counts);
  free(counts);
}

/* ---- batches ---- */

static size_t row_bytes(const RtModel *model) {
  return model->input_size * (model->input_f32 ? sizeof(float) : 1);
}

/* Row i of the model's batch block: the item's values (already there when
 * item is the row itself), its label or binary targets, its class weight. */
static void load_row(const RtRun *run, int i, const void *item, int y) {
  const RtModel *model = run->model;
  size_t size = row_bytes(model);
  int k = model->n_outputs;
  uint8_t *row_x = (uint8_t *)model->batch_x + (size_t)i * size;
  if (item != row_x)
    memcpy(row_x, item, size);
  if (model->batch_targets) { /* the class's binary targets */
    const uint8_t *row = model->target_table + (size_t)y * (size_t)k;
    for (int j = 0; j < k; j++)
      model->batch_targets[(size_t)i * (size_t)k + j] = row[j];
  } else {
    model->batch_labels[i] = (uint8_t)y;
  }
  if (model->batch_weights)
    model->batch_weights[i] = run->class_weight[y];
}

/* A streamed folder holds uint8 images (rt_source_load.c streams only for
 * u8 inputs); items in memory must be of the input's type. */
static int items_fit_input(const RtDataset *ds, const RtModel *model) {
  int f32_items = rt_dataset_streamed(ds) ? 0 : !ds->x;
  return f32_items == !!model->input_f32 && ds->item_size == model->input_size;
}

void rt_load_batch(const RtRun *run, const RtDataset *ds, const int *idx, int m) {
  const RtModel *model = run->model;
  if (!items_fit_input(ds, model))
    rt_die("internal error: a batch of %s items for model input %s %s", ds->x ? "uint8" : "float",
           model->input_name, model->input_shape);
  size_t size = row_bytes(model);
  char err[1024];
  for (int i = 0; i < m; i++) {
    uint8_t *row = (uint8_t *)model->batch_x + (size_t)i * size;
    const void *item = row;
    if (!rt_dataset_streamed(ds))
      item = rt_dataset_item(ds, (size_t)idx[i]);
    else if (rt_image_try_load(ds->paths[idx[i]], ds->channels, ds->rows, ds->cols, row, err,
                               sizeof err) != 0)
      rt_die("%s", err); /* streamed: decoded straight into the row */
    load_row(run, i, item, ds->y[idx[i]]);
  }
}

/* ---- streamed batches ---- */

void rt_stream_settings(const RtRun *run, int *threads, int *depth) {
  *threads = run->opt.loader_threads > 0 ? run->opt.loader_threads : 2;
  *depth = run->opt.loader_depth > 0 ? run->opt.loader_depth : 4;
}

RtLoader *rt_stream_start(const RtRun *run, const RtDataset *ds, const int *order, int n) {
  int threads, depth;
  rt_stream_settings(run, &threads, &depth);
  RtFileList files = {.count = ds->count, .paths = ds->paths, .labels = ds->y};
  return rt_loader_start(&files, order, n, run->model->batch, ds->rows, ds->cols, ds->channels,
                         depth, threads);
}

int rt_stream_next(const RtRun *run, RtLoader *loader, int first, int part) {
  const uint8_t *x, *y;
  int m = rt_loader_next(loader, &x, &y);
  if (first + part > m)
    rt_die("the background loader gave a batch of %d rows, %d expected (this is a bug in nnc)",
           m, first + part);
  for (int i = 0; i < part; i++)
    load_row(run, i, x + (size_t)(first + i) * run->model->input_size, y[first + i]);
  return m;
}
