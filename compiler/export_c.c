/*
 * export_c.c — the inference-only C back end of `nnc export`: NAME.h (the
 * API) and NAME.c (weights, buffers, one call per layer, the API's bodies).
 *
 * NAME.c stands alone: it holds the trained parameters and Normalization
 * statistics as `static const float` arrays and the text of
 * runtime/nnc_infer.h (plain C99 kernels), so it compiles with any C99
 * compiler and -Wall -Wextra -Werror; -DNNC_INFER_CBLAS and a CBLAS library
 * make its GEMMs OpenBLAS's. Nothing of training is there: no gradients, no
 * optimizer state, dropout is the identity, batch norm reads its moving
 * statistics.
 *
 * The examples are run NAME_BATCH at a time through one static buffer per
 * tensor (no allocation; not reentrant: the header says so).
 */
#include "emit.h"
#include "export.h"

#include <string.h>

extern const char NNC_INFER_TEXT[]; /* runtime/nnc_infer.h, embedded by cmake/embed.cmake */

#define EXPORT_BATCH 16

typedef struct {
  Emitter e;              /* the C emitter's helpers: literals, names, comments */
  const ExportModel *m;
  const char **buf;       /* by node id: the C expression of its values */
  bool *needed;           /* by node id: the output depends on it */
} CExport;

#define Q(...) fprintf(x->e.out, __VA_ARGS__)

/* ---- which nodes, and their C names ---- */

static void mark_needed(CExport *x, const IrNode *n) {
  if (x->needed[n->id])
    return;
  x->needed[n->id] = true;
  for (int k = 0; k < n->n_in; k++)
    mark_needed(x, n->in[k]);
}

/* Views, casts, dropout and augmentation (the identity here) are their input's buffer. */
static bool same_buffer_as_input(const IrNode *n) {
  return n->op == IR_DROPOUT || n->op == IR_AUGMENT || n->op == IR_RESHAPE || n->op == IR_CAST;
}

/* "w_dense_kernel" for parameters, "a_dense_out" for activations, "x" for the
 * input, the source's for the rest */
static const char *buffer_name(CExport *x, const IrNode *n) {
  Arena *a = x->m->g->arena;
  if (n->op == IR_INPUT)
    return "x";
  if (same_buffer_as_input(n))
    return x->buf[n->in[0]->id];
  const char *name = n->name ? c_ident(&x->e, n->name) : arena_printf(a, "t%d", n->id);
  return arena_printf(a, "%s_%s", n->op == IR_PARAM ? "w" : "a", name);
}

static void assign_names(CExport *x) {
  const Graph *g = x->m->g;
  for (int i = 0; i < g->n_nodes; i++)
    if (x->needed[g->nodes[i]->id])
      x->buf[g->nodes[i]->id] = buffer_name(x, g->nodes[i]);
}

static const char *B(CExport *x, const IrNode *n) { return x->buf[n->id]; }

/* "(m * 784)": rows of a batched tensor seen as (rows, last axis) */
static const char *rows(CExport *x, const IrNode *n) {
  size_t per = ir_elems(n) / (size_t)c_last_dim(n);
  return per == 1 ? "m" : arena_printf(x->m->g->arena, "m * %zu", per);
}

static const char *count(CExport *x, const IrNode *n) {
  return arena_printf(x->m->g->arena, "(size_t)m * %zu", ir_elems(n));
}

/* "NN_ACT_RELU, 0.0f" */
static const char *act_args(CExport *x, Activation act, float alpha) {
  const char *rt = ACTIVATION_INFO[act].rt_enum; /* "RT_ACT_RELU" -> "NN_ACT_RELU" */
  return arena_printf(x->m->g->arena, "NN_%s, %s", rt + 3, c_float(&x->e, alpha));
}

/* "win_conv2d_conv": the window constant of a node (one layer may have two:
 * separable_conv2d's depthwise and pointwise convolutions) */
