/*
 * rt_plot.c — the run's plots: training curves, confusion matrices, per-class
 * bars, ROC curves, confidence histogram, and image grids (misclassified test
 * images, first-layer weights), as PNG (and SVG for the charts) files.
 *
 * The drawing is gnuplot's (Debian gnuplot-nox, chosen by measurement: see
 * docs/design.md): each plot starts one gnuplot process and writes it a
 * script through a pipe: the data as inline datablocks ($D << EOD), then the
 * plot commands once per output terminal (pngcairo, svg). Nothing here sets
 * a pixel. gnuplot is a program, not a library, so generated programs link
 * nothing extra; where it is missing (or NNC_GNUPLOT names another binary
 * that is), every plot is skipped with one warning and the run goes on.
 *
 * Plots are an extra at the end of a run: every failure is a warning on
 * stderr and a -1 return, never an exit. SIGPIPE is ignored while a pipe is
 * open, so a gnuplot that dies early cannot kill the training program.
 *
 * Strings reach gnuplot single-quoted (no escapes inside, '' is a quote) on
 * terminals set `noenhanced`, so class names and paths print as given.
 */
#define _XOPEN_SOURCE 700 /* popen, sigaction */
#include "nnc_runtime.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FONT "DejaVu Sans"
#define MAX_TILES 64

/* ---- gnuplot process ---- */

static const char *gnuplot_program(void) {
  const char *p = getenv("NNC_GNUPLOT");
  return p && *p ? p : "gnuplot";
}

/* The program's path as one shell word ('...' with each ' as '\''), then tail. */
static void shell_command(char *buf, size_t size, const char *tail) {
  size_t n = 0;
  buf[n++] = '\'';
  for (const char *p = gnuplot_program(); *p && n + 8 < size; p++) {
    if (*p == '\'') {
      memcpy(buf + n, "'\\''", 4);
      n += 4;
    } else {
      buf[n++] = *p;
    }
  }
  buf[n++] = '\'';
  snprintf(buf + n, size - n, "%s", tail);
}

int rt_plot_available(void) {
  static int known = -1;
  if (known >= 0)
    return known;
  char cmd[1200];
  shell_command(cmd, sizeof cmd, " -V >/dev/null 2>&1");
  int status = system(cmd);
  known = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!known)
    fprintf(stderr, "warning: plots skipped: cannot run '%s' (install gnuplot-nox)\n",
            gnuplot_program());
  return known;
}

typedef struct {
  FILE *g;
  char base[4096]; /* output path without .png / .svg */
  struct sigaction old_pipe;
} Plot;

/* 'text' for gnuplot: quotes doubled, control characters as spaces. */
static void put_quoted(FILE *g, const char *s) {
  fputc('\'', g);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '\'')
      fputs("''", g);
    else
      fputc(*p < 0x20 ? ' ' : *p, g);
  }
  fputc('\'', g);
}

static int plot_open(Plot *p, const char *base) {
  if (!rt_plot_available())
    return -1;
  if ((size_t)snprintf(p->base, sizeof p->base, "%s", base) >= sizeof p->base) {
    fprintf(stderr, "warning: plot %s: path too long\n", base);
    return -1;
  }
  struct sigaction ignore = {.sa_handler = SIG_IGN};
  sigaction(SIGPIPE, &ignore, &p->old_pipe);
  fflush(NULL); /* the child must not inherit our unflushed output */
  char cmd[1200];
  shell_command(cmd, sizeof cmd, "");
  p->g = popen(cmd, "w");
  if (!p->g) {
    sigaction(SIGPIPE, &p->old_pipe, NULL);
    fprintf(stderr, "warning: plot %s: cannot start gnuplot: %s\n", base, strerror(errno));
    return -1;
  }
  /* Tableau's ten colors, the ones users know from matplotlib */
  static const char *colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  for (int i = 0; i < 10; i++)
    fprintf(p->g, "set linetype %d lc rgb '%s' lw 2 pt 7 ps 0.6\n", i + 1, colors[i]);
  fputs("set linetype cycle 10\n", p->g);
  return 0;
}

typedef void (*DrawFn)(FILE *g, const void *ctx);

static void select_terminal(FILE *g, const char *base, const char *ext, int width, int height) {
  if (strcmp(ext, "png") == 0)
    fprintf(g, "set terminal pngcairo size %d,%d font '" FONT ",11' noenhanced\n", width, height);
  else
    fprintf(g, "set terminal svg size %d,%d font '" FONT ",11' noenhanced background '#ffffff'\n",
            width, height);
  char path[4200];
  snprintf(path, sizeof path, "%s.%s", base, ext);
  fputs("set output ", g);
  put_quoted(g, path);
  fputs("\n", g);
}

