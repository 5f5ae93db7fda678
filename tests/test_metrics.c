/*
 * test_metrics.c — Check suite for rt_metrics.c: confusion matrices with
 * hand-computed precision/recall/F1, the text report, and metrics.json
 * (checked by a small JSON syntax validator plus expected substrings).
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, open_memstream, symlink */
#include "nnc_runtime.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOL 1e-12

/* true\pred  0  1  2      row sums 6, 6, 4; column sums 7, 4, 5; 12 of 16 right
 *   0        5  1  0
 *   1        2  3  1
 *   2        0  0  4 */
static const int EXAMPLE[3][3] = {{5, 1, 0}, {2, 3, 1}, {0, 0, 4}};

static void fill_example(RtConfusion *cm) {
  rt_confusion_init(cm, 3);
  for (int t = 0; t < 3; t++)
    for (int p = 0; p < 3; p++)
      for (int k = 0; k < EXAMPLE[t][p]; k++)
        rt_confusion_add(cm, t, p);
}

static double f1_of(double p, double r) {
  return 2 * p * r / (p + r);
}

START_TEST(test_counts_layout_rows_true) {
  RtConfusion cm;
  rt_confusion_init(&cm, 3);
  rt_confusion_add(&cm, 2, 0);
  ck_assert_int_eq(cm.counts[2 * 3 + 0], 1);
  ck_assert_int_eq(cm.counts[0 * 3 + 2], 0);
  rt_confusion_free(&cm);
}
END_TEST

START_TEST(test_accuracy) {
  RtConfusion cm;
  fill_example(&cm);
  ck_assert_double_eq_tol(rt_confusion_accuracy(&cm), 12.0 / 16.0, TOL);
  rt_confusion_free(&cm);
  rt_confusion_init(&cm, 4);
  ck_assert_double_eq(rt_confusion_accuracy(&cm), 0.0);
  rt_confusion_free(&cm);
}
END_TEST

START_TEST(test_per_class_stats) {
  RtConfusion cm;
  RtClassStats s[3];
  fill_example(&cm);
  rt_confusion_stats(s, &cm);
  double p[3] = {5.0 / 7, 3.0 / 4, 4.0 / 5}, r[3] = {5.0 / 6, 3.0 / 6, 1.0};
  long support[3] = {6, 6, 4};
  for (int c = 0; c < 3; c++) {
    ck_assert_double_eq_tol(s[c].precision, p[c], TOL);
    ck_assert_double_eq_tol(s[c].recall, r[c], TOL);
    ck_assert_double_eq_tol(s[c].f1, f1_of(p[c], r[c]), TOL);
    ck_assert_int_eq(s[c].support, support[c]);
  }
  rt_confusion_free(&cm);
}
END_TEST

START_TEST(test_zero_denominators) {
  /* Class 1 never occurs and is never predicted; class 2 occurs, never predicted. */
  RtConfusion cm;
  RtClassStats s[3];
  rt_confusion_init(&cm, 3);
  rt_confusion_add(&cm, 0, 0);
  rt_confusion_add(&cm, 2, 0);
  rt_confusion_stats(s, &cm);
  ck_assert_double_eq_tol(s[0].precision, 0.5, TOL);
  ck_assert_double_eq_tol(s[0].recall, 1.0, TOL);
  for (int c = 1; c < 3; c++) {
    ck_assert_double_eq(s[c].precision, 0.0);
    ck_assert_double_eq(s[c].recall, 0.0);
    ck_assert_double_eq(s[c].f1, 0.0);
  }
  ck_assert_int_eq(s[1].support, 0);
  ck_assert_int_eq(s[2].support, 1);
  rt_confusion_free(&cm);
}
END_TEST

static int run_add_out_of_range(void) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stderr);
    RtConfusion cm;
    rt_confusion_init(&cm, 3);
    rt_confusion_add(&cm, 0, 3);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Off-diagonal cells of EXAMPLE by count: (1,0)=2, then (0,1)=1 and (1,2)=1
 * in row-major order. */
