/*
 * test_conv.c — Check suite for rt_conv.c: im2col/col2im convolution,
 * pooling, global average pooling, batch normalization, rescaling and
 * concatenation.
 *
 * Every optimized kernel is compared with a plain reference written here:
 * direct nested loops in double that test each window cell against the image
 * bounds (no clipping tricks), with the window geometry taken from
 * window_make, which implements the header's formulas for 'same' (TF) and
 * 'valid' padding. The convolution is the one the compiler emits: rt_im2col,
 * then rt_matmul_forward with the kernel (kh*kw*c, filters).
 *
 * Backward kernels are checked against central finite differences of
 * L = sum(out * r) for a fixed random r, where out is computed by the double
 * reference: the step is applied to the float input, and (L(x + h) -
 * L(x - h)) / (actual step) is formed in double, so the numeric gradient is
 * exact up to double rounding for the linear kernels. Outputs of backward
 * kernels are prefilled with NaN: a kernel that accumulates, or leaves an
 * element unwritten, fails. Failures print the worst element, its index and
 * its NHWC coordinates.
 */
#include "nnc_runtime.h"

#include "gradcheck_test.h"
#include "window_test.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FD_STEP 1e-3f
#define FD_REL_TOL 1e-3
#define FD_ABS_TOL 1e-4

/* ===== helpers ===== */


/* Distinct values -(0.05 + 0.01 k), k a random permutation of 0..count-1:
 * all negative (so a zero from the padding would win a max if it could) and
 * 0.01 apart (so a finite-difference step of 1e-3 never reorders them). */
static void fill_distinct_negative(float *p /* (count) */, size_t count, RtRng *rng) {
  int *perm = rt_malloc(count * sizeof(int));
  for (size_t i = 0; i < count; i++)
    perm[i] = (int)i;
  rt_rng_shuffle(rng, perm, (int)count);
  for (size_t i = 0; i < count; i++)
    p[i] = -(0.05f + 0.01f * (float)perm[i]);
  free(perm);
}


/* The backward kernels here are linear in each input (or smooth near the
 * test points): tight tolerances. */
static const GradCheck kGradCheck = {FD_STEP, FD_REL_TOL, FD_ABS_TOL, NULL, NULL};

/* analytic (count) must match central differences of objective with respect
 * to input (count); a failure names the element's NHWC coordinates. */
static void check_gradient(const char *what, ObjectiveFn objective, void *ctx,
                           float *input /* (count) */, const float *analytic /* (count) */,
                           size_t count, const Shape4 *shape) {
  gradcheck_nhwc(what, &kGradCheck, objective, ctx, input, analytic, count, shape);
}

static void assert_close_f(const char *what, const float *got, const float *want, size_t count,
                           double atol, double rtol, const Shape4 *shape) {
  double *want_d = new_doubles(count);
  for (size_t i = 0; i < count; i++)
    want_d[i] = want[i];
  assert_close_nhwc(what, got, want_d, count, atol, rtol, shape);
  free(want_d);
}

/* Sizes TensorFlow gives for these layers (tf.nn.conv2d / max_pool). */
START_TEST(test_window_geometry) {
  static const struct {
    int in, k, s, same, out, pad_before;
  } cases[] = {
      {28, 3, 1, 1, 28, 1}, /* 3x3 'same' on Fashion-MNIST */
      {28, 2, 2, 0, 14, 0}, /* 2x2 max pooling */
      {14, 3, 1, 1, 14, 1}, {7, 4, 1, 1, 7, 1}, /* even kernel: 1 before, 2 after */
      {7, 3, 2, 1, 4, 1},   {6, 3, 2, 1, 3, 0}, /* pad_total 1: the pixel goes after */
      {5, 1, 2, 1, 3, 0},   {4, 5, 1, 1, 4, 2}, {7, 3, 2, 0, 3, 0},
      {6, 2, 2, 1, 3, 0},   {7, 2, 2, 0, 3, 0}, /* the odd last row is dropped */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int out, pad;
    axis_geometry(cases[i].in, cases[i].k, cases[i].s, cases[i].same, &out, &pad);
    ck_assert_msg(out == cases[i].out && pad == cases[i].pad_before,
                  "in %d k %d s %d %s: out %d pad %d, want out %d pad %d", cases[i].in,
                  cases[i].k, cases[i].s, cases[i].same ? "same" : "valid", out, pad,
                  cases[i].out, cases[i].pad_before);
  }
}
END_TEST

/* ===== references ===== */

static float at_nhwc(const float *x, const RtWindow *win, int n, int y, int x_, int ch) {
  return x[(((size_t)n * win->h + y) * win->w + x_) * win->c + ch];
}

/* out (m, oh, ow, filters) = the direct convolution of x (m, h, w, c) with
 * kernel (kh, kw, c, filters), zero padding, in double. */
static void conv_reference(double *out, const float *x, const float *kernel, int m,
                           const RtWindow *win, int filters) {
  for (int n = 0; n < m; n++)
    for (int oy = 0; oy < win->oh; oy++)
      for (int ox = 0; ox < win->ow; ox++)
        for (int f = 0; f < filters; f++) {
          double sum = 0.0;
          for (int ky = 0; ky < win->kh; ky++)
            for (int kx = 0; kx < win->kw; kx++)
              for (int ch = 0; ch < win->c; ch++) {
                int y = oy * win->sh - win->pad_top + ky, xx = ox * win->sw - win->pad_left + kx;
                if (!window_inside(win, y, xx))
                  continue; /* zero padding */
                size_t k_at = (((size_t)ky * win->kw + kx) * win->c + ch) * filters + f;
                sum += (double)at_nhwc(x, win, n, y, xx, ch) * kernel[k_at];
              }
          out[(((size_t)n * win->oh + oy) * win->ow + ox) * filters + f] = sum;
        }
}

typedef enum { POOL_MAX, POOL_AVG } PoolKind;

/* out (m, oh, ow, c): max or mean over the window cells inside the image. */
static void pool_reference(double *out, const float *x, int m, const RtWindow *win,
                           PoolKind kind) {
  for (int n = 0; n < m; n++)
    for (int oy = 0; oy < win->oh; oy++)
      for (int ox = 0; ox < win->ow; ox++)
        for (int ch = 0; ch < win->c; ch++) {
          double best = -INFINITY, sum = 0.0;
          int cells = 0;
          for (int ky = 0; ky < win->kh; ky++)
            for (int kx = 0; kx < win->kw; kx++) {
              int y = oy * win->sh - win->pad_top + ky, xx = ox * win->sw - win->pad_left + kx;
              if (!window_inside(win, y, xx))
                continue;
              double v = at_nhwc(x, win, n, y, xx, ch);
              best = fmax(best, v);
              sum += v;
              cells++;
            }
          out[(((size_t)n * win->oh + oy) * win->ow + ox) * win->c + ch] =
              kind == POOL_MAX ? best : sum / cells;
        }
}

/* ===== convolution: im2col + sgemm ===== */

typedef struct {
  int h, w, c, kh, kw, sh, sw, same, filters;
} ConvShape;

