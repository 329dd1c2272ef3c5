#!/usr/bin/env bash
# Measures the loopback-TCP floors of two benchmark bars on this machine
# and prints them as Markdown tables (progress and raw result lines on
# stderr):
#
#   fan-out  //bench/floor:fanout_floor at --rates (messages per second per
#            client; 1000 clients in 10 rooms, so 100k/150k/200k deliveries
#            per second at 1/1.5/2): deliveries/s, latency, CPU cores of
#            the server and of the client. Neither is pinned (2 threads
#            each), as in the hub's own measurement. Both server modes
#            (--coalesce "0 1"): one send per delivery, and one send per
#            recipient per epoll batch.
#   echo     //bench/floor:echo_floor against troupe's echo server
#            (//examples/echo:echo) and websocketpp's
#            (//bench:websocketpp_echo_server), driven by
#            //examples/echo:load_client as bench/ws_echo_compare.sh does:
#            server on CPU 0, client on CPU 1, 100 connections x 32-byte
#            text; server CPU microseconds per message.
#   hub      (with --hub) //examples/websocket_hub:websocket_hub under its
#            loadgen at the same rates, for comparison with the fan-out
#            floor; built with --config=opt in a second build. loadgen
#            reports no CPU: the script samples /proc/PID/stat of both
#            processes over most of loadgen's measured window (it follows
#            loadgen's timeline from its "connected" line: from 50 ms
#            after the window opens to 250 ms before it closes).
#
# Every measurement runs --runs times (servers restarted each time, the
# echo servers in rotating order); the tables give the median of each
# column. Each run waits until no other benchmark runs and the CPUs have
# been idle for --quiet s (up to --max_wait s), and is repeated (up to 3
# times) if other processes used more than --max_other cores during it;
# see clean_run below. Builds with --config=bench
# (--config option), --symlink_prefix=/ and its own output base (default
# /tmp/ob-floor). Needs tools/setup --bench-peers (run here).
#
# Usage: bench/floor/run_floor.sh [--runs 3] [--warmup 2] [--duration 10]
#          [--rates "1 1.5 2"] [--coalesce "0 1"] [--only fanout|echo|hub] [--hub]
#          [--config bench] [--output_base /tmp/ob-floor]
#          [--max_other 0.05] [--max_wait 600] [--quiet 10]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

runs=3
warmup=2
duration=10
rates="1 1.5 2"
coalesce_modes="0 1"
only=""
hub=0
config=bench
output_base=/tmp/ob-floor
max_other=0.05
max_wait=600
quiet=10
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --rates) rates="$2"; shift 2 ;;
    --coalesce) coalesce_modes="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --hub) hub=1; shift ;;
    --config) config="$2"; shift 2 ;;
    --output_base) output_base="$2"; shift 2 ;;
    --max_other) max_other="$2"; shift 2 ;;
    --max_wait) max_wait="$2"; shift 2 ;;
    --quiet) quiet="$2"; shift 2 ;;
    -h|--help) sed -n '2,39p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_floor: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$only" in
  "") do_fanout=1; do_echo=1; do_hub=$hub ;;
  fanout) do_fanout=1; do_echo=0; do_hub=0 ;;
  echo) do_fanout=0; do_echo=1; do_hub=0 ;;
  hub) do_fanout=0; do_echo=0; do_hub=1 ;;
  *) echo "run_floor: --only fanout, echo or hub" >&2; exit 2 ;;
esac

log() { echo "run_floor: $*" >&2; }
bazel_() { bazel --output_base="$output_base" "$@"; }

tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# build CONFIG TARGET...: builds, then copies the binaries to $tmp/bin so
# that a later build with another config cannot replace them mid-run.
build() {
  local cfg="$1"
  shift
  log "building $* (--config=$cfg)"
  bazel_ build --config="$cfg" --symlink_prefix=/ "$@" >&2
  local bin
  bin="$(bazel_ info --config="$cfg" bazel-bin 2>/dev/null)"
  mkdir -p "$tmp/bin"
  local target
  for target in "$@"; do
    local path="${target#//}"
    cp "$bin/${path%%:*}/${path##*:}" "$tmp/bin/"
  done
}

