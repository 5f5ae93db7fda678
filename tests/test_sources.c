/*
 * test_sources.c — Check suite for the data sources: rt_image.c (PNG and
 * JPEG decoding, channel conversion, bilinear resize against hand-computed
 * values), rt_folder.c (image folders, the validation split, bad images),
 * rt_loader.c (the background loader yields the in-memory path's batches)
 * and rt_sources.c (CSV, .npy, CIFAR-10).
 *
 * Every file is generated here, in a fresh temp directory per test (PNG and
 * JPEG with libpng and libjpeg through image_files.h): no data set is read.
 * PNG pixels are compared exactly, JPEG ones within a tolerance. Every
 * failure path is checked for its exit status and for naming the file.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw, truncate */
#include "nnc_runtime.h"
#include "child_test.h"
#include "image_files.h"

#include <check.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers: temp directory, files, child runs ---- */

#include "tmpdir_test.h"

static void make_dir(const char *name) {
  ck_assert_int_eq(mkdir(tmp_path(name), 0777), 0);
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  ck_assert_int_eq(fclose(f), 0);
}

static void write_bytes(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

static long file_size(const char *path) {
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  return (long)st.st_size;
}

static void assert_dies_naming(ChildResult r, const char *path, const char *words) {
  ck_assert_msg(r.status == 1, "exit status %d, stderr: %s", r.status, r.err);
  ck_assert_msg(strstr(r.err, path), "stderr does not name %s: %s", path, r.err);
  ck_assert_msg(strstr(r.err, words), "stderr lacks '%s': %s", words, r.err);
}

/* rt_image_try_load fails with a message naming path and containing words. */
static void assert_image_fails(const char *path, const char *words) {
  uint8_t out[64 * 64 * 3];
  char err[1024] = "";
  ck_assert_int_eq(rt_image_try_load(path, 3, 4, 4, out, err, sizeof err), -1);
  ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "message does not start with %s: %s",
                path, err);
  ck_assert_msg(strstr(err, words), "message lacks '%s': %s", words, err);
}

/* ---- PNG decoding and channels: exact values ---- */

/* A 3x2 RGB image with values whose luma is computed by hand below. */
static const uint8_t RGB6[18] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 255, 255, 255, 0, 0, 0};
/* PIL's convert('L'): R 299/1000 + G 587/1000 + B 114/1000, rounded:
 * 76.245, 149.685, 29.07, 18.15, 255, 0 */
static const uint8_t RGB6_LUMA[6] = {76, 150, 29, 18, 255, 0};

START_TEST(test_png_grey_exact_and_replicated) {
  const uint8_t grey[6] = {0, 1, 127, 128, 254, 255};
  const char *path = tmp_path("grey.png");
  ck_assert_int_eq(write_png(path, 3, 2, 1, grey), 0);
  uint8_t out1[6], out3[18];
  rt_image_load(path, 1, 2, 3, out1);
  ck_assert_mem_eq(out1, grey, 6);
  rt_image_load(path, 3, 2, 3, out3);
  for (int i = 0; i < 6; i++)
    for (int c = 0; c < 3; c++)
      ck_assert_int_eq(out3[3 * i + c], grey[i]);
}
END_TEST

START_TEST(test_png_rgb_exact_and_luma) {
  const char *path = tmp_path("rgb.png");
  ck_assert_int_eq(write_png(path, 3, 2, 3, RGB6), 0);
  uint8_t out3[18], out1[6];
  rt_image_load(path, 3, 2, 3, out3);
  ck_assert_mem_eq(out3, RGB6, 18);
  rt_image_load(path, 1, 2, 3, out1);
  ck_assert_mem_eq(out1, RGB6_LUMA, 6);
}
END_TEST

START_TEST(test_png_alpha_is_dropped) {
  uint8_t rgba[24], ga[12];
  for (int i = 0; i < 6; i++) {
    memcpy(rgba + 4 * i, RGB6 + 3 * i, 3);
    rgba[4 * i + 3] = (uint8_t)(40 * i); /* not composited: alpha is ignored */
    ga[2 * i] = (uint8_t)(50 * i);
    ga[2 * i + 1] = (uint8_t)(255 - i);
  }
  const char *p4 = tmp_path("rgba.png"), *p2 = tmp_path("ga.png");
  ck_assert_int_eq(write_png(p4, 3, 2, 4, rgba), 0);
  ck_assert_int_eq(write_png(p2, 3, 2, 2, ga), 0);
  uint8_t out3[18], out1[6];
  rt_image_load(p4, 3, 2, 3, out3);
  ck_assert_mem_eq(out3, RGB6, 18);
  rt_image_load(p4, 1, 2, 3, out1);
  ck_assert_mem_eq(out1, RGB6_LUMA, 6);
  rt_image_load(p2, 1, 2, 3, out1);
  for (int i = 0; i < 6; i++)
    ck_assert_int_eq(out1[i], 50 * i);
}
END_TEST

START_TEST(test_png_palette_16bit_1bit_interlaced) {
  /* palette: indices into 3 colours */
  const png_color pal[3] = {{255, 0, 0}, {10, 20, 30}, {0, 0, 255}};
  const uint8_t idx[6] = {0, 1, 2, 2, 1, 0};
  const char *pp = tmp_path("pal.png");
  ck_assert_int_eq(write_png_ex(pp, 3, 2, PNG_COLOR_TYPE_PALETTE, 8, idx, pal, 3, 0), 0);
  uint8_t out3[18], out1[6];
  rt_image_load(pp, 3, 2, 3, out3);
  for (int i = 0; i < 6; i++) {
    ck_assert_int_eq(out3[3 * i], pal[idx[i]].red);
    ck_assert_int_eq(out3[3 * i + 1], pal[idx[i]].green);
    ck_assert_int_eq(out3[3 * i + 2], pal[idx[i]].blue);
  }
  /* 16-bit grey: the high byte */
  const uint16_t g16[6] = {0x0000, 0x12ab, 0x7fff, 0x8000, 0xfeff, 0xffff};
  uint8_t be[12];
  for (int i = 0; i < 6; i++)
    be[2 * i] = (uint8_t)(g16[i] >> 8), be[2 * i + 1] = (uint8_t)g16[i];
  const char *p16 = tmp_path("g16.png");
  ck_assert_int_eq(write_png_ex(p16, 3, 2, PNG_COLOR_TYPE_GRAY, 16, be, NULL, 0, 0), 0);
  rt_image_load(p16, 1, 2, 3, out1);
  const uint8_t high[6] = {0x00, 0x12, 0x7f, 0x80, 0xfe, 0xff};
  ck_assert_mem_eq(out1, high, 6);
  /* 1-bit grey: 0 and 255; rows padded to a byte: 101 / 010 */
  const uint8_t bits[2] = {0xa0, 0x40};
  const char *p1 = tmp_path("g1.png");
  ck_assert_int_eq(write_png_ex(p1, 3, 2, PNG_COLOR_TYPE_GRAY, 1, bits, NULL, 0, 0), 0);
  rt_image_load(p1, 1, 2, 3, out1);
  const uint8_t expanded[6] = {255, 0, 255, 0, 255, 0};
  ck_assert_mem_eq(out1, expanded, 6);
  /* interlaced (Adam7) RGB, large enough to have every pass */
  uint8_t big[9 * 10 * 3];
  for (int i = 0; i < 9 * 10 * 3; i++)
    big[i] = (uint8_t)(i * 7);
  const char *pi = tmp_path("interlaced.png");
  ck_assert_int_eq(write_png_ex(pi, 9, 10, PNG_COLOR_TYPE_RGB, 8, big, NULL, 0, 1), 0);
  uint8_t outi[9 * 10 * 3];
  rt_image_load(pi, 3, 10, 9, outi);
  ck_assert_mem_eq(outi, big, sizeof big);
}
END_TEST

