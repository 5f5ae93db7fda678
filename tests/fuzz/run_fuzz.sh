#!/usr/bin/env bash
# A short libFuzzer run of the compiler front end (tests/fuzz/fuzz_front.c),
# registered as the CTest `fuzz_front` (label fuzz). Fails on any crash,
# sanitizer finding, leak or hang, and says how to reproduce it.
#
# usage: run_fuzz.sh FUZZER SECONDS ARTIFACT_DIR SEED_DIR...
# The corpus starts from every .nn file in the SEED_DIRs (models/, tests/);
# the inputs that crashed are kept in ARTIFACT_DIR. A crash found here
# belongs in tests/errors/ as a regression test once fixed.
set -euo pipefail
fuzzer=$1 seconds=$2 artifacts=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$artifacts"
for dir in "$@"; do
  find "$dir" -name '*.nn' -size -16k -exec cp -t "$work/corpus" {} +
done
echo "fuzz_front: $(ls "$work/corpus" | wc -l) seed files, $seconds s"
# -timeout: an input that takes 30 s is a hang (each takes milliseconds);
# -max_len: 16 kB is far above any model in models/, small enough that the
#  passes' cost stays bounded; one worker, so the rest of the suite keeps a core
if "$fuzzer" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work/corpus" > "$work/log" 2>&1; then
  tail -n 12 "$work/log"
  echo "PASS (fuzz_front)"
  exit 0
fi
tail -n 60 "$work/log"
echo "FAIL (fuzz_front): see the input above, kept in $artifacts/; reproduce with" >&2
echo "  $fuzzer $artifacts/<file>" >&2
exit 1
