/*
 * test_augment.c — Check suite for rt_augment.c, Keras 3's augmentation
 * layers.
 *
 * Each geometric layer is run with its range collapsed to one value
 * (lower == upper), so its transform is known, and compared with a plain
 * reference written here: the extended image by the fill rule walked step
 * by step (ref_extended), and a direct double-precision bilinear / nearest
 * formula per output value (ref_sample). Also: identity at factor 0 (bit
 * for bit), same seed -> same bits, the same bits on 1 and 3 threads, each
 * fill mode on hand-checked 1-D images, and the statistics of the random
 * parameters, with bounds that chance alone breaks with probability under
 * 1e-6 (Hoeffding: P(|mean - p| >= t) <= 2 exp(-2 N t^2 / range^2)). The
 * seeds are fixed, so every run draws the same numbers anyway. Loops over
 * many draws count what is wrong and assert once after the loop (Check
 * reports every passing assertion to its parent process: slow).
 */
#include "nnc_runtime.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double PI = 3.14159265358979323846;
static const RtFillMode FILLS[4] = {RT_FILL_REFLECT, RT_FILL_WRAP, RT_FILL_CONSTANT,
                                    RT_FILL_NEAREST};
static const char *FILL_NAMES[4] = {"reflect", "wrap", "constant", "nearest"};

static float *random_images(int m, int h, int w, int c, uint64_t seed) {
  size_t n = (size_t)m * h * w * c;
  float *x = malloc(n * sizeof(float) + 1);
  RtRng rng;
  rt_rng_seed(&rng, seed);
  for (size_t i = 0; i < n; i++)
    x[i] = rt_rng_uniform(&rng);
  return x;
}

/* Hoeffding's half-width for N draws of range R at failure probability 1e-6. */
static double hoeffding(int n, double range) {
  return range * sqrt(log(2.0 / 1e-6) / (2.0 * n));
}

/* ----- the reference sampler ----- */

/* The value of the image extended by `fill` at grid cell (r, q), channel
 * ch: reflect walks back and forth across the edges one reflection at a
 * time, wrap steps by whole periods. */
static double ref_extended(const float *img, int h, int w, int c, long r, long q, int ch,
                           RtFillMode fill, double k) {
  long size[2] = {h, w}, v[2] = {r, q};
  for (int a = 0; a < 2; a++) {
    if (v[a] >= 0 && v[a] < size[a])
      continue;
    switch (fill) {
    case RT_FILL_CONSTANT:
      return k;
    case RT_FILL_NEAREST:
      v[a] = v[a] < 0 ? 0 : size[a] - 1;
      break;
    case RT_FILL_WRAP:
      while (v[a] < 0)
        v[a] += size[a];
      while (v[a] >= size[a])
        v[a] -= size[a];
      break;
    case RT_FILL_REFLECT:
      while (v[a] < 0 || v[a] >= size[a])
        v[a] = v[a] < 0 ? -v[a] - 1 : 2 * size[a] - 1 - v[a];
      break;
    }
  }
  return img[(v[0] * w + v[1]) * c + ch];
}

/* Round half to even, spelled out. */
static long round_half_even(double v) {
  double r = floor(v + 0.5);
  if (r - v == 0.5 && fmod(r, 2.0) != 0.0)
    r -= 1.0;
  return (long)r;
}

/* The image sampled at row sy, column sx. */
static double ref_sample(const float *img, int h, int w, int c, double sy, double sx, int ch,
                         RtInterpolation interp, RtFillMode fill, double k) {
  if (interp == RT_INTERP_NEAREST)
    return ref_extended(img, h, w, c, round_half_even(sy), round_half_even(sx), ch, fill, k);
  double y0 = floor(sy), x0 = floor(sx), dy = sy - y0, dx = sx - x0;
  double sum = 0.0;
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) {
      double weight = (i ? dy : 1.0 - dy) * (j ? dx : 1.0 - dx);
      if (weight != 0.0)
        sum += weight * ref_extended(img, h, w, c, (long)y0 + i, (long)x0 + j, ch, fill, k);
    }
  return sum;
}

/* The point of the input that output (y, x) shows. */
typedef void (*RefMap)(double *sy, double *sx, int y, int x, const double *p);

/* Largest |out - reference| over the batch, each image mapped by `map`. */
static double max_diff_to_reference(const float *out, const float *x, int m, int h, int w, int c,
                                    RefMap map, const double *p, RtInterpolation interp,
                                    RtFillMode fill, double k) {
  double worst = 0.0;
  for (int i = 0; i < m; i++) {
    const float *img = x + (size_t)i * h * w * c;
    for (int y = 0; y < h; y++)
      for (int q = 0; q < w; q++) {
        double sy, sx;
        map(&sy, &sx, y, q, p);
        for (int ch = 0; ch < c; ch++) {
          double want = ref_sample(img, h, w, c, sy, sx, ch, interp, fill, k);
          double got = out[(((size_t)i * h + y) * w + q) * c + ch];
          worst = fmax(worst, fabs(got - want));
        }
      }
  }
  return worst;
}

/* ----- identity and determinism ----- */

START_TEST(test_sampler_identity_exact) {
  const int m = 3, h = 5, w = 6, c = 3;
  float *x = random_images(m, h, w, c, 1);
  float *out = malloc(sizeof(float) * m * h * w * c);
  RtAffine id[3] = {{1, 0, 0, 0, 1, 0}, {1, 0, 0, 0, 1, 0}, {1, 0, 0, 0, 1, 0}};
  for (int f = 0; f < 4; f++)
    for (int interp = 0; interp < 2; interp++) {
      rt_affine_sample(out, x, id, m, h, w, c, (RtInterpolation)interp, FILLS[f], -7.0f);
      ck_assert_msg(memcmp(out, x, sizeof(float) * m * h * w * c) == 0,
                    "identity not exact, fill %s", FILL_NAMES[f]);
    }
  free(x);
  free(out);
}
END_TEST

