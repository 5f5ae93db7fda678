/*
 * rt_html.c — everything a finished run leaves to look at: the plots
 * (rt_plot.c) and report.html, drawn from the run directory's history.csv
 * and metrics.json plus what only the program knows (test scores, images,
 * first-layer weights, the summary, the .nn source, hyper-parameters).
 *
 * report.html stands alone and works offline: inline CSS, no scripts, no
 * fonts or other fetches; the plots are PNG files beside it, referred to by
 * name, so the directory can be moved or zipped whole. Only plots that exist
 * on disk are shown. Like the plots, the report warns and returns -1 on
 * failure; it never ends the program.
 */
#define _XOPEN_SOURCE 700
#include "nnc_runtime.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The plots, in the order the report shows them. */
static const struct {
  const char *file, *caption;
  int half; /* shown two in a row */
} PLOTS[] = {
    {"training_curves", "Training curves: loss and metrics per epoch, train and validation", 0},
    {"confusion_matrix", "Confusion matrix (test), counts", 1},
    {"confusion_matrix_normalized", "Confusion matrix (test), each row normalized", 1},
    {"class_metrics", "Per-class precision, recall and F1 (test)", 1},
    {"confidence", "Confidence of correct and wrong predictions (test)", 1},
    {"roc_curves", "ROC curve per class, one against the rest (test)", 0},
    {"misclassified", "The test images the model got wrong, most confident mistakes first", 1},
    {"first_layer_weights", "The first layer's weights as images", 1},
};

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- drawing ---- */

static int count_drawn(int rc) {
  return rc == 0;
}

static void plot_path(char *buf, size_t size, const char *run_dir, const char *name) {
  rt_path_join(buf, size, run_dir, name);
}

/* The plots that need the test predictions (given in, not in any file). */
static int draw_prediction_plots(const char *dir, const RtReportInputs *in,
                                 const char *const *names) {
  char base[4096];
  int drawn = 0, k = in->n_classes;
  if (!in->test_probs || !in->test_labels || in->n_test <= 0 || k <= 1)
    return 0;
  plot_path(base, sizeof base, dir, "roc_curves");
  drawn += count_drawn(rt_plot_roc(base, in->test_probs, in->test_labels, names, in->n_test, k));
  plot_path(base, sizeof base, dir, "confidence");
  drawn += count_drawn(rt_plot_confidence(base, in->test_probs, in->test_labels, in->n_test, k));
  if (in->test_images) {
    plot_path(base, sizeof base, dir, "misclassified");
    drawn += count_drawn(rt_plot_misclassified(base, in->test_images, in->image_h, in->image_w,
                                               in->image_c, in->test_probs, in->test_labels,
                                               names, in->n_test, k, 36));
  }
  return drawn;
}

static int draw_weight_plot(const char *dir, const RtReportInputs *in) {
  char base[4096];
  const int *d = in->kernel_dims;
  plot_path(base, sizeof base, dir, "first_layer_weights");
  if (in->first_kernel && in->first_kind == RT_FIRST_DENSE)
    return count_drawn(rt_plot_dense_weights(base, in->first_kernel, d[0], d[1], in->image_h,
                                             in->image_w, in->image_c));
  if (in->first_kernel && in->first_kind == RT_FIRST_CONV)
    return count_drawn(rt_plot_conv_filters(base, in->first_kernel, d[0], d[1], d[2], d[3]));
  return 0;
}