targets=()
if [ "$do_fanout" = 1 ]; then targets+=(//bench/floor:fanout_floor); fi
if [ "$do_echo" = 1 ]; then
  tools/setup --bench-peers
  targets+=(//bench/floor:echo_floor //examples/echo:echo
            //examples/echo:load_client //bench:websocketpp_echo_server)
fi
if [ ${#targets[@]} -gt 0 ]; then build "$config" "${targets[@]}"; fi
if [ "$do_hub" = 1 ]; then
  build opt //examples/websocket_hub:websocket_hub //examples/websocket_hub:loadgen
fi

# start_server LOG COMMAND...: starts it in the background; sets
# server_pid and port (from its "listening on 127.0.0.1:PORT" line).
start_server() {
  local log_file="$1"
  shift
  # Removed first: the shell opens (truncates) it only in the child, and
  # the loop below must not read the previous server's line.
  rm -f "$log_file"
  "$@" 2>"$log_file" &
  server_pid=$!
  port=""
  local deadline=$((SECONDS + 30))
  while [ -z "$port" ]; do
    port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log_file" 2>/dev/null | head -1 || true)"
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

# field LINE KEY: the value of KEY=... in a key=value result line.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -1; }

# median: the median of the numbers on stdin (one per line).
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# median_of FILE KEY: the median of KEY over the result lines in FILE.
median_of() { while read -r line; do field "$line" "$2"; done <"$1" | median; }

# cpu_seconds PID: utime + stime from /proc/PID/stat.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"
}

# Other processes: the script waits for an idle machine before each run,
# and repeats a run during which processes other than its own (server,
# client, the script's helpers: all its children) used more than
# --max_other cores. other_cores = (busy time of all CPUs in /proc/stat -
# CPU time of the script's reaped children) / wall time, over the whole
# run (start-up and warm-up included). Kernel threads count as other.

# busy_seconds: user + nice + system + irq + softirq of all CPUs so far.
busy_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '/^cpu / { print ($2 + $3 + $4 + $7 + $8) / hz }' /proc/stat
}

# children_seconds VAR: sets VAR to the user + system time of this
# shell's reaped children (`times` must run in this shell, not in $(...)).
children_seconds() {
  times >"$tmp/times"
  printf -v "$1" '%s' "$(awk 'NR == 2 {
    total = 0
    for (i = 1; i <= 2; i++) { split($i, t, "m"); total += t[1] * 60 + t[2] }
    print total }' "$tmp/times")"
}

# foreign_benchmarks: prints other benchmark processes running (load
# generators, servers, benchmark binaries not started by this script).
foreign_benchmarks() {
  pgrep -af 'loadgen|load_client|websocket_hub|echo_server|echo_floor|fanout_floor|workloads|_benchmark|wl-|perf record' |
    grep -v -e "$tmp/" -e pgrep -e run_floor || true
}

# wait_quiet: until no other benchmark runs and the CPUs have been idle
# (< 3% busy) for --quiet seconds, at most --max_wait seconds.
wait_quiet() {
  local waited=0
  while :; do
    local b0 b1 busy others
    others="$(foreign_benchmarks)"
    b0="$(busy_seconds)"
    sleep "$quiet"
    b1="$(busy_seconds)"
    busy="$(awk -v a="$b0" -v b="$b1" -v t="$quiet" -v n="$(nproc)" 'BEGIN { printf "%.3f", (b - a) / t / n }')"
    [ -n "$others" ] || others="$(foreign_benchmarks)"
    if [ -z "$others" ] && awk -v b="$busy" 'BEGIN { exit !(b < 0.03) }'; then return; fi
    if [ "$waited" -ge "$max_wait" ]; then
      log "still busy ($busy of all CPUs) after ${waited} s: measuring anyway"
      return
    fi
    if [ -n "$others" ]; then
      log "another benchmark runs ($(head -1 <<<"$others" | cut -c1-80)): waiting"
    else
      log "the machine is busy ($busy of all CPUs): waiting"
    fi
    sleep 20
    waited=$((waited + 20 + quiet))
  done
}

# clean_run LABEL FUNCTION ARGS...: runs FUNCTION (which sets `line`) on a
# quiet machine, again while other processes intruded; appends
# other_cores=... to `line`.
clean_run() {
  local label="$1"
  shift
  local attempt
  for ((attempt = 1; ; attempt++)); do
    wait_quiet
    local b0 c0 t0 b1 c1 t1
    b0="$(busy_seconds)"; children_seconds c0; t0="$(date +%s.%N)"
    "$@"
    b1="$(busy_seconds)"; children_seconds c1; t1="$(date +%s.%N)"
    other="$(awk -v b0="$b0" -v b1="$b1" -v c0="$c0" -v c1="$c1" \
      -v t0="$t0" -v t1="$t1" 'BEGIN { o = ((b1 - b0) - (c1 - c0)) / (t1 - t0); printf "%.3f", o < 0 ? 0 : o }')"
    line="$line other_cores=$other"
    log "$label: $line"
    if awk -v o="$other" -v m="$max_other" 'BEGIN { exit !(o <= m) }'; then return; fi
    if [ "$attempt" -ge 4 ]; then
      log "$label: other processes used $other cores again: kept"
      return
    fi
    log "$label: other processes used $other cores (> $max_other): again"
  done
}

# fanout_run RATE COALESCE
fanout_run() {
  start_server "$tmp/fanout-server.log" "$tmp/bin/fanout_floor" \
    --mode=server --port=0 --threads=2 --coalesce="$2"
  line="$("$tmp/bin/fanout_floor" --mode=client --port="$port" \
    --server_pid="$server_pid" --connections=1000 --rooms=10 \
    --rate="$1" --threads=2 --warmup="$warmup" \
    --duration="$duration" 2>"$tmp/fanout-client.err")" || {
    cat "$tmp/fanout-client.err" >&2; exit 1; }
  stop_server
}

# hub_run RATE
hub_run() {
  start_server "$tmp/hub.log" "$tmp/bin/websocket_hub" \
    --listen=127.0.0.1:0 --max_connections=20000
  rm -f "$tmp/loadgen.err"
  "$tmp/bin/loadgen" --hub="127.0.0.1:$port" --connections=1000 \
    --rooms=10 --rate="$1" --warmup_seconds="$warmup" \
    --seconds="$duration" --server_pid="$server_pid" \
    >"$tmp/loadgen.out" 2>"$tmp/loadgen.err" &
  local loadgen_pid=$!
  until grep -qs "connected" "$tmp/loadgen.err"; do
    kill -0 "$loadgen_pid" 2>/dev/null || { cat "$tmp/loadgen.err" >&2; exit 1; }
    sleep 0.01
  done
  # Sample inside loadgen's window (it exits right at its end), and
  # divide by the time between the samples.
  sleep "$(awk -v w="$warmup" 'BEGIN { print w + 0.05 }')"
  local t0 t1 hub0 hub1 gen0 gen1
  t0="$(date +%s.%N)"
  hub0="$(cpu_seconds "$server_pid")"
  gen0="$(cpu_seconds "$loadgen_pid")"
  # A second short of the window's end: loadgen's window may have opened a
  # little before its "connected" line reached us, and a process that has
  # exited has no /proc/PID/stat left to sample.
  sleep "$(awk -v d="$duration" 'BEGIN { print (d > 2 ? d - 1 : d / 2) }')"
  t1="$(date +%s.%N)"
  hub1="$(cpu_seconds "$server_pid")"
  gen1="$(cpu_seconds "$loadgen_pid" 2>/dev/null)" || {
    log "loadgen ended before the second CPU sample (try a longer --duration)"
    exit 1
  }
  wait "$loadgen_pid" || { cat "$tmp/loadgen.err" >&2; exit 1; }
  stop_server
  local out
  out="$(head -1 "$tmp/loadgen.out")"
  log "loadgen: $out"
  line="$(awk -v h0="$hub0" -v h1="$hub1" -v g0="$gen0" -v g1="$gen1" \
    -v d="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
    -v o="$out" 'BEGIN {
      n = split(o, w, " ")
      for (i = 1; i <= n; i++) {
        if (w[i] ~ /^delivered=/) { sub(/^delivered=/, "", w[i]); sub(/\/s$/, "", w[i]); r = w[i] }
        if (w[i] ~ /^p50=/) { sub(/^p50=/, "", w[i]); sub(/us$/, "", w[i]); p50 = w[i] }
        if (w[i] ~ /^p99=/) { sub(/^p99=/, "", w[i]); sub(/us$/, "", w[i]); p99 = w[i] }
        if (w[i] ~ /^p999=/) { sub(/^p999=/, "", w[i]); sub(/us$/, "", w[i]); p999 = w[i] }
      }
      printf "deliveries_per_s=%s p50_us=%s p99_us=%s p999_us=%s server_cores=%.3f client_cores=%.3f total_cores=%.3f",
        r, p50, p99, p999, (h1 - h0) / d, (g1 - g0) / d, (h1 - h0 + g1 - g0) / d }')"
}

# echo_run SERVER
echo_run() {
  case "$1" in
    floor) start_server "$tmp/$1.log" taskset -c 0 "$tmp/bin/echo_floor" --port=0 ;;
    troupe) start_server "$tmp/$1.log" taskset -c 0 "$tmp/bin/echo" --listen=127.0.0.1:0 ;;
    websocketpp) start_server "$tmp/$1.log" taskset -c 0 "$tmp/bin/websocketpp_echo_server" --port=0 ;;
  esac
  local status=0
  line="$(taskset -c 1 "$tmp/bin/load_client" --url="ws://127.0.0.1:$port/" \
    --connections=100 --size=32 --type=text --warmup="${warmup}s" \
    --duration="${duration}s" --server_pid="$server_pid" --progress=0 \
    2>"$tmp/client.err")" || status=$?
  stop_server
  if [ "$status" -ne 0 ]; then
    log "the load client failed (exit $status) against $1:"
    cat "$tmp/client.err" "$tmp/$1.log" >&2
    exit 1
  fi
}

