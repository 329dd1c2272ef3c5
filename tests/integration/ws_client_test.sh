#!/usr/bin/env bash
# The echo server against Node's ws (ws_client_test.js), then a graceful
# stop: the server must exit 0 after SIGTERM.
# Usage: ws_client_test.sh ECHO_BINARY CLIENT_SCRIPT WS_PACKAGE_JSON
#   WS_PACKAGE_JSON: third_party/node/node_modules/ws/package.json, from
#   the modules tools/setup --test-clients installed (nothing is installed
#   here: tests run offline).
# shellcheck source=tests/integration/echo_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/echo_harness.sh"
echo_binary="$1"
client="$2"
ws_package="${3:-}"

node="$(command -v node || true)"
[ -n "$node" ] || node=/usr/bin/node
[ -x "$node" ] || fail "node is not installed: run tools/setup --test-clients"
if [ -z "$ws_package" ] || [ ! -f "$ws_package" ]; then
  fail "Node's ws is not installed in third_party/node/node_modules: run tools/setup --test-clients"
fi
node_path="$(cd "$(dirname "$ws_package")/.." && pwd)"

start_echo "$echo_binary"
status=0
ECHO_URL="$ECHO_URL" NODE_PATH="$node_path" timeout 600 "$node" "$client" || status=$?
stop_echo TERM || fail "the server exited with $? after SIGTERM"
[ "$status" -eq 0 ] || fail "the ws client tests failed (exit $status)"
echo "PASS"
