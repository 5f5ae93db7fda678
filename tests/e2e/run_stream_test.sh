#!/usr/bin/env bash
# Streamed image folders (runtime/rt_loader.c wired into training), end to
# end on a small Fashion-MNIST folder written as PNGs by idx_to_folder:
#  - one program trained with --stream off (decoded into memory) and with
#    --stream on (decoded batch by batch by background threads) gives the
#    same history.csv (but the seconds) and bit-identical checkpoints: the
#    epochs' shuffles are the same permutation and the batches the same rows;
#    --loader-threads 3 --loader-depth 2 too (the order never depends on the
#    threads' timing); a 3-layer CNN with dropout, a seeded validation split
#    (streamed too), a last batch that is short;
#  - each run's data: line says which path it took; a small folder is decoded
#    with the default (auto), and directory(stream=true) streams it;
#  - streaming: a truncated PNG dies naming the file; with skip_bad it is
#    left out up front, and the run is again the in-memory one with skip_bad;
#  - streaming a model with Normalization.adapt is refused, saying why.
# usage: run_stream_test.sh NNC IDX_TO_FOLDER
set -euo pipefail
here=$(dirname "$(realpath "$0")")
. "$here/fashion_folders.sh" "$1" "$2" 700 100

# model NAME DIRECTORY-ARGUMENTS [FIRST-LAYER]
model() {
  cat <<NN
model $1(x: ${INPUT:-u8}[28, 28, 1]) {
  h = ${3:-rescaling(x, 1/255)}
  h = conv2d(h, 8, kernel_size=[3, 3], activation=relu)
  h = max_pool2d(h)
  h = dropout(flatten(h), 0.25)
  h = dense(h, 32, activation=relu)
  return dense(h, 10, activation=softmax)
}
data d { directory("train", color_mode=grayscale, test="test"$2); validation split 0.2 seed 7 }
train {
  loss sparse_categorical_crossentropy
  optimizer adam
  epochs 3
  batch_size 48
  seed 5
}
evaluate test { expect accuracy >= 0 }
NN
}
# train NAME OUT [OPTIONS...]: the program NAME run into OUT, its output in OUT.log
train() {
  local name=$1 out=$2
  shift 2
  "./$name" --out "$out" --verbose 2 "$@" >"$out.log" 2>&1
}
# same A B: the two runs' history.csv but the seconds, and their best.ckpt, are identical
same() {
  cut -d, -f1-$(($(head -1 "$1/history.csv" | tr , '\n' | wc -l) - 1)) "$1/history.csv" >a.csv
  cut -d, -f1-$(($(head -1 "$2/history.csv" | tr , '\n' | wc -l) - 1)) "$2/history.csv" >b.csv
  [ "$(wc -l <a.csv)" -ge 4 ] || { cat "$1/history.csv"; fail "$1: no 3 epochs in history.csv"; }
  cmp a.csv b.csv || { paste -d'|' a.csv b.csv; fail "$1 and $2: history.csv differs"; }
  python3 "$here/ckpt_compare.py" "$1/best.ckpt" "$2/best.ckpt" --rtol 0 --atol 0 >cmp.txt ||
    { cat cmp.txt; fail "$1 and $2: the weights differ"; }
}
says() { grep -q "$2" "$1.log" || { cat "$1.log"; fail "$1: no '$2'"; }; }

model net "" >net.nn
"$nnc" build net.nn >build.log 2>&1 || { cat build.log; fail "nnc build"; }
train net memory --stream off || { cat memory.log; fail "--stream off"; }
train net streamed --stream on || { cat streamed.log; fail "--stream on"; }
train net threads --stream on --loader-threads 3 --loader-depth 2 ||
  { cat threads.log; fail "--loader-threads 3"; }
train net auto || { cat auto.log; fail "the default (auto)"; }
says memory "data: image folder train: 560 examples of 28x28x1 uint8, training subset decoded into memory"
says streamed "training subset streamed from disk (0.4 MiB decoded, forced, the budget is [0-9]* MiB; 2 loader threads, 4 batches ahead)"
says threads "training subset streamed from disk (.*; 3 loader threads, 2 batches ahead)"
says auto "training subset decoded into memory"
same memory streamed
same memory threads
same memory auto

# stream=true in the .nn file streams without the option
model forced ", stream=true" >forced.nn
"$nnc" build forced.nn >build.log 2>&1 || { cat build.log; fail "nnc build (stream=true)"; }
train forced forced_on || { cat forced_on.log; fail "stream=true"; }
says forced_on "training subset streamed from disk"
train forced forced_off --stream off || { cat forced_off.log; fail "stream=true, --stream off"; }
says forced_off "training subset decoded into memory"

# a truncated PNG: named when a batch reaches it; left out up front with skip_bad
bad=$(ls train/3/*.png | head -1)
head -c 100 "$bad" >bad.png && mv bad.png "$bad"
if train net broken --stream on; then fail "a truncated PNG was accepted"; fi
says broken "$(basename "$bad")"
model skip ", skip_bad=true" >skip.nn
"$nnc" build skip.nn >build.log 2>&1 || { cat build.log; fail "nnc build (skip_bad)"; }
train skip skip_memory --stream off || { cat skip_memory.log; fail "skip_bad in memory"; }
train skip skip_streamed --stream on || { cat skip_streamed.log; fail "skip_bad streamed"; }
says skip_streamed "skipped 1 bad image"
says skip_streamed "warning: skipping a bad image: .*$(basename "$bad")"
same skip_memory skip_streamed

# Normalization.adapt needs the images in memory
model adapt "" "normalization(x)" >adapt.nn
"$nnc" build adapt.nn >build.log 2>&1 || { cat build.log; fail "nnc build (adapt)"; }
if train adapt adapt_streamed --stream on; then fail "adapt on a streamed folder"; fi
says adapt_streamed "Normalization.adapt needs the training images in memory"

# an f32 input takes the images widened to float: decoded, never streamed
INPUT=f32 model widened ", skip_bad=true" >widened.nn
"$nnc" build widened.nn >build.log 2>&1 || { cat build.log; fail "nnc build (f32 input)"; }
if train widened widened_streamed --stream on; then fail "an f32 input on a streamed folder"; fi
says widened_streamed "a streamed image folder feeds uint8 images, but model input x (28, 28, 1) is f32"
train widened widened_auto || { cat widened_auto.log; fail "f32 input, auto"; }
says widened_auto "examples of 28x28x1 float32, training subset decoded into memory"
echo "ok: streamed and in-memory runs are identical"
