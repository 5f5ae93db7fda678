/*
 * rt_image.c — image files to model inputs: PNG (libpng) and JPEG
 * (libjpeg-turbo) decoding, Keras's channel conversion and TensorFlow's
 * bilinear resize.
 *
 * A file is read whole into memory, its format sniffed from the magic bytes
 * (PNG 89 50 4E 47 0D 0A 1A 0A, JPEG FF D8 FF) and decoded from that buffer.
 * Both libraries report errors through longjmp; each decode keeps its jump
 * buffer and message in a context on its own stack, so decoding is
 * thread-safe (the loader's workers run it concurrently).
 *
 * Invariants: the try_ functions never exit; on failure they return -1 and
 * leave "PATH: reason" in err, and free what they allocated. A decoded
 * image has 8-bit samples.
 */
#include "nnc_runtime.h"

#include <errno.h>
#include <jpeglib.h>
#include <jerror.h> /* JWRN_JPEG_EOF */
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Larger images are refused (a corrupt header must not make us allocate GBs). */
#define IMAGE_MAX_SIDE 32768
#define IMAGE_MAX_PIXELS (1u << 28)

static int fail(char *err, size_t size, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* err = "PATH: message"; returns -1 for `return fail(...)`. */
static int fail(char *err, size_t size, const char *path, const char *fmt, ...) {
  int n = snprintf(err, size, "%s: ", path);
  if (n >= 0 && (size_t)n < size) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, size - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* The whole file in a malloc'd buffer. */
static int read_file(uint8_t **data, size_t *size, const char *path, char *err, size_t err_size) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return fail(err, err_size, path, "cannot open: %s", strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    return fail(err, err_size, path, "not a regular file");
  }
  size_t n = (size_t)st.st_size;
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) {
    fclose(f);
    return fail(err, err_size, path, "out of memory reading %zu bytes", n);
  }
  size_t got = fread(buf, 1, n, f);
  int bad = ferror(f);
  fclose(f);
  if (bad || got != n) {
    free(buf);
    return fail(err, err_size, path, "read error");
  }
  *data = buf;
  *size = n;
  return 0;
}

static int check_size(int h, int w, int c, const char *path, char *err, size_t err_size) {
  if (h < 1 || w < 1 || h > IMAGE_MAX_SIDE || w > IMAGE_MAX_SIDE ||
      (size_t)h * (size_t)w > IMAGE_MAX_PIXELS || c < 1 || c > 4)
    return fail(err, err_size, path, "unsupported image size %dx%d with %d channels", w, h, c);
  return 0;
}

/* ---- PNG ---- */

typedef struct {
  const uint8_t *data;
  size_t size, pos;
  png_bytep *rows; /* freed by decode_png, also after a longjmp */
  int truncated;   /* the error was a read past the end */
  char msg[256];
} PngSource;

static void png_read_memory(png_structp png, png_bytep out, png_size_t n) {
  PngSource *src = png_get_io_ptr(png);
  if (n > src->size - src->pos) {
    src->truncated = 1;
    png_error(png, "read past the end");
  }
  memcpy(out, src->data + src->pos, n);
  src->pos += n;
}

static void png_on_error(png_structp png, png_const_charp msg) {
  PngSource *src = png_get_error_ptr(png);
  snprintf(src->msg, sizeof src->msg, "%s", msg);
  png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
  (void)png, (void)msg; /* benign (e.g. a bad gamma chunk): PIL and TF decode anyway */
}

/* Every color type to 8-bit samples: palettes to RGB, low-bit grey to 8
 * bits, 16 bits to their high byte; transparency (tRNS) is not turned into
 * alpha, since alpha is dropped anyway. */
