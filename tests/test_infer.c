/*
 * test_infer.c — Check suite for runtime/nnc_infer.h, the plain C99
 * inference kernels that `nnc export` puts into an exported model.
 *
 * Each plain kernel is compared with the runtime's optimized kernel (the one
 * the training program runs) on random data: an exported model must compute
 * what the trained program computed, to float rounding (the sums run in
 * another order). Window geometry comes from one helper for both sides.
 */
#include "nnc_infer.h"
#include "nnc_runtime.h"

#include <check.h>
#include <stdlib.h>

#define TOL 1e-5f

static float *random_floats(RtRng *rng, size_t n) {
  float *p = rt_malloc(sizeof(float) * (n ? n : 1));
  for (size_t i = 0; i < n; i++)
    p[i] = 2.0f * rt_rng_uniform(rng) - 1.0f;
  return p;
}

/* max |a - b| / max(1, |b|) */
static float max_rel_diff(const float *a, const float *b, size_t n) {
  float worst = 0;
  for (size_t i = 0; i < n; i++) {
    float d = fabsf(a[i] - b[i]) / fmaxf(1.0f, fabsf(b[i]));
    worst = d > worst ? d : worst;
  }
  return worst;
}

#define assert_close(a, b, n)                                                                     \
  do {                                                                                            \
    float d_ = max_rel_diff((a), (b), (n));                                                       \
    ck_assert_msg(d_ <= TOL, "max relative difference %g > %g", (double)d_, (double)TOL);      \
  } while (0)

/* TensorFlow 'same' / 'valid' geometry, as shape.c computes it. */
static RtWindow window(int h, int w, int c, int k, int s, int same) {
  RtWindow g = {.h = h, .w = w, .c = c, .kh = k, .kw = k, .sh = s, .sw = s};
  g.oh = same ? (h + s - 1) / s : (h - k) / s + 1;
  g.ow = same ? (w + s - 1) / s : (w - k) / s + 1;
  if (same) {
    int ph = (g.oh - 1) * s + k - h, pw = (g.ow - 1) * s + k - w;
    g.pad_top = ph > 0 ? ph / 2 : 0;
    g.pad_left = pw > 0 ? pw / 2 : 0;
  }
  return g;
}

static NnWindow as_nn(const RtWindow *g) {
  NnWindow n = {g->h, g->w, g->c, g->oh, g->ow, g->kh, g->kw, g->sh, g->sw, g->pad_top,
                g->pad_left};
  return n;
}

START_TEST(test_dense_equals_gemm_and_epilogue) {
  RtRng rng;
  rt_rng_seed(&rng, 1);
  int m = 7, k = 33, n = 10;
  float *x = random_floats(&rng, (size_t)m * k), *w = random_floats(&rng, (size_t)k * n);
  float *b = random_floats(&rng, (size_t)n);
  float *want = rt_malloc(sizeof(float) * m * n), *got = rt_malloc(sizeof(float) * m * n);
  for (int act = RT_ACT_NONE; act <= RT_ACT_RELU6; act++) {
    rt_matmul_forward(want, x, w, m, k, n);
    rt_bias_act_forward(want, b, m, n, (RtAct)act, 0.3f);
    nn_dense(got, x, w, b, m, k, n, act, 0.3f);
    assert_close(got, want, (size_t)m * n);
  }
  free(x), free(w), free(b), free(want), free(got);
}
END_TEST

/* conv = im2col + GEMM + bias in the runtime; a direct loop here */
START_TEST(test_conv2d_equals_im2col_gemm) {
  RtRng rng;
  rt_rng_seed(&rng, 2);
  const int cases[][4] = {{3, 1, 1, 0}, {3, 2, 1, 0}, {5, 1, 0, 0}, {3, 2, 0, 1}, {1, 1, 0, 0}};
  for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
    int m = 2, f = 5;
    RtWindow g = window(9, 7, 3, cases[t][0], cases[t][1], cases[t][2]);
    size_t cols = (size_t)m * g.oh * g.ow, kk = (size_t)g.kh * g.kw * g.c;
    float *x = random_floats(&rng, (size_t)m * g.h * g.w * g.c);
    float *kernel = random_floats(&rng, kk * f), *bias = random_floats(&rng, (size_t)f);
    float *col = rt_malloc(sizeof(float) * cols * kk);
    float *want = rt_malloc(sizeof(float) * cols * f), *got = rt_malloc(sizeof(float) * cols * f);
    rt_im2col(col, x, m, &g);
    rt_matmul_forward(want, col, kernel, (int)cols, (int)kk, f);
    rt_bias_act_forward(want, bias, (int)cols, f, RT_ACT_RELU, 0);
    NnWindow ng = as_nn(&g);
    nn_conv2d(got, x, kernel, bias, m, &ng, f, NN_ACT_RELU, 0);
    assert_close(got, want, cols * f);
    free(x), free(kernel), free(bias), free(col), free(want), free(got);
  }
}
END_TEST

