// The stream aggregator service's configuration: its command-line flags as
// given (FlagValues) and checked (ServiceConfig), so that every rule about
// flag values lives here, testable without running the binary.
//
// Durations take a unit ("500ms", "5s", "2m"; duration.h). --window is
// "tumbling:10s", "sliding:10s/2s" (size a multiple of slide) or
// "session:30s" (window_spec.h). --idle_timeout=0s (the default) means
// inputs never count as idle. --shards=0 (the default) means 4 x worker
// threads. Inputs: --input may be repeated ("-" is stdin, at most once),
// --generate=N, --listen=HOST:PORT (TCP, NDJSON) and --http=HOST:PORT
// (/metrics, /healthz and the WebSocket /ingest); at least one is required.
// HOST is an IP literal ("127.0.0.1", "[::1]"; empty: every IPv4
// interface) and PORT may be 0 (the kernel picks one; the service logs it).
//
// Repeated flags: absl keeps the last value of a flag given twice, so
// CollectRepeatedFlag reads every --input from argv itself (the forms
// --input=V, -input=V, --input V and -input V, up to a "--").
//
// Example:
//   FlagValues flags;
//   flags.inputs = {"events.ndjson"};
//   flags.window = "sliding:10s/3s";
//   absl::StatusOr<ServiceConfig> config = MakeServiceConfig(flags);
//   // error: "--window: ... size 10s is not a multiple of the slide 3s"

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_SERVICE_CONFIG_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_SERVICE_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "examples/stream_aggregator/event_generator.h"
#include "examples/stream_aggregator/window_spec.h"

namespace troupe::aggregator {

// The flags as given.
struct FlagValues {
  std::vector<std::string> inputs;
  int64_t generate = 0;
  int keys = 1000;
  std::string disorder = "0s";
  uint64_t seed = 1;
  int64_t generate_rate = 1000;
  std::string window = "tumbling:10s";
  std::string max_out_of_orderness = "0s";
  std::string allowed_lateness = "0s";
  std::string late_output;
  std::string output = "-";
  int shards = 0;
  std::string idle_timeout = "0s";
  int worker_threads = 0;
  std::string listen;  // empty: no TCP input
  std::string http;    // empty: no HTTP endpoint
};

// The flags, checked.
struct ServiceConfig {
  std::vector<std::string> inputs;
  std::optional<GeneratorOptions> generator;
  WindowSpec window;
  int64_t max_out_of_orderness_ms = 0;
  int64_t allowed_lateness_ms = 0;
  int64_t idle_timeout_ms = 0;  // kNeverIdle when --idle_timeout=0s
  std::string output;
  std::string late_output;  // empty: none
  int shards = 0;           // 0: 4 x worker threads
  int worker_threads = 0;   // 0: one per core
  std::string listen;       // HOST:PORT, checked; empty: none
  std::string http;         // HOST:PORT, checked; empty: none

  // With a network input the run ends at SIGTERM/SIGINT, not when the
  // other inputs end.
  bool network() const { return !listen.empty() || !http.empty(); }
};

// InvalidArgument naming the flag and the problem.
absl::StatusOr<ServiceConfig> MakeServiceConfig(const FlagValues& flags);

// Every value of the flag `name` in argv, in order.
std::vector<std::string> CollectRepeatedFlag(int argc, char* const* argv,
                                             std::string_view name);

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_SERVICE_CONFIG_H_
