/* common.h — the data every candidate draws: Day 5's history (loss, val_loss). */
#include <stdio.h>
#include <stdlib.h>
enum { MAX_EPOCHS = 256 };
static int read_history(const char *path, double *epoch, double *loss, double *val_loss) {
  FILE *f = fopen(path, "r");
  if (!f) { perror(path); exit(1); }
  char line[1024];
  int n = 0;
  if (!fgets(line, sizeof line, f)) exit(1); /* header: epoch,loss,accuracy,val_loss,... */
  while (n < MAX_EPOCHS && fgets(line, sizeof line, f)) {
    double e, l, a, vl;
    if (sscanf(line, "%lf,%lf,%lf,%lf", &e, &l, &a, &vl) == 4) {
      epoch[n] = e; loss[n] = l; val_loss[n] = vl; n++;
    }
  }
  fclose(f);
  return n;
}