static const char *window_name(CExport *x, const IrNode *n) {
  Arena *a = x->m->g->arena;
  return arena_printf(a, "win_%s", n->name ? c_ident(&x->e, n->name) : arena_printf(a, "t%d", n->id));
}

static const char *window(CExport *x, const IrNode *n) {
  return arena_printf(x->m->g->arena, "&%s", window_name(x, n));
}

/* ---- one call per node: ops.def's EXPORT column ---- */

typedef bool (*ExportFn)(CExport *x, const IrNode *n);

#define O B(x, n)
#define IN(k) B(x, n->in[k])

/* sources, views, casts and dropout: no code (the same buffer) */
static bool export_none(CExport *x, const IrNode *n) {
  (void)x, (void)n;
  return true;
}

static bool export_normalize(CExport *x, const IrNode *n) {
  const IrNode *in = n->in[0];
  int f = n->per_feature ? c_last_dim(in) : (int)ir_elems(in);
  Q("  nn_normalize(%s, %s, %s, %s, m * %zu, %d, %d);\n", O, IN(0), IN(1), IN(2),
    ir_elems(in) / (size_t)f, f, n->per_feature);
  return true;
}

static bool export_rescale(CExport *x, const IrNode *n) {
  Q("  nn_rescale(%s, %s, %s, %s, %s);\n", O, IN(0), c_float(&x->e, n->rescale.scale),
    c_float(&x->e, n->rescale.offset), count(x, n));
  return true;
}

static bool export_matmul(CExport *x, const IrNode *n) {
  Q("  nn_dense(%s, %s, %s, NULL, %s, %d, %d, NN_ACT_NONE, 0.0f);\n", O, IN(0), IN(1),
    rows(x, n->in[0]), c_last_dim(n->in[0]), c_last_dim(n));
  return true;
}

static bool export_conv2d(CExport *x, const IrNode *n) {
  Q("  nn_conv2d(%s, %s, %s, NULL, m, %s, %d, NN_ACT_NONE, 0.0f);\n", O, IN(0), IN(1),
    window(x, n), c_last_dim(n));
  return true;
}

static bool export_depthwise(CExport *x, const IrNode *n) {
  Q("  nn_depthwise2d(%s, %s, %s, NULL, m, %s, %d, NN_ACT_NONE, 0.0f);\n", O, IN(0), IN(1),
    window(x, n), n->depth_multiplier);
  return true;
}

static bool export_bias_add(CExport *x, const IrNode *n) {
  Q("  nn_bias_act(%s, %s, %s, %s, %d, NN_ACT_NONE, 0.0f);\n", O, IN(0), IN(1), rows(x, n),
    c_last_dim(n));
  return true;
}

static bool export_act(CExport *x, const IrNode *n) {
  Q("  nn_act(%s, %s, %s, %s);\n", O, IN(0), count(x, n), act_args(x, n->act, n->alpha));
  return true;
}

static bool export_softmax(CExport *x, const IrNode *n) {
  Q("  nn_softmax(%s, %s, %s, %d);\n", O, IN(0), rows(x, n), c_last_dim(n));
  return true;
}

static bool export_add(CExport *x, const IrNode *n) {
  Q("  nn_add(%s, %s, %s, %s);\n", O, IN(0), IN(1), count(x, n));
  return true;
}

static bool export_concat(CExport *x, const IrNode *n) {
  Q("  nn_concat(%s, %s, %s, %s, %d, %d);\n", O, IN(0), IN(1), rows(x, n), c_last_dim(n->in[0]),
    c_last_dim(n->in[1]));
  return true;
}

static bool export_pool(CExport *x, const IrNode *n) {
  Q("  nn_pool2d(%s, %s, m, %s, %d);\n", O, IN(0), window(x, n), n->op == IR_MAXPOOL);
  return true;
}

static bool export_gap(CExport *x, const IrNode *n) {
  const IrNode *in = n->in[0];
  Q("  nn_global_avgpool(%s, %s, m, %zu, %d);\n", O, IN(0), ir_elems(in) / (size_t)c_last_dim(in),
    c_last_dim(in));
  return true;
}

