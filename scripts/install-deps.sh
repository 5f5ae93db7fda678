#!/usr/bin/env bash
# Installs what nnc needs on Debian 12, and only what is missing:
# a C toolchain, CMake, flex, bison, OpenBLAS, zlib, Check, libpng and
# libjpeg-turbo (image-folder sources) and the Fashion-MNIST data set
# (Debian package dataset-fashion-mnist).
set -euo pipefail

packages=(build-essential cmake pkg-config flex bison libopenblas-dev zlib1g-dev check
  libpng-dev libjpeg-dev dataset-fashion-mnist)

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
