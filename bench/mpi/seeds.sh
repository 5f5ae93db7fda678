#!/usr/bin/env bash
# Day 5 (models/day5.nn, its full recipe: up to 40 epochs, early stopping
# on val_loss with restore-best) trained by one process and by mpirun -np 2
# with the same global batch, over the same seeds: test accuracy, epochs
# run and the restored epoch per seed, then the mean and spread. Writes a
# table on stdout (bench/RESULTS.md). One thread per process: a
# measurement of what the runs reach, not of speed.
# usage: bench/mpi/seeds.sh [BUILD_DIR] [SEED...]     (default: build, 1 2 3)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
nnc=$(realpath "${1:-$root/build}")/nnc
[ $# -gt 0 ] && shift
seeds=(1 2 3)
[ $# -gt 0 ] && seeds=("$@")
source "$root/bench/mpi/common.sh" # work directory, threads, mpirun, load_line
"$nnc" build "$root/models/day5.nn" -o one > /dev/null 2>&1
"$nnc" build --mpi "$root/models/day5.nn" -o two > /dev/null 2>&1

json() { sed -n "s/.*\"$2\": \\([0-9.]*\\).*/\\1/p" "$1" | head -1; }
row() { # DIR: test accuracy, epochs run, restored epoch
  echo "$(json "$1/metrics.json" test_accuracy) $(($(wc -l < "$1/history.csv") - 1)) $(json "$1/metrics.json" best_epoch)"
}
echo "| seed | 1 process: test acc | epochs (weights of) | -np 2: test acc | epochs (weights of) |"
echo "|---|---|---|---|---|"
for s in "${seeds[@]}"; do
  ./one --out "one$s" --seed "$s" --quiet > "one$s.txt" 2>&1 || true
  "${mpirun[@]}" -np 2 ./two --out "two$s" --seed "$s" --quiet > "two$s.txt" 2>&1 || true
  read -r a ea ba < <(row "one$s") || true
  read -r b eb bb < <(row "two$s") || true
  echo "| $s | $a | $ea ($ba) | $b | $eb ($bb) |"
  echo "$a $b" >> acc.txt
done
awk '{ a[NR] = $1; b[NR] = $2; sa += $1; sb += $2 }
     END { ma = sa / NR; mb = sb / NR
           for (i = 1; i <= NR; i++) { va += (a[i] - ma)^2; vb += (b[i] - mb)^2 }
           d = NR > 1 ? NR - 1 : 1
           printf "| mean ± sd | %.4f ± %.4f | | %.4f ± %.4f | |\n", ma, sqrt(va / d), mb, sqrt(vb / d) }' acc.txt
echo
load_line