static int draw_metrics_plots(const char *dir, const RtMetricsFile *m) {
  char base[4096];
  int drawn = 0;
  const char *const *names = (const char *const *)m->class_names;
  if (m->confusion) {
    plot_path(base, sizeof base, dir, "confusion_matrix");
    drawn += count_drawn(rt_plot_confusion(base, m->confusion, names, m->n_classes, 0));
    plot_path(base, sizeof base, dir, "confusion_matrix_normalized");
    drawn += count_drawn(rt_plot_confusion(base, m->confusion, names, m->n_classes, 1));
  }
  if (m->per_class) {
    plot_path(base, sizeof base, dir, "class_metrics");
    drawn += count_drawn(rt_plot_class_bars(base, m->per_class, names, m->n_classes));
  }
  if (m->targets) { /* labels binary: the same bars, one group per target */
    RtClassStats *stats = rt_calloc((size_t)m->n_targets, sizeof(RtClassStats));
    for (int j = 0; j < m->n_targets; j++)
      stats[j] = (RtClassStats){m->targets[j].precision, m->targets[j].recall, m->targets[j].f1,
                                m->targets[j].tp + m->targets[j].fn};
    plot_path(base, sizeof base, dir, "class_metrics");
    drawn += count_drawn(rt_plot_class_bars(base, stats, (const char *const *)m->target_names,
                                            m->n_targets));
    free(stats);
  }
  return drawn;
}

/* ---- report.html ---- */

static void put_escaped(FILE *f, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fputc(*s, f);
    }
  }
}

static const char *STYLE =
    "body{font-family:system-ui,sans-serif;max-width:1250px;margin:2em auto;padding:0 1em;"
    "color:#222;background:#fff}"
    "h1{margin-bottom:0.2em}h2{border-bottom:1px solid #ddd;padding-bottom:0.2em;margin-top:1.6em}"
    "table{border-collapse:collapse;margin:0.5em 0}"
    "td,th{border:1px solid #ddd;padding:0.25em 0.7em;text-align:right}"
    "th{background:#f4f4f4}td.k,th.k{text-align:left}"
    "pre{background:#f7f7f7;border:1px solid #e4e4e4;padding:0.8em;overflow:auto;font-size:0.85em}"
    "figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}"
    "figure.half{display:inline-block;width:49%;margin:1em 0.5% 1em 0;vertical-align:top}"
    "figcaption{color:#555;font-size:0.9em}"
    ".bar{display:inline-block;height:0.8em;background:#1f77b4;vertical-align:middle}"
    ".muted{color:#777}";

static void put_number_cell(FILE *f, double x) {
  if (isnan(x))
    fputs("<td class=\"muted\">–</td>", f);
  else
    fprintf(f, "<td>%.4f</td>", x);
}

/* The row of history.csv for an epoch, -1 when absent. */
static int history_row(const RtHistory *h, int epoch) {
  for (int r = 0; r < h->n_rows; r++)
    if ((int)rt_history_value(h, r, 0) == epoch)
      return r;
  return -1;
}

/* One column per history metric: the last epoch's values and the best one's. */
static void put_epoch_metrics(FILE *f, const RtHistory *h, int best_epoch) {
  int best = history_row(h, best_epoch), last = h->n_rows - 1;
  fputs("<table><tr><th class=\"k\">epoch</th>", f);
  for (int c = 1; c < h->n_columns; c++)
    if (strcmp(h->columns[c], "seconds")) {
      fputs("<th>", f);
      put_escaped(f, h->columns[c]);
      fputs("</th>", f);
    }
  fputs("</tr>\n", f);
  for (int pass = 0; pass < 2; pass++) {
    int r = pass == 0 ? last : best;
    if (r < 0 || (pass == 1 && best == last && best_epoch <= 0))
      continue;
    fprintf(f, "<tr><td class=\"k\">%s %d</td>", pass == 0 ? "final: epoch" : "best: epoch",
            (int)rt_history_value(h, r, 0));
    for (int c = 1; c < h->n_columns; c++)
      if (strcmp(h->columns[c], "seconds"))
        put_number_cell(f, rt_history_value(h, r, c));
    fputs("</tr>\n", f);
  }
  fputs("</table>\n", f);
}

