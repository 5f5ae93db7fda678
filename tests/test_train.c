/*
 * test_train.c — Check suite for rt_train.c: monitor decisions on scripted
 * metric sequences (min/max, min_delta, patience), history.csv, and the
 * generated program's command-line options (parsed in a forked child when
 * the parse is expected to exit).
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include "nnc_runtime.h"
#include "child_test.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- monitors ---- */

/* Feed values (epochs 1..n); check each decision and the wait after it. */
static void run_script(RtMonitor *mon, const double *values, const int *improved,
                       const int *waits, int n) {
  for (int e = 1; e <= n; e++) {
    int got = rt_monitor_update(mon, values[e - 1], e);
    ck_assert_msg(got == improved[e - 1], "epoch %d value %g: improved=%d, expected %d", e,
                  values[e - 1], got, improved[e - 1]);
    ck_assert_msg(mon->wait == waits[e - 1], "epoch %d: wait=%d, expected %d", e, mon->wait,
                  waits[e - 1]);
  }
}

/* ReduceLROnPlateau(factor 0.5, patience 2, cooldown 1, min_lr 0.1) on a
 * scripted val_loss, with the rates Keras's callback gives (worked by hand
 * from keras/src/callbacks/reduce_lr_on_plateau.py). */
START_TEST(test_plateau_schedule) {
  RtPlateau p;
  rt_plateau_init(&p, "val_loss", RT_MODE_MIN, 0.0, 0.5, 2, 1, 0.1);
  const double values[] = {1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95};
  const double want[] = {1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.1, 0.1, 0.1};
  double lr = 1.0;
  for (int e = 0; e < 12; e++) {
    lr = rt_plateau_update(&p, values[e], e + 1, lr);
    ck_assert_msg(fabs(lr - want[e]) < 1e-12, "epoch %d: lr %g, want %g", e + 1, lr, want[e]);
  }
}
END_TEST

START_TEST(test_monitor_init) {
  RtMonitor lo, hi;
  rt_monitor_init(&lo, "val_loss", RT_MODE_MIN, 0.0);
  rt_monitor_init(&hi, "val_accuracy", RT_MODE_MAX, 0.0);
  ck_assert(isinf(lo.best) && lo.best > 0);
  ck_assert(isinf(hi.best) && hi.best < 0);
  ck_assert_int_eq(lo.best_epoch, 0);
  ck_assert_int_eq(lo.wait, 0);
  ck_assert_str_eq(hi.name, "val_accuracy");
}
END_TEST

START_TEST(test_monitor_min_no_delta) {
  RtMonitor mon;
  rt_monitor_init(&mon, "val_loss", RT_MODE_MIN, 0.0);
  double values[] = {1.0, 0.9, 0.95, 0.85, 0.85, 0.87};
  int improved[] = {1, 1, 0, 1, 0, 0}, waits[] = {0, 0, 1, 0, 1, 2};
  run_script(&mon, values, improved, waits, 6);
  ck_assert_double_eq(mon.best, 0.85);
  ck_assert_int_eq(mon.best_epoch, 4);
}
END_TEST

START_TEST(test_monitor_min_with_delta) {
  RtMonitor mon;
  rt_monitor_init(&mon, "val_loss", RT_MODE_MIN, 0.1);
  /* improvement needs value < best - 0.1 */
  double values[] = {1.0, 0.95, 0.89, 0.85, 0.78};
  int improved[] = {1, 0, 1, 0, 1}, waits[] = {0, 1, 0, 1, 0};
  run_script(&mon, values, improved, waits, 5);
  ck_assert_double_eq(mon.best, 0.78);
  ck_assert_int_eq(mon.best_epoch, 5);
}
END_TEST

START_TEST(test_monitor_max_modes) {
  RtMonitor mon;
  rt_monitor_init(&mon, "val_accuracy", RT_MODE_MAX, 0.0);
  double values[] = {0.5, 0.6, 0.6, 0.59, 0.61};
  int improved[] = {1, 1, 0, 0, 1}, waits[] = {0, 0, 1, 2, 0};
  run_script(&mon, values, improved, waits, 5);
  ck_assert_int_eq(mon.best_epoch, 5);

  rt_monitor_init(&mon, "val_accuracy", RT_MODE_MAX, 0.05);
  int improved_d[] = {1, 1, 0, 0, 0}, waits_d[] = {0, 0, 1, 2, 3};
  run_script(&mon, values, improved_d, waits_d, 5);
  ck_assert_double_eq(mon.best, 0.6);
  ck_assert_int_eq(mon.best_epoch, 2);
}
END_TEST

