// RunLoad: a closed-loop WebSocket load generator written on troupe's own
// client (net/websocket_client.h) - the engine of load_client.cc.
//
// The loop, on every connection at once: send one message of
// `message_size` bytes, wait for its echo, check that it is byte for byte
// what was sent, record the round trip, repeat. One message is in flight
// per connection, so the load adapts to the server: messages/s is about
// connections / mean round trip.
//
// Phases:
//   1. Connect: every connection is opened (TCP_NODELAY, the handshake,
//      permessage-deflate offered if `deflate`). The first failure ends
//      the run with its error.
//   2. Run. The clock starts once all are connected.
//      Duration mode (messages == 0): the first `warmup` is not measured;
//      then round trips *started* within `duration` are counted and their
//      latencies recorded, and each connection stops at the end of it.
//      Count mode (messages > 0): `messages` round trips in total, shared
//      by the connections, all measured; the window ends with the last.
//      A connection whose echo differs or that ends is stopped and counted
//      as an error; the others go on. If no round trip completes for
//      `stall_timeout`, every connection is stopped and the run fails
//      (DeadlineExceeded). Cancelling `stop` ends the run early; the report
//      then covers the part that was measured.
//   3. Close: every connection is closed with 1000, in parallel.
//
// CPU: the client's own CPU time over the window (getrusage) and, with
// `server_pid`, the server's user + system time (/proc/PID/stat), read at
// the start and the end of the measured window.
//
// Must run inside a task of a runtime; `log` gets a progress line every
// `progress_interval` (0: none) and warnings.
//
// Example:
//   LoadOptions options;
//   options.url = *ParseWsUrl("ws://127.0.0.1:9001/");
//   options.connections = 100;
//   options.message_size = 32;
//   absl::StatusOr<LoadReport> report = co_await RunLoad(options);
//   // report->messages_per_second(), report->latency.Percentile(0.99)
#ifndef TROUPE_EXAMPLES_ECHO_LOAD_RUN_H_
#define TROUPE_EXAMPLES_ECHO_LOAD_RUN_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "examples/echo/latency_histogram.h"
#include "examples/echo/ws_url.h"
#include "executor/cancellation_token.h"
#include "executor/clock.h"
#include "executor/task.h"

namespace troupe::echo {

struct LoadOptions {
  WsUrl url;
  int connections = 100;
  size_t message_size = 32;
  bool binary = false;  // else text (valid UTF-8)
  bool deflate = false;
  Duration warmup = std::chrono::seconds(0);
  Duration duration = std::chrono::seconds(10);
  uint64_t messages = 0;  // > 0: count mode (see above)
  Duration stall_timeout = std::chrono::seconds(10);
  Duration progress_interval = std::chrono::seconds(1);
  int server_pid = 0;  // 0: do not measure the server's CPU
  CancellationToken stop;
  std::function<void(std::string_view)> log;
};

struct LoadReport {
  uint64_t messages = 0;        // measured round trips
  uint64_t total_messages = 0;  // all round trips, warm-up included
  double seconds = 0;           // the measured window
  LatencyHistogram latency;     // measured round trips, nanoseconds
  uint64_t errors = 0;          // connections stopped by an error
  std::string first_error;
  uint64_t close_failures = 0;  // connections not closed cleanly
  double client_cpu_seconds = 0;
  std::optional<double> server_cpu_seconds;

  double messages_per_second() const {
    return seconds > 0 ? static_cast<double>(messages) / seconds : 0;
  }
};

// Runs phases 1-3. An error means the run could not start (phase 1) or
// stalled; errors of single connections are in the report.
Task<absl::StatusOr<LoadReport>> RunLoad(LoadOptions options);

// User + system CPU seconds of process `pid` so far (/proc/PID/stat).
absl::StatusOr<double> ProcessCpuSeconds(int pid);

}  // namespace troupe::echo

#endif  // TROUPE_EXAMPLES_ECHO_LOAD_RUN_H_
