/*
 * report_main.c — nnc-report: redraws a finished run's plots and report.html
 * from its directory alone (history.csv, metrics.json), for runs made before
 * the report existed or after their files changed. What only the training
 * program had (test scores, images, weights) is not in any file, so the ROC,
 * confidence, misclassification and weight plots come only from the program
 * itself (rt_report_run_dir at the end of a run).
 *
 *   nnc-report RUN_DIR [--source MODEL.nn] [--title NAME]
 *
 * Exit status: 0 when report.html was written, 1 when not, 2 on bad usage.
 */
#include "nnc_runtime.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fputs("usage: nnc-report RUN_DIR [--source MODEL.nn] [--title NAME]\n"
        "  draws RUN_DIR's plots from history.csv and metrics.json and writes\n"
        "  RUN_DIR/report.html (gnuplot draws; NNC_GNUPLOT names another)\n",
        f);
}

int main(int argc, char **argv) {
  RtReportInputs in = {0};
  const char *run_dir = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "--source") == 0 && i + 1 < argc) {
      in.source_path = argv[++i];
    } else if (strcmp(argv[i], "--title") == 0 && i + 1 < argc) {
      in.model_name = argv[++i];
    } else if (argv[i][0] != '-' && !run_dir) {
      run_dir = argv[i];
    } else {
      fprintf(stderr, "nnc-report: unexpected argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (!run_dir) {
    usage(stderr);
    return 2;
  }
  int drawn = rt_report_run_dir(run_dir, &in);
  if (drawn < 0)
    return 1;
  printf("%s/report.html: %d plot%s\n", run_dir, drawn, drawn == 1 ? "" : "s");
  return 0;
}
