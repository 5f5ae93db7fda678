/*
 * rt_spatial.c — the kernels of the spatial layers that are not a GEMM:
 * depthwise convolution (Keras DepthwiseConv2D), zero padding
 * (ZeroPadding2D) and nearest-neighbour upsampling (UpSampling2D).
 *
 * Layout is NHWC, as in rt_conv.c, and the window geometry is the same
 * RtWindow (TF 'same' or 'valid'; win->c is the INPUT channel count). A
 * depthwise convolution with depth multiplier dm convolves each input
 * channel ci with its own dm filters; output channel ci * dm + k is filter k
 * of channel ci, and the kernel (kh, kw, c, dm) holds, for window cell
 * (ky, kx), one contiguous run of c * dm weights in exactly the output's
 * channel order. So each window cell is one pass over contiguous channels:
 * out[ci * dm + k] += x[ci] * kernel_cell[ci * dm + k].
 *
 * Forward and input-gradient kernels run in parallel over the batch (one
 * slice of examples per thread); the kernel gradient sums over the batch,
 * so it runs in parallel over input channels instead: every thread owns its
 * channels' weights and sums all examples in the same order, and the result
 * does not depend on the thread count.
 *
 * Backward kernels OVERWRITE their outputs. No output may alias an input.
 * Nothing here allocates. The plain references these kernels are held to
 * are in tests/test_spatial.c.
 */
#include "nnc_runtime.h"
#include "rt_threads.h"
#include "rt_window.h"

#include <string.h>

/* Each depthwise body is written once as an always-inline function whose
 * last argument is the depth multiplier, and instantiated with the constant
 * 1 (MobileNet's case: the inner loop is then a plain vector multiply-add
 * over channels) and with the caller's dm. */
#define RT_ALWAYS_INLINE static inline __attribute__((always_inline))
#define RT_DM_DISPATCH(dm, body, ...)                                                            \
  do {                                                                                           \
    if ((dm) == 1)                                                                               \
      body(__VA_ARGS__, 1);                                                                      \
    else                                                                                         \
      body(__VA_ARGS__, (dm));                                                                   \
  } while (0)

/* Floats per example of a depthwise convolution's input (h, w, c) and
 * output (oh, ow, c * dm). */
static size_t dw_in_size(const RtWindow *win) {
  return (size_t)win->h * win->w * win->c;
}
static size_t dw_out_size(const RtWindow *win, int dm) {
  return (size_t)win->oh * win->ow * win->c * dm;
}
/* Multiply-adds of one depthwise pass over m examples: what threading is
 * decided on. */
static double dw_work(int m, const RtWindow *win, int dm) {
  return (double)m * win->oh * win->ow * win->kh * win->kw * win->c * dm;
}

/* ----- depthwise convolution ----- */

RT_ALWAYS_INLINE void depthwise_forward_body(float *restrict out, const float *restrict x,
                                             const float *restrict kernel, int m,
                                             const RtWindow *win, const int dm) {
  const int h = win->h, w = win->w, c = win->c, kw = win->kw;
  const size_t co = (size_t)c * dm, x_row = (size_t)w * c;
  float *restrict o = out;
  for (int n = 0; n < m; n++) {
    const float *xn = x + (size_t)n * h * x_row;
    for (int oy = 0; oy < win->oh; oy++) {
      int iy0 = oy * win->sh - win->pad_top, ky_lo, ky_hi;
      window_range(iy0, win->kh, h, &ky_lo, &ky_hi);
      for (int ox = 0; ox < win->ow; ox++, o += co) {
        int ix0 = ox * win->sw - win->pad_left, kx_lo, kx_hi;
        window_range(ix0, kw, w, &kx_lo, &kx_hi);
        memset(o, 0, co * sizeof(float));
        /* Cells in the padding contribute zero: only the clipped window. */
        for (int ky = ky_lo; ky < ky_hi; ky++)
          for (int kx = kx_lo; kx < kx_hi; kx++) {
            const float *cell = xn + (size_t)(iy0 + ky) * x_row + (size_t)(ix0 + kx) * c;
            const float *kc = kernel + ((size_t)ky * kw + kx) * co;
            for (int ci = 0; ci < c; ci++)
              for (int k = 0; k < dm; k++)
                o[ci * dm + k] += cell[ci] * kc[ci * dm + k];
          }
      }
    }
  }
}

