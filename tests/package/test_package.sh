#!/usr/bin/env bash
# test_package.sh BUILD_DIR SOURCE_DIR: the Debian package as a user gets it: builds it with
# `cpack -G DEB`, checks its Depends (found by dpkg-shlibdeps) name every shared library
# the binary links, extracts it with `dpkg -x` into a temporary root and, from there, runs
# `legacygpu info` and the digits demo, renders the man page, sources the completion, and
# compiles and runs a program against the installed headers, library and legacygpu.pc.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL package: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log" >&2; fail "cpack -G DEB"; }
deb=$(ls "$tmp"/out/*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "cpack made no .deb (see above)"
echo "package: $(basename "$deb")"

depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for pkg in libc6 libzmq5 libczmq4 libmicrohttpd12 libcurl4 libjansson4 libsqlite3-0 libpng16-16 libjpeg62-turbo \
           libprotobuf-c1; do
  grep -q "\b$pkg\b" <<<"$depends" || fail "Depends lacks $pkg"
done

root="$tmp/root"
dpkg -x "$deb" "$root"
for f in usr/bin/legacygpu usr/lib/liblegacygpu.a usr/lib/liblegacygpu_onnx.a usr/include/legacygpu/legacygpu.h \
         usr/include/legacygpu/engine.h usr/lib/pkgconfig/legacygpu.pc usr/share/man/man1/legacygpu.1 \
         usr/share/bash-completion/completions/legacygpu usr/lib/systemd/system/legacygpu-coordinator.service \
         usr/lib/systemd/system/legacygpu-worker.service usr/share/doc/legacygpu/deployment.md; do
  [ -f "$root/$f" ] || fail "the package has no /$f"
done

bin="$root/usr/bin/legacygpu"
"$bin" info >"$tmp/info.txt" 2>&1 || { cat "$tmp/info.txt" >&2; fail "legacygpu info from the package"; }
grep -qi "legacygpu" "$tmp/info.txt" || fail "legacygpu info prints no version"

# The digits demo: each sample digit_K.png must come out as class K.
"$bin" infer "$src/models/digits/model.onnx" "$src"/models/digits/samples/*.png >"$tmp/infer.txt" 2>&1 ||
  { cat "$tmp/infer.txt" >&2; fail "the digits demo from the package"; }
n=0
while read -r line; do
  case $line in
    *digit_*.png) want=${line##*digit_}; want=${want%.png}; read -r _ got _ || true
                  [ "$got" = "$want" ] || fail "digit_$want.png classified as '$got'"; n=$((n + 1)) ;;
  esac
done <"$tmp/infer.txt"
[ "$n" -ge 10 ] || fail "the digits demo printed $n results, expected 10"

MANPAGER=cat MANWIDTH=100 man -l "$root/usr/share/man/man1/legacygpu.1" >"$tmp/man.txt" 2>"$tmp/man.err" ||
  { cat "$tmp/man.err" >&2; fail "man -l legacygpu.1"; }
grep -q "keygen" "$tmp/man.txt" || fail "the rendered man page lacks keygen"

bash -c "source '$root/usr/share/bash-completion/completions/legacygpu' && complete -p legacygpu" >/dev/null ||
  fail "the completion script does not load"

cat >"$tmp/use.c" <<'C'
#include <legacygpu/legacygpu.h>
#include <stdio.h>
int main(void)
{
    lg_model *m;
    if (lg_model_load("/nonexistent.onnx", &m) == LG_OK) return 1;
    printf("legacygpu %s: %s\n", lg_version(), lg_last_error());
    return 0;
}
C
flags=$(PKG_CONFIG_PATH="$root/usr/lib/pkgconfig" pkg-config --static --cflags --libs legacygpu) ||
  fail "pkg-config legacygpu"
cc -std=c17 -o "$tmp/use" "$tmp/use.c" $flags || fail "compiling against the installed library: cc ... $flags"
"$tmp/use" | grep -q "nonexistent" || fail "a program linked with the installed library"

echo "PASS package: $(basename "$deb") installs, runs info and the digits demo, its man page, completion and library"
