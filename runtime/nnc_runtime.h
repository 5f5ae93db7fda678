/*
 * nnc_runtime.h — the small runtime that nnc-generated training programs link.
 *
 * Sections are named after the file that defines them (chibicc style):
 *   rt_util.c    checked allocation and I/O, errors, clocks, directories
 *   rt_rng.c     seeded random numbers (splitmix64 seeding + xoshiro128+)
 *   rt_ops.c     forward/backward kernel pairs (OpenBLAS sgemm for matmul)
 *   rt_conv.c    im2col/col2im, pooling, batch normalization, rescale, concat
 *   rt_optim.c   optimizer updates
 *   rt_data.c    IDX loading (gzip through zlib), splits, class surgery, adapt
 *   rt_metrics.c confusion matrix, per-class precision/recall/F1, JSON
 *   rt_train.c   monitors (checkpoint / early stopping decisions), history CSV,
 *                command-line options of the generated program
 *   rt_ckpt.c    checkpoint write (atomic: temp file + fsync + rename) and read
 *   rt_image.c   PNG/JPEG decoding (libpng, libjpeg-turbo), Keras's channel
 *                conversion, tf.image.resize's bilinear interpolation
 *   rt_folder.c  image folders (one subfolder per class), Keras's validation split
 *   rt_loader.c  background loader: image files decoded into a ring of batches
 *   rt_sources.c CSV tables, NumPy .npy arrays, CIFAR-10 binary batches
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

/* ===== rt_ops.c ===== */

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

/* Glorot (Xavier) uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)). */
void rt_init_glorot_uniform(float *w, size_t count, int fan_in, int fan_out, RtRng *rng);
void rt_fill(float *p, float value, size_t count);

/* Normalization of raw uint8 input, fused with the uint8 -> float conversion.
 * out (m, features) = (x - mean) / max(sqrt(var), 1e-7)   [Keras]
 * mean, var: (1) when per_feature == 0, else (features). */
void rt_normalize_u8_forward(float *out, const uint8_t *x, const float *mean,
                             const float *var, int m, int features, int per_feature);
/* Plain uint8 -> float conversion (an input used without normalization). */
void rt_cast_u8_forward(float *out, const uint8_t *x, size_t count);

/* out (m, n) = x (m, k) . w (k, n) */
void rt_matmul_forward(float *out, const float *x, const float *w, int m, int k, int n);
/* dx (m, k) = dout (m, n) . w^T (n, k) */
void rt_matmul_backward_x(float *dx, const float *dout, const float *w, int m, int k, int n);
/* dw (k, n) = x^T (k, m) . dout (m, n) */
void rt_matmul_backward_w(float *dw, const float *x, const float *dout, int m, int k, int n);

/* The GEMM epilogue, fused: out (m, n) = act(out + bias (n)), in place. */
void rt_bias_act_forward(float *out, const float *bias, int m, int n, RtAct act, float alpha);
/* db (n) = sum over rows of dout (m, n) */
void rt_bias_backward(float *db, const float *dout, int m, int n);

/* Elementwise activation: out (count) = act(x (count)). out may equal x. */
void rt_act_forward(float *out, const float *x, size_t count, RtAct act, float alpha);
/* dx (count) = dout * act'(.), written in terms of the forward OUTPUT out.
 * dx may equal dout. */
void rt_act_backward(float *dx, const float *dout, const float *out, size_t count, RtAct act,
                     float alpha);

/* Inverted dropout (training): mask[i] = 0 with probability rate, else
 * 1 / (1 - rate); out = x * mask. out may equal x. The mask is drawn in
 * chunks of RT_DROPOUT_CHUNK values, each from its own stream seeded by one
 * draw of rng and the chunk's index, so it does not depend on the threads. */
#define RT_DROPOUT_CHUNK 4096
void rt_dropout_forward(float *out, float *mask, const float *x, float rate, size_t count,
                        RtRng *rng);
/* dx = dout * mask. dx may equal dout. */
void rt_dropout_backward(float *dx, const float *dout, const float *mask, size_t count);
/* Fused backward of act followed by dropout: dx = dout * mask * act'(out). */
void rt_act_dropout_backward(float *dx, const float *dout, const float *mask,
                             const float *out, size_t count, RtAct act, float alpha);

