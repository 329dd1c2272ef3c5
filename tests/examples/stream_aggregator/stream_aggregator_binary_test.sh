#!/usr/bin/env bash
# Runs the stream_aggregator binary: exact output on a small file (from a
# file, from stdin, through several shards), late output, the generator,
# graceful SIGTERM, the network inputs (--listen, --http: /metrics,
# /healthz) ended by SIGTERM, binary protobuf frames on --listen (written
# by ndjson_to_frames), and the exit code and message of each kind of bad
# flag.
#
# Usage (from Bazel): stream_aggregator_binary_test.sh BINARY TESTDATA_DIR
#   NDJSON_TO_FRAMES
set -uo pipefail

bin="$1"
data="$2"
to_frames="$3"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# expect_exit CODE NAME -- ARGS...: runs the binary, checks the exit code.
expect_exit() {
  local want="$1" name="$2"; shift 3
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local got=$?
  [ "$got" = "$want" ] || fail "$name: exit $got, want $want; stderr: $(cat "$tmp/err")"
}

# expect_stderr NAME TEXT: the last run's stderr contains TEXT.
expect_stderr() {
  grep -qF -- "$2" "$tmp/err" || fail "$1: stderr lacks '$2': $(cat "$tmp/err")"
}

# --- exact output, one shard (the sequential order) --------------------------
expect_exit 0 "small file" -- --input="$data/small.ndjson" --shards=1 \
  --worker_threads=1 --late_output="$tmp/late"
diff -u "$data/small_expected.ndjson" "$tmp/out" || fail "small file: output differs"
diff -u "$data/small_expected_late.ndjson" "$tmp/late" || fail "small file: late output differs"
expect_stderr "small file" "input '$data/small.ndjson' line 4: malformed_json; skipped"
expect_stderr "small file" "6 events from 1 input in"
expect_stderr "small file" "5 on time, 0 late accepted, 1 late dropped; 4 windows emitted; 1 bad line (malformed_json 1)"

expect_exit 0 "lateness" -- --input="$data/small.ndjson" --shards=1 --allowed_lateness=10s
diff -u "$data/small_lateness_expected.ndjson" "$tmp/out" || fail "lateness: output differs"

# --- stdin, and several shards (windows may interleave: compare sorted) -----
"$bin" --input=- --shards=4 <"$data/small.ndjson" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] || fail "stdin: non-zero exit: $(cat "$tmp/err")"
diff -u <(sort "$data/small_expected.ndjson") <(sort "$tmp/out") || fail "stdin, 4 shards: output differs"

# --- --output to a file, two inputs -----------------------------------------
head -n 3 "$data/small.ndjson" >"$tmp/first.ndjson"
expect_exit 0 "two inputs" -- --input="$data/small.ndjson" --input "$tmp/first.ndjson" \
  --output="$tmp/results"
[ -s "$tmp/results" ] || fail "two inputs: no results in --output"
expect_stderr "two inputs" "from 2 inputs"

# --- the generator -----------------------------------------------------------
expect_exit 0 "generator" -- --generate=5000 --keys=20 --disorder=50ms \
  --max_out_of_orderness=50ms --generate_rate=10 --window=tumbling:100ms
[ "$(wc -l <"$tmp/out")" -gt 100 ] || fail "generator: too few result lines"
expect_stderr "generator" "5000 events from 1 input"
expect_stderr "generator" "0 late dropped"

# --- SIGTERM: stop reading, flush the open windows, exit 0 -------------------
mkfifo "$tmp/fifo"
# Four lines, the fourth bad: once its error is logged, the three events
# before it have been read (and are handed on before the next read).
( head -n 4 "$data/small.ndjson"; sleep 60 ) >"$tmp/fifo" &
writer=$!
"$bin" --input="$tmp/fifo" >"$tmp/out" 2>"$tmp/err" &
aggregator=$!
for _ in $(seq 300); do grep -q "line 4: malformed_json" "$tmp/err" && break; sleep 0.1; done
kill -TERM "$aggregator"
wait "$aggregator"
code=$?
kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null
[ "$code" = 0 ] || fail "SIGTERM: exit $code, want 0; stderr: $(cat "$tmp/err")"
expect_stderr "SIGTERM" "stopped by signal 15"
grep -qF '"key":"a","windowStartMs":0,"windowEndMs":10000,"count":2' "$tmp/out" \
  || fail "SIGTERM: the open window of a was not emitted: $(cat "$tmp/out")"

