/*
 * rt_window.h — clipping a window to the image (private to the runtime's
 * window kernels, rt_conv.c and rt_spatial.c).
 *
 * A window kernel walks the output pixels and, once per pixel, clips the
 * window to the image with window_range; its inner loops then run over
 * contiguous channels without a per-element bounds test.
 */
#ifndef RT_WINDOW_H
#define RT_WINDOW_H

/* The offsets [*lo, *hi) of a window of `kernel` cells starting at input
 * coordinate `origin` (negative inside the top/left padding) that fall
 * inside [0, size). Empty (lo == hi) only if the window misses the image. */
static inline void window_range(int origin, int kernel, int size, int *lo, int *hi) {
  int l = origin < 0 ? -origin : 0;
  int h = size - origin < kernel ? size - origin : kernel;
  *lo = l;
  *hi = h > l ? h : l;
}

#endif
