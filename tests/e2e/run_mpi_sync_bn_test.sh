#!/usr/bin/env bash
# batch_norm(synchronized=true) (nnc build --mpi), on mpi_sync_bn.nn
# (conv + batch norm twice, a last batch of 1 example):
#  - in one process it is plain batch_norm, bit for bit;
#  - -np 2 with batch B/2 per rank ends with one process's weights, moving
#    statistics and optimizer slots for batch B, to float rounding;
#  - without synchronized=true -np 2 does not (each rank's statistics are
#    its half batch's): the comparison can fail.
# usage: run_mpi_sync_bn_test.sh NNC E2E_DIR
set -euo pipefail
nnc=$(realpath "$1") dir=$(realpath "$2")
model=$dir/mpi_sync_bn.nn compare=$dir/ckpt_compare.py
what="mpi sync batch norm"
source "$dir/mpi_env.sh" # a work directory (removed at exit), fail, mpirun, same_history

sed 's/, synchronized=true//; s/synchronized=true//' "$model" > local.nn
grep -q synchronized local.nn && fail "local.nn still synchronizes"
build() { # NAME [--mpi] FILE
  "$nnc" build "${@:2}" -o "$1" > build.txt 2>&1 || { cat build.txt; fail "nnc build $*"; }
}
build sync "$model"
build local local.nn
build sync_mpi --mpi "$model"
build local_mpi --mpi local.nn
run one ./sync --out one
run one_local ./local --out one_local
python3 "$compare" one/best.ckpt one_local/best.ckpt --rtol 0 --atol 0 ||
  fail "in one process synchronized=true is not batch_norm bit for bit"
run np2 "${mpirun[@]}" -np 2 ./sync_mpi --out np2
python3 "$compare" one/best.ckpt np2/best.ckpt ||
  fail "-np 2 synchronized does not end with one process's weights"
same_history one/history.csv np2/history.csv || fail "-np 2's history.csv differs"
run np2_local "${mpirun[@]}" -np 2 ./local_mpi --out np2_local
if python3 "$compare" one/best.ckpt np2_local/best.ckpt > local.txt; then
  fail "-np 2 without synchronized=true matches too: the comparison proves nothing"
fi
echo "PASS (mpi sync batch norm): -np 2 synchronized = one process, to float rounding"
