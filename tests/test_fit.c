/*
 * test_fit.c — Check suite for the runtime's training program (rt_prepare.c,
 * rt_fit.c, rt_report.c, rt_gradcheck.c, rt_main.c), driven by two small
 * hand-written models instead of generated ones:
 *
 *   scripted  one parameter that counts optimizer steps, a training loss of
 *             1 per example, and validation losses read from a script, one
 *             per epoch: the callbacks' decisions are then known in advance
 *             (the counter shows which epoch's weights were kept)
 *   linear    softmax regression on 4 pixels, 2 classes, plain SGD, with
 *             its true gradient or a wrong one: gradcheck, and whole runs of
 *             rt_main on tiny IDX files (expectations decide the exit code);
 *             optionally noisy (inputs jittered from the dropout stream)
 *             for --resume: a run cut short and resumed must end as the
 *             uninterrupted one did
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, setenv */
#include "nnc_runtime.h"
#include "child_test.h"

#include <check.h>
#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a temporary directory per test ---- */

static char tmp_dir[256];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void setup_tmp_dir(void) {
  snprintf(tmp_dir, sizeof tmp_dir, "/tmp/nnc_test_fit_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void teardown_tmp_dir(void) { nftw(tmp_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS); }

static const char *tmp_path(const char *name) {
  static char buf[4][512];
  static int next;
  char *p = buf[next++ % 4];
  snprintf(p, sizeof buf[0], "%s/%s", tmp_dir, name);
  return p;
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  static char text[8192];
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = '\0';
  fclose(f);
  return text;
}

/* ---- the scripted model ---- */

#define SCRIPT_BATCH 4
static float s_params[1], s_grads[1], s_lr = 1.0f;
static double s_loss_sum;
static uint8_t s_x[SCRIPT_BATCH], s_labels[SCRIPT_BATCH];
static float s_scores[SCRIPT_BATCH * 2];
static RtRng s_rng;
static double val_script[16]; /* validation loss of each epoch */
static int eval_calls, train_steps, nan_at_step; /* nan_at_step: 0 = never */
static int resume_next;                            /* fit_scripted's next run resumes */
static int inf_grad_at_step;                       /* a gradient of inf there; 0 = never */

static void s_init(RtRng *rng) {
  (void)rng;
  s_params[0] = 0;
}

/* Scores always favour class 0; the losses come from the script. */
static void s_forward(int m, int training) {
  for (int i = 0; i < m; i++)
    s_scores[2 * i] = 0.9f, s_scores[2 * i + 1] = 0.1f;
  if (training)
    s_loss_sum = ++train_steps == nan_at_step ? NAN : 1.0 * m;
  else
    s_loss_sum = val_script[eval_calls++] * m;
}

static void s_backward(int m) {
  (void)m;
  s_grads[0] = train_steps == inf_grad_at_step ? INFINITY : 1;
}

static void s_step(long t) {
  (void)t;
  s_params[0] += 1; /* the parameter counts the steps taken */
}

static RtTensorRef s_tensors[] = {{"counter.value", s_params, 1}};
static const char *const two_classes[] = {"zero", "one"};

static const RtModel SCRIPTED = {
    .name = "scripted", .batch = SCRIPT_BATCH, .n_classes = 2, .input_size = 1,
    .input_name = "x", .input_shape = "(1)", .class_names = two_classes,
    .batch_x = s_x, .batch_labels = s_labels, .scores = s_scores,
    .params = s_params, .grads = s_grads, .n_params = 1,
    .loss_sum = &s_loss_sum, .learning_rate = &s_lr, .dropout_rng = &s_rng,
    .init_params = s_init, .forward = s_forward, .backward = s_backward, .optimizer_step = s_step,
    .checkpoint = s_tensors, .n_checkpoint = 1, .trainable = s_tensors, .n_trainable = 1,
};

/* n examples of one byte each, all of class 0 */
static void make_dataset(RtDataset *ds, int n) {
  memset(ds, 0, sizeof *ds);
  ds->count = n, ds->rows = ds->cols = ds->channels = 1, ds->item_size = 1;
  ds->x = calloc((size_t)n, 1);
  ds->y = calloc((size_t)n, 1);
}

/* 8 training examples (2 steps an epoch), 2 validation examples (one batch). */
static RtFitResult fit_scripted(const RtFitConfig *config, int epochs, const double *script,
                                int n_script) {
  memcpy(val_script, script, sizeof(double) * (size_t)n_script);
  RtRun run;
  rt_run_init(&run, &SCRIPTED, config);
  rt_run_set_out_dir(&run, tmp_dir);
  run.opt.epochs = epochs;
  run.opt.quiet = 1;
  run.opt.resume = resume_next;
  RtDataset train, val;
  make_dataset(&train, 8);
  make_dataset(&val, 2);
  s_init(NULL);
  RtFitResult r = rt_fit(&run, &train, &val);
  rt_dataset_free(&train);
  rt_dataset_free(&val);
  rt_run_free(&run);
  return r;
}

static const RtFitConfig BASE = {
    .validation = {.kind = RT_VAL_LAST, .last = 2},
    .terminate_on_nan = 1,
};

/* ---- callbacks ---- */

START_TEST(test_history_rows) {
  const double script[] = {0.5, 0.25, 0.125};
  RtFitResult r = fit_scripted(&BASE, 3, script, 3);
  ck_assert_int_eq(r.epochs_run, 3);
  ck_assert_int_eq(r.steps, 6);
  ck_assert_int_eq(r.best_epoch, 3); /* no callback: the last epoch's weights */
  ck_assert_float_eq(s_params[0], 6);
  const char *text = read_text(tmp_path("history.csv"));
  const char *rows[] = {"epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds\n",
                        "1,1.000000,1.000000,0.500000,1.000000,1,",
                        "2,1.000000,1.000000,0.250000,1.000000,1,",
                        "3,1.000000,1.000000,0.125000,1.000000,1,"};
  for (int i = 0; i < 4; i++) {
    ck_assert_msg(strncmp(text, rows[i], strlen(rows[i])) == 0, "row %d: got %.60s, want %s", i,
                  text, rows[i]);
    text = strchr(text, '\n') + 1;
  }
  ck_assert_str_eq(text, "");
}
END_TEST

/* metrics [precision, recall]: macro averages over the classes of the argmax
 * predictions, train and val_. Every example is class 0 and predicted 0, so
 * class 0 has precision and recall 1, and class 1 (never predicted, never
 * present) counts 0: both averages are 0.5. val_recall is monitorable. */
START_TEST(test_precision_recall_columns) {
  RtFitConfig config = BASE;
  config.metric_precision = config.metric_recall = 1;
  config.checkpoint = (RtCheckpointConfig){.enabled = 1, .monitor = "val_recall",
                                           .mode = RT_MODE_MAX, .save_best_only = 1};
  const double script[] = {0.5, 0.25};
  RtFitResult r = fit_scripted(&config, 2, script, 2);
  ck_assert_int_eq(r.best_epoch, 1); /* val_recall never improves after epoch 1 */
  const char *text = read_text(tmp_path("history.csv"));
  const char *rows[] = {"epoch,loss,accuracy,precision,recall,val_loss,val_accuracy,"
                        "val_precision,val_recall,lr,seconds\n",
                        "1,1.000000,1.000000,0.500000,0.500000,0.500000,1.000000,0.500000,"
                        "0.500000,1,",
                        "2,1.000000,1.000000,0.500000,0.500000,0.250000,1.000000,0.500000,"
                        "0.500000,1,"};
  for (int i = 0; i < 3; i++) {
    ck_assert_msg(strncmp(text, rows[i], strlen(rows[i])) == 0, "row %d: got %.90s, want %s", i,
                  text, rows[i]);
    text = strchr(text, '\n') + 1;
  }
}
END_TEST

START_TEST(test_early_stopping_restores_best) {
  RtFitConfig config = BASE;
  config.early_stopping = (RtEarlyStoppingConfig){
      .enabled = 1, .monitor = "val_loss", .mode = RT_MODE_MIN, .patience = 2, .restore_best = 1};
  const double script[] = {1.0, 0.5, 0.7, 0.8, 0.9, 0.95};
  RtFitResult r = fit_scripted(&config, 6, script, 6);
  ck_assert_int_eq(r.epochs_run, 4); /* epochs 3 and 4 did not improve on 0.5 */
  ck_assert_int_eq(r.best_epoch, 2);
  ck_assert_int_eq(r.steps, 8);
  ck_assert_float_eq(s_params[0], 4); /* the weights after epoch 2's four steps */
}
END_TEST

START_TEST(test_early_stopping_without_restore) {
  RtFitConfig config = BASE;
  config.early_stopping = (RtEarlyStoppingConfig){
      .enabled = 1, .monitor = "val_loss", .mode = RT_MODE_MIN, .patience = 1};
  const double script[] = {1.0, 0.5, 0.7, 0.8};
  RtFitResult r = fit_scripted(&config, 4, script, 4);
  ck_assert_int_eq(r.epochs_run, 3);
  ck_assert_int_eq(r.best_epoch, 3);
  ck_assert_float_eq(s_params[0], 6); /* the last weights */
}
END_TEST

/* The saved checkpoint's epoch, monitor value and counter. */
static RtCheckpointMeta saved_checkpoint(float *counter) {
  RtTensorRef t = {"counter.value", counter, 1};
  RtCheckpointMeta meta;
  char err[256];
  ck_assert_msg(rt_checkpoint_try_load(tmp_path("best.ckpt"), &t, 1, &meta, err, sizeof err) == 0,
                "%s", err);
  return meta;
}

START_TEST(test_checkpoint_saves_best_only) {
  RtFitConfig config = BASE;
  config.checkpoint = (RtCheckpointConfig){
      .enabled = 1, .monitor = "val_loss", .mode = RT_MODE_MIN, .save_best_only = 1};
  const double script[] = {1.0, 0.5, 0.7, 0.8};
  RtFitResult r = fit_scripted(&config, 4, script, 4);
  ck_assert_int_eq(r.best_epoch, 2);
  float counter = -1;
  RtCheckpointMeta meta = saved_checkpoint(&counter);
  ck_assert_int_eq(meta.epoch, 2);
  ck_assert_int_eq(meta.step, 4);
  ck_assert_double_eq(meta.monitor, 0.5);
  ck_assert_str_eq(meta.model, "scripted");
  ck_assert_float_eq(counter, 4);
}
END_TEST

START_TEST(test_checkpoint_every_epoch) {
  RtFitConfig config = BASE;
  config.checkpoint = (RtCheckpointConfig){
      .enabled = 1, .monitor = "val_accuracy", .mode = RT_MODE_MAX, .save_best_only = 0};
  const double script[] = {1.0, 0.5, 0.7};
  RtFitResult r = fit_scripted(&config, 3, script, 3);
  ck_assert_int_eq(r.best_epoch, 3);
  float counter = -1;
  ck_assert_int_eq(saved_checkpoint(&counter).epoch, 3);
  ck_assert_float_eq(counter, 6);
}
END_TEST

/* The lr column of history.csv, one value per epoch. */
static int logged_rates(double *lr, int max) {
  char *text = read_text(tmp_path("history.csv")), *line = strchr(text, '\n') + 1;
  int n = 0;
  for (; *line && n < max; line = strchr(line, '\n') + 1) {
    const char *field = line;
    for (int i = 0; i < 5; i++)
      field = strchr(field, ',') + 1;
    lr[n++] = strtod(field, NULL);
  }
  return n;
}

START_TEST(test_reduce_lr_on_plateau) {
  RtFitConfig config = BASE;
  config.reduce_lr = (RtReduceLrConfig){.enabled = 1, .monitor = "val_loss", .mode = RT_MODE_MIN,
                                        .factor = 0.5, .min_lr = 0.2, .patience = 1};
  s_lr = 1.0f;
  const double script[] = {1.0, 1.0, 1.0, 1.0, 0.5};
  fit_scripted(&config, 5, script, 5);
  double lr[8];
  ck_assert_int_eq(logged_rates(lr, 8), 5);
  /* each row logs the rate its epoch trained with; the callback runs after */
  const double want[] = {1.0, 1.0, 0.5, 0.25, 0.2};
  for (int i = 0; i < 5; i++)
    ck_assert_msg(fabs(lr[i] - want[i]) < 1e-7, "epoch %d: lr %g, want %g", i + 1, lr[i],
                  want[i]);
  ck_assert_float_eq_tol(s_lr, 0.2f, 1e-7f);
}
END_TEST

START_TEST(test_csv_logger_matches_history) {
  RtFitConfig config = BASE;
  config.csv_logger = (RtCsvLoggerConfig){.enabled = 1, .path = "log.csv", .separator = ';'};
  const double script[] = {0.5, 0.25};
  fit_scripted(&config, 2, script, 2);
  char history[8192];
  snprintf(history, sizeof history, "%s", read_text(tmp_path("history.csv")));
  char *log = read_text(tmp_path("log.csv"));
  for (char *p = log; *p; p++)
    *p = *p == ';' ? ',' : *p;
  /* the same rows but for the seconds, measured when each row is written */
  const char *rows[] = {"epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds\n",
                        "\n1,1.000000,1.000000,0.500000,1.000000,1,",
                        "\n2,1.000000,1.000000,0.250000,1.000000,1,"};
  for (int i = 0; i < 3; i++) {
    ck_assert_msg(strstr(history, rows[i]) != NULL, "history.csv lacks %s", rows[i]);
    ck_assert_msg(strstr(log, rows[i]) != NULL, "log.csv lacks %s", rows[i]);
  }
}
END_TEST

/* ---- terminate_on_nan ---- */

START_TEST(test_nan_stops_and_keeps_last_good_checkpoint) {
  RtFitConfig config = BASE;
  config.checkpoint = (RtCheckpointConfig){
      .enabled = 1, .monitor = "val_loss", .mode = RT_MODE_MIN, .save_best_only = 1};
  nan_at_step = 6; /* the second step of epoch 3 */
  const double script[] = {1.0, 0.5, 0.25, 0.1};
  RtFitResult r = fit_scripted(&config, 4, script, 4);
  ck_assert(r.stopped_on_nan);
  ck_assert_int_eq(r.epochs_run, 2);
  ck_assert_int_eq(r.steps, 5);
  ck_assert_float_eq(s_params[0], 5); /* the failing step was not applied */
  float counter = -1;
  ck_assert_int_eq(saved_checkpoint(&counter).epoch, 2);
  ck_assert_float_eq(counter, 4);
  double lr[8];
  ck_assert_int_eq(logged_rates(lr, 8), 2); /* the stopped epoch is not logged */
}
END_TEST

static void fit_with_nan(void *arg) {
  (void)arg;
  nan_at_step = 3;
  const double script[] = {1.0, 0.5};
  fit_scripted(&BASE, 2, script, 2);
}

START_TEST(test_nan_message_names_epoch_and_step) {
  ChildResult r = run_in_child(fit_with_nan, NULL);
  ck_assert_msg(strstr(r.err, "epoch 2, step 3: the loss is nan") != NULL, "stderr: %s", r.err);
  ck_assert_ptr_nonnull(strstr(r.err, "terminate_on_nan"));
}
END_TEST

static void fit_with_inf_gradient(void *arg) {
  (void)arg;
  inf_grad_at_step = 3;
  const double script[] = {1.0, 0.5};
  RtFitResult r = fit_scripted(&BASE, 2, script, 2);
  /* the exit status says what the test checks: stopped, and the step not applied */
  _exit(r.stopped_on_nan && r.steps == 2 && s_params[0] == 2 ? 0 : 3);
}

START_TEST(test_nonfinite_gradient_stops_naming_tensor) {
  ChildResult r = run_in_child(fit_with_inf_gradient, NULL);
  ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
  ck_assert_msg(strstr(r.err, "epoch 2, step 3: the gradient of counter.value is not finite "
                              "(loss 4)") != NULL, "stderr: %s", r.err);
}
END_TEST

START_TEST(test_nan_ignored_when_off) {
  RtFitConfig config = BASE;
  config.terminate_on_nan = 0;
  nan_at_step = 3;
  const double script[] = {1.0, 0.5};
  RtFitResult r = fit_scripted(&config, 2, script, 2);
  ck_assert(!r.stopped_on_nan);
  ck_assert_int_eq(r.epochs_run, 2);
}
END_TEST

/* ---- last.ckpt and --resume (scripted) ---- */

static const RtFitConfig RESUMABLE = {
    .validation = {.kind = RT_VAL_LAST, .last = 2},
    .shuffle = 1,
    .terminate_on_nan = 1,
    .checkpoint = {.enabled = 1, .monitor = "val_loss", .mode = RT_MODE_MIN, .save_best_only = 1},
    .early_stopping = {.enabled = 1, .monitor = "val_loss", .mode = RT_MODE_MIN, .patience = 5,
                       .restore_best = 1},
    .reduce_lr = {.enabled = 1, .monitor = "val_loss", .mode = RT_MODE_MIN, .factor = 0.5,
                  .min_lr = 0.1, .patience = 1},
};

/* last.ckpt after each epoch holds the counters, the monitors, the rate,
 * the order and the log lengths as the epoch's callbacks left them. */
START_TEST(test_last_checkpoint_state) {
  s_lr = 1.0f;
  const double script[] = {1.0, 0.5, 0.7};
  fit_scripted(&RESUMABLE, 3, script, 3);
  RtRun run;
  rt_run_init(&run, &SCRIPTED, &RESUMABLE);
  rt_run_set_out_dir(&run, tmp_dir);
  int order[8];
  float best[1] = {-1};
  RtResumeState st = {.n_order = 8, .order = order, .best_params = best};
  s_params[0] = -1;
  rt_resume_load(&run, &st);
  ck_assert_int_eq(st.epoch, 3);
  ck_assert_int_eq(st.steps, 6);
  ck_assert_int_eq(st.best_epoch, 2);
  ck_assert_int_eq(st.stopped, 0);
  ck_assert_float_eq(s_params[0], 6);  /* the weights after epoch 3 */
  ck_assert_float_eq(best[0], 4);      /* restore_best_weights' copy: epoch 2's */
  ck_assert_double_eq(st.checkpoint.best, 0.5);
  ck_assert_int_eq(st.checkpoint.best_epoch, 2);
  ck_assert_int_eq(st.early.wait, 1);
  ck_assert_int_eq(st.plateau.monitor.wait, 0); /* reset by the reduction */
  ck_assert_float_eq(st.learning_rate, 0.5f);    /* halved after epoch 3 */
  ck_assert_float_eq(st.learning_rate, s_lr);
  int seen[8] = {0};
  for (int i = 0; i < 8; i++)
    seen[order[i]]++;
  for (int i = 0; i < 8; i++)
    ck_assert_int_eq(seen[i], 1); /* a permutation */
  struct stat sb;
  ck_assert_int_eq(stat(tmp_path("history.csv"), &sb), 0);
  ck_assert_int_eq(st.history_bytes, sb.st_size);
  rt_run_free(&run);
}
END_TEST

/* An epoch interrupted after its history row was written: the resumed run
 * cuts the row off and writes it again, once. */
START_TEST(test_resume_cuts_logs_back) {
  const double script[] = {1.0, 0.5, 0.7, 0.8};
  fit_scripted(&RESUMABLE, 2, script, 4);
  FILE *f = fopen(tmp_path("history.csv"), "a");
  fputs("3,junk of an interrupted epoch\n", f);
  fclose(f);
  resume_next = 1;
  RtFitResult r = fit_scripted(&RESUMABLE, 4, script, 4); /* epochs 3 and 4: 0.7, 0.8 */
  ck_assert_int_eq(r.epochs_run, 4);
  ck_assert_int_eq(r.steps, 8);
  ck_assert_int_eq(r.best_epoch, 2);
  const char *text = read_text(tmp_path("history.csv"));
  ck_assert_ptr_null(strstr(text, "junk"));
  double lr[8];
  ck_assert_int_eq(logged_rates(lr, 8), 4);
}
END_TEST

static void resume_other_model(void *arg) {
  (void)arg;
  const double script[] = {1.0, 0.5};
  fit_scripted(&RESUMABLE, 1, script, 2);
  RtModel other = SCRIPTED;
  other.identity = 42;
  RtRun run;
  rt_run_init(&run, &other, &RESUMABLE);
  rt_run_set_out_dir(&run, tmp_dir);
  int order[8];
  float best[1];
  RtResumeState st = {.n_order = 8, .order = order, .best_params = best};
  rt_resume_load(&run, &st);
}

START_TEST(test_resume_refuses_other_identity) {
  ChildResult r = run_in_child(resume_other_model, NULL);
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, "last.ckpt: a checkpoint of another version of model 'scripted'") &&
                    strstr(r.err, "--resume refuses it"),
                "stderr: %s", r.err);
}
END_TEST

