#!/usr/bin/env bash
# tests/abi/check_abi.sh: compare the built libmos.so with the committed ABI
# baseline. Additions pass (abidiff bit 4); incompatible changes (bit 8),
# errors (1) and usage errors (2) fail. Regenerate the baseline for a new
# release with scripts/update-abi.sh.
set -u
lib=$1 baseline=$2 headers=$3
abidiff --headers-dir2 "$headers" --suppressions "$(dirname "$0")/internal-types.supp" --no-added-syms "$baseline" "$lib"
rc=$?
if (( rc & 1 )) || (( rc & 2 )); then
  echo "FAIL: abidiff could not compare (exit $rc)"
  exit 1
fi
if (( rc & 8 )); then
  echo "FAIL: incompatible ABI change against $(basename "$baseline") (exit $rc)"
  exit 1
fi
echo "ok: ABI compatible with baseline (abidiff exit $rc)"
