/*
 * rt_ops.c — the numeric kernels of a training step, as forward/backward
 * pairs (llm.c style): initialization, input normalization, dense layers
 * (OpenBLAS sgemm plus a fused bias+activation epilogue), activations,
 * dropout, softmax, the cross-entropy losses and accuracy counting.
 *
 * Conventions (see nnc_runtime.h): arguments are outputs, inputs, weights,
 * sizes; matrices are row-major; m is the rows present in this batch.
 * Backward kernels OVERWRITE their outputs (they never accumulate; the
 * compiler emits rt_accumulate where a value fans out).
 *
 * Elementwise kernels are plain loops that gcc vectorizes at -O3
 * -march=native; where a kernel depends on the activation, the switch sits
 * outside the loop so that each loop body is branch-free.
 *
 * Activation derivatives are written in terms of the forward OUTPUT
 * (relu' = out > 0, sigmoid' = out (1 - out), tanh' = 1 - out^2, leaky
 * relu' = out > 0 ? 1 : alpha (alpha > 0, so out and x share a sign), elu' =
 * out > 0 ? 1 : out + alpha (alpha e^x = out + alpha), relu6' = 0 < out < 6),
 * so the pre-activation never has to be kept. `alpha` is read only by leaky
 * relu and elu.
 */
#define _GNU_SOURCE /* setenv, execv, strcasecmp */
#include "nnc_runtime.h"

#include "rt_threads.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Keras's backend.epsilon(): probabilities are clipped to [eps, 1 - eps]. */
#define RT_PROB_EPS 1e-7f
/* Keras Normalization: the standard deviation is floored at 1e-7. */
#define RT_NORM_STD_FLOOR 1e-7f

static inline float relu(float v) {
  return v < 0.0f ? 0.0f : v; /* NaN propagates, as in Keras */
}

static inline float sigmoid(float v) {
  return 1.0f / (1.0f + expf(-v)); /* expf overflow gives 1/inf = 0: no NaN */
}

static inline float leaky_relu(float v, float alpha) {
  return v > 0.0f ? v : alpha * v;
}

/* expm1f keeps the small negative outputs accurate (e^x - 1 cancels near 0). */
static inline float elu(float v, float alpha) {
  return v > 0.0f ? v : alpha * expm1f(v);
}

static inline float relu6(float v) {
  return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v); /* NaN propagates */
}

static void die_bad_act(const char *kernel, RtAct act) {
  rt_die("%s: unknown activation kind %d (a compiler bug)", kernel, (int)act);
}

static void check_label(int label, int c, int row, const char *kernel) {
  if (label >= c)
    rt_die("%s: label %d in row %d is out of range for %d classes", kernel, label, row, c);
}

/* ----- initialization ----- */

void rt_init_glorot_uniform(float *w /* (count) */, size_t count, int fan_in, int fan_out,
                            RtRng *rng) {
  if (fan_in + fan_out <= 0)
    rt_die("rt_init_glorot_uniform: fan_in + fan_out must be positive (got %d + %d)", fan_in,
           fan_out);
  float limit = sqrtf(6.0f / (float)(fan_in + fan_out));
  for (size_t i = 0; i < count; i++)
    w[i] = (2.0f * rt_rng_uniform(rng) - 1.0f) * limit;
}

void rt_fill(float *p /* (count) */, float value, size_t count) {
  for (size_t i = 0; i < count; i++)
    p[i] = value;
}

/* ----- input conversion ----- */

void rt_normalize_u8_forward(float *out /* (m, features) */,
                             const uint8_t *x /* (m, features) */,
                             const float *mean /* (1) or (features) */,
                             const float *var /* (1) or (features) */, int m, int features,
                             int per_feature) {
  if (!per_feature) {
    /* Divide (rather than multiply by a reciprocal) to match Keras bit for bit. */
    float mu = mean[0];
    float sd = fmaxf(sqrtf(var[0]), RT_NORM_STD_FLOOR);
    size_t count = (size_t)m * features;
    for (size_t i = 0; i < count; i++)
      out[i] = ((float)x[i] - mu) / sd;
    return;
  }
  for (int i = 0; i < m; i++) {
    const uint8_t *xi = x + (size_t)i * features;
    float *oi = out + (size_t)i * features;
    for (int j = 0; j < features; j++)
      oi[j] = ((float)xi[j] - mean[j]) / fmaxf(sqrtf(var[j]), RT_NORM_STD_FLOOR);
  }
}

