/*
 * bind.c — argument binding for calls in a .nn file (layers, losses,
 * optimizers, callbacks, schedules): positional arguments fill the callee's
 * names in order, keywords go by name; unknown keywords (with a "did you
 * mean"), duplicates, missing required arguments and values out of range
 * are located errors. Used by check.c and ir_build.c.
 */
#include "nnc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


static int edit_distance(const char *a, const char *b) {
  int la = (int)strlen(a), lb = (int)strlen(b);
  if (la > 40 || lb > 40)
    return 99;
  int prev[41], cur[41];
  for (int j = 0; j <= lb; j++)
    prev[j] = j;
  for (int i = 1; i <= la; i++) {
    cur[0] = i;
    for (int j = 1; j <= lb; j++) {
      int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
      int del = prev[j] + 1, ins = cur[j - 1] + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
    }
    memcpy(prev, cur, sizeof(int) * (size_t)(lb + 1));
  }
  return prev[lb];
}

const char *closest_name(const char *name, const char *const *names, int n) {
  const char *best = NULL;
  int best_d = 3;
  for (int i = 0; i < n; i++) {
    int d = edit_distance(name, names[i]);
    if (d < best_d) {
      best_d = d;
      best = names[i];
    }
  }
  return best;
}

static int find_name(const char *name, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (strcmp(name, names[i]) == 0)
      return i;
  return -1;
}

/* "a, b or c" into buf */
static const char *list_names(char *buf, size_t size, const char *const *names, int n) {
  buf[0] = '\0';
  for (int i = 0; i < n; i++) {
    size_t len = strlen(buf);
    snprintf(buf + len, size - len, "%s'%s'", i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
  }
  return buf;
}

static bool bind_keyword(Diag *d, const Arg *a, const char *what, const char *const *names,
                         int n_names, BoundArg *out) {
  int i = find_name(a->key, names, n_names);
  if (i < 0) {
    char buf[512];
    const char *hint = closest_name(a->key, names, n_names);
    if (hint)
      diag_error(d, a->loc, "%s has no argument '%s'; did you mean '%s'?", what, a->key, hint);
    else if (n_names == 0)
      diag_error(d, a->loc, "%s has no argument '%s' (it takes none)", what, a->key);
    else
      diag_error(d, a->loc, "%s has no argument '%s' (it takes %s)", what, a->key,
                 list_names(buf, sizeof buf, names, n_names));
    return false;
  }
  if (out[i].value) {
    diag_error(d, a->loc, "argument '%s' of %s given twice", a->key, what);
    return false;
  }
  out[i].value = a->value;
  out[i].loc = a->loc;
  return true;
}

bool bind_args(Diag *d, const Expr *call, const char *what, const char *const *names, int n_names,
               int n_required, BoundArg *out) {
  for (int i = 0; i < n_names; i++)
    out[i] = (BoundArg){.name = names[i], .value = NULL, .loc = call->loc};
  int pos = 0;
  bool seen_keyword = false;
  for (const Arg *a = call ? call->args : NULL; a; a = a->next) {
    if (a->key) {
      seen_keyword = true;
      if (!bind_keyword(d, a, what, names, n_names, out))
        return false;
      continue;
    }
    if (seen_keyword) {
      diag_error(d, a->loc, "positional argument after a keyword argument in %s", what);
      return false;
    }
    if (pos >= n_names) {
      if (n_names == 0)
        diag_error(d, a->loc, "%s takes no arguments", what);
      else
        diag_error(d, a->loc, "too many arguments to %s (it takes at most %d)", what, n_names);
      return false;
    }
    out[pos].value = a->value;
    out[pos].loc = a->loc;
    pos++;
  }
  for (int i = 0; i < n_required; i++) {
    if (!out[i].value) {
      diag_error(d, call->loc, "%s needs argument '%s'", what, names[i]);
      return false;
    }
  }
  return true;
}

bool arg_number(Diag *d, const BoundArg *b, double lo, double hi, double *out) {
  if (b->value->kind != EX_NUMBER) {
    diag_error(d, b->value->loc, "'%s' must be a number, not a %s", b->name,
               expr_kind_name(b->value->kind));
    return false;
  }
  double v = b->value->number;
  if (!(v >= lo && v <= hi)) {
    diag_error(d, b->value->loc, "'%s' must be between %g and %g, got %g", b->name, lo, hi, v);
    return false;
  }
  *out = v;
  return true;
}

bool arg_int(Diag *d, const BoundArg *b, long lo, long hi, long *out) {
  double v;
  if (!arg_number(d, b, (double)lo, (double)hi, &v))
    return false;
  if (!b->value->is_integer) {
    diag_error(d, b->value->loc, "'%s' must be a whole number, got %s", b->name, b->value->text);
    return false;
  }
  *out = (long)v;
  return true;
}

bool arg_bool(Diag *d, const BoundArg *b, bool *out) {
  const Expr *e = b->value;
  /* true/false, or Python's True/False as Keras users type them */
  if (e->kind == EX_IDENT && (!strcasecmp(e->text, "true") || !strcasecmp(e->text, "false")) &&
      (islower((unsigned char)e->text[1]) || !e->text[1])) {
    *out = tolower((unsigned char)e->text[0]) == 't';
    return true;
  }
  diag_error(d, e->loc, "'%s' must be true or false", b->name);
  return false;
}

int arg_choice(Diag *d, const BoundArg *b, const char *const *choices, int n_choices) {
  const Expr *e = b->value;
  char buf[512];
  if (e->kind != EX_IDENT && e->kind != EX_STRING) { /* relu or "relu", as Keras writes it */
    diag_error(d, e->loc, "'%s' must be one of %s", b->name,
               list_names(buf, sizeof buf, choices, n_choices));
    return -1;
  }
  int i = find_name(e->text, choices, n_choices);
  if (i >= 0)
    return i;
  const char *hint = closest_name(e->text, choices, n_choices);
  if (hint)
    diag_error(d, e->loc, "unknown %s '%s'; did you mean '%s'?", b->name, e->text, hint);
  else
    diag_error(d, e->loc, "unknown %s '%s' (expected %s)", b->name, e->text,
               list_names(buf, sizeof buf, choices, n_choices));
  return -1;
}
