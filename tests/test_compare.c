/*
 * test_compare.c — `nnc compare`'s pieces: the FLOPs of a forward pass per
 * example, counted from the shaped IR (a multiply-add is 2), and the layer
 * diff (added, removed, changed by class, output shape or parameters).
 */
#include "compiler_test.h"

#include <stdlib.h>

#define DATA_TRAIN                                                                        \
  "data d { validation last 100 }\n"                                                        \
  "train { loss sparse_categorical_crossentropy(from_logits=true) }\n"

static const Graph *shaped(TestCompile *tc, const char *text) {
  ck_assert_msg(tc_run(tc, text, PASS_SHAPE), "compile failed:\n%s", tc_err(tc));
  return tc->c.graph;
}

/* dense 784 -> 64 -> 10: 2 (784 64 + 64 10) */
START_TEST(test_flops_dense) {
  TestCompile tc;
  const Graph *g = shaped(&tc, "model m(x: u8[28, 28]) {\n  h = dense(flatten(x), 64)\n"
                               "  return dense(h, 10)\n}\n" DATA_TRAIN);
  ck_assert_double_eq(compare_flops(g), 2.0 * (784 * 64 + 64 * 10));
  tc_end(&tc);
}
END_TEST

/* conv 3x3, 1 -> 8 channels, valid on 28x28: 26 26 8 outputs of 9 MACs each,
 * then dense 5408 -> 10 */
START_TEST(test_flops_conv) {
  TestCompile tc;
  const Graph *g = shaped(&tc, "model m(x: u8[28, 28, 1]) {\n  h = conv2d(x, 8, 3)\n"
                               "  return dense(flatten(h), 10)\n}\n" DATA_TRAIN);
  ck_assert_double_eq(compare_flops(g), 2.0 * (26 * 26 * 8 * 9 + 26 * 26 * 8 * 10));
  tc_end(&tc);
}
END_TEST

static char *diff_text(const CompareLayer *a, int na, const CompareLayer *b, int nb, int *lines) {
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  *lines = compare_diff(f, a, na, b, nb);
  fclose(f);
  return text;
}

START_TEST(test_layer_diff) {
  const CompareLayer a[] = {{"dense", "Dense", "(B, 64)", 50240},
                            {"dropout", "Dropout", "(B, 64)", 0},
                            {"dense_1", "Dense", "(B, 10)", 650}};
  const CompareLayer b[] = {{"dense", "Dense", "(B, 128)", 100480},
                            {"dense_1", "Dense", "(B, 10)", 650},
                            {"batch_norm", "BatchNormalization", "(B, 10)", 40}};
  int lines;
  char *text = diff_text(a, 3, b, 3, &lines);
  ck_assert_int_eq(lines, 3);
  ck_assert_str_eq(text, "  ~ dense: Dense (B, 64) 50240 params -> Dense (B, 128) 100480 params\n"
                         "  - dropout (Dropout) (B, 64), 0 params\n"
                         "  + batch_norm (BatchNormalization) (B, 10), 40 params\n");
  free(text);
  text = diff_text(a, 3, a, 3, &lines); /* the same layers: no line */
  ck_assert_int_eq(lines, 0);
  free(text);
}
END_TEST

/* compare_layers reads names, classes, shapes and parameters off the graph */
START_TEST(test_layers_of_graph) {
  TestCompile tc;
  const Graph *g = shaped(&tc, "model m(x: u8[28, 28]) {\n  h = dense(flatten(x), 64)\n"
                               "  return dense(h, 10)\n}\n" DATA_TRAIN);
  CompareLayer layers[COMPARE_MAX_LAYERS];
  int n;
  compare_layers(g, layers, &n);
  int dense = -1;
  for (int i = 0; i < n; i++)
    if (!strcmp(layers[i].name, "dense"))
      dense = i;
  ck_assert_int_ge(dense, 0);
  ck_assert_str_eq(layers[dense].kind, "Dense");
  ck_assert_uint_eq(layers[dense].params, 784 * 64 + 64);
  tc_end(&tc);
}
END_TEST

static Suite *compare_suite(void) {
  Suite *s = suite_create("compare");
  TCase *tc = tcase_create("compare");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_flops_dense);
  tcase_add_test(tc, test_flops_conv);
  tcase_add_test(tc, test_layer_diff);
  tcase_add_test(tc, test_layers_of_graph);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tc_run_suite(compare_suite()); }
