/*
 * check.c — semantic check of everything outside the model graph.
 *
 * Walks the data, train and evaluate sections, validates every setting
 * against its table below and fills a Program with Keras's defaults for
 * what the file leaves out. Unknown sections, settings, arguments and
 * monitored metric names are located errors with a "did you mean" hint.
 * Semantic checks stop at the first error (the caller counts errors).
 *
 * Invariant on success: prog holds only valid values (positive sizes,
 * class ids < n_classes, known monitor names).
 */
#include "nnc.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  Program *prog;
  Arena *arena;
  Diag *diag;
} Checker;

static const char *const SECTION_KINDS[] = {"model", "data", "train", "evaluate"};
/* What an epoch logs: loss and accuracy always, the metrics setting's too,
 * each on the training split and as val_NAME on the validation split. */
static const char *const EPOCH_METRICS[] = {"loss", "accuracy", "top_k_accuracy", "auc",
                                            "precision", "recall"};
static const char *const VAL_EPOCH_METRICS[] = {"val_loss", "val_accuracy", "val_top_k_accuracy",
                                                "val_auc", "val_precision", "val_recall"};
static const char *const FASHION_CLASSES[] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                              "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                              "Bag",         "Ankle boot"};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void set_defaults(Program *p) {
  memset(p, 0, sizeof *p);
  p->data_dir = "/usr/share/datasets/fashion-mnist";
  p->n_classes = COUNT(FASHION_CLASSES);
  for (int i = 0; i < p->n_classes; i++)
    p->class_names[i] = FASHION_CLASSES[i];
  p->keep_seed = 0;
  p->loss = LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
  p->from_logits = false; /* Keras's default */
  p->optimizer = OPT_ADAM;
  p->learning_rate = 1e-3;
  p->beta1 = 0.9;
  p->beta2 = 0.999;
  p->epsilon = 1e-7;
  p->rho = 0.9;           /* RMSprop */
  p->weight_decay = 0.004; /* AdamW */
  p->epochs = 1;         /* Keras fit() default */
  p->top_k = 5;          /* TopKCategoricalAccuracy(k=5) */
  p->batch_size = 32;    /* Keras fit() default */
  p->shuffle = true;
  p->seed = 0;
}

/* ---- helpers over a setting's value list ---- */

/* The setting's values must number exactly n. */
static bool want_values(Checker *c, const Item *it, int n, const char *form) {
  if (it->value || arg_count(it->values) != n) {
    diag_error(c->diag, it->loc, "'%s' expects %s", it->name, form);
    return false;
  }
  return true;
}

static bool value_int(Checker *c, const Expr *e, const char *what, long lo, long hi, long *out) {
  BoundArg b = {.name = what, .value = e, .loc = e->loc};
  return arg_int(c->diag, &b, lo, hi, out);
}

static bool value_number(Checker *c, const Expr *e, const char *what, double lo, double hi,
                         double *out) {
  BoundArg b = {.name = what, .value = e, .loc = e->loc};
  return arg_number(c->diag, &b, lo, hi, out);
}

static bool value_bool(Checker *c, const Expr *e, const char *what, bool *out) {
  BoundArg b = {.name = what, .value = e, .loc = e->loc};
  return arg_bool(c->diag, &b, out);
}

/* The name a setting's value gives: adam, adam(...), or Keras's string
 * spelling "adam" (compile(optimizer="adam", loss="...")). */
static const char *call_name(const Expr *e) {
  return e->kind == EX_CALL || e->kind == EX_IDENT || e->kind == EX_STRING ? e->text : "";
}

static bool is_word(const Expr *e, const char *word) {
  return e->kind == EX_IDENT && strcmp(e->text, word) == 0;
}

int program_class_id(const Program *prog, const Expr *e) {
  if (e->kind == EX_NUMBER && e->is_integer && e->number >= 0 && e->number < prog->n_classes)
    return (int)e->number;
  if (e->kind != EX_IDENT && e->kind != EX_STRING)
    return -1;
  for (int i = 0; i < prog->n_classes; i++)
    if (strcmp(prog->class_names[i], e->text) == 0)
      return i;
  return -1;
}

static int class_id(Checker *c, const Expr *e, SrcLoc loc) {
  int id = program_class_id(c->prog, e);
  if (id < 0) {
    const char *hint = e->text ? closest_name(e->text, c->prog->class_names, c->prog->n_classes)
                               : NULL;
    if (hint)
      diag_error(c->diag, loc, "unknown class '%s'; did you mean \"%s\"?", e->text, hint);
    else
      diag_error(c->diag, loc, "unknown class '%s' (use a class name from 'classes' or a number "
                 "below %d)", e->text ? e->text : "?", c->prog->n_classes);
  }
  return id;
}

/* The names monitor= may take, in log order; returns how many. */
static int monitor_names(const Program *p, const char **names) {
  bool on[] = {true, true, p->metric_top_k, p->metric_auc, p->metric_precision, p->metric_recall};
  int n = 0;
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < 6; i++)
      if (on[i])
        names[n++] = pass ? VAL_EPOCH_METRICS[i] : EPOCH_METRICS[i];
  return n;
}

static bool check_monitor(Checker *c, const BoundArg *b, Callback *cb) {
  if (!b->value) {
    cb->monitor = "val_loss"; /* Keras's default */
    return true;
  }
  const char *names[12];
  int n = monitor_names(c->prog, names);
  int i = arg_choice(c->diag, b, names, n);
  if (i < 0) {
    char list[256] = "";
    for (int k = 0; k < n; k++)
      snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
               k == 0 ? "" : k + 1 == n ? " and " : ", ", names[k]);
    diag_note(c->diag, b->value->loc, "the metrics logged each epoch are %s", list);
    const char *name = b->value->text ? b->value->text : "";
    const char *bare = strncmp(name, "val_", 4) ? name : name + 4;
    if (!strcmp(bare, "auc") || !strcmp(bare, "top_k_accuracy") || !strcmp(bare, "precision") ||
        !strcmp(bare, "recall"))
      diag_note(c->diag, b->value->loc, "%s is logged with: metrics [accuracy, %s] in the train "
                "section", name, bare);
    return false;
  }
  cb->monitor = names[i];
  cb->loc = b->value->loc;
  return true;
}

/* verbose=0|1 (Keras's callbacks): 0 silences the callback's own messages. */
static bool check_verbose(Checker *c, const BoundArg *b, Callback *cb) {
  long v = 1;
  if (b->value && !arg_int(c->diag, b, 0, 2, &v))
    return false;
  cb->verbose = (int)v;
  return true;
}

static bool check_mode(Checker *c, const BoundArg *b, Callback *cb) {
  static const char *const modes[] = {"auto", "min", "max"};
  int m = b->value ? arg_choice(c->diag, b, modes, 3) : 0;
  if (m < 0)
    return false;
  if (m == 0)
    cb->mode = strstr(cb->monitor, "acc") || strstr(cb->monitor, "auc") ||
                       strstr(cb->monitor, "precision") || strstr(cb->monitor, "recall") ? MODE_MAX : MODE_MIN;
  else
    cb->mode = m == 1 ? MODE_MIN : MODE_MAX;
  return true;
}

/* The class a map entry's key names ({Sandal: 300}, {"Ankle boot": 1}, {5: 2});
 * -1 after an error for an unknown class or one named twice. */