static void png_set_8bit_transforms(png_structp png, png_infop info) {
  int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
  if (color == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  if (depth == 16)
    png_set_strip_16(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
}

/* The part that may longjmp: what it allocates hangs off img and src, which
 * the callers free on every path. */
static int png_decode_rows(png_structp png, png_infop info, PngSource *src, RtImage *img,
                           const char *path, char *err, size_t err_size) {
  png_read_info(png, info);
  png_set_8bit_transforms(png, info);
  int h = (int)png_get_image_height(png, info), w = (int)png_get_image_width(png, info);
  int c = png_get_channels(png, info);
  if (check_size(h, w, c, path, err, err_size) != 0)
    return -1;
  img->h = h, img->w = w, img->channels = c;
  img->px = malloc((size_t)h * w * c);
  src->rows = malloc(sizeof(png_bytep) * (size_t)h);
  if (!img->px || !src->rows)
    return fail(err, err_size, path, "out of memory for a %dx%d image", w, h);
  for (int y = 0; y < h; y++)
    src->rows[y] = img->px + (size_t)y * w * c;
  png_read_image(png, src->rows);
  png_read_end(png, NULL);
  return 0;
}

static int decode_png(RtImage *img, const uint8_t *data, size_t size, const char *path, char *err,
                      size_t err_size) {
  PngSource src = {.data = data, .size = size};
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error, png_on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_read_struct(&png, NULL, NULL);
    return fail(err, err_size, path, "out of memory starting libpng");
  }
  png_set_read_fn(png, &src, png_read_memory);
  int rc;
  if (setjmp(png_jmpbuf(png))) {
    if (src.truncated)
      rc = fail(err, err_size, path, "truncated PNG: the file ends inside the image");
    else /* libpng's own words */
      rc = fail(err, err_size, path, "corrupt PNG: %s", src.msg);
  } else {
    rc = png_decode_rows(png, info, &src, img, path, err, err_size);
  }
  free(src.rows);
  png_destroy_read_struct(&png, &info, NULL);
  return rc;
}

/* ---- JPEG ---- */

typedef struct {
  struct jpeg_error_mgr mgr; /* first: libjpeg hands back this pointer */
  jmp_buf jmp;
  int truncated; /* the data ended inside the image */
  char msg[JMSG_LENGTH_MAX];
} JpegErrors;

static void jpeg_on_error(j_common_ptr cinfo) {
  JpegErrors *e = (JpegErrors *)cinfo->err;
  cinfo->err->format_message(cinfo, e->msg);
  longjmp(e->jmp, 1);
}

/* Warnings are ignored (libjpeg recovers from small damage, as PIL does)
 * except the end of the data inside the image: a truncated file, which
 * libjpeg would pad with grey. */
static void jpeg_on_message(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
    JpegErrors *e = (JpegErrors *)cinfo->err;
    e->truncated = 1;
    longjmp(e->jmp, 1);
  }
}

static int jpeg_decode_rows(struct jpeg_decompress_struct *cinfo, RtImage *img, const char *path,
                            char *err, size_t err_size) {
  jpeg_read_header(cinfo, TRUE);
  if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK)
    return fail(err, err_size, path, "CMYK JPEG images are not supported (convert to RGB)");
  cinfo->out_color_space = cinfo->jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(cinfo);
  int h = (int)cinfo->output_height, w = (int)cinfo->output_width;
  int c = cinfo->output_components;
  if (check_size(h, w, c, path, err, err_size) != 0)
    return -1;
  img->h = h, img->w = w, img->channels = c;
  img->px = malloc((size_t)h * w * c);
  if (!img->px)
    return fail(err, err_size, path, "out of memory for a %dx%d image", w, h);
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = img->px + (size_t)cinfo->output_scanline * w * c;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
  return 0;
}

static int decode_jpeg(RtImage *img, const uint8_t *data, size_t size, const char *path,
                       char *err, size_t err_size) {
  struct jpeg_decompress_struct cinfo;
  JpegErrors errors;
  cinfo.err = jpeg_std_error(&errors.mgr);
  errors.mgr.error_exit = jpeg_on_error;
  errors.mgr.emit_message = jpeg_on_message;
  errors.msg[0] = '\0';
  errors.truncated = 0;
  int rc;
  jpeg_create_decompress(&cinfo);
  if (setjmp(errors.jmp)) {
    if (errors.truncated)
      rc = fail(err, err_size, path, "truncated JPEG: the file ends inside the image");
    else /* libjpeg's own words */
      rc = fail(err, err_size, path, "corrupt JPEG: %s", errors.msg);
  } else {
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    rc = jpeg_decode_rows(&cinfo, img, path, err, err_size);
  }
  jpeg_destroy_decompress(&cinfo);
  return rc;
}

/* ---- decoding: sniff, then the format's decoder ---- */

