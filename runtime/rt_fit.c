/*
 * rt_fit.c — the training loop of every generated program (Keras's fit):
 * epochs of shuffled batches, the training metrics, validation, the epoch
 * log (history.csv, the csv_logger, the progress line), and the callbacks
 * in Keras's order: checkpoint, reduce_lr_on_plateau, early stopping.
 *
 * The model is reached only through its RtModel: load a batch into its
 * block, forward, backward, optimizer_step, read loss_sum and the scores.
 * The arithmetic (what is summed, in which order and precision) is the one
 * the emitted loops had, so same-seed runs are bit-identical to them.
 *
 * terminate_on_nan: the loss of every step is checked before its backward
 * pass, and the trainable tensors' gradients before the optimizer step; the
 * first non-finite one stops training with the parameters of the last
 * finite step (nothing non-finite is ever saved) and a message naming the
 * epoch, the step and, for a gradient, the tensor (so the layer).
 *
 * Resume: after every epoch's callbacks the state the rest of the run
 * depends on is saved to last.ckpt (rt_resume.c); --resume restores it and
 * continues with the next epoch, so the run ends as it would have without
 * the interruption.
 */
#include "nnc_runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLUMNS 16

/* ---- evaluation ---- */

/* precision and recall as training metrics: the plain mean over the classes
 * of TP / (TP + FP) and TP / (TP + FN) of the argmax predictions (sklearn's
 * average="macro" with zero_division=0: a class never predicted, or absent,
 * counts 0). Keras's Precision() thresholds each one-hot entry at 0.5 and
 * averages over all entries; with softmax outputs the argmax is the
 * prediction a classifier makes, so the per-class average is the one the
 * test report and the expectations use too. */
static void macro_precision_recall(const RtConfusion *cm, double *precision, double *recall) {
  RtClassStats *stats = rt_malloc(sizeof(RtClassStats) * (size_t)cm->n_classes);
  rt_confusion_stats(stats, cm);
  *precision = *recall = 0;
  for (int c = 0; c < cm->n_classes; c++) {
    *precision += stats[c].precision / cm->n_classes;
    *recall += stats[c].recall / cm->n_classes;
  }
  free(stats);
}

/* top_k_accuracy's k: the recipe's, or Keras's 5 */
static int top_k_of(const RtFitConfig *config) { return config->top_k > 0 ? config->top_k : 5; }

/* The macro average of the ROC AUCs of scores (n, n_scores) for labels (n). */
static double mean_auc(const RtModel *model, const float *scores, const uint8_t *labels, int n) {
  int k = rt_model_scores(model);
  double *auc = rt_malloc(sizeof(double) * (size_t)k);
  rt_roc_auc_columns(auc, scores, labels, model->n_outputs ? model->target_table : NULL, n, k);
  double mean = rt_mean_defined(auc, k);
  free(auc);
  return mean;
}

/* A streamed ds read ahead in its own order, examples lo..hi-1. */
static RtLoader *start_range_loader(const RtRun *run, const RtDataset *ds, int lo, int hi) {
  int *order = rt_malloc(sizeof(int) * (size_t)(hi > lo ? hi - lo : 1));
  for (int i = lo; i < hi; i++)
    order[i - lo] = i;
  RtLoader *loader = rt_stream_start(run, ds, order, hi - lo);
  free(order); /* the loader keeps its own copy */
  return loader;
}

