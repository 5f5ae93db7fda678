#!/usr/bin/env bash
# The compiler-runtime contract (runtime/rt_kernels.def) is enforced when nnc
# is built: the emitter's EMIT_CALL compiles only for a kernel in the list
# with the right number of arguments. Compiles tests/contract/*.c against
# the emitter's header: good_call.c must compile, the others must fail
# with the contract's message.
# usage: run_contract_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
cc=${CC:-cc}
flags=(-std=c11 -fsyntax-only -Wall -Wextra -Werror -I "$src/compiler" -I "$src/runtime" -I "$build")
status=0
"$cc" "${flags[@]}" "$src/tests/contract/good_call.c" || { echo "FAIL: good_call.c"; status=1; }
for bad in wrong_count:"wrong number of arguments" unknown_kernel:"RTK_accumulate"; do
  file=${bad%%:*} want=${bad#*:}
  if out=$("$cc" "${flags[@]}" "$src/tests/contract/$file.c" 2>&1); then
    echo "FAIL: $file.c compiled"; status=1
  elif ! grep -qF "$want" <<< "$out"; then
    echo "FAIL: $file.c failed without '$want':"; echo "$out"; status=1
  fi
done
[ $status -eq 0 ] && echo "PASS: the emitter only compiles calls the runtime's kernel list allows"
exit $status
