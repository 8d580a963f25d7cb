#!/usr/bin/env bash
# scripts/check.sh: install what is needed, build libmos and run its tests
# (the README's second command; .ci/run calls it). One build folder per mode:
#   scripts/check.sh [meson test args]   every default suite, with mpi (two
#       ranks under mpirun, shared memory only) when Open MPI is installed (build)
#   scripts/check.sh --sanitize [args]   AddressSanitizer + UndefinedBehavior-
#       Sanitizer (and LeakSanitizer): suites unit, golden, cli, grad and
#       reliability                                                         (build-asan)
#   scripts/check.sh --tsan [args]       ThreadSanitizer, clang with LLVM's
#       OpenMP runtime and its Archer tool: the concurrency tests and every
#       test with OpenMP regions, on 2 threads                              (build-tsan)
#   scripts/check.sh --fuzz [SECONDS]    clang libFuzzer build: every fuzz
#       target for SECONDS (60) over its seed corpus                        (build-fuzz)
# MOS_BUILD_DIR overrides the folder. docs/reliability.md explains the
# sanitizer choices and has the results.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

mode=default
case "${1:-}" in
  --sanitize | --tsan | --fuzz) mode=${1#--}; shift ;;
esac

if [ "$(id -u)" -eq 0 ]; then
  bash scripts/install-deps.sh
else
  echo "check.sh: not root, assuming the packages of scripts/install-deps.sh are installed"
fi
# OPENBLAS_CORETYPE pins OpenBLAS to slower kernels; let it detect the CPU.
unset OPENBLAS_CORETYPE
# Spinning OpenMP barriers collapse 2-thread runs when the machine is shared.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

# Sanitizer builds leave out what they do not test (bindings run in other
# runtimes, benchmarks time things). The AddressSanitizer build compiles at
# -O1 with line tables only (-g1): much less compile time than -O2 -g (it is
# the one .ci/run builds), and the reports still name files and lines.
lean=(-Djava=disabled -Dgo=disabled -Drust=disabled -Dbenchmarks=disabled)
lean_flags=-g1
setup=()
targets=()
test_args=()
case $mode in
  default)
    build=${MOS_BUILD_DIR:-build}
    # Meson's default 30 s limit is too tight on a busy machine: abi_baseline
    # (abidiff) takes 28 to 32 s on a loaded 2-core one.
    test_args=(--timeout-multiplier "${MOS_TIMEOUT_MULTIPLIER:-3}")
    ;;
  sanitize)
    build=${MOS_BUILD_DIR:-build-asan}
    setup=(-Db_sanitize=address,undefined -Dfuzzers=disabled "${lean[@]}" -Doptimization=1 -Ddebug=false
           -Dc_args=$lean_flags -Dcpp_args=$lean_flags)
    # Stop at the first report of either sanitizer; leaks are reported at exit.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/reliability/lsan.supp:print_suppressions=0}
    test_args=(--suite unit --suite golden --suite cli --suite grad --suite reliability --timeout-multiplier 4)
    ;;
  tsan)
    build=${MOS_BUILD_DIR:-build-tsan}
    # GCC's ThreadSanitizer cannot see libgomp's barriers and reports every
    # OpenMP parallel loop as racy. LLVM's libomp announces its
    # synchronisation to ThreadSanitizer through the Archer tool, so the
    # library is built with clang (which links libomp) and run with Archer.
    archer=$(ls /usr/lib/llvm-*/lib/libarcher.so 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$archer" ]; then
      echo "check.sh --tsan: libarcher.so not found (Debian: apt-get install libomp-14-dev)" >&2
      exit 1
    fi
    export CC=${CC:-clang} CXX=${CXX:-clang++}
    setup=(-Db_sanitize=thread -Db_lundef=false -Dfuzzers=disabled "${lean[@]}")
    export OMP_TOOL_LIBRARIES=$archer
    export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1}
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
    # Caller-level concurrency (threads sharing a supernet or model) and
    # the kernels, trainer and decoder with their OpenMP regions. Only
    # these tests (and the library) are built.
    targets=(test_supernet test_search test_train test_layers test_attention test_gemm test_grad_layers
             test_grad_mos test_grad_attention test_golden)
    test_args=(--no-rebuild capi_supernet capi_search train layers attention gemm grad_layers grad_mos
               grad_attention golden --timeout-multiplier 10)
    ;;
  fuzz)
    build=${MOS_BUILD_DIR:-build-fuzz}
    seconds=${1:-60}
    export CC=${CC:-clang} CXX=${CXX:-clang++}
    setup=(-Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link
           -Dcpp_args=-fsanitize=fuzzer-no-link "${lean[@]}")
    ;;
esac

if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" "${setup[@]}" >/dev/null
else
  meson setup "$build" "${setup[@]}"
fi
meson compile -C "$build" "${targets[@]}"

status=0
if [ "$mode" = fuzz ]; then
  summary=()
  for fuzzer in "$build"/tests/fuzz/fuzz_*; do
    name=$(basename "$fuzzer")
    case $name in *.* | fuzz_replay_* | fuzz_probe) continue ;; esac
    [ -x "$fuzzer" ] || continue
    target=${name#fuzz_}
    line=$(/usr/bin/python3 tests/fuzz/run_fuzzer.py "$fuzzer" "tests/fuzz/corpus/$target" \
      "$build/tests/fuzz/$name.work" "$seconds" 2> "$build/tests/fuzz/$name.log" | tail -n 1) || {
      status=1
      echo "check.sh --fuzz: $name failed; see $build/tests/fuzz/$name.log" >&2
    }
    summary+=("$line")
  done
  printf '%s\n' "${summary[@]}"
  exit $status
fi

meson test -C "$build" --print-errorlogs --num-processes 2 "${test_args[@]}" "$@" || status=$?
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
