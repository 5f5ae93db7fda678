/*
 * rt_ckpt.c — checkpoint files: the model's named tensors plus a little
 * metadata, with a magic number, a format version and a CRC-32.
 *
 * Layout (little-endian, independent of the host):
 *   "NNCKPT\0\0"                     magic, 8 bytes
 *   u32 version                      CKPT_VERSION
 *   u32 tensor count
 *   meta: char model[64], u64 identity, char run[48], i32 epoch, i64 step,
 *         f64 monitor
 *   per tensor: u32 name length, name bytes (no NUL), u64 count, count f32
 *   u64 state count, count u64   the run's resume state (0 words but in last.ckpt)
 *   u32 CRC-32 (zlib crc32) of every byte before it
 *
 * Version 2 added the identity (RtModel.identity: a hash of the compiled
 * graph), the run id and the state; a version 1 file is refused with a
 * message. Whose file it is (model, identity, run) is checked by the
 * callers (rt_checkpoint_check_owner), which know what they expect.
 *
 * Writing goes to PATH.tmp, is flushed and fsync'd, and is renamed over PATH
 * only when every write succeeded, so PATH is always either the previous
 * checkpoint or the complete new one. A failed write removes PATH.tmp and
 * dies naming the file and saying why in words (a full disk, the file-size
 * limit). A process killed during a save leaves PATH.tmp behind;
 * rt_checkpoint_clean_stale removes it at the next start. SIGXFSZ is
 * ignored from the first save on (rt_ignore_file_size_signal), so a write
 * past `ulimit -f` fails with EFBIG and is reported instead of killing the
 * program without a word.
 *
 * Reading loads the whole file, checks magic, version, structure (truncation)
 * and checksum, then matches the requested tensors by name and size; the
 * caller's tensors are written only after every check has passed.
 */
#define _XOPEN_SOURCE 700 /* fsync, fileno, strnlen, O_DIRECTORY, lstat */
#include "nnc_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define CKPT_MAGIC "NNCKPT\0\0"
#define CKPT_MAGIC_SIZE 8
#define CKPT_VERSION 2u
#define CKPT_MODEL_SIZE 64
#define CKPT_RUN_SIZE 48
#define CKPT_META_SIZE (CKPT_MODEL_SIZE + 8 + CKPT_RUN_SIZE + 4 + 8 + 8)
#define CKPT_HEADER_SIZE (CKPT_MAGIC_SIZE + 4 + 4)
#define CKPT_MIN_TENSOR_SIZE (4 + 8)
#define FLOAT_CHUNK 4096

/* ---- little-endian encoding ---- */

