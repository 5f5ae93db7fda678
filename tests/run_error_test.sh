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
# An error about the file as a whole (it cannot be read) has no location:
#
#   # expect: nnc: error: cannot read '{FILE}': it contains a NUL byte ...
#
# then stderr must contain that line with {FILE} replaced by the path as
# given, and no caret line is required.
# On a mismatch it prints what it expected and what it got, and fails.
set -u
FILE=${1:?usage: run_error_test.sh FILE.nn NNC}
NNC=${2:?usage: run_error_test.sh FILE.nn NNC}

fail() {
  echo "FAIL: $FILE: $1"
  echo "--- expected (exit status 1, on stderr):"
  echo "$WANT"
  if [ "$WHOLE_FILE" = no ]; then
    echo "  <the source line>"
    echo "  <spaces>^~~~"
  fi
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

case "$EXPECT" in
  "nnc: "*)
    WHOLE_FILE=yes
    WANT=$EXPECT
    while :; do
      case "$WANT" in
        *"{FILE}"*) WANT="${WANT%%"{FILE}"*}$FILE${WANT#*"{FILE}"}" ;;
        *) break ;;
      esac
    done ;;
  *) WHOLE_FILE=no; WANT="$FILE:$EXPECT" ;;
esac

OUT=$(mktemp) && ERR=$(mktemp) || exit 1
"$NNC" check "$FILE" >"$OUT" 2>"$ERR"
STATUS=$?

[ "$STATUS" -eq 1 ] || fail "exit status $STATUS, expected 1"
# -a: a garbage input is echoed back in the diagnostic; still search it as text
grep -aqF -- "$WANT" "$ERR" || fail "the expected diagnostic is missing"
grep -aq "internal error" "$ERR" && fail "nnc reported an internal error"
if [ "$WHOLE_FILE" = no ]; then
  # the caret line: two spaces, the line's indentation (blanks or tabs), ^, tildes
  grep -aEq '^  [[:blank:]]*\^~*$' "$ERR" || fail "no caret line under the source"
  # errors come in file order, so the expected one is the first
  FIRST_ERR=$(grep -a -m 1 ': error: ' "$ERR")
  case "$FIRST_ERR" in
    "$WANT"*) ;;
    *) fail "the first error is not the expected one" ;;
  esac
fi

rm -f "$OUT" "$ERR"
echo "ok: $WANT"
exit 0