/* ---- the linear model: softmax regression on 4 pixels ---- */

#define LIN_BATCH 8
#define LIN_IN 4
static float l_params[LIN_IN * 2 + 2], l_grads[LIN_IN * 2 + 2], l_lr = 0.5f;
static float *const l_kernel = l_params, *const l_bias = l_params + LIN_IN * 2;
static double l_loss_sum;
static uint8_t l_x[LIN_BATCH * LIN_IN], l_labels[LIN_BATCH];
static float l_xf[LIN_BATCH * LIN_IN], l_logits[LIN_BATCH * 2], l_probs[LIN_BATCH * 2],
    l_dlogits[LIN_BATCH * 2];
static RtRng l_rng;
static int wrong_gradient, noisy;

static void l_init(RtRng *rng) {
  rt_init_glorot_uniform(l_kernel, LIN_IN * 2, LIN_IN, 2, rng);
  rt_fill(l_bias, 0.0f, 2);
}

static void l_forward(int m, int training) {
  rt_rescale_u8_forward(l_xf, l_x, 1.0f / 255, 0.0f, (size_t)m * LIN_IN);
  for (int i = 0; noisy && training && i < m * LIN_IN; i++) /* a random stream to resume */
    l_xf[i] *= 0.5f + rt_rng_uniform(&l_rng);
  rt_matmul_forward(l_logits, l_xf, l_kernel, m, LIN_IN, 2);
  rt_bias_act_forward(l_logits, l_bias, m, 2, RT_ACT_NONE, 0.0f);
  l_loss_sum = rt_softmax_xent_forward(l_probs, l_logits, l_labels, NULL, 0.0f, m, 2);
}