static void put_le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p) {
  return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* ---- file safety: stale temporaries, write errors in words ---- */

void rt_ignore_file_size_signal(void) {
  signal(SIGXFSZ, SIG_IGN);
}

const char *rt_write_error_text(int err, char *buf, size_t size) {
  const char *why = NULL;
  if (err == ENOSPC)
    why = "the disk is full";
  else if (err == EFBIG)
    why = "the file-size limit (ulimit -f) was reached";
#ifdef EDQUOT
  else if (err == EDQUOT)
    why = "the disk quota is used up";
#endif
  if (why)
    snprintf(buf, size, "%s (%s)", strerror(err), why);
  else
    snprintf(buf, size, "%s", strerror(err ? err : EIO));
  return buf;
}

int rt_checkpoint_clean_stale(const char *path) {
  char tmp[4096];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
    rt_die("%s: path too long", path);
  struct stat st;
  if (lstat(tmp, &st) != 0 || S_ISDIR(st.st_mode))
    return 0; /* nothing there, or not ours to remove */
  if (unlink(tmp) != 0)
    rt_die("%s: cannot remove the stale temporary file left by an interrupted save: %s", tmp,
           strerror(errno));
  return 1;
}

/* ---- writing ---- */

typedef struct {
  FILE *f;
  const char *path, *tmp_path;
  uLong crc;
} CkptWriter;

/* Abandon the temporary file and die naming it, and saying that PATH
 * (the previous checkpoint, if any) is untouched. */
static _Noreturn void writer_fail(CkptWriter *w, const char *what, int err) {
  if (w->f)
    fclose(w->f);
  unlink(w->tmp_path);
  char why[256];
  rt_die("%s: %s: %s; %s is unchanged", w->tmp_path, what,
         rt_write_error_text(err, why, sizeof why), w->path);
}

static void write_bytes(CkptWriter *w, const void *buf, size_t n) {
  w->crc = crc32_z(w->crc, buf, n);
  if (n && fwrite(buf, 1, n, w->f) != n)
    writer_fail(w, "write failed", errno);
}

static void write_u32(CkptWriter *w, uint32_t v) {
  uint8_t b[4];
  put_le32(b, v);
  write_bytes(w, b, 4);
}

static void write_u64(CkptWriter *w, uint64_t v) {
  uint8_t b[8];
  put_le64(b, v);
  write_bytes(w, b, 8);
}

static void write_f64(CkptWriter *w, double x) {
  uint64_t bits;
  memcpy(&bits, &x, 8);
  write_u64(w, bits);
}

static void write_floats(CkptWriter *w, const float *data, size_t count) {
  uint8_t buf[4 * FLOAT_CHUNK];
  for (size_t done = 0; done < count;) {
    size_t n = count - done < FLOAT_CHUNK ? count - done : FLOAT_CHUNK;
    for (size_t i = 0; i < n; i++) {
      uint32_t bits;
      memcpy(&bits, &data[done + i], 4);
      put_le32(buf + 4 * i, bits);
    }
    write_bytes(w, buf, 4 * n);
    done += n;
  }
}

static void write_meta(CkptWriter *w, const RtCheckpointMeta *meta) {
  RtCheckpointMeta zero;
  if (!meta) {
    memset(&zero, 0, sizeof zero);
    meta = &zero;
  }
  char model[CKPT_MODEL_SIZE] = {0}, run[CKPT_RUN_SIZE] = {0};
  memcpy(model, meta->model, strnlen(meta->model, CKPT_MODEL_SIZE - 1));
  memcpy(run, meta->run_id, strnlen(meta->run_id, CKPT_RUN_SIZE - 1));
  write_bytes(w, model, CKPT_MODEL_SIZE);
  write_u64(w, meta->identity);
  write_bytes(w, run, CKPT_RUN_SIZE);
  write_u32(w, (uint32_t)(int32_t)meta->epoch);
  write_u64(w, (uint64_t)(int64_t)meta->step);
  write_f64(w, meta->monitor);
}

static void write_tensor(CkptWriter *w, const RtTensorRef *t) {
  size_t len = strlen(t->name);
  write_u32(w, (uint32_t)len);
  write_bytes(w, t->name, len);
  write_u64(w, (uint64_t)t->count);
  write_floats(w, t->data, t->count);
}

/* Flush to the disk and close; the file is complete only after this. */
static void writer_close(CkptWriter *w) {
  if (fflush(w->f) != 0)
    writer_fail(w, "write failed", errno);
  if (fsync(fileno(w->f)) != 0)
    writer_fail(w, "fsync failed", errno);
  FILE *f = w->f;
  w->f = NULL;
  if (fclose(f) != 0)
    writer_fail(w, "close failed", errno);
}

/* Make the rename itself durable (best effort: not every file system
 * supports fsync on a directory). */
static void sync_parent_dir(const char *path) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash)
    snprintf(dir, sizeof dir, ".");
  else if (slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

static void check_tensors_to_save(const char *path, const RtTensorRef *tensors, int n_tensors) {
  if (n_tensors < 0)
    rt_die("%s: cannot save %d tensors", path, n_tensors);
  for (int i = 0; i < n_tensors; i++)
    if (!tensors[i].name || (!tensors[i].data && tensors[i].count > 0))
      rt_die("%s: tensor %d has no name or no data", path, i);
}

void rt_checkpoint_save_state(const char *path, const RtTensorRef *tensors, int n_tensors,
                              const RtCheckpointMeta *meta, const uint64_t *state,
                              size_t n_state) {
  char tmp[4096];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
    rt_die("%s: path too long", path);
  check_tensors_to_save(path, tensors, n_tensors);
  rt_ignore_file_size_signal();
  CkptWriter w = {.f = fopen(tmp, "wb"), .path = path, .tmp_path = tmp, .crc = crc32(0, NULL, 0)};
  if (!w.f)
    rt_die("%s: cannot create: %s", tmp, strerror(errno));
  write_bytes(&w, CKPT_MAGIC, CKPT_MAGIC_SIZE);
  write_u32(&w, CKPT_VERSION);
  write_u32(&w, (uint32_t)n_tensors);
  write_meta(&w, meta);
  for (int i = 0; i < n_tensors; i++)
    write_tensor(&w, &tensors[i]);
  write_u64(&w, (uint64_t)n_state);
  for (size_t i = 0; i < n_state; i++)
    write_u64(&w, state[i]);
  uint8_t crc[4];
  put_le32(crc, (uint32_t)w.crc);
  if (fwrite(crc, 1, 4, w.f) != 4)
    writer_fail(&w, "write failed", errno);
  writer_close(&w);
  if (rename(tmp, path) != 0) {
    int err = errno;
    unlink(tmp);
    rt_die("%s: cannot rename %s over it: %s", path, tmp, strerror(err));
  }
  sync_parent_dir(path);
}

void rt_checkpoint_save(const char *path, const RtTensorRef *tensors, int n_tensors,
                        const RtCheckpointMeta *meta) {
  rt_checkpoint_save_state(path, tensors, n_tensors, meta, NULL, 0);
}

/* ---- reading ---- */

/* Where a tensor lies in the loaded file. */
typedef struct {
  const uint8_t *name;
  uint32_t name_len;
  uint64_t count;
  const uint8_t *data;
} CkptEntry;

typedef struct {
  const uint8_t *buf;
  size_t len, pos;
} CkptReader;

/* Return the next n bytes, or NULL (position unchanged) if the file ends first. */
static const uint8_t *take(CkptReader *r, size_t n) {
  if (n > r->len - r->pos)
    return NULL;
  const uint8_t *p = r->buf + r->pos;
  r->pos += n;
  return p;
}

/* err = "<path>: <message>". Always returns -1. */
static int set_error(char *err, size_t size, const char *path, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (err && size)
    snprintf(err, size, "%s: %s", path, msg);
  return -1;
}

static int read_whole_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t esz) {
  FILE *f = fopen(path, "rb");
  if (!f && errno == ENOENT)
    return set_error(err, esz, path, "checkpoint not found");
  if (!f)
    return set_error(err, esz, path, "cannot open checkpoint: %s", strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    return set_error(err, esz, path, "not a regular file");
  }
  *len = (size_t)st.st_size;
  *buf = rt_malloc(*len ? *len : 1);
  size_t got = fread(*buf, 1, *len, f);
  int failed = ferror(f);
  fclose(f);
  if (failed || got != *len) {
    free(*buf);
    return set_error(err, esz, path, "read failed after %zu of %zu bytes", got, *len);
  }
  return 0;
}

