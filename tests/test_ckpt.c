/*
 * test_ckpt.c — Check suite for rt_ckpt.c: round trip, atomic replacement
 * (no PATH.tmp left behind, a failed write leaves the old checkpoint), and
 * every load failure — missing, truncated, bad magic, version, checksum,
 * tensor mismatch — reported with a message naming the file; a stale
 * PATH.tmp removed at start, and a write past the file-size limit reported
 * in words (not a silent SIGXFSZ). Format 2: the model's identity, the run
 * id and the resume state round-trip; the meta alone is read without the
 * tensors; a file of another model, model version or run is refused with a
 * message that says which and why; a version 1 file gets a clear message.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, symlink, truncate */
#include "nnc_runtime.h"
#include "child_test.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- fixture: a temp dir with a saved two-tensor checkpoint ---- */

static char tmp_dir[256];
static char ckpt_path[320], tmp_file_path[330];

static float w_data[6] = {1.5f, -2.25f, 3.0f, 0.0f, -0.0f, 1e-30f};
static float b_data[2] = {0.125f, -7.0f};

static RtTensorRef saved_tensors[] = {{"dense/kernel", w_data, 6}, {"dense/bias", b_data, 2}};

static RtCheckpointMeta saved_meta(void) {
  RtCheckpointMeta meta = {.identity = 0x0123456789abcdefull, .epoch = 7,
                           .step = 1234567890123L, .monitor = 0.3125};
  snprintf(meta.model, sizeof meta.model, "mlp_day5");
  snprintf(meta.run_id, sizeof meta.run_id, "20261201T030102Z-4242-5f3e9a1b");
  return meta;
}

static void setup(void) {
  const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(tmp_dir, sizeof tmp_dir, "%s/nnc_test_ckpt_XXXXXX", base);
  ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
  snprintf(ckpt_path, sizeof ckpt_path, "%s/best.ckpt", tmp_dir);
  snprintf(tmp_file_path, sizeof tmp_file_path, "%s.tmp", ckpt_path);
  RtCheckpointMeta meta = saved_meta();
  rt_checkpoint_save(ckpt_path, saved_tensors, 2, &meta);
}

static void teardown(void) {
  unlink(ckpt_path);
  unlink(tmp_file_path);
  rmdir(tmp_dir);
}

/* ---- helpers ---- */

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void patch_byte(const char *path, long offset, int xor_mask) {
  FILE *f = fopen(path, "r+b");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fseek(f, offset, SEEK_SET), 0);
  int c = fgetc(f);
  ck_assert_int_ne(c, EOF);
  ck_assert_int_eq(fseek(f, offset, SEEK_SET), 0);
  fputc(c ^ xor_mask, f);
  ck_assert_int_eq(fclose(f), 0);
}

static void patch_u32(const char *path, long offset, uint32_t value) {
  FILE *f = fopen(path, "r+b");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fseek(f, offset, SEEK_SET), 0);
  for (int i = 0; i < 4; i++)
    fputc((int)(value >> (8 * i)) & 0xff, f);
  ck_assert_int_eq(fclose(f), 0);
}

/* Load into fresh buffers shaped like the saved tensors (or as given). */
static int try_load_shaped(size_t w_count, const char *b_name, char *err, size_t esz) {
  static float w[16], b[16];
  RtTensorRef t[] = {{"dense/kernel", w, w_count}, {b_name, b, 2}};
  RtCheckpointMeta meta;
  return rt_checkpoint_try_load(ckpt_path, t, 2, &meta, err, esz);
}

static void assert_load_fails(const char *words) {
  char err[1024] = "";
  ck_assert_int_eq(try_load_shaped(6, "dense/bias", err, sizeof err), -1);
  ck_assert_msg(strstr(err, ckpt_path), "message does not name %s: %s", ckpt_path, err);
  ck_assert_msg(strstr(err, words), "message lacks '%s': %s", words, err);
}

