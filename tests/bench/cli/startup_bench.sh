#!/usr/bin/env bash
# Whole-process start-up of `llmrt` with many plugins installed (docs/performance.md, "Start-up and
# lazy loading"). Prints the median and the spread of RUNS runs of each command, in milliseconds.
#
#   tests/bench/cli/startup_bench.sh [BUILD_DIR [RUNS [PLUGINS]]]
#   BASELINE=/path/to/another/llmrt tests/bench/cli/startup_bench.sh build   # compare two binaries
#
# PLUGINS (default 1000) copies of the test plugin lazy_template.so, each patched to its own model
# id (lazy-model-00001 ...), go into a temporary LLMRT_PLUGIN_PATH directory; HOME, the user
# directory and the plugin cache live in the same temporary directory, removed at the end.
set -euo pipefail

build=${1:-build}
runs=${2:-21}
plugins=${3:-1000}
llmrt=$(realpath "$build/bin/llmrt")
template=$(realpath "$build/test-plugins/lazy_template.so")

called=$(printf 'lazy-model-%05d' $((plugins >= 777 ? 777 : plugins)))  # the model prompted
work=$(mktemp -d /tmp/llmrt-startup-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/plugins" "$work/home"
for ((n = 1; n <= plugins; n++)); do
  id=$(printf 'lazy-model-%05d' "$n")
  perl -0777 -pe "s/lazy-model-00000/$id/" "$template" >"$work/plugins/lazy-$id.so"
done

# Times one command RUNS times (`prepare` runs before each run, untimed): the median wall time,
# its spread, and the median CPU time (user + system) of the process, which a loaded machine
# inflates less than the wall time.
median_ms() {
  local label=$1 prepare=$2
  shift 2
  local walls=() cpus=() line
  local TIMEFORMAT='%3R %3U %3S'
  for ((i = 0; i < runs; i++)); do
    eval "$prepare"
    line=$({ time "$@" >/dev/null 2>&1; } 2>&1) || {
      echo "failed: $*" >&2
      exit 1
    }
    read -r real user sys <<<"$line"
    walls+=("$(awk -v r="$real" 'BEGIN { printf "%.1f", r * 1000 }')")
    cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", (u + s) * 1000 }')")
  done
  local sorted middle=$(((runs + 1) / 2))
  sorted=$(printf '%s\n' "${walls[@]}" | sort -n)
  printf '%-52s wall %7s ms (min %s, max %s), cpu %s ms\n' "$label" \
    "$(sed -n "${middle}p" <<<"$sorted")" "$(head -1 <<<"$sorted")" "$(tail -1 <<<"$sorted")" \
    "$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n "${middle}p")"
}

bench() {
  local binary=$1 name=$2
  local cache="$work/home/.cache/llmrt/plugins-v2.json"
  export HOME="$work/home" LLMRT_USER_PATH="$work/user" XDG_CACHE_HOME=
  export LLMRT_PLUGIN_PATH="$work/plugins"
  echo "== $name: $binary ($plugins plugins, $runs runs)"
  median_ms "llmrt models, cold cache" "rm -f '$cache'" "$binary" models
  "$binary" models >/dev/null 2>&1
  median_ms "llmrt models, warm cache" "" "$binary" models
  median_ms "llmrt prompt -m $called hello" "" "$binary" prompt -m "$called" hello
  median_ms "llmrt prompt -m $called --no-log hello" "" \
    "$binary" prompt -m "$called" --no-log hello
  median_ms "llmrt prompt -m echo --key k --no-log hello" "" \
    "$binary" prompt -m echo --key k --no-log hello
  # The bundled plugins only, in a HOME of their own (so a cache of their own).
  export HOME="$work/home-bundled" LLMRT_PLUGIN_PATH=
  mkdir -p "$HOME"
  "$binary" models >/dev/null 2>&1
  echo "-- bundled plugins only"
  median_ms "llmrt prompt -m echo --key k hello" "" "$binary" prompt -m echo --key k hello
  median_ms "llmrt prompt -m echo --key k --no-log hello" "" \
    "$binary" prompt -m echo --key k --no-log hello
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
bench "$llmrt" "this build"
if [[ -n ${BASELINE:-} ]]; then bench "$(realpath "$BASELINE")" "baseline"; fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
