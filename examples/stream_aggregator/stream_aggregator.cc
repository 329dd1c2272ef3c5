// The stream aggregator service: NDJSON (or, over TCP, binary protobuf)
// events in, keyed event-time window aggregates out, on troupe actors
// (pipeline.h). The rules it follows are issue 8's; service.h has the
// shutdown behaviour and exit codes.
//
//   bazel run //examples/stream_aggregator -- --input=events.ndjson
//       --window=sliding:10s/2s --max_out_of_orderness=2s
//   bazel run //examples/stream_aggregator -- --generate=1000000
//       --keys=100000 --disorder=200ms --output=/dev/null
// (one command each).

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "examples/stream_aggregator/service.h"
#include "examples/stream_aggregator/service_config.h"
#include "executor/runtime.h"
#include "executor/shutdown_signal.h"
#include "tools/cli/flags.h"

ABSL_FLAG(std::string, input, "",
          "an NDJSON input file, - for standard input; repeat the flag for "
          "several inputs");
ABSL_FLAG(int64_t, generate, 0,
          "also generate this many events (a deterministic benchmark stream; "
          "see --keys, --disorder, --seed, --generate_rate)");
ABSL_FLAG(int, keys, 1000, "--generate: the number of distinct keys");
ABSL_FLAG(std::string, disorder, "0s",
          "--generate: how far out of order an event may be (a duration)");
ABSL_FLAG(uint64_t, seed, 1, "--generate: the random seed");
ABSL_FLAG(int64_t, generate_rate, 1000,
          "--generate: events per millisecond of event time");
ABSL_FLAG(std::string, window, "tumbling:10s",
          "tumbling:SIZE, sliding:SIZE/SLIDE (SIZE a multiple of SLIDE) or "
          "session:GAP; durations like 500ms, 10s, 2m, 1h");
ABSL_FLAG(std::string, max_out_of_orderness, "0s",
          "the watermark trails the largest timestamp seen by this duration");
ABSL_FLAG(std::string, allowed_lateness, "0s",
          "late events within this duration of the watermark still count; "
          "later ones are dropped (and written to --late_output)");
ABSL_FLAG(std::string, late_output, "",
          "write the lines of dropped late events to this file");
ABSL_FLAG(std::string, output, "-",
          "write result lines to this file; - is standard output");
ABSL_FLAG(int, shards, 0,
          "shard actors owning the window state (0: 4 x worker threads)");
ABSL_FLAG(std::string, idle_timeout, "0s",
          "an input silent for this long stops holding the watermark back "
          "(0s: never)");
ABSL_FLAG(int, worker_threads, 0, "executor worker threads (0: one per core)");
ABSL_FLAG(std::string, listen, "",
          "HOST:PORT (HOST an IP address): accept TCP connections, each an "
          "input of NDJSON lines, or of length-prefixed binary protobuf "
          "Events if it opens with the bytes 00 54 50 42 (see README.md); "
          "the run then ends at SIGTERM/SIGINT");
ABSL_FLAG(std::string, http, "",
          "HOST:PORT: serve GET /metrics (Prometheus), GET /healthz and the "
          "WebSocket /ingest (NDJSON messages, each connection an input); "
          "the run then ends at SIGTERM/SIGINT");

int main(int argc, char** argv) {
  namespace agg = troupe::aggregator;
  absl::SetProgramUsageMessage(
      "Keyed event-time window aggregates over NDJSON events, e.g.\n"
      "  stream_aggregator --input=events.ndjson --window=tumbling:10s\n"
      "  stream_aggregator --listen=127.0.0.1:7000 --http=127.0.0.1:8080\n"
      "Input lines: {\"key\": \"sensor-7\", \"tsMs\": \"1764288000123\", "
      "\"value\": 21.5}\n"
      "Output lines: {\"key\", \"windowStartMs\", \"windowEndMs\", \"count\", "
      "\"sum\", \"min\", \"max\", \"mean\", \"p50\", \"p90\", \"p99\", "
      "\"revision\"}\n"
      "Exit: 0 done (also after SIGTERM/SIGINT, which flush the open "
      "windows), 1 bad flags, files or listen addresses, 2 read/write "
      "error during the run.");
  // Before anything else: a signal arriving during start-up is then a
  // graceful stop, not a kill.
  (void)troupe::ShutdownToken();
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout is a write error

  const std::vector<std::string> inputs =
      agg::CollectRepeatedFlag(argc, argv, "input");
  const std::vector<char*> rest = troupe::ParseFlags(argc, argv);
  if (rest.size() > 1) {
    std::fprintf(stderr,
                 "stream_aggregator: unexpected argument '%s' (inputs are "
                 "given with --input=FILE); see --help\n",
                 rest[1]);
    return agg::kExitBadConfig;
  }
  agg::FlagValues flags;
  flags.inputs = inputs;
  flags.generate = absl::GetFlag(FLAGS_generate);
  flags.keys = absl::GetFlag(FLAGS_keys);
  flags.disorder = absl::GetFlag(FLAGS_disorder);
  flags.seed = absl::GetFlag(FLAGS_seed);
  flags.generate_rate = absl::GetFlag(FLAGS_generate_rate);
  flags.window = absl::GetFlag(FLAGS_window);
  flags.max_out_of_orderness = absl::GetFlag(FLAGS_max_out_of_orderness);
  flags.allowed_lateness = absl::GetFlag(FLAGS_allowed_lateness);
  flags.late_output = absl::GetFlag(FLAGS_late_output);
  flags.output = absl::GetFlag(FLAGS_output);
  flags.shards = absl::GetFlag(FLAGS_shards);
  flags.idle_timeout = absl::GetFlag(FLAGS_idle_timeout);
  flags.worker_threads = absl::GetFlag(FLAGS_worker_threads);
  flags.listen = absl::GetFlag(FLAGS_listen);
  flags.http = absl::GetFlag(FLAGS_http);

  absl::StatusOr<agg::ServiceConfig> config = agg::MakeServiceConfig(flags);
  if (!config.ok()) {
    std::fprintf(stderr, "stream_aggregator: %s; see --help\n",
                 std::string(config.status().message()).c_str());
    return agg::kExitBadConfig;
  }
  absl::StatusOr<agg::ServiceIo> io = agg::OpenServiceIo(*config);
  if (!io.ok()) {
    std::fprintf(stderr, "stream_aggregator: %s\n",
                 std::string(io.status().message()).c_str());
    return agg::kExitBadConfig;
  }
  agg::RouteShutdownSignalsToTheWatcher();
  return troupe::RunMain(
      [&config, &io] {
        return agg::RunService(*std::move(config), *std::move(io));
      },
      {.worker_threads = config->worker_threads});
}
