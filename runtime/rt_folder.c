/*
 * rt_folder.c — image folders, the layout of Keras's
 * image_dataset_from_directory: one subfolder per class, class names from
 * the folder names in sorted order, a seeded validation split.
 *
 * Listing follows keras/src/utils/dataset_utils.py (index_directory): the
 * class folders sorted, each walked recursively with its files ordered by
 * (directory path, file name), kept by extension. Sorting is by bytes (what
 * Python's sorted does on the code points of UTF-8 names).
 *
 * Invariants: a listed RtFileList has labels < classes->count and is
 * grouped by class; every error names the folder or file it is about.
 */
#define _XOPEN_SOURCE 700 /* strdup */
#include "nnc_runtime.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_CLASSES 256

/* ---- growable arrays of strings ---- */

typedef struct {
  int count, cap;
  char **items;
} StringList;

static void strings_push(StringList *list, char *s) {
  if (list->count == list->cap) {
    list->cap = list->cap ? 2 * list->cap : 16;
    char **grown = realloc(list->items, sizeof(char *) * (size_t)list->cap);
    if (!grown)
      rt_die("out of memory listing an image folder");
    list->items = grown;
  }
  list->items[list->count++] = s;
}

static char *copy_string(const char *s) {
  char *p = strdup(s);
  if (!p)
    rt_die("out of memory listing an image folder");
  return p;
}

static int compare_strings(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join_path(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = rt_malloc(n);
  rt_path_join(p, n, dir, name);
  return p;
}

/* ---- listing ---- */

/* Keras's ALLOWLIST_FORMATS, compared without case. */
static int has_image_extension(const char *name) {
  static const char *const exts[] = {".bmp", ".gif", ".jpeg", ".jpg", ".png"};
  size_t n = strlen(name);
  for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
    size_t k = strlen(exts[i]);
    if (n >= k && strcasecmp(name + n - k, exts[i]) == 0)
      return 1;
  }
  return 0;
}

/* The names in dir (not . and ..) split into subdirectories and files,
 * each sorted. A link to a directory counts as one when follow_links (the
 * class folders: Keras's os.path.isdir) and as neither otherwise (inside a
 * class: os.walk does not descend into it). */
static void list_dir(StringList *dirs, StringList *files, const char *dir, int follow_links) {
  DIR *d = opendir(dir);
  if (!d)
    rt_die("%s: cannot open folder: %s", dir, strerror(errno));
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    char *path = join_path(dir, e->d_name);
    struct stat st, lst;
    int is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    int is_link = lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode);
    if (is_dir && (follow_links || !is_link))
      strings_push(dirs, copy_string(e->d_name));
    else if (!is_dir)
      strings_push(files, copy_string(e->d_name));
    free(path);
  }
  closedir(d);
  if (dirs->count)
    qsort(dirs->items, (size_t)dirs->count, sizeof(char *), compare_strings);
  if (files->count)
    qsort(files->items, (size_t)files->count, sizeof(char *), compare_strings);
}

static void strings_free(StringList *list) {
  for (int i = 0; i < list->count; i++)
    free(list->items[i]);
  free(list->items);
  memset(list, 0, sizeof *list);
}

/* A directory of the walk and its image files (sorted). */
typedef struct {
  char *path;
  StringList files;
} WalkRoot;

typedef struct {
  int count, cap;
  WalkRoot *items;
} WalkRoots;

/* os.walk(dir) without following links: every directory under dir, with
 * the image files directly in it. */
static void walk(WalkRoots *roots, const char *dir) {
  StringList dirs = {0}, files = {0}, images = {0};
  list_dir(&dirs, &files, dir, 0);
  for (int i = 0; i < files.count; i++)
    if (has_image_extension(files.items[i]))
      strings_push(&images, copy_string(files.items[i]));
  strings_free(&files);
  if (roots->count == roots->cap) {
    roots->cap = roots->cap ? 2 * roots->cap : 8;
    WalkRoot *grown = realloc(roots->items, sizeof(WalkRoot) * (size_t)roots->cap);
    if (!grown)
      rt_die("out of memory listing an image folder");
    roots->items = grown;
  }
  roots->items[roots->count++] = (WalkRoot){copy_string(dir), images};
  for (int i = 0; i < dirs.count; i++) {
    char *sub = join_path(dir, dirs.items[i]);
    walk(roots, sub);
    free(sub);
  }
  strings_free(&dirs);
}

static int compare_roots(const void *a, const void *b) {
  return strcmp(((const WalkRoot *)a)->path, ((const WalkRoot *)b)->path);
}

/* The image files of one class folder in Keras's order — sorted(os.walk):
 * by directory path as a string (so "a.b/" comes before "a/"), then by
 * name; appends their paths and returns how many. */
