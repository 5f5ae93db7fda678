/*
 * rt_augment.c — Keras 3's random image augmentation layers over NHWC float
 * batches: flip, rotation, zoom, translation, contrast, brightness, crop.
 *
 * Rotation, zoom and translation are one inverse-affine sampler
 * (sample_rows) given a transform per image; the crop's evaluation path
 * (a centred window resized) is the same sampler looking at a window of the
 * image. The sampler extends the pixel grid by the fill rule (fix_index)
 * and interpolates on the extended grid, as keras.ops.image.affine_transform
 * does on its JAX, NumPy and torch backends. Points that land on the grid
 * are copied, so an identity transform (factor 0) is exact.
 *
 * Determinism: every layer first draws its parameters from the generator,
 * image after image, for a chunk of AUGMENT_CHUNK images (on the stack:
 * nothing here allocates), then transforms the chunk in parallel, over
 * (image, row) pairs for the samplers and over images for the rest. The
 * draws are the same sequence whatever the chunk size or thread count, and
 * the parallel slices never share an output value, so the bits depend on
 * the generator alone.
 *
 * The plain references these kernels are held to (direct per-pixel
 * formulas in double precision) live in tests/test_augment.c.
 */
#include "nnc_runtime.h"
#include "rt_threads.h"

#include <math.h>
#include <string.h>

/* Images whose parameters are drawn before a parallel pass (stack space:
 * AUGMENT_CHUNK RtAffine = 12 KiB). */
#define AUGMENT_CHUNK 256

/* The largest sample coordinate a transform may produce (checked once per
 * transform, so the per-pixel conversion to an integer is always defined). */
#define COORD_LIMIT 1.0e9

static inline double uniform_between(RtRng *rng, float lower, float upper) {
  return (double)lower + ((double)upper - (double)lower) * (double)rt_rng_uniform(rng);
}

static void check_range(const char *kernel, const char *what, float lower, float upper) {
  if (!(lower <= upper))
    rt_die("%s: %s lower bound %g is above its upper bound %g", kernel, what, (double)lower,
           (double)upper);
}

static void check_images(const char *kernel, const float *out, const float *x, int m, int h,
                         int w, int c, int may_alias) {
  if (m < 0 || h <= 0 || w <= 0 || c <= 0)
    rt_die("%s: bad batch shape (%d, %d, %d, %d)", kernel, m, h, w, c);
  if (!may_alias && out == x && m > 0)
    rt_die("%s: out must not alias x (the sampler reads pixels it has already written)", kernel);
}

/* ----- the sampler ----- */

/* The cell that grid index i (any integer) reads on an axis of `size`
 * cells, or -1 where the constant fill applies. */
static inline long fix_index(long i, long size, RtFillMode fill) {
  if ((unsigned long)i < (unsigned long)size)
    return i;
  switch (fill) {
  case RT_FILL_REFLECT: { /* period 2 size: a b c d d c b a */
    long period = 2 * size, r = i % period;
    r = r < 0 ? r + period : r;
    return r < size ? r : period - 1 - r;
  }
  case RT_FILL_WRAP: {
    long r = i % size;
    return r < 0 ? r + size : r;
  }
  case RT_FILL_NEAREST:
    return i < 0 ? 0 : size - 1;
  case RT_FILL_CONSTANT:
  default:
    return -1;
  }
}

/* What the sampler reads: per image, a (win_h, win_w) window of the (h, w, c)
 * image starting at (win_y, win_x); the fill rule applies at the window's
 * edges. It writes (out_h, out_w, c) per image. */
typedef struct {
  int h, w, c;
  int win_y, win_x, win_h, win_w;
  int out_h, out_w;
  RtInterpolation interp;
  RtFillMode fill;
  float fill_value;
} SampleGeometry;

/* The whole image in, the same size out. */
static SampleGeometry whole_image(int h, int w, int c, RtInterpolation interp, RtFillMode fill,
                                  float fill_value) {
  SampleGeometry g = {.h = h, .w = w, .c = c, .win_y = 0, .win_x = 0, .win_h = h, .win_w = w,
                      .out_h = h, .out_w = w, .interp = interp, .fill = fill,
                      .fill_value = fill_value};
  return g;
}

/* One pixel's c values (NULL: the constant fill). */
static inline const float *window_pixel(const float *window, long row_stride, int c, long iy,
                                        long ix) {
  return iy < 0 || ix < 0 ? NULL : window + iy * row_stride + ix * c;
}