void rt_cast_u8_forward(float *out /* (count) */, const uint8_t *x /* (count) */,
                        size_t count) {
  for (size_t i = 0; i < count; i++)
    out[i] = (float)x[i];
}

/* ----- dense: matmul ----- */

/* ----- threads -----
 * One pool: OpenMP's. OpenBLAS runs single-threaded inside each OpenMP
 * thread, and every GEMM is split into independent blocks of rows (or
 * columns), so no thread waits on another's partial sums. (OpenBLAS's own
 * threads, used before, cost more than they saved on the CNN's thin GEMMs
 * and yielded ~30% of the time.) Elementwise kernels split the batch the
 * same way. */

/* OpenBLAS picks its kernels once, when it loads, from the CPU's model
 * number. A model newer than the library (Debian 12's OpenBLAS 0.3.21 does
 * not know Intel's model 207, for one) gets the generic "Prescott" SSE3
 * kernels, ~3x slower than the AVX-512 ones the CPU runs fine. The choice
 * can only be changed before the library loads, through
 * OPENBLAS_CORETYPE, so the program restarts itself once with it set. */
static const char *better_blas_core(void) {
  const char *core = openblas_get_corename();
  if (getenv("OPENBLAS_CORETYPE") || !core)
    return NULL; /* the user chose, or this is not the OpenBLAS we know */
  static const char *const generic[] = {"prescott", "core2", "nehalem", "katmai", "northwood",
                                        "banias", "atom", "unknown"};
  int is_generic = 0;
  for (size_t i = 0; i < sizeof generic / sizeof generic[0]; i++)
    is_generic |= !strcasecmp(core, generic[i]);
  if (!is_generic)
    return NULL;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return "Haswell";
  return NULL;
}

void rt_init(char **argv) {
  const char *core = better_blas_core();
  if (!core)
    return;
  setenv("OPENBLAS_CORETYPE", core, 1);
  fflush(NULL);
  execv("/proc/self/exe", argv); /* returns only on failure: keep the generic kernels */
}

const char *rt_blas_core(void) { return openblas_get_corename(); }

static int pool_threads; /* 0 until rt_threads() or rt_set_threads() */

int rt_threads(void) {
  if (!pool_threads) {
    openblas_set_num_threads(1);
    pool_threads = omp_get_max_threads();
  }
  return pool_threads;
}

void rt_set_threads(int n) {
  rt_threads();
  pool_threads = n > 0 ? n : 1;
}

/* Threads worth using for about `work` multiply-adds (or element visits). */
int rt_threads_for(double work) {
  int t = rt_threads();
  return work < 65536.0 ? 1 : t;
}

static inline void part(int total, int parts, int t, int *lo, int *hi) {
  *lo = (int)((long)total * t / parts);
  *hi = (int)((long)total * (t + 1) / parts);
}

/* A weight gradient with a short k (a first convolution on one channel:
 * k = kh * kw = 4) is a (4, 32) result reduced over m = batch * pixels
 * rows. Through sgemm (x transposed) it took 80-100 ms per batch of the
 * Fashion-MNIST CNN; this loop, with dw kept in cache, takes ~0.6 ms. */
enum { SHORT_REDUCTION = 8 };

