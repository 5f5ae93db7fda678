/*
 * rt_conv.c — the kernels of convolutional models: im2col/col2im (a
 * convolution is then one sgemm, rt_matmul_*; a large one goes through
 * im2col + sgemm a few images at a time, rt_conv2d_*), max and average
 * pooling, global average pooling, batch normalization, rescaling and
 * concatenation.
 *
 * Layout is NHWC throughout (Keras's channels_last): a pixel's channels are
 * contiguous, so a window row of kw pixels is kw * c contiguous floats. Every
 * window kernel walks the output pixels and, once per pixel, clips the window
 * to the image (window_range); the loops inside then run over contiguous
 * channels without a per-element bounds test. Windows that lie wholly inside
 * the image (all of them for 'valid') take the shortest path.
 *
 * Backward kernels OVERWRITE their outputs (they clear, then scatter). No
 * window kernel's output may alias one of its inputs. Nothing here
 * allocates: per-channel scratch lives on the stack, in blocks of
 * RT_CHANNEL_BLOCK channels.
 *
 * The plain references these kernels are held to (direct loops that test
 * every window cell against the image bounds) live in tests/test_conv.c.
 *
 * Batch normalization accumulates its per-channel sums in double and takes
 * the variance in a second pass over (x - mean), so a large mean does not
 * swallow a small variance.
 */
#include "nnc_runtime.h"
#include "rt_threads.h"
#include "rt_window.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Channels handled together by the kernels that need per-channel scratch. */
#define RT_CHANNEL_BLOCK 64

static inline int min_int(int a, int b) {
  return a < b ? a : b;
}

/* dst (count) = src (count). The compiler's fixed-size copies for the short
 * spans of small windows over few channels (a 3x3 window over one channel
 * copies 3 floats at a time), where a call to memcpy would cost more than
 * the copy; memcpy for the rest. */
static inline void copy_floats(float *restrict dst, const float *restrict src, size_t count) {
  switch (count) {
  case 8: dst[7] = src[7]; /* fall through */
  case 7: dst[6] = src[6]; /* fall through */
  case 6: dst[5] = src[5]; /* fall through */
  case 5: dst[4] = src[4]; /* fall through */
  case 4: dst[3] = src[3]; /* fall through */
  case 3: dst[2] = src[2]; /* fall through */
  case 2: dst[1] = src[1]; /* fall through */
  case 1: dst[0] = src[0]; /* fall through */
  case 0: return;
  default: memcpy(dst, src, count * sizeof(float));
  }
}

/* dst (count) += src (count), with the same short-span cases. */
static inline void add_floats(float *restrict dst, const float *restrict src, size_t count) {
  switch (count) {
  case 8: dst[7] += src[7]; /* fall through */
  case 7: dst[6] += src[6]; /* fall through */
  case 6: dst[5] += src[5]; /* fall through */
  case 5: dst[4] += src[4]; /* fall through */
  case 4: dst[3] += src[3]; /* fall through */
  case 3: dst[2] += src[2]; /* fall through */
  case 2: dst[1] += src[1]; /* fall through */
  case 1: dst[0] += src[0]; /* fall through */
  case 0: return;
  default:
    for (size_t i = 0; i < count; i++)
      dst[i] += src[i];
  }
}

/* ----- im2col / col2im ----- */

/* Rows [r0, r1) of the batch's output rows (n, oy), each ow rows of cols:
 * parallel within an image too, for the convolutions run an image at a time. */
static void im2col_rows(float *cols /* (m*oh*ow, kh*kw*c) */, const float *x /* (m, h, w, c) */,
                        long r0, long r1, const RtWindow *win) {
  const int h = win->h, w = win->w, c = win->c, oh = win->oh, ow = win->ow;
  const int kh = win->kh, kw = win->kw;
  const size_t span = (size_t)kw * c;        /* one window row: kw pixels */
  const size_t row_len = (size_t)kh * span;  /* one row of cols */
  const size_t x_row = (size_t)w * c;        /* one image row */
  float *dst = cols + (size_t)r0 * ow * row_len;
  for (long r = r0; r < r1; r++) {
    const int oy = (int)(r % oh);
    const float *xn = x + (size_t)(r / oh) * h * x_row;
    int iy0 = oy * win->sh - win->pad_top, ky_lo, ky_hi;
    window_range(iy0, kh, h, &ky_lo, &ky_hi);
    for (int ox = 0; ox < ow; ox++, dst += row_len) {
      int ix0 = ox * win->sw - win->pad_left, kx_lo, kx_hi;
      window_range(ix0, kw, w, &kx_lo, &kx_hi);
      if (ky_lo == 0 && ky_hi == kh && kx_lo == 0 && kx_hi == kw) {
        /* Inside the image: kh contiguous spans of kw * c floats. */
        const float *src = xn + (size_t)iy0 * x_row + (size_t)ix0 * c;
        for (int ky = 0; ky < kh; ky++)
          copy_floats(dst + ky * span, src + ky * x_row, span);
        continue;
      }
      /* On the border: zero the row, then copy the part inside. */
      memset(dst, 0, row_len * sizeof(float));
      size_t inside = (size_t)(kx_hi - kx_lo) * c;
      for (int ky = ky_lo; ky < ky_hi; ky++)
        copy_floats(dst + ky * span + (size_t)kx_lo * c,
                    xn + (size_t)(iy0 + ky) * x_row + (size_t)(ix0 + kx_lo) * c, inside);
    }
  }
}

