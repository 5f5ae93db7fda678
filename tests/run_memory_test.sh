#!/usr/bin/env bash
# The memory plan, checked from outside:
#  - `nnc summary` prints the planned training memory, block by block, and
#    the blocks add up to the total;
#  - VGG16 at batch 32 plans under 2.5 GB (12.2 GB of activations alone
#    before large im2col columns were recomputed in backward, 4.78 GB before
#    they were made a few examples at a time; PyTorch's step peaks at 2.9 GB),
#    and its generated C runs those convolutions chunk by chunk;
#  - 416 M parameters build and link (static arrays failed at link time with
#    "relocation truncated to fit"), and a process without the memory stops
#    with a message naming the block, not a signal;
#  - a plan beyond --max-memory, or beyond what any process can address, is
#    a located error at the model, and so is a tensor with more rows than
#    the kernels' int can index;
#  - float constants are emitted in their shortest round-trip form;
#  - --emit-c into a FIFO or device writes through it, not over it.
# usage: run_memory_test.sh NNC MODELS_DIR TESTS_DIR
set -euo pipefail
nnc=$(realpath "$1") models=$(realpath "$2") tests=$(realpath "$3")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

# the summary's memory rows, as bytes without commas: "parameters 940596"
memory_rows() {
  "$nnc" summary "$@" | sed -n '/Training memory/,$p' |
    sed -n 's/^   \(.*[a-z]\) *\([0-9,]*\) bytes.*/\1 \2/p' | tr -d ,
}
row() { awk -v k="$2" '$0 ~ "^"k" [0-9]+$" {print $NF}' <<< "$1"; }

rows=$(memory_rows "$models/day5.nn")
echo "$rows"
for k in parameters gradients "optimizer state" activations batch total; do
  [ -n "$(row "$rows" "$k")" ] || fail "day5: no '$k' row in the summary's training memory"
done
# day5: 235,149 floats; Adam: two blocks; restore_best_weights: one more
[ "$(row "$rows" parameters)" = 940596 ] || fail "day5: parameters should be 940,596 bytes"
[ "$(row "$rows" "optimizer state")" = 1881192 ] || fail "day5: Adam state should be 2 x params"
sum=$(awk '$1 != "total" {s += $NF} END {print s}' <<< "$rows")
[ "$sum" = "$(row "$rows" total)" ] || fail "day5: the rows add up to $sum, not the total"

# VGG16 through im2col (--no-onednn): the columns' chunking and recomputing
rows=$(memory_rows "$models/vgg16.nn" --no-onednn)
echo "$rows"
total=$(row "$rows" total)
[ "$total" -lt 2500000000 ] || fail "vgg16 at batch 32 plans $total bytes (>= 2.5 GB)"
# with oneDNN (when this nnc has it) the convolutions need no columns at all
if "$nnc" --help | grep -q "built with oneDNN"; then
  direct=$(row "$(memory_rows "$models/vgg16.nn")" total)
  echo "vgg16 with oneDNN: total $direct"
  [ "$direct" -lt "$total" ] || fail "vgg16 plans $direct bytes with oneDNN, not less than $total"
fi
# and its arena is within 1% of the smallest any placement can make: the most
# bytes live at once (greedy placement leaves 9 MB of holes in 2.0 GB)
"$nnc" build "$models/vgg16.nn" --no-onednn --emit-only --emit-c vgg16.c
sed -n 's/^ \*   activations *\([0-9]*\) (one arena for a batch of 32; \([0-9]*\) live at most,$/\1 \2/p' \
  vgg16.c > arena.txt
read -r arena live < arena.txt || fail "vgg16.c: no activations line in the banner"
[ "$arena" -le $((live + live / 100)) ] ||
  fail "vgg16: arena $arena bytes, more than 1% over the $live live at once"
grep -q "rt_conv2d_forward(block1_conv2_out, block1_conv1_out, .* m, 1, " vgg16.c ||
  fail "vgg16: block1_conv2 does not run an image at a time"
grep -q "rt_conv2d_backward_x(d_block1_conv1_out, " vgg16.c ||
  fail "vgg16: block1_conv2's input gradient is not made chunk by chunk"

# 416 M parameters: 6.7 GB planned; it builds, links and runs out of memory in words
"$nnc" build "$tests/memory/params_416m.nn" -o big 2> build.err || { cat build.err; fail "416M: nnc build"; }
grep -q "relocation" build.err && fail "416M: relocation errors"
[ -f params_416m.c ] || fail "416M: no generated C"
grep -q "static float params\[" params_416m.c && fail "416M: static parameter array"
set +e
(ulimit -v 1000000; ./big --epochs 1 > run.out 2>&1)
rc=$?
set -e
cat run.out
[ "$rc" = 1 ] || fail "416M under ulimit -v: exit status $rc, expected 1 (a message, not a signal)"
grep -q "cannot allocate the parameters block: 1664880040 bytes" run.out ||
  fail "416M: no message naming the block and its size"

# limits: --max-memory, and the address space
if "$nnc" check "$tests/memory/params_416m.nn" --max-memory 4G 2> limit.err; then
  fail "416M passed --max-memory 4G"
fi
cat limit.err
grep -q "params_416m.nn:6:7: error: training this model needs 6.21 GiB" limit.err ||
  fail "416M: no located error with the figure"
grep -q "more than --max-memory (4.00 GiB)" limit.err || fail "416M: the limit is not named"
"$nnc" check "$tests/memory/params_416m.nn" --max-memory 7G || fail "416M failed --max-memory 7G"
if "$nnc" check "$tests/memory/beyond_address_space.nn" 2> huge.err; then
  fail "a plan of petabytes passed check"
fi
grep -q "beyond_address_space.nn:4:7: error: .*more than any process can address" huge.err ||
  { cat huge.err; fail "no located error for a plan beyond the address space"; }

if "$nnc" check "$tests/memory/too_many_rows.nn" 2> rows.err; then
  fail "2^32 rows passed check"
fi
grep -q "too_many_rows.nn:5:21: error: with a batch of 256, 'x' has 4294967296 rows" rows.err ||
  { cat rows.err; fail "no located error for rows beyond int"; }

# shortest round-trip float literals: dropout 0.3, not 0.300000012
"$nnc" build "$models/cnn_bn_gap.nn" --emit-only --emit-c gap.c
grep -q "0\.3f" gap.c || fail "no 0.3f in cnn_bn_gap.c"
grep -q "0\.300000012f" gap.c && fail "0.300000012f in cnn_bn_gap.c"
grep -q "0\.003921569f" gap.c || fail "1/255 is not 0.003921569f"
# --emit-c to a FIFO (or /dev/null) writes into it: the tmp + rename that
# protects a regular file once replaced /dev/null itself with a file
mkfifo c.fifo
cat c.fifo > fifo.c &
"$nnc" build "$models/day5.nn" --emit-only --emit-c c.fifo
wait
[ -p c.fifo ] || fail "--emit-c replaced the FIFO"
grep -q "model_forward" fifo.c || fail "nothing came through the FIFO"
echo "PASS: memory plan, limits, literals and --emit-c to a FIFO"
