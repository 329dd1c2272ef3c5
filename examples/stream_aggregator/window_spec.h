// Which windows the stream aggregator keeps: tumbling, sliding or session.
//
// A spec is written "tumbling:<size>", "sliding:<size>/<slide>" or
// "session:<gap>", each duration in ParseDurationMs's syntax ("10s",
// "500ms"). Sizes, slides and gaps must be positive, and a sliding window's
// size must be a multiple of its slide. A tumbling window is a sliding window
// whose slide is its size.
//
// Tumbling and sliding windows are "aligned": half-open intervals
// [start, start + size) with start a multiple of the slide counted from the
// Unix epoch. An event at ts belongs to every aligned window with
// start <= ts < start + size: size / slide windows, the latest starting at
// floor(ts / slide) * slide (floor, also for negative ts). Session windows
// are per key and data-driven (see session_windows.h).
//
// Timestamps are int64 milliseconds. An event whose windows would reach
// outside int64 (ts within one window of INT64_MIN or INT64_MAX) cannot be
// placed: Fits(ts) is false and the aggregator rejects it as bad_timestamp.
//
// Example:
//   absl::StatusOr<WindowSpec> spec = ParseWindowSpec("sliding:10s/2s");
//   spec->LatestStart(12345) == 12000;  // windows [4000,14000) ...
//   [12000,22000) spec->WindowsPerEvent() == 5;

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_WINDOW_SPEC_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_WINDOW_SPEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace troupe::aggregator {

enum class WindowKind { kTumbling, kSliding, kSession };

struct WindowSpec {
  WindowKind kind = WindowKind::kTumbling;
  int64_t size_ms = 0;   // aligned windows: the length
  int64_t slide_ms = 0;  // aligned windows: the step (== size_ms if tumbling)
  int64_t gap_ms = 0;    // session windows: the inactivity gap

  static WindowSpec Tumbling(int64_t size_ms);
  static WindowSpec Sliding(int64_t size_ms, int64_t slide_ms);
  static WindowSpec Session(int64_t gap_ms);

  bool aligned() const { return kind != WindowKind::kSession; }

  // Aligned windows: how many windows each event belongs to (size / slide).
  int64_t WindowsPerEvent() const { return size_ms / slide_ms; }

  // Aligned windows: floor(ts / slide) * slide. Requires Fits(ts).
  int64_t LatestStart(int64_t ts_ms) const;

  // Whether the bounds of every window of an event at ts fit in int64.
  bool Fits(int64_t ts_ms) const;

  // The spec in ParseWindowSpec's syntax, e.g. "sliding:10s/2s".
  std::string ToString() const;
};

// Parses "tumbling:10s", "sliding:10s/2s" or "session:30s". Errors are
// InvalidArgument with a message naming the problem.
absl::StatusOr<WindowSpec> ParseWindowSpec(std::string_view text);

// floor(a / b) for b > 0 (rounds towards negative infinity).
int64_t FloorDiv(int64_t a, int64_t b);

// a + b clamped to the int64 range.
int64_t SaturatingAdd(int64_t a, int64_t b);

// a - b clamped to the int64 range.
int64_t SaturatingSub(int64_t a, int64_t b);

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_WINDOW_SPEC_H_
