#!/usr/bin/env bash
# qemu_digits.sh CPU LEGACYGPU SOURCE_DIR: the digits demo (`legacygpu infer`) under
# `qemu-x86_64 -cpu CPU`: every sample image digit_N.png must come out as class N.
set -u
cpu=$1 lg=$2 src=$3
out=$(qemu-x86_64 -cpu "$cpu" "$lg" infer "$src/models/digits/model.onnx" "$src"/models/digits/samples/digit_*.png --top 1 2>&1)
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: legacygpu infer exited $rc under -cpu $cpu:"; echo "$out"; exit 1; }
# Output: the image path, then "  PROB  LABEL".
bad=$(awk '/digit_[0-9]\.png$/ { match($0, /digit_[0-9]/); want = substr($0, RSTART + 6, 1); next }
           want != "" && NF == 2 { if ($2 != want) print "digit_" want ".png -> " $2; n++; want = "" }
           END { if (n != 10) print "expected 10 results, got " n }' <<<"$out")
[ -z "$bad" ] || { echo "FAIL under -cpu $cpu: $bad"; echo "$out"; exit 1; }
echo "digits under -cpu $cpu: 10 of 10 classified correctly"