START_TEST(test_format_sniffed_not_extension) {
  const char *path = tmp_path("really_a_png.jpg");
  ck_assert_int_eq(write_png(path, 3, 2, 3, RGB6), 0);
  uint8_t out[18];
  rt_image_load(path, 3, 2, 3, out);
  ck_assert_mem_eq(out, RGB6, 18);
}
END_TEST

/* ---- resize: hand-computed tf.image.resize bilinear values ---- */

START_TEST(test_resize_2x2_to_4x4) {
  /* s = (o + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> taps (0,0,.75) (0,1,.25)
   * (0,1,.75) (1,1,.25); e.g. row 1, column 1: top 0 + 100 .25 = 25, bottom
   * 200 - 160 .25 = 160, 25 + 135 .25 = 58.75 -> 59 */
  const uint8_t in[4] = {0, 100, 200, 40};
  const uint8_t want[16] = {0,   25,  75, 100, /* */ 50,  59,  76, 85,
                            150, 126, 79, 55,  /* */ 200, 160, 80, 40};
  uint8_t out[16];
  rt_image_resize_bilinear(out, 4, 4, in, 2, 2, 1);
  ck_assert_mem_eq(out, want, 16);
}
END_TEST

START_TEST(test_resize_4x4_to_2x2) {
  /* s = (o + 0.5) 2 - 0.5 = 0.5, 2.5: each output is the mean of a 2x2
   * block, through float lerps; {0,1;1,0} gives 0.5, rounded half up to 1,
   * {0,1;0,0} gives 0.25 -> 0, {10,20;30,41} 25.25 -> 25, {255,...} 255 */
  const uint8_t in[16] = {0, 1, 0, 1, /* */ 1, 0, 0, 0,
                          10, 20, 255, 255, /* */ 30, 41, 255, 255};
  const uint8_t want[4] = {1, 0, 25, 255};
  uint8_t out[4];
  rt_image_resize_bilinear(out, 2, 2, in, 4, 4, 1);
  ck_assert_mem_eq(out, want, 4);
}
END_TEST

START_TEST(test_resize_channels_and_rectangles) {
  /* channels are independent: an RGB resize equals three grey ones */
  uint8_t rgb[5 * 3 * 3], plane[3][15], out_rgb[2 * 7 * 3], out_plane[3][14];
  for (int i = 0; i < 45; i++)
    rgb[i] = (uint8_t)((i * 37) % 251);
  for (int p = 0; p < 15; p++)
    for (int c = 0; c < 3; c++)
      plane[c][p] = rgb[3 * p + c];
  rt_image_resize_bilinear(out_rgb, 2, 7, rgb, 5, 3, 3);
  for (int c = 0; c < 3; c++) {
    rt_image_resize_bilinear(out_plane[c], 2, 7, plane[c], 5, 3, 1);
    for (int p = 0; p < 14; p++)
      ck_assert_int_eq(out_rgb[3 * p + c], out_plane[c][p]);
  }
  /* the same size is a copy; a constant image stays constant */
  uint8_t same[45], flat[12], flat_out[35];
  rt_image_resize_bilinear(same, 5, 3, rgb, 5, 3, 3);
  ck_assert_mem_eq(same, rgb, 45);
  memset(flat, 77, sizeof flat);
  rt_image_resize_bilinear(flat_out, 5, 7, flat, 3, 4, 1);
  for (int i = 0; i < 35; i++)
    ck_assert_int_eq(flat_out[i], 77);
}
END_TEST

START_TEST(test_load_resizes_after_conversion) {
  /* 2x2 RGB file to a 4x4 grey input: luma first (Keras), then resize */
  const uint8_t rgb[12] = {0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 255};
  const char *path = tmp_path("small.png");
  ck_assert_int_eq(write_png(path, 2, 2, 3, rgb), 0);
  const uint8_t luma[4] = {0, 255, 76, 29};
  uint8_t want[16], out[16];
  rt_image_resize_bilinear(want, 4, 4, luma, 2, 2, 1);
  rt_image_load(path, 1, 4, 4, out);
  ck_assert_mem_eq(out, want, 16);
}
END_TEST

/* ---- JPEG: within a tolerance ---- */

/* A smooth gradient (no wrap-around up to 16x16: at most 230). */
static void smooth_image(uint8_t *px, int w, int h, int channels) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < channels; c++)
        px[(y * w + x) * channels + c] = (uint8_t)(20 + 6 * x + 4 * y + 30 * c);
}

static int max_abs_diff(const uint8_t *a, const uint8_t *b, size_t n) {
  int worst = 0;
  for (size_t i = 0; i < n; i++) {
    int d = abs((int)a[i] - (int)b[i]);
    worst = d > worst ? d : worst;
  }
  return worst;
}

