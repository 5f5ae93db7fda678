/*
 * rt_report.c — after training: the weights to evaluate (the best
 * checkpoint, loaded as Keras's load_model does, or the final weights saved
 * when there is no checkpoint callback), the test split evaluated once, the
 * report (a classifier's confusion matrix, per-class statistics and ROC AUC,
 * or per-target statistics of binary targets), metrics.json, and the
 * evaluate section's expectations, which decide the exit status.
 */
#include "nnc_runtime.h"

#include <stdlib.h>
#include <string.h>

/* Dies unless the checkpoint is this model's and was saved by this run: a
 * file an earlier run left is never reported as this run's result. */
static void check_own_checkpoint(const RtRun *run) {
  RtCheckpointMeta meta;
  char err[1024];
  if (rt_checkpoint_read_meta(run->checkpoint_path, &meta, err, sizeof err) != 0 ||
      rt_checkpoint_check_owner(run->checkpoint_path, &meta, run->model->name,
                                run->model->identity, run->run_id, err, sizeof err) != 0)
    rt_die("%s; it is not loaded, and there is no result of this run to report", err);
}

void rt_finish_training(RtRun *run, RtFitResult *fr) {
  const RtModel *model = run->model;
  const RtFitConfig *config = run->config;
  if (config->checkpoint.enabled) { /* the best checkpoint, not the last epoch */
    RtCheckpointMeta meta;
    check_own_checkpoint(run);
    rt_checkpoint_load(run->checkpoint_path, model->checkpoint, model->n_checkpoint, &meta);
    fr->best_epoch = meta.epoch;
    if (!run->opt.quiet)
      printf("\nLoaded %s (epoch %d, %s %.4f)\n", run->checkpoint_path, meta.epoch,
             config->checkpoint.monitor, meta.monitor);
    return;
  }
  RtCheckpointMeta meta = {.identity = model->identity, .epoch = fr->best_epoch, .step = fr->steps};
  snprintf(meta.model, sizeof meta.model, "%s", model->name);
  snprintf(meta.run_id, sizeof meta.run_id, "%s", run->run_id);
  rt_checkpoint_save(run->checkpoint_path, model->checkpoint, model->n_checkpoint, &meta);
}

int rt_evaluate_checkpoint(RtRun *run) {
  const RtModel *model = run->model;
  const char *path = run->opt.ckpt ? run->opt.ckpt : run->checkpoint_path;
  RtCheckpointMeta meta;
  char err[4400];
  if (rt_checkpoint_try_load(path, model->checkpoint, model->n_checkpoint, &meta, err,
                             sizeof err) != 0)
    rt_die("%s", err);
  if (strcmp(meta.model, model->name) != 0)
    rt_die("%s: checkpoint is for a different model: it was saved by model '%s', this is '%s'",
           path, meta.model, model->name);
  if (!run->opt.quiet && rt_is_root(run))
    printf("Loaded %s (epoch %d); evaluating without training\n", path, meta.epoch);
  rt_mkdir_p(run->opt.out_dir);
  RtFitResult fr = {.best_epoch = meta.epoch, .steps = meta.step};
  return rt_report(run, &fr);
}

/* ---- the test report ---- */

/* What the expectations read: one entry per class (per binary target). */
typedef struct {
  RtEvalResult r;
  RtClassStats *stats;
  double *auc;
} TestResults;

/* A classifier: confusion matrix, per-class statistics, one-vs-rest ROC AUC. */
static void class_report(const RtRun *run, const RtDataset *test, float *scores, int best_epoch,
                         const char *json_path, TestResults *t) {
  const RtModel *model = run->model;
  int k = model->n_classes;
  RtConfusion cm;
  rt_confusion_init(&cm, k);
  t->r = rt_evaluate(run, test, &cm, scores);
  if (!rt_is_root(run)) { /* under mpirun: this rank's shard is counted; rank 0 reports */
    rt_confusion_free(&cm);
    return;
  }
  rt_roc_auc_columns(t->auc, scores, test->y, NULL, test->count, k); /* one vs rest */
  printf("\ntest: %d examples - loss: %.4f - accuracy: %.4f - top-%d accuracy: %.4f - auc: %.4f "
         "(best epoch %d)\n\n", test->count, t->r.loss, t->r.accuracy,
         run->config->top_k > 0 ? run->config->top_k : 5, t->r.top_k_accuracy,
         rt_mean_defined(t->auc, k), best_epoch);
  rt_confusion_print(stdout, &cm, model->class_names);
  rt_auc_print(stdout, t->auc, model->class_names, k);
  rt_metrics_write_json(json_path, &cm, model->class_names, t->r.loss, t->r.accuracy, best_epoch,
                        t->auc);
  rt_confusion_stats(t->stats, &cm);
  rt_confusion_free(&cm);
}