/* Magic and version. */
static int check_header(CkptReader *r, const char *path, char *err, size_t esz) {
  size_t n = r->len < CKPT_MAGIC_SIZE ? r->len : CKPT_MAGIC_SIZE;
  if (memcmp(r->buf, CKPT_MAGIC, n) != 0)
    return set_error(err, esz, path, "not an nnc checkpoint (bad magic number)");
  if (r->len < CKPT_HEADER_SIZE)
    return set_error(err, esz, path, "truncated: %zu bytes, shorter than the header", r->len);
  uint32_t version = get_le32(r->buf + CKPT_MAGIC_SIZE);
  if (version != CKPT_VERSION)
    return set_error(err, esz, path,
                     "checkpoint format version %u, this program reads version %u: written by "
                     "%s nnc; rebuild and retrain%s",
                     version, CKPT_VERSION, version > CKPT_VERSION ? "a newer" : "an older",
                     version == 1 ? " (version 2 records the model's identity and the run that "
                                    "wrote it, which a version 1 file cannot show)"
                                  : "");
  r->pos = CKPT_HEADER_SIZE;
  return 0;
}

static int truncated(const CkptReader *r, const char *path, const char *where, char *err,
                     size_t esz) {
  return set_error(err, esz, path, "truncated: the file (%zu bytes) ends inside %s", r->len,
                   where);
}

