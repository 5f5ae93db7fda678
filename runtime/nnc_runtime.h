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
 *   rt_metrics.c confusion matrix, per-class precision/recall/F1, metrics.json
 *                (written and read through jansson)
 *   rt_plot.c    plots through gnuplot; history.csv read back
 *   rt_html.c    report.html and rt_report_run_dir, everything for a run directory
 *   rt_train.c   monitors (checkpoint / early stopping decisions), history CSV,
 *                command-line options of the generated program
 *   rt_ckpt.c    checkpoint write (atomic: temp file + fsync + rename) and read
 *   rt_resume.c  the run's identity (run id, run.json) and last.ckpt: the
 *                state --resume continues from
 *   rt_augment.c Keras 3's random image augmentation layers (flip, rotation,
 *                zoom, translation, contrast, brightness, crop)
 *   rt_prepare.c the run's data: load, split, keep, adapt, oversample, class
 *                weights, batches (what the .nn data section asks for)
 *   rt_fit.c     the training loop: epochs, metrics, callbacks, history
 *   rt_report.c  evaluation of the test split, reports, expectations
 *   rt_gradcheck.c  the whole model's gradient against finite differences
 *   rt_main.c    main of every generated program: the phases in order
 *   rt_image.c   PNG/JPEG decoding (libpng, libjpeg-turbo), Keras's channel
 *                conversion, tf.image.resize's bilinear interpolation
 *   rt_folder.c  image folders (one subfolder per class), Keras's validation split
 *   rt_loader.c  background loader: image files decoded into a ring of batches
 *   rt_sources.c CSV tables, NumPy .npy arrays, CIFAR-10 binary batches
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
#include "rt_limits.h"

/* ===== rt_util.c ===== */

/* Print "error: <message>" to stderr and exit(1). */
void rt_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void *rt_malloc_check(size_t size, const char *file, int line);
void *rt_calloc_check(size_t count, size_t size, const char *file, int line);
FILE *rt_fopen_check(const char *path, const char *mode, const char *file, int line);
#define rt_malloc(size) rt_malloc_check((size), __FILE__, __LINE__)
#define rt_calloc(count, size) rt_calloc_check((count), (size), __FILE__, __LINE__)
#define rt_fopen(path, mode) rt_fopen_check((path), (mode), __FILE__, __LINE__)
/* One block of the memory plan (parameters, gradients, activations ...):
 * zeroed, 64-byte aligned, held until exit. A failure dies with a message
 * naming the block and its size in bytes and GiB. */
void *rt_alloc_block(const char *what, size_t bytes);
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
/* Call first in main. Looks at how busy the machine is (60 ms of
 * /proc/stat) and, unless the user set them, chooses the wait policy
 * (GOMP_SPINCOUNT: libgomp's long spin on an idle machine, 1,000 spins on a
 * busy one) and the threads (OMP_NUM_THREADS: the cores other programs
 * leave); and when OpenBLAS did not recognise this CPU and fell back to its
 * generic SSE3 kernels although the CPU has AVX2 or AVX-512, sets
 * OPENBLAS_CORETYPE to the matching kernels (Haswell, SkylakeX). All three
 * are read only when the libraries load, so it restarts the program once
 * (same argv) when it changes one. Variables set by the user are kept. */
void rt_init(char **argv);
/* The name of the kernels OpenBLAS runs ("SkylakeX", ...). */
const char *rt_blas_core(void);
/* How many times idle OpenMP threads spin before they sleep (as a string). */
const char *rt_idle_spin(void);
/* rt_init's choice from what it saw: others = CPUs' worth of other programs'
 * work (-1: unknown), cpus online, threads OpenMP would use; *_set: the user
 * set that variable (then its field is NULL / 0). */
typedef struct {
  const char *spin; /* GOMP_SPINCOUNT: "1000" on a busy machine, "300000" on an idle one */
  int threads;      /* OMP_NUM_THREADS: the cores the others leave, at least 1 */
} RtMachineChoice;
RtMachineChoice rt_choose_for_load(double others, int cpus, int threads, int policy_set,
                                   int threads_set);

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
/* The augmentation kernels' modes (rt_augment.c, below). */
/* How a sample point outside the image is filled (Keras's fill_mode; the
 * image "abcd" is extended as shown):
 *   REFLECT   d c b a | a b c d | d c b a   (about the edge of the last pixel)
 *   WRAP      a b c d | a b c d | a b c d
 *   CONSTANT  k k k k | a b c d | k k k k   (k = fill_value)
 *   NEAREST   a a a a | a b c d | d d d d
 * The rule extends the pixel GRID; interpolation then reads the extended
 * grid (keras.ops.image.affine_transform / map_coordinates, as the JAX,
 * NumPy and torch backends compute it). */
typedef enum { RT_FILL_REFLECT, RT_FILL_WRAP, RT_FILL_CONSTANT, RT_FILL_NEAREST } RtFillMode;
/* BILINEAR: the four neighbours weighted by distance. NEAREST: the pixel at
 * the rounded coordinate (halves to even, as NumPy / JAX round). */
typedef enum { RT_INTERP_BILINEAR, RT_INTERP_NEAREST } RtInterpolation;
typedef enum {
  RT_FLIP_HORIZONTAL_AND_VERTICAL, /* Keras's default mode */
  RT_FLIP_HORIZONTAL,              /* left-right */
  RT_FLIP_VERTICAL,                /* top-bottom */
} RtFlipMode;

#include "rt_kernels.def"
#undef RT_KERNEL

/* ===== rt_data.c ===== */

/* A labelled dataset of items of item_size values (rows*cols*channels):
 * uint8 in x (IDX, images, CIFAR-10, .npy |u1), or float32 in xf when x is
 * NULL (CSV, .npy <f4). xf is read only when x is NULL, so code that fills
 * x by hand need not set it. */
typedef struct {
  int count;
  int rows, cols, channels;
  size_t item_size;
  uint8_t *x; /* (count, item_size) uint8 items, or NULL */
  uint8_t *y; /* (count) */
  char images_path[4096], labels_path[4096];
  float *xf;  /* (count, item_size) float32 items when x is NULL (rt_sources.c) */
  /* A streamed image folder (x and xf NULL, rt_dataset_streamed): paths[i] (each malloc'd) is
   * example i's file, decoded to rows x cols x channels when a batch needs
   * it (rt_load_batch, or ahead of the step by rt_loader.c); y is in memory. */
  char **paths;
} RtDataset;

/* paths is read only when x and xf are NULL, so code that fills x by hand
 * need not set it either. */
static inline int rt_dataset_streamed(const RtDataset *ds) {
  return !ds->x && !ds->xf && ds->paths;
}

/* Load one split ("train" or "t10k") of an IDX dataset directory, accepting
 * both NAME-images-idx3-ubyte.gz and the uncompressed name. Dies with a
 * message naming the file when it is missing, truncated or not IDX. */
void rt_dataset_load_idx(RtDataset *out, const char *dir, const char *split);
/* An IDX images file alone (no labels: y stays NULL), for predict mode. */
void rt_dataset_load_idx_images(RtDataset *out, const char *images_path);
/* Load from explicit image and label file paths. */
void rt_dataset_load_idx_files(RtDataset *out, const char *images_path, const char *labels_path);
/* Bytes of one item (uint8 or float), and item i's first byte. */
size_t rt_dataset_item_bytes(const RtDataset *ds);
const void *rt_dataset_item(const RtDataset *ds, size_t i);
/* Slices, splits, keep, oversample and adapt work on uint8 (x) and float
 * (xf) items alike; the results keep the input's kind. */
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
/* Dies unless the images are rows x cols x channels, the model's input
 * (the same number of values is not enough: 14x56 is not 28x28), with
 * "PATH: images are 14x56 but the model input is 28x28" (channels shown
 * when either side has more than one); path NULL: the images file. */
void rt_dataset_check_shape(const RtDataset *ds, int rows, int cols, int channels,
                            const char *path);
