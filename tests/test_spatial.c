/*
 * test_spatial.c — Check suite for rt_spatial.c: depthwise convolution,
 * zero padding and nearest-neighbour upsampling.
 *
 * Forward kernels are compared with plain references written here in
 * double: the depthwise convolution as a direct convolution of each input
 * channel with each of its dm filters, testing every window cell against
 * the image bounds (window geometry from window_test.h, the header's
 * formulas); padding and upsampling as index arithmetic per output element.
 * Backward kernels are checked against central finite differences of
 * L = sum(ref_out * r) for a fixed random r (gradcheck_test.h); their
 * outputs are prefilled with NaN, so a kernel that accumulates, or leaves
 * an element unwritten, fails. The kernel gradient, which sums over the
 * batch, must also be bit-identical for 1 and 3 threads.
 */
#include "nnc_runtime.h"

#include "gradcheck_test.h"
#include "window_test.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The references are linear in each input: the differences are exact up to
 * float rounding of the step, so the tolerances are tight. */
static const GradCheck kGradCheck = {1e-3f, 1e-3, 1e-4, NULL, NULL};

/* ===== helpers ===== */



static void check_gradient(const char *what, ObjectiveFn objective, void *ctx, float *input,
                           const float *analytic, size_t count, const Shape4 *shape) {
  gradcheck_nhwc(what, &kGradCheck, objective, ctx, input, analytic, count, shape);
}

/* ===== depthwise convolution ===== */

/* out (m, oh, ow, c * dm): out channel ci * dm + k is the direct convolution
 * of input channel ci of x (m, h, w, c) with filter k, kernel (kh, kw, c, dm),
 * zero padding, in double. */
static void depthwise_reference(double *out, const float *x, const float *kernel, int m,
                                const RtWindow *win, int dm) {
  const int c = win->c, co = c * dm;
  for (int n = 0; n < m; n++)
    for (int oy = 0; oy < win->oh; oy++)
      for (int ox = 0; ox < win->ow; ox++)
        for (int ci = 0; ci < c; ci++)
          for (int k = 0; k < dm; k++) {
            double sum = 0.0;
            for (int ky = 0; ky < win->kh; ky++)
              for (int kx = 0; kx < win->kw; kx++) {
                int y = oy * win->sh - win->pad_top + ky, xx = ox * win->sw - win->pad_left + kx;
                if (!window_inside(win, y, xx))
                  continue; /* zero padding */
                double xv = x[(((size_t)n * win->h + y) * win->w + xx) * c + ci];
                double kv = kernel[(((size_t)ky * win->kw + kx) * c + ci) * dm + k];
                sum += xv * kv;
              }
            out[(((size_t)n * win->oh + oy) * win->ow + ox) * co + ci * dm + k] = sum;
          }
}

typedef struct {
  int h, w, c, kh, kw, sh, sw, same, dm;
} DepthwiseShape;

static const DepthwiseShape kDepthwiseShapes[] = {
    {7, 5, 3, 3, 3, 1, 1, 1, 1}, /* MobileNet's 3x3 same, odd sizes */
    {7, 5, 3, 3, 3, 1, 1, 0, 1}, /* valid */
    {7, 5, 3, 3, 3, 2, 2, 1, 1}, /* stride 2 same: pad 1 before and after */
    {6, 6, 4, 3, 3, 2, 2, 1, 1}, /* stride 2 same, even: all the padding after */
    {7, 5, 2, 3, 3, 2, 2, 0, 1}, /* stride 2 valid: the last column dropped */
    {7, 5, 3, 3, 3, 1, 1, 1, 2}, /* depth multiplier 2 */
    {7, 5, 3, 3, 3, 2, 2, 0, 2}, /* dm 2, stride 2 valid */
    {6, 7, 2, 3, 3, 2, 2, 1, 3}, /* dm 3, stride 2 same */
    {5, 5, 1, 3, 3, 1, 1, 1, 2}, /* one channel, dm 2 */
    {7, 7, 3, 5, 5, 1, 1, 1, 1}, /* 5x5 same */
    {6, 6, 3, 4, 4, 1, 1, 1, 2}, /* even kernel same: 1 before, 2 after */
    {7, 5, 3, 3, 3, 2, 1, 1, 1}, /* strides (2, 1) */
    {3, 7, 2, 2, 3, 1, 1, 1, 2}, /* non-square kernel */
    {4, 4, 2, 5, 5, 1, 1, 1, 1}, /* kernel larger than the image */
    {6, 5, 5, 1, 1, 1, 1, 0, 2}, /* 1x1 */
};
#define N_DEPTHWISE_SHAPES ((int)(sizeof kDepthwiseShapes / sizeof kDepthwiseShapes[0]))

