/*
 * nnc_infer.h — plain C99 inference kernels: the reference version of every
 * forward kernel the runtime has in an optimized form.
 *
 * Two users:
 *   - `nnc export` copies this text into an exported model's NAME.c, so the
 *     model compiles with any C99 compiler and no other file (OpenBLAS is
 *     optional: define NNC_INFER_CBLAS and link a CBLAS for the GEMMs);
 *   - the runtime's tests check the optimized kernels against these.
 * Everything is static, single-threaded and allocation-free: the caller
 * passes every buffer. Layout is NHWC; a batch of m examples; every size is a
 * parameter. Shape comments name each tensor argument, outputs first.
 *
 * Semantics are Keras's in inference: dropout is the identity, batch
 * normalization uses its moving statistics, Normalization divides by
 * max(sqrt(var), 1e-7), 'same' padding is TensorFlow's (the extra pixel after).
 */
#ifndef NNC_INFER_H
#define NNC_INFER_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef NNC_INFER_CBLAS
#include <cblas.h>
#endif

/* Activations, as the runtime's RtAct numbers them. */
enum {
  NN_ACT_NONE,
  NN_ACT_RELU,
  NN_ACT_SIGMOID,
  NN_ACT_TANH,
  NN_ACT_LEAKY_RELU, /* x > 0 ? x : alpha x */
  NN_ACT_ELU,        /* x > 0 ? x : alpha (e^x - 1) */
  NN_ACT_RELU6       /* min(max(x, 0), 6) */
};

/* The geometry of a 2-D window over an NHWC tensor (the runtime's RtWindow). */
typedef struct {
  int h, w, c;           /* input height, width, channels */
  int oh, ow;            /* output height, width */
  int kh, kw;            /* window */
  int sh, sw;            /* strides */
  int pad_top, pad_left; /* zero padding before; the rest after */
} NnWindow;

static inline float nn_act1(float x, int act, float alpha) {
  switch (act) {
  case NN_ACT_RELU: return x > 0 ? x : 0;
  case NN_ACT_SIGMOID: return 1 / (1 + expf(-x));
  case NN_ACT_TANH: return tanhf(x);
  case NN_ACT_LEAKY_RELU: return x > 0 ? x : alpha * x;
  case NN_ACT_ELU: return x > 0 ? x : alpha * expm1f(x);
  case NN_ACT_RELU6: return x < 0 ? 0 : x > 6 ? 6 : x;
  default: return x;
  }
}

/* out (count) = act(x (count)); out may equal x */
static inline void nn_act(float *out, const float *x, size_t count, int act, float alpha) {
  for (size_t i = 0; i < count; i++)
    out[i] = nn_act1(x[i], act, alpha);
}

/* out (m, f) = (x - mean) / max(sqrt(var), 1e-7); mean, var (1) or (f) */
static inline void nn_normalize_u8(float *out, const uint8_t *x, const float *mean, const float *var,
                            int m, int f, int per_feature) {
  for (size_t i = 0; i < (size_t)m * f; i++) {
    size_t j = per_feature ? i % (size_t)f : 0;
    float sd = sqrtf(var[j]);
    out[i] = ((float)x[i] - mean[j]) / (sd > 1e-7f ? sd : 1e-7f);
  }
}

/* the same from float pixel values */
static inline void nn_normalize(float *out, const float *x, const float *mean, const float *var,
                                int m, int f, int per_feature) {
  for (size_t i = 0; i < (size_t)m * f; i++) {
    size_t j = per_feature ? i % (size_t)f : 0;
    float sd = sqrtf(var[j]);
    out[i] = (x[i] - mean[j]) / (sd > 1e-7f ? sd : 1e-7f);
  }
}

/* out (count) = x * scale + offset, from uint8 or float */
static inline void nn_rescale_u8(float *out, const uint8_t *x, float scale, float offset, size_t count) {
  for (size_t i = 0; i < count; i++)
    out[i] = (float)x[i] * scale + offset;
}
static inline void nn_rescale(float *out, const float *x, float scale, float offset, size_t count) {
  for (size_t i = 0; i < count; i++)
    out[i] = x[i] * scale + offset;
}
static inline void nn_cast_u8(float *out, const uint8_t *x, size_t count) {
  for (size_t i = 0; i < count; i++)
    out[i] = (float)x[i];
}