START_TEST(test_layers_identity_at_factor_zero) {
  const int m = 4, h = 7, w = 5, c = 2;
  const size_t n = (size_t)m * h * w * c, bytes = n * sizeof(float);
  float *x = random_images(m, h, w, c, 2);
  for (size_t i = 0; i < n; i++)
    x[i] *= 255.0f; /* inside contrast's and brightness's value range */
  float *out = malloc(bytes);
  RtRng rng;
  rt_rng_seed(&rng, 3);
  for (int f = 0; f < 4; f++) {
    rt_random_rotation_forward(out, x, m, h, w, c, 0, 0, FILLS[f], RT_INTERP_BILINEAR, 0, &rng);
    ck_assert(memcmp(out, x, bytes) == 0);
    for (int same = 0; same < 2; same++) {
      rt_random_zoom_forward(out, x, m, h, w, c, 0, 0, 0, 0, same, FILLS[f], RT_INTERP_BILINEAR,
                             0, &rng);
      ck_assert(memcmp(out, x, bytes) == 0);
    }
    rt_random_translation_forward(out, x, m, h, w, c, 0, 0, 0, 0, FILLS[f], RT_INTERP_NEAREST,
                                  0, &rng);
    ck_assert(memcmp(out, x, bytes) == 0);
  }
  rt_random_contrast_forward(out, x, m, h, w, c, 0, 0, 0, 255, &rng);
  ck_assert(memcmp(out, x, bytes) == 0);
  rt_random_brightness_forward(out, x, m, h, w, c, 0, 0, 0, 255, &rng);
  ck_assert(memcmp(out, x, bytes) == 0);
  rt_random_crop_infer(out, x, m, h, w, c, h, w);
  ck_assert(memcmp(out, x, bytes) == 0);
  rt_random_crop_forward(out, x, m, h, w, c, h, w, &rng);
  ck_assert(memcmp(out, x, bytes) == 0);
  free(x);
  free(out);
}
END_TEST

/* Every layer on one batch, from one seed; out (m, h, w, c) plus a crop. */
static void run_every_layer(float *out, const float *x, int m, int h, int w, int c,
                            uint64_t seed) {
  const size_t n = (size_t)m * h * w * c;
  float *tmp = malloc(n * sizeof(float));
  RtRng rng;
  rt_rng_seed(&rng, seed);
  rt_random_flip_forward(tmp, x, m, h, w, c, RT_FLIP_HORIZONTAL_AND_VERTICAL, &rng);
  rt_random_rotation_forward(out, tmp, m, h, w, c, -0.2f, 0.2f, RT_FILL_REFLECT,
                             RT_INTERP_BILINEAR, 0, &rng);
  rt_random_zoom_forward(tmp, out, m, h, w, c, -0.3f, 0.3f, 0, 0, 1, RT_FILL_WRAP,
                         RT_INTERP_BILINEAR, 0, &rng);
  rt_random_translation_forward(out, tmp, m, h, w, c, -0.2f, 0.2f, -0.1f, 0.3f,
                                RT_FILL_CONSTANT, RT_INTERP_NEAREST, 0.5f, &rng);
  rt_random_contrast_forward(out, out, m, h, w, c, 0.4f, 0.4f, 0, 1, &rng);
  rt_random_brightness_forward(out, out, m, h, w, c, -0.2f, 0.2f, 0, 1, &rng);
  rt_random_crop_forward(out + n, out, m, h, w, c, h - 3, w - 2, &rng);
  free(tmp);
}

START_TEST(test_same_seed_same_output) {
  const int m = 40, h = 16, w = 20, c = 3;
  const size_t n = (size_t)m * h * w * c, bytes = 2 * n * sizeof(float);
  float *x = random_images(m, h, w, c, 4);
  float *a = calloc(1, bytes), *b = calloc(1, bytes);
  run_every_layer(a, x, m, h, w, c, 99);
  run_every_layer(b, x, m, h, w, c, 99);
  ck_assert(memcmp(a, b, bytes) == 0);
  run_every_layer(b, x, m, h, w, c, 100);
  ck_assert(memcmp(a, b, n * sizeof(float)) != 0);
  free(x);
  free(a);
  free(b);
}
END_TEST

START_TEST(test_same_bits_on_any_thread_count) {
  /* large enough (over 65,536 visits) for the kernels to go parallel, and
   * over one chunk of 256 images */
  const int m = 300, h = 12, w = 10, c = 3;
  const size_t n = (size_t)m * h * w * c, bytes = 2 * n * sizeof(float);
  float *x = random_images(m, h, w, c, 5);
  float *a = calloc(1, bytes), *b = calloc(1, bytes);
  rt_set_threads(1);
  run_every_layer(a, x, m, h, w, c, 7);
  rt_set_threads(3);
  run_every_layer(b, x, m, h, w, c, 7);
  ck_assert(memcmp(a, b, bytes) == 0);
  free(x);
  free(a);
  free(b);
}
END_TEST

/* ----- geometry against the reference ----- */

/* p: centre (cy, cx), then the map's own numbers */
static void map_rotation(double *sy, double *sx, int y, int x, const double *p) {
  double cy = p[0], cx = p[1], cosine = cos(p[2]), sine = sin(p[2]);
  *sx = cx + cosine * (x - cx) - sine * (y - cy);
  *sy = cy + sine * (x - cx) + cosine * (y - cy);
}