static const ConvShape kConvShapes[] = {
    {7, 5, 1, 3, 3, 1, 1, 1, 3},  /* odd sizes, c = 1 */
    {7, 5, 3, 3, 3, 1, 1, 0, 8},  /* valid */
    {7, 5, 3, 3, 3, 2, 2, 1, 1},  /* stride 2 same: pad 1 before and after */
    {7, 5, 1, 3, 3, 2, 2, 0, 3},  /* stride 2 valid: the last column is dropped */
    {6, 6, 3, 2, 2, 2, 2, 0, 3},  /* 2x2 stride 2 */
    {6, 5, 8, 1, 1, 1, 1, 0, 3},  /* 1x1 */
    {5, 7, 1, 1, 1, 2, 2, 1, 8},  /* 1x1 stride 2 */
    {7, 7, 3, 5, 5, 1, 1, 1, 3},  /* 5x5 same */
    {8, 7, 1, 5, 5, 2, 2, 1, 1},  /* 5x5 stride 2 same, even height */
    {6, 6, 3, 4, 4, 1, 1, 1, 8},  /* even kernel same: 1 before, 2 after */
    {7, 5, 8, 4, 4, 2, 2, 1, 3},  /* even kernel, stride 2 */
    {7, 5, 3, 3, 3, 2, 1, 1, 3},  /* strides (2, 1) */
    {7, 5, 8, 2, 2, 2, 1, 0, 1},  /* strides (2, 1) valid */
    {5, 5, 8, 3, 3, 1, 1, 1, 8},  /* 8 -> 8 channels */
    {9, 8, 3, 3, 3, 1, 2, 0, 8},  /* strides (1, 2) valid */
    {4, 4, 1, 5, 5, 1, 1, 1, 1},  /* kernel larger than the image */
    {3, 7, 3, 2, 3, 1, 1, 1, 3},  /* non-square kernel */
    {6, 6, 3, 3, 3, 2, 2, 1, 3},  /* pad_total 1: the padding is all after */
};
#define N_CONV_SHAPES ((int)(sizeof kConvShapes / sizeof kConvShapes[0]))

enum { CONV_BATCH = 2 };

typedef struct {
  RtWindow win;
  int m, filters;
  float *x;      /* (m, h, w, c) */
  float *kernel; /* (kh*kw*c, filters) */
  float *r;      /* (m, oh, ow, filters) */
  double *ref;   /* (m, oh, ow, filters): scratch of the objective */
} ConvCtx;

static double conv_objective(void *p) {
  ConvCtx *c = p;
  conv_reference(c->ref, c->x, c->kernel, c->m, &c->win, c->filters);
  return dot_ref(c->ref, c->r, (size_t)c->m * c->win.oh * c->win.ow * c->filters);
}

static ConvCtx conv_ctx_new(const ConvShape *s, int m, uint64_t seed) {
  ConvCtx c = {window_make(s->h, s->w, s->c, s->kh, s->kw, s->sh, s->sw, s->same), m,
               s->filters, NULL, NULL, NULL, NULL};
  size_t x_count = (size_t)c.m * s->h * s->w * s->c;
  size_t k_count = (size_t)s->kh * s->kw * s->c * s->filters;
  size_t out_count = (size_t)c.m * c.win.oh * c.win.ow * s->filters;
  c.x = new_floats(x_count), c.kernel = new_floats(k_count), c.r = new_floats(out_count);
  c.ref = new_doubles(out_count);
  RtRng rng;
  rt_rng_seed(&rng, seed);
  fill_uniform(c.x, x_count, -1.0f, 1.0f, &rng);
  fill_uniform(c.kernel, k_count, -1.0f, 1.0f, &rng);
  fill_uniform(c.r, out_count, -1.0f, 1.0f, &rng);
  return c;
}

static void conv_ctx_free(ConvCtx *c) {
  free(c->x), free(c->kernel), free(c->r), free(c->ref);
}

START_TEST(test_conv_forward) {
  const ConvShape *s = &kConvShapes[_i];
  ConvCtx c = conv_ctx_new(s, CONV_BATCH, 1000 + _i);
  const RtWindow *win = &c.win;
  const int rows = c.m * win->oh * win->ow, k = win->kh * win->kw * win->c;
  float *cols = new_floats((size_t)rows * k), *out = new_floats((size_t)rows * c.filters);
  rt_fill(cols, NAN, (size_t)rows * k); /* every column, padding included, must be written */
  rt_im2col(cols, c.x, c.m, win);
  rt_matmul_forward(out, cols, c.kernel, rows, k, c.filters);
  conv_reference(c.ref, c.x, c.kernel, c.m, win, c.filters);
  char what[160];
  describe_window(what, sizeof what, "conv forward", win, s->same);
  Shape4 shape = {c.m, win->oh, win->ow, c.filters};
  assert_close_nhwc(what, out, c.ref, (size_t)rows * c.filters, 1e-5, 1e-5, &shape);
  free(cols), free(out);
  conv_ctx_free(&c);
}
END_TEST

START_TEST(test_conv_gradients) {
  const ConvShape *s = &kConvShapes[_i];
  ConvCtx c = conv_ctx_new(s, CONV_BATCH, 2000 + _i);
  const RtWindow *win = &c.win;
  const int rows = c.m * win->oh * win->ow, k = win->kh * win->kw * win->c;
  const size_t x_count = (size_t)c.m * win->h * win->w * win->c;
  float *cols = new_floats((size_t)rows * k), *dcols = new_floats((size_t)rows * k);
  float *dx = new_floats(x_count), *dkernel = new_floats((size_t)k * c.filters);
  /* The backward pass the compiler emits, with dout = r. */
  rt_im2col(cols, c.x, c.m, win);
  rt_matmul_backward_x(dcols, c.r, c.kernel, rows, k, c.filters);
  rt_fill(dx, NAN, x_count); /* col2im overwrites */
  rt_col2im(dx, dcols, c.m, win);
  rt_matmul_backward_w(dkernel, cols, c.r, rows, k, c.filters);
  char what[160];
  describe_window(what, sizeof what, "conv dx", win, s->same);
  Shape4 x_shape = {c.m, win->h, win->w, win->c};
  check_gradient(what, conv_objective, &c, c.x, dx, x_count, &x_shape);
  describe_window(what, sizeof what, "conv dkernel", win, s->same);
  Shape4 k_shape = {win->kh, win->kw, win->c, c.filters};
  check_gradient(what, conv_objective, &c, c.kernel, dkernel, (size_t)k * c.filters, &k_shape);
  free(cols), free(dcols), free(dx), free(dkernel);
  conv_ctx_free(&c);
}
END_TEST

/* The chunked kernels (a workspace of columns for `chunk` images, the
 * compiler's choice for large convolutions) against the whole batch's
 * im2col + sgemm checked above: the same values, to float rounding (the
 * weight gradient is summed chunk by chunk), with the last chunk short. */
enum { CHUNKED_BATCH = 5 };

/* A convolution's output and both gradients (dout = c->r) the way the
 * compiler emits them by default: im2col, sgemm, col2im over the whole batch. */
typedef struct {
  float *out, *dx, *dkernel;
} ConvResults;