static int map_key_class(Checker *c, const Arg *entry, bool *seen) {
  Expr key = {.kind = EX_STRING, .text = entry->key, .loc = entry->loc};
  if (entry->key[0] >= '0' && entry->key[0] <= '9') {
    key.kind = EX_NUMBER;
    key.number = strtod(entry->key, NULL);
    key.is_integer = !strpbrk(entry->key, ".eE");
  }
  int id = class_id(c, &key, entry->loc);
  if (id >= 0 && seen[id]) {
    diag_error(c->diag, entry->loc, "class '%s' appears twice in this map",
               c->prog->class_names[id]);
    return -1;
  }
  if (id >= 0)
    seen[id] = true;
  return id;
}

/* ---- data section ---- */

/* classes ["a", "b", ...] */
static bool data_classes(Checker *c, const Item *it) {
  if (!want_values(c, it, 1, "a list of class names, like classes [\"cat\", \"dog\"]"))
    return false;
  const Expr *list = it->values->value;
  if (list->kind != EX_LIST) {
    diag_error(c->diag, list->loc, "'classes' expects a list of names in [ ]");
    return false;
  }
  int n = 0;
  for (const Arg *a = list->args; a; a = a->next) {
    if (a->value->kind != EX_STRING && a->value->kind != EX_IDENT) {
      diag_error(c->diag, a->loc, "a class name must be a string or a name");
      return false;
    }
    if (n >= MAX_CLASSES) {
      diag_error(c->diag, a->loc, "too many classes (at most %d)", MAX_CLASSES);
      return false;
    }
    c->prog->class_names[n++] = a->value->text;
  }
  if (n < 2) {
    diag_error(c->diag, list->loc, "a classifier needs at least 2 classes");
    return false;
  }
  c->prog->n_classes = n;
  c->prog->source.classes_declared = true;
  return true;
}

/* validation split F [seed S]: Keras's validation_split (the last fraction),
 * or a seeded random fraction (image_dataset_from_directory's) */
static bool validation_split(Checker *c, const Item *it, const Arg *v, int n) {
  Program *p = c->prog;
  if (n != 2 && n != 4)
    return diag_error(c->diag, it->loc, "expected: validation split F [seed S]"), false;
  if (!value_number(c, v->next->value, "validation fraction", 0, 1, &p->validation_split))
    return false;
  if (p->validation_split <= 0 || p->validation_split >= 1)
    return diag_error(c->diag, v->next->loc, "the validation fraction must be between 0 and 1, "
                      "exclusive"), false;
  if (n == 4) {
    if (!is_word(v->next->next->value, "seed"))
      return diag_error(c->diag, v->next->next->loc, "expected 'seed'"), false;
    if (!value_int(c, v->next->next->next->value, "seed", 0, 2147483647L, &p->validation_seed))
      return false;
    p->validation_seeded = true;
  }
  p->validation = VAL_SPLIT;
  return true;
}

/* validation last N | split F [seed S] | test | files "IMAGES" "LABELS" */
static bool data_validation(Checker *c, const Item *it) {
  static const char *const forms[] = {"last", "split", "test", "files"};
  const Arg *v = it->values;
  int n = arg_count(v);
  Program *p = c->prog;
  if (it->value || n == 0 || v->value->kind != EX_IDENT)
    return diag_error(c->diag, it->loc, "expected: validation last N | split F [seed S] | test "
                      "| files \"IMAGES\" \"LABELS\""), false;
  if (is_word(v->value, "last")) {
    long count;
    if (n != 2)
      return diag_error(c->diag, it->loc, "expected: validation last N"), false;
    if (!value_int(c, v->next->value, "validation size", 1, 100000000, &count))
      return false;
    p->validation = VAL_LAST;
    p->validation_last = (int)count;
    return true;
  }
  if (is_word(v->value, "split"))
    return validation_split(c, it, v, n);
  if (is_word(v->value, "test")) {
    if (n != 1)
      return diag_error(c->diag, v->next->loc, "expected nothing after 'validation test'"), false;
    p->validation = VAL_TEST;
    return true;
  }
  if (is_word(v->value, "files")) {
    if (n != 3 || v->next->value->kind != EX_STRING || v->next->next->value->kind != EX_STRING)
      return diag_error(c->diag, it->loc, "expected: validation files \"IMAGES\" \"LABELS\" "
                        "(two IDX file paths)"), false;
    p->validation = VAL_FILES;
    p->validation_images = v->next->value->text;
    p->validation_labels = v->next->next->value->text;
    return true;
  }
  const char *hint = closest_name(v->value->text, forms, COUNT(forms));
  diag_error(c->diag, v->loc, "unknown validation source '%s'%s%s%s", v->value->text,
             hint ? "; did you mean '" : " (expected last, split, test or files)",
             hint ? hint : "", hint ? "'?" : "");
  return false;
}

/* limit train N | limit test N */
static bool data_limit(Checker *c, const Item *it) {
  if (!want_values(c, it, 2, "a split and a count, like: limit train 5000"))
    return false;
  const Expr *split = it->values->value;
  long n;
  if (!value_int(c, it->values->next->value, "limit", 1, 100000000, &n))
    return false;
  if (is_word(split, "train"))
    c->prog->limit_train = (int)n;
  else if (is_word(split, "test"))
    c->prog->limit_test = (int)n;
  else {
    diag_error(c->diag, split->loc, "expected 'train' or 'test'");
    return false;
  }
  return true;
}

/* keep train {Class: N, ...} [seed S] */
static bool data_keep(Checker *c, const Item *it) {
  const char *form = "a split and a map, like: keep train {Sandal: 300} seed 42";
  int n = arg_count(it->values);
  if (it->value || (n != 2 && n != 4))
    return diag_error(c->diag, it->loc, "'keep' expects %s", form), false;
  const Arg *v = it->values;
  if (!is_word(v->value, "train"))
    return diag_error(c->diag, v->loc, "only the training split can be reshaped: keep train {...}"),
           false;
  const Expr *map = v->next->value;
  if (map->kind != EX_MAP)
    return diag_error(c->diag, map->loc, "'keep' expects a map {Class: count, ...}"), false;
  bool seen[MAX_CLASSES] = {false};
  for (const Arg *e = map->args; e; e = e->next) {
    int id = map_key_class(c, e, seen);
    long count;
    if (id < 0 || !value_int(c, e->value, "count", 0, 100000000, &count))
      return false;
    if (c->prog->n_keep >= MAX_KEEP_RULES)
      return diag_error(c->diag, e->loc, "too many keep rules"), false;
    c->prog->keep[c->prog->n_keep++] = (KeepRule){.class_id = id, .count = (int)count};
  }
  if (n == 4) {
    if (!is_word(v->next->next->value, "seed"))
      return diag_error(c->diag, v->next->next->loc, "expected 'seed'"), false;
    long seed;
    if (!value_int(c, v->next->next->next->value, "seed", 0, 2147483647L, &seed))
      return false;
    c->prog->keep_seed = seed;
  }
  return true;
}

/* only [C, ...]: the classes every split keeps (the others' examples are
 * dropped from the files as read), for a model trained on some classes */
static bool data_only(Checker *c, const Item *it) {
  if (!want_values(c, it, 1, "a list of classes, like: only [Sandal, Shirt]"))
    return false;
  const Expr *list = it->values->value;
  if (list->kind != EX_LIST || !list->args)
    return diag_error(c->diag, list->loc, "'only' expects a list of classes [C, ...]"), false;
  for (const Arg *a = list->args; a; a = a->next) {
    int id = class_id(c, a->value, a->loc);
    if (id < 0)
      return false;
    c->prog->only_class[id] = true;
  }
  c->prog->only_given = true;
  return true;
}

