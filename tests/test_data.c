/*
 * test_data.c — Check suite for rt_data.c: IDX loading (gzip and plain),
 * error messages that name the file, slices, class surgery, class weights
 * and Normalization.adapt. Synthetic IDX files are written to a fresh temp
 * directory per test; the real Fashion-MNIST is checked only when installed.
 *
 * Failures that must die run in a forked child with stdout/stderr captured,
 * and the test asserts the exit code and the message.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw, truncate */
#include "nnc_runtime.h"
#include "child_test.h"

#include <check.h>
#include <stdbool.h>
#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* ---- helpers: temp directory, child runs ---- */

#include "tmpdir_test.h"

static void assert_dies_naming(ChildResult r, const char *path, const char *words) {
  ck_assert_msg(r.status == 1, "exit status %d, stderr: %s", r.status, r.err);
  ck_assert_msg(strstr(r.err, path), "stderr does not name %s: %s", path, r.err);
  ck_assert_msg(strstr(r.err, words), "stderr lacks '%s': %s", words, r.err);
}

/* ---- helpers: writing IDX files ---- */

static size_t idx_header(uint8_t *h, uint32_t magic, const uint32_t *dims, int n_dims) {
  uint32_t words[5] = {magic};
  for (int i = 0; i < n_dims; i++)
    words[i + 1] = dims[i];
  for (int i = 0; i <= n_dims; i++)
    for (int b = 0; b < 4; b++)
      h[4 * i + b] = (uint8_t)(words[i] >> (24 - 8 * b));
  return 4 * (size_t)(n_dims + 1);
}

/* Write an IDX file (gzip-compressed when gz) with payload_len bytes. */
static void write_idx(const char *path, uint32_t magic, const uint32_t *dims, int n_dims,
                      const uint8_t *payload, size_t payload_len, int gz) {
  uint8_t head[20];
  size_t head_len = idx_header(head, magic, dims, n_dims);
  if (gz) {
    gzFile g = gzopen(path, "wb");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzwrite(g, head, (unsigned)head_len), (int)head_len);
    if (payload_len)
      ck_assert_int_eq(gzwrite(g, payload, (unsigned)payload_len), (int)payload_len);
    ck_assert_int_eq(gzclose(g), Z_OK);
    return;
  }
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(head, 1, head_len, f), head_len);
  ck_assert_uint_eq(fwrite(payload, 1, payload_len, f), payload_len);
  ck_assert_int_eq(fclose(f), 0);
}

enum { N_ITEMS = 5, ROWS = 3, COLS = 2 };

static uint8_t pixel_value(int item, int k) {
  return (uint8_t)(item * 10 + k);
}

/* A split of N_ITEMS 3x2 images, pixel = 10 * item + index, label = item % 3. */
static void write_split(const char *dir_name, const char *split, int gz) {
  uint8_t pixels[N_ITEMS * ROWS * COLS], labels[N_ITEMS];
  for (int i = 0; i < N_ITEMS; i++) {
    labels[i] = (uint8_t)(i % 3);
    for (int k = 0; k < ROWS * COLS; k++)
      pixels[i * ROWS * COLS + k] = pixel_value(i, k);
  }
  char name[sizeof tmp_dir + 64];
  uint32_t image_dims[] = {N_ITEMS, ROWS, COLS}, label_dims[] = {N_ITEMS};
  snprintf(name, sizeof name, "%s/%s-images-idx3-ubyte%s", dir_name, split, gz ? ".gz" : "");
  write_idx(name, 0x803, image_dims, 3, pixels, sizeof pixels, gz);
  snprintf(name, sizeof name, "%s/%s-labels-idx1-ubyte%s", dir_name, split, gz ? ".gz" : "");
  write_idx(name, 0x801, label_dims, 1, labels, sizeof labels, gz);
}

static void assert_synthetic_split(const RtDataset *ds) {
  ck_assert_int_eq(ds->count, N_ITEMS);
  ck_assert_int_eq(ds->rows, ROWS);
  ck_assert_int_eq(ds->cols, COLS);
  ck_assert_int_eq(ds->channels, 1);
  ck_assert_uint_eq(ds->item_size, ROWS * COLS);
  for (int i = 0; i < N_ITEMS; i++) {
    ck_assert_int_eq(ds->y[i], i % 3);
    for (int k = 0; k < ROWS * COLS; k++)
      ck_assert_int_eq(ds->x[i * ROWS * COLS + k], pixel_value(i, k));
  }
}

/* ---- loading ---- */

