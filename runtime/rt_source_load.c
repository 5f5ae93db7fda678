/*
 * rt_source_load.c — the data section's sources other than IDX (image
 * folders, CSV, .npy, CIFAR-10) loaded for rt_prepare.c: the readers are
 * rt_folder.c and rt_sources.c; here is what the run adds to them — the
 * source's classes checked against the model's, the values made the model
 * input's type (u8 or f32), and one line saying how the data was read.
 *
 * An image folder's training and validation subsets are decoded once into
 * memory when they fit the budget (the smaller of 1 GiB and a quarter of
 * the RAM), and streamed otherwise: the examples are then file names that
 * rt_loader.c decodes a few batches ahead of the training step, so memory
 * grows with the batch, not with the folder. directory(stream=true|false)
 * and --stream on|off|auto force either; a model with Normalization.adapt
 * needs the images in memory and is decoded unless forced. The test folder
 * is always decoded. The line says which path was taken, with the size.
 */
#include "nnc_runtime.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int all_numbers(const RtClassNames *names) {
  for (int i = 0; i < names->count; i++) {
    char *end;
    (void)strtod(names->names[i], &end);
    if (end == names->names[i] || *end)
      return 0;
  }
  return 1;
}

/* The source's classes must be the model's: as many, and the same names
 * when the .nn file declares them (numbered CSV labels only by count). */
static void check_classes(const RtRun *run, const RtClassNames *names, const char *where) {
  const RtModel *model = run->model;
  if (names->count != model->n_classes)
    rt_die("%s: the data has %d classes (%s%s), but model %s has %d classes", where,
           names->count, names->count ? names->names[0] : "", names->count > 1 ? ", ..." : "",
           model->name, model->n_classes);
  if (!run->config->source.classes_declared || all_numbers(names))
    return;
  for (int i = 0; i < names->count; i++)
    if (strcmp(names->names[i], model->class_names[i]) != 0)
      rt_die("%s: class %d is '%s', but the data section's classes name it '%s'", where, i,
             names->names[i], model->class_names[i]);
}

/* Float data (CSV, .npy float32) for a u8 input: taken when every value is
 * a whole number in 0..255 (pixels written as numbers), refused otherwise:
 * Keras would cast 0.5 to 0 without a word. */
static void float_to_u8(const RtModel *model, RtDataset *ds, const char *path) {
  size_t n = (size_t)ds->count * ds->item_size;
  uint8_t *x = rt_malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++) {
    float v = ds->xf[i];
    if (!(v >= 0.0f && v <= 255.0f) || v != (float)(int)v)
      rt_die("%s: example %zu has the value %g (float32 data), but model input %s %s is u8, "
             "which takes whole numbers in 0..255: declare the input f32[...] to train on the "
             "values as they are", path, i / ds->item_size, (double)v, model->input_name,
             model->input_shape);
    x[i] = (uint8_t)v;
  }
  free(ds->xf);
  ds->xf = NULL;
  ds->x = x;
}

/* uint8 data (IDX, images, .npy uint8, CIFAR-10) for an f32 input: every
 * value as a float, 0..255 (no 1/255: a rescaling layer says that). */
static void u8_to_float(RtDataset *ds) {
  size_t n = (size_t)ds->count * ds->item_size;
  float *xf = rt_malloc(sizeof(float) * (n ? n : 1));
  for (size_t i = 0; i < n; i++)
    xf[i] = (float)ds->x[i];
  free(ds->x);
  ds->x = NULL;
  ds->xf = xf;
}

void rt_dataset_to_input_type(const RtModel *model, RtDataset *ds, const char *path) {
  if (model->input_f32 && ds->x)
    u8_to_float(ds);
  else if (!model->input_f32 && !ds->x && ds->xf)
    float_to_u8(model, ds, path);
}

/* ds as read from path: made the model input's type, then one line saying how. */
static void loaded(const RtRun *run, const char *what, const char *path, RtDataset *ds,
                   const char *how) {
  rt_dataset_to_input_type(run->model, ds, path);
  if (run->opt.quiet)
    return;
  printf("data: %s %s: %d examples of %dx%dx%d %s, %s", what, path, ds->count, ds->rows,
         ds->cols, ds->channels, rt_dataset_streamed(ds) || ds->x ? "uint8" : "float32", how);
  if (!rt_dataset_streamed(ds)) /* a streamed set's line says its size itself */
    printf(" (%.1f MiB)", (double)ds->count * (double)rt_dataset_item_bytes(ds) / 1048576.0);
  printf("\n");
}

static void skipped(const RtRun *run, const char *dir, int n) {
  if (n && !run->opt.quiet)
    printf("data: %s: skipped %d bad image%s (skip_bad)\n", dir, n, n == 1 ? "" : "s");
}

/* Decoded images above this many bytes are streamed (auto): 1 GiB, or a
 * quarter of the RAM when that is less. */
static double stream_budget(void) {
  double budget = 1024.0 * 1024.0 * 1024.0;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0 && (double)pages * page / 4 < budget)
    budget = (double)pages * page / 4;
  return budget;
}

/* RtFolderOptions.stream for the training folder: --stream, else the .nn
 * file's stream=, else decided by the budget (decoded with adapt). */