/* out = a + b (count); dx of both inputs is dout (the compiler aliases it). */
void rt_add_forward(float *out, const float *a, const float *b, size_t count);
/* out += a (count): accumulation of fan-out gradients. */
void rt_accumulate(float *out, const float *a, size_t count);

/* Row softmax: out (m, c) = softmax(x (m, c)) over c, max-subtracted. */
void rt_softmax_forward(float *out, const float *x, int m, int c);
/* dx (m, c) = out * (dout - sum_j dout_j * out_j) */
void rt_softmax_backward(float *dx, const float *dout, const float *out, int m, int c);

/* Categorical cross-entropy of probabilities (Keras from_logits=False) with
 * label smoothing eps (0: none): targets t_j = eps / c + (1 - eps)[j = y_i],
 * loss_i = -sum_j t_j log(clip(probs[i, j], 1e-7, 1 - 1e-7)); with eps = 0
 * this is the sparse loss, -log(clip(probs[i, y_i])).
 * Returns sum_i w_i * loss_i (w = NULL means 1). */
double rt_crossentropy_forward(const float *probs, const uint8_t *labels,
                               const float *sample_weight, float smoothing, int m, int c);
/* dprobs (m, c) = -w_i * scale * t_j / clip(p) (0 where clipped or t_j = 0). */
void rt_crossentropy_backward(float *dprobs, const float *probs, const uint8_t *labels,
                              const float *sample_weight, float smoothing, float scale, int m,
                              int c);

/* Softmax and cross-entropy fused (Keras from_logits=True): probs (m, c) =
 * softmax(logits (m, c)) computed stably, loss_i = logsumexp(z_i) - sum_j t_j z_ij
 * (= logsumexp(z_i) - z_{i,y_i} without smoothing).
 * Returns sum_i w_i * loss_i (w = NULL means 1). probs feeds metrics and backward. */
double rt_softmax_xent_forward(float *probs, const float *logits, const uint8_t *labels,
                               const float *sample_weight, float smoothing, int m, int c);
/* dlogits (m, c) = scale * w_i * (probs - t_i); scale = 1 / batch size. */
void rt_softmax_xent_backward(float *dlogits, const float *probs, const uint8_t *labels,
                              const float *sample_weight, float smoothing, float scale, int m,
                              int c);

/* Binary cross-entropy of probabilities (Keras from_logits=False), averaged
 * over the k targets of each row: targets t (m, k) in {0, 1}, smoothed to
 * t (1 - eps) + eps / 2; p = clip(probs, 1e-7, 1 - 1e-7);
 * loss_i = mean_j -(t log p + (1 - t) log(1 - p)). Returns sum_i loss_i. */
double rt_binary_xent_forward(const float *probs, const float *targets, float smoothing, int m,
                              int k);
/* dprobs (m, k) = scale / k * ((1 - t) / (1 - p) - t / p) (0 where clipped). */
void rt_binary_xent_backward(float *dprobs, const float *probs, const float *targets,
                             float smoothing, float scale, int m, int k);
/* Sigmoid and binary cross-entropy fused (Keras from_logits=True): probs =
 * sigmoid(logits) (m, k); loss_ij = max(z, 0) - z t + log(1 + exp(-|z|)),
 * stable for any z; returns sum_i mean_j loss_ij. */
double rt_sigmoid_xent_forward(float *probs, const float *logits, const float *targets,
                               float smoothing, int m, int k);
/* dlogits (m, k) = scale / k * (probs - t). */
void rt_sigmoid_xent_backward(float *dlogits, const float *probs, const float *targets,
                              float smoothing, float scale, int m, int k);
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

/* cols (m*oh*ow, kh*kw*c) = the window under every output pixel of x (m, h, w, c),
 * rows in (n, oy, ox) order, columns in (ky, kx, c) order (Keras's kernel
 * layout (kh, kw, c, filters)); zero where the window hangs over the padding.
 * A convolution is then cols . kernel (kh*kw*c, filters). */
