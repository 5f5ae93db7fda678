#!/usr/bin/env bash
# Installs what nnc needs on Debian 12, and only what is missing:
# a C toolchain, CMake, flex, bison, OpenBLAS, zlib, Check, jansson (metrics.json), libpng
# and libjpeg-turbo (image sources), the Fashion-MNIST data set (Debian package
# dataset-fashion-mnist), gnuplot-nox and a font (the plots, drawn by gnuplot at the end
# of a run), protobuf-c and Debian's onnx.proto (ONNX export); for the tests clang with
# libFuzzer (the fuzz_front test), chromium (opens report.html headless), python3-onnx
# and Node.js (ONNX's checker and ONNX Runtime check exports); Open MPI (nnc build --mpi);
# oneDNN (libdnnl-dev: convolutions as one call each, about twice as fast as im2col +
# OpenBLAS on the seed CNN; nnc builds and works without it).
# With --bench also what bench/run and bench/memory compare against
# (python3-torch, the PyTorch references) and measure with (/usr/bin/time).
set -euo pipefail

packages=(build-essential cmake pkg-config flex bison libopenblas-dev zlib1g-dev check libjansson-dev
  libpng-dev libjpeg-dev dataset-fashion-mnist gnuplot-nox fonts-dejavu-core chromium
  libonnx-dev protobuf-c-compiler libprotobuf-c-dev python3-onnx clang libclang-rt-14-dev)
# Open MPI: `nnc build --mpi` (data-parallel training under mpirun) and its two-rank
# tests; only programs built with --mpi use it, the rest of nnc builds without it.
packages+=(openmpi-bin libopenmpi-dev)
# oneDNN: optional for nnc (CMake uses it when present: runtime/rt_conv_onednn.c)
packages+=(libdnnl-dev)
[ "${1:-}" = --bench ] && packages+=(python3-torch python3-numpy time)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm (ONNX Runtime for the export tests) may come from elsewhere
# than Debian (the machine's own Node.js): install Debian's only when absent
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: every Debian package is installed"
else
  echo "install-deps: installing ${missing[*]}"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root or sudo for apt-get" >&2; exit 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

# npm packages of the test clients (ONNX Runtime's CPU build ships inside
# onnxruntime-node; --ignore-scripts: nothing is downloaded at install time)
onnx_tests="$(cd "$(dirname "$0")/.." && pwd)/tests/onnx"
if [ ! -d "$onnx_tests/node_modules/onnxruntime-node" ]; then
  echo "install-deps: npm install onnxruntime-node (tests/onnx)"
  (cd "$onnx_tests" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