/* Rows [r0, r1) of the batch's image rows (n, iy), each gathered from the
 * output rows whose windows cover it, in the order a scatter over (oy, ox)
 * would add them: the threads write disjoint rows of dx, so an image can be
 * split between them (the convolutions run an image at a time). */
static void col2im_rows(float *dx /* (m, h, w, c) */, const float *dcols /* (m*oh*ow, kh*kw*c) */,
                        long r0, long r1, const RtWindow *win) {
  const int h = win->h, w = win->w, c = win->c, oh = win->oh, ow = win->ow;
  const int kh = win->kh, kw = win->kw;
  const size_t span = (size_t)kw * c, row_len = (size_t)kh * span, x_row = (size_t)w * c;
  for (long r = r0; r < r1; r++) {
    const long n = r / h;
    const int iy = (int)(r % h);
    float *dxr = dx + (size_t)r * x_row;
    rt_fill(dxr, 0.0f, x_row);
    for (int oy = 0; oy < oh; oy++) {
      int ky = iy - (oy * win->sh - win->pad_top);
      if (ky < 0 || ky >= kh)
        continue;
      const float *src = dcols + ((size_t)n * oh + oy) * ow * row_len + (size_t)ky * span;
      for (int ox = 0; ox < ow; ox++, src += row_len) {
        int ix0 = ox * win->sw - win->pad_left, kx_lo, kx_hi;
        window_range(ix0, kw, w, &kx_lo, &kx_hi);
        /* The padding's share of dcols is dropped. */
        add_floats(dxr + (size_t)(ix0 + kx_lo) * c, src + (size_t)kx_lo * c,
                   (size_t)(kx_hi - kx_lo) * c);
      }
    }
  }
}

/* ----- max and average pooling ----- */

/* Each pooling kernel is written once, as an always-inline body that takes
 * the channel count as its last argument, and instantiated by
 * RT_POOL_DISPATCH (which reads the caller's `win`): with the constant 1 (a
 * pool straight on a grayscale image, where the channel loops would be all
 * overhead), 32 and 64 (the CNNs' usual widths: constant trip counts
 * vectorize without remainders; the seed CNN's second pool's backward took
 * 40% less time), and with win->c. */
#define RT_ALWAYS_INLINE static inline __attribute__((always_inline))
#define RT_POOL_DISPATCH(body, ...)                                                              \
  do {                                                                                           \
    switch (win->c) {                                                                            \
    case 1: body(__VA_ARGS__, 1); break;                                                         \
    case 32: body(__VA_ARGS__, 32); break;                                                       \
    case 64: body(__VA_ARGS__, 64); break;                                                       \
    default: body(__VA_ARGS__, win->c);                                                          \
    }                                                                                            \
  } while (0)

RT_ALWAYS_INLINE void maxpool_forward_body(float *restrict out, const float *restrict x, int m,
                                           const RtWindow *win, const int c) {
  const int h = win->h, w = win->w, oh = win->oh, ow = win->ow;
  const size_t x_row = (size_t)w * c;
  float *restrict o = out;
  for (int n = 0; n < m; n++) {
    const float *xn = x + (size_t)n * h * x_row;
    for (int oy = 0; oy < oh; oy++) {
      int iy0 = oy * win->sh - win->pad_top, ky_lo, ky_hi;
      window_range(iy0, win->kh, h, &ky_lo, &ky_hi);
      for (int ox = 0; ox < ow; ox++, o += c) {
        int ix0 = ox * win->sw - win->pad_left, kx_lo, kx_hi;
        window_range(ix0, win->kw, w, &kx_lo, &kx_hi);
        if (ky_lo == ky_hi || kx_lo == kx_hi) { /* cannot happen with TF geometry */
          for (int j = 0; j < c; j++)
            o[j] = 0.0f;
          continue;
        }
        /* Only cells inside the image take part: padding never wins. */
        const float *first = xn + (size_t)(iy0 + ky_lo) * x_row + (size_t)(ix0 + kx_lo) * c;
        for (int j = 0; j < c; j++)
          o[j] = first[j];
        for (int ky = ky_lo; ky < ky_hi; ky++) {
          const float *xr = xn + (size_t)(iy0 + ky) * x_row;
          for (int kx = kx_lo; kx < kx_hi; kx++) {
            const float *cell = xr + (size_t)(ix0 + kx) * c;
            for (int j = 0; j < c; j++)
              o[j] = cell[j] > o[j] ? cell[j] : o[j];
          }
        }
      }
    }
  }
}

