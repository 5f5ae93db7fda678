/*
 * rt_pooled_conv.c — a short convolution fused with its bias, relu and the
 * max pool that follows it, for a model's first convolution (fuse.c, rule 5).
 *
 * A first convolution on one or three channels has few values under each
 * window (k = kh * kw * c <= 16, fuse.c's limit), so its arithmetic is small and
 * its cost is memory: its output (the CNN's 27x27x32 per image, 6 MB a batch
 * of 64) was written by the GEMM, read by the epilogue and the pool, read
 * again and a gradient of the same size written by the pool's backward, then
 * read by the bias and weight gradients. Here forward computes each output
 * pixel's row in registers, applies bias and relu, and keeps only the pooled
 * maximum and which cell of the window won (one byte). The pool's windows
 * tile the output (stride = window, no padding), so each conv output has at
 * most one pooled value over it, and backward needs only the pooled gradient:
 * it reaches the conv output at the winner alone (through relu where the
 * pooled value is > 0), so the weight gradient is dout times the winner's
 * row of columns, summed, and the bias gradient the sum of dout.
 *
 * Same conventions as rt_conv.c (NHWC; cols is im2col's (m, oh, ow, k);
 * `pool` is the pooling window over the conv output: h = oh, w = ow, c = n).
 * Ties keep the first maximum in (ky, kx) order, as rt_maxpool_forward.
 */
#include "nnc_runtime.h"

#include "rt_threads.h"

#include <math.h>

enum { BLOCK = 64 }; /* channels held in registers at once */

static void check_act(const char *kernel, RtAct act) {
  if (act != RT_ACT_NONE && act != RT_ACT_RELU)
    rt_die("%s: only no activation or relu can be fused with the pool (got %d)", kernel,
           (int)act);
}

/* The row of columns under conv output pixel (y, x) of image i. */
static const float *cols_row(const float *cols, const RtWindow *pool, int i, int y, int x,
                             int k) {
  return cols + (((size_t)i * pool->h + (size_t)y) * pool->w + (size_t)x) * (size_t)k;
}

/* acc[0, nj) = bias + row . w[:, j0 + ...], then relu */
static inline void conv_row(float *restrict acc, const float *restrict row,
                            const float *restrict w, const float *bias, int k, int n, int j0,
                            int nj, int relu) {
  for (int j = 0; j < nj; j++)
    acc[j] = bias ? bias[j0 + j] : 0.0f;
  for (int kk = 0; kk < k; kk++) {
    const float a = row[kk];
    const float *wr = w + (size_t)kk * n + j0;
    for (int j = 0; j < nj; j++)
      acc[j] += a * wr[j];
  }
  if (relu)
    for (int j = 0; j < nj; j++)
      acc[j] = acc[j] > 0.0f ? acc[j] : 0.0f;
}

/* Images [i0, i1): every pooled pixel's channels, a block at a time. */
static void pooled_forward_images(float *out, uint8_t *argmax, const float *cols, const float *w,
                                  const float *bias, int i0, int i1, const RtWindow *pool, int k,
                                  int relu) {
  const int n = pool->c;
  float acc[BLOCK], best[BLOCK];
  uint8_t at[BLOCK];
  for (int i = i0; i < i1; i++)
    for (int py = 0; py < pool->oh; py++)
      for (int px = 0; px < pool->ow; px++) {
        size_t o = (((size_t)i * pool->oh + (size_t)py) * pool->ow + (size_t)px) * (size_t)n;
        for (int j0 = 0; j0 < n; j0 += BLOCK) {
          const int nj = n - j0 < BLOCK ? n - j0 : BLOCK;
          for (int j = 0; j < nj; j++)
            best[j] = -INFINITY, at[j] = 0;
          for (int ky = 0; ky < pool->kh; ky++)
            for (int kx = 0; kx < pool->kw; kx++) {
              const float *row = cols_row(cols, pool, i, py * pool->kh + ky, px * pool->kw + kx, k);
              conv_row(acc, row, w, bias, k, n, j0, nj, relu);
              const uint8_t cell = (uint8_t)(ky * pool->kw + kx);
              for (int j = 0; j < nj; j++) { /* strict >: the first maximum wins */
                int wins = acc[j] > best[j];
                best[j] = wins ? acc[j] : best[j];
                at[j] = wins ? cell : at[j];
              }
            }
          for (int j = 0; j < nj; j++)
            out[o + (size_t)j0 + (size_t)j] = best[j], argmax[o + (size_t)j0 + (size_t)j] = at[j];
        }
      }
}