RtEvalResult rt_evaluate(const RtRun *run, const RtDataset *ds, RtConfusion *cm, float *scores) {
  const RtModel *model = run->model;
  int k = rt_model_scores(model), *idx = rt_malloc(sizeof(int) * (size_t)model->batch);
  double loss = 0;
  long correct = 0, top_k = 0;
  int lo, hi; /* this rank's examples: all of them in one process */
  rt_dist_range(run, ds->count, &lo, &hi);
  if (scores && run->dist) /* each rank fills its rows; the sum over the ranks is every row */
    memset(scores, 0, sizeof(float) * (size_t)ds->count * k);
  RtLoader *loader = rt_dataset_streamed(ds) ? start_range_loader(run, ds, lo, hi) : NULL;
  for (int start = lo; start < hi; start += model->batch) {
    int m = hi - start < model->batch ? hi - start : model->batch;
    for (int i = 0; i < m; i++)
      idx[i] = start + i;
    if (loader)
      rt_stream_next(run, loader, 0, m);
    else
      rt_load_batch(run, ds, idx, m);
    model->forward(m, 0);
    loss += *model->loss_sum;
    if (scores)
      memcpy(scores + (size_t)start * k, model->scores, sizeof(float) * (size_t)m * k);
    if (model->n_outputs) {
      correct += rt_count_binary_correct(model->scores, model->batch_targets, m, k);
      continue;
    }
    correct += rt_count_correct(model->scores, model->batch_labels, m, k);
    top_k += rt_count_top_k(model->scores, model->batch_labels, m, k, top_k_of(run->config));
    for (int i = 0; cm && i < m; i++)
      rt_confusion_add(cm, model->batch_labels[i], rt_argmax(model->scores + (size_t)i * k, k));
  }
  free(idx);
  rt_loader_stop(loader);
  if (run->dist) {
    double sums[3] = {loss, (double)correct, (double)top_k};
    rt_dist_sum(run, sums, 3);
    loss = sums[0], correct = (long)sums[1], top_k = (long)sums[2];
    if (cm) /* precision and recall: every rank's counts */
      rt_dist_sum_counts(run, cm->counts, (size_t)cm->n_classes * cm->n_classes);
    if (scores)
      rt_dist_sum_floats(run, scores, (size_t)ds->count * k);
  }
  int n = ds->count > 0 ? ds->count : 1;
  double auc = scores ? mean_auc(model, scores, ds->y, ds->count) : NAN;
  if (model->n_outputs) /* Keras's binary_accuracy: the share of all n * k entries */
    return (RtEvalResult){loss / n, (double)correct / ((double)n * k), NAN, auc, NAN, NAN};
  RtEvalResult r = {loss / n, (double)correct / n, (double)top_k / n, auc, NAN, NAN};
  if (cm)
    macro_precision_recall(cm, &r.precision, &r.recall);
  return r;
}

/* ---- the epoch log ---- */

/* epoch, loss, accuracy, [top_k_accuracy, auc, precision, recall,] val_..., lr, seconds */
#define N_METRICS 6
static int epoch_columns(const RtFitConfig *config, const char **names) {
  static const char *const train[] = {"loss", "accuracy", "top_k_accuracy", "auc", "precision",
                                      "recall"};
  static const char *const val[] = {"val_loss", "val_accuracy", "val_top_k_accuracy", "val_auc",
                                    "val_precision", "val_recall"};
  int on[] = {1, 1, config->metric_top_k, config->metric_auc, config->metric_precision,
              config->metric_recall}, n = 0;
  names[n++] = "epoch";
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < N_METRICS; i++)
      if (on[i])
        names[n++] = pass ? val[i] : train[i];
  names[n++] = "lr";
  names[n++] = "seconds";
  return n;
}

/* The values of one row, in epoch_columns's order. */
static void epoch_values(const RtFitConfig *config, double *v, int epoch, const RtEvalResult *t,
                         const RtEvalResult *val, double lr, double seconds) {
  int on[] = {1, 1, config->metric_top_k, config->metric_auc, config->metric_precision,
              config->metric_recall}, n = 0;
  v[n++] = epoch;
  for (int pass = 0; pass < 2; pass++) {
    const RtEvalResult *r = pass ? val : t;
    const double x[] = {r->loss, r->accuracy, r->top_k_accuracy, r->auc, r->precision, r->recall};
    for (int i = 0; i < N_METRICS; i++)
      if (on[i])
        v[n++] = x[i];
  }
  v[n++] = lr;
  v[n++] = seconds;
}

static int column_index(const char *const *names, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(names[i], name))
      return i;
  rt_die("the monitored metric '%s' is not logged (this is a bug in nnc)", name);
}

/* ---- the fit's state ---- */

typedef struct {
  RtRun *run;
  const RtModel *model;
  const RtFitConfig *config;
  const RtDataset *train, *val;
  int *order; /* this epoch's order of the training examples */
  RtRng shuffle_rng;
  const char *columns[MAX_COLUMNS];
  int n_columns;
  RtCsvLog history, csv_log;
  float *epoch_scores, *val_scores; /* metrics [auc]: every example's scores */
  uint8_t *epoch_labels;
  RtMonitor checkpoint, early;
  RtPlateau plateau;
  float *best_params; /* early stopping's restore_best_weights */
  int bar_on;         /* --verbose 1 on a terminal: Keras's progress bar */
  int want_pr;        /* metrics [precision] or [recall]: the epochs' confusion matrices */
  RtConfusion epoch_cm;
  RtProgress bar;
  RtFitResult r;
} Fit;

