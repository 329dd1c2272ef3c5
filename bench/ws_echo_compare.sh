#!/usr/bin/env bash
# Issue 6's WebSocket benchmark: troupe's echo server (//examples/echo:echo)
# against websocketpp's (//bench:websocketpp_echo_server: single-threaded
# Asio, TCP_NODELAY after accept), both driven by the same closed-loop load
# client written on troupe (//examples/echo:load_client) over loopback,
# the server pinned to one CPU (taskset -c 0) and the client to another
# (taskset -c 1). troupe's server then runs one worker thread (its default
# is one per CPU it may use).
#
# Configurations (issue 6):
#   small  100 connections x 32-byte text messages. One client core
#          saturates near the server's speed, so compare the server's CPU
#          time per message (user + system from /proc/PID/stat over the
#          measured window). Bar: troupe <= websocketpp / 1.3.
#   large  100 connections x 16 KiB binary messages. Bar: messages/s >=
#          1.3 x websocketpp's, and a lower p99 round trip.
#
# Each round runs every (configuration, server) pair once, the two servers
# alternating; per pair the best round is kept (highest messages/s). Prints
# a Markdown table on stdout, progress on stderr. Builds with
# --config=bench; needs tools/setup --bench-peers (run here).
#
# Usage: bench/ws_echo_compare.sh [--rounds N] [--duration 10s] [--warmup 2s]
#          [--connections 100] [--server_cpu 0] [--client_cpu 1]
#          [--only small|large] [--output_base DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rounds=1
duration=10s
warmup=2s
connections=100
server_cpu=0
client_cpu=1
only=""
startup=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --server_cpu) server_cpu="$2"; shift 2 ;;
    --client_cpu) client_cpu="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --output_base) startup=(--output_base="$2"); shift 2 ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ws_echo_compare: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "ws_echo_compare: $*" >&2; }

tools/setup --bench-peers
targets=(//examples/echo:echo //examples/echo:load_client //bench:websocketpp_echo_server)
log "building ${targets[*]} (--config=bench)"
# --symlink_prefix=/: no convenience symlinks in the work tree.
bazel "${startup[@]}" build --config=bench --symlink_prefix=/ "${targets[@]}" >&2
bin="$(bazel "${startup[@]}" info --config=bench bazel-bin 2>/dev/null)"
echo_server="$bin/examples/echo/echo"
wspp_server="$bin/bench/websocketpp_echo_server"
load_client="$bin/examples/echo/load_client"

tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# start_server NAME: starts it pinned to $server_cpu; sets server_pid, port.
start_server() {
  local log_file="$tmp/$1.log"
  # A fresh log: the port is read from it, and a previous round's server
  # wrote the same file.
  rm -f "$log_file"
  case "$1" in
    troupe) taskset -c "$server_cpu" "$echo_server" --listen=127.0.0.1:0 2>"$log_file" & ;;
    websocketpp) taskset -c "$server_cpu" "$wspp_server" --port=0 2>"$log_file" & ;;
  esac
  server_pid=$!
  port=""
  local deadline=$((SECONDS + 30))
  while [ -z "$port" ]; do
    port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log_file" 2>/dev/null)"
    [ -n "$port" ] && break
    [ "$SECONDS" -lt "$deadline" ] || { cat "$log_file" >&2; exit 1; }
    sleep 0.05
  done
}

stop_server() {
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# field LINE KEY: the value of KEY=... in a load_client report line.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

configs=(small large)
[ -n "$only" ] && configs=("$only")
declare -A best
for ((round = 1; round <= rounds; round++)); do
  for config in "${configs[@]}"; do
    case "$config" in
      small) size=32; type=text ;;
      large) size=16384; type=binary ;;
      *) echo "ws_echo_compare: unknown configuration $config" >&2; exit 2 ;;
    esac
    servers=(troupe websocketpp)
    [ $((round % 2)) -eq 0 ] && servers=(websocketpp troupe)
    for server in "${servers[@]}"; do
      start_server "$server"
      log "round $round: $config on $server (port $port)"
      status=0
      line="$(taskset -c "$client_cpu" "$load_client" --url="ws://127.0.0.1:$port/" \
          --connections="$connections" --size="$size" --type="$type" \
          --warmup="$warmup" --duration="$duration" --server_pid="$server_pid" \
          --progress=0 2>"$tmp/client.err")" || status=$?
      stop_server
      if [ "$status" -ne 0 ]; then
        log "the load client failed (exit $status) against $server:"
        cat "$tmp/client.err" "$tmp/$server.log" >&2
        exit 1
      fi
      log "  $line"
      key="$config/$server"
      rate="$(field "$line" msgs_per_s)"
      previous="$(field "${best[$key]:-}" msgs_per_s)"
      if [ -z "$previous" ] || awk -v a="$rate" -v b="$previous" 'BEGIN { exit !(a > b) }'; then
        best[$key]="$line"
      fi
    done
  done
done

load="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "WebSocket echo, $connections connections, loopback; server on CPU $server_cpu, client on CPU $client_cpu;"
echo "${warmup} warm-up + ${duration} measured, best of $rounds round(s); $(nproc) CPUs, load average $load at the end, $(date -u +%Y-%m-%d)."
echo
echo "| configuration | server | msgs/s | p50 us | p99 us | server CPU us/msg | client CPU us/msg |"
echo "|---|---|---|---|---|---|---|"
for config in "${configs[@]}"; do
  case "$config" in
    small) label="100 x 32 B text" ;;
    large) label="100 x 16 KiB binary" ;;
  esac
  [ "$connections" -eq 100 ] || label="${label/100/$connections}"
  for server in troupe websocketpp; do
    line="${best[$config/$server]}"
    echo "| $label | $server | $(field "$line" msgs_per_s) | $(field "$line" p50_us) | $(field "$line" p99_us) | $(field "$line" server_cpu_us_per_msg) | $(field "$line" client_cpu_us_per_msg) |"
  done
done
echo
for config in "${configs[@]}"; do
  t="${best[$config/troupe]}"
  w="${best[$config/websocketpp]}"
  case "$config" in
    small)
      awk -v t="$(field "$t" server_cpu_us_per_msg)" -v w="$(field "$w" server_cpu_us_per_msg)" 'BEGIN {
        r = t / w
        printf "- small: troupe uses %.2fx websocketpp'"'"'s server CPU per message (bar: <= %.2f): %s\n", r, 1 / 1.3, r <= 1 / 1.3 ? "met" : "not met" }' ;;
    large)
      awk -v tr="$(field "$t" msgs_per_s)" -v wr="$(field "$w" msgs_per_s)" \
          -v tp="$(field "$t" p99_us)" -v wp="$(field "$w" p99_us)" 'BEGIN {
        r = tr / wr
        printf "- large: troupe does %.2fx websocketpp'"'"'s messages/s (bar: >= 1.30) and its p99 is %.2fx (bar: < 1): %s\n", r, tp / wp, (r >= 1.3 && tp < wp) ? "met" : "not met" }' ;;
  esac
done
