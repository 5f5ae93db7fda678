/*
 * rt_elementwise.c — the elementwise kernels of a training step, as
 * forward/backward pairs (llm.c style): initialization, input
 * normalization, the dense layers' fused bias + activation epilogue,
 * activations, dropout and add. (GEMMs: rt_gemm.c; losses: rt_losses.c.)
 *
 * Conventions (see nnc_runtime.h): arguments are outputs, inputs, weights,
 * sizes; matrices are row-major; m is the rows present in this batch.
 * Backward kernels OVERWRITE their outputs (they never accumulate; the
 * compiler emits an accumulate, rt_add_forward, where a value fans out).
 *
 * Elementwise kernels are plain loops that gcc vectorizes at -O3
 * -march=native; where a kernel depends on the activation, the switch sits
 * outside the loop so that each loop body is branch-free.
 *
 * Activation derivatives are written in terms of the forward OUTPUT
 * (relu' = out > 0, sigmoid' = out (1 - out), tanh' = 1 - out^2, leaky
 * relu' = out > 0 ? 1 : alpha (alpha > 0, so out and x share a sign), elu' =
 * out > 0 ? 1 : out + alpha (alpha e^x = out + alpha), relu6' = 0 < out < 6),
 * so the pre-activation never has to be kept. `alpha` is read only by leaky
 * relu and elu.
 */
#include "nnc_runtime.h"

#include "rt_threads.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Keras Normalization: the standard deviation is floored at 1e-7. */
#define RT_NORM_STD_FLOOR 1e-7f

static inline float relu(float v) {
  return v < 0.0f ? 0.0f : v; /* NaN propagates, as in Keras */
}

static inline float sigmoid(float v) {
  return 1.0f / (1.0f + expf(-v)); /* expf overflow gives 1/inf = 0: no NaN */
}

static inline float leaky_relu(float v, float alpha) {
  return v > 0.0f ? v : alpha * v;
}

/* expm1f keeps the small negative outputs accurate (e^x - 1 cancels near 0). */
static inline float elu(float v, float alpha) {
  return v > 0.0f ? v : alpha * expm1f(v);
}

static inline float relu6(float v) {
  return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v); /* NaN propagates */
}

static void die_bad_act(const char *kernel, RtAct act) {
  rt_die("%s: unknown activation kind %d (a compiler bug)", kernel, (int)act);
}

/* ----- initialization ----- */

void rt_init_glorot_uniform(float *w /* (count) */, size_t count, int fan_in, int fan_out,
                            RtRng *rng) {
  if (fan_in + fan_out <= 0)
    rt_die("rt_init_glorot_uniform: fan_in + fan_out must be positive (got %d + %d)", fan_in,
           fan_out);
  float limit = sqrtf(6.0f / (float)(fan_in + fan_out));
  for (size_t i = 0; i < count; i++)
    w[i] = (2.0f * rt_rng_uniform(rng) - 1.0f) * limit;
}

void rt_fill(float *p /* (count) */, float value, size_t count) {
  for (size_t i = 0; i < count; i++)
    p[i] = value;
}

/* ----- input conversion ----- */

/* (x - mean) / max(sqrt(var), 1e-7) of m rows of features, x of any number
 * type (uint8 pixels, float features). Divides (rather than multiplying by
 * a reciprocal) to match Keras bit for bit. */
#define RT_NORMALIZE_BODY(T)                                                                     \
  do {                                                                                         \
    if (!per_feature) {                                                                        \
      float mu = mean[0], sd = fmaxf(sqrtf(var[0]), RT_NORM_STD_FLOOR);                         \
      size_t count = (size_t)m * features;                                                     \
      for (size_t i = 0; i < count; i++)                                                       \
        out[i] = ((float)x[i] - mu) / sd;                                                      \
      return;                                                                                  \
    }                                                                                          \
    for (int i = 0; i < m; i++) {                                                              \
      const T *xi = x + (size_t)i * features;                                                  \
      float *oi = out + (size_t)i * features;                                                  \
      for (int j = 0; j < features; j++)                                                       \
        oi[j] = ((float)xi[j] - mean[j]) / fmaxf(sqrtf(var[j]), RT_NORM_STD_FLOOR);            \
    }                                                                                          \
  } while (0)