static ConvResults conv_by_columns(const ConvCtx *c) {
  const RtWindow *win = &c->win;
  const int m = c->m, f = c->filters, rows = m * win->oh * win->ow;
  const int k = win->kh * win->kw * win->c;
  float *cols = new_floats((size_t)rows * k), *dcols = new_floats((size_t)rows * k);
  ConvResults r = {new_floats((size_t)rows * f), new_floats((size_t)m * win->h * win->w * win->c),
                   new_floats((size_t)k * f)};
  rt_im2col(cols, c->x, m, win);
  rt_matmul_forward(r.out, cols, c->kernel, rows, k, f);
  rt_matmul_backward_w(r.dkernel, cols, c->r, rows, k, f);
  rt_matmul_backward_x(dcols, c->r, c->kernel, rows, k, f);
  rt_col2im(r.dx, dcols, m, win);
  free(cols), free(dcols);
  return r;
}

static void conv_results_free(ConvResults *r) { free(r->out), free(r->dx), free(r->dkernel); }

/* got against want, each of the three named after the kernels that made them */
static void assert_conv_results(const char *kernels, const ConvShape *s, const ConvCtx *c,
                                const ConvResults *got, const ConvResults *want, double tol) {
  const RtWindow *win = &c->win;
  const int m = c->m, f = c->filters, k = win->kh * win->kw * win->c;
  Shape4 out_shape = {m, win->oh, win->ow, f}, x_shape = {m, win->h, win->w, win->c};
  Shape4 k_shape = {win->kh, win->kw, win->c, f};
  char what[160], label[64];
  snprintf(label, sizeof label, "%s forward", kernels);
  describe_window(what, sizeof what, label, win, s->same);
  assert_close_f(what, got->out, want->out, (size_t)m * win->oh * win->ow * f, tol, tol,
                 &out_shape);
  snprintf(label, sizeof label, "%s dkernel", kernels);
  describe_window(what, sizeof what, label, win, s->same);
  assert_close_f(what, got->dkernel, want->dkernel, (size_t)k * f, tol, tol, &k_shape);
  snprintf(label, sizeof label, "%s dx", kernels);
  describe_window(what, sizeof what, label, win, s->same);
  assert_close_f(what, got->dx, want->dx, (size_t)m * win->h * win->w * win->c, tol, tol,
                 &x_shape);
}

/* Outputs of a kernel under test, NaN first: each must overwrite them. */
static ConvResults conv_results_nan(const ConvCtx *c) {
  const RtWindow *win = &c->win;
  const size_t outs = (size_t)c->m * win->oh * win->ow * c->filters;
  const size_t xs = (size_t)c->m * win->h * win->w * win->c;
  const size_t ks = (size_t)win->kh * win->kw * win->c * c->filters;
  ConvResults r = {new_floats(outs), new_floats(xs), new_floats(ks)};
  rt_fill(r.out, NAN, outs), rt_fill(r.dx, NAN, xs), rt_fill(r.dkernel, NAN, ks);
  return r;
}

START_TEST(test_conv_chunked) {
  const ConvShape *s = &kConvShapes[_i];
  ConvCtx c = conv_ctx_new(s, CHUNKED_BATCH, 3000 + _i);
  const RtWindow *win = &c.win;
  const int m = c.m, f = c.filters, k = win->kh * win->kw * win->c;
  ConvResults want = conv_by_columns(&c);
  for (int chunk = 1; chunk <= 3; chunk++) {
    /* exactly a chunk of columns: no room to spill */
    float *ws = new_floats((size_t)chunk * win->oh * win->ow * k);
    ConvResults got = conv_results_nan(&c);
    rt_conv2d_forward(got.out, c.x, c.kernel, ws, m, chunk, win, f);
    rt_conv2d_backward_w(got.dkernel, c.x, c.r, ws, m, chunk, win, f);
    rt_conv2d_backward_x(got.dx, c.r, c.kernel, ws, m, chunk, win, f);
    assert_conv_results("chunked conv", s, &c, &got, &want, 1e-5);
    free(ws);
    conv_results_free(&got);
  }
  conv_results_free(&want);
  conv_ctx_free(&c);
}
END_TEST

#if NNC_WITH_ONEDNN
/* oneDNN's direct convolution (rt_conv_onednn.c, what lower.c keeps whole
 * when nnc is built with it) against im2col + sgemm: the same values to
 * float rounding (its sums run in another order), and its fused bias +
 * relu against the epilogue kernel. Twice: the second call reuses the
 * primitives the first one made, and its weight gradient writes the bias
 * gradient too. */
START_TEST(test_conv_onednn) {
  const ConvShape *s = &kConvShapes[_i];
  ConvCtx c = conv_ctx_new(s, CHUNKED_BATCH, 4000 + _i);
  const RtWindow *win = &c.win;
  const int m = c.m, f = c.filters;
  const size_t outs = (size_t)m * win->oh * win->ow * f;
  ConvResults want = conv_by_columns(&c);
  float *bias = new_floats((size_t)f), *want_relu = new_floats(outs);
  float *want_db = new_floats((size_t)f), *got_db = new_floats((size_t)f);
  rt_bias_backward(want_db, c.r, m * win->oh * win->ow, f);
  for (int j = 0; j < f; j++)
    bias[j] = 0.25f * (float)(j % 3) - 0.25f;
  memcpy(want_relu, want.out, outs * sizeof(float));
  rt_bias_act_forward(want_relu, bias, m * win->oh * win->ow, f, RT_ACT_RELU, 0.0f);
  for (int call = 0; call < 2; call++) {
    ConvResults got = conv_results_nan(&c);
    rt_conv2d_direct_forward(got.out, c.x, c.kernel, NULL, m, win, f, RT_ACT_NONE, 0.0f);
    rt_conv2d_direct_backward_w(got.dkernel, call ? got_db : NULL, c.x, c.r, m, win, f);
    rt_conv2d_direct_backward_x(got.dx, c.r, c.kernel, m, win, f);
    assert_conv_results("oneDNN conv", s, &c, &got, &want, 1e-5);
    if (call)
      assert_close_f("oneDNN conv dbias", got_db, want_db, (size_t)f, 1e-5, 1e-5, NULL);
    rt_conv2d_direct_forward(got.out, c.x, c.kernel, bias, m, win, f, RT_ACT_RELU, 0.0f);
    Shape4 out_shape = {m, win->oh, win->ow, f};
    assert_close_f("oneDNN conv + bias + relu", got.out, want_relu, outs, 1e-5, 1e-5, &out_shape);
    conv_results_free(&got);
  }
  free(bias), free(want_relu), free(want_db), free(got_db);
  conv_results_free(&want);
  conv_ctx_free(&c);
}
END_TEST
#endif

/* ===== pooling ===== */

typedef struct {
  int h, w, c, kh, kw, sh, sw, same;
} PoolShape;

