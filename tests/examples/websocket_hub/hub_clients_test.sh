#!/usr/bin/env bash
# The hub against independent clients (Python's websockets,
# hub_clients_test.py): three hubs with different flags, then the graceful
# shutdown seen from a client. Every hub must exit 0 after SIGTERM, which
# in sanitizer builds also means no sanitizer report.
# Usage: hub_clients_test.sh HUB_BINARY CLIENT_SCRIPT
# shellcheck source=tests/examples/websocket_hub/hub_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/hub_harness.sh"
hub_binary="$1"
client="$2"
python="$(find_python)" || exit 1

token_file="$HUB_TMP/tokens"
printf 'first-token\n\n  s3cret-token  \n' >"$token_file"

start_hub "$hub_binary"
main_pid="$HUB_PID" main_port="$HUB_PORT"
start_hub "$hub_binary" --outbound_queue=8
slow_pid="$HUB_PID" slow_port="$HUB_PORT"
start_hub "$hub_binary" --rate_limit=5 --auth_token_file="$token_file" \
  --allowed_origins=https://chat.example,https://other.example --max_message_bytes=1024
guarded_pid="$HUB_PID" guarded_port="$HUB_PORT"

status=0
HUB_PORT="$main_port" HUB_SLOW_PORT="$slow_port" HUB_GUARDED_PORT="$guarded_port" \
  HUB_TOKEN=s3cret-token timeout 900 "$python" "$client" || status=$?
[ "$status" -eq 0 ] || fail "the client tests failed (exit $status)"

for pid in "$main_pid" "$slow_pid" "$guarded_pid"; do
  stop_hub "$pid" TERM || fail "a hub exited with $? after SIGTERM"
done

echo "== SIGTERM: queued messages are flushed, then close 1001, exit 0"
start_hub "$hub_binary"
status=0
HUB_PORT="$HUB_PORT" HUB_PID="$HUB_PID" timeout 300 "$python" "$client" \
  ShutdownTest || status=$?
[ "$status" -eq 0 ] || fail "the shutdown test failed (exit $status)"
# The client sent the SIGTERM: only wait (signal 0) - a second one would
# end the hub at once.
stop_hub "$HUB_PID" 0 || fail "the hub exited with $? after SIGTERM"
grep -q "got SIGTERM" "$HUB_LOG" || fail "no 'got SIGTERM' in the log"
echo "PASS"
