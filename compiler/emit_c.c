/*
 * emit_c.c — writes the planned IR as one readable C program.
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
 *   training      data preparation, fit (callbacks, history), evaluation,
 *                 the finite-difference gradient check, expectations, main
 * Kernels come from the runtime (nnc_runtime.h). The C compiles warning-free
 * with -Wall -Wextra.
 */
#include "nnc.h"

#include <ctype.h>
#include <string.h>

typedef struct {
  FILE *out;
  const Graph *g;
  const Program *prog;
  const EmitOptions *opt;
  const char **cname; /* C name of each node, by id */
  int n_trainable_tensors;
} Emitter;

#define P(...) fprintf(e->out, __VA_ARGS__)

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

static void assign_cnames(Emitter *e) {
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
static const char *cn(Emitter *e, const IrNode *n) {
  return e->cname[ir_storage_root((IrNode *)n)->id];
}

static const char *shape(Emitter *e, const IrNode *n) {
  const char *s = ir_shape_str(e->g->arena, n);
  if (!n->batched)
    return s;
  return arena_printf(e->g->arena, "(m%s", s + 2); /* "(B, ...)" -> "(m, ...)" */
}

/* Elements per example of a batched tensor (or in total, if not batched). */
static size_t elems(const IrNode *n) { return ir_elems(n); }

/* "(size_t)m * 256" for a batched tensor, "256" otherwise */
static const char *count_expr(Emitter *e, const IrNode *n) {
  if (n->batched)
    return arena_printf(e->g->arena, "(size_t)m * %zu", elems(n));
  return arena_printf(e->g->arena, "%zu", elems(n));
}

/* A float literal C accepts for any value: 1 -> "1.0f", 1e-07 -> "1e-07f". */
static const char *c_float(Emitter *e, double v) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.9g", v);
  if (!strpbrk(buf, ".eEn")) /* no point, exponent, inf or nan */
    strcat(buf, ".0");
  return arena_printf(e->g->arena, "%sf", buf);
}

static const char *rt_act(Activation a) {
  static const char *const names[ACT_COUNT] = {
      "RT_ACT_NONE",       "RT_ACT_RELU", "RT_ACT_SIGMOID", "RT_ACT_TANH",
      "RT_ACT_NONE",       "RT_ACT_LEAKY_RELU", "RT_ACT_ELU", "RT_ACT_RELU6"};
  return names[a];
}

/* "RT_ACT_RELU, 0.0f": an activation and its alpha, as the act kernels take them */
static const char *act_args(Emitter *e, const IrNode *n) {
  return arena_printf(e->g->arena, "%s, %s", rt_act(n->act), c_float(e, n->alpha));
}

static int last_dim(const IrNode *n) { return n->rank ? n->dims[n->rank - 1] : 1; }

/* Rows of a tensor seen as (rows, last axis): "m" or "m * 729" for (m, 27, 27, 32). */
static const char *rows_expr(Emitter *e, const IrNode *n) {
  size_t per = elems(n) / (size_t)last_dim(n);
  if (!n->batched)
    return arena_printf(e->g->arena, "%zu", per);
  return per == 1 ? "m" : arena_printf(e->g->arena, "m * %zu", per);
}

/* "Conv 1" -> "Conv_1": a layer name as part of a C identifier */
static const char *c_ident(Emitter *e, const char *name) {
  char *out = arena_strdup(e->g->arena, name);
  for (char *p = out; *p; p++)
    if (!isalnum((unsigned char)*p))
      *p = '_';
  return out;
}

/* The RtWindow constant of a windowed node's layer, shared by its gradient (emit_windows). */
/* A C string literal of s, quotes included: \\, " and control characters escaped,
 * so no text from the .nn file can end the literal early. */
