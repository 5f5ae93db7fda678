/* plot_plplot.c — Day 5's loss curves with PLplot's pngcairo driver. */
#include "common.h"
#include <plplot.h>
int main(int argc, char **argv) {
  double e[MAX_EPOCHS], l[MAX_EPOCHS], vl[MAX_EPOCHS];
  int n = read_history(argv[1], e, l, vl);
  double ymax = 0;
  for (int i = 0; i < n; i++) { if (l[i] > ymax) ymax = l[i]; if (vl[i] > ymax) ymax = vl[i]; }
  plsdev("pngcairo"); plsfnam(argv[2]); plspage(0, 0, 800, 500, 0, 0);
  plscolbg(255, 255, 255); plscol0(1, 0, 0, 0);
  plscol0(2, 31, 119, 180); plscol0(3, 255, 127, 14);
  plinit();
  plenv(1, e[n - 1], 0, ymax * 1.05, 0, 1);
  pllab("epoch", "loss", "Day 5 MLP: loss");
  plcol0(2); plwidth(2); plline(n, e, l);
  plcol0(3); plline(n, e, vl);
  PLINT opt[2] = {PL_LEGEND_LINE, PL_LEGEND_LINE}, tc[2] = {1, 1}, lc[2] = {2, 3}, ls[2] = {1, 1};
  PLFLT ts = 1.0, lw[2] = {2, 2}, w, h;
  const char *text[2] = {"train", "validation"};
  pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, PL_POSITION_RIGHT | PL_POSITION_TOP,
           0.02, 0.02, 0.1, 0, 1, 1, 0, 0, 2, opt, 1.0, ts, 2.0, 1.0, tc, text,
           NULL, NULL, NULL, NULL, lc, ls, lw, NULL, NULL, NULL, NULL);
  plend();
  return 0;
}
