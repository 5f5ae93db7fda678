/*
 * export.c — `nnc export FILE.nn [--ckpt PATH] [-o DIR]`: the trained model
 * for other programs. Compiles FILE.nn up to shape inference, loads the
 * parameters from the checkpoint (its model name and identity, the hash of
 * the compiled graph, must be this file's, and its tensor names and sizes
 * must match: a checkpoint of another model or of another version of this
 * one is refused, naming the file),
 * then hands the graph to the two back ends: export_c.c (NAME.h, NAME.c, an
 * inference-only C library) and export_onnx.c (NAME.onnx).
 */
#include "export.h"

#include "nnc_runtime.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

const float *export_values(const ExportModel *m, const IrNode *param) {
  return param->op == IR_PARAM ? m->values[param->id] : NULL;
}

const IrNode *export_source(const IrNode *n) {
  while (n->op == IR_DROPOUT) /* the identity in inference */
    n = n->in[0];
  return n;
}

bool export_load(ExportModel *m, Compilation *c, const char *ckpt_path, FILE *err) {
  const Graph *g = c->graph;
  memset(m, 0, sizeof *m);
  m->g = g;
  m->prog = &c->prog;
  m->name = g->model_name;
  m->err = err;
  m->values = ARENA_ARRAY(g->arena, const float *, g->next_id + 1);
  int n = 0;
  RtTensorRef *refs = ARENA_ARRAY(g->arena, RtTensorRef, g->n_nodes + 1);
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *p = g->nodes[i];
    if (p->op != IR_PARAM)
      continue;
    float *data = ARENA_ARRAY(g->arena, float, ir_elems(p) ? ir_elems(p) : 1);
    refs[n++] = (RtTensorRef){p->name, data, ir_elems(p)};
    m->values[p->id] = data;
  }
  RtCheckpointMeta meta;
  char why[512];
  if (rt_checkpoint_try_load_some(ckpt_path, refs, n, &meta, why, sizeof why) != 0) {
    fprintf(err, "nnc: error: %s\n", why);
    return false;
  }
  if (rt_checkpoint_check_owner(ckpt_path, &meta, g->model_name, g->identity, NULL, why,
                                sizeof why) != 0) {
    fprintf(err, "nnc: error: %s\n", why);
    return false;
  }
  m->probs = g->loss->in[0];
  m->n_scores = g->n_outputs;
  return true;
}

/* `nnc export`: both back ends into opt->out_dir (created if missing). */
int driver_export(const DriverOptions *opt) {
  Compilation c;
  if (!compile_source(&c, opt, PASS_SHAPE)) {
    compilation_free(&c);
    return 1;
  }
  char ckpt[4096];
  if (opt->ckpt_path)
    snprintf(ckpt, sizeof ckpt, "%s", opt->ckpt_path);
  else
    snprintf(ckpt, sizeof ckpt, "runs/%s/best.ckpt", c.graph->model_name);
  const char *dir = opt->out_dir ? opt->out_dir : ".";
  ExportModel m;
  bool ok = export_load(&m, &c, ckpt, opt->err);
  if (ok && mkdir(dir, 0777) != 0 && errno != EEXIST) {
    fprintf(opt->err, "nnc: error: cannot create '%s': %s\n", dir, strerror(errno));
    ok = false;
  }
  ok = ok && export_c_library(&m, dir) && export_onnx(&m, dir);
  if (ok)
    fprintf(opt->err, "nnc: wrote %s/%s.h, %s/%s.c and %s/%s.onnx from %s\n", dir, m.name, dir,
            m.name, dir, m.name, ckpt);
  compilation_free(&c);
  return ok ? 0 : 1;
}
