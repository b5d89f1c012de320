#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS]: builds the libFuzzer targets with clang and runs each for
# SECONDS (default 60) from a seed corpus made of the project's own models and tensors and
# the ONNX conformance suite's models (Debian's libonnx-testdata), plus ONNX 1.22's cases of
# the float8/float4/int4/int2 types (../shared/onnx-node-1.22). Fails on any crash.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
build=build-fuzz
CC=clang cmake -S . -B $build -G Ninja -DLG_FUZZ=ON -DLG_TESTS=OFF -DLG_WERROR=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
ninja -C $build fuzz_model_load fuzz_tensor_read >/dev/null

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$corpus/model" "$corpus/tensor"
n=0
for m in models/*/model.onnx /usr/share/libonnx-testdata/data/node/test_*/model.onnx; do
  [ -f "$m" ] || continue
  [ "$(stat -c %s "$m")" -lt 65536 ] || continue
  cp "$m" "$corpus/model/seed$n.onnx"
  n=$((n + 1))
  [ $n -lt 300 ] || break
done
# ONNX 1.22's cases of the newer element types (float8, float4, int4/uint4, int2/uint2,
# e8m0: packed and unpacked in the loader), sequences and optionals as model and tensor seeds.
new_types=(../shared/onnx-node-1.22/test_*{FLOAT8,FLOAT4,INT4,UINT4,INT2,UINT2,e8m0,e4m3,e5m2,int4,uint4,int2,uint2,float4,bitcast,sequence,optional}*)
for c in "${new_types[@]}"; do
  [ -f "$c/model.onnx" ] || continue
  cp "$c/model.onnx" "$corpus/model/seed$n.onnx"
  n=$((n + 1))
done
k=0
for c in "${new_types[@]}"; do
  for t in "$c"/test_data_set_0/*.pb; do
    [ -f "$t" ] || continue
    pick='\x00' # TensorProto; SequenceProto (2) and OptionalProto (3) for those cases
    case "$c" in *sequence*) pick='\x02' ;; *optional*) pick='\x03' ;; esac
    { printf "$pick"; cat "$t"; } >"$corpus/tensor/pb$k"
    k=$((k + 1))
  done
done
for t in /usr/share/libonnx-testdata/data/node/test_*/test_data_set_0/input_0.pb; do
  [ "$(stat -c %s "$t")" -lt 16384 ] || continue
  { printf '\x00'; cat "$t"; } >"$corpus/tensor/pb$k"
  k=$((k + 1))
  [ $k -lt 400 ] || break
done
printf '\x01\x93NUMPY\x01\x00\x46\x00{'"'"'descr'"'"': '"'"'<f4'"'"', '"'"'fortran_order'"'"': False, '"'"'shape'"'"': (2, 2), }          \n' >"$corpus/tensor/npy0"
head -c 16 /dev/zero >>"$corpus/tensor/npy0"

for target in fuzz_model_load:model fuzz_tensor_read:tensor; do
  bin=${target%%:*}
  dir=${target##*:}
  echo "fuzz: $bin for ${secs}s from $(ls "$corpus/$dir" | wc -l) seeds"
  ASAN_OPTIONS=detect_leaks=1 ./$build/fuzz/$bin -max_total_time="$secs" -rss_limit_mb=2048 -max_len=200000 \
    -print_final_stats=1 -artifact_prefix="$build/" "$corpus/$dir" 2>&1 | tail -n 12
done