START_TEST(test_monitor_negative_delta_is_magnitude) {
  RtMonitor mon;
  rt_monitor_init(&mon, "val_loss", RT_MODE_MIN, -0.1); /* Keras takes abs(min_delta) */
  double values[] = {1.0, 0.95};
  int improved[] = {1, 0}, waits[] = {0, 1};
  run_script(&mon, values, improved, waits, 2);
}
END_TEST

START_TEST(test_monitor_nan_never_improves) {
  RtMonitor mon;
  rt_monitor_init(&mon, "val_loss", RT_MODE_MIN, 0.0);
  double values[] = {NAN, 1.0, NAN};
  int improved[] = {0, 1, 0}, waits[] = {1, 0, 1};
  run_script(&mon, values, improved, waits, 3);
}
END_TEST

START_TEST(test_early_stopping_patience) {
  /* EarlyStopping(patience=2): stop once wait >= 2. */
  RtMonitor mon;
  rt_monitor_init(&mon, "val_loss", RT_MODE_MIN, 0.0);
  double values[] = {0.5, 0.4, 0.45, 0.39, 0.38, 0.40, 0.42, 0.30};
  int stopped_at = 0;
  for (int e = 1; e <= 8 && !stopped_at; e++) {
    rt_monitor_update(&mon, values[e - 1], e);
    if (mon.wait >= 2)
      stopped_at = e;
  }
  ck_assert_int_eq(stopped_at, 7);
  ck_assert_int_eq(mon.best_epoch, 5);
}
END_TEST

/* ---- history.csv ---- */

static const char *const HISTORY_COLUMNS[] = {"epoch",        "loss", "accuracy", "val_loss",
                                              "val_accuracy", "lr",   "seconds"};

START_TEST(test_history_csv) {
  char dir[] = "/tmp/nnc_test_train_XXXXXX", path[64];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/history.csv", dir);
  RtCsvLog log;
  rt_csv_log_open(&log, path, ',', 0, HISTORY_COLUMNS, 7);
  rt_csv_log_row(&log, (const double[]){1, 0.5, 0.8, 0.45, 0.82, 0.001, 1.25});
  /* Visible before close: each line is flushed. */
  FILE *r = fopen(path, "r");
  char text[512] = {0};
  ck_assert_uint_gt(fread(text, 1, sizeof text - 1, r), 0);
  fclose(r);
  ck_assert_str_eq(text, "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds\n"
                         "1,0.500000,0.800000,0.450000,0.820000,0.001,1.250000\n");
  rt_csv_log_close(&log);
  unlink(path);
  rmdir(dir);
}
END_TEST

static void read_file(const char *path, char *text, size_t size) {
  FILE *r = fopen(path, "r");
  ck_assert_ptr_nonnull(r);
  size_t n = fread(text, 1, size - 1, r);
  text[n] = '\0';
  fclose(r);
}

/* csv_logger(separator=";", append=true): a second run adds rows under the
 * first run's header; append=false starts over. */
START_TEST(test_csv_logger_append) {
  char dir[] = "/tmp/nnc_test_train_XXXXXX", path[64], text[512];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/log.csv", dir);
  RtCsvLog log;
  for (int run = 1; run <= 2; run++) {
    rt_csv_log_open(&log, path, ';', 1, HISTORY_COLUMNS, 7);
    rt_csv_log_row(&log, (const double[]){run, 0.5, 0.75, 0.25, 0.5, 0.01, 2.0});
    rt_csv_log_close(&log);
  }
  read_file(path, text, sizeof text);
  ck_assert_str_eq(text, "epoch;loss;accuracy;val_loss;val_accuracy;lr;seconds\n"
                         "1;0.500000;0.750000;0.250000;0.500000;0.01;2.000000\n"
                         "2;0.500000;0.750000;0.250000;0.500000;0.01;2.000000\n");
  rt_csv_log_open(&log, path, ';', 0, HISTORY_COLUMNS, 7);
  rt_csv_log_close(&log);
  read_file(path, text, sizeof text);
  ck_assert_str_eq(text, "epoch;loss;accuracy;val_loss;val_accuracy;lr;seconds\n");
  unlink(path);
  rmdir(dir);
}
END_TEST

static void append_to_full_disk(void) {
  RtCsvLog log;
  rt_csv_log_open(&log, "/dev/full", ',', 0, HISTORY_COLUMNS, 7);
  rt_csv_log_row(&log, (const double[]){1, 0.5, 0.8, 0.45, 0.82, 0.001, 1.25});
}