/* Binary targets: per target counts, precision, recall, F1 and ROC AUC. */
static void binary_report(const RtRun *run, const RtDataset *test, float *scores, int best_epoch,
                          const char *json_path, TestResults *t) {
  const RtModel *model = run->model;
  int k = model->n_outputs;
  t->r = rt_evaluate(run, test, NULL, scores);
  if (!rt_is_root(run)) /* under mpirun: this rank's shard is counted; rank 0 reports */
    return;
  RtBinaryStats *targets = rt_malloc(sizeof(RtBinaryStats) * (size_t)k);
  rt_binary_stats(targets, scores, test->y, model->target_table, test->count, k);
  printf("\ntest: %d examples - loss: %.4f - binary accuracy: %.4f (best epoch %d)\n\n",
         test->count, t->r.loss, t->r.accuracy, best_epoch);
  rt_binary_print(stdout, targets, model->target_names, k);
  rt_binary_write_json(json_path, targets, model->target_names, k, t->r.loss, t->r.accuracy,
                       best_epoch);
  for (int j = 0; j < k; j++) {
    t->stats[j] = (RtClassStats){targets[j].precision, targets[j].recall, targets[j].f1,
                                 targets[j].tp + targets[j].fn};
    t->auc[j] = targets[j].auc;
  }
  free(targets);
}

int rt_report(const RtRun *run, const RtFitResult *fr) {
  const RtModel *model = run->model;
  size_t k = (size_t)rt_model_scores(model);
  RtDataset test; /* the test split, touched once */
  rt_load_test(run, &test);
  float *scores = rt_malloc(sizeof(float) * (size_t)(test.count > 0 ? test.count : 1) * k);
  TestResults t = {.stats = rt_malloc(sizeof(RtClassStats) * k),
                   .auc = rt_malloc(sizeof(double) * k)};
  char path[4096];
  rt_path_join(path, sizeof path, run->opt.out_dir, "metrics.json");
  if (model->n_outputs)
    binary_report(run, &test, scores, fr->best_epoch, path, &t);
  else
    class_report(run, &test, scores, fr->best_epoch, path, &t);
  if (!rt_is_root(run)) { /* under mpirun, rank 0 alone writes and checks */
    free(scores), free(t.stats), free(t.auc);
    rt_dataset_free(&test);
    return 0;
  }
  if (run->opt.evaluate) /* nothing trained: no history, no checkpoint written */
    printf("\nwrote %s\n", path);
  else
    printf("\nwrote %s/history.csv, %s and %s\n", run->opt.out_dir, path, run->checkpoint_path);
  rt_write_run_report(run, fr, &test, scores);
  free(scores);
  rt_dataset_free(&test);
  int failed = 0;
  if (run->config->n_expect) {
    printf("\nexpectations:\n");
    failed = rt_check_expectations(run, &t.r, t.stats, t.auc);
  }
  free(t.stats);
  free(t.auc);
  if (!failed)
    return 0;
  fprintf(stderr, "error: %d expectation%s failed\n", failed, failed == 1 ? "" : "s");
  return 1;
}

/* ---- expectations ---- */

/* params(LAYER): parameters of a layer in the checkpoint the model was loaded from. */
static double checkpoint_params(const RtModel *model, const char *layer) {
  size_t n = 0, len = strlen(layer);
  for (int i = 0; i < model->n_checkpoint; i++)
    if (!strncmp(model->checkpoint[i].name, layer, len) && model->checkpoint[i].name[len] == '.')
      n += model->checkpoint[i].count;
  return (double)n;
}

static double expected_value(const RtRun *run, const RtExpectation *x, const RtEvalResult *r,
                             const RtClassStats *stats, const double *auc) {
  switch (x->kind) {
  case RT_EXPECT_ACCURACY: return r->accuracy;
  case RT_EXPECT_LOSS: return r->loss;
  case RT_EXPECT_TOP_K: return r->top_k_accuracy;
  case RT_EXPECT_RECALL: return stats[x->index].recall;
  case RT_EXPECT_PRECISION: return stats[x->index].precision;
  case RT_EXPECT_F1: return stats[x->index].f1;
  case RT_EXPECT_AUC: /* index -1: the macro average */
    return x->index < 0 ? rt_mean_defined(auc, rt_model_scores(run->model)) : auc[x->index];
  case RT_EXPECT_PARAMS: return checkpoint_params(run->model, x->layer);
  }
  rt_die("unknown expectation kind %d (this is a bug in nnc)", (int)x->kind);
}

static int holds(RtCompare op, double v, double threshold) {
  switch (op) {
  case RT_CMP_GT: return v > threshold;
  case RT_CMP_GE: return v >= threshold;
  case RT_CMP_LT: return v < threshold;
  case RT_CMP_LE: return v <= threshold;
  case RT_CMP_EQ: return v == threshold;
  case RT_CMP_NE: return v != threshold;
  }
  return 0;
}

int rt_check_expectations(const RtRun *run, const RtEvalResult *r, const RtClassStats *stats,
                          const double *auc) {
  int failed = 0;
  for (int i = 0; i < run->config->n_expect; i++) {
    const RtExpectation *x = &run->config->expect[i];
    double v = expected_value(run, x, r, stats, auc);
    int ok = holds(x->op, v, x->threshold);
    failed += !ok;
    printf("  expect %-36s %s (%.4f)\n", x->text, ok ? "ok" : "FAILED", v);
  }
  return failed;
}