START_TEST(test_most_confused) {
  RtConfusion cm;
  fill_example(&cm);
  RtConfusedPair pairs[5];
  ck_assert_int_eq(rt_confusion_most_confused(pairs, 5, &cm), 3);
  ck_assert(pairs[0].truth == 1 && pairs[0].predicted == 0 && pairs[0].count == 2);
  ck_assert(pairs[1].truth == 0 && pairs[1].predicted == 1 && pairs[1].count == 1);
  ck_assert(pairs[2].truth == 1 && pairs[2].predicted == 2 && pairs[2].count == 1);
  ck_assert_int_eq(rt_confusion_most_confused(pairs, 1, &cm), 1);
  ck_assert(pairs[0].truth == 1 && pairs[0].predicted == 0);
  rt_confusion_free(&cm);
}
END_TEST

START_TEST(test_add_out_of_range_dies) {
  ck_assert_int_eq(run_add_out_of_range(), 1);
}
END_TEST

/* ---- text report ---- */

static char *report_text(const RtConfusion *cm, const char *const *names) {
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  ck_assert_ptr_nonnull(f);
  rt_confusion_print(f, cm, names);
  fclose(f);
  return text;
}

START_TEST(test_report_contents) {
  RtConfusion cm;
  fill_example(&cm);
  const char *names[] = {"T-shirt/top", "A very long class name indeed", "Bag"};
  char *text = report_text(&cm, names);
  ck_assert_ptr_nonnull(strstr(text, "T-shirt/top"));
  ck_assert_ptr_nonnull(strstr(text, "A very long cl"));
  ck_assert_ptr_null(strstr(text, "class name indeed"));
  ck_assert_ptr_nonnull(strstr(text, "precision"));
  ck_assert_ptr_nonnull(strstr(text, "support"));
  ck_assert_ptr_nonnull(strstr(text, "##############################")); /* Bag: recall 1 */
  ck_assert_ptr_nonnull(strstr(text, "###############...............")); /* class 1: 0.5 */
  ck_assert_ptr_nonnull(strstr(text, "macro avg"));
  ck_assert_ptr_nonnull(strstr(text, "weighted avg"));
  ck_assert_ptr_nonnull(strstr(text, "0.7500")); /* accuracy and class 1 precision */
  free(text);
  text = report_text(&cm, NULL);
  ck_assert_ptr_nonnull(strstr(text, "class 2"));
  free(text);
  rt_confusion_free(&cm);
}
END_TEST

/* ---- a minimal JSON syntax validator ---- */

static const char *json_value(const char *p);

static const char *json_space(const char *p) {
  while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
    p++;
  return p;
}

static const char *json_string_end(const char *p) {
  if (*p++ != '"')
    return NULL;
  for (; *p != '"'; p++) {
    if (*p == '\0' || (unsigned char)*p < 0x20)
      return NULL;
    if (*p == '\\') {
      p++;
      if (*p == 'u') {
        for (int i = 1; i <= 4; i++)
          if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
            return NULL;
        p += 4;
      } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
        return NULL;
      }
    }
  }
  return p + 1;
}

static const char *json_number_end(const char *p) {
  char *end;
  if (*p != '-' && (*p < '0' || *p > '9'))
    return NULL;
  strtod(p, &end);
  return end == p ? NULL : end;
}

/* Elements of an array (close = ']') or members of an object (close = '}'). */
static const char *json_container(const char *p, char close) {
  p = json_space(p + 1);
  if (*p == close)
    return p + 1;
  for (;;) {
    if (close == '}') {
      p = json_string_end(json_space(p));
      if (!p || *(p = json_space(p)) != ':')
        return NULL;
      p++;
    }
    p = json_value(p);
    if (!p)
      return NULL;
    p = json_space(p);
    if (*p == close)
      return p + 1;
    if (*p++ != ',')
      return NULL;
  }
}

