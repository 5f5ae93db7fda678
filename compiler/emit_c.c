/*
 * emit_c.c — writes the planned IR as one readable C program (the core:
 * names, literals, banner, constants, storage; emit.h lists the parts).
 *
 * The program is specialized: every shape, offset, hyper-parameter and
 * setting of the .nn file is a constant in the text. Its sections, in order:
 *   banner        what it is, where it came from, the memory plan in numbers
 *   constants     batch size, classes, input size, block sizes
 *   storage       parameter / gradient / Adam blocks and the activation
 *                 arena, each tensor a named pointer with a shape comment
 *   layers        <layer>_forward / <layer>_backward, one kernel call per IR
 *                 node, fused nodes explained in a comment
 *   model         model_forward, model_backward, optimizer_step, init_params
 *   recipe        the checkpoint table, CONFIG (the data, train and evaluate
 *                 sections) and MODEL (RtModel), read by the runtime's
 *                 training loop, and a main of one line: rt_main
 * Kernels and the training loop come from the runtime (nnc_runtime.h). The C compiles warning-free
 * with -Wall -Wextra.
 */
#include "emit.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- names and shapes ---- */

static bool name_taken(Emitter *e, const char *name, int upto) {
  for (int i = 0; i < upto; i++)
    if (e->cname[i] && !strcmp(e->cname[i], name))
      return true;
  return false;
}

/* "d(dense_1.out)" -> "d_dense_1_out"; parameter gradients get "grad_". */
static const char *make_cname(Emitter *e, const IrNode *n) {
  char buf[160];
  const char *src = n->name ? n->name : "";
  size_t j = 0;
  if (n->grad_of)
    src = n->grad_of->name, j = (size_t)snprintf(buf, sizeof buf, "grad_");
  else if (n->op == IR_INPUT || n->op == IR_LABELS || n->op == IR_WEIGHTS)
    j = (size_t)snprintf(buf, sizeof buf, "batch_");
  for (const char *p = src; *p && j + 1 < sizeof buf; p++) {
    char c = isalnum((unsigned char)*p) ? *p : '_';
    if (c == '_' && (j == 0 || buf[j - 1] == '_'))
      continue;
    buf[j++] = c;
  }
  while (j > 0 && buf[j - 1] == '_')
    j--;
  buf[j] = '\0';
  if (j == 0 || isdigit((unsigned char)buf[0]))
    snprintf(buf, sizeof buf, "t%d", n->id);
  const char *name = arena_strdup(e->g->arena, buf);
  if (name_taken(e, name, n->id))
    name = arena_printf(e->g->arena, "%s_%d", buf, n->id);
  return name;
}

void assign_cnames(Emitter *e) {
  const Graph *g = e->g;
  int max_id = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->id > max_id)
      max_id = g->nodes[i]->id;
  e->cname = ARENA_ARRAY(g->arena, const char *, max_id + 1);
  for (int i = 0; i < g->n_nodes; i++)
    e->cname[g->nodes[i]->id] = make_cname(e, g->nodes[i]);
}

/* The C expression for a node's data: its storage root's name. */
const char *c_name(Emitter *e, const IrNode *n) {
  return e->cname[ir_storage_root((IrNode *)n)->id];
}

const char *c_shape(Emitter *e, const IrNode *n) {
  const char *s = ir_shape_str(e->g->arena, n);
  if (!n->batched)
    return s;
  if (n->chunk) /* a workspace for a chunk of examples (memplan.c) */
    return arena_printf(e->g->arena, "(%d%s per chunk", n->chunk, s + 2);
  return arena_printf(e->g->arena, "(m%s", s + 2); /* "(B, ...)" -> "(m, ...)" */
}

/* "(size_t)m * 256" for a batched tensor, "256" otherwise */
const char *c_count(Emitter *e, const IrNode *n) {
  if (n->batched)
    return arena_printf(e->g->arena, "(size_t)m * %zu", ir_elems(n));
  return arena_printf(e->g->arena, "%zu", ir_elems(n));
}

