/*
 * rt_threads.h — the runtime's one parallel pattern (private to the runtime).
 *
 * Work is split into one contiguous slice per OpenMP thread: a kernel over
 * a batch runs its serial body on rows [lo, hi), an elementwise kernel on
 * elements [lo, hi). Slices never share an output element, so each value
 * is computed exactly as the serial kernel computes it, whatever the
 * number of threads. Small work runs on the calling thread alone
 * (rt_threads_for).
 */
#ifndef RT_THREADS_H
#define RT_THREADS_H

#include <omp.h>

static inline void rt_slice(long total, int parts, int t, long *lo, long *hi) {
  *lo = total * t / parts;
  *hi = total * (t + 1) / parts;
}

/* Runs STMT once per slice [lo, hi) of [0, total), in parallel when `work`
 * (element visits or multiply-adds) is worth it. */
#define RT_PARALLEL_SLICES(total, work, lo, hi, STMT)                                           \
  do {                                                                                           \
    long total_ = (long)(total);                                                                 \
    int threads_ = rt_threads_for((double)(work));                                               \
    if (threads_ <= 1) {                                                                         \
      long lo = 0, hi = total_;                                                                  \
      STMT;                                                                                      \
    } else {                                                                                     \
      _Pragma("omp parallel num_threads(threads_)") {                                            \
        long lo, hi;                                                                             \
        rt_slice(total_, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);                 \
        if (hi > lo) {                                                                           \
          STMT;                                                                                  \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
  } while (0)

#endif