enum { DEPTHWISE_BATCH = 2 };

typedef struct {
  RtWindow win;
  int m, dm;
  float *x;      /* (m, h, w, c) */
  float *kernel; /* (kh, kw, c, dm) */
  float *r;      /* (m, oh, ow, c * dm) */
  double *ref;   /* (m, oh, ow, c * dm): scratch of the objective */
} DepthwiseCtx;

static size_t dw_x_count(const DepthwiseCtx *d) {
  return (size_t)d->m * d->win.h * d->win.w * d->win.c;
}
static size_t dw_kernel_count(const DepthwiseCtx *d) {
  return (size_t)d->win.kh * d->win.kw * d->win.c * d->dm;
}
static size_t dw_out_count(const DepthwiseCtx *d) {
  return (size_t)d->m * d->win.oh * d->win.ow * d->win.c * d->dm;
}

static double depthwise_objective(void *p) {
  DepthwiseCtx *d = p;
  depthwise_reference(d->ref, d->x, d->kernel, d->m, &d->win, d->dm);
  return dot_ref(d->ref, d->r, dw_out_count(d));
}

static DepthwiseCtx depthwise_ctx_new(const DepthwiseShape *s, int m, uint64_t seed) {
  DepthwiseCtx d = {window_make(s->h, s->w, s->c, s->kh, s->kw, s->sh, s->sw, s->same), m,
                    s->dm, NULL, NULL, NULL, NULL};
  d.x = new_floats(dw_x_count(&d)), d.kernel = new_floats(dw_kernel_count(&d));
  d.r = new_floats(dw_out_count(&d)), d.ref = new_doubles(dw_out_count(&d));
  RtRng rng;
  rt_rng_seed(&rng, seed);
  fill_uniform(d.x, dw_x_count(&d), -1.0f, 1.0f, &rng);
  fill_uniform(d.kernel, dw_kernel_count(&d), -1.0f, 1.0f, &rng);
  fill_uniform(d.r, dw_out_count(&d), -1.0f, 1.0f, &rng);
  return d;
}

static void depthwise_ctx_free(DepthwiseCtx *d) {
  free(d->x), free(d->kernel), free(d->r), free(d->ref);
}

static void describe_depthwise(char *buf, size_t size, const char *op, const DepthwiseCtx *d,
                               int same) {
  char dm[32];
  snprintf(dm, sizeof dm, "%s dm %d", op, d->dm);
  describe_window(buf, size, dm, &d->win, same);
}

START_TEST(test_depthwise_forward) {
  const DepthwiseShape *s = &kDepthwiseShapes[_i];
  DepthwiseCtx d = depthwise_ctx_new(s, DEPTHWISE_BATCH, 5000 + _i);
  float *out = new_floats(dw_out_count(&d));
  rt_fill(out, NAN, dw_out_count(&d)); /* every output, padding or not, must be written */
  rt_depthwise_forward(out, d.x, d.kernel, d.m, &d.win, d.dm);
  depthwise_reference(d.ref, d.x, d.kernel, d.m, &d.win, d.dm);
  char what[160];
  describe_depthwise(what, sizeof what, "depthwise forward", &d, s->same);
  Shape4 shape = {d.m, d.win.oh, d.win.ow, d.win.c * d.dm};
  assert_close_nhwc(what, out, d.ref, dw_out_count(&d), 1e-5, 1e-5, &shape);
  free(out);
  depthwise_ctx_free(&d);
}
END_TEST