/* Dies unless every label is < n_classes, naming the labels file and the
 * example's index in ds (call it on the dataset as loaded, before slices or
 * splits, and the index is the file's). */
void rt_dataset_check_labels(const RtDataset *ds, int n_classes);
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

/* metrics.json read back (nnc compare, the report). Absent or null numbers
 * are NAN; absent tables are NULL (n_classes / n_targets still say how many
 * names were read). */
typedef struct {
  double test_loss;
  double test_accuracy; /* test_binary_accuracy when binary */
  int binary;           /* labels binary: targets instead of classes */
  int best_epoch;
  double auc_macro;
  int n_classes;
  char **class_names;       /* (n_classes) */
  long *confusion;          /* (n_classes, n_classes): rows true, columns predicted */
  RtClassStats *per_class;  /* (n_classes) */
  RtClassStats macro_avg, weighted_avg;
  int n_targets;
  char **target_names;      /* (n_targets) */
  RtBinaryStats *targets;   /* (n_targets) */
} RtMetricsFile;

/* Returns 0, or -1 with "path:line:col: message" in err (the file is missing
 * or not JSON). Free with rt_metrics_file_free. */
int rt_metrics_read_json(RtMetricsFile *m, const char *path, char *err, size_t err_size);
void rt_metrics_file_free(RtMetricsFile *m);

/* ===== rt_plot.c ===== */

/* Plots drawn by gnuplot (run as a program; NNC_GNUPLOT overrides its name).
 * Each rt_plot_* writes BASE.png (and BASE.svg for the charts) and returns
 * 0, or -1 after a warning on stderr: plots never stop a run. */

/* 1 when gnuplot runs (checked once; warns once when it does not). */
int rt_plot_available(void);

/* history.csv as written by rt_csv_log: column 0 is the epoch. */
#define RT_HISTORY_MAX_COLUMNS 32
typedef struct {
  char columns[RT_HISTORY_MAX_COLUMNS][48];
  int n_columns, n_rows;
  double *values; /* (n_rows, n_columns); NAN where a field is not a number */
} RtHistory;

/* Returns 0, or -1 with "path: why" in err. */
int rt_history_read(RtHistory *h, const char *path, char *err, size_t err_size);
void rt_history_free(RtHistory *h);
/* The index of a column by name, -1 when absent. */
int rt_history_column(const RtHistory *h, const char *name);
double rt_history_value(const RtHistory *h, int row, int column);

/* What the training loop knows and history.csv does not. */
typedef struct {
  const char *title; /* e.g. the model name; NULL: "Training curves" */
  int best_epoch;    /* epoch of the kept checkpoint; 0: none */
  int stopped_epoch; /* epoch early stopping ended the run; 0: it did not */
} RtCurveMarks;

/* A panel per metric (loss first), train and validation; vertical lines at
 * the best epoch, the early stop and each learning-rate change. */
int rt_plot_history(const char *base, const RtHistory *h, const RtCurveMarks *marks);
/* Several runs' histories overlaid (nnc compare): a panel per metric of the
 * first run, validation solid and train dashed, a color per run (labels (n_runs)). */
int rt_plot_histories(const char *base, const RtHistory *const *runs, const char *const *labels,
                      int n_runs, const char *title);
/* Heatmap of counts (n, n) (rows true), or each row divided by its sum. */
int rt_plot_confusion(const char *base, const long *counts, const char *const *names, int n,
                      int normalized);
int rt_plot_class_bars(const char *base, const RtClassStats *stats, const char *const *names,
                       int n);
/* One-vs-rest ROC curve per class of scores (n, k) against labels (n), with AUCs. */
int rt_plot_roc(const char *base, const float *scores, const uint8_t *labels,
                const char *const *names, int n, int k);
/* Histogram of the top probability of probs (n, k), right and wrong apart. */
int rt_plot_confidence(const char *base, const float *probs, const uint8_t *labels, int n, int k);
/* Up to max_shown (at most 64) wrongly predicted images (n, h, w, c), c 1 or
 * 3, the most confident mistakes first, captioned true / predicted / confidence. */
int rt_plot_misclassified(const char *base, const uint8_t *images, int h, int w, int c,
                          const float *probs, const uint8_t *labels, const char *const *names,
                          int n, int k, int max_shown);
/* A dense kernel (in, units), in = h * w * c, each unit's column as an image
 * (the first 64 units). */
int rt_plot_dense_weights(const char *base, const float *kernel, int in, int units, int h, int w,
                          int c);
/* Conv filters (kh, kw, c, filters) as tiles: RGB for c = 3, else signed
 * (blue negative, red positive; the mean over channels when c > 1). */
int rt_plot_conv_filters(const char *base, const float *kernel, int kh, int kw, int c,
                         int filters);

/* ===== rt_html.c ===== */

typedef struct {
  const char *key, *value;
} RtKeyValue;

typedef enum { RT_FIRST_NONE, RT_FIRST_DENSE, RT_FIRST_CONV } RtFirstLayerKind;

/* What a program passes to the report beyond its run directory's files.
 * Every field may be 0 / NULL: what is missing is left out. */
typedef struct {
  const char *model_name;
  const char *summary_text;  /* nnc's summary table */
  const char *source_text;   /* the .nn source; NULL: read source_path */
  const char *source_path;
  const RtKeyValue *hyper;   /* (n_hyper) hyper-parameters, shown in order */
  int n_hyper;
  int best_epoch;            /* 0: metrics.json's best_epoch */
  int stopped_epoch;         /* early stopping's last epoch; 0: none */
  const char *const *class_names; /* (n_classes); NULL: metrics.json's */
  int n_classes;
  const float *test_probs;   /* (n_test, n_classes) predicted probabilities */
  const uint8_t *test_labels; /* (n_test) */
  int n_test;
  const uint8_t *test_images; /* (n_test, image_h, image_w, image_c) raw pixels */
  int image_h, image_w, image_c;
  RtFirstLayerKind first_kind;
  const float *first_kernel; /* dense (in, units) or conv (kh, kw, c, filters) */
  int kernel_dims[4];        /* dense: in, units; conv: kh, kw, c, filters */
} RtReportInputs;

/* Draws every plot the run directory's history.csv and metrics.json and
 * `in` allow (training_curves, confusion_matrix[_normalized], class_metrics,
 * roc_curves, confidence, misclassified, first_layer_weights; .png, and .svg
 * for the charts) and writes report.html beside them. Returns the number of
 * plots drawn, or -1 when report.html could not be written. in may be NULL. */
int rt_report_run_dir(const char *run_dir, const RtReportInputs *in);

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
  int evaluate;     /* --evaluate: load the checkpoint, report on the test split, no training */
  const char *ckpt; /* --ckpt PATH: the checkpoint --evaluate reads (default OUT/best.ckpt) */
  int resume;      /* 1 = continue the interrupted run of out_dir from its last.ckpt */
  int stream;      /* --stream on|off|auto: 1, -1, 2; 0: as directory(stream=...) says */
  int loader_threads, loader_depth; /* streamed folders: --loader-threads, --loader-depth */
  int verbose, verbose_given; /* --verbose 0|1|2 (Keras's); not given: 1 */
  int bucket_kb;   /* under mpirun: --bucket-kb, the gradient allreduce's buckets; 0: 1024 */
  int no_overlap;  /* under mpirun: --no-overlap, every bucket after the whole backward pass */
} RtOptions;

/* Parses --epochs N, --seed S, --out DIR, --data DIR, --limit-train N,
 * --limit-test N, --gradcheck, --quiet, --verbose N, --help. Unknown options: message and exit 2.
 * --help prints usage (program name and model name shown) and exits 0. */
void rt_options_parse(RtOptions *opt, int argc, char **argv, const char *model_name);

/* ===== rt_progress.c ===== */

/* --verbose as Keras means it: 0 silent, 1 a progress bar per epoch on a
 * terminal (one line per epoch elsewhere), 2 one line per epoch. */
