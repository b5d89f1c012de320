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
if [ -f "$DIGITS/model.onnx" ]; then
  expect infer-not-image 1 "$T/fake.png" -- "$LG" infer "$DIGITS/model.onnx" "$T/fake.png"
  expect infer-huge-image 1 "100000" -- "$LG" infer "$DIGITS/model.onnx" "$T/huge.png"
  expect infer-missing-image 1 "/nonexistent.png" -- "$LG" infer "$DIGITS/model.onnx" /nonexistent.png
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