/* resumed: the logs as they were after its epoch, appended to. */
static void open_logs(Fit *f, const RtResumeState *resumed) {
  const RtFitConfig *config = f->config;
  const RtCsvLoggerConfig *csv = &config->csv_logger;
  char path[4096];
  f->n_columns = epoch_columns(config, f->columns);
  if (!rt_is_root(f->run))
    return; /* under mpirun, rank 0 alone writes files */
  rt_path_join(path, sizeof path, f->run->opt.out_dir, "history.csv");
  if (resumed)
    rt_resume_truncate_log(path, resumed->history_bytes);
  rt_csv_log_open(&f->history, path, ',', resumed != NULL, f->columns, f->n_columns);
  if (csv->enabled) { /* Keras's CSVLogger */
    rt_path_join(path, sizeof path, f->run->opt.out_dir, csv->path);
    if (resumed)
      rt_resume_truncate_log(path, resumed->csv_log_bytes);
    rt_csv_log_open(&f->csv_log, path, csv->separator, csv->append || resumed, f->columns,
                    f->n_columns);
  }
}

static void fit_init(Fit *f, RtRun *run, const RtDataset *train, const RtDataset *val) {
  const RtFitConfig *c = run->config;
  memset(f, 0, sizeof *f);
  f->run = run, f->model = run->model, f->config = c, f->train = train, f->val = val;
  rt_rng_seed(&f->shuffle_rng, run->opt.seed + 1);
  f->order = rt_malloc(sizeof(int) * (size_t)(train->count ? train->count : 1));
  for (int i = 0; i < train->count; i++)
    f->order[i] = i;
  f->bar_on = !run->opt.quiet && rt_progress_bar_wanted(&run->opt);
  f->want_pr = (c->metric_precision || c->metric_recall) && !f->model->n_outputs;
  if (f->want_pr)
    rt_confusion_init(&f->epoch_cm, f->model->n_classes);
  if (c->metric_auc) {
    size_t k = (size_t)rt_model_scores(f->model);
    f->epoch_scores = rt_malloc(sizeof(float) * ((size_t)train->count + 1) * k);
    f->epoch_labels = rt_malloc((size_t)train->count + 1);
    f->val_scores = rt_malloc(sizeof(float) * ((size_t)val->count + 1) * k);
  }
  if (c->checkpoint.enabled)
    rt_monitor_init(&f->checkpoint, c->checkpoint.monitor, c->checkpoint.mode, 0);
  const RtEarlyStoppingConfig *es = &c->early_stopping;
  if (es->enabled)
    rt_monitor_init(&f->early, es->monitor, es->mode, es->min_delta);
  if (es->enabled && es->restore_best)
    f->best_params = rt_malloc(sizeof(float) * f->model->n_params);
  const RtReduceLrConfig *rl = &c->reduce_lr;
  if (rl->enabled)
    rt_plateau_init(&f->plateau, rl->monitor, rl->mode, rl->min_delta, rl->factor, rl->patience,
                    rl->cooldown, rl->min_lr);
}

static void fit_free(Fit *f) {
  if (rt_is_root(f->run))
    rt_csv_log_close(&f->history);
  if (f->config->csv_logger.enabled && rt_is_root(f->run))
    rt_csv_log_close(&f->csv_log);
  free(f->epoch_scores);
  free(f->epoch_labels);
  free(f->val_scores);
  free(f->best_params);
  free(f->order);
  if (f->want_pr)
    rt_confusion_free(&f->epoch_cm);
}

/* ---- one epoch ---- */

/* The training metrics of one batch, summed as Keras does. */
typedef struct {
  double loss, correct, weight, top_k;
} EpochSums;

