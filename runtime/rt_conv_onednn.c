/*
 * rt_conv_onednn.c — convolutions as one call each, forward and both
 * gradients, on oneDNN (Debian's libdnnl): built only when CMake finds it
 * (NNC_WITH_ONEDNN), and reached only through lower.c, which keeps such a
 * convolution whole instead of rewriting it into im2col + GEMM.
 *
 * Why: the seed CNN's second convolution (13x13x32 -> 12x12x32, 2x2) is three
 * thin GEMMs over im2col's columns (n = 32 or k = 32), where OpenBLAS reaches
 * 74-100 GFLOP/s on 2 cores against 206 for a square GEMM, and the columns
 * (4.7 MB a batch) are written and read, their gradient written and summed
 * back (col2im). oneDNN's JIT direct convolution (brgconv / jit:avx512_core)
 * reads the NHWC images as they are and runs the same three products at
 * 160-255 GFLOP/s (bench/RESULTS.md, "oneDNN").
 *
 * Layouts: images NHWC as everywhere in nnc; the kernel Keras's (kh, kw, c,
 * filters), oneDNN's "hwio". oneDNN picks its own blocked layout for the
 * weights (format "any"); they are reordered into it each call (a few KB)
 * and the weight gradient back out of it.
 *
 * Each distinct call (kind, batch rows, window, filters, bias, activation)
 * creates its primitives once and keeps them (a small table, searched
 * linearly: a model has a few convolutions and two or three batch sizes).
 * oneDNN runs on OpenMP's threads, the same pool as the rest of the runtime.
 */
#include "nnc_runtime.h"

#include <oneapi/dnnl/dnnl.h>
#include <string.h>

static void check(dnnl_status_t status, const char *what) {
  if (status != dnnl_success)
    rt_die("oneDNN: %s failed (status %d)", what, (int)status);
}
#define CHECK(call) check((call), #call)

typedef enum { CONV_FORWARD, CONV_BACKWARD_X, CONV_BACKWARD_W } ConvKind;

typedef struct {
  ConvKind kind;
  int m, filters, has_bias, act;
  RtWindow win;
} ConvKey;

/* A memory object in oneDNN's layout for the weights, with the reorder
 * between it and Keras's hwio (NULL when the layouts are the same). */
typedef struct {
  dnnl_memory_t user, blocked;
  dnnl_primitive_t reorder;
} Weights;

typedef struct {
  ConvKey key;
  dnnl_primitive_t conv;
  dnnl_memory_t src, dst, bias; /* images (NHWC) and bias, pointed at each call */
  Weights w;
} ConvEntry;

enum { MAX_ENTRIES = 64 };
static ConvEntry entries[MAX_ENTRIES];
static int n_entries;
static dnnl_engine_t engine;
static dnnl_stream_t stream;

static void init_engine(void) {
  if (engine)
    return;
  CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
  CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
}

/* The descriptors of one call: images NHWC, weights hwio, bias. */
typedef struct {
  dnnl_memory_desc_t src, weights_hwio, weights_any, bias, dst;
  dnnl_dims_t strides, pad_l, pad_r;
} ConvDescs;

static void describe(ConvDescs *d, const ConvKey *k) {
  const RtWindow *w = &k->win;
  dnnl_dims_t src = {k->m, w->c, w->h, w->w}, wei = {k->filters, w->c, w->kh, w->kw},
              bias = {k->filters}, dst = {k->m, k->filters, w->oh, w->ow};
  CHECK(dnnl_memory_desc_init_by_tag(&d->src, 4, src, dnnl_f32, dnnl_nhwc));
  CHECK(dnnl_memory_desc_init_by_tag(&d->weights_hwio, 4, wei, dnnl_f32, dnnl_hwio));
  CHECK(dnnl_memory_desc_init_by_tag(&d->weights_any, 4, wei, dnnl_f32, dnnl_format_tag_any));
  CHECK(dnnl_memory_desc_init_by_tag(&d->bias, 1, bias, dnnl_f32, dnnl_x));
  CHECK(dnnl_memory_desc_init_by_tag(&d->dst, 4, dst, dnnl_f32, dnnl_nhwc));
  /* 'valid' windows that leave the last rows uncovered: oneDNN's output
   * size rounds down as nnc's does, so the far padding is never negative */
  int pad_b = (w->oh - 1) * w->sh + w->kh - w->h - w->pad_top;
  int pad_r = (w->ow - 1) * w->sw + w->kw - w->w - w->pad_left;
  d->strides[0] = w->sh, d->strides[1] = w->sw;
  d->pad_l[0] = w->pad_top, d->pad_l[1] = w->pad_left;
  d->pad_r[0] = pad_b > 0 ? pad_b : 0, d->pad_r[1] = pad_r > 0 ? pad_r : 0;
}