START_TEST(test_jpeg_rgb_and_grey_within_tolerance) {
  enum { W = 16, H = 16 };
  uint8_t rgb[W * H * 3], grey[W * H], out3[W * H * 3], out1[W * H], luma[W * H];
  smooth_image(rgb, W, H, 3);
  smooth_image(grey, W, H, 1);
  const char *pc = tmp_path("rgb.jpeg"), *pg = tmp_path("grey.jpg");
  ck_assert_int_eq(write_jpeg(pc, W, H, 3, rgb, 95), 0);
  ck_assert_int_eq(write_jpeg(pg, W, H, 1, grey, 95), 0);
  rt_image_load(pc, 3, H, W, out3);
  int d = max_abs_diff(out3, rgb, sizeof rgb);
  ck_assert_msg(d <= 6, "RGB JPEG max abs difference %d > 6", d);
  RtImage img = {H, W, 3, rgb};
  rt_image_convert(luma, &img, 1);
  rt_image_load(pc, 1, H, W, out1);
  d = max_abs_diff(out1, luma, sizeof luma);
  ck_assert_msg(d <= 6, "RGB JPEG as grey: max abs difference %d > 6", d);
  rt_image_load(pg, 1, H, W, out1);
  d = max_abs_diff(out1, grey, sizeof grey);
  ck_assert_msg(d <= 4, "grey JPEG max abs difference %d > 4", d);
  rt_image_load(pg, 3, H, W, out3); /* grey replicated to RGB */
  for (int i = 0; i < W * H; i++)
    ck_assert(out3[3 * i] == out3[3 * i + 1] && out3[3 * i] == out3[3 * i + 2]);
  const char *pp = tmp_path("progressive.jpg");
  ck_assert_int_eq(write_jpeg_ex(pp, W, H, 3, rgb, 95, 1), 0);
  rt_image_load(pp, 3, H, W, out3);
  d = max_abs_diff(out3, rgb, sizeof rgb);
  ck_assert_msg(d <= 6, "progressive JPEG max abs difference %d > 6", d);
}
END_TEST

/* ---- bad images: every message names the file ---- */

START_TEST(test_bad_images_name_the_file) {
  assert_image_fails(tmp_path("missing.png"), "cannot open");
  const char *empty = tmp_path("empty.png");
  write_text(empty, "");
  assert_image_fails(empty, "empty file");
  const char *text = tmp_path("notes.png");
  write_text(text, "this is not an image\n");
  assert_image_fails(text, "not a PNG or JPEG");
  const char *gif = tmp_path("anim.gif");
  write_text(gif, "GIF89a....");
  assert_image_fails(gif, "GIF images are not supported");
  /* truncated PNG and JPEG */
  uint8_t px[32 * 32 * 3];
  smooth_image(px, 32, 32, 3);
  const char *png = tmp_path("cut.png"), *jpg = tmp_path("cut.jpg");
  ck_assert_int_eq(write_png(png, 32, 32, 3, px), 0);
  ck_assert_int_eq(truncate(png, file_size(png) / 2), 0);
  assert_image_fails(png, "truncated");
  ck_assert_int_eq(write_jpeg(jpg, 32, 32, 3, px, 90), 0);
  ck_assert_int_eq(truncate(jpg, file_size(jpg) / 2), 0);
  assert_image_fails(jpg, "truncated");
  uint8_t cmyk[8 * 8 * 4];
  memset(cmyk, 100, sizeof cmyk);
  const char *pk = tmp_path("cmyk.jpg");
  ck_assert_int_eq(write_jpeg_ex(pk, 8, 8, 4, cmyk, 90, 0), 0);
  assert_image_fails(pk, "CMYK JPEG images are not supported");
  const char *stub = tmp_path("stub.jpg"); /* the magic bytes and nothing else */
  write_bytes(stub, "\xff\xd8\xff", 3);
  assert_image_fails(stub, "JPEG");
  /* a flipped byte inside the PNG's data: libpng's CRC check */
  const char *bad = tmp_path("crc.png");
  ck_assert_int_eq(write_png(bad, 32, 32, 3, px), 0);
  FILE *f = fopen(bad, "r+b");
  ck_assert_ptr_nonnull(f);
  fseek(f, 60, SEEK_SET);
  int ch = fgetc(f);
  fseek(f, 60, SEEK_SET);
  fputc(ch ^ 0xff, f);
  fclose(f);
  assert_image_fails(bad, "corrupt");
}
END_TEST

static void load_text_as_image(void *path) {
  uint8_t out[16];
  rt_image_load(path, 1, 4, 4, out);
}

START_TEST(test_image_load_dies_naming_file) {
  const char *text = tmp_path("notes.png");
  write_text(text, "hello");
  assert_dies_naming(run_in_child(load_text_as_image, (void *)text), text, "not a PNG or JPEG");
}
END_TEST

/* ---- image folders ---- */

/* Image n of a class: a 4x3 grey PNG whose pixels are all 10 * label + n. */
static void write_class_image(const char *name, int value) {
  uint8_t px[12];
  memset(px, value, sizeof px);
  ck_assert_int_eq(write_png(tmp_path(name), 3, 4, 1, px), 0);
}

/* classes "B", "a", "c" (byte order: B < a < c); a/ has a nested folder,
 * files in scrambled order, non-image files, an upper-case extension. */
static void write_folder(void) {
  make_dir("data");
  make_dir("data/a");
  make_dir("data/B");
  make_dir("data/c");
  make_dir("data/a/sub");
  write_class_image("data/a/z.png", 12);
  write_class_image("data/a/m.PNG", 11);
  write_class_image("data/a/sub/b.png", 13);
  write_class_image("data/a/a.png", 10);
  write_text(tmp_path("data/a/readme.txt"), "not an image");
  write_class_image("data/B/y.png", 1);
  write_class_image("data/B/x.png", 0);
  write_class_image("data/c/only.png", 20);
  write_text(tmp_path("data/c/.DS_Store"), "junk");
  write_text(tmp_path("data/stray.png"), "a file at the top is not a class");
}

START_TEST(test_folder_listing_order) {
  write_folder();
  RtFileList files;
  RtClassNames classes;
  rt_image_folder_list(&files, &classes, tmp_path("data"));
  ck_assert_int_eq(classes.count, 3);
  ck_assert_str_eq(classes.names[0], "B");
  ck_assert_str_eq(classes.names[1], "a");
  ck_assert_str_eq(classes.names[2], "c");
  const char *want[] = {"data/B/x.png", "data/B/y.png", "data/a/a.png", "data/a/m.PNG",
                        "data/a/z.png", "data/a/sub/b.png", "data/c/only.png"};
  const int labels[] = {0, 0, 1, 1, 1, 1, 2};
  ck_assert_int_eq(files.count, 7);
  for (int i = 0; i < 7; i++) {
    ck_assert_str_eq(files.paths[i], tmp_path(want[i]));
    ck_assert_int_eq(files.labels[i], labels[i]);
  }
  RtDataset ds;
  ck_assert_int_eq(rt_dataset_from_files(&ds, &files, 4, 3, 1, 0), 0);
  const int values[] = {0, 1, 10, 11, 12, 13, 20};
  ck_assert_int_eq(ds.count, 7);
  ck_assert_int_eq(ds.rows, 4);
  ck_assert_int_eq(ds.cols, 3);
  ck_assert_int_eq(ds.channels, 1);
  for (int i = 0; i < 7; i++) {
    ck_assert_int_eq(ds.y[i], labels[i]);
    for (int k = 0; k < 12; k++)
      ck_assert_int_eq(ds.x[i * 12 + k], values[i]);
  }
  rt_dataset_free(&ds);
  rt_file_list_free(&files);
  rt_class_names_free(&classes);
}
END_TEST