static void add_batch_metrics(Fit *f, EpochSums *s, int start, int m) {
  const RtModel *model = f->model;
  const float *scores = model->scores;
  int k = rt_model_scores(model);
  if (model->n_outputs) { /* binary_accuracy: the share of the m * k targets predicted right */
    s->correct += rt_count_binary_correct(scores, model->batch_targets, m, k);
    s->weight += (double)m * k;
  } else { /* Keras weights training metrics by the class weights: sum(w correct) / sum(w) */
    s->correct += rt_weighted_correct(scores, model->batch_labels, model->batch_weights, m, k);
    if (model->batch_weights)
      for (int i = 0; i < m; i++)
        s->weight += model->batch_weights[i];
    else
      s->weight += m;
  }
  for (int i = 0; f->want_pr && i < m; i++) /* unweighted, as Keras's Precision and Recall */
    rt_confusion_add(&f->epoch_cm, model->batch_labels[i],
                     rt_argmax(scores + (size_t)i * k, k));
  if (f->config->metric_top_k)
    s->top_k += rt_count_top_k(scores, model->batch_labels, m, k, top_k_of(f->config));
  if (f->config->metric_auc) {
    memcpy(f->epoch_scores + (size_t)start * k, scores, sizeof(float) * (size_t)m * k);
    for (int i = 0; i < m; i++)
      f->epoch_labels[start + i] = f->train->y[f->order[start + i]];
  }
}

/* The bar after each step: the running loss and accuracy of the epoch so far. */
static void show_progress(Fit *f, const EpochSums *s, int seen) {
  static const char *const names[] = {"loss", "accuracy"};
  const double values[] = {s->loss / seen, s->correct / s->weight};
  int steps = (seen + f->model->batch - 1) / f->model->batch;
  rt_progress_step(&f->bar, steps, names, values, 2);
}

/* The epoch's confusion matrix back to zeros (before training, before validation). */
static void clear_confusion(Fit *f) {
  size_t k = (size_t)f->epoch_cm.n_classes;
  if (f->want_pr)
    memset(f->epoch_cm.counts, 0, sizeof(long) * k * k);
}

/* Under mpirun: the sums of every rank's rows (the loss is summed per step). */
static void reduce_epoch_sums(Fit *f, EpochSums *s) {
  double sums[3] = {s->correct, s->weight, s->top_k};
  rt_dist_sum(f->run, sums, 3);
  s->correct = sums[0], s->weight = sums[1], s->top_k = sums[2];
  if (f->want_pr)
    rt_dist_sum_counts(f->run, f->epoch_cm.counts,
                       (size_t)f->epoch_cm.n_classes * f->epoch_cm.n_classes);
  if (!f->epoch_scores)
    return;
  rt_dist_sum_floats(f->run, f->epoch_scores, (size_t)f->train->count * rt_model_scores(f->model));
  for (int i = 0; i < f->train->count; i++)
    f->epoch_labels[i] = f->train->y[f->order[i]];
}

/* ---- terminate_on_nan ---- */

/* The first trainable tensor whose gradient has an inf or nan entry (its
 * gradient lies in grads at the tensor's offset in params), or NULL. The
 * test is on the exponent bits, an integer OR that vectorizes. */
static const char *nonfinite_gradient(const RtModel *model) {
  for (int t = 0; t < model->n_trainable; t++) {
    const RtTensorRef *p = &model->trainable[t];
    const float *g = model->grads + (p->data - model->params);
    uint32_t bad = 0;
    for (size_t i = 0; i < p->count; i++) {
      uint32_t bits;
      memcpy(&bits, &g[i], sizeof bits);
      bad |= (bits & 0x7f800000u) == 0x7f800000u;
    }
    if (bad)
      return p->name;
  }
  return NULL;
}

/* Stops the run when this step's loss or gradient is not finite: says
 * where, keeps the weights of the last finite step (the step is not
 * applied) and the checkpoint on disk. Returns 1 when it stopped. */
static int stop_on_nan(Fit *f, int epoch, int after_backward) {
  double loss = *f->model->loss_sum;
  if (!f->config->terminate_on_nan)
    return 0;
  const char *tensor = after_backward ? nonfinite_gradient(f->model) : NULL;
  if (after_backward ? !tensor : isfinite(loss))
    return 0;
  int saved = f->config->checkpoint.enabled && f->r.best_epoch > 0; /* by this run */
  char what[256];
  if (tensor)
    snprintf(what, sizeof what, "the gradient of %s is not finite (loss %g)", tensor, loss);
  else
    snprintf(what, sizeof what, "the loss is %g", loss);
  fprintf(stderr,
          "error: epoch %d, step %ld: %s; training stopped (terminate_on_nan) with the weights "
          "of the last finite step%s%s\n",
          epoch, f->r.steps + 1, what, saved ? "; kept " : "",
          saved ? f->run->checkpoint_path : "");
  f->r.stopped_on_nan = 1;
  return 1;
}

/* Forward, backward and the optimizer step on the batch block (this rank's
 * part of the global batch of m); 0 when terminate_on_nan stopped it. */
