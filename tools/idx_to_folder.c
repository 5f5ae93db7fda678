/*
 * idx_to_folder.c — an IDX data set as an image folder, the layout of
 * Keras's image_dataset_from_directory: DIR/<class>/<index>.png, written
 * with libpng. Class folders are named "<label>_<name>" (names given after
 * N, '/' and ' ' made '_'), or "<label>" without names; labels below 10 get
 * no padding, so at most 10 classes keep the label order when sorted.
 *   idx_to_folder IMAGES LABELS DIR [N [NAME ...]]     N 0 or absent: all
 */
#include "nnc_runtime.h"

#include <errno.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void make_dir(const char *path) {
  if (mkdir(path, 0777) != 0 && errno != EEXIST)
    rt_die("idx_to_folder: cannot create %s: %s", path, strerror(errno));
}

/* DIR/<label>[_<name>] */
static void class_dir(char *out, size_t size, const char *dir, int label, int n_names,
                      char **names) {
  if (label < n_names) {
    int len = snprintf(out, size, "%s/%d_%s", dir, label, names[label]);
    for (char *p = out + len - strlen(names[label]); *p; p++)
      if (*p == '/' || *p == ' ')
        *p = '_';
  } else {
    snprintf(out, size, "%s/%d", dir, label);
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: idx_to_folder IMAGES LABELS DIR [N [NAME ...]]\n");
    return 2;
  }
  RtDataset ds;
  rt_dataset_load_idx_files(&ds, argv[1], argv[2]);
  int n = argc > 4 && atoi(argv[4]) > 0 && atoi(argv[4]) < ds.count ? atoi(argv[4]) : ds.count;
  int n_names = argc > 5 ? argc - 5 : 0;
  make_dir(argv[3]);
  char dir[4096], path[4200];
  for (int i = 0; i < n; i++) {
    class_dir(dir, sizeof dir, argv[3], ds.y[i], n_names, argv + 5);
    make_dir(dir);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)ds.cols;
    img.height = (png_uint_32)ds.rows;
    img.format = ds.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    snprintf(path, sizeof path, "%s/%05d.png", dir, i);
    if (!png_image_write_to_file(&img, path, 0, ds.x + (size_t)i * ds.item_size, 0, NULL))
      rt_die("idx_to_folder: %s: %s", path, img.message);
  }
  rt_dataset_free(&ds);
  return 0;
}
