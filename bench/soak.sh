#!/usr/bin/env bash
# bench/soak.sh [BUILD_DIR] [MINUTES=10] [WINDOW_S=60] [CLIENTS=32] [STORE_MB=64]: a soak of
# `legacygpu serve --workers 2` (digits model, 127.0.0.1) at the highest rate it sustains:
# CLIENTS closed-loop clients (bench/cluster_e2e.c, seed API: submit, then long-poll the
# result) for MINUTES, measured in windows of WINDOW_S seconds, with a store budget of
# STORE_MB MiB. After each window: tasks/s, p50/p99 latency, the server's RSS and the
# database's size. It passes when, after the first window (warm-up), RSS grows by less
# than 5%, the database file stays within its budget (+10%: it is enforced once a second)
# and its write-ahead log within 40 MiB (checkpoints at 32 MiB), and the
# last window's p99 is within 2x of the first's (a loaded machine jitters; a leak or an
# unbounded table shows as a trend, not a spike). Exit 1 otherwise.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
minutes=${2:-10}
window=${3:-60}
clients=${4:-32}
store_mb=${5:-64}
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
cc -O2 -Wall -Wextra -o "$tmp/cluster_e2e" "$root/bench/cluster_e2e.c" $(pkg-config --cflags --libs libcurl)
"$build/legacygpu" serve --port 0 --bind tcp://127.0.0.1:0 --data "$tmp/data" --models "$root/models" \
  --store-max-mb "$store_mb" >"$tmp/log" 2>&1 &
pid=$!
url=
for _ in $(seq 100); do
  url=$(grep -o 'API http://127.0.0.1:[0-9]*' "$tmp/log" | cut -d' ' -f2 || true)
  [ -n "$url" ] && curl -sf "$url/v2/health/ready" >/dev/null && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$tmp/log" >&2; exit 1; }
data=$(printf '0.1,%.0s' $(seq 63))0.1
printf '{"model_name":"digits","input_data":{"inputs":[{"name":"input","shape":[1,1,8,8],"datatype":"FP32","data":[%s]}]},"priority":"HIGH"}' "$data" >"$tmp/seed.json"
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
db_bytes() { stat -c %s "$tmp/data/legacygpu.db"; }
wal_bytes() { stat -c %s "$tmp/data/legacygpu.db-wal" 2>/dev/null || echo 0; }
windows=$(( minutes * 60 / window ))
[ "$windows" -ge 2 ] || windows=2
echo "soak: $windows windows of ${window} s, $clients clients, store budget ${store_mb} MiB, $(nproc) cores"
printf '%-6s %9s %8s %8s %9s %9s %8s %8s\n' window tasks/s p50_ms p99_ms rss_mib db_mib wal_mib purged
first_rss= first_p99= last_rss= last_p99= max_db=0 max_wal=0
for w in $(seq "$windows"); do
  out=$("$tmp/cluster_e2e" "$url" "$tmp/seed.json" "$clients" "$window")
  rate=$(echo "$out" | sed -n 's/.*"tasks_per_s": \([0-9.]*\).*/\1/p')
  p50=$(echo "$out" | sed -n 's/.*"latency_p50_ms": \([0-9.]*\).*/\1/p')
  p99=$(echo "$out" | sed -n 's/.*"latency_p99_ms": \([0-9.]*\).*/\1/p')
  rss=$(rss_kb)
  db=$(db_bytes)
  wal=$(wal_bytes)
  [ "$wal" -gt "$max_wal" ] && max_wal=$wal
  purged=$(curl -s "$url/metrics" | awk '/^legacygpu_tasks_purged_total / {print $2}')
  [ "$db" -gt "$max_db" ] && max_db=$db
  printf '%-6s %9s %8s %8s %9.1f %9.1f %8.1f %8s\n' "$w" "$rate" "$p50" "$p99" "$(echo "$rss / 1024" | bc -l)" \
    "$(echo "$db / 1048576" | bc -l)" "$(echo "$wal / 1048576" | bc -l)" "$purged"
  if [ "$w" -eq 1 ]; then first_rss=$rss; first_p99=$p99; fi
  last_rss=$rss; last_p99=$p99
done
curl -s -X POST "$url/cluster/shutdown" >/dev/null
wait "$pid"
pid=
growth=$(echo "($last_rss - $first_rss) * 100 / $first_rss" | bc -l)
limit=$(( store_mb * 1048576 * 11 / 10 ))  # the budget is enforced once a second: 10% of slack
ok=1
printf 'RSS after warm-up %.1f MiB, at the end %.1f MiB: %+.1f%% (limit +5%%)\n' "$(echo "$first_rss/1024" | bc -l)" \
  "$(echo "$last_rss/1024" | bc -l)" "$growth"
[ "$(echo "$growth < 5" | bc)" -eq 1 ] || ok=0
printf 'database file at most %.1f MiB (budget %d MiB + 10%%), its WAL at most %.1f MiB (limit 40)\n' \
  "$(echo "$max_db/1048576" | bc -l)" "$store_mb" "$(echo "$max_wal/1048576" | bc -l)"
[ "$max_db" -le "$limit" ] || ok=0
[ "$max_wal" -le $(( 40 * 1048576 )) ] || ok=0
printf 'p99 first window %s ms, last %s ms (limit 2x)\n' "$first_p99" "$last_p99"
[ "$(echo "$last_p99 <= 2 * $first_p99" | bc)" -eq 1 ] || ok=0
[ "$ok" -eq 1 ] && echo "soak: PASS" || { echo "soak: FAIL"; exit 1; }
