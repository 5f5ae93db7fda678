#!/usr/bin/env bash
# run_export_test.sh NNC MODEL.nn [PROGRAM-OPTIONS...]
#
# A model trained briefly, then `nnc export`ed; the exported C library is
# built alone (plain loops, -std=c99 -Wall -Wextra -Werror -pedantic; and
# again with -DNNC_INFER_CBLAS against OpenBLAS), and ONNX Runtime (npm
# onnxruntime-node) runs NAME.onnx after ONNX's own checker. All three, and
# the training program itself (--predict test, its CSV's 6 decimals), give
# the probabilities of the first 200 test images, which must agree to 1e-5.
set -euo pipefail
nnc=$1 model=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
name=$(sed -n 's/^model \([A-Za-z0-9_]*\).*/\1/p' "$model" | head -1)
work=$(mktemp -d "${TMPDIR:-/tmp}/nnc_export_XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
data=/usr/share/datasets/fashion-mnist

"$nnc" build "$model" -o prog >/dev/null
OMP_WAIT_POLICY=passive ./prog --out run --quiet --limit-test 200 "$@" >train.log 2>&1 || true
[ -f run/best.ckpt ] || { cat train.log; echo "FAIL: no checkpoint"; exit 1; }
"$nnc" export "$model" --ckpt run/best.ckpt -o lib

cc_flags=(-std=c99 -O2 -Wall -Wextra -Werror -pedantic -Ilib -DMODEL="$name" -include "lib/$name.h")
cc "${cc_flags[@]}" "lib/$name.c" "$here/probs_main.c" -o probs_plain -lm
cc "${cc_flags[@]}" -DNNC_INFER_CBLAS $(pkg-config --cflags openblas) "lib/$name.c" \
  "$here/probs_main.c" -o probs_blas $(pkg-config --libs openblas) -lm
python3 "$here/idx_head.py" "$data/t10k-images-idx3-ubyte.gz" 200 x.bin
./probs_plain x.bin 200 >plain.txt
./probs_blas x.bin 200 >blas.txt

/usr/bin/python3 -c "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)" \
  "lib/$name.onnx"
node "$here/../onnx/run_onnx.js" "lib/$name.onnx" x.bin 200 >onnx.txt

./prog --predict test --out run --limit-test 200 --csv program.csv --quiet >/dev/null
cut -d, -f4- program.csv | tail -n +2 >program.txt

python3 "$here/compare_probs.py" plain.txt onnx.txt 1e-5
python3 "$here/compare_probs.py" blas.txt onnx.txt 1e-5
python3 "$here/compare_probs.py" program.txt onnx.txt 1e-5
echo "PASS: $name exported; C library (plain and OpenBLAS), ONNX Runtime and the training program agree"