static const char *json_value(const char *p) {
  p = json_space(p);
  if (*p == '{' || *p == '[')
    return json_container(p, *p == '{' ? '}' : ']');
  if (*p == '"')
    return json_string_end(p);
  for (const char *const *word = (const char *const[]){"null", "true", "false", NULL}; *word;
       word++)
    if (strncmp(p, *word, strlen(*word)) == 0)
      return p + strlen(*word);
  return json_number_end(p);
}

static int json_is_valid(const char *text) {
  const char *end = json_value(text);
  return end && *json_space(end) == '\0';
}

START_TEST(test_json_validator_itself) {
  ck_assert(json_is_valid("{\"a\": [1, -2.5e3, \"x\\\"y\", null, {}], \"b\": {\"c\": true}}"));
  ck_assert(!json_is_valid("{\"a\": [1, 2,]}"));
  ck_assert(!json_is_valid("{\"a\": nan}"));
  ck_assert(!json_is_valid("{\"a\": \"x\"y\"}"));
  ck_assert(!json_is_valid("{\"a\": 1} x"));
}
END_TEST

/* ---- ROC AUC ---- */

/* scikit-learn's roc_auc_score docstring example: 0.75. */
START_TEST(test_auc_sklearn_example) {
  const float scores[] = {0.1f, 0.4f, 0.35f, 0.8f};
  const uint8_t positive[] = {0, 0, 1, 1};
  ck_assert_double_eq_tol(rt_roc_auc(scores, positive, 4), 0.75, 1e-12);
}
END_TEST

START_TEST(test_auc_perfect_reversed_ties_undefined) {
  const float scores[] = {0.2f, 0.3f, 0.7f, 0.9f};
  const uint8_t up[] = {0, 0, 1, 1}, down[] = {1, 1, 0, 0}, one_kind[] = {1, 1, 1, 1};
  ck_assert_double_eq(rt_roc_auc(scores, up, 4), 1.0);
  ck_assert_double_eq(rt_roc_auc(scores, down, 4), 0.0);
  ck_assert(isnan(rt_roc_auc(scores, one_kind, 4)));
  /* all scores tied: every positive/negative pair counts one half */
  const float tied[] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  const uint8_t mixed[] = {1, 0, 0, 1, 0};
  ck_assert_double_eq_tol(rt_roc_auc(tied, mixed, 5), 0.5, 1e-12);
  /* one tie across the classes: pairs (0.4+, 0.4-) count 1/2: (5 + 0.5) / 6 */
  const float some[] = {0.1f, 0.4f, 0.4f, 0.9f, 0.2f};
  const uint8_t pos[] = {0, 1, 0, 1, 0};
  ck_assert_double_eq_tol(rt_roc_auc(some, pos, 5), 5.5 / 6.0, 1e-12);
}
END_TEST

/* A diverged model's NaN scores: the ranking still ends (NaN ranks last). */
START_TEST(test_auc_nan_scores) {
  const float scores[] = {NAN, 0.2f, NAN, 0.9f, 0.1f};
  const uint8_t positive[] = {1, 0, 0, 1, 0};
  double auc = rt_roc_auc(scores, positive, 5);
  ck_assert(auc >= 0.0 && auc <= 1.0);
}
END_TEST