static void put_test_metrics(FILE *f, const RtMetricsFile *m) {
  fprintf(f, "<table><tr><th class=\"k\">test</th><th>loss</th><th>%s</th>"
             "<th>macro precision</th><th>macro recall</th><th>macro F1</th><th>macro AUC</th>"
             "</tr>\n<tr><td class=\"k\">metrics.json</td>",
          m->binary ? "binary accuracy" : "accuracy");
  RtClassStats macro = m->per_class ? m->macro_avg : (RtClassStats){NAN, NAN, NAN, 0};
  double auc = m->auc_macro;
  if (m->targets) { /* labels binary: the plain means over targets, as rt_binary_print */
    macro = (RtClassStats){0, 0, 0, 0};
    double *aucs = rt_malloc(sizeof(double) * (size_t)m->n_targets);
    for (int j = 0; j < m->n_targets; j++) {
      macro.precision += m->targets[j].precision / m->n_targets;
      macro.recall += m->targets[j].recall / m->n_targets;
      macro.f1 += m->targets[j].f1 / m->n_targets;
      aucs[j] = m->targets[j].auc;
    }
    auc = rt_mean_defined(aucs, m->n_targets);
    free(aucs);
  }
  put_number_cell(f, m->test_loss);
  put_number_cell(f, m->test_accuracy);
  put_number_cell(f, macro.precision);
  put_number_cell(f, macro.recall);
  put_number_cell(f, macro.f1);
  put_number_cell(f, auc);
  fputs("</tr></table>\n", f);
}

static void put_timing(FILE *f, const RtHistory *h) {
  int s = rt_history_column(h, "seconds");
  if (s < 0 || h->n_rows == 0)
    return;
  double total = 0, longest = 0;
  for (int r = 0; r < h->n_rows; r++) {
    double t = rt_history_value(h, r, s);
    total += isnan(t) ? 0 : t;
    longest = t > longest ? t : longest;
  }
  fprintf(f, "<h2>Time per epoch</h2>\n<p>%d epochs, %.1f s in all, %.2f s per epoch on "
             "average.</p>\n<table><tr><th>epoch</th><th>seconds</th><th class=\"k\"></th></tr>\n",
          h->n_rows, total, total / h->n_rows);
  for (int r = 0; r < h->n_rows; r++) {
    double t = rt_history_value(h, r, s);
    fprintf(f, "<tr><td>%d</td><td>%.3f</td><td class=\"k\"><span class=\"bar\" "
               "style=\"width:%dpx\"></span></td></tr>\n",
            (int)rt_history_value(h, r, 0), t, longest > 0 ? (int)(300 * t / longest) : 0);
  }
  fputs("</table>\n", f);
}

static void put_hyper(FILE *f, const RtReportInputs *in) {
  if (in->n_hyper <= 0)
    return;
  fputs("<h2>Hyper-parameters</h2>\n<table>\n", f);
  for (int i = 0; i < in->n_hyper; i++) {
    fputs("<tr><th class=\"k\">", f);
    put_escaped(f, in->hyper[i].key);
    fputs("</th><td class=\"k\">", f);
    put_escaped(f, in->hyper[i].value);
    fputs("</td></tr>\n", f);
  }
  fputs("</table>\n", f);
}

static void put_plots(FILE *f, const char *dir) {
  fputs("<h2>Plots</h2>\n", f);
  for (size_t i = 0; i < sizeof PLOTS / sizeof *PLOTS; i++) {
    char path[4096], name[256];
    snprintf(name, sizeof name, "%s.png", PLOTS[i].file);
    rt_path_join(path, sizeof path, dir, name);
    if (!file_exists(path))
      continue;
    fprintf(f, "<figure id=\"%s\"%s><img src=\"%s\" alt=\"", PLOTS[i].file,
            PLOTS[i].half ? " class=\"half\"" : "", name);
    put_escaped(f, PLOTS[i].caption);
    fputs("\"><figcaption>", f);
    put_escaped(f, PLOTS[i].caption);
    fputs("</figcaption></figure>\n", f);
  }
}

/* The whole file in a malloc'd string, NULL when it cannot be read. */
static char *read_text_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t size = 0, capacity = 4096;
  char *text = rt_malloc(capacity);
  size_t got;
  while ((got = fread(text + size, 1, capacity - size - 1, f)) > 0) {
    size += got;
    if (capacity - size - 1 == 0) {
      char *grown = realloc(text, capacity *= 2);
      if (!grown)
        rt_die("%s: out of memory", path);
      text = grown;
    }
  }
  text[size] = '\0';
  fclose(f);
  return text;
}