/* Draws once per terminal (PNG, and SVG when svg), then waits for gnuplot. */
static int plot_close(Plot *p, DrawFn draw, const void *ctx, int width, int height, int svg) {
  for (int pass = 0; pass < 1 + (svg != 0); pass++) {
    fputs("reset\n", p->g);
    select_terminal(p->g, p->base, pass == 0 ? "png" : "svg", width, height);
    draw(p->g, ctx);
    fputs("unset multiplot\nset output\n", p->g);
  }
  fputs("exit\n", p->g);
  int write_failed = ferror(p->g);
  int status = pclose(p->g);
  sigaction(SIGPIPE, &p->old_pipe, NULL);
  if (write_failed || status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "warning: plot %s.png: gnuplot failed\n", p->base);
    for (int pass = 0; pass < 2; pass++) { /* no half-drawn file for the report to show */
      char path[4200];
      snprintf(path, sizeof path, "%s.%s", p->base, pass == 0 ? "png" : "svg");
      unlink(path);
    }
    return -1;
  }
  return 0;
}

/* ---- history.csv ---- */

static char *next_field(char **cursor) {
  char *start = *cursor, *comma = strchr(start, ',');
  if (comma) {
    *comma = '\0';
    *cursor = comma + 1;
  } else {
    *cursor = start + strlen(start);
  }
  start[strcspn(start, "\r\n")] = '\0';
  return start;
}

static int read_header(RtHistory *h, char *line) {
  h->n_columns = 0;
  for (char *p = line; *p && h->n_columns < RT_HISTORY_MAX_COLUMNS;) {
    char *name = next_field(&p);
    snprintf(h->columns[h->n_columns++], sizeof h->columns[0], "%s", name);
  }
  return h->n_columns > 0 && strcmp(h->columns[0], "epoch") == 0 ? 0 : -1;
}

int rt_history_read(RtHistory *h, const char *path, char *err, size_t err_size) {
  memset(h, 0, sizeof *h);
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, err_size, "%s: %s", path, strerror(errno));
    return -1;
  }
  char line[8192];
  if (!fgets(line, sizeof line, f) || read_header(h, line) != 0) {
    snprintf(err, err_size, "%s:1: expected a header starting with 'epoch'", path);
    fclose(f);
    return -1;
  }
  int capacity = 0;
  while (fgets(line, sizeof line, f)) {
    if (h->n_rows == capacity) {
      capacity = capacity ? 2 * capacity : 64;
      double *grown = realloc(h->values, sizeof(double) * (size_t)capacity * h->n_columns);
      if (!grown)
        rt_die("%s: out of memory", path);
      h->values = grown;
    }
    char *p = line;
    for (int c = 0; c < h->n_columns; c++) {
      char *field = next_field(&p), *end;
      double v = strtod(field, &end);
      h->values[(size_t)h->n_rows * h->n_columns + c] = end == field ? NAN : v;
    }
    h->n_rows++;
  }
  fclose(f);
  return 0;
}

void rt_history_free(RtHistory *h) {
  free(h->values);
  memset(h, 0, sizeof *h);
}

int rt_history_column(const RtHistory *h, const char *name) {
  for (int c = 0; c < h->n_columns; c++)
    if (strcmp(h->columns[c], name) == 0)
      return c;
  return -1;
}

double rt_history_value(const RtHistory *h, int row, int column) {
  return h->values[(size_t)row * h->n_columns + column];
}

/* ---- training curves ---- */

typedef struct {
  const RtHistory *h;
  const RtCurveMarks *marks;
  int panels[RT_HISTORY_MAX_COLUMNS]; /* column of each panel's training series */
  int n_panels;
} Curves;

/* A panel per training series: every column but epoch, lr, seconds and val_*. */
static void find_panels(Curves *cv) {
  const RtHistory *h = cv->h;
  cv->n_panels = 0;
  for (int c = 1; c < h->n_columns; c++) {
    const char *name = h->columns[c];
    if (strcmp(name, "lr") && strcmp(name, "seconds") && strncmp(name, "val_", 4))
      cv->panels[cv->n_panels++] = c;
  }
}

/* Vertical lines at the best and stopping epochs and where the lr changed;
 * their legend entries come from NaN plots of the same style. */
static void mark_epochs(FILE *g, const Curves *cv) {
  const RtHistory *h = cv->h;
  int lr = rt_history_column(h, "lr");
  if (cv->marks->best_epoch > 0)
    fprintf(g, "set arrow from %d, graph 0 to %d, graph 1 nohead dt 2 lw 2 lc rgb '#2ca02c'\n",
            cv->marks->best_epoch, cv->marks->best_epoch);
  if (cv->marks->stopped_epoch > 0)
    fprintf(g, "set arrow from %d, graph 0 to %d, graph 1 nohead dt 3 lw 2 lc rgb '#d62728'\n",
            cv->marks->stopped_epoch, cv->marks->stopped_epoch);
  for (int r = 1; lr >= 0 && r < h->n_rows; r++)
    if (rt_history_value(h, r, lr) != rt_history_value(h, r - 1, lr)) {
      double x = rt_history_value(h, r, 0) - 0.5;
      fprintf(g, "set arrow from %g, graph 0 to %g, graph 1 nohead dt 4 lw 1 lc rgb '#7f7f7f'\n"
                 "set label 'lr %.3g' at %g, graph 0.03 left offset 0.4,0 font ',9'"
                 " tc rgb '#555555'\n",
              x, x, rt_history_value(h, r, lr), x);
    }
}

/* Legend where a curve is not: top right when the training series falls
 * (losses), bottom right when it rises (accuracy, AUC). */
