# shellcheck shell=bash
# Shared by the example services' integration tests (source it from bash;
# tests/integration/echo_harness.sh and
# tests/examples/websocket_hub/hub_harness.sh wrap it).
#
#   start_server NAME BINARY [FLAG...]
#       starts BINARY --listen=127.0.0.1:0 FLAG... and waits (up to 60 s:
#       sanitizer builds start slowly) for its "NAME: listening on
#       127.0.0.1:PORT " line on stderr; sets SERVER_PID, SERVER_PORT,
#       SERVER_LOG.
#   stop_server PID [SIGNAL]
#       sends SIGNAL (TERM) and waits up to 30 s; returns the server's exit
#       status (124 if it had to be killed).
#   find_python
#       prints a python3 that imports websockets, or fails saying how to
#       install it.
#   fail MESSAGE
#       prints "FAIL: MESSAGE" and every server log, exits 1.
# Every server started is killed when the test's shell exits, whatever
# happened. Ports are chosen by the kernel, so tests can run in parallel.

set -euo pipefail

readonly SERVER_TMP="${TEST_TMPDIR:-$(mktemp -d)}"
_server_pids=()
_server_logs=()

_kill_servers() {
  local pid
  for pid in "${_server_pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap _kill_servers EXIT

fail() {
  echo "FAIL: $*"
  local log
  for log in "${_server_logs[@]}"; do
    echo "--- $log"
    cat "$log" || true
  done
  exit 1
}

# _running PID: true while PID exists and is not a zombie.
_running() {
  [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

start_server() {
  local name="$1" binary="$2"
  shift 2
  SERVER_LOG="$SERVER_TMP/$name.${#_server_logs[@]}.log"
  _server_logs+=("$SERVER_LOG")
  : >"$SERVER_LOG"
  "$binary" --listen=127.0.0.1:0 "$@" 2>"$SERVER_LOG" &
  SERVER_PID=$!
  _server_pids+=("$SERVER_PID")
  local deadline=$((SECONDS + 60))
  SERVER_PORT=""
  while [ -z "$SERVER_PORT" ]; do
    SERVER_PORT="$(sed -n "s/^$name: listening on 127\.0\.0\.1:\([0-9][0-9]*\) .*/\1/p" "$SERVER_LOG")"
    [ -n "$SERVER_PORT" ] && break
    _running "$SERVER_PID" || fail "$name exited during start-up"
    [ "$SECONDS" -lt "$deadline" ] || fail "$name did not listen within 60 s"
    sleep 0.05
  done
}

stop_server() {
  local pid="$1" signal="${2:-TERM}" status=0
  kill "-$signal" "$pid" 2>/dev/null || true
  # A watchdog, since `wait` has no timeout.
  (sleep 30 && kill -KILL "$pid" 2>/dev/null && echo "stop_server: killed $pid after 30 s") &
  local watchdog=$!
  wait "$pid" || status=$?
  kill "$watchdog" 2>/dev/null || true
  wait "$watchdog" 2>/dev/null || true
  [ "$status" -eq 137 ] && status=124
  return "$status"
}

find_python() {
  local candidate
  # Debian's interpreter first: python3-websockets installs there, while
  # a python3 earlier in PATH (pyenv, a venv) may lack it.
  for candidate in /usr/bin/python3 "$(command -v python3 || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] &&
       "$candidate" -c 'import websockets' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "FAIL: no python3 with the websockets module: run tools/setup --test-clients (installs python3-websockets)" >&2
  return 1
}
