#!/usr/bin/env bash
# bench/dispatch_bench.sh [ARGS...]: builds bench/dispatch_bench.c (bench/build_bench.sh;
# BUILD, default ./build) and runs it with ARGS: the coordinator dispatch rate per
# strategy, a Markdown table for docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exe=$(bash bench/build_bench.sh dispatch_bench)
"$exe" "$@"
