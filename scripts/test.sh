#!/usr/bin/env bash
# Command 2: install what is missing, build nnc, then run the whole test
# suite (Check unit suites, gradient checks, malformed-input tests and
# end-to-end runs on Fashion-MNIST subsets) through CTest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
cd "$root/build"
ctest --output-on-failure -j "$(nproc)"
