/*
 * rt_predict.c — the generated program's predict mode:
 *     PROGRAM --predict [--ckpt PATH] [--top K] [--csv FILE] INPUT...
 * loads a checkpoint (default OUT/best.ckpt, OUT the .nn file's runs/<model>)
 * and classifies each INPUT: a PNG or JPEG file (converted to the model
 * input's channels and resized to its height and width with Keras's bilinear
 * rule, rt_image.c), an IDX images file (its labels too when the matching
 * labels-idx1 file lies beside it), or the word `test`, the data section's
 * test split. Prints the top K classes (default 3) with their probabilities
 * per example; --csv FILE writes one row per example: its name (file name,
 * or FILE[i] / test[i]), the true label where known, the prediction and
 * every class probability. Errors name the file and exit non-zero.
 */
#include "nnc_runtime.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The examples to classify: items in the model's input layout and type
 * (uint8, or float for an f32 input), a name and a label (-1 unknown) each. */
typedef struct {
  int count, cap;
  size_t item_size; /* bytes */
  uint8_t *x;
  int *label;
  char **name;
} Inputs;

typedef struct {
  const char *ckpt, *csv;
  int top;
  int first_input; /* argv index of the first INPUT; inputs are the non-option words */
} PredictOptions;

static void inputs_add(Inputs *in, const void *item, int label, const char *name) {
  if (in->count == in->cap) {
    in->cap = in->cap ? 2 * in->cap : 64;
    in->x = realloc(in->x, (size_t)in->cap * in->item_size);
    in->label = realloc(in->label, sizeof(int) * (size_t)in->cap);
    in->name = realloc(in->name, sizeof(char *) * (size_t)in->cap);
    if (!in->x || !in->label || !in->name)
      rt_die("out of memory reading the inputs");
  }
  memcpy(in->x + (size_t)in->count * in->item_size, item, in->item_size);
  in->label[in->count] = label;
  in->name[in->count++] = strdup(name);
}

static void inputs_free(Inputs *in) {
  for (int i = 0; i < in->count; i++)
    free(in->name[i]);
  free(in->x);
  free(in->label);
  free(in->name);
}

/* ---- reading the inputs ---- */

static int is_idx_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    rt_die("%s: cannot open: %s", path, strerror(errno));
  unsigned char b[4] = {0};
  size_t n = fread(b, 1, 4, f);
  fclose(f);
  /* IDX images (00 00 08 03/04) or a gzip member (the .gz IDX files) */
  return n == 4 && ((!b[0] && !b[1] && b[2] == 8 && (b[3] == 3 || b[3] == 4)) ||
                    (b[0] == 0x1f && b[1] == 0x8b));
}

/* The images of an IDX file resized to the model's input when only the size
 * differs; channels must match (an IDX file has no colour model to convert). */
static void add_dataset(Inputs *in, const RtModel *model, const RtDataset *ds, const char *label,
                        int labelled) {
  char name[4200];
  if (!ds->x) { /* float items of the model's own shape (the test split of an f32 input) */
    for (int i = 0; i < ds->count; i++) {
      snprintf(name, sizeof name, "%s[%d]", label, i);
      inputs_add(in, rt_dataset_item(ds, (size_t)i), labelled ? ds->y[i] : -1, name);
    }
    return;
  }
  if (ds->channels != model->input_channels)
    rt_die("%s: images have %d channel%s but the model input %s is %s: cannot convert",
           ds->images_path, ds->channels, ds->channels == 1 ? "" : "s", model->input_name,
           model->input_shape);
  uint8_t *item = rt_malloc(in->item_size);
  for (int i = 0; i < ds->count; i++) {
    const uint8_t *px = ds->x + (size_t)i * ds->item_size;
    if (ds->rows == model->input_rows && ds->cols == model->input_cols)
      memcpy(item, px, in->item_size);
    else
      rt_image_resize_bilinear(item, model->input_rows, model->input_cols, px, ds->rows, ds->cols,
                               ds->channels);
    snprintf(name, sizeof name, "%s[%d]", label, i);
    inputs_add(in, item, labelled ? ds->y[i] : -1, name);
  }
  free(item);
}

/* FILE-images-idx3-ubyte[.gz] -> FILE-labels-idx1-ubyte[.gz], if that exists. */
static int labels_beside(char *buf, size_t size, const char *images) {
  const char *at = strstr(images, "images-idx3");
  if (!at)
    return 0;
  snprintf(buf, size, "%.*slabels-idx1%s", (int)(at - images), images,
           at + strlen("images-idx3"));
  FILE *f = fopen(buf, "rb");
  if (f)
    fclose(f);
  return f != NULL;
}

static void add_idx(Inputs *in, const RtModel *model, const char *path) {
  RtDataset ds;
  char labels[4096];
  int labelled = labels_beside(labels, sizeof labels, path);
  if (labelled)
    rt_dataset_load_idx_files(&ds, path, labels);
  else
    rt_dataset_load_idx_images(&ds, path);
  for (int i = 0; labelled && i < ds.count; i++)
    if (ds.y[i] >= model->n_classes)
      rt_die("%s: label %d of example %d is not a class of the model (%d classes)", labels,
             ds.y[i], i, model->n_classes);
  add_dataset(in, model, &ds, path, labelled);
  rt_dataset_free(&ds);
}

