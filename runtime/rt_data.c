/*
 * rt_data.c — datasets: IDX loading, slices, class surgery, class weights,
 * Normalization.adapt.
 *
 * IDX files (the MNIST format) are gzip-compressed or plain; the first two
 * bytes tell (gzip's 0x1f 0x8b). Gzip data goes through zlib's inflate
 * directly, not through gzread, which accepts a stream missing its CRC-32
 * and size trailer when a read ends exactly where the data does. A file is
 * accepted only once its member's trailer has been read and verified
 * (inflate checks the CRC-32 and the size); concatenated members are
 * read as one stream, and bytes after the last member that do not start
 * another are ignored (as gzip does). An IDX file is a big-endian header —
 * magic 0x0000TTDD (TT = 0x08 for unsigned bytes, DD = number of
 * dimensions), then DD u32 sizes — followed by the payload. Images have 3
 * dimensions (count, rows, cols; channels = 1) or 4 (count, rows, cols,
 * channels); labels have 1 (count). Before the payload is allocated, its
 * size is held against what the file can hold: its own size for a plain
 * file, 1032 times it (deflate's largest ratio) for gzip, so a header that
 * claims 2^31 - 1 images is refused naming the file, not by malloc.
 *
 * Invariants: every failure dies with a message that names the file and says
 * what is wrong; a loaded dataset has count images and count labels, each
 * image item_size = rows * cols * channels bytes, stored row-major.
 */
#define _XOPEN_SOURCE 700 /* access */
#include "nnc_runtime.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u
#define IDX_MAX_DIMS 4
#define DATASET_HINT "install Debian package dataset-fashion-mnist, or pass --data DIR"

/* ---- IDX reading ---- */

/* Deflate never expands more than 1032:1 (zlib's documentation), so a
 * gzip file of n bytes holds at most 1032 n bytes of data. */
#define DEFLATE_MAX_RATIO 1032

/* An open IDX file, its input buffer and the sizes from its header. */
typedef struct {
  const char *path;
  FILE *file;
  long long file_size;
  int gzip;           /* 1: inflated through zs; 0: plain, read from the buffer */
  int member_ended;   /* gzip: the current member ended, its CRC and size verified */
  int input_ended;    /* no more bytes in the file */
  z_stream zs;        /* next_in/avail_in: the unread part of in[], for both kinds */
  uint8_t in[1 << 16];
  size_t header_bytes;
  int n_dims;
  uint32_t dims[IDX_MAX_DIMS];
} IdxFile;

static uint32_t read_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Keeps the unread input at the front of in[] and reads more after it;
 * sets input_ended at the end of the file. */
static void refill_input(IdxFile *f) {
  size_t kept = f->zs.avail_in;
  memmove(f->in, f->zs.next_in, kept);
  size_t n = fread(f->in + kept, 1, sizeof f->in - kept, f->file);
  if (n == 0) {
    if (ferror(f->file))
      rt_die("%s: cannot read: %s", f->path, strerror(errno));
    f->input_ended = 1;
  }
  f->zs.next_in = f->in;
  f->zs.avail_in = (uInt)(kept + n);
}

/* 1 if the unread input starts with gzip's magic (reads ahead as needed). */
static int input_starts_gzip(IdxFile *f) {
  while (f->zs.avail_in < 2 && !f->input_ended)
    refill_input(f);
  return f->zs.avail_in >= 2 && f->zs.next_in[0] == 0x1f && f->zs.next_in[1] == 0x8b;
}

static size_t read_plain(IdxFile *f, uint8_t *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    if (f->zs.avail_in == 0) {
      refill_input(f);
      if (f->zs.avail_in == 0)
        break;
    }
    size_t n = len - done < f->zs.avail_in ? len - done : f->zs.avail_in;
    memcpy(buf + done, f->zs.next_in, n);
    f->zs.next_in += n, f->zs.avail_in -= (uInt)n, done += n;
  }
  return done;
}

/* A member ended: another member may follow (inflate it as the same
 * stream), or the data ends. Returns 1 if another member starts. */
static int next_gzip_member(IdxFile *f) {
  if (!input_starts_gzip(f))
    return 0;
  if (inflateReset(&f->zs) != Z_OK)
    rt_die("%s: zlib cannot restart inflating", f->path);
  f->member_ended = 0;
  return 1;
}