int rt_verbosity(const RtOptions *opt);
/* verbose 1 and stdout a terminal */
int rt_progress_bar_wanted(const RtOptions *opt);

typedef struct {
  int steps;
  double t0, last_draw;
} RtProgress;

/* "Epoch E/N", then the bar of `steps` steps. */
void rt_progress_begin(RtProgress *p, int epoch, int epochs, int steps);
/* After step `step` (1..steps): the bar, the ETA and the running metrics
 * (names[i]: values[i]), redrawn in place at most every 0.1 s. */
void rt_progress_step(RtProgress *p, int step, const char *const *names, const double *values,
                      int n);
/* The full bar, the epoch's time and time per step, the epoch's metrics, lr. */
void rt_progress_end(RtProgress *p, double seconds, const char *const *names,
                     const double *values, int n, double lr);

/* ===== rt_ckpt.c ===== */

/* One named tensor in a checkpoint. */
typedef struct {
  const char *name;
  float *data;
  size_t count;
} RtTensorRef;

typedef struct {
  char model[64];
  uint64_t identity; /* RtModel.identity of the program that wrote it (0: none) */
  char run_id[48];   /* the run that wrote it (RtRun.run_id; "": none) */
  int epoch;         /* epoch whose weights these are */
  long step;         /* optimizer steps taken (Adam's t) */
  double monitor;    /* value of the monitored metric */
} RtCheckpointMeta;

/* File layout (little-endian): magic "NNCKPT\0\0", u32 version (2), u32
 * tensor count, meta, then per tensor: u32 name length, name bytes, u64
 * count, float data; u64 state count, state words; finally u32 CRC-32 of
 * everything before it. Written to PATH.tmp, fsync'd, then renamed over
 * PATH, so a crash never leaves a torn file. */
void rt_checkpoint_save(const char *path, const RtTensorRef *tensors, int n_tensors,
                        const RtCheckpointMeta *meta);
/* The same with n_state words of resume state (last.ckpt, rt_resume.c). */
void rt_checkpoint_save_state(const char *path, const RtTensorRef *tensors, int n_tensors,
                              const RtCheckpointMeta *meta, const uint64_t *state,
                              size_t n_state);
/* Reads every tensor named in `tensors` (names and counts must match the
 * file). Dies with a message naming the file on a missing file, bad magic,
 * version, checksum or tensor mismatch. */
void rt_checkpoint_load(const char *path, RtTensorRef *tensors, int n_tensors,
                        RtCheckpointMeta *meta);
/* Removes PATH.tmp, the temporary file of a save that was killed before its
 * rename (call at start for every checkpoint path); returns 1 if one was
 * removed, 0 if there was none. PATH itself is never touched. */
int rt_checkpoint_clean_stale(const char *path);
/* Ignores SIGXFSZ, so a write past the file-size limit (ulimit -f) fails
 * with EFBIG, which the writers report naming the file, instead of killing
 * the program silently. rt_checkpoint_save and rt_csv_log_open call it. */
void rt_ignore_file_size_signal(void);
/* buf = strerror(err) and, for a full disk, the file-size limit or a used
 * quota, what that means in words; returns buf. */
const char *rt_write_error_text(int err, char *buf, size_t size);
/* Same checks; returns 0 on success, -1 with a message in err otherwise. */
int rt_checkpoint_try_load(const char *path, RtTensorRef *tensors, int n_tensors,
                           RtCheckpointMeta *meta, char *err, size_t err_size);
/* The same for some of the file's tensors (the file may hold more: the
 * optimizer's slots when exporting, other layers when transferring). */
int rt_checkpoint_try_load_some(const char *path, RtTensorRef *tensors, int n_tensors,
                                RtCheckpointMeta *meta, char *err, size_t err_size);
/* The file's tensor names and value counts (*n of each, malloc'd; names[i]
 * too), after the same structure and checksum checks; 0 or -1 with err. */
int rt_checkpoint_try_list(const char *path, char ***names, size_t **counts, int *n, char *err,
                           size_t err_size);
/* rt_checkpoint_try_load that also returns the state words: *state is
 * malloc'd (*n_state words, 0 in a file saved without state). */
int rt_checkpoint_try_load_state(const char *path, RtTensorRef *tensors, int n_tensors,
                                 RtCheckpointMeta *meta, uint64_t **state, size_t *n_state,
                                 char *err, size_t err_size);
/* Only the meta (model name, identity, run id, epoch, step, monitor): reads
 * the header and the meta, not the tensors (the checksum is checked by the
 * load that follows). Returns 0, or -1 with "PATH: why" in err (missing,
 * not a checkpoint, another format version, truncated). */
int rt_checkpoint_read_meta(const char *path, RtCheckpointMeta *meta, char *err,
                            size_t err_size);
/* Is meta (read from path) this program's? The model name, then the
 * identity, then (run_id not NULL) the run must match; returns 0, or -1
 * with "PATH: why it is refused" in err. */
int rt_checkpoint_check_owner(const char *path, const RtCheckpointMeta *meta, const char *model,
                              uint64_t identity, const char *run_id, char *err,
                              size_t err_size);

/* ===== rt_augment.c ===== */

/* Keras 3's random image augmentation layers (RandomFlip, RandomRotation,
 * RandomZoom, RandomTranslation, RandomContrast, RandomBrightness,
 * RandomCrop). Images are float NHWC: x (m, h, w, c). Each layer draws its
 * random parameters ONE IMAGE AFTER ANOTHER from `rng` (the crop: once per
 * batch, as Keras) before any parallel work, so the output depends only on
 * the generator's state, never on the number of threads.
 *
 * Training only: in evaluation and prediction the caller skips every layer
 * here (Keras's identity), except RandomCrop, whose evaluation path is
 * rt_random_crop_infer. None has a backward kernel: they act on data, so the
 * compiler places them where no gradient flows (on the input, or after other
 * augmentation / rescaling layers).
 *
 * uint8: there is no uint8 variant. Keras's layers output floats (bilinear
 * sampling, contrast and brightness make non-integers), so the first layer
 * of a chain reads floats made by rt_cast_u8_forward (or the rescaling that
 * reads the bytes): one streaming pass, small beside the sampling (see
 * bench/augment.c).
 *
 * Keras's factor conventions, kept: a factor f given as one number means
 * the range [lower, upper] = [-|f|, |f|], a pair (a, b) means [a, b]; each
 * layer below says what it draws from the range. */

/* RtFillMode, RtInterpolation, RtFlipMode: declared before rt_kernels.def, above. */

/* Keras's image transform without its projective terms: output pixel
 * (x, y) (x the column, y the row, pixel centres on integers) takes the
 * input at (a0 x + a1 y + a2, b0 x + b1 y + b2). */
typedef struct {
  double a0, a1, a2, b0, b1, b2;
} RtAffine;

/* The one sampler of rotation, zoom and translation: out (m, h, w, c) =
 * x (m, h, w, c) sampled at t[i]'s points for image i. out must not alias
 * x. Points on the grid (integer coordinates) are copied exactly. */
void rt_affine_sample(float *out, const float *x, const RtAffine *t, int m, int h, int w, int c,
                      RtInterpolation interp, RtFillMode fill, float fill_value);

/* The transforms of one batch (t: m of them), drawn per image from rng; the
 * *_forward kernels below draw them exactly so, then sample:
 *   rotation: angle a uniform in [lower, upper] * 2 pi (Keras: factor is a
 *     fraction of a full turn, positive counter-clockwise), about the image
 *     centre ((w - 1) / 2, (h - 1) / 2);
 *   zoom: scale sy = 1 + uniform(height_lower, height_upper), sx = 1 +
 *     uniform(width_lower, width_upper) about the centre (scale > 1 zooms
 *     out: the output shows more of the image); width_from_height != 0 is
 *     Keras's width_factor=None: sx = sy (one draw, aspect kept), the width
 *     bounds are ignored;
 *   translation: dy = uniform(height_lower, height_upper) * h, dx =
 *     uniform(width_lower, width_upper) * w pixels, not rounded (positive
 *     moves the image down / right). Height is drawn before width. */
