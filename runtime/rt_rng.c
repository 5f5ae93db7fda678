/*
 * rt_rng.c — seeded, reproducible random numbers for initialization,
 * dropout and shuffling.
 *
 * The generator is xoshiro128+ (Blackman & Vigna), 128 bits of state, seeded
 * from one 64-bit seed through splitmix64 so that nearby seeds give unrelated
 * streams and the state is never all zero. xoshiro128+'s low bits are weak,
 * so everything derived here uses the HIGH bits: floats take the top 24 bits,
 * and rt_rng_below uses Lemire's multiply-shift (the high word of x * n) with
 * rejection, which is exactly unbiased.
 */
#include "nnc_runtime.h"

static uint64_t splitmix64_next(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void rt_rng_seed(RtRng *rng, uint64_t seed) {
  uint64_t sm = seed;
  uint64_t a = splitmix64_next(&sm);
  uint64_t b = splitmix64_next(&sm);
  rng->s[0] = (uint32_t)a;
  rng->s[1] = (uint32_t)(a >> 32);
  rng->s[2] = (uint32_t)b;
  rng->s[3] = (uint32_t)(b >> 32);
  /* xoshiro must not start from the all-zero state (it would stay there). */
  if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
    rng->s[0] = 1;
}

/* rt_rng_u32 and rt_rng_uniform are static inline in nnc_runtime.h: the
 * dropout kernel draws one number per activation, so the call must vanish. */

uint32_t rt_rng_below(RtRng *rng, uint32_t n) {
  if (n == 0)
    rt_die("rt_rng_below: n must be positive");
  /* Lemire: the high word of x * n is uniform on [0, n) once the
   * (2^32 mod n) low words that would over-represent some values are rejected. */
  uint64_t product = (uint64_t)rt_rng_u32(rng) * n;
  uint32_t low = (uint32_t)product;
  if (low < n) {
    uint32_t threshold = (uint32_t)(-n) % n; /* 2^32 mod n */
    while (low < threshold) {
      product = (uint64_t)rt_rng_u32(rng) * n;
      low = (uint32_t)product;
    }
  }
  return (uint32_t)(product >> 32);
}

void rt_rng_shuffle(RtRng *rng, int *a, int n) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)rt_rng_below(rng, (uint32_t)i + 1);
    int tmp = a[i];
    a[i] = a[j];
    a[j] = tmp;
  }
}