/* dw (k, n) = x^T . dout, accumulated row by row while dw stays in cache */
/* Columns [j0, j1) of dw: each thread owns some of the n columns. */
static void matmul_backward_w_short_k(float *restrict dw /* (k, n) */,
                                      const float *restrict x /* (m, k) */,
                                      const float *restrict dout /* (m, n) */, int m, int k,
                                      int n, int j0, int j1) {
  for (int kk = 0; kk < k; kk++)
    for (int j = j0; j < j1; j++)
      dw[(size_t)kk * n + j] = 0.0f;
  for (int i = 0; i < m; i++) {
    const float *xi = x + (size_t)i * k, *d = dout + (size_t)i * n;
    for (int kk = 0; kk < k; kk++) {
      const float a = xi[kk];
      float *restrict row = dw + (size_t)kk * n;
      for (int j = j0; j < j1; j++)
        row[j] += a * d[j];
    }
  }
}

void rt_matmul_forward(float *out /* (m, n) */, const float *x /* (m, k) */,
                       const float *w /* (k, n) */, int m, int k, int n) {
  if (m == 0 || n == 0)
    return;
  if (k == 0) {
    rt_fill(out, 0.0f, (size_t)m * n);
    return;
  }
  int threads = rt_threads_for((double)m * k * n);
#pragma omp parallel num_threads(threads)
  { /* rows [r0, r1) of out = the same rows of x . w */
    int r0, r1;
    part(m, omp_get_num_threads(), omp_get_thread_num(), &r0, &r1);
    if (r1 > r0)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, n, k, 1.0f,
                  x + (size_t)r0 * k, k, w, n, 0.0f, out + (size_t)r0 * n, n);
  }
}

void rt_matmul_backward_x(float *dx /* (m, k) */, const float *dout /* (m, n) */,
                          const float *w /* (k, n) */, int m, int k, int n) {
  if (m == 0 || k == 0)
    return;
  if (n == 0) {
    rt_fill(dx, 0.0f, (size_t)m * k);
    return;
  }
  int threads = rt_threads_for((double)m * k * n);
#pragma omp parallel num_threads(threads)
  { /* rows [r0, r1) of dx = the same rows of dout . w^T */
    int r0, r1;
    part(m, omp_get_num_threads(), omp_get_thread_num(), &r0, &r1);
    if (r1 > r0)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, k, n, 1.0f,
                  dout + (size_t)r0 * n, n, w, n, 0.0f, dx + (size_t)r0 * k, k);
  }
}

void rt_matmul_backward_w(float *dw /* (k, n) */, const float *x /* (m, k) */,
                          const float *dout /* (m, n) */, int m, int k, int n) {
  if (k == 0 || n == 0)
    return;
  if (m == 0) { /* an empty batch contributes nothing; dw is overwritten, not kept */
    rt_fill(dw, 0.0f, (size_t)k * n);
    return;
  }
  if (k <= SHORT_REDUCTION) {
    RT_PARALLEL_SLICES(n, (double)m * k * n, j0, j1,
                       matmul_backward_w_short_k(dw, x, dout, m, k, n, (int)j0, (int)j1));
    return;
  }
  int threads = rt_threads_for((double)m * k * n);
#pragma omp parallel num_threads(threads)
  { /* dw's rows [r0, r1) (or columns, the longer side): each a whole sum over m */
    int t = omp_get_thread_num(), parts = omp_get_num_threads(), a0, a1;
    if (k >= n) {
      part(k, parts, t, &a0, &a1);
      if (a1 > a0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, a1 - a0, n, m, 1.0f, x + a0, k,
                    dout, n, 0.0f, dw + (size_t)a0 * n, n);
    } else {
      part(n, parts, t, &a0, &a1);
      if (a1 > a0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, a1 - a0, m, 1.0f, x, k,
                    dout + a0, n, 0.0f, dw + a0, n);
    }
  }
}

/* ----- dense: bias and activation epilogue ----- */

/* Applies act to every element of row (n) after adding bias (n); one loop
 * per activation so that each body stays branch-free. */
#define RT_BIAS_ACT_ROWS(EXPR)                                                                   \
  for (int i = 0; i < m; i++) {                                                                  \
    float *row = out + (size_t)i * n;                                                            \
    for (int j = 0; j < n; j++) {                                                                \
      float v = row[j] + bias[j];                                                                \
      row[j] = (EXPR);                                                                           \
    }                                                                                            \
  }

