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
#include <jansson.h>
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

/* The document is built as a jansson tree (which escapes strings and formats
 * numbers, %.10g) and laid out by layout_document: one top-level key per
 * line, and one line per row of a table (an array of arrays or objects). */
#define JSON_FLAGS (JSON_REAL_PRECISION(10) | JSON_ENCODE_ANY)

/* Takes a reference from jansson's constructors, which return NULL only when
 * out of memory (or for text that is not UTF-8, handled by json_text). */
static json_t *json_checked(json_t *value) {
  if (!value)
    rt_die("metrics.json: out of memory");
  return value;
}

/* A JSON number; NaN and infinities (a diverged run) become null. */
static json_t *json_number(double x) {
  return isfinite(x) ? json_checked(json_real(x)) : json_null();
}

/* A string; bytes that are not UTF-8 become '?' rather than losing the file. */
static json_t *json_text(const char *s) {
  json_t *v = json_string(s);
  if (v)
    return v;
  char *copy = rt_malloc(strlen(s) + 1);
  size_t i = 0;
  for (; s[i]; i++)
    copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
  copy[i] = '\0';
  v = json_checked(json_string(copy));
  free(copy);
  return v;
}

static void json_put(json_t *object, const char *key, json_t *value) {
  if (json_object_set_new(object, key, json_checked(value)) != 0)
    rt_die("metrics.json: cannot set \"%s\"", key);
}

static void json_push(json_t *array, json_t *value) {
  if (json_array_append_new(array, json_checked(value)) != 0)
    rt_die("metrics.json: out of memory");
}

static json_t *json_class_name(const char *const *names, int c) {
  char fallback[32];
  if (names && names[c])
    return json_text(names[c]);
  snprintf(fallback, sizeof fallback, "class %d", c);
  return json_text(fallback);
}

/* "precision": P, "recall": R, "f1": F into object */
static void json_put_prf(json_t *object, double precision, double recall, double f1) {
  json_put(object, "precision", json_number(precision));
  json_put(object, "recall", json_number(recall));
  json_put(object, "f1", json_number(f1));
}

/* {"name": .., "precision": .., "recall": .., "f1": .., "support": ..}; no name when c < 0. */
static json_t *json_stats(const RtClassStats *s, const char *const *names, int c) {
  json_t *o = json_checked(json_object());
  if (c >= 0)
    json_put(o, "name", json_class_name(names, c));
  json_put_prf(o, s->precision, s->recall, s->f1);
  json_put(o, "support", json_integer(s->support));
  return o;
}

/* counts (n, n) as rows, or each row divided by its sum (rows sum to 1). */
static json_t *json_confusion_rows(const RtConfusion *cm, int normalized) {
  json_t *rows = json_checked(json_array());
  for (int t = 0; t < cm->n_classes; t++) {
    long sum = 0;
    for (int p = 0; p < cm->n_classes; p++)
      sum += cell(cm, t, p);
    json_t *row = json_checked(json_array());
    for (int p = 0; p < cm->n_classes; p++)
      json_push(row, normalized ? json_number(ratio_or_zero((double)cell(cm, t, p), (double)sum))
                                : json_integer(cell(cm, t, p)));
    json_push(rows, row);
  }
  return rows;
}

static json_t *json_most_confused(const RtConfusion *cm, const char *const *names) {
  RtConfusedPair pairs[10];
  int n = rt_confusion_most_confused(pairs, 10, cm);
  json_t *list = json_checked(json_array());
  for (int i = 0; i < n; i++) {
    json_t *o = json_checked(json_object());
    json_put(o, "true", json_class_name(names, pairs[i].truth));
    json_put(o, "predicted", json_class_name(names, pairs[i].predicted));
    json_put(o, "count", json_integer(pairs[i].count));
    json_push(list, o);
  }
  return list;
}

static void json_put_per_class(json_t *doc, const RtConfusion *cm, const char *const *names) {
  int n = cm->n_classes;
  RtClassStats *stats = rt_malloc(sizeof(RtClassStats) * (size_t)n);
  RtClassStats macro, weighted;
  rt_confusion_stats(stats, cm);
  average_stats(&macro, &weighted, stats, n);
  json_t *list = json_checked(json_array());
  for (int c = 0; c < n; c++)
    json_push(list, json_stats(&stats[c], names, c));
  json_put(doc, "per_class", list);
  json_put(doc, "macro_avg", json_stats(&macro, names, -1));
  json_put(doc, "weighted_avg", json_stats(&weighted, names, -1));
  free(stats);
}