/* initialize [L, ...] from "CKPT", or initialize from "CKPT" (every layer
 * whose tensors match): weights copied from another model's checkpoint by
 * layer name; the names are checked against the model in ir_build.c, the
 * tensors against the file when the program starts */
static bool train_initialize(Checker *c, const Item *it) {
  int n = arg_count(it->values);
  const Arg *v = it->values;
  const Expr *list = n == 3 ? v->value : NULL;
  if (n == 3)
    v = v->next;
  if (it->value || (n != 2 && n != 3) || (list && list->kind != EX_LIST) ||
      !is_word(v->value, "from") || v->next->value->kind != EX_STRING)
    return diag_error(c->diag, it->loc, "'initialize' expects [LAYER, ...] from \"CKPT\", like: "
                      "initialize [conv2d, conv2d_1] from \"runs/base/best.ckpt\" (no list: "
                      "every layer that matches)"), false;
  c->prog->init_from = v->next->value->text;
  c->prog->init_loc = v->next->loc;
  for (const Arg *a = list ? list->args : NULL; a; a = a->next) {
    if (a->value->kind != EX_IDENT && a->value->kind != EX_STRING)
      return diag_error(c->diag, a->loc, "a layer name, like conv2d_1"), false;
    if (c->prog->n_init_layers >= MAX_INIT_LAYERS)
      return diag_error(c->diag, a->loc, "too many layers to initialize"), false;
    c->prog->init_layer_locs[c->prog->n_init_layers] = a->loc;
    c->prog->init_layers[c->prog->n_init_layers++] = a->value->text;
  }
  return true;
}

/* oversample train [seed S]: repeat each class up to the largest one */
static bool data_oversample(Checker *c, const Item *it) {
  int n = arg_count(it->values);
  const Arg *v = it->values;
  if (it->value || (n != 1 && n != 3) || !is_word(v->value, "train"))
    return diag_error(c->diag, it->loc, "'oversample' expects: oversample train [seed S]"), false;
  if (n == 3) {
    long seed;
    if (!is_word(v->next->value, "seed"))
      return diag_error(c->diag, v->next->loc, "expected 'seed'"), false;
    if (!value_int(c, v->next->next->value, "seed", 0, 2147483647L, &seed))
      return false;
    c->prog->oversample_seed = seed;
  }
  c->prog->oversample = true;
  return true;
}

/* labels binary {name: [Class, ...], ...}: one 0/1 target per name */
static bool labels_binary(Checker *c, const Arg *v) {
  Program *p = c->prog;
  const Expr *map = v ? v->value : NULL;
  if (!map || map->kind != EX_MAP || !map->args || v->next)
    return diag_error(c->diag, v ? v->loc : p->labels_loc, "expected a map of named class "
                      "lists, like: labels binary {footwear: [Sandal, Sneaker, \"Ankle boot\"]}"),
           false;
  for (const Arg *e = map->args; e; e = e->next) {
    if (p->n_outputs == MAX_OUTPUTS)
      return diag_error(c->diag, e->loc, "too many binary targets (at most %d)", MAX_OUTPUTS),
             false;
    for (int k = 0; k < p->n_outputs; k++)
      if (!strcmp(p->output_names[k], e->key))
        return diag_error(c->diag, e->loc, "target '%s' is named twice", e->key), false;
    if (e->value->kind != EX_LIST || !e->value->args)
      return diag_error(c->diag, e->value->loc, "'%s' needs a list of classes, like [Sandal, "
                        "Sneaker]", e->key), false;
    int k = p->n_outputs++;
    p->output_names[k] = e->key;
    for (const Arg *a = e->value->args; a; a = a->next) {
      int id = class_id(c, a->value, a->loc);
      if (id < 0)
        return false;
      if (p->positive[k][id])
        return diag_error(c->diag, a->loc, "class '%s' is listed twice for '%s'",
                          p->class_names[id], e->key), false;
      p->positive[k][id] = true;
    }
  }
  return true;
}

/* labels sparse | one_hot | binary {name: [Class, ...], ...} */
static bool data_labels(Checker *c, const Item *it) {
  static const char *const kinds[] = {"sparse", "one_hot", "binary"};
  const Arg *v = it->values;
  Program *p = c->prog;
  p->labels_loc = it->loc;
  if (it->value || !v || v->value->kind != EX_IDENT)
    return diag_error(c->diag, it->loc, "expected: labels sparse | one_hot | binary {...}"), false;
  if (is_word(v->value, "binary")) {
    p->labels = LABELS_BINARY;
    return labels_binary(c, v->next);
  }
  if (v->next)
    return diag_error(c->diag, v->next->loc, "expected nothing after 'labels %s'",
                      v->value->text), false;
  if (is_word(v->value, "sparse") || is_word(v->value, "one_hot")) {
    p->labels = is_word(v->value, "sparse") ? LABELS_SPARSE : LABELS_ONE_HOT;
    return true;
  }
  const char *hint = closest_name(v->value->text, kinds, COUNT(kinds));
  diag_error(c->diag, v->loc, "unknown kind of labels '%s'%s%s%s", v->value->text,
             hint ? "; did you mean '" : " (expected sparse, one_hot or binary)", hint ? hint : "",
             hint ? "'?" : "");
  return false;
}

/* idx "DIR" */
static bool data_idx(Checker *c, const Item *it) {
  if (!want_values(c, it, 1, "a directory, like: idx \"/usr/share/datasets/fashion-mnist\""))
    return false;
  if (it->values->value->kind != EX_STRING)
    return diag_error(c->diag, it->values->loc, "the IDX directory must be a string"), false;
  c->prog->data_dir = it->values->value->text;
  return true;
}

/* directory(...), csv(...), npy(...), cifar10(...): check_source.c */
static bool data_source(Checker *c, const Item *it) {
  return check_source_item(c->diag, c->prog, it);
}

/* ---- train section ---- */

/* loss sparse_categorical_crossentropy(from_logits=false)
 *      categorical_crossentropy(from_logits=false, label_smoothing=0)
 *      binary_crossentropy(from_logits=false, label_smoothing=0) */
static bool train_loss(Checker *c, const Item *it) {
  if (!want_values(c, it, 1, "a loss, like: loss sparse_categorical_crossentropy(from_logits=true)"))
    return false;
  const Expr *e = it->values->value;
  static const char *const losses[] = {"sparse_categorical_crossentropy",
                                       "categorical_crossentropy", "binary_crossentropy"};
  const char *name = call_name(e);
  int kind = 0;
  while (kind < COUNT(losses) && strcmp(name, losses[kind]) != 0)
    kind++;
  if (kind == COUNT(losses)) {
    const char *hint = closest_name(name, losses, COUNT(losses));
    diag_error(c->diag, e->loc, "unknown loss '%s'%s%s%s", name, hint ? "; did you mean '" : "",
               hint ? hint : " (supported: sparse_categorical_crossentropy, "
               "categorical_crossentropy, binary_crossentropy)", hint ? "'?" : "");
    return false;
  }
  static const char *const names[] = {"from_logits", "label_smoothing"};
  BoundArg b[2];
  int n_args = kind == 0 ? 1 : 2; /* Keras's sparse loss has no label smoothing */
  if (e->kind == EX_CALL && !bind_args(c->diag, e, losses[kind], names, n_args, 0, b))
    return false;
  Program *p = c->prog;
  p->loss = (LossKind)kind;
  p->loss_loc = e->loc;
  p->loss_given = true;
  if (e->kind == EX_CALL && b[0].value && !arg_bool(c->diag, &b[0], &p->from_logits))
    return false;
  if (e->kind == EX_CALL && n_args > 1 && b[1].value &&
      !arg_number(c->diag, &b[1], 0, 1, &p->label_smoothing))
    return false;
  return true;
}

