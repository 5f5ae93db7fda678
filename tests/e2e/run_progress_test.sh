#!/usr/bin/env bash
# What a training run shows and leaves, end to end: Keras's progress bar on
# a terminal (a pty made by script(1)), rewritten in place with '\r', with
# the ETA and the running loss and accuracy; plain epoch lines off a
# terminal and with --verbose 2; nothing per epoch with --verbose 0; and the
# plots and report.html every run writes into its run directory.
# usage: run_progress_test.sh NNC MODEL.nn
set -euo pipefail
nnc=$(realpath "$1") model=$(realpath "$2")
name=$(basename "$model" .nn)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
fail() { echo "FAIL: $*" >&2; exit 1; }

"$nnc" build "$model" 2> build.txt || { cat build.txt; fail "nnc build"; }
args=(--epochs 2 --limit-train 3000 --limit-test 200) # accuracy ~0.8 (the file expects > 0.70)

# a terminal: the bar
script -qec "./$name ${args[*]} --out tty" tty.txt > /dev/null || fail "run on a pty exited $?"
grep -aq $'\r' tty.txt || fail "the bar is not rewritten with \\r"
tr '\r' '\n' < tty.txt > tty_lines.txt
grep -aq '^Epoch 1/2' tty_lines.txt || fail "no 'Epoch 1/2' header on a terminal"
grep -aEq '^ *[0-9]+/[0-9]+ \[=*>?\.*\] - ETA: [0-9]+s - loss: [0-9.]+ - accuracy: [0-9.]+' \
  tty_lines.txt || fail "no progress bar with ETA, loss and accuracy"
grep -aEq '^ *([0-9]+)/\1 \[=+\] - [0-9]+s [0-9]+ms/step - loss: .* - val_loss: .* - lr: ' \
  tty_lines.txt || fail "no finished bar with the epoch's metrics"
if grep -aq 'Epoch 1/2 - ' tty_lines.txt; then fail "plain epoch line on a terminal"; fi

# --verbose 2 on a terminal: one plain line per epoch
script -qec "./$name ${args[*]} --out tty2 --verbose 2" tty2.txt > /dev/null || fail "--verbose 2"
grep -aq '^Epoch 2/2 - [0-9]* steps - ' tty2.txt || fail "--verbose 2 printed no epoch line"
if grep -aq 'ETA:' tty2.txt; then fail "--verbose 2 drew a bar"; fi

# not a terminal: today's plain lines; --verbose 0: none
"./$name" "${args[@]}" --out plain > plain.txt || fail "run exited $?"
grep -q '^Epoch 1/2 - [0-9]* steps - .* - loss: .* - lr: ' plain.txt || fail "no plain epoch line"
if grep -q 'ETA:' plain.txt; then fail "a bar off a terminal"; fi
"./$name" "${args[@]}" --out silent --verbose 0 > silent.txt || fail "--verbose 0 exited $?"
if grep -q '^Epoch' silent.txt; then fail "--verbose 0 printed epochs"; fi
if "./$name" --verbose 3 2> bad.txt; then fail "--verbose 3 accepted"; fi
grep -q 'needs 0, 1 or 2' bad.txt || fail "--verbose 3: no message"

# the run directory's plots and report.html
for f in report.html training_curves.png confusion_matrix.png class_metrics.png roc_curves.png \
  confidence.png misclassified.png first_layer_weights.png; do
  [ -s "plain/$f" ] || fail "no $f in the run directory"
done
grep -q "wrote plain/report.html" plain.txt || fail "the run did not say where report.html is"
grep -q "model $name" plain/report.html || fail "report.html lacks the .nn source"
grep -q "Total params" plain/report.html || fail "report.html lacks the summary"
grep -q "batch_size" plain/report.html || fail "report.html lacks the hyper-parameters"

# a plot that cannot be drawn is a warning, never a failed run
NNC_GNUPLOT=/nonexistent/gnuplot "./$name" "${args[@]}" --out noplot > noplot.txt 2>&1 ||
  { cat noplot.txt; fail "a missing gnuplot failed the run"; }
grep -q warning noplot.txt || fail "a missing gnuplot gave no warning"
echo PASS
