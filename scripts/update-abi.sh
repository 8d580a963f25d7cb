#!/usr/bin/env bash
# scripts/update-abi.sh: regenerate the ABI baseline tests/abi/libmos.abi from a
# build (default: build/). Do this only when a release deliberately sets a new
# baseline; additions do not need it (abidiff accepts them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
abidw --no-corpus-path --no-comp-dir-path --short-locs --drop-private-types \
  --headers-dir "$root/include/mos" --suppressions "$root/tests/abi/internal-types.supp" \
  --out-file "$root/tests/abi/libmos.abi" "$build/lib/libmos.so"
echo "wrote tests/abi/libmos.abi"