/* A quarter turn counter-clockwise, in whole pixels: output (y, x) shows
 * input row cy + (x - cx), column cx - (y - cy). */
static void map_quarter_turn(double *sy, double *sx, int y, int x, const double *p) {
  *sy = p[0] + (x - p[1]);
  *sx = p[1] - (y - p[0]);
}

START_TEST(test_rotation_quarter_turn) {
  /* non-square, so the turned image does not fit and the fill shows; h and
   * w of one parity, so the turn maps pixel centres onto pixel centres */
  const int m = 2, h = 5, w = 7, c = 2;
  float *x = random_images(m, h, w, c, 6);
  float *out = malloc(sizeof(float) * m * h * w * c);
  const double centre[2] = {0.5 * (h - 1), 0.5 * (w - 1)};
  RtRng rng;
  rt_rng_seed(&rng, 8);
  for (int f = 0; f < 4; f++)
    for (int interp = 0; interp < 2; interp++) {
      rt_random_rotation_forward(out, x, m, h, w, c, 0.25f, 0.25f, FILLS[f],
                                 (RtInterpolation)interp, 0.75f, &rng);
      double d = max_diff_to_reference(out, x, m, h, w, c, map_quarter_turn, centre,
                                       (RtInterpolation)interp, FILLS[f], 0.75);
      ck_assert_msg(d < 1e-5, "quarter turn, fill %s interp %d: max diff %g", FILL_NAMES[f],
                    interp, d);
    }
  free(x);
  free(out);
}
END_TEST

START_TEST(test_rotation_any_angle) {
  const int m = 2, h = 9, w = 6, c = 3;
  float *x = random_images(m, h, w, c, 9);
  float *out = malloc(sizeof(float) * m * h * w * c);
  RtRng rng;
  rt_rng_seed(&rng, 10);
  const float factors[3] = {0.03f, -0.1f, 0.4f};
  for (int a = 0; a < 3; a++)
    for (int f = 0; f < 4; f++)
      for (int interp = 0; interp < 2; interp++) {
        rt_random_rotation_forward(out, x, m, h, w, c, factors[a], factors[a], FILLS[f],
                                   (RtInterpolation)interp, 0.25f, &rng);
        double p[3] = {0.5 * (h - 1), 0.5 * (w - 1), 2.0 * PI * factors[a]};
        double d = max_diff_to_reference(out, x, m, h, w, c, map_rotation, p,
                                         (RtInterpolation)interp, FILLS[f], 0.25);
        ck_assert_msg(d < 1e-5, "rotation %g turn, fill %s: max diff %g", (double)factors[a],
                      FILL_NAMES[f], d);
      }
  free(x);
  free(out);
}
END_TEST

/* p: centre (cy, cx), scales (sy, sx) */
static void map_zoom(double *sy, double *sx, int y, int x, const double *p) {
  *sy = p[0] + p[2] * (y - p[0]);
  *sx = p[1] + p[3] * (x - p[1]);
}

START_TEST(test_zoom) {
  const int m = 2, h = 7, w = 8, c = 1;
  float *x = random_images(m, h, w, c, 11);
  float *out = malloc(sizeof(float) * m * h * w * c);
  RtRng rng;
  rt_rng_seed(&rng, 12);
  /* zoom out by 2 (factor 1), zoom in by 2 (factor -0.5), and mixed axes */
  const float factors[3][2] = {{1.0f, 1.0f}, {-0.5f, -0.5f}, {0.6f, -0.25f}};
  for (int z = 0; z < 3; z++)
    for (int f = 0; f < 4; f++)
      for (int interp = 0; interp < 2; interp++) {
        float fh = factors[z][0], fw = factors[z][1];
        int same = fh == fw; /* also Keras's width_factor=None */
        rt_random_zoom_forward(out, x, m, h, w, c, fh, fh, fw, fw, same, FILLS[f],
                               (RtInterpolation)interp, 0.5f, &rng);
        double p[4] = {0.5 * (h - 1), 0.5 * (w - 1), 1.0 + fh, 1.0 + fw};
        double d = max_diff_to_reference(out, x, m, h, w, c, map_zoom, p,
                                         (RtInterpolation)interp, FILLS[f], 0.5);
        ck_assert_msg(d < 1e-5, "zoom (%g, %g), fill %s: max diff %g", (double)fh, (double)fw,
                      FILL_NAMES[f], d);
      }
  free(x);
  free(out);
}
END_TEST

/* p: (dy, dx) */
static void map_shift(double *sy, double *sx, int y, int x, const double *p) {
  *sy = y - p[0];
  *sx = x - p[1];
}