static void l_backward(int m) {
  rt_softmax_xent_backward(l_dlogits, l_probs, l_labels, NULL, 0.0f, 1.0f / (float)m, m, 2);
  rt_matmul_backward_w(l_grads, l_xf, l_dlogits, m, LIN_IN, 2);
  rt_bias_backward(l_grads + LIN_IN * 2, l_dlogits, m, 2);
  if (wrong_gradient)
    l_grads[3] *= 2;
}

static void l_step(long t) {
  (void)t;
  rt_sgd_update(l_params, l_grads, NULL, LIN_IN * 2 + 2, l_lr, 0.0f, 0);
}

static RtTensorRef l_tensors[] = {{"dense.kernel", l_params, LIN_IN * 2},
                                  {"dense.bias", l_params + LIN_IN * 2, 2}};

static RtModel LINEAR = {
    .name = "linear", .batch = LIN_BATCH, .n_classes = 2, .input_size = LIN_IN,
    .input_name = "x", .input_shape = "(2, 2)", .class_names = two_classes,
    .batch_x = l_x, .batch_labels = l_labels, .scores = l_probs,
    .params = l_params, .grads = l_grads, .n_params = LIN_IN * 2 + 2,
    .loss_sum = &l_loss_sum, .learning_rate = &l_lr, .dropout_rng = &l_rng,
    .init_params = l_init, .forward = l_forward, .backward = l_backward, .optimizer_step = l_step,
    .checkpoint = l_tensors, .n_checkpoint = 2, .trainable = l_tensors, .n_trainable = 2,
};