/* The checkpoint tests' children take no argument. */
static void call_void(void *fn) { ((void (*)(void))fn)(); }

static ChildResult run_void_in_child(void (*fn)(void)) { return run_in_child(call_void, (void *)fn); }

/* ---- round trip and atomicity ---- */

START_TEST(test_round_trip) {
  float w[6], b[2];
  RtTensorRef t[] = {{"dense/kernel", w, 6}, {"dense/bias", b, 2}};
  RtCheckpointMeta meta;
  rt_checkpoint_load(ckpt_path, t, 2, &meta);
  ck_assert_int_eq(memcmp(w, w_data, sizeof w), 0); /* bit-exact, -0.0 included */
  ck_assert_int_eq(memcmp(b, b_data, sizeof b), 0);
  ck_assert_str_eq(meta.model, "mlp_day5");
  ck_assert_uint_eq(meta.identity, 0x0123456789abcdefull);
  ck_assert_str_eq(meta.run_id, "20261201T030102Z-4242-5f3e9a1b");
  ck_assert_int_eq(meta.epoch, 7);
  ck_assert_int_eq(meta.step, 1234567890123L);
  ck_assert_double_eq(meta.monitor, 0.3125);
}
END_TEST

START_TEST(test_load_in_any_order) {
  float w[6], b[2];
  RtTensorRef t[] = {{"dense/bias", b, 2}, {"dense/kernel", w, 6}};
  char err[256];
  ck_assert_int_eq(rt_checkpoint_try_load(ckpt_path, t, 2, NULL, err, sizeof err), 0);
  ck_assert_int_eq(memcmp(w, w_data, sizeof w), 0);
}
END_TEST

START_TEST(test_expected_size_and_no_tmp_left) {
  /* 8 magic + 4 + 4 + meta 140 + (4 + 12 + 8 + 24) + (4 + 10 + 8 + 8) + 8 state count
     + 4 crc */
  ck_assert_int_eq(file_size(ckpt_path), 8 + 4 + 4 + 140 + 48 + 30 + 8 + 4);
  ck_assert_int_eq(access(tmp_file_path, F_OK), -1);
}
END_TEST

START_TEST(test_overwrite_replaces) {
  float w2[6] = {9, 9, 9, 9, 9, 9};
  RtTensorRef t[] = {{"dense/kernel", w2, 6}, {"dense/bias", b_data, 2}};
  RtCheckpointMeta meta = saved_meta();
  meta.epoch = 8;
  rt_checkpoint_save(ckpt_path, t, 2, &meta);
  float w[6], b[2];
  RtTensorRef back[] = {{"dense/kernel", w, 6}, {"dense/bias", b, 2}};
  rt_checkpoint_load(ckpt_path, back, 2, &meta);
  ck_assert_int_eq(meta.epoch, 8);
  ck_assert_float_eq(w[3], 9.0f);
  ck_assert_int_eq(access(tmp_file_path, F_OK), -1);
}
END_TEST

static void save_second_version(void) {
  RtCheckpointMeta meta = saved_meta();
  rt_checkpoint_save(ckpt_path, saved_tensors, 2, &meta);
}

START_TEST(test_full_disk_keeps_old_checkpoint) {
  /* PATH.tmp points at /dev/full: every write fails with ENOSPC. */
  if (access("/dev/full", W_OK) != 0)
    return;
  ck_assert_int_eq(symlink("/dev/full", tmp_file_path), 0);
  long before = file_size(ckpt_path);
  ChildResult r = run_void_in_child(save_second_version);
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, tmp_file_path), "stderr does not name the file: %s", r.err);
  ck_assert_msg(strstr(r.err, "No space left"), "stderr: %s", r.err);
  ck_assert_int_eq(access(tmp_file_path, F_OK), -1); /* the temp file is removed */
  ck_assert_int_eq(file_size(ckpt_path), before);
  char err[256];
  ck_assert_int_eq(try_load_shaped(6, "dense/bias", err, sizeof err), 0);
}
END_TEST

