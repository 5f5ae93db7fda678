/*
 * augment.c — what the augmentation layers (runtime/rt_augment.c) cost.
 *
 * Times each layer, with Keras's defaults (reflect fill, bilinear) and the
 * seed-001 factors (flip horizontal, rotation 0.1, zoom 0.1, translation 0.1,
 * contrast 0.1, brightness 0.1, crop to 7/8 of each side), and seed 001's
 * chain of four (flip, rotation, zoom, contrast), on
 *   - a batch of 128 28x28x1 images (Fashion-MNIST), and
 *   - a batch of 32 224x224x3 images (seed 001's image_size),
 * on 1 thread and on all of them (OMP_NUM_THREADS), beside the uint8 ->
 * float cast that starts a chain (rt_cast_u8_forward). A bench only, never
 * a test: the figures depend on the machine.
 *
 * Build: cmake --build build --target bench_augment
 * Usage: build/bench_augment [seconds-per-measurement]   (default 0.3)
 * Output: one line per layer, shape and thread count: wall and CPU
 * milliseconds per batch, CPU nanoseconds per output value.
 */
#include "nnc_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct {
  int m, h, w, c;
} Batch;

typedef struct {
  float *out, *x, *tmp;
  uint8_t *bytes;
  Batch b;
  RtRng rng;
} Bench;

typedef void (*LayerRun)(Bench *s);

static void run_cast(Bench *s) {
  rt_cast_u8_forward(s->x, s->bytes, (size_t)s->b.m * s->b.h * s->b.w * s->b.c);
}
static void run_flip(Bench *s) {
  rt_random_flip_forward(s->out, s->x, s->b.m, s->b.h, s->b.w, s->b.c, RT_FLIP_HORIZONTAL,
                         &s->rng);
}
static void run_rotation(Bench *s) {
  rt_random_rotation_forward(s->out, s->x, s->b.m, s->b.h, s->b.w, s->b.c, -0.1f, 0.1f,
                             RT_FILL_REFLECT, RT_INTERP_BILINEAR, 0, &s->rng);
}
static void run_rotation_nearest(Bench *s) {
  rt_random_rotation_forward(s->out, s->x, s->b.m, s->b.h, s->b.w, s->b.c, -0.1f, 0.1f,
                             RT_FILL_REFLECT, RT_INTERP_NEAREST, 0, &s->rng);
}
static void run_zoom(Bench *s) {
  rt_random_zoom_forward(s->out, s->x, s->b.m, s->b.h, s->b.w, s->b.c, -0.1f, 0.1f, 0, 0, 1,
                         RT_FILL_REFLECT, RT_INTERP_BILINEAR, 0, &s->rng);
}
static void run_translation(Bench *s) {
  rt_random_translation_forward(s->out, s->x, s->b.m, s->b.h, s->b.w, s->b.c, -0.1f, 0.1f,
                                -0.1f, 0.1f, RT_FILL_REFLECT, RT_INTERP_BILINEAR, 0, &s->rng);
}
static void run_contrast(Bench *s) {
  rt_random_contrast_forward(s->out, s->x, s->b.m, s->b.h, s->b.w, s->b.c, 0.1f, 0.1f, 0, 255,
                             &s->rng);
}
static void run_brightness(Bench *s) {
  rt_random_brightness_forward(s->out, s->x, s->b.m, s->b.h, s->b.w, s->b.c, -0.1f, 0.1f, 0,
                               255, &s->rng);
}
static void run_crop(Bench *s) {
  rt_random_crop_forward(s->out, s->x, s->b.m, s->b.h, s->b.w, s->b.c, s->b.h * 7 / 8,
                         s->b.w * 7 / 8, &s->rng);
}
static void run_crop_infer(Bench *s) {
  rt_random_crop_infer(s->out, s->x, s->b.m, s->b.h, s->b.w, s->b.c, s->b.h * 7 / 8,
                       s->b.w * 7 / 8);
}

