# shellcheck shell=bash
# Shared by the hub's integration tests (source it from bash).
#
#   start_hub BINARY [FLAG...]  starts the hub on 127.0.0.1, port 0, and
#                               waits (up to 60 s: sanitizer builds start
#                               slowly) for its "listening on" line; sets
#                               HUB_PID, HUB_PORT, HUB_LOG.
#   stop_hub PID [SIGNAL]       sends SIGNAL (TERM) and waits up to 30 s;
#                               returns the hub's exit status (124 if it
#                               had to be killed).
#   find_python                 prints a python3 that imports websockets.
#   fail MESSAGE                prints "FAIL: MESSAGE" and every hub log,
#                               exits 1.
# Every hub started is killed when the test's shell exits.

set -euo pipefail

readonly HUB_TMP="${TEST_TMPDIR:-$(mktemp -d)}"
_hub_pids=()
_hub_logs=()

_kill_hubs() {
  local pid
  for pid in "${_hub_pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap _kill_hubs EXIT

fail() {
  echo "FAIL: $*"
  local log
  for log in "${_hub_logs[@]}"; do
    echo "--- $log"
    cat "$log" || true
  done
  exit 1
}

_alive() {
  [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

start_hub() {
  local binary="$1"
  shift
  HUB_LOG="$HUB_TMP/hub.${#_hub_logs[@]}.log"
  _hub_logs+=("$HUB_LOG")
  : >"$HUB_LOG"
  "$binary" --listen=127.0.0.1:0 "$@" 2>"$HUB_LOG" &
  HUB_PID=$!
  _hub_pids+=("$HUB_PID")
  local deadline=$((SECONDS + 60))
  HUB_PORT=""
  until [ -n "$HUB_PORT" ]; do
    HUB_PORT="$(sed -n 's/^websocket_hub: listening on 127\.0\.0\.1:\([0-9][0-9]*\) .*/\1/p' "$HUB_LOG")"
    [ -n "$HUB_PORT" ] && break
    _alive "$HUB_PID" || fail "the hub exited during start-up"
    [ "$SECONDS" -lt "$deadline" ] || fail "the hub did not listen within 60 s"
    sleep 0.05
  done
}

stop_hub() {
  local pid="$1" signal="${2:-TERM}" status=0
  kill "-$signal" "$pid" 2>/dev/null || true
  (sleep 30 && kill -KILL "$pid" 2>/dev/null && echo "stop_hub: killed $pid after 30 s") &
  local watchdog=$!
  wait "$pid" || status=$?
  kill "$watchdog" 2>/dev/null || true
  wait "$watchdog" 2>/dev/null || true
  [ "$status" -eq 137 ] && status=124
  return "$status"
}

find_python() {
  local candidate
  for candidate in /usr/bin/python3 "$(command -v python3 || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] &&
       "$candidate" -c 'import websockets' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "FAIL: no python3 with the websockets module: run tools/setup --test-clients" >&2
  return 1
}
