#!/usr/bin/env bash
# scripts/demo.sh: the main job on a fresh Debian 12 machine: installs what it needs,
# builds legacygpu, and classifies the demo digit images with the demo model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build
./build/legacygpu info
echo
echo "\$ legacygpu infer models/digits/model.onnx models/digits/samples/*.png"
./build/legacygpu infer models/digits/model.onnx models/digits/samples/*.png
