// Pipeline: the stream aggregator as actors. Spawns, on an ActorSystem,
//
//   inputs --> EventRouter --hash(key)--> WindowShard x N --> OutputSink
//   (ports)    (watermark,                (windows of        (--output,
//               lateness)                  their keys)         --late_output)
//
// and hands out InputPorts: an input is anything that pushes events through
// a port (input_port.h) - a file or stdin reader (file_input.h), the
// generator (event_generator.h), later a TCP connection or a WebSocket.
//
// Semantics. With one input the output lines are exactly those of the
// sequential driver (sequential_driver.h) for the same lines, for any
// number of shards (event_router.h says why). Lines of one window come in
// revision order; lines of different windows may interleave differently
// from run to run when there are several shards (rule 5 allows it). With
// several inputs the watermark is the minimum over the live ones, and an
// input idle for idle_timeout stops holding it back.
//
// Back-pressure, end to end. Every mailbox is bounded and every hop awaits
// Send, so nothing queues without limit: a slow sink fills the sink's
// mailbox, then the shards wait, their mailboxes fill, the router waits,
// its mailbox fills and the inputs wait in InputPort::Flush - a reader stops
// reading. Events between an input and the end of a shard are therefore at
// most MaxEventsInFlight(inputs):
//   (inputs + router_mailbox + 1 + shards x (shard_mailbox + 1))
//       x batch_events
// (one batch held by each input while it waits; full mailboxes, a message
// in a mailbox stays there while it is handled). Result lines handed to the
// sink and not yet written are at most (shards + sink_mailbox) x (chunk +
// the lines one event or watermark step fires). The window state itself is
// bounded by the keys and windows alive (aligned_windows.h), not by the
// input rate.
//
// Lifecycle:
//   1. construct (spawns the actors);
//   2. OpenInput for every input known at the start, then start them;
//   3. NoMoreInputs() once no input will open any more (at once for files
//      and the generator; at shutdown for a listening service);
//   4. each input closes its port at the end of its stream, or when stop()
//      is cancelled (SIGTERM/SIGINT, or a write error);
//   5. when all are closed the router flushes every shard: every window
//      with unemitted changes is emitted (rule 6), then Finished()
//      completes with the run's status (OK, or the first write error).
//
// Example:
//   Pipeline pipeline(system, {.window = spec, .shards = 4,
//                              .results = *OpenOutput("-")});
//   auto port = co_await pipeline.OpenInput("stdin");
//   co_await pipeline.NoMoreInputs();
//   Spawn(ReadNdjson(std::move(*port), 0, pipeline.stop()));
//   absl::Status status = co_await pipeline.Finished();

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_PIPELINE_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_PIPELINE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actors/actor.h"
#include "examples/stream_aggregator/event_router.h"
#include "examples/stream_aggregator/input_port.h"
#include "examples/stream_aggregator/output_sink.h"
#include "examples/stream_aggregator/output_writer.h"
#include "examples/stream_aggregator/pipeline_metrics.h"
#include "examples/stream_aggregator/watermark.h"
#include "examples/stream_aggregator/window_shard.h"
#include "examples/stream_aggregator/window_spec.h"
#include "executor/cancellation_token.h"
#include "executor/clock.h"
#include "executor/task.h"

namespace troupe::aggregator {

struct PipelineOptions {
  WindowSpec window;
  int64_t max_out_of_orderness_ms = 0;
  int64_t allowed_lateness_ms = 0;
  int64_t idle_timeout_ms = kNeverIdle;
  int shards = 1;
  std::shared_ptr<OutputWriter> results;  // required
  std::shared_ptr<OutputWriter> late;     // null: dropped events only counted
  LogFn log;                              // diagnostics; null: none
  // Cancelled when inputs should stop reading (a signal); the sink cancels
  // it on a write error.
  CancellationToken stop;

  // Capacities: tuning, and test seams (the in-flight bound follows them).
  size_t batch_events = 1024;
  size_t router_mailbox = 16;  // messages
  size_t shard_mailbox = 16;
  size_t sink_mailbox = 64;
  size_t result_chunk_lines = 1024;
  size_t max_line_bytes = size_t{1} << 20;
  int log_burst = 10;
  // Test seam: if set, each shard waits this long (asynchronously) before
  // each batch - a deliberately slow shard. Called on the shard.
  std::function<Duration()> shard_delay;
};

class Pipeline {
 public:
  Pipeline(ActorSystem& system, const PipelineOptions& options);
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Registers a live input (rule 3) named `name` (for logs and metrics).
  // FailedPrecondition after NoMoreInputs.
  Task<absl::StatusOr<std::unique_ptr<InputPort>>> OpenInput(std::string name);

  // No input will open any more: once the open ones close, the run ends.
  Task<void> NoMoreInputs();

  // Completes when every result line is written; OK or the first write
  // error.
  Task<absl::Status> Finished();

  MetricsSnapshot Snapshot() const;
  const CancellationToken& stop() const { return options_.stop; }
  const std::shared_ptr<PipelineMetrics>& metrics() const { return metrics_; }
  int shards() const { return options_.shards; }

  // The bound on events in flight (see the file comment).
  int64_t MaxEventsInFlight(int inputs) const;

 private:
  const PipelineOptions options_;
  const std::shared_ptr<PipelineMetrics> metrics_;
  CancellationToken finished_;
  InputPortOptions port_options_;
  ActorRef<OutputSink> sink_;
  std::vector<ActorRef<WindowShard>> shards_;
  ActorRef<EventRouter> router_;
};

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_PIPELINE_H_