START_TEST(test_load_gzip_split) {
  write_split(tmp_dir, "train", 1);
  RtDataset ds;
  rt_dataset_load_idx(&ds, tmp_dir, "train");
  assert_synthetic_split(&ds);
  rt_dataset_free(&ds);
}
END_TEST

START_TEST(test_load_plain_split) {
  write_split(tmp_dir, "t10k", 0);
  RtDataset ds;
  rt_dataset_load_idx(&ds, tmp_dir, "t10k");
  assert_synthetic_split(&ds);
  rt_dataset_free(&ds);
}
END_TEST

START_TEST(test_load_four_dim_images) {
  uint8_t pixels[2 * 2 * 2 * 3], labels[2] = {1, 0};
  for (size_t i = 0; i < sizeof pixels; i++)
    pixels[i] = (uint8_t)i;
  uint32_t image_dims[] = {2, 2, 2, 3}, label_dims[] = {2};
  write_idx(tmp_path("img"), 0x804, image_dims, 4, pixels, sizeof pixels, 1);
  write_idx(tmp_path("lab"), 0x801, label_dims, 1, labels, sizeof labels, 0);
  RtDataset ds;
  rt_dataset_load_idx_files(&ds, tmp_path("img"), tmp_path("lab"));
  ck_assert_int_eq(ds.channels, 3);
  ck_assert_uint_eq(ds.item_size, 12);
  ck_assert_int_eq(ds.x[23], 23);
  ck_assert_int_eq(ds.y[0], 1);
  rt_dataset_free(&ds);
}
END_TEST

typedef struct {
  const char *images, *labels;
} FilePair;

static void load_files(void *arg) {
  FilePair *p = arg;
  RtDataset ds;
  rt_dataset_load_idx_files(&ds, p->images, p->labels);
}

static void load_split_train(void *arg) {
  RtDataset ds;
  rt_dataset_load_idx(&ds, arg, "train");
}

START_TEST(test_missing_split_names_file) {
  ChildResult r = run_in_child(load_split_train, tmp_dir);
  assert_dies_naming(r, tmp_path("train-images-idx3-ubyte.gz"), "not found");
  ck_assert_ptr_nonnull(strstr(r.err, "dataset-fashion-mnist"));
  ck_assert_ptr_nonnull(strstr(r.err, "--data"));
}
END_TEST

START_TEST(test_missing_labels_names_file) {
  write_split(tmp_dir, "train", 1);
  unlink(tmp_path("train-labels-idx1-ubyte.gz"));
  ChildResult r = run_in_child(load_split_train, tmp_dir);
  assert_dies_naming(r, tmp_path("train-labels-idx1-ubyte.gz"), "not found");
}
END_TEST

START_TEST(test_truncated_pixels_plain) {
  uint8_t pixels[10] = {0}, labels[4] = {0};
  uint32_t image_dims[] = {4, 2, 2}, label_dims[] = {4};
  write_idx(tmp_path("img"), 0x803, image_dims, 3, pixels, sizeof pixels, 0);
  write_idx(tmp_path("lab"), 0x801, label_dims, 1, labels, sizeof labels, 0);
  FilePair p = {tmp_path("img"), tmp_path("lab")};
  ChildResult r = run_in_child(load_files, &p);
  assert_dies_naming(r, p.images, "truncated: expected 16 bytes of pixels, got 10");
}
END_TEST

START_TEST(test_truncated_gzip_stream) {
  uint8_t pixels[4000], labels[10] = {0};
  for (size_t i = 0; i < sizeof pixels; i++)
    pixels[i] = (uint8_t)(i * 7919 % 251); /* poorly compressible */
  uint32_t image_dims[] = {10, 20, 20}, label_dims[] = {10};
  write_idx(tmp_path("img.gz"), 0x803, image_dims, 3, pixels, sizeof pixels, 1);
  write_idx(tmp_path("lab.gz"), 0x801, label_dims, 1, labels, sizeof labels, 1);
  struct stat st;
  ck_assert_int_eq(stat(tmp_path("img.gz"), &st), 0);
  ck_assert_int_eq(truncate(tmp_path("img.gz"), st.st_size / 2), 0);
  FilePair p = {tmp_path("img.gz"), tmp_path("lab.gz")};
  ChildResult r = run_in_child(load_files, &p);
  assert_dies_naming(r, p.images, "truncated");
}
END_TEST