static const char *c_string(Emitter *e, const char *s) {
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
static const char *c_comment(Emitter *e, const char *s) {
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
static const char *c_char(Emitter *e, char ch) {
  if (ch == '\'' || ch == '\\')
    return arena_printf(e->g->arena, "'\\%c'", ch);
  if ((unsigned char)ch < 0x20 || ch == 0x7f)
    return arena_printf(e->g->arena, "'\\%03o'", (unsigned char)ch);
  return arena_printf(e->g->arena, "'%c'", ch);
}

static const char *window_name(Emitter *e, const IrNode *n) {
  return arena_printf(e->g->arena, "&%s_window", c_ident(e, n->layer));
}

/* ---- banner and constants ---- */

static size_t param_floats(const Graph *g) {
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
  P(" * Pipeline: parse -> check -> graph IR -> shapes -> autodiff -> fusion (%d fused nodes)\n",
    count_fused(g));
  P(" *           -> memory plan -> this file.\n");
  P(" * Parameters: %zu floats in one block.\n", param_floats(g));
  P(" * Activations: one arena of %zu bytes planned at compile time (%zu without\n",
    g->arena_bytes, g->naive_bytes);
  P(" * buffer reuse); a training step never allocates.\n */\n");
  P("#include <math.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n"
    "#include <string.h>\n\n#include \"nnc_runtime.h\"\n\n");
}

static size_t input_block_bytes(const Graph *g) {
  size_t n = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->storage == ST_INPUT) {
      size_t end = g->nodes[i]->offset + g->nodes[i]->bytes;
      n = end > n ? end : n;
    }
  return n;
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
  P("#define INPUT_SIZE %zu      /* %s: u8 (%s per example */\n", elems(g->input), g->input->name,
    ir_shape_str(g->arena, g->input) + 4);
  P("#define N_PARAMS %zu   /* floats in the parameter block */\n", param_floats(g));
  P("#define LEARNING_RATE %.17g%s\n", p->learning_rate,
    p->learning_rate == (long)p->learning_rate ? ".0" : "");
  P("#define ARENA_BYTES %zu\n", g->arena_bytes);
  P("#define INPUT_BYTES %zu\n\n", input_block_bytes(g));
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

static void emit_tensor_pointer(Emitter *e, const IrNode *n) {
  const char *type = n->dtype == DT_U8 ? "uint8_t" : "float";
  if (n->op == IR_XENT || n->op == IR_BXENT)
    return; /* the unfused loss's value is the scalar loss_sum */
  const char *name = e->cname[n->id];
  switch (n->storage) {
  case ST_PARAM:
    P("static float *const %s = params + %zu; /* %s%s */\n", name, n->offset / 4,
      shape(e, n), n->trainable ? "" : " non-trainable");
    break;
  case ST_GRAD:
    P("static float *const %s = grads + %zu; /* %s */\n", name, n->offset / 4, shape(e, n));
    break;
  case ST_INPUT:
    P("static %s *const %s = (%s *)(batch_block + %zu); /* %s */\n", type, name, type, n->offset,
      shape(e, n));
    break;
  case ST_ARENA:
    P("static %s *const %s = (%s *)(arena + %zu); /* %s, live %d..%d */\n", type, name, type,
      n->offset, shape(e, n), n->first_use, n->last_use);
    break;
  case ST_VIEW:
    P("/* %s %s is a view of %s */\n", name, shape(e, n), cn(e, n));
    break;
  case ST_NONE: NNC_BUG("unplanned tensor %d", n->id);
  }
}

/* The optimizer's state: blocks parallel to params, saved in the checkpoint. */
typedef struct {
  const char *name, *what;
} OptimizerSlot;

static const OptimizerSlot *optimizer_slots(OptimizerKind kind, int *n) {
  static const OptimizerSlot adam[] = {{"adam_m", "Adam first moments"},
                                       {"adam_v", "Adam second moments"}};
  static const OptimizerSlot rmsprop[] = {{"rmsprop_v", "RMSprop mean squares"}};
  static const OptimizerSlot sgd[] = {{"sgd_velocity", "SGD momentum velocities"}};
  switch (kind) {
  case OPT_ADAM:
  case OPT_ADAMW: *n = 2; return adam;
  case OPT_RMSPROP: *n = 1; return rmsprop;
  case OPT_SGD: *n = 1; return sgd;
  }
  NNC_BUG("unknown optimizer");
}

static void emit_storage(Emitter *e) {
  const Graph *g = e->g;
  P("/* ===== storage: a few blocks, each tensor a named pointer into one ===== */\n\n");
  P("static float params[N_PARAMS];      /* every parameter, trainable or not */\n");
  P("static float grads[N_PARAMS];       /* gradients, parallel to params */\n");
  int n_slots;
  const OptimizerSlot *slots = optimizer_slots(e->prog->optimizer, &n_slots);
  for (int k = 0; k < n_slots; k++)
    P("static float %s[N_PARAMS]; /* %s, parallel to params */\n", slots[k].name, slots[k].what);
  if (e->prog->early_stopping.enabled && e->prog->early_stopping.restore_best)
    P("static float best_params[N_PARAMS]; /* early stopping: the best epoch's weights */\n");
  P("static _Alignas(64) unsigned char arena[ARENA_BYTES];       /* activations */\n");
  P("static _Alignas(64) unsigned char batch_block[INPUT_BYTES]; /* the current batch */\n\n");
  for (int pass = 0; pass < 5; pass++) {
    static const Storage order[] = {ST_INPUT, ST_PARAM, ST_GRAD, ST_ARENA, ST_VIEW};
    static const char *const titles[] = {"the batch", "parameters", "parameter gradients",
                                         "activations and their gradients (memory plan)",
                                         "views"};
    P("/* %s */\n", titles[pass]);
    for (int i = 0; i < g->n_nodes; i++)
      if (g->nodes[i]->storage == order[pass])
        emit_tensor_pointer(e, g->nodes[i]);
    P("\n");
  }
}

/* ---- one kernel call per IR node ---- */

static void emit_matmul(Emitter *e, const IrNode *n) {
  const IrNode *x = n->in[0];
  int k = last_dim(x), nn = n->units;
  P("  rt_matmul_forward(%s, %s, %s, %s, %d, %d); /* %s = %s . (%d, %d) */\n", cn(e, n), cn(e, x),
    cn(e, n->in[1]), rows_expr(e, x), k, nn, shape(e, n), shape(e, x), k, nn);
  if (n->has_bias)
    P("  rt_bias_act_forward(%s, %s, %s, %d, %s); /* epilogue: + bias, %s */\n", cn(e, n),
      cn(e, n->in[2]), rows_expr(e, n), nn, act_args(e, n), ir_act_name(n->act));
}

static void emit_batchnorm(Emitter *e, const IrNode *n) {
  const IrNode *x = n->in[0];
  const char *o = cn(e, n), *g = cn(e, n->in[1]), *b = cn(e, n->in[2]), *mm = cn(e, n->in[3]),
             *mv = cn(e, n->in[4]);
  P("  if (training) /* batch statistics; moving = moving * %g + batch * (1 - %g) */\n",
    n->scale, n->scale);
  P("    rt_batchnorm_train_forward(%s, %s, %s, %s, %s, %s, %s, %s, %s, %d, %s, %s);\n", o,
    cn(e, n->aux), cn(e, n->aux2), cn(e, x), g, b, mm, mv, rows_expr(e, x), last_dim(x),
    c_float(e, n->scale), c_float(e, n->shift));
  P("  else /* moving statistics */\n");
  P("    rt_batchnorm_eval_forward(%s, %s, %s, %s, %s, %s, %s, %d, %s);\n", o, cn(e, x), g, b, mm,
    mv, rows_expr(e, x), last_dim(x), c_float(e, n->shift));
}

static void emit_forward_node(Emitter *e, const IrNode *n) {
  const IrNode *x = n->n_in ? n->in[0] : NULL;
  const char *o = cn(e, n);
  switch (n->op) {
  case IR_CAST:
    P("  rt_cast_u8_forward(%s, %s, %s);\n", o, cn(e, x), count_expr(e, n));
    break;
  case IR_NORMALIZE: {
    int features = n->per_feature ? last_dim(x) : (int)elems(x);
    size_t rows_per_example = elems(x) / (size_t)features;
    P("  /* (x - mean) / max(sqrt(variance), 1e-7), fused with the uint8 -> float conversion */\n");
    P("  rt_normalize_u8_forward(%s, %s, %s, %s, m * %zu, %d, %d);\n", o, cn(e, x),
      cn(e, n->in[1]), cn(e, n->in[2]), rows_per_example, features, n->per_feature);
    break;
  }
  case IR_RESCALE:
    if (x->dtype == DT_U8)
      P("  /* x * %g + %g, fused with the uint8 -> float conversion */\n"
        "  rt_rescale_u8_forward(%s, %s, %s, %s, %s);\n", n->scale, n->shift, o, cn(e, x),
        c_float(e, n->scale), c_float(e, n->shift), count_expr(e, n));
    else
      P("  rt_rescale_forward(%s, %s, %s, %s, %s);\n", o, cn(e, x), c_float(e, n->scale),
        c_float(e, n->shift), count_expr(e, n));
    break;
  case IR_MATMUL: emit_matmul(e, n); break;
  case IR_BIAS_ADD:
    P("  memcpy(%s, %s, sizeof(float) * %s);\n", o, cn(e, x), count_expr(e, n));
    P("  rt_bias_act_forward(%s, %s, %s, %d, RT_ACT_NONE, 0.0f);\n", o, cn(e, n->in[1]),
      rows_expr(e, n), last_dim(n));
    break;
  case IR_ACT:
    P("  rt_act_forward(%s, %s, %s, %s);\n", o, cn(e, x), count_expr(e, n), act_args(e, n));
    break;
  case IR_DROPOUT:
    P("  if (training) /* inverted dropout: zero with p = %g, scale the rest by 1/(1 - p) */\n",
      n->rate);
    P("    rt_dropout_forward(%s, %s, %s, %s, %s, &dropout_rng);\n", o, cn(e, n->aux), cn(e, x),
      c_float(e, n->rate), count_expr(e, n));
    P("  else /* identity in evaluation */\n");
    P("    memcpy(%s, %s, sizeof(float) * %s);\n", o, cn(e, x), count_expr(e, n));
    break;
  case IR_ADD:
    P("  rt_add_forward(%s, %s, %s, %s);\n", o, cn(e, x), cn(e, n->in[1]), count_expr(e, n));
    break;
  case IR_CONCAT:
    P("  rt_concat_forward(%s, %s, %s, %s, %d, %d);\n", o, cn(e, x), cn(e, n->in[1]),
      rows_expr(e, n), last_dim(x), last_dim(n->in[1]));
    break;
  case IR_IM2COL:
    P("  rt_im2col(%s, %s, m, %s); /* %s: the %dx%d window under each output pixel */\n", o,
      cn(e, x), window_name(e, n), shape(e, n), n->win.kh, n->win.kw);
    break;
  case IR_MAXPOOL:
  case IR_AVGPOOL:
    P("  rt_%s_forward(%s, %s, m, %s); /* %s -> %s */\n",
      n->op == IR_MAXPOOL ? "maxpool" : "avgpool", o, cn(e, x), window_name(e, n), shape(e, x),
      shape(e, n));
    break;
  case IR_GAP:
    P("  rt_global_avgpool_forward(%s, %s, m, %zu, %d);\n", o, cn(e, x), elems(x) / (size_t)last_dim(x),
      last_dim(x));
    break;
  case IR_BATCHNORM: emit_batchnorm(e, n); break;
  case IR_SOFTMAX:
    P("  rt_softmax_forward(%s, %s, m, %d);\n", o, cn(e, x), last_dim(n));
    break;
  case IR_XENT:
    P("  loss_sum = rt_crossentropy_forward(%s, %s, %s, %s, m, N_CLASSES);\n", cn(e, x),
      cn(e, n->in[1]), n->n_in > 2 ? "training ? batch_sample_weights : NULL" : "NULL",
      c_float(e, n->smoothing));
    break;
  case IR_SOFTMAX_XENT:
    P("  loss_sum = rt_softmax_xent_forward(%s, %s, %s, %s, %s, m, N_CLASSES);\n", o, cn(e, x),
      cn(e, n->in[1]), n->n_in > 2 ? "training ? batch_sample_weights : NULL" : "NULL",
      c_float(e, n->smoothing));
    break;
  case IR_BXENT:
    P("  loss_sum = rt_binary_xent_forward(%s, %s, %s, m, %d);\n", cn(e, x), cn(e, n->in[1]),
      c_float(e, n->smoothing), last_dim(x));
    break;
  case IR_SIGMOID_BXENT:
    P("  loss_sum = rt_sigmoid_xent_forward(%s, %s, %s, %s, m, %d);\n", o, cn(e, x),
      cn(e, n->in[1]), c_float(e, n->smoothing), last_dim(x));
    break;
  default: NNC_BUG("no forward emitter for %s", ir_op_name(n->op));
  }
}

static void emit_matmul_grad(Emitter *e, const IrNode *n) {
  const IrNode *a = n->in[0], *b = n->in[1];
  if (n->op == IR_MATMUL_GRAD_X) { /* dx (rows, k) = dout (rows, n) . w^T */
    int k = last_dim(n), nn = last_dim(a);
    P("  rt_matmul_backward_x(%s, %s, %s, %s, %d, %d); /* %s = %s . (%d, %d)^T */\n", cn(e, n),
      cn(e, a), cn(e, b), rows_expr(e, n), k, nn, shape(e, n), shape(e, a), k, nn);
  } else { /* dw (k, n) = x^T . dout */
    int k = last_dim(a), nn = last_dim(b);
    P("  rt_matmul_backward_w(%s, %s, %s, %s, %d, %d); /* %s = %s^T . %s */\n", cn(e, n),
      cn(e, a), cn(e, b), rows_expr(e, a), k, nn, shape(e, n), shape(e, a), shape(e, b));
  }
}

static void emit_backward_node(Emitter *e, const IrNode *n) {
  const IrNode *a = n->n_in ? n->in[0] : NULL, *b = n->n_in > 1 ? n->in[1] : NULL;
  const char *o = cn(e, n);
  const char *w = n->n_in > 2 ? cn(e, n->in[2]) : "NULL";
  switch (n->op) {
  case IR_MATMUL_GRAD_X:
  case IR_MATMUL_GRAD_W: emit_matmul_grad(e, n); break;
  case IR_BIAS_GRAD:
    P("  rt_bias_backward(%s, %s, %s, %d);\n", o, cn(e, a), rows_expr(e, a), last_dim(n));
    break;
  case IR_ACT_GRAD:
    P("  rt_act_backward(%s, %s, %s, %s, %s);\n", o, cn(e, a), cn(e, b), count_expr(e, n),
      act_args(e, n));
    break;
  case IR_DROPOUT_GRAD:
    P("  rt_dropout_backward(%s, %s, %s, %s);\n", o, cn(e, a), cn(e, b), count_expr(e, n));
    break;
  case IR_ACT_DROPOUT_GRAD:
    P("  rt_act_dropout_backward(%s, %s, %s, %s, %s, %s);\n", o, cn(e, a), cn(e, b),
      cn(e, n->in[2]), count_expr(e, n), act_args(e, n));
    break;
  case IR_SOFTMAX_GRAD:
    P("  rt_softmax_backward(%s, %s, %s, m, %d);\n", o, cn(e, a), cn(e, b), last_dim(n));
    break;
  case IR_XENT_GRAD:
    P("  rt_crossentropy_backward(%s, %s, %s, %s, %s, 1.0f / (float)m, m, N_CLASSES);\n", o,
      cn(e, a), cn(e, b), w, c_float(e, n->smoothing));
    break;
  case IR_SOFTMAX_XENT_GRAD:
    P("  rt_softmax_xent_backward(%s, %s, %s, %s, %s, 1.0f / (float)m, m, N_CLASSES);\n", o,
      cn(e, a), cn(e, b), w, c_float(e, n->smoothing));
    break;
  case IR_BXENT_GRAD:
    P("  rt_binary_xent_backward(%s, %s, %s, %s, 1.0f / (float)m, m, %d);\n", o, cn(e, a),
      cn(e, b), c_float(e, n->smoothing), last_dim(n));
    break;
  case IR_SIGMOID_BXENT_GRAD:
    P("  rt_sigmoid_xent_backward(%s, %s, %s, %s, 1.0f / (float)m, m, %d);\n", o, cn(e, a),
      cn(e, b), c_float(e, n->smoothing), last_dim(n));
    break;
  case IR_ACCUMULATE:
    P("  rt_add_forward(%s, %s, %s, %s); /* two gradient contributions */\n", o, cn(e, a),
      cn(e, b), count_expr(e, n));
    break;
  case IR_RESCALE_GRAD:
    P("  rt_rescale_backward(%s, %s, %s, %s);\n", o, cn(e, a), c_float(e, n->scale),
      count_expr(e, n));
    break;
  case IR_COL2IM:
    P("  rt_col2im(%s, %s, m, %s);\n", o, cn(e, a), window_name(e, n));
    break;
  case IR_MAXPOOL_GRAD:
    P("  rt_maxpool%s_backward(%s, %s, %s, m, %s);\n", n->act == ACT_RELU ? "_relu" : "", o,
      cn(e, a), cn(e, b), window_name(e, n));
    break;
  case IR_AVGPOOL_GRAD:
    P("  rt_avgpool_backward(%s, %s, m, %s);\n", o, cn(e, a), window_name(e, n));
    break;
  case IR_GAP_GRAD:
    P("  rt_global_avgpool_backward(%s, %s, m, %zu, %d);\n", o, cn(e, a),
      elems(n) / (size_t)last_dim(n), last_dim(n));
    break;
  case IR_BN_GRAD_GAMMA:
    P("  rt_batchnorm_backward_gamma(%s, %s, %s, %s, %d);\n", o, cn(e, a), cn(e, b),
      rows_expr(e, a), last_dim(a));
    break;
  case IR_BN_GRAD_X:
    P("  rt_batchnorm_backward_x(%s, %s, %s, %s, %s, %s, %d);\n", o, cn(e, a), cn(e, b),
      cn(e, n->in[2]), cn(e, n->in[3]), rows_expr(e, n), last_dim(n));
    break;
  case IR_CONCAT_GRAD:
    P("  rt_concat_backward(%s, %s, %s, %d, %d, %d);\n", o, cn(e, a), rows_expr(e, a),
      last_dim(a), n->concat_offset, last_dim(n));
    break;
  case IR_RESHAPE:
    P("  /* %s: %s viewed as %s, no copy */\n", e->cname[n->id], shape(e, a), shape(e, n));
    break;
  default: NNC_BUG("no backward emitter for %s", ir_op_name(n->op));
  }
}

/* static const RtWindow <node>_window = {...}: the geometry of each window */
static void emit_windows(Emitter *e) {
  const Graph *g = e->g;
  bool any = false;
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    IrOp op = n->op;
    if (op != IR_IM2COL && op != IR_MAXPOOL && op != IR_AVGPOOL)
      continue; /* gradients use their forward layer's window */
    const Window *w = &n->win;
    if (!any)
      P("/* window geometry (NHWC; 'same' padding puts the extra pixel after) */\n");
    any = true;
    P("static const RtWindow %s_window = {.h = %d, .w = %d, .c = %d, .oh = %d, .ow = %d, "
      ".kh = %d, .kw = %d,\n    .sh = %d, .sw = %d, .pad_top = %d, .pad_left = %d}; /* %s */\n",
      c_ident(e, n->layer), w->h, w->w, w->c, w->oh, w->ow, w->kh, w->kw, w->sh, w->sw, w->pad_top,
      w->pad_left, w->same ? "padding same" : "padding valid");
  }
  if (any)
    P("\n");
}

/* ---- layer functions: consecutive nodes of one layer form one function ---- */

static bool is_compute(const IrNode *n) {
  return n->op != IR_INPUT && n->op != IR_LABELS && n->op != IR_WEIGHTS && n->op != IR_PARAM &&
         n->op != IR_SCRATCH && n->op != IR_RESHAPE; /* a reshape is a view: no code */
}

typedef struct {
  int start, end; /* schedule range [start, end) */
  const char *fn;  /* function name */
} Group;

/* Groups consecutive compute nodes with the same layer and direction. */
static int make_groups(Emitter *e, bool backward, Group *groups, int max) {
  const Graph *g = e->g;
  int n = 0;
  for (int i = 0; i < g->n_nodes;) {
    const IrNode *node = g->nodes[i];
    if (!is_compute(node) || node->backward != backward) {
      i++;
      continue;
    }
    int j = i + 1;
    while (j < g->n_nodes && (!is_compute(g->nodes[j]) ||
                              (g->nodes[j]->backward == backward &&
                               !strcmp(g->nodes[j]->layer, node->layer))))
      j++;
    if (n == max)
      NNC_BUG("too many layer groups");
    const char *base = arena_printf(g->arena, "%s_%s", node->layer,
                                    backward ? "backward" : "forward");
    const char *fn = base;
    for (int k = 0, dup = 1; k < n; k++)
      if (!strcmp(groups[k].fn, fn))
        fn = arena_printf(g->arena, "%s_%d", base, ++dup), k = -1;
    groups[n++] = (Group){i, j, fn};
    i = j;
  }
  return n;
}

static const char *layer_kind(const Graph *g, const char *layer) {
  for (int i = 0; i < g->n_layers; i++)
    if (!strcmp(g->layer_names[i], layer))
      return g->layer_kinds[i];
  return layer;
}

/* A dense layer whose input needs no gradient (autodiff skipped dx). */
static bool skips_input_grad(const Graph *g, const char *layer) {
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->op == IR_MATMUL && !strcmp(n->layer, layer) && !n->in[0]->requires_grad)
      return true;
  }
  return false;
}

