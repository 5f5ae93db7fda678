#!/bin/sh
# Fashion-MNIST as two image folders (train/ and test/, one subfolder per
# class, "0_T-shirt_top" ... "9_Ankle_boot" so that sorted order is label
# order), as image_dataset_from_directory reads them:
#   scripts/make-fashion-folders.sh BUILD_DIR OUT_DIR [N_TRAIN [N_TEST]]
set -eu
build=$1 out=$2 ntrain=${3:-0} ntest=${4:-0}
data=${NNC_FASHION:-/usr/share/datasets/fashion-mnist}
names='T-shirt/top Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag Ankle-boot'
mkdir -p "$out"
# shellcheck disable=SC2086 # one argument per class name
"$build/idx_to_folder" "$data/train-images-idx3-ubyte.gz" "$data/train-labels-idx1-ubyte.gz" \
  "$out/train" "$ntrain" $names
# shellcheck disable=SC2086
"$build/idx_to_folder" "$data/t10k-images-idx3-ubyte.gz" "$data/t10k-labels-idx1-ubyte.gz" \
  "$out/test" "$ntest" $names
echo "wrote $out/train and $out/test"
