/*
 * rt_optim.c — optimizer updates applied once per batch, after the backward
 * pass has written every gradient.
 *
 * Adam follows Keras 3 (keras/src/optimizers/adam.py), not PyTorch: epsilon
 * is added to sqrt(v) AFTER the bias correction has been folded into the
 * step size alpha, so the update is alpha m / (sqrt(v) + eps) rather than
 * lr m_hat / (sqrt(v_hat) + eps). The two differ only through epsilon.
 *
 * RMSprop keeps one velocity per parameter (no momentum, not centered) and
 * has no bias correction.
 */
#include "nnc_runtime.h"
#include "rt_threads.h"

#include <math.h>

void rt_adam_update(float *param /* (count) */, const float *grad /* (count) */,
                    float *m /* (count) */, float *v /* (count) */, size_t count, float lr,
                    float beta1, float beta2, float eps, long t) {
  if (t < 1)
    rt_die("rt_adam_update: step t must be >= 1 (got %ld)", t);
  /* Bias correction in double: beta^t for t in the millions must not drift. */
  double correction1 = 1.0 - pow((double)beta1, (double)t);
  double correction2 = 1.0 - pow((double)beta2, (double)t);
  float alpha = (float)((double)lr * sqrt(correction2) / correction1);
  float one_minus_beta1 = 1.0f - beta1;
  float one_minus_beta2 = 1.0f - beta2;
  RT_PARALLEL_SLICES(count, 4.0 * count, i0, i1, {
    for (long i = i0; i < i1; i++) {
      float g = grad[i];
      m[i] += (g - m[i]) * one_minus_beta1;
      v[i] += (g * g - v[i]) * one_minus_beta2;
      param[i] -= alpha * m[i] / (sqrtf(v[i]) + eps);
    }
  });
}

void rt_rmsprop_update(float *param /* (count) */, const float *grad /* (count) */,
                       float *v /* (count) */, size_t count, float lr, float rho, float eps) {
  float one_minus_rho = 1.0f - rho;
  for (size_t i = 0; i < count; i++) {
    float g = grad[i];
    v[i] = rho * v[i] + one_minus_rho * g * g;
    param[i] -= lr * g / sqrtf(v[i] + eps); /* Keras 3: epsilon inside the root */
  }
}

void rt_sgd_update(float *param /* (count) */, const float *grad /* (count) */,
                   float *velocity /* (count) */, size_t count, float lr, float momentum,
                   int nesterov) {
  if (momentum == 0.0f) {
    for (size_t i = 0; i < count; i++)
      param[i] -= lr * grad[i];
    return;
  }
  for (size_t i = 0; i < count; i++) {
    velocity[i] = momentum * velocity[i] - lr * grad[i];
    param[i] += nesterov ? momentum * velocity[i] - lr * grad[i] : velocity[i];
  }
}

void rt_adamw_update(float *param /* (count) */, const float *grad /* (count) */,
                     float *m /* (count) */, float *v /* (count) */, size_t count, float lr,
                     float beta1, float beta2, float eps, float weight_decay, long t) {
  /* Keras applies the decay to the variable before the optimizer's step */
  float keep = 1.0f - lr * weight_decay;
  for (size_t i = 0; i < count; i++)
    param[i] *= keep;
  rt_adam_update(param, grad, m, v, count, lr, beta1, beta2, eps, t);
}

double rt_exponential_decay(double initial, long step, long decay_steps, double rate,
                            int staircase) {
  double p = (double)step / (double)decay_steps;
  return initial * pow(rate, staircase ? floor(p) : p);
}

double rt_piecewise_constant(long step, const long *boundaries, const double *values,
                             int n_boundaries) {
  int i = 0;
  while (i < n_boundaries && step > boundaries[i])
    i++;
  return values[i];
}

double rt_cosine_decay(double initial, long step, long decay_steps, double alpha,
                       double warmup_target, long warmup_steps) {
  if (warmup_steps > 0 && step < warmup_steps) /* linear warmup from initial to the target */
    return initial + (warmup_target - initial) * (double)step / (double)warmup_steps;
  double peak = warmup_steps > 0 ? warmup_target : initial;
  long s = step - warmup_steps;
  double progress = (double)(s < decay_steps ? s : decay_steps) / (double)decay_steps;
  double cosine = 0.5 * (1.0 + cos(3.14159265358979323846 * progress));
  return peak * ((1.0 - alpha) * cosine + alpha);
}

void rt_clip_by_global_norm(float *const *grads, const size_t *counts, int n_tensors,
                            float max_norm) {
  double sq = 0;
  for (int t = 0; t < n_tensors; t++)
    for (size_t i = 0; i < counts[t]; i++)
      sq += (double)grads[t][i] * grads[t][i];
  double norm = sqrt(sq);
  if (norm <= max_norm)
    return;
  float scale = (float)(max_norm / norm);
  for (int t = 0; t < n_tensors; t++)
    for (size_t i = 0; i < counts[t]; i++)
      grads[t][i] *= scale;
}

void rt_clip_by_norm(float *grad /* (count) */, size_t count, float max_norm) {
  double sq = 0;
  for (size_t i = 0; i < count; i++)
    sq += (double)grad[i] * grad[i];
  double norm = sqrt(sq);
  if (norm <= max_norm)
    return;
  float scale = (float)(max_norm / norm);
  for (size_t i = 0; i < count; i++)
    grad[i] *= scale;
}

double rt_l2_penalty(const float *w /* (count) */, size_t count, float lambda) {
  double sq = 0;
  for (size_t i = 0; i < count; i++)
    sq += (double)w[i] * w[i];
  return lambda * sq;
}

void rt_l2_backward(float *grad /* (count) */, const float *w /* (count) */, size_t count,
                    float lambda) {
  float k = 2.0f * lambda;
  for (size_t i = 0; i < count; i++)
    grad[i] += k * w[i];
}