void rt_random_rotation_transforms(RtAffine *t, int m, int h, int w, float lower, float upper,
                                   RtRng *rng);
void rt_random_zoom_transforms(RtAffine *t, int m, int h, int w, float height_lower,
                               float height_upper, float width_lower, float width_upper,
                               int width_from_height, RtRng *rng);
void rt_random_translation_transforms(RtAffine *t, int m, int h, int w, float height_lower,
                                      float height_upper, float width_lower, float width_upper,
                                      RtRng *rng);

/* random_flip(mode="horizontal_and_vertical"): out (m, h, w, c) = x flipped
 * with probability 1/2 per image. As Keras 3 does it, ONE draw per image
 * decides both axes in horizontal_and_vertical mode: each axis is flipped
 * with probability 1/2, but both or neither (Keras 2 drew each axis on its
 * own). out may equal x. */
void rt_random_flip_forward(float *out, const float *x, int m, int h, int w, int c,
                            RtFlipMode mode, RtRng *rng);

/* random_rotation(factor, fill_mode="reflect", interpolation="bilinear",
 * fill_value=0): factor f -> [lower, upper] = [-|f|, |f|] (Keras requires
 * both in [-1, 1]). out (m, h, w, c) must not alias x (m, h, w, c). */
void rt_random_rotation_forward(float *out, const float *x, int m, int h, int w, int c,
                                float lower, float upper, RtFillMode fill, RtInterpolation interp,
                                float fill_value, RtRng *rng);

/* random_zoom(height_factor, width_factor=None, fill_mode="reflect",
 * interpolation="bilinear", fill_value=0): the scale range is 1 + [lower,
 * upper] (positive factor: zoom out, negative: zoom in; Keras requires each
 * bound in (-1, 1]). out must not alias x. */
void rt_random_zoom_forward(float *out, const float *x, int m, int h, int w, int c,
                            float height_lower, float height_upper, float width_lower,
                            float width_upper, int width_from_height, RtFillMode fill,
                            RtInterpolation interp, float fill_value, RtRng *rng);

/* random_translation(height_factor, width_factor, fill_mode="reflect",
 * interpolation="bilinear", fill_value=0): shifts by a fraction of the image
 * size (each bound in [-1, 1]). out must not alias x. */
void rt_random_translation_forward(float *out, const float *x, int m, int h, int w, int c,
                                   float height_lower, float height_upper, float width_lower,
                                   float width_upper, RtFillMode fill, RtInterpolation interp,
                                   float fill_value, RtRng *rng);

/* random_contrast(factor, value_range=(0, 255)): per image a contrast
 * factor k uniform in [1 - lower, 1 + upper]; per image and channel, with
 * mu the channel's mean over the image, out = (x - mu) k + mu (computed as
 * k x + (1 - k) mu, so k = 1 is exact), clipped to [value_lo, value_hi].
 * Keras documents factor f as lower = upper = f, i.e. [1 - f, 1 + f]; its
 * code (3.x) takes lower = 0, i.e. [1, 1 + f]: the caller picks the bounds.
 * out may equal x. */
void rt_random_contrast_forward(float *out, const float *x, int m, int h, int w, int c,
                                float lower, float upper, float value_lo, float value_hi,
                                RtRng *rng);

/* random_brightness(factor, value_range=(0, 255)): per image a delta
 * uniform in [lower, upper] * (value_hi - value_lo) added to every value,
 * then clipped to [value_lo, value_hi] (factor f: [-|f|, |f|]; bounds in
 * [-1, 1]). out may equal x. */
void rt_random_brightness_forward(float *out, const float *x, int m, int h, int w, int c,
                                  float lower, float upper, float value_lo, float value_hi,
                                  RtRng *rng);

/* random_crop(height, width), training: out (m, crop_h, crop_w, c) is the
 * window of x (m, h, w, c) at row r, column q, drawn once per batch (Keras
 * crops a whole batch at one place), r uniform in [0, h - crop_h], q in
 * [0, w - crop_w]. An image smaller than the crop on either axis takes the
 * evaluation path below (Keras's fallback). (Keras draws only when the
 * image is strictly larger on both axes and centres otherwise; here an axis
 * with room is drawn even when the other has none.) */
void rt_random_crop_forward(float *out, const float *x, int m, int h, int w, int c, int crop_h,
                            int crop_w, RtRng *rng);
/* random_crop, evaluation and prediction (and the fallback above): the
 * largest centred window with the crop's aspect ratio, window_h =
 * min(h, floor(w crop_h / crop_w)), window_w = min(w, floor(h crop_w /
 * crop_h)), at row floor((h - window_h) / 2), column floor((w - window_w) /
 * 2), resized to (crop_h, crop_w) bilinearly (half-pixel centres, edges
 * clamped to the window, no antialiasing: keras.ops.image.resize). An image
 * of the crop's size is copied unchanged. out (m, crop_h, crop_w, c). */
void rt_random_crop_infer(float *out, const float *x, int m, int h, int w, int c, int crop_h,
                          int crop_w);

/* ===== the training program: rt_prepare.c, rt_fit.c, rt_report.c,
 *       rt_gradcheck.c, rt_main.c =====
 *
 * A generated program holds what is specific to its model: the tensor
 * layout, one forward and one backward function per layer, the optimizer
 * step, init_params, and two constant tables the runtime reads: RtModel
 * (what the model is and where its tensors live) and RtFitConfig (the .nn
 * file's data, train and evaluate sections). Its main is
 *     return rt_main(&MODEL, &CONFIG, argc, argv);
 */

/* Normalization.adapt of one layer: mean and variance (features) from the
 * training split; count (when not NULL) = examples * values_per_statistic. */
typedef struct {
  const char *layer;
  float *mean, *variance;
  int features; /* 1: one statistic over every value (axis=None) */
  float *count;
  size_t values_per_statistic;
} RtAdapt;

typedef struct RtModel {
  const char *name;
  uint64_t identity;    /* the compiled model's hash (nnc's identity.c): checkpoints carry it */
  int batch;            /* rows every buffer holds */
  int n_classes;        /* classes of the data's labels */
  int n_outputs;        /* labels binary: targets per example; 0 for a classifier */
  size_t input_size;    /* values of one example */
  int input_f32;        /* the input is f32[...] (float features), else u8 */
  int input_rows, input_cols, input_channels; /* what IDX images must be; 0: size only */
  const char *input_name, *input_shape; /* "x", "(28, 28)": for messages */
  const char *const *class_names;  /* (n_classes) */
  const char *const *target_names; /* (n_outputs), labels binary */
  const uint8_t *target_table;     /* (n_classes, n_outputs): target k of class c */
  /* the batch block the forward pass reads */
  void *batch_x;         /* (batch, input_size) uint8, or float with input_f32 */
  uint8_t *batch_labels; /* (batch) class labels; NULL with binary targets */
  float *batch_targets;  /* (batch, n_outputs) binary targets; NULL for a classifier */
  float *batch_weights;  /* (batch) sample weights; NULL when the loss takes none */
  const float *scores;   /* (batch, n_scores) probabilities after forward */
  /* the model's state */
  float *params, *grads; /* (n_params) each */
  size_t n_params;
  double *loss_sum;      /* the batch's (weighted) loss sum, set by forward */
  float *learning_rate;  /* read by optimizer_step; lowered by reduce_lr */
  RtRng *dropout_rng;
  RtRng *augment_rng;    /* the augmentation layers' draws; NULL when there are none */
  int sync_batch_norm;   /* batch_norm(synchronized=true): its kernels are collectives */
  /* the model's code */
  /* Sets the fields and tables above that name storage (the batch block,
   * scores, params, grads, checkpoint/trainable/adapt rows): called once by
   * rt_main after the options, before init_params. NULL: set statically. */
  void (*bind)(struct RtModel *model);
  void (*init_params)(RtRng *rng);
  void (*forward)(int m, int training);
  void (*backward)(int m);
  void (*optimizer_step)(long t); /* t counts steps from 1 */
  /* tables */
  RtTensorRef *checkpoint; /* parameters, statistics, optimizer state */
  int n_checkpoint;
  const RtTensorRef *trainable; /* the tensors gradcheck perturbs (inside params) */
  int n_trainable;
  const RtAdapt *adapt;
  int n_adapt;
  /* report.html: the first layer's kernel, a checkpoint tensor by name
   * (name NULL: none); dims dense {in, units}, conv {kh, kw, c, filters} */
  struct {
    const char *name;
    RtFirstLayerKind kind;
    int dims[4];
  } first_kernel;
} RtModel;

