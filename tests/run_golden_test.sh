#!/usr/bin/env bash
# Golden test: the C that nnc generates for an MLP (models/day5.nn) and a
# CNN (models/cnn_fashion.nn) must equal the checked-in tests/golden/*.c
# (which file with which option: tests/golden/cases.sh).
# nnc runs from the repository root on relative paths, so the files do not
# depend on where the checkout lives (the banner names the .nn path).
# An intended change to the generated code: run scripts/refresh-golden.sh
# and commit the new files with the change that caused them.
# usage: run_golden_test.sh NNC SOURCE_DIR
set -euo pipefail
nnc=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src"
status=0
source tests/golden/cases.sh
while read -r model golden option; do
  "$nnc" build "models/$model.nn" $option --emit-only --emit-c "$tmp/$golden.c" 2>/dev/null
  if ! diff -u "tests/golden/$golden.c" "$tmp/$golden.c" > "$tmp/$golden.diff"; then
    echo "FAIL: the generated C for models/$model.nn $option differs from tests/golden/$golden.c:"
    head -n 60 "$tmp/$golden.diff"
    status=1
  fi
done < <(golden_cases "$nnc")
if [ $status -ne 0 ]; then
  echo "If the change is intended, run scripts/refresh-golden.sh and commit tests/golden/."
else
  echo "PASS: generated C matches tests/golden/"
fi
exit $status
