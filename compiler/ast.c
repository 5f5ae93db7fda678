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

const Section *ast_model_section(const Ast *ast) {
  for (const Section *s = ast->sections; s; s = s->next)
    if (strcmp(s->kind, "model") == 0)
      return s;
  return NULL;
}
