#!/bin/sh
# run_error_test.sh FILE.nn NNC
#
# A malformed-input test. FILE.nn's first line says what nnc must report:
#
#   # expect: 5:12: error: unknown layer 'dense2'; did you mean 'dense'?
#
# `NNC check FILE.nn` must exit with status 1 (a diagnosed error: not 0,
# not a crash, not 70 = internal error), its stderr must contain
# `FILE.nn:` followed by the expected text, and the diagnostic must quote
# the source with a caret line (`^`, then `~` under the rest of the span).
# On a mismatch it prints what it expected and what it got, and fails.
set -u
FILE=${1:?usage: run_error_test.sh FILE.nn NNC}
NNC=${2:?usage: run_error_test.sh FILE.nn NNC}

fail() {
  echo "FAIL: $FILE: $1"
  echo "--- expected (exit status 1, on stderr):"
  echo "$FILE:$EXPECT"
  echo "  <the source line>"
  echo "  <spaces>^~~~"
  echo "--- got (exit status $STATUS), stderr:"
  cat "$ERR"
  if [ -s "$OUT" ]; then
    echo "--- stdout:"
    cat "$OUT"
  fi
  rm -f "$OUT" "$ERR"
  exit 1
}

FIRST=$(head -n 1 "$FILE") || { echo "FAIL: cannot read $FILE"; exit 1; }
case "$FIRST" in
  "# expect: "*) EXPECT=${FIRST#"# expect: "} ;;
  *) echo "FAIL: $FILE: the first line must be '# expect: LINE:COL: error: MESSAGE'"; exit 1 ;;
esac

OUT=$(mktemp) && ERR=$(mktemp) || exit 1
"$NNC" check "$FILE" >"$OUT" 2>"$ERR"
STATUS=$?

[ "$STATUS" -eq 1 ] || fail "exit status $STATUS, expected 1"
# -a: a garbage input is echoed back in the diagnostic; still search it as text
grep -aqF -- "$FILE:$EXPECT" "$ERR" || fail "the expected diagnostic is missing"
grep -aq "internal error" "$ERR" && fail "nnc reported an internal error"
# the caret line: two spaces, the line's indentation (blanks or tabs), ^, tildes
grep -aEq '^  [[:blank:]]*\^~*$' "$ERR" || fail "no caret line under the source"
# errors come in file order, so the expected one is the first
FIRST_ERR=$(grep -a -m 1 ': error: ' "$ERR")
case "$FIRST_ERR" in
  "$FILE:$EXPECT"*) ;;
  *) fail "the first error is not the expected one" ;;
esac

rm -f "$OUT" "$ERR"
echo "ok: $FILE: $EXPECT"
exit 0