static const uint8_t PNG_MAGIC[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static int sniff_and_decode(RtImage *img, const uint8_t *data, size_t size, const char *path,
                            char *err, size_t err_size) {
  if (size == 0)
    return fail(err, err_size, path, "empty file, not an image");
  if (size >= 8 && memcmp(data, PNG_MAGIC, 8) == 0)
    return decode_png(img, data, size, path, err, err_size);
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
    return decode_jpeg(img, data, size, path, err, err_size);
  if (size >= 6 && (memcmp(data, "GIF87a", 6) == 0 || memcmp(data, "GIF89a", 6) == 0))
    return fail(err, err_size, path, "GIF images are not supported (PNG and JPEG only)");
  if (size >= 2 && data[0] == 'B' && data[1] == 'M')
    return fail(err, err_size, path, "BMP images are not supported (PNG and JPEG only)");
  return fail(err, err_size, path, "not a PNG or JPEG image (unknown first bytes)");
}

int rt_image_decode(RtImage *img, const char *path, char *err, size_t err_size) {
  memset(img, 0, sizeof *img);
  uint8_t *data = NULL;
  size_t size = 0;
  if (read_file(&data, &size, path, err, err_size) != 0)
    return -1;
  int rc = sniff_and_decode(img, data, size, path, err, err_size);
  free(data);
  if (rc != 0)
    rt_image_free(img);
  return rc;
}

void rt_image_free(RtImage *img) {
  free(img->px);
  memset(img, 0, sizeof *img);
}

/* ---- channels (Keras load_img / PIL convert) ---- */

/* PIL's L24: ITU-R 601-2 luma in 16-bit fixed point, rounded. */
static uint8_t luma(uint8_t r, uint8_t g, uint8_t b) {
  return (uint8_t)((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
}

void rt_image_convert(uint8_t *out, const RtImage *img, int want_channels) {
  if (want_channels != 1 && want_channels != 3)
    rt_die("rt_image_convert: %d channels requested (1 or 3)", want_channels);
  size_t n = (size_t)img->h * img->w;
  int c = img->channels;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *p = img->px + i * c;
    int is_grey = c < 3; /* grey or grey + alpha */
    if (want_channels == 1) {
      out[i] = is_grey ? p[0] : luma(p[0], p[1], p[2]);
    } else {
      out[3 * i + 0] = p[0];
      out[3 * i + 1] = is_grey ? p[0] : p[1];
      out[3 * i + 2] = is_grey ? p[0] : p[2];
    }
  }
}

/* ---- bilinear resize (tf.image.resize, half-pixel centers) ---- */

typedef struct {
  int lower, upper;
  float lerp;
} ResizeTap;

/* TensorFlow's compute_interpolation_weights with HalfPixelScaler. */
static void resize_taps(ResizeTap *taps, int out_size, int in_size) {
  float scale = (float)in_size / (float)out_size;
  for (int o = 0; o < out_size; o++) {
    float s = ((float)o + 0.5f) * scale - 0.5f;
    float s_floor = floorf(s);
    int lower = (int)s_floor, upper = (int)ceilf(s);
    taps[o].lower = lower > 0 ? lower : 0;
    taps[o].upper = upper < in_size - 1 ? upper : in_size - 1;
    taps[o].lerp = s - s_floor;
  }
}

static uint8_t round_u8(float v) {
  if (v <= 0.0f)
    return 0;
  if (v >= 255.0f)
    return 255;
  return (uint8_t)(v + 0.5f);
}

void rt_image_resize_bilinear(uint8_t *out, int out_h, int out_w, const uint8_t *in, int h,
                              int w, int c) {
  ResizeTap *ys = rt_malloc(sizeof(ResizeTap) * (size_t)out_h);
  ResizeTap *xs = rt_malloc(sizeof(ResizeTap) * (size_t)out_w);
  resize_taps(ys, out_h, h);
  resize_taps(xs, out_w, w);
  for (int oy = 0; oy < out_h; oy++) {
    const uint8_t *top = in + (size_t)ys[oy].lower * w * c;
    const uint8_t *bottom = in + (size_t)ys[oy].upper * w * c;
    float yl = ys[oy].lerp;
    for (int ox = 0; ox < out_w; ox++) {
      size_t l = (size_t)xs[ox].lower * c, r = (size_t)xs[ox].upper * c;
      float xl = xs[ox].lerp;
      for (int k = 0; k < c; k++) {
        float t = top[l + k] + (top[r + k] - top[l + k]) * xl;
        float b = bottom[l + k] + (bottom[r + k] - bottom[l + k]) * xl;
        out[((size_t)oy * out_w + ox) * c + k] = round_u8(t + (b - t) * yl);
      }
    }
  }
  free(ys);
  free(xs);
}

/* ---- the whole path ---- */

int rt_image_try_load(const char *path, int want_channels, int out_h, int out_w, uint8_t *out,
                      char *err, size_t err_size) {
  if (want_channels != 1 && want_channels != 3)
    return fail(err, err_size, path, "%d channels requested (1 or 3)", want_channels);
  RtImage img;
  if (rt_image_decode(&img, path, err, err_size) != 0)
    return -1;
  if (img.h == out_h && img.w == out_w) {
    rt_image_convert(out, &img, want_channels); /* resizing to the same size is a copy */
  } else {
    uint8_t *converted = malloc((size_t)img.h * img.w * want_channels);
    if (!converted) {
      rt_image_free(&img);
      return fail(err, err_size, path, "out of memory converting a %dx%d image", img.w, img.h);
    }
    rt_image_convert(converted, &img, want_channels);
    rt_image_resize_bilinear(out, out_h, out_w, converted, img.h, img.w, want_channels);
    free(converted);
  }
  rt_image_free(&img);
  return 0;
}

void rt_image_load(const char *path, int want_channels, int out_h, int out_w, uint8_t *out) {
  char err[1024];
  if (rt_image_try_load(path, want_channels, out_h, out_w, out, err, sizeof err) != 0)
    rt_die("%s", err);
}