/* ---- stale temporaries and the file-size limit ---- */

/* A save killed before its rename leaves PATH.tmp: removed at the next
 * start, PATH untouched. */
START_TEST(test_clean_stale_tmp) {
  FILE *f = fopen(tmp_file_path, "wb");
  ck_assert_ptr_nonnull(f);
  fputs("half a checkpoint", f);
  ck_assert_int_eq(fclose(f), 0);
  long before = file_size(ckpt_path);
  ck_assert_int_eq(rt_checkpoint_clean_stale(ckpt_path), 1);
  ck_assert_int_eq(access(tmp_file_path, F_OK), -1);
  ck_assert_int_eq(file_size(ckpt_path), before);
  ck_assert_int_eq(rt_checkpoint_clean_stale(ckpt_path), 0); /* nothing left to remove */
  char err[256];
  ck_assert_int_eq(try_load_shaped(6, "dense/bias", err, sizeof err), 0);
}
END_TEST

/* A directory named PATH.tmp is not a temporary file of ours: left alone. */
START_TEST(test_clean_stale_leaves_directory) {
  ck_assert_int_eq(mkdir(tmp_file_path, 0700), 0);
  ck_assert_int_eq(rt_checkpoint_clean_stale(ckpt_path), 0);
  ck_assert_int_eq(rmdir(tmp_file_path), 0);
}
END_TEST

/* Saves 64 KB of floats under a 4 KB file-size limit (ulimit -f). */
static void save_past_file_size_limit(void) {
  struct rlimit limit = {4096, 4096};
  /* no ck_assert from here on: Check's own messages go through a file that
   * the limit would cut, so the child reports failure by exit status only */
  if (setrlimit(RLIMIT_FSIZE, &limit) != 0)
    _exit(3);
  static float big[16384];
  RtTensorRef t[] = {{"dense/kernel", big, 16384}, {"dense/bias", b_data, 2}};
  RtCheckpointMeta meta = saved_meta();
  rt_checkpoint_save(ckpt_path, t, 2, &meta);
}

/* Without SIGXFSZ ignored the child dies of the signal, silently (status
 * 128 + 25); with it, the failed write is reported in words, naming the
 * file, and the previous checkpoint stays. */
START_TEST(test_file_size_limit_reported) {
  long before = file_size(ckpt_path);
  ChildResult r = run_void_in_child(save_past_file_size_limit);
  ck_assert_msg(r.status == 1, "exit status %d (128 + %d is SIGXFSZ), stderr: %s", r.status,
                SIGXFSZ, r.err);
  ck_assert_msg(strstr(r.err, tmp_file_path), "stderr does not name the file: %s", r.err);
  ck_assert_msg(strstr(r.err, "ulimit -f"), "stderr does not say why: %s", r.err);
  ck_assert_msg(strstr(r.err, "is unchanged"), "stderr: %s", r.err);
  ck_assert_int_eq(access(tmp_file_path, F_OK), -1);
  ck_assert_int_eq(file_size(ckpt_path), before);
}
END_TEST

START_TEST(test_write_error_text) {
  char buf[256];
  ck_assert_ptr_nonnull(strstr(rt_write_error_text(ENOSPC, buf, sizeof buf), "disk is full"));
  ck_assert_ptr_nonnull(strstr(rt_write_error_text(EFBIG, buf, sizeof buf), "ulimit -f"));
  ck_assert_str_eq(rt_write_error_text(EACCES, buf, sizeof buf), strerror(EACCES));
}
END_TEST

/* ---- load failures ---- */

START_TEST(test_missing_file) {
  unlink(ckpt_path);
  assert_load_fails("not found");
}
END_TEST

