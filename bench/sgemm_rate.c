/*
 * sgemm_rate.c — how fast can this machine multiply float matrices?
 *
 * The yardstick for bench/run's "% of sgemm" column: OpenBLAS cblas_sgemm
 * (the library nnc's generated programs link) timed on
 *   - each GEMM of one Day 5 training step at batch 128, row-major, in the
 *     layouts nnc's kernels use (forward X.W, weight gradient X^T.dY, input
 *     gradient dY.W^T; no input gradient for the first layer),
 *   - "day5-step": all eight of them back to back, total FLOPs over total
 *     time: the best a GEMM-bound Day 5 step could do on this machine,
 *   - "cnn-step": the same for the seed CNN (models/cnn_fashion.nn) at
 *     batch 64: its convolutions' GEMMs over im2col columns and its dense
 *     layers' (the first convolution's too, though nnc computes that one,
 *     k = 4, in its own loops): how fast OpenBLAS runs these thin shapes,
 *     the most a CNN step built on it could reach with every other pass
 *     free,
 *   - a large square GEMM (the machine's practical peak),
 * each on 1 and 2 threads by default, or on the thread counts given
 * (openblas_set_num_threads).
 *
 * Output: a human-readable table on stderr, and on stdout one line per
 * measurement, "key threads gflops" (key: fwd1, dW1, ..., day5-step, cfwd1,
 * ..., cnn-step, square),
 * for scripts.
 *
 * Build: cc -O2 bench/sgemm_rate.c $(pkg-config --cflags --libs openblas)
 * Usage: sgemm_rate [seconds-per-measurement [threads ...]]
 *        (defaults: 0.5 seconds, threads 1 2)
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* One GEMM C (m, n) = op(A) . op(B), row-major. */
typedef struct {
  const char *key, *name; /* key: one word, for scripts */
  CBLAS_TRANSPOSE trans_a, trans_b;
  int m, n, k;
} GemmShape;

/* One Day 5 training step, batch 128 (784 -> 256 -> 128 -> 10). */
static const GemmShape DAY5_STEP[] = {
    {"fwd1", "fwd  (128,784).(784,256)", CblasNoTrans, CblasNoTrans, 128, 256, 784},
    {"fwd2", "fwd  (128,256).(256,128)", CblasNoTrans, CblasNoTrans, 128, 128, 256},
    {"fwd3", "fwd  (128,128).(128,10)", CblasNoTrans, CblasNoTrans, 128, 10, 128},
    {"dW1", "dW   (784,128).(128,256)", CblasTrans, CblasNoTrans, 784, 256, 128},
    {"dW2", "dW   (256,128).(128,128)", CblasTrans, CblasNoTrans, 256, 128, 128},
    {"dW3", "dW   (128,128).(128,10)", CblasTrans, CblasNoTrans, 128, 10, 128},
    {"dX2", "dX   (128,128).(128,256)", CblasNoTrans, CblasTrans, 128, 256, 128},
    {"dX3", "dX   (128,10).(10,128)", CblasNoTrans, CblasTrans, 128, 128, 10},
};
#define N_DAY5 ((int)(sizeof DAY5_STEP / sizeof DAY5_STEP[0]))

/* One seed-CNN training step, batch 64: conv 2x2 (28x28x1 -> 27x27x32),
 * pool, conv 2x2 (13x13x32 -> 12x12x32), pool, dense 1152 -> 256 -> 10. */
static const GemmShape CNN_STEP[] = {
    {"cfwd1", "fwd  (46656,4).(4,32)", CblasNoTrans, CblasNoTrans, 46656, 32, 4},
    {"cfwd2", "fwd  (9216,128).(128,32)", CblasNoTrans, CblasNoTrans, 9216, 32, 128},
    {"cfwd3", "fwd  (64,1152).(1152,256)", CblasNoTrans, CblasNoTrans, 64, 256, 1152},
    {"cfwd4", "fwd  (64,256).(256,10)", CblasNoTrans, CblasNoTrans, 64, 10, 256},
    {"cdW1", "dW   (4,46656).(46656,32)", CblasTrans, CblasNoTrans, 4, 32, 46656},
    {"cdW2", "dW   (128,9216).(9216,32)", CblasTrans, CblasNoTrans, 128, 32, 9216},
    {"cdW3", "dW   (1152,64).(64,256)", CblasTrans, CblasNoTrans, 1152, 256, 64},
    {"cdW4", "dW   (256,64).(64,10)", CblasTrans, CblasNoTrans, 256, 10, 64},
    {"cdX2", "dX   (9216,32).(32,128)", CblasNoTrans, CblasTrans, 9216, 128, 32},
    {"cdX3", "dX   (64,256).(256,1152)", CblasNoTrans, CblasTrans, 64, 1152, 256},
    {"cdX4", "dX   (64,10).(10,256)", CblasNoTrans, CblasTrans, 64, 256, 10},
};
#define N_CNN ((int)(sizeof CNN_STEP / sizeof CNN_STEP[0]))

