#!/usr/bin/env bash
# nnc compare, end to end: two small models trained briefly into their run
# directories, then compared: the table's rows (layers, parameters, FLOPs,
# memory, the runs' metrics), the layer diff, compare.html and the overlaid
# curves; and the same two files compared without runs (dashes).
# usage: run_compare_test.sh NNC
set -euo pipefail
nnc=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
fail() { echo "FAIL: $*" >&2; exit 1; }

model() { # $1 name, $2 hidden units, $3 extra layer line
  cat <<NN
model $1(x: u8[28, 28]) {
  h = rescaling(flatten(x), 1/255)
  h = dense(h, $2, activation=relu)
  $3
  return dense(h, 10)
}
data fashion_subset { limit train 1200; limit test 200; validation last 400 }
train {
  loss sparse_categorical_crossentropy(from_logits=true)
  epochs 2
  batch_size 64
}
NN
}
model narrow 16 "" > narrow.nn
model wide 48 "h = dropout(h, 0.2)" > wide.nn

"$nnc" compare narrow.nn wide.nn --out none > none.txt || { cat none.txt; fail "compare without runs"; }
grep -q "^best val_accuracy *- *-$" none.txt || fail "no dashes without runs"

for m in narrow wide; do
  "$nnc" build $m.nn 2> /dev/null || fail "nnc build $m"
  "./$m" --out "runs/$m" > $m.txt || { cat $m.txt; fail "$m run"; }
done
"$nnc" compare narrow.nn wide.nn --out cmp > cmp.txt || { cat cmp.txt; fail "compare exited $?"; }
cat cmp.txt
grep -Eq '^ +narrow +wide$' cmp.txt || fail "no header of model names"
grep -Eq '^parameters +12730 +38170$' cmp.txt || fail "parameters row"
grep -Eq '^FLOPs / example +0.0254 M +0.0762 M$' cmp.txt || fail "FLOPs row"
for row in "layers" "training memory" "best val_accuracy" "best val_loss" "test accuracy" \
  "test loss" "seconds / epoch"; do
  grep -Eq "^$row +[0-9.]+( MB)? +[0-9.]+( MB)?$" cmp.txt || fail "row '$row'"
done
grep -Eq '^epochs run +2 +2$' cmp.txt || fail "epochs run row"
grep -q '~ dense: Dense (B, 16) 12560 params -> Dense (B, 48) 37680 params' cmp.txt ||
  fail "the changed layer"
grep -q '+ dropout (Dropout) (B, 48), 0 params' cmp.txt || fail "the added layer"
[ -s cmp/compare.html ] || fail "no compare.html"
[ -s cmp/compare_curves.png ] || fail "no compare_curves.png"
grep -q 'compare_curves.png' cmp/compare.html || fail "compare.html does not show the curves"
# --runs DIR per file, in the files' order
mv runs/wide other
"$nnc" compare narrow.nn wide.nn --runs runs/narrow other --out cmp2 > cmp2.txt ||
  fail "compare --runs"
grep -Eq '^epochs run +2 +2$' cmp2.txt || fail "--runs did not find the moved run"
echo PASS