/* scores per example: the binary targets, or one per class */
static inline int rt_model_scores(const RtModel *model) {
  return model->n_outputs > 0 ? model->n_outputs : model->n_classes;
}

typedef enum { RT_VAL_NONE, RT_VAL_LAST, RT_VAL_SPLIT, RT_VAL_TEST, RT_VAL_FILES } RtValidationKind;

typedef struct {
  RtValidationKind kind;
  int last;            /* RT_VAL_LAST: the last N examples of the training file */
  double split;        /* RT_VAL_SPLIT: this fraction of the training file, */
  int seeded;          /* chosen at random with seed, else the last ones */
  uint64_t seed;
  const char *images, *labels; /* RT_VAL_FILES */
} RtValidationConfig;

typedef enum { RT_WEIGHTS_NONE, RT_WEIGHTS_BALANCED, RT_WEIGHTS_EXPLICIT } RtClassWeightKind;

typedef struct {
  int enabled;
  const char *monitor;
  RtMode mode;
  int save_best_only;
  const char *file; /* checkpoint("FILE"): relative to the output directory; NULL: best.ckpt */
  int silent;       /* verbose=0: no message per epoch */
} RtCheckpointConfig;

typedef struct {
  int enabled;
  const char *monitor;
  RtMode mode;
  double min_delta;
  int patience;
  int restore_best;
  int silent; /* verbose=0 */
} RtEarlyStoppingConfig;

typedef struct {
  int enabled;
  const char *monitor;
  RtMode mode;
  double min_delta, factor, min_lr;
  int patience, cooldown;
  int silent; /* verbose=0 */
} RtReduceLrConfig;

typedef struct {
  int enabled;
  const char *path; /* relative to the output directory unless absolute */
  char separator;
  int append;
} RtCsvLoggerConfig;

typedef enum {
  RT_EXPECT_ACCURACY,
  RT_EXPECT_LOSS,
  RT_EXPECT_TOP_K,
  RT_EXPECT_RECALL,
  RT_EXPECT_PRECISION,
  RT_EXPECT_F1,
  RT_EXPECT_AUC,   /* index -1: the macro average */
  RT_EXPECT_PARAMS /* parameters of a layer in the evaluated checkpoint */
} RtExpectKind;

typedef enum { RT_CMP_GT, RT_CMP_GE, RT_CMP_LT, RT_CMP_LE, RT_CMP_EQ, RT_CMP_NE } RtCompare;

/* One `expect` line of the evaluate section. */
typedef struct {
  const char *text; /* as written, for the report */
  RtExpectKind kind;
  int index;         /* class (or binary target) of recall/precision/f1/auc */
  const char *layer; /* RT_EXPECT_PARAMS */
  RtCompare op;
  double threshold;
} RtExpectation;

/* The data section's source: zero = IDX files in opt.data_dir. */
typedef enum { RT_SRC_IDX, RT_SRC_DIRECTORY, RT_SRC_CSV, RT_SRC_NPY, RT_SRC_CIFAR10 } RtSourceKind;

typedef struct {
  RtSourceKind kind;
  const char *path, *test_path;        /* directory, csv, cifar10 (test: folder or file) */
  const char *x, *y, *test_x, *test_y; /* npy */
  const char *label;                   /* csv: the label column */
  int height, width, channels;         /* directory: decode to; cifar10: 32x32x3 */
  int skip_bad;                        /* directory: leave bad images out, counted */
  int stream;                          /* directory: 1 stream=true, -1 stream=false, 0 auto */
  int classes_declared;                /* the .nn file names the classes: names must match */
} RtSourceConfig;
/* Data-parallel training (nnc build --mpi): the hooks rt_mpi_init
 * (runtime/rt_mpi.c, in libnncrt_mpi.a, linked only with --mpi) returns.
 * The runtime itself knows nothing of MPI: a run without them (dist NULL)
 * is the single-process one, and every hook below is a collective call that
 * every rank makes at the same point. */
typedef struct {
  int rank, size;
  void (*sum_floats)(float *x, size_t n);   /* in place: the sum over the ranks */
  void (*sum_doubles)(double *x, size_t n); /* in place */
  void (*broadcast)(void *x, size_t bytes); /* rank 0's bytes to every rank */
  void (*start_sum_floats)(float *x, size_t n); /* nonblocking sum_floats: started here, */
  void (*wait_sums)(void);                      /* done when this returns (all started) */
  void (*poll_sums)(void); /* lets the started sums progress (MPI moves them only in calls) */
  void (*finalize)(void); /* the normal end: every rank calls it once */
} RtDistributed;

/* MPI_Init and the hooks; any exit of a rank before finalize (rt_die, a
 * signal) ends every rank with a message naming it. */
const RtDistributed *rt_mpi_init(int *argc, char ***argv);

/* The .nn file's recipe. */
typedef struct {
  RtOptions defaults; /* of the command-line options (out_dir, data_dir, epochs, ...) */
  /* data */
  RtSourceConfig source;
  RtValidationConfig validation;
  const int *keep_classes, *keep_counts; /* keep train {...}: n_keep rules */
  int n_keep;
  uint64_t keep_seed;
  const uint8_t *only_classes; /* only [...]: (n_classes) 1 = kept in every split; NULL: all */
  int oversample;
  uint64_t oversample_seed;
  RtClassWeightKind class_weight;
  const float *class_weights; /* RT_WEIGHTS_EXPLICIT: (n_classes) */
  /* train */
  int shuffle;
  int metric_top_k, metric_auc; /* logged every epoch */
  int metric_precision, metric_recall; /* macro averages over the classes, every epoch */
  int top_k;                    /* the k of every top-k accuracy; 0: Keras's 5 */
  int terminate_on_nan;         /* stop at the first non-finite loss (default on) */
  RtCsvLoggerConfig csv_logger;
  RtCheckpointConfig checkpoint;
  RtEarlyStoppingConfig early_stopping;
  RtReduceLrConfig reduce_lr;
  const char *init_from;          /* initialize from "CKPT": NULL for none */
  const char *const *init_layers; /* layers [...]; NULL: every layer whose tensors match */
  int n_init_layers;
  /* evaluate */
  const RtExpectation *expect;
  int n_expect;
  /* what report.html shows that only the compiler knows (rt_run_report.c) */
  struct {
    const char *source_path, *source_text, *summary_text;
    const RtKeyValue *hyper;
    int n_hyper;
  } report;
  /* nnc build --mpi: rt_mpi_init; NULL: one process */
  const RtDistributed *(*distributed)(int *argc, char ***argv);
} RtFitConfig;

/* One run: the model, its recipe, the options in force, the class weights. */
typedef struct {
  const RtModel *model;
  const RtFitConfig *config;
  RtOptions opt;
  float *class_weight; /* (n_classes), the loss's weight of each class */
  char checkpoint_path[4096];
  char last_path[4096]; /* out_dir/last.ckpt: the state --resume continues from */
  char run_id[48];      /* drawn at start (rt_run_start), kept by --resume; "" in tests */
  const RtDistributed *dist; /* under mpirun (rt_dist.c); NULL: one process */
} RtRun;