/* Floats per example of a window's input (h, w, c), output (oh, ow, c) and
 * im2col rows (oh * ow, kh * kw * c): how a batch slice is addressed. */
static size_t in_size(const RtWindow *win) { return (size_t)win->h * win->w * win->c; }
static size_t out_size(const RtWindow *win) { return (size_t)win->oh * win->ow * win->c; }
static size_t cols_size(const RtWindow *win) {
  return (size_t)win->oh * win->ow * win->kh * win->kw * win->c;
}

void rt_im2col(float *cols, const float *x, int m, const RtWindow *win) {
  RT_PARALLEL_SLICES((long)m * win->oh, (double)m * cols_size(win), r0, r1,
                     im2col_rows(cols, x, r0, r1, win));
}

void rt_col2im(float *dx, const float *dcols, int m, const RtWindow *win) {
  RT_PARALLEL_SLICES((long)m * win->h, (double)m * cols_size(win), r0, r1,
                     col2im_rows(dx, dcols, r0, r1, win));
}

/* ----- convolutions an image chunk at a time ----- */

/* A convolution's im2col columns for a whole batch are kh*kw times its
 * input (VGG16's block1_conv2 at batch 32: 3.7 GB), so the compiler gives
 * large ones a workspace for `chunk` images (memplan.c) and these kernels
 * walk the batch through it: im2col + GEMM per chunk. The arithmetic is the
 * whole-batch GEMM's, row block by row block; only the weight gradient's
 * sum over the batch is split (chunk by chunk, accumulated by sgemm). */

/* How a chunk of n images is addressed: floats per image of the input and
 * output, columns per GEMM row (k) and GEMM rows per image (pixels). */
typedef struct {
  size_t x_step, out_step;
  int k, pixels;
} ConvChunk;

static ConvChunk conv_chunk(const RtWindow *win, int filters) {
  int pixels = win->oh * win->ow;
  return (ConvChunk){in_size(win), (size_t)pixels * filters, win->kh * win->kw * win->c, pixels};
}

static int chunk_of(int m, int n0, int chunk) { return m - n0 < chunk ? m - n0 : chunk; }

void rt_conv2d_forward(float *out, const float *x, const float *kernel, float *cols, int m,
                       int chunk, const RtWindow *win, int filters) {
  const ConvChunk s = conv_chunk(win, filters);
  for (int n0 = 0; n0 < m; n0 += chunk) {
    int mc = chunk_of(m, n0, chunk);
    rt_im2col(cols, x + n0 * s.x_step, mc, win);
    rt_matmul_forward(out + n0 * s.out_step, cols, kernel, mc * s.pixels, s.k, filters);
  }
}

void rt_conv2d_backward_w(float *dkernel, const float *x, const float *dout, float *cols, int m,
                          int chunk, const RtWindow *win, int filters) {
  const ConvChunk s = conv_chunk(win, filters);
  if (m == 0) /* overwritten with zeros, as rt_matmul_backward_w does */
    rt_matmul_backward_w(dkernel, cols, dout, 0, s.k, filters);
  for (int n0 = 0; n0 < m; n0 += chunk) {
    int mc = chunk_of(m, n0, chunk);
    rt_im2col(cols, x + n0 * s.x_step, mc, win);
    (n0 == 0 ? rt_matmul_backward_w : rt_matmul_backward_w_add)(
        dkernel, cols, dout + n0 * s.out_step, mc * s.pixels, s.k, filters);
  }
}

void rt_conv2d_backward_x(float *dx, const float *dout, const float *kernel, float *dcols, int m,
                          int chunk, const RtWindow *win, int filters) {
  const ConvChunk s = conv_chunk(win, filters);
  for (int n0 = 0; n0 < m; n0 += chunk) {
    int mc = chunk_of(m, n0, chunk);
    rt_matmul_backward_x(dcols, dout + n0 * s.out_step, kernel, mc * s.pixels, s.k, filters);
    rt_col2im(dx + n0 * s.x_step, dcols, mc, win);
  }
}

static void maxpool_forward_rows(float *out, const float *x, int m, const RtWindow *win) {
  RT_POOL_DISPATCH(maxpool_forward_body, out, x, m, win);
}

void rt_maxpool_forward(float *out /* (m, oh, ow, c) */, const float *x /* (m, h, w, c) */,
                        int m, const RtWindow *win) {
  size_t xs = in_size(win), os = out_size(win);
  RT_PARALLEL_SLICES(m, (double)m * xs, n0, n1,
                     maxpool_forward_rows(out + n0 * os, x + n0 * xs, (int)(n1 - n0), win));
}

/* Windows that tile the input (stride = window, the usual 2x2 pooling)
 * never share a cell, so backward can write every cell of a window, the
 * gradient at the winner and 0 elsewhere, instead of zeroing dx and
 * scattering into it: one vectorized store per cell, no second pass. Only
 * the cells no window covers (the last row or column of an odd size under
 * 'valid') are zeroed apart. */
static int windows_tile(const RtWindow *win) { return win->sh == win->kh && win->sw == win->kw; }

