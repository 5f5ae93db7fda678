/*
 * check_evaluate.c — the evaluate section: expect lines, resolved against
 * the classes (or binary targets) and the metrics.
 */
#include "checker.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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

bool eval_expect(Checker *c, const Item *it) {
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