/* Walk one tensor record, bounds-checked. */
static int read_entry(CkptReader *r, CkptEntry *e, uint32_t i, const char *path, char *err,
                      size_t esz) {
  char where[64];
  snprintf(where, sizeof where, "tensor %u", i);
  const uint8_t *p = take(r, 4);
  if (!p)
    return truncated(r, path, where, err, esz);
  e->name_len = get_le32(p);
  e->name = take(r, e->name_len);
  if (!e->name || !(p = take(r, 8)))
    return truncated(r, path, where, err, esz);
  e->count = get_le64(p);
  if (e->count > (r->len - r->pos) / 4)
    return truncated(r, path, where, err, esz);
  e->data = take(r, 4 * (size_t)e->count);
  return 0;
}

/* Where the state words lie: *state (n words), after the tensors. */
static int read_state(CkptReader *r, const uint8_t **state, uint64_t *n, const char *path,
                      char *err, size_t esz) {
  const uint8_t *p = take(r, 8);
  if (!p)
    return truncated(r, path, "the resume state", err, esz);
  *n = get_le64(p);
  if (*n > (r->len - r->pos) / 8)
    return truncated(r, path, "the resume state", err, esz);
  *state = take(r, 8 * (size_t)*n);
  return 0;
}

/* Tensor table, state and checksum. entries is allocated here (*n_entries of them). */
static int read_structure(CkptReader *r, CkptEntry **entries, uint32_t *n_entries,
                          const uint8_t **state, uint64_t *n_state, const char *path, char *err,
                          size_t esz) {
  *n_entries = get_le32(r->buf + CKPT_MAGIC_SIZE + 4);
  if (!take(r, CKPT_META_SIZE))
    return truncated(r, path, "the metadata", err, esz);
  if (*n_entries > (r->len - r->pos) / CKPT_MIN_TENSOR_SIZE)
    return truncated(r, path, "the tensor table", err, esz);
  *entries = rt_calloc(*n_entries ? *n_entries : 1, sizeof(CkptEntry));
  for (uint32_t i = 0; i < *n_entries; i++)
    if (read_entry(r, &(*entries)[i], i, path, err, esz) != 0)
      return -1;
  if (read_state(r, state, n_state, path, err, esz) != 0)
    return -1;
  if (r->len - r->pos < 4)
    return truncated(r, path, "the checksum", err, esz);
  uint32_t stored = get_le32(r->buf + r->pos);
  uint32_t actual = (uint32_t)crc32_z(crc32(0, NULL, 0), r->buf, r->pos);
  if (stored != actual)
    return set_error(err, esz, path, "corrupt: checksum mismatch (stored %08x, computed %08x)",
                     stored, actual);
  if (r->len - r->pos > 4)
    return set_error(err, esz, path, "corrupt: %zu unexpected bytes after the checksum",
                     r->len - r->pos - 4);
  return 0;
}

static const CkptEntry *find_entry(const CkptEntry *entries, uint32_t n, const char *name) {
  size_t len = strlen(name);
  for (uint32_t i = 0; i < n; i++)
    if (entries[i].name_len == len && memcmp(entries[i].name, name, len) == 0)
      return &entries[i];
  return NULL;
}

/* Every requested tensor present with the right size, and nothing extra. */
static int match_tensors(const CkptEntry **found, const CkptEntry *entries, uint32_t n_entries,
                         const RtTensorRef *tensors, int n_tensors, bool every, const char *path,
                         char *err, size_t esz) {
  for (int i = 0; i < n_tensors; i++) {
    found[i] = find_entry(entries, n_entries, tensors[i].name);
    if (!found[i])
      return set_error(err, esz, path,
                       "checkpoint is for a different model: it has no tensor %s", tensors[i].name);
    if (found[i]->count != (uint64_t)tensors[i].count)
      return set_error(err, esz, path,
                       "checkpoint is for a different model: tensor %s has %llu values, model "
                       "expects %zu",
                       tensors[i].name, (unsigned long long)found[i]->count, tensors[i].count);
  }
  if (every && n_entries != (uint32_t)n_tensors)
    return set_error(err, esz, path,
                     "checkpoint is for a different model: it has %u tensors, model expects %d",
                     n_entries, n_tensors);
  return 0;
}