/* out (m, n) = act(x (m, k) . w (k, n) + bias (n)); bias may be NULL */
static inline void nn_dense(float *out, const float *x, const float *w, const float *bias, int m, int k,
                     int n, int act, float alpha) {
#ifdef NNC_INFER_CBLAS
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, x, k, w, n, 0.0f, out, n);
#else
  for (int i = 0; i < m; i++) {
    float *o = out + (size_t)i * n;
    for (int j = 0; j < n; j++)
      o[j] = 0;
    for (int p = 0; p < k; p++) {
      float xv = x[(size_t)i * k + p];
      const float *wr = w + (size_t)p * n;
      for (int j = 0; j < n; j++)
        o[j] += xv * wr[j];
    }
  }
#endif
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      float *o = out + (size_t)i * n + j;
      *o = nn_act1(*o + (bias ? bias[j] : 0), act, alpha);
    }
}

/* out (rows, n) = act(x (rows, n) + bias (n)); out may equal x */
static inline void nn_bias_act(float *out, const float *x, const float *bias, size_t rows, int n,
                               int act, float alpha) {
  for (size_t r = 0; r < rows; r++)
    for (int j = 0; j < n; j++)
      out[r * n + j] = nn_act1(x[r * n + j] + bias[j], act, alpha);
}

/* out (m, oh, ow, f) = act(grouped convolution of x (m, h, w, c) + bias (f)),
 * direct; the channels split into `groups` equal groups, output channel j
 * seeing only its group's c / groups input channels; kernel (kh, kw,
 * c / groups, f), Keras's layout; zero where the window hangs over the
 * padding. groups 1 is Conv2D, groups c DepthwiseConv2D. */
static inline void nn_grouped_conv2d(float *out, const float *x, const float *kernel,
                                     const float *bias, int m, const NnWindow *g, int f,
                                     int groups, int act, float alpha) {
  int cg = g->c / groups, fg = f / groups;
  for (int n = 0; n < m; n++)
    for (int oy = 0; oy < g->oh; oy++)
      for (int ox = 0; ox < g->ow; ox++) {
        float *o = out + (((size_t)n * g->oh + oy) * g->ow + ox) * f;
        for (int j = 0; j < f; j++) {
          float s = bias ? bias[j] : 0;
          const int c0 = (j / fg) * cg; /* the group's first input channel */
          for (int ky = 0; ky < g->kh; ky++) {
            int iy = oy * g->sh + ky - g->pad_top;
            for (int kx = 0; kx < g->kw && iy >= 0 && iy < g->h; kx++) {
              int ix = ox * g->sw + kx - g->pad_left;
              if (ix < 0 || ix >= g->w)
                continue;
              const float *xp = x + (((size_t)n * g->h + iy) * g->w + ix) * g->c + c0;
              const float *kp = kernel + ((size_t)ky * g->kw + kx) * cg * f + j;
              for (int ci = 0; ci < cg; ci++)
                s += xp[ci] * kp[(size_t)ci * f];
            }
          }
          o[j] = nn_act1(s, act, alpha);
        }
      }
}

/* Conv2D: kernel (kh, kw, c, f) */
static inline void nn_conv2d(float *out, const float *x, const float *kernel, const float *bias,
                             int m, const NnWindow *g, int f, int act, float alpha) {
  nn_grouped_conv2d(out, x, kernel, bias, m, g, f, 1, act, alpha);
}

/* DepthwiseConv2D: kernel (kh, kw, c, dm), output channel ci*dm + k from input ci */
static inline void nn_depthwise2d(float *out, const float *x, const float *kernel,
                                  const float *bias, int m, const NnWindow *g, int dm, int act,
                                  float alpha) {
  nn_grouped_conv2d(out, x, kernel, bias, m, g, g->c * dm, g->c, act, alpha);
}

/* out (m, oh, ow, c) = max (is_max) or mean over each window's cells inside
 * the image (Keras 'same' average pooling averages only the valid cells) */
