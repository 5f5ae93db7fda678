#!/usr/bin/env bash
# Installs what nnc needs on Debian 12, and only what is missing:
# a C toolchain, CMake, flex, bison, OpenBLAS, zlib, Check and the
# Fashion-MNIST data set (Debian package dataset-fashion-mnist).
# With --bench also what bench/run and bench/memory compare against
# (python3-torch, the PyTorch references) and measure with (/usr/bin/time).
set -euo pipefail

packages=(build-essential cmake pkg-config flex bison libopenblas-dev zlib1g-dev check
  dataset-fashion-mnist)
[ "${1:-}" = --bench ] && packages+=(python3-torch python3-numpy time)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo for apt-get" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
