/*
 * rt_metrics.c — evaluation metrics: confusion matrix, per-class precision,
 * recall and F1, a human-readable report and metrics.json.
 *
 * Convention (scikit-learn, as in the Keras tutorials): rows are the true
 * class, columns the predicted class. Recall = diagonal / row sum, precision
 * = diagonal / column sum, F1 = their harmonic mean; each is 0 where its
 * denominator is 0. Macro averages are plain means over classes, weighted
 * averages weight each class by its support (row sum).
 *
 * ROC AUC is the exact area (scikit-learn's roc_auc_score): the probability
 * that a random positive scores above a random negative, ties counting one
 * half, from the ranks of the scores (Mann-Whitney U). Keras's AUC metric
 * approximates the same area with 200 thresholds.
 *
 * metrics.json is written to PATH.tmp and renamed over PATH, so a reader
 * never sees half a file; every write is checked.
 */
#define _XOPEN_SOURCE 700 /* fsync, fileno */
#include "nnc_runtime.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAME_WIDTH 14
#define BAR_WIDTH 30

/* ---- counting ---- */

void rt_confusion_init(RtConfusion *cm, int n_classes) {
  if (n_classes <= 0)
    rt_die("confusion matrix: %d classes", n_classes);
  cm->n_classes = n_classes;
  cm->counts = rt_calloc((size_t)n_classes * (size_t)n_classes, sizeof(long));
}

void rt_confusion_free(RtConfusion *cm) {
  free(cm->counts);
  cm->counts = NULL;
  cm->n_classes = 0;
}

void rt_confusion_add(RtConfusion *cm, int truth, int predicted) {
  int n = cm->n_classes;
  if (truth < 0 || truth >= n || predicted < 0 || predicted >= n)
    rt_die("confusion matrix: class pair (%d, %d) is outside 0..%d", truth, predicted, n - 1);
  cm->counts[(size_t)truth * n + predicted]++;
}

static long cell(const RtConfusion *cm, int truth, int predicted) {
  return cm->counts[(size_t)truth * cm->n_classes + predicted];
}

static long total_count(const RtConfusion *cm) {
  long total = 0;
  for (int i = 0; i < cm->n_classes * cm->n_classes; i++)
    total += cm->counts[i];
  return total;
}

double rt_confusion_accuracy(const RtConfusion *cm) {
  long total = total_count(cm), correct = 0;
  for (int c = 0; c < cm->n_classes; c++)
    correct += cell(cm, c, c);
  return total > 0 ? (double)correct / (double)total : 0.0;
}

static double ratio_or_zero(double num, double den) {
  return den > 0 ? num / den : 0.0;
}

void rt_confusion_stats(RtClassStats *stats, const RtConfusion *cm) {
  for (int c = 0; c < cm->n_classes; c++) {
    long row = 0, col = 0;
    for (int k = 0; k < cm->n_classes; k++) {
      row += cell(cm, c, k);
      col += cell(cm, k, c);
    }
    double tp = (double)cell(cm, c, c);
    RtClassStats *s = &stats[c];
    s->precision = ratio_or_zero(tp, (double)col);
    s->recall = ratio_or_zero(tp, (double)row);
    s->f1 = ratio_or_zero(2 * s->precision * s->recall, s->precision + s->recall);
    s->support = row;
  }
}

/* Macro (plain mean) and support-weighted averages of the per-class stats. */
static void average_stats(RtClassStats *macro, RtClassStats *weighted, const RtClassStats *stats,
                          int n) {
  memset(macro, 0, sizeof *macro);
  memset(weighted, 0, sizeof *weighted);
  for (int c = 0; c < n; c++) {
    macro->precision += stats[c].precision / n;
    macro->recall += stats[c].recall / n;
    macro->f1 += stats[c].f1 / n;
    weighted->precision += stats[c].precision * stats[c].support;
    weighted->recall += stats[c].recall * stats[c].support;
    weighted->f1 += stats[c].f1 * stats[c].support;
    weighted->support += stats[c].support;
  }
  double total = (double)weighted->support;
  weighted->precision = ratio_or_zero(weighted->precision, total);
  weighted->recall = ratio_or_zero(weighted->recall, total);
  weighted->f1 = ratio_or_zero(weighted->f1, total);
  macro->support = weighted->support;
}

