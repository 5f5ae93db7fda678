/* plot_gnuplot.c — Day 5's loss curves drawn by gnuplot (pngcairo), fed through a pipe. */
#include "common.h"
int main(int argc, char **argv) {
  double e[MAX_EPOCHS], l[MAX_EPOCHS], vl[MAX_EPOCHS];
  int n = read_history(argv[1], e, l, vl);
  FILE *g = popen("gnuplot", "w");
  fprintf(g, "set terminal pngcairo size 800,500 font 'DejaVu Sans,11'\nset output '%s'\n", argv[2]);
  fputs("$D << EOD\n", g);
  for (int i = 0; i < n; i++) fprintf(g, "%g %g %g\n", e[i], l[i], vl[i]);
  fputs("EOD\nset title 'Day 5 MLP: loss'\nset xlabel 'epoch'\nset ylabel 'loss'\nset grid\n"
        "set key top right\nplot $D u 1:2 w lp lw 2 pt 7 ps 0.6 t 'train', "
        "$D u 1:3 w lp lw 2 pt 7 ps 0.6 t 'validation'\n", g);
  return pclose(g) == 0 ? 0 : 1;
}