void rt_im2col(float *cols, const float *x, int m, const RtWindow *win);
/* dx (m, h, w, c) = the sum over windows of dcols (m*oh*ow, kh*kw*c); overwrites dx. */
void rt_col2im(float *dx, const float *dcols, int m, const RtWindow *win);

/* out (m, oh, ow, c) = max over each window (padding never wins). */
void rt_maxpool_forward(float *out, const float *x, int m, const RtWindow *win);
/* dx (m, h, w, c): each window's dout goes to its (first) max; overwrites dx. */
void rt_maxpool_backward(float *dx, const float *dout, const float *x, int m,
                         const RtWindow *win);
/* Fused backward of relu followed by max-pool (x = the relu's output):
 * rt_maxpool_backward, then dx *= (x > 0), in one pass. */
void rt_maxpool_relu_backward(float *dx, const float *dout, const float *x, int m,
                              const RtWindow *win);
/* out (m, oh, ow, c) = mean over the window's cells inside the image (Keras
 * 'same' average pooling averages only the valid cells). */
void rt_avgpool_forward(float *out, const float *x, int m, const RtWindow *win);
void rt_avgpool_backward(float *dx, const float *dout, int m, const RtWindow *win);

/* out (m, c) = mean over the hw positions of x (m, hw, c). */
void rt_global_avgpool_forward(float *out, const float *x, int m, int hw, int c);
/* dx (m, hw, c) = dout (m, c) / hw, broadcast. */
void rt_global_avgpool_backward(float *dx, const float *dout, int m, int hw, int c);

/* ---- batch normalization over the last axis (rows = m * h * w) ---- */

/* Training: per channel, batch mean and biased variance over the rows;
 * invstd = 1 / sqrt(var + eps); xhat = (x - mean) invstd; out = gamma xhat + beta;
 * moving = moving * momentum + batch * (1 - momentum) (Keras).
 * xhat (rows, c) and stats (2, c) = {mean, invstd} are kept for backward. */
void rt_batchnorm_train_forward(float *out, float *xhat, float *stats, const float *x,
                                const float *gamma, const float *beta, float *moving_mean,
                                float *moving_var, int rows, int c, float momentum, float eps);
/* Evaluation: out = gamma (x - moving_mean) / sqrt(moving_var + eps) + beta. */
void rt_batchnorm_eval_forward(float *out, const float *x, const float *gamma, const float *beta,
                               const float *moving_mean, const float *moving_var, int rows, int c,
                               float eps);
/* dgamma (c) = sum over rows of dout * xhat (overwrites). dbeta is rt_bias_backward. */
void rt_batchnorm_backward_gamma(float *dgamma, const float *dout, const float *xhat, int rows,
                                 int c);
/* dx (rows, c) = gamma invstd / N (N dout - sum(dout) - xhat sum(dout xhat)), N = rows. */
void rt_batchnorm_backward_x(float *dx, const float *dout, const float *xhat, const float *gamma,
                             const float *stats, int rows, int c);

/* ---- rescaling and concatenation ---- */

/* out = x * scale + offset, from raw uint8 (fused with the conversion) or float. */
void rt_rescale_u8_forward(float *out, const uint8_t *x, float scale, float offset, size_t count);
void rt_rescale_forward(float *out, const float *x, float scale, float offset, size_t count);
/* dx = dout * scale */
void rt_rescale_backward(float *dx, const float *dout, float scale, size_t count);

/* out (rows, ca + cb) = [a (rows, ca), b (rows, cb)] along the last axis. */
void rt_concat_forward(float *out, const float *a, const float *b, int rows, int ca, int cb);
/* part (rows, width) = columns [offset, offset + width) of dout (rows, total). */
void rt_concat_backward(float *part, const float *dout, int rows, int total, int offset,
                        int width);

/* ===== rt_optim.c ===== */

/* Keras Adam, one step t (t >= 1) over count parameters:
 * m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2);
 * alpha = lr sqrt(1 - b2^t) / (1 - b1^t); p -= alpha m / (sqrt(v) + eps). */
