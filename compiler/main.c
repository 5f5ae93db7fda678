/*
 * main.c — the nnc command line.
 *
 *   nnc build FILE.nn [-o EXE] [--emit-c FILE.c] [--emit-only] [--dump-ir=PASS] [--no-fuse]
 *                     [--portable] [--mpi]
 *   nnc run   FILE.nn [-- PROGRAM-OPTIONS]      build, then run the program
 *   nnc check FILE.nn [--dump-ir=PASS]          run every pass, write nothing
 *   nnc summary FILE.nn                          Keras-style parameter table
 *   nnc dump-ast FILE.nn                         the parsed file, as text
 *   nnc export FILE.nn [--ckpt PATH] [-o DIR]    NAME.h, NAME.c and NAME.onnx for inference
 */
#include "nnc.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: nnc COMMAND FILE.nn [options]\n"
          "\n"
          "commands:\n"
          "  build      compile FILE.nn to C (NAME.c) and an executable (NAME)\n"
          "  run        build, then run the executable (options after -- go to it)\n"
          "  check      run every compiler pass and report errors; write nothing\n"
          "  summary    print the model's layers, output shapes and parameter counts\n"
          "  compare    A.nn B.nn [...] [--runs DIR ...] [--out DIR]: layers, parameters,\n"
          "             FLOPs, memory and the runs' metrics side by side, compare.html\n"
          "  dump-ast   print the parsed file\n"
          "  export     write NAME.h + NAME.c (a C library) and NAME.onnx from a checkpoint\n"
          "  predict    build, then classify images: nnc predict FILE.nn [--ckpt PATH]\n"
          "             [--top K] [--csv FILE] INPUT... (PNG/JPEG files, IDX files or 'test')\n"
          "\n"
          "options:\n"
          "  -o EXE             name of the executable (default: NAME in the current directory)\n"
          "  --emit-c FILE      where to write the generated C (default: NAME.c)\n"
          "  --emit-only        write the C file but do not compile it\n"
          "  --dump-ir=PASS     print the IR after PASS: build, shape, autodiff, fuse,\n"
          "                     memplan, or all\n"
          "  --no-fuse          skip the fusion pass\n"
          "  --no-onednn        convolutions through im2col + OpenBLAS, not oneDNN (%s)\n"
          "  --portable         compile the program for any x86-64 (no -march=native)\n"
          "  --mpi              data-parallel training under mpirun -np N (Open MPI)\n"
          "  --max-memory SIZE  an error if training needs more (bytes, or K, M, G, T);\n"
          "                     without it, more than this machine's memory is a warning\n"
          "  --ckpt PATH        export: the checkpoint (default: runs/NAME/best.ckpt)\n"
          "  -o DIR             export: the output directory (default: .)\n"
          "  --version, --help\n",
          NNC_WITH_ONEDNN ? "this nnc was built with oneDNN" : "this nnc was built without it");
}

/* "8G" -> 8 << 30; bytes, or a K, M, G or T suffix (powers of 1024) */
static bool parse_size(const char *s, size_t *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  const char *units = "KMGT";
  const char *u = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
  if (end == s || errno || v <= 0 || (*end && (!u || end[1] != '\0')))
    return false;
  for (const char *p = units; u && p <= u; p++)
    v *= 1024.0;
  if (v >= 18e18)
    return false;
  *out = (size_t)v;
  return true;
}

static int parse_options(DriverOptions *opt, int argc, char **argv, int *rest) {
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) {
      *rest = i + 1;
      return 0;
    } else if (!strcmp(a, "-o") && i + 1 < argc) {
      opt->exe_path = argv[++i];
    } else if (!strcmp(a, "--emit-c") && i + 1 < argc) {
      opt->c_path = argv[++i];
    } else if (!strcmp(a, "--emit-only")) {
      opt->emit_only = true;
    } else if (!strncmp(a, "--dump-ir=", 10)) {
      opt->dump_pass = a + 10;
      bool known = !strcmp(opt->dump_pass, "all");
      for (int p = PASS_BUILD; p < PASS_COUNT; p++)
        known |= !strcmp(opt->dump_pass, pass_name((PassId)p));
      if (!known) {
        fprintf(stderr, "nnc: error: unknown pass '%s' (build, shape, autodiff, fuse, memplan, "
                "all)\n", opt->dump_pass);
        return 2;
      }
    } else if (!strcmp(a, "--max-memory") && i + 1 < argc) {
      if (!parse_size(argv[++i], &opt->max_memory)) {
        fprintf(stderr, "nnc: error: --max-memory expects a size such as 8G, got '%s'\n", argv[i]);
        return 2;
      }
    } else if (!strcmp(a, "--no-fuse")) {
      opt->no_fuse = true;
    } else if (!strcmp(a, "--no-onednn")) {
      opt->no_onednn = true;
    } else if (!strcmp(a, "--portable")) {
      opt->portable = true;
    } else if (!strcmp(a, "--mpi")) {
      opt->mpi = true;
    } else if (!strcmp(a, "--ckpt") && i + 1 < argc) {
      opt->ckpt_path = argv[++i];
    } else if (a[0] == '-' || opt->input_path) {
      fprintf(stderr, "nnc: error: unexpected argument '%s'\n", a);
      usage(stderr);
      return 2;
    } else {
      opt->input_path = a;
    }
  }
  *rest = argc;
  return 0;
}

