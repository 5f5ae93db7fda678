/*
 * nnc_runtime.h — the small runtime that nnc-generated training programs link.
 *
 * Sections are named after the file that defines them (chibicc style):
 *   rt_util.c    checked allocation and I/O, errors, clocks, directories
 *   rt_rng.c     seeded random numbers (splitmix64 seeding + xoshiro128+)
 *   rt_platform.c     the thread pool, rt_init (OpenBLAS's kernels)
 *   rt_gemm.c         matmul and its gradients (OpenBLAS sgemm, split by blocks)
 *   rt_elementwise.c  init, input conversion, bias + activation, dropout, add
 *   rt_losses.c       softmax, cross-entropies (fused or not), accuracy counts
 *   rt_conv.c    im2col/col2im, pooling, batch normalization, rescale, concat
 *   rt_spatial.c depthwise convolution, zero padding, nearest upsampling
 *   rt_optim.c   optimizer updates
 *   rt_data.c    IDX loading (gzip through zlib), splits, class surgery, adapt
 *   rt_metrics.c confusion matrix, per-class precision/recall/F1, JSON
 *   rt_train.c   monitors (checkpoint / early stopping decisions), history CSV,
 *                command-line options of the generated program
 *   rt_ckpt.c    checkpoint write (atomic: temp file + fsync + rename) and read
 *
 * The kernels generated code calls are declared from rt_kernels.def (the
 * compiler-runtime contract).
 *
 * Conventions (llm.c): kernel arguments are ordered outputs, inputs, weights,
 * sizes. Every tensor argument carries its shape in a comment. "m" is the
 * number of rows actually present in the batch (the last batch of an epoch
 * may be short); every other size is a compile-time constant of the model.
 * Backward kernels that produce a parameter gradient OVERWRITE it (one step
 * = one batch; the compiler inserts explicit adds where a value fans out).
 */
#ifndef NNC_RUNTIME_H
#define NNC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ===== rt_util.c ===== */

/* Print "error: <message>" to stderr and exit(1). */
void rt_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void *rt_malloc_check(size_t size, const char *file, int line);
void *rt_calloc_check(size_t count, size_t size, const char *file, int line);
FILE *rt_fopen_check(const char *path, const char *mode, const char *file, int line);
#define rt_malloc(size) rt_malloc_check((size), __FILE__, __LINE__)
#define rt_calloc(count, size) rt_calloc_check((count), (size), __FILE__, __LINE__)
#define rt_fopen(path, mode) rt_fopen_check((path), (mode), __FILE__, __LINE__)
/* Monotonic wall clock in seconds. */
double rt_now(void);
/* mkdir -p; dies with a message naming the directory on failure. */
void rt_mkdir_p(const char *path);
/* Join directory and file name into buf (dies if it does not fit). */
void rt_path_join(char *buf, size_t size, const char *dir, const char *name);

/* ===== rt_rng.c ===== */

typedef struct {
  uint32_t s[4];
} RtRng;

void rt_rng_seed(RtRng *rng, uint64_t seed);

/* xoshiro128+ step. Inline: dropout draws one number per activation. */
static inline uint32_t rt_rng_u32(RtRng *rng) {
  uint32_t *s = rng->s;
  uint32_t result = s[0] + s[3];
  uint32_t t = s[1] << 9;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = (s[3] << 11) | (s[3] >> 21);
  return result;
}

/* Uniform in [0, 1): 24 bits fill a float's mantissa exactly. */
static inline float rt_rng_uniform(RtRng *rng) {
  return (float)(rt_rng_u32(rng) >> 8) * (1.0f / 16777216.0f);
}
/* Uniform integer in [0, n), unbiased. */
uint32_t rt_rng_below(RtRng *rng, uint32_t n);
/* Fisher-Yates shuffle of an int array. */
void rt_rng_shuffle(RtRng *rng, int *a, int n);

/* ===== rt_platform.c ===== */

/* Threads: one OpenMP pool (OMP_NUM_THREADS, default one per core), OpenBLAS
 * single-threaded inside it. rt_threads() sets that up on first call and
 * returns the pool's size; rt_threads_for(work) is 1 for small work. */
int rt_threads(void);
int rt_threads_for(double work);
/* Use n threads from now on (tests compare thread counts with it). */
void rt_set_threads(int n);
/* Call first in main: when OpenBLAS did not recognise this CPU and fell
 * back to its generic SSE3 kernels although the CPU has AVX2 or AVX-512,
 * restarts the program once (same argv) with OPENBLAS_CORETYPE set to the
 * matching kernels (Haswell, SkylakeX): OpenBLAS reads it only when it
 * loads. Setting OPENBLAS_CORETYPE yourself keeps your choice. */