static inline void put_pixel(float *o, const float *p, int c, float fill_value) {
  for (int k = 0; k < c; k++)
    o[k] = p ? p[k] : fill_value;
}

/* o (c) = the bilinear blend of four pixels (NULL: the constant fill k). */
static inline void blend(float *o, const float *p00, const float *p01, const float *p10,
                         const float *p11, int c, float wx, float wy, float k) {
  for (int ch = 0; ch < c; ch++) {
    float v00 = p00 ? p00[ch] : k, v01 = p01 ? p01[ch] : k;
    float v10 = p10 ? p10[ch] : k, v11 = p11 ? p11[ch] : k;
    float top = v00 + wx * (v01 - v00), bottom = v10 + wx * (v11 - v10);
    o[ch] = top + wy * (bottom - top);
  }
}

/* out (out_w, c) = output row y of one image, sampled from its window.
 * Inlined with c a constant for one channel (grayscale), the common case. */
static inline __attribute__((always_inline)) void
sample_row(float *out, const float *window, const SampleGeometry *g, const RtAffine *t, int y,
           const int c) {
  const long row_stride = (long)g->w * c;
  const long win_w = g->win_w, win_h = g->win_h;
  for (int x = 0; x < g->out_w; x++) {
    double sx = t->a0 * x + t->a1 * y + t->a2;
    double sy = t->b0 * x + t->b1 * y + t->b2;
    float *o = out + (size_t)x * c;
    if (g->interp == RT_INTERP_NEAREST) {
      long ix = fix_index((long)nearbyint(sx), win_w, g->fill);
      long iy = fix_index((long)nearbyint(sy), win_h, g->fill);
      put_pixel(o, window_pixel(window, row_stride, c, iy, ix), c, g->fill_value);
      continue;
    }
    double fx = floor(sx), fy = floor(sy);
    float wx = (float)(sx - fx), wy = (float)(sy - fy);
    long x0 = (long)fx, y0 = (long)fy;
    int on_grid = wx == 0.0f && wy == 0.0f; /* then a copy, exact */
    if ((unsigned long)x0 < (unsigned long)(win_w - 1) &&
        (unsigned long)y0 < (unsigned long)(win_h - 1)) { /* all four inside: no fill rule */
      const float *p00 = window + y0 * row_stride + x0 * c;
      if (on_grid)
        put_pixel(o, p00, c, 0.0f);
      else
        blend(o, p00, p00 + c, p00 + row_stride, p00 + row_stride + c, c, wx, wy, 0.0f);
      continue;
    }
    long ix0 = fix_index(x0, win_w, g->fill), iy0 = fix_index(y0, win_h, g->fill);
    const float *p00 = window_pixel(window, row_stride, c, iy0, ix0);
    if (on_grid) {
      put_pixel(o, p00, c, g->fill_value);
      continue;
    }
    long ix1 = fix_index(x0 + 1, win_w, g->fill), iy1 = fix_index(y0 + 1, win_h, g->fill);
    blend(o, p00, window_pixel(window, row_stride, c, iy0, ix1),
          window_pixel(window, row_stride, c, iy1, ix0),
          window_pixel(window, row_stride, c, iy1, ix1), c, wx, wy, g->fill_value);
  }
}

/* Rows [r0, r1) of the batch's output, row r being row r % out_h of image
 * r / out_h; image i uses transform t[i * t_step] (t_step 0: one for all). */
static void sample_rows(float *out, const float *x, const SampleGeometry *g, const RtAffine *t,
                        int t_step, long r0, long r1) {
  const size_t in_image = (size_t)g->h * g->w * g->c;
  const size_t out_row = (size_t)g->out_w * g->c;
  for (long r = r0; r < r1; r++) {
    long i = r / g->out_h;
    int y = (int)(r % g->out_h);
    const float *window = x + (size_t)i * in_image + ((size_t)g->win_y * g->w + g->win_x) * g->c;
    if (g->c == 1)
      sample_row(out + (size_t)r * out_row, window, g, t + i * t_step, y, 1);
    else
      sample_row(out + (size_t)r * out_row, window, g, t + i * t_step, y, g->c);
  }
}

/* Whether every point t maps the (out_h, out_w) grid to is finite and within
 * COORD_LIMIT (the extremes of an affine map are at the corners). */
static int transform_in_range(const RtAffine *t, int out_h, int out_w) {
  double bound_x = fabs(t->a0) * (out_w - 1) + fabs(t->a1) * (out_h - 1) + fabs(t->a2);
  double bound_y = fabs(t->b0) * (out_w - 1) + fabs(t->b1) * (out_h - 1) + fabs(t->b2);
  return bound_x < COORD_LIMIT && bound_y < COORD_LIMIT; /* false for NaN too */
}

