#!/usr/bin/env bash
# End-to-end test: nnc builds MODEL.nn, the generated C compiles warning-free
# with -Wall -Wextra -Werror, its gradient matches finite differences, and it
# trains on a Fashion-MNIST subset, writes history.csv / metrics.json / a
# checkpoint, and passes the .nn file's own expectations.
#
# usage: run_e2e.sh NNC RUNTIME_DIR RUNTIME_LIB MODEL.nn [--no-train | --no-fuse | --no-gradcheck]
# With --no-train only the compile, warning and gradient checks run (used for
# models/day5.nn, whose full training run is command 1 of the README); with
# --no-fuse the model is built without the fusion pass and must still pass;
# --no-gradcheck is for relu + max-pool CNNs, where thousands of units share
# one weight and central differences always straddle some kink (their
# kernels are checked one by one in test_ops / test_conv, and their
# composition by smooth_cnn.nn).
set -euo pipefail
nnc=$(realpath "$1") runtime_dir=$(realpath "$2") runtime_lib=$3 model=$(realpath "$4") mode=${5:-}
name=$(basename "$model" .nn)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

fail() { echo "FAIL ($name): $*" >&2; exit 1; }

# ctest runs these side by side, one per core: two programs whose threads
# spin while they wait would take the cores from each other's working
# threads (the suite ran 4x slower), so waiting threads sleep here.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

build_flags=()
[ "$mode" = --no-fuse ] && build_flags=(--no-fuse)
"$nnc" build "${build_flags[@]}" "$model" || fail "nnc build exited $?"
[ -x "./$name" ] || fail "no executable ./$name"
[ -f "$name.c" ] || fail "no generated $name.c"

# the generated C is a product: warning-free under -Wall -Wextra (the object
# goes to $work, not /dev/null: GNU as deletes its output when it fails, and
# as root that would be /dev/null itself)
cc -O1 -Wall -Wextra -Werror -std=c11 -I"$runtime_dir" -c "$name.c" -o "$work/warnings.o" ||
  fail "generated C has warnings"
if [ "$mode" != --no-fuse ]; then
  grep -q "fused:" "$name.c" || fail "no fusion comment in the generated C"
fi

# autodiff + emitter: the whole model's gradient against central differences
if [ "$mode" != --no-gradcheck ]; then
  "./$name" --gradcheck > gradcheck.txt || { cat gradcheck.txt; fail "gradcheck failed"; }
  grep -q "agree with central differences" gradcheck.txt || fail "gradcheck printed no verdict"
fi

if [ "$mode" = --no-train ]; then
  echo "PASS ($name, no training run)"
  exit 0
fi

# train, checkpoint, evaluate; the .nn file's expectations decide the exit code
"./$name" --out out > train.txt 2>&1 || { cat train.txt; fail "training run exited non-zero"; }
cat train.txt
[ -s out/best.ckpt ] || fail "no checkpoint"
[ ! -e out/best.ckpt.tmp ] || fail "temporary checkpoint left behind"
lines=$(wc -l < out/history.csv)
[ "$lines" -ge 2 ] || fail "history.csv has $lines lines"
header="epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds"
if grep -q "^ *metrics \[.*top_k_accuracy.*auc" "$model"; then
  header="epoch,loss,accuracy,top_k_accuracy,auc,val_loss,val_accuracy,val_top_k_accuracy,val_auc,lr,seconds"
elif grep -q "^ *metrics \[auc\]" "$model"; then
  header="epoch,loss,accuracy,auc,val_loss,val_accuracy,val_auc,lr,seconds"
fi
head -1 out/history.csv | grep -qx "$header" || fail "history.csv header is not $header"
if grep -q "labels binary" "$model"; then
  grep -q '"test_binary_accuracy"' out/metrics.json || fail "metrics.json lacks test_binary_accuracy"
  grep -q '"targets"' out/metrics.json || fail "metrics.json lacks the per-target stats"
else
  grep -q '"test_accuracy"' out/metrics.json || fail "metrics.json lacks test_accuracy"
  grep -q '"confusion_matrix"' out/metrics.json || fail "metrics.json lacks confusion_matrix"
  grep -q '"auc": {"macro"' out/metrics.json || fail "metrics.json lacks the ROC AUC"
fi
grep -q "^Epoch 1/" train.txt || fail "no per-epoch progress line"

# a schedule: MODEL.lr beside the .nn file lists the rate each epoch must end with
if [ -f "${model%.nn}.lr" ]; then
  tail -n +2 out/history.csv | cut -d, -f6 | paste -d' ' - "${model%.nn}.lr" |
    awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-5 * ($2 < 0 ? -$2 : $2) + 1e-12) {
             print "epoch " NR ": lr " $1 ", want " $2; bad = 1 } } END { exit bad }' ||
    fail "the learning rate does not follow the schedule"
  [ "$(tail -n +2 out/history.csv | wc -l)" -eq "$(wc -l < "${model%.nn}.lr")" ] ||
    fail "history.csv and ${name}.lr have different epoch counts"
fi

# checkpoint(save_best_only=false): saved every epoch, so the last epoch is evaluated
if grep -q "save_best_only=false" "$model"; then
  epochs=$(tail -n +2 out/history.csv | wc -l)
  [ "$(grep -c "^  checkpoint: .*saved" train.txt)" -eq "$epochs" ] ||
    fail "save_best_only=false did not save after each of the $epochs epochs"
  grep -q "^Loaded out/best.ckpt (epoch $epochs," train.txt ||
    fail "save_best_only=false: the evaluated checkpoint is not the last epoch's"
fi

# csv_logger("FILE", separator="S"): the same rows as history.csv, its separator
csv=$(sed -n 's/.*csv_logger("\([^"]*\)".*/\1/p' "$model")
if [ -n "$csv" ]; then
  sep=$(sed -n 's/.*csv_logger(.*separator="\(.\)".*/\1/p' "$model")
  [ -f "out/$csv" ] || fail "csv_logger wrote no out/$csv"
  tr "${sep:-,}" , < "out/$csv" | cut -d, -f1-6 > csv_log.csv
  cut -d, -f1-6 out/history.csv | cmp -s - csv_log.csv || fail "out/$csv differs from history.csv"
fi

# reproducible: the same seed and thread count give the same history.csv
# (the seconds column aside), bit for bit
OPENBLAS_NUM_THREADS=1 "./$name" --out again1 --quiet > /dev/null 2>&1 || true
OPENBLAS_NUM_THREADS=1 "./$name" --out again2 --quiet > /dev/null 2>&1 || true
cut -d, -f1-6 again1/history.csv > again1.csv
cut -d, -f1-6 again2/history.csv > again2.csv
cmp -s again1.csv again2.csv || { diff again1.csv again2.csv; fail "two runs with one seed differ"; }
[ "$(wc -l < again1.csv)" -ge 2 ] || fail "no history to compare"
OPENBLAS_NUM_THREADS=1 "./$name" --out other --seed 999 --quiet > /dev/null 2>&1 || true
cut -d, -f1-6 other/history.csv > other.csv
! cmp -s again1.csv other.csv || fail "another seed gave the same history: the check proves nothing"

# a missing data directory is an error that names it, not a crash
if "./$name" --data "$work/no-such-dir" > missing.txt 2>&1; then
  fail "run with a missing data directory succeeded"
fi
grep -q "no-such-dir" missing.txt || { cat missing.txt; fail "error does not name the data"; }

# --help works and lists the overrides
"./$name" --help | grep -q -- "--epochs" || fail "--help does not list --epochs"
: "$runtime_lib"
echo "PASS ($name)"
