/*
 * rt_gemm.c — dense layers' GEMMs: out = x . w and its two gradients, on
 * OpenBLAS's sgemm, split across the threads into independent row or
 * column blocks (a long weight-gradient reduction into partial sums, added
 * in thread order); a plain loop for weight
 * gradients and products with a short reduction (k <= 8), measured faster
 * on the CNNs' first convolution; and the GEMM fused with its bias +
 * activation epilogue, a block of rows at a time. Convolutions reach them through im2col (rt_conv.c).
 *
 * Conventions (see nnc_runtime.h): arguments are outputs, inputs, weights,
 * sizes; matrices are row-major; m is the rows present in this batch.
 * Backward kernels OVERWRITE their outputs.
 */
#include "nnc_runtime.h"

#include "rt_threads.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

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
                                      int n, int j0, int j1, float beta) {
  if (beta == 0.0f)
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

/* out[:, j0:j1) = x . w[:, j0:j1) for m rows (out and w row-major, n wide),
 * on the calling thread: a plain loop for a short k (sgemm's packing and
 * zeroing cost more than the arithmetic). */
static void matmul_block(float *restrict out, const float *restrict x, const float *restrict w,
                         int m, int k, int n, int j0, int j1) {
  if (k > SHORT_REDUCTION) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, j1 - j0, k, 1.0f, x, k, w + j0, n,
                0.0f, out + j0, n);
    return;
  }
  for (int i = 0; i < m; i++) {
    float *restrict o = out + (size_t)i * n;
    const float *xi = x + (size_t)i * k;
    for (int j = j0; j < j1; j++)
      o[j] = 0.0f;
    for (int kk = 0; kk < k; kk++) {
      const float a = xi[kk];
      const float *wr = w + (size_t)kk * n;
      for (int j = j0; j < j1; j++)
        o[j] += a * wr[j];
    }
  }
}

/* Few rows (a dense layer's batch) and many columns: each thread takes a
 * block of columns, so it packs only its part of w (a row block would pack
 * all of w for a few rows: Day 5's and the CNN's dense layers, m = 64). */
static int split_columns(int m, int n, int threads) {
  return threads > 1 && m < 256 && n >= 64 * threads;
}

/* Thread t's block of out: rows [*r0, *r1), columns [*j0, *j1). */
static void out_block(int m, int n, int parts, int t, int *r0, int *r1, int *j0, int *j1) {
  *r0 = 0, *r1 = m, *j0 = 0, *j1 = n;
  if (split_columns(m, n, parts))
    part(n, parts, t, j0, j1);
  else
    part(m, parts, t, r0, r1);
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
  { /* rows [r0, r1) and columns [j0, j1) of out */
    int r0, r1, j0, j1;
    out_block(m, n, omp_get_num_threads(), omp_get_thread_num(), &r0, &r1, &j0, &j1);
    if (r1 > r0 && j1 > j0)
      matmul_block(out + (size_t)r0 * n, x + (size_t)r0 * k, w, r1 - r0, k, n, j0, j1);
  }
}

/* Rows per block of the fused GEMM + epilogue: about 64 KB of output, so
 * the epilogue reads what the GEMM just wrote from L2, not from memory (a
 * first convolution's output is 6 MB a batch). */
static int epilogue_rows(int n) { return n >= 256 ? 64 : 16384 / n; }

void rt_matmul_bias_act_forward(float *out /* (m, n) */, const float *x /* (m, k) */,
                                const float *w /* (k, n) */, const float *bias /* (n) */, int m,
                                int k, int n, RtAct act, float alpha) {
  if (m == 0 || n == 0)
    return;
  const int block = epilogue_rows(n);
  int threads = rt_threads_for((double)m * (k + 1) * n);
#pragma omp parallel num_threads(threads)
  { /* out[r0:r1, j0:j1), a block of rows at a time: GEMM, then + bias and act */
    int r0, r1, j0, j1;
    out_block(m, n, omp_get_num_threads(), omp_get_thread_num(), &r0, &r1, &j0, &j1);
    for (int b0 = r0; j1 > j0 && b0 < r1; b0 += block) {
      int rows = r1 - b0 < block ? r1 - b0 : block;
      float *o = out + (size_t)b0 * n;
      if (k == 0)
        for (int i = 0; i < rows; i++)
          rt_fill(o + (size_t)i * n + j0, 0.0f, (size_t)(j1 - j0));
      else
        matmul_block(o, x + (size_t)b0 * k, w, rows, k, n, j0, j1);
      if (j0 == 0 && j1 == n)
        rt_bias_act_rows(o, bias, rows, n, act, alpha);
      else
        for (int i = 0; i < rows; i++)
          rt_bias_act_rows(o + (size_t)i * n + j0, bias + j0, 1, j1 - j0, act, alpha);
    }
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
  { /* dx[r0:r1, c0:c1) = dout[r0:r1) . w[c0:c1)^T */
    int r0, r1, c0, c1;
    out_block(m, k, omp_get_num_threads(), omp_get_thread_num(), &r0, &r1, &c0, &c1);
    if (r1 > r0 && c1 > c0)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, c1 - c0, n, 1.0f,
                  dout + (size_t)r0 * n, n, w + (size_t)c0 * n, n, 0.0f,
                  dx + (size_t)r0 * k + c0, k);
  }
}