log "$(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. Fan-out floor.
if [ "$do_fanout" = 1 ]; then
  for rate in $rates; do
    for ((run = 1; run <= runs; run++)); do
      for mode in $coalesce_modes; do
        clean_run "fan-out floor, coalesce $mode, rate $rate, run $run" fanout_run "$rate" "$mode"
        echo "$line" >>"$tmp/fanout$mode-$rate.txt"
      done
    done
  done
fi

# 2. Hub, same load.
if [ "$do_hub" = 1 ]; then
  for rate in $rates; do
    for ((run = 1; run <= runs; run++)); do
      clean_run "hub, rate $rate, run $run" hub_run "$rate"
      echo "$line" >>"$tmp/hub-$rate.txt"
    done
  done
fi

# 3. Echo: floor, troupe, websocketpp.
echo_servers=(floor troupe websocketpp)
if [ "$do_echo" = 1 ]; then
  for ((run = 1; run <= runs; run++)); do
    # Rotate the order so that no server always goes first.
    for ((i = 0; i < 3; i++)); do
      server="${echo_servers[$(((i + run - 1) % 3))]}"
      clean_run "echo $server, run $run" echo_run "$server"
      echo "$line" >>"$tmp/echo-$server.txt"
    done
  done
fi

# 4. Tables.
echo "Loopback floors on $(nproc) CPUs ($(uname -r)), median of $runs run(s) of ${warmup} s warm-up + ${duration} s measured;"
echo "other cores: CPU used by processes other than the run's own (median); load average $(cut -d' ' -f1-3 /proc/loadavg) at the end, $(date -u '+%Y-%m-%d %H:%M UTC'); floors and echo servers built with --config=$config."
fanout_table() {  # PREFIX LABEL
  local rate
  for rate in $rates; do
    local f="$tmp/$1-$rate.txt"
    [ -f "$f" ] || continue
    local target
    target="$(awk -v r="$rate" 'BEGIN { printf "%.0f", r * 1000 * 100 }')"
    echo "| $2 | $rate | $target | $(median_of "$f" deliveries_per_s) | $(median_of "$f" p50_us) | $(median_of "$f" p99_us) | $(median_of "$f" p999_us) | $(median_of "$f" server_cores) | $(median_of "$f" client_cores) | $(median_of "$f" total_cores) | $(median_of "$f" other_cores) |"
  done
}
if [ "$do_fanout" = 1 ] || [ "$do_hub" = 1 ]; then
  echo
  echo "Fan-out: 1000 clients in 10 rooms (100 per room), each publishing P messages/s; every publish goes to its whole room."
  echo
  echo "| program | P /s | target deliveries/s | deliveries/s | p50 us | p99 us | p999 us | server cores | client cores | total cores | other cores |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  if [ "$do_fanout" = 1 ]; then
    fanout_table fanout0 "floor, one send per delivery"
    fanout_table fanout1 "floor, one send per recipient per epoll batch"
  fi
  if [ "$do_hub" = 1 ]; then fanout_table hub "websocket_hub + loadgen (--config=opt)"; fi
fi
if [ "$do_echo" = 1 ]; then
  echo
  echo "WebSocket echo: 100 connections x 32-byte text, closed loop; server on CPU 0, load_client on CPU 1."
  echo
  echo "| server | msgs/s | p50 us | p99 us | server CPU us/msg | vs websocketpp | client CPU us/msg | other cores |"
  echo "|---|---|---|---|---|---|---|---|"
  wspp="$(median_of "$tmp/echo-websocketpp.txt" server_cpu_us_per_msg)"
  for server in "${echo_servers[@]}"; do
    f="$tmp/echo-$server.txt"
    cpu="$(median_of "$f" server_cpu_us_per_msg)"
    ratio="$(awk -v a="$cpu" -v b="$wspp" 'BEGIN { printf "%.2fx", a / b }')"
    echo "| $server | $(median_of "$f" msgs_per_s) | $(median_of "$f" p50_us) | $(median_of "$f" p99_us) | $cpu | $ratio | $(median_of "$f" client_cpu_us_per_msg) | $(median_of "$f" other_cores) |"
  done
fi
