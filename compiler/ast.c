/*
 * ast.c — constructors for the abstract syntax tree the grammar builds, and a
 * printer that writes it back as indented text (`nnc dump-ast`, tests).
 * Parser actions only call these constructors; all meaning is assigned
 * later (check.c for settings, ir_build.c for the model body).
 */
#include "nnc.h"

#include <stdlib.h>
#include <string.h>

static Expr *new_expr(Arena *a, ExprKind kind, SrcLoc loc) {
  Expr *e = ARENA_NEW(a, Expr);
  e->kind = kind;
  e->loc = loc;
  return e;
}

Expr *ast_number(Arena *a, SrcLoc loc, const char *text) {
  Expr *e = new_expr(a, EX_NUMBER, loc);
  e->text = arena_strdup(a, text);
  e->number = strtod(text, NULL);
  e->is_integer = !strpbrk(text, ".eE");
  return e;
}

Expr *ast_ratio(Arena *a, SrcLoc loc, const char *num, const char *den) {
  Expr *e = new_expr(a, EX_NUMBER, loc);
  e->text = arena_printf(a, "%s/%s", num, den);
  e->number = strtod(num, NULL) / strtod(den, NULL); /* x/0 gives inf: rejected by range checks */
  e->is_integer = false;
  return e;
}

/* Unquotes "..." with the escapes \" \\ \n \t. */
Expr *ast_string(Arena *a, SrcLoc loc, const char *quoted) {
  Expr *e = new_expr(a, EX_STRING, loc);
  size_t n = strlen(quoted);
  char *out = arena_alloc(a, n);
  size_t j = 0;
  for (size_t i = 1; i + 1 < n; i++) {
    char c = quoted[i];
    if (c == '\\' && i + 2 < n) {
      c = quoted[++i];
      c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
    }
    out[j++] = c;
  }
  out[j] = '\0';
  e->text = out;
  return e;
}

Expr *ast_ident(Arena *a, SrcLoc loc, const char *name) {
  Expr *e = new_expr(a, EX_IDENT, loc);
  e->text = arena_strdup(a, name);
  return e;
}

Expr *ast_call(Arena *a, SrcLoc loc, const char *callee, Arg *args) {
  Expr *e = new_expr(a, EX_CALL, loc);
  e->text = arena_strdup(a, callee);
  e->args = args;
  return e;
}

Expr *ast_index(Arena *a, SrcLoc loc, Expr *base, Expr *index) {
  Expr *e = new_expr(a, EX_INDEX, loc);
  e->lhs = base;
  e->rhs = index;
  return e;
}

Expr *ast_list(Arena *a, SrcLoc loc, Arg *items) {
  Expr *e = new_expr(a, EX_LIST, loc);
  e->args = items;
  return e;
}

Expr *ast_map(Arena *a, SrcLoc loc, Arg *entries) {
  Expr *e = new_expr(a, EX_MAP, loc);
  e->args = entries;
  return e;
}

Expr *ast_compare(Arena *a, SrcLoc loc, const char *op, Expr *lhs, Expr *rhs) {
  Expr *e = new_expr(a, EX_COMPARE, loc);
  e->text = arena_strdup(a, op);
  e->lhs = lhs;
  e->rhs = rhs;
  return e;
}

/* O(1) append to a head/tail list (see ArgList in nnc.h); a NULL node, which
 * the parser makes for an item it recovered from, is skipped. */
#define DEFINE_APPEND(fn, List, Node)                                                              \
  List fn(List list, Node *node) {                                                                 \
    if (!node)                                                                                     \
      return list;                                                                                 \
    if (list.tail)                                                                                 \
      list.tail->next = node;                                                                      \
    else                                                                                           \
      list.head = node;                                                                            \
    list.tail = node;                                                                              \
    return list;                                                                                   \
  }

DEFINE_APPEND(ast_arg_append, ArgList, Arg)
DEFINE_APPEND(ast_item_append, ItemList, Item)
DEFINE_APPEND(ast_param_append, ParamList, Param)
DEFINE_APPEND(ast_section_append, SectionList, Section)

Arg *ast_arg(Arena *a, SrcLoc loc, const char *key, Expr *value) {
  Arg *arg = ARENA_NEW(a, Arg);
  arg->loc = loc;
  arg->key = key ? arena_strdup(a, key) : NULL;
  arg->value = value;
  return arg;
}


int arg_count(const Arg *a) {
  int n = 0;
  for (; a; a = a->next)
    n++;
  return n;
}

