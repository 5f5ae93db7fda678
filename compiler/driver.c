/*
 * driver.c — the pipeline in one place.
 *
 *   parse -> check -> build IR -> shapes -> autodiff -> lowering -> fusion
 *   -> memory plan -> emit C -> cc
 *
 * compile_source runs the passes in order, one line each; after every IR
 * pass the verifier runs and, if asked, the IR is dumped. driver_build then
 * writes the C file and runs the C compiler against the runtime.
 */
#include "nnc.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* libnncrt_mpi.a and libmpi for --mpi; "" where nnc was built without Open MPI */
#ifndef NNC_RUNTIME_MPI_LIB
#define NNC_RUNTIME_MPI_LIB ""
#define NNC_MPI_LIBS ""
#endif

static const char *const PASS_NAMES[PASS_COUNT] = {
    [PASS_PARSE] = "parse",     [PASS_CHECK] = "check",       [PASS_BUILD] = "build",
    [PASS_SHAPE] = "shape",     [PASS_AUTODIFF] = "autodiff", [PASS_LOWER] = "lower",
    [PASS_FUSE] = "fuse",
    [PASS_MEMPLAN] = "memplan",
};

const char *pass_name(PassId p) { return PASS_NAMES[p]; }

/* Verifies the IR after an IR pass and dumps it when asked. */
static void after_ir_pass(Compilation *c, const DriverOptions *opt, PassId p) {
  c->reached = p;
  ir_verify(c->graph, PASS_NAMES[p]);
  if (opt->dump_pass && (!strcmp(opt->dump_pass, "all") || !strcmp(opt->dump_pass, PASS_NAMES[p])))
    ir_dump(stdout, c->graph, PASS_NAMES[p]);
}

static bool run_parse(Compilation *c, const DriverOptions *opt) {
  arena_init(&c->arena);
  if (opt->input_text)
    source_from_string(&c->src, opt->input_path, opt->input_text);
  else if (!source_read(&c->src, &c->arena, opt->input_path)) {
    fprintf(opt->err, "nnc: error: cannot read '%s': %s\n", opt->input_path,
            source_error(errno));
    return false;
  }
  diag_init(&c->diag, &c->src, opt->err);
  c->syntax_errors = parse_source(&c->ast, &c->src, &c->arena, &c->diag);
  return c->syntax_errors == 0;
}

/* The planned training memory against --max-memory (an error) and this
 * machine's memory (a warning), located at the model's name. */
static bool check_memory(Compilation *c, const DriverOptions *opt) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  size_t physical = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : 0;
  const Section *model = ast_model_section(&c->ast);
  return memplan_check_limit(c->graph, &c->prog, model->name_loc, opt->max_memory, physical,
                             &c->diag);
}

bool compile_source(Compilation *c, const DriverOptions *opt, PassId last) {
  memset(c, 0, sizeof *c);
  if (!run_parse(c, opt))
    return false;
  c->reached = PASS_PARSE;
  if (last == PASS_PARSE)
    return true;
  if (!check_program(&c->prog, &c->ast, &c->arena, &c->diag))
    return false;
  c->reached = PASS_CHECK;
  if (last == PASS_CHECK)
    return true;
  if (!(c->graph = (opt->summary_only ? ir_build_model : ir_build)(&c->arena, &c->ast, &c->prog,
                                                                    &c->diag)))
    return false;
  after_ir_pass(c, opt, PASS_BUILD);
  if (last == PASS_BUILD)
    return true;
  if (!shape_infer(c->graph, &c->diag))
    return false;
  c->graph->identity = graph_identity(c->graph, &c->prog); /* what checkpoints are matched by */
  after_ir_pass(c, opt, PASS_SHAPE);
  if (last == PASS_SHAPE)
    return true;
  if (c->graph->model_only)
    NNC_BUG("a graph built without its loss cannot be trained");
  if (!autodiff(c->graph, &c->diag))
    return false;
  after_ir_pass(c, opt, PASS_AUTODIFF);
  if (last == PASS_AUTODIFF)
    return true;
  lower(c->graph, NNC_WITH_ONEDNN && !opt->no_onednn);
  after_ir_pass(c, opt, PASS_LOWER);
  if (last == PASS_LOWER)
    return true;
  if (!opt->no_fuse)
    fuse(c->graph);
  after_ir_pass(c, opt, PASS_FUSE);
  if (last == PASS_FUSE)
    return true;
  memplan(c->graph);
  after_ir_pass(c, opt, PASS_MEMPLAN);
  return check_memory(c, opt);
}

void compilation_free(Compilation *c) { arena_free(&c->arena); }

/* "models/day5.nn" -> "day5" (in the current directory) + suffix */
static char *derived_path(const char *input, const char *suffix) {
  char *copy = strdup(input);
  char *base = basename(copy);
  char *dot = strrchr(base, '.');
  if (dot && dot != base)
    *dot = '\0';
  size_t n = strlen(base) + strlen(suffix) + 1;
  char *out = malloc(n);
  if (!out || !copy) {
    fprintf(stderr, "nnc: out of memory\n");
    exit(1);
  }
  snprintf(out, n, "%s%s", base, suffix);
  free(copy);
  return out;
}

/* `nnc summary`'s table of the same source (the model without its loss, as
 * Keras's summary()), for report.html; NULL when it cannot be made. */
static char *summary_text(const Compilation *c, const DriverOptions *opt) {
  DriverOptions model_only = *opt;
  model_only.input_text = c->src.text;
  model_only.summary_only = true;
  model_only.dump_pass = NULL;
  Compilation s;
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  if (f && compile_source(&s, &model_only, PASS_SHAPE))
    summary_print(f, s.graph);
  if (f)
    fclose(f);
  compilation_free(&s);
  return text;
}

