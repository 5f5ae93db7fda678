#!/usr/bin/env bash
# run_use_test.sh NNC IDX_TO_PNG
#
# Using a trained model (issue 11): predict mode on PNG files written here,
# on the test split and its CSV; a checkpoint of another model and an
# unreadable image refused, naming the file; --evaluate repeats the training
# run's test report; trainable=false keeps a conv layer and a batch norm
# (moving statistics too) bit-identical through training, with no optimizer
# slots; `initialize [...] from` copies the values; mismatches are errors.
set -euo pipefail
nnc=$(realpath "$1") idx_to_png=$(realpath "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/nnc_use_XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
data=/usr/share/datasets/fashion-mnist
export OMP_WAIT_POLICY=passive
fail() { echo "FAIL: $*"; exit 1; }

recipe='data fashion_subset { limit train 1500; limit test 300; validation last 300 }
train {
  INIT
  loss sparse_categorical_crossentropy
  optimizer adam(learning_rate=1e-3)
  epochs 2; batch_size 32; seed 1
  checkpoint(monitor=val_accuracy, save_best_only=true)
}'
# model NAME, conv filters, conv/bn arguments, the INIT line
write_model() {
  cat >"$1.nn" <<EOF
model $1(x: u8[28, 28, 1]) {
  h = rescaling(x, 1/255)
  h = conv2d(h, $2, 3, strides=2, activation=relu$3)
  h = batch_norm(h$3)
  h = flatten(h)
  return dense(h, 10, activation=softmax)
}
${recipe/INIT/$4}
EOF
}
write_model use_base 4 "" ""
write_model use_frozen 4 ", trainable=false" 'initialize [conv2d, batch_normalization] from "base/best.ckpt"'
write_model use_wide 8 "" 'initialize [conv2d] from "base/best.ckpt"'
write_model use_typo 4 "" 'initialize [conv9] from "base/best.ckpt"'

# ---- the base model, predict and evaluate ----
"$nnc" build use_base.nn >/dev/null
./use_base --out base >train.log 2>&1 || { cat train.log; fail "training failed"; }
mkdir pngs
"$idx_to_png" "$data/t10k-images-idx3-ubyte.gz" "$data/t10k-labels-idx1-ubyte.gz" 5 pngs
./use_base --predict --out base --csv png.csv pngs/{0..4}.png >predict.txt
[ "$(grep -c '^pngs/[0-4].png: .* 0\.[0-9]*, .* 0\.[0-9]*, .* 0\.[0-9]*$' predict.txt)" -eq 5 ] ||
  { cat predict.txt; fail "predict: not one top-3 line per PNG file"; }
"$nnc" predict use_base.nn --ckpt base/best.ckpt --top 2 pngs/0.png >nnc-predict.txt
grep -q '^pngs/0.png: [^,]* 0\.[0-9]*, [^,]* 0\.[0-9]*$' nnc-predict.txt ||
  { cat nnc-predict.txt; fail "nnc predict"; }
./use_base --predict --out base --top 1 --csv test.csv --limit-test 5 test >test.txt
grep -q '^test\[0\] (true: Ankle boot): ' test.txt || { cat test.txt; fail "predict test: labels"; }
[ "$(head -1 png.csv | tr ',' '\n' | wc -l)" -eq 13 ] || fail "csv: 3 + 10 columns"
[ "$(wc -l <png.csv)" -eq 6 ] || fail "csv: a header and 5 rows"
# the PNG files are the first test images: the same probabilities
diff <(cut -d, -f3- png.csv) <(cut -d, -f3- test.csv) || fail "PNG and IDX probabilities differ"
cut -d, -f2 test.csv | tail -5 | paste -sd' ' | grep -qx 'Ankle boot Pullover Trouser Trouser Shirt' ||
  fail "csv: true labels"
awk -F, 'NR > 1 { s = 0; for (i = 4; i <= NF; i++) s += $i; if (s < 0.999 || s > 1.001) exit 1 }' \
  png.csv || fail "csv: probabilities do not sum to 1"
./use_base --evaluate --out base >eval.log 2>&1 || { cat eval.log; fail "--evaluate failed"; }
diff <(sed -n '/^test:/,/^wrote/p' train.log | grep -v '^wrote') \
     <(sed -n '/^test:/,/^wrote/p' eval.log | grep -v '^wrote') || fail "--evaluate: another report"
cp base/metrics.json train-metrics.json
./use_base --evaluate --out base --quiet >/dev/null
cmp base/metrics.json train-metrics.json || fail "--evaluate: another metrics.json"
echo "ok: predict (PNG, test, csv) and --evaluate"

# ---- refusals, each naming the file ----
"$nnc" build use_wide.nn >/dev/null
if ./use_wide --predict --ckpt base/best.ckpt pngs/0.png 2>err.txt; then fail "wrong model accepted"; fi
grep -q '^error: base/best.ckpt: checkpoint is for a different model' err.txt || { cat err.txt; fail "wrong-model message"; }
echo "not an image" >bad.png
if ./use_base --predict --out base bad.png 2>err.txt; then fail "bad image accepted"; fi
grep -q '^error: bad.png: ' err.txt || { cat err.txt; fail "bad-image message"; }
if ./use_base --evaluate --ckpt missing.ckpt 2>err.txt; then fail "missing checkpoint accepted"; fi
grep -q 'missing.ckpt' err.txt || fail "missing-checkpoint message"
echo "ok: refusals"

# ---- trainable=false and initialize from ----
"$nnc" summary use_frozen.nn >summary.txt
grep -q 'Trainable params: 6,770 ' summary.txt && grep -q 'Non-trainable params: 56 ' summary.txt ||
  { cat summary.txt; fail "summary: trainable counts"; }
"$nnc" build use_frozen.nn >/dev/null
./use_frozen --out frozen >frozen.log 2>&1 || { cat frozen.log; fail "frozen training failed"; }
grep -q '^initialized 6 tensors from base/best.ckpt' frozen.log || { cat frozen.log; fail "initialize"; }
# a tensor's bytes in a checkpoint: its record is u32 name length, name, u64 count, floats
tensor() {
  python3 - "$1" "$2" <<'EOF'
import struct, sys
buf, name = open(sys.argv[1], "rb").read(), sys.argv[2].encode()
at = buf.find(struct.pack("<I", len(name)) + name)
assert at >= 0, "no tensor " + sys.argv[2]
at += 4 + len(name)
n = struct.unpack("<Q", buf[at:at + 8])[0]
print(buf[at + 8:at + 8 + 4 * n].hex())
EOF
}
for t in conv2d.kernel conv2d.bias batch_normalization.gamma batch_normalization.beta \
         batch_normalization.moving_mean batch_normalization.moving_variance; do
  [ "$(tensor base/best.ckpt $t)" = "$(tensor frozen/best.ckpt $t)" ] || fail "$t changed"
done
[ "$(tensor base/best.ckpt dense.kernel)" != "$(tensor frozen/best.ckpt dense.kernel)" ] ||
  fail "dense.kernel did not train"
grep -qa 'adam_m/conv2d' frozen/best.ckpt && fail "optimizer slots for a frozen layer"
grep -qa 'adam_m/dense.kernel' frozen/best.ckpt || fail "no optimizer slots for dense"
grep -q 'frozen: the moving statistics' use_frozen.c || fail "frozen batch norm not in inference mode"
echo "ok: frozen layers bit-identical, no optimizer slots, initialized from the base"

# a frozen batch norm after a trainable conv: the conv's gradient passes
# through the inference-mode rule (checked against finite differences)
sed -e 's/h = batch_norm(h, trainable=false)/h = batch_norm(h, trainable=false)\n  h = conv2d(h, 4, 3, activation=tanh)/' \
    -e 's/conv2d(h, 4, 3, strides=2, activation=relu, trainable=false)/conv2d(h, 4, 3, strides=2, activation=tanh)/' \
    -e 's/^  INIT$//; s/use_frozen/use_fbn/; /^  initialize/d' use_frozen.nn >use_fbn.nn
grep -q 'conv2d(h, 4, 3, strides=2, activation=tanh)$' use_fbn.nn || { cat use_fbn.nn; fail "use_fbn.nn"; }
"$nnc" build use_fbn.nn >/dev/null
./use_fbn --gradcheck >gradcheck.txt 2>&1 || { cat gradcheck.txt; fail "gradcheck through a frozen batch norm"; }
grep -q 'rt_batchnorm_eval_backward_x' use_fbn.c || fail "no inference-mode batch-norm gradient"
echo "ok: gradient through a frozen batch norm"

# ---- mismatches ----
if ./use_wide --out wide >wide.log 2>&1; then fail "a shape mismatch accepted"; fi
grep -q '^error: base/best.ckpt: cannot initialize model .use_wide. from it' wide.log &&
  grep -q '^  conv2d.kernel: 36 values in the file, 72 in the model' wide.log ||
  { cat wide.log; fail "shape-mismatch message"; }
if "$nnc" check use_typo.nn 2>err.txt; then fail "an unknown layer accepted"; fi
grep -q "use_typo.nn:.*error: initialize: the model has no layer 'conv9'" err.txt ||
  { cat err.txt; fail "unknown-layer message"; }
sed 's/h = flatten(h)/h = flatten(h, trainable=false)/' use_base.nn >use_flat.nn
if "$nnc" check use_flat.nn 2>err.txt; then fail "trainable=false on flatten accepted"; fi
grep -q "error: trainable=false on 'flatten', a layer without parameters" err.txt || { cat err.txt; fail "flatten message"; }
echo "PASS: predict, evaluate, trainable=false, initialize from"