START_TEST(test_translation_whole_pixels) {
  const int m = 3, h = 4, w = 8, c = 2;
  const size_t n = (size_t)m * h * w * c;
  float *x = random_images(m, h, w, c, 13);
  float *out = malloc(sizeof(float) * n);
  RtRng rng;
  rt_rng_seed(&rng, 14);
  for (int f = 0; f < 4; f++)
    for (int interp = 0; interp < 2; interp++) {
      /* up 1 row (-0.25 of 4), right 2 columns (0.25 of 8): exact copies
       * (factors that are exact in binary: 0.2 of 5 is not quite 1) */
      rt_random_translation_forward(out, x, m, h, w, c, -0.25f, -0.25f, 0.25f, 0.25f, FILLS[f],
                                    (RtInterpolation)interp, 3.0f, &rng);
      double p[2] = {-1.0, 2.0};
      double d = max_diff_to_reference(out, x, m, h, w, c, map_shift, p,
                                       (RtInterpolation)interp, FILLS[f], 3.0);
      ck_assert_msg(d == 0.0, "whole-pixel shift, fill %s: max diff %g", FILL_NAMES[f], d);
    }
  /* a fractional shift: 0.3 of 5 rows down, 0.15 of 8 columns left */
  for (int f = 0; f < 4; f++) {
    rt_random_translation_forward(out, x, m, h, w, c, 0.3f, 0.3f, -0.15f, -0.15f, FILLS[f],
                                  RT_INTERP_BILINEAR, 3.0f, &rng);
    double p[2] = {0.3f * 4.0, -0.15f * 8.0};
    double d = max_diff_to_reference(out, x, m, h, w, c, map_shift, p, RT_INTERP_BILINEAR,
                                     FILLS[f], 3.0);
    ck_assert_msg(d < 1e-5, "fractional shift, fill %s: max diff %g", FILL_NAMES[f], d);
  }
  free(x);
  free(out);
}
END_TEST

/* ----- each fill mode by hand, on the row a b c d = 1 2 3 4 ----- */

static void check_row(const float *got, const float *want, int n, const char *what) {
  for (int i = 0; i < n; i++)
    ck_assert_msg(fabsf(got[i] - want[i]) < 1e-6f, "%s: value %d is %g, want %g", what, i,
                  (double)got[i], (double)want[i]);
}