START_TEST(test_history_full_disk_dies_naming_file) {
  if (access("/dev/full", W_OK) != 0)
    return;
  char err[4096] = "";
  FILE *capture = tmpfile();
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fileno(capture), 2);
    append_to_full_disk();
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  rewind(capture);
  err[fread(err, 1, sizeof err - 1, capture)] = '\0';
  fclose(capture);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
  ck_assert_msg(strstr(err, "/dev/full") && strstr(err, "No space left"), "stderr: %s", err);
}
END_TEST

/* history.csv under a 200-byte file-size limit (ulimit -f): the row that
 * crosses it is reported naming the file, not killed by SIGXFSZ. */
static void write_history_past_limit(void *path) {
  RtCsvLog log;
  rt_csv_log_open(&log, path, ',', 0, HISTORY_COLUMNS, 7);
  struct rlimit limit = {200, 200};
  /* no ck_assert from here on: Check's own messages go through a file that
   * the limit would cut, so the child reports failure by exit status only */
  if (setrlimit(RLIMIT_FSIZE, &limit) != 0)
    _exit(3);
  for (int epoch = 1; epoch <= 100; epoch++)
    rt_csv_log_row(&log, (const double[]){epoch, 0.5, 0.8, 0.45, 0.82, 0.001, 1.25});
  rt_csv_log_close(&log);
}

START_TEST(test_history_file_size_limit_dies_naming_file) {
  char dir[] = "/tmp/nnc_test_train_XXXXXX", path[64];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/history.csv", dir);
  ChildResult r = run_in_child(write_history_past_limit, path);
  ck_assert_msg(r.status == 1, "exit status %d, stderr: %s", r.status, r.err);
  ck_assert_msg(strstr(r.err, path) && strstr(r.err, "ulimit -f"), "stderr: %s", r.err);
  unlink(path);
  rmdir(dir);
}
END_TEST

/* ---- options ---- */

static RtOptions default_options(void) {
  RtOptions opt = {.epochs = 10, .seed = 42, .out_dir = "runs/x", .data_dir = "/data"};
  return opt;
}

static void parse(RtOptions *opt, char **argv) {
  int argc = 0;
  while (argv[argc])
    argc++;
  rt_options_parse(opt, argc, argv, "mlp_day5");
}

START_TEST(test_options_defaults_kept) {
  RtOptions opt = default_options();
  char *argv[] = {"./train", NULL};
  parse(&opt, argv);
  ck_assert_int_eq(opt.epochs, 10);
  ck_assert_uint_eq(opt.seed, 42);
  ck_assert_str_eq(opt.out_dir, "runs/x");
  ck_assert_str_eq(opt.data_dir, "/data");
  ck_assert_int_eq(opt.limit_train, 0);
  ck_assert_int_eq(opt.gradcheck, 0);
  ck_assert_int_eq(opt.quiet, 0);
}
END_TEST

START_TEST(test_options_all_set) {
  RtOptions opt = default_options();
  char *argv[] = {"./train",     "--epochs",     "3",  "--seed=18446744073709551615",
                  "--out",       "o",            "--data=d", "--limit-train", "1000",
                  "--limit-test=0", "--gradcheck", "--quiet", NULL};
  parse(&opt, argv);
  ck_assert_int_eq(opt.epochs, 3);
  ck_assert(opt.seed == UINT64_MAX);
  ck_assert_str_eq(opt.out_dir, "o");
  ck_assert_str_eq(opt.data_dir, "d");
  ck_assert_int_eq(opt.limit_train, 1000);
  ck_assert_int_eq(opt.limit_test, 0);
  ck_assert_int_eq(opt.gradcheck, 1);
  ck_assert_int_eq(opt.quiet, 1);
}
END_TEST

START_TEST(test_options_stream) {
  RtOptions opt = default_options();
  ck_assert_int_eq(opt.stream, 0); /* not given: directory(stream=...) decides */
  char *argv[] = {"./train", "--stream", "on", "--loader-threads=3", "--loader-depth", "7", NULL};
  parse(&opt, argv);
  ck_assert_int_eq(opt.stream, 1);
  ck_assert_int_eq(opt.loader_threads, 3);
  ck_assert_int_eq(opt.loader_depth, 7);
  char *off[] = {"./train", "--stream=off", NULL};
  parse(&opt, off);
  ck_assert_int_eq(opt.stream, -1);
  char *autos[] = {"./train", "--stream", "auto", NULL};
  parse(&opt, autos);
  ck_assert_int_eq(opt.stream, 2);
}
END_TEST