/* opt = config->defaults, class weights 1; the checkpoint path from opt.out_dir. */
void rt_run_init(RtRun *run, const RtModel *model, const RtFitConfig *config);
void rt_run_set_out_dir(RtRun *run, const char *out_dir);
void rt_run_free(RtRun *run);

/* ---- rt_source_load.c ---- */

/* The training (test = 0) or test split of config->source (IDX files in
 * opt.data_dir, an image folder, CSV, .npy, CIFAR-10), its classes checked
 * against the model's and its values made the model input's type
 * (rt_dataset_to_input_type); prints how it was read unless quiet. Dies
 * naming the file. */
void rt_source_load(const RtRun *run, RtDataset *ds, int test);
/* ds's items as the model input's type, as Keras's fit casts its arrays to
 * the Input's dtype, but never losing a value: uint8 data for an f32 input
 * widened to float (0..255, no scaling); float data (CSV, .npy float32) for
 * a u8 input taken when every value is a whole number in 0..255, else dies
 * with "PATH: example I has the value V (float32 data), but model input X
 * (SHAPE) is u8, ..." and what to declare instead. path names the file in messages. */
void rt_dataset_to_input_type(const RtModel *model, RtDataset *ds, const char *path);
/* An image folder with a seeded validation split: Keras's split of the file
 * list into *train and *val; returns 1. Any other source: returns 0. */
int rt_source_load_split(const RtRun *run, RtDataset *train, RtDataset *val);

/* ---- rt_prepare.c ---- */

/* The training and validation splits as the data section asks (limit,
 * validation, keep, adapt, oversample), the class weights set; prints the
 * class counts unless quiet. Dies naming the file on a shape or label
 * that does not fit the model, and on an empty validation split. */
void rt_prepare_data(RtRun *run, RtDataset *train, RtDataset *val);
/* The first --limit-test examples of the test split. */
void rt_load_test(const RtRun *run, RtDataset *test);
/* Copies examples idx[0..m) of ds into the model's batch block (a
 * streamed ds: decodes them here, in the caller's thread). */
void rt_load_batch(const RtRun *run, const RtDataset *ds, const int *idx, int m);
/* A streamed ds (paths set) read ahead: a loader (rt_loader.c) of the
 * examples order[0..n) in batches of the model's batch, run->opt's
 * threads and depth. */
/* The loader's threads and depth (batches read ahead) for run: --loader-threads
 * and --loader-depth, else 2 and 4. */
void rt_stream_settings(const RtRun *run, int *threads, int *depth);
struct RtLoader; /* rt_loader.c */
struct RtLoader *rt_stream_start(const RtRun *run, const RtDataset *ds, const int *order, int n);
/* The loader's next batch (m rows), of which rows first..first+part go into
 * the model's batch block; returns m. */
int rt_stream_next(const RtRun *run, struct RtLoader *loader, int first, int part);

/* ---- rt_fit.c ---- */

typedef struct {
  double loss, accuracy, top_k_accuracy; /* top k (config->top_k); NAN for binary targets */
  double auc; /* macro ROC AUC, when the scores were kept */
  double precision, recall; /* macro averages of the argmax predictions, when a confusion
                               matrix was kept */
} RtEvalResult;

typedef struct {
  int epochs_run, best_epoch;
  long steps;
  int stopped_on_nan; /* terminate_on_nan stopped the run: nothing to evaluate */
} RtFitResult;

/* Loss (unweighted, as Keras) and accuracy over ds, dropout off; the
 * confusion matrix too when cm is not NULL, and every example's scores
 * (ds->count, n_scores) when scores is not NULL. */
RtEvalResult rt_evaluate(const RtRun *run, const RtDataset *ds, RtConfusion *cm, float *scores);
/* The epochs: shuffle, steps, metrics, validation, history.csv and the
 * csv_logger, checkpoint, reduce_lr, early stopping (restoring the best
 * weights). val is not read without a validation split. */
RtFitResult rt_fit(RtRun *run, const RtDataset *train, const RtDataset *val);

/* ---- rt_dist.c: the training loop's side of data parallelism ----
 * Every function is the single-process behaviour when run->dist is NULL. */

/* rank 0, or the only process: it alone logs and writes files */
static inline int rt_is_root(const RtRun *run) { return !run->dist || run->dist->rank == 0; }
/* After the options: the global batch must divide among the ranks (an
 * error naming both numbers); ranks other than 0 go quiet. */
void rt_dist_start(RtRun *run);
/* Start of an epoch: on ranks > 0, the dropout and augmentation streams
 * drawn from (seed, epoch, rank, N); rank 0 and one process keep theirs
 * (the single-process streams, which last.ckpt saves). */
void rt_dist_epoch_streams(const RtRun *run, int epoch);
/* This rank's rows of a global batch of m: returns their count, *first the
 * first row. Rows are split as evenly as possible (the first m % N ranks
 * take one more), so a full batch gives every rank batch / N. */
int rt_dist_part(const RtRun *run, int m, int *first);
/* This rank's examples [*lo, *hi) of count (evaluation). */
void rt_dist_range(const RtRun *run, int count, int *lo, int *hi);
/* forward(part, 1) on this rank's rows (none: loss 0), then the loss summed
 * over the ranks: every rank sees the global batch's loss. */
void rt_dist_forward(const RtRun *run, int part);
/* backward(part), then the gradients averaged over the ranks weighted by
 * part / m, so they are the gradient of the mean loss over the global
 * batch of m, as one process computes it. The gradient block goes in
 * buckets of --bucket-kb, each summed with a nonblocking allreduce started
 * as soon as backward has completed its tensors (rt_grads_ready), in the
 * bucket order on every rank; all are waited for before returning. */
void rt_dist_backward(const RtRun *run, int part, int m);
/* After training: rank 0 (unless quiet) prints the buckets, bytes per step
 * and the time each step waited for them after backward; the plan is freed. */
void rt_dist_finish(const RtRun *run);
/* x (n) summed over the ranks, in place. */
void rt_dist_sum(const RtRun *run, double *x, size_t n);
void rt_dist_sum_floats(const RtRun *run, float *x, size_t n);
/* batch_norm(synchronized=true)'s kernels: x (n) summed over the ranks of
 * the run (nothing in one process), and this rank's part / m of the step's
 * global batch (1 in one process) */
void rt_dist_sync_sum(double *x, size_t n);
double rt_dist_sync_weight(void);
/* counts (a confusion matrix) summed over the ranks, in place */
void rt_dist_sum_counts(const RtRun *run, long *x, size_t n);
/* rank 0's bytes to every rank */
void rt_dist_broadcast(const RtRun *run, void *x, size_t bytes);
/* End of an epoch: rank 0's parameters to every rank (the batch-norm
 * moving statistics differ: each rank's saw only its shards). */
void rt_dist_sync_params(const RtRun *run);

/* ---- rt_report.c ---- */

/* The model's parameters after training: loads the best checkpoint (or saves
 * the final weights without a checkpoint callback); fr->best_epoch follows. */
void rt_finish_training(RtRun *run, RtFitResult *fr);
/* --evaluate: loads the checkpoint (--ckpt, default OUT/best.ckpt; another
 * model's is refused) and runs rt_report with its epoch as the best epoch. */
int rt_evaluate_checkpoint(RtRun *run);
/* Evaluates the test split: report on stdout, metrics.json, expectations.
 * Returns the exit status (1 when an expectation failed). */
int rt_report(const RtRun *run, const RtFitResult *fr);
/* The expectations against the test results (stats and auc: one entry per
 * class, or per binary target); prints each, returns how many failed. */
int rt_check_expectations(const RtRun *run, const RtEvalResult *r, const RtClassStats *stats,
                          const double *auc);

/* ---- rt_run_report.c ---- */

/* The plots and report.html in the run directory (after metrics.json):
 * scores (test->count, n_scores) are the test split's. Warns on failure. */
void rt_write_run_report(const RtRun *run, const RtFitResult *fr, const RtDataset *test,
                         const float *scores);

