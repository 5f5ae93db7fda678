# The golden files and how each is generated, sourced by
# tests/run_golden_test.sh and scripts/refresh-golden.sh: lines of
# "MODEL GOLDEN [NNC OPTION]". The CNN's file is the im2col + OpenBLAS
# build (--no-onednn), the same on every machine; when this nnc was built
# with oneDNN, the CNN's default C is checked too (cnn_fashion_onednn.c).
# usage: golden_cases NNC
golden_cases() {
  echo "day5 day5"
  echo "cnn_fashion cnn_fashion --no-onednn"
  if "$1" --help | grep -q "built with oneDNN"; then
    echo "cnn_fashion cnn_fashion_onednn"
  fi
}
