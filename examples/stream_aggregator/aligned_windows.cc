#include "examples/stream_aggregator/aligned_windows.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::aggregator {

AlignedWindows::AlignedWindows(const WindowSpec& spec,
                               int64_t allowed_lateness_ms,
                               const ResultSink* sink)
    : spec_(spec), allowed_lateness_ms_(allowed_lateness_ms), sink_(sink) {
  assert(spec.aligned());
}

void AlignedWindows::Add(std::string_view key, int64_t ts_ms, double value,
                         QuantileSketch::Slot slot, int64_t watermark) {
  const bool late = ts_ms < watermark;
  auto key_it = keys_.find(absl::string_view(key.data(), key.size()));
  if (key_it == keys_.end()) {
    key_it = keys_.try_emplace(std::string(key)).first;
    key_it->second.key = &key_it->first;
  }
  KeyWindows& keys = key_it->second;
  std::vector<Window>& windows = keys.windows;

  const int64_t latest = spec_.LatestStart(ts_ms);
  const int64_t oldest =
      latest - (spec_.WindowsPerEvent() - 1) * spec_.slide_ms;
  // The event's windows are consecutive starts; find where the oldest goes
  // (usually at or near the end: time moves forward).
  size_t i = windows.size();
  while (i > keys.head && windows[i - 1].start >= oldest) --i;
  // Oldest window first, so that lines emitted at once come in start order.
  for (int64_t start = oldest; start <= latest; start += spec_.slide_ms, ++i) {
    if (i == windows.size() || windows[i].start != start) {
      windows.emplace(windows.begin() + static_cast<ptrdiff_t>(i))->start =
          start;
      starts_[start].push_back(&keys);
      ++live_windows_;
    }
    WindowState& state = windows[i].state;
    state.aggregate.Add(value, slot);
    state.dirty = true;
    const int64_t end = start + spec_.size_ms;
    if (late && (state.emitted() || end <= watermark)) {
      Emit(*sink_, *keys.key, start, end, state);
    }
  }
}

AlignedWindows::Window* AlignedWindows::Find(KeyWindows& keys, int64_t start) {
  auto it =
      std::lower_bound(keys.windows.begin() + static_cast<ptrdiff_t>(keys.head),
                       keys.windows.end(), start,
                       [](const Window& w, int64_t s) { return w.start < s; });
  return it != keys.windows.end() && it->start == start ? &*it : nullptr;
}

void AlignedWindows::EmitDirty(int64_t start,
                               const std::vector<KeyWindows*>& keys) {
  for (KeyWindows* k : keys) {
    Window* window = Find(*k, start);
    assert(window != nullptr);
    if (window->state.dirty) {
      Emit(*sink_, *k->key, start, start + spec_.size_ms, window->state);
    }
  }
}

void AlignedWindows::Free([[maybe_unused]] int64_t start,
                          const std::vector<KeyWindows*>& keys) {
  for (KeyWindows* k : keys) {
    // Windows are freed in start order, so this one is the key's oldest.
    std::vector<Window>& windows = k->windows;
    assert(k->head < windows.size() && windows[k->head].start == start);
    windows[k->head].state.aggregate.Clear();  // release its memory now
    ++k->head;
    --live_windows_;
    if (k->head == windows.size()) {
      keys_.erase(keys_.find(*k->key));  // no window left
    } else if (k->head * 2 >= windows.size()) {
      windows.erase(windows.begin(),
                    windows.begin() + static_cast<ptrdiff_t>(k->head));
      k->head = 0;
    }
  }
}

void AlignedWindows::AdvanceWatermark(int64_t watermark) {
  if (watermark <= watermark_) return;
  const int64_t previous = watermark_;
  watermark_ = watermark;
  // Windows that were open (end > previous) and now closed (end <= w), i.e.
  // previous - size < start <= w - size. Windows that closed earlier are
  // clean: a late event emits the windows it changes at once.
  int64_t open_after = 0;
  auto it = __builtin_sub_overflow(previous, spec_.size_ms, &open_after)
                ? starts_.begin()
                : starts_.upper_bound(open_after);
  for (; it != starts_.end() && it->first + spec_.size_ms <= watermark; ++it) {
    EmitDirty(it->first, it->second);
  }
  // Free windows no accepted event can reach: end + allowed_lateness <= w.
  while (!starts_.empty()) {
    auto oldest = starts_.begin();
    const int64_t end = oldest->first + spec_.size_ms;
    if (SaturatingAdd(end, allowed_lateness_ms_) > watermark) break;
    Free(oldest->first, oldest->second);
    starts_.erase(oldest);
  }
}

void AlignedWindows::Flush() {
  for (const auto& [start, keys] : starts_) EmitDirty(start, keys);
}

}  // namespace troupe::aggregator