void rt_pooled_matmul_forward(float *out /* (m, ph, pw, n) */, uint8_t *argmax /* (m, ph, pw, n) */,
                              const float *cols /* (m, oh, ow, k) */, const float *w /* (k, n) */,
                              const float *bias /* (n) or NULL */, int m, const RtWindow *pool,
                              int k, RtAct act) {
  check_act("rt_pooled_matmul_forward", act);
  const double work = (double)m * pool->h * pool->w * k * pool->c;
  RT_PARALLEL_SLICES(m, work, i0, i1,
                     pooled_forward_images(out, argmax, cols, w, bias, (int)i0, (int)i1, pool, k,
                                           act == RT_ACT_RELU));
}

/* dout at a pooled value, or 0 where relu stopped it (the pooled value is
 * the winner's relu output, so it is > 0 exactly where the relu passed) */
static inline float pooled_grad(float dout, float out, int relu) {
  return relu && !(out > 0.0f) ? 0.0f : dout;
}

/* Columns [j0, j1) of dw (and of db when dw is NULL): sums over every pooled value. */
static void pooled_backward_columns(float *dw, float *db, const float *cols, const float *dout,
                                    const float *out, const uint8_t *argmax, int m,
                                    const RtWindow *pool, int k, int relu, int j0, int j1) {
  const int n = pool->c;
  for (int j = j0; j < j1; j++) {
    if (db)
      db[j] = 0.0f;
    for (int kk = 0; dw && kk < k; kk++)
      dw[(size_t)kk * n + j] = 0.0f;
  }
  for (int i = 0; i < m; i++)
    for (int py = 0; py < pool->oh; py++)
      for (int px = 0; px < pool->ow; px++) {
        size_t o = (((size_t)i * pool->oh + (size_t)py) * pool->ow + (size_t)px) * (size_t)n;
        for (int j = j0; j < j1; j++) {
          const float g = pooled_grad(dout[o + (size_t)j], out[o + (size_t)j], relu);
          if (db) {
            db[j] += g;
            continue;
          }
          const int cell = argmax[o + (size_t)j];
          const float *row = cols_row(cols, pool, i, py * pool->kh + cell / pool->kw,
                                      px * pool->kw + cell % pool->kw, k);
          for (int kk = 0; kk < k; kk++)
            dw[(size_t)kk * n + j] += g * row[kk];
        }
      }
}

void rt_pooled_matmul_backward_w(float *dw /* (k, n) */, const float *cols /* (m, oh, ow, k) */,
                                 const float *dout /* (m, ph, pw, n) */,
                                 const float *out /* (m, ph, pw, n) */,
                                 const uint8_t *argmax /* (m, ph, pw, n) */, int m,
                                 const RtWindow *pool, int k, RtAct act) {
  check_act("rt_pooled_matmul_backward_w", act);
  const double work = (double)m * pool->oh * pool->ow * pool->c * k;
  RT_PARALLEL_SLICES(pool->c, work, j0, j1,
                     pooled_backward_columns(dw, NULL, cols, dout, out, argmax, m, pool, k,
                                             act == RT_ACT_RELU, (int)j0, (int)j1));
}

void rt_pooled_bias_backward(float *db /* (n) */, const float *dout /* (m, ph, pw, n) */,
                             const float *out /* (m, ph, pw, n) */, int m, const RtWindow *pool,
                             RtAct act) {
  check_act("rt_pooled_bias_backward", act);
  const double work = (double)m * pool->oh * pool->ow * pool->c;
  RT_PARALLEL_SLICES(pool->c, work, j0, j1,
                     pooled_backward_columns(NULL, db, NULL, dout, out, NULL, m, pool, 0,
                                             act == RT_ACT_RELU, (int)j0, (int)j1));
}