/* The loss must suit the labels; without a loss line it follows them. */
static bool check_loss_labels(Checker *c) {
  Program *p = c->prog;
  static const LossKind loss_for[] = {LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                                      LOSS_CATEGORICAL_CROSSENTROPY, LOSS_BINARY_CROSSENTROPY};
  if (!p->loss_given)
    p->loss = loss_for[p->labels];
  if (p->loss == loss_for[p->labels])
    return true;
  switch (p->loss) {
  case LOSS_SPARSE_CATEGORICAL_CROSSENTROPY:
    diag_error(c->diag, p->loss_loc, "sparse_categorical_crossentropy expects integer labels, "
               "but the data section declares %s labels: use %s",
               p->labels == LABELS_ONE_HOT ? "one-hot" : "binary",
               p->labels == LABELS_ONE_HOT ? "categorical_crossentropy" : "binary_crossentropy");
    break;
  case LOSS_CATEGORICAL_CROSSENTROPY: /* Keras's classic shape crash, caught early */
    if (p->labels == LABELS_SPARSE)
      diag_error(c->diag, p->loss_loc, "categorical_crossentropy expects one-hot labels, but "
                 "IDX labels are integer class ids: use sparse_categorical_crossentropy (or "
                 "declare 'labels one_hot' in the data section, as to_categorical would)");
    else
      diag_error(c->diag, p->loss_loc, "categorical_crossentropy expects one-hot labels, but "
                 "the data section declares binary targets: use binary_crossentropy");
    break;
  case LOSS_BINARY_CROSSENTROPY:
    diag_error(c->diag, p->loss_loc, "binary_crossentropy needs 0/1 targets: declare them in the "
               "data section, like: labels binary {footwear: [Sandal, Sneaker, \"Ankle boot\"]}");
    break;
  }
  return false;
}

/* class_weight balanced | class_weight {Class: w, ...} */
static bool train_class_weight(Checker *c, const Item *it) {
  if (!want_values(c, it, 1, "'balanced' or a map {Class: weight, ...}"))
    return false;
  if (c->prog->labels == LABELS_BINARY) /* as Keras, which has no class weights for multi-label */
    return diag_error(c->diag, it->loc, "class weights need class labels, but the data section "
                      "declares binary targets (to rebalance, use: oversample train)"), false;
  const Expr *e = it->values->value;
  if (is_word(e, "balanced")) {
    c->prog->class_weight_balanced = true;
    return true;
  }
  if (e->kind != EX_MAP)
    return diag_error(c->diag, e->loc, "expected 'balanced' or a map {Class: weight, ...}"), false;
  for (int i = 0; i < c->prog->n_classes; i++)
    c->prog->class_weight[i] = 1.0;
  bool seen[MAX_CLASSES] = {false};
  for (const Arg *a = e->args; a; a = a->next) {
    int id = map_key_class(c, a, seen);
    if (id < 0 || !value_number(c, a->value, "class weight", 0, 1e9, &c->prog->class_weight[id]))
      return false;
  }
  c->prog->class_weight_explicit = true;
  return true;
}

/* One optimizer's arguments: names, where they go, upper bounds. Keras defaults
 * are set in set_defaults (Adam) or here (RMSprop). */
typedef struct {
  const char *name;
  OptimizerKind kind;
  double default_lr;
  const char *args[5];
  int n_args;
  size_t offsets[5]; /* into Program; 0 marks nesterov, the one boolean */
  double hi[5];
} OptimizerRule;

static const OptimizerRule OPTIMIZERS[] = {
    {"adam", OPT_ADAM, 1e-3, {"learning_rate", "beta_1", "beta_2", "epsilon"}, 4,
     {offsetof(Program, learning_rate), offsetof(Program, beta1), offsetof(Program, beta2),
      offsetof(Program, epsilon)}, {10, 0.999999999, 0.999999999, 1}},
    {"rmsprop", OPT_RMSPROP, 1e-3, {"learning_rate", "rho", "epsilon"}, 3,
     {offsetof(Program, learning_rate), offsetof(Program, rho), offsetof(Program, epsilon)},
     {10, 0.999999999, 1}},
    {"sgd", OPT_SGD, 1e-2, {"learning_rate", "momentum", "nesterov"}, 3,
     {offsetof(Program, learning_rate), offsetof(Program, momentum), 0}, {10, 0.999999999, 0}},
    {"adamw", OPT_ADAMW, 1e-3, {"learning_rate", "weight_decay", "beta_1", "beta_2", "epsilon"}, 5,
     {offsetof(Program, learning_rate), offsetof(Program, weight_decay), offsetof(Program, beta1),
      offsetof(Program, beta2), offsetof(Program, epsilon)}, {10, 1, 0.999999999, 0.999999999, 1}},
};

/* exponential_decay(initial_learning_rate, decay_steps, decay_rate, staircase=false) */
static bool schedule_exponential(Checker *c, const Expr *call) {
  static const char *const names[] = {"initial_learning_rate", "decay_steps", "decay_rate",
                                      "staircase"};
  BoundArg b[4];
  Program *p = c->prog;
  if (!bind_args(c->diag, call, "exponential_decay", names, 4, 3, b) ||
      !arg_number(c->diag, &b[0], 1e-12, 10, &p->learning_rate) ||
      !arg_int(c->diag, &b[1], 1, 1L << 40, &p->decay_steps) ||
      !arg_number(c->diag, &b[2], 1e-9, 1, &p->decay_rate) ||
      (b[3].value && !arg_bool(c->diag, &b[3], &p->staircase)))
    return false;
  p->schedule = SCHED_EXPONENTIAL;
  return true;
}

/* A list argument of whole numbers or numbers: [1000, 2000] */
static int list_values(Checker *c, const BoundArg *b, int max, bool whole, double *out) {
  if (b->value->kind != EX_LIST)
    return diag_error(c->diag, b->loc, "'%s' expects a list, like [1000, 2000]", b->name), -1;
  int n = 0;
  for (const Arg *a = b->value->args; a; a = a->next) {
    if (n == max)
      return diag_error(c->diag, a->loc, "'%s' takes at most %d entries", b->name, max), -1;
    BoundArg item = {.name = b->name, .value = a->value, .loc = a->loc};
    long v;
    if (whole ? !arg_int(c->diag, &item, 1, 1L << 40, &v)
              : !arg_number(c->diag, &item, 1e-12, 10, &out[n]))
      return -1;
    if (whole)
      out[n] = (double)v;
    n++;
  }
  return n;
}

