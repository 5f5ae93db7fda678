/*
 * diag.c — located diagnostics. Every user-facing error goes through
 * diag_error: `file:line:col: error: message`, then the source line and a
 * caret under the column (tildes under the rest of a one-line span), as
 * chibicc's verror_at does. Columns are 1-based; a tab counts as one column
 * and is echoed as a tab so the caret lines up.
 */
#include "nnc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void diag_init(Diag *d, const Source *src, FILE *out) {
  d->src = src;
  d->out = out;
  d->error_count = 0;
  d->max_errors = 20;
}

/* Start of 1-based line `line` in text, or NULL past the end. */
static const char *line_start(const char *text, int line) {
  const char *p = text;
  for (int l = 1; l < line; l++) {
    p = strchr(p, '\n');
    if (!p)
      return NULL;
    p++;
  }
  return p;
}

static void print_source_line(Diag *d, SrcLoc loc) {
  if (!d->src || !d->src->text || loc.first_line < 1)
    return;
  const char *start = line_start(d->src->text, loc.first_line);
  if (!start)
    return;
  const char *end = strchr(start, '\n');
  int len = end ? (int)(end - start) : (int)strlen(start);
  fprintf(d->out, "  %.*s\n  ", len, start);
  int col = loc.first_column < 1 ? 1 : loc.first_column;
  for (int i = 1; i < col && i - 1 < len; i++)
    fputc(start[i - 1] == '\t' ? '\t' : ' ', d->out);
  fputc('^', d->out);
  if (loc.last_line == loc.first_line)
    for (int i = col + 1; i <= loc.last_column && i <= len; i++)
      fputc('~', d->out);
  fputc('\n', d->out);
}

static void vreport(Diag *d, SrcLoc loc, const char *kind, const char *fmt, va_list ap) {
  const char *path = d->src && d->src->path ? d->src->path : "<input>";
  fprintf(d->out, "%s:%d:%d: %s: ", path, loc.first_line, loc.first_column, kind);
  vfprintf(d->out, fmt, ap);
  fputc('\n', d->out);
  print_source_line(d, loc);
}

void diag_verror(Diag *d, SrcLoc loc, const char *fmt, va_list ap) {
  d->error_count++;
  if (d->error_count > d->max_errors)
    return;
  vreport(d, loc, "error", fmt, ap);
  if (d->error_count == d->max_errors)
    fprintf(d->out, "nnc: too many errors, stopping\n");
}

void diag_warning(Diag *d, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(d, loc, "warning", fmt, ap);
  va_end(ap);
}

void diag_error(Diag *d, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(d, loc, fmt, ap);
  va_end(ap);
}

void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(d, loc, "note", fmt, ap);
  va_end(ap);
}

void nnc_bug(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "nnc: internal error at %s:%d: ", file, line);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n(this is a bug in nnc, not in your .nn file)\n");
  va_end(ap);
  exit(70);
}

/* Reads at most NNC_MAX_SOURCE_BYTES: a larger file, or an endless one like
 * /dev/zero, stops at the limit with EFBIG instead of filling memory. */
bool source_read(Source *src, Arena *a, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return false;
  size_t cap = NNC_MAX_SOURCE_BYTES + 1; /* one more byte tells "too large" from "exactly full" */
  char *buf = malloc(cap);
  size_t len = 0, n = 1;
  while (buf && len < cap && n > 0) {
    n = fread(buf + len, 1, cap - len, f);
    len += n;
  }
  int err = !buf                         ? ENOMEM
            : ferror(f)                    ? (errno ? errno : EIO)
            : len > NNC_MAX_SOURCE_BYTES   ? EFBIG
                                           : 0;
  fclose(f);
  if (err) {
    free(buf);
    errno = err;
    return false;
  }
  src->path = arena_strdup(a, path);
  src->text = arena_strndup(a, buf, len);
  src->size = len;
  free(buf);
  if (memchr(src->text, '\0', len)) {
    errno = EILSEQ;
    return false;
  }
  return true;
}

const char *source_error(int err) {
  switch (err) {
  case EILSEQ: return "it contains a NUL byte (not a text file)";
  case EFBIG: return "it is larger than " NNC_MAX_SOURCE_TEXT " (a .nn file is a few kilobytes)";
  default: return strerror(err);
  }
}

void source_from_string(Source *src, const char *path, const char *text) {
  src->path = path;
  src->text = text;
  src->size = strlen(text);
}

/* ---- output files ---- */

bool out_open(OutFile *o, const char *path, FILE *err) {
  struct stat st;
  snprintf(o->path, sizeof o->path, "%s", path);
  o->atomic = stat(path, &st) != 0 || S_ISREG(st.st_mode);
  snprintf(o->tmp, sizeof o->tmp, "%s%s", path, o->atomic ? ".tmp" : "");
  if (!(o->f = fopen(o->tmp, "w")))
    fprintf(err, "nnc: error: cannot write '%s': %s\n", path, strerror(errno));
  return o->f != NULL;
}

bool out_close(OutFile *o, FILE *err) {
  bool ok = !ferror(o->f);
  ok = (fclose(o->f) == 0) && ok;
  if (ok && o->atomic)
    ok = rename(o->tmp, o->path) == 0;
  if (!ok) {
    fprintf(err, "nnc: error: writing '%s' failed: %s\n", o->path, strerror(errno));
    if (o->atomic)
      remove(o->tmp);
  }
  return ok;
}
