// WatermarkTracker: the event-time watermark over one or several inputs
// (rule 3 of the aggregator). Time is injected; there is no clock.
//
// An input's watermark is the largest timestamp it has delivered minus
// max_out_of_orderness (kNoWatermark before its first event). The
// watermark is the minimum over the live inputs that are not idle, and it
// never moves back. An input is live from AddInput until RemoveInput (end of
// its stream); it is idle once idle_timeout has passed since its last event
// (or since it was added), and active again with its next event. If every
// live input is idle, the watermark stays where it is. With one input this
// is simply max ts - max_out_of_orderness, updated after each event.
//
// Only accepted events are reported here: bad input never moves the
// watermark (rule 9), and it does not count as activity either.
//
// Cost: O(1) per event except when the event comes from the input holding
// the watermark back (or an input returning from idleness), which costs
// O(inputs); the holder sends about 1/inputs of the events, so the
// amortised cost per event stays O(1) when inputs are balanced.
//
// Thread contract: not thread-safe; one owner (the input router).
//
// Example:
//   WatermarkTracker tracker(/*max_out_of_orderness_ms=*/1000,
//                            /*idle_timeout_ms=*/5000);
//   const int a = tracker.AddInput(/*now_ms=*/0);
//   const int b = tracker.AddInput(0);
//   tracker.OnEvent(a, 10'000, 0);
//   tracker.watermark();            // kNoWatermark: b holds it back
//   tracker.OnEvent(b, 20'000, 0);
//   tracker.watermark();            // 9000 = min(10000, 20000) - 1000
//   tracker.AdvanceTime(6000);      // both idle: stays 9000
//   tracker.OnEvent(b, 21'000, 6000);  // a idle: 20000

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_WATERMARK_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_WATERMARK_H_

#include <cstdint>
#include <limits>
#include <vector>

#include "examples/stream_aggregator/window_state.h"

namespace troupe::aggregator {

// An idle timeout that never expires.
inline constexpr int64_t kNeverIdle = std::numeric_limits<int64_t>::max();

class WatermarkTracker {
 public:
  // max_out_of_orderness_ms >= 0; idle_timeout_ms > 0 or kNeverIdle.
  WatermarkTracker(int64_t max_out_of_orderness_ms, int64_t idle_timeout_ms);

  // A new live input; ids are small integers, never reused.
  int AddInput(int64_t now_ms);

  // The input's stream ended: it no longer holds the watermark back.
  void RemoveInput(int input, int64_t now_ms);

  // `input` delivered an accepted event at ts_ms.
  void OnEvent(int input, int64_t ts_ms, int64_t now_ms);

  // Time passed without events: inputs may have become idle.
  void AdvanceTime(int64_t now_ms);

  int64_t watermark() const { return watermark_; }

 private:
  struct Input {
    bool live = true;
    int64_t max_ts_ms = kNoWatermark;  // kNoWatermark: no event yet
    int64_t last_active_ms = 0;
  };

  bool IsIdle(const Input& input, int64_t now_ms) const;
  int64_t InputWatermark(const Input& input) const;
  void Recompute(int64_t now_ms);

  const int64_t max_out_of_orderness_ms_;
  const int64_t idle_timeout_ms_;
  std::vector<Input> inputs_;
  int holder_ = -1;  // an active input with the minimum watermark; -1: none
  int64_t watermark_ = kNoWatermark;
};

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_WATERMARK_H_
