/*
 * compare.c — `nnc compare A.nn B.nn [C.nn ...] [--runs DIR ...] [--out DIR]`:
 * architectures side by side. For each file: its layers (name, Keras class,
 * output shape, parameters; from the model built to shape, as `nnc summary`
 * shows them), the parameter count, the FLOPs of one forward pass per
 * example (a multiply-add counts 2: dense and conv2d MACs, depthwise
 * windows), the planned training memory (memplan's training_memory), and,
 * where a run directory exists (runs/MODEL by default, or the --runs DIR
 * given in the files' order), the run's best validation metrics, test
 * metrics, epochs run and seconds per epoch (history.csv, metrics.json).
 * Then the layer diff of every file against the first (added, removed,
 * changed), one plot of every run's curves overlaid (compare_curves.png)
 * and compare.html beside it, in --out DIR (default: the current directory).
 */
#include "nnc.h"
#include "nnc_runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MODELS 8

/* ---- what one .nn file is ---- */

static const IrNode *layer_output(const Graph *g, const char *layer) {
  const IrNode *out = NULL;
  for (int i = 0; i < g->n_nodes; i++)
    if (!g->nodes[i]->backward && g->nodes[i]->layer && !strcmp(g->nodes[i]->layer, layer))
      out = g->nodes[i];
  return out;
}

void compare_layers(const Graph *g, CompareLayer *layers, int *n) {
  *n = 0;
  for (int l = 0; l < g->n_layers && *n < COMPARE_MAX_LAYERS; l++) {
    CompareLayer *c = &layers[(*n)++];
    const IrNode *out = layer_output(g, g->layer_names[l]);
    c->name = g->layer_names[l];
    c->kind = g->layer_classes[l];
    c->shape = out ? ir_shape_str(g->arena, out) : "?";
    c->params = 0;
    for (int i = 0; i < g->n_nodes; i++)
      if (g->nodes[i]->op == IR_PARAM && !strcmp(g->nodes[i]->layer, c->name))
        c->params += ir_elems(g->nodes[i]);
  }
}

/* A multiply-add is 2 FLOPs; per example, forward only, before lowering. */
double compare_flops(const Graph *g) {
  double flops = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->backward || n->dead || n->n_in < 2)
      continue;
    const IrNode *w = n->in[1];
    if (n->op == IR_MATMUL)
      flops += 2.0 * (double)ir_elems(n) * w->dims[0];
    else if (n->op == IR_CONV2D)
      flops += 2.0 * (double)ir_elems(n) * w->dims[0] * w->dims[1] * w->dims[2];
    else if (n->op == IR_DEPTHWISE)
      flops += 2.0 * (double)ir_elems(n) * w->dims[0] * w->dims[1];
  }
  return flops;
}

/* The changes from layers a to layers b, matched by layer name: each line
 * "+ name (Kind) shape params", "- ...", or "~ name: what changed". Returns
 * how many lines were written to out. */
int compare_diff(FILE *out, const CompareLayer *a, int na, const CompareLayer *b, int nb) {
  int lines = 0;
  for (int i = 0; i < na; i++) {
    int j = 0;
    while (j < nb && strcmp(a[i].name, b[j].name))
      j++;
    if (j == nb) {
      fprintf(out, "  - %s (%s) %s, %zu params\n", a[i].name, a[i].kind, a[i].shape, a[i].params);
      lines++;
    } else if (strcmp(a[i].kind, b[j].kind) || strcmp(a[i].shape, b[j].shape) ||
               a[i].params != b[j].params) {
      fprintf(out, "  ~ %s: %s %s %zu params -> %s %s %zu params\n", a[i].name, a[i].kind,
              a[i].shape, a[i].params, b[j].kind, b[j].shape, b[j].params);
      lines++;
    }
  }
  for (int j = 0; j < nb; j++) {
    int i = 0;
    while (i < na && strcmp(a[i].name, b[j].name))
      i++;
    if (i == na) {
      fprintf(out, "  + %s (%s) %s, %zu params\n", b[j].name, b[j].kind, b[j].shape, b[j].params);
      lines++;
    }
  }
  return lines;
}

typedef struct {
  const char *path, *name, *run_dir;
  char label[64]; /* the file's name without .nn: two files may hold one model name */
  Compilation shaped; /* kept: the layers point into its arena */
  CompareLayer layers[COMPARE_MAX_LAYERS];
  int n_layers;
  size_t params;
  double flops;
  TrainingMemory memory;
  int has_memory;
  /* the run, when its directory has a history.csv */
  int has_run, has_metrics;
  RtHistory history;
  RtMetricsFile metrics;
  double best_val_accuracy, best_val_loss, seconds_per_epoch;
} Entry;