static const char *key_corner(const RtHistory *h, int column) {
  double first = rt_history_value(h, 0, column), last = rt_history_value(h, h->n_rows - 1, column);
  return last > first ? "bottom right" : "top right";
}

static void mark_legend(FILE *g, const Curves *cv) {
  const RtHistory *h = cv->h;
  int lr = rt_history_column(h, "lr"), changes = 0;
  if (cv->marks->best_epoch > 0)
    fprintf(g, ", NaN w l dt 2 lw 2 lc rgb '#2ca02c' t 'best epoch %d (checkpoint)'",
            cv->marks->best_epoch);
  if (cv->marks->stopped_epoch > 0)
    fprintf(g, ", NaN w l dt 3 lw 2 lc rgb '#d62728' t 'early stop (epoch %d)'",
            cv->marks->stopped_epoch);
  for (int r = 1; lr >= 0 && r < h->n_rows; r++)
    changes += rt_history_value(h, r, lr) != rt_history_value(h, r - 1, lr);
  if (changes)
    fprintf(g, ", NaN w l dt 4 lw 1 lc rgb '#7f7f7f' t 'learning rate changed'");
}

static int curve_columns(int n_panels) {
  return n_panels > 1 ? 2 : 1;
}

static int curve_rows(int n_panels) {
  return (n_panels + curve_columns(n_panels) - 1) / curve_columns(n_panels);
}

/* A grid of panels over epochs first_epoch..last_epoch. */
static void start_epoch_panels(FILE *g, const char *title, int n_panels, double first_epoch,
                               double last_epoch) {
  fprintf(g, "set multiplot layout %d,%d title ", curve_rows(n_panels), curve_columns(n_panels));
  put_quoted(g, title);
  fputs(" font ',14'\nset grid lc rgb '#dddddd'\nset key opaque box lc rgb '#cccccc'\n"
        "set xlabel 'epoch'\n", g);
  if (last_epoch - first_epoch < 20)
    fputs("set xtics 1\n", g);
  fprintf(g, "set xrange [%g:%g]\n", first_epoch - 0.5, last_epoch + 0.5);
}

static void draw_curves(FILE *g, const void *ctx) {
  const Curves *cv = ctx;
  const RtHistory *h = cv->h;
  start_epoch_panels(g, cv->marks->title ? cv->marks->title : "Training curves", cv->n_panels,
                     rt_history_value(h, 0, 0), rt_history_value(h, h->n_rows - 1, 0));
  mark_epochs(g, cv);
  for (int i = 0; i < cv->n_panels; i++) {
    const char *name = h->columns[cv->panels[i]];
    char val[80];
    snprintf(val, sizeof val, "val_%s", name);
    int v = rt_history_column(h, val);
    fprintf(g, "set key %s\nset title ", key_corner(h, cv->panels[i]));
    put_quoted(g, name);
    fputs("\nset ylabel ", g);
    put_quoted(g, name);
    fprintf(g, "\nplot $H u 1:%d w lp t 'train'", cv->panels[i] + 1);
    if (v >= 0)
      fprintf(g, ", $H u 1:%d w lp t 'validation'", v + 1);
    if (i == 0)
      mark_legend(g, cv);
    fputs("\n", g);
  }
}

/* The history as datablock $<name>: one row per epoch, the CSV's columns. */
static void put_history_block(FILE *g, const char *name, const RtHistory *h) {
  fprintf(g, "$%s << EOD\n", name);
  for (int r = 0; r < h->n_rows; r++)
    for (int c = 0; c < h->n_columns; c++) {
      double x = rt_history_value(h, r, c);
      if (isfinite(x))
        fprintf(g, "%.9g%c", x, c + 1 < h->n_columns ? ' ' : '\n');
      else
        fprintf(g, "NaN%c", c + 1 < h->n_columns ? ' ' : '\n');
    }
  fputs("EOD\n", g);
}

int rt_plot_history(const char *base, const RtHistory *h, const RtCurveMarks *marks) {
  Curves cv = {.h = h, .marks = marks};
  find_panels(&cv);
  if (h->n_rows == 0 || cv.n_panels == 0) {
    fprintf(stderr, "warning: plot %s.png: no epochs to draw\n", base);
    return -1;
  }
  Plot p;
  if (plot_open(&p, base) != 0)
    return -1;
  put_history_block(p.g, "H", h);
  return plot_close(&p, draw_curves, &cv, curve_columns(cv.n_panels) == 1 ? 800 : 1200,
                    80 + 420 * curve_rows(cv.n_panels), 1);
}

/* ---- several runs overlaid (nnc compare) ---- */

typedef struct {
  const RtHistory *const *runs;
  const char *const *labels;
  int n_runs;
  const char *title;
  Curves panels; /* the first run's metrics */
  double first_epoch, last_epoch;
} Overlay;