static void put_pre_section(FILE *f, const char *title, const char *text) {
  if (!text)
    return;
  fprintf(f, "<h2>%s</h2>\n<pre>", title);
  put_escaped(f, text);
  fputs("</pre>\n", f);
}

static void write_report(FILE *f, const char *dir, const RtReportInputs *in,
                         const RtHistory *h, const RtMetricsFile *m, int best_epoch) {
  const char *name = in->model_name ? in->model_name : "nnc run";
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", f);
  put_escaped(f, name);
  fprintf(f, " — nnc report</title>\n<style>%s</style>\n</head><body>\n<h1>", STYLE);
  put_escaped(f, name);
  fputs("</h1>\n<p class=\"muted\">Run directory ", f);
  put_escaped(f, dir);
  fputs("</p>\n<h2>Results</h2>\n", f);
  if (h->n_rows > 0)
    put_epoch_metrics(f, h, best_epoch);
  if (m->n_classes > 0 || !isnan(m->test_accuracy))
    put_test_metrics(f, m);
  put_plots(f, dir);
  put_hyper(f, in);
  put_pre_section(f, "Model summary", in->summary_text);
  put_timing(f, h);
  char *source = in->source_text ? NULL : in->source_path ? read_text_file(in->source_path) : NULL;
  put_pre_section(f, "Model source (.nn)", in->source_text ? in->source_text : source);
  free(source);
  fputs("</body></html>\n", f);
}

static int save_report(const char *dir, const RtReportInputs *in, const RtHistory *h,
                       const RtMetricsFile *m, int best_epoch) {
  char path[4096], tmp[4200];
  rt_path_join(path, sizeof path, dir, "report.html");
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    fprintf(stderr, "warning: %s: cannot create: %s\n", tmp, strerror(errno));
    return -1;
  }
  write_report(f, dir, in, h, m, best_epoch);
  int failed = ferror(f);
  failed |= fclose(f) != 0;
  if (failed || rename(tmp, path) != 0) {
    fprintf(stderr, "warning: %s: write failed: %s\n", path, strerror(errno));
    unlink(tmp);
    return -1;
  }
  return 0;
}

int rt_report_run_dir(const char *run_dir, const RtReportInputs *in) {
  static const RtReportInputs none = {0};
  char path[4096], err[4352];
  RtHistory h;
  RtMetricsFile m;
  in = in ? in : &none;
  rt_path_join(path, sizeof path, run_dir, "history.csv");
  if (rt_history_read(&h, path, err, sizeof err) != 0) {
    if (file_exists(path))
      fprintf(stderr, "warning: %s\n", err);
    memset(&h, 0, sizeof h);
  }
  rt_path_join(path, sizeof path, run_dir, "metrics.json");
  if (rt_metrics_read_json(&m, path, err, sizeof err) != 0 && file_exists(path))
    fprintf(stderr, "warning: %s\n", err);
  int best = in->best_epoch > 0 ? in->best_epoch : m.best_epoch, drawn = 0;
  if (h.n_rows > 0) {
    RtCurveMarks marks = {in->model_name, best, in->stopped_epoch};
    rt_path_join(path, sizeof path, run_dir, "training_curves");
    drawn += count_drawn(rt_plot_history(path, &h, &marks));
  }
  drawn += draw_metrics_plots(run_dir, &m);
  const char *const *names = in->class_names ? in->class_names
                                             : (const char *const *)m.class_names;
  drawn += draw_prediction_plots(run_dir, in, names);
  drawn += draw_weight_plot(run_dir, in);
  int rc = save_report(run_dir, in, &h, &m, best);
  rt_history_free(&h);
  rt_metrics_file_free(&m);
  return rc == 0 ? drawn : -1;
}
