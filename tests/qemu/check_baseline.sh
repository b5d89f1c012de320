#!/usr/bin/env bash
# check_baseline.sh BUILD_DIR: the engine, cluster and CLI objects outside the dispatched
# files (*_sse41.c, *_avx.c, *_avx2.c, *_avx512.c) hold no VEX/EVEX instruction (AVX and
# up: v-prefixed SIMD mnemonics, ymm/zmm registers) and no SSE4.1-only instruction, so the
# binary starts and runs on any x86-64 CPU, the dispatched paths aside.
set -u
build=$1
objs=$(find "$build/CMakeFiles" -name '*.c.o' \( -path '*legacygpu.dir*' -o -path '*legacygpu_cluster.dir*' -o -path '*legacygpu_cli.dir*' \) |
       grep -Ev '_(sse41|avx|avx2|avx512)\.c\.o$')
[ -n "$objs" ] || { echo "FAIL: no objects under $build/CMakeFiles"; exit 1; }
sse41='(blendv?p[sd]|dpp[sd]|extractps|insertps|mpsadbw|packusdw|pblendvb|pblendw|pcmpeqq|pextr[bdq]|phminposuw|pinsr[bdq]|pmax(sb|sd|ud|uw)|pmin(sb|sd|ud|uw)|pmov[sz]x[bwd][wdq]|pmul(dq|ld)|ptest|round[ps][sd])'
found=0 n=0
for o in $objs; do
  n=$((n + 1))
  hits=$(objdump -d --no-show-raw-insn "$o" | grep -P "^\s+[0-9a-f]+:\s+(v[a-z0-9]+\s.*%[xyz]mm|\S+\s.*%[yz]mm|${sse41}\s)" | head -3)
  if [ -n "$hits" ]; then
    echo "FAIL: $o uses instructions beyond baseline x86-64:"
    echo "$hits"
    found=1
  fi
done
[ $found -eq 0 ] && echo "baseline x86-64: $n objects checked, no AVX or SSE4.1 instruction outside the dispatched files"
exit $found
