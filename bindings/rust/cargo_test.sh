#!/usr/bin/env bash
# bindings/rust/cargo_test.sh: runs the crate's tests offline against a build of libmos.
#   cargo_test.sh CARGO MANIFEST TARGET_DIR LIB_DIR
# --tests skips doctests: rustdoc does not run under the sanitizer preload.
set -euo pipefail
cargo=$1 manifest=$2 target=$3 lib=$4
export CARGO_TARGET_DIR=$target MOS_LIB_DIR=$lib
export CARGO_NET_OFFLINE=true CARGO_TERM_COLOR=never
exec "$cargo" test --offline --tests --manifest-path "$manifest" -- --test-threads=2