static json_t *json_auc(const double *auc, int n) {
  json_t *o = json_checked(json_object()), *per_class = json_checked(json_array());
  json_put(o, "macro", json_number(rt_mean_defined(auc, n)));
  for (int c = 0; c < n; c++)
    json_push(per_class, json_number(auc[c]));
  json_put(o, "per_class", per_class);
  return o;
}

static json_t *metrics_document(const RtConfusion *cm, const char *const *names,
                                double test_loss, double test_accuracy, int best_epoch,
                                const double *auc) {
  json_t *doc = json_checked(json_object()), *class_names = json_checked(json_array());
  json_put(doc, "test_loss", json_number(test_loss));
  json_put(doc, "test_accuracy", json_number(test_accuracy));
  if (auc)
    json_put(doc, "auc", json_auc(auc, cm->n_classes));
  json_put(doc, "best_epoch", json_integer(best_epoch));
  for (int c = 0; c < cm->n_classes; c++)
    json_push(class_names, json_class_name(names, c));
  json_put(doc, "class_names", class_names);
  json_put(doc, "confusion_matrix", json_confusion_rows(cm, 0));
  json_put(doc, "confusion_matrix_normalized", json_confusion_rows(cm, 1));
  json_put(doc, "most_confused", json_most_confused(cm, names));
  json_put_per_class(doc, cm, names);
  return doc;
}

static void dump_compact(FILE *f, const json_t *value) {
  if (json_dumpf(value, f, JSON_FLAGS) != 0)
    rt_die("metrics.json: cannot format a value");
}

/* A table: an array whose first element is an array or an object. */
static int is_table(const json_t *v) {
  return json_is_array(v) && json_array_size(v) > 0 &&
         (json_is_array(json_array_get(v, 0)) || json_is_object(json_array_get(v, 0)));
}

static void layout_document(FILE *f, const json_t *doc) {
  const char *key;
  json_t *value;
  int first = 1;
  fputs("{", f);
  json_object_foreach((json_t *)doc, key, value) {
    json_t *name = json_text(key);
    fputs(first ? "\n  " : ",\n  ", f);
    dump_compact(f, name);
    json_decref(name);
    fputs(": ", f);
    first = 0;
    if (!is_table(value)) {
      dump_compact(f, value);
      continue;
    }
    for (size_t i = 0; i < json_array_size(value); i++) {
      fputs(i ? ",\n    " : "[\n    ", f);
      dump_compact(f, json_array_get(value, i));
    }
    fputs("\n  ]", f);
  }
  fputs("\n}\n", f);
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
  json_t *doc = metrics_document(cm, class_names, test_loss, test_accuracy, best_epoch, auc);
  FILE *f = open_temp(path, tmp, sizeof tmp);
  layout_document(f, doc);
  commit_temp(f, tmp, path);
  json_decref(doc);
}

static json_t *json_binary_target(const RtBinaryStats *s, const char *name) {
  json_t *o = json_checked(json_object());
  json_put(o, "name", json_text(name));
  json_put(o, "tp", json_integer(s->tp));
  json_put(o, "fp", json_integer(s->fp));
  json_put(o, "fn", json_integer(s->fn));
  json_put(o, "tn", json_integer(s->tn));
  json_put_prf(o, s->precision, s->recall, s->f1);
  json_put(o, "auc", json_number(s->auc));
  return o;
}

void rt_binary_write_json(const char *path, const RtBinaryStats *stats,
                          const char *const *names, int k, double test_loss,
                          double test_accuracy, int best_epoch) {
  char tmp[4096];
  json_t *doc = json_checked(json_object()), *targets = json_checked(json_array());
  json_put(doc, "test_loss", json_number(test_loss));
  json_put(doc, "test_binary_accuracy", json_number(test_accuracy));
  json_put(doc, "best_epoch", json_integer(best_epoch));
  for (int j = 0; j < k; j++)
    json_push(targets, json_binary_target(&stats[j], names[j]));
  json_put(doc, "targets", targets);
  FILE *f = open_temp(path, tmp, sizeof tmp);
  layout_document(f, doc);
  commit_temp(f, tmp, path);
  json_decref(doc);
}

/* ---- reading metrics.json back (nnc compare, the report) ---- */

