#!/usr/bin/env bash
# bench/dispatch_bench.sh [ARGS...]: builds bench/dispatch_bench.c against the built
# cluster and engine libraries (BUILD, default ./build) and runs it with ARGS: the
# coordinator dispatch rate per strategy, a Markdown table for docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
[ -f "$BUILD/liblegacygpu_cluster.a" ] || { echo "build first: cmake -S . -B $BUILD -G Ninja && ninja -C $BUILD" >&2; exit 1; }
out=$BUILD/dispatch_bench
cc -std=c17 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc -Iinclude bench/dispatch_bench.c -o "$out" \
  "$BUILD/liblegacygpu_cluster.a" "$BUILD/liblegacygpu.a" "$BUILD/liblg_onnx_proto.a" \
  $(pkg-config --libs libczmq libzmq libmicrohttpd sqlite3 jansson libpng libprotobuf-c) -ljpeg -lpthread -lm
"$out" "$@"
