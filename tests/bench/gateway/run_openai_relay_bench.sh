#!/usr/bin/env bash
# `llmrt serve` relaying through the openai plugin to a bare upstream, against that upstream alone,
# in the same run (issue 12: what the plugin's pooled keep-alive connections buy). The upstream is
# llmrt_bench_bare_server (a tuned cpp-httplib server answering a chat.completion at once); the
# gateway's model "bench-upstream" points at it through openai-models.json. docs/performance.md
# ("Relaying through the openai plugin") has the results.
#
#   tests/bench/gateway/run_openai_relay_bench.sh
#   BUILD_DIR=build-bench DURATION=10 CONNECTIONS="64 8" REPEAT=2 tests/bench/gateway/run_openai_relay_bench.sh
#
# Needs, in $BUILD_DIR: bin/llmrt, lib/llmrt/plugins/openai.so, bin/llmrt_bench_bare_server
# (cmake --build $BUILD_DIR --target llmrt_bench_bare_server openai), and wrk on the PATH.
# Everything listens on 127.0.0.1 ephemeral ports, every wait is bounded, and both servers are
# stopped on exit, whatever the exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench_lib.sh
source "$here/bench_lib.sh"
root=$(cd "$here/../../.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
case $build_dir in /*) ;; *) build_dir=$root/$build_dir ;; esac
duration=${DURATION:-10}
connections=${CONNECTIONS:-"64 8"}
wrk_threads=${WRK_THREADS:-2}
repeat=${REPEAT:-1}
lua=$here/post_chat_relay.lua

die() {
  echo "run_openai_relay_bench: $*" >&2
  exit 1
}
for tool in wrk timeout; do
  command -v "$tool" > /dev/null || die "$tool is not installed (apt-get install -y wrk)"
done
for file in bin/llmrt bin/llmrt_bench_bare_server lib/llmrt/plugins/openai.so; do
  [[ -e $build_dir/$file ]] || die "$build_dir/$file is missing"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmrt-relay-bench.XXXXXX")
gateway_pid=
upstream_pid=
cleanup() {
  stop_process "$gateway_pid"
  stop_process "$upstream_pid"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 128 threads: cpp-httplib serves a keep-alive connection per thread, and the gateway's pool keeps
# up to 64 connections open between runs; the direct runs need their 64 beside them.
"$build_dir/bin/llmrt_bench_bare_server" --port 0 --threads 128 > "$tmp/upstream.out" 2>&1 &
upstream_pid=$!
upstream_port=$(wait_for_port "$tmp/upstream.out" "$upstream_pid") || die "the upstream did not start"

mkdir "$tmp/user"
cat > "$tmp/user/openai-models.json" << JSON
[{"id": "bench-upstream", "model": "echo", "api_base": "http://127.0.0.1:$upstream_port/v1"}]
JSON
env -u LLMRT_PLUGIN_PATH -u OPENAI_BASE_URL -u HTTP_PROXY -u http_proxy LLMRT_USER_PATH="$tmp/user" \
  "$build_dir/bin/llmrt" serve --port 0 --quiet --threads 64 --max-concurrent 64 \
  2> "$tmp/gateway.err" &
gateway_pid=$!
gateway_port=$(wait_for_port "$tmp/gateway.err" "$gateway_pid") || die "llmrt serve did not start"

to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v) }
    else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }
    printf "%.3f", v }'
}
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
hz=$(getconf CLK_TCK)
# run_wrk PORT CONNS SECONDS OUT -> "r/s p50 p99 errors gateway_cpu_us upstream_cpu_us": the CPU
# each server process used per request during the run (user + system).
run_wrk() {
  local g0 u0 g1 u1 requests
  g0=$(cpu_ticks "$gateway_pid") u0=$(cpu_ticks "$upstream_pid")
  timeout $(($3 + 30)) wrk -t"$wrk_threads" -c"$2" -d"${3}s" --latency -s "$lua" \
    "http://127.0.0.1:$1" > "$4" 2>&1 || die "wrk failed: $(cat "$4")"
  g1=$(cpu_ticks "$gateway_pid") u1=$(cpu_ticks "$upstream_pid")
  requests=$(awk '/ requests in / {print $1}' "$4")
  local non2xx socket
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$4")
  socket=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$4")
  echo "$(awk '/^Requests\/sec:/ {print $2}' "$4")" \
    "$(to_ms "$(awk '$1 == "50%" {print $2}' "$4")")" \
    "$(to_ms "$(awk '$1 == "99%" {print $2}' "$4")")" "$((${non2xx:-0} + ${socket:-0}))" \
    "$(awk -v t=$((g1 - g0)) -v n="$requests" -v hz="$hz" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')" \
    "$(awk -v t=$((u1 - u0)) -v n="$requests" -v hz="$hz" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')"
}
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "== llmrt serve -> openai plugin -> bare upstream, vs the bare upstream alone"
echo "machine:  $(nproc) cores, $(uname -sr); source $(git -C "$root" rev-parse --short HEAD 2> /dev/null || echo unknown), build $build_dir"
echo "load:     $(load) (1, 5, 15 min) before the runs"
run_wrk "$gateway_port" 64 2 "$tmp/warmup-gateway.txt" > /dev/null
run_wrk "$upstream_port" 64 2 "$tmp/warmup-upstream.txt" > /dev/null
echo "cpu: CPU time per request (us) of llmrt serve (gw) and of the upstream (up) during the run"
printf '%-5s %5s | %11s %8s %8s %6s %6s | %11s %8s %8s %6s | %6s | %s\n' round conns \
  "relayed r/s" p50 p99 "gw cpu" "up cpu" "direct r/s" p50 p99 "up cpu" ratio "load (1 min)"
for round in $(seq "$repeat"); do
  for conns in $connections; do
    read -r g_rps g_p50 g_p99 g_err g_gcpu g_ucpu <<< \
      "$(run_wrk "$gateway_port" "$conns" "$duration" "$tmp/g.txt")"
    read -r d_rps d_p50 d_p99 d_err _ d_ucpu <<< \
      "$(run_wrk "$upstream_port" "$conns" "$duration" "$tmp/d.txt")"
    ((g_err == 0 && d_err == 0)) || die "failed requests: relayed $g_err, direct $d_err"
    printf '%-5s %5s | %11s %8s %8s %6s %6s | %11s %8s %8s %6s | %5.1f%% | %s\n' "$round" \
      "$conns" "$g_rps" "$g_p50" "$g_p99" "$g_gcpu" "$g_ucpu" "$d_rps" "$d_p50" "$d_p99" "$d_ucpu" \
      "$(awk -v g="$g_rps" -v d="$d_rps" 'BEGIN {print 100 * g / d}')" "$(load | cut -d' ' -f1)"
  done
done
echo "load after: $(load)"