static void add_image(Inputs *in, const RtModel *model, const char *path) {
  uint8_t *item = rt_malloc(in->item_size);
  char err[4400];
  if (rt_image_try_load(path, model->input_channels, model->input_rows, model->input_cols, item,
                        err, sizeof err) != 0)
    rt_die("%s", err);
  inputs_add(in, item, -1, path);
  free(item);
}

static void add_input(Inputs *in, const RtRun *run, const char *arg) {
  const RtModel *model = run->model;
  if (!strcmp(arg, "test")) {
    RtDataset test;
    rt_load_test(run, &test);
    add_dataset(in, model, &test, "test", 1);
    rt_dataset_free(&test);
    return;
  }
  if (model->input_f32)
    rt_die("%s: model input %s %s is f32 (float features), not an image: predict its examples "
           "from the data section's test split (--predict test)", arg, model->input_name,
           model->input_shape);
  if (model->input_rows <= 0 || model->input_channels <= 0 ||
      model->input_size != (size_t)model->input_rows * model->input_cols * model->input_channels)
    rt_die("%s: the model input %s %s is not an image: cannot resize to it", arg,
           model->input_name, model->input_shape);
  if (is_idx_file(arg))
    add_idx(in, model, arg);
  else
    add_image(in, model, arg);
}

/* ---- options ---- */

static _Noreturn void predict_usage(const char *prog, const char *what, const char *arg) {
  fprintf(stderr, "%s: error: %s%s%s%s\n", prog, what, arg ? " '" : "", arg ? arg : "",
          arg ? "'" : "");
  fprintf(stderr, "usage: %s --predict [--ckpt PATH] [--top K] [--csv FILE] [--out DIR] "
                  "[--data DIR] [--limit-test N] INPUT...\n"
                  "INPUT: a PNG or JPEG file, an IDX images file, or 'test' (the test split)\n",
          prog);
  exit(2);
}

static const char *value_of(const char *prog, int argc, char **argv, int *i, const char *name) {
  size_t n = strlen(name);
  if (argv[*i][n] == '=')
    return argv[*i] + n + 1;
  if (*i + 1 >= argc)
    predict_usage(prog, "missing value for option", argv[*i]);
  return argv[++*i];
}

static int matches(const char *arg, const char *name) {
  size_t n = strlen(name);
  return !strncmp(arg, name, n) && (arg[n] == '\0' || arg[n] == '=');
}

static int whole_number(const char *prog, const char *option, const char *text, int min) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno || end == text || *end || v < min || v > INT_MAX)
    predict_usage(prog, option, text);
  return (int)v;
}

/* Options of predict mode; every other word is an INPUT (argv[i] set to NULL
 * when it was an option, so the inputs are the words left). */
static void parse_predict(PredictOptions *p, RtRun *run, int argc, char **argv, const char *prog) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    char **slot = &argv[i];
    if (!strcmp(a, "--quiet") || !strcmp(a, "--predict")) /* --predict: the mode itself */
      run->opt.quiet |= !strcmp(a, "--quiet");
    else if (matches(a, "--ckpt"))
      p->ckpt = value_of(prog, argc, argv, &i, "--ckpt");
    else if (matches(a, "--csv"))
      p->csv = value_of(prog, argc, argv, &i, "--csv");
    else if (matches(a, "--top"))
      p->top = whole_number(prog, "--top needs a whole number >= 1, got",
                            value_of(prog, argc, argv, &i, "--top"), 1);
    else if (matches(a, "--out"))
      run->opt.out_dir = value_of(prog, argc, argv, &i, "--out");
    else if (matches(a, "--data"))
      run->opt.data_dir = value_of(prog, argc, argv, &i, "--data");
    else if (matches(a, "--limit-test"))
      run->opt.limit_test = whole_number(prog, "--limit-test needs a whole number >= 0, got",
                                         value_of(prog, argc, argv, &i, "--limit-test"), 0);
    else if (a[0] == '-' && a[1])
      predict_usage(prog, "unknown option in predict mode", a);
    else
      continue; /* an INPUT */
    for (char **s = slot; s <= &argv[i]; s++)
      *s = NULL;
  }
}

/* ---- classifying ---- */

/* The k best of row (c scores), best first; ties keep the lower index. */
static void top_k(int *best, const float *row, int c, int k) {
  for (int j = 0; j < k; j++) {
    int b = -1;
    for (int i = 0; i < c; i++) {
      int taken = 0;
      for (int t = 0; t < j; t++)
        taken |= best[t] == i;
      if (!taken && (b < 0 || row[i] > row[b]))
        b = i;
    }
    best[j] = b;
  }
}