static void draw_overlay(FILE *g, const void *ctx) {
  const Overlay *o = ctx;
  const Curves *cv = &o->panels;
  start_epoch_panels(g, o->title ? o->title : "Runs compared", cv->n_panels, o->first_epoch,
                     o->last_epoch);
  for (int i = 0; i < cv->n_panels; i++) {
    const char *name = cv->h->columns[cv->panels[i]];
    char val[80];
    snprintf(val, sizeof val, "val_%s", name);
    if (i == 0) /* one legend says which run is which */
      fprintf(g, "set key %s\n", key_corner(cv->h, cv->panels[i]));
    else
      fputs("unset key\n", g);
    fputs("set title ", g);
    put_quoted(g, name);
    fputs("\nset ylabel ", g);
    put_quoted(g, name);
    fputs("\nplot", g);
    const char *sep = " ";
    for (int r = 0; r < o->n_runs; r++) { /* validation solid, train dashed, a color per run */
      int t = rt_history_column(o->runs[r], name), v = rt_history_column(o->runs[r], val);
      char title[160];
      if (v >= 0) {
        snprintf(title, sizeof title, "%s (validation)", o->labels[r]);
        fprintf(g, "%s$H%d u 1:%d w lp lt %d t ", sep, r, v + 1, r % 10 + 1);
        put_quoted(g, title);
        sep = ", ";
      }
      if (t >= 0) {
        snprintf(title, sizeof title, "%s (train)", o->labels[r]);
        fprintf(g, "%s$H%d u 1:%d w l dt 2 lt %d t ", sep, r, t + 1, r % 10 + 1);
        put_quoted(g, title);
        sep = ", ";
      }
    }
    fputs("\n", g);
  }
}

int rt_plot_histories(const char *base, const RtHistory *const *runs, const char *const *labels,
                      int n_runs, const char *title) {
  if (n_runs <= 0 || runs[0]->n_rows == 0) {
    fprintf(stderr, "warning: plot %s.png: no runs to draw\n", base);
    return -1;
  }
  Overlay o = {runs, labels, n_runs, title, {.h = runs[0]}, INFINITY, -INFINITY};
  find_panels(&o.panels);
  for (int r = 0; r < n_runs; r++)
    for (int row = 0; row < runs[r]->n_rows; row++) {
      double e = rt_history_value(runs[r], row, 0);
      o.first_epoch = e < o.first_epoch ? e : o.first_epoch;
      o.last_epoch = e > o.last_epoch ? e : o.last_epoch;
    }
  Plot p;
  if (plot_open(&p, base) != 0)
    return -1;
  for (int r = 0; r < n_runs; r++) {
    char name[16];
    snprintf(name, sizeof name, "H%d", r);
    put_history_block(p.g, name, runs[r]);
  }
  return plot_close(&p, draw_overlay, &o, curve_columns(o.panels.n_panels) == 1 ? 800 : 1200,
                    80 + 420 * curve_rows(o.panels.n_panels), 1);
}

/* ---- class axes ---- */

/* set xtics / ytics ('name' 0, 'name' 1, ...) */
static void put_class_tics(FILE *g, const char *axis, const char *const *names, int n) {
  fprintf(g, "set %s (", axis);
  for (int c = 0; c < n; c++) {
    char fallback[32];
    snprintf(fallback, sizeof fallback, "class %d", c);
    put_quoted(g, names && names[c] ? names[c] : fallback);
    fprintf(g, " %d%s", c, c + 1 < n ? ", " : "");
  }
  fputs(")\n", g);
}

/* ---- confusion matrix ---- */

typedef struct {
  const char *const *names;
  int n, normalized;
  double accuracy, max; /* the largest cell, to pick each label's color */
} Heatmap;

static void draw_heatmap(FILE *g, const void *ctx) {
  const Heatmap *hm = ctx;
  int n = hm->n;
  if (hm->normalized)
    fprintf(g, "set title 'Confusion matrix, rows normalized (recall on the diagonal)'\n"
               "set cbrange [0:1]\nset cblabel 'share of the true class'\n");
  else
    fprintf(g, "set title 'Confusion matrix (test accuracy %.2f%%)'\nset cblabel 'examples'\n",
            100.0 * hm->accuracy);
  fputs("set palette defined (0 '#ffffff', 1 '#c6dbef', 2 '#4292c6', 3 '#08306b')\n", g);
  put_class_tics(g, "xtics", hm->names, n);
  put_class_tics(g, "ytics", hm->names, n);
  fprintf(g, "set xtics rotate by 40 right scale 0\nset ytics scale 0\n"
             "set xrange [-0.5:%g]\nset yrange [%g:-0.5]\nset size ratio 1\n"
             "set xlabel 'predicted class'\nset ylabel 'true class'\nunset key\n",
          n - 0.5, n - 0.5);
  const char *fmt = hm->normalized ? "%.2f" : "%.0f";
  int font = n <= 10 ? 10 : n <= 20 ? 8 : 0;
  fputs("plot $M matrix w image", g);
  if (font) /* a value per cell; white on the dark half */
    fprintf(g, ", $M matrix u 1:2:($3 > %g ? sprintf('%s', $3) : '') w labels"
               " tc rgb 'white' font ',%d', $M matrix u 1:2:($3 <= %g && $3 > 0"
               " ? sprintf('%s', $3) : '') w labels tc rgb 'black' font ',%d'",
            hm->max / 2, fmt, font, hm->max / 2, fmt, font);
  fputs("\n", g);
}