static double read_number(const json_t *object, const char *key) {
  const json_t *v = json_object_get(object, key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static char *copy_string(const json_t *v) {
  const char *s = json_is_string(v) ? json_string_value(v) : "";
  char *copy = rt_malloc(strlen(s) + 1);
  memcpy(copy, s, strlen(s) + 1);
  return copy;
}

static void read_stats(RtClassStats *s, const json_t *o) {
  s->precision = read_number(o, "precision");
  s->recall = read_number(o, "recall");
  s->f1 = read_number(o, "f1");
  s->support = (long)json_integer_value(json_object_get(o, "support"));
}

/* The n x n counts; 0 (and nothing read) unless every row has n integers. */
static int read_confusion(RtMetricsFile *m, const json_t *rows) {
  int n = m->n_classes;
  if (!json_is_array(rows) || (int)json_array_size(rows) != n)
    return 0;
  m->confusion = rt_calloc((size_t)n * (size_t)n, sizeof(long));
  for (int t = 0; t < n; t++) {
    const json_t *row = json_array_get(rows, (size_t)t);
    if (!json_is_array(row) || (int)json_array_size(row) != n)
      return 0;
    for (int p = 0; p < n; p++)
      m->confusion[(size_t)t * n + p] = (long)json_integer_value(json_array_get(row, (size_t)p));
  }
  return 1;
}

static void read_classes(RtMetricsFile *m, const json_t *doc) {
  const json_t *names = json_object_get(doc, "class_names");
  m->n_classes = json_is_array(names) ? (int)json_array_size(names) : 0;
  if (m->n_classes == 0)
    return;
  m->class_names = rt_calloc((size_t)m->n_classes, sizeof(char *));
  for (int c = 0; c < m->n_classes; c++)
    m->class_names[c] = copy_string(json_array_get(names, (size_t)c));
  if (!read_confusion(m, json_object_get(doc, "confusion_matrix"))) {
    free(m->confusion);
    m->confusion = NULL;
  }
  const json_t *per_class = json_object_get(doc, "per_class");
  if (json_is_array(per_class) && (int)json_array_size(per_class) == m->n_classes) {
    m->per_class = rt_calloc((size_t)m->n_classes, sizeof(RtClassStats));
    for (int c = 0; c < m->n_classes; c++)
      read_stats(&m->per_class[c], json_array_get(per_class, (size_t)c));
  }
  read_stats(&m->macro_avg, json_object_get(doc, "macro_avg"));
  read_stats(&m->weighted_avg, json_object_get(doc, "weighted_avg"));
}

static void read_targets(RtMetricsFile *m, const json_t *targets) {
  m->n_targets = json_is_array(targets) ? (int)json_array_size(targets) : 0;
  if (m->n_targets == 0)
    return;
  m->targets = rt_calloc((size_t)m->n_targets, sizeof(RtBinaryStats));
  m->target_names = rt_calloc((size_t)m->n_targets, sizeof(char *));
  for (int j = 0; j < m->n_targets; j++) {
    const json_t *o = json_array_get(targets, (size_t)j);
    RtBinaryStats *s = &m->targets[j];
    m->target_names[j] = copy_string(json_object_get(o, "name"));
    s->tp = (long)json_integer_value(json_object_get(o, "tp"));
    s->fp = (long)json_integer_value(json_object_get(o, "fp"));
    s->fn = (long)json_integer_value(json_object_get(o, "fn"));
    s->tn = (long)json_integer_value(json_object_get(o, "tn"));
    s->precision = read_number(o, "precision");
    s->recall = read_number(o, "recall");
    s->f1 = read_number(o, "f1");
    s->auc = read_number(o, "auc");
  }
}

int rt_metrics_read_json(RtMetricsFile *m, const char *path, char *err, size_t err_size) {
  json_error_t error;
  memset(m, 0, sizeof *m);
  m->test_loss = m->test_accuracy = m->auc_macro = NAN;
  json_t *doc = json_load_file(path, 0, &error);
  if (!doc) {
    snprintf(err, err_size, "%s:%d:%d: %s", path, error.line, error.column, error.text);
    return -1;
  }
  if (!json_is_object(doc)) {
    snprintf(err, err_size, "%s: not a JSON object", path);
    json_decref(doc);
    return -1;
  }
  m->test_loss = read_number(doc, "test_loss");
  m->binary = json_object_get(doc, "test_binary_accuracy") != NULL;
  m->test_accuracy = read_number(doc, m->binary ? "test_binary_accuracy" : "test_accuracy");
  m->best_epoch = (int)json_integer_value(json_object_get(doc, "best_epoch"));
  m->auc_macro = read_number(json_object_get(doc, "auc"), "macro");
  read_classes(m, doc);
  read_targets(m, json_object_get(doc, "targets"));
  json_decref(doc);
  return 0;
}

static void free_strings(char **strings, int n) {
  for (int i = 0; strings && i < n; i++)
    free(strings[i]);
  free(strings);
}

void rt_metrics_file_free(RtMetricsFile *m) {
  free_strings(m->class_names, m->n_classes);
  free_strings(m->target_names, m->n_targets);
  free(m->confusion);
  free(m->per_class);
  free(m->targets);
  memset(m, 0, sizeof *m);
}