static void emit_group(Emitter *e, const Group *gr, bool backward) {
  const Graph *g = e->g;
  const IrNode *first = g->nodes[gr->start];
  P("/* %s: %s layer '%s' (%s line %d)", gr->fn, layer_kind(g, first->layer), first->layer,
    e->opt->source_path, first->loc.first_line);
  for (int i = gr->start; i < gr->end; i++)
    if (g->nodes[i]->fused)
      P("\n   fused: %s", g->nodes[i]->fused);
  P(" */\n");
  P("static void %s(int m%s) {\n", gr->fn, backward ? "" : ", int training");
  bool uses_training = false;
  for (int i = gr->start; i < gr->end; i++)
    uses_training |= g->nodes[i]->op == IR_DROPOUT || g->nodes[i]->op == IR_BATCHNORM ||
                     (ir_is_loss(g->nodes[i]->op) && g->nodes[i]->n_in > 2);
  if (!backward && !uses_training)
    P("  (void)training;\n");
  for (int i = gr->start; i < gr->end; i++) {
    const IrNode *n = g->nodes[i];
    if (!is_compute(n))
      continue;
    if (backward)
      emit_backward_node(e, n);
    else
      emit_forward_node(e, n);
  }
  if (backward && skips_input_grad(g, first->layer))
    P("  /* no gradient for this layer's input: nothing before it is trainable */\n");
  P("}\n\n");
}

static void emit_layers(Emitter *e, Group *fw, int n_fw, Group *bw, int n_bw) {
  P("/* ===== layers ===== */\n\n");
  P("static RtRng dropout_rng; /* dropout masks */\n");
  P("static float learning_rate = LEARNING_RATE; /* %s */\n",
    e->prog->reduce_lr.enabled     ? "lowered by reduce_lr_on_plateau"
    : e->prog->schedule != SCHED_CONSTANT ? "set by the schedule every step"
                                          : "constant");
  P("static double loss_sum;   /* sum over the batch of (weighted) per-example losses */\n\n");
  for (int i = 0; i < n_fw; i++)
    emit_group(e, &fw[i], false);
  for (int i = 0; i < n_bw; i++)
    emit_group(e, &bw[i], true);
}

/* ---- model-level functions ---- */