int rt_plot_confusion(const char *base, const long *counts /* (n, n) */,
                      const char *const *names, int n, int normalized) {
  Plot p;
  if (plot_open(&p, base) != 0)
    return -1;
  long correct = 0, total = 0;
  double max = 0;
  fputs("$M << EOD\n", p.g);
  for (int t = 0; t < n; t++) {
    long row = 0;
    for (int c = 0; c < n; c++)
      row += counts[(size_t)t * n + c];
    for (int c = 0; c < n; c++) {
      long v = counts[(size_t)t * n + c];
      double x = normalized ? (row ? (double)v / (double)row : 0.0) : (double)v;
      max = x > max ? x : max;
      fprintf(p.g, normalized ? "%.6f " : "%.0f ", x);
    }
    fputs("\n", p.g);
    correct += counts[(size_t)t * n + t];
    total += row;
  }
  fputs("EOD\n", p.g);
  Heatmap hm = {names, n, normalized, total ? (double)correct / (double)total : 0.0, max};
  return plot_close(&p, draw_heatmap, &hm, 860, 760, 1);
}

/* ---- per-class precision / recall / F1 ---- */

typedef struct {
  const char *const *names;
  int n;
} ClassBars;

static void draw_class_bars(FILE *g, const void *ctx) {
  const ClassBars *b = ctx;
  fputs("set title 'Per-class precision, recall and F1 (test)'\n"
        "set style data histograms\nset style histogram clustered gap 1\n"
        "set style fill solid 0.85 border -1\nset boxwidth 0.9\n"
        "set yrange [0:1.12]\nset ytics 0.1\nset grid ytics lc rgb '#dddddd'\n"
        "set key top center horizontal\nset ylabel 'score'\n", g);
  put_class_tics(g, "xtics", b->names, b->n);
  fputs("set xtics rotate by 30 right scale 0\n"
        "plot $S u 1 t 'precision', $S u 2 t 'recall', $S u 3 t 'F1'\n", g);
}

int rt_plot_class_bars(const char *base, const RtClassStats *stats /* (n) */,
                       const char *const *names, int n) {
  Plot p;
  if (plot_open(&p, base) != 0)
    return -1;
  fputs("$S << EOD\n", p.g);
  for (int c = 0; c < n; c++)
    fprintf(p.g, "%.6f %.6f %.6f\n", stats[c].precision, stats[c].recall, stats[c].f1);
  fputs("EOD\n", p.g);
  ClassBars b = {names, n};
  return plot_close(&p, draw_class_bars, &b, n > 12 ? 1200 : 900, 560, 1);
}

/* ---- ROC curves, one class against the rest ---- */

typedef struct {
  float score;
  int positive;
} RocPoint;

static int by_score_descending(const void *a, const void *b) {
  float x = ((const RocPoint *)a)->score, y = ((const RocPoint *)b)->score;
  if (isnan(x) || isnan(y))
    return isnan(x) - isnan(y);
  return (x < y) - (x > y);
}

/* The curve of one class as a datablock index: a point per distinct score,
 * thinned to steps of at least 1/500 of an axis (invisible at 800 pixels). */
static void put_roc_curve(FILE *g, RocPoint *v, int n) {
  qsort(v, (size_t)n, sizeof *v, by_score_descending);
  long pos = 0;
  for (int i = 0; i < n; i++)
    pos += v[i].positive;
  long neg = n - pos, tp = 0, fp = 0;
  double last_x = 0, last_y = 0;
  fputs("0 0\n", g);
  for (int i = 0; i < n;) {
    int j = i;
    for (; j < n && (j == i || v[j].score == v[i].score); j++)
      tp += v[j].positive, fp += !v[j].positive;
    i = j;
    double x = neg ? (double)fp / neg : 0, y = pos ? (double)tp / pos : 0;
    if (i == n || x - last_x >= 0.002 || y - last_y >= 0.002) {
      fprintf(g, "%.5f %.5f\n", x, y);
      last_x = x, last_y = y;
    }
  }
  fputs("\n\n", g);
}

typedef struct {
  const char *const *names;
  const double *auc;
  int k;
} Roc;

static void put_roc_lines(FILE *g, const Roc *r, int with_titles) {
  fputs("plot x w l dt 2 lw 1 lc rgb '#999999' t 'chance'", g);
  for (int j = 0; j < r->k; j++) {
    char title[160], fallback[32];
    snprintf(fallback, sizeof fallback, "class %d", j);
    snprintf(title, sizeof title, "%s (AUC %.4f)", r->names && r->names[j] ? r->names[j] : fallback,
             r->auc[j]);
    fprintf(g, ", $R index %d u 1:2 w l lt %d t ", j, j + 1);
    put_quoted(g, with_titles ? title : "");
  }
  fputs("\n", g);
}