START_TEST(test_corrupt_gzip_checksum) {
  uint8_t pixels[4] = {1, 2, 3, 4}, labels[4] = {0, 1, 2, 3};
  uint32_t image_dims[] = {4, 1, 1}, label_dims[] = {4};
  write_idx(tmp_path("img"), 0x803, image_dims, 3, pixels, sizeof pixels, 0);
  write_idx(tmp_path("lab.gz"), 0x801, label_dims, 1, labels, sizeof labels, 1);
  struct stat st;
  ck_assert_int_eq(stat(tmp_path("lab.gz"), &st), 0);
  FILE *f = fopen(tmp_path("lab.gz"), "r+b");
  ck_assert_int_eq(fseek(f, st.st_size - 6, SEEK_SET), 0); /* inside the gzip CRC-32 */
  int c = fgetc(f);
  fseek(f, st.st_size - 6, SEEK_SET);
  fputc(c ^ 0xff, f);
  fclose(f);
  FilePair p = {tmp_path("img"), tmp_path("lab.gz")};
  assert_dies_naming(run_in_child(load_files, &p), p.labels, "corrupt gzip data");
}
END_TEST

START_TEST(test_truncated_labels) {
  uint8_t pixels[4] = {0}, labels[3] = {0};
  uint32_t image_dims[] = {4, 1, 1}, label_dims[] = {4};
  write_idx(tmp_path("img"), 0x803, image_dims, 3, pixels, sizeof pixels, 0);
  write_idx(tmp_path("lab"), 0x801, label_dims, 1, labels, sizeof labels, 1);
  FilePair p = {tmp_path("img"), tmp_path("lab")};
  assert_dies_naming(run_in_child(load_files, &p), p.labels, "expected 4 bytes of labels, got 3");
}
END_TEST

