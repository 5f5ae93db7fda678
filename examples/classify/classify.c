/*
 * classify.c — a stand-alone program that uses a model exported by
 * `nnc export`: it reads PNG files, makes each one the model's input
 * (greyscale or RGB, resized bilinearly to the input's height and width, as
 * Keras's load_img(target_size=...) does) and prints the top 3 classes with
 * their probabilities (seed 001's "predict the top 3 classes of this image").
 *
 *   make MODEL=fashion_mlp && ./classify shirt.png boot.png
 *
 * Only the exported MODEL.h / MODEL.c and libpng are needed; see README.md
 * for how to train and export a model into this folder.
 */
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define PREDICT_U8 CAT(MODEL, _predict_u8)
#define CLASS_NAMES CAT(MODEL, _class_names)
#define N_SCORES CAT(MODEL, _N_SCORES)
#define INPUT_SIZE CAT(MODEL, _INPUT_SIZE)

#define HEIGHT CAT(MODEL, _HEIGHT) /* the model's input image */
#define WIDTH CAT(MODEL, _WIDTH)
#define CHANNELS CAT(MODEL, _CHANNELS)

/* The PNG at path as 8-bit grey or RGB (libpng converts every other kind). */
static uint8_t *read_png(const char *path, int channels, int *w, int *h) {
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path)) {
    fprintf(stderr, "classify: %s: %s\n", path, img.message);
    return NULL;
  }
  img.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  uint8_t *pixels = malloc(PNG_IMAGE_SIZE(img));
  if (!pixels || !png_image_finish_read(&img, NULL, pixels, 0, NULL)) {
    fprintf(stderr, "classify: %s: %s\n", path, pixels ? img.message : "out of memory");
    free(pixels);
    png_image_free(&img);
    return NULL;
  }
  *w = (int)img.width;
  *h = (int)img.height;
  return pixels;
}

/* Bilinear resize with half-pixel centres (tf.image.resize, no antialias). */
static void resize(uint8_t *out, int oh, int ow, const uint8_t *in, int ih, int iw, int c) {
  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++) {
      float sy = ((float)y + 0.5f) * (float)ih / (float)oh - 0.5f;
      float sx = ((float)x + 0.5f) * (float)iw / (float)ow - 0.5f;
      sy = sy < 0 ? 0 : sy;
      sx = sx < 0 ? 0 : sx;
      int y0 = (int)sy, x0 = (int)sx;
      int y1 = y0 + 1 < ih ? y0 + 1 : ih - 1, x1 = x0 + 1 < iw ? x0 + 1 : iw - 1;
      float fy = sy - (float)y0, fx = sx - (float)x0;
      for (int k = 0; k < c; k++) {
        float top = in[(y0 * iw + x0) * c + k] * (1 - fx) + in[(y0 * iw + x1) * c + k] * fx;
        float bot = in[(y1 * iw + x0) * c + k] * (1 - fx) + in[(y1 * iw + x1) * c + k] * fx;
        out[(y * ow + x) * c + k] = (uint8_t)(top * (1 - fy) + bot * fy + 0.5f);
      }
    }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: classify IMAGE.png...\n");
    return 2;
  }
  int failed = 0;
  for (int i = 1; i < argc; i++) {
    int w, h;
    uint8_t *pixels = read_png(argv[i], CHANNELS, &w, &h);
    if (!pixels) {
      failed = 1;
      continue;
    }
    uint8_t x[INPUT_SIZE];
    float probs[N_SCORES];
    resize(x, HEIGHT, WIDTH, pixels, h, w, CHANNELS);
    free(pixels);
    PREDICT_U8(x, 1, probs);
    printf("%s:", argv[i]);
    for (int rank = 0; rank < 3 && rank < N_SCORES; rank++) { /* the top 3, best first */
      int best = -1;
      for (int j = 0; j < N_SCORES; j++)
        if (probs[j] >= 0 && (best < 0 || probs[j] > probs[best]))
          best = j;
      printf("%s %s %.4f", rank ? "," : "", CLASS_NAMES[best], probs[best]);
      probs[best] = -1;
    }
    printf("\n");
  }
  return failed;
}
