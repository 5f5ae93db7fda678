/*
 * nnc.h — the compiler's one header. Sections are named after the file that
 * defines them, in pipeline order, so the architecture reads top to bottom:
 *
 *   source text --lexer.l/parser.y--> AST --check.c--> Program (validated
 *   settings) --ir_build.c--> graph IR --shape.c--> typed IR --autodiff.c-->
 *   forward+backward IR --lower.c--> IR of the C back end's kernels
 *   --fuse.c--> fused IR --memplan.c--> planned IR
 *   --emit_c.c--> C source --driver.c--> cc --> executable
 *
 * Every AST node and IR node carries the SrcLoc of the .nn text it came
 * from, so every pass can report `file:line:col: error: ...` with a caret.
 * All compiler memory comes from one Arena per compilation.
 */
#ifndef NNC_H
#define NNC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NNC_VERSION "0.1.0"

/* ===== arena.c ===== */

typedef struct ArenaBlock ArenaBlock;
typedef struct {
  ArenaBlock *head;
} Arena;

void arena_init(Arena *a);
void arena_free(Arena *a);
/* Zeroed, 16-byte aligned; never returns NULL (aborts on exhaustion). */
void *arena_alloc(Arena *a, size_t size);
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define ARENA_NEW(a, T) ((T *)arena_alloc((a), sizeof(T)))
#define ARENA_ARRAY(a, T, n) ((T *)arena_alloc((a), sizeof(T) * (size_t)(n)))

/* ===== diag.c ===== */

/* A span of source text. Field names are bison's, so this is also YYLTYPE. */
typedef struct SrcLoc {
  int first_line, first_column;
  int last_line, last_column;
} SrcLoc;

typedef struct {
  const char *path; /* as the user named it */
  const char *text; /* whole file, NUL-terminated */
  size_t size;
} Source;

typedef struct {
  const Source *src;
  FILE *out;        /* stderr normally; a memstream in tests */
  int error_count;
  int max_errors;   /* stop reporting after this many */
} Diag;