START_TEST(test_truncated_header) {
  FILE *f = fopen(tmp_path("img"), "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite("\0\0", 1, 2, f), 2);
  fclose(f);
  FilePair p = {tmp_path("img"), tmp_path("lab")};
  assert_dies_naming(run_in_child(load_files, &p), p.images, "truncated");
}
END_TEST

START_TEST(test_bad_magic_images) {
  uint8_t pixels[4] = {0};
  uint32_t dims[] = {4, 1};
  write_idx(tmp_path("img"), 0x802, dims, 2, pixels, sizeof pixels, 1);
  FilePair p = {tmp_path("img"), tmp_path("lab")};
  assert_dies_naming(run_in_child(load_files, &p), p.images, "bad magic number 0x00000802");
}
END_TEST

START_TEST(test_labels_file_given_as_images) {
  uint8_t labels[4] = {0};
  uint32_t dims[] = {4};
  write_idx(tmp_path("lab"), 0x801, dims, 1, labels, sizeof labels, 0);
  FilePair p = {tmp_path("lab"), tmp_path("lab")};
  assert_dies_naming(run_in_child(load_files, &p), p.images, "not an IDX image file");
}
END_TEST

START_TEST(test_count_mismatch) {
  uint8_t pixels[4] = {0}, labels[3] = {0};
  uint32_t image_dims[] = {4, 1, 1}, label_dims[] = {3};
  write_idx(tmp_path("img"), 0x803, image_dims, 3, pixels, sizeof pixels, 0);
  write_idx(tmp_path("lab"), 0x801, label_dims, 1, labels, sizeof labels, 0);
  FilePair p = {tmp_path("img"), tmp_path("lab")};
  ChildResult r = run_in_child(load_files, &p);
  assert_dies_naming(r, p.labels, "3 labels");
  ck_assert_ptr_nonnull(strstr(r.err, p.images));
}
END_TEST

/* A gzip file cut anywhere inside its 8-byte trailer (CRC-32, then the
 * size): the payload decompresses completely, but the CRC the docs promise
 * cannot be verified, so the file is rejected, naming it. _i = bytes cut. */
START_TEST(test_gzip_missing_trailer) {
  /* 32 KB of pixels: zlib's gzread reads a payload this large straight into
   * the caller's buffer and, the trailer missing, reported a clean end. */
  static uint8_t pixels[8 * 64 * 64];
  uint8_t labels[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  for (size_t i = 0; i < sizeof pixels; i++)
    pixels[i] = (uint8_t)(i * 37 % 251);
  uint32_t image_dims[] = {8, 64, 64}, label_dims[] = {8};
  write_idx(tmp_path("img.gz"), 0x803, image_dims, 3, pixels, sizeof pixels, 1);
  write_idx(tmp_path("lab"), 0x801, label_dims, 1, labels, sizeof labels, 0);
  struct stat st;
  ck_assert_int_eq(stat(tmp_path("img.gz"), &st), 0);
  ck_assert_int_eq(truncate(tmp_path("img.gz"), st.st_size - _i), 0);
  FilePair p = {tmp_path("img.gz"), tmp_path("lab")};
  ChildResult r = run_in_child(load_files, &p);
  assert_dies_naming(r, p.images, "truncated");
  ck_assert_msg(strstr(r.err, "checksum"), "stderr does not mention the checksum: %s", r.err);
}
END_TEST

/* The same cut on the labels file (the last file read). */
START_TEST(test_gzip_labels_missing_trailer) {
  uint8_t pixels[4] = {0}, labels[4] = {0, 1, 2, 3};
  uint32_t image_dims[] = {4, 1, 1}, label_dims[] = {4};
  write_idx(tmp_path("img"), 0x803, image_dims, 3, pixels, sizeof pixels, 0);
  write_idx(tmp_path("lab.gz"), 0x801, label_dims, 1, labels, sizeof labels, 1);
  struct stat st;
  ck_assert_int_eq(stat(tmp_path("lab.gz"), &st), 0);
  ck_assert_int_eq(truncate(tmp_path("lab.gz"), st.st_size - 8), 0);
  FilePair p = {tmp_path("img"), tmp_path("lab.gz")};
  assert_dies_naming(run_in_child(load_files, &p), p.labels, "truncated");
}
END_TEST

/* gzip's concatenated members read as one stream (here the header in one
 * member, the pixels in the next), and bytes after the last member that do
 * not start another are ignored, as gzip does. */
START_TEST(test_gzip_members_and_trailing_bytes) {
  uint8_t head[16], pixels[2 * 3 * 2], labels[2] = {1, 0};
  for (size_t i = 0; i < sizeof pixels; i++)
    pixels[i] = (uint8_t)(100 + i);
  uint32_t image_dims[] = {2, 3, 2}, label_dims[] = {2};
  size_t head_len = idx_header(head, 0x803, image_dims, 3);
  const char *img = tmp_path("img.gz");
  for (int member = 0; member < 2; member++) {
    gzFile g = gzopen(img, member ? "ab" : "wb");
    ck_assert_ptr_nonnull(g);
    if (member)
      ck_assert_int_eq(gzwrite(g, pixels, sizeof pixels), (int)sizeof pixels);
    else
      ck_assert_int_eq(gzwrite(g, head, (unsigned)head_len), (int)head_len);
    ck_assert_int_eq(gzclose(g), Z_OK);
  }
  FILE *f = fopen(img, "ab");
  ck_assert_ptr_nonnull(f);
  fputs("\n\n\n", f); /* trailing bytes */
  ck_assert_int_eq(fclose(f), 0);
  write_idx(tmp_path("lab"), 0x801, label_dims, 1, labels, sizeof labels, 0);
  RtDataset ds;
  rt_dataset_load_idx_files(&ds, img, tmp_path("lab"));
  ck_assert_int_eq(ds.count, 2);
  ck_assert_int_eq(memcmp(ds.x, pixels, sizeof pixels), 0);
  ck_assert_str_eq(ds.images_path, img);
  rt_dataset_free(&ds);
}
END_TEST

/* A header claiming 2^31 - 1 images of 28x28 (1.7 TB) in a file of a few
 * bytes: refused from the file's size, naming it, before any allocation. */
static void check_huge_claim(int gz) {
  uint8_t pixels[28 * 28] = {0}, labels[1] = {0};
  uint32_t image_dims[] = {0x7fffffffu, 28, 28}, label_dims[] = {1};
  const char *img = tmp_path(gz ? "huge.gz" : "huge");
  write_idx(img, 0x803, image_dims, 3, pixels, sizeof pixels, gz);
  write_idx(tmp_path("lab"), 0x801, label_dims, 1, labels, sizeof labels, 0);
  FilePair p = {img, tmp_path("lab")};
  ChildResult r = run_in_child(load_files, &p);
  assert_dies_naming(r, img, "2147483647 images of 28x28");
  ck_assert_msg(strstr(r.err, gz ? "holds at most" : "truncated"), "no size bound in: %s",
                r.err);
  ck_assert_msg(!strstr(r.err, "malloc"), "an allocation was tried: %s", r.err);
}

START_TEST(test_huge_image_count_plain) {
  check_huge_claim(0);
}
END_TEST

START_TEST(test_huge_image_count_gzip) {
  check_huge_claim(1);
}
END_TEST

/* A plain file one image short of its header's count: the size check names
 * the file before reading (the same words as a gzip file cut short). */
START_TEST(test_more_images_than_plain_file) {
  uint8_t pixels[3 * 4] = {0}, labels[4] = {0};
  uint32_t image_dims[] = {4, 2, 2}, label_dims[] = {4};
  write_idx(tmp_path("img"), 0x803, image_dims, 3, pixels, sizeof pixels, 0);
  write_idx(tmp_path("lab"), 0x801, label_dims, 1, labels, sizeof labels, 0);
  FilePair p = {tmp_path("img"), tmp_path("lab")};
  assert_dies_naming(run_in_child(load_files, &p), p.images, "4 images");
}
END_TEST

/* ---- checks against the model ---- */

static const char *kShapeImages;

static void check_shape_28x28(void *arg) {
  (void)arg;
  RtDataset ds;
  rt_dataset_load_idx_files(&ds, kShapeImages, tmp_path("lab"));
  rt_dataset_check_shape(&ds, 28, 28, 1, NULL);
}

/* 14x56 images hold 784 values, as many as the model's 28x28 input: only
 * the dimensions tell them apart. */
START_TEST(test_check_shape_names_dimensions) {
  uint8_t pixels[2 * 14 * 56] = {0}, labels[2] = {0, 1};
  uint32_t image_dims[] = {2, 14, 56}, label_dims[] = {2};
  write_idx(tmp_path("img"), 0x803, image_dims, 3, pixels, sizeof pixels, 0);
  write_idx(tmp_path("lab"), 0x801, label_dims, 1, labels, sizeof labels, 0);
  kShapeImages = tmp_path("img");
  ChildResult r = run_in_child(check_shape_28x28, NULL);
  char want[1024];
  snprintf(want, sizeof want, "%s: images are 14x56 but the model input is 28x28",
           kShapeImages);
  ck_assert_msg(r.status == 1 && strstr(r.err, want), "status %d, stderr: %s", r.status, r.err);
}
END_TEST

START_TEST(test_check_shape_accepts_match_and_names_channels) {
  uint8_t pixels[2 * 2 * 2 * 3] = {0}, labels[2] = {0, 1};
  uint32_t image_dims[] = {2, 2, 2, 3}, label_dims[] = {2};
  write_idx(tmp_path("img"), 0x804, image_dims, 4, pixels, sizeof pixels, 0);
  write_idx(tmp_path("lab"), 0x801, label_dims, 1, labels, sizeof labels, 0);
  RtDataset ds;
  rt_dataset_load_idx_files(&ds, tmp_path("img"), tmp_path("lab"));
  rt_dataset_check_shape(&ds, 2, 2, 3, NULL); /* returns */
  rt_dataset_free(&ds);
  kShapeImages = tmp_path("img");
  ChildResult r = run_in_child(check_shape_28x28, NULL);
  assert_dies_naming(r, kShapeImages, "images are 2x2x3 but the model input is 28x28x1");
}
END_TEST

static void check_labels_of_loaded(void *arg) {
  RtDataset ds;
  rt_dataset_load_idx_files(&ds, tmp_path("img"), tmp_path("lab"));
  rt_dataset_check_labels(&ds, *(int *)arg);
}

START_TEST(test_check_labels_names_file_and_example) {
  uint8_t pixels[5] = {0}, labels[5] = {0, 9, 3, 200, 1};
  uint32_t image_dims[] = {5, 1, 1}, label_dims[] = {5};
  write_idx(tmp_path("img"), 0x803, image_dims, 3, pixels, sizeof pixels, 0);
  write_idx(tmp_path("lab"), 0x801, label_dims, 1, labels, sizeof labels, 1);
  int ten = 10;
  ChildResult r = run_in_child(check_labels_of_loaded, &ten);
  assert_dies_naming(r, tmp_path("lab"), "label 200 of example 3");
  ck_assert_msg(strstr(r.err, "0..9"), "no class range in: %s", r.err);
  int many = 201;
  r = run_in_child(check_labels_of_loaded, &many);
  ck_assert_msg(r.status == 0, "labels < 201 refused: %s", r.err);
}
END_TEST

/* ---- slices and surgery ---- */

/* A dataset of n items of 2 bytes (the item's index, little-endian), label i % 4. */
static void make_indexed(RtDataset *ds, int n) {
  ds->count = n;
  ds->rows = 1, ds->cols = 2, ds->channels = 1;
  ds->item_size = 2;
  ds->x = malloc(2 * (size_t)n);
  ds->y = malloc((size_t)n);
  for (int i = 0; i < n; i++) {
    ds->x[2 * i] = (uint8_t)(i & 0xff);
    ds->x[2 * i + 1] = (uint8_t)(i >> 8);
    ds->y[i] = (uint8_t)(i % 4);
  }
}

static int item_index(const RtDataset *ds, int i) {
  return ds->x[2 * i] | ds->x[2 * i + 1] << 8;
}

START_TEST(test_slice_copies_rows) {
  RtDataset ds, part;
  make_indexed(&ds, 10);
  rt_dataset_slice(&part, &ds, 3, 4);
  ck_assert_int_eq(part.count, 4);
  ck_assert_ptr_ne(part.x, ds.x);
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(item_index(&part, i), 3 + i);
    ck_assert_int_eq(part.y[i], (3 + i) % 4);
  }
  rt_dataset_free(&part);
  rt_dataset_slice(&part, &ds, 10, 0);
  ck_assert_int_eq(part.count, 0);
  rt_dataset_free(&part);
  rt_dataset_free(&ds);
}
END_TEST

static void slice_out_of_range(void *arg) {
  (void)arg;
  RtDataset ds, part;
  make_indexed(&ds, 10);
  rt_dataset_slice(&part, &ds, 8, 3);
}

START_TEST(test_slice_out_of_range_dies) {
  ChildResult r = run_in_child(slice_out_of_range, NULL);
  ck_assert_int_eq(r.status, 1);
  ck_assert_ptr_nonnull(strstr(r.err, "slice"));
}
END_TEST

/* validation split 0.2 seed S: 20 of 100 examples held out, chosen by the
 * seed; the two parts partition the set, each in the file's order. */
START_TEST(test_split_random_partitions) {
  RtDataset ds, train, val, train2, val2, train3, val3;
  make_indexed(&ds, 100);
  rt_dataset_split_random(&train, &val, &ds, 20, 42);
  ck_assert_int_eq(val.count, 20);
  ck_assert_int_eq(train.count, 80);
  int seen[100] = {0}, val_last = 0;
  for (int i = 0; i < val.count; i++) {
    seen[item_index(&val, i)]++;
    ck_assert_int_eq(val.y[i], item_index(&val, i) % 4); /* rows stay whole */
    if (i > 0)
      ck_assert_int_lt(item_index(&val, i - 1), item_index(&val, i));
    val_last += item_index(&val, i) >= 80;
  }
  for (int i = 0; i < train.count; i++) {
    seen[item_index(&train, i)]++;
    if (i > 0)
      ck_assert_int_lt(item_index(&train, i - 1), item_index(&train, i));
  }
  for (int k = 0; k < 100; k++)
    ck_assert_int_eq(seen[k], 1);
  ck_assert_msg(val_last < 20, "the random split took exactly the last 20");
  rt_dataset_split_random(&train2, &val2, &ds, 20, 42);
  ck_assert_int_eq(memcmp(val.x, val2.x, 2 * 20), 0); /* deterministic in the seed */
  rt_dataset_split_random(&train3, &val3, &ds, 20, 43);
  ck_assert_int_ne(memcmp(val.x, val3.x, 2 * 20), 0);
  RtDataset *all[] = {&ds, &train, &val, &train2, &val2, &train3, &val3};
  for (int i = 0; i < 7; i++)
    rt_dataset_free(all[i]);
}
END_TEST

/* 100 items, 25 per class; keep 5 of class 1, 0 of class 2, "100" of class 3. */
static void apply_keep_rules(RtDataset *ds, uint64_t seed) {
  int classes[] = {1, 2, 3}, keep[] = {5, 0, 100};
  make_indexed(ds, 100);
  rt_dataset_keep(ds, classes, keep, 3, seed);
}

/* After the keep rules (25, 5, 0, 25 per class), oversampling brings every
 * present class to 25: class 1's 5 examples five times each, class 2 absent. */
START_TEST(test_oversample_balances_and_cycles) {
  RtDataset ds;
  apply_keep_rules(&ds, 42);
  int kept1[5], n1 = 0;
  for (int i = 0; i < ds.count; i++)
    if (ds.y[i] == 1)
      kept1[n1++] = item_index(&ds, i);
  ck_assert_int_eq(n1, 5);
  rt_dataset_oversample(&ds, 4, 7);
  int counts[4];
  rt_class_counts(counts, &ds, 4);
  ck_assert_int_eq(counts[0], 25);
  ck_assert_int_eq(counts[1], 25);
  ck_assert_int_eq(counts[2], 0);
  ck_assert_int_eq(counts[3], 25);
  int seen[5] = {0};
  bool sorted = true;
  for (int i = 0; i < ds.count; i++) {
    ck_assert_int_eq(ds.y[i], item_index(&ds, i) % 4); /* rows stay whole */
    for (int k = 0; k < 5; k++)
      seen[k] += ds.y[i] == 1 && item_index(&ds, i) == kept1[k];
    sorted &= i == 0 || ds.y[i - 1] <= ds.y[i];
  }
  for (int k = 0; k < 5; k++)
    ck_assert_int_eq(seen[k], 5);
  ck_assert_msg(!sorted, "oversampled set is not shuffled");
  RtDataset again;
  apply_keep_rules(&again, 42);
  rt_dataset_oversample(&again, 4, 7);
  ck_assert_int_eq(memcmp(again.y, ds.y, (size_t)ds.count), 0); /* deterministic */
  rt_dataset_free(&ds);
  rt_dataset_free(&again);
}
END_TEST

START_TEST(test_keep_counts_and_order) {
  RtDataset ds;
  apply_keep_rules(&ds, 42);
  int counts[4];
  rt_class_counts(counts, &ds, 4);
  ck_assert_int_eq(counts[0], 25);
  ck_assert_int_eq(counts[1], 5);
  ck_assert_int_eq(counts[2], 0);
  ck_assert_int_eq(counts[3], 25);
  ck_assert_int_eq(ds.count, 55);
  for (int i = 0; i < ds.count; i++) {
    ck_assert_int_eq(ds.y[i], item_index(&ds, i) % 4);
    if (i > 0)
      ck_assert_int_lt(item_index(&ds, i - 1), item_index(&ds, i));
  }
  rt_dataset_free(&ds);
}
END_TEST

START_TEST(test_keep_deterministic_in_seed) {
  RtDataset a, b, c;
  apply_keep_rules(&a, 7);
  apply_keep_rules(&b, 7);
  apply_keep_rules(&c, 8);
  ck_assert_int_eq(a.count, b.count);
  ck_assert_int_eq(memcmp(a.x, b.x, 2 * (size_t)a.count), 0);
  ck_assert_int_eq(memcmp(a.y, b.y, (size_t)a.count), 0);
  ck_assert_int_eq(a.count, c.count);
  ck_assert_int_ne(memcmp(a.x, c.x, 2 * (size_t)a.count), 0);
  rt_dataset_free(&a);
  rt_dataset_free(&b);
  rt_dataset_free(&c);
}
END_TEST

START_TEST(test_keep_is_roughly_uniform) {
  /* Over many seeds, each of the 25 class-1 items is kept ~5/25 of the time. */
  int hits[100] = {0}, trials = 2000;
  for (int s = 0; s < trials; s++) {
    RtDataset ds;
    apply_keep_rules(&ds, (uint64_t)s);
    for (int i = 0; i < ds.count; i++)
      if (ds.y[i] == 1)
        hits[item_index(&ds, i)]++;
    rt_dataset_free(&ds);
  }
  for (int i = 1; i < 100; i += 4) {
    double rate = (double)hits[i] / trials;
    ck_assert_msg(fabs(rate - 0.2) < 0.04, "item %d kept at rate %.3f, expected 0.2", i, rate);
  }
}
END_TEST

/* ---- class statistics ---- */

static void count_with_bad_label(void *arg) {
  (void)arg;
  RtDataset ds;
  int counts[3];
  make_indexed(&ds, 8); /* labels 0..3 */
  rt_class_counts(counts, &ds, 3);
}

START_TEST(test_class_counts_rejects_bad_label) {
  ChildResult r = run_in_child(count_with_bad_label, NULL);
  ck_assert_int_eq(r.status, 1);
  ck_assert_ptr_nonnull(strstr(r.err, "label 3"));
}
END_TEST

START_TEST(test_class_weights_balanced) {
  int counts[] = {10, 30, 0, 60};
  float w[4];
  rt_class_weights_balanced(w, counts, 4);
  ck_assert_float_eq_tol(w[0], 2.5f, 1e-6f);
  ck_assert_float_eq_tol(w[1], 100.0f / 120.0f, 1e-6f);
  ck_assert(w[2] == 0.0f);
  ck_assert_float_eq_tol(w[3], 100.0f / 240.0f, 1e-6f);
}
END_TEST

/* ---- adapt ---- */

START_TEST(test_adapt_scalar_population_variance) {
  uint8_t x[] = {0, 2, 4, 6, 8, 10}, y[3] = {0};
  RtDataset ds = {.count = 3, .rows = 1, .cols = 2, .channels = 1, .item_size = 2, .x = x, .y = y};
  float mean, var;
  rt_adapt_mean_var(&mean, &var, &ds, 1);
  ck_assert_float_eq_tol(mean, 5.0f, 1e-6f);
  ck_assert_float_eq_tol(var, 70.0f / 6.0f, 1e-5f); /* divide by N, not N - 1 */
}
END_TEST

START_TEST(test_adapt_per_feature) {
  uint8_t x[] = {0, 100, 2, 100, 4, 250}, y[3] = {0};
  RtDataset ds = {.count = 3, .rows = 1, .cols = 2, .channels = 1, .item_size = 2, .x = x, .y = y};
  float mean[2], var[2];
  rt_adapt_mean_var(mean, var, &ds, 2);
  ck_assert_float_eq_tol(mean[0], 2.0f, 1e-6f);
  ck_assert_float_eq_tol(var[0], 8.0f / 3.0f, 1e-5f);
  ck_assert_float_eq_tol(mean[1], 150.0f, 1e-5f);
  ck_assert_float_eq_tol(var[1], 5000.0f, 1e-3f);
}
END_TEST

/* ---- the real dataset, when installed ---- */

START_TEST(test_real_fashion_mnist) {
  if (access(FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0)
    return; /* not installed: nothing to check */
  RtDataset ds;
  int counts[10];
  rt_dataset_load_idx(&ds, FASHION_DIR, "train");
  ck_assert_int_eq(ds.count, 60000);
  ck_assert_int_eq(ds.rows, 28);
  ck_assert_int_eq(ds.cols, 28);
  ck_assert_int_eq(ds.channels, 1);
  rt_class_counts(counts, &ds, 10);
  for (int c = 0; c < 10; c++)
    ck_assert_int_eq(counts[c], 6000);
  float mean, var;
  rt_adapt_mean_var(&mean, &var, &ds, 1);
  ck_assert_float_eq_tol(mean, 72.940352f, 1e-3f);
  ck_assert_float_eq_tol(var, 8103.8133f, 1e-1f);
  rt_dataset_free(&ds);
}
END_TEST

static Suite *data_suite(void) {
  Suite *s = suite_create("rt_data");
  TCase *load = tcase_create("load");
  tcase_add_checked_fixture(load, setup_tmp_dir, teardown_tmp_dir);
  tcase_add_test(load, test_load_gzip_split);
  tcase_add_test(load, test_load_plain_split);
  tcase_add_test(load, test_load_four_dim_images);
  tcase_add_test(load, test_missing_split_names_file);
  tcase_add_test(load, test_missing_labels_names_file);
  tcase_add_test(load, test_truncated_pixels_plain);
  tcase_add_test(load, test_truncated_gzip_stream);
  tcase_add_test(load, test_truncated_labels);
  tcase_add_test(load, test_corrupt_gzip_checksum);
  tcase_add_test(load, test_truncated_header);
  tcase_add_test(load, test_bad_magic_images);
  tcase_add_test(load, test_labels_file_given_as_images);
  tcase_add_test(load, test_count_mismatch);
  tcase_add_loop_test(load, test_gzip_missing_trailer, 1, 9);
  tcase_add_test(load, test_gzip_labels_missing_trailer);
  tcase_add_test(load, test_gzip_members_and_trailing_bytes);
  tcase_add_test(load, test_huge_image_count_plain);
  tcase_add_test(load, test_huge_image_count_gzip);
  tcase_add_test(load, test_more_images_than_plain_file);
  tcase_add_test(load, test_check_shape_names_dimensions);
  tcase_add_test(load, test_check_shape_accepts_match_and_names_channels);
  tcase_add_test(load, test_check_labels_names_file_and_example);
  suite_add_tcase(s, load);
  TCase *surgery = tcase_create("surgery");
  tcase_add_test(surgery, test_slice_copies_rows);
  tcase_add_test(surgery, test_slice_out_of_range_dies);
  tcase_add_test(surgery, test_split_random_partitions);
  tcase_add_test(surgery, test_keep_counts_and_order);
  tcase_add_test(surgery, test_keep_deterministic_in_seed);
  tcase_add_test(surgery, test_keep_is_roughly_uniform);
  tcase_add_test(surgery, test_oversample_balances_and_cycles);
  suite_add_tcase(s, surgery);
  TCase *stats = tcase_create("stats");
  tcase_add_test(stats, test_class_counts_rejects_bad_label);
  tcase_add_test(stats, test_class_weights_balanced);
  tcase_add_test(stats, test_adapt_scalar_population_variance);
  tcase_add_test(stats, test_adapt_per_feature);
  suite_add_tcase(s, stats);
  TCase *real = tcase_create("real");
  tcase_set_timeout(real, 60);
  tcase_add_test(real, test_real_fashion_mnist);
  suite_add_tcase(s, real);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(data_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
