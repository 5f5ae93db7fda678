#!/usr/bin/env bash
# The data section's sources, end to end, on files made here:
#  - an image folder (Fashion-MNIST written as PNGs by idx_to_folder) with a
#    seeded validation split and a test folder trains and evaluates, saying
#    it decoded the images into memory;
#  - a truncated PNG dies naming the file; with skip_bad it is counted;
#  - an empty class folder dies naming it; a folder with 3 classes for a
#    10-class model dies naming both counts;
#  - CSV (integer features; a non-number is FILE:LINE), .npy (u8 and whole
#    float32) and CIFAR-10 binary batches train one epoch;
#  - an .npy whose shape is not the model input dies naming both.
# usage: run_sources_test.sh NNC IDX_TO_FOLDER
set -euo pipefail
. "$(dirname "$(realpath "$0")")/fashion_folders.sh" "$1" "$2" 1000 300

# model NAME INPUT DATA-SETTINGS
model() {
  cat <<NN
model $1(x: u8[$2]) {
  h = rescaling(flatten(x), 1/255)
  h = dense(h, 32, activation=relu)
  return dense(h, ${4:-10})
}
data d { $3 }
train {
  loss sparse_categorical_crossentropy(from_logits=true)
  epochs 1
  batch_size 32
  seed 1
}
evaluate test { expect accuracy >= 0 }
NN
}
run() { "$nnc" run "$1.nn" -- --out "out_$1" >"$1.log" 2>&1; }

model folder "28, 28, 1" 'directory("train", color_mode=grayscale, test="test"); validation split 0.2 seed 1337' >folder.nn
run folder || { cat folder.log; fail "image folder"; }
grep -q "data: image folder train: 800 examples of 28x28x1 uint8, training subset decoded into memory" folder.log ||
  { cat folder.log; fail "the folder's line"; }
grep -q "validation: 200 examples" folder.log || fail "Keras's split (200 of 1000)"
grep -q "test: 300 examples" folder.log || fail "the test folder"

# a truncated PNG: an error naming it, or counted with skip_bad
bad=$(ls train/3/*.png | head -1)
head -c 100 "$bad" >bad.png && mv bad.png "$bad"
if run folder; then fail "a truncated PNG was accepted"; fi
grep -q "$(basename "$bad")" folder.log || { cat folder.log; fail "the error names the file"; }
model skip "28, 28, 1" 'directory("train", color_mode=grayscale, test="test", skip_bad=true)' >skip.nn
run skip || { cat skip.log; fail "skip_bad"; }
grep -q "skipped 1 bad image" skip.log || { cat skip.log; fail "the skipped count"; }

# an empty class folder; a 3-class folder for a 10-class model
mkdir -p emptydir/a emptydir/b && cp "$(ls train/1/*.png | head -1)" emptydir/a/
model empty "28, 28, 1" 'directory("emptydir", color_mode=grayscale)' >empty.nn
if run empty; then fail "an empty class folder was accepted"; fi
grep -q "emptydir/b" empty.log || { cat empty.log; fail "the error names the empty class"; }
mkdir -p threedir && cp -r train/0 train/1 train/2 threedir/
model three "28, 28, 1" 'directory("threedir", color_mode=grayscale)' >three.nn
if run three; then fail "3 classes for a 10-class model"; fi
grep -q "3 classes.*10 classes" three.log || { cat three.log; fail "the class counts"; }

# CSV, .npy and CIFAR-10 files, written by Python without numpy
NNC_E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) python3 - <<'PY'
import os, random, struct, sys
sys.path.insert(0, os.environ["NNC_E2E_DIR"])
from make_features import npy
random.seed(1)
def row(label):
    return [label * 20 + random.randint(0, 9) for _ in range(4)]
with open("t.csv", "w") as f:
    f.write("a,b,c,d,species\n")
    for i in range(300):
        f.write(",".join(map(str, row(i % 3))) + ",%s\n" % ["setosa", "versicolor", "virginica"][i % 3])
with open("bad.csv", "w") as f:
    f.write("a,b,c,d,species\n1,2,3,4,setosa\n1,2,x,4,versicolor\n")
n = 200
ys = [i % 10 for i in range(n)]
npy("x.npy", "|u1", (n, 28, 28), bytes((y * 25 + i) % 256 for y in ys for i in range(784)))
npy("xf.npy", "<f4", (n, 28, 28), b"".join(struct.pack("<f", float(y * 25)) * 784 for y in ys))
npy("y.npy", "|u1", (n,), bytes(ys))
npy("x14.npy", "|u1", (n, 14, 56), bytes(784 * n))
import os
os.makedirs("cifardir", exist_ok=True)
for name in ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]:
    with open("cifardir/" + name, "wb") as f:
        for i in range(20):
            f.write(bytes([i % 10]) + bytes([(i % 10) * 25]) * 3072)
PY
model csv "4" 'classes [setosa, versicolor, virginica]; csv("t.csv", label="species", test="t.csv")' 3 >csv.nn
run csv || { cat csv.log; fail "csv"; }
grep -q "data: CSV t.csv: 300 examples" csv.log || { cat csv.log; fail "the CSV line"; }
model csvbad "4" 'classes [setosa, versicolor, virginica]; csv("bad.csv", label="species")' 3 >csvbad.nn
if run csvbad; then fail "a non-number in a CSV was accepted"; fi
grep -q "bad.csv:3" csvbad.log || { cat csvbad.log; fail "the CSV error names file:line"; }
model npy "28, 28" 'npy("x.npy", "y.npy", test_x="x.npy", test_y="y.npy")' >npy.nn
run npy || { cat npy.log; fail "npy"; }
model npyf "28, 28" 'npy("xf.npy", "y.npy", test_x="xf.npy", test_y="y.npy")' >npyf.nn
run npyf || { cat npyf.log; fail "npy float32 (whole numbers)"; }
model npy14 "28, 28" 'npy("x14.npy", "y.npy")' >npy14.nn
if run npy14; then fail "a 14x56 .npy for a 28x28 model"; fi
grep -q "x14.npy" npy14.log || { cat npy14.log; fail "the shape error names the file"; }
model cifar "32, 32, 3" 'cifar10("cifardir")' >cifar.nn
run cifar || { cat cifar.log; fail "cifar10"; }
grep -q "test: 20 examples" cifar.log || { cat cifar.log; fail "the CIFAR-10 test batch"; }
echo "sources: all passed"
