/*
 * image_files.h — write PNG and JPEG files with libpng and libjpeg, for the
 * tests (test_sources.c) and bench/loader, which generate their own images.
 * Header-only; every function returns 0 on success and -1 on failure.
 */
#ifndef IMAGE_FILES_H
#define IMAGE_FILES_H

#include <stdint.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */

#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>

/* A PNG of any color type and bit depth: rows are packed as PNG stores
 * them ((w * channels * bit_depth + 7) / 8 bytes each, 16-bit samples
 * big-endian); palette/n_palette for PNG_COLOR_TYPE_PALETTE. */
static inline int write_png_ex(const char *path, int w, int h, int color_type, int bit_depth,
                        const uint8_t *rows, const png_color *palette, int n_palette,
                        int interlace) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return -1;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    fclose(f);
    return -1;
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, bit_depth, color_type,
               interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (color_type == PNG_COLOR_TYPE_PALETTE)
    png_set_PLTE(png, info, palette, n_palette);
  png_write_info(png, info);
  size_t stride = png_get_rowbytes(png, info);
  png_bytep row_ptrs[4096];
  for (int y = 0; y < h && y < 4096; y++)
    row_ptrs[y] = (png_bytep)(rows + stride * (size_t)y);
  png_write_image(png, row_ptrs);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  return fclose(f) == 0 ? 0 : -1;
}

/* An 8-bit PNG of 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels. */
static inline int write_png(const char *path, int w, int h, int channels, const uint8_t *px) {
  static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                               PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
  return write_png_ex(path, w, h, types[channels], 8, px, NULL, 0, 0);
}

typedef struct {
  struct jpeg_error_mgr mgr;
  jmp_buf jmp;
} JpegWriteErrors;

static inline void jpeg_write_on_error(j_common_ptr cinfo) {
  longjmp(((JpegWriteErrors *)cinfo->err)->jmp, 1);
}

/* A JPEG of 1 (grey), 3 (RGB) or 4 (CMYK) channels at the given quality,
 * baseline or progressive. */
static inline int write_jpeg_ex(const char *path, int w, int h, int channels, const uint8_t *px,
                                int quality, int progressive) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return -1;
  struct jpeg_compress_struct cinfo;
  JpegWriteErrors errors;
  cinfo.err = jpeg_std_error(&errors.mgr);
  errors.mgr.error_exit = jpeg_write_on_error;
  if (setjmp(errors.jmp)) {
    jpeg_destroy_compress(&cinfo);
    fclose(f);
    return -1;
  }
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, f);
  cinfo.image_width = (JDIMENSION)w;
  cinfo.image_height = (JDIMENSION)h;
  cinfo.input_components = channels;
  cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : channels == 4 ? JCS_CMYK : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  if (progressive)
    jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = (JSAMPROW)(px + (size_t)cinfo.next_scanline * w * channels);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return fclose(f) == 0 ? 0 : -1;
}

/* A baseline JPEG of 1 (grey) or 3 (RGB) channels. */
static inline int write_jpeg(const char *path, int w, int h, int channels, const uint8_t *px,
                             int quality) {
  return write_jpeg_ex(path, w, h, channels, px, quality, 0);
}

#endif
