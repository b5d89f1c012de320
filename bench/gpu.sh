#!/usr/bin/env bash
# bench/gpu.sh [--device N] [GPU_BENCH_ARGS...]: the GPU benchmark (issue 6, "Speed"), as
# one prepared script for a fresh checkout: builds the library (bash scripts/build.sh
# $BUILD, default build/) unless $BUILD already holds a build with the Vulkan backend,
# compiles bench/gpu_bench.c against it, and runs it on Vulkan device N (default 0, after
# LEGACYGPU_VK_DEVICES): the fp32 peak (FmaPeak shader), GEMM 1024-4096, resnet50's Conv
# shapes, resnet50 / mobilenet_v2 / yolo_style at batch 1 and 8, each as a share of the
# peak. Needs no network; models from $MODELS (default ../shared/models, else
# shared/models).
# Writes gpu_bench.md and gpu_bench.json to $OUT (default bench/out) and a copy of the
# report (gpu_bench.txt). The pipeline cache starts empty (a fresh XDG_CACHE_HOME), so
# session and first-run times are those of a first start.
# Exit status: 0 done; 1 a build or measurement failed; 3 no Vulkan backend or device.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=${OUT:-bench/out}
if [ -z "${MODELS:-}" ]; then
  MODELS=../shared/models
  [ -d "$MODELS" ] || MODELS=shared/models
fi

if [ ! -f "$BUILD/build.ninja" ] || [ ! -f "$BUILD/liblegacygpu.a" ]; then
  echo "gpu.sh: building the library in $BUILD (bash scripts/build.sh $BUILD)"
  bash scripts/build.sh "$BUILD" || { echo "gpu.sh: the build failed" >&2; exit 1; }
else
  ninja -C "$BUILD" liblegacygpu.a lg_onnx_proto >/dev/null || { echo "gpu.sh: the build in $BUILD failed" >&2; exit 1; }
fi
if ! grep -q '^LG_VULKAN:BOOL=ON' "$BUILD/CMakeCache.txt"; then
  echo "gpu.sh: the build in $BUILD has no Vulkan backend (LG_VULKAN is off): install libvulkan-dev," \
       "glslc and a driver (bash scripts/deps.sh), then rebuild" >&2
  exit 3
fi

# What liblegacygpu.a links (CMakeLists.txt, target legacygpu): the packages present.
pkgs=
for p in vulkan jansson libpng libprotobuf-c libpcre2-8; do
  pkg-config --exists "$p" && pkgs="$pkgs $p"
done
# The generated ONNX protobuf library (its file was renamed once: take either).
proto=$BUILD/liblegacygpu_onnx.a
[ -f "$proto" ] || proto=$BUILD/liblg_onnx_proto.a
exe=$BUILD/gpu_bench
cc -std=c17 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -DLG_HAVE_VULKAN -I. -Isrc -Iinclude -I"$BUILD/gen" \
  bench/gpu_bench.c bench/gpu_bench_peak.c bench/gpu_bench_onnx.c -o "$exe" \
  "$BUILD/liblegacygpu.a" "$proto" \
  $(pkg-config --libs $pkgs) -ljpeg -lpthread -lm

for m in resnet50 mobilenet_v2 yolo_style; do
  [ -f "$MODELS/$m/model.onnx" ] || { echo "gpu.sh: $MODELS/$m/model.onnx is missing (set MODELS=DIR)" >&2; exit 1; }
done

mkdir -p "$OUT"
cache=$(mktemp -d /tmp/lg_gpu_bench_cache.XXXXXX)
trap 'rm -rf "$cache"' EXIT
set +e
XDG_CACHE_HOME=$cache "$exe" --models "$MODELS" --out "$OUT" "$@" 2>&1 | tee "$OUT/gpu_bench.txt"
rc=${PIPESTATUS[0]}
set -e
case $rc in
  0) ;;
  3) echo "gpu.sh: no Vulkan device to benchmark (see the message above; docs/gpu.md, Troubleshooting)" >&2 ;;
  *) echo "gpu.sh: the benchmark failed (exit $rc)" >&2 ;;
esac
exit "$rc"