void diag_init(Diag *d, const Source *src, FILE *out);
/* `file:line:col: error: message`, the source line, a caret (and ~ under the span). */
void diag_error(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_verror(Diag *d, SrcLoc loc, const char *fmt, va_list ap);
/* `file:line:col: warning: message` without counting an error. */
void diag_warning(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* `file:line:col: note: message` without counting an error. */
void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Internal invariant failure: a bug in nnc, not in the user's file. */
#define NNC_BUG(...) nnc_bug(__FILE__, __LINE__, __VA_ARGS__)
void nnc_bug(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
/* Reads a whole file; false with errno set on failure: EFBIG for a file
 * over NNC_MAX_SOURCE_BYTES (read no further), EILSEQ for a NUL byte. */
#define NNC_MAX_SOURCE_BYTES (4u << 20)
#define NNC_MAX_SOURCE_TEXT "4 MiB"
bool source_read(Source *src, Arena *a, const char *path);

/* An output file written whole or not at all: a regular file goes to
 * PATH.tmp, renamed over PATH by out_close only when every write succeeded;
 * a device or pipe (/dev/null, /dev/stdout) is written in place, never
 * replaced. Errors are reported on err naming the file. */
typedef struct {
  FILE *f;
  char path[4096], tmp[4096];
  bool atomic;
} OutFile;
bool out_open(OutFile *o, const char *path, FILE *err);
bool out_close(OutFile *o, FILE *err);
/* Why source_read failed, in words, for errno err. */
const char *source_error(int err);
void source_from_string(Source *src, const char *path, const char *text);

/* ===== ast.c ===== */

typedef enum {
  EX_NUMBER, /* 0.3, 128, 1e-3 */
  EX_STRING, /* "Ankle boot" */
  EX_IDENT,  /* relu, none, true, h */
  EX_CALL,   /* dense(h, 256, activation=relu) */
  EX_INDEX,  /* recall[Sneaker] */
  EX_LIST,   /* ["a", "b"] */
  EX_MAP,    /* {Sandal: 300, "Ankle boot": 300} */
  EX_COMPARE /* accuracy > 0.8 (only after `expect`) */
} ExprKind;

typedef struct Expr Expr;
typedef struct Arg Arg;

/* An argument, list element or map entry: `key = value`, `key: value` or a bare value. */
struct Arg {
  SrcLoc loc;
  const char *key; /* NULL when positional */
  Expr *value;
  Arg *next;
};

struct Expr {
  ExprKind kind;
  SrcLoc loc;
  double number;
  bool is_integer;
  const char *text; /* identifier, string contents, callee or comparison operator */
  Arg *args;        /* call arguments, list items or map entries */
  Expr *lhs, *rhs;  /* EX_INDEX: lhs[rhs]; EX_COMPARE: lhs op rhs */
};

typedef enum {
  ITEM_ASSIGN,  /* name = expr            (model bodies) */
  ITEM_RETURN,  /* return expr            (model bodies) */
  ITEM_SETTING, /* key value value ...    (data/train/evaluate bodies) */
  ITEM_EXPECT   /* expect lhs op rhs      (evaluate bodies) */
} ItemKind;

typedef struct Item Item;
struct Item {
  ItemKind kind;
  SrcLoc loc;
  const char *name; /* assigned name or setting key */
  Expr *value;      /* ASSIGN/RETURN/EXPECT: the expression; SETTING: a call form, or NULL */
  Arg *values;      /* SETTING: the values after the key, in order */
  Item *next;
};

typedef struct Param Param;
struct Param {
  SrcLoc loc;
  const char *name;
  const char *dtype;
  SrcLoc dtype_loc;
  Arg *dim_args;  /* as written; check.c validates them into Program.input_dims */
  Param *next;
};

typedef struct Section Section;
struct Section {
  SrcLoc loc;       /* the section keyword */
  const char *kind; /* "model", "data", "train", "evaluate" (checked in check.c) */
  const char *name; /* may be NULL */
  SrcLoc name_loc;
  Param *params;    /* model inputs */
  bool has_params;
  Item *items;
  Section *next;
};

typedef struct {
  Section *sections;
} Ast;

Expr *ast_number(Arena *a, SrcLoc loc, const char *text);
Expr *ast_string(Arena *a, SrcLoc loc, const char *quoted);
/* 1/255: a constant ratio, as Keras users write Rescaling(1./255) */
Expr *ast_ratio(Arena *a, SrcLoc loc, const char *num, const char *den);
Expr *ast_ident(Arena *a, SrcLoc loc, const char *name);
Expr *ast_call(Arena *a, SrcLoc loc, const char *callee, Arg *args);
Expr *ast_index(Arena *a, SrcLoc loc, Expr *base, Expr *index);
Expr *ast_list(Arena *a, SrcLoc loc, Arg *items);
Expr *ast_map(Arena *a, SrcLoc loc, Arg *entries);
Expr *ast_compare(Arena *a, SrcLoc loc, const char *op, Expr *lhs, Expr *rhs);
/* Lists under construction keep their tail, so the parser appends in O(1)
 * (a 100,000-line file parses in linear time); `head` is the list itself. */
typedef struct { Arg *head, *tail; } ArgList;
typedef struct { Item *head, *tail; } ItemList;
typedef struct { Param *head, *tail; } ParamList;
typedef struct { Section *head, *tail; } SectionList;
Arg *ast_arg(Arena *a, SrcLoc loc, const char *key, Expr *value);
ArgList ast_arg_append(ArgList list, Arg *arg);
Item *ast_item(Arena *a, ItemKind kind, SrcLoc loc, const char *name, Expr *value, Arg *values);
ItemList ast_item_append(ItemList list, Item *item); /* a NULL item (a syntax error) is skipped */
Param *ast_param(Arena *a, SrcLoc loc, const char *name, const char *dtype, SrcLoc dtype_loc,
                 Arg *dims);
ParamList ast_param_append(ParamList list, Param *p);
Section *ast_section(Arena *a, SrcLoc loc, const char *kind, const char *name, SrcLoc name_loc,
                     Param *params, bool has_params, Item *items);
SectionList ast_section_append(SectionList list, Section *s);
const char *expr_kind_name(ExprKind k);
/* Writes the AST back as indented text (for --dump-ast and tests). */
void ast_dump(FILE *out, const Ast *ast);
int arg_count(const Arg *a);
/* The model section (NULL if absent; check_program reports that). */
const Section *ast_model_section(const Ast *ast);

/* ===== bind.c ===== */

/* Argument binding for calls (layers, losses, optimizers, callbacks):
 * positional arguments fill names in order, keywords by name. Unknown
 * keywords, duplicates and missing required arguments are located errors. */
typedef struct {
  const char *name;
  const Expr *value; /* NULL when not given */
  SrcLoc loc;
} BoundArg;

bool bind_args(Diag *d, const Expr *call, const char *what, const char *const *names, int n_names,
               int n_required, BoundArg *out);
bool arg_int(Diag *d, const BoundArg *b, long lo, long hi, long *out);
bool arg_number(Diag *d, const BoundArg *b, double lo, double hi, double *out);
bool arg_bool(Diag *d, const BoundArg *b, bool *out);
/* An identifier out of a fixed set; returns its index or -1 after an error. */
int arg_choice(Diag *d, const BoundArg *b, const char *const *choices, int n_choices);
/* "did you mean 'x'?" — the closest name within edit distance 2, or NULL. */
const char *closest_name(const char *name, const char *const *names, int n);

/* ===== parse.c (grammar/parser.y + grammar/lexer.l) ===== */

/* Limits the parser enforces as it reads, so an oversized or hostile file
 * stops early with a located error instead of exhausting time or memory. */
#define NNC_MAX_LAYERS 4096  /* layers in one model (ir_build.c counts them exactly) */
#define NNC_MAX_NESTING 256  /* brackets ( [ { open at once */

/* Parses src into ast; reports syntax errors through diag. Returns the
 * number of syntax errors (0 on success). */
int parse_source(Ast *ast, const Source *src, Arena *arena, Diag *diag);

/* ===== check.c: validated program description ===== */

typedef enum { DT_U8, DT_F32 } DType;

typedef enum {
  LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, /* integer labels */
  LOSS_CATEGORICAL_CROSSENTROPY,        /* one-hot labels (labels one_hot) */
  LOSS_BINARY_CROSSENTROPY,             /* 0/1 targets per output (labels binary {...}) */
} LossKind;

/* What the data section's labels are (data: labels ...). IDX files hold class
 * ids; one-hot and binary targets are derived from them, as
 * keras.utils.to_categorical or a class -> attribute table would. */
typedef enum {
  LABELS_SPARSE,  /* class ids, the default */
  LABELS_ONE_HOT, /* labels one_hot */
  LABELS_BINARY   /* labels binary {name: [classes], ...}: one 0/1 target per name */
} LabelKind;

#define MAX_OUTPUTS 64 /* binary targets */

typedef enum { OPT_ADAM, OPT_RMSPROP, OPT_SGD, OPT_ADAMW } OptimizerKind;

typedef enum { MODE_MIN, MODE_MAX } MonitorMode;

/* learning_rate=SCHEDULE(...): Keras's LearningRateSchedule classes. */
typedef enum {
  SCHED_CONSTANT,
  SCHED_EXPONENTIAL, /* exponential_decay */
  SCHED_PIECEWISE,   /* piecewise_constant_decay */
  SCHED_COSINE       /* cosine_decay */
} ScheduleKind;

#define MAX_BOUNDARIES 32

/* Where the validation split comes from (data section: validation ...). */
typedef enum {
  VAL_NONE,
  VAL_LAST,  /* validation last N */
  VAL_SPLIT, /* validation split F [seed S] */
  VAL_TEST,  /* validation test: the test split, as the seeds' validation_data=(x_test, y_test) */
  VAL_FILES  /* validation files "IMAGES" "LABELS" */
} ValidationKind;

typedef struct {
  bool enabled;
  const char *monitor;
  SrcLoc loc;
  MonitorMode mode;
  double min_delta;
  int patience;
  bool restore_best;
  bool save_best_only;
  double factor, min_lr; /* reduce_lr_on_plateau */
  int cooldown;
  int verbose; /* Keras's verbose=: 0 silences this callback's messages (default 1) */
} Callback;

typedef struct {
  int class_id;
  int count;
} KeepRule;

typedef enum { CMP_GT, CMP_GE, CMP_LT, CMP_LE, CMP_EQ, CMP_NE } CompareOp;

typedef enum {
  EXPECT_ACCURACY,
  EXPECT_LOSS,
  EXPECT_TOP_K, /* top_k_accuracy: the label among the 5 largest scores */
  EXPECT_RECALL,
  EXPECT_PRECISION,
  EXPECT_F1,
  EXPECT_AUC, /* auc (macro average) or auc[C]: one-vs-rest ROC AUC */
  EXPECT_PARAMS /* params(layer) — parameter count of a layer in the loaded checkpoint */
} ExpectKind;

typedef struct {
  SrcLoc loc;
  const char *text; /* the expectation as written, for the report */
  ExpectKind kind;
  int class_id;           /* RECALL/PRECISION/F1/AUC (AUC: -1 = the macro average); with
                             binary labels, the index of the output */
  const char *layer_name; /* PARAMS */
  CompareOp op;
  double threshold;
} Expectation;

#define MAX_CLASSES 256

/* The data section's source (check_source.c): IDX unless one of these. */
typedef enum { SRC_IDX, SRC_DIRECTORY, SRC_CSV, SRC_NPY, SRC_CIFAR10 } SourceKind;
typedef struct {
  SourceKind kind;
  SrcLoc loc;
  const char *path, *test_path; /* directory, csv, cifar10 (test: a folder or file) */
  const char *x, *y, *test_x, *test_y; /* npy */
  const char *label;                   /* csv: the label column */
  int height, width, channels;         /* directory: image_size, color_mode (0: the model's) */
  bool skip_bad;                       /* directory: leave unreadable images out */
  int stream;                          /* directory: stream=true 1, stream=false -1, unset 0 */
  bool classes_declared;               /* a classes [...] setting names the classes */
} DataSource;
#define MAX_KEEP_RULES 64
#define MAX_EXPECTATIONS 64
#define MAX_INIT_LAYERS 64

/* Everything outside the model graph, validated (check.c fills it). */
typedef struct {
  /* the model's input, as declared: x: u8[28, 28] (images) or x: f32[4] (features) */
  const char *input_name;
  SrcLoc input_loc;
  bool input_f32; /* f32[...]: float features fed as they are; else u8 */
  int input_dims[4];
  int input_rank;
  /* data */
  const char *data_name;
  const char *data_dir; /* IDX directory */
  DataSource source;    /* directory(...), csv(...), npy(...), cifar10(...); else IDX */
  int n_classes;
  const char *class_names[MAX_CLASSES];
  ValidationKind validation;
  int validation_last;           /* VAL_LAST: the last N examples of the training file */
  double validation_split;       /* VAL_SPLIT: this fraction of the training file, */
  long validation_seed;          /* chosen with this seed when */
  bool validation_seeded;        /* seeded, else the last examples (Keras's validation_split) */
  const char *validation_images; /* VAL_FILES: a separate IDX source */
  const char *validation_labels;
  int limit_train;     /* 0 = all: first N examples of the training file */
  int limit_test;
  KeepRule keep[MAX_KEEP_RULES];
  int n_keep;
  long keep_seed;
  LabelKind labels;
  int n_outputs;                          /* LABELS_BINARY: targets per example */
  const char *output_names[MAX_OUTPUTS];
  bool positive[MAX_OUTPUTS][MAX_CLASSES]; /* target k is 1 for class c */
  SrcLoc labels_loc;
  bool only_given;                 /* only [C, ...]: every split keeps these classes alone */
  bool only_class[MAX_CLASSES];
  bool oversample; /* oversample train [seed S] */
  long oversample_seed;
  /* train */
  LossKind loss;
  bool from_logits;
  double label_smoothing; /* categorical and binary cross-entropy */
  bool loss_given;        /* else the loss follows the labels */
  bool class_weight_balanced;
  bool class_weight_explicit;
  double class_weight[MAX_CLASSES];
  OptimizerKind optimizer;
  double learning_rate, beta1, beta2, epsilon;
  double rho;          /* RMSprop */
  double momentum;     /* SGD */
  bool nesterov;       /* SGD */
  double weight_decay; /* AdamW */
  ScheduleKind schedule; /* learning_rate is then the schedule's initial rate */
  long decay_steps;       /* exponential, cosine */
  double decay_rate;      /* exponential */
  bool staircase;         /* exponential */
  double alpha;           /* cosine: the floor as a fraction of the peak */
  double warmup_target;   /* cosine: the peak after warmup */
  long warmup_steps;      /* cosine: 0 = no warmup */
  long boundaries[MAX_BOUNDARIES]; /* piecewise: n_boundaries steps, */
  double values[MAX_BOUNDARIES + 1]; /* n_boundaries + 1 rates */
  int n_boundaries;
  double clipnorm;        /* 0: no clipping */
  double global_clipnorm; /* 0: no clipping */
  int epochs;
  int batch_size;
  bool shuffle;
  long seed;
  Callback checkpoint;
  const char *checkpoint_file; /* checkpoint("FILE", ...); NULL = best.ckpt in the output dir */
  Callback early_stopping;
  Callback reduce_lr;
  bool metric_top_k;        /* metrics [..., top_k_accuracy]: logged every epoch */
  int top_k;                /* top_k_accuracy(k=N): the k of every top-k accuracy (Keras: 5) */
  bool metric_auc;          /* metrics [..., auc] */
  bool metric_precision, metric_recall; /* metrics [..., precision, recall]: macro averages */
  bool csv_logger;          /* csv_logger(filename, separator=",", append=false) */
  const char *csv_path;     /* relative to the output directory unless absolute */
  char csv_separator;
  bool csv_append;
  const char *init_from;   /* initialize [L, ...] from "CKPT": copied after init */
  SrcLoc init_loc;
  const char *init_layers[MAX_INIT_LAYERS]; /* no list: every layer whose tensors match */
  SrcLoc init_layer_locs[MAX_INIT_LAYERS];
  int n_init_layers;
  /* evaluate */
  bool has_evaluate;
  Expectation expect[MAX_EXPECTATIONS];
  int n_expect;
  SrcLoc loss_loc;
} Program;

/* Validates sections and settings, fills prog. Returns false after reporting
 * the first error. The model section itself is lowered by ir_build.c. */
bool check_program(Program *prog, const Ast *ast, Arena *arena, Diag *diag);

/* ===== check_source.c ===== */

/* One data-source setting of the data section (directory, csv, npy,
 * cifar10): validated into p->source; a second source is an error. */
bool check_source_item(Diag *d, Program *p, const Item *it);
/* Once the model input is known: a source whose shape is declared
 * (directory's image_size and color_mode, cifar10's 32x32x3) must match it;
 * an error names both. Fills the directory's defaults from the input. */
bool check_source_input(Diag *d, Program *p);
/* Looks a class up by name or number; -1 if unknown. */
int program_class_id(const Program *prog, const Expr *e);

/* ===== ir.c: the graph IR ===== */

/*
 * One node type for every operation, forward and backward (tinygrad style).
 * A node produces one tensor. Shapes exclude the batch axis; a node with
 * `batched` set has a leading batch axis of runtime size m <= batch_size.
 * The ops are declared once, in ops.def (name, direction, arity, flags and
 * the rule of each pass); this enum and ir.c's table are expanded from it.
 */
typedef enum {
#define OP(id, name, kind, min_in, max_in, flags, shape, grad, lower, emit, export, onnx) IR_##id,
#include "ops.def"
#undef OP
  IR_OP_COUNT
} IrOp;

typedef enum { OPK_SOURCE, OPK_FORWARD, OPK_BACKWARD } OpKind;

enum {
  OPF_LOSS = 1,     /* its value is the scalar loss_sum (fused ones also output probs) */
  OPF_TRAINING = 2, /* its code reads the `training` flag (dropout, batch norm) */
  OPF_VIEW = 4,     /* a view of its input: no code, no storage of its own */
  OPF_WINDOW = 8,   /* owns its layer's RtWindow constant (the layer's gradients share it) */
  OPF_EPILOGUE = 16 /* fusion may give it a bias + activation epilogue (in[2] the bias) */
};

/* One row of ops.def, less the per-pass rules (each pass keeps its column). */
typedef struct {
  const char *name;
  OpKind kind;
  int min_in, max_in;
  unsigned flags;
} OpInfo;

/* The activations, in one table: ACT(ID, name, runtime enum, alpha of
 * activation=NAME, layer kind and Keras class of the activation layer, its
 * alpha argument and that argument's default). NONE is `linear`/`none`;
 * softmax is a row op, never a runtime elementwise activation. An
 * activation layer without an alpha argument passes 1.0, which its kernel
 * ignores. */
#define NNC_ACTIVATIONS(ACT)                                                                      \
  ACT(NONE, "linear", "RT_ACT_NONE", 0.0f, NULL, NULL, NULL, 0.0)                                 \
  ACT(RELU, "relu", "RT_ACT_RELU", 0.0f, "activation", "Activation", NULL, 1.0)                   \
  ACT(SIGMOID, "sigmoid", "RT_ACT_SIGMOID", 0.0f, "activation", "Activation", NULL, 1.0)          \
  ACT(TANH, "tanh", "RT_ACT_TANH", 0.0f, "activation", "Activation", NULL, 1.0)                   \
  ACT(SOFTMAX, "softmax", "RT_ACT_NONE", 0.0f, "activation", "Activation", NULL, 1.0)             \
  ACT(LEAKY_RELU, "leaky_relu", "RT_ACT_LEAKY_RELU", 0.2f, "leaky_re_lu", "LeakyReLU",            \
      "negative_slope", 0.3)                                                                      \
  ACT(ELU, "elu", "RT_ACT_ELU", 1.0f, "elu", "ELU", "alpha", 1.0)                                 \
  ACT(RELU6, "relu6", "RT_ACT_RELU6", 0.0f, "re_lu", "ReLU", NULL, 1.0)

typedef enum {
#define ACT_ENUM(id, name, rt, alpha, kind, keras, param, param_default) ACT_##id,
  NNC_ACTIVATIONS(ACT_ENUM)
#undef ACT_ENUM
  ACT_COUNT
} Activation;

typedef struct {
  const char *name;        /* as written in .nn files */
  const char *rt_enum;     /* the runtime's RtAct constant */
  float default_alpha;     /* activation=NAME (keras.activations' defaults) */
  const char *layer_kind;  /* the activation layer's Keras name stem, or NULL */
  const char *keras_class; /* its Keras class, for nnc summary */
  const char *alpha_param; /* the layer's alpha argument, or NULL */
  double layer_alpha;      /* its default (LeakyReLU 0.3, ELU 1.0) */
} ActivationInfo;

extern const ActivationInfo ACTIVATION_INFO[ACT_COUNT];

/* How a parameter starts (the generated init_params). */
typedef enum {
  INIT_NONE,
  INIT_GLOROT_UNIFORM,
  INIT_ZEROS,
  INIT_ONES,
  INIT_ADAPT, /* Normalization.adapt() on the training data */
  INIT_COUNT
} Init;

/* What a parameter holds, where a consumer must tell them apart. */
typedef enum {
  ROLE_VALUES,      /* floats: weights, statistics */
  ROLE_SAMPLE_COUNT /* a Normalization's sample count (Keras: an int64) */
} ParamRole;

/* im2col columns under this many bytes a batch are kept whole, forward to
 * backward (memplan.c); larger ones are recomputed in chunks. */
#define NNC_WHOLE_COLUMNS_MAX ((size_t)64 << 20)

/* A 2-D window over an NHWC value (convolution, pooling); see RtWindow. */
typedef struct {
  int kh, kw, sh, sw;
  bool same;             /* padding 'same' (else 'valid') */
  int h, w, c, oh, ow;   /* set by shape.c */
  int pad_top, pad_left; /* set by shape.c */
} Window;

typedef enum {
  ST_NONE,    /* not yet planned */
  ST_INPUT,   /* the batch input block (x, labels, weights) */
  ST_PARAM,   /* the parameter block */
  ST_GRAD,    /* the gradient block (parallel to trainable params) */
  ST_ARENA,   /* the activation arena, offsets from the memory plan */
  ST_VIEW     /* aliases another node's storage */
} Storage;

#define IR_MAX_INPUTS 6
#define MAX_EXAMPLE_ELEMS (1 << 26)  /* values in one input example */
#define MAX_TENSOR_ELEMS (1 << 30)   /* values in one parameter tensor */
#define IR_MAX_RANK 8

/* The augmentation layers (IR_AUGMENT; random_crop is IR_RANDOM_CROP). */
typedef enum { AUG_FLIP, AUG_ROTATION, AUG_ZOOM, AUG_TRANSLATION, AUG_CONTRAST, AUG_BRIGHTNESS,
               AUG_CROP } AugmentKind;

typedef struct IrNode IrNode;
struct IrNode {
  int id;
  IrOp op;
  IrNode *in[IR_MAX_INPUTS];
  int n_in;
  SrcLoc loc;             /* the .nn expression this came from */
  const char *layer;      /* owning layer's name ("dense_1", "loss") */
  const char *name;       /* tensor name ("dense_1.kernel", "dense_1.out") */
  bool backward;          /* part of the backward graph */
  bool dead;              /* removed by a rewrite; dropped by ir_compact */
  /* type (shape.c) */
  DType dtype;
  bool batched;
  int dims[IR_MAX_RANK];
  int rank;
  /* attributes: each op reads only its own (the comments say which) */
  Activation act;         /* ACT, ACT_GRAD, ACT_DROPOUT_GRAD; MATMUL's, DEPTHWISE's fused epilogue;
                             MAXPOOL_GRAD fused with relu's gradient */
  float alpha;            /* with act: leaky_relu's slope, elu's alpha */
  int units;              /* MATMUL, CONV2D: output features (the kernel is shaped in shape.c) */
  Window win;             /* CONV2D, DEPTHWISE and their gradients, IM2COL, COL2IM, pools and
                             their gradients */
  Window conv_win;        /* POOLED_MATMUL and its weight gradient (fusion rule 5): the first
                             convolution's window over its input, read without columns */
  int depth_multiplier;   /* DEPTHWISE and its gradients: filters per input channel */
  struct {
    int top, bottom, left, right;
  } pad;                  /* ZERO_PAD and its gradient: rows and columns of zeros */
  struct {
    int sy, sx;
  } upsample;             /* UPSAMPLE and its gradient: each pixel repeated sy x sx */
  struct {
    float scale, offset;  /* x * scale + offset */
  } rescale;              /* RESCALE, RESCALE_GRAD */
  struct {
    float momentum, epsilon;
    bool frozen;          /* trainable=false: inference mode, also while training */
    bool synchronized;    /* synchronized=true: batch statistics over every rank (mpirun) */
  } bn;                   /* BATCHNORM */
  int concat_offset;      /* CONCAT_GRAD: first column of this input in dout */
  bool has_target_shape;  /* RESHAPE from reshape(): dims set at build time */
  bool has_bias;          /* MATMUL, DEPTHWISE after fusion: in[2] is the epilogue bias */
  float rate;             /* DROPOUT */
  struct {
    AugmentKind kind;
    int mode;             /* flip: RtFlipMode's order; others: fill_mode (RtFillMode's order) */
    int interp;           /* 0 bilinear, 1 nearest */
    float lo, hi;         /* the factor's range (zoom, translation: the height's) */
    float wlo, whi;       /* zoom, translation: the width's */
    int width_from_height; /* zoom with width_factor=None */
    float fill_value;     /* rotation, zoom, translation: fill_mode=constant's value */
    float value_lo, value_hi; /* contrast, brightness: value_range, the clip */
    int crop_h, crop_w;   /* RANDOM_CROP */
  } aug;                  /* AUGMENT, RANDOM_CROP */
  float smoothing;        /* loss nodes and their gradients: label_smoothing */
  bool per_feature;       /* NORMALIZE: axis=-1 */
  IrNode *mask;           /* a SCRATCH side output: DROPOUT's mask, POOLED_MATMUL's winners,
                             the bias gradient a weight gradient's kernel also writes
                             (fusion rules 5 and 6) */
  IrNode *xhat, *stats;   /* BATCHNORM: its SCRATCH x-hat and (2, C) batch statistics */
  const IrNode *forward;  /* a backward node: the forward node whose rule made it */
  /* parameters (PARAM) */
  bool trainable;
  Init init;
  ParamRole role;
  int fan_in, fan_out;    /* glorot */
  float l2;               /* kernel_regularizer=l2(lambda), 0 for none */
  IrNode *grad_of;        /* a parameter gradient: the PARAM it belongs to */
  const char *fused;      /* fuse.c: what was fused into this node, for comments */
  /* autodiff bookkeeping */
  bool requires_grad;
  IrNode *grad;           /* gradient of this node's output */
  /* memory plan (memplan.c) */
  Storage storage;
  size_t offset;          /* bytes into its block */
  size_t bytes;
  int first_use, last_use;
  int chunk;              /* IM2COL, and MATMUL_GRAD_X before COL2IM: when not 0, a workspace
                             for this many examples, filled and used a chunk at a time by
                             the convolution's reader (rt_conv2d_*); its reader's inputs live
                             as long as the reader */
  IrNode *view_of;        /* ST_VIEW: the node whose storage this aliases */
};

typedef struct {
  Arena *arena;
  IrNode **nodes; /* schedule order: forward nodes first, then backward */
  int n_nodes, cap;
  int next_id;
  const char *model_name;
  int batch_size;
  int n_classes;
  int n_outputs;   /* units the model must output: n_classes, or the binary targets */
  bool binary;     /* labels binary: sigmoid outputs, binary cross-entropy */
  IrNode *input;   /* model input */
  IrNode *labels;
  IrNode *weights; /* NULL unless class weights are used */
  IrNode *output;  /* model output (logits or probabilities) */
  IrNode *loss;    /* IR_XENT, IR_BXENT or (fused) IR_SOFTMAX_XENT, IR_SIGMOID_BXENT */
  const char **layer_names; /* in order of creation (ir_build), for summary and emitter */
  const char **layer_kinds; /* "dense", "normalization", ... */
  const char **layer_classes; /* their Keras classes: "Dense", "Normalization", ... */
  int n_layers;
  size_t arena_bytes;  /* memplan: planned activation arena */
  size_t naive_bytes;  /* memplan: what one buffer per tensor would take */
  size_t peak_live_bytes; /* memplan: the most arena bytes live at once (a lower bound) */
  bool has_backward;
  bool model_only;     /* ir_build_model: no labels, no loss (shapes and summary only) */
  uint64_t identity;   /* graph_identity after shape inference (driver.c) */
} Graph;

Graph *ir_new_graph(Arena *a, const char *model_name, int batch_size);
IrNode *ir_add(Graph *g, IrOp op, SrcLoc loc, const char *layer, int n_in, ...);
void ir_set_shape(IrNode *n, DType dt, bool batched, int rank, const int *dims);
size_t ir_elems(const IrNode *n); /* per example when batched */
size_t ir_dtype_size(DType dt);
const char *ir_dtype_name(DType dt); /* "u8", "f32": as the .nn file writes it */
const OpInfo *ir_op_info(IrOp op);
const char *ir_op_name(IrOp op);
const char *ir_act_name(Activation act);
const char *ir_init_name(Init init);
bool ir_is_backward_op(IrOp op);
/* The loss ops (OPF_LOSS): their value is the scalar loss_sum (fused ones also output probs). */
bool ir_is_loss(IrOp op);
/* A node's side outputs (scratch buffers it writes: a dropout's mask, a batch
 * norm's x-hat and statistics); returns how many (no op has more than 2). */
int ir_side_outputs(const IrNode *n, IrNode *out[2]);
/* Inserts n (made by ir_new_node) into the schedule at position pos. */
void ir_insert(Graph *g, int pos, IrNode *n);
/* A node not yet scheduled (ir_insert places it). */
IrNode *ir_new_node(Graph *g, IrOp op, SrcLoc loc, const char *layer);
/* Numbers the nodes in schedule order again (after a pass inserted some). */
void ir_renumber(Graph *g);
/* Removes dead nodes and renumbers the schedule. */
void ir_compact(Graph *g);
/* Number of live uses of n by other live nodes (inputs and side outputs). */
int ir_use_count(const Graph *g, const IrNode *n);
/* Replaces every use of `from` by `to`. */
void ir_replace_uses(Graph *g, IrNode *from, IrNode *to);
/* The storage root of a view chain. */
IrNode *ir_storage_root(IrNode *n);
/* Formats a shape "(B, 28, 28)" into an arena string. */
const char *ir_shape_str(Arena *a, const IrNode *n);
/* Has the graph an augmentation layer (its program then has augment_rng)? */
bool graph_augments(const Graph *g);
/* Has it a batch_norm(synchronized=true) (its program then says so: RtModel.sync_batch_norm)? */
bool graph_syncs_batch_norm(const Graph *g);
/* The float nearest v in the fewest digits that read back as that float
 * ("0.3", not "0.300000012"), as printf's %g writes them (no suffix). */
void ir_float_text(char *buf, size_t size, double v);

/* ===== ir_build.c ===== */

/* Lowers the model section and the loss into forward IR. Reports located
 * errors for unknown layers, names and arguments; NULL on error. */
Graph *ir_build(Arena *a, const Ast *ast, const Program *prog, Diag *diag);
/* The model alone, without the loss (nnc summary: as Keras's model.summary()
 * needs no compile(), a backbone without a classifier can be described). */
Graph *ir_build_model(Arena *a, const Ast *ast, const Program *prog, Diag *diag);

/* ===== shape.c ===== */

/* Infers dtype and shape of every node in schedule order; a mismatch is a
 * located error at the layer call. */
bool shape_infer(Graph *g, Diag *diag);

/* ===== identity.c ===== */

/* The model's identity: FNV-1a/64 over the graph as shape inference leaves
 * it and the loss, classes and optimizer (not the recipe). Checkpoints carry
 * it; a program or `nnc export` refuses one whose identity differs. */
uint64_t graph_identity(const Graph *g, const Program *prog);

/* ===== autodiff.c ===== */

/* Appends the backward graph (reverse mode, per-op rules) from the loss. */
bool autodiff(Graph *g, Diag *diag);

/* ===== lower.c ===== */

/* Rewrites the ops the C back end has no kernel for into ones it has
 * (conv2d and its gradients -> im2col + GEMM, col2im), per ops.def's LOWER
 * column, and numbers the schedule again. */
void lower(Graph *g, bool direct_conv);

/* ===== fuse.c ===== */

/* softmax + cross-entropy (forward and backward), matmul + bias + activation
 * (GEMM epilogue), dropout-grad + act-grad. Returns the number of fusions. */
int fuse(Graph *g);

/* ===== memplan.c ===== */

/* Assigns storage: params and grads to their blocks, views to their roots,
 * every other tensor an arena offset reused by liveness (large im2col
 * columns recomputed in backward rather than kept). */
void memplan(Graph *g);

/* The optimizer's state: blocks parallel to params, saved in the checkpoint. */
typedef struct {
  const char *name, *what;
} OptimizerSlot;
const OptimizerSlot *optimizer_slots(OptimizerKind kind, int *n);

/* What the generated program allocates at start-up, in bytes, by block. */
typedef struct {
  size_t params, grads, optimizer, best_params, activations, batch, total;
  int optimizer_slots; /* blocks of optimizer state, each the size of params */
} TrainingMemory;
TrainingMemory training_memory(const Graph *g, const Program *prog);

/* Beyond any x86-64 process's address space (2^47 bytes): always an error. */
#define MAX_TRAINING_BYTES ((size_t)1 << 47)
/* Checks the planned training memory at compile time: above `limit` (0: the
 * 2^47 bytes any process can address) it is a located error at the model's
 * name; above `physical` (this machine's memory, 0 = unknown) a warning with
 * the figures. Returns false after an error. */
bool memplan_check_limit(const Graph *g, const Program *prog, SrcLoc model_loc, size_t limit,
                         size_t physical, Diag *diag);

/* ===== ir_verify.c ===== */

/* Checks structural invariants (inputs scheduled before uses, shapes set,
 * no dead references, plan without overlapping live buffers). Calls NNC_BUG. */
void ir_verify(const Graph *g, const char *after_pass);

/* ===== ir_dump.c ===== */

void ir_dump(FILE *out, const Graph *g, const char *after_pass);

/* ===== summary.c ===== */

/* Keras-style model.summary() table. */
void summary_print(FILE *out, const Graph *g);
/* The planned training memory by block (after memplan). */
void summary_print_memory(FILE *out, const Graph *g, const Program *prog);

/* ===== emit_c.c ===== */

typedef struct {
  const char *source_path; /* the .nn file, named in the banner */
  const char *source_text; /* the .nn source, embedded for report.html; NULL: left out */
  const char *summary_text; /* `nnc summary`'s table, embedded for report.html; NULL: left out */
  bool mpi;                /* nnc build --mpi: the recipe names rt_mpi_init */
} EmitOptions;

void emit_c(FILE *out, const Graph *g, const Program *prog, const EmitOptions *opt);

/* ===== driver.c ===== */

typedef enum {
  PASS_PARSE,
  PASS_CHECK,
  PASS_BUILD,
  PASS_SHAPE,
  PASS_AUTODIFF,
  PASS_LOWER,
  PASS_FUSE,
  PASS_MEMPLAN,
  PASS_COUNT
} PassId;

typedef struct {
  const char *input_path;
  const char *input_text; /* when set, the source itself (named input_path): nothing is read */
  const char *c_path;    /* where to write generated C; NULL = derived */
  const char *exe_path;  /* NULL = derived; "" = do not compile */
  const char *dump_pass; /* print IR after this pass ("all" for every pass) */
  bool no_fuse;
  bool no_onednn;        /* convolutions through im2col + GEMM even when built with oneDNN */
  bool summary_only;     /* stop after shapes; build the model without its loss */
  bool emit_only;        /* write C, do not run cc */
  bool portable;         /* compile without -march=native */
  bool mpi;              /* data-parallel under mpirun: link libnncrt_mpi.a and libmpi */
  const char *ckpt_path; /* nnc export: the checkpoint (NULL = runs/NAME/best.ckpt) */
  const char *out_dir;   /* nnc export: where NAME.h, NAME.c, NAME.onnx go (NULL = .) */
  size_t max_memory;     /* --max-memory: planned training memory above it is an error */
  FILE *err;             /* diagnostics stream */
} DriverOptions;

typedef struct {
  Arena arena;
  Source src;
  Diag diag;
  Ast ast;
  Program prog;
  Graph *graph;
  int syntax_errors;
  PassId reached; /* the last pass that succeeded (meaningful once parsing succeeded) */
} Compilation;

/* The one entry to the pipeline, for `nnc` and the tests alike: reads the
 * source (or takes opt->input_text) and runs the passes up to and including
 * `last`. Returns false after errors; c must be freed with compilation_free. */
bool compile_source(Compilation *c, const DriverOptions *opt, PassId last);
void compilation_free(Compilation *c);
const char *pass_name(PassId p);
/* `nnc build`: every pass, emit C, run the C compiler. Exit status. */
int driver_build(const DriverOptions *opt);

/* ===== compare.c ===== */

#define COMPARE_MAX_LAYERS 4096

/* One layer as `nnc compare` diffs it. */
typedef struct {
  const char *name, *kind, *shape; /* "dense_1", "Dense", "(None, 128)" */
  size_t params;
} CompareLayer;

/* The layers of a shaped graph, in order (at most COMPARE_MAX_LAYERS). */
void compare_layers(const Graph *g, CompareLayer *layers, int *n);
/* FLOPs of one forward pass per example (a multiply-add is 2): dense and
 * conv2d MACs, depthwise windows; other ops are not counted. */
double compare_flops(const Graph *g);
/* Layers b against layers a by name: "- " removed, "+ " added, "~ " changed
 * (class, output shape or parameters); returns the number of lines. */
int compare_diff(FILE *out, const CompareLayer *a, int na, const CompareLayer *b, int nb);
/* `nnc compare`: the table, the layer diffs, compare.html and the overlaid
 * curves in out_dir (NULL: .). run_dirs[i] is file i's run (else runs/MODEL). */
int driver_compare(const DriverOptions *opt, const char *const *paths, int n,
                   const char *const *run_dirs, int n_run_dirs, const char *out_dir);

/* ===== export.c ===== */

/* `nnc export`: NAME.h + NAME.c (inference C library) and NAME.onnx from a
 * checkpoint. Exit status. */
int driver_export(const DriverOptions *opt);

#endif