static int train_step(Fit *f, int epoch, int part, int m) {
  rt_dist_forward(f->run, part); /* forward; loss_sum: the global batch's */
  if (stop_on_nan(f, epoch, 0))
    return 0;
  rt_dist_backward(f->run, part, m); /* backward; the global batch's gradient */
  if (stop_on_nan(f, epoch, 1))
    return 0;
  f->model->optimizer_step(++f->r.steps);
  return 1;
}

/* One pass over the shuffled training split; 0 when terminate_on_nan stopped it. */
static int train_epoch(Fit *f, int epoch, RtEvalResult *out) {
  const RtModel *model = f->model;
  const RtDataset *train = f->train;
  EpochSums s = {0, 0, 0, 0};
  if (f->config->shuffle)
    rt_rng_shuffle(&f->shuffle_rng, f->order, train->count);
  rt_dist_epoch_streams(f->run, epoch); /* under mpirun: ranks > 0 draw theirs again */
  clear_confusion(f);
  if (f->bar_on)
    rt_progress_begin(&f->bar, epoch, f->run->opt.epochs,
                      (train->count + model->batch - 1) / model->batch);
  if (f->epoch_scores && f->run->dist) /* each rank fills its rows, summed below */
    memset(f->epoch_scores, 0, sizeof(float) * (size_t)train->count * rt_model_scores(model));
  /* a streamed split: the epoch's order decoded ahead by the loader's threads */
  RtLoader *loader =
      rt_dataset_streamed(train) ? rt_stream_start(f->run, train, f->order, train->count) : NULL;
  for (int start = 0; start < train->count; start += model->batch) {
    int m = train->count - start < model->batch ? train->count - start : model->batch;
    int first, part = rt_dist_part(f->run, m, &first); /* this rank's rows: all in one process */
    if (loader)
      rt_stream_next(f->run, loader, first, part);
    else
      rt_load_batch(f->run, train, f->order + start + first, part);
    if (!train_step(f, epoch, part, m)) {
      rt_loader_stop(loader);
      return 0;
    }
    s.loss += *model->loss_sum;
    add_batch_metrics(f, &s, start + first, part);
    if (f->bar_on)
      show_progress(f, &s, start + m);
  }
  rt_loader_stop(loader);
  if (f->run->dist)
    reduce_epoch_sums(f, &s);
  out->loss = s.loss / train->count;
  out->accuracy = s.correct / s.weight;
  out->top_k_accuracy = s.top_k / train->count; /* unweighted */
  out->auc = f->config->metric_auc ? mean_auc(model, f->epoch_scores, f->epoch_labels,
                                              train->count)
                                   : NAN;
  out->precision = out->recall = NAN;
  if (f->want_pr)
    macro_precision_recall(&f->epoch_cm, &out->precision, &out->recall);
  return 1;
}

/* Keras's progress line: "loss: ... - accuracy: ... - val_loss: ..." */
static void print_epoch(const Fit *f, int epoch, const double *row, double seconds) {
  int steps = (f->train->count + f->model->batch - 1) / f->model->batch;
  printf("Epoch %d/%d - %d steps - %.2fs", epoch, f->run->opt.epochs, steps, seconds);
  for (int i = 1; i < f->n_columns - 2; i++)
    if (f->config->validation.kind != RT_VAL_NONE || strncmp(f->columns[i], "val_", 4) != 0)
      printf(" - %s: %.4f", f->columns[i], row[i]);
  printf(" - lr: %.1e\n", *f->model->learning_rate);
}

/* The bar's last state: the same values as print_epoch's line. */
static void finish_bar(Fit *f, const double *row, double seconds) {
  const char *names[MAX_COLUMNS];
  double values[MAX_COLUMNS];
  int n = 0;
  for (int i = 1; i < f->n_columns - 2; i++)
    if (f->config->validation.kind != RT_VAL_NONE || strncmp(f->columns[i], "val_", 4) != 0)
      names[n] = f->columns[i], values[n++] = row[i];
  rt_progress_end(&f->bar, seconds, names, values, n, *f->model->learning_rate);
}

/* ---- callbacks ---- */

static double monitored(const Fit *f, const double *row, const char *name) {
  return row[column_index(f->columns, f->n_columns, name)];
}

