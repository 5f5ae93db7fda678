/*
 * idx_to_png.c — writes the first N images of an IDX file (u8, 2-D or 3-D
 * examples, gzip or not) as PNG files DIR/0.png, DIR/1.png, ... with libpng,
 * and their labels to DIR/labels.txt, for the examples' tests.
 *   idx_to_png IMAGES LABELS N DIR
 */
#include "nnc_runtime.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: idx_to_png IMAGES LABELS N DIR\n");
    return 2;
  }
  RtDataset ds;
  rt_dataset_load_idx_files(&ds, argv[1], argv[2]);
  int n = atoi(argv[3]) < ds.count ? atoi(argv[3]) : ds.count;
  char path[4096];
  snprintf(path, sizeof path, "%s/labels.txt", argv[4]);
  FILE *labels = fopen(path, "w");
  for (int i = 0; labels && i < n; i++) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)ds.cols;
    img.height = (png_uint_32)ds.rows;
    img.format = ds.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    snprintf(path, sizeof path, "%s/%d.png", argv[4], i);
    if (!png_image_write_to_file(&img, path, 0, ds.x + (size_t)i * ds.item_size, 0, NULL)) {
      fprintf(stderr, "idx_to_png: %s: %s\n", path, img.message);
      return 1;
    }
    fprintf(labels, "%d\n", ds.y[i]);
  }
  if (!labels || fclose(labels) != 0)
    return 1;
  rt_dataset_free(&ds);
  return 0;
}
