#!/usr/bin/env bash
# Command 1: install what is missing, build nnc, then compile and run the
# Day 5 model (models/day5.nn) end to end: train, checkpoint the best epoch,
# evaluate it on the test set and check the file's expectations.
# Extra arguments go to the generated program (e.g. --epochs 3).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
mkdir -p "$root/build/day5"
cd "$root/build/day5"
"$root/build/nnc" build "$root/models/day5.nn"
./day5 --out "$root/runs/fashion_mlp" "$@"
