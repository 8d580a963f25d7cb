#!/usr/bin/env bash
# scripts/install-deps.sh: install every Debian 12 package libmos needs to build,
# test, benchmark and bind (idempotent; run as root). Also selects the OpenMP
# build of OpenBLAS so that oneDNN and OpenBLAS share one OpenMP thread pool
# (docs/building.md explains why this matters for speed).
#   scripts/install-deps.sh [--torch]
# --torch also installs Debian's PyTorch (python3-torch, about 600 MB with its
# libraries), needed only by the PyTorch peers of bench/ and for regenerating
# the golden fixtures (tests/golden/make_fixtures.py); the tests use the
# committed fixtures and do not need it.
set -euo pipefail

packages=(
  # build
  build-essential pkg-config meson ninja-build cmake python3
  # compute and data libraries
  libdnnl-dev libopenblas-dev libopenblas0-openmp
  libsentencepiece-dev zlib1g-dev nlohmann-json3-dev libcli11-dev
  # tests, ABI checks, fuzzing
  libcmocka-dev abigail-tools binutils clang libclang-rt-14-dev
  # bindings
  swig default-jdk-headless openjdk-17-jdk-headless junit4 golang-go cargo rustc bindgen
)

for arg in "$@"; do
  case "$arg" in
    --torch) packages+=(python3-torch python3-numpy) ;;
    *) echo "install-deps.sh: unknown argument '$arg' (use --torch)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps.sh: all ${#packages[@]} packages present"
fi

# One OpenMP pool for oneDNN and OpenBLAS: point libopenblas.so.0 at the
# OpenMP build.
omp_blas=/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0
if [ -e "$omp_blas" ]; then
  current=$(update-alternatives --query libopenblas.so.0-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/ {print $2}')
  if [ "$current" != "$omp_blas" ]; then
    update-alternatives --set libopenblas.so.0-x86_64-linux-gnu "$omp_blas"
  fi
  omp_blas_dev=/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so
  if [ -e "$omp_blas_dev" ] && update-alternatives --query libopenblas.so-x86_64-linux-gnu >/dev/null 2>&1; then
    current=$(update-alternatives --query libopenblas.so-x86_64-linux-gnu | awk '/^Value:/ {print $2}')
    if [ "$current" != "$omp_blas_dev" ]; then
      update-alternatives --set libopenblas.so-x86_64-linux-gnu "$omp_blas_dev"
    fi
  fi
fi