/* data/p and data/q: 25 images of values 0..24, image i in q when i % k. */
static void write_two_classes(int k) {
  make_dir("data");
  make_dir("data/p");
  make_dir("data/q");
  char name[64];
  for (int i = 0; i < 25; i++) {
    snprintf(name, sizeof name, "data/%s/%02d.png", i % k ? "q" : "p", i);
    write_class_image(name, i);
  }
}

START_TEST(test_folder_split_is_seeded_partition) {
  write_two_classes(2);
  RtFolderOptions opt = {.validation_split = 0.2, .seed = 7};
  RtDataset train, val, train2, val2;
  RtClassNames classes, classes2;
  ck_assert_int_eq(rt_dataset_load_image_folder(&train, &val, &classes, tmp_path("data"), 4, 3,
                                                1, &opt),
                   0);
  ck_assert_int_eq(val.count, 5); /* int(0.2 * 25) */
  ck_assert_int_eq(train.count, 20);
  int seen[25] = {0};
  for (int i = 0; i < train.count; i++)
    seen[train.x[12 * i]]++;
  for (int i = 0; i < val.count; i++)
    seen[val.x[12 * i]]++;
  for (int i = 0; i < 25; i++) {
    ck_assert_int_eq(seen[i], 1);
  }
  for (int i = 0; i < train.count; i++) /* labels travel with their images */
    ck_assert_int_eq(train.y[i], train.x[12 * i] % 2);
  rt_dataset_load_image_folder(&train2, &val2, &classes2, tmp_path("data"), 4, 3, 1, &opt);
  ck_assert_mem_eq(train.x, train2.x, train.item_size * 20);
  ck_assert_mem_eq(val.x, val2.x, val.item_size * 5);
  rt_dataset_free(&train2);
  rt_dataset_free(&val2);
  rt_class_names_free(&classes2);
  opt.seed = 8;
  rt_dataset_load_image_folder(&train2, &val2, &classes2, tmp_path("data"), 4, 3, 1, &opt);
  ck_assert_msg(memcmp(val.x, val2.x, val.item_size * 5) != 0, "another seed, same split");
  rt_dataset_free(&train);
  rt_dataset_free(&val);
  rt_dataset_free(&train2);
  rt_dataset_free(&val2);
  rt_class_names_free(&classes);
  rt_class_names_free(&classes2);
}
END_TEST

/* Every example of the streamed ds, decoded, is the in-memory ds's. */
static void assert_streamed_is(const RtDataset *streamed, const RtDataset *decoded) {
  ck_assert_ptr_nonnull(streamed->paths);
  ck_assert_ptr_null(streamed->x);
  ck_assert_int_eq(streamed->count, decoded->count);
  uint8_t item[64];
  char err[256];
  for (int i = 0; i < streamed->count; i++) {
    ck_assert_int_eq(rt_image_try_load(streamed->paths[i], 1, 4, 3, item, err, sizeof err), 0);
    ck_assert_mem_eq(item, decoded->x + decoded->item_size * i, decoded->item_size);
    ck_assert_int_eq(streamed->y[i], decoded->y[i]);
  }
}

/* stream 2 streams over the budget only; a streamed set is the decoded one
 * as file names, through the split, keep, a slice and oversampling. */
START_TEST(test_folder_streamed_is_the_decoded_set) {
  write_two_classes(3);
  RtFolderOptions opt = {.validation_split = 0.2, .seed = 7, .stream = 2, .budget_bytes = 300};
  RtDataset train, val, mtrain, mval;
  RtClassNames classes;
  rt_dataset_load_image_folder(&mtrain, &mval, &classes, tmp_path("data"), 4, 3, 1, &opt);
  ck_assert_ptr_null(mtrain.paths); /* 25 x 12 bytes fit 300 */
  rt_class_names_free(&classes);
  opt.budget_bytes = 299;
  rt_dataset_load_image_folder(&train, &val, &classes, tmp_path("data"), 4, 3, 1, &opt);
  assert_streamed_is(&train, &mtrain);
  assert_streamed_is(&val, &mval);
  const int keep_class[] = {1}, keep_count[] = {5};
  rt_dataset_keep(&train, keep_class, keep_count, 1, 3);
  rt_dataset_keep(&mtrain, keep_class, keep_count, 1, 3);
  assert_streamed_is(&train, &mtrain);
  rt_dataset_oversample(&train, 2, 9);
  rt_dataset_oversample(&mtrain, 2, 9);
  assert_streamed_is(&train, &mtrain);
  RtDataset head, mhead;
  rt_dataset_slice(&head, &train, 2, 6);
  rt_dataset_slice(&mhead, &mtrain, 2, 6);
  assert_streamed_is(&head, &mhead);
  RtDataset *all[] = {&train, &val, &mtrain, &mval, &head, &mhead};
  for (int i = 0; i < 6; i++)
    rt_dataset_free(all[i]);
  rt_class_names_free(&classes);
}
END_TEST

START_TEST(test_folder_skip_bad_counts) {
  write_folder();
  write_text(tmp_path("data/a/broken.png"), "\x89PNG\r\n\x1a\n garbage");
  RtFolderOptions opt = {.skip_bad = 1};
  RtDataset train;
  RtClassNames classes;
  int skipped = rt_dataset_load_image_folder(&train, NULL, &classes, tmp_path("data"), 4, 3, 1,
                                             &opt);
  ck_assert_int_eq(skipped, 1);
  ck_assert_int_eq(train.count, 7);
  rt_dataset_free(&train);
  rt_class_names_free(&classes);
}
END_TEST

static void load_folder_strict(void *dir) {
  RtFolderOptions opt = {0};
  RtDataset train;
  RtClassNames classes;
  rt_dataset_load_image_folder(&train, NULL, &classes, dir, 4, 3, 1, &opt);
}

START_TEST(test_folder_bad_image_dies_naming_it) {
  write_folder();
  const char *broken = tmp_path("data/a/broken.png");
  write_text(broken, "\x89PNG\r\n\x1a\n garbage");
  assert_dies_naming(run_in_child(load_folder_strict, (void *)tmp_path("data")), broken,
                     "truncated PNG");
}
END_TEST

