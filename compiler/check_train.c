/*
 * check_train.c — the train section's settings: the loss (and that it suits
 * the labels), class weights, the optimizer and its learning-rate schedules,
 * epochs, batch size, seed, shuffle, the callbacks, metrics and initialize.
 */
#include "checker.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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
bool check_loss_labels(Checker *c) {
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

const SettingRule TRAIN_RULES[] = {
    {"loss", train_loss},           {"class_weight", train_class_weight},
    {"optimizer", train_optimizer}, {"epochs", train_epochs},
    {"batch_size", train_batch_size}, {"shuffle", train_shuffle},
    {"seed", train_seed},           {"checkpoint", train_checkpoint},
    {"early_stopping", train_early_stopping}, {"reduce_lr_on_plateau", train_reduce_lr},
    {"csv_logger", train_csv_logger}, {"metrics", train_metrics},
    {"initialize", train_initialize},
};
const int N_TRAIN_RULES = COUNT(TRAIN_RULES);