/* ---- rt_gradcheck.c ---- */

/* --gradcheck: backward on the first (up to) 16 training examples against
 * central differences at 12 random entries of each trainable tensor.
 * Returns 0 when every entry agrees (and at least 10 were checked). */
int rt_gradcheck(const RtRun *run, const RtDataset *train);

/* ---- rt_transfer.c ---- */

/* initialize [L, ...] from "CKPT": copies the listed layers' tensors
 * (all of them: no list) from the checkpoint into the model, after
 * init_params and the data's adapt. A listed layer whose tensors the file
 * lacks or holds with other sizes dies with a message naming the file and
 * every such tensor; without a list, layers that do not match are skipped
 * (named on stdout) and none matching at all is an error. */
void rt_initialize_from(const RtRun *run);

/* ---- rt_predict.c ---- */

/* Is --predict among the words? */
int rt_predict_requested(int argc, char **argv);
/* --predict [--ckpt PATH] [--top K] [--csv FILE] INPUT...: loads the
 * checkpoint, classifies PNG/JPEG files, IDX files or `test`, prints the top
 * K classes per example, writes the CSV. Returns the exit status; errors
 * name the file and exit non-zero. */
int rt_predict_main(RtModel *model, const RtFitConfig *config, int argc, char **argv);
/* ---- rt_resume.c ---- */

/* Everything the rest of a run depends on besides the model's checkpoint
 * tensors, as rt_fit keeps it after an epoch and its callbacks. */
typedef struct {
  int epoch;           /* epochs completed */
  long steps;          /* optimizer steps taken (Adam's t) */
  int best_epoch;      /* RtFitResult.best_epoch so far */
  int stopped;         /* early stopping ended the run after `epoch` */
  uint64_t seed;       /* the run's --seed (a resume must use the same) */
  float learning_rate; /* as reduce_lr_on_plateau left it */
  RtRng shuffle_rng, dropout_rng;
  RtMonitor checkpoint, early; /* best, best_epoch, wait (name and mode are the recipe's) */
  RtPlateau plateau;           /* its monitor's best, best_epoch, wait; cooldown_left */
  long history_bytes, csv_log_bytes; /* history.csv's, the csv_logger's length after the row */
  int n_order;         /* training examples */
  int *order;          /* (n_order) the order the last shuffle left; owned by the caller */
  float *best_params;  /* (model n_params) restore_best_weights' copy, or NULL */
} RtResumeState;

/* A new run id: UTC time, process id and 32 random bits,
 * "20261201T030102Z-4242-5f3e9a1b". */
void rt_run_new_id(char *buf, size_t size);
/* Called once the output directory exists, before rt_fit: removes a stale
 * last.ckpt.tmp; without --resume draws a new run id and removes the
 * previous run's last.ckpt (this run starts over); with --resume takes the
 * run id of out_dir/last.ckpt after checking that it is this model's (dies
 * naming the file otherwise), or starts over with a note when there is no
 * last.ckpt. Writes out_dir/run.json (model, identity, run id). */
void rt_run_start(RtRun *run);
/* last.ckpt = the model's checkpoint tensors, state->best_params (when not
 * NULL) and the state, saved atomically. */
void rt_resume_save(const RtRun *run, const RtResumeState *state);
/* Loads last.ckpt into the model's tensors and *state (state->order and
 * state->best_params must point at buffers of n_order ints and n_params
 * floats, or NULL where the run keeps none). Dies naming the file when it is
 * another model's or run's, or when it does not fit this run (another
 * --seed, another number of training examples). */
void rt_resume_load(const RtRun *run, RtResumeState *state);
/* Under mpirun (rt_dist.c): rank 0's loaded state, order, best weights and
 * checkpoint tensors to every rank, so a run saved with any N resumes. */
void rt_dist_share_resume(const RtRun *run, RtResumeState *st);
/* A log the resumed run appends to: cut back to `bytes`, its length when
 * last.ckpt was saved (rows of epochs after it are written again). Dies
 * naming the file when it is shorter than that. */
void rt_resume_truncate_log(const char *path, long bytes);

/* ---- rt_main.c ---- */

/* The whole program: options, init, data, fit (or --gradcheck), test. */
int rt_main(RtModel *model, const RtFitConfig *config, int argc, char **argv);

/* ===== rt_image.c ===== */

/* Image files as model inputs. Formats are sniffed from the first bytes, not
 * the name: PNG (libpng: grey, grey+alpha, RGB, RGBA, palette, 1..16 bits,
 * interlaced) and baseline/progressive JPEG (libjpeg-turbo: grey or YCbCr).
 * Every error message starts with the file's path.
 *
 * Channels, as Keras's load_img(color_mode=...): want 3 ('rgb'): grey is
 * replicated, alpha dropped (not composited), palettes expanded; want 1
 * ('grayscale'): PIL's convert('L') on the RGB pixels, ITU-R 601-2 luma
 * L = R 299/1000 + G 587/1000 + B 114/1000 in PIL's fixed point,
 * (R 19595 + G 38470 + B 7471 + 32768) >> 16 (rounded to nearest).
 * 16-bit PNG samples keep their high byte (libpng's png_set_strip_16). */

/* An image as decoded: h x w pixels of `channels` 8-bit values (1 grey,
 * 2 grey + alpha, 3 RGB, 4 RGBA), row-major, px (h, w, channels). */
typedef struct {
  int h, w, channels;
  uint8_t *px;
} RtImage;

/* Decode a PNG or JPEG file at its own size and channels. Returns 0, or -1
 * with "PATH: reason" in err (unreadable, empty, truncated, corrupt, not a
 * PNG or JPEG, too large). Thread-safe (the loader's threads call it). */
int rt_image_decode(RtImage *img, const char *path, char *err, size_t err_size);
void rt_image_free(RtImage *img);
/* out (h, w, want_channels) = img converted as above; want_channels 1 or 3. */
void rt_image_convert(uint8_t *out, const RtImage *img, int want_channels);
/* Bilinear resize as tf.image.resize(method='bilinear', antialias=False),
 * which Keras's image_dataset_from_directory(image_size=...) applies: with
 * half-pixel centers, output coordinate o maps to s = (o + 0.5) in / out - 0.5
 * (float32, as TensorFlow), the neighbours are max(floor(s), 0) and
 * min(ceil(s), in - 1), the weight s - floor(s); the two neighbouring rows
 * are interpolated along x, then the two results along y. TensorFlow returns that float; here it is rounded
 * half up to uint8, (uint8_t)(v + 0.5f) (so within 0.5 of Keras's value;
 * equal sizes are an exact copy).
 * out (out_h, out_w, c) from in (h, w, c). */
void rt_image_resize_bilinear(uint8_t *out, int out_h, int out_w, const uint8_t *in, int h,
                              int w, int c);
/* Decode, convert to want_channels (1 or 3) and resize to (out_h, out_w):
 * out (out_h, out_w, want_channels). Returns 0, or -1 with "PATH: reason"
 * in err. Thread-safe. */
int rt_image_try_load(const char *path, int want_channels, int out_h, int out_w, uint8_t *out,
                      char *err, size_t err_size);
/* The same; dies with the message (rt_die) on failure. */
void rt_image_load(const char *path, int want_channels, int out_h, int out_w, uint8_t *out);

/* ===== rt_folder.c ===== */

/* Class names: names[i] is the class of label i. */
typedef struct {
  int count;
  char **names; /* (count), each malloc'd */
} RtClassNames;

void rt_class_names_free(RtClassNames *names);

/* A labelled list of files: what an image folder lists, what the loader reads. */
typedef struct {
  int count;
  char **paths;    /* (count), each malloc'd */
  uint8_t *labels; /* (count) */
} RtFileList;

void rt_file_list_free(RtFileList *files);

