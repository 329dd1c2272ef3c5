# shellcheck shell=bash
# Shared by the echo server's integration tests (source it from bash): the
# example services' harness (tests/examples/service/server_harness.sh:
# find_python, fail, stop_server) with the echo server's names.
#
#   start_echo BINARY [FLAG...]  starts the echo server on 127.0.0.1, port 0,
#                                 and waits for its "listening on" line;
#                                 sets ECHO_PID, ECHO_PORT, ECHO_URL, ECHO_LOG.
#   stop_echo [SIGNAL]            sends SIGNAL (TERM) and waits up to 30 s;
#                                 returns the server's exit status (124 if
#                                 it had to be killed).

# shellcheck source=tests/examples/service/server_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../examples/service/server_harness.sh"

readonly HARNESS_TMP="$SERVER_TMP"

start_echo() {
  start_server echo "$@"
  ECHO_PID="$SERVER_PID" ECHO_PORT="$SERVER_PORT" ECHO_LOG="$SERVER_LOG"
  export ECHO_URL="ws://127.0.0.1:$ECHO_PORT/"
}

stop_echo() {
  stop_server "$ECHO_PID" "${1:-TERM}"
}