static void copy_floats(float *out, const uint8_t *p, size_t count) {
  for (size_t i = 0; i < count; i++) {
    uint32_t bits = get_le32(p + 4 * i);
    memcpy(&out[i], &bits, 4);
  }
}

static void read_meta(RtCheckpointMeta *meta, const uint8_t *p) {
  memcpy(meta->model, p, CKPT_MODEL_SIZE);
  meta->model[CKPT_MODEL_SIZE - 1] = '\0';
  p += CKPT_MODEL_SIZE;
  meta->identity = get_le64(p);
  p += 8;
  memcpy(meta->run_id, p, CKPT_RUN_SIZE);
  meta->run_id[CKPT_RUN_SIZE - 1] = '\0';
  p += CKPT_RUN_SIZE;
  meta->epoch = (int32_t)get_le32(p);
  meta->step = (long)(int64_t)get_le64(p + 4);
  uint64_t bits = get_le64(p + 12);
  memcpy(&meta->monitor, &bits, 8);
}

/* What one load asks for: the tensors to fill (every one of the file's, or
 * some), the meta, and the state words (NULL: not wanted). */
typedef struct {
  RtTensorRef *tensors;
  int n_tensors;
  bool every;
  RtCheckpointMeta *meta;
  uint64_t **state;
  size_t *n_state;
} LoadRequest;

/* *q->state = a malloc'd copy of the n state words at p. */
static void copy_state(const LoadRequest *q, const uint8_t *p, uint64_t n) {
  *q->n_state = (size_t)n;
  *q->state = rt_malloc(8 * (n ? (size_t)n : 1));
  for (uint64_t i = 0; i < n; i++)
    (*q->state)[i] = get_le64(p + 8 * i);
}

/* Checks and copies; buf is the whole file. */
static int load_from_buffer(const uint8_t *buf, size_t len, const char *path,
                            const LoadRequest *q, char *err, size_t esz) {
  CkptReader r = {.buf = buf, .len = len, .pos = 0};
  CkptEntry *entries = NULL;
  uint32_t n_entries = 0;
  const uint8_t *state = NULL;
  uint64_t n_state = 0;
  if (check_header(&r, path, err, esz) != 0 ||
      read_structure(&r, &entries, &n_entries, &state, &n_state, path, err, esz) != 0) {
    free(entries);
    return -1;
  }
  int n = q->n_tensors;
  const CkptEntry **found = rt_calloc(n > 0 ? (size_t)n : 1, sizeof *found);
  int rc = match_tensors(found, entries, n_entries, q->tensors, n, q->every, path, err, esz);
  for (int i = 0; rc == 0 && i < n; i++)
    copy_floats(q->tensors[i].data, found[i]->data, q->tensors[i].count);
  if (rc == 0 && q->meta)
    read_meta(q->meta, buf + CKPT_HEADER_SIZE);
  if (rc == 0 && q->state)
    copy_state(q, state, n_state);
  free(found);
  free(entries);
  return rc;
}

static int try_load(const char *path, const LoadRequest *q, char *err, size_t err_size) {
  uint8_t *buf = NULL;
  size_t len = 0;
  if (read_whole_file(path, &buf, &len, err, err_size) != 0)
    return -1;
  int rc = load_from_buffer(buf, len, path, q, err, err_size);
  free(buf);
  return rc;
}

int rt_checkpoint_try_load(const char *path, RtTensorRef *tensors, int n_tensors,
                           RtCheckpointMeta *meta, char *err, size_t err_size) {
  LoadRequest q = {tensors, n_tensors, true, meta, NULL, NULL};
  return try_load(path, &q, err, err_size);
}

