/*
 * test_plot.c — rt_plot.c and rt_report.c: every plot drawn from synthetic
 * data (a 12-epoch history, 10 classes of 28x28 images, dense and conv
 * kernels) is a PNG of the expected size that is not blank (decoded with
 * libpng: its grey levels vary), the charts have an SVG too, history.csv
 * reads back, report.html names each plot, and a missing gnuplot is a
 * warning, not a crash.
 *
 * `test_plot --run-dir DIR` writes the synthetic run and its report into DIR
 * and exits: the browser test (tests/run_report_browser.sh) opens that.
 */
#define _XOPEN_SOURCE 700
#include "nnc_runtime.h"

#include <check.h>
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_CLASSES 10
#define N_TEST 600
#define SIDE 28
#define EPOCHS 12

static const char *const NAMES[N_CLASSES] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                             "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                             "Bag",         "Ankle boot"};

/* ---- synthetic run ---- */

static uint32_t lcg_state = 12345;
static double uniform(void) { /* deterministic, so the pictures are the same each run */
  lcg_state = lcg_state * 1664525u + 1013904223u;
  return (lcg_state >> 8) * (1.0 / 16777216.0);
}

static void write_history(const char *dir) {
  char path[4096];
  rt_path_join(path, sizeof path, dir, "history.csv");
  FILE *f = rt_fopen(path, "w"); /* not ck_assert: --run-dir runs outside Check */
  fputs("epoch,loss,accuracy,auc,val_loss,val_accuracy,val_auc,lr,seconds\n", f);
  for (int e = 1; e <= EPOCHS; e++) {
    double loss = 0.3 + 0.6 * exp(-0.35 * e), val = 0.36 + 0.5 * exp(-0.4 * e) + 0.004 * e;
    fprintf(f, "%d,%f,%f,%f,%f,%f,%f,%.9g,%f\n", e, loss, 1 - loss / 1.6, 1 - loss / 8, val,
            1 - val / 1.5, 1 - val / 7, e < 7 ? 1e-3 : 5e-4, 0.4 + 0.05 * (e % 3));
  }
  fclose(f);
}

/* Class c's scores: its own column high, a confusable neighbour second. */
static void make_predictions(float *probs /* (N_TEST, N_CLASSES) */, uint8_t *labels) {
  for (int i = 0; i < N_TEST; i++) {
    int c = i % N_CLASSES;
    labels[i] = (uint8_t)c;
    double logits[N_CLASSES], sum = 0;
    for (int j = 0; j < N_CLASSES; j++)
      logits[j] = 3.0 * uniform() + (j == c ? 2.5 : j == (c + 6) % N_CLASSES ? 1.5 : 0);
    for (int j = 0; j < N_CLASSES; j++)
      sum += exp(logits[j]);
    for (int j = 0; j < N_CLASSES; j++)
      probs[i * N_CLASSES + j] = (float)(exp(logits[j]) / sum);
  }
}

/* A ring whose radius says the class, plus noise. */
static void make_images(uint8_t *images /* (N_TEST, SIDE, SIDE, 1) */, const uint8_t *labels) {
  for (int i = 0; i < N_TEST; i++)
    for (int y = 0; y < SIDE; y++)
      for (int x = 0; x < SIDE; x++) {
        double r = hypot(x - 13.5, y - 13.5), ring = fabs(r - 3 - labels[i]);
        double v = 255 * exp(-ring * ring / 4) + 40 * uniform();
        images[(i * SIDE + y) * SIDE + x] = (uint8_t)(v > 255 ? 255 : v);
      }
}

static void write_metrics(const char *dir, const float *probs, const uint8_t *labels) {
  RtConfusion cm;
  double auc[N_CLASSES];
  char path[4096];
  rt_confusion_init(&cm, N_CLASSES);
  for (int i = 0; i < N_TEST; i++) {
    int best = 0;
    for (int j = 1; j < N_CLASSES; j++)
      best = probs[i * N_CLASSES + j] > probs[i * N_CLASSES + best] ? j : best;
    rt_confusion_add(&cm, labels[i], best);
  }
  rt_roc_auc_columns(auc, probs, labels, NULL, N_TEST, N_CLASSES);
  rt_path_join(path, sizeof path, dir, "metrics.json");
  rt_metrics_write_json(path, &cm, NAMES, 0.61, rt_confusion_accuracy(&cm), 9, auc);
  rt_confusion_free(&cm);
}