static const GemmShape SQUARE = {
    "square", "square (2048,2048).(2048,2048)", CblasNoTrans, CblasNoTrans, 2048, 2048, 2048};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *malloc_check(size_t bytes, const char *file, int line) {
  void *p = malloc(bytes);
  if (!p) {
    fprintf(stderr, "%s:%d: out of memory (%zu bytes)\n", file, line, bytes);
    exit(1);
  }
  return p;
}
#define mallocCheck(bytes) malloc_check((bytes), __FILE__, __LINE__)

/* Operand buffers big enough for every shape, filled with small values. */
typedef struct {
  float *a, *b, *c;
} Buffers;

static float *random_floats(size_t n) {
  float *p = mallocCheck(sizeof(float) * n);
  for (size_t i = 0; i < n; i++)
    p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  return p;
}

static void gemm(const GemmShape *s, Buffers *buf) {
  int lda = s->trans_a == CblasNoTrans ? s->k : s->m; /* A is (m, k) or (k, m) */
  int ldb = s->trans_b == CblasNoTrans ? s->n : s->k; /* B is (k, n) or (n, k) */
  cblas_sgemm(CblasRowMajor, s->trans_a, s->trans_b, s->m, s->n, s->k, 1.0f, buf->a, lda, buf->b,
              ldb, 0.0f, buf->c, s->n);
}

static double flops(const GemmShape *s) { return 2.0 * s->m * s->n * s->k; }

/* GFLOP/s of running `count` shapes back to back, best of a few timed
   rounds of at least `seconds` / 5 each, after a warm-up. */
static double measure(const GemmShape *shapes, int count, Buffers *buf, double seconds) {
  double work = 0;
  for (int i = 0; i < count; i++)
    work += flops(&shapes[i]);
  for (int i = 0; i < count; i++) /* warm-up: thread pool, caches */
    gemm(&shapes[i], buf);
  double best = 0;
  for (int round = 0; round < 5; round++) {
    long reps = 0;
    double t0 = now(), elapsed;
    do {
      for (int i = 0; i < count; i++)
        gemm(&shapes[i], buf);
      reps++;
      elapsed = now() - t0;
    } while (elapsed < seconds / 5);
    double rate = work * (double)reps / elapsed / 1e9;
    if (rate > best)
      best = rate;
  }
  return best;
}

static void report(const char *key, const char *name, int threads, double gflops) {
  fprintf(stderr, "  %-32s %d thread%s %8.1f GFLOP/s\n", name, threads, threads > 1 ? "s" : " ",
          gflops);
  printf("%s %d %.3f\n", key, threads, gflops);
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 0.5;
  int threads[16] = {1, 2}, n_threads = 2;
  if (argc > 2) {
    n_threads = argc - 2 < 16 ? argc - 2 : 16;
    for (int t = 0; t < n_threads; t++)
      threads[t] = atoi(argv[2 + t]);
  }
  int bad = !(seconds > 0);
  for (int t = 0; t < n_threads; t++)
    bad |= threads[t] < 1;
  if (bad) {
    fprintf(stderr, "usage: %s [seconds-per-measurement > 0 [threads >= 1 ...]]\n", argv[0]);
    return 2;
  }
  size_t big = (size_t)SQUARE.m * SQUARE.k;
  Buffers buf = {random_floats(big), random_floats(big), random_floats(big)};
  for (int t = 0; t < n_threads; t++) {
    openblas_set_num_threads(threads[t]);
    for (int i = 0; i < N_DAY5; i++)
      report(DAY5_STEP[i].key, DAY5_STEP[i].name, threads[t],
             measure(&DAY5_STEP[i], 1, &buf, seconds));
    report("day5-step", "day5-step (all eight above)", threads[t],
           measure(DAY5_STEP, N_DAY5, &buf, seconds));
    for (int i = 0; i < N_CNN; i++)
      report(CNN_STEP[i].key, CNN_STEP[i].name, threads[t], measure(&CNN_STEP[i], 1, &buf, seconds));
    report("cnn-step", "cnn-step (all eleven above)", threads[t],
           measure(CNN_STEP, N_CNN, &buf, seconds));
    report(SQUARE.key, SQUARE.name, threads[t], measure(&SQUARE, 1, &buf, 2 * seconds));
  }
  free(buf.a);
  free(buf.b);
  free(buf.c);
  return 0;
}
