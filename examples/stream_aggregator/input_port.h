// InputPort: how a source of events enters the pipeline. An input is "a
// source of events with an input id": a file reader, the generator, and
// later a TCP connection or a WebSocket. Each gets a port from
// Pipeline::OpenInput (which registers it as a live input with the router,
// rule 3), pushes events through it, and closes it at the end of its
// stream.
//
// Two ways in:
//   - FeedText(bytes): NDJSON text, in chunks of any size (a line may span
//     chunks). Each complete line is parsed (event_parser.h); a bad line is
//     counted by reason, logged with its line number (rate-limited: at most
//     `log_burst` lines per input per second, the rest counted and
//     summarised in the next logged line) and skipped. A line longer than
//     `max_line_bytes` is skipped as malformed_json without being kept in
//     memory. Close() treats a final line without '\n' as a line (rule 9).
//   - Add(key, ts, value): an event already parsed (generated, or a binary
//     protobuf frame). A non-finite value is bad_value. AddBad(reason)
//     counts a record that could not be parsed (a bad frame). Both number
//     their records like lines and log with that number, naming the record
//     by set_record_unit ("event" unless set; "frame" for frames).
// Either way an event whose windows do not fit in int64 is bad_timestamp,
// as in the sequential driver. Bad input never reaches the router, so it
// never moves the watermark.
//
// Events are buffered into a batch of up to `batch_events`, sent to the
// router by Flush() (FeedText flushes when the batch fills and at the end
// of each chunk, so a slow trickle is not held back). Flush awaits the
// router's mailbox: when the pipeline is behind, the source is held here -
// a reader stops reading, a connection stops reading its socket.
//
// Thread contract: one task uses a port at a time. Not copyable; a source
// owns its port (std::unique_ptr). Errors: FailedPrecondition once the
// port is closed or the pipeline has stopped taking events.
//
// Example:
//   absl::StatusOr<std::unique_ptr<InputPort>> port =
//       co_await pipeline.OpenInput("sensors.ndjson");
//   absl::Status s = co_await (*port)->FeedText(chunk);  // chunk outlives
//   ...                                                  // the await
//   s = co_await (*port)->Close();

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_INPUT_PORT_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_INPUT_PORT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "actors/actor.h"
#include "examples/stream_aggregator/event_batch.h"
#include "examples/stream_aggregator/event_parser.h"
#include "examples/stream_aggregator/event_router.h"
#include "examples/stream_aggregator/output_sink.h"
#include "examples/stream_aggregator/pipeline_metrics.h"
#include "examples/stream_aggregator/window_spec.h"
#include "executor/clock.h"
#include "executor/task.h"

namespace troupe::aggregator {

struct InputPortOptions {
  WindowSpec window;  // for the int64 fit check
  size_t batch_events = 1024;
  size_t max_line_bytes = size_t{1} << 20;
  int log_burst = 10;  // bad lines logged per input per second
  LogFn log;
};

class InputPort {
 public:
  InputPort(ActorRef<EventRouter> router, int input, InputCounters* counters,
            std::shared_ptr<PipelineMetrics> metrics,
            const InputPortOptions& options);
  InputPort(const InputPort&) = delete;
  InputPort& operator=(const InputPort&) = delete;

  const std::string& name() const { return counters_->name; }
  int id() const { return input_; }

  // Parses every complete line of `bytes` (which must stay valid until the
  // returned task completes) and sends the events.
  Task<absl::Status> FeedText(std::string_view bytes);

  // Buffers one parsed event (or counts it as bad). Returns true when the
  // batch is full: co_await Flush() before adding more.
  bool Add(std::string_view key, int64_t ts_ms, double value);

  // Counts one bad record (it takes a record number) and logs it,
  // rate-limited, as "<unit> N: <reason><detail>; skipped".
  void AddBad(ParseError reason, const char* detail);

  // The word for one record of Add/AddBad in log lines (a string literal).
  void set_record_unit(const char* unit) { record_unit_ = unit; }

  // Sends the buffered events (nothing if there are none).
  Task<absl::Status> Flush();

  // End of this input: the final unterminated line, the last events, then
  // CloseInput. Idempotent.
  Task<absl::Status> Close();

 private:
  void OnLine(std::string_view line);
  // Counts a bad line (or event) and logs it, rate-limited.
  void ReportBad(ParseError reason, const char* unit, const char* detail);

  const ActorRef<EventRouter> router_;
  const int input_;
  InputCounters* const counters_;
  const std::shared_ptr<PipelineMetrics> metrics_;
  const InputPortOptions options_;
  EventParser parser_;
  EventBatch batch_;
  std::string carry_;  // the start of a line that continues in the next chunk
  bool overlong_ = false;     // skipping the rest of a line that was too long
  uint64_t line_number_ = 0;  // lines or records so far
  const char* record_unit_ = "event";
  // Log rate limit: lines logged in the current one-second window, and bad
  // lines left unlogged since the last logged one.
  Instant log_window_start_;
  int logged_in_window_ = 0;
  uint64_t unlogged_ = 0;
  bool closed_ = false;
};

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_INPUT_PORT_H_