/* One update per trainable tensor, the hyper-parameters baked in. */
static void emit_update(Emitter *e, const IrNode *n) {
  const Program *p = e->prog;
  size_t off = n->offset / 4, count = ir_elems(n);
  const char *w = cn(e, n), *grad = n->grad ? cn(e, n->grad) : "grads";
  if (p->clipnorm > 0 && n->grad)
    P("  rt_clip_by_norm(%s, %zu, %s); /* clipnorm */\n", grad, count, c_float(e, p->clipnorm));
  switch (p->optimizer) {
  case OPT_ADAM:
    P("  rt_adam_update(%s, %s, adam_m + %zu, adam_v + %zu, %zu, learning_rate, %s, %s, %s, t);\n",
      w, grad, off, off, count, c_float(e, p->beta1), c_float(e, p->beta2),
      c_float(e, p->epsilon));
    break;
  case OPT_ADAMW:
    P("  rt_adamw_update(%s, %s, adam_m + %zu, adam_v + %zu, %zu, learning_rate, %s, %s, %s, %s, "
      "t);\n", w, grad, off, off, count, c_float(e, p->beta1), c_float(e, p->beta2),
      c_float(e, p->epsilon), c_float(e, p->weight_decay));
    break;
  case OPT_RMSPROP:
    P("  rt_rmsprop_update(%s, %s, rmsprop_v + %zu, %zu, learning_rate, %s, %s);\n", w, grad, off,
      count, c_float(e, p->rho), c_float(e, p->epsilon));
    break;
  case OPT_SGD:
    P("  rt_sgd_update(%s, %s, sgd_velocity + %zu, %zu, learning_rate, %s, %d);\n", w, grad, off,
      count, c_float(e, p->momentum), p->nesterov);
    break;
  }
}

/* The learning rate of optimizer step t (Keras counts steps from 0: step = t - 1). */
static void emit_schedule(Emitter *e) {
  const Program *p = e->prog;
  switch (p->schedule) {
  case SCHED_CONSTANT:
    if (p->optimizer != OPT_ADAM && p->optimizer != OPT_ADAMW)
      P("  (void)t;\n");
    return;
  case SCHED_EXPONENTIAL:
    P("  /* ExponentialDecay: %g^(step / %ld)%s */\n"
      "  learning_rate = (float)rt_exponential_decay(LEARNING_RATE, t - 1, %ld, %.17g, %d);\n",
      p->decay_rate, p->decay_steps, p->staircase ? " floored" : "", p->decay_steps,
      p->decay_rate, p->staircase);
    return;
  case SCHED_PIECEWISE:
    P("  /* PiecewiseConstantDecay: values[i] while step <= boundaries[i] */\n");
    P("  static const long boundaries[%d] = {", p->n_boundaries);
    for (int i = 0; i < p->n_boundaries; i++)
      P("%s%ld", i ? ", " : "", p->boundaries[i]);
    P("};\n  static const double values[%d] = {", p->n_boundaries + 1);
    for (int i = 0; i <= p->n_boundaries; i++)
      P("%s%.17g", i ? ", " : "", p->values[i]);
    P("};\n  learning_rate = (float)rt_piecewise_constant(t - 1, boundaries, values, %d);\n",
      p->n_boundaries);
    return;
  case SCHED_COSINE:
    P("  /* CosineDecay over %ld steps to %g of the peak", p->decay_steps, p->alpha);
    if (p->warmup_steps)
      P(", after %ld warmup steps to %g", p->warmup_steps, p->warmup_target);
    P(" */\n  learning_rate = (float)rt_cosine_decay(LEARNING_RATE, t - 1, %ld, %.17g, %.17g, "
      "%ld);\n", p->decay_steps, p->alpha, p->warmup_target, p->warmup_steps);
    return;
  }
}

/* global_clipnorm: every trainable gradient scaled together, before the updates. */
static void emit_global_clip(Emitter *e) {
  const Graph *g = e->g;
  P("  /* global_clipnorm: the norm of all gradients together is at most %g */\n",
    e->prog->global_clipnorm);
  P("  static float *const all_grads[] = {");
  int n = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->op == IR_PARAM && g->nodes[i]->trainable && g->nodes[i]->grad)
      P("%s%s", n++ ? ", " : "", cn(e, g->nodes[i]->grad));
  P("};\n  static const size_t all_counts[] = {");
  n = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->op == IR_PARAM && g->nodes[i]->trainable && g->nodes[i]->grad)
      P("%s%zu", n++ ? ", " : "", ir_elems(g->nodes[i]));
  P("};\n  rt_clip_by_global_norm(all_grads, all_counts, %d, %s);\n", n,
    c_float(e, e->prog->global_clipnorm));
}

static void emit_optimizer_step(Emitter *e) {
  const Program *p = e->prog;
  switch (p->optimizer) {
  case OPT_ADAM:
  case OPT_ADAMW:
    P("/* Keras %s (lr %g, beta_1 %g, beta_2 %g, epsilon %g", p->optimizer == OPT_ADAM ? "Adam" :
      "AdamW", p->learning_rate, p->beta1, p->beta2, p->epsilon);
    if (p->optimizer == OPT_ADAMW)
      P(", weight_decay %g", p->weight_decay);
    P("), step t from 1. */\n");
    break;
  case OPT_RMSPROP:
    P("/* Keras RMSprop (lr %g, rho %g, epsilon %g). */\n", p->learning_rate, p->rho, p->epsilon);
    break;
  case OPT_SGD:
    P("/* Keras SGD (lr %g, momentum %g%s). */\n", p->learning_rate, p->momentum,
      p->nesterov ? ", nesterov" : "");
    break;
  }
  P("static void optimizer_step(long t) {\n");
  emit_schedule(e);
  if (p->global_clipnorm > 0)
    emit_global_clip(e);
  for (int i = 0; i < e->g->n_nodes; i++)
    if (e->g->nodes[i]->op == IR_PARAM && e->g->nodes[i]->trainable)
      emit_update(e, e->g->nodes[i]);
  P("}\n\n");
}

static void emit_model_functions(Emitter *e, Group *fw, int n_fw, Group *bw, int n_bw) {
  const Graph *g = e->g;
  P("/* ===== the model ===== */\n\n");
  P("/* Forward pass over the m <= BATCH examples in the batch block; sets loss_sum. */\n");
  bool regularized = false;
  for (int i = 0; i < g->n_nodes; i++)
    regularized |= g->nodes[i]->op == IR_PARAM && g->nodes[i]->l2 > 0;
  if (regularized) {
    P("/* Keras adds the kernel regularizers' penalties to the loss: sum of lambda ||w||^2. */\n");
    P("static double regularization_loss(void) {\n  double penalty = 0;\n");
    for (int i = 0; i < g->n_nodes; i++) {
      const IrNode *n = g->nodes[i];
      if (n->op == IR_PARAM && n->l2 > 0)
        P("  penalty += rt_l2_penalty(%s, %zu, %s);\n", cn(e, n), ir_elems(n), c_float(e, n->l2));
    }
    P("  return penalty;\n}\n\n");
  }
  P("static void model_forward(int m, int training) {\n");
  for (int i = 0; i < n_fw; i++)
    P("  %s(m, training);\n", fw[i].fn);
  if (regularized)
    P("  loss_sum += m * regularization_loss(); /* per example, like the data loss */\n");
  P("}\n\n");
  P("/* Backward pass: every parameter gradient, overwritten (one step = one batch). */\n");
  P("static void model_backward(int m) {\n");
  for (int i = 0; i < n_bw; i++)
    P("  %s(m);\n", bw[i].fn);
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->op == IR_PARAM && n->l2 > 0 && n->grad)
      P("  rt_l2_backward(%s, %s, %zu, %s); /* kernel_regularizer=l2: + 2 lambda w */\n",
        cn(e, n->grad), cn(e, n), ir_elems(n), c_float(e, n->l2));
  }
  P("}\n\n");
  emit_optimizer_step(e);
  P("/* Initial weights: glorot_uniform kernels, zero biases (Keras's defaults). */\n");
  P("static void init_params(RtRng *rng) {\n");
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->op != IR_PARAM || !n->init)
      continue;
    if (!strcmp(n->init, "glorot_uniform"))
      P("  rt_init_glorot_uniform(%s, %zu, %d, %d, rng); /* %s */\n", cn(e, n), ir_elems(n),
        n->fan_in, n->fan_out, shape(e, n));
    else if (!strcmp(n->init, "ones") || !strcmp(n->init, "zeros"))
      P("  rt_fill(%s, %s, %zu); /* %s */\n", cn(e, n), n->init[0] == 'o' ? "1.0f" : "0.0f",
        ir_elems(n), shape(e, n));
  }
  P("}\n\n");
}

/* ---- checkpoint table ---- */

static void emit_checkpoint_table(Emitter *e) {
  const Graph *g = e->g;
  P("/* ===== checkpoint: parameters, statistics and optimizer state, by name ===== */\n\n");
  P("static RtTensorRef checkpoint_tensors[] = {\n");
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->op == IR_PARAM)
      P("    {\"%s\", params + %zu, %zu},\n", n->name, n->offset / 4, ir_elems(n));
  }
  int n_slots;
  const OptimizerSlot *slots = optimizer_slots(e->prog->optimizer, &n_slots);
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    for (int k = 0; k < n_slots && n->op == IR_PARAM && n->trainable; k++)
      P("    {\"%s/%s\", %s + %zu, %zu},\n", slots[k].name, n->name, slots[k].name, n->offset / 4,
        ir_elems(n));
  }
  P("};\n#define N_CHECKPOINT_TENSORS ((int)(sizeof checkpoint_tensors / sizeof "
    "checkpoint_tensors[0]))\n\n");
}

/* ---- data, fit, evaluate, main: the recipe of the data/train/evaluate sections ---- */

static void emit_normalization_adapt(Emitter *e) {
  const Graph *g = e->g;
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->op != IR_NORMALIZE)
      continue;
    int features = n->per_feature ? last_dim(n->in[0]) : 1;
    P("  /* %s.adapt(): statistics of the training split only */\n", n->layer);
    P("  rt_adapt_mean_var(%s, %s, train, %d);\n", cn(e, n->in[1]), cn(e, n->in[2]), features);
    for (int k = 0; k < g->n_nodes; k++) {
      const IrNode *c = g->nodes[k];
      if (c->op == IR_PARAM && !strcmp(c->layer, n->layer) && strstr(c->name, ".count"))
        P("  %s[0] = (float)train->count * %zu; /* values averaged per statistic */\n", cn(e, c),
      elems(n->in[0]) / (size_t)features);
    }
  }
}

