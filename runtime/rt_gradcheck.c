/*
 * rt_gradcheck.c — --gradcheck: the whole backward pass of the generated
 * model against central differences of its forward pass.
 *
 * On the first (up to) 16 training examples (at most one batch), the analytic gradient of the
 * mean batch loss is compared at 12 random entries of every trainable
 * tensor with (loss(p + h) - loss(p - h)) / 2h. Dropout draws the same mask
 * for every evaluation (its stream is reseeded before each forward pass).
 * Two step sizes are tried: float rounding spoils the small one, a relu
 * kink inside [p - h, p + h] the large one; a wrong gradient disagrees with
 * both. An entry fails when the better relative error exceeds 2e-2.
 */
#include "nnc_runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GRADCHECK_EXAMPLES 16
#define GRADCHECK_ENTRIES 12 /* per tensor */

static double batch_loss(const RtModel *model, int m) {
  rt_rng_seed(model->dropout_rng, 12345); /* the same dropout mask every time */
  if (model->augment_rng) /* and the same augmented images */
    rt_rng_seed(model->augment_rng, 54321);
  model->forward(m, 1);
  return *model->loss_sum / m;
}

/* (loss(p + h) - loss(p - h)) / 2h, p restored */
static double central_difference(const RtModel *model, float *p, float h, int m) {
  float saved = *p;
  *p = saved + h;
  double up = batch_loss(model, m);
  *p = saved - h;
  double down = batch_loss(model, m);
  *p = saved;
  return (up - down) / (2.0 * (double)h);
}

static double relative_error(double a, double b) {
  return fabs(a - b) / fmax(1e-2, fabs(a) + fabs(b));
}

int rt_gradcheck(const RtRun *run, const RtDataset *train) {
  const RtModel *model = run->model;
  int m = train->count < GRADCHECK_EXAMPLES ? train->count : GRADCHECK_EXAMPLES;
  m = m < model->batch ? m : model->batch; /* the batch block holds no more */
  int idx[GRADCHECK_EXAMPLES];
  for (int i = 0; i < m; i++)
    idx[i] = i;
  rt_load_batch(run, train, idx, m);
  batch_loss(model, m);
  model->backward(m);
  float *analytic = rt_malloc(sizeof(float) * (model->n_params ? model->n_params : 1));
  memcpy(analytic, model->grads, sizeof(float) * model->n_params);
  RtRng pick;
  rt_rng_seed(&pick, 7);
  int failures = 0, checked = 0;
  double worst = 0;
  for (int t = 0; t < model->n_trainable; t++) {
    const RtTensorRef *tensor = &model->trainable[t];
    for (int k = 0; k < GRADCHECK_ENTRIES; k++) {
      size_t j = rt_rng_below(&pick, (uint32_t)tensor->count);
      float *p = tensor->data + j;
      double a = analytic[(size_t)(p - model->params)];
      double n1 = central_difference(model, p, 1e-2f, m), n2 = central_difference(model, p, 1e-3f, m);
      double e1 = relative_error(a, n1), e2 = relative_error(a, n2);
      double numeric = e1 < e2 ? n1 : n2, err = e1 < e2 ? e1 : e2;
      worst = fmax(worst, err);
      checked++;
      if (err > 2e-2) {
        failures++;
        printf("gradcheck: %s[%zu]: analytic %.6g, numeric %.6g (relative error %.3g)\n",
               tensor->name, j, a, numeric, err);
      }
    }
  }
  free(analytic);
  printf("gradcheck: %d of %d gradient entries agree with central differences (worst relative "
         "error %.3g)\n", checked - failures, checked, worst);
  if (checked < 10)
    failures++;
  return failures == 0 ? 0 : 1;
}
