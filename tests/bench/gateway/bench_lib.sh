# Shared by the gateway benchmark scripts (sourced, not run): starting and stopping the servers
# they measure, each on a 127.0.0.1 ephemeral port.

# Prints the port a server announced in `file` ("http://127.0.0.1:PORT"), waiting up to 10 s while
# process `pid` lives; otherwise prints the file to stderr and fails.
wait_for_port() {  # file pid
  local file=$1 pid=$2 port
  for _ in $(seq 100); do
    port=$(sed -n 's|.*http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$file" | head -n 1)
    if [[ -n $port ]]; then
      echo "$port"
      return 0
    fi
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  cat "$file" >&2
  return 1
}

# SIGTERM, then SIGKILL after 5 s; reaps it. An empty pid does nothing.
stop_process() {  # pid
  local pid=$1
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2> /dev/null || return 0
  for _ in $(seq 50); do
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
}