/* "(28, 28)": the input's per-example shape */
static const char *input_shape_text(Emitter *e) {
  return arena_printf(e->g->arena, "(%s", ir_shape_str(e->g->arena, e->g->input) + 4);
}

/* Loads the first --limit-test examples of the test split into ds. */
static void emit_load_test(Emitter *e) {
  P("static void load_test(RtDataset *ds, const RtOptions *opt) {\n");
  P("  rt_dataset_load_idx(ds, opt->data_dir, \"t10k\");\n");
  P("  check_input_shape(ds, \"test data\");\n");
  P("  if (opt->limit_test > 0 && opt->limit_test < ds->count) {\n");
  P("    RtDataset head;\n    rt_dataset_slice(&head, ds, 0, opt->limit_test);\n");
  P("    rt_dataset_free(ds);\n    *ds = head;\n  }\n}\n\n");
}

/* The data section's `validation ...`: full (the training file) becomes
 * *train and *val, or *val comes from elsewhere. */
static void emit_validation_split(Emitter *e) {
  const Program *p = e->prog;
  switch (p->validation) {
  case VAL_NONE:
    P("  memset(val, 0, sizeof *val);\n  *train = full;\n");
    return;
  case VAL_LAST:
  case VAL_SPLIT:
    if (p->validation == VAL_LAST)
      P("  int n_val = %d; /* validation last %d */\n", p->validation_last, p->validation_last);
    else /* Keras: split_at = ceil(N (1 - F)) */
      P("  int n_val = full.count - (int)ceil(full.count * (1.0 - %.17g)); /* validation split "
        "%g */\n", p->validation_split, p->validation_split);
    P("  if (n_val >= full.count)\n");
    P("    rt_die(\"the validation split takes %%d of %%d examples: nothing is left to train "
      "on\", n_val, full.count);\n");
    if (p->validation == VAL_SPLIT && p->validation_seeded)
      P("  rt_dataset_split_random(train, val, &full, n_val, %ldu); /* chosen with seed %ld */\n",
        p->validation_seed, p->validation_seed);
    else {
      P("  rt_dataset_slice(val, &full, full.count - n_val, n_val); /* the last n_val */\n");
      P("  rt_dataset_slice(train, &full, 0, full.count - n_val);\n");
    }
    P("  rt_dataset_free(&full);\n");
    return;
  case VAL_TEST:
    P("  /* validation test: the test split doubles as validation, as the seeds'\n"
      "     validation_data=(x_test, y_test) do (model selection then sees the test set) */\n");
    P("  load_test(val, opt);\n  *train = full;\n");
    return;
  case VAL_FILES:
    P("  /* validation files: a separate source */\n");
    P("  rt_dataset_load_idx_files(val, %s, %s);\n", c_string(e, p->validation_images),
      c_string(e, p->validation_labels));
    P("  check_input_shape(val, \"validation data\");\n  *train = full;\n");
    return;
  }
}

static void emit_prepare_data(Emitter *e) {
  const Program *p = e->prog;
  P("/* ===== data: load, split, reshape the training distribution ===== */\n\n");
  P("static float class_weight[N_CLASSES];\n\n");
  P("static void check_input_shape(const RtDataset *ds, const char *what) {\n");
  P("  if (ds->item_size != INPUT_SIZE)\n");
  P("    rt_die(\"%%s: images have %%zu values (%%dx%%dx%%d), but model input %s is %s\",\n"
    "           what, ds->item_size, ds->rows, ds->cols, ds->channels);\n",
    e->g->input->name, input_shape_text(e));
  P("}\n\n");
  emit_load_test(e);
  P("static void prepare_data(RtDataset *train, RtDataset *val, const RtOptions *opt) {\n");
  P("  RtDataset full;\n  rt_dataset_load_idx(&full, opt->data_dir, \"train\");\n");
  P("  check_input_shape(&full, \"training data\");\n");
  P("  if (opt->limit_train > 0 && opt->limit_train < full.count) {\n");
  P("    RtDataset head;\n    rt_dataset_slice(&head, &full, 0, opt->limit_train);\n");
  P("    rt_dataset_free(&full);\n    full = head;\n  }\n");
  emit_validation_split(e);
  if (p->n_keep) {
    P("  /* keep train {...} seed %ld: the manufactured imbalance */\n", p->keep_seed);
    P("  static const int keep_classes[] = {");
    for (int i = 0; i < p->n_keep; i++)
      P("%s%d", i ? ", " : "", p->keep[i].class_id);
    P("};\n  static const int keep_counts[] = {");
    for (int i = 0; i < p->n_keep; i++)
      P("%s%d", i ? ", " : "", p->keep[i].count);
    P("};\n  rt_dataset_keep(train, keep_classes, keep_counts, %d, %ldu);\n", p->n_keep,
      p->keep_seed);
  }
  emit_normalization_adapt(e); /* on the training split as kept, before any oversampling */
  if (p->oversample)
    P("  /* oversample train: repeat each class up to the largest, then shuffle */\n"
      "  rt_dataset_oversample(train, N_CLASSES, %ldu);\n", p->oversample_seed);
  P("  int counts[N_CLASSES];\n  rt_class_counts(counts, train, N_CLASSES);\n");
  P("  if (!opt->quiet) {\n    printf(\"train: %%d examples, per class [\", train->count);\n");
  P("    for (int c = 0; c < N_CLASSES; c++)\n      printf(\"%%s%%d\", c ? \" \" : \"\", "
    "counts[c]);\n");
  P("    printf(\"]; validation: %%d examples\\n\", val->count);\n  }\n");
  if (p->class_weight_balanced) {
    P("  rt_class_weights_balanced(class_weight, counts, N_CLASSES); /* w_c = N / (C n_c) */\n");
  } else if (p->class_weight_explicit) {
    for (int c = 0; c < p->n_classes; c++)
      P("  class_weight[%d] = %s; /* %s */\n", c, c_float(e, p->class_weight[c]),
        c_comment(e, p->class_names[c]));
  } else {
    P("  for (int c = 0; c < N_CLASSES; c++)\n    class_weight[c] = 1.0f;\n");
  }
  P("}\n\n");
}

static void emit_batching(Emitter *e) {
  const Graph *g = e->g;
  const char *labels = cn(e, g->labels);
  P("/* Copies examples idx[0..m) of ds into the batch block. */\n");
  P("static void load_batch(const RtDataset *ds, const int *idx, int m) {\n");
  P("  for (int i = 0; i < m; i++) {\n");
  P("    memcpy(%s + (size_t)i * INPUT_SIZE, ds->x + (size_t)idx[i] * INPUT_SIZE, "
    "INPUT_SIZE);\n", cn(e, g->input));
  if (g->binary) {
    P("    const uint8_t *row = TARGET_TABLE + (size_t)ds->y[idx[i]] * N_OUTPUTS; /* the class's "
      "targets */\n");
    P("    for (int k = 0; k < N_OUTPUTS; k++)\n");
    P("      %s[(size_t)i * N_OUTPUTS + k] = row[k];\n", labels);
  } else {
    P("    %s[i] = ds->y[idx[i]];\n", labels);
  }
  if (g->weights)
    P("    %s[i] = class_weight[ds->y[idx[i]]];\n", cn(e, g->weights));
  P("  }\n}\n\n");
  P("/* The model's scores for the batch: %s probabilities (m, N_SCORES). */\n",
    g->binary ? "sigmoid" : "softmax");
  bool fused = g->loss->op == IR_SOFTMAX_XENT || g->loss->op == IR_SIGMOID_BXENT;
  const IrNode *probs = fused ? g->loss : g->loss->in[0]; /* fused losses output them */
  P("static const float *batch_scores(void) { return %s; }\n\n", cn(e, probs));
  P("/* One optimizer step on the batch block; returns the batch's loss sum. */\n");
  P("static double train_step(int m, long t) {\n");
  P("  model_forward(m, 1);\n  model_backward(m);\n  optimizer_step(t);\n  return loss_sum;\n}\n\n");
  P("typedef struct {\n  double loss, accuracy, top_k_accuracy; /* top 5 (Keras's k) */\n"
    "  double auc; /* macro ROC AUC, when the scores were kept */\n} EvalResult;\n\n");
  P("/* The macro average of the ROC AUCs of scores (n, N_SCORES) for class labels (n). */\n");
  P("static double mean_auc(const float *scores, const uint8_t *labels, int n) {\n");
  P("  double auc[N_SCORES];\n  rt_roc_auc_columns(auc, scores, labels, %s, n, N_SCORES);\n",
    g->binary ? "TARGET_TABLE" : "NULL");
  P("  return rt_mean_defined(auc, N_SCORES);\n}\n\n");
  P("/* Loss (unweighted, as Keras) and accuracy over a dataset, dropout off; the\n"
    " * confusion matrix too when cm is not NULL, and every example's scores\n"
    " * (ds->count, N_SCORES) when scores is not NULL. */\n");
  P("static EvalResult evaluate(const RtDataset *ds, RtConfusion *cm, float *scores) {\n");
  P("  int idx[BATCH];\n  double loss = 0;\n  long correct = 0%s;\n", g->binary ? "" : ", top_k = 0");
  P("  for (int start = 0; start < ds->count; start += BATCH) {\n");
  P("    int m = ds->count - start < BATCH ? ds->count - start : BATCH;\n");
  P("    for (int i = 0; i < m; i++)\n      idx[i] = start + i;\n");
  P("    load_batch(ds, idx, m);\n    model_forward(m, 0);\n    loss += loss_sum;\n");
  P("    if (scores)\n      memcpy(scores + (size_t)start * N_SCORES, batch_scores(), "
    "sizeof(float) * (size_t)m * N_SCORES);\n");
  if (g->binary) {
    P("    correct += rt_count_binary_correct(batch_scores(), %s, m, N_OUTPUTS);\n", labels);
    P("    (void)cm;\n");
  } else {
    P("    correct += rt_count_correct(batch_scores(), %s, m, N_CLASSES);\n", labels);
    P("    top_k += rt_count_top_k(batch_scores(), %s, m, N_CLASSES, 5);\n", labels);
    P("    for (int i = 0; cm && i < m; i++)\n");
    P("      rt_confusion_add(cm, %s[i], rt_argmax(batch_scores() + (size_t)i * N_CLASSES, "
      "N_CLASSES));\n", labels);
  }
  P("  }\n  int n = ds->count > 0 ? ds->count : 1;\n");
  P("  double auc = scores ? mean_auc(scores, ds->y, ds->count) : NAN;\n");
  if (g->binary) /* Keras's binary_accuracy: the share of all n * k entries */
    P("  return (EvalResult){loss / n, (double)correct / ((double)n * N_OUTPUTS), NAN, auc};\n"
      "}\n\n");
  else
    P("  return (EvalResult){loss / n, (double)correct / n, (double)top_k / n, auc};\n}\n\n");
}