START_TEST(test_fill_modes_by_hand) {
  const float row[4] = {1, 2, 3, 4};
  const float k = -1.0f; /* the constant fill */
  float out[4];
  /* output x reads input x - dx; rows are (1, 4) images */
  struct {
    double shift; /* input point = x + shift */
    RtInterpolation interp;
    float want[4][4]; /* per fill: reflect, wrap, constant, nearest */
  } cases[] = {
      /* right by 2: e(-2) e(-1) a b */
      {-2.0, RT_INTERP_BILINEAR, {{2, 1, 1, 2}, {3, 4, 1, 2}, {k, k, 1, 2}, {1, 1, 1, 2}}},
      /* left by half a pixel: the mean of neighbours, e(4) at the end */
      {0.5,
       RT_INTERP_BILINEAR,
       {{1.5f, 2.5f, 3.5f, 4}, {1.5f, 2.5f, 3.5f, 2.5f}, {1.5f, 2.5f, 3.5f, 1.5f},
        {1.5f, 2.5f, 3.5f, 4}}},
      /* the same, nearest: halves round to even, cells 0 2 2 4 */
      {0.5, RT_INTERP_NEAREST, {{1, 3, 3, 4}, {1, 3, 3, 1}, {1, 3, 3, k}, {1, 3, 3, 4}}},
      /* left by 6, past a whole period: e(6..9) */
      {6.0, RT_INTERP_BILINEAR, {{2, 1, 1, 2}, {3, 4, 1, 2}, {k, k, k, k}, {4, 4, 4, 4}}},
      /* right by 5.5: between e(-6..-3) and e(-5..-2) */
      {-5.5,
       RT_INTERP_BILINEAR,
       {{3.5f, 4, 3.5f, 2.5f}, {3.5f, 2.5f, 1.5f, 2.5f}, {k, k, k, k}, {1, 1, 1, 1}}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    for (int f = 0; f < 4; f++) {
      RtAffine t = {1, 0, cases[i].shift, 0, 1, 0};
      rt_affine_sample(out, row, &t, 1, 1, 4, 1, cases[i].interp, FILLS[f], k);
      char what[64];
      snprintf(what, sizeof what, "case %zu, fill %s", i, FILL_NAMES[f]);
      check_row(out, cases[i].want[f], 4, what);
    }
  /* the same rules down a column: a (4, 1) image moved down one row by
   * random_translation(height 0.25) */
  const float want_down[4][4] = {{1, 1, 2, 3}, {4, 1, 2, 3}, {k, 1, 2, 3}, {1, 1, 2, 3}};
  RtRng rng;
  rt_rng_seed(&rng, 15);
  for (int f = 0; f < 4; f++) {
    rt_random_translation_forward(out, row, 1, 4, 1, 1, 0.25f, 0.25f, 0, 0, FILLS[f],
                                  RT_INTERP_BILINEAR, k, &rng);
    check_row(out, want_down[f], 4, FILL_NAMES[f]);
  }
}
END_TEST

/* ----- flips ----- */

START_TEST(test_flip_modes) {
  /* a (2, 3) image with 2 channels, flipped with certainty: find seeds
   * whose first draw flips, then check every mode against the mirror */
  const int h = 2, w = 3, c = 2;
  float x[12], out[12];
  for (int i = 0; i < 12; i++)
    x[i] = (float)i;
  const RtFlipMode modes[3] = {RT_FLIP_HORIZONTAL_AND_VERTICAL, RT_FLIP_HORIZONTAL,
                               RT_FLIP_VERTICAL};
  for (int md = 0; md < 3; md++) {
    int flipped = 0, kept = 0;
    for (uint64_t seed = 0; seed < 40; seed++) {
      RtRng rng;
      rt_rng_seed(&rng, seed);
      rt_random_flip_forward(out, x, 1, h, w, c, modes[md], &rng);
      int rows = modes[md] != RT_FLIP_HORIZONTAL, cols = modes[md] != RT_FLIP_VERTICAL;
      int is_flip = 1, is_same = 1;
      for (int y = 0; y < h; y++)
        for (int q = 0; q < w; q++)
          for (int k = 0; k < c; k++) {
            float got = out[(y * w + q) * c + k];
            int sy = rows ? h - 1 - y : y, sq = cols ? w - 1 - q : q;
            is_flip &= got == x[(sy * w + sq) * c + k];
            is_same &= got == x[(y * w + q) * c + k];
          }
      ck_assert_msg(is_flip || is_same, "mode %d, seed %d: neither flipped nor kept", md,
                    (int)seed);
      flipped += is_flip;
      kept += is_same;
      /* in place gives the same */
      float y[12];
      memcpy(y, x, sizeof y);
      rt_rng_seed(&rng, seed);
      rt_random_flip_forward(y, y, 1, h, w, c, modes[md], &rng);
      ck_assert(memcmp(y, out, sizeof y) == 0);
    }
    ck_assert(flipped > 0 && kept > 0);
  }
}
END_TEST

START_TEST(test_flip_frequency) {
  /* (1, 2) images: flipped iff the two pixels swapped */
  const int n = 10000;
  float *x = malloc(sizeof(float) * 2 * n), *out = malloc(sizeof(float) * 2 * n);
  for (int i = 0; i < n; i++) {
    x[2 * i] = 0.0f;
    x[2 * i + 1] = 1.0f;
  }
  RtRng rng;
  rt_rng_seed(&rng, 16);
  rt_random_flip_forward(out, x, n, 1, 2, 1, RT_FLIP_HORIZONTAL, &rng);
  int flips = 0;
  for (int i = 0; i < n; i++)
    flips += out[2 * i] == 1.0f;
  double freq = (double)flips / n;
  ck_assert_msg(fabs(freq - 0.5) < hoeffding(n, 1.0), "flip frequency %g over %d images", freq,
                n);
  free(x);
  free(out);
}
END_TEST

/* ----- statistics of the transforms ----- */

START_TEST(test_rotation_angle_statistics) {
  const int n = 10000;
  RtAffine *t = malloc(sizeof(RtAffine) * n);
  RtRng rng;
  rt_rng_seed(&rng, 17);
  const float lower = -0.1f, upper = 0.15f;
  rt_random_rotation_transforms(t, n, 28, 28, lower, upper, &rng);
  double lo = 2.0 * PI * lower, hi = 2.0 * PI * upper, range = hi - lo;
  double least = 1e9, most = -1e9, sum = 0.0;
  for (int i = 0; i < n; i++) {
    double angle = atan2(t[i].b0, t[i].a0);
    least = fmin(least, angle);
    most = fmax(most, angle);
    sum += angle;
  }
  /* P(no draw within delta of an end) = (1 - delta / range)^n < 1e-6 */
  ck_assert_msg(least >= lo - 1e-9 && most <= hi + 1e-9, "angles [%g, %g] outside [%g, %g]",
                least, most, lo, hi);
  double delta = range * (1.0 - pow(1e-6, 1.0 / n));
  ck_assert(least < lo + delta && most > hi - delta);
  ck_assert(fabs(sum / n - 0.5 * (lo + hi)) < hoeffding(n, range));
  free(t);
}
END_TEST

START_TEST(test_zoom_and_shift_statistics) {
  const int n = 10000, h = 20, w = 30;
  RtAffine *t = malloc(sizeof(RtAffine) * n);
  RtRng rng;
  rt_rng_seed(&rng, 18);
  /* zoom: heights in 1 + [-0.2, 0.3], widths 1 + [0.1, 0.5] */
  rt_random_zoom_transforms(t, n, h, w, -0.2f, 0.3f, 0.1f, 0.5f, 0, &rng);
  double sum_y = 0.0, sum_x = 0.0;
  int differ = 0, bad = 0;
  for (int i = 0; i < n; i++) {
    bad += !(t[i].b1 >= 0.8 - 1e-7 && t[i].b1 <= 1.3 + 1e-7);
    bad += !(t[i].a0 >= 1.1 - 1e-7 && t[i].a0 <= 1.5 + 1e-7);
    bad += !(t[i].a1 == 0.0 && t[i].b0 == 0.0);
    sum_y += t[i].b1;
    sum_x += t[i].a0;
    differ += t[i].a0 != t[i].b1;
  }
  ck_assert_int_eq(bad, 0);
  ck_assert(fabs(sum_y / n - 1.05) < hoeffding(n, 0.5));
  ck_assert(fabs(sum_x / n - 1.3) < hoeffding(n, 0.4));
  ck_assert_int_eq(differ, n);
  /* width_factor=None: one draw for both axes */
  rt_random_zoom_transforms(t, n, h, w, -0.2f, 0.3f, 0.1f, 0.5f, 1, &rng);
  for (int i = 0; i < n; i++)
    bad += !(t[i].a0 == t[i].b1 && t[i].b1 >= 0.8 - 1e-7 && t[i].b1 <= 1.3 + 1e-7);
  ck_assert_int_eq(bad, 0);
  /* translation: dy in [-0.1, 0.2] * 20 pixels, dx in [-0.3, 0.3] * 30 */
  rt_random_translation_transforms(t, n, h, w, -0.1f, 0.2f, -0.3f, 0.3f, &rng);
  double sum_dy = 0.0, sum_dx = 0.0;
  for (int i = 0; i < n; i++) {
    double dy = -t[i].b2, dx = -t[i].a2;
    bad += !(dy >= -2.0 - 1e-5 && dy <= 4.0 + 1e-5 && dx >= -9.0 - 1e-5 && dx <= 9.0 + 1e-5);
    sum_dy += dy;
    sum_dx += dx;
  }
  ck_assert_int_eq(bad, 0);
  ck_assert(fabs(sum_dy / n - 1.0) < hoeffding(n, 6.0));
  ck_assert(fabs(sum_dx / n) < hoeffding(n, 18.0));
  free(t);
}
END_TEST

/* ----- contrast and brightness ----- */

START_TEST(test_contrast_reference) {
  const int m = 3, h = 4, w = 5, c = 3;
  const size_t n = (size_t)m * h * w * c;
  float *x = random_images(m, h, w, c, 19), *out = malloc(sizeof(float) * n);
  for (size_t i = 0; i < n; i++)
    x[i] *= 255.0f;
  RtRng rng;
  rt_rng_seed(&rng, 20);
  const float ks[3] = {1.5f, 0.25f, 3.0f}; /* 3: many values clip */
  for (int j = 0; j < 3; j++) {
    /* [1 - lower, 1 + upper] = {k} */
    rt_random_contrast_forward(out, x, m, h, w, c, 1.0f - ks[j], ks[j] - 1.0f, 0, 255, &rng);
    int clipped = 0;
    double worst = 0.0;
    for (int i = 0; i < m; i++)
      for (int ch = 0; ch < c; ch++) {
        double mean = 0.0;
        for (int p = 0; p < h * w; p++)
          mean += x[((size_t)i * h * w + p) * c + ch];
        mean /= h * w;
        for (int p = 0; p < h * w; p++) {
          size_t at = ((size_t)i * h * w + p) * c + ch;
          double want = (x[at] - mean) * ks[j] + mean;
          want = want < 0 ? 0 : (want > 255 ? 255 : want);
          clipped += want == 0 || want == 255;
          worst = fmax(worst, fabs(out[at] - want));
        }
      }
    ck_assert_msg(worst < 1e-3, "contrast %g: max diff %g", (double)ks[j], worst);
    if (ks[j] == 3.0f)
      ck_assert(clipped > 0);
  }
  free(x);
  free(out);
}
END_TEST

START_TEST(test_contrast_statistics) {
  /* (1, 2) images 100, 200: out1 - out0 = 100 k (no clipping below 1.5) */
  const int n = 10000;
  float *x = malloc(sizeof(float) * 2 * n), *out = malloc(sizeof(float) * 2 * n);
  for (int i = 0; i < n; i++) {
    x[2 * i] = 100.0f;
    x[2 * i + 1] = 200.0f;
  }
  RtRng rng;
  rt_rng_seed(&rng, 21);
  rt_random_contrast_forward(out, x, n, 1, 2, 1, 0.2f, 0.3f, 0, 255, &rng); /* k in [0.8, 1.3] */
  double sum = 0.0, least = 9, most = 0, mean_moved = 0.0;
  for (int i = 0; i < n; i++) {
    double k = (out[2 * i + 1] - out[2 * i]) / 100.0;
    mean_moved = fmax(mean_moved, fabs(out[2 * i] + out[2 * i + 1] - 300.0));
    sum += k;
    least = fmin(least, k);
    most = fmax(most, k);
  }
  ck_assert_msg(least > 0.8 - 1e-5 && most < 1.3 + 1e-5, "contrast factors in [%g, %g]", least,
                most);
  ck_assert_msg(mean_moved < 1e-3, "the mean moved by %g", mean_moved); /* the mean stays */
  double delta = 0.5 * (1.0 - pow(1e-6, 1.0 / n));
  ck_assert(least < 0.8 + delta + 1e-5 && most > 1.3 - delta - 1e-5);
  ck_assert(fabs(sum / n - 1.05) < hoeffding(n, 0.5));
  free(x);
  free(out);
}
END_TEST

START_TEST(test_brightness) {
  const int n = 10000;
  float *x = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * n);
  for (int i = 0; i < n; i++)
    x[i] = 100.0f;
  RtRng rng;
  rt_rng_seed(&rng, 22);
  /* (1, 1) images: delta uniform in [-0.2, 0.2] * 255 */
  rt_random_brightness_forward(out, x, n, 1, 1, 1, -0.2f, 0.2f, 0, 255, &rng);
  double sum = 0.0, least = 1e9, most = -1e9;
  for (int i = 0; i < n; i++) {
    double delta = out[i] - 100.0;
    least = fmin(least, delta);
    most = fmax(most, delta);
    sum += delta;
  }
  ck_assert_msg(least >= -51.0 - 1e-4 && most <= 51.0 + 1e-4, "deltas in [%g, %g]", least, most);
  ck_assert(fabs(sum / n) < hoeffding(n, 102.0));
  /* a fixed delta of 0.1 * 255, then clipping at both ends of [0, 255] and of [0, 1] */
  float img[4] = {0, 100, 240, 255};
  rt_random_brightness_forward(out, img, 1, 2, 2, 1, 0.1f, 0.1f, 0, 255, &rng);
  const float want_up[4] = {25.5f, 125.5f, 255, 255};
  check_row(out, want_up, 4, "brightness +25.5");
  rt_random_brightness_forward(out, img, 1, 2, 2, 1, -1.0f, -1.0f, 0, 255, &rng);
  const float zero[4] = {0, 0, 0, 0};
  check_row(out, zero, 4, "brightness -255");
  float unit[4] = {0.0f, 0.5f, 0.9f, 1.0f};
  rt_random_brightness_forward(unit, unit, 1, 2, 2, 1, 0.25f, 0.25f, 0, 1, &rng);
  const float want_unit[4] = {0.25f, 0.75f, 1, 1};
  check_row(unit, want_unit, 4, "brightness in [0, 1], in place");
  free(x);
  free(out);
}
END_TEST

/* ----- the layers' options: fill_value, value_range ----- */

/* fill_value (fill_mode="constant"): the pixels a rotation, zoom or shift
 * brings in from outside the image are exactly that value, whatever it is;
 * the ones it keeps come from the image (values 1..64, never a fill). */
START_TEST(test_fill_value_in_filled_pixels) {
  enum { H = 8, W = 8 };
  float x[H * W], out[H * W];
  for (int i = 0; i < H * W; i++)
    x[i] = (float)(i + 1);
  RtRng rng;
  rt_rng_seed(&rng, 31);
  const float values[3] = {0.0f, 7.0f, -2.5f};
  for (int v = 0; v < 3; v++) {
    const float k = values[v];
    /* down 2 rows (0.25 of 8): rows 0-1 filled, rows 2-7 are rows 0-5 */
    rt_random_translation_forward(out, x, 1, H, W, 1, 0.25f, 0.25f, 0, 0, RT_FILL_CONSTANT,
                                  RT_INTERP_NEAREST, k, &rng);
    int wrong = 0;
    for (int i = 0; i < H * W; i++)
      wrong += out[i] != (i < 2 * W ? k : x[i - 2 * W]);
    ck_assert_msg(!wrong, "translation, fill_value %g: %d pixels wrong", (double)k, wrong);
    /* zoom out 2x (factor 1): the corners sample outside, the centre inside */
    rt_random_zoom_forward(out, x, 1, H, W, 1, 1.0f, 1.0f, 1.0f, 1.0f, 0, RT_FILL_CONSTANT,
                           RT_INTERP_NEAREST, k, &rng);
    ck_assert(out[0] == k && out[W - 1] == k && out[H * W - 1] == k);
    ck_assert(out[(H / 2) * W + W / 2] >= 1.0f);
    /* 45 degrees (0.125 of a turn): the corners come from outside */
    rt_random_rotation_forward(out, x, 1, H, W, 1, 0.125f, 0.125f, RT_FILL_CONSTANT,
                               RT_INTERP_NEAREST, k, &rng);
    ck_assert(out[0] == k && out[W - 1] == k && out[(H - 1) * W] == k && out[H * W - 1] == k);
    ck_assert(out[(H / 2) * W + W / 2] >= 1.0f);
  }
}
END_TEST

/* value_range: contrast and brightness clip to it (Keras's [0, 255] by
 * default; [0, 1] for images already rescaled). */
START_TEST(test_value_range_clips) {
  const float img[4] = {0.0f, 0.1f, 0.9f, 1.0f}; /* mean 0.5 */
  float out[4];
  RtRng rng;
  rt_rng_seed(&rng, 32);
  /* contrast k = 2 ([1 - lower, 1 + upper] = {2}): (x - 0.5) 2 + 0.5 */
  rt_random_contrast_forward(out, img, 1, 2, 2, 1, -1.0f, 1.0f, 0, 1, &rng);
  const float clipped[4] = {0, 0, 1, 1};
  check_row(out, clipped, 4, "contrast 2 in [0, 1]");
  rt_random_contrast_forward(out, img, 1, 2, 2, 1, -1.0f, 1.0f, 0, 255, &rng);
  const float low_only[4] = {0, 0, 1.3f, 1.5f};
  check_row(out, low_only, 4, "contrast 2 in [0, 255]");
  rt_random_contrast_forward(out, img, 1, 2, 2, 1, -1.0f, 1.0f, -1, 1, &rng);
  const float high_only[4] = {-0.5f, -0.3f, 1, 1};
  check_row(out, high_only, 4, "contrast 2 in [-1, 1]");
  /* brightness +0.5 of the range: 1 in [-1, 1] (0.5 * 2), clipped at 1 */
  rt_random_brightness_forward(out, img, 1, 2, 2, 1, 0.5f, 0.5f, -1, 1, &rng);
  const float bright[4] = {1, 1, 1, 1};
  check_row(out, bright, 4, "brightness +1 in [-1, 1]");
  rt_random_brightness_forward(out, img, 1, 2, 2, 1, -0.25f, -0.25f, -1, 1, &rng);
  const float darker[4] = {-0.5f, -0.4f, 0.4f, 0.5f};
  check_row(out, darker, 4, "brightness -0.5 in [-1, 1]");
}
END_TEST

/* ----- crop ----- */

START_TEST(test_random_crop_training) {
  const int m = 3, h = 6, w = 7, c = 2, ch = 4, cw = 3;
  float x[3 * 6 * 7 * 2], out[3 * 4 * 3 * 2];
  for (int i = 0; i < m * h * w * c; i++)
    x[i] = (float)i; /* every value tells where it came from */
  int seen[3][5] = {{0}};
  RtRng rng;
  rt_rng_seed(&rng, 23);
  const int draws = 2000;
  int outside = 0, wrong = 0;
  for (int d = 0; d < draws; d++) {
    rt_random_crop_forward(out, x, m, h, w, c, ch, cw, &rng);
    int at = (int)out[0] / c, row = at / w, col = at % w;
    if (row > h - ch || col > w - cw) {
      outside++;
      continue;
    }
    seen[row][col]++;
    for (int i = 0; i < m; i++) /* the whole window, at the same place in every image */
      for (int y = 0; y < ch; y++)
        for (int q = 0; q < cw; q++)
          for (int k = 0; k < c; k++)
            wrong += out[((i * ch + y) * cw + q) * c + k] !=
                     x[((i * h + row + y) * w + col + q) * c + k];
  }
  ck_assert_int_eq(outside, 0);
  ck_assert_int_eq(wrong, 0);
  /* 15 places, 2000 draws: each is seen (P(one missing) < 15 (14/15)^2000),
   * and near 2000/15 times */
  for (int r = 0; r < 3; r++)
    for (int q = 0; q < 5; q++)
      ck_assert_msg(fabs(seen[r][q] / (double)draws - 1.0 / 15) < hoeffding(draws, 1.0),
                    "place (%d, %d) seen %d times", r, q, seen[r][q]);
}
END_TEST

/* p: window origin (y0, x0), scales (sy, sx); the point inside the window */
static void map_resize(double *sy, double *sx, int y, int x, const double *p) {
  *sy = (y + 0.5) * p[2] - 0.5;
  *sx = (x + 0.5) * p[3] - 0.5;
}

START_TEST(test_random_crop_inference) {
  /* windows: (10, 10) -> (6, 8): 7 x 10 at row 1; (9, 20) -> (6, 6): 9 x 9
   * at column 5; (5, 4) -> (8, 8): 4 x 4 at row 0 (upsampled, edges clamp) */
  const struct {
    int h, w, ch, cw, win_h, win_w, y0, x0;
  } cases[] = {{10, 10, 6, 8, 7, 10, 1, 0}, {9, 20, 6, 6, 9, 9, 0, 5}, {5, 4, 8, 8, 4, 4, 0, 0}};
  const int m = 2, c = 3;
  for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++) {
    int h = cases[j].h, w = cases[j].w, ch = cases[j].ch, cw = cases[j].cw;
    int wh = cases[j].win_h, ww = cases[j].win_w;
    float *x = random_images(m, h, w, c, 24 + j), *out = malloc(sizeof(float) * m * ch * cw * c);
    rt_random_crop_infer(out, x, m, h, w, c, ch, cw);
    /* the reference: copy the window, then resize it with nearest fill
     * (edges clamped to the window) */
    float *window = malloc(sizeof(float) * m * wh * ww * c);
    for (int i = 0; i < m; i++)
      for (int y = 0; y < wh; y++)
        for (int q = 0; q < ww; q++)
          for (int k = 0; k < c; k++)
            window[((i * wh + y) * ww + q) * c + k] =
                x[((i * h + cases[j].y0 + y) * w + cases[j].x0 + q) * c + k];
    double p[4] = {0, 0, (double)wh / ch, (double)ww / cw};
    double worst = 0.0;
    for (int i = 0; i < m; i++)
      for (int y = 0; y < ch; y++)
        for (int q = 0; q < cw; q++) {
          double sy, sx;
          map_resize(&sy, &sx, y, q, p);
          sy = fmin(fmax(sy, 0.0), wh - 1); /* TF / JAX: clamp at the edges */
          sx = fmin(fmax(sx, 0.0), ww - 1);
          for (int k = 0; k < c; k++) {
            double want = ref_sample(window + (size_t)i * wh * ww * c, wh, ww, c, sy, sx, k,
                                     RT_INTERP_BILINEAR, RT_FILL_NEAREST, 0);
            worst = fmax(worst, fabs(out[((i * ch + y) * cw + q) * c + k] - want));
          }
        }
    ck_assert_msg(worst < 1e-5, "case %zu: max diff %g", j, worst);
    /* an image smaller than the crop takes this path in training too */
    if (h < ch || w < cw) {
      float *train = malloc(sizeof(float) * m * ch * cw * c);
      RtRng rng;
      rt_rng_seed(&rng, 25);
      rt_random_crop_forward(train, x, m, h, w, c, ch, cw, &rng);
      ck_assert(memcmp(train, out, sizeof(float) * m * ch * cw * c) == 0);
      free(train);
    }
    free(window);
    free(x);
    free(out);
  }
}
END_TEST