/* Example i: class i % 2, its bright pixel 0 (class 0) or 3 (class 1). */
static void make_linear_dataset(RtDataset *ds, int n) {
  make_dataset(ds, n);
  ds->rows = ds->cols = 2, ds->item_size = LIN_IN;
  free(ds->x);
  ds->x = calloc((size_t)n, LIN_IN);
  for (int i = 0; i < n; i++) {
    ds->y[i] = (uint8_t)(i % 2);
    ds->x[i * LIN_IN + (i % 2 ? 3 : 0)] = 200;
    ds->x[i * LIN_IN + 1] = (uint8_t)(i * 7);
  }
}

static int gradcheck_linear(int wrong) {
  wrong_gradient = wrong;
  RtFitConfig config = BASE;
  RtRun run;
  rt_run_init(&run, &LINEAR, &config);
  RtRng rng;
  rt_rng_seed(&rng, 1);
  l_init(&rng);
  RtDataset train;
  make_linear_dataset(&train, 12);
  int status = rt_gradcheck(&run, &train);
  rt_dataset_free(&train);
  rt_run_free(&run);
  return status;
}

START_TEST(test_gradcheck_passes_true_gradient) { ck_assert_int_eq(gradcheck_linear(0), 0); }
END_TEST

START_TEST(test_gradcheck_fails_wrong_gradient) { ck_assert_int_eq(gradcheck_linear(1), 1); }
END_TEST

