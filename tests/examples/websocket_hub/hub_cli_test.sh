#!/usr/bin/env bash
# The hub binary as a process: --help, refused flags (exit 1 with a
# reason), a taken port (exit 2 naming it), SIGINT as well as SIGTERM.
# Usage: hub_cli_test.sh HUB_BINARY
# shellcheck source=tests/examples/websocket_hub/hub_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/hub_harness.sh"
hub_binary="$1"

expect_in() {  # expect_in TEXT PATTERN WHAT
  grep -q -- "$2" <<<"$1" || fail "$3: expected '$2' in: $1"
}

run_hub() {  # run_hub ARGS...: to completion; sets out and status
  status=0
  out="$(timeout 60 "$hub_binary" "$@" 2>&1)" || status=$?
}

echo "== --help lists every flag of the issue on stdout"
status=0
out="$(timeout 60 "$hub_binary" --help 2>/dev/null)" || status=$?
[ "$status" -eq 0 ] || fail "--help: exit $status"
for flag in --listen --worker_threads --history --max_message_bytes \
            --outbound_queue --max_connections --rate_limit \
            --allowed_origins --auth_token_file; do
  expect_in "$out" "$flag" "--help"
done
expect_in "$out" 'default: "127.0.0.1:8080"' "--listen's default"

echo "== refused flags exit 1 with a reason"
for args in "--no_such_flag" "--listen=nonsense" "--listen=127.0.0.1:70000" \
            "--worker_threads=-1" "--history=-1" "--max_message_bytes=0" \
            "--outbound_queue=0" "--max_connections=-5" "--rate_limit=-1" \
            "--rate_limit=fast" "--auth_token_file=/no/such/file" "stray"; do
  # shellcheck disable=SC2086
  run_hub $args
  [ "$status" -eq 1 ] || fail "$args: exit $status, expected 1: $out"
  [ -n "$out" ] || fail "$args: no message"
done
run_hub --history=-1
expect_in "$out" "--history=-1" "a bad --history"
empty="$HUB_TMP/empty_tokens"
: >"$empty"
run_hub --auth_token_file="$empty"
[ "$status" -eq 1 ] || fail "an empty token file: exit $status"
expect_in "$out" "holds no token" "an empty token file"

echo "== a taken port exits 2 naming it"
start_hub "$hub_binary"
run_hub --listen="127.0.0.1:$HUB_PORT"
[ "$status" -eq 2 ] || fail "a taken port: exit $status, expected 2: $out"
expect_in "$out" "127.0.0.1:$HUB_PORT: Address already in use" "a taken port"
stop_hub "$HUB_PID" TERM || fail "exit $? after SIGTERM"

echo "== SIGINT stops it like SIGTERM: exit 0"
start_hub "$hub_binary"
stop_hub "$HUB_PID" INT || fail "exit $? after SIGINT"
grep -q "got SIGINT" "$HUB_LOG" || fail "no 'got SIGINT' in the log"
echo "PASS"