void rt_adam_update(float *param, const float *grad, float *m, float *v, size_t count,
                    float lr, float beta1, float beta2, float eps, long t);

/* Keras RMSprop (rho 0.9, epsilon 1e-7, no momentum, not centered):
 * v = rho v + (1 - rho) g^2; p -= lr g / sqrt(v + eps) (epsilon inside the root,
 * as keras/src/optimizers/rmsprop.py computes it). */
void rt_rmsprop_update(float *param, const float *grad, float *v, size_t count, float lr,
                       float rho, float eps);

/* L2 kernel regularization (Keras's l2(lambda)): the penalty lambda sum(w^2)
 * and its gradient, added in place: grad += 2 lambda w. */
double rt_l2_penalty(const float *w, size_t count, float lambda);
void rt_l2_backward(float *grad, const float *w, size_t count, float lambda);

/* Keras's clipnorm: scale grad (count) so its L2 norm is at most max_norm
 * (each tensor on its own, as the optimizer argument does). */
void rt_clip_by_norm(float *grad, size_t count, float max_norm);

/* Keras ExponentialDecay: initial * rate^(step / decay_steps), the exponent
 * floored when staircase; step counts optimizer steps from 0. */
double rt_exponential_decay(double initial, long step, long decay_steps, double rate,
                            int staircase);

/* Keras PiecewiseConstantDecay: values[0] while step <= boundaries[0],
 * values[i] while boundaries[i-1] < step <= boundaries[i], values[n] after
 * the last boundary (n_boundaries + 1 values). */
double rt_piecewise_constant(long step, const long *boundaries, const double *values,
                             int n_boundaries);
/* Keras CosineDecay: with warmup_steps > 0 the rate first rises linearly
 * from initial to warmup_target; then over decay_steps it falls as
 * peak ((1 - alpha) 0.5 (1 + cos(pi s / decay_steps)) + alpha), s capped at
 * decay_steps, peak = warmup_target (initial without warmup). */
double rt_cosine_decay(double initial, long step, long decay_steps, double alpha,
                       double warmup_target, long warmup_steps);
/* Keras's global_clipnorm: scale every gradient by max_norm / global norm
 * when the norm of all of them together exceeds max_norm. */
void rt_clip_by_global_norm(float *const *grads, const size_t *counts, int n_tensors,
                            float max_norm);

/* Keras SGD: with momentum 0, p -= lr g; otherwise v = momentum v - lr g and
 * p += v (nesterov: p += momentum v - lr g). */
void rt_sgd_update(float *param, const float *grad, float *velocity, size_t count, float lr,
                   float momentum, int nesterov);
/* Keras AdamW: the decoupled weight decay p -= lr wd p, then the Adam step. */
void rt_adamw_update(float *param, const float *grad, float *m, float *v, size_t count, float lr,
                     float beta1, float beta2, float eps, float weight_decay, long t);

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
  float *xf;  /* (count, item_size) float32 items when x is NULL (rt_sources.c) */
} RtDataset;

/* Load one split ("train" or "t10k") of an IDX dataset directory, accepting
 * both NAME-images-idx3-ubyte.gz and the uncompressed name. Dies with a
 * message naming the file when it is missing, truncated or not IDX. */
void rt_dataset_load_idx(RtDataset *out, const char *dir, const char *split);
/* Load from explicit image and label file paths. */
void rt_dataset_load_idx_files(RtDataset *out, const char *images_path, const char *labels_path);
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

typedef struct {
  double validation_split; /* 0: no validation subset */
  uint64_t seed;           /* the split's shuffle */
  int skip_bad;            /* 1: leave bad images out (counted) instead of dying */
} RtFolderOptions;

/* The whole image-folder source: list dir, split it (val may be NULL when
 * validation_split is 0; with a split, train and val are in the shuffled
 * order; without, train is grouped by class), decode every image to
 * (h, w, channels). classes receives the class names. Returns the number of
 * bad images skipped. Everything is decoded into memory: for folders that
 * do not fit, list and split here and stream with rt_loader_*. */
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
 * (>= 1) and `threads` workers (>= 1). files must outlive the loader. */
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