START_TEST(test_depthwise_equals_runtime) {
  RtRng rng;
  rt_rng_seed(&rng, 5);
  for (int dm = 1; dm <= 2; dm++)
    for (int same = 0; same <= 1; same++) {
      int m = 2;
      RtWindow g = window(8, 7, 3, 3, 2, same);
      size_t out = (size_t)m * g.oh * g.ow * g.c * dm;
      float *x = random_floats(&rng, (size_t)m * g.h * g.w * g.c);
      float *kernel = random_floats(&rng, (size_t)9 * g.c * dm);
      float *want = rt_malloc(sizeof(float) * out), *got = rt_malloc(sizeof(float) * out);
      rt_depthwise_forward(want, x, kernel, m, &g, dm);
      NnWindow ng = as_nn(&g);
      nn_depthwise2d(got, x, kernel, NULL, m, &ng, dm, NN_ACT_NONE, 0);
      assert_close(got, want, out);
      free(x), free(kernel), free(want), free(got);
    }
}
END_TEST

START_TEST(test_pools_equal_runtime) {
  RtRng rng;
  rt_rng_seed(&rng, 3);
  for (int same = 0; same <= 1; same++) {
    int m = 2;
    RtWindow g = window(7, 6, 4, 2, 2, same);
    size_t in = (size_t)m * g.h * g.w * g.c, out = (size_t)m * g.oh * g.ow * g.c;
    float *x = random_floats(&rng, in), *want = rt_malloc(sizeof(float) * out);
    float *got = rt_malloc(sizeof(float) * out);
    NnWindow ng = as_nn(&g);
    rt_maxpool_forward(want, x, m, &g);
    nn_pool2d(got, x, m, &ng, 1);
    assert_close(got, want, out);
    rt_avgpool_forward(want, x, m, &g);
    nn_pool2d(got, x, m, &ng, 0);
    assert_close(got, want, out);
    rt_global_avgpool_forward(want, x, m, g.h * g.w, g.c);
    nn_global_avgpool(got, x, m, g.h * g.w, g.c);
    assert_close(got, want, (size_t)m * g.c);
    free(x), free(want), free(got);
  }
}
END_TEST

START_TEST(test_batchnorm_softmax_normalize_equal_runtime) {
  RtRng rng;
  rt_rng_seed(&rng, 4);
  int rows = 12, c = 6;
  float *x = random_floats(&rng, (size_t)rows * c), *gamma = random_floats(&rng, c);
  float *beta = random_floats(&rng, c), *mean = random_floats(&rng, c);
  float *var = random_floats(&rng, c);
  for (int j = 0; j < c; j++)
    var[j] = fabsf(var[j]) + 0.1f;
  float *want = rt_malloc(sizeof(float) * rows * c), *got = rt_malloc(sizeof(float) * rows * c);
  rt_batchnorm_eval_forward(want, x, gamma, beta, mean, var, rows, c, 1e-3f);
  nn_batchnorm(got, x, gamma, beta, mean, var, rows, c, 1e-3f);
  assert_close(got, want, (size_t)rows * c);
  rt_softmax_forward(want, x, rows, c);
  nn_softmax(got, x, rows, c);
  assert_close(got, want, (size_t)rows * c);
  uint8_t u8[72];
  for (int i = 0; i < 72; i++)
    u8[i] = (uint8_t)(i * 37);
  float m1 = 100.0f, v1 = 5000.0f;
  rt_normalize_u8_forward(want, u8, &m1, &v1, 12, 6, 0);
  nn_normalize_u8(got, u8, &m1, &v1, 12, 6, 0);
  assert_close(got, want, 72);
  rt_normalize_u8_forward(want, u8, mean, var, 12, 6, 1);
  nn_normalize_u8(got, u8, mean, var, 12, 6, 1);
  assert_close(got, want, 72);
  free(x), free(gamma), free(beta), free(mean), free(var), free(want), free(got);
}
END_TEST

/* the padding and upsampling kernels against hand-written expectations */
START_TEST(test_pad_and_upsample) {
  const float x[4] = {1, 2, 3, 4}; /* (1, 2, 2, 1) */
  float pad[12], up[16];
  nn_zero_pad(pad, x, 1, 2, 2, 1, 1, 0, 0, 1); /* (1, 3, 3, 1) */
  const float want_pad[9] = {0, 0, 0, 1, 2, 0, 3, 4, 0};
  for (int i = 0; i < 9; i++)
    ck_assert_float_eq(pad[i], want_pad[i]);
  nn_upsample_nearest(up, x, 1, 2, 2, 1, 2, 2);
  const float want_up[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
  for (int i = 0; i < 16; i++)
    ck_assert_float_eq(up[i], want_up[i]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("infer");
  TCase *tc = tcase_create("kernels");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_dense_equals_gemm_and_epilogue);
  tcase_add_test(tc, test_conv2d_equals_im2col_gemm);
  tcase_add_test(tc, test_depthwise_equals_runtime);
  tcase_add_test(tc, test_pools_equal_runtime);
  tcase_add_test(tc, test_batchnorm_softmax_normalize_equal_runtime);
  tcase_add_test(tc, test_pad_and_upsample);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
