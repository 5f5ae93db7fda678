#!/usr/bin/env bash
# stream_train.sh — the background loader in training: models/cnn_fashion.nn's
# CNN reading an image folder (directory(...)), one epoch streamed
# (--stream on: rt_loader.c decodes ahead of the step) against one epoch
# decoded into memory (--stream off), each under /usr/bin/time -v.
#
# Generates N 28x28 grey PNGs (default 200,000; about 100 s and 1 GB of small
# files) with bench_loader, which also measures the loader alone (images/s
# on 1 and 2 threads, no training step), then builds the CNN and trains one
# epoch each way. The folder is deleted at the end (disk is limited).
#
# usage: bench/stream_train.sh BUILD_DIR [N] [EPOCH_LIMIT]
#   EPOCH_LIMIT: --limit-train for the training runs (default 0: all N)
#   environment: PATHS, the runs in order (default "on off"; the machine's
#   load drifts, so swap them to see the order's effect)
# prints: the loader's lines, then one line per training run:
#   "path P images N epoch_s S train_images_per_s R peak_rss_mb M wall_s W"
set -euo pipefail
build=$(realpath "$1") n=${2:-200000} limit=${3:-0}
work=$(mktemp -d "${TMPDIR:-/tmp}/nnc_stream_train.XXXXXX")
trap 'rm -rf "$work"' EXIT
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
cd "$work"

echo "# host: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(uptime)"
DIR="$work/folder" "$build/bench_loader" "$n" 1 2 | sed 's/^/loader: /'

# a small test folder (the program evaluates after training): 20 files a class
for c in folder/*/; do
  mkdir -p "test/$(basename "$c")"
  find "$c" -name '*.png' | sort | sed -n 1,20p | xargs cp -t "test/$(basename "$c")"
done
cat >cnn_stream.nn <<'NN'
# models/cnn_fashion.nn reading an image folder
model cnn_stream(x: u8[28, 28, 1]) {
  h = rescaling(x, 1/255)
  h = conv2d(h, 32, kernel_size=[2, 2], activation=relu, name="Conv_1")
  h = max_pool2d(h)
  h = conv2d(h, 32, kernel_size=[2, 2], activation=relu, name="Conv_2")
  h = max_pool2d(h)
  h = flatten(h)
  h = dense(h, 256, activation=relu)
  return dense(h, 10, activation=softmax)
}
data folder { directory("folder", color_mode=grayscale, test="test") }
train {
  loss sparse_categorical_crossentropy
  optimizer adam
  epochs 1
  batch_size 64
  seed 42
}
NN
"$build/nnc" build cnn_stream.nn >build.log 2>&1 || { cat build.log; exit 1; }
for path in ${PATHS:-on off}; do
  /usr/bin/time -v ./cnn_stream --stream $path --limit-train "$limit" --verbose 2 \
    --out "out_$path" >"run_$path.log" 2>"time_$path.log" ||
    { cat "run_$path.log" "time_$path.log"; exit 1; }
  grep "^data:" "run_$path.log" | sed "s/^/$path: /"
  rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "time_$path.log")
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "time_$path.log")
  seconds=$(tail -1 "out_$path/history.csv" | awk -F, '{print $NF}')
  images=$(sed -n 's/^train: \([0-9]*\) examples.*/\1/p' "run_$path.log")
  echo "path $path images $images epoch_s $seconds train_images_per_s" \
    "$(awk -v n="$images" -v s="$seconds" 'BEGIN{printf "%.0f", n / s}')" \
    "peak_rss_mb $(awk -v k="$rss_kb" 'BEGIN{printf "%.1f", k / 1024}') wall $wall"
  grep "^Epoch" "run_$path.log" | sed "s/^/$path: /"
done
echo "# $(uptime)"
