/* plot_cairo.c — Day 5's loss curves with cairo alone: every axis, tick and
 * legend is ours to draw (what choosing cairo would mean for each plot). */
#include "common.h"
#include <cairo.h>
#include <math.h>
enum { W = 800, H = 500, LEFT = 70, RIGHT = 20, TOP = 40, BOTTOM = 50 };
static double sx(double x, double x0, double x1) { return LEFT + (x - x0) / (x1 - x0) * (W - LEFT - RIGHT); }
static double sy(double y, double y0, double y1) { return H - BOTTOM - (y - y0) / (y1 - y0) * (H - TOP - BOTTOM); }
static void text_at(cairo_t *cr, double x, double y, const char *s, double align) {
  cairo_text_extents_t ext;
  cairo_text_extents(cr, s, &ext);
  cairo_move_to(cr, x - align * ext.width, y);
  cairo_show_text(cr, s);
}
static void series(cairo_t *cr, const double *x, const double *y, int n, double x1, double y1,
                   double r, double g, double b) {
  cairo_set_source_rgb(cr, r, g, b);
  cairo_set_line_width(cr, 2);
  for (int i = 0; i < n; i++) cairo_line_to(cr, sx(x[i], 1, x1), sy(y[i], 0, y1));
  cairo_stroke(cr);
}
int main(int argc, char **argv) {
  double e[MAX_EPOCHS], l[MAX_EPOCHS], vl[MAX_EPOCHS];
  int n = read_history(argv[1], e, l, vl);
  double ymax = 0;
  for (int i = 0; i < n; i++) ymax = fmax(ymax, fmax(l[i], vl[i]));
  ymax *= 1.05;
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create(s);
  cairo_set_source_rgb(cr, 1, 1, 1); cairo_paint(cr);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 13);
  cairo_set_source_rgb(cr, 0, 0, 0); cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, LEFT, TOP, W - LEFT - RIGHT, H - TOP - BOTTOM); cairo_stroke(cr);
  char buf[32];
  for (int t = 0; t <= 5; t++) { /* y ticks */
    double v = ymax * t / 5, y = sy(v, 0, ymax);
    cairo_move_to(cr, LEFT, y); cairo_line_to(cr, LEFT + 5, y); cairo_stroke(cr);
    snprintf(buf, sizeof buf, "%.2f", v); text_at(cr, LEFT - 6, y + 4, buf, 1);
  }
  for (int i = 0; i < n; i++) { /* x ticks */
    double x = sx(e[i], 1, e[n - 1]);
    cairo_move_to(cr, x, H - BOTTOM); cairo_line_to(cr, x, H - BOTTOM - 5); cairo_stroke(cr);
    snprintf(buf, sizeof buf, "%g", e[i]); text_at(cr, x, H - BOTTOM + 18, buf, 0.5);
  }
  text_at(cr, W / 2.0, H - 12, "epoch", 0.5);
  text_at(cr, W / 2.0, 25, "Day 5 MLP: loss", 0.5);
  cairo_save(cr); cairo_move_to(cr, 20, H / 2.0); cairo_rotate(cr, -M_PI / 2);
  cairo_show_text(cr, "loss"); cairo_restore(cr);
  series(cr, e, l, n, e[n - 1], ymax, 0.12, 0.47, 0.71);
  series(cr, e, vl, n, e[n - 1], ymax, 1.0, 0.5, 0.05);
  const char *names[2] = {"train", "validation"};
  for (int k = 0; k < 2; k++) { /* legend */
    double y = TOP + 20 + 20 * k;
    cairo_set_source_rgb(cr, k ? 1.0 : 0.12, k ? 0.5 : 0.47, k ? 0.05 : 0.71);
    cairo_move_to(cr, W - 160, y - 4); cairo_line_to(cr, W - 130, y - 4); cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0); text_at(cr, W - 124, y, names[k], 0);
  }
  cairo_destroy(cr);
  int rc = cairo_surface_write_to_png(s, argv[2]) == CAIRO_STATUS_SUCCESS ? 0 : 1;
  cairo_surface_destroy(s);
  return rc;
}