START_TEST(test_depthwise_gradients) {
  const DepthwiseShape *s = &kDepthwiseShapes[_i];
  DepthwiseCtx d = depthwise_ctx_new(s, DEPTHWISE_BATCH, 6000 + _i);
  float *dx = new_floats(dw_x_count(&d)), *dkernel = new_floats(dw_kernel_count(&d));
  rt_fill(dx, NAN, dw_x_count(&d)); /* both overwrite */
  rt_fill(dkernel, NAN, dw_kernel_count(&d));
  rt_depthwise_backward_x(dx, d.r, d.kernel, d.m, &d.win, d.dm);
  rt_depthwise_backward_w(dkernel, d.r, d.x, d.m, &d.win, d.dm);
  char what[160];
  describe_depthwise(what, sizeof what, "depthwise dx", &d, s->same);
  Shape4 x_shape = {d.m, d.win.h, d.win.w, d.win.c};
  check_gradient(what, depthwise_objective, &d, d.x, dx, dw_x_count(&d), &x_shape);
  describe_depthwise(what, sizeof what, "depthwise dkernel", &d, s->same);
  Shape4 k_shape = {d.win.kh, d.win.kw, d.win.c, d.dm};
  check_gradient(what, depthwise_objective, &d, d.kernel, dkernel, dw_kernel_count(&d),
                 &k_shape);
  free(dx), free(dkernel);
  depthwise_ctx_free(&d);
}
END_TEST

/* Enough work to run threaded (rt_threads_for): forward, dx and dkernel are
 * bit-identical for 1 and 3 threads (dkernel is split by channel, every
 * thread summing the whole batch in the same order). */
START_TEST(test_depthwise_threads) {
  static const DepthwiseShape s = {12, 12, 24, 3, 3, 1, 1, 1, 2};
  DepthwiseCtx d = depthwise_ctx_new(&s, 9, 7000);
  const size_t xc = dw_x_count(&d), kc = dw_kernel_count(&d), oc = dw_out_count(&d);
  float *out[2], *dx[2], *dk[2];
  const int saved = rt_threads(), threads[2] = {1, 3};
  for (int t = 0; t < 2; t++) {
    out[t] = new_floats(oc), dx[t] = new_floats(xc), dk[t] = new_floats(kc);
    rt_set_threads(threads[t]);
    rt_depthwise_forward(out[t], d.x, d.kernel, d.m, &d.win, d.dm);
    rt_depthwise_backward_x(dx[t], d.r, d.kernel, d.m, &d.win, d.dm);
    rt_depthwise_backward_w(dk[t], d.r, d.x, d.m, &d.win, d.dm);
  }
  rt_set_threads(saved);
  ck_assert_msg(memcmp(out[0], out[1], oc * sizeof(float)) == 0, "forward differs by threads");
  ck_assert_msg(memcmp(dx[0], dx[1], xc * sizeof(float)) == 0, "dx differs by threads");
  ck_assert_msg(memcmp(dk[0], dk[1], kc * sizeof(float)) == 0, "dkernel differs by threads");
  for (int t = 0; t < 2; t++)
    free(out[t]), free(dx[t]), free(dk[t]);
  depthwise_ctx_free(&d);
}
END_TEST

/* ===== zero padding ===== */

typedef struct {
  int h, w, c, top, bottom, left, right;
} PadShape;

static const PadShape kPadShapes[] = {
    {5, 4, 3, 1, 1, 1, 1}, /* ZeroPadding2D(1) */
    {7, 7, 2, 0, 1, 0, 1}, /* MobileNetV2's ((0, 1), (0, 1)) before a stride-2 conv */
    {3, 5, 1, 2, 0, 3, 1}, /* asymmetric, one channel */
    {4, 3, 4, 0, 0, 0, 0}, /* no padding: a copy */
};
#define N_PAD_SHAPES ((int)(sizeof kPadShapes / sizeof kPadShapes[0]))