static inline void nn_pool2d(float *out, const float *x, int m, const NnWindow *g, int is_max) {
  for (int n = 0; n < m; n++)
    for (int oy = 0; oy < g->oh; oy++)
      for (int ox = 0; ox < g->ow; ox++)
        for (int ci = 0; ci < g->c; ci++) {
          float acc = is_max ? -FLT_MAX : 0;
          int cells = 0;
          for (int ky = 0; ky < g->kh; ky++)
            for (int kx = 0; kx < g->kw; kx++) {
              int iy = oy * g->sh + ky - g->pad_top, ix = ox * g->sw + kx - g->pad_left;
              if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w)
                continue;
              float v = x[(((size_t)n * g->h + iy) * g->w + ix) * g->c + ci];
              acc = is_max ? (v > acc ? v : acc) : acc + v;
              cells++;
            }
          out[(((size_t)n * g->oh + oy) * g->ow + ox) * g->c + ci] =
              is_max ? acc : acc / (float)cells;
        }
}

/* out (m, c) = mean over the hw positions of x (m, hw, c) */
static inline void nn_global_avgpool(float *out, const float *x, int m, int hw, int c) {
  for (int n = 0; n < m; n++)
    for (int ci = 0; ci < c; ci++) {
      float s = 0;
      for (int p = 0; p < hw; p++)
        s += x[((size_t)n * hw + p) * c + ci];
      out[(size_t)n * c + ci] = s / (float)hw;
    }
}

/* out (rows, c) = (x - moving_mean) gamma / sqrt(moving_var + eps) + beta */
static inline void nn_batchnorm(float *out, const float *x, const float *gamma, const float *beta,
                         const float *mean, const float *var, int rows, int c, float eps) {
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < c; j++) {
      size_t i = (size_t)r * c + j;
      out[i] = (x[i] - mean[j]) * (gamma[j] / sqrtf(var[j] + eps)) + beta[j];
    }
}

/* out (m, c) = softmax over c, max-subtracted; in place allowed */
static inline void nn_softmax(float *out, const float *x, int m, int c) {
  for (int i = 0; i < m; i++) {
    const float *xi = x + (size_t)i * c;
    float *oi = out + (size_t)i * c, mx = xi[0], s = 0;
    for (int j = 1; j < c; j++)
      mx = xi[j] > mx ? xi[j] : mx;
    for (int j = 0; j < c; j++)
      s += oi[j] = expf(xi[j] - mx);
    for (int j = 0; j < c; j++)
      oi[j] /= s;
  }
}

/* out = a + b (count) */
static inline void nn_add(float *out, const float *a, const float *b, size_t count) {
  for (size_t i = 0; i < count; i++)
    out[i] = a[i] + b[i];
}

/* out (rows, ca + cb) = [a (rows, ca), b (rows, cb)] */
static inline void nn_concat(float *out, const float *a, const float *b, size_t rows, int ca, int cb) {
  for (size_t r = 0; r < rows; r++) {
    memcpy(out + r * (size_t)(ca + cb), a + r * (size_t)ca, sizeof(float) * (size_t)ca);
    memcpy(out + r * (size_t)(ca + cb) + ca, b + r * (size_t)cb, sizeof(float) * (size_t)cb);
  }
}

/* out (m, h + top + bottom, w + left + right, c) = x (m, h, w, c) with zeros around */
static inline void nn_zero_pad(float *out, const float *x, int m, int h, int w, int c, int top,
                        int bottom, int left, int right) {
  int oh = h + top + bottom, ow = w + left + right;
  memset(out, 0, sizeof(float) * (size_t)m * oh * ow * c);
  for (int n = 0; n < m; n++)
    for (int y = 0; y < h; y++)
      memcpy(out + (((size_t)n * oh + y + top) * ow + left) * c,
             x + (((size_t)n * h + y) * w) * c, sizeof(float) * (size_t)w * c);
}

/* out (m, h sy, w sx, c) = each pixel of x (m, h, w, c) repeated sy x sx times */
static inline void nn_upsample_nearest(float *out, const float *x, int m, int h, int w, int c, int sy,
                                int sx) {
  int oh = h * sy, ow = w * sx;
  for (int n = 0; n < m; n++)
    for (int y = 0; y < oh; y++)
      for (int xx = 0; xx < ow; xx++)
        memcpy(out + (((size_t)n * oh + y) * ow + xx) * c,
               x + (((size_t)n * h + y / sy) * w + xx / sx) * c, sizeof(float) * (size_t)c);
}

#endif
