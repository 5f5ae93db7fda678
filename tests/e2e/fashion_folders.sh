# Sourced by the e2e tests on image folders: usage
#   . fashion_folders.sh NNC IDX_TO_FOLDER N_TRAIN N_TEST
# sets nnc and fail, moves into a fresh directory (removed on exit) and
# writes the first N_TRAIN Fashion-MNIST training images into train/ and the
# first N_TEST test images into test/, one PNG folder per class.
set -euo pipefail
nnc=$(realpath "$1") to_folder=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
fail() { echo "FAIL: $*" >&2; exit 1; }
data=/usr/share/datasets/fashion-mnist
"$to_folder" $data/train-images-idx3-ubyte.gz $data/train-labels-idx1-ubyte.gz train "$3"
"$to_folder" $data/t10k-images-idx3-ubyte.gz $data/t10k-labels-idx1-ubyte.gz test "$4"
