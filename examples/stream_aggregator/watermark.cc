#include "examples/stream_aggregator/watermark.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <limits>

#include "examples/stream_aggregator/window_spec.h"

namespace troupe::aggregator {

WatermarkTracker::WatermarkTracker(int64_t max_out_of_orderness_ms,
                                   int64_t idle_timeout_ms)
    : max_out_of_orderness_ms_(max_out_of_orderness_ms),
      idle_timeout_ms_(idle_timeout_ms) {
  assert(max_out_of_orderness_ms >= 0);
  assert(idle_timeout_ms > 0);
}

bool WatermarkTracker::IsIdle(const Input& input, int64_t now_ms) const {
  return SaturatingSub(now_ms, input.last_active_ms) >= idle_timeout_ms_;
}

int64_t WatermarkTracker::InputWatermark(const Input& input) const {
  if (input.max_ts_ms == kNoWatermark) return kNoWatermark;
  return SaturatingSub(input.max_ts_ms, max_out_of_orderness_ms_);
}

int WatermarkTracker::AddInput(int64_t now_ms) {
  inputs_.push_back(Input{true, kNoWatermark, now_ms});
  // The new input has no event yet: it holds the watermark where it is.
  holder_ = static_cast<int>(inputs_.size()) - 1;
  return holder_;
}

void WatermarkTracker::RemoveInput(int input, int64_t now_ms) {
  assert(input >= 0 && input < static_cast<int>(inputs_.size()));
  inputs_[input].live = false;
  Recompute(now_ms);
}

void WatermarkTracker::OnEvent(int input, int64_t ts_ms, int64_t now_ms) {
  assert(input >= 0 && input < static_cast<int>(inputs_.size()));
  Input& in = inputs_[input];
  assert(in.live);
  const bool was_idle = IsIdle(in, now_ms);
  in.max_ts_ms = std::max(in.max_ts_ms, ts_ms);
  in.last_active_ms = now_ms;
  // Only the holder's progress, a return from idleness or the holder going
  // idle can change the minimum.
  if (input == holder_ || holder_ < 0 || was_idle ||
      IsIdle(inputs_[holder_], now_ms)) {
    Recompute(now_ms);
  }
}

void WatermarkTracker::AdvanceTime(int64_t now_ms) {
  if (holder_ < 0 || IsIdle(inputs_[holder_], now_ms)) Recompute(now_ms);
}

void WatermarkTracker::Recompute(int64_t now_ms) {
  int holder = -1;
  int64_t minimum = std::numeric_limits<int64_t>::max();
  for (int i = 0; i < static_cast<int>(inputs_.size()); ++i) {
    const Input& in = inputs_[i];
    if (!in.live || IsIdle(in, now_ms)) continue;
    const int64_t w = InputWatermark(in);
    if (holder < 0 || w < minimum) {
      holder = i;
      minimum = w;
    }
  }
  holder_ = holder;
  if (holder >= 0) watermark_ = std::max(watermark_, minimum);
}

}  // namespace troupe::aggregator