void rt_init(char **argv);
/* The name of the kernels OpenBLAS runs ("SkylakeX", ...). */
const char *rt_blas_core(void);

/* ===== rt_elementwise.c, rt_gemm.c, rt_losses.c ===== */

typedef enum {
  RT_ACT_NONE,
  RT_ACT_RELU,
  RT_ACT_SIGMOID,
  RT_ACT_TANH,
  RT_ACT_LEAKY_RELU, /* x > 0 ? x : alpha x            (Keras: alpha = negative_slope) */
  RT_ACT_ELU,        /* x > 0 ? x : alpha (e^x - 1)    (Keras default alpha 1) */
  RT_ACT_RELU6,      /* min(max(x, 0), 6) */
} RtAct;
/* Every act kernel takes `alpha`, used by LEAKY_RELU and ELU and ignored by
 * the others. Every derivative is written in terms of the forward OUTPUT. */

/* rt_dropout_forward draws its mask in chunks of this many values (rt_kernels.def). */
#define RT_DROPOUT_CHUNK 4096

/* out += a (count): accumulation of fan-out gradients. */
void rt_accumulate(float *out, const float *a, size_t count);

/* Keras binary_accuracy: how many of the m * k entries have (p > 0.5) == (t > 0.5). */
long rt_count_binary_correct(const float *probs, const float *targets, int m, int k);

/* Number of rows whose argmax equals the label. */
int rt_count_correct(const float *scores, const uint8_t *labels, int m, int c);
/* Sum of the weights of the rows whose argmax equals the label (w = NULL means 1):
 * Keras weights its training metrics by the class weights too. */
double rt_weighted_correct(const float *scores, const uint8_t *labels, const float *sample_weight,
                           int m, int c);
int rt_argmax(const float *row, int c);
/* Rows whose label's score is among the k largest (Keras TopKCategoricalAccuracy:
 * ties with the k-th score count as in). */
int rt_count_top_k(const float *scores, const uint8_t *labels, int m, int c, int k);

/* ===== rt_conv.c ===== */

/* ---- convolution and pooling (NHWC, every size a compile-time constant) ---- */

/* The geometry of a 2-D window (convolution or pooling) over an NHWC tensor.
 * 'same' padding is TensorFlow's: out = ceil(in / stride), pad_total =
 * max((out - 1) * stride + k - in, 0), pad_top = pad_total / 2 (the extra
 * pixel goes after); 'valid' has no padding: out = (in - k) / stride + 1. */
typedef struct {
  int h, w, c;            /* input height, width, channels */
  int oh, ow;             /* output height, width */
  int kh, kw;             /* window */
  int sh, sw;             /* strides */
  int pad_top, pad_left;  /* zero padding before; the rest of pad_total after */
} RtWindow;

/* The kernels of rt_elementwise.c, rt_gemm.c, rt_losses.c, rt_conv.c,
 * rt_spatial.c and rt_optim.c that
 * generated code calls are declared below, from rt_kernels.def. */

/* ===== the kernels generated code calls: runtime/rt_kernels.def ===== */

/* One list of the kernels the compiler emits, with their signatures: this
 * header declares them from it, and the emitter (compiler/emit_model.c)
 * includes it to know each kernel's name and number of arguments, so a
 * renamed kernel or a changed argument count breaks nnc's own build. */
#define RT_KERNEL(ret, name, params) ret rt_##name params;
#include "rt_kernels.def"
#undef RT_KERNEL

/* ===== rt_data.c ===== */

/* A labelled dataset of uint8 items, each item_size bytes (rows*cols*channels). */
typedef struct {
  int count;
  int rows, cols, channels;
  size_t item_size;
  uint8_t *x; /* (count, item_size) */
  uint8_t *y; /* (count) */
} RtDataset;

/* Load one split ("train" or "t10k") of an IDX dataset directory, accepting
 * both NAME-images-idx3-ubyte.gz and the uncompressed name. Dies with a
 * message naming the file when it is missing, truncated or not IDX. */
void rt_dataset_load_idx(RtDataset *out, const char *dir, const char *split);
/* Load from explicit image and label file paths. */
void rt_dataset_load_idx_files(RtDataset *out, const char *images_path, const char *labels_path);
/* out = rows [start, start + count) of in (copies). */
void rt_dataset_slice(RtDataset *out, const RtDataset *in, int start, int count);
/* A seeded random split: n_val examples chosen uniformly without replacement
 * go to val, the rest to train, each keeping the file's order (copies). */
