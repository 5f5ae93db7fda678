#!/usr/bin/env bash
# Data-parallel training on this machine: mpirun -np 2 with one thread per
# rank against one process with two threads, same model, same global batch
# (so the same arithmetic up to float rounding), and the bytes each step
# sends. Writes a table on stdout (bench/RESULTS.md's "MPI" section).
# usage: bench/mpi/run.sh [BUILD_DIR] [EPOCHS]       (default: build, 3)
# The seconds are each run's history.csv "seconds" column (training plus
# validation, without start-up); the first epoch is left out of the mean.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
nnc=$(realpath "${1:-$root/build}")/nnc epochs=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMP_WAIT_POLICY=passive
# (where a container forbids cross-memory attach, also export
# OMPI_MCA_btl_vader_single_copy_mechanism=none: the shared-memory transport then copies twice)
mpirun=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)

# mean seconds per epoch of history.csv, the first epoch left out
epoch_mean() { awk -F, 'NR > 2 { s += $NF; n++ } END { printf "%.3f", n ? s / n : 0 }' "$1"; }
acc() { sed -n 's/.*"test_accuracy": \([0-9.]*\).*/\1/p' "$1" | head -1; }

echo "| model | params | bytes/step (allreduce) | 1 process, 2 threads: s/epoch | -np 2, 1 thread each: s/epoch | ratio | test acc 1p / np2 |"
echo "|---|---|---|---|---|---|---|"
for spec in "day5:" "cnn_fashion:--limit-train 15000"; do
  name=${spec%%:*} extra=${spec#*:}
  "$nnc" build "$root/models/$name.nn" -o one 2> /dev/null
  "$nnc" build --mpi "$root/models/$name.nn" -o two 2> /dev/null
  params=$(grep -m1 '#define N_PARAMS' "$name.c" | awk '{ print $3 }')
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=2 ./one --out o1 --epochs "$epochs" $extra --quiet > /dev/null 2>&1 || true
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=1 "${mpirun[@]}" -x OMP_NUM_THREADS -x OMP_WAIT_POLICY -np 2 ./two --out o2 \
    --epochs "$epochs" $extra --quiet > /dev/null 2>&1 || true
  a=$(epoch_mean o1/history.csv) b=$(epoch_mean o2/history.csv)
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  echo "| $name | $params | $((4 * params + 8)) | $a | $b | ${ratio}x | $(acc o1/metrics.json) / $(acc o2/metrics.json) |"
done
echo
mpicc -O2 "$root/bench/mpi/allreduce.c" -o allreduce
for n in 235149 302026 14719818; do "${mpirun[@]}" -np 2 ./allreduce "$n"; done
echo
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) on $(nproc) cores; other helpers were running"