/* The whole square, then its top-left corner, where good classifiers differ. */
static void draw_roc(FILE *g, const void *ctx) {
  const Roc *r = ctx;
  fprintf(g, "set multiplot layout 1,2 title 'ROC curves, one class against the rest"
             " (macro AUC %.4f%s)' font ',14'\n"
             "set xlabel 'false positive rate'\nset ylabel 'true positive rate'\n"
             "set size ratio 1\nset grid lc rgb '#dddddd'\n"
             "set key bottom right opaque box lc rgb '#cccccc' font ',10'\n"
             "set title 'all thresholds'\nset xrange [0:1]\nset yrange [0:1.001]\n",
          rt_mean_defined(r->auc, r->k), r->k > 12 ? "; per class in metrics.json" : "");
  put_roc_lines(g, r, r->k <= 12); /* a legend of more would cover the curves */
  fputs("set title 'top-left corner, enlarged'\nset xrange [0:0.2]\nset yrange [0.6:1.001]\n"
        "unset key\n", g);
  put_roc_lines(g, r, 0);
}

int rt_plot_roc(const char *base, const float *scores /* (n, k) */,
                const uint8_t *labels /* (n) */, const char *const *names, int n, int k) {
  if (n <= 0 || k <= 0)
    return -1;
  Plot p;
  if (plot_open(&p, base) != 0)
    return -1;
  double *auc = rt_malloc(sizeof(double) * (size_t)k);
  rt_roc_auc_columns(auc, scores, labels, NULL, n, k);
  RocPoint *v = rt_malloc(sizeof(RocPoint) * (size_t)n);
  fputs("$R << EOD\n", p.g);
  for (int j = 0; j < k; j++) {
    for (int i = 0; i < n; i++)
      v[i] = (RocPoint){scores[(size_t)i * k + j], labels[i] == j};
    put_roc_curve(p.g, v, n);
  }
  fputs("EOD\n", p.g);
  free(v);
  Roc r = {names, auc, k};
  int rc = plot_close(&p, draw_roc, &r, 1400, 760, 1);
  free(auc);
  return rc;
}

/* ---- confidence of right and wrong predictions ---- */

#define CONFIDENCE_BINS 20

static int argmax(const float *row, int k) {
  int best = 0;
  for (int j = 1; j < k; j++)
    if (row[j] > row[best])
      best = j;
  return best;
}

typedef struct {
  long right, wrong;
} Confidence;

static void draw_confidence(FILE *g, const void *ctx) {
  const Confidence *c = ctx;
  fprintf(g, "set title 'Confidence of the predicted class (test)'\n"
             "set xlabel 'confidence (highest predicted probability)'\n"
             "set ylabel 'share of the group'\nset xrange [0:1]\nset yrange [0:*]\n"
             "set style fill solid 0.75 border -1\nset boxwidth %g absolute\n"
             "set grid ytics lc rgb '#dddddd'\nset key top left opaque box lc rgb '#cccccc'\n"
             "plot $C u ($1 - %g):2 w boxes lt 3 t 'correct (%ld)', "
             "$C u ($1 + %g):3 w boxes lt 4 t 'wrong (%ld)'\n",
          0.45 / CONFIDENCE_BINS, 0.225 / CONFIDENCE_BINS, c->right, 0.225 / CONFIDENCE_BINS,
          c->wrong);
}

int rt_plot_confidence(const char *base, const float *probs /* (n, k) */,
                       const uint8_t *labels /* (n) */, int n, int k) {
  long right[CONFIDENCE_BINS] = {0}, wrong[CONFIDENCE_BINS] = {0};
  Confidence c = {0, 0};
  for (int i = 0; i < n; i++) {
    const float *row = probs + (size_t)i * k;
    int p = argmax(row, k), bin = (int)(row[p] * CONFIDENCE_BINS);
    bin = bin < 0 ? 0 : bin >= CONFIDENCE_BINS ? CONFIDENCE_BINS - 1 : bin;
    if (p == labels[i])
      right[bin]++, c.right++;
    else
      wrong[bin]++, c.wrong++;
  }
  Plot p;
  if (plot_open(&p, base) != 0)
    return -1;
  fputs("$C << EOD\n", p.g);
  for (int b = 0; b < CONFIDENCE_BINS; b++)
    fprintf(p.g, "%g %.6f %.6f\n", (b + 0.5) / CONFIDENCE_BINS,
            c.right ? (double)right[b] / c.right : 0.0, c.wrong ? (double)wrong[b] / c.wrong : 0.0);
  fputs("EOD\n", p.g);
  return plot_close(&p, draw_confidence, &c, 820, 520, 1);
}

/* ---- image grids ---- */

/* Tiles of h x w pixels: grey levels 0..255 (one channel), colors 0..255
 * (three), or signed values in -1..1 on a blue-white-red palette. */
typedef enum { TILE_GREY, TILE_RGB, TILE_SIGNED } TileKind;

typedef struct {
  const char *title;
  TileKind kind;
  int n, h, w, rows, cols;
  char (*captions)[96]; /* (n): "\n" splits a caption's two lines */
} TileGrid;

static void put_tile(FILE *g, int index, const float *v /* (h, w, 1 or 3) */, int h, int w,
                     TileKind kind) {
  fprintf(g, "$T%d << EOD\n", index);
  for (int y = 0; y < h; y++) {
    for (int x = 0; x < w; x++) {
      if (kind == TILE_RGB) {
        const float *px = v + ((size_t)y * w + x) * 3;
        fprintf(g, "%d %d %.0f %.0f %.0f\n", x, y, px[0], px[1], px[2]);
      } else {
        fprintf(g, "%.4g%c", v[(size_t)y * w + x], x + 1 < w ? ' ' : '\n');
      }
    }
  }
  fputs("EOD\n", g);
}

