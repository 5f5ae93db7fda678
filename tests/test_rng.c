/*
 * test_rng.c — Check suite for rt_rng.c: known answers for xoshiro128+ and
 * the splitmix64 seeding, determinism, range and rough uniformity of every
 * derived draw, and that shuffling permutes.
 *
 * Known answers were computed offline with a direct Python transcription of
 * the reference algorithms (Blackman & Vigna). The statistical checks use
 * fixed seeds, so they are deterministic, and their thresholds sit many
 * standard deviations out.
 */
#include "nnc_runtime.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_xoshiro_known_answer) {
  RtRng rng = {{1, 2, 3, 4}};
  const uint32_t want[6] = {0x5, 0x3007, 0x1803007, 0x1a05c0e, 0x260840a, 0x43f87e19};
  for (int i = 0; i < 6; i++)
    ck_assert_uint_eq(rt_rng_u32(&rng), want[i]);
}
END_TEST

START_TEST(test_seed_known_answer) {
  RtRng rng;
  rt_rng_seed(&rng, 42);
  ck_assert_uint_eq(rng.s[0], 0x2feb6e95u);
  ck_assert_uint_eq(rng.s[1], 0xbdd73226u);
  ck_assert_uint_eq(rng.s[2], 0xb266f103u);
  ck_assert_uint_eq(rng.s[3], 0x28efe333u);
  const uint32_t want[4] = {0x58db51c8u, 0x815c6c29u, 0xec0a8dcfu, 0xa5de31d4u};
  for (int i = 0; i < 4; i++)
    ck_assert_uint_eq(rt_rng_u32(&rng), want[i]);
}
END_TEST

START_TEST(test_same_seed_same_stream) {
  RtRng a, b;
  rt_rng_seed(&a, 1234);
  rt_rng_seed(&b, 1234);
  for (int i = 0; i < 1000; i++)
    ck_assert_uint_eq(rt_rng_u32(&a), rt_rng_u32(&b));
}
END_TEST

START_TEST(test_different_seeds_differ) {
  /* Adjacent seeds, including 0, must give unrelated streams. */
  const uint64_t seeds[4] = {0, 1, 2, 0xffffffffffffffffULL};
  uint32_t first[4][8];
  for (int s = 0; s < 4; s++) {
    RtRng rng;
    rt_rng_seed(&rng, seeds[s]);
    ck_assert((rng.s[0] | rng.s[1] | rng.s[2] | rng.s[3]) != 0);
    for (int i = 0; i < 8; i++)
      first[s][i] = rt_rng_u32(&rng);
  }
  for (int a = 0; a < 4; a++)
    for (int b = a + 1; b < 4; b++) {
      int same = 0;
      for (int i = 0; i < 8; i++)
        same += first[a][i] == first[b][i];
      ck_assert_msg(same == 0, "seeds %d and %d share %d of 8 outputs", a, b, same);
    }
}
END_TEST

/* 200,000 draws: with a tolerance of 10 standard deviations each moment
 * still catches a bias of about 1%. Asserting once, not per draw, keeps it
 * fast: Check reports every passing assertion to its parent process. */
START_TEST(test_uniform_range_and_moments) {
  RtRng rng;
  rt_rng_seed(&rng, 7);
  const int n = 200000;
  double sum = 0.0, sum_sq = 0.0;
  int bins[10] = {0}, outside = 0, first_outside = -1;
  for (int i = 0; i < n; i++) {
    float u = rt_rng_uniform(&rng);
    if (!(u >= 0.0f && u < 1.0f)) {
      first_outside = outside++ ? first_outside : i;
      continue;
    }
    sum += u;
    sum_sq += (double)u * u;
    bins[(int)(u * 10.0f)]++;
  }
  ck_assert_msg(outside == 0, "%d draws outside [0, 1), the first is draw %d", outside,
                first_outside);
  double mean = sum / n, var = sum_sq / n - mean * mean;
  /* sd of the mean: sqrt(1/12 / n) = 0.00065; of the variance: sqrt((1/80 - 1/144) / n)
   * = 0.00017; of a bin count: sqrt(n 0.1 0.9) = 134 */
  ck_assert_msg(fabs(mean - 0.5) < 0.0065, "mean %.6f", mean);
  ck_assert_msg(fabs(var - 1.0 / 12.0) < 0.0017, "variance %.6f, want %.6f", var, 1.0 / 12.0);
  for (int b = 0; b < 10; b++)
    ck_assert_msg(abs(bins[b] - n / 10) < 1340, "bin %d holds %d of %d", b, bins[b], n);
}
END_TEST

/* The largest draw maps to the largest float below 1, never to 1. */
START_TEST(test_uniform_top_value_below_one) {
  RtRng rng = {{0xffffffffu, 0, 0, 0}}; /* first output s0 + s3 = 0xffffffff */
  float u = rt_rng_uniform(&rng);
  ck_assert(u < 1.0f);
  ck_assert_float_eq(u, 1.0f - 1.0f / 16777216.0f);
}
END_TEST

START_TEST(test_below_range) {
  RtRng rng;
  rt_rng_seed(&rng, 99);
  const uint32_t ns[] = {1, 2, 3, 7, 10, 1000, 0x80000001u, 0xffffffffu};
  for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
    for (int i = 0; i < 10000; i++) {
      uint32_t r = rt_rng_below(&rng, ns[k]);
      ck_assert_msg(r < ns[k], "rt_rng_below(%u) returned %u", ns[k], r);
    }
}
END_TEST