static bool describe(Entry *e, const DriverOptions *base) {
  DriverOptions opt = *base;
  opt.input_path = e->path;
  opt.summary_only = false;
  if (!compile_source(&e->shaped, &opt, PASS_SHAPE))
    return false;
  const Graph *g = e->shaped.graph;
  e->name = g->model_name;
  const char *slash = strrchr(e->path, '/');
  snprintf(e->label, sizeof e->label, "%s", slash ? slash + 1 : e->path);
  char *dot = strrchr(e->label, '.');
  if (dot && dot != e->label)
    *dot = '\0';
  compare_layers(g, e->layers, &e->n_layers);
  for (int i = 0; i < e->n_layers; i++)
    e->params += e->layers[i].params;
  e->flops = compare_flops(g);
  Compilation planned;
  if (compile_source(&planned, &opt, PASS_MEMPLAN)) {
    e->memory = training_memory(planned.graph, &planned.prog);
    e->has_memory = 1;
  }
  compilation_free(&planned);
  return true;
}

/* The column's best value: max for accuracies, min for losses; NAN if absent. */
static double best_of(const RtHistory *h, const char *column, int max) {
  double best = NAN;
  for (int c = 0; c < h->n_columns; c++)
    for (int r = 0; !strcmp(h->columns[c], column) && r < h->n_rows; r++) {
      double v = h->values[(size_t)r * h->n_columns + c];
      if (!isnan(v) && (isnan(best) || (max ? v > best : v < best)))
        best = v;
    }
  return best;
}

static void read_run(Entry *e, const char *dir) {
  char path[4096], err[4352];
  char *owned = NULL;
  if (!dir) {
    size_t n = strlen(e->name) + 6;
    owned = malloc(n);
    snprintf(owned, n, "runs/%s", e->name);
    dir = owned;
  }
  e->run_dir = strdup(dir);
  free(owned);
  rt_path_join(path, sizeof path, e->run_dir, "history.csv");
  if (rt_history_read(&e->history, path, err, sizeof err) != 0)
    return;
  e->has_run = 1;
  e->best_val_accuracy = best_of(&e->history, "val_accuracy", 1);
  e->best_val_loss = best_of(&e->history, "val_loss", 0);
  double seconds = best_of(&e->history, "seconds", 0); /* presence only */
  e->seconds_per_epoch = NAN;
  if (!isnan(seconds)) {
    double sum = 0;
    for (int c = 0; c < e->history.n_columns; c++)
      for (int r = 0; !strcmp(e->history.columns[c], "seconds") && r < e->history.n_rows; r++)
        sum += e->history.values[(size_t)r * e->history.n_columns + c];
    e->seconds_per_epoch = sum / e->history.n_rows;
  }
  rt_path_join(path, sizeof path, e->run_dir, "metrics.json");
  e->has_metrics = rt_metrics_read_json(&e->metrics, path, err, sizeof err) == 0;
}

/* ---- the table ---- */

typedef void (*CellFn)(char *buf, size_t size, const Entry *e);

static void cell_layers(char *b, size_t n, const Entry *e) { snprintf(b, n, "%d", e->n_layers); }
static void cell_params(char *b, size_t n, const Entry *e) { snprintf(b, n, "%zu", e->params); }
static void cell_flops(char *b, size_t n, const Entry *e) {
  snprintf(b, n, "%.3g M", e->flops / 1e6);
}
static void cell_memory(char *b, size_t n, const Entry *e) {
  if (e->has_memory)
    snprintf(b, n, "%.2f MB", (double)e->memory.total / (1024.0 * 1024.0));
  else
    snprintf(b, n, "-");
}
static void number_or_dash(char *b, size_t n, int has, double v, const char *fmt) {
  if (has && !isnan(v))
    snprintf(b, n, fmt, v);
  else
    snprintf(b, n, "-");
}
static void cell_val_acc(char *b, size_t n, const Entry *e) {
  number_or_dash(b, n, e->has_run, e->best_val_accuracy, "%.4f");
}
static void cell_val_loss(char *b, size_t n, const Entry *e) {
  number_or_dash(b, n, e->has_run, e->best_val_loss, "%.4f");
}
static void cell_test_acc(char *b, size_t n, const Entry *e) {
  number_or_dash(b, n, e->has_metrics, e->metrics.test_accuracy, "%.4f");
}
static void cell_test_loss(char *b, size_t n, const Entry *e) {
  number_or_dash(b, n, e->has_metrics, e->metrics.test_loss, "%.4f");
}
static void cell_epochs(char *b, size_t n, const Entry *e) {
  number_or_dash(b, n, e->has_run, e->has_run ? e->history.n_rows : NAN, "%.0f");
}
static void cell_seconds(char *b, size_t n, const Entry *e) {
  number_or_dash(b, n, e->has_run, e->seconds_per_epoch, "%.2f");
}

static const struct {
  const char *label;
  CellFn cell;
} ROWS[] = {
    {"layers", cell_layers},
    {"parameters", cell_params},
    {"FLOPs / example", cell_flops},
    {"training memory", cell_memory},
    {"best val_accuracy", cell_val_acc},
    {"best val_loss", cell_val_loss},
    {"test accuracy", cell_test_acc},
    {"test loss", cell_test_loss},
    {"epochs run", cell_epochs},
    {"seconds / epoch", cell_seconds},
};
#define N_ROWS (int)(sizeof ROWS / sizeof ROWS[0])