static void zero_uncovered(float *dxn, const RtWindow *win) {
  const int c = win->c;
  const int covered_h = min_int(win->h, win->oh * win->kh - win->pad_top);
  const int covered_w = min_int(win->w, win->ow * win->kw - win->pad_left);
  const size_t x_row = (size_t)win->w * c;
  for (int y = 0; y < covered_h; y++)
    rt_fill(dxn + y * x_row + (size_t)covered_w * c, 0.0f, (size_t)(win->w - covered_w) * c);
  rt_fill(dxn + covered_h * x_row, 0.0f, (size_t)(win->h - covered_h) * x_row);
}

/* relu != 0: the maximum's gradient passes only where x > 0 (the fused
 * relu gradient of a relu -> max-pool pair; x is then the relu's output). */
RT_ALWAYS_INLINE void maxpool_backward_body(float *restrict dx, const float *restrict dout,
                                            const float *restrict x, int m, const RtWindow *win,
                                            const int relu, const int c) {
  const int h = win->h, w = win->w, oh = win->oh, ow = win->ow;
  const size_t x_row = (size_t)w * c;
  const int tiled = windows_tile(win);
  if (!tiled)
    rt_fill(dx, 0.0f, (size_t)m * h * x_row);
  float best[RT_CHANNEL_BLOCK], grad[RT_CHANNEL_BLOCK];
  int at[RT_CHANNEL_BLOCK]; /* offset of the winning cell in the image */
  const float *g = dout;
  for (int n = 0; n < m; n++) {
    const float *xn = x + (size_t)n * h * x_row;
    float *dxn = dx + (size_t)n * h * x_row;
    if (tiled)
      zero_uncovered(dxn, win);
    for (int oy = 0; oy < oh; oy++) {
      int iy0 = oy * win->sh - win->pad_top, ky_lo, ky_hi;
      window_range(iy0, win->kh, h, &ky_lo, &ky_hi);
      for (int ox = 0; ox < ow; ox++, g += c) {
        int ix0 = ox * win->sw - win->pad_left, kx_lo, kx_hi;
        window_range(ix0, win->kw, w, &kx_lo, &kx_hi);
        if (ky_lo == ky_hi || kx_lo == kx_hi)
          continue;
        const int first = (int)((size_t)(iy0 + ky_lo) * x_row + (size_t)(ix0 + kx_lo) * c);
        for (int j0 = 0; j0 < c; j0 += RT_CHANNEL_BLOCK) {
          const int nj = min_int(RT_CHANNEL_BLOCK, c - j0);
          for (int j = 0; j < nj; j++) {
            best[j] = xn[first + j0 + j];
            at[j] = first;
          }
          /* Cells in (ky, kx) order; strict > keeps the first maximum. The
           * selects are branch-free, so the loop vectorizes over channels. */
          for (int ky = ky_lo; ky < ky_hi; ky++)
            for (int kx = kx_lo; kx < kx_hi; kx++) {
              const int cell = (int)((size_t)(iy0 + ky) * x_row + (size_t)(ix0 + kx) * c);
              const float *v = xn + cell + j0;
              for (int j = 0; j < nj; j++) {
                int wins = v[j] > best[j];
                best[j] = wins ? v[j] : best[j];
                at[j] = wins ? cell : at[j];
              }
            }
          for (int j = 0; j < nj; j++)
            grad[j] = relu && !(best[j] > 0.0f) ? 0.0f : g[j0 + j];
          if (!tiled) {
            for (int j = 0; j < nj; j++)
              dxn[at[j] + j0 + j] += grad[j];
            continue;
          }
          for (int ky = ky_lo; ky < ky_hi; ky++)
            for (int kx = kx_lo; kx < kx_hi; kx++) {
              const int cell = (int)((size_t)(iy0 + ky) * x_row + (size_t)(ix0 + kx) * c);
              float *d = dxn + cell + j0;
              for (int j = 0; j < nj; j++)
                d[j] = at[j] == cell ? grad[j] : 0.0f;
            }
        }
      }
    }
  }
}

static void maxpool_backward_rows(float *dx, const float *dout, const float *x, int m,
                                  const RtWindow *win, int relu) {
  if (relu)
    RT_POOL_DISPATCH(maxpool_backward_body, dx, dout, x, m, win, 1);
  else
    RT_POOL_DISPATCH(maxpool_backward_body, dx, dout, x, m, win, 0);
}

static void maxpool_backward(float *dx, const float *dout, const float *x, int m,
                             const RtWindow *win, int relu) {
  size_t xs = in_size(win), os = out_size(win);
  RT_PARALLEL_SLICES(m, (double)m * xs, n0, n1,
                     maxpool_backward_rows(dx + n0 * xs, dout + n0 * os, x + n0 * xs,
                                           (int)(n1 - n0), win, relu));
}

void rt_maxpool_backward(float *dx /* (m, h, w, c) */, const float *dout /* (m, oh, ow, c) */,
                         const float *x /* (m, h, w, c) */, int m, const RtWindow *win) {
  maxpool_backward(dx, dout, x, m, win, 0);
}

