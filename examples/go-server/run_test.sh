#!/usr/bin/env bash
# examples/go-server/run_test.sh: runs the server's test against a build of libmos.
#   run_test.sh GO BINDING_SRC GEN_DIR EXAMPLE_SRC WORK_DIR INCLUDE_DIR BUILD_INCLUDE_DIR LIB_DIR
# The Go binding (hand-written files of BINDING_SRC + SWIG output in GEN_DIR) is
# assembled in WORK_DIR/mos, the example in WORK_DIR/go-server (go.mod replaces
# libmos.org/mos with ../mos); caches live in WORK_DIR, offline.
set -euo pipefail
go=$1 bsrc=$2 gen=$3 esrc=$4 work=$5 inc=$6 binc=$7 lib=$8
mkdir -p "$work/mos" "$work/go-server"
rm -f "$work"/mos/*.go "$work"/mos/*.c "$work"/go-server/*.go
cp "$bsrc"/go.mod "$work/mos/"
for f in "$bsrc"/*.go; do case $(basename "$f") in *_test.go|mos.go) ;; *) cp "$f" "$work/mos/" ;; esac; done
cp "$gen"/mos.go "$gen"/mos_wrap.c "$work/mos/"
cp "$esrc"/go.mod "$esrc"/*.go "$work/go-server/"
export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GO111MODULE=on GOSUMDB=off
export GOCACHE=$work/gocache GOPATH=$work/gopath GOTMPDIR=
export CGO_ENABLED=1 GO=$go
export CGO_CFLAGS="-I$inc -I$binc -fno-strict-aliasing -O2"
export CGO_LDFLAGS="-L$lib -Wl,-rpath,$lib"
cd "$work/go-server"
exec "$go" test -count=1 -v .
