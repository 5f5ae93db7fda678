/*
 * rt_train.c — the training loop's bookkeeping: monitors (the decisions of
 * ModelCheckpoint(save_best_only) and EarlyStopping), history.csv, and the
 * command-line options every generated program accepts.
 *
 * Monitor rule (Keras 3 EarlyStopping._is_improvement): with d = |min_delta|,
 * a value improves on the best when value < best - d (mode min) or
 * value > best + d (mode max). Every epoch without improvement adds one to
 * wait; an improvement sets it back to 0. A NaN never improves.
 *
 * Options are parsed by hand (no getopt state, argv is not permuted):
 * "--name VALUE" and "--name=VALUE" are both accepted. Command-line errors
 * print a message and exit 2, the usual code for usage errors.
 */
#include "nnc_runtime.h"

#include <stdbool.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- monitors ---- */

void rt_monitor_init(RtMonitor *mon, const char *name, RtMode mode, double min_delta) {
  mon->name = name;
  mon->mode = mode;
  mon->min_delta = fabs(min_delta);
  mon->best = mode == RT_MODE_MIN ? INFINITY : -INFINITY;
  mon->best_epoch = 0;
  mon->wait = 0;
}

static int is_improvement(const RtMonitor *mon, double value) {
  if (mon->mode == RT_MODE_MIN)
    return value < mon->best - mon->min_delta;
  return value > mon->best + mon->min_delta;
}

int rt_monitor_update(RtMonitor *mon, double value, int epoch) {
  if (!is_improvement(mon, value)) {
    mon->wait++;
    return 0;
  }
  mon->best = value;
  mon->best_epoch = epoch;
  mon->wait = 0;
  return 1;
}

/* ---- ReduceLROnPlateau ---- */

void rt_plateau_init(RtPlateau *p, const char *name, RtMode mode, double min_delta, double factor,
                     int patience, int cooldown, double min_lr) {
  rt_monitor_init(&p->monitor, name, mode, min_delta);
  p->factor = factor;
  p->patience = patience;
  p->cooldown = cooldown;
  p->cooldown_left = 0;
  p->min_lr = min_lr;
}

/* Keras's on_epoch_end: during cooldown the wait stays 0; after `patience`
 * epochs without improvement the rate is multiplied by factor (not below
 * min_lr) and the cooldown starts. */
double rt_plateau_update(RtPlateau *p, double value, int epoch, double lr) {
  if (p->cooldown_left > 0) {
    p->cooldown_left--;
    p->monitor.wait = 0;
  }
  bool cooling = p->cooldown_left > 0; /* Keras asks again after counting down */
  if (rt_monitor_update(&p->monitor, value, epoch))
    return lr;
  if (cooling) {
    p->monitor.wait = 0;
    return lr;
  }
  if (p->monitor.wait < p->patience || lr <= p->min_lr)
    return lr;
  double reduced = lr * p->factor;
  p->cooldown_left = p->cooldown;
  p->monitor.wait = 0;
  return reduced > p->min_lr ? reduced : p->min_lr;
}

/* ---- history.csv and csv_logger ---- */

static void csv_log_check(RtCsvLog *log) {
  char why[256];
  if (ferror(log->f) || fflush(log->f) != 0)
    rt_die("%s: write failed: %s", log->path, rt_write_error_text(errno, why, sizeof why));
}

/* Keras's CSVLogger writes the header unless it appends to a non-empty file. */
static int needs_header(const char *path, int append) {
  if (!append)
    return 1;
  FILE *f = fopen(path, "r");
  if (!f)
    return 1;
  int empty = fgetc(f) == EOF;
  fclose(f);
  return empty;
}

void rt_csv_log_open(RtCsvLog *log, const char *path, char separator, int append,
                     const char *const *columns, int n_columns) {
  snprintf(log->path, sizeof log->path, "%s", path);
  log->separator = separator;
  log->columns = columns;
  log->n_columns = n_columns;
  rt_ignore_file_size_signal(); /* a write past ulimit -f is then reported, not fatal */
  int header = needs_header(path, append);
  log->f = fopen(path, append ? "a" : "w");
  if (!log->f)
    rt_die("%s: cannot %s: %s", path, append ? "open for appending" : "create", strerror(errno));
  for (int i = 0; header && i < n_columns; i++)
    fprintf(log->f, "%s%s", i ? (char[]){separator, 0} : "", columns[i]);
  if (header)
    fputc('\n', log->f);
  csv_log_check(log);
}

void rt_csv_log_row(RtCsvLog *log, const double *values) {
  errno = 0;
  for (int i = 0; i < log->n_columns; i++) {
    if (i)
      fputc(log->separator, log->f);
    if (i == 0) /* the epoch */
      fprintf(log->f, "%d", (int)values[i]);
    else if (!strcmp(log->columns[i], "lr")) /* the rate's own digits */
      fprintf(log->f, "%.9g", values[i]);
    else
      fprintf(log->f, "%.6f", values[i]);
  }
  fputc('\n', log->f);
  csv_log_check(log);
}