/* One column of the epoch log: its name (history.csv, monitor=) and the C
 * expression of its value inside fit(). */
typedef struct {
  const char *name, *expr;
} EpochColumn;

/* epoch, loss, accuracy, [top_k_accuracy, auc,] val_..., lr, seconds */
static int epoch_columns(Emitter *e, EpochColumn *cols) {
  const Program *p = e->prog;
  int n = 0;
  cols[n++] = (EpochColumn){"epoch", "epoch"};
  for (int pass = 0; pass < 2; pass++) {
    const char *v = pass ? "val_" : "", *x = pass ? "val." : "";
    static const char *const names[] = {"loss", "accuracy", "top_k_accuracy", "auc"};
    bool on[] = {true, true, p->metric_top_k, p->metric_auc};
    for (int i = 0; i < 4; i++)
      if (on[i])
        cols[n++] = (EpochColumn){arena_printf(e->g->arena, "%s%s", v, names[i]),
                                  arena_printf(e->g->arena, "%s%s", x, names[i])};
  }
  cols[n++] = (EpochColumn){"lr", "learning_rate"};
  cols[n++] = (EpochColumn){"seconds", "seconds"};
  return n;
}

static const char *monitor_expr(Emitter *e, const char *name) {
  EpochColumn cols[16];
  int n = epoch_columns(e, cols);
  for (int i = 0; i < n; i++)
    if (!strcmp(cols[i].name, name))
      return cols[i].expr;
  NNC_BUG("monitor '%s' is not logged", name);
}

/* The epoch line: Keras's "loss: ... - accuracy: ... - val_loss: ..." */
static void emit_epoch_line(Emitter *e, const EpochColumn *cols, int n) {
  const Program *p = e->prog;
  P("    if (!opt->quiet) {\n");
  P("      printf(\"Epoch %%d/%%d - %%d steps - %%.2fs\", epoch, opt->epochs, steps_per_epoch, "
    "seconds);\n");
  for (int i = 1; i < n - 2; i++)
    if (p->validation != VAL_NONE || strncmp(cols[i].name, "val_", 4) != 0)
      P("      printf(\" - %s: %%.4f\", %s);\n", cols[i].name, cols[i].expr);
  P("      printf(\" - lr: %%.1e\\n\", learning_rate);\n    }\n");
}

static void emit_fit(Emitter *e) {
  const Program *p = e->prog;
  const Callback *ck = &p->checkpoint, *es = &p->early_stopping, *rl = &p->reduce_lr;
  P("/* ===== fit: epochs, callbacks, history ===== */\n\n");
  P("typedef struct {\n  int epochs_run, best_epoch;\n  long steps;\n} FitResult;\n\n");
  P("static FitResult fit(const RtDataset *train, const RtDataset *val_data, const RtOptions *opt,\n"
    "                     const char *checkpoint_path) {\n");
  if (!ck->enabled)
    P("  (void)checkpoint_path; /* no checkpoint callback: main saves the final weights */\n");
  P("  RtRng shuffle_rng;\n  rt_rng_seed(&shuffle_rng, opt->seed + 1);\n");
  P("  int *order = rt_malloc(sizeof(int) * (size_t)train->count);\n");
  P("  for (int i = 0; i < train->count; i++)\n    order[i] = i;\n");
  P("  char path[4096];\n  rt_path_join(path, sizeof path, opt->out_dir, \"history.csv\");\n");
  EpochColumn cols[16];
  int n_cols = epoch_columns(e, cols);
  P("  static const char *const columns[%d] = {", n_cols);
  for (int i = 0; i < n_cols; i++)
    P("%s\"%s\"", i ? ", " : "", cols[i].name);
  P("};\n");
  P("  RtCsvLog history;\n  rt_csv_log_open(&history, path, ',', 0, columns, %d);\n", n_cols);
  if (p->csv_logger) {
    P("  /* csv_logger: Keras's CSVLogger%s */\n", p->csv_append ? ", appending" : "");
    P("  RtCsvLog csv_log;\n  rt_path_join(path, sizeof path, opt->out_dir, %s);\n",
      c_string(e, p->csv_path));
    P("  rt_csv_log_open(&csv_log, path, %s, %d, columns, %d);\n", c_char(e, p->csv_separator),
      p->csv_append, n_cols);
  }
  if (p->metric_auc) {
    P("  /* metrics [auc]: every example's scores, to rank them at the end of the epoch */\n");
    P("  float *epoch_scores = rt_malloc(sizeof(float) * ((size_t)train->count + 1) * "
      "N_SCORES);\n");
    P("  uint8_t *epoch_labels = rt_malloc((size_t)train->count + 1);\n");
    P("  float *val_scores = rt_malloc(sizeof(float) * ((size_t)val_data->count + 1) * "
      "N_SCORES);\n");
  }
  if (ck->enabled)
    P("  RtMonitor checkpoint;\n  rt_monitor_init(&checkpoint, \"%s\", %s, 0);\n", ck->monitor,
      ck->mode == MODE_MAX ? "RT_MODE_MAX" : "RT_MODE_MIN");
  if (es->enabled)
    P("  RtMonitor early;\n  rt_monitor_init(&early, \"%s\", %s, %g);\n", es->monitor,
      es->mode == MODE_MAX ? "RT_MODE_MAX" : "RT_MODE_MIN", es->min_delta);
  if (rl->enabled)
    P("  RtPlateau plateau;\n  rt_plateau_init(&plateau, \"%s\", %s, %g, %g, %d, %d, %g);\n",
      rl->monitor, rl->mode == MODE_MAX ? "RT_MODE_MAX" : "RT_MODE_MIN", rl->min_delta,
      rl->factor, rl->patience, rl->cooldown, rl->min_lr);
  P("  FitResult r = {0, 0, 0};\n");
  P("  int steps_per_epoch = (train->count + BATCH - 1) / BATCH;\n");
  P("  for (int epoch = 1; epoch <= opt->epochs; epoch++) {\n");
  P("    double t0 = rt_now(), loss = 0, correct = 0, weight = 0%s;\n",
    p->metric_top_k ? ", top_k = 0" : "");
  if (p->shuffle)
    P("    rt_rng_shuffle(&shuffle_rng, order, train->count);\n");
  P("    for (int start = 0; start < train->count; start += BATCH) {\n");
  P("      int m = train->count - start < BATCH ? train->count - start : BATCH;\n");
  P("      load_batch(train, order + start, m);\n");
  P("      loss += train_step(m, ++r.steps);\n");
  const char *w = e->g->weights ? cn(e, e->g->weights) : "NULL";
  if (e->g->binary) {
    P("      /* Keras's binary_accuracy: the share of the m * k targets predicted right */\n");
    P("      correct += rt_count_binary_correct(batch_scores(), %s, m, N_OUTPUTS);\n",
      cn(e, e->g->labels));
    P("      weight += (double)m * N_OUTPUTS;\n");
  } else {
    P("      /* Keras weights training metrics by the class weights: sum(w correct) / sum(w) */\n");
    P("      correct += rt_weighted_correct(batch_scores(), %s, %s, m, N_CLASSES);\n",
      cn(e, e->g->labels), w);
    if (e->g->weights)
      P("      for (int i = 0; i < m; i++)\n        weight += %s[i];\n", w);
    else
      P("      weight += m;\n");
  }
  if (p->metric_top_k)
    P("      top_k += rt_count_top_k(batch_scores(), %s, m, N_CLASSES, 5);\n",
      cn(e, e->g->labels));
  if (p->metric_auc) {
    P("      memcpy(epoch_scores + (size_t)start * N_SCORES, batch_scores(), sizeof(float) * "
      "(size_t)m * N_SCORES);\n");
    P("      for (int i = 0; i < m; i++)\n        epoch_labels[start + i] = "
      "train->y[order[start + i]];\n");
  }
  P("    }\n");
  P("    loss /= train->count;\n    double accuracy = correct / weight;\n");
  if (p->metric_top_k)
    P("    double top_k_accuracy = top_k / train->count; /* unweighted */\n");
  if (p->metric_auc)
    P("    double auc = mean_auc(epoch_scores, epoch_labels, train->count);\n");
  if (p->validation != VAL_NONE)
    P("    EvalResult val = evaluate(val_data, NULL, %s);\n", p->metric_auc ? "val_scores" : "NULL");
  else
    P("    EvalResult val = {NAN, NAN, NAN, NAN};\n    (void)val_data;\n");
  P("    double seconds = rt_now() - t0;\n    r.epochs_run = epoch;\n");
  P("    const double row[%d] = {", n_cols);
  for (int i = 0; i < n_cols; i++)
    P("%s%s", i ? ", " : "", cols[i].expr);
  P("};\n    rt_csv_log_row(&history, row);\n");
  if (p->csv_logger)
    P("    rt_csv_log_row(&csv_log, row);\n");
  emit_epoch_line(e, cols, n_cols);
  if (ck->enabled) {
    P("    double ck_prev = checkpoint.best;\n");
    P("    if (rt_monitor_update(&checkpoint, %s, epoch)) {\n", monitor_expr(e, ck->monitor));
    P("      RtCheckpointMeta meta = {.epoch = epoch, .step = r.steps, .monitor = %s};\n",
      monitor_expr(e, ck->monitor));
    P("      snprintf(meta.model, sizeof meta.model, \"%%s\", MODEL_NAME);\n");
    P("      rt_checkpoint_save(checkpoint_path, checkpoint_tensors, N_CHECKPOINT_TENSORS, "
      "&meta);\n");
    P("      r.best_epoch = epoch;\n");
    P("      if (!opt->quiet)\n        printf(\"  checkpoint: %s improved from %%.5f to %%.5f, "
      "saved %%s\\n\", ck_prev, %s, checkpoint_path);\n", ck->monitor, monitor_expr(e, ck->monitor));
    if (!ck->save_best_only) {
      P("    } else {\n");
      P("      RtCheckpointMeta meta = {.epoch = epoch, .step = r.steps, .monitor = %s};\n",
        monitor_expr(e, ck->monitor));
      P("      snprintf(meta.model, sizeof meta.model, \"%%s\", MODEL_NAME);\n");
      P("      rt_checkpoint_save(checkpoint_path, checkpoint_tensors, N_CHECKPOINT_TENSORS, "
        "&meta);\n      r.best_epoch = epoch;\n");
      P("      if (!opt->quiet)\n        printf(\"  checkpoint: saved %%s (every epoch; %s did "
        "not improve from %%.5f)\\n\", checkpoint_path, checkpoint.best);\n", ck->monitor);
    } else {
      P("    } else if (!opt->quiet) {\n");
      P("      printf(\"  checkpoint: %s did not improve from %%.5f\\n\", checkpoint.best);\n",
        ck->monitor);
    }
    P("    }\n");
  }
  if (rl->enabled) {
    P("    float reduced = (float)rt_plateau_update(&plateau, %s, epoch, learning_rate);\n",
      monitor_expr(e, rl->monitor));
    P("    if (reduced < learning_rate && !opt->quiet)\n");
    P("      printf(\"Epoch %%d: reduce_lr_on_plateau: %s has not improved for %d epochs, "
      "learning rate %%.2e -> %%.2e\\n\",\n             epoch, learning_rate, reduced);\n",
      rl->monitor, rl->patience);
    P("    learning_rate = reduced;\n");
  }
  if (es->enabled) {
    P("    if (rt_monitor_update(&early, %s, epoch)) {\n", monitor_expr(e, es->monitor));
    if (es->restore_best)
      P("      memcpy(best_params, params, sizeof params);\n");
    P("    } else if (early.wait >= %d) {\n", es->patience);
    P("      if (!opt->quiet)\n        printf(\"Epoch %%d: early stopping (%s has not improved "
      "for %d epochs)\\n\", epoch);\n", es->monitor, es->patience);
    P("      break;\n    }\n");
  }
  P("  }\n");
  if (es->enabled && es->restore_best) {
    P("  if (early.best_epoch > 0) { /* restore_best_weights */\n");
    P("    memcpy(params, best_params, sizeof params);\n");
    P("    if (!opt->quiet)\n      printf(\"Restoring model weights from the end of the best "
      "epoch: %%d.\\n\", early.best_epoch);\n");
    P("  }\n");
  }
  if (!ck->enabled && es->enabled && es->restore_best)
    P("  r.best_epoch = early.best_epoch > 0 ? early.best_epoch : r.epochs_run;\n");
  else if (!ck->enabled)
    P("  r.best_epoch = r.epochs_run;\n");
  P("  rt_csv_log_close(&history);\n");
  if (p->csv_logger)
    P("  rt_csv_log_close(&csv_log);\n");
  if (p->metric_auc)
    P("  free(epoch_scores);\n  free(epoch_labels);\n  free(val_scores);\n");
  P("  free(order);\n  return r;\n}\n\n");
}