static bool export_batchnorm(CExport *x, const IrNode *n) {
  Q("  nn_batchnorm(%s, %s, %s, %s, %s, %s, %s, %d, %s);\n", O, IN(0), IN(1), IN(2), IN(3), IN(4),
    rows(x, n), c_last_dim(n), c_float(&x->e, n->bn.epsilon));
  return true;
}

static bool export_zero_pad(CExport *x, const IrNode *n) {
  const IrNode *in = n->in[0];
  Q("  nn_zero_pad(%s, %s, m, %d, %d, %d, %d, %d, %d, %d);\n", O, IN(0), in->dims[0], in->dims[1],
    in->dims[2], n->pad.top, n->pad.bottom, n->pad.left, n->pad.right);
  return true;
}

static bool export_upsample(CExport *x, const IrNode *n) {
  const IrNode *in = n->in[0];
  Q("  nn_upsample_nearest(%s, %s, m, %d, %d, %d, %d, %d);\n", O, IN(0), in->dims[0],
    in->dims[1], in->dims[2], n->upsample.sy, n->upsample.sx);
  return true;
}

#undef O
#undef IN

static const ExportFn EXPORT_RULES[IR_OP_COUNT] = {
#define OP(id, name, kind, min_in, max_in, flags, shape, grad, lower, emit, export, onnx) \
  [IR_##id] = export,
#include "ops.def"
#undef OP
};

static bool emit_node(CExport *x, const IrNode *n) {
  if (EXPORT_RULES[n->op])
    return EXPORT_RULES[n->op](x, n);
  fprintf(x->m->err, "nnc: error: export: the C library back end has no kernel for %s (layer "
          "'%s')\n", ir_op_name(n->op), n->layer);
  return false;
}

/* ---- the file's parts ---- */

static void emit_weights(CExport *x) {
  const Graph *g = x->m->g;
  Q("/* ===== parameters and statistics, as trained ===== */\n\n");
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *p = g->nodes[i];
    if (p->op != IR_PARAM || !x->needed[p->id])
      continue;
    const float *v = export_values(x->m, p);
    size_t n = ir_elems(p);
    Q("static const float %s[%zu] = { /* %s */\n", B(x, p), n ? n : 1, c_shape(&x->e, p));
    for (size_t k = 0; k < n; k++) {
      char text[32];
      ir_float_text(text, sizeof text, v[k]);
      Q("%s%s%sf,", k % 8 ? " " : "    ", text, strpbrk(text, ".en") ? "" : ".0");
      if (k % 8 == 7 || k + 1 == n)
        Q("\n");
    }
    Q("%s};\n", n ? "" : "    0\n");
  }
  Q("\n");
}

static void emit_buffers_and_windows(CExport *x) {
  const Graph *g = x->m->g;
  Q("/* ===== one buffer per tensor, for %s_BATCH examples ===== */\n\n", x->m->name);
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (!x->needed[n->id] || n->op == IR_PARAM || n->op == IR_INPUT || same_buffer_as_input(n))
      continue;
    Q("static float %s[%s_BATCH * %zu]; /* %s */\n", B(x, n), x->m->name, ir_elems(n),
      c_shape(&x->e, n));
  }
  Q("\n");
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    bool windowed = n->op == IR_CONV2D || n->op == IR_DEPTHWISE || n->op == IR_MAXPOOL ||
                    n->op == IR_AVGPOOL;
    if (!x->needed[n->id] || !windowed)
      continue;
    const Window *w = &n->win;
    Q("static const NnWindow %s = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d}; /* %dx%d, "
      "stride %dx%d, padding %s */\n", window_name(x, n), w->h, w->w, w->c, w->oh, w->ow,
      w->kh, w->kw, w->sh, w->sw, w->pad_top, w->pad_left, w->kh, w->kw, w->sh, w->sw,
      w->same ? "same" : "valid");
  }
  Q("\n");
}

