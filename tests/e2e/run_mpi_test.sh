#!/usr/bin/env bash
# Data-parallel training (nnc build --mpi) under mpirun on this machine:
#  - without --mpi the program has no MPI in it; --mpi adds one line to the C;
#  - mpirun -np 1 is the single-process run bit for bit;
#  - -np 2 with the same global batch ends with the same weights as one
#    process, to float rounding (tests/e2e/ckpt_compare.py, tensor by tensor),
#    the same history.csv, and only rank 0 speaks;
#  - the gradients' bucketed allreduce gives the same weights bit for bit
#    with one bucket or two (a layer each), overlapped with backward or after it;
#  - a batch that does not divide among the ranks is an error naming both;
#  - a rank that stops with an error ends the job with a message naming it;
#  - a rank killed mid-run ends the job with mpirun naming the rank, and the
#    last checkpoint is whole and loads (nnc export reads it), and
#    --resume under mpirun -np 1 continues the job from its last.ckpt.
# usage: run_mpi_test.sh NNC RUNTIME_DIR E2E_DIR
set -euo pipefail
nnc=$(realpath "$1") runtime_dir=$(realpath "$2") dir=$(realpath "$3")
model=$dir/mpi_mlp.nn compare=$dir/ckpt_compare.py

what="mpi"
source "$dir/mpi_env.sh" # a work directory (removed at exit), fail, mpirun, same_history

# ---- the builds ----
"$nnc" build --emit-c plain.c -o plain "$model" || fail "nnc build exited $?"
"$nnc" build --mpi --emit-c mpi.c -o mpi "$model" || fail "nnc build --mpi exited $?"
ldd ./plain > plain.ldd && ldd ./mpi > mpi.ldd
if grep -q libmpi plain.ldd; then fail "the program built without --mpi links libmpi"; fi
grep -q libmpi mpi.ldd || fail "the --mpi program does not link libmpi"
diff plain.c mpi.c > c.diff && fail "--mpi changed nothing in the generated C"
[ "$(grep -c '^[<>]' c.diff)" -eq 1 ] && grep -q '^> .*\.distributed = rt_mpi_init' c.diff ||
  { cat c.diff; fail "--mpi should add exactly the .distributed line"; }
cc -O1 -Wall -Wextra -Werror -std=c11 -I"$runtime_dir" -c mpi.c -o mpi.o ||
  fail "the --mpi C has warnings"

# ---- the same training, 1 process, -np 1, -np 2 ----
./plain --out one > one.txt 2>&1 || { cat one.txt; fail "the single-process run failed"; }
"${mpirun[@]}" -np 1 ./mpi --out np1 > np1.txt 2>&1 || { cat np1.txt; fail "mpirun -np 1 failed"; }
# every tensor bit for bit (the files differ in their run ids)
python3 "$compare" one/best.ckpt np1/best.ckpt --rtol 0 --atol 0 ||
  fail "mpirun -np 1 is not the single-process run bit for bit"
"${mpirun[@]}" -np 2 ./mpi --out np2 > np2.txt 2>&1 || { cat np2.txt; fail "mpirun -np 2 failed"; }
cat np2.txt
python3 "$compare" one/best.ckpt np2/best.ckpt ||
  fail "-np 2 ended with other weights than one process with the same global batch"
./plain --out other --seed 6 --quiet > /dev/null 2>&1 || true
if python3 "$compare" one/best.ckpt other/best.ckpt > /dev/null; then
  fail "another seed compares equal: the comparison proves nothing"
fi
# history.csv: every column but the seconds, to the 4th decimal
same_history one/history.csv np2/history.csv || fail "-np 2's history.csv differs from one process's"
[ "$(grep -c '^Epoch 1/' np2.txt)" -eq 1 ] || fail "more than rank 0 printed the epoch log"
[ -s np2/metrics.json ] || fail "-np 2 wrote no metrics.json"
grep -q "expect accuracy" np2.txt || fail "-np 2 did not evaluate the test split"

