#include "examples/stream_aggregator/aggregator.h"

#include <cassert>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

#include "examples/stream_aggregator/aligned_windows.h"
#include "examples/stream_aggregator/session_windows.h"

namespace troupe::aggregator {

KeyedWindowEngine::KeyedWindowEngine(const EngineOptions& options,
                                     ResultSink sink)
    : options_(options), sink_(std::move(sink)) {
  assert(options.allowed_lateness_ms >= 0);
  if (options.window.aligned()) {
    store_ = std::make_unique<AlignedWindows>(
        options.window, options.allowed_lateness_ms, &sink_);
  } else {
    store_ = std::make_unique<SessionWindows>(
        options.window.gap_ms, options.allowed_lateness_ms, &sink_);
  }
}

EventOutcome KeyedWindowEngine::OnEvent(std::string_view key, int64_t ts_ms,
                                        double value, int64_t watermark) {
  if (!std::isfinite(value)) return EventOutcome::kNotFinite;
  if (!options_.window.Fits(ts_ms)) return EventOutcome::kOutOfRange;
  OnWatermark(watermark);
  EventOutcome outcome = EventOutcome::kOnTime;
  if (ts_ms < watermark_) {
    // watermark - ts may exceed int64 (ts far in the past).
    const __int128 lateness =
        static_cast<__int128>(watermark_) - static_cast<__int128>(ts_ms);
    if (lateness > options_.allowed_lateness_ms) {
      return EventOutcome::kDroppedLate;
    }
    outcome = EventOutcome::kLate;
  }
  store_->Add(key, ts_ms, value, QuantileSketch::SlotOf(value), watermark_);
  return outcome;
}

void KeyedWindowEngine::OnWatermark(int64_t watermark) {
  if (watermark <= watermark_) return;
  watermark_ = watermark;
  store_->AdvanceWatermark(watermark);
}

void KeyedWindowEngine::Flush() { store_->Flush(); }

}  // namespace troupe::aggregator
