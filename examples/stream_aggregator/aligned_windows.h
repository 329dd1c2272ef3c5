// Tumbling and sliding windows of every key of one engine (one shard).
//
// Layout. Each key holds its open windows in one vector sorted by start, so
// an event costs one hash lookup and touches size / slide adjacent windows
// (starting at LatestStart(ts) - k * slide, k = 0 .. size / slide - 1).
// Aligned windows share their bounds across keys, so an ordered map from
// window start to the keys holding a window there (in the order they first
// appeared) drives firing and freeing:
//   * the watermark fires windows in start order (equal to end order), each
//     key in first-appearance order, which makes the output deterministic;
//   * once end + allowed_lateness <= watermark a window can never change
//     again (an accepted event would need ts < end <= watermark -
//     allowed_lateness), so it is freed; a key without windows is erased.
// Memory therefore holds only windows with end in
// (watermark - allowed_lateness, max ts + size].
//
// Implements the WindowStore contract (window_state.h); single-threaded.
//
// Example (normally driven by KeyedWindowEngine):
//   AlignedWindows store(WindowSpec::Tumbling(10), 0, &sink);
//   store.Add("k", 3, 1.0, QuantileSketch::SlotOf(1.0), kNoWatermark);
//   store.AdvanceWatermark(10);  // emits k [0,10) revision 0

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_ALIGNED_WINDOWS_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_ALIGNED_WINDOWS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "examples/stream_aggregator/window_spec.h"
#include "examples/stream_aggregator/window_state.h"

namespace troupe::aggregator {

class AlignedWindows final : public WindowStore {
 public:
  // `sink` must outlive the store. Requires spec.aligned().
  AlignedWindows(const WindowSpec& spec, int64_t allowed_lateness_ms,
                 const ResultSink* sink);

  void Add(std::string_view key, int64_t ts_ms, double value,
           QuantileSketch::Slot slot, int64_t watermark) override;
  void AdvanceWatermark(int64_t watermark) override;
  void Flush() override;
  size_t live_windows() const override { return live_windows_; }

 private:
  struct Window {
    int64_t start = 0;
    WindowState state;
  };
  // The windows of one key: windows[head..] are live, sorted by start;
  // freed windows before `head` are compacted away in batches.
  struct KeyWindows {
    const std::string* key = nullptr;  // the map's key (node-stable)
    std::vector<Window> windows;
    size_t head = 0;
  };

  // The live window of `keys` starting at `start`; nullptr if none.
  Window* Find(KeyWindows& keys, int64_t start);
  void EmitDirty(int64_t start, const std::vector<KeyWindows*>& keys);
  void Free(int64_t start, const std::vector<KeyWindows*>& keys);

  const WindowSpec spec_;
  const int64_t allowed_lateness_ms_;
  const ResultSink* const sink_;
  absl::node_hash_map<std::string, KeyWindows> keys_;
  // Window start -> keys with a window there, in first-appearance order.
  std::map<int64_t, std::vector<KeyWindows*>> starts_;
  int64_t watermark_ = kNoWatermark;
  size_t live_windows_ = 0;  // (window, key) pairs
};

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_ALIGNED_WINDOWS_H_