enum { SPATIAL_BATCH = 3 };

typedef struct {
  const PadShape *s;
  int m;
  float *x;    /* (m, h, w, c) */
  float *r;    /* (m, h + top + bottom, w + left + right, c) */
  double *ref; /* like r */
} PadCtx;

static int pad_oh(const PadShape *s) { return s->h + s->top + s->bottom; }
static int pad_ow(const PadShape *s) { return s->w + s->left + s->right; }

/* ref (m, oh, ow, c): x where the output pixel lies inside the image, else 0. */
static void pad_reference(double *ref, const float *x, int m, const PadShape *s) {
  const int oh = pad_oh(s), ow = pad_ow(s);
  for (int n = 0; n < m; n++)
    for (int y = 0; y < oh; y++)
      for (int xx = 0; xx < ow; xx++)
        for (int ch = 0; ch < s->c; ch++) {
          int iy = y - s->top, ix = xx - s->left;
          int in = iy >= 0 && iy < s->h && ix >= 0 && ix < s->w;
          ref[(((size_t)n * oh + y) * ow + xx) * s->c + ch] =
              in ? x[(((size_t)n * s->h + iy) * s->w + ix) * s->c + ch] : 0.0;
        }
}

static double pad_objective(void *p) {
  PadCtx *c = p;
  pad_reference(c->ref, c->x, c->m, c->s);
  return dot_ref(c->ref, c->r, (size_t)c->m * pad_oh(c->s) * pad_ow(c->s) * c->s->c);
}

START_TEST(test_zero_pad) {
  const PadShape *s = &kPadShapes[_i];
  PadCtx c = {s, SPATIAL_BATCH, NULL, NULL, NULL};
  const size_t x_count = (size_t)c.m * s->h * s->w * s->c;
  const size_t out_count = (size_t)c.m * pad_oh(s) * pad_ow(s) * s->c;
  c.x = new_floats(x_count), c.r = new_floats(out_count), c.ref = new_doubles(out_count);
  float *out = new_floats(out_count), *dx = new_floats(x_count);
  RtRng rng;
  rt_rng_seed(&rng, 8000 + _i);
  fill_uniform(c.x, x_count, -1.0f, 1.0f, &rng);
  fill_uniform(c.r, out_count, -1.0f, 1.0f, &rng);
  char what[160];
  snprintf(what, sizeof what, "zero_pad %dx%dx%d (%d, %d, %d, %d)", s->h, s->w, s->c, s->top,
           s->bottom, s->left, s->right);

  rt_fill(out, NAN, out_count);
  rt_zero_pad_forward(out, c.x, c.m, s->h, s->w, s->c, s->top, s->bottom, s->left, s->right);
  pad_reference(c.ref, c.x, c.m, s);
  Shape4 out_shape = {c.m, pad_oh(s), pad_ow(s), s->c};
  assert_close_nhwc(what, out, c.ref, out_count, 0.0, 0.0, &out_shape);

  rt_fill(dx, NAN, x_count);
  rt_zero_pad_backward(dx, c.r, c.m, s->h, s->w, s->c, s->top, s->bottom, s->left, s->right);
  Shape4 x_shape = {c.m, s->h, s->w, s->c};
  check_gradient(what, pad_objective, &c, c.x, dx, x_count, &x_shape);
  free(c.x), free(c.r), free(c.ref), free(out), free(dx);
}
END_TEST

/* ===== nearest upsampling ===== */

typedef struct {
  int h, w, c, sy, sx;
} UpsampleShape;

static const UpsampleShape kUpsampleShapes[] = {
    {3, 4, 2, 2, 2}, /* UpSampling2D(2) */
    {5, 3, 1, 3, 2}, /* different factors, one channel */
    {2, 5, 3, 1, 3}, /* rows kept */
    {4, 4, 5, 1, 1}, /* a copy */
};
#define N_UPSAMPLE_SHAPES ((int)(sizeof kUpsampleShapes / sizeof kUpsampleShapes[0]))

