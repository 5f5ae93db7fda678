/*
 * rt_util.c — the runtime's plumbing: fatal errors, checked allocation and
 * file opening, a monotonic clock, directory creation and path joining.
 *
 * Invariant: none of these functions returns on failure. Every failure goes
 * through rt_die, which prints "error: <message>" to stderr and exits 1, so
 * generated code never checks a return value for these calls. Checked calls
 * name the caller's __FILE__:__LINE__ (llm.c's mallocCheck habit).
 */
#include "nnc_runtime.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void rt_die(const char *fmt, ...) {
  va_list ap;
  fflush(stdout);
  fputs("error: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

void *rt_malloc_check(size_t size, const char *file, int line) {
  /* malloc(0) may legally return NULL; ask for one byte so NULL means failure. */
  void *p = malloc(size ? size : 1);
  if (!p)
    rt_die("%s:%d: malloc of %zu bytes failed: %s", file, line, size, strerror(errno));
  return p;
}

void *rt_calloc_check(size_t count, size_t size, const char *file, int line) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p)
    rt_die("%s:%d: calloc of %zu x %zu bytes failed: %s", file, line, count, size,
           strerror(errno));
  return p;
}

void *rt_alloc_block(const char *what, size_t bytes) {
  enum { ALIGN = 64 };
  /* calloc: a large block comes as untouched zero pages (mmap), so the
   * resident size grows only as the plan's buffers are first written */
  unsigned char *raw = bytes <= SIZE_MAX - ALIGN ? calloc(1, bytes + ALIGN) : NULL;
  if (!raw)
    rt_die("cannot allocate the %s block: %zu bytes (%.2f GiB): %s (the memory plan in the "
           "generated C's banner says what the model needs)",
           what, bytes, (double)bytes / (1024.0 * 1024.0 * 1024.0), strerror(ENOMEM));
  /* held until exit through the aligned pointer, which points into raw */
  return raw + (ALIGN - (uintptr_t)raw % ALIGN) % ALIGN;
}

FILE *rt_fopen_check(const char *path, const char *mode, const char *file, int line) {
  FILE *f = fopen(path, mode);
  if (!f)
    rt_die("%s:%d: cannot open '%s' (mode \"%s\"): %s", file, line, path, mode,
           strerror(errno));
  return f;
}

double rt_now(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
    rt_die("clock_gettime(CLOCK_MONOTONIC) failed: %s", strerror(errno));
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Create one directory; an existing directory is fine, anything else dies. */
static void make_one_dir(const char *path, const char *full) {
  struct stat st;
  if (mkdir(path, 0777) == 0)
    return;
  int err = errno;
  if (err == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return;
  if (err == EEXIST)
    rt_die("cannot create directory '%s': '%s' exists and is not a directory", full, path);
  rt_die("cannot create directory '%s': %s", full, strerror(err));
}

void rt_mkdir_p(const char *path) {
  if (!path || !*path)
    rt_die("rt_mkdir_p: empty directory name");
  size_t len = strlen(path);
  char *buf = rt_malloc(len + 1);
  memcpy(buf, path, len + 1);
  /* Create every prefix ending just before a '/', then the whole path. */
  for (size_t i = 1; i < len; i++) {
    if (buf[i] != '/' || buf[i - 1] == '/')
      continue;
    buf[i] = '\0';
    make_one_dir(buf, path);
    buf[i] = '/';
  }
  make_one_dir(buf, path);
  free(buf);
}

/* Like os.path.join: an empty dir, or an absolute name, gives name alone;
 * no doubled '/' when dir already ends in one. */
void rt_path_join(char *buf, size_t size, const char *dir, const char *name) {
  int n;
  size_t dlen = strlen(dir);
  if (dlen == 0 || name[0] == '/')
    n = snprintf(buf, size, "%s", name);
  else if (dir[dlen - 1] == '/')
    n = snprintf(buf, size, "%s%s", dir, name);
  else
    n = snprintf(buf, size, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= size)
    rt_die("path too long (limit %zu bytes): '%s' + '%s'", size, dir, name);
}
