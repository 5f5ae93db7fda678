/*
 * rt_transfer.c — transfer learning with local weights: the train section's
 *     initialize [L, ...] from "CKPT"     or     initialize from "CKPT"
 * copies layers' tensors (their parameters and, for batch norm, moving
 * statistics; never the optimizer's slots: a new run starts its optimizer
 * afresh) from another model's checkpoint by name, after init_params and
 * adapt. Listed layers must match exactly; without a list every layer whose
 * tensors all appear in the file with the same sizes is copied (the others
 * keep their initial values and are named). The layer names were checked
 * against the model by the compiler; the file is only known now.
 */
#include "nnc_runtime.h"

#include <stdlib.h>
#include <string.h>

/* The length of LAYER in a tensor name "LAYER.what"; -1 for an optimizer
 * slot ("adam_m/LAYER.what") or a name without a layer. */
static int layer_len(const char *name) {
  const char *dot = strchr(name, '.');
  return strchr(name, '/') || !dot ? -1 : (int)(dot - name);
}

static int same_layer(const char *a, const char *b, int len) {
  return layer_len(b) == len && !strncmp(a, b, (size_t)len);
}

static int is_listed(const RtFitConfig *config, const char *name, int len) {
  if (!config->init_layers)
    return 1;
  for (int i = 0; i < config->n_init_layers; i++)
    if ((int)strlen(config->init_layers[i]) == len && !strncmp(config->init_layers[i], name, len))
      return 1;
  return 0;
}

/* The file's tensors (rt_checkpoint_try_list). */
typedef struct {
  char **names;
  size_t *counts;
  int n;
} FileTable;

/* 0: the file holds t with its size; else why not, in why. */
static int tensor_problem(const FileTable *f, const RtTensorRef *t, char *why, size_t size) {
  for (int i = 0; i < f->n; i++) {
    if (strcmp(f->names[i], t->name))
      continue;
    if (f->counts[i] == t->count)
      return 0;
    snprintf(why, size, "  %s: %zu values in the file, %zu in the model\n", t->name, f->counts[i],
             t->count);
    return 1;
  }
  snprintf(why, size, "  %s: not in the file\n", t->name);
  return 1;
}

/* Do all tensors of t's layer match the file? */
static int layer_matches(const RtModel *model, const FileTable *f, const RtTensorRef *t, int len) {
  char why[512];
  for (int i = 0; i < model->n_checkpoint; i++)
    if (same_layer(t->name, model->checkpoint[i].name, len) &&
        tensor_problem(f, &model->checkpoint[i], why, sizeof why))
      return 0;
  return 1;
}

static void append(char **text, size_t *len, const char *s) {
  size_t n = strlen(s);
  *text = realloc(*text, *len + n + 1);
  if (!*text)
    rt_die("out of memory");
  memcpy(*text + *len, s, n + 1);
  *len += n;
}

/* Picks the tensors to copy; problems (listed layers that do not match) and
 * skipped (unlisted layers that do not match) collect lines for messages. */
static int pick_tensors(const RtRun *run, const FileTable *f, RtTensorRef *pick, char **problems,
                        size_t *n_problems, char **skipped, size_t *n_skipped) {
  const RtModel *model = run->model;
  int n = 0;
  for (int i = 0; i < model->n_checkpoint; i++) {
    const RtTensorRef *t = &model->checkpoint[i];
    int len = layer_len(t->name);
    if (len < 0 || !is_listed(run->config, t->name, len))
      continue;
    char why[512];
    if (run->config->init_layers && tensor_problem(f, t, why, sizeof why)) {
      append(problems, n_problems, why);
    } else if (!run->config->init_layers && !layer_matches(model, f, t, len)) {
      if (tensor_problem(f, t, why, sizeof why))
        append(skipped, n_skipped, why);
    } else {
      pick[n++] = *t;
    }
  }
  return n;
}

void rt_initialize_from(const RtRun *run) {
  const RtModel *model = run->model;
  const char *path = run->config->init_from;
  char err[4400];
  FileTable f;
  if (rt_checkpoint_try_list(path, &f.names, &f.counts, &f.n, err, sizeof err) != 0)
    rt_die("initialize from %s", err);
  RtTensorRef *pick = rt_malloc(sizeof(RtTensorRef) * (size_t)(model->n_checkpoint + 1));
  char *problems = NULL, *skipped = NULL;
  size_t n_problems = 0, n_skipped = 0;
  int n = pick_tensors(run, &f, pick, &problems, &n_problems, &skipped, &n_skipped);
  if (problems)
    rt_die("%s: cannot initialize model '%s' from it; these tensors do not match:\n%s", path,
           model->name, problems);
  if (!n)
    rt_die("%s: no layer of model '%s' matches the file's tensors (names and sizes)", path,
           model->name);
  RtCheckpointMeta meta;
  if (rt_checkpoint_try_load_some(path, pick, n, &meta, err, sizeof err) != 0)
    rt_die("initialize from %s", err);
  if (!run->opt.quiet) {
    printf("initialized %d tensors from %s (model %s, epoch %d)\n", n, path, meta.model,
           meta.epoch);
    if (skipped)
      printf("not initialized (kept their initial values):\n%s", skipped);
  }
  free(problems);
  free(skipped);
  free(pick);
  for (int i = 0; i < f.n; i++)
    free(f.names[i]);
  free(f.names);
  free(f.counts);
}
