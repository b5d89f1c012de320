#!/usr/bin/env bash
# test_cli.sh: the legacygpu command as a user runs it: good runs produce what they
# promise, and a table of bad inputs each exits non-zero with one clear message (never a
# crash: exit codes >= 128 mean a signal).
# usage: test_cli.sh LEGACYGPU SOURCE_DIR SHARED_DIR
set -u
LG=$1
SRC=$2
SHARED=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0

# expect NAME EXIT_CODE NEEDLE -- COMMAND...: runs COMMAND, checks the exit code and that
# stdout+stderr contains NEEDLE.
expect() {
  local name=$1 want=$2 needle=$3
  shift 4
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -eq "$want" ] && grep -qF -- "$needle" <<<"$out"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    printf 'FAIL %s: exit %d (want %d), output:\n%s\n(want it to contain: %s)\n' "$name" "$rc" "$want" "$(head -c 2000 <<<"$out")" "$needle"
  fi
}

SQ=$SHARED/models/squeezenet1_1
DIGITS=$SRC/models/digits

# Files for the bad cases.
head -c 1000 "$SQ/model.onnx" >"$T/truncated.onnx"
printf 'this is not a model\n' >"$T/text.onnx"
: >"$T/empty.onnx"
printf 'GIF89a not really' >"$T/fake.png"
# A PNG whose header claims 100000 x 100000 pixels (valid signature and IHDR CRC).
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x02\x00\x00\x00' >"$T/huge.png"
/usr/bin/python3 - "$T/huge.png" <<'PY'
import sys, zlib, struct
p = sys.argv[1]
d = open(p, 'rb').read()
ihdr = d[12:29]
open(p, 'ab').write(struct.pack('>I', zlib.crc32(ihdr) & 0xffffffff))
PY

# --- good runs ------------------------------------------------------------------------
expect info 0 "simd:" -- "$LG" info
expect info-json 0 '"backends"' -- "$LG" info --json
expect info-auto 0 "auto:     --backend auto runs on" -- "$LG" info
expect info-json-devices 0 '"devices"' -- "$LG" info --json
# With the Vulkan backend built: a bad LEGACYGPU_VK_DEVICES gets one clear message.
if "$LG" info | grep -q '^backend:  vulkan'; then
  expect info-vk-devices 0 "LEGACYGPU_VK_DEVICES='x': expected a comma list of device indices" -- \
    env LEGACYGPU_VK_DEVICES=x "$LG" info
fi
expect info-simd-path 0 "kernels:  none (LEGACYGPU_SIMD=none" -- env LEGACYGPU_SIMD=none "$LG" info
expect info-simd-json 0 '"simd_path": "none"' -- env LEGACYGPU_SIMD=none "$LG" info --json
expect info-model 0 "input   input: float32 [N,3,224,224]" -- "$LG" info "$SQ/model.onnx"
expect info-shapes 0 "inferred detections: float32 [2,6300,85]" -- "$LG" info "$SHARED/models/yolo_style/model.onnx" --input-shape images=2x3x320x320
expect version 0 "legacygpu 0." -- "$LG" --version
expect run-squeezenet 0 "float32 [1,1000]" -- "$LG" run "$SQ/model.onnx" --input "input=$SQ/test_data_set_0/input_0.pb" --output-dir "$T/out"
[ -s "$T/out/output.pb" ] && [ -s "$T/out/output.npy" ] || { fail=$((fail + 1)); echo "FAIL run-squeezenet: output files missing"; }
expect run-roundtrip 0 "pass" -- "$LG" test-onnx "$SQ"
expect run-json 0 '"run_median"' -- "$LG" run "$SQ/model.onnx" --input "$SQ/test_data_set_0/input_0.pb" --json
# The same input as .npy (written by Debian's numpy/onnx) gives the same output.
/usr/bin/python3 -c "import sys, numpy, onnx; from onnx import numpy_helper as h; numpy.save(sys.argv[2], h.to_array(onnx.load_tensor(sys.argv[1])))" \
  "$SQ/test_data_set_0/input_0.pb" "$T/input.npy"
expect run-npy-input 0 "float32 [1,1000]" -- "$LG" run "$SQ/model.onnx" --input "input=$T/input.npy" --output-dir "$T/o2"
cmp -s "$T/out/output.npy" "$T/o2/output.npy" || { fail=$((fail + 1)); echo "FAIL run-npy-input: outputs differ from the .pb run"; }
# bench: the human report, and --json with every promised field (tiny_transformer: an
# int64 input with two symbolic dims, batch and --dim L).
TT=$SHARED/models/tiny_transformer
expect bench 0 "throughput:" -- "$LG" bench "$SQ/model.onnx" --threads 2 --runs 3 --warmup 1
expect bench-profile 0 "Conv" -- "$LG" bench "$SQ/model.onnx" --threads 1 --runs 2 --warmup 0 --profile
expect bench-input-file 0 "input [1,3,224,224] float32 ($SQ/test_data_set_0/input_0.pb)" -- \
  "$LG" bench "$SQ/model.onnx" --runs 1 --warmup 0 --input "input=$SQ/test_data_set_0/input_0.pb"