/* A dense kernel (SIDE * SIDE, units): unit u likes a blob and dislikes its mirror. */
static float *make_dense_kernel(int units) {
  float *k = malloc(sizeof(float) * SIDE * SIDE * units);
  for (int u = 0; u < units; u++) {
    double cx = 6 + (u * 7) % 16, cy = 6 + (u * 3) % 16;
    for (int p = 0; p < SIDE * SIDE; p++) {
      int x = p % SIDE, y = p / SIDE;
      double a = hypot(x - cx, y - cy), b = hypot(x - (27 - cx), y - (27 - cy));
      k[p * units + u] = (float)(exp(-a * a / 18) - exp(-b * b / 18) + 0.1 * (uniform() - 0.5));
    }
  }
  return k;
}

static float *make_conv_kernel(int kh, int kw, int c, int filters) {
  int n = kh * kw * c * filters;
  float *k = malloc(sizeof(float) * n);
  for (int i = 0; i < n; i++)
    k[i] = (float)(uniform() - 0.5);
  return k;
}

static const RtKeyValue HYPER[] = {{"optimizer", "adam(learning_rate=0.001)"},
                                   {"batch_size", "32"},
                                   {"epochs", "12"},
                                   {"loss", "sparse_categorical_crossentropy"}};

/* The whole synthetic run in dir, its report drawn; returns rt_report_run_dir's result. */
static int make_run(const char *dir) {
  static float probs[N_TEST * N_CLASSES];
  static uint8_t labels[N_TEST], images[N_TEST * SIDE * SIDE];
  lcg_state = 12345;
  make_predictions(probs, labels);
  make_images(images, labels);
  write_history(dir);
  write_metrics(dir, probs, labels);
  float *kernel = make_dense_kernel(32);
  RtReportInputs in = {
      .model_name = "synthetic_mlp",
      .summary_text = "Layer (type)        Output Shape    Param #\n"
                      "dense (Dense)       (None, 32)      25120\n"
                      "dense_1 (Dense)     (None, 10)      330\n"
                      "Total params: 25,450\n",
      .source_text = "model synthetic_mlp {\n  input x: image(28, 28, 1)\n"
                     "  h = dense(flatten(x), 32, activation=relu)\n"
                     "  return dense(h, 10, activation=softmax)\n}\n",
      .hyper = HYPER,
      .n_hyper = 4,
      .stopped_epoch = EPOCHS,
      .class_names = NAMES,
      .n_classes = N_CLASSES,
      .test_probs = probs,
      .test_labels = labels,
      .n_test = N_TEST,
      .test_images = images,
      .image_h = SIDE,
      .image_w = SIDE,
      .image_c = 1,
      .first_kind = RT_FIRST_DENSE,
      .first_kernel = kernel,
      .kernel_dims = {SIDE * SIDE, 32},
  };
  int drawn = rt_report_run_dir(dir, &in);
  free(kernel);
  return drawn;
}

/* ---- checking a PNG ---- */

/* Decodes path; checks its size and that its grey levels vary (stddev over
 * 10 of 255 and more than 1% of the pixels away from the background). */
static void check_png(const char *dir, const char *name, int width, int height) {
  char path[4096];
  rt_path_join(path, sizeof path, dir, name);
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  ck_assert_msg(png_image_begin_read_from_file(&image, path), "%s: not a PNG: %s", path,
                image.message);
  ck_assert_msg((int)image.width == width && (int)image.height == height,
                "%s: %ux%u, expected %dx%d", path, image.width, image.height, width, height);
  image.format = PNG_FORMAT_GRAY;
  png_bytep pixels = malloc(PNG_IMAGE_SIZE(image));
  ck_assert(png_image_finish_read(&image, NULL, pixels, 0, NULL));
  size_t n = (size_t)image.width * image.height, inked = 0;
  double sum = 0, sum2 = 0;
  for (size_t i = 0; i < n; i++) {
    sum += pixels[i];
    sum2 += (double)pixels[i] * pixels[i];
    inked += pixels[i] != pixels[0];
  }
  double mean = sum / n, sd = sqrt(sum2 / n - mean * mean);
  free(pixels);
  ck_assert_msg(sd > 10 && inked > n / 100, "%s looks blank: stddev %.1f, %zu of %zu pixels inked",
                path, sd, inked, n);
}