/* ---- whole runs of rt_main on tiny IDX files ---- */

static void put_be32(FILE *f, uint32_t v) {
  uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  fwrite(b, 1, 4, f);
}

/* DIR/SPLIT-images-idx3-ubyte and -labels-idx1-ubyte of ds (uncompressed). */
static void write_split(const RtDataset *ds, const char *split) {
  char name[128];
  snprintf(name, sizeof name, "%s-images-idx3-ubyte", split);
  FILE *f = fopen(tmp_path(name), "wb");
  ck_assert_ptr_nonnull(f);
  put_be32(f, 0x803), put_be32(f, (uint32_t)ds->count), put_be32(f, 2), put_be32(f, 2);
  fwrite(ds->x, LIN_IN, (size_t)ds->count, f);
  fclose(f);
  snprintf(name, sizeof name, "%s-labels-idx1-ubyte", split);
  f = fopen(tmp_path(name), "wb");
  ck_assert_ptr_nonnull(f);
  put_be32(f, 0x801), put_be32(f, (uint32_t)ds->count);
  fwrite(ds->y, 1, (size_t)ds->count, f);
  fclose(f);
}

/* 64 training and 16 test examples; bad_test_label >= 0 puts label 7 there. */
static void write_linear_data(int bad_test_label) {
  RtDataset ds;
  make_linear_dataset(&ds, 64);
  write_split(&ds, "train");
  rt_dataset_free(&ds);
  make_linear_dataset(&ds, 16);
  if (bad_test_label >= 0)
    ds.y[bad_test_label] = 7;
  write_split(&ds, "t10k");
  rt_dataset_free(&ds);
}

