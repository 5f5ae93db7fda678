/*
 * gradcheck_test.h — the one finite-difference gradient check of the Check
 * suites (test_ops.c, test_conv.c, test_spatial.c). Header-only.
 *
 * An analytic gradient (count) is compared with central differences of a
 * scalar objective L(ctx) (typically sum(out * r) for a fixed random r,
 * computed in double) with respect to a float input the objective reads
 * through ctx: the step is applied to the float input, and (L(x + h) -
 * L(x - h)) / (actual step) is formed in double. Element i passes when
 * |analytic - numeric| <= max(abs_tol, rel_tol * max(|analytic|, |numeric|));
 * a NaN on either side fails. On failure the message names the worst
 * element: its index, or what the suite's describe callback says about it
 * (NHWC coordinates with gradcheck_describe_nhwc). The objective is called
 * once more at the end, so whatever it writes into ctx is left as for the
 * unperturbed input. assert_close_nhwc, the forward kernels' comparison with
 * a double reference, names its worst element the same way.
 */
#ifndef GRADCHECK_TEST_H
#define GRADCHECK_TEST_H

#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>

/* The scalar a gradient check differentiates, read from its context. */
typedef double (*ObjectiveFn)(void *ctx);

/* Writes into buf (size) where flat element i is, e.g. "index 7 (n 0, y 1, ...)". */
typedef void (*DescribeIndexFn)(char *buf, size_t size, size_t i, const void *arg);

typedef struct {
  float step;               /* the finite-difference step on the float input */
  double rel_tol, abs_tol;  /* see the file comment */
  DescribeIndexFn describe; /* NULL: "index i" */
  const void *describe_arg; /* passed to describe */
} GradCheck;

/* An NHWC shape, used only to say where a mismatch is. */
typedef struct {
  int n, h, w, c;
} Shape4;

/* A DescribeIndexFn for an NHWC tensor; arg is a const Shape4 * (NULL: the
 * flat index alone). */
static inline void gradcheck_describe_nhwc(char *buf, size_t size, size_t i, const void *arg) {
  const Shape4 *shape = arg;
  if (!shape) {
    snprintf(buf, size, "index %zu", i);
    return;
  }
  size_t c = i % shape->c, x = i / shape->c % shape->w, y = i / shape->c / shape->w % shape->h;
  size_t n = i / shape->c / shape->w / shape->h;
  snprintf(buf, size, "index %zu (n %zu, y %zu, x %zu, c %zu of %dx%dx%dx%d)", i, n, y, x, c,
           shape->n, shape->h, shape->w, shape->c);
}

/* analytic (count) must match central differences of objective with respect
 * to input (count); input is restored element by element. */
static inline void gradcheck(const char *what, const GradCheck *gc, ObjectiveFn objective,
                             void *ctx, float *input /* (count) */,
                             const float *analytic /* (count) */, size_t count) {
  double worst_ratio = 0.0, worst_diff = 0.0, worst_a = 0.0, worst_n = 0.0;
  size_t worst_at = 0;
  for (size_t i = 0; i < count; i++) {
    float saved = input[i];
    float plus = saved + gc->step, minus = saved - gc->step;
    input[i] = plus;
    double l_plus = objective(ctx);
    input[i] = minus;
    double l_minus = objective(ctx);
    input[i] = saved;
    double numeric = (l_plus - l_minus) / ((double)plus - (double)minus);
    double diff = fabs(analytic[i] - numeric);
    double tol = fmax(gc->abs_tol, gc->rel_tol * fmax(fabs(analytic[i]), fabs(numeric)));
    if (diff / tol > worst_ratio || !(diff == diff)) {
      worst_ratio = diff == diff ? diff / tol : INFINITY;
      worst_diff = diff;
      worst_at = i;
      worst_a = analytic[i];
      worst_n = numeric;
    }
  }
  objective(ctx); /* leave the context's outputs as they were for the unperturbed input */
  char where[256];
  if (gc->describe)
    gc->describe(where, sizeof where, worst_at, gc->describe_arg);
  else
    snprintf(where, sizeof where, "index %zu", worst_at);
  ck_assert_msg(worst_ratio <= 1.0,
                "%s: max |analytic - numeric| = %.3g at %s (analytic %.9g, numeric %.9g)", what,
                worst_diff, where, worst_a, worst_n);
}

/* gradcheck naming the failing element by its coordinates in an NHWC shape
 * (NULL: its flat index). */
static inline void gradcheck_nhwc(const char *what, const GradCheck *gc, ObjectiveFn objective,
                                  void *ctx, float *input /* (count) */,
                                  const float *analytic /* (count) */, size_t count,
                                  const Shape4 *shape) {
  GradCheck located = *gc;
  located.describe = gradcheck_describe_nhwc;
  located.describe_arg = shape;
  gradcheck(what, &located, objective, ctx, input, analytic, count);
}

/* got (count) must match want (count) to atol + rtol |want| everywhere (a
 * NaN fails); the message names the worst element through describe_nhwc
 * (shape NULL: its flat index). */
static inline void assert_close_nhwc(const char *what, const float *got /* (count) */,
                                     const double *want /* (count) */, size_t count, double atol,
                                     double rtol, const Shape4 *shape) {
  double worst_excess = 0.0, worst_diff = 0.0;
  size_t worst_at = 0;
  for (size_t i = 0; i < count; i++) {
    double diff = fabs(got[i] - want[i]);
    double excess = diff - (atol + rtol * fabs(want[i]));
    if (excess > worst_excess || !(diff == diff)) {
      worst_excess = excess == excess ? excess : INFINITY;
      worst_diff = diff;
      worst_at = i;
    }
  }
  char where[256];
  gradcheck_describe_nhwc(where, sizeof where, worst_at, shape);
  ck_assert_msg(worst_excess <= 0.0, "%s: max difference %.3g at %s (got %.9g, want %.9g)",
                what, worst_diff, where, (double)got[worst_at], want[worst_at]);
}

/* ---- buffers and references for the kernel suites ---- */

/* zeroed, at least one element */
static inline float *new_floats(size_t count) {
  return rt_calloc(count ? count : 1, sizeof(float));
}

static inline double *new_doubles(size_t count) {
  return rt_calloc(count ? count : 1, sizeof(double));
}

static inline void fill_uniform(float *p /* (count) */, size_t count, float lo, float hi,
                                RtRng *rng) {
  for (size_t i = 0; i < count; i++)
    p[i] = lo + (hi - lo) * rt_rng_uniform(rng);
}

/* sum a[i] b[i] in double: the objective L = sum(out * r) of a reference */
static inline double dot_ref(const double *a /* (count) */, const float *b /* (count) */,
                         size_t count) {
  double sum = 0.0;
  for (size_t i = 0; i < count; i++)
    sum += a[i] * b[i];
  return sum;
}

#endif