/* ---- text report ---- */

/* The class name (or "class N" when there are no names), cut to width. */
static void format_class_name(char *buf, size_t size, const char *const *names, int c) {
  if (names && names[c])
    snprintf(buf, size, "%.*s", NAME_WIDTH, names[c]);
  else
    snprintf(buf, size, "class %d", c);
}

static int count_width(const RtConfusion *cm) {
  long max = 0;
  for (int i = 0; i < cm->n_classes * cm->n_classes; i++)
    if (cm->counts[i] > max)
      max = cm->counts[i];
  int width = snprintf(NULL, 0, "%ld", max);
  return width < 5 ? 5 : width;
}

static void print_matrix(FILE *f, const RtConfusion *cm, const char *const *names) {
  int w = count_width(cm);
  char name[32];
  fprintf(f, "Confusion matrix (rows: true class, columns: predicted class)\n");
  fprintf(f, "%*s", NAME_WIDTH + 4, "");
  for (int c = 0; c < cm->n_classes; c++)
    fprintf(f, " %*d", w, c);
  fprintf(f, "\n");
  for (int t = 0; t < cm->n_classes; t++) {
    format_class_name(name, sizeof name, names, t);
    fprintf(f, "%2d %-*s ", t, NAME_WIDTH, name);
    for (int p = 0; p < cm->n_classes; p++)
      fprintf(f, " %*ld", w, cell(cm, t, p));
    fprintf(f, "\n");
  }
}

static void print_bar(FILE *f, double fraction) {
  int filled = (int)lround(fraction * BAR_WIDTH);
  filled = filled < 0 ? 0 : filled > BAR_WIDTH ? BAR_WIDTH : filled;
  for (int i = 0; i < BAR_WIDTH; i++)
    fputc(i < filled ? '#' : '.', f);
}

static void print_stats_row(FILE *f, const char *label, const RtClassStats *s, int with_bar) {
  fprintf(f, "%-*s %9.4f %7.4f %7.4f %8ld", NAME_WIDTH + 3, label, s->precision, s->recall, s->f1,
          s->support);
  if (with_bar) {
    fprintf(f, "  ");
    print_bar(f, s->recall);
  }
  fprintf(f, "\n");
}

static void print_stats_table(FILE *f, const RtConfusion *cm, const char *const *names) {
  int n = cm->n_classes;
  RtClassStats *stats = rt_malloc(sizeof(RtClassStats) * (size_t)n);
  RtClassStats macro, weighted;
  rt_confusion_stats(stats, cm);
  average_stats(&macro, &weighted, stats, n);
  fprintf(f, "\n%-*s %9s %7s %7s %8s  recall (%d # = 100%%)\n", NAME_WIDTH + 3, "class",
          "precision", "recall", "f1", "support", BAR_WIDTH);
  for (int c = 0; c < n; c++) {
    char name[32], label[48];
    format_class_name(name, sizeof name, names, c);
    snprintf(label, sizeof label, "%2d %s", c, name);
    print_stats_row(f, label, &stats[c], 1);
  }
  fprintf(f, "\n");
  print_stats_row(f, "macro avg", &macro, 0);
  print_stats_row(f, "weighted avg", &weighted, 0);
  fprintf(f, "%-*s %9s %7s %7.4f %8ld\n", NAME_WIDTH + 3, "accuracy", "", "",
          rt_confusion_accuracy(cm), total_count(cm));
  free(stats);
}

