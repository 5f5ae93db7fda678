/*
 * rt_limits.h — limits a runtime kernel has and the compiler must respect
 * when it chooses that kernel (included by nnc_runtime.h and compiler/fuse.c).
 */
#ifndef RT_LIMITS_H
#define RT_LIMITS_H

/* rt_pooled_conv.c: the longest row of columns (kh * kw * c of a first
 * convolution) that fusion rule 5 hands to the pooled kernels, whose weight
 * gradient accumulates a block of channels for each of its k values in
 * registers. */
#define RT_POOLED_K_MAX 16

/* rt_pooled_conv.c: the most cells in the pool's window (the winner is kept
 * as one byte per pooled value). */
#define RT_POOLED_CELLS_MAX 255

#endif
