#!/usr/bin/env bash
# tests/vulkan/test_vulkan_cli.sh LEGACYGPU SHARED: the Vulkan backend as a user meets it,
# with the test caps of docs/gpu.md: out of device memory (a clear error with --backend
# vulkan; the CPU with a warning under auto), tensors larger than one binding, placement
# in `info`. Exits 77 (skipped) without a Vulkan device or without the shared models.
set -uo pipefail
cli=$1
shared=$2
model=$shared/models/squeezenet1_1
[ -f "$model/model.onnx" ] || { echo "SKIP: $model is missing (the shared test models)"; exit 77; }
"$cli" info --json | /usr/bin/python3 -c '
import json, sys
sys.exit(0 if any(d.get("backend", "vulkan") == "vulkan" for d in json.load(sys.stdin).get("devices", [])) else 1)' ||
    { echo "SKIP: no Vulkan device on this machine"; exit 77; }
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() { # check NAME WANT_RC NEEDLE CMD...: exit status and a line of its output
    local name=$1 want=$2 needle=$3
    shift 3
    "$@" > "$tmp/out" 2>&1
    local rc=$?
    if [ "$rc" -ne "$want" ] || ! grep -qF -- "$needle" "$tmp/out"; then
        echo "FAIL $name: exit $rc (want $want), output lacks '$needle':"
        tail -5 "$tmp/out"
        failures=$((failures + 1))
    else
        echo "ok   $name"
    fi
}
check "out of device memory names what and the heap" 1 "cannot allocate" \
    env LEGACYGPU_VK_MEM_LIMIT_MB=1 "$cli" test-onnx --backend vulkan "$model"
check "out of device memory under auto: the CPU, with a warning" 0 "running on the CPU instead" \
    env LEGACYGPU_VK_MEM_LIMIT_MB=1 LEGACYGPU_VK_AUTO_SOFTWARE=1 "$cli" test-onnx --backend auto "$model"
check "auto takes the software device only when allowed" 0 "placement on vulkan:0" \
    env LEGACYGPU_VK_AUTO_SOFTWARE=1 "$cli" info "$model/model.onnx" --backend auto
check "auto skips lavapipe by default" 0 "placement on cpu" "$cli" info "$model/model.onnx" --backend auto
check "tensors larger than a 1 MiB binding still give the right result" 0 "1 passed, 0 failed" \
    env LEGACYGPU_VK_MAX_BINDING_MB=1 "$cli" test-onnx --backend vulkan "$model"
check "placement lists every node with --nodes" 0 "Conv" "$cli" info "$model/model.onnx" --backend vulkan --nodes
check "a device that does not exist" 1 "no device 7" "$cli" test-onnx --backend vulkan:7 "$model"
check "a backend that does not exist" 2 "--backend expects" "$cli" run "$model/model.onnx" --backend metal
check "bad precision" 2 "--precision expects fp32 or fp16" "$cli" infer "$model/model.onnx" x.png --precision fp8
echo "$((9 - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
