#!/usr/bin/env bash
# The generated program's run-time guards, end to end:
#  - terminate_on_nan: a model whose input scaling overflows (rescaling by
#    1e30: the loss is nan within a few steps) stops in epoch 1 with a
#    message naming the epoch and step, exits 1, evaluates nothing, and
#    leaves the previous run's checkpoint in --out untouched (it is never
#    loaded as this run's result);
#  - an empty validation split (a 25% split of one example) is an error.
# usage: run_guard_test.sh NNC E2E_DIR
set -euo pipefail
nnc=$(realpath "$1") e2e=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
fail() { echo "FAIL: $*" >&2; exit 1; }

# a good run, then the same model with an overflowing input scale
model() {
  cat <<NN
model guard_mlp(x: u8[28, 28]) {
  h = rescaling(flatten(x), $1)
  h = dense(h, 32, activation=relu)
  return dense(h, 10)
}
data fashion_subset { limit train 2000; limit test 500; validation last 500 }
train {
  loss sparse_categorical_crossentropy(from_logits=true)
  optimizer adam(learning_rate=1e-3)
  epochs 2
  batch_size 64
  seed 1
  checkpoint(monitor=val_accuracy, save_best_only=true)
}
NN
}
mkdir good nan
model 1/255 > good/guard_mlp.nn
model 1e30 > nan/guard_mlp.nn
(cd good && "$nnc" build guard_mlp.nn > /dev/null) || fail "nnc build (good)"
(cd nan && "$nnc" build guard_mlp.nn > /dev/null) || fail "nnc build (nan)"
./good/guard_mlp --out D > good.txt 2>&1 || { cat good.txt; fail "the good run failed"; }
cp D/best.ckpt good.ckpt
if ./nan/guard_mlp --out D > nan.txt 2> nan.err; then
  cat nan.txt nan.err; fail "a run whose loss is nan exited 0"
fi
grep -q "epoch 1, step [0-9]*: the loss is .*nan.*terminate_on_nan" nan.err ||
  { cat nan.err; fail "no terminate_on_nan message naming epoch and step"; }
! grep -q "Loaded\|test:" nan.txt || { cat nan.txt; fail "the stopped run reported a result"; }
! grep -q "kept" nan.err || { cat nan.err; fail "the stopped run claims an earlier run's file"; }
cmp -s good.ckpt D/best.ckpt || fail "the stopped run changed the last good checkpoint"
[ ! -e D/best.ckpt.tmp ] || fail "temporary checkpoint left behind"

# validation split 0.25 of one example: nothing to score
"$nnc" build "$e2e/adamw_mlp.nn" > /dev/null || fail "nnc build adamw_mlp"
if ./adamw_mlp --limit-train 1 --out E > empty.txt 2>&1; then
  cat empty.txt; fail "an empty validation split was scored"
fi
grep -q "validation split is empty" empty.txt || { cat empty.txt; fail "no empty-split message"; }
echo PASS
