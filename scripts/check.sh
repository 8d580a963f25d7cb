#!/usr/bin/env bash
# scripts/check.sh: install what is needed, build libmos and run every test of
# the default suites (the README's second command; .ci/run calls it).
#   scripts/check.sh [extra meson test arguments]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/install-deps.sh
else
  echo "check.sh: not root, assuming the packages of scripts/install-deps.sh are installed"
fi
# OPENBLAS_CORETYPE pins OpenBLAS to slower kernels; let it detect the CPU.
unset OPENBLAS_CORETYPE
# Spinning OpenMP barriers collapse 2-thread runs when the machine is shared.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
build=${MOS_BUILD_DIR:-build}
if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" >/dev/null
else
  meson setup "$build"
fi
meson compile -C "$build"
status=0
meson test -C "$build" --print-errorlogs --num-processes 2 "$@" || status=$?
/usr/bin/python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = skip = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): ok += 1
    elif r == "SKIP": skip += 1
    else: bad += 1
print(f"{ok} passed, {bad} failed, {skip} skipped")
PY
exit $status
