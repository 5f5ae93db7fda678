/*
 * rt_gemm.c — dense layers' GEMMs: out = x . w and its two gradients, on
 * OpenBLAS's sgemm, split across the threads into independent row (or
 * column) blocks so no partial sums are ever added; a plain loop for weight
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

/* Rows [0, m) of out = x . w, on the calling thread: a plain loop for a
 * short k (sgemm's packing and zeroing cost more than the arithmetic). */
static void matmul_rows(float *restrict out, const float *restrict x, const float *restrict w,
                        int m, int k, int n) {
  if (k > SHORT_REDUCTION) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, x, k, w, n, 0.0f, out,
                n);
    return;
  }
  for (int i = 0; i < m; i++) {
    float *restrict o = out + (size_t)i * n;
    const float *xi = x + (size_t)i * k;
    for (int j = 0; j < n; j++)
      o[j] = 0.0f;
    for (int kk = 0; kk < k; kk++) {
      const float a = xi[kk];
      const float *wr = w + (size_t)kk * n;
      for (int j = 0; j < n; j++)
        o[j] += a * wr[j];
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
      matmul_rows(out + (size_t)r0 * n, x + (size_t)r0 * k, w, r1 - r0, k, n);
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
  { /* rows [r0, r1) of out, a block at a time: GEMM, then + bias and act */
    int r0, r1;
    part(m, omp_get_num_threads(), omp_get_thread_num(), &r0, &r1);
    for (int b0 = r0; b0 < r1; b0 += block) {
      int rows = r1 - b0 < block ? r1 - b0 : block;
      float *o = out + (size_t)b0 * n;
      if (k == 0)
        rt_fill(o, 0.0f, (size_t)rows * n);
      else
        matmul_rows(o, x + (size_t)b0 * k, w, rows, k, n);
      rt_bias_act_rows(o, bias, rows, n, act, alpha);
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
  { /* rows [r0, r1) of dx = the same rows of dout . w^T */
    int r0, r1;
    part(m, omp_get_num_threads(), omp_get_thread_num(), &r0, &r1);
    if (r1 > r0)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, k, n, 1.0f,
                  dout + (size_t)r0 * n, n, w, n, 0.0f, dx + (size_t)r0 * k, k);
  }
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
