/*
 * test_identity.c — Check suite for identity.c (the model's identity that
 * checkpoints carry) and its use by `nnc export`: the same model compiles
 * to the same identity whatever its layout, comments and recipe; a change
 * to what the weights mean (a rescaling, a layer's size, a dropout rate,
 * the optimizer, the classes) changes it; export_load refuses a checkpoint
 * of another version of the model by name and identity, and takes one of
 * this version.
 */
#include "compiler_test.h"
#include "export.h"
#include "nnc_runtime.h"

#include <stdint.h>
#include <unistd.h>

/* A small model; %s are the rescaling, the units, the dropout rate, the
 * optimizer line and the epochs. */
static const char *const TEMPLATE =
    "model ident(x: u8[28, 28]) {\n"
    "  h = rescaling(flatten(x), %s)\n"
    "  h = dense(h, %s, activation=relu)\n"
    "  h = dropout(h, %s)\n"
    "  return dense(h, 10)\n"
    "}\n"
    "data fashion { limit train 100 }\n"
    "train {\n"
    "  loss sparse_categorical_crossentropy(from_logits=true)\n"
    "  %s\n"
    "  epochs %s\n"
    "}\n";

static uint64_t identity_of(const char *scale, const char *units, const char *rate,
                            const char *optimizer, const char *epochs) {
  char text[2048];
  snprintf(text, sizeof text, TEMPLATE, scale, units, rate, optimizer, epochs);
  TestCompile tc;
  ck_assert_msg(tc_run(&tc, text, PASS_MEMPLAN), "%s", tc_err(&tc));
  uint64_t id = tc.c.graph->identity;
  tc_end(&tc);
  return id;
}

#define BASE_ID() identity_of("1/255", "32", "0.2", "optimizer adam(learning_rate=1e-3)", "3")

START_TEST(test_same_model_same_identity) {
  uint64_t id = BASE_ID();
  ck_assert_uint_ne(id, 0);
  ck_assert_uint_eq(BASE_ID(), id);
  /* the recipe is not the model: learning rate and epochs leave it alone */
  ck_assert_uint_eq(identity_of("1/255", "32", "0.2", "optimizer adam(learning_rate=5e-2)", "9"),
                    id);
}
END_TEST

START_TEST(test_identity_follows_the_graph) {
  uint64_t id = BASE_ID();
  /* issue 10's stale checkpoint: only the rescaling changed */
  ck_assert_uint_ne(identity_of("1e30", "32", "0.2", "optimizer adam(learning_rate=1e-3)", "3"),
                    id);
  ck_assert_uint_ne(identity_of("1/255", "33", "0.2", "optimizer adam(learning_rate=1e-3)", "3"),
                    id);
  ck_assert_uint_ne(identity_of("1/255", "32", "0.3", "optimizer adam(learning_rate=1e-3)", "3"),
                    id);
  ck_assert_uint_ne(identity_of("1/255", "32", "0.2", "optimizer rmsprop(learning_rate=1e-3)",
                                "3"), id);
}
END_TEST

START_TEST(test_identity_ignores_layout_and_comments) {
  char text[2048];
  snprintf(text, sizeof text, TEMPLATE, "1/255", "32", "0.2",
           "optimizer adam(learning_rate=1e-3)", "3");
  TestCompile a;
  ck_assert(tc_run(&a, text, PASS_SHAPE));
  uint64_t at_shape = a.c.graph->identity;
  tc_end(&a);
  char spaced[2200];
  snprintf(spaced, sizeof spaced, "# a comment\n\n%s", text);
  TestCompile b;
  ck_assert(tc_run(&b, spaced, PASS_MEMPLAN));
  ck_assert_uint_eq(b.c.graph->identity, at_shape); /* export stops at shapes: the same */
  tc_end(&b);
  TestCompile c;
  ck_assert(tc_run_opts(&c, text, PASS_MEMPLAN, true));
  ck_assert_uint_eq(c.c.graph->identity, at_shape); /* --no-fuse too */
  tc_end(&c);
}
END_TEST

/* ---- nnc export's check ---- */

static char ckpt_path[256];

/* Saves a checkpoint of every parameter of tc's graph, with this identity. */
static void save_params(const TestCompile *tc, uint64_t identity) {
  const Graph *g = tc->c.graph;
  RtTensorRef refs[64];
  int n = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const IrNode *p = g->nodes[i];
    if (p->op == IR_PARAM)
      refs[n++] = (RtTensorRef){p->name, calloc(ir_elems(p), sizeof(float)), ir_elems(p)};
  }
  RtCheckpointMeta meta = {.identity = identity, .epoch = 1};
  snprintf(meta.model, sizeof meta.model, "%s", g->model_name);
  rt_checkpoint_save(ckpt_path, refs, n, &meta);
  for (int i = 0; i < n; i++)
    free(refs[i].data);
}

/* export_load's verdict and message on a checkpoint saved with `identity`. */
static bool export_with(uint64_t saved_identity, bool same, char **message) {
  char text[2048];
  snprintf(text, sizeof text, TEMPLATE, "1/255", "32", "0.2",
           "optimizer adam(learning_rate=1e-3)", "3");
  TestCompile tc;
  ck_assert(tc_run(&tc, text, PASS_SHAPE));
  snprintf(ckpt_path, sizeof ckpt_path, "/tmp/nnc_test_identity_%d.ckpt", (int)getpid());
  save_params(&tc, same ? tc.c.graph->identity : saved_identity);
  size_t len;
  FILE *err = open_memstream(message, &len);
  ExportModel m;
  bool ok = export_load(&m, &tc.c, ckpt_path, err);
  fclose(err);
  unlink(ckpt_path);
  tc_end(&tc);
  return ok;
}

START_TEST(test_export_checks_identity) {
  char *msg = NULL;
  ck_assert_msg(export_with(0, true, &msg), "%s", msg);
  free(msg);
  ck_assert(!export_with(0x1234, false, &msg));
  ck_assert_msg(strstr(msg, ckpt_path) && strstr(msg, "another version of model 'ident'") &&
                    strstr(msg, "0000000000001234"),
                "%s", msg);
  free(msg);
}
END_TEST

static Suite *identity_suite(void) {
  Suite *s = suite_create("identity");
  TCase *tc = tcase_create("identity");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_same_model_same_identity);
  tcase_add_test(tc, test_identity_follows_the_graph);
  tcase_add_test(tc, test_identity_ignores_layout_and_comments);
  tcase_add_test(tc, test_export_checks_identity);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(identity_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