/* forward(x, m): the layers, in the .nn file's order, on m <= NAME_BATCH examples */
static bool emit_forward(CExport *x) {
  const Graph *g = x->m->g;
  Q("/* ===== the model, in inference ===== */\n\n");
  Q("static const float *forward(const float *x, int m) {\n");
  const char *layer = NULL;
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (!x->needed[n->id] || n->op == IR_PARAM || n->op == IR_INPUT)
      continue;
    if (!layer || strcmp(layer, n->layer) != 0)
      Q("  /* %s (line %d) -> %s */\n", n->layer, n->loc.first_line, c_shape(&x->e, n));
    layer = n->layer;
    if (!emit_node(x, n))
      return false;
  }
  Q("  return %s;\n}\n\n", B(x, x->m->probs));
  return true;
}

/* NAME_predict_u8: uint8 examples (IDX files, images) cast a chunk at a time;
 * only for a u8 input (an f32 input's examples are floats already). */
static void emit_predict_u8(CExport *x) {
  const char *nm = x->m->name;
  size_t in = ir_elems(x->m->g->input);
  Q("int %s_predict_u8(const uint8_t *x, int n, float *probs) {\n", nm);
  Q("  static float chunk[%s_BATCH * %zu];\n", nm, in);
  Q("  if (n < 0 || (n > 0 && (!x || !probs)))\n    return -1;\n");
  Q("  for (int i = 0; i < n; i += %s_BATCH) {\n", nm);
  Q("    int m = n - i < %s_BATCH ? n - i : %s_BATCH;\n", nm, nm);
  Q("    nn_cast_u8(chunk, x + (size_t)i * %s_INPUT_SIZE, (size_t)m * %s_INPUT_SIZE);\n", nm, nm);
  Q("    memcpy(probs + (size_t)i * %s_N_SCORES, forward(chunk, m),\n"
    "           sizeof(float) * (size_t)m * %s_N_SCORES);\n", nm, nm);
  Q("  }\n  return 0;\n}\n\n");
}

static void emit_api_bodies(CExport *x) {
  const char *nm = x->m->name;
  Q("/* ===== the API (%s.h) ===== */\n\n", nm);
  Q("int %s_predict(const float *x, int n, float *probs) {\n", nm);
  Q("  if (n < 0 || (n > 0 && (!x || !probs)))\n    return -1;\n");
  Q("  for (int i = 0; i < n; i += %s_BATCH) {\n", nm);
  Q("    int m = n - i < %s_BATCH ? n - i : %s_BATCH;\n", nm, nm);
  Q("    const float *p = forward(x + (size_t)i * %s_INPUT_SIZE, m);\n", nm);
  Q("    memcpy(probs + (size_t)i * %s_N_SCORES, p, sizeof(float) * (size_t)m * %s_N_SCORES);\n",
    nm, nm);
  Q("  }\n  return 0;\n}\n\n");
  if (x->m->g->input->dtype == DT_U8)
    emit_predict_u8(x);
  Q("int %s_top(const float *probs) {\n  int best = 0;\n", nm);
  Q("  for (int j = 1; j < %s_N_SCORES; j++)\n    if (probs[j] > probs[best])\n"
    "      best = j;\n  return best;\n}\n", nm);
}

static void emit_class_names(CExport *x) {
  const Program *p = x->m->prog;
  const char *nm = x->m->name;
  Q("const char *const %s_class_names[%s_N_SCORES] = {", nm, nm);
  for (int k = 0; k < x->m->n_scores; k++)
    Q("%s%s", k ? ", " : "",
      c_string(&x->e, x->m->g->binary ? p->output_names[k] : p->class_names[k]));
  Q("};\n\n");
}

/* ---- NAME.h ---- */

