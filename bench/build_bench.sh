#!/usr/bin/env bash
# bench/build_bench.sh NAME: compiles bench/NAME.c against the built cluster and engine
# libraries (BUILD, default ./build) into $BUILD/NAME and prints that path. Used by the
# benchmark scripts that drive the libraries directly.
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1
BUILD=${BUILD:-build}
[ -f "$BUILD/liblegacygpu_cluster.a" ] || { echo "build first: bash scripts/build.sh $BUILD" >&2; exit 1; }
onnx=$BUILD/liblegacygpu_onnx.a
[ -f "$onnx" ] || onnx=$BUILD/liblg_onnx_proto.a
pkgs="libczmq libzmq libmicrohttpd sqlite3 jansson libpng libprotobuf-c libpcre2-8 gnutls"
pkg-config --exists vulkan && pkgs="$pkgs vulkan"
wslay=$(ls /usr/lib/*/libwslay.so 2>/dev/null | head -1)
cc -std=c17 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc -Iinclude "bench/$name.c" -o "$BUILD/$name" \
  "$BUILD/liblegacygpu_cluster.a" "$BUILD/liblegacygpu.a" "$onnx" \
  $(pkg-config --libs $pkgs) ${wslay:+-lwslay} -ljpeg -lpthread -lm
echo "$BUILD/$name"
