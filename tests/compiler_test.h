/*
 * compiler_test.h — shared fixture for the compiler's Check suites.
 *
 * A TestCompile holds one Compilation of an in-memory .nn text named "t.nn"
 * and its diagnostics (written to an open_memstream so tests can compare the
 * exact `t.nn:line:col: error: ...` text). tc_run(tc, text, last) calls the
 * driver's compile_source, the same entry `nnc` uses, so the tests run the
 * real pipeline (verifier after every IR pass: an invariant failure exits
 * 70, which Check reports as a failed test). Everything is header-only (static) so each
 * suite stays one file plus this one.
 *
 * Tests that exposed compiler bugs live in each suite's "regressions"
 * TCase; their BUG comments name the file:line that was wrong.
 */
#ifndef COMPILER_TEST_H
#define COMPILER_TEST_H

#define _GNU_SOURCE /* open_memstream, asprintf */
#include "nnc.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  Compilation c; /* what nnc's own compile_source fills */
  FILE *err_file;
  char *err; /* diagnostics so far (tc_err refreshes it) */
  size_t err_len;
  bool ok;
} TestCompile;

/* Opens tc on `text` without compiling it (for tests of diag.c itself). */
static inline void tc_begin(TestCompile *tc, const char *text) {
  memset(tc, 0, sizeof *tc);
  tc->err_file = open_memstream(&tc->err, &tc->err_len);
  ck_assert_ptr_nonnull(tc->err_file);
  arena_init(&tc->c.arena);
  source_from_string(&tc->c.src, "t.nn", text);
  diag_init(&tc->c.diag, &tc->c.src, tc->err_file);
}

/* The diagnostics written so far, NUL-terminated. */
static inline const char *tc_err(TestCompile *tc) {
  fflush(tc->err_file);
  return tc->err ? tc->err : "";
}

static inline void tc_end(TestCompile *tc) {
  if (tc->err_file)
    fclose(tc->err_file);
  free(tc->err);
  compilation_free(&tc->c);
  memset(tc, 0, sizeof *tc);
}

/* Runs the passes up to `last` on `text` as t.nn, through the same
 * compile_source that `nnc` calls, with opt's flags (summary_only, no_fuse);
 * true when all of them succeeded. tc_run_opts: with no_fuse the fusion
 * pass is skipped, as `nnc build --no-fuse` does. */
static inline bool tc_run_with(TestCompile *tc, const char *text, PassId last,
                               DriverOptions opt) {
  memset(tc, 0, sizeof *tc);
  tc->err_file = open_memstream(&tc->err, &tc->err_len);
  ck_assert_ptr_nonnull(tc->err_file);
  opt.input_path = "t.nn";
  opt.input_text = text;
  opt.err = tc->err_file;
  return tc->ok = compile_source(&tc->c, &opt, last);
}

/* no_onednn: convolutions lowered to im2col + GEMM whether or not this nnc
 * was built with oneDNN, so the suites check the same graphs everywhere
 * (test_autodiff's test_lower_keeps_convs_whole runs lower(g, true) itself). */
static inline bool tc_run_opts(TestCompile *tc, const char *text, PassId last, bool no_fuse) {
  return tc_run_with(tc, text, last, (DriverOptions){.no_fuse = no_fuse, .no_onednn = true});
}

static inline bool tc_run(TestCompile *tc, const char *text, PassId last) {
  return tc_run_opts(tc, text, last, false);
}

/* Asserts the pipeline stopped with exactly `expected` as its diagnostics
 * (the whole text: message, source line and caret). */
#define tc_assert_err(tc, expected)                                                               \
  do {                                                                                            \
    const char *got_ = tc_err(tc);                                                                \
    ck_assert_msg(strcmp(got_, (expected)) == 0,                                                  \
                  "diagnostics differ\n--- expected:\n%s--- got:\n%s", (expected), got_);          \
  } while (0)

/* Asserts the diagnostics start with `prefix` (the first line, usually). */
#define tc_assert_err_prefix(tc, prefix)                                                          \
  do {                                                                                            \
    const char *got_ = tc_err(tc);                                                                \
    ck_assert_msg(strncmp(got_, (prefix), strlen(prefix)) == 0,                                   \
                  "diagnostics differ\n--- expected a start of:\n%s\n--- got:\n%s", (prefix),     \
                  got_);                                                                          \
  } while (0)

/* The live node named `name` (IrNode.name), or NULL. */
static inline IrNode *tc_node(const Graph *g, const char *name) {
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->name && strcmp(g->nodes[i]->name, name) == 0)
      return g->nodes[i];
  return NULL;
}

/* How many scheduled nodes have op `op`. */
static inline int tc_count_op(const Graph *g, IrOp op) {
  int k = 0;
  for (int i = 0; i < g->n_nodes; i++)
    k += g->nodes[i]->op == op;
  return k;
}

/* Schedule index of n, or -1. */
static inline int tc_index(const Graph *g, const IrNode *n) {
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i] == n)
      return i;
  return -1;
}

/* Asserts n's per-example shape is dims[0..rank). */
#define tc_assert_shape(n, batched_, ...)                                                         \
  do {                                                                                            \
    const IrNode *n_ = (n);                                                                       \
    const int want_[] = {__VA_ARGS__};                                                            \
    int rank_ = (int)(sizeof want_ / sizeof want_[0]);                                            \
    ck_assert_ptr_nonnull(n_);                                                                    \
    ck_assert_msg(n_->batched == (batched_), "%s: batched is %d", n_->name, n_->batched);         \
    ck_assert_msg(n_->rank == rank_, "%s: rank %d, expected %d", n_->name, n_->rank, rank_);      \
    for (int i_ = 0; i_ < rank_; i_++)                                                            \
      ck_assert_msg(n_->dims[i_] == want_[i_], "%s: dim %d is %d, expected %d", n_->name, i_,    \
                    n_->dims[i_], want_[i_]);                                                     \
  } while (0)

/* Runs one suite; the exit status of main. */
static inline int tc_run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#ifndef NNC_SOURCE_DIR
#error "tests.cmake defines NNC_SOURCE_DIR (the repository root) for the compiler suites"
#endif

/* The text of a file under the repository root, read once per process and
 * kept for the process's life (tests run forked, so each test reads it). */
static inline const char *tc_repo_file(const char *relative) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", NNC_SOURCE_DIR, relative);
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  int c;
  while ((c = fgetc(f)) != EOF)
    fputc(c, mem);
  fclose(f);
  fclose(mem);
  return text;
}

/* The flagship example, models/day5.nn. */
static inline const char *tc_day5(void) {
  static const char *text;
  if (!text)
    text = tc_repo_file("models/day5.nn");
  return text;
}

#endif
