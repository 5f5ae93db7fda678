/*
 * test_scale.c — Check suite for the front end's limits and cost: huge,
 * endless, deep or oversized inputs stop early with a located error, and
 * the passes that run on every compilation stay linear.
 *
 * Cost is measured as CPU time of the forked test process (clock(), which
 * load on the machine does not inflate much) against a generous bound,
 * several seconds, that the quadratic versions exceeded many times over:
 * ast_item_append walked the whole list per item (100,000 lines: 38 s),
 * ir_verify looked each input up by scanning the schedule and compared
 * every pair of arena tensors (a 200,000-node graph: hours), and fusion
 * scanned the schedule for each layer's users (4,000 dense layers: 3.6 s).
 */
#include "compiler_test.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

/* Seconds of CPU time a test may spend on what should take milliseconds:
 * generous for sanitizer builds and busy machines, far below quadratic. */
#define CPU_BOUND_S 10.0

static double cpu_seconds(void) { return (double)clock() / CLOCKS_PER_SEC; }

/* A text of `lines` lines, each `line` (with its newline), between head and tail. */
static char *repeat_lines(const char *head, const char *line, int lines, const char *tail) {
  size_t hl = strlen(head), ll = strlen(line), tl = strlen(tail);
  char *text = malloc(hl + ll * (size_t)lines + tl + 1);
  ck_assert_ptr_nonnull(text);
  char *p = text;
  memcpy(p, head, hl);
  p += hl;
  for (int i = 0; i < lines; i++, p += ll)
    memcpy(p, line, ll);
  memcpy(p, tail, tl + 1);
  return text;
}

#define MODEL_HEAD "model m(x: u8[28, 28]) {\n  h = flatten(x)\n  h = dense(h, 16)\n"
#define MODEL_TAIL "  return dense(h, 10)\n}\n"

/* ---- parsing is linear ---- */

START_TEST(test_200000_items_parse_in_linear_time) {
  char *text = repeat_lines("train {\n", "  epochs 3\n", 200000, "}\n");
  TestCompile tc;
  double t0 = cpu_seconds();
  bool ok = tc_run(&tc, text, PASS_PARSE);
  double spent = cpu_seconds() - t0;
  ck_assert_msg(ok, "parse failed:\n%s", tc_err(&tc));
  int n = 0;
  for (const Item *it = tc.c.ast.sections->items; it; it = it->next)
    n++;
  ck_assert_int_eq(n, 200000);
  ck_assert_msg(spent < CPU_BOUND_S, "200,000 items took %.2f s of CPU to parse", spent);
  tc_end(&tc);
  free(text);
}
END_TEST

/* ---- the layer limit is found while parsing, at the first layer over it ---- */

START_TEST(test_layer_limit_is_located_while_parsing) {
  /* 2 layers in the head, so the 4097th is on line 1 + 4097 */
  char *text = repeat_lines(MODEL_HEAD, "  h = relu(h)\n", 100000, MODEL_TAIL);
  TestCompile tc;
  double t0 = cpu_seconds();
  ck_assert(!tc_run(&tc, text, PASS_MEMPLAN));
  double spent = cpu_seconds() - t0;
  ck_assert_int_eq(tc.c.syntax_errors, 1);
  tc_assert_err(&tc, "t.nn:4098:7: error: too many layers in one model (at most 4096)\n"
                     "    h = relu(h)\n"
                     "        ^~~~\n");
  ck_assert_msg(spent < CPU_BOUND_S, "rejecting 100,000 lines took %.2f s of CPU", spent);
  tc_end(&tc);
  free(text);
}
END_TEST

/* Only items that make layers count: names, settings outside a model do not. */
START_TEST(test_layer_limit_counts_only_model_layers) {
  char *text = repeat_lines("model m(x: u8[4]) {\n  h = x\n", "  h = h\n", 5000,
                            "  return dense(h, 2)\n}\n");
  TestCompile tc;
  ck_assert_msg(tc_run(&tc, text, PASS_PARSE), "%s", tc_err(&tc));
  tc_end(&tc);
  free(text);
  text = repeat_lines("train {\n", "  optimizer adam()\n", 5000, "}\n");
  ck_assert_msg(tc_run(&tc, text, PASS_PARSE), "%s", tc_err(&tc));
  tc_end(&tc);
  free(text);
}
END_TEST

