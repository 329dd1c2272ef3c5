#!/usr/bin/env bash
# The hub's browser page in headless Chromium: two tabs chat
# (browser_test.py). Needs Debian's chromium (tools/setup --test-clients).
# Usage: browser_test.sh HUB_BINARY CLIENT_SCRIPT
# shellcheck source=tests/examples/websocket_hub/hub_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/hub_harness.sh"
hub_binary="$1"
client="$2"
python="$(find_python)" || exit 1
chromium="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$chromium" ] || fail "no chromium: run tools/setup --test-clients"

start_hub "$hub_binary"
status=0
HOME="$HUB_TMP" HUB_PORT="$HUB_PORT" CHROMIUM="$chromium" timeout 600 \
  "$python" "$client" || status=$?
stop_hub "$HUB_PID" TERM || fail "the hub exited with $? after SIGTERM"
[ "$status" -eq 0 ] || fail "the browser test failed (exit $status)"
echo "PASS"