static const PoolShape kPoolShapes[] = {
    {6, 6, 3, 2, 2, 2, 2, 0}, /* the CNNs' 2x2 pooling */
    {7, 5, 2, 2, 2, 2, 2, 0}, /* odd sizes: the last row and column dropped */
    {7, 5, 3, 3, 3, 2, 2, 1}, /* same, padding on every side */
    {5, 5, 1, 3, 3, 1, 1, 1}, /* overlapping same windows, c = 1 */
    {7, 7, 4, 3, 3, 2, 2, 0}, /* overlapping valid windows */
    {5, 4, 3, 2, 2, 1, 1, 1}, /* even window same: padding after only */
    {6, 7, 2, 2, 3, 2, 1, 1}, /* non-square window, strides (2, 1) */
    {4, 4, 8, 3, 3, 1, 1, 0}, /* 8 channels */
    {3, 3, 70, 2, 2, 1, 1, 1}, /* more channels than the kernels' channel block */
    {7, 5, 2, 2, 2, 2, 2, 1}, /* tiling same windows: the last row and column padded */
    {8, 7, 70, 3, 3, 3, 3, 0}, /* tiling 3x3 windows, uncovered cells, 70 channels */
};
#define N_POOL_SHAPES ((int)(sizeof kPoolShapes / sizeof kPoolShapes[0]))

enum { POOL_BATCH = 2 };

typedef struct {
  RtWindow win;
  int m;
  PoolKind kind;
  float *x;    /* (m, h, w, c) */
  float *r;    /* (m, oh, ow, c) */
  double *ref; /* (m, oh, ow, c) */
} PoolCtx;

static double pool_objective(void *p) {
  PoolCtx *c = p;
  pool_reference(c->ref, c->x, c->m, &c->win, c->kind);
  return dot_ref(c->ref, c->r, (size_t)c->m * c->win.oh * c->win.ow * c->win.c);
}

/* One pooling kernel pair on one shape: forward against the reference, then
 * backward against finite differences. */
static void check_pool(const PoolShape *s, PoolKind kind, uint64_t seed) {
  PoolCtx c = {window_make(s->h, s->w, s->c, s->kh, s->kw, s->sh, s->sw, s->same), POOL_BATCH,
               kind, NULL, NULL, NULL};
  const RtWindow *win = &c.win;
  const size_t x_count = (size_t)c.m * s->h * s->w * s->c;
  const size_t out_count = (size_t)c.m * win->oh * win->ow * s->c;
  c.x = new_floats(x_count), c.r = new_floats(out_count), c.ref = new_doubles(out_count);
  float *out = new_floats(out_count), *dx = new_floats(x_count);
  RtRng rng;
  rt_rng_seed(&rng, seed);
  if (kind == POOL_MAX)
    fill_distinct_negative(c.x, x_count, &rng);
  else
    fill_uniform(c.x, x_count, -1.0f, 1.0f, &rng);
  fill_uniform(c.r, out_count, -1.0f, 1.0f, &rng);

  const char *name = kind == POOL_MAX ? "maxpool" : "avgpool";
  char what[160], op[32];
  snprintf(op, sizeof op, "%s forward", name);
  describe_window(what, sizeof what, op, win, s->same);
  if (kind == POOL_MAX)
    rt_maxpool_forward(out, c.x, c.m, win);
  else
    rt_avgpool_forward(out, c.x, c.m, win);
  pool_objective(&c);
  Shape4 out_shape = {c.m, win->oh, win->ow, s->c};
  assert_close_nhwc(what, out, c.ref, out_count, kind == POOL_MAX ? 0.0 : 1e-6, 1e-6, &out_shape);

  rt_fill(dx, NAN, x_count); /* backward overwrites */
  if (kind == POOL_MAX)
    rt_maxpool_backward(dx, c.r, c.x, c.m, win);
  else
    rt_avgpool_backward(dx, c.r, c.m, win);
  snprintf(op, sizeof op, "%s dx", name);
  describe_window(what, sizeof what, op, win, s->same);
  Shape4 x_shape = {c.m, s->h, s->w, s->c};
  check_gradient(what, pool_objective, &c, c.x, dx, x_count, &x_shape);
  free(c.x), free(c.r), free(c.ref), free(out), free(dx);
}

START_TEST(test_maxpool) {
  check_pool(&kPoolShapes[_i], POOL_MAX, 3000 + _i);
}
END_TEST

START_TEST(test_avgpool) {
  check_pool(&kPoolShapes[_i], POOL_AVG, 4000 + _i);
}
END_TEST

/* The fused relu -> max-pool backward equals max-pool backward followed by
 * the relu gradient (x > 0), x being the relu's output. */
START_TEST(test_maxpool_relu_backward) {
  const PoolShape *s = &kPoolShapes[_i];
  RtWindow win = window_make(s->h, s->w, s->c, s->kh, s->kw, s->sh, s->sw, s->same);
  const int m = POOL_BATCH;
  const size_t x_count = (size_t)m * s->h * s->w * s->c;
  const size_t out_count = (size_t)m * win.oh * win.ow * s->c;
  float *x = new_floats(x_count), *dout = new_floats(out_count);
  float *want = new_floats(x_count), *got = new_floats(x_count);
  RtRng rng;
  rt_rng_seed(&rng, 5000 + _i);
  fill_uniform(x, x_count, -1.0f, 1.0f, &rng);
  for (size_t i = 0; i < x_count; i += 3)
    x[i] = x[i] > 0.0f ? 0.0f : x[i]; /* relu outputs are often exactly 0 */
  fill_uniform(dout, out_count, -1.0f, 1.0f, &rng);
  rt_maxpool_backward(want, dout, x, m, &win);
  for (size_t i = 0; i < x_count; i++)
    want[i] = x[i] > 0.0f ? want[i] : 0.0f;
  rt_fill(got, NAN, x_count);
  rt_maxpool_relu_backward(got, dout, x, m, &win);
  for (size_t i = 0; i < x_count; i++)
    ck_assert_msg(got[i] == want[i], "shape %d, dx[%zu]: fused %g, unfused %g", _i, i,
                  (double)got[i], (double)want[i]);
  free(x), free(dout), free(want), free(got);
}
END_TEST

/* ===== a first convolution fused with bias, relu and a tiling max pool ===== */

typedef struct {
  int h, w, c, kh, kw, stride, same; /* the convolution over x */
  int n, pool, bias;
  RtAct act;
} PooledShape;

static const PooledShape kPooledShapes[] = {
    {8, 6, 1, 2, 2, 1, 0, 5, 2, 1, RT_ACT_RELU},   /* conv 7x5: the last row and column uncovered */
    {7, 7, 1, 2, 2, 1, 0, 70, 2, 1, RT_ACT_RELU},  /* more channels than one register block */
    {11, 8, 1, 3, 3, 1, 0, 8, 3, 0, RT_ACT_RELU},  /* k = 9, 3x3 pool windows, no bias */
    {5, 5, 3, 2, 2, 1, 0, 6, 2, 1, RT_ACT_NONE},   /* 3 channels (k = 12), no activation */
    {9, 9, 1, 3, 3, 2, 1, 16, 2, 1, RT_ACT_RELU},  /* 'same', stride 2: padded windows */
    {6, 7, 1, 4, 4, 1, 1, 16, 2, 1, RT_ACT_RELU},  /* k = 16, even kernel 'same' */
    {6, 6, 2, 3, 2, 1, 0, 3, 2, 1, RT_ACT_RELU},   /* k = 12 with 2 channels: the variable-k path */
};

