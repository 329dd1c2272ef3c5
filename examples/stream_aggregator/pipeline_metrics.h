// PipelineMetrics: the counters of the actor pipeline, shared by its
// actors and inputs and read from anywhere (the end-of-run summary on
// stderr, and later GET /metrics).
//
// Every counter has one writer (an input's port, the router, the shards or
// the sink) and is updated once per batch, not per event. Snapshot()
// copies them out.
//
// Memory ordering: the counters are relaxed atomics. Nothing is published
// through them - no reader follows a counter to other data - so a reader
// needs only each counter's own latest value, not a consistent cut across
// counters (a /metrics scrape may see a shard's count before the router's).
// The one exception is InputCounters::closed: stored with release after
// the input's last counts, loaded with acquire before them, so a snapshot
// that sees an input closed sees its final counts. Final values for the
// whole pipeline come after Pipeline::Finished(), which happens after every
// actor's last update (mailbox hand-offs, then the finished token).
//
// Back-pressure gauges. events_in_flight counts events admitted by an input
// (handed to the router) and not yet finished by a shard (or dropped as late
// by the router); result_lines_in_flight counts result lines handed to the
// sink and not yet written. Each keeps its peak, which the back-pressure
// test compares with the bound the mailbox capacities imply (pipeline.h).
//
// Example:
//   auto metrics = std::make_shared<PipelineMetrics>();
//   InputCounters* in = metrics->AddInput("events.ndjson");
//   in->events.fetch_add(10, std::memory_order_relaxed);
//   MetricsSnapshot s = metrics->Snapshot();   // s.inputs[0].events == 10
//   std::cerr << FormatSummary(s, /*seconds=*/1.5) << "\n";

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_PIPELINE_METRICS_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_PIPELINE_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "examples/stream_aggregator/event_parser.h"
#include "examples/stream_aggregator/window_state.h"

namespace troupe::aggregator {

// A level with a high-water mark.
class InFlightGauge {
 public:
  void Add(int64_t n);
  void Sub(int64_t n) { value_.fetch_sub(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }
  int64_t peak() const { return peak_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
  std::atomic<int64_t> peak_{0};
};

// One input's counters; written by its InputPort only.
struct InputCounters {
  explicit InputCounters(std::string input_name)
      : name(std::move(input_name)) {}
  const std::string name;
  std::atomic<uint64_t> lines{0};   // lines read (events pushed, if parsed)
  std::atomic<uint64_t> events{0};  // valid events handed to the router
  std::array<std::atomic<uint64_t>, kParseErrorCount> bad{};  // by reason
  std::atomic<bool> closed{false};
};

struct InputSnapshot {
  std::string name;
  uint64_t lines = 0;
  uint64_t events = 0;
  std::array<uint64_t, kParseErrorCount> bad = {};
  bool closed = false;
};

struct MetricsSnapshot {
  std::vector<InputSnapshot> inputs;
  uint64_t events = 0;     // sum over inputs
  uint64_t bad_lines = 0;  // sum over inputs and reasons
  std::array<uint64_t, kParseErrorCount> bad = {};  // by reason
  uint64_t on_time = 0;
  uint64_t late_accepted = 0;
  uint64_t late_dropped = 0;
  uint64_t results_written = 0;  // result lines (window firings) written
  uint64_t late_written = 0;     // lines written to --late_output
  int64_t watermark = kNoWatermark;
  int64_t max_event_ts = kNoWatermark;
  std::vector<uint64_t> shard_mailbox_depth;  // filled in by the Pipeline
  int64_t peak_events_in_flight = 0;
  int64_t peak_result_lines_in_flight = 0;
};

class PipelineMetrics {
 public:
  // Registers an input; the counters live as long as the metrics.
  InputCounters* AddInput(std::string name);

  MetricsSnapshot Snapshot() const;

  // The first failure of the run (a write error); later ones are ignored.
  void RecordFailure(absl::Status status);
  absl::Status failure() const;

  std::atomic<uint64_t> on_time{0};        // shards
  std::atomic<uint64_t> late_accepted{0};  // shards
  std::atomic<uint64_t> late_dropped{0};   // router
  std::atomic<uint64_t> results_written{0};
  std::atomic<uint64_t> late_written{0};
  std::atomic<int64_t> watermark{kNoWatermark};     // router
  std::atomic<int64_t> max_event_ts{kNoWatermark};  // router
  InFlightGauge events_in_flight;
  InFlightGauge result_lines_in_flight;

 private:
  mutable std::mutex mu_;
  std::deque<std::unique_ptr<InputCounters>> inputs_;  // guarded by mu_
  absl::Status failure_;                               // guarded by mu_
};

// One line for stderr: events, rate, late, windows emitted, bad lines by
// reason, e.g. "12 events from 1 input in 0.004 s (3000 events/s): ...".
std::string FormatSummary(const MetricsSnapshot& snapshot, double seconds);

// The snapshot in the Prometheus text format (for GET /metrics): events in
// by input, results out, late dropped, parse errors by reason, per-shard
// mailbox depth, and the watermark lag (largest event time seen minus the
// watermark, in milliseconds).
void AppendPrometheus(const MetricsSnapshot& snapshot, std::string* out);

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_PIPELINE_METRICS_H_
