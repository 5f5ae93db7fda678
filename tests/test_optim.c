/*
 * test_optim.c — Check suite for rt_optim.c.
 *
 * The expected Adam trajectories are literals computed once, offline, in
 * double precision from the Keras formula (nnc_runtime.h, rt_adam_update):
 *   m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2);
 *   alpha = lr sqrt(1 - b2^t) / (1 - b1^t); p -= alpha m / (sqrt(v) + eps).
 * The eps = 1e-2 case tells the Keras form from PyTorch's, whose third
 * step would give p[0] = 0.98593 instead of 0.99691.
 *
 * RMSprop likewise, from Keras 3's formula (rt_rmsprop_update):
 *   v = rho v + (1 - rho) g^2; p -= lr g / sqrt(v + eps),
 * computed in double from the same float inputs. Its eps = 1e-2 case pins
 * where epsilon goes: with lr g / (sqrt(v) + eps) instead, the third step
 * would give p = {0.991817638, -1.999361255, 0.464270766}.
 */
#include "nnc_runtime.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

#define N_PARAMS 3
#define N_STEPS 3

static const float kStartParams[N_PARAMS] = {1.0f, -2.0f, 0.5f};
static const float kGrads[N_STEPS][N_PARAMS] = {
    {0.1f, -0.2f, 0.3f},
    {0.05f, 0.4f, -0.1f},
    {-0.3f, 0.0f, 0.2f},
};

/* Runs N_STEPS Adam steps (lr 0.01, b1 0.9, b2 0.999) and compares the
 * parameters after every step with expected (N_STEPS, N_PARAMS). */
static void check_adam_trajectory(float eps, const float expected[N_STEPS][N_PARAMS]) {
  float param[N_PARAMS], m[N_PARAMS] = {0}, v[N_PARAMS] = {0};
  for (int i = 0; i < N_PARAMS; i++)
    param[i] = kStartParams[i];
  for (int t = 1; t <= N_STEPS; t++) {
    rt_adam_update(param, kGrads[t - 1], m, v, N_PARAMS, 0.01f, 0.9f, 0.999f, eps, t);
    for (int i = 0; i < N_PARAMS; i++) {
      float want = expected[t - 1][i];
      ck_assert_msg(fabsf(param[i] - want) <= 2e-6f,
                    "eps %g step %d param %d: got %.9f, want %.9f (diff %.3g)", (double)eps, t,
                    i, (double)param[i], (double)want, (double)fabsf(param[i] - want));
    }
  }
}

START_TEST(test_adam_three_steps) {
  static const float expected[N_STEPS][N_PARAMS] = {
      {0.990000316f, -1.990000158f, 0.490000105f},
      {0.980678784f, -1.993661167f, 0.485997960f},
      {0.984150984f, -1.996491138f, 0.479967146f},
  };
  check_adam_trajectory(1e-7f, expected);
}
END_TEST

START_TEST(test_adam_keras_epsilon_placement) {
  static const float expected[N_STEPS][N_PARAMS] = {
      {0.997597469f, -1.996125741f, 0.495131670f},
      {0.995163300f, -1.998270237f, 0.493131028f},
      {0.996910039f, -1.999927595f, 0.489863556f},
  };
  check_adam_trajectory(1e-2f, expected);
}
END_TEST

/* With Keras defaults the first step moves every parameter by about lr,
 * against the gradient's sign, whatever the gradient's magnitude. */