static RtFitConfig main_config;

/* rt_main restarts the program once (rt_init) unless the OpenBLAS kernels,
 * the OpenMP wait policy and the threads are chosen; here the program is
 * this test, so all three are set first (the values no longer matter: both
 * libraries loaded). */
static void no_restart(void) {
  char threads[16];
  snprintf(threads, sizeof threads, "%d", rt_threads());
  setenv("OPENBLAS_CORETYPE", rt_blas_core(), 0);
  setenv("GOMP_SPINCOUNT", "1000", 0);
  setenv("OMP_NUM_THREADS", threads, 0);
}

static void run_main(void *arg) {
  (void)arg;
  no_restart();
  char *argv[] = {"linear", "--data", tmp_dir, "--out", (char *)tmp_path("out"), "--quiet", NULL};
  fflush(NULL);
  _exit(rt_main(&LINEAR, &main_config, 6, argv));
}

static const RtExpectation learned[] = {
    {"accuracy > 0.9", RT_EXPECT_ACCURACY, -1, NULL, RT_CMP_GT, 0.9},
    {"recall[one] >= 0.9", RT_EXPECT_RECALL, 1, NULL, RT_CMP_GE, 0.9},
    {"params(dense) == 10", RT_EXPECT_PARAMS, 0, "dense", RT_CMP_EQ, 10},
};
static const RtExpectation impossible[] = {
    {"accuracy > 0.9", RT_EXPECT_ACCURACY, -1, NULL, RT_CMP_GT, 0.9},
    {"loss < 0", RT_EXPECT_LOSS, -1, NULL, RT_CMP_LT, 0},
};

static void set_main_config(const RtExpectation *expect, int n_expect) {
  main_config = (RtFitConfig){
      .defaults = {.epochs = 20, .seed = 3},
      .validation = {.kind = RT_VAL_SPLIT, .split = 0.25, .seeded = 1, .seed = 5},
      .shuffle = 1,
      .terminate_on_nan = 1,
      .checkpoint = {.enabled = 1, .monitor = "val_loss", .mode = RT_MODE_MIN, .save_best_only = 1},
      .expect = expect,
      .n_expect = n_expect,
  };
}

START_TEST(test_main_expectations_pass) {
  write_linear_data(-1);
  set_main_config(learned, 3);
  mkdir(tmp_path("out"), 0755);
  FILE *stale = fopen(tmp_path("out/best.ckpt.tmp"), "w"); /* a killed save's */
  ck_assert_ptr_nonnull(stale);
  fclose(stale);
  ChildResult r = run_in_child(run_main, NULL);
  ck_assert_msg(r.status == 0, "status %d\nstdout: %s\nstderr: %s", r.status, r.out, r.err);
  ck_assert_ptr_nonnull(strstr(r.out, "out/best.ckpt.tmp, left by an interrupted save"));
  ck_assert_int_ne(access(tmp_path("out/best.ckpt.tmp"), F_OK), 0);
  ck_assert_ptr_nonnull(strstr(r.out, "expect params(dense) == 10"));
  ck_assert_ptr_nonnull(strstr(read_text(tmp_path("out/metrics.json")), "\"test_accuracy\""));
}
END_TEST