# ---- the bucketed allreduce: any bucket size, overlapped or not, the same sums ----
grep -q "^allreduce: 101812 bytes of gradients per step in 1 bucket (overlapped" np2.txt ||
  fail "-np 2 did not report its one default bucket"
"${mpirun[@]}" -np 2 ./mpi --out b1 --bucket-kb 1 > b1.txt 2>&1 || { cat b1.txt; fail "--bucket-kb 1"; }
grep -q "in 2 buckets (overlapped with backward)" b1.txt || { cat b1.txt; fail "not 2 buckets"; }
"${mpirun[@]}" -np 2 ./mpi --out b1n --bucket-kb 1 --no-overlap > b1n.txt 2>&1 ||
  { cat b1n.txt; fail "--no-overlap"; }
grep -q "in 2 buckets (after backward)" b1n.txt || { cat b1n.txt; fail "--no-overlap overlapped"; }
for run in b1 b1n; do
  python3 "$compare" np2/best.ckpt "$run/best.ckpt" --rtol 0 --atol 0 > "$run.cmp" ||
    { cat "$run.cmp"; fail "$run: other weights than one bucket's, bit for bit"; }
done

# ---- a batch that does not divide ----
if "${mpirun[@]}" -np 3 ./mpi --out np3 > np3.txt 2>&1; then fail "-np 3 with batch 64 ran"; fi
grep -q "batch size 64 does not divide among the 3 processes" np3.txt ||
  { cat np3.txt; fail "no message naming the batch size and the process count"; }

# ---- a rank that stops with an error ends the job, naming itself ----
if "${mpirun[@]}" -np 2 ./mpi --out nodata --data "$work/no-such-dir" > nodata.txt 2>&1; then
  fail "-np 2 without data exited 0"
fi
grep -q "error: rank [01] of 2 stopped before the end of the run" nodata.txt ||
  { cat nodata.txt; fail "no message naming the rank that stopped"; }

# ---- a rank killed mid-run ----
"${mpirun[@]}" -np 2 ./mpi --out killed --epochs 100000 > killed.txt 2>&1 &
job=$!
for _ in $(seq 1 6000); do [ -s killed/last.ckpt ] && break; sleep 0.1; done
[ -s killed/last.ckpt ] || { kill "$job"; fail "no checkpoint after 600 s"; }
victim=
for pid in $(pgrep -f "$work/mpi|\./mpi --out killed"); do
  tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 && victim=$pid
done
[ -n "$victim" ] || { kill "$job"; fail "rank 1 not found"; }
kill -9 "$victim"
if wait "$job"; then fail "mpirun exited 0 after rank 1 was killed"; fi
grep -q "process rank 1 .*exited on signal 9" killed.txt ||
  { cat killed.txt; fail "the job's end does not name rank 1"; }
python3 "$compare" --check killed/best.ckpt || fail "the last checkpoint is damaged"
[ ! -e killed/best.ckpt.tmp ] || echo "note: a save was cut short; best.ckpt is the one before"
"$nnc" export "$model" --ckpt killed/best.ckpt -o exported > export.txt 2>&1 ||
  { cat export.txt; fail "the last checkpoint does not load"; }
# ... and the job resumes from its last.ckpt with one process, one epoch further
epochs=$(($(tail -n +2 killed/history.csv | wc -l) + 1))
"${mpirun[@]}" -np 1 ./mpi --out killed --resume --epochs "$epochs" > resumed.txt 2>&1 ||
  { cat resumed.txt; fail "-np 1 --resume after the kill failed"; }
grep -q "Resuming run .* after epoch" resumed.txt || { cat resumed.txt; fail "it did not resume"; }
[ "$(tail -n +2 killed/history.csv | wc -l)" -eq "$epochs" ] ||
  fail "the resumed run did not end at epoch $epochs"
echo "PASS (mpi): -np 2 = one process to float rounding; a killed rank ends the job, -np 1 resumes it"