START_TEST(test_folder_errors_name_the_folder) {
  write_folder();
  make_dir("data/empty_class");
  write_text(tmp_path("data/empty_class/notes.txt"), "no images here");
  assert_dies_naming(run_in_child(load_folder_strict, (void *)tmp_path("data")),
                     tmp_path("data/empty_class"), "holds no image files");
  make_dir("flat");
  write_class_image("flat/a.png", 1);
  assert_dies_naming(run_in_child(load_folder_strict, (void *)tmp_path("flat")),
                     tmp_path("flat"), "no class subfolders");
  assert_dies_naming(run_in_child(load_folder_strict, (void *)tmp_path("nowhere")),
                     tmp_path("nowhere"), "cannot open folder");
}
END_TEST

static void check_test_classes(void *arg) {
  (void)arg;
  RtFileList train_files;
  RtClassNames train;
  RtDataset test;
  rt_image_folder_list(&train_files, &train, tmp_path("data"));
  rt_dataset_load_image_test_folder(&test, tmp_path("test"), &train, tmp_path("data"), 4, 3, 1,
                                    0);
  if (test.count != 3 || test.y[0] != 0 || test.y[2] != 2 || test.x[12] != 11)
    _exit(3);
}

START_TEST(test_test_folder_classes_must_match) {
  write_folder();
  make_dir("test");
  make_dir("test/B");
  make_dir("test/a");
  make_dir("test/d");
  write_class_image("test/B/1.png", 1);
  write_class_image("test/a/1.png", 11);
  write_class_image("test/d/1.png", 1);
  ChildResult r = run_in_child(check_test_classes, NULL);
  assert_dies_naming(r, tmp_path("test"), "different classes");
  ck_assert_msg(strstr(r.err, tmp_path("data")), "does not name the training folder: %s", r.err);
  ck_assert_msg(strstr(r.err, "'d'") && strstr(r.err, "'c'"), "does not name the classes: %s",
                r.err);
  /* the same classes pass */
  nftw(tmp_path("test/d"), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  make_dir("test/c");
  write_class_image("test/c/1.png", 1);
  ck_assert_int_eq(run_in_child(check_test_classes, NULL).status, 0);
}
END_TEST

/* ---- the background loader ---- */

/* 23 RGB PNGs of different sizes (resized on load), 3 classes. */
static void write_loader_folder(RtFileList *files, RtClassNames *classes) {
  make_dir("imgs");
  char name[64];
  for (int c = 0; c < 3; c++) {
    snprintf(name, sizeof name, "imgs/class%d", c);
    make_dir(name);
  }
  for (int i = 0; i < 23; i++) {
    int w = 5 + i % 4, h = 6 + i % 3;
    uint8_t px[8 * 8 * 3];
    for (int k = 0; k < w * h * 3; k++)
      px[k] = (uint8_t)(i * 11 + k * 3);
    snprintf(name, sizeof name, "imgs/class%d/img%02d.png", i % 3, i);
    ck_assert_int_eq(write_png(tmp_path(name), w, h, 3, px), 0);
  }
  rt_image_folder_list(files, classes, tmp_path("imgs"));
}

START_TEST(test_loader_matches_in_memory_batches) {
  RtFileList files;
  RtClassNames classes;
  write_loader_folder(&files, &classes);
  RtDataset all;
  rt_dataset_from_files(&all, &files, 6, 5, 3, 0);
  int order[23];
  for (int i = 0; i < 23; i++)
    order[i] = i;
  RtRng rng;
  rt_rng_seed(&rng, 3);
  rt_rng_shuffle(&rng, order, 23);
  const int configs[][3] = {{7, 1, 1}, {7, 3, 2}, {4, 2, 3}, {23, 1, 2}, {50, 4, 4}};
  for (size_t k = 0; k < sizeof configs / sizeof configs[0]; k++) {
    int batch = configs[k][0];
    RtLoader *loader = rt_loader_start(&files, order, 23, batch, 6, 5, 3, configs[k][1],
                                       configs[k][2]);
    const uint8_t *x, *y;
    int m, seen = 0, batches = 0;
    while ((m = rt_loader_next(loader, &x, &y)) > 0) {
      ck_assert_int_eq(m, 23 - seen < batch ? 23 - seen : batch);
      for (int i = 0; i < m; i++) {
        int f = order[seen + i];
        ck_assert_int_eq(y[i], all.y[f]);
        ck_assert_mem_eq(x + all.item_size * i, all.x + all.item_size * f, all.item_size);
      }
      seen += m;
      batches++;
    }
    ck_assert_int_eq(seen, 23);
    ck_assert_int_eq(batches, (23 + batch - 1) / batch);
    ck_assert_int_eq(rt_loader_next(loader, &x, &y), 0);
    rt_loader_stop(loader);
  }
  /* stopping in the middle of an epoch returns */
  RtLoader *loader = rt_loader_start(&files, NULL, 23, 2, 6, 5, 3, 2, 2);
  const uint8_t *x, *y;
  ck_assert_int_eq(rt_loader_next(loader, &x, &y), 2);
  ck_assert_int_eq(y[0], files.labels[0]);
  rt_loader_stop(loader);
  rt_dataset_free(&all);
  rt_file_list_free(&files);
  rt_class_names_free(&classes);
}
END_TEST

static void load_all_batches(void *arg) {
  RtFileList *files = arg;
  RtLoader *loader = rt_loader_start(files, NULL, files->count, 4, 6, 5, 3, 2, 2);
  const uint8_t *x, *y;
  while (rt_loader_next(loader, &x, &y) > 0)
    ;
  rt_loader_stop(loader);
}

START_TEST(test_loader_bad_image_dies_naming_it) {
  RtFileList files;
  RtClassNames classes;
  write_loader_folder(&files, &classes);
  write_text(files.paths[9], "not an image any more");
  assert_dies_naming(run_in_child(load_all_batches, &files), files.paths[9], "not a PNG or JPEG");
  rt_file_list_free(&files);
  rt_class_names_free(&classes);
}
END_TEST

/* ---- CSV ---- */

START_TEST(test_csv_features_and_numeric_classes) {
  const char *path = tmp_path("table.csv");
  write_text(path, "x1, species ,\"x 2\"\r\n"
                   "1.5,10,-2\r\n"
                   "\r\n"
                   "  3 ,2,\"4e1\"\r\n"
                   "0,2.0,7\r\n"
                   "8,10,9\n");
  RtDataset ds;
  RtClassNames classes;
  rt_dataset_load_csv(&ds, &classes, path, "species");
  ck_assert_int_eq(ds.count, 4);
  ck_assert_ptr_null(ds.x);
  ck_assert_int_eq(ds.rows, 1);
  ck_assert_int_eq(ds.cols, 2);
  ck_assert_int_eq(ds.channels, 1);
  ck_assert_uint_eq(ds.item_size, 2);
  const float want[8] = {1.5f, -2, 3, 40, 0, 7, 8, 9};
  for (int i = 0; i < 8; i++)
    ck_assert_float_eq(ds.xf[i], want[i]);
  /* numeric labels sort numerically (2 < 10), "2" and "2.0" are one class */
  ck_assert_int_eq(classes.count, 2);
  ck_assert_str_eq(classes.names[0], "2");
  ck_assert_str_eq(classes.names[1], "10");
  const uint8_t labels[4] = {1, 0, 0, 1};
  ck_assert_mem_eq(ds.y, labels, 4);
  rt_dataset_free(&ds);
  rt_class_names_free(&classes);
}
END_TEST

START_TEST(test_csv_text_classes_sorted_by_bytes) {
  const char *path = tmp_path("iris.csv");
  write_text(path, "\xef\xbb\xbf" /* Excel's byte-order mark */
                   "a,b,label\n1,2,setosa\n3,4,Virginica\n5,6,\"ver,sicolor\"\n7,8,setosa\n");
  RtDataset ds;
  RtClassNames classes;
  rt_dataset_load_csv(&ds, &classes, path, "label");
  ck_assert_int_eq(classes.count, 3);
  ck_assert_str_eq(classes.names[0], "Virginica");
  ck_assert_str_eq(classes.names[1], "setosa");
  ck_assert_str_eq(classes.names[2], "ver,sicolor");
  const uint8_t labels[4] = {1, 0, 2, 1};
  ck_assert_mem_eq(ds.y, labels, 4);
  ck_assert_float_eq(ds.xf[5], 6.0f);
  rt_dataset_free(&ds);
  rt_class_names_free(&classes);
}
END_TEST

START_TEST(test_float_dataset_surgery_and_adapt) {
  /* row i: features (i, 10 i), label i % 2; rt_data.c moves float items whole */
  const char *path = tmp_path("rows.csv");
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs("a,b,label\n", f);
  for (int i = 0; i < 9; i++)
    fprintf(f, "%d,%d,%d\n", i, 10 * i, i % 2);
  ck_assert_int_eq(fclose(f), 0);
  RtDataset ds, part, train, val;
  RtClassNames classes;
  rt_dataset_load_csv(&ds, &classes, path, "label");
  rt_dataset_slice(&part, &ds, 2, 3);
  ck_assert_ptr_null(part.x);
  ck_assert_float_eq(part.xf[0], 2.0f);
  ck_assert_float_eq(part.xf[5], 40.0f);
  ck_assert_int_eq(part.y[1], 1);
  rt_dataset_split_random(&train, &val, &ds, 4, 5);
  ck_assert_int_eq(train.count + val.count, 9);
  int seen[9] = {0};
  for (int i = 0; i < 5; i++) {
    int k = (int)train.xf[2 * i];
    ck_assert_float_eq(train.xf[2 * i + 1], 10.0f * k);
    ck_assert_int_eq(train.y[i], k % 2);
    seen[k]++;
  }
  for (int i = 0; i < 4; i++)
    seen[(int)val.xf[2 * i]]++;
  for (int i = 0; i < 9; i++)
    ck_assert_int_eq(seen[i], 1);
  float mean[2], var[2];
  rt_adapt_mean_var(mean, var, &ds, 2); /* 0..8: mean 4, population variance 60/9 */
  ck_assert_float_eq_tol(mean[0], 4.0f, 1e-6f);
  ck_assert_float_eq_tol(mean[1], 40.0f, 1e-5f);
  ck_assert_float_eq_tol(var[0], 60.0f / 9.0f, 1e-5f);
  ck_assert_float_eq_tol(var[1], 6000.0f / 9.0f, 1e-3f);
  rt_dataset_oversample(&ds, 2, 1); /* 5 of class 0, 4 of class 1 -> 5 + 5 */
  ck_assert_int_eq(ds.count, 10);
  ck_assert_ptr_null(ds.x);
  for (int i = 0; i < 10; i++)
    ck_assert_int_eq((int)ds.xf[2 * i] % 2, ds.y[i]);
  rt_dataset_free(&part);
  rt_dataset_free(&train);
  rt_dataset_free(&val);
  rt_dataset_free(&ds);
  rt_class_names_free(&classes);
}
END_TEST

static void load_csv_label(void *path) {
  RtDataset ds;
  RtClassNames classes;
  rt_dataset_load_csv(&ds, &classes, path, "label");
}

/* A CSV with this text fails naming "path:line" (or the path) and words. */
static void assert_csv_fails(const char *name, const char *text, int line, const char *words) {
  const char *path = tmp_path(name);
  write_text(path, text);
  char where[600];
  if (line)
    snprintf(where, sizeof where, "%s:%d: ", path, line);
  else
    snprintf(where, sizeof where, "%s: ", path);
  assert_dies_naming(run_in_child(load_csv_label, (void *)path), where, words);
}

START_TEST(test_csv_errors_are_located) {
  assert_csv_fails("fields.csv", "a,label\n1,0\n2,1,3\n", 3, "3 fields, but the header");
  assert_csv_fails("short.csv", "a,b,label\n1,2,0\n\n4,1\n", 4, "2 fields");
  assert_csv_fails("nan.csv", "a,label\n1,0\nabc,1\n", 3, "column 'a': 'abc' is not a number");
  assert_csv_fails("blank.csv", "a,label\n,0\n", 2, "column 'a' is empty");
  assert_csv_fails("nolabel.csv", "a,b\n1,2\n", 1, "no column named 'label'");
  assert_csv_fails("empty.csv", "", 0, "empty");
  assert_csv_fails("only_label.csv", "label\n1\n", 1, "no feature columns");
  assert_csv_fails("header_only.csv", "a,label\n", 0, "no data rows");
  assert_csv_fails("quote.csv", "a,label\n\"1,0\n", 2, "unterminated quoted field");
  assert_csv_fails("emptylabel.csv", "a,label\n1,\n", 2, "the label (column 'label') is empty");
  assert_csv_fails("afterquote.csv", "a,label\n\"1\" x,0\n", 2, "text after a closing quote");
  assert_dies_naming(run_in_child(load_csv_label, (void *)tmp_path("none.csv")),
                     tmp_path("none.csv"), "cannot open");
}
END_TEST

/* ---- NumPy .npy ---- */

/* Write an .npy file: version major, the header dict, the data. */
static void write_npy(const char *path, int major, const char *dict, const void *data,
                      size_t n) {
  size_t pre = major == 1 ? 10 : 12, len = strlen(dict) + 1; /* + '\n' */
  size_t pad = (64 - (pre + len) % 64) % 64;
  size_t header_len = len + pad;
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  fwrite("\x93NUMPY", 1, 6, f);
  fputc(major, f);
  fputc(0, f);
  for (size_t b = 0; b < (major == 1 ? 2u : 4u); b++)
    fputc((int)((header_len >> (8 * b)) & 0xff), f);
  fputs(dict, f);
  for (size_t i = 0; i < pad; i++)
    fputc(' ', f);
  fputc('\n', f);
  fwrite(data, 1, n, f);
  ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_npy_u8_images_and_int_labels) {
  uint8_t x[2 * 3 * 2 * 1];
  for (int i = 0; i < 12; i++)
    x[i] = (uint8_t)(i * 20);
  const int64_t y[2] = {7, 255};
  write_npy(tmp_path("x.npy"), 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 2), }",
            x, sizeof x);
  write_npy(tmp_path("y.npy"), 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", y,
            sizeof y);
  RtDataset ds;
  rt_dataset_load_npy(&ds, tmp_path("x.npy"), tmp_path("y.npy"));
  ck_assert_int_eq(ds.count, 2);
  ck_assert_int_eq(ds.rows, 3);
  ck_assert_int_eq(ds.cols, 2);
  ck_assert_int_eq(ds.channels, 1);
  ck_assert_ptr_null(ds.xf);
  ck_assert_mem_eq(ds.x, x, sizeof x);
  ck_assert_int_eq(ds.y[0], 7);
  ck_assert_int_eq(ds.y[1], 255);
  rt_dataset_free(&ds);
}
END_TEST

