#!/usr/bin/env bash
# Metrics counted over the examples under mpirun (nnc build --mpi): the
# training epoch and the sharded validation split report, with -np 2, what
# one process reports: accuracy, top-k, AUC, and the macro precision and
# recall (each rank's confusion matrix summed over the ranks), within 1e-4,
# and so does the sharded test split's report
# (the weights agree to float rounding). With rank 0's counts alone the
# validation precision misses half the split and differs by ~1e-2.
# usage: run_mpi_metrics_test.sh NNC E2E_DIR
set -euo pipefail
nnc=$(realpath "$1") dir=$(realpath "$2")
model=$dir/mpi_metrics.nn
what="mpi metrics"
source "$dir/mpi_env.sh" # a work directory (removed at exit), fail, mpirun, same_history

"$nnc" build -o plain "$model" > build.txt 2>&1 || { cat build.txt; fail "nnc build"; }
"$nnc" build --mpi -o mpi "$model" > build.txt 2>&1 || { cat build.txt; fail "nnc build --mpi"; }
./plain --out one > one.txt 2>&1 || { cat one.txt; fail "the single-process run failed"; }
"${mpirun[@]}" -np 2 ./mpi --out np2 > np2.txt 2>&1 || { cat np2.txt; fail "-np 2 failed"; }
head -1 one/history.csv | grep -q "val_precision,val_recall" || fail "no precision columns"
same_history one/history.csv np2/history.csv ||
  { paste -d'\n' one/history.csv np2/history.csv; fail "-np 2's metrics differ from one process's"; }
# the test report (each rank evaluates its share of the split, rank 0 reports
# the sums) agrees too, and is printed once
[ "$(grep -c '^test: ' np2.txt)" = 1 ] || { cat np2.txt; fail "-np 2 printed the test report $(grep -c '^test: ' np2.txt) times"; }
python3 - one/metrics.json np2/metrics.json <<'PY' || fail "metrics.json differs"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def flat(x, key=""):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from flat(v, key + "/" + k)
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        yield key, x
fa, fb = dict(flat(a)), dict(flat(b))
bad = [k for k in fa if "second" not in k and "time" not in k and abs(fa[k] - fb.get(k, 1e9)) > 1e-4]
print("\n".join(f"{k}: {fa[k]} vs {fb.get(k)}" for k in bad))
sys.exit(1 if bad else 0)
PY
# --evaluate under mpirun: the saved checkpoint's sharded test report, once,
# as one process prints it
"${mpirun[@]}" -np 2 ./mpi --evaluate --ckpt np2/best.ckpt --out eval2 > eval2.txt 2>&1 ||
  { cat eval2.txt; fail "--evaluate under mpirun failed"; }
./plain --evaluate --ckpt np2/best.ckpt --out eval1 > eval1.txt 2>&1 ||
  { cat eval1.txt; fail "--evaluate in one process failed"; }
[ "$(grep -c '^test: ' eval2.txt)" = 1 ] || { cat eval2.txt; fail "--evaluate: not one test report"; }
[ "$(grep '^test: ' eval2.txt)" = "$(grep '^test: ' eval1.txt)" ] ||
  { grep '^test: ' eval1.txt eval2.txt; fail "--evaluate under mpirun differs from one process"; }
echo "PASS (mpi metrics): -np 2 reports one process's accuracy, top-k, AUC, precision, recall"
