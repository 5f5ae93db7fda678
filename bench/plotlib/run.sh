#!/usr/bin/env bash
# Draws Day 5's loss curves with each candidate library, 20 times each, and
# prints the mean wall time per plot. Usage: bench/plotlib/run.sh HISTORY.csv OUTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
hist=$1 out=$2
mkdir -p "$out"
cc -O2 -o "$out/plot_plplot" "$here/plot_plplot.c" $(pkg-config --cflags --libs plplot)
cc -O2 -o "$out/plot_cairo" "$here/plot_cairo.c" $(pkg-config --cflags --libs cairo) -lm
cc -O2 -o "$out/plot_gnuplot" "$here/plot_gnuplot.c"
for lib in plplot cairo gnuplot; do
  start=$(date +%s.%N)
  for i in $(seq 20); do "$out/plot_$lib" "$hist" "$out/$lib.png"; done
  end=$(date +%s.%N)
  printf "%-8s %6.1f ms per plot  %s\n" "$lib" "$(echo "($end - $start) * 50" | bc -l)" "$(stat -c %s "$out/$lib.png") bytes"
done
