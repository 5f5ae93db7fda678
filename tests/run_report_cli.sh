#!/usr/bin/env bash
# nnc-report on a run directory that has only history.csv and metrics.json
# (the synthetic run of `test_plot --run-dir`, its plots deleted): the plots
# those files allow come back, report.html is rewritten, bad usage exits 2.
# Usage: run_report_cli.sh NNC_REPORT TEST_PLOT OUTDIR
set -euo pipefail
report=$1 test_plot=$2 out=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$out" && mkdir -p "$out"
"$test_plot" --run-dir "$out" > /dev/null
rm -f "$out"/*.png "$out"/*.svg "$out/report.html"
"$report" "$out" --title "from files" | grep -q "report.html: 4 plots" ||
  fail "expected 4 plots (curves, two confusion matrices, class bars)"
for f in training_curves confusion_matrix confusion_matrix_normalized class_metrics; do
  [ -s "$out/$f.png" ] || fail "$f.png missing"
done
[ ! -e "$out/roc_curves.png" ] || fail "roc_curves.png needs the program's scores"
grep -q "<h1>from files</h1>" "$out/report.html" || fail "report.html lacks the title"
set +e
"$report" > /dev/null 2>&1; [ $? -eq 2 ] || fail "no RUN_DIR: expected exit 2"
"$report" "$out" --bogus > /dev/null 2>&1; [ $? -eq 2 ] || fail "unknown option: expected exit 2"
echo PASS
