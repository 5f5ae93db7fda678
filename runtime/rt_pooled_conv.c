/*
 * rt_pooled_conv.c — a short convolution fused with its bias, relu and the
 * max pool that follows it, for a model's first convolution (fuse.c, rule 5).
 *
 * A first convolution on one or three channels has few values under each
 * window (k = kh * kw * c <= 16, fuse.c's limit), so its arithmetic is small and
 * its cost is memory: its output (the CNN's 27x27x32 per image, 6 MB a batch
 * of 64) was written by the GEMM, read by the epilogue and the pool, read
 * again and a gradient of the same size written by the pool's backward, then
 * read by the bias and weight gradients. Here forward gathers each output
 * pixel's k inputs straight from the image (no im2col columns: they were
 * 4 times the image, written and read again), computes its row in
 * registers, applies bias and relu, and keeps only the pooled maximum and
 * which cell of the window won (one byte). The pool's windows
 * tile the output (stride = window, no padding), so each conv output has at
 * most one pooled value over it, and backward needs only the pooled gradient:
 * it reaches the conv output at the winner alone (through relu where the
 * pooled value is > 0), so the weight gradient is dout times the winner's
 * inputs, summed, and the bias gradient the sum of dout.
 *
 * Same conventions as rt_conv.c (NHWC; `conv` is the convolution's window
 * over x, k = kh * kw * c its inputs per output pixel in im2col's order;
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
  if (pool->sh != pool->kh || pool->sw != pool->kw || pool->pad_top || pool->pad_left)
    rt_die("%s: the pool's windows must tile the conv output", kernel);
  if (act != RT_ACT_NONE && act != RT_ACT_RELU)
    rt_die("%s: only no activation or relu can be fused with the pool (got %d)", kernel,
           (int)act);
  if (k > RT_POOLED_K_MAX || pool->kh * pool->kw > RT_POOLED_CELLS_MAX)
    rt_die("%s: k = %d or a %dx%d window is over the limits (%d, %d cells)", kernel, k, pool->kh,
           pool->kw, RT_POOLED_K_MAX, RT_POOLED_CELLS_MAX);
}

/* The conv window's k taps, computed once: each one's (ky, kx, channel)
 * and its offset in x from the window's top-left input pixel; and when no
 * window reaches into padding (a 'valid' convolution) and the pool window
 * has at most DIRECT_CELLS cells, each cell's taps as offsets from the
 * first input of the pooled pixel, so reading a row is k loads. */
enum { DIRECT_CELLS = 16 };

typedef struct {
  int direct;
  uint8_t ky[RT_POOLED_K_MAX], kx[RT_POOLED_K_MAX], ch[RT_POOLED_K_MAX];
  int at[DIRECT_CELLS][RT_POOLED_K_MAX];
} Taps;

static void conv_taps(Taps *t, const RtWindow *conv, const RtWindow *pool) {
  int k = 0; /* im2col's order: (ky, kx, channel) */
  for (int ky = 0; ky < conv->kh; ky++)
    for (int kx = 0; kx < conv->kw; kx++)
      for (int ch = 0; ch < conv->c; ch++, k++)
        t->ky[k] = (uint8_t)ky, t->kx[k] = (uint8_t)kx, t->ch[k] = (uint8_t)ch;
  const int inside = conv->pad_top == 0 && conv->pad_left == 0 &&
                     (conv->oh - 1) * conv->sh + conv->kh <= conv->h &&
                     (conv->ow - 1) * conv->sw + conv->kw <= conv->w;
  t->direct = inside && pool->kh * pool->kw <= DIRECT_CELLS;
  for (int cell = 0; t->direct && cell < pool->kh * pool->kw; cell++) {
    const int y0 = cell / pool->kw * conv->sh, x0 = cell % pool->kw * conv->sw;
    for (int kk = 0; kk < k; kk++)
      t->at[cell][kk] = ((y0 + t->ky[kk]) * conv->w + x0 + t->kx[kk]) * conv->c + t->ch[kk];
  }
}

