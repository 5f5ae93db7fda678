#!/usr/bin/env bash
# nnc's output files: a regular file is replaced whole (PATH.tmp, renamed), a
# device is written in place and never replaced, and an executable path that
# is not a regular file is refused before the linker (which replaces its
# output) runs. Uses a FIFO of its own, not /dev/null.
# usage: run_outputs_test.sh NNC MODEL.nn
set -euo pipefail
nnc=$(realpath "$1") model=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

mkfifo pipe
cat pipe > from_pipe.c &
reader=$!
"$nnc" build "$model" --emit-c pipe --emit-only 2> emit.txt || { cat emit.txt; fail "emit into a FIFO"; }
wait "$reader"
[ -p pipe ] || fail "the FIFO was replaced by a regular file"
grep -q "model_forward\|forward" from_pipe.c || fail "nothing came through the FIFO"
[ ! -e pipe.tmp ] || fail "a .tmp file was left beside the FIFO"

if "$nnc" build "$model" --emit-c prog.c -o pipe 2> exe.txt; then fail "an executable over a FIFO"; fi
grep -q "is not a regular file" exe.txt || { cat exe.txt; fail "no message for the FIFO"; }
[ -p pipe ] || fail "the linker replaced the FIFO"

echo old > prog.c
"$nnc" build "$model" --emit-c prog.c --emit-only 2>/dev/null
grep -q "forward" prog.c || fail "a regular file was not replaced"
[ ! -e prog.c.tmp ] || fail "prog.c.tmp left behind"
echo "PASS: outputs"