/* Writes the C through PATH.tmp and a rename, so a failed write never leaves
 * a half file; a path that exists and is not a regular file (/dev/null, a
 * FIFO) is written in place: a rename would replace the device itself. */
static bool write_c(const Compilation *c, const DriverOptions *opt, const char *c_path) {
  OutFile out;
  if (!out_open(&out, c_path, opt->err))
    return false;
  char *summary = summary_text(c, opt);
  EmitOptions eo = {.source_path = opt->input_path, .source_text = c->src.text,
                    .summary_text = summary, .mpi = opt->mpi};
  emit_c(out.f, c->graph, &c->prog, &eo);
  free(summary);
  return out_close(&out, opt->err);
}

/* cc -O3 [-march=native] ... : the generated program against the runtime */
static bool run_cc(const DriverOptions *opt, const char *c_path, const char *exe_path,
                   bool native) {
  const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
  char blas[512], extra[256];
  snprintf(blas, sizeof blas, "%s", NNC_BLAS_LIBS);
  snprintf(extra, sizeof extra, "%s", NNC_PROGRAM_FLAGS); /* the sanitizers of -DNNC_SANITIZE=ON */
  const char *argv[80];
  int n = 0;
  argv[n++] = cc;
  argv[n++] = "-O3";
  if (native)
    argv[n++] = "-march=native";
  argv[n++] = "-fopenmp"; /* the runtime's threads */
  argv[n++] = "-Wall";
  argv[n++] = "-Wextra";
  for (char *tok = strtok(extra, " "); tok && n < 32; tok = strtok(NULL, " "))
    argv[n++] = tok;
  argv[n++] = "-I" NNC_RUNTIME_INCLUDE;
  argv[n++] = "-o";
  argv[n++] = exe_path;
  argv[n++] = c_path;
  if (opt->mpi) /* before libnncrt.a: rt_mpi.c calls into it */
    argv[n++] = NNC_RUNTIME_MPI_LIB;
  argv[n++] = NNC_RUNTIME_LIB;
  for (char *tok = strtok(blas, " "); tok && n < 74; tok = strtok(NULL, " "))
    argv[n++] = tok;
  char mpi_libs[512];
  snprintf(mpi_libs, sizeof mpi_libs, "%s", opt->mpi ? NNC_MPI_LIBS : "");
  for (char *tok = strtok(mpi_libs, " "); tok && n < 76; tok = strtok(NULL, " "))
    argv[n++] = tok;
  argv[n++] = "-lz";
  argv[n++] = "-lm";
  argv[n++] = "-lpthread";
  argv[n] = NULL;
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(opt->err, "nnc: error: cannot start the C compiler: %s\n", strerror(errno));
    return false;
  }
  if (pid == 0) {
    execvp(cc, (char *const *)argv);
    fprintf(stderr, "nnc: error: cannot run the C compiler '%s': %s\n", cc, strerror(errno));
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (native)
      return false; /* the caller retries without -march=native */
    fprintf(opt->err, "nnc: error: the C compiler failed on '%s' (this is a bug in nnc)\n",
            c_path);
    return false;
  }
  return true;
}

/* Tuned for this machine's CPU unless --portable; a C compiler that rejects
 * -march=native (another architecture, an old compiler) gets a second try
 * without it. */
static bool compile_program(const DriverOptions *opt, const char *c_path, const char *exe) {
  if (opt->portable)
    return run_cc(opt, c_path, exe, false);
  if (run_cc(opt, c_path, exe, true))
    return true;
  fprintf(opt->err, "nnc: note: compiling with -march=native failed; trying again without it\n");
  return run_cc(opt, c_path, exe, false);
}

/* The linker replaces its output file: never let it replace a device
 * (`-o /dev/null` run as root would turn /dev/null into a regular file). */
static bool executable_path_ok(const DriverOptions *opt, const char *exe) {
  struct stat st;
  if (stat(exe, &st) == 0 && !S_ISREG(st.st_mode)) {
    fprintf(opt->err, "nnc: error: '%s' exists and is not a regular file: the executable needs "
            "one (use --emit-only to write only the C)\n", exe);
    return false;
  }
  return true;
}

int driver_build(const DriverOptions *opt) {
  if (opt->mpi && !*NNC_RUNTIME_MPI_LIB) {
    fprintf(opt->err, "nnc: error: --mpi: this nnc was built without Open MPI (install "
            "openmpi-bin and libopenmpi-dev, then configure and build nnc again)\n");
    return 1;
  }
  Compilation c;
  if (!compile_source(&c, opt, PASS_MEMPLAN)) {
    compilation_free(&c);
    return 1;
  }
  char *c_path = opt->c_path ? strdup(opt->c_path) : derived_path(opt->input_path, ".c");
  char *exe = opt->exe_path ? strdup(opt->exe_path) : derived_path(opt->input_path, "");
  bool ok = write_c(&c, opt, c_path) &&
            (opt->emit_only || (executable_path_ok(opt, exe) && compile_program(opt, c_path, exe)));
  if (ok && !opt->emit_only)
    fprintf(stderr, "nnc: wrote %s and %s\n", c_path, exe);
  else if (ok)
    fprintf(stderr, "nnc: wrote %s\n", c_path);
  free(c_path);
  free(exe);
  compilation_free(&c);
  return ok ? 0 : 1;
}
