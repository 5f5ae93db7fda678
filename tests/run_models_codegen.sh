#!/usr/bin/env bash
# Every model in models/ compiles to C that is warning-free under
# -Wall -Wextra -Werror (the generated C is read by people). Backbones
# without a train section (models/mobilenet_v2.nn) are for nnc summary only.
# usage: run_models_codegen.sh NNC RUNTIME_DIR MODELS_DIR
set -euo pipefail
nnc=$1 runtime_dir=$2 models=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for model in "$models"/*.nn; do
  name=$(basename "$model" .nn)
  if ! grep -q '^train' "$model"; then # a backbone without a head (mobilenet_v2): summary only
    echo "skip: $name (no train section)"; continue
  fi
  if ! "$nnc" build "$model" --emit-only --emit-c "$work/$name.c" 2> "$work/err"; then
    echo "FAIL: $name: nnc build"; cat "$work/err"; status=1; continue
  fi
  if ! cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -I"$runtime_dir" "$work/$name.c"; then
    echo "FAIL: $name: the generated C has warnings"; status=1; continue
  fi
  echo "ok: $name"
done
exit $status
