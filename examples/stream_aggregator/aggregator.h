// KeyedWindowEngine: the deterministic core of the stream aggregator for one
// shard of keys. Pure, single-threaded, synchronous: no clock, no I/O.
//
// The engine owns the windows of the keys routed to it and applies rules
// 4-6 of the aggregator; the watermark (rule 3) is computed outside, by a
// WatermarkTracker (watermark.h), and passed in.
//
// Protocol, one call at a time:
//   1. OnEvent(key, ts, value, w) for each event of this shard's keys, where
//      w is the watermark before the event (after the previous event in the
//      global order). The engine first advances to w (OnWatermark(w)), then
//      classifies the event:
//        ts < w and w - ts > allowed_lateness  -> kDroppedLate, nothing kept
//        ts < w otherwise                      -> kLate, added to its windows
//        ts >= w                               -> kOnTime, added
//      A late event emits at once every window of it that was already
//      emitted (revision + 1) or whose end w has passed (revision 0 if new).
//   2. OnWatermark(w) whenever the watermark moves: emits every window with
//      end <= w that has unemitted changes, then frees windows with
//      end + allowed_lateness <= w (they can never change again).
//   3. Flush() at end of input: emits every window with unemitted changes.
// Events whose windows would not fit in int64 (kOutOfRange; see
// WindowSpec::Fits) and non-finite values (kNotFinite) are refused without
// touching any state; callers count them as bad input.
//
// Sharding. Each line's content depends only on its key's events and the
// watermark each of them saw, so N engines fed (event, watermark before it)
// for their keys, plus occasional OnWatermark broadcasts, emit exactly the
// lines of one engine fed everything, only later and interleaved
// differently. tests/examples/stream_aggregator/sharding_test.cc checks it.
//
// Output order: lines of one window come in revision order. Lines of
// different windows are in firing order (window end, then first-seen key
// for aligned windows; timer order for sessions), deterministic for a given
// input.
//
// Example:
//   std::vector<std::string> lines;
//   KeyedWindowEngine engine(
//       {.window = WindowSpec::Tumbling(10'000), .allowed_lateness_ms = 0},
//       [&](const WindowResult& r) { lines.push_back(FormatResultLine(r)); });
//   WatermarkTracker tracker(/*max_out_of_orderness_ms=*/0, kNeverIdle);
//   const int input = tracker.AddInput(/*now_ms=*/0);
//   engine.OnEvent("sensor-7", 1'000, 21.5, tracker.watermark());
//   tracker.OnEvent(input, 1'000, /*now_ms=*/0);
//   engine.OnWatermark(tracker.watermark());
//   engine.Flush();  // lines: sensor-7 [0, 10000) count 1 revision 0

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_AGGREGATOR_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_AGGREGATOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "examples/stream_aggregator/window_spec.h"
#include "examples/stream_aggregator/window_state.h"

namespace troupe::aggregator {

struct EngineOptions {
  WindowSpec window;
  int64_t allowed_lateness_ms = 0;  // >= 0
};

enum class EventOutcome : uint8_t {
  kOnTime,       // ts >= watermark; added
  kLate,         // late within allowed_lateness; added
  kDroppedLate,  // late beyond allowed_lateness; not added (rule 4)
  kOutOfRange,   // windows would overflow int64; refused
  kNotFinite,    // NaN or infinite value; refused
};

class KeyedWindowEngine {
 public:
  KeyedWindowEngine(const EngineOptions& options, ResultSink sink);
  KeyedWindowEngine(const KeyedWindowEngine&) = delete;
  KeyedWindowEngine& operator=(const KeyedWindowEngine&) = delete;

  // Step 1 of the protocol. `watermark` is the watermark before the event.
  EventOutcome OnEvent(std::string_view key, int64_t ts_ms, double value,
                       int64_t watermark);

  // Step 2. A watermark below the current one is ignored (it never goes
  // back).
  void OnWatermark(int64_t watermark);

  // Step 3.
  void Flush();

  int64_t watermark() const { return watermark_; }
  const EngineOptions& options() const { return options_; }

  // (window, key) pairs held (sessions for session windows).
  size_t live_windows() const { return store_->live_windows(); }

 private:
  const EngineOptions options_;
  const ResultSink sink_;  // the store keeps a pointer to it
  std::unique_ptr<WindowStore> store_;
  int64_t watermark_ = kNoWatermark;
};

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_AGGREGATOR_H_
