#!/usr/bin/env bash
# The gateway under attack (issue 9): at the same time, 10,000 idle connections, 1,000 slowloris
# connections and 1,000 mid-stream disconnects (llmrt_bench_attack), while wrk drives normal
# clients; the same wrk run without the attack; and the bare cpp-httplib server at 64 connections
# for comparison. Reports normal clients' throughput and p99, the gateway's peak resident memory
# during the attack, and whether its CPU is idle afterwards. docs/performance.md ("Gateway under
# attack") has results and what they mean.
#
#   tests/bench/gateway/soak_gateway.sh                 # build/
#   SMOKE=1 tests/bench/gateway/soak_gateway.sh         # a few seconds, small numbers
#
# Needs, in $BUILD_DIR: bin/llmrt, bin/llmrt_bench_attack, bin/llmrt_bench_bare_server,
# lib/llmrt/plugins/echo.so and the test plugin test-plugins/serve/flood.so (cmake --build
# $BUILD_DIR --target llmrt_bench_attack llmrt_bench_bare_server serve_flood), and wrk and curl.
#
# Settings (environment): DURATION=15 (s of wrk per run), CONNECTIONS=64, IDLE=10000,
# SLOWLORIS=1000, DISCONNECTS=1000, WRK_THREADS=2.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench_lib.sh
source "$here/bench_lib.sh"
root=$(cd "$here/../../.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
case $build_dir in /*) ;; *) build_dir=$root/$build_dir ;; esac
if [[ ${SMOKE:-0} == 1 ]]; then
  : "${DURATION:=3}" "${IDLE:=100}" "${SLOWLORIS:=20}" "${DISCONNECTS:=20}"
fi
duration=${DURATION:-15}
conns=${CONNECTIONS:-64}
idle=${IDLE:-10000}
slowloris=${SLOWLORIS:-1000}
disconnects=${DISCONNECTS:-1000}
wrk_threads=${WRK_THREADS:-2}
lua=$here/post_chat.lua

die() {
  echo "soak_gateway: $*" >&2
  exit 1
}
for tool in wrk curl timeout; do
  command -v "$tool" > /dev/null || die "$tool is not installed (wrk: apt-get install -y wrk)"
done
for file in bin/llmrt bin/llmrt_bench_attack bin/llmrt_bench_bare_server \
  lib/llmrt/plugins/echo.so test-plugins/serve/flood.so; do
  [[ -e $build_dir/$file ]] || die "$build_dir/$file is missing (see the header of this script)"
done
# Each side holds ~11,000 sockets.
ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) >= idle + slowloris + 1000)) || die "ulimit -n is $(ulimit -n): too low for IDLE=$idle"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmrt-soak.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
  sleep 0.5
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2> /dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v) }
    else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }
    printf "%.2f", v }'
}
# wrk against port $1 for $duration s into file $2; prints "requests/s p99_ms errors".
run_wrk() {
  timeout $((duration + 30)) wrk -t"$wrk_threads" -c"$conns" -d"${duration}s" --latency \
    -s "$lua" "http://127.0.0.1:$1" > "$2" 2>&1 || die "wrk failed: $(cat "$2")"
  local rps p99 non2xx socket
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$2")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$2")")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$2")
  socket=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$2")
  echo "$rps $p99 $((${non2xx:-0} + ${socket:-0}))"
}

mkdir "$tmp/user"
gateway_args=(serve --port 0 --quiet --max-concurrent 64 --max-connections $((idle + slowloris + 2000))
  --max-connections-per-ip $((idle + slowloris + 2000)))
env -u OPENAI_BASE_URL LLMRT_USER_PATH="$tmp/user" \
  LLMRT_PLUGIN_PATH="$build_dir/test-plugins/serve" \
  "$build_dir/bin/llmrt" "${gateway_args[@]}" 2> "$tmp/gateway.err" &
gateway_pid=$!
pids+=("$gateway_pid")
port=$(wait_for_port "$tmp/gateway.err" "$gateway_pid") || die "llmrt serve did not start"

echo "== llmrt gateway under attack"
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "source:  $(git -C "$root" rev-parse --short HEAD 2> /dev/null || echo unknown), build $build_dir"
echo "gateway: llmrt ${gateway_args[*]} (127.0.0.1:$port)"
echo "normal:  wrk -t$wrk_threads -c$conns -d${duration}s, post_chat.lua (echo, non-streamed)"
echo "attack:  $idle idle + $slowloris slowloris connections, $disconnects mid-stream disconnects"
echo "         (flood: 100 MB streams, read ~100 bytes, hang up)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) before"

run_wrk "$port" "$tmp/warmup.txt" > /dev/null
rss_start=$(rss_kib "$gateway_pid")
read -r base_rps base_p99 base_errors <<< "$(run_wrk "$port" "$tmp/base.txt")"
echo
printf '%-22s %10s %9s %7s\n' run "r/s" "p99 ms" errors
printf '%-22s %10s %9s %7s\n' "gateway, no attack" "$base_rps" "$base_p99" "$base_errors"

"$build_dir/bin/llmrt_bench_attack" --port "$port" --idle "$idle" --slowloris "$slowloris" \
  --disconnects "$disconnects" --seconds $((duration + 4)) > "$tmp/attack.out" 2>&1 &
attack_pid=$!
pids+=("$attack_pid")
for _ in $(seq 600); do
  grep -q '^ready' "$tmp/attack.out" && break
  kill -0 "$attack_pid" 2> /dev/null || die "the attacker stopped: $(cat "$tmp/attack.out")"
  sleep 0.1
done
grep -q '^ready' "$tmp/attack.out" || die "the attacker never got ready"
peak=0
(
  while kill -0 "$attack_pid" 2> /dev/null; do
    rss_kib "$gateway_pid"
    sleep 0.2
  done
) > "$tmp/rss.txt" &
sampler=$!
sleep 1
read -r attack_rps attack_p99 attack_errors <<< "$(run_wrk "$port" "$tmp/attacked.txt")"
healthz_during=$(curl -s --max-time 5 "http://127.0.0.1:$port/healthz")
wait "$attack_pid" || true
wait "$sampler" || true
peak=$(sort -n "$tmp/rss.txt" | tail -n 1)
printf '%-22s %10s %9s %7s\n' "gateway, under attack" "$attack_rps" "$attack_p99" "$attack_errors"

# Afterwards: nothing left spinning, memory given back, everything free.
sleep 3
ticks_before=$(cpu_ticks "$gateway_pid")
sleep 5
ticks=$(($(cpu_ticks "$gateway_pid") - ticks_before))
rss_end=$(rss_kib "$gateway_pid")
healthz_after=$(curl -s --max-time 5 "http://127.0.0.1:$port/healthz")

"$build_dir/bin/llmrt_bench_bare_server" --port 0 --threads "$conns" > "$tmp/bare.out" 2>&1 &
bare_pid=$!
pids+=("$bare_pid")
bare_port=$(wait_for_port "$tmp/bare.out" "$bare_pid") || die "the bare server did not start"
run_wrk "$bare_port" "$tmp/bare-warmup.txt" > /dev/null
read -r bare_rps bare_p99 bare_errors <<< "$(run_wrk "$bare_port" "$tmp/bare.txt")"
printf '%-22s %10s %9s %7s\n' "bare cpp-httplib" "$bare_rps" "$bare_p99" "$bare_errors"

echo
cat "$tmp/attack.out"
echo "healthz during the attack: $healthz_during"
echo "healthz after:             $healthz_after"
echo "gateway resident memory: $((rss_start / 1024)) MiB before, peak $((peak / 1024)) MiB during the attack, $((rss_end / 1024)) MiB after"
echo "gateway CPU over 5 s, 3 s after the attack: $ticks ticks of $(getconf CLK_TCK)/s"
verdict() { awk "BEGIN {print ($1) ? \"met\" : \"NOT met\"}"; }
echo
echo "targets (issue 9):"
echo "  normal clients' p99 under attack < 50 ms:                $(verdict "$attack_p99 < 50") ($attack_p99 ms)"
echo "  throughput under attack >= 80% of no attack:             $(verdict "$attack_rps >= 0.8 * $base_rps") ($(awk -v a="$attack_rps" -v b="$base_rps" 'BEGIN {printf "%.0f%%", 100 * a / b}'))"
echo "  resident memory during the attack < 256 MiB:             $(verdict "$peak < 262144") ($((peak / 1024)) MiB)"
echo "  nothing left spinning (CPU < 1% of a core afterwards):   $(verdict "$ticks * 100 < 5 * $(getconf CLK_TCK)") ($ticks ticks in 5 s)"
echo
# The gateway here runs in serve's default isolation mode (process): the bare server comparison is
# for information. Issue 9's 80% target predates plugin isolation and is measured in_process
# (run_gateway_bench.sh ISOLATION=in_process); process mode's cost has its own target, issue 10's
# 60% of in_process (run_isolation_bench.sh).
echo "for information: the gateway in process mode (no attack) is $(awk -v a="$base_rps" -v b="$bare_rps" 'BEGIN {printf "%.0f%%", 100 * a / b}') of the bare server at $conns conns"
echo "  (issue 9's >= 80% is measured in_process: run_gateway_bench.sh ISOLATION=in_process)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
