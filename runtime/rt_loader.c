/*
 * rt_loader.c — a background loader: worker threads decode and resize the
 * image files of an epoch into a ring of batch slots ahead of the training
 * step, so a data set need not fit in memory.
 *
 * Batch b of the epoch lives in slot b % depth. A worker claims the next
 * unclaimed batch b once its slot is free (b < released + depth, where
 * released counts the batches the caller has finished with), fills it
 * without the lock, then marks it ready. The caller takes batch b only when
 * slot b % depth is marked ready for b. So the order of batches and their
 * contents never depend on the threads' timing, and memory is the ring:
 * depth x batch x item bytes, whatever the number of files.
 *
 * A decoding error is kept in the batch's slot and reported by
 * rt_loader_next in the caller's thread (rt_die naming the file), so a
 * worker never exits the program under the caller's feet.
 *
 * Training uses it for streamed image folders (rt_prepare.c's
 * rt_stream_start / rt_stream_next, one loader per epoch in rt_fit.c).
 */
#include "nnc_runtime.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int batch; /* the batch held, -1 while none is ready */
  int rows;
  char err[1024]; /* empty, or the first bad file's message */
} LoaderSlot;

struct RtLoader {
  RtFileList files; /* a copy of the caller's header: paths and labels are borrowed */
  int *order; /* (n) indices into files, the epoch's order */
  int n, batch, n_batches;
  int h, w, channels;
  size_t item;
  int depth;
  uint8_t *x; /* (depth, batch, item) */
  uint8_t *y; /* (depth, batch) */
  LoaderSlot *slots;
  /* under mu: */
  int next_claim; /* the next batch a worker will fill */
  int released;   /* batches the caller is done with: their slots are free */
  int taken;      /* batches handed to the caller */
  int stopping;
  pthread_mutex_t mu;
  pthread_cond_t slot_freed, batch_ready;
  int n_threads;
  pthread_t *threads;
};

/* Decode batch b into its slot (no lock held: the slot is this worker's). */
static void fill_batch(RtLoader *l, int b) {
  LoaderSlot *slot = &l->slots[b % l->depth];
  uint8_t *x = l->x + (size_t)(b % l->depth) * l->batch * l->item;
  uint8_t *y = l->y + (size_t)(b % l->depth) * l->batch;
  int start = b * l->batch;
  int rows = l->n - start < l->batch ? l->n - start : l->batch;
  slot->err[0] = '\0';
  for (int i = 0; i < rows; i++) {
    int f = l->order[start + i];
    if (rt_image_try_load(l->files.paths[f], l->channels, l->h, l->w, x + l->item * i,
                          slot->err, sizeof slot->err) != 0)
      break;
    y[i] = l->files.labels[f];
  }
  slot->rows = rows;
}

static void *worker(void *arg) {
  RtLoader *l = arg;
  pthread_mutex_lock(&l->mu);
  for (;;) {
    while (!l->stopping && l->next_claim < l->n_batches &&
           l->next_claim >= l->released + l->depth)
      pthread_cond_wait(&l->slot_freed, &l->mu);
    if (l->stopping || l->next_claim >= l->n_batches)
      break;
    int b = l->next_claim++;
    pthread_mutex_unlock(&l->mu);
    fill_batch(l, b);
    pthread_mutex_lock(&l->mu);
    l->slots[b % l->depth].batch = b;
    pthread_cond_broadcast(&l->batch_ready);
  }
  pthread_mutex_unlock(&l->mu);
  return NULL;
}

RtLoader *rt_loader_start(const RtFileList *files, const int *order, int n, int batch, int h,
                          int w, int channels, int depth, int threads) {
  if (n < 0 || batch < 1 || depth < 1 || threads < 1 || h < 1 || w < 1 ||
      (channels != 1 && channels != 3))
    rt_die("rt_loader_start: bad arguments (n %d, batch %d, %dx%dx%d, depth %d, threads %d)", n,
           batch, h, w, channels, depth, threads);
  RtLoader *l = rt_calloc(1, sizeof *l);
  l->files = *files;
  l->n = n, l->batch = batch, l->n_batches = (n + batch - 1) / batch;
  l->h = h, l->w = w, l->channels = channels;
  l->item = (size_t)h * w * channels;
  l->depth = depth;
  l->order = rt_malloc(sizeof(int) * (size_t)(n ? n : 1));
  for (int i = 0; i < n; i++) {
    l->order[i] = order ? order[i] : i;
    if (l->order[i] < 0 || l->order[i] >= files->count)
      rt_die("rt_loader_start: order[%d] = %d is not one of the %d files", i, l->order[i],
             files->count);
  }
  l->x = rt_malloc((size_t)depth * batch * l->item);
  l->y = rt_malloc((size_t)depth * batch);
  l->slots = rt_calloc((size_t)depth, sizeof(LoaderSlot));
  for (int s = 0; s < depth; s++)
    l->slots[s].batch = -1;
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->slot_freed, NULL);
  pthread_cond_init(&l->batch_ready, NULL);
  l->threads = rt_malloc(sizeof(pthread_t) * (size_t)threads);
  for (int t = 0; t < threads; t++) {
    if (pthread_create(&l->threads[t], NULL, worker, l) != 0)
      rt_die("rt_loader_start: cannot start loader thread %d of %d", t + 1, threads);
    l->n_threads++;
  }
  return l;
}

int rt_loader_next(RtLoader *l, const uint8_t **x, const uint8_t **y) {
  pthread_mutex_lock(&l->mu);
  if (l->taken > l->released) { /* the caller is done with the previous batch */
    l->slots[(l->taken - 1) % l->depth].batch = -1;
    l->released = l->taken;
    pthread_cond_broadcast(&l->slot_freed);
  }
  if (l->taken >= l->n_batches) {
    pthread_mutex_unlock(&l->mu);
    return 0;
  }
  int b = l->taken, s = b % l->depth;
  while (l->slots[s].batch != b)
    pthread_cond_wait(&l->batch_ready, &l->mu);
  l->taken++;
  pthread_mutex_unlock(&l->mu);
  if (l->slots[s].err[0])
    rt_die("%s", l->slots[s].err);
  *x = l->x + (size_t)s * l->batch * l->item;
  *y = l->y + (size_t)s * l->batch;
  return l->slots[s].rows;
}

void rt_loader_stop(RtLoader *l) {
  if (!l)
    return;
  pthread_mutex_lock(&l->mu);
  l->stopping = 1;
  pthread_cond_broadcast(&l->slot_freed);
  pthread_mutex_unlock(&l->mu);
  for (int t = 0; t < l->n_threads; t++)
    pthread_join(l->threads[t], NULL);
  pthread_mutex_destroy(&l->mu);
  pthread_cond_destroy(&l->slot_freed);
  pthread_cond_destroy(&l->batch_ready);
  free(l->threads);
  free(l->order);
  free(l->x);
  free(l->y);
  free(l->slots);
  free(l);
}