static void check_svg(const char *dir, const char *name) {
  char path[4096];
  rt_path_join(path, sizeof path, dir, name);
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "%s missing", path);
  char head[512] = "";
  size_t got = fread(head, 1, sizeof head - 1, f);
  head[got] = '\0';
  fclose(f);
  ck_assert_msg(strstr(head, "<svg"), "%s: no <svg> element", path);
}

/* dir/report.html as text (up to 64 KiB). */
static const char *read_report(const char *dir) {
  static char html[1 << 16];
  char path[4096];
  rt_path_join(path, sizeof path, dir, "report.html");
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  html[fread(html, 1, sizeof html - 1, f)] = '\0';
  fclose(f);
  return html;
}

/* ---- tests ---- */

static char tmp_dir[256];

static void setup_tmp_dir(void) {
  const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(tmp_dir, sizeof tmp_dir, "%s/nnc_test_plot_XXXXXX", base);
  ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void teardown_tmp_dir(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
  ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_history_reads_back) {
  char path[4096], err[512];
  RtHistory h;
  write_history(tmp_dir);
  rt_path_join(path, sizeof path, tmp_dir, "history.csv");
  ck_assert_int_eq(rt_history_read(&h, path, err, sizeof err), 0);
  ck_assert_int_eq(h.n_rows, EPOCHS);
  ck_assert_int_eq(h.n_columns, 9);
  ck_assert_int_eq(rt_history_column(&h, "val_accuracy"), 5);
  ck_assert_int_eq(rt_history_column(&h, "precision"), -1);
  ck_assert_double_eq(rt_history_value(&h, 6, 7), 5e-4); /* epoch 7's lr */
  rt_history_free(&h);
  ck_assert_int_eq(rt_history_read(&h, "/nonexistent/history.csv", err, sizeof err), -1);
  ck_assert_ptr_nonnull(strstr(err, "/nonexistent/history.csv"));
}
END_TEST

START_TEST(test_every_plot_and_the_report) {
  if (!rt_plot_available())
    return; /* warned; the report still has to work: test_report_without_gnuplot */
  ck_assert_int_eq(make_run(tmp_dir), 8);
  check_png(tmp_dir, "training_curves.png", 1200, 920); /* loss, accuracy, auc: 2 x 2 */
  check_png(tmp_dir, "confusion_matrix.png", 860, 760);
  check_png(tmp_dir, "confusion_matrix_normalized.png", 860, 760);
  check_png(tmp_dir, "class_metrics.png", 900, 560);
  check_png(tmp_dir, "roc_curves.png", 1400, 760);
  check_png(tmp_dir, "confidence.png", 820, 520);
  check_png(tmp_dir, "misclassified.png", 860, 1173); /* 36 tiles of 140 px */
  check_png(tmp_dir, "first_layer_weights.png", 860, 1173); /* 32 units */
  const char *charts[] = {"training_curves.svg", "confusion_matrix.svg",
                          "confusion_matrix_normalized.svg", "class_metrics.svg",
                          "roc_curves.svg", "confidence.svg"};
  for (size_t i = 0; i < sizeof charts / sizeof *charts; i++)
    check_svg(tmp_dir, charts[i]);
  const char *html = read_report(tmp_dir);
  const char *expected[] = {"<img src=\"training_curves.png\"", "<img src=\"roc_curves.png\"",
                            "<img src=\"misclassified.png\"", "<img src=\"first_layer_weights.png\"",
                            "best: epoch 9", "final: epoch 12", "adam(learning_rate=0.001)",
                            "Total params: 25,450", "input x: image(28, 28, 1)", "Time per epoch"};
  for (size_t i = 0; i < sizeof expected / sizeof *expected; i++)
    ck_assert_msg(strstr(html, expected[i]), "report.html lacks %s", expected[i]);
  ck_assert_msg(!strstr(html, "<script") && !strstr(html, "http"), "report.html fetches");
}
END_TEST

START_TEST(test_conv_filters_rgb_and_grey) {
  if (!rt_plot_available())
    return;
  char base[4096];
  lcg_state = 7;
  float *rgb = make_conv_kernel(5, 5, 3, 8), *grey = make_conv_kernel(3, 3, 1, 16);
  rt_path_join(base, sizeof base, tmp_dir, "conv_rgb");
  ck_assert_int_eq(rt_plot_conv_filters(base, rgb, 5, 5, 3, 8), 0);
  rt_path_join(base, sizeof base, tmp_dir, "conv_grey");
  ck_assert_int_eq(rt_plot_conv_filters(base, grey, 3, 3, 1, 16), 0);
  free(rgb);
  free(grey);
  check_png(tmp_dir, "conv_rgb.png", 410, 553);  /* 3 x 3 tiles of 130 px */
  check_png(tmp_dir, "conv_grey.png", 540, 737); /* 4 x 4 */
}
END_TEST

/* Names with gnuplot's quote, escape and enhanced-text characters print as given. */
START_TEST(test_awkward_class_names) {
  if (!rt_plot_available())
    return;
  const char *names[] = {"it's", "back\\slash", "new\nline", "{x}^2_y @&"};
  RtClassStats stats[4] = {{0.5, 0.6, 0.55, 10}, {0.9, 0.8, 0.85, 10}, {0.2, 0.3, 0.25, 10},
                           {1.0, 1.0, 1.0, 10}};
  char base[4096];
  rt_path_join(base, sizeof base, tmp_dir, "odd names");
  ck_assert_int_eq(rt_plot_class_bars(base, stats, names, 4), 0);
  check_png(tmp_dir, "odd names.png", 900, 560);
}
END_TEST

/* Color test images (c = 3) go through rgbimage. */
START_TEST(test_misclassified_rgb) {
  if (!rt_plot_available())
    return;
  enum { N = 6, K = 3, S = 8 };
  static uint8_t images[N * S * S * 3];
  float probs[N * K];
  uint8_t labels[N];
  for (int i = 0; i < N * S * S * 3; i++)
    images[i] = (uint8_t)(i * 37);
  for (int i = 0; i < N; i++) {
    labels[i] = (uint8_t)(i % K);
    for (int j = 0; j < K; j++) /* every example is called class (i + 1) % K */
      probs[i * K + j] = j == (i + 1) % K ? 0.5f + 0.05f * i : (0.5f - 0.05f * i) / 2;
  }
  char base[4096];
  rt_path_join(base, sizeof base, tmp_dir, "rgb");
  ck_assert_int_eq(rt_plot_misclassified(base, images, S, S, 3, probs, labels, NULL, N, K, 36), 0);
  check_png(tmp_dir, "rgb.png", 410, 368); /* 6 tiles, 3 x 2, of 130 px */
}
END_TEST

START_TEST(test_dense_kernel_shape_mismatch_warns) {
  char base[4096];
  float kernel[12] = {0};
  rt_path_join(base, sizeof base, tmp_dir, "bad");
  ck_assert_int_eq(rt_plot_dense_weights(base, kernel, 6, 2, 28, 28, 1), -1);
}
END_TEST

START_TEST(test_report_without_gnuplot) {
  setenv("NNC_GNUPLOT", "/nonexistent/gnuplot", 1);
  ck_assert_int_eq(make_run(tmp_dir), 0); /* nothing drawn, a report all the same */
  char path[4096];
  rt_path_join(path, sizeof path, tmp_dir, "report.html");
  ck_assert_int_eq(access(path, R_OK), 0);
  rt_path_join(path, sizeof path, tmp_dir, "training_curves.png");
  ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(test_report_from_files_only) {
  if (!rt_plot_available())
    return;
  write_history(tmp_dir);
  ck_assert_int_eq(rt_report_run_dir(tmp_dir, NULL), 1); /* curves; no metrics.json */
  check_png(tmp_dir, "training_curves.png", 1200, 920);
}
END_TEST

/* nnc compare's overlay: two runs of different lengths, one legend. */
START_TEST(test_histories_overlaid) {
  if (!rt_plot_available())
    return;
  char path[4096], err[512], base[4096];
  RtHistory full, short_run;
  write_history(tmp_dir);
  rt_path_join(path, sizeof path, tmp_dir, "history.csv");
  ck_assert_int_eq(rt_history_read(&full, path, err, sizeof err), 0);
  ck_assert_int_eq(rt_history_read(&short_run, path, err, sizeof err), 0);
  short_run.n_rows = 5; /* stopped early */
  for (int r = 0; r < short_run.n_rows; r++) /* a worse run: loss 0.1 higher */
    short_run.values[r * short_run.n_columns + 1] += 0.1;
  const RtHistory *runs[] = {&full, &short_run};
  const char *labels[] = {"mlp", "cnn"};
  rt_path_join(base, sizeof base, tmp_dir, "compare_curves");
  ck_assert_int_eq(rt_plot_histories(base, runs, labels, 2, "mlp vs cnn"), 0);
  check_png(tmp_dir, "compare_curves.png", 1200, 920);
  check_svg(tmp_dir, "compare_curves.svg");
  rt_history_free(&full);
  rt_history_free(&short_run);
}
END_TEST

/* labels binary: metrics.json has targets, not classes; their bars are drawn. */
START_TEST(test_report_binary_targets) {
  if (!rt_plot_available())
    return;
  char path[4096];
  const char *targets[] = {"upper body", "footwear"};
  RtBinaryStats stats[2] = {{40, 10, 5, 45, 0.8, 40.0 / 45, 0.84, 0.91},
                            {30, 2, 20, 48, 30.0 / 32, 0.6, 0.73, 0.88}};
  rt_path_join(path, sizeof path, tmp_dir, "metrics.json");
  rt_binary_write_json(path, stats, targets, 2, 0.3, 0.82, 4);
  ck_assert_int_eq(rt_report_run_dir(tmp_dir, NULL), 1);
  check_png(tmp_dir, "class_metrics.png", 900, 560);
  const char *html = read_report(tmp_dir);
  ck_assert_ptr_nonnull(strstr(html, "<th>binary accuracy</th>"));
  ck_assert_ptr_nonnull(strstr(html, "<td>0.8950</td>")); /* macro AUC (0.91 + 0.88) / 2 */
}
END_TEST

static Suite *plot_suite(void) {
  Suite *s = suite_create("rt_plot");
  TCase *tc = tcase_create("plots");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup_tmp_dir, teardown_tmp_dir);
  tcase_add_test(tc, test_history_reads_back);
  tcase_add_test(tc, test_every_plot_and_the_report);
  tcase_add_test(tc, test_conv_filters_rgb_and_grey);
  tcase_add_test(tc, test_awkward_class_names);
  tcase_add_test(tc, test_misclassified_rgb);
  tcase_add_test(tc, test_dense_kernel_shape_mismatch_warns);
  tcase_add_test(tc, test_report_without_gnuplot);
  tcase_add_test(tc, test_report_from_files_only);
  tcase_add_test(tc, test_report_binary_targets);
  tcase_add_test(tc, test_histories_overlaid);
  suite_add_tcase(s, tc);
  return s;
}

/* `test_plot --png-stats FILE` for the browser test: "WIDTH HEIGHT STDDEV
 * COLORED", COLORED the share of pixels whose channels differ by over 60
 * (plot colors; the report's own text and rules are grey). */
static int png_stats(const char *path) {
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path)) {
    fprintf(stderr, "%s: %s\n", path, image.message);
    return EXIT_FAILURE;
  }
  image.format = PNG_FORMAT_RGB;
  png_bytep px = malloc(PNG_IMAGE_SIZE(image));
  if (!px || !png_image_finish_read(&image, NULL, px, 0, NULL))
    return EXIT_FAILURE;
  size_t n = (size_t)image.width * image.height, colored = 0;
  double sum = 0, sum2 = 0;
  for (size_t i = 0; i < n; i++) {
    int r = px[3 * i], g = px[3 * i + 1], b = px[3 * i + 2];
    int hi = r > g ? (r > b ? r : b) : (g > b ? g : b), lo = r < g ? (r < b ? r : b) : (g < b ? g : b);
    double grey = (r + g + b) / 3.0;
    sum += grey;
    sum2 += grey * grey;
    colored += hi - lo > 60;
  }
  double mean = sum / n;
  printf("%u %u %.2f %.4f\n", image.width, image.height, sqrt(sum2 / n - mean * mean),
         (double)colored / n);
  free(px);
  return EXIT_SUCCESS;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--png-stats") == 0)
    return png_stats(argv[2]);
  if (argc == 3 && strcmp(argv[1], "--run-dir") == 0) {
    rt_mkdir_p(argv[2]);
    int drawn = make_run(argv[2]);
    printf("%s: %d plots and report.html\n", argv[2], drawn);
    return drawn > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
  }
  SRunner *sr = srunner_create(plot_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