void rt_maxpool_relu_backward(float *dx /* (m, h, w, c) */, const float *dout /* (m, oh, ow, c) */,
                              const float *x /* (m, h, w, c): relu output */, int m,
                              const RtWindow *win) {
  maxpool_backward(dx, dout, x, m, win, 1);
}

RT_ALWAYS_INLINE void avgpool_forward_body(float *restrict out, const float *restrict x, int m,
                                           const RtWindow *win, const int c) {
  const int h = win->h, w = win->w, oh = win->oh, ow = win->ow;
  const size_t x_row = (size_t)w * c;
  float *restrict o = out;
  for (int n = 0; n < m; n++) {
    const float *xn = x + (size_t)n * h * x_row;
    for (int oy = 0; oy < oh; oy++) {
      int iy0 = oy * win->sh - win->pad_top, ky_lo, ky_hi;
      window_range(iy0, win->kh, h, &ky_lo, &ky_hi);
      for (int ox = 0; ox < ow; ox++, o += c) {
        int ix0 = ox * win->sw - win->pad_left, kx_lo, kx_hi;
        window_range(ix0, win->kw, w, &kx_lo, &kx_hi);
        for (int j = 0; j < c; j++)
          o[j] = 0.0f;
        for (int ky = ky_lo; ky < ky_hi; ky++) {
          const float *xr = xn + (size_t)(iy0 + ky) * x_row;
          for (int kx = kx_lo; kx < kx_hi; kx++) {
            const float *cell = xr + (size_t)(ix0 + kx) * c;
            for (int j = 0; j < c; j++)
              o[j] += cell[j];
          }
        }
        /* Keras: the mean over the cells inside the image only. */
        const int cells = (ky_hi - ky_lo) * (kx_hi - kx_lo);
        const float inv = cells > 0 ? 1.0f / (float)cells : 0.0f;
        for (int j = 0; j < c; j++)
          o[j] *= inv;
      }
    }
  }
}

void rt_avgpool_forward(float *out /* (m, oh, ow, c) */, const float *x /* (m, h, w, c) */,
                        int m, const RtWindow *win) {
  RT_POOL_DISPATCH(avgpool_forward_body, out, x, m, win);
}

RT_ALWAYS_INLINE void avgpool_backward_body(float *restrict dx, const float *restrict dout, int m,
                                            const RtWindow *win, const int c) {
  const int h = win->h, w = win->w, oh = win->oh, ow = win->ow;
  const size_t x_row = (size_t)w * c;
  rt_fill(dx, 0.0f, (size_t)m * h * x_row);
  const float *g = dout;
  for (int n = 0; n < m; n++) {
    float *dxn = dx + (size_t)n * h * x_row;
    for (int oy = 0; oy < oh; oy++) {
      int iy0 = oy * win->sh - win->pad_top, ky_lo, ky_hi;
      window_range(iy0, win->kh, h, &ky_lo, &ky_hi);
      for (int ox = 0; ox < ow; ox++, g += c) {
        int ix0 = ox * win->sw - win->pad_left, kx_lo, kx_hi;
        window_range(ix0, win->kw, w, &kx_lo, &kx_hi);
        const int cells = (ky_hi - ky_lo) * (kx_hi - kx_lo);
        if (cells == 0)
          continue;
        const float inv = 1.0f / (float)cells;
        for (int ky = ky_lo; ky < ky_hi; ky++) {
          float *dr = dxn + (size_t)(iy0 + ky) * x_row;
          for (int kx = kx_lo; kx < kx_hi; kx++) {
            float *cell = dr + (size_t)(ix0 + kx) * c;
            for (int j = 0; j < c; j++)
              cell[j] += g[j] * inv;
          }
        }
      }
    }
  }
}

void rt_avgpool_backward(float *dx /* (m, h, w, c) */, const float *dout /* (m, oh, ow, c) */,
                         int m, const RtWindow *win) {
  RT_POOL_DISPATCH(avgpool_backward_body, dx, dout, m, win);
}

/* ----- global average pooling ----- */

void rt_global_avgpool_forward(float *out /* (m, c) */, const float *x /* (m, hw, c) */, int m,
                               int hw, int c) {
  const float inv = hw > 0 ? 1.0f / (float)hw : 0.0f;
  for (int n = 0; n < m; n++) {
    float *o = out + (size_t)n * c;
    const float *xn = x + (size_t)n * hw * c;
    memset(o, 0, (size_t)c * sizeof(float));
    for (int p = 0; p < hw; p++)
      add_floats(o, xn + (size_t)p * c, (size_t)c);
    for (int j = 0; j < c; j++)
      o[j] *= inv;
  }
}