static void sample_batch(float *out, const float *x, int m, const SampleGeometry *g,
                         const RtAffine *t, int t_step) {
  for (int i = 0; i < (t_step ? m : 1); i++)
    if (!transform_in_range(&t[i], g->out_h, g->out_w))
      rt_die("augmentation: image %d's transform (%g %g %g; %g %g %g) is not finite or maps "
             "beyond %g pixels",
             i, t[i].a0, t[i].a1, t[i].a2, t[i].b0, t[i].b1, t[i].b2, COORD_LIMIT);
  long rows = (long)m * g->out_h;
  /* about 8 element visits per output value (4 neighbours, weights) */
  double work = 8.0 * rows * g->out_w * g->c;
  RT_PARALLEL_SLICES(rows, work, r0, r1, sample_rows(out, x, g, t, t_step, r0, r1));
}

void rt_affine_sample(float *out /* (m, h, w, c) */, const float *x /* (m, h, w, c) */,
                      const RtAffine *t /* (m) */, int m, int h, int w, int c,
                      RtInterpolation interp, RtFillMode fill, float fill_value) {
  check_images("rt_affine_sample", out, x, m, h, w, c, 0);
  SampleGeometry g = whole_image(h, w, c, interp, fill, fill_value);
  sample_batch(out, x, m, &g, t, 1);
}

/* ----- transforms: rotation, zoom, translation ----- */

/* Keras's _compute_affine_matrix for a rotation by `angle` about the centre. */
static RtAffine rotation_about_centre(double angle, int h, int w) {
  double cx = 0.5 * (w - 1), cy = 0.5 * (h - 1);
  double cosine = cos(angle), sine = sin(angle);
  RtAffine t = {cosine, -sine, cx - cx * cosine + cy * sine,
                sine,   cosine, cy - cx * sine - cy * cosine};
  return t;
}

void rt_random_rotation_transforms(RtAffine *t /* (m) */, int m, int h, int w, float lower,
                                   float upper, RtRng *rng) {
  check_range("random_rotation", "factor", lower, upper);
  const double two_pi = 6.283185307179586;
  for (int i = 0; i < m; i++)
    t[i] = rotation_about_centre(uniform_between(rng, lower, upper) * two_pi, h, w);
}

/* Keras's _get_zoom_matrix: scale about the centre ((w - 1) / 2, (h - 1) / 2). */
static RtAffine zoom_about_centre(double sy, double sx, int h, int w) {
  RtAffine t = {sx, 0.0, 0.5 * (w - 1) * (1.0 - sx), 0.0, sy, 0.5 * (h - 1) * (1.0 - sy)};
  return t;
}

void rt_random_zoom_transforms(RtAffine *t /* (m) */, int m, int h, int w, float height_lower,
                               float height_upper, float width_lower, float width_upper,
                               int width_from_height, RtRng *rng) {
  check_range("random_zoom", "height_factor", height_lower, height_upper);
  if (!width_from_height)
    check_range("random_zoom", "width_factor", width_lower, width_upper);
  for (int i = 0; i < m; i++) {
    double sy = 1.0 + uniform_between(rng, height_lower, height_upper);
    double sx = width_from_height ? sy : 1.0 + uniform_between(rng, width_lower, width_upper);
    t[i] = zoom_about_centre(sy, sx, h, w);
  }
}

void rt_random_translation_transforms(RtAffine *t /* (m) */, int m, int h, int w,
                                      float height_lower, float height_upper, float width_lower,
                                      float width_upper, RtRng *rng) {
  check_range("random_translation", "height_factor", height_lower, height_upper);
  check_range("random_translation", "width_factor", width_lower, width_upper);
  for (int i = 0; i < m; i++) {
    double dy = uniform_between(rng, height_lower, height_upper) * h;
    double dx = uniform_between(rng, width_lower, width_upper) * w;
    RtAffine shift = {1.0, 0.0, -dx, 0.0, 1.0, -dy};
    t[i] = shift;
  }
}

/* The layers that sample: transforms of a chunk drawn, then the chunk sampled. */
typedef enum { AFFINE_ROTATION, AFFINE_ZOOM, AFFINE_TRANSLATION } AffineLayer;

typedef struct {
  AffineLayer layer;
  float height_lower, height_upper; /* rotation: the factor range */
  float width_lower, width_upper;
  int width_from_height;
} AffineDraw;

