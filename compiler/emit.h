/*
 * emit.h — what the three parts of the C emitter share (not part of nnc.h:
 * only emit_*.c include it).
 *
 *   emit_c.c      core: C names of tensors, literals, banner, constants,
 *                 storage, and emit_c() which calls the parts in order
 *   emit_model.c  the model: one kernel call per IR node, layer functions,
 *                 model_forward/backward, the optimizer step, init_params
 *   emit_train.c  the recipe: constant tables the runtime's training loop
 *                 reads (checkpoint, CONFIG, MODEL) and a main of one line
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

/* ---- the runtime's kernels (runtime/rt_kernels.def): the typed contract ---- */

typedef enum {
#define RT_KERNEL(ret, name, params) RTK_##name,
#include "rt_kernels.def"
#undef RT_KERNEL
  RTK_COUNT
} RtKernel;

/* The number of arguments of a call or of a parameter list (up to 20). */
#define RT_NARGS(...) RT_NARGS_(__VA_ARGS__, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, \
                                6, 5, 4, 3, 2, 1, 0)
#define RT_NARGS_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17,   \
                  a18, a19, a20, n, ...) n

/* RTK_NARGS_matmul_forward = 6, ...: each kernel's parameter count */
enum {
#define RT_KERNEL(ret, name, params) RTK_NARGS_##name = RT_NARGS params,
#include "rt_kernels.def"
#undef RT_KERNEL
};

/* Prints `INDENT[LHS]rt_KERNEL(ARGS);[ /+ COMMENT +/]` (LHS such as "loss_sum = "). The kernel must be
 * in rt_kernels.def (else RTK_##kernel does not exist) and take exactly as
 * many arguments as given (else the static assertion fails): both break
 * nnc's own build. emit_call checks the count again at run time. */
#define EMIT_CALL_AT(e, indent, lhs, kernel, comment, ...)                                         \
  ((void)sizeof(struct {                                                                          \
     _Static_assert(RT_NARGS(__VA_ARGS__) == RTK_NARGS_##kernel,                                  \
                    "rt_" #kernel ": wrong number of arguments (runtime/rt_kernels.def)");        \
     int ok;                                                                                      \
   }),                                                                                            \
   emit_call((e), (indent), (lhs), RTK_##kernel, (comment), RT_NARGS(__VA_ARGS__),                \
             (const char *const[]){__VA_ARGS__}))
/* The usual case: a statement of its own, two spaces in. */
#define EMIT_CALL(e, kernel, comment, ...) EMIT_CALL_AT(e, "  ", NULL, kernel, comment, __VA_ARGS__)

void emit_call(Emitter *e, const char *indent, const char *lhs, RtKernel k, const char *comment,
               int n_args, const char *const *args);
const char *rt_kernel_name(RtKernel k);
int rt_kernel_arg_count(RtKernel k);

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
const char *c_ident(Emitter *e, const char *name);
const char *c_string(Emitter *e, const char *s);
const char *c_comment(Emitter *e, const char *s);
const char *c_char(Emitter *e, char ch);
const char *c_window(Emitter *e, const IrNode *n);
const char *c_int(Emitter *e, long v);   /* "42" */
const char *c_size(Emitter *e, size_t v); /* "42" */
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
/* The tables the runtime's loop reads (checkpoint, CONFIG, MODEL) and main. */
void emit_main(Emitter *e);

#endif
