#!/usr/bin/env bash
# The bucketed gradient allreduce with and without overlap (nnc build --mpi,
# mpirun -np 2, one thread per rank): per model, bytes each step sums, the
# buckets, the milliseconds each step still waits for the sums after its
# backward pass (the runtime's "allreduce:" line) and s/epoch (history.csv,
# epochs after the first). Overlapped and --no-overlap sum the same buckets,
# so their weights agree bit for bit (checked here too). Each mode runs
# twice, alternating; both figures are given. Table on stdout.
# usage: bench/mpi/overlap.sh [BUILD_DIR] [EPOCHS]     (default: build, 2)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
nnc=$(realpath "${1:-$root/build}")/nnc epochs=${2:-2}
source "$root/bench/mpi/common.sh" # work directory, threads, mpirun, load_line
epoch_mean() { awk -F, 'NR > 2 { s += $NF; n++ } END { printf "%.2f", n ? s / n : 0 }' "$1"; }

echo "| model | bytes/step | buckets | overlapped: ms waited/step | s/epoch | --no-overlap: ms waited/step | s/epoch | weights equal |"
echo "|---|---|---|---|---|---|---|---|"
line() { grep '^allreduce:' "$1.txt"; }
wait_ms() { line "$1" | sed 's/.*; \([0-9.]*\) ms per step.*/\1/'; }
# each mode twice, alternating, so both see the machine's load swings
for spec in "day5:256:" "cnn_fashion:256:--limit-train 6000"; do
  IFS=: read -r name kb extra <<< "$spec"
  "$nnc" build --mpi "$root/models/$name.nn" -o "$name" > /dev/null 2>&1
  for rep in 1 2; do
    for mode in on off; do
      flag=; [ $mode = off ] && flag=--no-overlap
      # shellcheck disable=SC2086
      "${mpirun[@]}" -np 2 "./$name" --out "$name.$mode$rep" --epochs "$epochs" --bucket-kb "$kb" \
        --limit-test 1000 $flag $extra --verbose 2 > "$name.$mode$rep.txt" 2>&1 || true
      line "$name.$mode$rep" > /dev/null || { cat "$name.$mode$rep.txt"; exit 1; }
    done
  done
  bytes=$(line "$name.on1" | awk '{ print $2 }') nb=$(line "$name.on1" | sed 's/.* in \([0-9]*\) bucket.*/\1/')
  same=no
  python3 "$root/tests/e2e/ckpt_compare.py" "$name.on1/last.ckpt" "$name.off1/last.ckpt" \
    --rtol 0 --atol 0 > /dev/null && same=yes
  echo "| $name | $bytes | $nb of ≤ ${kb} KiB | $(wait_ms "$name.on1"), $(wait_ms "$name.on2") |" \
       "$(epoch_mean "$name.on1/history.csv"), $(epoch_mean "$name.on2/history.csv") |" \
       "$(wait_ms "$name.off1"), $(wait_ms "$name.off2") |" \
       "$(epoch_mean "$name.off1/history.csv"), $(epoch_mean "$name.off2/history.csv") | $same |"
done
echo
load_line