/* A caption's lines joined with gnuplot's "\n" (double quotes expand it). */
static void put_caption(FILE *g, const char *caption) {
  const char *nl = strchr(caption, '\n');
  if (!nl) {
    put_quoted(g, caption);
    return;
  }
  char first[96];
  snprintf(first, sizeof first, "%.*s", (int)(nl - caption), caption);
  put_quoted(g, first);
  fputs(" . \"\\n\" . ", g);
  put_quoted(g, nl + 1);
}

static void draw_tiles(FILE *g, const void *ctx) {
  const TileGrid *t = ctx;
  fprintf(g, "set multiplot layout %d,%d title ", t->rows, t->cols);
  put_quoted(g, t->title);
  fputs(" font ',14' margins 0.01,0.99,0.01,0.90 spacing 0.01,0.05\n"
        "unset key\nunset tics\nunset border\nunset colorbox\nset size ratio -1\n"
        "set title font ',9' offset 0,-0.6\n",
        g);
  if (t->kind == TILE_SIGNED)
    fputs("set palette defined (-1 '#2166ac', 0 '#f7f7f7', 1 '#b2182b')\nset cbrange [-1:1]\n", g);
  else
    fputs("set palette grey\nset cbrange [0:255]\n", g);
  fprintf(g, "set xrange [-0.5:%g]\nset yrange [%g:-0.5]\n", t->w - 0.5, t->h - 0.5);
  for (int i = 0; i < t->n; i++) {
    fputs("set title ", g);
    put_caption(g, t->captions[i]);
    if (t->kind == TILE_RGB)
      fprintf(g, "\nplot $T%d u 1:2:3:4:5 w rgbimage\n", i);
    else
      fprintf(g, "\nplot $T%d matrix w image\n", i);
  }
}

/* tiles (n, h, w, channels of the kind), already scaled to the kind's range. */
static int plot_tiles(const char *base, TileGrid *t, const float *tiles) {
  Plot p;
  if (plot_open(&p, base) != 0)
    return -1;
  int channels = t->kind == TILE_RGB ? 3 : 1;
  for (int i = 0; i < t->n; i++)
    put_tile(p.g, i, tiles + (size_t)i * t->h * t->w * channels, t->h, t->w, t->kind);
  if (t->n == 0) { /* a placeholder that says why the grid is empty */
    fputs("$T0 << EOD\n0\nEOD\n", p.g);
    t->n = 1, t->rows = t->cols = 1, t->kind = TILE_GREY;
    snprintf(t->captions[0], sizeof t->captions[0], "nothing to show");
  }
  int tile_px = t->h * 5 < 130 ? 130 : t->h * 5 > 200 ? 200 : t->h * 5;
  return plot_close(&p, draw_tiles, t, t->cols * tile_px + 20,
                    (int)(t->rows * (tile_px + 36) / 0.9), 0);
}

static void grid_shape(TileGrid *t, int n) {
  t->n = n;
  t->cols = (int)ceil(sqrt((double)n));
  t->cols = t->cols < 1 ? 1 : t->cols;
  t->rows = (n + t->cols - 1) / t->cols;
  t->rows = t->rows < 1 ? 1 : t->rows;
}

/* ---- misclassified test images ---- */

typedef struct {
  int index, predicted;
  float confidence;
} Mistake;

static int by_confidence_descending(const void *a, const void *b) {
  float x = ((const Mistake *)a)->confidence, y = ((const Mistake *)b)->confidence;
  int by_value = (x < y) - (x > y);
  return by_value ? by_value : ((const Mistake *)a)->index - ((const Mistake *)b)->index;
}

static const char *class_name(char *buf, size_t size, const char *const *names, int c) {
  if (names && names[c])
    return names[c];
  snprintf(buf, size, "class %d", c);
  return buf;
}

int rt_plot_misclassified(const char *base, const uint8_t *images /* (n, h, w, c) */, int h,
                          int w, int c, const float *probs /* (n, k) */,
                          const uint8_t *labels /* (n) */, const char *const *names, int n,
                          int k, int max_shown) {
  if (c != 1 && c != 3) {
    fprintf(stderr, "warning: plot %s.png: images with %d channels\n", base, c);
    return -1;
  }
  Mistake *wrong = rt_malloc(sizeof(Mistake) * (size_t)(n > 0 ? n : 1));
  int n_wrong = 0;
  for (int i = 0; i < n; i++) {
    int p = argmax(probs + (size_t)i * k, k);
    if (p != labels[i])
      wrong[n_wrong++] = (Mistake){i, p, probs[(size_t)i * k + p]};
  }
  qsort(wrong, (size_t)n_wrong, sizeof *wrong, by_confidence_descending);
  int shown = n_wrong < max_shown ? n_wrong : max_shown;
  shown = shown > MAX_TILES ? MAX_TILES : shown;
  size_t pixels = (size_t)h * w * c;
  float *tiles = rt_malloc(sizeof(float) * pixels * (size_t)(shown > 0 ? shown : 1));
  char(*captions)[96] = rt_calloc((size_t)(shown > 0 ? shown : 1), sizeof *captions);
  for (int s = 0; s < shown; s++) {
    const uint8_t *img = images + (size_t)wrong[s].index * pixels;
    for (size_t q = 0; q < pixels; q++)
      tiles[(size_t)s * pixels + q] = img[q];
    char a[32], b[32];
    snprintf(captions[s], sizeof captions[s], "true: %.28s\npred: %.28s %.0f%%",
             class_name(a, sizeof a, names, labels[wrong[s].index]),
             class_name(b, sizeof b, names, wrong[s].predicted), 100.0 * wrong[s].confidence);
  }
  char title[128];
  snprintf(title, sizeof title, "Misclassified test images, most confident first (%d of %d wrong)",
           shown, n_wrong);
  TileGrid t = {.title = title, .kind = c == 3 ? TILE_RGB : TILE_GREY, .h = h, .w = w,
                .captions = captions};
  grid_shape(&t, shown);
  int rc = plot_tiles(base, &t, tiles);
  free(tiles);
  free(captions);
  free(wrong);
  return rc;
}

