/*
 * emit.h — what the three parts of the C emitter share (not part of nnc.h:
 * only emit_*.c include it).
 *
 *   emit_c.c      core: C names of tensors, literals, banner, constants,
 *                 storage, and emit_c() which calls the parts in order
 *   emit_model.c  the model: one kernel call per IR node, layer functions,
 *                 model_forward/backward, the optimizer step, init_params
 *   emit_train.c  the recipe: checkpoint table, data, fit, evaluation, main
 */
#ifndef NNC_EMIT_H
#define NNC_EMIT_H

#include "nnc.h"

typedef struct {
  FILE *out;
  const Graph *g;
  const Program *prog;
  const EmitOptions *opt;
  const char **cname; /* C name of each node, by id */
  int n_trainable_tensors;
} Emitter;

#define P(...) fprintf(e->out, __VA_ARGS__)

/* consecutive compute nodes of one layer and direction: one C function */
typedef struct {
  int start, end; /* schedule range [start, end) */
  const char *fn;  /* function name */
} Group;

/* ---- emit_c.c: names, shapes and literals ---- */
void assign_cnames(Emitter *e);
const char *c_name(Emitter *e, const IrNode *n);  /* a node's data: its storage root's name */
const char *c_shape(Emitter *e, const IrNode *n); /* "(m, 28, 28)" */
const char *c_count(Emitter *e, const IrNode *n); /* "(size_t)m * 256" or "256" */
const char *c_rows(Emitter *e, const IrNode *n);  /* rows seen as (rows, last axis) */
int c_last_dim(const IrNode *n);
const char *c_float(Emitter *e, double v);
const char *c_rt_act(Activation a);
const char *c_act_args(Emitter *e, const IrNode *n);
const char *c_ident(Emitter *e, const char *name);
const char *c_string(Emitter *e, const char *s);
const char *c_comment(Emitter *e, const char *s);
const char *c_char(Emitter *e, char ch);
const char *c_window(Emitter *e, const IrNode *n);
size_t emit_param_floats(const Graph *g);
/* the optimizer's state blocks (memplan.c owns the list: it sizes them) */
static inline const OptimizerSlot *emit_optimizer_slots(OptimizerKind kind, int *n) {
  return optimizer_slots(kind, n);
}

/* ---- emit_model.c ---- */
int emit_make_groups(Emitter *e, bool backward, Group *groups, int max);
void emit_windows(Emitter *e);
void emit_layers(Emitter *e, Group *fw, int n_fw, Group *bw, int n_bw);
void emit_model_functions(Emitter *e, Group *fw, int n_fw, Group *bw, int n_bw);

/* ---- emit_train.c ---- */
void emit_checkpoint_table(Emitter *e);
void emit_prepare_data(Emitter *e);
void emit_batching(Emitter *e);
void emit_fit(Emitter *e);
void emit_gradcheck(Emitter *e);
void emit_expectations(Emitter *e);
void emit_main(Emitter *e);

#endif