# --- --listen and --http: NDJSON over TCP, /metrics, /healthz, SIGTERM -------
# http_get PORT PATH: the whole response (bash's /dev/tcp; no curl needed).
http_get() {
  exec 4<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n' "$2" >&4
  cat <&4
  exec 4<&-
}
"$bin" --listen=127.0.0.1:0 --http=127.0.0.1:0 --shards=2 \
  --late_output="$tmp/net_late" >"$tmp/net_out" 2>"$tmp/net_err" &
aggregator=$!
for _ in $(seq 300); do grep -q "started:" "$tmp/net_err" && break; sleep 0.1; done
tcp_port=$(sed -n 's/.*over TCP on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/net_err")
http_port=$(sed -n 's/.*HTTP on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/net_err")
if [ -z "$tcp_port" ] || [ -z "$http_port" ]; then
  fail "network: no ports on stderr: $(cat "$tmp/net_err")"
  kill -KILL "$aggregator"
else
  expect_exit 1 "taken port" -- --listen=127.0.0.1:"$tcp_port"
  expect_stderr "taken port" "--listen: "
  expect_stderr "taken port" "in use"
  health=$(http_get "$http_port" /healthz)
  case "$health" in
    "HTTP/1.1 200 "*ok*) ;;
    *) fail "network: /healthz answered: $health" ;;
  esac
  # One connection carrying the small file, closed at its end.
  exec 3<>"/dev/tcp/127.0.0.1/$tcp_port"
  cat "$data/small.ndjson" >&3
  exec 3>&-
  for _ in $(seq 300); do
    http_get "$http_port" /metrics >"$tmp/metrics"
    grep -q 'aggregator_events_in_total{input="tcp 127.0.0.1:[0-9]*"} 6$' "$tmp/metrics" && break
    sleep 0.1
  done
  grep -q 'aggregator_events_in_total{input="tcp 127.0.0.1:[0-9]*"} 6' "$tmp/metrics" \
    || fail "network: /metrics lacks the connection's 6 events: $(cat "$tmp/metrics")"
  grep -q 'aggregator_parse_errors_total{reason="malformed_json"} 1' "$tmp/metrics" \
    || fail "network: /metrics lacks the bad line: $(cat "$tmp/metrics")"
  # The run goes on after the connection closed, until SIGTERM.
  kill -0 "$aggregator" 2>/dev/null || fail "network: exited before SIGTERM"
  kill -TERM "$aggregator"
  wait "$aggregator"
  code=$?
  [ "$code" = 0 ] || fail "network: exit $code, want 0; stderr: $(cat "$tmp/net_err")"
  diff -u <(sort "$data/small_expected.ndjson") <(sort "$tmp/net_out") \
    || fail "network: output differs"
  diff -u "$data/small_expected_late.ndjson" "$tmp/net_late" \
    || fail "network: late output differs"
  grep -qF "stopped by signal 15" "$tmp/net_err" || fail "network: no stop line"
fi

# --- bad flags and files: a clear message and exit 1 -------------------------
expect_exit 1 "sliding size" -- --input="$data/small.ndjson" --window=sliding:10s/3s
expect_stderr "sliding size" "--window: "
expect_stderr "sliding size" "multiple"
expect_exit 1 "no unit" -- --input="$data/small.ndjson" --max_out_of_orderness=5
expect_stderr "no unit" "--max_out_of_orderness: "
expect_exit 1 "missing file" -- --input=/no/such/file.ndjson
expect_stderr "missing file" "cannot open input '/no/such/file.ndjson': No such file or directory"
expect_exit 1 "no input" --
expect_stderr "no input" "no input: give --input=FILE"
expect_exit 1 "bad output" -- --input="$data/small.ndjson" --output=/no/such/dir/out
expect_stderr "bad output" "cannot open '/no/such/dir/out' for writing"
expect_exit 1 "positional" -- "$data/small.ndjson"
expect_stderr "positional" "unexpected argument"
expect_exit 1 "unknown flag" -- --input="$data/small.ndjson" --bogus=1
expect_stderr "unknown flag" "bogus"
expect_exit 1 "negative shards" -- --input="$data/small.ndjson" --shards=-1
expect_stderr "negative shards" "--shards: must be >= 0"
expect_exit 1 "bad listen address" -- --listen=localhost
expect_stderr "bad listen address" "--listen: "
expect_exit 1 "bad http address" -- --http=127.0.0.1:99999
expect_stderr "bad http address" "--http: "