"$LG" bench "$TT/model.onnx" --batch 2 --dim L=16 --threads 2 --runs 5 --warmup 1 --json >"$T/bench.json" 2>"$T/bench.err"
if /usr/bin/python3 - "$T/bench.json" <<'PY'; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL bench-json: $(cat "$T/bench.json" "$T/bench.err")"; fi
import json, sys
j = json.load(open(sys.argv[1]))
keys = ["median_ms", "min_ms", "p90_ms", "max_ms", "load_ms", "session_ms", "first_run_ms", "throughput", "peak_rss_mb"]
missing = [k for k in keys if not isinstance(j.get(k), (int, float))]
assert not missing, missing
assert j["min_ms"] <= j["median_ms"] <= j["p90_ms"] <= j["max_ms"], j
assert abs(j["throughput"] - 2 * 1000 / j["median_ms"]) < 1e-6 * j["throughput"], j
assert j["inputs"].startswith("ids [2,16] int64"), j["inputs"]
assert j["batch"] == 2 and j["threads"] == 2 and j["runs"] == 5 and j["peak_rss_mb"] > 1
PY

# info MODEL lists every operator with its domain, opset and count, and marks what this build
# cannot run, with the reason (unknown op, opset not implemented, dtype), before running.
expect info-ops 0 "ai.onnx      Conv                         opset" -- "$LG" info "$SQ/model.onnx"
expect info-ops-none-bad 0 "not runnable by this build" -- "$LG" info "$SQ/model.onnx"
expect info-ops-json 0 '"unsupported_operators": 0' -- "$LG" info --json "$SQ/model.onnx"
/usr/bin/python3 - "$T" <<'PY'
import sys
from onnx import TensorProto as T, helper as h
def save(name, node, dt=T.FLOAT, opsets=(("", 17), ("ai.onnx.ml", 3), ("com.example", 1))):
    g = h.make_graph([node], name, [h.make_tensor_value_info("x", dt, [2, 3])], [h.make_tensor_value_info("y", dt, None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid(d, v) for d, v in opsets])
    open("%s/%s.onnx" % (sys.argv[1], name), "wb").write(m.SerializeToString())
save("op_unknown", h.make_node("Frobnicate", ["x"], ["y"], name="frob", domain="com.example"))
save("op_opset", h.make_node("Relu", ["x"], ["y"], name="relu"), opsets=(("", 99),))
save("op_dtype", h.make_node("Binarizer", ["x"], ["y"], name="bin", domain="ai.onnx.ml"), dt=T.STRING)
PY
expect info-op-unknown 0 "unknown operator: no kernel for Frobnicate in domain com.example" -- "$LG" info "$T/op_unknown.onnx"
expect info-op-unknown-json 0 '"status": "unknown_op"' -- "$LG" info --json "$T/op_unknown.onnx"
expect info-op-opset 0 "opset 99 of ai.onnx is not implemented" -- "$LG" info "$T/op_opset.onnx"
expect info-op-dtype 0 "node 'bin' (ai.onnx.ml.Binarizer, opset 3): X has dtype string" -- "$LG" info "$T/op_dtype.onnx"
expect info-op-dtype-json 0 '"status": "unsupported"' -- "$LG" info --json "$T/op_dtype.onnx"

# Models using the newer ONNX features badly: an int4 initializer whose packed byte count
# does not match its shape, a model-local function that calls itself, a sequence input
# of more elements than a sequence may hold (2^20).
/usr/bin/python3 - "$T" <<'PY'
import sys
from onnx import TensorProto as T, helper as h
d = sys.argv[1]
def model(nodes, inputs, outputs, inits=(), opsets=(("", 21),), functions=()):
    g = h.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid(a, b) for a, b in opsets])
    m.functions.extend(functions)
    return m.SerializeToString()
w = T(name="w", data_type=22, dims=[3], raw_data=b"\x7f\x08\x00")  # int4 [3] packs into 2 bytes, not 3
open(d + "/int4_odd.onnx", "wb").write(model([h.make_node("Identity", ["w"], ["y"])], [], [h.make_tensor_value_info("y", 22, [3])], [w]))
f = h.make_function("local", "Loop1", ["a"], ["b"], [h.make_node("Loop1", ["a"], ["b"], domain="local")], [h.make_opsetid("", 21), h.make_opsetid("local", 1)])
open(d + "/recursive_fn.onnx", "wb").write(model([h.make_node("Loop1", ["x"], ["y"], domain="local")],
    [h.make_tensor_value_info("x", T.FLOAT, [2])], [h.make_tensor_value_info("y", T.FLOAT, [2])], opsets=(("", 21), ("local", 1)), functions=[f]))