/* A valid model of 4,000 layers passes every pass, the verifier after each;
 * dense layers, so fusion rewrites every one (fuse.c's use index). */
START_TEST(test_4000_layer_model_checks_quickly) {
  char *text = repeat_lines(MODEL_HEAD, "  h = dense(h, 4, activation=relu)\n", 3997,
                            MODEL_TAIL "train { loss sparse_categorical_crossentropy("
                                       "from_logits=true) }\n");
  TestCompile tc;
  double t0 = cpu_seconds();
  bool ok = tc_run(&tc, text, PASS_MEMPLAN);
  double spent = cpu_seconds() - t0;
  ck_assert_msg(ok, "compile failed:\n%s", tc_err(&tc));
  ck_assert_int_eq(tc.c.graph->n_layers, 4000);
  ck_assert_msg(spent < CPU_BOUND_S, "checking 4,000 layers took %.2f s of CPU", spent);
  tc_end(&tc);
  free(text);
}
END_TEST

/* ---- nesting ---- */

START_TEST(test_deep_nesting_is_a_located_error) {
  int deep = 20000; /* past bison's default stack of 10,000 */
  char *open = repeat_lines("model m(x: u8[4]) {\n  h = dense(", "[", deep, "");
  char *text = repeat_lines(open, "]", deep, ")\n}\n");
  TestCompile tc;
  ck_assert(!tc_run(&tc, text, PASS_PARSE));
  ck_assert_int_eq(tc.c.syntax_errors, 1);
  /* '{' and '(' are open, so the 255th '[' (column 13 + 254) is one too many */
  tc_assert_err_prefix(&tc, "t.nn:2:267: error: brackets nested more than 256 deep\n");
  tc_end(&tc);
  free(open);
  free(text);
}
END_TEST

START_TEST(test_nesting_at_the_limit_parses) {
  char *open = repeat_lines("train {\n  classes ", "[", NNC_MAX_NESTING - 1, "");
  char *text = repeat_lines(open, "]", NNC_MAX_NESTING - 1, "\n}\n");
  TestCompile tc;
  ck_assert_msg(tc_run(&tc, text, PASS_PARSE), "%s", tc_err(&tc));
  tc_end(&tc);
  free(open);
  free(text);
}
END_TEST

/* ---- input size ---- */

static char *compile_file_err(const char *path, bool *ok) {
  char *err = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&err, &len);
  DriverOptions opt = {.input_path = path, .err = f};
  Compilation c;
  *ok = compile_source(&c, &opt, PASS_MEMPLAN);
  compilation_free(&c);
  fclose(f);
  return err;
}

START_TEST(test_dev_zero_is_refused_at_the_size_limit) {
  Arena a;
  arena_init(&a);
  Source src;
  double t0 = cpu_seconds();
  errno = 0;
  ck_assert(!source_read(&src, &a, "/dev/zero"));
  ck_assert_int_eq(errno, EFBIG);
  ck_assert_msg(cpu_seconds() - t0 < CPU_BOUND_S, "reading /dev/zero did not stop");
  arena_free(&a);
  bool ok;
  char *err = compile_file_err("/dev/zero", &ok);
  ck_assert(!ok);
  ck_assert_str_eq(err, "nnc: error: cannot read '/dev/zero': it is larger than 4 MiB (a .nn "
                        "file is a few kilobytes)\n");
  free(err);
}
END_TEST