/* ---- gradient check ---- */

static void emit_gradcheck(Emitter *e) {
  const Graph *g = e->g;
  P("/* ===== --gradcheck: the whole backward pass against finite differences ===== */\n\n");
  P("static double batch_loss(int m) {\n");
  P("  rt_rng_seed(&dropout_rng, 12345); /* the same dropout mask every time */\n");
  P("  model_forward(m, 1);\n  return loss_sum / m;\n}\n\n");
  P("/* (loss(p + h) - loss(p - h)) / 2h, p restored */\n");
  P("static double central_difference(float *p, float h, int m) {\n");
  P("  float saved = *p;\n  *p = saved + h;\n  double up = batch_loss(m);\n");
  P("  *p = saved - h;\n  double down = batch_loss(m);\n  *p = saved;\n");
  P("  return (up - down) / (2.0 * (double)h);\n}\n\n");
  P("static double relative_error(double a, double b) {\n");
  P("  return fabs(a - b) / fmax(1e-2, fabs(a) + fabs(b));\n}\n\n");
  P("static int gradcheck(const RtDataset *train) {\n");
  P("  int m = train->count < 16 ? train->count : 16, idx[16];\n");
  P("  for (int i = 0; i < m; i++)\n    idx[i] = i;\n");
  P("  load_batch(train, idx, m);\n  batch_loss(m);\n  model_backward(m);\n");
  P("  static float analytic[N_PARAMS];\n  memcpy(analytic, grads, sizeof grads);\n");
  P("  RtRng pick;\n  rt_rng_seed(&pick, 7);\n  int failures = 0, checked = 0;\n");
  P("  double worst = 0;\n");
  P("  static const struct { const char *name; float *p; size_t count; } tensors[] = {\n");
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->op == IR_PARAM && n->trainable)
      P("      {\"%s\", %s, %zu},\n", n->name, cn(e, n), ir_elems(n));
  }
  P("  };\n");
  P("  for (size_t t = 0; t < sizeof tensors / sizeof tensors[0]; t++) {\n");
  P("    for (int k = 0; k < 12; k++) {\n");
  P("      size_t j = rt_rng_below(&pick, (uint32_t)tensors[t].count);\n");
  P("      float *p = tensors[t].p + j;\n");
  P("      double a = analytic[tensors[t].p - params + j];\n");
  P("      /* two step sizes: float rounding spoils the small one, a relu kink inside\n"
    "         [p - h, p + h] the large one; a wrong gradient disagrees with both */\n");
  P("      double n1 = central_difference(p, 1e-2f, m), n2 = central_difference(p, 1e-3f, m);\n");
  P("      double e1 = relative_error(a, n1), e2 = relative_error(a, n2);\n");
  P("      double numeric = e1 < e2 ? n1 : n2, err = e1 < e2 ? e1 : e2;\n");

  P("      worst = fmax(worst, err);\n      checked++;\n");
  P("      if (err > 2e-2) {\n        failures++;\n");
  P("        printf(\"gradcheck: %%s[%%zu]: analytic %%.6g, numeric %%.6g (relative error "
    "%%.3g)\\n\",\n               tensors[t].name, j, a, numeric, err);\n      }\n");
  P("    }\n  }\n");
  P("  printf(\"gradcheck: %%d of %%d gradient entries agree with central differences (worst "
    "relative error %%.3g)\\n\",\n         checked - failures, checked, worst);\n");
  P("  if (checked < 10)\n    failures++;\n");
  P("  return failures == 0 ? 0 : 1;\n}\n\n");
}

/* ---- evaluation of the best checkpoint and the expectations ---- */

static const char *compare_c(CompareOp op) {
  static const char *const ops[] = {">", ">=", "<", "<=", "==", "!="};
  return ops[op];
}

/* params(LAYER): parameters of a layer in the checkpoint the model was loaded from */
static void emit_checkpoint_params(Emitter *e) {
  P("/* Parameters of a layer in the checkpoint the model was loaded from. */\n");
  P("static double checkpoint_params(const char *layer) {\n  size_t n = 0, len = strlen(layer);\n");
  P("  for (int i = 0; i < N_CHECKPOINT_TENSORS; i++)\n");
  P("    if (!strncmp(checkpoint_tensors[i].name, layer, len) && "
    "checkpoint_tensors[i].name[len] == '.')\n");
  P("      n += checkpoint_tensors[i].count;\n  return (double)n;\n}\n\n");
}

