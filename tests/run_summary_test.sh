#!/usr/bin/env bash
# nnc summary must give Keras's parameter counts for the seeds' models
# (shared/reference/keras-semantics.md lists them).
# usage: run_summary_test.sh NNC MODELS_DIR
set -euo pipefail
nnc=$1 models=$2
status=0
check() { # model total trainable non-trainable
  local out
  out=$("$nnc" summary "$models/$1.nn")
  for want in "Total params: $2 " "Trainable params: $3 " "Non-trainable params: $4 "; do
    if ! grep -qF " $want" <<< "$out"; then
      echo "FAIL: $1: expected '$want'"
      echo "$out"
      status=1
    fi
  done
}
check day5 235,149 235,146 3
check cnn_fashion 302,026 302,026 0
check cnn_small 31,626 31,626 0
check mnist_mlp 407,050 407,050 0
check cnn_bn_gap 458,122 457,162 960
check mobilenet_v2 2,257,984 2,223,872 34,112  # keras.applications.MobileNetV2(include_top=False)
check vgg16 14,719,818 14,719,818 0
check iris_f32 140 131 9  # keras.Input((4,)), Normalization(axis=-1) adapted, Dense 16, Dense 3
# Keras's VGG16(include_top=False): the rows up to block5_pool, without the head
backbone=$("$nnc" summary "$models/vgg16.nn" | sed -n '/input_layer/,/block5_pool/p' |
  awk '{gsub(",", "", $NF); s += $NF} END {print s}')
if [ "$backbone" != 14714688 ]; then
  echo "FAIL: vgg16: the backbone has $backbone parameters, Keras's VGG16 14714688"
  status=1
fi
[ $status -eq 0 ] && echo "PASS: summaries match Keras"
exit $status
