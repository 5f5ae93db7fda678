#!/usr/bin/env bash
# nnc built with oneDNN (registered only then): a CNN whose second
# convolution runs on oneDNN (pooled_cnn.nn, default build) against the same
# model built with --no-onednn (im2col + OpenBLAS). Both pass the whole-model
# gradient check; trained from the same seed their losses agree to float
# rounding epoch by epoch; and the im2col program evaluates the oneDNN
# program's best.ckpt to the same test loss and accuracy (the checkpoint is
# the same tensors, whichever kernels trained it).
# usage: run_onednn_test.sh NNC MODEL.nn
set -euo pipefail
nnc=$(realpath "$1") model=$(realpath "$2")
name=$(basename "$model" .nn)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL (oneDNN, $name): $*" >&2; exit 1; }
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} # beside other tests (run_e2e.sh says why)

mkdir onednn im2col
(cd onednn && "$nnc" build "$model") || fail "nnc build exited $?"
(cd im2col && "$nnc" build --no-onednn "$model") || fail "nnc build --no-onednn exited $?"
grep -q "rt_conv2d_direct_forward" "onednn/$name.c" || fail "the default build calls no oneDNN kernel"
! grep -q "rt_conv2d_direct" "im2col/$name.c" || fail "--no-onednn still calls oneDNN"

for v in onednn im2col; do
  "./$v/$name" --gradcheck >"$v/gradcheck.txt" || { cat "$v/gradcheck.txt"; fail "$v: gradcheck failed"; }
  "./$v/$name" --out "$v/out" --quiet >"$v/train.txt" 2>&1 ||
    { cat "$v/train.txt"; fail "$v: training exited non-zero"; }
done
cat onednn/gradcheck.txt

# history.csv: epoch,loss,accuracy,val_loss,... : the same to float rounding
paste -d, onednn/out/history.csv im2col/out/history.csv | awk -F, -v half=7 '
  NR > 1 { for (c = 2; c <= 5; c++) { a = $c; b = $(c + half); d = a - b; if (d < 0) d = -d
             if (d > 2e-3 * (1 + (a < 0 ? -a : a))) { printf "epoch %d column %d: %s vs %s\n", NR - 1, c, a, b; bad = 1 } } }
  END { exit bad }' || fail "the two programs trained apart"

# the oneDNN run's checkpoint, evaluated by the im2col program
"./im2col/$name" --evaluate --ckpt onednn/out/best.ckpt --out cross --quiet >cross.txt 2>&1 ||
  { cat cross.txt; fail "--evaluate of the oneDNN checkpoint failed"; }
python3 - onednn/out/metrics.json cross/metrics.json <<'PY' || fail "the checkpoint evaluates differently"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
la, lb, ca, cb = a["test_loss"], b["test_loss"], a["test_accuracy"], b["test_accuracy"]
print("test loss %.6f / %.6f, accuracy %.4f / %.4f" % (la, lb, ca, cb))
assert abs(la - lb) <= 1e-4 * (1 + abs(la)), "test loss"
assert abs(ca - cb) <= 0.002, "test accuracy"
PY
echo "PASS (oneDNN and im2col agree on $name: gradients, training, checkpoint)"
