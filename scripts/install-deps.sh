#!/usr/bin/env bash
# scripts/install-deps.sh: install every Debian 12 package libmos needs to build,
# test, benchmark and bind (idempotent; run as root). Also selects the OpenMP
# build of OpenBLAS so that oneDNN and OpenBLAS share one OpenMP thread pool
# (docs/building.md explains why this matters for speed).
#   scripts/install-deps.sh [--torch] [--peers]
# --torch also installs Debian's PyTorch 1.13 (python3-torch, about 600 MB with
# its libraries), needed for regenerating the golden fixtures
# (tests/golden/make_fixtures.py) and as an optional extra row of the training
# benchmark; the tests use the committed fixtures and do not need it.
# --peers also creates the virtual environment of the benchmark peers
# (docs/benchmarks.md, "Peers"): PyTorch 2.x for CPU, CTranslate2,
# SentencePiece, sacreBLEU, NumPy and safetensors from PyPI, in bench/.venv
# (or $MOS_PEERS_VENV). Only bench/ uses it: the library, its tests and CI
# never do. Packages already there are kept; the versions are printed at the end.
set -euo pipefail

packages=(
  # build
  build-essential pkg-config meson ninja-build cmake python3
  # compute and data libraries
  libdnnl-dev libopenblas-dev libopenblas0-openmp
  libsentencepiece-dev zlib1g-dev nlohmann-json3-dev libcli11-dev
  # data-parallel training over MPI (the optional mpi feature; docs/training.md)
  libopenmpi-dev openmpi-bin
  # tests, ABI checks, fuzzing
  libcmocka-dev abigail-tools binutils clang libclang-rt-14-dev
  # bindings
  swig default-jdk-headless openjdk-17-jdk-headless junit4 golang-go cargo rustc bindgen
)

peers=0
for arg in "$@"; do
  case "$arg" in
    --torch) packages+=(python3-torch python3-numpy) ;;
    --peers) peers=1; packages+=(python3-venv) ;;
    *) echo "install-deps.sh: unknown argument '$arg' (use --torch, --peers)" >&2; exit 2 ;;
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

[ "$peers" -eq 1 ] || exit 0

# The peers' virtual environment. PyTorch comes from its CPU-only wheel index
# when that is reachable; otherwise from PyPI, whose Linux wheel pulls the CUDA
# libraries too (several GB, unused here) because PyPI has no CPU-only build.
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${MOS_PEERS_VENV:-$root/bench/.venv}
py=$venv/bin/python
torch_cpu_index=https://download.pytorch.org/whl/cpu
if [ ! -x "$py" ]; then
  echo "install-deps.sh: creating the peers' virtual environment in $venv"
  /usr/bin/python3 -m venv "$venv"
fi
pip=("$py" -m pip --disable-pip-version-check)
if "$py" -c 'import torch, sys; sys.exit(0 if int(torch.__version__.split(".")[0]) >= 2 else 1)' 2>/dev/null; then
  echo "install-deps.sh: PyTorch $("$py" -c 'import torch; print(torch.__version__)') already in $venv"
elif "${pip[@]}" install -q --retries 1 --timeout 30 --index-url "$torch_cpu_index" 'torch>=2,<3'; then
  echo "install-deps.sh: PyTorch from the CPU wheel index"
else
  echo "install-deps.sh: the CPU wheel index $torch_cpu_index is not reachable;" \
       "installing PyPI's torch, which also downloads its CUDA libraries (several GB)" >&2
  "${pip[@]}" install -q 'torch>=2,<3'
fi
peer_packages=(ctranslate2 sentencepiece sacrebleu numpy safetensors pyyaml)
if ! "$py" -c 'import ctranslate2, sentencepiece, sacrebleu, numpy, safetensors, yaml' 2>/dev/null; then
  "${pip[@]}" install -q "${peer_packages[@]}"
fi
"$py" - <<'PY'
import importlib, platform
print(f"install-deps.sh: peers' environment, Python {platform.python_version()}:")
for name in ("torch", "ctranslate2", "sentencepiece", "sacrebleu", "numpy", "safetensors", "yaml"):
    print(f"  {name} {importlib.import_module(name).__version__}")
PY
