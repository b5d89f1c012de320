#!/usr/bin/env bash
# bench/cluster_bench.sh: runs the cluster's HTTP benchmarks (bench/cluster_bench.py) against a
# build: `bash bench/cluster_bench.sh [BUILD_DIR] [cluster_bench.py options]`. Needs wrk.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shift || true
command -v wrk >/dev/null || { echo "cluster_bench: wrk is missing (bash scripts/deps.sh)" >&2; exit 1; }
exec /usr/bin/python3 "$root/bench/cluster_bench.py" --cli "$build/legacygpu" --models "$root/models" "$@"