/* piecewise_constant_decay(boundaries=[S1, S2, ...], values=[r0, r1, r2, ...]) */
static bool schedule_piecewise(Checker *c, const Expr *call) {
  static const char *const names[] = {"boundaries", "values"};
  BoundArg b[2];
  Program *p = c->prog;
  double steps[MAX_BOUNDARIES];
  if (!bind_args(c->diag, call, "piecewise_constant_decay", names, 2, 2, b))
    return false;
  int n = list_values(c, &b[0], MAX_BOUNDARIES, true, steps);
  int nv = n < 0 ? -1 : list_values(c, &b[1], MAX_BOUNDARIES + 1, false, p->values);
  if (n < 0 || nv < 0)
    return false;
  if (n == 0)
    return diag_error(c->diag, b[0].loc, "'boundaries' needs at least one step"), false;
  if (nv != n + 1)
    return diag_error(c->diag, b[1].loc, "'values' needs one more entry than 'boundaries' "
                      "(%d boundaries, so %d values; got %d)", n, n + 1, nv), false;
  const Arg *entry = b[0].value->args;
  for (int i = 0; i < n; i++, entry = entry->next) {
    if (i > 0 && steps[i] <= steps[i - 1])
      return diag_error(c->diag, entry->loc, "'boundaries' must increase (%.0f after %.0f)",
                        steps[i], steps[i - 1]), false;
    p->boundaries[i] = (long)steps[i];
  }
  p->n_boundaries = n;
  p->learning_rate = p->values[0];
  p->schedule = SCHED_PIECEWISE;
  return true;
}

/* cosine_decay(initial_learning_rate, decay_steps, alpha=0, warmup_target=, warmup_steps=0) */
static bool schedule_cosine(Checker *c, const Expr *call) {
  static const char *const names[] = {"initial_learning_rate", "decay_steps", "alpha",
                                      "warmup_target", "warmup_steps"};
  BoundArg b[5];
  Program *p = c->prog;
  if (!bind_args(c->diag, call, "cosine_decay", names, 5, 2, b) ||
      !arg_number(c->diag, &b[0], 0, 10, &p->learning_rate) ||
      !arg_int(c->diag, &b[1], 1, 1L << 40, &p->decay_steps) ||
      (b[2].value && !arg_number(c->diag, &b[2], 0, 1, &p->alpha)) ||
      (b[3].value && !arg_number(c->diag, &b[3], 1e-12, 10, &p->warmup_target)) ||
      (b[4].value && !arg_int(c->diag, &b[4], 0, 1L << 40, &p->warmup_steps)))
    return false;
  if ((p->warmup_steps > 0) != (b[3].value != NULL))
    return diag_error(c->diag, call->loc, "cosine_decay's warmup needs both 'warmup_target' and "
                      "'warmup_steps'"), false;
  if (p->learning_rate == 0 && p->warmup_steps == 0)
    return diag_error(c->diag, b[0].loc, "'initial_learning_rate' must be positive without a "
                      "warmup"), false;
  p->schedule = SCHED_COSINE;
  return true;
}

/* learning_rate=SCHEDULE(...): Keras's schedules, by their snake_case names */
static bool lr_schedule(Checker *c, const Expr *call) {
  static const char *const names[] = {"exponential_decay", "piecewise_constant_decay",
                                      "cosine_decay"};
  if (!strcmp(call->text, names[0]))
    return schedule_exponential(c, call);
  if (!strcmp(call->text, names[1]))
    return schedule_piecewise(c, call);
  if (!strcmp(call->text, names[2]))
    return schedule_cosine(c, call);
  const char *hint = closest_name(call->text, names, COUNT(names));
  diag_error(c->diag, call->loc, "unknown learning-rate schedule '%s'%s%s%s", call->text,
             hint ? "; did you mean '" : " (supported: exponential_decay, "
             "piecewise_constant_decay, cosine_decay)", hint ? hint : "", hint ? "'?" : "");
  return false;
}

/* optimizer adam(learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
 * optimizer rmsprop(learning_rate=1e-3, rho=0.9, epsilon=1e-7) */
static bool train_optimizer(Checker *c, const Item *it) {
  if (!want_values(c, it, 1, "an optimizer, like: optimizer adam(learning_rate=1e-3)"))
    return false;
  const Expr *e = it->values->value;
  const char *name = call_name(e);
  const OptimizerRule *rule = NULL;
  const char *names[COUNT(OPTIMIZERS)];
  for (int i = 0; i < COUNT(OPTIMIZERS); i++) {
    names[i] = OPTIMIZERS[i].name;
    if (!strcmp(name, OPTIMIZERS[i].name))
      rule = &OPTIMIZERS[i];
  }
  if (!rule) {
    const char *hint = closest_name(name, names, COUNT(OPTIMIZERS));
    diag_error(c->diag, e->loc, "unknown optimizer '%s'%s%s%s", name,
               hint ? "; did you mean '" : " (supported: adam, adamw, rmsprop, sgd)", hint ? hint : "",
               hint ? "'?" : "");
    return false;
  }
  c->prog->optimizer = rule->kind;
  c->prog->learning_rate = rule->default_lr; /* Keras's default for this optimizer */
  if (e->kind != EX_CALL)
    return true;
  /* every optimizer also takes Keras's clipnorm and global_clipnorm */
  const char *arg_names[7];
  for (int i = 0; i < rule->n_args; i++)
    arg_names[i] = rule->args[i];
  arg_names[rule->n_args] = "clipnorm";
  arg_names[rule->n_args + 1] = "global_clipnorm";
  BoundArg b[7];
  const BoundArg *clip = &b[rule->n_args], *global_clip = &b[rule->n_args + 1];
  if (!bind_args(c->diag, e, rule->name, arg_names, rule->n_args + 2, 0, b))
    return false;
  if ((clip->value && !arg_number(c->diag, clip, 1e-12, 1e12, &c->prog->clipnorm)) ||
      (global_clip->value &&
       !arg_number(c->diag, global_clip, 1e-12, 1e12, &c->prog->global_clipnorm)))
    return false;
  if (clip->value && global_clip->value) /* Keras raises the same */
    return diag_error(c->diag, global_clip->loc, "give either 'clipnorm' or 'global_clipnorm', "
                      "not both"), false;
  for (int i = 0; i < rule->n_args; i++) {
    if (!b[i].value)
      continue;
    if (i == 0 && b[0].value->kind == EX_CALL) { /* a schedule */
      if (!lr_schedule(c, b[0].value))
        return false;
      continue;
    }
    if (rule->offsets[i] == 0) {
      if (!arg_bool(c->diag, &b[i], &c->prog->nesterov))
        return false;
      continue;
    }
    double *dst = (double *)((char *)c->prog + rule->offsets[i]);
    if (!arg_number(c->diag, &b[i], 0, rule->hi[i], dst))
      return false;
  }
  if (c->prog->learning_rate <= 0 && c->prog->schedule == SCHED_CONSTANT)
    return diag_error(c->diag, b[0].loc, "'learning_rate' must be positive"), false;
  return true;
}

static bool train_int(Checker *c, const Item *it, int *dst, long lo, long hi) {
  if (!want_values(c, it, 1, "one whole number"))
    return false;
  long v;
  if (!value_int(c, it->values->value, it->name, lo, hi, &v))
    return false;
  *dst = (int)v;
  return true;
}

static bool train_epochs(Checker *c, const Item *it) {
  return train_int(c, it, &c->prog->epochs, 1, 100000);
}

static bool train_batch_size(Checker *c, const Item *it) {
  return train_int(c, it, &c->prog->batch_size, 1, 65536);
}

static bool train_seed(Checker *c, const Item *it) {
  int seed;
  if (!train_int(c, it, &seed, 0, 2147483647L))
    return false;
  c->prog->seed = seed;
  return true;
}

static bool train_shuffle(Checker *c, const Item *it) {
  return want_values(c, it, 1, "true or false") &&
         value_bool(c, it->values->value, "shuffle", &c->prog->shuffle);
}