/* One class against the rest over a (4, 3) score matrix, and a binary table. */
START_TEST(test_auc_columns) {
  const float scores[4 * 3] = {0.7f, 0.2f, 0.1f,  /* label 0 */
                               0.3f, 0.6f, 0.1f,  /* label 1 */
                               0.5f, 0.1f, 0.4f,  /* label 2 */
                               0.2f, 0.5f, 0.3f}; /* label 1 */
  const uint8_t labels[4] = {0, 1, 2, 1};
  double auc[3];
  rt_roc_auc_columns(auc, scores, labels, NULL, 4, 3);
  ck_assert_double_eq_tol(auc[0], 1.0, 1e-12);     /* 0.7 above 0.3, 0.5, 0.2 */
  ck_assert_double_eq_tol(auc[1], 1.0, 1e-12);     /* 0.6, 0.5 above 0.2, 0.1 */
  ck_assert_double_eq_tol(auc[2], 1.0, 1e-12);     /* 0.4 above 0.1, 0.1, 0.3 */
  ck_assert_double_eq_tol(rt_mean_defined(auc, 3), 1.0, 1e-12);
  /* binary targets from a table (3 classes, 1 target: classes 1 and 2 positive) */
  const uint8_t table[3] = {0, 1, 1};
  const float probs[4] = {0.2f, 0.9f, 0.1f, 0.6f};
  double one;
  rt_roc_auc_columns(&one, probs, labels, table, 4, 1);
  ck_assert_double_eq_tol(one, 2.0 / 3.0, 1e-12); /* 0.9 and 0.6 beat 0.2; 0.1 loses */
  RtBinaryStats st;
  rt_binary_stats(&st, probs, labels, table, 4, 1);
  ck_assert_int_eq(st.tp, 2);
  ck_assert_int_eq(st.fn, 1);
  ck_assert_int_eq(st.tn, 1);
  ck_assert_int_eq(st.fp, 0);
  ck_assert_double_eq_tol(st.precision, 1.0, 1e-12);
  ck_assert_double_eq_tol(st.recall, 2.0 / 3.0, 1e-12);
  ck_assert_double_eq_tol(st.f1, 0.8, 1e-12);
  ck_assert_double_eq_tol(st.auc, 2.0 / 3.0, 1e-12);
}
END_TEST

/* ---- metrics.json ---- */

static char tmp_dir[256];