void rt_dataset_split_random(RtDataset *train, RtDataset *val, const RtDataset *full, int n_val,
                             uint64_t seed);
/* Keep keep_counts[r] randomly chosen examples of class classes[r] (r < n_rules),
 * all examples of other classes; order preserved; in place. Deterministic in seed. */
void rt_dataset_keep(RtDataset *ds, const int *classes, const int *keep_counts, int n_rules,
                     uint64_t seed);
void rt_dataset_free(RtDataset *ds);
/* Oversampling (the Day 5 seed's exercise): every class's examples are
 * repeated, cycling through them in order, up to the largest class's count
 * (numpy's np.resize), then the whole set is shuffled with seed. In place. */
void rt_dataset_oversample(RtDataset *ds, int n_classes, uint64_t seed);
/* counts (n_classes); dies if a label is >= n_classes. */
void rt_class_counts(int *counts, const RtDataset *ds, int n_classes);
/* Balanced class weights w_c = N / (C n_c) (0 for an absent class). */
void rt_class_weights_balanced(float *w, const int *counts, int n_classes);
/* Normalization.adapt: population mean and variance, computed in double.
 * features == 1: one scalar each over every value (axis=None); otherwise one
 * per position of the last axis, the data seen as rows of `features` values
 * (axis=-1); features must divide item_size. */
void rt_adapt_mean_var(float *mean, float *var, const RtDataset *ds, int features);

/* ===== rt_metrics.c ===== */

typedef struct {
  int n_classes;
  long *counts; /* (n_classes, n_classes): rows true, columns predicted */
} RtConfusion;

typedef struct {
  double precision, recall, f1;
  long support;
} RtClassStats;

void rt_confusion_init(RtConfusion *cm, int n_classes);
void rt_confusion_free(RtConfusion *cm);
void rt_confusion_add(RtConfusion *cm, int truth, int predicted);
double rt_confusion_accuracy(const RtConfusion *cm);
/* stats (n_classes); 0 where a denominator is 0. */
void rt_confusion_stats(RtClassStats *stats, const RtConfusion *cm);
/* An off-diagonal cell of the confusion matrix. */
typedef struct {
  int truth, predicted;
  long count;
} RtConfusedPair;

/* The (up to) k largest off-diagonal cells, largest first (ties: row-major
 * order); returns how many were written (cells with count 0 are skipped). */
int rt_confusion_most_confused(RtConfusedPair *pairs, int k, const RtConfusion *cm);

/* Human-readable report: matrix with class names, per-class P/R/F1 with a bar,
 * the most-confused class pairs. */
void rt_confusion_print(FILE *f, const RtConfusion *cm, const char *const *class_names);
/* metrics.json: test loss and accuracy, confusion matrix, per-class stats,
 * class names, best epoch, and the ROC AUCs when auc is not NULL. Written
 * atomically. */
void rt_metrics_write_json(const char *path, const RtConfusion *cm,
                           const char *const *class_names, double test_loss,
                           double test_accuracy, int best_epoch, const double *auc);

/* Exact ROC AUC (scikit-learn's roc_auc_score) of scores (n) against 0/1
 * positive flags (n): ties count one half; NAN without both kinds. */
double rt_roc_auc(const float *scores, const uint8_t *positive, int n);
/* auc (k): column j of scores (n, k) against its positives: examples whose
 * class labels[i] has table[labels[i] * k + j] set, or (table NULL, one
 * class against the rest) whose label is j. */
void rt_roc_auc_columns(double *auc, const float *scores, const uint8_t *labels,
                        const uint8_t *table, int n, int k);
/* Mean over the entries that are not NAN (NAN when none is). */
double rt_mean_defined(const double *v, int n);
void rt_auc_print(FILE *f, const double *auc, const char *const *names, int n);

/* One binary target's test statistics at threshold 0.5 (labels binary). */
typedef struct {
  long tp, fp, fn, tn;
  double precision, recall, f1, auc;
} RtBinaryStats;

/* stats (k) from probs (n, k); target j of example i is table[labels[i] * k + j]. */
void rt_binary_stats(RtBinaryStats *stats, const float *probs, const uint8_t *labels,
                     const uint8_t *table, int n, int k);
void rt_binary_print(FILE *f, const RtBinaryStats *stats, const char *const *names, int k);
/* metrics.json for binary targets: loss, binary accuracy, per-target stats. Atomic. */
void rt_binary_write_json(const char *path, const RtBinaryStats *stats,
                          const char *const *names, int k, double test_loss,
                          double test_accuracy, int best_epoch);

