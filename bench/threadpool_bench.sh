#!/usr/bin/env bash
# bench/threadpool_bench.sh: builds bench/threadpool_bench.c (bench/build_bench.sh; BUILD,
# default ./build) and runs it, by default and with LEGACYGPU_SPIN=0 (sleep at once).
set -euo pipefail
cd "$(dirname "$0")/.."
exe=$(bash bench/build_bench.sh threadpool_bench)
echo "spin (default):"; "$exe"
echo "LEGACYGPU_SPIN=0:"; LEGACYGPU_SPIN=0 "$exe"
