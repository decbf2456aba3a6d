#!/usr/bin/env bash
# The gateway's throughput and latency against a bare cpp-httplib server tuned the same way, then a
# streamed reply's time to first byte through the gateway and the openai plugin against straight
# from the upstream. docs/performance.md ("Gateway") has the results and what they mean.
#
#   tests/bench/gateway/run_gateway_bench.sh                # build/ (configure it Release)
#   BUILD_DIR=build-bench tests/bench/gateway/run_gateway_bench.sh
#
# Needs, in $BUILD_DIR: bin/llmrt, lib/llmrt/plugins/echo.so, bin/llmrt_bench_bare_server and
# bin/llmrt_bench_ttfb (cmake --build $BUILD_DIR --target llmrt_bench_bare_server llmrt_bench_ttfb),
# and wrk and curl on the PATH.
#
# Settings (environment):
#   DURATION=10          seconds per wrk run
#   CONNECTIONS="64 8"   wrk connection counts
#   WRK_THREADS=2        wrk threads
#   REPEAT=1             measured rounds (each: every connection count, gateway and bare)
#   TTFB_REQUESTS=200    streamed requests per target for llmrt_bench_ttfb; 0 skips it
#   SLOW_TTFB_REQUESTS=20  the same against the upstream's "slow-stream" behaviour; 0 skips it
#   ACCESS_LOG=1         run the gateway with its access log on (no --quiet), written to a file
#   KEEP_OUTPUT=DIR      keep wrk's raw output in DIR
#   ISOLATION=process    the gateway's --isolation (serve's default is process; in_process measures
#                        the HTTP layer and runtime without the worker hop)
#
# Both servers run on 127.0.0.1 ephemeral ports: the bare cpp-httplib server with 64 HTTP threads,
# TCP_NODELAY, keep-alive max count 100000, backlog SOMAXCONN, 1 MiB body limit, 30 s timeouts; the
# gateway (Beast, event-driven) with its 2 I/O threads and its default limits. The gateway is
# isolated: a fresh temporary user directory (LLMRT_USER_PATH), no LLMRT_PLUGIN_PATH. Every wait is
# bounded, and both servers are stopped on exit, whatever the exit.
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
ttfb_requests=${TTFB_REQUESTS:-200}
slow_ttfb_requests=${SLOW_TTFB_REQUESTS:-20}
log_args=(--quiet)
isolation=${ISOLATION:-process}
[[ ${ACCESS_LOG:-0} == 1 ]] && log_args=()
lua=$here/post_chat.lua
# What post_chat.lua sends (and bare_server.cpp's defaults answer).
key=sk-bench-0123456789abcdef0123456789abcdef
body='{"model":"echo","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Write one short sentence about the sea, the wind and the light over the harbour."}],"stream":false}'

die() {
  echo "run_gateway_bench: $*" >&2
  exit 1
}

for tool in wrk curl timeout; do
  command -v "$tool" > /dev/null || die "$tool is not installed (wrk: apt-get install -y wrk)"
done
for file in bin/llmrt bin/llmrt_bench_bare_server lib/llmrt/plugins/echo.so; do
  [[ -e $build_dir/$file ]] || die "$build_dir/$file is missing: build the targets llmrt_bench_bare_server and llmrt_bench_ttfb"
done
if [[ -f $build_dir/CMakeCache.txt ]] &&
  ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build_dir/CMakeCache.txt"; then
  echo "run_gateway_bench: WARNING: $build_dir is not a Release build" >&2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmrt-gateway-bench.XXXXXX")
gateway_pid=
bare_pid=