static void assert_near(const char *what, int shape, const float *got, const float *want,
                        size_t count) {
  for (size_t i = 0; i < count; i++)
    ck_assert_msg(fabsf(got[i] - want[i]) <= 1e-5f + 1e-5f * fabsf(want[i]),
                  "pooled shape %d, %s[%zu]: fused %.9g, unfused %.9g", shape, what, i,
                  (double)got[i], (double)want[i]);
}

/* The unfused kernels, as the graph ran them before rule 5: conv (matmul,
 * bias + act), max pool; backward max_pool_grad[relu], bias and weight grads. */
static void unfused_pooled_conv(float *out, float *dw, float *db, const float *x,
                                const float *w, const float *bias, const float *dout,
                                const PooledShape *s, int m, const RtWindow *cw,
                                const RtWindow *pool) {
  const int rows = m * cw->oh * cw->ow, k = cw->kh * cw->kw * cw->c;
  float *conv = new_floats((size_t)rows * s->n), *dconv = new_floats((size_t)rows * s->n);
  float *cols = new_floats((size_t)rows * k);
  rt_im2col(cols, x, m, cw);
  rt_matmul_forward(conv, cols, w, rows, k, s->n);
  if (bias)
    rt_bias_act_forward(conv, bias, rows, s->n, s->act, 0.0f);
  else
    rt_act_forward(conv, conv, (size_t)rows * s->n, s->act, 0.0f);
  rt_maxpool_forward(out, conv, m, pool);
  if (s->act == RT_ACT_RELU)
    rt_maxpool_relu_backward(dconv, dout, conv, m, pool);
  else
    rt_maxpool_backward(dconv, dout, conv, m, pool);
  rt_bias_backward(db, dconv, rows, s->n);
  rt_matmul_backward_w(dw, cols, dconv, rows, k, s->n);
  free(conv), free(dconv), free(cols);
}

START_TEST(test_pooled_matmul_matches_unfused) {
  const PooledShape *s = &kPooledShapes[_i];
  const int m = 3;
  RtWindow cw = window_make(s->h, s->w, s->c, s->kh, s->kw, s->stride, s->stride, s->same);
  RtWindow pool = window_make(cw.oh, cw.ow, s->n, s->pool, s->pool, s->pool, s->pool, 0);
  const int k = cw.kh * cw.kw * cw.c;
  const size_t pooled = (size_t)m * pool.oh * pool.ow * s->n, xs = (size_t)m * s->h * s->w * s->c;
  float *x = new_floats(xs), *w = new_floats((size_t)k * s->n);
  float *bias = new_floats((size_t)s->n), *dout = new_floats(pooled);
  float *want = new_floats(pooled), *got = new_floats(pooled);
  float *want_dw = new_floats((size_t)k * s->n), *got_dw = new_floats((size_t)k * s->n);
  float *want_db = new_floats((size_t)s->n), *got_db = new_floats((size_t)s->n);
  uint8_t *winners = rt_malloc(pooled);
  RtRng rng;
  rt_rng_seed(&rng, 7000 + _i);
  fill_uniform(x, xs, -1.0f, 1.0f, &rng);
  fill_uniform(w, (size_t)k * s->n, -1.0f, 1.0f, &rng);
  fill_uniform(bias, (size_t)s->n, -0.5f, 0.5f, &rng);
  fill_uniform(dout, pooled, -1.0f, 1.0f, &rng);
  const float *b = s->bias ? bias : NULL;
  unfused_pooled_conv(want, want_dw, want_db, x, w, b, dout, s, m, &cw, &pool);
  const int threads = rt_threads();
  for (int t = 1; t <= 2; t++) {
    rt_set_threads(t);
    rt_fill(got, NAN, pooled), rt_fill(got_dw, NAN, (size_t)k * s->n);
    rt_fill(got_db, NAN, (size_t)s->n);
    rt_pooled_matmul_forward(got, winners, x, w, b, m, &cw, &pool, s->act);
    rt_pooled_matmul_backward_w(got_dw, s->bias ? got_db : NULL, x, dout, got, winners, m, &cw,
                                &pool, s->act);
    assert_near("out", _i, got, want, pooled);
    assert_near("dw", _i, got_dw, want_dw, (size_t)k * s->n);
    if (s->bias)
      assert_near("db", _i, got_db, want_db, (size_t)s->n);
  }
  rt_set_threads(threads);
  free(x), free(w), free(bias), free(dout), free(want), free(got), free(want_dw);
  free(got_dw), free(want_db), free(got_db), free(winners);
}
END_TEST

/* Ties: the whole gradient goes to the first maximum in (ky, kx) order. */
START_TEST(test_maxpool_ties) {
  RtWindow win = window_make(2, 2, 2, 2, 2, 2, 2, 0);
  /* (1, 2, 2, 2): channel 0 all 5; channel 1 = {1, 3; 3, 2} */
  const float x[8] = {5, 1, 5, 3, 5, 3, 5, 2};
  const float dout[2] = {10, 20};
  float out[2], dx[8];
  rt_maxpool_forward(out, x, 1, &win);
  ck_assert_float_eq(out[0], 5.0f);
  ck_assert_float_eq(out[1], 3.0f);
  rt_fill(dx, NAN, 8);
  rt_maxpool_backward(dx, dout, x, 1, &win);
  const float want[8] = {10, 0, 0, 20, 0, 0, 0, 0};
  Shape4 shape = {1, 2, 2, 2};
  assert_close_f("maxpool tie goes to the first max", dx, want, 8, 0.0, 0.0, &shape);
  /* One channel (the kernels' c = 1 instantiation): {1, 4, 4; 2, 4, 0},
   * 3x3 'same' at the centre-top pixel sees both 4s; the first, (0, 1), wins. */
  RtWindow win1 = window_make(2, 3, 1, 3, 3, 1, 1, 1);
  const float x1[6] = {1, 4, 4, 2, 4, 0};
  float dout1[6] = {0, 0, 0, 0, 0, 0}, out1[6], dx1[6];
  dout1[1] = 1.0f; /* only output (0, 1) has a gradient */
  rt_maxpool_forward(out1, x1, 1, &win1);
  ck_assert_float_eq(out1[1], 4.0f);
  rt_fill(dx1, NAN, 6);
  rt_maxpool_backward(dx1, dout1, x1, 1, &win1);
  const float want1[6] = {0, 1, 0, 0, 0, 0};
  Shape4 shape1 = {1, 2, 3, 1};
  assert_close_f("maxpool tie, one channel", dx1, want1, 6, 0.0, 0.0, &shape1);
}
END_TEST

/* Keras 'same' average pooling divides by the cells inside the image: a
 * corner window of a 3x3 pool sees 4 cells, not 9. */
START_TEST(test_avgpool_same_corner) {
  RtWindow win = window_make(3, 3, 1, 3, 3, 1, 1, 1);
  const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  float out[9];
  rt_avgpool_forward(out, x, 1, &win);
  const double want[9] = {3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0};
  Shape4 shape = {1, 3, 3, 1};
  assert_close_nhwc("avgpool same, 3x3 on 3x3", out, want, 9, 1e-6, 1e-6, &shape);
}
END_TEST

/* ===== global average pooling ===== */

typedef struct {
  int m, hw, c;
  float *x;    /* (m, hw, c) */
  float *r;    /* (m, c) */
  double *ref; /* (m, c) */
} GlobalPoolCtx;