int rt_checkpoint_try_load_some(const char *path, RtTensorRef *tensors, int n_tensors,
                                RtCheckpointMeta *meta, char *err, size_t err_size) {
  LoadRequest q = {tensors, n_tensors, false, meta, NULL, NULL};
  return try_load(path, &q, err, err_size);
}

int rt_checkpoint_try_load_state(const char *path, RtTensorRef *tensors, int n_tensors,
                                 RtCheckpointMeta *meta, uint64_t **state, size_t *n_state,
                                 char *err, size_t err_size) {
  LoadRequest q = {tensors, n_tensors, true, meta, state, n_state};
  return try_load(path, &q, err, err_size);
}

void rt_checkpoint_load(const char *path, RtTensorRef *tensors, int n_tensors,
                        RtCheckpointMeta *meta) {
  char err[1024];
  if (rt_checkpoint_try_load(path, tensors, n_tensors, meta, err, sizeof err) != 0)
    rt_die("%s", err);
}

int rt_checkpoint_try_list(const char *path, char ***names, size_t **counts, int *n, char *err,
                           size_t err_size) {
  uint8_t *buf = NULL;
  size_t len = 0;
  if (read_whole_file(path, &buf, &len, err, err_size) != 0)
    return -1;
  CkptReader r = {.buf = buf, .len = len, .pos = 0};
  CkptEntry *entries = NULL;
  uint32_t n_entries = 0;
  const uint8_t *state = NULL;
  uint64_t n_state = 0;
  int rc = check_header(&r, path, err, err_size);
  if (rc == 0)
    rc = read_structure(&r, &entries, &n_entries, &state, &n_state, path, err, err_size);
  *n = rc == 0 ? (int)n_entries : 0;
  *names = rt_calloc((size_t)*n + 1, sizeof(char *));
  *counts = rt_calloc((size_t)*n + 1, sizeof(size_t));
  for (int i = 0; i < *n; i++) {
    (*names)[i] = rt_malloc(entries[i].name_len + 1u);
    memcpy((*names)[i], entries[i].name, entries[i].name_len);
    (*names)[i][entries[i].name_len] = '\0';
    (*counts)[i] = (size_t)entries[i].count;
  }
  free(entries);
  free(buf);
  return rc;
}

/* ---- whose checkpoint ---- */

int rt_checkpoint_read_meta(const char *path, RtCheckpointMeta *meta, char *err,
                            size_t err_size) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return set_error(err, err_size, path, errno == ENOENT ? "checkpoint not found"
                                                          : "cannot open checkpoint: %s",
                     strerror(errno));
  uint8_t buf[CKPT_HEADER_SIZE + CKPT_META_SIZE];
  size_t got = fread(buf, 1, sizeof buf, f);
  fclose(f);
  CkptReader r = {.buf = buf, .len = got, .pos = 0};
  if (check_header(&r, path, err, err_size) != 0)
    return -1;
  if (got < sizeof buf)
    return truncated(&r, path, "the metadata", err, err_size);
  read_meta(meta, buf + CKPT_HEADER_SIZE);
  return 0;
}

int rt_checkpoint_check_owner(const char *path, const RtCheckpointMeta *meta, const char *model,
                              uint64_t identity, const char *run_id, char *err,
                              size_t err_size) {
  if (strcmp(meta->model, model) != 0)
    return set_error(err, err_size, path, "a checkpoint of model '%s', not of '%s'", meta->model,
                     model);
  if (meta->identity != identity)
    return set_error(err, err_size, path,
                     "a checkpoint of another version of model '%s' (identity %016llx; this "
                     "program's model is %016llx): the model's layers, shapes, loss or optimizer "
                     "changed since it was written",
                     model, (unsigned long long)meta->identity, (unsigned long long)identity);
  if (run_id && strcmp(meta->run_id, run_id) != 0)
    return set_error(err, err_size, path,
                     "written by an earlier run (%s), not by this one (%s): nothing this run "
                     "trained was saved there",
                     meta->run_id[0] ? meta->run_id : "of unknown id", run_id);
  return 0;
}
