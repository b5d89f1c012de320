#!/usr/bin/env bash
# scripts/test.sh: every test legacygpu has, as CI runs it on a fresh Debian 12 machine:
#   1. install the Debian packages (scripts/deps.sh),
#   2. build with -Wall -Wextra -Werror and run the whole CTest suite (unit, models,
#      conformance floor, command line),
#   3. build again with AddressSanitizer + UndefinedBehaviorSanitizer and rerun the unit
#      and command-line tests,
#   4. run each libFuzzer target for 60 s from its seed corpus (FUZZ_SECONDS to change),
#      and the REST API fuzzer (tests/fuzz_api/fuzz_api.py) against the sanitizer build.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash scripts/deps.sh

echo "== build and test"
bash scripts/build.sh build
status=0
(cd build && ctest --output-on-failure -j "$jobs") || status=1

echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
bash scripts/build.sh build-asan -DLG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j "$jobs" -L 'unit|cli') || status=1

echo "== fuzzing"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-60}" || status=1
# The REST API, from its own /openapi.json, against the sanitizer build.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  python3 tests/fuzz_api/fuzz_api.py build-asan/legacygpu . build-asan/fuzz_api "${FUZZ_SECONDS:-60}" || status=1

exit $status