static void bias_act_rows(float *out /* (m, n), in place */, const float *bias /* (n) */,
                         int m, int n, RtAct act, float alpha) {
  switch (act) {
  case RT_ACT_NONE:
    RT_BIAS_ACT_ROWS(v);
    return;
  case RT_ACT_RELU:
    RT_BIAS_ACT_ROWS(relu(v));
    return;
  case RT_ACT_SIGMOID:
    RT_BIAS_ACT_ROWS(sigmoid(v));
    return;
  case RT_ACT_TANH:
    RT_BIAS_ACT_ROWS(tanhf(v));
    return;
  case RT_ACT_LEAKY_RELU:
    RT_BIAS_ACT_ROWS(leaky_relu(v, alpha));
    return;
  case RT_ACT_ELU:
    RT_BIAS_ACT_ROWS(elu(v, alpha));
    return;
  case RT_ACT_RELU6:
    RT_BIAS_ACT_ROWS(relu6(v));
    return;
  }
  die_bad_act("rt_bias_act_forward", act);
}
#undef RT_BIAS_ACT_ROWS

/* Columns [j0, j1) of db, summed over every row. */
static void bias_backward_columns(float *db, const float *dout, int m, int n, int j0, int j1) {
  for (int j = j0; j < j1; j++)
    db[j] = 0.0f;
  for (int i = 0; i < m; i++) {
    const float *row = dout + (size_t)i * n;
    for (int j = j0; j < j1; j++)
      db[j] += row[j];
  }
}

void rt_bias_backward(float *db /* (n) */, const float *dout /* (m, n) */, int m, int n) {
  RT_PARALLEL_SLICES(n, (double)m * n, j0, j1,
                     bias_backward_columns(db, dout, m, n, (int)j0, (int)j1));
}

/* ----- activations ----- */

static void act_forward_span(float *out /* (count) */, const float *x /* (count) */, size_t count,
                    RtAct act, float alpha) {
  switch (act) {
  case RT_ACT_NONE:
    if (out != x)
      memmove(out, x, count * sizeof(float));
    return;
  case RT_ACT_RELU:
    for (size_t i = 0; i < count; i++)
      out[i] = relu(x[i]);
    return;
  case RT_ACT_SIGMOID:
    for (size_t i = 0; i < count; i++)
      out[i] = sigmoid(x[i]);
    return;
  case RT_ACT_TANH:
    for (size_t i = 0; i < count; i++)
      out[i] = tanhf(x[i]);
    return;
  case RT_ACT_LEAKY_RELU:
    for (size_t i = 0; i < count; i++)
      out[i] = leaky_relu(x[i], alpha);
    return;
  case RT_ACT_ELU:
    for (size_t i = 0; i < count; i++)
      out[i] = elu(x[i], alpha);
    return;
  case RT_ACT_RELU6:
    for (size_t i = 0; i < count; i++)
      out[i] = relu6(x[i]);
    return;
  }
  die_bad_act("rt_act_forward", act);
}

static void act_backward_span(float *dx /* (count) */, const float *dout /* (count) */,
                     const float *out /* (count): forward output */, size_t count, RtAct act,
                     float alpha) {
  switch (act) {
  case RT_ACT_NONE:
    if (dx != dout)
      memmove(dx, dout, count * sizeof(float));
    return;
  case RT_ACT_RELU:
    for (size_t i = 0; i < count; i++)
      dx[i] = out[i] > 0.0f ? dout[i] : 0.0f;
    return;
  case RT_ACT_SIGMOID:
    for (size_t i = 0; i < count; i++)
      dx[i] = dout[i] * out[i] * (1.0f - out[i]);
    return;
  case RT_ACT_TANH:
    for (size_t i = 0; i < count; i++)
      dx[i] = dout[i] * (1.0f - out[i] * out[i]);
    return;
  case RT_ACT_LEAKY_RELU:
    for (size_t i = 0; i < count; i++)
      dx[i] = dout[i] * (out[i] > 0.0f ? 1.0f : alpha);
    return;
  case RT_ACT_ELU:
    for (size_t i = 0; i < count; i++)
      dx[i] = dout[i] * (out[i] > 0.0f ? 1.0f : out[i] + alpha);
    return;
  case RT_ACT_RELU6:
    for (size_t i = 0; i < count; i++)
      dx[i] = out[i] > 0.0f && out[i] < 6.0f ? dout[i] : 0.0f;
    return;
  }
  die_bad_act("rt_act_backward", act);
}