static void save_checkpoint(Fit *f, int epoch, double value) {
  RtCheckpointMeta meta = {.identity = f->model->identity, .epoch = epoch, .step = f->r.steps,
                           .monitor = value};
  snprintf(meta.model, sizeof meta.model, "%s", f->model->name);
  snprintf(meta.run_id, sizeof meta.run_id, "%s", f->run->run_id);
  if (rt_is_root(f->run)) /* under mpirun, rank 0 alone writes files */
    rt_checkpoint_save(f->run->checkpoint_path, f->model->checkpoint, f->model->n_checkpoint,
                       &meta);
  f->r.best_epoch = epoch;
}

/* ModelCheckpoint: save when the monitor improved (or every epoch). */
static void checkpoint_callback(Fit *f, int epoch, const double *row) {
  const RtCheckpointConfig *ck = &f->config->checkpoint;
  const char *path = f->run->checkpoint_path;
  int quiet = f->run->opt.quiet || ck->silent;
  double value = monitored(f, row, ck->monitor), previous = f->checkpoint.best;
  if (rt_monitor_update(&f->checkpoint, value, epoch)) {
    save_checkpoint(f, epoch, value);
    if (!quiet)
      printf("  checkpoint: %s improved from %.5f to %.5f, saved %s\n", ck->monitor, previous,
             value, path);
  } else if (!ck->save_best_only) {
    save_checkpoint(f, epoch, value);
    if (!quiet)
      printf("  checkpoint: saved %s (every epoch; %s did not improve from %.5f)\n", path,
             ck->monitor, f->checkpoint.best);
  } else if (!quiet) {
    printf("  checkpoint: %s did not improve from %.5f\n", ck->monitor, f->checkpoint.best);
  }
}

/* ReduceLROnPlateau: lowers the model's learning rate. */
static void reduce_lr_callback(Fit *f, int epoch, const double *row) {
  const RtReduceLrConfig *rl = &f->config->reduce_lr;
  float *lr = f->model->learning_rate;
  float reduced = (float)rt_plateau_update(&f->plateau, monitored(f, row, rl->monitor), epoch, *lr);
  if (reduced < *lr && !f->run->opt.quiet && !rl->silent)
    printf("Epoch %d: reduce_lr_on_plateau: %s has not improved for %d epochs, learning rate "
           "%.2e -> %.2e\n", epoch, rl->monitor, rl->patience, *lr, reduced);
  *lr = reduced;
}

/* EarlyStopping: returns 1 to stop; keeps the best weights to restore. */
static int early_stopping_callback(Fit *f, int epoch, const double *row) {
  const RtEarlyStoppingConfig *es = &f->config->early_stopping;
  if (rt_monitor_update(&f->early, monitored(f, row, es->monitor), epoch)) {
    if (f->best_params)
      memcpy(f->best_params, f->model->params, sizeof(float) * f->model->n_params);
    return 0;
  }
  if (f->early.wait < es->patience)
    return 0;
  if (!f->run->opt.quiet && !es->silent)
    printf("Epoch %d: early stopping (%s has not improved for %d epochs)\n", epoch, es->monitor,
           es->patience);
  return 1;
}

/* After the last epoch: restore_best_weights, and which epoch the weights are. */
static void fit_finish(Fit *f) {
  const RtFitConfig *c = f->config;
  if (f->best_params && f->early.best_epoch > 0) {
    memcpy(f->model->params, f->best_params, sizeof(float) * f->model->n_params);
    if (!f->run->opt.quiet)
      printf("Restoring model weights from the end of the best epoch: %d.\n", f->early.best_epoch);
  }
  if (c->checkpoint.enabled)
    return; /* the checkpoint's epoch */
  if (f->best_params)
    f->r.best_epoch = f->early.best_epoch > 0 ? f->early.best_epoch : f->r.epochs_run;
  else
    f->r.best_epoch = f->r.epochs_run;
}

/* ---- fit ---- */

/* One epoch's bookkeeping after training: validation, logs, callbacks.
 * Returns 1 when early stopping ends the run. */