int rt_confusion_most_confused(RtConfusedPair *pairs, int k, const RtConfusion *cm) {
  int n = 0;
  for (int t = 0; t < cm->n_classes; t++) {
    for (int p = 0; p < cm->n_classes; p++) {
      long c = cell(cm, t, p);
      if (t == p || c == 0)
        continue;
      /* insertion into the sorted top k; equal counts keep row-major order */
      int at = n < k ? n : k;
      while (at > 0 && pairs[at - 1].count < c)
        at--;
      if (at >= k)
        continue;
      int last = n < k ? n : k - 1;
      for (int j = last; j > at; j--)
        pairs[j] = pairs[j - 1];
      pairs[at] = (RtConfusedPair){t, p, c};
      if (n < k)
        n++;
    }
  }
  return n;
}

static void print_most_confused(FILE *f, const RtConfusion *cm, const char *const *names) {
  RtConfusedPair pairs[5];
  int n = rt_confusion_most_confused(pairs, 5, cm);
  if (n == 0)
    return;
  fputs("\nmost confused (true -> predicted, count, share of the true class):\n", f);
  for (int i = 0; i < n; i++) {
    char t[32], p[32];
    format_class_name(t, sizeof t, names, pairs[i].truth);
    format_class_name(p, sizeof p, names, pairs[i].predicted);
    long row = 0;
    for (int c = 0; c < cm->n_classes; c++)
      row += cell(cm, pairs[i].truth, c);
    fprintf(f, "  %-14s -> %-14s %6ld  %5.1f%%\n", t, p, pairs[i].count,
            100.0 * ratio_or_zero((double)pairs[i].count, (double)row));
  }
}

/* ---- ROC AUC ---- */

typedef struct {
  float score;
  uint8_t positive;
} Scored;

/* Ascending; NaN (a diverged model's score) after every number, so the
 * order stays total and qsort well defined. */
static int by_score(const void *a, const void *b) {
  float x = ((const Scored *)a)->score, y = ((const Scored *)b)->score;
  if (isnan(x) || isnan(y))
    return isnan(x) - isnan(y);
  return (x > y) - (x < y);
}

/* AUC from ranks: (sum of the positives' ranks - P (P + 1) / 2) / (P N), tied
 * scores sharing their average rank. */
static double auc_of_sorted(const Scored *v, int n) {
  double rank_sum = 0.0;
  long pos = 0;
  for (int i = 0; i < n;) {
    int j = i + 1; /* a NaN equals nothing, itself included: its own group */
    while (j < n && v[j].score == v[i].score)
      j++;
    double rank = 0.5 * ((double)(i + 1) + (double)j); /* ranks i+1 .. j, averaged */
    for (int t = i; t < j; t++)
      if (v[t].positive) {
        rank_sum += rank;
        pos++;
      }
    i = j;
  }
  long neg = n - pos;
  if (pos == 0 || neg == 0)
    return NAN;
  return (rank_sum - 0.5 * (double)pos * (double)(pos + 1)) / ((double)pos * (double)neg);
}

double rt_roc_auc(const float *scores /* (n) */, const uint8_t *positive /* (n) */, int n) {
  Scored *v = rt_malloc(sizeof(Scored) * (size_t)(n > 0 ? n : 1));
  for (int i = 0; i < n; i++)
    v[i] = (Scored){scores[i], positive[i] != 0};
  qsort(v, (size_t)n, sizeof *v, by_score);
  double auc = auc_of_sorted(v, n);
  free(v);
  return auc;
}

static int is_positive(const uint8_t *labels, const uint8_t *table, int i, int j, int k) {
  return table ? table[(size_t)labels[i] * k + j] != 0 : labels[i] == j;
}

void rt_roc_auc_columns(double *auc /* (k) */, const float *scores /* (n, k) */,
                        const uint8_t *labels /* (n) */, const uint8_t *table, int n, int k) {
  float *column = rt_malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  uint8_t *positive = rt_malloc((size_t)(n > 0 ? n : 1));
  for (int j = 0; j < k; j++) {
    for (int i = 0; i < n; i++) {
      column[i] = scores[(size_t)i * k + j];
      positive[i] = (uint8_t)is_positive(labels, table, i, j, k);
    }
    auc[j] = rt_roc_auc(column, positive, n);
  }
  free(column);
  free(positive);
}