/* probs (count, k) from the forward pass in batches; dropout off. */
static void forward_all(const RtRun *run, const Inputs *in, float *probs) {
  const RtModel *model = run->model;
  int k = rt_model_scores(model);
  uint8_t *labels = rt_calloc((size_t)in->count + 1, 1);
  RtDataset ds = {.count = in->count, .item_size = model->input_size, .y = labels};
  if (model->input_f32)
    ds.xf = (float *)(void *)in->x;
  else
    ds.x = in->x;
  int *idx = rt_malloc(sizeof(int) * (size_t)model->batch);
  for (int start = 0; start < in->count; start += model->batch) {
    int m = in->count - start < model->batch ? in->count - start : model->batch;
    for (int i = 0; i < m; i++)
      idx[i] = start + i;
    rt_load_batch(run, &ds, idx, m);
    model->forward(m, 0);
    memcpy(probs + (size_t)start * k, model->scores, sizeof(float) * (size_t)m * k);
  }
  free(idx);
  free(labels);
}

static const char *class_name(const RtModel *model, int i) {
  return model->n_outputs ? model->target_names[i] : model->class_names[i];
}

static void print_predictions(const RtModel *model, const Inputs *in, const float *probs, int top) {
  int k = rt_model_scores(model);
  int *best = rt_malloc(sizeof(int) * (size_t)top);
  for (int i = 0; i < in->count; i++) {
    const float *row = probs + (size_t)i * k;
    top_k(best, row, k, top);
    printf("%s", in->name[i]);
    if (in->label[i] >= 0)
      printf(" (true: %s)", model->class_names[in->label[i]]);
    printf(":");
    for (int j = 0; j < top; j++)
      printf("%s %s %.4f", j ? "," : "", class_name(model, best[j]), row[best[j]]);
    printf("\n");
  }
  free(best);
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\n\r")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"')
      fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static void write_csv(const char *path, const RtModel *model, const Inputs *in,
                      const float *probs) {
  int k = rt_model_scores(model);
  rt_ignore_file_size_signal();
  FILE *f = fopen(path, "w");
  if (!f)
    rt_die("%s: cannot create: %s", path, strerror(errno));
  fputs("input,label,prediction", f);
  for (int j = 0; j < k; j++) {
    fputc(',', f);
    csv_field(f, class_name(model, j));
  }
  fputc('\n', f);
  for (int i = 0; i < in->count; i++) {
    const float *row = probs + (size_t)i * k;
    csv_field(f, in->name[i]);
    fputc(',', f);
    if (in->label[i] >= 0)
      csv_field(f, model->class_names[in->label[i]]);
    fputc(',', f);
    csv_field(f, class_name(model, rt_argmax(row, k)));
    for (int j = 0; j < k; j++)
      fprintf(f, ",%.6f", row[j]);
    fputc('\n', f);
  }
  char why[256];
  if (ferror(f) | fclose(f))
    rt_die("%s: write failed: %s", path, rt_write_error_text(errno, why, sizeof why));
}

/* The checkpoint's weights into the model; a file of another model is refused. */
static void load_weights(const RtModel *model, const char *path, int quiet) {
  char err[4400];
  RtCheckpointMeta meta;
  if (rt_checkpoint_try_load(path, model->checkpoint, model->n_checkpoint, &meta, err,
                             sizeof err) != 0)
    rt_die("%s", err);
  if (strcmp(meta.model, model->name) != 0)
    rt_die("%s: checkpoint is for a different model: it was saved by model '%s', this is '%s'",
           path, meta.model, model->name);
  if (!quiet)
    printf("loaded %s (model %s, epoch %d)\n", path, meta.model, meta.epoch);
}

int rt_predict_requested(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (argv[i] && !strcmp(argv[i], "--predict"))
      return 1;
  return 0;
}

int rt_predict_main(RtModel *model, const RtFitConfig *config, int argc, char **argv) {
  const char *prog = argc > 0 && argv[0] ? argv[0] : "predict";
  RtRun run;
  rt_run_init(&run, model, config);
  char **words = rt_malloc(sizeof(char *) * (size_t)(argc + 1));
  memcpy(words, argv, sizeof(char *) * (size_t)argc);
  PredictOptions p = {.top = 3};
  parse_predict(&p, &run, argc, words, prog);
  rt_run_set_out_dir(&run, run.opt.out_dir);
  int k = rt_model_scores(model);
  if (p.top > k)
    p.top = k;
  if (model->bind)
    model->bind(model);
  load_weights(model, p.ckpt ? p.ckpt : run.checkpoint_path, run.opt.quiet);
  Inputs in = {.item_size = model->input_size * (model->input_f32 ? sizeof(float) : 1)};
  for (int i = 1; i < argc; i++)
    if (words[i])
      add_input(&in, &run, words[i]);
  if (!in.count)
    predict_usage(prog, "no inputs to predict", NULL);
  float *probs = rt_malloc(sizeof(float) * (size_t)in.count * (size_t)k);
  forward_all(&run, &in, probs);
  print_predictions(model, &in, probs, p.top);
  if (p.csv) {
    write_csv(p.csv, model, &in, probs);
    if (!run.opt.quiet)
      printf("wrote %s (%d rows)\n", p.csv, in.count);
  }
  free(probs);
  inputs_free(&in);
  free(words);
  rt_run_free(&run);
  return 0;
}