# --help prints the flags on stdout and succeeds.
"$bin" --help >"$tmp/out" 2>/dev/null || fail "--help exited $?"
grep -qF -- "--window (tumbling:SIZE" "$tmp/out" || fail "--help lacks --window"
grep -qF -- "--idle_timeout" "$tmp/out" || fail "--help lacks --idle_timeout"
grep -qF -- "--listen" "$tmp/out" || fail "--help lacks --listen"
grep -qF -- "--http" "$tmp/out" || fail "--help lacks --http"

# --- binary protobuf frames on --listen ------------------------------------
# The small file's events as frames give the small file's results (its one
# bad line is left out by the converter, and reported on its stderr).
"$to_frames" --input="$data/small.ndjson" >"$tmp/small.frames" 2>"$tmp/frames_err" \
  || fail "ndjson_to_frames exited $?: $(cat "$tmp/frames_err")"
grep -qF "6 frames, 1 lines left out" "$tmp/frames_err" \
  || fail "ndjson_to_frames: $(cat "$tmp/frames_err")"
[ "$(head -c 4 "$tmp/small.frames" | od -An -tx1 | tr -d ' ')" = 00545042 ] \
  || fail "ndjson_to_frames: no preamble"
"$to_frames" --help >/dev/null 2>&1 || fail "ndjson_to_frames --help exited $?"
# start_listener NAME: an aggregator on --listen and --http (ports in
# $tcp_port and $http_port, pid in $aggregator, stdout/stderr in
# $tmp/NAME_out and $tmp/NAME_err).
start_listener() {
  "$bin" --listen=127.0.0.1:0 --http=127.0.0.1:0 --shards=2 \
    >"$tmp/$1_out" 2>"$tmp/$1_err" &
  aggregator=$!
  for _ in $(seq 300); do grep -q "started:" "$tmp/$1_err" && break; sleep 0.1; done
  tcp_port=$(sed -n 's/.*over TCP on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/$1_err")
  http_port=$(sed -n 's/.*HTTP on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/$1_err")
  if [ -z "$tcp_port" ] || [ -z "$http_port" ]; then
    fail "$1: no ports on stderr: $(cat "$tmp/$1_err")"
    kill -KILL "$aggregator"
    return 1
  fi
}
# One connection carrying the small file's frames; once its 6 events are in
# (/metrics), SIGTERM. (A second connection opened meanwhile would be a
# second live input holding the watermark back - rule 3 - so the cut
# frame gets an aggregator of its own below.)
if start_listener pb; then
  exec 3<>"/dev/tcp/127.0.0.1/$tcp_port"
  cat "$tmp/small.frames" >&3
  exec 3>&-
  for _ in $(seq 300); do
    http_get "$http_port" /metrics >"$tmp/pb_metrics"
    grep -q 'aggregator_events_in_total{input="tcp 127.0.0.1:[0-9]*"} 6$' "$tmp/pb_metrics" && break
    sleep 0.1
  done
  kill -TERM "$aggregator"
  wait "$aggregator"
  code=$?
  [ "$code" = 0 ] || fail "frames: exit $code, want 0; stderr: $(cat "$tmp/pb_err")"
  diff -u <(sort "$data/small_expected.ndjson") <(sort "$tmp/pb_out") \
    || fail "frames: output differs"
  grep -qF "6 events from 1 input" "$tmp/pb_err" \
    || fail "frames: summary: $(cat "$tmp/pb_err")"
fi
# A connection whose only frame is cut short.
if start_listener cut; then
  exec 3<>"/dev/tcp/127.0.0.1/$tcp_port"
  printf '\000TPB\005ab' >&3
  exec 3>&-
  for _ in $(seq 300); do
    grep -q "frame 1: truncated_frame" "$tmp/cut_err" && break
    sleep 0.1
  done
  kill -TERM "$aggregator"
  wait "$aggregator"
  code=$?
  [ "$code" = 0 ] || fail "cut frame: exit $code, want 0; stderr: $(cat "$tmp/cut_err")"
  grep -qF "frame 1: truncated_frame" "$tmp/cut_err" \
    || fail "frames: the cut frame was not reported: $(cat "$tmp/cut_err")"
fi

# --- a write error during the run: exit 2 -----------------------------------
if [ -w /dev/full ]; then
  expect_exit 2 "write error" -- --input="$data/small.ndjson" --output=/dev/full
  expect_stderr "write error" "cannot write to '/dev/full'"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "PASS"