static void setup_tmp_dir(void) {
  const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(tmp_dir, sizeof tmp_dir, "%s/nnc_test_metrics_XXXXXX", base);
  ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void remove_if_exists(const char *dir, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  unlink(path);
}

static void teardown_tmp_dir(void) {
  remove_if_exists(tmp_dir, "metrics.json");
  remove_if_exists(tmp_dir, "metrics.json.tmp");
  rmdir(tmp_dir);
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  static char buf[65536];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static char *write_example_json(const char *const *names, double loss) {
  RtConfusion cm;
  char path[512], tmp[520];
  struct stat st;
  fill_example(&cm);
  snprintf(path, sizeof path, "%s/metrics.json", tmp_dir);
  const double auc[3] = {0.9, NAN, 0.7};
  rt_metrics_write_json(path, &cm, names, loss, 0.75, 3, auc);
  rt_confusion_free(&cm);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  ck_assert_int_ne(stat(tmp, &st), 0); /* renamed away, nothing left behind */
  return read_text(path);
}

START_TEST(test_json_parses_and_has_keys) {
  const char *names[] = {"T-shirt/top", "Trouser", "Bag"};
  char *text = write_example_json(names, 0.25);
  ck_assert_msg(json_is_valid(text), "invalid JSON:\n%s", text);
  const char *expected[] = {
      "\"test_loss\": 0.25",  "\"test_accuracy\": 0.75",
      "\"best_epoch\": 3",    "\"class_names\": [\"T-shirt/top\", \"Trouser\", \"Bag\"]",
      "[5, 1, 0]",            "[2, 3, 1]",
      "[0, 0, 4]",            "\"per_class\"",
      "\"name\": \"Trouser\", \"precision\": 0.75, \"recall\": 0.5",
      "\"support\": 4}",      "\"macro_avg\": {\"precision\"",
      "\"weighted_avg\": {",  "\"support\": 16}",
      "\"confusion_matrix_normalized\"", "[0.8333333333, 0.1666666667, 0.0]", /* jansson: reals keep ".0" */
      "\"most_confused\": [\n    {\"true\": \"Trouser\", \"predicted\": \"T-shirt/top\", \"count\": 2}",
      "\"auc\": {\"macro\": 0.8, \"per_class\": [0.9, null, 0.7]}",
  };
  for (size_t i = 0; i < sizeof expected / sizeof *expected; i++)
    ck_assert_msg(strstr(text, expected[i]), "missing %s in:\n%s", expected[i], text);
}
END_TEST

START_TEST(test_json_escapes_and_nan) {
  const char *names[] = {"quote\"d", "back\\slash", "tab\tand\x01"};
  char *text = write_example_json(names, NAN);
  ck_assert_msg(json_is_valid(text), "invalid JSON:\n%s", text);
  ck_assert_ptr_nonnull(strstr(text, "\"quote\\\"d\""));
  ck_assert_ptr_nonnull(strstr(text, "\"back\\\\slash\""));
  ck_assert_ptr_nonnull(strstr(text, "\"tab\\tand\\u0001\""));
  ck_assert_ptr_nonnull(strstr(text, "\"test_loss\": null"));
}
END_TEST

START_TEST(test_json_weighted_average_value) {
  char *text = write_example_json(NULL, 1.0);
  ck_assert(json_is_valid(text));
  ck_assert_ptr_nonnull(strstr(text, "\"class 0\""));
  /* weighted recall = (6 * 5/6 + 6 * 3/6 + 4 * 1) / 16 = 12/16 = accuracy */
  const char *w = strstr(text, "\"weighted_avg\"");
  ck_assert_ptr_nonnull(w);
  ck_assert_ptr_nonnull(strstr(w, "\"recall\": 0.75"));
}
END_TEST

START_TEST(test_json_reads_back) {
  const char *names[] = {"T-shirt/top", "Trouser", "Bag"};
  char path[512], err[512];
  write_example_json(names, 0.25);
  snprintf(path, sizeof path, "%s/metrics.json", tmp_dir);
  RtMetricsFile m;
  ck_assert_int_eq(rt_metrics_read_json(&m, path, err, sizeof err), 0);
  ck_assert_double_eq(m.test_loss, 0.25);
  ck_assert_double_eq(m.test_accuracy, 0.75);
  ck_assert_int_eq(m.best_epoch, 3);
  ck_assert_int_eq(m.binary, 0);
  ck_assert_double_eq_tol(m.auc_macro, 0.8, 1e-12);
  ck_assert_int_eq(m.n_classes, 3);
  ck_assert_str_eq(m.class_names[2], "Bag");
  ck_assert_ptr_nonnull(m.confusion);
  ck_assert_int_eq(m.confusion[1 * 3 + 0], 2); /* Trouser taken for T-shirt/top twice */
  ck_assert_ptr_nonnull(m.per_class);
  ck_assert_double_eq_tol(m.per_class[1].precision, 0.75, 1e-12);
  ck_assert_int_eq(m.per_class[2].support, 4);
  ck_assert_double_eq_tol(m.weighted_avg.recall, 0.75, 1e-12);
  rt_metrics_file_free(&m);
}
END_TEST

START_TEST(test_json_read_nan_and_binary) {
  char path[512], err[512];
  write_example_json(NULL, NAN);
  snprintf(path, sizeof path, "%s/metrics.json", tmp_dir);
  RtMetricsFile m;
  ck_assert_int_eq(rt_metrics_read_json(&m, path, err, sizeof err), 0);
  ck_assert(isnan(m.test_loss)); /* written as null */
  ck_assert_str_eq(m.class_names[0], "class 0");
  rt_metrics_file_free(&m);
  const char *targets[] = {"cat", "dog"};
  RtBinaryStats stats[2] = {{1, 2, 3, 4, 0.5, 0.25, 1.0 / 3.0, 0.9}, {4, 3, 2, 1, 0.5, 0.5, 0.5, NAN}};
  rt_binary_write_json(path, stats, targets, 2, 0.5, 0.625, 2);
  ck_assert_int_eq(rt_metrics_read_json(&m, path, err, sizeof err), 0);
  ck_assert_int_eq(m.binary, 1);
  ck_assert_double_eq(m.test_accuracy, 0.625);
  ck_assert_int_eq(m.n_targets, 2);
  ck_assert_str_eq(m.target_names[1], "dog");
  ck_assert_int_eq(m.targets[0].fn, 3);
  ck_assert(isnan(m.targets[1].auc));
  rt_metrics_file_free(&m);
}
END_TEST

START_TEST(test_json_read_error_is_located) {
  char path[512], err[512];
  snprintf(path, sizeof path, "%s/metrics.json", tmp_dir);
  FILE *f = fopen(path, "w");
  fputs("{\n  \"test_loss\": 0.5,\n  \"oops\"\n}\n", f);
  fclose(f);
  RtMetricsFile m;
  ck_assert_int_eq(rt_metrics_read_json(&m, path, err, sizeof err), -1);
  ck_assert_msg(strstr(err, path) && strstr(err, ":4:1: ':' expected"), "error: %s", err);
  ck_assert_int_eq(rt_metrics_read_json(&m, "/nonexistent/metrics.json", err, sizeof err), -1);
  ck_assert_ptr_nonnull(strstr(err, "/nonexistent/metrics.json"));
}
END_TEST

static void write_json_in_child(const char *path) {
  RtConfusion cm;
  fill_example(&cm);
  rt_metrics_write_json(path, &cm, NULL, 0.5, 0.75, 1, NULL);
}

START_TEST(test_json_full_disk_dies_naming_file) {
  char path[512], tmp[520], err[4096] = "";
  snprintf(path, sizeof path, "%s/metrics.json", tmp_dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  if (access("/dev/full", W_OK) != 0)
    return;
  ck_assert_int_eq(symlink("/dev/full", tmp), 0);
  FILE *capture = tmpfile();
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fileno(capture), 2);
    write_json_in_child(path);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  rewind(capture);
  err[fread(err, 1, sizeof err - 1, capture)] = '\0';
  fclose(capture);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
  ck_assert_msg(strstr(err, tmp) && strstr(err, "No space left"), "stderr: %s", err);
  ck_assert_int_eq(access(path, F_OK), -1); /* no half-written metrics.json */
  ck_assert_int_eq(access(tmp, F_OK), -1);
}
END_TEST

static Suite *metrics_suite(void) {
  Suite *s = suite_create("rt_metrics");
  TCase *stats = tcase_create("stats");
  tcase_add_test(stats, test_counts_layout_rows_true);
  tcase_add_test(stats, test_accuracy);
  tcase_add_test(stats, test_per_class_stats);
  tcase_add_test(stats, test_zero_denominators);
  tcase_add_test(stats, test_add_out_of_range_dies);
  tcase_add_test(stats, test_most_confused);
  tcase_add_test(stats, test_report_contents);
  tcase_add_test(stats, test_auc_sklearn_example);
  tcase_add_test(stats, test_auc_perfect_reversed_ties_undefined);
  tcase_add_test(stats, test_auc_columns);
  tcase_add_test(stats, test_auc_nan_scores);
  suite_add_tcase(s, stats);
  TCase *json = tcase_create("json");
  tcase_add_checked_fixture(json, setup_tmp_dir, teardown_tmp_dir);
  tcase_add_test(json, test_json_validator_itself);
  tcase_add_test(json, test_json_parses_and_has_keys);
  tcase_add_test(json, test_json_escapes_and_nan);
  tcase_add_test(json, test_json_weighted_average_value);
  tcase_add_test(json, test_json_full_disk_dies_naming_file);
  tcase_add_test(json, test_json_reads_back);
  tcase_add_test(json, test_json_read_nan_and_binary);
  tcase_add_test(json, test_json_read_error_is_located);
  suite_add_tcase(s, json);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(metrics_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