cleanup() {
  stop_process "$gateway_pid"
  stop_process "$bare_pid"
  if [[ -n ${KEEP_OUTPUT:-} ]]; then
    if mkdir -p "$KEEP_OUTPUT"; then cp "$tmp"/*.txt "$KEEP_OUTPUT"/ 2> /dev/null || true; fi
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$tmp/user"
env -u LLMRT_PLUGIN_PATH -u OPENAI_BASE_URL LLMRT_USER_PATH="$tmp/user" \
  "$build_dir/bin/llmrt" serve --port 0 "${log_args[@]}" --threads 2 --max-concurrent 64 \
  --isolation "$isolation" 2> "$tmp/gateway.err" &
gateway_pid=$!
"$build_dir/bin/llmrt_bench_bare_server" --port 0 --threads 64 > "$tmp/bare.out" 2>&1 &
bare_pid=$!
gateway_port=$(wait_for_port "$tmp/gateway.err" "$gateway_pid") || die "llmrt serve did not start"
bare_port=$(wait_for_port "$tmp/bare.out" "$bare_pid") || die "the bare server did not start"

# Both must answer post_chat.lua's request with 200 and the same content.
content_of() {  # port
  local reply
  reply=$(curl -sS --max-time 5 -w '\n%{http_code}' "http://127.0.0.1:$1/v1/chat/completions" \
    -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d "$body")
  [[ ${reply##*$'\n'} == 200 ]] || die "port $1 answered: $reply"
  grep -o '"content":"\([^"\\]\|\\.\)*"' <<< "${reply%$'\n'*}"
}
gateway_content=$(content_of "$gateway_port")
bare_content=$(content_of "$bare_port")
[[ $gateway_content == "$bare_content" ]] ||
  die "the replies differ: gateway $gateway_content, bare $bare_content"

load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "== llmrt gateway benchmark"
echo "machine:  $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -sr)"
echo "source:   $(git -C "$root" rev-parse --short HEAD 2> /dev/null || echo unknown), build $build_dir"
echo "gateway:  llmrt serve --port 0 ${log_args[*]:-(access log to a file)} --threads 2 --max-concurrent 64 --isolation $isolation (127.0.0.1:$gateway_port)"
echo "bare:     llmrt_bench_bare_server --port 0 --threads 64 (127.0.0.1:$bare_port)"
echo "load:     $(load) (1, 5, 15 min) before the runs"
echo "request:  ${#body}-byte POST /v1/chat/completions (post_chat.lua), same reply content from both"

# wrk's latency ("812.00us", "1.20ms", "1.01s") in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v) }
    else if (v ~ /m$/) { sub(/m$/, "", v); v = v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }
    printf "%.3f", v }'
}

# CPU time (user + system) a process has used, in clock ticks.
cpu_ticks() {  # pid
  sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}
clock_ticks=$(getconf CLK_TCK)
# The machine's busy and total CPU time so far, all cores, in clock ticks: "busy total".
machine_ticks() {
  awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat
}

# run_wrk SIDE PORT PID CONNECTIONS SECONDS OUT: one wrk run; prints
# "requests/s p50_ms p99_ms errors server_cpu_us_per_request others_percent", where
# others_percent is the share of the machine's CPU that neither the server nor wrk used (other
# developers' builds and tests: the noise).
run_wrk() {
  local side=$1 port=$2 pid=$3 conns=$4 seconds=$5 out=$6
  local cpu_before cpu_after machine_before machine_after wrk_cpu
  cpu_before=$(cpu_ticks "$pid")
  machine_before=$(machine_ticks)
  local TIMEFORMAT='%U %S'
  { time timeout $((seconds + 30)) wrk -t"$wrk_threads" -c"$conns" -d"${seconds}s" --latency \
    -s "$lua" "http://127.0.0.1:$port" > "$out" 2>&1; } 2> "$out.time" ||
    die "wrk against $side failed: $(cat "$out")"
  cpu_after=$(cpu_ticks "$pid")
  machine_after=$(machine_ticks)
  wrk_cpu=$(awk '{print $1 + $2}' "$out.time")
  local rps p50 p99 non2xx socket requests cpu others
  requests=$(awk '/ requests in / {print $1}' "$out")
  cpu=$(awk -v t=$((cpu_after - cpu_before)) -v hz="$clock_ticks" -v n="$requests" \
    'BEGIN {printf "%.1f", (n > 0) ? t * 1e6 / hz / n : 0}')
  others=$(awk -v before="$machine_before" -v after="$machine_after" -v hz="$clock_ticks" \
    -v server=$((cpu_after - cpu_before)) -v wrk="$wrk_cpu" 'BEGIN {
      split(before, b, " "); split(after, a, " ")
      busy = a[1] - b[1]; total = a[2] - b[2]
      other = busy - server - wrk * hz
      printf "%.0f", (total > 0 && other > 0) ? 100 * other / total : 0 }')
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
  socket=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
  echo "$rps $p50 $p99 $((${non2xx:-0} + ${socket:-0})) $cpu $others"
}

echo
echo "warm-up: 2 s each at 64 connections"
run_wrk gateway "$gateway_port" "$gateway_pid" 64 2 "$tmp/warmup-gateway.txt" > /dev/null
run_wrk bare "$bare_port" "$bare_pid" 64 2 "$tmp/warmup-bare.txt" > /dev/null

declare -A ratios rps_of p50_of p99_of cpu_of others_of
echo
echo "r/s: requests per second; p50, p99: latency in ms; cpu: the server's CPU time (user + system)"
echo "per request, in us; oth: % of the machine's CPU used by other processes during the run (noise)"
echo "ratio: gateway r/s / bare r/s"
printf '%-5s %5s | %10s %7s %7s %6s %4s | %10s %7s %7s %6s %4s | %6s\n' round conns \
  "gateway r/s" p50 p99 cpu oth "bare r/s" p50 p99 cpu oth ratio
for round in $(seq "$repeat"); do
  for conns in $connections; do
    # Alternate which side goes first, so that a drift in the machine's load hits both alike.
    if ((round % 2)); then order="gateway bare"; else order="bare gateway"; fi
    for side in $order; do
      port=$gateway_port pid=$gateway_pid
      [[ $side == bare ]] && port=$bare_port pid=$bare_pid
      result=$(run_wrk "$side" "$port" "$pid" "$conns" "$duration" \
        "$tmp/wrk-$side-c$conns-r$round.txt")
      read -r rps p50 p99 errors cpu others <<< "$result"
      ((errors == 0)) || die "$side: $errors failed requests at $conns connections (see KEEP_OUTPUT)"
      rps_of[$side]=$rps p50_of[$side]=$p50 p99_of[$side]=$p99 cpu_of[$side]=$cpu
      others_of[$side]=$others
    done
    ratio=$(awk -v g="${rps_of[gateway]}" -v b="${rps_of[bare]}" \
      'BEGIN {printf "%.1f%%", 100 * g / b}')
    ratios[$conns]+="$ratio "
    printf '%-5s %5s | %10s %7s %7s %6s %4s | %10s %7s %7s %6s %4s | %6s\n' "$round" "$conns" \
      "${rps_of[gateway]}" "${p50_of[gateway]}" "${p99_of[gateway]}" "${cpu_of[gateway]}" \
      "${others_of[gateway]}" "${rps_of[bare]}" "${p50_of[bare]}" "${p99_of[bare]}" \
      "${cpu_of[bare]}" "${others_of[bare]}" "$ratio"
  done
done

echo
for conns in $connections; do
  echo "gateway/bare at $conns connections: ${ratios[$conns]}"
done
first=${ratios[64]:-}
if [[ -n $first ]]; then
  median=$(tr ' ' '\n' <<< "$first" | sed '/^$/d; s/%//' | sort -n |
    awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
  verdict=$(awk -v m="$median" 'BEGIN {print (m >= 80) ? "met" : "NOT met"}')
  echo "target gateway/bare >= 80% at 64 connections: $verdict (median ${median}%)"
fi

stop_process "$gateway_pid"
gateway_pid=
stop_process "$bare_pid"
bare_pid=

if ((ttfb_requests > 0)) || ((slow_ttfb_requests > 0)); then
  [[ -x $build_dir/bin/llmrt_bench_ttfb ]] || die "$build_dir/bin/llmrt_bench_ttfb is missing"
fi
if ((ttfb_requests > 0)); then
  echo
  echo "== streamed time to first byte (llmrt_bench_ttfb), load $(load)"
  timeout 300 "$build_dir/bin/llmrt_bench_ttfb" --requests "$ttfb_requests" --max-seconds 240
fi
if ((slow_ttfb_requests > 0)); then
  echo
  echo "== the same against a slow upstream (50 ms between events), load $(load)"
  timeout 300 "$build_dir/bin/llmrt_bench_ttfb" --requests "$slow_ttfb_requests" --warmup 2 \
    --behaviour slow-stream --max-seconds 240
fi
echo
echo "load after: $(load)"
