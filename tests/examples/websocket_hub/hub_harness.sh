# shellcheck shell=bash
# Shared by the hub's integration tests (source it from bash): the example
# services' harness (tests/examples/service/server_harness.sh:
# find_python, fail) with the hub's names.
#
#   start_hub BINARY [FLAG...]  starts the hub on 127.0.0.1, port 0, and
#                               waits for its "listening on" line; sets
#                               HUB_PID, HUB_PORT, HUB_LOG.
#   stop_hub PID [SIGNAL]       sends SIGNAL (TERM) and waits up to 30 s;
#                               returns the hub's exit status (124 if it
#                               had to be killed).

# shellcheck source=tests/examples/service/server_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../service/server_harness.sh"

readonly HUB_TMP="$SERVER_TMP"

start_hub() {
  start_server websocket_hub "$@"
  HUB_PID="$SERVER_PID" HUB_PORT="$SERVER_PORT" HUB_LOG="$SERVER_LOG"
}

stop_hub() {
  stop_server "$@"
}
