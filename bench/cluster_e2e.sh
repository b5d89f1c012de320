#!/usr/bin/env bash
# bench/cluster_e2e.sh [BUILD_DIR] [SECONDS]: end-to-end cluster throughput from a C client
# (bench/cluster_e2e.c, libcurl multi, 32 keep-alive connections) against
# `legacygpu serve --workers 2` with the digits model on 127.0.0.1:
#   kserve: each task is one POST /v2/models/digits/infer that answers when it has run;
#   seed:   each task is POST /cluster/tasks then GET /cluster/tasks/{id}/result?wait=30.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
secs=${2:-5}
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
cc -O2 -Wall -Wextra -o "$tmp/cluster_e2e" "$root/bench/cluster_e2e.c" $(pkg-config --cflags --libs libcurl)
"$build/legacygpu" serve --port 0 --bind tcp://127.0.0.1:0 --data "$tmp/data" --models "$root/models" >"$tmp/log" 2>&1 &
pid=$!
url=
for _ in $(seq 100); do
  url=$(grep -o 'API http://127.0.0.1:[0-9]*' "$tmp/log" | cut -d' ' -f2 || true)
  [ -n "$url" ] && curl -sf "$url/v2/health/ready" >/dev/null && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$tmp/log" >&2; exit 1; }
data=$(printf '0.1,%.0s' $(seq 63))0.1
printf '{"inputs":[{"name":"input","shape":[1,1,8,8],"datatype":"FP32","data":[%s]}]}' "$data" >"$tmp/kserve.json"
printf '{"model_name":"digits","input_data":{"inputs":[{"name":"input","shape":[1,1,8,8],"datatype":"FP32","data":[%s]}]},"priority":"HIGH"}' "$data" >"$tmp/seed.json"
echo "kserve: $("$tmp/cluster_e2e" "$url" "$tmp/kserve.json" 32 "$secs" digits)"
echo "seed:   $("$tmp/cluster_e2e" "$url" "$tmp/seed.json" 32 "$secs")"
curl -s -X POST "$url/cluster/shutdown" >/dev/null
wait "$pid"
pid=