START_TEST(test_npy_f32_v2_nhwc_and_u8_labels) {
  float x[3 * 2 * 2 * 3];
  for (int i = 0; i < 36; i++)
    x[i] = 0.25f * (float)i - 3.0f;
  const uint8_t y[3] = {0, 2, 1};
  const int32_t y32[3] = {4, 0, 9};
  write_npy(tmp_path("x.npy"), 2,
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2, 2, 3), }", x, sizeof x);
  write_npy(tmp_path("y.npy"), 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", y,
            sizeof y);
  write_npy(tmp_path("y32.npy"), 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }",
            y32, sizeof y32);
  RtDataset ds;
  rt_dataset_load_npy(&ds, tmp_path("x.npy"), tmp_path("y.npy"));
  ck_assert_int_eq(ds.count, 3);
  ck_assert_int_eq(ds.rows, 2);
  ck_assert_int_eq(ds.cols, 2);
  ck_assert_int_eq(ds.channels, 3);
  ck_assert_uint_eq(ds.item_size, 12);
  ck_assert_ptr_null(ds.x);
  ck_assert_mem_eq(ds.xf, x, sizeof x);
  ck_assert_mem_eq(ds.y, y, 3);
  rt_dataset_free(&ds);
  rt_dataset_load_npy(&ds, tmp_path("x.npy"), tmp_path("y32.npy"));
  ck_assert_int_eq(ds.y[2], 9);
  rt_dataset_free(&ds);
  /* (N, F): a table */
  write_npy(tmp_path("t.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 12), }",
            x, sizeof x);
  rt_dataset_load_npy(&ds, tmp_path("t.npy"), tmp_path("y.npy"));
  ck_assert_int_eq(ds.rows, 1);
  ck_assert_int_eq(ds.cols, 12);
  rt_dataset_free(&ds);
}
END_TEST

