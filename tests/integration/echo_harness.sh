# shellcheck shell=bash
# Shared by the echo server's integration tests (source it from bash).
#
#   start_echo BINARY [FLAG...]  starts the echo server on 127.0.0.1, port 0,
#                                 and waits (up to 60 s: sanitizer builds
#                                 start slowly) for its "listening on" line;
#                                 sets ECHO_PID, ECHO_PORT, ECHO_URL, ECHO_LOG.
#   stop_echo [SIGNAL]            sends SIGNAL (TERM) and waits up to 30 s;
#                                 returns the server's exit status (124 if
#                                 it had to be killed).
#   find_python                   prints a python3 that imports websockets,
#                                 or fails saying how to install it.
#   fail MESSAGE                  prints "FAIL: MESSAGE" and the server logs,
#                                 exits 1.
# Every server started is killed when the test's shell exits, whatever
# happened. Ports are chosen by the kernel, so tests can run in parallel.

set -euo pipefail

readonly HARNESS_TMP="${TEST_TMPDIR:-$(mktemp -d)}"
_echo_pids=()
_echo_logs=()

_kill_echo_servers() {
  local pid
  for pid in "${_echo_pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap _kill_echo_servers EXIT

fail() {
  echo "FAIL: $*"
  local log
  for log in "${_echo_logs[@]}"; do
    echo "--- $log"
    cat "$log" || true
  done
  exit 1
}

# _running PID: true while PID exists and is not a zombie.
_running() {
  [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

start_echo() {
  local binary="$1"
  shift
  ECHO_LOG="$HARNESS_TMP/echo.${#_echo_logs[@]}.log"
  _echo_logs+=("$ECHO_LOG")
  : >"$ECHO_LOG"
  "$binary" --listen=127.0.0.1:0 "$@" 2>"$ECHO_LOG" &
  ECHO_PID=$!
  _echo_pids+=("$ECHO_PID")
  local deadline=$((SECONDS + 60))
  ECHO_PORT=""
  while [ -z "$ECHO_PORT" ]; do
    ECHO_PORT="$(sed -n 's/^echo: listening on 127\.0\.0\.1:\([0-9][0-9]*\) .*/\1/p' "$ECHO_LOG")"
    [ -n "$ECHO_PORT" ] && break
    _running "$ECHO_PID" || fail "the echo server exited during start-up"
    [ "$SECONDS" -lt "$deadline" ] || fail "the echo server did not listen within 60 s"
    sleep 0.05
  done
  export ECHO_URL="ws://127.0.0.1:$ECHO_PORT/"
}

stop_echo() {
  local signal="${1:-TERM}" pid="$ECHO_PID" status=0
  kill "-$signal" "$pid" 2>/dev/null || true
  # A watchdog, since `wait` has no timeout.
  (sleep 30 && kill -KILL "$pid" 2>/dev/null && echo "stop_echo: killed $pid after 30 s") &
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