static Suite *augment_suite(void) {
  Suite *s = suite_create("augment");
  TCase *basics = tcase_create("identity and determinism");
  tcase_set_timeout(basics, 120);
  tcase_add_test(basics, test_sampler_identity_exact);
  tcase_add_test(basics, test_layers_identity_at_factor_zero);
  tcase_add_test(basics, test_same_seed_same_output);
  tcase_add_test(basics, test_same_bits_on_any_thread_count);
  suite_add_tcase(s, basics);

  TCase *geometry = tcase_create("geometry against the reference");
  tcase_set_timeout(geometry, 120);
  tcase_add_test(geometry, test_rotation_quarter_turn);
  tcase_add_test(geometry, test_rotation_any_angle);
  tcase_add_test(geometry, test_zoom);
  tcase_add_test(geometry, test_translation_whole_pixels);
  tcase_add_test(geometry, test_fill_modes_by_hand);
  tcase_add_test(geometry, test_flip_modes);
  tcase_add_test(geometry, test_random_crop_training);
  tcase_add_test(geometry, test_random_crop_inference);
  suite_add_tcase(s, geometry);

  TCase *stats = tcase_create("random parameters and colour");
  tcase_set_timeout(stats, 120);
  tcase_add_test(stats, test_flip_frequency);
  tcase_add_test(stats, test_rotation_angle_statistics);
  tcase_add_test(stats, test_zoom_and_shift_statistics);
  tcase_add_test(stats, test_contrast_reference);
  tcase_add_test(stats, test_contrast_statistics);
  tcase_add_test(stats, test_brightness);
  tcase_add_test(stats, test_fill_value_in_filled_pixels);
  tcase_add_test(stats, test_value_range_clips);
  suite_add_tcase(s, stats);
  return s;
}

int main(void) {
  SRunner *runner = srunner_create(augment_suite());
  srunner_run_all(runner, CK_NORMAL);
  int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