START_TEST(test_flipped_byte_is_corrupt) {
  patch_byte(ckpt_path, file_size(ckpt_path) - 14, 0x40); /* inside dense/bias data */
  assert_load_fails("corrupt: checksum mismatch");
}
END_TEST

START_TEST(test_flipped_checksum_is_corrupt) {
  patch_byte(ckpt_path, file_size(ckpt_path) - 1, 0x01);
  assert_load_fails("corrupt");
}
END_TEST

START_TEST(test_trailing_bytes_are_corrupt) {
  FILE *f = fopen(ckpt_path, "ab");
  fputs("junk", f);
  fclose(f);
  assert_load_fails("corrupt");
}
END_TEST

START_TEST(test_truncated_file) {
  long sizes[] = {file_size(ckpt_path) - 1, file_size(ckpt_path) / 2, 12, 5, 0}; /* shrinking */
  for (int i = 0; i < 5; i++) {
    ck_assert_int_eq(truncate(ckpt_path, sizes[i]), 0);
    assert_load_fails("truncated");
  }
}
END_TEST

START_TEST(test_wrong_magic) {
  patch_byte(ckpt_path, 0, 0x20); /* 'N' -> 'n' */
  assert_load_fails("not an nnc checkpoint");
}
END_TEST

START_TEST(test_wrong_version) {
  patch_u32(ckpt_path, 8, 3);
  assert_load_fails("written by a newer nnc; rebuild and retrain");
  patch_u32(ckpt_path, 8, 0);
  assert_load_fails("written by an older nnc; rebuild and retrain");
  patch_u32(ckpt_path, 8, 1); /* before identities: says what it lacks */
  assert_load_fails("version 1, this program reads version 2");
  assert_load_fails("records the model's identity and the run");
  RtCheckpointMeta meta;
  char err[1024] = "";
  ck_assert_int_eq(rt_checkpoint_read_meta(ckpt_path, &meta, err, sizeof err), -1);
  ck_assert_msg(strstr(err, "version 1, this program reads version 2"), "%s", err);
}
END_TEST

START_TEST(test_tensor_size_mismatch) {
  char err[1024] = "";
  ck_assert_int_eq(try_load_shaped(8, "dense/bias", err, sizeof err), -1);
  ck_assert_ptr_nonnull(strstr(err, ckpt_path));
  ck_assert_msg(strstr(err, "checkpoint is for a different model: tensor dense/kernel has 6 "
                            "values, model expects 8"),
                "%s", err);
}
END_TEST

START_TEST(test_tensor_name_mismatch) {
  char err[1024] = "";
  ck_assert_int_eq(try_load_shaped(6, "dense_1/bias", err, sizeof err), -1);
  ck_assert_ptr_nonnull(strstr(err, ckpt_path));
  ck_assert_msg(strstr(err, "different model: it has no tensor dense_1/bias"), "%s", err);
}
END_TEST

START_TEST(test_extra_tensor_in_file) {
  float w[6];
  RtTensorRef t[] = {{"dense/kernel", w, 6}};
  char err[1024] = "";
  ck_assert_int_eq(rt_checkpoint_try_load(ckpt_path, t, 1, NULL, err, sizeof err), -1);
  ck_assert_msg(strstr(err, "it has 2 tensors, model expects 1"), "%s", err);
}
END_TEST

START_TEST(test_failed_load_leaves_tensors_alone) {
  float w[6] = {0}, b[3] = {0};
  RtTensorRef t[] = {{"dense/kernel", w, 6}, {"dense/bias", b, 3}};
  char err[256];
  ck_assert_int_eq(rt_checkpoint_try_load(ckpt_path, t, 2, NULL, err, sizeof err), -1);
  ck_assert_float_eq(w[0], 0.0f); /* the kernel matched, but nothing was copied */
}
END_TEST

static void load_corrupt(void) {
  float w[6], b[2];
  RtTensorRef t[] = {{"dense/kernel", w, 6}, {"dense/bias", b, 2}};
  rt_checkpoint_load(ckpt_path, t, 2, NULL);
}