START_TEST(test_file_at_the_size_limit_is_read) {
  char path[] = "/tmp/nnc_test_scale_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  FILE *f = fdopen(fd, "wb");
  for (unsigned i = 0; i < NNC_MAX_SOURCE_BYTES; i++)
    fputc(i % 64 == 63 ? '\n' : '#', f);
  fclose(f);
  Arena a;
  arena_init(&a);
  Source src;
  ck_assert(source_read(&src, &a, path));
  ck_assert_uint_eq(src.size, NNC_MAX_SOURCE_BYTES);
  f = fopen(path, "ab");
  fputc('\n', f); /* one byte more */
  fclose(f);
  errno = 0;
  ck_assert(!source_read(&src, &a, path));
  ck_assert_int_eq(errno, EFBIG);
  arena_free(&a);
  unlink(path);
}
END_TEST

/* ---- ir_verify is linear ---- */

/* A chain of n nodes, each reading the one before, planned as disjoint
 * arena tensors that are live one at a time, then side by side. */
static Graph *chain_graph(Arena *a, int n) {
  Graph *g = ir_new_graph(a, "chain", 1);
  IrNode *prev = ir_add(g, IR_INPUT, (SrcLoc){1, 1, 1, 1}, "input", 0);
  prev->storage = ST_INPUT;
  ir_set_shape(prev, DT_U8, true, 1, (int[]){4});
  for (int i = 1; i < n; i++) {
    IrNode *x = ir_add(g, IR_ACT, (SrcLoc){1, 1, 1, 1}, "act", 1, prev);
    ir_set_shape(x, DT_F32, true, 1, (int[]){4});
    x->storage = ST_ARENA;
    x->bytes = 16;
    x->offset = (size_t)(i % 2) * 64; /* ping-pong: each lives to its reader */
    x->first_use = i;
    x->last_use = i + 1;
    prev = x;
  }
  g->arena_bytes = 128;
  g->output = g->loss = prev;
  return g;
}

START_TEST(test_verifier_is_linear) {
  Arena a;
  arena_init(&a);
  Graph *g = chain_graph(&a, 200000);
  double t0 = cpu_seconds();
  ir_verify(g, "test");
  double spent = cpu_seconds() - t0;
  ck_assert_msg(spent < CPU_BOUND_S, "verifying 200,000 nodes took %.2f s of CPU", spent);
  arena_free(&a);
}
END_TEST

/* The sweep still finds two live tensors sharing bytes (exit 70: a bug). */
START_TEST(test_verifier_finds_an_overlap) {
  Arena a;
  arena_init(&a);
  Graph *g = chain_graph(&a, 1000);
  g->nodes[500]->offset = g->nodes[501]->offset; /* live together at step 501 */
  ir_verify(g, "test");
}
END_TEST

START_TEST(test_verifier_finds_a_misordered_input) {
  Arena a;
  arena_init(&a);
  Graph *g = chain_graph(&a, 1000);
  g->nodes[10]->in[0] = g->nodes[20];
  ir_verify(g, "test");
}
END_TEST

static Suite *scale_suite(void) {
  Suite *s = suite_create("scale");
  TCase *parse = tcase_create("parsing");
  tcase_add_test(parse, test_200000_items_parse_in_linear_time);
  tcase_add_test(parse, test_layer_limit_is_located_while_parsing);
  tcase_add_test(parse, test_layer_limit_counts_only_model_layers);
  tcase_add_test(parse, test_4000_layer_model_checks_quickly);
  tcase_add_test(parse, test_deep_nesting_is_a_located_error);
  tcase_add_test(parse, test_nesting_at_the_limit_parses);
  suite_add_tcase(s, parse);
  TCase *input = tcase_create("input size");
  tcase_add_test(input, test_dev_zero_is_refused_at_the_size_limit);
  tcase_add_test(input, test_file_at_the_size_limit_is_read);
  suite_add_tcase(s, input);
  TCase *verify = tcase_create("verifier");
  tcase_add_test(verify, test_verifier_is_linear);
  tcase_add_exit_test(verify, test_verifier_finds_an_overlap, 70);
  tcase_add_exit_test(verify, test_verifier_finds_a_misordered_input, 70);
  suite_add_tcase(s, verify);
  return s;
}

int main(void) { return tc_run_suite(scale_suite()); }