static int cmd_check(const DriverOptions *opt, PassId last) {
  Compilation c;
  bool ok = compile_source(&c, opt, last);
  if (ok && last == PASS_PARSE)
    ast_dump(stdout, &c.ast);
  compilation_free(&c);
  return ok ? 0 : 1;
}

/* Like Keras's model.summary(), which needs no compile(): the model without
 * its loss, so a backbone without a classifier head can be described too. */
static bool has_section(const Compilation *c, const char *kind) {
  for (const Section *s = c->ast.sections; s; s = s->next)
    if (!strcmp(s->kind, kind))
      return true;
  return false;
}

static int cmd_summary(const DriverOptions *opt) {
  /* the table shows the layers as written, without the loss (Keras's summary()
   * needs no compile()) and before fusion folds some away; the memory is the
   * plan of the fused graph the program will run, when the file trains one */
  Compilation c, planned;
  DriverOptions model_only = *opt;
  model_only.summary_only = true;
  bool ok = compile_source(&c, &model_only, PASS_SHAPE);
  bool trains = ok && has_section(&c, "train");
  if (ok)
    summary_print(stdout, c.graph);
  compilation_free(&c);
  if (!ok)
    return 1;
  if (!trains) { /* a backbone alone: nothing is trained */
    printf("Training memory: not planned (no train section)\n");
    return 0;
  }
  ok = compile_source(&planned, opt, PASS_MEMPLAN);
  if (ok)
    summary_print_memory(stdout, planned.graph, &planned.prog);
  compilation_free(&planned);
  return ok ? 0 : 1;
}

/* Builds, then replaces this process with the program, its arguments
 * `mode` (when not NULL) and then words[0..n). */
static int build_and_exec(DriverOptions *opt, const char *mode, char **words, int n) {
  int rc = driver_build(opt);
  if (rc != 0)
    return rc;
  char exe[4096];
  const char *name = opt->exe_path;
  char *copy = strdup(opt->input_path);
  char *base = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
  char *dot = strrchr(base, '.');
  if (dot && dot != base)
    *dot = '\0';
  snprintf(exe, sizeof exe, "%s%s", name && strchr(name, '/') ? "" : "./", name ? name : base);
  free(copy);
  char **args = calloc((size_t)n + 3, sizeof(char *));
  int k = 0;
  args[k++] = exe;
  if (mode)
    args[k++] = (char *)mode;
  for (int i = 0; i < n; i++)
    args[k++] = words[i];
  execv(exe, args);
  fprintf(stderr, "nnc: error: cannot run '%s': %s\n", exe, strerror(errno));
  return 1;
}

static int cmd_run(DriverOptions *opt, int argc, char **argv, int rest) {
  return build_and_exec(opt, NULL, argv + rest, argc - rest);
}

/* nnc predict FILE.nn [--ckpt PATH] [--top K] [--csv FILE] INPUT...: every
 * word after FILE.nn goes to the program's predict mode (rt_predict.c). */
static int cmd_predict(int argc, char **argv) {
  DriverOptions opt = {.err = stderr, .input_path = argv[2]};
  return build_and_exec(&opt, "--predict", argv + 3, argc - 3);
}

/* nnc compare A.nn B.nn [C.nn ...] [--runs DIR ...] [--out DIR] */
static int cmd_compare(int argc, char **argv) {
  const char **paths = calloc((size_t)argc, sizeof *paths);
  const char **runs = calloc((size_t)argc, sizeof *runs);
  const char *out_dir = NULL;
  int n = 0, n_runs = 0, in_runs = 0;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--runs"))
      in_runs = 1;
    else if (!strcmp(argv[i], "--out") && i + 1 < argc)
      out_dir = argv[++i], in_runs = 0;
    else if (in_runs)
      runs[n_runs++] = argv[i];
    else
      paths[n++] = argv[i];
  }
  DriverOptions opt = {.err = stderr};
  int rc = driver_compare(&opt, paths, n, runs, n_runs, out_dir);
  free(paths);
  free(runs);
  return rc;
}

int main(int argc, char **argv) {
  if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    usage(stdout);
    return 0;
  }
  if (argc >= 2 && !strcmp(argv[1], "--version")) {
    printf("nnc %s\n", NNC_VERSION);
    return 0;
  }
  if (argc < 3) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "predict"))
    return cmd_predict(argc, argv);
  if (!strcmp(argv[1], "compare"))
    return cmd_compare(argc, argv);
  DriverOptions opt = {.err = stderr};
  int rest;
  int rc = parse_options(&opt, argc, argv, &rest);
  if (rc)
    return rc;
  if (!opt.input_path) {
    fprintf(stderr, "nnc: error: no input file\n");
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "build"))
    return driver_build(&opt);
  if (!strcmp(cmd, "run"))
    return cmd_run(&opt, argc, argv, rest);
  if (!strcmp(cmd, "check"))
    return cmd_check(&opt, PASS_MEMPLAN);
  if (!strcmp(cmd, "summary"))
    return cmd_summary(&opt);
  if (!strcmp(cmd, "export")) {
    opt.out_dir = opt.exe_path; /* -o names the directory here */
    return driver_export(&opt);
  }
  if (!strcmp(cmd, "dump-ast"))
    return cmd_check(&opt, PASS_PARSE);
  fprintf(stderr, "nnc: error: unknown command '%s'\n", cmd);
  usage(stderr);
  return 2;
}