static int list_class_files(StringList *paths, const char *class_dir) {
  WalkRoots roots = {0};
  walk(&roots, class_dir);
  qsort(roots.items, (size_t)roots.count, sizeof(WalkRoot), compare_roots);
  int n = 0;
  for (int r = 0; r < roots.count; r++) {
    WalkRoot *root = &roots.items[r];
    for (int i = 0; i < root->files.count; i++)
      strings_push(paths, join_path(root->path, root->files.items[i]));
    n += root->files.count;
    strings_free(&root->files);
    free(root->path);
  }
  free(roots.items);
  return n;
}

void rt_image_folder_list(RtFileList *out, RtClassNames *classes, const char *dir) {
  StringList class_dirs = {0}, top_files = {0}, paths = {0};
  list_dir(&class_dirs, &top_files, dir, 1);
  strings_free(&top_files);
  if (class_dirs.count == 0)
    rt_die("%s: no class subfolders (an image folder has one subfolder of images per class)",
           dir);
  if (class_dirs.count > MAX_CLASSES)
    rt_die("%s: %d class subfolders, more than the %d classes labels can hold", dir,
           class_dirs.count, MAX_CLASSES);
  int *per_class = rt_malloc(sizeof(int) * (size_t)class_dirs.count);
  for (int c = 0; c < class_dirs.count; c++) {
    char *class_dir = join_path(dir, class_dirs.items[c]);
    per_class[c] = list_class_files(&paths, class_dir);
    if (per_class[c] == 0)
      rt_die("%s: class folder '%s' holds no image files (.bmp .gif .jpeg .jpg .png)", class_dir,
             class_dirs.items[c]);
    free(class_dir);
  }
  out->count = paths.count;
  out->paths = paths.items;
  out->labels = rt_malloc((size_t)paths.count);
  for (int c = 0, i = 0; c < class_dirs.count; c++)
    for (int k = 0; k < per_class[c]; k++)
      out->labels[i++] = (uint8_t)c;
  classes->count = class_dirs.count;
  classes->names = class_dirs.items;
  free(per_class);
}

void rt_class_names_check_same(const RtClassNames *test, const char *test_dir,
                               const RtClassNames *train, const char *train_dir) {
  int same = test->count == train->count;
  for (int c = 0; same && c < test->count; c++)
    same = strcmp(test->names[c], train->names[c]) == 0;
  if (same)
    return;
  int c = 0;
  while (c < test->count && c < train->count && strcmp(test->names[c], train->names[c]) == 0)
    c++;
  rt_die("the test folder %s and the training folder %s have different classes: "
         "class %d is '%s' in %s but '%s' in %s",
         test_dir, train_dir, c, c < test->count ? test->names[c] : "(none)", test_dir,
         c < train->count ? train->names[c] : "(none)", train_dir);
}

void rt_class_names_free(RtClassNames *names) {
  for (int i = 0; i < names->count; i++)
    free(names->names[i]);
  free(names->names);
  memset(names, 0, sizeof *names);
}

void rt_file_list_free(RtFileList *files) {
  for (int i = 0; i < files->count; i++)
    free(files->paths[i]);
  free(files->paths);
  free(files->labels);
  memset(files, 0, sizeof *files);
}

/* ---- the validation split ---- */

/* out = the entries order[start .. start + n) of all (copies). */
static void gather_files(RtFileList *out, const RtFileList *all, const int *order, int start,
                         int n) {
  out->count = n;
  out->paths = rt_malloc(sizeof(char *) * (size_t)(n ? n : 1));
  out->labels = rt_malloc((size_t)(n ? n : 1));
  for (int i = 0; i < n; i++) {
    out->paths[i] = copy_string(all->paths[order[start + i]]);
    out->labels[i] = all->labels[order[start + i]];
  }
}

void rt_file_list_split(RtFileList *train, RtFileList *val, const RtFileList *all,
                        double fraction, uint64_t seed) {
  if (!(fraction >= 0.0 && fraction < 1.0))
    rt_die("validation split %g is outside [0, 1)", fraction);
  int *order = rt_malloc(sizeof(int) * (size_t)(all->count ? all->count : 1));
  for (int i = 0; i < all->count; i++)
    order[i] = i;
  RtRng rng;
  rt_rng_seed(&rng, seed);
  rt_rng_shuffle(&rng, order, all->count);
  int n_val = (int)(fraction * all->count); /* Keras: int(validation_split * samples) */
  gather_files(train, all, order, 0, all->count - n_val);
  gather_files(val, all, order, all->count - n_val, n_val);
  free(order);
}

/* ---- decoding into a dataset ---- */

