#!/usr/bin/env bash
# The echo binary as a process: --help, refused flags, a taken port, and
# the graceful shutdown on SIGTERM and SIGINT seen from a real client
# (Python's websockets): close code 1001, exit 0, the log lines; a peer
# that never answers is cut after --shutdown_timeout; a second signal ends
# the process at once.
# Usage: echo_cli_test.sh ECHO_BINARY
# shellcheck source=tests/integration/echo_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/echo_harness.sh"
echo_binary="$1"
python="$(find_python)" || exit 1

expect_in() {  # expect_in TEXT PATTERN WHAT
  grep -q -- "$2" <<<"$1" || fail "$3: expected '$2' in: $1"
}

# run_echo ARGS...: runs the binary to completion; sets out and status.
run_echo() {
  status=0
  out="$(timeout 60 "$echo_binary" "$@" 2>&1)" || status=$?
}

echo "== --help lists every flag on stdout and exits 0"
status=0
out="$(timeout 60 "$echo_binary" --help 2>/dev/null)" || status=$?
[ "$status" -eq 0 ] || fail "--help: exit $status, expected 0"
for flag in --listen --worker_threads --max_message_size --deflate --shutdown_timeout; do
  expect_in "$out" "$flag" "--help"
done
expect_in "$out" "Exit: 0" "--help"
expect_in "$out" "default: 5s" "--help (--shutdown_timeout's default)"

echo "== refused flags exit 1 with a reason"
for args in "--no_such_flag" "--listen=nonsense" "--listen=127.0.0.1:70000" \
            "--worker_threads=-1" "--max_message_size=0" "--shutdown_timeout=-1s" \
            "--shutdown_timeout=soon" "stray_argument"; do
  run_echo $args
  [ "$status" -eq 1 ] || fail "$args: exit $status, expected 1: $out"
  [ -n "$out" ] || fail "$args: no message"
done
run_echo --listen=nonsense
expect_in "$out" "--listen=nonsense" "a bad --listen"

echo "== a taken port exits 2 naming it"
start_echo "$echo_binary"
run_echo --listen="127.0.0.1:$ECHO_PORT"
[ "$status" -eq 2 ] || fail "a taken port: exit $status, expected 2: $out"
expect_in "$out" "127.0.0.1:$ECHO_PORT: Address already in use" "a taken port"

# A client that connects, gets one echo, prints "ready", then waits for
# the server's Close and prints its code and reason.
client_waiting_for_close() {
  ECHO_URL="$ECHO_URL" timeout 120 "$python" - <<'PY'
import asyncio, os, sys, websockets
async def main():
    async with websockets.connect(os.environ["ECHO_URL"], ping_interval=None) as ws:
        await ws.send("hello")
        assert await ws.recv() == "hello"
        print("ready", flush=True)
        try:
            await ws.recv()
        except websockets.ConnectionClosed:
            pass
        print("closed", ws.close_code, ws.close_reason, flush=True)
asyncio.run(main())
PY
}

wait_for_line() {  # wait_for_line FILE PATTERN
  local deadline=$((SECONDS + 60))
  until grep -q -- "$2" "$1" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "no '$2' in $1: $(cat "$1")"
    sleep 0.05
  done
}

for signal in TERM INT; do
  echo "== SIG$signal: the client gets 1001, the server exits 0"
  [ "$signal" = TERM ] || start_echo "$echo_binary"
  client_out="$HARNESS_TMP/client.$signal"
  client_waiting_for_close >"$client_out" 2>&1 &
  client=$!
  wait_for_line "$client_out" ready
  stop_echo "$signal" || fail "exit $? after SIG$signal, expected 0"
  wait "$client" || fail "the client failed: $(cat "$client_out")"
  expect_in "$(cat "$client_out")" "closed 1001 server shutting down" "the client"
  log="$(cat "$ECHO_LOG")"
  expect_in "$log" "got SIG$signal, shutting down" "the log"
  expect_in "$log" "closing 1 WebSocket session (1001)" "the log"
  expect_in "$log" "^echo: stopped: " "the log"
done

# A peer that upgrades and then never reads nor answers.
silent_peer() {
  ECHO_PORT="$ECHO_PORT" timeout 120 "$python" - <<'PY'
import os, socket, time
s = socket.create_connection(("127.0.0.1", int(os.environ["ECHO_PORT"])))
s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          b"Sec-WebSocket-Version: 13\r\n\r\n")
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1024)
assert head.startswith(b"HTTP/1.1 101"), head
print("ready", flush=True)
time.sleep(100)
PY
}

# start_silent_peer NAME: a silent peer of the running server, in the
# background (pid in $peer) once it has upgraded.
start_silent_peer() {
  local out="$HARNESS_TMP/peer.$1"
  silent_peer >"$out" 2>&1 &
  peer=$!
  wait_for_line "$out" ready
}
end_silent_peer() {
  kill "$peer" 2>/dev/null || true
  wait "$peer" 2>/dev/null || true
}

echo "== a peer that never answers is cut after --shutdown_timeout"
start_echo "$echo_binary" --shutdown_timeout=1s
start_silent_peer timeout
started=$SECONDS
stop_echo TERM || fail "exit $? after SIGTERM with a silent peer, expected 0"
[ $((SECONDS - started)) -lt 20 ] || fail "shutdown took $((SECONDS - started)) s"
expect_in "$(cat "$ECHO_LOG")" "cut off after --shutdown_timeout" "the log"
end_silent_peer

echo "== a second signal ends the process at once"
start_echo "$echo_binary" --shutdown_timeout=60s
start_silent_peer second
kill -TERM "$ECHO_PID"
wait_for_line "$ECHO_LOG" "got SIGTERM"
sleep 0.2
started=$SECONDS
status=0
stop_echo TERM || status=$?
[ "$status" -eq 143 ] || fail "after a second SIGTERM: exit $status, expected 143 (killed by it)"
[ $((SECONDS - started)) -lt 20 ] || fail "the second signal took $((SECONDS - started)) s"
end_silent_peer

echo "PASS"