/* ----- dropout ----- */

/* ----- the elementwise kernels above, split across the threads ----- */

void rt_bias_act_forward(float *out, const float *bias, int m, int n, RtAct act, float alpha) {
  RT_PARALLEL_SLICES(m, (double)m * n, r0, r1,
                     bias_act_rows(out + r0 * n, bias, (int)(r1 - r0), n, act, alpha));
}

void rt_act_forward(float *out, const float *x, size_t count, RtAct act, float alpha) {
  RT_PARALLEL_SLICES(count, count, i0, i1,
                     act_forward_span(out + i0, x + i0, (size_t)(i1 - i0), act, alpha));
}

void rt_act_backward(float *dx, const float *dout, const float *out, size_t count, RtAct act,
                     float alpha) {
  RT_PARALLEL_SLICES(count, count, i0, i1,
                     act_backward_span(dx + i0, dout + i0, out + i0, (size_t)(i1 - i0), act,
                                       alpha));
}

void rt_dropout_forward(float *out /* (count) */, float *mask /* (count) */,
                        const float *x /* (count) */, float rate, size_t count, RtRng *rng) {
  if (!(rate >= 0.0f && rate < 1.0f))
    rt_die("rt_dropout_forward: rate must be in [0, 1), got %g", (double)rate);
  const float keep_scale = 1.0f / (1.0f - rate);
  /* Fixed chunks, each with its own stream seeded from one 64-bit draw of
   * rng and the chunk's index: threads take whole chunks, so the mask is
   * the same whatever the number of threads. */
  const uint64_t base = (uint64_t)rt_rng_u32(rng) << 32 | rt_rng_u32(rng);
  const long chunks = (long)((count + RT_DROPOUT_CHUNK - 1) / RT_DROPOUT_CHUNK);
  RT_PARALLEL_SLICES(chunks, count, c0, c1, {
    for (long c = c0; c < c1; c++) {
      RtRng chunk_rng;
      rt_rng_seed(&chunk_rng, base + (uint64_t)c * 0x9E3779B97F4A7C15ull);
      size_t i0 = (size_t)c * RT_DROPOUT_CHUNK, i1 = i0 + RT_DROPOUT_CHUNK;
      i1 = i1 < count ? i1 : count;
      for (size_t i = i0; i < i1; i++)
        mask[i] = rt_rng_uniform(&chunk_rng) < rate ? 0.0f : keep_scale;
      for (size_t i = i0; i < i1; i++) /* a separate loop, vectorized */
        out[i] = x[i] * mask[i];
    }
  });
}

void rt_dropout_backward(float *dx /* (count) */, const float *dout /* (count) */,
                         const float *mask /* (count) */, size_t count) {
  for (size_t i = 0; i < count; i++)
    dx[i] = dout[i] * mask[i];
}

/* out is the activation's output BEFORE dropout. (For relu and leaky relu,
 * whose derivative depends only on the sign of out, the dropped output works
 * too, since mask > 0 wherever it matters; for the others it does not.) */