START_TEST(test_main_expectation_fails_exit_code) {
  write_linear_data(-1);
  set_main_config(impossible, 2);
  ChildResult r = run_in_child(run_main, NULL);
  ck_assert_int_eq(r.status, 1);
  ck_assert_ptr_nonnull(strstr(r.out, "FAILED"));
  ck_assert_msg(strstr(r.err, "error: 1 expectation failed") != NULL, "stderr: %s", r.err);
}
END_TEST

START_TEST(test_main_empty_validation_is_an_error) {
  write_linear_data(-1);
  set_main_config(NULL, 0);
  main_config.validation = (RtValidationConfig){.kind = RT_VAL_SPLIT, .split = 1e-45};
  ChildResult r = run_in_child(run_main, NULL);
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, "validation split is empty") != NULL, "stderr: %s", r.err);
}
END_TEST

START_TEST(test_main_bad_test_label_names_file_and_example) {
  write_linear_data(5);
  set_main_config(NULL, 0);
  ChildResult r = run_in_child(run_main, NULL);
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, "t10k-labels-idx1-ubyte: label 7 of example 5") != NULL,
                "stderr: %s", r.err);
}
END_TEST

START_TEST(test_main_bad_validation_label_names_file) {
  write_linear_data(-1);
  set_main_config(NULL, 0);
  main_config.validation = (RtValidationConfig){.kind = RT_VAL_TEST};
  write_linear_data(2); /* the test split doubles as validation */
  ChildResult r = run_in_child(run_main, NULL);
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, "t10k-labels-idx1-ubyte: label 7 of example 2") != NULL,
                "stderr: %s", r.err);
  ck_assert_ptr_null(strstr(r.out, "Epoch")); /* before any training */
}
END_TEST

/* ---- --resume and run identity through rt_main ---- */

/* rt_main with --out tmp/OUT and up to 4 more options. */
typedef struct {
  const char *out;
  const char *extra[5]; /* NULL-terminated */
} MainArgs;

static void run_main_with(void *arg) {
  const MainArgs *a = arg;
  no_restart();
  char *argv[16] = {"linear", "--data", tmp_dir, "--out", (char *)tmp_path(a->out), "--quiet"};
  int argc = 6;
  for (int i = 0; a->extra[i]; i++)
    argv[argc++] = (char *)a->extra[i];
  argv[argc] = NULL;
  fflush(NULL);
  _exit(rt_main(&LINEAR, &main_config, argc, argv));
}

static void main_ok(const char *out, const char *e0, const char *e1, const char *e2) {
  MainArgs a = {out, {e0, e1, e2, NULL}};
  ChildResult r = run_in_child(run_main_with, &a);
  ck_assert_msg(r.status == 0, "status %d\nstdout: %s\nstderr: %s", r.status, r.out, r.err);
}

/* Shuffling, a random stream, reduce_lr, early stopping, a csv_logger. */
static void set_resume_config(void) {
  set_main_config(NULL, 0);
  main_config.reduce_lr = (RtReduceLrConfig){.enabled = 1, .monitor = "val_loss",
                                             .mode = RT_MODE_MIN, .factor = 0.5,
                                             .min_lr = 0.01, .patience = 1};
  main_config.early_stopping = (RtEarlyStoppingConfig){
      .enabled = 1, .monitor = "val_loss", .mode = RT_MODE_MIN, .patience = 4, .restore_best = 1};
  main_config.csv_logger = (RtCsvLoggerConfig){.enabled = 1, .path = "log.csv", .separator = ','};
  noisy = 1;
}

/* A log without its last (seconds) column. */
static char *without_seconds(const char *path) {
  const char *text = read_text(path);
  char *out = calloc(strlen(text) + 1, 1), *o = out;
  for (const char *line = text; *line;) {
    const char *end = strchr(line, '\n'), *cut = end;
    while (cut > line && cut[-1] != ',')
      cut--;
    memcpy(o, line, (size_t)(cut - line));
    o += cut - line;
    *o++ = '\n';
    line = end + 1;
  }
  return out;
}

/* The final weights of a run directory (its best.ckpt). */
static void final_weights(const char *out, float *w) {
  char path[512], err[1024];
  snprintf(path, sizeof path, "%s/best.ckpt", tmp_path(out));
  RtTensorRef t[] = {{"dense.kernel", w, LIN_IN * 2}, {"dense.bias", w + LIN_IN * 2, 2}};
  ck_assert_msg(rt_checkpoint_try_load(path, t, 2, NULL, err, sizeof err) == 0, "%s", err);
}