/* seed 001's chain: flip, rotation 0.1, zoom 0.1, contrast 0.1 */
static void run_seed001_chain(Bench *s) {
  int m = s->b.m, h = s->b.h, w = s->b.w, c = s->b.c;
  rt_random_flip_forward(s->tmp, s->x, m, h, w, c, RT_FLIP_HORIZONTAL, &s->rng);
  rt_random_rotation_forward(s->out, s->tmp, m, h, w, c, -0.1f, 0.1f, RT_FILL_REFLECT,
                             RT_INTERP_BILINEAR, 0, &s->rng);
  rt_random_zoom_forward(s->tmp, s->out, m, h, w, c, -0.1f, 0.1f, 0, 0, 1, RT_FILL_REFLECT,
                         RT_INTERP_BILINEAR, 0, &s->rng);
  rt_random_contrast_forward(s->out, s->tmp, m, h, w, c, 0.1f, 0.1f, 0, 255, &s->rng);
}

static const struct {
  const char *name;
  LayerRun run;
  int crop; /* output is the 7/8 crop */
} LAYERS[] = {
    {"cast_u8", run_cast, 0},
    {"random_flip", run_flip, 0},
    {"random_rotation", run_rotation, 0},
    {"random_rotation_nearest", run_rotation_nearest, 0},
    {"random_zoom", run_zoom, 0},
    {"random_translation", run_translation, 0},
    {"random_contrast", run_contrast, 0},
    {"random_brightness", run_brightness, 0},
    {"random_crop", run_crop, 1},
    {"random_crop_infer", run_crop_infer, 1},
    {"seed001_chain", run_seed001_chain, 0},
};

static double process_cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Wall and CPU (all threads) seconds per call: repeated until `seconds` of
 * wall time have passed, after one warm-up. On a busy machine the CPU time
 * is the steadier figure. */
static void time_layer(LayerRun run, Bench *s, double seconds, double *wall, double *cpu) {
  run(s);
  int calls = 0;
  double start = rt_now(), cpu_start = process_cpu_seconds(), now;
  do {
    run(s);
    calls++;
    now = rt_now();
  } while (now - start < seconds);
  *wall = (now - start) / calls;
  *cpu = (process_cpu_seconds() - cpu_start) / calls;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 0.3;
  const Batch batches[2] = {{128, 28, 28, 1}, {32, 224, 224, 3}};
  int all = rt_threads();
  int thread_counts[2] = {1, all};
  printf("%-24s %-14s %7s %10s %10s %12s\n", "layer", "batch", "threads", "wall ms", "cpu ms",
         "cpu ns/value");
  for (int b = 0; b < 2; b++) {
    Bench s;
    s.b = batches[b];
    size_t n = (size_t)s.b.m * s.b.h * s.b.w * s.b.c;
    s.x = rt_malloc(n * sizeof(float));
    s.out = rt_malloc(n * sizeof(float));
    s.tmp = rt_malloc(n * sizeof(float));
    s.bytes = rt_malloc(n);
    rt_rng_seed(&s.rng, 42);
    for (size_t i = 0; i < n; i++) {
      s.bytes[i] = (uint8_t)(rt_rng_u32(&s.rng) >> 24);
      s.x[i] = s.bytes[i];
    }
    char shape[32];
    snprintf(shape, sizeof shape, "%dx%dx%dx%d", s.b.m, s.b.h, s.b.w, s.b.c);
    for (int t = 0; t < (all > 1 ? 2 : 1); t++) {
      rt_set_threads(thread_counts[t]);
      for (size_t l = 0; l < sizeof LAYERS / sizeof LAYERS[0]; l++) {
        double wall, cpu;
        time_layer(LAYERS[l].run, &s, seconds, &wall, &cpu);
        size_t values = LAYERS[l].crop
                            ? (size_t)s.b.m * (s.b.h * 7 / 8) * (s.b.w * 7 / 8) * s.b.c
                            : n;
        printf("%-24s %-14s %7d %10.3f %10.3f %12.2f\n", LAYERS[l].name, shape, thread_counts[t],
               wall * 1e3, cpu * 1e3, cpu * 1e9 / values);
        fflush(stdout);
      }
    }
    free(s.x);
    free(s.out);
    free(s.tmp);
    free(s.bytes);
  }
  return 0;
}