static dnnl_memory_t new_memory(const dnnl_memory_desc_t *md) {
  dnnl_memory_t mem;
  CHECK(dnnl_memory_create(&mem, md, engine, DNNL_MEMORY_NONE));
  return mem;
}

/* Weights memory for primitive descriptor pd's weights (`query`: its weights
 * or diff-weights descriptor); to_user: the reorder runs blocked -> hwio. */
static Weights weights_for(const_dnnl_primitive_desc_t pd, dnnl_query_t query,
                           const ConvDescs *d, int to_user) {
  Weights wt = {new_memory(&d->weights_hwio), NULL, NULL};
  const dnnl_memory_desc_t *chosen = dnnl_primitive_desc_query_md(pd, query, 0);
  if (dnnl_memory_desc_equal(chosen, &d->weights_hwio))
    return wt;
  CHECK(dnnl_memory_create(&wt.blocked, chosen, engine, DNNL_MEMORY_ALLOCATE));
  dnnl_primitive_desc_t rpd;
  const dnnl_memory_desc_t *from = to_user ? chosen : &d->weights_hwio;
  const dnnl_memory_desc_t *to = to_user ? &d->weights_hwio : chosen;
  CHECK(dnnl_reorder_primitive_desc_create(&rpd, from, engine, to, engine, NULL));
  CHECK(dnnl_primitive_create(&wt.reorder, rpd));
  CHECK(dnnl_primitive_desc_destroy(rpd));
  return wt;
}

static void run(dnnl_primitive_t p, int n_args, const dnnl_exec_arg_t *args) {
  CHECK(dnnl_primitive_execute(p, stream, n_args, args));
}

static void reorder(const Weights *wt, int to_user) {
  dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, to_user ? wt->blocked : wt->user},
                            {DNNL_ARG_TO, to_user ? wt->user : wt->blocked}};
  run(wt->reorder, 2, args);
}

/* The forward primitive, its epilogue a relu post-op when act is relu. */
static dnnl_primitive_desc_t forward_pd(const ConvKey *k, const ConvDescs *d) {
  dnnl_convolution_desc_t cd;
  CHECK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct,
                                           &d->src, &d->weights_any,
                                           k->has_bias ? &d->bias : NULL, &d->dst, d->strides,
                                           d->pad_l, d->pad_r));
  dnnl_primitive_attr_t attr;
  CHECK(dnnl_primitive_attr_create(&attr));
  if (k->act == RT_ACT_RELU) {
    dnnl_post_ops_t ops;
    CHECK(dnnl_post_ops_create(&ops));
    CHECK(dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
    CHECK(dnnl_primitive_attr_set_post_ops(attr, ops));
    CHECK(dnnl_post_ops_destroy(ops));
  }
  dnnl_primitive_desc_t pd;
  CHECK(dnnl_primitive_desc_create(&pd, &cd, attr, engine, NULL));
  CHECK(dnnl_primitive_attr_destroy(attr));
  return pd;
}

/* The gradients' primitives need the forward's as a hint. */
static dnnl_primitive_desc_t backward_pd(const ConvKey *k, const ConvDescs *d) {
  ConvKey fk = *k;
  fk.kind = CONV_FORWARD, fk.act = RT_ACT_NONE;
  dnnl_primitive_desc_t hint = forward_pd(&fk, d), pd;
  dnnl_convolution_desc_t cd;
  if (k->kind == CONV_BACKWARD_X)
    CHECK(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &d->src,
                                                   &d->weights_any, &d->dst, d->strides,
                                                   d->pad_l, d->pad_r));
  else
    CHECK(dnnl_convolution_backward_weights_desc_init(
        &cd, dnnl_convolution_direct, &d->src, &d->weights_any, k->has_bias ? &d->bias : NULL,
        &d->dst, d->strides, d->pad_l, d->pad_r));
  CHECK(dnnl_primitive_desc_create(&pd, &cd, NULL, engine, hint));
  CHECK(dnnl_primitive_desc_destroy(hint));
  return pd;
}

static ConvEntry *make_entry(const ConvKey *k) {
  if (n_entries == MAX_ENTRIES)
    rt_die("oneDNN: more than %d distinct convolution calls", MAX_ENTRIES);
  init_engine();
  ConvDescs d;
  describe(&d, k);
  ConvEntry *e = &entries[n_entries++];
  e->key = *k;
  dnnl_primitive_desc_t pd = k->kind == CONV_FORWARD ? forward_pd(k, &d) : backward_pd(k, &d);
  CHECK(dnnl_primitive_create(&e->conv, pd));
  e->src = new_memory(&d.src);
  e->dst = new_memory(&d.dst);
  e->bias = k->has_bias ? new_memory(&d.bias) : NULL;
  e->w = weights_for(pd, k->kind == CONV_BACKWARD_W ? dnnl_query_diff_weights_md
                                                    : dnnl_query_weights_md,
                     &d, k->kind == CONV_BACKWARD_W);
  CHECK(dnnl_primitive_desc_destroy(pd));
  return e;
}