void rt_global_avgpool_backward(float *dx /* (m, hw, c) */, const float *dout /* (m, c) */,
                                int m, int hw, int c) {
  const float inv = hw > 0 ? 1.0f / (float)hw : 0.0f;
  for (int n = 0; n < m; n++) {
    const float *g = dout + (size_t)n * c;
    for (int p = 0; p < hw; p++) {
      float *d = dx + ((size_t)n * hw + p) * c;
      for (int j = 0; j < c; j++)
        d[j] = g[j] * inv;
    }
  }
}

/* ----- batch normalization ----- */

/* Every batchnorm kernel walks the channels in blocks [j0, j0 + nj): per
 * block, passes over all rows touch nj contiguous floats of each row. */

/* sum[j] = sum over rows of x[., j0 + j], j < nj */
static void bn_channel_sums(double *sum, const float *x, int rows, int c, int j0, int nj) {
  for (int j = 0; j < nj; j++)
    sum[j] = 0.0;
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (size_t)r * c + j0;
    for (int j = 0; j < nj; j++)
      sum[j] += xr[j];
  }
}

/* sq[j] = sum over rows of (x - mean)^2: the variance from the deviations */
static void bn_channel_squares(double *sq, const float *x, const double *mean_d, int rows, int c,
                               int j0, int nj) {
  for (int j = 0; j < nj; j++)
    sq[j] = 0.0;
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (size_t)r * c + j0;
    for (int j = 0; j < nj; j++) {
      double d = (double)xr[j] - mean_d[j];
      sq[j] += d * d;
    }
  }
}

/* Channels [j0, j0 + nj) from their mean and sum of squared deviations over
 * n rows: stats, the moving statistics, xhat and out of this process's rows. */
static void bn_normalize(float *out, float *xhat, float *stats, const float *x,
                         const float *gamma, const float *beta, float *moving_mean,
                         float *moving_var, int rows, int c, float momentum, float eps,
                         const double *mean_d, const double *sq, double n, int j0, int nj) {
  float mean[RT_CHANNEL_BLOCK], invstd[RT_CHANNEL_BLOCK];
  for (int j = 0; j < nj; j++) {
    double var = sq[j] / n;
    mean[j] = (float)mean_d[j];
    invstd[j] = (float)(1.0 / sqrt(var + (double)eps));
    stats[j0 + j] = mean[j];
    stats[c + j0 + j] = invstd[j];
    moving_mean[j0 + j] = moving_mean[j0 + j] * momentum + mean[j] * (1.0f - momentum);
    moving_var[j0 + j] = moving_var[j0 + j] * momentum + (float)var * (1.0f - momentum);
  }
  const float *g = gamma + j0, *b = beta + j0;
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (size_t)r * c + j0;
    float *hr = xhat + (size_t)r * c + j0, *orow = out + (size_t)r * c + j0;
    for (int j = 0; j < nj; j++) {
      float xh = (xr[j] - mean[j]) * invstd[j];
      hr[j] = xh;
      orow[j] = g[j] * xh + b[j];
    }
  }
}

void rt_batchnorm_train_forward(float *out /* (rows, c) */, float *xhat /* (rows, c) */,
                                float *stats /* (2, c): mean, invstd */,
                                const float *x /* (rows, c) */, const float *gamma /* (c) */,
                                const float *beta /* (c) */, float *moving_mean /* (c) */,
                                float *moving_var /* (c) */, int rows, int c, float momentum,
                                float eps) {
  if (rows <= 0)
    return; /* no batch statistics: the moving statistics stay as they are */
  double sum[RT_CHANNEL_BLOCK], sq[RT_CHANNEL_BLOCK], mean_d[RT_CHANNEL_BLOCK];
  for (int j0 = 0; j0 < c; j0 += RT_CHANNEL_BLOCK) {
    const int nj = min_int(RT_CHANNEL_BLOCK, c - j0);
    bn_channel_sums(sum, x, rows, c, j0, nj);
    for (int j = 0; j < nj; j++)
      mean_d[j] = sum[j] / rows;
    bn_channel_squares(sq, x, mean_d, rows, c, j0, nj);
    bn_normalize(out, xhat, stats, x, gamma, beta, moving_mean, moving_var, rows, c, momentum,
                 eps, mean_d, sq, rows, j0, nj);
  }
}

/* The same three passes over all channels, each pass's sums taken over every
 * rank (rows included: a rank may hold none of a short last batch). */