static int stream_mode(const RtRun *run) {
  int mode = run->opt.stream ? run->opt.stream : run->config->source.stream;
  if (mode == 1 && run->model->input_f32)
    rt_die("%s: a streamed image folder feeds uint8 images, but model input %s %s is f32: "
           "leave streaming off (stream=false), or declare the input u8[...]",
           run->config->source.path, run->model->input_name, run->model->input_shape);
  if (mode == 1 || mode == -1)
    return mode == 1;
  return run->model->n_adapt || run->model->input_f32 ? 0 : 2;
}

/* How the training subset is held, for the data: line. */
static void describe(char *buf, size_t size, const RtRun *run, const RtDataset *train,
                     const char *what, double budget) {
  if (!rt_dataset_streamed(train)) {
    snprintf(buf, size, "%sdecoded into memory", what);
    return;
  }
  int threads, depth;
  rt_stream_settings(run, &threads, &depth);
  snprintf(buf, size, "%sstreamed from disk (%.1f MiB decoded, %s %.0f MiB; %d loader thread%s, "
           "%d batches ahead)", what, (double)train->count * (double)train->item_size / 1048576.0,
           stream_mode(run) == 1 ? "forced, the budget is" : "over the budget of",
           budget / 1048576.0, threads, threads == 1 ? "" : "s", depth);
}

/* The image folder's training split, and with a seeded validation split
 * Keras's own split of the file list (val then filled; else val NULL). */
static void load_folder(const RtRun *run, RtDataset *train, RtDataset *val) {
  const RtSourceConfig *s = &run->config->source;
  const RtValidationConfig *v = &run->config->validation;
  RtFolderOptions opt = {.skip_bad = s->skip_bad, .stream = stream_mode(run),
                         .budget_bytes = stream_budget()};
  if (val) {
    opt.validation_split = v->split;
    opt.seed = v->seed;
  }
  RtClassNames classes;
  int bad = rt_dataset_load_image_folder(train, val, &classes, s->path, s->height, s->width,
                                         s->channels, &opt);
  check_classes(run, &classes, s->path);
  rt_class_names_free(&classes);
  skipped(run, s->path, bad);
  if (val)
    rt_dataset_to_input_type(run->model, val, s->path);
  char how[256];
  describe(how, sizeof how, run, train, val ? "training subset " : "", opt.budget_bytes);
  loaded(run, "image folder", s->path, train, how);
}

static void load_test_folder(const RtRun *run, RtDataset *test) {
  const RtSourceConfig *s = &run->config->source;
  if (!s->test_path)
    rt_die("there is no test split: the data section's directory(\"%s\", ...) names no "
           "test=\"FOLDER\"", s->path);
  RtFileList files;
  RtClassNames classes;
  rt_image_folder_list(&files, &classes, s->path); /* the training folder's classes */
  rt_file_list_free(&files);
  int bad = rt_dataset_load_image_test_folder(test, s->test_path, &classes, s->path, s->height,
                                              s->width, s->channels, s->skip_bad);
  rt_class_names_free(&classes);
  skipped(run, s->test_path, bad);
  loaded(run, "test folder", s->test_path, test, "decoded into memory");
}

static void load_csv(const RtRun *run, RtDataset *ds, const char *path) {
  RtClassNames classes;
  rt_dataset_load_csv(ds, &classes, path, run->config->source.label);
  check_classes(run, &classes, path);
  rt_class_names_free(&classes);
  loaded(run, "CSV", path, ds, "read into memory");
}

static void load_npy(const RtRun *run, RtDataset *ds, const char *x, const char *y) {
  rt_dataset_load_npy(ds, x, y);
  loaded(run, "NumPy", x, ds, "read into memory");
}

static void load_cifar10(const RtRun *run, RtDataset *ds, int test) {
  const char *dir = run->config->source.path;
  rt_dataset_load_cifar10_dir(ds, dir, test);
  RtClassNames classes;
  rt_cifar10_class_names(&classes);
  check_classes(run, &classes, dir);
  rt_class_names_free(&classes);
  loaded(run, test ? "CIFAR-10 test batch in" : "CIFAR-10 training batches in", dir, ds,
      "read into memory");
}

int rt_source_load_split(const RtRun *run, RtDataset *train, RtDataset *val) {
  const RtValidationConfig *v = &run->config->validation;
  if (run->config->source.kind != RT_SRC_DIRECTORY || v->kind != RT_VAL_SPLIT || !v->seeded)
    return 0;
  load_folder(run, train, val);
  return 1;
}

void rt_source_load(const RtRun *run, RtDataset *ds, int test) {
  const RtSourceConfig *s = &run->config->source;
  switch (s->kind) {
  case RT_SRC_IDX:
    rt_dataset_load_idx(ds, run->opt.data_dir, test ? "t10k" : "train");
    rt_dataset_to_input_type(run->model, ds, ds->images_path);
    return;
  case RT_SRC_DIRECTORY:
    if (test)
      load_test_folder(run, ds);
    else
      load_folder(run, ds, NULL);
    return;
  case RT_SRC_CSV:
    if (test && !s->test_path)
      rt_die("there is no test split: the data section's csv(\"%s\", ...) names no "
             "test=\"FILE\"", s->path);
    load_csv(run, ds, test ? s->test_path : s->path);
    return;
  case RT_SRC_NPY:
    if (test && !s->test_x)
      rt_die("there is no test split: the data section's npy(\"%s\", ...) names no test_x "
             "and test_y", s->x);
    load_npy(run, ds, test ? s->test_x : s->x, test ? s->test_y : s->y);
    return;
  case RT_SRC_CIFAR10:
    load_cifar10(run, ds, test);
    return;
  }
}
