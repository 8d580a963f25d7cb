#!/usr/bin/env bash
# bindings/go/go_test.sh: runs `go test` on the Go binding against a build of libmos.
#   go_test.sh GO SRC_DIR GEN_DIR INCLUDE_DIR BUILD_INCLUDE_DIR LIB_DIR
# GEN_DIR holds the SWIG output (mos.go, mos_wrap.c); the module is assembled in
# GEN_DIR/module, and the Go caches live in GEN_DIR too (offline, no proxy).
set -euo pipefail
go=$1 src=$2 gen=$3 inc=$4 binc=$5 lib=$6
mod=$gen/module
mkdir -p "$mod"
rm -f "$mod"/*.go "$mod"/*.c
cp "$src"/go.mod "$mod"/
for f in "$src"/*.go; do
  case $(basename "$f") in mos.go) ;; *) cp "$f" "$mod"/ ;; esac
done
cp "$gen"/mos.go "$gen"/mos_wrap.c "$mod"/
export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GO111MODULE=on
export GOCACHE=$gen/gocache GOPATH=$gen/gopath GOTMPDIR=
export CGO_ENABLED=1
export CGO_CFLAGS="-I$inc -I$binc -fno-strict-aliasing -O2"
export CGO_LDFLAGS="-L$lib -Wl,-rpath,$lib"
cd "$mod"
exec "$go" test -count=1 -v ./...