/* A run cut short after 5 epochs and resumed to 12 ends as a 12-epoch run. */
START_TEST(test_main_resume_matches_uninterrupted) {
  write_linear_data(-1);
  set_resume_config();
  main_ok("whole", "--epochs", "12", NULL);
  main_ok("part", "--epochs", "5", NULL);
  main_ok("part", "--epochs", "12", "--resume");
  float a[LIN_IN * 2 + 2], b[LIN_IN * 2 + 2];
  final_weights("whole", a);
  final_weights("part", b);
  ck_assert_msg(memcmp(a, b, sizeof a) == 0, "the resumed run's weights differ");
  char *whole = without_seconds(tmp_path("whole/history.csv"));
  ck_assert_msg(strchr(whole, '\n') && strlen(whole) > 0, "empty history");
  int rows = -1;
  for (const char *p = whole; (p = strchr(p, '\n')); p++)
    rows++;
  ck_assert_msg(rows > 5, "the whole run stopped after %d epochs: nothing was resumed", rows);
  ck_assert_str_eq(without_seconds(tmp_path("part/history.csv")), whole);
  char *log = without_seconds(tmp_path("whole/log.csv"));
  ck_assert_str_eq(without_seconds(tmp_path("part/log.csv")), log);
  char *metrics = strdup(read_text(tmp_path("whole/metrics.json")));
  ck_assert_str_eq(read_text(tmp_path("part/metrics.json")), metrics);
  ck_assert_ptr_nonnull(strstr(read_text(tmp_path("part/run.json")), "\"resumed_after_epoch\": 5"));
  free(whole), free(log), free(metrics);
}
END_TEST

static void resume_as_other_version(void *arg) {
  LINEAR.identity = 0x5eed; /* another compile of "linear" */
  run_main_with(arg);
}

START_TEST(test_main_resume_refuses_other_identity) {
  write_linear_data(-1);
  set_resume_config();
  main_ok("x", "--epochs", "3", NULL);
  MainArgs a = {"x", {"--resume", NULL}};
  ChildResult r = run_in_child(resume_as_other_version, &a);
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, "x/last.ckpt: a checkpoint of another version of model 'linear'") &&
                    strstr(r.err, "--resume refuses it"),
                "stderr: %s", r.err);
}
END_TEST

/* The checkpoint an earlier run left is never loaded as this run's. */
static void finish_as_another_run(void *arg) {
  (void)arg;
  RtRun run;
  rt_run_init(&run, &LINEAR, &main_config);
  rt_run_set_out_dir(&run, tmp_path("y"));
  snprintf(run.run_id, sizeof run.run_id, "20261201T000000Z-1-00000001");
  RtFitResult fr = {0};
  rt_finish_training(&run, &fr);
  _exit(0);
}

START_TEST(test_finish_refuses_earlier_run) {
  write_linear_data(-1);
  set_main_config(NULL, 0);
  main_ok("y", "--epochs", "2", NULL);
  ChildResult r = run_in_child(finish_as_another_run, NULL);
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, "y/best.ckpt: written by an earlier run (") &&
                    strstr(r.err, "not by this one (20261201T000000Z-1-00000001)") &&
                    strstr(r.err, "no result of this run to report"),
                "stderr: %s", r.err);
  ck_assert_ptr_null(strstr(r.out, "Loaded"));
}
END_TEST

static Suite *fit_suite(void) {
  Suite *s = suite_create("fit");
  TCase *tc = tcase_create("callbacks");
  tcase_add_checked_fixture(tc, setup_tmp_dir, teardown_tmp_dir);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_history_rows);
  tcase_add_test(tc, test_precision_recall_columns);
  tcase_add_test(tc, test_early_stopping_restores_best);
  tcase_add_test(tc, test_early_stopping_without_restore);
  tcase_add_test(tc, test_checkpoint_saves_best_only);
  tcase_add_test(tc, test_checkpoint_every_epoch);
  tcase_add_test(tc, test_reduce_lr_on_plateau);
  tcase_add_test(tc, test_csv_logger_matches_history);
  tcase_add_test(tc, test_nan_stops_and_keeps_last_good_checkpoint);
  tcase_add_test(tc, test_nan_message_names_epoch_and_step);
  tcase_add_test(tc, test_nonfinite_gradient_stops_naming_tensor);
  tcase_add_test(tc, test_nan_ignored_when_off);
  tcase_add_test(tc, test_last_checkpoint_state);
  tcase_add_test(tc, test_resume_cuts_logs_back);
  tcase_add_test(tc, test_resume_refuses_other_identity);
  suite_add_tcase(s, tc);
  tc = tcase_create("gradcheck");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_gradcheck_passes_true_gradient);
  tcase_add_test(tc, test_gradcheck_fails_wrong_gradient);
  suite_add_tcase(s, tc);
  tc = tcase_create("main");
  tcase_add_checked_fixture(tc, setup_tmp_dir, teardown_tmp_dir);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_main_expectations_pass);
  tcase_add_test(tc, test_main_expectation_fails_exit_code);
  tcase_add_test(tc, test_main_empty_validation_is_an_error);
  tcase_add_test(tc, test_main_bad_test_label_names_file_and_example);
  tcase_add_test(tc, test_main_bad_validation_label_names_file);
  tcase_add_test(tc, test_main_resume_matches_uninterrupted);
  tcase_add_test(tc, test_main_resume_refuses_other_identity);
  tcase_add_test(tc, test_finish_refuses_earlier_run);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(fit_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
