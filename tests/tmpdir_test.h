/*
 * tmpdir_test.h — a temporary directory per test for the runtime suites that
 * write files (test_data, test_sources): setup_tmp_dir / teardown_tmp_dir as
 * a Check fixture, tmp_path(NAME) for a file inside it. Header-only.
 */
#ifndef TMPDIR_TEST_H
#define TMPDIR_TEST_H

#define _XOPEN_SOURCE 700 /* nftw, mkdtemp */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char tmp_dir[256];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void setup_tmp_dir(void) {
  const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(tmp_dir, sizeof tmp_dir, "%s/nnc_test_XXXXXX", base);
  ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void teardown_tmp_dir(void) { nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* DIR/name, valid until 16 more calls */
static const char *tmp_path(const char *name) {
  static char buf[16][512];
  static int next;
  char *p = buf[next++ % 16];
  ck_assert_int_lt(snprintf(p, sizeof buf[0], "%s/%s", tmp_dir, name), (int)sizeof buf[0]);
  return p;
}

#endif