static void depthwise_forward_rows(float *out, const float *x, const float *kernel, int m,
                                   const RtWindow *win, int dm) {
  RT_DM_DISPATCH(dm, depthwise_forward_body, out, x, kernel, m, win);
}

void rt_depthwise_forward(float *out /* (m, oh, ow, c * dm) */, const float *x /* (m, h, w, c) */,
                          const float *kernel /* (kh, kw, c, dm) */, int m, const RtWindow *win,
                          int depth_multiplier) {
  const int dm = depth_multiplier;
  size_t xs = dw_in_size(win), os = dw_out_size(win, dm);
  RT_PARALLEL_SLICES(m, dw_work(m, win, dm), n0, n1,
                     depthwise_forward_rows(out + n0 * os, x + n0 * xs, kernel, (int)(n1 - n0),
                                            win, dm));
}

RT_ALWAYS_INLINE void depthwise_backward_x_body(float *restrict dx, const float *restrict dout,
                                                const float *restrict kernel, int m,
                                                const RtWindow *win, const int dm) {
  const int h = win->h, w = win->w, c = win->c, kw = win->kw;
  const size_t co = (size_t)c * dm, x_row = (size_t)w * c;
  rt_fill(dx, 0.0f, (size_t)m * h * x_row);
  const float *restrict g = dout;
  for (int n = 0; n < m; n++) {
    float *dxn = dx + (size_t)n * h * x_row;
    for (int oy = 0; oy < win->oh; oy++) {
      int iy0 = oy * win->sh - win->pad_top, ky_lo, ky_hi;
      window_range(iy0, win->kh, h, &ky_lo, &ky_hi);
      for (int ox = 0; ox < win->ow; ox++, g += co) {
        int ix0 = ox * win->sw - win->pad_left, kx_lo, kx_hi;
        window_range(ix0, kw, w, &kx_lo, &kx_hi);
        /* The padding's share of the gradient is dropped. */
        for (int ky = ky_lo; ky < ky_hi; ky++)
          for (int kx = kx_lo; kx < kx_hi; kx++) {
            float *dcell = dxn + (size_t)(iy0 + ky) * x_row + (size_t)(ix0 + kx) * c;
            const float *kc = kernel + ((size_t)ky * kw + kx) * co;
            for (int ci = 0; ci < c; ci++) {
              float sum = 0.0f;
              for (int k = 0; k < dm; k++)
                sum += g[ci * dm + k] * kc[ci * dm + k];
              dcell[ci] += sum;
            }
          }
      }
    }
  }
}

static void depthwise_backward_x_rows(float *dx, const float *dout, const float *kernel, int m,
                                      const RtWindow *win, int dm) {
  RT_DM_DISPATCH(dm, depthwise_backward_x_body, dx, dout, kernel, m, win);
}

void rt_depthwise_backward_x(float *dx /* (m, h, w, c) */,
                             const float *dout /* (m, oh, ow, c * dm) */,
                             const float *kernel /* (kh, kw, c, dm) */, int m,
                             const RtWindow *win, int depth_multiplier) {
  const int dm = depth_multiplier;
  size_t xs = dw_in_size(win), os = dw_out_size(win, dm);
  RT_PARALLEL_SLICES(m, dw_work(m, win, dm), n0, n1,
                     depthwise_backward_x_rows(dx + n0 * xs, dout + n0 * os, kernel,
                                               (int)(n1 - n0), win, dm));
}

/* The weights of input channels [c0, c1), summed over every example and
 * output pixel in a fixed order. */
