/*
 * checker.h — what the files of the semantic check share (not part of nnc.h):
 *
 *   check.c           sections in order, the dispatch of settings to their
 *                     rules, the model's input, the callbacks' cross-checks,
 *                     check_program; helpers over a setting's values
 *   check_data.c      the data section's settings
 *   check_source.c    the data section's sources (directory, csv, npy, cifar10)
 *   check_train.c     the train section's settings (loss, optimizer and
 *                     schedules, callbacks, metrics, initialize)
 *   check_evaluate.c  the evaluate section's expectations
 */
#ifndef NNC_CHECKER_H
#define NNC_CHECKER_H

#include "nnc.h"

typedef struct {
  Program *prog;
  Arena *arena;
  Diag *diag;
} Checker;

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* One setting of a section: its key and the rule that checks it. */
typedef bool (*SettingFn)(Checker *, const Item *);
typedef struct {
  const char *key;
  SettingFn fn;
} SettingRule;

extern const SettingRule DATA_RULES[];  /* check_data.c */
extern const int N_DATA_RULES;
extern const SettingRule TRAIN_RULES[]; /* check_train.c */
extern const int N_TRAIN_RULES;
/* expect lhs op rhs (check_evaluate.c) */
bool eval_expect(Checker *c, const Item *it);
/* The loss must suit the labels; without a loss line it follows them (check_train.c). */
bool check_loss_labels(Checker *c);

/* What each epoch logs (check.c): loss, accuracy and the metrics setting's,
 * on the training split and as val_NAME on the validation split. */
extern const char *const EPOCH_METRICS[];
extern const char *const VAL_EPOCH_METRICS[];

/* ---- check.c: helpers over a setting's values ---- */
bool want_values(Checker *c, const Item *it, int n, const char *form);
bool value_int(Checker *c, const Expr *e, const char *what, long lo, long hi, long *out);
bool value_number(Checker *c, const Expr *e, const char *what, double lo, double hi,
                  double *out);
bool value_bool(Checker *c, const Expr *e, const char *what, bool *out);
/* adam, adam(...) or "adam": the name a value gives ("" for others) */
const char *call_name(const Expr *e);
bool is_word(const Expr *e, const char *word);
/* a class by name or number; -1 after a located error */
int class_id(Checker *c, const Expr *e, SrcLoc loc);
/* {Sandal: 300}'s key as a class; -1 after an error (unknown, or twice) */
int map_key_class(Checker *c, const Arg *entry, bool *seen);
/* the monitor names the epoch logs; returns how many */
int monitor_names(const Program *p, const char **names);
bool check_monitor(Checker *c, const BoundArg *b, Callback *cb);
bool check_verbose(Checker *c, const BoundArg *b, Callback *cb);
bool check_mode(Checker *c, const BoundArg *b, Callback *cb);

#endif
