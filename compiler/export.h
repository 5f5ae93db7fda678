/*
 * export.h — what the export back ends share (export.c loads the model,
 * export_c.c writes an inference-only C library, export_onnx.c an ONNX file).
 *
 * An export works on the forward graph after shape inference (PASS_SHAPE):
 * convolutions are still convolutions, nothing is lowered or fused, and
 * every op is read in inference mode (dropout is the identity, batch norm
 * uses its moving statistics). The exported output is the model's
 * probabilities: the input of the loss (softmax or sigmoid of the logits).
 */
#ifndef NNC_EXPORT_H
#define NNC_EXPORT_H

#include "nnc.h"

typedef struct {
  const Graph *g;
  const Program *prog;
  const char *name;       /* the model's name: NAME.h, NAME.c, NAME.onnx, NAME_predict */
  const float **values;   /* by node id: a parameter's values from the checkpoint */
  const IrNode *probs;    /* the output: probabilities (n, n_scores) */
  int n_scores;
  FILE *err;
} ExportModel;

/* Loads the parameters of c's graph from the checkpoint at path (names,
 * sizes and the model's name must match); false after a message on err. */
bool export_load(ExportModel *m, Compilation *c, const char *ckpt_path, FILE *err);
/* A parameter's values (the checkpoint's); NULL for other nodes. */
const float *export_values(const ExportModel *m, const IrNode *param);
/* The op a forward node reads as in inference: dropout and views pass their
 * input through. */
const IrNode *export_source(const IrNode *n);

/* Writes DIR/NAME.h and DIR/NAME.c; false after a message. */
bool export_c_library(const ExportModel *m, const char *dir);
/* Writes DIR/NAME.onnx; false after a message naming an op ONNX cannot take. */
bool export_onnx(const ExportModel *m, const char *dir);

#endif