static size_t read_gzip(IdxFile *f, uint8_t *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    if (f->member_ended && !next_gzip_member(f))
      break;
    if (f->zs.avail_in == 0) {
      refill_input(f);
      if (f->zs.avail_in == 0)
        break; /* cut inside a member: idx_check_end says so */
    }
    size_t chunk = len - done > (1u << 30) ? (1u << 30) : len - done;
    f->zs.next_out = buf + done;
    f->zs.avail_out = (uInt)chunk;
    int ret = inflate(&f->zs, Z_NO_FLUSH);
    done += chunk - f->zs.avail_out;
    if (ret == Z_STREAM_END)
      f->member_ended = 1;
    else if (ret == Z_DATA_ERROR)
      rt_die("%s: corrupt gzip data: %s", f->path, f->zs.msg ? f->zs.msg : "invalid data");
    else if (ret == Z_MEM_ERROR)
      rt_die("%s: out of memory while inflating", f->path);
    else if (ret != Z_OK && ret != Z_BUF_ERROR)
      rt_die("%s: corrupt gzip data (zlib error %d)", f->path, ret);
  }
  return done;
}

/* Read up to len bytes; returns the number read (short only at the end of
 * the data, or where a gzip file is cut short). */
static size_t idx_read(IdxFile *f, void *buf, size_t len) {
  return f->gzip ? read_gzip(f, buf, len) : read_plain(f, buf, len);
}

