#!/usr/bin/env bash
# --resume under mpirun with another process count (nnc build --mpi):
#  - -np 2 for 2 epochs, then --resume -np 2 to 4 epochs: bit for bit the
#    uninterrupted -np 2 run of 4 epochs (weights, optimizer slots, history);
#  - -np 2 -> --resume with -np 1, one process -> --resume with -np 2: each
#    continues after epoch 2, finishes, and ends with the uninterrupted
#    one-process run's weights to float rounding; its checkpoint loads.
# usage: run_mpi_resume_test.sh NNC E2E_DIR
set -euo pipefail
nnc=$(realpath "$1") dir=$(realpath "$2")
model=$dir/mpi_mlp.nn compare=$dir/ckpt_compare.py
what="mpi resume"
source "$dir/mpi_env.sh" # a work directory (removed at exit), fail, mpirun, same_history

"$nnc" build -o plain "$model" > build.txt 2>&1 || { cat build.txt; fail "nnc build"; }
"$nnc" build --mpi -o mpi "$model" > build.txt 2>&1 || { cat build.txt; fail "nnc build --mpi"; }
run one ./plain --out one --epochs 4
run np2 "${mpirun[@]}" -np 2 ./mpi --out np2 --epochs 4

# the same N: the resumed run is the uninterrupted one
run r22a "${mpirun[@]}" -np 2 ./mpi --out r22 --epochs 2
run r22b "${mpirun[@]}" -np 2 ./mpi --out r22 --epochs 4 --resume
grep -q "Resuming run .* after epoch 2" r22b.txt || { cat r22b.txt; fail "-np 2 did not resume"; }
python3 "$compare" np2/last.ckpt r22/last.ckpt --rtol 0 --atol 0 ||
  fail "-np 2 resumed with -np 2 is not the uninterrupted -np 2 run bit for bit"
same_history np2/history.csv r22/history.csv 0 || fail "the resumed history.csv differs"

# another N: 2 -> 1 (under mpirun and as the plain program), 1 -> 2
run r21a "${mpirun[@]}" -np 2 ./mpi --out r21 --epochs 2
cp -r r21 r2p
run r21b "${mpirun[@]}" -np 1 ./mpi --out r21 --epochs 4 --resume
run r2pb ./plain --out r2p --epochs 4 --resume
run r12a ./plain --out r12 --epochs 2
run r12b "${mpirun[@]}" -np 2 ./mpi --out r12 --epochs 4 --resume
for r in r21 r2p r12; do
  grep -q "Resuming run .* after epoch 2" "${r}b.txt" || { cat "${r}b.txt"; fail "$r did not resume"; }
  [ "$(tail -n +2 "$r/history.csv" | wc -l)" -eq 4 ] || fail "$r: history.csv has not 4 epochs"
  python3 "$compare" one/best.ckpt "$r/best.ckpt" ||
    fail "$r ended with other weights than the uninterrupted run"
  same_history one/history.csv "$r/history.csv" || fail "$r: history.csv differs"
  "$nnc" export "$model" --ckpt "$r/best.ckpt" -o "$r.exported" > export.txt 2>&1 ||
    { cat export.txt; fail "$r: the checkpoint does not load"; }
done
# the comparison can fail: the run that stopped after epoch 2 is not the one of 4
./plain --out short --epochs 2 --quiet > /dev/null 2>&1
if python3 "$compare" one/best.ckpt short/best.ckpt > /dev/null; then
  fail "2 epochs compare equal to 4: the comparison proves nothing"
fi
echo "PASS (mpi resume): 2 -> 2 bit for bit; 2 -> 1 and 1 -> 2 continue to one process's weights"
