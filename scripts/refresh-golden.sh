#!/usr/bin/env bash
# Regenerates tests/golden/*.c, the generated C the golden test compares
# against, from the current build. Run it only when a change to the
# generated code is intended, and review `git diff tests/golden/` before
# committing it with that change.
# usage: scripts/refresh-golden.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
cd "$root"
nnc="$build/nnc"
[ -x "$nnc" ] || { echo "refresh-golden: no $nnc; build first (scripts/build.sh)" >&2; exit 1; }
source tests/golden/cases.sh
while read -r model golden option; do
  "$nnc" build "models/$model.nn" $option --emit-only --emit-c "tests/golden/$golden.c" 2>/dev/null
  echo "refresh-golden: rewrote tests/golden/$golden.c from models/$model.nn $option"
done < <(golden_cases "$nnc")
echo "refresh-golden: the golden files now match this build; review them with git diff tests/golden/"