static double global_pool_objective(void *p) {
  GlobalPoolCtx *g = p;
  for (int n = 0; n < g->m; n++)
    for (int j = 0; j < g->c; j++) {
      double sum = 0.0;
      for (int q = 0; q < g->hw; q++)
        sum += g->x[((size_t)n * g->hw + q) * g->c + j];
      g->ref[(size_t)n * g->c + j] = sum / g->hw;
    }
  return dot_ref(g->ref, g->r, (size_t)g->m * g->c);
}

START_TEST(test_global_avgpool) {
  static const int shapes[][3] = {{2, 9, 5}, {3, 1, 4}, {1, 49, 70}};
  const int m = shapes[_i][0], hw = shapes[_i][1], c = shapes[_i][2];
  GlobalPoolCtx g = {m, hw, c, new_floats((size_t)m * hw * c), new_floats((size_t)m * c),
                     new_doubles((size_t)m * c)};
  float *out = new_floats((size_t)m * c), *dx = new_floats((size_t)m * hw * c);
  RtRng rng;
  rt_rng_seed(&rng, 5000 + _i);
  fill_uniform(g.x, (size_t)m * hw * c, -1.0f, 1.0f, &rng);
  fill_uniform(g.r, (size_t)m * c, -1.0f, 1.0f, &rng);
  rt_global_avgpool_forward(out, g.x, m, hw, c);
  global_pool_objective(&g);
  char what[96];
  snprintf(what, sizeof what, "global avgpool forward m=%d hw=%d c=%d", m, hw, c);
  assert_close_nhwc(what, out, g.ref, (size_t)m * c, 1e-6, 1e-5, NULL);
  rt_fill(dx, NAN, (size_t)m * hw * c);
  rt_global_avgpool_backward(dx, g.r, m, hw, c);
  snprintf(what, sizeof what, "global avgpool dx m=%d hw=%d c=%d", m, hw, c);
  Shape4 shape = {m, hw, 1, c};
  check_gradient(what, global_pool_objective, &g, g.x, dx, (size_t)m * hw * c, &shape);
  free(g.x), free(g.r), free(g.ref), free(out), free(dx);
}
END_TEST

/* ===== batch normalization ===== */

/* Training-mode reference in double: per channel, batch mean and biased
 * variance; out (rows, c), and (if not NULL) mean, var, xhat. */
static void batchnorm_reference(double *out, double *mean, double *var, double *xhat,
                                const float *x, const float *gamma, const float *beta, int rows,
                                int c, float eps) {
  for (int j = 0; j < c; j++) {
    double sum = 0.0, sq = 0.0;
    for (int r = 0; r < rows; r++)
      sum += x[(size_t)r * c + j];
    double mu = sum / rows;
    for (int r = 0; r < rows; r++) {
      double d = x[(size_t)r * c + j] - mu;
      sq += d * d;
    }
    double v = sq / rows, invstd = 1.0 / sqrt(v + (double)eps);
    if (mean)
      mean[j] = mu, var[j] = v;
    for (int r = 0; r < rows; r++) {
      double xh = (x[(size_t)r * c + j] - mu) * invstd;
      if (xhat)
        xhat[(size_t)r * c + j] = xh;
      out[(size_t)r * c + j] = gamma[j] * xh + beta[j];
    }
  }
}

typedef struct {
  int rows, c;
  float eps;
  float *x;     /* (rows, c) */
  float *gamma; /* (c) */
  float *beta;  /* (c) */
  float *r;     /* (rows, c) */
  double *ref;  /* (rows, c) */
} BatchnormCtx;

static double batchnorm_objective(void *p) {
  BatchnormCtx *b = p;
  batchnorm_reference(b->ref, NULL, NULL, NULL, b->x, b->gamma, b->beta, b->rows, b->c, b->eps);
  return dot_ref(b->ref, b->r, (size_t)b->rows * b->c);
}

/* rows = m * h * w; c = 70 crosses the kernels' 64-channel block. */
static const int kBatchnormShapes[][2] = {{24, 5}, {18, 70}, {3, 2}};

START_TEST(test_batchnorm_train) {
  const int rows = kBatchnormShapes[_i][0], c = kBatchnormShapes[_i][1];
  const size_t count = (size_t)rows * c;
  const float momentum = 0.9f, eps = 1e-3f;
  BatchnormCtx b = {rows,          c,
                    eps,           new_floats(count),
                    new_floats(c), new_floats(c),
                    new_floats(count), new_doubles(count)};
  float *out = new_floats(count), *xhat = new_floats(count), *stats = new_floats(2 * (size_t)c);
  float *moving_mean = new_floats(c), *moving_var = new_floats(c);
  float *mm0 = new_floats(c), *mv0 = new_floats(c);
  float *dx = new_floats(count), *dgamma = new_floats(c), *dbeta = new_floats(c);
  double *mean = new_doubles(c), *var = new_doubles(c), *xhat_ref = new_doubles(count);
  double *want = new_doubles(2 * (size_t)c);
  RtRng rng;
  rt_rng_seed(&rng, 6000 + _i);
  fill_uniform(b.x, count, -2.0f, 3.0f, &rng);
  fill_uniform(b.gamma, c, 0.5f, 1.5f, &rng);
  fill_uniform(b.beta, c, -0.5f, 0.5f, &rng);
  fill_uniform(b.r, count, -1.0f, 1.0f, &rng);
  fill_uniform(mm0, c, -1.0f, 1.0f, &rng);
  fill_uniform(mv0, c, 0.5f, 2.0f, &rng);
  memcpy(moving_mean, mm0, c * sizeof(float));
  memcpy(moving_var, mv0, c * sizeof(float));

  rt_batchnorm_train_forward(out, xhat, stats, b.x, b.gamma, b.beta, moving_mean, moving_var,
                             rows, c, momentum, eps);
  batchnorm_reference(b.ref, mean, var, xhat_ref, b.x, b.gamma, b.beta, rows, c, eps);
  char what[96];
  snprintf(what, sizeof what, "batchnorm out rows=%d c=%d", rows, c);
  assert_close_nhwc(what, out, b.ref, count, 1e-5, 1e-5, NULL);
  snprintf(what, sizeof what, "batchnorm xhat rows=%d c=%d", rows, c);
  assert_close_nhwc(what, xhat, xhat_ref, count, 1e-5, 1e-5, NULL);
  for (int j = 0; j < c; j++) {
    want[j] = mean[j];
    want[c + j] = 1.0 / sqrt(var[j] + eps);
  }
  snprintf(what, sizeof what, "batchnorm stats {mean, invstd} rows=%d c=%d", rows, c);
  assert_close_nhwc(what, stats, want, 2 * (size_t)c, 1e-6, 1e-5, NULL);
  /* moving = moving * momentum + batch * (1 - momentum), biased variance */
  for (int j = 0; j < c; j++) {
    want[j] = mm0[j] * 0.9 + mean[j] * 0.1;
    want[c + j] = mv0[j] * 0.9 + var[j] * 0.1;
  }
  assert_close_nhwc("batchnorm moving mean", moving_mean, want, c, 1e-6, 1e-5, NULL);
  assert_close_nhwc("batchnorm moving variance", moving_var, want + c, c, 1e-6, 1e-5, NULL);

  /* Gradients, with dout = r: dx, dgamma, and dbeta through rt_bias_backward. */
  rt_fill(dx, NAN, count);
  rt_fill(dgamma, NAN, c);
  rt_batchnorm_backward_x(dx, b.r, xhat, b.gamma, stats, rows, c);
  rt_batchnorm_backward_gamma(dgamma, b.r, xhat, rows, c);
  rt_bias_backward(dbeta, b.r, rows, c);
  Shape4 shape = {1, rows, 1, c};
  snprintf(what, sizeof what, "batchnorm dx rows=%d c=%d", rows, c);
  check_gradient(what, batchnorm_objective, &b, b.x, dx, count, &shape);
  snprintf(what, sizeof what, "batchnorm dgamma rows=%d c=%d", rows, c);
  check_gradient(what, batchnorm_objective, &b, b.gamma, dgamma, c, NULL);
  snprintf(what, sizeof what, "batchnorm dbeta rows=%d c=%d", rows, c);
  check_gradient(what, batchnorm_objective, &b, b.beta, dbeta, c, NULL);

  /* dx may alias dout. */
  float *inplace = new_floats(count);
  memcpy(inplace, b.r, count * sizeof(float));
  rt_batchnorm_backward_x(inplace, inplace, xhat, b.gamma, stats, rows, c);
  assert_close_f("batchnorm dx in place", inplace, dx, count, 0.0, 0.0, NULL);

  free(inplace), free(b.x), free(b.gamma), free(b.beta), free(b.r), free(b.ref), free(out);
  free(xhat), free(stats), free(moving_mean), free(moving_var), free(mm0), free(mv0), free(dx);
  free(dgamma), free(dbeta), free(mean), free(var), free(xhat_ref), free(want);
}
END_TEST

