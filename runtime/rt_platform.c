/*
 * rt_platform.c — the platform under the kernels: the one pool of threads
 * (OpenMP's, with OpenBLAS single-threaded inside it) and rt_init, which
 * makes OpenBLAS use the CPU's best kernels.
 */
#define _GNU_SOURCE /* setenv, execv, strcasecmp */
#include "nnc_runtime.h"

#include "rt_threads.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ----- threads -----
 * One pool: OpenMP's. OpenBLAS runs single-threaded inside each OpenMP
 * thread, and every GEMM is split into independent blocks of rows (or
 * columns), so no thread waits on another's partial sums. (OpenBLAS's own
 * threads, used before, cost more than they saved on the CNN's thin GEMMs
 * and yielded ~30% of the time.) Elementwise kernels split the batch the
 * same way. */

/* OpenBLAS picks its kernels once, when it loads, from the CPU's model
 * number. A model newer than the library (Debian 12's OpenBLAS 0.3.21 does
 * not know Intel's model 207, for one) gets the generic "Prescott" SSE3
 * kernels, ~3x slower than the AVX-512 ones the CPU runs fine. The choice
 * can only be changed before the library loads, through
 * OPENBLAS_CORETYPE, so the program restarts itself once with it set. */
static const char *better_blas_core(void) {
  const char *core = openblas_get_corename();
  if (getenv("OPENBLAS_CORETYPE") || !core)
    return NULL; /* the user chose, or this is not the OpenBLAS we know */
  static const char *const generic[] = {"prescott", "core2", "nehalem", "katmai", "northwood",
                                        "banias", "atom", "unknown"};
  int is_generic = 0;
  for (size_t i = 0; i < sizeof generic / sizeof generic[0]; i++)
    is_generic |= !strcasecmp(core, generic[i]);
  if (!is_generic)
    return NULL;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return "Haswell";
  return NULL;
}

/* How long an idle OpenMP thread spins before it sleeps. libgomp's default
 * (300,000 spins, a few hundred microseconds) is fastest on an idle machine
 * but collapses on a busy one: a spinning thread holds a core that the
 * thread it waits for, or another program, needs, and the scheduler cannot
 * tell. Measured on 2 vCPUs with one other CPU-bound process (bench/run's
 * "busy machine" row): Day 5 epochs took 1.8 s with the default against
 * 0.49 s quiet, 0.73 s with 1,000 spins (a few microseconds) and 0.73 s
 * passive. Quiet, 1,000 spins costs Day 5 nothing measurable but the seed
 * CNN, with its many short parallel regions, about 20% (passive: ~10% on
 * Day 5); robustness on a shared machine is the default, and
 * OMP_WAIT_POLICY=active brings the long spin back.
 * GOMP_SPINCOUNT is read only when libgomp loads, so like
 * OPENBLAS_CORETYPE it is set by restarting once. A user's
 * OMP_WAIT_POLICY or GOMP_SPINCOUNT is left alone. */
#define RT_SPINCOUNT "1000"

static int is_set(const char *name) {
  const char *value = getenv(name);
  return value && *value;
}

static int wants_short_spin(void) { return !is_set("OMP_WAIT_POLICY") && !is_set("GOMP_SPINCOUNT"); }

void rt_init(char **argv) {
  const char *core = better_blas_core();
  int short_spin = wants_short_spin();
  if (!core && !short_spin)
    return;
  if (core)
    setenv("OPENBLAS_CORETYPE", core, 1);
  if (short_spin)
    setenv("GOMP_SPINCOUNT", RT_SPINCOUNT, 1);
  fflush(NULL);
  execv("/proc/self/exe", argv); /* returns only on failure: run as we are */
}

const char *rt_blas_core(void) { return openblas_get_corename(); }

static int pool_threads; /* 0 until rt_threads() or rt_set_threads() */

int rt_threads(void) {
  if (!pool_threads) {
    openblas_set_num_threads(1);
    pool_threads = omp_get_max_threads();
  }
  return pool_threads;
}

void rt_set_threads(int n) {
  rt_threads();
  pool_threads = n > 0 ? n : 1;
}

/* Threads worth using for about `work` multiply-adds (or element visits). */
int rt_threads_for(double work) {
  int t = rt_threads();
  return work < 65536.0 ? 1 : t;
}
