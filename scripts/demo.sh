#!/usr/bin/env bash
# scripts/demo.sh [--stop]: the main job on a fresh Debian 12 machine: installs what it
# needs, builds legacygpu, classifies the demo digit images with the engine alone
# (`legacygpu infer`), then starts the embedded cluster (`legacygpu serve`: coordinator,
# REST API, 2 local workers) in the background, submits digit images through the API
# (`legacygpu task submit --wait`), prints their results and leaves the server running
# with its URL shown. --stop stops it cleanly at the end instead. Running it again
# first stops the server an earlier run left and starts with an empty task store.
set -euo pipefail
cd "$(dirname "$0")/.."

stop_at_end=0
case "${1:-}" in
  --stop) stop_at_end=1 ;;
  "") ;;
  *) echo "usage: bash scripts/demo.sh [--stop]" >&2; exit 2 ;;
esac

bash scripts/deps.sh
bash scripts/build.sh build
bin=./build/legacygpu
$bin info
echo
echo "\$ legacygpu infer models/digits/model.onnx models/digits/samples/*.png"
$bin infer models/digits/model.onnx models/digits/samples/*.png

# ---- the cluster ------------------------------------------------------------------------
state=build/demo
mkdir -p "$state"
pid_file=$state/serve.pid
log=$state/serve.log

# Waits up to $2 seconds for process $1 to exit.
wait_exit() {
  local deadline=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

stop_server() {
  local pid
  pid=$(cat "$pid_file" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    wait_exit "$pid" 60 || { echo "demo: server $pid did not stop in 60 s" >&2; return 1; }
    echo "demo: server $pid stopped (drained)"
  fi
  rm -f "$pid_file"
}

# HTTP status of GET $1 (a path) on 127.0.0.1:$port, without curl: bash's /dev/tcp.
http_status() {
  local line=""
  exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || { echo 000; return; }
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&3
  read -r -t 5 line <&3 || true
  exec 3<&- 3>&-
  set -- $line
  echo "${2:-000}"
}

stop_server
rm -rf "$state/data" # each demo starts with an empty task store
echo
echo "\$ legacygpu serve --models models --port 0 --bind tcp://127.0.0.1:0 --data $state/data &"
: >"$log"
setsid nohup "$bin" serve --models models --port 0 --bind tcp://127.0.0.1:0 --data "$state/data" \
  >"$log" 2>&1 </dev/null &
echo $! >"$pid_file"

# The API's URL from the server's first lines, then readiness (a worker registered).
deadline=$((SECONDS + 30))
api=""
while [ -z "$api" ]; do
  api=$(sed -n 's/^legacygpu: API \(http:[^ ]*\).*/\1/p' "$log")
  if [ -z "$api" ]; then
    if ! kill -0 "$(cat "$pid_file")" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "demo: the server did not start:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.1
  fi
done
port=${api##*:}
until [ "$(http_status /v2/health/ready)" = 200 ]; do
  if [ $SECONDS -ge $deadline ]; then
    echo "demo: $api/v2/health/ready did not answer 200 within 30 s:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
cat "$log"
export LEGACYGPU_API=$api

echo
echo "\$ legacygpu task submit --model digits --input models/digits/samples/digit_{0,3,5,8}.png --wait"
$bin task submit --model digits --wait \
  --input models/digits/samples/digit_0.png --input models/digits/samples/digit_3.png \
  --input models/digits/samples/digit_5.png --input models/digits/samples/digit_8.png
echo
echo "\$ legacygpu cluster status"
$bin cluster status

echo
if [ $stop_at_end = 1 ]; then
  stop_server
else
  echo "The cluster keeps running at $api (log: $log, pid $(cat "$pid_file"))."
  echo "  dashboard: $api/   (open it in a browser)"
  echo "  export LEGACYGPU_API=$api"
  echo "  ./build/legacygpu task submit --model digits --input models/digits/samples/digit_7.png --wait"
  echo "  ./build/legacygpu cluster events      # follow tasks and workers live"
  echo "  ./build/legacygpu cluster stop        # drains and stops it"
fi