/* A large mean over a small spread: a one-pass float E[x^2] - E[x]^2 would
 * lose the variance (1e6 against 1/3); the kernel must not. */
START_TEST(test_batchnorm_variance_precision) {
  enum { ROWS = 50000, C = 3 };
  float *x = new_floats(ROWS * C), *out = new_floats(ROWS * C), *xhat = new_floats(ROWS * C);
  float stats[2 * C], gamma[C] = {1, 1, 1}, beta[C] = {0, 0, 0};
  float moving_mean[C] = {0, 0, 0}, moving_var[C] = {1, 1, 1};
  double *ref = new_doubles(ROWS * C), mean[C], var[C], want[2 * C];
  RtRng rng;
  rt_rng_seed(&rng, 6500);
  for (int i = 0; i < ROWS * C; i++)
    x[i] = 1000.0f + (i % C) * 500.0f + (2.0f * rt_rng_uniform(&rng) - 1.0f);
  rt_batchnorm_train_forward(out, xhat, stats, x, gamma, beta, moving_mean, moving_var, ROWS, C,
                             0.0f, 1e-3f);
  batchnorm_reference(ref, mean, var, NULL, x, gamma, beta, ROWS, C, 1e-3f);
  for (int j = 0; j < C; j++) {
    want[j] = mean[j];
    want[C + j] = 1.0 / sqrt(var[j] + 1e-3);
  }
  assert_close_nhwc("batchnorm stats, mean 1000", stats, want, 2 * C, 1e-3, 1e-6, NULL);
  /* momentum 0: the moving variance is the batch variance */
  assert_close_nhwc("batchnorm batch variance, mean 1000", moving_var, var, C, 0.0, 1e-5, NULL);
  assert_close_nhwc("batchnorm out, mean 1000", out, ref, ROWS * C, 1e-3, 1e-4, NULL);
  free(x), free(out), free(xhat), free(ref);
}
END_TEST

/* Two training steps move the moving statistics by the momentum rule
 * (Keras: 0.99, from mean 0 and variance 1); evaluation then normalizes with
 * them, not with the batch's statistics. */
/* A frozen batch norm's input gradient is the derivative of the evaluation
 * forward pass: central differences of rt_batchnorm_eval_forward, which is
 * linear in x, so they agree to rounding. */
START_TEST(test_batchnorm_eval_backward) {
  enum { ROWS = 7, C = 5 };
  const float eps = 1e-3f;
  float x[ROWS * C], dout[ROWS * C], dx[ROWS * C], out[ROWS * C];
  float gamma[C], beta[C], mean[C], var[C];
  RtRng rng;
  rt_rng_seed(&rng, 6601);
  fill_uniform(x, ROWS * C, -2.0f, 2.0f, &rng);
  fill_uniform(dout, ROWS * C, -1.0f, 1.0f, &rng);
  fill_uniform(gamma, C, 0.5f, 1.5f, &rng);
  fill_uniform(beta, C, -0.5f, 0.5f, &rng);
  fill_uniform(mean, C, -0.5f, 0.5f, &rng);
  fill_uniform(var, C, 0.2f, 3.0f, &rng);
  rt_batchnorm_eval_backward_x(dx, dout, gamma, var, ROWS, C, eps);
  for (int i = 0; i < ROWS * C; i++) { /* d(sum dout * out)/dx_i */
    const float h = 1e-2f, keep = x[i];
    double loss[2];
    for (int k = 0; k < 2; k++) {
      x[i] = keep + (k ? -h : h);
      rt_batchnorm_eval_forward(out, x, gamma, beta, mean, var, ROWS, C, eps);
      loss[k] = 0;
      for (int t = 0; t < ROWS * C; t++)
        loss[k] += (double)dout[t] * out[t];
    }
    x[i] = keep;
    ck_assert_double_eq_tol(dx[i], (loss[0] - loss[1]) / (2 * h), 1e-3);
  }
}
END_TEST

START_TEST(test_batchnorm_moving_and_eval) {
  enum { ROWS = 20, C = 4 };
  const float momentum = 0.99f, eps = 1e-3f;
  float x1[ROWS * C], x2[ROWS * C], out[ROWS * C], xhat[ROWS * C], stats[2 * C];
  float gamma[C], beta[C], moving_mean[C] = {0, 0, 0, 0}, moving_var[C] = {1, 1, 1, 1};
  double ref[ROWS * C], mean1[C], var1[C], mean2[C], var2[C], want_mean[C], want_var[C];
  RtRng rng;
  rt_rng_seed(&rng, 6600);
  fill_uniform(x1, ROWS * C, 1.0f, 5.0f, &rng);
  fill_uniform(x2, ROWS * C, -3.0f, 0.0f, &rng);
  fill_uniform(gamma, C, 0.5f, 1.5f, &rng);
  fill_uniform(beta, C, -0.5f, 0.5f, &rng);
  rt_batchnorm_train_forward(out, xhat, stats, x1, gamma, beta, moving_mean, moving_var, ROWS,
                             C, momentum, eps);
  rt_batchnorm_train_forward(out, xhat, stats, x2, gamma, beta, moving_mean, moving_var, ROWS,
                             C, momentum, eps);
  batchnorm_reference(ref, mean1, var1, NULL, x1, gamma, beta, ROWS, C, eps);
  batchnorm_reference(ref, mean2, var2, NULL, x2, gamma, beta, ROWS, C, eps);
  for (int j = 0; j < C; j++) {
    want_mean[j] = (0.0 * 0.99 + mean1[j] * 0.01) * 0.99 + mean2[j] * 0.01;
    want_var[j] = (1.0 * 0.99 + var1[j] * 0.01) * 0.99 + var2[j] * 0.01;
  }
  assert_close_nhwc("moving mean after 2 steps", moving_mean, want_mean, C, 1e-6, 1e-5, NULL);
  assert_close_nhwc("moving variance after 2 steps", moving_var, want_var, C, 1e-6, 1e-5, NULL);

  float eval_out[ROWS * C];
  double eval_want[ROWS * C];
  rt_batchnorm_eval_forward(eval_out, x2, gamma, beta, moving_mean, moving_var, ROWS, C, eps);
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < C; j++)
      eval_want[r * C + j] = gamma[j] * ((double)x2[r * C + j] - moving_mean[j]) /
                                 sqrt((double)moving_var[j] + eps) +
                             beta[j];
  assert_close_nhwc("batchnorm eval forward", eval_out, eval_want, ROWS * C, 1e-5, 1e-5, NULL);
  /* ... and that is not the training output (which uses the batch's statistics). */
  double worst = 0.0;
  for (int i = 0; i < ROWS * C; i++)
    worst = fmax(worst, fabs(eval_out[i] - out[i]));
  ck_assert_msg(worst > 0.1, "eval output equals the training output (max diff %.3g)", worst);
}
END_TEST