/* checkpoint(monitor=val_accuracy, save_best_only=true, mode=auto, verbose=1)
 * checkpoint("best.ckpt", monitor=...): Keras's ModelCheckpoint(filepath, ...),
 * a file name first, relative to the output directory unless absolute */
static bool train_checkpoint(Checker *c, const Item *it) {
  static const char *const names[] = {"filepath", "monitor", "save_best_only", "mode", "verbose"};
  BoundArg all[5], *b = all + 1;
  Callback *cb = &c->prog->checkpoint;
  if (!it->value)
    return diag_error(c->diag, it->loc, "write checkpoint(monitor=val_accuracy, "
                      "save_best_only=true)"), false;
  const Arg *first = it->value->args;
  bool path_first = first && !first->key && first->value->kind == EX_STRING;
  for (const Arg *a = first; a; a = a->next)
    path_first |= a->key && !strcmp(a->key, "filepath");
  /* without a file name (first, or filepath=), positional arguments start at monitor */
  if (path_first ? !bind_args(c->diag, it->value, "checkpoint", names, 5, 0, all)
                 : !bind_args(c->diag, it->value, "checkpoint", names + 1, 4, 0, b))
    return false;
  if (!path_first)
    all[0] = (BoundArg){.name = "filepath"};
  if (all[0].value) {
    if (all[0].value->kind != EX_STRING || !all[0].value->text[0])
      return diag_error(c->diag, all[0].value->loc, "'filepath' must be a file name in quotes"), false;
    c->prog->checkpoint_file = all[0].value->text;
  }
  if (!check_monitor(c, &b[0], cb) || !check_mode(c, &b[2], cb) || !check_verbose(c, &b[3], cb))
    return false;
  cb->save_best_only = false;
  if (b[1].value && !arg_bool(c->diag, &b[1], &cb->save_best_only))
    return false;
  cb->enabled = true;
  if (!b[0].value)
    cb->loc = it->loc;
  return true;
}

/* top_k_accuracy(k=5): Keras's TopKCategoricalAccuracy; the others take no arguments */
static bool metric_arguments(Checker *c, const Expr *call, int metric) {
  static const char *const names[] = {"k"};
  BoundArg b[1];
  if (!bind_args(c->diag, call, call->text, names, metric == 1, 0, b))
    return false;
  long k = 5;
  if (metric == 1 && b[0].value && !arg_int(c->diag, &b[0], 1, MAX_CLASSES, &k))
    return false;
  if (metric == 1 && k > c->prog->n_classes)
    return diag_error(c->diag, b[0].value->loc, "k = %ld is more than the %d classes", k,
                      c->prog->n_classes), false;
  if (metric == 1)
    c->prog->top_k = (int)k;
  return true;
}

/* metrics [accuracy, top_k_accuracy, auc, precision, recall]: what each
 * epoch logs beside the loss (Keras's compile(metrics=[...])); accuracy is
 * always logged. precision and recall are macro averages over the classes of
 * the argmax predictions (a class never predicted has precision 0). */
static bool train_metrics(Checker *c, const Item *it) {
  static const char *const known[] = {"accuracy", "top_k_accuracy", "auc", "precision", "recall"};
  Program *p = c->prog;
  if (!want_values(c, it, 1, "a list, like: metrics [accuracy, top_k_accuracy, auc]"))
    return false;
  const Expr *list = it->values->value;
  if (list->kind != EX_LIST)
    return diag_error(c->diag, list->loc, "expected a list, like: metrics [accuracy, auc]"), false;
  for (const Arg *a = list->args; a; a = a->next) {
    const char *name = call_name(a->value);
    int k = 0;
    while (k < COUNT(known) && strcmp(name, known[k]) != 0)
      k++;
    if (k == COUNT(known)) {
      const char *hint = closest_name(name, known, COUNT(known));
      diag_error(c->diag, a->loc, "unknown metric '%s'%s%s%s", name,
                 hint ? "; did you mean '"
                      : " (supported: accuracy, top_k_accuracy, auc, precision, recall)",
                 hint ? hint : "", hint ? "'?" : "");
      return false;
    }
    if (k == 1 && p->labels == LABELS_BINARY)
      return diag_error(c->diag, a->loc, "top_k_accuracy ranks classes, but the data section "
                        "declares binary targets"), false;
    if (k >= 3 && p->labels == LABELS_BINARY)
      return diag_error(c->diag, a->loc, "%s as a training metric is per class, but the data "
                        "section declares binary targets (expect precision[TARGET] in the "
                        "evaluate section reports it per target)", name), false;
    if (a->value->kind == EX_CALL && !metric_arguments(c, a->value, k))
      return false;
    p->metric_top_k |= k == 1;
    p->metric_auc |= k == 2;
    p->metric_precision |= k == 3;
    p->metric_recall |= k == 4;
  }
  return true;
}

/* csv_logger("log.csv", separator=",", append=false): Keras's CSVLogger */
static bool train_csv_logger(Checker *c, const Item *it) {
  static const char *const names[] = {"filename", "separator", "append"};
  BoundArg b[3];
  Program *p = c->prog;
  if (!it->value)
    return diag_error(c->diag, it->loc, "write csv_logger(\"training.csv\")"), false;
  if (!bind_args(c->diag, it->value, "csv_logger", names, 3, 1, b))
    return false;
  if (b[0].value->kind != EX_STRING || !b[0].value->text[0])
    return diag_error(c->diag, b[0].loc, "the log's filename must be a non-empty string"), false;
  p->csv_path = b[0].value->text;
  p->csv_separator = ',';
  if (b[1].value) {
    const char *sep = b[1].value->kind == EX_STRING ? b[1].value->text : "";
    if (strlen(sep) != 1 || sep[0] == '\n' || sep[0] == '"' || sep[0] == '.' ||
        (sep[0] >= '0' && sep[0] <= '9') || sep[0] == '-')
      return diag_error(c->diag, b[1].loc, "the separator must be one character that cannot "
                        "appear in a number, like \",\" or \";\""), false;
    p->csv_separator = sep[0];
  }
  if (b[2].value && !arg_bool(c->diag, &b[2], &p->csv_append))
    return false;
  p->csv_logger = true;
  return true;
}

/* early_stopping(monitor=val_loss, patience=5, min_delta=0, restore_best_weights=true, mode=auto,
 *                verbose=1) */
static bool train_early_stopping(Checker *c, const Item *it) {
  static const char *const names[] = {"monitor", "patience", "min_delta", "restore_best_weights",
                                      "mode", "verbose"};
  BoundArg b[6];
  Callback *cb = &c->prog->early_stopping;
  if (!it->value)
    return diag_error(c->diag, it->loc, "write early_stopping(monitor=val_loss, patience=5)"),
           false;
  if (!bind_args(c->diag, it->value, "early_stopping", names, 6, 0, b) ||
      !check_monitor(c, &b[0], cb) || !check_mode(c, &b[4], cb) || !check_verbose(c, &b[5], cb))
    return false;
  long patience = 0;
  if (b[1].value && !arg_int(c->diag, &b[1], 0, 100000, &patience))
    return false;
  cb->patience = (int)patience;
  if (b[2].value && !arg_number(c->diag, &b[2], 0, 1e9, &cb->min_delta))
    return false;
  if (b[3].value && !arg_bool(c->diag, &b[3], &cb->restore_best))
    return false;
  cb->enabled = true;
  if (!b[0].value)
    cb->loc = it->loc;
  return true;
}

/* reduce_lr_on_plateau(monitor=val_loss, factor=0.1, patience=10, min_delta=1e-4,
 *                      cooldown=0, min_lr=0, mode=auto, verbose=1)   (Keras's defaults) */