RT_ALWAYS_INLINE void depthwise_backward_w_body(float *restrict dkernel,
                                                const float *restrict dout,
                                                const float *restrict x, int m,
                                                const RtWindow *win, int c0, int c1,
                                                const int dm) {
  const int h = win->h, w = win->w, c = win->c, kh = win->kh, kw = win->kw;
  const size_t co = (size_t)c * dm, x_row = (size_t)w * c;
  const size_t span = (size_t)(c1 - c0) * dm; /* this slice's weights in one cell */
  for (int cell = 0; cell < kh * kw; cell++)
    memset(dkernel + (size_t)cell * co + (size_t)c0 * dm, 0, span * sizeof(float));
  const float *restrict g = dout;
  for (int n = 0; n < m; n++) {
    const float *xn = x + (size_t)n * h * x_row;
    for (int oy = 0; oy < win->oh; oy++) {
      int iy0 = oy * win->sh - win->pad_top, ky_lo, ky_hi;
      window_range(iy0, kh, h, &ky_lo, &ky_hi);
      for (int ox = 0; ox < win->ow; ox++, g += co) {
        int ix0 = ox * win->sw - win->pad_left, kx_lo, kx_hi;
        window_range(ix0, kw, w, &kx_lo, &kx_hi);
        for (int ky = ky_lo; ky < ky_hi; ky++)
          for (int kx = kx_lo; kx < kx_hi; kx++) {
            const float *cell = xn + (size_t)(iy0 + ky) * x_row + (size_t)(ix0 + kx) * c;
            float *dk = dkernel + ((size_t)ky * kw + kx) * co;
            for (int ci = c0; ci < c1; ci++)
              for (int k = 0; k < dm; k++)
                dk[ci * dm + k] += g[ci * dm + k] * cell[ci];
          }
      }
    }
  }
}

static void depthwise_backward_w_channels(float *dkernel, const float *dout, const float *x,
                                          int m, const RtWindow *win, int c0, int c1, int dm) {
  RT_DM_DISPATCH(dm, depthwise_backward_w_body, dkernel, dout, x, m, win, c0, c1);
}

void rt_depthwise_backward_w(float *dkernel /* (kh, kw, c, dm) */,
                             const float *dout /* (m, oh, ow, c * dm) */,
                             const float *x /* (m, h, w, c) */, int m, const RtWindow *win,
                             int depth_multiplier) {
  const int dm = depth_multiplier;
  RT_PARALLEL_SLICES(win->c, dw_work(m, win, dm), c0, c1,
                     depthwise_backward_w_channels(dkernel, dout, x, m, win, (int)c0, (int)c1,
                                                   dm));
}

/* ----- zero padding ----- */

/* Example rows [n0, n1) of the padded tensor: zero rows above and below,
 * and in between each image row with zeros on either side. */
static void zero_pad_forward_rows(float *out, const float *x, int m, int h, int w, int c,
                                  int top, int bottom, int left, int right) {
  const size_t x_row = (size_t)w * c, o_row = (size_t)(w + left + right) * c;
  const size_t before = (size_t)left * c, after = (size_t)right * c;
  float *o = out;
  for (int n = 0; n < m; n++) {
    const float *xn = x + (size_t)n * h * x_row;
    memset(o, 0, (size_t)top * o_row * sizeof(float));
    o += (size_t)top * o_row;
    for (int y = 0; y < h; y++, o += o_row) {
      memset(o, 0, before * sizeof(float));
      memcpy(o + before, xn + (size_t)y * x_row, x_row * sizeof(float));
      memset(o + before + x_row, 0, after * sizeof(float));
    }
    memset(o, 0, (size_t)bottom * o_row * sizeof(float));
    o += (size_t)bottom * o_row;
  }
}

void rt_zero_pad_forward(float *out /* (m, h + top + bottom, w + left + right, c) */,
                         const float *x /* (m, h, w, c) */, int m, int h, int w, int c, int top,
                         int bottom, int left, int right) {
  const size_t xs = (size_t)h * w * c;
  const size_t os = (size_t)(h + top + bottom) * (w + left + right) * c;
  RT_PARALLEL_SLICES(m, (double)m * os, n0, n1,
                     zero_pad_forward_rows(out + n0 * os, x + n0 * xs, (int)(n1 - n0), h, w, c,
                                           top, bottom, left, right));
}

