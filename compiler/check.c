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
#include "checker.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>


static const char *const SECTION_KINDS[] = {"model", "data", "train", "evaluate"};
/* What an epoch logs: loss and accuracy always, the metrics setting's too,
 * each on the training split and as val_NAME on the validation split. */
const char *const EPOCH_METRICS[] = {"loss", "accuracy", "top_k_accuracy", "auc",
                                            "precision", "recall"};
const char *const VAL_EPOCH_METRICS[] = {"val_loss", "val_accuracy", "val_top_k_accuracy",
                                                "val_auc", "val_precision", "val_recall"};
static const char *const FASHION_CLASSES[] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                              "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                              "Bag",         "Ankle boot"};


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
bool want_values(Checker *c, const Item *it, int n, const char *form) {
  if (it->value || arg_count(it->values) != n) {
    diag_error(c->diag, it->loc, "'%s' expects %s", it->name, form);
    return false;
  }
  return true;
}

bool value_int(Checker *c, const Expr *e, const char *what, long lo, long hi, long *out) {
  BoundArg b = {.name = what, .value = e, .loc = e->loc};
  return arg_int(c->diag, &b, lo, hi, out);
}

bool value_number(Checker *c, const Expr *e, const char *what, double lo, double hi,
                         double *out) {
  BoundArg b = {.name = what, .value = e, .loc = e->loc};
  return arg_number(c->diag, &b, lo, hi, out);
}

bool value_bool(Checker *c, const Expr *e, const char *what, bool *out) {
  BoundArg b = {.name = what, .value = e, .loc = e->loc};
  return arg_bool(c->diag, &b, out);
}

/* The name a setting's value gives: adam, adam(...), or Keras's string
 * spelling "adam" (compile(optimizer="adam", loss="...")). */
const char *call_name(const Expr *e) {
  return e->kind == EX_CALL || e->kind == EX_IDENT || e->kind == EX_STRING ? e->text : "";
}

bool is_word(const Expr *e, const char *word) {
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

int class_id(Checker *c, const Expr *e, SrcLoc loc) {
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
int monitor_names(const Program *p, const char **names) {
  bool on[] = {true, true, p->metric_top_k, p->metric_auc, p->metric_precision, p->metric_recall};
  int n = 0;
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < 6; i++)
      if (on[i])
        names[n++] = pass ? VAL_EPOCH_METRICS[i] : EPOCH_METRICS[i];
  return n;
}

bool check_monitor(Checker *c, const BoundArg *b, Callback *cb) {
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
bool check_verbose(Checker *c, const BoundArg *b, Callback *cb) {
  long v = 1;
  if (b->value && !arg_int(c->diag, b, 0, 2, &v))
    return false;
  cb->verbose = (int)v;
  return true;
}

bool check_mode(Checker *c, const BoundArg *b, Callback *cb) {
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
int map_key_class(Checker *c, const Arg *entry, bool *seen) {
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

/* ---- dispatch ---- */



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
    rules = DATA_RULES, n = N_DATA_RULES;
  else if (strcmp(s->kind, "train") == 0)
    rules = TRAIN_RULES, n = N_TRAIN_RULES;
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

/* The model's one input, x: u8[28, 28] or x: f32[4]: its type and at most 4
 * dimensions, each positive, together at most MAX_EXAMPLE_ELEMS values. */
static bool check_model_input(Checker *c, const Section *model) {
  const Param *p = model->params;
  if (strcmp(p->dtype, "u8") != 0 && strcmp(p->dtype, "f32") != 0) {
    diag_error(c->diag, p->dtype_loc, "input type '%s' is not supported: u8 (images, raw "
               "values 0..255) or f32 (float features, fed as they are)", p->dtype);
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
  prog->input_f32 = strcmp(p->dtype, "f32") == 0;
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
