#!/usr/bin/env bash
# run_augment_export_test.sh NNC SOURCE_DIR
#
# nnc export of a model with augmentation layers (tests/export/augment_export.nn):
#  - the training program's C passes each layer's options to its kernel
#    (fill_value, value_range), in training only;
#  - then run_export_test.sh (augmentation is the identity at inference, so
#    the exported NAME.c and NAME.onnx hold none of it): the C library, ONNX Runtime and the training
#    program's --predict agree on 200 test images to 1e-5.
set -euo pipefail
nnc=$(realpath "$1") src=$(realpath "$2")
model=$src/tests/export/augment_export.nn
work=$(mktemp -d "${TMPDIR:-/tmp}/nnc_augment_export_XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$nnc" build "$model" --emit-only --emit-c "$work/prog.c" 2>/dev/null
want=(
  "rt_random_rotation_forward(.*RT_FILL_CONSTANT, RT_INTERP_BILINEAR, 12.0f, &augment_rng)"
  "rt_random_zoom_forward(.*RT_FILL_CONSTANT, RT_INTERP_BILINEAR, 3.5f, &augment_rng)"
  "rt_random_translation_forward(.*RT_FILL_CONSTANT, RT_INTERP_BILINEAR, 255.0f, &augment_rng)"
  "rt_random_contrast_forward(.*, 0.0f, 1.0f, &augment_rng)"
  "rt_random_brightness_forward(.*, 0.0f, 1.0f, &augment_rng)"
)
for w in "${want[@]}"; do
  grep -q "$w" "$work/prog.c" || fail "the generated C has no call matching: $w"
done
[ "$(grep -c "if (training) { /\* random_" "$work/prog.c")" = 6 ] ||
  fail "the six augmentation layers do not all run in training only"

bash "$src/tests/export/run_export_test.sh" "$nnc" "$model" --epochs 1 --limit-train 2000
