#!/usr/bin/env bash
# scripts/quickstart.sh: install what is needed, build libmos and run the main
# job on the built-in corpus (`mos-cli quickstart`; the README's first command).
#   scripts/quickstart.sh [mos-cli quickstart options]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/install-deps.sh
else
  echo "quickstart.sh: not root, assuming the packages of scripts/install-deps.sh are installed"
fi
unset OPENBLAS_CORETYPE
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
build=${MOS_BUILD_DIR:-build}
if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" >/dev/null
else
  meson setup "$build"
fi
meson compile -C "$build"
exec "$build/tools/mos-cli/mos-cli" quickstart "$@"