int rt_dataset_from_files(RtDataset *out, const RtFileList *files, int h, int w, int channels,
                          int skip_bad) {
  if (h < 1 || w < 1 || (channels != 1 && channels != 3))
    rt_die("image size %dx%d with %d channels (1 or 3) requested", h, w, channels);
  memset(out, 0, sizeof *out);
  out->rows = h, out->cols = w, out->channels = channels;
  out->item_size = (size_t)h * w * channels;
  size_t n = (size_t)(files->count ? files->count : 1);
  out->x = rt_malloc(out->item_size * n);
  out->y = rt_malloc(n);
  int skipped = 0;
  char err[1024];
  for (int i = 0; i < files->count; i++) {
    uint8_t *item = out->x + out->item_size * (size_t)out->count;
    if (rt_image_try_load(files->paths[i], channels, h, w, item, err, sizeof err) != 0) {
      if (!skip_bad)
        rt_die("%s", err);
      fprintf(stderr, "warning: skipping a bad image: %s\n", err);
      skipped++;
      continue;
    }
    out->y[out->count++] = files->labels[i];
  }
  return skipped;
}

/* Leaves the bad images out of files (each named in a warning, as
 * rt_dataset_from_files does); returns their number. */
static int drop_bad_files(RtFileList *files, int h, int w, int channels) {
  uint8_t *scratch = rt_malloc((size_t)h * w * channels);
  char err[1024];
  int n = 0;
  for (int i = 0; i < files->count; i++) {
    if (rt_image_try_load(files->paths[i], channels, h, w, scratch, err, sizeof err) != 0) {
      fprintf(stderr, "warning: skipping a bad image: %s\n", err);
      free(files->paths[i]);
      continue;
    }
    files->paths[n] = files->paths[i];
    files->labels[n++] = files->labels[i];
  }
  int skipped = files->count - n;
  files->count = n;
  free(scratch);
  return skipped;
}

int rt_dataset_stream_files(RtDataset *out, RtFileList *files, int h, int w, int channels,
                            int skip_bad) {
  if (h < 1 || w < 1 || (channels != 1 && channels != 3))
    rt_die("image size %dx%d with %d channels (1 or 3) requested", h, w, channels);
  int skipped = skip_bad ? drop_bad_files(files, h, w, channels) : 0;
  memset(out, 0, sizeof *out);
  out->rows = h, out->cols = w, out->channels = channels;
  out->item_size = (size_t)h * w * channels;
  out->count = files->count;
  out->paths = files->count ? files->paths : rt_malloc(sizeof(char *));
  out->y = files->count ? files->labels : rt_malloc(1);
  if (!files->count) {
    free(files->paths);
    free(files->labels);
  }
  memset(files, 0, sizeof *files);
  return skipped;
}

/* Decoded, or streamed when stream. */
static int files_to_dataset(RtDataset *out, RtFileList *files, int h, int w, int channels,
                            const RtFolderOptions *opt, int stream) {
  if (stream)
    return rt_dataset_stream_files(out, files, h, w, channels, opt->skip_bad);
  return rt_dataset_from_files(out, files, h, w, channels, opt->skip_bad);
}

int rt_dataset_load_image_folder(RtDataset *train, RtDataset *val, RtClassNames *classes,
                                 const char *dir, int h, int w, int channels,
                                 const RtFolderOptions *opt) {
  RtFileList all;
  rt_image_folder_list(&all, classes, dir);
  double decoded = (double)all.count * h * w * channels;
  int skipped = 0, stream = opt->stream == 1 || (opt->stream == 2 && decoded > opt->budget_bytes);
  if (val)
    memset(val, 0, sizeof *val);
  if (opt->validation_split > 0) {
    if (!val)
      rt_die("%s: a validation split needs a validation dataset", dir);
    RtFileList train_files, val_files;
    rt_file_list_split(&train_files, &val_files, &all, opt->validation_split, opt->seed);
    skipped += files_to_dataset(train, &train_files, h, w, channels, opt, stream);
    skipped += files_to_dataset(val, &val_files, h, w, channels, opt, stream);
    rt_file_list_free(&train_files);
    rt_file_list_free(&val_files);
  } else {
    skipped += files_to_dataset(train, &all, h, w, channels, opt, stream);
  }
  rt_file_list_free(&all);
  return skipped;
}

int rt_dataset_load_image_test_folder(RtDataset *test, const char *test_dir,
                                      const RtClassNames *train_classes, const char *train_dir,
                                      int h, int w, int channels, int skip_bad) {
  RtFileList files;
  RtClassNames classes;
  rt_image_folder_list(&files, &classes, test_dir);
  rt_class_names_check_same(&classes, test_dir, train_classes, train_dir);
  int skipped = rt_dataset_from_files(test, &files, h, w, channels, skip_bad);
  rt_file_list_free(&files);
  rt_class_names_free(&classes);
  return skipped;
}