static void act_dropout_backward_span(float *dx /* (count) */, const float *dout /* (count) */,
                             const float *mask /* (count) */,
                             const float *out /* (count): activation output */, size_t count,
                             RtAct act, float alpha) {
  switch (act) {
  case RT_ACT_NONE:
    rt_dropout_backward(dx, dout, mask, count);
    return;
  case RT_ACT_RELU:
    for (size_t i = 0; i < count; i++)
      dx[i] = out[i] > 0.0f ? dout[i] * mask[i] : 0.0f;
    return;
  case RT_ACT_SIGMOID:
    for (size_t i = 0; i < count; i++)
      dx[i] = dout[i] * mask[i] * out[i] * (1.0f - out[i]);
    return;
  case RT_ACT_TANH:
    for (size_t i = 0; i < count; i++)
      dx[i] = dout[i] * mask[i] * (1.0f - out[i] * out[i]);
    return;
  case RT_ACT_LEAKY_RELU:
    for (size_t i = 0; i < count; i++)
      dx[i] = dout[i] * mask[i] * (out[i] > 0.0f ? 1.0f : alpha);
    return;
  case RT_ACT_ELU:
    for (size_t i = 0; i < count; i++)
      dx[i] = dout[i] * mask[i] * (out[i] > 0.0f ? 1.0f : out[i] + alpha);
    return;
  case RT_ACT_RELU6:
    for (size_t i = 0; i < count; i++)
      dx[i] = out[i] > 0.0f && out[i] < 6.0f ? dout[i] * mask[i] : 0.0f;
    return;
  }
  die_bad_act("rt_act_dropout_backward", act);
}

void rt_act_dropout_backward(float *dx, const float *dout, const float *mask, const float *out,
                             size_t count, RtAct act, float alpha) {
  RT_PARALLEL_SLICES(count, count, i0, i1,
                     act_dropout_backward_span(dx + i0, dout + i0, mask + i0, out + i0,
                                               (size_t)(i1 - i0), act, alpha));
}

/* ----- elementwise add and gradient accumulation ----- */

void rt_add_forward(float *out /* (count) */, const float *a /* (count) */,
                    const float *b /* (count) */, size_t count) {
  for (size_t i = 0; i < count; i++)
    out[i] = a[i] + b[i];
}

void rt_accumulate(float *out /* (count) */, const float *a /* (count) */, size_t count) {
  for (size_t i = 0; i < count; i++)
    out[i] += a[i];
}

/* ----- softmax ----- */

/* out (c) = softmax(x (c)); returns the sum of exp(x - max) and sets *max_out,
 * which the fused loss needs for its log-sum-exp. out may equal x. */
static float softmax_row(float *out, const float *x, int c, float *max_out) {
  float max = x[0];
  for (int j = 1; j < c; j++)
    max = x[j] > max ? x[j] : max;
  float sum = 0.0f;
  for (int j = 0; j < c; j++) {
    out[j] = expf(x[j] - max);
    sum += out[j];
  }
  float inv = 1.0f / sum;
  for (int j = 0; j < c; j++)
    out[j] *= inv;
  *max_out = max;
  return sum;
}

void rt_softmax_forward(float *out /* (m, c) */, const float *x /* (m, c) */, int m, int c) {
  float max;
  for (int i = 0; i < m; i++)
    softmax_row(out + (size_t)i * c, x + (size_t)i * c, c, &max);
}

void rt_softmax_backward(float *dx /* (m, c) */, const float *dout /* (m, c) */,
                         const float *out /* (m, c) */, int m, int c) {
  for (int i = 0; i < m; i++) {
    const float *gi = dout + (size_t)i * c;
    const float *yi = out + (size_t)i * c;
    float *di = dx + (size_t)i * c;
    float dot = 0.0f;
    for (int j = 0; j < c; j++)
      dot += gi[j] * yi[j];
    for (int j = 0; j < c; j++)
      di[j] = yi[j] * (gi[j] - dot);
  }
}

/* ----- losses ----- */

/* Categorical cross-entropy with label smoothing eps: the target of class j
 * is eps / c, plus 1 - eps for the label (eps = 0: the one-hot target). */
static inline float smoothed_target(int j, int label, float smoothing, int c) {
  return smoothing / (float)c + (j == label ? 1.0f - smoothing : 0.0f);
}

static inline float clip_prob(float p) {
  return fminf(fmaxf(p, RT_PROB_EPS), 1.0f - RT_PROB_EPS);
}

