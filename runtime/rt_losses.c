/*
 * rt_losses.c — softmax, the losses and their gradients (categorical and
 * binary cross-entropy, each also fused with its softmax or sigmoid, with
 * label smoothing and sample weights), and the accuracy counts the training
 * loop reads off the probabilities.
 *
 * Conventions (see nnc_runtime.h): arguments are outputs, inputs, weights,
 * sizes; m is the rows present in this batch. Backward kernels OVERWRITE
 * their outputs.
 */
#include "nnc_runtime.h"

#include "rt_threads.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Keras's backend.epsilon(): probabilities are clipped to [eps, 1 - eps]. */
#define RT_PROB_EPS 1e-7f

static void check_label(int label, int c, int row, const char *kernel) {
  if (label >= c)
    rt_die("%s: label %d in row %d is out of range for %d classes", kernel, label, row, c);
}

/* ----- softmax ----- */

/* out (c) = softmax(x (c)); returns the sum of exp(x - max) and sets *max_out,
 * which the fused loss needs for its log-sum-exp. out may equal x. */
static float softmax_row(float *out, const float *x, int c, float *max_out) {
  float max = x[0];
  for (int j = 1; j < c; j++)
    max = x[j] > max ? x[j] : max;
  float sum = 0.0f;
  for (int j = 0; j < c; j++) {
    out[j] = expf(x[j] - max);
    sum += out[j];
  }
  float inv = 1.0f / sum;
  for (int j = 0; j < c; j++)
    out[j] *= inv;
  *max_out = max;
  return sum;
}

void rt_softmax_forward(float *out /* (m, c) */, const float *x /* (m, c) */, int m, int c) {
  float max;
  for (int i = 0; i < m; i++)
    softmax_row(out + (size_t)i * c, x + (size_t)i * c, c, &max);
}

void rt_softmax_backward(float *dx /* (m, c) */, const float *dout /* (m, c) */,
                         const float *out /* (m, c) */, int m, int c) {
  for (int i = 0; i < m; i++) {
    const float *gi = dout + (size_t)i * c;
    const float *yi = out + (size_t)i * c;
    float *di = dx + (size_t)i * c;
    float dot = 0.0f;
    for (int j = 0; j < c; j++)
      dot += gi[j] * yi[j];
    for (int j = 0; j < c; j++)
      di[j] = yi[j] * (gi[j] - dot);
  }
}

/* ----- losses ----- */

/* Categorical cross-entropy with label smoothing eps: the target of class j
 * is eps / c, plus 1 - eps for the label (eps = 0: the one-hot target). */
static inline float smoothed_target(int j, int label, float smoothing, int c) {
  return smoothing / (float)c + (j == label ? 1.0f - smoothing : 0.0f);
}

static inline float clip_prob(float p) {
  return fminf(fmaxf(p, RT_PROB_EPS), 1.0f - RT_PROB_EPS);
}

double rt_crossentropy_forward(const float *probs /* (m, c) */, const uint8_t *labels /* (m) */,
                               const float *sample_weight /* (m) or NULL */, float smoothing,
                               int m, int c) {
  double total = 0.0;
  for (int i = 0; i < m; i++) {
    check_label(labels[i], c, i, "rt_crossentropy_forward");
    const float *pi = probs + (size_t)i * c;
    double loss = 0.0;
    if (smoothing == 0.0f) /* only the label's term */
      loss = -log((double)clip_prob(pi[labels[i]]));
    else
      for (int j = 0; j < c; j++)
        loss -= smoothed_target(j, labels[i], smoothing, c) * log((double)clip_prob(pi[j]));
    double w = sample_weight ? sample_weight[i] : 1.0;
    total += w * loss;
  }
  return total;
}

void rt_crossentropy_backward(float *dprobs /* (m, c) */, const float *probs /* (m, c) */,
                              const uint8_t *labels /* (m) */,
                              const float *sample_weight /* (m) or NULL */, float smoothing,
                              float scale, int m, int c) {
  rt_fill(dprobs, 0.0f, (size_t)m * c);
  for (int i = 0; i < m; i++) {
    check_label(labels[i], c, i, "rt_crossentropy_backward");
    float w = sample_weight ? sample_weight[i] : 1.0f;
    for (int j = 0; j < c; j++) {
      float t = smoothed_target(j, labels[i], smoothing, c);
      float p = probs[(size_t)i * c + j];
      /* Like tf.clip_by_value, the clip passes no gradient where it is active. */
      if (t == 0.0f || !(p >= RT_PROB_EPS && p <= 1.0f - RT_PROB_EPS))
        continue;
      dprobs[(size_t)i * c + j] = -w * scale * t / p;
    }
  }
}

double rt_softmax_xent_forward(float *probs /* (m, c) */, const float *logits /* (m, c) */,
                               const uint8_t *labels /* (m) */,
                               const float *sample_weight /* (m) or NULL */, float smoothing,
                               int m, int c) {
  double total = 0.0;
  for (int i = 0; i < m; i++) {
    check_label(labels[i], c, i, "rt_softmax_xent_forward");
    const float *zi = logits + (size_t)i * c;
    float max;
    float sum = softmax_row(probs + (size_t)i * c, zi, c, &max);
    /* loss = logsumexp(z) - sum_j t_j z_j (the targets sum to 1)
     *      = log(sum exp(z - max)) + max - z_y           when eps = 0 */
    double target_dot_z = zi[labels[i]];
    if (smoothing != 0.0f) {
      double zsum = 0.0;
      for (int j = 0; j < c; j++)
        zsum += zi[j];
      target_dot_z = (1.0 - smoothing) * zi[labels[i]] + smoothing / c * zsum;
    }
    double loss = log((double)sum) + ((double)max - target_dot_z);
    double w = sample_weight ? sample_weight[i] : 1.0;
    total += w * loss;
  }
  return total;
}

