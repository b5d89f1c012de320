#!/usr/bin/env bash
# bench/compare_ort.sh [options] [MODEL_DIR...]: legacygpu against ONNX Runtime 1.30
# (npm onnxruntime-node@1.30.0, CPU, graph optimisation "all") on the same inputs, same
# threads, runs alternated A B A B: per model, thread count and batch size the latency
# ratio (median legacygpu / median ORT), the outputs' max abs difference, load + session
# time and peak memory of each. MODEL_DIR: a folder with model.onnx, or a folder of them
# (default ../shared/models). Writes bench/results/compare_ort.{md,csv} (--out DIR).
# Options (bench/compare_ort.py): --threads 1,2  --batch 1,8  --runs 10  --warmup 2
#   --rounds 3  --only resnet50,mobilenet_v2  --legacygpu PATH (default build/legacygpu).
# LEGACYGPU_SIMD=avx2 (etc.) restricts legacygpu's kernels; ORT is not restricted.
# Then `bash bench/plot_ratios.sh` draws docs/img/cpu_ratios.png from the CSV.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d bench/node_modules/onnxruntime-node ]; then
  (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund >/dev/null)
fi
exec /usr/bin/python3 bench/compare_ort.py "$@"