static void draw_transforms(RtAffine *t, int n, int h, int w, const AffineDraw *d, RtRng *rng) {
  switch (d->layer) {
  case AFFINE_ROTATION:
    rt_random_rotation_transforms(t, n, h, w, d->height_lower, d->height_upper, rng);
    break;
  case AFFINE_ZOOM:
    rt_random_zoom_transforms(t, n, h, w, d->height_lower, d->height_upper, d->width_lower,
                              d->width_upper, d->width_from_height, rng);
    break;
  case AFFINE_TRANSLATION:
    rt_random_translation_transforms(t, n, h, w, d->height_lower, d->height_upper,
                                     d->width_lower, d->width_upper, rng);
    break;
  }
}

static void random_affine(const char *kernel, float *out, const float *x, int m, int h, int w,
                          int c, const AffineDraw *d, RtFillMode fill, RtInterpolation interp,
                          float fill_value, RtRng *rng) {
  check_images(kernel, out, x, m, h, w, c, 0);
  SampleGeometry g = whole_image(h, w, c, interp, fill, fill_value);
  const size_t image = (size_t)h * w * c;
  RtAffine t[AUGMENT_CHUNK];
  for (int i0 = 0; i0 < m; i0 += AUGMENT_CHUNK) {
    int n = m - i0 < AUGMENT_CHUNK ? m - i0 : AUGMENT_CHUNK;
    draw_transforms(t, n, h, w, d, rng);
    sample_batch(out + (size_t)i0 * image, x + (size_t)i0 * image, n, &g, t, 1);
  }
}

void rt_random_rotation_forward(float *out, const float *x, int m, int h, int w, int c,
                                float lower, float upper, RtFillMode fill, RtInterpolation interp,
                                float fill_value, RtRng *rng) {
  AffineDraw d = {AFFINE_ROTATION, lower, upper, 0.0f, 0.0f, 0};
  random_affine("rt_random_rotation_forward", out, x, m, h, w, c, &d, fill, interp, fill_value,
                rng);
}

void rt_random_zoom_forward(float *out, const float *x, int m, int h, int w, int c,
                            float height_lower, float height_upper, float width_lower,
                            float width_upper, int width_from_height, RtFillMode fill,
                            RtInterpolation interp, float fill_value, RtRng *rng) {
  AffineDraw d = {AFFINE_ZOOM, height_lower, height_upper, width_lower, width_upper,
                  width_from_height};
  random_affine("rt_random_zoom_forward", out, x, m, h, w, c, &d, fill, interp, fill_value, rng);
}

void rt_random_translation_forward(float *out, const float *x, int m, int h, int w, int c,
                                   float height_lower, float height_upper, float width_lower,
                                   float width_upper, RtFillMode fill, RtInterpolation interp,
                                   float fill_value, RtRng *rng) {
  AffineDraw d = {AFFINE_TRANSLATION, height_lower, height_upper, width_lower, width_upper, 0};
  random_affine("rt_random_translation_forward", out, x, m, h, w, c, &d, fill, interp,
                fill_value, rng);
}

/* ----- flip ----- */

/* out (h, w, c) = one image x (h, w, c) mirrored on the chosen axes. Each
 * pixel is swapped with its mirror image once (the first of the pair in
 * memory order does it), reading both before writing either, so out may
 * equal x. */
static void flip_image(float *out, const float *x, int h, int w, int c, int flip_rows,
                       int flip_columns) {
  for (long y = 0; y < h; y++) {
    long mirror_y = flip_rows ? h - 1 - y : y;
    if (mirror_y < y)
      break; /* the rest of the rows were swapped already */
    for (long col = 0; col < w; col++) {
      long p = (y * w + col) * c;
      long q = (mirror_y * w + (flip_columns ? w - 1 - col : col)) * c;
      if (q < p)
        continue;
      for (int k = 0; k < c; k++) {
        float a = x[p + k], b = x[q + k];
        out[p + k] = b;
        out[q + k] = a;
      }
    }
  }
}

