#!/usr/bin/env bash
# scripts/deps.sh [--train] [--plot]: installs every Debian 12 package that legacygpu's build, tests,
# fuzzers and demo need (--train: also what retraining the demo model needs; --plot: gnuplot for
# bench/plot_ratios.sh's chart, not needed by CI).
# Idempotent: packages already present are skipped; `apt-get update` runs at most once per call.
set -euo pipefail

PKGS=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  # model loading: protobuf-c generates C from Debian's onnx.proto (libonnx-dev)
  protobuf-c-compiler libprotobuf-c-dev libonnx-dev
  # image decoding
  libjpeg62-turbo-dev libpng-dev
  # RegexFullMatch: RE2-style patterns (\w inside classes) through PCRE2
  libpcre2-dev
  # cluster, API, CLI
  libzmq3-dev libczmq-dev libmicrohttpd-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev
  # event stream over WebSocket (framing), the dashboard's charts (embedded at build time)
  libwslay-dev libjs-chart.js
  # Vulkan backend: headers and loader, the shader compiler (python3 embeds the SPIR-V);
  # tests: Mesa's lavapipe (the CPU Vulkan device CI runs on) and the Khronos validation layer
  libvulkan-dev glslc mesa-vulkan-drivers vulkan-validationlayers
  # tests: unit framework, conformance data, numpy/onnx for converting test tensors
  libcmocka-dev libonnx-testdata python3 python3-numpy python3-onnx
  # ai.onnx.ml tests: real scikit-learn pipelines written as ONNX (tests/ml)
  python3-sklearn
  # cluster tests and benchmarks: promtool (prometheus) checks /metrics, wrk loads the API;
  # openssl makes the TLS tests' CA and certificates, ip (iproute2) the partition test's
  # network namespaces, curl and bc serve bench/soak.sh
  prometheus wrk openssl iproute2 curl bc
  # the Debian package and its test: cpack's dpkg-shlibdeps (dpkg-dev) reads ELF files
  # (file); the test renders the man page (man-db)
  dpkg-dev file man-db
  # dashboard tests: Debian's browser, driven headless by puppeteer-core (npm, tests/browser)
  chromium
  # old CPUs in CI: the model tests under qemu-x86_64 -cpu Nehalem / SandyBridge / Haswell
  qemu-user
)

# Retraining the demo model (scripts/make_demo_model.py) also needs PyTorch:
# `bash scripts/deps.sh --train`; the benchmark chart (bench/plot_ratios.sh) gnuplot: --plot.
for flag in "$@"; do
  case $flag in
    --train) PKGS+=(python3-torch) ;;
    --plot) PKGS+=(gnuplot-nox) ;;
    *) echo "deps: unknown option $flag (--train, --plot)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PKGS[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