void rt_normalize_u8_forward(float *out /* (m, features) */,
                             const uint8_t *x /* (m, features) */,
                             const float *mean /* (1) or (features) */,
                             const float *var /* (1) or (features) */, int m, int features,
                             int per_feature) {
  RT_NORMALIZE_BODY(uint8_t);
}

void rt_normalize_forward(float *out /* (m, features) */, const float *x /* (m, features) */,
                          const float *mean /* (1) or (features) */,
                          const float *var /* (1) or (features) */, int m, int features,
                          int per_feature) {
  RT_NORMALIZE_BODY(float);
}

void rt_cast_u8_forward(float *out /* (count) */, const uint8_t *x /* (count) */,
                        size_t count) {
  for (size_t i = 0; i < count; i++)
    out[i] = (float)x[i];
}

/* ----- dense: bias and activation epilogue ----- */

/* Applies act to every element of row (n) after adding bias (n); one loop
 * per activation so that each body stays branch-free. */
#define RT_BIAS_ACT_ROWS(EXPR)                                                                   \
  for (int i = 0; i < m; i++) {                                                                  \
    float *row = out + (size_t)i * n;                                                            \
    for (int j = 0; j < n; j++) {                                                                \
      float v = row[j] + bias[j];                                                                \
      row[j] = (EXPR);                                                                           \
    }                                                                                            \
  }

void rt_bias_act_rows(float *out /* (m, n), in place */, const float *bias /* (n) */, int m,
                      int n, RtAct act, float alpha) {
  switch (act) {
  case RT_ACT_NONE:
    RT_BIAS_ACT_ROWS(v);
    return;
  case RT_ACT_RELU:
    RT_BIAS_ACT_ROWS(relu(v));
    return;
  case RT_ACT_SIGMOID:
    RT_BIAS_ACT_ROWS(sigmoid(v));
    return;
  case RT_ACT_TANH:
    RT_BIAS_ACT_ROWS(tanhf(v));
    return;
  case RT_ACT_LEAKY_RELU:
    RT_BIAS_ACT_ROWS(leaky_relu(v, alpha));
    return;
  case RT_ACT_ELU:
    RT_BIAS_ACT_ROWS(elu(v, alpha));
    return;
  case RT_ACT_RELU6:
    RT_BIAS_ACT_ROWS(relu6(v));
    return;
  }
  die_bad_act("rt_bias_act_forward", act);
}
#undef RT_BIAS_ACT_ROWS

/* Columns [j0, j1) of db, summed over every row. */
static void bias_backward_columns(float *db, const float *dout, int m, int n, int j0, int j1) {
  for (int j = j0; j < j1; j++)
    db[j] = 0.0f;
  for (int i = 0; i < m; i++) {
    const float *row = dout + (size_t)i * n;
    for (int j = j0; j < j1; j++)
      db[j] += row[j];
  }
}

void rt_bias_backward(float *db /* (n) */, const float *dout /* (m, n) */, int m, int n) {
  RT_PARALLEL_SLICES(n, (double)m * n, j0, j1,
                     bias_backward_columns(db, dout, m, n, (int)j0, (int)j1));
}

/* ----- activations ----- */