static void idx_open(IdxFile *f, const char *path) {
  memset(f, 0, sizeof *f);
  f->path = path;
  errno = 0;
  f->file = fopen(path, "rb");
  if (!f->file) {
    if (errno == ENOENT)
      rt_die("%s: not found (%s)", path, DATASET_HINT);
    rt_die("%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
  }
  struct stat st;
  f->file_size = fstat(fileno(f->file), &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : -1;
  f->zs.next_in = f->in;
  f->gzip = input_starts_gzip(f);
  if (f->gzip && inflateInit2(&f->zs, 16 + MAX_WBITS) != Z_OK)
    rt_die("%s: zlib cannot start inflating: out of memory", path);
}

static void idx_close(IdxFile *f) {
  if (f->gzip)
    inflateEnd(&f->zs);
  fclose(f->file);
  f->file = NULL;
}

/* Read and check the header: expected_magic exactly or (for images) its
 * 4-dimensional variant; every size but the item count nonzero. */
static void idx_read_header(IdxFile *f, uint32_t expected_magic, const char *what) {
  uint8_t head[4 + 4 * IDX_MAX_DIMS];
  size_t got = idx_read(f, head, 4);
  if (got < 4)
    rt_die("%s: truncated: expected a 4-byte IDX magic number, got %zu bytes", f->path, got);
  uint32_t magic = read_be32(head);
  int is_images = expected_magic == IDX_IMAGES_MAGIC;
  int ok = magic == expected_magic || (is_images && magic == 0x00000804u);
  if (!ok)
    rt_die("%s: bad magic number 0x%08x: not an IDX %s file (expected 0x%08x)", f->path, magic,
           what, expected_magic);
  f->n_dims = (int)(magic & 0xff);
  size_t dims_bytes = 4 * (size_t)f->n_dims;
  got = idx_read(f, head + 4, dims_bytes);
  if (got < dims_bytes)
    rt_die("%s: truncated: IDX header needs %zu bytes of sizes, got %zu", f->path, dims_bytes, got);
  for (int i = 0; i < f->n_dims; i++) {
    f->dims[i] = read_be32(head + 4 + 4 * i);
    if (f->dims[i] == 0 && i > 0)
      rt_die("%s: dimension %d of the IDX header is 0", f->path, i);
  }
  f->header_bytes = 4 + dims_bytes;
  if (f->dims[0] > INT_MAX)
    rt_die("%s: IDX header claims %u items, more than this program can hold", f->path, f->dims[0]);
}

/* Refuses, naming the file, a payload of len bytes (count items of `what`,
 * e.g. "images of 28x28") that the file cannot hold, before it is
 * allocated: a plain file holds its size less the header, a gzip file at
 * most DEFLATE_MAX_RATIO times its size. */
static void idx_check_payload_fits(const IdxFile *f, size_t len, const char *kind,
                                   const char *what) {
  if (f->file_size < 0)
    return; /* a pipe or device: only reading tells */
  unsigned long long size = (unsigned long long)f->file_size;
  if (!f->gzip) {
    unsigned long long held = size > f->header_bytes ? size - f->header_bytes : 0;
    if (len > held)
      rt_die("%s: truncated: expected %zu bytes of %s, got %llu (the IDX header claims %u %s)",
             f->path, len, kind, held, f->dims[0], what);
    return;
  }
  unsigned long long most = size * DEFLATE_MAX_RATIO;
  if (len > most)
    rt_die("%s: the IDX header claims %u %s (%zu bytes of %s), but a gzip file of %llu bytes "
           "holds at most %llu",
           f->path, f->dims[0], what, len, kind, size, most);
}

/* Read exactly len payload bytes of kind `what` ("pixels", "labels"). */
static void idx_read_payload(IdxFile *f, uint8_t *buf, size_t len, const char *what) {
  size_t got = idx_read(f, buf, len);
  if (got < len)
    rt_die("%s: truncated: expected %zu bytes of %s, got %zu", f->path, len, what, got);
}

/* After the payload: a gzip file must go on to the end of its member, whose
 * CRC-32 and size inflate then verifies (more members are read through;
 * their bytes are trailing data, which is allowed, as in a plain file). */
static void idx_check_end(IdxFile *f) {
  if (!f->gzip)
    return;
  uint8_t rest[4096];
  while (idx_read(f, rest, sizeof rest) > 0) {
  }
  if (!f->member_ended)
    rt_die("%s: truncated: the gzip stream ends before its checksum (CRC-32 and size)",
           f->path);
}

/* "RxC", or "RxCxCH" when channels > 0. */
static void describe_shape(char *buf, size_t size, int rows, int cols, int channels) {
  if (channels > 0)
    snprintf(buf, size, "%dx%dx%d", rows, cols, channels);
  else
    snprintf(buf, size, "%dx%d", rows, cols);
}

/* "images of RxC" (channels shown only when more than one). */
static void describe_images(char *buf, size_t size, int rows, int cols, int channels) {
  char shape[64];
  describe_shape(shape, sizeof shape, rows, cols, channels > 1 ? channels : 0);
  snprintf(buf, size, "images of %s", shape);
}

static void load_images(RtDataset *out, const char *path) {
  IdxFile f;
  idx_open(&f, path);
  idx_read_header(&f, IDX_IMAGES_MAGIC, "image");
  out->count = (int)f.dims[0];
  out->rows = (int)f.dims[1];
  out->cols = (int)f.dims[2];
  out->channels = f.n_dims == 4 ? (int)f.dims[3] : 1;
  if (f.dims[1] > 65536 || f.dims[2] > 65536 || (f.n_dims == 4 && f.dims[3] > 65536))
    rt_die("%s: implausible image size %ux%u in the IDX header", path, f.dims[1], f.dims[2]);
  out->item_size = (size_t)out->rows * out->cols * out->channels;
  if (out->count > 0 && out->item_size > SIZE_MAX / 2 / (size_t)out->count)
    rt_die("%s: IDX header sizes overflow", path);
  size_t total = out->item_size * (size_t)out->count;
  char what[96];
  describe_images(what, sizeof what, out->rows, out->cols, out->channels);
  idx_check_payload_fits(&f, total, "pixels", what);
  out->x = rt_malloc(total ? total : 1);
  idx_read_payload(&f, out->x, total, "pixels");
  idx_check_end(&f);
  idx_close(&f);
}

static void load_labels(RtDataset *out, const char *path, const char *images_path) {
  IdxFile f;
  idx_open(&f, path);
  idx_read_header(&f, IDX_LABELS_MAGIC, "label");
  if ((int)f.dims[0] != out->count)
    rt_die("%s: has %u labels but %s has %d images", path, f.dims[0], images_path, out->count);
  idx_check_payload_fits(&f, (size_t)out->count, "labels", "labels");
  out->y = rt_malloc(out->count ? (size_t)out->count : 1);
  idx_read_payload(&f, out->y, (size_t)out->count, "labels");
  idx_check_end(&f);
  idx_close(&f);
}

void rt_dataset_load_idx_images(RtDataset *out, const char *images_path) {
  memset(out, 0, sizeof *out);
  snprintf(out->images_path, sizeof out->images_path, "%s", images_path);
  load_images(out, images_path);
}

void rt_dataset_load_idx_files(RtDataset *out, const char *images_path, const char *labels_path) {
  memset(out, 0, sizeof *out);
  snprintf(out->images_path, sizeof out->images_path, "%s", images_path);
  snprintf(out->labels_path, sizeof out->labels_path, "%s", labels_path);
  load_images(out, images_path);
  load_labels(out, labels_path, images_path);
}

/* ---- checks against the model ---- */

void rt_dataset_check_shape(const RtDataset *ds, int rows, int cols, int channels,
                            const char *path) {
  if (ds->rows == rows && ds->cols == cols && ds->channels == channels)
    return;
  /* Channels are named only when either side has more than one. */
  int show_channels = ds->channels != 1 || channels != 1;
  char have[96], want[96];
  describe_shape(have, sizeof have, ds->rows, ds->cols, show_channels ? ds->channels : 0);
  describe_shape(want, sizeof want, rows, cols, show_channels ? channels : 0);
  rt_die("%s: images are %s but the model input is %s", path ? path : ds->images_path, have,
         want);
}

void rt_dataset_check_labels(const RtDataset *ds, int n_classes) {
  for (int i = 0; i < ds->count; i++)
    if (ds->y[i] >= n_classes)
      rt_die("%s: label %d of example %d is not a class of this model (0..%d)", ds->labels_path,
             ds->y[i], i, n_classes - 1);
}

/* "<dir>/<split>-<kind>-ubyte.gz" if it exists, else the uncompressed name
 * if that exists, else the .gz name (so the "not found" error names it). */
static void find_split_file(char *buf, size_t size, const char *dir, const char *split,
                            const char *kind) {
  char name[256];
  if ((size_t)snprintf(name, sizeof name, "%s-%s-ubyte.gz", split, kind) >= sizeof name)
    rt_die("%s: split name too long", split);
  rt_path_join(buf, size, dir, name);
  if (access(buf, F_OK) == 0)
    return;
  name[strlen(name) - 3] = '\0';
  char plain[4096];
  rt_path_join(plain, sizeof plain, dir, name);
  if (access(plain, F_OK) == 0)
    snprintf(buf, size, "%s", plain);
}

void rt_dataset_load_idx(RtDataset *out, const char *dir, const char *split) {
  char images_path[4096], labels_path[4096];
  find_split_file(images_path, sizeof images_path, dir, split, "images-idx3");
  find_split_file(labels_path, sizeof labels_path, dir, split, "labels-idx1");
  rt_dataset_load_idx_files(out, images_path, labels_path);
}

/* ---- slices and class surgery ---- */

/* Items are uint8 in x, or float32 in xf when x is NULL (CSV, .npy): the
 * functions below move whole items as bytes, whichever they are. A
 * streamed dataset has no item bytes: its examples move as file names. */
size_t rt_dataset_item_bytes(const RtDataset *ds) {
  if (rt_dataset_streamed(ds))
    return 0;
  return ds->item_size * (ds->x ? 1 : sizeof(float));
}

static size_t item_bytes(const RtDataset *ds) { return rt_dataset_item_bytes(ds); }

static uint8_t *item_at(const RtDataset *ds, size_t i) {
  return (ds->x ? ds->x : (uint8_t *)ds->xf) + item_bytes(ds) * i;
}

const void *rt_dataset_item(const RtDataset *ds, size_t i) { return item_at(ds, i); }

static char *copy_path(const char *path) {
  char *p = rt_malloc(strlen(path) + 1);
  strcpy(p, path);
  return p;
}

/* out (a copy of in's header) gets fresh storage for count items of in's
 * kind, and its labels. */
static void alloc_items(RtDataset *out, const RtDataset *in, int count) {
  size_t bytes = item_bytes(in) * (size_t)count;
  out->x = NULL, out->xf = NULL, out->paths = NULL;
  if (rt_dataset_streamed(in))
    out->paths = rt_calloc(count ? (size_t)count : 1, sizeof(char *));
  else if (in->x)
    out->x = rt_malloc(bytes ? bytes : 1);
  else
    out->xf = rt_malloc(bytes ? bytes : 1);
  out->y = rt_malloc(count ? (size_t)count : 1);
}

/* Example i of in becomes example j of out (its item or file, its label). */
static void copy_example(RtDataset *out, int j, const RtDataset *in, int i) {
  if (rt_dataset_streamed(in))
    out->paths[j] = copy_path(in->paths[i]);
  else
    memcpy(item_at(out, (size_t)j), item_at(in, (size_t)i), item_bytes(in));
  out->y[j] = in->y[i];
}

void rt_dataset_slice(RtDataset *out, const RtDataset *in, int start, int count) {
  if (start < 0 || count < 0 || start > in->count || count > in->count - start)
    rt_die("dataset slice [%d, %d) is outside the %d examples", start, start + count, in->count);
  *out = *in;
  out->count = count;
  alloc_items(out, in, count);
  for (int i = 0; i < count; i++)
    copy_example(out, i, in, start + i);
}

/* Among the still-kept examples of class `label`, keep `keep` chosen
 * uniformly without replacement (partial Fisher-Yates over their indices). */
/* Copies the examples whose flag equals want, in order, into out. */
static void gather_flagged(RtDataset *out, const RtDataset *in, const uint8_t *flag, int want,
                           int count) {
  *out = *in;
  out->count = count;
  alloc_items(out, in, count);
  int j = 0;
  for (int i = 0; i < in->count; i++)
    if (flag[i] == want)
      copy_example(out, j++, in, i);
}

void rt_dataset_split_random(RtDataset *train, RtDataset *val, const RtDataset *full, int n_val,
                             uint64_t seed) {
  if (n_val < 0 || n_val > full->count)
    rt_die("a validation split of %d examples out of %d", n_val, full->count);
  int *order = rt_malloc(sizeof(int) * (size_t)(full->count ? full->count : 1));
  for (int i = 0; i < full->count; i++)
    order[i] = i;
  RtRng rng;
  rt_rng_seed(&rng, seed);
  rt_rng_shuffle(&rng, order, full->count);
  uint8_t *is_val = rt_calloc(full->count ? (size_t)full->count : 1, 1);
  for (int i = 0; i < n_val; i++)
    is_val[order[i]] = 1;
  gather_flagged(val, full, is_val, 1, n_val);
  gather_flagged(train, full, is_val, 0, full->count - n_val);
  free(is_val);
  free(order);
}

static void choose_class_examples(uint8_t *kept, const RtDataset *ds, int label, int keep,
                                  RtRng *rng) {
  int *idx = rt_malloc(ds->count ? sizeof(int) * (size_t)ds->count : 1);
  int n = 0;
  for (int i = 0; i < ds->count; i++)
    if (kept[i] && ds->y[i] == label)
      idx[n++] = i;
  int k = keep < n ? keep : n;
  for (int i = 0; i < k; i++) {
    int j = i + (int)rt_rng_below(rng, (uint32_t)(n - i));
    int t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  for (int i = k; i < n; i++)
    kept[idx[i]] = 0;
  free(idx);
}

/* Move the kept examples to the front, in their original order. */
static void compact_kept(RtDataset *ds, const uint8_t *kept) {
  int n = 0;
  for (int i = 0; i < ds->count; i++) {
    if (!kept[i]) {
      if (rt_dataset_streamed(ds))
        free(ds->paths[i]);
      continue;
    }
    if (n != i) {
      if (rt_dataset_streamed(ds))
        ds->paths[n] = ds->paths[i];
      else
        memcpy(item_at(ds, (size_t)n), item_at(ds, (size_t)i), item_bytes(ds));
      ds->y[n] = ds->y[i];
    }
    n++;
  }
  ds->count = n;
}

void rt_dataset_keep(RtDataset *ds, const int *classes, const int *keep_counts, int n_rules,
                     uint64_t seed) {
  RtRng rng;
  rt_rng_seed(&rng, seed);
  uint8_t *kept = rt_malloc(ds->count ? (size_t)ds->count : 1);
  memset(kept, 1, (size_t)ds->count);
  for (int r = 0; r < n_rules; r++) {
    if (classes[r] < 0 || classes[r] > 255 || keep_counts[r] < 0)
      rt_die("keep rule %d: class %d, count %d is invalid", r, classes[r], keep_counts[r]);
    choose_class_examples(kept, ds, classes[r], keep_counts[r], &rng);
  }
  compact_kept(ds, kept);
  free(kept);
}

/* The example indices of class c, in order; returns how many. */
static int class_indices(int *idx, const RtDataset *ds, int c) {
  int n = 0;
  for (int i = 0; i < ds->count; i++)
    if (ds->y[i] == c)
      idx[n++] = i;
  return n;
}

void rt_dataset_oversample(RtDataset *ds, int n_classes, uint64_t seed) {
  int *counts = rt_calloc((size_t)n_classes, sizeof(int)), target = 0;
  rt_class_counts(counts, ds, n_classes);
  int present = 0;
  for (int c = 0; c < n_classes; c++) {
    target = counts[c] > target ? counts[c] : target;
    present += counts[c] > 0;
  }
  int total = target * present, n = 0;
  int *order = rt_malloc(sizeof(int) * (size_t)(total ? total : 1));
  int *idx = rt_malloc(sizeof(int) * (size_t)(ds->count ? ds->count : 1));
  for (int c = 0; c < n_classes; c++) {
    int k = class_indices(idx, ds, c);
    for (int j = 0; k > 0 && j < target; j++)
      order[n++] = idx[j % k];
  }
  RtRng rng;
  rt_rng_seed(&rng, seed);
  rt_rng_shuffle(&rng, order, n);
  RtDataset out = *ds;
  out.count = n;
  alloc_items(&out, ds, n);
  for (int i = 0; i < n; i++)
    copy_example(&out, i, ds, order[i]);
  free(counts);
  free(order);
  free(idx);
  rt_dataset_free(ds);
  *ds = out;
}

void rt_dataset_free(RtDataset *ds) {
  if (rt_dataset_streamed(ds)) {
    for (int i = 0; i < ds->count; i++)
      free(ds->paths[i]);
    free(ds->paths);
  }
  if (!ds->x) /* float items (xf is read only when x is NULL) */
    free(ds->xf);
  free(ds->x);
  free(ds->y);
  memset(ds, 0, sizeof *ds);
}

/* ---- class statistics ---- */

void rt_class_counts(int *counts, const RtDataset *ds, int n_classes) {
  memset(counts, 0, sizeof(int) * (size_t)n_classes);
  for (int i = 0; i < ds->count; i++) {
    if (ds->y[i] >= n_classes)
      rt_die("label %d of example %d is not a class of this model (0..%d)", ds->y[i], i,
             n_classes - 1);
    counts[ds->y[i]]++;
  }
}

void rt_class_weights_balanced(float *w, const int *counts, int n_classes) {
  double total = 0;
  for (int c = 0; c < n_classes; c++)
    total += counts[c];
  for (int c = 0; c < n_classes; c++)
    w[c] = counts[c] > 0 ? (float)(total / ((double)n_classes * counts[c])) : 0.0f;
}

/* ---- Normalization.adapt ---- */

/* Value i of the data seen flat, uint8 or float, exactly as a double. */
static inline double value_at(const RtDataset *ds, size_t i) {
  return ds->x ? (double)ds->x[i] : (double)ds->xf[i];
}

/* One scalar mean and population variance over every value (two passes). */
static void adapt_scalar(float *mean, float *var, const RtDataset *ds, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    sum += value_at(ds, i);
  double mu = sum / (double)n, sq = 0;
  for (size_t i = 0; i < n; i++)
    sq += (value_at(ds, i) - mu) * (value_at(ds, i) - mu);
  *mean = (float)mu;
  *var = (float)(sq / (double)n);
}

/* One mean and population variance per position of the last axis: the data
 * seen as rows of `features` values (Keras Normalization(axis=-1)). */
static void adapt_per_feature(float *mean, float *var, const RtDataset *ds, size_t n, size_t d) {
  size_t rows = n / d;
  double *mu = rt_calloc(d, sizeof(double));
  double *sq = rt_calloc(d, sizeof(double));
  for (size_t i = 0; i < rows; i++)
    for (size_t f = 0; f < d; f++)
      mu[f] += value_at(ds, i * d + f);
  for (size_t f = 0; f < d; f++)
    mu[f] /= (double)rows;
  for (size_t i = 0; i < rows; i++)
    for (size_t f = 0; f < d; f++) {
      double diff = value_at(ds, i * d + f) - mu[f];
      sq[f] += diff * diff;
    }
  for (size_t f = 0; f < d; f++) {
    mean[f] = (float)mu[f];
    var[f] = (float)(sq[f] / (double)rows);
  }
  free(mu);
  free(sq);
}

void rt_adapt_mean_var(float *mean, float *var, const RtDataset *ds, int features) {
  if (ds->count <= 0 || ds->item_size == 0)
    rt_die("Normalization.adapt: the dataset is empty");
  if (rt_dataset_streamed(ds)) /* rt_source_load.c decodes into memory when the model adapts */
    rt_die("Normalization.adapt needs the training images in memory, but they are streamed "
           "(directory(..., stream=false) or --stream off decodes them)");
  if (features < 1 || ds->item_size % (size_t)features != 0)
    rt_die("Normalization.adapt: %d features do not divide items of %zu values", features,
           ds->item_size);
  size_t n = ds->item_size * (size_t)ds->count;
  if (features > 1)
    adapt_per_feature(mean, var, ds, n, (size_t)features);
  else
    adapt_scalar(mean, var, ds, n);
}
