/*
 * rt_sources.c — data sources that are files of numbers: CSV tables,
 * NumPy .npy arrays and CIFAR-10's binary batches.
 *
 * Each is read whole into memory and checked before anything is kept:
 * every failure dies (rt_die) with a message that starts with the file's
 * path, and with its line ("FILE:LINE: ...") where a line is to blame.
 * Float features go to RtDataset.xf (x stays NULL), uint8 ones to x.
 */
#define _XOPEN_SOURCE 700 /* strdup */
#include "nnc_runtime.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "rt_sources.c reads little-endian .npy data in place"
#endif

#define MAX_CLASSES 256

/* The whole file, NUL-terminated, in a malloc'd buffer; *size excludes the NUL. */
static char *slurp(const char *path, size_t *size, const char *what) {
  FILE *f = fopen(path, "rb");
  if (!f)
    rt_die("%s: cannot open %s: %s", path, what, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
    rt_die("%s: not a regular file (%s expected)", path, what);
  size_t n = (size_t)st.st_size;
  char *buf = rt_malloc(n + 1);
  if (fread(buf, 1, n, f) != n || ferror(f))
    rt_die("%s: read error", path);
  fclose(f);
  buf[n] = '\0';
  *size = n;
  return buf;
}

static char *copy_string(const char *s) {
  char *p = strdup(s);
  if (!p)
    rt_die("out of memory");
  return p;
}

/* ===== CSV ===== */

typedef struct {
  const char *path;
  int line; /* 1-based line of the row being parsed */
  int n_fields, cap;
  char **fields; /* pointers into the row, unquoted in place */
} CsvRow;

static char *skip_blanks(char *p) {
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

static void row_push(CsvRow *row, char *field) {
  if (row->n_fields == row->cap) {
    row->cap = row->cap ? 2 * row->cap : 16;
    char **grown = realloc(row->fields, sizeof(char *) * (size_t)row->cap);
    if (!grown)
      rt_die("out of memory reading %s", row->path);
    row->fields = grown;
  }
  row->fields[row->n_fields++] = field;
}

/* A double-quoted field starting at p (on the quote): unquoted in place
 * ("" is a quote); returns the position after the closing quote. */
static char *parse_quoted(CsvRow *row, char *p) {
  char *out = p, *in = p + 1;
  for (;;) {
    if (*in == '\0' || *in == '\n')
      rt_die("%s:%d: unterminated quoted field", row->path, row->line);
    if (*in == '"' && in[1] == '"') {
      *out++ = '"';
      in += 2;
    } else if (*in == '"') {
      *out = '\0';
      return in + 1;
    } else {
      *out++ = *in++;
    }
  }
}

/* Split the row at p (ending at '\n' or NUL) into fields; returns the
 * start of the next row. Surrounding blanks and a '\r' before the newline
 * are not part of a field. */
static char *parse_row(CsvRow *row, char *p) {
  row->n_fields = 0;
  for (;;) {
    p = skip_blanks(p);
    char *field = p, *end;
    if (*p == '"') {
      p = skip_blanks(parse_quoted(row, p));
      end = NULL;
    } else {
      while (*p && *p != ',' && *p != '\n')
        p++;
      end = p;
    }
    char stop = *p;
    if (stop != ',' && stop != '\n' && stop != '\0' && !(stop == '\r' && (p[1] == '\n' || !p[1])))
      rt_die("%s:%d: text after a closing quote", row->path, row->line);
    if (end) { /* trim trailing blanks and '\r' of an unquoted field */
      while (end > field && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
      *end = '\0';
    }
    row_push(row, field);
    if (stop == '\r')
      p++, stop = *p;
    *p = '\0';
    if (stop != ',')
      return stop ? p + 1 : p;
    p++;
  }
}

/* A row with nothing but blanks (skipped, like pandas's skip_blank_lines). */
static int is_blank_row(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\r')
    p++;
  return *p == '\n' || *p == '\0';
}

static char *next_line(char *p) {
  char *nl = strchr(p, '\n');
  return nl ? nl + 1 : p + strlen(p);
}

/* A whole field as a number (strtod); 0 when it is empty or not all number. */
static int parse_number(const char *s, double *v) {
  if (!*s)
    return 0;
  char *end;
  *v = strtod(s, &end);
  return *end == '\0';
}

/* ---- the label column's classes ---- */

typedef struct {
  const char *text; /* as first written */
  double value;     /* when every label is a number */
} CsvClass;

static int compare_by_value(const void *a, const void *b) {
  const CsvClass *x = a, *y = b;
  return (x->value > y->value) - (x->value < y->value);
}

static int compare_by_text(const void *a, const void *b) {
  return strcmp(((const CsvClass *)a)->text, ((const CsvClass *)b)->text);
}

/* Sorted distinct labels into classes (at most MAX_CLASSES), numerically
 * when every label is a number; y[i] = the class of labels[i]; a class is
 * named by its first label in file order. */
static void csv_classes(RtClassNames *classes, uint8_t *y, char **labels, int n,
                        const char *path, const char *column) {
  CsvClass *all = rt_malloc(sizeof(CsvClass) * (size_t)(n ? n : 1));
  int numeric = 1;
  for (int i = 0; i < n; i++) {
    all[i].text = labels[i];
    numeric &= parse_number(labels[i], &all[i].value);
  }
  int (*compare)(const void *, const void *) = numeric ? compare_by_value : compare_by_text;
  CsvClass *sorted = rt_malloc(sizeof(CsvClass) * (size_t)(n ? n : 1));
  memcpy(sorted, all, sizeof(CsvClass) * (size_t)n);
  qsort(sorted, (size_t)n, sizeof(CsvClass), compare);
  int k = 0;
  for (int i = 0; i < n; i++)
    if (k == 0 || compare(&sorted[k - 1], &sorted[i]) != 0)
      sorted[k++] = sorted[i];
  if (k > MAX_CLASSES)
    rt_die("%s: column '%s' has %d distinct labels, more than the %d classes labels can hold",
           path, column, k, MAX_CLASSES);
  classes->count = k;
  classes->names = rt_calloc((size_t)k, sizeof(char *));
  for (int i = 0; i < n; i++) {
    const CsvClass *hit = bsearch(&all[i], sorted, (size_t)k, sizeof(CsvClass), compare);
    int c = (int)(hit - sorted);
    y[i] = (uint8_t)c;
    if (!classes->names[c])
      classes->names[c] = copy_string(labels[i]);
  }
  free(sorted);
  free(all);
}

/* ---- the table ---- */

typedef struct {
  int n_rows, cap;
  float *features; /* (cap, n_features) */
  char **labels;   /* (cap), pointers into the file buffer */
} CsvTable;

static void table_grow(CsvTable *t, int n_features, const char *path) {
  if (t->n_rows < t->cap)
    return;
  t->cap = t->cap ? 2 * t->cap : 256;
  float *f = realloc(t->features, sizeof(float) * (size_t)t->cap * (size_t)(n_features ? n_features : 1));
  char **l = realloc(t->labels, sizeof(char *) * (size_t)t->cap);
  if (!f || !l)
    rt_die("out of memory reading %s", path);
  t->features = f, t->labels = l;
}

/* Index of the label column in the header row; dies listing the columns. */
static int find_label_column(const CsvRow *header, const char *label_column) {
  for (int i = 0; i < header->n_fields; i++)
    if (strcmp(header->fields[i], label_column) == 0)
      return i;
  char list[1024] = "";
  for (int i = 0; i < header->n_fields; i++) {
    size_t n = strlen(list);
    snprintf(list + n, sizeof list - n, "%s'%s'", i ? ", " : "", header->fields[i]);
  }
  rt_die("%s:%d: no column named '%s' (the header has %s)", header->path, header->line,
         label_column, list);
}

/* One data row: its features and label appended to t. */
static void table_add_row(CsvTable *t, const CsvRow *row, const CsvRow *header, int label_col) {
  if (row->n_fields != header->n_fields)
    rt_die("%s:%d: %d fields, but the header (line %d) has %d", row->path, row->line,
           row->n_fields, header->line, header->n_fields);
  int n_features = header->n_fields - 1;
  table_grow(t, n_features, row->path);
  float *out = t->features + (size_t)t->n_rows * n_features;
  for (int i = 0, j = 0; i < row->n_fields; i++) {
    if (i == label_col)
      continue;
    double v;
    const char *field = row->fields[i];
    if (!*field)
      rt_die("%s:%d: column '%s' is empty (a number is expected)", row->path, row->line,
             header->fields[i]);
    if (!parse_number(field, &v))
      rt_die("%s:%d: column '%s': '%s' is not a number", row->path, row->line,
             header->fields[i], field);
    out[j++] = (float)v;
  }
  if (!*row->fields[label_col])
    rt_die("%s:%d: the label (column '%s') is empty", row->path, row->line,
           header->fields[label_col]);
  t->labels[t->n_rows++] = row->fields[label_col];
}

void rt_dataset_load_csv(RtDataset *out, RtClassNames *classes, const char *path,
                         const char *label_column) {
  size_t size;
  char *text = slurp(path, &size, "a CSV file");
  if (strlen(text) != size)
    rt_die("%s: contains a NUL byte: not a CSV text file", path);
  CsvRow header = {.path = path, .line = 1}, row = {.path = path};
  char *p = text;
  if (strncmp(p, "\xef\xbb\xbf", 3) == 0) /* a UTF-8 byte-order mark (Excel) */
    p += 3;
  while (*p && is_blank_row(p))
    p = next_line(p), header.line++;
  if (!*p)
    rt_die("%s: empty: a CSV file starts with a header row naming its columns", path);
  int line = header.line;
  p = parse_row(&header, p);
  int label_col = find_label_column(&header, label_column);
  if (header.n_fields < 2)
    rt_die("%s:%d: no feature columns besides the label '%s'", path, header.line, label_column);
  CsvTable t = {0};
  while (*p) {
    line++;
    if (is_blank_row(p)) {
      p = next_line(p);
      continue;
    }
    row.line = line;
    p = parse_row(&row, p);
    table_add_row(&t, &row, &header, label_col);
  }
  if (t.n_rows == 0)
    rt_die("%s: no data rows after the header", path);
  memset(out, 0, sizeof *out);
  out->count = t.n_rows;
  out->rows = 1, out->cols = header.n_fields - 1, out->channels = 1;
  out->item_size = (size_t)out->cols;
  out->xf = t.features;
  out->y = rt_malloc((size_t)t.n_rows);
  csv_classes(classes, out->y, t.labels, t.n_rows, path, label_column);
  free(t.labels);
  free(header.fields);
  free(row.fields);
  free(text);
}

/* ===== NumPy .npy ===== */

static const char NPY_MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* The value of 'key' in the header dict: points just after "'key':" and blanks. */
static const char *npy_value(const char *header, const char *key, const char *path) {
  char quoted[32];
  snprintf(quoted, sizeof quoted, "'%s'", key);
  const char *p = strstr(header, quoted);
  if (!p)
    rt_die("%s: the .npy header has no '%s' entry", path, key);
  p += strlen(quoted);
  while (*p == ' ')
    p++;
  if (*p != ':')
    rt_die("%s: malformed .npy header near '%s'", path, key);
  p++;
  while (*p == ' ')
    p++;
  return p;
}

static void npy_parse_descr(RtNpy *out, const char *header, const char *path) {
  const char *p = npy_value(header, "descr", path);
  char descr[16] = "";
  if (*p != '\'' || sscanf(p + 1, "%15[^']", descr) != 1)
    rt_die("%s: malformed .npy header: 'descr' is not a string", path);
  if (!strcmp(descr, "|u1") || !strcmp(descr, "<u1"))
    out->type = RT_NPY_U8;
  else if (!strcmp(descr, "<f4"))
    out->type = RT_NPY_F32;
  else if (!strcmp(descr, "<i4"))
    out->type = RT_NPY_I32;
  else if (!strcmp(descr, "<i8"))
    out->type = RT_NPY_I64;
  else
    rt_die("%s: dtype '%s' is not supported (uint8 '|u1' or float32 '<f4'; labels also "
           "'<i4' or '<i8')%s",
           path, descr, !strcmp(descr, "<f8") ? ": save the array as x.astype(\"float32\")" : "");
}

static void npy_parse_shape(RtNpy *out, const char *header, const char *path) {
  const char *p = npy_value(header, "shape", path);
  if (*p != '(')
    rt_die("%s: malformed .npy header: 'shape' is not a tuple", path);
  p++;
  out->ndim = 0;
  out->count = 1;
  for (;;) {
    while (*p == ' ' || *p == ',')
      p++;
    if (*p == ')')
      break;
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || v < 0 || errno)
      rt_die("%s: malformed .npy header: bad 'shape' entry", path);
    if (out->ndim == 8)
      rt_die("%s: more than 8 dimensions", path);
    if (v > 0 && out->count > SIZE_MAX / 16 / (size_t)v)
      rt_die("%s: the .npy shape is too large", path);
    out->shape[out->ndim++] = v;
    out->count *= (size_t)v;
    p = end;
  }
}

static size_t npy_type_size(RtNpyType t) {
  return t == RT_NPY_U8 ? 1 : t == RT_NPY_I64 ? 8 : 4;
}

/* Header length and where it starts, by format version. */
static size_t npy_header_start(const uint8_t *b, size_t size, size_t *header_len,
                               const char *path) {
  if (size < 10 || memcmp(b, NPY_MAGIC, 6) != 0)
    rt_die("%s: not a NumPy .npy file (bad magic)", path);
  if (b[6] == 1) {
    *header_len = (size_t)b[8] | (size_t)b[9] << 8;
    return 10;
  }
  if (b[6] != 2 && b[6] != 3)
    rt_die("%s: .npy format version %d.%d is not supported (1.0, 2.0, 3.0)", path, b[6], b[7]);
  if (size < 12)
    rt_die("%s: truncated .npy header", path);
  *header_len = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
  return 12;
}

void rt_npy_load(RtNpy *out, const char *path) {
  memset(out, 0, sizeof *out);
  size_t size, header_len;
  char *buf = slurp(path, &size, "a .npy file");
  size_t start = npy_header_start((const uint8_t *)buf, size, &header_len, path);
  if (header_len > size - start)
    rt_die("%s: truncated .npy header", path);
  char *header = rt_malloc(header_len + 1);
  memcpy(header, buf + start, header_len);
  header[header_len] = '\0';
  npy_parse_descr(out, header, path);
  const char *fortran = npy_value(header, "fortran_order", path);
  if (strncmp(fortran, "True", 4) == 0)
    rt_die("%s: fortran_order is True: only C-order arrays are supported "
           "(save np.ascontiguousarray(a))",
           path);
  if (strncmp(fortran, "False", 5) != 0)
    rt_die("%s: malformed .npy header: 'fortran_order' is not True or False", path);
  npy_parse_shape(out, header, path);
  free(header);
  size_t data_start = start + header_len, bytes = out->count * npy_type_size(out->type);
  if (size - data_start < bytes)
    rt_die("%s: truncated: the shape needs %zu bytes of data, the file has %zu", path, bytes,
           size - data_start);
  if (size - data_start > bytes)
    rt_die("%s: %zu bytes after the array's data (not a single .npy array?)", path,
           size - data_start - bytes);
  out->data = rt_malloc(bytes);
  memcpy(out->data, buf + data_start, bytes);
  free(buf);
}

void rt_npy_free(RtNpy *arr) {
  free(arr->data);
  memset(arr, 0, sizeof *arr);
}

static void npy_shape_text(char *buf, size_t size, const RtNpy *a) {
  int n = snprintf(buf, size, "(");
  for (int i = 0; i < a->ndim && n > 0 && (size_t)n < size; i++)
    n += snprintf(buf + n, size - (size_t)n, "%s%ld", i ? ", " : "", a->shape[i]);
  if (n > 0 && (size_t)n < size)
    snprintf(buf + n, size - (size_t)n, a->ndim == 1 ? ",)" : ")");
}

/* Labels as uint8: u1 as they are, integers checked against 0..255. */
static void npy_labels(uint8_t *y, const RtNpy *a, const char *path) {
  for (size_t i = 0; i < a->count; i++) {
    long long v;
    if (a->type == RT_NPY_U8)
      v = ((const uint8_t *)a->data)[i];
    else if (a->type == RT_NPY_I32)
      v = ((const int32_t *)a->data)[i];
    else if (a->type == RT_NPY_I64)
      v = ((const int64_t *)a->data)[i];
    else
      rt_die("%s: labels must be integers ('|u1', '<i4' or '<i8'), not float32", path);
    if (v < 0 || v > 255)
      rt_die("%s: label %lld at index %zu is outside 0..255", path, v, i);
    y[i] = (uint8_t)v;
  }
}

void rt_dataset_load_npy(RtDataset *out, const char *x_path, const char *y_path) {
  RtNpy x, y;
  char shape[128];
  rt_npy_load(&x, x_path);
  npy_shape_text(shape, sizeof shape, &x);
  if (x.ndim < 2 || x.ndim > 4 || x.shape[0] > INT_MAX)
    rt_die("%s: shape %s: inputs need (N, features), (N, H, W) or (N, H, W, C)", x_path, shape);
  if (x.type != RT_NPY_U8 && x.type != RT_NPY_F32)
    rt_die("%s: inputs must be uint8 ('|u1') or float32 ('<f4')", x_path);
  rt_npy_load(&y, y_path);
  if (y.ndim != 1 || y.shape[0] != x.shape[0]) {
    char yshape[128];
    npy_shape_text(yshape, sizeof yshape, &y);
    rt_die("%s: shape %s: labels need shape (%ld,), one per example of %s %s", y_path, yshape,
           x.shape[0], x_path, shape);
  }
  memset(out, 0, sizeof *out);
  out->count = (int)x.shape[0];
  out->rows = x.ndim == 2 ? 1 : (int)x.shape[1];
  out->cols = x.ndim == 2 ? (int)x.shape[1] : (int)x.shape[2];
  out->channels = x.ndim == 4 ? (int)x.shape[3] : 1;
  out->item_size = (size_t)out->rows * out->cols * out->channels;
  out->y = rt_malloc((size_t)(out->count ? out->count : 1));
  npy_labels(out->y, &y, y_path);
  if (x.type == RT_NPY_U8)
    out->x = x.data;
  else
    out->xf = x.data;
  rt_npy_free(&y);
}

/* ===== CIFAR-10 binary batches ===== */

#define CIFAR_SIDE 32
#define CIFAR_PIXELS (CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_RECORD (1 + 3 * CIFAR_PIXELS)

const char *const rt_cifar10_classes[10] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                            "dog",      "frog",       "horse", "ship", "truck"};

void rt_cifar10_class_names(RtClassNames *classes) {
  classes->count = 10;
  classes->names = rt_malloc(sizeof(char *) * 10);
  for (int c = 0; c < 10; c++)
    classes->names[c] = copy_string(rt_cifar10_classes[c]);
}

/* One record: channel-planar (R plane, G plane, B plane) to NHWC. */
static void cifar_record(uint8_t *x, const uint8_t *rec) {
  const uint8_t *planes = rec + 1;
  for (int p = 0; p < CIFAR_PIXELS; p++)
    for (int c = 0; c < 3; c++)
      x[3 * p + c] = planes[c * CIFAR_PIXELS + p];
}

void rt_dataset_load_cifar10(RtDataset *out, const char *const *paths, int n_paths) {
  memset(out, 0, sizeof *out);
  out->rows = CIFAR_SIDE, out->cols = CIFAR_SIDE, out->channels = 3;
  out->item_size = 3 * CIFAR_PIXELS;
  size_t cap = 0;
  for (int f = 0; f < n_paths; f++) {
    size_t size;
    uint8_t *buf = (uint8_t *)slurp(paths[f], &size, "a CIFAR-10 binary batch");
    if (size == 0 || size % CIFAR_RECORD != 0)
      rt_die("%s: %zu bytes is not a whole number of %d-byte CIFAR-10 records "
             "(1 label byte + 3072 pixels): truncated or not a CIFAR-10 batch",
             paths[f], size, CIFAR_RECORD);
    size_t n = size / CIFAR_RECORD;
    if ((size_t)out->count + n > INT_MAX)
      rt_die("%s: too many records", paths[f]);
    cap = (size_t)out->count + n;
    out->x = realloc(out->x, cap * out->item_size);
    out->y = realloc(out->y, cap);
    if (!out->x || !out->y)
      rt_die("out of memory reading %s", paths[f]);
    for (size_t i = 0; i < n; i++) {
      const uint8_t *rec = buf + i * CIFAR_RECORD;
      if (rec[0] > 9)
        rt_die("%s: record %zu has label %d (CIFAR-10 labels are 0..9)", paths[f], i, rec[0]);
      out->y[out->count] = rec[0];
      cifar_record(out->x + out->item_size * (size_t)out->count, rec);
      out->count++;
    }
    free(buf);
  }
}

void rt_dataset_load_cifar10_dir(RtDataset *out, const char *dir, int test) {
  char names[5][32], full[5][4096];
  const char *paths[5];
  int n = test ? 1 : 5;
  for (int i = 0; i < n; i++) {
    if (test)
      snprintf(names[i], sizeof names[i], "test_batch.bin");
    else
      snprintf(names[i], sizeof names[i], "data_batch_%d.bin", i + 1);
    rt_path_join(full[i], sizeof full[i], dir, names[i]);
    paths[i] = full[i];
  }
  rt_dataset_load_cifar10(out, paths, n);
}