/* A float literal C accepts for any value, in the fewest digits that read back
 * as the same float: 0.3 -> "0.3f" (not "0.300000012f"), 1 -> "1.0f",
 * 1e-07 -> "1e-07f". The value is the float the kernels use either way. */
const char *c_float(Emitter *e, double v) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.9g", v);
  float f = strtof(buf, NULL); /* the float a C compiler makes of v's 9-digit form */
  for (int digits = 1; digits <= 9; digits++) { /* 9 digits always round-trip */
    snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
    if (strtof(buf, NULL) == f || f != f)
      break;
  }
  if (!strpbrk(buf, ".eEn")) /* no point, exponent, inf or nan */
    strcat(buf, ".0");
  return arena_printf(e->g->arena, "%sf", buf);
}

const char *c_rt_act(Activation a) { return ACTIVATION_INFO[a].rt_enum; }

int c_last_dim(const IrNode *n) { return n->rank ? n->dims[n->rank - 1] : 1; }

/* Rows of a tensor seen as (rows, last axis): "m" or "m * 729" for (m, 27, 27, 32). */
const char *c_rows(Emitter *e, const IrNode *n) {
  size_t per = ir_elems(n) / (size_t)c_last_dim(n);
  if (!n->batched)
    return arena_printf(e->g->arena, "%zu", per);
  return per == 1 ? "m" : arena_printf(e->g->arena, "m * %zu", per);
}

/* "Conv 1" -> "Conv_1": a layer name as part of a C identifier */
const char *c_ident(Emitter *e, const char *name) {
  char *out = arena_strdup(e->g->arena, name);
  for (char *p = out; *p; p++)
    if (!isalnum((unsigned char)*p))
      *p = '_';
  return out;
}

/* The RtWindow constant of a windowed node's layer, shared by its gradient (emit_windows). */
/* A C string literal of s, quotes included: \\, " and control characters escaped,
 * so no text from the .nn file can end the literal early. */
const char *c_string(Emitter *e, const char *s) {
  size_t n = strlen(s);
  char *out = arena_alloc(e->g->arena, 4 * n + 3), *q = out;
  *q++ = '"';
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      q += sprintf(q, "\\%c", ch);
    else if (ch < 0x20 || ch == 0x7f)
      q += sprintf(q, "\\%03o", ch);
    else
      *q++ = (char)ch;
  }
  *q++ = '"';
  *q = '\0';
  return out;
}

/* Text safe inside a C comment: no comment end, no line break. */
const char *c_comment(Emitter *e, const char *s) {
  char *out = arena_strdup(e->g->arena, s);
  for (char *q = out; *q; q++) {
    if (q[0] == '*' && q[1] == '/')
      q[1] = '|';
    if (*q == '\n' || *q == '\r')
      *q = ' ';
  }
  return out;
}

/* A C character literal. */
const char *c_char(Emitter *e, char ch) {
  if (ch == '\'' || ch == '\\')
    return arena_printf(e->g->arena, "'\\%c'", ch);
  if ((unsigned char)ch < 0x20 || ch == 0x7f)
    return arena_printf(e->g->arena, "'\\%03o'", (unsigned char)ch);
  return arena_printf(e->g->arena, "'%c'", ch);
}

const char *c_window(Emitter *e, const IrNode *n) {
  return arena_printf(e->g->arena, "&%s_window", c_ident(e, n->layer));
}

const char *c_int(Emitter *e, long v) { return arena_printf(e->g->arena, "%ld", v); }

const char *c_size(Emitter *e, size_t v) { return arena_printf(e->g->arena, "%zu", v); }

/* ---- calls of the runtime's kernels (rt_kernels.def) ---- */