/* ===== rt_train.c ===== */

typedef enum { RT_MODE_MIN, RT_MODE_MAX } RtMode;

/* A monitored metric: the decision logic of ModelCheckpoint(save_best_only)
 * and EarlyStopping. */
typedef struct {
  const char *name;
  RtMode mode;
  double min_delta;
  double best;    /* +inf for min, -inf for max until the first update */
  int best_epoch; /* 0 until the first improvement */
  int wait;       /* epochs since the last improvement */
} RtMonitor;

void rt_monitor_init(RtMonitor *mon, const char *name, RtMode mode, double min_delta);
/* Record this epoch's value; returns 1 (and resets wait) when it improved. */
int rt_monitor_update(RtMonitor *mon, double value, int epoch);

/* ReduceLROnPlateau: multiply the learning rate by factor after patience
 * epochs without improvement, then wait cooldown epochs (Keras). */
typedef struct {
  RtMonitor monitor;
  double factor, min_lr;
  int patience, cooldown, cooldown_left;
} RtPlateau;

void rt_plateau_init(RtPlateau *p, const char *name, RtMode mode, double min_delta, double factor,
                     int patience, int cooldown, double min_lr);
/* Returns the learning rate for the next epoch. */
double rt_plateau_update(RtPlateau *p, double value, int epoch, double lr);

/* A per-epoch CSV log: history.csv (always, separator ',') and the train
 * section's csv_logger. The columns are the model's: epoch,loss,accuracy,
 * [top_k_accuracy,auc,]val_loss,val_accuracy,[val_...,]lr,seconds. Every
 * row is flushed; a write error dies naming the file. */
typedef struct {
  FILE *f;
  char separator;
  const char *const *columns;
  int n_columns;
  char path[4096];
} RtCsvLog;

/* append != 0: Keras's CSVLogger(append=True), the header only when the file
 * is missing or empty. columns must outlive the log. */
void rt_csv_log_open(RtCsvLog *log, const char *path, char separator, int append,
                     const char *const *columns, int n_columns);
/* One row: values[i] is column i's (the epoch first, written as a whole
 * number; "lr" with all its digits; the others with 6 decimals). */
void rt_csv_log_row(RtCsvLog *log, const double *values);
void rt_csv_log_close(RtCsvLog *log);

/* Options every generated program accepts; defaults come from the .nn file. */
typedef struct {
  int epochs;
  uint64_t seed;
  const char *out_dir;
  const char *data_dir;
  int limit_train; /* 0 = all; otherwise use only the first N training examples */
  int limit_test;  /* 0 = all */
  int gradcheck;   /* 1 = check the analytic gradient against finite differences and exit */
  int quiet;
} RtOptions;

/* Parses --epochs N, --seed S, --out DIR, --data DIR, --limit-train N,
 * --limit-test N, --gradcheck, --quiet, --help. Unknown options: message and exit 2.
 * --help prints usage (program name and model name shown) and exits 0. */
void rt_options_parse(RtOptions *opt, int argc, char **argv, const char *model_name);

/* ===== rt_ckpt.c ===== */

/* One named tensor in a checkpoint. */
typedef struct {
  const char *name;
  float *data;
  size_t count;
} RtTensorRef;

typedef struct {
  char model[64];
  int epoch;         /* epoch whose weights these are */
  long step;         /* optimizer steps taken (Adam's t) */
  double monitor;    /* value of the monitored metric */
} RtCheckpointMeta;

/* File layout (little-endian): magic "NNCKPT\0\0", u32 version, u32 tensor
 * count, meta, then per tensor: u32 name length, name bytes, u64 count, float
 * data; finally u32 CRC-32 of everything before it. Written to PATH.tmp,
 * fsync'd, then renamed over PATH, so a crash never leaves a torn file. */
void rt_checkpoint_save(const char *path, const RtTensorRef *tensors, int n_tensors,
                        const RtCheckpointMeta *meta);
/* Reads every tensor named in `tensors` (names and counts must match the
 * file). Dies with a message naming the file on a missing file, bad magic,
 * version, checksum or tensor mismatch. */
void rt_checkpoint_load(const char *path, RtTensorRef *tensors, int n_tensors,
                        RtCheckpointMeta *meta);
/* Same checks; returns 0 on success, -1 with a message in err otherwise. */
int rt_checkpoint_try_load(const char *path, RtTensorRef *tensors, int n_tensors,
                           RtCheckpointMeta *meta, char *err, size_t err_size);

#endif