static ConvEntry *entry_for(ConvKind kind, int m, const RtWindow *win, int filters,
                            int has_bias, RtAct act) {
  ConvKey k;
  memset(&k, 0, sizeof k); /* padding bytes too: keys are compared with memcmp */
  k.kind = kind, k.m = m, k.filters = filters, k.has_bias = has_bias, k.act = (int)act;
  k.win = *win;
  for (int i = 0; i < n_entries; i++)
    if (!memcmp(&entries[i].key, &k, sizeof k))
      return &entries[i];
  return make_entry(&k);
}

static void point(dnnl_memory_t mem, const void *data) {
  CHECK(dnnl_memory_set_data_handle(mem, (void *)data));
}

/* The weights as the primitive reads them: reordered when oneDNN blocks them. */
static dnnl_memory_t weights_in(ConvEntry *e, const float *w) {
  point(e->w.user, w);
  if (!e->w.reorder)
    return e->w.user;
  reorder(&e->w, 0);
  return e->w.blocked;
}

void rt_conv2d_direct_forward(float *out /* (m, oh, ow, filters) */,
                              const float *x /* (m, h, w, c) */,
                              const float *w /* (kh, kw, c, filters) */,
                              const float *bias /* (filters) or NULL */, int m,
                              const RtWindow *win, int filters, RtAct act, float alpha) {
  if (m == 0)
    return;
  RtAct fused = act == RT_ACT_RELU ? RT_ACT_RELU : RT_ACT_NONE;
  ConvEntry *e = entry_for(CONV_FORWARD, m, win, filters, bias != NULL, fused);
  point(e->src, x), point(e->dst, out);
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, e->src},
                             {DNNL_ARG_WEIGHTS, weights_in(e, w)},
                             {DNNL_ARG_DST, e->dst},
                             {DNNL_ARG_BIAS, e->bias}};
  if (bias)
    point(e->bias, bias);
  run(e->conv, bias ? 4 : 3, args);
  CHECK(dnnl_stream_wait(stream));
  if (act != fused) /* the other activations: nnc's own, in place */
    rt_act_forward(out, out, (size_t)m * win->oh * win->ow * filters, act, alpha);
}

void rt_conv2d_direct_backward_x(float *dx /* (m, h, w, c) */,
                                 const float *dout /* (m, oh, ow, filters) */,
                                 const float *w /* (kh, kw, c, filters) */, int m,
                                 const RtWindow *win, int filters) {
  if (m == 0)
    return;
  ConvEntry *e = entry_for(CONV_BACKWARD_X, m, win, filters, 0, RT_ACT_NONE);
  point(e->src, dx), point(e->dst, dout);
  dnnl_exec_arg_t args[] = {{DNNL_ARG_DIFF_SRC, e->src},
                            {DNNL_ARG_WEIGHTS, weights_in(e, w)},
                            {DNNL_ARG_DIFF_DST, e->dst}};
  run(e->conv, 3, args);
  CHECK(dnnl_stream_wait(stream));
}

void rt_conv2d_direct_backward_w(float *dw /* (kh, kw, c, filters) */,
                                 float *db /* (filters) or NULL */,
                                 const float *x /* (m, h, w, c) */,
                                 const float *dout /* (m, oh, ow, filters) */, int m,
                                 const RtWindow *win, int filters) {
  if (m == 0) { /* an empty batch contributes nothing; dw is overwritten */
    rt_fill(dw, 0.0f, (size_t)win->kh * win->kw * win->c * filters);
    if (db)
      rt_fill(db, 0.0f, (size_t)filters);
    return;
  }
  ConvEntry *e = entry_for(CONV_BACKWARD_W, m, win, filters, db != NULL, RT_ACT_NONE);
  point(e->src, x), point(e->dst, dout), point(e->w.user, dw);
  dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, e->src},
                            {DNNL_ARG_DIFF_WEIGHTS, e->w.reorder ? e->w.blocked : e->w.user},
                            {DNNL_ARG_DIFF_DST, e->dst},
                            {DNNL_ARG_DIFF_BIAS, e->bias}};
  if (db)
    point(e->bias, db);
  run(e->conv, db ? 4 : 3, args);
  if (e->w.reorder)
    reorder(&e->w, 1);
  CHECK(dnnl_stream_wait(stream));
}
