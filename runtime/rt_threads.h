/*
 * rt_threads.h — the runtime's one parallel pattern (private to the runtime).
 *
 * Work is split into one contiguous slice per OpenMP thread: a kernel over
 * a batch runs its serial body on rows [lo, hi), an elementwise kernel on
 * elements [lo, hi). Slices never share an output element, so no result
 * depends on timing, and a serial body's values are exactly what the
 * serial kernel computes, whatever the number of threads (an OpenBLAS call
 * on a block may round differently from one on the whole: GEMMs agree
 * across thread counts only to rounding). Small work runs on the calling
 * thread alone (rt_threads_for).
 */
#ifndef RT_THREADS_H
#define RT_THREADS_H

#include <omp.h>

static inline void rt_slice(long total, int parts, int t, long *lo, long *hi) {
  *lo = total * t / parts;
  *hi = total * (t + 1) / parts;
}

/* Runs the statement (the last argument; it may contain commas) once per
 * slice [lo, hi) of [0, total), in parallel when `work` (element visits or
 * multiply-adds) is worth it. */
#define RT_PARALLEL_SLICES(total, work, lo, hi, ...)                                           \
  do {                                                                                           \
    long total_ = (long)(total);                                                                 \
    int threads_ = rt_threads_for((double)(work));                                               \
    if (threads_ <= 1) {                                                                         \
      long lo = 0, hi = total_;                                                                  \
      __VA_ARGS__;                                                                               \
    } else {                                                                                     \
      _Pragma("omp parallel num_threads(threads_)") {                                            \
        long lo, hi;                                                                             \
        rt_slice(total_, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);                 \
        if (hi > lo) {                                                                           \
          __VA_ARGS__;                                                                           \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
  } while (0)

/* The serial bodies some kernels share across runtime files (rt_elementwise.c):
 * out (m, n) += bias, then the activation, in place. */
void rt_bias_act_rows(float *out, const float *bias, int m, int n, RtAct act, float alpha);

#endif
