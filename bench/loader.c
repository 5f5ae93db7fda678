/*
 * loader.c — how fast does the background loader (runtime/rt_loader.c) turn
 * a folder of PNG files into batches, and how much memory does it hold?
 *
 * Generates an image folder (10 class subfolders of side x side grey PNGs,
 * a smooth pattern plus noise, so they compress like real images) unless it
 * already holds that many files, lists it (rt_image_folder_list), then runs
 * one shuffled epoch through the loader for each thread count asked and
 * prints images/s and the peak resident set of that epoch alone (the peak is
 * reset through /proc/self/clear_refs before each run; the file list is
 * already in memory then and counted). The loader must keep ahead of the
 * training step: compare with the seed CNN's images/s in bench/RESULTS.md.
 *
 * Build: cmake --build build --target bench_loader
 * Usage: build/bench_loader [N [threads ...]]   (defaults: 2000 images, 1 2)
 *   environment: DIR (folder, default $TMPDIR/nnc_bench_loader_N), SIDE (28),
 *   BATCH (32), DEPTH (4), RESIZE (side to resize to, default SIDE: no resize)
 * Output: one line per thread count on stdout, then one for the in-memory
 * path (every image decoded into one RtDataset, one thread):
 *   "threads T images N seconds S images_per_s R peak_rss_mb M"
 *   "in_memory images N seconds S images_per_s R peak_rss_mb M"
 */
#define _XOPEN_SOURCE 700
#include "image_files.h"
#include "nnc_runtime.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

static int env_int(const char *name, int fallback) {
  const char *v = getenv(name);
  return v && *v ? atoi(v) : fallback;
}

/* Peak resident set (VmHWM) in MiB, from /proc/self/status. */
static double peak_rss_mb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  double kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0)
      kb = atof(line + 6);
  if (f)
    fclose(f);
  return kb / 1024.0;
}

/* Reset the peak resident set to the current one (Linux >= 4.0). */
static void reset_peak_rss(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (f) {
    fputs("5", f);
    fclose(f);
  }
}

static void generate(const char *dir, int n, int side) {
  char path[4096]; /* dir is at most 2047 bytes */
  rt_mkdir_p(dir);
  for (int c = 0; c < 10; c++) {
    snprintf(path, sizeof path, "%s/class%d", dir, c);
    rt_mkdir_p(path);
  }
  RtRng rng;
  rt_rng_seed(&rng, 1);
  uint8_t *px = rt_malloc((size_t)side * side);
  double t0 = rt_now();
  for (int i = 0; i < n; i++) {
    int c = i % 10;
    for (int y = 0; y < side; y++)
      for (int x = 0; x < side; x++) {
        int v = (x * (c + 3) + y * (12 - c)) % 200 + (int)(rt_rng_u32(&rng) % 40);
        px[y * side + x] = (uint8_t)v;
      }
    snprintf(path, sizeof path, "%s/class%d/img%07d.png", dir, c, i);
    if (write_png(path, side, side, 1, px) != 0)
      rt_die("%s: cannot write", path);
  }
  free(px);
  fprintf(stderr, "generated %d %dx%d PNGs in %s (%.1f s)\n", n, side, side, dir,
          rt_now() - t0);
}

/* The number of image files already there (0 if dir is missing). */
static int existing_count(const char *dir) {
  struct stat st;
  if (stat(dir, &st) != 0)
    return 0;
  RtFileList files;
  RtClassNames classes;
  rt_image_folder_list(&files, &classes, dir);
  int n = files.count;
  rt_file_list_free(&files);
  rt_class_names_free(&classes);
  return n;
}

static void run_epoch(const RtFileList *files, int threads, int side, int batch, int depth) {
  int *order = rt_malloc(sizeof(int) * (size_t)files->count);
  for (int i = 0; i < files->count; i++)
    order[i] = i;
  RtRng rng;
  rt_rng_seed(&rng, 42);
  rt_rng_shuffle(&rng, order, files->count);
  reset_peak_rss();
  double t0 = rt_now();
  RtLoader *loader = rt_loader_start(files, order, files->count, batch, side, side, 1, depth,
                                     threads);
  const uint8_t *x, *y;
  long seen = 0, checksum = 0;
  int m;
  while ((m = rt_loader_next(loader, &x, &y)) > 0) {
    seen += m;
    checksum += x[0] + y[0]; /* touch the batch, as a training step would */
  }
  rt_loader_stop(loader);
  double seconds = rt_now() - t0;
  printf("threads %d images %ld seconds %.3f images_per_s %.0f peak_rss_mb %.1f\n", threads,
         seen, seconds, seen / seconds, peak_rss_mb());
  fprintf(stderr, "(checksum %ld)\n", checksum);
  free(order);
}

/* The other path, for comparison: every image decoded into one RtDataset
 * (rt_dataset_from_files, one thread), its peak RSS growing with N. */
static void run_in_memory(const RtFileList *files, int side) {
  reset_peak_rss();
  double t0 = rt_now();
  RtDataset ds;
  rt_dataset_from_files(&ds, files, side, side, 1, 0);
  double seconds = rt_now() - t0;
  printf("in_memory images %d seconds %.3f images_per_s %.0f peak_rss_mb %.1f\n", ds.count,
         seconds, ds.count / seconds, peak_rss_mb());
  rt_dataset_free(&ds);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 2000;
  int side = env_int("SIDE", 28), batch = env_int("BATCH", 32), depth = env_int("DEPTH", 4);
  int resize = env_int("RESIZE", side);
  char dir[2048];
  const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  if (getenv("DIR") && *getenv("DIR"))
    snprintf(dir, sizeof dir, "%s", getenv("DIR"));
  else
    snprintf(dir, sizeof dir, "%s/nnc_bench_loader_%d", tmp, n);
  if (existing_count(dir) != n)
    generate(dir, n, side);
  double t0 = rt_now();
  RtFileList files;
  RtClassNames classes;
  rt_image_folder_list(&files, &classes, dir);
  fprintf(stderr, "listed %d files in %.2f s; batch %d, depth %d, %dx%d -> %dx%d\n", files.count,
          rt_now() - t0, batch, depth, side, side, resize, resize);
  int default_threads[] = {1, 2};
  int n_threads = argc > 2 ? argc - 2 : 2;
  for (int t = 0; t < n_threads; t++) {
    int threads = argc > 2 ? atoi(argv[2 + t]) : default_threads[t];
    run_epoch(&files, threads, resize, batch, depth);
  }
  run_in_memory(&files, resize);
  rt_file_list_free(&files);
  rt_class_names_free(&classes);
  return 0;
}