START_TEST(test_load_dies_naming_file) {
  patch_byte(ckpt_path, 186, 0x01); /* inside dense/kernel data (it starts at 180) */
  ChildResult r = run_void_in_child(load_corrupt);
  ck_assert_int_eq(r.status, 1);
  char expected[512];
  snprintf(expected, sizeof expected, "error: %s: corrupt", ckpt_path);
  ck_assert_msg(strstr(r.err, expected), "stderr: %s", r.err);
}
END_TEST

/* ---- format 2: state words, the meta alone, whose file it is ---- */

START_TEST(test_state_round_trip) {
  const uint64_t words[] = {0, 1, UINT64_MAX, 0x8000000000000000ull, 42};
  RtCheckpointMeta meta = saved_meta();
  rt_checkpoint_save_state(ckpt_path, saved_tensors, 2, &meta, words, 5);
  float w[6], b[2];
  RtTensorRef t[] = {{"dense/kernel", w, 6}, {"dense/bias", b, 2}};
  uint64_t *state = NULL;
  size_t n = 0;
  char err[1024] = "";
  ck_assert_msg(rt_checkpoint_try_load_state(ckpt_path, t, 2, &meta, &state, &n, err,
                                             sizeof err) == 0, "%s", err);
  ck_assert_uint_eq(n, 5);
  ck_assert_int_eq(memcmp(state, words, sizeof words), 0);
  ck_assert_int_eq(memcmp(w, w_data, sizeof w), 0);
  free(state);
  /* a plain load ignores the state */
  ck_assert_msg(rt_checkpoint_try_load(ckpt_path, t, 2, &meta, err, sizeof err) == 0, "%s", err);
}
END_TEST

START_TEST(test_state_empty_without_one) {
  float w[6], b[2];
  RtTensorRef t[] = {{"dense/kernel", w, 6}, {"dense/bias", b, 2}};
  uint64_t *state = NULL;
  size_t n = 99;
  char err[1024] = "";
  ck_assert_msg(rt_checkpoint_try_load_state(ckpt_path, t, 2, NULL, &state, &n, err,
                                             sizeof err) == 0, "%s", err);
  ck_assert_uint_eq(n, 0);
  free(state);
}
END_TEST

START_TEST(test_read_meta_alone) {
  RtCheckpointMeta meta;
  char err[1024] = "";
  ck_assert_msg(rt_checkpoint_read_meta(ckpt_path, &meta, err, sizeof err) == 0, "%s", err);
  ck_assert_str_eq(meta.model, "mlp_day5");
  ck_assert_uint_eq(meta.identity, 0x0123456789abcdefull);
  ck_assert_str_eq(meta.run_id, "20261201T030102Z-4242-5f3e9a1b");
  ck_assert_int_eq(meta.epoch, 7);
  ck_assert_int_eq(truncate(ckpt_path, 60), 0); /* inside the meta */
  ck_assert_int_eq(rt_checkpoint_read_meta(ckpt_path, &meta, err, sizeof err), -1);
  ck_assert_msg(strstr(err, "truncated") && strstr(err, ckpt_path), "%s", err);
  unlink(ckpt_path);
  ck_assert_int_eq(rt_checkpoint_read_meta(ckpt_path, &meta, err, sizeof err), -1);
  ck_assert_msg(strstr(err, "checkpoint not found"), "%s", err);
}
END_TEST

/* rt_checkpoint_check_owner's verdict on the fixture's file. */
static int owner(const char *model, uint64_t identity, const char *run, char *err, size_t esz) {
  RtCheckpointMeta meta = saved_meta();
  return rt_checkpoint_check_owner(ckpt_path, &meta, model, identity, run, err, esz);
}

