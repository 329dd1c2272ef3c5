// The single-threaded reference driver of the stream aggregator: NDJSON
// lines in, result lines, late lines and counters out. It wires the
// EventParser, a WatermarkTracker and one KeyedWindowEngine together exactly
// as the rules say, and is the baseline the later actor pipeline must match
// (and the benchmark's baseline).
//
// Per line of an input, in order:
//   1. Parse (event_parser.h). A bad line is counted by reason and skipped;
//      an event whose windows do not fit in int64 is counted as
//      bad_timestamp. Neither moves the watermark or counts as activity.
//   2. engine.OnEvent(event, watermark before the event). A late event beyond
//      allowed_lateness is counted in late_dropped and its line is passed,
//      verbatim, to the late sink (--late_output).
//   3. tracker.OnEvent(...), then engine.OnWatermark(new watermark).
// Finish() flushes the engine (rule 6). Result lines go to the result sink
// as they fire, without a trailing newline.
//
// Lines: SplitLines cuts a buffer at '\n'; a final line without '\n' is
// still a line, and the empty piece after a final '\n' is not. Any other
// empty line is a malformed_json line.
//
// Thread contract: not thread-safe; one owner.
//
// Example:
//   AggregatorOptions options{.window = WindowSpec::Tumbling(10'000)};
//   SequentialOutput out = RunSequential(
//       "{\"key\":\"a\",\"tsMs\":1,\"value\":2}\n", options);
//   // out.results: one line for a [0,10000), revision 0 (at Finish)

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_SEQUENTIAL_DRIVER_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_SEQUENTIAL_DRIVER_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "examples/stream_aggregator/aggregator.h"
#include "examples/stream_aggregator/event_parser.h"
#include "examples/stream_aggregator/watermark.h"
#include "examples/stream_aggregator/window_spec.h"

namespace troupe::aggregator {

struct AggregatorOptions {
  WindowSpec window;
  int64_t max_out_of_orderness_ms = 0;
  int64_t allowed_lateness_ms = 0;
  int64_t idle_timeout_ms = kNeverIdle;
};

struct Counters {
  uint64_t lines = 0;
  uint64_t on_time = 0;        // accepted, not late
  uint64_t late_accepted = 0;  // accepted late (rule 4)
  uint64_t late_dropped = 0;   // dropped late (rule 4)
  // Bad lines by ParseError (index 0, kNone, stays 0).
  std::array<uint64_t, kParseErrorCount> bad = {};

  uint64_t bad_lines() const;
  uint64_t bad_count(ParseError reason) const {
    return bad[static_cast<int>(reason)];
  }
};

// Calls `line_fn(line)` for each line of `text` (see the header comment).
void SplitLines(std::string_view text,
                const std::function<void(std::string_view)>& line_fn);

class SequentialAggregator {
 public:
  using LineSink = std::function<void(std::string_view line)>;

  // `results` receives result lines, `late` the verbatim lines of dropped
  // late events.
  SequentialAggregator(const AggregatorOptions& options, LineSink results,
                       LineSink late);

  // Inputs (connections); see WatermarkTracker. Returns the input id.
  int AddInput(int64_t now_ms);
  void CloseInput(int input, int64_t now_ms);

  // One line of an input, without its '\n'.
  void OnLine(int input, std::string_view line, int64_t now_ms);

  // Time passed without lines (idle inputs may release the watermark).
  void AdvanceTime(int64_t now_ms);

  // End of all input: emits every window with unemitted changes.
  void Finish();

  const Counters& counters() const { return counters_; }
  int64_t watermark() const { return tracker_.watermark(); }
  const KeyedWindowEngine& engine() const { return engine_; }

 private:
  void OnResult(const WindowResult& result);

  LineSink results_;
  LineSink late_;
  EventParser parser_;
  WatermarkTracker tracker_;
  KeyedWindowEngine engine_;
  Counters counters_;
  std::string line_buffer_;
};

struct SequentialOutput {
  std::vector<std::string> results;
  std::vector<std::string> late;
  Counters counters;
};

// Runs one input (`ndjson`, all of it) through a SequentialAggregator and
// finishes it. Time does not pass, so idleness plays no part.
SequentialOutput RunSequential(std::string_view ndjson,
                               const AggregatorOptions& options);

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_SEQUENTIAL_DRIVER_H_