/* ---- first-layer weights ---- */

/* Scales each of n tiles of `size` values: signed tiles to -1..1 by their
 * largest magnitude; color tiles to 0..255 by their own min and max. */
static void scale_tiles(float *tiles, int n, size_t size, TileKind kind) {
  for (int i = 0; i < n; i++) {
    float *v = tiles + (size_t)i * size, lo = v[0], hi = v[0];
    for (size_t q = 1; q < size; q++)
      lo = v[q] < lo ? v[q] : lo, hi = v[q] > hi ? v[q] : hi;
    float mag = fabsf(lo) > fabsf(hi) ? fabsf(lo) : fabsf(hi);
    for (size_t q = 0; q < size; q++)
      v[q] = kind == TILE_SIGNED ? (mag > 0 ? v[q] / mag : 0.0f)
                                 : (hi > lo ? 255.0f * (v[q] - lo) / (hi - lo) : 127.0f);
  }
}

int rt_plot_dense_weights(const char *base, const float *kernel /* (in, units) */, int in,
                          int units, int h, int w, int c) {
  if ((long)h * w * c != in || (c != 1 && c != 3)) {
    fprintf(stderr, "warning: plot %s.png: %d inputs are not a %dx%dx%d image\n", base, in, h, w,
            c);
    return -1;
  }
  int shown = units < MAX_TILES ? units : MAX_TILES;
  float *tiles = rt_malloc(sizeof(float) * (size_t)in * (size_t)shown);
  char(*captions)[96] = rt_calloc((size_t)shown, sizeof *captions);
  for (int u = 0; u < shown; u++) {
    for (int q = 0; q < in; q++) /* column u of the kernel, in the input's (h, w, c) order */
      tiles[(size_t)u * in + q] = kernel[(size_t)q * units + u];
    snprintf(captions[u], sizeof captions[u], "unit %d", u);
  }
  TileKind kind = c == 3 ? TILE_RGB : TILE_SIGNED;
  scale_tiles(tiles, shown, (size_t)in, kind);
  char title[160];
  snprintf(title, sizeof title, "First dense layer: each unit's weights as a %dx%d image%s", h, w,
           units > shown ? " (first 64 units)" : "");
  TileGrid t = {.title = title, .kind = kind, .h = h, .w = w, .captions = captions};
  grid_shape(&t, shown);
  int rc = plot_tiles(base, &t, tiles);
  free(tiles);
  free(captions);
  return rc;
}

int rt_plot_conv_filters(const char *base, const float *kernel /* (kh, kw, c, filters) */,
                         int kh, int kw, int c, int filters) {
  int shown = filters < MAX_TILES ? filters : MAX_TILES;
  TileKind kind = c == 3 ? TILE_RGB : TILE_SIGNED;
  int channels = kind == TILE_RGB ? 3 : 1;
  size_t size = (size_t)kh * kw * channels;
  float *tiles = rt_calloc(size * (size_t)shown, sizeof(float));
  char(*captions)[96] = rt_calloc((size_t)shown, sizeof *captions);
  for (int f = 0; f < shown; f++) {
    for (int y = 0; y < kh; y++)
      for (int x = 0; x < kw; x++)
        for (int ch = 0; ch < c; ch++) { /* signed tiles: the mean over input channels */
          float v = kernel[(((size_t)y * kw + x) * c + ch) * filters + f];
          float *out = &tiles[(size_t)f * size + ((size_t)y * kw + x) * channels];
          out[kind == TILE_RGB ? ch : 0] += kind == TILE_RGB ? v : v / c;
        }
    snprintf(captions[f], sizeof captions[f], "filter %d", f);
  }
  scale_tiles(tiles, shown, size, kind);
  char title[160];
  snprintf(title, sizeof title, "First convolution: %d filters of %dx%d%s", filters, kh, kw,
           c == 1 || c == 3 ? "" : " (mean over input channels)");
  TileGrid t = {.title = title, .kind = kind, .h = kh, .w = kw, .captions = captions};
  grid_shape(&t, shown);
  int rc = plot_tiles(base, &t, tiles);
  free(tiles);
  free(captions);
  return rc;
}