void rt_batchnorm_sync_train_forward(float *out /* (rows, c) */, float *xhat /* (rows, c) */,
                                     float *stats /* (2, c): mean, invstd */,
                                     const float *x /* (rows, c) */, const float *gamma /* (c) */,
                                     const float *beta /* (c) */, float *moving_mean /* (c) */,
                                     float *moving_var /* (c) */, int rows, int c,
                                     float momentum, float eps) {
  double *sum = rt_malloc(sizeof(double) * (3 * (size_t)c + 1)), *sq = sum + c + 1,
         *mean_d = sq + c;
  for (int j0 = 0; j0 < c; j0 += RT_CHANNEL_BLOCK)
    bn_channel_sums(sum + j0, x, rows, c, j0, min_int(RT_CHANNEL_BLOCK, c - j0));
  sum[c] = rows;
  rt_dist_sync_sum(sum, (size_t)c + 1);
  const double n = sum[c];
  for (int j = 0; n > 0 && j < c; j++)
    mean_d[j] = sum[j] / n;
  for (int j0 = 0; n > 0 && j0 < c; j0 += RT_CHANNEL_BLOCK)
    bn_channel_squares(sq + j0, x, mean_d + j0, rows, c, j0, min_int(RT_CHANNEL_BLOCK, c - j0));
  if (n > 0) /* else no rank has rows: the moving statistics stay as they are */
    rt_dist_sync_sum(sq, (size_t)c);
  for (int j0 = 0; n > 0 && j0 < c; j0 += RT_CHANNEL_BLOCK)
    bn_normalize(out, xhat, stats, x, gamma, beta, moving_mean, moving_var, rows, c, momentum,
                 eps, mean_d + j0, sq + j0, n, j0, min_int(RT_CHANNEL_BLOCK, c - j0));
  free(sum);
}

void rt_batchnorm_eval_forward(float *out /* (rows, c) */, const float *x /* (rows, c) */,
                               const float *gamma /* (c) */, const float *beta /* (c) */,
                               const float *moving_mean /* (c) */,
                               const float *moving_var /* (c) */, int rows, int c, float eps) {
  float scale[RT_CHANNEL_BLOCK];
  for (int j0 = 0; j0 < c; j0 += RT_CHANNEL_BLOCK) {
    const int nj = min_int(RT_CHANNEL_BLOCK, c - j0);
    for (int j = 0; j < nj; j++)
      scale[j] = gamma[j0 + j] / sqrtf(moving_var[j0 + j] + eps);
    const float *mm = moving_mean + j0, *b = beta + j0;
    for (int r = 0; r < rows; r++) {
      const float *xr = x + (size_t)r * c + j0;
      float *orow = out + (size_t)r * c + j0;
      for (int j = 0; j < nj; j++)
        orow[j] = (xr[j] - mm[j]) * scale[j] + b[j];
    }
  }
}

void rt_batchnorm_eval_backward_x(float *dx /* (rows, c) */, const float *dout /* (rows, c) */,
                                  const float *gamma /* (c) */, const float *moving_var /* (c) */,
                                  int rows, int c, float eps) {
  float scale[RT_CHANNEL_BLOCK];
  for (int j0 = 0; j0 < c; j0 += RT_CHANNEL_BLOCK) {
    const int nj = min_int(RT_CHANNEL_BLOCK, c - j0);
    for (int j = 0; j < nj; j++) /* the forward pass's scale, as batchnorm_eval_forward */
      scale[j] = gamma[j0 + j] / sqrtf(moving_var[j0 + j] + eps);
    for (int r = 0; r < rows; r++) {
      const float *g = dout + (size_t)r * c + j0;
      float *d = dx + (size_t)r * c + j0;
      for (int j = 0; j < nj; j++)
        d[j] = g[j] * scale[j];
    }
  }
}

void rt_batchnorm_backward_gamma(float *dgamma /* (c) */, const float *dout /* (rows, c) */,
                                 const float *xhat /* (rows, c) */, int rows, int c) {
  double sum[RT_CHANNEL_BLOCK];
  for (int j0 = 0; j0 < c; j0 += RT_CHANNEL_BLOCK) {
    const int nj = min_int(RT_CHANNEL_BLOCK, c - j0);
    for (int j = 0; j < nj; j++)
      sum[j] = 0.0;
    for (int r = 0; r < rows; r++) {
      const float *gr = dout + (size_t)r * c + j0, *hr = xhat + (size_t)r * c + j0;
      for (int j = 0; j < nj; j++)
        sum[j] += (double)gr[j] * hr[j];
    }
    for (int j = 0; j < nj; j++)
      dgamma[j0 + j] = (float)sum[j];
  }
}

/* sum_g[j] = sum over rows of dout, sum_gx[j] of dout xhat */
static void bn_grad_sums(double *sum_g, double *sum_gx, const float *dout, const float *xhat,
                         int rows, int c, int j0, int nj) {
  for (int j = 0; j < nj; j++)
    sum_g[j] = sum_gx[j] = 0.0;
  for (int r = 0; r < rows; r++) {
    const float *gr = dout + (size_t)r * c + j0, *hr = xhat + (size_t)r * c + j0;
    for (int j = 0; j < nj; j++) {
      sum_g[j] += gr[j];
      sum_gx[j] += (double)gr[j] * hr[j];
    }
  }
}

