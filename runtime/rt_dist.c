/*
 * rt_dist.c — the training loop's side of data-parallel training, through
 * the hooks of RtDistributed (nnc build --mpi links rt_mpi.c, which sets
 * them; this file has no MPI in it, so the single-process runtime stays free
 * of MPI). With run->dist NULL every function here is the single-process
 * step itself, bit for bit.
 *
 * The scheme is Horovod's and DDP's: every rank holds the whole model and
 * the whole data set, shuffles with the same seed (so all ranks walk the
 * same global batches), trains on its part of each global batch, and the
 * gradients are averaged with one allreduce before the identical optimizer
 * step on every rank. Weighting each rank's mean gradient by part / m makes
 * the average the gradient of the mean loss over the m examples of the
 * global batch, also for the last, short batch of an epoch.
 */
#include "nnc_runtime.h"

#include <string.h>

void rt_dist_start(RtRun *run) {
  const RtDistributed *d = run->dist;
  if (!d)
    return;
  if (run->model->batch % d->size)
    rt_die("the batch size %d does not divide among the %d processes of mpirun (each trains "
           "on batch / N examples of every batch): use a batch size that is a multiple of %d, "
           "or another -np", run->model->batch, d->size, d->size);
  if (d->rank > 0)
    run->opt.quiet = 1; /* rank 0 alone speaks */
}

uint64_t rt_dist_seed(const RtRun *run, uint64_t seed) {
  /* rank 0 keeps the seed, so -np 1 is the single-process run */
  return run->dist ? seed + (uint64_t)run->dist->rank * 0x9E3779B97F4A7C15ull : seed;
}

int rt_dist_part(const RtRun *run, int m, int *first) {
  if (!run->dist) {
    *first = 0;
    return m;
  }
  int r = run->dist->rank, n = run->dist->size, base = m / n, extra = m % n;
  *first = r * base + (r < extra ? r : extra);
  return base + (r < extra);
}

void rt_dist_range(const RtRun *run, int count, int *lo, int *hi) {
  *hi = *lo = 0;
  *hi = rt_dist_part(run, count, lo) + *lo;
}

void rt_dist_forward(const RtRun *run, int part) {
  const RtModel *model = run->model;
  if (part > 0)
    model->forward(part, 1);
  else /* a short last batch left this rank nothing (no batch statistics of 0 rows) */
    *model->loss_sum = 0;
  rt_dist_sum(run, model->loss_sum, 1);
}

void rt_dist_backward(const RtRun *run, int part, int m) {
  const RtModel *model = run->model;
  if (part > 0)
    model->backward(part);
  if (!run->dist)
    return;
  /* grad = sum over ranks of (part_r / m) * mean gradient of rank r's part;
   * the block's non-trainable entries stay 0 */
  float w = (float)part / (float)m, *g = model->grads;
  for (size_t i = 0; i < model->n_params; i++)
    g[i] = part > 0 ? g[i] * w : 0.0f;
  run->dist->sum_floats(g, model->n_params);
}

void rt_dist_sum(const RtRun *run, double *x, size_t n) {
  if (run->dist)
    run->dist->sum_doubles(x, n);
}

void rt_dist_sum_floats(const RtRun *run, float *x, size_t n) {
  if (run->dist)
    run->dist->sum_floats(x, n);
}

void rt_dist_sync_params(const RtRun *run) {
  if (run->dist)
    run->dist->broadcast_floats(run->model->params, run->model->n_params);
}
