#!/usr/bin/env bash
# Installs llmrt to a fresh prefix, then builds a C++ plugin, a C plugin and a host application out
# of tree against that prefix alone, and runs them through the installed CLI, the installed
# conformance tool, and the host. Any failed step fails the test.
#   out_of_tree.sh BUILD_DIR SOURCE_DIR WORK_DIR [extra cmake args for the out-of-tree builds...]
set -euo pipefail

build_dir="$1"
source_dir="$2"
work="$3"
shift 3
extra_args=("$@")
# The compile flags of the build under test (eg: a sanitizer's), for the builds below that use the
# compiler alone: an ASan-built libllmrt needs an ASan-built host.
compiler_flags=""
for arg in "${extra_args[@]}"; do
  case "$arg" in -DCMAKE_CXX_FLAGS=*) compiler_flags="${arg#-DCMAKE_CXX_FLAGS=}" ;; esac
done

rm -rf "$work"
mkdir -p "$work/user"
prefix="$work/prefix"
export LLMRT_USER_PATH="$work/user"
unset LLMRT_PLUGIN_PATH XDG_CONFIG_HOME

step() { echo "== $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
expect_contains() {  # expect_contains WHAT TEXT NEEDLE
  case "$2" in *"$3"*) ;; *) fail "$1: expected to contain '$3', got: $2" ;; esac
}

step "install to $prefix"
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
libdir=$(cd "$prefix" && ls -d lib*/libllmrt.so | xargs dirname)
for file in bin/llmrt bin/llmrt-plugin-host "$libdir/libllmrt.so" "$libdir/llmrt/plugins/echo.so" \
  "$libdir/llmrt/plugins/legacy-echo.so" include/llmrt/plugin.h include/llmrt/abi/plugin_v1.h \
  include/llmrt/sdk.hpp include/llmrt/llmrt.hpp "$libdir/cmake/llmrt/llmrtConfig.cmake" \
  "$libdir/cmake/llmrt/llmrtPluginHelpers.cmake" "$libdir/pkgconfig/llmrt.pc" \
  "$libdir/pkgconfig/llmrt-plugin.pc"; do
  [ -e "$prefix/$file" ] || fail "not installed: $file"
done
[ ! -e "$prefix/$libdir/llmrt/plugins/needs_key.so" ] || fail "a test-only plugin was installed"

step "no installed file searches for libraries in the working directory"
"$(dirname "$0")/search_paths.sh" "$prefix" || fail "an installed file has a relative library search path"

step "the installed CLI finds its bundled plugins relative to itself"
out=$("$prefix/bin/llmrt" prompt "Hello from the prefix")
[ "$out" = "Hello from the prefix" ] || fail "installed llmrt prompt printed: $out"

step "the installed runtime finds llmrt-plugin-host relative to itself (plugin isolation)"
out=$("$prefix/bin/llmrt" --isolation process prompt "Hello from a worker")
[ "$out" = "Hello from a worker" ] || fail "installed llmrt --isolation process printed: $out"

for example in shout-plugin c-plugin host-app; do
  step "build examples/$example against the prefix"
  cmake -S "$source_dir/examples/$example" -B "$work/$example" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=Debug --no-warn-unused-cli "${extra_args[@]}" >/dev/null
  cmake --build "$work/$example" >/dev/null
done

step "run the out-of-tree plugins through the installed CLI"
out=$(LLMRT_PLUGIN_PATH="$work/shout-plugin:$work/c-plugin" "$prefix/bin/llmrt" prompt -m shout "hello world")
[ "$out" = "HELLO WORLD" ] || fail "shout printed: $out"
out=$(LLMRT_PLUGIN_PATH="$work/shout-plugin" "$prefix/bin/llmrt" prompt -m shout --key sk-out-of-tree "hi")
expect_contains "shout with a key" "$out" "(with a key of 14 bytes)"
out=$(LLMRT_PLUGIN_PATH="$work/c-plugin" "$prefix/bin/llmrt" prompt -m c-hello "world")
[ "$out" = "hello, world" ] || fail "c-hello printed: $out"
symbols=$(nm -D --defined-only "$work/shout-plugin/shout.so" | awk '{print $3}')
[ "$symbols" = "llmrt_plugin_entry" ] || fail "shout.so exports more than its entry: $symbols"

if [ -x "$prefix/bin/llmrt-conformance" ]; then
  step "the installed conformance tool passes both plugins"
  "$prefix/bin/llmrt-conformance" "$work/shout-plugin/shout.so" >"$work/conformance-shout.txt" ||
    { cat "$work/conformance-shout.txt"; fail "conformance failed for shout.so"; }
  "$prefix/bin/llmrt-conformance" "$work/c-plugin/c_hello.so" >"$work/conformance-c.txt" ||
    { cat "$work/conformance-c.txt"; fail "conformance failed for c_hello.so"; }
  tail -n 1 "$work/conformance-shout.txt"
fi

step "run the host application"
out=$("$work/host-app/host_app" echo "Hi host")
expect_contains "host_app" "$out" "Hi host"
expect_contains "host_app" "$out" "key source none"
out=$(HOST_APP_KEY=sk-host-key "$work/host-app/host_app" echo "Hi host")
expect_contains "host_app with a key" "$out" "key source per-call"
expect_contains "host_app with a key" "$out" "key-sha256: "
case "$out" in *sk-host-key*) fail "host_app printed its key" ;; esac

step "pkg-config: build a C plugin with the compiler and pkg-config alone; it passes conformance"
# Before, llmrt-plugin.pc had only Cflags: such a plugin exported every symbol and failed
# load.exports_only_entry unless its author found the version script in the docs.
flags=$(PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig" pkg-config --cflags --libs llmrt-plugin)
# shellcheck disable=SC2086  # the flags are meant to be split
cc -std=c99 $flags "$source_dir/examples/c-plugin/c_hello.c" -o "$work/c_hello_pkgconfig.so"
out=$(LLMRT_PLUGIN_PATH="" "$prefix/bin/llmrt" plugins inspect "$work/c_hello_pkgconfig.so")
expect_contains "inspect of the pkg-config build" "$out" "c-hello"
symbols=$(nm -D --defined-only "$work/c_hello_pkgconfig.so" | awk '{print $3}')
[ "$symbols" = "llmrt_plugin_entry" ] || fail "the pkg-config build exports more: $symbols"
if [ -x "$prefix/bin/llmrt-conformance" ]; then
  (cd "$work" && "$prefix/bin/llmrt-conformance" c_hello_pkgconfig.so >"$work/conformance-pc.txt") ||
    { cat "$work/conformance-pc.txt"; fail "conformance failed for the pkg-config build"; }
  tail -n 1 "$work/conformance-pc.txt"
fi

step "pkg-config: a host built with the compiler alone runs with the documented rpath"
hostflags=$(PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig" pkg-config --cflags --libs llmrt)
hostlibdir=$(PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig" pkg-config --variable=libdir llmrt)
# shellcheck disable=SC2086
c++ $compiler_flags "$source_dir/examples/host-app/main.cpp" $hostflags -Wl,-rpath,"$hostlibdir" \
  -o "$work/host_app_pkgconfig"
out=$("$work/host_app_pkgconfig" echo "Hi pkg-config")
expect_contains "host_app built with pkg-config" "$out" "Hi pkg-config"

echo "out-of-tree build, install and run: all steps passed"
