#!/usr/bin/env bash
# scripts/build.sh [BUILD_DIR] [CMAKE_ARGS...]: configures and builds legacygpu (Ninja,
# warnings as errors). Default folder: build.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLG_WERROR=ON "$@" >/dev/null
ninja -C "$dir"