double rt_crossentropy_forward(const float *probs /* (m, c) */, const uint8_t *labels /* (m) */,
                               const float *sample_weight /* (m) or NULL */, float smoothing,
                               int m, int c) {
  double total = 0.0;
  for (int i = 0; i < m; i++) {
    check_label(labels[i], c, i, "rt_crossentropy_forward");
    const float *pi = probs + (size_t)i * c;
    double loss = 0.0;
    if (smoothing == 0.0f) /* only the label's term */
      loss = -log((double)clip_prob(pi[labels[i]]));
    else
      for (int j = 0; j < c; j++)
        loss -= smoothed_target(j, labels[i], smoothing, c) * log((double)clip_prob(pi[j]));
    double w = sample_weight ? sample_weight[i] : 1.0;
    total += w * loss;
  }
  return total;
}

void rt_crossentropy_backward(float *dprobs /* (m, c) */, const float *probs /* (m, c) */,
                              const uint8_t *labels /* (m) */,
                              const float *sample_weight /* (m) or NULL */, float smoothing,
                              float scale, int m, int c) {
  rt_fill(dprobs, 0.0f, (size_t)m * c);
  for (int i = 0; i < m; i++) {
    check_label(labels[i], c, i, "rt_crossentropy_backward");
    float w = sample_weight ? sample_weight[i] : 1.0f;
    for (int j = 0; j < c; j++) {
      float t = smoothed_target(j, labels[i], smoothing, c);
      float p = probs[(size_t)i * c + j];
      /* Like tf.clip_by_value, the clip passes no gradient where it is active. */
      if (t == 0.0f || !(p >= RT_PROB_EPS && p <= 1.0f - RT_PROB_EPS))
        continue;
      dprobs[(size_t)i * c + j] = -w * scale * t / p;
    }
  }
}

double rt_softmax_xent_forward(float *probs /* (m, c) */, const float *logits /* (m, c) */,
                               const uint8_t *labels /* (m) */,
                               const float *sample_weight /* (m) or NULL */, float smoothing,
                               int m, int c) {
  double total = 0.0;
  for (int i = 0; i < m; i++) {
    check_label(labels[i], c, i, "rt_softmax_xent_forward");
    const float *zi = logits + (size_t)i * c;
    float max;
    float sum = softmax_row(probs + (size_t)i * c, zi, c, &max);
    /* loss = logsumexp(z) - sum_j t_j z_j (the targets sum to 1)
     *      = log(sum exp(z - max)) + max - z_y           when eps = 0 */
    double target_dot_z = zi[labels[i]];
    if (smoothing != 0.0f) {
      double zsum = 0.0;
      for (int j = 0; j < c; j++)
        zsum += zi[j];
      target_dot_z = (1.0 - smoothing) * zi[labels[i]] + smoothing / c * zsum;
    }
    double loss = log((double)sum) + ((double)max - target_dot_z);
    double w = sample_weight ? sample_weight[i] : 1.0;
    total += w * loss;
  }
  return total;
}

void rt_softmax_xent_backward(float *dlogits /* (m, c) */, const float *probs /* (m, c) */,
                              const uint8_t *labels /* (m) */,
                              const float *sample_weight /* (m) or NULL */, float smoothing,
                              float scale, int m, int c) {
  float spread = smoothing / (float)c;
  for (int i = 0; i < m; i++) {
    check_label(labels[i], c, i, "rt_softmax_xent_backward");
    float g = scale * (sample_weight ? sample_weight[i] : 1.0f);
    const float *pi = probs + (size_t)i * c;
    float *di = dlogits + (size_t)i * c;
    for (int j = 0; j < c; j++)
      di[j] = g * (pi[j] - spread);
    di[labels[i]] -= g * (1.0f - smoothing);
  }
}

/* ----- binary cross-entropy (one sigmoid per target) ----- */

static inline float smoothed_binary(float t, float smoothing) {
  return t * (1.0f - smoothing) + 0.5f * smoothing;
}