/* ===== rescaling ===== */

typedef struct {
  float *x;    /* (count) */
  float *r;    /* (count) */
  double *ref; /* (count) */
  size_t count;
  float scale, offset;
} RescaleCtx;

static double rescale_objective(void *p) {
  RescaleCtx *s = p;
  for (size_t i = 0; i < s->count; i++)
    s->ref[i] = (double)s->x[i] * s->scale + s->offset;
  return dot_ref(s->ref, s->r, s->count);
}

START_TEST(test_rescale) {
  const uint8_t raw[4] = {0, 1, 128, 255};
  float out[4];
  rt_rescale_u8_forward(out, raw, 1.0f / 255.0f, 0.0f, 4);
  const double want01[4] = {0.0, 1.0 / 255.0, 128.0 / 255.0, 1.0};
  assert_close_nhwc("rescale u8 1/255", out, want01, 4, 1e-7, 1e-6, NULL);
  rt_rescale_u8_forward(out, raw, 1.0f / 127.5f, -1.0f, 4);
  const double want11[4] = {-1.0, 1.0 / 127.5 - 1.0, 128.0 / 127.5 - 1.0, 1.0};
  assert_close_nhwc("rescale u8 1/127.5 - 1", out, want11, 4, 1e-6, 1e-6, NULL);

  enum { COUNT = 30 };
  float x[COUNT], r[COUNT], fout[COUNT], dx[COUNT];
  double ref[COUNT];
  RtRng rng;
  rt_rng_seed(&rng, 7000);
  fill_uniform(x, COUNT, -3.0f, 3.0f, &rng);
  fill_uniform(r, COUNT, -1.0f, 1.0f, &rng);
  RescaleCtx s = {x, r, ref, COUNT, 0.25f, -0.75f};
  rt_rescale_forward(fout, x, s.scale, s.offset, COUNT);
  rescale_objective(&s);
  assert_close_nhwc("rescale forward", fout, ref, COUNT, 1e-6, 1e-6, NULL);
  rt_fill(dx, NAN, COUNT);
  rt_rescale_backward(dx, r, s.scale, COUNT);
  check_gradient("rescale dx", rescale_objective, &s, x, dx, COUNT, NULL);
}
END_TEST

/* ===== concatenation ===== */

START_TEST(test_concat_round_trip) {
  enum { ROWS = 5, CA = 3, CB = 7, TOTAL = CA + CB };
  float a[ROWS * CA], b[ROWS * CB], out[ROWS * TOTAL], back_a[ROWS * CA], back_b[ROWS * CB];
  RtRng rng;
  rt_rng_seed(&rng, 8000);
  fill_uniform(a, ROWS * CA, -1.0f, 1.0f, &rng);
  fill_uniform(b, ROWS * CB, -1.0f, 1.0f, &rng);
  rt_fill(out, NAN, ROWS * TOTAL);
  rt_concat_forward(out, a, b, ROWS, CA, CB);
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < TOTAL; j++) {
      float want = j < CA ? a[r * CA + j] : b[r * CB + j - CA];
      ck_assert_msg(out[r * TOTAL + j] == want, "concat out[%d, %d] = %.9g, want %.9g", r, j,
                    (double)out[r * TOTAL + j], (double)want);
    }
  rt_concat_backward(back_a, out, ROWS, TOTAL, 0, CA);
  rt_concat_backward(back_b, out, ROWS, TOTAL, CA, CB);
  assert_close_f("concat backward, first part", back_a, a, ROWS * CA, 0.0, 0.0, NULL);
  assert_close_f("concat backward, second part", back_b, b, ROWS * CB, 0.0, 0.0, NULL);
}
END_TEST

/* ===== suite ===== */

static Suite *conv_suite(void) {
  Suite *s = suite_create("conv");
  TCase *conv = tcase_create("convolution");
  tcase_set_timeout(conv, 60);
  tcase_add_test(conv, test_window_geometry);
  tcase_add_loop_test(conv, test_conv_forward, 0, N_CONV_SHAPES);
  tcase_add_loop_test(conv, test_conv_gradients, 0, N_CONV_SHAPES);
  tcase_add_loop_test(conv, test_conv_chunked, 0, N_CONV_SHAPES);
#if NNC_WITH_ONEDNN
  tcase_add_loop_test(conv, test_conv_onednn, 0, N_CONV_SHAPES);
#endif
  suite_add_tcase(s, conv);

  TCase *pool = tcase_create("pooling");
  tcase_add_loop_test(pool, test_maxpool, 0, N_POOL_SHAPES);
  tcase_add_loop_test(pool, test_avgpool, 0, N_POOL_SHAPES);
  tcase_add_test(pool, test_maxpool_ties);
  tcase_add_loop_test(pool, test_pooled_matmul_matches_unfused, 0,
                      (int)(sizeof kPooledShapes / sizeof kPooledShapes[0]));
  tcase_add_loop_test(pool, test_maxpool_relu_backward, 0, N_POOL_SHAPES);
  tcase_add_test(pool, test_avgpool_same_corner);
  tcase_add_loop_test(pool, test_global_avgpool, 0, 3);
  suite_add_tcase(s, pool);

  TCase *bn = tcase_create("batchnorm");
  tcase_add_loop_test(bn, test_batchnorm_train, 0,
                      (int)(sizeof kBatchnormShapes / sizeof kBatchnormShapes[0]));
  tcase_add_test(bn, test_batchnorm_variance_precision);
  tcase_add_test(bn, test_batchnorm_moving_and_eval);
  tcase_add_test(bn, test_batchnorm_eval_backward);
  suite_add_tcase(s, bn);

  TCase *misc = tcase_create("rescale and concat");
  tcase_add_test(misc, test_rescale);
  tcase_add_test(misc, test_concat_round_trip);
  suite_add_tcase(s, misc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(conv_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