typedef struct {
  const char *x, *y;
} NpyPair;

static void load_npy_pair(void *arg) {
  NpyPair *p = arg;
  RtDataset ds;
  rt_dataset_load_npy(&ds, p->x, p->y);
}

/* Loading (x, y) dies naming `blamed` with words. */
static void assert_npy_fails(const char *x, const char *y, const char *blamed, const char *words) {
  NpyPair p = {x, y};
  assert_dies_naming(run_in_child(load_npy_pair, &p), blamed, words);
}

START_TEST(test_npy_errors_name_the_file) {
  uint8_t x[6] = {0};
  const int32_t big[2] = {3, 300};
  const int64_t wide[2] = {1, 2};
  const char *good_x = tmp_path("x.npy"), *good_y = tmp_path("y.npy");
  write_npy(good_x, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }", x, 6);
  write_npy(good_y, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", x, 2);
  const char *fortran = tmp_path("fortran.npy");
  write_npy(fortran, 1, "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }", x, 6);
  assert_npy_fails(fortran, good_y, fortran, "fortran_order is True");
  const char *f8 = tmp_path("f8.npy");
  write_npy(f8, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", x, 6);
  assert_npy_fails(f8, good_y, f8, "dtype '<f8' is not supported");
  const char *y_shape = tmp_path("y3.npy");
  write_npy(y_shape, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", x, 3);
  assert_npy_fails(good_x, y_shape, y_shape, "labels need shape (2,)");
  const char *range = tmp_path("range.npy");
  write_npy(range, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", big, 8);
  assert_npy_fails(good_x, range, range, "label 300 at index 1 is outside 0..255");
  const char *cut = tmp_path("cut.npy");
  write_npy(cut, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }", x, 5);
  assert_npy_fails(cut, good_y, cut, "truncated");
  const char *flat = tmp_path("flat.npy");
  write_npy(flat, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (6,), }", x, 6);
  assert_npy_fails(flat, good_y, flat, "shape (6,): inputs need");
  const char *magic = tmp_path("magic.npy");
  write_text(magic, "PK\x03\x04 this is an npz, not an npy");
  assert_npy_fails(magic, good_y, magic, "not a NumPy .npy file");
  const char *v4 = tmp_path("v4.npy");
  write_npy(v4, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }", x, 6);
  FILE *f = fopen(v4, "r+b");
  ck_assert_ptr_nonnull(f);
  fseek(f, 6, SEEK_SET);
  fputc(4, f); /* format version 4.0 */
  fclose(f);
  assert_npy_fails(v4, good_y, v4, "format version 4.0 is not supported");
  const char *noshape = tmp_path("noshape.npy");
  write_npy(noshape, 1, "{'descr': '|u1', 'fortran_order': False, }", x, 6);
  assert_npy_fails(noshape, good_y, noshape, "no 'shape' entry");
  const char *i8x = tmp_path("i8x.npy");
  write_npy(i8x, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 1), }", wide, 16);
  assert_npy_fails(i8x, good_y, i8x, "inputs must be uint8");
}
END_TEST

/* ---- CIFAR-10 ---- */

/* Record r: label r % 10, pixel p of channel c = (r + 3 p + 7 c) % 256. */
static void write_cifar(const char *path, int records, int label_offset) {
  size_t n = (size_t)records * 3073;
  uint8_t *buf = malloc(n);
  for (int r = 0; r < records; r++) {
    uint8_t *rec = buf + (size_t)r * 3073;
    rec[0] = (uint8_t)((r + label_offset) % 10);
    for (int c = 0; c < 3; c++)
      for (int p = 0; p < 1024; p++)
        rec[1 + c * 1024 + p] = (uint8_t)((r + 3 * p + 7 * c) % 256);
  }
  write_bytes(path, buf, n);
  free(buf);
}

START_TEST(test_cifar10_nhwc_and_class_names) {
  make_dir("cifar-10-batches-bin");
  char name[64];
  for (int b = 1; b <= 5; b++) {
    snprintf(name, sizeof name, "cifar-10-batches-bin/data_batch_%d.bin", b);
    write_cifar(tmp_path(name), 3, b);
  }
  write_cifar(tmp_path("cifar-10-batches-bin/test_batch.bin"), 4, 0);
  RtDataset train, test;
  rt_dataset_load_cifar10_dir(&train, tmp_path("cifar-10-batches-bin"), 0);
  rt_dataset_load_cifar10_dir(&test, tmp_path("cifar-10-batches-bin"), 1);
  ck_assert_int_eq(train.count, 15);
  ck_assert_int_eq(test.count, 4);
  ck_assert_int_eq(train.rows, 32);
  ck_assert_int_eq(train.cols, 32);
  ck_assert_int_eq(train.channels, 3);
  ck_assert_uint_eq(train.item_size, 3072);
  for (int i = 0; i < 15; i++) {
    int r = i % 3, b = i / 3 + 1;
    ck_assert_int_eq(train.y[i], (r + b) % 10);
    for (int p = 0; p < 1024; p += 97)
      for (int c = 0; c < 3; c++)
        ck_assert_int_eq(train.x[3072 * i + 3 * p + c], (r + 3 * p + 7 * c) % 256);
  }
  ck_assert_int_eq(test.y[3], 3);
  RtClassNames classes;
  rt_cifar10_class_names(&classes);
  ck_assert_int_eq(classes.count, 10);
  ck_assert_str_eq(classes.names[0], "airplane");
  ck_assert_str_eq(classes.names[3], "cat");
  ck_assert_str_eq(classes.names[9], "truck");
  rt_class_names_free(&classes);
  rt_dataset_free(&train);
  rt_dataset_free(&test);
}
END_TEST

static void load_cifar_file(void *path) {
  RtDataset ds;
  const char *paths[1] = {path};
  rt_dataset_load_cifar10(&ds, paths, 1);
}

static void load_cifar_dir(void *dir) {
  RtDataset ds;
  rt_dataset_load_cifar10_dir(&ds, dir, 0);
}

START_TEST(test_cifar10_errors_name_the_file) {
  const char *cut = tmp_path("cut.bin");
  write_cifar(cut, 2, 0);
  ck_assert_int_eq(truncate(cut, 3073 + 1000), 0);
  assert_dies_naming(run_in_child(load_cifar_file, (void *)cut), cut, "truncated");
  const char *bad = tmp_path("bad.bin");
  write_cifar(bad, 2, 0);
  FILE *f = fopen(bad, "r+b");
  fseek(f, 3073, SEEK_SET);
  fputc(10, f);
  fclose(f);
  assert_dies_naming(run_in_child(load_cifar_file, (void *)bad), bad, "record 1 has label 10");
  const char *empty = tmp_path("empty.bin");
  write_text(empty, "");
  assert_dies_naming(run_in_child(load_cifar_file, (void *)empty), empty, "0 bytes");
  make_dir("partial");
  write_cifar(tmp_path("partial/data_batch_1.bin"), 1, 0);
  assert_dies_naming(run_in_child(load_cifar_dir, (void *)tmp_path("partial")),
                     tmp_path("partial/data_batch_2.bin"), "cannot open");
}
END_TEST

static Suite *sources_suite(void) {
  Suite *s = suite_create("sources");
  TCase *image = tcase_create("image");
  tcase_add_checked_fixture(image, setup_tmp_dir, teardown_tmp_dir);
  tcase_set_timeout(image, 120);
  tcase_add_test(image, test_png_grey_exact_and_replicated);
  tcase_add_test(image, test_png_rgb_exact_and_luma);
  tcase_add_test(image, test_png_alpha_is_dropped);
  tcase_add_test(image, test_png_palette_16bit_1bit_interlaced);
  tcase_add_test(image, test_format_sniffed_not_extension);
  tcase_add_test(image, test_resize_2x2_to_4x4);
  tcase_add_test(image, test_resize_4x4_to_2x2);
  tcase_add_test(image, test_resize_channels_and_rectangles);
  tcase_add_test(image, test_load_resizes_after_conversion);
  tcase_add_test(image, test_jpeg_rgb_and_grey_within_tolerance);
  tcase_add_test(image, test_bad_images_name_the_file);
  tcase_add_test(image, test_image_load_dies_naming_file);
  suite_add_tcase(s, image);
  TCase *folder = tcase_create("folder");
  tcase_add_checked_fixture(folder, setup_tmp_dir, teardown_tmp_dir);
  tcase_set_timeout(folder, 120);
  tcase_add_test(folder, test_folder_listing_order);
  tcase_add_test(folder, test_folder_split_is_seeded_partition);
  tcase_add_test(folder, test_folder_skip_bad_counts);
  tcase_add_test(folder, test_folder_streamed_is_the_decoded_set);
  tcase_add_test(folder, test_folder_bad_image_dies_naming_it);
  tcase_add_test(folder, test_folder_errors_name_the_folder);
  tcase_add_test(folder, test_test_folder_classes_must_match);
  suite_add_tcase(s, folder);
  TCase *loader = tcase_create("loader");
  tcase_add_checked_fixture(loader, setup_tmp_dir, teardown_tmp_dir);
  tcase_set_timeout(loader, 120);
  tcase_add_test(loader, test_loader_matches_in_memory_batches);
  tcase_add_test(loader, test_loader_bad_image_dies_naming_it);
  suite_add_tcase(s, loader);
  TCase *files = tcase_create("files");
  tcase_add_checked_fixture(files, setup_tmp_dir, teardown_tmp_dir);
  tcase_set_timeout(files, 120);
  tcase_add_test(files, test_csv_features_and_numeric_classes);
  tcase_add_test(files, test_csv_text_classes_sorted_by_bytes);
  tcase_add_test(files, test_csv_errors_are_located);
  tcase_add_test(files, test_float_dataset_surgery_and_adapt);
  tcase_add_test(files, test_npy_u8_images_and_int_labels);
  tcase_add_test(files, test_npy_f32_v2_nhwc_and_u8_labels);
  tcase_add_test(files, test_npy_errors_name_the_file);
  tcase_add_test(files, test_cifar10_nhwc_and_class_names);
  tcase_add_test(files, test_cifar10_errors_name_the_file);
  suite_add_tcase(s, files);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(sources_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