/* The gradient of the padding is dropped: dx is dout's interior. */
static void zero_pad_backward_rows(float *dx, const float *dout, int m, int h, int w, int c,
                                   int top, int bottom, int left, int right) {
  const size_t x_row = (size_t)w * c, o_row = (size_t)(w + left + right) * c;
  const size_t os = (size_t)(h + top + bottom) * o_row;
  for (int n = 0; n < m; n++) {
    const float *interior = dout + (size_t)n * os + (size_t)top * o_row + (size_t)left * c;
    float *dxn = dx + (size_t)n * h * x_row;
    for (int y = 0; y < h; y++)
      memcpy(dxn + (size_t)y * x_row, interior + (size_t)y * o_row, x_row * sizeof(float));
  }
}

void rt_zero_pad_backward(float *dx /* (m, h, w, c) */,
                          const float *dout /* (m, h + top + bottom, w + left + right, c) */,
                          int m, int h, int w, int c, int top, int bottom, int left, int right) {
  const size_t xs = (size_t)h * w * c;
  const size_t os = (size_t)(h + top + bottom) * (w + left + right) * c;
  RT_PARALLEL_SLICES(m, (double)m * xs, n0, n1,
                     zero_pad_backward_rows(dx + n0 * xs, dout + n0 * os, (int)(n1 - n0), h, w,
                                            c, top, bottom, left, right));
}

/* ----- nearest-neighbour upsampling ----- */

/* Output pixel (y, x) is input pixel (y / sy, x / sx): each input row is
 * widened once (every pixel repeated sx times), then copied sy times. */
static void upsample_forward_rows(float *out, const float *x, int m, int h, int w, int c, int sy,
                                  int sx) {
  const size_t x_row = (size_t)w * c, o_row = x_row * sx;
  float *o = out;
  for (int n = 0; n < m; n++) {
    const float *xn = x + (size_t)n * h * x_row;
    for (int y = 0; y < h; y++) {
      float *first = o;
      for (int i = 0; i < w; i++)
        for (int r = 0; r < sx; r++)
          memcpy(first + ((size_t)i * sx + r) * c, xn + (size_t)y * x_row + (size_t)i * c,
                 (size_t)c * sizeof(float));
      o += o_row;
      for (int r = 1; r < sy; r++, o += o_row)
        memcpy(o, first, o_row * sizeof(float));
    }
  }
}

void rt_upsample_nearest_forward(float *out /* (m, h * sy, w * sx, c) */,
                                 const float *x /* (m, h, w, c) */, int m, int h, int w, int c,
                                 int sy, int sx) {
  const size_t xs = (size_t)h * w * c, os = xs * sy * sx;
  RT_PARALLEL_SLICES(m, (double)m * os, n0, n1,
                     upsample_forward_rows(out + n0 * os, x + n0 * xs, (int)(n1 - n0), h, w, c,
                                           sy, sx));
}

/* dx pixel (y, x) = the sum of dout over its sy x sx block, in (row,
 * column) order. */
static void upsample_backward_rows(float *dx, const float *dout, int m, int h, int w, int c,
                                   int sy, int sx) {
  const size_t x_row = (size_t)w * c, o_row = x_row * sx;
  rt_fill(dx, 0.0f, (size_t)m * h * x_row);
  const float *g = dout;
  for (int n = 0; n < m; n++) {
    float *dxn = dx + (size_t)n * h * x_row;
    for (int y = 0; y < h; y++)
      for (int r = 0; r < sy; r++, g += o_row)
        for (int i = 0; i < w; i++) {
          float *d = dxn + (size_t)y * x_row + (size_t)i * c;
          for (int q = 0; q < sx; q++) {
            const float *src = g + ((size_t)i * sx + q) * c;
            for (int j = 0; j < c; j++)
              d[j] += src[j];
          }
        }
  }
}

void rt_upsample_nearest_backward(float *dx /* (m, h, w, c) */,
                                  const float *dout /* (m, h * sy, w * sx, c) */, int m, int h,
                                  int w, int c, int sy, int sx) {
  const size_t xs = (size_t)h * w * c, os = xs * sy * sx;
  RT_PARALLEL_SLICES(m, (double)m * os, n0, n1,
                     upsample_backward_rows(dx + n0 * xs, dout + n0 * os, (int)(n1 - n0), h, w,
                                            c, sy, sx));
}