START_TEST(test_adam_first_step_is_lr) {
  const float lr = 1e-3f;
  float param[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  const float grad[4] = {0.5f, -0.5f, 3.0f, -0.02f};
  float m[4] = {0}, v[4] = {0};
  rt_adam_update(param, grad, m, v, 4, lr, 0.9f, 0.999f, 1e-7f, 1);
  for (int i = 0; i < 4; i++) {
    float want = grad[i] > 0 ? -lr : lr;
    ck_assert_msg(fabsf(param[i] - want) <= 1e-3f * lr, "param %d moved %.9g, want %.9g", i,
                  (double)param[i], (double)want);
  }
}
END_TEST

/* A zero gradient from zero state leaves parameters exactly unchanged. */
START_TEST(test_adam_zero_gradient) {
  float param[2] = {0.25f, -4.0f};
  const float grad[2] = {0.0f, 0.0f};
  float m[2] = {0}, v[2] = {0};
  for (long t = 1; t <= 5; t++)
    rt_adam_update(param, grad, m, v, 2, 1e-3f, 0.9f, 0.999f, 1e-7f, t);
  ck_assert_float_eq(param[0], 0.25f);
  ck_assert_float_eq(param[1], -4.0f);
}
END_TEST

/* Runs N_STEPS RMSprop steps (lr 0.01, rho 0.9) and compares the parameters
 * after every step with expected (N_STEPS, N_PARAMS), and the velocity after
 * the last step with expected_v (N_PARAMS). */
static void check_rmsprop_trajectory(float eps, const float expected[N_STEPS][N_PARAMS],
                                     const float expected_v[N_PARAMS]) {
  float param[N_PARAMS], v[N_PARAMS] = {0};
  for (int i = 0; i < N_PARAMS; i++)
    param[i] = kStartParams[i];
  for (int t = 1; t <= N_STEPS; t++) {
    rt_rmsprop_update(param, kGrads[t - 1], v, N_PARAMS, 0.01f, 0.9f, eps);
    for (int i = 0; i < N_PARAMS; i++) {
      float want = expected[t - 1][i];
      ck_assert_msg(fabsf(param[i] - want) <= 2e-6f,
                    "rmsprop eps %g step %d param %d: got %.9f, want %.9f (diff %.3g)",
                    (double)eps, t, i, (double)param[i], (double)want,
                    (double)fabsf(param[i] - want));
    }
  }
  for (int i = 0; i < N_PARAMS; i++)
    ck_assert_msg(fabsf(v[i] - expected_v[i]) <= 1e-6f * expected_v[i],
                  "rmsprop eps %g velocity %d: got %.9g, want %.9g", (double)eps, i,
                  (double)v[i], (double)expected_v[i]);
}

START_TEST(test_rmsprop_three_steps) {
  static const float expected[N_STEPS][N_PARAMS] = {
      {0.968378804f, -1.968377619f, 0.468377399f},
      {0.953635250f, -1.996948974f, 0.478860190f},
      {0.983582738f, -1.996948974f, 0.460745689f},
  };
  static const float expected_v[N_PARAMS] = {0.0100350007f, 0.0176400005f, 0.0121900007f};
  check_rmsprop_trajectory(1e-7f, expected, expected_v);
}
END_TEST

START_TEST(test_rmsprop_epsilon_placement) {
  static const float expected[N_STEPS][N_PARAMS] = {
      {0.990465374f, -1.983096915f, 0.478235712f},
      {0.985730237f, -2.006346443f, 0.485471458f},
      {1.006924903f, -2.006346443f, 0.472045313f},
  };
  static const float expected_v[N_PARAMS] = {0.0100350007f, 0.0176400005f, 0.0121900007f};
  check_rmsprop_trajectory(1e-2f, expected, expected_v);
}
END_TEST

/* SGD and AdamW trajectories over the same three gradients, literals from
 * Keras's formulas computed in double (nnc_runtime.h). */
typedef void (*StepFn)(float *p, const float *g, float *s1, float *s2, long t);

static void check_trajectory(const char *what, StepFn step,
                             const float expected[N_STEPS][N_PARAMS]) {
  float param[N_PARAMS], s1[N_PARAMS] = {0}, s2[N_PARAMS] = {0};
  for (int i = 0; i < N_PARAMS; i++)
    param[i] = kStartParams[i];
  for (int t = 1; t <= N_STEPS; t++) {
    step(param, kGrads[t - 1], s1, s2, t);
    for (int i = 0; i < N_PARAMS; i++)
      ck_assert_msg(fabsf(param[i] - expected[t - 1][i]) <= 2e-6f,
                    "%s step %d param %d: got %.9f, want %.9f", what, t, i, (double)param[i],
                    (double)expected[t - 1][i]);
  }
}

static void sgd_plain(float *p, const float *g, float *s1, float *s2, long t) {
  (void)s2, (void)t;
  rt_sgd_update(p, g, s1, N_PARAMS, 0.1f, 0.0f, 0);
}
static void sgd_momentum(float *p, const float *g, float *s1, float *s2, long t) {
  (void)s2, (void)t;
  rt_sgd_update(p, g, s1, N_PARAMS, 0.1f, 0.9f, 0);
}
static void sgd_nesterov(float *p, const float *g, float *s1, float *s2, long t) {
  (void)s2, (void)t;
  rt_sgd_update(p, g, s1, N_PARAMS, 0.1f, 0.9f, 1);
}
static void adamw_step(float *p, const float *g, float *s1, float *s2, long t) {
  rt_adamw_update(p, g, s1, s2, N_PARAMS, 0.01f, 0.9f, 0.999f, 1e-7f, 0.1f, t);
}

START_TEST(test_sgd_trajectories) {
  static const float plain[N_STEPS][N_PARAMS] = {
      {0.990000000f, -1.980000000f, 0.469999999f},
      {0.985000000f, -2.020000000f, 0.479999999f},
      {1.015000001f, -2.020000000f, 0.459999999f},
  };
  static const float momentum[N_STEPS][N_PARAMS] = {
      {0.990000000f, -1.980000000f, 0.469999999f},
      {0.976000000f, -2.002000000f, 0.452999998f},
      {0.993400001f, -2.021800000f, 0.417699997f},
  };
  static const float nesterov[N_STEPS][N_PARAMS] = {
      {0.981000000f, -1.961999999f, 0.442999998f},
      {0.963399999f, -2.021800000f, 0.437699997f},
      {1.009060002f, -2.039620001f, 0.385929996f},
  };
  check_trajectory("sgd", sgd_plain, plain);
  check_trajectory("sgd momentum", sgd_momentum, momentum);
  check_trajectory("sgd nesterov", sgd_nesterov, nesterov);
}
END_TEST

START_TEST(test_adamw_trajectory) {
  static const float expected[N_STEPS][N_PARAMS] = {
      {0.989000316f, -1.988000158f, 0.489500105f},
      {0.978689783f, -1.989673167f, 0.485008460f},
      {0.981183294f, -1.990513465f, 0.478492637f},
  };
  check_trajectory("adamw", adamw_step, expected);
}
END_TEST

/* l2(0.5) on w = (1, -2): penalty 0.5 * 5 = 2.5, gradient 2 * 0.5 * w added. */
START_TEST(test_l2_regularization) {
  float w[2] = {1.0f, -2.0f}, g[2] = {0.25f, 0.5f};
  ck_assert_double_eq_tol(rt_l2_penalty(w, 2, 0.5f), 2.5, 1e-9);
  rt_l2_backward(g, w, 2, 0.5f);
  ck_assert_float_eq_tol(g[0], 1.25f, 1e-6f);
  ck_assert_float_eq_tol(g[1], -1.5f, 1e-6f);
}
END_TEST

/* clipnorm: (3, 4) has norm 5; clipped to 1 it is (0.6, 0.8); a gradient
 * already inside the norm is left alone. */
START_TEST(test_clip_by_norm) {
  float g[2] = {3.0f, 4.0f};
  rt_clip_by_norm(g, 2, 1.0f);
  ck_assert_float_eq_tol(g[0], 0.6f, 1e-6f);
  ck_assert_float_eq_tol(g[1], 0.8f, 1e-6f);
  float h[2] = {0.3f, 0.4f};
  rt_clip_by_norm(h, 2, 1.0f);
  ck_assert(h[0] == 0.3f && h[1] == 0.4f);
}
END_TEST

/* ExponentialDecay(1e-3, decay_steps=1000, decay_rate=0.9): values worked
 * from Keras's formula. */
START_TEST(test_exponential_decay) {
  ck_assert_double_eq_tol(rt_exponential_decay(1e-3, 0, 1000, 0.9, 0), 1e-3, 1e-15);
  ck_assert_double_eq_tol(rt_exponential_decay(1e-3, 500, 1000, 0.9, 0), 9.486832980505138e-4,
                          1e-15);
  ck_assert_double_eq_tol(rt_exponential_decay(1e-3, 2500, 1000, 0.9, 0), 7.684334714209162e-4,
                          1e-15);
  ck_assert_double_eq_tol(rt_exponential_decay(1e-3, 500, 1000, 0.9, 1), 1e-3, 1e-15);
  ck_assert_double_eq_tol(rt_exponential_decay(1e-3, 2500, 1000, 0.9, 1), 8.1e-4, 1e-15);
}
END_TEST

/* PiecewiseConstantDecay(boundaries=[1000, 2000], values=[1e-3, 5e-4, 1e-4]):
 * a boundary step still gets the value before it (step <= boundary). */
START_TEST(test_piecewise_constant) {
  const long boundaries[] = {1000, 2000};
  const double values[] = {1e-3, 5e-4, 1e-4};
  const long steps[] = {0, 999, 1000, 1001, 2000, 2001, 100000};
  const double want[] = {1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 1e-4, 1e-4};
  for (int i = 0; i < 7; i++)
    ck_assert_msg(rt_piecewise_constant(steps[i], boundaries, values, 2) == want[i],
                  "step %ld: %g, want %g", steps[i],
                  rt_piecewise_constant(steps[i], boundaries, values, 2), want[i]);
}
END_TEST

/* CosineDecay(0.1, decay_steps=1000, alpha, warmup_target, warmup_steps):
 * values worked by hand from Keras's formula. */
START_TEST(test_cosine_decay) {
  ck_assert_double_eq_tol(rt_cosine_decay(0.1, 0, 1000, 0, 0, 0), 0.1, 1e-15);
  ck_assert_double_eq_tol(rt_cosine_decay(0.1, 250, 1000, 0, 0, 0), 0.0853553390593274, 1e-15);
  ck_assert_double_eq_tol(rt_cosine_decay(0.1, 500, 1000, 0, 0, 0), 0.05, 1e-15);
  ck_assert_double_eq_tol(rt_cosine_decay(0.1, 1000, 1000, 0, 0, 0), 0.0, 1e-15);
  ck_assert_double_eq_tol(rt_cosine_decay(0.1, 5000, 1000, 0, 0, 0), 0.0, 1e-15);
  /* alpha: the floor, as a fraction of the initial rate */
  ck_assert_double_eq_tol(rt_cosine_decay(0.1, 500, 1000, 0.1, 0, 0), 0.055, 1e-15);
  ck_assert_double_eq_tol(rt_cosine_decay(0.1, 3000, 1000, 0.1, 0, 0), 0.01, 1e-15);
  /* warmup from 0 to 0.1 over 100 steps, then the decay over 1000 more */
  ck_assert_double_eq_tol(rt_cosine_decay(0.0, 0, 1000, 0, 0.1, 100), 0.0, 1e-15);
  ck_assert_double_eq_tol(rt_cosine_decay(0.0, 50, 1000, 0, 0.1, 100), 0.05, 1e-15);
  ck_assert_double_eq_tol(rt_cosine_decay(0.0, 100, 1000, 0, 0.1, 100), 0.1, 1e-15);
  ck_assert_double_eq_tol(rt_cosine_decay(0.0, 600, 1000, 0, 0.1, 100), 0.05, 1e-15);
}
END_TEST

/* global_clipnorm: the norm of all gradients together, sqrt(3^2 + 4^2 + 12^2) = 13. */
START_TEST(test_clip_by_global_norm) {
  float a[2] = {3.0f, 4.0f}, b[1] = {12.0f};
  float *grads[] = {a, b};
  const size_t counts[] = {2, 1};
  rt_clip_by_global_norm(grads, counts, 2, 6.5f);
  ck_assert_float_eq_tol(a[0], 1.5f, 1e-6f);
  ck_assert_float_eq_tol(a[1], 2.0f, 1e-6f);
  ck_assert_float_eq_tol(b[0], 6.0f, 1e-6f);
  rt_clip_by_global_norm(grads, counts, 2, 100.0f); /* under the limit: untouched */
  ck_assert(a[0] == 1.5f && a[1] == 2.0f && b[0] == 6.0f);
}
END_TEST

/* Keras's docstring example: var 10, loss var^2 / 2 (gradient = var),
 * lr 0.1: one step gives 9.683772. */
START_TEST(test_rmsprop_keras_example) {
  float var = 10.0f, v = 0.0f;
  const float grad = var;
  rt_rmsprop_update(&var, &grad, &v, 1, 0.1f, 0.9f, 1e-7f);
  ck_assert_msg(fabsf(var - 9.683772f) <= 1e-5f, "var %.7f, want 9.683772", (double)var);
}
END_TEST

static Suite *optim_suite(void) {
  Suite *s = suite_create("optim");
  TCase *tc = tcase_create("adam");
  tcase_add_test(tc, test_adam_three_steps);
  tcase_add_test(tc, test_adam_keras_epsilon_placement);
  tcase_add_test(tc, test_adam_first_step_is_lr);
  tcase_add_test(tc, test_adam_zero_gradient);
  suite_add_tcase(s, tc);
  TCase *others = tcase_create("sgd_adamw");
  tcase_add_test(others, test_exponential_decay);
  tcase_add_test(others, test_piecewise_constant);
  tcase_add_test(others, test_cosine_decay);
  tcase_add_test(others, test_clip_by_global_norm);
  tcase_add_test(others, test_clip_by_norm);
  tcase_add_test(others, test_l2_regularization);
  tcase_add_test(others, test_sgd_trajectories);
  tcase_add_test(others, test_adamw_trajectory);
  suite_add_tcase(s, others);
  TCase *rmsprop = tcase_create("rmsprop");
  tcase_add_test(rmsprop, test_rmsprop_three_steps);
  tcase_add_test(rmsprop, test_rmsprop_epsilon_placement);
  tcase_add_test(rmsprop, test_rmsprop_keras_example);
  suite_add_tcase(s, rmsprop);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(optim_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
