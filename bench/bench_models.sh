#!/usr/bin/env bash
# bench/bench_models.sh [MODEL...]: legacygpu against ONNX Runtime 1.30 (the reference,
# measured in the same run) on the shared models at batch 1, 2 threads: median latency
# and peak memory (max RSS from /usr/bin/time -v; ONNX Runtime's minus the Node.js
# baseline). Prints a Markdown table for docs/performance.md. Needs a built ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${LG_SHARED_DIR:-../shared}
REPEAT=${REPEAT:-20}
LG=./build/legacygpu
[ -x "$LG" ] || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
if [ ! -d bench/node_modules/onnxruntime-node ]; then
  (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund >/dev/null)
fi
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(resnet50 mobilenet_v2 squeezenet1_1 shufflenet_v2_x1_0 tiny_transformer yolo_style)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

peak_kb() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '/Maximum resident set size/ {print $6}'; }
node_base=$(peak_kb node -e "require('$PWD/bench/node_modules/onnxruntime-node')")

echo "| model | file MB | legacygpu ms | ORT ms | ratio (lg/ORT) | legacygpu peak MB | ORT peak MB (above node) | peak / file |"
echo "|---|---|---|---|---|---|---|---|"
for m in "${models[@]}"; do
  dir=$SHARED/models/$m
  in=$dir/test_data_set_0/input_0.pb
  name=$(/usr/bin/python3 -c "import onnx,sys; print(onnx.load_tensor(sys.argv[1]).name)" "$in")
  /usr/bin/python3 -c "import onnx,sys,numpy; from onnx import numpy_helper as h; numpy.save(sys.argv[2], h.to_array(onnx.load_tensor(sys.argv[1])))" "$in" "$tmp/$m.npy"
  lg_ms=$($LG run "$dir/model.onnx" --input "$name=$in" --threads 2 --repeat "$REPEAT" --json | /usr/bin/python3 -c "import json,sys; print('%.1f' % json.load(sys.stdin)['timing_ms']['run_median'])")
  ort_ms=$(node bench/ort_run.mjs "$dir/model.onnx" "$name=$tmp/$m.npy" --threads 2 --repeat "$REPEAT" | /usr/bin/python3 -c "import json,sys; print('%.1f' % json.load(sys.stdin)['median_ms'])")
  lg_kb=$(peak_kb $LG run "$dir/model.onnx" --input "$name=$in" --threads 2)
  ort_kb=$(peak_kb node bench/ort_run.mjs "$dir/model.onnx" "$name=$tmp/$m.npy" --threads 2 --repeat 1 --warmup 0)
  size=$(stat -c %s "$dir/model.onnx")
  /usr/bin/python3 - "$m" "$size" "$lg_ms" "$ort_ms" "$lg_kb" "$ort_kb" "$node_base" <<'PY'
import sys
m, size, lg, ort, lgkb, ortkb, base = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
print(f"| {m} | {size/1e6:.1f} | {lg:.1f} | {ort:.1f} | {lg/ort:.2f} | {lgkb/1024:.0f} | {(ortkb-base)/1024:.0f} | {lgkb*1024/size:.2f} |")
PY
done
