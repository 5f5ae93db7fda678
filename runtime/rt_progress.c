/*
 * rt_progress.c — Keras's progress bar (verbose=1 on a terminal):
 *     Epoch 3/10
 *     123/308 [=========>....................] - ETA: 2s - loss: 0.4312 - accuracy: 0.8450
 * rewritten in place with '\r' as the steps go (at most every 0.1 s, and at
 * the last step), then finished at the end of the epoch with the epoch's
 * time per step and its validation metrics. Off a terminal, or with
 * --verbose 2, the program prints one plain line per epoch instead
 * (rt_fit.c's print_epoch; its format is the logs'), and --verbose 0 prints
 * neither.
 */
#define _XOPEN_SOURCE 700 /* fileno */
#include "nnc_runtime.h"

#include <stdio.h>
#include <unistd.h>

#define BAR_WIDTH 30
#define REDRAW_SECONDS 0.1

int rt_verbosity(const RtOptions *opt) {
  return opt->verbose_given ? opt->verbose : 1; /* Keras's "auto": 1 */
}

int rt_progress_bar_wanted(const RtOptions *opt) {
  return rt_verbosity(opt) == 1 && isatty(fileno(stdout));
}

void rt_progress_begin(RtProgress *p, int epoch, int epochs, int steps) {
  p->steps = steps;
  p->t0 = rt_now();
  p->last_draw = -1;
  printf("Epoch %d/%d\n", epoch, epochs);
  fflush(stdout);
}

/* "123/308 [=========>....................]": the step count right-aligned
 * to the total's width, '>' at the head while the epoch runs. */
static void print_bar(const RtProgress *p, int step) {
  int width = snprintf(NULL, 0, "%d", p->steps);
  int done = p->steps > 0 ? (int)((long)BAR_WIDTH * step / p->steps) : BAR_WIDTH;
  printf("\r%*d/%d [", width, step, p->steps);
  for (int i = 0; i < BAR_WIDTH; i++)
    putchar(i < done ? '=' : i == done && step < p->steps ? '>' : '.');
  putchar(']');
}

static void print_values(const char *const *names, const double *values, int n) {
  for (int i = 0; i < n; i++)
    printf(" - %s: %.4f", names[i], values[i]);
}

/* Keras's ETA: "7s", "1:02", "1:02:03" */
static void print_eta(double seconds) {
  long t = (long)(seconds + 0.5);
  if (t >= 3600)
    printf(" - ETA: %ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else if (t >= 60)
    printf(" - ETA: %ld:%02ld", t / 60, t % 60);
  else
    printf(" - ETA: %lds", t);
}

void rt_progress_step(RtProgress *p, int step, const char *const *names, const double *values,
                      int n) {
  double now = rt_now();
  if (step < p->steps && p->last_draw >= 0 && now - p->last_draw < REDRAW_SECONDS)
    return;
  p->last_draw = now;
  double eta = step > 0 ? (now - p->t0) / step * (p->steps - step) : 0;
  print_bar(p, step);
  print_eta(eta);
  print_values(names, values, n);
  printf("\033[K"); /* clear what a longer line left */
  fflush(stdout);
}

void rt_progress_end(RtProgress *p, double seconds, const char *const *names,
                     const double *values, int n, double lr) {
  print_bar(p, p->steps);
  printf(" - %.0fs %.0fms/step", seconds, p->steps > 0 ? 1000 * seconds / p->steps : 0);
  print_values(names, values, n);
  printf(" - lr: %.1e\033[K\n", lr);
  fflush(stdout);
}
