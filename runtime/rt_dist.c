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
 * gradients are averaged (allreduces of buckets, overlapped with backward:
 * below) before the identical optimizer step on every rank. Weighting each
 * rank's mean gradient by part / m makes the average the gradient of the
 * mean loss over the m examples of the global batch, also for the last,
 * short batch of an epoch.
 *
 * Random streams under mpirun: the shuffle is the same on every rank (one
 * seed); rank 0's dropout stream is the single-process one, continued from
 * epoch to epoch and saved in last.ckpt; every other rank's is drawn again
 * at the start of each epoch from (seed, epoch, rank, N). So a run resumed
 * from last.ckpt with any N continues deterministically, and with the same
 * N exactly as the uninterrupted run.
 */
#include "nnc_runtime.h"

#include <stdlib.h>
#include <string.h>

/* batch_norm(synchronized=true)'s kernels reach the ranks through these:
 * the run's hooks (set by rt_dist_start) and this rank's share of the step */
static const RtDistributed *sync_dist;
static double sync_weight = 1.0;

void rt_dist_sync_sum(double *x, size_t n) {
  if (sync_dist)
    sync_dist->sum_doubles(x, n);
}

double rt_dist_sync_weight(void) { return sync_weight; }

void rt_dist_start(RtRun *run) {
  const RtDistributed *d = run->dist;
  sync_dist = d;
  if (!d)
    return;
  if (run->model->batch % d->size)
    rt_die("the batch size %d does not divide among the %d processes of mpirun (each trains "
           "on batch / N examples of every batch): use a batch size that is a multiple of %d, "
           "or another -np", run->model->batch, d->size, d->size);
  if (d->rank > 0)
    run->opt.quiet = 1; /* rank 0 alone speaks */
}

/* splitmix64's finalizer: one word from another, every bit mixed */
static uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void rt_dist_epoch_streams(const RtRun *run, int epoch) {
  const RtDistributed *d = run->dist;
  if (!d || d->rank == 0) /* rank 0 continues the single-process streams */
    return;
  uint64_t key = mix(mix(mix(run->opt.seed + 2 + mix((uint64_t)epoch)) ^ (uint64_t)d->rank) ^
                     (uint64_t)d->size);
  rt_rng_seed(run->model->dropout_rng, key);
  if (run->model->augment_rng)
    rt_rng_seed(run->model->augment_rng, mix(key ^ 3));
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
  if (part > 0 || model->sync_batch_norm) /* synchronized: its kernels are collectives */
    model->forward(part, 1);
  else /* a short last batch left this rank nothing (no batch statistics of 0 rows) */
    *model->loss_sum = 0;
  rt_dist_sum(run, model->loss_sum, 1);
}

/* ---- the gradient allreduce in buckets ----
 *
 * The gradient block is cut, from its end down (backward finishes the last
 * layers' tensors first), into ranges of whole layers' trainable tensors
 * of at most --bucket-kb (a larger layer alone); gaps (non-trainable entries, 0) go with the bucket
 * whose range they fall in. A bucket is weighted by part / m and its nonblocking
 * allreduce started once backward has reported all its tensors
 * (rt_grads_ready), and only after every bucket before it: so every rank
 * starts the same collectives in the same order, also a rank that had no
 * rows and ran no backward. With --no-overlap the same buckets start after
 * backward, so both ways sum every element in the same operation. */

typedef struct {
  size_t lo, hi; /* [lo, hi) of the gradient block */
  int tensors, pending;
} Bucket;

static struct {
  const RtRun *run; /* the run whose step is in progress */
  Bucket *b;
  int n, next; /* next: the first bucket not started this step */
  float *grads, w;
  int part, overlap, in_step;
  long steps;
  double waited; /* seconds after backward until every sum was done */
} buckets;

typedef struct {
  size_t off;       /* in the gradient block */
  const char *name; /* "LAYER.WEIGHT" */
} Tensor;

