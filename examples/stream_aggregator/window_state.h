// What the aggregator keeps per window, and the interface of the two window
// stores (aligned_windows.h, session_windows.h).
//
// WindowAggregate summarises the values of one window: count, a compensated
// sum, min, max and a QuantileSketch. Aggregates merge (session windows merge
// when a late event bridges them). The sum is a Neumaier sum kept in long
// double (64-bit mantissa, 15-bit exponent): its error is at most about
// 2 * 2^-64 * sum(|x|) plus O(n * 2^-128) * sum(|x|), far inside the 1e-9 *
// sum(|x|) that rule 8 allows, and it cannot overflow for any count of
// finite doubles, so a sum beyond the double range is still printed as a
// finite JSON number.
//
// WindowState adds the emission bookkeeping of rules 5 and 6: the revision
// of the last line emitted for the window (-1 before the first) and whether
// the window changed since that line (dirty). Emit() turns a state into a
// WindowResult with revision + 1 and hands it to the sink.
//
// WindowStore is what the engine (aggregator.h) drives. The engine decides
// lateness; a store only places accepted events into windows and fires them.
// Contract of Add(): the event is accepted, and `watermark` is the
// watermark before it. Every window of the event gets the value and becomes
// dirty. If the event is late (ts < watermark), every window of it that has
// already been emitted, or whose end the watermark has passed, is emitted at
// once (rule 5). AdvanceWatermark(w) emits, in window-end order, every dirty
// window with end <= w, then frees windows with end + allowed_lateness <= w
// (no accepted event can reach them any more). Flush() emits every dirty
// window (rule 6).
//
// Thread contract: none of these types is thread-safe; a store belongs to
// one engine, which belongs to one thread (or actor) at a time.
//
// Example:
//   WindowAggregate a;
//   a.Add(2.0);
//   a.Add(4.0);
//   WindowResult r = Summarize("k", 0, 10, a, 0);  // count 2, mean 3

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_WINDOW_STATE_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_WINDOW_STATE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string_view>

#include "examples/stream_aggregator/quantile_sketch.h"

namespace troupe::aggregator {

// The watermark before any event: below every timestamp.
inline constexpr int64_t kNoWatermark = std::numeric_limits<int64_t>::min();

// Neumaier's compensated sum in long double.
class CompensatedSum {
 public:
  void Add(long double x) {
    const long double t = sum_ + x;
    if ((sum_ < 0 ? -sum_ : sum_) >= (x < 0 ? -x : x)) {
      compensation_ += (sum_ - t) + x;
    } else {
      compensation_ += (x - t) + sum_;
    }
    sum_ = t;
  }
  void Merge(const CompensatedSum& other) {
    Add(other.sum_);
    Add(other.compensation_);
  }
  long double value() const { return sum_ + compensation_; }

 private:
  long double sum_ = 0;
  long double compensation_ = 0;
};

class WindowAggregate {
 public:
  void Add(double value) { Add(value, QuantileSketch::SlotOf(value)); }
  void Add(double value, QuantileSketch::Slot slot) {
    sum_.Add(value);
    sketch_.Add(value, slot);
  }
  void Merge(const WindowAggregate& other) {
    sum_.Merge(other.sum_);
    sketch_.Merge(other.sketch_);
  }

  // Drops every value (and the memory they took).
  void Clear() {
    sum_ = CompensatedSum();
    sketch_.Clear();
  }

  uint64_t count() const { return sketch_.count(); }
  long double sum() const { return sum_.value(); }
  const QuantileSketch& sketch() const { return sketch_; }

 private:
  CompensatedSum sum_;
  QuantileSketch sketch_;
};

// One output line's content (rule 7). `key` is valid during the sink call.
struct WindowResult {
  std::string_view key;
  int64_t window_start_ms = 0;
  int64_t window_end_ms = 0;
  uint64_t count = 0;
  long double sum = 0;  // may exceed the double range; see result_format.h
  double min = 0;
  double max = 0;
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  int64_t revision = 0;
};

// Computes the line for a non-empty aggregate.
WindowResult Summarize(std::string_view key, int64_t start_ms, int64_t end_ms,
                       const WindowAggregate& aggregate, int64_t revision);

using ResultSink = std::function<void(const WindowResult&)>;

struct WindowState {
  WindowAggregate aggregate;
  int64_t revision = -1;  // of the last emitted line; -1: never emitted
  bool dirty = false;     // changed since the last emitted line

  bool emitted() const { return revision >= 0; }
};

// Emits `state` with revision + 1 and marks it clean.
void Emit(const ResultSink& sink, std::string_view key, int64_t start_ms,
          int64_t end_ms, WindowState& state);

class WindowStore {
 public:
  virtual ~WindowStore() = default;

  // Places an accepted event; see the contract above.
  virtual void Add(std::string_view key, int64_t ts_ms, double value,
                   QuantileSketch::Slot slot, int64_t watermark) = 0;

  // Fires and frees windows for a watermark that moved forward to `w`.
  virtual void AdvanceWatermark(int64_t watermark) = 0;

  // Emits every dirty window (end of input).
  virtual void Flush() = 0;

  // Windows currently held, for memory checks.
  virtual size_t live_windows() const = 0;
};

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_WINDOW_STATE_H_