/* row[0, k) = the inputs under window cell `cell` of pooled pixel (py, px)
 * of image i, zero where the conv window hangs over the image ('same'). */
ALWAYS_INLINE void gather_row(float *restrict row, const float *restrict x, const RtWindow *conv,
                              const RtWindow *pool, const Taps *t, int i, int py, int px,
                              int cell, int k) {
  const float *img = x + (size_t)i * conv->h * conv->w * conv->c;
  if (t->direct) {
    const float *first = img + ((size_t)py * pool->kh * conv->sh * conv->w +
                                (size_t)px * pool->kw * conv->sw) * conv->c;
    for (int kk = 0; kk < k; kk++)
      row[kk] = first[t->at[cell][kk]];
    return;
  }
  const int y = py * pool->kh + cell / pool->kw, xo = px * pool->kw + cell % pool->kw;
  const int iy0 = y * conv->sh - conv->pad_top, ix0 = xo * conv->sw - conv->pad_left;
  for (int kk = 0; kk < k; kk++) {
    const int iy = iy0 + t->ky[kk], ix = ix0 + t->kx[kk];
    row[kk] = iy >= 0 && iy < conv->h && ix >= 0 && ix < conv->w
                  ? img[((size_t)iy * conv->w + (size_t)ix) * conv->c + t->ch[kk]]
                  : 0.0f;
  }
}

/* The offset of pooled pixel (py, px) of image i's channel j0. */
static size_t pooled_at(const RtWindow *pool, int i, int py, int px, int j0) {
  return (((size_t)i * pool->oh + (size_t)py) * pool->ow + (size_t)px) * (size_t)pool->c +
         (size_t)j0;
}

/* Images [i0, i1), channels [j0, j0 + nj): each pooled value is the maximum
 * over its window of relu(bias + row . w), kept with the cell it came from
 * (strict >: the first maximum wins, as rt_maxpool_forward). relu keeps NaN. */