static int by_offset_down(const void *a, const void *b) {
  size_t x = ((const Tensor *)a)->off, y = ((const Tensor *)b)->off;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* Do two tensors belong to one layer ("dense.kernel", "dense.bias")? */
static int same_layer(const char *a, const char *b) {
  const char *da = strrchr(a, '.'), *db = strrchr(b, '.');
  return da && db && da - a == db - b && !strncmp(a, b, (size_t)(da - a));
}

/* Buckets of whole layers: a layer's tensors are done together (its
 * backward function), so a bucket that split one would wait for it. */
static void plan_buckets(const RtRun *run) {
  const RtModel *model = run->model;
  size_t kb = (size_t)(run->opt.bucket_kb > 0 ? run->opt.bucket_kb : 1024);
  size_t limit = kb * 1024 / sizeof(float);
  int nt = model->n_trainable;
  Tensor *t = rt_malloc(sizeof *t * (size_t)(nt + 1));
  for (int i = 0; i < nt; i++)
    t[i] = (Tensor){(size_t)(model->trainable[i].data - model->params), model->trainable[i].name};
  qsort(t, (size_t)nt, sizeof *t, by_offset_down);
  buckets.b = rt_malloc(sizeof(Bucket) * (size_t)(nt + 1));
  buckets.n = 0;
  Bucket cur = {.hi = model->n_params, .lo = model->n_params};
  for (int i = 0, end; i < nt; i = end) {
    for (end = i + 1; end < nt && same_layer(t[end].name, t[i].name); end++) {
    }
    size_t lo = t[end - 1].off; /* the layer's tensors i..end-1 reach down to lo */
    if (cur.tensors && cur.hi - lo > limit) { /* full: this layer starts the next one */
      buckets.b[buckets.n++] = cur;
      cur = (Bucket){.hi = cur.lo};
    }
    cur.tensors += end - i;
    cur.lo = lo;
  }
  if (cur.tensors) { /* the last bucket reaches down to the block's start */
    cur.lo = 0;
    buckets.b[buckets.n++] = cur;
  }
  if (!buckets.n) /* no trainable tensor: one bucket of the block */
    buckets.b[buckets.n++] = (Bucket){0, model->n_params, 0, 0};
  free(t);
  buckets.grads = model->grads;
  buckets.overlap = !run->opt.no_overlap;
}

/* Weights bucket k by part / m (0 without rows) and starts its sum. */
static void start_bucket(const RtRun *run, int k) {
  const Bucket *b = &buckets.b[k];
  float *g = buckets.grads;
  for (size_t i = b->lo; i < b->hi; i++)
    g[i] = buckets.part > 0 ? g[i] * buckets.w : 0.0f;
  run->dist->start_sum_floats(g + b->lo, b->hi - b->lo);
}

/* Starts the buckets, in order, whose tensors are all done. */
static void start_ready_buckets(void) {
  while (buckets.next < buckets.n && buckets.b[buckets.next].pending == 0)
    start_bucket(buckets.run, buckets.next++);
}

void rt_grads_ready(const float *grad, size_t count) {
  (void)count;
  if (!buckets.in_step || !buckets.overlap) /* one process, --no-overlap, gradcheck */
    return;
  size_t at = (size_t)(grad - buckets.grads);
  for (int k = 0; k < buckets.n; k++)
    if (at >= buckets.b[k].lo && at < buckets.b[k].hi) {
      buckets.b[k].pending--;
      break;
    }
  start_ready_buckets();
  buckets.run->dist->poll_sums();
}

void rt_dist_backward(const RtRun *run, int part, int m) {
  const RtModel *model = run->model;
  sync_weight = run->dist ? (double)part / m : 1.0;
  if (!run->dist) {
    model->backward(part);
    return;
  }
  if (!buckets.b)
    plan_buckets(run);
  /* grad = sum over ranks of (part_r / m) * mean gradient of rank r's part;
   * the block's non-trainable entries stay 0 */
  for (int k = 0; k < buckets.n; k++)
    buckets.b[k].pending = buckets.b[k].tensors;
  buckets.next = 0, buckets.w = (float)part / (float)m, buckets.part = part;
  buckets.run = run, buckets.in_step = 1;
  if (part > 0 || model->sync_batch_norm)
    model->backward(part);
  double t0 = rt_now();
  for (; buckets.next < buckets.n; buckets.next++) /* the rest, in order */
    start_bucket(run, buckets.next);
  run->dist->wait_sums();
  buckets.waited += rt_now() - t0;
  buckets.steps++, buckets.in_step = 0;
}

void rt_dist_finish(const RtRun *run) {
  if (run->dist && buckets.steps && !run->opt.quiet)
    printf("allreduce: %zu bytes of gradients per step in %d bucket%s (%s backward); "
           "%.2f ms per step waited after backward (%ld steps)\n",
           sizeof(float) * run->model->n_params, buckets.n, buckets.n == 1 ? "" : "s",
           buckets.overlap ? "overlapped with" : "after", 1e3 * buckets.waited / buckets.steps,
           buckets.steps);
  free(buckets.b);
  memset(&buckets, 0, sizeof buckets);
}

void rt_dist_sum(const RtRun *run, double *x, size_t n) {
  if (run->dist)
    run->dist->sum_doubles(x, n);
}

void rt_dist_sum_floats(const RtRun *run, float *x, size_t n) {
  if (run->dist)
    run->dist->sum_floats(x, n);
}

void rt_dist_sum_counts(const RtRun *run, long *x, size_t n) {
  if (!run->dist)
    return;
  double *d = rt_malloc(sizeof *d * (n ? n : 1)); /* counts below 2^53 are exact doubles */
  for (size_t i = 0; i < n; i++)
    d[i] = (double)x[i];
  run->dist->sum_doubles(d, n);
  for (size_t i = 0; i < n; i++)
    x[i] = (long)d[i];
  free(d);
}

void rt_dist_broadcast(const RtRun *run, void *x, size_t bytes) {
  if (run->dist)
    run->dist->broadcast(x, bytes);
}

void rt_dist_sync_params(const RtRun *run) {
  rt_dist_broadcast(run, run->model->params, sizeof(float) * run->model->n_params);
}

void rt_dist_share_resume(const RtRun *run, RtResumeState *st) {
  if (!run->dist)
    return;
  int *order = st->order; /* the buffers are this rank's own */
  float *best_params = st->best_params;
  rt_dist_broadcast(run, st, sizeof *st);
  st->order = order, st->best_params = best_params;
  rt_dist_broadcast(run, order, sizeof(int) * (size_t)st->n_order);
  if (best_params)
    rt_dist_broadcast(run, best_params, sizeof(float) * run->model->n_params);
  const RtModel *model = run->model; /* parameters, statistics, optimizer slots */
  for (int t = 0; t < model->n_checkpoint; t++)
    rt_dist_broadcast(run, model->checkpoint[t].data, sizeof(float) * model->checkpoint[t].count);
}