/* A long reduction into a small dw (a convolution's weight gradient: m =
 * batch * pixels = 9,216 rows for the CNN's second one, dw 128 x 32): split
 * into blocks of whole rows of x, one partial dw each, added in thread
 * order. Split by dw's rows instead, each thread would pack all of dout. */
enum { PARTS_MIN_ROWS = 1024, PARTS_MAX_DW = 65536 };

static int reduce_in_parts(int m, int k, int n, int threads) {
  return threads > 1 && m >= PARTS_MIN_ROWS && (size_t)k * n <= PARTS_MAX_DW;
}

static void matmul_backward_w_parts(float *dw, const float *x, const float *dout, int m, int k,
                                    int n, float beta, int threads) {
  const size_t size = (size_t)k * n;
  float *partial = rt_malloc(size * (size_t)(threads - 1) * sizeof(float));
#pragma omp parallel num_threads(threads)
  {
    int t = omp_get_thread_num(), parts = omp_get_num_threads(), i0, i1;
    part(m, parts, t, &i0, &i1); /* thread 0 sums into dw itself, with beta */
    float *sum = t == 0 ? dw : partial + size * (size_t)(t - 1);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, n, i1 - i0, 1.0f,
                x + (size_t)i0 * k, k, dout + (size_t)i0 * n, n, t == 0 ? beta : 0.0f, sum, n);
#pragma omp barrier
    long e0, e1; /* then each thread adds the partials over a slice of dw */
    rt_slice((long)size, parts, t, &e0, &e1);
    for (int p = 1; p < parts; p++)
      for (long e = e0; e < e1; e++)
        dw[e] += partial[size * (size_t)(p - 1) + (size_t)e];
  }
  free(partial);
}

/* dw = x^T . dout + beta * dw, beta 0 (overwrite) or 1 (accumulate) */
static void matmul_backward_w_beta(float *dw /* (k, n) */, const float *x /* (m, k) */,
                                   const float *dout /* (m, n) */, int m, int k, int n,
                                   float beta) {
  if (k == 0 || n == 0)
    return;
  if (m == 0) { /* an empty batch contributes nothing; dw is overwritten, not kept */
    if (beta == 0.0f)
      rt_fill(dw, 0.0f, (size_t)k * n);
    return;
  }
  if (k <= SHORT_REDUCTION) {
    RT_PARALLEL_SLICES(n, (double)m * k * n, j0, j1,
                       matmul_backward_w_short_k(dw, x, dout, m, k, n, (int)j0, (int)j1, beta));
    return;
  }
  int threads = rt_threads_for((double)m * k * n);
  if (reduce_in_parts(m, k, n, threads)) {
    matmul_backward_w_parts(dw, x, dout, m, k, n, beta, threads);
    return;
  }
#pragma omp parallel num_threads(threads)
  { /* dw's rows [r0, r1) (or columns, the longer side): each a whole sum over m */
    int t = omp_get_thread_num(), parts = omp_get_num_threads(), a0, a1;
    if (k >= n) {
      part(k, parts, t, &a0, &a1);
      if (a1 > a0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, a1 - a0, n, m, 1.0f, x + a0, k,
                    dout, n, beta, dw + (size_t)a0 * n, n);
    } else {
      part(n, parts, t, &a0, &a1);
      if (a1 > a0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, a1 - a0, m, 1.0f, x, k,
                    dout + a0, n, beta, dw + a0, n);
    }
  }
}

void rt_matmul_backward_w(float *dw /* (k, n) */, const float *x /* (m, k) */,
                          const float *dout /* (m, n) */, int m, int k, int n) {
  matmul_backward_w_beta(dw, x, dout, m, k, n, 0.0f);
}

void rt_matmul_backward_w_add(float *dw /* (k, n) */, const float *x /* (m, k) */,
                              const float *dout /* (m, n) */, int m, int k, int n) {
  matmul_backward_w_beta(dw, x, dout, m, k, n, 1.0f);
}