ALWAYS_INLINE void forward_block(float *out, uint8_t *argmax, const float *x, const float *w,
                                 const float *bias, int i0, int i1, const RtWindow *conv,
                                 const RtWindow *pool, int relu, int j0, int nj, int k) {
  vf wv[RT_POOLED_K_MAX];
  for (int kk = 0; kk < k; kk++)
    wv[kk] = load_f(w + (size_t)kk * pool->c + (size_t)j0, nj);
  const vf b0 = bias ? load_f(bias + j0, nj) : (vf){0};
  const vi all = ~(vi){0};
  const int cells = pool->kh * pool->kw;
  Taps t;
  conv_taps(&t, conv, pool);
  for (int i = i0; i < i1; i++)
    for (int py = 0; py < pool->oh; py++)
      for (int px = 0; px < pool->ow; px++) {
        vf best = (vf){0} - INFINITY;
        vi at = {0};
        for (int cell = 0; cell < cells; cell++) {
          float row[RT_POOLED_K_MAX];
          gather_row(row, x, conv, pool, &t, i, py, px, cell, k);
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
static void pooled_forward_images(float *out, uint8_t *argmax, const float *x, const float *w,
                                  const float *bias, int i0, int i1, const RtWindow *conv,
                                  const RtWindow *pool, int k, int relu) {
  for (int j0 = 0; j0 < pool->c; j0 += VEC) {
    if (pool->c - j0 >= VEC)
      WITH_CONST_K(k, forward_block, out, argmax, x, w, bias, i0, i1, conv, pool, relu, j0, VEC);
    else
      forward_block(out, argmax, x, w, bias, i0, i1, conv, pool, relu, j0, pool->c - j0, k);
  }
}

static int taps(const RtWindow *conv) { return conv->kh * conv->kw * conv->c; }

void rt_pooled_matmul_forward(float *out /* (m, ph, pw, n) */, uint8_t *argmax /* (m, ph, pw, n) */,
                              const float *x /* (m, h, w, c) */, const float *w /* (k, n) */,
                              const float *bias /* (n) or NULL */, int m, const RtWindow *conv,
                              const RtWindow *pool, RtAct act) {
  const int k = taps(conv);
  check_args("rt_pooled_matmul_forward", act, pool, k);
  const double work = (double)m * pool->h * pool->w * k * pool->c;
  RT_PARALLEL_SLICES(m, work, i0, i1,
                     pooled_forward_images(out, argmax, x, w, bias, (int)i0, (int)i1, conv, pool,
                                           k, act == RT_ACT_RELU));
}

/* Channels [j0, j0 + nj) of dw (k, n) and db (when not NULL), summed over
 * every pooled value in one pass. The gradient reaches the conv output at
 * the winner alone, through relu where the pooled value is > 0 (it is the
 * winner's relu output); for each window cell, the inputs under it times
 * the gradient of the channels that cell won (zero for the others). */
ALWAYS_INLINE void backward_block(float *dw, float *db, const float *x, const float *dout,
                                  const float *out, const uint8_t *argmax, int m,
                                  const RtWindow *conv, const RtWindow *pool, int relu, int j0,
                                  int nj, int k) {
  vf dwv[RT_POOLED_K_MAX] = {{0}};
  vf dbv = {0};
  const int cells = pool->kh * pool->kw;
  Taps t;
  conv_taps(&t, conv, pool);
  for (int i = 0; i < m; i++)
    for (int py = 0; py < pool->oh; py++)
      for (int px = 0; px < pool->ow; px++) {
        const size_t o = pooled_at(pool, i, py, px, j0);
        vf g = load_f(dout + o, nj);
        if (relu)
          g = keep(g, load_f(out + o, nj) > 0.0f);
        dbv += g;
        vi won = {0}; /* an element loop: GCC widens it in one instruction */
        for (int j = 0; j < nj; j++)
          won[j] = argmax[o + (size_t)j];
        for (int cell = 0; cell < cells; cell++) {
          float row[RT_POOLED_K_MAX];
          gather_row(row, x, conv, pool, &t, i, py, px, cell, k);
          const vf gc = keep(g, won == cell);
          for (int kk = 0; kk < k; kk++)
            dwv[kk] += row[kk] * gc;
        }
      }
  for (int kk = 0; kk < k; kk++)
    store_f(dw + (size_t)kk * pool->c + (size_t)j0, dwv[kk], nj);
  if (db)
    store_f(db + j0, dbv, nj);
}

/* Channel blocks [b0, b1) of VEC channels (the last one may be narrower). */
static void pooled_backward_blocks(float *dw, float *db, const float *x, const float *dout,
                                   const float *out, const uint8_t *argmax, int m,
                                   const RtWindow *conv, const RtWindow *pool, int k, int relu,
                                   int b0, int b1) {
  for (int b = b0; b < b1; b++) {
    const int j0 = b * VEC;
    if (pool->c - j0 >= VEC)
      WITH_CONST_K(k, backward_block, dw, db, x, dout, out, argmax, m, conv, pool, relu, j0, VEC);
    else
      backward_block(dw, db, x, dout, out, argmax, m, conv, pool, relu, j0, pool->c - j0, k);
  }
}

void rt_pooled_matmul_backward_w(float *dw /* (k, n) */, float *db /* (n) or NULL */,
                                 const float *x /* (m, h, w, c) */,
                                 const float *dout /* (m, ph, pw, n) */,
                                 const float *out /* (m, ph, pw, n) */,
                                 const uint8_t *argmax /* (m, ph, pw, n) */, int m,
                                 const RtWindow *conv, const RtWindow *pool, RtAct act) {
  const int k = taps(conv);
  check_args("rt_pooled_matmul_backward_w", act, pool, k);
  const double work = (double)m * pool->h * pool->w * pool->c * k;
  RT_PARALLEL_SLICES((pool->c + VEC - 1) / VEC, work, b0, b1,
                     pooled_backward_blocks(dw, db, x, dout, out, argmax, m, conv, pool, k,
                                            act == RT_ACT_RELU, (int)b0, (int)b1));
}
