#!/usr/bin/env bash
# VGG16 (models/vgg16.nn: Keras's VGG16 backbone at 224x224x3 plus a small
# head) at batch 32 builds, allocates its 2.24 GB plan and trains one step on
# 32 generated 224x224x3 images, then evaluates 32 more: the plan, the heap
# blocks and the kernels at a size the other tests never reach. One step is
# about 1.5 TFLOP (a few minutes on 2 cores), so the test runs alone.
# usage: run_vgg16_test.sh NNC MAKE_IDX MODELS_DIR
set -euo pipefail
nnc=$(realpath "$1") make_idx=$(realpath "$2") models=$(realpath "$3")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL (vgg16): $*" >&2; exit 1; }

"$nnc" build "$models/vgg16.nn" || fail "nnc build exited $?"
if grep -q "rt_conv2d_direct_forward" vgg16.c; then # built with oneDNN: no columns
  ! grep -q "rt_im2col(\|rt_conv2d_forward(" vgg16.c || fail "a oneDNN build still makes im2col columns"
else
  grep -q "block1_conv2_cols_recomputed" vgg16.c || fail "the large im2col is not recomputed"
fi
mkdir idx
"$make_idx" idx train 32 224 224 3 10 42
"$make_idx" idx t10k 32 224 224 3 10 7
./vgg16 --data idx --out out --epochs 1 > run.txt 2>&1 || { cat run.txt; fail "the run exited $?"; }
cat run.txt
[ "$(wc -l < out/history.csv)" = 2 ] || fail "history.csv should hold one epoch"
loss=$(awk -F, 'NR == 2 {print $2}' out/history.csv)
awk -v l="$loss" 'BEGIN {exit !(l > 0 && l < 100)}' || fail "loss $loss is not a finite positive number"
grep -q "^test: 32 examples" run.txt || fail "no test evaluation"
echo "PASS (vgg16: one step at batch 32, loss $loss)"
