/*
 * window_test.h — RtWindow geometry for the kernel suites (test_conv.c,
 * test_spatial.c): the header's formulas written out plainly, so the
 * references never share code with the kernels they check. Header-only.
 */
#ifndef WINDOW_TEST_H
#define WINDOW_TEST_H

#include "nnc_runtime.h"

#include <stdio.h>

/* 'same' (TF): out = ceil(in / s), pad_total = max((out - 1) s + k - in, 0),
 * pad_before = pad_total / 2; 'valid': out = (in - k) / s + 1, no padding. */
static inline void axis_geometry(int in, int k, int s, int same, int *out, int *pad_before) {
  if (same) {
    *out = (in + s - 1) / s;
    int pad_total = (*out - 1) * s + k - in;
    *pad_before = pad_total > 0 ? pad_total / 2 : 0;
  } else {
    *out = (in - k) / s + 1;
    *pad_before = 0;
  }
}

static inline RtWindow window_make(int h, int w, int c, int kh, int kw, int sh, int sw,
                                   int same) {
  RtWindow win = {.h = h, .w = w, .c = c, .kh = kh, .kw = kw, .sh = sh, .sw = sw};
  axis_geometry(h, kh, sh, same, &win.oh, &win.pad_top);
  axis_geometry(w, kw, sw, same, &win.ow, &win.pad_left);
  return win;
}

/* "OP HxWxC kKHxKW sSH,SW same -> OHxOW (pad T,L)": what a failure names. */
static inline void describe_window(char *buf, size_t size, const char *op, const RtWindow *win,
                                   int same) {
  snprintf(buf, size, "%s %dx%dx%d k%dx%d s%d,%d %s -> %dx%d (pad %d,%d)", op, win->h, win->w,
           win->c, win->kh, win->kw, win->sh, win->sw, same ? "same" : "valid", win->oh,
           win->ow, win->pad_top, win->pad_left);
}

/* 1 if pixel (y, x) lies inside the window's input image (else it is padding). */
static inline int window_inside(const RtWindow *win, int y, int x) {
  return y >= 0 && y < win->h && x >= 0 && x < win->w;
}

#endif
