#!/usr/bin/env bash
# bench/sim_strategies.sh [ARGS...]: builds bench/sim_strategies.c (bench/build_bench.sh;
# BUILD, default ./build) and runs it with ARGS: the strategy simulation's Markdown table
# for docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exe=$(bash bench/build_bench.sh sim_strategies)
"$exe" "$@"