static void act_forward_span(float *out /* (count) */, const float *x /* (count) */, size_t count,
                    RtAct act, float alpha) {
  switch (act) {
  case RT_ACT_NONE:
    if (out != x)
      memmove(out, x, count * sizeof(float));
    return;
  case RT_ACT_RELU:
    for (size_t i = 0; i < count; i++)
      out[i] = relu(x[i]);
    return;
  case RT_ACT_SIGMOID:
    for (size_t i = 0; i < count; i++)
      out[i] = sigmoid(x[i]);
    return;
  case RT_ACT_TANH:
    for (size_t i = 0; i < count; i++)
      out[i] = tanhf(x[i]);
    return;
  case RT_ACT_LEAKY_RELU:
    for (size_t i = 0; i < count; i++)
      out[i] = leaky_relu(x[i], alpha);
    return;
  case RT_ACT_ELU:
    for (size_t i = 0; i < count; i++)
      out[i] = elu(x[i], alpha);
    return;
  case RT_ACT_RELU6:
    for (size_t i = 0; i < count; i++)
      out[i] = relu6(x[i]);
    return;
  }
  die_bad_act("rt_act_forward", act);
}

static void act_backward_span(float *dx /* (count) */, const float *dout /* (count) */,
                     const float *out /* (count): forward output */, size_t count, RtAct act,
                     float alpha) {
  switch (act) {
  case RT_ACT_NONE:
    if (dx != dout)
      memmove(dx, dout, count * sizeof(float));
    return;
  case RT_ACT_RELU:
    for (size_t i = 0; i < count; i++)
      dx[i] = out[i] > 0.0f ? dout[i] : 0.0f;
    return;
  case RT_ACT_SIGMOID:
    for (size_t i = 0; i < count; i++)
      dx[i] = dout[i] * out[i] * (1.0f - out[i]);
    return;
  case RT_ACT_TANH:
    for (size_t i = 0; i < count; i++)
      dx[i] = dout[i] * (1.0f - out[i] * out[i]);
    return;
  case RT_ACT_LEAKY_RELU:
    for (size_t i = 0; i < count; i++)
      dx[i] = dout[i] * (out[i] > 0.0f ? 1.0f : alpha);
    return;
  case RT_ACT_ELU:
    for (size_t i = 0; i < count; i++)
      dx[i] = dout[i] * (out[i] > 0.0f ? 1.0f : out[i] + alpha);
    return;
  case RT_ACT_RELU6:
    for (size_t i = 0; i < count; i++)
      dx[i] = out[i] > 0.0f && out[i] < 6.0f ? dout[i] : 0.0f;
    return;
  }
  die_bad_act("rt_act_backward", act);
}

/* ----- dropout ----- */

/* ----- the elementwise kernels above, split across the threads ----- */

void rt_bias_act_forward(float *out, const float *bias, int m, int n, RtAct act, float alpha) {
  RT_PARALLEL_SLICES(m, (double)m * n, r0, r1,
                     rt_bias_act_rows(out + r0 * n, bias, (int)(r1 - r0), n, act, alpha));
}

void rt_act_forward(float *out, const float *x, size_t count, RtAct act, float alpha) {
  RT_PARALLEL_SLICES(count, count, i0, i1,
                     act_forward_span(out + i0, x + i0, (size_t)(i1 - i0), act, alpha));
}

void rt_act_backward(float *dx, const float *dout, const float *out, size_t count, RtAct act,
                     float alpha) {
  RT_PARALLEL_SLICES(count, count, i0, i1,
                     act_backward_span(dx + i0, dout + i0, out + i0, (size_t)(i1 - i0), act,
                                       alpha));
}

/* A 32-bit integer hash (xor-shift-multiply rounds, full avalanche): the
 * dropout mask is hash(key, i) per element, a counter-based generator as
 * Keras's Philox is, so each value is independent of the others: the loop
 * vectorizes (a serial generator's draw chain took 8% of a Day 5 epoch) and
 * the mask is the same whatever the number of threads. */
static inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

static void dropout_span(float *out, float *mask, const float *x, size_t i0, size_t i1,
                         uint32_t key_a, uint32_t key_b, uint32_t threshold, float keep_scale) {
  for (size_t i = i0; i < i1; i++) {
    uint32_t r = mix32(mix32((uint32_t)i ^ key_a) + key_b) >> 8; /* 24 uniform bits */
    mask[i] = r < threshold ? 0.0f : keep_scale;
  }
  for (size_t i = i0; i < i1; i++) /* a separate loop, vectorized */
    out[i] = x[i] * mask[i];
}

