#!/usr/bin/env bash
# The echo server against Python's websockets (websockets_client_test.py),
# then a graceful stop: the server must exit 0 after SIGTERM, which also
# means no sanitizer report in sanitizer builds.
# Usage: websockets_client_test.sh ECHO_BINARY CLIENT_SCRIPT
# shellcheck source=tests/integration/echo_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/echo_harness.sh"
echo_binary="$1"
client="$2"

python="$(find_python)" || exit 1
start_echo "$echo_binary"
status=0
ECHO_URL="$ECHO_URL" timeout 600 "$python" "$client" || status=$?
stop_echo TERM || fail "the server exited with $? after SIGTERM"
[ "$status" -eq 0 ] || fail "the websockets client tests failed (exit $status)"
echo "PASS"