static void write_header(CExport *x) {
  const ExportModel *m = x->m;
  const char *nm = m->name;
  const IrNode *in = m->g->input;
  Q("/*\n * %s.h — model '%s', exported by nnc %s for inference.\n *\n", nm, nm, NNC_VERSION);
  bool u8 = in->dtype == DT_U8;
  Q(" * Input: %zu %s values per example, shaped (%s as the .nn file declares\n"
    " * it, %s: the model's own preprocessing (its normalization or\n"
    " * rescaling layers) is inside.\n", ir_elems(in), u8 ? "uint8" : "float32",
    ir_shape_str(x->m->g->arena, in) + 4, u8 ? "raw pixels" : "the features as trained on");
  Q(" * Output: %d %s per example.\n", m->n_scores,
    m->g->binary ? "sigmoid probabilities (one per target)" : "class probabilities (softmax)");
  Q(" * Not reentrant: one static buffer per layer (call from one thread at a time).\n */\n");
  Q("#ifndef %s_H\n#define %s_H\n\n#include <stdint.h>\n\n", nm, nm);
  Q("#define %s_INPUT_SIZE %zu /* values per example */\n", nm, ir_elems(in));
  if (in->rank == 2 || in->rank == 3) /* an image: (height, width[, channels]) */
    Q("#define %s_HEIGHT %d\n#define %s_WIDTH %d\n#define %s_CHANNELS %d\n", nm, in->dims[0], nm,
      in->dims[1], nm, in->rank == 3 ? in->dims[2] : 1);
  Q("#define %s_N_SCORES %d\n#define %s_BATCH %d /* examples per internal step */\n\n",
    nm, m->n_scores, nm, EXPORT_BATCH);
  Q("extern const char *const %s_class_names[%s_N_SCORES];\n\n", nm, nm);
  Q("/* probs (n, %s_N_SCORES) for x (n, %s_INPUT_SIZE) given as floats in the\n"
    " * input's own units (%s). Returns 0, or -1 for bad arguments. */\n", nm, nm,
    u8 ? "0..255 for images" : "the training data's values");
  Q("int %s_predict(const float *x, int n, float *probs);\n", nm);
  if (u8) {
    Q("/* The same from uint8 examples, as the IDX files and images hold them. */\n");
    Q("int %s_predict_u8(const uint8_t *x, int n, float *probs);\n", nm);
  }
  Q("/* The index of the largest of one example's %s_N_SCORES probabilities. */\n", nm);
  Q("int %s_top(const float *probs);\n\n#endif\n", nm);
}

/* DIR/NAME.EXT, opened for writing whole or not at all; x's stream is its file */
static bool open_out(CExport *x, OutFile *out, const char *dir, const char *ext) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.%s", dir, x->m->name, ext);
  if (!out_open(out, path, x->m->err))
    return false;
  x->e.out = out->f;
  return true;
}

bool export_c_library(const ExportModel *m, const char *dir) {
  const Graph *g = m->g;
  CExport ex = {.e = {.g = g, .prog = m->prog}, .m = m}, *x = &ex;
  x->buf = ARENA_ARRAY(g->arena, const char *, g->next_id + 1);
  x->needed = ARENA_ARRAY(g->arena, bool, g->next_id + 1);
  mark_needed(x, m->probs);
  assign_names(x);
  OutFile out;
  if (!open_out(x, &out, dir, "h"))
    return false;
  write_header(x);
  if (!out_close(&out, m->err) || !open_out(x, &out, dir, "c"))
    return false;
  Q("/*\n * %s.c — model '%s' for inference, exported by nnc %s. Do not edit: train\n"
    " * again and run `nnc export`. Builds alone with any C99 compiler:\n"
    " *   cc -std=c99 -O2 -c %s.c            (plain loops)\n"
    " *   cc -std=c99 -O2 -DNNC_INFER_CBLAS -c %s.c && cc ... -lopenblas   (OpenBLAS GEMMs)\n"
    " */\n#include \"%s.h\"\n\n", m->name, m->name, NNC_VERSION, m->name, m->name, m->name);
  Q("/* ===== kernels: runtime/nnc_infer.h ===== */\n\n%s\n", NNC_INFER_TEXT);
  emit_weights(x);
  emit_buffers_and_windows(x);
  bool ok = emit_forward(x);
  emit_api_bodies(x);
  emit_class_names(x);
  return out_close(&out, m->err) && ok;
}