double rt_binary_xent_forward(const float *probs /* (m, k) */, const float *targets /* (m, k) */,
                              float smoothing, int m, int k) {
  double total = 0.0;
  for (int i = 0; i < m; i++) {
    double row = 0.0;
    for (int j = 0; j < k; j++) {
      size_t at = (size_t)i * k + j;
      double t = smoothed_binary(targets[at], smoothing), p = clip_prob(probs[at]);
      row -= t * log(p) + (1.0 - t) * log(1.0 - p);
    }
    total += row / k;
  }
  return total;
}

void rt_binary_xent_backward(float *dprobs /* (m, k) */, const float *probs /* (m, k) */,
                             const float *targets /* (m, k) */, float smoothing, float scale,
                             int m, int k) {
  float g = scale / (float)k;
  for (size_t at = 0; at < (size_t)m * k; at++) {
    float t = smoothed_binary(targets[at], smoothing), p = probs[at];
    if (!(p >= RT_PROB_EPS && p <= 1.0f - RT_PROB_EPS)) { /* the clip passes no gradient */
      dprobs[at] = 0.0f;
      continue;
    }
    dprobs[at] = g * ((1.0f - t) / (1.0f - p) - t / p);
  }
}

double rt_sigmoid_xent_forward(float *probs /* (m, k) */, const float *logits /* (m, k) */,
                               const float *targets /* (m, k) */, float smoothing, int m, int k) {
  double total = 0.0;
  for (int i = 0; i < m; i++) {
    double row = 0.0;
    for (int j = 0; j < k; j++) {
      size_t at = (size_t)i * k + j;
      double z = logits[at], t = smoothed_binary(targets[at], smoothing);
      probs[at] = 1.0f / (1.0f + expf(-logits[at]));
      row += fmax(z, 0.0) - z * t + log1p(exp(-fabs(z)));
    }
    total += row / k;
  }
  return total;
}

void rt_sigmoid_xent_backward(float *dlogits /* (m, k) */, const float *probs /* (m, k) */,
                              const float *targets /* (m, k) */, float smoothing, float scale,
                              int m, int k) {
  float g = scale / (float)k;
  for (size_t at = 0; at < (size_t)m * k; at++)
    dlogits[at] = g * (probs[at] - smoothed_binary(targets[at], smoothing));
}

long rt_count_binary_correct(const float *probs /* (m, k) */, const float *targets /* (m, k) */,
                             int m, int k) {
  long correct = 0;
  for (size_t at = 0; at < (size_t)m * k; at++)
    correct += (probs[at] > 0.5f) == (targets[at] > 0.5f);
  return correct;
}

/* ----- accuracy ----- */

int rt_argmax(const float *row /* (c) */, int c) {
  int best = 0;
  for (int j = 1; j < c; j++)
    if (row[j] > row[best]) /* strict: the first maximum wins */
      best = j;
  return best;
}

int rt_count_correct(const float *scores /* (m, c) */, const uint8_t *labels /* (m) */, int m,
                     int c) {
  int correct = 0;
  for (int i = 0; i < m; i++)
    correct += rt_argmax(scores + (size_t)i * c, c) == labels[i];
  return correct;
}

double rt_weighted_correct(const float *scores /* (m, c) */, const uint8_t *labels /* (m) */,
                           const float *sample_weight /* (m) or NULL */, int m, int c) {
  double correct = 0;
  for (int i = 0; i < m; i++)
    if (rt_argmax(scores + (size_t)i * c, c) == labels[i])
      correct += sample_weight ? sample_weight[i] : 1.0;
  return correct;
}

int rt_count_top_k(const float *scores /* (m, c) */, const uint8_t *labels /* (m) */, int m,
                   int c, int k) {
  int hits = 0;
  for (int i = 0; i < m; i++) {
    const float *row = scores + (size_t)i * c;
    float mine = row[labels[i]];
    int above = 0;
    for (int j = 0; j < c; j++)
      above += row[j] > mine;
    hits += above < k;
  }
  return hits;
}
