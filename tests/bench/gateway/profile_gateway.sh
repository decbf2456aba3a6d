#!/usr/bin/env bash
# Where the gateway's time goes, counted in instructions (callgrind), against the bare server: both
# run under `valgrind --tool=callgrind` with instrumentation switched on only for a short wrk load
# (post_chat.lua, 8 connections), so start-up is not counted. Prints instructions per request for
# each, then the gateway's costliest functions, inclusive, per request.
#
#   BUILD_DIR=build-bench tests/bench/gateway/profile_gateway.sh
#
# Settings (environment): SECONDS_UNDER_LOAD=10, CONNECTIONS=8, TOP=25 (functions listed),
# KEEP_OUTPUT=DIR (keep the callgrind files, for callgrind_annotate or kcachegrind).
# Instruction counts do not depend on the machine's load, unlike run_gateway_bench.sh's timings;
# they leave out the kernel (sockets, scheduling), which is most of a request's CPU time here.
# Needs valgrind, wrk and curl. Everything on 127.0.0.1; both servers are stopped on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
case $build_dir in /*) ;; *) build_dir=$root/$build_dir ;; esac
seconds=${SECONDS_UNDER_LOAD:-10}
conns=${CONNECTIONS:-8}
top=${TOP:-25}
lua=$here/post_chat.lua

die() {
  echo "profile_gateway: $*" >&2
  exit 1
}
for tool in valgrind callgrind_control callgrind_annotate wrk curl timeout; do
  command -v "$tool" > /dev/null || die "$tool is not installed"
done
for file in bin/llmrt bin/llmrt_bench_bare_server; do
  [[ -x $build_dir/$file ]] || die "$build_dir/$file is missing"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmrt-gateway-profile.XXXXXX")
pid=
stop_server() {
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2> /dev/null || true
  for _ in $(seq 150); do  # callgrind writes its file on exit: give it up to 30 s
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.2
  done
  kill -KILL "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  pid=
}
cleanup() {
  stop_server
  if [[ -n ${KEEP_OUTPUT:-} ]]; then
    if mkdir -p "$KEEP_OUTPUT"; then cp "$tmp"/callgrind.* "$KEEP_OUTPUT"/ 2> /dev/null || true; fi
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# profile NAME COMMAND...: runs the server under callgrind and loads it; sets $instructions (in
# the measured window) and $requests (answered in it).
profile() {
  local name=$1 port=
  shift
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$tmp/callgrind.$name" \
    "$@" > "$tmp/$name.log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do  # up to 60 s: everything is ~50x slower under valgrind
    port=$(sed -n 's|.*http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$tmp/$name.log" | head -n 1)
    [[ -n $port ]] && break
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.2
  done
  [[ -n $port ]] || die "$name did not start: $(cat "$tmp/$name.log")"
  for _ in 1 2 3; do  # warm: first-call paths are not what is measured
    curl -sS -o /dev/null --max-time 30 "http://127.0.0.1:$port/v1/chat/completions" \
      -H 'Authorization: Bearer sk-warm' -d '{"model":"echo","messages":[{"role":"user","content":"warm"}]}'
  done
  callgrind_control -i on "$pid" > /dev/null 2>&1
  timeout $((seconds + 60)) wrk -t1 -c"$conns" -d"${seconds}s" -s "$lua" "http://127.0.0.1:$port" \
    > "$tmp/wrk-$name.txt" 2>&1 || die "wrk against $name failed: $(cat "$tmp/wrk-$name.txt")"
  callgrind_control -i off "$pid" > /dev/null 2>&1
  stop_server
  requests=$(awk '/ requests in / {print $1}' "$tmp/wrk-$name.txt")
  grep -q 'Non-2xx' "$tmp/wrk-$name.txt" && die "$name: failed requests: $(cat "$tmp/wrk-$name.txt")"
  instructions=$(callgrind_annotate "$tmp/callgrind.$name" 2> /dev/null |
    awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  [[ -n $requests && -n $instructions ]] || die "$name: no measurement"
}

# The gateway is isolated: a fresh user directory, no plugin path.
mkdir "$tmp/user"
export LLMRT_USER_PATH=$tmp/user
unset LLMRT_PLUGIN_PATH OPENAI_BASE_URL
profile gateway "$build_dir/bin/llmrt" serve --port 0 --quiet --threads 64 --max-concurrent 64
gateway_ir=$instructions gateway_requests=$requests
profile bare "$build_dir/bin/llmrt_bench_bare_server" --port 0 --threads 64
bare_ir=$instructions bare_requests=$requests

echo "== instructions per request (callgrind, user space only, ${seconds} s of wrk -c$conns)"
awk -v gi="$gateway_ir" -v gr="$gateway_requests" -v bi="$bare_ir" -v br="$bare_requests" 'BEGIN {
  printf "  gateway  %12.0f  (%d requests)\n", gi / gr, gr
  printf "  bare     %12.0f  (%d requests)\n", bi / br, br
  printf "  gateway - bare: %.0f instructions per request\n", gi / gr - bi / br }'

echo
echo "== the gateway's costliest functions, inclusive, instructions per request"
callgrind_annotate --inclusive=yes "$tmp/callgrind.gateway" 2> /dev/null |
  awk -v n="$gateway_requests" -v top="$top" '
    /^-+$/ {dashes++; next}
    dashes >= 4 && /^ *[0-9,]+ *\(/ && shown < top {
      count = $1; gsub(",", "", count)
      line = $0; sub(/^ *[0-9,]+ *\([^)]*\) */, "", line); sub(/^\?\?\?:/, "", line)
      sub(/ \[[^]]*\]$/, "", line)
      if (length(line) > 110) line = substr(line, 1, 107) "..."
      printf "  %9.0f  %s\n", count / n, line; shown++ }'

# What the functions that make up the gateway's own work call, per request.
callgrind_annotate --inclusive=yes --tree=calling "$tmp/callgrind.gateway" 2> /dev/null \
  > "$tmp/tree.txt"
callees() {  # the start of a function's name as callgrind shows it
  echo
  echo "== ${1%[([]}, and what it calls (>= 50 per request), instructions per request"
  awk -v name="$1" -v n="$gateway_requests" '
    /^ *[0-9,]+ *\([^)]*\)  \*  / && index($0, ":" name) {inside = 1}
    inside && /^$/ {exit}
    inside {
      count = $1; gsub(",", "", count)
      callee = ($0 ~ /^ *[0-9,]+ *\([^)]*\)  >/)
      line = $0; sub(/^ *[0-9,]+ *\([^)]*\) *[*>] */, "", line); sub(/^[^ :]*:/, "", line)
      sub(/ \[[^]]*\]$/, "", line); sub(/ \([0-9,]+x\)$/, "", line)
      if (length(line) > 100) line = substr(line, 1, 97) "..."
      if (count / n >= 50) printf "  %9.0f  %s%s\n", count / n, callee ? "  " : "", line }' \
    "$tmp/tree.txt"
}
callees "llmrt::serve::handle_chat_completions("
callees "llmrt::dispatch("
callees "llmrt::serve::completion_body["
callees "llmrt::serve::parse_chat_request("
callees "llmrt::Key::fingerprint["
callees "int llmrt::sdk::detail::execute_keyed<(anonymous namespace)::Echo>("