static const struct {
  const char *name;
  int n_args;
} RT_KERNELS[RTK_COUNT] = {
#define RT_KERNEL(ret, name, params) [RTK_##name] = {"rt_" #name, RT_NARGS params},
#include "rt_kernels.def"
#undef RT_KERNEL
};

const char *rt_kernel_name(RtKernel k) { return RT_KERNELS[k].name; }

int rt_kernel_arg_count(RtKernel k) { return RT_KERNELS[k].n_args; }

void emit_call(Emitter *e, const char *indent, const char *lhs, RtKernel k, const char *comment,
               int n_args, const char *const *args) {
  if ((unsigned)k >= RTK_COUNT || n_args != RT_KERNELS[k].n_args)
    NNC_BUG("a call of kernel %d with %d arguments", (int)k, n_args);
  P("%s%s%s(", indent, lhs ? lhs : "", RT_KERNELS[k].name);
  for (int i = 0; i < n_args; i++)
    P("%s%s", i ? ", " : "", args[i]);
  P(");");
  if (comment)
    P(" /* %s */", comment);
  P("\n");
}

/* ---- banner and constants ---- */

size_t emit_param_floats(const Graph *g) {
  size_t n = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->op == IR_PARAM)
      n += ir_elems(g->nodes[i]);
  return n;
}

static int count_fused(const Graph *g) {
  int n = 0;
  for (int i = 0; i < g->n_nodes; i++)
    n += g->nodes[i]->fused != NULL;
  return n;
}

static void emit_banner(Emitter *e) {
  const Graph *g = e->g;
  P("/*\n * The training program for model '%s', generated by nnc %s\n", g->model_name,
    NNC_VERSION);
  P(" * from %s. Do not edit: change the .nn file and run `nnc build` again.\n *\n",
    e->opt->source_path);
  P(" * Pipeline: parse -> check -> graph IR -> shapes -> autodiff -> lowering\n");
  P(" *           -> fusion (%d fused nodes) -> memory plan -> this file.\n", count_fused(g));
  TrainingMemory m = training_memory(g, e->prog);
  P(" * Memory, planned at compile time and allocated once at start-up (a training\n"
    " * step never allocates), in bytes:\n");
  P(" *   parameters    %14zu (%zu floats in one block)\n", m.params, emit_param_floats(g));
  P(" *   gradients     %14zu\n", m.grads);
  P(" *   optimizer     %14zu (%d block%s parallel to the parameters)\n", m.optimizer,
    m.optimizer_slots, m.optimizer_slots == 1 ? "" : "s");
  if (m.best_params)
    P(" *   best weights  %14zu (early stopping; the runtime's copy)\n", m.best_params);
  P(" *   activations   %14zu (one arena for a batch of %d; %zu live at most,\n"
    " *                                 %zu without buffer reuse)\n",
    m.activations, g->batch_size, g->peak_live_bytes, g->naive_bytes);
  P(" *   batch         %14zu\n *   total         %14zu\n */\n", m.batch, m.total);
  P("#include <math.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n"
    "#include <string.h>\n\n#include \"nnc_runtime.h\"\n\n");
}

/* labels binary {...}: each class's 0/1 targets, one column per target name. */
static void emit_target_table(Emitter *e) {
  const Program *p = e->prog;
  P("#define N_OUTPUTS %d /* binary targets (labels binary) */\n", p->n_outputs);
  P("static const char *const TARGET_NAMES[N_OUTPUTS] = {");
  for (int k = 0; k < p->n_outputs; k++)
    P("%s%s", k ? ", " : "", c_string(e, p->output_names[k]));
  P("};\n/* TARGET_TABLE[c * N_OUTPUTS + k]: target k of an example of class c */\n");
  P("static const uint8_t TARGET_TABLE[N_CLASSES * N_OUTPUTS] = {\n");
  for (int c = 0; c < p->n_classes; c++) {
    P("   ");
    for (int k = 0; k < p->n_outputs; k++)
      P(" %d,", p->positive[k][c]);
    P(" /* %s */\n", c_comment(e, p->class_names[c]));
  }
  P("};\n\n");
}

