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
#include <sys/resource.h>
#include <time.h>
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

/* How long an idle OpenMP thread spins before it sleeps, chosen at start
 * from how busy the machine is.
 *
 * libgomp's default (300,000 spins, a few hundred microseconds) is fastest
 * when nnc has the cores to itself: a thread that waits for the next
 * parallel region is still awake when it comes. On a busy machine it
 * collapses: a spinning thread holds a core that the thread it waits for,
 * or another program, needs, and the scheduler cannot tell. Measured on 2
 * vCPUs (bench/run, bench/ablate): beside one other CPU-bound process Day 5
 * ran 3.9x and the seed CNN 2.6x their quiet time with the long spin, 1.9x
 * and 1.8x with 1,000 spins (~50 microseconds) and then sleep; on an idle
 * machine the short spin costs the CNN, with its ~25 short parallel regions
 * a step, about 20% (a sleeping thread takes tens of microseconds to wake on
 * a VM) and Day 5 nothing measurable.
 *
 * So rt_init looks before it starts: it sleeps PROBE_MS and reads from
 * /proc/stat how much CPU the rest of the machine used meanwhile. Others
 * using more than BUSY_CPUS of a CPU beyond the cores nnc's threads leave
 * free means the short spin, and as many threads as cores the others leave
 * (at least one); otherwise libgomp's long spin and every core. (Steal time, a
 * VM's neighbours, is not counted: our spinning does not take their CPU.)
 * The look is once, at start: a machine that gets busy later keeps the long
 * spin and every core. GOMP_SPINCOUNT and OMP_NUM_THREADS are read only when
 * libgomp loads, so like OPENBLAS_CORETYPE they are set by restarting once.
 * A user's OMP_WAIT_POLICY, GOMP_SPINCOUNT or OMP_NUM_THREADS is left alone. */
#define RT_SHORT_SPIN "1000"
#define RT_LONG_SPIN "300000" /* libgomp's own default */
enum { PROBE_MS = 60 };
#define BUSY_CPUS 0.3

static int is_set(const char *name) {
  const char *value = getenv(name);
  return value && *value;
}

/* The machine's busy and idle time so far, in clock ticks (/proc/stat's
 * "cpu" line: user nice system idle iowait irq softirq steal ...). */
static int read_cpu_ticks(double *busy, double *idle) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f)
    return 0;
  unsigned long long user, nice, sys, idl, iowait, irq, softirq;
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idl, &iowait,
                 &irq, &softirq);
  fclose(f);
  if (n != 7)
    return 0;
  *busy = (double)(user + nice + sys + irq + softirq);
  *idle = (double)(idl + iowait);
  return 1;
}

/* This process's CPU time so far, all its threads, in clock ticks. */
static double own_ticks(void) {
  struct rusage u;
  if (getrusage(RUSAGE_SELF, &u) != 0)
    return 0.0;
  double s = (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
             (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
  return s * (double)sysconf(_SC_CLK_TCK);
}

/* CPUs' worth of work other programs did during PROBE_MS, while this
 * process sleeps (less what its own threads did meanwhile: OpenBLAS's,
 * started when it loaded, spin a while); -1 when /proc/stat cannot be read. */
static double others_cpus(void) {
  double busy0, idle0, busy1, idle1, own0 = own_ticks();
  if (!read_cpu_ticks(&busy0, &idle0))
    return -1.0;
  struct timespec nap = {0, PROBE_MS * 1000000L};
  nanosleep(&nap, NULL);
  double own = own_ticks() - own0;
  if (!read_cpu_ticks(&busy1, &idle1) || busy1 + idle1 <= busy0 + idle0)
    return -1.0;
  double cpus = (double)sysconf(_SC_NPROCESSORS_ONLN), others = busy1 - busy0 - own;
  return cpus * (others > 0.0 ? others : 0.0) / (busy1 - busy0 + idle1 - idle0);
}

/* What rt_init chooses for this machine now, when the user did not: the
 * spin (short when other programs want the CPUs nnc's threads would take,
 * or when that cannot be told) and, when others hold cores, as many threads
 * as they leave free (a thread sharing a core with a busy program holds up
 * every parallel region it is in: the seed CNN ran 2.6x its quiet time on 2
 * threads beside one busy process, about 1.7x on 1). */
RtMachineChoice rt_choose_for_load(double others, int cpus, int threads, int policy_set,
                                   int threads_set) {
  RtMachineChoice c = {NULL, 0};
  int busy = others < 0.0 || others > (double)(cpus - threads) + BUSY_CPUS;
  if (!policy_set)
    c.spin = busy ? RT_SHORT_SPIN : RT_LONG_SPIN;
  if (!threads_set) {
    int left = others < 0.0 ? threads : cpus - (int)(others + 0.5);
    c.threads = left < 1 ? 1 : left < threads ? left : threads;
  }
  return c;
}

static RtMachineChoice choose_for_machine(void) {
  int policy_set = is_set("OMP_WAIT_POLICY") || is_set("GOMP_SPINCOUNT");
  int threads_set = is_set("OMP_NUM_THREADS");
  if (policy_set && threads_set)
    return (RtMachineChoice){NULL, 0};
  return rt_choose_for_load(others_cpus(), (int)sysconf(_SC_NPROCESSORS_ONLN),
                            omp_get_max_threads(), policy_set, threads_set);
}

void rt_init(char **argv) {
  const char *core = better_blas_core();
  RtMachineChoice c = choose_for_machine();
  int fewer_threads = c.threads && c.threads < omp_get_max_threads();
  if (!core && !fewer_threads && (!c.spin || !strcmp(c.spin, RT_LONG_SPIN)))
    return; /* libgomp's defaults: nothing to change */
  if (core)
    setenv("OPENBLAS_CORETYPE", core, 1);
  /* what was chosen, all of it, so the restarted program does not look again */
  if (c.spin)
    setenv("GOMP_SPINCOUNT", c.spin, 1);
  if (c.threads) {
    char n[16];
    snprintf(n, sizeof n, "%d", c.threads);
    setenv("OMP_NUM_THREADS", n, 1);
  }
  fflush(NULL);
  execv("/proc/self/exe", argv); /* returns only on failure: run as we are */
}

const char *rt_blas_core(void) { return openblas_get_corename(); }

/* How many times idle OpenMP threads spin before they sleep (rt_init chose
 * it, or the user), for --help and the run's first line. */
const char *rt_idle_spin(void) {
  const char *policy = getenv("OMP_WAIT_POLICY");
  const char *spin = getenv("GOMP_SPINCOUNT");
  if (spin && *spin)
    return spin;
  return policy && !strcasecmp(policy, "passive") ? "0" : RT_LONG_SPIN;
}

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