static int end_epoch(Fit *f, int epoch, const RtEvalResult *train, double t0) {
  const RtFitConfig *c = f->config;
  RtEvalResult val = {NAN, NAN, NAN, NAN, NAN, NAN};
  clear_confusion(f);
  rt_dist_sync_params(f->run); /* under mpirun: rank 0's batch-norm statistics everywhere */
  if (c->validation.kind != RT_VAL_NONE)
    val = rt_evaluate(f->run, f->val, f->want_pr ? &f->epoch_cm : NULL, f->val_scores);
  double seconds = rt_now() - t0, row[MAX_COLUMNS];
  f->r.epochs_run = epoch;
  epoch_values(c, row, epoch, train, &val, *f->model->learning_rate, seconds);
  if (rt_is_root(f->run))
    rt_csv_log_row(&f->history, row);
  if (c->csv_logger.enabled && rt_is_root(f->run))
    rt_csv_log_row(&f->csv_log, row);
  if (f->bar_on)
    finish_bar(f, row, seconds);
  else if (!f->run->opt.quiet && rt_verbosity(&f->run->opt) != 0)
    print_epoch(f, epoch, row, seconds);
  if (c->checkpoint.enabled)
    checkpoint_callback(f, epoch, row);
  if (c->reduce_lr.enabled)
    reduce_lr_callback(f, epoch, row);
  return c->early_stopping.enabled && early_stopping_callback(f, epoch, row);
}

/* ---- last.ckpt: the state to resume from ---- */

static long log_length(const RtCsvLog *log) { return ftell(log->f); }

/* last.ckpt after epoch's callbacks; stopped: early stopping ended the run. */
static void save_resume_point(Fit *f, int epoch, int stopped) {
  const RtFitConfig *c = f->config;
  if (!rt_is_root(f->run)) /* under mpirun, rank 0 alone writes files (its dropout stream is
                              the one saved: a resume continues as one process would) */
    return;
  RtResumeState st = {
      .epoch = epoch, .steps = f->r.steps, .best_epoch = f->r.best_epoch, .stopped = stopped,
      .seed = f->run->opt.seed, .learning_rate = *f->model->learning_rate,
      .shuffle_rng = f->shuffle_rng, .dropout_rng = *f->model->dropout_rng,
      .checkpoint = f->checkpoint, .early = f->early, .plateau = f->plateau,
      .history_bytes = log_length(&f->history),
      .csv_log_bytes = c->csv_logger.enabled ? log_length(&f->csv_log) : 0,
      .n_order = f->train->count, .order = f->order, .best_params = f->best_params};
  rt_resume_save(f->run, &st);
}

static void restore_monitor(RtMonitor *m, const RtMonitor *saved) {
  m->best = saved->best, m->best_epoch = saved->best_epoch, m->wait = saved->wait;
}

/* --resume: the state of last.ckpt. Returns the first epoch still to run
 * (past the last when early stopping had ended the run). */
static int resume_fit(Fit *f) {
  RtResumeState st = {.n_order = f->train->count, .order = f->order,
                      .best_params = f->best_params};
  if (rt_is_root(f->run)) /* under mpirun rank 0 reads last.ckpt and shares it: any N resumes */
    rt_resume_load(f->run, &st);
  rt_dist_share_resume(f->run, &st);
  f->r.steps = st.steps, f->r.best_epoch = st.best_epoch, f->r.epochs_run = st.epoch;
  *f->model->learning_rate = st.learning_rate;
  f->shuffle_rng = st.shuffle_rng;
  *f->model->dropout_rng = st.dropout_rng;
  restore_monitor(&f->checkpoint, &st.checkpoint);
  restore_monitor(&f->early, &st.early);
  restore_monitor(&f->plateau.monitor, &st.plateau.monitor);
  f->plateau.cooldown_left = st.plateau.cooldown_left;
  open_logs(f, &st);
  if (!f->run->opt.quiet)
    printf("Resuming run %s from %s after epoch %d (step %ld)\n", f->run->run_id,
           f->run->last_path, st.epoch, st.steps);
  return st.stopped ? f->run->opt.epochs + 1 : st.epoch + 1;
}

RtFitResult rt_fit(RtRun *run, const RtDataset *train, const RtDataset *val) {
  Fit f;
  fit_init(&f, run, train, val);
  int first = 1;
  if (run->opt.resume)
    first = resume_fit(&f);
  else
    open_logs(&f, NULL);
  for (int epoch = first; epoch <= run->opt.epochs; epoch++) {
    double t0 = rt_now();
    RtEvalResult metrics;
    if (!train_epoch(&f, epoch, &metrics))
      break;
    int stop = end_epoch(&f, epoch, &metrics, t0);
    save_resume_point(&f, epoch, stop);
    if (stop)
      break;
  }
  if (!f.r.stopped_on_nan)
    fit_finish(&f);
  fit_free(&f);
  return f.r;
}