static void emit_constants(Emitter *e) {
  const Graph *g = e->g;
  const Program *p = e->prog;
  P("/* ===== constants of this model ===== */\n\n");
  P("#define MODEL_NAME \"%s\"\n", g->model_name);
  P("#define BATCH %d           /* batch_size: every buffer holds one full batch */\n",
    g->batch_size);
  P("#define N_CLASSES %d\n", g->n_classes);
  P("#define N_SCORES %s /* model outputs per example */\n", g->binary ? "N_OUTPUTS" : "N_CLASSES");
  P("#define INPUT_SIZE %zu      /* %s: %s (%s per example */\n", ir_elems(g->input),
    g->input->name, ir_dtype_name(g->input->dtype), ir_shape_str(g->arena, g->input) + 4);
  P("#define N_PARAMS %zu   /* floats in the parameter block */\n", emit_param_floats(g));
  P("#define LEARNING_RATE %.17g%s\n", p->learning_rate,
    p->learning_rate == (long)p->learning_rate ? ".0" : "");
  P("#define ARENA_BYTES %zu\n", g->arena_bytes);
  P("#define INPUT_BYTES %zu\n\n", training_memory(g, p).batch);
  if (g->binary) { /* the report is per target; the class names label the table's rows */
    emit_target_table(e);
    return;
  }
  P("static const char *const CLASS_NAMES[N_CLASSES] = {\n");
  for (int i = 0; i < p->n_classes; i++)
    P("    %s,\n", c_string(e, p->class_names[i]));
  P("};\n\n");
}

/* ---- storage ---- */

/* The declaration of a tensor's pointer, with its shape; allocate_storage binds it. */
static void emit_tensor_declaration(Emitter *e, const IrNode *n) {
  const char *type = n->dtype == DT_U8 ? "uint8_t" : "float";
  if (n->op == IR_XENT || n->op == IR_BXENT)
    return; /* the unfused loss's value is the scalar loss_sum */
  const char *name = e->cname[n->id];
  switch (n->storage) {
  case ST_PARAM:
    P("static float *%s; /* %s%s */\n", name, c_shape(e, n), n->trainable ? "" : " non-trainable");
    break;
  case ST_GRAD:
  case ST_INPUT:
  case ST_ARENA: P("static %s *%s; /* %s */\n", type, name, c_shape(e, n)); break;
  case ST_VIEW: P("/* %s %s is a view of %s */\n", name, c_shape(e, n), c_name(e, n)); break;
  case ST_NONE: NNC_BUG("unplanned tensor %d", n->id);
  }
}

/* The binding of a tensor's pointer to its offset in its block. */
static void emit_tensor_binding(Emitter *e, const IrNode *n) {
  const char *type = n->dtype == DT_U8 ? "uint8_t" : "float";
  if (n->op == IR_XENT || n->op == IR_BXENT)
    return;
  const char *name = e->cname[n->id];
  switch (n->storage) {
  case ST_PARAM: P("  %s = params + %zu;\n", name, n->offset / 4); break;
  case ST_GRAD: P("  %s = grads + %zu;\n", name, n->offset / 4); break;
  case ST_INPUT:
    P("  %s = (%s *)(batch_block + %zu);\n", name, type, n->offset);
    break;
  case ST_ARENA:
    P("  %s = (%s *)(arena + %zu); /* live %d..%d */\n", name, type, n->offset, n->first_use,
      n->last_use);
    break;
  case ST_VIEW:
  case ST_NONE: break;
  }
}

/* A block of the memory plan: its C name and type, its size as a C
 * expression, what it holds (named by an allocation failure) and the rest
 * of its comment. */
typedef struct {
  const char *name, *type, *bytes, *what, *note;
} Block;

