#!/usr/bin/env bash
# bench/events_bench.sh [BUILD_DIR] [SECONDS] [ROUNDS]: does following the event stream
# slow the cluster? Runs the end-to-end benchmark's client (bench/cluster_e2e.c, KServe
# infer, 32 connections) against `legacygpu serve --workers 2`, each round three ways in
# turn so load from elsewhere on the machine falls on all alike: without followers; with
# 100 followers that never read (slow consumers: the server must not wait for them); and
# with 100 followers reading everything as fast as they can (bench/events_clients.py, on
# the same machine, so their reading competes for its cores). Prints each run and the
# medians.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
secs=${2:-5}
rounds=${3:-3}
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
rate() { sed -n 's/.*"tasks_per_s": \([0-9.]*\).*/\1/p' <<<"$1"; }
without=() stuck=() reading=()
followed() { # followed READERS STUCK: one e2e run while the followers are connected
  python3 "$root/bench/events_clients.py" "$url" "$1" $((secs + 3)) "$2" >"$tmp/followers" &
  fpid=$!
  for _ in $(seq 200); do grep -q ready "$tmp/followers" && break; sleep 0.05; done
  out=$("$tmp/cluster_e2e" "$url" "$tmp/kserve.json" 32 "$secs" digits)
  wait "$fpid"
}
for r in $(seq "$rounds"); do
  out=$("$tmp/cluster_e2e" "$url" "$tmp/kserve.json" 32 "$secs" digits)
  echo "round $r without followers: $out"
  without+=("$(rate "$out")")
  followed 0 100
  echo "round $r with 100 followers that never read: $out"
  echo "  followers: $(tail -1 "$tmp/followers")"
  stuck+=("$(rate "$out")")
  followed 100 0
  echo "round $r with 100 followers reading everything: $out"
  echo "  followers: $(tail -1 "$tmp/followers")"
  reading+=("$(rate "$out")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.1f%%", (a/b-1)*100}'; }
mw=$(median "${without[@]}") ms=$(median "${stuck[@]}") mr=$(median "${reading[@]}")
echo "median tasks/s: without $mw; 100 that never read $ms ($(pct "$ms" "$mw")); 100 reading $mr ($(pct "$mr" "$mw"))"
curl -s -X POST "$url/cluster/shutdown" >/dev/null
wait "$pid"
pid=