double rt_mean_defined(const double *v, int n) {
  double sum = 0.0;
  int count = 0;
  for (int i = 0; i < n; i++)
    if (!isnan(v[i])) {
      sum += v[i];
      count++;
    }
  return count ? sum / count : NAN;
}

void rt_auc_print(FILE *f, const double *auc, const char *const *names, int n) {
  fprintf(f, "\nROC AUC, one class against the rest (macro average %.4f):\n",
          rt_mean_defined(auc, n));
  for (int c = 0; c < n; c++) {
    char name[32];
    format_class_name(name, sizeof name, names, c);
    fprintf(f, "  %-*s %.4f%s", NAME_WIDTH, name, auc[c], c % 3 == 2 || c + 1 == n ? "\n" : "");
  }
}

/* ---- binary targets (labels binary {...}) ---- */

void rt_binary_stats(RtBinaryStats *stats /* (k) */, const float *probs /* (n, k) */,
                     const uint8_t *labels /* (n) */, const uint8_t *table /* (classes, k) */,
                     int n, int k) {
  double *auc = rt_malloc(sizeof(double) * (size_t)k);
  rt_roc_auc_columns(auc, probs, labels, table, n, k);
  for (int j = 0; j < k; j++) {
    RtBinaryStats *s = &stats[j];
    memset(s, 0, sizeof *s);
    for (int i = 0; i < n; i++) {
      int truth = is_positive(labels, table, i, j, k), predicted = probs[(size_t)i * k + j] > 0.5f;
      s->tp += truth && predicted;
      s->fp += !truth && predicted;
      s->fn += truth && !predicted;
      s->tn += !truth && !predicted;
    }
    s->precision = ratio_or_zero((double)s->tp, (double)(s->tp + s->fp));
    s->recall = ratio_or_zero((double)s->tp, (double)(s->tp + s->fn));
    s->f1 = ratio_or_zero(2.0 * s->precision * s->recall, s->precision + s->recall);
    s->auc = auc[j];
  }
  free(auc);
}

void rt_binary_print(FILE *f, const RtBinaryStats *stats, const char *const *names, int k) {
  fprintf(f, "%-*s %7s %7s %7s %7s  %9s %7s %7s %7s\n", NAME_WIDTH, "target (p > 0.5)", "TP",
          "FP", "FN", "TN", "precision", "recall", "f1", "auc");
  double macro[4] = {0, 0, 0, 0};
  for (int j = 0; j < k; j++) {
    const RtBinaryStats *s = &stats[j];
    fprintf(f, "%-*.*s %7ld %7ld %7ld %7ld  %9.4f %7.4f %7.4f %7.4f\n", NAME_WIDTH, NAME_WIDTH,
            names[j], s->tp, s->fp, s->fn, s->tn, s->precision, s->recall, s->f1, s->auc);
    macro[0] += s->precision / k;
    macro[1] += s->recall / k;
    macro[2] += s->f1 / k;
  }
  double *auc = rt_malloc(sizeof(double) * (size_t)k);
  for (int j = 0; j < k; j++)
    auc[j] = stats[j].auc;
  macro[3] = rt_mean_defined(auc, k);
  free(auc);
  fprintf(f, "%-*s %7s %7s %7s %7s  %9.4f %7.4f %7.4f %7.4f\n", NAME_WIDTH, "macro avg", "", "",
          "", "", macro[0], macro[1], macro[2], macro[3]);
}

void rt_confusion_print(FILE *f, const RtConfusion *cm, const char *const *class_names) {
  print_matrix(f, cm, class_names);
  print_stats_table(f, cm, class_names);
  print_most_confused(f, cm, class_names);
}

/* ---- metrics.json ---- */