import os
os.makedirs(d + "/huge_seq/test_data_set_0")
seq = h.make_tensor_sequence_value_info("s", T.FLOAT, None)
open(d + "/huge_seq/model.onnx", "wb").write(model([h.make_node("SequenceLength", ["s"], ["y"])], [seq], [h.make_tensor_value_info("y", T.INT64, [])]))
# a SequenceProto of 2^20 + 1 empty float tensors (field 3: dims [0], data_type 1)
open(d + "/huge_seq/test_data_set_0/input_0.pb", "wb").write(b"\x1a\x04\x08\x00\x10\x01" * ((1 << 20) + 1))
PY

# An early model zoo op (ImageScaler, opset 7, IR 3) runs.
/usr/bin/python3 - "$T" <<'PY'
import sys, os, numpy as np
from onnx import helper as h, TensorProto as T, numpy_helper as nh
d = sys.argv[1] + "/imagescaler"
os.makedirs(d + "/test_data_set_0")
g = h.make_graph([h.make_node("ImageScaler", ["x"], ["y"], scale=2.0, bias=[1.0, -1.0, 0.5])], "g",
                 [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 2, 2])], [h.make_tensor_value_info("y", T.FLOAT, [1, 3, 2, 2])])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 7)])
m.ir_version = 3
open(d + "/model.onnx", "wb").write(m.SerializeToString())
x = np.arange(12, dtype=np.float32).reshape(1, 3, 2, 2)
y = x * 2 + np.array([1, -1, 0.5], dtype=np.float32).reshape(1, 3, 1, 1)
open(d + "/test_data_set_0/input_0.pb", "wb").write(nh.from_array(x, "x").SerializeToString())
open(d + "/test_data_set_0/output_0.pb", "wb").write(nh.from_array(y, "y").SerializeToString())
PY
expect old-opset-imagescaler 0 "1 passed, 0 failed" -- "$LG" test-onnx "$T/imagescaler"

# --- bad input ------------------------------------------------------------------------
expect no-command 2 "usage:" -- "$LG"
expect unknown-command 2 "unknown command 'frobnicate'" -- "$LG" frobnicate
expect missing-model 1 "cannot open /nonexistent/model.onnx" -- "$LG" run /nonexistent/model.onnx
expect truncated-model 1 "not a valid ONNX model" -- "$LG" run "$T/truncated.onnx"
expect text-model 1 "not a valid ONNX model" -- "$LG" run "$T/text.onnx"
expect empty-model 1 "empty file" -- "$LG" run "$T/empty.onnx"
expect wrong-input-name 1 "no input named 'nosuch'" -- "$LG" run "$SQ/model.onnx" --input "nosuch=$SQ/test_data_set_0/input_0.pb"
expect wrong-input-shape 1 "must have shape" -- "$LG" run "$SQ/model.onnx" --input "input=$T/out/output.npy"
expect missing-input 1 "input 'input' is missing" -- "$LG" run "$SQ/model.onnx"
expect bad-tensor-file 1 "not a valid ONNX TensorProto" -- "$LG" run "$SQ/model.onnx" --input "input=$T/text.onnx"
expect bench-no-model 2 "bench needs exactly one MODEL" -- "$LG" bench
expect bench-bad-runs 2 "--runs expects an integer" -- "$LG" bench "$SQ/model.onnx" --runs 0
expect bench-bad-precision 2 "--precision expects fp32 or fp16" -- "$LG" bench "$SQ/model.onnx" --precision fp8
expect bench-bad-dim 2 "--dim expects NAME=N" -- "$LG" bench "$TT/model.onnx" --dim L
expect bench-bad-input 1 "expected NAME=FILE with NAME an input" -- "$LG" bench "$SQ/model.onnx" --input nosuch=x.npy
expect bench-bad-backend 1 "backend 'nosuch' is not available" -- "$LG" bench "$SQ/model.onnx" --backend nosuch
expect bench-missing-model 1 "cannot open /nonexistent/model.onnx" -- "$LG" bench /nonexistent/model.onnx
expect test-onnx-not-dir 1 "not a test case folder" -- "$LG" test-onnx /nonexistent
expect int4-odd-bytes 1 "raw_data has 3 bytes, expected 2" -- "$LG" run "$T/int4_odd.onnx"
expect recursive-function 1 "model-local function 'local.Loop1' calls itself" -- "$LG" run "$T/recursive_fn.onnx"
expect huge-sequence 1 "a sequence of more than 1048576 elements" -- "$LG" test-onnx "$T/huge_seq"
if [ -f "$DIGITS/model.onnx" ]; then
  expect infer-not-image 1 "$T/fake.png" -- "$LG" infer "$DIGITS/model.onnx" "$T/fake.png"
  expect infer-huge-image 1 "100000" -- "$LG" infer "$DIGITS/model.onnx" "$T/huge.png"
  expect infer-missing-image 1 "/nonexistent.png" -- "$LG" infer "$DIGITS/model.onnx" /nonexistent.png
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
