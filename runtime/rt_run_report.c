/*
 * rt_run_report.c — the plots and report.html at the end of every training
 * run (rt_report_run_dir, rt_html.c), fed with what only the program holds:
 * the test split's scores, labels and images, the first layer's kernel, the
 * class names, the best and the early-stopped epoch, the hyper-parameters in
 * force, and the .nn source and summary the compiler embedded
 * (RtFitConfig.report). A plot or a report that cannot be written is a
 * warning: it never changes the run's exit status.
 */
#include "nnc_runtime.h"

#include <stdlib.h>
#include <string.h>

/* The checkpoint tensor called name, or NULL. */
static const float *tensor_named(const RtModel *model, const char *name) {
  for (int i = 0; name && i < model->n_checkpoint; i++)
    if (!strcmp(model->checkpoint[i].name, name))
      return model->checkpoint[i].data;
  return NULL;
}

/* The test images as pixels (n, h, w, c) when the model reads 8-bit images
 * of 1 or 3 channels; else none. */
static void set_images(RtReportInputs *in, const RtModel *model, const RtDataset *test) {
  int h = model->input_rows, w = model->input_cols, c = model->input_channels;
  if (!test->x || h <= 0 || w <= 0 || (c != 1 && c != 3) || test->item_size != (size_t)h * w * c)
    return;
  in->test_images = test->x;
  in->image_h = h, in->image_w = w, in->image_c = c;
}

static void set_first_kernel(RtReportInputs *in, const RtModel *model) {
  const float *kernel = tensor_named(model, model->first_kernel.name);
  const int *d = model->first_kernel.dims;
  /* a dense kernel is drawn per unit as the input image: only when it reads the pixels */
  if (!kernel || (model->first_kernel.kind == RT_FIRST_DENSE &&
                  (!in->test_images || d[0] != in->image_h * in->image_w * in->image_c)))
    return;
  in->first_kind = model->first_kernel.kind;
  in->first_kernel = kernel;
  memcpy(in->kernel_dims, d, sizeof in->kernel_dims);
}

/* The run's own settings (epochs, seed, limits) first, then the recipe's. */
static int hyper_parameters(RtKeyValue *kv, char (*text)[64], const RtRun *run,
                            const RtFitResult *fr) {
  int n = 0;
  snprintf(text[0], 64, "%d (ran %d)", run->opt.epochs, fr->epochs_run);
  snprintf(text[1], 64, "%llu", (unsigned long long)run->opt.seed);
  snprintf(text[2], 64, "%d", run->opt.limit_train);
  kv[n++] = (RtKeyValue){"epochs", text[0]};
  kv[n++] = (RtKeyValue){"seed", text[1]};
  if (run->opt.limit_train)
    kv[n++] = (RtKeyValue){"limit_train", text[2]};
  for (int i = 0; i < run->config->report.n_hyper; i++)
    kv[n++] = run->config->report.hyper[i];
  return n;
}

void rt_write_run_report(const RtRun *run, const RtFitResult *fr, const RtDataset *test,
                         const float *scores) {
  const RtModel *model = run->model;
  const RtFitConfig *c = run->config;
  RtKeyValue *hyper = rt_malloc(sizeof(RtKeyValue) * (size_t)(c->report.n_hyper + 3));
  char text[3][64];
  RtReportInputs in = {
      .model_name = model->name,
      .summary_text = c->report.summary_text,
      .source_text = c->report.source_text,
      .source_path = c->report.source_path,
      .hyper = hyper,
      .n_hyper = hyper_parameters(hyper, text, run, fr),
      .best_epoch = fr->best_epoch,
      .stopped_epoch = c->early_stopping.enabled && fr->epochs_run < run->opt.epochs
                           ? fr->epochs_run : 0,
  };
  if (!model->n_outputs) { /* the per-class plots read one probability per class */
    in.class_names = model->class_names;
    in.n_classes = model->n_classes;
    in.test_probs = scores;
    in.test_labels = test->y;
    in.n_test = test->count;
    set_images(&in, model, test);
  }
  set_first_kernel(&in, model);
  int drawn = rt_report_run_dir(run->opt.out_dir, &in);
  if (drawn >= 0 && !run->opt.quiet)
    printf("wrote %s/report.html (%d plots)\n", run->opt.out_dir, drawn);
  free(hyper);
}
