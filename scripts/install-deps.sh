#!/usr/bin/env bash
# Installs the Debian packages Ryoan builds and tests with, only those that are missing.
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config libboost1.81-dev libspdlog-dev libfmt-dev
          libgtest-dev libgmock-dev libre2-dev liblmdb-dev libluajit-5.1-dev zlib1g-dev curl
          # -bgsc snapshot compression: lzo/oz and lzma/xz (zlib is above).
          liblzo2-dev liblzma-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
