#!/bin/sh
# run_fuzz_test.sh NNC SEED_FILE.nn [COUNT]
#
# A deterministic robustness test for the front end and every pass behind
# it. From the seed file it makes COUNT (default 300) mutants with a small
# seeded generator (awk's srand(1234), so every run makes the same files):
#   - truncation at every Nth byte,
#   - deleting, duplicating or swapping lines,
#   - inserting, replacing or deleting single characters (punctuation,
#     digits, quotes, brackets, a newline, a high byte),
#   - replacing a word by another word of the file, or a number by an
#     extreme one (these get past the parser into the semantic passes).
# `nnc check` must answer each with exit status 0 (accepted) or 1 (a
# diagnostic): anything else (a signal, 70 = internal error, a time-out) is
# a bug in nnc. Failing mutants are kept in a directory under /tmp, named in
# the output, so they can be replayed with `nnc check FILE`.
set -u
NNC=${1:?usage: run_fuzz_test.sh NNC SEED_FILE.nn [COUNT]}
SEED_FILE=${2:?usage: run_fuzz_test.sh NNC SEED_FILE.nn [COUNT]}
COUNT=${3:-300}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nnc_fuzz.XXXXXX") || exit 2
LC_ALL=C awk -v count="$COUNT" -v dir="$WORK" '
  function rnd(n) { return int(rand() * n) }
  function emit(text, what,   f) {
    f = sprintf("%s/mutant_%03d.nn", dir, made++)
    printf "%s", text > f
    close(f)
    printf "%s\t%s\n", f, what > (dir "/index.txt")
  }
  function joined(   i, s) {
    s = ""
    for (i = 1; i <= nl; i++) s = s L[i] "\n"
    return s
  }
  {
    lines[++n_lines] = $0; all = all $0 "\n"
    rest = $0
    while (match(rest, /[A-Za-z_][A-Za-z0-9_]*/)) {
      words[++n_words] = substr(rest, RSTART, RLENGTH)
      rest = substr(rest, RSTART + RLENGTH)
    }
  }
  # replaces the k-th match of re in line L[d] by text (k counts from 1)
  function replace_nth(d, re, k, text,   rest, done, i) {
    rest = L[d]; done = ""
    for (i = 1; match(rest, re); i++) {
      if (i == k) {
        L[d] = done substr(rest, 1, RSTART - 1) text substr(rest, RSTART + RLENGTH)
        return 1
      }
      done = done substr(rest, 1, RSTART + RLENGTH - 1)
      rest = substr(rest, RSTART + RLENGTH)
    }
    return 0
  }
  END {
    srand(1234)
    made = 0
    punct = "(){}[]:;,=\"#/@<>!.-+e0\n\\"
    size = length(all)
    # a third of the budget: truncation at evenly spaced byte offsets
    n_trunc = int(count / 3)
    for (k = 0; k < n_trunc; k++) {
      cut = int(k * size / n_trunc)
      emit(substr(all, 1, cut), "truncate at byte " cut)
    }
    while (made < count) {
      kind = rnd(8)
      for (i = 1; i <= n_lines; i++) L[i] = lines[i]
      nl = n_lines
      if (kind == 0) {                       # delete a line
        d = 1 + rnd(nl)
        for (i = d; i < nl; i++) L[i] = L[i + 1]
        nl--
        emit(joined(), "delete line " d)
      } else if (kind == 1) {                # duplicate a line
        d = 1 + rnd(nl)
        for (i = nl; i >= d; i--) L[i + 1] = L[i]
        nl++
        emit(joined(), "duplicate line " d)
      } else if (kind == 2) {                # swap two lines
        a = 1 + rnd(nl); b = 1 + rnd(nl)
        t = L[a]; L[a] = L[b]; L[b] = t
        emit(joined(), "swap lines " a " and " b)
      } else if (kind == 6) {                # a word becomes another word of the file
        d = 1 + rnd(nl)
        w = words[1 + rnd(n_words)]
        if (!replace_nth(d, "[A-Za-z_][A-Za-z0-9_]*", 1 + rnd(4), w)) continue
        emit(joined(), "line " d ": a word becomes " w)
      } else if (kind == 7) {                # a number becomes an extreme one
        split("0 -1 1 0.5 -0.5 1e9 1e-9 784 10 11 255 256 65536 2147483648 3.5", extremes, " ")
        d = 1 + rnd(nl)
        v = extremes[1 + rnd(15)]
        if (!replace_nth(d, "-?[0-9]+(\\.[0-9]*)?([eE][-+]?[0-9]+)?", 1 + rnd(2), v)) continue
        emit(joined(), "line " d ": a number becomes " v)
      } else {                               # one character: insert, replace, delete
        p = 1 + rnd(size)
        c = substr(punct, 1 + rnd(length(punct)), 1)
        if (rnd(10) == 0) c = sprintf("%c", 128 + rnd(128))
        if (kind == 3)
          emit(substr(all, 1, p - 1) c substr(all, p), "insert at byte " p)
        else if (kind == 4)
          emit(substr(all, 1, p - 1) c substr(all, p + 1), "replace byte " p)
        else
          emit(substr(all, 1, p - 1) substr(all, p + 1), "delete byte " p)
      }
    }
  }' "$SEED_FILE" || { echo "FAIL: could not generate mutants"; exit 2; }

failures=0
total=0
while IFS="$(printf '\t')" read -r file what; do
  total=$((total + 1))
  timeout 10 "$NNC" check "$file" >/dev/null 2>"$file.err"
  rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ] || grep -q "internal error" "$file.err"; then
    failures=$((failures + 1))
    echo "FAIL: exit status $rc on $file ($what):"
    head -5 "$file.err" | sed 's/^/    /'
  else
    rm -f "$file" "$file.err"
  fi
done < "$WORK/index.txt"

if [ "$failures" -ne 0 ]; then
  echo "FAIL: $failures of $total mutants of $SEED_FILE crashed nnc; kept in $WORK"
  exit 1
fi
rm -rf "$WORK"
echo "ok: $total mutants of $SEED_FILE, every one accepted or diagnosed"
exit 0
