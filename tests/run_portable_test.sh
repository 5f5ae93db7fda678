#!/usr/bin/env bash
# nnc build falls back to compiling without -march=native when the C
# compiler rejects it, and --portable never passes it.
# usage: run_portable_test.sh NNC MODEL.nn
set -euo pipefail
nnc=$(realpath "$1") model=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

# a C compiler that refuses -march=native (as one for another CPU would)
cat > picky-cc <<'CC'
#!/bin/sh
for arg in "$@"; do
  [ "$arg" = "-march=native" ] && { echo "picky-cc: -march=native is not supported" >&2; exit 1; }
done
exec cc "$@"
CC
chmod +x picky-cc

CC="$work/picky-cc" "$nnc" build "$model" -o fallback 2> fallback.txt ||
  { cat fallback.txt; fail "nnc build did not fall back"; }
grep -q "trying again without it" fallback.txt || fail "no note about the fallback"
[ -x fallback ] || fail "no executable after the fallback"

CC="$work/picky-cc" "$nnc" build --portable "$model" -o portable 2> portable.txt ||
  { cat portable.txt; fail "nnc build --portable passed -march=native"; }
! grep -q "trying again" portable.txt || fail "--portable tried -march=native first"
./portable --help | grep -q -- "--epochs" || fail "the portable program does not run"
echo "PASS"