static void parse_argv(void *argv) {
  RtOptions opt = default_options();
  parse(&opt, argv);
}

/* Parse argv in a child; capture its exit status, stdout and stderr
 * (status 100: parsing returned). */
static ChildResult parse_in_child(char **argv) { return run_in_child_status(parse_argv, argv, 100); }

static void assert_usage_error(char **argv, const char *words) {
  ChildResult r = parse_in_child(argv);
  ck_assert_msg(r.status == 2, "exit %d for %s; stderr: %s", r.status, argv[1], r.err);
  ck_assert_msg(strstr(r.err, words), "stderr lacks '%s': %s", words, r.err);
}

START_TEST(test_options_bad_numbers) {
  char *a[] = {"./train", "--epochs", "abc", NULL};
  assert_usage_error(a, "--epochs needs a whole number >= 1, got 'abc'");
  char *b[] = {"./train", "--epochs", "0", NULL};
  assert_usage_error(b, "got '0'");
  char *c[] = {"./train", "--limit-train=12x", NULL};
  assert_usage_error(c, "--limit-train");
  char *d[] = {"./train", "--seed", "-1", NULL};
  assert_usage_error(d, "--seed");
  char *g[] = {"./train", "--stream", "yes", NULL};
  assert_usage_error(g, "--stream needs on, off or auto, got 'yes'");
  char *h[] = {"./train", "--loader-depth", "0", NULL};
  assert_usage_error(h, "--loader-depth needs a whole number >= 1");
  char *e[] = {"./train", "--limit-test", "99999999999", NULL};
  assert_usage_error(e, "--limit-test");
  char *f[] = {"./train", "--epochs", NULL};
  assert_usage_error(f, "missing value");
}
END_TEST

START_TEST(test_options_unknown) {
  char *a[] = {"./train", "--epoch", "3", NULL};
  assert_usage_error(a, "unknown option '--epoch'");
  ChildResult r = parse_in_child(a);
  ck_assert_ptr_nonnull(strstr(r.err, "usage: train"));
  char *b[] = {"./train", "stray", NULL};
  assert_usage_error(b, "unexpected argument 'stray'");
}
END_TEST

START_TEST(test_options_help) {
  char *argv[] = {"/some/dir/train", "--epochs", "5", "--help", NULL};
  ChildResult r = parse_in_child(argv);
  ck_assert_int_eq(r.status, 0);
  ck_assert_str_eq(r.err, "");
  const char *words[] = {"usage: train", "mlp_day5", "--epochs", "--seed", "--out", "--data",
                         "--limit-train", "--limit-test", "--gradcheck", "--quiet", "--help",
                         "(default 10)"};
  for (size_t i = 0; i < sizeof words / sizeof *words; i++)
    ck_assert_msg(strstr(r.out, words[i]), "help lacks '%s':\n%s", words[i], r.out);
}
END_TEST

static Suite *train_suite(void) {
  Suite *s = suite_create("rt_train");
  TCase *monitor = tcase_create("monitor");
  tcase_add_test(monitor, test_monitor_init);
  tcase_add_test(monitor, test_monitor_min_no_delta);
  tcase_add_test(monitor, test_monitor_min_with_delta);
  tcase_add_test(monitor, test_monitor_max_modes);
  tcase_add_test(monitor, test_monitor_negative_delta_is_magnitude);
  tcase_add_test(monitor, test_monitor_nan_never_improves);
  tcase_add_test(monitor, test_early_stopping_patience);
  suite_add_tcase(s, monitor);
  TCase *plateau = tcase_create("reduce_lr_on_plateau");
  tcase_add_test(plateau, test_plateau_schedule);
  suite_add_tcase(s, plateau);
  TCase *history = tcase_create("history");
  tcase_add_test(history, test_history_csv);
  tcase_add_test(history, test_csv_logger_append);
  tcase_add_test(history, test_history_full_disk_dies_naming_file);
  tcase_add_test(history, test_history_file_size_limit_dies_naming_file);
  suite_add_tcase(s, history);
  TCase *options = tcase_create("options");
  tcase_add_test(options, test_options_defaults_kept);
  tcase_add_test(options, test_options_all_set);
  tcase_add_test(options, test_options_stream);
  tcase_add_test(options, test_options_bad_numbers);
  tcase_add_test(options, test_options_unknown);
  tcase_add_test(options, test_options_help);
  suite_add_tcase(s, options);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(train_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