START_TEST(test_owner_checks) {
  char err[1024] = "";
  const char *run = "20261201T030102Z-4242-5f3e9a1b";
  ck_assert_int_eq(owner("mlp_day5", 0x0123456789abcdefull, run, err, sizeof err), 0);
  ck_assert_int_eq(owner("mlp_day5", 0x0123456789abcdefull, NULL, err, sizeof err), 0);
  ck_assert_int_eq(owner("cnn", 0x0123456789abcdefull, run, err, sizeof err), -1);
  ck_assert_msg(strstr(err, "a checkpoint of model 'mlp_day5', not of 'cnn'"), "%s", err);
  ck_assert_int_eq(owner("mlp_day5", 0x1111, run, err, sizeof err), -1);
  ck_assert_msg(strstr(err, ckpt_path) && strstr(err, "another version of model 'mlp_day5'") &&
                    strstr(err, "0123456789abcdef") && strstr(err, "0000000000001111"),
                "%s", err);
  ck_assert_int_eq(owner("mlp_day5", 0x0123456789abcdefull, "20261202T000000Z-1-00000000", err,
                         sizeof err), -1);
  ck_assert_msg(strstr(err, "written by an earlier run (20261201T030102Z-4242-5f3e9a1b), not "
                            "by this one (20261202T000000Z-1-00000000)"), "%s", err);
}
END_TEST

START_TEST(test_run_ids_differ) {
  char a[48], b[48];
  rt_run_new_id(a, sizeof a);
  rt_run_new_id(b, sizeof b);
  ck_assert_str_ne(a, b); /* 32 random bits apart */
  ck_assert_int_eq(a[8], 'T'); /* 20261201T030102Z-PID-RANDOM */
  ck_assert_int_eq(a[15], 'Z');
  ck_assert_int_eq(a[16], '-');
}
END_TEST

static Suite *ckpt_suite(void) {
  Suite *s = suite_create("rt_ckpt");
  TCase *save = tcase_create("save");
  tcase_add_checked_fixture(save, setup, teardown);
  tcase_add_test(save, test_round_trip);
  tcase_add_test(save, test_load_in_any_order);
  tcase_add_test(save, test_expected_size_and_no_tmp_left);
  tcase_add_test(save, test_overwrite_replaces);
  tcase_add_test(save, test_full_disk_keeps_old_checkpoint);
  tcase_add_test(save, test_clean_stale_tmp);
  tcase_add_test(save, test_clean_stale_leaves_directory);
  tcase_add_test(save, test_file_size_limit_reported);
  tcase_add_test(save, test_write_error_text);
  suite_add_tcase(s, save);
  TCase *load = tcase_create("load errors");
  tcase_add_checked_fixture(load, setup, teardown);
  tcase_add_test(load, test_missing_file);
  tcase_add_test(load, test_flipped_byte_is_corrupt);
  tcase_add_test(load, test_flipped_checksum_is_corrupt);
  tcase_add_test(load, test_trailing_bytes_are_corrupt);
  tcase_add_test(load, test_truncated_file);
  tcase_add_test(load, test_wrong_magic);
  tcase_add_test(load, test_wrong_version);
  tcase_add_test(load, test_tensor_size_mismatch);
  tcase_add_test(load, test_tensor_name_mismatch);
  tcase_add_test(load, test_extra_tensor_in_file);
  tcase_add_test(load, test_failed_load_leaves_tensors_alone);
  tcase_add_test(load, test_load_dies_naming_file);
  suite_add_tcase(s, load);
  TCase *owners = tcase_create("identity and state");
  tcase_add_checked_fixture(owners, setup, teardown);
  tcase_set_timeout(owners, 120);
  tcase_add_test(owners, test_state_round_trip);
  tcase_add_test(owners, test_state_empty_without_one);
  tcase_add_test(owners, test_read_meta_alone);
  tcase_add_test(owners, test_owner_checks);
  tcase_add_test(owners, test_run_ids_differ);
  suite_add_tcase(s, owners);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(ckpt_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
