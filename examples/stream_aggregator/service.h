// The stream aggregator service around the pipeline: opens the inputs and
// outputs named by a ServiceConfig, runs the pipeline with one reader task
// per input (plus the generator, the TCP listener of --listen and the HTTP
// endpoint of --http), handles SIGTERM/SIGINT, and prints the summary on
// stderr.
//
// End of the run. Without --listen or --http the run ends when every input
// has ended (rule 6: end of input). With either, inputs come and go as
// connections open and close, and the run ends at SIGTERM/SIGINT (or a
// write error): the listener stops accepting, every open connection stops
// reading and closes its input, and the pipeline flushes. The HTTP
// endpoint answers until the last result line is written.
//
// Shutdown. On SIGTERM or SIGINT the inputs stop reading; what was read is
// processed, and - as at the end of input (rule 6) - every window with
// changes not yet emitted fires, so open windows ARE emitted on shutdown.
// The exit code is then 0. A second signal ends the process at once
// (executor/shutdown_signal.h).
//
// Exit codes (also in the binary's --help):
//   0  the run completed (end of input, or a signal)
//   1  the run could not start: a bad flag or value, an input that cannot
//      be opened, an output that cannot be created, an address that
//      cannot be listened on (absl exits 1 too for
//      flags it rejects itself: unknown flag, non-numeric value)
//   2  an input could not be read or an output written during the run
//
// stderr: one line per bad input line (rate-limited, input_port.h), a line
// when the run starts ("started: ...", with the addresses listened on -
// the actual port when 0 was asked for) and a summary at the end
// (pipeline_metrics.h, FormatSummary).
//
// Example (see stream_aggregator.cc):
//   absl::StatusOr<ServiceIo> io = OpenServiceIo(*config);
//   return RunMain([&] { return RunService(*config, std::move(*io)); },
//                  {.worker_threads = config->worker_threads});

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_SERVICE_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_SERVICE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "examples/stream_aggregator/output_writer.h"
#include "examples/stream_aggregator/service_config.h"
#include "executor/task.h"

namespace troupe::aggregator {

inline constexpr int kExitOk = 0;
inline constexpr int kExitBadConfig = 1;
inline constexpr int kExitIoError = 2;

// The files of a run, opened before the runtime starts so that a bad name
// fails before anything is read.
struct ServiceIo {
  struct Input {
    std::string name;
    int fd = -1;
  };
  std::vector<Input> inputs;
  std::shared_ptr<OutputWriter> results;
  std::shared_ptr<OutputWriter> late;  // null without --late_output
};

absl::StatusOr<ServiceIo> OpenServiceIo(const ServiceConfig& config);

// Blocks SIGTERM and SIGINT in the calling thread, so that the threads it
// starts afterwards inherit the block and only ShutdownSignal's watcher
// thread (executor/shutdown_signal.h; started here if it is not yet)
// receives them. Call it in main right before the runtime starts its
// threads; install the handlers (ShutdownToken()) first thing in main, so
// that a signal during start-up is a graceful stop too. Why: a handler then
// never interrupts a worker's system call, and the signal is handled at
// once even under ThreadSanitizer, which defers a handler until the
// receiving thread enters an intercepted call - never, for a worker parked
// in a futex. After the first signal RunService unblocks them in one
// worker, so that a second signal still ends the process.
void RouteShutdownSignalsToTheWatcher();

// Runs to the end on the current runtime; returns the exit code.
Task<int> RunService(ServiceConfig config, ServiceIo io);

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_SERVICE_H_
