#!/usr/bin/env bash
# Keras's spellings of the callbacks, end to end: checkpoint("FILE", ...)
# saves to that file in the output directory (and the test report loads it),
# verbose=0 silences a callback's own messages, verbose=1 keeps them.
# usage: run_keras_callbacks_test.sh NNC
set -euo pipefail
nnc=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
fail() { echo "FAIL: $*" >&2; exit 1; }

model() { # $1: checkpoint's verbose
  cat <<NN
model keras_cb(x: u8[28, 28]) {
  h = rescaling(flatten(x), 1/255)
  h = dense(h, 32, activation='relu')
  return dense(h, 10)
}
data fashion_subset { limit train 2000; limit test 300; validation last 500 }
train {
  loss sparse_categorical_crossentropy(from_logits=True)
  optimizer "adam"
  epochs 2
  batch_size 64
  checkpoint("best_fashion.keras", monitor="val_accuracy", save_best_only=True, verbose=$1)
  early_stopping(monitor="val_loss", patience=5, restore_best_weights=True, verbose=0)
}
NN
}
model 0 > keras_cb.nn
"$nnc" build keras_cb.nn > /dev/null 2>&1 || { "$nnc" check keras_cb.nn; fail "nnc build"; }
./keras_cb --out run > quiet.txt 2>&1 || { cat quiet.txt; fail "the run failed"; }
[ -f run/best_fashion.keras ] || fail "no run/best_fashion.keras"
[ ! -e run/best.ckpt ] || fail "best.ckpt written although a file was named"
grep -q "Loaded run/best_fashion.keras" quiet.txt || { cat quiet.txt; fail "the report did not load the named file"; }
! grep -q "checkpoint:" quiet.txt || fail "verbose=0 still printed checkpoint messages"
model 1 > keras_cb.nn
"$nnc" build keras_cb.nn > /dev/null 2>&1
./keras_cb --out run2 > loud.txt 2>&1 || { cat loud.txt; fail "the second run failed"; }
grep -q "checkpoint: val_accuracy improved" loud.txt || { cat loud.txt; fail "verbose=1 printed nothing"; }
echo "PASS: Keras callback spellings"