static bool train_reduce_lr(Checker *c, const Item *it) {
  static const char *const names[] = {"monitor", "factor",  "patience", "min_delta",
                                      "cooldown", "min_lr", "mode", "verbose"};
  BoundArg b[8];
  Callback *cb = &c->prog->reduce_lr;
  if (!it->value)
    return diag_error(c->diag, it->loc, "write reduce_lr_on_plateau(monitor=val_loss, "
                      "factor=0.5, patience=3)"), false;
  if (!bind_args(c->diag, it->value, "reduce_lr_on_plateau", names, 8, 0, b) ||
      !check_monitor(c, &b[0], cb) || !check_mode(c, &b[6], cb) || !check_verbose(c, &b[7], cb))
    return false;
  long patience = 10, cooldown = 0;
  cb->factor = 0.1;
  cb->min_delta = 1e-4;
  cb->min_lr = 0;
  if ((b[1].value && !arg_number(c->diag, &b[1], 1e-9, 0.999999, &cb->factor)) ||
      (b[2].value && !arg_int(c->diag, &b[2], 0, 100000, &patience)) ||
      (b[3].value && !arg_number(c->diag, &b[3], 0, 1e9, &cb->min_delta)) ||
      (b[4].value && !arg_int(c->diag, &b[4], 0, 100000, &cooldown)) ||
      (b[5].value && !arg_number(c->diag, &b[5], 0, 10, &cb->min_lr)))
    return false;
  cb->patience = (int)patience;
  cb->cooldown = (int)cooldown;
  cb->enabled = true;
  if (!b[0].value)
    cb->loc = it->loc;
  return true;
}

/* ---- evaluate section ---- */

static bool parse_compare_op(const char *op, CompareOp *out) {
  static const char *const ops[] = {">", ">=", "<", "<=", "==", "!="};
  for (int i = 0; i < 6; i++)
    if (strcmp(op, ops[i]) == 0)
      return *out = (CompareOp)i, true;
  return false;
}

/* The text of an expectation as written (from its left side to the end of the line). */
static const char *source_span(Checker *c, SrcLoc from, SrcLoc line) {
  const char *p = c->diag->src->text;
  for (int l = 1; l < line.first_line && p; l++)
    p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
  if (!p)
    return "";
  p += from.first_column - 1;
  size_t n = strcspn(p, "#\n;}");
  while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
    n--;
  return arena_strndup(c->arena, p, n);
}

/* expect accuracy > 0.8 | expect recall[Class] > 0.8 | expect params(layer) == 3 */
/* A binary target by name or number (the metrics' index with labels binary). */
static int output_id(Checker *c, const Expr *e) {
  const Program *p = c->prog;
  if (e->kind == EX_NUMBER && e->is_integer && e->number >= 0 && e->number < p->n_outputs)
    return (int)e->number;
  for (int k = 0; e->text && k < p->n_outputs; k++)
    if (!strcmp(p->output_names[k], e->text))
      return k;
  const char *hint = e->text ? closest_name(e->text, p->output_names, p->n_outputs) : NULL;
  diag_error(c->diag, e->loc, "unknown binary target '%s'%s%s%s", e->text ? e->text : "?",
             hint ? "; did you mean '" : " (the targets are the names in 'labels binary')",
             hint ? hint : "", hint ? "'?" : "");
  return -1;
}

static bool eval_expect(Checker *c, const Item *it) {
  const Expr *cmp = it->value;
  Expectation x = {.loc = it->loc};
  if (c->prog->n_expect >= MAX_EXPECTATIONS)
    return diag_error(c->diag, it->loc, "too many expectations"), false;
  if (!parse_compare_op(cmp->text, &x.op))
    NNC_BUG("unknown comparison '%s'", cmp->text);
  if (!value_number(c, cmp->rhs, "threshold", -1e30, 1e30, &x.threshold))
    return false;
  const Expr *l = cmp->lhs;
  bool binary = c->prog->labels == LABELS_BINARY;
  static const char *const per_class[] = {"recall", "precision", "f1", "auc"};
  static const ExpectKind per_class_kind[] = {EXPECT_RECALL, EXPECT_PRECISION, EXPECT_F1,
                                              EXPECT_AUC};
  if (is_word(l, "accuracy") || is_word(l, "loss") || is_word(l, "top_k_accuracy") ||
      is_word(l, "auc")) {
    x.kind = is_word(l, "accuracy") ? EXPECT_ACCURACY
           : is_word(l, "loss")     ? EXPECT_LOSS
           : is_word(l, "auc")      ? EXPECT_AUC
                                    : EXPECT_TOP_K;
    x.class_id = -1; /* auc: the macro average */
    if (x.kind == EXPECT_TOP_K && binary)
      return diag_error(c->diag, l->loc, "top_k_accuracy ranks classes, but the data section "
                        "declares binary targets"), false;
  } else if (l->kind == EX_INDEX) {
    int k;
    for (k = 0; k < 4 && strcmp(l->lhs->text, per_class[k]); k++)
      ;
    if (k == 4)
      return diag_error(c->diag, l->loc, "per-class metrics are recall[...], precision[...], "
                        "f1[...] and auc[...]"), false;
    x.kind = per_class_kind[k];
    x.class_id = binary ? output_id(c, l->rhs) : class_id(c, l->rhs, l->rhs->loc);
    if (x.class_id < 0)
      return false;
  } else if (l->kind == EX_CALL && strcmp(l->text, "params") == 0) {
    if (arg_count(l->args) != 1 || l->args->key || l->args->value->kind != EX_IDENT)
      return diag_error(c->diag, l->loc, "write params(LAYER), e.g. params(normalization)"), false;
    x.kind = EXPECT_PARAMS;
    x.layer_name = l->args->value->text; /* resolved against the graph in ir_build.c */
  } else {
    return diag_error(c->diag, l->loc, "cannot expect this: use accuracy, top_k_accuracy, loss, "
                      "auc, recall[C], precision[C], f1[C], auc[C] or params(LAYER)"), false;
  }
  x.text = source_span(c, cmp->lhs->loc, it->loc);
  c->prog->expect[c->prog->n_expect++] = x;
  return true;
}

/* ---- dispatch ---- */

typedef bool (*SettingFn)(Checker *, const Item *);
typedef struct {
  const char *key;
  SettingFn fn;
} SettingRule;

static const SettingRule DATA_RULES[] = {
    {"idx", data_idx},         {"classes", data_classes}, {"validation", data_validation},
    {"labels", data_labels},
    {"keep", data_keep},       {"limit", data_limit},     {"oversample", data_oversample},
    {"only", data_only},
    {"directory", data_source}, {"csv", data_source},     {"npy", data_source},
    {"cifar10", data_source},
};
static const SettingRule TRAIN_RULES[] = {
    {"loss", train_loss},           {"class_weight", train_class_weight},
    {"optimizer", train_optimizer}, {"epochs", train_epochs},
    {"batch_size", train_batch_size}, {"shuffle", train_shuffle},
    {"seed", train_seed},           {"checkpoint", train_checkpoint},
    {"early_stopping", train_early_stopping}, {"reduce_lr_on_plateau", train_reduce_lr},
    {"csv_logger", train_csv_logger}, {"metrics", train_metrics},
    {"initialize", train_initialize},
};

