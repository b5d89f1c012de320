#!/usr/bin/env bash
# bench/cpu_cost.sh BINARY MODEL [THREADS] [RUNS]: CPU time (user + system) per run of
# `BINARY bench MODEL`, as the difference between RUNS+1 runs and 1 run divided by RUNS
# (so load and session creation cancel). On a machine shared with other work this moves
# far less than wall time; it works with any build of legacygpu, old or new, for A/B
# comparisons of kernels. Extra environment (LEGACYGPU_SIMD=..., LEGACYGPU_WINOGRAD=...)
# passes through.
set -euo pipefail
bin=$1 model=$2 threads=${3:-1} runs=${4:-40}
cpu() {
  /usr/bin/time -f "%U %S" "$bin" bench "$model" --threads "$threads" --runs "$1" --warmup 1 2>&1 >/dev/null |
    tail -1 | awk '{print $1 + $2}'
}
one=$(cpu 1)
many=$(cpu $((runs + 1)))
awk -v a="$one" -v b="$many" -v n="$runs" -v m="$model" 'BEGIN { printf "%s: %.2f ms CPU per run\n", m, (b - a) * 1000 / n }'
