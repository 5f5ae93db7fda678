#!/usr/bin/env bash
# report.html in a real browser: headless Chromium loads the synthetic run's
# report (written by `test_plot --run-dir`) with no console message (the page
# has no scripts, so any is an error), and its screenshot shows the plots
# (colored pixels: about 4% with the plots, 0.5% without them). Two
# canaries first prove the checks can fail: a page that logs an error, and
# the report with its images removed.
# Usage: run_report_browser.sh TEST_PLOT OUTDIR. The screenshot stays in
# OUTDIR/report_screenshot.png. Skipped (exit 77) without chromium.
set -euo pipefail
test_plot=$1 out=$2
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "SKIP: chromium is not installed (scripts/install-deps.sh installs it)"
  exit 77
fi
fail() { echo "FAIL: $*" >&2; exit 1; }

rm -rf "$out" && mkdir -p "$out/run" "$out/canary"
out=$(cd "$out" && pwd) # file:// needs an absolute path
"$test_plot" --run-dir "$out/run" > /dev/null

# chromium PAGE STDERR [flags]: loads file://PAGE headless and offline
chromium_run() {
  local page=$1 log=$2
  shift 2
  local profile
  profile=$(mktemp -d)
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --enable-logging=stderr --v=0 --hide-scrollbars "$@" \
    "file://$page" 2> "$log"
  rm -rf "$profile"
}

console_messages() { grep -E ':CONSOLE(\(|:)' "$1" || true; }

# the console check catches a console error
echo '<!DOCTYPE html><html><body><script>console.error("canary")</script></body></html>' \
  > "$out/canary/error.html"
chromium_run "$out/canary/error.html" "$out/canary/error.log" --dump-dom > /dev/null
[ -n "$(console_messages "$out/canary/error.log")" ] ||
  fail "the console check missed a console.error (chromium's log format changed?)"

# the report: loads, every image it names is beside it, no console message
report=$out/run/report.html
chromium_run "$report" "$out/report.log" --dump-dom > "$out/report_dom.html"
grep -q '</html>' "$out/report_dom.html" || fail "report.html did not load (see $out/report.log)"
msgs=$(console_messages "$out/report.log")
[ -z "$msgs" ] || fail "console messages while loading report.html: $msgs"
images=$(grep -o '<img src="[^"]*"' "$out/report_dom.html" | sed 's/<img src="//; s/"$//')
[ "$(echo "$images" | wc -l)" -ge 8 ] || fail "report.html shows fewer than 8 plots: $images"
for img in $images; do
  [ -s "$out/run/$img" ] || fail "report.html names $img, which is not beside it"
done
grep -qE '<script|https?://' "$out/report_dom.html" && fail "report.html fetches or runs something"

# the screenshot: plots drawn (colored pixels), not blank
chromium_run "$report" "$out/screenshot.log" --window-size=1280,6000 \
  --screenshot="$out/report_screenshot.png" > /dev/null
read -r width height stddev colored < <("$test_plot" --png-stats "$out/report_screenshot.png")
echo "screenshot ${width}x${height}: stddev $stddev, colored share $colored"
awk -v s="$stddev" -v c="$colored" 'BEGIN { exit !(s > 30 && c > 0.02) }' ||
  fail "the screenshot looks blank or without plots (stddev $stddev, colored $colored)"

# the pixel check catches a report whose images are missing
mkdir -p "$out/canary/noimages" && cp "$out/run/report.html" "$out/canary/noimages/"
chromium_run "$out/canary/noimages/report.html" "$out/canary/noimages.log" \
  --window-size=1280,6000 --screenshot="$out/canary/noimages.png" > /dev/null
read -r _ _ _ colored_none < <("$test_plot" --png-stats "$out/canary/noimages.png")
awk -v c="$colored_none" 'BEGIN { exit !(c < 0.02) }' ||
  fail "the pixel check passed a report without images (colored $colored_none)"
echo "PASS: report.html loads cleanly in $("$browser" --version 2>/dev/null | head -1); screenshot $out/report_screenshot.png"