void rt_csv_log_close(RtCsvLog *log) {
  char why[256];
  if (fclose(log->f) != 0)
    rt_die("%s: write failed: %s", log->path, rt_write_error_text(errno, why, sizeof why));
  log->f = NULL;
}

/* ---- command-line options ---- */

/* The program's name as typed, without its directory. */
static const char *program_name(int argc, char **argv) {
  if (argc < 1 || !argv[0] || !*argv[0])
    return "train";
  const char *slash = strrchr(argv[0], '/');
  return slash ? slash + 1 : argv[0];
}

static void print_usage(FILE *f, const char *prog, const char *model, const RtOptions *def) {
  fprintf(f,
          "usage: %s [options]\n"
          "Trains and evaluates the model '%s' (generated by nnc).\n"
          "\n"
          "options:\n"
          "  --epochs N        number of training epochs (default %d)\n"
          "  --seed S          random seed for initialization, shuffling, dropout (default %llu)\n"
          "  --out DIR         directory for checkpoints, history.csv, metrics.json (default %s)\n"
          "  --data DIR        directory holding the IDX dataset files (default %s)\n"
          "  --limit-train N   use only the first N training examples (default %d, 0 = all)\n"
          "  --limit-test N    use only the first N test examples (default %d, 0 = all)\n"
          "  --gradcheck       compare analytic gradients with finite differences, then exit\n"
          "  --evaluate        no training: load the checkpoint (--ckpt PATH, default\n"
          "                    OUT/best.ckpt) and write the test report and metrics.json\n"
          "  --predict [--ckpt PATH] [--top K] [--csv FILE] INPUT...\n"
          "                    classify PNG/JPEG files, IDX files or 'test' (no training)\n"
          "  --resume          continue the interrupted run of --out from its last.ckpt\n"
          "  --stream on|off|auto  image folders: stream the training images from disk\n"
          "                    (on), decode them into memory (off), or stream when they\n"
          "                    would take over 1 GiB or 1/4 of the RAM (auto); default:\n"
          "                    directory(stream=...), else auto\n"
          "  --loader-threads N, --loader-depth N  streaming: decoding threads (default 2)\n"
          "                    and batches decoded ahead of the training step (default 4)\n"
          "  --bucket-kb N     under mpirun: allreduce the gradients in buckets of N KiB\n"
          "                    (default 1024), each as soon as backward has filled it\n"
          "  --no-overlap      under mpirun: the same buckets, all after the backward pass\n"
          "  --quiet           print only the final results\n"
          "  --verbose N       0 silent, 1 a progress bar on a terminal (else as 2), 2 one line\n"
          "                    per epoch (default 1)\n"
          "  --help            show this help and exit\n"
          "\n"
          "environment: OMP_NUM_THREADS (threads, now %d), OMP_WAIT_POLICY and\n"
          "GOMP_SPINCOUNT (idle threads spin %s times, then sleep: unless set, 300000\n"
          "on a machine idle at start, 1000 on a busy one), OPENBLAS_CORETYPE\n"
          "(OpenBLAS kernels, now %s)\n",
          prog, model, def->epochs, (unsigned long long)def->seed,
          def->out_dir ? def->out_dir : "(none)", def->data_dir ? def->data_dir : "(none)",
          def->limit_train, def->limit_test, rt_threads(), rt_idle_spin(), rt_blas_core());
}

/* A command-line error: message, a pointer to --help, exit 2. */
static _Noreturn void usage_error(const char *prog, const char *what, const char *arg) {
  fprintf(stderr, "%s: error: %s '%s'\n", prog, what, arg);
  fprintf(stderr, "try '%s --help' for the list of options\n", prog);
  exit(2);
}

/* A whole number in [min, INT_MAX]. */
static int parse_int(const char *prog, const char *option, const char *text, int min) {
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno || end == text || *end || value < min || value > INT_MAX) {
    fprintf(stderr, "%s: error: %s needs a whole number >= %d, got '%s'\n", prog, option, min,
            text);
    exit(2);
  }
  return (int)value;
}

static uint64_t parse_u64(const char *prog, const char *option, const char *text) {
  char *end;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (errno || end == text || *end || text[0] == '-' || text[0] == '+') {
    fprintf(stderr, "%s: error: %s needs a non-negative whole number, got '%s'\n", prog, option,
            text);
    exit(2);
  }
  return (uint64_t)value;
}