Item *ast_item(Arena *a, ItemKind kind, SrcLoc loc, const char *name, Expr *value, Arg *values) {
  Item *it = ARENA_NEW(a, Item);
  it->kind = kind;
  it->loc = loc;
  it->name = name ? arena_strdup(a, name) : NULL;
  it->value = value;
  it->values = values;
  return it;
}


Param *ast_param(Arena *a, SrcLoc loc, const char *name, const char *dtype, SrcLoc dtype_loc,
                 Arg *dims) {
  Param *p = ARENA_NEW(a, Param);
  p->dim_args = dims;
  p->loc = loc;
  p->name = arena_strdup(a, name);
  p->dtype = arena_strdup(a, dtype);
  p->dtype_loc = dtype_loc;
  return p;
}


Section *ast_section(Arena *a, SrcLoc loc, const char *kind, const char *name, SrcLoc name_loc,
                     Param *params, bool has_params, Item *items) {
  Section *s = ARENA_NEW(a, Section);
  s->loc = loc;
  s->kind = arena_strdup(a, kind);
  s->name = name ? arena_strdup(a, name) : NULL;
  s->name_loc = name_loc;
  s->params = params;
  s->has_params = has_params;
  s->items = items;
  return s;
}


const char *expr_kind_name(ExprKind k) {
  static const char *names[] = {"number", "string", "name", "call", "index", "list", "map",
                                "comparison"};
  return names[k];
}

static void dump_expr(FILE *out, const Expr *e);

static void dump_args(FILE *out, const Arg *a, const char *sep) {
  for (; a; a = a->next) {
    if (a->key)
      fprintf(out, "%s%s", a->key, sep);
    dump_expr(out, a->value);
    if (a->next)
      fputs(", ", out);
  }
}

static void dump_expr(FILE *out, const Expr *e) {
  switch (e->kind) {
  case EX_NUMBER: fputs(e->text, out); break;
  case EX_STRING: fprintf(out, "\"%s\"", e->text); break;
  case EX_IDENT: fputs(e->text, out); break;
  case EX_CALL:
    fprintf(out, "%s(", e->text);
    dump_args(out, e->args, "=");
    fputc(')', out);
    break;
  case EX_INDEX:
    dump_expr(out, e->lhs);
    fputc('[', out);
    dump_expr(out, e->rhs);
    fputc(']', out);
    break;
  case EX_LIST:
    fputc('[', out);
    dump_args(out, e->args, "=");
    fputc(']', out);
    break;
  case EX_MAP:
    fputc('{', out);
    dump_args(out, e->args, ": ");
    fputc('}', out);
    break;
  case EX_COMPARE:
    dump_expr(out, e->lhs);
    fprintf(out, " %s ", e->text);
    dump_expr(out, e->rhs);
    break;
  }
}

static void dump_item(FILE *out, const Item *it) {
  fputs("  ", out);
  switch (it->kind) {
  case ITEM_ASSIGN: fprintf(out, "%s = ", it->name); dump_expr(out, it->value); break;
  case ITEM_RETURN: fputs("return ", out); dump_expr(out, it->value); break;
  case ITEM_EXPECT: fputs("expect ", out); dump_expr(out, it->value); break;
  case ITEM_SETTING:
    if (it->value) {
      dump_expr(out, it->value);
    } else {
      fputs(it->name, out);
      for (const Arg *a = it->values; a; a = a->next) {
        fputc(' ', out);
        dump_expr(out, a->value);
      }
    }
    break;
  }
  fprintf(out, "    # line %d\n", it->loc.first_line);
}

void ast_dump(FILE *out, const Ast *ast) {
  for (const Section *s = ast->sections; s; s = s->next) {
    fputs(s->kind, out);
    if (s->name)
      fprintf(out, " %s", s->name);
    if (s->has_params) {
      fputc('(', out);
      for (const Param *p = s->params; p; p = p->next) {
        fprintf(out, "%s: %s[", p->name, p->dtype);
        dump_args(out, p->dim_args, "=");
        fprintf(out, "]%s", p->next ? ", " : "");
      }
      fputc(')', out);
    }
    fputs(" {\n", out);
    for (const Item *it = s->items; it; it = it->next)
      dump_item(out, it);
    fputs("}\n", out);
  }
}

/* ---- argument binding ---- */

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
  if (e->kind == EX_IDENT && (!strcmp(e->text, "true") || !strcmp(e->text, "false"))) {
    *out = e->text[0] == 't';
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