/* dx = gamma invstd (dout - sum_g / n - xhat sum_gx / n) on channels [j0, j0 + nj) */
static void bn_grad_apply(float *dx, const float *dout, const float *xhat, const float *gamma,
                          const float *stats, int rows, int c, const double *sum_g,
                          const double *sum_gx, double n, int j0, int nj) {
  float mean_g[RT_CHANNEL_BLOCK], mean_gx[RT_CHANNEL_BLOCK], k[RT_CHANNEL_BLOCK];
  for (int j = 0; j < nj; j++) {
    mean_g[j] = (float)(sum_g[j] / n);
    mean_gx[j] = (float)(sum_gx[j] / n);
    k[j] = gamma[j0 + j] * stats[c + j0 + j];
  }
  for (int r = 0; r < rows; r++) {
    const float *gr = dout + (size_t)r * c + j0, *hr = xhat + (size_t)r * c + j0;
    float *dr = dx + (size_t)r * c + j0;
    for (int j = 0; j < nj; j++)
      dr[j] = k[j] * (gr[j] - mean_g[j] - hr[j] * mean_gx[j]);
  }
}

/* Computed as gamma invstd (dout - mean(dout) - xhat mean(dout xhat)), the
 * header's formula divided through by N: no N dout - sum(dout) cancellation
 * between two large numbers. dx may equal dout (each block's sums are taken
 * before any of its elements is written). */
void rt_batchnorm_backward_x(float *dx /* (rows, c) */, const float *dout /* (rows, c) */,
                             const float *xhat /* (rows, c) */, const float *gamma /* (c) */,
                             const float *stats /* (2, c): mean, invstd */, int rows, int c) {
  if (rows <= 0)
    return;
  double sum_g[RT_CHANNEL_BLOCK], sum_gx[RT_CHANNEL_BLOCK];
  for (int j0 = 0; j0 < c; j0 += RT_CHANNEL_BLOCK) {
    const int nj = min_int(RT_CHANNEL_BLOCK, c - j0);
    bn_grad_sums(sum_g, sum_gx, dout, xhat, rows, c, j0, nj);
    bn_grad_apply(dx, dout, xhat, gamma, stats, rows, c, sum_g, sum_gx, rows, j0, nj);
  }
}

/* This rank's dout is the gradient of its own mean loss, w = part / m times
 * the global one: the sums are taken over the ranks as w sum, and the mean
 * divided back by w, so dx stays in this rank's scale (rt_dist_backward
 * weights the parameter gradients by w afterwards). In one process w = 1
 * and this is rt_batchnorm_backward_x to the bit. */
void rt_batchnorm_sync_backward_x(float *dx /* (rows, c) */, const float *dout /* (rows, c) */,
                                  const float *xhat /* (rows, c) */, const float *gamma /* (c) */,
                                  const float *stats /* (2, c): mean, invstd */, int rows, int c) {
  const double w = rt_dist_sync_weight();
  double *sum_g = rt_malloc(sizeof(double) * (2 * (size_t)c + 1)), *sum_gx = sum_g + c;
  for (int j0 = 0; j0 < c; j0 += RT_CHANNEL_BLOCK)
    bn_grad_sums(sum_g + j0, sum_gx + j0, dout, xhat, rows, c, j0,
                 min_int(RT_CHANNEL_BLOCK, c - j0));
  for (int j = 0; j < 2 * c; j++)
    sum_g[j] *= w;
  sum_g[2 * c] = rows;
  rt_dist_sync_sum(sum_g, 2 * (size_t)c + 1);
  const double n = w * sum_g[2 * c];
  for (int j0 = 0; rows > 0 && j0 < c; j0 += RT_CHANNEL_BLOCK)
    bn_grad_apply(dx, dout, xhat, gamma, stats, rows, c, sum_g + j0, sum_gx + j0, n, j0,
                  min_int(RT_CHANNEL_BLOCK, c - j0));
  free(sum_g);
}

/* ----- rescaling ----- */

void rt_rescale_u8_forward(float *out /* (count) */, const uint8_t *x /* (count) */, float scale,
                           float offset, size_t count) {
  for (size_t i = 0; i < count; i++)
    out[i] = (float)x[i] * scale + offset;
}

void rt_rescale_forward(float *out /* (count) */, const float *x /* (count) */, float scale,
                        float offset, size_t count) {
  for (size_t i = 0; i < count; i++)
    out[i] = x[i] * scale + offset;
}

void rt_rescale_backward(float *dx /* (count) */, const float *dout /* (count) */, float scale,
                         size_t count) {
  for (size_t i = 0; i < count; i++)
    dx[i] = dout[i] * scale;
}

/* ----- concatenation along the last axis ----- */

void rt_concat_forward(float *out /* (rows, ca + cb) */, const float *a /* (rows, ca) */,
                       const float *b /* (rows, cb) */, int rows, int ca, int cb) {
  const size_t total = (size_t)ca + cb;
  for (int r = 0; r < rows; r++) {
    memcpy(out + r * total, a + (size_t)r * ca, (size_t)ca * sizeof(float));
    memcpy(out + r * total + ca, b + (size_t)r * cb, (size_t)cb * sizeof(float));
  }
}

void rt_concat_backward(float *part /* (rows, width) */, const float *dout /* (rows, total) */,
                        int rows, int total, int offset, int width) {
  for (int r = 0; r < rows; r++)
    memcpy(part + (size_t)r * width, dout + (size_t)r * total + offset,
           (size_t)width * sizeof(float));
}