/* Keras's image_dataset_from_directory(labels='inferred') listing: every
 * subdirectory of dir is a class (at most 256), named after it, in sorted
 * byte order; each class's files are found recursively (Keras's os.walk:
 * ordered by directory path, then file name, both byte order) and kept when
 * their name ends (any case) in .bmp .gif .jpeg .jpg or .png (Keras's
 * list; only PNG and JPEG decode, the others fail as "not a PNG or JPEG").
 * The list is grouped by class, in that order. Dies naming the folder when
 * dir is missing or has no subdirectory, and naming the class folder when
 * one holds no image file. */
void rt_image_folder_list(RtFileList *files, RtClassNames *classes, const char *dir);
/* Dies naming both folders unless test has the same class names, in the
 * same order, as train (a separate test folder). */
void rt_class_names_check_same(const RtClassNames *test, const char *test_dir,
                               const RtClassNames *train, const char *train_dir);
/* Keras's validation_split with subset='both' and a seed: the whole list is
 * shuffled (rt_rng_shuffle, seeded with seed: reproducible, not numpy's
 * stream), then the last (int)(fraction * count) files are validation and
 * the rest training, both in the shuffled order. fraction in [0, 1). */
void rt_file_list_split(RtFileList *train, RtFileList *val, const RtFileList *all,
                        double fraction, uint64_t seed);
/* Decode every file to (h, w, channels) into out (rows h, cols w) in list
 * order. skip_bad = 0: the first bad image dies naming it; skip_bad = 1: bad
 * images are left out, each named in a "warning: skipped ..." line on
 * stderr, and their number is returned. */
int rt_dataset_from_files(RtDataset *out, const RtFileList *files, int h, int w, int channels,
                          int skip_bad);

/* A streamed dataset of the files (rows h, cols w): the list's paths and
 * labels move into out (files is left empty); nothing is decoded.
 * skip_bad = 1: every file is decoded once first (into one scratch image)
 * and the bad ones are left out as rt_dataset_from_files leaves them out,
 * so both give the same examples; returns their number. skip_bad = 0: a
 * bad image dies naming it when a batch reaches it. */
int rt_dataset_stream_files(RtDataset *out, RtFileList *files, int h, int w, int channels,
                            int skip_bad);

typedef struct {
  double validation_split; /* 0: no validation subset */
  uint64_t seed;           /* the split's shuffle */
  int skip_bad;            /* 1: leave bad images out (counted) instead of dying */
  int stream;          /* 0: decode; 1: stream (rt_dataset_stream_files); 2: stream when */
  double budget_bytes; /* the listed files decoded would take more than this many bytes */
} RtFolderOptions;

/* The whole image-folder source: list dir, split it (val may be NULL when
 * validation_split is 0; with a split, train and val are in the shuffled
 * order; without, train is grouped by class), decode every image to
 * (h, w, channels) — or, as opt->stream says, leave train and val streamed
 * (paths set; rt_dataset_stream_files). classes receives the class names.
 * Returns the number of bad images skipped. */
int rt_dataset_load_image_folder(RtDataset *train, RtDataset *val, RtClassNames *classes,
                                 const char *dir, int h, int w, int channels,
                                 const RtFolderOptions *opt);
/* A separate test folder: listed as above, its classes checked against the
 * training folder's (rt_class_names_check_same), every image decoded (in
 * listing order). Returns the number of bad images skipped (skip_bad). */
int rt_dataset_load_image_test_folder(RtDataset *test, const char *test_dir,
                                      const RtClassNames *train_classes, const char *train_dir,
                                      int h, int w, int channels, int skip_bad);

/* ===== rt_loader.c ===== */

/* A background loader for data that does not fit in memory: worker threads
 * (pthreads) decode and resize the image files of an epoch into a ring of
 * `depth` batch slots ahead of the training step. Memory is depth x batch x
 * item_size bytes (plus one image being decoded per thread) whatever the
 * number of files. Batches come out in order:
 * batch b holds files order[b*batch ... b*batch + batch - 1] (the last one
 * may be short), exactly the rows that rt_dataset_from_files followed by
 * gathering `order` would give, for any number of threads. A bad image dies
 * (in the caller's thread, at the batch that holds it) naming the file. */
typedef struct RtLoader RtLoader;

/* Start loading files->paths[order[i]] for i < n (order NULL: 0..count-1),
 * decoded to (h, w, channels), in batches of `batch`, with `depth` slots
 * (>= 1) and `threads` workers (>= 1). The loader keeps a copy of the
 * header *files, not the pointer: its paths and labels must outlive it. */
RtLoader *rt_loader_start(const RtFileList *files, const int *order, int n, int batch, int h,
                          int w, int channels, int depth, int threads);
/* The next batch: returns its row count m (0 after the last batch) and
 * points *x at (m, h*w*channels) bytes and *y at (m) labels. They stay valid
 * until the next call of rt_loader_next or rt_loader_stop. */
int rt_loader_next(RtLoader *loader, const uint8_t **x, const uint8_t **y);
/* Stop the workers (also in the middle of an epoch) and free everything. */
void rt_loader_stop(RtLoader *loader);

/* ===== rt_sources.c ===== */

/* A CSV table: a header row naming the columns, then one example per line
 * (fields separated by ',', optionally double-quoted with "" for a quote,
 * surrounding blanks ignored, CRLF and a UTF-8 byte-order mark accepted,
 * blank lines skipped). The column named label_column is the label; every
 * other column is a float32 feature (strtod; an empty field or a
 * non-number dies as "FILE:LINE: ..."). The classes are the distinct label values, sorted numerically when every
 * label is a number (then "1" and "1.0" are one class, named as first
 * written) and by bytes otherwise; at most 256. out gets xf (count, F),
 * x NULL, rows 1, cols F = number of features, channels 1. Every error
 * names the file, and the line where there is one. */
void rt_dataset_load_csv(RtDataset *out, RtClassNames *classes, const char *path,
                         const char *label_column);

/* A NumPy .npy array (format 1.0, 2.0 or 3.0; C order only). */
typedef enum { RT_NPY_U8, RT_NPY_F32, RT_NPY_I32, RT_NPY_I64 } RtNpyType;

typedef struct {
  RtNpyType type; /* '|u1' (or '<u1'), '<f4', '<i4', '<i8' */
  int ndim;
  long shape[8];
  size_t count; /* product of shape */
  void *data;   /* (count) values of type */
} RtNpy;

/* Load an .npy file. Dies naming the file: bad magic or version, a header
 * that does not parse, fortran_order True, another dtype (big-endian, f8,
 * ...), truncated data. */
void rt_npy_load(RtNpy *out, const char *path);
void rt_npy_free(RtNpy *arr);
/* Inputs from x_path (uint8 -> x, float32 -> xf; shape (N, H, W), (N, H, W, C)
 * or (N, F) = rows 1, cols F) and labels from y_path (shape (N); u1, or i4/i8
 * in [0, 255]: a label outside dies naming the file and the index). */
void rt_dataset_load_npy(RtDataset *out, const char *x_path, const char *y_path);

/* CIFAR-10's binary version: each record is 1 label byte then 3072 bytes of
 * 32x32 pixels, channel-planar (1024 R, 1024 G, 1024 B). Loads the files in
 * order (e.g. data_batch_1.bin .. data_batch_5.bin) into out as NHWC
 * 32x32x3 uint8. A file whose size is not a whole number of records, or a
 * label above 9, dies naming it. */
void rt_dataset_load_cifar10(RtDataset *out, const char *const *paths, int n_paths);
/* The train (data_batch_1..5.bin) or test (test_batch.bin) split of a
 * cifar-10-batches-bin directory. */
void rt_dataset_load_cifar10_dir(RtDataset *out, const char *dir, int test);
/* The ten class names, label order: airplane, automobile, bird, cat, deer,
 * dog, frog, horse, ship, truck. */
extern const char *const rt_cifar10_classes[10];
/* classes = a malloc'd copy of rt_cifar10_classes. */
void rt_cifar10_class_names(RtClassNames *classes);

#endif
