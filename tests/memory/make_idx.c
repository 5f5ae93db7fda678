/*
 * make_idx — writes a small IDX data set of random u8 images and labels, for
 * models whose input no shipped data set has (models/vgg16.nn: 224x224x3):
 *
 *   make_idx DIR SPLIT COUNT ROWS COLS CHANNELS CLASSES [SEED]
 *
 * writes DIR/SPLIT-images-idx3-ubyte (magic 0x00000804: count, rows, cols,
 * channels; channels = 1 writes the 3-dimensional 0x00000803 form) and
 * DIR/SPLIT-labels-idx1-ubyte (0x00000801: count), the layout rt_data.c
 * reads. The bytes come from a fixed-seed generator, so a run is repeatable.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state;

static uint8_t next_byte(void) { /* a 64-bit LCG's high byte */
  state = state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint8_t)(state >> 56);
}

static void put_be32(FILE *f, uint32_t v) {
  uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  fwrite(b, 1, 4, f);
}

static FILE *open_out(const char *dir, const char *split, const char *kind) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s-%s-ubyte", dir, split, kind);
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    exit(1);
  }
  return f;
}

static void close_out(FILE *f) {
  if (ferror(f) | fclose(f)) {
    perror("make_idx: write");
    exit(1);
  }
}

static long arg(char **argv, int i, long lo, long hi) {
  char *end;
  long v = strtol(argv[i], &end, 10);
  if (*end || v < lo || v > hi) {
    fprintf(stderr, "make_idx: argument %d must be a whole number in [%ld, %ld]\n", i, lo, hi);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  if (argc != 8 && argc != 9) {
    fprintf(stderr, "usage: make_idx DIR SPLIT COUNT ROWS COLS CHANNELS CLASSES [SEED]\n");
    return 2;
  }
  long count = arg(argv, 3, 1, 1 << 20), rows = arg(argv, 4, 1, 65536);
  long cols = arg(argv, 5, 1, 65536), channels = arg(argv, 6, 1, 65536);
  long classes = arg(argv, 7, 2, 256);
  state = argc == 9 ? (uint64_t)arg(argv, 8, 0, 1L << 30) : 42;
  FILE *img = open_out(argv[1], argv[2], "images-idx3");
  put_be32(img, channels == 1 ? 0x00000803u : 0x00000804u);
  put_be32(img, (uint32_t)count);
  put_be32(img, (uint32_t)rows);
  put_be32(img, (uint32_t)cols);
  if (channels != 1)
    put_be32(img, (uint32_t)channels);
  size_t n = (size_t)count * (size_t)rows * (size_t)cols * (size_t)channels;
  for (size_t i = 0; i < n; i++)
    fputc(next_byte(), img);
  close_out(img);
  FILE *lab = open_out(argv[1], argv[2], "labels-idx1");
  put_be32(lab, 0x00000801u);
  put_be32(lab, (uint32_t)count);
  for (long i = 0; i < count; i++)
    fputc((int)(next_byte() % (uint8_t)classes), lab);
  close_out(lab);
  return 0;
}