void rt_random_flip_forward(float *out /* (m, h, w, c) */, const float *x /* (m, h, w, c) */,
                            int m, int h, int w, int c, RtFlipMode mode, RtRng *rng) {
  check_images("rt_random_flip_forward", out, x, m, h, w, c, 1);
  const int rows = mode != RT_FLIP_HORIZONTAL, columns = mode != RT_FLIP_VERTICAL;
  const size_t image = (size_t)h * w * c;
  unsigned char flip[AUGMENT_CHUNK];
  for (int i0 = 0; i0 < m; i0 += AUGMENT_CHUNK) {
    int n = m - i0 < AUGMENT_CHUNK ? m - i0 : AUGMENT_CHUNK;
    for (int i = 0; i < n; i++) /* Keras: flip where uniform <= 0.5 */
      flip[i] = rt_rng_uniform(rng) < 0.5f;
    RT_PARALLEL_SLICES(n, (double)n * image, lo, hi, {
      for (long i = lo; i < hi; i++) {
        float *o = out + (i0 + i) * image;
        const float *in = x + (i0 + i) * image;
        if (flip[i])
          flip_image(o, in, h, w, c, rows, columns);
        else if (o != in)
          memcpy(o, in, image * sizeof(float));
      }
    });
  }
}

/* ----- contrast and brightness ----- */

