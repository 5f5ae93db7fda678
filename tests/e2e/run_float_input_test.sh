#!/usr/bin/env bash
# f32[...] model inputs, end to end, on real-valued data made here
# (make_features.py, seeded):
#  - an iris-style CSV (4 measurements, 3 species) trains models/iris_f32.nn
#    to its expectation (test accuracy >= 0.9), read as float32;
#  - a float32 .npy (2 classes, values far from whole numbers) trains an
#    f32[2, 3] model to test accuracy >= 0.9; a uint8 .npy for an f32 input
#    is widened (Keras's cast) and trains;
#  - float data for a u8 input dies before training, naming the file, the
#    value, "float32 data" and the input's type (CSV and .npy);
#  - --predict test classifies the CSV test split; an image file for an f32
#    model is refused by name;
#  - nnc export: the C library (float API, -Werror -pedantic) and ONNX
#    Runtime (FLOAT input) give the training program's --predict
#    probabilities to 1e-5.
# usage: run_float_input_test.sh NNC
set -euo pipefail
nnc=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd) root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
fail() { echo "FAIL: $*" >&2; exit 1; }
python3 "$here/make_features.py" data/iris
ln -s data/iris feats

# the iris-style CSV, as the example model reads it
"$nnc" build "$root/models/iris_f32.nn" -o iris >/dev/null
./iris --out out_iris >iris.log 2>&1 || { cat iris.log; fail "iris_f32.nn"; }
grep -q "data: CSV data/iris/iris_train.csv: 300 examples of 1x4x1 float32" iris.log ||
  { cat iris.log; fail "the CSV read as float32"; }
grep -q "expect accuracy >= 0.9 .* ok" iris.log || { cat iris.log; fail "iris accuracy"; }
grep "expect accuracy" iris.log

# model NAME INPUT DATA-SETTINGS [EPOCHS]: 2 classes
model() {
  cat <<NN
model $1(x: $2) {
  h = dense(flatten(x), 16, activation=relu)
  return dense(h, 2, activation=softmax)
}
data d { classes [neg, pos]; $3 }
train {
  optimizer adam(learning_rate=1e-2)
  epochs ${4:-20}
  batch_size 32
  seed 1
}
evaluate test { expect accuracy >= 0.9 }
NN
}
run() { "$nnc" run "$1.nn" -- --out "out_$1" >"$1.log" 2>&1; }

blobs='npy("feats/blobs_x.npy", "feats/blobs_y.npy", test_x="feats/blobs_test_x.npy", test_y="feats/blobs_test_y.npy")'
model blobs "f32[2, 3]" "$blobs" >blobs.nn
run blobs || { cat blobs.log; fail "float32 .npy into f32[2, 3]"; }
grep -q "data: NumPy feats/blobs_x.npy: 400 examples of 2x3x1 float32" blobs.log ||
  { cat blobs.log; fail "the .npy read as float32"; }
grep "expect accuracy" blobs.log

model widened "f32[6]" 'npy("feats/pixels_x.npy", "feats/blobs_y.npy", test_x="feats/pixels_x.npy", test_y="feats/blobs_y.npy")' 1 >widened.nn
sed -i 's/^evaluate.*/evaluate test { expect accuracy >= 0 }/' widened.nn
run widened || { cat widened.log; fail "uint8 .npy into f32[6]"; }
grep -q "data: NumPy feats/pixels_x.npy: 400 examples of .* float32" widened.log ||
  { cat widened.log; fail "uint8 widened to float32"; }

# float data for a u8 input: an error naming the file and both types, before training
model blobs_u8 "u8[2, 3]" "$blobs" >blobs_u8.nn
if run blobs_u8; then fail "float32 .npy with fractions was accepted by a u8 input"; fi
grep -q "error: feats/blobs_x.npy: example 0 has the value .* (float32 data), but model input x (2, 3) is u8" \
  blobs_u8.log || { cat blobs_u8.log; fail "the .npy mismatch message"; }
! grep -q "^Epoch" blobs_u8.log || fail "the mismatch was found after training began"
sed 's/f32\[4\]/u8[4]/' "$root/models/iris_f32.nn" >iris_u8.nn
if run iris_u8; then fail "a CSV of measurements was accepted by a u8 input"; fi
grep -q "error: data/iris/iris_train.csv: example 0 has the value 5.58 (float32 data), but model input x (4) is u8" \
  iris_u8.log || { cat iris_u8.log; fail "the CSV mismatch message"; }

# predict: the test split, and no images for an f32 model
./iris --predict test --out out_iris --csv predict.csv --quiet >predict.log
[ "$(wc -l <predict.csv)" = 151 ] || fail "predict.csv has $(wc -l <predict.csv) lines"
if ./iris --predict some.png --out out_iris >png.log 2>&1; then fail "an image for an f32 model"; fi
grep -q "some.png: model input x (4) is f32" png.log || { cat png.log; fail "the image refusal"; }

# export: C library and ONNX Runtime against the training program's predictions
"$nnc" export "$root/models/iris_f32.nn" --ckpt out_iris/best.ckpt -o lib >/dev/null
! grep -q predict_u8 lib/iris.h || fail "an f32 model's header declares predict_u8"
cc -std=c99 -O2 -Wall -Wextra -Werror -pedantic -Ilib -DMODEL=iris -DFLOAT_INPUT \
  -include lib/iris.h lib/iris.c "$root/tests/export/probs_main.c" -o probs -lm
python3 - <<'PY'
import csv, struct
with open("data/iris/iris_test.csv") as f, open("x.bin", "wb") as out:
    for row in csv.DictReader(f):
        out.write(struct.pack("<4f", *(float(row[k]) for k in list(row)[:4])))
PY
./probs x.bin 150 >c.txt
cut -d, -f4- predict.csv | tail -n +2 >program.txt
/usr/bin/python3 -c "import onnx, sys; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); \
assert m.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT, 'input not FLOAT'" lib/iris.onnx
node "$root/tests/onnx/run_onnx.js" lib/iris.onnx x.bin 150 >onnx.txt
python3 "$root/tests/export/compare_probs.py" program.txt c.txt 1e-5
python3 "$root/tests/export/compare_probs.py" program.txt onnx.txt 1e-5
echo "float inputs: all passed"