/* --stream on|off|auto: RtOptions.stream's 1, -1, 2 */
static int parse_stream(const char *prog, const char *text) {
  static const char *const names[] = {"on", "off", "auto"};
  static const int values[] = {1, -1, 2};
  for (int i = 0; i < 3; i++)
    if (strcmp(text, names[i]) == 0)
      return values[i];
  fprintf(stderr, "%s: error: --stream needs on, off or auto, got '%s'\n", prog, text);
  exit(2);
}

/* --verbose: 0, 1 or 2 */
static int parse_verbose(const char *prog, const char *text) {
  int v = parse_int(prog, "--verbose", text, 0);
  if (v > 2) {
    fprintf(stderr, "%s: error: --verbose needs 0, 1 or 2, got '%s'\n", prog, text);
    exit(2);
  }
  return v;
}

/* The option's value: after '=' in the same word, else the next word. */
static const char *option_value(const char *prog, int argc, char **argv, int *i, const char *eq) {
  if (eq)
    return eq + 1;
  if (*i + 1 >= argc)
    usage_error(prog, "missing value for option", argv[*i]);
  return argv[++*i];
}

/* Does argv word `arg` name option `name` (alone or as "name=value")? */
static int is_option(const char *arg, const char *name, const char **eq) {
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0 || (arg[n] != '\0' && arg[n] != '='))
    return 0;
  *eq = arg[n] == '=' ? arg + n : NULL;
  return 1;
}

/* Options without a value: --gradcheck, --resume, --quiet, --help. Returns 1 if handled. */
static int parse_flag(RtOptions *opt, const char *arg, const char *prog, const char *model,
                      const RtOptions *def) {
  if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
    print_usage(stdout, prog, model, def);
    exit(0);
  }
  if (strcmp(arg, "--gradcheck") == 0)
    opt->gradcheck = 1;
  else if (strcmp(arg, "--resume") == 0)
    opt->resume = 1;
  else if (strcmp(arg, "--quiet") == 0)
    opt->quiet = 1;
  else if (strcmp(arg, "--evaluate") == 0)
    opt->evaluate = 1;
  else if (strcmp(arg, "--no-overlap") == 0)
    opt->no_overlap = 1;
  else
    return 0;
  return 1;
}

/* Options with a value. Returns 1 if handled. */
static int parse_valued(RtOptions *opt, int argc, char **argv, int *i, const char *prog) {
  const char *arg = argv[*i], *eq;
  if (is_option(arg, "--epochs", &eq))
    opt->epochs = parse_int(prog, "--epochs", option_value(prog, argc, argv, i, eq), 1);
  else if (is_option(arg, "--seed", &eq))
    opt->seed = parse_u64(prog, "--seed", option_value(prog, argc, argv, i, eq));
  else if (is_option(arg, "--out", &eq))
    opt->out_dir = option_value(prog, argc, argv, i, eq);
  else if (is_option(arg, "--data", &eq))
    opt->data_dir = option_value(prog, argc, argv, i, eq);
  else if (is_option(arg, "--limit-train", &eq))
    opt->limit_train = parse_int(prog, "--limit-train", option_value(prog, argc, argv, i, eq), 0);
  else if (is_option(arg, "--ckpt", &eq))
    opt->ckpt = option_value(prog, argc, argv, i, eq);
  else if (is_option(arg, "--limit-test", &eq))
    opt->limit_test = parse_int(prog, "--limit-test", option_value(prog, argc, argv, i, eq), 0);
  else if (is_option(arg, "--stream", &eq))
    opt->stream = parse_stream(prog, option_value(prog, argc, argv, i, eq));
  else if (is_option(arg, "--loader-threads", &eq))
    opt->loader_threads =
        parse_int(prog, "--loader-threads", option_value(prog, argc, argv, i, eq), 1);
  else if (is_option(arg, "--loader-depth", &eq))
    opt->loader_depth = parse_int(prog, "--loader-depth", option_value(prog, argc, argv, i, eq), 1);
  else if (is_option(arg, "--bucket-kb", &eq))
    opt->bucket_kb = parse_int(prog, "--bucket-kb", option_value(prog, argc, argv, i, eq), 1);
  else if (is_option(arg, "--verbose", &eq)) {
    opt->verbose = parse_verbose(prog, option_value(prog, argc, argv, i, eq));
    opt->verbose_given = 1;
  } else
    return 0;
  return 1;
}

void rt_options_parse(RtOptions *opt, int argc, char **argv, const char *model_name) {
  const char *prog = program_name(argc, argv);
  RtOptions defaults = *opt;
  for (int i = 1; i < argc; i++) {
    if (parse_flag(opt, argv[i], prog, model_name, &defaults))
      continue;
    if (parse_valued(opt, argc, argv, &i, prog))
      continue;
    fprintf(stderr, "%s: error: %s '%s'\n", prog,
            argv[i][0] == '-' ? "unknown option" : "unexpected argument", argv[i]);
    print_usage(stderr, prog, model_name, &defaults);
    exit(2);
  }
}