static inline float clip(float v, float lo, float hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/* Channels whose means one pass over an image gathers. */
#define CONTRAST_CHANNEL_BLOCK 16

/* out (h, w, c) = k x + (1 - k) mean(x) per channel, clipped; out may equal x.
 * The sums run in double, over four interleaved partial sums (a fixed
 * order, so the same bits every time, without one long dependency chain). */
static void contrast_image(float *out, const float *x, long pixels, int c, float k, float lo,
                           float hi) {
  for (int c0 = 0; c0 < c; c0 += CONTRAST_CHANNEL_BLOCK) {
    int cb = c - c0 < CONTRAST_CHANNEL_BLOCK ? c - c0 : CONTRAST_CHANNEL_BLOCK;
    double sum[4][CONTRAST_CHANNEL_BLOCK] = {{0}};
    for (long p = 0; p < pixels; p++)
      for (int j = 0; j < cb; j++)
        sum[p & 3][j] += x[p * c + c0 + j];
    float shift[CONTRAST_CHANNEL_BLOCK]; /* (1 - k) mean */
    for (int j = 0; j < cb; j++) {
      double total = (sum[0][j] + sum[1][j]) + (sum[2][j] + sum[3][j]);
      shift[j] = (float)((1.0 - (double)k) * (total / (double)pixels));
    }
    if (cb == 1 && c == 1) { /* one channel: a plain, vectorized loop */
      for (long p = 0; p < pixels; p++)
        out[p] = clip(k * x[p] + shift[0], lo, hi);
      continue;
    }
    for (long p = 0; p < pixels; p++)
      for (int j = 0; j < cb; j++)
        out[p * c + c0 + j] = clip(k * x[p * c + c0 + j] + shift[j], lo, hi);
  }
}

static void check_value_range(const char *kernel, float lo, float hi) {
  if (!(lo < hi))
    rt_die("%s: value_range (%g, %g) must have low < high", kernel, (double)lo, (double)hi);
}

void rt_random_contrast_forward(float *out /* (m, h, w, c) */, const float *x /* (m, h, w, c) */,
                                int m, int h, int w, int c, float lower, float upper,
                                float value_lo, float value_hi, RtRng *rng) {
  check_images("rt_random_contrast_forward", out, x, m, h, w, c, 1);
  check_value_range("rt_random_contrast_forward", value_lo, value_hi);
  if (!(1.0f - lower <= 1.0f + upper))
    rt_die("rt_random_contrast_forward: the range [1 - %g, 1 + %g] is empty", (double)lower,
           (double)upper);
  const long pixels = (long)h * w;
  const size_t image = (size_t)pixels * c;
  float k[AUGMENT_CHUNK];
  for (int i0 = 0; i0 < m; i0 += AUGMENT_CHUNK) {
    int n = m - i0 < AUGMENT_CHUNK ? m - i0 : AUGMENT_CHUNK;
    for (int i = 0; i < n; i++)
      k[i] = (float)uniform_between(rng, 1.0f - lower, 1.0f + upper);
    RT_PARALLEL_SLICES(n, 2.0 * n * image, lo, hi, {
      for (long i = lo; i < hi; i++)
        contrast_image(out + (i0 + i) * image, x + (i0 + i) * image, pixels, c, k[i], value_lo,
                       value_hi);
    });
  }
}

void rt_random_brightness_forward(float *out /* (m, h, w, c) */,
                                  const float *x /* (m, h, w, c) */, int m, int h, int w, int c,
                                  float lower, float upper, float value_lo, float value_hi,
                                  RtRng *rng) {
  check_images("rt_random_brightness_forward", out, x, m, h, w, c, 1);
  check_value_range("rt_random_brightness_forward", value_lo, value_hi);
  check_range("random_brightness", "factor", lower, upper);
  const size_t image = (size_t)h * w * c;
  float delta[AUGMENT_CHUNK];
  for (int i0 = 0; i0 < m; i0 += AUGMENT_CHUNK) {
    int n = m - i0 < AUGMENT_CHUNK ? m - i0 : AUGMENT_CHUNK;
    for (int i = 0; i < n; i++)
      delta[i] = (float)(uniform_between(rng, lower, upper) * ((double)value_hi - value_lo));
    RT_PARALLEL_SLICES(n, (double)n * image, lo, hi, {
      for (long i = lo; i < hi; i++) {
        float *o = out + (i0 + i) * image;
        const float *in = x + (i0 + i) * image;
        for (size_t j = 0; j < image; j++)
          o[j] = clip(in[j] + delta[i], value_lo, value_hi);
      }
    });
  }
}

/* ----- crop ----- */

static void check_crop(const char *kernel, const float *out, const float *x, int m, int h, int w,
                       int c, int crop_h, int crop_w) {
  check_images(kernel, out, x, m, h, w, c, 0);
  if (crop_h <= 0 || crop_w <= 0)
    rt_die("%s: crop size (%d, %d) must be positive", kernel, crop_h, crop_w);
}

/* out (m, crop_h, crop_w, c) = the window at (row, col) of every image. */
static void copy_windows(float *out, const float *x, int m, int h, int w, int c, int crop_h,
                         int crop_w, int row, int col) {
  const size_t in_image = (size_t)h * w * c, out_image = (size_t)crop_h * crop_w * c;
  const size_t span = (size_t)crop_w * c;
  RT_PARALLEL_SLICES(m, (double)m * out_image, lo, hi, {
    for (long i = lo; i < hi; i++)
      for (int y = 0; y < crop_h; y++)
        memcpy(out + i * out_image + y * span,
               x + i * in_image + ((size_t)(row + y) * w + col) * c, span * sizeof(float));
  });
}

void rt_random_crop_infer(float *out /* (m, crop_h, crop_w, c) */,
                          const float *x /* (m, h, w, c) */, int m, int h, int w, int c,
                          int crop_h, int crop_w) {
  check_crop("rt_random_crop_infer", out, x, m, h, w, c, crop_h, crop_w);
  if (h == crop_h && w == crop_w) {
    copy_windows(out, x, m, h, w, c, crop_h, crop_w, 0, 0);
    return;
  }
  /* Keras's RandomCrop: int(float(w * crop_h) / crop_w), clamped to [1, h] */
  int win_h = (int)((double)w * crop_h / crop_w), win_w = (int)((double)h * crop_w / crop_h);
  win_h = win_h > h ? h : (win_h < 1 ? 1 : win_h);
  win_w = win_w > w ? w : (win_w < 1 ? 1 : win_w);
  /* half-pixel resize of the window: output x samples (x + 0.5) s - 0.5 */
  double sy = (double)win_h / crop_h, sx = (double)win_w / crop_w;
  RtAffine resize = {sx, 0.0, 0.5 * sx - 0.5, 0.0, sy, 0.5 * sy - 0.5};
  /* nearest fill: edges clamp to the window, as a crop then a resize */
  SampleGeometry g = {.h = h, .w = w, .c = c, .win_y = (h - win_h) / 2,
                      .win_x = (w - win_w) / 2, .win_h = win_h, .win_w = win_w,
                      .out_h = crop_h, .out_w = crop_w, .interp = RT_INTERP_BILINEAR,
                      .fill = RT_FILL_NEAREST, .fill_value = 0.0f};
  sample_batch(out, x, m, &g, &resize, 0);
}

void rt_random_crop_forward(float *out /* (m, crop_h, crop_w, c) */,
                            const float *x /* (m, h, w, c) */, int m, int h, int w, int c,
                            int crop_h, int crop_w, RtRng *rng) {
  check_crop("rt_random_crop_forward", out, x, m, h, w, c, crop_h, crop_w);
  if (h < crop_h || w < crop_w) { /* Keras's fallback for small images */
    rt_random_crop_infer(out, x, m, h, w, c, crop_h, crop_w);
    return;
  }
  int row = (int)rt_rng_below(rng, (uint32_t)(h - crop_h + 1));
  int col = (int)rt_rng_below(rng, (uint32_t)(w - crop_w + 1));
  copy_windows(out, x, m, h, w, c, crop_h, crop_w, row, col);
}