void rt_softmax_xent_backward(float *dlogits /* (m, c) */, const float *probs /* (m, c) */,
                              const uint8_t *labels /* (m) */,
                              const float *sample_weight /* (m) or NULL */, float smoothing,
                              float scale, int m, int c) {
  float spread = smoothing / (float)c;
  for (int i = 0; i < m; i++) {
    check_label(labels[i], c, i, "rt_softmax_xent_backward");
    float g = scale * (sample_weight ? sample_weight[i] : 1.0f);
    const float *pi = probs + (size_t)i * c;
    float *di = dlogits + (size_t)i * c;
    for (int j = 0; j < c; j++)
      di[j] = g * (pi[j] - spread);
    di[labels[i]] -= g * (1.0f - smoothing);
  }
}

/* ----- binary cross-entropy (one sigmoid per target) ----- */

static inline float smoothed_binary(float t, float smoothing) {
  return t * (1.0f - smoothing) + 0.5f * smoothing;
}

double rt_binary_xent_forward(const float *probs /* (m, k) */, const float *targets /* (m, k) */,
                              float smoothing, int m, int k) {
  double total = 0.0;
  for (int i = 0; i < m; i++) {
    double row = 0.0;
    for (int j = 0; j < k; j++) {
      size_t at = (size_t)i * k + j;
      double t = smoothed_binary(targets[at], smoothing), p = clip_prob(probs[at]);
      row -= t * log(p) + (1.0 - t) * log(1.0 - p);
    }
    total += row / k;
  }
  return total;
}

void rt_binary_xent_backward(float *dprobs /* (m, k) */, const float *probs /* (m, k) */,
                             const float *targets /* (m, k) */, float smoothing, float scale,
                             int m, int k) {
  float g = scale / (float)k;
  for (size_t at = 0; at < (size_t)m * k; at++) {
    float t = smoothed_binary(targets[at], smoothing), p = probs[at];
    if (!(p >= RT_PROB_EPS && p <= 1.0f - RT_PROB_EPS)) { /* the clip passes no gradient */
      dprobs[at] = 0.0f;
      continue;
    }
    dprobs[at] = g * ((1.0f - t) / (1.0f - p) - t / p);
  }
}

double rt_sigmoid_xent_forward(float *probs /* (m, k) */, const float *logits /* (m, k) */,
                               const float *targets /* (m, k) */, float smoothing, int m, int k) {
  double total = 0.0;
  for (int i = 0; i < m; i++) {
    double row = 0.0;
    for (int j = 0; j < k; j++) {
      size_t at = (size_t)i * k + j;
      double z = logits[at], t = smoothed_binary(targets[at], smoothing);
      probs[at] = 1.0f / (1.0f + expf(-logits[at]));
      row += fmax(z, 0.0) - z * t + log1p(exp(-fabs(z)));
    }
    total += row / k;
  }
  return total;
}

void rt_sigmoid_xent_backward(float *dlogits /* (m, k) */, const float *probs /* (m, k) */,
                              const float *targets /* (m, k) */, float smoothing, float scale,
                              int m, int k) {
  float g = scale / (float)k;
  for (size_t at = 0; at < (size_t)m * k; at++)
    dlogits[at] = g * (probs[at] - smoothed_binary(targets[at], smoothing));
}

long rt_count_binary_correct(const float *probs /* (m, k) */, const float *targets /* (m, k) */,
                             int m, int k) {
  long correct = 0;
  for (size_t at = 0; at < (size_t)m * k; at++)
    correct += (probs[at] > 0.5f) == (targets[at] > 0.5f);
  return correct;
}

/* ----- accuracy ----- */

int rt_argmax(const float *row /* (c) */, int c) {
  int best = 0;
  for (int j = 1; j < c; j++)
    if (row[j] > row[best]) /* strict: the first maximum wins */
      best = j;
  return best;
}

int rt_count_correct(const float *scores /* (m, c) */, const uint8_t *labels /* (m) */, int m,
                     int c) {
  int correct = 0;
  for (int i = 0; i < m; i++)
    correct += rt_argmax(scores + (size_t)i * c, c) == labels[i];
  return correct;
}

double rt_weighted_correct(const float *scores /* (m, c) */, const uint8_t *labels /* (m) */,
                           const float *sample_weight /* (m) or NULL */, int m, int c) {
  double correct = 0;
  for (int i = 0; i < m; i++)
    if (rt_argmax(scores + (size_t)i * c, c) == labels[i])
      correct += sample_weight ? sample_weight[i] : 1.0;
  return correct;
}

int rt_count_top_k(const float *scores /* (m, c) */, const uint8_t *labels /* (m) */, int m,
                   int c, int k) {
  int hits = 0;
  for (int i = 0; i < m; i++) {
    const float *row = scores + (size_t)i * c;
    float mine = row[labels[i]];
    int above = 0;
    for (int j = 0; j < c; j++)
      above += row[j] > mine;
    hits += above < k;
  }
  return hits;
}