void rt_dropout_forward(float *out /* (count) */, float *mask /* (count) */,
                        const float *x /* (count) */, float rate, size_t count, RtRng *rng) {
  if (!(rate >= 0.0f && rate < 1.0f))
    rt_die("rt_dropout_forward: rate must be in [0, 1), got %g", (double)rate);
  if (count > UINT32_MAX)
    rt_die("rt_dropout_forward: %zu values is more than one mask can number", count);
  const float keep_scale = 1.0f / (1.0f - rate);
  /* P(dropped) = threshold / 2^24: rate rounded to 24 bits, as a float's
   * uniform draw in [0, 1) with 24 bits compared against rate would be. */
  const uint32_t threshold = (uint32_t)ceilf(rate * 16777216.0f);
  const uint32_t key_a = rt_rng_u32(rng), key_b = rt_rng_u32(rng);
  RT_PARALLEL_SLICES(count, count, i0, i1,
                     dropout_span(out, mask, x, (size_t)i0, (size_t)i1, key_a, key_b, threshold,
                                  keep_scale));
}

void rt_dropout_backward(float *dx /* (count) */, const float *dout /* (count) */,
                         const float *mask /* (count) */, size_t count) {
  for (size_t i = 0; i < count; i++)
    dx[i] = dout[i] * mask[i];
}

/* out is the activation's output BEFORE dropout. (For relu and leaky relu,
 * whose derivative depends only on the sign of out, the dropped output works
 * too, since mask > 0 wherever it matters; for the others it does not.) */
static void act_dropout_backward_span(float *dx /* (count) */, const float *dout /* (count) */,
                             const float *mask /* (count) */,
                             const float *out /* (count): activation output */, size_t count,
                             RtAct act, float alpha) {
  switch (act) {
  case RT_ACT_NONE:
    rt_dropout_backward(dx, dout, mask, count);
    return;
  case RT_ACT_RELU:
    for (size_t i = 0; i < count; i++)
      dx[i] = out[i] > 0.0f ? dout[i] * mask[i] : 0.0f;
    return;
  case RT_ACT_SIGMOID:
    for (size_t i = 0; i < count; i++)
      dx[i] = dout[i] * mask[i] * out[i] * (1.0f - out[i]);
    return;
  case RT_ACT_TANH:
    for (size_t i = 0; i < count; i++)
      dx[i] = dout[i] * mask[i] * (1.0f - out[i] * out[i]);
    return;
  case RT_ACT_LEAKY_RELU:
    for (size_t i = 0; i < count; i++)
      dx[i] = dout[i] * mask[i] * (out[i] > 0.0f ? 1.0f : alpha);
    return;
  case RT_ACT_ELU:
    for (size_t i = 0; i < count; i++)
      dx[i] = dout[i] * mask[i] * (out[i] > 0.0f ? 1.0f : out[i] + alpha);
    return;
  case RT_ACT_RELU6:
    for (size_t i = 0; i < count; i++)
      dx[i] = out[i] > 0.0f && out[i] < 6.0f ? dout[i] * mask[i] : 0.0f;
    return;
  }
  die_bad_act("rt_act_dropout_backward", act);
}

void rt_act_dropout_backward(float *dx, const float *dout, const float *mask, const float *out,
                             size_t count, RtAct act, float alpha) {
  RT_PARALLEL_SLICES(count, count, i0, i1,
                     act_dropout_backward_span(dx + i0, dout + i0, mask + i0, out + i0,
                                               (size_t)(i1 - i0), act, alpha));
}

/* ----- elementwise add and gradient accumulation ----- */

void rt_add_forward(float *out /* (count) */, const float *a /* (count) */,
                    const float *b /* (count) */, size_t count) {
  for (size_t i = 0; i < count; i++)
    out[i] = a[i] + b[i];
}

void rt_accumulate(float *out /* (count) */, const float *a /* (count) */, size_t count) {
  for (size_t i = 0; i < count; i++)
    out[i] += a[i];
}
