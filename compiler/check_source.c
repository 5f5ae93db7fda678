/*
 * check_source.c — the data section's sources other than IDX, written as
 * calls in the manner of Keras's loaders:
 *
 *   directory("train_dir", image_size=[28, 28], color_mode=grayscale,
 *             test="test_dir", skip_bad=true, stream=true)
 *                                               image_dataset_from_directory
 *   csv("iris.csv", label="species", test="iris_test.csv")
 *   npy("x.npy", "y.npy", test_x="xt.npy", test_y="yt.npy")
 *   cifar10("cifar-10-batches-bin")
 *
 * The validation split stays the data section's `validation` setting. What
 * can be known here is checked here (a directory's image size and color mode
 * against the model input); the rest (a CSV's columns, an .npy's shape) is
 * checked by the training program before it trains, naming the file.
 */
#include "nnc.h"

#include <string.h>

static const char *const COLOR_MODES[] = {"grayscale", "rgb", "rgba"};
static const int COLOR_CHANNELS[] = {1, 3, 4};

static bool want_string(Diag *d, const BoundArg *b, const char **out) {
  if (!b->value)
    return true;
  if (b->value->kind != EX_STRING || !b->value->text[0]) {
    diag_error(d, b->value->loc, "'%s' must be a path in quotes", b->name);
    return false;
  }
  *out = b->value->text;
  return true;
}

/* image_size=[H, W] */
static bool image_size(Diag *d, const BoundArg *b, DataSource *s) {
  const Expr *e = b->value;
  if (!e)
    return true;
  if (e->kind != EX_LIST || arg_count(e->args) != 2) {
    diag_error(d, e->loc, "'image_size' is [height, width], like image_size=[28, 28]");
    return false;
  }
  long h, w;
  BoundArg bh = {.name = "height", .value = e->args->value, .loc = e->args->loc};
  BoundArg bw = {.name = "width", .value = e->args->next->value, .loc = e->args->next->loc};
  if (!arg_int(d, &bh, 1, 16384, &h) || !arg_int(d, &bw, 1, 16384, &w))
    return false;
  s->height = (int)h;
  s->width = (int)w;
  return true;
}

static bool source_directory(Diag *d, const Item *it, DataSource *s) {
  static const char *const names[] = {"directory", "image_size", "color_mode", "test",
                                      "skip_bad", "stream"};
  BoundArg b[6];
  if (!bind_args(d, it->value, "directory", names, 6, 1, b) || !want_string(d, &b[0], &s->path) ||
      !image_size(d, &b[1], s) || !want_string(d, &b[3], &s->test_path))
    return false;
  s->channels = 3; /* Keras's color_mode='rgb' */
  if (b[2].value) {
    int mode = arg_choice(d, &b[2], COLOR_MODES, 3);
    if (mode < 0)
      return false;
    s->channels = COLOR_CHANNELS[mode];
  }
  bool stream;
  if (b[5].value && !arg_bool(d, &b[5], &stream))
    return false;
  s->stream = b[5].value ? (stream ? 1 : -1) : 0;
  return !b[4].value || arg_bool(d, &b[4], &s->skip_bad);
}

static bool source_csv(Diag *d, const Item *it, DataSource *s) {
  static const char *const names[] = {"path", "label", "test"};
  BoundArg b[3];
  if (!bind_args(d, it->value, "csv", names, 3, 2, b) || !want_string(d, &b[0], &s->path) ||
      !want_string(d, &b[2], &s->test_path))
    return false;
  const Expr *label = b[1].value;
  if (label->kind != EX_STRING && label->kind != EX_IDENT) {
    diag_error(d, label->loc, "'label' is the label column's name, like label=\"species\"");
    return false;
  }
  s->label = label->text;
  return true;
}

static bool source_npy(Diag *d, const Item *it, DataSource *s) {
  static const char *const names[] = {"x", "y", "test_x", "test_y"};
  BoundArg b[4];
  if (!bind_args(d, it->value, "npy", names, 4, 2, b) || !want_string(d, &b[0], &s->x) ||
      !want_string(d, &b[1], &s->y) || !want_string(d, &b[2], &s->test_x) ||
      !want_string(d, &b[3], &s->test_y))
    return false;
  if (!b[2].value != !b[3].value) {
    diag_error(d, it->loc, "a test split needs both test_x and test_y");
    return false;
  }
  return true;
}

static bool source_cifar10(Diag *d, const Item *it, DataSource *s) {
  static const char *const names[] = {"directory"};
  BoundArg b[1];
  if (!bind_args(d, it->value, "cifar10", names, 1, 1, b) || !want_string(d, &b[0], &s->path))
    return false;
  s->height = s->width = 32;
  s->channels = 3;
  return true;
}

bool check_source_item(Diag *d, Program *p, const Item *it) {
  static const struct {
    const char *name, *example;
    SourceKind kind;
    bool (*fn)(Diag *, const Item *, DataSource *);
  } kinds[] = {
      {"directory", "directory(\"train_dir\", image_size=[28, 28], color_mode=grayscale)",
       SRC_DIRECTORY, source_directory},
      {"csv", "csv(\"data.csv\", label=\"species\")", SRC_CSV, source_csv},
      {"npy", "npy(\"x.npy\", \"y.npy\")", SRC_NPY, source_npy},
      {"cifar10", "cifar10(\"cifar-10-batches-bin\")", SRC_CIFAR10, source_cifar10},
  };
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    if (strcmp(it->name, kinds[k].name) != 0)
      continue;
    if (!it->value) {
      diag_error(d, it->loc, "write %s", kinds[k].example);
      return false;
    }
    if (p->source.kind != SRC_IDX) {
      diag_error(d, it->loc, "the data section already has a source (line %d): one source only",
                 p->source.loc.first_line);
      return false;
    }
    DataSource s = {.kind = kinds[k].kind, .loc = it->loc};
    if (!kinds[k].fn(d, it, &s))
      return false;
    s.classes_declared = p->source.classes_declared;
    p->source = s;
    return true;
  }
  diag_error(d, it->loc, "'%s' is not a data source", it->name);
  return false;
}

/* The input's (height, width, channels): [H, W] is one channel. */
static bool input_image(const Program *p, int *h, int *w, int *ch) {
  if (p->input_rank != 2 && p->input_rank != 3)
    return false;
  *h = p->input_dims[0];
  *w = p->input_dims[1];
  *ch = p->input_rank == 3 ? p->input_dims[2] : 1;
  return true;
}

bool check_source_input(Diag *d, Program *p) {
  DataSource *s = &p->source;
  if (s->kind != SRC_DIRECTORY && s->kind != SRC_CIFAR10)
    return true; /* shapes only the files know: checked by the program before training */
  int h, w, ch;
  if (!input_image(p, &h, &w, &ch)) {
    diag_error(d, s->loc, "%s images are (height, width, channels), but model input %s has %d "
               "dimensions", s->kind == SRC_CIFAR10 ? "CIFAR-10" : "the folder's",
               p->input_name, p->input_rank);
    return false;
  }
  if (!s->height) { /* no image_size: resize to the model's input */
    s->height = h;
    s->width = w;
  }
  if (s->height == h && s->width == w && s->channels == ch)
    return true;
  diag_error(d, s->loc, "the source gives %dx%dx%d images%s, but model input %s is %dx%dx%d",
             s->height, s->width, s->channels,
             s->kind == SRC_CIFAR10 ? " (CIFAR-10)" : " (image_size and color_mode)",
             p->input_name, h, w, ch);
  return false;
}