/* A JSON number; NaN and infinities (a diverged run) become null. */
static void json_number(FILE *f, double x) {
  if (isfinite(x))
    fprintf(f, "%.10g", x);
  else
    fputs("null", f);
}

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p == '\n')
      fputs("\\n", f);
    else if (*p == '\t')
      fputs("\\t", f);
    else if (*p < 0x20)
      fprintf(f, "\\u%04x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

static void json_class_name(FILE *f, const char *const *names, int c) {
  char fallback[32];
  if (names && names[c]) {
    json_string(f, names[c]);
    return;
  }
  snprintf(fallback, sizeof fallback, "class %d", c);
  json_string(f, fallback);
}

/* {"precision": .., "recall": .., "f1": .., "support": ..} with an optional name. */
/* "precision": P, "recall": R, "f1": F */
static void json_prf(FILE *f, double precision, double recall, double f1) {
  fputs("\"precision\": ", f);
  json_number(f, precision);
  fputs(", \"recall\": ", f);
  json_number(f, recall);
  fputs(", \"f1\": ", f);
  json_number(f, f1);
}

static void json_stats(FILE *f, const RtClassStats *s, const char *const *names, int c) {
  fputc('{', f);
  if (c >= 0) {
    fputs("\"name\": ", f);
    json_class_name(f, names, c);
    fputs(", ", f);
  }
  json_prf(f, s->precision, s->recall, s->f1);
  fprintf(f, ", \"support\": %ld}", s->support);
}

static void json_confusion_rows(FILE *f, const RtConfusion *cm) {
  fputs("  \"confusion_matrix\": [\n", f);
  for (int t = 0; t < cm->n_classes; t++) {
    fputs("    [", f);
    for (int p = 0; p < cm->n_classes; p++)
      fprintf(f, "%s%ld", p ? ", " : "", cell(cm, t, p));
    fprintf(f, "]%s\n", t + 1 < cm->n_classes ? "," : "");
  }
  fputs("  ],\n  \"confusion_matrix_normalized\": [\n", f); /* rows sum to 1 */
  for (int t = 0; t < cm->n_classes; t++) {
    long row = 0;
    for (int p = 0; p < cm->n_classes; p++)
      row += cell(cm, t, p);
    fputs("    [", f);
    for (int p = 0; p < cm->n_classes; p++) {
      fputs(p ? ", " : "", f);
      json_number(f, ratio_or_zero((double)cell(cm, t, p), (double)row));
    }
    fprintf(f, "]%s\n", t + 1 < cm->n_classes ? "," : "");
  }
  fputs("  ],\n", f);
}

static void json_most_confused(FILE *f, const RtConfusion *cm, const char *const *names) {
  RtConfusedPair pairs[10];
  int n = rt_confusion_most_confused(pairs, 10, cm);
  fputs("  \"most_confused\": [", f);
  for (int i = 0; i < n; i++) {
    fputs(i ? ",\n    {\"true\": " : "\n    {\"true\": ", f);
    json_class_name(f, names, pairs[i].truth);
    fputs(", \"predicted\": ", f);
    json_class_name(f, names, pairs[i].predicted);
    fprintf(f, ", \"count\": %ld}", pairs[i].count);
  }
  fputs(n ? "\n  ],\n" : "],\n", f);
}

static void json_per_class(FILE *f, const RtConfusion *cm, const char *const *names) {
  int n = cm->n_classes;
  RtClassStats *stats = rt_malloc(sizeof(RtClassStats) * (size_t)n);
  RtClassStats macro, weighted;
  rt_confusion_stats(stats, cm);
  average_stats(&macro, &weighted, stats, n);
  fputs("  \"per_class\": [\n", f);
  for (int c = 0; c < n; c++) {
    fputs("    ", f);
    json_stats(f, &stats[c], names, c);
    fprintf(f, "%s\n", c + 1 < n ? "," : "");
  }
  fputs("  ],\n  \"macro_avg\": ", f);
  json_stats(f, &macro, names, -1);
  fputs(",\n  \"weighted_avg\": ", f);
  json_stats(f, &weighted, names, -1);
  fputs("\n", f);
  free(stats);
}

static void json_auc(FILE *f, const double *auc, int n) {
  fputs(",\n  \"auc\": {\"macro\": ", f);
  json_number(f, rt_mean_defined(auc, n));
  fputs(", \"per_class\": [", f);
  for (int c = 0; c < n; c++) {
    fputs(c ? ", " : "", f);
    json_number(f, auc[c]);
  }
  fputs("]}", f);
}

static void write_metrics(FILE *f, const RtConfusion *cm, const char *const *names,
                          double test_loss, double test_accuracy, int best_epoch,
                          const double *auc) {
  fputs("{\n  \"test_loss\": ", f);
  json_number(f, test_loss);
  fputs(",\n  \"test_accuracy\": ", f);
  json_number(f, test_accuracy);
  if (auc)
    json_auc(f, auc, cm->n_classes);
  fprintf(f, ",\n  \"best_epoch\": %d,\n  \"class_names\": [", best_epoch);
  for (int c = 0; c < cm->n_classes; c++) {
    fputs(c ? ", " : "", f);
    json_class_name(f, names, c);
  }
  fputs("],\n", f);
  json_confusion_rows(f, cm);
  json_most_confused(f, cm, names);
  json_per_class(f, cm, names);
  fputs("}\n", f);
}

static void finish_temp_file(FILE *f, const char *tmp) {
  int failed = ferror(f) || fflush(f) != 0 || fsync(fileno(f)) != 0;
  int saved = errno;
  if (fclose(f) != 0 && !failed) {
    failed = 1;
    saved = errno;
  }
  if (failed) {
    unlink(tmp);
    rt_die("%s: write failed: %s", tmp, strerror(saved ? saved : EIO));
  }
}

/* Opens PATH.tmp (its name left in tmp) for an atomic write. */
static FILE *open_temp(const char *path, char *tmp, size_t size) {
  if ((size_t)snprintf(tmp, size, "%s.tmp", path) >= size)
    rt_die("%s: path too long", path);
  FILE *f = fopen(tmp, "w");
  if (!f)
    rt_die("%s: cannot create: %s", tmp, strerror(errno));
  errno = 0;
  return f;
}

/* Flushes, syncs and closes f, then renames tmp over path. */
static void commit_temp(FILE *f, const char *tmp, const char *path) {
  finish_temp_file(f, tmp);
  if (rename(tmp, path) != 0) {
    int saved = errno;
    unlink(tmp);
    rt_die("%s: cannot rename %s over it: %s", path, tmp, strerror(saved));
  }
}

void rt_metrics_write_json(const char *path, const RtConfusion *cm,
                           const char *const *class_names, double test_loss,
                           double test_accuracy, int best_epoch, const double *auc) {
  char tmp[4096];
  FILE *f = open_temp(path, tmp, sizeof tmp);
  write_metrics(f, cm, class_names, test_loss, test_accuracy, best_epoch, auc);
  commit_temp(f, tmp, path);
}

static void json_binary_target(FILE *f, const RtBinaryStats *s, const char *name) {
  fputs("{\"name\": ", f);
  json_string(f, name);
  fprintf(f, ", \"tp\": %ld, \"fp\": %ld, \"fn\": %ld, \"tn\": %ld, ", s->tp, s->fp, s->fn,
          s->tn);
  json_prf(f, s->precision, s->recall, s->f1);
  fputs(", \"auc\": ", f);
  json_number(f, s->auc);
  fputs("}", f);
}

void rt_binary_write_json(const char *path, const RtBinaryStats *stats,
                          const char *const *names, int k, double test_loss,
                          double test_accuracy, int best_epoch) {
  char tmp[4096];
  FILE *f = open_temp(path, tmp, sizeof tmp);
  fputs("{\n  \"test_loss\": ", f);
  json_number(f, test_loss);
  fputs(",\n  \"test_binary_accuracy\": ", f);
  json_number(f, test_accuracy);
  fprintf(f, ",\n  \"best_epoch\": %d,\n  \"targets\": [\n", best_epoch);
  for (int j = 0; j < k; j++) {
    fputs("    ", f);
    json_binary_target(f, &stats[j], names[j]);
    fputs(j + 1 < k ? ",\n" : "\n", f);
  }
  fputs("  ]\n}\n", f);
  commit_temp(f, tmp, path);
}