/* Chi-square over 10 bins (9 degrees of freedom): 40 has p < 1e-5. */
START_TEST(test_below_uniform) {
  RtRng rng;
  rt_rng_seed(&rng, 2024);
  const int n = 100000;
  int counts[10] = {0};
  for (int i = 0; i < n; i++)
    counts[rt_rng_below(&rng, 10)]++;
  double chi2 = 0.0, expected = n / 10.0;
  for (int b = 0; b < 10; b++)
    chi2 += (counts[b] - expected) * (counts[b] - expected) / expected;
  ck_assert_msg(chi2 < 40.0, "chi-square %.2f over 10 bins", chi2);
}
END_TEST

/* n = 3 * 2^30 has 4/3 of a 32-bit word per value, so a biased reduction
 * gives some values two preimages and others one. A plain x % n puts half of
 * all draws in the first third [0, 2^30); a multiply-shift without the
 * rejection step puts half of them on multiples of 3. Unbiased: a third each. */
START_TEST(test_below_unbiased_for_large_n) {
  RtRng rng;
  rt_rng_seed(&rng, 5);
  const uint32_t n = 0xC0000000u;
  const int draws = 100000;
  int first_third = 0, multiple_of_3 = 0;
  for (int i = 0; i < draws; i++) {
    uint32_t r = rt_rng_below(&rng, n);
    first_third += r < 0x40000000u;
    multiple_of_3 += r % 3 == 0;
  }
  double frac_low = (double)first_third / draws, frac_mod = (double)multiple_of_3 / draws;
  /* sd 0.0015: allow about 7 sd. */
  ck_assert_msg(fabs(frac_low - 1.0 / 3.0) < 0.01, "first third got %.4f of draws", frac_low);
  ck_assert_msg(fabs(frac_mod - 1.0 / 3.0) < 0.01, "multiples of 3 got %.4f of draws",
                frac_mod);
}
END_TEST

static int compare_ints(const void *a, const void *b) {
  return *(const int *)a - *(const int *)b;
}

START_TEST(test_shuffle_is_permutation) {
  enum { N = 1000 };
  int a[N], sorted[N];
  for (int i = 0; i < N; i++)
    a[i] = i;
  RtRng rng;
  rt_rng_seed(&rng, 3);
  rt_rng_shuffle(&rng, a, N);
  int moved = 0;
  for (int i = 0; i < N; i++)
    moved += a[i] != i;
  ck_assert_msg(moved > N / 2, "only %d of %d elements moved", moved, N);
  memcpy(sorted, a, sizeof a);
  qsort(sorted, N, sizeof(int), compare_ints);
  for (int i = 0; i < N; i++)
    ck_assert_int_eq(sorted[i], i);
}
END_TEST

START_TEST(test_shuffle_deterministic_and_trivial_sizes) {
  int a[50], b[50];
  for (int i = 0; i < 50; i++)
    a[i] = b[i] = i;
  RtRng ra, rb;
  rt_rng_seed(&ra, 11);
  rt_rng_seed(&rb, 11);
  rt_rng_shuffle(&ra, a, 50);
  rt_rng_shuffle(&rb, b, 50);
  ck_assert_mem_eq(a, b, sizeof a);
  int one = 42;
  rt_rng_shuffle(&ra, &one, 1);
  ck_assert_int_eq(one, 42);
  rt_rng_shuffle(&ra, NULL, 0);
}
END_TEST

/* All 6 orders of 3 elements come up about equally often. */
START_TEST(test_shuffle_orders_uniform) {
  RtRng rng;
  rt_rng_seed(&rng, 8);
  const int trials = 60000;
  int counts[6] = {0};
  for (int t = 0; t < trials; t++) {
    int a[3] = {0, 1, 2};
    rt_rng_shuffle(&rng, a, 3);
    int code = a[0] * 2 + (a[1] > a[2]); /* a[0] and the order of the rest */
    counts[code]++;
  }
  for (int k = 0; k < 6; k++)
    ck_assert_msg(abs(counts[k] - trials / 6) < 600, "order %d came up %d of %d times", k,
                  counts[k], trials);
}
END_TEST

static Suite *rng_suite(void) {
  Suite *s = suite_create("rng");
  TCase *gen = tcase_create("generator");
  tcase_add_test(gen, test_xoshiro_known_answer);
  tcase_add_test(gen, test_seed_known_answer);
  tcase_add_test(gen, test_same_seed_same_stream);
  tcase_add_test(gen, test_different_seeds_differ);
  suite_add_tcase(s, gen);
  TCase *draws = tcase_create("draws");
  tcase_add_test(draws, test_uniform_range_and_moments);
  tcase_add_test(draws, test_uniform_top_value_below_one);
  tcase_add_test(draws, test_below_range);
  tcase_add_test(draws, test_below_uniform);
  tcase_add_test(draws, test_below_unbiased_for_large_n);
  suite_add_tcase(s, draws);
  TCase *shuffle = tcase_create("shuffle");
  tcase_add_test(shuffle, test_shuffle_is_permutation);
  tcase_add_test(shuffle, test_shuffle_deterministic_and_trivial_sizes);
  tcase_add_test(shuffle, test_shuffle_orders_uniform);
  suite_add_tcase(s, shuffle);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(rng_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
