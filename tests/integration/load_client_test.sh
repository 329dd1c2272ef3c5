#!/usr/bin/env bash
# The load client as a process against the echo server: its report line,
# count and duration modes, text and binary, compression, the server's CPU
# time, and its refusals.
# Usage: load_client_test.sh ECHO_BINARY LOAD_CLIENT_BINARY
# shellcheck source=tests/integration/echo_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/echo_harness.sh"
echo_binary="$1"
load_client="$2"

expect_in() {  # expect_in TEXT PATTERN WHAT
  grep -q -- "$2" <<<"$1" || fail "$3: expected '$2' in: $1"
}

# run_load ARGS...: sets out (stdout), err (stderr), status.
run_load() {
  status=0
  out="$(timeout 120 "$load_client" "$@" 2>"$HARNESS_TMP/load.err")" || status=$?
  err="$(cat "$HARNESS_TMP/load.err")"
}

echo "== --help, on stdout, exits 0"
run_load --help
[ "$status" -eq 0 ] || fail "--help: exit $status, expected 0"
expect_in "$out" "--connections" "--help"
expect_in "$out" "msgs_per_s" "--help"
expect_in "$out" "--stall_timeout" "--help"

start_echo "$echo_binary"

echo "== count mode, text"
run_load --url="$ECHO_URL" --connections=4 --messages=400 --size=100 --progress=0
[ "$status" -eq 0 ] || fail "exit $status: $out $err"
for key in "connections=4 " "size=100 " "type=text " "messages=400 " "errors=0 " \
           "msgs_per_s=" "p50_us=" "p99_us=" "client_cpu_us_per_msg="; do
  expect_in "$out" "$key" "the report"
done

echo "== count mode, 16 KiB binary with compression and the server's CPU"
run_load --url="$ECHO_URL" --connections=3 --messages=150 --size=16384 \
    --type=binary --deflate --server_pid="$ECHO_PID" --progress=0
[ "$status" -eq 0 ] || fail "exit $status: $out $err"
expect_in "$out" "type=binary deflate=on" "the report"
expect_in "$out" "messages=150 " "the report"
expect_in "$out" "server_cpu_us_per_msg=" "the report"

echo "== duration mode with warm-up and progress lines"
run_load --url="$ECHO_URL" --connections=2 --warmup=200ms --duration=1s --progress=250ms
[ "$status" -eq 0 ] || fail "exit $status: $out $err"
expect_in "$out" "seconds=1.00 " "the report"
expect_in "$err" "round trips" "the progress"

echo "== refusals"
for args in "--url=http://x/" "--connections=0" "--type=text/plain" \
            "--duration=0s" "--duration=-1s" "--warmup=soon" "--server_pid=-5" \
            "--worker_threads=-1" "--worker_threads=1025"; do
  run_load $args
  [ "$status" -eq 1 ] || fail "$args: exit $status, expected 1: $err"
done
stop_echo TERM || fail "the server exited with $? after SIGTERM"
run_load --url="$ECHO_URL" --connections=2 --messages=10
[ "$status" -eq 1 ] || fail "no server: exit $status, expected 1: $err"
expect_in "$err" "connecting to 127.0.0.1:$ECHO_PORT" "no server"

echo "PASS"
