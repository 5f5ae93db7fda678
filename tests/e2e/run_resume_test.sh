#!/usr/bin/env bash
# --resume, end to end: a small MLP with dropout, shuffling, early stopping,
# reduce_lr_on_plateau and a csv_logger trains once without interruption;
# then the same program is killed with kill -9 at a random moment (after its
# first last.ckpt exists, plus a random delay; retried until a kill lands
# while it runs), resumed with --resume (killed again at random, resumed
# again), and must end bit-identical to the uninterrupted run: the final
# weights (best.ckpt's tensors), metrics.json, and history.csv and the
# csv_logger but for the seconds column. Then: --resume refuses the
# last.ckpt of another version of the model (identity), naming the file; a
# fresh run removes the previous run's last.ckpt; --resume without a
# last.ckpt starts from the beginning.
# usage: run_resume_test.sh NNC
set -euo pipefail
nnc=$(realpath "$1")
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export OMP_NUM_THREADS=2 # the same thread count in every run: bit-identical arithmetic
fail() { echo "FAIL: $*" >&2; exit 1; }

model() { # $1: the dropout rate
  cat <<NN
model resume_mlp(x: u8[28, 28]) {
  h = rescaling(flatten(x), 1/255)
  h = dense(h, 64, activation=relu)
  h = dropout(h, $1)
  return dense(h, 10)
}
data fashion_subset { limit train 12000; limit test 500; validation split 0.2 seed 5 }
train {
  loss sparse_categorical_crossentropy(from_logits=true)
  optimizer adam(learning_rate=4e-3)
  epochs 10
  batch_size 32
  shuffle true
  seed 11
  checkpoint(monitor=val_loss, save_best_only=true)
  early_stopping(monitor=val_loss, patience=3, restore_best_weights=true)
  reduce_lr_on_plateau(monitor=val_loss, factor=0.5, patience=1)
  csv_logger("log.csv")
}
NN
}
model 0.3 > resume_mlp.nn
"$nnc" build resume_mlp.nn > /dev/null 2>&1 || { "$nnc" check resume_mlp.nn; fail "nnc build"; }

# the uninterrupted run
start=$(date +%s%N)
./resume_mlp --out whole > whole.txt 2>&1 || { cat whole.txt; fail "the uninterrupted run failed"; }
whole_ms=$(( ($(date +%s%N) - start) / 1000000 ))
epochs=$(($(wc -l < whole/history.csv) - 1))
[ "$epochs" -ge 3 ] || { cat whole.txt; fail "only $epochs epochs: too short to interrupt"; }

# Runs the program in the background (extra arguments passed on), waits
# until D/last.ckpt is newer than $2 (or the program ends), then waits a
# random part of one epoch's time and kills it with SIGKILL. Returns 0 when
# the kill landed while the program ran, 1 when it had already finished.
run_and_kill() { # $1: out dir, $2: a file last.ckpt must be newer than, rest: options
  local dir=$1 ref=$2
  shift 2
  ./resume_mlp --out "$dir" "$@" >> killed.txt 2>&1 &
  local pid=$!
  pids+=("$pid")
  while kill -0 "$pid" 2> /dev/null && ! [ "$dir/last.ckpt" -nt "$ref" ]; do sleep 0.01; done
  local delay_ms=$(( RANDOM % (whole_ms / epochs + 1) ))
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -9 "$pid" 2> /dev/null || true
  local status=0
  wait "$pid" || status=$?
  [ "$status" -eq 137 ] && return 0
  [ "$status" -eq 0 ] || { cat killed.txt; fail "the run to interrupt failed with status $status"; }
  return 1
}

# kill -9 at a random moment, until one kill lands mid-run
touch -d '2000-01-01' epoch0
killed=0
for attempt in 1 2 3 4 5 6 7 8; do
  rm -rf part
  if run_and_kill part epoch0; then killed=1; break; fi
done
[ "$killed" = 1 ] || fail "8 runs finished before the kill: cannot test resuming"
echo "killed after $(($(wc -l < part/history.csv) - 1)) logged epochs (attempt $attempt)"
[ ! -e part/last.ckpt.tmp ] || echo "(the kill interrupted a save: part/last.ckpt.tmp left)"

# resume, killed once more at random, then resumed to the end
touch part/stamp
if run_and_kill part part/stamp --resume; then
  echo "the resumed run was killed too"
fi
grep -q "Resuming run .* from part/last.ckpt after epoch" killed.txt ||
  { cat killed.txt; fail "no 'Resuming run' line"; }
./resume_mlp --out part --resume > resumed.txt 2>&1 || { cat resumed.txt; fail "--resume failed"; }
[ ! -e part/last.ckpt.tmp ] || fail "last.ckpt.tmp left after the resumed run"

# bit-identical: weights (best.ckpt's tensors: past the 156-byte header and
# meta, before the CRC), metrics.json, the logs but for the seconds column
tensors() { tail -c +157 "$1" | head -c -4 | md5sum; }
[ "$(tensors whole/best.ckpt)" = "$(tensors part/best.ckpt)" ] ||
  fail "the resumed run's final weights differ from the uninterrupted run's"
cmp whole/metrics.json part/metrics.json || fail "metrics.json differs"
for log in history.csv log.csv; do
  diff <(sed 's/,[^,]*$//' "whole/$log") <(sed 's/,[^,]*$//' "part/$log") ||
    fail "$log differs (seconds column aside)"
done
grep -q '"run_id"' part/run.json || fail "no run id in run.json"
grep -q '"resumed_after_epoch"' part/run.json || fail "run.json does not say the run resumed"

# another version of the model (dropout 0.4): its --resume refuses last.ckpt
mkdir other && model 0.4 > other/resume_mlp.nn
(cd other && "$nnc" build resume_mlp.nn > /dev/null 2>&1) || fail "nnc build (other)"
cp -r part theirs
if ./other/resume_mlp --out theirs --resume > other.txt 2>&1; then
  cat other.txt; fail "--resume accepted another version's last.ckpt"
fi
grep -q "theirs/last.ckpt: a checkpoint of another version of model 'resume_mlp'" other.txt ||
  { cat other.txt; fail "the refusal does not name the file and the reason"; }
! grep -q "^Epoch" other.txt || fail "the refused resume trained"

# a fresh run in the same directory starts over: the old last.ckpt goes
./resume_mlp --out part --epochs 1 > fresh.txt 2>&1 || { cat fresh.txt; fail "fresh run"; }
grep -q "removed part/last.ckpt of an earlier run" fresh.txt || { cat fresh.txt; fail "no note"; }
[ "$(($(wc -l < part/history.csv) - 1))" = 1 ] || fail "the fresh run kept old history rows"

# --resume with nothing to resume starts from the beginning
./resume_mlp --out empty --resume --epochs 1 > empty.txt 2>&1 || { cat empty.txt; fail "empty"; }
grep -q "nothing to resume" empty.txt || { cat empty.txt; fail "no note about starting over"; }
echo "PASS: kill -9 and --resume end bit-identical to an uninterrupted run"