static void emit_expectations(Emitter *e) {
  const Program *p = e->prog;
  if (p->n_expect == 0)
    return;
  bool counts_params = false;
  for (int i = 0; i < p->n_expect; i++)
    counts_params |= p->expect[i].kind == EXPECT_PARAMS;
  if (counts_params) {
    emit_checkpoint_params(e);
  }


  P("/* The evaluate section's expectations; returns how many failed. */\n");
  P("/* stats and auc: one entry per class (per binary target with labels binary). */\n");
  P("static int check_expectations(double loss, double accuracy, double top_k_accuracy,\n"
    "                              const RtClassStats *stats, const double *auc) {\n");
  P("  int failed = 0;\n  double v;\n  (void)loss; (void)accuracy; (void)top_k_accuracy; "
    "(void)stats; (void)auc;\n");
  for (int i = 0; i < p->n_expect; i++) {
    const Expectation *x = &p->expect[i];
    switch (x->kind) {
    case EXPECT_ACCURACY: P("  v = accuracy;\n"); break;
    case EXPECT_LOSS: P("  v = loss;\n"); break;
    case EXPECT_TOP_K: P("  v = top_k_accuracy;\n"); break;
    case EXPECT_RECALL: P("  v = stats[%d].recall;\n", x->class_id); break;
    case EXPECT_PRECISION: P("  v = stats[%d].precision;\n", x->class_id); break;
    case EXPECT_F1: P("  v = stats[%d].f1;\n", x->class_id); break;
    case EXPECT_AUC:
      if (x->class_id < 0)
        P("  v = rt_mean_defined(auc, N_SCORES); /* macro average */\n");
      else
        P("  v = auc[%d];\n", x->class_id);
      break;
    case EXPECT_PARAMS: P("  v = checkpoint_params(\"%s\");\n", x->layer_name); break;
    }
    char text[256];
    size_t j = 0;
    for (const char *s = x->text; *s && j + 2 < sizeof text; s++) {
      if (*s == '"' || *s == '\\')
        text[j++] = '\\';
      text[j++] = *s == '%' ? ' ' : *s;
    }
    text[j] = '\0';
    P("  if (!(v %s %.17g)) failed++;\n", compare_c(x->op), x->threshold);
    P("  printf(\"  expect %%-36s %%s (%%.4f)\\n\", \"%s\", v %s %.17g ? \"ok\" : \"FAILED\", v);\n",
      text, compare_c(x->op), x->threshold);
  }
  P("  return failed;\n}\n\n");
}

/* The test report of a classifier: confusion matrix, per-class stats, ROC AUC. */
static void emit_class_report(Emitter *e) {
  P("  RtConfusion cm;\n  rt_confusion_init(&cm, N_CLASSES);\n");
  P("  EvalResult r = evaluate(&test, &cm, scores);\n");
  P("  rt_roc_auc_columns(auc, scores, test.y, NULL, test.count, N_CLASSES); /* one vs rest */\n");
  P("  printf(\"\\ntest: %%d examples - loss: %%.4f - accuracy: %%.4f - top-5 accuracy: %%.4f - "
    "auc: %%.4f (best epoch %%d)\\n\\n\",\n         test.count, r.loss, r.accuracy, "
    "r.top_k_accuracy, rt_mean_defined(auc, N_CLASSES), fr.best_epoch);\n");
  P("  rt_confusion_print(stdout, &cm, CLASS_NAMES);\n");
  P("  rt_auc_print(stdout, auc, CLASS_NAMES, N_CLASSES);\n");
  P("  rt_metrics_write_json(path, &cm, CLASS_NAMES, r.loss, r.accuracy, fr.best_epoch, auc);\n");
  P("  rt_confusion_stats(stats, &cm);\n  rt_confusion_free(&cm);\n");
}

/* The test report of binary targets: per target counts, P/R/F1 and ROC AUC. */
static void emit_binary_report(Emitter *e) {
  P("  EvalResult r = evaluate(&test, NULL, scores);\n");
  P("  RtBinaryStats targets[N_OUTPUTS];\n");
  P("  rt_binary_stats(targets, scores, test.y, TARGET_TABLE, test.count, N_OUTPUTS);\n");
  P("  printf(\"\\ntest: %%d examples - loss: %%.4f - binary accuracy: %%.4f (best epoch "
    "%%d)\\n\\n\",\n         test.count, r.loss, r.accuracy, fr.best_epoch);\n");
  P("  rt_binary_print(stdout, targets, TARGET_NAMES, N_OUTPUTS);\n");
  P("  rt_binary_write_json(path, targets, TARGET_NAMES, N_OUTPUTS, r.loss, r.accuracy, "
    "fr.best_epoch);\n");
  P("  for (int k = 0; k < N_OUTPUTS; k++) {\n");
  P("    stats[k] = (RtClassStats){targets[k].precision, targets[k].recall, targets[k].f1,\n"
    "                              targets[k].tp + targets[k].fn};\n");
  P("    auc[k] = targets[k].auc;\n  }\n");
}

static void emit_main(Emitter *e) {
  const Program *p = e->prog;
  P("/* ===== main ===== */\n\n");
  P("int main(int argc, char **argv) {\n");
  P("  rt_init(argv); /* threads and OpenBLAS kernels for this machine (may restart once) */\n");
  P("  RtOptions opt = {.epochs = %d, .seed = %ld, .out_dir = \"runs/%s\",\n"
    "                   .data_dir = %s, .limit_train = %d, .limit_test = %d};\n",
    p->epochs, p->seed, e->g->model_name, c_string(e, p->data_dir), p->limit_train,
    p->limit_test);
  P("  rt_options_parse(&opt, argc, argv, MODEL_NAME);\n");
  P("  setvbuf(stdout, NULL, _IOLBF, 0);\n");
  P("  RtRng init_rng;\n  rt_rng_seed(&init_rng, opt.seed);\n  init_params(&init_rng);\n");
  P("  if (!opt.quiet)\n    printf(\"threads: %%d (OpenMP; OpenBLAS %%s kernels)\\n\", rt_threads(), "
    "rt_blas_core());\n");
  P("  RtDataset train, val;\n  prepare_data(&train, &val, &opt);\n");
  P("  rt_rng_seed(&dropout_rng, opt.seed + 2);\n");
  P("  if (opt.gradcheck)\n    return gradcheck(&train);\n");
  P("  rt_mkdir_p(opt.out_dir);\n");
  P("  char checkpoint_path[4096];\n");
  P("  rt_path_join(checkpoint_path, sizeof checkpoint_path, opt.out_dir, \"best.ckpt\");\n");
  P("  FitResult fr = fit(&train, &val, &opt, checkpoint_path);\n");
  if (p->checkpoint.enabled) {
    P("  /* the best checkpoint, not the last epoch: load it as Keras's load_model does */\n");
    P("  RtCheckpointMeta meta;\n");
    P("  rt_checkpoint_load(checkpoint_path, checkpoint_tensors, N_CHECKPOINT_TENSORS, &meta);\n");
    P("  fr.best_epoch = meta.epoch;\n");
    P("  if (!opt.quiet)\n    printf(\"\\nLoaded %%s (epoch %%d, %s %%.4f)\\n\", checkpoint_path, "
      "meta.epoch, meta.monitor);\n", p->checkpoint.monitor);
  } else {
    P("  RtCheckpointMeta meta = {.epoch = fr.best_epoch, .step = fr.steps};\n");
    P("  snprintf(meta.model, sizeof meta.model, \"%%s\", MODEL_NAME);\n");
    P("  rt_checkpoint_save(checkpoint_path, checkpoint_tensors, N_CHECKPOINT_TENSORS, &meta);\n");
  }
  P("  rt_dataset_free(&train);\n  rt_dataset_free(&val);\n");
  P("  /* the test split, touched once */\n");
  P("  RtDataset test;\n  load_test(&test, &opt);\n");
  P("  float *scores = rt_malloc(sizeof(float) * (size_t)(test.count > 0 ? test.count : 1) * "
    "N_SCORES);\n");
  P("  RtClassStats stats[N_SCORES];\n  double auc[N_SCORES];\n");
  P("  char path[4096];\n  rt_path_join(path, sizeof path, opt.out_dir, \"metrics.json\");\n");
  if (e->g->binary)
    emit_binary_report(e);
  else
    emit_class_report(e);
  P("  printf(\"\\nwrote %%s/history.csv, %%s and %%s\\n\", opt.out_dir, path, "
    "checkpoint_path);\n");
  P("  free(scores);\n  rt_dataset_free(&test);\n");
  if (p->n_expect) {
    P("  printf(\"\\nexpectations:\\n\");\n");
    P("  int failed = check_expectations(r.loss, r.accuracy, r.top_k_accuracy, stats, auc);\n");
    P("  if (failed) {\n    fprintf(stderr, \"error: %%d expectation%%s failed\\n\", failed, "
      "failed == 1 ? \"\" : \"s\");\n    return 1;\n  }\n");
  } else {
    P("  (void)stats;\n");
  }
  P("  return 0;\n}\n");
}

void emit_c(FILE *out, const Graph *g, const Program *prog, const EmitOptions *opt) {
  Emitter em = {.out = out, .g = g, .prog = prog, .opt = opt}, *e = &em;
  Group *fw = ARENA_ARRAY(g->arena, Group, g->n_nodes + 1);
  Group *bw = ARENA_ARRAY(g->arena, Group, g->n_nodes + 1);
  assign_cnames(e);
  int n_fw = make_groups(e, false, fw, g->n_nodes + 1);
  int n_bw = make_groups(e, true, bw, g->n_nodes + 1);
  emit_banner(e);
  emit_constants(e);
  emit_storage(e);
  emit_windows(e);
  emit_layers(e, fw, n_fw, bw, n_bw);
  emit_model_functions(e, fw, n_fw, bw, n_bw);
  emit_checkpoint_table(e);
  emit_prepare_data(e);
  emit_batching(e);
  emit_fit(e);
  emit_gradcheck(e);
  emit_expectations(e);
  emit_main(e);
}
