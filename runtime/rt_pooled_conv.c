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
#include <string.h>

/* Channels are handled VEC at a time, as one vector (GCC's vector extension:
 * one AVX-512 register, two AVX ones, four SSE ones), so the compiler keeps
 * a block's weights and accumulators in registers whatever the target. A
 * last, narrower block (n not a multiple of VEC) runs the same code on a
 * vector whose lanes past n are zero and never stored. */
enum { VEC = 16 };
typedef float vf __attribute__((vector_size(VEC * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(VEC * sizeof(int32_t))));
typedef uint8_t vb __attribute__((vector_size(VEC)));

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* nj (<= VEC) values from p; with nj = VEC after inlining, one load */
ALWAYS_INLINE vf load_f(const float *p, int nj) {
  vf v = {0};
  memcpy(&v, p, (size_t)nj * sizeof(float));
  return v;
}

ALWAYS_INLINE void store_f(float *p, vf v, int nj) { memcpy(p, &v, (size_t)nj * sizeof(float)); }

/* Calls f(..., k) with k a constant for the usual first convolutions (2x2
 * or 3x3 on one channel, 2x2 on three, 4x4 on one): the loops over k then
 * unroll, and a block's k weight vectors and weight-gradient accumulators
 * are registers (with k a variable they are an array on the stack, and the
 * gradient's accumulations wait on each other through memory: 3x slower). */
#define WITH_CONST_K(k, f, ...)                                                                  \
  do {                                                                                           \
    switch (k) {                                                                                 \
    case 4: f(__VA_ARGS__, 4); break;                                                            \
    case 9: f(__VA_ARGS__, 9); break;                                                            \
    case 12: f(__VA_ARGS__, 12); break;                                                          \
    case 16: f(__VA_ARGS__, 16); break;                                                          \
    default: f(__VA_ARGS__, k);                                                                  \
    }                                                                                            \
  } while (0)

/* a where mask, else 0 (mask lanes are all ones or zero) */
ALWAYS_INLINE vf keep(vf a, vi mask) { return (vf)((vi)a & mask); }

static void check_args(const char *kernel, RtAct act, const RtWindow *pool, int k) {
  if (act != RT_ACT_NONE && act != RT_ACT_RELU)
    rt_die("%s: only no activation or relu can be fused with the pool (got %d)", kernel,
           (int)act);
  if (k > RT_POOLED_K_MAX || pool->kh * pool->kw > RT_POOLED_CELLS_MAX)
    rt_die("%s: k = %d or a %dx%d window is over the limits (%d, %d cells)", kernel, k, pool->kh,
           pool->kw, RT_POOLED_K_MAX, RT_POOLED_CELLS_MAX);
}

/* The pool window's cells as offsets into cols from the row under its
 * top-left cell, computed once, so the loops over pixels do no division. */
typedef struct {
  int cells;
  size_t at[RT_POOLED_CELLS_MAX];
} CellOffsets;

static void cell_offsets(CellOffsets *c, const RtWindow *pool, int k) {
  c->cells = pool->kh * pool->kw;
  for (int cell = 0; cell < c->cells; cell++)
    c->at[cell] = ((size_t)(cell / pool->kw) * (size_t)pool->w + (size_t)(cell % pool->kw)) * (size_t)k;
}

/* The row of columns under the top-left cell of pooled pixel (py, px) of
 * image i (cols is (m, h, w, k) over the conv output's pixels). */
static const float *window_row(const float *cols, const RtWindow *pool, int i, int py, int px,
                               int k) {
  size_t y = (size_t)py * (size_t)pool->kh, x = (size_t)px * (size_t)pool->kw;
  return cols + (((size_t)i * pool->h + y) * pool->w + x) * (size_t)k;
}

/* The offset of pooled pixel (py, px) of image i's channel j0. */
static size_t pooled_at(const RtWindow *pool, int i, int py, int px, int j0) {
  return (((size_t)i * pool->oh + (size_t)py) * pool->ow + (size_t)px) * (size_t)pool->c +
         (size_t)j0;
}

/* Images [i0, i1), channels [j0, j0 + nj): each pooled value is the maximum
 * over its window of relu(bias + row . w), kept with the cell it came from
 * (strict >: the first maximum wins, as rt_maxpool_forward). relu keeps NaN. */
ALWAYS_INLINE void forward_block(float *out, uint8_t *argmax, const float *cols, const float *w,
                                 const float *bias, int i0, int i1, const RtWindow *pool,
                                 int relu, int j0, int nj, int k) {
  vf wv[RT_POOLED_K_MAX];
  for (int kk = 0; kk < k; kk++)
    wv[kk] = load_f(w + (size_t)kk * pool->c + (size_t)j0, nj);
  const vf b0 = bias ? load_f(bias + j0, nj) : (vf){0};
  const vi all = ~(vi){0};
  CellOffsets c;
  cell_offsets(&c, pool, k);
  for (int i = i0; i < i1; i++)
    for (int py = 0; py < pool->oh; py++)
      for (int px = 0; px < pool->ow; px++) {
        vf best = (vf){0} - INFINITY;
        vi at = {0};
        const float *top = window_row(cols, pool, i, py, px, k);
        for (int cell = 0; cell < c.cells; cell++) {
          const float *row = top + c.at[cell];
          vf acc = b0;
          for (int kk = 0; kk < k; kk++)
            acc += row[kk] * wv[kk];
          if (relu)
            acc = keep(acc, all ^ (acc < 0.0f));
          const vi wins = acc > best;
          best = (vf)(((vi)acc & wins) | ((vi)best & ~wins));
          at = (cell & wins) | (at & ~wins);
        }
        const size_t o = pooled_at(pool, i, py, px, j0);
        store_f(out + o, best, nj);
        const vb cells = __builtin_convertvector(at, vb);
        memcpy(argmax + o, &cells, (size_t)nj);
      }
}

/* Images [i0, i1), every channel block. */
static void pooled_forward_images(float *out, uint8_t *argmax, const float *cols, const float *w,
                                  const float *bias, int i0, int i1, const RtWindow *pool, int k,
                                  int relu) {
  for (int j0 = 0; j0 < pool->c; j0 += VEC) {
    if (pool->c - j0 >= VEC)
      WITH_CONST_K(k, forward_block, out, argmax, cols, w, bias, i0, i1, pool, relu, j0, VEC);
    else
      forward_block(out, argmax, cols, w, bias, i0, i1, pool, relu, j0, pool->c - j0, k);
  }
}

void rt_pooled_matmul_forward(float *out /* (m, ph, pw, n) */, uint8_t *argmax /* (m, ph, pw, n) */,
                              const float *cols /* (m, oh, ow, k) */, const float *w /* (k, n) */,
                              const float *bias /* (n) or NULL */, int m, const RtWindow *pool,
                              int k, RtAct act) {
  check_args("rt_pooled_matmul_forward", act, pool, k);
  const double work = (double)m * pool->h * pool->w * k * pool->c;
  RT_PARALLEL_SLICES(m, work, i0, i1,
                     pooled_forward_images(out, argmax, cols, w, bias, (int)i0, (int)i1, pool, k,
                                           act == RT_ACT_RELU));
}

/* Channels [j0, j0 + nj) of dw (k, n) (when not NULL) and db (when not NULL),
 * summed over every pooled value. The gradient reaches the conv output at
 * the winner alone, through relu where the pooled value is > 0 (it is the
 * winner's relu output); for each window cell, the row of columns under it
 * times the gradient of the channels that cell won (zero for the others). */
ALWAYS_INLINE void backward_block(float *dw, float *db, const float *cols, const float *dout,
                                  const float *out, const uint8_t *argmax, int m,
                                  const RtWindow *pool, int relu, int j0, int nj, int k) {
  vf dwv[RT_POOLED_K_MAX] = {{0}};
  vf dbv = {0};
  CellOffsets c;
  cell_offsets(&c, pool, k);
  for (int i = 0; i < m; i++)
    for (int py = 0; py < pool->oh; py++)
      for (int px = 0; px < pool->ow; px++) {
        const size_t o = pooled_at(pool, i, py, px, j0);
        vf g = load_f(dout + o, nj);
        if (relu)
          g = keep(g, load_f(out + o, nj) > 0.0f);
        dbv += g;
        if (!dw)
          continue;
        vi won = {0}; /* an element loop: GCC widens it in one instruction */
        for (int j = 0; j < nj; j++)
          won[j] = argmax[o + (size_t)j];
        const float *top = window_row(cols, pool, i, py, px, k);
        for (int cell = 0; cell < c.cells; cell++) {
          const float *row = top + c.at[cell];
          const vf gc = keep(g, won == cell);
          for (int kk = 0; kk < k; kk++)
            dwv[kk] += row[kk] * gc;
        }
      }
  for (int kk = 0; dw && kk < k; kk++)
    store_f(dw + (size_t)kk * pool->c + (size_t)j0, dwv[kk], nj);
  if (db)
    store_f(db + j0, dbv, nj);
}

/* Channel blocks [b0, b1) of VEC channels (the last one may be narrower). */
static void pooled_backward_blocks(float *dw, float *db, const float *cols, const float *dout,
                                   const float *out, const uint8_t *argmax, int m,
                                   const RtWindow *pool, int k, int relu, int b0, int b1) {
  for (int b = b0; b < b1; b++) {
    const int j0 = b * VEC;
    if (pool->c - j0 >= VEC)
      WITH_CONST_K(k, backward_block, dw, db, cols, dout, out, argmax, m, pool, relu, j0, VEC);
    else
      backward_block(dw, db, cols, dout, out, argmax, m, pool, relu, j0, pool->c - j0, k);
  }
}

void rt_pooled_matmul_backward_w(float *dw /* (k, n) */, const float *cols /* (m, oh, ow, k) */,
                                 const float *dout /* (m, ph, pw, n) */,
                                 const float *out /* (m, ph, pw, n) */,
                                 const uint8_t *argmax /* (m, ph, pw, n) */, int m,
                                 const RtWindow *pool, int k, RtAct act) {
  check_args("rt_pooled_matmul_backward_w", act, pool, k);
  const double work = (double)m * pool->h * pool->w * pool->c * k;
  RT_PARALLEL_SLICES((pool->c + VEC - 1) / VEC, work, b0, b1,
                     pooled_backward_blocks(dw, NULL, cols, dout, out, argmax, m, pool, k,
                                            act == RT_ACT_RELU, (int)b0, (int)b1));
}

void rt_pooled_bias_backward(float *db /* (n) */, const float *dout /* (m, ph, pw, n) */,
                             const float *out /* (m, ph, pw, n) */, int m, const RtWindow *pool,
                             RtAct act) {
  check_args("rt_pooled_bias_backward", act, pool, 0);
  const double work = (double)m * pool->oh * pool->ow * pool->c;
  RT_PARALLEL_SLICES((pool->c + VEC - 1) / VEC, work, b0, b1,
                     pooled_backward_blocks(NULL, db, NULL, dout, out, NULL, m, pool, 0,
                                            act == RT_ACT_RELU, (int)b0, (int)b1));
}