static int storage_blocks(Emitter *e, Block *out) {
  const char *floats = "sizeof(float) * N_PARAMS";
  int n = 0, n_slots;
  out[n++] = (Block){"params", "float", floats, "parameters",
                     ": every one, trainable or not (N_PARAMS floats)"};
  out[n++] = (Block){"grads", "float", floats, "gradients", ", parallel to params"};
  const OptimizerSlot *slots = emit_optimizer_slots(e->prog->optimizer, &n_slots);
  for (int k = 0; k < n_slots; k++)
    out[n++] = (Block){slots[k].name, "float", floats, slots[k].what, ", parallel to params"};
  out[n++] = (Block){"arena", "unsigned char", "ARENA_BYTES", "activations",
                     " and their gradients: ARENA_BYTES (memory plan)"};
  out[n++] = (Block){"batch_block", "unsigned char", "INPUT_BYTES", "batch",
                     ": the current one, INPUT_BYTES"};
  return n;
}

static const Storage storage_order[] = {ST_INPUT, ST_PARAM, ST_GRAD, ST_ARENA, ST_VIEW};

/* allocate_storage: every block once, before anything runs, then every tensor
 * bound to its planned offset; nothing is allocated after it. */
static void emit_allocate_storage(Emitter *e, const Block *blocks, int n_blocks) {
  const Graph *g = e->g;
  P("/* The memory plan's blocks, allocated once before anything runs (zeroed,\n"
    "   64-byte aligned; a failure names the block and its size), and every\n"
    "   tensor bound to its planned offset: a training step never allocates. */\n");
  P("static void allocate_storage(void) {\n");
  for (int k = 0; k < n_blocks; k++)
    P("  %s = rt_alloc_block(\"%s\", %s);\n", blocks[k].name, blocks[k].what, blocks[k].bytes);
  for (int pass = 0; pass < 4; pass++)
    for (int i = 0; i < g->n_nodes; i++)
      if (g->nodes[i]->storage == storage_order[pass])
        emit_tensor_binding(e, g->nodes[i]);
  P("}\n\n");
}

static void emit_storage(Emitter *e) {
  const Graph *g = e->g;
  Block blocks[8];
  int n_blocks = storage_blocks(e, blocks);
  P("/* ===== storage: a few heap blocks, each tensor a named pointer into one ===== */\n\n");
  for (int k = 0; k < n_blocks; k++)
    P("static %s *%s; /* %s%s */\n", blocks[k].type, blocks[k].name, blocks[k].what,
      blocks[k].note);
  P("\n");
  static const char *const titles[] = {"the batch", "parameters", "parameter gradients",
                                       "activations and their gradients (memory plan)", "views"};
  for (int pass = 0; pass < 5; pass++) {
    P("/* %s */\n", titles[pass]);
    for (int i = 0; i < g->n_nodes; i++)
      if (g->nodes[i]->storage == storage_order[pass])
        emit_tensor_declaration(e, g->nodes[i]);
    P("\n");
  }
  emit_allocate_storage(e, blocks, n_blocks);
}

void emit_c(FILE *out, const Graph *g, const Program *prog, const EmitOptions *opt) {
  Emitter em = {.out = out, .g = g, .prog = prog, .opt = opt}, *e = &em;
  Group *fw = ARENA_ARRAY(g->arena, Group, g->n_nodes + 1);
  Group *bw = ARENA_ARRAY(g->arena, Group, g->n_nodes + 1);
  assign_cnames(e);
  int n_fw = emit_make_groups(e, false, fw, g->n_nodes + 1);
  int n_bw = emit_make_groups(e, true, bw, g->n_nodes + 1);
  emit_banner(e);
  emit_constants(e);
  emit_storage(e);
  emit_windows(e);
  emit_layers(e, fw, n_fw, bw, n_bw);
  emit_model_functions(e, fw, n_fw, bw, n_bw);
  emit_main(e);
}

