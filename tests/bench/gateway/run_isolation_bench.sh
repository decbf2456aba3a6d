#!/usr/bin/env bash
# The echo gateway with its plugins in worker processes (--isolation process, serve's default)
# against in_process, in the same run: wrk at 64 connections with post_chat.lua, alternating the
# order. docs/performance.md ("Plugin isolation") has the results.
#
#   tests/bench/gateway/run_isolation_bench.sh            # build/ by default; BUILD_DIR=... otherwise
#
# Settings (environment): DURATION=10 (seconds per wrk run), CONNECTIONS=64, REPEAT=2 (rounds,
# EXTRA_ARGS (more `llmrt serve` options, eg: "--workers-per-plugin 4"),
# each: process then in_process, or the other way round). Needs wrk and curl. Both gateways run on
# 127.0.0.1 ephemeral ports with --threads 2 (the default) --max-concurrent 64 --quiet, a fresh user directory,
# no LLMRT_PLUGIN_PATH; each is stopped on exit, whatever the exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
duration=${DURATION:-10}
connections=${CONNECTIONS:-64}
repeat=${REPEAT:-2}
for tool in wrk curl; do
  command -v "$tool" > /dev/null || { echo "$tool is not installed" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmrt-isolation-bench.XXXXXX")
pid=
stop() {
  if [[ -n $pid ]]; then
    kill -TERM "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
    pid=
  fi
}
trap 'stop; rm -rf "$tmp"' EXIT

run() {  # mode: prints "mode requests/s p50 p99"
  local mode=$1 port=
  mkdir -p "$tmp/user"
  env -u LLMRT_PLUGIN_PATH LLMRT_USER_PATH="$tmp/user" "$build_dir/bin/llmrt" serve --port 0 \
    --quiet --threads 2 --max-concurrent 64 --isolation "$mode" ${EXTRA_ARGS:-} 2> "$tmp/$mode.err" &
  pid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's|.*http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$tmp/$mode.err" | head -n 1)
    [[ -n $port ]] && break
    sleep 0.1
  done
  [[ -n $port ]] || { cat "$tmp/$mode.err" >&2; exit 1; }
  wrk -t2 -c"$connections" -d2s -s "$here/post_chat.lua" "http://127.0.0.1:$port" > /dev/null
  wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$here/post_chat.lua" \
    "http://127.0.0.1:$port" > "$tmp/$mode.wrk"
  stop
  echo "$mode $(awk '/Requests\/sec/ {print $2}' "$tmp/$mode.wrk")" \
    "p50 $(awk '$1 == "50%" {print $2}' "$tmp/$mode.wrk")" \
    "p99 $(awk '$1 == "99%" {print $2}' "$tmp/$mode.wrk")" \
    "non-2xx $(awk '/Non-2xx/ {print $NF}' "$tmp/$mode.wrk")"
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; ${connections} connections, ${duration} s"
for round in $(seq "$repeat"); do
  if ((round % 2)); then run process; run in_process; else run in_process; run process; fi
done