static bool check_item(Checker *c, const Section *s, const Item *it, const SettingRule *rules,
                       int n_rules) {
  if (it->kind == ITEM_EXPECT) {
    if (strcmp(s->kind, "evaluate") == 0)
      return eval_expect(c, it);
    return diag_error(c->diag, it->loc, "'expect' belongs in the evaluate section"), false;
  }
  if (it->kind != ITEM_SETTING)
    return diag_error(c->diag, it->loc, "'%s' statements belong in the model section",
                      it->kind == ITEM_RETURN ? "return" : "assignment"), false;
  const char *names[32];
  for (int i = 0; i < n_rules; i++) {
    if (strcmp(it->name, rules[i].key) == 0)
      return rules[i].fn(c, it);
    names[i] = rules[i].key;
  }
  const char *hint = closest_name(it->name, names, n_rules);
  if (hint)
    diag_error(c->diag, it->loc, "unknown setting '%s' in the %s section; did you mean '%s'?",
               it->name, s->kind, hint);
  else
    diag_error(c->diag, it->loc, "unknown setting '%s' in the %s section", it->name, s->kind);
  return false;
}

static bool is_read_first(const Item *it) {
  return it->kind == ITEM_SETTING && (!strcmp(it->name, "classes") || !strcmp(it->name, "metrics"));
}

static bool check_section(Checker *c, const Section *s) {
  const SettingRule *rules = NULL;
  int n = 0;
  if (strcmp(s->kind, "data") == 0)
    rules = DATA_RULES, n = COUNT(DATA_RULES);
  else if (strcmp(s->kind, "train") == 0)
    rules = TRAIN_RULES, n = COUNT(TRAIN_RULES);
  else if (strcmp(s->kind, "evaluate") == 0)
    c->prog->has_evaluate = true;
  if (s->has_params && strcmp(s->kind, "model") != 0)
    return diag_error(c->diag, s->name_loc, "only a model section takes inputs ( ... )"), false;
  if (strcmp(s->kind, "data") == 0)
    c->prog->data_name = s->name;
  /* settings others refer to first, wherever they are written: classes
   * (named by keep rules and labels), metrics (named by monitors) */
  for (int pass = 0; pass < 2; pass++)
    for (const Item *it = s->items; it; it = it->next)
      if (is_read_first(it) == (pass == 0) && !check_item(c, s, it, rules, n))
        return false;
  return true;
}

/* The data section must come first among data/train/evaluate: class names
 * used by train and evaluate are resolved against it. */
static bool check_section_kinds(Checker *c, const Ast *ast) {
  const Section *seen[4] = {0};
  for (const Section *s = ast->sections; s; s = s->next) {
    int k;
    for (k = 0; k < 4 && strcmp(s->kind, SECTION_KINDS[k]); k++)
      ;
    if (k == 4) {
      const char *hint = closest_name(s->kind, SECTION_KINDS, 4);
      diag_error(c->diag, s->loc, "unknown section '%s'%s%s%s", s->kind,
                 hint ? "; did you mean '" : " (expected model, data, train or evaluate)",
                 hint ? hint : "", hint ? "'?" : "");
      return false;
    }
    if (seen[k]) {
      diag_error(c->diag, s->loc, "a second %s section (one of each is allowed)", s->kind);
      diag_note(c->diag, seen[k]->loc, "the first one is here");
      return false;
    }
    seen[k] = s;
  }
  if (!seen[0]) {
    diag_error(c->diag, (SrcLoc){1, 1, 1, 1}, "no model section: declare one with "
               "model NAME(x: u8[28, 28]) { ... }");
    return false;
  }
  if (!seen[0]->has_params || !seen[0]->params) {
    diag_error(c->diag, seen[0]->name_loc, "the model needs an input, like "
               "model %s(x: u8[28, 28])", seen[0]->name ? seen[0]->name : "NAME");
    return false;
  }
  if (!seen[0]->name) {
    diag_error(c->diag, seen[0]->loc, "the model needs a name: model NAME(x: u8[28, 28]) { ... }");
    return false;
  }
  return true;
}

/* Data first (class names), then train, then evaluate. */
static bool check_in_order(Checker *c, const Ast *ast) {
  static const char *const order[] = {"data", "train", "evaluate"};
  for (int k = 0; k < 3; k++)
    for (const Section *s = ast->sections; s; s = s->next)
      if (strcmp(s->kind, order[k]) == 0 && !check_section(c, s))
        return false;
  return true;
}

static bool check_callbacks(Checker *c) {
  Program *p = c->prog;
  const Callback *callbacks[] = {&p->checkpoint, &p->early_stopping, &p->reduce_lr};
  const Callback *needs_val = NULL;
  for (int i = 2; i >= 0; i--)
    if (callbacks[i]->enabled && !strncmp(callbacks[i]->monitor, "val_", 4))
      needs_val = callbacks[i];
  if (needs_val && p->validation == VAL_NONE) {
    SrcLoc loc = needs_val->loc;
    diag_error(c->diag, loc, "this monitors a validation metric, but the data section sets no "
               "validation split (add: validation last 5000)");
    return false;
  }
  for (int i = 0; i < p->n_keep; i++)
    if (p->keep[i].class_id >= p->n_classes)
      NNC_BUG("class id out of range");
  return true;
}

/* The model's one input, x: u8[28, 28]: its type and at most 4 dimensions,
 * each positive, together at most MAX_EXAMPLE_ELEMS values. */
static bool check_model_input(Checker *c, const Section *model) {
  const Param *p = model->params;
  if (strcmp(p->dtype, "u8") != 0) {
    diag_error(c->diag, p->dtype_loc, "input type '%s' is not supported: IDX images are u8",
               p->dtype);
    return false;
  }
  if (p->next) {
    diag_error(c->diag, p->next->loc, "a model takes one input in this version");
    return false;
  }
  Program *prog = c->prog;
  size_t elems = 1;
  for (const Arg *d = p->dim_args; d; d = d->next) {
    long v;
    BoundArg ba = {.name = "dimension", .value = d->value, .loc = d->loc};
    if (prog->input_rank == 4) {
      diag_error(c->diag, d->loc, "an input has at most 4 dimensions");
      return false;
    }
    if (!arg_int(c->diag, &ba, 1, 1 << 20, &v))
      return false;
    prog->input_dims[prog->input_rank++] = (int)v;
    elems *= (size_t)v;
  }
  if (elems > MAX_EXAMPLE_ELEMS) {
    diag_error(c->diag, p->loc, "an input example of %zu values is too large (at most %d)", elems,
               MAX_EXAMPLE_ELEMS);
    return false;
  }
  prog->input_name = p->name;
  prog->input_loc = p->loc;
  return true;
}

/* Errors about the (default) loss point at the train section, or the model. */
static void default_loss_location(Checker *c, const Ast *ast) {
  if (c->prog->loss_loc.first_line > 0)
    return;
  const Section *model = ast_model_section(ast);
  c->prog->loss_loc = model->loc;
  for (const Section *s = ast->sections; s; s = s->next)
    if (strcmp(s->kind, "train") == 0)
      c->prog->loss_loc = s->loc;
}

bool check_program(Program *prog, const Ast *ast, Arena *arena, Diag *diag) {
  Checker c = {.prog = prog, .arena = arena, .diag = diag};
  set_defaults(prog);
  if (!check_section_kinds(&c, ast) || !check_model_input(&c, ast_model_section(ast)) ||
      !check_in_order(&c, ast) || !check_callbacks(&c) || !check_source_input(diag, prog))
    return false;
  default_loss_location(&c, ast);
  return check_loss_labels(&c);
}
