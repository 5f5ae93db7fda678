/*
 * check_data.c — the data section's settings (classes, validation, limits,
 * keep and only, oversampling, labels, idx; the sources are check_source.c).
 */
#include "checker.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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

const SettingRule DATA_RULES[] = {
    {"idx", data_idx},         {"classes", data_classes}, {"validation", data_validation},
    {"labels", data_labels},
    {"keep", data_keep},       {"limit", data_limit},     {"oversample", data_oversample},
    {"only", data_only},
    {"directory", data_source}, {"csv", data_source},     {"npy", data_source},
    {"cifar10", data_source},
};
const int N_DATA_RULES = COUNT(DATA_RULES);