typedef struct {
  const UpsampleShape *s;
  int m;
  float *x;    /* (m, h, w, c) */
  float *r;    /* (m, h * sy, w * sx, c) */
  double *ref; /* like r */
} UpsampleCtx;

/* ref (m, h sy, w sx, c): pixel (y, x) = x pixel (y / sy, x / sx). */
static void upsample_reference(double *ref, const float *x, int m, const UpsampleShape *s) {
  const int oh = s->h * s->sy, ow = s->w * s->sx;
  for (int n = 0; n < m; n++)
    for (int y = 0; y < oh; y++)
      for (int xx = 0; xx < ow; xx++)
        for (int ch = 0; ch < s->c; ch++)
          ref[(((size_t)n * oh + y) * ow + xx) * s->c + ch] =
              x[(((size_t)n * s->h + y / s->sy) * s->w + xx / s->sx) * s->c + ch];
}

static double upsample_objective(void *p) {
  UpsampleCtx *c = p;
  upsample_reference(c->ref, c->x, c->m, c->s);
  return dot_ref(c->ref, c->r, (size_t)c->m * c->s->h * c->s->sy * c->s->w * c->s->sx * c->s->c);
}

START_TEST(test_upsample_nearest) {
  const UpsampleShape *s = &kUpsampleShapes[_i];
  UpsampleCtx c = {s, SPATIAL_BATCH, NULL, NULL, NULL};
  const size_t x_count = (size_t)c.m * s->h * s->w * s->c;
  const size_t out_count = x_count * s->sy * s->sx;
  c.x = new_floats(x_count), c.r = new_floats(out_count), c.ref = new_doubles(out_count);
  float *out = new_floats(out_count), *dx = new_floats(x_count);
  RtRng rng;
  rt_rng_seed(&rng, 9000 + _i);
  fill_uniform(c.x, x_count, -1.0f, 1.0f, &rng);
  fill_uniform(c.r, out_count, -1.0f, 1.0f, &rng);
  char what[160];
  snprintf(what, sizeof what, "upsample_nearest %dx%dx%d by (%d, %d)", s->h, s->w, s->c, s->sy,
           s->sx);

  rt_fill(out, NAN, out_count);
  rt_upsample_nearest_forward(out, c.x, c.m, s->h, s->w, s->c, s->sy, s->sx);
  upsample_reference(c.ref, c.x, c.m, s);
  Shape4 out_shape = {c.m, s->h * s->sy, s->w * s->sx, s->c};
  assert_close_nhwc(what, out, c.ref, out_count, 0.0, 0.0, &out_shape);

  rt_fill(dx, NAN, x_count);
  rt_upsample_nearest_backward(dx, c.r, c.m, s->h, s->w, s->c, s->sy, s->sx);
  Shape4 x_shape = {c.m, s->h, s->w, s->c};
  check_gradient(what, upsample_objective, &c, c.x, dx, x_count, &x_shape);
  free(c.x), free(c.r), free(c.ref), free(out), free(dx);
}
END_TEST

/* ===== suite ===== */

static Suite *spatial_suite(void) {
  Suite *s = suite_create("spatial");
  TCase *dw = tcase_create("depthwise");
  tcase_set_timeout(dw, 120);
  tcase_add_loop_test(dw, test_depthwise_forward, 0, N_DEPTHWISE_SHAPES);
  tcase_add_loop_test(dw, test_depthwise_gradients, 0, N_DEPTHWISE_SHAPES);
  tcase_add_test(dw, test_depthwise_threads);
  suite_add_tcase(s, dw);

  TCase *resize = tcase_create("padding and upsampling");
  tcase_set_timeout(resize, 120);
  tcase_add_loop_test(resize, test_zero_pad, 0, N_PAD_SHAPES);
  tcase_add_loop_test(resize, test_upsample_nearest, 0, N_UPSAMPLE_SHAPES);
  suite_add_tcase(s, resize);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(spatial_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