static void print_table(FILE *out, const Entry *e, int n) {
  char buf[64];
  fprintf(out, "%-20s", "");
  for (int i = 0; i < n; i++)
    fprintf(out, " %18.18s", e[i].label);
  fprintf(out, "\n");
  for (int r = 0; r < N_ROWS; r++) {
    fprintf(out, "%-20s", ROWS[r].label);
    for (int i = 0; i < n; i++) {
      ROWS[r].cell(buf, sizeof buf, &e[i]);
      fprintf(out, " %18s", buf);
    }
    fprintf(out, "\n");
  }
}

static void html_escaped(FILE *f, const char *s) {
  for (; *s; s++)
    if (*s == '<')
      fputs("&lt;", f);
    else if (*s == '>')
      fputs("&gt;", f);
    else if (*s == '&')
      fputs("&amp;", f);
    else
      fputc(*s, f);
}

static int write_html(const char *path, const Entry *e, int n, int has_plot) {
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  char buf[64];
  fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>nnc compare</title>\n"
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
             "th:first-child,td:first-child{text-align:left}pre{background:#f6f6f6;"
             "padding:1em}</style></head><body>\n<h1>nnc compare</h1>\n<table><tr><th></th>");
  for (int i = 0; i < n; i++) {
    fprintf(f, "<th>");
    html_escaped(f, e[i].label);
    fprintf(f, "<br><small>");
    html_escaped(f, e[i].path);
    fprintf(f, "</small></th>");
  }
  fprintf(f, "</tr>\n");
  for (int r = 0; r < N_ROWS; r++) {
    fprintf(f, "<tr><td>%s</td>", ROWS[r].label);
    for (int i = 0; i < n; i++) {
      ROWS[r].cell(buf, sizeof buf, &e[i]);
      fprintf(f, "<td>%s</td>", buf);
    }
    fprintf(f, "</tr>\n");
  }
  fprintf(f, "</table>\n");
  for (int i = 1; i < n; i++) {
    fprintf(f, "<h2>Layers: ");
    html_escaped(f, e[0].label);
    fprintf(f, " &rarr; ");
    html_escaped(f, e[i].label);
    fprintf(f, "</h2>\n<pre>");
    char *text = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&text, &size);
    if (m && !compare_diff(m, e[0].layers, e[0].n_layers, e[i].layers, e[i].n_layers))
      fprintf(m, "  (the same layers)\n");
    if (m)
      fclose(m);
    html_escaped(f, text ? text : "");
    free(text);
    fprintf(f, "</pre>\n");
  }
  if (has_plot)
    fprintf(f, "<h2>Training curves</h2>\n<img src=\"compare_curves.png\" "
               "alt=\"training curves of every run\" style=\"max-width:100%%\">\n");
  fprintf(f, "</body></html>\n");
  return fclose(f) == 0 ? 0 : -1;
}

/* ---- the command ---- */

static int draw_curves(const char *out_dir, const Entry *e, int n) {
  const RtHistory *runs[MAX_MODELS];
  const char *labels[MAX_MODELS];
  int k = 0;
  for (int i = 0; i < n; i++)
    if (e[i].has_run)
      runs[k] = &e[i].history, labels[k++] = e[i].label;
  if (k == 0)
    return 0;
  char base[4096];
  rt_path_join(base, sizeof base, out_dir, "compare_curves");
  return rt_plot_histories(base, runs, labels, k, "nnc compare") == 0;
}

int driver_compare(const DriverOptions *opt, const char *const *paths, int n,
                   const char *const *run_dirs, int n_run_dirs, const char *out_dir) {
  if (n < 2 || n > MAX_MODELS) {
    fprintf(stderr, "nnc: error: compare takes 2 to %d .nn files, got %d\n", MAX_MODELS, n);
    return 2;
  }
  Entry *e = calloc((size_t)n, sizeof *e);
  int ok = 1, described = 0;
  for (int i = 0; i < n && ok; i++, described++) {
    e[i].path = paths[i];
    ok = describe(&e[i], opt);
    if (ok)
      read_run(&e[i], i < n_run_dirs ? run_dirs[i] : NULL);
  }
  if (ok) {
    print_table(stdout, e, n);
    for (int i = 1; i < n; i++) {
      printf("\nlayers, %s -> %s:\n", e[0].label, e[i].label);
      if (!compare_diff(stdout, e[0].layers, e[0].n_layers, e[i].layers, e[i].n_layers))
        printf("  (the same layers)\n");
    }
    out_dir = out_dir ? out_dir : ".";
    rt_mkdir_p(out_dir);
    int plot = draw_curves(out_dir, e, n);
    char html[4096];
    rt_path_join(html, sizeof html, out_dir, "compare.html");
    if (write_html(html, e, n, plot) == 0)
      printf("\nwrote %s%s\n", html, plot ? " and compare_curves.png beside it" : "");
    else
      fprintf(stderr, "nnc: warning: cannot write %s\n", html);
  }
  for (int i = 0; i < described; i++) {
    if (e[i].has_run)
      rt_history_free(&e[i].history);
    if (e[i].has_metrics)
      rt_metrics_file_free(&e[i].metrics);
    free((char *)e[i].run_dir);
    compilation_free(&e[i].shaped);
  }
  free(e);
  return ok ? 0 : 1;
}
