#!/usr/bin/env bash
# Builds and runs every example as examples/README.md says, on a model
# trained briefly here: examples/classify classifies PNG files written from
# the test split (the model's own 28x28 size) and must get most of them
# right; a file that is not a PNG is named in an error.
# usage: run_examples_test.sh NNC IDX_TO_PNG
set -euo pipefail
nnc=$(realpath "$1") idx_to_png=$(realpath "$2")
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/nnc_examples_XXXXXX")
trap 'rm -rf "$work"' EXIT
data=/usr/share/datasets/fashion-mnist
fail() { echo "FAIL: $*" >&2; exit 1; }

cd "$work"
cp -r "$root/examples/classify" classify
"$nnc" build "$root/models/day5.nn" -o day5 > /dev/null
OMP_WAIT_POLICY=passive ./day5 --epochs 3 --limit-train 20000 --limit-test 500 --out run --quiet \
  > train.log 2>&1 || true
[ -f run/best.ckpt ] || { cat train.log; fail "no checkpoint"; }
"$nnc" export "$root/models/day5.nn" --ckpt run/best.ckpt -o classify
make -C classify MODEL=fashion_mlp > make.log 2>&1 || { cat make.log; fail "make classify"; }

mkdir pngs
"$idx_to_png" "$data/t10k-images-idx3-ubyte.gz" "$data/t10k-labels-idx1-ubyte.gz" 50 pngs
./classify/classify pngs/{0..49}.png > answers.txt || fail "classify failed"
[ "$(wc -l < answers.txt)" -eq 50 ] || fail "not one line per image"
names=("T-shirt/top" Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag "Ankle boot")
right=0
for i in $(seq 0 49); do
  label=$(sed -n "$((i + 1))p" pngs/labels.txt)
  top=$(sed -n "$((i + 1))p" answers.txt | sed 's/^[^:]*: \([^,]*\) [0-9.]*,.*/\1/')
  [ "$top" = "${names[$label]}" ] && right=$((right + 1))
done
echo "classify: $right of 50 test images right"
head -3 answers.txt
[ "$right" -ge 30 ] || fail "only $right of 50 right" # chance is 5
# a file that is not a PNG: a message naming it, exit non-zero, the others still classified
echo "not a png" > pngs/bad.png
if ./classify/classify pngs/0.png pngs/bad.png > mixed.txt 2> mixed.err; then fail "bad PNG accepted"; fi
grep -q "pngs/bad.png" mixed.err || fail "the error does not name the file"
[ "$(wc -l < mixed.txt)" -eq 1 ] || fail "the good image was not classified"
echo "PASS: examples"
